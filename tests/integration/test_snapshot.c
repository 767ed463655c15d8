/* test_snapshot.c: source.snapshot: initial (SPEC.md §2, docs/capture.md "Snapshots"), end to end through
 * capture and sinks, each under a concurrent workload that updates, deletes, inserts and moves (primary-key
 * change) rows of the copied table from a child process with its own connection:
 *  - the initial snapshot of 100,000 pre-existing rows into a PostgreSQL and a MariaDB target;
 *  - the same with capture SIGKILLed in the middle of the snapshot (after Kafka holds a progress record
 *    with a last key, before it holds "done": Kafka is slowed down for it) and started again: the copy
 *    resumes while streaming, with watermarks;
 *  - a table added to source.tables of a running deployment (capture restarted with the new config) is
 *    copied while streaming, while the workload changes it;
 *  - `cleave snapshot --table` copies a table again while streaming (target rows deleted behind the sink's
 *    back come back), requested while capture is stopped.
 * Each ends with the targets equal to the source, compared by independent SQL (sinktest's stest_same).
 * Topics get 16 partitions: the mock keeps at most 5 MB per partition. The tests inject latency with mockctl:
 * they skip themselves against a real broker. The file takes ~1-2 min (ASan, 2 cores); one test:
 * CLEAVE_TEST_FILTER=test_table_added tests/run.sh -R integration.test_snapshot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "tests/support/capturetest.h"
#include "tests/support/kafkatest.h"
#include "tests/support/mockctl.h"
#include "tests/support/pgtest.h"
#include "tests/support/proc.h"
#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#ifndef CLEAVE_BIN
#error "CLEAVE_BIN must name the cleave binary under test"
#endif

#define SN_ROWS 100000
#define SN_PARTITIONS 16
#define SN_START_MS 120000 /* capture copying 100,000 rows before it streams (ASan, 2 cores) */
#define SN_DONE_MS 240000  /* a copy while streaming */
#define SN_SAME_MS 240000  /* sinks catching up */

/* A table items-like: id bigint primary key, ver, amount, pad; n rows; new ids from <name>_new. */
static const char *sn_table_sql(const char *name, int n)
{
	return testenv_fmt("CREATE TABLE %s (id bigint PRIMARY KEY, ver integer NOT NULL, amount numeric(12,2),"
	                   " pad text);"
	                   "INSERT INTO %s SELECT g, 0, g * 1.5, md5(g::text) FROM generate_series(1, %d) g;"
	                   "CREATE SEQUENCE %s_new START 1000001;",
	                   name, name, n, name);
}

static const char *sn_sink_yaml(const char *name, bool pg, const char *tables_yaml)
{
	return testenv_fmt("  - name: %s\n"
	                   "    type: %s\n"
	                   "    dsn: \"%s\"\n"
	                   "    create_tables: true\n"
	                   "    mappings:\n"
	                   "%s",
	                   name, pg ? "postgres" : "mysql", pg ? "${PG_TARGET_DSN}" : "${MYSQL_TARGET_DSN}", tables_yaml);
}

/* ---- the workload: a child process with its own connection, until SIGTERM ---- */

static volatile sig_atomic_t sn_wl_stopping;

static void sn_wl_on_term(int sig)
{
	(void)sig;
	sn_wl_stopping = 1;
}

/* One transaction: 20 updates, 2 deletes, 3 inserts and one primary-key change, at random ids. */
static int sn_wl_batch(PGconn *c, const char *table, int maxid)
{
	const char *sql = testenv_fmt(
		"BEGIN;"
		"UPDATE %1$s SET ver = ver + 1, amount = amount + 1"
		" WHERE id IN (SELECT 1 + (random() * %2$d)::int FROM generate_series(1, 20));"
		"DELETE FROM %1$s WHERE id IN (SELECT 1 + (random() * %2$d)::int FROM generate_series(1, 2));"
		"INSERT INTO %1$s (id, ver, amount, pad) SELECT nextval('%1$s_new'), 0, 0, 'new' FROM generate_series(1, 3);"
		"UPDATE %1$s SET id = nextval('%1$s_new'), ver = ver + 1 WHERE id = (SELECT 1 + (random() * %2$d)::int);"
		"COMMIT",
		table, maxid);
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "workload on %s: %s", table, PQerrorMessage(c));
	PQclear(res);
	return ok ? 0 : -1;
}

static pid_t sn_wl_start(const char *db, const char *table, int maxid)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		PGconn *c;
		int rc = 0;

		signal(SIGTERM, sn_wl_on_term);
		c = PQconnectdb(pgtest_dsn(db));
		if (PQstatus(c) != CONNECTION_OK)
			_exit(2);
		while (!sn_wl_stopping && rc == 0) {
			struct timespec ts = {0, 5 * 1000000L}; /* leaves the two cores to capture and the sinks */

			rc = sn_wl_batch(c, table, maxid);
			nanosleep(&ts, NULL);
		}
		PQfinish(c);
		_exit(rc == 0 ? 0 : 1);
	}
	return pid;
}

static void sn_wl_stop(pid_t pid)
{
	int status = 0;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- helpers ---- */

static void sn_wait_log(struct proc *p, const char *what, int timeout_ms)
{
	if (!proc_poll_log(p, what, timeout_ms)) {
		proc_print_log(p, 60);
		fail_msg("capture did not log \"%s\" within %d ms", what, timeout_ms);
	}
}

/* Whether the control topic holds a record of `table` whose value contains `needle`. */
static bool sn_control_has(struct ctest *t, const char *table, const char *needle)
{
	struct ktest_msgs *m = kafkatest_consume_to_end(testenv_fmt("%s._snapshots", t->prefix), 30000);
	bool found = false;

	for (size_t i = 0; i < m->n && !found; i++)
		found = m->v[i].key && m->v[i].value && m->v[i].key_len == strlen(table) &&
		        memcmp(m->v[i].key, table, m->v[i].key_len) == 0 &&
		        memmem(m->v[i].value, m->v[i].value_len, needle, strlen(needle)) != NULL;
	ktest_msgs_free(m);
	return found;
}

static void sn_init(struct stest *t, const char *setup_sql, const char *tables, const char *sinks_yaml,
                    const char *kafka_props)
{
	testenv_require_mock();
	stest_init_ex(t, setup_sql, tables, sinks_yaml, NULL, kafka_props);
	ctest_config_replace(&t->c, "snapshot: never", "snapshot: initial");
}

/* ---- tests ---- */

/* 100,000 rows copied under the slot's exported snapshot while the workload changes them. */
static void test_initial_under_load(void **state)
{
	struct stest t;
	pid_t wl;
	char *log;

	(void)state;
	sn_init(&t, sn_table_sql("items", SN_ROWS), "public.items",
	        testenv_fmt("sinks:\n%s%s", sn_sink_yaml("snpg", true, "      - source: public.items\n        target: items\n"),
	                    sn_sink_yaml("snmy", false, "      - source: public.items\n        target: items\n")),
	        NULL);
	mockctl_ok("topic %s %d", ctest_topic(&t.c, "public.items"), SN_PARTITIONS);
	wl = sn_wl_start(t.c.db, "items", SN_ROWS);
	t.c.capture = ctest_spawn(&t.c);
	sn_wait_log(t.c.capture, "slot's exported snapshot", SN_START_MS);
	sn_wait_log(t.c.capture, "snapshot: done", SN_START_MS);
	sn_wait_log(t.c.capture, "streaming publication", SN_START_MS);
	stest_start_sink(&t, "snpg");
	stest_start_sink(&t, "snmy");
	/* the workload goes on while capture streams what changed during the copy */
	ctest_exec_and_wait(&t.c, "SELECT 1");
	sn_wl_stop(wl);
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, SN_SAME_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, SN_SAME_MS));
	/* everything was copied in the initial snapshot: nothing is copied while streaming */
	log = ctest_read_file(proc_log_path(t.c.capture));
	assert_null(strstr(log, "while streaming"));
	free(log);
	assert_true(sn_control_has(&t.c, "public.items", "\"done\""));
	stest_fini(&t);
}

/* Capture SIGKILLed in the middle of the initial snapshot, then started again: the copy resumes after the
 * last key written down, while streaming, and the target ends equal to the source. */
static void test_killed_mid_snapshot(void **state)
{
	struct stest t;
	int64_t deadline;
	pid_t wl;
	char *log;

	(void)state;
	/* a small producer queue and slow brokers: the copy takes long enough to be killed in its middle */
	sn_init(&t, sn_table_sql("items", SN_ROWS), "public.items",
	        testenv_fmt("sinks:\n%s", sn_sink_yaml("snpg", true, "      - source: public.items\n        target: items\n")),
	        "    queue.buffering.max.messages: 2000\n");
	mockctl_ok("topic %s %d", ctest_topic(&t.c, "public.items"), SN_PARTITIONS);
	for (int b = 1; b <= 3; b++)
		mockctl_ok("rtt %d 100", b);
	wl = sn_wl_start(t.c.db, "items", SN_ROWS);
	t.c.capture = ctest_spawn(&t.c);
	sn_wait_log(t.c.capture, "slot's exported snapshot", SN_START_MS);
	deadline = clock_mono_ms() + SN_START_MS;
	while (!sn_control_has(&t.c, "public.items", "\"last_key\":[")) {
		if (clock_mono_ms() > deadline) {
			proc_print_log(t.c.capture, 40);
			fail_msg("no snapshot progress record in Kafka");
		}
	}
	ctest_kill(&t.c);
	for (int b = 1; b <= 3; b++)
		mockctl_ok("rtt %d 0", b);
	/* killed in the middle: the copy had not finished */
	assert_false(sn_control_has(&t.c, "public.items", "\"done\""));
	ctest_config_replace(&t.c, "queue.buffering.max.messages: 2000", "queue.buffering.max.messages: 100000");

	ctest_start(&t.c);
	sn_wait_log(t.c.capture, "snapshot: done", SN_DONE_MS);
	log = ctest_read_file(proc_log_path(t.c.capture));
	assert_non_null(strstr(log, "resuming it after the last key written down while streaming"));
	assert_non_null(strstr(log, "rows copied while streaming"));
	free(log);
	stest_start_sink(&t, "snpg");
	ctest_exec_and_wait(&t.c, "SELECT 1");
	sn_wl_stop(wl);
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, SN_SAME_MS));
	assert_true(sn_control_has(&t.c, "public.items", "\"done\""));
	stest_fini(&t);
}

/* A table added to source.tables of a running deployment is copied while streaming, under updates. */
static void test_table_added(void **state)
{
	const char *map_a = "      - source: public.a\n        target: a\n";
	const char *map_b = "      - source: public.b\n        target: b\n";
	struct ctest_events *ev;
	struct stest t;
	pid_t wla, wlb;
	char *log;

	(void)state;
	sn_init(&t, testenv_fmt("%s%s", sn_table_sql("a", 2000), sn_table_sql("b", 30000)), "public.a",
	        testenv_fmt("sinks:\n%s", sn_sink_yaml("snpg", true, map_a)), NULL);
	mockctl_ok("topic %s %d", ctest_topic(&t.c, "public.a"), SN_PARTITIONS);
	mockctl_ok("topic %s %d", ctest_topic(&t.c, "public.b"), SN_PARTITIONS);
	ctest_start(&t.c);
	stest_start_sink(&t, "snpg");
	assert_true(stest_wait_same(&t, STEST_PG, "public.a", "a", NULL, SN_SAME_MS));
	/* the initial copy: one op r event per row, in key order, positioned below the consistent point */
	ev = ctest_events_wait(&t.c, "public.a", 2000, 60000);
	assert_int_equal(ev->n, 2000);
	for (size_t i = 0; i < ev->n; i++) {
		json_t *src = json_object_get(ev->v[i].value, "source");

		assert_string_equal(json_string_value(json_object_get(ev->v[i].value, "op")), "r");
		assert_string_equal(json_string_value(json_object_get(src, "snapshot")), "true");
		assert_int_equal(json_integer_value(json_object_get(src, "seq")), (long long)i);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(ev->v[i].value, "after"), "id")),
		                 (long long)i + 1);
		assert_true(json_equal(json_object_get(ev->v[i].key, "id"),
		                       json_object_get(json_object_get(ev->v[i].value, "after"), "id")));
		assert_int_equal(json_integer_value(json_object_get(src, "commit_lsn")),
		                 json_integer_value(json_object_get(json_object_get(ev->v[0].value, "source"), "commit_lsn")));
	}
	ctest_events_free(ev);

	/* b joins source.tables and the sink's mappings; capture and the sink restart with the new config,
	 * under changes of both tables */
	wla = sn_wl_start(t.c.db, "a", 2000);
	wlb = sn_wl_start(t.c.db, "b", 30000);
	assert_int_equal(ctest_stop(&t.c), 0);
	ctest_config_replace(&t.c, "tables: [public.a]", "tables: [public.a, public.b]");
	ctest_config_replace(&t.c, map_a, testenv_fmt("%s%s", map_a, map_b));
	assert_int_equal(stest_stop_sink(&t, "snpg"), 0);
	ctest_start(&t.c);
	stest_start_sink(&t, "snpg");
	sn_wait_log(t.c.capture, "rows copied while streaming", SN_DONE_MS);
	log = ctest_read_file(proc_log_path(t.c.capture));
	assert_non_null(strstr(log, "public.b has no snapshot record"));
	assert_null(strstr(log, "public.a has no snapshot record"));
	free(log);
	ctest_exec_and_wait(&t.c, "SELECT 1");
	sn_wl_stop(wla);
	sn_wl_stop(wlb);
	assert_true(stest_wait_same(&t, STEST_PG, "public.b", "b", NULL, SN_SAME_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.a", "a", NULL, SN_SAME_MS));
	stest_fini(&t);
}

/* `cleave snapshot --table` exit code (its output, printed when it is not `want`). */
static int sn_request(struct stest *t, const char *table, int want)
{
	const char *argv[] = {CLEAVE_BIN, "snapshot", "-c", t->c.config_path, "--table", table, NULL};
	const char *log = NULL;
	int rc = proc_run("snapshot", argv, NULL, 60000, &log);

	if (rc != want) {
		char *text = ctest_read_file(log);

		print_error("cleave snapshot --table %s exited %d, expected %d:\n%s\n", table, rc, want, text);
		free(text);
	}
	return rc;
}

/* Whether the last record of `table` in the control topic contains `needle`. */
static bool sn_control_last_has(struct ctest *t, const char *table, const char *needle)
{
	struct ktest_msgs *m = kafkatest_consume_to_end(testenv_fmt("%s._snapshots", t->prefix), 30000);
	bool found = false;

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].key && m->v[i].key_len == strlen(table) && memcmp(m->v[i].key, table, m->v[i].key_len) == 0)
			found = m->v[i].value && memmem(m->v[i].value, m->v[i].value_len, needle, strlen(needle)) != NULL;
	ktest_msgs_free(m);
	return found;
}

/* `cleave status --json`: the state of table's snapshot record ("done", "running", "none"). */
static char *sn_status_state(struct stest *t, const char *table)
{
	const char *argv[] = {CLEAVE_BIN, "status", "-c", t->c.config_path, "--json", NULL};
	const char *log = NULL;
	char *text, *state = NULL;
	const json_t *sn;
	json_t *doc;
	size_t i;

	assert_int_equal(proc_run("status", argv, NULL, 60000, &log), 0);
	text = ctest_read_file(log);
	doc = strstr(text, "\n{") ? json_loads(strstr(text, "\n{") + 1, 0, NULL) : json_loads(text, 0, NULL);
	if (!doc)
		fail_msg("no JSON in the output of cleave status:\n%s", text);
	json_array_foreach(json_object_get(doc, "snapshots"), i, sn) {
		if (strcmp(json_string_value(json_object_get(sn, "table")), table) == 0)
			state = strdup(json_string_value(json_object_get(sn, "state")));
	}
	json_decref(doc);
	free(text);
	return state;
}

/* `cleave snapshot --table`: a table whose target lost rows and values is copied again while streaming,
 * under a workload; the request is made while capture is stopped and waits for it in the WAL. */
static void test_snapshot_command(void **unused)
{
	const char *map_a = "      - source: public.a\n        target: a\n";
	struct stest t;
	int64_t deadline;
	pid_t wl;
	char *log, *state;

	(void)unused;
	/* nk: no key, copied only in the initial snapshot */
	sn_init(&t,
	        testenv_fmt("%sCREATE TABLE nk (x integer, y text); ALTER TABLE nk REPLICA IDENTITY FULL;"
	                    "INSERT INTO nk VALUES (1, 'one');",
	                    sn_table_sql("a", 3000)),
	        "public.a, public.nk", testenv_fmt("sinks:\n%s", sn_sink_yaml("snpg", true, map_a)), NULL);
	mockctl_ok("topic %s %d", ctest_topic(&t.c, "public.a"), SN_PARTITIONS);
	/* no slot yet: nothing is requested */
	assert_int_equal(sn_request(&t, "public.a", 2), 2);
	ctest_start(&t.c);
	stest_start_sink(&t, "snpg");
	assert_true(stest_wait_same(&t, STEST_PG, "public.a", "a", NULL, SN_SAME_MS));
	assert_int_equal(sn_request(&t, "public.nope", 2), 2);
	assert_int_equal(sn_request(&t, "public.nk", 2), 2);
	/* the same request written by hand: capture skips it and goes on streaming */
	ctest_exec_and_wait(&t.c, testenv_fmt("SELECT pg_logical_emit_message(true, 'cleave', 'snap:%s:public.nk')",
	                                      t.c.slot));
	sn_wait_log(t.c.capture, "public.nk: a copy was requested (cleave snapshot), but the table has no primary key",
	            SN_DONE_MS);
	assert_int_equal(proc_wait(t.c.capture, 0), -1); /* still running */
	/* the target loses rows and a value behind the sink's back */
	pgtest_exec(t.pg, "DELETE FROM a WHERE id %% 10 = 3; UPDATE a SET pad = 'lost' WHERE id = 7");
	assert_false(stest_same(&t, STEST_PG, "public.a", "a", NULL, false));
	assert_int_equal(ctest_stop(&t.c), 0);
	assert_int_equal(sn_request(&t, "a", 0), 0); /* "a": public.a */
	wl = sn_wl_start(t.c.db, "a", 3000);
	ctest_start(&t.c);
	sn_wait_log(t.c.capture, "rows copied while streaming", SN_DONE_MS);
	log = ctest_read_file(proc_log_path(t.c.capture));
	assert_non_null(strstr(log, "public.a: a snapshot was requested (cleave snapshot)"));
	free(log);
	ctest_exec_and_wait(&t.c, "SELECT 1");
	sn_wl_stop(wl);
	assert_true(stest_wait_same(&t, STEST_PG, "public.a", "a", NULL, SN_SAME_MS));
	assert_true(sn_control_has(&t.c, "public.a", "\"done\""));
	state = sn_status_state(&t, "public.a");
	assert_string_equal(state, "done");
	free(state);

	/* again, capture SIGKILLed once it has read the request (before or after its record reached Kafka,
	 * during or after the copy): the restarted capture reads the request again or resumes from the record;
	 * the rows come back all the same */
	pgtest_exec(t.pg, "DELETE FROM a WHERE id %% 10 = 4");
	assert_false(stest_same(&t, STEST_PG, "public.a", "a", NULL, false));
	proc_log_mark(t.c.capture);
	assert_int_equal(sn_request(&t, "public.a", 0), 0);
	sn_wait_log(t.c.capture, "public.a: a snapshot was requested (cleave snapshot)", SN_DONE_MS);
	ctest_kill(&t.c);
	ctest_start(&t.c);
	deadline = clock_mono_ms() + SN_DONE_MS;
	while (!sn_control_last_has(&t.c, "public.a", "\"done\"") ||
	       !stest_same(&t, STEST_PG, "public.a", "a", NULL, false)) {
		if (clock_mono_ms() > deadline) {
			proc_print_log(t.c.capture, 40);
			fail_msg("the copy requested before the kill did not complete");
		}
	}
	assert_true(stest_wait_same(&t, STEST_PG, "public.a", "a", NULL, SN_SAME_MS));
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_under_load),
		cmocka_unit_test(test_killed_mid_snapshot),
		cmocka_unit_test(test_table_added),
		cmocka_unit_test(test_snapshot_command),
	};

	/* e.g. CLEAVE_TEST_FILTER=test_table_added: one test (cmocka's * and ? wildcards) */
	if (getenv("CLEAVE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CLEAVE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
