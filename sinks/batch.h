/* batch.h: the changes a sink applies in one target transaction. Several changes of one key collapse into
 * the last (an upsert keeps the earlier values of the columns the later one leaves unchanged); a truncate
 * is a barrier nothing collapses across. Changes of different tables keep their order relative to each
 * other only through truncates; that is enough, since tables are independent in the target. */
#ifndef CLEAVE_BATCH_H
#define CLEAVE_BATCH_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "sinks/mapping.h"
#include "sinks/target.h"

struct batch;

struct batch *batch_new(void);
void batch_free(struct batch *b);

/* Adds an insert ('c'), an upsert ('u') or a delete ('d') of the row (the envelope's `after`, or `before` for a delete) of
 * mapping m. Takes a reference to row. key[0..keylen) identifies the row in its table (the Kafka message
 * key: changes with equal keys collapse); it is borrowed and must stay until batch_reset. Returns 0, or
 * -1 with err (the row does not fit the mapping, no key). */
int batch_add(struct batch *b, const struct mapping *m, char op, json_t *row, const void *key, size_t keylen,
              struct cerr *err);
/* Adds a truncate of m's table. */
int batch_add_truncate(struct batch *b, const struct mapping *m, struct cerr *err);

/* Changes held (after collapsing) and changes added since the last reset. */
size_t batch_size(const struct batch *b);
size_t batch_added(const struct batch *b);

/* The i-th change held (i < batch_size): its mapping, and op ('c', 'u', 'd' or 't') and cells (NULL for
 * 't'). A 'c' stays 'c' only while no earlier change of its row is in the batch (an insert after a delete
 * of the row becomes 'u': the target still holds it); an update after a 'c' keeps it 'c'. */
struct target_change batch_peek(const struct batch *b, size_t i, const struct mapping **m);

/* Applies every change to target, in order, inside the caller's transaction. */
int batch_apply(struct batch *b, struct target *t, struct cerr *err);

/* Forgets everything (drops the row references). */
void batch_reset(struct batch *b);

#endif
