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

struct avro_reader; /* a parsed writer schema, reusable for many values */

struct avro_reader *avro_reader_new(const char *schema_json, struct cerr *err);
void avro_reader_free(struct avro_reader *r);

/* Decodes body bytes (after the single-object header). Returns a new reference, or NULL with err. */
json_t *avro_reader_decode(struct avro_reader *r, const void *p, size_t n, struct cerr *err);

#endif
