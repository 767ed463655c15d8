/* rangesql.h: the SQL reconcile runs on one side (the source PostgreSQL or the target PostgreSQL/MySQL) of
 * one mapping: per key range the row count and the sum of row hashes, the keys that cut a range into
 * smaller ones, the (key, hash) of a range's rows, and rows by key. Pure: builds SQL text only.
 *
 * Row hash, summed per range as an exact decimal: for a MySQL target, the first 60 bits of the MD5 of the
 * concatenation, per column, of 'v' <byte length> ':' <canonical text>, or 'v' <canonical text> '|' for the
 * kinds canon_self_delimiting names, or 'n' for NULL (NULL and '' differ), the same function on both
 * engines; with PostgreSQL on both sides, each column's own hash function seeded with its position, XORed
 * (no text conversion; canon_pg_hash_value). Keys are carried as their canonical text (reconcile/canon.h)
 * and compared per canon_key_class, the same way on both sides, so a range holds the same keys in both
 * databases. */
#ifndef CLEAVE_RANGESQL_H
#define CLEAVE_RANGESQL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "reconcile/canon.h"
#include "schema/coltype.h"
#include "sinks/sinkvalue.h"

struct rs_column {
	const char *name; /* on this side (the target's name after a rename) */
	struct coltype type;
	bool key;
	bool loose; /* PostgreSQL target: its column has another type than the source's (an existing table the
	             * sink accepted: integer into numeric, uuid into text...): hash the canonical text */
};

/* One side's SQL pieces, built once per mapping by rs_side_init. */
struct rs_side {
	enum sinkvalue_engine engine;  /* of this side's database */
	enum sinkvalue_engine target;  /* the target's engine (decides the canonical forms) */
	char *table;                   /* quoted, schema-qualified when given so */
	int ncols, nkeys;
	enum canon_key_class *kclass;  /* nkeys */
	char **kx;                     /* nkeys: key expressions compared in ranges */
	char **kc;                     /* nkeys: canonical key texts */
	char **cx;                     /* ncols: canonical column texts */
	char *hash;                    /* the row's 60-bit hash as an integer */
};

/* A key range (lo, hi]; lo/hi are arrays of nkeys canonical texts, NULL for unbounded. */
struct rs_range {
	char **lo, **hi;
};

/* Builds the pieces for a side: schema may be NULL (the connection's default). Columns in order; key
 * columns are taken in that order too. Returns 0 or -1 (out of memory). rs_side_free frees. */
int rs_side_init(struct rs_side *s, enum sinkvalue_engine engine, enum sinkvalue_engine target, const char *schema,
                 const char *table, const struct rs_column *cols, int ncols);
void rs_side_free(struct rs_side *s);

/* SELECT count, sum of hashes (both as text) of the rows in r. */
int rs_checksum_sql(const struct rs_side *s, const struct rs_range *r, struct buf *out);
/* One integer key: SELECT bucket, count, sum of hashes (all text) of the rows of r grouped by
 * (key - base) / width, base <= every key of r (a cut of a range into equal widths in one statement).
 * Integer division on both engines, also for a target that keeps the key in numeric/DECIMAL. */
int rs_buckets_sql(const struct rs_side *s, const struct rs_range *r, long long base, long long width,
                   struct buf *out);
/* The same over the whole table in one pass: keys below base are bucket -1, keys above last bucket
 * `nb`, the others (key - base) / width. */
int rs_buckets_all_sql(const struct rs_side *s, long long base, long long last, long long width, long long nb,
                       struct buf *out);
/* SELECT bucket, count, sum of hashes (all text) of the rows of r grouped by the ranges that ncuts cut
 * points (nkeys canonical texts each, ascending, inside r) cut r into: bucket i holds the keys in
 * (cuts[i-1], cuts[i]] (r's own bounds at both ends). One pass whatever the key: a binary search over
 * the cut points written as nested CASE, for keys that no index orders as the ranges do (text compared
 * bytewise), where a statement per range would read the table once per range. */
int rs_cuts_sql(const struct rs_side *s, const struct rs_range *r, char *const *const *cuts, size_t ncuts,
                struct buf *out);
/* SELECT the canonical key texts of every `every`-th row of r in key order (the cut points). */
int rs_bounds_sql(const struct rs_side *s, const struct rs_range *r, long every, struct buf *out);
/* SELECT canonical key texts..., hash (text) of every row of r. */
int rs_leaf_sql(const struct rs_side *s, const struct rs_range *r, struct buf *out);
/* SELECT canonical key texts..., canonical column texts... of the rows with the given keys (nkeys
 * canonical texts each). */
int rs_rows_sql(const struct rs_side *s, char *const *const *keys, size_t n, struct buf *out);
/* The WHERE condition selecting the given keys (for other statements on the same side). */
int rs_keys_where(const struct rs_side *s, char *const *const *keys, size_t n, struct buf *out);

/* Orders two keys (nkeys canonical texts) as the ranges do: integers numerically, the rest bytewise. */
int rs_key_cmp(const struct rs_side *s, char *const *a, char *const *b);

#endif
