/* schema_topic.c: see schema_topic.h. A small array of (id, schema JSON, decoders made on first use:
 * avro_decode.c's for schema_topic_decode, avro_plan.c's for sinks); a deployment has a few schemas per
 * table. */
#include "schema/schema_topic.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/topic_reader.h"
#include "schema/avro_decode.h"
#include "schema/avro_plan.h"
#include "schema/avro_write.h"

#define SCHEMA_TOPIC_READ_TIMEOUT_MS 30000

struct schema_entry {
	uint64_t id;
	char *json;
	struct avro_decoder *decoder; /* made on first use */
	struct avro_plan *plan;       /* made on first use, with its picks of what sinks read */
	const struct avro_plan_pick *head_pick, *before_pick, *after_pick;
};

struct schema_topic {
	const struct cleave_config *cfg;
	struct schema_entry *v;
	size_t n, cap;
};

struct schema_topic *schema_topic_new(const struct cleave_config *cfg)
{
	struct schema_topic *st = calloc(1, sizeof *st);

	if (st)
		st->cfg = cfg;
	return st;
}

void schema_topic_free(struct schema_topic *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].json);
		avro_decoder_free(st->v[i].decoder);
		avro_plan_free(st->v[i].plan);
	}
	free(st->v);
	free(st);
}

static struct schema_entry *schema_topic_find(struct schema_topic *st, uint64_t id)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->v[i].id == id)
			return &st->v[i];
	return NULL;
}

static int schema_topic_add(void *arg, const rd_kafka_message_t *m, struct cerr *err)
{
	struct schema_topic *st = arg;
	char idtext[17];
	uint64_t id;
	char *json;

	if (!m->key || m->key_len != 16 || !m->payload)
		return 0; /* not a schema record: ignore */
	memcpy(idtext, m->key, 16);
	idtext[16] = '\0';
	if (sscanf(idtext, "%16" SCNx64, &id) != 1 || schema_topic_find(st, id))
		return 0;
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct schema_entry *nv = realloc(st->v, ncap * sizeof *nv);

		if (!nv)
			return cerr_set(err, false, "out of memory");
		st->v = nv;
		st->cap = ncap;
	}
	json = strndup(m->payload, m->len);
	if (!json)
		return cerr_set(err, false, "out of memory");
	st->v[st->n++] = (struct schema_entry){.id = id, .json = json};
	return 0;
}

static int schema_topic_refresh(struct schema_topic *st, struct cerr *err)
{
	char topic[512];

	snprintf(topic, sizeof topic, "%s._schemas", st->cfg->kafka.topic_prefix);
	return topic_read_all(st->cfg, topic, SCHEMA_TOPIC_READ_TIMEOUT_MS, schema_topic_add, st, err) < 0 ? -1 : 0;
}

static struct schema_entry *schema_topic_get(struct schema_topic *st, uint64_t id, struct cerr *err)
{
	struct schema_entry *e = schema_topic_find(st, id);

	if (e)
		return e;
	if (schema_topic_refresh(st, err) < 0)
		return NULL;
	e = schema_topic_find(st, id);
	if (!e)
		cerr_set(err, false, "schema %016" PRIx64 " is not in %s._schemas", id, st->cfg->kafka.topic_prefix);
	return e;
}

const char *schema_topic_json(struct schema_topic *st, uint64_t id, struct cerr *err)
{
	struct schema_entry *e = schema_topic_get(st, id, err);

	return e ? e->json : NULL;
}

const char *schema_topic_latest_envelope(struct schema_topic *st, const char *schema, const char *table,
                                         uint64_t *id, struct cerr *err)
{
	char ns[600];
	const char *found = NULL;

	if (schema_topic_refresh(st, err) < 0)
		return NULL;
	snprintf(ns, sizeof ns, "%s.%s.%s", st->cfg->kafka.topic_prefix, schema, table);
	/* entries are in the order the topic holds them (per partition): the last match is the newest of
	 * its partition; schemas of one table share a key prefix only by chance, so compare whole texts */
	for (size_t i = 0; i < st->n; i++) {
		json_t *j = json_loads(st->v[i].json, 0, NULL);
		const char *name = json_string_value(json_object_get(j, "name"));
		const char *nsp = json_string_value(json_object_get(j, "namespace"));

		if (name && nsp && strcmp(name, "Envelope") == 0 && strcmp(nsp, ns) == 0) {
			found = st->v[i].json;
			*id = st->v[i].id;
		}
		json_decref(j);
	}
	return found;
}

int schema_topic_envelopes(struct schema_topic *st, const char *schema, const char *table, const char ***jsons,
                           uint64_t **ids, size_t *n, struct cerr *err)
{
	char ns[600];

	*jsons = NULL;
	*ids = NULL;
	*n = 0;
	snprintf(ns, sizeof ns, "%s.%s.%s", st->cfg->kafka.topic_prefix, schema, table);
	for (size_t i = 0; i < st->n; i++) {
		json_t *j = json_loads(st->v[i].json, 0, NULL);
		const char *name = json_string_value(json_object_get(j, "name"));
		const char *nsp = json_string_value(json_object_get(j, "namespace"));
		bool match = name && nsp && strcmp(name, "Envelope") == 0 && strcmp(nsp, ns) == 0;

		json_decref(j);
		if (!match)
			continue;
		if (!*jsons) {
			*jsons = calloc(st->n, sizeof **jsons);
			*ids = calloc(st->n, sizeof **ids);
			if (!*jsons || !*ids) {
				free(*jsons);
				free(*ids);
				*jsons = NULL;
				*ids = NULL;
				return cerr_set(err, false, "out of memory");
			}
		}
		(*jsons)[*n] = st->v[i].json;
		(*ids)[(*n)++] = st->v[i].id;
	}
	return 0;
}

/* The writer schema of a single-object encoded message, or NULL with err. */
static struct schema_entry *schema_topic_entry_of(struct schema_topic *st, const void *p, size_t n, struct cerr *err)
{
	uint64_t id;

	if (avro_get_soe_header(p, n, &id) < 0) {
		cerr_set(err, false, "not an Avro single-object encoded message (%zu bytes)", n);
		return NULL;
	}
	return schema_topic_get(st, id, err);
}

json_t *schema_topic_decode(struct schema_topic *st, const void *p, size_t n, struct cerr *err)
{
	struct schema_entry *e;

	if (!(e = schema_topic_entry_of(st, p, n, err)))
		return NULL;
	if (!e->decoder && !(e->decoder = avro_decoder_new(e->json, err)))
		return NULL;
	return avro_decoder_decode(e->decoder, (const uint8_t *)p + AVRO_SOE_HEADER_LEN, n - AVRO_SOE_HEADER_LEN, err);
}

int schema_topic_decode_head(struct schema_topic *st, const void *p, size_t n, struct schema_head *head,
                             struct schema_row_plan *rows, struct cerr *err)
{
	static const char *const head_paths[] = {"op", "source.commit_lsn", "source.seq", NULL};
	static const char *const before[] = {"before", NULL};
	static const char *const after[] = {"after", NULL};
	struct avro_plan_scalar f[3];
	struct schema_entry *e;

	if (!(e = schema_topic_entry_of(st, p, n, err)))
		return -1;
	if (!e->plan) {
		/* every pick now: rows are decoded in other threads, which must not change the plan */
		if (!(e->plan = avro_plan_new(e->json, err)))
			return -1;
		if (!(e->head_pick = avro_plan_pick(e->plan, head_paths, err)) ||
		    !(e->before_pick = avro_plan_pick(e->plan, before, err)) ||
		    !(e->after_pick = avro_plan_pick(e->plan, after, err))) {
			avro_plan_free(e->plan);
			e->plan = NULL;
			return -1;
		}
	}
	*rows = (struct schema_row_plan){.plan = e->plan, .before = e->before_pick, .after = e->after_pick};
	if (avro_plan_decode_scalars(e->plan, e->head_pick, (const uint8_t *)p + AVRO_SOE_HEADER_LEN,
	                             n - AVRO_SOE_HEADER_LEN, f, 3, err) < 0)
		return -1;
	if (f[0].kind != AVRO_PLAN_STRING || f[1].kind != AVRO_PLAN_LONG || f[2].kind != AVRO_PLAN_LONG)
		return cerr_set(err, false, "not a cleave envelope: no op, source.commit_lsn or source.seq");
	*head = (struct schema_head){.op = f[0].s, .oplen = f[0].len, .commit_lsn = f[1].l, .seq = f[2].l};
	return 0;
}

json_t *schema_row_decode(const struct schema_row_plan *rows, bool before, const void *p, size_t n,
                          struct cerr *err)
{
	if (n < AVRO_SOE_HEADER_LEN) {
		cerr_set(err, false, "avro decode: %zu bytes is no single-object encoding", n);
		return NULL;
	}
	return avro_plan_decode_field(rows->plan, before ? rows->before : rows->after,
	                              (const uint8_t *)p + AVRO_SOE_HEADER_LEN, n - AVRO_SOE_HEADER_LEN, err);
}
