/* offsets.c: see offsets.h. */
#include "kafka/offsets.h"

#include <stdlib.h>

int kafka_topic_offsets(rd_kafka_t *rk, const char *topic, int with_committed, int timeout_ms,
                        struct kafka_part_offsets **out, size_t *n, struct cerr *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *list = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	struct kafka_part_offsets *po = NULL;
	rd_kafka_resp_err_t e;
	int np, rc = -1;

	*out = NULL;
	*n = 0;
	if (!rkt)
		return cerr_set(err, false, "kafka topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
	if ((e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms))) {
		cerr_set(err, true, "kafka metadata of %s: %s", topic, rd_kafka_err2str(e));
		goto cleanup;
	}
	if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		rc = 0;
		goto cleanup;
	}
	if (md->topics[0].err) {
		cerr_set(err, true, "kafka metadata of %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
		goto cleanup;
	}
	np = md->topics[0].partition_cnt;
	if (!(po = calloc(np ? (size_t)np : 1, sizeof *po)) || !(list = rd_kafka_topic_partition_list_new(np))) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	/* metadata lists partitions in no promised order: index by partition id */
	for (int i = 0; i < np; i++) {
		po[i].partition = i;
		po[i].committed = -1;
		if ((e = rd_kafka_query_watermark_offsets(rk, topic, i, &po[i].low, &po[i].high, timeout_ms))) {
			cerr_set(err, true, "kafka offsets of %s [%d]: %s", topic, i, rd_kafka_err2str(e));
			goto cleanup;
		}
		rd_kafka_topic_partition_list_add(list, topic, i);
	}
	if (with_committed && np > 0) {
		if ((e = rd_kafka_committed(rk, list, timeout_ms))) {
			cerr_set(err, true, "kafka committed offsets of %s: %s", topic, rd_kafka_err2str(e));
			goto cleanup;
		}
		for (int i = 0; i < list->cnt; i++) {
			const rd_kafka_topic_partition_t *tp = &list->elems[i];

			if (tp->partition >= 0 && tp->partition < np && tp->offset >= 0)
				po[tp->partition].committed = tp->offset;
		}
	}
	*out = po;
	*n = (size_t)np;
	po = NULL;
	rc = 0;
cleanup:
	free(po);
	if (list)
		rd_kafka_topic_partition_list_destroy(list);
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return rc;
}
