/* source.c: see source.h. SQL and replication commands for the monolith PostgreSQL. */
#include "capture/source.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/pg.h"

#define SOURCE_STOP_TIMEOUT_MS 5000

/* A busy stream is read in chunks: woken for every message the walsender sends, capture would cost the
 * walsender a wakeup each (a third of its CPU in a bulk load). When the socket woke capture more than
 * SOURCE_BUSY_WAKEUPS times in SOURCE_BUSY_WINDOW_MS, the kernel is asked to wake it only once
 * SOURCE_LOWAT_BYTES are there (SO_RCVLOWAT), and capture looks at least every SOURCE_LOWAT_WAIT_MS
 * anyway; a look that finds less than that leaves the mode (a quiet stream is read message by message). */
#define SOURCE_BUSY_WAKEUPS 50
#define SOURCE_BUSY_WINDOW_MS 100
#define SOURCE_LOWAT_BYTES 65536
#define SOURCE_LOWAT_WAIT_MS 5

/* The text forms pgtext.h parses depend on these session settings of the walsender. */
#define SOURCE_SESSION_OPTIONS \
	"-c datestyle=ISO -c intervalstyle=postgres -c timezone=UTC -c extra_float_digits=3 " \
	"-c bytea_output=hex"

struct source {
	const struct cleave_config *cfg;
	struct source_pk *pks; /* per configured table, in config order */
	PGconn *repl;     /* replication=database connection, NULL when closed */
	PGconn *exporting; /* replication connection that created the slot and holds its exported snapshot */
	PGconn *catalog;  /* plain connection for catalog lookups while streaming, opened on first use */
	char *copybuf;    /* the last CopyData message, owned by libpq (PQfreemem) */
	bool lowat;       /* SO_RCVLOWAT is SOURCE_LOWAT_BYTES on repl's socket (see SOURCE_BUSY_WAKEUPS) */
	int wakeups;      /* since window_ms */
	int64_t window_ms;
	char dbname[128];
	char ctx[160];    /* log context: slot=... */
};

struct source *source_new(const struct cleave_config *cfg)
{
	struct source *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->cfg = cfg;
	snprintf(s->ctx, sizeof s->ctx, "slot=%s", cfg->source.slot);
	return s;
}

static void source_free_pks(struct source *s)
{
	for (size_t i = 0; s->pks && i < s->cfg->source.ntables; i++) {
		for (int k = 0; k < s->pks[i].ncols; k++)
			free(s->pks[i].cols[k]);
		free(s->pks[i].cols);
	}
	free(s->pks);
	s->pks = NULL;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	source_stop(s);
	source_release_snapshot(s);
	source_free_pks(s);
	if (s->catalog)
		PQfinish(s->catalog);
	free(s);
}

const struct source_pk *source_primary_key(const struct source *s, const char *nspname, const char *relname)
{
	for (size_t i = 0; s->pks && i < s->cfg->source.ntables; i++) {
		const struct cfg_table *t = &s->cfg->source.tables[i];

		if (strcmp(t->schema, nspname) == 0 && strcmp(t->name, relname) == 0)
			return s->pks[i].ncols > 0 ? &s->pks[i] : NULL;
	}
	return NULL;
}

const char *source_dbname(const struct source *s)
{
	return s->dbname;
}

/* Connects with the configured DSN; `replication` adds replication=database. */
static PGconn *source_connect(const struct source *s, bool replication, struct cerr *err)
{
	/* TCP keepalives notice a server that vanished without closing the connection */
	const char *keys[] = {"options", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
	                      "keepalives_count", "replication", NULL};
	const char *vals[] = {SOURCE_SESSION_OPTIONS, "cleave capture", "1", "30", "10", "3", "database", NULL};

	if (!replication)
		keys[6] = NULL;
	return pg_connect(s->cfg->source.dsn, keys, vals, "the source PostgreSQL", err);
}

PGconn *source_connect_sql(const struct source *s, struct cerr *err)
{
	return source_connect(s, false, err);
}

/* A server error that a person must fix vs. one that may go away (connection lost, server starting). */
static bool source_error_retriable(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!state)
		return true;
	/* 08: connection exception, 57: operator intervention (shutdown), 53: insufficient resources,
	 * 55006: object in use (slot active for another PID, e.g. a previous capture still exiting) */
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	       strcmp(state, "55006") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

/* Runs sql with params; returns the result (PGRES_TUPLES_OK or COMMAND_OK) or NULL with err. */
static PGresult *source_exec(PGconn *c, const char *sql, int nparams, const char *const *params,
                             struct cerr *err)
{
	/* replication connections accept only the simple query protocol */
	PGresult *res = nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	char msg[512];

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	text_one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(c), msg, sizeof msg);
	cerr_set(err, PQstatus(c) != CONNECTION_OK || source_error_retriable(res), "%s", msg);
	PQclear(res);
	return NULL;
}

static int source_check_wal_level(PGconn *c, struct cerr *err)
{
	PGresult *res = source_exec(c, "SHOW wal_level", 0, NULL, err);
	int rc = 0;

	if (!res)
		return cerr_wrap(err, "reading wal_level");
	if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0)
		rc = cerr_set(err, false,
		              "the source has wal_level=%s; set wal_level=logical in postgresql.conf and restart it",
		              PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* Reads the primary key's column names of table `oid` into *pk. */
static int source_read_pk(PGconn *c, const char *oid, struct source_pk *pk, struct cerr *err)
{
	static const char sql[] = "SELECT a.attname FROM pg_index i"
	                          " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
	                          " WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY a.attnum";
	PGresult *res = source_exec(c, sql, 1, &oid, err);

	if (!res)
		return -1;
	pk->cols = calloc((size_t)PQntuples(res) + 1, sizeof *pk->cols);
	if (!pk->cols) {
		PQclear(res);
		return cerr_set(err, false, "out of memory");
	}
	for (int r = 0; r < PQntuples(res); r++) {
		pk->cols[r] = strdup(PQgetvalue(res, r, 0));
		if (!pk->cols[r]) {
			PQclear(res);
			return cerr_set(err, false, "out of memory");
		}
		pk->ncols++;
	}
	PQclear(res);
	return 0;
}

/* Every configured table exists and has a key that identifies its rows in Kafka; remembers primary keys. */
static int source_check_tables(struct source *s, PGconn *c, struct cerr *err)
{
	static const char sql[] =
		"SELECT c.relreplident, c.relkind,"
		" EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), c.oid"
		" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE n.nspname = $1 AND c.relname = $2";
	const struct cleave_config *cfg = s->cfg;

	source_free_pks(s);
	s->pks = calloc(cfg->source.ntables, sizeof *s->pks);
	if (!s->pks)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i < cfg->source.ntables; i++) {
		const struct cfg_table *t = &cfg->source.tables[i];
		const char *params[2] = {t->schema, t->name};
		PGresult *res = source_exec(c, sql, 2, params, err);
		char ident, kind;
		bool pk;
		int rc = 0;

		if (!res)
			return cerr_wrap(err, "checking table %s.%s", t->schema, t->name);
		if (PQntuples(res) == 0) {
			PQclear(res);
			return cerr_set(err, false,
			                "table %s.%s named in source.tables (%s) does not exist in the source database;"
			                " create it or remove it from the config",
			                t->schema, t->name, cfg->path);
		}
		ident = PQgetvalue(res, 0, 0)[0];
		kind = PQgetvalue(res, 0, 1)[0];
		pk = PQgetvalue(res, 0, 2)[0] == 't';
		if (pk)
			rc = source_read_pk(c, PQgetvalue(res, 0, 3), &s->pks[i], err);
		PQclear(res);
		if (rc < 0)
			return cerr_wrap(err, "reading the primary key of %s.%s", t->schema, t->name);
		if (kind != 'r' && kind != 'p')
			return cerr_set(err, false, "%s.%s is not a table (relkind '%c'); only tables can be captured",
			                t->schema, t->name, kind);
		if (ident == 'n' || (ident == 'd' && !pk))
			return cerr_set(err, false,
			                "table %s.%s has neither a primary key nor a replica identity, so its rows have"
			                " no Kafka key and its updates and deletes cannot be captured; add a primary key"
			                " or run ALTER TABLE %s.%s REPLICA IDENTITY FULL",
			                t->schema, t->name, t->schema, t->name);
	}
	return 0;
}

/* Appends "schema"."table" quoted for SQL. */
static int source_put_qualified(PGconn *c, struct buf *b, const struct cfg_table *t)
{
	char *s = PQescapeIdentifier(c, t->schema, strlen(t->schema));
	char *n = PQescapeIdentifier(c, t->name, strlen(t->name));
	int rc = (s && n) ? buf_printf(b, "%s.%s", s, n) : -1;

	PQfreemem(s);
	PQfreemem(n);
	return rc;
}

/* The publication (created by cleave or not) must send every kind of change, partitions' changes as their
 * root's, and whole rows: anything less would drop changes silently while the slot moves past them. */
static int source_publication_complete(PGconn *c, const struct cleave_config *cfg, struct cerr *err)
{
	static const char opts_sql[] = "SELECT puballtables OR (pubinsert AND pubupdate AND pubdelete AND pubtruncate"
	                               " AND pubviaroot) FROM pg_publication WHERE pubname = $1";
	static const char filter_sql[] =
		"SELECT n.nspname || '.' || c.relname FROM pg_publication_rel pr"
		" JOIN pg_publication p ON p.oid = pr.prpubid JOIN pg_class c ON c.oid = pr.prrelid"
		" JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE p.pubname = $1 AND (pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL) LIMIT 1";
	const char *pub = cfg->source.publication;
	PGresult *res = source_exec(c, opts_sql, 1, &pub, err);
	char sql[256];
	bool complete;

	if (!res)
		return cerr_wrap(err, "reading publication %s", pub);
	complete = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!complete) {
		/* publication names are validated by the config to [a-z0-9_] */
		snprintf(sql, sizeof sql,
		         "ALTER PUBLICATION %s SET (publish = 'insert, update, delete, truncate',"
		         " publish_via_partition_root = true)",
		         pub);
		if (!(res = source_exec(c, sql, 0, NULL, err)))
			return cerr_wrap(err, "completing publication %s", pub);
		PQclear(res);
		log_warn(NULL, "publication %s did not publish every change (or published partitions on their own);"
		         " now: %s", pub, sql);
	}
	if (PQserverVersion(c) < 150000)
		return 0; /* row filters and column lists came with PostgreSQL 15 */
	if (!(res = source_exec(c, filter_sql, 1, &pub, err)))
		return cerr_wrap(err, "reading publication %s", pub);
	if (PQntuples(res) > 0) {
		cerr_set(err, false,
		         "publication %s publishes %s with a row filter or a column list; cleave needs whole rows of"
		         " every change: ALTER PUBLICATION %s SET TABLE ... without WHERE or column lists",
		         pub, PQgetvalue(res, 0, 0), pub);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* Creates the publication for the configured tables, or adds the tables it lacks. */
static int source_ensure_publication(PGconn *c, const struct cleave_config *cfg, struct cerr *err)
{
	static const char has_sql[] = "SELECT puballtables FROM pg_publication WHERE pubname = $1";
	static const char in_sql[] = "SELECT 1 FROM pg_publication_tables"
	                             " WHERE pubname = $1 AND schemaname = $2 AND tablename = $3";
	const char *pub = cfg->source.publication;
	char *qpub = PQescapeIdentifier(c, pub, strlen(pub));
	struct buf sql;
	PGresult *res;
	int rc = -1;
	bool exists, all;

	buf_init(&sql, 0);
	if (!qpub) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	res = source_exec(c, has_sql, 1, &pub, err);
	if (!res) {
		cerr_wrap(err, "looking up publication %s", pub);
		goto cleanup;
	}
	exists = PQntuples(res) == 1;
	all = exists && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	/* first, so that pg_publication_tables lists a partitioned table under its root below */
	if (exists && source_publication_complete(c, cfg, err) < 0)
		goto cleanup;
	if (all) {
		rc = 0;
		goto cleanup;
	}
	for (size_t i = 0; i < cfg->source.ntables; i++) {
		const struct cfg_table *t = &cfg->source.tables[i];
		const char *params[3] = {pub, t->schema, t->name};

		if (exists) {
			res = source_exec(c, in_sql, 3, params, err);
			if (!res) {
				cerr_wrap(err, "looking up publication %s", pub);
				goto cleanup;
			}
			bool present = PQntuples(res) > 0;
			PQclear(res);
			if (present)
				continue;
		}
		if (sql.len == 0 && buf_printf(&sql, exists ? "ALTER PUBLICATION %s ADD TABLE " : "CREATE PUBLICATION %s"
		                                              " FOR TABLE ", qpub) < 0)
			goto oom;
		else if (sql.len > 0 && sql.data[sql.len - 1] != ' ' && buf_puts(&sql, ", ") < 0)
			goto oom;
		if (source_put_qualified(c, &sql, t) < 0)
			goto oom;
	}
	if (sql.len == 0) {
		rc = 0;
		goto cleanup;
	}
	/* publish_via_partition_root: a partitioned table's changes arrive as its own */
	if (!exists && buf_puts(&sql, " WITH (publish_via_partition_root = true)") < 0)
		goto oom;
	res = source_exec(c, (const char *)sql.data, 0, NULL, err);
	if (!res) {
		cerr_wrap(err, "%s publication %s", exists ? "altering" : "creating", pub);
		goto cleanup;
	}
	PQclear(res);
	log_info(NULL, "publication %s %s: %s", pub, exists ? "altered" : "created", (const char *)sql.data);
	rc = 0;
	goto cleanup;
oom:
	cerr_set(err, false, "out of memory");
cleanup:
	buf_free(&sql);
	PQfreemem(qpub);
	return rc;
}

/* The slot exists, is a pgoutput slot of this database, and was not invalidated; creates it if missing
 * (without a snapshot) when `create`, else returns 1 for a missing slot. */
static int source_ensure_slot(struct source *s, PGconn *c, bool create, lsn_t *confirmed, struct cerr *err)
{
	static const char sql[] = "SELECT plugin, database, coalesce(wal_status, ''), confirmed_flush_lsn"
	                          " FROM pg_replication_slots WHERE slot_name = $1";
	const char *slot = s->cfg->source.slot;
	PGresult *res = source_exec(c, sql, 1, &slot, err);
	PGconn *repl = NULL;
	struct buf cmd;
	int rc = -1;

	buf_init(&cmd, 0);
	if (!res)
		return cerr_wrap(err, "looking up slot %s", slot);
	if (PQntuples(res) == 0 && !create) {
		PQclear(res);
		return 1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		/* slot names are validated by the config to [a-z0-9_], so no quoting issue here */
		if (buf_printf(&cmd, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'nothing')", slot) < 0) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		repl = source_connect(s, true, err);
		if (!repl)
			goto cleanup;
		res = source_exec(repl, (const char *)cmd.data, 0, NULL, err);
		if (!res) {
			cerr_wrap(err, "creating replication slot %s", slot);
			goto cleanup;
		}
		PQclear(res);
		log_info(s->ctx, "replication slot created");
		res = source_exec(c, sql, 1, &slot, err);
		if (!res || PQntuples(res) == 0) {
			PQclear(res);
			cerr_set(err, true, "slot %s vanished right after it was created", slot);
			goto cleanup;
		}
	}
	if (strcmp(PQgetvalue(res, 0, 0), "pgoutput") != 0) {
		cerr_set(err, false, "replication slot %s uses the plugin %s, not pgoutput; choose another source.slot",
		         slot, PQgetvalue(res, 0, 0));
	} else if (strcmp(PQgetvalue(res, 0, 1), s->dbname) != 0) {
		cerr_set(err, false, "replication slot %s belongs to database %s, not %s; choose another source.slot",
		         slot, PQgetvalue(res, 0, 1), s->dbname);
	} else if (strcmp(PQgetvalue(res, 0, 2), "lost") == 0) {
		cerr_set(err, false,
		         "replication slot %s was invalidated (its WAL was removed, see max_slot_wal_keep_size): changes"
		         " since its position are gone; drop the slot (SELECT pg_drop_replication_slot('%s')) and"
		         " start again with a snapshot",
		         slot, slot);
	} else if (PQgetisnull(res, 0, 3) || lsn_parse(PQgetvalue(res, 0, 3), confirmed) < 0) {
		cerr_set(err, false, "replication slot %s has no confirmed position", slot);
	} else {
		rc = 0;
	}
	PQclear(res);
cleanup:
	if (repl)
		PQfinish(repl);
	buf_free(&cmd);
	return rc;
}

int source_prepare(struct source *s, lsn_t *confirmed, struct cerr *err)
{
	PGconn *c = source_connect(s, false, err);
	int rc = -1;

	if (!c)
		return -1;
	snprintf(s->dbname, sizeof s->dbname, "%s", PQdb(c));
	if (source_check_wal_level(c, err) < 0 || source_check_tables(s, c, err) < 0 ||
	    source_ensure_publication(c, s->cfg, err) < 0)
		goto cleanup;
	/* with an initial snapshot the caller creates the slot (source_create_slot_exported) */
	rc = source_ensure_slot(s, c, s->cfg->source.snapshot != CFG_SNAPSHOT_INITIAL, confirmed, err);
cleanup:
	PQfinish(c);
	return rc;
}

int source_create_slot_exported(struct source *s, lsn_t *consistent_point, char *snapshot, size_t snapshot_len,
                                struct cerr *err)
{
	char cmd[256];
	PGresult *res;

	source_release_snapshot(s);
	s->exporting = source_connect(s, true, err);
	if (!s->exporting)
		return -1;
	/* slot names are validated by the config to [a-z0-9_] */
	snprintf(cmd, sizeof cmd, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'export')", s->cfg->source.slot);
	res = source_exec(s->exporting, cmd, 0, NULL, err);
	if (!res) {
		source_release_snapshot(s);
		return cerr_wrap(err, "creating replication slot %s", s->cfg->source.slot);
	}
	/* columns: slot_name, consistent_point, snapshot_name, output_plugin */
	if (PQntuples(res) != 1 || PQnfields(res) < 3 || lsn_parse(PQgetvalue(res, 0, 1), consistent_point) < 0 ||
	    PQgetisnull(res, 0, 2)) {
		PQclear(res);
		source_release_snapshot(s);
		return cerr_set(err, false, "CREATE_REPLICATION_SLOT %s returned an unexpected result",
		                s->cfg->source.slot);
	}
	snprintf(snapshot, snapshot_len, "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	log_info(s->ctx, "replication slot created at " LSN_FMT " with exported snapshot %s", LSN_ARGS(*consistent_point),
	         snapshot);
	return 0;
}

void source_release_snapshot(struct source *s)
{
	if (s->exporting)
		PQfinish(s->exporting);
	s->exporting = NULL;
}

int source_start(struct source *s, struct cerr *err)
{
	struct buf cmd;
	PGresult *res;
	char *qpub;
	int rc = -1;

	source_stop(s);
	source_release_snapshot(s);
	s->repl = source_connect(s, true, err);
	s->lowat = false; /* a new socket: read message by message until the stream is busy */
	s->wakeups = 0;
	if (!s->repl)
		return -1;
	buf_init(&cmd, 0);
	qpub = PQescapeIdentifier(s->repl, s->cfg->source.publication, strlen(s->cfg->source.publication));
	if (!qpub)
		goto oom;
	{
		/* publication_names is a string literal holding a list of identifiers */
		char *lit = PQescapeLiteral(s->repl, qpub, strlen(qpub));

		if (!lit)
			goto oom;
		if (buf_printf(&cmd,
		               "START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '1', publication_names %s,"
		               " messages 'true')",
		               s->cfg->source.slot, lit) < 0) {
			PQfreemem(lit);
			goto oom;
		}
		PQfreemem(lit);
	}
	res = PQexec(s->repl, (const char *)cmd.data);
	if (PQresultStatus(res) != PGRES_COPY_BOTH) {
		char msg[512];

		text_one_line(PQresultErrorMessage(res), msg, sizeof msg);
		cerr_set(err, source_error_retriable(res), "starting replication from slot %s: %s",
		         s->cfg->source.slot, msg);
		PQclear(res);
		source_stop(s);
		goto cleanup;
	}
	PQclear(res);
	rc = 0;
	goto cleanup;
oom:
	cerr_set(err, false, "out of memory");
	source_stop(s);
cleanup:
	PQfreemem(qpub);
	buf_free(&cmd);
	return rc;
}

/* Classifies how the stream ended: a dropped publication or an invalidated slot need a person. */
static int source_stream_ended(struct source *s, struct cerr *err)
{
	PGresult *res = PQgetResult(s->repl);
	char msg[512] = "";
	bool retriable = true;

	if (res && PQresultStatus(res) == PGRES_FATAL_ERROR) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* the primary message only: its CONTEXT names slot and LSN, which the log context has */
		text_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), msg, sizeof msg);
		retriable = source_error_retriable(res);
		if (state && strcmp(state, "42704") == 0 && strstr(msg, "publication")) {
			PQclear(res);
			return cerr_set(err, false,
			                "%s: the publication was dropped while capture used it; nothing after slot %s's"
			                " confirmed position was lost, but pgoutput cannot go on without it: drop and"
			                " recreate the slot and publication, then re-snapshot",
			                msg, s->cfg->source.slot);
		}
	} else {
		text_one_line(PQerrorMessage(s->repl), msg, sizeof msg);
	}
	PQclear(res);
	if (strstr(msg, "can no longer get changes from replication slot") || strstr(msg, "was invalidated"))
		retriable = false;
	return cerr_set(err, retriable, "replication stream of slot %s ended: %s", s->cfg->source.slot,
	                msg[0] ? msg : "connection closed");
}

/* A lost replication connection: retriable, with libpq's message on one line. */
static int source_conn_error(const struct source *s, const char *doing, struct cerr *err)
{
	char msg[512];

	return cerr_set(err, true, "%s: %s", doing, text_one_line(PQerrorMessage(s->repl), msg, sizeof msg));
}

/* Sets or clears the low-water mark of repl's socket (see SOURCE_BUSY_WAKEUPS). A socket that refuses it
 * is read message by message. */
static void source_set_lowat(struct source *s, bool on)
{
	int bytes = on ? SOURCE_LOWAT_BYTES : 1;

	s->lowat = on && setsockopt(PQsocket(s->repl), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0;
	if (!on)
		(void)setsockopt(PQsocket(s->repl), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
	s->wakeups = 0;
	s->window_ms = clock_mono_ms();
}

/* Counts a wakeup by the socket; many in a short time switch to chunked reading. */
static void source_count_wakeup(struct source *s)
{
	int64_t now = clock_mono_ms();

	if (s->lowat)
		return;
	if (now - s->window_ms > SOURCE_BUSY_WINDOW_MS) {
		s->window_ms = now;
		s->wakeups = 0;
	}
	if (++s->wakeups > SOURCE_BUSY_WAKEUPS)
		source_set_lowat(s, true);
}

int source_read(struct source *s, struct repl_msg *msg, int timeout_ms, struct cerr *err)
{
	int n;

	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	if (!s->repl)
		return cerr_set(err, true, "replication connection is closed");
	for (;;) {
		n = PQgetCopyData(s->repl, &s->copybuf, 1);
		if (n > 0)
			break;
		if (n == -1)
			return source_stream_ended(s, err);
		if (n == -2)
			return source_conn_error(s, "reading the replication stream", err);
		/* n == 0: nothing buffered yet; wait for the socket once */
		if (timeout_ms < 0)
			return 0;
		struct pollfd pfd = {.fd = PQsocket(s->repl), .events = POLLIN};
		int pr = poll(&pfd, 1, s->lowat && timeout_ms > SOURCE_LOWAT_WAIT_MS ? SOURCE_LOWAT_WAIT_MS : timeout_ms);

		if (pr < 0 && errno != EINTR)
			return cerr_set(err, true, "poll: %s", strerror(errno));
		if (pr == 0 && s->lowat)
			source_set_lowat(s, false); /* less than a chunk came: read it, and wake per message again */
		else if (pr <= 0)
			return 0;
		else
			source_count_wakeup(s);
		if (!PQconsumeInput(s->repl))
			return source_conn_error(s, "reading the replication stream", err);
		timeout_ms = -1; /* consumed once; do not wait again */
	}
	if (repl_decode((const uint8_t *)s->copybuf, (size_t)n, msg, err) < 0)
		return -1;
	return 1;
}

int source_send_status(struct source *s, lsn_t received, lsn_t confirmed, bool reply, struct cerr *err)
{
	uint8_t m[34];
	size_t n;

	if (!s->repl)
		return cerr_set(err, true, "replication connection is closed");
	n = repl_encode_status(m, received, confirmed, confirmed, clock_pg_now_us(), reply ? 1 : 0);
	if (PQputCopyData(s->repl, (const char *)m, (int)n) <= 0 || PQflush(s->repl) < 0)
		return source_conn_error(s, "sending standby status", err);
	return 0;
}

void source_stop(struct source *s)
{
	int64_t until = clock_mono_ms() + SOURCE_STOP_TIMEOUT_MS;

	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	if (!s->repl)
		return;
	if (s->lowat)
		source_set_lowat(s, false); /* the last small messages are read at once */
	/* End the copy politely, then read (and drop) what the server still sends until it says it is done,
	 * without blocking: a half-dead peer or a walsender in the middle of a huge transaction must not hold
	 * the stop up for longer than SOURCE_STOP_TIMEOUT_MS. */
	if (PQstatus(s->repl) == CONNECTION_OK && PQsetnonblocking(s->repl, 1) == 0 && PQputCopyEnd(s->repl, NULL) > 0) {
		while (clock_mono_ms() < until) {
			struct pollfd pfd = {.fd = PQsocket(s->repl), .events = POLLIN};
			char *b = NULL;
			int n;

			if (PQflush(s->repl) < 0)
				break;
			n = PQgetCopyData(s->repl, &b, 1);
			PQfreemem(b);
			if (n > 0)
				continue;
			if (n == -1) { /* copy done: the final results follow */
				if (!PQisBusy(s->repl)) {
					PGresult *res;

					while ((res = PQgetResult(s->repl)) != NULL)
						PQclear(res);
					break;
				}
			} else if (n == -2) {
				break;
			}
			if (poll(&pfd, 1, 100) < 0 || !PQconsumeInput(s->repl))
				break;
		}
	}
	PQfinish(s->repl);
	s->repl = NULL;
}

/* The catalog connection, (re)opened when it is missing or broken, with the session settings under which
 * the walsender prints values (so a default's text is what a streamed row would carry). */
static PGconn *source_catalog(struct source *s, struct cerr *err)
{
	PGresult *res;

	if (s->catalog && PQstatus(s->catalog) == CONNECTION_OK)
		return s->catalog;
	if (s->catalog)
		PQfinish(s->catalog);
	if (!(s->catalog = source_connect(s, false, err)))
		return NULL;
	if (!(res = source_exec(s->catalog, "SET datestyle TO ISO; SET timezone TO 'UTC'; SET extra_float_digits TO 3;"
	                                    " SET intervalstyle TO postgres", 0, NULL, err))) {
		PQfinish(s->catalog);
		s->catalog = NULL;
		return NULL;
	}
	PQclear(res);
	return s->catalog;
}

int source_missing_values(struct source *s, uint32_t relid, char ***names, char ***values, int *n,
                          struct cerr *err)
{
	static const char sql[] = "SELECT attname, (attmissingval::text::text[])[1] FROM pg_attribute"
	                          " WHERE attrelid = $1 AND atthasmissing AND NOT attisdropped AND attnum > 0";
	char oid[16];
	const char *params[] = {oid};
	PGconn *c;
	PGresult *res = NULL;
	int rc = -1;

	*names = *values = NULL;
	*n = 0;
	if (!(c = source_catalog(s, err)))
		return -1;
	snprintf(oid, sizeof oid, "%u", relid);
	if (!(res = source_exec(c, sql, 1, params, err)))
		goto cleanup;
	*names = calloc((size_t)PQntuples(res) + 1, sizeof **names);
	*values = calloc((size_t)PQntuples(res) + 1, sizeof **values);
	if (!*names || !*values) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		if (PQgetisnull(res, r, 1))
			continue; /* a NULL default: nothing to tell */
		(*names)[*n] = strdup(PQgetvalue(res, r, 0));
		(*values)[*n] = strdup(PQgetvalue(res, r, 1));
		if (!(*names)[*n] || !(*values)[*n]) {
			(*n)++;
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		(*n)++;
	}
	rc = 0;
cleanup:
	if (rc < 0) {
		source_missing_free(*names, *values, *n);
		*names = *values = NULL;
		*n = 0;
	}
	PQclear(res);
	return rc;
}

void source_missing_free(char **names, char **values, int n)
{
	for (int i = 0; i < n; i++) {
		free(names ? names[i] : NULL);
		free(values ? values[i] : NULL);
	}
	free(names);
	free(values);
}
