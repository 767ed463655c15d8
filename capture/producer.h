/* producer.h: capture's Kafka producer. Every message carries the id of the transaction it belongs to;
 * Kafka's acknowledgement of it is handed to the progress tracker (capture/progress.h). Idempotent
 * producer, murmur2_random partitioner (the Java client's), payloads copied. */
#ifndef CLEAVE_PRODUCER_H
#define CLEAVE_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/progress.h"
#include "common/err.h"
#include "config/config.h"

struct producer;

/* Builds the producer from kafka.brokers and kafka.properties (which override cleave's defaults).
 * `progress` must outlive it. NULL with err for a bad property. */
struct producer *producer_new(const struct cleave_config *cfg, struct progress *progress, struct cerr *err);
/* Destroys the producer without waiting: messages not yet acknowledged are dropped (their transactions
 * are not confirmed, so they will be sent again). NULL is a no-op. */
void producer_free(struct producer *p);

enum { PRODUCER_PARTITION_ANY = -1 };

/* Queues one message for topic (partition from the key unless `partition` >= 0). value NULL = tombstone.
 * Returns 0 (counted in transaction txn_id), 1 when the local queue is full (nothing queued: serve
 * producer_poll() and try again), -1 with err. */
int producer_send(struct producer *p, const char *topic, int32_t partition, const void *key, size_t keylen,
                  const void *value, size_t valuelen, uint64_t txn_id, struct cerr *err);

/* Serves delivery reports for up to timeout_ms. */
void producer_poll(struct producer *p, int timeout_ms);

/* Whether a message failed for good (delivery error after librdkafka's retries, or a fatal producer
 * error): returns 1 with err, and the caller must restart streaming from the confirmed position with a new
 * producer. *permanent (if not NULL) tells an error that sending the same message again will meet too
 * (too large, not authorized...) from one that may pass (timeouts of a broker that was down). */
int producer_failed(const struct producer *p, bool *permanent, struct cerr *err);

/* Waits up to timeout_ms for every queued message to be acknowledged. 0 when all were. */
int producer_flush(struct producer *p, int timeout_ms);

/* Number of partitions of topic (creating it per the broker's auto-create policy). -1 with err. */
int producer_partition_count(struct producer *p, const char *topic, struct cerr *err);

#endif
