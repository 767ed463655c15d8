/* progress.c: see progress.h for the invariants. Pending transactions sit in a ring (a deque with a
 * power-of-two capacity) in id order: the entry of id i is at (i - first_id) from the head. */
#include "capture/progress.h"

#include <stdlib.h>

struct progress_txn {
	uint64_t outstanding; /* messages produced and not yet acknowledged */
	lsn_t end_lsn;
	bool committed;
};

struct progress {
	struct progress_txn *ring;
	size_t cap;       /* power of two */
	size_t head;      /* ring index of first_id */
	size_t count;     /* pending transactions */
	uint64_t first_id; /* id of the oldest pending transaction (== next_id when none) */
	uint64_t next_id;
	uint64_t outstanding;
	lsn_t confirmed;
};

struct progress *progress_new(lsn_t confirmed)
{
	struct progress *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->cap = 64;
	p->ring = calloc(p->cap, sizeof *p->ring);
	if (!p->ring) {
		free(p);
		return NULL;
	}
	p->first_id = p->next_id = 1; /* 0 is the out-of-memory answer of progress_begin */
	p->confirmed = confirmed;
	return p;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	free(p->ring);
	free(p);
}

static struct progress_txn *progress_find(struct progress *p, uint64_t id)
{
	if (id < p->first_id || id >= p->first_id + p->count)
		return NULL;
	return &p->ring[(p->head + (size_t)(id - p->first_id)) & (p->cap - 1)];
}

static int progress_grow(struct progress *p)
{
	struct progress_txn *n = calloc(p->cap * 2, sizeof *n);

	if (!n)
		return -1;
	for (size_t i = 0; i < p->count; i++)
		n[i] = p->ring[(p->head + i) & (p->cap - 1)];
	free(p->ring);
	p->ring = n;
	p->cap *= 2;
	p->head = 0;
	return 0;
}

uint64_t progress_begin(struct progress *p)
{
	struct progress_txn *t;

	if (p->count == p->cap && progress_grow(p) < 0)
		return 0;
	t = &p->ring[(p->head + p->count) & (p->cap - 1)];
	t->outstanding = 0;
	t->end_lsn = 0;
	t->committed = false;
	p->count++;
	return p->next_id++;
}

void progress_add(struct progress *p, uint64_t id)
{
	struct progress_txn *t = progress_find(p, id);

	if (t) {
		t->outstanding++;
		p->outstanding++;
	}
}

int progress_ack(struct progress *p, uint64_t id)
{
	struct progress_txn *t;

	if (id < p->first_id)
		return 1; /* I5: from before a reset (a done transaction is never acked again) */
	t = progress_find(p, id);
	if (!t || t->outstanding == 0)
		return -1;
	t->outstanding--;
	p->outstanding--;
	return 0;
}

void progress_commit(struct progress *p, uint64_t id, lsn_t end_lsn)
{
	struct progress_txn *t = progress_find(p, id);

	if (t) {
		t->committed = true;
		t->end_lsn = end_lsn;
	}
}

void progress_idle_at(struct progress *p, lsn_t lsn)
{
	if (p->count == 0 && lsn > p->confirmed)
		p->confirmed = lsn;
}

lsn_t progress_confirmable(struct progress *p)
{
	while (p->count > 0) {
		struct progress_txn *t = &p->ring[p->head];

		if (!t->committed || t->outstanding > 0)
			break;
		if (t->end_lsn > p->confirmed)
			p->confirmed = t->end_lsn;
		p->head = (p->head + 1) & (p->cap - 1);
		p->count--;
		p->first_id++;
	}
	return p->confirmed;
}

bool progress_done(struct progress *p, uint64_t id)
{
	progress_confirmable(p);
	return id < p->first_id;
}

size_t progress_pending(const struct progress *p)
{
	return p->count;
}

uint64_t progress_outstanding(const struct progress *p)
{
	return p->outstanding;
}

void progress_reset(struct progress *p)
{
	p->head = 0;
	p->count = 0;
	p->first_id = p->next_id;
	p->outstanding = 0;
}
