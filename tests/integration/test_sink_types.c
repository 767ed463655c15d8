/* test_sink_types.c: every type of SPEC.md §5 through capture and a sink into a PostgreSQL target and into a
 * MariaDB target (create_tables: true): typical values, NULL, empty values, minimum and maximum values, a
 * 1 MB text; then updates (one leaving a TOASTed column unchanged), a delete, a primary-key change, and a
 * TRUNCATE followed by inserts. After each step both targets are compared with the source by independent
 * SQL on both sides (tests/support/sinktest.h), never through cleave's own code.
 *
 * Values a MariaDB column cannot hold (NaN and infinite floats, a NaN numeric(p,s), infinite and BC dates
 * and timestamps) arrive in PostgreSQL and go to the MariaDB sink's dead-letter topic, each with its
 * headers and a reason; the rows after them are applied. */
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
#include "tests/support/typesrows.h"

#define WAIT_MS 90000

#define TYPES_TABLE                                                                                            \
	"CREATE TABLE types (id integer PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real,"        \
	" f8 double precision, n12 numeric(12,3), n numeric, t text, vc varchar(20), ch char(5), by bytea, d date," \
	" tm time, ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb, ia integer[], ta text[])"

#define COLS TYPES_COLS

/* Rows 1..7 and 19..20 every target holds; 10..18 hold a value MariaDB cannot (one each). */
static const char *const rows_sql =
	"INSERT INTO types (" COLS ") VALUES"
	TYPES_ROWS_COMMON
	/* one value MariaDB cannot hold per row */
	" (10, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL, NULL, 'f4 NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL),"
	" (11, NULL, NULL, NULL, NULL, NULL, 'Infinity', NULL, NULL, 'f8 infinity', NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (12, NULL, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, 'f8 -infinity', NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (13, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', NULL, 'n12 NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL),"
	" (14, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'd infinity', NULL, NULL, NULL, 'infinity', NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (15, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'd BC', NULL, NULL, NULL, '0044-03-15 BC', NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (16, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'ts -infinity', NULL, NULL, NULL, NULL, NULL,"
	"  '-infinity', NULL, NULL, NULL, NULL, NULL, NULL),"
	" (17, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'tstz infinity', NULL, NULL, NULL, NULL, NULL, NULL,"
	"  'infinity', NULL, NULL, NULL, NULL, NULL),"
	" (18, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'ts BC', NULL, NULL, NULL, NULL, NULL,"
	"  '0001-01-01 00:00:00 BC', NULL, NULL, NULL, NULL, NULL, NULL),"
	/* NaN and infinity of numeric without a typmod: MariaDB's column for it is text, which holds them */
	" (19, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', 'n NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL),"
	" (20, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-Infinity', 'n -infinity', NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

/* The rows MariaDB cannot hold, and a word the dead-letter reason must contain for each. */
static const struct {
	int id;
	const char *reason;
} unholdable[] = {
	{10, "NaN"}, {11, "nfinity"}, {12, "nfinity"}, {13, "NaN"}, {14, "nfinity"},
	{15, "BC"},  {16, "nfinity"}, {17, "nfinity"}, {18, "BC"},
};
#define NUNHOLDABLE (sizeof unholdable / sizeof unholdable[0])

/* The source rows a MariaDB target holds (before the fix of row 14 below). */
#define MY_WHERE "id NOT IN (10, 11, 12, 13, 14, 15, 16, 17, 18)"
#define MY_WHERE_FIXED "id NOT IN (10, 11, 12, 13, 15, 16, 17, 18)"

static const char *const sinks_yaml = "sinks:\n"
                                      "  - name: types_pg\n"
                                      "    type: postgres\n"
                                      "    dsn: \"${PG_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_ms: 50\n"
                                      "    mappings:\n"
                                      "      - source: public.types\n"
                                      "  - name: types_my\n"
                                      "    type: mysql\n"
                                      "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_ms: 50\n"
                                      "    mappings:\n"
                                      "      - source: public.types\n";

/* Both targets equal the source (MariaDB: the rows of mysql_where). */
static void assert_targets(struct stest *t, const char *mysql_where)
{
	assert_true(stest_wait_same(t, STEST_PG, "public.types", "types", NULL, WAIT_MS));
	assert_true(stest_wait_same(t, STEST_MYSQL, "public.types", "types", mysql_where, WAIT_MS));
}

/* The dead-letter topic of the MariaDB sink holds exactly the unholdable rows, each with its headers. */
static void assert_mysql_dlq(struct stest *t)
{
	struct ktest_msgs *m = stest_dlq_wait(t, "types_my", NUNHOLDABLE, WAIT_MS);
	struct ktest_schemas *schemas = kafkatest_schemas_load(t->c.prefix);
	const char *topic = ctest_topic(&t->c, "public.types");
	struct ktest_msgs *src = kafkatest_consume_to_end(topic, 30000);
	bool seen[NUNHOLDABLE] = {false};

	assert_int_equal(m->n, NUNHOLDABLE);
	for (size_t i = 0; i < m->n; i++) {
		const struct ktest_msg *k = &m->v[i];
		json_t *v = kafkatest_decode(schemas, k->value, k->value_len);
		json_int_t id = json_integer_value(json_object_get(json_object_get(v, "after"), "id"));
		const struct ktest_msg *orig;
		size_t u = 0;
		long part;
		long long off;
		char *end;

		while (u < NUNHOLDABLE && unholdable[u].id != id)
			u++;
		if (u == NUNHOLDABLE)
			fail_msg("row %lld went to the dead-letter topic: %s", (long long)id,
			         stest_header(k, "cleave.error"));
		assert_false(seen[u]);
		seen[u] = true;
		assert_string_equal(stest_header(k, "cleave.topic"), topic);
		/* partition and offset name the original message: same key and value bytes */
		part = strtol(stest_header(k, "cleave.partition"), &end, 10);
		assert_true(end != stest_header(k, "cleave.partition") && *end == '\0');
		off = strtoll(stest_header(k, "cleave.offset"), &end, 10);
		assert_true(end != stest_header(k, "cleave.offset") && *end == '\0');
		orig = NULL;
		for (size_t o = 0; o < src->n && !orig; o++)
			if (src->v[o].partition == part && src->v[o].offset == off)
				orig = &src->v[o];
		if (!orig)
			fail_msg("row %d: no message at %s [%ld] offset %lld", unholdable[u].id, topic, part, off);
		assert_int_equal(orig->value_len, k->value_len);
		assert_memory_equal(orig->value, k->value, k->value_len);
		assert_int_equal(orig->key_len, k->key_len);
		assert_memory_equal(orig->key, k->key, k->key_len);
		if (!strstr(stest_header(k, "cleave.error"), unholdable[u].reason))
			fail_msg("row %d: the dead-letter reason '%s' does not mention '%s'", unholdable[u].id,
			         stest_header(k, "cleave.error"), unholdable[u].reason);
		print_message("row %d: %s\n", unholdable[u].id, stest_header(k, "cleave.error"));
		json_decref(v);
	}
	kafkatest_schemas_free(schemas);
	ktest_msgs_free(src);
	ktest_msgs_free(m);
}

/* The tables create_tables made have SPEC.md §5's column types. */
static void assert_created_tables(struct stest *t)
{
	static const char *const pg_want =
		"id integer PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,"
		" n12 numeric(12,3), n numeric, t text, vc character varying(20), ch character(5), by bytea, d date,"
		" tm time without time zone, ts timestamp without time zone, tstz timestamp with time zone, u uuid,"
		" j jsonb, jb jsonb, ia integer[], ta text[]";
	/* MariaDB's JSON is LONGTEXT with a json_valid() check; numeric without typmod is text */
	static const char *const my_want =
		"id int(11) PRI, b tinyint(1), i2 smallint(6), i4 int(11), i8 bigint(20), f4 float, f8 double,"
		" n12 decimal(12,3), n varchar(1100), t longtext, vc varchar(20), ch char(5), by longblob, d date,"
		" tm time(6), ts datetime(6), tstz datetime(6), u char(36), j longtext JSON, jb longtext JSON,"
		" ia longtext JSON, ta longtext JSON";
	char *pg = pgtest_value(t->pg, "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod)"
	                               " || CASE WHEN attnum = ANY(i.indkey) THEN ' PRIMARY KEY' ELSE '' END, ', '"
	                               " ORDER BY attnum) FROM pg_attribute a LEFT JOIN pg_index i ON"
	                               " i.indrelid = a.attrelid AND i.indisprimary WHERE attrelid = 'types'::regclass"
	                               " AND attnum > 0 AND NOT attisdropped");
	char *my = stest_my_value(t, "SELECT GROUP_CONCAT(CONCAT(c.COLUMN_NAME, ' ', c.COLUMN_TYPE,"
	                             " IF(c.COLUMN_KEY = 'PRI', ' PRI', ''), IF(EXISTS(SELECT 1 FROM"
	                             " information_schema.CHECK_CONSTRAINTS k WHERE k.CONSTRAINT_SCHEMA ="
	                             " c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME AND k.CHECK_CLAUSE LIKE"
	                             " CONCAT('json_valid(`', c.COLUMN_NAME, '`)')), ' JSON', ''))"
	                             " ORDER BY c.ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.COLUMNS c"
	                             " WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = 'types'");
	bool pg_ok = strcmp(pg, pg_want) == 0, my_ok = strcmp(my, my_want) == 0;

	/* one line per call: cmocka's print buffer is small */
	if (!pg_ok) {
		print_error("PostgreSQL target table, want: %s\n", pg_want);
		print_error("PostgreSQL target table, got:  %s\n", pg);
	}
	if (!my_ok) {
		print_error("MariaDB target table, want: %s\n", my_want);
		print_error("MariaDB target table, got:  %s\n", my);
	}
	free(pg);
	free(my);
	assert_true(pg_ok);
	assert_true(my_ok);
}

static void test_types(void **state)
{
	struct stest t;
	struct ctest_events *ev;
	const struct ctest_event *upd[16];
	size_t nupd;
	bool toast_seen = false;
	struct ktest_msgs *m;

	(void)state;
	stest_init_ex(&t, TYPES_TABLE, "public.types", sinks_yaml, NULL, "    message.max.bytes: 8000000\n");
	stest_start_capture(&t);
	stest_start_sink(&t, "types_pg");
	stest_start_sink(&t, "types_my");

	/* inserts */
	pgtest_exec(t.c.pg, "%s", rows_sql);
	assert_targets(&t, MY_WHERE);
	assert_mysql_dlq(&t);
	/* the comparison is not blind: a changed target value is seen */
	pgtest_exec(t.pg, "UPDATE types SET tm = '12:34:56.789013' WHERE id = 1");
	assert_false(stest_same(&t, STEST_PG, "public.types", "types", NULL, false));
	pgtest_exec(t.pg, "UPDATE types SET tm = '12:34:56.789012' WHERE id = 1");
	stest_my_exec(&t, "UPDATE types SET ts = '2024-02-29 12:34:56.789013' WHERE id = 1");
	assert_false(stest_same(&t, STEST_MYSQL, "public.types", "types", MY_WHERE, false));
	stest_my_exec(&t, "UPDATE types SET ts = '2024-02-29 12:34:56.789012' WHERE id = 1");
	stest_my_exec(&t, "UPDATE types SET f8 = 2.7182818284590446 WHERE id = 1");
	assert_false(stest_same(&t, STEST_MYSQL, "public.types", "types", MY_WHERE, false));
	stest_my_exec(&t, "UPDATE types SET f8 = 2.718281828459045 WHERE id = 1");
	assert_true(stest_same(&t, STEST_MYSQL, "public.types", "types", MY_WHERE, true));

	/* updates, a delete, a primary-key change, and a fixed value MariaDB can now hold */
	pgtest_exec(t.c.pg,
	            "UPDATE types SET b = false, i4 = -7, f8 = -0.5, t = 'changed', vc = NULL, ch = 'x', by = '\\x01',"
	            " tstz = '2030-06-01 00:00:00+02', j = '[1]', ia = '{7,8}' WHERE id = 1;"
	            "UPDATE types SET b = true, t = 'was null', d = '2001-02-03', ta = '{x}' WHERE id = 2;"
	            "UPDATE types SET t = NULL, by = NULL, jb = NULL WHERE id = 3;"
	            "UPDATE types SET i4 = 66 WHERE id = 6;" /* t and by are TOASTed and unchanged */
	            "DELETE FROM types WHERE id = 4;"
	            "UPDATE types SET id = 105 WHERE id = 5;"
	            "UPDATE types SET d = '2020-01-01' WHERE id = 14");
	assert_targets(&t, MY_WHERE_FIXED);
	/* the update of row 6 did not carry its large values: the targets kept them */
	ev = ctest_events(&t.c, "public.types", 30000);
	nupd = ctest_events_of_op(ev, 'u', upd, 16);
	for (size_t i = 0; i < nupd && i < 16; i++) {
		json_t *after = json_object_get(upd[i]->value, "after");

		if (json_integer_value(json_object_get(after, "id")) != 6)
			continue;
		ctest_assert_json(json_object_get(after, "t"), "{\"unchanged\": true}");
		ctest_assert_json(json_object_get(after, "by"), "{\"unchanged\": true}");
		toast_seen = true;
	}
	ctest_events_free(ev);
	assert_true(toast_seen);
	assert_true(stest_wait_value(&t, STEST_PG,
	                             "SELECT length(t) || ' ' || length(by) || ' ' || i4 FROM types WHERE id = 6",
	                             "1048576 524288 66", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL,
	                             "SELECT CONCAT(LENGTH(t), ' ', LENGTH(`by`), ' ', i4) FROM types WHERE id = 6",
	                             "1048576 524288 66", WAIT_MS));

	/* TRUNCATE, then new rows: the targets hold exactly those */
	pgtest_exec(t.c.pg, "TRUNCATE types;"
	                    "INSERT INTO types (id, t, d, ia) VALUES (200, 'after truncate', '2024-05-05', '{1}'),"
	                    " (201, '', NULL, NULL)");
	assert_targets(&t, NULL);
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT string_agg(id::text, ',' ORDER BY id) FROM types", "200,201",
	                             WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT GROUP_CONCAT(id ORDER BY id) FROM types", "200,201",
	                             WAIT_MS));

	/* nothing more went to a dead-letter topic */
	m = kafkatest_consume_idle(stest_dlq_topic(&t, "types_my"), 1000, 30000);
	assert_int_equal(m->n, NUNHOLDABLE);
	ktest_msgs_free(m);
	m = kafkatest_consume_idle(stest_dlq_topic(&t, "types_pg"), 1000, 30000);
	assert_int_equal(m->n, 0);
	ktest_msgs_free(m);

	assert_int_equal(stest_stop_sink(&t, "types_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "types_my"), 0);
	assert_created_tables(&t);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
