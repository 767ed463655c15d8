/* capture.c: see capture.h. One thread: read a replication message, decode it, encode and queue its
 * Kafka messages, serve delivery reports, and now and then tell PostgreSQL what may be confirmed. */
#include "capture/capture.h"
#include "capture/capture_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/pgoutput.h"
#include "capture/producer.h"
#include "capture/progress.h"
#include "capture/relcache.h"
#include "capture/source.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "schema/envelope.h"

#define CAPTURE_BACKOFF_MIN_MS 500
#define CAPTURE_BACKOFF_MAX_MS 30000
#define CAPTURE_FLUSH_TIMEOUT_MS 30000
/* The longest a stop waits for the server to say where its WAL ends (capture_sync_end). */
#define CAPTURE_SYNC_MS 500
#define CAPTURE_REPORT_MS 30000
#define CAPTURE_PERMANENT_TRIES 3

/* Log context: slot, current LSN and, when given, the table. */
const char *capture_ctx(struct capture *c, const struct table_schema *ts)
{
	if (ts)
		snprintf(c->ctx, sizeof c->ctx, "slot=%s lsn=" LSN_FMT " table=%s.%s", c->cfg->source.slot,
		         LSN_ARGS(c->msg_lsn), ts->nspname, ts->relname);
	else
		snprintf(c->ctx, sizeof c->ctx, "slot=%s lsn=" LSN_FMT, c->cfg->source.slot, LSN_ARGS(c->msg_lsn));
	return c->ctx;
}

static bool capture_table_configured(const struct cleave_config *cfg, const char *nsp, const char *rel)
{
	for (size_t i = 0; i < cfg->source.ntables; i++)
		if (strcmp(cfg->source.tables[i].schema, nsp) == 0 && strcmp(cfg->source.tables[i].name, rel) == 0)
			return true;
	return false;
}

/* What capture exports at /metrics (common/metrics.h), updated with every status update. */
static struct {
	struct metric *events, *confirmed, *received, *pending, *outstanding, *retries;
} capture_metrics;

static void capture_metrics_register(void)
{
	capture_metrics.events = metric_register(METRIC_COUNTER, "cleave_capture_events_total",
	                                         "row events and truncates handed to Kafka", NULL);
	capture_metrics.confirmed = metric_register(METRIC_GAUGE, "cleave_capture_confirmed_lsn",
	                                            "source position confirmed to PostgreSQL (all before it is in Kafka)",
	                                            NULL);
	capture_metrics.received = metric_register(METRIC_GAUGE, "cleave_capture_received_lsn",
	                                           "source position received from PostgreSQL", NULL);
	capture_metrics.pending = metric_register(METRIC_GAUGE, "cleave_capture_transactions_pending",
	                                          "transactions sent and not yet acknowledged by Kafka", NULL);
	capture_metrics.outstanding = metric_register(METRIC_GAUGE, "cleave_capture_kafka_outstanding_messages",
	                                              "messages waiting for Kafka's acknowledgement", NULL);
	capture_metrics.retries = metric_register(METRIC_COUNTER, "cleave_capture_retries_total",
	                                          "restarts of the stream after a server went away", NULL);
}

/* Sends the status update when it is due (or `force`). Keeps the replication connection alive while
 * capture waits for Kafka, and moves confirmed_flush_lsn. */
int capture_status(struct capture *c, bool force, struct cerr *err)
{
	int64_t now = clock_mono_ms();
	lsn_t confirmed;

	if (!force && now < c->next_status_ms)
		return 0;
	confirmed = progress_confirmable(c->progress);
	if (source_send_status(c->source, c->received, confirmed, false, err) < 0)
		return -1;
	if (confirmed != c->sent_confirmed)
		log_debug(capture_ctx(c, NULL), "confirmed " LSN_FMT, LSN_ARGS(confirmed));
	c->sent_confirmed = confirmed;
	c->next_status_ms = now + c->cfg->source.status_interval_ms;
	metric_set(capture_metrics.events, (int64_t)c->events);
	metric_set(capture_metrics.confirmed, (int64_t)confirmed);
	metric_set(capture_metrics.received, (int64_t)c->received);
	metric_set(capture_metrics.pending, (int64_t)progress_pending(c->progress));
	metric_set(capture_metrics.outstanding, (int64_t)progress_outstanding(c->progress));
	if (now >= c->next_report_ms) {
		log_info(capture_ctx(c, NULL), "confirmed " LSN_FMT ", received " LSN_FMT ", %" PRIu64
		         " events, %zu transactions and %" PRIu64 " messages waiting for Kafka",
		         LSN_ARGS(confirmed), LSN_ARGS(c->received), c->events, progress_pending(c->progress),
		         progress_outstanding(c->progress));
		c->next_report_ms = now + CAPTURE_REPORT_MS;
	}
	return 0;
}

/* Queues one message of progress transaction txn, waiting (and keeping PostgreSQL's connection alive)
 * while librdkafka's queue is full. Returns 0, 1 when a stop was requested while waiting, -1 with err. */
int capture_send_txn(struct capture *c, uint64_t txn, const char *topic, int32_t partition, const struct buf *key,
                     const struct buf *value, struct cerr *err)
{
	for (;;) {
		int rc = producer_send(c->producer, topic, partition, key ? key->data : NULL, key ? key->len : 0,
		                       value ? value->data : NULL, value ? value->len : 0, txn, err);
		if (rc <= 0)
			return rc;
		/* queue full: Kafka is slow or down. Stop reading and wait for acknowledgements. */
		if (progress_outstanding(c->progress) == 0)
			return cerr_set(err, false,
			                "a message of %zu bytes for %s does not fit in the producer's empty queue; raise"
			                " queue.buffering.max.kbytes in kafka.properties",
			                (key ? key->len : 0) + (value ? value->len : 0), topic);
		producer_poll(c->producer, 100);
		if (producer_failed(c->producer, &c->permanent_failure, err))
			return -1;
		if (c->stop_requested())
			return 1;
		/* no status while the initial snapshot runs: no stream yet */
		if (c->streaming && capture_status(c, false, err) < 0)
			return -1;
	}
}

/* capture_send_txn for the current transaction. */
static int capture_send(struct capture *c, const char *topic, int32_t partition, const struct buf *key,
                        const struct buf *value, struct cerr *err)
{
	return capture_send_txn(c, c->txn.id, topic, partition, key, value, err);
}

/* Publishes the entry's schemas to <prefix>._schemas before its first message in this producer session. */
int capture_publish_schemas(struct capture *c, struct relcache_entry *e, struct cerr *err)
{
	const struct table_schema *ts = e->schema;
	const struct {
		uint64_t id;
		const char *json;
	} schemas[2] = {{ts->value_id, ts->value_json}, {ts->key_id, ts->key_json}};
	int rc;

	if (e->published)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (!schemas[i].json)
			continue;
		buf_reset(&c->key);
		buf_reset(&c->value);
		if (buf_printf(&c->key, "%016" PRIx64, schemas[i].id) < 0 || buf_puts(&c->value, schemas[i].json) < 0)
			return cerr_set(err, false, "out of memory");
		/* one partition, so the schema topic keeps the order schemas were published in */
		rc = capture_send(c, c->schemas_topic, 0, &c->key, &c->value, err);
		if (rc != 0)
			return rc;
	}
	e->published = true;
	return 0;
}

void capture_source_info(struct capture *c, struct envelope_source *src)
{
	memset(src, 0, sizeof *src);
	src->name = c->cfg->kafka.topic_prefix;
	src->db = source_dbname(c->source);
	src->txid = c->txn.xid;
	src->lsn = c->msg_lsn;
	src->commit_lsn = c->txn.commit_lsn;
	src->seq = c->txn.seq;
	src->ts_ms = c->txn.commit_ts_ms;
	src->snapshot = "false";
}

/* The event's ts_ms: when capture processed it, read from the coarse clock, which can lag the commit time
 * the source reports by up to a tick; never before that commit. */
static int64_t capture_event_ms(const struct capture *c)
{
	int64_t now = clock_unix_ms();

	return now > c->txn.commit_ts_ms ? now : c->txn.commit_ts_ms;
}

/* One row event: key from keytup (NULL: no key), envelope of op, then a tombstone when `tombstone`. */
static int capture_row_event(struct capture *c, struct relcache_entry *e, char op, const struct pgo_tuple *keytup,
                             const struct pgo_tuple *before, const struct pgo_tuple *after, bool tombstone,
                             struct cerr *err)
{
	struct envelope_source src;
	int rc;

	if ((rc = capture_publish_schemas(c, e, err)) != 0)
		return rc;
	capture_source_info(c, &src);
	buf_reset(&c->key);
	buf_reset(&c->value);
	if (envelope_encode_key(e->schema, keytup, &c->key, err) < 0 ||
	    envelope_encode(e->schema, op, before, after, &src, capture_event_ms(c), &c->value, err) < 0)
		return cerr_wrap(err, "%s: cannot encode the change (transaction %u); nothing past " LSN_FMT
		                 " is confirmed. Fix the data or report a bug",
		                 capture_ctx(c, e->schema), c->txn.xid, LSN_ARGS(c->sent_confirmed));
	if (capture_snap_changed(c, e->relid, &c->key, err) < 0)
		return -1;
	rc = capture_send(c, e->topic, PRODUCER_PARTITION_ANY, &c->key, &c->value, err);
	if (rc == 0 && tombstone)
		rc = capture_send(c, e->topic, PRODUCER_PARTITION_ANY, &c->key, NULL, err);
	if (rc < 0)
		return cerr_wrap(err, "%s", capture_ctx(c, e->schema));
	if (rc > 0)
		return rc;
	c->txn.seq++;
	c->events++;
	return 0;
}

/* pgoutput's 'K' old tuple holds every column, those outside the replica identity as NULL: they were not
 * sent, so they are written as Unchanged, never as a NULL the row did not hold. An update's new tuple may
 * carry an unchanged TOASTed key column: its value is taken from the old tuple when there is one.
 * Returns a tuple in c->scratch[slot] (valid until the next call with that slot), or `base` itself when
 * nothing changes; NULL when out of memory. */
static const struct pgo_tuple *capture_identity_tuple(struct capture *c, int slot, const struct table_schema *ts,
                                                      const struct pgo_tuple *base, bool key_only,
                                                      const struct pgo_tuple *old, struct pgo_tuple *out)
{
	bool rewrite = key_only;

	for (int i = 0; !rewrite && old && i < base->ncols && i < ts->ncols; i++)
		rewrite = ts->cols[i].key && base->vals[i].kind == PGO_VAL_UNCHANGED;
	if (!rewrite)
		return base;
	if (c->scratch_cap[slot] < base->ncols) {
		struct pgo_value *n = realloc(c->scratch[slot], base->ncols * sizeof *n);

		if (!n)
			return NULL;
		c->scratch[slot] = n;
		c->scratch_cap[slot] = base->ncols;
	}
	for (int i = 0; i < base->ncols; i++) {
		struct pgo_value v = base->vals[i];
		bool key = i < ts->ncols && ts->cols[i].key;

		if (key_only && !key)
			v = (struct pgo_value){.kind = PGO_VAL_UNCHANGED};
		else if (key && v.kind == PGO_VAL_UNCHANGED && old && i < old->ncols)
			v = old->vals[i];
		c->scratch[slot][i] = v;
	}
	out->ncols = base->ncols;
	out->vals = c->scratch[slot];
	return out;
}

/* True when a key column differs between the old and the new tuple (an update that moves the row). */
static bool capture_key_changed(const struct table_schema *ts, const struct pgo_tuple *o, const struct pgo_tuple *n)
{
	for (int i = 0; i < ts->ncols && i < o->ncols && i < n->ncols; i++) {
		const struct pgo_value *a = &o->vals[i], *b = &n->vals[i];

		if (!ts->cols[i].key || b->kind == PGO_VAL_UNCHANGED)
			continue;
		if (a->kind != b->kind || a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0))
			return true;
	}
	return false;
}

struct table_schema *capture_build_schema(struct capture *c, const struct pgo_relation *rel, struct cerr *err)
{
	const struct source_pk *pk;
	struct pgo_relation keyed;
	char **mnames = NULL, **mvalues = NULL;
	const char **missing = NULL;
	int nmissing = 0;
	struct cerr merr = {0};
	struct table_schema *ts;

	/* Under REPLICA IDENTITY FULL pgoutput flags every column as identity; the Kafka key (and so the
	 * partition) must stay the primary key, so that an update of another column is not a key change */
	pk = rel->replident == 'f' ? source_primary_key(c->source, rel->nspname, rel->relname) : NULL;
	/* what rows older than an ADD COLUMN ... DEFAULT hold there (sinks give the target column that
	 * default); without it those rows read NULL in the targets until they change */
	if (source_missing_values(c->source, rel->oid, &mnames, &mvalues, &nmissing, &merr) < 0)
		log_warn(capture_ctx(c, NULL), "%s.%s: cannot read the defaults of added columns (%s); target rows"
		         " older than a column added with a DEFAULT get NULL there", rel->nspname, rel->relname, merr.msg);
	if (nmissing > 0 && !(missing = calloc(rel->ncols ? rel->ncols : 1, sizeof *missing))) {
		source_missing_free(mnames, mvalues, nmissing);
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	for (int i = 0; missing && i < rel->ncols; i++)
		for (int k = 0; k < nmissing; k++)
			if (strcmp(mnames[k], rel->cols[i].name) == 0)
				missing[i] = mvalues[k];
	if (pk) {
		struct pgo_column *cols = calloc(rel->ncols ? rel->ncols : 1, sizeof *cols);

		if (!cols) {
			free((void *)missing);
			source_missing_free(mnames, mvalues, nmissing);
			cerr_set(err, false, "out of memory");
			return NULL;
		}
		keyed = *rel;
		keyed.cols = cols;
		for (int i = 0; i < rel->ncols; i++) {
			cols[i] = rel->cols[i];
			cols[i].flags &= (uint8_t)~PGO_COL_KEY;
			for (int k = 0; k < pk->ncols; k++)
				if (strcmp(pk->cols[k], cols[i].name) == 0)
					cols[i].flags |= PGO_COL_KEY;
		}
		rel = &keyed;
	}
	ts = table_schema_new_ex(c->cfg->kafka.topic_prefix, rel, (const char *const *)missing, err);
	if (pk)
		free(keyed.cols);
	free((void *)missing);
	source_missing_free(mnames, mvalues, nmissing);
	if (!ts) {
		cerr_wrap(err, "%s.%s", rel->nspname, rel->relname);
		return NULL;
	}
	if (ts->nkeys == 0) {
		cerr_set(err, false,
		         "%s: the table has no primary key or replica identity any more; add one (or REPLICA"
		         " IDENTITY FULL) and restart capture",
		         capture_ctx(c, ts));
		table_schema_free(ts);
		return NULL;
	}
	return ts;
}

static int capture_relation(struct capture *c, const struct pgo_relation *rel, struct cerr *err)
{
	struct table_schema *ts;
	struct relcache_entry *e;

	if (!capture_table_configured(c->cfg, rel->nspname, rel->relname)) {
		if (relcache_get(c->relcache, rel->oid))
			log_warn(capture_ctx(c, NULL), "table %u is now %s.%s, which is not in source.tables: its changes"
			         " are no longer captured", rel->oid, rel->nspname, rel->relname);
		else
			log_debug(capture_ctx(c, NULL), "ignoring %s.%s: published but not in source.tables",
			          rel->nspname, rel->relname);
		relcache_remove(c->relcache, rel->oid);
		return 0;
	}
	ts = capture_build_schema(c, rel, err);
	if (!ts)
		return -1;
	for (int i = 0; i < ts->ncols; i++)
		if (!ts->cols[i].type.known)
			log_warn(capture_ctx(c, ts), "column %s has a type cleave does not know (oid %u): carried as text",
			         ts->cols[i].name, ts->cols[i].type.pg_oid);
	capture_snap_relation(c, ts);
	e = relcache_put(c->relcache, c->cfg->kafka.topic_prefix, ts);
	if (!e)
		return cerr_set(err, false, "out of memory");
	log_debug(capture_ctx(c, ts), "schema %016" PRIx64 " (%d columns)", ts->value_id, ts->ncols);
	return 0;
}

static int capture_truncate(struct capture *c, const struct pgo_msg *m, struct cerr *err)
{
	struct envelope_source src;
	int rc;

	for (uint32_t i = 0; i < m->u.truncate.nrels; i++) {
		struct relcache_entry *e = relcache_get(c->relcache, m->u.truncate.relids[i]);

		if (!e)
			continue; /* not a configured table */
		capture_snap_truncated(c, e->relid);
		if ((rc = capture_publish_schemas(c, e, err)) != 0)
			return rc;
		/* looked up at every truncate (they are rare): partitions may have been added to the topic */
		if ((e->partitions = producer_partition_count(c->producer, e->topic, err)) < 0)
			return -1;
		capture_source_info(c, &src);
		buf_reset(&c->value);
		if (envelope_encode(e->schema, 't', NULL, NULL, &src, capture_event_ms(c), &c->value, err) < 0)
			return -1;
		/* A truncate is a barrier for every key: it goes to every partition, keyless, so a sink sees it in
		 * order with the rows of each partition. */
		for (int p = 0; p < e->partitions; p++)
			if ((rc = capture_send(c, e->topic, p, NULL, &c->value, err)) != 0)
				return rc;
		c->txn.seq++;
		c->events++;
	}
	return 0;
}

static int capture_change(struct capture *c, const struct pgo_msg *m, struct cerr *err)
{
	struct relcache_entry *e;
	struct pgo_tuple tmp, keytmp;
	const struct pgo_tuple *old, *key;
	int rc;
	uint32_t relid = m->kind == PGO_INSERT ? m->u.insert.relid
	                 : m->kind == PGO_UPDATE ? m->u.update.relid
	                                         : m->u.del.relid;

	if (!c->txn.open)
		return cerr_set(err, false, "%s: change outside a transaction", capture_ctx(c, NULL));
	e = relcache_get(c->relcache, relid);
	if (!e) {
		/* described but not configured: capture_relation skipped it */
		return 0;
	}
	switch (m->kind) {
	case PGO_INSERT:
		return capture_row_event(c, e, 'c', &m->u.insert.newtup, NULL, &m->u.insert.newtup, false, err);
	case PGO_DELETE:
		old = capture_identity_tuple(c, 0, e->schema, &m->u.del.oldtup, m->u.del.oldkind == 'K', NULL, &tmp);
		if (!old)
			return cerr_set(err, false, "out of memory");
		return capture_row_event(c, e, 'd', old, old, NULL, true, err);
	default:
		break;
	}
	if (m->u.update.oldkind) {
		old = capture_identity_tuple(c, 0, e->schema, &m->u.update.oldtup, m->u.update.oldkind == 'K', NULL, &tmp);
		if (!old)
			return cerr_set(err, false, "out of memory");
		if (capture_key_changed(e->schema, old, &m->u.update.newtup)) {
			/* the row moved to another key: a delete of the old key (and its tombstone) then a create */
			rc = capture_row_event(c, e, 'd', old, old, NULL, true, err);
			if (rc != 0)
				return rc;
			return capture_row_event(c, e, 'c', &m->u.update.newtup, NULL, &m->u.update.newtup, false, err);
		}
		key = capture_identity_tuple(c, 1, e->schema, &m->u.update.newtup, false, &m->u.update.oldtup, &keytmp);
		if (!key)
			return cerr_set(err, false, "out of memory");
		return capture_row_event(c, e, 'u', key, old, &m->u.update.newtup, false, err);
	}
	return capture_row_event(c, e, 'u', &m->u.update.newtup, NULL, &m->u.update.newtup, false, err);
}

/* Handles one pgoutput message. Returns 0, 1 when a stop was requested mid-way, -1 with err. */
static int capture_message(struct capture *c, const uint8_t *data, size_t len, struct cerr *err)
{
	struct pgo_msg m;

	if (pgo_decode(c->decoder, data, len, &m, err) < 0)
		return cerr_wrap(err, "%s", capture_ctx(c, NULL));
	switch (m.kind) {
	case PGO_BEGIN:
		if (c->txn.open)
			return cerr_set(err, false, "%s: Begin inside an open transaction (protocol error)",
			                capture_ctx(c, NULL));
		c->txn.id = progress_begin(c->progress);
		if (c->txn.id == 0)
			return cerr_set(err, false, "out of memory");
		c->txn.open = true;
		c->txn.xid = m.u.begin.xid;
		c->txn.commit_lsn = m.u.begin.final_lsn;
		c->txn.commit_ts_ms = (m.u.begin.commit_ts + PG_EPOCH_OFFSET_US) / 1000;
		c->txn.seq = 0;
		return 0;
	case PGO_COMMIT:
		if (!c->txn.open)
			return cerr_set(err, false, "%s: Commit without Begin", capture_ctx(c, NULL));
		progress_commit(c->progress, c->txn.id, m.u.commit.end_lsn);
		c->txn.open = false;
		return 0;
	case PGO_RELATION:
		return capture_relation(c, &m.u.relation, err);
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
		return capture_change(c, &m, err);
	case PGO_TRUNCATE:
		if (!c->txn.open)
			return cerr_set(err, false, "%s: Truncate outside a transaction", capture_ctx(c, NULL));
		return capture_truncate(c, &m, err);
	case PGO_TYPE:
		log_debug(capture_ctx(c, NULL), "type %u is %s.%s", m.u.type.oid, m.u.type.nspname, m.u.type.typname);
		return 0;
	case PGO_MESSAGE:
		log_debug(capture_ctx(c, NULL), "logical decoding message with prefix %s (%u bytes)", m.u.message.prefix,
		          m.u.message.len);
		return capture_snap_message(c, &m, err);
	default: /* Origin */
		return 0;
	}
}

/* A keepalive: between transactions, all WAL before wal_end that concerned us was sent (an idle
 * position). */
static void capture_keepalive(struct capture *c, lsn_t wal_end)
{
	if (wal_end > c->received)
		c->received = wal_end;
	if (!c->txn.open)
		progress_idle_at(c->progress, wal_end);
}

/* Streams until a stop request (returns 0), or an error (-1 with err). */
static int capture_stream(struct capture *c, struct cerr *err)
{
	struct repl_msg rm;
	int rc;

	for (;;) {
		if (c->stop_requested())
			return 0;
		if (producer_failed(c->producer, &c->permanent_failure, err))
			return -1;
		if (!c->txn.open) {
			/* between transactions: the next snapshot chunk, if any (a stop is seen above) */
			rc = capture_snap_tick(c, err);
			if (rc < 0)
				return -1;
			if (rc > 0)
				return 0;
		}
		rc = source_read(c->source, &rm, 100, err);
		if (rc < 0)
			return -1;
		producer_poll(c->producer, 0);
		if (rc == 1) {
			if (rm.kind == 'w') {
				if (rm.wal_end > c->received)
					c->received = rm.wal_end;
				c->msg_lsn = rm.wal_start;
				rc = capture_message(c, rm.payload, rm.payload_len, err);
				if (rc < 0)
					return -1;
				if (rc > 0)
					return 0;
			} else {
				capture_keepalive(c, rm.wal_end);
			}
		}
		if (capture_status(c, rc == 1 && rm.kind == 'k' && rm.reply_requested, err) < 0)
			return -1;
	}
}

/* Sleeps up to ms, waking early on a stop request. */
static void capture_backoff(struct capture *c, int ms)
{
	int64_t until = clock_mono_ms() + ms;

	while (!c->stop_requested() && clock_mono_ms() < until) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* At a stop between transactions, with everything acknowledged: asks the server where it is (a status
 * update that requests a reply) and takes the keepalive that answers, if no data comes first, as an idle
 * position. So the final confirmation also covers WAL written since the last keepalive (other databases,
 * checkpoints), which a stopped capture would otherwise hold until it runs again. Waits up to
 * CAPTURE_SYNC_MS; data that comes first is left for the next start. */
static void capture_sync_end(struct capture *c)
{
	struct cerr err = {0};
	struct repl_msg rm;
	int64_t until = clock_mono_ms() + CAPTURE_SYNC_MS;

	if (source_send_status(c->source, c->received, progress_confirmable(c->progress), true, &err) < 0)
		return;
	while (clock_mono_ms() < until) {
		int rc = source_read(c->source, &rm, 50, &err);

		if (rc < 0 || (rc == 1 && rm.kind != 'k'))
			return;
		if (rc == 1) {
			capture_keepalive(c, rm.wal_end);
			return;
		}
	}
}

/* Flushes Kafka, confirms what it acknowledged and closes the stream. */
static void capture_shutdown(struct capture *c)
{
	struct cerr err = {0};

	int64_t until = clock_mono_ms() + CAPTURE_FLUSH_TIMEOUT_MS;
	bool flushed = !c->producer;

	/* in steps, with a status update between them, so a short wal_sender_timeout does not end the
	 * connection before the final confirmation */
	while (!flushed && clock_mono_ms() < until) {
		flushed = producer_flush(c->producer, c->cfg->source.status_interval_ms) == 0;
		if (c->streaming && capture_status(c, false, &err) < 0)
			break;
	}
	/* the snapshot progress that the flushed events vouch for */
	if (flushed && capture_snap_records(c, &err) == 0)
		flushed = producer_flush(c->producer, c->cfg->source.status_interval_ms) == 0;
	if (!flushed)
		log_warn(capture_ctx(c, NULL), "Kafka did not acknowledge everything within %d s; the rest will be sent"
		         " again at the next start", CAPTURE_FLUSH_TIMEOUT_MS / 1000);
	if (flushed && c->streaming && !c->txn.open)
		capture_sync_end(c);
	if (c->streaming && capture_status(c, true, &err) < 0)
		log_warn(capture_ctx(c, NULL), "could not send the final position: %s", err.msg);
	source_stop(c->source);
	log_info(capture_ctx(c, NULL), "stopped; confirmed " LSN_FMT, LSN_ARGS(c->sent_confirmed));
}

static void capture_free(struct capture *c)
{
	capture_snap_reset(c);
	free(c->snap.topic);
	producer_free(c->producer);
	source_free(c->source);
	progress_free(c->progress);
	relcache_free(c->relcache);
	pgo_decoder_free(c->decoder);
	buf_free(&c->key);
	buf_free(&c->value);
	free(c->schemas_topic);
	free(c->scratch[0]);
	free(c->scratch[1]);
}

int capture_run(const struct cleave_config *cfg, int (*stop_requested)(void), struct cerr *err)
{
	struct capture c;
	int backoff = CAPTURE_BACKOFF_MIN_MS;
	int rc = -1;

	memset(&c, 0, sizeof c);
	c.cfg = cfg;
	c.stop_requested = stop_requested;
	buf_init(&c.key, 0);
	buf_init(&c.value, 0);
	c.source = source_new(cfg);
	c.relcache = relcache_new();
	c.decoder = pgo_decoder_new();
	c.progress = progress_new(0);
	if (!c.source || !c.relcache || !c.decoder || !c.progress ||
	    asprintf(&c.schemas_topic, "%s._schemas", cfg->kafka.topic_prefix) < 0) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	capture_metrics_register();
	if (asprintf(&c.snap.topic, "%s._snapshots", cfg->kafka.topic_prefix) < 0) {
		c.snap.topic = NULL;
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	while (!stop_requested()) {
		lsn_t confirmed = 0;
		int prc;

		cerr_clear(err);
		c.streaming = false;
		capture_snap_reset(&c);
		prc = source_prepare(c.source, &confirmed, err);
		if (prc >= 0) {
			/* a fresh tracker position: the slot is the truth after a (re)start. The old producer goes
			 * first: its delivery reports point at the old tracker. */
			producer_free(c.producer);
			c.producer = NULL;
			progress_free(c.progress);
			c.progress = progress_new(confirmed);
			c.sent_confirmed = confirmed;
			c.txn.open = false;
			if (!c.progress) {
				cerr_set(err, false, "out of memory");
				goto cleanup;
			}
			c.producer = producer_new(cfg, c.progress, err);
			if (!c.producer)
				goto cleanup;
			relcache_mark_unpublished(c.relcache);
			if (capture_snap_prepare(&c, prc == 1, err) < 0)
				goto retry;
			if (prc == 1) {
				/* a new slot: copy the tables under its exported snapshot, then stream from it */
				char snapname[128];
				int src;

				if (source_create_slot_exported(c.source, &confirmed, snapname, sizeof snapname, err) < 0)
					goto retry;
				c.sent_confirmed = confirmed;
				/* the tracker was made before the slot existed: it starts at the consistent point (the
				 * records written before are acknowledged, so nothing is pending) */
				progress_confirmable(c.progress);
				progress_idle_at(c.progress, confirmed);
				src = capture_snap_initial(&c, snapname, confirmed, err);
				source_release_snapshot(c.source);
				if (src > 0) {
					capture_shutdown(&c);
					rc = 0;
					goto cleanup;
				}
				if (src < 0)
					goto retry;
			}
			if (source_start(c.source, err) == 0) {
				c.streaming = true;
				log_info(capture_ctx(&c, NULL), "streaming publication %s from " LSN_FMT " to topics %s.*",
				         cfg->source.publication, LSN_ARGS(confirmed), cfg->kafka.topic_prefix);
				backoff = CAPTURE_BACKOFF_MIN_MS;
				if (capture_stream(&c, err) == 0) {
					capture_shutdown(&c);
					rc = 0;
					goto cleanup;
				}
			}
		}
	retry:
		c.streaming = false;
		if (c.permanent_failure) {
			/* Kafka refused a message for a reason that does not go away by itself: after a few tries
			 * at the same position, a person has to fix it (nothing past it is confirmed) */
			c.permanent_failure = false;
			c.permanent_failures = c.permanent_at == c.sent_confirmed ? c.permanent_failures + 1 : 1;
			c.permanent_at = c.sent_confirmed;
			if (c.permanent_failures >= CAPTURE_PERMANENT_TRIES) {
				cerr_wrap(err, "Kafka refused the same data %d times at " LSN_FMT " (fix the topic or"
				          " kafka.properties; nothing past it was confirmed)",
				          c.permanent_failures, LSN_ARGS(c.sent_confirmed));
				err->retriable = false;
			}
		}
		if (!err->retriable) {
			/* confirm what Kafka acknowledged before stopping, so nothing is sent twice needlessly */
			if (c.producer)
				capture_shutdown(&c);
			goto cleanup;
		}
		/* a server went away: everything not confirmed is sent again from the slot's position */
		log_warn(capture_ctx(&c, NULL), "%s; retrying in %d ms", err->msg, backoff);
		metric_add(capture_metrics.retries, 1);
		source_stop(c.source);
		capture_backoff(&c, backoff);
		backoff = backoff * 2 > CAPTURE_BACKOFF_MAX_MS ? CAPTURE_BACKOFF_MAX_MS : backoff * 2;
	}
	rc = 0;
cleanup:
	capture_free(&c);
	return rc;
}
