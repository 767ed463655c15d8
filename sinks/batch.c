/* batch.c: see batch.h. Changes sit in a vector in arrival order; an index (open addressing over
 * (mapping, key text)) finds the change a new one collapses into. */
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
	char *key; /* NULL: empty slot */
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
	for (size_t i = 0; i < b->nslots; i++) {
		free(b->slots[i].key);
		b->slots[i].key = NULL;
	}
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

static uint64_t batch_hash(const struct mapping *m, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)m;

	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 1099511628211ULL;
	return h;
}

/* The key columns' values as one string: the identity of a row in its table. */
static char *batch_key_text(const struct mapping *m, const struct target_cell *cells)
{
	json_t *a = json_array();
	char *s;

	if (!a)
		return NULL;
	for (int i = 0; i < m->table.ncols; i++)
		if (m->cols[i].key)
			json_array_append(a, cells[i].kind == TARGET_VALUE ? (json_t *)cells[i].value : json_null());
	s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(a);
	return s;
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
		for (j = batch_hash(s->map, s->key) & (nn - 1); ns[j].key; j = (j + 1) & (nn - 1))
			;
		ns[j] = *s;
	}
	free(b->slots);
	b->slots = ns;
	b->nslots = nn;
	return 0;
}

/* The slot of (m, key): the one holding it, or the empty one where it goes. */
static struct batch_slot *batch_find(struct batch *b, const struct mapping *m, const char *key)
{
	size_t j;

	for (j = batch_hash(m, key) & (b->nslots - 1); b->slots[j].key; j = (j + 1) & (b->nslots - 1))
		if (b->slots[j].map == m && strcmp(b->slots[j].key, key) == 0)
			break;
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

int batch_add(struct batch *b, const struct mapping *m, char op, json_t *row, struct cerr *err)
{
	struct target_cell *cells = calloc(m->table.ncols ? (size_t)m->table.ncols : 1, sizeof *cells);
	struct batch_slot *slot;
	struct batch_change *c;
	char *key = NULL;

	if (!cells)
		goto oom;
	if (mapping_cells(m, row, cells, err) < 0) {
		free(cells);
		return -1;
	}
	key = batch_key_text(m, cells);
	if (!key || ((b->used + 1) * 2 > b->nslots && batch_grow_index(b) < 0))
		goto oom;
	b->added++;
	slot = batch_find(b, m, key);
	if (slot->key) {
		/* the same row changed again in this batch: the later change wins */
		c = &b->v[slot->change];
		if (op == 'u' && c->op == 'u') {
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
		free(key);
		c->op = op;
		c->cells = cells;
		c->row = json_incref(row);
		return 0;
	}
	c = batch_push(b);
	if (!c)
		goto oom;
	*c = (struct batch_change){.map = m, .op = op, .cells = cells, .row = json_incref(row)};
	*slot = (struct batch_slot){.map = m, .key = key, .change = b->n - 1};
	b->used++;
	return 0;
oom:
	free(cells);
	free(key);
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
