/* avro_names.h: the named types (record, error, enum, fixed) that an Avro schema, parsed as JSON, defines,
 * with their full names and namespaces (Avro's rules), and the lookups both of cleave's decoders need
 * (schema/avro_decode.c, schema/avro_plan.c): by definition node and by a name written in a namespace. */
#ifndef CLEAVE_AVRO_NAMES_H
#define CLEAVE_AVRO_NAMES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct avro_named {
	char *fullname;
	char *ns;          /* the namespace its fields and nested definitions inherit */
	const json_t *def; /* its definition object, inside the schema */
	void *data;        /* the user's (avro_plan: the compiled node) */
};

struct avro_names {
	struct avro_named *v;
	size_t n;
};

/* "record", "error", "enum" or "fixed". */
bool avro_named_kind(const char *type);

/* Fills names (zeroed by the caller) with every named type defined in schema. Fails on a named type
 * without a name, nesting deeper than max_depth, or out of memory; avro_names_free then frees what was
 * registered. */
int avro_names_collect(struct avro_names *names, const json_t *schema, int max_depth, struct cerr *err);
void avro_names_free(struct avro_names *names);

/* The named type defined by def; NULL if none. */
struct avro_named *avro_names_by_def(const struct avro_names *names, const json_t *def);
/* The named type a reference `ref` written inside namespace ns means ("ns.ref" first when ref has no
 * dot, then ref itself); NULL with err when there is none. */
struct avro_named *avro_names_resolve(const struct avro_names *names, const char *ref, const char *ns,
                                      struct cerr *err);

#endif
