/* reconcile.c: the driver of `cleave reconcile` (see reconcile.h).
 *
 * Per mapping:
 * 1. Columns: the source table's catalog (types as capture reads them: schema/coltype.h, key = replica
 *    identity) -> table_schema -> mapping (sinks/mapping.h: projection, renames, key).
 * 2. First level: the source cuts its key space every range_rows keys; both databases compute count and
 *    hash sum per range (source and target at the same time, one thread each). Ranges that differ are cut
 *    again (16 ways, by the side that has more rows there) until at most leaf_rows rows, whose (key, hash)
 *    are fetched from both sides and merged: missing, extra, hash differs. Rows whose hashes differ are
 *    fetched whole and compared column by column (json as parsed JSON), so only real differences stay.
 * 3. Lag: the source position L is read after the pass; the differing keys are re-read on the source, the
 *    pipeline is waited for until it applied past L (reconcile/lag.h), then the target and the source are
 *    read again. A key whose source row did not change meanwhile and still differs is drift; one that
 *    matches now was lag; one whose source row changed is tried again, until the timeout, after which the
 *    rest are reported as in flight.
 * 4. Report, and with --repair the confirmed drift is repaired (repair.c). */
#include "reconcile/reconcile.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "reconcile/canon.h"
#include "reconcile/lag.h"
#include "reconcile/rctable.h"
#include "reconcile/rdb.h"
#include "sinks/target.h"

#define RC_FANOUT 16
#define RC_MAX_DEPTH 40
#define RC_KEYS_PER_QUERY 500
#define RC_CUTS_PER_QUERY 512

struct rc {
	const struct cleave_config *cfg;
	const struct cfg_sink *scfg;
	const struct reconcile_opts *o;
	struct rdb *src, *tgt;
	struct rc_table *t; /* the table being compared */
	long ranges_done, ranges_total;
};

/* ---- keys ---- */

int rc_keys_add(struct rc_keys *ks, char *const *v, int nkeys, enum rc_kind kind)
{
	struct rc_key *k;

	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16;
		struct rc_key *nv = realloc(ks->v, cap * sizeof *nv);

		if (!nv)
			return -1;
		ks->v = nv;
		ks->cap = cap;
	}
	k = &ks->v[ks->n];
	k->kind = kind;
	if (!(k->v = calloc((size_t)nkeys, sizeof *k->v)))
		return -1;
	for (int i = 0; i < nkeys; i++)
		if (!(k->v[i] = strdup(v[i] ? v[i] : ""))) {
			for (int j = 0; j < i; j++)
				free(k->v[j]);
			free(k->v);
			return -1;
		}
	ks->n++;
	return 0;
}

void rc_keys_free(struct rc_keys *ks, int nkeys)
{
	for (size_t i = 0; i < ks->n; i++) {
		for (int k = 0; k < nkeys; k++)
			free(ks->v[i].v[k]);
		free(ks->v[i].v);
	}
	free(ks->v);
	memset(ks, 0, sizeof *ks);
}

static const struct rs_side *rc_sort_side; /* qsort has no context; reconcile runs one sort at a time */

static int rc_key_qcmp(const void *a, const void *b)
{
	return rs_key_cmp(rc_sort_side, ((const struct rc_key *)a)->v, ((const struct rc_key *)b)->v);
}

void rc_keys_sort(struct rc_keys *ks, const struct rs_side *s)
{
	rc_sort_side = s;
	if (ks->n > 1)
		qsort(ks->v, ks->n, sizeof *ks->v, rc_key_qcmp);
	rc_sort_side = NULL;
}

size_t rc_keys_count(const struct rc_keys *ks, enum rc_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < ks->n; i++)
		n += ks->v[i].kind == kind;
	return n;
}

/* ---- resolving a mapping ---- */

static char *rc_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *rc_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void rc_table_free(struct rc_table *t)
{
	if (!t)
		return;
	rc_keys_free(&t->diffs, t->nkeys);
	rc_keys_free(&t->inflight, t->nkeys);
	rs_side_free(&t->src);
	rs_side_free(&t->tgt);
	mapping_free(t->m);
	table_schema_free(t->ts);
	free(t->source);
	free(t->topic);
	free(t->src_select);
	free(t->key_names);
	free(t);
}

/* The source table's columns, as a pgoutput Relation message would give them: key = replica identity
 * (primary key by default, the chosen index, or every column for FULL). */
/* A PostgreSQL target's columns and their declared types (format_type), when the table exists; nothing for
 * a MySQL target (its columns are compared through canonical texts anyway). */
static int rc_target_types(struct rc *rc, const struct rc_table *t, struct rdb_rows *out, struct cerr *err)
{
	struct buf q;
	char *sql;
	int e;

	*out = (struct rdb_rows){0};
	if (rdb_engine(rc->tgt) != SINKVALUE_PG || strchr(t->target, '\''))
		return 0;
	buf_init(&q, 0);
	if (canon_quote_ident(SINKVALUE_PG, t->target, &q) < 0 || buf_putc(&q, 0) < 0) {
		buf_free(&q);
		return cerr_set(err, false, "out of memory");
	}
	sql = rc_strdupf("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
	                 " WHERE a.attrelid = to_regclass('%s') AND a.attnum > 0 AND NOT a.attisdropped",
	                 (char *)q.data);
	buf_free(&q);
	if (!sql)
		return cerr_set(err, false, "out of memory");
	e = rdb_query(rc->tgt, sql, out, err);
	free(sql);
	return e;
}

/* Whether the target column tname has another declared type than the source column sname (src: the
 * source catalog rows of rc_table_new, type in column 6; tgt: rc_target_types' rows), for a kind whose
 * row hash uses the type's own hash function (json, text forms and their arrays are cast to one type on
 * both sides already). */
static bool rc_type_differs(const struct rdb_rows *src, const char *sname, const struct rdb_rows *tgt,
                            const char *tname, const struct coltype *type)
{
	const char *st = NULL, *tt = NULL;
	enum coltype_kind k = type->kind == CT_ARRAY ? type->elem : type->kind;

	if (k == CT_JSON || k == CT_TEXT_FORM)
		return false;
	for (size_t i = 0; i < src->nrows; i++)
		if (rdb_cell(src, i, 0) && strcmp(rdb_cell(src, i, 0), sname) == 0)
			st = rdb_cell(src, i, 6);
	for (size_t i = 0; i < tgt->nrows; i++)
		if (rdb_cell(tgt, i, 0) && strcmp(rdb_cell(tgt, i, 0), tname) == 0)
			tt = rdb_cell(tgt, i, 1);
	return st && tt && strcmp(st, tt) != 0;
}

static struct rc_table *rc_table_new(struct rc *rc, const struct cfg_mapping *mc, struct cerr *err)
{
	struct rc_table *t = calloc(1, sizeof *t);
	struct rdb_rows r = {0}, tt = {0};
	struct pgo_relation rel = {0};
	struct rs_column *scols = NULL, *tcols = NULL;
	struct buf q;
	char *sql = NULL;
	int ok = -1;

	buf_init(&q, 0);
	if (!t)
		goto nomem;
	t->cfg = mc;
	t->target = mc->target ? mc->target : mc->source.name;
	t->source = rc_strdupf("%s.%s", mc->source.schema, mc->source.name);
	t->topic = rc_strdupf("%s.%s.%s", rc->cfg->kafka.topic_prefix, mc->source.schema, mc->source.name);
	if (canon_quote_ident(SINKVALUE_PG, mc->source.schema, &q) < 0 || buf_putc(&q, '.') < 0 ||
	    canon_quote_ident(SINKVALUE_PG, mc->source.name, &q) < 0 || buf_putc(&q, 0) < 0)
		goto nomem;
	sql = rc_strdupf("SELECT a.attname, a.atttypid::text, a.atttypmod::text,"
	                 " (coalesce(a.attnum = ANY(i.indkey), false) OR c.relreplident = 'f')::text, c.oid::text,"
	                 " c.relreplident::text, format_type(a.atttypid, a.atttypmod)"
	                 " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
	                 " LEFT JOIN pg_index i ON i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary)"
	                 " OR (c.relreplident = 'i' AND i.indisreplident))"
	                 " WHERE c.oid = to_regclass('%s') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
	                 (char *)q.data);
	if (!t->source || !t->topic || !sql)
		goto nomem;
	if (strchr((char *)q.data, '\'')) {
		cerr_set(err, false, "%s: table names with a quote are not supported", t->source);
		goto done;
	}
	if (rdb_query(rc->src, sql, &r, err) < 0)
		goto done;
	if (r.nrows == 0) {
		cerr_set(err, false, "source table %s does not exist (mapping at config line %d)", t->source, mc->line);
		goto done;
	}
	rel.oid = (uint32_t)strtoul(rdb_cell(&r, 0, 4), NULL, 10);
	rel.nspname = mc->source.schema;
	rel.relname = mc->source.name;
	rel.replident = rdb_cell(&r, 0, 5)[0];
	rel.ncols = (uint16_t)r.nrows;
	if (!(rel.cols = calloc(r.nrows, sizeof *rel.cols)))
		goto nomem;
	for (size_t i = 0; i < r.nrows; i++) {
		rel.cols[i].name = rdb_cell(&r, i, 0);
		rel.cols[i].type_oid = (uint32_t)strtoul(rdb_cell(&r, i, 1), NULL, 10);
		rel.cols[i].typmod = (int32_t)strtol(rdb_cell(&r, i, 2), NULL, 10);
		rel.cols[i].flags = strcmp(rdb_cell(&r, i, 3), "true") == 0 ? PGO_COL_KEY : 0;
	}
	if (!(t->ts = table_schema_new(rc->cfg->kafka.topic_prefix, &rel, err)))
		goto done;
	if (!(t->m = mapping_new(mc, t->ts->value_id, t->ts->value_json, err)))
		goto done;
	if (rc_target_types(rc, t, &tt, err) < 0)
		goto done;
	scols = calloc((size_t)t->m->table.ncols + 1, sizeof *scols);
	tcols = calloc((size_t)t->m->table.ncols + 1, sizeof *tcols);
	t->key_names = calloc((size_t)t->m->table.ncols + 1, sizeof *t->key_names);
	if (!scols || !tcols || !t->key_names)
		goto nomem;
	for (int i = 0; i < t->m->table.ncols; i++) {
		const struct target_column *c = &t->m->cols[i];
		const char *sname = NULL;

		for (int k = 0; k < t->ts->ncols; k++)
			if (strcmp(t->ts->cols[k].avro_name, t->m->fields[i]) == 0)
				sname = t->ts->cols[k].name;
		if (!sname) {
			cerr_set(err, false, "%s: column %s not found in the writer schema", t->source, c->name);
			goto done;
		}
		scols[i] = (struct rs_column){.name = sname, .type = c->type, .key = c->key};
		tcols[i] = (struct rs_column){.name = c->name, .type = c->type, .key = c->key};
		scols[i].loose = tcols[i].loose = rc_type_differs(&r, sname, &tt, c->name, &c->type);
		if (c->key)
			t->key_names[t->nkeys++] = (char *)c->name;
	}
	if (rs_side_init(&t->src, SINKVALUE_PG, rdb_engine(rc->tgt), mc->source.schema, mc->source.name, scols,
	                 t->m->table.ncols) < 0 ||
	    rs_side_init(&t->tgt, rdb_engine(rc->tgt), rdb_engine(rc->tgt), NULL, t->target, tcols,
	                 t->m->table.ncols) < 0)
		goto nomem;
	buf_reset(&q);
	for (int k = 0; k < t->ts->ncols; k++)
		if ((k && buf_puts(&q, ", ") < 0) || canon_quote_ident(SINKVALUE_PG, t->ts->cols[k].name, &q) < 0)
			goto nomem;
	if (buf_putc(&q, 0) < 0 || !(t->src_select = strdup((char *)q.data)))
		goto nomem;
	ok = 0;
	goto done;
nomem:
	cerr_set(err, false, "out of memory");
done:
	free(sql);
	free(rel.cols);
	free(scols);
	free(tcols);
	rdb_rows_free(&r);
	rdb_rows_free(&tt);
	buf_free(&q);
	if (ok < 0) {
		rc_table_free(t);
		return NULL;
	}
	return t;
}

static int rc_target_exists(struct rc *rc, struct rc_table *t, struct cerr *err)
{
	struct rdb_rows r;
	char *sql;
	int e;

	if (strchr(t->target, '\''))
		return cerr_set(err, false, "target table names with a quote are not supported: %s", t->target);
	sql = rdb_engine(rc->tgt) == SINKVALUE_PG
	              ? rc_strdupf("SELECT (to_regclass('%s') IS NOT NULL)::text", t->tgt.table)
	              : rc_strdupf("SELECT IF(COUNT(*) > 0, 'true', 'false') FROM information_schema.TABLES"
	                           " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s'",
	                           t->target);
	if (!sql)
		return cerr_set(err, false, "out of memory");
	e = rdb_query(rc->tgt, sql, &r, err);
	free(sql);
	if (e < 0)
		return -1;
	t->target_exists = r.nrows == 1 && rdb_cell(&r, 0, 0) && strcmp(rdb_cell(&r, 0, 0), "true") == 0;
	rdb_rows_free(&r);
	return 0;
}

/* ---- the comparison ---- */

struct rc_sum {
	long long count;
	char sum[64];
};

struct rc_side_job {
	struct rdb *db;
	const struct rs_side *side;
	const struct rs_range *ranges;
	size_t n;
	bool empty; /* the target table does not exist */
	struct rc_sum *out;
	struct cerr err;
	int rc;
};

static void *rc_side_run(void *arg)
{
	struct rc_side_job *j = arg;
	struct buf sql;

	buf_init(&sql, 0);
	j->rc = 0;
	for (size_t i = 0; i < j->n && j->rc == 0; i++) {
		struct rdb_rows r;

		if (j->empty) {
			j->out[i].count = 0;
			snprintf(j->out[i].sum, sizeof j->out[i].sum, "0");
			continue;
		}
		buf_reset(&sql);
		if (rs_checksum_sql(j->side, &j->ranges[i], &sql) < 0 || buf_putc(&sql, 0) < 0) {
			j->rc = cerr_set(&j->err, false, "out of memory");
			break;
		}
		if (rdb_query(j->db, (char *)sql.data, &r, &j->err) < 0) {
			j->rc = -1;
			break;
		}
		j->out[i].count = r.nrows == 1 && rdb_cell(&r, 0, 0) ? atoll(rdb_cell(&r, 0, 0)) : 0;
		snprintf(j->out[i].sum, sizeof j->out[i].sum, "%s", r.nrows == 1 && rdb_cell(&r, 0, 1) ? rdb_cell(&r, 0, 1) : "0");
		rdb_rows_free(&r);
	}
	buf_free(&sql);
	return NULL;
}

/* Checksums of ranges on both sides at once: the target's in a thread of its own. */
static int rc_checksums(struct rc *rc, const struct rs_range *ranges, size_t n, struct rc_sum *s,
                        struct rc_sum *t, struct cerr *err)
{
	struct rc_side_job js = {rc->src, &rc->t->src, ranges, n, false, s, {0}, 0};
	struct rc_side_job jt = {rc->tgt, &rc->t->tgt, ranges, n, !rc->t->target_exists, t, {0}, 0};
	pthread_t th;
	bool threaded = pthread_create(&th, NULL, rc_side_run, &jt) == 0;

	rc_side_run(&js);
	if (threaded)
		pthread_join(th, NULL);
	else
		rc_side_run(&jt);
	if (js.rc < 0) {
		*err = js.err;
		return -1;
	}
	if (jt.rc < 0) {
		*err = jt.err;
		return -1;
	}
	return 0;
}

static void rc_progress(struct rc *rc)
{
	if (!rc->o->progress)
		return;
	fprintf(stderr, "\rreconcile: %s: %ld/%ld ranges", rc->t->source, rc->ranges_done, rc->ranges_total);
	fflush(stderr);
}

/* Cut points of range r on side (every `every`-th key), as ranges (lo, b1], (b1, b2] ... (bk, hi]. */
static int rc_split(struct rc *rc, struct rdb *db, const struct rs_side *side, const struct rs_range *r, long every,
                    struct rs_range **out, size_t *nout, struct rdb_rows *bounds, struct cerr *err)
{
	struct buf sql;
	int nk = rc->t->nkeys;

	buf_init(&sql, 0);
	*out = NULL;
	*nout = 0;
	if (rs_bounds_sql(side, r, every, &sql) < 0 || buf_putc(&sql, 0) < 0) {
		buf_free(&sql);
		return cerr_set(err, false, "out of memory");
	}
	if (rdb_query(db, (char *)sql.data, bounds, err) < 0) {
		buf_free(&sql);
		return -1;
	}
	buf_free(&sql);
	rc->t->fetched += (long long)bounds->nrows;
	/* the last cut point equal to hi adds nothing */
	size_t nb = bounds->nrows;

	if (nb > 0 && r->hi && rs_key_cmp(side, &bounds->cells[(nb - 1) * (size_t)nk], r->hi) == 0)
		nb--;
	*out = calloc(nb + 1, sizeof **out);
	if (!*out)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i <= nb; i++) {
		(*out)[i].lo = i == 0 ? r->lo : &bounds->cells[(i - 1) * (size_t)nk];
		(*out)[i].hi = i == nb ? r->hi : &bounds->cells[i * (size_t)nk];
	}
	*nout = nb + 1;
	return 0;
}

/* (key, hash) rows of one side, sorted by key. */
struct rc_leafrow {
	char **key;
	const char *hash;
};

static const struct rs_side *rc_leaf_side;

static int rc_leaf_qcmp(const void *a, const void *b)
{
	return rs_key_cmp(rc_leaf_side, ((const struct rc_leafrow *)a)->key, ((const struct rc_leafrow *)b)->key);
}

static int rc_leaf_rows(struct rdb *db, const struct rs_side *side, const struct rs_range *r, struct rdb_rows *rows,
                        struct rc_leafrow **out, struct cerr *err)
{
	struct buf sql;
	int rc;

	buf_init(&sql, 0);
	*out = NULL;
	if (rs_leaf_sql(side, r, &sql) < 0 || buf_putc(&sql, 0) < 0) {
		buf_free(&sql);
		return cerr_set(err, false, "out of memory");
	}
	rc = rdb_query(db, (char *)sql.data, rows, err);
	buf_free(&sql);
	if (rc < 0)
		return -1;
	*out = calloc(rows->nrows + 1, sizeof **out);
	if (!*out)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i < rows->nrows; i++) {
		(*out)[i].key = &rows->cells[i * rows->ncols];
		(*out)[i].hash = rows->cells[i * rows->ncols + rows->ncols - 1];
	}
	rc_leaf_side = side;
	qsort(*out, rows->nrows, sizeof **out, rc_leaf_qcmp);
	rc_leaf_side = NULL;
	return 0;
}

/* Candidates for RC_DIFFERENT are collected in `cand` and judged later (rc_judge). */
static int rc_leaf(struct rc *rc, const struct rs_range *r, struct rc_keys *cand, struct cerr *err)
{
	struct rdb_rows rs = {0}, rt = {0};
	struct rc_leafrow *ls = NULL, *lt = NULL;
	struct rc_table *t = rc->t;
	size_t i = 0, j = 0;
	int ret = -1;

	if (rc_leaf_rows(rc->src, &t->src, r, &rs, &ls, err) < 0)
		goto done;
	if (t->target_exists) {
		if (rc_leaf_rows(rc->tgt, &t->tgt, r, &rt, &lt, err) < 0)
			goto done;
	}
	t->fetched += (long long)(rs.nrows + rt.nrows);
	while (i < rs.nrows || j < rt.nrows) {
		int c = i == rs.nrows ? 1 : j == rt.nrows ? -1 : rs_key_cmp(&t->src, ls[i].key, lt[j].key);
		int e = 0;

		if (c < 0)
			e = rc_keys_add(&t->diffs, ls[i++].key, t->nkeys, RC_MISSING);
		else if (c > 0)
			e = rc_keys_add(&t->diffs, lt[j++].key, t->nkeys, RC_EXTRA);
		else {
			if (strcmp(ls[i].hash ? ls[i].hash : "", lt[j].hash ? lt[j].hash : "") != 0)
				e = rc_keys_add(cand, ls[i].key, t->nkeys, RC_DIFFERENT);
			i++;
			j++;
		}
		if (e < 0) {
			cerr_set(err, false, "out of memory");
			goto done;
		}
	}
	ret = 0;
done:
	free(ls);
	free(lt);
	rdb_rows_free(&rs);
	rdb_rows_free(&rt);
	return ret;
}

static int rc_compare_ranges(struct rc *rc, const struct rs_range *ranges, size_t n, int depth, bool top,
                             struct rc_keys *cand, struct cerr *err);

struct rc_bucket_job {
	struct rdb *db;
	const struct rs_side *side;
	const char *sql;
	struct rdb_rows rows;
	struct cerr err;
	int rc;
};

static void *rc_bucket_run(void *arg)
{
	struct rc_bucket_job *j = arg;

	j->rc = rdb_query(j->db, j->sql, &j->rows, &j->err);
	return NULL;
}

/* The sum of bucket b in a bucket result (count 0 and sum "0" when it has no rows). */
/* The rows (bucket, count, sum) of a bucket statement by bucket number first .. first + n - 1, so that
 * looking each up costs nothing whatever the number of buckets. */
struct rc_buckets {
	const struct rdb_rows *rows;
	long long first;
	size_t n;
	size_t *ix; /* n: row index, or SIZE_MAX (no row: an empty bucket) */
};

static int rc_buckets_init(struct rc_buckets *bk, const struct rdb_rows *r, long long first, size_t n)
{
	bk->rows = r;
	bk->first = first;
	bk->n = n;
	if (!(bk->ix = malloc((n ? n : 1) * sizeof *bk->ix)))
		return -1;
	for (size_t i = 0; i < n; i++)
		bk->ix[i] = SIZE_MAX;
	for (size_t i = 0; i < r->nrows; i++) {
		long long b = rdb_cell(r, i, 0) ? atoll(rdb_cell(r, i, 0)) : LLONG_MIN;

		if (b >= first && (unsigned long long)(b - first) < n)
			bk->ix[b - first] = i;
	}
	return 0;
}

static void rc_buckets_get(const struct rc_buckets *bk, long long b, struct rc_sum *out)
{
	size_t i = b >= bk->first && (unsigned long long)(b - bk->first) < bk->n ? bk->ix[b - bk->first] : SIZE_MAX;

	out->count = 0;
	snprintf(out->sum, sizeof out->sum, "0");
	if (i == SIZE_MAX)
		return;
	out->count = rdb_cell(bk->rows, i, 1) ? atoll(rdb_cell(bk->rows, i, 1)) : 0;
	snprintf(out->sum, sizeof out->sum, "%s", rdb_cell(bk->rows, i, 2) ? rdb_cell(bk->rows, i, 2) : "0");
}

/* One bucket statement per side (the caller writes them into qs and qt), run at both sides at once (the
 * target's in a thread; not at all when it does not exist) and indexed for buckets first .. first + n - 1.
 * rc_pass_free frees it, run or not. */
struct rc_pass {
	struct buf qs, qt;
	struct rc_bucket_job js, jt;
	struct rc_buckets bs, bt;
};

static void rc_pass_init(struct rc_pass *p)
{
	memset(p, 0, sizeof *p);
	buf_init(&p->qs, 0);
	buf_init(&p->qt, 0);
}

static int rc_pass_run(struct rc *rc, struct rc_pass *p, long long first, size_t n, struct cerr *err)
{
	pthread_t th;

	if (buf_putc(&p->qs, 0) < 0 || buf_putc(&p->qt, 0) < 0)
		return cerr_set(err, false, "out of memory");
	p->js = (struct rc_bucket_job){.db = rc->src, .side = &rc->t->src, .sql = (char *)p->qs.data};
	p->jt = (struct rc_bucket_job){.db = rc->tgt, .side = &rc->t->tgt, .sql = (char *)p->qt.data};
	if (rc->t->target_exists && pthread_create(&th, NULL, rc_bucket_run, &p->jt) == 0) {
		rc_bucket_run(&p->js);
		pthread_join(th, NULL);
	} else {
		rc_bucket_run(&p->js);
		if (rc->t->target_exists)
			rc_bucket_run(&p->jt);
	}
	if (p->js.rc < 0 || p->jt.rc < 0) {
		*err = p->js.rc < 0 ? p->js.err : p->jt.err;
		return -1;
	}
	if (rc_buckets_init(&p->bs, &p->js.rows, first, n) < 0 || rc_buckets_init(&p->bt, &p->jt.rows, first, n) < 0)
		return cerr_set(err, false, "out of memory");
	return 0;
}

static void rc_pass_free(struct rc_pass *p)
{
	free(p->bs.ix);
	free(p->bt.ix);
	rdb_rows_free(&p->js.rows);
	rdb_rows_free(&p->jt.rows);
	buf_free(&p->qs);
	buf_free(&p->qt);
}

static int rc_descend(struct rc *rc, const struct rs_range *r, const struct rc_sum *s, const struct rc_sum *t, int depth,
                      struct rc_keys *cand, struct cerr *err);

/* A differing range of one integer key with both ends known: cut into RC_FANOUT equal widths, each
 * side's sums of all pieces in one statement (both sides at once), then down into the pieces that
 * differ. Returns 1 when it did, 0 when the range cannot be cut so (the caller cuts it by keys). */
static int rc_descend_int(struct rc *rc, const struct rs_range *r, int depth, struct rc_keys *cand, struct cerr *err)
{
	struct rc_table *tb = rc->t;
	long long lo, hi, width, nb;
	unsigned long long span;
	struct rc_pass p;
	int ret = -1;

	if (tb->nkeys != 1 || tb->src.kclass[0] != CANON_KEY_INT || !r->lo || !r->hi)
		return 0;
	lo = atoll(r->lo[0]);
	hi = atoll(r->hi[0]);
	span = (unsigned long long)hi - (unsigned long long)lo;
	if (hi <= lo || span > (unsigned long long)LLONG_MAX || span < 2)
		return 0;
	width = (long long)((span + RC_FANOUT - 1) / RC_FANOUT);
	nb = (long long)((span + (unsigned long long)width - 1) / (unsigned long long)width);
	rc_pass_init(&p);
	if (rs_buckets_sql(&tb->src, r, lo + 1, width, &p.qs) < 0 || rs_buckets_sql(&tb->tgt, r, lo + 1, width, &p.qt) < 0) {
		cerr_set(err, false, "out of memory");
		goto done;
	}
	if (rc_pass_run(rc, &p, 0, (size_t)nb, err) < 0)
		goto done;
	for (long long b = 0; b < nb; b++) {
		char blo[32], bhi[32], *plo = blo, *phi = bhi;
		struct rs_range sub = {&plo, &phi};
		struct rc_sum s, t;

		rc_buckets_get(&p.bs, b, &s);
		rc_buckets_get(&p.bt, b, &t);
		if (s.count == t.count && strcmp(s.sum, t.sum) == 0)
			continue;
		snprintf(blo, sizeof blo, "%lld", lo + b * width);
		snprintf(bhi, sizeof bhi, "%lld", b + 1 == nb ? hi : lo + (b + 1) * width);
		if (rc_descend(rc, &sub, &s, &t, depth + 1, cand, err) < 0)
			goto done;
	}
	ret = 1;
done:
	rc_pass_free(&p);
	return ret;
}

/* Range r differs (its sums s and t): compare its rows when it is small, else cut it and go down. */
static int rc_descend(struct rc *rc, const struct rs_range *r, const struct rc_sum *s, const struct rc_sum *t, int depth,
                      struct rc_keys *cand, struct cerr *err)
{
	long long most = s->count > t->count ? s->count : t->count;
	bool by_src = s->count >= t->count;
	struct rdb_rows bounds = {0};
	struct rs_range *sub;
	size_t nsub;
	long every = (long)((most + RC_FANOUT - 1) / RC_FANOUT);
	int e;

	if (most <= rc->o->leaf_rows || depth >= RC_MAX_DEPTH)
		return rc_leaf(rc, r, cand, err);
	if ((e = rc_descend_int(rc, r, depth, cand, err)) != 0)
		return e < 0 ? -1 : 0;
	/* cut by the keys of the side with more rows here, so the pieces get smaller */
	if (rc_split(rc, by_src ? rc->src : rc->tgt, by_src ? &rc->t->src : &rc->t->tgt, r, every, &sub, &nsub, &bounds,
	             err) < 0) {
		rdb_rows_free(&bounds);
		return -1;
	}
	e = nsub <= 1 ? rc_leaf(rc, r, cand, err) : rc_compare_ranges(rc, sub, nsub, depth + 1, false, cand, err);
	free(sub);
	rdb_rows_free(&bounds);
	return e;
}

/* Checksums of n > 1 consecutive ranges in one statement per side (rs_cuts_sql: one pass over their span
 * instead of one per range, which matters where no index serves the key), both sides at once. */
static int rc_cut_sums(struct rc *rc, const struct rs_range *ranges, size_t n, struct rc_sum *s, struct rc_sum *t,
                       struct cerr *err)
{
	struct rs_range span = {ranges[0].lo, ranges[n - 1].hi};
	char ***cuts = malloc(n * sizeof *cuts);
	struct rc_pass p;
	int ret = -1;

	if (!cuts)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i + 1 < n; i++)
		cuts[i] = ranges[i].hi;
	rc_pass_init(&p);
	if (rs_cuts_sql(&rc->t->src, &span, (char *const *const *)cuts, n - 1, &p.qs) < 0 ||
	    rs_cuts_sql(&rc->t->tgt, &span, (char *const *const *)cuts, n - 1, &p.qt) < 0) {
		cerr_set(err, false, "out of memory");
		goto done;
	}
	if (rc_pass_run(rc, &p, 0, n, err) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		rc_buckets_get(&p.bs, (long long)i, &s[i]);
		rc_buckets_get(&p.bt, (long long)i, &t[i]);
	}
	ret = 0;
done:
	rc_pass_free(&p);
	free(cuts);
	return ret;
}

static int rc_compare_ranges(struct rc *rc, const struct rs_range *ranges, size_t n, int depth, bool top,
                             struct rc_keys *cand, struct cerr *err)
{
	struct rc_sum *s = calloc(n + 1, sizeof *s), *t = calloc(n + 1, sizeof *t);
	int ret = -1;

	if (!s || !t) {
		cerr_set(err, false, "out of memory");
		goto done;
	}
	if (top) {
		rc->ranges_total = (long)n;
		rc->ranges_done = 0;
	}
	/* a statement per RC_CUTS_PER_QUERY ranges: the nested CASE grows with the cuts, and statements must
	 * stay far below MySQL's max_allowed_packet (16 MB by default) and quick to plan */
	for (size_t i = 0; i < n; i += RC_CUTS_PER_QUERY) {
		size_t m = n - i < RC_CUTS_PER_QUERY ? n - i : RC_CUTS_PER_QUERY;

		if ((m > 1 ? rc_cut_sums(rc, ranges + i, m, s + i, t + i, err)
		           : rc_checksums(rc, ranges + i, m, s + i, t + i, err)) < 0)
			goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (top) {
			rc->t->src_rows += s[i].count;
			rc->t->tgt_rows += t[i].count;
		}
		if ((s[i].count != t[i].count || strcmp(s[i].sum, t[i].sum) != 0) &&
		    rc_descend(rc, &ranges[i], &s[i], &t[i], depth, cand, err) < 0)
			goto done;
		if (top) {
			rc->ranges_done++;
			rc_progress(rc);
		}
	}
	ret = 0;
done:
	free(s);
	free(t);
	return ret;
}

/* Rows by key of one side: keys[i] -> row index in *rows, or SIZE_MAX. */
static int rc_fetch_rows(struct rdb *db, const struct rs_side *side, char *const *const *keys, size_t n,
                         struct rdb_rows *rows, size_t *idx, struct cerr *err)
{
	struct buf sql;
	int e;

	buf_init(&sql, 0);
	for (size_t i = 0; i < n; i++)
		idx[i] = SIZE_MAX;
	if (rs_rows_sql(side, keys, n, &sql) < 0 || buf_putc(&sql, 0) < 0) {
		buf_free(&sql);
		return cerr_set(err, false, "out of memory");
	}
	e = rdb_query(db, (char *)sql.data, rows, err);
	buf_free(&sql);
	if (e < 0)
		return -1;
	for (size_t r = 0; r < rows->nrows; r++)
		for (size_t i = 0; i < n; i++)
			if (idx[i] == SIZE_MAX && rs_key_cmp(side, (char *const *)&rows->cells[r * rows->ncols], keys[i]) == 0) {
				idx[i] = r;
				break;
			}
	return 0;
}

static bool rc_json_same(const char *a, const char *b)
{
	json_t *x = json_loads(a, JSON_DECODE_ANY, NULL), *y = json_loads(b, JSON_DECODE_ANY, NULL);
	bool same = x && y ? json_equal(x, y) : strcmp(a, b) == 0;

	json_decref(x);
	json_decref(y);
	return same;
}

/* Whether row a of ra equals row b of rb (canonical cells after the key cells). */
static bool rc_row_same(const struct rc_table *t, const struct rdb_rows *ra, size_t a, const struct rdb_rows *rb,
                        size_t b)
{
	for (int c = 0; c < t->m->table.ncols; c++) {
		size_t k = (size_t)t->nkeys + (size_t)c;
		const char *x = rdb_cell(ra, a, k), *y = rdb_cell(rb, b, k);

		if (!x || !y) {
			if (x || y)
				return false;
			continue;
		}
		if (strcmp(x, y) == 0 && ra->lens[a * ra->ncols + k] == rb->lens[b * rb->ncols + k])
			continue;
		if (canon_json_compare(t->tgt.target, &t->m->cols[c].type) && rc_json_same(x, y))
			continue;
		return false;
	}
	return true;
}

/* What differs now for each key (-1: nothing), reading the target and then the source; with src_before
 * (the source read before), keys whose source row changed meanwhile get `changed`. */
struct rc_state {
	struct rdb_rows rows;
	size_t *idx;
};

static void rc_state_free(struct rc_state *s)
{
	rdb_rows_free(&s->rows);
	free(s->idx);
	s->idx = NULL;
}

static int rc_state_read(struct rdb *db, const struct rs_side *side, bool exists, const struct rc_keys *ks, size_t from,
                         size_t n, struct rc_state *st, long long *fetched, struct cerr *err)
{
	char ***keys = calloc(n + 1, sizeof *keys);
	int e = 0;

	memset(&st->rows, 0, sizeof st->rows);
	st->idx = calloc(n + 1, sizeof *st->idx);
	if (!keys || !st->idx) {
		free(keys);
		return cerr_set(err, false, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		keys[i] = ks->v[from + i].v;
		st->idx[i] = SIZE_MAX;
	}
	if (exists)
		e = rc_fetch_rows(db, side, (char *const *const *)keys, n, &st->rows, st->idx, err);
	free(keys);
	if (fetched)
		*fetched += (long long)st->rows.nrows;
	return e;
}

/* -1: same; else the kind of difference */
static int rc_state_diff(const struct rc_table *t, const struct rc_state *s, const struct rc_state *g, size_t i)
{
	if (s->idx[i] == SIZE_MAX && g->idx[i] == SIZE_MAX)
		return -1;
	if (g->idx[i] == SIZE_MAX)
		return RC_MISSING;
	if (s->idx[i] == SIZE_MAX)
		return RC_EXTRA;
	return rc_row_same(t, &s->rows, s->idx[i], &g->rows, g->idx[i]) ? -1 : RC_DIFFERENT;
}

/* Keeps the candidates whose whole rows differ (json compared parsed) as RC_DIFFERENT diffs. */
static int rc_judge(struct rc *rc, struct rc_keys *cand, struct cerr *err)
{
	struct rc_table *t = rc->t;

	for (size_t from = 0; from < cand->n; from += RC_KEYS_PER_QUERY) {
		size_t n = cand->n - from < RC_KEYS_PER_QUERY ? cand->n - from : RC_KEYS_PER_QUERY;
		struct rc_state s = {0}, g = {0};
		int e = 0;

		if (rc_state_read(rc->src, &t->src, true, cand, from, n, &s, &t->fetched, err) < 0 ||
		    rc_state_read(rc->tgt, &t->tgt, t->target_exists, cand, from, n, &g, &t->fetched, err) < 0) {
			rc_state_free(&s);
			rc_state_free(&g);
			return -1;
		}
		for (size_t i = 0; i < n && e == 0; i++) {
			int d = rc_state_diff(t, &s, &g, i);

			if (d >= 0)
				e = rc_keys_add(&t->diffs, cand->v[from + i].v, t->nkeys, (enum rc_kind)d);
		}
		rc_state_free(&s);
		rc_state_free(&g);
		if (e < 0)
			return cerr_set(err, false, "out of memory");
	}
	return 0;
}

static int rc_current_lsn(struct rdb *db, char *out, size_t outlen, struct cerr *err)
{
	struct rdb_rows r;

	if (rdb_query(db, "SELECT pg_current_wal_lsn()::text", &r, err) < 0)
		return -1;
	snprintf(out, outlen, "%s", r.nrows == 1 && rdb_cell(&r, 0, 0) ? rdb_cell(&r, 0, 0) : "0/0");
	rdb_rows_free(&r);
	return 0;
}

/* Step 3 of the header: differences that survive the pipeline catching up are drift. A key is drift
 * when its source row was the same before the position waited for and after the target was read (so the
 * sink had every change of it) and the target still differs; the same now means it was lag; a source row
 * that changed meanwhile is looked at again, until the deadline. */
static int rc_settle(struct rc *rc, struct lag *lag, long long deadline, struct cerr *err)
{
	struct rc_table *t = rc->t;
	struct rc_keys pending = t->diffs;
	int ret = -1;

	memset(&t->diffs, 0, sizeof t->diffs);
	while (pending.n > 0) {
		size_t nchunks = (pending.n + RC_KEYS_PER_QUERY - 1) / RC_KEYS_PER_QUERY;
		struct rc_state *before = calloc(nchunks, sizeof *before);
		struct rc_keys next = {0};
		char lsn[64], why[512];
		int w, e = 0;

		if (!before) {
			cerr_set(err, false, "out of memory");
			goto done;
		}
		for (size_t c = 0; c < nchunks && e == 0; c++) {
			size_t from = c * RC_KEYS_PER_QUERY;
			size_t n = pending.n - from < RC_KEYS_PER_QUERY ? pending.n - from : RC_KEYS_PER_QUERY;

			e = rc_state_read(rc->src, &t->src, true, &pending, from, n, &before[c], &t->fetched, err);
		}
		if (e < 0 || rc_current_lsn(rc->src, lsn, sizeof lsn, err) < 0 ||
		    (w = lag_wait(lag, lsn, &t->topic, 1, deadline, why, sizeof why, err)) < 0)
			goto fail_chunks;
		if (w == 0) {
			snprintf(t->inflight_why, sizeof t->inflight_why, "%s", why);
			for (size_t i = 0; i < pending.n && e == 0; i++)
				e = rc_keys_add(&t->inflight, pending.v[i].v, t->nkeys, pending.v[i].kind);
			goto end_round;
		}
		for (size_t c = 0; c < nchunks && e == 0; c++) {
			size_t from = c * RC_KEYS_PER_QUERY;
			size_t n = pending.n - from < RC_KEYS_PER_QUERY ? pending.n - from : RC_KEYS_PER_QUERY;
			struct rc_state g = {0}, after = {0};

			if (rc_state_read(rc->tgt, &t->tgt, t->target_exists, &pending, from, n, &g, &t->fetched, err) < 0 ||
			    rc_state_read(rc->src, &t->src, true, &pending, from, n, &after, &t->fetched, err) < 0) {
				rc_state_free(&g);
				rc_state_free(&after);
				goto fail_chunks;
			}
			for (size_t i = 0; i < n && e == 0; i++) {
				int d = rc_state_diff(t, &after, &g, i);
				bool moved = rc_state_diff(t, &before[c], &after, i) >= 0;

				if (d < 0)
					continue; /* it was lag */
				e = rc_keys_add(moved ? &next : &t->diffs, pending.v[from + i].v, t->nkeys, (enum rc_kind)d);
			}
			rc_state_free(&g);
			rc_state_free(&after);
		}
		if (e == 0 && next.n > 0 && clock_mono_ms() >= deadline) {
			snprintf(t->inflight_why, sizeof t->inflight_why, "the source rows kept changing until the timeout");
			for (size_t i = 0; i < next.n && e == 0; i++)
				e = rc_keys_add(&t->inflight, next.v[i].v, t->nkeys, next.v[i].kind);
			rc_keys_free(&next, t->nkeys);
		}
	end_round:
		for (size_t c = 0; c < nchunks; c++)
			rc_state_free(&before[c]);
		free(before);
		rc_keys_free(&pending, t->nkeys);
		pending = next;
		if (e < 0) {
			cerr_set(err, false, "out of memory");
			goto done;
		}
		continue;
	fail_chunks:
		for (size_t c = 0; c < nchunks; c++)
			rc_state_free(&before[c]);
		free(before);
		rc_keys_free(&next, t->nkeys);
		goto done;
	}
	ret = 0;
done:
	rc_keys_free(&pending, t->nkeys);
	return ret;
}

/* Whether the mapping of source table `src` was asked for (--table: "schema.table" or "table"). */
static bool rc_selected(const struct reconcile_opts *o, const struct cfg_mapping *m)
{
	if (o->ntables == 0)
		return true;
	for (size_t i = 0; i < o->ntables; i++) {
		const char *dot = strchr(o->tables[i], '.');

		if (dot ? strncmp(o->tables[i], m->source.schema, (size_t)(dot - o->tables[i])) == 0 &&
		                  strlen(m->source.schema) == (size_t)(dot - o->tables[i]) &&
		                  strcmp(dot + 1, m->source.name) == 0
		        : strcmp(o->tables[i], m->source.name) == 0)
			return true;
	}
	return false;
}

/* One integer key: the source's smallest and largest key and its row count (the planner's estimate; a
 * count when the planner knows none (never analyzed, or analyzed empty), so that an unknown size does not
 * make a million ranges).
 * 1 with them, 0 when the table is empty, -1 with err. */
static int rc_int_span(struct rc *rc, long long *lo, long long *hi, long long *rows, struct cerr *err)
{
	const struct rs_side *s = &rc->t->src;
	struct rdb_rows r;
	char *sql = rc_strdupf("SELECT min(%s)::text, max(%s)::text, (SELECT CASE WHEN c.reltuples <= 0 THEN"
	                       " (SELECT count(*) FROM %s) ELSE c.reltuples::bigint END FROM pg_class c WHERE c.oid ="
	                       " '%s'::regclass)::text FROM %s",
	                       s->kx[0], s->kx[0], s->table, s->table, s->table);
	int e;

	if (!sql)
		return cerr_set(err, false, "out of memory");
	e = rdb_query(rc->src, sql, &r, err);
	free(sql);
	if (e < 0)
		return -1;
	e = r.nrows == 1 && rdb_cell(&r, 0, 0) && rdb_cell(&r, 0, 1);
	if (e) {
		*lo = atoll(rdb_cell(&r, 0, 0));
		*hi = atoll(rdb_cell(&r, 0, 1));
		*rows = rdb_cell(&r, 0, 2) ? atoll(rdb_cell(&r, 0, 2)) : -1;
	}
	rdb_rows_free(&r);
	return e;
}

/* First-level ranges of a table with one integer key: equal widths between the source's smallest and
 * largest key (an index lookup each), about range_rows rows each by the planner's row count, the ends
 * unbounded (the target may hold keys beyond them). No pass over the table is needed, unlike the cut
 * points of other keys. Returns 0 with *n = 0 when the table is empty (compare it whole). */
static int rc_int_ranges(struct rc *rc, struct rs_range **out, size_t *n, char ***bv, struct cerr *err)
{
	long long lo, hi, est;
	unsigned long long span, width, nr;
	int e;

	*out = NULL;
	*n = 0;
	*bv = NULL;
	if ((e = rc_int_span(rc, &lo, &hi, &est, err)) <= 0)
		return e;
	span = (unsigned long long)hi - (unsigned long long)lo; /* keys lo..hi: span + 1 of them at most */
	if (est <= 0 || (unsigned long long)est > span)
		est = span >= (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)span + 1;
	nr = (unsigned long long)est / (unsigned long long)rc->o->range_rows + 1;
	if (nr > 1000000)
		nr = 1000000;
	width = span / nr + 1;
	*out = calloc(nr + 1, sizeof **out);
	*bv = calloc(nr + 1, sizeof **bv);
	if (!*out || !*bv)
		return cerr_set(err, false, "out of memory");
	for (unsigned long long i = 0; i + 1 < nr; i++) {
		/* cut after lo - 1 + (i + 1) * width, computed without overflow */
		long long b = (long long)((unsigned long long)lo + (i + 1) * width - 1);

		if (!((*bv)[i] = rc_strdupf("%lld", b)))
			return cerr_set(err, false, "out of memory");
	}
	for (unsigned long long i = 0; i < nr; i++) {
		(*out)[i].lo = i == 0 ? NULL : &(*bv)[i - 1];
		(*out)[i].hi = i + 1 == nr ? NULL : &(*bv)[i];
	}
	*n = (size_t)nr;
	return 0;
}

/* One integer key: the first level in one pass over each table (both at once): equal-width buckets between
 * the source's smallest and largest key, about range_rows rows each, plus one bucket below and one above
 * for target keys beyond them. Returns 1 when done, 0 when the table is empty or its keys reach the ends
 * of bigint (then rc_int_ranges), -1 on error. */
static int rc_int_pass(struct rc *rc, struct rc_keys *cand, struct cerr *err)
{
	struct rc_table *tb = rc->t;
	struct rc_pass p;
	long long lo, hi, est, width, nb;
	unsigned long long span, nr;
	int e, ret = -1;

	if ((e = rc_int_span(rc, &lo, &hi, &est, err)) <= 0)
		return e;
	span = (unsigned long long)hi - (unsigned long long)lo;
	if (lo == LLONG_MIN || hi == LLONG_MAX || span >= (unsigned long long)LLONG_MAX / 2)
		return 0;
	if (est <= 0 || (unsigned long long)est > span)
		est = (long long)span + 1;
	nr = (unsigned long long)est / (unsigned long long)rc->o->range_rows + 1;
	if (nr > 100000)
		nr = 100000;
	width = (long long)(span / nr + 1);
	nb = (long long)(span / (unsigned long long)width + 1);
	rc_pass_init(&p);
	if (rs_buckets_all_sql(&tb->src, lo, hi, width, nb, &p.qs) < 0 ||
	    rs_buckets_all_sql(&tb->tgt, lo, hi, width, nb, &p.qt) < 0) {
		cerr_set(err, false, "out of memory");
		goto done;
	}
	if (rc_pass_run(rc, &p, -1, (size_t)nb + 2, err) < 0)
		goto done;
	rc->ranges_total = (long)nb + 2;
	rc->ranges_done = 0;
	for (long long b = -1; b <= nb; b++) {
		char blo[32], bhi[32], *plo = blo, *phi = bhi;
		struct rs_range sub = {b < 0 ? NULL : &plo, b == nb ? NULL : &phi};
		struct rc_sum s, t;

		rc_buckets_get(&p.bs, b, &s);
		rc_buckets_get(&p.bt, b, &t);
		tb->src_rows += s.count;
		tb->tgt_rows += t.count;
		rc->ranges_done++;
		if (s.count == t.count && strcmp(s.sum, t.sum) == 0)
			continue;
		/* bucket b holds keys base + b * width .. base + (b + 1) * width - 1, i.e. (lo - 1 + b * width, ...] */
		snprintf(blo, sizeof blo, "%lld", b < 0 ? 0 : b == nb ? hi : lo - 1 + b * width);
		snprintf(bhi, sizeof bhi, "%lld", b < 0 ? lo - 1 : b + 1 >= nb ? hi : lo - 1 + (b + 1) * width);
		if (rc_descend(rc, &sub, &s, &t, 0, cand, err) < 0)
			goto done;
		rc_progress(rc);
	}
	ret = 1;
done:
	rc_pass_free(&p);
	return ret;
}

/* The whole table first, when the target is PostgreSQL: equal counts and hash sums on both sides (one
 * pass each, at once, without grouping, which costs as much as the hashing there) prove the table
 * identical, the usual case; only a table that differs is cut into ranges. A MySQL target's text hashing
 * costs far more than the grouping, so there a second pass would cost more than it saves. */
static int rc_whole_same(struct rc *rc, bool *same, struct cerr *err)
{
	struct rs_range whole = {NULL, NULL};
	struct rc_sum s, t;

	*same = false;
	if (!rc->t->target_exists || rdb_engine(rc->tgt) != SINKVALUE_PG)
		return 0;
	if (rc_checksums(rc, &whole, 1, &s, &t, err) < 0)
		return -1;
	if (s.count == t.count && strcmp(s.sum, t.sum) == 0) {
		*same = true;
		rc->t->src_rows = s.count;
		rc->t->tgt_rows = t.count;
	}
	return 0;
}

static int rc_compare_table(struct rc *rc, struct lag *lag, int slot, struct cerr *err)
{
	struct rc_table *t = rc->t;
	struct rs_range whole = {NULL, NULL};
	struct rdb_rows bounds = {0};
	struct rs_range *ranges = NULL;
	struct rc_keys cand = {0};
	char **bv = NULL;
	size_t n = 0;
	bool same;
	int ret = -1;

	if (rc_target_exists(rc, t, err) < 0 || rc_whole_same(rc, &same, err) < 0)
		return -1;
	if (same)
		goto compared;
	if (t->nkeys == 1 && t->src.kclass[0] == CANON_KEY_INT) {
		int e = rc_int_pass(rc, &cand, err);

		if (e < 0)
			goto done;
		if (e > 0)
			goto compared;
		if (rc_int_ranges(rc, &ranges, &n, &bv, err) < 0)
			goto done;
		if (n == 0) {
			free(ranges);
			ranges = calloc(1, sizeof *ranges);
			n = 1;
			if (!ranges) {
				cerr_set(err, false, "out of memory");
				goto done;
			}
		}
	} else if (rc_split(rc, rc->src, &t->src, &whole, rc->o->range_rows, &ranges, &n, &bounds, err) < 0) {
		goto done;
	}
	if (rc_compare_ranges(rc, ranges, n, 0, true, &cand, err) < 0)
		goto done;
compared:
	if (rc_judge(rc, &cand, err) < 0)
		goto done;
	if (rc->o->progress)
		fprintf(stderr, "\r\033[K");
	if (t->diffs.n > 0 && slot == 1 && rc_settle(rc, lag, clock_mono_ms() + rc->o->timeout_s * 1000LL, err) < 0)
		goto done;
	rc_keys_sort(&t->diffs, &t->src);
	rc_keys_sort(&t->inflight, &t->src);
	ret = 0;
done:
	rc_keys_free(&cand, t->nkeys);
	free(ranges);
	rdb_rows_free(&bounds);
	for (size_t i = 0; bv && bv[i]; i++)
		free(bv[i]);
	free(bv);
	return ret;
}

static int rc_repair_all(struct rc *rc, struct rc_table **tables, size_t n, FILE *out, struct cerr *err)
{
	struct target *tg = NULL;
	int ret = -1;

	if (!rc->o->dry_run) {
		if (!(tg = target_new(rc->scfg, err)) || target_connect(tg, err) < 0)
			goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (tables[i]->diffs.n == 0)
			continue;
		if (tg && target_prepare_table(tg, &tables[i]->m->table, rc->scfg->create_tables, err) < 0)
			goto done;
		if (rc_repair(tables[i], rc->src, tg, rc->o->repair_batch, rc->o->dry_run, rc->o->json ? NULL : out, err) < 0)
			goto done;
	}
	ret = 0;
done:
	target_free(tg);
	return ret;
}

int reconcile_run(const struct cleave_config *cfg, const struct cfg_sink *scfg, const struct reconcile_opts *o,
                  FILE *out, enum reconcile_outcome *outcome, struct cerr *err)
{
	struct rc rc = {.cfg = cfg, .scfg = scfg, .o = o};
	struct rc_table **tables = calloc(scfg->nmappings + 1, sizeof *tables);
	struct lag *lag = NULL;
	size_t n = 0;
	int slot, ret = -1;
	bool drift = false;
	char what[300];

	*outcome = RECONCILE_CLEAN;
	if (!tables)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i < o->ntables; i++) {
		bool found = false;

		for (size_t m = 0; m < scfg->nmappings && !found; m++) {
			const char *one[1] = {o->tables[i]};
			struct reconcile_opts oo = {.tables = one, .ntables = 1};

			found = rc_selected(&oo, &scfg->mappings[m]);
		}
		if (!found) {
			cerr_set(err, false, "sink %s has no mapping of source table %s", scfg->name, o->tables[i]);
			goto done;
		}
	}
	if (!(rc.src = rdb_connect_pg(cfg->source.dsn, "the source PostgreSQL", err)))
		goto done;
	snprintf(what, sizeof what, "sink %s's target", scfg->name);
	rc.tgt = scfg->type == CFG_SINK_POSTGRES ? rdb_connect_pg(scfg->dsn, what, err)
	                                         : rdb_connect_mysql(scfg->dsn, what, err);
	if (!rc.tgt || !(lag = lag_new(cfg, scfg, rc.src, rc.tgt, err)) || (slot = lag_slot_exists(lag, err)) < 0)
		goto done;
	for (size_t m = 0; m < scfg->nmappings; m++) {
		if (!rc_selected(o, &scfg->mappings[m]))
			continue;
		if (!(tables[n] = rc_table_new(&rc, &scfg->mappings[m], err)))
			goto done;
		rc.t = tables[n++];
		if (rc_compare_table(&rc, lag, slot, err) < 0) {
			cerr_wrap(err, "%s", rc.t->source);
			goto done;
		}
		if (rc.t->diffs.n > 0 && slot == 0)
			snprintf(rc.t->inflight_why, sizeof rc.t->inflight_why,
			         "replication slot %s does not exist: replication lag could not be told apart", cfg->source.slot);
	}
	if (o->repair && rc_repair_all(&rc, tables, n, out, err) < 0)
		goto done;
	if (o->json)
		rc_report_json(out, scfg->name, tables, n, o->limit, o->repair, o->dry_run);
	else
		rc_report_text(out, scfg->name, tables, n, o->limit, o->repair, o->dry_run);
	for (size_t i = 0; i < n; i++) {
		bool fixed = o->repair && !o->dry_run;

		if ((tables[i]->diffs.n > 0 && !fixed) || tables[i]->inflight.n > 0)
			drift = true;
	}
	*outcome = drift ? RECONCILE_DRIFT : RECONCILE_CLEAN;
	ret = 0;
done:
	for (size_t i = 0; i < n; i++)
		rc_table_free(tables[i]);
	free(tables);
	lag_free(lag);
	rdb_free(rc.src);
	rdb_free(rc.tgt);
	return ret;
}
