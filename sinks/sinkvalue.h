/* sinkvalue.h: a decoded event value (schema/avro_decode.h's JSON for the column's Avro type) turned into
 * the text a target engine accepts for the column type SPEC.md §5 gives it, and those column types'
 * DDL. Pure: no I/O. */
#ifndef CLEAVE_SINKVALUE_H
#define CLEAVE_SINKVALUE_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "schema/coltype.h"

enum sinkvalue_engine { SINKVALUE_PG, SINKVALUE_MYSQL };

/* Appends the value's text for engine to out (no quoting: for a bound parameter or COPY after escaping).
 * PostgreSQL: the type's input form ("2024-01-02 03:04:05.123456", "infinity", "NaN", "\\x0aff", array
 * literals "{1,NULL,\"a b\"}", "t"/"f"). MySQL: DATETIME(6) text in UTC for timestamptz, "1"/"0",
 * raw bytes for LONGBLOB, JSON text for arrays, DECIMAL text. Returns 0, or -1 with a non-retriable err
 * when the engine's column type cannot hold the value (e.g. NaN or infinity in MySQL): err says which. */
int sinkvalue_text(enum sinkvalue_engine engine, const struct coltype *t, const json_t *v, struct buf *out,
                   struct cerr *err);

/* The target column type for t (SPEC.md §5): PostgreSQL "numeric(12,2)", "timestamp with time zone",
 * "integer[]", "text" for text forms...; MySQL "DECIMAL(12,2)", "DATETIME(6)", "JSON", "LONGBLOB",
 * "VARCHAR(n)"/"TEXT"... Writes into out (NUL-terminated, truncated to outlen). */
void sinkvalue_ddl_type(enum sinkvalue_engine engine, const struct coltype *t, char *out, size_t outlen);

/* Whether an existing target column of type `declared` can hold every value of t without loss.
 * `declared` is PostgreSQL's format_type(atttypid, atttypmod) ("numeric(12,2)", "character varying(40)",
 * "timestamp with time zone", "integer[]") or MySQL's information_schema.COLUMNS.COLUMN_TYPE
 * ("decimal(12,2)", "varchar(40)", "datetime(6)", "tinyint(1)", "json", "longblob"), lowercase. */
int sinkvalue_compatible(enum sinkvalue_engine engine, const struct coltype *t, const char *declared);

#endif
