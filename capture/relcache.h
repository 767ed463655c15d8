/* relcache.h: what capture knows of each relation pgoutput described (Relation messages): its current
 * writer schemas, its topic and whether its schemas were published in this producer session. */
#ifndef CLEAVE_RELCACHE_H
#define CLEAVE_RELCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/table_schema.h"

struct relcache_entry {
	uint32_t relid;
	struct table_schema *schema; /* owned */
	char *topic;                 /* <prefix>.<schema>.<table> */
	bool published;              /* schemas sent to <prefix>._schemas by the current producer */
	int partitions;              /* 0: not looked up yet (needed for TRUNCATE) */
};

struct relcache;

struct relcache *relcache_new(void);
void relcache_free(struct relcache *rc);

/* NULL when pgoutput has not described relid in this stream. */
struct relcache_entry *relcache_get(struct relcache *rc, uint32_t relid);

/* Stores schema (taking ownership) for its relid, replacing and freeing an older version. Returns the
 * entry, or NULL when out of memory (schema is freed). */
struct relcache_entry *relcache_put(struct relcache *rc, const char *topic_prefix, struct table_schema *schema);

/* Forgets relid (no-op when unknown). */
void relcache_remove(struct relcache *rc, uint32_t relid);

/* Marks every entry unpublished (a new producer session starts). */
void relcache_mark_unpublished(struct relcache *rc);

#endif
