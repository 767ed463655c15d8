/* test_sinkvalue_widen.c: the lossless wider column type a target column gets when the source's column type
 * changed (sinkvalue_widen), for PostgreSQL and MySQL, and the changes it refuses (narrowing, other kinds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sinks/sinkvalue.h"

#define NUMERIC(p, s) ((((p) << 16) | (s)) + 4)
#define VARCHAR(n) ((n) + 4)

/* Asserts what sinkvalue_widen says for a source column (oid, typmod) and a declared target column:
 * `expected` the type, or NULL for "cannot widen". */
static void check(enum sinkvalue_engine e, uint32_t oid, int32_t typmod, bool key, const char *declared,
                  const char *expected)
{
	struct coltype t;
	char out[128] = "";
	int rc;

	coltype_from_pg(oid, typmod, &t);
	rc = sinkvalue_widen(e, &t, key, declared, out, sizeof out);
	if (!expected) {
		if (rc != 0)
			fail_msg("oid %u typmod %d into %s: widened to %s, expected no widening", oid, typmod, declared, out);
		return;
	}
	if (rc != 1 || strcmp(out, expected) != 0)
		fail_msg("oid %u typmod %d into %s: rc %d '%s', expected '%s'", oid, typmod, declared, rc, out, expected);
	/* the widened type holds the source's values */
	assert_int_equal((key ? sinkvalue_compatible_key : sinkvalue_compatible)(e, &t, expected), 1);
}

static void test_pg(void **state)
{
	(void)state;
	check(SINKVALUE_PG, 23, -1, false, "smallint", "integer");
	check(SINKVALUE_PG, 20, -1, false, "integer", "bigint");
	check(SINKVALUE_PG, 20, -1, true, "integer", "bigint");
	check(SINKVALUE_PG, 701, -1, false, "real", "double precision");
	check(SINKVALUE_PG, 1043, VARCHAR(20), false, "character varying(10)", "varchar(20)");
	check(SINKVALUE_PG, 25, -1, false, "character varying(10)", "text");
	check(SINKVALUE_PG, 1700, NUMERIC(12, 2), false, "numeric(10,2)", "numeric(12,2)");
	check(SINKVALUE_PG, 1700, NUMERIC(14, 4), false, "numeric(10,2)", "numeric(14,4)");
	/* the target has more integer digits than the source's new type: both kept */
	check(SINKVALUE_PG, 1700, NUMERIC(12, 4), false, "numeric(20,2)", "numeric(22,4)");
	check(SINKVALUE_PG, 1700, -1, false, "numeric(10,2)", "numeric");
	check(SINKVALUE_PG, 1700, NUMERIC(12, 2), false, "integer", "numeric(12,2)");
	/* no lossless widening: another kind, or a narrower type than the column's */
	check(SINKVALUE_PG, 25, -1, false, "integer", NULL);
	check(SINKVALUE_PG, 23, -1, false, "text", NULL);
	check(SINKVALUE_PG, 1700, NUMERIC(12, 2), false, "double precision", NULL);
	check(SINKVALUE_PG, 1043, VARCHAR(20), false, "text", NULL);
	check(SINKVALUE_PG, 1700, NUMERIC(10, 2), false, "numeric", NULL);
	check(SINKVALUE_PG, 1184, -1, false, "timestamp without time zone", NULL);
	check(SINKVALUE_PG, 1043, VARCHAR(20), false, "character(10)", NULL);
}

static void test_mysql(void **state)
{
	(void)state;
	check(SINKVALUE_MYSQL, 20, -1, false, "int(11)", "BIGINT");
	check(SINKVALUE_MYSQL, 20, -1, true, "int(11)", "BIGINT");
	check(SINKVALUE_MYSQL, 23, -1, false, "smallint(6)", "INT");
	check(SINKVALUE_MYSQL, 701, -1, false, "float", "DOUBLE");
	check(SINKVALUE_MYSQL, 1043, VARCHAR(20), false, "varchar(10)", "VARCHAR(20)");
	check(SINKVALUE_MYSQL, 25, -1, false, "varchar(10)", "LONGTEXT");
	check(SINKVALUE_MYSQL, 1700, NUMERIC(12, 2), false, "decimal(10,2)", "DECIMAL(12,2)");
	check(SINKVALUE_MYSQL, 1700, NUMERIC(12, 4), false, "decimal(20,2)", "DECIMAL(22,4)");
	check(SINKVALUE_MYSQL, 25, -1, false, "int(11)", NULL);
	check(SINKVALUE_MYSQL, 23, -1, false, "int(10) unsigned", NULL);
	check(SINKVALUE_MYSQL, 1700, NUMERIC(60, 30), false, "decimal(40,2)", NULL); /* beyond DECIMAL(65,30) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg),
		cmocka_unit_test(test_mysql),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
