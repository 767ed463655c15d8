/* snapshot.c: see snapshot.h. */
#include "capture/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"

/* A failed statement: retriable when the connection is gone or the server is going away or busy. */
static PGresult *snapshot_failed(PGconn *c, PGresult *res, struct cerr *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[512];
	bool retriable = PQstatus(c) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	                 strncmp(state, "57", 2) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "40", 2) == 0;

	text_one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(c), msg, sizeof msg);
	cerr_set(err, retriable, "%s", msg);
	PQclear(res);
	return NULL;
}

static PGresult *snapshot_query(PGconn *c, const char *sql, int nparams, const char *const *params,
                                struct cerr *err)
{
	PGresult *res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	return snapshot_failed(c, res, err);
}

int snapshot_exec(PGconn *c, const char *sql, struct cerr *err)
{
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		snapshot_failed(c, res, err);
		return -1;
	}
	PQclear(res);
	return 0;
}

void snapshot_table_free(struct snapshot_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->rel.ncols; i++) {
		free((char *)t->rel.cols[i].name);
		if (t->qcols)
			free(t->qcols[i]);
	}
	for (int i = 0; i < t->norder; i++)
		free(t->order_types[i]);
	free(t->rel.cols);
	free((char *)t->rel.nspname);
	free((char *)t->rel.relname);
	free(t->qualified);
	free(t->qcols);
	free(t->order);
	free(t->order_types);
	free(t);
}

static char *snapshot_quote(PGconn *c, const char *ident)
{
	char *q = PQescapeIdentifier(c, ident, strlen(ident));
	char *r = q ? strdup(q) : NULL;

	PQfreemem(q);
	return r;
}

/* Columns as pgoutput's Relation message lists them (logicalrep_write_attrs: no dropped or generated
 * columns, attnum order), each flagged when it belongs to the replica identity. */
static const char snapshot_cols_sql[] =
	"SELECT a.attname, a.atttypid, a.atttypmod,"
	" CASE c.relreplident WHEN 'f' THEN true"
	"  WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary"
	"                        AND a.attnum = ANY (i.indkey))"
	"  WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident"
	"                        AND a.attnum = ANY (i.indkey))"
	"  ELSE false END,"
	" c.oid, c.relreplident"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_attribute a ON a.attrelid = c.oid"
	" WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
	" ORDER BY a.attnum";

/* The ordering key: the primary key, else the replica identity index, in index column order. */
static const char snapshot_order_sql[] =
	"SELECT a.attname, format_type(a.atttypid, NULL), i.indexrelid"
	" FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
	" JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
	" WHERE i.indrelid = $1::oid AND (i.indisprimary OR i.indisreplident)"
	" ORDER BY i.indisprimary DESC, i.indexrelid, k.ord";

struct snapshot_table *snapshot_table_read(PGconn *c, const char *schema, const char *name, struct cerr *err)
{
	const char *params[2] = {schema, name};
	struct snapshot_table *t = calloc(1, sizeof *t);
	PGresult *res = NULL;
	int n;

	if (!t)
		goto oom;
	if (!(res = snapshot_query(c, snapshot_cols_sql, 2, params, err)))
		goto fail;
	n = PQntuples(res);
	if (n == 0) {
		cerr_set(err, false, "table %s.%s does not exist (or has no columns)", schema, name);
		goto fail;
	}
	t->rel.nspname = strdup(schema);
	t->rel.relname = strdup(name);
	t->rel.cols = calloc((size_t)n, sizeof *t->rel.cols);
	t->qcols = calloc((size_t)n, sizeof *t->qcols);
	t->qualified = malloc(strlen(schema) + strlen(name) + 8);
	if (!t->rel.nspname || !t->rel.relname || !t->rel.cols || !t->qcols || !t->qualified)
		goto oom;
	t->rel.oid = (uint32_t)strtoul(PQgetvalue(res, 0, 4), NULL, 10);
	t->rel.replident = PQgetvalue(res, 0, 5)[0];
	for (int i = 0; i < n; i++) {
		struct pgo_column *col = &t->rel.cols[i];

		col->name = strdup(PQgetvalue(res, i, 0));
		t->rel.ncols++;
		t->qcols[i] = snapshot_quote(c, PQgetvalue(res, i, 0));
		if (!col->name || !t->qcols[i])
			goto oom;
		col->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
		col->typmod = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
		col->flags = PQgetvalue(res, i, 3)[0] == 't' ? PGO_COL_KEY : 0;
	}
	PQclear(res);
	{
		char *qs = snapshot_quote(c, schema), *qn = snapshot_quote(c, name);

		free(t->qualified);
		t->qualified = NULL;
		if (qs && qn && asprintf(&t->qualified, "%s.%s", qs, qn) < 0)
			t->qualified = NULL;
		free(qs);
		free(qn);
		if (!t->qualified)
			goto oom;
	}
	{
		char oid[16];
		const char *p = oid;

		snprintf(oid, sizeof oid, "%u", t->rel.oid);
		if (!(res = snapshot_query(c, snapshot_order_sql, 1, &p, err)))
			goto fail;
	}
	/* the first index only (the primary key sorts first) */
	n = PQntuples(res);
	t->order = calloc((size_t)n + 1, sizeof *t->order);
	t->order_types = calloc((size_t)n + 1, sizeof *t->order_types);
	if (!t->order || !t->order_types)
		goto oom;
	for (int r = 0; r < n && strcmp(PQgetvalue(res, r, 2), PQgetvalue(res, 0, 2)) == 0; r++) {
		int col = -1;

		for (int i = 0; i < t->rel.ncols; i++)
			if (strcmp(t->rel.cols[i].name, PQgetvalue(res, r, 0)) == 0)
				col = i;
		if (col < 0) { /* not a column of the table (cannot happen for a key index): no ordering key */
			for (int k = 0; k < t->norder; k++)
				free(t->order_types[k]);
			t->norder = 0;
			break;
		}
		t->order_types[t->norder] = strdup(PQgetvalue(res, r, 1));
		if (!t->order_types[t->norder])
			goto oom;
		t->order[t->norder++] = col;
	}
	PQclear(res);
	return t;
oom:
	cerr_set(err, false, "out of memory");
fail:
	PQclear(res);
	snapshot_table_free(t);
	return NULL;
}

int snapshot_sql_chunk(const struct snapshot_table *t, bool after, int limit, struct buf *out)
{
	if (buf_puts(out, "SELECT ") < 0)
		return -1;
	for (int i = 0; i < t->rel.ncols; i++)
		if (buf_printf(out, "%s%s", i ? ", " : "", t->qcols[i]) < 0)
			return -1;
	if (buf_printf(out, " FROM %s", t->qualified) < 0)
		return -1;
	if (after && t->norder > 0) {
		if (buf_puts(out, " WHERE (") < 0)
			return -1;
		for (int k = 0; k < t->norder; k++)
			if (buf_printf(out, "%s%s", k ? ", " : "", t->qcols[t->order[k]]) < 0)
				return -1;
		if (buf_puts(out, ") > (") < 0)
			return -1;
		for (int k = 0; k < t->norder; k++)
			if (buf_printf(out, "%s$%d::%s", k ? ", " : "", k + 1, t->order_types[k]) < 0)
				return -1;
		if (buf_putc(out, ')') < 0)
			return -1;
	}
	if (t->norder > 0) {
		if (buf_puts(out, " ORDER BY ") < 0)
			return -1;
		for (int k = 0; k < t->norder; k++)
			if (buf_printf(out, "%s%s", k ? ", " : "", t->qcols[t->order[k]]) < 0)
				return -1;
	}
	if (limit > 0 && buf_printf(out, " LIMIT %d", limit) < 0)
		return -1;
	return buf_putc(out, '\0') < 0 ? -1 : 0;
}

PGresult *snapshot_fetch_chunk(PGconn *c, const struct snapshot_table *t, const char *const *last_key, int limit,
                               struct cerr *err)
{
	struct buf sql;
	PGresult *res = NULL;

	buf_init(&sql, 0);
	if (snapshot_sql_chunk(t, last_key != NULL, limit, &sql) < 0)
		cerr_set(err, false, "out of memory");
	else
		res = snapshot_query(c, (const char *)sql.data, last_key ? t->norder : 0, last_key, err);
	buf_free(&sql);
	return res;
}

void snapshot_row_tuple(const PGresult *res, int row, struct pgo_tuple *tup)
{
	int n = PQnfields(res);

	tup->ncols = (uint16_t)n;
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(res, row, i))
			tup->vals[i] = (struct pgo_value){.kind = PGO_VAL_NULL};
		else
			tup->vals[i] = (struct pgo_value){.kind = PGO_VAL_TEXT,
			                                  .len = (uint32_t)PQgetlength(res, row, i),
			                                  .data = PQgetvalue(res, row, i)};
	}
}
