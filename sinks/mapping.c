/* mapping.c: see mapping.h. */
#include "sinks/mapping.h"

#include <stdlib.h>
#include <string.h>

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
		free(m->fields[i]);
	}
	free(m->cols);
	free(m->fields);
	free(m);
}

struct mapping *mapping_new(const struct cfg_mapping *cfg, uint64_t value_id, const char *value_json,
                            struct cerr *err)
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

		if (!col || !field) {
			cerr_set(err, false, "%s.%s: writer schema field %zu has no cleave.column", cfg->source.schema, src, i);
			goto fail;
		}
		if (!mapping_projected(cfg, col)) {
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
		tc->name = strdup(mapping_renamed(cfg, col));
		m->fields[m->table.ncols] = strdup(field);
		m->table.ncols++;
		if (!tc->name || !m->fields[m->table.ncols - 1]) {
			cerr_set(err, false, "out of memory");
			goto fail;
		}
		nkeys += tc->key;
	}
	for (size_t c = 0; c < cfg->ncolumns; c++) {
		bool found = false;

		json_array_foreach(vfields, i, f) {
			const char *col = json_string_value(json_object_get(f, "cleave.column"));
			if (col && strcmp(col, cfg->columns[c]) == 0)
				found = true;
		}
		if (!found) {
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
