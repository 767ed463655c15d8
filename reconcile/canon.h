/* canon.h: the canonical text of a column value, as an SQL expression each engine evaluates itself, so that
 * reconcile can hash rows inside both databases and equal data gives byte-identical text on both sides:
 * the source PostgreSQL and the target PostgreSQL or MySQL/MariaDB (whose column types follow
 * sinks/sinkvalue.c). Pure: builds SQL text only; docs/reconcile.md lists the forms.
 *
 * Canonical forms (MySQL target; a PostgreSQL target uses PostgreSQL's own text on both sides, with the
 * session settings of canon_pg_session, json as jsonb):
 *   boolean "1"/"0"; integers decimal digits; real/double: the shortest round-trip digits written as
 *   [-]DIGITS "e" EXP meaning 0.DIGITS x 10^EXP ("0" for zero, so -0 = 0); numeric: its text at the
 *   column's scale; char(n): without trailing blanks; bytea: lowercase hex; date "YYYY-MM-DD"; time
 *   "HH:MM:SS.ffffff"; timestamp and timestamptz (in UTC) "YYYY-MM-DD HH:MM:SS.ffffff"; uuid, text and
 *   text forms: the text; json: the text the sink writes (PostgreSQL's own text of the value); arrays:
 *   the JSON text the sink writes ("[1, null, 3]", numerics and times as JSON strings).
 * json and arrays into MySQL can have equal values with different texts (a target row written by
 * something else): canon_json_compare says to compare those columns as parsed JSON when two rows' hashes
 * differ (reconcile/driver.c). */
#ifndef CLEAVE_CANON_H
#define CLEAVE_CANON_H

#include <stdbool.h>

#include "common/buf.h"
#include "schema/coltype.h"
#include "sinks/sinkvalue.h"

/* How a key column is compared in range predicates, the same way on both engines. */
enum canon_key_class {
	CANON_KEY_INT,   /* smallint, integer, bigint: numerically, on the column itself (indexes apply) */
	CANON_KEY_TEXT,  /* text, varchar, uuid: the text bytewise (PostgreSQL COLLATE "C", MySQL BINARY) */
	CANON_KEY_CANON, /* any other type: its canonical text, bytewise */
};

enum canon_key_class canon_key_class(const struct coltype *t);

/* Which side an expression is for: the source is always PostgreSQL. */
enum canon_side { CANON_SOURCE, CANON_TARGET };

/* Appends the SQL expression giving the canonical text (or NULL for NULL) of column `qcol` (already quoted
 * for the side's engine) of type t, for a target of engine `target`, on `side`. Returns 0 or -1 (out's
 * limit). */
int canon_expr(enum sinkvalue_engine target, enum canon_side side, const struct coltype *t, const char *qcol,
               struct buf *out);

/* PostgreSQL on both sides: appends the bigint hash of column qcol's value, seeded with `seed` (the
 * column's position, so a row's column hashes XORed together still tell columns apart), 0 for NULL. It
 * hashes the binary value without making text (fast), with the type's own hash function (the one
 * hash_record_extended would use): json as jsonb (the target's type), text forms as text (a user enum
 * becomes text in the target); equal values of compatible types (int2/int4/int8, float4/float8,
 * text/varchar/char(n)) hash alike. */
int canon_pg_hash_value(const struct coltype *t, const char *qcol, int seed, struct buf *out);
/* The same from the value's canonical text (hashtextextended of canon_expr's PostgreSQL text): for a
 * column whose target type is not the source's (an integer kept in numeric, a uuid in text), where the
 * type's own hash function does not apply to both sides. Slower, equal for equal values all the same. */
int canon_pg_hash_text(const struct coltype *t, const char *qcol, int seed, struct buf *out);

/* Whether the canonical texts of this kind can never hold '|' on either side for a MySQL target: numbers,
 * booleans, bytea (hex), dates and times, which the sink keeps in typed MySQL columns (sinkvalue.c), so
 * no target value can hold one either. A row's hash input ends such a text with '|' instead of prefixing
 * its length, which would evaluate the expression twice; every other text (text, numeric and uuid in
 * VARCHAR, json, arrays, text forms) keeps the length prefix "v<bytes>:". Either way the input parses in
 * one way only, so equal inputs mean equal values. */
bool canon_self_delimiting(const struct coltype *t);

/* Whether two canonical texts of this column that differ may still be equal values (json and arrays in a
 * MySQL target; json in PostgreSQL is compared as jsonb text, which is canonical): compare parsed. */
bool canon_json_compare(enum sinkvalue_engine target, const struct coltype *t);

/* Appends the identifier quoted for the engine: "a""b" (PostgreSQL) or `a``b` (MySQL). */
int canon_quote_ident(enum sinkvalue_engine engine, const char *name, struct buf *out);

/* The statements reconcile runs on every PostgreSQL connection (source and target) first, so the texts
 * of values (dates, floats, bytea, intervals) do not depend on the server's defaults; they are also what
 * schema/pgtext.h expects. Also turns JIT compilation off (canon.c says why). */
extern const char canon_pg_session[];

#endif
