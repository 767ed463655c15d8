/* test_reconcile_lag.c: replication lag is never reported as drift by `cleave reconcile`:
 * - during a workload (updates, inserts, deletes committed one by one while reconcile runs) with the
 *   pipeline up, reconcile reports no drift, on a PostgreSQL and on a MariaDB target;
 * - with the sink stopped, changes committed since are reported as in flight (exit 1), with their keys,
 *   not as drift; once the sink runs again, reconcile waits for it and reports nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/reconciletest.h"
#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#define WAIT_MS 90000

static const char *const sinks_yaml = "sinks:\n"
                                      "  - name: lag_pg\n"
                                      "    type: postgres\n"
                                      "    dsn: \"${PG_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_ms: 50\n"
                                      "    mappings:\n"
                                      "      - source: public.items\n"
                                      "        columns: [id, grp, v, note]\n"
                                      "  - name: lag_my\n"
                                      "    type: mysql\n"
                                      "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_ms: 50\n"
                                      "    mappings:\n"
                                      "      - source: public.items\n"
                                      "        target: things\n";

/* A composite key with a text part: ranges must hold the same keys on both engines. */
static const char *const setup_sql =
	"CREATE TABLE items (grp text, id integer, v integer, note text, secret text, PRIMARY KEY (grp, id))";

/* About 6 s of single-row transactions on random rows: updates, an insert every 5th, a delete every 7th. */
static const char *const workload_sql =
	"DO $$ BEGIN FOR i IN 1..400 LOOP"
	" UPDATE items SET v = v + 1, note = 'w' || i WHERE grp = 'g' || (i % 3) AND id = (random() * 1999)::int;"
	" IF i % 5 = 0 THEN INSERT INTO items VALUES ('new', i, i, 'inserted', 's'); END IF;"
	" IF i % 7 = 0 THEN DELETE FROM items WHERE grp = 'g2' AND id = i; END IF;"
	" COMMIT; PERFORM pg_sleep(0.015); END LOOP; END $$";

static void test_reconcile_lag(void **state)
{
	const char *const psql_argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", NULL, "-c", workload_sql, NULL};
	const char *argv[sizeof psql_argv / sizeof psql_argv[0]];
	struct stest t;
	struct proc *work;
	json_t *r;
	const json_t *tb;
	const char *note;
	char *lsn;

	(void)state;
	stest_init(&t, setup_sql, "public.items", sinks_yaml);
	stest_start_capture(&t);
	stest_start_sink(&t, "lag_pg");
	stest_start_sink(&t, "lag_my");
	pgtest_exec(t.c.pg, "INSERT INTO items SELECT 'g' || (g %% 3), g, g, 'n' || g, 'x' FROM generate_series(0, 1999) g;"
	                    "INSERT INTO items VALUES ('B', 1, 1, 'upper', 'x'), ('a', 1, 1, 'lower', 'x'),"
	                    " ('\xc3\xa9', 1, 1, 'e acute', 'x'), ('g1 ', 1, 1, 'trailing blank', 'x')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "things", NULL, WAIT_MS));

	/* a workload runs while reconcile compares: no drift, nothing in flight */
	memcpy(argv, psql_argv, sizeof argv);
	argv[6] = pgtest_dsn(t.c.db);
	work = proc_spawn("workload", argv, NULL);
	r = rtest_run(&t, "lag_pg", 0, "--range-rows", "100", NULL);
	rtest_assert_clean(r);
	json_decref(r);
	r = rtest_run(&t, "lag_my", 0, "--range-rows", "100", NULL);
	rtest_assert_clean(r);
	json_decref(r);
	if (proc_wait(work, 60000) != 0) {
		proc_print_log(work, 20);
		fail_msg("the workload failed");
	}
	proc_free(work);
	r = rtest_run(&t, "lag_pg", 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);
	assert_true(stest_same(&t, STEST_PG, "public.items", "items", NULL, true));

	/* the sink stopped: what happened since is in flight, not drift */
	assert_int_equal(stest_stop_sink(&t, "lag_pg"), 0);
	pgtest_exec(t.c.pg, "UPDATE items SET v = -1 WHERE grp = 'g1' AND id IN (1, 4);"
	                    "INSERT INTO items VALUES ('z', 1, 1, 'late', 'x');"
	                    "DELETE FROM items WHERE grp = 'a' AND id = 1;"
	                    "UPDATE items SET secret = 'not mapped' WHERE grp = 'g2' AND id = 2");
	lsn = ctest_wal_lsn(&t.c);
	assert_true(ctest_wait_confirmed(&t.c, lsn, WAIT_MS)); /* in Kafka: only the sink is behind */
	free(lsn);
	r = rtest_run_timeout(&t, "lag_pg", 1, 5, NULL);
	tb = rtest_table(r, "public.items");
	rtest_assert_keys(tb, "missing", "");
	rtest_assert_keys(tb, "extra", "");
	rtest_assert_keys(tb, "different", "");
	rtest_assert_keys(tb, "in_flight", "a,1 g1,1 g1,4 z,1");
	assert_int_equal(json_integer_value(json_object_get(r, "drift")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "in_flight")), 4);
	/* the note says what was behind: the sink (or, on a slow machine, capture's confirmation of the very
	 * latest position reconcile read) */
	note = json_string_value(json_object_get(tb, "note"));
	assert_non_null(note);
	if (!strstr(note, "sink lag_pg has applied") && !strstr(note, "capture has not confirmed"))
		fail_msg("unexpected note: %s", note);
	json_decref(r);
	/* the MariaDB sink ran all along */
	r = rtest_run(&t, "lag_my", 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);

	/* running again, the sink catches up while reconcile waits for it */
	stest_start_sink(&t, "lag_pg");
	r = rtest_run(&t, "lag_pg", 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);

	assert_int_equal(stest_stop_sink(&t, "lag_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "lag_my"), 0);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconcile_lag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
