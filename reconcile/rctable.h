/* rctable.h: one mapping being reconciled, shared by the driver (reconcile.c), repair.c and report.c.
 * Internal to reconcile/. */
#ifndef CLEAVE_RCTABLE_H
#define CLEAVE_RCTABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "reconcile/rangesql.h"
#include "schema/table_schema.h"
#include "sinks/mapping.h"

enum rc_kind { RC_MISSING, RC_EXTRA, RC_DIFFERENT };

/* A differing key: its canonical key texts (nkeys, owned) and what differs. */
struct rc_key {
	char **v;
	enum rc_kind kind;
};

struct rc_keys {
	struct rc_key *v;
	size_t n, cap;
};

struct rc_table {
	const struct cfg_mapping *cfg;
	char *source;            /* "schema.table" */
	const char *target;      /* target table name */
	char *topic;             /* <prefix>.<schema>.<table> */
	struct table_schema *ts; /* the source table as capture describes it */
	struct mapping *m;       /* the mapping resolved against ts */
	struct rs_side src, tgt;
	char *src_select;        /* every source column, quoted, for SELECT (repair) */
	char **key_names;        /* nkeys target key column names (borrowed from m) */
	int nkeys;
	bool target_exists;
	long long src_rows, tgt_rows;
	long long fetched;       /* rows read into reconcile (cut points, leaf rows, rows by key), both sides */
	struct rc_keys diffs;    /* confirmed differences */
	struct rc_keys inflight; /* differences not confirmed before the timeout */
	char inflight_why[512];
	size_t repaired_upserts, repaired_deletes;
};

int rc_keys_add(struct rc_keys *ks, char *const *v, int nkeys, enum rc_kind kind);
void rc_keys_free(struct rc_keys *ks, int nkeys);
/* Sorts by key (rs_key_cmp on side s). */
void rc_keys_sort(struct rc_keys *ks, const struct rs_side *s);
size_t rc_keys_count(const struct rc_keys *ks, enum rc_kind kind);

/* report.c */
struct reconcile_opts;
void rc_report_text(FILE *out, const char *sink, struct rc_table *const *tables, size_t n, int limit, bool repair,
                    bool dry_run);
void rc_report_json(FILE *out, const char *sink, struct rc_table *const *tables, size_t n, int limit, bool repair,
                    bool dry_run);

/* repair.c: makes the target equal to the source for every key of t->diffs, as the sink would write the
 * rows (target.h), in transactions of at most `batch` keys; never touches cleave_positions. With dry_run
 * prints the actions to out instead. */
struct rdb;
struct target;
int rc_repair(struct rc_table *t, struct rdb *src, struct target *tgt, int batch, bool dry_run, FILE *out,
              struct cerr *err);

#endif
