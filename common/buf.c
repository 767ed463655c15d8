/* buf.c: see buf.h. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + extra + 1; /* keep room for a terminating NUL */
	if (b->limit && need > b->limit + 1)
		return -1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->limit && ncap > b->limit + 1)
		ncap = b->limit + 1;
	p = realloc(b->data, ncap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_putc(struct buf *b, uint8_t c)
{
	return buf_append(b, &c, 1);
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int buf_put_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return buf_append(b, x, 4);
}

int buf_put_be64(struct buf *b, uint64_t v)
{
	if (buf_put_be32(b, (uint32_t)(v >> 32)) < 0)
		return -1;
	return buf_put_be32(b, (uint32_t)v);
}

const uint8_t *reader_bytes(struct reader *r, size_t n)
{
	const uint8_t *p;

	if (r->failed || n > r->len - r->pos) {
		r->failed = 1;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t reader_u8(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t reader_be16(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t reader_be32(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 4);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}

uint64_t reader_be64(struct reader *r)
{
	uint64_t hi = reader_be32(r);
	uint64_t lo = reader_be32(r);
	return (hi << 32) | lo;
}

const char *reader_cstr(struct reader *r)
{
	const uint8_t *start, *nul;

	if (r->failed)
		return NULL;
	start = r->p + r->pos;
	nul = memchr(start, '\0', r->len - r->pos);
	if (!nul) {
		r->failed = 1;
		return NULL;
	}
	r->pos += (size_t)(nul - start) + 1;
	return (const char *)start;
}
