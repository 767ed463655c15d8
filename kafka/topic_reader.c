/* topic_reader.c: see topic_reader.h. */
#include "kafka/topic_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "kafka/client.h"
#include "kafka/offsets.h"

long topic_read_all(const struct cleave_config *cfg, const char *topic, int timeout_ms, topic_reader_fn fn,
                    void *arg, struct cerr *err)
{
	struct kafka_part_offsets *po = NULL;
	size_t npo = 0;
	rd_kafka_topic_partition_list_t *parts = NULL;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	rd_kafka_t *rk = kafka_client_new(cfg, NULL, err);
	long nread = -1, count = 0;
	int remaining = 0;
	rd_kafka_resp_err_t e;

	if (!rk)
		return -1;
	if (kafka_topic_offsets(rk, topic, 0, timeout_ms, &po, &npo, err) < 0)
		goto cleanup;
	if (!(parts = rd_kafka_topic_partition_list_new(npo ? (int)npo : 1))) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < npo; i++) {
		if (po[i].high > po[i].low) {
			rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(parts, topic, po[i].partition);

			tp->offset = RD_KAFKA_OFFSET_BEGINNING;
			/* the end it had now: read up to high - 1 (stored in opaque) */
			tp->opaque = (void *)(intptr_t)po[i].high;
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
	free(po);
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	kafka_client_free(rk);
	return nread;
}
