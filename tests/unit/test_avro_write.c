/* test_avro_write.c: the Avro binary primitives (schema/avro_write.h) byte for byte, the single-object
 * header and its reader, and CRC-64-AVRO (schema/fingerprint.h) against the published vectors of the
 * Avro project's share/test/data/schema-tests.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "schema/avro_write.h"
#include "schema/fingerprint.h"

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static void assert_buf(const struct buf *b, const uint8_t *exp, size_t n)
{
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, exp, n);
}

static void check_long(int64_t v, const uint8_t *exp, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(avro_put_long(&b, v), 0);
	assert_buf(&b, exp, n);
	buf_free(&b);
}

/* The spec's zigzag table, and the extremes of int and long. */
static void test_long(void **state)
{
	(void)state;
	check_long(0, BYTES(0x00));
	check_long(-1, BYTES(0x01));
	check_long(1, BYTES(0x02));
	check_long(-2, BYTES(0x03));
	check_long(2, BYTES(0x04));
	check_long(-64, BYTES(0x7f));
	check_long(64, BYTES(0x80, 0x01));
	check_long(8192, BYTES(0x80, 0x80, 0x01));
	check_long(INT32_MAX, BYTES(0xfe, 0xff, 0xff, 0xff, 0x0f));
	check_long(INT32_MIN, BYTES(0xff, 0xff, 0xff, 0xff, 0x0f));
	check_long(INT64_MAX, BYTES(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
	check_long(INT64_MIN, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
}

static void test_bool_float_double(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(avro_put_bool(&b, true), 0);
	assert_int_equal(avro_put_bool(&b, false), 0);
	assert_buf(&b, BYTES(0x01, 0x00));

	buf_reset(&b);
	assert_int_equal(avro_put_float(&b, 1.0f), 0);
	assert_int_equal(avro_put_float(&b, -2.5f), 0);
	assert_buf(&b, BYTES(0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0));

	buf_reset(&b);
	assert_int_equal(avro_put_double(&b, 1.0), 0);
	assert_int_equal(avro_put_double(&b, 0.1), 0);
	assert_buf(&b, BYTES(0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f));
	buf_free(&b);
}

static void test_bytes(void **state)
{
	struct buf b;
	uint8_t *big;
	size_t n = 300;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(avro_put_bytes(&b, "", 0), 0);
	assert_int_equal(avro_put_bytes(&b, NULL, 0), 0);
	assert_int_equal(avro_put_bytes(&b, "foo", 3), 0);
	assert_buf(&b, BYTES(0x00, 0x00, 0x06, 'f', 'o', 'o'));

	/* a length past one varint byte: 300 -> zigzag 600 -> d8 04 */
	buf_reset(&b);
	big = malloc(n);
	assert_non_null(big);
	memset(big, 0x5a, n);
	assert_int_equal(avro_put_bytes(&b, big, n), 0);
	assert_int_equal(b.len, n + 2);
	assert_memory_equal(b.data, "\xd8\x04", 2);
	assert_memory_equal(b.data + 2, big, n);
	free(big);
	buf_free(&b);
}

/* A write that does not fit under the limit fails and leaves the buffer as it was. */
static void test_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(avro_put_bytes(&b, "abc", 3), 0);
	assert_int_equal(avro_put_bytes(&b, "abc", 3), -1);
	assert_int_equal(b.len, 4);
	assert_int_equal(avro_put_double(&b, 1.0), -1);
	assert_int_equal(avro_put_long(&b, INT64_MAX), -1);
	assert_int_equal(avro_put_soe_header(&b, 1), -1);
	assert_int_equal(b.len, 4);
	assert_int_equal(avro_put_bool(&b, true), 0);
	assert_int_equal(avro_put_bool(&b, true), -1);
	assert_buf(&b, BYTES(0x06, 'a', 'b', 'c', 0x01));
	buf_free(&b);
}

static void test_soe_header(void **state)
{
	struct buf b;
	uint64_t fp = 0;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(avro_put_soe_header(&b, 0x0123456789abcdefULL), 0);
	assert_buf(&b, BYTES(0xc3, 0x01, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01));
	assert_int_equal(AVRO_SOE_HEADER_LEN, 10);

	assert_int_equal(avro_get_soe_header(b.data, b.len, &fp), 0);
	assert_true(fp == 0x0123456789abcdefULL);
	/* the header followed by a body still reads */
	assert_int_equal(avro_put_long(&b, 42), 0);
	fp = 0;
	assert_int_equal(avro_get_soe_header(b.data, b.len, &fp), 0);
	assert_true(fp == 0x0123456789abcdefULL);

	/* short, wrong marker, wrong version, nothing */
	assert_int_equal(avro_get_soe_header(b.data, 9, &fp), -1);
	assert_int_equal(avro_get_soe_header(BYTES(0xc2, 0x01, 0, 0, 0, 0, 0, 0, 0, 0), &fp), -1);
	assert_int_equal(avro_get_soe_header(BYTES(0xc3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0), &fp), -1);
	assert_int_equal(avro_get_soe_header(NULL, 0, &fp), -1);
	assert_int_equal(avro_get_soe_header("", 0, &fp), -1);
	buf_free(&b);
}

/* Fingerprints of Parsing Canonical Forms as published (signed 64-bit, as Java prints them) in the
 * Avro project's share/test/data/schema-tests.txt. */
static const struct {
	const char *canonical;
	int64_t fingerprint;
} fp_vectors[] = {
	{"\"null\"", INT64_C(7195948357588979594)},
	{"\"boolean\"", INT64_C(-6970731678124411036)},
	{"\"int\"", INT64_C(8247732601305521295)},
	{"\"long\"", INT64_C(-3434872931120570953)},
	{"\"float\"", INT64_C(5583340709985441680)},
	{"\"double\"", INT64_C(-8181574048448539266)},
	{"\"bytes\"", INT64_C(5746618253357095269)},
	{"\"string\"", INT64_C(-8142146995180207161)},
	{"[]", INT64_C(-1241056759729112623)},
	{"[\"int\"]", INT64_C(-5232228896498058493)},
	{"[\"int\",\"boolean\"]", INT64_C(5392556393470105090)},
	{"{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(-4824392279771201922)},
	{"{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", INT64_C(5916914534497305771)},
	{"{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"},"
	 "{\"name\":\"f2\",\"type\":\"int\"}]}",
	 INT64_C(-4860222112080293046)},
	{"{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", INT64_C(-6342190197741309591)},
	{"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", INT64_C(1756455273707447556)},
	{"{\"type\":\"array\",\"items\":\"null\"}", INT64_C(-589620603366471059)},
	{"{\"type\":\"map\",\"values\":\"string\"}", INT64_C(-8732877298790414990)},
	{"{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":"
	 "[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
	 INT64_C(-1759257747318642341)},
};

static void test_fingerprint_vectors(void **state)
{
	size_t i;

	(void)state;
	/* the spec: the fingerprint of nothing is EMPTY */
	assert_true(fingerprint_crc64_avro("", 0) == 0xc15d213aa4d7a795ULL);
	assert_true(fingerprint_crc64_avro(NULL, 0) == 0xc15d213aa4d7a795ULL);
	for (i = 0; i < sizeof fp_vectors / sizeof fp_vectors[0]; i++) {
		const char *s = fp_vectors[i].canonical;
		uint64_t got = fingerprint_crc64_avro(s, strlen(s));

		if (got != (uint64_t)fp_vectors[i].fingerprint)
			fail_msg("fingerprint of %s: got %lld, want %lld", s, (long long)got,
				 (long long)fp_vectors[i].fingerprint);
	}
}

/* fingerprint.c holds the table precomputed; compare with the spec's algorithm that fills it at run
 * time, over all single bytes and pseudo-random strings. */
static uint64_t spec_fingerprint(const uint8_t *p, size_t n)
{
	const uint64_t empty = 0xc15d213aa4d7a795ULL;
	uint64_t table[256], fp;
	size_t i;
	int j;

	for (i = 0; i < 256; i++) {
		fp = i;
		for (j = 0; j < 8; j++)
			fp = (fp >> 1) ^ (empty & -(fp & 1));
		table[i] = fp;
	}
	fp = empty;
	for (i = 0; i < n; i++)
		fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
	return fp;
}

static void test_fingerprint_table(void **state)
{
	uint8_t data[512];
	uint32_t x = 12345;
	size_t i, n;

	(void)state;
	for (i = 0; i < 256; i++) {
		uint8_t c = (uint8_t)i;

		assert_true(fingerprint_crc64_avro(&c, 1) == spec_fingerprint(&c, 1));
	}
	for (n = 0; n < sizeof data; n += 37) {
		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			data[i] = (uint8_t)(x >> 16);
		}
		assert_true(fingerprint_crc64_avro(data, n) == spec_fingerprint(data, n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_bool_float_double),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_soe_header),
		cmocka_unit_test(test_fingerprint_vectors),
		cmocka_unit_test(test_fingerprint_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
