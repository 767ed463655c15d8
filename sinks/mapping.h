/* mapping.h: one mapping of a sink (config: source table -> target table, projection, renames) resolved
 * against one writer schema of the source table: the target table's columns with their source types and
 * key flags, and how to take each column's cell out of a decoded event row. Pure. */
#ifndef CLEAVE_MAPPING_H
#define CLEAVE_MAPPING_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"
#include "sinks/target.h"

struct mapping {
	const struct cfg_mapping *cfg;
	uint64_t value_id;          /* the writer schema this was resolved against */
	struct target_table table;  /* name = cfg target; cols below */
	struct target_column *cols; /* owned; names owned too */
	char **fields;              /* per column: the Avro field name in the Value record */
};

/* Resolves cfg against the envelope schema JSON (value_json) that capture published
 * (schema/table_schema.h; key columns carry "cleave.key"). Fails (non-retriable) when the projection names
 * a column the source does not have, or leaves out a key column. */
struct mapping *mapping_new(const struct cfg_mapping *cfg, uint64_t value_id, const char *value_json,
                            struct cerr *err);
void mapping_free(struct mapping *m);

/* mapping_new for schema `at` of l, the table's writer schemas (sinks/evolve.h; NULL: none known): every
 * version of a column goes to one target column, the one its newest name gives (through projection and
 * rename:), so events of older schemas follow a rename the config or the target already followed; a
 * projected column that only later schemas have (added later) is left out of older ones; and each column's
 * `was` (target.h) lists the target names of its other names (its own source name included), for
 * prepare_table to refuse a rename the target did not follow. */
struct evolve_lineage;
struct mapping *mapping_new_in(const struct cfg_mapping *cfg, uint64_t value_id, const char *value_json,
                               const struct evolve_lineage *l, size_t at, struct cerr *err);

/* Fills cells[m->table.ncols] from a decoded row (the envelope's `before` or `after` object): values are
 * borrowed from row. A field holding {"unchanged": true} gives TARGET_UNCHANGED. Fails when the row lacks
 * a field. */
int mapping_cells(const struct mapping *m, const json_t *row, struct target_cell *cells, struct cerr *err);

#endif
