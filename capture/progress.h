/* progress.h: which LSN capture may confirm to PostgreSQL. This module is the whole at-least-once
 * guarantee of SPEC.md §4, so its invariants are spelled out:
 *
 *  I1  Transactions are opened in the order pgoutput sends them, which is commit order.
 *  I2  A transaction is *done* when its Commit was seen and every Kafka message produced for it
 *      (events, tombstones, schemas) was acknowledged by Kafka.
 *  I3  The confirmable LSN is the end LSN of the last transaction of the longest prefix of done
 *      transactions. It never decreases, and never passes a transaction that is not done, whatever order
 *      acknowledgements arrive in (they come per partition, so out of order).
 *  I4  When nothing is open or outstanding, an idle position (a keepalive's WAL end) may be confirmed:
 *      everything before it that pgoutput had to send has been sent and acknowledged.
 *  I5  After progress_reset() (streaming restarted from the slot's confirmed position), acknowledgements
 *      of messages produced before the reset are ignored: the transactions they belonged to will be sent
 *      again.
 *
 * Not thread-safe: librdkafka delivery reports are served from rd_kafka_poll() on the capture thread. */
#ifndef CLEAVE_PROGRESS_H
#define CLEAVE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lsn.h"

struct progress;

/* `confirmed` is where the slot stands now (its confirmed_flush_lsn). NULL when out of memory. */
struct progress *progress_new(lsn_t confirmed);
void progress_free(struct progress *p);

/* Opens the next transaction; returns its id (ids only grow). 0 when out of memory. */
uint64_t progress_begin(struct progress *p);
/* One more message of transaction `id` is on its way to Kafka. */
void progress_add(struct progress *p, uint64_t id);
/* Kafka acknowledged one message of transaction `id`. Returns 0, 1 when the ack is stale (I5) and was
 * ignored, -1 when `id` has no message outstanding (a bug: the caller should stop). */
int progress_ack(struct progress *p, uint64_t id);
/* The Commit of transaction `id` was seen; end_lsn is the end of its commit record. */
void progress_commit(struct progress *p, uint64_t id, lsn_t end_lsn);
/* I4: records an idle position; it is confirmable only if no transaction is open or outstanding now. */
void progress_idle_at(struct progress *p, lsn_t lsn);

/* I3: the LSN that may be confirmed now; done transactions are forgotten. */
lsn_t progress_confirmable(struct progress *p);
/* Whether transaction `id` (of this tracker, not from before a reset) is done and so are all before it
 * (I2, I3); forgets the done prefix like progress_confirmable. */
bool progress_done(struct progress *p, uint64_t id);
/* Transactions still open or waiting for acknowledgements. */
size_t progress_pending(const struct progress *p);
/* Messages produced but not acknowledged. */
uint64_t progress_outstanding(const struct progress *p);

/* I5: forgets every pending transaction; the confirmable LSN stays. */
void progress_reset(struct progress *p);

#endif
