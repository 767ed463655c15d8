/* cmd_status.c: `cleave status [--sink NAME]... [--json]`: where every change is.
 *
 * - source: the replication slot (active or not, its confirmed and restart positions, wal_status), the
 *   server's current WAL position, the WAL the slot retains and how far capture's confirmed position is
 *   behind the server;
 * - per sink: per topic partition the end offset in Kafka, the offset the consumer group committed, the
 *   last offset and source position (commit LSN) applied to the target (cleave_positions, the truth the
 *   sink resumes from), and the lag: events in Kafka not applied yet;
 * - snapshots (source.snapshot: initial): per configured table its record in <prefix>._snapshots: copied,
 *   being copied (up to which key), or not yet (capture copies it at its next start).
 *
 * Exit 0: everything answered and the slot is usable; 1: a problem found (no slot, an invalidated slot, a
 * sink database that does not answer); 2: usage, config, or the source or Kafka unreachable. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lsn.h"
#include "capture/snapctl.h"
#include "common/pg.h"
#include "kafka/client.h"
#include "kafka/offsets.h"
#include "sinks/target.h"
#include "src/cli.h"

#define STATUS_TIMEOUT_MS 10000
#define STATUS_MAX_SINKS 64

static void status_usage(FILE *f)
{
	fprintf(f, "usage: cleave status [-c FILE] [--sink NAME]... [--json]\n\n"
	           "Shows the replication slot (retained WAL, capture's confirmed position) and, for each sink, its\n"
	           "consumer lag per topic partition and the source position it applied.\n\n"
	           "  -c, --config FILE   configuration file (default %s)\n"
	           "  -s, --sink NAME     only this sink (repeatable; default: every sink)\n"
	           "  -j, --json          print one JSON object instead of text\n"
	           "  -h, --help          this text\n\n"
	           "Exit 0: all answered and the slot is usable; 1: no slot, an invalidated slot, or a sink\n"
	           "database that does not answer; 2: usage, config, or the source or Kafka unreachable.\n",
	           CLI_DEFAULT_CONFIG);
}

static json_t *status_lsn(lsn_t l)
{
	char s[32];

	snprintf(s, sizeof s, LSN_FMT, LSN_ARGS(l));
	return json_string(s);
}

/* "1.5 MiB" */
static const char *status_bytes(int64_t b, char *out, size_t outlen)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%" PRId64 " B", b);
	else
		snprintf(out, outlen, "%.1f %s", v, units[u]);
	return out;
}

/* ---- source ---- */

/* {"slot", "exists", ...}; NULL with err when the source does not answer. */
static json_t *status_source(const struct cleave_config *cfg, struct cerr *err)
{
	static const char sql[] =
	        "SELECT s.active, s.active_pid, s.confirmed_flush_lsn, s.restart_lsn, coalesce(s.wal_status, ''),"
	        " pg_current_wal_lsn(), pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint,"
	        " pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint"
	        " FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1";
	const char *keys[] = {"fallback_application_name", "connect_timeout", NULL};
	const char *vals[] = {"cleave status", "10", NULL};
	const char *params[] = {cfg->source.slot};
	PGconn *conn = pg_connect(cfg->source.dsn, keys, vals, "the source PostgreSQL", err);
	PGresult *res;
	json_t *o = NULL;
	char msg[512];

	if (!conn)
		return NULL;
	res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		cerr_set(err, true, "the source PostgreSQL: reading slot %s: %s", cfg->source.slot,
		         text_one_line(PQerrorMessage(conn), msg, sizeof msg));
	} else if (PQgetisnull(res, 0, 0)) {
		o = json_pack("{s:s, s:b}", "slot", cfg->source.slot, "exists", 0);
	} else {
		lsn_t confirmed = 0, restart = 0, current = 0;
		bool active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;

		(void)lsn_parse(PQgetvalue(res, 0, 2), &confirmed);
		(void)lsn_parse(PQgetvalue(res, 0, 3), &restart);
		(void)lsn_parse(PQgetvalue(res, 0, 5), &current);
		o = json_pack("{s:s, s:b, s:b, s:o, s:s, s:o, s:o, s:o, s:I, s:I}", "slot", cfg->source.slot, "exists", 1,
		              "active", active, "active_pid",
		              active && !PQgetisnull(res, 0, 1) ? json_integer(atoll(PQgetvalue(res, 0, 1))) : json_null(),
		              "wal_status", PQgetvalue(res, 0, 4), "confirmed_lsn", status_lsn(confirmed), "restart_lsn",
		              status_lsn(restart), "current_lsn", status_lsn(current), "retained_wal_bytes",
		              (json_int_t)atoll(PQgetvalue(res, 0, 6)), "capture_behind_bytes",
		              (json_int_t)atoll(PQgetvalue(res, 0, 7)));
	}
	if (!o && !err->set)
		cerr_set(err, false, "out of memory");
	PQclear(res);
	PQfinish(conn);
	return o;
}

/* ---- sinks ---- */

/* The stored position of (topic, partition) in pos, or NULL. */
static const struct target_position *status_find_pos(const struct target_position *pos, size_t n,
                                                     const char *topic, int32_t partition)
{
	for (size_t i = 0; i < n; i++)
		if (pos[i].partition == partition && strcmp(pos[i].topic, topic) == 0)
			return &pos[i];
	return NULL;
}

/* The applied positions of the sink from its database; *reachable false (with the reason in why) when it
 * does not answer. */
static int status_positions(const struct cfg_sink *sink, struct target_position **pos, size_t *npos,
                            char *why, size_t whylen)
{
	struct cerr err = {0};
	struct target *t = target_new(sink, &err);
	int rc = -1;

	*pos = NULL;
	*npos = 0;
	if (t && target_connect(t, &err) == 0 && target_load_positions(t, sink->name, pos, npos, &err) == 0)
		rc = 0;
	if (rc < 0)
		snprintf(why, whylen, "%s", err.msg);
	target_free(t);
	return rc;
}

/* One topic of a sink: {"topic", "lag", "partitions": [...]}. Adds its lag to *lag. */
static json_t *status_topic(rd_kafka_t *rk, const char *topic, const struct target_position *pos, size_t npos,
                            bool have_pos, int64_t *lag, struct cerr *err)
{
	struct kafka_part_offsets *po;
	size_t n;
	json_t *parts, *o;
	int64_t topic_lag = 0;

	if (kafka_topic_offsets(rk, topic, 1, STATUS_TIMEOUT_MS, &po, &n, err) < 0)
		return NULL;
	parts = json_array();
	for (size_t i = 0; i < n && parts; i++) {
		const struct target_position *p = have_pos ? status_find_pos(pos, npos, topic, po[i].partition) : NULL;
		/* the next offset the sink applies: after its stored one, else where it would resume */
		int64_t next = p ? p->offset + 1 : po[i].committed >= 0 ? po[i].committed : po[i].low;
		int64_t l = po[i].high - (next > po[i].low ? next : po[i].low);
		json_t *pj;

		if (l < 0)
			l = 0;
		topic_lag += l;
		pj = json_pack("{s:i, s:I, s:I, s:o, s:o, s:o, s:I}", "partition", (int)po[i].partition, "low_offset",
		               (json_int_t)po[i].low, "end_offset", (json_int_t)po[i].high, "committed_offset",
		               po[i].committed >= 0 ? json_integer(po[i].committed) : json_null(), "applied_offset",
		               p ? json_integer(p->offset) : json_null(), "applied_commit_lsn",
		               p ? status_lsn((lsn_t)p->commit_lsn) : json_null(), "lag", (json_int_t)l);
		if (!pj || json_array_append_new(parts, pj) < 0) {
			json_decref(parts);
			parts = NULL;
		}
	}
	free(po);
	o = parts ? json_pack("{s:s, s:b, s:I, s:o}", "topic", topic, "exists", n > 0, "lag", (json_int_t)topic_lag,
	                      "partitions", parts)
	          : NULL;
	if (!o)
		return cerr_set(err, false, "out of memory"), NULL;
	*lag += topic_lag;
	return o;
}

/* {"name", "type", "group", "reachable", "error", "lag", "applied_commit_lsn", "topics": [...]}; NULL with
 * err when Kafka does not answer. */
static json_t *status_sink(const struct cleave_config *cfg, const struct cfg_sink *sink, bool *problem,
                           struct cerr *err)
{
	struct target_position *pos;
	size_t npos;
	char why[CERR_MSG_MAX], group[300], topic[600];
	bool have_pos = status_positions(sink, &pos, &npos, why, sizeof why) == 0;
	rd_kafka_t *rk;
	json_t *topics = json_array(), *o = NULL;
	int64_t lag = 0;
	lsn_t applied = 0;

	snprintf(group, sizeof group, "cleave.%s", sink->name);
	if (!(rk = kafka_client_new(cfg, group, err)))
		goto cleanup;
	for (size_t i = 0; i < sink->nmappings && topics; i++) {
		const struct cfg_table *src = &sink->mappings[i].source;
		json_t *tj;

		snprintf(topic, sizeof topic, "%s.%s.%s", cfg->kafka.topic_prefix, src->schema, src->name);
		if (!(tj = status_topic(rk, topic, pos, npos, have_pos, &lag, err)))
			goto cleanup;
		json_array_append_new(topics, tj);
	}
	for (size_t i = 0; have_pos && i < npos; i++)
		if ((lsn_t)pos[i].commit_lsn > applied)
			applied = (lsn_t)pos[i].commit_lsn;
	if (!have_pos)
		*problem = true;
	o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:o, s:O}", "name", sink->name, "type",
	              sink->type == CFG_SINK_POSTGRES ? "postgres" : "mysql", "group", group, "reachable", have_pos,
	              "error", have_pos ? json_null() : json_string(why), "lag", (json_int_t)lag, "applied_commit_lsn",
	              applied ? status_lsn(applied) : json_null(), "topics", topics);
	if (!o)
		cerr_set(err, false, "out of memory");
cleanup:
	json_decref(topics);
	kafka_client_free(rk);
	target_positions_free(pos, npos);
	return o;
}

/* ---- text output ---- */

/* Per configured table, its snapshot record: [{"table", "state": "done" | "running" | "none", "last_key"}];
 * an empty array with snapshot: never. NULL with err (Kafka unreachable). */
static json_t *status_snapshots(const struct cleave_config *cfg, struct cerr *err)
{
	json_t *a = json_array();
	struct snapctl *ctl;
	char topic[512], name[512];

	if (!a || cfg->source.snapshot == CFG_SNAPSHOT_NEVER)
		return a ? a : (cerr_set(err, false, "out of memory"), NULL);
	snprintf(topic, sizeof topic, "%s._snapshots", cfg->kafka.topic_prefix);
	if (!(ctl = snapctl_load(cfg, topic, err))) {
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; i < cfg->source.ntables; i++) {
		const struct snapctl_rec *r;
		json_t *key = json_null(), *o;

		snprintf(name, sizeof name, "%s.%s", cfg->source.tables[i].schema, cfg->source.tables[i].name);
		r = snapctl_find(ctl, name);
		if (r && !r->done && r->last_key) {
			key = json_array();
			for (int k = 0; key && k < r->nkey; k++)
				json_array_append_new(key, json_string(r->last_key[k]));
		}
		o = json_pack("{s:s, s:s, s:o}", "table", name, "state", !r ? "none" : r->done ? "done" : "running",
		              "last_key", key ? key : json_null());
		if (!o || json_array_append_new(a, o) < 0) {
			snapctl_free(ctl);
			json_decref(a);
			return cerr_set(err, false, "out of memory"), NULL;
		}
	}
	snapctl_free(ctl);
	return a;
}

static void status_print_text(const json_t *st)
{
	const json_t *src = json_object_get(st, "source"), *sinks = json_object_get(st, "sinks"), *sk;
	char b1[32], b2[32];
	size_t i;

	if (!json_is_true(json_object_get(src, "exists"))) {
		printf("source   slot %s does not exist (capture creates it at its first start)\n",
		       json_string_value(json_object_get(src, "slot")));
	} else {
		json_int_t pid = json_integer_value(json_object_get(src, "active_pid"));

		printf("source   slot %s: %s", json_string_value(json_object_get(src, "slot")),
		       json_is_true(json_object_get(src, "active")) ? "active" : "inactive (no capture connected)");
		if (pid)
			printf(" (walsender pid %lld)", (long long)pid);
		printf(", wal_status %s\n", json_string_value(json_object_get(src, "wal_status")));
		printf("         confirmed %s, server at %s: capture behind by %s; WAL retained %s\n",
		       json_string_value(json_object_get(src, "confirmed_lsn")),
		       json_string_value(json_object_get(src, "current_lsn")),
		       status_bytes(json_integer_value(json_object_get(src, "capture_behind_bytes")), b1, sizeof b1),
		       status_bytes(json_integer_value(json_object_get(src, "retained_wal_bytes")), b2, sizeof b2));
	}
	json_array_foreach(json_object_get(st, "snapshots"), i, sk) {
		const char *state = json_string_value(json_object_get(sk, "state"));
		const json_t *key = json_object_get(sk, "last_key");
		char *ktext = json_is_array(key) ? json_dumps(key, JSON_COMPACT) : NULL;

		printf("snapshot %s: %s%s%s\n", json_string_value(json_object_get(sk, "table")),
		       strcmp(state, "done") == 0 ? "copied"
		       : strcmp(state, "running") == 0 ? "being copied"
		                                         : "no record yet (capture copies it at its next start)",
		       ktext ? ", up to key " : "", ktext ? ktext : "");
		free(ktext);
	}
	json_array_foreach(sinks, i, sk) {
		const json_t *topics = json_object_get(sk, "topics"), *tp, *app = json_object_get(sk, "applied_commit_lsn");
		size_t j;

		printf("sink     %s (%s, group %s): lag %lld events", json_string_value(json_object_get(sk, "name")),
		       json_string_value(json_object_get(sk, "type")), json_string_value(json_object_get(sk, "group")),
		       (long long)json_integer_value(json_object_get(sk, "lag")));
		if (!json_is_true(json_object_get(sk, "reachable")))
			printf("; its database does not answer: %s\n", json_string_value(json_object_get(sk, "error")));
		else
			printf(", applied up to commit %s\n", app && json_is_string(app) ? json_string_value(app) : "(nothing yet)");
		json_array_foreach(topics, j, tp) {
			const json_t *parts = json_object_get(tp, "partitions");

			if (!json_is_true(json_object_get(tp, "exists"))) {
				printf("         %s: no topic yet (no events captured)\n",
				       json_string_value(json_object_get(tp, "topic")));
				continue;
			}
			printf("         %s: %zu partitions, lag %lld\n", json_string_value(json_object_get(tp, "topic")),
			       json_array_size(parts), (long long)json_integer_value(json_object_get(tp, "lag")));
		}
	}
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"sink", required_argument, NULL, 's'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = CLI_DEFAULT_CONFIG, *only[STATUS_MAX_SINKS], *ws;
	size_t nonly = 0;
	bool json = false, problem = false;
	struct cleave_config *cfg;
	struct cerr err = {0};
	json_t *st = NULL, *src, *sinks, *snaps;
	int c, rc = EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 's':
			if (nonly == STATUS_MAX_SINKS) {
				fprintf(stderr, "cleave status: at most %d --sink options\n", STATUS_MAX_SINKS);
				return EXIT_USAGE;
			}
			only[nonly++] = optarg;
			break;
		case 'j': json = true; break;
		case 'h': status_usage(stdout); return EXIT_OK;
		default: status_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cleave status: unexpected argument '%s'\n", argv[optind]);
		status_usage(stderr);
		return EXIT_USAGE;
	}
	if (!(cfg = cli_load_config(path)))
		return EXIT_USAGE;
	for (size_t i = 0; i < nonly; i++)
		if (!cfg_find_sink(cfg, only[i])) {
			fprintf(stderr, "cleave status: %s has no sink named '%s'\n", cfg->path, only[i]);
			goto cleanup;
		}
	if (!(src = status_source(cfg, &err)))
		goto failed;
	st = json_pack("{s:o, s:[]}", "source", src, "sinks");
	if (st && !(snaps = status_snapshots(cfg, &err)))
		goto failed;
	if (st && json_object_set_new(st, "snapshots", snaps) < 0) {
		cerr_set(&err, false, "out of memory");
		goto failed;
	}
	if (!st) {
		cerr_set(&err, false, "out of memory");
		goto failed;
	}
	sinks = json_object_get(st, "sinks");
	for (size_t i = 0; i < cfg->nsinks; i++) {
		bool wanted = nonly == 0;
		json_t *sj;

		for (size_t k = 0; k < nonly; k++)
			wanted = wanted || strcmp(only[k], cfg->sinks[i].name) == 0;
		if (!wanted)
			continue;
		if (!(sj = status_sink(cfg, &cfg->sinks[i], &problem, &err)))
			goto failed;
		json_array_append_new(sinks, sj);
	}
	ws = json_string_value(json_object_get(src, "wal_status"));
	if (!json_is_true(json_object_get(src, "exists")) || (ws && strcmp(ws, "lost") == 0))
		problem = true;
	if (json) {
		char *text = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (!text) {
			cerr_set(&err, false, "out of memory");
			goto failed;
		}
		puts(text);
		free(text);
	} else {
		status_print_text(st);
	}
	rc = problem ? EXIT_PROBLEM : EXIT_OK;
	goto cleanup;
failed:
	fprintf(stderr, "cleave status: %s\n", err.msg);
cleanup:
	json_decref(st);
	cfg_free(cfg);
	return rc;
}
