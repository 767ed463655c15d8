/* offsets.h: where a topic's partitions end and how far a consumer group committed in them: the numbers
 * behind consumer lag, for `cleave status`. */
#ifndef CLEAVE_KAFKA_OFFSETS_H
#define CLEAVE_KAFKA_OFFSETS_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "common/err.h"

struct kafka_part_offsets {
	int32_t partition;
	int64_t low, high; /* watermarks: the first offset still held, the next offset to be written */
	int64_t committed; /* the group's committed offset (the next one it reads); -1: none */
};

/* The partitions of `topic` in partition order (*n = 0 when the topic does not exist). committed is read
 * for rk's group.id when with_committed, else -1. err->retriable when the brokers did not answer within
 * timeout_ms. Caller frees *out. */
int kafka_topic_offsets(rd_kafka_t *rk, const char *topic, int with_committed, int timeout_ms,
                        struct kafka_part_offsets **out, size_t *n, struct cerr *err);

#endif
