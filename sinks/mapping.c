/* mapping.c: see mapping.h. */
#include "sinks/mapping.h"

#include <stdlib.h>
#include <string.h>

#include "sinks/evolve.h"

#define MAPPING_MAX_NAMES 32 /* other names of one column considered (renames) */

/* The Value record's fields in an envelope schema: fields[0] ("before") is ["null", Value]. */
static json_t *mapping_value_fields(json_t *envelope)
{
	json_t *before = json_array_get(json_object_get(envelope, "fields"), 0);
	json_t *value = json_array_get(json_object_get(before, "type"), 1);

	return json_object_get(value, "fields");
}

static const char *mapping_renamed(const struct cfg_mapping *cfg, const char *col)
{
	for (size_t i = 0; i < cfg->nrename; i++)
		if (strcmp(cfg->rename[i].key, col) == 0)
			return cfg->rename[i].value;
	return col;
}

static bool mapping_projected(const struct cfg_mapping *cfg, const char *col)
{
	if (cfg->ncolumns == 0)
		return true;
	for (size_t i = 0; i < cfg->ncolumns; i++)
		if (strcmp(cfg->columns[i], col) == 0)
			return true;
	return false;
}

/* Key columns are marked in the Value record (cleave.key). */
static bool mapping_is_key(json_t *field)
{
	return json_is_true(json_object_get(field, "cleave.key"));
}

void mapping_free(struct mapping *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->table.ncols; i++) {
		free((char *)m->cols[i].name);
		free((char *)m->cols[i].source);
		free((char *)m->cols[i].missing);
		for (size_t k = 0; m->cols[i].was && m->cols[i].was[k]; k++)
			free((char *)m->cols[i].was[k]);
		free((void *)m->cols[i].was);
		free(m->fields[i]);
	}
	free(m->cols);
	free(m->fields);
	free(m);
}

struct mapping *mapping_new(const struct cfg_mapping *cfg, uint64_t value_id, const char *value_json,
                            struct cerr *err)
{
	return mapping_new_in(cfg, value_id, value_json, NULL, 0, err);
}

/* The name of column col (of schema `at`) in the newest schema of l that has it: its name for the
 * projection and rename:, so that every version of a column goes to one target column. */
static const char *mapping_newest_name(const struct evolve_lineage *l, size_t at, const char *col)
{
	for (size_t k = l ? evolve_lineage_count(l) : 0; k > at + 1; k--) {
		const char *name = evolve_lineage_find(l, at, col, k - 1);

		if (name)
			return name;
	}
	return col;
}

/* Whether some schema of l after `at` has a column named col (added, or renamed to col, later). */
static bool mapping_later_column(const struct evolve_lineage *l, size_t at, const char *col)
{
	for (size_t k = at + 1; l && k < evolve_lineage_count(l); k++)
		if (evolve_lineage_find(l, k, col, k))
			return true;
	return false;
}

/* Fills tc->was: the target names of column col's (of schema `at`) other names in l and of col itself, other
 * than tc->name. */
static int mapping_was(const struct mapping *m, struct target_column *tc, const char *col,
                       const struct evolve_lineage *l, size_t at, struct cerr *err)
{
	const char *names[MAPPING_MAX_NAMES + 1];
	size_t n = evolve_lineage_names(l, at, col, names, MAPPING_MAX_NAMES), k = 0;
	char **was;

	if (n > MAPPING_MAX_NAMES)
		n = MAPPING_MAX_NAMES;
	names[n++] = col;
	if (!(was = calloc(n + 1, sizeof *was)))
		return cerr_set(err, false, "out of memory");
	for (size_t j = 0; j < n; j++) {
		const char *tn = mapping_renamed(m->cfg, names[j]);
		bool dup = strcmp(tn, tc->name) == 0; /* the rename: config maps both names to one column */

		for (size_t r = 0; r < k && !dup; r++)
			dup = strcmp(was[r], tn) == 0;
		if (dup)
			continue;
		if (!(was[k++] = strdup(tn))) {
			for (size_t r = 0; r + 1 < k; r++)
				free(was[r]);
			free(was);
			return cerr_set(err, false, "out of memory");
		}
	}
	if (k == 0)
		free(was);
	else
		tc->was = (const char *const *)was;
	return 0;
}

struct mapping *mapping_new_in(const struct cfg_mapping *cfg, uint64_t value_id, const char *value_json,
                               const struct evolve_lineage *l, size_t at, struct cerr *err)
{
	json_error_t jerr;
	json_t *venv = json_loads(value_json, 0, &jerr);
	json_t *vfields, *f;
	struct mapping *m = calloc(1, sizeof *m);
	size_t i, n;
	int nkeys = 0;
	const char *src = cfg->source.name;

	if (!m || !venv) {
		cerr_set(err, false, "%s.%s: cannot read the writer schema: %s", cfg->source.schema, src,
		         m ? jerr.text : "out of memory");
		goto fail;
	}
	m->cfg = cfg;
	m->value_id = value_id;
	m->table.name = cfg->target ? cfg->target : src;
	vfields = mapping_value_fields(venv);
	n = json_array_size(vfields);
	m->cols = calloc(n ? n : 1, sizeof *m->cols);
	m->fields = calloc(n ? n : 1, sizeof *m->fields);
	if (!m->cols || !m->fields) {
		cerr_set(err, false, "out of memory");
		goto fail;
	}
	json_array_foreach(vfields, i, f) {
		const char *col = json_string_value(json_object_get(f, "cleave.column"));
		const char *field = json_string_value(json_object_get(f, "name"));
		struct target_column *tc = &m->cols[m->table.ncols];
		const char *newest;

		if (!col || !field) {
			cerr_set(err, false, "%s.%s: writer schema field %zu has no cleave.column", cfg->source.schema, src, i);
			goto fail;
		}
		newest = mapping_newest_name(l, at, col);
		/* a projection that names the old name keeps the old name's target column */
		if (cfg->ncolumns > 0 && !mapping_projected(cfg, newest))
			newest = col;
		if (!mapping_projected(cfg, col) && !mapping_projected(cfg, newest)) {
			if (mapping_is_key(f)) {
				cerr_set(err, false,
				         "mapping of %s.%s (%s line %d): the key column %s must be in `columns`, or the"
				         " target rows cannot be found again",
				         cfg->source.schema, src, "config", cfg->line, col);
				goto fail;
			}
			continue;
		}
		coltype_from_pg((uint32_t)json_integer_value(json_object_get(f, "cleave.pg_oid")),
		                (int32_t)json_integer_value(json_object_get(f, "cleave.pg_typmod")), &tc->type);
		tc->key = mapping_is_key(f);
		tc->name = strdup(mapping_renamed(cfg, newest));
		tc->source = strdup(newest);
		m->fields[m->table.ncols] = strdup(field);
		m->table.ncols++;
		if (json_is_string(json_object_get(f, "cleave.missing")) &&
		    !(tc->missing = strdup(json_string_value(json_object_get(f, "cleave.missing"))))) {
			cerr_set(err, false, "out of memory");
			goto fail;
		}
		if (!tc->name || !tc->source || !m->fields[m->table.ncols - 1]) {
			cerr_set(err, false, "out of memory");
			goto fail;
		}
		if (l && mapping_was(m, tc, col, l, at, err) < 0)
			goto fail;
		nkeys += tc->key;
	}
	for (size_t c = 0; c < cfg->ncolumns; c++) {
		bool found = false;

		json_array_foreach(vfields, i, f) {
			const char *col = json_string_value(json_object_get(f, "cleave.column"));
			if (col && (strcmp(col, cfg->columns[c]) == 0 ||
			            strcmp(mapping_newest_name(l, at, col), cfg->columns[c]) == 0))
				found = true;
		}
		/* a column added later: older schemas go without it */
		if (!found && !mapping_later_column(l, at, cfg->columns[c])) {
			cerr_set(err, false, "mapping of %s.%s (config line %d): column %s is not a column of the source table",
			         cfg->source.schema, src, cfg->line, cfg->columns[c]);
			goto fail;
		}
	}
	if (nkeys == 0) {
		cerr_set(err, false, "mapping of %s.%s: the source table has no key columns", cfg->source.schema, src);
		goto fail;
	}
	m->table.cols = m->cols;
	json_decref(venv);
	return m;
fail:
	json_decref(venv);
	mapping_free(m);
	return NULL;
}

int mapping_cells(const struct mapping *m, const json_t *row, struct target_cell *cells, struct cerr *err)
{
	for (int i = 0; i < m->table.ncols; i++) {
		json_t *v = json_object_get(row, m->fields[i]);

		if (!v)
			return cerr_set(err, false, "event row has no field %s", m->fields[i]);
		if (json_is_null(v))
			cells[i] = (struct target_cell){.kind = TARGET_NULL};
		else if (json_is_object(v) && json_is_true(json_object_get(v, "unchanged")))
			cells[i] = (struct target_cell){.kind = TARGET_UNCHANGED};
		else
			cells[i] = (struct target_cell){.kind = TARGET_VALUE, .value = v};
	}
	return 0;
}

