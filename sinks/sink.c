/* sink.c: see sink.h. The main thread polls the consumer, decodes, and holds events for the batch of
 * their partition's lane; each lane (apply_connections of them) has its own target connection and worker
 * thread, and applies the events of the partitions i % nlanes == lane of sink.parts, with those
 * partitions' positions, in its own transactions. A key lives in one partition, so the lanes write
 * disjoint rows and run in parallel on the target's cores. A lane's batch goes to its worker when it is
 * large or old enough, or as soon as the worker is free (so that an idle target takes what there is at
 * once), and the lane's next batch is read and decoded meanwhile. One batch per lane is in flight at a
 * time, and everything else that touches the target or the dead-letter producer (a new schema, a
 * truncate, a rebalance, a rejected event, stop) first waits for all of them and flushes synchronously.
 * Events that cannot be applied go, after the batch is retried event by event, to the dead-letter
 * topic <prefix>.dlq.<sink> (or stop the sink with on_error: stop).
 *
 * Threads: while a lane's job is in flight, its worker alone uses the lane's target, batch and job (and
 * the dead-letter producer, under dlq_mu); the main thread may change only the p_* fields of parts (the
 * job carries its own copy of the positions) and the offsets of other lanes' partitions, never the set
 * of parts (assign and revoke wait for every job first). The main thread's target is lane 0's. */
#include "sinks/sink.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "schema/avro_write.h"
#include "schema/schema_topic.h"
#include "sinks/batch.h"
#include "sinks/evolve.h"
#include "sinks/mapping.h"
#include "sinks/target.h"

#define SINK_BACKOFF_MIN_MS 500
#define SINK_BACKOFF_MAX_MS 30000
#define SINK_DLQ_TIMEOUT_MS 30000
#define SINK_BARRIER_POLL_MS 250 /* how often partitions waiting at a truncate ask whether it is done */
#define SINK_DATA_TRIES 3 /* an event the target refuses is tried this often (0.5 s, 1 s apart) */
#define SINK_WAKE_BELOW 20000 /* prefetched messages under which a lagging partition's fetcher is woken */
#define SINK_WAKE_EVERY_MS 20 /* how often it looks */

/* An assigned partition and how far the sink got in it. */
struct sink_part {
	char *topic;
	int32_t partition;
	/* stored in the target (committed): */
	int64_t offset, lsn, seq; /* -1: nothing yet */
	/* taken into the current batch: */
	int64_t p_offset, p_lsn, p_seq;
	/* a truncate barrier this partition reached, waiting until it is done (by any process of the sink) */
	bool at_barrier;
	bool paused; /* not fetched while at the barrier (sink_part_fetch) */
	int64_t b_lsn, b_seq, b_offset;
	rd_kafka_message_t **stash; /* messages after the barrier, in order */
	size_t nstash, capstash;
};

/* A writer schema the mapping cannot follow (on_error: dlq): its events go to the dead-letter topic. */
struct sink_refusal {
	uint64_t value_id;
	char *why;
};

/* A mapping of the config and its resolutions by writer schema. */
struct sink_map {
	const struct cfg_mapping *cfg;
	char *topic;
	struct mapping **resolved;
	size_t nresolved;
	struct sink_refusal *refused;
	size_t nrefused;
};

/* An event held for the batch (its position is already in its partition's p_* fields). */
struct sink_held {
	rd_kafka_message_t *msg;
	struct mapping *m;
	char op; /* 'c', 'u' or 'd' (batch.h) */
	struct schema_row_plan rows; /* its row is decoded when the batch is applied (in the lane's thread) */
};

/* A position of one partition as a batch leaves it. */
struct sink_pos {
	int64_t offset, lsn, seq;
};

/* A batch: the held events, and at the hand-off the positions it stores, per index of sink.parts. */
struct sink_job {
	struct sink_held *held;
	size_t nheld, capheld;
	struct sink_pos *pos;
	size_t npos, cappos;
	int lane, nlanes; /* it stores the positions of the partitions i with i % nlanes == lane */
	bool pending;  /* handed off: its result is still to be collected by sink_job_wait */
	bool threaded; /* pending in the worker thread `thread` (else it ran inline) */
	atomic_bool finished; /* the worker thread is done with it (to be joined) */
	pthread_t thread;
	int rc;
	struct cerr err;
};

/* An apply lane: its own target connection and worker thread, applying the events of the partitions
 * i % nlanes == index of sink.parts, with their positions, in its own transactions. A key lives in one
 * partition, so the lanes write disjoint rows; the lanes apply in parallel on the target's cores. */
struct sink_lane {
	struct sink *sink;
	int index;
	struct target *target;
	struct batch *batch;
	struct sink_job cur; /* being filled */
	struct sink_job fly; /* being applied */
	int64_t batch_started_ms;
};

struct sink {
	const struct cleave_config *cfg;
	const struct cfg_sink *scfg;
	int (*stop_requested)(void);
	rd_kafka_t *consumer;
	rd_kafka_t *dlq;
	char *dlq_topic;
	rd_kafka_resp_err_t dlq_result; /* of the last dead-letter message */
	pthread_mutex_t dlq_mu;         /* lanes isolating failed batches send dead letters at the same time */
	pthread_mutex_t applied_mu;     /* lanes report the highest commit position applied */
	int64_t applied_lsn;
	struct target *target;          /* lanes[0]'s: the one the main thread uses (DDL, truncates, positions) */
	struct schema_topic *schemas;
	struct sink_lane lanes[CFG_SINK_LANES_MAX];
	int nlanes;
	struct sink_map *maps;
	size_t nmaps;
	struct sink_part *parts;
	size_t nparts;
	size_t last_part; /* index of the last sink_part_find hit */
	rd_kafka_queue_t *queue; /* the consumer's, for its length */
	int64_t wake_look_ms;    /* sink_wake_fetcher's last look */
	size_t wake_queued;      /* the queue's length then */
	size_t wake_next;        /* the partition it tries first */
	uint64_t wakes;          /* seeks it made, reported at stop */
	bool job_failed;  /* a batch could not be stored: nothing after it may be */
	struct cerr job_err;
	int64_t barrier_poll_ms; /* next sink_barrier_poll */
	bool fatal;
	struct cerr fatal_err;
	char ctx[128];
};

/* ---- metrics ---- */

/* What a sink exports at /metrics (common/metrics.h), labelled with its name. */
static struct {
	struct metric *events, *batches, *dead_letters, *applied_lsn, *retries;
} sink_metrics;

static void sink_metrics_register(const char *sink)
{
	char labels[300];

	snprintf(labels, sizeof labels, "sink=\"%s\"", sink);
	sink_metrics.events = metric_register(METRIC_COUNTER, "cleave_sink_events_total",
	                                      "events (tombstones not counted) in batches committed to the target database", labels);
	sink_metrics.batches = metric_register(METRIC_COUNTER, "cleave_sink_batches_total",
	                                       "target transactions committed with rows and positions", labels);
	sink_metrics.dead_letters = metric_register(METRIC_COUNTER, "cleave_sink_dead_letters_total",
	                                            "events sent to the dead-letter topic", labels);
	sink_metrics.applied_lsn = metric_register(METRIC_GAUGE, "cleave_sink_applied_commit_lsn",
	                                           "highest source commit position applied to the target", labels);
	sink_metrics.retries = metric_register(METRIC_COUNTER, "cleave_sink_retries_total",
	                                       "waits for a target or Kafka that went away (reconnects, batches tried again)", labels);
}

static void sink_sleep(struct sink *s, int ms)
{
	int64_t until = clock_mono_ms() + ms;

	while (!s->stop_requested() && clock_mono_ms() < until) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* Connects to target t (a lane's), waiting for it with backoff. 0, or -1 (stop requested, or err not
 * retriable). */
static int sink_connect_to(struct sink *s, struct target *t, struct cerr *err)
{
	int backoff = SINK_BACKOFF_MIN_MS;

	for (;;) {
		if (target_connect(t, err) == 0)
			return 0;
		if (!err->retriable || s->stop_requested())
			return -1;
		log_warn(s->ctx, "%s; retrying in %d ms", err->msg, backoff);
		metric_add(sink_metrics.retries, 1);
		sink_sleep(s, backoff);
		backoff = backoff * 2 > SINK_BACKOFF_MAX_MS ? SINK_BACKOFF_MAX_MS : backoff * 2;
	}
}

/* Connects the main thread's target (see sink_connect_to). */
static int sink_connect(struct sink *s, struct cerr *err)
{
	return sink_connect_to(s, s->target, err);
}

static struct sink_part *sink_part_find(struct sink *s, const char *topic, int32_t partition)
{
	/* consecutive messages mostly come from one partition: try the last hit first */
	if (s->last_part < s->nparts && s->parts[s->last_part].partition == partition &&
	    strcmp(s->parts[s->last_part].topic, topic) == 0)
		return &s->parts[s->last_part];
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i].partition == partition && strcmp(s->parts[i].topic, topic) == 0) {
			s->last_part = i;
			return &s->parts[i];
		}
	return NULL;
}

static struct sink_map *sink_map_find(struct sink *s, const char *topic)
{
	for (size_t i = 0; i < s->nmaps; i++)
		if (strcmp(s->maps[i].topic, topic) == 0)
			return &s->maps[i];
	return NULL;
}

/* The mapping of schema value_id (JSON vjson) with what the table's other writer schemas tell of renames
 * (sinks/evolve.h). *changed: the schema topic holds other schemas of the table (so a failure is a schema
 * change the mapping cannot follow, in this schema or, for an older one, in the newest). */
static struct mapping *sink_mapping(struct sink *s, struct sink_map *sm, uint64_t value_id, const char *vjson,
                                    bool *changed, struct cerr *err)
{
	const char **hist = NULL;
	uint64_t *ids = NULL;
	size_t n = 0, at;
	struct evolve_lineage *l = NULL;
	struct mapping *m = NULL;

	if (schema_topic_envelopes(s->schemas, sm->cfg->source.schema, sm->cfg->source.name, &hist, &ids, &n, err) < 0)
		return NULL;
	for (at = 0; at < n && ids[at] != value_id; at++)
		;
	*changed = at < n && n > 1;
	/* a schema of a table whose name is no Avro name is not found by name: no history then */
	if (at < n && !(l = evolve_lineage_new(hist, n, err)))
		goto cleanup;
	if (l && evolve_check_projection(l, at, value_id, sm->cfg, err) < 0)
		goto cleanup;
	m = mapping_new_in(sm->cfg, value_id, vjson, l, at, err);
cleanup:
	evolve_lineage_free(l);
	free(hist);
	free(ids);
	return m;
}

/* The reason schema value_id of sm was refused, or NULL. */
static const char *sink_refusal(const struct sink_map *sm, uint64_t value_id)
{
	for (size_t i = 0; i < sm->nrefused; i++)
		if (sm->refused[i].value_id == value_id)
			return sm->refused[i].why;
	return NULL;
}

/* Remembers that sm cannot follow schema value_id (on_error: dlq): its events go to the dead-letter topic
 * with `why`. */
static int sink_refuse(struct sink *s, struct sink_map *sm, uint64_t value_id, const char *why, struct cerr *err)
{
	struct sink_refusal *nr = realloc(sm->refused, (sm->nrefused + 1) * sizeof *nr);

	if (!nr)
		return cerr_set(err, false, "out of memory");
	sm->refused = nr;
	if (!(nr[sm->nrefused].why = strdup(why)))
		return cerr_set(err, false, "out of memory");
	nr[sm->nrefused++].value_id = value_id;
	log_warn(s->ctx, "%s: events of schema %016" PRIx64 " go to %s (on_error: dlq)", why, value_id, s->dlq_topic);
	return 0;
}

/* The resolution of sm for value schema `id` (made, and its table prepared, on first sight). *refused:
 * it failed (not retriable) for a table whose schema changed: a change the mapping or its target cannot
 * follow. */
static struct mapping *sink_resolve(struct sink *s, struct sink_map *sm, uint64_t value_id, bool *refused,
                                    struct cerr *err)
{
	const char *vjson;
	struct mapping *m, **nr;
	bool changed = false;

	*refused = false;
	for (size_t i = 0; i < sm->nresolved; i++)
		if (sm->resolved[i]->value_id == value_id)
			return sm->resolved[i];
	if (!(vjson = schema_topic_json(s->schemas, value_id, err)))
		return NULL;
	if (!(m = sink_mapping(s, sm, value_id, vjson, &changed, err))) {
		*refused = changed && !err->retriable;
		return NULL;
	}
	/* lane 0's connection makes the DDL; the other lanes' then read the table's new definition (their
	 * batches are done: the caller flushed) */
	for (int i = 0; i < s->nlanes; i++) {
		struct target *t = s->lanes[i].target;

		while (target_prepare_table(t, &m->table, s->scfg->create_tables, err) < 0) {
			/* a target that went away is waited for; a table that cannot hold the mapping is not */
			if (!err->retriable ||
			    (log_warn(s->ctx, "%s; reconnecting", err->msg), sink_connect_to(s, t, err) < 0)) {
				*refused = changed && !err->retriable;
				mapping_free(m);
				return NULL;
			}
		}
	}
	nr = realloc(sm->resolved, (sm->nresolved + 1) * sizeof *nr);
	if (!nr) {
		mapping_free(m);
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	sm->resolved = nr;
	sm->resolved[sm->nresolved++] = m;
	log_info(s->ctx, "table %s ready for %s (schema %016" PRIx64 ")", m->table.name, sm->topic, value_id);
	return m;
}

/* ---- the dead-letter topic ---- */

static void sink_dlq_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct sink *s = opaque;

	(void)rk;
	s->dlq_result = m->err;
}

static rd_kafka_t *sink_dlq_producer(struct sink *s, struct cerr *err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", s->cfg->kafka.brokers, errstr, sizeof errstr)) {
		rd_kafka_conf_destroy(conf);
		cerr_set(err, false, "dead-letter producer: %s", errstr);
		return NULL;
	}
	/* the cluster's settings (security, sizes) apply here too; consumer-only ones are ignored */
	for (size_t i = 0; i < s->cfg->kafka.nproperties; i++)
		(void)rd_kafka_conf_set(conf, s->cfg->kafka.properties[i].key, s->cfg->kafka.properties[i].value, errstr,
		                        sizeof errstr);
	(void)rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr);
	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_dr_msg_cb(conf, sink_dlq_delivered);
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr))) {
		rd_kafka_conf_destroy(conf);
		cerr_set(err, false, "dead-letter producer: %s", errstr);
	}
	return rk;
}

/* Writes the original message with its origin and the error in headers, and waits for the broker's
 * acknowledgement: the event's position moves past it only once it is durable there. Under dlq_mu. */
static int sink_dlq_send_locked(struct sink *s, const rd_kafka_message_t *m, const char *why, struct cerr *err)
{
	char part[16], off[32];
	rd_kafka_headers_t *h;
	rd_kafka_resp_err_t e;

	if (!s->dlq && !(s->dlq = sink_dlq_producer(s, err)))
		return -1;
	snprintf(part, sizeof part, "%" PRId32, m->partition);
	snprintf(off, sizeof off, "%" PRId64, m->offset);
	h = rd_kafka_headers_new(4);
	rd_kafka_header_add(h, "cleave.topic", -1, rd_kafka_topic_name(m->rkt), -1);
	rd_kafka_header_add(h, "cleave.partition", -1, part, -1);
	rd_kafka_header_add(h, "cleave.offset", -1, off, -1);
	rd_kafka_header_add(h, "cleave.error", -1, why, -1);
	s->dlq_result = RD_KAFKA_RESP_ERR__IN_PROGRESS;
	e = rd_kafka_producev(s->dlq, RD_KAFKA_V_TOPIC(s->dlq_topic), RD_KAFKA_V_KEY(m->key, m->key_len),
	                      RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
	if (e) {
		rd_kafka_headers_destroy(h);
		s->dlq_result = e;
	} else {
		rd_kafka_flush(s->dlq, SINK_DLQ_TIMEOUT_MS);
	}
	if (s->dlq_result == RD_KAFKA_RESP_ERR__IN_PROGRESS)
		return cerr_set(err, true, "dead-letter topic %s did not acknowledge within %d s", s->dlq_topic,
		                SINK_DLQ_TIMEOUT_MS / 1000);
	if (s->dlq_result == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || s->dlq_result == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
	    s->dlq_result == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
	    s->dlq_result == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE)
		return cerr_set(err, false,
		                "%s [%" PRId32 "] offset %" PRId64 " cannot be applied (%s) and the dead-letter topic %s"
		                " refuses it: %s (raise message.max.bytes in kafka.properties and the topic's"
		                " max.message.bytes, or fix the target and restart)",
		                rd_kafka_topic_name(m->rkt), m->partition, m->offset, why, s->dlq_topic,
		                rd_kafka_err2str(s->dlq_result));
	if (s->dlq_result)
		return cerr_set(err, true, "dead-letter topic %s: %s", s->dlq_topic, rd_kafka_err2str(s->dlq_result));
	log_warn(s->ctx, "%s [%" PRId32 "] offset %" PRId64 " sent to %s: %s", rd_kafka_topic_name(m->rkt),
	         m->partition, m->offset, s->dlq_topic, why);
	metric_add(sink_metrics.dead_letters, 1);
	return 0;
}

static int sink_dlq_send(struct sink *s, const rd_kafka_message_t *m, const char *why, struct cerr *err)
{
	int rc;

	pthread_mutex_lock(&s->dlq_mu);
	rc = sink_dlq_send_locked(s, m, why, err);
	pthread_mutex_unlock(&s->dlq_mu);
	return rc;
}

/* An event that cannot be applied: to the dead-letter topic, or stop (on_error: stop). */
static int sink_reject(struct sink *s, const rd_kafka_message_t *m, const char *why, struct cerr *err)
{
	if (s->scfg->on_error == CFG_ON_ERROR_STOP)
		return cerr_set(err, false, "%s [%" PRId32 "] offset %" PRId64 " cannot be applied: %s (on_error: stop)",
		                rd_kafka_topic_name(m->rkt), m->partition, m->offset, why);
	return sink_dlq_send(s, m, why, err);
}

/* ---- flushing ---- */

/* Frees the events of j. */
static void sink_job_drop(struct sink_job *j)
{
	for (size_t i = 0; i < j->nheld; i++) {
		rd_kafka_message_destroy(j->held[i].msg);
	}
	j->nheld = 0;
}

static void sink_job_free(struct sink_job *j)
{
	sink_job_drop(j);
	free(j->held);
	free(j->pos);
}

/* Whether j stores the position of partition i (sink.parts[i]): those of its lane. */
static bool sink_job_has(const struct sink_job *j, size_t i)
{
	return j->nlanes <= 1 || (int)(i % (size_t)j->nlanes) == j->lane;
}

/* Copies the partitions' p_* positions into j. */
static int sink_job_snapshot(struct sink *s, struct sink_job *j, struct cerr *err)
{
	if (s->nparts > j->cappos) {
		struct sink_pos *np = realloc(j->pos, s->nparts * sizeof *np);

		if (!np)
			return cerr_set(err, false, "out of memory");
		j->pos = np;
		j->cappos = s->nparts;
	}
	for (size_t i = 0; i < s->nparts; i++)
		j->pos[i] = (struct sink_pos){s->parts[i].p_offset, s->parts[i].p_lsn, s->parts[i].p_seq};
	j->npos = s->nparts;
	return 0;
}

/* Stores j's positions (of its lane's partitions that moved) in t's transaction. */
static int sink_store_positions(struct sink *s, struct target *t, const struct sink_job *j, struct cerr *err)
{
	struct target_position *pos = calloc(j->npos ? j->npos : 1, sizeof *pos);
	size_t n = 0;
	int rc;

	if (!pos)
		return cerr_set(err, false, "out of memory");
	for (size_t i = 0; i < j->npos; i++) {
		const struct sink_part *p = &s->parts[i];

		if (!sink_job_has(j, i) || j->pos[i].offset == p->offset)
			continue;
		pos[n++] = (struct target_position){.topic = p->topic, .partition = p->partition,
		                                    .offset = j->pos[i].offset, .commit_lsn = j->pos[i].lsn,
		                                    .seq = j->pos[i].seq};
	}
	rc = n ? target_store_positions(t, s->scfg->name, pos, n, err) : 0;
	free(pos);
	return rc;
}

/* After j's database commit (main thread): what it took is now stored; Kafka learns it too (for lag
 * tools). */
static void sink_job_committed(struct sink *s, const struct sink_job *j)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)(j->npos ? j->npos : 1));

	for (size_t i = 0; i < j->npos && i < s->nparts; i++) {
		struct sink_part *p = &s->parts[i];

		if (!sink_job_has(j, i))
			continue;
		/* every partition, moved or not: a commit that failed (say during a rebalance) is made good by the
		 * next one, so lag tools do not show an idle partition stale */
		if (j->pos[i].offset >= 0)
			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = j->pos[i].offset + 1;
		p->offset = j->pos[i].offset;
		p->lsn = j->pos[i].lsn;
		p->seq = j->pos[i].seq;
	}
	if (l->cnt > 0)
		rd_kafka_commit(s->consumer, l, 1);
	rd_kafka_topic_partition_list_destroy(l);
}

/* One transaction on l's target: the events [from, to) of j and (positions) j's positions. */
static int sink_apply(struct sink *s, struct sink_lane *l, const struct sink_job *j, size_t from, size_t to,
                      bool positions, struct cerr *err)
{
	batch_reset(l->batch);
	for (size_t i = from; i < to; i++) {
		const struct sink_held *h = &j->held[i];
		json_t *row = schema_row_decode(&h->rows, h->op == 'd', h->msg->payload, h->msg->len, err);
		int rc;

		if (!row)
			return -1;
		rc = batch_add(l->batch, h->m, h->op, row, h->msg->key, h->msg->key_len, err);
		json_decref(row);
		if (rc < 0)
			return -1;
	}
	if (target_begin(l->target, err) < 0 || batch_apply(l->batch, l->target, err) < 0 ||
	    (positions && sink_store_positions(s, l->target, j, err) < 0) || target_commit(l->target, err) < 0) {
		target_rollback(l->target);
		return -1;
	}
	return 0;
}

/* A batch failed on its data: apply its events one by one; those that fail go to the dead-letter topic.
 * The positions are stored with the last transaction. */
static int sink_isolate(struct sink *s, struct sink_lane *l, const struct sink_job *j, struct cerr *err)
{
	for (size_t i = 0; i < j->nheld; i++) {
		const struct sink_held *h = &j->held[i];
		struct cerr one = {0};
		int tries = 0, backoff = SINK_BACKOFF_MIN_MS;
		json_t *row = schema_row_decode(&h->rows, h->op == 'd', h->msg->payload, h->msg->len, &one);

		/* bytes that do not decode never will: no retries */
		if (!row)
			tries = SINK_DATA_TRIES;
		json_decref(row);
		/* retried with backoff first: a constraint may hold once another table caught up */
		while (tries < SINK_DATA_TRIES && sink_apply(s, l, j, i, i + 1, false, &one) < 0) {
			if (one.retriable)
				return cerr_set(err, true, "%s", one.msg);
			if (s->stop_requested())
				return cerr_set(err, true, "stopping while %s", one.msg); /* nothing stored: redone later */
			if (++tries >= SINK_DATA_TRIES)
				break;
			sink_sleep(s, backoff);
			backoff *= 2;
			cerr_clear(&one);
		}
		if (!one.set)
			continue;
		if (sink_reject(s, j->held[i].msg, one.msg, err) < 0)
			return -1;
	}
	if (target_begin(l->target, err) < 0 || sink_store_positions(s, l->target, j, err) < 0 ||
	    target_commit(l->target, err) < 0) {
		target_rollback(l->target);
		return -1;
	}
	return 0;
}

/* Whether l's target already holds the positions j would store: 1 yes, 0 no, -1 err. */
static int sink_batch_stored(struct sink *s, struct sink_lane *l, const struct sink_job *j, struct cerr *err)
{
	struct target_position *pos = NULL;
	size_t npos = 0;
	int stored = 0, moved = 0;

	if (target_load_positions(l->target, s->scfg->name, &pos, &npos, err) < 0)
		return -1;
	for (size_t i = 0; i < j->npos; i++) {
		struct sink_part *p = &s->parts[i];

		if (!sink_job_has(j, i) || j->pos[i].offset == p->offset)
			continue;
		moved++;
		for (size_t k = 0; k < npos; k++)
			if (pos[k].partition == p->partition && strcmp(pos[k].topic, p->topic) == 0 &&
			    pos[k].offset == j->pos[i].offset)
				stored++;
	}
	target_positions_free(pos, npos);
	/* positions and rows are in one transaction: either all of the batch is there or none */
	return moved > 0 && stored == moved ? 1 : 0;
}

/* Applies j on lane l and stores its positions, waiting for a target that is down; then frees its events.
 * 0, or -1 with err (stop requested during an outage: nothing stored; or a fatal error). */
static int sink_job_run(struct sink *s, struct sink_lane *l, struct sink_job *j, struct cerr *err)
{
	int backoff = SINK_BACKOFF_MIN_MS;
	int64_t applied = 0;

	for (;;) {
		cerr_clear(err);
		if (sink_apply(s, l, j, 0, j->nheld, true, err) == 0 ||
		    (!err->retriable && sink_isolate(s, l, j, err) == 0)) {
			log_debug(s->ctx, "applied %zu events (%zu after collapsing)", j->nheld, batch_size(l->batch));
			break;
		}
		if (!err->retriable)
			return -1;
		/* the target (or Kafka, for a dead letter) went away: apply the batch again once it is back,
		 * unless its COMMIT went through before the connection broke (the positions tell) */
		log_warn(s->ctx, "%s; retrying in %d ms", err->msg, backoff);
		metric_add(sink_metrics.retries, 1);
		sink_sleep(s, backoff);
		backoff = backoff * 2 > SINK_BACKOFF_MAX_MS ? SINK_BACKOFF_MAX_MS : backoff * 2;
		if (s->stop_requested() || sink_connect_to(s, l->target, err) < 0)
			return -1;
		switch (sink_batch_stored(s, l, j, err)) {
		case 1:
			log_info(s->ctx, "the batch was committed before the connection broke");
			goto stored;
		case 0:
			break;
		default:
			if (!err->retriable)
				return -1;
		}
	}
stored:
	for (size_t i = 0; i < j->npos; i++)
		if (sink_job_has(j, i) && j->pos[i].lsn > applied)
			applied = j->pos[i].lsn;
	/* the highest of all lanes */
	pthread_mutex_lock(&s->applied_mu);
	if (applied > s->applied_lsn) {
		s->applied_lsn = applied;
		metric_set(sink_metrics.applied_lsn, applied);
	}
	pthread_mutex_unlock(&s->applied_mu);
	metric_add(sink_metrics.events, (int64_t)j->nheld);
	metric_add(sink_metrics.batches, 1);
	batch_reset(l->batch);
	sink_job_drop(j);
	return 0;
}

static void *sink_job_thread(void *arg)
{
	struct sink_lane *l = arg;

	l->fly.rc = sink_job_run(l->sink, l, &l->fly, &l->fly.err);
	atomic_store(&l->fly.finished, true);
	return NULL;
}

/* Waits for lane l's batch in flight, if any, and takes note of its outcome. 0, or -1 with err when it
 * (or an earlier one of any lane) could not be stored. */
static int sink_lane_wait(struct sink *s, struct sink_lane *l, struct cerr *err)
{
	if (l->fly.pending) {
		if (l->fly.threaded)
			pthread_join(l->fly.thread, NULL);
		l->fly.pending = l->fly.threaded = false;
		if (l->fly.rc == 0) {
			sink_job_committed(s, &l->fly);
		} else {
			/* its events are consumed again after a restart, from the stored positions */
			if (!s->job_failed)
				s->job_err = l->fly.err;
			s->job_failed = true;
			sink_job_drop(&l->fly);
		}
	}
	if (s->job_failed) {
		*err = s->job_err;
		return -1;
	}
	return 0;
}

/* Waits for the batches in flight of all lanes (see sink_lane_wait). */
static int sink_job_wait(struct sink *s, struct cerr *err)
{
	int rc = 0;

	for (int i = 0; i < s->nlanes; i++)
		if (sink_lane_wait(s, &s->lanes[i], err) < 0)
			rc = -1;
	return rc;
}

/* Hands what lane l holds (and its positions) to a batch: in its worker thread (background), or here.
 * Waits for l's batch in flight first. 0, or -1 with err (see sink_lane_wait). */
static int sink_flush_start(struct sink *s, struct sink_lane *l, bool background, struct cerr *err)
{
	struct sink_job swap;
	bool dirty = l->cur.nheld > 0;

	if (sink_lane_wait(s, l, err) < 0)
		return -1;
	for (size_t i = (size_t)l->index; !dirty && i < s->nparts; i += (size_t)s->nlanes)
		dirty = s->parts[i].p_offset != s->parts[i].offset;
	if (!dirty)
		return 0;
	if (sink_job_snapshot(s, &l->cur, err) < 0)
		return -1;
	swap = l->fly;
	l->fly = l->cur;
	l->cur = swap;
	l->cur.nheld = 0;
	l->batch_started_ms = 0;
	l->fly.pending = true;
	atomic_store(&l->fly.finished, false);
	cerr_clear(&l->fly.err);
	if (background && pthread_create(&l->fly.thread, NULL, sink_job_thread, l) == 0) {
		l->fly.threaded = true;
		return 0;
	}
	l->fly.rc = sink_job_run(s, l, &l->fly, &l->fly.err);
	return 0;
}

/* Hands lane l's batch (in the background: the next one is read while it is applied) to its worker when it
 * is full or old enough, or the worker is free; also positions alone (events skipped) when the consumer is
 * idle. Waits for the worker if it is busy. 0, or -1 with err (see sink_lane_wait). */
static int sink_lane_due(struct sink *s, struct sink_lane *l, bool idle, int64_t now, struct cerr *err)
{
	if (l->cur.nheld >= (size_t)s->scfg->batch_size ||
	    (l->batch_started_ms && now - l->batch_started_ms >= s->scfg->batch_ms) ||
	    (l->cur.nheld > 0 && (!l->fly.pending || atomic_load(&l->fly.finished))) || (idle && l->cur.nheld == 0))
		return sink_flush_start(s, l, true, err);
	return 0;
}

/* Applies everything taken so far (the lanes in parallel) and stores the positions, before returning. */
static int sink_flush(struct sink *s, struct cerr *err)
{
	int rc = 0;

	for (int i = 0; i < s->nlanes && rc == 0; i++)
		rc = sink_flush_start(s, &s->lanes[i], s->nlanes > 1, err);
	/* every lane's batch, also after a failure: none may be left running */
	if (sink_job_wait(s, err) < 0)
		rc = -1;
	return rc;
}

/* Frees what lane l holds and has not handed off. */
static void sink_lanes_drop_held(struct sink *s)
{
	for (int i = 0; i < s->nlanes; i++) {
		sink_job_drop(&s->lanes[i].cur);
		s->lanes[i].batch_started_ms = 0;
	}
}

/* ---- taking messages ---- */

static int sink_take(struct sink *s, rd_kafka_message_t *m, struct cerr *err);

static bool sink_pos_le(int64_t lsn, int64_t seq, int64_t lsn2, int64_t seq2)
{
	return lsn < lsn2 || (lsn == lsn2 && seq <= seq2);
}

/* The number of partitions of topic, or -1 with err. */
static int sink_topic_partitions(struct sink *s, const char *topic, struct cerr *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->consumer, topic, NULL);
	int n = -1;

	if (rkt && rd_kafka_metadata(s->consumer, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	    md->topic_cnt == 1 && !md->topics[0].err)
		n = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (n < 0)
		cerr_set(err, true, "metadata of %s for a truncate", topic);
	return n;
}

/* Stops or restarts fetching partition p. A partition waiting at a truncate is paused so that what it
 * holds back stays small however long the wait: pausing makes librdkafka drop what it prefetched for p and
 * fetch again, on resume, from right after the last message polled (the stash's last). */
static void sink_part_fetch(struct sink *s, struct sink_part *p, bool fetch)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;

	if (p->paused != fetch)
		return;
	if (!s->consumer) { /* gone: nothing to resume */
		p->paused = false;
		return;
	}
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
	e = fetch ? rd_kafka_resume_partitions(s->consumer, l) : rd_kafka_pause_partitions(s->consumer, l);
	if (!e)
		e = l->elems[0].err;
	/* not paused: the stash grows meanwhile, nothing is lost; not resumed (librdkafka's only error: the
	 * partition is unknown to it): p stays marked, and sink_forget_parts tries again at the revoke */
	if (e)
		log_warn(s->ctx, "%s [%" PRId32 "]: %s fetching: %s", p->topic, p->partition, fetch ? "resuming" : "pausing",
		         rd_kafka_err2str(e));
	else
		p->paused = !fetch;
	rd_kafka_topic_partition_list_destroy(l);
}

/* The barrier (topic, lsn, seq) is done: every partition of this process waiting at it goes on with the
 * messages it held back. */
static int sink_barrier_release(struct sink *s, const char *topic, int64_t lsn, int64_t seq, struct cerr *err)
{
	for (size_t i = 0; i < s->nparts; i++) {
		struct sink_part *q = &s->parts[i];
		rd_kafka_message_t **stash = q->stash;
		size_t n = q->nstash;

		if (!q->at_barrier || q->b_lsn != lsn || q->b_seq != seq || strcmp(q->topic, topic) != 0)
			continue;
		q->at_barrier = false;
		q->stash = NULL;
		q->nstash = q->capstash = 0;
		sink_part_fetch(s, q, true);
		log_info(s->ctx, "%s [%" PRId32 "] goes on after the truncate (%zu messages were held back)", q->topic,
		         q->partition, n);
		for (size_t k = 0; k < n; k++)
			if (sink_take(s, stash[k], err) < 0) {
				for (size_t r = k + 1; r < n; r++)
					rd_kafka_message_destroy(stash[r]);
				free(stash);
				return -1;
			}
		free(stash);
	}
	return 0;
}

/* A truncate on partition p (capture sends it to every partition of the topic): p's arrival is stored with
 * p's position (target.h, truncate barriers); the arrival that completes the topic empties the table in
 * the same transaction. Until the barrier is done (here, or by another process of the sink: see
 * sink_barrier_poll), p's later messages wait in its stash. */
static int sink_barrier(struct sink *s, struct sink_part *p, rd_kafka_message_t *m, struct mapping *mp,
                        int64_t lsn, int64_t seq, struct cerr *err)
{
	struct target_barrier b = {.sink = s->scfg->name, .topic = p->topic, .commit_lsn = lsn, .seq = seq};
	int nparts, arrived = 0;
	bool done = false;
	struct sink_job bj;

	p->at_barrier = true;
	p->b_lsn = lsn;
	p->b_seq = seq;
	p->b_offset = m->offset;
	rd_kafka_message_destroy(m);
	if ((nparts = sink_topic_partitions(s, p->topic, err)) < 0)
		return -1;
	/* everything taken before it first, then the arrival with p's position (and maybe the truncate) */
	if (sink_flush(s, err) < 0)
		return -1;
	bj = (struct sink_job){.nlanes = 1};
	p->p_offset = p->b_offset;
	p->p_lsn = lsn;
	p->p_seq = seq;
	for (;;) {
		if (sink_job_snapshot(s, &bj, err) < 0) {
			sink_job_free(&bj);
			return -1;
		}
		/* done already: a retry after a COMMIT whose outcome was lost must not empty the table again */
		if (target_begin(s->target, err) == 0 && target_barrier_arrive(s->target, &b, p->partition, &arrived, err) == 0 &&
		    target_barrier_is_done(s->target, &b, &done, err) == 0 &&
		    (done || arrived < nparts ||
		     (target_truncate(s->target, &mp->table, err) == 0 && target_barrier_done(s->target, &b, err) == 0)) &&
		    sink_store_positions(s, s->target, &bj, err) == 0 && target_commit(s->target, err) == 0)
			break;
		target_rollback(s->target);
		if (!err->retriable || sink_connect(s, err) < 0) {
			sink_job_free(&bj);
			return -1;
		}
	}
	sink_job_committed(s, &bj);
	sink_job_free(&bj);
	if (!done && arrived < nparts) {
		log_info(s->ctx, "%s [%" PRId32 "] reached a truncate of table %s (%d of %d partitions there)", p->topic,
		         p->partition, mp->table.name, arrived, nparts);
		sink_part_fetch(s, p, false);
		return 0;
	}
	if (!done)
		log_info(s->ctx, "table %s truncated (all %d partitions of %s reached it)", mp->table.name, nparts,
		         p->topic);
	return sink_barrier_release(s, p->topic, lsn, seq, err);
}

/* Partitions waiting at a truncate that another process of the sink completes: asks the target now and
 * then whether it is done, and releases them. */
static int sink_barrier_poll(struct sink *s, int64_t now, struct cerr *err)
{
	if (now < s->barrier_poll_ms)
		return 0;
	s->barrier_poll_ms = now + SINK_BARRIER_POLL_MS;
	for (size_t i = 0; i < s->nparts; i++) {
		struct sink_part *q = &s->parts[i];
		struct target_barrier b = {.sink = s->scfg->name, .topic = q->topic, .commit_lsn = q->b_lsn, .seq = q->b_seq};
		bool done = false;

		if (!q->at_barrier)
			continue;
		/* the target is the batch in flight's until it is done */
		if (sink_job_wait(s, err) < 0)
			return -1;
		while (target_barrier_is_done(s->target, &b, &done, err) < 0)
			if (!err->retriable || sink_connect(s, err) < 0)
				return -1;
		if (done) {
			log_info(s->ctx, "the truncate %s [%" PRId32 "] waited for is done", q->topic, q->partition);
			if (sink_barrier_release(s, b.topic, b.commit_lsn, b.seq, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* Holds h, an event of partition sink.parts[part], in its lane's batch. */
static int sink_hold(struct sink *s, size_t part, struct sink_held h, struct cerr *err)
{
	struct sink_lane *l = &s->lanes[part % (size_t)s->nlanes];
	struct sink_job *j = &l->cur;

	if (j->nheld == j->capheld) {
		size_t nc = j->capheld ? j->capheld * 2 : 1024;
		struct sink_held *nh = realloc(j->held, nc * sizeof *nh);

		if (!nh)
			return cerr_set(err, false, "out of memory");
		j->held = nh;
		j->capheld = nc;
	}
	j->held[j->nheld++] = h;
	if (!l->batch_started_ms)
		l->batch_started_ms = clock_mono_ms();
	return 0;
}

/* Takes one message (ownership included). */
static int sink_take(struct sink *s, rd_kafka_message_t *m, struct cerr *err)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct sink_part *p = sink_part_find(s, topic, m->partition);
	struct sink_map *sm = sink_map_find(s, topic);
	struct cerr derr = {0};
	uint64_t vid, kid = 0;
	struct schema_row_plan rows;
	struct schema_head head;
	const char *why;
	struct mapping *mp;
	int64_t lsn, seq;
	char op;

	if (!p || !sm || m->offset <= p->p_offset) {
		rd_kafka_message_destroy(m); /* not ours any more, or already taken */
		return 0;
	}
	if (p->at_barrier) {
		/* the barrier was found pending at assignment: paused at its first message */
		sink_part_fetch(s, p, false);
		if (p->nstash == p->capstash) {
			size_t nc = p->capstash ? p->capstash * 2 : 64;
			rd_kafka_message_t **ns = realloc(p->stash, nc * sizeof *ns);

			if (!ns) {
				rd_kafka_message_destroy(m);
				return cerr_set(err, false, "out of memory");
			}
			p->stash = ns;
			p->capstash = nc;
		}
		p->stash[p->nstash++] = m;
		return 0;
	}
	if (!m->payload) { /* a tombstone: its delete event came just before */
		p->p_offset = m->offset;
		rd_kafka_message_destroy(m);
		return 0;
	}
	if (avro_get_soe_header(m->payload, m->len, &vid) < 0 || !m->key ||
	    avro_get_soe_header(m->key, m->key_len, &kid) < 0)
		kid = vid = 0;
	/* the head only: the row is decoded when the batch is applied */
	if (schema_topic_decode_head(s->schemas, m->payload, m->len, &head, &rows, &derr) < 0)
		goto reject;
	lsn = head.commit_lsn;
	seq = head.seq;
	/* a snapshot read ('r') is an insert for the target: COPY where the target is empty, and an upsert
	 * (batch.h, target.h) where the row is there already */
	op = head.oplen != 1 ? 0 : memchr("cudt", head.op[0], 4) ? head.op[0] : head.op[0] == 'r' ? 'c' : 0;
	if (!op) {
		cerr_set(&derr, false, "unknown op \"%.*s\"", (int)(head.oplen > 16 ? 16 : head.oplen), head.op);
		goto reject;
	}
	if (p->p_lsn >= 0 && sink_pos_le(lsn, seq, p->p_lsn, p->p_seq)) {
		/* sent again by a capture that restarted: applied already */
		p->p_offset = m->offset;
		rd_kafka_message_destroy(m);
		return 0;
	}
	if (op == 't') {
		/* the mapping of the newest schema seen for the topic (a truncate has no key) */
		mp = sm->nresolved ? sm->resolved[sm->nresolved - 1] : NULL;
		if (!mp) {
			p->p_offset = m->offset; /* nothing was ever written for this table here */
			p->p_lsn = lsn;
			p->p_seq = seq;
			rd_kafka_message_destroy(m);
			return 0;
		}
		return sink_barrier(s, p, m, mp, lsn, seq, err);
	}
	if (!kid) {
		cerr_set(&derr, false, "event without a key");
		goto reject;
	}
	mp = NULL;
	for (size_t i = 0; i < sm->nresolved && !mp; i++)
		if (sm->resolved[i]->value_id == vid)
			mp = sm->resolved[i];
	if (!mp && (why = sink_refusal(sm, vid))) {
		cerr_set(&derr, false, "%s", why);
		goto reject;
	}
	if (!mp) {
		bool refused = false;

		/* a new writer schema: DDL may commit on its own (MySQL), so the batch goes first */
		if (sink_flush(s, err) < 0 || !(mp = sink_resolve(s, sm, vid, &refused, err))) {
			/* a schema change the mapping cannot follow: its events go to the dead-letter topic
			 * (on_error: dlq), or the sink stops with the reason (on_error: stop) */
			if (err->set && refused && s->scfg->on_error == CFG_ON_ERROR_DLQ) {
				derr = *err;
				cerr_clear(err);
				if (sink_refuse(s, sm, vid, derr.msg, err) == 0)
					goto reject;
			}
			rd_kafka_message_destroy(m);
			return -1;
		}
	}
	p->p_offset = m->offset;
	p->p_lsn = lsn;
	p->p_seq = seq;
	return sink_hold(s, (size_t)(p - s->parts),
	                 (struct sink_held){.msg = m, .m = mp, .op = op, .rows = rows}, err);
reject:
	/* the dead-letter producer is the batch in flight's until it is done */
	if (sink_job_wait(s, err) < 0 || sink_reject(s, m, derr.msg, err) < 0) {
		rd_kafka_message_destroy(m);
		return -1;
	}
	p->p_offset = m->offset;
	rd_kafka_message_destroy(m);
	return 0;
}

/* librdkafka 2.0 stops fetching while its prefetch queue is full and looks again only when its broker
 * thread wakes up, up to a second after the queue drained (fetch.queue.backoff.ms, which makes that
 * shorter, came with 2.1): a sink slower than the fetches (which is always, in a backlog) starved for
 * about half of the time. A seek of a partition wakes the thread of its broker at once, which then fetches
 * for all its partitions. So every SINK_WAKE_EVERY_MS, when fewer than SINK_WAKE_BELOW messages are left
 * and the queue did not grow since the last look (a stalled fetcher), the next partition that lags (by
 * the watermark its last fetch brought) is sought, without waiting, to the message after the last one the
 * sink took: what was prefetched for it is fetched again, and anything delivered twice is skipped as taken
 * already.
 * The partitions are taken in turn, so that every broker of a cluster is woken. */
static void sink_wake_fetcher(struct sink *s, int64_t now)
{
	size_t queued, before;

	if (!s->nparts || now - s->wake_look_ms < SINK_WAKE_EVERY_MS)
		return;
	s->wake_look_ms = now;
	queued = rd_kafka_queue_length(s->queue);
	before = s->wake_queued;
	s->wake_queued = queued;
	if (queued >= SINK_WAKE_BELOW || queued > before)
		return;
	for (size_t k = 0; k < s->nparts; k++) {
		const struct sink_part *p = &s->parts[(s->wake_next + k) % s->nparts];
		int64_t lo, hi;

		if (p->p_offset >= 0 && !p->at_barrier &&
		    rd_kafka_get_watermark_offsets(s->consumer, p->topic, p->partition, &lo, &hi) == 0 &&
		    hi > p->p_offset + 1) {
			rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->p_offset + 1;
			rd_kafka_error_destroy(rd_kafka_seek_partitions(s->consumer, l, 0)); /* async: no error */
			rd_kafka_topic_partition_list_destroy(l);
			s->wake_next += k + 1;
			s->wakes++;
			return;
		}
	}
}

/* ---- rebalancing ---- */

static void sink_forget_parts(struct sink *s)
{
	for (size_t i = 0; i < s->nparts; i++) {
		sink_part_fetch(s, &s->parts[i], true); /* the pause would outlive the assignment */
		for (size_t k = 0; k < s->parts[i].nstash; k++)
			rd_kafka_message_destroy(s->parts[i].stash[k]);
		free(s->parts[i].stash);
		free(s->parts[i].topic);
	}
	free(s->parts);
	s->parts = NULL;
	s->nparts = 0;
}

static int sink_assign(struct sink *s, rd_kafka_topic_partition_list_t *l, struct cerr *err)
{
	struct target_position *pos = NULL;
	size_t npos = 0;

	/* the job in flight reads the parts: done with them first */
	if (sink_job_wait(s, err) < 0)
		return -1;
	sink_lanes_drop_held(s);
	while (target_load_positions(s->target, s->scfg->name, &pos, &npos, err) < 0) {
		if (!err->retriable || sink_connect(s, err) < 0)
			return -1;
	}
	sink_forget_parts(s);
	s->parts = calloc((size_t)l->cnt + 1, sizeof *s->parts);
	if (!s->parts) {
		target_positions_free(pos, npos);
		return cerr_set(err, false, "out of memory");
	}
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &l->elems[i];
		struct sink_part *p = &s->parts[s->nparts++];

		*p = (struct sink_part){.topic = strdup(tp->topic), .partition = tp->partition, .offset = -1, .lsn = -1,
		                        .seq = -1};
		for (size_t k = 0; k < npos; k++)
			if (pos[k].partition == tp->partition && strcmp(pos[k].topic, tp->topic) == 0) {
				p->offset = pos[k].offset;
				p->lsn = pos[k].commit_lsn;
				p->seq = pos[k].seq;
			}
		p->p_offset = p->offset;
		p->p_lsn = p->lsn;
		p->p_seq = p->seq;
		if (!p->topic) {
			target_positions_free(pos, npos);
			return cerr_set(err, false, "out of memory");
		}
		/* a truncate this partition reached (in this process or another) and that is not done yet: what
		 * follows it waits, as in sink_barrier */
		{
			struct target_barrier b = {.sink = s->scfg->name, .topic = p->topic};
			bool found = false;

			while (target_barrier_pending(s->target, &b, p->partition, &found, err) < 0)
				if (!err->retriable || sink_connect(s, err) < 0) {
					target_positions_free(pos, npos);
					return -1;
				}
			if (found) {
				p->at_barrier = true;
				p->b_lsn = b.commit_lsn;
				p->b_seq = b.seq;
				p->b_offset = p->offset;
			}
		}
		/* the target is the truth: resume right after what it holds */
		tp->offset = p->offset >= 0 ? p->offset + 1 : RD_KAFKA_OFFSET_BEGINNING;
	}
	target_positions_free(pos, npos);
	log_info(s->ctx, "assigned %d partitions", l->cnt);
	return 0;
}

static void sink_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct sink *s = opaque;
	struct cerr err = {0};

	if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (!s->fatal && sink_assign(s, l, &err) < 0) {
			s->fatal = true;
			s->fatal_err = err;
		}
		rd_kafka_assign(rk, s->fatal ? NULL : l);
		return;
	}
	/* revoked: finish what was taken from these partitions while they are still ours */
	if (!s->fatal && sink_flush(s, &err) < 0) {
		s->fatal = true;
		s->fatal_err = err;
	}
	if (sink_job_wait(s, &err) < 0 && !s->fatal) {
		s->fatal = true;
		s->fatal_err = err;
	}
	sink_lanes_drop_held(s);
	sink_forget_parts(s);
	rd_kafka_assign(rk, NULL);
}

/* ---- setup ---- */

static int sink_consumer(struct sink *s, struct cerr *err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *topics;
	char errstr[512], group[300];
	rd_kafka_resp_err_t e;

	snprintf(group, sizeof group, "cleave.%s", s->scfg->name);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", s->cfg->kafka.brokers, errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
	    /* an offset that Kafka no longer holds is an error, never a silent jump over lost events (the
	     * sink asks for the beginning itself where it has no position) */
	    rd_kafka_conf_set(conf, "auto.offset.reset", "error", errstr, sizeof errstr) ||
	    /* latency: a batch waits batch_ms at most, a fetch should not wait longer (overridable) */
	    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "50", errstr, sizeof errstr) ||
	    /* memory: librdkafka queues up to 64 MB of prefetched messages by default; 8 MB, about ten
	     * batches of 5,000 events, keeps the worker fed while two batches are in memory decoded
	     * (overridable) */
	    rd_kafka_conf_set(conf, "queued.max.messages.kbytes", "8192", errstr, sizeof errstr)) {
		rd_kafka_conf_destroy(conf);
		return cerr_set(err, false, "kafka consumer: %s", errstr);
	}
	for (size_t i = 0; i < s->cfg->kafka.nproperties; i++) {
		const struct cfg_kv *kv = &s->cfg->kafka.properties[i];

		/* connection, security and consumer settings apply; producer-only ones are ignored */
		if (rd_kafka_conf_set(conf, kv->key, kv->value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
			log_debug("kafka", "kafka.properties.%s not used by the consumer: %s", kv->key, errstr);
	}
	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_rebalance_cb(conf, sink_rebalance);
	if (!(s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr))) {
		rd_kafka_conf_destroy(conf);
		return cerr_set(err, false, "kafka consumer: %s", errstr);
	}
	rd_kafka_poll_set_consumer(s->consumer);
	s->queue = rd_kafka_queue_get_consumer(s->consumer);
	topics = rd_kafka_topic_partition_list_new((int)s->nmaps);
	for (size_t i = 0; i < s->nmaps; i++)
		rd_kafka_topic_partition_list_add(topics, s->maps[i].topic, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(s->consumer, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (e)
		return cerr_set(err, true, "subscribing: %s", rd_kafka_err2str(e));
	return 0;
}

/* Before anything is consumed: every mapping whose source already has a schema must fit its target. */
static int sink_prepare(struct sink *s, struct cerr *err)
{
	for (size_t i = 0; i < s->nmaps; i++) {
		struct sink_map *sm = &s->maps[i];
		uint64_t vid = 0;
		bool refused = false;

		if (!schema_topic_latest_envelope(s->schemas, sm->cfg->source.schema, sm->cfg->source.name, &vid, err)) {
			if (err->set)
				return -1;
			log_info(s->ctx, "%s has no events yet: its table is prepared at the first one", sm->topic);
			continue;
		}
		if (!sink_resolve(s, sm, vid, &refused, err)) {
			if (refused && s->scfg->on_error == CFG_ON_ERROR_DLQ) {
				if (sink_refuse(s, sm, vid, err->msg, err) < 0)
					return -1;
				cerr_clear(err);
				continue;
			}
			return cerr_wrap(err, "sink %s", s->scfg->name);
		}
	}
	return 0;
}

int sink_run(const struct cleave_config *cfg, const struct cfg_sink *scfg, int (*stop_requested)(void),
             struct cerr *err)
{
	struct sink s;
	int rc = -1;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.scfg = scfg;
	s.stop_requested = stop_requested;
	snprintf(s.ctx, sizeof s.ctx, "sink=%s", scfg->name);
	sink_metrics_register(scfg->name);
	s.maps = calloc(scfg->nmappings ? scfg->nmappings : 1, sizeof *s.maps);
	s.schemas = schema_topic_new(cfg);
	pthread_mutex_init(&s.dlq_mu, NULL);
	pthread_mutex_init(&s.applied_mu, NULL);
	s.nlanes = scfg->apply_connections < 1 ? 1 :
	           scfg->apply_connections > CFG_SINK_LANES_MAX ? CFG_SINK_LANES_MAX : scfg->apply_connections;
	for (int i = 0; i < s.nlanes; i++) {
		struct sink_lane *l = &s.lanes[i];

		*l = (struct sink_lane){.sink = &s, .index = i, .batch = batch_new()};
		l->cur.lane = l->fly.lane = i;
		l->cur.nlanes = l->fly.nlanes = s.nlanes;
		if (!l->batch) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		if (!(l->target = target_new(scfg, err)))
			goto cleanup;
	}
	s.target = s.lanes[0].target;
	if (!s.maps || !s.schemas || asprintf(&s.dlq_topic, "%s.dlq.%s", cfg->kafka.topic_prefix, scfg->name) < 0) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < scfg->nmappings; i++) {
		s.maps[i].cfg = &scfg->mappings[i];
		if (asprintf(&s.maps[i].topic, "%s.%s.%s", cfg->kafka.topic_prefix, scfg->mappings[i].source.schema,
		             scfg->mappings[i].source.name) < 0) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		s.nmaps++;
	}
	for (int i = 0; i < s.nlanes; i++)
		if (sink_connect_to(&s, s.lanes[i].target, err) < 0)
			goto cleanup;
	if (sink_prepare(&s, err) < 0 || sink_consumer(&s, err) < 0)
		goto cleanup;
	log_info(s.ctx, "consuming %zu topics in group cleave.%s", s.nmaps, scfg->name);
	while (!stop_requested() && !s.fatal) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(s.consumer, 100);
		bool busy[CFG_SINK_LANES_MAX];
		int64_t now;

		if (m && m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
			cerr_set(err, false,
			         "%s [%" PRId32 "]: the events after offset %" PRId64 " are no longer in Kafka (retention"
			         " passed them before this sink applied them); the target misses changes: copy the table"
			         " again from the source, and raise the topic's retention",
			         m->rkt ? rd_kafka_topic_name(m->rkt) : "?", m->partition, m->offset);
			rd_kafka_message_destroy(m);
			goto cleanup;
		} else if (m && m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_warn(s.ctx, "kafka: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
		} else if (m && sink_take(&s, m, err) < 0) {
			/* a stop during an outage: nothing of the batch was stored, it is consumed again later */
			if (!stop_requested() || !err->retriable)
				goto cleanup;
			break;
		}
		/* one clock reading per message (three were 7% of a sink's CPU time in bench/sink) */
		now = clock_mono_ms();
		sink_wake_fetcher(&s, now);
		if (sink_barrier_poll(&s, now, err) < 0) {
			if (!stop_requested() || !err->retriable)
				goto cleanup;
			break;
		}
		for (int i = 0; i < s.nlanes; i++)
			busy[i] = s.lanes[i].fly.pending && !atomic_load(&s.lanes[i].fly.finished);
		/* the lanes whose worker is free first: one that has to wait for its worker must not hold up a
		 * free one */
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < s.nlanes; i++)
				if (busy[i] == (pass == 1) && sink_lane_due(&s, &s.lanes[i], !m, now, err) < 0) {
					if (!stop_requested() || !err->retriable)
						goto cleanup;
					goto stopped;
				}
	}
stopped:
	if (s.fatal) {
		*err = s.fatal_err;
		goto cleanup;
	}
	if (!s.nparts || sink_flush(&s, err) == 0 || err->retriable)
		rc = 0; /* what could not be stored is consumed again at the next start */
	if (rc == 0)
		log_info(s.ctx, "stopped; woke a stalled fetcher %" PRIu64 " times", s.wakes);
cleanup:
	{
		struct cerr ignored = {0};

		(void)sink_job_wait(&s, &ignored); /* its outcome is reported already, or lost with the stop */
	}
	if (s.queue) {
		rd_kafka_queue_destroy(s.queue);
		s.queue = NULL;
	}
	if (s.consumer) {
		rd_kafka_consumer_close(s.consumer);
		rd_kafka_destroy(s.consumer);
		s.consumer = NULL; /* sink_forget_parts below must not resume partitions of it */
	}
	if (s.dlq)
		rd_kafka_destroy(s.dlq);
	for (int i = 0; i < s.nlanes; i++) {
		sink_job_free(&s.lanes[i].cur);
		sink_job_free(&s.lanes[i].fly);
		batch_free(s.lanes[i].batch);
		target_free(s.lanes[i].target);
	}
	pthread_mutex_destroy(&s.dlq_mu);
	pthread_mutex_destroy(&s.applied_mu);
	sink_forget_parts(&s);
	for (size_t i = 0; i < s.nmaps; i++) {
		for (size_t k = 0; k < s.maps[i].nresolved; k++)
			mapping_free(s.maps[i].resolved[k]);
		free(s.maps[i].resolved);
		for (size_t k = 0; k < s.maps[i].nrefused; k++)
			free(s.maps[i].refused[k].why);
		free(s.maps[i].refused);
		free(s.maps[i].topic);
	}
	free(s.maps);
	schema_topic_free(s.schemas);
	free(s.dlq_topic);
	return rc;
}
