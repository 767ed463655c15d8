/* pgtest.h: the test PostgreSQL 15 server that tests/run.sh started (wal_level=logical, trust auth, user
 * postgres, on 127.0.0.1:$CLEAVE_TEST_PG_PORT): connections, statements that fail the test with the
 * server's error, one-value queries, a fresh database per test, polling a query until it gives an
 * expected value, and stopping/starting the server for fault tests.
 *
 * SQL text is printf-formatted (write %% for a literal %); tests build it from names they made themselves. */
#ifndef CLEAVE_PGTEST_H
#define CLEAVE_PGTEST_H

#include <stdbool.h>

#include <libpq-fe.h>

/* libpq key=value DSN of the test server for database dbname (NULL: the default database, postgres).
 * The string lives until exit (testenv_fmt); hand it to cleave's config. */
const char *pgtest_dsn(const char *dbname);

/* Connects to dbname (NULL: postgres) on the test server. Fails the test with libpq's message on error.
 * The caller owns the connection: PQfinish(). */
PGconn *pgtest_connect(const char *dbname);

/* Runs one or more statements; fails the test with the server's error if any fails. */
void pgtest_exec(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a query that returns rows; fails the test on error. The caller owns the result: PQclear(). */
PGresult *pgtest_query(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a query that must return exactly one row of one column, and returns the value in text form
 * (malloc'ed: the caller frees it), or NULL for SQL NULL. Fails the test on an error or another shape. */
char *pgtest_value(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pgtest_value as a 64-bit integer; fails the test on NULL or a value that is not an integer. */
long long pgtest_value_int(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs `sql` (one value, as pgtest_value; not formatted) until its value equals `expected` (NULL: until it
 * is SQL NULL) or timeout_ms passes. Errors count as "not yet" (the server may be restarting; a broken
 * connection is reset). Returns true on a match; on timeout prints the last value or error and returns
 * false, so write assert_true(pgtest_poll_until(...)). */
bool pgtest_poll_until(PGconn *c, const char *sql, const char *expected, int timeout_ms);

/* Creates a fresh, empty database with a unique name and returns the name (lives until exit). */
const char *pgtest_create_db(void);

/* Drops a database made by pgtest_create_db, with everything that would block that: it terminates the
 * sessions and walsenders using it and drops its replication slots (retrying for up to 30 s while a client
 * reconnects). Stop the cleave processes that use it first. */
void pgtest_drop_db(const char *dbname);

/* Stops the test server (mode: "smart", "fast" or "immediate"), or starts it again with the same port and
 * options. Both run $CLEAVE_TEST_RUNDIR/pgctl, the script tests/run.sh itself starts and stops the server
 * with, and wait until the server is down / accepting connections. Fail the test when pg_ctl fails. */
void pgtest_server_stop(const char *mode);
void pgtest_server_start(void);

#endif
