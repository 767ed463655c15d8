/* sinktest.h: capturetest.h plus sinks: one `cleave capture` deployment (struct ctest) whose config also
 * has a `sinks:` section, fresh target databases (a PostgreSQL database on the test server and/or a
 * MariaDB database on the test MariaDB), the `cleave sink` processes, and comparisons of a source table
 * with a target table made by independent SQL on both sides (never through cleave's code).
 *
 * Errors fail the running test. Not thread-safe. */
#ifndef CLEAVE_SINKTEST_H
#define CLEAVE_SINKTEST_H

#include <libpq-fe.h>
/* libmariadb-dev-compat's path: cleave_testsupport has no include directory for <mysql.h> */
#include <mysql/mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "tests/support/capturetest.h"
#include "tests/support/kafkatest.h"
#include "tests/support/pgtest.h"
#include "tests/support/proc.h"

#define STEST_MAX_SINKS 32

enum stest_engine { STEST_PG, STEST_MYSQL };

struct stest_sink {
	const char *name;
	struct proc *proc;
};

struct stest {
	struct ctest c;        /* source database, capture, config file (c.config_path), topic prefix */
	const char *pg_db;     /* PostgreSQL target database, NULL unless the sinks YAML uses ${PG_TARGET_DSN} */
	const char *pg_dsn;    /* its libpq DSN */
	PGconn *pg;            /* connection to it */
	const char *my_db;     /* MariaDB target database, NULL unless the sinks YAML uses ${MYSQL_TARGET_DSN} */
	const char *my_dsn;    /* its mysql:// URL */
	MYSQL *my;             /* connection to it (utf8mb4) */
	PGconn *cmp_src, *cmp_pg; /* stest_same's own connections (source, PostgreSQL target) */
	struct stest_sink sinks[STEST_MAX_SINKS]; /* processes started by stest_spawn_sink/stest_start_sink */
	size_t nsinks;
};

/* ctest_init(source_sql, tables) with the kafka property session.timeout.ms: 6000 (so a sink's consumer
 * group on the mock rebalances quickly after a kill), then appends sinks_yaml (a whole top-level
 * "sinks:\n  - name: ...\n" section, or NULL) to the config, after replacing every ${PG_TARGET_DSN} with the
 * DSN of a fresh PostgreSQL target database and every ${MYSQL_TARGET_DSN} with the URL of a fresh MariaDB
 * database (each made only when its placeholder occurs; quote them in the YAML: dsn: "${PG_TARGET_DSN}").
 * Other ${NAME}s are left for cleave to expand from the environment. Does not start anything. */
void stest_init(struct stest *t, const char *source_sql, const char *tables, const char *sinks_yaml);
/* stest_init with ctest_init's extra_source_yaml and extra_kafka_props (either may be NULL). */
void stest_init_ex(struct stest *t, const char *source_sql, const char *tables, const char *sinks_yaml,
                   const char *extra_source_yaml, const char *extra_kafka_props);

/* Starts capture (ctest_start). */
void stest_start_capture(struct stest *t);

/* Spawns `cleave sink -c CONFIG --sink NAME` and returns at once (for tests that expect it to fail: read
 * the status with proc_wait). t owns the process until stest_stop_sink or stest_fini. */
struct proc *stest_spawn_sink(struct stest *t, const char *name);
/* stest_spawn_sink, then waits until its log says "consuming" (the mapped tables that already have events
 * are prepared then; partitions are assigned a few seconds later). Prints the log and fails the test when it
 * exits or takes more than 30 s. */
struct proc *stest_start_sink(struct stest *t, const char *name);
/* SIGTERM to sink `name` (started by t), waits up to 60 s (then SIGKILL); returns the exit status (prints
 * the log when it is not 0) and forgets the process. */
int stest_stop_sink(struct stest *t, const char *name);
/* SIGKILL to sink `name` and reap it; forgets the process. */
void stest_kill_sink(struct stest *t, const char *name);
/* The process of sink `name` that t runs, or NULL. */
struct proc *stest_sink_proc(struct stest *t, const char *name);
/* Prints the last `lines` lines of every sink's log and capture's (for diagnostics). */
void stest_print_logs(struct stest *t, int lines);

/* Stops the sinks (SIGTERM, so they leave their consumer groups), then as ctest_fini, then drops the target
 * databases and frees everything. */
void stest_fini(struct stest *t);

/* Waits for sink `name` (spawned by t) to exit by itself; fails the test (printing its log) unless the status
 * is 2, it printed no sanitizer report, and its output contains every needle (NULL-terminated). */
void stest_assert_sink_fails(struct stest *t, const char *name, const char *const *needles);

/* The value of header `name` of m as a string ("" when it is missing), e.g. cleave.error of a dead letter. */
const char *stest_header(const struct ktest_msg *m, const char *name);

/* "<prefix>.dlq.<sink>" (lives until exit). */
const char *stest_dlq_topic(struct stest *t, const char *sink);

/* ---- MariaDB target: statements on t->my ---- */

/* Runs one statement on the MariaDB target; fails the test with the server's error. */
void stest_my_exec(struct stest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One value (first column of the only row) in text form, malloc'ed (caller frees), NULL for SQL NULL.
 * Fails the test on an error or when the query returns no row. */
char *stest_my_value(struct stest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- rows in canonical text ---- */

/* How two canonical cells compare. */
enum stest_kind {
	STEST_EXACT,  /* byte for byte */
	STEST_FLOAT4, /* both parsed with strtod and rounded to float: equal bits (NaN equals NaN) */
	STEST_FLOAT8, /* both parsed with strtod: equal bits (NaN equals NaN) */
	STEST_JSON,   /* both parsed with jansson: json_equal (so key order and spacing do not matter) */
};

/* A query result, every cell as text (NULL for SQL NULL; len counts its bytes, a NUL follows). */
struct stest_rows {
	size_t nrows, ncols;
	char **names;  /* ncols column names */
	char **cells;  /* nrows * ncols, row-major */
	size_t *lens;
};

/* Runs sql on PostgreSQL connection c (NULL, with a message in *error when error is not NULL: the query
 * failed; without error, fails the test instead). The caller frees with stest_rows_free. */
struct stest_rows *stest_pg_rows(PGconn *c, const char *sql, char **error);
/* The same on a MariaDB connection (text protocol: MariaDB's own text of each value). */
struct stest_rows *stest_my_rows(MYSQL *c, const char *sql, char **error);
void stest_rows_free(struct stest_rows *r); /* NULL is a no-op */

/* Compares two results of the same shape: sorts both by their first nkey columns (bytewise on the cells,
 * then the rest), then compares cell by cell with kinds[col] (NULL: all STEST_EXACT). Returns true when
 * equal; otherwise, when print is true, prints the row counts and up to 5 differences (key, column, both
 * values, shortened) under the heading `what`, and returns false. */
bool stest_rows_same(struct stest_rows *src, struct stest_rows *tgt, const enum stest_kind *kinds, size_t nkey,
                     bool print, const char *what);

/* The canonical comparison of a source table with its target table:
 * - the columns are the target table's (so a projection compares only what was mapped), each taken from
 *   the source column of the same name; the key is the source's primary key;
 * - PostgreSQL target: both sides give PostgreSQL's own text of each value (DateStyle ISO, TimeZone UTC,
 *   extra_float_digits 1 set on the connections), json as jsonb text, bytea as hex: exact equality;
 * - MariaDB target: each side gives a text of its own for the §5 column type: booleans "true"/"false",
 *   DATE_FORMAT/to_char with six fraction digits for time/timestamp (timestamptz in UTC), HEX/encode for
 *   bytea, CAST(... AS CHAR) for decimals, char(n) without trailing blanks, json and arrays as JSON
 *   (array_to_json) compared with json_equal, floats compared by value (the MariaDB FLOAT/DOUBLE read
 *   through CAST(... AS DOUBLE));
 * src_table is "schema.table"; tgt_table the target's name (in the target database); src_where (or NULL)
 * restricts the source rows (e.g. "id NOT IN (7, 8)" for rows the target cannot hold). */
bool stest_same(struct stest *t, enum stest_engine e, const char *src_table, const char *tgt_table,
                const char *src_where, bool print);
/* Polls stest_same until true or timeout_ms; on timeout prints the differences and the sinks' logs and
 * returns false (write assert_true(stest_wait_same(...))). A missing target table counts as "not yet". */
bool stest_wait_same(struct stest *t, enum stest_engine e, const char *src_table, const char *tgt_table,
                     const char *src_where, int timeout_ms);

/* Polls a one-value query on the target (PostgreSQL: t->pg; MariaDB: t->my) until it returns `expected`
 * (NULL: SQL NULL) or timeout_ms passes; errors count as "not yet". Prints the last value and the sinks'
 * logs on timeout and returns false. */
bool stest_wait_value(struct stest *t, enum stest_engine e, const char *sql, const char *expected, int timeout_ms);

/* Waits until the dead-letter topic of `sink` holds at least n messages (fails the test, printing the
 * logs, after timeout_ms) and returns them all (caller frees with ktest_msgs_free). */
struct ktest_msgs *stest_dlq_wait(struct stest *t, const char *sink, size_t n, int timeout_ms);

#endif
