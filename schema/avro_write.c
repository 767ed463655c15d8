/* avro_write.c: the Avro binary encoding primitives (see avro_write.h). Called by schema/pgtext.c for
 * column values and by schema/envelope.c for the envelope around them.
 *
 * Each writer reserves the whole encoding first, so a value that does not fit under the buffer's limit
 * leaves the buffer unchanged. */
#include "schema/avro_write.h"

#include <string.h>

/* A zigzag varint of a 64-bit value needs at most ceil(64 / 7) = 10 bytes. */
#define AVRO_VARINT_MAX 10

/* Zigzag maps 0, -1, 1, -2, ... to 0, 1, 2, 3, ... so small magnitudes of either sign stay short; the
 * result is then written 7 bits at a time, low group first, with the high bit set on all but the last. */
static size_t avro_varint(uint8_t *out, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
	size_t n = 0;

	while (z >= 0x80) {
		out[n++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	out[n++] = (uint8_t)z;
	return n;
}

int avro_put_long(struct buf *b, int64_t v)
{
	uint8_t x[AVRO_VARINT_MAX];

	return buf_append(b, x, avro_varint(x, v));
}

int avro_put_bool(struct buf *b, bool v)
{
	return buf_putc(b, v ? 1 : 0);
}

/* float: the 4 bytes of the IEEE 754 binary32 value, little-endian. */
int avro_put_float(struct buf *b, float v)
{
	uint32_t u;
	uint8_t x[4];
	int i;

	memcpy(&u, &v, sizeof u);
	for (i = 0; i < 4; i++)
		x[i] = (uint8_t)(u >> (8 * i));
	return buf_append(b, x, sizeof x);
}

/* double: the 8 bytes of the IEEE 754 binary64 value, little-endian. */
int avro_put_double(struct buf *b, double v)
{
	uint64_t u;
	uint8_t x[8];
	int i;

	memcpy(&u, &v, sizeof u);
	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(u >> (8 * i));
	return buf_append(b, x, sizeof x);
}

/* bytes and string: the length as a long, then the bytes. */
int avro_put_bytes(struct buf *b, const void *p, size_t n)
{
	uint8_t x[AVRO_VARINT_MAX];
	size_t hl;

	if (n > (size_t)INT64_MAX)
		return -1;
	hl = avro_varint(x, (int64_t)n);
	if (buf_reserve(b, hl + n) < 0)
		return -1;
	if (buf_append(b, x, hl) < 0 || buf_append(b, p, n) < 0)
		return -1; /* not reached: reserved above */
	return 0;
}

/* Single-object encoding: Int16 marker C3 01, then Int64 fingerprint little-endian. */
int avro_put_soe_header(struct buf *b, uint64_t fingerprint)
{
	uint8_t x[AVRO_SOE_HEADER_LEN];
	int i;

	x[0] = 0xC3;
	x[1] = 0x01;
	for (i = 0; i < 8; i++)
		x[2 + i] = (uint8_t)(fingerprint >> (8 * i));
	return buf_append(b, x, sizeof x);
}

int avro_get_soe_header(const void *p, size_t n, uint64_t *fingerprint)
{
	const uint8_t *s = p;
	uint64_t fp = 0;
	int i;

	if (!s || n < AVRO_SOE_HEADER_LEN || s[0] != 0xC3 || s[1] != 0x01)
		return -1;
	for (i = 0; i < 8; i++)
		fp |= (uint64_t)s[2 + i] << (8 * i);
	if (fingerprint)
		*fingerprint = fp;
	return 0;
}
