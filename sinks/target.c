/* target.c: see target.h. Dispatches to the engine of the sink's type. */
#include "sinks/target.h"

#include <stdlib.h>

#include "sinks/target_impl.h"

struct target {
	const struct target_ops *ops;
	void *state;
};

struct target *target_new(const struct cfg_sink *sink, struct cerr *err)
{
	struct target *t = calloc(1, sizeof *t);

	if (!t) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	t->ops = sink->type == CFG_SINK_POSTGRES ? &target_pg_ops : &target_mysql_ops;
	t->state = t->ops->open(sink, err);
	if (!t->state) {
		free(t);
		return NULL;
	}
	return t;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	t->ops->close(t->state);
	free(t);
}

int target_connect(struct target *t, struct cerr *err)
{
	return t->ops->connect(t->state, err);
}

int target_prepare_table(struct target *t, const struct target_table *tbl, bool create, struct cerr *err)
{
	return t->ops->prepare_table(t->state, tbl, create, err);
}

int target_begin(struct target *t, struct cerr *err)
{
	return t->ops->begin(t->state, err);
}

int target_apply(struct target *t, const struct target_table *tbl, const struct target_change *changes, size_t n,
                 struct cerr *err)
{
	return t->ops->apply(t->state, tbl, changes, n, err);
}

int target_truncate(struct target *t, const struct target_table *tbl, struct cerr *err)
{
	return t->ops->truncate(t->state, tbl, err);
}

int target_store_positions(struct target *t, const char *sink, const struct target_position *pos, size_t n,
                           struct cerr *err)
{
	return t->ops->store_positions(t->state, sink, pos, n, err);
}

int target_commit(struct target *t, struct cerr *err)
{
	return t->ops->commit(t->state, err);
}

void target_rollback(struct target *t)
{
	t->ops->rollback(t->state);
}

int target_load_positions(struct target *t, const char *sink, struct target_position **out, size_t *n,
                          struct cerr *err)
{
	return t->ops->load_positions(t->state, sink, out, n, err);
}

void target_positions_free(struct target_position *pos, size_t n)
{
	for (size_t i = 0; pos && i < n; i++)
		free(pos[i].topic);
	free(pos);
}

int target_barrier_arrive(struct target *t, const struct target_barrier *b, int32_t partition, int *arrived,
                          struct cerr *err)
{
	return t->ops->barrier_arrive(t->state, b, partition, arrived, err);
}

int target_barrier_done(struct target *t, const struct target_barrier *b, struct cerr *err)
{
	return t->ops->barrier_done(t->state, b, err);
}

int target_barrier_is_done(struct target *t, const struct target_barrier *b, bool *done, struct cerr *err)
{
	return t->ops->barrier_is_done(t->state, b, done, err);
}

int target_barrier_pending(struct target *t, struct target_barrier *b, int32_t partition, bool *found,
                           struct cerr *err)
{
	return t->ops->barrier_pending(t->state, b, partition, found, err);
}
