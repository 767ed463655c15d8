/* topic_reader.h: reads a whole Kafka topic, every partition from its beginning up to the end it had when
 * the read started, without joining a consumer group (nothing is committed). For the schema topic and for
 * `cleave events`; sinks consume through their consumer group instead. */
#ifndef CLEAVE_TOPIC_READER_H
#define CLEAVE_TOPIC_READER_H

#include <librdkafka/rdkafka.h>

#include "common/err.h"
#include "config/config.h"

/* Called once per message, partition by partition in offset order. Return 0 to go on, -1 (with err set) to
 * stop the read with that error. */
typedef int (*topic_reader_fn)(void *arg, const rd_kafka_message_t *m, struct cerr *err);

/* Reads `topic` with a client built from kafka.brokers and kafka.properties. A topic that does not exist
 * reads as empty. Returns the number of messages read, or -1 with err (broker unreachable within
 * timeout_ms, or fn's error). */
long topic_read_all(const struct cleave_config *cfg, const char *topic, int timeout_ms, topic_reader_fn fn,
                    void *arg, struct cerr *err);

#endif
