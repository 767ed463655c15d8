/* test_reconcile_rangesql.c: the SQL of reconcile/rangesql.c for both engines: the row hash, checksums of a
 * range, cut points, leaf rows, rows by key, key literals (quoted, hex, integers checked) and key order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reconcile/rangesql.h"

/* id integer, grp text (a key column when composite), note text; source PostgreSQL, target MySQL */
static void side(struct rs_side *s, enum sinkvalue_engine engine, bool composite)
{
	struct rs_column cols[3] = {0};

	coltype_from_pg(23, -1, &cols[0].type);
	cols[0].name = "id";
	cols[0].key = true;
	coltype_from_pg(25, -1, &cols[1].type);
	cols[1].name = "grp";
	cols[1].key = composite;
	coltype_from_pg(25, -1, &cols[2].type);
	cols[2].name = "note";
	cols[2].key = false;
	assert_int_equal(rs_side_init(s, engine, SINKVALUE_MYSQL, engine == SINKVALUE_PG ? "public" : NULL, "t", cols, 3),
	                 0);
}

static void assert_sql(int rc, struct buf *b, const char *want)
{
	assert_int_equal(rc, 0);
	assert_int_equal(buf_putc(b, 0), 0);
	assert_string_equal((char *)b->data, want);
	buf_reset(b);
}

#define PG_HASH                                                                                                 \
	"('x' || substr(md5(coalesce('v' || \"id\"::text || '|', 'n') || coalesce('v' ||" \
	" octet_length(\"grp\"::text) || ':' || \"grp\"::text, 'n') || coalesce('v' || octet_length(\"note\"::text) ||" \
	" ':' || \"note\"::text, 'n')), 1, 15))::bit(60)::bigint"
#define MY_HASH                                                                                                 \
	"CAST(CONV(SUBSTRING(MD5(CONCAT(COALESCE(CONCAT('v', CAST(`id` AS CHAR), '|'),"    \
	" 'n'), COALESCE(CONCAT('v', LENGTH(CONVERT(`grp` USING utf8mb4)), ':', CONVERT(`grp` USING utf8mb4)), 'n'),"  \
	" COALESCE(CONCAT('v', LENGTH(CONVERT(`note` USING utf8mb4)), ':', CONVERT(`note` USING utf8mb4)), 'n'))), 1,"  \
	" 15), 16, 10) AS UNSIGNED)"
#define PG_RANGE                                                                                                \
	" WHERE (\"id\", (\"grp\"::text) COLLATE \"C\") > (10, 'a''b') AND (\"id\", (\"grp\"::text) COLLATE \"C\") <="  \
	" (20, '\xc3\xa9')"
#define MY_KX "(`id`, CAST(CONVERT(`grp` USING utf8mb4) AS BINARY))"
#define MY_RANGE " WHERE " MY_KX " > (10, X'612762') AND " MY_KX " <= (20, X'c3a9')"

static char *lo[] = {"10", "a'b"}, *hi[] = {"20", "\xc3\xa9"};

static void test_pg(void **state)
{
	struct rs_side s;
	struct buf b;
	struct rs_range r = {lo, hi}, whole = {NULL, NULL};
	char **keys[] = {lo, hi};

	(void)state;
	side(&s, SINKVALUE_PG, true);
	buf_init(&b, 0);
	assert_string_equal(s.hash, PG_HASH);
	assert_sql(rs_checksum_sql(&s, &r, &b), &b,
	           "SELECT count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT " PG_HASH " AS h FROM \"public\".\"t\"" PG_RANGE
	           ") s");
	assert_sql(rs_checksum_sql(&s, &whole, &b), &b,
	           "SELECT count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT " PG_HASH " AS h FROM \"public\".\"t\") s");
	assert_sql(rs_bounds_sql(&s, &r, 16, &b), &b,
	           "SELECT k0, k1 FROM (SELECT \"id\"::text AS k0, \"grp\"::text AS k1, row_number() OVER (ORDER BY \"id\","
	           " (\"grp\"::text) COLLATE \"C\") AS rn FROM \"public\".\"t\"" PG_RANGE ") s WHERE rn % 16 = 0 ORDER BY rn");
	assert_sql(rs_leaf_sql(&s, &r, &b), &b,
	           "SELECT \"id\"::text, \"grp\"::text, (" PG_HASH ")::text FROM \"public\".\"t\"" PG_RANGE);
	assert_sql(rs_rows_sql(&s, (char *const *const *)keys, 2, &b), &b,
	           "SELECT \"id\"::text, \"grp\"::text, \"id\"::text, \"grp\"::text, \"note\"::text FROM \"public\".\"t\""
	           " WHERE (\"id\", (\"grp\"::text) COLLATE \"C\") IN ((10, 'a''b'), (20, '\xc3\xa9'))");
	buf_free(&b);
	rs_side_free(&s);
}

static void test_mysql(void **state)
{
	struct rs_side s;
	struct buf b;
	struct rs_range r = {lo, hi}, upper = {NULL, hi};
	char **keys[] = {lo};

	(void)state;
	side(&s, SINKVALUE_MYSQL, true);
	buf_init(&b, 0);
	assert_string_equal(s.table, "`t`");
	assert_string_equal(s.hash, MY_HASH);
	assert_sql(rs_checksum_sql(&s, &r, &b), &b,
	           "SELECT CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(" MY_HASH "), 0) AS CHAR) FROM `t`" MY_RANGE);
	assert_sql(rs_checksum_sql(&s, &upper, &b), &b,
	           "SELECT CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(" MY_HASH "), 0) AS CHAR) FROM `t` WHERE " MY_KX
	           " <= (20, X'c3a9')");
	assert_sql(rs_leaf_sql(&s, &r, &b), &b,
	           "SELECT CAST(`id` AS CHAR), CONVERT(`grp` USING utf8mb4), CAST(" MY_HASH " AS CHAR) FROM `t`" MY_RANGE);
	assert_sql(rs_keys_where(&s, (char *const *const *)keys, 1, &b), &b, MY_KX " IN ((10, X'612762'))");
	buf_free(&b);
	rs_side_free(&s);
}

/* Ranges cut by points, summed in one statement: bucket i = the keys in (cut i-1, cut i], by a binary
 * search written as nested CASE (cuts 0..2: buckets 0..3) */
static void test_cuts(void **state)
{
	struct rs_side s;
	struct buf b;
	struct rs_range r = {lo, NULL};
	char *c0[] = {"11", "a"}, *c1[] = {"12", "b"}, *c2[] = {"13", "c"};
	char **cuts[] = {c0, c1, c2};

	(void)state;
	side(&s, SINKVALUE_MYSQL, true);
	buf_init(&b, 0);
	assert_sql(rs_cuts_sql(&s, &r, (char *const *const *)cuts, 3, &b), &b,
	           "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM (SELECT CASE WHEN "
	           MY_KX " <= (12, X'62') THEN CASE WHEN " MY_KX " <= (11, X'61') THEN 0 ELSE 1 END ELSE CASE WHEN " MY_KX
	           " <= (13, X'63') THEN 2 ELSE 3 END END AS b, " MY_HASH " AS h FROM `t` WHERE " MY_KX
	           " > (10, X'612762')) s GROUP BY b");
	buf_reset(&b);
	/* one cut: two buckets; none: one */
	assert_sql(rs_cuts_sql(&s, &r, (char *const *const *)cuts, 0, &b), &b,
	           "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM (SELECT 0 AS b, "
	           MY_HASH " AS h FROM `t` WHERE " MY_KX " > (10, X'612762')) s GROUP BY b");
	buf_free(&b);
	rs_side_free(&s);
	side(&s, SINKVALUE_PG, false);
	buf_init(&b, 0);
	assert_sql(rs_cuts_sql(&s, &r, (char *const *const *)cuts, 1, &b), &b,
	           "SELECT b::text, count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT CASE WHEN \"id\" <= 11 THEN 0"
	           " ELSE 1 END AS b, " PG_HASH " AS h FROM \"public\".\"t\" WHERE \"id\" > 10) s GROUP BY b");
	buf_free(&b);
	rs_side_free(&s);
}

static void test_literals_checked(void **state)
{
	struct rs_side s;
	struct buf b;
	char *bad[] = {"1 OR 1=1"}, *neg[] = {"-5"};
	struct rs_range r = {bad, NULL}, rn = {neg, NULL};

	(void)state;
	side(&s, SINKVALUE_PG, false);
	buf_init(&b, 0);
	assert_int_equal(rs_checksum_sql(&s, &r, &b), -1); /* an integer key must be an integer */
	buf_reset(&b);
	assert_int_equal(rs_checksum_sql(&s, &rn, &b), 0);
	assert_int_equal(buf_putc(&b, 0), 0);
	assert_non_null(strstr((char *)b.data, " WHERE \"id\" > -5) s"));
	buf_free(&b);
	rs_side_free(&s);
}

static void test_buckets(void **state)
{
	struct rs_side s;
	struct buf b;
	char *l[] = {"100"}, *h[] = {"260"};
	struct rs_range r = {l, h};

	(void)state;
	side(&s, SINKVALUE_MYSQL, false);
	buf_init(&b, 0);
	assert_sql(rs_buckets_sql(&s, &r, 101, 10, &b), &b,
	           "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM (SELECT (`id` -"
	           " (101)) DIV 10 AS b, " MY_HASH " AS h FROM `t` WHERE `id` > 100 AND `id` <= 260) s GROUP BY b");
	assert_sql(rs_buckets_all_sql(&s, 1, 1000, 100, 10, &b), &b,
	           "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM (SELECT CASE"
	           " WHEN `id` < 1 THEN -1 WHEN `id` > 1000 THEN 10 ELSE (`id` - (1)) DIV 100 END AS b, " MY_HASH
	           " AS h FROM `t`) s GROUP BY b");
	buf_free(&b);
	rs_side_free(&s);
	/* buckets need one integer key */
	side(&s, SINKVALUE_MYSQL, true);
	buf_init(&b, 0);
	assert_int_equal(rs_buckets_sql(&s, &r, 101, 10, &b), -1);
	buf_free(&b);
	rs_side_free(&s);
}

/* PostgreSQL on both sides: each column's own hash function seeded with its position, XORed; json as
 * jsonb, text forms as text, kinds whose hash function takes another type through a one-column row */
static void test_pg_fast_hash(void **state)
{
	struct rs_side s;
	struct rs_column cols[5];

	(void)state;
	coltype_from_pg(23, -1, &cols[0].type);
	cols[0] = (struct rs_column){.name = "id", .type = cols[0].type, .key = true};
	coltype_from_pg(114, -1, &cols[1].type);
	cols[1] = (struct rs_column){.name = "j", .type = cols[1].type};
	coltype_from_pg(16500, -1, &cols[2].type); /* a user enum */
	cols[2] = (struct rs_column){.name = "e", .type = cols[2].type};
	coltype_from_pg(1184, -1, &cols[3].type);
	cols[3] = (struct rs_column){.name = "ts", .type = cols[3].type};
	coltype_from_pg(2950, -1, &cols[4].type); /* a uuid kept in text in the target: its text is hashed */
	cols[4] = (struct rs_column){.name = "u", .type = cols[4].type, .loose = true};
	assert_int_equal(rs_side_init(&s, SINKVALUE_PG, SINKVALUE_PG, NULL, "t", cols, 5), 0);
	assert_string_equal(s.hash, "(coalesce(hashint4extended(\"id\", 1), 0) # coalesce(jsonb_hash_extended(\"j\"::jsonb, 2), 0)"
	                            " # coalesce(hashtextextended(\"e\"::text, 3), 0)"
	                            " # coalesce(timestamp_hash_extended(\"ts\"::timestamp, 4), 0)"
	                            " # coalesce(hashtextextended(\"u\"::text, 5), 0))");
	assert_string_equal(s.cx[1], "\"j\"::jsonb::text");
	rs_side_free(&s);
}

static void test_key_order(void **state)
{
	struct rs_side s;
	char *a[] = {"9", "b"}, *b[] = {"10", "a"}, *c[] = {"10", "\xc3\xa9"}, *d[] = {"10", "B"};

	(void)state;
	side(&s, SINKVALUE_PG, true);
	assert_true(rs_key_cmp(&s, a, b) < 0); /* integers numerically */
	assert_true(rs_key_cmp(&s, b, c) < 0); /* text bytewise: 'a' < 'é' */
	assert_true(rs_key_cmp(&s, d, b) < 0); /* 'B' < 'a', whatever a collation says */
	assert_int_equal(rs_key_cmp(&s, c, c), 0);
	rs_side_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg),
		cmocka_unit_test(test_mysql),
		cmocka_unit_test(test_cuts),
		cmocka_unit_test(test_literals_checked),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_pg_fast_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
