/* cmd_check.c: `cleave check`: loads the config, then tries every connection it names and prints one
 * line per check ("ok    ..." or "FAIL  ...: why"): the source PostgreSQL (connect, wal_level, the right
 * to replicate, the configured tables, the slot if it exists), Kafka (metadata from the brokers) and each
 * sink's database. Every connection attempt gives up after CHECK_TIMEOUT_S seconds. DSNs are printed
 * only through dsn_redact(). Exit 0: all passed; 1: a check failed; 2: usage or config error. */
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pg.h"
#include "config/dsn.h"
#include "src/cli.h"

#define CHECK_TIMEOUT_S 5
#define CHECK_SHOWN_MAX 1024 /* a redacted DSN */
#define CHECK_MSG_MAX 1024

/* Prints "ok    what" or "FAIL  what". Returns ok, so callers can count. */
__attribute__((format(printf, 2, 3)))
static bool check_line(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%-6s", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

/* An error message from a library, folded onto one line: newlines and tabs become spaces, and
 * the trailing ones go. */
static const char *check_pg_error(PGconn *conn, char *out, size_t outlen)
{
	return text_one_line(PQerrorMessage(conn), out, outlen);
}

/* Connects with dsn, a connect_timeout of CHECK_TIMEOUT_S put after it (so it wins) and, when asked, as a
 * logical replication connection. NULL with err when that fails (err never quotes the DSN). */
static PGconn *check_pg_connect(const char *dsn, bool replication, struct cerr *err)
{
	char timeout[16];
	const char *keys[] = {"connect_timeout", "fallback_application_name", "replication", NULL};
	const char *vals[] = {timeout, "cleave check", "database", NULL};

	snprintf(timeout, sizeof timeout, "%d", CHECK_TIMEOUT_S);
	if (!replication)
		keys[2] = NULL;
	return pg_connect(dsn, keys, vals, "the server", err);
}

/* SHOW wal_level must say logical. */
static bool check_source_wal_level(PGconn *conn)
{
	char msg[CHECK_MSG_MAX];
	PGresult *res = PQexec(conn, "SHOW wal_level");
	bool ok = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		check_line(false, "source wal_level: %s", check_pg_error(conn, msg, sizeof msg));
	else if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0)
		check_line(false, "source wal_level=%s: must be logical (set wal_level = logical and restart PostgreSQL)",
			   PQgetvalue(res, 0, 0));
	else
		ok = check_line(true, "source wal_level=logical");
	PQclear(res);
	return ok;
}

/* A replication=database connection that runs IDENTIFY_SYSTEM: proves pg_hba.conf and the REPLICATION
 * attribute let this user stream. */
static bool check_source_replication(const char *dsn)
{
	char msg[CHECK_MSG_MAX];
	struct cerr err = {0};
	PGconn *conn = check_pg_connect(dsn, true, &err);
	PGresult *res = NULL;
	bool ok = false;

	if (!conn) {
		check_line(false, "source replication connection: %s", err.msg);
		goto cleanup;
	}
	res = PQexec(conn, "IDENTIFY_SYSTEM");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 4) {
		check_line(false, "source replication (IDENTIFY_SYSTEM): %s", check_pg_error(conn, msg, sizeof msg));
		goto cleanup;
	}
	ok = check_line(true, "source replication (system %s, timeline %s, database %s)", PQgetvalue(res, 0, 0),
			PQgetvalue(res, 0, 1), PQgetisnull(res, 0, 3) ? "?" : PQgetvalue(res, 0, 3));
cleanup:
	PQclear(res);
	PQfinish(conn);
	return ok;
}

/* Every configured table must exist as a table (ordinary or partitioned), names matched as written. */
static bool check_source_tables(PGconn *conn, const struct cleave_config *cfg)
{
	static const char *const sql =
		"SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";
	char msg[CHECK_MSG_MAX], missing[CHECK_MSG_MAX];
	size_t nmissing = 0, len = 0;

	missing[0] = '\0';
	for (size_t i = 0; i < cfg->source.ntables; i++) {
		const struct cfg_table *t = &cfg->source.tables[i];
		const char *params[2] = {t->schema, t->name};
		PGresult *res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
		bool found;

		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			check_line(false, "source tables: %s", check_pg_error(conn, msg, sizeof msg));
			PQclear(res);
			return false;
		}
		found = PQntuples(res) > 0;
		PQclear(res);
		if (!found) {
			int w = snprintf(missing + len, sizeof missing - len, "%s%s.%s", nmissing ? ", " : "", t->schema,
					 t->name);

			nmissing++;
			if (w > 0 && (size_t)w < sizeof missing - len)
				len += (size_t)w;
		}
	}
	if (nmissing)
		return check_line(false, "source tables: %zu of %zu missing: %s", nmissing, cfg->source.ntables, missing);
	return check_line(true, "source tables (%zu found)", cfg->source.ntables);
}

/* A slot that already exists must be a logical pgoutput slot of this database; a missing one is created
 * by capture. */
static bool check_source_slot(PGconn *conn, const struct cleave_config *cfg)
{
	static const char *const sql =
		"SELECT plugin, slot_type, database = current_database(), confirmed_flush_lsn "
		"FROM pg_catalog.pg_replication_slots WHERE slot_name = $1";
	const char *params[1] = {cfg->source.slot};
	char msg[CHECK_MSG_MAX];
	PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	bool ok = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		check_line(false, "source slot %s: %s", cfg->source.slot, check_pg_error(conn, msg, sizeof msg));
	else if (PQntuples(res) == 0)
		ok = check_line(true, "source slot %s (does not exist yet: capture creates it)", cfg->source.slot);
	else if (strcmp(PQgetvalue(res, 0, 1), "logical") != 0 || strcmp(PQgetvalue(res, 0, 0), "pgoutput") != 0)
		check_line(false, "source slot %s: exists but is a %s slot of plugin %s, not a logical pgoutput slot",
			   cfg->source.slot, PQgetvalue(res, 0, 1), PQgetisnull(res, 0, 0) ? "-" : PQgetvalue(res, 0, 0));
	else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		check_line(false, "source slot %s: exists in another database", cfg->source.slot);
	else
		ok = check_line(true, "source slot %s (exists, confirmed up to %s)", cfg->source.slot,
				PQgetisnull(res, 0, 3) ? "-" : PQgetvalue(res, 0, 3));
	PQclear(res);
	return ok;
}

/* Returns the number of failed checks. */
static int check_source(const struct cleave_config *cfg)
{
	char shown[CHECK_SHOWN_MAX];
	struct cerr err = {0};
	PGconn *conn;
	int failed = 0;

	dsn_redact(cfg->source.dsn, shown, sizeof shown);
	conn = check_pg_connect(cfg->source.dsn, false, &err);
	if (!conn) {
		check_line(false, "source postgres %s: %s", shown, err.msg);
		return 1;
	}
	check_line(true, "source postgres %s (server %s)", shown, PQparameterStatus(conn, "server_version"));
	failed += !check_source_wal_level(conn);
	failed += !check_source_replication(cfg->source.dsn);
	failed += !check_source_tables(conn, cfg);
	failed += !check_source_slot(conn, cfg);
	PQfinish(conn);
	return failed;
}

/* librdkafka reports broker errors through this callback, served by rd_kafka_poll(); keep the first. */
static void check_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char *first = opaque;

	(void)rk;
	(void)err;
	if (!first[0])
		snprintf(first, CHECK_MSG_MAX, "%s", reason);
}

/* librdkafka's own log lines go to our debug log instead of stderr. */
static void check_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	log_debug("kafka", "%s: %s", fac, buf);
}

/* true when a property's value may be a secret, so librdkafka's complaint about it is not printed */
static bool check_secret_property(const char *key)
{
	return strstr(key, "pass") || strstr(key, "secret") || strstr(key, "key");
}

static int check_kafka(const struct cleave_config *cfg)
{
	char errstr[512], first[CHECK_MSG_MAX] = "";
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	rd_kafka_t *rk = NULL;
	bool ok = false;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, errstr, sizeof errstr) !=
	    RD_KAFKA_CONF_OK) {
		check_line(false, "kafka %s: %s", cfg->kafka.brokers, errstr);
		goto cleanup;
	}
	for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
		const struct cfg_kv *kv = &cfg->kafka.properties[i];

		if (rd_kafka_conf_set(conf, kv->key, kv->value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
			check_line(false, "kafka %s: kafka.properties.%s: %s", cfg->kafka.brokers, kv->key,
				   check_secret_property(kv->key) ? "invalid value" : errstr);
			goto cleanup;
		}
	}
	rd_kafka_conf_set_opaque(conf, first);
	rd_kafka_conf_set_error_cb(conf, check_kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, check_kafka_log_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!rk) {
		check_line(false, "kafka %s: %s", cfg->kafka.brokers, errstr);
		goto cleanup;
	}
	conf = NULL; /* rd_kafka_new took it */
	err = rd_kafka_metadata(rk, 1, NULL, &md, CHECK_TIMEOUT_S * 1000);
	rd_kafka_poll(rk, 0);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		check_line(false, "kafka %s: %s%s%s", cfg->kafka.brokers, rd_kafka_err2str(err), first[0] ? ": " : "",
			   first);
		goto cleanup;
	}
	ok = check_line(true, "kafka %s (%d brokers, %d topics)", cfg->kafka.brokers, md->broker_cnt, md->topic_cnt);
cleanup:
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rk)
		rd_kafka_destroy(rk);
	if (conf)
		rd_kafka_conf_destroy(conf);
	return ok ? 0 : 1;
}

static int check_sink_postgres(const struct cfg_sink *s, const char *shown)
{
	struct cerr err = {0};
	PGconn *conn = check_pg_connect(s->dsn, false, &err);
	bool ok;

	if (!conn)
		ok = check_line(false, "sink %s postgres %s: %s", s->name, shown, err.msg);
	else
		ok = check_line(true, "sink %s postgres %s (server %s)", s->name, shown,
				PQparameterStatus(conn, "server_version"));
	PQfinish(conn);
	return ok ? 0 : 1;
}

static int check_sink_mysql(const struct cfg_sink *s, const char *shown)
{
	unsigned int timeout = CHECK_TIMEOUT_S;
	struct dsn_mysql url;
	struct cerr err = {0};
	char msg[CHECK_MSG_MAX];
	MYSQL *my;
	bool ok = false;

	if (dsn_parse_mysql_url(s->dsn, &url, &err) < 0) {
		check_line(false, "sink %s mysql %s: %s", s->name, shown, err.msg);
		return 1;
	}
	my = mysql_init(NULL);
	if (!my) {
		check_line(false, "sink %s mysql %s: out of memory", s->name, shown);
		goto cleanup;
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	if (!mysql_real_connect(my, url.host, url.user, url.password, url.database, url.port, url.socket, 0))
		check_line(false, "sink %s mysql %s: %s", s->name, shown, text_one_line(mysql_error(my), msg, sizeof msg));
	else
		ok = check_line(true, "sink %s mysql %s (server %s)", s->name, shown, mysql_get_server_info(my));
cleanup:
	if (my)
		mysql_close(my);
	dsn_mysql_free(&url);
	return ok ? 0 : 1;
}

static int check_sinks(const struct cleave_config *cfg)
{
	char shown[CHECK_SHOWN_MAX];
	int failed = 0;

	for (size_t i = 0; i < cfg->nsinks; i++) {
		const struct cfg_sink *s = &cfg->sinks[i];

		dsn_redact(s->dsn, shown, sizeof shown);
		if (s->type == CFG_SINK_MYSQL)
			failed += check_sink_mysql(s, shown);
		else
			failed += check_sink_postgres(s, shown);
	}
	return failed;
}

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: cleave check [-c FILE]\n"
		"\n"
		"Validates the config, then tries every connection it names: the source PostgreSQL (wal_level,\n"
		"replication permission, the configured tables, the slot), Kafka, and each sink's database.\n"
		"Prints one line per check; each connection gives up after %d s.\n"
		"\n"
		"  -c, --config FILE   the config file (default %s)\n"
		"  -h, --help          print this help\n"
		"\n"
		"Exit status: 0 all checks passed, 1 a check failed, 2 usage or config error.\n",
		CHECK_TIMEOUT_S, CLI_DEFAULT_CONFIG);
}

int cmd_check(int argc, char **argv)
{
	const char *path;
	struct cleave_config *cfg;
	int rc, failed = 0;

	rc = cli_parse_config_only(argc, argv, "check", check_usage, &path);
	if (rc >= 0)
		return rc;
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	check_line(true, "config %s", path);
	failed += check_source(cfg);
	failed += check_kafka(cfg);
	failed += check_sinks(cfg);
	cfg_free(cfg);
	mysql_library_end();
	return failed ? EXIT_PROBLEM : EXIT_OK;
}
