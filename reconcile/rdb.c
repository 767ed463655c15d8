/* rdb.c: see rdb.h. */
#include "reconcile/rdb.h"

#include <libpq-fe.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "config/dsn.h"
#include "reconcile/canon.h"

struct rdb {
	enum sinkvalue_engine engine;
	PGconn *pg;
	MYSQL *my;
	char what[128];
};

void rdb_free(struct rdb *d)
{
	if (!d)
		return;
	if (d->pg)
		PQfinish(d->pg);
	if (d->my)
		mysql_close(d->my);
	free(d);
}

enum sinkvalue_engine rdb_engine(const struct rdb *d)
{
	return d->engine;
}

static struct rdb *rdb_new(enum sinkvalue_engine e, const char *what, struct cerr *err)
{
	struct rdb *d = calloc(1, sizeof *d);

	if (!d) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	d->engine = e;
	snprintf(d->what, sizeof d->what, "%s", what);
	return d;
}

struct rdb *rdb_connect_pg(const char *dsn, const char *what, struct cerr *err)
{
	static const char *const keys[] = {"application_name", NULL};
	static const char *const vals[] = {"cleave reconcile", NULL};
	struct rdb *d = rdb_new(SINKVALUE_PG, what, err);

	if (!d)
		return NULL;
	if (!(d->pg = pg_connect(dsn, keys, vals, what, err)) || rdb_query(d, canon_pg_session, NULL, err) < 0) {
		rdb_free(d);
		return NULL;
	}
	return d;
}

struct rdb *rdb_connect_mysql(const char *url, const char *what, struct cerr *err)
{
	struct rdb *d = rdb_new(SINKVALUE_MYSQL, what, err);
	struct dsn_mysql m;
	unsigned int timeout = 10;

	if (!d)
		return NULL;
	if (dsn_parse_mysql_url(url, &m, err) < 0) {
		cerr_wrap(err, "%s", what);
		rdb_free(d);
		return NULL;
	}
	if (!(d->my = mysql_init(NULL)) || mysql_options(d->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) != 0 ||
	    mysql_options(d->my, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
		cerr_set(err, false, "%s: cannot set up a MySQL client", what);
		goto fail;
	}
	if (!mysql_real_connect(d->my, m.host, m.user, m.password, m.database, m.port, m.socket, 0)) {
		cerr_set(err, true, "%s: cannot connect: %s", what, mysql_error(d->my));
		goto fail;
	}
	if (rdb_query(d, "SET SESSION time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
	              NULL, err) < 0)
		goto fail;
	dsn_mysql_free(&m);
	return d;
fail:
	dsn_mysql_free(&m);
	rdb_free(d);
	return NULL;
}

void rdb_rows_free(struct rdb_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r->lens);
	memset(r, 0, sizeof *r);
}

static int rdb_rows_alloc(struct rdb_rows *r, size_t nrows, size_t ncols)
{
	size_t n = nrows * ncols > 0 ? nrows * ncols : 1;

	r->nrows = nrows;
	r->ncols = ncols;
	r->cells = calloc(n, sizeof *r->cells);
	r->lens = calloc(n, sizeof *r->lens);
	return r->cells && r->lens ? 0 : -1;
}

static char *rdb_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int rdb_query_pg(struct rdb *d, const char *sql, struct rdb_rows *out, struct cerr *err)
{
	PGresult *res = PQexec(d->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	char msg[512];
	int rc = -1;

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		bool gone = PQstatus(d->pg) != CONNECTION_OK;

		text_one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(d->pg), msg, sizeof msg);
		cerr_set(err, gone, "%s: %s", d->what, msg);
		goto done;
	}
	if (!out) {
		rc = 0;
		goto done;
	}
	if (rdb_rows_alloc(out, (size_t)PQntuples(res), (size_t)PQnfields(res)) < 0)
		goto nomem;
	for (size_t i = 0; i < out->nrows; i++)
		for (size_t k = 0; k < out->ncols; k++) {
			size_t x = i * out->ncols + k;

			if (PQgetisnull(res, (int)i, (int)k))
				continue;
			out->lens[x] = (size_t)PQgetlength(res, (int)i, (int)k);
			if (!(out->cells[x] = rdb_dup(PQgetvalue(res, (int)i, (int)k), out->lens[x])))
				goto nomem;
		}
	rc = 0;
	goto done;
nomem:
	rdb_rows_free(out);
	cerr_set(err, false, "out of memory reading from %s", d->what);
done:
	PQclear(res);
	return rc;
}

static int rdb_query_my(struct rdb *d, const char *sql, struct rdb_rows *out, struct cerr *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (mysql_query(d->my, sql) != 0) {
		unsigned int e = mysql_errno(d->my);

		return cerr_set(err, e == 2006 || e == 2013 || e == 2002 || e == 2003, "%s: %s", d->what,
		                mysql_error(d->my));
	}
	res = mysql_store_result(d->my);
	if (!res) {
		if (mysql_field_count(d->my) != 0)
			return cerr_set(err, true, "%s: %s", d->what, mysql_error(d->my));
		if (out)
			return rdb_rows_alloc(out, 0, 0) < 0 ? cerr_set(err, false, "out of memory") : 0;
		return 0;
	}
	if (!out) {
		mysql_free_result(res);
		return 0;
	}
	if (rdb_rows_alloc(out, (size_t)mysql_num_rows(res), mysql_num_fields(res)) < 0)
		goto nomem;
	for (size_t i = 0; (row = mysql_fetch_row(res)) != NULL; i++) {
		unsigned long *lens = mysql_fetch_lengths(res);

		for (size_t k = 0; k < out->ncols; k++) {
			size_t x = i * out->ncols + k;

			if (!row[k])
				continue;
			out->lens[x] = lens[k];
			if (!(out->cells[x] = rdb_dup(row[k], lens[k])))
				goto nomem;
		}
	}
	mysql_free_result(res);
	return 0;
nomem:
	mysql_free_result(res);
	rdb_rows_free(out);
	return cerr_set(err, false, "out of memory reading from %s", d->what);
}

int rdb_query(struct rdb *d, const char *sql, struct rdb_rows *out, struct cerr *err)
{
	if (out)
		memset(out, 0, sizeof *out);
	return d->engine == SINKVALUE_PG ? rdb_query_pg(d, sql, out, err) : rdb_query_my(d, sql, out, err);
}
