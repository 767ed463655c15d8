/* reconcile.h: `cleave reconcile` (SPEC.md §6): compares, for every mapping of a sink, the source table
 * (projected and renamed as the mapping says) with the target table, tells replication lag from drift,
 * and optionally repairs the target. The work is done by the databases: both hash key ranges of their own
 * rows (reconcile/rangesql.h) and only ranges that differ are split further, down to rows.
 *
 * Modules: canon (canonical value texts per engine), rangesql (the SQL), rdb (connections), lag (waiting
 * for the pipeline to apply past a source position), repair (writing differing rows as the sink would),
 * report (text and JSON), and this driver. */
#ifndef CLEAVE_RECONCILE_H
#define CLEAVE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "config/config.h"

struct reconcile_opts {
	const char *const *tables; /* source tables ("schema.table" or "table") to compare; NULL: all */
	size_t ntables;
	int limit;                 /* keys listed per kind of difference (default 10) */
	int timeout_s;             /* waiting for the pipeline to apply past the positions seen (default 60) */
	bool repair, dry_run, json;
	bool progress;             /* a progress line on stderr (the caller checks isatty) */
	long range_rows;           /* rows per first-level range (default 10000) */
	long leaf_rows;            /* ranges this small are compared row by row (default 32) */
	int repair_batch;          /* keys per repair transaction (default 500) */
};

/* What reconcile found. */
enum reconcile_outcome {
	RECONCILE_CLEAN,     /* no drift (or all of it repaired) */
	RECONCILE_DRIFT,     /* drift remains, or differences still in flight at the timeout */
};

/* Runs the comparison (and repair) for sink `scfg` of cfg, printing the report to out. Returns 0 with
 * *outcome, or -1 with err (config, connection, SQL). */
int reconcile_run(const struct cleave_config *cfg, const struct cfg_sink *scfg, const struct reconcile_opts *o,
                  FILE *out, enum reconcile_outcome *outcome, struct cerr *err);

#endif
