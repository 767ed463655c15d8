/* test_reconcile_canon.c: the canonical-text SQL expressions of reconcile/canon.c, type by type and
 * engine by engine (their results on real servers are checked by tests/integration/test_reconcile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reconcile/canon.h"

static char *expr(enum sinkvalue_engine target, enum canon_side side, uint32_t oid, int32_t typmod, const char *col)
{
	struct coltype t;
	struct buf b;

	coltype_from_pg(oid, typmod, &t);
	buf_init(&b, 0);
	assert_int_equal(canon_expr(target, side, &t, col, &b), 0);
	assert_int_equal(buf_putc(&b, 0), 0);
	return (char *)b.data;
}

static void assert_expr(enum sinkvalue_engine target, enum canon_side side, uint32_t oid, int32_t typmod,
                        const char *want)
{
	char *got = expr(target, side, oid, typmod, "c");

	assert_string_equal(got, want);
	free(got);
}

/* The expression holds `part` (long expressions whose whole text would only repeat canon.c). */
static void assert_expr_has(enum sinkvalue_engine target, enum canon_side side, uint32_t oid, int32_t typmod,
                            const char *part)
{
	char *got = expr(target, side, oid, typmod, "c");

	if (!strstr(got, part))
		fail_msg("%s\ndoes not hold\n%s", got, part);
	free(got);
}

static void test_pg_target_is_pg_text(void **state)
{
	(void)state;
	assert_expr(SINKVALUE_PG, CANON_SOURCE, 23, -1, "c::text");
	assert_expr(SINKVALUE_PG, CANON_TARGET, 1184, -1, "c::text");
	assert_expr(SINKVALUE_PG, CANON_SOURCE, 701, -1, "c::text");
	/* json becomes jsonb in the target: both sides compare jsonb's canonical text */
	assert_expr(SINKVALUE_PG, CANON_SOURCE, 114, -1, "c::jsonb::text");
	assert_expr(SINKVALUE_PG, CANON_TARGET, 3802, -1, "c::jsonb::text");
	assert_expr(SINKVALUE_PG, CANON_SOURCE, 199, -1, "c::jsonb[]::text"); /* json[] */
}

static void test_mysql_forms(void **state)
{
	(void)state;
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 16, -1, "CASE WHEN c THEN '1' WHEN NOT c THEN '0' END");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 16, -1, "CAST(c AS CHAR)");
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 20, -1, "c::text");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 20, -1, "CAST(c AS CHAR)");
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 1700, ((12 << 16) | 3) + 4, "c::text");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1700, ((12 << 16) | 3) + 4, "CAST(c AS CHAR)");
	/* char(n): MySQL drops trailing blanks when it reads CHAR; so does the source side */
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 1042, 9, "rtrim(c::text, ' ')");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1042, 9, "TRIM(TRAILING ' ' FROM CONVERT(c USING utf8mb4))");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 25, -1, "CONVERT(c USING utf8mb4)");
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 17, -1, "encode(c, 'hex')");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 17, -1, "LOWER(HEX(c))");
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 1083, -1,
	            "CASE WHEN c = '24:00:00' THEN '24:00:00.000000' ELSE to_char(c, 'HH24:MI:SS.US') END");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1083, -1, "TIME_FORMAT(c, '%H:%i:%s.%f')");
	/* timestamptz: UTC on the source; MySQL's DATETIME(6) holds UTC already */
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 1184, -1,
	            "CASE WHEN isfinite(c) THEN to_char(c AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') ELSE c::text END");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1184, -1, "DATE_FORMAT(c, '%Y-%m-%d %H:%i:%s.%f')");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1114, -1, "DATE_FORMAT(c, '%Y-%m-%d %H:%i:%s.%f')");
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 1082, -1, "c::text");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1082, -1, "DATE_FORMAT(c, '%Y-%m-%d')");
	/* json: the text the sink wrote; arrays: the JSON text the sink writes */
	assert_expr(SINKVALUE_MYSQL, CANON_SOURCE, 114, -1, "c::text");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 3802, -1, "CONVERT(c USING utf8mb4)");
	/* one dimension: the items joined; more: nested (test_reconcile.c runs both on real servers) */
	assert_expr_has(SINKVALUE_MYSQL, CANON_SOURCE, 1007, -1,
	                " ELSE (SELECT '[' || coalesce(string_agg(CASE WHEN e IS NULL THEN 'null' ELSE"
	                " e::text END, ', ' ORDER BY o), '') || ']' FROM unnest(c) WITH ORDINALITY u(e, o)) END");
	assert_expr_has(SINKVALUE_MYSQL, CANON_SOURCE, 1007, -1,
	                "WHEN array_ndims(c) > 1 THEN (SELECT string_agg(repeat('[', op) || CASE WHEN e IS NULL THEN"
	                " 'null' ELSE e::text END || repeat(']', cl), ', ' ORDER BY o)");
	assert_expr_has(SINKVALUE_MYSQL, CANON_SOURCE, 1231, -1,
	                " ELSE (SELECT '[' || coalesce(string_agg(CASE WHEN e IS NULL THEN 'null' ELSE"
	                " '\"' || e::text || '\"' END, ', ' ORDER BY o), '') || ']' FROM unnest(c) WITH ORDINALITY u(e, o)) END");
	assert_expr(SINKVALUE_MYSQL, CANON_TARGET, 1007, -1, "CONVERT(c USING utf8mb4)");
}

static void test_floats(void **state)
{
	char *s, *m;

	(void)state;
	/* both sides normalise their shortest round-trip text; real goes through double on both */
	s = expr(SINKVALUE_MYSQL, CANON_SOURCE, 700, -1, "c");
	m = expr(SINKVALUE_MYSQL, CANON_TARGET, 700, -1, "c");
	assert_non_null(strstr(s, "(SELECT (c::float8::text)::text AS t)"));
	assert_non_null(strstr(s, "'NaN', 'Infinity', '-Infinity'"));
	assert_non_null(strstr(m, "CAST(CAST(c AS DOUBLE) AS CHAR)"));
	assert_null(strchr(m, '@'));
	assert_null(strchr(s, '@'));
	free(s);
	free(m);
}

static void test_key_class(void **state)
{
	struct coltype t;

	(void)state;
	coltype_from_pg(23, -1, &t);
	assert_int_equal(canon_key_class(&t), CANON_KEY_INT);
	coltype_from_pg(20, -1, &t);
	assert_int_equal(canon_key_class(&t), CANON_KEY_INT);
	coltype_from_pg(25, -1, &t);
	assert_int_equal(canon_key_class(&t), CANON_KEY_TEXT);
	coltype_from_pg(2950, -1, &t);
	assert_int_equal(canon_key_class(&t), CANON_KEY_TEXT);
	coltype_from_pg(1042, 9, &t);
	assert_int_equal(canon_key_class(&t), CANON_KEY_CANON);
	coltype_from_pg(1184, -1, &t);
	assert_int_equal(canon_key_class(&t), CANON_KEY_CANON);
}

static void test_quote_and_json_compare(void **state)
{
	struct coltype t;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(canon_quote_ident(SINKVALUE_PG, "a\"b", &b), 0);
	assert_int_equal(canon_quote_ident(SINKVALUE_MYSQL, "c`d", &b), 0);
	assert_int_equal(buf_putc(&b, 0), 0);
	assert_string_equal((char *)b.data, "\"a\"\"b\"`c``d`");
	buf_free(&b);
	coltype_from_pg(114, -1, &t);
	assert_true(canon_json_compare(SINKVALUE_MYSQL, &t));
	assert_false(canon_json_compare(SINKVALUE_PG, &t));
	coltype_from_pg(1009, -1, &t);
	assert_true(canon_json_compare(SINKVALUE_MYSQL, &t));
	coltype_from_pg(25, -1, &t);
	assert_false(canon_json_compare(SINKVALUE_MYSQL, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_target_is_pg_text), cmocka_unit_test(test_mysql_forms),
		cmocka_unit_test(test_floats), cmocka_unit_test(test_key_class),
		cmocka_unit_test(test_quote_and_json_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
