/* coltype.h: how a PostgreSQL column type (type OID + typmod) is carried in Avro (SPEC.md §5). */
#ifndef CLEAVE_COLTYPE_H
#define CLEAVE_COLTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum coltype_kind {
	CT_BOOLEAN,     /* boolean */
	CT_INT,         /* int: smallint, integer */
	CT_LONG,        /* long: bigint */
	CT_FLOAT,       /* float: real */
	CT_DOUBLE,      /* double: double precision */
	CT_DECIMAL,     /* bytes, logicalType decimal(precision, scale): numeric(p,s) */
	CT_NUMERIC,     /* string: numeric without typmod (any precision, NaN, ±Infinity) */
	CT_STRING,      /* string: text, varchar(n), char(n) */
	CT_BYTES,       /* bytes: bytea */
	CT_DATE,        /* int, logicalType date: days since 1970-01-01 */
	CT_TIME,        /* long, logicalType time-micros */
	CT_TIMESTAMP,   /* long, logicalType local-timestamp-micros */
	CT_TIMESTAMPTZ, /* long, logicalType timestamp-micros, UTC */
	CT_UUID,        /* string, logicalType uuid */
	CT_JSON,        /* string: json, jsonb */
	CT_TEXT_FORM,   /* string: the text form of interval, inet, ranges... (coltype.c lists the built-in ones),
	                 * enum, domain, composite, extension and any other type */
	CT_ARRAY,       /* array of `elem` (items are nullable); one with more dimensions or explicit bounds
	                 * travels as its text in the union's string branch (schema/pgtext.h) */
};

struct coltype {
	enum coltype_kind kind;
	enum coltype_kind elem; /* CT_ARRAY only: the element's kind (never CT_ARRAY) */
	int precision;          /* CT_DECIMAL (or an array of it) */
	int scale;
	int32_t maxlen;         /* varchar(n)/char(n): n; otherwise -1 */
	uint32_t pg_oid;
	int32_t pg_typmod;
	bool known;             /* false: a type cleave has no mapping for, carried as text */
};

/* Fills *out for a column of type `oid` with modifier `typmod` (as in a pgoutput Relation message).
 * Built-in types listed in coltype.c map to their kind (arrays of them to CT_ARRAY, except box[], which is
 * CT_TEXT_FORM as a whole: its elements are separated by ';'). Other OIDs map to CT_TEXT_FORM: known =
 * false below 16384 (a built-in type cleave does not list), known = true for user-defined types (enums,
 * domains, composites, extension types and their arrays: >= 16384). */
void coltype_from_pg(uint32_t oid, int32_t typmod, struct coltype *out);

/* The PostgreSQL spelling of the type, e.g. "numeric(12,2)", "varchar(40)", "integer[]"; NULL-safe buffer. */
void coltype_pg_name(const struct coltype *t, char *out, size_t outlen);

/* The element type OID of an array type cleave maps (1007 -> 23), or 0. */
uint32_t coltype_elem_oid(uint32_t array_oid);

/* The range of a CT_INT or CT_LONG column's values (smallint, integer or bigint). */
void coltype_int_range(const struct coltype *t, int64_t *lo, int64_t *hi);

#endif
