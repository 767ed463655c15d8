/* snapwin.h: the watermark window of one snapshot chunk copied while streaming (DBLog): the set of Kafka
 * keys of the rows that changed between the chunk's low and high watermarks. A chunk row whose key is in
 * the set is dropped at the high watermark: the streamed change, which is newer than or as new as the
 * copy, stands for it. Keys are compared as the exact bytes of their Avro encoding (envelope_encode_key),
 * so a streamed key and a copied key of the same row are equal. Pure, no I/O. */
#ifndef CLEAVE_SNAPWIN_H
#define CLEAVE_SNAPWIN_H

#include <stdbool.h>
#include <stddef.h>

struct snapwin;

/* NULL when out of memory. snapwin_free(NULL) is a no-op. */
struct snapwin *snapwin_new(void);
void snapwin_free(struct snapwin *w);

/* Remembers key (len bytes, copied). 0, or -1 when out of memory. */
int snapwin_add(struct snapwin *w, const void *key, size_t len);
/* Whether key was added since the last clear. */
bool snapwin_has(const struct snapwin *w, const void *key, size_t len);
/* Keys remembered. */
size_t snapwin_count(const struct snapwin *w);
/* Forgets every key (keeps the memory of the table for the next window). */
void snapwin_clear(struct snapwin *w);

#endif
