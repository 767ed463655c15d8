/* client.h: a Kafka consumer handle that never joins its group (partitions are assigned by hand, or only
 * metadata and offsets are asked for), built from kafka.brokers and the connection/security properties of
 * kafka.properties. For tools that read topics or offsets: the schema topic, `cleave events`,
 * `cleave status`. */
#ifndef CLEAVE_KAFKA_CLIENT_H
#define CLEAVE_KAFKA_CLIENT_H

#include <librdkafka/rdkafka.h>

#include "common/err.h"
#include "config/config.h"

/* group: the group.id (whose committed offsets rd_kafka_committed reads); NULL: a private name nothing
 * commits to. Auto commit is off, partition EOF is reported. Caller closes with kafka_client_free. */
rd_kafka_t *kafka_client_new(const struct cleave_config *cfg, const char *group, struct cerr *err);
void kafka_client_free(rd_kafka_t *rk); /* NULL is a no-op */

#endif
