/* avro_plan.c: see avro_plan.h. Compiling resolves the schema's names once (Avro's namespace rules, as
 * avro_decode.c applies them) into plan nodes; a named type is one node however often it is referenced,
 * so a recursive schema is a cyclic graph. Decoding walks the nodes over the bytes. The limits (nesting
 * depth, decimal length and scale, block counts) and the checks of the bytes are avro_decode.c's, so
 * that both accept and refuse the same inputs. */
#include "schema/avro_plan.h"

#include <avro.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/avro_decode.h"
#include "schema/avro_names.h"

#define PLAN_MAX_DEPTH 64 /* avro_decode.c's DECODE_MAX_DEPTH */

enum plan_kind {
	PK_NULL,
	PK_BOOLEAN,
	PK_INT,
	PK_LONG,
	PK_FLOAT,
	PK_DOUBLE,
	PK_BYTES,
	PK_STRING,
	PK_FIXED,
	PK_ENUM,
	PK_UNION,
	PK_RECORD,
	PK_ARRAY,
	PK_MAP,
};

struct plan_node {
	enum plan_kind kind;
	bool decimal;             /* bytes or fixed with logicalType decimal */
	bool unchanged;           /* the enum cleave.Unchanged */
	int64_t scale;            /* decimal */
	int64_t size;             /* fixed */
	size_t n;                 /* record fields, union branches, enum symbols; 1 for array and map */
	struct plan_node **kids;  /* record field types, union branches, array items or map values */
	char **names;             /* record field names, enum symbols */
	size_t *lens;             /* their lengths */
};

struct avro_plan_pick {
	const struct plan_node *rec;
	unsigned char *mode;          /* per field: PICK_SKIP, PICK_ALL, PICK_SUB */
	size_t *path;                 /* PICK_ALL: the index of the path that picked the field */
	struct avro_plan_pick **sub;  /* PICK_SUB: the pick of the field's record */
	struct avro_plan_pick *next;  /* the plan's list of picks, for freeing */
};

enum { PICK_SKIP, PICK_ALL, PICK_SUB };

struct avro_plan {
	json_t *schema;
	struct plan_node *root;
	struct plan_node **nodes; /* every node, for freeing */
	size_t nnodes, capnodes;
	struct avro_names names; /* data: the compiled node, made once */
	json_t *unchanged;        /* {"unchanged": true}, shared by every unchanged field */
	struct avro_plan_pick *picks;
};

/* ---- compiling ---- */

static const char *const plan_primitives[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};

static int plan_primitive(const char *s)
{
	for (size_t i = 0; i < sizeof plan_primitives / sizeof plan_primitives[0]; i++)
		if (strcmp(s, plan_primitives[i]) == 0)
			return (int)i; /* the order of enum plan_kind */
	return -1;
}

static struct plan_node *plan_node_new(struct avro_plan *pl, enum plan_kind kind)
{
	struct plan_node *t;

	if (pl->nnodes == pl->capnodes) {
		size_t nc = pl->capnodes ? pl->capnodes * 2 : 16;
		struct plan_node **nv = realloc(pl->nodes, nc * sizeof *nv);

		if (!nv)
			return NULL;
		pl->nodes = nv;
		pl->capnodes = nc;
	}
	if (!(t = calloc(1, sizeof *t)))
		return NULL;
	t->kind = kind;
	pl->nodes[pl->nnodes++] = t;
	return t;
}

/* Gives t n kids (and names when named). */
static int plan_node_kids(struct plan_node *t, size_t n, bool named)
{
	t->n = n;
	t->kids = calloc(n ? n : 1, sizeof *t->kids);
	if (named) {
		t->names = calloc(n ? n : 1, sizeof *t->names);
		t->lens = calloc(n ? n : 1, sizeof *t->lens);
	}
	return !t->kids || (named && (!t->names || !t->lens)) ? -1 : 0;
}

static int plan_compile(struct avro_plan *pl, const json_t *node, const char *ns, int depth,
                        struct plan_node **out, struct cerr *err);

static void plan_decimal_attrs(struct plan_node *t, const json_t *obj)
{
	const char *lt = json_string_value(json_object_get(obj, "logicalType"));
	const json_t *scale = json_object_get(obj, "scale");

	t->decimal = lt && strcmp(lt, "decimal") == 0;
	t->scale = json_is_integer(scale) ? json_integer_value(scale) : 0;
}

/* The node of named type nt: made on first use, before its parts, so that a reference to itself inside
 * finds it. */
static int plan_compile_named(struct avro_plan *pl, struct avro_named *nt, int depth, struct plan_node **out,
                              struct cerr *err)
{
	const char *ts = json_string_value(json_object_get(nt->def, "type"));
	struct plan_node *t;

	if (nt->data) {
		*out = nt->data;
		return 0;
	}
	if (strcmp(ts, "enum") == 0) {
		const json_t *syms = json_object_get(nt->def, "symbols");
		const json_t *sym;
		size_t i;

		if (!(t = nt->data = plan_node_new(pl, PK_ENUM)) || plan_node_kids(t, json_array_size(syms), true) < 0)
			return cerr_set(err, false, "out of memory");
		t->unchanged = strcmp(nt->fullname, "cleave.Unchanged") == 0;
		json_array_foreach(syms, i, sym) {
			t->names[i] = (char *)json_string_value(sym); /* owned by pl->schema */
			t->lens[i] = json_string_length(sym);
			if (!t->names[i])
				return cerr_set(err, false, "avro schema: enum %s: a symbol is not a string", nt->fullname);
		}
	} else if (strcmp(ts, "fixed") == 0) {
		const json_t *size = json_object_get(nt->def, "size");

		if (!(t = nt->data = plan_node_new(pl, PK_FIXED)))
			return cerr_set(err, false, "out of memory");
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return cerr_set(err, false, "avro schema: fixed without a size");
		t->size = json_integer_value(size);
		plan_decimal_attrs(t, nt->def);
	} else { /* record, error */
		const json_t *fields = json_object_get(nt->def, "fields"), *f;
		size_t i;

		if (!(t = nt->data = plan_node_new(pl, PK_RECORD)) ||
		    plan_node_kids(t, json_array_size(fields), true) < 0)
			return cerr_set(err, false, "out of memory");
		json_array_foreach(fields, i, f) {
			const json_t *name = json_object_get(f, "name");

			if (!json_is_string(name))
				return cerr_set(err, false, "avro schema: record %s: a field without a name", nt->fullname);
			t->names[i] = (char *)json_string_value(name);
			t->lens[i] = json_string_length(name);
			if (plan_compile(pl, json_object_get(f, "type"), nt->ns, depth + 1, &t->kids[i], err) < 0)
				return -1;
		}
	}
	*out = t;
	return 0;
}

/* Resolves node (in namespace ns) as avro_decode.c's resolve does, and compiles it. */
static int plan_compile(struct avro_plan *pl, const json_t *node, const char *ns, int depth,
                        struct plan_node **out, struct cerr *err)
{
	const json_t *t;
	const char *ts;
	int prim;

	if (depth > PLAN_MAX_DEPTH)
		return cerr_set(err, false, "avro schema: nested too deeply");
	if (json_is_array(node)) {
		struct plan_node *u = plan_node_new(pl, PK_UNION);
		const json_t *b;
		size_t i;

		if (!u || plan_node_kids(u, json_array_size(node), false) < 0)
			return cerr_set(err, false, "out of memory");
		json_array_foreach(node, i, b)
			if (plan_compile(pl, b, ns, depth + 1, &u->kids[i], err) < 0)
				return -1;
		*out = u;
		return 0;
	}
	if (json_is_string(node)) {
		const char *s = json_string_value(node);
		struct avro_named *nt;

		if ((prim = plan_primitive(s)) >= 0) {
			if (!(*out = plan_node_new(pl, (enum plan_kind)prim)))
				return cerr_set(err, false, "out of memory");
			return 0;
		}
		if (!(nt = avro_names_resolve(&pl->names, s, ns, err)))
			return -1;
		return plan_compile_named(pl, nt, depth, out, err);
	}
	if (!json_is_object(node))
		return cerr_set(err, false, "avro schema: a type must be a string, object or array");
	t = json_object_get(node, "type");
	if (!json_is_string(t))
		return plan_compile(pl, t, ns, depth + 1, out, err);
	ts = json_string_value(t);
	if ((prim = plan_primitive(ts)) >= 0) {
		if (!(*out = plan_node_new(pl, (enum plan_kind)prim)))
			return cerr_set(err, false, "out of memory");
		if (prim == PK_BYTES)
			plan_decimal_attrs(*out, node);
		return 0;
	}
	if (strcmp(ts, "array") == 0 || strcmp(ts, "map") == 0) {
		bool map = strcmp(ts, "map") == 0;
		struct plan_node *a = plan_node_new(pl, map ? PK_MAP : PK_ARRAY);

		if (!a || plan_node_kids(a, 1, false) < 0)
			return cerr_set(err, false, "out of memory");
		*out = a;
		return plan_compile(pl, json_object_get(node, map ? "values" : "items"), ns, depth + 1, &a->kids[0], err);
	}
	if (avro_named_kind(ts)) {
		struct avro_named *nt = avro_names_by_def(&pl->names, node);

		if (!nt)
			return cerr_set(err, false, "avro schema: unregistered named type");
		return plan_compile_named(pl, nt, depth, out, err);
	}
	/* {"type": "some.Name"}: a reference wrapped in an object */
	return plan_compile(pl, t, ns, depth + 1, out, err);
}

struct avro_plan *avro_plan_new(const char *schema_json, struct cerr *err)
{
	struct avro_plan *pl = calloc(1, sizeof *pl);
	avro_schema_t as;
	json_error_t jerr;

	if (!pl) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	if (!(pl->schema = json_loads(schema_json, JSON_DECODE_ANY, &jerr))) {
		cerr_set(err, false, "avro schema: not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		         jerr.column);
		goto fail;
	}
	/* the same schemas as avro_decoder_new, which avro-c checks */
	if (avro_schema_from_json_length(schema_json, strlen(schema_json), &as) != 0) {
		cerr_set(err, false, "avro schema: avro-c rejects it: %s", avro_strerror());
		goto fail;
	}
	avro_schema_decref(as);
	if (!(pl->unchanged = json_pack("{sb}", "unchanged", 1))) {
		cerr_set(err, false, "out of memory");
		goto fail;
	}
	if (avro_names_collect(&pl->names, pl->schema, PLAN_MAX_DEPTH, err) < 0 || plan_compile(pl, pl->schema, "", 0, &pl->root, err) < 0)
		goto fail;
	return pl;
fail:
	avro_plan_free(pl);
	return NULL;
}

void avro_plan_free(struct avro_plan *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->nnodes; i++) {
		free(pl->nodes[i]->kids);
		free(pl->nodes[i]->names);
		free(pl->nodes[i]->lens);
		free(pl->nodes[i]);
	}
	free(pl->nodes);
	avro_names_free(&pl->names);
	while (pl->picks) {
		struct avro_plan_pick *k = pl->picks;

		pl->picks = k->next;
		free(k->mode);
		free(k->path);
		free(k->sub);
		free(k);
	}
	json_decref(pl->unchanged);
	json_decref(pl->schema);
	free(pl);
}

/* ---- picks ---- */

static struct avro_plan_pick *plan_pick_rec(struct avro_plan *pl, const struct plan_node *rec,
                                            const char *const *paths, size_t prefix_len, const char *prefix)
{
	struct avro_plan_pick *k = calloc(1, sizeof *k);

	if (!k)
		return NULL;
	k->next = pl->picks;
	pl->picks = k;
	k->rec = rec;
	k->mode = calloc(rec->n ? rec->n : 1, 1);
	k->path = calloc(rec->n ? rec->n : 1, sizeof *k->path);
	k->sub = calloc(rec->n ? rec->n : 1, sizeof *k->sub);
	if (!k->mode || !k->path || !k->sub)
		return NULL;
	for (size_t f = 0; f < rec->n; f++) {
		const char *name = rec->names[f];
		size_t len = rec->lens[f];

		for (size_t i = 0; paths[i]; i++) {
			const char *p = paths[i];

			if (prefix_len && (strncmp(p, prefix, prefix_len) != 0 || p[prefix_len] != '.'))
				continue;
			if (prefix_len)
				p += prefix_len + 1;
			if (strncmp(p, name, len) != 0)
				continue;
			if (p[len] == '\0') {
				k->mode[f] = PICK_ALL;
				k->path[f] = i;
			} else if (p[len] == '.' && k->mode[f] == PICK_SKIP) {
				k->mode[f] = rec->kids[f]->kind == PK_RECORD ? PICK_SUB : PICK_ALL;
				k->path[f] = i;
			}
		}
		if (k->mode[f] == PICK_SUB) {
			/* the prefix of the sub-pick: prefix.name */
			size_t sublen = (prefix_len ? prefix_len + 1 : 0) + len;
			char *sp = malloc(sublen + 1);

			if (!sp)
				return NULL;
			snprintf(sp, sublen + 1, "%s%s%s", prefix_len ? prefix : "", prefix_len ? "." : "", name);
			k->sub[f] = plan_pick_rec(pl, rec->kids[f], paths, sublen, sp);
			free(sp);
			if (!k->sub[f])
				return NULL;
		}
	}
	return k;
}

const struct avro_plan_pick *avro_plan_pick(struct avro_plan *pl, const char *const *paths, struct cerr *err)
{
	struct avro_plan_pick *k;

	if (pl->root->kind != PK_RECORD) {
		/* decoded whole: a pick of nothing that avro_plan_decode_pick recognises */
		k = calloc(1, sizeof *k);
		if (k) {
			k->next = pl->picks;
			pl->picks = k;
		}
	} else {
		k = plan_pick_rec(pl, pl->root, paths, 0, "");
	}
	if (!k)
		cerr_set(err, false, "out of memory");
	return k;
}

/* ---- decoding ---- */

struct plan_in {
	const uint8_t *p;
	size_t n;
	size_t pos;
};

static int plan_fail(const struct plan_in *in, struct cerr *err, const char *what)
{
	return cerr_set(err, false, "avro decode: %s at byte %zu of %zu", what, in->pos, in->n);
}

/* A zigzag varint long (at most 10 bytes, no bits past 64). */
static inline int plan_long(struct plan_in *in, int64_t *v, struct cerr *err)
{
	uint64_t u = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (in->pos >= in->n)
			return plan_fail(in, err, "truncated varint");
		b = in->p[in->pos++];
		if (shift == 63 && (b & 0x7E))
			return plan_fail(in, err, "varint overflows 64 bits");
		u |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
	}
	return plan_fail(in, err, "varint longer than 10 bytes");
}

/* n bytes (a length read from the input: checked against what remains). */
static inline int plan_take(struct plan_in *in, int64_t n, const uint8_t **out, struct cerr *err)
{
	if (n < 0)
		return plan_fail(in, err, "negative length");
	if ((uint64_t)n > in->n - in->pos)
		return plan_fail(in, err, "length past the end of the data");
	*out = in->p + in->pos;
	in->pos += (size_t)n;
	return 0;
}

/* The index of an enum symbol or union branch of t: a long in [0, t->n). */
static int plan_index(const struct plan_node *t, struct plan_in *in, size_t *idx, struct cerr *err)
{
	int64_t v = 0;

	if (plan_long(in, &v, err) < 0)
		return -1;
	if (v < 0 || (uint64_t)v >= t->n)
		return plan_fail(in, err, t->kind == PK_ENUM ? "enum index out of range" :
		                                               "union branch index out of range");
	*idx = (size_t)v;
	return 0;
}

static json_t *plan_oom(struct cerr *err)
{
	cerr_set(err, false, "out of memory");
	return NULL;
}

static json_t *plan_real(double d, struct cerr *err)
{
	json_t *j;

	if (isnan(d))
		j = json_string("NaN");
	else if (isinf(d))
		j = json_string(d > 0 ? "Infinity" : "-Infinity");
	else
		j = json_real(d);
	return j ? j : plan_oom(err);
}

/* "\x" and two lowercase hex digits per byte. */
static json_t *plan_hex(const uint8_t *p, size_t n, struct cerr *err)
{
	static const char hexdig[] = "0123456789abcdef";
	char small[258], *s = 2 * n + 2 <= sizeof small ? small : malloc(2 * n + 2);
	json_t *j;

	if (!s)
		return plan_oom(err);
	s[0] = '\\';
	s[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		s[2 + 2 * i] = hexdig[p[i] >> 4];
		s[3 + 2 * i] = hexdig[p[i] & 15];
	}
	j = json_stringn_nocheck(s, 2 * n + 2);
	if (s != small)
		free(s);
	return j ? j : plan_oom(err);
}

/* A decimal: up to 8 bytes here (the usual numeric), longer ones with avro_decode.c's general code. The
 * text is avro_decode.c's: digits of the magnitude, the point `scale` digits from the right (with leading
 * "0." and zeros when there are fewer digits), trailing zeros for a negative scale unless zero. */
static json_t *plan_decimal(const uint8_t *p, size_t n, int64_t scale, struct cerr *err)
{
	char digits[24], out[128]; /* sign, "0.", 40 zeros, 20 digits */
	uint64_t u = 0, mag;
	size_t nd, o = 0;
	bool neg;
	json_t *j;

	if (n > 8 || scale > 40 || scale < -40)
		return avro_decimal_json(p, n, scale, err);
	neg = n > 0 && (p[0] & 0x80);
	for (size_t i = 0; i < n; i++)
		u = (u << 8) | p[i];
	if (neg && n < 8)
		u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
	mag = neg ? ~u + 1 : u;
	nd = (size_t)snprintf(digits, sizeof digits, "%" PRIu64, mag);
	if (neg)
		out[o++] = '-';
	if (scale <= 0) {
		memcpy(out + o, digits, nd);
		o += nd;
		for (int64_t i = 0; mag != 0 && i < -scale; i++)
			out[o++] = '0';
	} else if ((uint64_t)scale >= nd) {
		out[o++] = '0';
		out[o++] = '.';
		for (uint64_t i = nd; i < (uint64_t)scale; i++)
			out[o++] = '0';
		memcpy(out + o, digits, nd);
		o += nd;
	} else {
		size_t intlen = nd - (size_t)scale;

		memcpy(out + o, digits, intlen);
		o += intlen;
		out[o++] = '.';
		memcpy(out + o, digits + intlen, (size_t)scale);
		o += (size_t)scale;
	}
	j = json_stringn_nocheck(out, o);
	return j ? j : plan_oom(err);
}

static json_t *plan_value(const struct avro_plan *pl, const struct plan_node *t, struct plan_in *in, int depth,
                          struct cerr *err);
static int plan_skip(const struct plan_node *t, struct plan_in *in, int depth, struct cerr *err);

/* Array and map blocks: count (negative: then a byte size), items, ..., 0. With out NULL, skips. */
static int plan_blocks(const struct avro_plan *pl, const struct plan_node *t, struct plan_in *in, int depth,
                       json_t *out, struct cerr *err)
{
	bool is_map = t->kind == PK_MAP;

	for (;;) {
		int64_t count = 0, size = 0;

		if (plan_long(in, &count, err) < 0)
			return -1;
		if (count == 0)
			return 0;
		if (count < 0) {
			if (count == INT64_MIN)
				return plan_fail(in, err, "bad block count");
			count = -count;
			if (plan_long(in, &size, err) < 0)
				return -1;
			if (size < 0)
				return plan_fail(in, err, "negative block size");
		}
		/* as avro_decode.c (its XXX): every item is taken to need a byte at least */
		if ((uint64_t)count > in->n - in->pos)
			return plan_fail(in, err, "block count past the end of the data");
		for (int64_t i = 0; i < count; i++) {
			const uint8_t *key = NULL;
			int64_t klen = 0;
			json_t *v;

			if (is_map && (plan_long(in, &klen, err) < 0 || plan_take(in, klen, &key, err) < 0))
				return -1;
			if (!out) {
				if (plan_skip(t->kids[0], in, depth + 1, err) < 0)
					return -1;
				continue;
			}
			if (!(v = plan_value(pl, t->kids[0], in, depth + 1, err)))
				return -1;
			if (is_map) {
				/* avro-c keeps map keys as C strings: a key ends at its first NUL */
				size_t kl = strnlen((const char *)key, (size_t)klen);

				if (json_object_setn_new(out, (const char *)key, kl, v) < 0)
					return cerr_set(err, false, "out of memory");
			} else if (json_array_append_new(out, v) < 0) {
				return cerr_set(err, false, "out of memory");
			}
		}
	}
}

/* Walks a value without building it, with the checks of decoding (but not UTF-8 nor decimal limits). */
static int plan_skip(const struct plan_node *t, struct plan_in *in, int depth, struct cerr *err)
{
	const uint8_t *b = NULL;
	int64_t v = 0;
	size_t k = 0;

	if (depth > PLAN_MAX_DEPTH)
		return plan_fail(in, err, "value nested too deeply");
	switch (t->kind) {
	case PK_NULL:
		return 0;
	case PK_BOOLEAN:
		if (in->pos >= in->n)
			return plan_fail(in, err, "truncated boolean");
		if (in->p[in->pos] > 1)
			return plan_fail(in, err, "boolean is neither 0 nor 1");
		in->pos++;
		return 0;
	case PK_INT:
		if (plan_long(in, &v, err) < 0)
			return -1;
		return v < INT32_MIN || v > INT32_MAX ? plan_fail(in, err, "int out of range") : 0;
	case PK_LONG:
		return plan_long(in, &v, err);
	case PK_FLOAT:
		return plan_take(in, 4, &b, err);
	case PK_DOUBLE:
		return plan_take(in, 8, &b, err);
	case PK_BYTES:
	case PK_STRING:
		if (plan_long(in, &v, err) < 0)
			return -1;
		return plan_take(in, v, &b, err);
	case PK_FIXED:
		return plan_take(in, t->size, &b, err);
	case PK_ENUM:
		return plan_index(t, in, &k, err);
	case PK_UNION:
		if (plan_index(t, in, &k, err) < 0)
			return -1;
		return plan_skip(t->kids[k], in, depth + 1, err);
	case PK_RECORD:
		for (size_t i = 0; i < t->n; i++)
			if (plan_skip(t->kids[i], in, depth + 1, err) < 0)
				return -1;
		return 0;
	case PK_ARRAY:
	case PK_MAP:
		return plan_blocks(NULL, t, in, depth, NULL, err);
	}
	return cerr_set(err, false, "avro plan: unknown node kind");
}

/* A record's fields into a new object: all of them (pick NULL) or the picked ones. */
static json_t *plan_record(const struct avro_plan *pl, const struct plan_node *t, const struct avro_plan_pick *pick,
                           struct plan_in *in, int depth, struct cerr *err)
{
	json_t *o = json_object();

	if (!o)
		return plan_oom(err);
	for (size_t i = 0; i < t->n; i++) {
		json_t *v;

		if (pick && pick->mode[i] == PICK_SKIP) {
			if (plan_skip(t->kids[i], in, depth + 1, err) < 0)
				goto fail;
			continue;
		}
		if (pick && pick->mode[i] == PICK_SUB) {
			if (depth + 1 > PLAN_MAX_DEPTH) {
				plan_fail(in, err, "value nested too deeply");
				goto fail;
			}
			v = plan_record(pl, t->kids[i], pick->sub[i], in, depth + 1, err);
		} else {
			v = plan_value(pl, t->kids[i], in, depth + 1, err);
		}
		if (!v)
			goto fail;
		if (json_object_setn_new_nocheck(o, t->names[i], t->lens[i], v) < 0) {
			cerr_set(err, false, "out of memory");
			goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *plan_value(const struct avro_plan *pl, const struct plan_node *t, struct plan_in *in, int depth,
                          struct cerr *err)
{
	const uint8_t *b = NULL;
	int64_t v = 0;
	size_t k = 0;
	json_t *j;

	if (depth > PLAN_MAX_DEPTH)
		return plan_fail(in, err, "value nested too deeply"), NULL;
	switch (t->kind) {
	case PK_NULL:
		return json_null();
	case PK_BOOLEAN:
		if (plan_skip(t, in, depth, err) < 0)
			return NULL;
		return json_boolean(in->p[in->pos - 1]);
	case PK_INT:
		if (plan_long(in, &v, err) < 0)
			return NULL;
		if (v < INT32_MIN || v > INT32_MAX)
			return plan_fail(in, err, "int out of range"), NULL;
		return (j = json_integer(v)) ? j : plan_oom(err);
	case PK_LONG:
		if (plan_long(in, &v, err) < 0)
			return NULL;
		return (j = json_integer(v)) ? j : plan_oom(err);
	case PK_FLOAT: {
		uint32_t u;
		float f;

		if (plan_take(in, 4, &b, err) < 0)
			return NULL;
		u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		memcpy(&f, &u, sizeof f);
		return plan_real(f, err);
	}
	case PK_DOUBLE: {
		uint64_t u = 0;
		double d;

		if (plan_take(in, 8, &b, err) < 0)
			return NULL;
		for (int i = 7; i >= 0; i--)
			u = u << 8 | b[i];
		memcpy(&d, &u, sizeof d);
		return plan_real(d, err);
	}
	case PK_BYTES:
	case PK_FIXED:
		if (t->kind == PK_BYTES ? plan_long(in, &v, err) < 0 : (v = t->size, false))
			return NULL;
		if (plan_take(in, v, &b, err) < 0)
			return NULL;
		if (t->decimal)
			return plan_decimal(b, (size_t)v, t->scale, err);
		return plan_hex(b, (size_t)v, err);
	case PK_STRING:
		if (plan_long(in, &v, err) < 0 || plan_take(in, v, &b, err) < 0)
			return NULL;
		if (!(j = json_stringn((const char *)b, (size_t)v)))
			cerr_set(err, false, "avro decode: string is not valid UTF-8");
		return j;
	case PK_ENUM:
		if (plan_index(t, in, &k, err) < 0)
			return NULL;
		if (t->unchanged)
			return json_incref(pl->unchanged);
		return (j = json_stringn_nocheck(t->names[k], t->lens[k])) ? j : plan_oom(err);
	case PK_UNION:
		if (plan_index(t, in, &k, err) < 0)
			return NULL;
		return plan_value(pl, t->kids[k], in, depth + 1, err);
	case PK_RECORD:
		return plan_record(pl, t, NULL, in, depth, err);
	case PK_ARRAY:
	case PK_MAP:
		if (!(j = t->kind == PK_MAP ? json_object() : json_array()))
			return plan_oom(err);
		if (plan_blocks(pl, t, in, depth, j, err) < 0) {
			json_decref(j);
			return NULL;
		}
		return j;
	}
	return cerr_set(err, false, "avro plan: unknown node kind"), NULL;
}

static json_t *plan_finish(json_t *j, const struct plan_in *in, struct cerr *err)
{
	if (j && in->pos != in->n) {
		json_decref(j);
		return cerr_set(err, false, "avro decode: %zu bytes after the value", in->n - in->pos), NULL;
	}
	return j;
}

json_t *avro_plan_decode(const struct avro_plan *pl, const void *p, size_t n, struct cerr *err)
{
	struct plan_in in = {p, n, 0};

	return plan_finish(plan_value(pl, pl->root, &in, 0, err), &in, err);
}

json_t *avro_plan_decode_pick(const struct avro_plan *pl, const struct avro_plan_pick *pick, const void *p,
                              size_t n, struct cerr *err)
{
	struct plan_in in = {p, n, 0};

	if (!pick->rec)
		return avro_plan_decode(pl, p, n, err);
	return plan_finish(plan_record(pl, pl->root, pick, &in, 0, err), &in, err);
}

/* ---- scalars and single fields, without building the rest ---- */

/* One picked value into *out: null, int/long (and their logical types), boolean, string, enum symbol (also
 * of cleave.Unchanged); a union's branch. Anything else is refused. */
static int plan_scalar(const struct plan_node *t, struct plan_in *in, int depth, struct avro_plan_scalar *out,
                       struct cerr *err)
{
	const uint8_t *b = NULL;
	int64_t v = 0;
	size_t k = 0;

	if (depth > PLAN_MAX_DEPTH)
		return plan_fail(in, err, "value nested too deeply");
	switch (t->kind) {
	case PK_NULL:
		out->kind = AVRO_PLAN_NULL;
		return 0;
	case PK_BOOLEAN:
		if (plan_skip(t, in, depth, err) < 0)
			return -1;
		*out = (struct avro_plan_scalar){.kind = AVRO_PLAN_LONG, .l = in->p[in->pos - 1]};
		return 0;
	case PK_INT:
	case PK_LONG:
		if (plan_long(in, &v, err) < 0)
			return -1;
		if (t->kind == PK_INT && (v < INT32_MIN || v > INT32_MAX))
			return plan_fail(in, err, "int out of range");
		*out = (struct avro_plan_scalar){.kind = AVRO_PLAN_LONG, .l = v};
		return 0;
	case PK_STRING:
		if (plan_long(in, &v, err) < 0 || plan_take(in, v, &b, err) < 0)
			return -1;
		*out = (struct avro_plan_scalar){.kind = AVRO_PLAN_STRING, .s = (const char *)b, .len = (size_t)v};
		return 0;
	case PK_ENUM:
		if (plan_index(t, in, &k, err) < 0)
			return -1;
		*out = (struct avro_plan_scalar){.kind = AVRO_PLAN_STRING, .s = t->names[k], .len = t->lens[k]};
		return 0;
	case PK_UNION:
		if (plan_index(t, in, &k, err) < 0)
			return -1;
		return plan_scalar(t->kids[k], in, depth + 1, out, err);
	default:
		return plan_fail(in, err, "a picked field is not a scalar");
	}
}

static int plan_scalars(const struct plan_node *t, const struct avro_plan_pick *pick, struct plan_in *in, int depth,
                        struct avro_plan_scalar *out, size_t nout, struct cerr *err)
{
	for (size_t i = 0; i < t->n; i++) {
		int rc;

		if (pick->mode[i] == PICK_SUB)
			rc = depth + 1 > PLAN_MAX_DEPTH ? plan_fail(in, err, "value nested too deeply") :
			                                  plan_scalars(t->kids[i], pick->sub[i], in, depth + 1, out, nout, err);
		else if (pick->mode[i] == PICK_ALL && pick->path[i] < nout)
			rc = plan_scalar(t->kids[i], in, depth + 1, &out[pick->path[i]], err);
		else
			rc = plan_skip(t->kids[i], in, depth + 1, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int avro_plan_decode_scalars(const struct avro_plan *pl, const struct avro_plan_pick *pick, const void *p, size_t n,
                             struct avro_plan_scalar *out, size_t nout, struct cerr *err)
{
	struct plan_in in = {p, n, 0};

	for (size_t i = 0; i < nout; i++)
		out[i] = (struct avro_plan_scalar){.kind = AVRO_PLAN_ABSENT};
	if (!pick->rec)
		return cerr_set(err, false, "avro decode: the schema is not a record");
	if (plan_scalars(pl->root, pick, &in, 0, out, nout, err) < 0)
		return -1;
	if (in.pos != in.n)
		return cerr_set(err, false, "avro decode: %zu bytes after the value", in.n - in.pos);
	return 0;
}

json_t *avro_plan_decode_field(const struct avro_plan *pl, const struct avro_plan_pick *pick, const void *p,
                               size_t n, struct cerr *err)
{
	struct plan_in in = {p, n, 0};
	json_t *v = NULL;

	if (!pick->rec)
		return avro_plan_decode(pl, p, n, err);
	for (size_t i = 0; i < pl->root->n; i++) {
		if (pick->mode[i] == PICK_ALL && !v) {
			if (!(v = plan_value(pl, pl->root->kids[i], &in, 1, err)))
				return NULL;
		} else if (plan_skip(pl->root->kids[i], &in, 1, err) < 0) {
			json_decref(v);
			return NULL;
		}
	}
	if (!v && !(v = json_null()))
		return plan_oom(err);
	return plan_finish(v, &in, err);
}
