/* sinktest.c: see sinktest.h. */
#include "tests/support/sinktest.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

#ifndef CLEAVE_BIN
#error "CLEAVE_BIN must name the cleave binary under test"
#endif

#define STEST_START_TIMEOUT_MS 30000
#define STEST_STOP_TIMEOUT_MS 60000
#define STEST_WAIT_EXIT_MS 90000 /* a sink that is expected to stop by itself */
#define STEST_SQL_MAX 65536
#define STEST_SHOW 120 /* bytes of a value shown in a difference */

/* ---- small string helpers ---- */

/* s with every `from` replaced by `to` (malloc'ed). */
static char *stest_replace_all(const char *s, const char *from, const char *to)
{
	size_t nfrom = strlen(from), nto = strlen(to), n = 0;
	const char *p;
	char *out, *w;

	for (p = strstr(s, from); p; p = strstr(p + nfrom, from))
		n++;
	out = malloc(strlen(s) + n * nto + 1);
	if (!out)
		fail_msg("out of memory");
	w = out;
	for (p = s;;) {
		const char *at = strstr(p, from);

		if (!at) {
			strcpy(w, p);
			break;
		}
		memcpy(w, p, (size_t)(at - p));
		w += at - p;
		memcpy(w, to, nto);
		w += nto;
		p = at + nfrom;
	}
	return out;
}

/* A growing SQL text. */
struct stest_sql {
	char s[STEST_SQL_MAX];
	size_t len;
};

static void sql_add(struct stest_sql *q, const char *text)
{
	size_t n = strlen(text);

	if (q->len + n >= sizeof q->s)
		fail_msg("sinktest: SQL longer than %d bytes", STEST_SQL_MAX);
	memcpy(q->s + q->len, text, n + 1);
	q->len += n;
}

/* Appends every string up to a NULL (a macro adds it). */
#define sql_cat(...) sql_cat_(__VA_ARGS__, (const char *)NULL)
static void sql_cat_(struct stest_sql *q, ...)
{
	const char *p;
	va_list ap;

	va_start(ap, q);
	while ((p = va_arg(ap, const char *)) != NULL)
		sql_add(q, p);
	va_end(ap);
}

/* Appends `before` + identifier quoted with `quote` + `after`. */
static void sql_ident(struct stest_sql *q, const char *before, const char *name, char quote, const char *after)
{
	char qs[2] = {quote, '\0'};

	sql_add(q, before);
	sql_add(q, qs);
	sql_add(q, name);
	sql_add(q, qs);
	sql_add(q, after);
}

/* ---- MariaDB ---- */

static MYSQL *stest_my_connect(const char *db)
{
	MYSQL *c = mysql_init(NULL);
	unsigned int port = (unsigned int)atoi(testenv_get("CLEAVE_TEST_MYSQL_PORT"));
	char msg[512];

	if (!c)
		fail_msg("mysql_init: out of memory");
	if (mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
	    !mysql_real_connect(c, testenv_get("CLEAVE_TEST_MYSQL_HOST"), "root", NULL, db, port, NULL, 0)) {
		snprintf(msg, sizeof msg, "connecting to MariaDB: %s", mysql_error(c));
		mysql_close(c);
		fail_msg("%s", msg);
	}
	return c;
}

static void stest_my_query(MYSQL *c, const char *sql)
{
	if (mysql_query(c, sql) != 0)
		fail_msg("MariaDB: %s\n  SQL: %.600s", mysql_error(c), sql);
}

void stest_my_exec(struct stest *t, const char *fmt, ...)
{
	static char sql[STEST_SQL_MAX];
	va_list ap;
	MYSQL_RES *res;

	if (!t->my)
		fail_msg("stest_my_exec: the test has no MariaDB target");
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	stest_my_query(t->my, sql);
	res = mysql_store_result(t->my);
	mysql_free_result(res);
}

char *stest_my_value(struct stest *t, const char *fmt, ...)
{
	static char sql[STEST_SQL_MAX];
	MYSQL_RES *res;
	MYSQL_ROW r;
	va_list ap;
	char *v;

	if (!t->my)
		fail_msg("stest_my_value: the test has no MariaDB target");
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	stest_my_query(t->my, sql);
	if (!(res = mysql_store_result(t->my)))
		fail_msg("MariaDB: %s returned no result: %s", sql, mysql_error(t->my));
	r = mysql_fetch_row(res);
	if (!r) {
		mysql_free_result(res);
		fail_msg("MariaDB: %.600s returned no row", sql);
	}
	v = r[0] ? strdup(r[0]) : NULL;
	mysql_free_result(res);
	return v;
}

/* ---- set-up and processes ---- */

static void stest_pg_session(PGconn *c)
{
	pgtest_exec(c, "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 1;"
	               " SET IntervalStyle = postgres; SET bytea_output = hex");
}

void stest_init_ex(struct stest *t, const char *source_sql, const char *tables, const char *sinks_yaml,
                   const char *extra_source_yaml, const char *extra_kafka_props)
{
	const char *props = testenv_fmt("    session.timeout.ms: 6000\n%s", extra_kafka_props ? extra_kafka_props : "");
	char *yaml, *y2;
	FILE *f;

	memset(t, 0, sizeof *t);
	ctest_init(&t->c, source_sql, tables, extra_source_yaml, props);
	if (!sinks_yaml)
		return;
	if (strstr(sinks_yaml, "${PG_TARGET_DSN}")) {
		t->pg_db = pgtest_create_db();
		t->pg_dsn = pgtest_dsn(t->pg_db);
		t->pg = pgtest_connect(t->pg_db);
	}
	if (strstr(sinks_yaml, "${MYSQL_TARGET_DSN}")) {
		MYSQL *server = stest_my_connect(NULL);
		const char *db = testenv_unique("tgt");

		stest_my_query(server, testenv_fmt("CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", db));
		mysql_close(server);
		t->my_db = db;
		t->my_dsn = testenv_fmt("%s%s", testenv_get("CLEAVE_TEST_MYSQL_DSN"), db);
		t->my = stest_my_connect(db);
	}
	yaml = stest_replace_all(sinks_yaml, "${PG_TARGET_DSN}", t->pg_dsn ? t->pg_dsn : "");
	y2 = stest_replace_all(yaml, "${MYSQL_TARGET_DSN}", t->my_dsn ? t->my_dsn : "");
	free(yaml);
	f = fopen(t->c.config_path, "a");
	if (!f) {
		free(y2);
		fail_msg("cannot append to %s", t->c.config_path);
	}
	fputs(y2, f);
	if (y2[0] && y2[strlen(y2) - 1] != '\n')
		fputc('\n', f);
	fclose(f);
	free(y2);
}

void stest_init(struct stest *t, const char *source_sql, const char *tables, const char *sinks_yaml)
{
	stest_init_ex(t, source_sql, tables, sinks_yaml, NULL, NULL);
}

void stest_start_capture(struct stest *t)
{
	ctest_start(&t->c);
}

static struct stest_sink *stest_find(struct stest *t, const char *name)
{
	for (size_t i = 0; i < t->nsinks; i++)
		if (strcmp(t->sinks[i].name, name) == 0)
			return &t->sinks[i];
	return NULL;
}

static void stest_forget(struct stest *t, struct stest_sink *s)
{
	proc_free(s->proc);
	*s = t->sinks[--t->nsinks];
}

struct proc *stest_spawn_sink(struct stest *t, const char *name)
{
	const char *argv[] = {CLEAVE_BIN, "sink", "-c", t->c.config_path, "--sink", name, NULL};
	struct stest_sink *s = stest_find(t, name);

	if (s) {
		if (proc_wait(s->proc, 0) < 0)
			fail_msg("sink %s is already running", name);
		stest_forget(t, s); /* it exited by itself: its log stays in the run directory */
	}
	if (t->nsinks == STEST_MAX_SINKS)
		fail_msg("sinktest: more than %d sinks", STEST_MAX_SINKS);
	s = &t->sinks[t->nsinks++];
	s->name = testenv_fmt("%s", name);
	s->proc = proc_spawn(testenv_fmt("sink_%s", name), argv, NULL);
	return s->proc;
}

struct proc *stest_start_sink(struct stest *t, const char *name)
{
	struct proc *p = stest_spawn_sink(t, name);

	if (!proc_poll_log(p, "consuming", STEST_START_TIMEOUT_MS)) {
		proc_print_log(p, 40);
		fail_msg("cleave sink --sink %s did not start consuming within %d ms", name, STEST_START_TIMEOUT_MS);
	}
	return p;
}

int stest_stop_sink(struct stest *t, const char *name)
{
	struct stest_sink *s = stest_find(t, name);
	int st;

	if (!s)
		fail_msg("sink %s is not running", name);
	st = proc_stop(s->proc, STEST_STOP_TIMEOUT_MS);
	if (st != 0)
		proc_print_log(s->proc, 40);
	stest_forget(t, s);
	return st;
}

void stest_kill_sink(struct stest *t, const char *name)
{
	struct stest_sink *s = stest_find(t, name);

	if (!s)
		fail_msg("sink %s is not running", name);
	proc_kill(s->proc, SIGKILL);
	(void)proc_wait(s->proc, 10000);
	stest_forget(t, s);
}

struct proc *stest_sink_proc(struct stest *t, const char *name)
{
	struct stest_sink *s = stest_find(t, name);

	return s ? s->proc : NULL;
}

void stest_print_logs(struct stest *t, int lines)
{
	for (size_t i = 0; i < t->nsinks; i++)
		proc_print_log(t->sinks[i].proc, lines);
	if (t->c.capture)
		proc_print_log(t->c.capture, lines);
}

void stest_fini(struct stest *t)
{
	while (t->nsinks > 0) {
		struct stest_sink *s = &t->sinks[t->nsinks - 1];

		(void)proc_stop(s->proc, STEST_STOP_TIMEOUT_MS);
		stest_forget(t, s);
	}
	ctest_fini(&t->c);
	if (t->cmp_src)
		PQfinish(t->cmp_src);
	if (t->cmp_pg)
		PQfinish(t->cmp_pg);
	if (t->pg)
		PQfinish(t->pg);
	t->cmp_src = t->cmp_pg = t->pg = NULL;
	if (t->pg_db)
		pgtest_drop_db(t->pg_db);
	t->pg_db = NULL;
	if (t->my) {
		stest_my_query(t->my, testenv_fmt("DROP DATABASE %s", t->my_db));
		mysql_close(t->my);
	}
	t->my = NULL;
	t->my_db = NULL;
}

const char *stest_dlq_topic(struct stest *t, const char *sink)
{
	return testenv_fmt("%s.dlq.%s", t->c.prefix, sink);
}

struct ktest_msgs *stest_dlq_wait(struct stest *t, const char *sink, size_t n, int timeout_ms)
{
	const char *topic = stest_dlq_topic(t, sink);
	struct ktest_msgs *m = kafkatest_consume(topic, n, timeout_ms);

	if (m->n < n) {
		size_t got = m->n;

		ktest_msgs_free(m);
		stest_print_logs(t, 40);
		fail_msg("%s: %zu messages after %d ms, expected at least %zu", topic, got, timeout_ms, n);
	}
	return m;
}

/* ---- rows ---- */

static struct stest_rows *stest_rows_new(size_t nrows, size_t ncols)
{
	struct stest_rows *r = calloc(1, sizeof *r);
	size_t ncells = nrows * ncols;

	if (!r)
		fail_msg("out of memory");
	r->nrows = nrows;
	r->ncols = ncols;
	r->names = calloc(ncols ? ncols : 1, sizeof *r->names);
	r->cells = calloc(ncells ? ncells : 1, sizeof *r->cells);
	r->lens = calloc(ncells ? ncells : 1, sizeof *r->lens);
	if (!r->names || !r->cells || !r->lens)
		fail_msg("out of memory");
	return r;
}

static char *stest_dup(const char *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		fail_msg("out of memory");
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

void stest_rows_free(struct stest_rows *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ncols; i++)
		free(r->names[i]);
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->names);
	free(r->cells);
	free(r->lens);
	free(r);
}

static void stest_error(char **error, const char *what, const char *msg, const char *sql)
{
	char buf[2048];

	snprintf(buf, sizeof buf, "%s: %s\n  SQL: %.600s", what, msg, sql);
	if (!error)
		fail_msg("%s", buf);
	*error = stest_dup(buf, strlen(buf));
}

struct stest_rows *stest_pg_rows(PGconn *c, const char *sql, char **error)
{
	PGresult *res;
	struct stest_rows *r;

	if (PQstatus(c) != CONNECTION_OK)
		PQreset(c);
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[1024];

		snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c));
		PQclear(res);
		stest_error(error, "PostgreSQL", msg, sql);
		return NULL;
	}
	r = stest_rows_new((size_t)PQntuples(res), (size_t)PQnfields(res));
	for (size_t k = 0; k < r->ncols; k++)
		r->names[k] = stest_dup(PQfname(res, (int)k), strlen(PQfname(res, (int)k)));
	for (size_t i = 0; i < r->nrows; i++)
		for (size_t k = 0; k < r->ncols; k++) {
			if (PQgetisnull(res, (int)i, (int)k))
				continue;
			size_t x = i * r->ncols + k;

			r->lens[x] = (size_t)PQgetlength(res, (int)i, (int)k);
			r->cells[x] = stest_dup(PQgetvalue(res, (int)i, (int)k), r->lens[x]);
		}
	PQclear(res);
	return r;
}

struct stest_rows *stest_my_rows(MYSQL *c, const char *sql, char **error)
{
	MYSQL_RES *res;
	MYSQL_FIELD *fields;
	MYSQL_ROW row;
	struct stest_rows *r;

	if (mysql_query(c, sql) != 0 || !(res = mysql_store_result(c))) {
		stest_error(error, "MariaDB", mysql_error(c), sql);
		return NULL;
	}
	r = stest_rows_new((size_t)mysql_num_rows(res), mysql_num_fields(res));
	fields = mysql_fetch_fields(res);
	for (size_t k = 0; k < r->ncols; k++)
		r->names[k] = stest_dup(fields[k].name, strlen(fields[k].name));
	for (size_t i = 0; (row = mysql_fetch_row(res)) != NULL; i++) {
		unsigned long *lens = mysql_fetch_lengths(res);

		for (size_t k = 0; k < r->ncols; k++) {
			if (!row[k])
				continue;
			r->lens[i * r->ncols + k] = lens[k];
			r->cells[i * r->ncols + k] = stest_dup(row[k], lens[k]);
		}
	}
	mysql_free_result(res);
	return r;
}

static int stest_cell_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	if (!a || !b)
		return (a != NULL) - (b != NULL); /* NULL first */
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

/* qsort has no context argument: the result being sorted (tests are single-threaded) */
static const struct stest_rows *stest_sorting;

static int stest_row_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y, n = stest_sorting->ncols;

	for (size_t k = 0; k < n; k++) {
		int c = stest_cell_cmp(stest_sorting->cells[a * n + k], stest_sorting->lens[a * n + k],
		                       stest_sorting->cells[b * n + k], stest_sorting->lens[b * n + k]);
		if (c)
			return c;
	}
	return 0;
}

static size_t *stest_order(const struct stest_rows *r)
{
	size_t *o = malloc((r->nrows ? r->nrows : 1) * sizeof *o);

	if (!o)
		fail_msg("out of memory");
	for (size_t i = 0; i < r->nrows; i++)
		o[i] = i;
	stest_sorting = r;
	qsort(o, r->nrows, sizeof *o, stest_row_cmp);
	stest_sorting = NULL;
	return o;
}

static bool stest_float_same(const char *a, const char *b, bool single)
{
	char *ea, *eb;
	double x = strtod(a, &ea), y = strtod(b, &eb);

	if (*ea || *eb || ea == a || eb == b)
		return false;
	if (single) {
		float fx = (float)x, fy = (float)y;

		if (isnan(fx) || isnan(fy))
			return isnan(fx) && isnan(fy);
		return memcmp(&fx, &fy, sizeof fx) == 0;
	}
	if (isnan(x) || isnan(y))
		return isnan(x) && isnan(y);
	return memcmp(&x, &y, sizeof x) == 0;
}

static bool stest_json_same(const char *a, size_t alen, const char *b, size_t blen)
{
	json_t *x = json_loadb(a, alen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_t *y = json_loadb(b, blen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	bool same;

	if (!x || !y) /* not JSON jansson reads (e.g. an integer beyond 64 bits): the texts must match */
		same = alen == blen && memcmp(a, b, alen) == 0;
	else
		same = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

static bool stest_cell_same(enum stest_kind kind, const char *a, size_t alen, const char *b, size_t blen)
{
	if (!a || !b)
		return !a && !b;
	switch (kind) {
	case STEST_FLOAT4:
		return stest_float_same(a, b, true);
	case STEST_FLOAT8:
		return stest_float_same(a, b, false);
	case STEST_JSON:
		return stest_json_same(a, alen, b, blen);
	case STEST_EXACT:
		break;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Prints a cell, shortened. */
static void stest_show(const char *label, const char *v, size_t len)
{
	if (!v)
		print_error("    %s: NULL\n", label);
	else if (len <= STEST_SHOW)
		print_error("    %s: '%.*s' (%zu bytes)\n", label, (int)len, v, len);
	else
		print_error("    %s: '%.*s...' (%zu bytes)\n", label, STEST_SHOW, v, len);
}

/* The key of row i of r as text, for messages. */
static void stest_show_key(const char *label, const struct stest_rows *r, size_t i, size_t nkey)
{
	print_error("  %s row with key (", label);
	for (size_t k = 0; k < nkey; k++) {
		const char *v = r->cells[i * r->ncols + k];

		print_error("%s%s=%.*s", k ? ", " : "", r->names[k], v ? (int)r->lens[i * r->ncols + k] : 4,
		            v ? v : "NULL");
	}
	print_error(")\n");
}

bool stest_rows_same(struct stest_rows *src, struct stest_rows *tgt, const enum stest_kind *kinds, size_t nkey,
                     bool print, const char *what)
{
	size_t *os, *ot, i = 0, j = 0, shown = 0, n;
	bool same;

	if (src->ncols != tgt->ncols) {
		if (print)
			print_error("%s: %zu source columns, %zu target columns\n", what, src->ncols, tgt->ncols);
		return false;
	}
	n = src->ncols;
	os = stest_order(src);
	ot = stest_order(tgt);
	if (print && src->nrows != tgt->nrows)
		print_error("%s: %zu rows in the source, %zu in the target\n", what, src->nrows, tgt->nrows);
	same = src->nrows == tgt->nrows;
	/* merge by key */
	while (i < src->nrows || j < tgt->nrows) {
		int c = 0;

		if (i == src->nrows)
			c = 1;
		else if (j == tgt->nrows)
			c = -1;
		else
			for (size_t k = 0; k < nkey && !c; k++)
				c = stest_cell_cmp(src->cells[os[i] * n + k], src->lens[os[i] * n + k],
				                   tgt->cells[ot[j] * n + k], tgt->lens[ot[j] * n + k]);
		if (c < 0) {
			same = false;
			if (print && shown++ < 5)
				stest_show_key(testenv_fmt("%s: missing in the target:", what), src, os[i], nkey);
			i++;
			continue;
		}
		if (c > 0) {
			same = false;
			if (print && shown++ < 5)
				stest_show_key(testenv_fmt("%s: extra in the target:", what), tgt, ot[j], nkey);
			j++;
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			size_t a = os[i] * n + k, b = ot[j] * n + k;

			if (stest_cell_same(kinds ? kinds[k] : STEST_EXACT, src->cells[a], src->lens[a], tgt->cells[b],
			                    tgt->lens[b]))
				continue;
			same = false;
			if (print && shown++ < 5) {
				const char *label = testenv_fmt("%s: column %s differs in the", what, src->names[k]);

				stest_show_key(label, src, os[i], nkey);
				stest_show("source", src->cells[a], src->lens[a]);
				stest_show("target", tgt->cells[b], tgt->lens[b]);
			}
		}
		i++;
		j++;
	}
	free(os);
	free(ot);
	return same;
}

/* ---- canonical comparison of a table ---- */

#define PG_BOOL 16
#define PG_BYTEA 17
#define PG_INT8 20
#define PG_INT2 21
#define PG_INT4 23
#define PG_TEXT 25
#define PG_JSON 114
#define PG_INET 869
#define PG_FLOAT4 700
#define PG_FLOAT8 701
#define PG_BPCHAR 1042
#define PG_VARCHAR 1043
#define PG_DATE 1082
#define PG_TIME 1083
#define PG_TIMESTAMP 1114
#define PG_TIMESTAMPTZ 1184
#define PG_NUMERIC 1700
#define PG_UUID 2950
#define PG_JSONB 3802

static PGconn *stest_cmp_conn(PGconn **slot, const char *db)
{
	if (!*slot) {
		*slot = pgtest_connect(db);
		stest_pg_session(*slot);
	}
	return *slot;
}

/* The source and target expressions of column `c` (quoted) of type oid (an array of elem when array) for a
 * target engine e, and their kind. */
static void stest_canon(enum stest_engine e, unsigned oid, bool array, unsigned elem, const char *c,
                        struct stest_sql *src, struct stest_sql *tgt, enum stest_kind *kind)
{
	char pq[300], mq[300];

	snprintf(pq, sizeof pq, "\"%s\"", c);
	snprintf(mq, sizeof mq, "`%s`", c);
	*kind = STEST_EXACT;
	if (e == STEST_PG) {
		/* PostgreSQL's own text on both sides; json becomes jsonb in the target (SPEC.md §5) */
		const char *cast = oid == PG_JSON || oid == PG_JSONB ? "::jsonb" : "";

		sql_cat(src, pq, cast);
		sql_cat(tgt, pq, cast);
		return;
	}
	/* arrays of the built-in types: JSON arrays (nested for more dimensions, without explicit bounds) whose
	 * items are numbers, booleans and JSON as they are, and everything else PostgreSQL's text of the
	 * element (docs/types.md); char(n) keeps its padding, which a cast to text would drop. Arrays of user
	 * types (enums, domains) are their whole text. */
	if (array && elem < 16384) {
		bool as_is = elem == PG_INT2 || elem == PG_INT4 || elem == PG_INT8 || elem == PG_FLOAT4 ||
		             elem == PG_FLOAT8 || elem == PG_BOOL || elem == PG_JSON || elem == PG_JSONB ||
		             elem == PG_BPCHAR;

		sql_cat(src, "array_to_json(", pq, as_is ? "" : "::text[]", ")::text");
		sql_cat(tgt, mq);
		*kind = STEST_JSON;
		return;
	}
	switch (oid) {
	case PG_BOOL:
		sql_cat(src, "CASE ", pq, " WHEN true THEN 'true' WHEN false THEN 'false' END");
		sql_cat(tgt, "CASE WHEN ", mq, " IS NULL THEN NULL WHEN ", mq, " = 1 THEN 'true' WHEN ", mq,
		        " = 0 THEN 'false' ELSE CONCAT('tinyint ', ", mq, ") END");
		break;
	case PG_FLOAT4:
	case PG_FLOAT8:
		sql_cat(src, pq, "::text");
		sql_cat(tgt, "CAST(", mq, " AS DOUBLE)");
		*kind = oid == PG_FLOAT4 ? STEST_FLOAT4 : STEST_FLOAT8;
		break;
	case PG_BPCHAR: /* MySQL's CHAR(n) drops trailing blanks when read */
		sql_cat(src, "rtrim(", pq, "::text, ' ')");
		sql_cat(tgt, "TRIM(TRAILING ' ' FROM ", mq, ")");
		break;
	case PG_BYTEA:
		sql_cat(src, "upper(encode(", pq, ", 'hex'))");
		sql_cat(tgt, "HEX(", mq, ")");
		break;
	case PG_DATE:
		sql_cat(src, "to_char(", pq, ", 'YYYY-MM-DD')");
		sql_cat(tgt, "DATE_FORMAT(", mq, ", '%Y-%m-%d')");
		break;
	case PG_TIME:
		sql_cat(src, "CASE WHEN ", pq, " = '24:00:00' THEN '24:00:00.000000' ELSE to_char(", pq,
		        ", 'HH24:MI:SS.US') END");
		sql_cat(tgt, "TIME_FORMAT(", mq, ", '%H:%i:%s.%f')");
		break;
	case PG_TIMESTAMP:
		sql_cat(src, "to_char(", pq, ", 'YYYY-MM-DD HH24:MI:SS.US')");
		sql_cat(tgt, "DATE_FORMAT(", mq, ", '%Y-%m-%d %H:%i:%s.%f')");
		break;
	case PG_TIMESTAMPTZ:
		sql_cat(src, "to_char(", pq, " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')");
		sql_cat(tgt, "DATE_FORMAT(", mq, ", '%Y-%m-%d %H:%i:%s.%f')");
		break;
	case PG_JSON:
	case PG_JSONB:
		sql_cat(src, pq, "::text");
		sql_cat(tgt, mq);
		*kind = STEST_JSON;
		break;
	case PG_INET: /* its output, which a cast to text would give a /32 or /128 it does not print */
		sql_cat(src, "CASE WHEN ", pq, " IS NOT NULL THEN format('%s', ", pq, ") END");
		sql_cat(tgt, mq);
		break;
	case PG_INT2:
	case PG_INT4:
	case PG_INT8:
	case PG_NUMERIC:
		sql_cat(src, pq, "::text");
		sql_cat(tgt, "CAST(", mq, " AS CHAR)");
		break;
	default: /* text, varchar, uuid, enums, other types carried as text */
		sql_cat(src, pq, "::text");
		sql_cat(tgt, mq);
		break;
	}
}

/* The target table's column names in order (none: the table does not exist). NULL with *error on error. */
static struct stest_rows *stest_target_columns(struct stest *t, enum stest_engine e, const char *tgt_table,
                                               char **error)
{
	if (e == STEST_PG)
		return stest_pg_rows(stest_cmp_conn(&t->cmp_pg, t->pg_db),
		                     testenv_fmt("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('%s')"
		                                 " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
		                                 tgt_table),
		                     error);
	return stest_my_rows(t->my,
	                     testenv_fmt("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ="
	                                 " DATABASE() AND TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION",
	                                 tgt_table),
	                     error);
}

bool stest_same(struct stest *t, enum stest_engine e, const char *src_table, const char *tgt_table,
                const char *src_where, bool print)
{
	PGconn *sc = stest_cmp_conn(&t->cmp_src, t->c.db);
	struct stest_rows *scols, *tcols, *srows = NULL, *trows = NULL;
	static struct stest_sql sq, tq;
	enum stest_kind kinds[256];
	size_t order[256], n = 0, nkey = 0;
	char *error = NULL;
	bool same = false;

	if ((e == STEST_PG && !t->pg_db) || (e == STEST_MYSQL && !t->my))
		fail_msg("stest_same: the test has no %s target", e == STEST_PG ? "PostgreSQL" : "MariaDB");
	scols = stest_pg_rows(sc,
	                      testenv_fmt("SELECT a.attname, a.atttypid::int, t.typcategory = 'A',"
	                                  " coalesce(a.attnum = ANY(i.indkey), false), t.typelem::int"
	                                  " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
	                                  " LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary"
	                                  " WHERE a.attrelid = '%s'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
	                                  " ORDER BY a.attnum",
	                                  src_table),
	                      NULL);
	tcols = stest_target_columns(t, e, tgt_table, &error);
	if (!tcols || tcols->nrows == 0) {
		if (print)
			print_error("%s: target table %s: %s\n", src_table, tgt_table,
			            error ? error : "does not exist");
		goto out;
	}
	if (tcols->nrows > 256)
		fail_msg("stest_same: more than 256 columns");
	/* key columns first (in source order), then the others in target order */
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < tcols->nrows; k++) {
			size_t s = 0;

			while (s < scols->nrows && strcmp(scols->cells[s * 5], tcols->cells[k]) != 0)
				s++;
			if (s == scols->nrows)
				fail_msg("stest_same: target column %s.%s is not a column of %s", tgt_table,
				         tcols->cells[k], src_table);
			if ((strcmp(scols->cells[s * 5 + 3], "t") == 0) == (pass == 0))
				order[n++] = s;
		}
	for (size_t s = 0; s < scols->nrows; s++)
		nkey += strcmp(scols->cells[s * 5 + 3], "t") == 0;
	for (size_t k = 0; k < nkey; k++)
		if (strcmp(scols->cells[order[k] * 5 + 3], "t") != 0)
			fail_msg("stest_same: the target table %s lacks a key column of %s", tgt_table, src_table);
	sq.len = tq.len = 0;
	sql_add(&sq, "SELECT ");
	sql_add(&tq, "SELECT ");
	for (size_t k = 0; k < n; k++) {
		const char *name = scols->cells[order[k] * 5];

		sql_add(&sq, k ? ", " : "");
		sql_add(&tq, k ? ", " : "");
		stest_canon(e, (unsigned)atoi(scols->cells[order[k] * 5 + 1]),
		            strcmp(scols->cells[order[k] * 5 + 2], "t") == 0, (unsigned)atoi(scols->cells[order[k] * 5 + 4]),
		            name, &sq, &tq, &kinds[k]);
		sql_ident(&sq, " AS ", name, '"', "");
		sql_ident(&tq, " AS ", name, e == STEST_PG ? '"' : '`', "");
	}
	sql_add(&sq, " FROM ");
	sql_add(&sq, src_table);
	if (src_where) {
		sql_add(&sq, " WHERE ");
		sql_add(&sq, src_where);
	}
	sql_ident(&tq, " FROM ", tgt_table, e == STEST_PG ? '"' : '`', "");
	srows = stest_pg_rows(sc, sq.s, NULL);
	trows = e == STEST_PG ? stest_pg_rows(stest_cmp_conn(&t->cmp_pg, t->pg_db), tq.s, &error)
	                      : stest_my_rows(t->my, tq.s, &error);
	if (!trows) {
		if (print)
			print_error("%s: %s\n", src_table, error);
		goto out;
	}
	same = stest_rows_same(srows, trows, kinds, nkey, print,
	                       testenv_fmt("%s -> %s %s", src_table, e == STEST_PG ? "PostgreSQL" : "MariaDB",
	                                   tgt_table));
out:
	free(error);
	stest_rows_free(scols);
	stest_rows_free(tcols);
	stest_rows_free(srows);
	stest_rows_free(trows);
	return same;
}

struct stest_same_arg {
	struct stest *t;
	enum stest_engine e;
	const char *src_table, *tgt_table, *src_where;
};

static bool stest_same_once(void *arg)
{
	struct stest_same_arg *a = arg;

	return stest_same(a->t, a->e, a->src_table, a->tgt_table, a->src_where, false);
}

bool stest_wait_same(struct stest *t, enum stest_engine e, const char *src_table, const char *tgt_table,
                     const char *src_where, int timeout_ms)
{
	struct stest_same_arg a = {t, e, src_table, tgt_table, src_where};

	if (poll_until(stest_same_once, &a, timeout_ms))
		return true;
	if (stest_same(t, e, src_table, tgt_table, src_where, true))
		return true;
	print_error("%s -> %s: still different after %d ms\n", src_table, tgt_table, timeout_ms);
	stest_print_logs(t, 30);
	return false;
}

struct stest_value_arg {
	struct stest *t;
	enum stest_engine e;
	const char *sql, *expected;
	char last[512];
};

static bool stest_value_once(void *arg)
{
	struct stest_value_arg *a = arg;
	struct stest_rows *r;
	char *error = NULL;
	bool match;

	r = a->e == STEST_PG ? stest_pg_rows(a->t->pg, a->sql, &error) : stest_my_rows(a->t->my, a->sql, &error);
	if (!r) {
		snprintf(a->last, sizeof a->last, "(error: %s)", error);
		free(error);
		return false;
	}
	if (r->nrows != 1 || r->ncols != 1) {
		snprintf(a->last, sizeof a->last, "(%zu rows of %zu columns)", r->nrows, r->ncols);
		stest_rows_free(r);
		return false;
	}
	snprintf(a->last, sizeof a->last, "%s", r->cells[0] ? r->cells[0] : "NULL");
	match = a->expected ? r->cells[0] && strcmp(r->cells[0], a->expected) == 0 : !r->cells[0];
	stest_rows_free(r);
	return match;
}

bool stest_wait_value(struct stest *t, enum stest_engine e, const char *sql, const char *expected, int timeout_ms)
{
	struct stest_value_arg a = {.t = t, .e = e, .sql = sql, .expected = expected};

	if ((e == STEST_PG && !t->pg) || (e == STEST_MYSQL && !t->my))
		fail_msg("stest_wait_value: the test has no %s target", e == STEST_PG ? "PostgreSQL" : "MariaDB");
	if (poll_until(stest_value_once, &a, timeout_ms))
		return true;
	print_error("%s: got %s after %d ms, expected %s\n", sql, a.last, timeout_ms, expected ? expected : "NULL");
	stest_print_logs(t, 30);
	return false;
}

void stest_assert_sink_fails(struct stest *t, const char *name, const char *const *needles)
{
	struct proc *p = stest_sink_proc(t, name);
	int st;
	char *log;

	if (!p)
		fail_msg("sink %s is not running", name);
	st = proc_wait(p, STEST_WAIT_EXIT_MS);
	if (st != 2) {
		proc_print_log(p, 40);
		fail_msg("sink %s: exit status %d, expected 2", name, st);
	}
	log = ctest_read_file(proc_log_path(p));
	if (strstr(log, "ERROR: AddressSanitizer") || strstr(log, "runtime error:")) {
		proc_print_log(p, 60);
		free(log);
		fail_msg("sink %s: sanitizer report", name);
	}
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(log, needles[i])) {
			proc_print_log(p, 40);
			free(log);
			fail_msg("sink %s: its output does not mention '%s'", name, needles[i]);
		}
	free(log);
}

const char *stest_header(const struct ktest_msg *m, const char *name)
{
	const struct ktest_header *h = ktest_msg_header(m, name);

	return h && h->value ? (const char *)h->value : "";
}
