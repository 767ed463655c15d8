/* relcache.c: see relcache.h. A small open array: a source has tens or hundreds of tables, and lookups
 * happen per change, so the last hit is remembered. */
#include "capture/relcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct relcache {
	struct relcache_entry *entries;
	size_t n, cap;
	size_t last; /* index of the last hit */
};

struct relcache *relcache_new(void)
{
	return calloc(1, sizeof(struct relcache));
}

void relcache_free(struct relcache *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->n; i++) {
		table_schema_free(rc->entries[i].schema);
		free(rc->entries[i].topic);
	}
	free(rc->entries);
	free(rc);
}

struct relcache_entry *relcache_get(struct relcache *rc, uint32_t relid)
{
	if (rc->last < rc->n && rc->entries[rc->last].relid == relid)
		return &rc->entries[rc->last];
	for (size_t i = 0; i < rc->n; i++) {
		if (rc->entries[i].relid == relid) {
			rc->last = i;
			return &rc->entries[i];
		}
	}
	return NULL;
}

struct relcache_entry *relcache_put(struct relcache *rc, const char *topic_prefix, struct table_schema *schema)
{
	struct relcache_entry *e = relcache_get(rc, schema->relid);
	char *topic = NULL;

	if (asprintf(&topic, "%s.%s.%s", topic_prefix, schema->nspname, schema->relname) < 0) {
		table_schema_free(schema);
		return NULL;
	}
	if (!e) {
		if (rc->n == rc->cap) {
			size_t ncap = rc->cap ? rc->cap * 2 : 16;
			struct relcache_entry *n = realloc(rc->entries, ncap * sizeof *n);

			if (!n) {
				free(topic);
				table_schema_free(schema);
				return NULL;
			}
			rc->entries = n;
			rc->cap = ncap;
		}
		e = &rc->entries[rc->n++];
		memset(e, 0, sizeof *e);
		e->relid = schema->relid;
	}
	if (e->topic && strcmp(e->topic, topic) != 0)
		e->partitions = 0; /* renamed table: another topic */
	/* pgoutput describes a relation again after each reconnect and cache invalidation: the same schema
	 * need not be published twice */
	e->published = e->published && e->schema && e->schema->value_id == schema->value_id &&
	               e->schema->key_id == schema->key_id && strcmp(e->topic, topic) == 0;
	table_schema_free(e->schema);
	free(e->topic);
	e->schema = schema;
	e->topic = topic;
	return e;
}

void relcache_mark_unpublished(struct relcache *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		rc->entries[i].published = false;
}

void relcache_remove(struct relcache *rc, uint32_t relid)
{
	struct relcache_entry *e = relcache_get(rc, relid);

	if (!e)
		return;
	table_schema_free(e->schema);
	free(e->topic);
	*e = rc->entries[--rc->n];
	rc->last = 0;
}
