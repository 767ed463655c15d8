/* topic_reader.c: see topic_reader.h. */
#include "kafka/topic_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

static void topic_reader_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3)
		log_warn("kafka", "%s: %s", fac, buf);
	else
		log_debug("kafka", "%s: %s", fac, buf);
}

/* A consumer that never joins its group: partitions are assigned by hand. */
static rd_kafka_t *topic_reader_client(const struct cleave_config *cfg, struct cerr *err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512], group[64];
	rd_kafka_t *rk;

	snprintf(group, sizeof group, "cleave.reader.%ld", (long)clock_unix_us());
	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr)) {
		rd_kafka_conf_destroy(conf);
		cerr_set(err, false, "kafka consumer: %s", errstr);
		return NULL;
	}
	/* connection and security properties apply to every client; producer-only ones are ignored */
	for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
		const char *k = cfg->kafka.properties[i].key;

		if (strncmp(k, "security.", 9) == 0 || strncmp(k, "sasl.", 5) == 0 || strncmp(k, "ssl.", 4) == 0 ||
		    strcmp(k, "client.id") == 0)
			(void)rd_kafka_conf_set(conf, k, cfg->kafka.properties[i].value, errstr, sizeof errstr);
	}
	rd_kafka_conf_set_log_cb(conf, topic_reader_log);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		cerr_set(err, false, "kafka consumer: %s", errstr);
	}
	return rk;
}

long topic_read_all(const struct cleave_config *cfg, const char *topic, int timeout_ms, topic_reader_fn fn,
                    void *arg, struct cerr *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *parts = NULL;
	rd_kafka_topic_t *rkt = NULL;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	rd_kafka_t *rk = topic_reader_client(cfg, err);
	long nread = -1, count = 0;
	int remaining = 0;
	rd_kafka_resp_err_t e;

	if (!rk)
		return -1;
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (e) {
		cerr_set(err, true, "kafka metadata of %s: %s", topic, rd_kafka_err2str(e));
		goto cleanup;
	}
	if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		nread = 0;
		goto cleanup;
	}
	if (md->topics[0].err) {
		cerr_set(err, true, "kafka metadata of %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
		goto cleanup;
	}
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int p = 0; p < md->topics[0].partition_cnt; p++) {
		int64_t lo, hi;

		e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, timeout_ms);
		if (e) {
			cerr_set(err, true, "kafka offsets of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
			goto cleanup;
		}
		if (hi > lo) {
			rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(parts, topic, p);

			tp->offset = RD_KAFKA_OFFSET_BEGINNING;
			/* the end it had now: read up to hi - 1 (stored in opaque) */
			tp->opaque = (void *)(intptr_t)hi;
			remaining++;
		}
	}
	if (remaining == 0) {
		nread = 0;
		goto cleanup;
	}
	if ((e = rd_kafka_assign(rk, parts))) {
		cerr_set(err, true, "kafka assign %s: %s", topic, rd_kafka_err2str(e));
		goto cleanup;
	}
	while (remaining > 0) {
		rd_kafka_message_t *m;
		int64_t now = clock_mono_ms();

		if (now >= deadline) {
			cerr_set(err, true, "reading %s took longer than %d ms", topic, timeout_ms);
			goto cleanup;
		}
		m = rd_kafka_consumer_poll(rk, (int)(deadline - now < 200 ? deadline - now : 200));
		if (!m)
			continue;
		if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			cerr_set(err, true, "reading %s: %s", topic, rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			goto cleanup;
		}
		for (int i = 0; i < parts->cnt; i++) {
			rd_kafka_topic_partition_t *tp = &parts->elems[i];
			int64_t end = (int64_t)(intptr_t)tp->opaque;

			if (tp->partition != m->partition || end < 0)
				continue;
			if (!m->err && m->offset < end) {
				if (fn(arg, m, err) < 0) {
					rd_kafka_message_destroy(m);
					goto cleanup;
				}
				count++;
			}
			if (m->err || m->offset >= end - 1) {
				tp->opaque = (void *)(intptr_t)-1; /* done */
				remaining--;
			}
		}
		rd_kafka_message_destroy(m);
	}
	nread = count;
cleanup:
	if (md)
		rd_kafka_metadata_destroy(md);
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return nread;
}
