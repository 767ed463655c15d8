/* test_capture_publication.c: a publication that existed before capture must not drop changes silently:
 * one that publishes only inserts, or partitions under their own names, is completed at start (updates,
 * deletes and a partitioned table's rows arrive under its root); one with a row filter stops capture with a
 * clear error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/support/capturetest.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

static void test_incomplete_publication_is_completed(void **state)
{
	struct ctest t;
	struct ctest_events *ev;
	char *log;

	(void)state;
	ctest_init(&t,
	           "CREATE TABLE m (id int, region int, note text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
	           "CREATE TABLE m_1 PARTITION OF m FOR VALUES IN (1);"
	           "CREATE TABLE m_2 PARTITION OF m FOR VALUES IN (2)",
	           "public.m", NULL, NULL);
	/* the user's own publication, made before capture: inserts only, partitions on their own */
	pgtest_exec(t.pg, "CREATE PUBLICATION %s FOR TABLE m WITH (publish = 'insert')", t.publication);
	ctest_start(&t);
	ctest_exec_and_wait(&t, "INSERT INTO m VALUES (1, 1, 'a'), (2, 2, 'b');"
	                        " UPDATE m SET note = 'a2' WHERE id = 1; DELETE FROM m WHERE id = 2");
	ev = ctest_events_wait(&t, "public.m", 5, 30000);
	assert_int_equal(ev->n, 5);
	ctest_assert_event(&ev->v[0], 'c', "public.m", NULL, "{\"id\": 1, \"region\": 1, \"note\": \"a\"}");
	ctest_assert_event(&ev->v[1], 'c', "public.m", NULL, "{\"id\": 2, \"region\": 2, \"note\": \"b\"}");
	ctest_assert_event(&ev->v[2], 'u', "public.m", NULL, "{\"id\": 1, \"region\": 1, \"note\": \"a2\"}");
	ctest_assert_event(&ev->v[3], 'd', "public.m", "{\"id\": 2, \"region\": 2, \"note\": {\"unchanged\": true}}",
	                   NULL);
	assert_null(ev->v[4].value);
	ctest_events_free(ev);
	log = ctest_read_file(proc_log_path(t.capture));
	assert_non_null(strstr(log, "did not publish every change"));
	free(log);
	assert_int_equal(ctest_stop(&t), 0);
	ctest_fini(&t);
}

static void test_row_filter_refused(void **state)
{
	struct ctest t;
	struct proc *p;
	char *log, *confirmed;

	(void)state;
	ctest_init(&t, "CREATE TABLE f (id int PRIMARY KEY, n int)", "public.f", NULL, NULL);
	pgtest_exec(t.pg, "CREATE PUBLICATION %s FOR TABLE f WHERE (n > 0)", t.publication);
	p = ctest_spawn(&t);
	assert_int_equal(proc_wait(p, 30000), 2);
	log = ctest_read_file(proc_log_path(p));
	assert_non_null(strstr(log, "publishes public.f with a row filter or a column list"));
	free(log);
	proc_free(p);
	/* no slot was created either: nothing to confirm */
	confirmed = pgtest_value(t.pg, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'", t.slot);
	assert_string_equal(confirmed, "0");
	free(confirmed);
	ctest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incomplete_publication_is_completed),
		cmocka_unit_test(test_row_filter_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
