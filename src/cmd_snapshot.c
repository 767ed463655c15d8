/* cmd_snapshot.c: `cleave snapshot --table SCHEMA.TABLE...`: asks capture to copy tables again, from the
 * start, while it streams (docs/capture.md, "Snapshots"). The request is a transactional logical decoding
 * message in the source's WAL ('snap:<slot>:<schema.table>', prefix 'cleave'), so it is durable and reaches
 * capture in commit order whether capture runs now or starts later; the command does not wait for the copy.
 * Exit 0 when every request is written, 2 for a table that is not in source.tables, `snapshot: never`, a
 * missing slot or a source that cannot be reached (nothing is requested then). */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/snapctl.h"
#include "common/pg.h"
#include "src/cli.h"

#define SNAPSHOT_MAX_TABLES 64

static void snapshot_usage(FILE *f)
{
	fprintf(f, "usage: cleave snapshot [-c FILE] --table SCHEMA.TABLE [--table ...]\n\n"
	           "Asks capture to copy the tables again from the start while it streams, as op r events that\n"
	           "sinks upsert (e.g. to fill a service database whose topics no longer hold every row). The\n"
	           "request goes through the source's WAL: capture picks it up in order, now or when it next runs.\n\n"
	           "  -c, --config FILE   configuration file (default %s)\n"
	           "  -t, --table NAME    a table of source.tables, e.g. public.orders (repeatable)\n"
	           "  -h, --help          this text\n",
	           CLI_DEFAULT_CONFIG);
}

/* The configured table `arg` names ("schema.table", or "table" in public), or NULL. */
static const struct cfg_table *snapshot_find(const struct cleave_config *cfg, const char *arg)
{
	const char *dot = strchr(arg, '.');

	for (size_t i = 0; i < cfg->source.ntables; i++) {
		const struct cfg_table *t = &cfg->source.tables[i];

		if (dot ? strlen(t->schema) == (size_t)(dot - arg) && strncmp(t->schema, arg, (size_t)(dot - arg)) == 0 &&
		              strcmp(t->name, dot + 1) == 0
		        : strcmp(t->schema, "public") == 0 && strcmp(t->name, arg) == 0)
			return t;
	}
	return NULL;
}

/* Writes the requests, all in one transaction. EXIT_OK or EXIT_USAGE (the reason printed). */
static int snapshot_request(const struct cleave_config *cfg, const struct cfg_table *const *tables, int n)
{
	const char *keys[] = {"application_name", NULL}, *vals[] = {"cleave snapshot", NULL};
	struct cerr err = {0};
	PGconn *conn = pg_connect(cfg->source.dsn, keys, vals, "the source PostgreSQL", &err);
	const char *slot = cfg->source.slot, *p[1];
	char msg[1024], line[512];
	PGresult *res;
	int rc = EXIT_USAGE;

	if (!conn) {
		fprintf(stderr, "cleave snapshot: %s\n", err.msg);
		return EXIT_USAGE;
	}
	p[0] = slot;
	res = PQexecParams(conn, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", 1, NULL, p, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "cleave snapshot: reading pg_replication_slots: %s\n",
		        text_one_line(PQerrorMessage(conn), line, sizeof line));
		goto done;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		fprintf(stderr, "cleave snapshot: the slot %s does not exist yet: nothing requested (when capture creates"
		        " it, it copies every table: source.snapshot initial)\n", slot);
		goto done;
	}
	/* capture copies while streaming in chunks by the primary key or replica identity index */
	for (int i = 0; i < n; i++) {
		const char *tp[2] = {tables[i]->schema, tables[i]->name};

		PQclear(res);
		res = PQexecParams(conn,
		                   "SELECT c.oid IS NOT NULL, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND"
		                   " (i.indisprimary OR i.indisreplident)) FROM (SELECT to_regclass(quote_ident($1) || '.' ||"
		                   " quote_ident($2)) AS oid) c",
		                   2, NULL, tp, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "cleave snapshot: reading the catalog: %s\n",
			        text_one_line(PQerrorMessage(conn), line, sizeof line));
			goto done;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0 || strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
			fprintf(stderr, "cleave snapshot: %s.%s %s: nothing requested\n", tables[i]->schema, tables[i]->name,
			        strcmp(PQgetvalue(res, 0, 0), "t") != 0
			                ? "does not exist in the source"
			                : "has no primary key or replica identity index, which capture needs to copy it in"
			                  " chunks while streaming (it is copied only in the initial snapshot of a new slot)");
			goto done;
		}
	}
	PQclear(res);
	/* one transaction: every request or none */
	res = PQexec(conn, "BEGIN");
	for (int i = 0; i < n && PQresultStatus(res) != PGRES_FATAL_ERROR; i++) {
		PQclear(res);
		snapctl_request_format(slot, tables[i]->schema, tables[i]->name, msg, sizeof msg);
		p[0] = msg;
		res = PQexecParams(conn, "SELECT pg_logical_emit_message(true, 'cleave', $1)", 1, NULL, p, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_FATAL_ERROR) {
		PQclear(res);
		res = PQexec(conn, "COMMIT");
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "cleave snapshot: writing the request: %s\n",
		        text_one_line(PQerrorMessage(conn), line, sizeof line));
		goto done;
	}
	for (int i = 0; i < n; i++)
		printf("requested a new copy of %s.%s: capture (slot %s) copies it from the start while streaming"
		       " when it reads the request\n", tables[i]->schema, tables[i]->name, slot);
	rc = EXIT_OK;
done:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"table", required_argument, NULL, 't'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = CLI_DEFAULT_CONFIG, *names[SNAPSHOT_MAX_TABLES];
	const struct cfg_table *tables[SNAPSHOT_MAX_TABLES];
	struct cleave_config *cfg;
	int c, n = 0, rc = EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			if (n == SNAPSHOT_MAX_TABLES) {
				fprintf(stderr, "cleave snapshot: at most %d --table at once\n", SNAPSHOT_MAX_TABLES);
				return EXIT_USAGE;
			}
			names[n++] = optarg;
			break;
		case 'h':
			snapshot_usage(stdout);
			return EXIT_OK;
		default:
			snapshot_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (n == 0 || optind < argc) {
		snapshot_usage(stderr);
		return EXIT_USAGE;
	}
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	if (cfg->source.snapshot == CFG_SNAPSHOT_NEVER) {
		fprintf(stderr, "cleave snapshot: source.snapshot is never: capture does not copy tables; set it to"
		        " initial first\n");
		goto done;
	}
	for (int i = 0; i < n; i++) {
		if (!(tables[i] = snapshot_find(cfg, names[i]))) {
			fprintf(stderr, "cleave snapshot: %s is not in source.tables\n", names[i]);
			goto done;
		}
	}
	rc = snapshot_request(cfg, tables, n);
done:
	cfg_free(cfg);
	return rc;
}
