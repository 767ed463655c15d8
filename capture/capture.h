/* capture.h: `cleave capture`: streams the configured tables of the source PostgreSQL into Kafka
 * (SPEC.md §3, §4) until asked to stop. Wires source (libpq), pgoutput decoding, schema encoding,
 * producer (librdkafka) and the progress tracker together; reconnects with backoff. */
#ifndef CLEAVE_CAPTURE_H
#define CLEAVE_CAPTURE_H

#include "common/err.h"
#include "config/config.h"

/* Runs until stop_requested() returns true, then flushes Kafka, confirms what Kafka acknowledged and
 * returns 0. Servers that are down are retried with backoff. Returns -1 with err for a problem a person
 * must fix (a table without a key, a dropped publication, an invalidated slot, bad data). */
int capture_run(const struct cleave_config *cfg, int (*stop_requested)(void), struct cerr *err);

#endif
