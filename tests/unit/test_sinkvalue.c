/* test_sinkvalue.c: decoded event values to PostgreSQL and MySQL text (sinks/sinkvalue.h), exact strings for
 * every type of SPEC.md §5 and their edge cases; the column types each engine gets; which existing columns
 * can hold a type. Expected day and microsecond numbers were computed by PostgreSQL 15
 * (d - date '1970-01-01', extract(epoch from ts) * 1000000), expected float texts are PostgreSQL's own
 * shortest output. Every call appends to a buffer that already holds a marker, which must survive, and an
 * error must leave the buffer as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "schema/coltype.h"
#include "sinks/sinkvalue.h"

#define NUMTM(p, s) ((((p) << 16) | ((s) & 0x7ff)) + 4)
#define LENTM(n) ((n) + 4)
#define MARKER "@"

static struct coltype T(uint32_t oid, int32_t typmod)
{
	struct coltype t;

	coltype_from_pg(oid, typmod, &t);
	return t;
}

/* The JSON value of a JSON text (any kind), as avro_decode would hand it over. */
static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return j;
}

#define S(s) json_string(s)
#define I(i) json_integer(i)
#define R(d) json_real(d)

static const char *engine_name(enum sinkvalue_engine e)
{
	return e == SINKVALUE_PG ? "pg" : "mysql";
}

/* Takes the reference to v. */
static void check_ok(enum sinkvalue_engine e, const struct coltype *t, json_t *v, const char *want, size_t wantlen,
		     const char *file, int line)
{
	struct buf out;
	struct cerr err;
	int rc;

	assert_non_null(v);
	buf_init(&out, 0);
	assert_int_equal(buf_puts(&out, MARKER), 0);
	cerr_clear(&err);
	rc = sinkvalue_text(e, t, v, &out, &err);
	if (rc != 0)
		fail_msg("%s:%d: %s: rc %d: %s", file, line, engine_name(e), rc, err.msg);
	if (out.len != wantlen + 1 || memcmp(out.data, MARKER, 1) != 0 || memcmp(out.data + 1, want, wantlen) != 0)
		fail_msg("%s:%d: %s: got \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", file, line, engine_name(e),
			 (int)(out.len > 201 ? 200 : out.len - 1), out.data + 1, out.len - 1,
			 (int)(wantlen > 200 ? 200 : wantlen), want, wantlen);
	if (out.data[out.len] != '\0')
		fail_msg("%s:%d: %s: output not NUL-terminated", file, line, engine_name(e));
	json_decref(v);
	buf_free(&out);
}

/* Fails, non-retriable, with a message holding `want`, and leaves the output as it was. Takes v. */
static void check_bad(enum sinkvalue_engine e, const struct coltype *t, json_t *v, const char *want,
		      const char *file, int line)
{
	struct buf out;
	struct cerr err;
	int rc;

	assert_non_null(v);
	buf_init(&out, 0);
	assert_int_equal(buf_puts(&out, MARKER), 0);
	cerr_clear(&err);
	rc = sinkvalue_text(e, t, v, &out, &err);
	if (rc != -1)
		fail_msg("%s:%d: %s: rc %d, want -1 (output \"%.*s\")", file, line, engine_name(e), rc,
			 (int)(out.len > 100 ? 100 : out.len), out.data);
	if (!err.set || err.retriable || !strstr(err.msg, want))
		fail_msg("%s:%d: %s: message \"%s\" (retriable %d) lacks \"%s\"", file, line, engine_name(e), err.msg,
			 err.retriable, want);
	if (out.len != 1 || memcmp(out.data, MARKER "", 2) != 0)
		fail_msg("%s:%d: %s: output changed on error", file, line, engine_name(e));
	json_decref(v);
	buf_free(&out);
}

#define PG_OK(t, v, want) check_ok(SINKVALUE_PG, &(t), v, want, strlen(want), __FILE__, __LINE__)
#define MY_OK(t, v, want) check_ok(SINKVALUE_MYSQL, &(t), v, want, strlen(want), __FILE__, __LINE__)
#define MY_OK_N(t, v, want, n) check_ok(SINKVALUE_MYSQL, &(t), v, want, n, __FILE__, __LINE__)
#define BOTH_OK(t, v, want) \
	do { \
		PG_OK(t, v, want); \
		MY_OK(t, v, want); \
	} while (0)
#define PG_BAD(t, v, want) check_bad(SINKVALUE_PG, &(t), v, want, __FILE__, __LINE__)
#define MY_BAD(t, v, want) check_bad(SINKVALUE_MYSQL, &(t), v, want, __FILE__, __LINE__)
#define BOTH_BAD(t, v, want) \
	do { \
		PG_BAD(t, v, want); \
		MY_BAD(t, v, want); \
	} while (0)

/* ---- scalars ---- */

static void test_boolean(void **state)
{
	struct coltype b = T(16, -1);

	(void)state;
	PG_OK(b, J("true"), "t");
	PG_OK(b, J("false"), "f");
	MY_OK(b, J("true"), "1");
	MY_OK(b, J("false"), "0");
	BOTH_BAD(b, S("t"), "boolean: expected true or false, got a string \"t\"");
	BOTH_BAD(b, I(1), "boolean: expected true or false, got the integer 1");
}

static void test_integers(void **state)
{
	struct coltype i2 = T(21, -1), i4 = T(23, -1), i8 = T(20, -1);

	(void)state;
	BOTH_OK(i2, I(0), "0");
	BOTH_OK(i2, I(-32768), "-32768");
	BOTH_OK(i2, I(32767), "32767");
	BOTH_OK(i4, I(-2147483648LL), "-2147483648");
	BOTH_OK(i4, I(2147483647), "2147483647");
	BOTH_OK(i8, I(INT64_MIN), "-9223372036854775808");
	BOTH_OK(i8, I(INT64_MAX), "9223372036854775807");
	BOTH_OK(i8, I(-1), "-1");
	BOTH_BAD(i2, I(32768), "smallint: 32768 is out of range");
	BOTH_BAD(i2, I(-32769), "smallint: -32769 is out of range");
	BOTH_BAD(i4, I(2147483648LL), "integer: 2147483648 is out of range");
	BOTH_BAD(i4, S("12"), "integer: expected an integer, got a string \"12\"");
	BOTH_BAD(i8, R(1.5), "bigint: expected an integer, got the number 1.5");
	BOTH_BAD(i8, J("true"), "bigint: expected an integer, got true");
	BOTH_BAD(i4, J("{}"), "integer: expected an integer, got an object");
}

static void test_floats(void **state)
{
	struct coltype f4 = T(700, -1), f8 = T(701, -1);

	(void)state;
	/* avro_decode gives a float as the double of its value */
	BOTH_OK(f4, R((double)1.1f), "1.1");
	/* MySQL reads a FLOAT's text as a double and refuses one above FLT_MAX: more digits then */
	PG_OK(f4, R((double)3.4028234663852886e38f), "3.4028235e+38");
	MY_OK(f4, R((double)3.4028234663852886e38f), "3.402823466e+38");
	PG_OK(f4, R((double)-3.4028234663852886e38f), "-3.4028235e+38");
	MY_OK(f4, R((double)-3.4028234663852886e38f), "-3.402823466e+38");
	BOTH_OK(f4, R((double)3.4e38f), "3.4e+38");
	BOTH_OK(f4, R((double)16777217.0f), "16777216");
	BOTH_OK(f4, R((double)1e-40f), "1e-40"); /* subnormal */
	BOTH_OK(f8, R(5e-324), "5e-324");
	BOTH_OK(f8, R(0.0), "0");
	BOTH_OK(f4, I(3), "3");
	BOTH_OK(f8, R(0.1), "0.1");
	BOTH_OK(f8, R(0.1 + 0.2), "0.30000000000000004");
	BOTH_OK(f8, R(1.0 / 3.0), "0.3333333333333333");
	BOTH_OK(f8, R(1e300), "1e+300");
	BOTH_OK(f8, R(-1.7976931348623157e308), "-1.7976931348623157e+308");
	BOTH_OK(f8, R(-0.0), "-0");
	BOTH_OK(f8, R(123456789012.25), "123456789012.25");
	BOTH_OK(f8, I(-42), "-42");
	PG_OK(f8, S("NaN"), "NaN");
	PG_OK(f8, S("Infinity"), "Infinity");
	PG_OK(f8, S("-Infinity"), "-Infinity");
	PG_OK(f4, S("NaN"), "NaN");
	MY_BAD(f8, S("NaN"), "double precision: MySQL DOUBLE cannot hold NaN");
	MY_BAD(f8, S("Infinity"), "MySQL DOUBLE cannot hold Infinity");
	MY_BAD(f4, S("-Infinity"), "real: MySQL FLOAT cannot hold -Infinity");
	BOTH_BAD(f8, S("nan"), "double precision: expected a number or \"NaN\"");
	BOTH_BAD(f8, S("1.5"), "expected a number");
	BOTH_BAD(f8, J("false"), "expected a number");
	BOTH_BAD(f4, R(1e39), "real: 1e+39 is out of range");
}

static void test_decimals(void **state)
{
	struct coltype n12 = T(1700, NUMTM(12, 2)), n50 = T(1700, NUMTM(50, 10)), n70 = T(1700, NUMTM(70, 5));
	struct coltype num = T(1700, -1);
	const char *fifty = "1234567890123456789012345678901234567890.1234567890";
	const char *big = "-123456789012345678901234567890123456789012345678901234567890.000000000000000000000000000001";

	(void)state;
	BOTH_OK(n12, S("-12.34"), "-12.34");
	BOTH_OK(n12, S("0.00"), "0.00");
	BOTH_OK(n12, S("9999999999.99"), "9999999999.99");
	BOTH_OK(n50, S(fifty), fifty);
	PG_OK(n12, S("NaN"), "NaN");
	MY_BAD(n12, S("NaN"), "numeric(12,2): MySQL DECIMAL(12,2) cannot hold NaN");
	/* beyond DECIMAL(65,30) MySQL keeps the text in a VARCHAR, which holds NaN too */
	BOTH_OK(n70, S("NaN"), "NaN");
	BOTH_OK(n70, S("-1.50000"), "-1.50000");
	BOTH_BAD(n12, R(12.34), "numeric(12,2): expected a decimal string such as \"-12.340\" or \"NaN\", got the number 12.34");
	BOTH_BAD(n12, S("12a"), "expected a decimal string");
	BOTH_BAD(n12, S(""), "expected a decimal string");
	BOTH_BAD(n12, S("1e5"), "expected a decimal string");
	BOTH_BAD(n12, S("1."), "expected a decimal string");
	BOTH_BAD(n12, S("-"), "expected a decimal string");
	/* numeric without typmod: any text, NaN and the infinities; MySQL's column is a VARCHAR */
	BOTH_OK(num, S("123.456"), "123.456");
	BOTH_OK(num, S(big), big);
	BOTH_OK(num, S("NaN"), "NaN");
	BOTH_OK(num, S("Infinity"), "Infinity");
	BOTH_OK(num, S("-Infinity"), "-Infinity");
	BOTH_BAD(num, I(5), "numeric: expected a decimal string");
	BOTH_BAD(num, S("inf"), "numeric: expected a decimal string");
}

static void test_strings(void **state)
{
	struct coltype text = T(25, -1), vc = T(1043, LENTM(10)), ch = T(1042, LENTM(5)), uuid = T(2950, -1);
	struct coltype json = T(114, -1), jsonb = T(3802, -1), interval = T(1186, -1), mood = T(16500, -1);
	const char *u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
	char *mb;
	size_t n = 1 << 20;

	(void)state;
	BOTH_OK(text, S("hello"), "hello");
	BOTH_OK(text, S(""), "");
	BOTH_OK(text, S("\xc5\xbc\xc3\xb3\xc5\x82w \xf0\x9f\x90\xa2 \"quoted\" back\\slash\nnew line"),
		"\xc5\xbc\xc3\xb3\xc5\x82w \xf0\x9f\x90\xa2 \"quoted\" back\\slash\nnew line");
	BOTH_OK(text, S("NULL"), "NULL");
	BOTH_OK(vc, S("0123456789"), "0123456789");
	BOTH_OK(ch, S("ab   "), "ab   "); /* char(n) keeps its padding */
	BOTH_OK(uuid, S(u), u);
	BOTH_OK(uuid, S("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
	BOTH_OK(json, S("{\"a\": [1, 2.50, null]}"), "{\"a\": [1, 2.50, null]}");
	BOTH_OK(jsonb, S("[]"), "[]");
	BOTH_OK(interval, S("1 day 02:03:04"), "1 day 02:03:04");
	BOTH_OK(mood, S("happy"), "happy");
	BOTH_BAD(text, I(5), "text: expected a string, got the integer 5");
	BOTH_BAD(vc, J("null"), "varchar(10): NULL is not a value here");
	BOTH_BAD(text, json_stringn("a\0b", 3), "text: the text holds a NUL character");
	BOTH_BAD(uuid, S("not-a-uuid"), "uuid: expected a UUID string, got a string \"not-a-uuid\"");
	BOTH_BAD(uuid, S("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g"), "uuid: expected a UUID string");
	BOTH_BAD(uuid, S("a0eebc999c0b4ef8bb6d6bb9bd380a11"), "uuid: expected a UUID string");
	BOTH_BAD(interval, J("[1]"), "interval: expected a string, got an array");
	BOTH_BAD(mood, R(1), "type oid 16500 (as text): expected a string");
	/* long strings are quoted in messages with a bound, cut between characters */
	BOTH_BAD(uuid, S("\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc"
			 "\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc"),
		 "got a string \"\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc"
		 "\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc\xc5\xbc...\"");

	/* 1 MiB of text, multibyte characters included */
	mb = malloc(n + 1);
	assert_non_null(mb);
	for (size_t i = 0; i < n; i += 4)
		memcpy(mb + i, i % 8 ? "abcd" : "\xf0\x9f\x90\xa2", 4);
	mb[n] = '\0';
	BOTH_OK(text, S(mb), mb);
	free(mb);
}

static void test_bytea(void **state)
{
	struct coltype b = T(17, -1);

	(void)state;
	PG_OK(b, S("\\x0aff"), "\\x0aff");
	PG_OK(b, S("\\x"), "\\x");
	PG_OK(b, S("\\x00ff00"), "\\x00ff00");
	/* MySQL LONGBLOB: the bytes themselves, NUL included */
	MY_OK_N(b, S("\\x00ff00"), "\0\xff\0", 3);
	MY_OK_N(b, S("\\x0A1b"), "\x0a\x1b", 2);
	MY_OK_N(b, S("\\x"), "", 0);
	BOTH_BAD(b, S("0aff"), "bytea: expected \"\\x\" and pairs of hex digits, got a string \"0aff\"");
	BOTH_BAD(b, S("\\x0"), "bytea: expected \"\\x\" and pairs of hex digits");
	BOTH_BAD(b, S("\\xzz"), "bytea: expected");
	BOTH_BAD(b, S(""), "bytea: expected");
	BOTH_BAD(b, I(10), "bytea: expected");
}

static void test_date(void **state)
{
	struct coltype d = T(1082, -1);

	(void)state;
	BOTH_OK(d, I(0), "1970-01-01");
	BOTH_OK(d, I(-1), "1969-12-31");
	BOTH_OK(d, I(19723), "2024-01-01");
	BOTH_OK(d, I(11016), "2000-02-29");
	BOTH_OK(d, I(-135081), "1600-02-29");
	BOTH_OK(d, I(-25508), "1900-03-01");
	BOTH_OK(d, I(-354285), "1000-01-01");
	BOTH_OK(d, I(2932896), "9999-12-31");
	PG_OK(d, I(-354286), "0999-12-31");
	PG_OK(d, I(2932897), "10000-01-01");
	PG_OK(d, I(-719162), "0001-01-01");
	PG_OK(d, I(-719163), "0001-12-31 BC"); /* astronomical year 0 */
	PG_OK(d, I(-719528), "0001-01-01 BC");
	PG_OK(d, I(-735160), "0044-03-15 BC");
	PG_OK(d, I(-2440550), "4713-01-01 BC");
	PG_OK(d, I(2145042905), "5874897-12-31");
	PG_OK(d, I(INT32_MAX), "infinity");
	PG_OK(d, I(INT32_MIN), "-infinity");
	MY_BAD(d, I(-354286), "date: MySQL DATE cannot hold 0999-12-31 (its range is 1000-01-01 to 9999-12-31)");
	MY_BAD(d, I(2932897), "MySQL DATE cannot hold 10000-01-01");
	MY_BAD(d, I(-735160), "MySQL DATE cannot hold 0044-03-15 BC");
	MY_BAD(d, I(INT32_MAX), "date: MySQL DATE cannot hold infinity");
	MY_BAD(d, I(INT32_MIN), "MySQL DATE cannot hold -infinity");
	BOTH_BAD(d, S("2024-01-01"), "date: expected days since 1970-01-01 (an integer of 32 bits), got a string");
	BOTH_BAD(d, I(2147483648LL), "date: expected days since 1970-01-01");
	BOTH_BAD(d, R(1.0), "date: expected days since 1970-01-01");
}

static void test_time(void **state)
{
	struct coltype t = T(1083, -1), t3 = T(1083, 3);

	(void)state;
	BOTH_OK(t, I(0), "00:00:00.000000");
	BOTH_OK(t, I(45296789012LL), "12:34:56.789012");
	BOTH_OK(t, I(86399999999LL), "23:59:59.999999");
	BOTH_OK(t, I(86400000000LL), "24:00:00.000000");
	BOTH_OK(t3, I(1500), "00:00:00.001500");
	BOTH_BAD(t, I(-1), "time: expected microseconds since midnight (0 to 86400000000), got the integer -1");
	BOTH_BAD(t, I(86400000001LL), "time: expected microseconds since midnight");
	BOTH_BAD(t3, S("12:00:00"), "time(3): expected microseconds since midnight");
}

static void test_timestamp(void **state)
{
	struct coltype ts = T(1114, -1), tz = T(1184, -1);

	(void)state;
	BOTH_OK(ts, I(0), "1970-01-01 00:00:00.000000");
	BOTH_OK(ts, I(-1), "1969-12-31 23:59:59.999999");
	BOTH_OK(ts, I(1704164645123456LL), "2024-01-02 03:04:05.123456");
	BOTH_OK(ts, I(-2208945599500000LL), "1900-01-01 12:00:00.500000");
	BOTH_OK(ts, I(253402300799999999LL), "9999-12-31 23:59:59.999999");
	BOTH_OK(ts, I(-30610224000000000LL), "1000-01-01 00:00:00.000000");
	PG_OK(ts, I(-30610224000000001LL), "0999-12-31 23:59:59.999999");
	PG_OK(ts, I(253402300800000000LL), "10000-01-01 00:00:00.000000");
	PG_OK(ts, I(-63517780800000000LL), "0044-03-15 12:00:00.000000 BC");
	PG_OK(ts, I(-210863520000000000LL), "4713-01-01 00:00:00.000000 BC");
	PG_OK(ts, I(9223371244800000000LL), "294247-01-01 00:00:00.000000");
	PG_OK(ts, I(INT64_MAX), "infinity");
	PG_OK(ts, I(INT64_MIN), "-infinity");
	MY_BAD(ts, I(-30610224000000001LL),
	       "timestamp: MySQL DATETIME(6) cannot hold 0999-12-31 23:59:59.999999 (its range is years 1000 to 9999)");
	MY_BAD(ts, I(253402300800000000LL), "MySQL DATETIME(6) cannot hold 10000-01-01 00:00:00.000000");
	MY_BAD(ts, I(-63517780800000000LL), "MySQL DATETIME(6) cannot hold 0044-03-15 12:00:00.000000 BC");
	MY_BAD(ts, I(INT64_MAX), "timestamp: MySQL DATETIME(6) cannot hold infinity");
	MY_BAD(ts, I(INT64_MIN), "MySQL DATETIME(6) cannot hold -infinity");
	BOTH_BAD(ts, S("2024-01-02 03:04:05"), "timestamp: expected microseconds since 1970 (an integer), got a string");
	BOTH_BAD(ts, R(0.5), "timestamp: expected microseconds since 1970");

	/* timestamptz is UTC: PostgreSQL gets the zone, MySQL's DATETIME(6) the UTC time */
	PG_OK(tz, I(1704164645123456LL), "2024-01-02 03:04:05.123456+00");
	MY_OK(tz, I(1704164645123456LL), "2024-01-02 03:04:05.123456");
	PG_OK(tz, I(-1), "1969-12-31 23:59:59.999999+00");
	MY_OK(tz, I(-1), "1969-12-31 23:59:59.999999");
	PG_OK(tz, I(-63517780800000000LL), "0044-03-15 12:00:00.000000+00 BC");
	PG_OK(tz, I(INT64_MAX), "infinity");
	PG_OK(tz, I(INT64_MIN), "-infinity");
	MY_BAD(tz, I(-63517780800000000LL), "timestamp with time zone: MySQL DATETIME(6) cannot hold 0044-03-15");
	MY_BAD(tz, I(INT64_MAX), "timestamp with time zone: MySQL DATETIME(6) cannot hold infinity");
}

/* ---- arrays ---- */

static void test_array_pg(void **state)
{
	struct coltype i4 = T(1007, -1), i2 = T(1005, -1), txt = T(1009, -1), ba = T(1001, -1), bo = T(1000, -1);
	struct coltype f8 = T(1022, -1), n52 = T(1231, NUMTM(5, 2)), dt = T(1182, -1), tz = T(1185, -1);
	struct coltype js = T(199, -1), uu = T(2951, -1), tm = T(1183, -1), vc = T(1015, LENTM(3));

	(void)state;
	PG_OK(i4, J("[1, null, -3]"), "{\"1\",NULL,\"-3\"}");
	PG_OK(i4, J("[]"), "{}");
	PG_OK(i4, J("[null]"), "{NULL}");
	/* every element quoted: blanks, commas, braces, quotes, backslashes, the word NULL, the empty string */
	PG_OK(txt, J("[\"a b\", \"x\\\"y\", \"back\\\\slash\", \"com,ma\", \"{br}\", \"NULL\", \"\", null, \" lead\", "
		     "\"new\\nline\"]"),
	      "{\"a b\",\"x\\\"y\",\"back\\\\slash\",\"com,ma\",\"{br}\",\"NULL\",\"\",NULL,\" lead\",\"new\nline\"}");
	PG_OK(vc, J("[\"abc\", \"\"]"), "{\"abc\",\"\"}");
	PG_OK(ba, J("[\"\\\\x00ff\", \"\\\\x\", null]"), "{\"\\\\x00ff\",\"\\\\x\",NULL}");
	PG_OK(bo, J("[true, false, null]"), "{\"t\",\"f\",NULL}");
	PG_OK(f8, J("[\"NaN\", 1.5, \"-Infinity\", \"Infinity\", 0.1]"),
	      "{\"NaN\",\"1.5\",\"-Infinity\",\"Infinity\",\"0.1\"}");
	PG_OK(n52, J("[\"1.50\", \"NaN\", null, \"-999.99\"]"), "{\"1.50\",\"NaN\",NULL,\"-999.99\"}");
	PG_OK(dt, J("[0, 2147483647, -2147483648, -735160]"),
	      "{\"1970-01-01\",\"infinity\",\"-infinity\",\"0044-03-15 BC\"}");
	PG_OK(tz, J("[0, null]"), "{\"1970-01-01 00:00:00.000000+00\",NULL}");
	PG_OK(tm, J("[86400000000]"), "{\"24:00:00.000000\"}");
	PG_OK(js, J("[\"{\\\"a\\\": [1, \\\"b\\\\\\\\c\\\"]}\"]"), "{\"{\\\"a\\\": [1, \\\"b\\\\\\\\c\\\"]}\"}");
	PG_OK(uu, J("[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]"), "{\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"}");
	/* more dimensions or explicit bounds: the array's own text, which PostgreSQL reads */
	PG_OK(i4, S("{{1,2},{3,NULL}}"), "{{1,2},{3,NULL}}");
	PG_OK(i4, S("[0:1]={5,6}"), "[0:1]={5,6}");
	PG_BAD(i4, S("1,2"), "integer[]: expected an array or its PostgreSQL text");
	PG_BAD(i4, J("[1, \"x\"]"), "integer[] item 2: integer: expected an integer, got a string \"x\"");
	PG_BAD(i4, J("[[1]]"), "integer[] item 1: integer: expected an integer, got an array");
	PG_BAD(i2, J("[1, 40000]"), "smallint[] item 2: smallint: 40000 is out of range");
	PG_BAD(txt, J("null"), "text[]: NULL is not a value here");
	PG_BAD(uu, J("[\"nope\"]"), "uuid[] item 1: uuid: expected a UUID string");
}

static void test_array_mysql(void **state)
{
	struct coltype i4 = T(1007, -1), i8 = T(1016, -1), txt = T(1009, -1), ba = T(1001, -1), bo = T(1000, -1);
	struct coltype f8 = T(1022, -1), f4 = T(1021, -1), n52 = T(1231, NUMTM(5, 2)), num = T(1231, -1);
	struct coltype dt = T(1182, -1), ts = T(1115, -1), tz = T(1185, -1), tm = T(1183, -1), js = T(3807, -1);
	struct coltype uu = T(2951, -1);

	(void)state;
	MY_OK(i4, J("[1, null, -3]"), "[1, null, -3]");
	MY_OK(i4, J("[]"), "[]");
	MY_OK(i8, J("[-9223372036854775808, 9223372036854775807]"), "[-9223372036854775808, 9223372036854775807]");
	MY_OK(txt, J("[\"a\\\"b\", \"c\\\\d\", \"line\\nbreak\", \"tab\\t\", \"\\u0001\", \"NULL\", \"\", null, "
		     "\"\\u017c\\u00f3\\u0142w\", \"{x,y}\"]"),
	      "[\"a\\\"b\", \"c\\\\d\", \"line\\nbreak\", \"tab\\t\", \"\\u0001\", \"NULL\", \"\", null, "
	      "\"\xc5\xbc\xc3\xb3\xc5\x82w\", \"{x,y}\"]");
	MY_OK(bo, J("[true, false, null]"), "[true, false, null]");
	MY_OK(f8, J("[1.5, \"NaN\", \"Infinity\", \"-Infinity\", 1e300, 0.30000000000000004]"),
	      "[1.5, \"NaN\", \"Infinity\", \"-Infinity\", 1e+300, 0.30000000000000004]");
	MY_OK(f4, J("[1.100000023841858]"), "[1.1]");
	/* decimals are JSON strings: MySQL would read a JSON number as a DOUBLE */
	MY_OK(n52, J("[\"1.50\", \"NaN\", null]"), "[\"1.50\", \"NaN\", null]");
	MY_OK(num, J("[\"12345678901234567890123456789012345678901234567890.5\"]"),
	      "[\"12345678901234567890123456789012345678901234567890.5\"]");
	/* dates beyond DATE's range and infinity stay as strings: a JSON string holds them */
	MY_OK(dt, J("[0, 2147483647, -2147483648, -735160, 2932897, null]"),
	      "[\"1970-01-01\", \"infinity\", \"-infinity\", \"0044-03-15 BC\", \"10000-01-01\", null]");
	MY_OK(ts, J("[1704164645123456, 9223372036854775807]"), "[\"2024-01-02 03:04:05.123456\", \"infinity\"]");
	/* items that are no JSON numbers are PostgreSQL's text of the element */
	MY_OK(tz, J("[0, 1500000]"), "[\"1970-01-01 00:00:00+00\", \"1970-01-01 00:00:01.5+00\"]");
	MY_OK(tm, J("[0, 86400000000, 45296789000]"), "[\"00:00:00\", \"24:00:00\", \"12:34:56.789\"]");
	MY_OK(ba, J("[\"\\\\x00ff\", \"\\\\x\"]"), "[\"\\\\x00ff\", \"\\\\x\"]");
	/* json items are JSON values, not strings */
	MY_OK(js, J("[\"{\\\"a\\\": 1}\", \"[1, 2]\", \"\\\"s\\\"\", null]"), "[{\"a\": 1}, [1, 2], \"s\", null]");
	MY_OK(uu, J("[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]"), "[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]");
	MY_BAD(i4, J("{\"a\": 1}"), "integer[]: expected an array, got an object");
	MY_BAD(i4, J("[1, 2.5]"), "integer[] item 2: integer: expected an integer, got the number 2.5");
	MY_BAD(txt, J("[\"ok\", 3]"), "text[] item 2: text: expected a string, got the integer 3");
	MY_BAD(dt, J("[\"1970-01-01\"]"), "date[] item 1: date: expected days since 1970-01-01");
}

/* Arrays with more dimensions or explicit bounds arrive as their PostgreSQL text: MySQL gets nested JSON
 * arrays with the items of a one-dimensional array, and refuses explicit bounds. */
static void test_array_text_mysql(void **state)
{
	struct coltype i4 = T(1007, -1), i2 = T(1005, -1), txt = T(1009, -1), ba = T(1001, -1), bo = T(1000, -1);
	struct coltype f4 = T(1021, -1), n52 = T(1231, NUMTM(5, 2)), dt = T(1182, -1), tz = T(1185, -1);
	struct coltype tm = T(1183, -1), js = T(3807, -1), iv = T(1187, -1), ch = T(1014, LENTM(3));

	(void)state;
	MY_OK(i4, S("{{1,2},{3,NULL}}"), "[[1, 2], [3, null]]");
	MY_OK(i4, S(" { { 1 } , { -2 } } "), "[[1], [-2]]");
	/* a lower bound other than 1: JSON arrays have none, and dropping it would change the value */
	MY_BAD(i4, S("[0:1]={5,6}"), "integer[]: MySQL JSON cannot hold the array's explicit bounds [0:1]");
	MY_BAD(i4, S("[0:1][2:2]={{5},{6}}"), "explicit bounds [0:1][2:2]");
	MY_OK(i2, S("{{{1}},{{2}}}"), "[[[1]], [[2]]]");
	MY_OK(txt, S("{{\"a b\",NULL},{\"\",\"q\\\"\\\\\"},{\"NULL\",x}}"),
	      "[[\"a b\", null], [\"\", \"q\\\"\\\\\"], [\"NULL\", \"x\"]]");
	MY_OK(txt, S("{{ a b ,c}}"), "[[\"a b\", \"c\"]]");
	MY_OK(txt, S("{{\"\"}}"), "[[\"\"]]");
	MY_BAD(i4, S("{{\"\"}}"), "integer[] element 1");
	MY_OK(ba, S("{{\"\\\\x01\"},{\"\\\\x\"}}"), "[[\"\\\\x01\"], [\"\\\\x\"]]");
	MY_OK(bo, S("{{t},{f}}"), "[[true], [false]]");
	MY_OK(f4, S("{{NaN,1.5},{-Infinity,3.14}}"), "[[\"NaN\", 1.5], [\"-Infinity\", 3.14]]");
	MY_OK(n52, S("{{1.50,NaN}}"), "[[\"1.50\", \"NaN\"]]");
	MY_OK(dt, S("{{2024-02-29,infinity},{\"0044-03-15 BC\",NULL}}"),
	      "[[\"2024-02-29\", \"infinity\"], [\"0044-03-15 BC\", null]]");
	MY_OK(tz, S("{{\"2024-01-01 00:00:00.5+00\",-infinity}}"), "[[\"2024-01-01 00:00:00.5+00\", \"-infinity\"]]");
	MY_OK(tm, S("{{12:00:00},{24:00:00}}"), "[[\"12:00:00\"], [\"24:00:00\"]]");
	MY_OK(js, S("{{\"{\\\"a\\\": 1}\",null}}"), "[[{\"a\": 1}, null]]");
	MY_OK(iv, S("{{\"1 day\"},{\"-00:00:01\"}}"), "[[\"1 day\"], [\"-00:00:01\"]]");
	MY_OK(ch, S("{{\"a  \",bc }}"), "[[\"a  \", \"bc\"]]");
	MY_BAD(i4, S("{{1,x}}"), "integer[]");
	MY_BAD(i2, S("{{1,40000}}"), "out of range");
	MY_BAD(bo, S("{{yes}}"), "boolean");
	MY_BAD(f4, S("{{1e99}}"), "real");
	MY_BAD(n52, S("{{1.5x}}"), "numeric(5,2)");
	MY_BAD(dt, S("{{2023-02-29}}"), "no such date");
	MY_BAD(i4, S("{{1,2}"), "unterminated array");
	MY_BAD(i4, S("{{1,2}}x"), "text after the closing }");
	MY_BAD(i4, S("{{1 2}}"), "integer");
	MY_BAD(i4, S("[0:1]{1,2}"), "expected = after the dimensions");
	MY_BAD(i4, S("{{{{{{{1}}}}}}}"), "more dimensions than PostgreSQL allows");
	MY_BAD(txt, S("{{a\"b}}"), "a quote or brace inside an unquoted element");
	MY_BAD(txt, S("{{,}}"), "an empty unquoted element");
	MY_BAD(i4, S("x"), "expected an array or its PostgreSQL text");
}

/* ---- buffers ---- */

static void test_output_buffer(void **state)
{
	struct coltype text = T(25, -1), i4 = T(1007, -1);
	json_t *v = json_string("0123456789abcdef");
	json_t *a = J("[1, 2, 3, 4, 5, 6, 7, 8]");
	struct buf out;
	struct cerr err;

	(void)state;
	/* appends after what the buffer holds */
	buf_init(&out, 0);
	assert_int_equal(buf_puts(&out, "x="), 0);
	assert_int_equal(sinkvalue_text(SINKVALUE_PG, &text, v, &out, &err), 0);
	assert_string_equal((char *)out.data, "x=0123456789abcdef");
	buf_free(&out);

	/* a buffer limit: an error, and the output as it was */
	buf_init(&out, 8);
	assert_int_equal(buf_puts(&out, "x="), 0);
	cerr_clear(&err);
	assert_int_equal(sinkvalue_text(SINKVALUE_PG, &text, v, &out, &err), -1);
	assert_non_null(strstr(err.msg, "text: out of memory (or the output limit)"));
	assert_int_equal(out.len, 2);
	assert_string_equal((char *)out.data, "x=");
	cerr_clear(&err);
	assert_int_equal(sinkvalue_text(SINKVALUE_MYSQL, &i4, a, &out, &err), -1);
	assert_non_null(strstr(err.msg, "integer[]: out of memory"));
	assert_string_equal((char *)out.data, "x=");
	buf_free(&out);
	json_decref(v);
	json_decref(a);
}

/* ---- column types ---- */

/* The character sets of MySQL text columns (sinkvalue.c explains why). */
#define U " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
#define A " CHARACTER SET ascii COLLATE ascii_bin"

struct ddl_case {
	uint32_t oid;
	int32_t typmod;
	const char *pg, *pg_key, *my, *my_key;
};

static const struct ddl_case ddl_cases[] = {
	{16, -1, "boolean", "boolean", "TINYINT(1)", "TINYINT(1)"},
	{21, -1, "smallint", "smallint", "SMALLINT", "SMALLINT"},
	{23, -1, "integer", "integer", "INT", "INT"},
	{20, -1, "bigint", "bigint", "BIGINT", "BIGINT"},
	{700, -1, "real", "real", "FLOAT", "FLOAT"},
	{701, -1, "double precision", "double precision", "DOUBLE", "DOUBLE"},
	{1700, NUMTM(12, 2), "numeric(12,2)", "numeric(12,2)", "DECIMAL(12,2)", "DECIMAL(12,2)"},
	{1700, NUMTM(65, 30), "numeric(65,30)", "numeric(65,30)", "DECIMAL(65,30)", "DECIMAL(65,30)"},
	{1700, NUMTM(66, 2), "numeric(66,2)", "numeric(66,2)", "VARCHAR(68)" A, "VARCHAR(68)" A},
	{1700, NUMTM(40, 31), "numeric(40,31)", "numeric(40,31)", "VARCHAR(42)" A, "VARCHAR(42)" A},
	{1700, NUMTM(1000, 1000), "numeric(1000,1000)", "numeric(1000,1000)", "VARCHAR(1003)" A, "VARCHAR(1003)" A},
	{1700, -1, "numeric", "numeric", "VARCHAR(1100)" A, "VARCHAR(1100)" A},
	{1700, NUMTM(5, -2), "numeric(5,-2)", "numeric(5,-2)", "VARCHAR(9)" A, "VARCHAR(9)" A},
	{1700, NUMTM(3, 5), "numeric(3,5)", "numeric(3,5)", "VARCHAR(9)" A, "VARCHAR(9)" A},
	{25, -1, "text", "text", "LONGTEXT" U, "VARCHAR(255)" U},
	{1043, LENTM(40), "varchar(40)", "varchar(40)", "VARCHAR(40)" U, "VARCHAR(40)" U},
	{1043, -1, "varchar", "varchar", "LONGTEXT" U, "VARCHAR(255)" U},
	{1043, LENTM(1000), "varchar(1000)", "varchar(1000)", "VARCHAR(1000)" U, "VARCHAR(768)" U},
	{1043, LENTM(16383), "varchar(16383)", "varchar(16383)", "VARCHAR(16383)" U, "VARCHAR(768)" U},
	{1043, LENTM(16384), "varchar(16384)", "varchar(16384)", "LONGTEXT" U, "VARCHAR(768)" U},
	{1042, LENTM(5), "character(5)", "character(5)", "CHAR(5)" U, "CHAR(5)" U},
	{1042, LENTM(255), "character(255)", "character(255)", "CHAR(255)" U, "CHAR(255)" U},
	{1042, LENTM(256), "character(256)", "character(256)", "VARCHAR(256)" U, "VARCHAR(256)" U},
	{1042, -1, "bpchar", "bpchar", "LONGTEXT" U, "VARCHAR(255)" U},
	{17, -1, "bytea", "bytea", "LONGBLOB", "VARBINARY(255)"},
	{1082, -1, "date", "date", "DATE", "DATE"},
	{1083, -1, "time", "time", "TIME(6)", "TIME(6)"},
	{1083, 3, "time(3)", "time(3)", "TIME(6)", "TIME(6)"},
	{1114, -1, "timestamp", "timestamp", "DATETIME(6)", "DATETIME(6)"},
	{1114, 0, "timestamp(0)", "timestamp(0)", "DATETIME(6)", "DATETIME(6)"},
	{1184, -1, "timestamp with time zone", "timestamp with time zone", "DATETIME(6)", "DATETIME(6)"},
	{1184, 3, "timestamp(3) with time zone", "timestamp(3) with time zone", "DATETIME(6)", "DATETIME(6)"},
	{2950, -1, "uuid", "uuid", "CHAR(36)" A, "CHAR(36)" A},
	{114, -1, "jsonb", "jsonb", "JSON", "VARCHAR(255)" U}, /* SPEC.md §5: json becomes jsonb */
	{199, -1, "jsonb[]", "jsonb[]", "JSON", "VARCHAR(255)" U},
	{3802, -1, "jsonb", "jsonb", "JSON", "VARCHAR(255)" U},
	{1007, -1, "integer[]", "integer[]", "JSON", "VARCHAR(255)" U},
	{1015, LENTM(40), "varchar(40)[]", "varchar(40)[]", "JSON", "VARCHAR(255)" U},
	{1231, NUMTM(12, 2), "numeric(12,2)[]", "numeric(12,2)[]", "JSON", "VARCHAR(255)" U},
	{1185, -1, "timestamp with time zone[]", "timestamp with time zone[]", "JSON", "VARCHAR(255)" U},
	{1001, -1, "bytea[]", "bytea[]", "JSON", "VARCHAR(255)" U},
	{1186, -1, "interval", "interval", "LONGTEXT" U, "VARCHAR(255)" U},
	{1187, -1, "interval[]", "interval[]", "JSON", "VARCHAR(255)" U},
	{869, -1, "inet", "inet", "LONGTEXT" U, "VARCHAR(255)" U},
	{1266, 3, "time with time zone", "time with time zone", "LONGTEXT" U, "VARCHAR(255)" U},
	{1563, 8, "bit varying[]", "bit varying[]", "JSON", "VARCHAR(255)" U},
	{1560, 5, "bit varying", "bit varying", "LONGTEXT" U, "VARCHAR(255)" U}, /* holds every bit(n) */
	{791, -1, "text[]", "text[]", "JSON", "VARCHAR(255)" U},                    /* money[] */
	{3614, -1, "tsvector", "tsvector", "LONGTEXT" U, "VARCHAR(255)" U},
	{1020, -1, "box[]", "box[]", "LONGTEXT" U, "VARCHAR(255)" U}, /* carried whole: ';' between items */
	{16501, -1, "text", "text", "LONGTEXT" U, "VARCHAR(255)" U},  /* an array of a user type */
	{3910, -1, "tstzrange", "tstzrange", "LONGTEXT" U, "VARCHAR(255)" U},
	{790, -1, "text", "text", "LONGTEXT" U, "VARCHAR(255)" U}, /* money: its text depends on lc_monetary */
	{600, -1, "point", "point", "LONGTEXT" U, "VARCHAR(255)" U},
	{27, -1, "text", "text", "LONGTEXT" U, "VARCHAR(255)" U}, /* tid: not mapped */
	{16500, -1, "text", "text", "LONGTEXT" U, "VARCHAR(255)" U}, /* a user enum or domain */
};

static void test_ddl(void **state)
{
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof ddl_cases / sizeof ddl_cases[0]; i++) {
		const struct ddl_case *c = &ddl_cases[i];
		struct coltype t = T(c->oid, c->typmod);
		const char *want[4] = {c->pg, c->pg_key, c->my, c->my_key};

		for (int k = 0; k < 4; k++) {
			enum sinkvalue_engine e = k < 2 ? SINKVALUE_PG : SINKVALUE_MYSQL;

			memset(out, 'z', sizeof out);
			if (k % 2)
				sinkvalue_ddl_key_type(e, &t, out, sizeof out);
			else
				sinkvalue_ddl_type(e, &t, out, sizeof out);
			if (strcmp(out, want[k]) != 0)
				fail_msg("oid %u typmod %d %s%s: got \"%s\", want \"%s\"", (unsigned)c->oid, (int)c->typmod,
					 engine_name(e), k % 2 ? " key" : "", out, want[k]);
		}
	}
	/* truncated to the room given, always NUL-terminated */
	{
		struct coltype t = T(1114, -1);

		sinkvalue_ddl_type(SINKVALUE_MYSQL, &t, out, 5);
		assert_string_equal(out, "DATE");
	}
}

/* Every type's own column type holds it, in both engines, as the server spells it back (lowercase). */
static void test_ddl_is_compatible(void **state)
{
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof ddl_cases / sizeof ddl_cases[0]; i++) {
		const struct ddl_case *c = &ddl_cases[i];
		struct coltype t = T(c->oid, c->typmod);

		for (int k = 0; k < 4; k++) {
			enum sinkvalue_engine e = k < 2 ? SINKVALUE_PG : SINKVALUE_MYSQL;
			int ok;

			if (k % 2)
				sinkvalue_ddl_key_type(e, &t, out, sizeof out);
			else
				sinkvalue_ddl_type(e, &t, out, sizeof out);
			for (char *p = out; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
			ok = k % 2 ? sinkvalue_compatible_key(e, &t, out) : sinkvalue_compatible(e, &t, out);
			if (!ok)
				fail_msg("oid %u typmod %d %s%s: \"%s\" is not compatible with itself", (unsigned)c->oid,
					 (int)c->typmod, engine_name(e), k % 2 ? " key" : "", out);
		}
	}
}

/* ---- compatibility ---- */

struct compat_case {
	uint32_t oid;
	int32_t typmod;
	const char *declared;
	int want;
};

static void check_compat(enum sinkvalue_engine e, bool key, const struct compat_case *cases, size_t n)
{
	int failures = 0;

	for (size_t i = 0; i < n; i++) {
		struct coltype t = T(cases[i].oid, cases[i].typmod);
		int got = key ? sinkvalue_compatible_key(e, &t, cases[i].declared)
			      : sinkvalue_compatible(e, &t, cases[i].declared);
		char name[128];

		if (got != cases[i].want) {
			coltype_pg_name(&t, name, sizeof name);
			print_error("%s%s: %s (oid %u) into \"%s\": got %d, want %d\n", engine_name(e), key ? " key" : "",
				    name, (unsigned)cases[i].oid, cases[i].declared, got, cases[i].want);
			failures++;
		}
	}
	if (failures)
		fail_msg("%d compatibility cases failed", failures);
}

static const struct compat_case compat_pg[] = {
	{16, -1, "boolean", 1},
	{16, -1, "integer", 0},
	{23, -1, "integer", 1},
	{23, -1, "INTEGER", 1},
	{23, -1, "bigint", 1},
	{23, -1, "smallint", 0},
	{21, -1, "integer", 1},
	{21, -1, "real", 1},
	{23, -1, "real", 0},
	{23, -1, "double precision", 1},
	{20, -1, "double precision", 0},
	{20, -1, "integer", 0},
	{20, -1, "numeric", 1},
	{20, -1, "numeric(19,0)", 1},
	{20, -1, "numeric(18,0)", 0},
	{23, -1, "numeric(12,2)", 1},
	{23, -1, "numeric(12,-2)", 0},
	{700, -1, "real", 1},
	{700, -1, "double precision", 1},
	{701, -1, "real", 0},
	{701, -1, "numeric", 0},
	{1700, NUMTM(10, 2), "numeric(10,2)", 1},
	{1700, NUMTM(10, 2), "numeric(12,2)", 1},
	{1700, NUMTM(10, 2), "numeric(12,4)", 1},
	{1700, NUMTM(10, 2), "numeric(11,3)", 1},
	{1700, NUMTM(10, 2), "numeric(10,3)", 0},
	{1700, NUMTM(10, 2), "numeric(10,1)", 0},
	{1700, NUMTM(10, 2), "numeric", 1},
	{1700, NUMTM(10, 2), "integer", 0},
	{1700, NUMTM(10, 2), "text", 0},
	{1700, NUMTM(10, 2), "numeric(10,2)[]", 0},
	{1700, -1, "numeric", 1},
	{1700, -1, "numeric(1000,500)", 0},
	{1700, NUMTM(5, -2), "numeric(5,-2)", 1},
	{1700, NUMTM(5, -2), "numeric(7,0)", 1},
	{1700, NUMTM(5, -2), "numeric(6,0)", 0},
	{25, -1, "text", 1},
	{25, -1, "character varying", 1},
	{25, -1, "character varying(100)", 0},
	{25, -1, "bpchar", 0},
	{1043, LENTM(10), "character varying(20)", 1},
	{1043, LENTM(10), "character varying(10)", 1},
	{1043, LENTM(10), "character varying(5)", 0},
	{1043, LENTM(10), "text", 1},
	{1043, LENTM(10), "character(10)", 0},
	{1042, LENTM(5), "character(5)", 1},
	{1042, LENTM(5), "character(4)", 0},
	{1042, LENTM(5), "text", 1},
	{1042, LENTM(5), "bpchar", 1},
	{17, -1, "bytea", 1},
	{17, -1, "text", 0},
	{1082, -1, "date", 1},
	{1082, -1, "timestamp without time zone", 0},
	{1083, -1, "time without time zone", 1},
	{1083, -1, "time(3) without time zone", 0},
	{1083, 3, "time(3) without time zone", 1},
	{1083, -1, "time with time zone", 0},
	{1114, -1, "timestamp without time zone", 1},
	{1114, -1, "timestamp with time zone", 0},
	{1114, 3, "timestamp(6) without time zone", 1},
	{1114, -1, "timestamp(3) without time zone", 0},
	{1184, -1, "timestamp with time zone", 1},
	{1184, -1, "timestamp without time zone", 0},
	{1184, -1, "timestamp(3) with time zone", 0},
	{1184, -1, "timestamptz", 1},
	{2950, -1, "uuid", 1},
	{2950, -1, "text", 1},
	{2950, -1, "character varying(36)", 1},
	{2950, -1, "character varying(30)", 0},
	{2950, -1, "bytea", 0},
	{114, -1, "json", 1},
	{114, -1, "jsonb", 1},
	{3802, -1, "json", 1},
	{114, -1, "text", 0},
	{1007, -1, "integer[]", 1},
	{1007, -1, "bigint[]", 1},
	{1007, -1, "smallint[]", 0},
	{1007, -1, "integer", 0},
	{23, -1, "integer[]", 0},
	{1007, -1, "jsonb", 0},
	{1015, LENTM(40), "character varying(40)[]", 1},
	{1015, LENTM(40), "text[]", 1},
	{1015, LENTM(40), "character varying(20)[]", 0},
	{1231, NUMTM(12, 2), "numeric(12,2)[]", 1},
	{1185, -1, "timestamp with time zone[]", 1},
	{1186, -1, "interval", 1},
	{1186, -1, "text", 1},
	{1186, -1, "character varying", 1},
	{1186, -1, "character varying(100)", 0},
	{1186, -1, "interval(3)", 0},
	{1186, -1, "integer", 0},
	{1186, -1, "inet", 0},
	{1187, -1, "interval[]", 1},
	{1187, -1, "interval", 0},
	{1187, -1, "text", 0},
	{1187, -1, "text[]", 1},
	{1187, -1, "interval(3)[]", 0},
	{791, -1, "text[]", 1},
	{791, -1, "money[]", 0},
	{1561, -1, "bit varying[]", 1},
	{1020, -1, "box[]", 1},
	{1020, -1, "text", 1},
	{1266, -1, "time with time zone", 1},
	{16500, -1, "mood", 1},
	{16500, -1, "public.mood", 1},
	{16500, -1, "text", 1},
	{16500, -1, "character varying(20)", 1},
	{16500, -1, "integer", 0},
	{790, -1, "text", 1},
	{790, -1, "money", 0},
	{23, -1, "", 0},
	{23, -1, "numeric(12", 0},
	{23, -1, "numeric(a)", 0},
};

static const struct compat_case compat_mysql[] = {
	{16, -1, "tinyint(1)", 1},
	{16, -1, "tinyint(4)", 1},
	{16, -1, "tinyint(1) unsigned", 1},
	{16, -1, "int", 1},
	{16, -1, "varchar(5)", 0},
	{21, -1, "smallint(6)", 1},
	{21, -1, "smallint", 1},
	{21, -1, "tinyint(4)", 0},
	{21, -1, "mediumint(9)", 1},
	{21, -1, "smallint(5) unsigned", 0},
	{23, -1, "int(11)", 1},
	{23, -1, "int", 1},
	{23, -1, "INT(11)", 1},
	{23, -1, "int(10) unsigned", 0},
	{23, -1, "mediumint(9)", 0},
	{23, -1, "bigint(20)", 1},
	{23, -1, "double", 1},
	{23, -1, "float", 0},
	{20, -1, "bigint(20)", 1},
	{20, -1, "int(11)", 0},
	{20, -1, "bigint(20) unsigned", 0},
	{20, -1, "decimal(19,0)", 1},
	{20, -1, "decimal(21,2)", 1},
	{20, -1, "decimal(18,0)", 0},
	{700, -1, "float", 1},
	{700, -1, "double", 1},
	{700, -1, "float(7,3)", 0},
	{701, -1, "double", 1},
	{701, -1, "float", 0},
	{701, -1, "double(10,2)", 0},
	{701, -1, "decimal(65,30)", 0},
	{1700, NUMTM(10, 2), "decimal(10,2)", 1},
	{1700, NUMTM(10, 2), "decimal(12,2)", 1},
	{1700, NUMTM(10, 2), "decimal(12,4)", 1},
	{1700, NUMTM(10, 2), "decimal(10,1)", 0},
	{1700, NUMTM(10, 2), "decimal(12,2) unsigned", 0},
	{1700, NUMTM(10, 2), "varchar(20)", 0},
	{1700, NUMTM(10, 2), "double", 0},
	{1700, NUMTM(70, 5), "varchar(72)", 1},
	{1700, NUMTM(70, 5), "varchar(71)", 0},
	{1700, NUMTM(70, 5), "text", 1},
	{1700, NUMTM(70, 5), "decimal(65,5)", 0},
	{1700, -1, "varchar(1100)", 1},
	{1700, -1, "varchar(1100) character set ascii", 1},
	{1700, -1, "varchar(1000)", 0},
	{1700, -1, "decimal(65,30)", 0},
	{1700, -1, "longtext", 1},
	{1700, -1, "text", 1},
	{1700, -1, "tinytext", 0},
	{25, -1, "longtext", 1},
	{25, -1, "mediumtext", 0},
	{25, -1, "text", 0},
	{25, -1, "varchar(255)", 0},
	{1043, LENTM(10), "varchar(10)", 1},
	{1043, LENTM(10), "varchar(20)", 1},
	{1043, LENTM(10), "varchar(9)", 0},
	{1043, LENTM(40), "varchar(40) character set utf8mb4 collate utf8mb4_bin", 1},
	{1043, LENTM(10), "tinytext", 1},
	{1043, LENTM(100), "tinytext", 0},
	{1043, LENTM(100), "text", 1},
	{1043, LENTM(20000), "text", 0},
	{1043, LENTM(20000), "mediumtext", 1},
	{1043, LENTM(10), "char(10)", 0},
	{1043, LENTM(10), "varbinary(40)", 0},
	{1042, LENTM(5), "char(5)", 1},
	{1042, LENTM(5), "char(4)", 0},
	{1042, LENTM(5), "varchar(5)", 1},
	{17, -1, "longblob", 1},
	{17, -1, "mediumblob", 0},
	{17, -1, "blob", 0},
	{17, -1, "longtext", 0},
	{17, -1, "varbinary(255)", 0},
	{1082, -1, "date", 1},
	{1082, -1, "datetime", 0},
	{1083, -1, "time(6)", 1},
	{1083, -1, "time", 0},
	{1083, -1, "time(3)", 0},
	{1083, 3, "time(3)", 1},
	{1083, 0, "time", 1},
	{1114, -1, "datetime(6)", 1},
	{1114, -1, "DATETIME(6)", 1},
	{1114, -1, "datetime(3)", 0},
	{1114, -1, "datetime", 0},
	{1114, -1, "timestamp(6)", 0},
	{1114, 3, "datetime(3)", 1},
	{1184, -1, "datetime(6)", 1},
	{1184, -1, "timestamp(6)", 0},
	{2950, -1, "char(36)", 1},
	{2950, -1, "varchar(36)", 1},
	{2950, -1, "char(32)", 0},
	{2950, -1, "binary(16)", 0},
	{2950, -1, "tinytext", 1},
	{114, -1, "json", 1},
	{114, -1, "longtext", 1}, /* MariaDB's JSON */
	{3802, -1, "json", 1},
	{114, -1, "text", 0},
	{114, -1, "varchar(255)", 0},
	{1007, -1, "json", 1},
	{1007, -1, "longtext", 1},
	{1007, -1, "varchar(255)", 0},
	{1186, -1, "longtext", 1},
	{1186, -1, "varchar(100)", 0},
	{1186, -1, "text", 0},
	{16500, -1, "enum('happy','sad')", 1},
	{16500, -1, "varchar(20)", 1},
	{16500, -1, "text", 1},
	{16500, -1, "int", 0},
	{23, -1, "", 0},
	{23, -1, "int(", 0},
	{23, -1, "geometry", 0},
};

/* Key columns: the bounded key types of sinkvalue_ddl_key_type and wider; otherwise as for any column. */
static const struct compat_case compat_mysql_key[] = {
	{25, -1, "varchar(255)", 1},
	{25, -1, "varchar(300)", 1},
	{25, -1, "varchar(254)", 0},
	{25, -1, "longtext", 1},
	{25, -1, "char(255)", 0},
	{1043, LENTM(1000), "varchar(768)", 1},
	{1043, LENTM(1000), "varchar(767)", 0},
	{1043, LENTM(100), "varchar(100)", 1},
	{1043, LENTM(100), "varchar(99)", 0},
	{1042, LENTM(5), "char(5)", 1},
	{17, -1, "varbinary(255)", 1},
	{17, -1, "varbinary(100)", 0},
	{17, -1, "longblob", 1},
	{114, -1, "varchar(255)", 1},
	{114, -1, "json", 1},
	{1007, -1, "varchar(255)", 1},
	{1186, -1, "varchar(255)", 1},
	{1186, -1, "varchar(200)", 0},
	{23, -1, "int", 1},
	{23, -1, "varchar(255)", 0},
	{1700, -1, "varchar(1100)", 1},
	{1700, -1, "varchar(768)", 0},
	{2950, -1, "char(36)", 1},
	{1114, -1, "datetime(6)", 1},
};

static const struct compat_case compat_pg_key[] = {
	{23, -1, "integer", 1},
	{25, -1, "text", 1},
	{25, -1, "character varying(255)", 0},
	{2950, -1, "uuid", 1},
	{1043, LENTM(10), "character varying(10)", 1},
	{1043, LENTM(10), "character varying(9)", 0},
};

static void test_compatible_pg(void **state)
{
	(void)state;
	check_compat(SINKVALUE_PG, false, compat_pg, sizeof compat_pg / sizeof compat_pg[0]);
	check_compat(SINKVALUE_PG, true, compat_pg_key, sizeof compat_pg_key / sizeof compat_pg_key[0]);
}

static void test_compatible_mysql(void **state)
{
	(void)state;
	check_compat(SINKVALUE_MYSQL, false, compat_mysql, sizeof compat_mysql / sizeof compat_mysql[0]);
	check_compat(SINKVALUE_MYSQL, true, compat_mysql_key, sizeof compat_mysql_key / sizeof compat_mysql_key[0]);
}

static void test_compatible_long_enum(void **state)
{
	struct coltype mood = T(16500, -1), i4 = T(23, -1);
	char decl[600];

	(void)state;
	/* a MySQL enum with many labels is longer than the parser's buffer: only its name matters */
	snprintf(decl, sizeof decl, "enum(");
	for (int i = 0; i < 60; i++)
		snprintf(decl + strlen(decl), sizeof decl - strlen(decl), "%s'label%02d'", i ? "," : "", i);
	snprintf(decl + strlen(decl), sizeof decl - strlen(decl), ")");
	assert_true(strlen(decl) > 256);
	assert_int_equal(sinkvalue_compatible(SINKVALUE_MYSQL, &mood, decl), 1);
	assert_int_equal(sinkvalue_compatible(SINKVALUE_MYSQL, &i4, decl), 0);
	assert_int_equal(sinkvalue_compatible(SINKVALUE_PG, &mood, decl), 0);
	assert_int_equal(sinkvalue_compatible(SINKVALUE_MYSQL, &i4, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boolean),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_bytea),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_array_pg),
		cmocka_unit_test(test_array_mysql),
		cmocka_unit_test(test_array_text_mysql),
		cmocka_unit_test(test_output_buffer),
		cmocka_unit_test(test_ddl),
		cmocka_unit_test(test_ddl_is_compatible),
		cmocka_unit_test(test_compatible_pg),
		cmocka_unit_test(test_compatible_mysql),
		cmocka_unit_test(test_compatible_long_enum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
