/* test_pgtext.c: PostgreSQL text output to Avro binary (schema/pgtext.h), byte for byte, for every type
 * of SPEC.md §5 and their malformed inputs. Expected dates and timestamps were computed by PostgreSQL 15
 * (d - date '1970-01-01', extract(epoch from ts) * 1000000); expected decimals by two's-complement
 * arithmetic done independently of pgtext.c. Each text is handed over in a heap block of exactly its
 * length, with no NUL after it, so AddressSanitizer catches any read past len. */
#include <locale.h>
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
#include "schema/pgtext.h"

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define NUMTM(p, s) ((((p) << 16) | (s)) + 4)
#define MARKER 0xEE /* a byte already in the output buffer, which must survive every call */

static struct coltype T(uint32_t oid, int32_t typmod)
{
	struct coltype t;

	coltype_from_pg(oid, typmod, &t);
	return t;
}

/* Test-side zigzag varint, written differently from avro_write.c on purpose. */
static size_t zz(uint8_t *o, int64_t v)
{
	uint64_t u = v < 0 ? ~(uint64_t)v * 2 + 1 : (uint64_t)v * 2;
	size_t n = 0;

	do {
		o[n] = u & 0x7f;
		u >>= 7;
		if (u)
			o[n] |= 0x80;
		n++;
	} while (u);
	return n;
}

static int run(const struct coltype *t, const char *text, size_t len, struct buf *out, struct cerr *err)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	buf_init(out, 0);
	assert_int_equal(buf_putc(out, MARKER), 0);
	cerr_clear(err);
	rc = pgtext_to_avro(t, copy, len, out, err);
	free(copy);
	return rc;
}

static void dump(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu):", what, n);
	for (i = 0; i < n && i < 64; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
}

static void check_bytes(const struct coltype *t, const char *text, size_t len, int want_rc, const uint8_t *exp,
			size_t n, const char *file, int line)
{
	struct buf out;
	struct cerr err;
	int rc = run(t, text, len, &out, &err);

	if (rc != want_rc) {
		fail_msg("%s:%d: \"%.*s\": rc %d, want %d (%s)", file, line, (int)(len > 80 ? 80 : len), text, rc,
			 want_rc, err.set ? err.msg : "");
	}
	if (out.len != n + 1 || out.data[0] != MARKER || memcmp(out.data + 1, exp, n) != 0) {
		dump("got ", out.data + 1, out.len - 1);
		dump("want", exp, n);
		fail_msg("%s:%d: \"%.*s\": wrong encoding", file, line, (int)(len > 80 ? 80 : len), text);
	}
	buf_free(&out);
}

static void check_long(const struct coltype *t, const char *text, int64_t v, const char *file, int line)
{
	uint8_t exp[10];

	check_bytes(t, text, strlen(text), PGTEXT_VALUE, exp, zz(exp, v), file, line);
}

/* The text as an Avro string (or bytes): its length, then itself. */
static void check_str(const struct coltype *t, const char *text, size_t len, int want_rc, const char *file,
		      int line)
{
	uint8_t *exp = malloc(len + 10);
	size_t h;

	assert_non_null(exp);
	h = zz(exp, (int64_t)len);
	memcpy(exp + h, text, len);
	check_bytes(t, text, len, want_rc, exp, h + len, file, line);
	free(exp);
}

/* Fails with a message holding `want` and leaves the output buffer as it was. */
static void check_bad(const struct coltype *t, const char *text, size_t len, const char *want, const char *file,
		      int line)
{
	struct buf out;
	struct cerr err;
	int rc = run(t, text, len, &out, &err);

	if (rc != -1)
		fail_msg("%s:%d: \"%.*s\": rc %d, want -1", file, line, (int)(len > 80 ? 80 : len), text, rc);
	if (!err.set || !strstr(err.msg, want))
		fail_msg("%s:%d: \"%.*s\": message \"%s\" lacks \"%s\"", file, line, (int)(len > 80 ? 80 : len), text,
			 err.msg, want);
	if (out.len != 1 || out.data[0] != MARKER || out.data[1] != '\0')
		fail_msg("%s:%d: \"%.*s\": output changed on error", file, line, (int)(len > 80 ? 80 : len), text);
	buf_free(&out);
}

#define OK(t, text, ...) check_bytes(&(t), text, strlen(text), PGTEXT_VALUE, BYTES(__VA_ARGS__), __FILE__, __LINE__)
#define OK_LONG(t, text, v) check_long(&(t), text, v, __FILE__, __LINE__)
#define OK_STR(t, text) check_str(&(t), text, strlen(text), PGTEXT_VALUE, __FILE__, __LINE__)
#define SPECIAL_STR(t, text) check_str(&(t), text, strlen(text), PGTEXT_SPECIAL, __FILE__, __LINE__)
#define BAD(t, text, want) check_bad(&(t), text, strlen(text), want, __FILE__, __LINE__)

/* ---- boolean, integers ---- */

static void test_bool(void **state)
{
	struct coltype t = T(16, -1);

	(void)state;
	OK(t, "t", 0x01);
	OK(t, "f", 0x00);
	BAD(t, "", "invalid boolean value \"\": expected t or f");
	BAD(t, "true", "expected t or f");
	BAD(t, "T", "expected t or f");
	BAD(t, "tf", "expected t or f");
	BAD(t, "1", "expected t or f");
}

static void test_int2(void **state)
{
	struct coltype t = T(21, -1);

	(void)state;
	OK(t, "0", 0x00);
	OK(t, "1", 0x02);
	OK(t, "-1", 0x01);
	OK(t, "-0", 0x00);
	OK(t, "007", 0x0e);
	OK(t, "32767", 0xfe, 0xff, 0x03);
	OK(t, "-32768", 0xff, 0xff, 0x03);
	BAD(t, "32768", "invalid smallint value \"32768\": out of range");
	BAD(t, "-32769", "out of range");
	BAD(t, "2147483647", "out of range");
}

static void test_int4(void **state)
{
	struct coltype t = T(23, -1);

	(void)state;
	OK(t, "64", 0x80, 0x01);
	OK(t, "2147483647", 0xfe, 0xff, 0xff, 0xff, 0x0f);
	OK(t, "-2147483648", 0xff, 0xff, 0xff, 0xff, 0x0f);
	BAD(t, "2147483648", "invalid integer value \"2147483648\": out of range");
	BAD(t, "-2147483649", "out of range");
	BAD(t, "", "not an integer");
	BAD(t, "-", "not an integer");
	BAD(t, "+1", "not an integer");
	BAD(t, " 1", "not an integer");
	BAD(t, "1 ", "not an integer");
	BAD(t, "1.5", "not an integer");
	BAD(t, "1e3", "not an integer");
	BAD(t, "0x10", "not an integer");
	BAD(t, "--1", "not an integer");
	/* only the first len bytes count */
	check_bytes(&t, "12345", 2, PGTEXT_VALUE, BYTES(0x18), __FILE__, __LINE__);
}

static void test_int8(void **state)
{
	struct coltype t = T(20, -1);

	(void)state;
	OK(t, "9223372036854775807", 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	OK(t, "-9223372036854775808", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	OK(t, "-9223372036854775807", 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	OK_LONG(t, "4294967296", INT64_C(4294967296));
	BAD(t, "9223372036854775808", "invalid bigint value \"9223372036854775808\": out of range");
	BAD(t, "-9223372036854775809", "out of range");
	BAD(t, "99999999999999999999999", "out of range");
	BAD(t, "12a", "not an integer");
}

/* ---- floating point ---- */

static void test_float4(void **state)
{
	struct coltype t = T(700, -1);

	(void)state;
	OK(t, "1", 0x00, 0x00, 0x80, 0x3f);
	OK(t, "-2.5", 0x00, 0x00, 0x20, 0xc0);
	OK(t, "0.1", 0xcd, 0xcc, 0xcc, 0x3d);
	OK(t, "-0", 0x00, 0x00, 0x00, 0x80);
	OK(t, "3.4028235e+38", 0xff, 0xff, 0x7f, 0x7f);   /* FLT_MAX */
	OK(t, "1.1754944e-38", 0x00, 0x00, 0x80, 0x00);   /* FLT_MIN */
	OK(t, "1e-45", 0x01, 0x00, 0x00, 0x00);           /* smallest denormal */
	OK(t, "NaN", 0x00, 0x00, 0xc0, 0x7f);
	OK(t, "Infinity", 0x00, 0x00, 0x80, 0x7f);
	OK(t, "-Infinity", 0x00, 0x00, 0x80, 0xff);
	BAD(t, "3.5e+38", "invalid real value \"3.5e+38\": out of range");
	BAD(t, "", "not a floating-point number");
	BAD(t, "nan", "not a floating-point number");
	BAD(t, "inf", "not a floating-point number");
	BAD(t, "infinity", "not a floating-point number");
	BAD(t, "0x1p3", "not a floating-point number");
	BAD(t, " 1", "not a floating-point number");
	BAD(t, "1 ", "not a floating-point number");
	BAD(t, "1e", "not a floating-point number");
	BAD(t, "1.2.3", "not a floating-point number");
	BAD(t, "-", "not a floating-point number");
	BAD(t, ".", "not a floating-point number");
	BAD(t, "1,5", "not a floating-point number");
	BAD(t, "NaNx", "not a floating-point number");
}

static void test_float8(void **state)
{
	struct coltype t = T(701, -1);
	char longtext[100];

	(void)state;
	OK(t, "1", 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
	OK(t, "0.1", 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f);
	OK(t, "1.7976931348623157e+308", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x7f);
	OK(t, "5e-324", 0x01, 0, 0, 0, 0, 0, 0, 0);
	OK(t, "-0", 0, 0, 0, 0, 0, 0, 0, 0x80);
	OK(t, "1e+22", 0x92, 0xd5, 0x4d, 0x06, 0xcf, 0xf0, 0x80, 0x44);
	OK(t, ".5", 0, 0, 0, 0, 0, 0, 0xe0, 0x3f);
	OK(t, "NaN", 0, 0, 0, 0, 0, 0, 0xf8, 0x7f);
	OK(t, "Infinity", 0, 0, 0, 0, 0, 0, 0xf0, 0x7f);
	OK(t, "-Infinity", 0, 0, 0, 0, 0, 0, 0xf0, 0xff);
	BAD(t, "1e+309", "invalid double precision value \"1e+309\": out of range");
	BAD(t, "Inf", "not a floating-point number");
	memset(longtext, '1', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	BAD(t, longtext, "too many characters");
}

/* strtod would read "1.5" as 1 under a decimal-comma locale; pgtext must not care. */
static void test_float_locale(void **state)
{
	struct coltype t = T(701, -1);
	const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
	const char *got = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof names / sizeof names[0] && !got; i++)
		got = setlocale(LC_NUMERIC, names[i]);
	if (!got)
		skip(); /* no decimal-comma locale installed */
	OK(t, "1.5", 0, 0, 0, 0, 0, 0, 0xf8, 0x3f);
	setlocale(LC_NUMERIC, "C");
}

/* ---- numeric ---- */

static void test_decimal_small(void **state)
{
	struct coltype t = T(1700, NUMTM(12, 2));
	struct coltype z = T(1700, NUMTM(5, 0));
	struct coltype f = T(1700, NUMTM(3, 3));

	(void)state;
	assert_int_equal(t.kind, CT_DECIMAL);
	OK(t, "0.00", 0x02, 0x00);
	OK(t, "1.00", 0x02, 0x64);
	OK(t, "1.27", 0x02, 0x7f);
	OK(t, "1.28", 0x04, 0x00, 0x80);            /* 128: a sign byte is needed */
	OK(t, "-1.28", 0x02, 0x80);                 /* -128 */
	OK(t, "-1.29", 0x04, 0xff, 0x7f);           /* -129 */
	OK(t, "-123.45", 0x04, 0xcf, 0xc7);         /* -12345 */
	OK(t, "1.5", 0x04, 0x00, 0x96);             /* rescaled to 150 */
	OK(t, "1", 0x02, 0x64);                     /* rescaled to 100 */
	OK(t, "1.500", 0x04, 0x00, 0x96);           /* trailing zeros beyond the scale are fine */
	OK(t, "-0.00", 0x02, 0x00);
	OK(t, "000001.00", 0x02, 0x64);
	OK(t, "9999999999.99", 0x0c, 0x00, 0xe8, 0xd4, 0xa5, 0x0f, 0xff);
	OK(t, "-9999999999.99", 0x0c, 0xff, 0x17, 0x2b, 0x5a, 0xf0, 0x01);
	OK(z, "128", 0x04, 0x00, 0x80);
	OK(z, "-128", 0x02, 0x80);
	OK(z, "-129", 0x04, 0xff, 0x7f);
	OK(z, "99999", 0x06, 0x01, 0x86, 0x9f);
	OK(f, "0.999", 0x04, 0x03, 0xe7);
	OK(f, "-0.001", 0x02, 0xff);

	SPECIAL_STR(t, "NaN");
	SPECIAL_STR(t, "Infinity");
	SPECIAL_STR(t, "-Infinity");

	BAD(t, "10000000000.00", "invalid numeric(12,2) value \"10000000000.00\": needs 11 integer digits");
	BAD(t, "1.005", "would need rounding");
	BAD(t, "1.001", "would need rounding");
	BAD(z, "100000", "needs 6 integer digits");
	BAD(f, "1.000", "needs 1 integer digits");
	BAD(t, "", "not a number");
	BAD(t, "abc", "not a number");
	BAD(t, "1.", "not a number");
	BAD(t, ".5", "not a number");
	BAD(t, "1e5", "not a number");
	BAD(t, "+1", "not a number");
	BAD(t, "--1", "not a number");
	BAD(t, " 1", "not a number");
	BAD(t, "nan", "not a number");
	BAD(t, "1,5", "not a number");
}

static void test_decimal_large(void **state)
{
	struct coltype t = T(1700, NUMTM(60, 10));

	(void)state;
	/* 50 integer digits and 10 fraction digits: 25 bytes */
	OK(t, "12345678901234567890123456789012345678901234567890.0123456789", 0x32, 0x13, 0xaa, 0xf5, 0x04, 0xe4,
	   0xbc, 0x1e, 0x62, 0x17, 0x3f, 0x87, 0xa4, 0x37, 0x8c, 0x37, 0xb4, 0x9c, 0x8c, 0xcf, 0xf1, 0x96, 0x8c, 0x04,
	   0xd5, 0x15);
	OK(t, "-12345678901234567890123456789012345678901234567890.0123456789", 0x32, 0xec, 0x55, 0x0a, 0xfb, 0x1b,
	   0x43, 0xe1, 0x9d, 0xe8, 0xc0, 0x78, 0x5b, 0xc8, 0x73, 0xc8, 0x4b, 0x63, 0x73, 0x30, 0x0e, 0x69, 0x73, 0xfb,
	   0x2a, 0xeb);
	/* 10^60 - 1, the largest numeric(60,10) */
	OK(t, "99999999999999999999999999999999999999999999999999.9999999999", 0x34, 0x00, 0x9f, 0x4f, 0x27, 0x26,
	   0x17, 0x9a, 0x22, 0x45, 0x01, 0xd7, 0x62, 0x42, 0x2c, 0x94, 0x65, 0x90, 0xd9, 0x0f, 0xff, 0xff, 0xff, 0xff,
	   0xff, 0xff, 0xff);
	OK(t, "-99999999999999999999999999999999999999999999999999.9999999999", 0x34, 0xff, 0x60, 0xb0, 0xd8, 0xd9,
	   0xe8, 0x65, 0xdd, 0xba, 0xfe, 0x28, 0x9d, 0xbd, 0xd3, 0x6b, 0x9a, 0x6f, 0x26, 0xf0, 0x00, 0x00, 0x00, 0x00,
	   0x00, 0x00, 0x01);
	BAD(t, "100000000000000000000000000000000000000000000000000.0", "needs 51 integer digits");
}

/* Reads a minimal two's-complement big-endian integer back into decimal digits, by long division. */
static void twos_to_decimal(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	uint8_t mag[512];
	char rev[1300];
	size_t nd = 0, i, o = 0;
	int neg = n > 0 && (p[0] & 0x80);
	int nonzero;

	assert_true(n <= sizeof mag);
	memcpy(mag, p, n);
	if (neg) { /* negate: invert, add one */
		unsigned c = 1;

		for (i = n; i-- > 0;) {
			unsigned x = (uint8_t)~mag[i] + c;

			mag[i] = (uint8_t)x;
			c = x >> 8;
		}
	}
	do {
		unsigned rem = 0;

		nonzero = 0;
		for (i = 0; i < n; i++) {
			unsigned cur = rem * 256 + mag[i];

			mag[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
			nonzero |= mag[i];
		}
		rev[nd++] = (char)('0' + rem);
	} while (nonzero);
	if (neg)
		out[o++] = '-';
	while (nd > 0 && o + 1 < outlen)
		out[o++] = rev[--nd];
	out[o] = '\0';
}

/* numeric(1000,0), PostgreSQL's widest: 1000 digits round trip, and the encoding is minimal. */
static void test_decimal_1000_digits(void **state)
{
	struct coltype t = T(1700, NUMTM(1000, 0)), t2 = T(1700, NUMTM(1000, 500));
	char text[1003], back[1003];
	struct buf out;
	struct cerr err;
	size_t i, hl;
	int64_t n = 0;
	int shift = 0;

	(void)state;
	text[0] = '-';
	for (i = 1; i <= 1000; i++)
		text[i] = (char)('0' + (i * 7 + 3) % 10);
	text[1] = '9';
	text[1001] = '\0';
	for (i = 0; i < 2; i++) {
		const char *s = text + (i == 0 ? 1 : 0);
		const uint8_t *p;

		assert_int_equal(run(&t, s, strlen(s), &out, &err), PGTEXT_VALUE);
		p = out.data + 1;
		/* the length varint, then the bytes */
		for (hl = 0;; hl++) {
			n |= (int64_t)(p[hl] & 0x7f) << shift;
			shift += 7;
			if (!(p[hl] & 0x80))
				break;
		}
		hl++;
		n >>= 1;
		assert_int_equal((size_t)n + hl, out.len - 1);
		assert_true(n == 416); /* 10^1000 needs 3322 bits: 416 bytes with the sign bit */
		twos_to_decimal(p + hl, (size_t)n, back, sizeof back);
		assert_string_equal(back, s);
		buf_free(&out);
		n = 0;
		shift = 0;
	}
	/* the same digits as numeric(1000,500) */
	memmove(text + 502, text + 501, 501);
	text[501] = '.';
	assert_int_equal(run(&t2, text, strlen(text), &out, &err), PGTEXT_VALUE);
	buf_free(&out);
	BAD(t, "1.5", "would need rounding");
	text[0] = '1';
	BAD(t2, text, "needs 501 integer digits");
}

static void test_numeric_text(void **state)
{
	struct coltype t = T(1700, -1), odd = T(1700, 329730 /* numeric(5,-2) */);

	(void)state;
	assert_int_equal(t.kind, CT_NUMERIC);
	OK_STR(t, "0");
	OK_STR(t, "-123.4500");
	OK_STR(t, "0.0000000001");
	OK_STR(t, "NaN");
	OK_STR(t, "Infinity");
	OK_STR(t, "-Infinity");
	OK_STR(odd, "12300");
	BAD(t, "", "invalid numeric value \"\": not a number");
	BAD(t, "1e10", "not a number");
	BAD(t, "abc", "not a number");
	BAD(t, "infinity", "not a number");
}

/* ---- strings ---- */

static void test_strings(void **state)
{
	struct coltype text = T(25, -1), vc = T(1043, 44), bp = T(1042, 7), js = T(114, -1), jb = T(3802, -1);
	struct coltype interval = T(1186, -1), en = T(70000, -1);

	(void)state;
	OK(text, "", 0x00);
	OK(text, "hello", 0x0a, 'h', 'e', 'l', 'l', 'o');
	OK_STR(text, "with \"quotes\", \\backslashes\\, {braces} and NULL");
	OK_STR(text, "caf\xc3\xa9 \xe2\x82\xac");
	OK_STR(vc, "forty characters at most");
	OK_STR(bp, "ab ");
	OK_STR(js, "{\"a\": [1, 2.5, null], \"b\": \"x\"}");
	OK_STR(jb, "{\"a\": [1, 2.5, null], \"b\": \"x\"}");
	OK_STR(js, "");
	OK_STR(interval, "1 day 02:03:04");
	OK_STR(en, "happy");
	/* only len bytes, even when more follow */
	check_bytes(&text, "abcdef", 3, PGTEXT_VALUE, BYTES(0x06, 'a', 'b', 'c'), __FILE__, __LINE__);
}

static void test_big_text(void **state)
{
	struct coltype t = T(25, -1);
	const size_t n = 1024 * 1024;
	struct buf out;
	struct cerr err;
	char *s = malloc(n);
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	assert_int_equal(run(&t, s, n, &out, &err), PGTEXT_VALUE);
	assert_int_equal(out.len, 1 + 4 + n);
	assert_memory_equal(out.data + 1, "\x80\x80\x80\x01", 4); /* 2^20 */
	assert_memory_equal(out.data + 5, s, n);
	buf_free(&out);
	free(s);
}

static void test_uuid(void **state)
{
	struct coltype t = T(2950, -1);

	(void)state;
	OK_STR(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	OK_STR(t, "00000000-0000-0000-0000-000000000000");
	OK_STR(t, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
	BAD(t, "", "invalid uuid value \"\": expected 36 characters");
	BAD(t, "a0eebc999c0b4ef8bb6d6bb9bd380a11", "expected 36 characters");
	BAD(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", "expected xxxxxxxx-");
	BAD(t, "a0eebc99-9c0b-4ef8-bb6d6-bb9bd380a11", "expected xxxxxxxx-");
	BAD(t, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "expected 36 characters");
	BAD(t, "{0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1}", "expected xxxxxxxx-");
}

/* ---- bytea ---- */

static void test_bytea(void **state)
{
	struct coltype t = T(17, -1);

	(void)state;
	OK(t, "\\x", 0x00);
	OK(t, "\\x00ff10", 0x06, 0x00, 0xff, 0x10);
	OK(t, "\\xDEADbeef", 0x08, 0xde, 0xad, 0xbe, 0xef);
	BAD(t, "", "invalid bytea value \"\": expected the hex format");
	BAD(t, "00ff", "expected the hex format");
	BAD(t, "\\", "expected the hex format");
	BAD(t, "\\000\\001", "expected the hex format"); /* bytea_output=escape is not what cleave sets */
	BAD(t, "\\X00", "expected the hex format");
	BAD(t, "\\x0", "odd number of hex digits");
	BAD(t, "\\x0g", "invalid hex digit");
	BAD(t, "\\xzz", "invalid hex digit");
	BAD(t, "\\x00 1", "invalid hex digit");
	BAD(t, "\\x00 11", "odd number");
}

static void test_big_bytea(void **state)
{
	struct coltype t = T(17, -1);
	const size_t n = 1024 * 1024;
	struct buf out, lim;
	struct cerr err;
	char *s = malloc(2 + 2 * n);
	size_t i;

	(void)state;
	assert_non_null(s);
	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < n; i++) {
		s[2 + 2 * i] = "0123456789abcdef"[(i >> 4) & 15];
		s[3 + 2 * i] = "0123456789abcdef"[i & 15];
	}
	assert_int_equal(run(&t, s, 2 + 2 * n, &out, &err), PGTEXT_VALUE);
	assert_int_equal(out.len, 1 + 4 + n);
	assert_memory_equal(out.data + 1, "\x80\x80\x80\x01", 4);
	for (i = 0; i < n; i++)
		if (out.data[5 + i] != (uint8_t)i)
			fail_msg("byte %zu is %02x", i, out.data[5 + i]);
	buf_free(&out);

	/* a buffer limit below the value: an error, and the buffer untouched */
	buf_init(&lim, 1000);
	assert_int_equal(buf_putc(&lim, MARKER), 0);
	cerr_clear(&err);
	assert_int_equal(pgtext_to_avro(&t, s, 2 + 2 * n, &lim, &err), -1);
	assert_non_null(strstr(err.msg, "does not fit in the output buffer"));
	assert_int_equal(lim.len, 1);
	buf_free(&lim);
	free(s);
}

/* ---- dates and times ---- */

static void test_date(void **state)
{
	struct coltype t = T(1082, -1);

	(void)state;
	OK(t, "1970-01-01", 0x00);
	OK(t, "1970-01-02", 0x02);
	OK(t, "1969-12-31", 0x01);
	OK_LONG(t, "2000-02-29", 11016);
	OK_LONG(t, "2024-03-01", 19783);
	OK_LONG(t, "1900-03-01", -25508);
	OK_LONG(t, "1600-02-29", -135081);
	OK_LONG(t, "0001-01-01", -719162);
	OK_LONG(t, "0001-12-31 BC", -719163);
	OK_LONG(t, "0001-01-01 BC", -719528);
	OK_LONG(t, "0005-02-29 BC", -720930); /* 5 BC is astronomical -4: a leap year */
	OK_LONG(t, "0044-03-15 BC", -735160);
	OK_LONG(t, "4713-01-01 BC", -2440550);
	OK_LONG(t, "9999-12-31", 2932896);
	OK_LONG(t, "294276-12-31", 106762939);
	OK_LONG(t, "5874897-12-31", 2145042905);
	OK(t, "infinity", 0xfe, 0xff, 0xff, 0xff, 0x0f);
	OK(t, "-infinity", 0xff, 0xff, 0xff, 0xff, 0x0f);

	BAD(t, "", "invalid date value \"\": expected YYYY-MM-DD[ BC]");
	BAD(t, "2024-02-30", "no such date");
	BAD(t, "2023-02-29", "no such date");
	BAD(t, "1900-02-29", "no such date");
	BAD(t, "0004-02-29 BC", "no such date");
	BAD(t, "0000-01-01", "no such date");
	BAD(t, "2024-13-01", "expected YYYY-MM-DD");
	BAD(t, "2024-00-10", "expected YYYY-MM-DD");
	BAD(t, "2024-01-00", "expected YYYY-MM-DD");
	BAD(t, "2024-1-01", "expected YYYY-MM-DD");
	BAD(t, "2024/01/01", "expected YYYY-MM-DD");
	BAD(t, "2024-01-01 ", "expected YYYY-MM-DD");
	BAD(t, "2024-01-01 AD", "expected YYYY-MM-DD");
	BAD(t, "2024-01-01 BCE", "expected YYYY-MM-DD");
	BAD(t, "2024-01-01 00:00:00", "expected YYYY-MM-DD");
	BAD(t, "Infinity", "expected YYYY-MM-DD");
	BAD(t, "2147483647-01-01", "expected YYYY-MM-DD");
	BAD(t, "999999999-01-01", "out of range");
	BAD(t, "-2024-01-01", "expected YYYY-MM-DD");
}

static void test_time(void **state)
{
	struct coltype t = T(1083, -1);

	(void)state;
	OK(t, "00:00:00", 0x00);
	OK(t, "00:00:00.000001", 0x02);
	OK_LONG(t, "12:34:56.5", INT64_C(45296500000));
	OK_LONG(t, "12:34:56.123", INT64_C(45296123000));
	OK_LONG(t, "23:59:59.999999", INT64_C(86399999999));
	OK_LONG(t, "24:00:00", INT64_C(86400000000));
	BAD(t, "24:00:00.000001", "invalid time value \"24:00:00.000001\": expected HH:MM:SS[.ffffff]");
	BAD(t, "24:00:01", "expected HH:MM:SS");
	BAD(t, "25:00:00", "expected HH:MM:SS");
	BAD(t, "12:60:00", "expected HH:MM:SS");
	BAD(t, "12:00:60", "expected HH:MM:SS");
	BAD(t, "12:00", "expected HH:MM:SS");
	BAD(t, "1:00:00", "expected HH:MM:SS");
	BAD(t, "12:00:00.", "expected HH:MM:SS");
	BAD(t, "12:00:00.1234567", "expected HH:MM:SS");
	BAD(t, "12:00:00+00", "expected HH:MM:SS");
	BAD(t, "", "expected HH:MM:SS");
	BAD(t, "allballs", "expected HH:MM:SS");
}

static void test_timestamp(void **state)
{
	struct coltype t = T(1114, -1);

	(void)state;
	OK(t, "1970-01-01 00:00:00", 0x00);
	OK(t, "1970-01-01 00:00:00.000001", 0x02);
	OK(t, "1969-12-31 23:59:59.999999", 0x01);
	OK_LONG(t, "2024-05-06 07:08:09.123456", INT64_C(1714979289123456));
	OK_LONG(t, "1900-01-01 00:00:00.5", INT64_C(-2208988799500000));
	OK_LONG(t, "0044-03-15 12:00:00 BC", INT64_C(-63517780800000000));
	OK_LONG(t, "4713-01-01 00:00:00 BC", INT64_C(-210863520000000000));
	OK_LONG(t, "9999-12-31 23:59:59.999999", INT64_C(253402300799999999));
	OK_LONG(t, "200000-01-01 00:00:00", INT64_C(6249223180800000000));
	OK_LONG(t, "294247-01-10 04:00:54.775806", INT64_MAX - 1);
	OK(t, "infinity", 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	OK(t, "-infinity", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);

	/* later than 294247-01-10 04:00:54.775806 does not fit (or would read as infinity) */
	BAD(t, "294247-01-10 04:00:54.775807", "out of range of microseconds since 1970");
	BAD(t, "294276-12-31 23:59:59.999999", "out of range of microseconds since 1970");
	BAD(t, "", "invalid timestamp value \"\": expected YYYY-MM-DD HH:MM:SS[.ffffff][ BC]");
	BAD(t, "2024-05-06", "expected YYYY-MM-DD HH:MM:SS");
	BAD(t, "2024-05-06T07:08:09", "expected YYYY-MM-DD HH:MM:SS");
	BAD(t, "2024-05-06 24:00:00", "expected YYYY-MM-DD HH:MM:SS");
	BAD(t, "2024-05-06 07:08:09+00", "expected YYYY-MM-DD HH:MM:SS");
	BAD(t, "2024-05-06 07:08:09 BC x", "expected YYYY-MM-DD HH:MM:SS");
	BAD(t, "2024-05-06 07:08", "expected YYYY-MM-DD HH:MM:SS");
	BAD(t, "2023-02-29 00:00:00", "no such date");
	BAD(t, "0000-01-01 00:00:00", "no such date");
}

static void test_timestamptz(void **state)
{
	struct coltype t = T(1184, -1);

	(void)state;
	OK(t, "1970-01-01 00:00:00+00", 0x00);
	OK_LONG(t, "1970-01-01 00:00:00-01", INT64_C(3600000000));
	OK_LONG(t, "1970-01-01 00:00:00+01", INT64_C(-3600000000));
	OK_LONG(t, "2024-05-06 01:38:09.123456+00", INT64_C(1714959489123456));
	OK_LONG(t, "2024-05-06 07:08:09.123456+05:30", INT64_C(1714959489123456));
	OK_LONG(t, "1900-01-01 00:00:00-03:06:28", INT64_C(-2208977612000000));
	OK_LONG(t, "1900-01-01 00:00:00+00:19:32", INT64_C(-2208988800000000) - 1172 * INT64_C(1000000));
	OK_LONG(t, "0044-03-15 12:00:00+00 BC", INT64_C(-63517780800000000));
	OK_LONG(t, "2000-01-01 00:00:00+15:59:59", INT64_C(946684800000000) - INT64_C(57599000000));
	OK(t, "infinity", 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	OK(t, "-infinity", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	/* an offset can bring a value back into range */
	OK_LONG(t, "294247-01-10 04:00:54.775807+00:00:01", INT64_MAX - 1000000);
	OK_LONG(t, "294247-01-10 04:00:55+00:00:01", INT64_MAX - 775807); /* local time alone would not fit */

	BAD(t, "2024-05-06 07:08:09", "invalid timestamp with time zone value \"2024-05-06 07:08:09\": expected");
	BAD(t, "2024-05-06 07:08:09+5", "expected YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]][ BC]");
	BAD(t, "2024-05-06 07:08:09+16", "expected");
	BAD(t, "2024-05-06 07:08:09+05:60", "expected");
	BAD(t, "2024-05-06 07:08:09+05:30:", "expected");
	BAD(t, "2024-05-06 07:08:09+05:30:00:00", "expected");
	BAD(t, "2024-05-06 07:08:09 UTC", "expected");
	BAD(t, "2024-05-06 07:08:09Z", "expected");
	BAD(t, "2024-05-06 07:08:09+00 AD", "expected");
	BAD(t, "0044-03-15 12:00:00 BC+00", "expected");
	BAD(t, "294276-12-31 23:59:59.999999+00", "out of range");
}

/* ---- arrays ---- */

static void test_array_ints(void **state)
{
	struct coltype i4 = T(1007, -1), i2 = T(1005, -1), i8 = T(1016, -1);

	(void)state;
	assert_int_equal(i4.kind, CT_ARRAY);
	OK(i4, "{}", 0x00);
	/* count 3; items as union {null, int}: 1 -> 02 02, 2 -> 02 04, NULL -> 00; then the end 00 */
	OK(i4, "{1,2,NULL}", 0x06, 0x02, 0x02, 0x02, 0x04, 0x00, 0x00);
	OK(i4, "{NULL}", 0x02, 0x00, 0x00);
	OK(i4, "{null,Null}", 0x04, 0x00, 0x00, 0x00);
	OK(i4, "{ NULL ,1}", 0x04, 0x00, 0x02, 0x02, 0x00);
	OK(i4, " { 1 , -1 } ", 0x04, 0x02, 0x02, 0x02, 0x01, 0x00);
	OK(i4, "{\"5\"}", 0x02, 0x02, 0x0a, 0x00);
	OK(i2, "{32767,-32768}", 0x04, 0x02, 0xfe, 0xff, 0x03, 0x02, 0xff, 0xff, 0x03, 0x00);
	OK(i8, "{9223372036854775807}", 0x02, 0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	   0x00);
	BAD(i2, "{1,32768}", "element 2 of smallint[]: invalid smallint value \"32768\": out of range");
	BAD(i4, "{abc}", "element 1 of integer[]: invalid integer value \"abc\": not an integer");
	BAD(i4, "{\"NULL\"}", "element 1 of integer[]: invalid integer value \"NULL\"");
	BAD(i4, "{\"\"}", "element 1 of integer[]");
}

static void test_array_text(void **state)
{
	struct coltype t = T(1009, -1), vc = T(1015, 44), bp = T(1014, 7), js = T(199, -1);

	(void)state;
	/* array_out's quoting: spaces, empty, the word NULL, quotes and backslashes, braces */
	OK(t, "{\"a b\",\"\",\"NULL\",NULL,\"x\\\"y\\\\z\",\"{}\",\" lead\"}", 0x0e,
	   0x02, 0x06, 'a', ' ', 'b',
	   0x02, 0x00,
	   0x02, 0x08, 'N', 'U', 'L', 'L',
	   0x00,
	   0x02, 0x0a, 'x', '"', 'y', '\\', 'z',
	   0x02, 0x04, '{', '}',
	   0x02, 0x0a, ' ', 'l', 'e', 'a', 'd',
	   0x00);
	OK(t, "{abc,d\\,e}", 0x04, 0x02, 0x06, 'a', 'b', 'c', 0x02, 0x06, 'd', ',', 'e', 0x00);
	/* unquoted elements lose surrounding spaces, keep inner ones and escaped ones */
	OK(t, "{ a b ,c\\ }", 0x04, 0x02, 0x06, 'a', ' ', 'b', 0x02, 0x04, 'c', ' ', 0x00);
	OK(t, "{\\NULL}", 0x02, 0x02, 0x08, 'N', 'U', 'L', 'L', 0x00); /* escaped: a string */
	OK(t, "{NULLx}", 0x02, 0x02, 0x0a, 'N', 'U', 'L', 'L', 'x', 0x00);
	OK(t, "{\"caf\xc3\xa9\"}", 0x02, 0x02, 0x0a, 'c', 'a', 'f', 0xc3, 0xa9, 0x00);
	OK(vc, "{short,NULL}", 0x04, 0x02, 0x0a, 's', 'h', 'o', 'r', 't', 0x00, 0x00);
	OK(bp, "{\"ab \"}", 0x02, 0x02, 0x06, 'a', 'b', ' ', 0x00);
	OK(js, "{\"{\\\"a\\\": 1}\",NULL}", 0x04, 0x02, 0x10, '{', '"', 'a', '"', ':', ' ', '1', '}', 0x00, 0x00);
}

static void test_array_other(void **state)
{
	struct coltype b = T(1000, -1), by = T(1001, -1), d = T(1182, -1), ts = T(1115, -1), tz = T(1185, -1);
	struct coltype f8 = T(1022, -1), f4 = T(1021, -1), u = T(2951, -1), tm = T(1183, -1);
	struct coltype dec = T(1231, NUMTM(5, 2)), num = T(1231, -1), jb = T(3807, -1);

	(void)state;
	OK(b, "{t,f,NULL}", 0x06, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00);
	OK(by, "{\"\\\\x00ff\",\"\\\\x\",NULL}", 0x06, 0x02, 0x04, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00);
	OK(d, "{1970-01-02,infinity,NULL}", 0x06, 0x02, 0x02, 0x02, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00);
	OK(ts, "{\"1970-01-01 00:00:00.000001\",\"1969-12-31 23:59:59.999999\"}", 0x04, 0x02, 0x02, 0x02, 0x01, 0x00);
	OK(tz, "{\"1970-01-01 00:00:00-00:00:01\"}", 0x02, 0x02, 0x80, 0x89, 0x7a, 0x00); /* 1000000 */
	OK(tm, "{00:00:00.000001}", 0x02, 0x02, 0x02, 0x00);
	OK(f8, "{NaN,Infinity,-Infinity,NULL,1}", 0x0a,
	   0x02, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f,
	   0x02, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f,
	   0x02, 0, 0, 0, 0, 0, 0, 0xf0, 0xff,
	   0x00,
	   0x02, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,
	   0x00);
	OK(f4, "{-2.5}", 0x02, 0x02, 0x00, 0x00, 0x20, 0xc0, 0x00);
	OK(u, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", 0x02, 0x02, 0x48, 'a', '0', 'e', 'e', 'b', 'c', '9', '9', '-',
	   '9', 'c', '0', 'b', '-', '4', 'e', 'f', '8', '-', 'b', 'b', '6', 'd', '-', '6', 'b', 'b', '9', 'b', 'd',
	   '3', '8', '0', 'a', '1', '1', 0x00);
	/* numeric(5,2)[]: 1.50 -> 150 -> 00 96; -1.28 -> 80 */
	OK(dec, "{1.50,NULL,-1.28}", 0x06, 0x02, 0x04, 0x00, 0x96, 0x00, 0x02, 0x02, 0x80, 0x00);
	OK(num, "{1.5,NaN}", 0x04, 0x02, 0x06, '1', '.', '5', 0x02, 0x06, 'N', 'a', 'N', 0x00);
	OK(jb, "{\"[]\"}", 0x02, 0x02, 0x04, '[', ']', 0x00);
	/* a NaN element takes the item union's string branch (index 2): 1.50 -> 00 96, then "NaN" */
	OK(dec, "{1.50,NaN}", 0x04, 0x02, 0x04, 0x00, 0x96, 0x04, 0x06, 'N', 'a', 'N', 0x00);
	BAD(dec, "{1.505}", "element 1 of numeric(5,2)[]: invalid numeric(5,2) value \"1.505\": has more than 2 fractional digits (would need rounding)");
	BAD(d, "{2023-02-29}", "element 1 of date[]: invalid date value \"2023-02-29\": no such date");
	BAD(by, "{\"\\\\xzz\"}", "element 1 of bytea[]");
	BAD(u, "{nope}", "element 1 of uuid[]");
}

static void test_array_malformed(void **state)
{
	struct coltype t = T(1007, -1), s = T(1009, -1);

	(void)state;
	BAD(t, "", "invalid integer[] value \"\": expected {");
	BAD(t, "1,2", "expected {");
	BAD(t, "(1,2)", "expected {");
	BAD(t, "{1,2", "unterminated array");
	BAD(t, "{", "unterminated array");
	BAD(t, "{1,,2}", "empty unquoted element");
	BAD(t, "{,}", "empty unquoted element");
	BAD(t, "{1,}", "empty unquoted element");
	OK(t, "{ }", 0x00);
	/* more dimensions or explicit bounds: the text, for the union's string branch */
	SPECIAL_STR(t, "{{1,2},{3,4}}");
	SPECIAL_STR(t, "{ {1}}");
	SPECIAL_STR(t, "[2:3]={1,2}");
	SPECIAL_STR(t, "[0:1][1:1]={{1},{2}}");
	SPECIAL_STR(s, "{{\"a b\",NULL},{\"\",\"{x}\"}}");
	BAD(t, "{1,{2}}", "multi-dimensional arrays are not supported");
	BAD(t, "{1}x", "text after the closing }");
	BAD(t, "{1,2}}", "text after the closing }");
	BAD(t, "{1 2}", "element 1 of integer[]");
	BAD(s, "{\"a}", "unterminated quoted element");
	BAD(s, "{\"a\\", "unterminated quoted element");
	BAD(s, "{a\\", "unterminated array");
	BAD(s, "{a\"b}", "unexpected quote or brace inside an unquoted element");
	BAD(s, "{ab{}", "unexpected quote or brace");
	BAD(s, "{\"1\" 2}", "expected , or } after an element");
	BAD(s, "{\"1\"", "unterminated array");
}

/* ---- messages, limits, edge calls ---- */

static void test_messages(void **state)
{
	struct coltype t = T(23, -1), s = T(25, -1);
	char big[300];
	struct buf out;
	struct cerr err;

	(void)state;
	/* a long bad value is quoted only in part */
	memset(big, 'x', sizeof big);
	assert_int_equal(run(&t, big, sizeof big, &out, &err), -1);
	assert_non_null(strstr(err.msg, "invalid integer value \"xxxxxxxx"));
	assert_non_null(strstr(err.msg, "xxx...\": not an integer"));
	assert_true(strlen(err.msg) < 200);
	assert_false(err.retriable);
	buf_free(&out);
	/* control characters and quotes are escaped */
	BAD(t, "1\n\"2\\", "invalid integer value \"1\\x0a\\\"2\\\\\": not an integer");
	/* not cut inside a UTF-8 sequence: 63 ASCII bytes then a two-byte character */
	memset(big, 'y', 63);
	big[63] = '\xc3';
	big[64] = '\xa9';
	assert_int_equal(run(&t, big, 70, &out, &err), -1);
	assert_non_null(strstr(err.msg, "yyy...\""));
	buf_free(&out);

	/* NULL text is the empty value */
	buf_init(&out, 0);
	cerr_clear(&err);
	assert_int_equal(pgtext_to_avro(&s, NULL, 0, &out, &err), PGTEXT_VALUE);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 0x00);
	assert_int_equal(pgtext_to_avro(&s, NULL, 3, &out, &err), -1);
	buf_free(&out);
}

/* A value that does not fit under the buffer's limit fails and leaves the buffer as it was, whatever
 * the type and however much was written before the limit was met. */
static void test_limit(void **state)
{
	struct coltype s = T(25, -1), a = T(1009, -1), d = T(1700, NUMTM(60, 10)), i = T(20, -1);
	struct buf out;
	struct cerr err;

	(void)state;
	buf_init(&out, 8);
	assert_int_equal(buf_putc(&out, MARKER), 0);
	assert_int_equal(pgtext_to_avro(&s, "1234567", 7, &out, &err), -1);
	assert_non_null(strstr(err.msg, "text value of 7 bytes of text does not fit in the output buffer"));
	assert_int_equal(out.len, 1);
	assert_int_equal(pgtext_to_avro(&a, "{abc,defg}", 10, &out, &err), -1);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[1], 0);
	assert_int_equal(pgtext_to_avro(&d, "1.0", 3, &out, &err), 0); /* 10^10: 5 bytes + length */
	assert_int_equal(out.len, 7);
	assert_int_equal(pgtext_to_avro(&i, "-1", 2, &out, &err), 0);
	assert_int_equal(pgtext_to_avro(&i, "-1", 2, &out, &err), -1);
	assert_int_equal(out.len, 8);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int2),
		cmocka_unit_test(test_int4),
		cmocka_unit_test(test_int8),
		cmocka_unit_test(test_float4),
		cmocka_unit_test(test_float8),
		cmocka_unit_test(test_float_locale),
		cmocka_unit_test(test_decimal_small),
		cmocka_unit_test(test_decimal_large),
		cmocka_unit_test(test_decimal_1000_digits),
		cmocka_unit_test(test_numeric_text),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_big_text),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_bytea),
		cmocka_unit_test(test_big_bytea),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_timestamptz),
		cmocka_unit_test(test_array_ints),
		cmocka_unit_test(test_array_text),
		cmocka_unit_test(test_array_other),
		cmocka_unit_test(test_array_malformed),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
