/* snapwin.c: see snapwin.h. Open addressing with linear probing over a power-of-two table of
 * (hash, key) slots; grown at 50% load. */
#include "capture/snapwin.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct snapwin_slot {
	uint64_t hash;
	size_t len;
	unsigned char *key; /* NULL: empty slot */
};

struct snapwin {
	struct snapwin_slot *slots;
	size_t cap; /* power of two */
	size_t count;
};

/* FNV-1a, 64 bits */
static uint64_t snapwin_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct snapwin *snapwin_new(void)
{
	struct snapwin *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->cap = 64;
	w->slots = calloc(w->cap, sizeof *w->slots);
	if (!w->slots) {
		free(w);
		return NULL;
	}
	return w;
}

void snapwin_clear(struct snapwin *w)
{
	for (size_t i = 0; i < w->cap; i++) {
		free(w->slots[i].key);
		w->slots[i].key = NULL;
	}
	w->count = 0;
}

void snapwin_free(struct snapwin *w)
{
	if (!w)
		return;
	snapwin_clear(w);
	free(w->slots);
	free(w);
}

static struct snapwin_slot *snapwin_find(struct snapwin_slot *slots, size_t cap, uint64_t h, const void *key,
                                         size_t len)
{
	for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct snapwin_slot *s = &slots[i];

		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

static int snapwin_grow(struct snapwin *w)
{
	size_t cap = w->cap * 2;
	struct snapwin_slot *n = calloc(cap, sizeof *n);

	if (!n)
		return -1;
	for (size_t i = 0; i < w->cap; i++)
		if (w->slots[i].key)
			*snapwin_find(n, cap, w->slots[i].hash, w->slots[i].key, w->slots[i].len) = w->slots[i];
	free(w->slots);
	w->slots = n;
	w->cap = cap;
	return 0;
}

int snapwin_add(struct snapwin *w, const void *key, size_t len)
{
	uint64_t h = snapwin_hash(key, len);
	struct snapwin_slot *s;

	if ((w->count + 1) * 2 > w->cap && snapwin_grow(w) < 0)
		return -1;
	s = snapwin_find(w->slots, w->cap, h, key, len);
	if (s->key)
		return 0;
	s->key = malloc(len ? len : 1);
	if (!s->key)
		return -1;
	memcpy(s->key, key, len);
	s->len = len;
	s->hash = h;
	w->count++;
	return 0;
}

bool snapwin_has(const struct snapwin *w, const void *key, size_t len)
{
	return snapwin_find(w->slots, w->cap, snapwin_hash(key, len), key, len)->key != NULL;
}

size_t snapwin_count(const struct snapwin *w)
{
	return w->count;
}
