/* test_envelope.c: unit tests of schema/table_schema.c and schema/envelope.c. Every envelope is encoded
 * with envelope_encode() and read back with avro_decode (avro-c plus the schema JSON), so the writer is
 * checked by an independent reader against exact expected JSON. */
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
#include "schema/avro_write.h"
#include "schema/envelope.h"
#include "schema/fingerprint.h"
#include "schema/table_schema.h"

/* PostgreSQL type OIDs and typmods used below */
#define BOOLOID 16
#define BYTEAOID 17
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define TEXTOID 25
#define JSONOID 114
#define FLOAT4OID 700
#define FLOAT8OID 701
#define INT4ARRAYOID 1007
#define TEXTARRAYOID 1009
#define BPCHAROID 1042
#define VARCHAROID 1043
#define DATEOID 1082
#define TIMEOID 1083
#define TIMESTAMPOID 1114
#define TIMESTAMPTZOID 1184
#define NUMERICOID 1700
#define UUIDOID 2950
#define JSONBOID 3802
#define NUMERIC_TYPMOD(p, s) ((int32_t)((((p) << 16) | (s)) + 4))
#define VARCHAR_TYPMOD(n) ((int32_t)((n) + 4))

struct col {
	const char *name;
	uint32_t oid;
	int32_t typmod;
	bool key;
};

static struct table_schema *schema_of(const char *prefix, const char *nsp, const char *rel, const struct col *cols,
                                      int ncols, struct cerr *err)
{
	struct pgo_column pc[64];
	struct pgo_relation r;

	assert_true(ncols <= 64);
	for (int i = 0; i < ncols; i++) {
		pc[i].flags = cols[i].key ? PGO_COL_KEY : 0;
		pc[i].name = cols[i].name;
		pc[i].type_oid = cols[i].oid;
		pc[i].typmod = cols[i].typmod;
	}
	r.oid = 16500;
	r.nspname = nsp;
	r.relname = rel;
	r.replident = 'd';
	r.ncols = (uint16_t)ncols;
	r.cols = pc;
	return table_schema_new(prefix, &r, err);
}

static struct table_schema *must_schema(const char *prefix, const char *nsp, const char *rel,
                                        const struct col *cols, int ncols)
{
	struct cerr err = {0};
	struct table_schema *ts = schema_of(prefix, nsp, rel, cols, ncols, &err);

	if (!ts)
		fail_msg("table_schema_new: %s", err.msg);
	return ts;
}

/* Tuple values. Texts are NUL-terminated here for convenience, but the encoder gets only len. */
static struct pgo_value T(const char *s)
{
	struct pgo_value v = {PGO_VAL_TEXT, (uint32_t)strlen(s), s};
	return v;
}
static const struct pgo_value N = {PGO_VAL_NULL, 0, NULL};
static const struct pgo_value U = {PGO_VAL_UNCHANGED, 0, NULL};

static const struct envelope_source test_src = {
	"cdc", "shop", 7421, 0x16B374D848ULL, 0x16B374D900ULL, 3, 1700000000123, "false",
};
#define TEST_NOW_MS 1700000000999

static void json_assert_equal(json_t *got, const char *expected_text)
{
	json_error_t jerr;
	json_t *want = json_loads(expected_text, JSON_DECODE_ANY, &jerr);

	if (!want)
		fail_msg("bad expected JSON: %s: %s", jerr.text, expected_text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);

		print_error("got:  %.2000s\nwant: %.2000s\n", g ? g : "(null)", w ? w : "(null)");
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

/* Decodes a single-object-encoded value with the given schema; checks the header carries want_id. */
static json_t *decode_soe(const char *schema_json, uint64_t want_id, const struct buf *b)
{
	struct cerr err = {0};
	struct avro_decoder *d;
	uint64_t id = 0;
	json_t *j;

	assert_int_equal(avro_get_soe_header(b->data, b->len, &id), 0);
	assert_true(id == want_id);
	d = avro_decoder_new(schema_json, &err);
	if (!d)
		fail_msg("avro_decoder_new: %s", err.msg);
	j = avro_decoder_decode(d, b->data + AVRO_SOE_HEADER_LEN, b->len - AVRO_SOE_HEADER_LEN, &err);
	avro_decoder_free(d);
	if (!j)
		fail_msg("avro_decoder_decode: %s", err.msg);
	return j;
}

/* Encodes an envelope and decodes it back. */
static json_t *roundtrip(const struct table_schema *ts, char op, const struct pgo_tuple *before,
                         const struct pgo_tuple *after)
{
	struct cerr err = {0};
	struct buf b;
	json_t *j;

	buf_init(&b, 0);
	if (envelope_encode(ts, op, before, after, &test_src, TEST_NOW_MS, &b, &err) != 0) {
		buf_free(&b);
		fail_msg("envelope_encode: %s", err.msg);
	}
	j = decode_soe(ts->value_json, ts->value_id, &b);
	buf_free(&b);
	return j;
}

/* Expects envelope_encode to fail with a message starting with `prefix` and containing `part`. */
static void expect_encode_error(const struct table_schema *ts, char op, const struct pgo_tuple *before,
                                const struct pgo_tuple *after, const char *prefix, const char *part)
{
	struct cerr err = {0};
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = envelope_encode(ts, op, before, after, &test_src, TEST_NOW_MS, &b, &err);
	buf_free(&b);
	assert_int_equal(rc, -1);
	assert_true(err.set);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || (part && !strstr(err.msg, part)))
		fail_msg("unexpected error message: %s (want prefix \"%s\", part \"%s\")", err.msg, prefix,
		         part ? part : "");
}

/* ---- the table with every SPEC.md §5 type ---- */

static const struct col all_cols[] = {
	{"id", INT4OID, -1, true},
	{"b", BOOLOID, -1, false},
	{"i2", INT2OID, -1, false},
	{"i8", INT8OID, -1, false},
	{"f4", FLOAT4OID, -1, false},
	{"f8", FLOAT8OID, -1, false},
	{"dec", NUMERICOID, NUMERIC_TYPMOD(10, 2), false},
	{"big", NUMERICOID, NUMERIC_TYPMOD(60, 10), false},
	{"num", NUMERICOID, -1, false},
	{"t", TEXTOID, -1, false},
	{"vc", VARCHAROID, VARCHAR_TYPMOD(10), false},
	{"ch", BPCHAROID, VARCHAR_TYPMOD(3), false},
	{"by", BYTEAOID, -1, false},
	{"d", DATEOID, -1, false},
	{"tm", TIMEOID, -1, false},
	{"ts", TIMESTAMPOID, -1, false},
	{"tz", TIMESTAMPTZOID, -1, false},
	{"u", UUIDOID, -1, false},
	{"js", JSONOID, -1, false},
	{"jb", JSONBOID, -1, false},
	{"ia", INT4ARRAYOID, -1, false},
	{"ta", TEXTARRAYOID, -1, false},
};
#define ALL_NCOLS ((int)(sizeof all_cols / sizeof all_cols[0]))

static struct table_schema *all_schema(void)
{
	return must_schema("cdc", "public", "everything", all_cols, ALL_NCOLS);
}

static size_t count_substr(const char *s, const char *sub)
{
	size_t n = 0;

	for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
		n++;
	return n;
}

/* The field of Value named `name` in the envelope schema. */
static json_t *value_field(json_t *schema, const char *name)
{
	json_t *before = json_array_get(json_object_get(schema, "fields"), 0);
	json_t *value = json_array_get(json_object_get(before, "type"), 1);
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(value, "fields"), i, f)
		if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
			return f;
	fail_msg("no field %s", name);
	return NULL;
}

static void test_schema_all_types(void **state)
{
	struct table_schema *ts = all_schema();
	json_error_t jerr;
	json_t *s;
	struct cerr err = {0};
	struct avro_decoder *d;
	static const struct {
		const char *name, *type;
	} want[] = {
		{"id", "\"int\""},
		{"b", "\"boolean\""},
		{"i2", "\"int\""},
		{"i8", "\"long\""},
		{"f4", "\"float\""},
		{"f8", "\"double\""},
		{"dec", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}"},
		{"big", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":60,\"scale\":10}"},
		{"num", "\"string\""},
		{"t", "\"string\""},
		{"vc", "\"string\""},
		{"ch", "\"string\""},
		{"by", "\"bytes\""},
		{"d", "{\"type\":\"int\",\"logicalType\":\"date\"}"},
		{"tm", "{\"type\":\"long\",\"logicalType\":\"time-micros\"}"},
		{"ts", "{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}"},
		{"tz", "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}"},
		{"u", "{\"type\":\"string\",\"logicalType\":\"uuid\"}"},
		{"js", "\"string\""},
		{"jb", "\"string\""},
		{"ia", "{\"type\":\"array\",\"items\":[\"null\",\"int\"]}"},
		{"ta", "{\"type\":\"array\",\"items\":[\"null\",\"string\"]}"},
	};

	(void)state;
	assert_int_equal(ts->ncols, ALL_NCOLS);
	assert_int_equal(ts->nkeys, 1);
	assert_int_equal(ts->nunknown, 0);
	assert_string_equal(ts->nspname, "public");
	assert_string_equal(ts->relname, "everything");
	assert_true(ts->value_id == fingerprint_crc64_avro(ts->value_json, strlen(ts->value_json)));
	assert_true(ts->key_id == fingerprint_crc64_avro(ts->key_json, strlen(ts->key_json)));
	/* compact: no whitespace outside strings */
	assert_null(strstr(ts->value_json, ", "));
	assert_null(strstr(ts->value_json, ": "));
	/* cleave.Unchanged defined once, then referenced */
	assert_int_equal(count_substr(ts->value_json, "\"symbols\""), 1);
	assert_int_equal(count_substr(ts->value_json, "\"cleave.Unchanged\""), ALL_NCOLS - 1);
	assert_non_null(strstr(ts->value_json, "\"after\",\"type\":[\"null\",\"cdc.public.everything.Value\"]"));

	s = json_loads(ts->value_json, 0, &jerr);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "name")), "Envelope");
	assert_string_equal(json_string_value(json_object_get(s, "namespace")), "cdc.public.everything");
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		json_t *f = value_field(s, want[i].name);
		json_t *u = json_object_get(f, "type");

		json_assert_equal(json_array_get(u, 0), "\"null\"");
		json_assert_equal(json_array_get(u, 1), want[i].type);
		assert_string_equal(json_string_value(json_object_get(f, "cleave.column")), want[i].name);
		assert_true(json_is_null(json_object_get(f, "default")));
		/* decimals (NaN) and arrays (more dimensions, explicit bounds) have a string branch */
		if (strcmp(want[i].name, "dec") == 0 || strcmp(want[i].name, "big") == 0 ||
		    strcmp(want[i].name, "ia") == 0 || strcmp(want[i].name, "ta") == 0) {
			assert_int_equal(json_array_size(u), 4);
			json_assert_equal(json_array_get(u, 2), "\"string\"");
		} else {
			assert_int_equal(json_array_size(u), 3);
		}
	}
	json_assert_equal(value_field(s, "dec"),
	                  "{\"name\":\"dec\",\"type\":[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\","
	                  "\"precision\":10,\"scale\":2},\"string\",\"cleave.Unchanged\"],\"default\":null,"
	                  "\"cleave.column\":\"dec\",\"cleave.pg_type\":\"numeric(10,2)\",\"cleave.pg_oid\":1700,\"cleave.pg_typmod\":655366}");
	json_assert_equal(json_object_get(value_field(s, "id"), "type"),
	                  "[\"null\",\"int\",{\"type\":\"enum\",\"name\":\"Unchanged\",\"namespace\":\"cleave\","
	                  "\"symbols\":[\"UNCHANGED\"]}]");
	json_decref(s);

	s = json_loads(ts->key_json, 0, &jerr);
	assert_non_null(s);
	json_assert_equal(s, "{\"type\":\"record\",\"name\":\"Key\",\"namespace\":\"cdc.public.everything\","
	                     "\"fields\":[{\"name\":\"id\",\"type\":[\"null\",\"int\"],\"default\":null,"
	                     "\"cleave.column\":\"id\",\"cleave.pg_type\":\"integer\",\"cleave.pg_oid\":23,\"cleave.pg_typmod\":-1}]}");
	json_decref(s);

	/* both parse with avro-c through the decoder too */
	d = avro_decoder_new(ts->value_json, &err);
	assert_non_null(d);
	avro_decoder_free(d);
	d = avro_decoder_new(ts->key_json, &err);
	assert_non_null(d);
	avro_decoder_free(d);
	table_schema_free(ts);
}

/* The exact published text for a small table: the form the docs show. */
static void test_schema_two_columns_exact(void **state)
{
	static const struct col cols[] = {{"id", INT8OID, -1, true}, {"name", TEXTOID, -1, false}};
	struct table_schema *ts = must_schema("cdc", "public", "users", cols, 2);

	(void)state;
	assert_string_equal(
		ts->value_json,
		"{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":\"cdc.public.users\",\"fields\":["
		"{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Value\",\"fields\":["
		"{\"name\":\"id\",\"type\":[\"null\",\"long\",{\"type\":\"enum\",\"name\":\"Unchanged\","
		"\"namespace\":\"cleave\",\"symbols\":[\"UNCHANGED\"]}],\"default\":null,\"cleave.column\":\"id\","
		"\"cleave.pg_type\":\"bigint\",\"cleave.pg_oid\":20,\"cleave.pg_typmod\":-1,\"cleave.key\":true},"
		"{\"name\":\"name\",\"type\":[\"null\",\"string\",\"cleave.Unchanged\"],\"default\":null,"
		"\"cleave.column\":\"name\",\"cleave.pg_type\":\"text\",\"cleave.pg_oid\":25,\"cleave.pg_typmod\":-1}]}],\"default\":null},"
		"{\"name\":\"after\",\"type\":[\"null\",\"cdc.public.users.Value\"],\"default\":null},"
		"{\"name\":\"op\",\"type\":\"string\"},"
		"{\"name\":\"ts_ms\",\"type\":\"long\"},"
		"{\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":\"Source\",\"fields\":["
		"{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"db\",\"type\":\"string\"},"
		"{\"name\":\"schema\",\"type\":\"string\"},{\"name\":\"table\",\"type\":\"string\"},"
		"{\"name\":\"txId\",\"type\":\"long\"},{\"name\":\"lsn\",\"type\":\"long\"},"
		"{\"name\":\"commit_lsn\",\"type\":\"long\"},{\"name\":\"seq\",\"type\":\"long\"},"
		"{\"name\":\"ts_ms\",\"type\":\"long\"},{\"name\":\"snapshot\",\"type\":\"string\"}]}}]}");
	assert_string_equal(ts->key_json,
	                    "{\"type\":\"record\",\"name\":\"Key\",\"namespace\":\"cdc.public.users\",\"fields\":["
	                    "{\"name\":\"id\",\"type\":[\"null\",\"long\"],\"default\":null,\"cleave.column\":\"id\","
	                    "\"cleave.pg_type\":\"bigint\",\"cleave.pg_oid\":20,\"cleave.pg_typmod\":-1}]}");
	table_schema_free(ts);
}

static void test_schema_id_stable_and_changes(void **state)
{
	struct col cols[ALL_NCOLS];
	struct table_schema *a = all_schema(), *b = all_schema(), *c, *k;

	(void)state;
	assert_string_equal(a->value_json, b->value_json);
	assert_true(a->value_id == b->value_id);
	assert_string_equal(a->key_json, b->key_json);
	assert_true(a->key_id == b->key_id);

	/* a non-key column changes type: new value id, same key id */
	memcpy(cols, all_cols, sizeof cols);
	cols[2].oid = INT8OID;
	c = must_schema("cdc", "public", "everything", cols, ALL_NCOLS);
	assert_true(c->value_id != a->value_id);
	assert_true(c->key_id == a->key_id);
	/* a typmod alone changes it too */
	table_schema_free(c);
	memcpy(cols, all_cols, sizeof cols);
	cols[6].typmod = NUMERIC_TYPMOD(12, 2);
	c = must_schema("cdc", "public", "everything", cols, ALL_NCOLS);
	assert_true(c->value_id != a->value_id);
	/* the key column changes type: both change */
	memcpy(cols, all_cols, sizeof cols);
	cols[0].oid = INT8OID;
	k = must_schema("cdc", "public", "everything", cols, ALL_NCOLS);
	assert_true(k->value_id != a->value_id);
	assert_true(k->key_id != a->key_id);
	table_schema_free(a);
	table_schema_free(b);
	table_schema_free(c);
	table_schema_free(k);
}

static void test_schema_no_key_no_columns_pg_catalog(void **state)
{
	static const struct col cols[] = {{"x", TEXTOID, -1, false}, {"y", 16400, -1, false}, {"z", 27, -1, false}};
	struct table_schema *ts = must_schema("cdc", "", "weird", cols, 3);
	struct cerr err = {0};
	struct pgo_value vals[3];
	struct pgo_tuple tup = {3, vals};
	struct buf b;
	json_t *j;

	(void)state;
	assert_int_equal(ts->nkeys, 0);
	assert_null(ts->key_json);
	assert_string_equal(ts->nspname, "pg_catalog");
	/* 16400: a user type (known, text form); 27 (tid): built in but unmapped */
	assert_int_equal(ts->nunknown, 1);
	vals[0] = T("a");
	vals[1] = T("happy");
	vals[2] = T("(0,1)");
	buf_init(&b, 0);
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), -1);
	assert_non_null(strstr(err.msg, "pg_catalog.weird"));
	buf_free(&b);
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(json_object_get(j, "after"), "{\"x\":\"a\",\"y\":\"happy\",\"z\":\"(0,1)\"}");
	json_assert_equal(json_object_get(j, "source"),
	                  "{\"name\":\"cdc\",\"db\":\"shop\",\"schema\":\"pg_catalog\",\"table\":\"weird\","
	                  "\"txId\":7421,\"lsn\":97500059720,\"commit_lsn\":97500059904,\"seq\":3,"
	                  "\"ts_ms\":1700000000123,\"snapshot\":\"false\"}");
	json_decref(j);
	table_schema_free(ts);

	/* a table without columns is legal in PostgreSQL */
	ts = must_schema("cdc", "public", "empty", NULL, 0);
	assert_null(ts->key_json);
	tup.ncols = 0;
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(json_object_get(j, "after"), "{}");
	json_decref(j);
	table_schema_free(ts);
}

static void test_sanitized_names(void **state)
{
	static const struct col cols[] = {
		{"order id", INT4OID, -1, true}, {"1st", TEXTOID, -1, false}, {"a b", TEXTOID, -1, false},
		{"a_b", TEXTOID, -1, false},     {"\xc3\xa9t\xc3\xa9", TEXTOID, -1, false}, {"", TEXTOID, -1, false},
		{"_", TEXTOID, -1, false},
	};
	struct table_schema *ts = must_schema("my-app.cdc", "Sales Dept", "2024 orders", cols, 7);
	struct pgo_value vals[7];
	struct pgo_tuple tup = {7, vals};
	json_t *j, *s;
	json_error_t jerr;
	struct cerr err = {0};
	struct buf b;

	(void)state;
	assert_string_equal(ts->cols[0].avro_name, "order_id");
	assert_string_equal(ts->cols[1].avro_name, "_1st");
	assert_string_equal(ts->cols[2].avro_name, "a_b_2"); /* the valid a_b keeps its name */
	assert_string_equal(ts->cols[3].avro_name, "a_b");
	assert_string_equal(ts->cols[4].avro_name, "_t_"); /* one '_' per UTF-8 character */
	assert_string_equal(ts->cols[5].avro_name, "__2");
	assert_string_equal(ts->cols[6].avro_name, "_");
	assert_string_equal(ts->cols[0].name, "order id");
	assert_non_null(strstr(ts->value_json, "\"namespace\":\"my_app.cdc.Sales_Dept._2024_orders\""));
	s = json_loads(ts->value_json, 0, &jerr);
	assert_string_equal(json_string_value(json_object_get(value_field(s, "_t_"), "cleave.column")),
	                    "\xc3\xa9t\xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(value_field(s, "__2"), "cleave.column")), "");
	json_decref(s);

	for (int i = 0; i < 7; i++)
		vals[i] = T(cols[i].name);
	vals[0] = T("7");
	j = roundtrip(ts, 'r', NULL, &tup);
	json_assert_equal(json_object_get(j, "after"),
	                  "{\"order_id\":7,\"_1st\":\"1st\",\"a_b_2\":\"a b\",\"a_b\":\"a_b\","
	                  "\"_t_\":\"\xc3\xa9t\xc3\xa9\",\"__2\":\"\",\"_\":\"_\"}");
	json_assert_equal(json_object_get(j, "source"),
	                  "{\"name\":\"cdc\",\"db\":\"shop\",\"schema\":\"Sales Dept\",\"table\":\"2024 orders\","
	                  "\"txId\":7421,\"lsn\":97500059720,\"commit_lsn\":97500059904,\"seq\":3,"
	                  "\"ts_ms\":1700000000123,\"snapshot\":\"false\"}");
	json_decref(j);

	buf_init(&b, 0);
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), 0);
	j = decode_soe(ts->key_json, ts->key_id, &b);
	json_assert_equal(j, "{\"order_id\":7}");
	json_decref(j);
	buf_free(&b);
	table_schema_free(ts);
}

/* ---- round trips ---- */

static void set_all(struct pgo_value *v, const char *const *texts)
{
	for (int i = 0; i < ALL_NCOLS; i++)
		v[i] = texts[i] ? T(texts[i]) : N;
}

static void test_insert_all_types(void **state)
{
	static const char *const row[ALL_NCOLS] = {
		"1", "t", "-32768", "9223372036854775807", "1.5", "-2.25", "-12.34",
		"-12345678901234567890123456789012345678901234567890.1234567890",
		"3.14159", "hello", "abc", "ab ", "\\x00ff10", "2024-02-29", "23:59:59.999999",
		"2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.123456+00",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{\"a\": [1, 2]}", "{\"a\": 1}", "{1,NULL,-3}",
		"{\"a b\",NULL,\"\",x,\"q\\\"d\"}",
	};
	struct table_schema *ts = all_schema();
	struct pgo_value vals[ALL_NCOLS];
	struct pgo_tuple tup = {ALL_NCOLS, vals};
	json_t *j;

	(void)state;
	set_all(vals, row);
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(
		j,
		"{\"before\":null,\"after\":{\"id\":1,\"b\":true,\"i2\":-32768,\"i8\":9223372036854775807,"
		"\"f4\":1.5,\"f8\":-2.25,\"dec\":\"-12.34\","
		"\"big\":\"-12345678901234567890123456789012345678901234567890.1234567890\","
		"\"num\":\"3.14159\",\"t\":\"hello\",\"vc\":\"abc\",\"ch\":\"ab \",\"by\":\"\\\\x00ff10\","
		"\"d\":19782,\"tm\":86399999999,\"ts\":1704164645123456,\"tz\":1704164645123456,"
		"\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\",\"js\":\"{\\\"a\\\": [1, 2]}\","
		"\"jb\":\"{\\\"a\\\": 1}\",\"ia\":[1,null,-3],\"ta\":[\"a b\",null,\"\",\"x\",\"q\\\"d\"]},"
		"\"op\":\"c\",\"ts_ms\":1700000000999,"
		"\"source\":{\"name\":\"cdc\",\"db\":\"shop\",\"schema\":\"public\",\"table\":\"everything\","
		"\"txId\":7421,\"lsn\":97500059720,\"commit_lsn\":97500059904,\"seq\":3,"
		"\"ts_ms\":1700000000123,\"snapshot\":\"false\"}}");
	json_decref(j);
	table_schema_free(ts);
}

static void test_extremes(void **state)
{
	static const char *const row_max[ALL_NCOLS] = {
		"2147483647", "f", "32767", "-9223372036854775808", "NaN", "Infinity", "NaN",
		"99999999999999999999999999999999999999999999999999.9999999999", "NaN", "", "", "   ", "\\x",
		"infinity", "00:00:00", "-infinity", "infinity", "00000000-0000-0000-0000-000000000000", "null",
		"[]", "{}", "{\"\"}",
	};
	static const char *const row_min[ALL_NCOLS] = {
		"-2147483648", NULL, NULL, "0", "-Infinity", "NaN", "99999999.99",
		"-99999999999999999999999999999999999999999999999999.9999999999",
		"-123456789012345678901234567890123456789012345678901234567890.123456789", NULL, NULL, NULL,
		NULL, "0001-01-01", "24:00:00", "1969-12-31 23:59:59.999999", "-infinity", NULL, NULL, NULL,
		"{NULL}", NULL,
	};
	static const char *const row_more[ALL_NCOLS] = {
		"0", "t", "0", "-1", "3.4028235e+38", "-1.7976931348623157e+308", "-99999999.99", "0.0000000000",
		"-Infinity", NULL, NULL, NULL, NULL, "-infinity", NULL, NULL, NULL, NULL, NULL, NULL,
		"{-2147483648,2147483647}", NULL,
	};
	static const char *const row_small[ALL_NCOLS] = {
		"3", NULL, NULL, NULL, "1.1754944e-38", "2.2250738585072014e-308", "0.01", "-0.0000000001",
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	};
	struct table_schema *ts = all_schema();
	struct pgo_value vals[ALL_NCOLS];
	struct pgo_tuple tup = {ALL_NCOLS, vals};
	json_t *j;

	(void)state;
	set_all(vals, row_max);
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(
		json_object_get(j, "after"),
		"{\"id\":2147483647,\"b\":false,\"i2\":32767,\"i8\":-9223372036854775808,\"f4\":\"NaN\","
		"\"f8\":\"Infinity\",\"dec\":\"NaN\","
		"\"big\":\"99999999999999999999999999999999999999999999999999.9999999999\",\"num\":\"NaN\","
		"\"t\":\"\",\"vc\":\"\",\"ch\":\"   \",\"by\":\"\\\\x\",\"d\":2147483647,\"tm\":0,"
		"\"ts\":-9223372036854775808,\"tz\":9223372036854775807,"
		"\"u\":\"00000000-0000-0000-0000-000000000000\",\"js\":\"null\",\"jb\":\"[]\",\"ia\":[],"
		"\"ta\":[\"\"]}");
	json_decref(j);

	set_all(vals, row_min);
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(
		json_object_get(j, "after"),
		"{\"id\":-2147483648,\"b\":null,\"i2\":null,\"i8\":0,\"f4\":\"-Infinity\",\"f8\":\"NaN\","
		"\"dec\":\"99999999.99\","
		"\"big\":\"-99999999999999999999999999999999999999999999999999.9999999999\","
		"\"num\":\"-123456789012345678901234567890123456789012345678901234567890.123456789\","
		"\"t\":null,\"vc\":null,\"ch\":null,\"by\":null,\"d\":-719162,\"tm\":86400000000,\"ts\":-1,"
		"\"tz\":-9223372036854775808,\"u\":null,\"js\":null,\"jb\":null,\"ia\":[null],\"ta\":null}");
	json_decref(j);

	set_all(vals, row_more);
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(
		json_object_get(j, "after"),
		"{\"id\":0,\"b\":true,\"i2\":0,\"i8\":-1,\"f4\":3.4028234663852886e+38,"
		"\"f8\":-1.7976931348623157e+308,\"dec\":\"-99999999.99\",\"big\":\"0.0000000000\","
		"\"num\":\"-Infinity\",\"t\":null,\"vc\":null,\"ch\":null,\"by\":null,\"d\":-2147483648,"
		"\"tm\":null,\"ts\":null,\"tz\":null,\"u\":null,\"js\":null,\"jb\":null,"
		"\"ia\":[-2147483648,2147483647],\"ta\":null}");
	json_decref(j);

	set_all(vals, row_small);
	j = roundtrip(ts, 'c', NULL, &tup);
	json_assert_equal(
		json_object_get(j, "after"),
		"{\"id\":3,\"b\":null,\"i2\":null,\"i8\":null,\"f4\":1.1754943508222875e-38,"
		"\"f8\":2.2250738585072014e-308,\"dec\":\"0.01\",\"big\":\"-0.0000000001\",\"num\":null,"
		"\"t\":null,\"vc\":null,\"ch\":null,\"by\":null,\"d\":null,\"tm\":null,\"ts\":null,\"tz\":null,"
		"\"u\":null,\"js\":null,\"jb\":null,\"ia\":null,\"ta\":null}");
	json_decref(j);
	table_schema_free(ts);
}

static void test_all_null_row(void **state)
{
	struct table_schema *ts = all_schema();
	struct pgo_value vals[ALL_NCOLS];
	struct pgo_tuple tup = {ALL_NCOLS, vals};
	json_t *j, *after;
	const char *k;
	json_t *v;

	(void)state;
	for (int i = 0; i < ALL_NCOLS; i++)
		vals[i] = N;
	j = roundtrip(ts, 'r', NULL, &tup);
	after = json_object_get(j, "after");
	assert_int_equal(json_object_size(after), ALL_NCOLS);
	json_object_foreach(after, k, v)
		assert_true(json_is_null(v));
	json_assert_equal(json_object_get(j, "op"), "\"r\"");
	json_decref(j);
	table_schema_free(ts);
}

static void test_update_unchanged_toast(void **state)
{
	static const char *const row[ALL_NCOLS] = {
		"5", "t", "1", "2", "0.5", "0.25", "1.00", "2.0000000000", "3", NULL, "v", "c  ", NULL, "2000-01-01",
		"12:00:00", "2000-01-01 00:00:00", "2000-01-01 00:00:00+00", NULL, NULL, NULL, NULL, NULL,
	};
	struct table_schema *ts = all_schema();
	struct pgo_value nv[ALL_NCOLS], ov[ALL_NCOLS];
	struct pgo_tuple newtup = {ALL_NCOLS, nv}, oldtup = {ALL_NCOLS, ov}, keyonly = {1, ov};
	json_t *j;
	const char *want_after =
		"{\"id\":5,\"b\":true,\"i2\":1,\"i8\":2,\"f4\":0.5,\"f8\":0.25,\"dec\":\"1.00\",\"big\":\"2.0000000000\","
		"\"num\":\"3\",\"t\":{\"unchanged\":true},\"vc\":\"v\",\"ch\":\"c  \",\"by\":{\"unchanged\":true},"
		"\"d\":10957,\"tm\":43200000000,\"ts\":946684800000000,\"tz\":946684800000000,"
		"\"u\":null,\"js\":{\"unchanged\":true},\"jb\":{\"unchanged\":true},\"ia\":null,"
		"\"ta\":{\"unchanged\":true}}";
	const char *want_before_key =
		"{\"id\":4,\"b\":{\"unchanged\":true},\"i2\":{\"unchanged\":true},\"i8\":{\"unchanged\":true},"
		"\"f4\":{\"unchanged\":true},\"f8\":{\"unchanged\":true},\"dec\":{\"unchanged\":true},"
		"\"big\":{\"unchanged\":true},\"num\":{\"unchanged\":true},\"t\":{\"unchanged\":true},"
		"\"vc\":{\"unchanged\":true},\"ch\":{\"unchanged\":true},\"by\":{\"unchanged\":true},"
		"\"d\":{\"unchanged\":true},\"tm\":{\"unchanged\":true},\"ts\":{\"unchanged\":true},"
		"\"tz\":{\"unchanged\":true},\"u\":{\"unchanged\":true},\"js\":{\"unchanged\":true},"
		"\"jb\":{\"unchanged\":true},\"ia\":{\"unchanged\":true},\"ta\":{\"unchanged\":true}}";

	(void)state;
	set_all(nv, row);
	nv[9] = U;  /* t: unchanged TOAST */
	nv[12] = U; /* by */
	nv[18] = U; /* js */
	nv[19] = U; /* jb */
	nv[21] = U; /* ta */

	/* no old tuple */
	j = roundtrip(ts, 'u', NULL, &newtup);
	json_assert_equal(json_object_get(j, "before"), "null");
	json_assert_equal(json_object_get(j, "after"), want_after);
	json_assert_equal(json_object_get(j, "op"), "\"u\"");
	json_decref(j);

	/* old key given as a whole tuple whose other columns the caller marked unchanged */
	for (int i = 0; i < ALL_NCOLS; i++)
		ov[i] = U;
	ov[0] = T("4");
	j = roundtrip(ts, 'u', &oldtup, &newtup);
	json_assert_equal(json_object_get(j, "before"), want_before_key);
	json_assert_equal(json_object_get(j, "after"), want_after);
	json_decref(j);

	/* old key given as a short tuple: the missing columns are unchanged */
	j = roundtrip(ts, 'u', &keyonly, &newtup);
	json_assert_equal(json_object_get(j, "before"), want_before_key);
	json_decref(j);

	/* delete with the key only */
	j = roundtrip(ts, 'd', &keyonly, NULL);
	json_assert_equal(json_object_get(j, "before"), want_before_key);
	json_assert_equal(json_object_get(j, "after"), "null");
	json_assert_equal(json_object_get(j, "op"), "\"d\"");
	json_decref(j);

	/* delete with the whole old row (REPLICA IDENTITY FULL) */
	set_all(ov, row);
	j = roundtrip(ts, 'd', &oldtup, NULL);
	json_assert_equal(json_object_get(json_object_get(j, "before"), "dec"), "\"1.00\"");
	json_assert_equal(json_object_get(json_object_get(j, "before"), "t"), "null");
	json_decref(j);
	table_schema_free(ts);
}

static void test_truncate(void **state)
{
	struct table_schema *ts = all_schema();
	struct envelope_source src = test_src;
	struct cerr err = {0};
	struct buf b;
	json_t *j;

	(void)state;
	j = roundtrip(ts, 't', NULL, NULL);
	json_assert_equal(j, "{\"before\":null,\"after\":null,\"op\":\"t\",\"ts_ms\":1700000000999,"
	                     "\"source\":{\"name\":\"cdc\",\"db\":\"shop\",\"schema\":\"public\","
	                     "\"table\":\"everything\",\"txId\":7421,\"lsn\":97500059720,"
	                     "\"commit_lsn\":97500059904,\"seq\":3,\"ts_ms\":1700000000123,"
	                     "\"snapshot\":\"false\"}}");
	json_decref(j);

	/* snapshot rows: "last", no LSN */
	src.snapshot = "last";
	src.lsn = 0;
	src.txid = 0;
	src.seq = 0;
	buf_init(&b, 0);
	assert_int_equal(envelope_encode(ts, 't', NULL, NULL, &src, 5, &b, &err), 0);
	j = decode_soe(ts->value_json, ts->value_id, &b);
	json_assert_equal(json_object_get(j, "source"),
	                  "{\"name\":\"cdc\",\"db\":\"shop\",\"schema\":\"public\",\"table\":\"everything\","
	                  "\"txId\":0,\"lsn\":0,\"commit_lsn\":97500059904,\"seq\":0,\"ts_ms\":1700000000123,"
	                  "\"snapshot\":\"last\"}");
	json_assert_equal(json_object_get(j, "ts_ms"), "5");
	json_decref(j);
	/* appends: a second envelope after the first */
	{
		size_t first = b.len;

		assert_int_equal(envelope_encode(ts, 't', NULL, NULL, &src, 5, &b, &err), 0);
		assert_int_equal(b.len, 2 * first);
		assert_memory_equal(b.data, b.data + first, first);
	}
	buf_free(&b);
	table_schema_free(ts);
}

static void test_big_values(void **state)
{
	static const struct col cols[] = {
		{"id", INT4OID, -1, true}, {"doc", TEXTOID, -1, false}, {"blob", BYTEAOID, -1, false}};
	struct table_schema *ts = must_schema("cdc", "public", "files", cols, 3);
	size_t tn = 1u << 20, bn = 1u << 20;
	char *text = malloc(tn + 1), *hex = malloc(2 + 2 * bn + 1);
	struct pgo_value vals[3];
	struct pgo_tuple tup = {3, vals};
	json_t *j, *after;

	(void)state;
	assert_non_null(text);
	assert_non_null(hex);
	for (size_t i = 0; i < tn; i++)
		text[i] = (char)('a' + i % 26);
	text[tn] = '\0';
	hex[0] = '\\';
	hex[1] = 'x';
	for (size_t i = 0; i < bn; i++) {
		unsigned byte = (unsigned)((i * 131) ^ (i >> 8)) & 0xff;

		hex[2 + 2 * i] = "0123456789abcdef"[byte >> 4];
		hex[3 + 2 * i] = "0123456789abcdef"[byte & 15];
	}
	hex[2 + 2 * bn] = '\0';
	vals[0] = T("1");
	vals[1] = T(text);
	vals[2] = T(hex);
	j = roundtrip(ts, 'c', NULL, &tup);
	after = json_object_get(j, "after");
	assert_int_equal(json_string_length(json_object_get(after, "doc")), tn);
	assert_string_equal(json_string_value(json_object_get(after, "doc")), text);
	/* the decoder prints bytes the way PostgreSQL's bytea_output=hex does */
	assert_string_equal(json_string_value(json_object_get(after, "blob")), hex);
	json_decref(j);
	free(text);
	free(hex);
	table_schema_free(ts);
}

/* ---- errors ---- */

static void test_bad_values_name_the_column(void **state)
{
	static const struct col cols[] = {
		{"id", INT4OID, -1, true}, {"total", NUMERICOID, NUMERIC_TYPMOD(10, 2), false},
		{"qty", INT4OID, -1, false}};
	struct table_schema *ts = must_schema("cdc", "public", "orders", cols, 3);
	struct pgo_value vals[4];
	struct pgo_tuple tup = {3, vals};
	struct buf b;
	struct cerr err = {0};

	(void)state;
	vals[0] = T("1");
	vals[1] = T("1e999");
	vals[2] = T("3");
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.total: ", "1e999");
	vals[1] = T("123456789.00"); /* too many integer digits for numeric(10,2) */
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.total: ", "numeric(10,2)");
	vals[1] = T("1.00");
	vals[2] = T("abc");
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.qty: ", "abc");
	vals[2] = T("2147483648");
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.qty: ", NULL);
	/* in before too */
	expect_encode_error(ts, 'u', &tup, NULL, "public.orders.qty: ", NULL);
	vals[2] = T("3");

	/* binary values: cleave asks for text */
	vals[2].kind = PGO_VAL_BINARY;
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.qty: ", "binary");
	vals[2].kind = 'x';
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.qty: ", "kind");
	vals[2] = T("3");

	/* a short new row is an error naming the first missing column */
	tup.ncols = 2;
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders.qty: ", "missing");
	/* a long one too */
	vals[3] = T("9");
	tup.ncols = 4;
	expect_encode_error(ts, 'c', NULL, &tup, "public.orders: ", "4 columns");
	expect_encode_error(ts, 'd', &tup, NULL, "public.orders: ", "4 columns");
	tup.ncols = 3;
	/* unknown op */
	expect_encode_error(ts, 'x', NULL, &tup, "public.orders: ", "op");
	expect_encode_error(ts, '\0', NULL, &tup, "public.orders: ", "op");

	/* an output buffer limit is an error, not a crash */
	buf_init(&b, 16);
	assert_int_equal(envelope_encode(ts, 'c', NULL, &tup, &test_src, 1, &b, &err), -1);
	assert_non_null(strstr(err.msg, "public.orders"));
	buf_free(&b);
	table_schema_free(ts);
}

/* ---- keys ---- */

static void test_key_encoding(void **state)
{
	static const struct col cols[] = {
		{"id", INT8OID, -1, true}, {"note", TEXTOID, -1, false}, {"region", TEXTOID, -1, true},
		{"amount", NUMERICOID, NUMERIC_TYPMOD(8, 3), true}};
	struct table_schema *ts = must_schema("cdc", "public", "ledger", cols, 4);
	struct pgo_value vals[4];
	struct pgo_tuple tup = {4, vals};
	struct cerr err = {0};
	struct buf b, b2;
	json_t *j;

	(void)state;
	assert_int_equal(ts->nkeys, 3);
	assert_non_null(strstr(ts->key_json, "{\"name\":\"amount\",\"type\":[\"null\",{\"type\":\"bytes\","
	                                     "\"logicalType\":\"decimal\",\"precision\":8,\"scale\":3},\"string\"]"));
	vals[0] = T("-42");
	vals[1] = T("not in the key");
	vals[2] = T("eu-west");
	vals[3] = T("-0.500");
	buf_init(&b, 0);
	buf_init(&b2, 0);
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), 0);
	j = decode_soe(ts->key_json, ts->key_id, &b);
	json_assert_equal(j, "{\"id\":-42,\"region\":\"eu-west\",\"amount\":\"-0.500\"}");
	json_decref(j);

	/* the key does not depend on non-key columns: same bytes */
	vals[1] = U;
	assert_int_equal(envelope_encode_key(ts, &tup, &b2, &err), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);

	/* REPLICA IDENTITY FULL allows NULL key columns; a decimal NaN takes the string branch */
	buf_reset(&b);
	vals[2] = N;
	vals[3] = T("NaN");
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), 0);
	j = decode_soe(ts->key_json, ts->key_id, &b);
	json_assert_equal(j, "{\"id\":-42,\"region\":null,\"amount\":\"NaN\"}");
	json_decref(j);

	/* a key column PostgreSQL did not send, or did not send at all, is an error */
	buf_reset(&b);
	vals[2] = U;
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), -1);
	assert_non_null(strstr(err.msg, "public.ledger.region: "));
	vals[2] = T("x");
	tup.ncols = 3;
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), -1);
	assert_non_null(strstr(err.msg, "public.ledger.amount: "));
	tup.ncols = 4;
	vals[0] = T("12x");
	assert_int_equal(envelope_encode_key(ts, &tup, &b, &err), -1);
	assert_non_null(strstr(err.msg, "public.ledger.id: "));
	buf_free(&b);
	buf_free(&b2);
	table_schema_free(ts);
}

/* ---- decoding what the encoder did not write ---- */

static void test_decode_garbage(void **state)
{
	static const char *const row[ALL_NCOLS] = {
		"1", "t", "-32768", "9223372036854775807", "1.5", "-2.25", "-12.34", "1.5", "3.14159", "hello",
		"abc", "ab ", "\\x00ff10", "2024-02-29", "23:59:59.999999", "2024-01-02 03:04:05.123456",
		"2024-01-02 03:04:05.123456+00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{}", "{}", "{1,NULL}",
		"{a}",
	};
	struct table_schema *ts = all_schema();
	struct pgo_value vals[ALL_NCOLS];
	struct pgo_tuple tup = {ALL_NCOLS, vals};
	struct cerr err = {0};
	struct avro_decoder *d = avro_decoder_new(ts->value_json, &err);
	struct buf b;
	const uint8_t *body;
	size_t n;
	uint8_t *mut;
	uint32_t seed = 12345;
	json_t *j;

	(void)state;
	assert_non_null(d);
	set_all(vals, row);
	buf_init(&b, 0);
	assert_int_equal(envelope_encode(ts, 'u', &tup, &tup, &test_src, 1, &b, &err), 0);
	body = b.data + AVRO_SOE_HEADER_LEN;
	n = b.len - AVRO_SOE_HEADER_LEN;

	/* the whole body decodes; every proper prefix is an error; a trailing byte is an error */
	j = avro_decoder_decode(d, body, n, &err);
	assert_non_null(j);
	json_decref(j);
	for (size_t k = 0; k < n; k++) {
		cerr_clear(&err);
		j = avro_decoder_decode(d, body, k, &err);
		if (j)
			fail_msg("prefix of %zu of %zu bytes decoded", k, n);
		assert_true(err.set);
	}
	mut = malloc(n + 1);
	assert_non_null(mut);
	memcpy(mut, body, n);
	mut[n] = 0;
	assert_null(avro_decoder_decode(d, mut, n + 1, &err));
	assert_non_null(strstr(err.msg, "after the value"));

	/* random single-byte corruptions and random bytes: an error or a value, never a crash */
	for (int round = 0; round < 3000; round++) {
		size_t len = n;

		memcpy(mut, body, n);
		seed = seed * 1103515245u + 12345u;
		if (round % 3 == 0) {
			for (size_t k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				mut[k] = (uint8_t)(seed >> 16);
			}
			len = (seed >> 8) % (n + 1);
		} else {
			mut[(seed >> 8) % n] = (uint8_t)(seed >> 20);
		}
		j = avro_decoder_decode(d, mut, len, &err);
		json_decref(j);
	}
	free(mut);

	/* before = Value (union 2), then id = int (union 2), then a bytes length of 2^62 where "big" is */
	{
		static const uint8_t huge[] = {0x02, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x02, 0x04, 0x02, 0x00, 0x00,
		                               0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		                               0x02, 0x00, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		                               0x01};
		assert_null(avro_decoder_decode(d, huge, sizeof huge, &err));
		assert_true(err.set);
	}
	/* union index out of range, negative, and a varint that never ends */
	{
		static const uint8_t badunion[] = {0x06};
		static const uint8_t negunion[] = {0x01};
		static const uint8_t endless[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

		assert_null(avro_decoder_decode(d, badunion, sizeof badunion, &err));
		assert_non_null(strstr(err.msg, "union"));
		assert_null(avro_decoder_decode(d, negunion, sizeof negunion, &err));
		assert_null(avro_decoder_decode(d, endless, sizeof endless, &err));
		assert_null(avro_decoder_decode(d, "", 0, &err));
	}
	buf_free(&b);
	avro_decoder_free(d);
	table_schema_free(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_all_types),
		cmocka_unit_test(test_schema_two_columns_exact),
		cmocka_unit_test(test_schema_id_stable_and_changes),
		cmocka_unit_test(test_schema_no_key_no_columns_pg_catalog),
		cmocka_unit_test(test_sanitized_names),
		cmocka_unit_test(test_insert_all_types),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_all_null_row),
		cmocka_unit_test(test_update_unchanged_toast),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_big_values),
		cmocka_unit_test(test_bad_values_name_the_column),
		cmocka_unit_test(test_key_encoding),
		cmocka_unit_test(test_decode_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
