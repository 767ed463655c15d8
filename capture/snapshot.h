/* snapshot.h: reading the rows of a source table for a snapshot, on a regular (not replication)
 * connection made by source_connect_sql. The table's columns are read from the catalog in the shape
 * pgoutput describes them in a Relation message (not dropped, not generated, by attnum; the replica
 * identity flagged), so a copied row encodes exactly like a streamed one. Rows are read in chunks ordered
 * by the primary key (or the replica identity index), as text, with keyset pagination: a chunk starts
 * after the last key of the previous one, so a copy can resume from a key written down before a restart.
 *
 * The SQL builder is pure (unit-tested); the rest talks to libpq only. */
#ifndef CLEAVE_SNAPSHOT_H
#define CLEAVE_SNAPSHOT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "capture/pgoutput.h"
#include "common/buf.h"
#include "common/err.h"

/* One table as the snapshot reads it. Owns every string. */
struct snapshot_table {
	struct pgo_relation rel;  /* as pgoutput would describe it; strings owned here */
	char *qualified;          /* "schema"."table", quoted */
	char **qcols;             /* rel.ncols quoted column names */
	int *order;               /* columns of the ordering key (primary key, else replica identity index) */
	char **order_types;       /* their types without typmod (format_type), for the keyset parameters */
	int norder;               /* 0: no unique key to order by (REPLICA IDENTITY FULL without one) */
};

/* Reads table schema.name from the catalog of connection c. Returns the table (caller frees), or NULL
 * with err (retriable when the connection failed). */
struct snapshot_table *snapshot_table_read(PGconn *c, const char *schema, const char *name, struct cerr *err);
void snapshot_table_free(struct snapshot_table *t);

/* Appends "SELECT <columns> FROM <table> [WHERE (k1, ...) > ($1::t1, ...)] [ORDER BY k1, ...] [LIMIT n]"
 * to out: the WHERE clause when `after`, ORDER BY when the table has an ordering key, LIMIT when limit > 0.
 * 0, or -1 when out of memory. */
int snapshot_sql_chunk(const struct snapshot_table *t, bool after, int limit, struct buf *out);

/* Selects the next chunk: up to `limit` rows after the key last_key (norder text values; NULL: from the
 * start), in key order. Returns the result (PGRES_TUPLES_OK; caller PQclears) or NULL with err. */
PGresult *snapshot_fetch_chunk(PGconn *c, const struct snapshot_table *t, const char *const *last_key, int limit,
                               struct cerr *err);

/* Fills tup (vals must hold t->rel.ncols values) with row `row` of res, pointing into res. */
void snapshot_row_tuple(const PGresult *res, int row, struct pgo_tuple *tup);

/* Runs sql (no parameters) on c. 0, or -1 with err (retriable unless the server says otherwise). */
int snapshot_exec(PGconn *c, const char *sql, struct cerr *err);

#endif
