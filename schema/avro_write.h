/* avro_write.h: the Avro binary encoding primitives (Avro 1.11 spec, "Binary Encoding").
 * Written by hand because this is the per-value hot path and avro-c has no logical types; avro-c is used
 * to validate the schemas and to decode (schema/avro_decode.h). Each returns 0 or -1 (buffer limit). */
#ifndef CLEAVE_AVRO_WRITE_H
#define CLEAVE_AVRO_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

__attribute__((warn_unused_result)) int avro_put_long(struct buf *b, int64_t v); /* zigzag varint; int too */
__attribute__((warn_unused_result)) int avro_put_bool(struct buf *b, bool v);
__attribute__((warn_unused_result)) int avro_put_float(struct buf *b, float v);
__attribute__((warn_unused_result)) int avro_put_double(struct buf *b, double v);
__attribute__((warn_unused_result)) int avro_put_bytes(struct buf *b, const void *p, size_t n); /* string too */

/* Avro single-object encoding header: C3 01 then the 8-byte little-endian schema fingerprint. */
#define AVRO_SOE_HEADER_LEN 10
__attribute__((warn_unused_result)) int avro_put_soe_header(struct buf *b, uint64_t fingerprint);
/* Reads the header; returns 0 and the fingerprint, or -1 when the bytes do not start with one. */
int avro_get_soe_header(const void *p, size_t n, uint64_t *fingerprint);

#endif
