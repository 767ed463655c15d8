/* target_pg.c: the PostgreSQL engine behind target.h, with libpq. It checks or creates the target tables,
 * writes rows with multi-row upserts, COPY and deletes, and keeps cleave_positions in the same transactions.
 * Values become text with sinks/sinkvalue.h; the server converts them to the column types.
 *
 * How rows travel: one statement per run of changes, with one text[] parameter per column, zipped by
 * unnest() and cast per column to the column's declared type:
 *
 *   INSERT INTO "t" ("id", "a", "b") OVERRIDING SYSTEM VALUE SELECT u.a1::integer, u.a2::text, NULL::bytea
 *   FROM unnest($1::text[], $2::text[]) AS u(a1, a2)
 *   ON CONFLICT ("id") DO UPDATE SET "a" = EXCLUDED."a"
 *
 *   DELETE FROM "t" AS t USING unnest($1::text[]) AS u(a1) WHERE t."id" = u.a1::integer
 *
 * The parameter count stays at the column count however many rows go in (no 65535-parameter limit) and
 * the statement text is the same for every batch of a table (cheap to parse). Measured on PostgreSQL 15
 * (100,000 rows of 6 columns, transactions of 5,000): about 4 times the rows/s of a multi-row VALUES list
 * with one parameter per value, as fast as COPY into a temporary table followed by INSERT ... SELECT ...
 * ON CONFLICT (which takes four round trips and a temporary table per session), and no slower unprepared
 * than prepared. Casting to the type without its modifier (varchar, not varchar(40)) leaves the modifier
 * to the assignment, which rejects a too-long value where an explicit cast would silently cut it.
 *
 * Inserts ('c', target.h) in runs of TPG_COPY_MIN or more go in with COPY instead, inside a savepoint that
 * turns a failed COPY into the same run upserted (tpg_copy_run); not into a table that row-level security
 * applies to for the sink's user (COPY FROM refuses it). A table with rules on writes is refused: rules
 * would rewrite the upserts and deletes, and ON CONFLICT refuses INSERT and UPDATE rules.
 *
 * Rows of one INSERT share the set of TARGET_UNCHANGED columns (those are left out of the SET list and
 * inserted as NULL), so a run of upserts is cut where that set changes. PostgreSQL refuses to upsert one
 * key twice in a statement ("cannot affect row a second time"): within a run, only the last change of
 * each key is written, which leaves the same row as applying them in order would (every change of the
 * run writes the same columns, so the last one overwrites all that the earlier ones wrote). XXX: keys are
 * compared by their text, so two spellings of one value (numeric 1.0 and 1.00, float 0 and -0) in one run
 * still meet that error; it is reported as the data's fault.
 *
 * Errors: retriable when the server or the connection is at fault (tpg_retriable), otherwise they name
 * the table, the server's column, constraint and detail, and the key of the row (or of the first and last
 * rows of the statement). A table named "schema.name" in the mapping is that schema's; otherwise the DSN's
 * search_path finds it, and CREATE TABLE puts it in the search_path's first schema. */
#include "sinks/target_impl.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/pg.h"
#include "sinks/sinkvalue.h"

/* A statement is sent once its array parameters hold this many bytes (a row is never split), which bounds
 * the memory of the client and of the backend, far below PostgreSQL's 1 GB limit for one value. */
#define TPG_STMT_BYTES (64u << 20)

/* Longest value text quoted in an error message (keys). */
#define TPG_MSG_VALUE_MAX 64

/* Bigger scratch buffers than this are freed after each apply, so one huge batch does not pin memory. */
#define TPG_SCRATCH_KEEP (8u << 20)

/* Inserts ('c') go in with COPY from runs of this many rows on (shorter runs are upserted: COPY takes
 * three round trips); COPY data is sent in pieces of TPG_COPY_CHUNK bytes. After a COPY of a table failed
 * (a row was there already), the next TPG_COPY_PAUSE runs of inserts of that table are upserted. */
#define TPG_COPY_MIN 32
#define TPG_COPY_CHUNK (1u << 20)
#define TPG_COPY_PAUSE 64

/* Most COPY runs in one transaction; later runs are upserted. Each savepoint that writes takes a
 * subtransaction id, and a backend caches only 64 of them: beyond that every snapshot taken in the
 * service database while the transaction is open must look subtransactions up in pg_subtrans. */
#define TPG_COPY_MAX_TX 32

/* What apply needs to know of one target table: its catalog facts, read once per connection. */
struct tpg_table {
	char *name;   /* as the mapping gives it */
	char *qname;  /* quoted for SQL: "orders" or "svc"."orders" */
	int ncols;
	char **cnames; /* the mapping's column names, to tell this mapping from another onto the same table */
	char **qcols;  /* quoted column names, in the mapping's order */
	char **casts;  /* each column's declared type without modifier: format_type(atttypid, -1) ("bpchar":
	                * with NULL it would say "character", which is char(1) and cuts values) */
	bool *iskey;   /* per column: part of the key */
	int nkeys;
	int *keys;     /* indexes of the key columns, in the mapping's order */
	int copy_pause; /* runs of inserts still to upsert instead of COPY (see TPG_COPY_PAUSE) */
	bool no_copy;   /* row-level security applies to this user: COPY FROM would be refused */
};

/* A key seen in the current run of upserts: bytes in tpg.keys at [off, off + len). */
struct tpg_slot {
	uint64_t hash;
	size_t off;
	size_t len;
	int used;
};

struct tpg {
	const struct cfg_sink *sink;
	PGconn *conn; /* NULL until connect */
	char what[160]; /* "the target PostgreSQL of sink NAME", for messages */
	char ctx[140];  /* log context: "sink=NAME" */
	struct tpg_table *tables;
	size_t ntables;
	/* scratch, reused by every statement */
	struct buf sql;
	struct buf val;       /* one value's text */
	struct buf keys;      /* key texts of the current run (length-prefixed segments) */
	struct buf copy;      /* COPY data not sent yet */
	int copies;           /* COPY runs in the current transaction (TPG_COPY_MAX_TX) */
	struct buf *arrays;   /* one text[] literal per parameter */
	const char **params;
	int narrays;
	struct tpg_slot *slots;
	size_t nslots;
};

/* --- errors --- */

/* Whether a failed statement may succeed later unchanged: the connection broke, the server is shutting
 * down or short of resources, a lock or snapshot conflict, a timeout. What remains is the data's fault
 * (a constraint, a value the column cannot hold) or the schema's, and is reported as not retriable. */
static bool tpg_retriable(PGconn *c, const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!c || PQstatus(c) != CONNECTION_OK || !st)
		return true; /* no SQLSTATE: libpq's own error, i.e. the connection */
	/* 08 connection exception, 53 insufficient resources, 57 operator intervention (57P01 shutdown, 57014
	 * statement timeout), 58 system error (I/O), 40001 serialization failure, 40P01 deadlock, 40003
	 * statement completion unknown, 55P03 lock not available, 55006 object in use */
	return strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
	       strncmp(st, "58", 2) == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	       strcmp(st, "40003") == 0 || strcmp(st, "55P03") == 0 || strcmp(st, "55006") == 0;
}

/* Appends formatted text to the string in out (outlen bytes), cutting what does not fit. */
static void tpg_cat(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void tpg_cat(char *out, size_t outlen, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	if (len + 1 >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, outlen - len, fmt, ap);
	va_end(ap);
}

/* Sets err from a failed statement: the server's message on one line and, when the server names them,
 * the column, the constraint and the detail (which for a constraint names the key or the failing row). */
static int tpg_fail(struct tpg *s, PGresult *res, struct cerr *err)
{
	const char *col = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
	const char *con = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[512], det[256];

	text_one_line(primary ? primary : PQerrorMessage(s->conn), msg, sizeof msg);
	cerr_set(err, tpg_retriable(s->conn, res), "%s", msg[0] ? msg : "connection lost");
	if (col)
		tpg_cat(err->msg, sizeof err->msg, " (column %s)", col);
	if (con)
		tpg_cat(err->msg, sizeof err->msg, " (constraint %s)", con);
	if (detail)
		tpg_cat(err->msg, sizeof err->msg, ": %s", text_one_line(detail, det, sizeof det));
	return -1;
}

/* Runs a statement (parameters in text form; the server infers their types from the SQL). Returns the
 * result, which the caller clears, or NULL with err. */
static PGresult *tpg_exec(struct tpg *s, const char *sql, int nparams, const char *const *params, struct cerr *err)
{
	PGresult *res;
	ExecStatusType st;

	if (!s->conn) {
		cerr_set(err, true, "not connected to %s", s->what);
		return NULL;
	}
	res = nparams ? PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(s->conn, sql);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	tpg_fail(s, res, err);
	PQclear(res);
	return NULL;
}

/* Runs a statement that returns nothing the caller needs. */
static int tpg_run(struct tpg *s, const char *sql, int nparams, const char *const *params, struct cerr *err)
{
	PGresult *res = tpg_exec(s, sql, nparams, params, err);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

static bool tpg_sqlstate_is(const PGresult *res, const char *state)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return st && strcmp(st, state) == 0;
}

/* --- SQL text --- */

/* Appends `name` quoted as an identifier. */
static int tpg_put_ident(struct tpg *s, struct buf *out, const char *name, struct cerr *err)
{
	char *q = PQescapeIdentifier(s->conn, name, strlen(name));
	int rc;

	if (!q) {
		char msg[256];

		return cerr_set(err, false, "cannot quote the name %s: %s", name,
		                text_one_line(PQerrorMessage(s->conn), msg, sizeof msg));
	}
	rc = buf_puts(out, q);
	PQfreemem(q);
	return rc < 0 ? cerr_set(err, false, "out of memory") : 0;
}

/* The quoted table name: "t", or "schema"."t" when the mapping writes schema.t. Malloc'ed, or NULL. */
static char *tpg_quote_table(struct tpg *s, const char *name, struct cerr *err)
{
	const char *dot = strchr(name, '.');
	struct buf b;
	char *out = NULL;

	buf_init(&b, 0);
	if (dot) {
		char *schema = strndup(name, (size_t)(dot - name));

		if (!schema) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		if (tpg_put_ident(s, &b, schema, err) < 0 || buf_putc(&b, '.') < 0) {
			free(schema);
			goto cleanup;
		}
		free(schema);
		name = dot + 1;
	}
	if (tpg_put_ident(s, &b, name, err) < 0)
		goto cleanup;
	out = strdup((const char *)b.data);
	if (!out)
		cerr_set(err, false, "out of memory");
cleanup:
	buf_free(&b);
	return out;
}

/* Appends `text` as one quoted element of an array literal: "..." with " and \ escaped. */
static int tpg_put_elem(struct buf *out, const char *text, size_t len)
{
	char *p;

	if (buf_reserve(out, 2 * len + 2) < 0)
		return -1;
	p = (char *)out->data + out->len;
	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"' || text[i] == '\\')
			*p++ = '\\';
		*p++ = text[i];
	}
	*p++ = '"';
	out->len = (size_t)(p - (char *)out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* --- connection and cleave_positions --- */

/* Checks that the DSN parses (saying so without quoting it: it may hold a password); connects later. */
static void *tpg_open(const struct cfg_sink *sink, struct cerr *err)
{
	PQconninfoOption *opts;
	char *perr = NULL;
	struct tpg *s;

	opts = PQconninfoParse(sink->dsn ? sink->dsn : "", &perr);
	PQfreemem(perr);
	if (!opts) {
		cerr_set(err, false,
		         "sink %s: the dsn cannot be parsed (not shown: it may hold a password); check its key=value"
		         " pairs or URI syntax and percent-encoding", sink->name);
		return NULL;
	}
	PQconninfoFree(opts);
	s = calloc(1, sizeof *s);
	if (!s) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	s->sink = sink;
	snprintf(s->what, sizeof s->what, "the target PostgreSQL of sink %s", sink->name);
	snprintf(s->ctx, sizeof s->ctx, "sink=%s", sink->name);
	buf_init(&s->sql, 0);
	buf_init(&s->val, 0);
	buf_init(&s->keys, 0);
	buf_init(&s->copy, 0);
	return s;
}

static void tpg_table_free(struct tpg_table *t)
{
	for (int i = 0; i < t->ncols; i++) {
		free(t->cnames[i]);
		free(t->qcols[i]);
		free(t->casts[i]);
	}
	free(t->cnames);
	free(t->qcols);
	free(t->casts);
	free(t->keys);
	free(t->iskey);
	free(t->name);
	free(t->qname);
	memset(t, 0, sizeof *t);
}

/* Forgets what was read of the catalog: after a reconnect the tables may have changed. */
static void tpg_forget_tables(struct tpg *s)
{
	for (size_t i = 0; i < s->ntables; i++)
		tpg_table_free(&s->tables[i]);
	free(s->tables);
	s->tables = NULL;
	s->ntables = 0;
}

static void tpg_close(void *state)
{
	struct tpg *s = state;

	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	tpg_forget_tables(s);
	for (int i = 0; i < s->narrays; i++)
		buf_free(&s->arrays[i]);
	free(s->arrays);
	free(s->params);
	free(s->slots);
	buf_free(&s->sql);
	buf_free(&s->val);
	buf_free(&s->keys);
	buf_free(&s->copy);
	free(s);
}

/* Creates table `name` (cleave's own: cleave_positions, cleave_truncates) with `create` in the connection's
 * default schema unless the search_path already has it. Checked first, so a user without CREATE on the
 * schema can run once the table exists. */
static int tpg_ensure_table(struct tpg *s, const char *name, const char *create, struct cerr *err)
{
	const char *params[] = {name};
	PGresult *res = tpg_exec(s, "SELECT to_regclass($1) IS NOT NULL", 1, params, err);
	bool exists;

	if (!res)
		return cerr_wrap(err, "looking for table %s", name);
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (exists)
		return 0;
	if (!s->conn)
		return cerr_set(err, true, "not connected to %s", s->what);
	res = PQexec(s->conn, create);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* another sink process creating it at the same moment: fine */
		if (tpg_sqlstate_is(res, "42P07") || tpg_sqlstate_is(res, "23505")) {
			PQclear(res);
			return 0;
		}
		tpg_fail(s, res, err);
		PQclear(res);
		return cerr_wrap(err, "creating table %s", name);
	}
	PQclear(res);
	return 0;
}

static int tpg_ensure_positions(struct tpg *s, struct cerr *err)
{
	static const char positions[] =
	        "CREATE TABLE IF NOT EXISTS cleave_positions (sink text, topic text, kafka_partition integer,"
	        " kafka_offset bigint NOT NULL, commit_lsn bigint NOT NULL, seq bigint NOT NULL,"
	        " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (sink, topic, kafka_partition))";
	/* kafka_partition -1: the barrier is done; -2: the row arrivals lock (see target.h) */
	static const char truncates[] =
	        "CREATE TABLE IF NOT EXISTS cleave_truncates (sink text, topic text, commit_lsn bigint, seq bigint,"
	        " kafka_partition integer, at timestamptz NOT NULL DEFAULT now(),"
	        " PRIMARY KEY (sink, topic, commit_lsn, seq, kafka_partition))";

	if (tpg_ensure_table(s, "cleave_positions", positions, err) < 0)
		return -1;
	return tpg_ensure_table(s, "cleave_truncates", truncates, err);
}

/* Server notices go to the log instead of libpq's default, stderr: warnings as warnings, the rest (such
 * as "relation already exists, skipping") at debug level. */
static void tpg_notice(void *arg, const char *message)
{
	const struct tpg *s = arg;
	char line[512];

	text_one_line(message, line, sizeof line);
	if (strncmp(line, "WARNING:", 8) == 0)
		log_warn(s->ctx, "%s says: %s", s->what, line);
	else
		log_debug(s->ctx, "%s says: %s", s->what, line);
}

static int tpg_connect(void *state, struct cerr *err)
{
	struct tpg *s = state;
	/* values are UTF-8 whatever the database's encoding: the server converts them (or refuses one that
	 * its encoding cannot hold) */
	const char *keys[] = {"fallback_application_name", "client_encoding", NULL};
	const char *vals[] = {"cleave sink", "UTF8", NULL};

	if (s->conn) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	tpg_forget_tables(s);
	s->conn = pg_connect(s->sink->dsn, keys, vals, s->what, err);
	if (!s->conn)
		return -1;
	PQsetNoticeProcessor(s->conn, tpg_notice, s);
	if (tpg_ensure_positions(s, err) < 0)
		return cerr_wrap(err, "%s", s->what);
	return 0;
}

/* --- tables: checking, creating, remembering --- */

/* Catalog facts of one relation, columns in attnum order. Zero rows: no such relation in the search_path.
 * A table without columns gives one row with NULL attname. */
static PGresult *tpg_describe(struct tpg *s, const char *qname, struct cerr *err)
{
	static const char sql[] =
	        "SELECT c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, -1),"
	        " coalesce(a.attnum = ANY (i.indkey), false), i.indexrelid IS NOT NULL, a.attgenerated <> '',"
	        /* upserts read the key and EXCLUDED columns, deletes the key: all four privileges */
	        " has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT') AND"
	        " has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'), current_user,"
	        /* policies filter this user's writes; COPY FROM refuses such a table */
	        " row_security_active(c.oid),"
	        /* rules rewrite writes, and ON CONFLICT refuses a table with INSERT or UPDATE rules */
	        " (SELECT string_agg(quote_ident(r.rulename), ', ' ORDER BY r.rulename) FROM pg_rewrite r"
	        "  WHERE r.ev_class = c.oid AND r.ev_type IN ('2', '3', '4'))"
	        " FROM pg_class c"
	        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	        " LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
	        " WHERE c.oid = to_regclass($1) ORDER BY a.attnum";
	const char *params[] = {qname};

	return tpg_exec(s, sql, 1, params, err);
}

enum {
	TPG_D_RELKIND,
	TPG_D_NAME,
	TPG_D_TYPE,
	TPG_D_BASE,
	TPG_D_INKEY,
	TPG_D_HASKEY,
	TPG_D_GENERATED,
	TPG_D_PRIVILEGED,
	TPG_D_USER,
	TPG_D_RLS,
	TPG_D_RULES,
};

/* The description row of column `name`, or -1. */
static int tpg_find_col(const PGresult *res, const char *name)
{
	for (int r = 0; r < PQntuples(res); r++)
		if (!PQgetisnull(res, r, TPG_D_NAME) && strcmp(PQgetvalue(res, r, TPG_D_NAME), name) == 0)
			return r;
	return -1;
}

/* Appends the mapping's key columns as "(a, b)" to out, quoted. */
static int tpg_put_keylist(struct tpg *s, struct buf *out, const struct target_table *tbl, struct cerr *err)
{
	bool first = true;

	if (buf_putc(out, '(') < 0)
		return cerr_set(err, false, "out of memory");
	for (int i = 0; i < tbl->ncols; i++) {
		if (!tbl->cols[i].key)
			continue;
		if (!first && buf_puts(out, ", ") < 0)
			return cerr_set(err, false, "out of memory");
		if (tpg_put_ident(s, out, tbl->cols[i].name, err) < 0)
			return -1;
		first = false;
	}
	return buf_putc(out, ')') < 0 ? cerr_set(err, false, "out of memory") : 0;
}

/* Checks an existing relation against the mapping: a table the user may write, every column there with a
 * type that holds the source's values, and a primary key of exactly the key columns. */
static int tpg_check(struct tpg *s, const struct target_table *tbl, const char *qname, const PGresult *res,
                     struct cerr *err)
{
	const char *relkind = PQgetvalue(res, 0, TPG_D_RELKIND);
	char need[128], src[128];
	struct buf b;
	int rc = -1, nkey = 0;

	buf_init(&b, 0);
	if (strcmp(relkind, "r") != 0 && strcmp(relkind, "p") != 0) {
		cerr_set(err, false, "target %s is not a table (relkind %s); map to a table", tbl->name, relkind);
		goto cleanup;
	}
	if (!PQgetisnull(res, 0, TPG_D_RULES)) {
		cerr_set(err, false,
		         "target table %s has rules on writes (%s), which would rewrite what cleave writes (and"
		         " INSERT ... ON CONFLICT refuses a table with INSERT or UPDATE rules); drop them or map to"
		         " another table", tbl->name, PQgetvalue(res, 0, TPG_D_RULES));
		goto cleanup;
	}
	if (strcmp(PQgetvalue(res, 0, TPG_D_PRIVILEGED), "t") != 0) {
		buf_reset(&b);
		if (tpg_put_ident(s, &b, PQgetvalue(res, 0, TPG_D_USER), err) < 0)
			goto cleanup;
		cerr_set(err, false,
		         "target table %s: user %s may not read and write it; GRANT SELECT, INSERT, UPDATE, DELETE ON"
		         " %s TO %s", tbl->name, PQgetvalue(res, 0, TPG_D_USER), qname, (const char *)b.data);
		goto cleanup;
	}
	for (int i = 0; i < tbl->ncols; i++) {
		const struct target_column *c = &tbl->cols[i];
		int r = tpg_find_col(res, c->name);

		if (c->key)
			sinkvalue_ddl_key_type(SINKVALUE_PG, &c->type, need, sizeof need);
		else
			sinkvalue_ddl_type(SINKVALUE_PG, &c->type, need, sizeof need);
		coltype_pg_name(&c->type, src, sizeof src);
		buf_reset(&b);
		if (tpg_put_ident(s, &b, c->name, err) < 0)
			goto cleanup;
		if (r < 0) {
			cerr_set(err, false,
			         "target table %s has no column %s (type %s needed for the source's %s); add it: ALTER"
			         " TABLE %s ADD COLUMN %s %s",
			         tbl->name, c->name, need, src, qname, (const char *)b.data, need);
			goto cleanup;
		}
		if (strcmp(PQgetvalue(res, r, TPG_D_GENERATED), "t") == 0) {
			cerr_set(err, false,
			         "target table %s: column %s is a generated column, which cleave cannot write; make it"
			         " a plain column or leave it out of the mapping's columns",
			         tbl->name, c->name);
			goto cleanup;
		}
		if (!(c->key ? sinkvalue_compatible_key : sinkvalue_compatible)(SINKVALUE_PG, &c->type,
		                                                               PQgetvalue(res, r, TPG_D_TYPE))) {
			cerr_set(err, false,
			         "target table %s: column %s has type %s, which cannot hold the source's %s (needs %s);"
			         " change it: ALTER TABLE %s ALTER COLUMN %s TYPE %s",
			         tbl->name, c->name, PQgetvalue(res, r, TPG_D_TYPE), src, need, qname,
			         (const char *)b.data, need);
			goto cleanup;
		}
		if (c->key)
			nkey++;
	}
	buf_reset(&b);
	if (tpg_put_keylist(s, &b, tbl, err) < 0)
		goto cleanup;
	if (strcmp(PQgetvalue(res, 0, TPG_D_HASKEY), "t") != 0) {
		cerr_set(err, false, "target table %s has no primary key; cleave upserts by key: ALTER TABLE %s ADD"
		         " PRIMARY KEY %s", tbl->name, qname, (const char *)b.data);
		goto cleanup;
	}
	{
		/* the same set of columns, in any order: ON CONFLICT (cols) finds the index by its set */
		int npk = 0, matched = 0;
		struct buf found;

		for (int r = 0; r < PQntuples(res); r++) {
			int i;

			if (strcmp(PQgetvalue(res, r, TPG_D_INKEY), "t") != 0)
				continue;
			npk++;
			for (i = 0; i < tbl->ncols; i++)
				if (tbl->cols[i].key && strcmp(tbl->cols[i].name, PQgetvalue(res, r, TPG_D_NAME)) == 0)
					break;
			if (i < tbl->ncols)
				matched++;
		}
		if (npk == nkey && matched == nkey) {
			rc = 0;
			goto cleanup;
		}
		buf_init(&found, 0);
		for (int r = 0; r < PQntuples(res); r++) {
			if (strcmp(PQgetvalue(res, r, TPG_D_INKEY), "t") != 0)
				continue;
			if (buf_puts(&found, found.len ? ", " : "(") < 0 ||
			    buf_puts(&found, PQgetvalue(res, r, TPG_D_NAME)) < 0) {
				buf_free(&found);
				cerr_set(err, false, "out of memory");
				goto cleanup;
			}
		}
		if (buf_putc(&found, ')') < 0) {
			buf_free(&found);
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		cerr_set(err, false,
		         "target table %s has primary key %s but the mapping's key is %s; make the primary key"
		         " exactly %s",
		         tbl->name, (const char *)found.data, (const char *)b.data, (const char *)b.data);
		buf_free(&found);
	}
cleanup:
	buf_free(&b);
	return rc;
}

/* Appends " DEFAULT 'text'" for a column whose source rows older than its ADD COLUMN hold c->missing. */
static int tpg_put_default(struct tpg *s, struct buf *out, const struct target_column *c, struct cerr *err)
{
	char *lit;
	int rc;

	if (!c->missing || c->key)
		return 0;
	if (!(lit = PQescapeLiteral(s->conn, c->missing, strlen(c->missing))))
		return cerr_set(err, false, "out of memory");
	rc = buf_printf(out, " DEFAULT %s", lit) < 0 ? cerr_set(err, false, "out of memory") : 0;
	PQfreemem(lit);
	return rc;
}

/* Creates the table from the source's column types (SPEC.md §5) with the key columns as primary key. */
static int tpg_create(struct tpg *s, const struct target_table *tbl, const char *qname, struct cerr *err)
{
	char type[128];
	PGresult *res = NULL;
	int rc = -1;

	buf_reset(&s->sql);
	if (buf_printf(&s->sql, "CREATE TABLE %s (", qname) < 0)
		goto oom;
	for (int i = 0; i < tbl->ncols; i++) {
		if (tbl->cols[i].key)
			sinkvalue_ddl_key_type(SINKVALUE_PG, &tbl->cols[i].type, type, sizeof type);
		else
			sinkvalue_ddl_type(SINKVALUE_PG, &tbl->cols[i].type, type, sizeof type);
		if (tpg_put_ident(s, &s->sql, tbl->cols[i].name, err) < 0)
			goto cleanup;
		if (buf_printf(&s->sql, " %s", type) < 0)
			goto oom;
		if (tpg_put_default(s, &s->sql, &tbl->cols[i], err) < 0)
			goto cleanup;
		if (buf_puts(&s->sql, ", ") < 0)
			goto oom;
	}
	if (buf_puts(&s->sql, "PRIMARY KEY ") < 0)
		goto oom;
	if (tpg_put_keylist(s, &s->sql, tbl, err) < 0)
		goto cleanup;
	if (buf_putc(&s->sql, ')') < 0)
		goto oom;
	res = PQexec(s->conn, (const char *)s->sql.data);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    /* created by another sink process meanwhile: checked like any existing table */
	    tpg_sqlstate_is(res, "42P07") || tpg_sqlstate_is(res, "23505")) {
		rc = 0;
	} else {
		tpg_fail(s, res, err);
		cerr_wrap(err, "creating target table %s", tbl->name);
	}
	goto cleanup;
oom:
	cerr_set(err, false, "out of memory");
cleanup:
	PQclear(res);
	return rc;
}

/* Whether remembered table t is the one of this mapping (two mappings may write one table, with
 * different columns). */
static bool tpg_table_matches(const struct tpg_table *t, const struct target_table *tbl)
{
	if (strcmp(t->name, tbl->name) != 0 || t->ncols != tbl->ncols)
		return false;
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cnames[i], tbl->cols[i].name) != 0 || t->iskey[i] != tbl->cols[i].key)
			return false;
	return true;
}

/* Remembers the checked table for apply (replacing the entry of the same mapping). */
static int tpg_remember(struct tpg *s, const struct target_table *tbl, char *qname, const PGresult *res,
                        struct tpg_table **out, struct cerr *err)
{
	struct tpg_table t = {0}, *slot = NULL;

	t.name = strdup(tbl->name);
	t.qname = qname;
	t.cnames = calloc((size_t)tbl->ncols, sizeof *t.cnames);
	t.qcols = calloc((size_t)tbl->ncols, sizeof *t.qcols);
	t.casts = calloc((size_t)tbl->ncols, sizeof *t.casts);
	t.keys = calloc((size_t)tbl->ncols, sizeof *t.keys);
	t.iskey = calloc((size_t)tbl->ncols, sizeof *t.iskey);
	if (!t.name || !t.cnames || !t.qcols || !t.casts || !t.keys || !t.iskey)
		goto oom;
	t.ncols = tbl->ncols; /* from here tpg_table_free frees the per-column strings */
	t.no_copy = strcmp(PQgetvalue(res, 0, TPG_D_RLS), "t") == 0;
	for (int i = 0; i < tbl->ncols; i++) {
		int r = tpg_find_col(res, tbl->cols[i].name);

		t.cnames[i] = strdup(tbl->cols[i].name);
		t.qcols[i] = PQescapeIdentifier(s->conn, tbl->cols[i].name, strlen(tbl->cols[i].name));
		if (t.qcols[i]) {
			/* keep the allocation rules simple: everything in the entry comes from malloc */
			char *q = strdup(t.qcols[i]);

			PQfreemem(t.qcols[i]);
			t.qcols[i] = q;
		}
		t.casts[i] = strdup(PQgetvalue(res, r, TPG_D_BASE));
		if (!t.cnames[i] || !t.qcols[i] || !t.casts[i])
			goto oom;
		t.iskey[i] = tbl->cols[i].key;
		if (tbl->cols[i].key)
			t.keys[t.nkeys++] = i;
	}
	for (size_t i = 0; i < s->ntables; i++)
		if (tpg_table_matches(&s->tables[i], tbl)) {
			slot = &s->tables[i];
			tpg_table_free(slot);
			break;
		}
	if (!slot) {
		struct tpg_table *n = realloc(s->tables, (s->ntables + 1) * sizeof *n);

		if (!n)
			goto oom;
		s->tables = n;
		slot = &s->tables[s->ntables++];
	}
	*slot = t;
	*out = slot;
	return 0;
oom:
	tpg_table_free(&t); /* frees qname too */
	return cerr_set(err, false, "out of memory");
}

/* The first of column c's other names (a rename) that the described table has, or NULL. */
static const char *tpg_was_present(const PGresult *res, const struct target_column *c)
{
	for (size_t k = 0; c->was && c->was[k]; k++)
		if (tpg_find_col(res, c->was[k]) >= 0)
			return c->was[k];
	return NULL;
}

/* Runs one ALTER TABLE for a schema change (outside any transaction of the sink: DDL on its own). A column
 * that another process of the sink added meanwhile is no error. */
static int tpg_alter(struct tpg *s, const struct target_table *tbl, struct cerr *err)
{
	PGresult *res = PQexec(s->conn, (const char *)s->sql.data);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && !tpg_sqlstate_is(res, "42701")) {
		tpg_fail(s, res, err);
		rc = cerr_wrap(err, "changing target table %s for a source schema change", tbl->name);
	}
	PQclear(res);
	return rc;
}

/* Whether column c, declared `declared` in the target, cannot hold the source's type but can be widened
 * without loss to a type that does (written to out). */
static bool tpg_widening(const struct target_column *c, const char *declared, char *out, size_t outlen)
{
	if ((c->key ? sinkvalue_compatible_key : sinkvalue_compatible)(SINKVALUE_PG, &c->type, declared))
		return false;
	return sinkvalue_widen(SINKVALUE_PG, &c->type, c->key, declared, out, outlen) == 1;
}

/* Follows the source's schema changes on an existing table (*res describes it; described again when
 * something changed): a renamed column is refused whatever `create` says (adding it would leave the old
 * column stale); with create, a missing non-key column is added and a column too narrow for the source's
 * type is widened where sinkvalue_widen finds a lossless type. What is left is tpg_check's to report. */
static int tpg_evolve(struct tpg *s, const struct target_table *tbl, const char *qname, PGresult **res,
                      bool create, struct cerr *err)
{
	const char *relkind = PQgetvalue(*res, 0, TPG_D_RELKIND);
	char type[128], src[128];
	bool changed = false;

	/* not a table, or one the user may not write: tpg_check says so */
	if ((strcmp(relkind, "r") != 0 && strcmp(relkind, "p") != 0) ||
	    strcmp(PQgetvalue(*res, 0, TPG_D_PRIVILEGED), "t") != 0)
		return 0;
	for (int i = 0; i < tbl->ncols; i++) {
		const struct target_column *c = &tbl->cols[i];
		int r = tpg_find_col(*res, c->name);
		const char *was;

		coltype_pg_name(&c->type, src, sizeof src);
		if (r < 0 && (was = tpg_was_present(*res, c))) {
			const char *now = c->source ? c->source : c->name;

			buf_reset(&s->sql);
			if (tpg_put_ident(s, &s->sql, was, err) < 0 ||
			    (buf_puts(&s->sql, " TO ") < 0 && cerr_set(err, false, "out of memory")) ||
			    tpg_put_ident(s, &s->sql, c->name, err) < 0)
				return -1;
			return cerr_set(err, false,
			                "target table %s cannot follow the rename of source column %s (now %s): the table"
			                " has column %s but not %s, and cleave does not rename columns; add `%s: %s` under"
			                " the mapping's `rename:` to keep filling column %s, or rename the target column"
			                " (ALTER TABLE %s RENAME COLUMN %s), then restart the sink",
			                tbl->name, was, now, was, c->name, now, was, was, qname, (const char *)s->sql.data);
		}
		if (!create)
			continue;
		buf_reset(&s->sql);
		if (r < 0 && !c->key) {
			sinkvalue_ddl_type(SINKVALUE_PG, &c->type, type, sizeof type);
			if (buf_printf(&s->sql, "ALTER TABLE %s ADD COLUMN ", qname) < 0)
				return cerr_set(err, false, "out of memory");
			if (tpg_put_ident(s, &s->sql, c->name, err) < 0)
				return -1;
			if (buf_printf(&s->sql, " %s", type) < 0)
				return cerr_set(err, false, "out of memory");
			if (tpg_put_default(s, &s->sql, c, err) < 0 || tpg_alter(s, tbl, err) < 0)
				return -1;
			log_info(s->ctx, "target table %s: added column %s %s%s%s (a new column of the source)", tbl->name,
			         c->name, type, c->missing ? " DEFAULT " : "", c->missing ? c->missing : "");
			changed = true;
		} else if (r >= 0 && tpg_widening(c, PQgetvalue(*res, r, TPG_D_TYPE), type, sizeof type)) {
			if (buf_printf(&s->sql, "ALTER TABLE %s ALTER COLUMN ", qname) < 0)
				return cerr_set(err, false, "out of memory");
			if (tpg_put_ident(s, &s->sql, c->name, err) < 0)
				return -1;
			if (buf_printf(&s->sql, " TYPE %s", type) < 0)
				return cerr_set(err, false, "out of memory");
			if (tpg_alter(s, tbl, err) < 0)
				return -1;
			log_info(s->ctx, "target table %s: widened column %s from %s to %s (the source's is now %s)",
			         tbl->name, c->name, PQgetvalue(*res, r, TPG_D_TYPE), type, src);
			changed = true;
		}
	}
	if (changed) {
		PQclear(*res);
		if (!(*res = tpg_describe(s, qname, err)))
			return cerr_wrap(err, "reading the definition of target table %s", tbl->name);
	}
	return 0;
}

static int tpg_validate_mapping(const struct target_table *tbl, struct cerr *err)
{
	int nkey = 0;

	if (!tbl->name || !tbl->name[0] || tbl->ncols <= 0)
		return cerr_set(err, false, "target table %s: the mapping has no columns", tbl->name ? tbl->name : "?");
	for (int i = 0; i < tbl->ncols; i++)
		nkey += tbl->cols[i].key;
	if (nkey == 0)
		return cerr_set(err, false,
		                "target table %s: the source table has no key columns (primary key or replica"
		                " identity), which cleave needs to upsert and delete rows", tbl->name);
	return 0;
}

/* prepare_table's work; on success *out is the remembered table. */
static int tpg_prepare(struct tpg *s, const struct target_table *tbl, bool create, struct tpg_table **out,
                       struct cerr *err)
{
	PGresult *res = NULL;
	char *qname = NULL;
	int rc = -1;

	if (!s->conn)
		return cerr_set(err, true, "not connected to %s", s->what);
	if (tpg_validate_mapping(tbl, err) < 0)
		return -1;
	qname = tpg_quote_table(s, tbl->name, err);
	if (!qname)
		return -1;
	res = tpg_describe(s, qname, err);
	if (!res)
		goto wrap;
	if (PQntuples(res) == 0) {
		if (!create) {
			cerr_set(err, false, "target table %s does not exist; create it or set create_tables: true",
			         tbl->name);
			goto cleanup;
		}
		PQclear(res);
		res = NULL;
		if (tpg_create(s, tbl, qname, err) < 0)
			goto cleanup;
		res = tpg_describe(s, qname, err);
		if (!res)
			goto wrap;
		if (PQntuples(res) == 0) {
			cerr_set(err, false, "target table %s was created but cannot be found in the search_path",
			         tbl->name);
			goto cleanup;
		}
	}
	if (tpg_evolve(s, tbl, qname, &res, create, err) < 0 || tpg_check(s, tbl, qname, res, err) < 0)
		goto cleanup;
	rc = tpg_remember(s, tbl, qname, res, out, err);
	qname = NULL; /* owned by the table entry now, or freed with it */
	goto cleanup;
wrap:
	cerr_wrap(err, "reading the definition of target table %s", tbl->name);
cleanup:
	PQclear(res);
	free(qname);
	return rc;
}

static int tpg_prepare_table(void *state, const struct target_table *tbl, bool create, struct cerr *err)
{
	struct tpg_table *t;

	return tpg_prepare(state, tbl, create, &t, err);
}

/* The remembered table for this mapping, read from the catalog first if needed (not creating it). */
static struct tpg_table *tpg_table_get(struct tpg *s, const struct target_table *tbl, struct cerr *err)
{
	struct tpg_table *t = NULL;

	for (size_t i = 0; i < s->ntables; i++) {
		struct tpg_table *c = &s->tables[i];

		if (tpg_table_matches(c, tbl))
			return c;
	}
	if (tpg_prepare(s, tbl, false, &t, err) < 0)
		return NULL;
	return t;
}

/* --- applying changes --- */

/* Makes sure there are n parameter buffers, each reset to "{". */
static int tpg_arrays_begin(struct tpg *s, int n, struct cerr *err)
{
	if (n > s->narrays) {
		const char **p = realloc(s->params, (size_t)n * sizeof *p);
		struct buf *a;

		if (!p)
			return cerr_set(err, false, "out of memory");
		s->params = p;
		a = realloc(s->arrays, (size_t)n * sizeof *a);
		if (!a)
			return cerr_set(err, false, "out of memory");
		s->arrays = a;
		for (int i = s->narrays; i < n; i++)
			buf_init(&s->arrays[i], 0);
		s->narrays = n;
	}
	for (int i = 0; i < n; i++) {
		buf_reset(&s->arrays[i]);
		if (buf_putc(&s->arrays[i], '{') < 0)
			return cerr_set(err, false, "out of memory");
	}
	return 0;
}

/* Whether a cell carries a value (not NULL, not unchanged; a JSON null counts as NULL). */
static bool tpg_has_value(const struct target_cell *cell)
{
	return cell->kind == TARGET_VALUE && cell->value && !json_is_null(cell->value);
}

/* Appends one array element: the cell's text, or NULL. `first`: no comma before it. */
static int tpg_put_cell(struct tpg *s, struct buf *arr, const struct coltype *type, const struct target_cell *cell,
                        bool first, struct cerr *err)
{
	if (!first && buf_putc(arr, ',') < 0)
		return cerr_set(err, false, "out of memory");
	if (!tpg_has_value(cell))
		return buf_puts(arr, "NULL") < 0 ? cerr_set(err, false, "out of memory") : 0;
	buf_reset(&s->val);
	if (sinkvalue_text(SINKVALUE_PG, type, cell->value, &s->val, err) < 0)
		return -1;
	if (tpg_put_elem(arr, (const char *)s->val.data, s->val.len) < 0)
		return cerr_set(err, false, "out of memory (a value of %zu bytes)", s->val.len);
	return 0;
}

/* Writes the key of a change for a message: "('1', 'abc')", values cut at TPG_MSG_VALUE_MAX bytes. */
static void tpg_key_text(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                         const struct target_change *ch, char *out, size_t outlen)
{
	snprintf(out, outlen, "(");
	for (int k = 0; k < t->nkeys; k++) {
		const struct target_cell *cell = &ch->cells[t->keys[k]];
		const char *sep = k ? ", " : "";
		struct cerr ignored = {0};

		buf_reset(&s->val);
		if (!tpg_has_value(cell))
			tpg_cat(out, outlen, "%s%s", sep, cell->kind == TARGET_UNCHANGED ? "?" : "NULL");
		else if (sinkvalue_text(SINKVALUE_PG, &tbl->cols[t->keys[k]].type, cell->value, &s->val, &ignored) < 0)
			tpg_cat(out, outlen, "%s?", sep);
		else
			tpg_cat(out, outlen, "%s'%.*s%s'", sep,
			        (int)(s->val.len > TPG_MSG_VALUE_MAX ? TPG_MSG_VALUE_MAX : s->val.len),
			        (const char *)s->val.data, s->val.len > TPG_MSG_VALUE_MAX ? "..." : "");
	}
	tpg_cat(out, outlen, ")");
}

/* Adds where to err from a value that could not be turned into text: table, column, key. Returns -1. */
static int tpg_value_error(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                           const struct target_change *ch, int col, struct cerr *err)
{
	char key[256];

	tpg_key_text(s, t, tbl, ch, key, sizeof key);
	return cerr_wrap(err, "table %s, column %s, key %s", tbl->name, tbl->cols[col].name, key);
}

/* Rejects a change whose key cells are not all values: such a row cannot be found again. */
static int tpg_check_key(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                         const struct target_change *ch, struct cerr *err)
{
	for (int k = 0; k < t->nkeys; k++) {
		const struct target_cell *cell = &ch->cells[t->keys[k]];

		if (!tpg_has_value(cell))
			return cerr_set(err, false, "table %s: key column %s is %s in a change ('%c')", tbl->name,
			                tbl->cols[t->keys[k]].name,
			                cell->kind == TARGET_UNCHANGED ? "unchanged" : "NULL", ch->op);
	}
	return 0;
}

/* Sends the statement in s->sql with the first n arrays as parameters. rows: the changes it carries
 * (for the message), first/last: two of them. */
static int tpg_send(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl, int n,
                    const struct target_change *first, const struct target_change *last, size_t rows,
                    const char *what, struct cerr *err)
{
	char k1[256], k2[256];
	PGresult *res;

	for (int i = 0; i < n; i++) {
		if (buf_putc(&s->arrays[i], '}') < 0)
			return cerr_set(err, false, "out of memory");
		s->params[i] = (const char *)s->arrays[i].data;
	}
	res = tpg_exec(s, (const char *)s->sql.data, n, s->params, err);
	if (res) {
		PQclear(res);
		return 0;
	}
	if (err->retriable)
		return cerr_wrap(err, "%s %zu row%s of table %s", what, rows, rows == 1 ? "" : "s", tbl->name);
	/* A data error: which rows. The statement failed as a whole, so for several rows only the server's
	 * detail (the failing row for NOT NULL and CHECK, the key for unique and foreign keys) says which one;
	 * the sink can find it by applying the rows one at a time. */
	tpg_key_text(s, t, tbl, first, k1, sizeof k1);
	if (rows == 1)
		return cerr_wrap(err, "%s 1 row of table %s, key %s", what, tbl->name, k1);
	tpg_key_text(s, t, tbl, last, k2, sizeof k2);
	return cerr_wrap(err, "%s %zu rows of table %s, keys %s ... %s", what, rows, tbl->name, k1, k2);
}

/* Builds the DELETE for t (keys as the first t->nkeys parameters) into s->sql. */
static int tpg_sql_delete(struct tpg *s, const struct tpg_table *t, struct cerr *err)
{
	buf_reset(&s->sql);
	if (buf_printf(&s->sql, "DELETE FROM %s AS t USING unnest(", t->qname) < 0)
		goto oom;
	for (int k = 0; k < t->nkeys; k++)
		if (buf_printf(&s->sql, "%s$%d::text[]", k ? ", " : "", k + 1) < 0)
			goto oom;
	if (buf_puts(&s->sql, ") AS u(") < 0)
		goto oom;
	for (int k = 0; k < t->nkeys; k++)
		if (buf_printf(&s->sql, "%sa%d", k ? ", " : "", k + 1) < 0)
			goto oom;
	if (buf_puts(&s->sql, ") WHERE ") < 0)
		goto oom;
	for (int k = 0; k < t->nkeys; k++)
		if (buf_printf(&s->sql, "%st.%s = u.a%d::%s", k ? " AND " : "", t->qcols[t->keys[k]], k + 1,
		               t->casts[t->keys[k]]) < 0)
			goto oom;
	return 0;
oom:
	return cerr_set(err, false, "out of memory");
}

/* Deletes the rows of changes[0..n) (all 'd'), in statements of up to TPG_STMT_BYTES. */
static int tpg_delete_run(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                          const struct target_change *ch, size_t n, struct cerr *err)
{
	size_t i = 0;

	if (tpg_sql_delete(s, t, err) < 0)
		return -1;
	while (i < n) {
		size_t start = i, bytes = 0;

		if (tpg_arrays_begin(s, t->nkeys, err) < 0)
			return -1;
		for (; i < n && bytes < TPG_STMT_BYTES; i++) {
			if (tpg_check_key(s, t, tbl, &ch[i], err) < 0)
				return -1;
			for (int k = 0; k < t->nkeys; k++) {
				int col = t->keys[k];
				struct buf *a = &s->arrays[k];
				size_t before = a->len;

				if (tpg_put_cell(s, a, &tbl->cols[col].type, &ch[i].cells[col], i == start, err) < 0)
					return tpg_value_error(s, t, tbl, &ch[i], col, err);
				bytes += a->len - before;
			}
		}
		if (tpg_send(s, t, tbl, t->nkeys, &ch[start], &ch[i - 1], i - start, "deleting", err) < 0)
			return -1;
	}
	return 0;
}

/* Whether two upserts leave the same columns unchanged (and may share a statement). */
static bool tpg_same_unchanged(int ncols, const struct target_change *a, const struct target_change *b)
{
	for (int c = 0; c < ncols; c++)
		if ((a->cells[c].kind == TARGET_UNCHANGED) != (b->cells[c].kind == TARGET_UNCHANGED))
			return false;
	return true;
}

/* Builds the upsert for t into s->sql, writing the columns that `like` does not leave unchanged (as
 * parameters in column order) and NULL for the others. Returns the parameter count, or -1. */
static int tpg_sql_upsert(struct tpg *s, const struct tpg_table *t, const struct target_change *like,
                          struct cerr *err)
{
	int np = 0, nset = 0;

	buf_reset(&s->sql);
	if (buf_printf(&s->sql, "INSERT INTO %s (", t->qname) < 0)
		goto oom;
	for (int c = 0; c < t->ncols; c++)
		if (buf_printf(&s->sql, "%s%s", c ? ", " : "", t->qcols[c]) < 0)
			goto oom;
	/* an identity column GENERATED ALWAYS takes the source's value too */
	if (buf_puts(&s->sql, ") OVERRIDING SYSTEM VALUE SELECT ") < 0)
		goto oom;
	for (int c = 0; c < t->ncols; c++) {
		const char *sep = c ? ", " : "";
		int rc = like->cells[c].kind == TARGET_UNCHANGED ?
		                 buf_printf(&s->sql, "%sNULL::%s", sep, t->casts[c]) :
		                 buf_printf(&s->sql, "%su.a%d::%s", sep, ++np, t->casts[c]);

		if (rc < 0)
			goto oom;
	}
	if (buf_puts(&s->sql, " FROM unnest(") < 0)
		goto oom;
	for (int p = 1; p <= np; p++)
		if (buf_printf(&s->sql, "%s$%d::text[]", p > 1 ? ", " : "", p) < 0)
			goto oom;
	if (buf_puts(&s->sql, ") AS u(") < 0)
		goto oom;
	for (int p = 1; p <= np; p++)
		if (buf_printf(&s->sql, "%sa%d", p > 1 ? ", " : "", p) < 0)
			goto oom;
	if (buf_puts(&s->sql, ") ON CONFLICT (") < 0)
		goto oom;
	for (int k = 0; k < t->nkeys; k++)
		if (buf_printf(&s->sql, "%s%s", k ? ", " : "", t->qcols[t->keys[k]]) < 0)
			goto oom;
	if (buf_puts(&s->sql, ") DO ") < 0)
		goto oom;
	for (int c = 0; c < t->ncols; c++) {
		if (t->iskey[c] || like->cells[c].kind == TARGET_UNCHANGED)
			continue;
		if (buf_printf(&s->sql, "%s%s = EXCLUDED.%s", nset++ ? ", " : "UPDATE SET ", t->qcols[c], t->qcols[c]) <
		    0)
			goto oom;
	}
	if (nset == 0 && buf_puts(&s->sql, "NOTHING") < 0)
		goto oom;
	return np;
oom:
	return cerr_set(err, false, "out of memory");
}

static uint64_t tpg_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211u;
	}
	return h;
}

/* Readies the key set for a run of n upserts: an open-addressing table at most half full, of *mask + 1
 * slots. */
static int tpg_keys_begin(struct tpg *s, size_t n, size_t *mask, struct cerr *err)
{
	size_t want = 16;

	while (want < 2 * n)
		want *= 2;
	if (want > s->nslots) {
		struct tpg_slot *sl = realloc(s->slots, want * sizeof *sl);

		if (!sl)
			return cerr_set(err, false, "out of memory");
		s->slots = sl;
		s->nslots = want;
	}
	/* only the first `want` slots are used for this run */
	memset(s->slots, 0, want * sizeof *s->slots);
	buf_reset(&s->keys);
	*mask = want - 1;
	return 0;
}

/* Adds the key of change ch to the set (size mask+1). Returns 1 when it was new, 0 when the run already
 * had it (a later change of the same key, as runs are read backwards), -1 on error. */
static int tpg_keys_add(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                        const struct target_change *ch, size_t mask, struct cerr *err)
{
	size_t off = s->keys.len, len, i;
	uint64_t h;

	for (int k = 0; k < t->nkeys; k++) {
		uint32_t n;

		buf_reset(&s->val);
		if (sinkvalue_text(SINKVALUE_PG, &tbl->cols[t->keys[k]].type, ch->cells[t->keys[k]].value, &s->val,
		                   err) < 0)
			return cerr_wrap(err, "table %s, key column %s", tbl->name, tbl->cols[t->keys[k]].name);
		/* length-prefixed, so ("ab","c") and ("a","bc") differ */
		n = (uint32_t)s->val.len;
		if (buf_append(&s->keys, &n, sizeof n) < 0 || buf_append(&s->keys, s->val.data, s->val.len) < 0)
			return cerr_set(err, false, "out of memory");
	}
	len = s->keys.len - off;
	h = tpg_hash(s->keys.data + off, len);
	for (i = (size_t)h & mask; s->slots[i].used; i = (i + 1) & mask) {
		const struct tpg_slot *sl = &s->slots[i];

		if (sl->hash == h && sl->len == len && memcmp(s->keys.data + sl->off, s->keys.data + off, len) == 0) {
			s->keys.len = off;
			return 0;
		}
	}
	s->slots[i] = (struct tpg_slot){.hash = h, .off = off, .len = len, .used = 1};
	return 1;
}

/* Upserts changes[0..n), which all leave the same columns unchanged. Read from the last to the first so
 * that only the last change of each key is written (see the header comment); statements of up to
 * TPG_STMT_BYTES. */
static int tpg_upsert_run(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                          const struct target_change *ch, size_t n, struct cerr *err)
{
	size_t i = n, mask = 0;
	int np = tpg_sql_upsert(s, t, &ch[0], err);

	if (np < 0 || tpg_keys_begin(s, n, &mask, err) < 0)
		return -1;
	while (i > 0) {
		const struct target_change *first = NULL, *last = NULL;
		size_t rows = 0, bytes = 0;

		if (tpg_arrays_begin(s, np, err) < 0)
			return -1;
		while (i > 0 && bytes < TPG_STMT_BYTES) {
			const struct target_change *c = &ch[--i];
			int isnew, p = 0;

			if (tpg_check_key(s, t, tbl, c, err) < 0)
				return -1;
			isnew = tpg_keys_add(s, t, tbl, c, mask, err);
			if (isnew < 0)
				return -1;
			if (!isnew)
				continue;
			for (int col = 0; col < t->ncols; col++) {
				struct buf *a;
				size_t before;

				if (c->cells[col].kind == TARGET_UNCHANGED)
					continue;
				a = &s->arrays[p++];
				before = a->len;
				if (tpg_put_cell(s, a, &tbl->cols[col].type, &c->cells[col], rows == 0, err) < 0)
					return tpg_value_error(s, t, tbl, c, col, err);
				bytes += a->len - before;
			}
			if (!first)
				first = c;
			last = c;
			rows++;
		}
		if (rows && tpg_send(s, t, tbl, np, first, last, rows, "upserting", err) < 0)
			return -1;
	}
	return 0;
}

/* Appends `text` as one field of COPY's text format: backslash, newline, carriage return and tab
 * escaped with a backslash. */
static int tpg_put_field(struct buf *out, const char *text, size_t len)
{
	char *p;

	if (buf_reserve(out, 2 * len + 1) < 0)
		return -1;
	p = (char *)out->data + out->len;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];

		if (ch == '\\' || ch == '\n' || ch == '\r' || ch == '\t') {
			*p++ = '\\';
			ch = ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch == '\t' ? 't' : ch;
		}
		*p++ = ch;
	}
	out->len = (size_t)(p - (char *)out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* Appends column c of change ch to the COPY data: a tab before all but the first, \N for NULL. */
static int tpg_put_copy_cell(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                             const struct target_change *ch, int c, struct cerr *err)
{
	const struct target_cell *cell = &ch->cells[c];

	if (c && buf_putc(&s->copy, '\t') < 0)
		return cerr_set(err, false, "out of memory");
	if (!tpg_has_value(cell))
		return buf_puts(&s->copy, "\\N") < 0 ? cerr_set(err, false, "out of memory") : 0;
	buf_reset(&s->val);
	if (sinkvalue_text(SINKVALUE_PG, &tbl->cols[c].type, cell->value, &s->val, err) < 0)
		return tpg_value_error(s, t, tbl, ch, c, err);
	if (tpg_put_field(&s->copy, (const char *)s->val.data, s->val.len) < 0)
		return cerr_set(err, false, "out of memory (a value of %zu bytes)", s->val.len);
	return 0;
}

/* Sends the COPY data gathered in s->copy, in pieces of at most TPG_COPY_CHUNK bytes (one row may be
 * bigger than PQputCopyData's int count). */
static int tpg_copy_flush(struct tpg *s, struct cerr *err)
{
	for (size_t off = 0; off < s->copy.len; off += TPG_COPY_CHUNK) {
		size_t n = s->copy.len - off < TPG_COPY_CHUNK ? s->copy.len - off : TPG_COPY_CHUNK;

		if (PQputCopyData(s->conn, (const char *)s->copy.data + off, (int)n) != 1)
			return tpg_fail(s, NULL, err);
	}
	buf_reset(&s->copy);
	return 0;
}

/* COPY t FROM STDIN with the rows of changes[0..n). On an error of ours (a value with no text form) the
 * COPY is cancelled and err says why. */
static int tpg_copy(struct tpg *s, const struct tpg_table *t, const struct target_table *tbl,
                    const struct target_change *ch, size_t n, struct cerr *err)
{
	PGresult *res;
	int rc = 0;

	buf_reset(&s->sql);
	if (buf_printf(&s->sql, "COPY %s (", t->qname) < 0)
		return cerr_set(err, false, "out of memory");
	for (int c = 0; c < t->ncols; c++)
		if (buf_printf(&s->sql, "%s%s", c ? ", " : "", t->qcols[c]) < 0)
			return cerr_set(err, false, "out of memory");
	if (buf_puts(&s->sql, ") FROM STDIN") < 0)
		return cerr_set(err, false, "out of memory");
	res = PQexec(s->conn, (const char *)s->sql.data);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		tpg_fail(s, res, err);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	buf_reset(&s->copy);
	for (size_t i = 0; i < n && rc == 0; i++) {
		for (int c = 0; c < t->ncols && rc == 0; c++)
			rc = tpg_put_copy_cell(s, t, tbl, &ch[i], c, err);
		if (rc == 0 && buf_putc(&s->copy, '\n') < 0)
			rc = cerr_set(err, false, "out of memory");
		if (rc == 0 && s->copy.len >= TPG_COPY_CHUNK)
			rc = tpg_copy_flush(s, err);
	}
	if (rc == 0)
		rc = tpg_copy_flush(s, err);
	buf_reset(&s->copy);
	if (PQputCopyEnd(s->conn, rc == 0 ? NULL : "cancelled by cleave") != 1 && rc == 0)
		rc = tpg_fail(s, NULL, err);
	while ((res = PQgetResult(s->conn))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_COPY_IN) {
			/* the end of the data could not be sent (libpq out of memory): the session stays in COPY
			 * for good, so it is dropped and the batch retried on a new one */
			PQclear(res);
			PQfinish(s->conn);
			s->conn = NULL;
			return cerr_set(err, true, "COPY into table %s could not be ended; reconnecting", tbl->name);
		}
		if (rc == 0 && st != PGRES_COMMAND_OK)
			rc = tpg_fail(s, res, err);
		PQclear(res);
	}
	return rc;
}

/* Inserts changes[0..n) (all 'c': rows the target should not hold yet) with one COPY, in a savepoint: a
 * COPY skips the conflict check of an upsert and writes a page of rows per WAL record. When it fails for
 * a reason other than the connection (a row was there already: a snapshot row, a row reconcile repaired;
 * or a bad value), the savepoint is rolled back and the run is upserted instead, which succeeds or reports
 * the error with the row's key as upserts do. */
static int tpg_copy_run(struct tpg *s, struct tpg_table *t, const struct target_table *tbl,
                        const struct target_change *ch, size_t n, struct cerr *err)
{
	struct cerr cerr = {0};

	s->copies++;
	if (tpg_run(s, "SAVEPOINT cleave_copy", 0, NULL, err) < 0)
		return -1;
	if (tpg_copy(s, t, tbl, ch, n, &cerr) == 0)
		return tpg_run(s, "RELEASE SAVEPOINT cleave_copy", 0, NULL, err);
	if (cerr.retriable) {
		*err = cerr;
		return cerr_wrap(err, "copying %zu rows into table %s", n, tbl->name);
	}
	log_debug(s->ctx, "COPY of %zu rows into %s failed, upserting them: %s", n, tbl->name, cerr.msg);
	if (tpg_run(s, "ROLLBACK TO SAVEPOINT cleave_copy; RELEASE SAVEPOINT cleave_copy", 0, NULL, err) < 0)
		return -1;
	t->copy_pause = TPG_COPY_PAUSE;
	return tpg_upsert_run(s, t, tbl, ch, n, err);
}

/* Whether a run of ins inserts of t goes in with COPY: long enough, a table COPY may write, not paused
 * after a failed COPY (a long run that is not copied counts the pause down), and not past TPG_COPY_MAX_TX.
 * Asked once per run. */
static bool tpg_copy_due(struct tpg *s, struct tpg_table *t, size_t ins)
{
	if (ins < TPG_COPY_MIN || t->no_copy)
		return false;
	if (t->copy_pause > 0) {
		t->copy_pause--;
		return false;
	}
	return s->copies < TPG_COPY_MAX_TX;
}

/* How many changes from ch[0] on (of n) are inserts that COPY can write: 'c', no cell left unchanged. */
static size_t tpg_inserts(int ncols, const struct target_change *ch, size_t n)
{
	size_t i = 0;

	for (; i < n && ch[i].op == 'c'; i++)
		for (int c = 0; c < ncols; c++)
			if (ch[i].cells[c].kind == TARGET_UNCHANGED)
				return i;
	return i;
}

/* Frees scratch buffers that one big batch made large. */
static void tpg_trim_scratch(struct tpg *s)
{
	for (int i = 0; i < s->narrays; i++)
		if (s->arrays[i].cap > TPG_SCRATCH_KEEP)
			buf_free(&s->arrays[i]);
	if (s->val.cap > TPG_SCRATCH_KEEP)
		buf_free(&s->val);
	if (s->keys.cap > TPG_SCRATCH_KEEP)
		buf_free(&s->keys);
	if (s->copy.cap > TPG_SCRATCH_KEEP)
		buf_free(&s->copy);
	if (s->nslots * sizeof *s->slots > TPG_SCRATCH_KEEP) {
		free(s->slots);
		s->slots = NULL;
		s->nslots = 0;
	}
}

static int tpg_apply(void *state, const struct target_table *tbl, const struct target_change *changes, size_t n,
                     struct cerr *err)
{
	struct tpg *s = state;
	struct tpg_table *t;
	size_t i = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if (!s->conn)
		return cerr_set(err, true, "not connected to %s", s->what);
	t = tpg_table_get(s, tbl, err);
	if (!t)
		return -1;
	while (i < n && rc == 0) {
		size_t j = i + 1;

		if (changes[i].op == 'd') {
			while (j < n && changes[j].op == 'd')
				j++;
			rc = tpg_delete_run(s, t, tbl, &changes[i], j - i, err);
		} else if (changes[i].op == 'u' || changes[i].op == 'c') {
			size_t ins = tpg_inserts(t->ncols, &changes[i], n - i);

			if (tpg_copy_due(s, t, ins)) {
				rc = tpg_copy_run(s, t, tbl, &changes[i], ins, err);
				i += ins;
				continue;
			}
			/* an upsert run ends where one that COPY would take begins */
			j = i + (ins ? ins : 1);
			while (j < n && (changes[j].op == 'u' || changes[j].op == 'c') &&
			       tpg_same_unchanged(t->ncols, &changes[i], &changes[j])) {
				size_t next = changes[j].op == 'c' ? tpg_inserts(t->ncols, &changes[j], n - j) : 0;

				if (tpg_copy_due(s, t, next))
					break; /* asked again at the top: the same answer, as nothing changed */
				j += next > 1 ? next : 1;
			}
			rc = tpg_upsert_run(s, t, tbl, &changes[i], j - i, err);
		} else {
			rc = cerr_set(err, false, "table %s: unknown change operation '%c'", tbl->name, changes[i].op);
		}
		i = j;
	}
	tpg_trim_scratch(s);
	return rc;
}

/* DELETE, not TRUNCATE: it is transactional for readers too (TRUNCATE is not MVCC-safe: a concurrent
 * reader with an older snapshot sees the table empty), and it does not take an ACCESS EXCLUSIVE lock that
 * would block every reader of the service database until the sink's transaction commits. A source
 * TRUNCATE is rare, and slower deletes of a big table are the price. */
static int tpg_truncate(void *state, const struct target_table *tbl, struct cerr *err)
{
	struct tpg *s = state;
	struct tpg_table *t = tpg_table_get(s, tbl, err);

	if (!t)
		return -1;
	buf_reset(&s->sql);
	if (buf_printf(&s->sql, "DELETE FROM %s", t->qname) < 0)
		return cerr_set(err, false, "out of memory");
	if (tpg_run(s, (const char *)s->sql.data, 0, NULL, err) < 0)
		return cerr_wrap(err, "deleting all rows of table %s", tbl->name);
	return 0;
}

/* --- transactions and positions --- */

static int tpg_begin(void *state, struct cerr *err)
{
	struct tpg *s = state;

	s->copies = 0;
	if (tpg_run(s, "BEGIN", 0, NULL, err) < 0)
		return cerr_wrap(err, "starting a transaction on %s", s->what);
	return 0;
}

static int tpg_commit(void *state, struct cerr *err)
{
	struct tpg *s = state;
	PGresult *res = tpg_exec(s, "COMMIT", 0, NULL, err);
	int rc = 0;

	/* A connection lost during COMMIT leaves its outcome unknown: retriable, and the positions, which
	 * commit or not with the rows, tell the sink after reconnecting where the target stands. */
	if (!res)
		return cerr_wrap(err, "committing on %s", s->what);
	/* COMMIT of a transaction that an error aborted succeeds and answers ROLLBACK */
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = cerr_set(err, false, "committing on %s: the transaction had failed and was rolled back", s->what);
	PQclear(res);
	return rc;
}

static void tpg_rollback(void *state)
{
	struct tpg *s = state;

	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int tpg_store_positions(void *state, const char *sink, const struct target_position *pos, size_t n,
                               struct cerr *err)
{
	static const char sql[] =
	        "INSERT INTO cleave_positions (sink, topic, kafka_partition, kafka_offset, commit_lsn, seq)"
	        " SELECT $1, u.t, u.p, u.o, u.l, u.s"
	        " FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::bigint[], $6::bigint[]) AS u(t, p, o, l, s)"
	        " ON CONFLICT (sink, topic, kafka_partition) DO UPDATE SET kafka_offset = EXCLUDED.kafka_offset,"
	        " commit_lsn = EXCLUDED.commit_lsn, seq = EXCLUDED.seq, updated_at = now()";
	struct tpg *s = state;
	const char *params[6] = {sink};
	size_t rows = 0;

	if (n == 0)
		return 0;
	if (tpg_arrays_begin(s, 5, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct buf *a = s->arrays;
		const char *sep = rows ? "," : "";
		bool later = false;

		/* one row per partition (ON CONFLICT cannot update one twice): a later entry for it wins */
		for (size_t j = i + 1; j < n && !later; j++)
			later = pos[j].partition == pos[i].partition && strcmp(pos[j].topic, pos[i].topic) == 0;
		if (later)
			continue;
		if (buf_puts(&a[0], sep) < 0 || tpg_put_elem(&a[0], pos[i].topic, strlen(pos[i].topic)) < 0 ||
		    buf_printf(&a[1], "%s%ld", sep, (long)pos[i].partition) < 0 ||
		    buf_printf(&a[2], "%s%lld", sep, (long long)pos[i].offset) < 0 ||
		    buf_printf(&a[3], "%s%lld", sep, (long long)pos[i].commit_lsn) < 0 ||
		    buf_printf(&a[4], "%s%lld", sep, (long long)pos[i].seq) < 0)
			return cerr_set(err, false, "out of memory");
		rows++;
	}
	for (int i = 0; i < 5; i++) {
		if (buf_putc(&s->arrays[i], '}') < 0)
			return cerr_set(err, false, "out of memory");
		params[i + 1] = (const char *)s->arrays[i].data;
	}
	if (tpg_run(s, sql, 6, params, err) < 0)
		return cerr_wrap(err, "storing positions of sink %s", sink);
	return 0;
}

static int tpg_load_positions(void *state, const char *sink, struct target_position **out, size_t *n,
                              struct cerr *err)
{
	static const char sql[] = "SELECT topic, kafka_partition, kafka_offset, commit_lsn, seq FROM cleave_positions"
	                          " WHERE sink = $1 ORDER BY topic, kafka_partition";
	struct tpg *s = state;
	const char *params[] = {sink};
	struct target_position *pos = NULL;
	PGresult *res = tpg_exec(s, sql, 1, params, err);
	int rows;

	*out = NULL;
	*n = 0;
	if (!res)
		return cerr_wrap(err, "loading positions of sink %s", sink);
	rows = PQntuples(res);
	if (rows > 0) {
		pos = calloc((size_t)rows, sizeof *pos);
		if (!pos) {
			PQclear(res);
			return cerr_set(err, false, "out of memory");
		}
	}
	for (int r = 0; r < rows; r++) {
		pos[r].topic = strdup(PQgetvalue(res, r, 0));
		if (!pos[r].topic) {
			PQclear(res);
			target_positions_free(pos, (size_t)r);
			return cerr_set(err, false, "out of memory");
		}
		pos[r].partition = (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10);
		pos[r].offset = strtoll(PQgetvalue(res, r, 2), NULL, 10);
		pos[r].commit_lsn = strtoll(PQgetvalue(res, r, 3), NULL, 10);
		pos[r].seq = strtoll(PQgetvalue(res, r, 4), NULL, 10);
	}
	PQclear(res);
	*out = pos;
	*n = (size_t)rows;
	return 0;
}

/* --- truncate barriers (target.h) --- */

static void tpg_barrier_params(const struct target_barrier *b, char lsn[24], char seq[24], const char *params[4])
{
	snprintf(lsn, 24, "%lld", (long long)b->commit_lsn);
	snprintf(seq, 24, "%lld", (long long)b->seq);
	params[0] = b->sink;
	params[1] = b->topic;
	params[2] = lsn;
	params[3] = seq;
}

static int tpg_barrier_arrive(void *state, const struct target_barrier *b, int32_t partition, int *arrived,
                              struct cerr *err)
{
	static const char lock[] =
	        "INSERT INTO cleave_truncates (sink, topic, commit_lsn, seq, kafka_partition)"
	        " VALUES ($1, $2, $3, $4, -2) ON CONFLICT DO NOTHING";
	/* waits for another process's arrival in progress; the count after it sees that one (read committed) */
	static const char wait[] = "SELECT 1 FROM cleave_truncates WHERE sink = $1 AND topic = $2 AND commit_lsn = $3"
	                           " AND seq = $4 AND kafka_partition = -2 FOR UPDATE";
	static const char arrive[] =
	        "INSERT INTO cleave_truncates (sink, topic, commit_lsn, seq, kafka_partition)"
	        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
	static const char count[] = "SELECT count(*) FROM cleave_truncates WHERE sink = $1 AND topic = $2"
	                            " AND commit_lsn = $3 AND seq = $4 AND kafka_partition >= 0";
	struct tpg *s = state;
	char lsn[24], seq[24], part[16];
	const char *params[5];
	PGresult *res;

	tpg_barrier_params(b, lsn, seq, params);
	snprintf(part, sizeof part, "%d", (int)partition);
	params[4] = part;
	if (tpg_run(s, lock, 4, params, err) < 0 || tpg_run(s, wait, 4, params, err) < 0 ||
	    tpg_run(s, arrive, 5, params, err) < 0 || !(res = tpg_exec(s, count, 4, params, err)))
		return cerr_wrap(err, "recording the truncate of %s", b->topic);
	*arrived = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int tpg_barrier_done(void *state, const struct target_barrier *b, struct cerr *err)
{
	static const char sql[] = "INSERT INTO cleave_truncates (sink, topic, commit_lsn, seq, kafka_partition)"
	                          " VALUES ($1, $2, $3, $4, -1) ON CONFLICT DO NOTHING";
	char lsn[24], seq[24];
	const char *params[4];

	tpg_barrier_params(b, lsn, seq, params);
	if (tpg_run(state, sql, 4, params, err) < 0)
		return cerr_wrap(err, "recording the truncate of %s", b->topic);
	return 0;
}

static int tpg_barrier_is_done(void *state, const struct target_barrier *b, bool *done, struct cerr *err)
{
	static const char sql[] = "SELECT count(*) FROM cleave_truncates WHERE sink = $1 AND topic = $2"
	                          " AND commit_lsn = $3 AND seq = $4 AND kafka_partition = -1";
	char lsn[24], seq[24];
	const char *params[4];
	PGresult *res;

	tpg_barrier_params(b, lsn, seq, params);
	if (!(res = tpg_exec(state, sql, 4, params, err)))
		return cerr_wrap(err, "reading the truncate of %s", b->topic);
	*done = atoi(PQgetvalue(res, 0, 0)) > 0;
	PQclear(res);
	return 0;
}

static int tpg_barrier_pending(void *state, struct target_barrier *b, int32_t partition, bool *found,
                               struct cerr *err)
{
	static const char sql[] =
	        "SELECT a.commit_lsn, a.seq FROM cleave_truncates a WHERE a.sink = $1 AND a.topic = $2"
	        " AND a.kafka_partition = $3 AND NOT EXISTS (SELECT 1 FROM cleave_truncates d WHERE d.sink = a.sink"
	        " AND d.topic = a.topic AND d.commit_lsn = a.commit_lsn AND d.seq = a.seq AND d.kafka_partition = -1)"
	        " ORDER BY a.commit_lsn, a.seq LIMIT 1";
	char part[16];
	const char *params[3] = {b->sink, b->topic, part};
	PGresult *res;

	snprintf(part, sizeof part, "%d", (int)partition);
	if (!(res = tpg_exec(state, sql, 3, params, err)))
		return cerr_wrap(err, "reading the truncates of %s", b->topic);
	*found = PQntuples(res) == 1;
	if (*found) {
		b->commit_lsn = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		b->seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return 0;
}

const struct target_ops target_pg_ops = {
	.engine = "postgres",
	.open = tpg_open,
	.close = tpg_close,
	.connect = tpg_connect,
	.prepare_table = tpg_prepare_table,
	.begin = tpg_begin,
	.apply = tpg_apply,
	.truncate = tpg_truncate,
	.store_positions = tpg_store_positions,
	.commit = tpg_commit,
	.rollback = tpg_rollback,
	.load_positions = tpg_load_positions,
	.barrier_arrive = tpg_barrier_arrive,
	.barrier_done = tpg_barrier_done,
	.barrier_is_done = tpg_barrier_is_done,
	.barrier_pending = tpg_barrier_pending,
};
