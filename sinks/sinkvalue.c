/* sinkvalue.c: turns one decoded event value (schema/avro_decode.h's JSON for the column's Avro type) into
 * the text a target engine accepts for the column type SPEC.md §5 gives it, spells those column types for
 * CREATE TABLE, and decides whether an existing column can hold a source type. Pure: no I/O, no globals.
 * Called by sinks/target_pg.c and sinks/target_mysql.c for every value they write.
 *
 * Decisions a user sees:
 * - Floats are written with the fewest significant digits that read back as the same value (PostgreSQL's
 *   own output does the same), in the C locale whatever the process locale.
 * - Dates and times are written from the integers of the Avro logical types with a proleptic Gregorian
 *   calendar: astronomical year 0 is 1 BC, as PostgreSQL prints it ("0001-01-01 BC"). Fractions always
 *   have six digits ("12:00:00.000000"), which both engines read exactly.
 * - MySQL cannot hold NaN or infinite floats, NaN decimals in DECIMAL(p,s), dates outside 1000-01-01 ..
 *   9999-12-31 (so no BC and no infinity): those values are errors naming the MySQL type, never a made-up
 *   value. Inside a MySQL JSON array (SPEC.md §5: arrays -> JSON) such values are kept as JSON strings:
 *   "NaN", "infinity", "0044-03-15 BC" -- a JSON string can hold them.
 * - In MySQL JSON arrays, numeric(p,s) and numeric items are JSON strings ("12.340"): MySQL parses JSON
 *   numbers into DOUBLE, which would round a 50-digit numeric without a word. Every item that is not an
 *   integer, a finite float, a boolean or json is a JSON string of PostgreSQL's text of the element
 *   ("12:00:00.5", "2024-01-01 00:00:00+00"), so a service reads the same text as from PostgreSQL.
 * - An array with more dimensions or explicit bounds arrives as its PostgreSQL text (a JSON string):
 *   PostgreSQL takes it as it is; MySQL gets nested JSON arrays, and refuses explicit bounds (a lower
 *   bound other than 1), which JSON cannot hold.
 * - MySQL column types (sinkvalue_ddl_type): see sv_mysql_ddl() below for each rule and why.
 *
 * XXX: MySQL silently truncates or rounds some values unless its sql_mode is strict; target_mysql.c must set
 * STRICT_ALL_TABLES so that a too-long text or key value is an error instead. */
#include "sinks/sinkvalue.h"

#include <ctype.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema/pgtext.h"

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY (INT64_C(86400) * USECS_PER_SEC)

/* Bytes of a bad string value quoted in an error message. */
#define SV_QUOTE_MAX 40

/* PostgreSQL's first OID for user objects: types from here on are user enums, domains, extension types. */
#define SV_PG_FIRST_USER_OID 16384u
/* The largest value PostgreSQL stores in one field (1 GB): what an unbounded text or bytea may hold. */
#define SV_PG_MAX_FIELD INT64_C(1073741824)

/* Text columns say their character set, whatever the database's default (MariaDB's is latin1): utf8mb4
 * holds every character PostgreSQL's UTF-8 can, and the binary collation compares as PostgreSQL's
 * deterministic collations do, so "Bob" and "bob" stay two keys. XXX: utf8mb4_bin pads with spaces, so
 * key values that differ only by trailing blanks collide; MariaDB's utf8mb4_nopad_bin would not, but
 * MySQL has no such collation. */
#define MY_UTF8 " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
#define MY_ASCII " CHARACTER SET ascii COLLATE ascii_bin" /* numeric texts and uuids */

/* MySQL limits (MySQL 8 and MariaDB 10.11 alike). */
#define MY_MIN_YEAR 1000
#define MY_MAX_YEAR 9999
#define MY_DEC_MAX_PRECISION 65
#define MY_DEC_MAX_SCALE 30
#define MY_CHAR_MAX 255       /* CHAR(n) */
#define MY_VARCHAR_MAX 16383  /* VARCHAR(n) in utf8mb4: 65535 bytes / 4 */
#define MY_KEY_VARCHAR_MAX 768 /* InnoDB's 3072-byte index limit / 4 bytes per utf8mb4 character */
#define MY_KEY_UNBOUNDED 255   /* a key column of unbounded text or bytes: three fit in one 3072-byte key */
#define MY_UTF8MB4 4           /* bytes per character, at most */
/* VARCHAR length for numeric without typmod: PostgreSQL's numeric(p,s) stops at 1000 digits, and a value
 * beyond that in an unconstrained column is rare enough to be refused (strict mode) rather than to cost a
 * LONGTEXT that could not be a key. 1100 leaves room for the sign, the point and leading zeros. */
#define MY_NUMERIC_TEXT 1100

/* ---- names and error messages ---- */

/* Built-in types carried as text (CT_TEXT_FORM) whose own type every PostgreSQL has: a PostgreSQL target
 * gets the same type, which reads the text form back. The names hold every typmod's values (interval
 * holds interval(3)'s, bit varying holds varbit(8)'s and bit(5)'s). Other text forms (user enums, domains,
 * composites and extension types, which the target may not have, and money, whose text depends on
 * lc_monetary) become text. */
static const struct sv_builtin {
	uint32_t oid, array_oid;
	const char *name;
} sv_builtins[] = {
	{1186, 1187, "interval"},  {869, 1041, "inet"},           {650, 651, "cidr"},
	{829, 1040, "macaddr"},    {774, 775, "macaddr8"},        {142, 143, "xml"},
	{1266, 1270, "time with time zone"},                      {1562, 1563, "bit varying"},
	{1560, 1561, "bit varying"},                              {3614, 3643, "tsvector"},
	{3615, 3645, "tsquery"},   {3220, 3221, "pg_lsn"},
	{3904, 3905, "int4range"}, {3926, 3927, "int8range"},     {3906, 3907, "numrange"},
	{3912, 3913, "daterange"}, {3908, 3909, "tsrange"},       {3910, 3911, "tstzrange"},
	{4451, 6150, "int4multirange"}, {4536, 6157, "int8multirange"}, {4532, 6151, "nummultirange"},
	{4535, 6155, "datemultirange"}, {4533, 6152, "tsmultirange"},   {4534, 6153, "tstzmultirange"},
	{600, 1017, "point"},      {628, 629, "line"},            {601, 1018, "lseg"},
	{603, 1020, "box"},        {602, 1019, "path"},           {604, 1027, "polygon"},
	{718, 719, "circle"},      {18, 1002, "\"char\""},        {19, 1003, "name"},
	{26, 1028, "oid"},
};

static const struct sv_builtin *sv_builtin_find(uint32_t oid, bool *is_array)
{
	for (size_t i = 0; i < sizeof sv_builtins / sizeof sv_builtins[0]; i++) {
		if (sv_builtins[i].oid == oid || sv_builtins[i].array_oid == oid) {
			*is_array = sv_builtins[i].array_oid == oid;
			return &sv_builtins[i];
		}
	}
	return NULL;
}


/* The type's name for messages: PostgreSQL's spelling, or what is known of a text form. */
static void sv_type_name(const struct coltype *t, char *out, size_t outlen)
{
	const struct sv_builtin *b;
	bool arr;

	if (t->kind != CT_TEXT_FORM) {
		coltype_pg_name(t, out, outlen);
		return;
	}
	if ((b = sv_builtin_find(t->pg_oid, &arr)))
		snprintf(out, outlen, "%s%s", b->name, arr ? "[]" : "");
	else
		snprintf(out, outlen, "type oid %u (as text)", (unsigned)t->pg_oid);
}

/* Describes a JSON value for a message: `a string "abc"`, `the integer 5`, `an array`. */
static void sv_describe(const json_t *v, char *out, size_t outlen)
{
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v), lim = n, o;

		if (lim > SV_QUOTE_MAX) { /* cut before a UTF-8 continuation byte, never inside a character */
			lim = SV_QUOTE_MAX;
			while (lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80)
				lim--;
		}
		o = (size_t)snprintf(out, outlen, "a string \"");
		for (size_t i = 0; i < lim && o + 8 < outlen; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c < 0x20 || c == 0x7f)
				o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
			else if (c == '"' || c == '\\')
				o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
			else
				out[o++] = (char)c;
		}
		if (o < outlen)
			snprintf(out + o, outlen - o, "%s\"", lim < n ? "..." : "");
		return;
	}
	case JSON_INTEGER:
		snprintf(out, outlen, "the integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	case JSON_REAL:
		snprintf(out, outlen, "the number %g", json_real_value(v));
		return;
	case JSON_TRUE:
		snprintf(out, outlen, "true");
		return;
	case JSON_FALSE:
		snprintf(out, outlen, "false");
		return;
	case JSON_NULL:
		snprintf(out, outlen, "null");
		return;
	case JSON_ARRAY:
		snprintf(out, outlen, "an array");
		return;
	case JSON_OBJECT:
		snprintf(out, outlen, "an object");
		return;
	}
	snprintf(out, outlen, "an unknown JSON value");
}

/* Records "<type>: <message>" (not retriable: the value, not the server, is at fault). Returns -1. */
__attribute__((format(printf, 3, 4))) static int sv_fail(struct cerr *err, const struct coltype *t,
							   const char *fmt, ...)
{
	char name[128], msg[CERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sv_type_name(t, name, sizeof name);
	return cerr_set(err, false, "%s: %s", name, msg);
}

/* "<type>: expected <what>, got <description of v>". */
static int sv_expected(struct cerr *err, const struct coltype *t, const char *what, const json_t *v)
{
	char got[SV_QUOTE_MAX * 4 + 32];

	sv_describe(v, got, sizeof got);
	return sv_fail(err, t, "expected %s, got %s", what, got);
}

static int sv_nospace(struct cerr *err, const struct coltype *t)
{
	return sv_fail(err, t, "out of memory (or the output limit) writing the value");
}

/* ---- calendar ---- */

/* A point in time broken down: astronomical year (0 = 1 BC, -1 = 2 BC), month 1-12, day 1-31, and for
 * times the microseconds since midnight (up to 24:00:00 for time). */
struct sv_when {
	int64_t year;
	int month, day;
	int64_t usec;
};

/* Proleptic Gregorian date of a day number (days since 1970-01-01), for any int64 day count that the
 * callers pass (at most about +-1.1e8 days from timestamps, +-2^31 from dates).
 *
 * The calendar repeats every 400 years (146097 days). Counting from 0000-03-01 puts the leap day at the
 * end of each year, so within a 400-year era only the year boundaries are irregular:
 * - doe, the day of the era (0..146096), gives the year of the era by removing one leap day every 4 years
 *   (1460 = 4*365 days), adding one back every 100 years (36524 days) and removing one in the era's last
 *   day (146096), then dividing by 365;
 * - doy, the day of that March-based year (0..365), gives the month: months from March have 31,30,31,30,
 *   31 days in a 153-day cycle of five, so month = (5*doy + 2) / 153 (0 = March .. 11 = February) and the
 *   month starts at day (153*month + 2) / 5;
 * - January and February belong to the next civil year.
 * 719468 is the number of days from 0000-03-01 to 1970-01-01. */
static void sv_civil_from_days(int64_t days, struct sv_when *w)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097; /* floor division */
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	w->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	w->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	w->year = yoe + era * 400 + (w->month <= 2);
}

/* Splits microseconds since 1970-01-01 00:00:00 into the date and the time of day (floor, so that times
 * before 1970 count forward from their midnight). */
static void sv_when_from_usecs(int64_t us, struct sv_when *w)
{
	int64_t days = us / USECS_PER_DAY, rem = us % USECS_PER_DAY;

	if (rem < 0) {
		rem += USECS_PER_DAY;
		days--;
	}
	sv_civil_from_days(days, w);
	w->usec = rem;
}

/* Writes u in decimal, zero-padded to at least `width` digits, at s; returns the length (no NUL). A sink
 * formats millions of integers and timestamps a minute, where snprintf cost several times as much. */
static size_t sv_fmt_uint(char *s, uint64_t u, int width)
{
	char tmp[24];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while ((int)n < width && n < sizeof tmp)
		tmp[n++] = '0';
	while (n)
		s[len++] = tmp[--n];
	return len;
}

/* Copies t[0..len) and a NUL into s (n bytes), cut to fit as snprintf would. */
static void sv_copy(char *s, size_t n, const char *t, size_t len)
{
	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(s, t, len);
	s[len] = '\0';
}

/* "HH:MM:SS.ffffff"; pg_short: as PostgreSQL prints it, without the fraction's trailing zeros (and without
 * the point when the fraction is zero): "12:00:00", "12:00:00.5". */
static void sv_fmt_time(char *s, size_t n, int64_t usec, bool pg_short)
{
	int64_t sec = usec / USECS_PER_SEC;
	char t[48];
	size_t len;

	/* usec is within one day (up to 24:00:00): every part fits its width */
	len = sv_fmt_uint(t, (uint64_t)(sec / 3600), 2);
	t[len++] = ':';
	len += sv_fmt_uint(t + len, (uint64_t)(sec / 60 % 60), 2);
	t[len++] = ':';
	len += sv_fmt_uint(t + len, (uint64_t)(sec % 60), 2);
	t[len++] = '.';
	len += sv_fmt_uint(t + len, (uint64_t)(usec % USECS_PER_SEC), 6);
	t[len] = '\0';
	sv_copy(s, n, t, len);
	if (!pg_short)
		return;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '0')
		len--;
	if (len > 0 && s[len - 1] == '.')
		len--;
	s[len] = '\0';
}

/* PostgreSQL's ISO form "YYYY-MM-DD[ HH:MM:SS.ffffff][+00][ BC]" (years of five or more digits as they
 * are); inside MySQL's range the same text is MySQL's. The year is at least four digits. pg_short: the
 * time as sv_fmt_time's pg_short. */
static void sv_fmt_when(char *s, size_t n, const struct sv_when *w, bool with_time, bool tz, bool pg_short)
{
	int64_t y = w->year > 0 ? w->year : 1 - w->year;
	char d[96];
	size_t len = sv_fmt_uint(d, (uint64_t)y, 4);

	d[len++] = '-';
	len += sv_fmt_uint(d + len, (uint64_t)w->month, 2);
	d[len++] = '-';
	len += sv_fmt_uint(d + len, (uint64_t)w->day, 2);
	if (with_time) {
		d[len++] = ' ';
		sv_fmt_time(d + len, sizeof d - len, w->usec, pg_short);
		len += strlen(d + len);
	}
	if (tz) {
		memcpy(d + len, "+00", 3);
		len += 3;
	}
	if (w->year <= 0) {
		memcpy(d + len, " BC", 3);
		len += 3;
	}
	d[len] = '\0';
	sv_copy(s, n, d, len);
}

/* ---- value checks ---- */

static bool sv_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool sv_is_hex(char c)
{
	return sv_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int sv_hexval(char c)
{
	return sv_is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* [-]digits[.digits], as avro_decode writes a decimal and PostgreSQL prints a numeric */
static bool sv_is_decimal_text(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	for (d = i; i < n && sv_is_digit(s[i]); i++)
		;
	if (i == d)
		return false;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && sv_is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

static bool sv_is_special_number(const char *s)
{
	return strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0;
}

/* 8-4-4-4-12 hex digits, as PostgreSQL prints a uuid */
static bool sv_is_uuid_text(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!sv_is_hex(s[i])) {
			return false;
		}
	}
	return true;
}

/* "\x" then an even number of hex digits, as avro_decode writes bytes */
static bool sv_is_bytea_text(const char *s, size_t n)
{
	if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2 != 0)
		return false;
	for (size_t i = 2; i < n; i++)
		if (!sv_is_hex(s[i]))
			return false;
	return true;
}

/* Shortest %g text that reads back as the same float or double; 9 and 17 significant digits always do.
 * For a normal number, a shortest text of up to FLT_DIG / DBL_DIG digits is what %g prints at that many
 * digits (trailing zeros dropped): the number is within half a unit in the last place of that text, far
 * closer than the next FLT_DIG- / DBL_DIG-digit decimal. So the search starts there, and only subnormals,
 * which have fewer significant bits, start at one digit. Printed and read in the C locale: a process
 * locale with a decimal comma cannot change it.
 * my_range: MySQL reads a FLOAT's text as a double and refuses it beyond FLT_MAX, so the shortest text of
 * a float near FLT_MAX ("3.4028235e+38", above it as a double) will not do; more digits, up to the exact
 * value at 17, then do. */
static int sv_real_text(double d, bool single, bool my_range, char *s, size_t n)
{
	locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0); /* glibc: its static C locale, no allocation */
	locale_t old;
	int p, last = single && !my_range ? 9 : 17;

	if (c_loc == (locale_t)0)
		return -1;
	old = uselocale(c_loc);
	p = fabs(d) < (single ? FLT_MIN : DBL_MIN) ? 1 : single ? FLT_DIG : DBL_DIG;
	for (; p <= last; p++) {
		snprintf(s, n, "%.*g", p, d);
		if (single ? strtof_l(s, NULL, c_loc) == (float)d &&
			     (!my_range || fabs(strtod_l(s, NULL, c_loc)) <= FLT_MAX)
			   : strtod_l(s, NULL, c_loc) == d)
			break;
	}
	uselocale(old);
	freelocale(c_loc);
	return 0;
}

/* ---- one value ---- */

/* How a value is written: PostgreSQL input text, MySQL text (bytes raw for LONGBLOB), or an item of a
 * MySQL JSON array (JSON text; *quote says whether the caller must make it a JSON string). */
enum sv_form { SV_PG_TEXT, SV_MY_TEXT, SV_MY_JSON };

/* Whether MySQL's column for a numeric(p,s) is DECIMAL(p,s) (else a VARCHAR of its text). */
static bool sv_my_decimal_fits(const struct coltype *t)
{
	return t->precision <= MY_DEC_MAX_PRECISION && t->scale <= MY_DEC_MAX_SCALE;
}

static int sv_put(struct buf *out, const struct coltype *t, const void *p, size_t n, struct cerr *err)
{
	return buf_append(out, p, n) < 0 ? sv_nospace(err, t) : 0;
}

static int sv_put_str(struct buf *out, const struct coltype *t, const char *s, struct cerr *err)
{
	return sv_put(out, t, s, strlen(s), err);
}

static int sv_bool(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, struct cerr *err)
{
	static const char *const forms[][2] = {{"f", "t"}, {"0", "1"}, {"false", "true"}};

	if (!json_is_boolean(v))
		return sv_expected(err, t, "true or false", v);
	return sv_put_str(out, t, forms[form][json_is_true(v)], err);
}

static int sv_int(const struct coltype *t, const json_t *v, struct buf *out, struct cerr *err)
{
	json_int_t i;
	int64_t lo, hi;
	char s[32];

	if (!json_is_integer(v))
		return sv_expected(err, t, "an integer", v);
	i = json_integer_value(v);
	coltype_int_range(t, &lo, &hi);
	if (i < lo || i > hi)
		return sv_fail(err, t, "%" JSON_INTEGER_FORMAT " is out of range", i);
	if (i < 0) {
		s[0] = '-';
		s[1 + sv_fmt_uint(s + 1, 0 - (uint64_t)i, 1)] = '\0';
	} else {
		s[sv_fmt_uint(s, (uint64_t)i, 1)] = '\0';
	}
	return sv_put_str(out, t, s, err);
}

static int sv_real(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		   struct cerr *err)
{
	bool single = t->kind == CT_FLOAT;
	char s[64];
	double d;

	if (json_is_string(v)) {
		const char *sp = json_string_value(v);

		if (!sv_is_special_number(sp) || json_string_length(v) != strlen(sp))
			return sv_expected(err, t, "a number or \"NaN\", \"Infinity\", \"-Infinity\"", v);
		if (form == SV_MY_TEXT)
			return sv_fail(err, t, "MySQL %s cannot hold %s", single ? "FLOAT" : "DOUBLE", sp);
		*quote = true;
		return sv_put_str(out, t, sp, err);
	}
	if (!json_is_number(v))
		return sv_expected(err, t, "a number or \"NaN\", \"Infinity\", \"-Infinity\"", v);
	d = json_number_value(v);
	/* a double beyond float's range would be undefined behaviour to convert */
	if (single && isfinite(d) && fabs(d) > FLT_MAX)
		return sv_fail(err, t, "%g is out of range", d);
	if (sv_real_text(d, single, form == SV_MY_TEXT, s, sizeof s) < 0)
		return sv_fail(err, t, "cannot create the C locale to print a number");
	return sv_put_str(out, t, s, err);
}

/* numeric(p,s) (CT_DECIMAL: "-12.340" or the string branch's "NaN") and numeric (CT_NUMERIC: any numeric
 * text, NaN, +-Infinity). */
static int sv_decimal(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		      struct cerr *err)
{
	const char *s;
	size_t n;
	bool special;

	if (!json_is_string(v))
		return sv_expected(err, t, "a decimal string such as \"-12.340\" or \"NaN\"", v);
	s = json_string_value(v);
	n = json_string_length(v);
	special = n == strlen(s) && sv_is_special_number(s);
	if (!special && !sv_is_decimal_text(s, n))
		return sv_expected(err, t, "a decimal string such as \"-12.340\" or \"NaN\"", v);
	if (special && form == SV_MY_TEXT && t->kind == CT_DECIMAL && sv_my_decimal_fits(t))
		return sv_fail(err, t, "MySQL DECIMAL(%d,%d) cannot hold %s", t->precision, t->scale, s);
	*quote = true;
	return sv_put(out, t, s, n, err);
}

/* text, varchar, char, json, text forms, uuid: the string as it is. */
static int sv_string(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		     struct cerr *err)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return sv_expected(err, t, "a string", v);
	s = json_string_value(v);
	n = json_string_length(v);
	/* PostgreSQL cannot have sent it, and a NUL would cut the text short in a C-string API */
	if (memchr(s, '\0', n))
		return sv_fail(err, t, "the text holds a NUL character");
	if (t->kind == CT_UUID && !sv_is_uuid_text(s, n))
		return sv_expected(err, t, "a UUID string", v);
	/* a json value is itself an item of a JSON array; everything else is a JSON string */
	*quote = !(t->kind == CT_JSON && form == SV_MY_JSON);
	return sv_put(out, t, s, n, err);
}

static int sv_bytes(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		    struct cerr *err)
{
	const char *s;
	size_t n;

	if (!json_is_string(v) || !sv_is_bytea_text(json_string_value(v), json_string_length(v)))
		return sv_expected(err, t, "\"\\x\" and pairs of hex digits", v);
	s = json_string_value(v);
	n = json_string_length(v);
	if (form != SV_MY_TEXT) { /* PostgreSQL's hex input form, or a JSON string of it */
		*quote = true;
		return sv_put(out, t, s, n, err);
	}
	/* LONGBLOB: the bytes themselves */
	if (buf_reserve(out, (n - 2) / 2) < 0)
		return sv_nospace(err, t);
	for (size_t i = 2; i < n; i += 2)
		out->data[out->len++] = (uint8_t)(sv_hexval(s[i]) << 4 | sv_hexval(s[i + 1]));
	out->data[out->len] = '\0';
	return 0;
}

/* The integer of a date/time logical type, checked against [lo, hi]. */
static int sv_get_int(const struct coltype *t, const json_t *v, int64_t lo, int64_t hi, const char *what,
		      int64_t *out, struct cerr *err)
{
	*out = 0; /* set on failure too: gcc -O3 cannot tell that callers stop then */
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return sv_expected(err, t, what, v);
	*out = json_integer_value(v);
	return 0;
}

static int sv_date(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		   struct cerr *err)
{
	struct sv_when w;
	char s[64];
	int64_t days;

	if (sv_get_int(t, v, INT32_MIN, INT32_MAX, "days since 1970-01-01 (an integer of 32 bits)", &days, err) < 0)
		return -1;
	*quote = true;
	if (days == INT32_MAX || days == INT32_MIN) {
		const char *inf = days == INT32_MAX ? "infinity" : "-infinity";

		if (form == SV_MY_TEXT)
			return sv_fail(err, t, "MySQL DATE cannot hold %s", inf);
		return sv_put_str(out, t, inf, err);
	}
	sv_civil_from_days(days, &w);
	sv_fmt_when(s, sizeof s, &w, false, false, false);
	if (form == SV_MY_TEXT && (w.year < MY_MIN_YEAR || w.year > MY_MAX_YEAR))
		return sv_fail(err, t, "MySQL DATE cannot hold %s (its range is 1000-01-01 to 9999-12-31)", s);
	return sv_put_str(out, t, s, err);
}

static int sv_time(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		   struct cerr *err)
{
	char s[32];
	int64_t us;

	if (sv_get_int(t, v, 0, USECS_PER_DAY, "microseconds since midnight (0 to 86400000000)", &us, err) < 0)
		return -1;
	/* 86400000000 is "24:00:00.000000", which MySQL's TIME holds too */
	sv_fmt_time(s, sizeof s, us, form == SV_MY_JSON);
	*quote = true;
	return sv_put_str(out, t, s, err);
}

static int sv_timestamp(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
			struct cerr *err)
{
	bool tz = t->kind == CT_TIMESTAMPTZ;
	struct sv_when w;
	char s[80];
	int64_t us;

	if (sv_get_int(t, v, INT64_MIN, INT64_MAX, "microseconds since 1970 (an integer)", &us, err) < 0)
		return -1;
	*quote = true;
	if (us == INT64_MAX || us == INT64_MIN) {
		const char *inf = us == INT64_MAX ? "infinity" : "-infinity";

		if (form == SV_MY_TEXT)
			return sv_fail(err, t, "MySQL DATETIME(6) cannot hold %s", inf);
		return sv_put_str(out, t, inf, err);
	}
	sv_when_from_usecs(us, &w);
	/* timestamptz is UTC: PostgreSQL gets "+00"; MySQL's DATETIME holds the UTC time without a zone; a JSON
	 * array item is PostgreSQL's text of the element ("+00" and no trailing zeros) */
	sv_fmt_when(s, sizeof s, &w, true, tz && form != SV_MY_TEXT, form == SV_MY_JSON);
	if (form == SV_MY_TEXT && (w.year < MY_MIN_YEAR || w.year > MY_MAX_YEAR))
		return sv_fail(err, t, "MySQL DATETIME(6) cannot hold %s (its range is years 1000 to 9999)", s);
	return sv_put_str(out, t, s, err);
}

/* Appends one non-array value in `form`. *quote: set when, as a JSON array item, the text must be a JSON
 * string (for other forms it is ignored). */
static int sv_scalar(const struct coltype *t, const json_t *v, enum sv_form form, struct buf *out, bool *quote,
		     struct cerr *err)
{
	*quote = false;
	if (!v || json_is_null(v))
		return sv_fail(err, t, "NULL is not a value here: the caller writes NULL itself");
	switch (t->kind) {
	case CT_BOOLEAN:
		return sv_bool(t, v, form, out, err);
	case CT_INT:
	case CT_LONG:
		return sv_int(t, v, out, err);
	case CT_FLOAT:
	case CT_DOUBLE:
		return sv_real(t, v, form, out, quote, err);
	case CT_DECIMAL:
	case CT_NUMERIC:
		return sv_decimal(t, v, form, out, quote, err);
	case CT_STRING:
	case CT_UUID:
	case CT_JSON:
	case CT_TEXT_FORM:
		return sv_string(t, v, form, out, quote, err);
	case CT_BYTES:
		return sv_bytes(t, v, form, out, quote, err);
	case CT_DATE:
		return sv_date(t, v, form, out, quote, err);
	case CT_TIME:
		return sv_time(t, v, form, out, quote, err);
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ:
		return sv_timestamp(t, v, form, out, quote, err);
	case CT_ARRAY:
		break;
	}
	return sv_fail(err, t, "arrays of arrays are not carried");
}

/* ---- arrays ---- */

/* Appends p[0..n) as a JSON string body's characters (without the quotes). The text is UTF-8 (jansson
 * checked it), so only the quote, the backslash and control characters need escapes. */
static int sv_json_escape(struct buf *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int rc;

		if (c == '"' || c == '\\')
			rc = buf_putc(out, '\\') < 0 ? -1 : buf_putc(out, c);
		else if (c == '\n')
			rc = buf_puts(out, "\\n");
		else if (c == '\t')
			rc = buf_puts(out, "\\t");
		else if (c == '\r')
			rc = buf_puts(out, "\\r");
		else if (c < 0x20)
			rc = buf_printf(out, "\\u%04x", c);
		else
			rc = buf_putc(out, c);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Appends p[0..n) as the body of a double-quoted PostgreSQL array element: a backslash before every
 * backslash and double quote (array_in removes them); everything else, commas, braces and blanks
 * included, stands for itself inside the quotes. */
static int sv_pg_array_escape(struct buf *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((p[i] == '"' || p[i] == '\\') && buf_putc(out, '\\') < 0) || buf_putc(out, p[i]) < 0)
			return -1;
	return 0;
}

/* ---- arrays in their PostgreSQL text form ---- */

/* An array literal as PostgreSQL prints it ("{{1,2},{3,NULL}}", "[0:1]={5,6}"), read for MySQL. */
struct sv_lit {
	const char *s;
	size_t n, pos;
	const struct coltype *t; /* the array column */
	struct coltype e;        /* its element */
	struct buf elem;         /* the current element's unescaped text */
	int depth;
	size_t nelem;            /* elements read so far, for messages */
};

/* Most nesting PostgreSQL allows (MAXDIM). */
#define SV_MAX_DIMS 6

static bool sv_lit_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void sv_lit_skip(struct sv_lit *l)
{
	while (l->pos < l->n && sv_lit_space(l->s[l->pos]))
		l->pos++;
}

static int sv_lit_fail(struct sv_lit *l, struct cerr *err, const char *why)
{
	return sv_fail(err, l->t, "array text at byte %zu: %s", l->pos, why);
}

/* Reads one element into l->elem; *isnull for the unquoted word NULL. As array_in reads it: quoted
 * elements keep everything, unquoted ones lose surrounding blanks, a backslash escapes the next byte. */
static int sv_lit_element(struct sv_lit *l, bool *isnull, struct cerr *err)
{
	size_t keep = 0;
	bool escaped = false;

	buf_reset(&l->elem);
	*isnull = false;
	if (l->s[l->pos] == '"') {
		for (l->pos++;; l->pos++) {
			char c;

			if (l->pos >= l->n)
				return sv_lit_fail(l, err, "unterminated quoted element");
			c = l->s[l->pos];
			if (c == '"')
				break;
			if (c == '\\' && ++l->pos >= l->n)
				return sv_lit_fail(l, err, "unterminated quoted element");
			if (buf_putc(&l->elem, (uint8_t)l->s[l->pos]) < 0)
				return sv_nospace(err, l->t);
		}
		l->pos++;
		return 0;
	}
	while (l->pos < l->n && l->s[l->pos] != ',' && l->s[l->pos] != '}') {
		char c = l->s[l->pos++];

		if (c == '"' || c == '{')
			return sv_lit_fail(l, err, "a quote or brace inside an unquoted element");
		if (c == '\\') {
			if (l->pos >= l->n)
				return sv_lit_fail(l, err, "unterminated element");
			c = l->s[l->pos++];
			escaped = true;
			keep = l->elem.len + 1;
		} else if (!sv_lit_space(c)) {
			keep = l->elem.len + 1;
		}
		if (buf_putc(&l->elem, (uint8_t)c) < 0)
			return sv_nospace(err, l->t);
	}
	if (keep == 0)
		return sv_lit_fail(l, err, "an empty unquoted element");
	l->elem.len = keep;
	l->elem.data[keep] = '\0';
	*isnull = !escaped && keep == 4 && strncasecmp((const char *)l->elem.data, "NULL", 4) == 0;
	return 0;
}

/* The decoded-event JSON of one element text (what avro_decode gives for the element's Avro type), so that
 * sv_scalar checks and writes it as it does a one-dimensional array's item. Dates and times go through
 * schema/pgtext.c, which reads PostgreSQL's text into the logical type's integer. NULL on error. */
static json_t *sv_lit_value(struct sv_lit *l, struct cerr *err)
{
	const char *x = l->elem.data ? (const char *)l->elem.data : ""; /* "" before the first byte */
	size_t n = l->elem.len;

	switch (l->e.kind) {
	case CT_BOOLEAN:
		if (n == 1 && (x[0] == 't' || x[0] == 'f'))
			return json_boolean(x[0] == 't');
		break;
	case CT_FLOAT:
	case CT_DOUBLE:
		if (sv_is_special_number(x))
			return json_string(x);
		if (n > 0 && (sv_is_digit(x[0]) || x[0] == '-' || x[0] == '.')) {
			locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
			char *end = NULL;
			double d;

			if (c_loc == (locale_t)0)
				break;
			d = strtod_l(x, &end, c_loc);
			freelocale(c_loc);
			if (end == x + n && isfinite(d))
				return json_real(d);
		}
		break;
	case CT_INT:
	case CT_LONG:
	case CT_DATE:
	case CT_TIME:
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ: {
		/* pgtext writes the Avro long: a zigzag varint */
		struct buf b;
		uint64_t z = 0;
		json_t *j = NULL;

		buf_init(&b, 0);
		if (pgtext_to_avro(&l->e, x, n, &b, err) < 0) {
			buf_free(&b);
			return NULL;
		}
		for (size_t i = 0; i < b.len && i < 10; i++) {
			z |= (uint64_t)(b.data[i] & 0x7f) << (7 * i);
			if (!(b.data[i] & 0x80))
				break;
		}
		j = json_integer((json_int_t)((z >> 1) ^ (~(z & 1) + 1)));
		buf_free(&b);
		return j;
	}
	default: /* numeric, text, bytea ("\x..."), uuid, json, text forms: their text is the decoded value */
		return json_stringn(x, n);
	}
	sv_fail(err, &l->e, "element \"%.*s\" of the array text is not a value of the type", (int)(n > 40 ? 40 : n), x);
	return NULL;
}

/* One level "{...}" of the literal as a JSON array, recursing into inner levels. */
static int sv_lit_level(struct sv_lit *l, struct buf *out, struct buf *item, struct cerr *err)
{
	bool first = true;

	sv_lit_skip(l);
	if (l->pos >= l->n || l->s[l->pos] != '{')
		return sv_lit_fail(l, err, "expected {");
	if (++l->depth > SV_MAX_DIMS)
		return sv_lit_fail(l, err, "more dimensions than PostgreSQL allows");
	l->pos++;
	if (buf_putc(out, '[') < 0)
		return sv_nospace(err, l->t);
	sv_lit_skip(l);
	if (l->pos < l->n && l->s[l->pos] == '}') {
		l->pos++;
		l->depth--;
		return buf_putc(out, ']') < 0 ? sv_nospace(err, l->t) : 0;
	}
	for (;;) {
		sv_lit_skip(l);
		if (l->pos >= l->n)
			return sv_lit_fail(l, err, "unterminated array");
		if (!first && buf_puts(out, ", ") < 0)
			return sv_nospace(err, l->t);
		first = false;
		if (l->s[l->pos] == '{') {
			if (sv_lit_level(l, out, item, err) < 0)
				return -1;
		} else {
			bool isnull, quote;
			json_t *v;
			int rc;

			if (sv_lit_element(l, &isnull, err) < 0)
				return -1;
			l->nelem++;
			if (isnull) {
				if (buf_puts(out, "null") < 0)
					return sv_nospace(err, l->t);
			} else {
				char tname[128];

				buf_reset(item);
				v = sv_lit_value(l, err);
				rc = v ? sv_scalar(&l->e, v, SV_MY_JSON, item, &quote, err) : -1;
				json_decref(v);
				if (rc < 0) {
					sv_type_name(l->t, tname, sizeof tname);
					return cerr_wrap(err, "%s element %zu", tname, l->nelem);
				}
				if (quote ? buf_putc(out, '"') < 0 || sv_json_escape(out, item->data, item->len) < 0 ||
						    buf_putc(out, '"') < 0
					  : buf_append(out, item->data, item->len) < 0)
					return sv_nospace(err, l->t);
			}
		}
		sv_lit_skip(l);
		if (l->pos < l->n && l->s[l->pos] == ',') {
			l->pos++;
			continue;
		}
		if (l->pos < l->n && l->s[l->pos] == '}') {
			l->pos++;
			l->depth--;
			return buf_putc(out, ']') < 0 ? sv_nospace(err, l->t) : 0;
		}
		return sv_lit_fail(l, err, l->pos >= l->n ? "unterminated array" : "expected , or }");
	}
}

/* An array that travelled as its PostgreSQL text (schema/pgtext.h: more than one dimension, or explicit
 * bounds). PostgreSQL takes the text as it is. MySQL gets nested JSON arrays with the items of a
 * one-dimensional array; explicit bounds ("[0:1]=") are refused: a JSON array has none, and dropping them
 * would change the value. */
static int sv_array_text(enum sinkvalue_engine engine, const struct coltype *t, const json_t *v, struct buf *out,
			 struct cerr *err)
{
	struct sv_lit l = {json_string_value(v), json_string_length(v), 0, t, *t, {0}, 0, 0};
	struct buf item;
	int rc;

	sv_lit_skip(&l);
	if (l.pos >= l.n || (l.s[l.pos] != '{' && l.s[l.pos] != '['))
		return sv_expected(err, t, "an array or its PostgreSQL text \"{...}\" or \"[m:n]={...}\"", v);
	if (engine == SINKVALUE_PG) {
		if (memchr(l.s, '\0', l.n))
			return sv_fail(err, t, "the array text holds a NUL character");
		return sv_put(out, t, l.s, l.n, err);
	}
	if (l.s[l.pos] == '[') { /* "[m:n][m:n]=": array_out prints bounds only for a lower bound other than 1 */
		size_t start = l.pos;

		while (l.pos < l.n && l.s[l.pos] != '=')
			l.pos++;
		if (l.pos >= l.n)
			return sv_lit_fail(&l, err, "expected = after the dimensions");
		return sv_fail(err, t, "MySQL JSON cannot hold the array's explicit bounds %.*s (a JSON array has no"
			       " lower bound; PostgreSQL's default is 1)", (int)(l.pos - start > 40 ? 40 : l.pos - start),
			       l.s + start);
	}
	l.e.kind = l.e.elem = t->elem;
	l.e.pg_oid = coltype_elem_oid(t->pg_oid);
	buf_init(&l.elem, 0);
	buf_init(&item, 0);
	rc = sv_lit_level(&l, out, &item, err);
	sv_lit_skip(&l);
	if (rc == 0 && l.pos != l.n)
		rc = sv_lit_fail(&l, err, "text after the closing }");
	buf_free(&l.elem);
	buf_free(&item);
	return rc;
}

/* PostgreSQL: an array literal {"1",NULL,"a b"} with every element quoted, so that no element text (an
 * empty string, the word NULL, blanks, braces, commas) can be misread. MySQL: a JSON array. A JSON string
 * is the array's own text (sv_array_text). */
static int sv_array(enum sinkvalue_engine engine, const struct coltype *t, const json_t *v, struct buf *out,
		    struct cerr *err)
{
	struct coltype e = *t;
	char ename[128];
	struct buf item;
	const json_t *x;
	size_t i;
	int rc = -1;

	if (json_is_string(v))
		return sv_array_text(engine, t, v, out, err);
	if (!json_is_array(v))
		return sv_expected(err, t, "an array", v);
	e.kind = e.elem = t->elem;
	e.pg_oid = coltype_elem_oid(t->pg_oid); /* typmod, precision, scale and maxlen are already the element's */
	buf_init(&item, 0);
	if (buf_putc(out, engine == SINKVALUE_PG ? '{' : '[') < 0)
		goto nospace;
	json_array_foreach(v, i, x) {
		bool quote;

		if (i > 0 && buf_puts(out, engine == SINKVALUE_PG ? "," : ", ") < 0)
			goto nospace;
		if (json_is_null(x)) {
			if (buf_puts(out, engine == SINKVALUE_PG ? "NULL" : "null") < 0)
				goto nospace;
			continue;
		}
		buf_reset(&item);
		if (sv_scalar(&e, x, engine == SINKVALUE_PG ? SV_PG_TEXT : SV_MY_JSON, &item, &quote, err) < 0) {
			sv_type_name(t, ename, sizeof ename);
			cerr_wrap(err, "%s item %zu", ename, i + 1);
			goto done;
		}
		if (engine == SINKVALUE_PG) {
			if (buf_putc(out, '"') < 0 || sv_pg_array_escape(out, item.data, item.len) < 0 ||
			    buf_putc(out, '"') < 0)
				goto nospace;
		} else if (quote) {
			if (buf_putc(out, '"') < 0 || sv_json_escape(out, item.data, item.len) < 0 ||
			    buf_putc(out, '"') < 0)
				goto nospace;
		} else if (buf_append(out, item.data, item.len) < 0) {
			goto nospace;
		}
	}
	if (buf_putc(out, engine == SINKVALUE_PG ? '}' : ']') < 0)
		goto nospace;
	rc = 0;
	goto done;
nospace:
	sv_nospace(err, t);
done:
	buf_free(&item);
	return rc;
}

int sinkvalue_text(enum sinkvalue_engine engine, const struct coltype *t, const json_t *v, struct buf *out,
		   struct cerr *err)
{
	size_t start = out->len;
	bool quote;
	int rc;

	if (t->kind == CT_ARRAY) {
		if (!v || json_is_null(v))
			rc = sv_fail(err, t, "NULL is not a value here: the caller writes NULL itself");
		else
			rc = sv_array(engine, t, v, out, err);
	} else {
		rc = sv_scalar(t, v, engine == SINKVALUE_PG ? SV_PG_TEXT : SV_MY_TEXT, out, &quote, err);
	}
	if (rc < 0) { /* leave the output as it was */
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}

/* ---- column types ---- */

/* The most characters of a numeric's text with precision p and scale s (either may be outside the usual
 * 0 <= s <= p: numeric(3,5), numeric(5,-2)): sign, integer digits (at least one), point and fraction;
 * never less than "-Infinity". */
static int sv_numeric_text_len(int p, int s)
{
	int intdigits = p - s > 0 ? p - s : 1;
	int len = 1 + intdigits + (s > 0 ? 1 + s : 0);

	return len > 9 ? len : 9;
}

/* numeric's typmod as coltype.c reads it: precision in the high 16 bits, scale sign-extended from 11. */
static bool sv_numeric_typmod(int32_t typmod, int *p, int *s)
{
	uint32_t m;

	if (typmod < 4)
		return false;
	m = (uint32_t)typmod - 4;
	*p = (int)((m >> 16) & 0xffff);
	*s = (int)((m & 0x7ff) ^ 1024) - 1024;
	return true;
}

/* Characters of the MySQL VARCHAR for a numeric carried as text (CT_NUMERIC, or numeric(p,s) beyond
 * DECIMAL(65,30)). */
static int sv_my_numeric_len(const struct coltype *t)
{
	int p, s;

	if (t->kind == CT_DECIMAL)
		return sv_numeric_text_len(t->precision, t->scale);
	if (sv_numeric_typmod(t->pg_typmod, &p, &s))
		return sv_numeric_text_len(p, s);
	return MY_NUMERIC_TEXT;
}

/* MySQL's column for a text of at most n characters (n < 0: unbounded); char(n) is padded. */
static void sv_my_text_type(int64_t n, bool padded, bool key, char *out, size_t outlen)
{
	if (n < 0 && !key)
		snprintf(out, outlen, "LONGTEXT" MY_UTF8);
	else if (n < 0)
		snprintf(out, outlen, "VARCHAR(%d)" MY_UTF8, MY_KEY_UNBOUNDED);
	else if (key && n > MY_KEY_VARCHAR_MAX)
		snprintf(out, outlen, "VARCHAR(%d)" MY_UTF8, MY_KEY_VARCHAR_MAX);
	else if (padded && n <= MY_CHAR_MAX)
		snprintf(out, outlen, "CHAR(%lld)" MY_UTF8, (long long)n);
	else if (n <= MY_VARCHAR_MAX)
		snprintf(out, outlen, "VARCHAR(%lld)" MY_UTF8, (long long)n);
	else
		snprintf(out, outlen, "LONGTEXT" MY_UTF8);
}

/* MySQL/MariaDB 10.11 column types (SPEC.md §5), each holding every value of the source type:
 *   boolean TINYINT(1); smallint SMALLINT; integer INT; bigint BIGINT; real FLOAT; double DOUBLE;
 *   numeric(p,s) DECIMAL(p,s) when p <= 65 and s <= 30 (MySQL's limits), else VARCHAR(sign + digits +
 *     point) of its text in ascii; numeric VARCHAR(1100) in ascii (not DECIMAL(65,30), which rounds a 31st
 *     fractional digit with only a note and cannot hold NaN; ascii keeps a key on it within InnoDB's 3072
 *     bytes);
 *   text (and char/varchar without a length) LONGTEXT (TEXT stops at 64 KiB; PostgreSQL's text at 1 GB);
 *     varchar(n) VARCHAR(n) up to 16383 characters (utf8mb4's VARCHAR limit), LONGTEXT beyond;
 *     char(n) CHAR(n) up to 255, then as varchar(n);
 *   bytea LONGBLOB; date DATE; time TIME(6); timestamp and timestamptz (UTC) DATETIME(6) -- not TIMESTAMP,
 *     which stops in 2038; uuid CHAR(36) in ascii; json, jsonb and arrays JSON; enum, domain, other
 *     LONGTEXT. Texts are utf8mb4 with a binary collation (MY_UTF8 above). XXX: MariaDB's JSON is a
 *     LONGTEXT in the table's default character set, which should be utf8mb4.
 * A key column cannot be LONGTEXT, LONGBLOB or JSON: see sinkvalue.h (sinkvalue_ddl_key_type). */
static void sv_mysql_ddl(const struct coltype *t, bool key, char *out, size_t outlen)
{
	switch (t->kind) {
	case CT_BOOLEAN:
		snprintf(out, outlen, "TINYINT(1)");
		return;
	case CT_INT:
		snprintf(out, outlen, t->pg_oid == 21 ? "SMALLINT" : "INT");
		return;
	case CT_LONG:
		snprintf(out, outlen, "BIGINT");
		return;
	case CT_FLOAT:
		snprintf(out, outlen, "FLOAT");
		return;
	case CT_DOUBLE:
		snprintf(out, outlen, "DOUBLE");
		return;
	case CT_DECIMAL:
		if (sv_my_decimal_fits(t)) {
			snprintf(out, outlen, "DECIMAL(%d,%d)", t->precision, t->scale);
			return;
		}
		/* too wide for DECIMAL: its text, as for numeric */
		/* fall through */
	case CT_NUMERIC:
		snprintf(out, outlen, "VARCHAR(%d)" MY_ASCII, sv_my_numeric_len(t));
		return;
	case CT_STRING:
		sv_my_text_type(t->maxlen, t->pg_oid == 1042, key, out, outlen);
		return;
	case CT_BYTES:
		if (key)
			snprintf(out, outlen, "VARBINARY(%d)", MY_KEY_UNBOUNDED);
		else
			snprintf(out, outlen, "LONGBLOB");
		return;
	case CT_DATE:
		snprintf(out, outlen, "DATE");
		return;
	case CT_TIME:
		snprintf(out, outlen, "TIME(6)");
		return;
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ:
		snprintf(out, outlen, "DATETIME(6)");
		return;
	case CT_UUID:
		snprintf(out, outlen, "CHAR(36)" MY_ASCII);
		return;
	case CT_JSON:
	case CT_ARRAY:
		if (key)
			sv_my_text_type(-1, false, true, out, outlen);
		else
			snprintf(out, outlen, "JSON");
		return;
	case CT_TEXT_FORM:
		sv_my_text_type(-1, false, key, out, outlen);
		return;
	}
	snprintf(out, outlen, "LONGTEXT" MY_UTF8);
}

/* PostgreSQL: the source's own type (SPEC.md §5), except json, which becomes jsonb as §5 says (the
 * service can index it; reconcile compares JSON canonically); text forms get their built-in type when every
 * PostgreSQL has it, else text. */
static void sv_pg_ddl(const struct coltype *t, char *out, size_t outlen)
{
	const struct sv_builtin *b;
	bool arr;

	if (t->kind == CT_JSON || (t->kind == CT_ARRAY && t->elem == CT_JSON))
		snprintf(out, outlen, "jsonb%s", t->kind == CT_ARRAY ? "[]" : "");
	else if (t->kind == CT_ARRAY && t->elem == CT_TEXT_FORM) /* interval[], money[] (as text[]) */
		snprintf(out, outlen, "%s[]", (b = sv_builtin_find(t->pg_oid, &arr)) ? b->name : "text");
	else if (t->kind != CT_TEXT_FORM)
		coltype_pg_name(t, out, outlen);
	else if ((b = sv_builtin_find(t->pg_oid, &arr)))
		snprintf(out, outlen, "%s%s", b->name, arr ? "[]" : "");
	else
		snprintf(out, outlen, "text");
}

void sinkvalue_ddl_type(enum sinkvalue_engine engine, const struct coltype *t, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return;
	if (engine == SINKVALUE_PG)
		sv_pg_ddl(t, out, outlen);
	else
		sv_mysql_ddl(t, false, out, outlen);
}

void sinkvalue_ddl_key_type(enum sinkvalue_engine engine, const struct coltype *t, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return;
	if (engine == SINKVALUE_PG)
		sv_pg_ddl(t, out, outlen);
	else
		sv_mysql_ddl(t, true, out, outlen);
}

/* ---- compatibility ---- */

/* What a target column must hold: the source type reduced to the few properties the rules test. */
enum sv_need_kind {
	NEED_BOOL,
	NEED_INT,       /* bits: 16, 32, 64 */
	NEED_FLOAT4,
	NEED_FLOAT8,
	NEED_DECIMAL,   /* intdigits, scale; or unconstrained */
	NEED_TEXT,      /* chars (-1: unbounded), bytes_per_char, padded */
	NEED_BYTES,     /* chars = bytes (-1: unbounded) */
	NEED_DATE,
	NEED_TIME,      /* fsp */
	NEED_TIMESTAMP, /* fsp */
	NEED_TIMESTAMPTZ,
	NEED_UUID,
	NEED_JSON,
	NEED_TEXTFORM,  /* builtin (NULL: none), user_type */
};

struct sv_need {
	enum sv_need_kind kind;
	bool array; /* PostgreSQL: the column is an array of this */
	int bits;
	bool unconstrained;
	int intdigits, scale;
	int64_t chars;
	int bytes_per_char;
	bool padded;
	int fsp;
	const char *builtin;
	bool builtin_array;
	bool user_type;
};

/* Categories of declared column types, for both engines. */
enum sv_decl_kind {
	DECL_OTHER, /* a name not in the tables: a user type, or one no rule accepts */
	DECL_BOOL,
	DECL_INT,   /* bits */
	DECL_FLOAT4,
	DECL_FLOAT8,
	DECL_DECIMAL,
	DECL_TEXT,  /* cap: bytes it holds (-1: any PostgreSQL value) */
	DECL_VARCHAR,
	DECL_CHAR,
	DECL_BPCHAR,
	DECL_BLOB,  /* cap */
	DECL_VARBINARY,
	DECL_DATE,
	DECL_TIME,
	DECL_DATETIME,    /* PostgreSQL timestamp, MySQL DATETIME */
	DECL_TIMESTAMPTZ, /* PostgreSQL only */
	DECL_UUID,
	DECL_JSON,
	DECL_JSONB,
	DECL_ENUM,
};

struct sv_decl_name {
	const char *name;
	enum sv_decl_kind kind;
	int64_t param; /* DECL_INT: bits; DECL_TEXT/DECL_BLOB: capacity in bytes (-1: any) */
};

/* format_type() spellings and the aliases a person may write. */
static const struct sv_decl_name sv_pg_names[] = {
	{"boolean", DECL_BOOL, 0},
	{"bool", DECL_BOOL, 0},
	{"smallint", DECL_INT, 16},
	{"int2", DECL_INT, 16},
	{"integer", DECL_INT, 32},
	{"int", DECL_INT, 32},
	{"int4", DECL_INT, 32},
	{"bigint", DECL_INT, 64},
	{"int8", DECL_INT, 64},
	{"real", DECL_FLOAT4, 0},
	{"float4", DECL_FLOAT4, 0},
	{"double precision", DECL_FLOAT8, 0},
	{"float8", DECL_FLOAT8, 0},
	{"numeric", DECL_DECIMAL, 0},
	{"decimal", DECL_DECIMAL, 0},
	{"text", DECL_TEXT, -1},
	{"character varying", DECL_VARCHAR, 0},
	{"varchar", DECL_VARCHAR, 0},
	{"character", DECL_CHAR, 0},
	{"bpchar", DECL_BPCHAR, 0},
	{"bytea", DECL_BLOB, -1},
	{"date", DECL_DATE, 0},
	{"time without time zone", DECL_TIME, 0},
	{"time", DECL_TIME, 0},
	{"timestamp without time zone", DECL_DATETIME, 0},
	{"timestamp", DECL_DATETIME, 0},
	{"timestamp with time zone", DECL_TIMESTAMPTZ, 0},
	{"timestamptz", DECL_TIMESTAMPTZ, 0},
	{"uuid", DECL_UUID, 0},
	{"json", DECL_JSON, 0},
	{"jsonb", DECL_JSONB, 0},
};

/* information_schema.COLUMNS.COLUMN_TYPE spellings (MariaDB shows JSON columns as longtext). */
static const struct sv_decl_name sv_my_names[] = {
	{"tinyint", DECL_INT, 8},
	{"smallint", DECL_INT, 16},
	{"mediumint", DECL_INT, 24},
	{"int", DECL_INT, 32},
	{"integer", DECL_INT, 32},
	{"bigint", DECL_INT, 64},
	{"float", DECL_FLOAT4, 0},
	{"double", DECL_FLOAT8, 0},
	{"double precision", DECL_FLOAT8, 0},
	{"decimal", DECL_DECIMAL, 0},
	{"numeric", DECL_DECIMAL, 0},
	{"char", DECL_CHAR, 0},
	{"varchar", DECL_VARCHAR, 0},
	{"tinytext", DECL_TEXT, 255},
	{"text", DECL_TEXT, 65535},
	{"mediumtext", DECL_TEXT, 16777215},
	{"longtext", DECL_TEXT, INT64_C(4294967295)},
	{"varbinary", DECL_VARBINARY, 0},
	{"tinyblob", DECL_BLOB, 255},
	{"blob", DECL_BLOB, 65535},
	{"mediumblob", DECL_BLOB, 16777215},
	{"longblob", DECL_BLOB, INT64_C(4294967295)},
	{"date", DECL_DATE, 0},
	{"time", DECL_TIME, 0},
	{"datetime", DECL_DATETIME, 0},
	{"json", DECL_JSON, 0},
	{"enum", DECL_ENUM, 0},
};

/* A declared type taken apart: "timestamp(3) with time zone" is base "timestamp with time zone" with
 * modifier 3; "int(10) unsigned" is "int", unsigned; "integer[]" is "integer", array. */
struct sv_decl {
	char base[96];
	enum sv_decl_kind kind;
	int64_t param;
	int nmods;
	long mods[2];
	bool array;
	bool is_unsigned;
};

/* Appends one word to d->base with a blank before it. */
static bool sv_decl_word(struct sv_decl *d, const char *w, size_t n)
{
	size_t have = strlen(d->base);

	if (have + (have > 0) + n + 1 > sizeof d->base)
		return false;
	if (have > 0)
		d->base[have++] = ' ';
	memcpy(d->base + have, w, n);
	d->base[have + n] = '\0';
	return true;
}

/* "(12,2)", "(6)", "(5,-2)": at most two integers. */
static bool sv_decl_mods(struct sv_decl *d, const char *s, size_t n)
{
	size_t i = 0;

	d->nmods = 0;
	for (;;) {
		long v = 0;
		size_t start;
		bool neg;

		while (i < n && s[i] == ' ')
			i++;
		if ((neg = i < n && s[i] == '-'))
			i++;
		for (start = i; i < n && sv_is_digit(s[i]) && v < 100000000; i++)
			v = v * 10 + (s[i] - '0');
		if (i == start || d->nmods == 2)
			return false;
		d->mods[d->nmods++] = neg ? -v : v;
		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			return true;
		if (s[i++] != ',')
			return false;
	}
}

static bool sv_word_is(const char *s, size_t start, size_t end, const char *w)
{
	return end - start == strlen(w) && memcmp(s + start, w, end - start) == 0;
}

/* s[i..] past blanks and one word. */
static size_t sv_skip_word(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] == ' ')
		i++;
	while (i < n && s[i] != ' ')
		i++;
	return i;
}

/* MySQL column attributes after the type, word s[start..*i): unsigned (noted), zerofill, and
 * "character set X", "charset X", "collate X" (skipped with their name; *i moves past it). */
static bool sv_my_attribute(const char *s, size_t n, size_t start, size_t *i, struct sv_decl *d)
{
	size_t end = *i;

	if (sv_word_is(s, start, end, "unsigned")) {
		d->is_unsigned = true;
		return true;
	}
	if (sv_word_is(s, start, end, "zerofill"))
		return true;
	if (sv_word_is(s, start, end, "charset") || sv_word_is(s, start, end, "collate")) {
		*i = sv_skip_word(s, n, end);
		return true;
	}
	if (sv_word_is(s, start, end, "character") && strncmp(s + end, " set ", 5) == 0) {
		*i = sv_skip_word(s, n, sv_skip_word(s, n, end));
		return true;
	}
	return false;
}

/* Parses `declared` (either case). Returns false for an empty or unparsable one. */
static bool sv_decl_parse(enum sinkvalue_engine engine, const char *declared, struct sv_decl *d)
{
	const struct sv_decl_name *names = engine == SINKVALUE_PG ? sv_pg_names : sv_my_names;
	size_t nnames = engine == SINKVALUE_PG ? sizeof sv_pg_names / sizeof sv_pg_names[0]
					       : sizeof sv_my_names / sizeof sv_my_names[0];
	char s[256];
	size_t n, i = 0;
	bool had_mods = false;

	memset(d, 0, sizeof *d);
	n = strlen(declared);
	if (n == 0 || n >= sizeof s) {
		/* only an enum('a','b',...) with many labels is this long; its labels do not matter */
		if (engine != SINKVALUE_MYSQL || strncasecmp(declared, "enum(", 5) != 0)
			return false;
		n = 5;
	}
	for (i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)declared[i]);
	s[n] = '\0';
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	if (engine == SINKVALUE_PG && n > 2 && strcmp(s + n - 2, "[]") == 0) {
		d->array = true;
		s[n -= 2] = '\0';
	}
	for (i = 0; i < n;) {
		size_t start;

		if (s[i] == ' ') {
			i++;
			continue;
		}
		if (s[i] == '(') {
			const char *close;

			/* enum('a','b'): the labels are no modifiers */
			if (strcmp(d->base, "enum") == 0 || strcmp(d->base, "set") == 0)
				break;
			close = strchr(s + i, ')');
			if (had_mods || !close || !sv_decl_mods(d, s + i + 1, (size_t)(close - s - i - 1)))
				return false;
			had_mods = true;
			i = (size_t)(close - s) + 1;
			continue;
		}
		for (start = i; i < n && s[i] != ' ' && s[i] != '('; i++)
			;
		if (engine == SINKVALUE_MYSQL && sv_my_attribute(s, n, start, &i, d))
			continue;
		if (!sv_decl_word(d, s + start, i - start))
			return false;
	}
	d->kind = DECL_OTHER;
	for (i = 0; i < nnames; i++) {
		if (strcmp(names[i].name, d->base) == 0) {
			d->kind = names[i].kind;
			d->param = names[i].param;
			break;
		}
	}
	return d->base[0] != '\0';
}

/* The fractional-second digits of a time type with typmod tm (-1: PostgreSQL's default of 6). */
static int sv_fsp(int32_t tm)
{
	return tm >= 0 && tm <= 6 ? (int)tm : 6;
}

/* The need of a non-array column type t, for engine. */
static void sv_need_of(enum sinkvalue_engine engine, const struct coltype *t, struct sv_need *n)
{
	int p, s;

	memset(n, 0, sizeof *n);
	n->chars = -1;
	n->bytes_per_char = MY_UTF8MB4;
	switch (t->kind) {
	case CT_BOOLEAN:
		n->kind = NEED_BOOL;
		return;
	case CT_INT:
		n->kind = NEED_INT;
		n->bits = t->pg_oid == 21 ? 16 : 32;
		return;
	case CT_LONG:
		n->kind = NEED_INT;
		n->bits = 64;
		return;
	case CT_FLOAT:
		n->kind = NEED_FLOAT4;
		return;
	case CT_DOUBLE:
		n->kind = NEED_FLOAT8;
		return;
	case CT_DECIMAL:
	case CT_NUMERIC:
		if (engine == SINKVALUE_MYSQL && !(t->kind == CT_DECIMAL && sv_my_decimal_fits(t))) {
			/* MySQL keeps it as ASCII text */
			n->kind = NEED_TEXT;
			n->chars = sv_my_numeric_len(t);
			n->bytes_per_char = 1;
			return;
		}
		n->kind = NEED_DECIMAL;
		if (t->kind == CT_DECIMAL) {
			n->intdigits = t->precision - t->scale;
			n->scale = t->scale;
		} else if (sv_numeric_typmod(t->pg_typmod, &p, &s)) {
			n->intdigits = p - s;
			n->scale = s;
		} else {
			n->unconstrained = true;
		}
		return;
	case CT_STRING:
		n->kind = NEED_TEXT;
		n->chars = t->maxlen;
		n->padded = t->pg_oid == 1042;
		return;
	case CT_BYTES:
		n->kind = NEED_BYTES;
		n->bytes_per_char = 1;
		return;
	case CT_DATE:
		n->kind = NEED_DATE;
		return;
	case CT_TIME:
		n->kind = NEED_TIME;
		n->fsp = sv_fsp(t->pg_typmod);
		return;
	case CT_TIMESTAMP:
		n->kind = NEED_TIMESTAMP;
		n->fsp = sv_fsp(t->pg_typmod);
		return;
	case CT_TIMESTAMPTZ:
		n->kind = NEED_TIMESTAMPTZ;
		n->fsp = sv_fsp(t->pg_typmod);
		return;
	case CT_UUID:
		n->kind = NEED_UUID;
		n->chars = 36;
		n->bytes_per_char = 1;
		return;
	case CT_JSON:
	case CT_ARRAY: /* MySQL only: PostgreSQL arrays are their element's need with `array` set */
		n->kind = NEED_JSON;
		return;
	case CT_TEXT_FORM: {
		const struct sv_builtin *b = sv_builtin_find(t->pg_oid, &n->builtin_array);

		n->kind = NEED_TEXTFORM;
		n->builtin = b ? b->name : NULL;
		n->user_type = t->pg_oid >= SV_PG_FIRST_USER_OID;
		return;
	}
	}
}

/* Conditions of the rules below. */
enum sv_cond {
	COND_ALWAYS,
	COND_INT_WIDER,     /* declared integer (signed) has at least the bits */
	COND_DEC_WIDER,     /* declared decimal (signed) keeps at least the integer digits and the scale */
	COND_INT_IN_DEC,    /* declared decimal (signed) has the integer's digits before its point */
	COND_INT_IN_FLOAT,  /* the integer is exact in the float: 16 bits in real, 32 in double */
	COND_PLAIN,         /* FLOAT/DOUBLE without (M,D), which would round */
	COND_LEN,           /* declared length (none in PostgreSQL: any) >= the characters */
	COND_CAP,           /* declared capacity in bytes >= the characters * bytes per character */
	COND_PADDED_LEN,    /* char(n) source, declared length >= n */
	COND_PADDED,        /* char(n) source */
	COND_FSP,           /* declared fractional digits >= the source's */
	COND_UNBOUNDED,     /* PostgreSQL varchar without a length */
	COND_SAME_BUILTIN,  /* the text form's own built-in type */
	COND_USER_TYPE,     /* a user type (enum, domain): values unknown, the target decides (see below) */
};

struct sv_rule {
	enum sinkvalue_engine engine;
	enum sv_need_kind need;
	enum sv_decl_kind decl;
	enum sv_cond cond;
};

/* Every (source need, declared type) pair that holds every value, per engine. A pair not listed is
 * incompatible. Deliberately absent:
 * - PostgreSQL timestamp <-> timestamptz: the same text means another instant once the session TimeZone
 *   is not UTC; date -> timestamp; float -> numeric (a cast rounds to 15 digits).
 * - MySQL DECIMAL(65,30) for numeric without typmod: it rounds digits past the 30th with a note, not an
 *   error, and cannot hold NaN. TIMESTAMP for datetimes: it stops in 2038. DATETIME(p<6) for
 *   microseconds. Unsigned integers for signed ones. CHAR for varchar/text: MySQL strips trailing blanks.
 * User types (enum, domain: oid >= 16384) are the exception to "every value": cleave cannot know their
 * values, so any text column (and in PostgreSQL any type not in the tables, such as the same enum created
 * in the target) is accepted; a value the column refuses fails loudly when its row is applied. */
static const struct sv_rule sv_rules[] = {
	/* PostgreSQL */
	{SINKVALUE_PG, NEED_BOOL, DECL_BOOL, COND_ALWAYS},
	{SINKVALUE_PG, NEED_INT, DECL_INT, COND_INT_WIDER},
	{SINKVALUE_PG, NEED_INT, DECL_DECIMAL, COND_INT_IN_DEC},
	{SINKVALUE_PG, NEED_INT, DECL_FLOAT4, COND_INT_IN_FLOAT},
	{SINKVALUE_PG, NEED_INT, DECL_FLOAT8, COND_INT_IN_FLOAT},
	{SINKVALUE_PG, NEED_FLOAT4, DECL_FLOAT4, COND_ALWAYS},
	{SINKVALUE_PG, NEED_FLOAT4, DECL_FLOAT8, COND_ALWAYS},
	{SINKVALUE_PG, NEED_FLOAT8, DECL_FLOAT8, COND_ALWAYS},
	{SINKVALUE_PG, NEED_DECIMAL, DECL_DECIMAL, COND_DEC_WIDER},
	{SINKVALUE_PG, NEED_TEXT, DECL_TEXT, COND_ALWAYS},
	{SINKVALUE_PG, NEED_TEXT, DECL_VARCHAR, COND_LEN},
	{SINKVALUE_PG, NEED_TEXT, DECL_CHAR, COND_PADDED_LEN},
	{SINKVALUE_PG, NEED_TEXT, DECL_BPCHAR, COND_PADDED},
	{SINKVALUE_PG, NEED_BYTES, DECL_BLOB, COND_ALWAYS},
	{SINKVALUE_PG, NEED_DATE, DECL_DATE, COND_ALWAYS},
	{SINKVALUE_PG, NEED_TIME, DECL_TIME, COND_FSP},
	{SINKVALUE_PG, NEED_TIMESTAMP, DECL_DATETIME, COND_FSP},
	{SINKVALUE_PG, NEED_TIMESTAMPTZ, DECL_TIMESTAMPTZ, COND_FSP},
	{SINKVALUE_PG, NEED_UUID, DECL_UUID, COND_ALWAYS},
	{SINKVALUE_PG, NEED_UUID, DECL_TEXT, COND_ALWAYS},
	{SINKVALUE_PG, NEED_UUID, DECL_VARCHAR, COND_LEN},
	{SINKVALUE_PG, NEED_JSON, DECL_JSON, COND_ALWAYS},
	{SINKVALUE_PG, NEED_JSON, DECL_JSONB, COND_ALWAYS},
	{SINKVALUE_PG, NEED_TEXTFORM, DECL_TEXT, COND_ALWAYS},
	{SINKVALUE_PG, NEED_TEXTFORM, DECL_VARCHAR, COND_UNBOUNDED},
	{SINKVALUE_PG, NEED_TEXTFORM, DECL_OTHER, COND_SAME_BUILTIN},
	{SINKVALUE_PG, NEED_TEXTFORM, DECL_OTHER, COND_USER_TYPE},
	{SINKVALUE_PG, NEED_TEXTFORM, DECL_VARCHAR, COND_USER_TYPE},
	/* MySQL / MariaDB */
	{SINKVALUE_MYSQL, NEED_BOOL, DECL_INT, COND_ALWAYS},
	{SINKVALUE_MYSQL, NEED_INT, DECL_INT, COND_INT_WIDER},
	{SINKVALUE_MYSQL, NEED_INT, DECL_DECIMAL, COND_INT_IN_DEC},
	{SINKVALUE_MYSQL, NEED_INT, DECL_FLOAT4, COND_INT_IN_FLOAT},
	{SINKVALUE_MYSQL, NEED_INT, DECL_FLOAT8, COND_INT_IN_FLOAT},
	{SINKVALUE_MYSQL, NEED_FLOAT4, DECL_FLOAT4, COND_PLAIN},
	{SINKVALUE_MYSQL, NEED_FLOAT4, DECL_FLOAT8, COND_PLAIN},
	{SINKVALUE_MYSQL, NEED_FLOAT8, DECL_FLOAT8, COND_PLAIN},
	{SINKVALUE_MYSQL, NEED_DECIMAL, DECL_DECIMAL, COND_DEC_WIDER},
	{SINKVALUE_MYSQL, NEED_TEXT, DECL_VARCHAR, COND_LEN},
	{SINKVALUE_MYSQL, NEED_TEXT, DECL_CHAR, COND_PADDED_LEN},
	{SINKVALUE_MYSQL, NEED_TEXT, DECL_TEXT, COND_CAP},
	{SINKVALUE_MYSQL, NEED_BYTES, DECL_BLOB, COND_CAP},
	{SINKVALUE_MYSQL, NEED_BYTES, DECL_VARBINARY, COND_LEN},
	{SINKVALUE_MYSQL, NEED_DATE, DECL_DATE, COND_ALWAYS},
	{SINKVALUE_MYSQL, NEED_TIME, DECL_TIME, COND_FSP},
	{SINKVALUE_MYSQL, NEED_TIMESTAMP, DECL_DATETIME, COND_FSP},
	{SINKVALUE_MYSQL, NEED_TIMESTAMPTZ, DECL_DATETIME, COND_FSP},
	{SINKVALUE_MYSQL, NEED_UUID, DECL_CHAR, COND_LEN},
	{SINKVALUE_MYSQL, NEED_UUID, DECL_VARCHAR, COND_LEN},
	{SINKVALUE_MYSQL, NEED_UUID, DECL_TEXT, COND_CAP},
	{SINKVALUE_MYSQL, NEED_JSON, DECL_JSON, COND_ALWAYS},
	{SINKVALUE_MYSQL, NEED_JSON, DECL_TEXT, COND_CAP},
	{SINKVALUE_MYSQL, NEED_TEXTFORM, DECL_TEXT, COND_CAP},
	{SINKVALUE_MYSQL, NEED_TEXTFORM, DECL_TEXT, COND_USER_TYPE},
	{SINKVALUE_MYSQL, NEED_TEXTFORM, DECL_VARCHAR, COND_USER_TYPE},
	{SINKVALUE_MYSQL, NEED_TEXTFORM, DECL_ENUM, COND_USER_TYPE},
};

static int sv_int_digits(int bits)
{
	return bits <= 16 ? 5 : bits <= 32 ? 10 : 19;
}

static bool sv_cond_holds(enum sinkvalue_engine engine, enum sv_cond cond, const struct sv_need *n,
			  const struct sv_decl *d)
{
	/* a decimal's (precision, scale); PostgreSQL numeric without one holds anything, MySQL's is (10,0) */
	bool dec_any = engine == SINKVALUE_PG && d->nmods == 0;
	long dp = d->nmods > 0 ? d->mods[0] : 10, ds = d->nmods > 1 ? d->mods[1] : 0;
	/* a length: PostgreSQL varchar without one holds any; MySQL always shows one */
	bool len_any = d->nmods == 0 && engine == SINKVALUE_PG;
	long len = d->nmods > 0 ? d->mods[0] : (engine == SINKVALUE_MYSQL && d->kind == DECL_CHAR ? 1 : 0);
	int64_t need_bytes = n->chars < 0 ? SV_PG_MAX_FIELD : n->chars * n->bytes_per_char;

	switch (cond) {
	case COND_ALWAYS:
		return true;
	case COND_INT_WIDER:
		return !d->is_unsigned && d->param >= n->bits;
	case COND_DEC_WIDER:
		if (d->is_unsigned)
			return false;
		if (dec_any)
			return true;
		return !n->unconstrained && ds >= n->scale && dp - ds >= n->intdigits;
	case COND_INT_IN_DEC:
		return !d->is_unsigned && (dec_any || (ds >= 0 && dp - ds >= sv_int_digits(n->bits)));
	case COND_INT_IN_FLOAT:
		return d->nmods == 0 && n->bits <= (d->kind == DECL_FLOAT4 ? 16 : 32);
	case COND_PLAIN:
		return d->nmods == 0;
	case COND_LEN:
		return len_any || (n->chars >= 0 && len >= n->chars);
	case COND_CAP:
		return d->param < 0 || d->param >= need_bytes;
	case COND_PADDED_LEN:
		return n->padded && n->chars >= 0 && len >= n->chars;
	case COND_PADDED:
		return n->padded;
	case COND_FSP:
		/* PostgreSQL's default precision is 6, MySQL's 0 */
		return (d->nmods > 0 ? d->mods[0] : engine == SINKVALUE_PG ? 6 : 0) >= n->fsp;
	case COND_UNBOUNDED:
		return d->nmods == 0;
	case COND_SAME_BUILTIN:
		/* unconstrained: interval holds interval(3)'s values, not the other way round */
		return n->builtin && d->nmods == 0 && strcmp(d->base, n->builtin) == 0 &&
		       d->array == n->builtin_array;
	case COND_USER_TYPE:
		return n->user_type;
	}
	return false;
}

static bool sv_need_ok(enum sinkvalue_engine engine, const struct sv_need *n, const struct sv_decl *d)
{
	for (size_t i = 0; i < sizeof sv_rules / sizeof sv_rules[0]; i++) {
		const struct sv_rule *r = &sv_rules[i];

		if (r->engine != engine || r->need != n->kind || r->decl != d->kind)
			continue;
		/* PostgreSQL arrays: an array of the element's type (a text form's own array is in its name) */
		if (engine == SINKVALUE_PG && n->kind != NEED_TEXTFORM && d->array != n->array)
			continue;
		/* an array of a text form (interval[], money[]) wants an array (interval[], text[]) */
		if (engine == SINKVALUE_PG && n->kind == NEED_TEXTFORM && n->array && !d->array)
			continue;
		if (engine == SINKVALUE_PG && n->kind == NEED_TEXTFORM && !n->array && d->array &&
		    r->cond != COND_SAME_BUILTIN && r->cond != COND_USER_TYPE)
			continue;
		if (sv_cond_holds(engine, r->cond, n, d))
			return true;
	}
	return false;
}

static int sv_compatible(enum sinkvalue_engine engine, const struct coltype *t, const char *declared, bool key)
{
	struct coltype e;
	struct sv_need n;
	struct sv_decl d;

	if (!t || !declared || !sv_decl_parse(engine, declared, &d))
		return 0;
	if (engine == SINKVALUE_PG && t->kind == CT_ARRAY) {
		e = *t;
		e.kind = t->elem;
		e.pg_oid = coltype_elem_oid(t->pg_oid);
		sv_need_of(engine, &e, &n);
		n.array = true;
		n.builtin_array = true; /* a text form's array: the builtin's array type (interval[]) */
	} else {
		sv_need_of(engine, t, &n);
	}
	if (sv_need_ok(engine, &n, &d))
		return 1;
	if (!key || engine != SINKVALUE_MYSQL)
		return 0;
	/* a MySQL key column: the bounded type of sinkvalue_ddl_key_type, or wider, also does */
	switch (n.kind) {
	case NEED_TEXT:
		/* a numeric's ASCII text, or a varchar(n) short enough, is already its own key type */
		if (n.bytes_per_char == 1 || (n.chars >= 0 && n.chars <= MY_KEY_VARCHAR_MAX))
			return 0;
		n.chars = n.chars < 0 ? MY_KEY_UNBOUNDED : MY_KEY_VARCHAR_MAX;
		break;
	case NEED_JSON:
	case NEED_TEXTFORM:
		n.kind = NEED_TEXT;
		n.chars = MY_KEY_UNBOUNDED;
		n.padded = false;
		break;
	case NEED_BYTES:
		n.chars = MY_KEY_UNBOUNDED;
		break;
	default:
		return 0;
	}
	return sv_need_ok(engine, &n, &d);
}

int sinkvalue_compatible(enum sinkvalue_engine engine, const struct coltype *t, const char *declared)
{
	return sv_compatible(engine, t, declared, false);
}

int sinkvalue_compatible_key(enum sinkvalue_engine engine, const struct coltype *t, const char *declared)
{
	return sv_compatible(engine, t, declared, true);
}

/* ---- widening (schema changes) ---- */

/* Whether a column declared `to` holds every value a column declared `from` holds, within the families a
 * source type change widens: integers (also into decimals), floats, decimals, varchar and text. */
static bool sv_decl_holds(enum sinkvalue_engine engine, const struct sv_decl *to, const struct sv_decl *from)
{
	bool to_any = engine == SINKVALUE_PG && to->nmods == 0;     /* numeric, varchar without a modifier */
	bool from_any = engine == SINKVALUE_PG && from->nmods == 0;
	long tp = to->nmods > 0 ? to->mods[0] : 10, ts = to->nmods > 1 ? to->mods[1] : 0;
	long fp = from->nmods > 0 ? from->mods[0] : 10, fs = from->nmods > 1 ? from->mods[1] : 0;

	if (to->array != from->array || to->is_unsigned)
		return false;
	switch (from->kind) {
	case DECL_INT:
		if (to->kind == DECL_INT)
			return to->param > from->param || (!from->is_unsigned && to->param == from->param);
		if (to->kind == DECL_DECIMAL)
			return to_any || (ts >= 0 && tp - ts >= sv_int_digits((int)from->param) + from->is_unsigned);
		return false;
	case DECL_FLOAT4:
		return (to->kind == DECL_FLOAT4 || to->kind == DECL_FLOAT8) && to->nmods == 0 && from->nmods == 0;
	case DECL_FLOAT8:
		return to->kind == DECL_FLOAT8 && to->nmods == 0 && from->nmods == 0;
	case DECL_DECIMAL:
		if (to->kind != DECL_DECIMAL || from->is_unsigned)
			return false;
		return to_any || (!from_any && ts >= fs && tp - ts >= fp - fs);
	case DECL_VARCHAR:
		if (to->kind == DECL_VARCHAR)
			return to_any || (!from_any && tp >= fp);
		if (to->kind == DECL_TEXT)
			return to->param < 0 || (!from_any && to->param >= fp * MY_UTF8MB4);
		return false;
	case DECL_TEXT:
		return to->kind == DECL_TEXT && (to->param < 0 || (from->param >= 0 && to->param >= from->param));
	default:
		return false;
	}
}

int sinkvalue_widen(enum sinkvalue_engine engine, const struct coltype *t, bool key, const char *declared, char *out,
                    size_t outlen)
{
	char want[128], *cut;
	struct sv_decl d, w;

	if (!t || !declared || !out || outlen == 0)
		return 0;
	if (key)
		sinkvalue_ddl_key_type(engine, t, want, sizeof want);
	else
		sinkvalue_ddl_type(engine, t, want, sizeof want);
	/* MySQL: the bare type; the column keeps its character set and collation */
	if (engine == SINKVALUE_MYSQL && (cut = strstr(want, " CHARACTER SET")))
		*cut = '\0';
	if (!sv_decl_parse(engine, declared, &d) || !sv_decl_parse(engine, want, &w))
		return 0;
	if (sv_decl_holds(engine, &w, &d)) {
		snprintf(out, outlen, "%s", want);
		return 1;
	}
	/* decimals: as many integer digits and as much scale as either has (numeric(20,2) and the source's new
	 * numeric(12,4) give numeric(22,4)) */
	if (d.kind == DECL_DECIMAL && w.kind == DECL_DECIMAL && d.nmods > 0 && w.nmods > 0 && !d.is_unsigned &&
	    d.array == w.array) {
		long dp = d.mods[0], ds = d.nmods > 1 ? d.mods[1] : 0, wp = w.mods[0], ws = w.nmods > 1 ? w.mods[1] : 0;
		long s = ds > ws ? ds : ws, in = dp - ds > wp - ws ? dp - ds : wp - ws;

		if (s < 0 || (engine == SINKVALUE_MYSQL && (in + s > MY_DEC_MAX_PRECISION || s > MY_DEC_MAX_SCALE)) ||
		    (engine == SINKVALUE_PG && in + s > 1000))
			return 0;
		snprintf(out, outlen, engine == SINKVALUE_PG ? "numeric(%ld,%ld)%s" : "DECIMAL(%ld,%ld)%s", in + s, s,
		         d.array ? "[]" : "");
		return sv_compatible(engine, t, out, key);
	}
	return 0;
}
