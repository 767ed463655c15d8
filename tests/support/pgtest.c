/* pgtest.c: see pgtest.h. */
#include "tests/support/pgtest.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/proc.h"
#include "tests/support/testenv.h"

#define PGTEST_SQL_MAX 65536

/* Formats SQL into a malloc'ed string; fails the test if it does not fit in PGTEST_SQL_MAX. */
static char *pgtest_vfmt(const char *fmt, va_list ap)
{
	char *s = malloc(PGTEST_SQL_MAX);
	int n;

	if (!s)
		fail_msg("pgtest: out of memory");
	n = vsnprintf(s, PGTEST_SQL_MAX, fmt, ap);
	if (n < 0 || n >= PGTEST_SQL_MAX) {
		free(s);
		fail_msg("pgtest: SQL longer than %d bytes", PGTEST_SQL_MAX);
	}
	return s;
}

/* Fails the test with `what`, the SQL and the server's message; frees sql and res first. */
static void pgtest_fail(const char *what, char *sql, PGconn *c, PGresult *res)
{
	char msg[2048];

	snprintf(msg, sizeof msg, "%s: %s\n  SQL: %.600s", what,
	         res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(c), sql);
	PQclear(res);
	free(sql);
	fail_msg("%s", msg);
}

const char *pgtest_dsn(const char *dbname)
{
	const char *dsn = testenv_get("CLEAVE_TEST_PG_DSN");

	/* in a libpq conninfo, a later keyword overrides an earlier one */
	return dbname ? testenv_fmt("%s dbname=%s", dsn, dbname) : dsn;
}

PGconn *pgtest_connect(const char *dbname)
{
	const char *dsn = pgtest_dsn(dbname);
	PGconn *c = PQconnectdb(dsn);
	char msg[1024];

	if (PQstatus(c) == CONNECTION_OK) {
		/* keep the log readable: no NOTICEs on stderr */
		PQclear(PQexec(c, "SET client_min_messages = warning"));
		return c;
	}
	snprintf(msg, sizeof msg, "pgtest_connect(%s): %s", dsn, PQerrorMessage(c));
	PQfinish(c);
	fail_msg("%s", msg);
	return NULL;
}

void pgtest_exec(PGconn *c, const char *fmt, ...)
{
	PGresult *res;
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	sql = pgtest_vfmt(fmt, ap);
	va_end(ap);
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		pgtest_fail("pgtest_exec", sql, c, res);
	PQclear(res);
	free(sql);
}

static PGresult *pgtest_vquery(PGconn *c, const char *fmt, va_list ap)
{
	char *sql = pgtest_vfmt(fmt, ap);
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		pgtest_fail("pgtest_query", sql, c, res);
	free(sql);
	return res;
}

PGresult *pgtest_query(PGconn *c, const char *fmt, ...)
{
	PGresult *res;
	va_list ap;

	va_start(ap, fmt);
	res = pgtest_vquery(c, fmt, ap);
	va_end(ap);
	return res;
}

/* The single value of res as a malloc'ed string (NULL for SQL NULL). On another shape, returns NULL and
 * sets *bad. */
static char *pgtest_single(PGresult *res, bool *bad)
{
	char *v;

	*bad = PQntuples(res) != 1 || PQnfields(res) != 1;
	if (*bad || PQgetisnull(res, 0, 0))
		return NULL;
	v = strdup(PQgetvalue(res, 0, 0));
	if (!v)
		fail_msg("pgtest: out of memory");
	return v;
}

static char *pgtest_vvalue(PGconn *c, const char *fmt, va_list ap)
{
	PGresult *res = pgtest_vquery(c, fmt, ap);
	int rows = PQntuples(res), cols = PQnfields(res);
	bool bad;
	char *v = pgtest_single(res, &bad);

	PQclear(res);
	if (bad)
		fail_msg("pgtest_value: expected 1 row of 1 column, got %d row(s) of %d column(s)", rows, cols);
	return v;
}

char *pgtest_value(PGconn *c, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = pgtest_vvalue(c, fmt, ap);
	va_end(ap);
	return v;
}

long long pgtest_value_int(PGconn *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	char *v, *end;
	long long n;

	va_start(ap, fmt);
	v = pgtest_vvalue(c, fmt, ap);
	va_end(ap);
	if (!v)
		fail_msg("pgtest_value_int: the value is NULL");
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end) {
		snprintf(msg, sizeof msg, "pgtest_value_int: \"%.100s\" is not an integer", v);
		free(v);
		fail_msg("%s", msg);
	}
	free(v);
	return n;
}

struct pgtest_pollq {
	PGconn *c;
	const char *sql;
	const char *expected;
	char last[512]; /* last value or error, for the timeout message */
};

static bool pgtest_poll_once(void *arg)
{
	struct pgtest_pollq *q = arg;
	PGresult *res;
	bool bad, match;
	char *v;

	if (PQstatus(q->c) != CONNECTION_OK)
		PQreset(q->c);
	if (PQstatus(q->c) != CONNECTION_OK) {
		snprintf(q->last, sizeof q->last, "(cannot connect: %s)", PQerrorMessage(q->c));
		return false;
	}
	res = PQexec(q->c, q->sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(q->last, sizeof q->last, "(error: %s)", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	v = pgtest_single(res, &bad);
	PQclear(res);
	if (bad) {
		snprintf(q->last, sizeof q->last, "(not one row of one column)");
		return false;
	}
	match = v && q->expected ? strcmp(v, q->expected) == 0 : v == q->expected;
	snprintf(q->last, sizeof q->last, "%s", v ? v : "NULL");
	free(v);
	return match;
}

bool pgtest_poll_until(PGconn *c, const char *sql, const char *expected, int timeout_ms)
{
	struct pgtest_pollq q = {c, sql, expected, "(not run)"};

	if (poll_until(pgtest_poll_once, &q, timeout_ms))
		return true;
	print_error("pgtest_poll_until: after %d ms, %s\n  gives %s, expected %s\n", timeout_ms, sql, q.last,
	            expected ? expected : "NULL");
	return false;
}

const char *pgtest_create_db(void)
{
	const char *name = testenv_unique("cleave_test");
	PGconn *c = pgtest_connect(NULL);

	pgtest_exec(c, "CREATE DATABASE %s", name);
	PQfinish(c);
	return name;
}

/* Runs one statement on c; true when it succeeded. */
static bool pgtest_try(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	PQclear(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* One attempt at dropping a database with its slots; true when it is gone. Separate statements: DROP
 * DATABASE refuses to run in the implicit transaction of a multi-statement string. */
static bool pgtest_drop_once(void *arg)
{
	const char *dbname = arg;
	PGconn *c = PQconnectdb(pgtest_dsn(NULL));
	char sql[3][512];
	bool ok;

	snprintf(sql[0], sizeof sql[0],
	         "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
	         " WHERE database = '%s' AND active_pid IS NOT NULL",
	         dbname);
	snprintf(sql[1], sizeof sql[1],
	         "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
	         " WHERE database = '%s' AND NOT active",
	         dbname);
	snprintf(sql[2], sizeof sql[2], "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	ok = PQstatus(c) == CONNECTION_OK && pgtest_try(c, "SET client_min_messages = warning") &&
	     pgtest_try(c, sql[0]) && pgtest_try(c, sql[1]) && pgtest_try(c, sql[2]);
	PQfinish(c);
	return ok;
}

void pgtest_drop_db(const char *dbname)
{
	if (!poll_until(pgtest_drop_once, (void *)dbname, 30000))
		fail_msg("pgtest_drop_db(%s): could not drop it within 30 s (a client keeps using it?)", dbname);
}

static void pgtest_pgctl(const char *verb, const char *mode)
{
	const char *script = testenv_fmt("%s/pgctl", testenv_rundir());
	const char *argv[] = {script, verb, mode, NULL};
	struct proc *p = proc_spawn("pgctl", argv, NULL);
	int st = proc_wait(p, 90000);

	if (st != 0) {
		proc_print_log(p, 30);
		proc_free(p);
		fail_msg("pgtest: `%s %s %s` failed (status %d)", script, verb, mode ? mode : "", st);
	}
	proc_free(p);
}

void pgtest_server_stop(const char *mode)
{
	pgtest_pgctl("stop", mode);
}

void pgtest_server_start(void)
{
	pgtest_pgctl("start", NULL);
}
