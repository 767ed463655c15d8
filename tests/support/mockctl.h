/* mockctl.h: fault injection into the mock Kafka cluster, through the control channel of
 * cleave-mock-kafka ($CLEAVE_TEST_KAFKA_CONTROL, host:port). Commands (one line each; tests/README.md
 * and tests/mockkafka/mock_kafka.c have the details):
 *   ping | topic NAME PARTITIONS | down BROKERID | up BROKERID | errors APIKEY COUNT ERRCODE |
 *   clear APIKEY | leader TOPIC PARTITION BROKERID | rtt BROKERID MS
 * Broker ids start at 1. When a command has been answered, its effect is in place.
 * Call testenv_require_mock() first: against a real broker there is no control channel. */
#ifndef CLEAVE_MOCKCTL_H
#define CLEAVE_MOCKCTL_H

/* Sends one printf-formatted command and returns its reply line without the newline ("OK ..." or
 * "ERR ..."), malloc'ed: the caller frees it. Fails the test when the channel cannot be reached or does
 * not answer within 10 s. */
char *mockctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like mockctl, but fails the test (showing the command and the reply) unless the reply starts with
 * "OK". */
void mockctl_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
