/* table_schema.h: the Avro writer schemas of one version of one source table: the envelope (value) and
 * the key. Built from a pgoutput Relation message; a new Relation message (a schema change) gives a new
 * table_schema with a new fingerprint.
 *
 * Schema id: CRC-64-AVRO of the exact schema JSON text that is published (compact, deterministic), so the
 * id names one schema including its logical types (the Parsing Canonical Form would drop them).
 * Every schema is published to the topic `<topic_prefix>._schemas` (key = id as 16 lowercase hex digits,
 * value = the JSON) before the first message that uses it. */
#ifndef CLEAVE_TABLE_SCHEMA_H
#define CLEAVE_TABLE_SCHEMA_H

#include <stdint.h>

#include "capture/pgoutput.h"
#include "common/err.h"
#include "schema/coltype.h"

struct ts_column {
	char *name;      /* PostgreSQL column name */
	char *avro_name; /* the Avro field name: name with characters Avro forbids replaced (unique) */
	struct coltype type;
	bool key;        /* part of the replica identity */
	char *missing;   /* table_schema_new_ex's missing value (PostgreSQL text), or NULL */
};

struct table_schema {
	char *nspname;
	char *relname;
	uint32_t relid;
	int ncols;
	struct ts_column *cols;
	int nkeys;              /* 0: the table has no replica identity */
	char *value_json;       /* envelope schema */
	uint64_t value_id;
	char *key_json;         /* key schema (record of the key columns); NULL when nkeys == 0 */
	uint64_t key_id;
	int nunknown;           /* columns whose type is not known (carried as text) */
};

/* Builds the schemas for `rel` under topic prefix `prefix` (used as the Avro namespace root and as
 * source.name). Validates both JSON texts with avro-c. Returns NULL with err on failure. Caller frees. */
struct table_schema *table_schema_new(const char *prefix, const struct pgo_relation *rel, struct cerr *err);
/* table_schema_new, with missing (NULL, or one entry per column of rel, each NULL or the PostgreSQL text of
 * the value that rows older than the column's ADD COLUMN ... DEFAULT hold: pg_attribute.attmissingval),
 * written to the Value field as "cleave.missing". */
struct table_schema *table_schema_new_ex(const char *prefix, const struct pgo_relation *rel,
                                         const char *const *missing, struct cerr *err);
void table_schema_free(struct table_schema *ts);

/* Whether a column of type t has a "string" branch after its type in its union ([null, T, string
 * (, cleave.Unchanged)]): a decimal's NaN and an array's text when it has more than one dimension or explicit
 * bounds (schema/pgtext.h, PGTEXT_SPECIAL). Key schemas use the same unions without cleave.Unchanged. */
bool table_schema_has_string_branch(const struct coltype *t);

#endif
