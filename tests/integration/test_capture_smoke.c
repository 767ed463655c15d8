/* test_capture_smoke.c: the shortest path through capture: one insert, update and delete of a two-column
 * table arrive as exactly the expected events, and SIGTERM exits 0 with everything confirmed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "tests/support/capturetest.h"
#include "tests/support/pgtest.h"

static void test_insert_update_delete(void **state)
{
	struct ctest t;
	struct ctest_events *ev;
	char *lsn;

	(void)state;
	ctest_init(&t, "CREATE TABLE users (id bigint PRIMARY KEY, name text)", "public.users", NULL, NULL);
	ctest_start(&t);
	ctest_exec_and_wait(&t, "INSERT INTO users VALUES (1, 'Ann'); UPDATE users SET name = 'Anne' WHERE id = 1;"
	                        " DELETE FROM users WHERE id = 1");
	ev = ctest_events_wait(&t, "public.users", 4, 30000);
	assert_int_equal(ev->n, 4);
	ctest_assert_event(&ev->v[0], 'c', "public.users", NULL, "{\"id\": 1, \"name\": \"Ann\"}");
	ctest_assert_json(ev->v[0].key, "{\"id\": 1}");
	ctest_assert_event(&ev->v[1], 'u', "public.users", NULL, "{\"id\": 1, \"name\": \"Anne\"}");
	ctest_assert_event(&ev->v[2], 'd', "public.users", "{\"id\": 1, \"name\": {\"unchanged\": true}}", NULL);
	assert_null(ev->v[3].value);
	ctest_assert_json(ev->v[3].key, "{\"id\": 1}");
	ctest_events_free(ev);
	lsn = ctest_wal_lsn(&t);
	assert_int_equal(ctest_stop(&t), 0);
	assert_true(ctest_wait_confirmed(&t, lsn, 1000));
	free(lsn);
	ctest_fini(&t);
}

/* A stop confirms the end of the WAL that the server has, also WAL written just before the stop that
 * capture was not told about yet (a table outside the publication here; other databases, checkpoints in
 * real life): the slot holds nothing while capture is stopped. Five stops, each right after such a write. */
static void test_stop_confirms_wal_end(void **state)
{
	struct ctest t;

	(void)state;
	ctest_init(&t, "CREATE TABLE users (id bigint PRIMARY KEY, name text); CREATE TABLE other (x int)",
	           "public.users", NULL, NULL);
	for (int i = 0; i < 5; i++) {
		char *lsn;

		ctest_start(&t);
		pgtest_exec(t.pg, "INSERT INTO other SELECT generate_series(1, 100)");
		lsn = ctest_wal_lsn(&t);
		assert_int_equal(ctest_stop(&t), 0);
		assert_true(ctest_wait_confirmed(&t, lsn, 1000));
		free(lsn);
	}
	ctest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_update_delete),
		cmocka_unit_test(test_stop_confirms_wal_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
