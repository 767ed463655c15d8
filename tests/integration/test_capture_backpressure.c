/* test_capture_backpressure.c: while Kafka is down and librdkafka's queue is full, capture stops reading
 * the replication stream but keeps its connection alive: with wal_sender_timeout far shorter than the
 * outage, the same walsender serves capture before and after, nothing is confirmed during the outage, and
 * every row arrives afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/capturetest.h"
#include "tests/support/mockctl.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

#define ROWS 5000
#define BROKERS 3

static int set_short_sender_timeout(void **state)
{
	PGconn *c = pgtest_connect(NULL);

	(void)state;
	pgtest_exec(c, "ALTER SYSTEM SET wal_sender_timeout = '2s'");
	pgtest_exec(c, "SELECT pg_reload_conf()");
	PQfinish(c);
	return 0;
}

static int reset_sender_timeout(void **state)
{
	PGconn *c = pgtest_connect(NULL);

	(void)state;
	pgtest_exec(c, "ALTER SYSTEM RESET wal_sender_timeout");
	pgtest_exec(c, "SELECT pg_reload_conf()");
	PQfinish(c);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_outage_keeps_connection(void **state)
{
	struct ctest t;
	struct ctest_events *ev;
	char *pid_before, *pid_after, *before, *end, *log;
	int seen[ROWS + 1] = {0};

	(void)state;
	testenv_require_mock();
	ctest_init(&t, "CREATE TABLE items (id int PRIMARY KEY, note text)", "public.items", NULL,
	           /* a small local queue: capture has to stop reading long before the rows are all read */
	           "    queue.buffering.max.messages: 500\n");
	ctest_start(&t);
	ctest_exec_and_wait(&t, "INSERT INTO items VALUES (0, 'warm up')");
	pid_before = pgtest_value(t.pg, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '%s'", t.slot);

	for (int b = 1; b <= BROKERS; b++)
		mockctl_ok("down %d", b);
	/* idle keepalives may still move the slot up to here, never past the rows below */
	before = ctest_wal_lsn(&t);
	pgtest_exec(t.pg, "INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, %d) g", ROWS);
	end = ctest_wal_lsn(&t);
	/* The outage lasts five times wal_sender_timeout. Its length is the point of the test, so it is a
	 * fixed wait; what is asserted is checked every 200 ms during it: nothing is confirmed past the rows
	 * that Kafka could not acknowledge. */
	for (int i = 0; i < 50; i++) {
		char *ok = pgtest_value(t.pg, "SELECT confirmed_flush_lsn <= '%s' FROM pg_replication_slots"
		                              " WHERE slot_name = '%s'", before, t.slot);

		assert_string_equal(ok, "t");
		free(ok);
		sleep_ms(200);
	}
	for (int b = 1; b <= BROKERS; b++)
		mockctl_ok("up %d", b);
	assert_true(ctest_wait_confirmed(&t, end, 120000));
	pid_after = pgtest_value(t.pg, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '%s'", t.slot);
	/* the same walsender: the replication connection survived the outage */
	assert_string_equal(pid_before, pid_after);

	ev = ctest_events(&t, "public.items", 60000);
	for (size_t i = 0; i < ev->n; i++) {
		json_t *after = json_object_get(ev->v[i].value, "after");
		json_int_t id = json_integer_value(json_object_get(after, "id"));

		assert_true(id >= 0 && id <= ROWS);
		seen[id]++;
	}
	for (int id = 0; id <= ROWS; id++)
		if (seen[id] != 1)
			fail_msg("row %d arrived %d times", id, seen[id]);
	ctest_events_free(ev);

	/* no reconnect happened either */
	log = ctest_read_file(proc_log_path(t.capture));
	assert_null(strstr(log, "retrying"));
	free(log);
	assert_int_equal(ctest_stop(&t), 0);
	free(pid_before);
	free(pid_after);
	free(before);
	free(end);
	ctest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outage_keeps_connection, set_short_sender_timeout,
		                                reset_sender_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
