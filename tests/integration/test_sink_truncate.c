/* test_sink_truncate.c: TRUNCATE with a topic's partitions split over two processes of one sink (capture
 * sends the truncate to every partition; each process records its partitions' arrivals in the target, the
 * last arrival empties the table, the others wait for it), into a PostgreSQL and a MariaDB target:
 * - both processes alive: a truncate, then rows inserted and updated after it on every partition: the
 *   target holds exactly the source's rows afterwards (nothing written after the truncate deleted,
 *   nothing from before it kept);
 * - one process SIGKILLed right after a truncate, more rows after it: the other takes its partitions over,
 *   finds the arrivals already stored, completes the barrier, and the target equals the source;
 * - one process stopped (SIGSTOP) while a truncate and many rows after it arrive: the other's partitions
 *   wait at the truncate without fetching what follows (they are paused, so memory stays bounded however
 *   long the wait), and go on once the stopped process continues and completes the truncate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#define WAIT_MS 90000

#define ITEMS_TABLE "CREATE TABLE items (id integer PRIMARY KEY, v text)"

static bool log_has(struct proc *p, const char *text)
{
	char *log = ctest_read_file(proc_log_path(p));
	bool found = strstr(log, text) != NULL;

	free(log);
	return found;
}

/* Starts a second process of sink `name` beside a (stest runs one process per sink name: the second one is
 * the test's own) and waits until they share the 4 partitions, two each. */
static struct proc *second_process(struct stest *t, struct proc *a, const char *name)
{
	const char *argv[] = {CLEAVE_BIN, "sink", "-c", t->c.config_path, "--sink", name, NULL};
	struct proc *b;

	proc_log_mark(a);
	b = proc_spawn(testenv_fmt("sink_%s_second", name), argv, NULL);
	if (!proc_poll_log(b, "assigned 2 partitions", WAIT_MS) || !proc_poll_log(a, "assigned 2 partitions", WAIT_MS)) {
		stest_print_logs(t, 30);
		proc_print_log(b, 30);
		fail_msg("the two processes did not share the partitions");
	}
	return b;
}

static void truncate_two_processes(enum stest_engine engine)
{
	struct stest t;
	struct proc *a, *b;

	stest_init(&t, ITEMS_TABLE, "public.items",
	           testenv_fmt("sinks:\n"
	                       "  - name: tr\n"
	                       "    type: %s\n"
	                       "    dsn: \"%s\"\n"
	                       "    create_tables: true\n"
	                       "    mappings:\n"
	                       "      - source: public.items\n",
	                       engine == STEST_PG ? "postgres" : "mysql",
	                       engine == STEST_PG ? "${PG_TARGET_DSN}" : "${MYSQL_TARGET_DSN}"));
	stest_start_capture(&t);
	a = stest_start_sink(&t, "tr");
	ctest_exec_and_wait(&t.c, "INSERT INTO items SELECT g, 'streamed ' || g FROM generate_series(1, 800) g");
	assert_true(stest_wait_same(&t, engine, "public.items", "items", NULL, WAIT_MS));

	b = second_process(&t, a, "tr");

	/* both alive: the truncate completes in one of them, the other waits for it */
	ctest_exec_and_wait(&t.c, "TRUNCATE items;"
	                          "INSERT INTO items SELECT g, 'after ' || g FROM generate_series(1001, 1400) g;"
	                          "UPDATE items SET v = 'updated' WHERE id % 7 = 0");
	assert_true(stest_wait_same(&t, engine, "public.items", "items", NULL, WAIT_MS));
	assert_true(log_has(a, "truncated (all 4 partitions") || log_has(b, "truncated (all 4 partitions"));

	/* one killed around the next truncate: the other completes it */
	ctest_exec_and_wait(&t.c, "TRUNCATE items;"
	                          "INSERT INTO items SELECT g, 'after kill ' || g FROM generate_series(2001, 2400) g");
	proc_kill(b, SIGKILL);
	assert_int_equal(proc_wait(b, WAIT_MS), 128 + SIGKILL);
	proc_free(b);
	ctest_exec_and_wait(&t.c, "INSERT INTO items SELECT g, 'later ' || g FROM generate_series(3001, 3100) g;"
	                          "DELETE FROM items WHERE id % 10 = 1");
	assert_true(stest_wait_same(&t, engine, "public.items", "items", NULL, WAIT_MS));
	if (engine == STEST_PG)
		assert_int_equal(pgtest_value_int(t.pg, "SELECT count(*) FROM items"), 450);
	stest_fini(&t);
}

/* The "goes on after the truncate (N messages were held back)" lines in p's log: how many there are; *max
 * is raised to the largest N. */
static int held_back(struct proc *p, size_t *max)
{
	static const char line[] = "goes on after the truncate (";
	char *log = ctest_read_file(proc_log_path(p)), *at = log;
	int lines = 0;

	while ((at = strstr(at, line)) != NULL) {
		size_t n = (size_t)strtoull(at + sizeof line - 1, NULL, 10);

		if (n > *max)
			*max = n;
		lines++;
		at++;
	}
	free(log);
	return lines;
}

static void test_truncate_paused_while_waiting(void **state)
{
	struct stest t;
	struct proc *a, *b;
	size_t max = 0;
	int lines;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items",
	           "sinks:\n"
	           "  - name: tw\n"
	           "    type: postgres\n"
	           "    dsn: \"${PG_TARGET_DSN}\"\n"
	           "    create_tables: true\n"
	           "    mappings:\n"
	           "      - source: public.items\n");
	stest_start_capture(&t);
	a = stest_start_sink(&t, "tw");
	ctest_exec_and_wait(&t.c, "INSERT INTO items SELECT g, 'before ' || g FROM generate_series(1, 400) g");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	b = second_process(&t, a, "tw");

	/* b cannot reach the truncate: a's partitions wait there while 20,000 rows follow it in Kafka (about
	 * 5,000 a partition; without the pause, a would take them all into memory) */
	proc_kill(b, SIGSTOP);
	ctest_exec_and_wait(&t.c, "TRUNCATE items;"
	                          "INSERT INTO items SELECT g, 'after ' || g FROM generate_series(1001, 21000) g");
	if (!proc_poll_log(a, "reached a truncate", WAIT_MS)) {
		proc_kill(b, SIGCONT);
		stest_print_logs(&t, 30);
		fail_msg("the running process did not reach the truncate");
	}
	proc_kill(b, SIGCONT);
	ctest_exec_and_wait(&t.c, "UPDATE items SET v = 'updated' WHERE id % 7 = 0");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_int_equal(pgtest_value_int(t.pg, "SELECT count(*) FROM items"), 20000);

	/* every partition that waited held back at most the one message it was polled with (0 when it
	 * paused at the truncate itself, 1 when it found the truncate pending after a rebalance) */
	lines = held_back(a, &max);
	held_back(b, &max);
	print_message("%d partitions of the running process went on after the truncate; the most any partition"
	              " held back: %zu messages\n", lines, max);
	assert_true(lines >= 2); /* its own two, released by the other process (or by itself after a rebalance) */
	assert_true(max <= 1);
	proc_stop(b, WAIT_MS);
	proc_free(b);
	stest_fini(&t);
}

static void test_truncate_pg(void **state)
{
	(void)state;
	truncate_two_processes(STEST_PG);
}

static void test_truncate_mysql(void **state)
{
	(void)state;
	truncate_two_processes(STEST_MYSQL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_truncate_pg),
	        cmocka_unit_test(test_truncate_mysql),
	        cmocka_unit_test(test_truncate_paused_while_waiting),
	};

	/* e.g. CLEAVE_TEST_FILTER=test_truncate_paused_while_waiting: one test */
	if (getenv("CLEAVE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CLEAVE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
