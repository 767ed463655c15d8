/* sinkvalue.h: a decoded event value (schema/avro_decode.h's JSON for the column's Avro type) turned into
 * the text a target engine accepts for the column type SPEC.md §5 gives it, and those column types'
 * DDL. Pure: no I/O. */
#ifndef CLEAVE_SINKVALUE_H
#define CLEAVE_SINKVALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "schema/coltype.h"

enum sinkvalue_engine { SINKVALUE_PG, SINKVALUE_MYSQL };

/* Appends the value's text for engine to out (no quoting: for a bound parameter or COPY after escaping).
 * PostgreSQL: the type's input form ("2024-01-02 03:04:05.123456", "infinity", "NaN", "\\x0aff", array
 * literals "{\"1\",NULL,\"a b\"}" with every element quoted, "t"/"f"). MySQL: DATETIME(6) text in UTC
 * for timestamptz, "1"/"0", raw bytes for LONGBLOB (out->len counts them; they may hold NUL), JSON text for
 * arrays (items as docs/types.md says), DECIMAL text. An array's value is a JSON array, or a JSON string
 * holding its PostgreSQL text when it has more dimensions or explicit bounds: PostgreSQL gets that text,
 * MySQL nested JSON arrays (explicit bounds are an error: JSON cannot hold them). v is never NULL/JSON null: callers write NULL themselves. Returns 0, or -1 with a
 * non-retriable err that names the type ("date: MySQL DATE cannot hold infinity") when the value is not
 * one of the type's JSON forms or the engine's column type cannot hold it (NaN or infinity in MySQL), or
 * out's limit is reached; out is then as it was. Pure and reentrant: any thread. */
int sinkvalue_text(enum sinkvalue_engine engine, const struct coltype *t, const json_t *v, struct buf *out,
                   struct cerr *err);

/* The target column type for t (SPEC.md §5): PostgreSQL the source's own type ("numeric(12,2)",
 * "timestamp with time zone", "integer[]", "interval"; "text" for user enums and domains); MySQL
 * "DECIMAL(12,2)", "DATETIME(6)", "JSON", "LONGBLOB", "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
 * (text columns name their character set and collation)... sinkvalue.c lists the MySQL rules. Writes into
 * out (NUL-terminated, truncated to outlen). */
void sinkvalue_ddl_type(enum sinkvalue_engine engine, const struct coltype *t, char *out, size_t outlen);

/* Whether an existing target column of type `declared` can hold every value of t without loss (1) or not
 * (0); a type's own sinkvalue_ddl_type always can. Character sets and collations are not seen.
 * `declared` is PostgreSQL's format_type(atttypid, atttypmod) ("numeric(12,2)", "character varying(40)",
 * "timestamp with time zone", "integer[]") or MySQL's information_schema.COLUMNS.COLUMN_TYPE
 * ("decimal(12,2)", "varchar(40)", "datetime(6)", "tinyint(1)", "json", "longblob"), lowercase. */
int sinkvalue_compatible(enum sinkvalue_engine engine, const struct coltype *t, const char *declared);

/* The target column type for a primary-key column of type t. PostgreSQL: the same as sinkvalue_ddl_type.
 * MySQL cannot index TEXT, BLOB or JSON without a prefix length, and InnoDB keys hold at most 3072 bytes,
 * so where sinkvalue_ddl_type says LONGTEXT, JSON or LONGBLOB a key gets VARCHAR(255) (VARBINARY(255) for
 * bytea; 255 utf8mb4 characters are 1020 bytes, so three such columns fit in one key), and varchar(n) /
 * char(n) with n > 768 get VARCHAR(768). XXX: a longer key value is refused by MySQL (strict mode) when
 * the row is applied, and goes to the dead-letter topic. */
void sinkvalue_ddl_key_type(enum sinkvalue_engine engine, const struct coltype *t, char *out, size_t outlen);

/* sinkvalue_compatible for a primary-key column: also accepts sinkvalue_ddl_key_type's type and wider
 * ones (MySQL "varchar(255)" for a text key). */
int sinkvalue_compatible_key(enum sinkvalue_engine engine, const struct coltype *t, const char *declared);

/* A schema change: an existing target column of type `declared` (as for sinkvalue_compatible) that cannot
 * hold the source's new type t. When a wider type holds both every value the column holds now and every
 * value of t (smallint -> integer -> bigint, integers -> numeric, real -> double precision, numeric(p,s)
 * -> numeric with at least p-s integer digits and scale s, varchar(n) -> varchar(m >= n) or text), writes it
 * to out and returns 1: the column can be altered to it without loss. PostgreSQL gives
 * sinkvalue_ddl_type's (or the key type's, with key) spelling; MySQL the bare type ("VARCHAR(20)",
 * "BIGINT", "DECIMAL(14,4)") without character set and collation, which the column keeps. Returns 0 when
 * no such type exists (a narrowing or a change of kind: the target cannot follow). Pure. */
int sinkvalue_widen(enum sinkvalue_engine engine, const struct coltype *t, bool key, const char *declared, char *out,
                    size_t outlen);

#endif
