/* avro_names.c: see avro_names.h. */
#include "schema/avro_names.h"

#include <stdlib.h>
#include <string.h>

bool avro_named_kind(const char *t)
{
	return strcmp(t, "record") == 0 || strcmp(t, "error") == 0 || strcmp(t, "enum") == 0 ||
	       strcmp(t, "fixed") == 0;
}

/* "ns.name", or "name" in the null namespace. Caller frees. */
static char *avro_join_name(const char *ns, const char *name)
{
	size_t a = ns ? strlen(ns) : 0, b = strlen(name);
	char *s = malloc(a + b + 2);

	if (!s)
		return NULL;
	if (a) {
		memcpy(s, ns, a);
		s[a++] = '.';
	}
	memcpy(s + a, name, b + 1);
	return s;
}

static int avro_names_add(struct avro_names *names, const json_t *def, const char *enclosing_ns,
                          struct cerr *err)
{
	const char *name = json_string_value(json_object_get(def, "name"));
	const char *nsattr = json_string_value(json_object_get(def, "namespace"));
	struct avro_named *nt, *grown;
	const char *dot;

	if (!name)
		return cerr_set(err, false, "avro schema: named type without a name");
	if (!(grown = realloc(names->v, (names->n + 1) * sizeof *grown)))
		return cerr_set(err, false, "out of memory");
	names->v = grown;
	nt = &names->v[names->n++]; /* counted even when a strdup below fails, so that free releases the other */
	memset(nt, 0, sizeof *nt);
	nt->def = def;
	/* Avro: a dotted name is already full; else "namespace" if present; else the enclosing one */
	if ((dot = strrchr(name, '.'))) {
		nt->fullname = strdup(name);
		nt->ns = strndup(name, (size_t)(dot - name));
	} else {
		const char *ns = nsattr ? nsattr : enclosing_ns;

		nt->fullname = avro_join_name(ns, name);
		nt->ns = strdup(ns ? ns : "");
	}
	if (!nt->fullname || !nt->ns)
		return cerr_set(err, false, "out of memory");
	return 0;
}

static int avro_names_walk(struct avro_names *names, const json_t *node, const char *ns, int depth, int max_depth,
                           struct cerr *err)
{
	const json_t *t;
	const char *ts;

	if (depth > max_depth)
		return cerr_set(err, false, "avro schema: nested too deeply");
	if (json_is_array(node)) {
		size_t i;
		const json_t *b;

		json_array_foreach(node, i, b)
			if (avro_names_walk(names, b, ns, depth + 1, max_depth, err) < 0)
				return -1;
		return 0;
	}
	if (!json_is_object(node))
		return 0;
	t = json_object_get(node, "type");
	if (!json_is_string(t))
		return avro_names_walk(names, t, ns, depth + 1, max_depth, err);
	ts = json_string_value(t);
	if (avro_named_kind(ts)) {
		const json_t *f;
		const char *inner;
		size_t i;

		if (avro_names_add(names, node, ns, err) < 0)
			return -1;
		inner = names->v[names->n - 1].ns;
		json_array_foreach(json_object_get(node, "fields"), i, f)
			if (avro_names_walk(names, json_object_get(f, "type"), inner, depth + 1, max_depth, err) < 0)
				return -1;
	} else if (strcmp(ts, "array") == 0) {
		return avro_names_walk(names, json_object_get(node, "items"), ns, depth + 1, max_depth, err);
	} else if (strcmp(ts, "map") == 0) {
		return avro_names_walk(names, json_object_get(node, "values"), ns, depth + 1, max_depth, err);
	}
	return 0;
}

int avro_names_collect(struct avro_names *names, const json_t *schema, int max_depth, struct cerr *err)
{
	return avro_names_walk(names, schema, "", 0, max_depth, err);
}

void avro_names_free(struct avro_names *names)
{
	for (size_t i = 0; i < names->n; i++) {
		free(names->v[i].fullname);
		free(names->v[i].ns);
	}
	free(names->v);
	names->v = NULL;
	names->n = 0;
}

struct avro_named *avro_names_by_def(const struct avro_names *names, const json_t *def)
{
	for (size_t i = 0; i < names->n; i++)
		if (names->v[i].def == def)
			return &names->v[i];
	return NULL;
}

static struct avro_named *avro_names_by_name(const struct avro_names *names, const char *fullname)
{
	for (size_t i = 0; i < names->n; i++)
		if (names->v[i].fullname && strcmp(names->v[i].fullname, fullname) == 0)
			return &names->v[i];
	return NULL;
}

struct avro_named *avro_names_resolve(const struct avro_names *names, const char *ref, const char *ns,
                                      struct cerr *err)
{
	struct avro_named *nt = NULL;

	if (!strchr(ref, '.') && ns && *ns) {
		char *full = avro_join_name(ns, ref);

		if (!full)
			return cerr_set(err, false, "out of memory"), NULL;
		nt = avro_names_by_name(names, full);
		free(full);
	}
	if (!nt)
		nt = avro_names_by_name(names, ref);
	if (!nt)
		cerr_set(err, false, "avro schema: unknown type name \"%s\"", ref);
	return nt;
}
