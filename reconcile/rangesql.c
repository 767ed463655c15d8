/* rangesql.c: see rangesql.h. */
#include "reconcile/rangesql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *rs_take(struct buf *b)
{
	char *s;

	if (buf_putc(b, 0) < 0) {
		buf_free(b);
		return NULL;
	}
	s = (char *)b->data;
	b->data = NULL;
	buf_free(b);
	return s;
}

/* A string built by f(arg...) into a fresh buffer; NULL when out of memory. */
static char *rs_canon(const struct rs_side *s, const struct rs_column *c, const char *q)
{
	struct buf b;

	buf_init(&b, 0);
	if (canon_expr(s->target, s->engine == SINKVALUE_PG && s->target == SINKVALUE_MYSQL ? CANON_SOURCE
	                                                                                     : CANON_TARGET,
	               &c->type, q, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return rs_take(&b);
}

static char *rs_dup(const char *a)
{
	return strdup(a);
}

int rs_side_init(struct rs_side *s, enum sinkvalue_engine engine, enum sinkvalue_engine target, const char *schema,
                 const char *table, const struct rs_column *cols, int ncols)
{
	struct buf b, q, h;
	int k = 0;
	bool pg = engine == SINKVALUE_PG, fast;

	memset(s, 0, sizeof *s);
	s->engine = engine;
	s->target = target;
	s->ncols = ncols;
	for (int i = 0; i < ncols; i++)
		s->nkeys += cols[i].key;
	s->kclass = calloc((size_t)s->nkeys + 1, sizeof *s->kclass);
	s->kx = calloc((size_t)s->nkeys + 1, sizeof *s->kx);
	s->kc = calloc((size_t)s->nkeys + 1, sizeof *s->kc);
	s->cx = calloc((size_t)ncols + 1, sizeof *s->cx);
	if (!s->kclass || !s->kx || !s->kc || !s->cx)
		return -1;
	buf_init(&b, 0);
	if ((schema && (canon_quote_ident(engine, schema, &b) < 0 || buf_putc(&b, '.') < 0)) ||
	    canon_quote_ident(engine, table, &b) < 0 || !(s->table = rs_take(&b)))
		return -1;
	/* PostgreSQL on both sides hashes binary values (no text: several times faster); a MySQL target needs
	 * the same function on both sides: MD5 of the canonical texts */
	fast = engine == SINKVALUE_PG && target == SINKVALUE_PG;
	buf_init(&h, 0);
	if (buf_puts(&h, fast ? "(" : pg ? "('x' || substr(md5(" : "CAST(CONV(SUBSTRING(MD5(CONCAT(") <
	    0)
		goto fail;
	for (int i = 0; i < ncols; i++) {
		char *qc;

		buf_init(&q, 0);
		if (canon_quote_ident(engine, cols[i].name, &q) < 0 || !(qc = rs_take(&q)))
			goto fail;
		s->cx[i] = rs_canon(s, &cols[i], qc);
		if (!s->cx[i]) {
			free(qc);
			goto fail;
		}
		int he;

		if (fast)
			he = (i && buf_puts(&h, " # ") < 0)  ? -1
			     : cols[i].loose                 ? canon_pg_hash_text(&cols[i].type, qc, i + 1, &h)
			                                     : canon_pg_hash_value(&cols[i].type, qc, i + 1, &h);
		else if (canon_self_delimiting(&cols[i].type)) /* "v<text>|" or "n" (canon.h) */
			he = buf_printf(&h, pg ? "%scoalesce('v' || %s || '|', 'n')" : "%sCOALESCE(CONCAT('v', %s, '|'), 'n')",
			                i ? (pg ? " || " : ", ") : "", s->cx[i]);
		else if (pg) /* "v<bytes>:<text>" or "n" */
			he = buf_printf(&h, "%scoalesce('v' || octet_length(%s) || ':' || %s, 'n')", i ? " || " : "",
			                s->cx[i], s->cx[i]);
		else
			he = buf_printf(&h, "%sCOALESCE(CONCAT('v', LENGTH(%s), ':', %s), 'n')", i ? ", " : "", s->cx[i],
			                s->cx[i]);
		if (he < 0) {
			free(qc);
			goto fail;
		}
		if (cols[i].key) {
			enum canon_key_class kc = canon_key_class(&cols[i].type);

			s->kclass[k] = kc;
			s->kc[k] = rs_dup(s->cx[i]);
			int e;

			buf_init(&b, 0);
			if (kc == CANON_KEY_INT)
				e = buf_puts(&b, qc);
			else if (pg)
				e = buf_printf(&b, "(%s) COLLATE \"C\"", s->cx[i]);
			else
				e = buf_printf(&b, "CAST(%s AS BINARY)", s->cx[i]);
			s->kx[k] = e < 0 ? NULL : rs_take(&b);
			if (e < 0)
				buf_free(&b);
			if (!s->kc[k] || !s->kx[k]) {
				free(qc);
				goto fail;
			}
			k++;
		}
		free(qc);
	}
	if (buf_puts(&h, fast ? ")" : pg ? "), 1, 15))::bit(60)::bigint" : ")), 1, 15), 16, 10) AS UNSIGNED)") < 0 ||
	    !(s->hash = rs_take(&h)))
		return -1;
	return 0;
fail:
	buf_free(&h);
	return -1;
}

void rs_side_free(struct rs_side *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nkeys; i++) {
		free(s->kx ? s->kx[i] : NULL);
		free(s->kc ? s->kc[i] : NULL);
	}
	for (int i = 0; i < s->ncols; i++)
		free(s->cx ? s->cx[i] : NULL);
	free(s->kx);
	free(s->kc);
	free(s->cx);
	free(s->kclass);
	free(s->table);
	free(s->hash);
	memset(s, 0, sizeof *s);
}

/* A key value as a literal of this side: an integer as it is (checked), text quoted (PostgreSQL) or as
 * hex bytes (MySQL, compared with BINARY). */
static int rs_literal(const struct rs_side *s, int k, const char *v, struct buf *out)
{
	if (s->kclass[k] == CANON_KEY_INT) {
		const char *p = v;

		if (*p == '-')
			p++;
		if (!*p || strspn(p, "0123456789") != strlen(p))
			return -1;
		return buf_puts(out, v);
	}
	if (s->engine == SINKVALUE_PG) {
		if (buf_putc(out, '\'') < 0)
			return -1;
		for (const char *p = v; *p; p++)
			if ((*p == '\'' && buf_putc(out, '\'') < 0) || buf_putc(out, (uint8_t)*p) < 0)
				return -1;
		return buf_putc(out, '\'');
	}
	if (buf_puts(out, "X'") < 0)
		return -1;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (buf_printf(out, "%02x", *p) < 0)
			return -1;
	return buf_putc(out, '\'');
}

/* (kx1, kx2) or kx1 */
static int rs_key_tuple(const struct rs_side *s, struct buf *out)
{
	if (s->nkeys > 1 && buf_putc(out, '(') < 0)
		return -1;
	for (int k = 0; k < s->nkeys; k++)
		if (buf_printf(out, "%s%s", k ? ", " : "", s->kx[k]) < 0)
			return -1;
	return s->nkeys > 1 ? buf_putc(out, ')') : 0;
}

static int rs_lit_tuple(const struct rs_side *s, char *const *v, struct buf *out)
{
	if (s->nkeys > 1 && buf_putc(out, '(') < 0)
		return -1;
	for (int k = 0; k < s->nkeys; k++)
		if ((k && buf_puts(out, ", ") < 0) || rs_literal(s, k, v[k], out) < 0)
			return -1;
	return s->nkeys > 1 ? buf_putc(out, ')') : 0;
}

/* " WHERE ..." for the range (nothing for the whole table). */
static int rs_where(const struct rs_side *s, const struct rs_range *r, struct buf *out)
{
	if (r->lo) {
		if (buf_puts(out, " WHERE ") < 0 || rs_key_tuple(s, out) < 0 || buf_puts(out, " > ") < 0 ||
		    rs_lit_tuple(s, r->lo, out) < 0)
			return -1;
	}
	if (r->hi) {
		if (buf_puts(out, r->lo ? " AND " : " WHERE ") < 0 || rs_key_tuple(s, out) < 0 ||
		    buf_puts(out, " <= ") < 0 || rs_lit_tuple(s, r->hi, out) < 0)
			return -1;
	}
	return 0;
}

static int rs_key_order(const struct rs_side *s, struct buf *out)
{
	for (int k = 0; k < s->nkeys; k++)
		if (buf_printf(out, "%s%s", k ? ", " : "", s->kx[k]) < 0)
			return -1;
	return 0;
}

int rs_checksum_sql(const struct rs_side *s, const struct rs_range *r, struct buf *out)
{
	if (s->engine == SINKVALUE_PG) {
		if (buf_printf(out, "SELECT count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT %s AS h FROM %s",
		               s->hash, s->table) < 0 ||
		    rs_where(s, r, out) < 0 || buf_puts(out, ") s") < 0)
			return -1;
		return 0;
	}
	if (buf_printf(out, "SELECT CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(%s), 0) AS CHAR) FROM %s", s->hash,
	               s->table) < 0 ||
	    rs_where(s, r, out) < 0)
		return -1;
	return 0;
}

int rs_buckets_sql(const struct rs_side *s, const struct rs_range *r, long long base, long long width,
                   struct buf *out)
{
	bool pg = s->engine == SINKVALUE_PG;

	if (s->nkeys != 1 || s->kclass[0] != CANON_KEY_INT || width <= 0)
		return -1;
	if (buf_printf(out,
	               pg ? "SELECT b::text, count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT"
	                    " (%s::bigint - (%lld)) / %lld AS b, %s AS h FROM %s"
	                  : "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM (SELECT"
	                    " (%s - (%lld)) DIV %lld AS b, %s AS h FROM %s",
	               s->kx[0], base, width, s->hash, s->table) < 0 ||
	    rs_where(s, r, out) < 0 || buf_puts(out, ") s GROUP BY b") < 0)
		return -1;
	return 0;
}

int rs_buckets_all_sql(const struct rs_side *s, long long base, long long last, long long width, long long nb,
                       struct buf *out)
{
	bool pg = s->engine == SINKVALUE_PG;
	const char *k = s->kx[0];

	if (s->nkeys != 1 || s->kclass[0] != CANON_KEY_INT || width <= 0)
		return -1;
	if (buf_printf(out,
	               pg ? "SELECT b::text, count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT CASE WHEN %s < %lld THEN"
	                    " -1 WHEN %s > %lld THEN %lld ELSE (%s::bigint - (%lld)) / %lld END AS b, %s AS h FROM %s) s GROUP BY b"
	                  : "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM (SELECT"
	                    " CASE WHEN %s < %lld THEN -1 WHEN %s > %lld THEN %lld ELSE (%s - (%lld)) DIV %lld END AS b,"
	                    " %s AS h FROM %s) s GROUP BY b",
	               k, base, k, last, nb, k, base, width, s->hash, s->table) < 0)
		return -1;
	return 0;
}

/* CASE WHEN key <= cuts[mid] THEN <buckets lo..mid> ELSE <buckets mid+1..hi> END, down to one bucket. */
static int rs_cuts_case(const struct rs_side *s, char *const *const *cuts, size_t lo, size_t hi, struct buf *out)
{
	size_t mid = lo + (hi - lo) / 2;

	if (lo == hi)
		return buf_printf(out, "%zu", lo);
	if (buf_puts(out, "CASE WHEN ") < 0 || rs_key_tuple(s, out) < 0 || buf_puts(out, " <= ") < 0 ||
	    rs_lit_tuple(s, cuts[mid], out) < 0 || buf_puts(out, " THEN ") < 0 || rs_cuts_case(s, cuts, lo, mid, out) < 0 ||
	    buf_puts(out, " ELSE ") < 0 || rs_cuts_case(s, cuts, mid + 1, hi, out) < 0)
		return -1;
	return buf_puts(out, " END");
}

int rs_cuts_sql(const struct rs_side *s, const struct rs_range *r, char *const *const *cuts, size_t ncuts,
                struct buf *out)
{
	bool pg = s->engine == SINKVALUE_PG;

	if (buf_puts(out, pg ? "SELECT b::text, count(*)::text, coalesce(sum(h), 0)::text FROM (SELECT "
	                     : "SELECT CAST(b AS CHAR), CAST(COUNT(*) AS CHAR), CAST(COALESCE(SUM(h), 0) AS CHAR) FROM"
	                       " (SELECT ") < 0 ||
	    rs_cuts_case(s, cuts, 0, ncuts, out) < 0 || buf_printf(out, " AS b, %s AS h FROM %s", s->hash, s->table) < 0 ||
	    rs_where(s, r, out) < 0 || buf_puts(out, ") s GROUP BY b") < 0)
		return -1;
	return 0;
}

int rs_bounds_sql(const struct rs_side *s, const struct rs_range *r, long every, struct buf *out)
{
	if (buf_puts(out, "SELECT ") < 0)
		return -1;
	for (int k = 0; k < s->nkeys; k++)
		if (buf_printf(out, "%sk%d", k ? ", " : "", k) < 0)
			return -1;
	if (buf_puts(out, " FROM (SELECT ") < 0)
		return -1;
	for (int k = 0; k < s->nkeys; k++)
		if (buf_printf(out, "%s AS k%d, ", s->kc[k], k) < 0)
			return -1;
	if (buf_puts(out, "row_number() OVER (ORDER BY ") < 0 || rs_key_order(s, out) < 0 ||
	    buf_printf(out, ") AS rn FROM %s", s->table) < 0 || rs_where(s, r, out) < 0 ||
	    buf_printf(out, ") s WHERE rn %% %ld = 0 ORDER BY rn", every) < 0)
		return -1;
	return 0;
}

int rs_leaf_sql(const struct rs_side *s, const struct rs_range *r, struct buf *out)
{
	if (buf_puts(out, "SELECT ") < 0)
		return -1;
	for (int k = 0; k < s->nkeys; k++)
		if (buf_printf(out, "%s, ", s->kc[k]) < 0)
			return -1;
	if (buf_printf(out, s->engine == SINKVALUE_PG ? "(%s)::text FROM %s" : "CAST(%s AS CHAR) FROM %s", s->hash,
	               s->table) < 0 ||
	    rs_where(s, r, out) < 0)
		return -1;
	return 0;
}

int rs_keys_where(const struct rs_side *s, char *const *const *keys, size_t n, struct buf *out)
{
	if (rs_key_tuple(s, out) < 0 || buf_puts(out, " IN (") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((i && buf_puts(out, ", ") < 0) || rs_lit_tuple(s, keys[i], out) < 0)
			return -1;
	return buf_putc(out, ')');
}

int rs_rows_sql(const struct rs_side *s, char *const *const *keys, size_t n, struct buf *out)
{
	if (buf_puts(out, "SELECT ") < 0)
		return -1;
	for (int k = 0; k < s->nkeys; k++)
		if (buf_printf(out, "%s, ", s->kc[k]) < 0)
			return -1;
	for (int i = 0; i < s->ncols; i++)
		if (buf_printf(out, "%s%s", i ? ", " : "", s->cx[i]) < 0)
			return -1;
	if (buf_printf(out, " FROM %s WHERE ", s->table) < 0 || rs_keys_where(s, keys, n, out) < 0)
		return -1;
	return 0;
}

int rs_key_cmp(const struct rs_side *s, char *const *a, char *const *b)
{
	for (int k = 0; k < s->nkeys; k++) {
		int c;

		if (s->kclass[k] == CANON_KEY_INT) {
			long long x = strtoll(a[k], NULL, 10), y = strtoll(b[k], NULL, 10);

			c = (x > y) - (x < y);
		} else {
			c = strcmp(a[k], b[k]);
		}
		if (c)
			return c;
	}
	return 0;
}
