/* schema_topic.c: see schema_topic.h. A small array of (id, decoder): a deployment has a few schemas per
 * table. */
#include "schema/schema_topic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/topic_reader.h"
#include "schema/avro_decode.h"
#include "schema/avro_write.h"

#define SCHEMA_TOPIC_READ_TIMEOUT_MS 30000

struct schema_entry {
	uint64_t id;
	char *json;
	struct avro_decoder *decoder; /* made on first use */
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

json_t *schema_topic_decode(struct schema_topic *st, const void *p, size_t n, struct cerr *err)
{
	struct schema_entry *e;
	uint64_t id;
	char topic[512];

	if (avro_get_soe_header(p, n, &id) < 0) {
		cerr_set(err, false, "not an Avro single-object encoded message (%zu bytes)", n);
		return NULL;
	}
	e = schema_topic_find(st, id);
	if (!e) {
		snprintf(topic, sizeof topic, "%s._schemas", st->cfg->kafka.topic_prefix);
		if (topic_read_all(st->cfg, topic, SCHEMA_TOPIC_READ_TIMEOUT_MS, schema_topic_add, st, err) < 0)
			return NULL;
		e = schema_topic_find(st, id);
		if (!e) {
			cerr_set(err, false, "schema %016" PRIx64 " is not in %s", id, topic);
			return NULL;
		}
	}
	if (!e->decoder && !(e->decoder = avro_decoder_new(e->json, err)))
		return NULL;
	return avro_decoder_decode(e->decoder, (const uint8_t *)p + AVRO_SOE_HEADER_LEN, n - AVRO_SOE_HEADER_LEN, err);
}
