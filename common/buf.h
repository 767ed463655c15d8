/* buf.h: growable byte buffers that know their length and a limit, and a bounds-checked reader.
 * A buf owns its data; buf_free() releases it. Appends past `limit` fail instead of growing. */
#ifndef CLEAVE_BUF_H
#define CLEAVE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0: no limit */
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
static inline void buf_reset(struct buf *b) { b->len = 0; }

/* Each returns 0, or -1 when the limit would be passed or memory runs out (buffer unchanged). */
__attribute__((warn_unused_result)) int buf_reserve(struct buf *b, size_t extra);
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *p, size_t n);
__attribute__((warn_unused_result)) int buf_putc(struct buf *b, uint8_t c);
__attribute__((warn_unused_result)) int buf_puts(struct buf *b, const char *s);
__attribute__((warn_unused_result, format(printf, 2, 3))) int buf_printf(struct buf *b, const char *fmt, ...);
/* Big-endian integers, as the PostgreSQL wire protocol wants. */
__attribute__((warn_unused_result)) int buf_put_be32(struct buf *b, uint32_t v);
__attribute__((warn_unused_result)) int buf_put_be64(struct buf *b, uint64_t v);

/* A read cursor over bytes it does not own. Every get checks what remains; after the first failure
 * `failed` stays set and further gets return zero values, so a decoder can check once at the end. */
struct reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int failed;
};

static inline void reader_init(struct reader *r, const void *p, size_t len)
{
	r->p = (const uint8_t *)p;
	r->len = len;
	r->pos = 0;
	r->failed = 0;
}
static inline size_t reader_left(const struct reader *r) { return r->failed ? 0 : r->len - r->pos; }

uint8_t reader_u8(struct reader *r);
uint16_t reader_be16(struct reader *r);
uint32_t reader_be32(struct reader *r);
uint64_t reader_be64(struct reader *r);
/* Returns a pointer to the next n bytes and skips them, or NULL (and sets failed). */
const uint8_t *reader_bytes(struct reader *r, size_t n);
/* Returns the NUL-terminated string at the cursor (pointer into the input) and skips it, or NULL when no
 * NUL comes before the end (and sets failed). */
const char *reader_cstr(struct reader *r);

#endif
