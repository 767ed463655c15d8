/* test_reconcile.c: `cleave reconcile` against a running pipeline (capture, mock Kafka, sinks into a
 * PostgreSQL and a MariaDB target), run as a process and read through --json:
 * - no false drift: identical data in every type of SPEC.md §5 (and PostgreSQL-only values: NaN, infinity,
 *   BC dates) reconciles to 0 on both engines, also with a MariaDB JSON value rewritten with another key
 *   order and spacing;
 * - injected drift of each kind in the targets (a row deleted, an extra row, one changed value per type,
 *   NULL versus '', a changed key) is reported exactly: counts and keys, nothing else;
 * - --repair --dry-run changes nothing; --repair then reconcile is clean; the sinks keep applying after it.
 * test_reconcile_lag.c covers replication lag. */
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
#include "tests/support/typesrows.h"

#define WAIT_MS 90000

#define COLS TYPES_COLS
#define TYPES_DDL                                                                                              \
	"(id integer PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real,"                           \
	" f8 double precision, n12 numeric(12,3), n numeric, t text, vc varchar(20), ch char(5), by bytea, d date," \
	" tm time, ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb, ia integer[], ta text[],"        \
	" ba boolean[], fa double precision[])"

/* arrs: arrays whose MySQL JSON items are strings (sinkvalue.c), which tests/support/sinktest.c cannot
 * compare: reconcile alone checks them. */
static const char *const setup_sql = "CREATE TABLE types " TYPES_DDL "; CREATE TABLE pgonly " TYPES_DDL ";"
                                     "CREATE TABLE arrs (id integer PRIMARY KEY, na numeric(6,2)[], tsa timestamptz[],"
                                     " da date[], xa bytea[]);"
                                     "CREATE TABLE wide (id integer PRIMARY KEY, n integer, u uuid, sm smallint);"
                                     /* keys spread over all of bigint in a table never analyzed */
                                     "CREATE TABLE spread (id bigint PRIMARY KEY, v text)";

/* wide's PostgreSQL target, made before the sink starts, with types the sink accepts for the source's
 * (an existing table): reconcile hashes those columns' texts */
static const char *const wide_target_sql = "CREATE TABLE wide (id numeric(12,0) PRIMARY KEY, n numeric(20,0), u text,"
                                           " sm double precision)";

/* Rows every target holds (as test_sink_types.c), then rows 100..120 (copies of row 1: one value of one
 * column each is changed below). Arrays of numerics, timestamps, booleans and floats: MariaDB holds them as the
 * JSON the sink writes. */
static const char *const rows_sql =
	"INSERT INTO types (" COLS ") VALUES"
	TYPES_ROWS_COMMON
	" (19, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', 'n NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL),"
	" (20, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-Infinity', 'n -infinity', NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
	"UPDATE types SET ba = '{t,f,NULL}', fa = '{1.5,-0.25,1e300,NULL}' WHERE id = 1;"
	"UPDATE types SET ba = '{}', fa = '{}' WHERE id = 3;"
	"INSERT INTO types SELECT 100 + g, b, i2, i4, i8, f4, f8, n12, n, t, vc, ch, by, d, tm, ts, tstz, u, j, jb, ia,"
	" ta, ba, fa FROM types, generate_series(0, 22) g WHERE id = 1;"
	"INSERT INTO arrs VALUES (1, '{1.50,NULL,-2.25}', '{\"2024-01-02 03:04:05.123456+00\",NULL}',"
	" '{2024-02-29,NULL}', '{\"\\\\x00ff\",NULL}'), (2, NULL, NULL, NULL, NULL), (3, '{}', '{}', '{}', '{}');"
	"INSERT INTO arrs SELECT g, na, tsa, da, xa FROM arrs, generate_series(4, 7) g WHERE id = 1;"
	"INSERT INTO wide VALUES (1, 10, '11111111-2222-3333-4444-555555555555', 3), (2, -7, NULL, NULL),"
	" (3, NULL, 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', -32768);"
	"INSERT INTO spread VALUES (-9223372036854775807, 'low'), (0, 'zero'), (9223372036854775806, 'high');"
	/* more dimensions: MariaDB holds nested JSON arrays */
	"INSERT INTO arrs VALUES (8, '{{1.50,NULL},{-2.25,3}}', '{{\"2024-01-02 03:04:05.5+00\"},{NULL}}',"
	" '{{2024-02-29,2024-03-01}}', '{{\"\\\\x00ff\"},{NULL}}'),"
	" (9, '{{{1,2,3},{4,5,6}},{{7,8,9},{10,11,12}}}', NULL, '{{2024-01-01},{NULL},{2024-01-03}}', NULL);"
	/* values only PostgreSQL holds */
	"INSERT INTO pgonly (id, f4, f8, n12, d, ts, tstz, t) VALUES (10, 'NaN', 'Infinity', 'NaN', 'infinity',"
	" '-infinity', 'infinity', 'specials'), (11, '-Infinity', 'NaN', NULL, '0044-03-15 BC',"
	" '0001-01-01 00:00:00 BC', '-infinity', ''), (12, '-0', '-0', 0, '-infinity', 'infinity', NULL, NULL)";

static const char *const sinks_yaml = "sinks:\n"
                                      "  - name: rc_pg\n"
                                      "    type: postgres\n"
                                      "    dsn: \"${PG_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_ms: 50\n"
                                      "    mappings:\n"
                                      "      - source: public.types\n"
                                      "      - source: public.arrs\n"
                                      "      - source: public.pgonly\n"
                                      "      - source: public.wide\n"
                                      "      - source: public.spread\n"
                                      "  - name: rc_my\n"
                                      "    type: mysql\n"
                                      "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_ms: 50\n"
                                      "    mappings:\n"
                                      "      - source: public.types\n"
                                      "      - source: public.arrs\n";

/* One changed value per column: rows 100 + i, column i (b .. fa), per engine. */
static const char *const pg_changes[] = {
	"b = NOT b", "i2 = i2 + 1", "i4 = i4 + 1", "i8 = i8 + 1", "f4 = f4 + 1", "f8 = f8 + 1", "n12 = n12 + 1",
	"n = n + 1", "t = t || 'x'", "vc = vc || 'x'", "ch = 'zz'", "by = '\\x01'", "d = d + 1",
	"tm = tm + interval '1 second'", "ts = ts + interval '1 microsecond'", "tstz = tstz + interval '1 hour'",
	"u = '11111111-1111-1111-1111-111111111111'", "j = '{\"changed\": 1}'", "jb = '{\"changed\": 1}'",
	"ia = '{9}'", "ta = '{z}'", "ba = '{t}'", "fa = '{2.5}'",
};
static const char *const my_changes[] = {
	"b = 1 - b", "i2 = i2 + 1", "i4 = i4 + 1", "i8 = i8 + 1", "f4 = f4 + 1", "f8 = f8 + 1", "n12 = n12 + 1",
	"n = '42'", "t = CONCAT(t, 'x')", "vc = CONCAT(vc, 'x')", "ch = 'zz'", "`by` = X'01'",
	"d = d + INTERVAL 1 DAY", "tm = ADDTIME(tm, '00:00:01')", "ts = ts + INTERVAL 1 MICROSECOND",
	"tstz = tstz + INTERVAL 1 HOUR", "u = '11111111-1111-1111-1111-111111111111'", "j = '{\"changed\": 1}'",
	"jb = '{\"changed\": 1}'", "ia = '[9]'", "ta = '[\"z\"]'", "ba = '[true]'", "fa = '[2.5]'",
};
#define NCHANGES (sizeof pg_changes / sizeof pg_changes[0])

static void inject_drift(struct stest *t, enum stest_engine e)
{
	if (e == STEST_PG) {
		pgtest_exec(t->pg, "DELETE FROM types WHERE id = 2;"
		                   "INSERT INTO types (id, t) VALUES (999, 'extra');"
		                   "UPDATE types SET t = NULL WHERE id = 3;" /* '' in the source */
		                   "UPDATE types SET vc = '' WHERE id = 20;" /* NULL in the source */
		                   "UPDATE types SET id = 1005 WHERE id = 5");
		for (size_t i = 0; i < NCHANGES; i++)
			pgtest_exec(t->pg, "UPDATE types SET %s WHERE id = %zu", pg_changes[i], 100 + i);
		pgtest_exec(t->pg, "UPDATE arrs SET na = '{9.99}' WHERE id = 4; UPDATE arrs SET tsa = '{}' WHERE id = 5;"
		                   "UPDATE arrs SET da = '{2024-03-01}' WHERE id = 6; UPDATE arrs SET xa = NULL WHERE id = 7;"
		                   "UPDATE arrs SET na = '{{1,2,3},{4,5,6}}' WHERE id = 9;"
		                   "UPDATE wide SET n = n + 1 WHERE id = 2; UPDATE wide SET u = 'x' WHERE id = 3;"
		                   "UPDATE spread SET v = 'changed' WHERE id = 0");
		return;
	}
	stest_my_exec(t, "DELETE FROM types WHERE id = 2");
	stest_my_exec(t, "INSERT INTO types (id, t) VALUES (999, 'extra')");
	stest_my_exec(t, "UPDATE types SET t = NULL WHERE id = 3");
	stest_my_exec(t, "UPDATE types SET vc = '' WHERE id = 20");
	stest_my_exec(t, "UPDATE types SET id = 1005 WHERE id = 5");
	for (size_t i = 0; i < NCHANGES; i++)
		stest_my_exec(t, "UPDATE types SET %s WHERE id = %zu", my_changes[i], 100 + i);
	stest_my_exec(t, "UPDATE arrs SET na = '[\"9.99\"]' WHERE id = 4");
	stest_my_exec(t, "UPDATE arrs SET tsa = '[]' WHERE id = 5");
	stest_my_exec(t, "UPDATE arrs SET da = '[\"2024-03-01\"]' WHERE id = 6");
	stest_my_exec(t, "UPDATE arrs SET xa = NULL WHERE id = 7");
	stest_my_exec(t, "UPDATE arrs SET na = '[[\"1\", \"2\", \"3\"], [\"4\", \"5\", \"6\"]]' WHERE id = 9");
}

/* The report of `types` holds exactly the injected drift. */
static void assert_injected(json_t *report, bool pg)
{
	const json_t *tb = rtest_table(report, "public.types");
	char diff[512];
	size_t o = 0;

	o += (size_t)snprintf(diff + o, sizeof diff - o, "3 20");
	for (size_t i = 0; i < NCHANGES; i++)
		o += (size_t)snprintf(diff + o, sizeof diff - o, " %zu", 100 + i);
	rtest_assert_keys(tb, "missing", "2 5");
	rtest_assert_keys(tb, "extra", "999 1005");
	rtest_assert_keys(tb, "different", diff);
	rtest_assert_keys(tb, "in_flight", "");
	tb = rtest_table(report, "public.arrs");
	rtest_assert_keys(tb, "missing", "");
	rtest_assert_keys(tb, "extra", "");
	rtest_assert_keys(tb, "different", "4 5 6 7 9");
	if (pg) { /* wide: PostgreSQL only */
		tb = rtest_table(report, "public.wide");
		rtest_assert_keys(tb, "missing", "");
		rtest_assert_keys(tb, "extra", "");
		rtest_assert_keys(tb, "different", "2 3");
		rtest_assert_keys(rtest_table(report, "public.spread"), "different", "0");
	}
	assert_int_equal(json_integer_value(json_object_get(report, "drift")), 4 + 2 + NCHANGES + 5 + (pg ? 3 : 0));
}

static void check_engine(struct stest *t, enum stest_engine e, const char *sink)
{
	json_t *r;

	/* identical: nothing */
	r = rtest_run(t, sink, 0, "--limit", "100", NULL);
	rtest_assert_clean(r);
	assert_int_equal(json_integer_value(json_object_get(rtest_table(r, "public.types"), "source_rows")), 32);
	assert_int_equal(json_integer_value(json_object_get(rtest_table(r, "public.types"), "target_rows")), 32);
	json_decref(r);

	inject_drift(t, e);
	r = rtest_run(t, sink, 1, "--limit", "100", NULL);
	assert_injected(r, e == STEST_PG);
	json_decref(r);
	/* a dry run changes nothing */
	r = rtest_run(t, sink, 1, "--limit", "100", "--repair", "--dry-run", NULL);
	assert_injected(r, e == STEST_PG);
	json_decref(r);
	r = rtest_run(t, sink, 1, "--limit", "100", NULL);
	assert_injected(r, e == STEST_PG);
	json_decref(r);
	/* repair: exit 0, then nothing is left, as independent SQL agrees */
	r = rtest_run(t, sink, 0, "--limit", "100", "--repair", NULL);
	assert_injected(r, e == STEST_PG);
	json_decref(r);
	r = rtest_run(t, sink, 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);
	assert_true(stest_same(t, e, "public.types", "types", NULL, true));
}

static void test_reconcile_types(void **state)
{
	struct stest t;
	json_t *r;

	(void)state;
	stest_init_ex(&t, setup_sql, "public.types, public.arrs, public.pgonly, public.wide, public.spread", sinks_yaml, NULL,
	              "    message.max.bytes: 8000000\n");
	pgtest_exec(t.pg, "%s", wide_target_sql);
	stest_start_capture(&t);
	stest_start_sink(&t, "rc_pg");
	stest_start_sink(&t, "rc_my");
	pgtest_exec(t.c.pg, "%s", rows_sql);
	assert_true(stest_wait_same(&t, STEST_PG, "public.types", "types", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.pgonly", "pgonly", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.wide", "wide", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.spread", "spread", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.types", "types", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.arrs", "arrs", NULL, WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT COUNT(*) FROM arrs", "9", WAIT_MS));

	/* equal JSON written with another key order and spacing is no drift */
	stest_my_exec(&t, "UPDATE types SET j = '{\"s\":\"\xc3\xa9\",  \"n\":null,\"k\":[1,2.5,\"x\"]}',"
	                  " ia = '[1,null,  3]', fa = '[1.5,-0.25,1.0e300,null]' WHERE id = 1");
	r = rtest_run(&t, "rc_my", 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);
	/* --table picks mappings */
	r = rtest_run(&t, "rc_pg", 0, "--table", "public.pgonly", NULL);
	rtest_assert_clean(r);
	assert_int_equal(json_array_size(json_object_get(r, "tables")), 1);
	assert_int_equal(json_integer_value(json_object_get(rtest_table(r, "public.pgonly"), "source_rows")), 3);
	json_decref(r);

	check_engine(&t, STEST_PG, "rc_pg");
	check_engine(&t, STEST_MYSQL, "rc_my");

	/* the sinks keep applying after a repair */
	pgtest_exec(t.c.pg, "UPDATE types SET t = 'after repair' WHERE id IN (3, 100, 1005 - 1000);"
	                    "DELETE FROM types WHERE id = 101;"
	                    "INSERT INTO types (id, t) VALUES (500, 'new');"
	                    "UPDATE types SET id = 600 WHERE id = 102");
	assert_true(stest_wait_same(&t, STEST_PG, "public.types", "types", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.types", "types", NULL, WAIT_MS));
	r = rtest_run(&t, "rc_pg", 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);
	r = rtest_run(&t, "rc_my", 0, NULL);
	rtest_assert_clean(r);
	json_decref(r);

	assert_int_equal(stest_stop_sink(&t, "rc_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "rc_my"), 0);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconcile_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
