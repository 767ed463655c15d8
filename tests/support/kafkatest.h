/* kafkatest.h: the test Kafka ($CLEAVE_TEST_KAFKA_BROKERS: the mock cluster, or a real broker): reading
 * whole topics into owned message lists, producing, partition counts, and decoding cleave's Avro values
 * with the schemas published in `<prefix>._schemas` (SPEC.md §3, schema/table_schema.h).
 *
 * Readers assign every partition of the topic explicitly from the beginning: no consumer group is joined
 * (a join costs ~3 s on the mock) and nothing is committed. A topic that does not exist yet is waited for;
 * note that on the mock and on brokers with auto.create.topics.enable, looking a topic up creates it (the
 * mock with 4 partitions), so create topics that need another count first (mockctl "topic").
 *
 * Errors fail the test; functions return only on success. Not thread-safe. */
#ifndef CLEAVE_KAFKATEST_H
#define CLEAVE_KAFKATEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct ktest_header {
	char *name;
	void *value;  /* NULL for a null header value; else NUL-terminated after len bytes */
	size_t len;
};

/* One consumed message, all of it copied. key and value are NULL when null (a tombstone has value NULL);
 * when not NULL they are followed by a NUL byte (not counted in the length), so text can be compared
 * with strcmp. */
struct ktest_msg {
	int32_t partition;
	int64_t offset;
	int64_t timestamp; /* ms since 1970, or -1 */
	void *key;
	size_t key_len;
	void *value;
	size_t value_len;
	struct ktest_header *headers;
	size_t nheaders;
};

/* Messages sorted by partition, then offset (so per-key order is the list order). */
struct ktest_msgs {
	struct ktest_msg *v;
	size_t n;
};

void ktest_msgs_free(struct ktest_msgs *m); /* NULL is a no-op */

/* Returns m's last header named `name`, or NULL when m has none. */
const struct ktest_header *ktest_msg_header(const struct ktest_msg *m, const char *name);

/* Reads `topic` from the beginning of every partition until at least n messages arrived or timeout_ms
 * passed, and returns what it read (check ->n: fewer than n means the deadline passed; more than n
 * is possible when more were already there in another partition). The caller owns the result. */
struct ktest_msgs *kafkatest_consume(const char *topic, size_t n, int timeout_ms);

/* Reads `topic` from the beginning until it has reached the end of every partition and then no new message
 * arrived for idle_ms (or timeout_ms passed in all), e.g. to check that nothing more than expected is
 * produced. */
struct ktest_msgs *kafkatest_consume_idle(const char *topic, int idle_ms, int timeout_ms);

/* Reads `topic` from the beginning up to its current end (every partition's high watermark at the time of
 * the call); fails the test when that takes longer than timeout_ms. */
struct ktest_msgs *kafkatest_consume_to_end(const char *topic, int timeout_ms);

/* Number of partitions of `topic`, waiting up to timeout_ms for it to exist. Fails the test on timeout. */
int kafkatest_partition_count(const char *topic, int timeout_ms);

/* A new client configuration with bootstrap.servers set to the test Kafka and the given properties
 * (NULL, or a NULL-terminated list of name, value, name, value...). Fails the test on a bad property.
 * The caller owns it (rd_kafka_new takes it). */
rd_kafka_conf_t *kafkatest_conf(const char *const *props);

/* A producer with kafkatest_conf(props). The caller destroys it: rd_kafka_destroy(). */
rd_kafka_t *kafkatest_producer_new(const char *const *props);

/* Produces one message with producer rk and waits for its delivery report, up to timeout_ms (after that
 * the message is purged). partition may be RD_KAFKA_PARTITION_UA (the partitioner picks). key/value may
 * be NULL. Returns the delivery report's error: 0 when the broker acknowledged the message; otherwise the
 * error (e.g. RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, or RD_KAFKA_RESP_ERR__PURGE_QUEUE on timeout). Fails the
 * test only when the message cannot even be queued. */
rd_kafka_resp_err_t kafkatest_produce_sync(rd_kafka_t *rk, const char *topic, int32_t partition,
                                           const void *key, size_t key_len, const void *value,
                                           size_t value_len, const struct ktest_header *headers,
                                           size_t nheaders, int timeout_ms);

/* Produces one message with text key and value (either may be NULL) with a fresh producer and fails the
 * test unless it is acknowledged within 30 s. */
void kafkatest_produce(const char *topic, const char *key, const char *value);

/* The writer schemas that cleave published to `<prefix>._schemas` (key: schema id as 16 lowercase hex
 * digits; value: the schema JSON). */
struct ktest_schemas;

/* Reads `<prefix>._schemas` to its end. Fails the test if that takes more than 30 s. The caller frees
 * the result with kafkatest_schemas_free. */
struct ktest_schemas *kafkatest_schemas_load(const char *prefix);
void kafkatest_schemas_free(struct ktest_schemas *s); /* NULL is a no-op */

/* The JSON of schema `id`, or NULL when it was not published (reads the topic again once first). Owned
 * by s. */
const char *kafkatest_schema_json(struct ktest_schemas *s, uint64_t id);

/* Decodes a key or value written by cleave: the single-object header C3 01 + 8-byte little-endian schema
 * id, then Avro binary, into JSON (schema/avro_decode.h describes the mapping). Returns NULL for a NULL
 * value (a tombstone), else a new reference (json_decref it). Fails the test when the header is missing,
 * the schema is unknown or the body does not decode. */
json_t *kafkatest_decode(struct ktest_schemas *s, const void *p, size_t n);

#endif
