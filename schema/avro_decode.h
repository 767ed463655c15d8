/* avro_decode.h: decodes a single-object-encoded Avro value into JSON (jansson) with avro-c, given its
 * writer schema JSON. Logical types are interpreted from the schema JSON (avro-c ignores them):
 *   decimal -> JSON string "-12.340" (exact, with the schema's scale)   bytes -> string "\\x0aff"
 *   date -> integer days; time/timestamps -> integer micros             float/double NaN/±Inf -> "NaN",
 *   "Infinity", "-Infinity"; unions -> the branch's value; cleave.Unchanged -> {"unchanged": true};
 *   records -> objects by field name; arrays -> arrays.
 * Used by tests, and by sinks to read events. */
#ifndef CLEAVE_AVRO_DECODE_H
#define CLEAVE_AVRO_DECODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Not named avro_reader_*: avro-c owns that prefix (its avro_reader_free() would clash at compile and
 * link time). */
struct avro_decoder; /* a parsed writer schema, reusable for many values; one thread at a time */

/* Parses the writer schema JSON (with jansson and avro-c). Returns NULL with err when either rejects
 * it. avro_decoder_free(NULL) is a no-op. */
struct avro_decoder *avro_decoder_new(const char *schema_json, struct cerr *err);
void avro_decoder_free(struct avro_decoder *d);

/* Decodes body bytes (after the single-object header). Returns a new reference, or NULL with err for
 * bytes that are not exactly one value of the schema (never reads outside [p, p+n)). */
json_t *avro_decoder_decode(struct avro_decoder *d, const void *p, size_t n, struct cerr *err);

/* The JSON string of a decimal (see above) from its two's-complement big-endian unscaled integer p[0..n)
 * and scale; NULL with err when it is too long or the scale out of range. Shared with schema/avro_plan.c,
 * which handles short ones itself. */
json_t *avro_decimal_json(const uint8_t *p, size_t n, int64_t scale, struct cerr *err);

#endif
