/* config.c: loads cleave.yaml (SPEC.md §2) into struct cleave_config with libyaml's document API.
 *
 * The schema is data: one table of keys per section (cfg_*_keys below), each key with a type and the
 * offset in the struct where its value goes. One walker checks every node against its key (unknown and
 * duplicate keys, wrong types, ranges, missing required keys), expands ${NAME} and stores the value.
 * Checks that span several keys run as hooks: a section's post hook once all of its keys are read
 * (sinks: dsn against type, repeated mappings; mappings: renames against the projection) and the root's
 * once the whole file is (duplicate sink names, mappings of tables the source does not publish).
 * Every error is "FILE:LINE: key.path: what is wrong", LINE 1-based, of the offending node.
 * A dsn is only ever quoted through dsn_redact(). Talks to nobody: a file in, a struct out. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "common/buf.h"
#include "config/dsn.h"

#define CFG_PATH_MAX 256    /* "sinks[12].mappings[3].rename" and the like */
#define CFG_MAX_KEYS 16     /* keys per section */
#define CFG_ENV_NAME_MAX 128
#define CFG_ECHO "%.80s"    /* values quoted in errors are cut, so one line stays one line */

/* enums are written through an int (CT_ENUM) */
_Static_assert(sizeof(enum cfg_sink_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_on_error) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_snapshot) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");

struct cfg_loader {
	const char *file;
	yaml_document_t *doc;
	struct cerr *err;
	const struct cleave_config *cfg;
};

enum cfg_type {
	CT_STRING,    /* char *, never empty */
	CT_BOOL,      /* bool: true | false */
	CT_INT,       /* int within [min, max] */
	CT_ENUM,      /* an enum (stored as int) named by one of names[] */
	CT_STRLIST,   /* char ** and a size_t count at count_off; distinct, never empty */
	CT_TABLE,     /* struct cfg_table from "table" or "schema.table" */
	CT_TABLELIST, /* struct cfg_table * and a size_t count at count_off; distinct, never empty */
	CT_MAP,       /* struct cfg_kv * and a size_t count: a flat mapping of scalars, values kept as text */
	CT_SECTION,   /* a nested mapping whose keys fill the struct at off */
	CT_RECORDS,   /* a list of mappings, each filling one element of an array (sub->size bytes each) */
};

struct cfg_name {
	const char *name;
	int value;
};

struct cfg_section;

struct cfg_key {
	const char *name;
	enum cfg_type type;
	bool required;
	size_t off;       /* from the base of the struct the section fills */
	size_t count_off; /* lists, maps, records */
	int min, max;     /* CT_INT */
	const struct cfg_name *names;   /* CT_ENUM, ended by {NULL} */
	const struct cfg_section *sub;  /* CT_SECTION, CT_RECORDS */
	/* CT_STRING: more checks on the value; returns 0, or -1 after cfg_fail() */
	int (*check)(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *value);
};

struct cfg_section {
	const struct cfg_key *keys;
	size_t nkeys;
	size_t size;     /* CT_RECORDS: bytes per element */
	size_t line_off; /* CT_RECORDS: where the element's int line goes */
	void (*init)(void *elem); /* CT_RECORDS: defaults, before the keys are read */
	/* after all keys are read and the required ones found; node is the section's mapping */
	int (*post)(struct cfg_loader *ld, const yaml_node_t *node, const char *path, void *base);
};

#define CFG_AT(base, off, type) ((type *)(void *)((char *)(base) + (off)))

/* ---- errors ---- */

static int cfg_line(const yaml_node_t *node)
{
	return node ? (int)node->start_mark.line + 1 : 1;
}

__attribute__((format(printf, 4, 5)))
static int cfg_fail(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *fmt, ...)
{
	char msg[CERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (path && *path)
		return cerr_set(ld->err, false, "%s:%d: %s: %s", ld->file, cfg_line(node), path, msg);
	return cerr_set(ld->err, false, "%s:%d: %s", ld->file, cfg_line(node), msg);
}

static int cfg_oom(struct cfg_loader *ld, const yaml_node_t *node, const char *path)
{
	return cfg_fail(ld, node, path, "out of memory");
}

/* "a.b" + "c" -> "a.b.c"; "" + "c" -> "c"; cut (never overflowing) past CFG_PATH_MAX */
static void cfg_path_key(char *out, const char *path, const char *key)
{
	if (snprintf(out, CFG_PATH_MAX, "%s%s%s", path, *path ? "." : "", key) >= CFG_PATH_MAX)
		out[CFG_PATH_MAX - 1] = '\0'; /* cut: only ever printed */
}

static void cfg_path_index(char *out, const char *path, size_t i)
{
	if (snprintf(out, CFG_PATH_MAX, "%s[%zu]", path, i) >= CFG_PATH_MAX)
		out[CFG_PATH_MAX - 1] = '\0'; /* cut: only ever printed */
}

/* "a, b or c" */
static void cfg_join(char *out, size_t outlen, const char *const *names, size_t n, const char *last_sep)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? last_sep : ", ";
		int w = snprintf(out + len, outlen - len, "%s%s", sep, names[i]);

		if (w < 0 || (size_t)w >= outlen - len)
			break;
		len += (size_t)w;
	}
}

/* ---- nodes ---- */

static const yaml_node_t *cfg_node(struct cfg_loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

static const char *cfg_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static const char *cfg_scalar_value(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* YAML's null: a plain empty scalar, ~, null. A key whose value is null counts as not given. */
static bool cfg_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = cfg_scalar_value(n);
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

static size_t cfg_nitems(const yaml_node_t *seq)
{
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

static const yaml_node_t *cfg_item(struct cfg_loader *ld, const yaml_node_t *seq, size_t i)
{
	return cfg_node(ld, seq->data.sequence.items.start[i]);
}

static size_t cfg_npairs(const yaml_node_t *map)
{
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

/* The value node of key in a mapping already checked by cfg_check_keys (so keys are scalars), or NULL.
 * *keynode (if asked for) gets the key's node. */
static const yaml_node_t *cfg_map_get(struct cfg_loader *ld, const yaml_node_t *map, const char *key,
				      const yaml_node_t **keynode)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (size_t i = 0; i < cfg_npairs(map); i++) {
		const yaml_node_pair_t *pair = &map->data.mapping.pairs.start[i];
		const yaml_node_t *k = cfg_node(ld, pair->key);

		if (k->type == YAML_SCALAR_NODE && strcmp(cfg_scalar_value(k), key) == 0) {
			if (keynode)
				*keynode = k;
			return cfg_node(ld, pair->value);
		}
	}
	return NULL;
}

/* Keys must be scalars, and each may appear once. */
static int cfg_check_keys(struct cfg_loader *ld, const yaml_node_t *map, const char *path)
{
	char sub[CFG_PATH_MAX];

	for (size_t i = 0; i < cfg_npairs(map); i++) {
		const yaml_node_t *k = cfg_node(ld, map->data.mapping.pairs.start[i].key);

		if (k->type != YAML_SCALAR_NODE)
			return cfg_fail(ld, k, path, "expected a plain key, got %s", cfg_kind(k));
		for (size_t j = 0; j < i; j++) {
			const yaml_node_t *kj = cfg_node(ld, map->data.mapping.pairs.start[j].key);

			if (strcmp(cfg_scalar_value(k), cfg_scalar_value(kj)) == 0) {
				cfg_path_key(sub, path, cfg_scalar_value(k));
				return cfg_fail(ld, k, sub, "duplicate key (first at line %d)", cfg_line(kj));
			}
		}
	}
	return 0;
}

/* ---- scalars ---- */

static bool cfg_env_name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CFG_ENV_NAME_MAX || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

/* The scalar's text with ${NAME} replaced from the environment, in a new string (*out, caller frees).
 * "$${" is an escape for a literal "${"; any other '$' is kept as it is ("a$b", "a$$b", "$"). */
static int cfg_expand(struct cfg_loader *ld, const yaml_node_t *node, const char *path, char **out)
{
	const char *s = cfg_scalar_value(node);
	size_t n = node->data.scalar.length, i = 0;
	struct buf b;
	int rc = -1;

	*out = NULL;
	buf_init(&b, 0);
	if (strlen(s) != n) {
		cfg_fail(ld, node, path, "contains a NUL character");
		goto cleanup;
	}
	while (i < n) {
		/* s[n] is NUL, so s[i + 1] and (when s[i + 1] is not NUL) s[i + 2] are readable */
		if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] == '{') {
			if (buf_puts(&b, "${") < 0)
				goto nomem;
			i += 3;
		} else if (s[i] == '$' && s[i + 1] == '{') {
			const char *name = s + i + 2, *close = strchr(name, '}');
			char var[CFG_ENV_NAME_MAX];
			const char *val;
			size_t len;

			if (!close) {
				cfg_fail(ld, node, path, "'${' without a closing '}'");
				goto cleanup;
			}
			len = (size_t)(close - name);
			if (!cfg_env_name_ok(name, len)) {
				cfg_fail(ld, node, path, "bad environment variable name in ${...}: "
					 "use letters, digits and _ (write $${ for a literal ${)");
				goto cleanup;
			}
			memcpy(var, name, len);
			var[len] = '\0';
			val = getenv(var);
			if (!val) {
				cfg_fail(ld, node, path, "environment variable %s is not set", var);
				goto cleanup;
			}
			if (buf_puts(&b, val) < 0)
				goto nomem;
			i += len + 3;
		} else {
			if (buf_putc(&b, (uint8_t)s[i]) < 0)
				goto nomem;
			i++;
		}
	}
	*out = b.data ? (char *)b.data : strdup("");
	if (!*out)
		goto nomem;
	b.data = NULL;
	rc = 0;
	goto cleanup;
nomem:
	cfg_oom(ld, node, path);
cleanup:
	buf_free(&b);
	return rc;
}

/* A scalar's expanded text (caller frees); what says what was expected when the node is no scalar. */
static int cfg_scalar(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *what,
		      char **out)
{
	*out = NULL;
	if (node->type != YAML_SCALAR_NODE)
		return cfg_fail(ld, node, path, "expected %s, got %s", what, cfg_kind(node));
	return cfg_expand(ld, node, path, out);
}

static bool cfg_word_ok(const char *s, size_t n, const char *extra)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && !(extra && strchr(extra, s[i])))
			return false;
	}
	return true;
}

/* "users" -> public.users; "sch.tab" splits at the first dot. Names are kept as written (no case folding);
 * quoted identifiers are not supported, so each part is letters, digits and _. */
static int cfg_parse_table(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *text,
			   struct cfg_table *out)
{
	const char *dot = strchr(text, '.');
	const char *schema = dot ? text : "public", *name = dot ? dot + 1 : text;
	size_t slen = dot ? (size_t)(dot - text) : strlen("public");

	if (!cfg_word_ok(schema, slen, NULL) || !cfg_word_ok(name, strlen(name), NULL))
		return cfg_fail(ld, node, path, "'" CFG_ECHO "' is not a table name: write table or schema.table, "
				"with letters, digits and _", text);
	out->schema = strndup(schema, slen);
	out->name = strdup(name);
	if (!out->schema || !out->name)
		return cfg_oom(ld, node, path);
	return 0;
}

static bool cfg_table_eq(const struct cfg_table *a, const struct cfg_table *b)
{
	return strcmp(a->schema, b->schema) == 0 && strcmp(a->name, b->name) == 0;
}

/* ---- values, by type ---- */

static int cfg_read_section(struct cfg_loader *ld, const struct cfg_section *sec, const yaml_node_t *node,
			    const char *path, void *base);

static int cfg_read_string(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			   const char *path, void *base)
{
	char **dst = CFG_AT(base, key->off, char *);
	char *s;

	if (cfg_scalar(ld, node, path, "a string", &s) < 0)
		return -1;
	if (!*s) {
		free(s);
		return cfg_fail(ld, node, path, "must not be empty");
	}
	if (key->check && key->check(ld, node, path, s) < 0) {
		free(s);
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int cfg_read_bool(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			 const char *path, void *base)
{
	static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
	bool *dst = CFG_AT(base, key->off, bool);
	char *s;
	int rc = -1;

	if (cfg_scalar(ld, node, path, "true or false", &s) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*dst = strcmp(s, yes[i]) == 0;
			rc = 0;
		}
	}
	if (rc < 0)
		cfg_fail(ld, node, path, "expected true or false, got '" CFG_ECHO "'", s);
	free(s);
	return rc;
}

static int cfg_read_int(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			const char *path, void *base)
{
	int *dst = CFG_AT(base, key->off, int);
	const char *p;
	char *s, *end;
	long v;
	int rc = -1;

	if (cfg_scalar(ld, node, path, "an integer", &s) < 0)
		return -1;
	p = s[0] == '-' ? s + 1 : s;
	if (!isdigit((unsigned char)p[0])) {
		cfg_fail(ld, node, path, "expected an integer, got '" CFG_ECHO "'", s);
		goto cleanup;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end) {
		cfg_fail(ld, node, path, "expected an integer, got '" CFG_ECHO "'", s);
		goto cleanup;
	}
	if (errno == ERANGE || v < key->min || v > key->max) {
		cfg_fail(ld, node, path, "must be between %d and %d, got " CFG_ECHO, key->min, key->max, s);
		goto cleanup;
	}
	*dst = (int)v;
	rc = 0;
cleanup:
	free(s);
	return rc;
}

static int cfg_read_enum(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			 const char *path, void *base)
{
	const char *names[CFG_MAX_KEYS];
	char expected[256];
	size_t n = 0;
	char *s;

	if (cfg_scalar(ld, node, path, "a name", &s) < 0)
		return -1;
	for (const struct cfg_name *e = key->names; e->name; e++) {
		if (strcmp(s, e->name) == 0) {
			*CFG_AT(base, key->off, int) = e->value;
			free(s);
			return 0;
		}
		if (n < CFG_MAX_KEYS)
			names[n++] = e->name;
	}
	cfg_join(expected, sizeof expected, names, n, " or ");
	cfg_fail(ld, node, path, "expected %s, got '" CFG_ECHO "'", expected, s);
	free(s);
	return -1;
}

static int cfg_read_strlist(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			    const char *path, void *base)
{
	char ***dst = CFG_AT(base, key->off, char **);
	size_t *count = CFG_AT(base, key->count_off, size_t);
	char sub[CFG_PATH_MAX];
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ld, node, path, "expected a list, got %s", cfg_kind(node));
	n = cfg_nitems(node);
	if (n == 0)
		return cfg_fail(ld, node, path, "must not be empty");
	*dst = calloc(n, sizeof **dst);
	if (!*dst)
		return cfg_oom(ld, node, path);
	*count = n;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = cfg_item(ld, node, i);
		char *s;

		cfg_path_index(sub, path, i);
		if (cfg_is_null(item))
			return cfg_fail(ld, item, sub, "has no value");
		if (cfg_scalar(ld, item, sub, "a string", &s) < 0)
			return -1;
		(*dst)[i] = s;
		if (!*s)
			return cfg_fail(ld, item, sub, "must not be empty");
		for (size_t j = 0; j < i; j++) {
			if (strcmp((*dst)[j], s) == 0)
				return cfg_fail(ld, item, sub, "duplicate '" CFG_ECHO "' (also %s[%zu])", s, key->name, j);
		}
	}
	return 0;
}

static int cfg_read_table(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			  const char *path, void *base)
{
	struct cfg_table *dst = CFG_AT(base, key->off, struct cfg_table);
	char *s;
	int rc;

	if (cfg_scalar(ld, node, path, "a table name", &s) < 0)
		return -1;
	free(dst->schema);
	free(dst->name);
	dst->schema = dst->name = NULL;
	rc = cfg_parse_table(ld, node, path, s, dst);
	free(s);
	return rc;
}

static int cfg_read_tablelist(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			      const char *path, void *base)
{
	struct cfg_table **dst = CFG_AT(base, key->off, struct cfg_table *);
	size_t *count = CFG_AT(base, key->count_off, size_t);
	char sub[CFG_PATH_MAX];
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ld, node, path, "expected a list of tables, got %s", cfg_kind(node));
	n = cfg_nitems(node);
	if (n == 0)
		return cfg_fail(ld, node, path, "must list at least one table");
	*dst = calloc(n, sizeof **dst);
	if (!*dst)
		return cfg_oom(ld, node, path);
	*count = n;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = cfg_item(ld, node, i);
		char *s;
		int rc;

		cfg_path_index(sub, path, i);
		if (cfg_is_null(item))
			return cfg_fail(ld, item, sub, "has no value");
		if (cfg_scalar(ld, item, sub, "a table name", &s) < 0)
			return -1;
		rc = cfg_parse_table(ld, item, sub, s, &(*dst)[i]);
		free(s);
		if (rc < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (cfg_table_eq(&(*dst)[j], &(*dst)[i]))
				return cfg_fail(ld, item, sub, "duplicate table %s.%s (also %s[%zu])", (*dst)[i].schema,
						(*dst)[i].name, key->name, j);
		}
	}
	return 0;
}

static int cfg_read_map(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			const char *path, void *base)
{
	struct cfg_kv **dst = CFG_AT(base, key->off, struct cfg_kv *);
	size_t *count = CFG_AT(base, key->count_off, size_t);
	char sub[CFG_PATH_MAX];
	size_t n;

	if (node->type != YAML_MAPPING_NODE)
		return cfg_fail(ld, node, path, "expected a mapping, got %s", cfg_kind(node));
	if (cfg_check_keys(ld, node, path) < 0)
		return -1;
	n = cfg_npairs(node);
	if (n == 0)
		return 0;
	*dst = calloc(n, sizeof **dst);
	if (!*dst)
		return cfg_oom(ld, node, path);
	*count = n;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *k = cfg_node(ld, node->data.mapping.pairs.start[i].key);
		const yaml_node_t *v = cfg_node(ld, node->data.mapping.pairs.start[i].value);

		cfg_path_key(sub, path, cfg_scalar_value(k));
		if (!*cfg_scalar_value(k))
			return cfg_fail(ld, k, path, "empty key");
		(*dst)[i].key = strdup(cfg_scalar_value(k));
		if (!(*dst)[i].key)
			return cfg_oom(ld, k, sub);
		if (v->type == YAML_SCALAR_NODE && cfg_is_null(v))
			return cfg_fail(ld, v, sub, "has no value");
		if (cfg_scalar(ld, v, sub, "a string, number or boolean", &(*dst)[i].value) < 0)
			return -1;
	}
	return 0;
}

static int cfg_read_records(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			    const char *path, void *base)
{
	const struct cfg_section *sec = key->sub;
	void **dst = CFG_AT(base, key->off, void *);
	size_t *count = CFG_AT(base, key->count_off, size_t);
	char sub[CFG_PATH_MAX];
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ld, node, path, "expected a list, got %s", cfg_kind(node));
	n = cfg_nitems(node);
	if (n == 0)
		return cfg_fail(ld, node, path, "must not be empty");
	*dst = calloc(n, sec->size);
	if (!*dst)
		return cfg_oom(ld, node, path);
	*count = n;
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = cfg_item(ld, node, i);
		void *elem = (char *)*dst + i * sec->size;

		cfg_path_index(sub, path, i);
		if (sec->init)
			sec->init(elem);
		*CFG_AT(elem, sec->line_off, int) = cfg_line(item);
		if (cfg_read_section(ld, sec, item, sub, elem) < 0)
			return -1;
	}
	return 0;
}

static int cfg_read_value(struct cfg_loader *ld, const struct cfg_key *key, const yaml_node_t *node,
			  const char *path, void *base)
{
	switch (key->type) {
	case CT_STRING:
		return cfg_read_string(ld, key, node, path, base);
	case CT_BOOL:
		return cfg_read_bool(ld, key, node, path, base);
	case CT_INT:
		return cfg_read_int(ld, key, node, path, base);
	case CT_ENUM:
		return cfg_read_enum(ld, key, node, path, base);
	case CT_STRLIST:
		return cfg_read_strlist(ld, key, node, path, base);
	case CT_TABLE:
		return cfg_read_table(ld, key, node, path, base);
	case CT_TABLELIST:
		return cfg_read_tablelist(ld, key, node, path, base);
	case CT_MAP:
		return cfg_read_map(ld, key, node, path, base);
	case CT_SECTION:
		return cfg_read_section(ld, key->sub, node, path, (char *)base + key->off);
	case CT_RECORDS:
		return cfg_read_records(ld, key, node, path, base);
	}
	return cfg_fail(ld, node, path, "internal error: unknown key type");
}

/* Reads a mapping against a section's key table into base. */
static int cfg_read_section(struct cfg_loader *ld, const struct cfg_section *sec, const yaml_node_t *node,
			    const char *path, void *base)
{
	const yaml_node_t *found[CFG_MAX_KEYS] = {0};
	char sub[CFG_PATH_MAX];

	if (sec->nkeys > CFG_MAX_KEYS)
		return cfg_fail(ld, node, path, "internal error: more than %d keys in a section", CFG_MAX_KEYS);
	if (node->type != YAML_MAPPING_NODE)
		return cfg_fail(ld, node, path, "expected a mapping, got %s", cfg_kind(node));
	if (cfg_check_keys(ld, node, path) < 0)
		return -1;
	for (size_t i = 0; i < cfg_npairs(node); i++) {
		const yaml_node_t *k = cfg_node(ld, node->data.mapping.pairs.start[i].key);
		const yaml_node_t *v = cfg_node(ld, node->data.mapping.pairs.start[i].value);
		size_t idx;

		cfg_path_key(sub, path, cfg_scalar_value(k));
		for (idx = 0; idx < sec->nkeys; idx++) {
			if (strcmp(sec->keys[idx].name, cfg_scalar_value(k)) == 0)
				break;
		}
		if (idx == sec->nkeys) {
			const char *names[CFG_MAX_KEYS];
			char known[512];

			for (size_t j = 0; j < sec->nkeys; j++)
				names[j] = sec->keys[j].name;
			cfg_join(known, sizeof known, names, sec->nkeys, ", ");
			return cfg_fail(ld, k, sub, "unknown key (known keys here: %s)", known);
		}
		found[idx] = v;
		if (cfg_is_null(v))
			continue;
		if (cfg_read_value(ld, &sec->keys[idx], v, sub, base) < 0)
			return -1;
	}
	for (size_t idx = 0; idx < sec->nkeys; idx++) {
		if (!sec->keys[idx].required)
			continue;
		cfg_path_key(sub, path, sec->keys[idx].name);
		if (!found[idx])
			return cfg_fail(ld, node, sub, "required key is missing");
		if (cfg_is_null(found[idx]))
			return cfg_fail(ld, found[idx], sub, "required key has no value");
	}
	return sec->post ? sec->post(ld, node, path, base) : 0;
}

/* ---- checks of single values ---- */

static bool cfg_is_mysql_url(const char *dsn)
{
	return strncasecmp(dsn, "mysql://", 8) == 0 || strncasecmp(dsn, "mariadb://", 10) == 0;
}

/* ": 'mysql://u:***@h/db'" for an error about a MySQL URL, or "" when the URL does not parse: a DSN
 * is quoted (redacted) only when it was understood, since in a mangled one ("mysql://u:pw:h/db") no
 * redaction can tell where the password is. */
static const char *cfg_quote_mysql_url(const char *dsn, char *out, size_t outlen)
{
	struct dsn_mysql my;
	struct cerr e = {0};
	char shown[512];

	out[0] = '\0';
	if (dsn_parse_mysql_url(dsn, &my, &e) < 0)
		return out;
	dsn_mysql_free(&my);
	dsn_redact(dsn, shown, sizeof shown);
	snprintf(out, outlen, ": '%s'", shown);
	return out;
}

static int cfg_check_source_dsn(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *v)
{
	char quoted[600];

	if (!cfg_is_mysql_url(v))
		return 0;
	return cfg_fail(ld, node, path, "the source must be PostgreSQL, not a MySQL URL%s",
			cfg_quote_mysql_url(v, quoted, sizeof quoted));
}

/* PostgreSQL names cleave writes unquoted: 1 to 63 of a-z, 0-9, _ */
static int cfg_check_pg_name(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *v,
			     const char *what)
{
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) && v[i] != '_')
			n = 0;
	}
	if (n == 0 || n > 63)
		return cfg_fail(ld, node, path, "'" CFG_ECHO "' is not a valid %s name: use 1 to 63 characters "
				"from a-z, 0-9 and _", v, what);
	return 0;
}

static int cfg_check_slot(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *v)
{
	return cfg_check_pg_name(ld, node, path, v, "replication slot");
}

static int cfg_check_publication(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *v)
{
	return cfg_check_pg_name(ld, node, path, v, "publication");
}

/* Kafka topic characters: the prefix and sink names become parts of topic names (<prefix>.dlq.<sink>). */
static int cfg_check_topic_part(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *v)
{
	if (!cfg_word_ok(v, strlen(v), ".-") || strlen(v) > 200)
		return cfg_fail(ld, node, path, "'" CFG_ECHO "' may only hold letters, digits, '.', '_' and '-' "
				"(at most 200)", v);
	return 0;
}

static int cfg_check_listen(struct cfg_loader *ld, const yaml_node_t *node, const char *path, const char *v)
{
	const char *colon = strrchr(v, ':');
	long port = 0;

	if (colon && colon[1]) {
		for (const char *p = colon + 1; *p && port <= 65535; p++)
			port = isdigit((unsigned char)*p) ? port * 10 + (*p - '0') : 65536;
	}
	if (port < 1 || port > 65535)
		return cfg_fail(ld, node, path, "expected HOST:PORT (like 127.0.0.1:9187), got '" CFG_ECHO "'", v);
	return 0;
}

/* ---- checks that span keys ---- */

static void cfg_sink_init(void *elem)
{
	struct cfg_sink *s = elem;

	s->create_tables = false;
	s->on_error = CFG_ON_ERROR_DLQ;
	s->batch_size = 5000;
	s->batch_ms = 100;
	s->apply_connections = 2;
}

/* target defaults to the source table's name; renames must name projected columns and must not make two
 * columns one. */
static int cfg_mapping_post(struct cfg_loader *ld, const yaml_node_t *node, const char *path, void *base)
{
	struct cfg_mapping *m = base;
	const yaml_node_t *rnode = cfg_map_get(ld, node, "rename", NULL);
	char sub[CFG_PATH_MAX];

	if (!m->target) {
		m->target = strdup(m->source.name);
		if (!m->target)
			return cfg_oom(ld, node, path);
	}
	cfg_path_key(sub, path, "rename");
	for (size_t i = 0; i < m->nrename; i++) {
		const yaml_node_t *k = cfg_node(ld, rnode->data.mapping.pairs.start[i].key);
		const yaml_node_t *v = cfg_node(ld, rnode->data.mapping.pairs.start[i].value);
		bool projected = m->ncolumns == 0;

		if (!*m->rename[i].value)
			return cfg_fail(ld, v, sub, "column %s is renamed to an empty name", m->rename[i].key);
		for (size_t c = 0; c < m->ncolumns; c++)
			projected = projected || strcmp(m->columns[c], m->rename[i].key) == 0;
		if (!projected)
			return cfg_fail(ld, k, sub, "column %s is not in columns", m->rename[i].key);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(m->rename[j].value, m->rename[i].value) == 0)
				return cfg_fail(ld, v, sub, "columns %s and %s are both renamed to %s", m->rename[j].key,
						m->rename[i].key, m->rename[i].value);
		}
		/* a projected column that keeps its name must not be what another one is renamed to */
		for (size_t c = 0; c < m->ncolumns; c++) {
			bool renamed = false;

			for (size_t j = 0; j < m->nrename; j++)
				renamed = renamed || strcmp(m->rename[j].key, m->columns[c]) == 0;
			if (!renamed && strcmp(m->columns[c], m->rename[i].value) == 0)
				return cfg_fail(ld, v, sub, "column %s is renamed to %s, which is already a column",
						m->rename[i].key, m->rename[i].value);
		}
	}
	return 0;
}

/* the dsn must suit the type; one mapping per source table and per target table */
static int cfg_sink_post(struct cfg_loader *ld, const yaml_node_t *node, const char *path, void *base)
{
	struct cfg_sink *s = base;
	const yaml_node_t *dnode = cfg_map_get(ld, node, "dsn", NULL);
	const yaml_node_t *mnode = cfg_map_get(ld, node, "mappings", NULL);
	char sub[CFG_PATH_MAX], quoted[600];

	cfg_path_key(sub, path, "dsn");
	if (s->type == CFG_SINK_MYSQL) {
		struct dsn_mysql my;
		struct cerr e = {0};
		bool nodb;

		if (dsn_parse_mysql_url(s->dsn, &my, &e) < 0)
			return cfg_fail(ld, dnode, sub, "%s", e.msg); /* never quoted: see cfg_quote_mysql_url */
		nodb = !my.database;
		dsn_mysql_free(&my);
		if (nodb)
			return cfg_fail(ld, dnode, sub, "the URL names no database%s",
					cfg_quote_mysql_url(s->dsn, quoted, sizeof quoted));
	} else if (cfg_is_mysql_url(s->dsn)) {
		return cfg_fail(ld, dnode, sub, "a MySQL URL for a postgres sink%s",
				cfg_quote_mysql_url(s->dsn, quoted, sizeof quoted));
	}
	for (size_t i = 0; i < s->nmappings; i++) {
		const yaml_node_t *mi = cfg_item(ld, mnode, i);

		for (size_t j = 0; j < i; j++) {
			const struct cfg_mapping *a = &s->mappings[j], *b = &s->mappings[i];
			const yaml_node_t *tnode = cfg_map_get(ld, mi, "target", NULL);

			if (cfg_table_eq(&a->source, &b->source)) {
				snprintf(sub, sizeof sub, "%s.mappings[%zu].source", path, i);
				return cfg_fail(ld, cfg_map_get(ld, mi, "source", NULL), sub,
						"%s.%s is already mapped by mappings[%zu] (line %d)", b->source.schema,
						b->source.name, j, a->line);
			}
			if (strcmp(a->target, b->target) == 0) {
				snprintf(sub, sizeof sub, "%s.mappings[%zu].target", path, i);
				return cfg_fail(ld, tnode ? tnode : mi, sub,
						"mappings[%zu] (line %d) already writes to table %s", j, a->line, b->target);
			}
		}
	}
	return 0;
}

static int cfg_kafka_post(struct cfg_loader *ld, const yaml_node_t *node, const char *path, void *base)
{
	static const char *const owned[] = {"bootstrap.servers", "metadata.broker.list"};
	const yaml_node_t *pnode = cfg_map_get(ld, node, "properties", NULL);
	char sub[CFG_PATH_MAX];

	(void)base;
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
		const yaml_node_t *k = NULL;

		if (cfg_map_get(ld, pnode, owned[i], &k)) {
			snprintf(sub, sizeof sub, "%s.properties.%s", path, owned[i]);
			return cfg_fail(ld, k, sub, "set kafka.brokers instead");
		}
	}
	return 0;
}

/* After the whole file: sink names are unique, and sinks map only tables the source publishes. */
static int cfg_root_post(struct cfg_loader *ld, const yaml_node_t *node, const char *path, void *base)
{
	const struct cleave_config *cfg = base;
	const yaml_node_t *snode = cfg_map_get(ld, node, "sinks", NULL);
	char sub[CFG_PATH_MAX];

	(void)path;
	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct cfg_sink *s = &cfg->sinks[i];
		const yaml_node_t *si = cfg_item(ld, snode, i);
		const yaml_node_t *mnode = cfg_map_get(ld, si, "mappings", NULL);

		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->sinks[j].name, s->name) == 0) {
				const yaml_node_t *first = cfg_map_get(ld, cfg_item(ld, snode, j), "name", NULL);

				snprintf(sub, sizeof sub, "sinks[%zu].name", i);
				return cfg_fail(ld, cfg_map_get(ld, si, "name", NULL), sub,
						"duplicate sink name '%s' (first at line %d)", s->name, cfg_line(first));
			}
		}
		for (size_t m = 0; m < s->nmappings; m++) {
			const struct cfg_table *t = &s->mappings[m].source;
			bool published = false;

			for (size_t k = 0; k < cfg->source.ntables; k++)
				published = published || cfg_table_eq(&cfg->source.tables[k], t);
			if (!published) {
				snprintf(sub, sizeof sub, "sinks[%zu].mappings[%zu].source", i, m);
				return cfg_fail(ld, cfg_map_get(ld, cfg_item(ld, mnode, m), "source", NULL), sub,
						"%s.%s is not in source.tables", t->schema, t->name);
			}
		}
	}
	return 0;
}

/* ---- the schema ---- */

#define KEYS(a) .keys = (a), .nkeys = sizeof(a) / sizeof((a)[0])
#define CFG_OFF(m) offsetof(struct cleave_config, m)
#define SINK_OFF(m) offsetof(struct cfg_sink, m)
#define MAP_OFF(m) offsetof(struct cfg_mapping, m)

static const struct cfg_name cfg_snapshot_names[] = {
	{"initial", CFG_SNAPSHOT_INITIAL}, {"never", CFG_SNAPSHOT_NEVER}, {NULL, 0}};
static const struct cfg_name cfg_sink_type_names[] = {
	{"postgres", CFG_SINK_POSTGRES}, {"mysql", CFG_SINK_MYSQL}, {NULL, 0}};
static const struct cfg_name cfg_on_error_names[] = {
	{"dlq", CFG_ON_ERROR_DLQ}, {"stop", CFG_ON_ERROR_STOP}, {NULL, 0}};
static const struct cfg_name cfg_log_level_names[] = {
	{"error", LOG_ERROR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}, {NULL, 0}};

static const struct cfg_key cfg_source_keys[] = {
	{.name = "dsn", .type = CT_STRING, .required = true, .off = CFG_OFF(source.dsn),
	 .check = cfg_check_source_dsn},
	{.name = "slot", .type = CT_STRING, .off = CFG_OFF(source.slot), .check = cfg_check_slot},
	{.name = "publication", .type = CT_STRING, .off = CFG_OFF(source.publication),
	 .check = cfg_check_publication},
	{.name = "tables", .type = CT_TABLELIST, .required = true, .off = CFG_OFF(source.tables),
	 .count_off = CFG_OFF(source.ntables)},
	{.name = "snapshot", .type = CT_ENUM, .off = CFG_OFF(source.snapshot), .names = cfg_snapshot_names},
	{.name = "status_interval_ms", .type = CT_INT, .off = CFG_OFF(source.status_interval_ms), .min = 100,
	 .max = 600000},
};
static const struct cfg_section cfg_source_section = {KEYS(cfg_source_keys)};

static const struct cfg_key cfg_kafka_keys[] = {
	{.name = "brokers", .type = CT_STRING, .required = true, .off = CFG_OFF(kafka.brokers)},
	{.name = "topic_prefix", .type = CT_STRING, .required = true, .off = CFG_OFF(kafka.topic_prefix),
	 .check = cfg_check_topic_part},
	{.name = "properties", .type = CT_MAP, .off = CFG_OFF(kafka.properties),
	 .count_off = CFG_OFF(kafka.nproperties)},
};
static const struct cfg_section cfg_kafka_section = {KEYS(cfg_kafka_keys), .post = cfg_kafka_post};

static const struct cfg_key cfg_mapping_keys[] = {
	{.name = "source", .type = CT_TABLE, .required = true, .off = MAP_OFF(source)},
	{.name = "target", .type = CT_STRING, .off = MAP_OFF(target)},
	{.name = "columns", .type = CT_STRLIST, .off = MAP_OFF(columns), .count_off = MAP_OFF(ncolumns)},
	{.name = "rename", .type = CT_MAP, .off = MAP_OFF(rename), .count_off = MAP_OFF(nrename)},
};
static const struct cfg_section cfg_mapping_section = {
	KEYS(cfg_mapping_keys), .size = sizeof(struct cfg_mapping), .line_off = MAP_OFF(line),
	.post = cfg_mapping_post};

static const struct cfg_key cfg_sink_keys[] = {
	{.name = "name", .type = CT_STRING, .required = true, .off = SINK_OFF(name), .check = cfg_check_topic_part},
	{.name = "type", .type = CT_ENUM, .required = true, .off = SINK_OFF(type), .names = cfg_sink_type_names},
	{.name = "dsn", .type = CT_STRING, .required = true, .off = SINK_OFF(dsn)},
	{.name = "create_tables", .type = CT_BOOL, .off = SINK_OFF(create_tables)},
	{.name = "on_error", .type = CT_ENUM, .off = SINK_OFF(on_error), .names = cfg_on_error_names},
	{.name = "batch_size", .type = CT_INT, .off = SINK_OFF(batch_size), .min = 1, .max = 1000000},
	{.name = "batch_ms", .type = CT_INT, .off = SINK_OFF(batch_ms), .min = 1, .max = 600000},
	{.name = "apply_connections", .type = CT_INT, .off = SINK_OFF(apply_connections), .min = 1, .max = CFG_SINK_LANES_MAX},
	{.name = "mappings", .type = CT_RECORDS, .required = true, .off = SINK_OFF(mappings),
	 .count_off = SINK_OFF(nmappings), .sub = &cfg_mapping_section},
};
static const struct cfg_section cfg_sink_section = {
	KEYS(cfg_sink_keys), .size = sizeof(struct cfg_sink), .line_off = SINK_OFF(line), .init = cfg_sink_init,
	.post = cfg_sink_post};

static const struct cfg_key cfg_metrics_keys[] = {
	{.name = "listen", .type = CT_STRING, .off = CFG_OFF(metrics.listen), .check = cfg_check_listen},
};
static const struct cfg_section cfg_metrics_section = {KEYS(cfg_metrics_keys)};

static const struct cfg_key cfg_log_keys[] = {
	{.name = "level", .type = CT_ENUM, .off = CFG_OFF(log.level), .names = cfg_log_level_names},
};
static const struct cfg_section cfg_log_section = {KEYS(cfg_log_keys)};

/* the sections' keys are offsets from struct cleave_config itself, so CT_SECTION's off is 0 */
static const struct cfg_key cfg_root_keys[] = {
	{.name = "source", .type = CT_SECTION, .required = true, .sub = &cfg_source_section},
	{.name = "kafka", .type = CT_SECTION, .required = true, .sub = &cfg_kafka_section},
	{.name = "sinks", .type = CT_RECORDS, .off = CFG_OFF(sinks), .count_off = CFG_OFF(nsinks),
	 .sub = &cfg_sink_section},
	{.name = "metrics", .type = CT_SECTION, .sub = &cfg_metrics_section},
	{.name = "log", .type = CT_SECTION, .sub = &cfg_log_section},
};
static const struct cfg_section cfg_root_section = {KEYS(cfg_root_keys), .post = cfg_root_post};

/* ---- loading ---- */

/* libyaml's reader errors carry a byte offset, not a line: count the newlines before it. */
static size_t cfg_line_of_offset(FILE *f, size_t offset)
{
	size_t line = 1;
	int c;

	rewind(f);
	for (size_t i = 0; i < offset && (c = getc(f)) != EOF; i++)
		line += c == '\n';
	return line;
}

static void cfg_yaml_error(const yaml_parser_t *p, const char *path, FILE *f, struct cerr *err)
{
	const char *problem = p->problem ? p->problem : "out of memory";

	if (p->error == YAML_READER_ERROR)
		cerr_set(err, false, "%s:%zu: YAML error: %s", path, cfg_line_of_offset(f, p->problem_offset), problem);
	else if (p->context)
		cerr_set(err, false, "%s:%zu: YAML syntax error: %s (%s at line %zu)", path, p->problem_mark.line + 1,
			 problem, p->context, p->context_mark.line + 1);
	else
		cerr_set(err, false, "%s:%zu: YAML syntax error: %s", path, p->problem_mark.line + 1, problem);
}

static struct cleave_config *cfg_new_defaults(const char *path)
{
	struct cleave_config *cfg = calloc(1, sizeof *cfg);

	if (!cfg)
		return NULL;
	cfg->path = strdup(path);
	cfg->source.slot = strdup("cleave");
	cfg->source.publication = strdup("cleave");
	cfg->source.snapshot = CFG_SNAPSHOT_INITIAL;
	cfg->source.status_interval_ms = 1000;
	cfg->log.level = LOG_INFO;
	if (!cfg->path || !cfg->source.slot || !cfg->source.publication) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

struct cleave_config *cfg_load(const char *path, struct cerr *err)
{
	struct cleave_config *cfg = NULL;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_parser = false, have_doc = false;
	const yaml_node_t *root;
	struct cfg_loader ld;
	FILE *f;
	int rc = -1;

	f = fopen(path, "rb");
	if (!f) {
		cerr_set(err, false, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		cerr_set(err, false, "%s: out of memory", path);
		goto cleanup;
	}
	have_parser = true;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		cfg_yaml_error(&parser, path, f, err);
		goto cleanup;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		cerr_set(err, false, "%s:1: the file is empty", path);
		goto cleanup;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		cfg_yaml_error(&parser, path, f, err);
		goto cleanup;
	}
	if (yaml_document_get_root_node(&extra)) {
		cerr_set(err, false, "%s:%zu: only one YAML document is allowed", path, extra.start_mark.line + 1);
		yaml_document_delete(&extra);
		goto cleanup;
	}
	yaml_document_delete(&extra);
	cfg = cfg_new_defaults(path);
	if (!cfg) {
		cerr_set(err, false, "%s: out of memory", path);
		goto cleanup;
	}
	ld.file = path;
	ld.doc = &doc;
	ld.err = err;
	ld.cfg = cfg;
	rc = cfg_read_section(&ld, &cfg_root_section, root, "", cfg);
cleanup:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	fclose(f);
	if (rc < 0) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

static void cfg_free_strs(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

static void cfg_free_kvs(struct cfg_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void cfg_free_table(struct cfg_table *t)
{
	free(t->schema);
	free(t->name);
}

void cfg_free(struct cleave_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->source.dsn);
	free(cfg->source.slot);
	free(cfg->source.publication);
	for (size_t i = 0; cfg->source.tables && i < cfg->source.ntables; i++)
		cfg_free_table(&cfg->source.tables[i]);
	free(cfg->source.tables);
	free(cfg->kafka.brokers);
	free(cfg->kafka.topic_prefix);
	cfg_free_kvs(cfg->kafka.properties, cfg->kafka.nproperties);
	for (size_t i = 0; cfg->sinks && i < cfg->nsinks; i++) {
		struct cfg_sink *s = &cfg->sinks[i];

		free(s->name);
		free(s->dsn);
		for (size_t j = 0; s->mappings && j < s->nmappings; j++) {
			struct cfg_mapping *m = &s->mappings[j];

			cfg_free_table(&m->source);
			free(m->target);
			cfg_free_strs(m->columns, m->ncolumns);
			cfg_free_kvs(m->rename, m->nrename);
		}
		free(s->mappings);
	}
	free(cfg->sinks);
	free(cfg->metrics.listen);
	free(cfg);
}

const struct cfg_sink *cfg_find_sink(const struct cleave_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->nsinks; i++) {
		if (strcmp(cfg->sinks[i].name, name) == 0)
			return &cfg->sinks[i];
	}
	return NULL;
}
