/* table_schema.c: builds the Avro writer schemas of one version of one source table (see table_schema.h)
 * from a pgoutput Relation message: maps the columns with coltype, gives them Avro-safe field names,
 * writes the envelope and key schemas as compact JSON with jansson, checks both with avro-c and names
 * each by the CRC-64-AVRO of its exact text. Called by capture when a Relation message arrives. */
#include "schema/table_schema.h"

#include <avro.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "schema/fingerprint.h"

/* The enum that marks a value PostgreSQL did not send. Its full name is fixed (not under the table's
 * namespace) so that consumers can recognise it in every table's schema. */
#define UNCHANGED_NAMESPACE "cleave"
#define UNCHANGED_FULLNAME "cleave.Unchanged"

static bool avro_name_ok(const char *s)
{
	const char *p;

	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (p = s + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* Appends `s` made into an Avro name: [A-Za-z_][A-Za-z0-9_]*. Every other character becomes '_' (one
 * '_' per UTF-8 character, not per byte), a leading digit gets a '_' in front, "" becomes "_". */
static int name_sanitize_into(struct buf *b, const char *s)
{
	const unsigned char *p;

	if (*s >= '0' && *s <= '9' && buf_putc(b, '_') < 0)
		return -1;
	if (!*s && buf_putc(b, '_') < 0)
		return -1;
	for (p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
			if (buf_putc(b, c) < 0)
				return -1;
		} else if ((c & 0xC0) != 0x80) { /* skip UTF-8 continuation bytes */
			if (buf_putc(b, '_') < 0)
				return -1;
		}
	}
	return 0;
}

static char *name_sanitize(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	if (name_sanitize_into(&b, s) < 0) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.data; /* never NULL: at least one byte was written */
}

static bool avro_name_taken(const struct table_schema *ts, const char *name)
{
	for (int i = 0; i < ts->ncols; i++)
		if (ts->cols[i].avro_name && strcmp(ts->cols[i].avro_name, name) == 0)
			return true;
	return false;
}

/* Gives every column a unique Avro field name. Names that are already valid keep their spelling (they
 * are unique, as PostgreSQL column names are); only then do the sanitized ones take theirs, with "_2",
 * "_3"... appended on a clash, so a column literally named a_b is never renamed because of "a b". */
static int assign_avro_names(struct table_schema *ts, struct cerr *err)
{
	for (int i = 0; i < ts->ncols; i++) {
		if (!avro_name_ok(ts->cols[i].name))
			continue;
		if (!(ts->cols[i].avro_name = strdup(ts->cols[i].name)))
			return cerr_set(err, false, "out of memory");
	}
	for (int i = 0; i < ts->ncols; i++) {
		char *base;
		struct buf b;

		if (ts->cols[i].avro_name)
			continue;
		if (!(base = name_sanitize(ts->cols[i].name)))
			return cerr_set(err, false, "out of memory");
		buf_init(&b, 0);
		if (buf_puts(&b, base) < 0) {
			free(base);
			return cerr_set(err, false, "out of memory");
		}
		for (int n = 2; avro_name_taken(ts, (const char *)b.data); n++) {
			buf_reset(&b);
			if (buf_printf(&b, "%s_%d", base, n) < 0) {
				free(base);
				buf_free(&b);
				return cerr_set(err, false, "out of memory");
			}
		}
		free(base);
		ts->cols[i].avro_name = (char *)b.data;
	}
	return 0;
}

/* "<prefix>.<schema>.<table>" with each dot-separated part of prefix, and schema and table as a whole,
 * sanitized like field names (a dot inside a table name is not a namespace separator). */
static char *namespace_build(const char *prefix, const char *nspname, const char *relname)
{
	struct buf b;
	const char *p = prefix;

	buf_init(&b, 0);
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char *part = strndup(p, n);

		if (!part || name_sanitize_into(&b, part) < 0 || buf_putc(&b, '.') < 0) {
			free(part);
			goto fail;
		}
		free(part);
		if (!dot)
			break;
		p = dot + 1;
	}
	if (name_sanitize_into(&b, nspname) < 0 || buf_putc(&b, '.') < 0 || name_sanitize_into(&b, relname) < 0)
		goto fail;
	return (char *)b.data;
fail:
	buf_free(&b);
	return NULL;
}

/* json_object_set_new that remembers a failure instead of checking at every call. */
static void jset(json_t *obj, const char *key, json_t *val, bool *ok)
{
	if (!val || json_object_set_new(obj, key, val) < 0)
		*ok = false;
}

static void jappend(json_t *arr, json_t *val, bool *ok)
{
	if (!val || json_array_append_new(arr, val) < 0)
		*ok = false;
}

/* {"type": base, "logicalType": logical} */
static json_t *logical_json(const char *base, const char *logical)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (o) {
		jset(o, "type", json_string(base), &ok);
		jset(o, "logicalType", json_string(logical), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The Avro type of a scalar kind (not CT_ARRAY), with its logical type as the Avro spec spells it. */
static json_t *scalar_type_json(enum coltype_kind kind, int precision, int scale)
{
	switch (kind) {
	case CT_BOOLEAN:
		return json_string("boolean");
	case CT_INT:
		return json_string("int");
	case CT_LONG:
		return json_string("long");
	case CT_FLOAT:
		return json_string("float");
	case CT_DOUBLE:
		return json_string("double");
	case CT_DECIMAL: {
		json_t *o = logical_json("bytes", "decimal");
		bool ok = o != NULL;

		if (o) {
			jset(o, "precision", json_integer(precision), &ok);
			jset(o, "scale", json_integer(scale), &ok);
		}
		if (!ok) {
			json_decref(o);
			return NULL;
		}
		return o;
	}
	case CT_NUMERIC:
	case CT_STRING:
	case CT_JSON:
	case CT_TEXT_FORM:
		return json_string("string");
	case CT_BYTES:
		return json_string("bytes");
	case CT_DATE:
		return logical_json("int", "date");
	case CT_TIME:
		return logical_json("long", "time-micros");
	case CT_TIMESTAMP:
		return logical_json("long", "local-timestamp-micros");
	case CT_TIMESTAMPTZ:
		return logical_json("long", "timestamp-micros");
	case CT_UUID:
		return logical_json("string", "uuid");
	case CT_ARRAY:
		break;
	}
	return NULL;
}

/* The column's Avro type T: a scalar, or {"type":"array","items":["null", element]}; decimal items also
 * have a "string" branch for NaN (schema/pgtext.c writes it). */
static json_t *column_type_json(const struct coltype *t)
{
	json_t *arr, *items;
	bool ok = true;

	if (t->kind != CT_ARRAY)
		return scalar_type_json(t->kind, t->precision, t->scale);
	if (!(arr = json_object()))
		return NULL;
	items = json_array();
	jset(arr, "type", json_string("array"), &ok);
	if (items) {
		jappend(items, json_string("null"), &ok);
		jappend(items, scalar_type_json(t->elem, t->precision, t->scale), &ok);
		if (t->elem == CT_DECIMAL)
			jappend(items, json_string("string"), &ok);
	}
	jset(arr, "items", items, &ok);
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

bool table_schema_has_string_branch(const struct coltype *t)
{
	return t->kind == CT_DECIMAL || t->kind == CT_ARRAY;
}

/* The union of a column: {null, T} (+ string for a decimal's NaN or an array's text) (+ cleave.Unchanged in
 * Value). The enum is defined at its first use and referenced by full name afterwards, as Avro requires a
 * name to be defined exactly once per schema. */
static json_t *column_union_json(const struct coltype *t, bool with_unchanged, bool *unchanged_defined)
{
	json_t *u = json_array();
	bool ok = u != NULL;

	if (!u)
		return NULL;
	jappend(u, json_string("null"), &ok);
	jappend(u, column_type_json(t), &ok);
	if (table_schema_has_string_branch(t))
		jappend(u, json_string("string"), &ok);
	if (with_unchanged) {
		if (*unchanged_defined) {
			jappend(u, json_string(UNCHANGED_FULLNAME), &ok);
		} else {
			json_t *e = json_object(), *sym = json_array();

			if (e && sym) {
				jset(e, "type", json_string("enum"), &ok);
				jset(e, "name", json_string("Unchanged"), &ok);
				jset(e, "namespace", json_string(UNCHANGED_NAMESPACE), &ok);
				jappend(sym, json_string("UNCHANGED"), &ok);
				jset(e, "symbols", sym, &ok);
				jappend(u, e, &ok);
			} else {
				json_decref(e);
				json_decref(sym);
				ok = false;
			}
			*unchanged_defined = true;
		}
	}
	if (!ok) {
		json_decref(u);
		return NULL;
	}
	return u;
}

/* One field per column: {"name", "type", "default": null, "cleave.column", "cleave.pg_type", "cleave.pg_oid",
 * "cleave.pg_typmod"[, "cleave.key": true][, "cleave.missing": TEXT]}: oid and typmod let a consumer rebuild
 * the exact column type (coltype_from_pg); cleave.key marks the key columns in Value; cleave.missing (Value
 * only) is the PostgreSQL text of the value that rows existing before the column was added with a DEFAULT
 * read, which no event carries. */
static json_t *column_field_json(const struct ts_column *c, bool with_unchanged, bool *unchanged_defined)
{
	char pgname[128];
	json_t *f = json_object();
	bool ok = f != NULL;

	if (!f)
		return NULL;
	coltype_pg_name(&c->type, pgname, sizeof pgname);
	jset(f, "name", json_string(c->avro_name), &ok);
	jset(f, "type", column_union_json(&c->type, with_unchanged, unchanged_defined), &ok);
	jset(f, "default", json_null(), &ok);
	jset(f, "cleave.column", json_string(c->name), &ok); /* UTF-8: columns_check() made sure */
	jset(f, "cleave.pg_type", json_string(pgname), &ok);
	jset(f, "cleave.pg_oid", json_integer(c->type.pg_oid), &ok);
	jset(f, "cleave.pg_typmod", json_integer(c->type.pg_typmod), &ok);
	/* in Value only (the Key record holds nothing else): which columns identify the row */
	if (with_unchanged && c->key)
		jset(f, "cleave.key", json_true(), &ok);
	/* in Value only: what rows that existed before ADD COLUMN ... DEFAULT hold (no event says it) */
	if (with_unchanged && c->missing) {
		json_t *m = json_string(c->missing); /* NULL: not UTF-8 (SQL_ASCII database): left out */

		if (m)
			jset(f, "cleave.missing", m, &ok);
	}
	if (!ok) {
		json_decref(f);
		return NULL;
	}
	return f;
}

/* {"type":"record","name":name[,"namespace":ns],"fields":fields} */
static json_t *record_json(const char *name, const char *ns, json_t *fields)
{
	json_t *r = json_object();
	bool ok = r != NULL;

	if (!r) {
		json_decref(fields);
		return NULL;
	}
	jset(r, "type", json_string("record"), &ok);
	jset(r, "name", json_string(name), &ok);
	if (ns)
		jset(r, "namespace", json_string(ns), &ok);
	jset(r, "fields", fields, &ok);
	if (!ok) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* {"name":name,"type":type} (+ "default": null when the type is a union starting with null) */
static json_t *plain_field_json(const char *name, json_t *type, bool default_null)
{
	json_t *f = json_object();
	bool ok = f != NULL;

	if (!f) {
		json_decref(type);
		return NULL;
	}
	jset(f, "name", json_string(name), &ok);
	jset(f, "type", type, &ok);
	if (default_null)
		jset(f, "default", json_null(), &ok);
	if (!ok) {
		json_decref(f);
		return NULL;
	}
	return f;
}

static json_t *source_record_json(void)
{
	static const struct {
		const char *name, *type;
	} fields[] = {
		{"name", "string"}, {"db", "string"},   {"schema", "string"},     {"table", "string"},
		{"txId", "long"},   {"lsn", "long"},    {"commit_lsn", "long"},   {"seq", "long"},
		{"ts_ms", "long"},  {"snapshot", "string"},
	};
	json_t *fs = json_array();
	bool ok = fs != NULL;

	if (!fs)
		return NULL;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		jappend(fs, plain_field_json(fields[i].name, json_string(fields[i].type), false), &ok);
	if (!ok) {
		json_decref(fs);
		return NULL;
	}
	return record_json("Source", NULL, fs);
}

static json_t *nullable_json(json_t *t)
{
	json_t *u = json_array();
	bool ok = u != NULL;

	if (!u) {
		json_decref(t);
		return NULL;
	}
	jappend(u, json_string("null"), &ok);
	jappend(u, t, &ok);
	if (!ok) {
		json_decref(u);
		return NULL;
	}
	return u;
}

/* The envelope schema of envelope.h. Value is defined inside `before` and referenced by full name in
 * `after`. */
static json_t *envelope_json(const struct table_schema *ts, const char *ns)
{
	json_t *vfields = json_array(), *efields = json_array();
	bool ok = vfields && efields, unchanged_defined = false;

	if (!ok)
		goto fail;
	for (int i = 0; i < ts->ncols; i++)
		jappend(vfields, column_field_json(&ts->cols[i], true, &unchanged_defined), &ok);
	if (!ok)
		goto fail;
	jappend(efields, plain_field_json("before", nullable_json(record_json("Value", NULL, vfields)), true), &ok);
	vfields = NULL;
	jappend(efields, plain_field_json("after", nullable_json(json_sprintf("%s.Value", ns)), true), &ok);
	jappend(efields, plain_field_json("op", json_string("string"), false), &ok);
	jappend(efields, plain_field_json("ts_ms", json_string("long"), false), &ok);
	jappend(efields, plain_field_json("source", source_record_json(), false), &ok);
	if (!ok)
		goto fail;
	return record_json("Envelope", ns, efields);
fail:
	json_decref(vfields);
	json_decref(efields);
	return NULL;
}

static json_t *key_json(const struct table_schema *ts, const char *ns)
{
	json_t *fields = json_array();
	bool ok = fields != NULL, unused = false;

	if (!fields)
		return NULL;
	for (int i = 0; i < ts->ncols; i++)
		if (ts->cols[i].key)
			jappend(fields, column_field_json(&ts->cols[i], false, &unused), &ok);
	if (!ok) {
		json_decref(fields);
		return NULL;
	}
	return record_json("Key", ns, fields);
}

/* Serialises `root` (consumed), checks the text with avro-c and fingerprints it. */
static int schema_finish(const struct table_schema *ts, json_t *root, const char *what, char **text,
                         uint64_t *id, struct cerr *err)
{
	avro_schema_t as = NULL;
	char *s;

	if (!root)
		return cerr_set(err, false, "%s.%s: cannot build the %s schema: out of memory", ts->nspname,
		                ts->relname, what);
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return cerr_set(err, false, "%s.%s: cannot serialise the %s schema", ts->nspname, ts->relname, what);
	if (avro_schema_from_json_length(s, strlen(s), &as) != 0) {
		cerr_set(err, false, "%s.%s: avro-c rejects the %s schema: %s", ts->nspname, ts->relname, what,
		         avro_strerror());
		free(s);
		return -1;
	}
	avro_schema_decref(as);
	*text = s;
	*id = fingerprint_crc64_avro(s, strlen(s));
	return 0;
}

/* Rejects what would otherwise give a schema other Avro implementations refuse, or a name jansson cannot
 * store (it accepts UTF-8 only). */
static int columns_check(const struct table_schema *ts, struct cerr *err)
{
	for (int i = 0; i < ts->ncols; i++) {
		const struct ts_column *c = &ts->cols[i];
		json_t *probe = json_string(c->name);

		if (!probe)
			return cerr_set(err, false, "%s.%s: column name is not valid UTF-8", ts->nspname, ts->relname);
		json_decref(probe);
		if ((c->type.kind == CT_DECIMAL || (c->type.kind == CT_ARRAY && c->type.elem == CT_DECIMAL)) &&
		    (c->type.precision < 1 || c->type.scale < 0 || c->type.scale > c->type.precision))
			return cerr_set(err, false, "%s.%s.%s: numeric(%d,%d) cannot be an Avro decimal", ts->nspname,
			                ts->relname, c->name, c->type.precision, c->type.scale);
	}
	return 0;
}

struct table_schema *table_schema_new(const char *prefix, const struct pgo_relation *rel, struct cerr *err)
{
	return table_schema_new_ex(prefix, rel, NULL, err);
}

struct table_schema *table_schema_new_ex(const char *prefix, const struct pgo_relation *rel,
                                         const char *const *missing, struct cerr *err)
{
	struct table_schema *ts;
	char *ns = NULL;

	if (!(ts = calloc(1, sizeof *ts))) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	/* pgoutput sends pg_catalog as "" */
	ts->nspname = strdup(rel->nspname && *rel->nspname ? rel->nspname : "pg_catalog");
	ts->relname = strdup(rel->relname ? rel->relname : "");
	ts->relid = rel->oid;
	ts->ncols = rel->ncols;
	ts->cols = calloc(rel->ncols ? rel->ncols : 1, sizeof *ts->cols);
	if (!ts->nspname || !ts->relname || !ts->cols) {
		cerr_set(err, false, "out of memory");
		goto fail;
	}
	for (int i = 0; i < ts->ncols; i++) {
		const struct pgo_column *pc = &rel->cols[i];
		struct ts_column *c = &ts->cols[i];

		if (!(c->name = strdup(pc->name ? pc->name : ""))) {
			cerr_set(err, false, "out of memory");
			goto fail;
		}
		coltype_from_pg(pc->type_oid, pc->typmod, &c->type);
		c->key = (pc->flags & PGO_COL_KEY) != 0;
		if (missing && missing[i] && !(c->missing = strdup(missing[i]))) {
			cerr_set(err, false, "out of memory");
			goto fail;
		}
		if (c->key)
			ts->nkeys++;
		if (!c->type.known)
			ts->nunknown++;
	}
	if (columns_check(ts, err) < 0 || assign_avro_names(ts, err) < 0)
		goto fail;
	if (!(ns = namespace_build(prefix ? prefix : "", ts->nspname, ts->relname))) {
		cerr_set(err, false, "out of memory");
		goto fail;
	}
	if (schema_finish(ts, envelope_json(ts, ns), "envelope", &ts->value_json, &ts->value_id, err) < 0)
		goto fail;
	if (ts->nkeys > 0 && schema_finish(ts, key_json(ts, ns), "key", &ts->key_json, &ts->key_id, err) < 0)
		goto fail;
	free(ns);
	return ts;
fail:
	free(ns);
	table_schema_free(ts);
	return NULL;
}

void table_schema_free(struct table_schema *ts)
{
	if (!ts)
		return;
	for (int i = 0; ts->cols && i < ts->ncols; i++) {
		free(ts->cols[i].name);
		free(ts->cols[i].avro_name);
		free(ts->cols[i].missing);
	}
	free(ts->cols);
	free(ts->nspname);
	free(ts->relname);
	free(ts->value_json);
	free(ts->key_json);
	free(ts);
}
