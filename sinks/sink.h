/* sink.h: `cleave sink --sink NAME`: consumes the topics of the sink's mappings in consumer group
 * cleave.NAME and applies them to the sink's database (sinks/target.h), effectively once (SPEC.md §4):
 * per partition, the Kafka offset and the source position (commit_lsn, seq) are stored in the target in
 * the same transaction as the rows; at assignment consumption resumes from there, and an event at or
 * below the stored position (a re-sent one) is skipped. Kafka offsets are committed after the database. */
#ifndef CLEAVE_SINK_H
#define CLEAVE_SINK_H

#include "common/err.h"
#include "config/config.h"

/* Runs until stop_requested() returns true (then finishes the batch, commits and returns 0). A target
 * that is down is waited for. Returns -1 with err for what a person must fix (a mapping the target cannot
 * hold, an event that cannot be applied with on_error: stop). */
int sink_run(const struct cleave_config *cfg, const struct cfg_sink *sink, int (*stop_requested)(void),
             struct cerr *err);

#endif
