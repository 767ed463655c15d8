/* snapctl.h: the durable progress of snapshots, in the compacted topic `<prefix>._snapshots`: one record
 * per configured table, key = "schema.table", value = JSON
 *   {"state": "running", "last_key": null | ["<text of key column 1>", ...]}   copy under way (rows up to
 *                                                                            last_key are in Kafka)
 *   {"state": "done"}                                                       copy complete
 * and a tombstone (null value) for a table that left source.tables (so adding it again copies it again).
 * A record is written only after Kafka acknowledged every event it vouches for, so after a kill the copy
 * resumes from the last key written (rows past it may be copied twice: upserts of values that were
 * current at their position, which sinks apply in order).
 *
 * Format and parse are pure (unit-tested); snapctl_load reads the topic. */
#ifndef CLEAVE_SNAPCTL_H
#define CLEAVE_SNAPCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "config/config.h"

struct snapctl_rec {
	char *table;     /* "schema.table" */
	bool done;
	char **last_key; /* NULL: from the start */
	int nkey;
};

/* Appends the JSON value of a record to out (NUL-terminated, the NUL not counted in out->len). last_key is
 * ignored when done. 0, or -1 when out of memory. */
int snapctl_format(bool done, const char *const *last_key, int nkey, struct buf *out);

/* Parses a record value into *rec (rec->table untouched; free with snapctl_rec_clear). 0, or -1 with err
 * for a value that is not a record of this shape. */
int snapctl_parse(const char *json, size_t len, struct snapctl_rec *rec, struct cerr *err);
void snapctl_rec_clear(struct snapctl_rec *rec);

/* A request to copy a table again (`cleave snapshot`), the content of a transactional logical decoding
 * message with prefix "cleave": "snap:<slot>:<schema>.<table>". snapctl_request_format writes one into out
 * (truncated to outlen); snapctl_request_table returns where the table name starts in a message's content
 * (len bytes, not NUL-terminated) when it is a request for `slot`, else NULL. */
void snapctl_request_format(const char *slot, const char *schema, const char *table, char *out, size_t outlen);
const char *snapctl_request_table(const char *content, size_t len, const char *slot);

/* The last record of every table in the topic. */
struct snapctl {
	struct snapctl_rec *recs;
	size_t n;
};

/* Reads the whole topic (empty or missing: no records). NULL with err (retriable: Kafka unreachable). */
struct snapctl *snapctl_load(const struct cleave_config *cfg, const char *topic, struct cerr *err);
void snapctl_free(struct snapctl *s);
/* The record of table "schema.table", or NULL. */
const struct snapctl_rec *snapctl_find(const struct snapctl *s, const char *table);

#endif
