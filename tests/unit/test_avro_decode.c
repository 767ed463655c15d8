/* test_avro_decode.c: unit tests of schema/avro_decode.c on hand-written Avro bytes (not produced by
 * cleave's encoder): logical types, named type resolution, and inputs that must fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "schema/avro_decode.h"

/* Decodes n bytes with schema and compares with the expected JSON text. */
static void expect_json(const char *schema, const void *p, size_t n, const char *want_text)
{
	struct cerr err = {0};
	struct avro_decoder *d = avro_decoder_new(schema, &err);
	json_t *got, *want;

	if (!d)
		fail_msg("avro_decoder_new(%s): %s", schema, err.msg);
	got = avro_decoder_decode(d, p, n, &err);
	avro_decoder_free(d);
	if (!got)
		fail_msg("decode with %s: %s", schema, err.msg);
	want = json_loads(want_text, JSON_DECODE_ANY, NULL);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);

		print_error("schema %s\ngot:  %s\nwant: %s\n", schema, g ? g : "(null)", want_text);
		free(g);
		json_decref(got);
		json_decref(want);
		fail();
	}
	json_decref(got);
	json_decref(want);
}

static void expect_error(const char *schema, const void *p, size_t n, const char *part)
{
	struct cerr err = {0};
	struct avro_decoder *d = avro_decoder_new(schema, &err);
	json_t *got;

	if (!d)
		fail_msg("avro_decoder_new(%s): %s", schema, err.msg);
	got = avro_decoder_decode(d, p, n, &err);
	avro_decoder_free(d);
	if (got) {
		json_decref(got);
		fail_msg("decoded what should fail (%s)", part);
	}
	assert_true(err.set);
	if (part && !strstr(err.msg, part))
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg, part);
}

#define DEC(p, s) "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":" #p ",\"scale\":" #s "}"

static void test_decimal(void **state)
{
	/* bytes: zigzag length, then the two's-complement big-endian unscaled integer */
	static const uint8_t zero[] = {0x02, 0x00};
	static const uint8_t empty[] = {0x00};
	static const uint8_t minus1[] = {0x02, 0xff};
	static const uint8_t m32768[] = {0x04, 0x80, 0x00};
	static const uint8_t p12345[] = {0x04, 0x30, 0x39};
	static const uint8_t padded[] = {0x08, 0x00, 0x00, 0x30, 0x39};      /* redundant sign bytes */
	static const uint8_t npadded[] = {0x08, 0xff, 0xff, 0xcf, 0xc7};     /* -12345 */
	static const uint8_t p128[] = {0x04, 0x00, 0x80};
	static const uint8_t m129[] = {0x04, 0xff, 0x7f};
	/* 2^127 - 1 and -2^127, 16 bytes */
	static const uint8_t max128[] = {0x20, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t min128[] = {0x20, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	/* 10^18 = 0x0de0b6b3a7640000: a chunk of nine zero digits inside */
	static const uint8_t e18[] = {0x10, 0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00};

	(void)state;
	expect_json(DEC(40, 3), zero, sizeof zero, "\"0.000\"");
	expect_json(DEC(40, 3), empty, sizeof empty, "\"0.000\"");
	expect_json(DEC(40, 0), zero, sizeof zero, "\"0\"");
	expect_json(DEC(40, 3), minus1, sizeof minus1, "\"-0.001\"");
	expect_json(DEC(40, 3), m32768, sizeof m32768, "\"-32.768\"");
	expect_json(DEC(40, 3), p12345, sizeof p12345, "\"12.345\"");
	expect_json(DEC(40, 5), p12345, sizeof p12345, "\"0.12345\"");
	expect_json(DEC(40, 7), p12345, sizeof p12345, "\"0.0012345\"");
	expect_json(DEC(40, 0), p12345, sizeof p12345, "\"12345\"");
	expect_json(DEC(40, 1), padded, sizeof padded, "\"1234.5\"");
	expect_json(DEC(40, 1), npadded, sizeof npadded, "\"-1234.5\"");
	expect_json(DEC(40, 0), p128, sizeof p128, "\"128\"");
	expect_json(DEC(40, 0), m129, sizeof m129, "\"-129\"");
	expect_json(DEC(40, 0), max128, sizeof max128, "\"170141183460469231731687303715884105727\"");
	expect_json(DEC(40, 10), min128, sizeof min128, "\"-17014118346046923173168730371.5884105728\"");
	expect_json(DEC(40, 0), e18, sizeof e18, "\"1000000000000000000\"");
	expect_json(DEC(40, 18), e18, sizeof e18, "\"1.000000000000000000\"");
	expect_json(DEC(40, 20), e18, sizeof e18, "\"0.01000000000000000000\"");
}

static void test_decimal_too_long(void **state)
{
	uint8_t *p = calloc(1, 4000);

	(void)state;
	assert_non_null(p);
	/* 2000 bytes: zigzag 4000 = 0xa0 0x1f */
	p[0] = 0xa0;
	p[1] = 0x1f;
	p[2] = 0x01;
	expect_error(DEC(40, 0), p, 2002, "too long");
	free(p);
}

static void test_primitives(void **state)
{
	static const uint8_t b0a_ff[] = {0x04, 0x0a, 0xff};
	static const uint8_t bempty[] = {0x00};
	static const uint8_t s_hi[] = {0x04, 'h', 'i'};
	static const uint8_t l_min[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t i_m1[] = {0x01};
	static const uint8_t t[] = {0x01};
	static const uint8_t f_nan[] = {0x00, 0x00, 0xc0, 0x7f};
	static const uint8_t f_ninf[] = {0x00, 0x00, 0x80, 0xff};
	static const uint8_t f_15[] = {0x00, 0x00, 0xc0, 0x3f};
	static const uint8_t d_inf[] = {0, 0, 0, 0, 0, 0, 0xf0, 0x7f};
	static const uint8_t d_nan[] = {0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
	static const uint8_t d_m225[] = {0, 0, 0, 0, 0, 0, 0x02, 0xc0};
	static const uint8_t date[] = {0x8c, 0xb5, 0x02}; /* 19782 */

	(void)state;
	expect_json("\"bytes\"", b0a_ff, sizeof b0a_ff, "\"\\\\x0aff\"");
	expect_json("\"bytes\"", bempty, sizeof bempty, "\"\\\\x\"");
	expect_json("\"string\"", s_hi, sizeof s_hi, "\"hi\"");
	expect_json("\"string\"", bempty, sizeof bempty, "\"\"");
	expect_json("\"long\"", l_min, sizeof l_min, "-9223372036854775808");
	expect_json("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", l_min, sizeof l_min,
	            "-9223372036854775808");
	expect_json("\"int\"", i_m1, sizeof i_m1, "-1");
	expect_json("{\"type\":\"int\",\"logicalType\":\"date\"}", date, sizeof date, "19782");
	expect_json("\"boolean\"", t, sizeof t, "true");
	expect_json("\"null\"", "", 0, "null");
	expect_json("\"float\"", f_nan, sizeof f_nan, "\"NaN\"");
	expect_json("\"float\"", f_ninf, sizeof f_ninf, "\"-Infinity\"");
	expect_json("\"float\"", f_15, sizeof f_15, "1.5");
	expect_json("\"double\"", d_inf, sizeof d_inf, "\"Infinity\"");
	expect_json("\"double\"", d_nan, sizeof d_nan, "\"NaN\"");
	expect_json("\"double\"", d_m225, sizeof d_m225, "-2.25");
}

static void test_complex_and_names(void **state)
{
	/* namespaces: E is defined inside a.b.R and referenced by short name, by full name, and from a
	 * record with another namespace by full name; cleave.Unchanged becomes {"unchanged":true} */
	static const char schema[] =
		"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\",\"fields\":["
		"{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}},"
		"{\"name\":\"e2\",\"type\":\"E\"},"
		"{\"name\":\"e3\",\"type\":\"a.b.E\"},"
		"{\"name\":\"inner\",\"type\":{\"type\":\"record\",\"name\":\"Other\",\"namespace\":\"z\",\"fields\":["
		"{\"name\":\"e4\",\"type\":\"a.b.E\"},"
		"{\"name\":\"u\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"cleave.Unchanged\","
		"\"symbols\":[\"UNCHANGED\"]}]}]}},"
		"{\"name\":\"again\",\"type\":[\"null\",\"z.Other\"]},"
		"{\"name\":\"arr\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"int\"]}},"
		"{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
		"{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
		"{\"name\":\"wrapped\",\"type\":{\"type\":\"F\"}}]}";
	static const uint8_t bytes[] = {
		0x02,                   /* e = Y */
		0x00,                   /* e2 = X */
		0x02,                   /* e3 = Y */
		0x00,                   /* e4 = X */
		0x02, 0x00,             /* u = branch 1, UNCHANGED */
		0x02, 0x02, 0x00,       /* again = branch 1: e4 = Y, u = null */
		0x03, 0x04,             /* arr: block of -2 items, then its byte size 2 */
		0x00, 0x02, 0x06,       /* null, 3 */
		0x00,                   /* end of arr */
		0x02, 0x02, 'k', 0x54,  /* m: one entry "k" = 42 */
		0x00,                   /* end of m */
		0xab, 0xcd,             /* fx */
		0x01, 0x02,             /* wrapped */
	};

	(void)state;
	expect_json(schema, bytes, sizeof bytes,
	            "{\"e\":\"Y\",\"e2\":\"X\",\"e3\":\"Y\",\"inner\":{\"e4\":\"X\",\"u\":{\"unchanged\":true}},"
	            "\"again\":{\"e4\":\"Y\",\"u\":null},\"arr\":[null,3],\"m\":{\"k\":42},\"fx\":\"\\\\xabcd\","
	            "\"wrapped\":\"\\\\x0102\"}");
}

static void test_bad_input(void **state)
{
	static const uint8_t enum_big[] = {0x04};
	static const uint8_t bool2[] = {0x02};
	static const uint8_t int_big[] = {0x80, 0x80, 0x80, 0x80, 0x10};
	static const uint8_t neg_len[] = {0x01};
	static const uint8_t huge_len[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	static const uint8_t over64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	static const uint8_t huge_count[] = {0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00};
	static const uint8_t min_count[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t trailing[] = {0x02, 0x00};
	static const uint8_t bad_utf8[] = {0x02, 0xff};
	struct cerr err = {0};

	(void)state;
	expect_error("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", enum_big, 1, "enum");
	expect_error("\"boolean\"", bool2, 1, "boolean");
	expect_error("\"int\"", int_big, sizeof int_big, "int out of range");
	expect_error("\"bytes\"", neg_len, 1, "negative");
	expect_error("\"string\"", huge_len, sizeof huge_len, "past the end");
	expect_error("\"long\"", over64, sizeof over64, "64 bits");
	expect_error("{\"type\":\"array\",\"items\":\"int\"}", huge_count, sizeof huge_count, "block count");
	expect_error("{\"type\":\"array\",\"items\":\"int\"}", min_count, sizeof min_count, "block count");
	expect_error("\"int\"", trailing, sizeof trailing, "after the value");
	expect_error("\"string\"", bad_utf8, sizeof bad_utf8, "UTF-8");
	expect_error("\"double\"", "1234567", 7, "past the end");

	/* schemas neither jansson nor avro-c accept */
	assert_null(avro_decoder_new("not json", &err));
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_null(avro_decoder_new("{\"type\":\"nope\"}", &err));
	assert_non_null(strstr(err.msg, "avro-c"));
	assert_null(avro_decoder_new("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\",\"type\":\"Y\"}]}",
	                             &err));
	avro_decoder_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_decimal_too_long),
		cmocka_unit_test(test_primitives),
		cmocka_unit_test(test_complex_and_names),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
