/* test_sink_types_extra.c: the types beyond SPEC.md §5's table (docs/types.md) through capture and a sink
 * into a PostgreSQL target and a MariaDB target (create_tables: true), compared with the source by
 * independent SQL on both sides (tests/support/sinktest.h):
 * - arrays of every §5 base type, with NULL elements, empty arrays, NaN/infinity/BC elements,
 *   multi-dimensional arrays and arrays with explicit lower bounds;
 * - an enum, an array of it, domains, a composite type, a generated column (PostgreSQL 15's pgoutput does
 *   not send it: the target has no such column);
 * - interval (and its array), inet, cidr, macaddr, macaddr8, money, bit, bit varying, xml, tsvector,
 *   tsquery, the built-in ranges, hstore (an extension type), numeric NaN/±Infinity, timestamp and date
 *   ±infinity, time with time zone, and a 5 MB text.
 * Values MariaDB cannot hold (infinite timestamps and dates in DATETIME/DATE, arrays with explicit bounds
 * in JSON) go to its dead-letter topic.
 *
 * And partitioned source tables: published through their root, landing in one target table, with rows
 * in several partitions, updates moving rows between partitions, and DETACH / ATTACH PARTITION. */
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

#define WAIT_MS 90000

#define XT_SETUP                                                                                                \
	"CREATE EXTENSION hstore;"                                                                              \
	"CREATE TYPE mood AS ENUM ('sad', 'ok', 'with space', 'quote''s');"                                     \
	"CREATE DOMAIN posint AS integer CHECK (VALUE > 0);"                                                    \
	"CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');"                                                 \
	"CREATE TYPE pair AS (n integer, s text);"                                                              \
	"CREATE TABLE xt (id integer PRIMARY KEY,"                                                              \
	" a_i2 smallint[], a_i4 integer[], a_i8 bigint[], a_f4 real[], a_f8 double precision[], a_n numeric[],"  \
	" a_n12 numeric(12,3)[], a_b boolean[], a_t text[], a_vc varchar(10)[], a_ch char(3)[], a_by bytea[],"   \
	" a_d date[], a_tm time[], a_ts timestamp[], a_tstz timestamptz[], a_u uuid[], a_j json[], a_jb jsonb[]," \
	" e mood, a_e mood[], dm posint, dt email, cp pair, g integer GENERATED ALWAYS AS (id * 2) STORED,"       \
	" iv interval, a_iv interval[], ip inet, cn cidr, mac macaddr, mac8 macaddr8, mo money, bt bit(5),"      \
	" vb bit varying, x xml, tsv tsvector, tsq tsquery, r4 int4range, r8 int8range, rn numrange,"           \
	" rd daterange, rts tsrange, rtstz tstzrange, h hstore, nn numeric, tsi timestamp, tstzi timestamptz,"  \
	" di date, ttz timetz, lt text)"

#define XT_COLS                                                                                                 \
	"id, a_i2, a_i4, a_i8, a_f4, a_f8, a_n, a_n12, a_b, a_t, a_vc, a_ch, a_by, a_d, a_tm, a_ts, a_tstz, a_u,"  \
	" a_j, a_jb, e, a_e, dm, dt, cp, iv, a_iv, ip, cn, mac, mac8, mo, bt, vb, x, tsv, tsq, r4, r8, rn, rd,"    \
	" rts, rtstz, h, nn, tsi, tstzi, di, ttz, lt"

/* Rows 1..5 every target holds; 10..13 hold values MariaDB cannot. */
static const char *const xt_rows =
	"INSERT INTO xt (" XT_COLS ") VALUES"
	/* typical values, with NULL elements and special values inside arrays */
	" (1, '{1,-2,32767,NULL}', '{1,NULL,3}', '{-9223372036854775808,9223372036854775807}',"
	"  '{1.5,-0.25,NaN,Infinity,3.14}', '{3.141592653589793,-Infinity,1e-300,NULL}',"
	"  '{1.5,NaN,-12345678901234567890.123456789,Infinity,-Infinity}', '{12.345,NaN,-0.001,0}',"
	"  '{t,f,NULL}', ARRAY['a', 'b c', NULL, 'NULL', '', 'quote\"s', 'back\\slash', '{brace}', 'ü€😀'],"
	"  '{x,yy}', '{a,bc}', ARRAY['\\x00ff'::bytea, '\\x'::bytea, NULL],"
	"  '{2024-02-29,infinity,-infinity,0044-03-15 BC}', '{00:00:00,12:34:56.789,24:00:00}',"
	"  '{2024-02-29 12:34:56.789012,infinity,0001-01-01 00:00:00 BC}',"
	"  '{2024-02-29 12:34:56+05:30,-infinity}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}',"
	"  ARRAY['{\"a\": 1}'::json, '[1, 2]', 'null', '\"s\"'], ARRAY['{\"b\": [true]}'::jsonb, '3'],"
	"  'with space', '{sad,\"quote''s\",NULL}', 7, 'a@b.c', ROW(1, 'a \"b\", c'),"
	"  '1 year 2 mons 3 days 04:05:06.789', ARRAY['1 day'::interval, '-00:00:01', NULL],"
	"  '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '12.34', B'10101',"
	"  B'1', '<a b=\"1\">x &amp; y</a>', 'a fat cat:2A', 'fat & (rat | cat)', '[1,10)', '(,5]',"
	"  '[1.5,2.5]', '[2024-01-01,2024-02-01)', '[2024-01-01 00:00:00,infinity)',"
	"  '(2024-01-01 00:00:00+00,2024-01-02 00:00:00+00]', '\"a\"=>\"1\", \"b c\"=>NULL', 'NaN',"
	"  '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+02', '2024-02-29',"
	"  '12:34:56.789+05:30', 'short'),"
	/* NULL everywhere */
	" (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
	/* empty arrays and empty or zero values */
	" (3, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{\"\"}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',"
	"  '{}', '{}', '{}', 'sad', '{}', 1, '@', ROW(NULL, NULL), '0', '{}', '::', '::/0',"
	"  '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', '0', B'00000', B'', '', '', '', 'empty', 'empty',"
	"  'empty', 'empty', 'empty', 'empty', '', '-Infinity', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00',"
	"  '2000-01-01', '00:00:00+00', ''),"
	/* multi-dimensional arrays and arrays with explicit lower bounds */
	" (4, '{{{1}},{{2}}}', '{{1,2},{3,NULL}}', '{{5},{6}}', '{{NaN,1.5}}', '{{1.5}}', '{{1.5},{NaN}}',"
	"  '{{1.000,NaN},{NULL,2.5}}', '{{t},{f}}', '{{\"a\",\"b\"},{\"c d\",NULL}}', '{{x,y}}', '{{a}}',"
	"  ARRAY[ARRAY['\\x01'::bytea], ARRAY['\\x02'::bytea]], '{{2024-01-01,infinity}}',"
	"  '{{12:00:00},{13:00:00.5}}', '{{2024-01-01 00:00:00}}', '{{2024-01-01 00:00:00+00,infinity}}',"
	"  '{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}', ARRAY[ARRAY['{\"a\": {\"b\": 1}}'::json]],"
	"  ARRAY[ARRAY['[]'::jsonb, '{}']], 'ok', '[5:5]={ok}', 2147483647, 'x@y', ROW(-1, ''),"
	"  '-178000000 years', ARRAY[ARRAY['1 hour'::interval], ARRAY['2 hours'::interval]],"
	"  '2001:db8::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '-92233720368547758.08',"
	"  B'11111', B'0101010101010101010101010101010101010101', '<r/>', 'x:1,2,3', '!x', '[-2147483648,2147483647)',"
	"  '[-9223372036854775808,9223372036854775807)', '(-1e30,1e30]', '[-infinity,infinity]',"
	"  '(0001-01-01 00:00:00 BC,)', '[,)', '', 'Infinity', '9999-12-31 23:59:59.999999',"
	"  '1000-01-01 00:00:00+00', '9999-12-31', '24:00:00-15:59', 'x'),"
	/* a 5 MB text (5242880 bytes) */
	" (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '123.456', NULL, NULL, NULL, NULL,"
	"  (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 163840) g)),"
	/* one value MariaDB cannot hold per row */
	" (10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity', NULL, NULL, NULL, 'tsi'),"
	" (11, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', NULL, NULL, 'tstzi'),"
	" (12, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity', NULL, 'di');"
	/* arrays with explicit bounds (a lower bound other than 1), which a JSON array cannot hold */
	"INSERT INTO xt (id, a_i8, a_f8, a_vc, a_u, lt) VALUES (13, '[0:1]={5,6}', '[2:2]={1.5}', '[-1:0]={x,y}',"
	" '[3:3]={a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'bounds')";

#define XT_MY_WHERE "id NOT IN (10, 11, 12, 13)"

static const struct {
	int id;
	const char *reason;
} xt_unholdable[] = {{10, "nfinity"}, {11, "nfinity"}, {12, "nfinity"}, {13, "explicit bounds"}};
#define XT_NUNHOLDABLE (sizeof xt_unholdable / sizeof xt_unholdable[0])

static const char *const xt_sinks = "sinks:\n"
                                    "  - name: xt_pg\n"
                                    "    type: postgres\n"
                                    "    dsn: \"${PG_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.xt\n"
                                    "  - name: xt_my\n"
                                    "    type: mysql\n"
                                    "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.xt\n";

/* The created tables have docs/types.md's column types. */
static void assert_xt_created(struct stest *t)
{
	static const char *const pg_want =
		"id integer, a_i2 smallint[], a_i4 integer[], a_i8 bigint[], a_f4 real[], a_f8 double precision[],"
		" a_n numeric[], a_n12 numeric(12,3)[], a_b boolean[], a_t text[], a_vc character varying(10)[],"
		" a_ch character(3)[], a_by bytea[], a_d date[], a_tm time without time zone[],"
		" a_ts timestamp without time zone[], a_tstz timestamp with time zone[], a_u uuid[], a_j jsonb[],"
		" a_jb jsonb[], e text, a_e text, dm text, dt text, cp text, iv interval, a_iv interval[], ip inet,"
		" cn cidr, mac macaddr, mac8 macaddr8, mo text, bt bit varying, vb bit varying, x xml, tsv tsvector,"
		" tsq tsquery, r4 int4range, r8 int8range, rn numrange, rd daterange, rts tsrange, rtstz tstzrange,"
		" h text, nn numeric, tsi timestamp without time zone, tstzi timestamp with time zone, di date,"
		" ttz time with time zone, lt text";
	static const char *const my_want =
		"id int(11), a_i2 longtext, a_i4 longtext, a_i8 longtext, a_f4 longtext, a_f8 longtext, a_n longtext,"
		" a_n12 longtext, a_b longtext, a_t longtext, a_vc longtext, a_ch longtext, a_by longtext,"
		" a_d longtext, a_tm longtext, a_ts longtext, a_tstz longtext, a_u longtext, a_j longtext,"
		" a_jb longtext, e longtext, a_e longtext, dm longtext, dt longtext, cp longtext, iv longtext,"
		" a_iv longtext, ip longtext, cn longtext, mac longtext, mac8 longtext, mo longtext, bt longtext,"
		" vb longtext, x longtext, tsv longtext, tsq longtext, r4 longtext, r8 longtext, rn longtext,"
		" rd longtext, rts longtext, rtstz longtext, h longtext, nn varchar(1100), tsi datetime(6),"
		" tstzi datetime(6), di date, ttz longtext, lt longtext";
	char *pg = pgtest_value(t->pg, "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', '"
	                               " ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'xt'::regclass"
	                               " AND attnum > 0 AND NOT attisdropped");
	char *my = stest_my_value(t, "SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) ORDER BY"
	                             " ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.COLUMNS"
	                             " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'xt'");
	bool pg_ok = strcmp(pg, pg_want) == 0, my_ok = strcmp(my, my_want) == 0;

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

/* The MariaDB sink's dead-letter topic holds exactly the unholdable rows, each with a reason. */
static void assert_xt_dlq(struct stest *t)
{
	struct ktest_msgs *m = stest_dlq_wait(t, "xt_my", XT_NUNHOLDABLE, WAIT_MS);
	struct ktest_schemas *schemas = kafkatest_schemas_load(t->c.prefix);
	bool seen[XT_NUNHOLDABLE] = {false};

	assert_int_equal(m->n, XT_NUNHOLDABLE);
	for (size_t i = 0; i < m->n; i++) {
		json_t *v = kafkatest_decode(schemas, m->v[i].value, m->v[i].value_len);
		json_int_t id = json_integer_value(json_object_get(json_object_get(v, "after"), "id"));
		size_t u = 0;

		while (u < XT_NUNHOLDABLE && xt_unholdable[u].id != id)
			u++;
		if (u == XT_NUNHOLDABLE)
			fail_msg("row %lld went to the dead-letter topic: %s", (long long)id,
			         stest_header(&m->v[i], "cleave.error"));
		assert_false(seen[u]);
		seen[u] = true;
		if (!strstr(stest_header(&m->v[i], "cleave.error"), xt_unholdable[u].reason))
			fail_msg("row %d: the dead-letter reason '%s' does not mention '%s'", xt_unholdable[u].id,
			         stest_header(&m->v[i], "cleave.error"), xt_unholdable[u].reason);
		print_message("row %d: %s\n", xt_unholdable[u].id, stest_header(&m->v[i], "cleave.error"));
		json_decref(v);
	}
	kafkatest_schemas_free(schemas);
	ktest_msgs_free(m);
}

static void test_extra_types(void **state)
{
	struct stest t;
	struct ktest_msgs *m;

	(void)state;
	stest_init_ex(&t, XT_SETUP, "public.xt", xt_sinks, NULL, "    message.max.bytes: 16000000\n");
	stest_start_capture(&t);
	stest_start_sink(&t, "xt_pg");
	stest_start_sink(&t, "xt_my");

	pgtest_exec(t.c.pg, "%s", xt_rows);
	assert_true(stest_wait_same(&t, STEST_PG, "public.xt", "xt", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.xt", "xt", XT_MY_WHERE, WAIT_MS));
	assert_xt_dlq(&t);

	/* a few values spelled out on both sides, so the comparison is not only a round trip of text */
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT a_i4::text || ' ' || a_i8::text || ' ' || a_ts::text"
	                                           " FROM xt WHERE id = 4",
	                             "{{1,2},{3,NULL}} {{5},{6}} {{\"2024-01-01 00:00:00\"}}", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT a_i8::text || ' ' || a_vc::text FROM xt WHERE id = 13",
	                             "[0:1]={5,6} [-1:0]={x,y}", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT CONCAT(a_i4, ' ', a_i8, ' ', a_tm) FROM xt WHERE id = 4",
	                             "[[1, 2], [3, null]] [[5], [6]] [[\"12:00:00\"], [\"13:00:00.5\"]]", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT a_n12 FROM xt WHERE id = 1",
	                             "[\"12.345\", \"NaN\", \"-0.001\", \"0.000\"]", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT CONCAT(a_e, ' ', mo, ' ', e) FROM xt WHERE id = 1",
	                             "{sad,quote's,NULL} $12.34 with space", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT length(lt) FROM xt WHERE id = 5", "5242880", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT LENGTH(lt) FROM xt WHERE id = 5", "5242880", WAIT_MS));

	/* updates of some of the new types, and a delete */
	pgtest_exec(t.c.pg, "UPDATE xt SET a_i4 = '{{9}}', iv = '5 minutes', h = 'k=>v', e = 'ok', a_d = '{}'"
	                    " WHERE id = 1; UPDATE xt SET a_i4 = '{1}', a_t = '{{z}}' WHERE id = 4;"
	                    " DELETE FROM xt WHERE id = 3");
	assert_true(stest_wait_same(&t, STEST_PG, "public.xt", "xt", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.xt", "xt", XT_MY_WHERE, WAIT_MS));

	/* nothing else went to a dead-letter topic */
	m = kafkatest_consume_idle(stest_dlq_topic(&t, "xt_my"), 1000, 30000);
	assert_int_equal(m->n, XT_NUNHOLDABLE);
	ktest_msgs_free(m);
	m = kafkatest_consume_idle(stest_dlq_topic(&t, "xt_pg"), 1000, 30000);
	assert_int_equal(m->n, 0);
	ktest_msgs_free(m);

	assert_int_equal(stest_stop_sink(&t, "xt_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "xt_my"), 0);
	assert_xt_created(&t);
	stest_fini(&t);
}

#define PARTS_SETUP                                                                                             \
	"CREATE TABLE parts (id integer, region text, v text, at timestamptz, PRIMARY KEY (id, region))"        \
	" PARTITION BY LIST (region);"                                                                          \
	"CREATE TABLE parts_eu PARTITION OF parts FOR VALUES IN ('eu');"                                        \
	"CREATE TABLE parts_us PARTITION OF parts FOR VALUES IN ('us');"                                        \
	"CREATE TABLE parts_rest PARTITION OF parts DEFAULT PARTITION BY RANGE (id);"                           \
	"CREATE TABLE parts_rest_low PARTITION OF parts_rest FOR VALUES FROM (MINVALUE) TO (100);"              \
	"CREATE TABLE parts_rest_high PARTITION OF parts_rest FOR VALUES FROM (100) TO (MAXVALUE)"

static const char *const parts_sinks = "sinks:\n"
                                       "  - name: parts_pg\n"
                                       "    type: postgres\n"
                                       "    dsn: \"${PG_TARGET_DSN}\"\n"
                                       "    create_tables: true\n"
                                       "    batch_ms: 50\n"
                                       "    mappings:\n"
                                       "      - source: public.parts\n"
                                       "  - name: parts_my\n"
                                       "    type: mysql\n"
                                       "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                       "    create_tables: true\n"
                                       "    batch_ms: 50\n"
                                       "    mappings:\n"
                                       "      - source: public.parts\n";

static void assert_parts(struct stest *t, const char *where, const char *ids)
{
	assert_true(stest_wait_same(t, STEST_PG, "public.parts", "parts", where, WAIT_MS));
	assert_true(stest_wait_same(t, STEST_MYSQL, "public.parts", "parts", where, WAIT_MS));
	assert_true(stest_wait_value(t, STEST_PG, "SELECT string_agg(id || region, ',' ORDER BY id) FROM parts", ids,
	                             WAIT_MS));
	assert_true(stest_wait_value(t, STEST_MYSQL, "SELECT GROUP_CONCAT(CONCAT(id, region) ORDER BY id) FROM parts",
	                             ids, WAIT_MS));
}

static void test_partitioned(void **state)
{
	struct stest t;
	struct ctest_events *ev;
	char *n;

	(void)state;
	stest_init(&t, PARTS_SETUP, "public.parts", parts_sinks);
	stest_start_capture(&t);
	stest_start_sink(&t, "parts_pg");
	stest_start_sink(&t, "parts_my");

	/* rows in every leaf partition, two levels deep */
	pgtest_exec(t.c.pg, "INSERT INTO parts VALUES (1, 'eu', 'a', '2024-01-01 00:00:00+00'), (2, 'us', 'b', NULL),"
	                    " (3, 'asia', 'c', NULL), (150, 'asia', 'd', NULL), (4, 'eu', 'e', NULL)");
	assert_parts(&t, NULL, "1eu,2us,3asia,4eu,150asia");

	/* updates within a partition and moving rows between partitions (a key change: the old key goes) */
	pgtest_exec(t.c.pg, "UPDATE parts SET v = 'a2' WHERE id = 1;"
	                    " UPDATE parts SET region = 'us' WHERE id = 4;"
	                    " UPDATE parts SET id = 120 WHERE id = 3;"
	                    " UPDATE parts SET region = 'eu', v = 'moved' WHERE id = 150");
	assert_parts(&t, NULL, "1eu,2us,4us,120asia,150eu");

	/* the events name the root table, never a partition */
	ev = ctest_events(&t.c, "public.parts", 30000);
	for (size_t i = 0; i < ev->n; i++) {
		json_t *src = ev->v[i].value ? json_object_get(ev->v[i].value, "source") : NULL;

		if (src)
			assert_string_equal(json_string_value(json_object_get(src, "table")), "parts");
	}
	ctest_events_free(ev);

	/* a detached partition is no longer part of the root: its changes are not published (DETACH itself
	 * is DDL, which logical replication does not carry: the target keeps the rows it had) */
	pgtest_exec(t.c.pg, "ALTER TABLE parts DETACH PARTITION parts_us");
	pgtest_exec(t.c.pg, "INSERT INTO parts_us VALUES (500, 'us', 'while detached', NULL);"
	                    " INSERT INTO parts VALUES (501, 'eu', 'root', NULL)");
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT string_agg(id || region, ',' ORDER BY id) FROM parts",
	                             "1eu,2us,4us,120asia,150eu,501eu", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL,
	                             "SELECT GROUP_CONCAT(CONCAT(id, region) ORDER BY id) FROM parts",
	                             "1eu,2us,4us,120asia,150eu,501eu", WAIT_MS));
	/* attached again: its changes are published through the root again */
	pgtest_exec(t.c.pg, "ALTER TABLE parts ATTACH PARTITION parts_us FOR VALUES IN ('us')");
	pgtest_exec(t.c.pg, "INSERT INTO parts VALUES (502, 'us', 'attached', NULL); DELETE FROM parts WHERE id = 2;"
	                    " UPDATE parts SET region = 'us' WHERE id = 1");
	assert_parts(&t, "id <> 500", "1us,4us,120asia,150eu,501eu,502us");
	n = pgtest_value(t.pg, "SELECT count(*) FROM parts WHERE id = 500");
	assert_string_equal(n, "0");
	free(n);

	assert_int_equal(stest_stop_sink(&t, "parts_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "parts_my"), 0);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extra_types),
		cmocka_unit_test(test_partitioned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
