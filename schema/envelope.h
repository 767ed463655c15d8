/* envelope.h: encodes one row change as the Debezium-shaped envelope of SPEC.md §3, in Avro binary with
 * the single-object header (schema id), and its key.
 *
 * Envelope schema (record "<ns>.Envelope"):
 *   before: union {null, Value}    after: union {null, Value}
 *   op: string (c|u|d|r|t)         ts_ms: long (when cleave produced the event)
 *   source: record Source {name, db, schema, table: string; txId: long; lsn, commit_lsn: long;
 *                          seq: long; ts_ms: long (commit time); snapshot: string ("true"|"false"|"last")}
 * Value is a record with one field per column, each union {null, T, cleave.Unchanged} where T is the
 * column's Avro type and cleave.Unchanged is enum {UNCHANGED}: the value PostgreSQL did not send
 * (unchanged TOAST in `after`, a column outside the replica identity in `before`). Decimal columns are
 * union {null, decimal, string, cleave.Unchanged}: the string branch holds NaN. */
#ifndef CLEAVE_ENVELOPE_H
#define CLEAVE_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/pgoutput.h"
#include "common/buf.h"
#include "common/err.h"
#include "schema/table_schema.h"

struct envelope_source {
	const char *name; /* topic prefix */
	const char *db;   /* source database name */
	uint32_t txid;
	lsn_t lsn;        /* LSN of this change (0 when unknown) */
	lsn_t commit_lsn; /* commit LSN of its transaction */
	int64_t seq;      /* position of the change inside its transaction, from 0 */
	int64_t ts_ms;    /* commit time, ms since 1970 */
	const char *snapshot; /* "false", "true" or "last" */
};

/* Appends the envelope for op ('c','u','d','r','t') to out: header + body. before/after may be NULL.
 * Columns of a tuple are matched to ts->cols by position. Returns 0, or -1 with err (a value that does not
 * parse as its type: err names the column). out is left with partial bytes on error; reset it.
 * Tuples are taken literally: pgoutput sends the columns outside the replica identity of a 'K' old tuple
 * as NULL, so the caller marks them PGO_VAL_UNCHANGED (or passes a shorter `before`: the columns past
 * its end are written as Unchanged; in `after` they are an error). */
__attribute__((warn_unused_result)) int envelope_encode(const struct table_schema *ts, char op,
                                                        const struct pgo_tuple *before,
                                                        const struct pgo_tuple *after,
                                                        const struct envelope_source *src, int64_t now_ms,
                                                        struct buf *out, struct cerr *err);

/* Appends the key (header + record of the key columns taken from tup) to out. Returns 0, or -1 with err
 * (no key columns, or a key column that is unchanged or missing in tup). A NULL key column is written as
 * null: under REPLICA IDENTITY FULL every column is a key column, nullable ones included. */
__attribute__((warn_unused_result)) int envelope_encode_key(const struct table_schema *ts,
                                                            const struct pgo_tuple *tup, struct buf *out,
                                                            struct cerr *err);

#endif
