/* lag.c: see lag.h. Polls every 200 ms; reads only (the slot, the watermarks, cleave_positions). */
#include "reconcile/lag.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "kafka/client.h"
#include "kafka/offsets.h"

#define LAG_POLL_MS 200
#define LAG_KAFKA_TIMEOUT_MS 5000

struct lag {
	const struct cleave_config *cfg;
	const struct cfg_sink *scfg;
	struct rdb *src, *tgt;
	rd_kafka_t *rk;
};

struct lag *lag_new(const struct cleave_config *cfg, const struct cfg_sink *scfg, struct rdb *src, struct rdb *tgt,
                    struct cerr *err)
{
	struct lag *l = calloc(1, sizeof *l);

	if (!l) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	l->cfg = cfg;
	l->scfg = scfg;
	l->src = src;
	l->tgt = tgt;
	return l;
}

void lag_free(struct lag *l)
{
	if (!l)
		return;
	if (l->rk)
		kafka_client_free(l->rk);
	free(l);
}

static void lag_sleep(void)
{
	struct timespec ts = {0, LAG_POLL_MS * 1000000L};

	nanosleep(&ts, NULL);
}

/* A quoted SQL string literal of s (no quotes or backslashes expected, but doubled if there are). */
static void lag_quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 3)
		return;
	out[o++] = '\'';
	for (; *s && o + 3 < outlen; s++) {
		if (*s == '\'' || *s == '\\')
			out[o++] = *s;
		out[o++] = *s;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

int lag_slot_exists(struct lag *l, struct cerr *err)
{
	char sql[512], q[256];
	struct rdb_rows r;
	int rc;

	lag_quote(l->cfg->source.slot, q, sizeof q);
	snprintf(sql, sizeof sql, "SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = %s", q);
	if (rdb_query(l->src, sql, &r, err) < 0)
		return -1;
	rc = r.nrows == 1 && rdb_cell(&r, 0, 0) && strcmp(rdb_cell(&r, 0, 0), "0") != 0;
	rdb_rows_free(&r);
	return rc;
}

/* 1 when the slot confirmed lsn, 0 not yet, -1 error. */
static int lag_confirmed(struct lag *l, const char *lsn, char *why, size_t whylen, struct cerr *err)
{
	char sql[512], q[256], ql[64];
	struct rdb_rows r;
	int rc;

	lag_quote(l->cfg->source.slot, q, sizeof q);
	lag_quote(lsn, ql, sizeof ql);
	snprintf(sql, sizeof sql,
	         "SELECT (confirmed_flush_lsn >= %s::pg_lsn)::text, confirmed_flush_lsn::text FROM pg_replication_slots"
	         " WHERE slot_name = %s",
	         ql, q);
	if (rdb_query(l->src, sql, &r, err) < 0)
		return -1;
	if (r.nrows == 0) {
		snprintf(why, whylen, "the replication slot %s does not exist", l->cfg->source.slot);
		rc = 0;
	} else {
		rc = rdb_cell(&r, 0, 0) && strcmp(rdb_cell(&r, 0, 0), "true") == 0;
		if (!rc)
			snprintf(why, whylen,
			         "capture has not confirmed source position %s yet (slot %s confirmed %s): is cleave capture"
			         " running?",
			         lsn, l->cfg->source.slot, rdb_cell(&r, 0, 1) ? rdb_cell(&r, 0, 1) : "nothing");
	}
	rdb_rows_free(&r);
	return rc;
}

static int lag_kafka(struct lag *l, struct cerr *err)
{
	if (!l->rk && !(l->rk = kafka_client_new(l->cfg, NULL, err)))
		return -1;
	return 0;
}

/* The high watermark of each partition of topic (hi[p], -1 when the partition holds nothing). */
static int lag_watermarks(struct lag *l, const char *topic, int64_t **hi, int *nparts, struct cerr *err)
{
	struct kafka_part_offsets *po;
	size_t n;

	*hi = NULL;
	*nparts = 0;
	if (kafka_topic_offsets(l->rk, topic, 0, LAG_KAFKA_TIMEOUT_MS, &po, &n, err) < 0)
		return -1;
	if (!(*hi = calloc(n ? n : 1, sizeof **hi))) {
		free(po);
		return cerr_set(err, false, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		(*hi)[i] = po[i].high > po[i].low ? po[i].high : -1;
	*nparts = (int)n;
	free(po);
	return 0;
}

/* 1 when the sink stored offset >= hi[p] - 1 for every partition with events, 0 not yet, -1 error. */
static int lag_applied(struct lag *l, const char *topic, const int64_t *hi, int nparts, char *why, size_t whylen,
                       struct cerr *err)
{
	char sql[1024], qs[300], qt[600];
	struct rdb_rows r;
	int rc = 1;

	lag_quote(l->scfg->name, qs, sizeof qs);
	lag_quote(topic, qt, sizeof qt);
	snprintf(sql, sizeof sql,
	         "SELECT CAST(kafka_partition AS CHAR(12)), CAST(kafka_offset AS CHAR(24)) FROM cleave_positions"
	         " WHERE sink = %s AND topic = %s",
	         qs, qt);
	if (rdb_query(l->tgt, sql, &r, err) < 0) {
		snprintf(why, whylen, "sink %s has stored no positions (%s)", l->scfg->name, err->msg);
		cerr_clear(err);
		return 0;
	}
	for (int p = 0; p < nparts && rc == 1; p++) {
		long long stored = -1;

		if (hi[p] < 0)
			continue;
		for (size_t i = 0; i < r.nrows; i++)
			if (rdb_cell(&r, i, 0) && atoi(rdb_cell(&r, i, 0)) == p && rdb_cell(&r, i, 1))
				stored = atoll(rdb_cell(&r, i, 1));
		if (stored < hi[p] - 1) {
			snprintf(why, whylen, "sink %s has applied %s [%d] up to offset %lld of %lld", l->scfg->name, topic, p,
			         stored, (long long)hi[p] - 1);
			rc = 0;
		}
	}
	rdb_rows_free(&r);
	return rc;
}

int lag_wait(struct lag *l, const char *lsn, char *const *topics, size_t ntopics, long long deadline_ms, char *why,
             size_t whylen, struct cerr *err)
{
	int rc;

	why[0] = '\0';
	/* (1) every event before lsn is in Kafka */
	while ((rc = lag_confirmed(l, lsn, why, whylen, err)) == 0) {
		if (clock_mono_ms() >= deadline_ms)
			return 0;
		lag_sleep();
	}
	if (rc < 0)
		return -1;
	if (lag_kafka(l, err) < 0)
		return -1;
	for (size_t t = 0; t < ntopics; t++) {
		int64_t *hi;
		int nparts;

		/* (2) then where each partition ends, (3) the sink got there */
		if (lag_watermarks(l, topics[t], &hi, &nparts, err) < 0)
			return -1;
		while ((rc = lag_applied(l, topics[t], hi, nparts, why, whylen, err)) == 0) {
			if (clock_mono_ms() >= deadline_ms)
				break;
			lag_sleep();
		}
		free(hi);
		if (rc <= 0)
			return rc;
	}
	why[0] = '\0';
	return 1;
}
