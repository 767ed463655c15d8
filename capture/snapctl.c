/* snapctl.c: see snapctl.h. */
#include "capture/snapctl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/topic_reader.h"

#define SNAPCTL_READ_TIMEOUT_MS 30000

int snapctl_format(bool done, const char *const *last_key, int nkey, struct buf *out)
{
	json_t *o = json_object(), *k = NULL;
	char *text = NULL;
	int rc = -1;

	if (!o || json_object_set_new(o, "state", json_string(done ? "done" : "running")) < 0)
		goto cleanup;
	if (!done) {
		if (last_key) {
			k = json_array();
			for (int i = 0; k && i < nkey; i++)
				if (json_array_append_new(k, json_string(last_key[i])) < 0)
					goto cleanup;
		} else {
			k = json_null();
		}
		if (!k || json_object_set(o, "last_key", k) < 0)
			goto cleanup;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (text && buf_puts(out, text) == 0 && buf_putc(out, '\0') == 0) {
		out->len--;
		rc = 0;
	}
cleanup:
	free(text);
	json_decref(k);
	json_decref(o);
	return rc;
}

void snapctl_rec_clear(struct snapctl_rec *rec)
{
	for (int i = 0; i < rec->nkey; i++)
		free(rec->last_key[i]);
	free(rec->last_key);
	rec->last_key = NULL;
	rec->nkey = 0;
	rec->done = false;
}

int snapctl_parse(const char *json, size_t len, struct snapctl_rec *rec, struct cerr *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(json, len, 0, &jerr), *state, *key;
	int rc = -1;

	snapctl_rec_clear(rec);
	if (!o || !json_is_object(o)) {
		cerr_set(err, false, "not a JSON object");
		goto cleanup;
	}
	state = json_object_get(o, "state");
	if (json_is_string(state) && strcmp(json_string_value(state), "done") == 0) {
		rec->done = true;
		rc = 0;
		goto cleanup;
	}
	if (!json_is_string(state) || strcmp(json_string_value(state), "running") != 0) {
		cerr_set(err, false, "state is neither \"running\" nor \"done\"");
		goto cleanup;
	}
	key = json_object_get(o, "last_key");
	if (!key || json_is_null(key)) {
		rc = 0;
		goto cleanup;
	}
	if (!json_is_array(key) || json_array_size(key) == 0) {
		cerr_set(err, false, "last_key is not a non-empty array");
		goto cleanup;
	}
	rec->last_key = calloc(json_array_size(key), sizeof *rec->last_key);
	if (!rec->last_key) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < json_array_size(key); i++) {
		json_t *v = json_array_get(key, i);

		if (!json_is_string(v)) {
			cerr_set(err, false, "last_key holds a value that is not a string");
			goto cleanup;
		}
		rec->last_key[i] = strdup(json_string_value(v));
		if (!rec->last_key[i]) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		rec->nkey++;
	}
	rc = 0;
cleanup:
	if (rc < 0)
		snapctl_rec_clear(rec);
	json_decref(o);
	return rc;
}

const struct snapctl_rec *snapctl_find(const struct snapctl *s, const char *table)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->recs[i].table, table) == 0)
			return &s->recs[i];
	return NULL;
}

void snapctl_free(struct snapctl *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		snapctl_rec_clear(&s->recs[i]);
		free(s->recs[i].table);
	}
	free(s->recs);
	free(s);
}

/* One message: replaces the table's record (a tombstone removes it). */
static int snapctl_on_message(void *arg, const rd_kafka_message_t *m, struct cerr *err)
{
	struct snapctl *s = arg;
	char *table;
	struct snapctl_rec *rec = NULL;

	if (!m->key || m->key_len == 0)
		return 0;
	table = strndup(m->key, m->key_len);
	if (!table)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i < s->n && !rec; i++)
		if (strcmp(s->recs[i].table, table) == 0)
			rec = &s->recs[i];
	if (!m->payload) {
		if (rec) {
			snapctl_rec_clear(rec);
			free(rec->table);
			*rec = s->recs[--s->n];
		}
		free(table);
		return 0;
	}
	if (!rec) {
		struct snapctl_rec *n = realloc(s->recs, (s->n + 1) * sizeof *n);

		if (!n) {
			free(table);
			return cerr_set(err, false, "out of memory");
		}
		s->recs = n;
		rec = &s->recs[s->n++];
		*rec = (struct snapctl_rec){.table = table};
		table = NULL;
	}
	free(table);
	if (snapctl_parse(m->payload, m->len, rec, err) < 0)
		return cerr_wrap(err, "record of %s at offset %lld of partition %d", rec->table, (long long)m->offset,
		                 (int)m->partition);
	return 0;
}

struct snapctl *snapctl_load(const struct cleave_config *cfg, const char *topic, struct cerr *err)
{
	struct snapctl *s = calloc(1, sizeof *s);

	if (!s) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	if (topic_read_all(cfg, topic, SNAPCTL_READ_TIMEOUT_MS, snapctl_on_message, s, err) < 0) {
		cerr_wrap(err, "reading the snapshot progress in %s", topic);
		snapctl_free(s);
		return NULL;
	}
	return s;
}

#define SNAPCTL_REQUEST "snap:"

void snapctl_request_format(const char *slot, const char *schema, const char *table, char *out, size_t outlen)
{
	snprintf(out, outlen, SNAPCTL_REQUEST "%s:%s.%s", slot, schema, table);
}

const char *snapctl_request_table(const char *content, size_t len, const char *slot)
{
	size_t plen = strlen(SNAPCTL_REQUEST), slen = strlen(slot);

	if (len <= plen + slen + 1 || memcmp(content, SNAPCTL_REQUEST, plen) != 0 ||
	    memcmp(content + plen, slot, slen) != 0 || content[plen + slen] != ':')
		return NULL;
	return content + plen + slen + 1;
}
