/* batch.c: see batch.h. Changes sit in a vector in arrival order; an index (open addressing over
 * (mapping, key bytes)) finds the change a new one collapses into. The key bytes are the Kafka message
 * key, the Avro encoding of the row's key columns with its schema id in front: equal bytes, same row.
 * (The same row under another key schema has other bytes: its changes then do not collapse, and are
 * applied in order, which is correct too, only less compact.) */
#include "sinks/batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct batch_change {
	const struct mapping *map;
	char op;                  /* 'u', 'd' or 't' */
	struct target_cell *cells; /* map->table.ncols; NULL for 't' */
	json_t *row;              /* keeps the cells' values alive */
	json_t *prev;             /* the row an upsert took unchanged values from */
};

struct batch_slot {
	const struct mapping *map;
	const uint8_t *key; /* borrowed (see batch_add); NULL: empty slot */
	size_t keylen;
	uint64_t hash;
	size_t change;
};

struct batch {
	struct batch_change *v;
	size_t n, cap;
	size_t added;
	struct batch_slot *slots;
	size_t nslots, used; /* nslots: power of two */
};

struct batch *batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

static void batch_clear_index(struct batch *b)
{
	if (b->used)
		memset(b->slots, 0, b->nslots * sizeof *b->slots);
	b->used = 0;
}

void batch_reset(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].cells);
		json_decref(b->v[i].row);
		json_decref(b->v[i].prev);
	}
	b->n = 0;
	b->added = 0;
	batch_clear_index(b);
}

void batch_free(struct batch *b)
{
	if (!b)
		return;
	batch_reset(b);
	free(b->v);
	free(b->slots);
	free(b);
}

size_t batch_size(const struct batch *b)
{
	return b->n;
}

size_t batch_added(const struct batch *b)
{
	return b->added;
}

static uint64_t batch_hash(const struct mapping *m, const uint8_t *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)m; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static int batch_grow_index(struct batch *b)
{
	size_t nn = b->nslots ? b->nslots * 2 : 1024;
	struct batch_slot *ns = calloc(nn, sizeof *ns);

	if (!ns)
		return -1;
	for (size_t i = 0; i < b->nslots; i++) {
		struct batch_slot *s = &b->slots[i];
		size_t j;

		if (!s->key)
			continue;
		for (j = s->hash & (nn - 1); ns[j].key; j = (j + 1) & (nn - 1))
			;
		ns[j] = *s;
	}
	free(b->slots);
	b->slots = ns;
	b->nslots = nn;
	return 0;
}

/* The slot of (m, key): the one holding it, or the empty one where it goes. */
static struct batch_slot *batch_find(struct batch *b, const struct mapping *m, const uint8_t *key, size_t len,
                                     uint64_t h)
{
	size_t j;

	for (j = h & (b->nslots - 1); b->slots[j].key; j = (j + 1) & (b->nslots - 1)) {
		const struct batch_slot *s = &b->slots[j];

		if (s->hash == h && s->map == m && s->keylen == len && memcmp(s->key, key, len) == 0)
			break;
	}
	return &b->slots[j];
}

static struct batch_change *batch_push(struct batch *b)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 256;
		struct batch_change *nv = realloc(b->v, nc * sizeof *nv);

		if (!nv)
			return NULL;
		b->v = nv;
		b->cap = nc;
	}
	memset(&b->v[b->n], 0, sizeof b->v[b->n]);
	return &b->v[b->n++];
}

int batch_add(struct batch *b, const struct mapping *m, char op, json_t *row, const void *key, size_t keylen,
              struct cerr *err)
{
	struct target_cell *cells = calloc(m->table.ncols ? (size_t)m->table.ncols : 1, sizeof *cells);
	struct batch_slot *slot;
	struct batch_change *c;
	uint64_t h;

	if (!cells)
		goto oom;
	if (mapping_cells(m, row, cells, err) < 0) {
		free(cells);
		return -1;
	}
	if (!key) { /* a slot's NULL key means empty (an empty key has a non-NULL pointer) */
		free(cells);
		return cerr_set(err, false, "a change without a key");
	}
	if ((b->used + 1) * 2 > b->nslots && batch_grow_index(b) < 0)
		goto oom;
	b->added++;
	h = batch_hash(m, key, keylen);
	slot = batch_find(b, m, key, keylen, h);
	if (slot->key) {
		/* the same row changed again in this batch: the later change wins */
		c = &b->v[slot->change];
		if (op == 'u' && (c->op == 'u' || c->op == 'c')) {
			for (int i = 0; i < m->table.ncols; i++)
				if (cells[i].kind == TARGET_UNCHANGED)
					cells[i] = c->cells[i];
			/* the earlier row may own values now borrowed: keep it alive */
			json_decref(c->prev);
			c->prev = c->row;
		} else {
			json_decref(c->row);
			json_decref(c->prev);
			c->prev = NULL;
		}
		free(c->cells);
		/* an update of a row inserted in this batch is still an insert for the target; an insert after
		 * an earlier change (a delete) is not: the target holds the row until this batch is applied */
		c->op = op == 'c' ? 'u' : op == 'u' && c->op == 'c' ? 'c' : op;
		c->cells = cells;
		c->row = json_incref(row);
		return 0;
	}
	c = batch_push(b);
	if (!c)
		goto oom;
	*c = (struct batch_change){.map = m, .op = op, .cells = cells, .row = json_incref(row)};
	*slot = (struct batch_slot){.map = m, .key = key, .keylen = keylen, .hash = h, .change = b->n - 1};
	b->used++;
	return 0;
oom:
	free(cells);
	return cerr_set(err, false, "out of memory");
}

int batch_add_truncate(struct batch *b, const struct mapping *m, struct cerr *err)
{
	struct batch_change *c = batch_push(b);

	if (!c)
		return cerr_set(err, false, "out of memory");
	*c = (struct batch_change){.map = m, .op = 't'};
	b->added++;
	/* nothing collapses across the barrier; other tables' keys could, but a truncate is rare */
	batch_clear_index(b);
	return 0;
}

struct target_change batch_peek(const struct batch *b, size_t i, const struct mapping **m)
{
	*m = b->v[i].map;
	return (struct target_change){.op = b->v[i].op, .cells = b->v[i].cells};
}

int batch_apply(struct batch *b, struct target *t, struct cerr *err)
{
	struct target_change *run = NULL;
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < b->n && rc == 0;) {
		const struct mapping *m = b->v[i].map;
		size_t j, k = 0;

		if (b->v[i].op == 't') {
			rc = target_truncate(t, &m->table, err);
			i++;
			continue;
		}
		/* the longest run of row changes of one table */
		for (j = i; j < b->n && b->v[j].map == m && b->v[j].op != 't'; j++)
			;
		if (j - i > cap) {
			struct target_change *nr = realloc(run, (j - i) * sizeof *nr);

			if (!nr) {
				rc = cerr_set(err, false, "out of memory");
				break;
			}
			run = nr;
			cap = j - i;
		}
		for (; i < j; i++)
			run[k++] = (struct target_change){.op = b->v[i].op, .cells = b->v[i].cells};
		rc = target_apply(t, &m->table, run, k, err);
	}
	free(run);
	return rc;
}
