/* rdb.h: the few statements reconcile runs on the source PostgreSQL and on a target PostgreSQL or
 * MySQL/MariaDB, with every result value as text. Sessions are set up so that values' texts do not depend
 * on server defaults (canon_pg_session; MySQL: utf8mb4, time_zone +00:00). Not thread-safe: one
 * connection per thread. */
#ifndef CLEAVE_RDB_H
#define CLEAVE_RDB_H

#include <stddef.h>

#include "common/err.h"
#include "sinks/sinkvalue.h"

struct rdb;

/* A result: nrows * ncols cells, row-major; a cell is NULL for SQL NULL, else NUL-terminated text
 * (len counts its bytes). Owned by the caller: rdb_rows_free. */
struct rdb_rows {
	size_t nrows, ncols;
	char **cells;
	size_t *lens;
};

/* `what` names the database in messages ("the source", "sink orders's target"). err->retriable when the
 * server cannot be reached. */
struct rdb *rdb_connect_pg(const char *dsn, const char *what, struct cerr *err);
struct rdb *rdb_connect_mysql(const char *url, const char *what, struct cerr *err);
void rdb_free(struct rdb *d); /* NULL is a no-op */
enum sinkvalue_engine rdb_engine(const struct rdb *d);

/* Runs sql; a statement that returns rows fills *out (which may be NULL to drop them). */
int rdb_query(struct rdb *d, const char *sql, struct rdb_rows *out, struct cerr *err);
void rdb_rows_free(struct rdb_rows *r);

static inline const char *rdb_cell(const struct rdb_rows *r, size_t row, size_t col)
{
	return r->cells[row * r->ncols + col];
}

#endif
