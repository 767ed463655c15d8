/* canon.c: see canon.h. Every expression here has a twin for the other engine; a change to one side
 * needs the same change to the other, and a test in tests/unit/test_reconcile_canon.c and
 * tests/integration/test_reconcile.c (identical data of every type must hash identically). */
#include "reconcile/canon.h"

#include <string.h>

#define OID_INT2 21u
#define OID_BPCHAR 1042u
#define OID_BPCHAR_ARRAY 1014u
#define OID_JSON 114u
#define OID_JSONB 3802u

/* jit = off: the planner cannot estimate the set-returning functions in the array expressions (1000 rows
 * each), so even a query over a few rows looked expensive enough to JIT-compile, which took seconds per
 * query; the passes over whole tables gain nothing measurable from it either. */
const char canon_pg_session[] = "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = postgres; SET TimeZone = 'UTC';"
                                " SET extra_float_digits = 3; SET bytea_output = hex; SET jit = off";

enum canon_key_class canon_key_class(const struct coltype *t)
{
	switch (t->kind) {
	case CT_INT:
	case CT_LONG:
		return CANON_KEY_INT;
	case CT_STRING:
		return t->pg_oid == OID_BPCHAR ? CANON_KEY_CANON : CANON_KEY_TEXT;
	case CT_UUID:
		return CANON_KEY_TEXT;
	default:
		return CANON_KEY_CANON;
	}
}

bool canon_self_delimiting(const struct coltype *t)
{
	switch (t->kind) {
	case CT_BOOLEAN:
	case CT_INT:
	case CT_LONG:
	case CT_FLOAT:
	case CT_DOUBLE:
	case CT_DECIMAL:
	case CT_BYTES:
	case CT_DATE:
	case CT_TIME:
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ:
		return true;
	default:
		return false;
	}
}

bool canon_json_compare(enum sinkvalue_engine target, const struct coltype *t)
{
	return target == SINKVALUE_MYSQL && (t->kind == CT_JSON || t->kind == CT_ARRAY);
}

int canon_quote_ident(enum sinkvalue_engine engine, const char *name, struct buf *out)
{
	char q = engine == SINKVALUE_PG ? '"' : '`';

	if (buf_putc(out, (uint8_t)q) < 0)
		return -1;
	for (const char *p = name; *p; p++)
		if ((*p == q && buf_putc(out, (uint8_t)q) < 0) || buf_putc(out, (uint8_t)*p) < 0)
			return -1;
	return buf_putc(out, (uint8_t)q);
}

/* Appends tmpl with every '@' replaced by arg. */
static int canon_subst(struct buf *out, const char *tmpl, const char *arg)
{
	for (const char *p = tmpl; *p; p++)
		if ((*p == '@' ? buf_puts(out, arg) : buf_putc(out, (uint8_t)*p)) < 0)
			return -1;
	return 0;
}

/* Appends outer with '@' replaced by (inner with '@' replaced by arg). */
static int canon_subst2(struct buf *out, const char *outer, const char *inner, const char *arg)
{
	struct buf in;
	int rc;

	buf_init(&in, 0);
	rc = canon_subst(&in, inner, arg) < 0 || buf_putc(&in, 0) < 0 ? -1 : canon_subst(out, outer, (char *)in.data);
	buf_free(&in);
	return rc;
}

/* The canonical float text [-]DIGITS e EXP from the engine's shortest round-trip text of a double (@):
 * PostgreSQL writes "1e+300", "1e-05", "0.30000000000000004"; MariaDB "1e300", "0.00001". Both give the
 * same digits; only where the point and the exponent go differs, which this takes out. NaN and infinity
 * (PostgreSQL only) stay as they are. */
static const char canon_pg_float[] =
	"(SELECT CASE WHEN t IN ('NaN', 'Infinity', '-Infinity') THEN t"
	" WHEN rtrim(ltrim(i || f, '0'), '0') = '' THEN '0'"
	" ELSE CASE WHEN left(t, 1) = '-' THEN '-' ELSE '' END || rtrim(ltrim(i || f, '0'), '0') || 'e' ||"
	" ((CASE WHEN position('e' IN t) > 0 THEN split_part(t, 'e', 2)::int ELSE 0 END) + length(i)"
	" - (length(i || f) - length(ltrim(i || f, '0'))))::text END"
	" FROM (SELECT t, split_part(split_part(ltrim(t, '-'), 'e', 1), '.', 1) AS i,"
	" split_part(split_part(ltrim(t, '-'), 'e', 1), '.', 2) AS f FROM (SELECT (@)::text AS t) a) b)";

/* The same in MySQL, which has no lateral subquery: @ is repeated (it is a cheap CAST). */
#define MY_M "SUBSTRING_INDEX(TRIM(LEADING '-' FROM @), 'e', 1)"
#define MY_I "SUBSTRING_INDEX(" MY_M ", '.', 1)"
#define MY_F "IF(LOCATE('.', " MY_M ") > 0, SUBSTRING_INDEX(" MY_M ", '.', -1), '')"
#define MY_DIG "CONCAT(" MY_I ", " MY_F ")"
#define MY_D "TRIM(TRAILING '0' FROM TRIM(LEADING '0' FROM " MY_DIG "))"
static const char canon_my_float[] =
	"IF(" MY_D " = '', '0', CONCAT(IF(LEFT(@, 1) = '-', '-', ''), " MY_D ", 'e',"
	" IF(LOCATE('e', @) > 0, CAST(SUBSTRING_INDEX(@, 'e', -1) AS SIGNED), 0) + LENGTH(" MY_I ")"
	" - (LENGTH(" MY_DIG ") - LENGTH(TRIM(LEADING '0' FROM " MY_DIG ")))))";

/* One item of a MySQL JSON array as sinkvalue.c writes it (e is the element): integers, finite floats and
 * booleans bare, json as it is, everything else as a JSON string of PostgreSQL's own text of the element. */
static const char *canon_pg_json_item(const struct coltype *t)
{
	switch (t->elem) {
	case CT_BOOLEAN:
		return "CASE WHEN e THEN 'true' ELSE 'false' END";
	case CT_INT:
	case CT_LONG:
		return "e::text";
	case CT_FLOAT:
	case CT_DOUBLE:
		return "CASE WHEN e::text IN ('NaN', 'Infinity', '-Infinity') THEN '\"' || e::text || '\"' ELSE e::text END";
	case CT_DECIMAL:
	case CT_NUMERIC:
	case CT_DATE:
	case CT_TIME:
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ: /* PostgreSQL's own text of the element (the session's TimeZone is UTC) */
		return "'\"' || e::text || '\"'";
	case CT_BYTES:
		return "to_json('\\x' || encode(e, 'hex'))::text";
	case CT_JSON:
		return "e::text";
	case CT_STRING: /* character(n) keeps its blanks in the sink's JSON: its own output, not ::text */
		return t->pg_oid == OID_BPCHAR_ARRAY ? "to_json(e)::text" : "to_json(e::text)::text";
	default:
		return "to_json(e::text)::text";
	}
}

/* An array as the JSON text the sink writes into MySQL: "[1, null, 3]" (items joined by ", "); one with more
 * dimensions nested, "[[1, 2], [3, 4]]": unnest() gives the items in row-major order, and before item o
 * (1-based) opens one '[' per dimension k whose block (the product of the lengths of dimensions k..n)
 * starts there, after it closes one ']' per block that ends there. */
static int canon_pg_json_array(const struct coltype *t, const char *c, struct buf *out)
{
	const char *item = canon_pg_json_item(t);

	if (buf_puts(out, "CASE WHEN ") < 0 || buf_puts(out, c) < 0 ||
	    buf_puts(out, " IS NULL THEN NULL WHEN array_ndims(") < 0 || buf_puts(out, c) < 0 ||
	    buf_puts(out, ") > 1 THEN (SELECT string_agg(repeat('[', op) || CASE WHEN e IS NULL THEN 'null' ELSE ") < 0 ||
	    buf_puts(out, item) < 0 ||
	    buf_puts(out, " END || repeat(']', cl), ', ' ORDER BY o) FROM unnest(") < 0 || buf_puts(out, c) < 0 ||
	    buf_puts(out, ") WITH ORDINALITY u(e, o), LATERAL (SELECT (count(*) FILTER (WHERE (o - 1) % b = 0))::int AS op,"
	                  " (count(*) FILTER (WHERE o % b = 0))::int AS cl FROM (SELECT (SELECT round(exp(sum(ln(array_length(") < 0 ||
	    buf_puts(out, c) < 0 || buf_puts(out, ", j)))))::bigint FROM generate_series(k, array_ndims(") < 0 ||
	    buf_puts(out, c) < 0 || buf_puts(out, ")) j) AS b FROM generate_series(1, array_ndims(") < 0 ||
	    buf_puts(out, c) < 0 || buf_puts(out, ")) k) bs) n)") < 0 ||
	    buf_puts(out, " ELSE (SELECT '[' || coalesce(string_agg(CASE WHEN e IS NULL THEN 'null' ELSE ") < 0 ||
	    buf_puts(out, item) < 0 ||
	    buf_puts(out, " END, ', ' ORDER BY o), '') || ']' FROM unnest(") < 0 || buf_puts(out, c) < 0 ||
	    buf_puts(out, ") WITH ORDINALITY u(e, o)) END") < 0)
		return -1;
	return 0;
}

/* PostgreSQL source side for a MySQL target. */
static int canon_pg_for_mysql(const struct coltype *t, const char *c, struct buf *out)
{
	switch (t->kind) {
	case CT_BOOLEAN:
		return canon_subst(out, "CASE WHEN @ THEN '1' WHEN NOT @ THEN '0' END", c);
	case CT_INT:
	case CT_LONG:
	case CT_DECIMAL:
	case CT_NUMERIC:
	case CT_UUID:
	case CT_TEXT_FORM:
		return canon_subst(out, "@::text", c);
	case CT_JSON: /* what the sink writes: the value's own text */
		return canon_subst(out, "@::text", c);
	case CT_STRING: /* bpchar::text drops the trailing blanks, as MySQL's CHAR does when read */
		return canon_subst(out, t->pg_oid == OID_BPCHAR ? "rtrim(@::text, ' ')" : "@::text", c);
	case CT_FLOAT:
	case CT_DOUBLE:
		return canon_subst2(out, canon_pg_float, "@::float8::text", c);
	case CT_BYTES:
		return canon_subst(out, "encode(@, 'hex')", c);
	case CT_DATE:
		return canon_subst(out, "@::text", c);
	case CT_TIME:
		return canon_subst(out, "CASE WHEN @ = '24:00:00' THEN '24:00:00.000000' ELSE to_char(@, 'HH24:MI:SS.US') END",
		                   c);
	case CT_TIMESTAMP:
		return canon_subst(out, "CASE WHEN isfinite(@) THEN to_char(@, 'YYYY-MM-DD HH24:MI:SS.US') ELSE @::text END",
		                   c);
	case CT_TIMESTAMPTZ:
		return canon_subst(out,
		                   "CASE WHEN isfinite(@) THEN to_char(@ AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
		                   " ELSE @::text END",
		                   c);
	case CT_ARRAY:
		return canon_pg_json_array(t, c, out);
	}
	return canon_subst(out, "@::text", c);
}

/* MySQL target side. Texts are converted to utf8mb4 so their bytes are PostgreSQL's UTF-8 whatever the
 * column's character set. */
static int canon_mysql(const struct coltype *t, const char *c, struct buf *out)
{
	switch (t->kind) {
	case CT_BOOLEAN:
		return canon_subst(out, "CAST(@ AS CHAR)", c);
	case CT_INT:
	case CT_LONG:
		return canon_subst(out, "CAST(@ AS CHAR)", c);
	case CT_DECIMAL:
	case CT_NUMERIC: /* DECIMAL(p,s), or the numeric's text in a VARCHAR */
		return canon_subst(out, "CAST(@ AS CHAR)", c);
	case CT_FLOAT:
	case CT_DOUBLE:
		return canon_subst2(out, canon_my_float, "CAST(CAST(@ AS DOUBLE) AS CHAR)", c);
	case CT_STRING:
		return canon_subst(out,
		                   t->pg_oid == OID_BPCHAR ? "TRIM(TRAILING ' ' FROM CONVERT(@ USING utf8mb4))"
		                                           : "CONVERT(@ USING utf8mb4)",
		                   c);
	case CT_BYTES:
		return canon_subst(out, "LOWER(HEX(@))", c);
	case CT_DATE:
		return canon_subst(out, "DATE_FORMAT(@, '%Y-%m-%d')", c);
	case CT_TIME:
		return canon_subst(out, "TIME_FORMAT(@, '%H:%i:%s.%f')", c);
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ:
		return canon_subst(out, "DATE_FORMAT(@, '%Y-%m-%d %H:%i:%s.%f')", c);
	case CT_UUID:
	case CT_JSON:
	case CT_ARRAY: /* the JSON text the sink wrote */
	case CT_TEXT_FORM:
		return canon_subst(out, "CONVERT(@ USING utf8mb4)", c);
	}
	return canon_subst(out, "CONVERT(@ USING utf8mb4)", c);
}

/* PostgreSQL on both sides: PostgreSQL's own text; json becomes jsonb in the target (SPEC.md §5). */
static int canon_pg_pg(const struct coltype *t, const char *c, struct buf *out)
{
	bool json = t->kind == CT_JSON || (t->kind == CT_ARRAY && t->elem == CT_JSON);

	if (json)
		return canon_subst(out, t->kind == CT_ARRAY ? "@::jsonb[]::text" : "@::jsonb::text", c);
	return canon_subst(out, "@::text", c);
}

/* The hash function of the kind's values (the extended hash support function of the type's default hash
 * operator class, so equal values hash alike exactly as in hash_record_extended), as a template: '@' is the
 * value, '$' the seed. Kinds whose support function takes another type than the column's (date, boolean,
 * bytea) go through hash_record_extended of a one-column row. */
static const char *canon_pg_hash_fn(const struct coltype *t)
{
	switch (t->kind) {
	case CT_INT: /* the column's own width: a target of another type hashes texts (rs_column.loose) */
		return t->pg_oid == OID_INT2 ? "hashint2extended(@, $)" : "hashint4extended(@, $)";
	case CT_LONG:
		return "hashint8extended(@, $)";
	case CT_FLOAT:
	case CT_DOUBLE: /* real widens exactly; hashfloat4extended is defined as the double's hash */
		return "hashfloat8extended(@, $)";
	case CT_DECIMAL:
	case CT_NUMERIC:
		return "hash_numeric_extended(@, $)";
	case CT_STRING: /* character(n) becomes text without its trailing blanks, as hashbpcharextended ignores them */
		return "hashtextextended(@, $)";
	case CT_TEXT_FORM:
		return "hashtextextended(@::text, $)";
	case CT_UUID:
		return "uuid_hash_extended(@, $)";
	case CT_JSON:
		return "jsonb_hash_extended(@::jsonb, $)";
	case CT_TIME:
		return "time_hash_extended(@, $)";
	case CT_TIMESTAMP:
		return "timestamp_hash_extended(@, $)";
	case CT_TIMESTAMPTZ: /* as timestamp in the session's TimeZone, UTC on both sides (canon_pg_session):
	                      * cheaper than a one-column row */
		return "timestamp_hash_extended(@::timestamp, $)";
	case CT_ARRAY:
		if (t->elem == CT_JSON)
			return "hash_array_extended(@::jsonb[], $)";
		if (t->elem == CT_TEXT_FORM)
			return "hashtextextended(@::text, $)";
		return "hash_array_extended(@, $)";
	default:
		return "hash_record_extended(ROW(@), $)";
	}
}

int canon_pg_hash_value(const struct coltype *t, const char *qcol, int seed, struct buf *out)
{
	if (buf_puts(out, "coalesce(") < 0)
		return -1;
	for (const char *p = canon_pg_hash_fn(t); *p; p++) {
		int e = *p == '@' ? buf_puts(out, qcol) : *p == '$' ? buf_printf(out, "%d", seed) : buf_putc(out, (uint8_t)*p);

		if (e < 0)
			return -1;
	}
	return buf_puts(out, ", 0)");
}

int canon_pg_hash_text(const struct coltype *t, const char *qcol, int seed, struct buf *out)
{
	if (buf_puts(out, "coalesce(hashtextextended(") < 0 || canon_pg_pg(t, qcol, out) < 0)
		return -1;
	return buf_printf(out, ", %d), 0)", seed);
}

int canon_expr(enum sinkvalue_engine target, enum canon_side side, const struct coltype *t, const char *qcol,
               struct buf *out)
{
	if (target == SINKVALUE_PG)
		return canon_pg_pg(t, qcol, out);
	return side == CANON_SOURCE ? canon_pg_for_mysql(t, qcol, out) : canon_mysql(t, qcol, out);
}
