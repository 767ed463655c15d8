/* evolve.h: how the columns of one source table changed across the writer schemas capture published for it
 * (in the order of the schema topic), as far as a sink needs to follow a schema change: which column of
 * one schema is which column of another, so that a renamed column is told from a dropped one plus an
 * added one. pgoutput's Relation message names the columns in attnum order but carries no attnum, so a
 * rename is inferred (evolve.c says how and where the inference can be wrong). Pure: no I/O. */
#ifndef CLEAVE_EVOLVE_H
#define CLEAVE_EVOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"

struct evolve_lineage;

/* Reads the n envelope schema JSON texts (schema/table_schema.h) of one source table, oldest first, and
 * relates their columns. NULL with err when a text is not such a schema, or out of memory. */
struct evolve_lineage *evolve_lineage_new(const char *const *envelopes, size_t n, struct cerr *err);
void evolve_lineage_free(struct evolve_lineage *l); /* NULL is a no-op */

/* How many schemas l relates. */
size_t evolve_lineage_count(const struct evolve_lineage *l);

/* The names that column `col` of schema `at` has in the other schemas (renames), each once and never `col`
 * itself: up to max of them in out (borrowed from l). Returns how many there are (0: `col` is not in
 * schema `at`, or was never renamed). */
size_t evolve_lineage_names(const struct evolve_lineage *l, size_t at, const char *col, const char **out,
                            size_t max);

/* The name of column `col` of schema `from` in schema `to` (borrowed from l): `col` itself, its new or old
 * name when it was renamed, or NULL when the column is not in schema `to` (dropped, or added later). */
const char *evolve_lineage_find(const struct evolve_lineage *l, size_t from, const char *col, size_t to);

/* A mapping whose `columns:` projection names a column that schema `at` lacks but an earlier schema had:
 * -1 with a non-retriable err saying that column was dropped or renamed (and to what) and what to change
 * in the config; 0 when every projected column is in schema `at` (or was never in any). id is schema
 * `at`'s id, for the message. */
int evolve_check_projection(const struct evolve_lineage *l, size_t at, uint64_t id, const struct cfg_mapping *cfg,
                            struct cerr *err);

#endif
