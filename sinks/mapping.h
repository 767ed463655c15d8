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

/* Fills cells[m->table.ncols] from a decoded row (the envelope's `before` or `after` object): values are
 * borrowed from row. A field holding {"unchanged": true} gives TARGET_UNCHANGED. Fails when the row lacks
 * a field. */
int mapping_cells(const struct mapping *m, const json_t *row, struct target_cell *cells, struct cerr *err);

#endif
