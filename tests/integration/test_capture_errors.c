/* test_capture_errors.c: how `cleave capture` treats bad input and a broken source (SPEC.md §1, §4): a
 * missing table, a table without a key, columns of types cleave does not map, a publication dropped while
 * streaming, an invalidated slot, a source that is down, and secrets in the config. Each failure must be
 * one clear line naming the object and what to do, exit status 2, and never a confirmed position past
 * changes that are not in Kafka. Runs against the PostgreSQL and Kafka of tests/run.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/lsn.h"
#include "tests/support/capturetest.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

#define EXIT_TIMEOUT_MS 30000
#define SECRET_PG "s3cr3t-xyz"
#define SECRET_KAFKA "s3cr3t-kafka-789"

/* Case 5 lowers max_slot_wal_keep_size for the whole shared server: put it back whatever happened. */
static int keep_size_teardown(void **state)
{
	PGconn *c = pgtest_connect(NULL);

	pgtest_exec(c, "ALTER SYSTEM RESET max_slot_wal_keep_size");
	pgtest_exec(c, "SELECT pg_reload_conf()");
	PQfinish(c);
	return ctest_teardown(state);
}

/* ---- helpers ---- */

/* Waits for capture to exit by itself and asserts its status; prints its log otherwise. */
static void assert_capture_exits(struct ctest *t, int expected)
{
	int st = proc_wait(t->capture, EXIT_TIMEOUT_MS);

	if (st != expected) {
		proc_print_log(t->capture, 60);
		fail_msg("cleave capture: status %d, expected %d", st, expected);
	}
}

/* Frees the (exited) capture process so the next one can start. */
static void forget_capture(struct ctest *t)
{
	proc_free(t->capture);
	t->capture = NULL;
}

/* Asserts that one line of the log at `path` contains `first` and every string of the NULL-terminated
 * `also`: an error is one line naming everything. */
static void assert_line_in(const char *path, const char *first, const char *const also[])
{
	char *log = ctest_read_file(path);
	const char *p = log;
	bool found = false;

	while (!found && (p = strstr(p, first)) != NULL) {
		const char *bol = p, *eol = strchr(p, '\n');
		char *line;

		while (bol > log && bol[-1] != '\n')
			bol--;
		line = strndup(bol, eol ? (size_t)(eol - bol) : strlen(bol));
		assert_non_null(line);
		found = true;
		for (size_t i = 0; also && also[i]; i++)
			found = found && strstr(line, also[i]) != NULL;
		free(line);
		p += strlen(first);
	}
	if (!found)
		fprintf(stderr, "---- %s ----\n%s---- end of %s ----\n", path, log, path);
	free(log);
	if (!found) {
		print_error("wanted one line with '%s' and:\n", first);
		for (size_t i = 0; also && also[i]; i++)
			print_error("  '%s'\n", also[i]);
		fail_msg("the log has no such line");
	}
}

/* assert_line_in on the log of t's capture process */
static void assert_log_line(const struct ctest *t, const char *first, const char *const also[])
{
	assert_line_in(proc_log_path(t->capture), first, also);
}

/* A malloc'ed string turned into one that lives until exit, so a failing assertion leaks nothing. */
static const char *keep(char *s)
{
	const char *k = testenv_fmt("%s", s ? s : "(null)");

	free(s);
	return k;
}

static lsn_t parse_lsn(const char *text)
{
	lsn_t v = 0;

	if (!text || lsn_parse(text, &v) < 0)
		fail_msg("not an LSN: %s", text ? text : "(null)");
	return v;
}

/* The slot's confirmed_flush_lsn is at most `lsn` (a slot that does not exist confirmed nothing). */
static void assert_confirmed_at_most(struct ctest *t, const char *lsn)
{
	char *c;

	if (pgtest_value_int(t->pg, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'", t->slot) == 0)
		return;
	c = ctest_confirmed(t);
	if (c && parse_lsn(c) > parse_lsn(lsn)) {
		print_error("confirmed_flush_lsn %s is past %s\n", c, lsn);
		free(c);
		fail_msg("the slot confirmed changes that are not in Kafka");
	}
	free(c);
}

static size_t count_slots(struct ctest *t)
{
	return (size_t)pgtest_value_int(t->pg, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'",
	                                t->slot);
}

/* ---- 1. a configured table that does not exist ---- */

static void test_missing_table(void **state)
{
	struct ctest *t = *state;
	const char *lsn;

	ctest_init(t, "CREATE TABLE present (id int PRIMARY KEY, v text); CREATE VIEW aview AS SELECT 1 AS id",
	           "public.present, public.nosuch", NULL, NULL);
	pgtest_exec(t->pg, "INSERT INTO present VALUES (1, 'a')");
	lsn = keep(ctest_wal_lsn(t));
	t->capture = ctest_spawn(t);
	assert_capture_exits(t, 2);
	assert_confirmed_at_most(t, lsn);
	assert_log_line(t, "public.nosuch", (const char *const[]){"does not exist", "config", NULL});
	forget_capture(t);

	/* a view is not a table either */
	ctest_config_replace(t, "public.nosuch", "public.aview");
	t->capture = ctest_spawn(t);
	assert_capture_exits(t, 2);
	assert_confirmed_at_most(t, lsn);
	assert_log_line(t, "public.aview", (const char *const[]){"not a table", NULL});
}

/* ---- 2. a table without primary key or replica identity; then with REPLICA IDENTITY FULL ---- */

static void test_no_key(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	const char *lsn;

	ctest_init(t, "CREATE TABLE nokey (a int, b text)", "public.nokey", NULL, NULL);
	lsn = keep(ctest_wal_lsn(t));
	t->capture = ctest_spawn(t);
	assert_capture_exits(t, 2);
	assert_confirmed_at_most(t, lsn);
	assert_log_line(t, "public.nokey", (const char *const[]){"primary key", "REPLICA IDENTITY FULL", NULL});
	forget_capture(t);

	pgtest_exec(t->pg, "ALTER TABLE nokey REPLICA IDENTITY FULL");
	ctest_start(t);
	ctest_exec_and_wait(t, "INSERT INTO nokey VALUES (1, 'x'); UPDATE nokey SET b = 'y' WHERE a = 1;"
	                       " DELETE FROM nokey WHERE a = 1");
	/* every column is the key: the update moves the row to another key (delete + tombstone + create) */
	ev = ctest_events_wait(t, "public.nokey", 6, 30000);
	assert_int_equal(ev->n, 6);
	ctest_assert_event(&ev->v[0], 'c', "public.nokey", NULL, "{\"a\": 1, \"b\": \"x\"}");
	ctest_assert_json(ev->v[0].key, "{\"a\": 1, \"b\": \"x\"}");
	ctest_assert_event(&ev->v[1], 'd', "public.nokey", "{\"a\": 1, \"b\": \"x\"}", NULL);
	ctest_assert_json(ev->v[1].key, "{\"a\": 1, \"b\": \"x\"}");
	assert_null(ev->v[2].value);
	ctest_assert_json(ev->v[2].key, "{\"a\": 1, \"b\": \"x\"}");
	ctest_assert_event(&ev->v[3], 'c', "public.nokey", NULL, "{\"a\": 1, \"b\": \"y\"}");
	ctest_assert_json(ev->v[3].key, "{\"a\": 1, \"b\": \"y\"}");
	ctest_assert_event(&ev->v[4], 'd', "public.nokey", "{\"a\": 1, \"b\": \"y\"}", NULL);
	ctest_assert_json(ev->v[4].key, "{\"a\": 1, \"b\": \"y\"}");
	assert_null(ev->v[5].value);
	ctest_assert_json(ev->v[5].key, "{\"a\": 1, \"b\": \"y\"}");
	ctest_events_free(ev);
	assert_int_equal(ctest_stop(t), 0);
}

/* ---- 3. columns carried as text: types docs/types.md lists (interval, inet, money), user types, and a
 * built-in type cleave does not list (regclass), for which capture warns ---- */

static void test_unmapped_types(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	const char *money, *row1;

	ctest_init(t,
	           "CREATE TYPE mood AS ENUM ('sad', 'happy');"
	           "CREATE DOMAIN posint AS integer CHECK (VALUE > 0);"
	           "CREATE TABLE odd (id int PRIMARY KEY, iv interval, ip inet, m money, md mood, d posint,"
	           " rc regclass)",
	           "public.odd", NULL, NULL);
	ctest_start(t);
	ctest_exec_and_wait(t, "INSERT INTO odd VALUES (1, '1 day 02:03:04.5', '10.1.2.3/16', 12.34, 'happy', 7,"
	                       " 'pg_class');"
	                       " INSERT INTO odd VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL);"
	                       " UPDATE odd SET iv = '-3 mons', ip = '2001:db8::1', md = 'sad' WHERE id = 1");
	/* money's text form follows lc_monetary: ask the server */
	money = keep(pgtest_value(t->pg, "SELECT m::text FROM odd WHERE id = 1"));
	row1 = testenv_fmt("{\"id\": 1, \"iv\": \"1 day 02:03:04.5\", \"ip\": \"10.1.2.3/16\", \"m\": \"%s\","
	                   " \"md\": \"happy\", \"d\": \"7\", \"rc\": \"pg_class\"}",
	                   money);
	ev = ctest_events_wait(t, "public.odd", 3, 30000);
	assert_int_equal(ev->n, 3);
	ctest_assert_event(&ev->v[0], 'c', "public.odd", NULL, row1);
	ctest_assert_json(ev->v[0].key, "{\"id\": 1}");
	ctest_assert_event(&ev->v[1], 'c', "public.odd", NULL,
	                   "{\"id\": 2, \"iv\": null, \"ip\": null, \"m\": null, \"md\": null, \"d\": null,"
	                   " \"rc\": null}");
	ctest_assert_event(&ev->v[2], 'u', "public.odd", NULL,
	                   testenv_fmt("{\"id\": 1, \"iv\": \"-3 mons\", \"ip\": \"2001:db8::1\", \"m\": \"%s\","
	                               " \"md\": \"sad\", \"d\": \"7\", \"rc\": \"pg_class\"}",
	                               money));
	ctest_events_free(ev);
	assert_log_line(t, "column rc", (const char *const[]){"WARN", "public.odd", "oid 2205", NULL});
	assert_int_equal(ctest_stop(t), 0);
}

/* ---- 4. the publication dropped while capture streams ---- */

static void test_publication_dropped(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	const char *first_end, *mid, *first_log;
	size_t n;

	ctest_init(t, "CREATE TABLE pt (id int PRIMARY KEY, v text)", "public.pt", NULL, NULL);
	ctest_start(t);
	pgtest_exec(t->pg, "INSERT INTO pt VALUES (1, 'kept')");
	/* the position waited for is the one asserted below (WAL written meanwhile, say a running-xacts
	 * record, is confirmed only with capture's next status update, which may come after the drop) */
	first_end = keep(ctest_wal_lsn(t));
	assert_true(ctest_wait_confirmed(t, first_end, 60000));
	pgtest_exec(t->pg, "DROP PUBLICATION %s", t->publication);
	/* the next change to a published table stops pgoutput; its commit record lies after `mid`, so a
	 * confirmed position past `mid` would skip this transaction on the next start */
	pgtest_exec(t->pg, "BEGIN; INSERT INTO pt VALUES (2, 'after the drop')");
	mid = keep(pgtest_value(t->pg, "SELECT pg_current_wal_insert_lsn()"));
	pgtest_exec(t->pg, "COMMIT");
	assert_capture_exits(t, 2);
	first_log = testenv_fmt("%s", proc_log_path(t->capture));
	forget_capture(t);

	ev = ctest_events(t, "public.pt", 30000);
	n = ev->n;
	if (n == 1)
		ctest_assert_event(&ev->v[0], 'c', "public.pt", NULL, "{\"id\": 1, \"v\": \"kept\"}");
	ctest_events_free(ev);
	assert_int_equal(n, 1);
	assert_true(parse_lsn(keep(ctest_confirmed(t))) >= parse_lsn(first_end)); /* what Kafka has stays */
	assert_confirmed_at_most(t, mid);

	/* starting again without a person's help must not skip the transaction either */
	t->capture = ctest_spawn(t);
	assert_capture_exits(t, 2);
	ev = ctest_events(t, "public.pt", 30000);
	n = ev->n;
	ctest_events_free(ev);
	assert_int_equal(n, 1);
	assert_confirmed_at_most(t, mid);

	/* one line: what happened to which publication, and what to do */
	assert_line_in(first_log, t->publication,
	               (const char *const[]){"cleave capture:", "dropped", "recreate", NULL});
}

/* ---- 5. a slot invalidated by max_slot_wal_keep_size while capture was stopped ---- */

static void test_slot_invalidated(void **state)
{
	struct ctest *t = *state;
	const char *status_sql;
	const char *before;
	bool lost = false;

	ctest_init(t, "CREATE TABLE st (id int PRIMARY KEY, pad text)", "public.st", NULL, NULL);
	ctest_start(t);
	ctest_exec_and_wait(t, "INSERT INTO st VALUES (0, 'delivered')");
	assert_int_equal(ctest_stop(t), 0);
	before = keep(ctest_confirmed(t));

	pgtest_exec(t->pg, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
	pgtest_exec(t->pg, "SELECT pg_reload_conf()");
	status_sql = testenv_fmt("SELECT coalesce(wal_status, 'none') FROM pg_replication_slots WHERE slot_name = '%s'",
	                         t->slot);
	/* changes capture has not seen: they (and more WAL) push the slot's WAL out */
	for (int i = 1; i <= 20 && !lost; i++) {
		char *st;

		pgtest_exec(t->pg, "INSERT INTO st SELECT g, repeat('x', 200) FROM generate_series(%d, %d) g", i * 1000,
		            i * 1000 + 999);
		pgtest_exec(t->pg, "SELECT pg_switch_wal()");
		pgtest_exec(t->pg, "INSERT INTO st VALUES (%d, 'after the switch')", -i);
		pgtest_exec(t->pg, "CHECKPOINT");
		st = pgtest_value(t->pg, "%s", status_sql);
		lost = st && strcmp(st, "lost") == 0;
		free(st);
	}
	if (!lost)
		fail_msg("slot %s was not invalidated after 20 WAL switches and checkpoints", t->slot);

	t->capture = ctest_spawn(t);
	assert_capture_exits(t, 2);
	assert_string_equal(keep(ctest_confirmed(t)), before);
	assert_log_line(t, t->slot, (const char *const[]){"cleave capture:", "invalidated", "drop the slot", NULL});
}

/* ---- 6. the source is down at start: retry with backoff until SIGTERM ---- */

/* The delays of the "retrying in N ms" lines of log, in order (up to max). */
static size_t retry_delays(const char *log, long *out, size_t max)
{
	const char *p = log;
	size_t n = 0;

	while ((p = strstr(p, "retrying in ")) != NULL) {
		char *end;
		long ms = strtol(p + strlen("retrying in "), &end, 10);

		if (end != p + strlen("retrying in ") && n < max)
			out[n++] = ms;
		p += strlen("retrying in ");
	}
	return n;
}

static void test_source_down(void **state)
{
	struct ctest *t = *state;
	long delays[16];
	size_t n;
	char *log;

	ctest_init(t, "CREATE TABLE dt (id int PRIMARY KEY)", "public.dt", NULL, NULL);
	ctest_config_replace(t, testenv_fmt("port=%s", testenv_get("CLEAVE_TEST_PG_PORT")),
	                     testenv_fmt("port=%d", testenv_free_port()));
	t->capture = ctest_spawn(t);
	for (int i = 0; i < 3; i++) {
		if (!proc_poll_log(t->capture, "retrying in", 20000)) {
			proc_print_log(t->capture, 40);
			fail_msg("capture did not retry (attempt %d) within 20 s", i + 1);
		}
		proc_log_mark(t->capture);
	}
	assert_int_equal(proc_wait(t->capture, 0), -1); /* still running */
	log = ctest_read_file(proc_log_path(t->capture));
	n = retry_delays(log, delays, 16);
	free(log);
	assert_true(n >= 3);
	for (size_t i = 1; i < n; i++)
		if (delays[i] <= delays[i - 1] && delays[i] < 30000)
			fail_msg("retry %zu waits %ld ms after %ld ms: no backoff", i + 1, delays[i], delays[i - 1]);
	assert_int_equal(proc_stop(t->capture, 10000), 0);
	assert_int_equal(count_slots(t), 0);
	/* one log line says what failed and that it retries */
	assert_log_line(t, "retrying in", (const char *const[]){"WARN", "cannot connect", "Connection refused", NULL});
}

/* ---- 7. passwords never appear in logs or errors ---- */

/* true (after printing which) when the file shows a secret */
static bool shows_secret(const char *path, const char *what)
{
	char *text = ctest_read_file(path);
	bool leak = strstr(text, SECRET_PG) || strstr(text, SECRET_KAFKA);

	if (leak)
		fprintf(stderr, "%s (%s) shows the password:\n%s\n", what, path, text);
	free(text);
	return leak;
}

/* Asserts that neither secret occurs in the file. */
static void assert_no_secret(const char *path, const char *what)
{
	if (shows_secret(path, what))
		fail_msg("%s shows a secret", what);
}

/* Runs `cleave check` on t's config; returns its status and the path of its output. */
static int run_check(struct ctest *t, const char **out)
{
	const char *const argv[] = {CLEAVE_BIN, "check", "-c", t->config_path, NULL};

	return proc_run("check", argv, NULL, 60000, out);
}

/* Runs capture with the source down until it has retried, stops it and checks its whole log. */
static void run_capture_down(struct ctest *t)
{
	t->capture = ctest_spawn(t);
	if (!proc_poll_log(t->capture, "retrying in", 20000)) {
		proc_print_log(t->capture, 40);
		fail_msg("capture did not retry within 20 s");
	}
	assert_int_equal(proc_stop(t->capture, 10000), 0);
	assert_no_secret(proc_log_path(t->capture), "capture's log");
	forget_capture(t);
}

/* Runs capture until it has delivered one row, stops it and checks its whole log. */
static void run_capture_working(struct ctest *t, int row)
{
	ctest_start(t);
	ctest_exec_and_wait(t, testenv_fmt("INSERT INTO sec VALUES (%d, 'row')", row));
	assert_int_equal(proc_stop(t->capture, 60000), 0);
	assert_no_secret(proc_log_path(t->capture), "capture's log");
	forget_capture(t);
}

/* Points the config's source.dsn (now `*cur`) at `next`. */
static void set_dsn(struct ctest *t, const char **cur, const char *next)
{
	ctest_config_replace(t, testenv_fmt("dsn: \"%s\"", *cur), testenv_fmt("dsn: \"%s\"", next));
	*cur = next;
}

static void test_secrets_hidden(void **state)
{
	struct ctest *t = *state;
	const char *dsn, *out, *port = testenv_get("CLEAVE_TEST_PG_PORT");
	char *text;
	bool redacted;
	int down = testenv_free_port();

	ctest_init(t, "CREATE TABLE sec (id int PRIMARY KEY, v text)", "public.sec", NULL,
	           "    sasl.username: cleave\n    sasl.password: " SECRET_KAFKA "\n    debug: conf\n");
	dsn = pgtest_dsn(t->db);
	ctest_config_replace(t, "level: info", "level: debug");

	/* key=value DSN with a password (trust auth accepts and ignores it), capture logging at debug level */
	set_dsn(t, &dsn, testenv_fmt("%s password=" SECRET_PG, dsn));
	run_capture_working(t, 1);
	assert_int_equal(run_check(t, &out), 0);
	assert_no_secret(out, "cleave check's output");
	text = ctest_read_file(out);
	redacted = strstr(text, "password=***") != NULL;
	free(text);
	assert_true(redacted);

	/* the source down: libpq's errors in the retry log and in check's FAIL line */
	set_dsn(t, &dsn, testenv_fmt("host=127.0.0.1 port=%d user=postgres password=" SECRET_PG " dbname=%s", down,
	                             t->db));
	run_capture_down(t);
	assert_int_equal(run_check(t, &out), 1);
	assert_no_secret(out, "cleave check's output");

	/* the same as URLs */
	set_dsn(t, &dsn, testenv_fmt("postgresql://postgres:" SECRET_PG "@127.0.0.1:%s/%s", port, t->db));
	run_capture_working(t, 2);
	assert_int_equal(run_check(t, &out), 0);
	assert_no_secret(out, "cleave check's output");
	set_dsn(t, &dsn, testenv_fmt("postgresql://postgres:" SECRET_PG "@127.0.0.1:%d/%s", down, t->db));
	run_capture_down(t);
	assert_int_equal(run_check(t, &out), 1);
	assert_no_secret(out, "cleave check's output");

	/* a config error about the DSN */
	set_dsn(t, &dsn, "mysql://root:" SECRET_PG "@127.0.0.1:3306/monolith");
	t->capture = ctest_spawn(t);
	assert_capture_exits(t, 2);
	assert_log_line(t, "source.dsn", (const char *const[]){"cleave: ", "PostgreSQL", NULL});
	assert_no_secret(proc_log_path(t->capture), "capture's error");
	forget_capture(t);
	assert_int_equal(run_check(t, &out), 2);
	assert_no_secret(out, "cleave check's error");
}

/* libpq quotes a DSN it cannot parse in its error message: cleave must not pass that on */
static void test_secrets_hidden_malformed_dsn(void **state)
{
	struct ctest *t = *state;
	const char *port = testenv_get("CLEAVE_TEST_PG_PORT");
	const char *dsn, *bad[2];
	int leaks = 0;

	ctest_init(t, "CREATE TABLE sec (id int PRIMARY KEY, v text)", "public.sec", NULL, NULL);
	dsn = pgtest_dsn(t->db);
	/* a bracket not closed; a bad %-escape in the password */
	bad[0] = testenv_fmt("postgresql://postgres:" SECRET_PG "@[127.0.0.1:%s/%s", port, t->db);
	bad[1] = testenv_fmt("postgresql://postgres:" SECRET_PG "%%zz@127.0.0.1:%s/%s", port, t->db);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *out;
		int st;

		set_dsn(t, &dsn, bad[i]);
		assert_int_equal(run_check(t, &out), 1);
		leaks += shows_secret(out, testenv_fmt("cleave check's output for bad DSN %zu", i + 1));
		/* capture fails or retries: either way it says so without the secret */
		t->capture = ctest_spawn(t);
		if (!proc_poll_log(t->capture, "cannot connect", 20000) && proc_wait(t->capture, 0) < 0) {
			proc_print_log(t->capture, 40);
			fail_msg("capture said nothing about bad DSN %zu within 20 s", i + 1);
		}
		st = proc_stop(t->capture, 10000);
		assert_true(st == 0 || st == 2);
		leaks += shows_secret(proc_log_path(t->capture), testenv_fmt("capture's log for bad DSN %zu", i + 1));
		forget_capture(t);
	}
	assert_int_equal(leaks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_table, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_no_key, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_types, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_publication_dropped, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_slot_invalidated, ctest_setup, keep_size_teardown),
		cmocka_unit_test_setup_teardown(test_source_down, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_secrets_hidden, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_secrets_hidden_malformed_dsn, ctest_setup, ctest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
