/* schema_topic.h: the writer schemas capture published to `<topic_prefix>._schemas` (key: schema id as 16
 * lowercase hex digits, value: the schema JSON; see table_schema.h), read back from Kafka so that any
 * event can be decoded without another service. */
#ifndef CLEAVE_SCHEMA_TOPIC_H
#define CLEAVE_SCHEMA_TOPIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"

struct schema_topic;

/* The config must outlive it. Nothing is read until the first lookup. NULL when out of memory. */
struct schema_topic *schema_topic_new(const struct cleave_config *cfg);
void schema_topic_free(struct schema_topic *st);

/* Decodes a key or value written by capture (single-object header + Avro) into JSON (see
 * schema/avro_decode.h). An unknown schema id makes it read the schema topic again once. Returns a new
 * reference, or NULL with err (not single-object encoded, schema not found, bytes do not decode). */
json_t *schema_topic_decode(struct schema_topic *st, const void *p, size_t n, struct cerr *err);

/* A sink reads an envelope in two steps (schema/avro_plan.h, faster than schema_topic_decode): its head
 * (op, and commit_lsn and seq of source) when it takes the event, its row (before or after) when it applies
 * it, maybe in another thread. schema_topic_decode_head fills a schema_row_plan for the second step; it
 * stays valid, and usable from any thread, while st lives (a schema's plan never changes once made). */
struct avro_plan;
struct avro_plan_pick;
struct schema_row_plan {
	const struct avro_plan *plan;
	const struct avro_plan_pick *before, *after;
};
/* The head of an envelope: op (pointing into p, not NUL-terminated), commit_lsn and seq. Builds no JSON
 * (it is read for every event on the sink's main thread). */
struct schema_head {
	const char *op;
	size_t oplen;
	int64_t commit_lsn, seq;
};
int schema_topic_decode_head(struct schema_topic *st, const void *p, size_t n, struct schema_head *head,
                             struct schema_row_plan *rows, struct cerr *err);
/* The envelope p[0..n)'s before (or after) row: a new reference (JSON null when it has none), or NULL with
 * err. */
json_t *schema_row_decode(const struct schema_row_plan *rows, bool before, const void *p, size_t n,
                          struct cerr *err);

/* The JSON text of schema `id` (owned by st), reading the schema topic again once when it is not known yet;
 * NULL with err when it is not there. */
const char *schema_topic_json(struct schema_topic *st, uint64_t id, struct cerr *err);

/* The last envelope schema published for source table schema.table (matched by the Avro namespace
 * "<topic_prefix>.<schema>.<table>", so only for names that are valid Avro names), after reading the
 * schema topic to its end. NULL (err not set) when there is none. */
const char *schema_topic_latest_envelope(struct schema_topic *st, const char *schema, const char *table,
                                         uint64_t *id, struct cerr *err);

/* Every envelope schema published for source table schema.table (matched as schema_topic_latest_envelope
 * does), in the order the topic first holds each (oldest first), as known now: does not read the topic
 * again. *jsons and *ids (arrays of *n, NULL when none) are the caller's to free(); the texts are st's.
 * -1 with err when out of memory. */
int schema_topic_envelopes(struct schema_topic *st, const char *schema, const char *table, const char ***jsons,
                           uint64_t **ids, size_t *n, struct cerr *err);

#endif
