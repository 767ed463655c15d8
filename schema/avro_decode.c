/* avro_decode.c: decodes Avro binary values into jansson JSON with avro-c, given the writer schema JSON
 * (see avro_decode.h). avro-c does the reading; the schema JSON, walked in parallel with avro-c's value,
 * supplies what avro-c ignores: logical types and the names of things.
 *
 * This is the tests' independent check of envelope.c, so it shares nothing with the encoder but the
 * schema text. Used by sinks to read events, so it must survive any bytes: before avro-c sees them, a
 * bounds check walks the input with the schema (avro-c 1.11.1 allocates a bytes/string length read from
 * the input before it checks that many bytes remain, so one garbage varint would ask for exabytes). */
#include "schema/avro_decode.h"

#include <avro.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "schema/avro_names.h"

/* Deeper nesting than any cleave schema has; bounds the recursion of a recursive schema on bad input. */
#define DECODE_MAX_DEPTH 64
/* A decimal's unscaled integer longer than this is refused: PostgreSQL's numeric precision limit (1000
 * digits) needs 416 bytes, and the conversion below is quadratic in the length. */
#define DECIMAL_MAX_BYTES 1024
#define DECIMAL_MAX_SCALE 100000

struct avro_decoder {
	json_t *schema;
	avro_schema_t aschema;
	avro_value_iface_t *iface;
	avro_value_t value; /* reused for every decode */
	struct avro_names names;
};

/* A schema node resolved to what it is. */
struct rtype {
	const char *type;     /* "null".."string", "record", "enum", "fixed", "array", "map", "union" */
	const json_t *obj;    /* the object holding the attributes; NULL for a bare primitive name */
	const json_t *branches; /* union only */
	const char *ns;       /* namespace for names used inside */
	const char *fullname; /* named types only */
};

static const char *const primitives[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};

static bool is_primitive(const char *s)
{
	for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++)
		if (strcmp(s, primitives[i]) == 0)
			return true;
	return false;
}

/* Resolves node (in namespace ns) to a type: follows references to named types and {"type": X}. */
static int resolve(const struct avro_decoder *r, const json_t *node, const char *ns, struct rtype *out,
                   struct cerr *err)
{
	for (int hops = 0; hops < DECODE_MAX_DEPTH; hops++) {
		const json_t *t;
		const char *ts;

		memset(out, 0, sizeof *out);
		out->ns = ns;
		if (json_is_array(node)) {
			out->type = "union";
			out->branches = node;
			return 0;
		}
		if (json_is_string(node)) {
			const char *s = json_string_value(node);
			const struct avro_named *nt;

			if (is_primitive(s)) {
				out->type = s;
				return 0;
			}
			if (!(nt = avro_names_resolve(&r->names, s, ns, err)))
				return -1;
			node = nt->def;
			continue;
		}
		if (!json_is_object(node))
			return cerr_set(err, false, "avro schema: a type must be a string, object or array");
		t = json_object_get(node, "type");
		if (!json_is_string(t)) {
			node = t;
			continue;
		}
		ts = json_string_value(t);
		out->obj = node;
		if (is_primitive(ts) || strcmp(ts, "array") == 0 || strcmp(ts, "map") == 0) {
			out->type = ts;
			return 0;
		}
		if (avro_named_kind(ts)) {
			const struct avro_named *nt = avro_names_by_def(&r->names, node);

			if (!nt)
				return cerr_set(err, false, "avro schema: unregistered named type");
			out->type = strcmp(ts, "error") == 0 ? "record" : ts;
			out->ns = nt->ns;
			out->fullname = nt->fullname;
			return 0;
		}
		/* {"type": "some.Name"}: a reference wrapped in an object */
		node = t;
	}
	return cerr_set(err, false, "avro schema: type references loop");
}

/* ---- bounds check: walks the bytes with the schema, reading nothing into memory ---- */

struct scan {
	const uint8_t *p;
	size_t n;
	size_t pos;
};

static int scan_fail(const struct scan *s, struct cerr *err, const char *what)
{
	return cerr_set(err, false, "avro decode: %s at byte %zu of %zu", what, s->pos, s->n);
}

static int scan_long(struct scan *s, int64_t *v, struct cerr *err)
{
	uint64_t u = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (s->pos >= s->n)
			return scan_fail(s, err, "truncated varint");
		b = s->p[s->pos++];
		if (shift == 63 && (b & 0x7E))
			return scan_fail(s, err, "varint overflows 64 bits");
		u |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
	}
	return scan_fail(s, err, "varint longer than 10 bytes");
}

static int scan_skip(struct scan *s, int64_t n, struct cerr *err)
{
	if (n < 0)
		return scan_fail(s, err, "negative length");
	if ((uint64_t)n > s->n - s->pos)
		return scan_fail(s, err, "length past the end of the data");
	s->pos += (size_t)n;
	return 0;
}

static int scan_value(const struct avro_decoder *r, struct scan *s, const json_t *node, const char *ns,
                      int depth, struct cerr *err);

/* Array and map blocks: count (negative: then a byte size), items, ..., 0. */
static int scan_blocks(const struct avro_decoder *r, struct scan *s, const json_t *item, bool is_map,
                       const char *ns, int depth, struct cerr *err)
{
	for (;;) {
		int64_t count, size;

		if (scan_long(s, &count, err) < 0)
			return -1;
		if (count == 0)
			return 0;
		if (count < 0) {
			if (count == INT64_MIN)
				return scan_fail(s, err, "bad block count");
			count = -count;
			if (scan_long(s, &size, err) < 0)
				return -1;
			if (size < 0)
				return scan_fail(s, err, "negative block size");
		}
		/* XXX: assumes every item takes at least one byte, which holds for cleave's schemas (items
		 * are unions) but refuses long arrays of a zero-byte type such as null */
		if ((uint64_t)count > s->n - s->pos)
			return scan_fail(s, err, "block count past the end of the data");
		for (int64_t i = 0; i < count; i++) {
			int64_t klen;

			if (is_map && (scan_long(s, &klen, err) < 0 || scan_skip(s, klen, err) < 0))
				return -1;
			if (scan_value(r, s, item, ns, depth + 1, err) < 0)
				return -1;
		}
	}
}

static int scan_value(const struct avro_decoder *r, struct scan *s, const json_t *node, const char *ns,
                      int depth, struct cerr *err)
{
	struct rtype t;
	int64_t v;
	const char *ty;

	if (depth > DECODE_MAX_DEPTH)
		return scan_fail(s, err, "value nested too deeply");
	if (resolve(r, node, ns, &t, err) < 0)
		return -1;
	ty = t.type;
	if (strcmp(ty, "null") == 0)
		return 0;
	if (strcmp(ty, "boolean") == 0) {
		if (s->pos >= s->n)
			return scan_fail(s, err, "truncated boolean");
		if (s->p[s->pos] > 1)
			return scan_fail(s, err, "boolean is neither 0 nor 1");
		s->pos++;
		return 0;
	}
	if (strcmp(ty, "int") == 0) {
		if (scan_long(s, &v, err) < 0)
			return -1;
		if (v < INT32_MIN || v > INT32_MAX)
			return scan_fail(s, err, "int out of range");
		return 0;
	}
	if (strcmp(ty, "long") == 0)
		return scan_long(s, &v, err);
	if (strcmp(ty, "float") == 0)
		return scan_skip(s, 4, err);
	if (strcmp(ty, "double") == 0)
		return scan_skip(s, 8, err);
	if (strcmp(ty, "bytes") == 0 || strcmp(ty, "string") == 0) {
		if (scan_long(s, &v, err) < 0)
			return -1;
		return scan_skip(s, v, err);
	}
	if (strcmp(ty, "fixed") == 0) {
		const json_t *size = json_object_get(t.obj, "size");

		if (!json_is_integer(size))
			return cerr_set(err, false, "avro schema: fixed without a size");
		return scan_skip(s, json_integer_value(size), err);
	}
	if (strcmp(ty, "enum") == 0) {
		if (scan_long(s, &v, err) < 0)
			return -1;
		if (v < 0 || (uint64_t)v >= json_array_size(json_object_get(t.obj, "symbols")))
			return scan_fail(s, err, "enum index out of range");
		return 0;
	}
	if (strcmp(ty, "union") == 0) {
		if (scan_long(s, &v, err) < 0)
			return -1;
		if (v < 0 || (uint64_t)v >= json_array_size(t.branches))
			return scan_fail(s, err, "union branch index out of range");
		return scan_value(r, s, json_array_get(t.branches, (size_t)v), t.ns, depth + 1, err);
	}
	if (strcmp(ty, "record") == 0) {
		const json_t *f;
		size_t i;

		json_array_foreach(json_object_get(t.obj, "fields"), i, f)
			if (scan_value(r, s, json_object_get(f, "type"), t.ns, depth + 1, err) < 0)
				return -1;
		return 0;
	}
	if (strcmp(ty, "array") == 0)
		return scan_blocks(r, s, json_object_get(t.obj, "items"), false, t.ns, depth, err);
	if (strcmp(ty, "map") == 0)
		return scan_blocks(r, s, json_object_get(t.obj, "values"), true, t.ns, depth, err);
	return cerr_set(err, false, "avro schema: unknown type \"%s\"", ty);
}

/* ---- conversion of avro-c's value to JSON ---- */

static const char *logical_type(const struct rtype *t)
{
	return t->obj ? json_string_value(json_object_get(t->obj, "logicalType")) : NULL;
}

/* The two's-complement big-endian integer p[0..n) scaled down by 10^scale, as an exact decimal string:
 * "-12.340". The magnitude is divided by 10^9 repeatedly, giving nine digits at a time. */
static json_t *decimal_json(const uint8_t *p, size_t n, int64_t scale, struct cerr *err)
{
	uint8_t *mag = NULL;
	uint32_t *chunks = NULL;
	size_t nchunks = 0, first = 0, ndigits;
	bool neg;
	struct buf digits, out;
	json_t *j = NULL;

	buf_init(&digits, 0);
	buf_init(&out, 0);
	if (n > DECIMAL_MAX_BYTES)
		return cerr_set(err, false, "avro decode: decimal of %zu bytes is too long", n), NULL;
	if (scale > DECIMAL_MAX_SCALE || scale < -DECIMAL_MAX_SCALE)
		return cerr_set(err, false, "avro schema: decimal scale %lld out of range", (long long)scale), NULL;
	neg = n > 0 && (p[0] & 0x80);
	mag = malloc(n ? n : 1);
	/* 9 digits per chunk; each byte adds at most log10(256) < 2.41 digits */
	chunks = malloc((n * 241 / 100 / 9 + 2) * sizeof *chunks);
	if (!mag || !chunks)
		goto oom;
	if (n)
		memcpy(mag, p, n);
	if (neg) { /* magnitude = ~x + 1 */
		unsigned carry = 1;

		for (size_t i = n; i-- > 0;) {
			unsigned x = (uint8_t)~mag[i] + carry;

			mag[i] = (uint8_t)x;
			carry = x >> 8;
		}
	}
	for (;;) {
		uint64_t rem = 0;

		while (first < n && mag[first] == 0)
			first++;
		if (first == n)
			break;
		for (size_t i = first; i < n; i++) {
			uint64_t cur = (rem << 8) | mag[i];

			mag[i] = (uint8_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		chunks[nchunks++] = (uint32_t)rem;
	}
	if (nchunks == 0) {
		if (buf_putc(&digits, '0') < 0)
			goto oom;
	} else {
		if (buf_printf(&digits, "%u", chunks[nchunks - 1]) < 0)
			goto oom;
		for (size_t i = nchunks - 1; i-- > 0;)
			if (buf_printf(&digits, "%09u", chunks[i]) < 0)
				goto oom;
	}
	ndigits = digits.len;
	if (neg && buf_putc(&out, '-') < 0)
		goto oom;
	if (scale <= 0) {
		if (buf_append(&out, digits.data, ndigits) < 0)
			goto oom;
		for (int64_t i = 0; nchunks > 0 && i < -scale; i++)
			if (buf_putc(&out, '0') < 0)
				goto oom;
	} else if ((uint64_t)scale >= ndigits) { /* 0.00ddd */
		if (buf_puts(&out, "0.") < 0)
			goto oom;
		for (uint64_t i = ndigits; i < (uint64_t)scale; i++)
			if (buf_putc(&out, '0') < 0)
				goto oom;
		if (buf_append(&out, digits.data, ndigits) < 0)
			goto oom;
	} else {
		size_t intlen = ndigits - (size_t)scale;

		if (buf_append(&out, digits.data, intlen) < 0 || buf_putc(&out, '.') < 0 ||
		    buf_append(&out, digits.data + intlen, (size_t)scale) < 0)
			goto oom;
	}
	j = json_stringn((const char *)out.data, out.len);
	if (!j)
		goto oom;
	goto done;
oom:
	cerr_set(err, false, "out of memory");
done:
	free(mag);
	free(chunks);
	buf_free(&digits);
	buf_free(&out);
	return j;
}

/* bytea style: "\x" then two lowercase hex digits per byte. */
static json_t *hex_json(const uint8_t *p, size_t n, struct cerr *err)
{
	static const char hexdig[] = "0123456789abcdef";
	char *s = malloc(2 * n + 2);
	json_t *j;

	if (!s)
		return cerr_set(err, false, "out of memory"), NULL;
	s[0] = '\\';
	s[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		s[2 + 2 * i] = hexdig[p[i] >> 4];
		s[3 + 2 * i] = hexdig[p[i] & 15];
	}
	j = json_stringn(s, 2 * n + 2);
	free(s);
	if (!j)
		cerr_set(err, false, "out of memory");
	return j;
}

json_t *avro_decimal_json(const uint8_t *p, size_t n, int64_t scale, struct cerr *err)
{
	return decimal_json(p, n, scale, err);
}

static json_t *real_json(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static json_t *bytes_like_json(const struct rtype *t, const void *buf, size_t size, struct cerr *err)
{
	const char *lt = logical_type(t);

	if (lt && strcmp(lt, "decimal") == 0) {
		const json_t *scale = json_object_get(t->obj, "scale");

		return decimal_json(buf, size, json_is_integer(scale) ? json_integer_value(scale) : 0, err);
	}
	return hex_json(buf, size, err);
}

static json_t *to_json(const struct avro_decoder *r, avro_value_t *v, const json_t *node, const char *ns,
                       int depth, struct cerr *err);

static json_t *avro_failed(struct cerr *err, const char *what)
{
	cerr_set(err, false, "avro decode: %s: %s", what, avro_strerror());
	return NULL;
}

static json_t *record_to_json(const struct avro_decoder *r, avro_value_t *v, const struct rtype *t, int depth,
                              struct cerr *err)
{
	const json_t *fields = json_object_get(t->obj, "fields");
	json_t *o = json_object();
	size_t n;

	if (!o)
		return cerr_set(err, false, "out of memory"), NULL;
	if (avro_value_get_size(v, &n) != 0 || n != json_array_size(fields)) {
		json_decref(o);
		return cerr_set(err, false, "avro decode: record %s does not match its schema", t->fullname), NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *f = json_array_get(fields, i);
		const char *fname = json_string_value(json_object_get(f, "name"));
		avro_value_t child;
		json_t *cj;

		if (!fname || avro_value_get_by_index(v, i, &child, NULL) != 0) {
			json_decref(o);
			return cerr_set(err, false, "avro decode: record %s: bad field %zu", t->fullname, i), NULL;
		}
		cj = to_json(r, &child, json_object_get(f, "type"), t->ns, depth + 1, err);
		if (!cj || json_object_set_new(o, fname, cj) < 0) {
			if (cj)
				cerr_set(err, false, "out of memory");
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *list_to_json(const struct avro_decoder *r, avro_value_t *v, const struct rtype *t, bool is_map,
                            int depth, struct cerr *err)
{
	const json_t *item = json_object_get(t->obj, is_map ? "values" : "items");
	json_t *c = is_map ? json_object() : json_array();
	size_t n;

	if (!c)
		return cerr_set(err, false, "out of memory"), NULL;
	if (avro_value_get_size(v, &n) != 0) {
		json_decref(c);
		return avro_failed(err, "array size");
	}
	for (size_t i = 0; i < n; i++) {
		avro_value_t child;
		const char *key = NULL;
		json_t *cj;
		int rc;

		if (avro_value_get_by_index(v, i, &child, &key) != 0) {
			json_decref(c);
			return avro_failed(err, "array item");
		}
		if (!(cj = to_json(r, &child, item, t->ns, depth + 1, err))) {
			json_decref(c);
			return NULL;
		}
		rc = is_map ? json_object_set_new(c, key ? key : "", cj) : json_array_append_new(c, cj);
		if (rc < 0) {
			json_decref(c);
			return cerr_set(err, false, "out of memory"), NULL;
		}
	}
	return c;
}

/* Converts v, whose schema is node, to JSON. Checks that avro-c's type agrees with the schema JSON. */
static json_t *to_json(const struct avro_decoder *r, avro_value_t *v, const json_t *node, const char *ns,
                       int depth, struct cerr *err)
{
	static const struct {
		const char *name;
		avro_type_t type;
	} kinds[] = {
		{"null", AVRO_NULL},   {"boolean", AVRO_BOOLEAN}, {"int", AVRO_INT32},   {"long", AVRO_INT64},
		{"float", AVRO_FLOAT}, {"double", AVRO_DOUBLE},   {"bytes", AVRO_BYTES}, {"string", AVRO_STRING},
		{"fixed", AVRO_FIXED}, {"enum", AVRO_ENUM},       {"union", AVRO_UNION}, {"record", AVRO_RECORD},
		{"array", AVRO_ARRAY}, {"map", AVRO_MAP},
	};
	struct rtype t;
	avro_type_t at;
	bool known = false;

	if (depth > DECODE_MAX_DEPTH)
		return cerr_set(err, false, "avro decode: value nested too deeply"), NULL;
	if (resolve(r, node, ns, &t, err) < 0)
		return NULL;
	at = avro_value_get_type(v);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].name, t.type) == 0) {
			if (kinds[i].type != at)
				break;
			known = true;
		}
	if (!known)
		return cerr_set(err, false, "avro decode: avro-c's value is not a %s", t.type), NULL;

	switch (at) {
	case AVRO_NULL:
		return json_null();
	case AVRO_BOOLEAN: {
		int b;
		if (avro_value_get_boolean(v, &b) != 0)
			return avro_failed(err, "boolean");
		return json_boolean(b);
	}
	case AVRO_INT32: {
		int32_t i;
		if (avro_value_get_int(v, &i) != 0)
			return avro_failed(err, "int");
		return json_integer(i);
	}
	case AVRO_INT64: {
		int64_t l;
		if (avro_value_get_long(v, &l) != 0)
			return avro_failed(err, "long");
		return json_integer(l);
	}
	case AVRO_FLOAT: {
		float f;
		if (avro_value_get_float(v, &f) != 0)
			return avro_failed(err, "float");
		return real_json(f);
	}
	case AVRO_DOUBLE: {
		double d;
		if (avro_value_get_double(v, &d) != 0)
			return avro_failed(err, "double");
		return real_json(d);
	}
	case AVRO_BYTES: {
		const void *buf;
		size_t size;
		if (avro_value_get_bytes(v, &buf, &size) != 0)
			return avro_failed(err, "bytes");
		return bytes_like_json(&t, buf, size, err);
	}
	case AVRO_FIXED: {
		const void *buf;
		size_t size;
		if (avro_value_get_fixed(v, &buf, &size) != 0)
			return avro_failed(err, "fixed");
		return bytes_like_json(&t, buf, size, err);
	}
	case AVRO_STRING: {
		const char *s;
		size_t size;
		json_t *j;
		if (avro_value_get_string(v, &s, &size) != 0)
			return avro_failed(err, "string");
		/* avro-c's size counts its NUL terminator */
		j = json_stringn(s, size ? size - 1 : 0);
		if (!j)
			cerr_set(err, false, "avro decode: string is not valid UTF-8");
		return j;
	}
	case AVRO_ENUM: {
		int idx;
		const json_t *sym;
		if (avro_value_get_enum(v, &idx) != 0)
			return avro_failed(err, "enum");
		sym = json_array_get(json_object_get(t.obj, "symbols"), (size_t)idx);
		if (idx < 0 || !json_is_string(sym))
			return cerr_set(err, false, "avro decode: enum %s: index %d out of range", t.fullname, idx), NULL;
		if (strcmp(t.fullname, "cleave.Unchanged") == 0)
			return json_pack("{sb}", "unchanged", 1);
		return json_string(json_string_value(sym));
	}
	case AVRO_UNION: {
		int disc;
		avro_value_t branch;
		const json_t *bnode;
		if (avro_value_get_discriminant(v, &disc) != 0 || avro_value_get_current_branch(v, &branch) != 0)
			return avro_failed(err, "union");
		bnode = json_array_get(t.branches, (size_t)disc);
		if (disc < 0 || !bnode)
			return cerr_set(err, false, "avro decode: union branch %d out of range", disc), NULL;
		return to_json(r, &branch, bnode, t.ns, depth + 1, err);
	}
	case AVRO_RECORD:
		return record_to_json(r, v, &t, depth, err);
	case AVRO_ARRAY:
		return list_to_json(r, v, &t, false, depth, err);
	case AVRO_MAP:
		return list_to_json(r, v, &t, true, depth, err);
	default:
		break;
	}
	return cerr_set(err, false, "avro decode: unsupported avro-c type %d", (int)at), NULL;
}

struct avro_decoder *avro_decoder_new(const char *schema_json, struct cerr *err)
{
	struct avro_decoder *r = calloc(1, sizeof *r);
	json_error_t jerr;

	if (!r) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	if (!(r->schema = json_loads(schema_json, JSON_DECODE_ANY, &jerr))) {
		cerr_set(err, false, "avro schema: not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		         jerr.column);
		goto fail;
	}
	if (avro_schema_from_json_length(schema_json, strlen(schema_json), &r->aschema) != 0) {
		r->aschema = NULL;
		cerr_set(err, false, "avro schema: avro-c rejects it: %s", avro_strerror());
		goto fail;
	}
	if (avro_names_collect(&r->names, r->schema, DECODE_MAX_DEPTH, err) < 0)
		goto fail;
	if (!(r->iface = avro_generic_class_from_schema(r->aschema))) {
		cerr_set(err, false, "avro schema: avro-c cannot make a value class: %s", avro_strerror());
		goto fail;
	}
	if (avro_generic_value_new(r->iface, &r->value) != 0) {
		r->value.iface = NULL;
		cerr_set(err, false, "avro-c cannot make a value: %s", avro_strerror());
		goto fail;
	}
	return r;
fail:
	avro_decoder_free(r);
	return NULL;
}

void avro_decoder_free(struct avro_decoder *r)
{
	if (!r)
		return;
	if (r->value.iface)
		avro_value_decref(&r->value);
	if (r->iface)
		avro_value_iface_decref(r->iface);
	if (r->aschema)
		avro_schema_decref(r->aschema);
	avro_names_free(&r->names);
	json_decref(r->schema);
	free(r);
}

json_t *avro_decoder_decode(struct avro_decoder *r, const void *p, size_t n, struct cerr *err)
{
	struct scan s = {p, n, 0};
	avro_reader_t in;
	int rc;

	if (scan_value(r, &s, r->schema, "", 0, err) < 0)
		return NULL;
	if (s.pos != n)
		return cerr_set(err, false, "avro decode: %zu bytes after the value", n - s.pos), NULL;
	/* avro_reader_memory takes a const char *; an empty input still needs a valid pointer */
	in = avro_reader_memory(n ? (const char *)p : "", (int64_t)n);
	if (!in)
		return cerr_set(err, false, "out of memory"), NULL;
	rc = avro_value_read(in, &r->value);
	avro_reader_free(in);
	if (rc != 0)
		return avro_failed(err, "avro-c cannot read the value");
	return to_json(r, &r->value, r->schema, "", 0, err);
}
