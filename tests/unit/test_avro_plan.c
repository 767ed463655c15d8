/* test_avro_plan.c: schema/avro_plan.c must give exactly the JSON of the reference, schema/avro_decode.c,
 * and fail where it fails. Values are random but valid Avro generated from the schema JSON by this file
 * (independently of both decoders), with edge values mixed in, for cleave's envelope schemas of every
 * column type (scalars and arrays, numeric with and without typmod, unknown types), for the named-type
 * schema of test_avro_decode and a recursive one; then the same bytes damaged (truncated, a byte
 * changed, a byte added). Picks are checked against the full decode with the other fields removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "schema/avro_decode.h"
#include "schema/avro_plan.h"
#include "schema/table_schema.h"

#define VALUES_PER_SCHEMA 600
#define DAMAGED_PER_VALUE 6
#define GEN_MAX_DEPTH 12

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure repeats */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* ---- a random valid value of a schema, as Avro bytes ---- */

static void bputc(struct buf *b, int c)
{
	assert_int_equal(buf_putc(b, (uint8_t)c), 0);
}

static void bappend(struct buf *b, const void *p, size_t n)
{
	assert_int_equal(buf_append(b, p, n), 0);
}

static void bputs(struct buf *b, const char *s)
{
	assert_int_equal(buf_puts(b, s), 0);
}

static void put_long(struct buf *b, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	while (u >= 0x80) {
		bputc(b, (int)((u & 0x7f) | 0x80));
		u >>= 7;
	}
	bputc(b, (int)u);
}

static const json_t *find_named(const json_t *node, const char *shortname)
{
	const json_t *t, *f, *hit;
	const char *name, *dot;
	size_t i;

	if (json_is_array(node)) {
		json_array_foreach(node, i, f)
			if ((hit = find_named(f, shortname)))
				return hit;
		return NULL;
	}
	if (!json_is_object(node))
		return NULL;
	name = json_string_value(json_object_get(node, "name"));
	t = json_object_get(node, "type");
	if (name && json_is_string(t) &&
	    (strcmp(json_string_value(t), "record") == 0 || strcmp(json_string_value(t), "enum") == 0 ||
	     strcmp(json_string_value(t), "fixed") == 0)) {
		dot = strrchr(name, '.');
		if (strcmp(dot ? dot + 1 : name, shortname) == 0)
			return node;
	}
	if (!json_is_string(t) && (hit = find_named(t, shortname)))
		return hit;
	json_array_foreach(json_object_get(node, "fields"), i, f)
		if ((hit = find_named(json_object_get(f, "type"), shortname)))
			return hit;
	if ((hit = find_named(json_object_get(node, "items"), shortname)))
		return hit;
	return find_named(json_object_get(node, "values"), shortname);
}

static const json_t *gen_root;

static void gen_string(struct buf *b, bool utf8)
{
	static const char *const pieces[] = {"a", "Z", " ", "é", "€", "😀", "\\", "\"", "0", "ß"};
	size_t n = rnd_below(8);
	struct buf s;

	buf_init(&s, 0);
	for (size_t i = 0; i < n; i++) {
		if (!utf8)
			bputc(&s, (int)rnd_below(256));
		else if (rnd_below(40) == 0)
			bputc(&s, 0); /* a NUL inside */
		else
			bputs(&s, pieces[rnd_below(sizeof pieces / sizeof pieces[0])]);
	}
	put_long(b, (int64_t)s.len);
	bappend(b, s.data, s.len);
	buf_free(&s);
}

static void gen_prim(struct buf *b, const char *t, const json_t *obj)
{
	static const int64_t ints[] = {0, 1, -1, 63, 64, -64, -65, INT32_MAX, INT32_MIN};
	static const int64_t longs[] = {0, 1, -1, INT64_MAX, INT64_MIN, INT32_MAX + 1ll, 1700000000000000ll};
	const char *lt = obj ? json_string_value(json_object_get(obj, "logicalType")) : NULL;

	if (strcmp(t, "null") == 0)
		return;
	if (strcmp(t, "boolean") == 0) {
		bputc(b, (int)rnd_below(2));
	} else if (strcmp(t, "int") == 0) {
		put_long(b, rnd_below(2) ? ints[rnd_below(sizeof ints / sizeof ints[0])] : (int32_t)rnd());
	} else if (strcmp(t, "long") == 0) {
		put_long(b, rnd_below(2) ? longs[rnd_below(sizeof longs / sizeof longs[0])] : (int64_t)rnd());
	} else if (strcmp(t, "float") == 0 || strcmp(t, "double") == 0) {
		static const uint64_t dbits[] = {0, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
		                                 0x7ff8000000000000ull, 0x0000000000000001ull, 0x3ff0000000000000ull};
		static const uint32_t fbits[] = {0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 1u, 0x3fc00000u};
		int n = t[0] == 'f' ? 4 : 8;
		uint64_t u = rnd_below(2) ? (n == 4 ? fbits[rnd_below(7)] : dbits[rnd_below(7)]) : rnd();

		for (int i = 0; i < n; i++)
			bputc(b, (int)((u >> (8 * i)) & 0xff));
	} else if (strcmp(t, "string") == 0) {
		gen_string(b, true);
	} else { /* bytes, decimal or not: up to 20 bytes, so both the short and the long decimal paths */
		size_t n = rnd_below(3) == 0 ? 0 : rnd_below(21);

		(void)lt;
		put_long(b, (int64_t)n);
		for (size_t i = 0; i < n; i++)
			bputc(b, (int)(rnd_below(3) == 0 ? (rnd_below(2) ? 0xff : 0) : rnd_below(256)));
	}
}

static void gen(struct buf *b, const json_t *node, int depth)
{
	const json_t *t;
	const char *ts;

	if (json_is_array(node)) {
		size_t nb = json_array_size(node);
		size_t i = depth > GEN_MAX_DEPTH ? 0 : rnd_below(nb); /* deep: the first branch (null) */

		put_long(b, (int64_t)i);
		gen(b, json_array_get(node, i), depth + 1);
		return;
	}
	if (json_is_string(node)) {
		const char *s = json_string_value(node);
		const char *dot = strrchr(s, '.');
		static const char *const prims[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};

		for (size_t i = 0; i < 8; i++)
			if (strcmp(s, prims[i]) == 0) {
				gen_prim(b, s, NULL);
				return;
			}
		t = find_named(gen_root, dot ? dot + 1 : s);
		assert_non_null(t);
		gen(b, t, depth + 1);
		return;
	}
	t = json_object_get(node, "type");
	if (!json_is_string(t)) {
		gen(b, t, depth + 1);
		return;
	}
	ts = json_string_value(t);
	if (strcmp(ts, "record") == 0) {
		const json_t *f;
		size_t i;

		json_array_foreach(json_object_get(node, "fields"), i, f)
			gen(b, json_object_get(f, "type"), depth + 1);
	} else if (strcmp(ts, "enum") == 0) {
		put_long(b, (int64_t)rnd_below(json_array_size(json_object_get(node, "symbols"))));
	} else if (strcmp(ts, "fixed") == 0) {
		for (json_int_t i = 0; i < json_integer_value(json_object_get(node, "size")); i++)
			bputc(b, (int)rnd_below(256));
	} else if (strcmp(ts, "array") == 0 || strcmp(ts, "map") == 0) {
		bool map = ts[0] == 'm';
		int blocks = depth > GEN_MAX_DEPTH ? 0 : (int)rnd_below(3);

		for (int k = 0; k < blocks; k++) {
			int64_t n = 1 + (int64_t)rnd_below(3);
			struct buf items;

			buf_init(&items, 0);
			for (int64_t i = 0; i < n; i++) {
				if (map)
					gen_string(&items, rnd_below(20) != 0);
				gen(&items, json_object_get(node, map ? "values" : "items"), depth + 1);
			}
			if (rnd_below(2)) { /* a negative count, then the block's byte size */
				put_long(b, -n);
				put_long(b, (int64_t)items.len);
			} else {
				put_long(b, n);
			}
			bappend(b, items.data, items.len);
			buf_free(&items);
		}
		put_long(b, 0);
	} else if (strcmp(ts, "null") == 0 || strcmp(ts, "boolean") == 0 || strcmp(ts, "int") == 0 ||
	           strcmp(ts, "long") == 0 || strcmp(ts, "float") == 0 || strcmp(ts, "double") == 0 ||
	           strcmp(ts, "bytes") == 0 || strcmp(ts, "string") == 0) {
		gen_prim(b, ts, node);
	} else {
		gen(b, t, depth + 1); /* {"type": "Name"} */
	}
}

/* ---- comparing ---- */

static char *dump(const json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(failed)");
}

/* Both decoders on p[0..n): equal JSON, or both fail. Returns whether they decoded it. */
static bool agree(struct avro_decoder *ref, const struct avro_plan *pl, const char *schema, const uint8_t *p,
                  size_t n)
{
	struct cerr e1 = {0}, e2 = {0};
	json_t *a = avro_decoder_decode(ref, p, n, &e1);
	json_t *b = avro_plan_decode(pl, p, n, &e2);
	bool ok = (a == NULL) == (b == NULL) && (!a || json_equal(a, b));

	if (!ok) {
		char *da = dump(a), *db = dump(b);

		print_error("schema %.300s\n%zu bytes:", schema, n);
		for (size_t i = 0; i < n && i < 200; i++)
			print_error(" %02x", p[i]);
		print_error("\nreference: %s (%s)\nplan:      %s (%s)\n", da, e1.set ? e1.msg : "", db,
		            e2.set ? e2.msg : "");
		free(da);
		free(db);
		json_decref(a);
		json_decref(b);
		fail();
	}
	json_decref(a);
	json_decref(b);
	return !e1.set;
}

/* Random values of schema, intact and damaged, through both decoders. */
static void check_schema(const char *schema)
{
	struct cerr err = {0};
	struct avro_decoder *ref = avro_decoder_new(schema, &err);
	struct avro_plan *pl = avro_plan_new(schema, &err);
	json_t *root = json_loads(schema, JSON_DECODE_ANY, NULL);
	int decoded = 0;

	if (!ref || !pl)
		fail_msg("schema %s: %s", schema, err.msg);
	assert_non_null(root);
	gen_root = root;
	for (int v = 0; v < VALUES_PER_SCHEMA; v++) {
		struct buf b;

		buf_init(&b, 0);
		gen(&b, root, 0);
		decoded += agree(ref, pl, schema, b.data, b.len);
		for (int d = 0; d < DAMAGED_PER_VALUE; d++) {
			struct buf c;

			buf_init(&c, 0);
			bappend(&c, b.data, b.len);
			switch (d % 3) {
			case 0:
				c.len = rnd_below(c.len + 1);
				break;
			case 1:
				if (c.len)
					c.data[rnd_below(c.len)] = (uint8_t)rnd();
				break;
			default:
				bputc(&c, (int)rnd_below(256));
			}
			agree(ref, pl, schema, c.data, c.len);
			buf_free(&c);
		}
		buf_free(&b);
	}
	/* some values have random bytes in a map key or a NUL: most must still decode */
	assert_true(decoded > VALUES_PER_SCHEMA / 2);
	json_decref(root);
	avro_decoder_free(ref);
	avro_plan_free(pl);
}

struct col {
	const char *name;
	uint32_t oid;
	int32_t typmod;
	bool key;
};

#define NUMERIC_TYPMOD(p, s) ((int32_t)((((p) << 16) | (s)) + 4))

/* cleave's envelope schema of a table with a column of every type capture maps */
static char *envelope_schema(void)
{
	static const struct col cols[] = {
		{"id", 20, -1, true},       {"k2", 25, -1, true},         {"b", 16, -1, false},
		{"i2", 21, -1, false},      {"i4", 23, -1, false},        {"f4", 700, -1, false},
		{"f8", 701, -1, false},     {"num", 1700, -1, false},     {"num12", 1700, NUMERIC_TYPMOD(12, 2), false},
		{"num40", 1700, NUMERIC_TYPMOD(40, 10), false},           {"num0", 1700, NUMERIC_TYPMOD(5, 0), false},
		{"t", 25, -1, false},       {"vc", 1043, 44, false},      {"bp", 1042, 14, false},
		{"ba", 17, -1, false},      {"d", 1082, -1, false},       {"tm", 1083, -1, false},
		{"ts", 1114, -1, false},    {"tstz", 1184, -1, false},    {"u", 2950, -1, false},
		{"js", 114, -1, false},     {"jsb", 3802, -1, false},     {"ai4", 1007, -1, false},
		{"at", 1009, -1, false},    {"anum", 1231, -1, false},    {"ab", 1000, -1, false},
		{"af8", 1022, -1, false},   {"abytea", 1001, -1, false},  {"unknown", 16390, -1, false},
		{"weird name-x", 25, -1, false},
	};
	struct pgo_column pc[sizeof cols / sizeof cols[0]];
	struct pgo_relation r = {.oid = 16500, .nspname = "public", .relname = "every_type", .replident = 'd',
	                         .ncols = sizeof cols / sizeof cols[0], .cols = pc};
	struct cerr err = {0};
	struct table_schema *ts;
	char *json;

	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
		pc[i] = (struct pgo_column){.flags = cols[i].key ? PGO_COL_KEY : 0, .name = cols[i].name,
		                            .type_oid = cols[i].oid, .typmod = cols[i].typmod};
	ts = table_schema_new("plan", &r, &err);
	if (!ts)
		fail_msg("table_schema_new: %s", err.msg);
	json = strdup(ts->value_json);
	table_schema_free(ts);
	return json;
}

static void test_envelope_every_type(void **state)
{
	char *schema = envelope_schema();

	(void)state;
	check_schema(schema);
	free(schema);
}

static void test_named_and_primitive(void **state)
{
	static const char *const schemas[] = {
		/* test_avro_decode's namespaces, references, unchanged, arrays, maps, fixed */
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
		"{\"name\":\"fd\",\"type\":{\"type\":\"fixed\",\"name\":\"FD\",\"size\":12,\"logicalType\":\"decimal\","
		"\"precision\":28,\"scale\":4}},"
		"{\"name\":\"wrapped\",\"type\":{\"type\":\"F\"}}]}",
		"\"null\"", "\"boolean\"", "\"int\"", "\"long\"", "\"float\"", "\"double\"", "\"bytes\"", "\"string\"",
		"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40,\"scale\":0}",
		"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40,\"scale\":-3}",
		"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40,\"scale\":25}",
		"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40,\"scale\":60}",
		"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40}",
		"{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":[\"null\",\"string\",\"double\"]}}",
		"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}",
		"{\"type\":\"int\",\"logicalType\":\"date\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
		check_schema(schemas[i]);
}

/* A recursive schema: a list of more than 32 levels passes avro_decode.c's depth limit (64: a level is a
 * record field and a union); both refuse it. */
static void test_recursive(void **state)
{
	static const char schema[] =
		"{\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
		"{\"name\":\"next\",\"type\":[\"null\",\"L\"]}]}";
	struct cerr err = {0};
	struct avro_decoder *ref = avro_decoder_new(schema, &err);
	struct avro_plan *pl = avro_plan_new(schema, &err);

	(void)state;
	assert_non_null(ref);
	assert_non_null(pl);
	for (int levels = 1; levels <= 40; levels++) {
		struct buf b;

		buf_init(&b, 0);
		for (int i = 0; i < levels; i++) {
			put_long(&b, i);
			put_long(&b, i + 1 < levels ? 1 : 0);
		}
		assert_int_equal(agree(ref, pl, schema, b.data, b.len), levels <= 32);
		buf_free(&b);
	}
	avro_decoder_free(ref);
	avro_plan_free(pl);
	check_schema(schema);
}

static void test_bad_schemas(void **state)
{
	struct cerr err = {0};

	(void)state;
	assert_null(avro_plan_new("not json", &err));
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_null(avro_plan_new("{\"type\":\"nope\"}", &err));
	assert_non_null(strstr(err.msg, "avro-c"));
	assert_null(avro_plan_new("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\",\"type\":\"Y\"}]}",
	                          &err));
	avro_plan_free(NULL);
}

/* Removes from full what the sink's pick leaves out. */
static void drop_unpicked(json_t *full)
{
	const char *k;
	json_t *v, *src;
	void *tmp;

	json_object_foreach_safe(full, tmp, k, v)
		if (strcmp(k, "op") != 0 && strcmp(k, "before") != 0 && strcmp(k, "after") != 0 && strcmp(k, "source") != 0)
			json_object_del(full, k);
	src = json_object_get(full, "source");
	json_object_foreach_safe(src, tmp, k, v)
		if (strcmp(k, "commit_lsn") != 0 && strcmp(k, "seq") != 0)
			json_object_del(src, k);
}

static void test_pick(void **state)
{
	static const char *const paths[] = {"op", "before", "after", "source.commit_lsn", "source.seq", "nothere",
	                                    "op.sub", NULL};
	char *schema = envelope_schema();
	struct cerr err = {0};
	struct avro_plan *pl = avro_plan_new(schema, &err);
	const struct avro_plan_pick *pick;
	json_t *root = json_loads(schema, 0, NULL);
	int decoded = 0;

	(void)state;
	assert_non_null(pl);
	assert_non_null(root);
	pick = avro_plan_pick(pl, paths, &err);
	assert_non_null(pick);
	gen_root = root;
	for (int v = 0; v < VALUES_PER_SCHEMA; v++) {
		struct buf b;
		struct cerr e1 = {0}, e2 = {0};
		json_t *full, *some;

		buf_init(&b, 0);
		gen(&b, root, 0);
		if (v % 2)
			b.len = rnd_below(b.len + 1);
		full = avro_plan_decode(pl, b.data, b.len, &e1);
		some = avro_plan_decode_pick(pl, pick, b.data, b.len, &e2);
		if (full) {
			drop_unpicked(full);
			if (!some || !json_equal(full, some)) {
				char *a = dump(full), *c = dump(some);

				print_error("full minus unpicked: %s\npicked: %s (%s)\n", a, c, e2.msg);
				free(a);
				free(c);
				fail();
			}
			assert_int_equal(json_object_size(some), 4);
			assert_int_equal(json_object_size(json_object_get(some, "source")), 2);
			decoded++;
		} else {
			/* what fails whole may decode picked only where a skipped string is not UTF-8 */
			assert_null(some);
		}
		json_decref(full);
		json_decref(some);
		buf_free(&b);
	}
	assert_true(decoded > VALUES_PER_SCHEMA / 4);
	json_decref(root);
	avro_plan_free(pl);
	free(schema);
}

/* avro_plan_decode_scalars and avro_plan_decode_field give what the full JSON decode has for the same
 * fields, on random envelopes of every type, whole and truncated; they fail on what fails whole (but for a
 * string that is not UTF-8, which they do not check outside what they build). */
static void test_scalars_and_field(void **state)
{
	static const char *const head_paths[] = {"op", "source.commit_lsn", "source.seq", "nothere", NULL};
	static const char *const after_paths[] = {"after", NULL};
	char *schema = envelope_schema();
	struct cerr err = {0};
	struct avro_plan *pl = avro_plan_new(schema, &err);
	const struct avro_plan_pick *head, *after;
	json_t *root = json_loads(schema, 0, NULL);
	int decoded = 0;

	(void)state;
	assert_non_null(pl);
	assert_non_null(root);
	head = avro_plan_pick(pl, head_paths, &err);
	after = avro_plan_pick(pl, after_paths, &err);
	assert_non_null(head);
	assert_non_null(after);
	gen_root = root;
	for (int v = 0; v < VALUES_PER_SCHEMA; v++) {
		struct avro_plan_scalar out[4];
		struct buf b;
		struct cerr e1 = {0}, e2 = {0}, e3 = {0};
		json_t *full, *row;
		int rc;

		buf_init(&b, 0);
		gen(&b, root, 0);
		if (v % 2)
			b.len = rnd_below(b.len + 1);
		full = avro_plan_decode(pl, b.data, b.len, &e1);
		rc = avro_plan_decode_scalars(pl, head, b.data, b.len, out, 4, &e2);
		row = avro_plan_decode_field(pl, after, b.data, b.len, &e3);
		if (full) {
			const json_t *op = json_object_get(full, "op"), *src = json_object_get(full, "source");

			if (rc != 0)
				fail_msg("scalars failed where the whole decoded: %s", e2.msg);
			assert_int_equal(out[0].kind, AVRO_PLAN_STRING);
			assert_int_equal(out[0].len, json_string_length(op));
			assert_memory_equal(out[0].s, json_string_value(op), out[0].len);
			assert_int_equal(out[1].kind, AVRO_PLAN_LONG);
			assert_true(out[1].l == json_integer_value(json_object_get(src, "commit_lsn")));
			assert_int_equal(out[2].kind, AVRO_PLAN_LONG);
			assert_true(out[2].l == json_integer_value(json_object_get(src, "seq")));
			assert_int_equal(out[3].kind, AVRO_PLAN_ABSENT);
			assert_non_null(row);
			assert_true(json_equal(row, json_object_get(full, "after")));
			decoded++;
		} else if (!strstr(e1.msg, "UTF-8")) {
			assert_int_equal(rc, -1);
			assert_null(row);
		}
		json_decref(full);
		json_decref(row);
		buf_free(&b);
	}
	assert_true(decoded > VALUES_PER_SCHEMA / 4);
	json_decref(root);
	avro_plan_free(pl);
	free(schema);
}

/* Scalars of every kind they take: boolean, int, enum symbol, a union's null and long branches; a field
 * of another type is refused. */
static void test_scalar_kinds(void **state)
{
	static const char schema[] =
	        "{\"type\": \"record\", \"name\": \"r\", \"fields\": ["
	        "{\"name\": \"b\", \"type\": \"boolean\"}, {\"name\": \"i\", \"type\": \"int\"},"
	        "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"x\", \"yz\"]}},"
	        "{\"name\": \"n\", \"type\": [\"null\", \"long\"]}, {\"name\": \"l\", \"type\": [\"null\", \"long\"]},"
	        "{\"name\": \"d\", \"type\": \"double\"}]}";
	static const char *const ok_paths[] = {"l", "n", "e", "i", "b", NULL};
	static const char *const bad_paths[] = {"d", NULL};
	static const uint8_t bytes[] = {1, 0x83, 0x01, 2, 0, 2, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
	struct avro_plan_scalar out[5];
	struct cerr err = {0};
	struct avro_plan *pl = avro_plan_new(schema, &err);
	const struct avro_plan_pick *ok, *bad;

	(void)state;
	assert_non_null(pl);
	ok = avro_plan_pick(pl, ok_paths, &err);
	bad = avro_plan_pick(pl, bad_paths, &err);
	assert_int_equal(avro_plan_decode_scalars(pl, ok, bytes, sizeof bytes, out, 5, &err), 0);
	assert_int_equal(out[0].kind, AVRO_PLAN_LONG);
	assert_int_equal(out[0].l, -65);
	assert_int_equal(out[1].kind, AVRO_PLAN_NULL);
	assert_int_equal(out[2].kind, AVRO_PLAN_STRING);
	assert_int_equal(out[2].len, 2);
	assert_memory_equal(out[2].s, "yz", 2);
	assert_int_equal(out[3].kind, AVRO_PLAN_LONG);
	assert_int_equal(out[3].l, -66);
	assert_int_equal(out[4].kind, AVRO_PLAN_LONG);
	assert_int_equal(out[4].l, 1);
	/* fewer slots than paths: the others are walked over */
	assert_int_equal(avro_plan_decode_scalars(pl, ok, bytes, sizeof bytes, out, 2, &err), 0);
	assert_int_equal(out[0].l, -65);
	assert_int_equal(avro_plan_decode_scalars(pl, bad, bytes, sizeof bytes, out, 1, &err), -1);
	assert_non_null(strstr(err.msg, "not a scalar"));
	assert_int_equal(avro_plan_decode_scalars(pl, ok, bytes, sizeof bytes - 1, out, 5, &err), -1);
	avro_plan_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_every_type),
		cmocka_unit_test(test_named_and_primitive),
		cmocka_unit_test(test_recursive),
		cmocka_unit_test(test_bad_schemas),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_scalars_and_field),
		cmocka_unit_test(test_scalar_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
