/* producer.c: see producer.h. */
#include "capture/producer.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

/* Delivery errors that sending the same message again cannot cure (unlike a broker that was down). */
static bool producer_error_permanent(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: /* auto-creation is off and the topic is missing */
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
	case RD_KAFKA_RESP_ERR__AUTHENTICATION:
	case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
		return true;
	default:
		return false;
	}
}

struct producer {
	rd_kafka_t *rk;
	struct progress *progress;
	int failed;
	bool permanent; /* the failure would repeat if the same message were sent again */
	char failure[512];
	int bug; /* an acknowledgement the tracker did not expect */
};

/* cleave's defaults; kafka.properties in the config override the others, not these: the at-least-once
 * and per-key order guarantees rest on them. */
static const char *const producer_guarantees[][2] = {
	{"enable.idempotence", "true"}, /* retries neither duplicate nor reorder within a partition */
	/* a batch that fails for good must not be followed by later batches of its partition: after the
	 * restart from the confirmed position, the partition would hold a gap that replayed events fill only
	 * after later events, which a sink skipping what is below its position would lose */
	{"enable.gapless.guarantee", "true"},
	{"acks", "all"},
	/* a broker that is down is waited for (capture stops reading meanwhile); an expiring message would
	 * break the gapless order just as a failed one */
	{"message.timeout.ms", "0"},
};

static const char *const producer_defaults[][2] = {
	{"partitioner", "murmur2_random"}, /* the Java client's partitioner (SPEC.md §3) */
	{"linger.ms", "10"},
	{"batch.num.messages", "10000"},
	{"compression.type", "lz4"},
	/* bound what waits in memory: when Kafka is slow capture stops reading instead of growing */
	{"queue.buffering.max.kbytes", "16384"},
	{"queue.buffering.max.messages", "100000"},
	{"message.max.bytes", "16777216"},
};

static void producer_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct producer *p = opaque;
	uint64_t txn = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	if (m->err) {
		/* never acknowledged: its transaction is not confirmed. A later permanent error explains an
		 * earlier generic one (the fatal error comes first under the gapless guarantee). */
		if (!p->failed || (!p->permanent && producer_error_permanent(m->err))) {
			p->failed = 1;
			p->permanent = producer_error_permanent(m->err);
			snprintf(p->failure, sizeof p->failure, "delivery to %s failed: %s",
			         rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		}
		return;
	}
	if (progress_ack(p->progress, txn) < 0 && !p->bug) {
		p->bug = 1;
		snprintf(p->failure, sizeof p->failure, "internal error: unexpected acknowledgement for transaction %llu",
		         (unsigned long long)txn);
	}
}

static void producer_on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
	struct producer *p = opaque;
	char fatal[256];

	if (code == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, fatal, sizeof fatal);

		if (!p->failed) {
			p->failed = 1;
			p->permanent = producer_error_permanent(cause);
			snprintf(p->failure, sizeof p->failure, "fatal Kafka producer error: %s", fatal);
		}
		return;
	}
	/* brokers down, connection refused...: librdkafka retries; say it once per event */
	log_warn("kafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)code), reason);
}

static void producer_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3)
		log_error("kafka", "%s: %s", fac, buf);
	else if (level <= 4)
		log_warn("kafka", "%s: %s", fac, buf);
	else
		log_debug("kafka", "%s: %s", fac, buf);
}

/* The local queue must hold at least two of the largest messages, or a large message waits for room
 * that never comes. */
static int producer_size_queue(rd_kafka_conf_t *conf, struct cerr *err)
{
	char v[64], errstr[256];
	size_t n = sizeof v;
	long long max_msg, queue_kb;

	if (rd_kafka_conf_get(conf, "message.max.bytes", v, &n) != RD_KAFKA_CONF_OK)
		return 0;
	max_msg = atoll(v);
	n = sizeof v;
	if (rd_kafka_conf_get(conf, "queue.buffering.max.kbytes", v, &n) != RD_KAFKA_CONF_OK)
		return 0;
	queue_kb = atoll(v);
	if (queue_kb * 1024 >= 2 * max_msg)
		return 0;
	snprintf(v, sizeof v, "%lld", 2 * max_msg / 1024 + 1);
	if (rd_kafka_conf_set(conf, "queue.buffering.max.kbytes", v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
		return cerr_set(err, false, "kafka: message.max.bytes=%lld needs a larger queue: %s", max_msg, errstr);
	return 0;
}

struct producer *producer_new(const struct cleave_config *cfg, struct progress *progress, struct cerr *err)
{
	struct producer *p = calloc(1, sizeof *p);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];

	if (!p || !conf) {
		cerr_set(err, false, "out of memory");
		goto fail;
	}
	p->progress = progress;
	for (size_t i = 0; i < sizeof producer_defaults / sizeof producer_defaults[0]; i++) {
		if (rd_kafka_conf_set(conf, producer_defaults[i][0], producer_defaults[i][1], errstr, sizeof errstr) !=
		    RD_KAFKA_CONF_OK) {
			cerr_set(err, false, "kafka default %s: %s", producer_defaults[i][0], errstr);
			goto fail;
		}
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, errstr, sizeof errstr) !=
	    RD_KAFKA_CONF_OK) {
		cerr_set(err, false, "kafka.brokers: %s", errstr);
		goto fail;
	}
	for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
		const struct cfg_kv *kv = &cfg->kafka.properties[i];

		if (rd_kafka_conf_set(conf, kv->key, kv->value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
			cerr_set(err, false, "%s: kafka.properties.%s: %s", cfg->path, kv->key, errstr);
			goto fail;
		}
	}
	for (size_t i = 0; i < sizeof producer_guarantees / sizeof producer_guarantees[0]; i++) {
		for (size_t k = 0; k < cfg->kafka.nproperties; k++)
			if (strcmp(cfg->kafka.properties[k].key, producer_guarantees[i][0]) == 0 &&
			    strcmp(cfg->kafka.properties[k].value, producer_guarantees[i][1]) != 0) {
				cerr_set(err, false,
				         "%s: kafka.properties.%s cannot be changed: capture's no-loss and ordering"
				         " guarantees need %s=%s",
				         cfg->path, producer_guarantees[i][0], producer_guarantees[i][0],
				         producer_guarantees[i][1]);
				goto fail;
			}
		(void)rd_kafka_conf_set(conf, producer_guarantees[i][0], producer_guarantees[i][1], errstr, sizeof errstr);
	}
	if (producer_size_queue(conf, err) < 0)
		goto fail;
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, producer_on_delivery);
	rd_kafka_conf_set_error_cb(conf, producer_on_error);
	rd_kafka_conf_set_log_cb(conf, producer_on_log);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!p->rk) {
		cerr_set(err, false, "creating the Kafka producer: %s", errstr);
		goto fail;
	}
	return p; /* rd_kafka_new took ownership of conf */
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	free(p);
	return NULL;
}

void producer_free(struct producer *p)
{
	if (!p)
		return;
	if (p->rk) {
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(p->rk, 0); /* purged messages report an error: ignored, the tracker was reset */
		rd_kafka_destroy(p->rk);
	}
	free(p);
}

int producer_send(struct producer *p, const char *topic, int32_t partition, const void *key, size_t keylen,
                  const void *value, size_t valuelen, uint64_t txn_id, struct cerr *err)
{
	rd_kafka_resp_err_t e;

	/* counted before it is queued: a delivery report can only come from a later poll */
	progress_add(p->progress, txn_id);
	e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic),
	                      RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
	                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, keylen),
	                      RD_KAFKA_V_VALUE((void *)value, valuelen),
	                      RD_KAFKA_V_OPAQUE((void *)(uintptr_t)txn_id),
	                      /* CreateTime, read as librdkafka would but from the cheaper coarse clock */
	                      RD_KAFKA_V_TIMESTAMP(clock_unix_ms()), RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	/* not queued: undo the count (an ack for it will never come) */
	(void)progress_ack(p->progress, txn_id);
	if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return 1;
	if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
		return cerr_set(err, false,
		                "a message of %zu bytes for %s is larger than the producer's message.max.bytes; raise it"
		                " in kafka.properties (and max.message.bytes of the topic on the brokers)",
		                keylen + valuelen, topic);
	/* __FATAL too is retriable: a new producer starts again from the confirmed position */
	return cerr_set(err, true, "producing to %s: %s", topic, rd_kafka_err2str(e));
}

void producer_poll(struct producer *p, int timeout_ms)
{
	rd_kafka_poll(p->rk, timeout_ms);
}

int producer_failed(const struct producer *p, bool *permanent, struct cerr *err)
{
	if (!p->failed && !p->bug)
		return 0;
	cerr_set(err, !p->bug, "%s", p->failure);
	if (permanent)
		*permanent = p->permanent;
	return 1;
}

int producer_flush(struct producer *p, int timeout_ms)
{
	return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int producer_partition_count(struct producer *p, const char *topic, struct cerr *err)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int n = -1;

	if (!rkt)
		return cerr_set(err, true, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
	e = rd_kafka_metadata(p->rk, 0, rkt, &md, 10000);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		cerr_set(err, true, "metadata of topic %s: %s", topic, rd_kafka_err2str(e));
	else if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0)
		cerr_set(err, true, "metadata of topic %s: %s", topic,
		         md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "topic missing");
	else
		n = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}
