/* evolve.c: see evolve.h.
 *
 * Columns get an identity: schema 0's columns each a new one; then every schema takes its predecessor's
 * identities for its columns by name, and for a column whose name is new, the identity of a column of the
 * predecessor whose name is gone when the new column looks like that column renamed:
 * - pgoutput lists columns in attnum order; ALTER TABLE ADD COLUMN appends (a higher attnum than every
 *   column there) and RENAME keeps the attnum. So a new name between two columns both schemas have (by
 *   name) is no added column: it is the rename of a vanished column between the same two columns.
 * - After the last column both schemas have, a new name is paired with the first vanished column there
 *   of the same type (OID) that is not paired yet.
 * Pairing wants the same type OID in both cases (a rename keeps the type).
 * XXX: where the inference is wrong: a DROP of the last column(s) and an ADD of a column of the same type,
 * with no row change of the table between them (so no schema in between), looks like a rename (the sink
 * then stops or dead-letters rather than guessing; see docs/sinks.md); two columns that swap names keep
 * their old identities (the swap is not seen); a column dropped and added again under its old name is the
 * same column. */
#include "sinks/evolve.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ev_col {
	char *name;
	uint32_t oid;
	int id; /* identity across schemas */
};

struct ev_schema {
	struct ev_col *cols;
	int ncols;
};

struct evolve_lineage {
	struct ev_schema *v;
	size_t n;
	int next_id;
};

void evolve_lineage_free(struct evolve_lineage *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		for (int c = 0; c < l->v[i].ncols; c++)
			free(l->v[i].cols[c].name);
		free(l->v[i].cols);
	}
	free(l->v);
	free(l);
}

/* The columns of one envelope schema: fields[0] ("before") is ["null", Value]; Value's fields carry
 * cleave.column and cleave.pg_oid. */
static int ev_read(const char *json, struct ev_schema *out, struct cerr *err)
{
	json_error_t jerr;
	json_t *env = json_loads(json, 0, &jerr), *fields, *f;
	size_t i;
	int rc = -1;

	fields = json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(env, "fields"), 0),
	                                                        "type"), 1), "fields");
	if (!json_is_array(fields)) {
		cerr_set(err, false, "a writer schema is not an envelope schema%s%s", env ? "" : ": ", env ? "" : jerr.text);
		goto cleanup;
	}
	out->cols = calloc(json_array_size(fields) + 1, sizeof *out->cols);
	if (!out->cols) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "cleave.column"));
		struct ev_col *c = &out->cols[out->ncols];

		if (!name) {
			cerr_set(err, false, "writer schema field %zu has no cleave.column", i);
			goto cleanup;
		}
		c->oid = (uint32_t)json_integer_value(json_object_get(f, "cleave.pg_oid"));
		c->id = -1;
		if (!(c->name = strdup(name))) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		out->ncols++;
	}
	rc = 0;
cleanup:
	json_decref(env);
	return rc;
}

static int ev_index(const struct ev_schema *s, const char *name)
{
	for (int i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return i;
	return -1;
}

/* Gives n's columns their identities from p's (see the file comment). */
static int ev_relate(struct evolve_lineage *l, const struct ev_schema *p, struct ev_schema *n, struct cerr *err)
{
	int *at = calloc((size_t)n->ncols + 1, sizeof *at);  /* per column of n: its index in p by name, or -1 */
	bool *taken = calloc((size_t)p->ncols + 1, sizeof *taken); /* per column of p: has a partner in n */

	if (!at || !taken) {
		free(at);
		free(taken);
		return cerr_set(err, false, "out of memory");
	}
	for (int j = 0; j < n->ncols; j++)
		if ((at[j] = ev_index(p, n->cols[j].name)) >= 0) {
			n->cols[j].id = p->cols[at[j]].id;
			taken[at[j]] = true;
		}
	for (int j = 0; j < n->ncols; j++) {
		int lo = 0, hi = p->ncols;

		if (at[j] >= 0)
			continue;
		/* between the kept columns around it: p's columns (lo..hi) */
		for (int k = j - 1; k >= 0; k--)
			if (at[k] >= 0) {
				lo = at[k] + 1;
				break;
			}
		for (int k = j + 1; k < n->ncols; k++)
			if (at[k] >= 0) {
				hi = at[k];
				break;
			}
		for (int i = lo; i < hi; i++)
			if (!taken[i] && ev_index(n, p->cols[i].name) < 0 && p->cols[i].oid == n->cols[j].oid) {
				n->cols[j].id = p->cols[i].id;
				taken[i] = true;
				break;
			}
		if (n->cols[j].id < 0)
			n->cols[j].id = l->next_id++;
	}
	free(at);
	free(taken);
	return 0;
}

struct evolve_lineage *evolve_lineage_new(const char *const *envelopes, size_t n, struct cerr *err)
{
	struct evolve_lineage *l = calloc(1, sizeof *l);

	if (!l || !(l->v = calloc(n + 1, sizeof *l->v))) {
		free(l);
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (ev_read(envelopes[i], &l->v[i], err) < 0) {
			l->n = i + 1; /* frees what was read of it */
			evolve_lineage_free(l);
			return NULL;
		}
		l->n = i + 1;
		if (i == 0) {
			for (int c = 0; c < l->v[0].ncols; c++)
				l->v[0].cols[c].id = l->next_id++;
		} else if (ev_relate(l, &l->v[i - 1], &l->v[i], err) < 0) {
			evolve_lineage_free(l);
			return NULL;
		}
	}
	return l;
}

size_t evolve_lineage_count(const struct evolve_lineage *l)
{
	return l ? l->n : 0;
}

/* The identity of column `col` of schema `at`, or -1. */
static int ev_id(const struct evolve_lineage *l, size_t at, const char *col)
{
	int i;

	if (at >= l->n || (i = ev_index(&l->v[at], col)) < 0)
		return -1;
	return l->v[at].cols[i].id;
}

size_t evolve_lineage_names(const struct evolve_lineage *l, size_t at, const char *col, const char **out,
                            size_t max)
{
	int id = ev_id(l, at, col);
	size_t n = 0;

	if (id < 0)
		return 0;
	for (size_t s = 0; s < l->n; s++)
		for (int c = 0; c < l->v[s].ncols; c++) {
			const char *name = l->v[s].cols[c].name;
			bool seen = strcmp(name, col) == 0;

			if (l->v[s].cols[c].id != id)
				continue;
			for (size_t k = 0; k < n && k < max && !seen; k++)
				seen = strcmp(out[k], name) == 0;
			if (seen)
				continue;
			if (n < max)
				out[n] = name;
			n++;
		}
	return n;
}

const char *evolve_lineage_find(const struct evolve_lineage *l, size_t from, const char *col, size_t to)
{
	int id = ev_id(l, from, col);

	if (id < 0 || to >= l->n)
		return NULL;
	for (int c = 0; c < l->v[to].ncols; c++)
		if (l->v[to].cols[c].id == id)
			return l->v[to].cols[c].name;
	return NULL;
}

static const char *ev_renamed(const struct cfg_mapping *cfg, const char *col)
{
	for (size_t i = 0; i < cfg->nrename; i++)
		if (strcmp(cfg->rename[i].key, col) == 0)
			return cfg->rename[i].value;
	return col;
}

int evolve_check_projection(const struct evolve_lineage *l, size_t at, uint64_t id, const struct cfg_mapping *cfg,
                            struct cerr *err)
{
	if (at >= l->n)
		return 0;
	for (size_t c = 0; c < cfg->ncolumns; c++) {
		const char *col = cfg->columns[c], *now;
		size_t k = at;

		if (ev_index(&l->v[at], col) >= 0)
			continue;
		while (k > 0 && ev_index(&l->v[k - 1], col) < 0)
			k--;
		if (k == 0)
			continue; /* never a column of the source: mapping_new says so */
		now = evolve_lineage_find(l, k - 1, col, at);
		if (now)
			return cerr_set(err, false,
			                "mapping of %s.%s (config line %d): column %s in `columns:` was renamed to %s in the"
			                " source (schema %016" PRIx64 "), which the mapping cannot follow by itself: write %s"
			                " in `columns:` and add `%s: %s` under `rename:` to keep filling target column %s,"
			                " then restart the sink",
			                cfg->source.schema, cfg->source.name, cfg->line, col, now, id, now, now,
			                ev_renamed(cfg, col), ev_renamed(cfg, col));
		return cerr_set(err, false,
		                "mapping of %s.%s (config line %d): column %s in `columns:` was dropped from the source"
		                " (schema %016" PRIx64 "), which the mapping cannot follow by itself: remove it from"
		                " `columns:` (target column %s keeps its values; new rows get NULL there), then restart"
		                " the sink",
		                cfg->source.schema, cfg->source.name, cfg->line, col, id, ev_renamed(cfg, col));
	}
	return 0;
}
