/* target_impl.h: what an engine implements behind target.h (sinks/target_pg.c, sinks/target_mysql.c). Only
 * sinks/target*.c include it. */
#ifndef CLEAVE_TARGET_IMPL_H
#define CLEAVE_TARGET_IMPL_H

#include "sinks/target.h"

struct target_ops {
	const char *engine; /* "postgres" | "mysql" */
	/* the engine's own state: created by open (no connection yet), freed by close */
	void *(*open)(const struct cfg_sink *sink, struct cerr *err);
	void (*close)(void *state);
	int (*connect)(void *state, struct cerr *err);
	int (*prepare_table)(void *state, const struct target_table *tbl, bool create, struct cerr *err);
	int (*begin)(void *state, struct cerr *err);
	int (*apply)(void *state, const struct target_table *tbl, const struct target_change *changes, size_t n,
	             struct cerr *err);
	int (*truncate)(void *state, const struct target_table *tbl, struct cerr *err);
	int (*store_positions)(void *state, const char *sink, const struct target_position *pos, size_t n,
	                       struct cerr *err);
	int (*commit)(void *state, struct cerr *err);
	void (*rollback)(void *state);
	int (*load_positions)(void *state, const char *sink, struct target_position **out, size_t *n, struct cerr *err);
	int (*barrier_arrive)(void *state, const struct target_barrier *b, int32_t partition, int *arrived,
	                      struct cerr *err);
	int (*barrier_done)(void *state, const struct target_barrier *b, struct cerr *err);
	int (*barrier_is_done)(void *state, const struct target_barrier *b, bool *done, struct cerr *err);
	int (*barrier_pending)(void *state, struct target_barrier *b, int32_t partition, bool *found, struct cerr *err);
};

extern const struct target_ops target_pg_ops;
extern const struct target_ops target_mysql_ops;

#endif
