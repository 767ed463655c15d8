/* target.h: a sink's target database, PostgreSQL (sinks/target_pg.c, libpq) or MySQL/MariaDB
 * (sinks/target_mysql.c, mysql.h), behind one interface. The sink core (consuming, batching, positions)
 * knows nothing of SQL dialects; a target knows nothing of Kafka.
 *
 * Values arrive as cleave's decoded events give them (schema/avro_decode.h: JSON per Avro type) with the
 * source column's type (schema/coltype.h); sinks/sinkvalue.h turns them into each engine's text.
 *
 * Transactions: target_begin, any number of target_apply / target_truncate / target_store_positions,
 * then target_commit (or target_rollback). Effectively-once rests on the positions being stored in the
 * same transaction as the rows. Not thread-safe: one target per sink thread. */
#ifndef CLEAVE_TARGET_H
#define CLEAVE_TARGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"
#include "schema/coltype.h"

struct target_column {
	const char *name;    /* the column's name in the target (after rename) */
	struct coltype type; /* the source column's type */
	bool key;            /* part of the primary key (the source's key columns) */
	/* schema changes (sinks/evolve.h): the source column's newest name (in the newest writer schema the
	 * sink knows; `name` is its target name), and the target names the same source column maps to under
	 * its other names (a rename), NULL-terminated, or NULL. prepare_table refuses to add a column whose
	 * other name the table has: the target would get a new, empty column while the old one goes stale. */
	const char *source;
	const char *const *was;
	/* the PostgreSQL text of the value the source's rows older than an ADD COLUMN ... DEFAULT hold
	 * (schema "cleave.missing"), or NULL: a column created or added for it gets it as DEFAULT, so that
	 * those rows (which no event carries) read it in the target too */
	const char *missing;
};

struct target_table {
	const char *name; /* target table: in the PostgreSQL DSN's search_path, or in the MySQL URL's database */
	int ncols;
	const struct target_column *cols;
};

enum target_cell_kind {
	TARGET_NULL,
	TARGET_VALUE,
	TARGET_UNCHANGED, /* not sent by the source: leave the stored value as it is */
};

struct target_cell {
	enum target_cell_kind kind;
	const json_t *value; /* TARGET_VALUE: the decoded Avro value (borrowed) */
};

struct target_change {
	/* 'u': upsert (source u; a source c or r the batch collapsed with an earlier change of its row);
	 * 'c': a source insert or snapshot read that is the batch's first change of its row (the target should not
	 * hold the row yet; an engine may insert it without a conflict check if it upserts when one is
	 * there after all: a snapshot row, a row reconcile repaired); 'd': delete by key */
	char op;
	const struct target_cell *cells; /* one per table column, in table order; 'd' reads the key cells */
};

/* A sink's progress on one Kafka partition, stored in the target in table cleave_positions
 * (sink, topic, partition) -> (kafka_offset, commit_lsn, seq). */
struct target_position {
	char *topic;
	int32_t partition;
	int64_t offset;     /* last applied Kafka offset */
	int64_t commit_lsn; /* source position of the last applied event */
	int64_t seq;
};

struct target;

/* A target for sink `sink` (its type picks the engine). The config must outlive it. Does not connect. */
struct target *target_new(const struct cfg_sink *sink, struct cerr *err);
void target_free(struct target *t); /* NULL is a no-op; closes the connection */

/* (Re)connects, and creates cleave_positions if missing. err->retriable when the server is down. */
int target_connect(struct target *t, struct cerr *err);

/* Makes sure the table can hold the mapping: with create, a missing table is created from the column
 * types (SPEC.md §5 target columns, primary key = key columns), and an existing table follows the source's
 * additive schema changes: a missing non-key column is added (nullable, the §5 type) unless the table has
 * one of its `was` names (a rename: refused), and a column whose type cannot hold the source's is altered
 * to a wider type when sinkvalue_widen finds one (both logged at info). Then an existing table must have
 * every column with a compatible type and a primary key on the key columns. Otherwise -1 with a
 * non-retriable err that names the table, the column and what to do. */
int target_prepare_table(struct target *t, const struct target_table *tbl, bool create, struct cerr *err);

int target_begin(struct target *t, struct cerr *err);
/* Applies changes in order (consecutive upserts may go in one multi-row statement). An upsert writes
 * every TARGET_NULL/TARGET_VALUE cell and leaves TARGET_UNCHANGED ones as stored (a new row gets NULL).
 * err->retriable: connection lost, deadlock, serialization failure; otherwise the data is at fault (a
 * constraint, a value the column cannot hold) and err says which column and why. */
int target_apply(struct target *t, const struct target_table *tbl, const struct target_change *changes, size_t n,
                 struct cerr *err);
/* Deletes every row of the table (inside the transaction). */
int target_truncate(struct target *t, const struct target_table *tbl, struct cerr *err);
/* Upserts the positions of `sink`. */
int target_store_positions(struct target *t, const char *sink, const struct target_position *pos, size_t n,
                           struct cerr *err);
int target_commit(struct target *t, struct cerr *err);
void target_rollback(struct target *t);

/* The stored positions of `sink` (caller frees with target_positions_free). */
int target_load_positions(struct target *t, const char *sink, struct target_position **out, size_t *n,
                          struct cerr *err);
void target_positions_free(struct target_position *pos, size_t n);

/* ---- TRUNCATE across the processes of one sink (table cleave_truncates, made at connect) ----
 * Capture sends a TRUNCATE to every partition of the table's topic. Each partition's arrival at it is
 * recorded in the transaction that stores that partition's position; the transaction that records the last
 * arrival also empties the table and marks the barrier done. A partition that arrived applies nothing more
 * until the barrier is done, so no row the source wrote after the truncate is deleted, and none before it
 * survives, whichever processes own the partitions, and across kills and rebalances. */
struct target_barrier {
	const char *sink, *topic;
	int64_t commit_lsn, seq; /* the truncate event's source position */
};

/* In a transaction: records that `partition` reached b; *arrived = how many partitions of the topic have
 * (this one included). Arrivals of one barrier are serialised, so exactly one transaction counts the last. */
int target_barrier_arrive(struct target *t, const struct target_barrier *b, int32_t partition, int *arrived,
                          struct cerr *err);
/* In the transaction that empties the table: marks b done. */
int target_barrier_done(struct target *t, const struct target_barrier *b, struct cerr *err);
/* Outside a transaction: whether b is done. */
int target_barrier_is_done(struct target *t, const struct target_barrier *b, bool *done, struct cerr *err);
/* The oldest barrier of b->topic that `partition` arrived at and that is not done: *found, and b's
 * commit_lsn and seq set to it. */
int target_barrier_pending(struct target *t, struct target_barrier *b, int32_t partition, bool *found,
                           struct cerr *err);

#endif
