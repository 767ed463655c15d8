/* test_coltype.c: PostgreSQL type OID + typmod to cleave's Avro carriage (schema/coltype.h), and the
 * type's spelling. The OIDs and typmods were checked against pg_type and pg_attribute of PostgreSQL 15
 * (e.g. numeric(12,2) has atttypmod 786438, numeric(5,-2) 329730, varchar(40) 44, char(3) 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "schema/coltype.h"

static struct coltype ct(uint32_t oid, int32_t typmod)
{
	struct coltype t;

	memset(&t, 0xa5, sizeof t); /* every field must be written */
	coltype_from_pg(oid, typmod, &t);
	return t;
}

static void assert_name(uint32_t oid, int32_t typmod, const char *want)
{
	struct coltype t = ct(oid, typmod);
	char name[128];

	coltype_pg_name(&t, name, sizeof name);
	assert_string_equal(name, want);
}

static const struct {
	uint32_t oid, array_oid;
	enum coltype_kind kind;
	const char *name;
} builtins[] = {
	{16, 1000, CT_BOOLEAN, "boolean"},
	{21, 1005, CT_INT, "smallint"},
	{23, 1007, CT_INT, "integer"},
	{20, 1016, CT_LONG, "bigint"},
	{700, 1021, CT_FLOAT, "real"},
	{701, 1022, CT_DOUBLE, "double precision"},
	{1700, 1231, CT_NUMERIC, "numeric"},
	{25, 1009, CT_STRING, "text"},
	{1043, 1015, CT_STRING, "varchar"},
	{1042, 1014, CT_STRING, "bpchar"},
	{17, 1001, CT_BYTES, "bytea"},
	{1082, 1182, CT_DATE, "date"},
	{1083, 1183, CT_TIME, "time"},
	{1114, 1115, CT_TIMESTAMP, "timestamp"},
	{1184, 1185, CT_TIMESTAMPTZ, "timestamp with time zone"},
	{2950, 2951, CT_UUID, "uuid"},
	{114, 199, CT_JSON, "json"},
	{3802, 3807, CT_JSON, "jsonb"},
};

/* Every mapped type and its array, without a typmod. */
static void test_builtins(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
		struct coltype s = ct(builtins[i].oid, -1), a = ct(builtins[i].array_oid, -1);
		char name[128], aname[140];

		assert_int_equal(s.kind, builtins[i].kind);
		assert_int_equal(s.elem, builtins[i].kind);
		assert_true(s.known);
		assert_int_equal(s.pg_oid, builtins[i].oid);
		assert_int_equal(s.pg_typmod, -1);
		assert_int_equal(s.maxlen, -1);
		assert_int_equal(s.precision, 0);
		assert_int_equal(s.scale, 0);

		assert_int_equal(a.kind, CT_ARRAY);
		assert_int_equal(a.elem, builtins[i].kind);
		assert_true(a.known);
		assert_int_equal(a.pg_oid, builtins[i].array_oid);

		coltype_pg_name(&s, name, sizeof name);
		assert_string_equal(name, builtins[i].name);
		coltype_pg_name(&a, aname, sizeof aname);
		snprintf(name, sizeof name, "%s[]", builtins[i].name);
		assert_string_equal(aname, name);
	}
}

static void test_numeric(void **state)
{
	struct coltype t;

	(void)state;
	/* numeric(12,2): ((12 << 16) | 2) + 4 */
	t = ct(1700, 786438);
	assert_int_equal(t.kind, CT_DECIMAL);
	assert_int_equal(t.precision, 12);
	assert_int_equal(t.scale, 2);
	assert_int_equal(t.pg_typmod, 786438);
	assert_name(1700, 786438, "numeric(12,2)");

	t = ct(1700, (1000 << 16) + 4); /* numeric(1000,0) */
	assert_int_equal(t.kind, CT_DECIMAL);
	assert_int_equal(t.precision, 1000);
	assert_int_equal(t.scale, 0);

	t = ct(1700, ((60 << 16) | 10) + 4);
	assert_int_equal(t.kind, CT_DECIMAL);
	assert_int_equal(t.precision, 60);
	assert_int_equal(t.scale, 10);

	t = ct(1700, ((5 << 16) | 5) + 4); /* numeric(5,5): only a fraction */
	assert_int_equal(t.kind, CT_DECIMAL);
	assert_int_equal(t.scale, 5);

	/* an Avro decimal needs 0 <= scale <= precision: these travel as strings */
	t = ct(1700, 329730); /* numeric(5,-2) */
	assert_int_equal(t.kind, CT_NUMERIC);
	assert_name(1700, 329730, "numeric(5,-2)");
	t = ct(1700, 196617); /* numeric(3,5) */
	assert_int_equal(t.kind, CT_NUMERIC);
	assert_name(1700, 196617, "numeric(3,5)");
	t = ct(1700, -1);
	assert_int_equal(t.kind, CT_NUMERIC);
	assert_int_equal(t.precision, 0);

	/* numeric(12,2)[]: the column carries the element's typmod */
	t = ct(1231, 786438);
	assert_int_equal(t.kind, CT_ARRAY);
	assert_int_equal(t.elem, CT_DECIMAL);
	assert_int_equal(t.precision, 12);
	assert_int_equal(t.scale, 2);
	assert_name(1231, 786438, "numeric(12,2)[]");
	t = ct(1231, -1);
	assert_int_equal(t.elem, CT_NUMERIC);
}

static void test_strings(void **state)
{
	struct coltype t;

	(void)state;
	t = ct(1043, 44);
	assert_int_equal(t.kind, CT_STRING);
	assert_int_equal(t.maxlen, 40);
	assert_name(1043, 44, "varchar(40)");
	t = ct(1042, 7);
	assert_int_equal(t.kind, CT_STRING);
	assert_int_equal(t.maxlen, 3);
	assert_name(1042, 7, "character(3)");
	t = ct(1015, 44);
	assert_int_equal(t.kind, CT_ARRAY);
	assert_int_equal(t.elem, CT_STRING);
	assert_int_equal(t.maxlen, 40);
	assert_name(1015, 44, "varchar(40)[]");
	assert_name(1014, 7, "character(3)[]");
	t = ct(25, -1);
	assert_int_equal(t.maxlen, -1);
}

static void test_time_precision(void **state)
{
	(void)state;
	assert_name(1083, 3, "time(3)");
	assert_name(1114, 0, "timestamp(0)");
	assert_name(1184, 2, "timestamp(2) with time zone");
	assert_name(1185, 6, "timestamp(6) with time zone[]");
	assert_name(1183, -1, "time[]");
}

/* Built-in types carried as their text form (docs/types.md): known, and their arrays are arrays of the
 * text; box[] (elements separated by ';') is carried whole. */
static void test_text_forms(void **state)
{
	static const uint32_t text_forms[] = {
		1186 /* interval */, 869 /* inet */, 650 /* cidr */, 829 /* macaddr */, 774 /* macaddr8 */,
		790 /* money */, 1560 /* bit */, 1562 /* varbit */, 142 /* xml */, 3614 /* tsvector */,
		3615 /* tsquery */, 1266 /* timetz */, 3904 /* int4range */, 3910 /* tstzrange */,
		4451 /* int4multirange */, 600 /* point */, 18 /* "char" */, 19 /* name */, 26 /* oid */,
	};
	struct coltype t;

	(void)state;
	for (size_t i = 0; i < sizeof text_forms / sizeof text_forms[0]; i++) {
		t = ct(text_forms[i], -1);
		assert_int_equal(t.kind, CT_TEXT_FORM);
		assert_true(t.known);
	}
	t = ct(1187, -1); /* interval[] */
	assert_int_equal(t.kind, CT_ARRAY);
	assert_int_equal(t.elem, CT_TEXT_FORM);
	assert_true(t.known);
	assert_int_equal(coltype_elem_oid(1187), 1186);
	t = ct(1020, -1); /* box[] */
	assert_int_equal(t.kind, CT_TEXT_FORM);
	assert_true(t.known);
	assert_name(1186, -1, "interval");
	assert_name(1187, -1, "interval[]");
	assert_name(1560, 5, "bit(5)");
	assert_name(1563, 8, "bit varying(8)[]");
	assert_name(1562, -1, "bit varying");
	assert_name(1266, 3, "time(3) with time zone");
	assert_name(1266, -1, "time with time zone");
	assert_name(3614, -1, "tsvector");
	assert_name(1020, -1, "box[]");
}

/* Built-in types cleave does not map are text with known = false; user types are text, known. */
static void test_unmapped(void **state)
{
	static const uint32_t builtin_unmapped[] = {
		27 /* tid */, 28 /* xid */, 22 /* int2vector */, 1033 /* aclitem */, 1034 /* _aclitem */,
		2205 /* regclass */, 24 /* regproc */, 0, 16383,
	};
	struct coltype t;
	char name[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof builtin_unmapped / sizeof builtin_unmapped[0]; i++) {
		t = ct(builtin_unmapped[i], -1);
		assert_int_equal(t.kind, CT_TEXT_FORM);
		assert_false(t.known);
		assert_int_equal(t.pg_oid, builtin_unmapped[i]);
	}
	t = ct(16384, -1);
	assert_int_equal(t.kind, CT_TEXT_FORM);
	assert_true(t.known);
	t = ct(4000000000u, 12);
	assert_int_equal(t.kind, CT_TEXT_FORM);
	assert_true(t.known);
	assert_int_equal(t.pg_typmod, 12);
	assert_int_equal(t.maxlen, -1);

	assert_name(27, -1, "oid 27");
	assert_name(70000, -1, "oid 70000");
	t = ct(4000000000u, -1);
	coltype_pg_name(&t, name, sizeof name);
	assert_string_equal(name, "oid 4000000000");
}

static void test_name_buffer(void **state)
{
	struct coltype t = ct(1184, -1);
	char small[8];

	(void)state;
	memset(small, 'x', sizeof small);
	coltype_pg_name(&t, small, sizeof small);
	assert_string_equal(small, "timesta"); /* truncated, terminated */
	coltype_pg_name(&t, NULL, 0);
	coltype_pg_name(&t, small, 0);
	assert_string_equal(small, "timesta");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_time_precision),
		cmocka_unit_test(test_text_forms),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_name_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
