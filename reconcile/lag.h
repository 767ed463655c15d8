/* lag.h: waiting until a sink has applied everything the source committed up to a position, so that a
 * difference seen before that position and still there afterwards is drift, not replication lag.
 *
 * How: (1) the capture slot's confirmed_flush_lsn reaches the position (capture confirms only what Kafka
 * acknowledged, so every event committed before it is in Kafka); (2) the high watermarks of the mapped
 * topics' partitions are read then; (3) the sink's stored positions (cleave_positions in the target, kept
 * in the same transactions as its rows) reach high watermark - 1 on every partition that has events. */
#ifndef CLEAVE_LAG_H
#define CLEAVE_LAG_H

#include <stddef.h>

#include "common/err.h"
#include "config/config.h"
#include "reconcile/rdb.h"

struct lag;

/* Uses src (the source) and tgt (the sink's target) connections, which must outlive it. Connects to
 * Kafka lazily. */
struct lag *lag_new(const struct cleave_config *cfg, const struct cfg_sink *scfg, struct rdb *src, struct rdb *tgt,
                    struct cerr *err);
void lag_free(struct lag *l);

/* Whether the capture slot exists (0 no, 1 yes, -1 error). */
int lag_slot_exists(struct lag *l, struct cerr *err);

/* Waits until the sink applied past source position `lsn` ("16/B374D848") on every topic of topics[],
 * up to deadline (clock_mono_ms()). Returns 1 when it did, 0 at the deadline with `why` saying what is
 * behind, -1 with err. */
int lag_wait(struct lag *l, const char *lsn, char *const *topics, size_t ntopics, long long deadline_ms, char *why,
             size_t whylen, struct cerr *err);

#endif
