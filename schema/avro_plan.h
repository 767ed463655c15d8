/* avro_plan.h: a fast decoder of Avro binary into the same JSON as schema/avro_decode.h gives (same
 * logical types, same unions, cleave.Unchanged -> {"unchanged": true}). The writer schema is compiled
 * once into a plan, a tree of typed nodes, so decoding a value does no name lookups, no string compares
 * and builds no avro-c value on the way: it reads the bytes straight into jansson values.
 *
 * Why: sinks decode every event, and avro_decode.c (avro-c's generic value, then a conversion walking the
 * schema JSON) was most of a sink's CPU time. avro_decode.c stays the reference: test_avro_plan checks
 * that both give equal JSON for every type, edge values and damaged bytes.
 *
 * A pick decodes only some fields of the top-level record ("op", "source.seq"...): the others are walked
 * with the same bounds checks but nothing is built for them (strings there are not checked for UTF-8).
 * Like avro_decode.c it survives any bytes: it never reads outside [p, p+n). */
#ifndef CLEAVE_AVRO_PLAN_H
#define CLEAVE_AVRO_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct avro_plan;      /* a compiled writer schema; once its picks are made, decoding only reads it
                        * (several threads may decode at once; avro_plan_pick is then no longer called) */
struct avro_plan_pick; /* a subset of the top-level record's fields; owned by its plan */

/* Compiles the writer schema JSON. Refuses (NULL with err) what avro-c or jansson refuse, as
 * avro_decoder_new does. avro_plan_free(NULL) is a no-op. */
struct avro_plan *avro_plan_new(const char *schema_json, struct cerr *err);
void avro_plan_free(struct avro_plan *pl);

/* Decodes body bytes (after the single-object header): the JSON avro_decoder_decode gives, as a new
 * reference; NULL with err for bytes that are not exactly one value of the schema. */
json_t *avro_plan_decode(const struct avro_plan *pl, const void *p, size_t n, struct cerr *err);

/* Compiles a pick: paths is a NULL-terminated list of top-level field names, or "field.sub" for a field
 * whose type is a record (only sub is decoded of it; a path under a field of another type takes the whole
 * field). Names the schema does not have are ignored. The pick lives as long as the plan. NULL: out of
 * memory. */
const struct avro_plan_pick *avro_plan_pick(struct avro_plan *pl, const char *const *paths, struct cerr *err);

/* Like avro_plan_decode, but the result holds only the picked fields (as avro_plan_decode would give
 * them). A schema whose top level is not a record is decoded whole. */
json_t *avro_plan_decode_pick(const struct avro_plan *pl, const struct avro_plan_pick *pick, const void *p,
                              size_t n, struct cerr *err);

/* A picked scalar as avro_plan_decode_scalars gives it. */
struct avro_plan_scalar {
	enum { AVRO_PLAN_ABSENT, AVRO_PLAN_NULL, AVRO_PLAN_LONG, AVRO_PLAN_STRING } kind;
	int64_t l;     /* LONG: int, long (and their logical types), boolean as 0 or 1 */
	const char *s; /* STRING: string bytes (in the decoded data, not checked for UTF-8) or enum symbol */
	size_t len;    /*         their length (not NUL-terminated) */
};

/* The picked fields without building any JSON, for the few fields read of every event: out[i] gets the
 * field picked by path i of the pick (ABSENT for a path the schema lacks; union branches taken). A picked
 * field of another type (record, array, map, bytes, fixed, float, double) is refused with err, as are
 * bytes that are not exactly one value of the schema. 0, or -1 with err. */
int avro_plan_decode_scalars(const struct avro_plan *pl, const struct avro_plan_pick *pick, const void *p, size_t n,
                             struct avro_plan_scalar *out, size_t nout, struct cerr *err);

/* The first field the pick takes whole, as avro_plan_decode_pick would give it inside its object, without
 * that object (JSON null when the schema lacks it). A schema whose top level is not a record is decoded
 * whole, as by avro_plan_decode_pick. */
json_t *avro_plan_decode_field(const struct avro_plan *pl, const struct avro_plan_pick *pick, const void *p,
                               size_t n, struct cerr *err);

#endif
