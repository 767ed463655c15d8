/* test_schema_changes.c: schema changes of source tables while capture and sinks stream (docs/sinks.md
 * "Schema changes"), into a PostgreSQL and a MariaDB target with create_tables: true. Every change has
 * events before it and after it in the same topic:
 * - ADD COLUMN (without and with a default), DROP COLUMN and widening type changes (integer -> bigint,
 *   varchar(10) -> varchar(20), numeric(10,2) -> numeric(12,2), real -> double precision) are followed:
 *   capture publishes a new writer schema, `cleave events` prints old and new events, the sinks add and
 *   widen target columns, and the targets equal the source exactly (a dropped column keeps its values in
 *   the target and is NULL in new rows; rows that existed before an ADD COLUMN ... DEFAULT and never
 *   changed since get the default through the target column's DEFAULT);
 * - a rename of a mapped column, a projected column that is dropped, a type change the target cannot
 *   widen to (integer -> text), and with create_tables: false an added column, are not followed: with
 *   on_error: stop the sink exits 2 with one line saying what changed and what to do (and doing it makes
 *   the sink go on); with on_error: dlq the events of the new schema go to the dead-letter topic with that
 *   reason while other tables (and old-schema events) are applied, also after a restart;
 * - a sink started after a rename, into a new target table, applies the events from before the rename to
 *   the column's new name;
 * - a table created while streaming and added to source.tables and to the sinks' mappings reaches the
 *   targets once capture and the sinks restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#define WAIT_MS 60000

/* ---- helpers ---- */

/* The target's declared type of column col of table tbl. */
static char *target_type(struct stest *t, enum stest_engine e, const char *tbl, const char *col)
{
	if (e == STEST_PG)
		return pgtest_value(t->pg, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid ="
		                    " '%s'::regclass AND attname = '%s'", tbl, col);
	return stest_my_value(t, "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
	                      " AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'", tbl, col);
}

static void assert_target_type(struct stest *t, enum stest_engine e, const char *tbl, const char *col,
                               const char *expected)
{
	char *got = target_type(t, e, tbl, col);

	if (!got || strcmp(got, expected) != 0)
		fail_msg("%s target %s.%s has type %s, expected %s", e == STEST_PG ? "PostgreSQL" : "MariaDB", tbl, col,
		         got ? got : "NULL", expected);
	free(got);
}

/* ---- followed changes ---- */

static const char *const follow_yaml = "sinks:\n"
                                       "  - name: sc_follow_pg\n"
                                       "    type: postgres\n"
                                       "    dsn: \"${PG_TARGET_DSN}\"\n"
                                       "    create_tables: true\n"
                                       "    batch_ms: 50\n"
                                       "    mappings:\n"
                                       "      - source: public.t_add\n"
                                       "      - source: public.t_drop\n"
                                       "      - source: public.t_widen\n"
                                       "  - name: sc_follow_my\n"
                                       "    type: mysql\n"
                                       "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                       "    create_tables: true\n"
                                       "    batch_ms: 50\n"
                                       "    mappings:\n"
                                       "      - source: public.t_add\n"
                                       "      - source: public.t_drop\n"
                                       "      - source: public.t_widen\n";

static const char *const follow_sql =
	"CREATE TABLE t_add (id integer PRIMARY KEY, a text);"
	"CREATE TABLE t_drop (id integer PRIMARY KEY, a text, b integer, c text);"
	"CREATE TABLE t_widen (id integer PRIMARY KEY, i integer, v varchar(10), n numeric(10,2), f real);"
	/* what the target's t_drop must hold once b is dropped: b as it was (NULL for rows added later) */
	"CREATE TABLE drop_expect (id integer PRIMARY KEY, b integer);"
	"CREATE VIEW v_drop AS SELECT d.id, d.a, e.b, d.c FROM t_drop d LEFT JOIN drop_expect e USING (id)";

/* Asserts that every insert event of `table`'s topic (up to its end) with after.id in [lo, hi] has
 * (has_field) or lacks field `field` in its `after`. */
static void assert_event_shape(struct stest *t, const char *table, int lo, int hi, const char *field, bool has_field)
{
	struct ctest_events *ev = ctest_events(&t->c, table, WAIT_MS);
	size_t seen = 0;

	for (size_t i = 0; i < ev->n; i++) {
		json_t *after = ev->v[i].value ? json_object_get(ev->v[i].value, "after") : NULL;
		json_int_t id;

		if (!json_is_object(after) || strcmp(json_string_value(json_object_get(ev->v[i].value, "op")), "c") != 0)
			continue;
		id = json_integer_value(json_object_get(after, "id"));
		if (id < lo || id > hi)
			continue;
		seen++;
		if ((json_object_get(after, field) != NULL) != has_field)
			fail_msg("%s: the event of id %lld %s field %s", table, (long long)id, has_field ? "lacks" : "has",
			         field);
	}
	if (seen == 0)
		fail_msg("%s: no events with id in [%d, %d]", table, lo, hi);
	ctest_events_free(ev);
}

static void test_followed_changes(void **state)
{
	const char *const sinks[] = {"sc_follow_pg", "sc_follow_my"};
	const enum stest_engine engines[] = {STEST_PG, STEST_MYSQL};
	struct stest t;
	const char *log;
	char *out;

	(void)state;
	stest_init(&t, follow_sql, "public.t_add, public.t_drop, public.t_widen", follow_yaml);
	stest_start_capture(&t);
	stest_start_sink(&t, "sc_follow_pg");
	stest_start_sink(&t, "sc_follow_my");
	pgtest_exec(t.c.pg, "INSERT INTO t_add VALUES (1, 'one'), (2, 'two'), (3, 'three');"
	                    "INSERT INTO t_drop VALUES (1, 'one', 10, 'x'), (2, 'two', 20, 'y'), (3, 'three', 30, 'z');"
	                    "INSERT INTO t_widen VALUES (1, 2147483647, '0123456789', 12345678.91, 1.5),"
	                    " (2, -5, 'abc', -0.01, -2.25), (3, NULL, NULL, NULL, NULL)");
	for (int e = 0; e < 2; e++) {
		assert_true(stest_wait_same(&t, engines[e], "public.t_add", "t_add", NULL, WAIT_MS));
		assert_true(stest_wait_same(&t, engines[e], "public.t_drop", "t_drop", NULL, WAIT_MS));
		assert_true(stest_wait_same(&t, engines[e], "public.t_widen", "t_widen", NULL, WAIT_MS));
	}

	/* the changes, each followed by events of the new shape (and for t_add, interleaved with updates) */
	pgtest_exec(t.c.pg, "INSERT INTO drop_expect SELECT id, b FROM t_drop;"
	                    "ALTER TABLE t_add ADD COLUMN b integer;"
	                    "ALTER TABLE t_add ADD COLUMN c text DEFAULT 'dflt', ADD COLUMN d boolean DEFAULT true,"
	                    " ADD COLUMN e numeric(6,2) DEFAULT 12.5, ADD COLUMN f date DEFAULT '2024-02-29';"
	                    "ALTER TABLE t_drop DROP COLUMN b;"
	                    "ALTER TABLE t_widen ALTER COLUMN i TYPE bigint, ALTER COLUMN v TYPE varchar(20),"
	                    " ALTER COLUMN n TYPE numeric(12,2), ALTER COLUMN f TYPE double precision");
	pgtest_exec(t.c.pg, "INSERT INTO t_add VALUES (4, 'four', 44, 'c4', false, 1.25, '2000-01-01'),"
	                    " (5, 'five', NULL, NULL, NULL, NULL, NULL);"
	                    "INSERT INTO t_add (id, a) VALUES (6, 'six');"
	                    "UPDATE t_add SET b = 11 WHERE id = 1; DELETE FROM t_add WHERE id = 2;"
	                    "INSERT INTO t_drop VALUES (4, 'four', 'w'), (5, 'five', NULL);"
	                    "UPDATE t_drop SET a = 'ONE' WHERE id = 1; DELETE FROM t_drop WHERE id = 2;"
	                    "INSERT INTO t_widen VALUES (4, 9223372036854775807, '01234567890123456789', 9999999999.99,"
	                    " 1.2345678901234567), (5, -9223372036854775808, 'ü', -1234567890.12, -1e300);"
	                    "UPDATE t_widen SET i = 5000000000, v = 'abcdefghijklmnopqrst' WHERE id = 2");
	for (int e = 0; e < 2; e++) {
		/* row 3 has no event since the ADD: the target's DEFAULT gives it c, d, e and f */
		assert_true(stest_wait_same(&t, engines[e], "public.t_add", "t_add", NULL, WAIT_MS));
		assert_true(stest_wait_same(&t, engines[e], "public.v_drop", "t_drop", NULL, WAIT_MS));
		assert_true(stest_wait_same(&t, engines[e], "public.t_widen", "t_widen", NULL, WAIT_MS));
	}
	assert_target_type(&t, STEST_PG, "t_add", "b", "integer");
	assert_target_type(&t, STEST_PG, "t_add", "c", "text");
	assert_target_type(&t, STEST_PG, "t_widen", "i", "bigint");
	assert_target_type(&t, STEST_PG, "t_widen", "v", "character varying(20)");
	assert_target_type(&t, STEST_PG, "t_widen", "n", "numeric(12,2)");
	assert_target_type(&t, STEST_PG, "t_widen", "f", "double precision");
	assert_target_type(&t, STEST_MYSQL, "t_add", "b", "int(11)");
	assert_target_type(&t, STEST_MYSQL, "t_add", "c", "longtext");
	assert_target_type(&t, STEST_MYSQL, "t_widen", "i", "bigint(20)");
	assert_target_type(&t, STEST_MYSQL, "t_widen", "v", "varchar(20)");
	assert_target_type(&t, STEST_MYSQL, "t_widen", "n", "decimal(12,2)");
	assert_target_type(&t, STEST_MYSQL, "t_widen", "f", "double");
	free(stest_my_value(&t, "SELECT 1")); /* the connection is alive */
	out = stest_my_value(&t, "SELECT CONCAT(CHARACTER_SET_NAME, ' ', COLLATION_NAME) FROM information_schema.COLUMNS"
	                     " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't_widen' AND COLUMN_NAME = 'v'");
	assert_non_null(out);
	assert_non_null(strstr(out, "utf8mb4 "));
	free(out);

	/* the topic holds both shapes, and the events command prints both */
	assert_event_shape(&t, "public.t_add", 1, 3, "b", false);
	assert_event_shape(&t, "public.t_add", 4, 6, "b", true);
	assert_event_shape(&t, "public.t_drop", 1, 3, "b", true);
	assert_event_shape(&t, "public.t_drop", 4, 5, "b", false);
	{
		const char *argv[] = {CLEAVE_BIN, "events", "-c", t.c.config_path, "--table", "public.t_add", NULL};
		char *text;

		assert_int_equal(proc_run("events", argv, NULL, WAIT_MS, &log), 0);
		text = ctest_read_file(log);
		assert_non_null(strstr(text, "\"after\":{\"id\":3,\"a\":\"three\"}"));
		assert_non_null(strstr(text, "\"after\":{\"id\":4,\"a\":\"four\",\"b\":44,\"c\":\"c4\",\"d\":false,"));
		free(text);
	}
	for (int s = 0; s < 2; s++) {
		char *text = ctest_read_file(proc_log_path(stest_sink_proc(&t, sinks[s])));

		assert_non_null(strstr(text, "added column b"));
		assert_non_null(strstr(text, "widened column i"));
		free(text);
		assert_int_equal(stest_stop_sink(&t, sinks[s]), 0);
	}
	stest_fini(&t);
}

/* ---- changes a mapping cannot follow: stop ---- */

static const char *const stop_yaml = "sinks:\n"
                                     "  - name: sc_ren_pg\n"
                                     "    type: postgres\n"
                                     "    dsn: \"${PG_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_ren\n"
                                     "  - name: sc_ren_my\n"
                                     "    type: mysql\n"
                                     "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_ren\n"
                                     "  - name: sc_proj_pg\n"
                                     "    type: postgres\n"
                                     "    dsn: \"${PG_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_ren\n"
                                     "        target: t_ren_proj\n"
                                     "        columns: [id, a, b]\n"
                                     "  - name: sc_nar_pg\n"
                                     "    type: postgres\n"
                                     "    dsn: \"${PG_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_nar\n"
                                     "  - name: sc_late_pg\n"
                                     "    type: postgres\n"
                                     "    dsn: \"${PG_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_ren\n"
                                     "        target: t_ren_late\n"
                                     "  - name: sc_addf_pg\n"
                                     "    type: postgres\n"
                                     "    dsn: \"${PG_TARGET_DSN}\"\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_addf\n"
                                     "  - name: sc_nar_my\n"
                                     "    type: mysql\n"
                                     "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.t_nar\n";

static void test_unfollowed_changes_stop(void **state)
{
	static const char *const ren_pg[] = {
		"cleave sink: target table t_ren cannot follow the rename of source column a (now x): the table has"
		" column a but not x, and cleave does not rename columns; add `x: a` under the mapping's `rename:` to"
		" keep filling column a, or rename the target column (ALTER TABLE \"t_ren\" RENAME COLUMN \"a\" TO \"x\"),"
		" then restart the sink\n",
		NULL};
	static const char *const ren_my[] = {
		"cleave sink: MySQL target of sink sc_ren_my: table t_ren cannot follow the rename of source column a"
		" (now x): the table has column a but not x, and cleave does not rename columns; add `x: a` under the"
		" mapping's `rename:` to keep filling column a, or rename the target column (ALTER TABLE `t_ren` RENAME"
		" COLUMN `a` TO `x`), then restart the sink\n",
		NULL};
	static const char *const proj[] = {"column a in `columns:` was renamed to x in the source (schema ",
	                                   "which the mapping cannot follow by itself: write x in `columns:` and add"
	                                   " `x: a` under `rename:` to keep filling target column a, then restart the"
	                                   " sink\n",
	                                   NULL};
	static const char *const nar_pg[] = {
		"cleave sink: target table t_nar: column v has type integer, which cannot hold the source's text (needs"
		" text); change it: ALTER TABLE \"t_nar\" ALTER COLUMN \"v\" TYPE text\n",
		NULL};
	static const char *const addf[] = {
		"cleave sink: target table t_addf has no column b (type integer needed for the source's integer); add"
		" it: ALTER TABLE \"t_addf\" ADD COLUMN \"b\" integer\n",
		NULL};
	static const char *const nar_my[] = {"cleave sink: MySQL target of sink sc_nar_my: table t_nar column v is"
	                                     " int(11), which cannot hold every value of source type text",
	                                     NULL};
	struct stest t;

	(void)state;
	stest_init(&t,
	           "CREATE TABLE t_ren (id integer PRIMARY KEY, a integer, b text);"
	           "CREATE TABLE t_nar (id integer PRIMARY KEY, v integer);"
	           "CREATE TABLE t_addf (id integer PRIMARY KEY, a text)",
	           "public.t_ren, public.t_nar, public.t_addf", stop_yaml);
	/* create_tables: false: the user's own table */
	pgtest_exec(t.pg, "CREATE TABLE t_addf (id integer PRIMARY KEY, a text)");
	stest_start_capture(&t);
	stest_start_sink(&t, "sc_ren_pg");
	stest_start_sink(&t, "sc_ren_my");
	stest_start_sink(&t, "sc_proj_pg");
	stest_start_sink(&t, "sc_nar_pg");
	stest_start_sink(&t, "sc_nar_my");
	stest_start_sink(&t, "sc_addf_pg");
	pgtest_exec(t.c.pg, "INSERT INTO t_ren VALUES (1, 10, 'one'), (2, 20, 'two');"
	                    "INSERT INTO t_nar VALUES (1, 100), (2, 200); INSERT INTO t_addf VALUES (1, 'one')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_addf", "t_addf", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_ren", "t_ren", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_ren", "t_ren", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_ren", "t_ren_proj", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_nar", "t_nar", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_nar", "t_nar", NULL, WAIT_MS));

	pgtest_exec(t.c.pg, "ALTER TABLE t_ren RENAME COLUMN a TO x;"
	                    "ALTER TABLE t_nar ALTER COLUMN v TYPE text; ALTER TABLE t_addf ADD COLUMN b integer");
	pgtest_exec(t.c.pg, "INSERT INTO t_ren VALUES (3, 30, 'three'); UPDATE t_ren SET x = 11 WHERE id = 1;"
	                    "INSERT INTO t_nar VALUES (3, 'three'); INSERT INTO t_addf VALUES (2, 'two', 2)");
	stest_assert_sink_fails(&t, "sc_ren_pg", ren_pg);
	stest_assert_sink_fails(&t, "sc_ren_my", ren_my);
	stest_assert_sink_fails(&t, "sc_proj_pg", proj);
	stest_assert_sink_fails(&t, "sc_nar_pg", nar_pg);
	stest_assert_sink_fails(&t, "sc_nar_my", nar_my);
	stest_assert_sink_fails(&t, "sc_addf_pg", addf);
	/* nothing of the new schema was applied: the targets hold what came before */
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT string_agg(id || ':' || a, ',' ORDER BY id) FROM t_ren",
	                             "1:10,2:20", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT count(*) FROM t_nar", "2", WAIT_MS));

	/* doing what the message says: the rename entry; the sink goes on from where it stopped */
	ctest_config_replace(&t.c, "      - source: public.t_ren\n  - name: sc_ren_my",
	                     "      - source: public.t_ren\n        rename: {x: a}\n  - name: sc_ren_my");
	stest_start_sink(&t, "sc_ren_pg");
	assert_true(stest_wait_value(&t, STEST_PG,
	                             "SELECT string_agg(id || ':' || a || ':' || b, ',' ORDER BY id) FROM t_ren",
	                             "1:11:one,2:20:two,3:30:three", WAIT_MS));
	/* ... or the target column renamed */
	stest_my_exec(&t, "ALTER TABLE t_ren RENAME COLUMN a TO x");
	stest_start_sink(&t, "sc_ren_my");
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_ren", "t_ren", NULL, WAIT_MS));
	/* ... and the target column of the type change altered by hand */
	stest_my_exec(&t, "ALTER TABLE t_nar MODIFY v LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
	stest_start_sink(&t, "sc_nar_my");
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_nar", "t_nar", NULL, WAIT_MS));
	/* a sink started after the rename, into a new table, reads the topic from its beginning: the events
	 * before the rename go to the column's new name */
	stest_start_sink(&t, "sc_late_pg");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_ren", "t_ren_late", NULL, WAIT_MS));
	assert_int_equal(stest_stop_sink(&t, "sc_late_pg"), 0);
	/* create_tables: false: the ALTER the message names */
	pgtest_exec(t.pg, "ALTER TABLE \"t_addf\" ADD COLUMN \"b\" integer");
	stest_start_sink(&t, "sc_addf_pg");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_addf", "t_addf", NULL, WAIT_MS));
	assert_int_equal(stest_stop_sink(&t, "sc_ren_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_ren_my"), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_nar_my"), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_addf_pg"), 0);
	stest_fini(&t);
}

/* ---- changes a mapping cannot follow: dead letters ---- */

static const char *const dlq_yaml = "sinks:\n"
                                    "  - name: sc_dlq_pg\n"
                                    "    type: postgres\n"
                                    "    dsn: \"${PG_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.t_nar\n"
                                    "      - source: public.t_ok\n"
                                    "  - name: sc_dlq_my\n"
                                    "    type: mysql\n"
                                    "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.t_nar\n"
                                    "        columns: [id, v, w]\n"
                                    "      - source: public.t_ok\n";

static void test_unfollowed_changes_dlq(void **state)
{
	const char *const sinks[] = {"sc_dlq_pg", "sc_dlq_my"};
	const char *const why[] = {"target table t_nar: column v has type integer, which cannot hold the source's text",
	                           "column w in `columns:` was dropped from the source (schema "};
	struct stest t;

	(void)state;
	stest_init(&t,
	           "CREATE TABLE t_nar (id integer PRIMARY KEY, v integer, w integer);"
	           "CREATE TABLE t_ok (id integer PRIMARY KEY, a text)",
	           "public.t_nar, public.t_ok", dlq_yaml);
	stest_start_capture(&t);
	stest_start_sink(&t, "sc_dlq_pg");
	stest_start_sink(&t, "sc_dlq_my");
	pgtest_exec(t.c.pg, "INSERT INTO t_nar VALUES (1, 100, 1), (2, 200, 2); INSERT INTO t_ok VALUES (1, 'one')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_nar", "t_nar", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_nar", "t_nar", NULL, WAIT_MS));

	/* PostgreSQL sink: v cannot follow; MariaDB sink: its projection names w */
	pgtest_exec(t.c.pg, "ALTER TABLE t_nar ALTER COLUMN v TYPE text; ALTER TABLE t_nar DROP COLUMN w");
	pgtest_exec(t.c.pg, "INSERT INTO t_nar VALUES (3, 'three'); UPDATE t_nar SET v = 'one' WHERE id = 1;"
	                    "INSERT INTO t_ok VALUES (2, 'two'), (3, 'three')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_ok", "t_ok", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_ok", "t_ok", NULL, WAIT_MS));
	for (int s = 0; s < 2; s++) {
		struct ktest_msgs *d = stest_dlq_wait(&t, sinks[s], 2, WAIT_MS);

		assert_int_equal(d->n, 2);
		for (size_t i = 0; i < d->n; i++) {
			assert_string_equal(stest_header(&d->v[i], "cleave.topic"), ctest_topic(&t.c, "public.t_nar"));
			if (!strstr(stest_header(&d->v[i], "cleave.error"), why[s]))
				fail_msg("%s: dead letter reason '%s' lacks '%s'", sinks[s], stest_header(&d->v[i], "cleave.error"),
				         why[s]);
		}
		ktest_msgs_free(d);
	}
	/* the old rows stay as they were */
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t_nar",
	                             "1:100,2:200", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT GROUP_CONCAT(id, ':', v ORDER BY id) FROM t_nar",
	                             "1:100,2:200", WAIT_MS));
	/* a restart keeps refusing that schema: more of its events go to the dead-letter topic */
	assert_int_equal(stest_stop_sink(&t, "sc_dlq_pg"), 0);
	stest_start_sink(&t, "sc_dlq_pg");
	pgtest_exec(t.c.pg, "INSERT INTO t_nar VALUES (4, 'four'); INSERT INTO t_ok VALUES (4, 'four')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_ok", "t_ok", NULL, WAIT_MS));
	ktest_msgs_free(stest_dlq_wait(&t, "sc_dlq_pg", 3, WAIT_MS));
	assert_int_equal(stest_stop_sink(&t, "sc_dlq_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_dlq_my"), 0);
	stest_fini(&t);
}

/* ---- a table added later ---- */

static const char *const new_yaml = "sinks:\n"
                                    "  - name: sc_new_pg\n"
                                    "    type: postgres\n"
                                    "    dsn: \"${PG_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.t_old\n"
                                    "  - name: sc_new_my\n"
                                    "    type: mysql\n"
                                    "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.t_old\n"
                                    "        target: t_old\n";

static void test_table_added_later(void **state)
{
	struct stest t;

	(void)state;
	stest_init(&t, "CREATE TABLE t_old (id integer PRIMARY KEY, a text)", "public.t_old", new_yaml);
	stest_start_capture(&t);
	stest_start_sink(&t, "sc_new_pg");
	stest_start_sink(&t, "sc_new_my");
	pgtest_exec(t.c.pg, "INSERT INTO t_old VALUES (1, 'one')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_old", "t_old", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_old", "t_old", NULL, WAIT_MS));

	/* created while streaming: captured once it is in source.tables (and so in the publication) and
	 * capture restarted; the sinks map it after a restart with the new config */
	pgtest_exec(t.c.pg, "CREATE TABLE t_new (id integer PRIMARY KEY, n numeric(8,3))");
	assert_int_equal(ctest_stop(&t.c), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_new_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_new_my"), 0);
	ctest_config_replace(&t.c, "tables: [public.t_old]", "tables: [public.t_old, public.t_new]");
	ctest_config_replace(&t.c, "      - source: public.t_old\n  - name: sc_new_my",
	                     "      - source: public.t_old\n      - source: public.t_new\n  - name: sc_new_my");
	ctest_config_replace(&t.c, "        target: t_old\n", "        target: t_old\n      - source: public.t_new\n");
	stest_start_capture(&t);
	stest_start_sink(&t, "sc_new_pg");
	stest_start_sink(&t, "sc_new_my");
	pgtest_exec(t.c.pg, "INSERT INTO t_new VALUES (1, 1.5), (2, -99999.999); INSERT INTO t_old VALUES (2, 'two')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_new", "t_new", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_new", "t_new", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_PG, "public.t_old", "t_old", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.t_old", "t_old", NULL, WAIT_MS));
	assert_int_equal(stest_stop_sink(&t, "sc_new_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "sc_new_my"), 0);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_followed_changes),
		cmocka_unit_test(test_unfollowed_changes_stop),
		cmocka_unit_test(test_unfollowed_changes_dlq),
		cmocka_unit_test(test_table_added_later),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
