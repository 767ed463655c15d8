/* pgtext.c: parses the PostgreSQL text output of one column value (what pgoutput protocol 1 sends, in a
 * walsender session with DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC, extra_float_digits=3,
 * bytea_output=hex) and appends its Avro binary encoding (SPEC.md §5) with schema/avro_write.h.
 * Called by schema/envelope.c for every column of every change: the per-value hot path. Pure: no I/O,
 * no globals, and it never reads text[len] or beyond (the text is not NUL-terminated).
 *
 * On error the output buffer is left as it was and err names the type and quotes a bounded prefix of
 * the text. Decisions a user sees:
 * - numeric(p,s) NaN/±Infinity are written as an Avro string of the text and PGTEXT_SPECIAL returned,
 *   so the column's union can carry them beside the decimal; inside an array the item union has the
 *   same string branch (index 2).
 * - A decimal text with more fractional digits than the column's scale is an error unless the extra
 *   digits are zeros: cleave never rounds.
 * - Timestamps later than about 294247-01-10 (PostgreSQL accepts up to 294276-12-31) do not fit in
 *   int64 microseconds since 1970 and are an error, as is a finite value that would read as ±infinity.
 * - One-dimensional arrays with the default lower bound are Avro arrays; the others ("[2:3]={...}",
 *   "{{..}}") are written as an Avro string of their text and PGTEXT_SPECIAL returned, for the column
 *   union's string branch. */
#include "schema/pgtext.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema/avro_write.h"

/* Bytes of a bad value quoted in an error message. */
#define PGTEXT_QUOTE_MAX 64
/* Longest float text accepted; PostgreSQL's shortest-exact output needs at most 25 bytes. */
#define PGTEXT_FLOAT_MAX 64
/* Most digits of a numeric(p,s) unscaled value: PostgreSQL caps p at 1000. */
#define PGTEXT_DEC_MAX_DIGITS 1000
/* 32-bit limbs for a 1000-digit integer: 1000 * log2(10) / 32 = 103.8. */
#define PGTEXT_DEC_LIMBS 106

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY (INT64_C(86400) * USECS_PER_SEC)

static int pgtext_value(const struct coltype *t, const char *s, size_t len, struct buf *out,
			struct cerr *err);

/* ---- error messages ---- */

/* Copies at most PGTEXT_QUOTE_MAX bytes of s into q (NUL-terminated), escaping control characters,
 * quotes and backslashes, and marking a cut with "...". Never cuts inside a UTF-8 sequence. */
static void pgtext_quote(const char *s, size_t len, char *q, size_t qlen)
{
	size_t n = len, i, o = 0;

	if (n > PGTEXT_QUOTE_MAX) {
		n = PGTEXT_QUOTE_MAX;
		while (n > PGTEXT_QUOTE_MAX - 3 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n && o + 8 < qlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(q + o, qlen - o, "\\x%02x", c);
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(q + o, qlen - o, "\\%c", c);
		else
			q[o++] = (char)c;
	}
	q[o] = '\0';
	if (n < len && o + 4 <= qlen)
		memcpy(q + o, "...", 4);
}

/* Records "invalid <type> value "<text>": <why>" and returns -1. */
static int pgtext_fail(struct cerr *err, const struct coltype *t, const char *s, size_t len, const char *why)
{
	char name[128], q[PGTEXT_QUOTE_MAX * 4 + 8];

	coltype_pg_name(t, name, sizeof name);
	pgtext_quote(s, len, q, sizeof q);
	return cerr_set(err, false, "invalid %s value \"%s\": %s", name, q, why);
}

/* The avro_put_* calls fail only when the buffer's limit (or memory) runs out. */
static int pgtext_nospace(struct cerr *err, const struct coltype *t, struct buf *out, size_t len)
{
	char name[128];

	coltype_pg_name(t, name, sizeof name);
	return cerr_set(err, false, "%s value of %zu bytes of text does not fit in the output buffer "
			"(%zu bytes used, limit %zu)", name, len, out->len, out->limit);
}

/* ---- a cursor over the text ---- */

struct pgtext_scan {
	const char *s;
	size_t len;
	size_t pos;
};

static bool scan_end(const struct pgtext_scan *c)
{
	return c->pos >= c->len;
}

static bool scan_char(struct pgtext_scan *c, char ch)
{
	if (c->pos < c->len && c->s[c->pos] == ch) {
		c->pos++;
		return true;
	}
	return false;
}

static bool scan_lit(struct pgtext_scan *c, const char *lit)
{
	size_t n = strlen(lit);

	if (c->len - c->pos >= n && memcmp(c->s + c->pos, lit, n) == 0) {
		c->pos += n;
		return true;
	}
	return false;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Reads between minn and maxn (<= 18) decimal digits into *v; *ndig gets how many were read. */
static bool scan_digits(struct pgtext_scan *c, size_t minn, size_t maxn, int64_t *v, size_t *ndig)
{
	size_t n = 0;
	int64_t x = 0;

	while (n < maxn && c->pos < c->len && is_digit(c->s[c->pos])) {
		x = x * 10 + (c->s[c->pos] - '0');
		c->pos++;
		n++;
	}
	*v = x;
	if (ndig)
		*ndig = n;
	return n >= minn;
}

static bool text_is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* ---- boolean, integers, floats ---- */

static int pgtext_bool(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	bool v;

	if (text_is(s, len, "t"))
		v = true;
	else if (text_is(s, len, "f"))
		v = false;
	else
		return pgtext_fail(err, t, s, len, "expected t or f");
	if (avro_put_bool(out, v) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* Parses an optional '-' and decimal digits into *v. *why says what is wrong on failure. */
static int pgtext_parse_int64(const char *s, size_t len, int64_t *v, const char **why)
{
	uint64_t mag = 0, lim;
	bool neg = false;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len) {
		*why = "not an integer";
		return -1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (!is_digit(s[i])) {
			*why = "not an integer";
			return -1;
		}
		d = (unsigned)(s[i] - '0');
		if (mag > (lim - d) / 10) {
			*why = "out of range";
			return -1;
		}
		mag = mag * 10 + d;
	}
	/* -(2^63) has no positive int64 counterpart to negate */
	if (neg)
		*v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		*v = (int64_t)mag;
	return 0;
}

static int pgtext_int(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	const char *why = NULL;
	int64_t v, lo, hi;

	if (pgtext_parse_int64(s, len, &v, &why) < 0)
		return pgtext_fail(err, t, s, len, why);
	coltype_int_range(t, &lo, &hi);
	if (v < lo || v > hi)
		return pgtext_fail(err, t, s, len, "out of range");
	if (avro_put_long(out, v) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* Float syntax as PostgreSQL prints it, -?digits[.digits][e[+-]digits] (".5" is let through too).
 * Checked by hand so strtod's extras (hex floats, "inf", "nan(...)", leading blanks) are refused. */
static bool pgtext_float_syntax(const char *s, size_t len)
{
	size_t i = 0, nd = 0;

	if (i < len && s[i] == '-')
		i++;
	while (i < len && is_digit(s[i])) {
		i++;
		nd++;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit(s[i])) {
			i++;
			nd++;
		}
	}
	if (nd == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t ne = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < len && is_digit(s[i])) {
			i++;
			ne++;
		}
		if (ne == 0)
			return false;
	}
	return i == len;
}

/* real and double precision. The text is copied NUL-terminated and converted with strtof_l/strtod_l in
 * the "C" locale, so a process locale with a decimal comma cannot change the result; PostgreSQL's
 * shortest-exact output converts back to the same bits. */
static int pgtext_float(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	char tmp[PGTEXT_FLOAT_MAX + 1];
	bool is_float = t->kind == CT_FLOAT;
	double d = 0;
	float f = 0;
	locale_t c_loc;
	char *end = NULL;
	int rc;

	if (text_is(s, len, "NaN")) {
		d = NAN;
		f = NAN;
	} else if (text_is(s, len, "Infinity")) {
		d = INFINITY;
		f = INFINITY;
	} else if (text_is(s, len, "-Infinity")) {
		d = -INFINITY;
		f = -INFINITY;
	} else {
		if (!pgtext_float_syntax(s, len))
			return pgtext_fail(err, t, s, len, "not a floating-point number");
		if (len > PGTEXT_FLOAT_MAX)
			return pgtext_fail(err, t, s, len, "too many characters for a floating-point number");
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		/* glibc returns its static C locale object here: no allocation */
		c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
		if (c_loc == (locale_t)0)
			return cerr_set(err, false, "cannot create the C locale to parse floating-point values");
		if (is_float)
			f = strtof_l(tmp, &end, c_loc);
		else
			d = strtod_l(tmp, &end, c_loc);
		freelocale(c_loc);
		if (end != tmp + len)
			return pgtext_fail(err, t, s, len, "not a floating-point number");
		/* underflow to a denormal or zero is PostgreSQL's own value; overflow is not */
		if (is_float ? isinf(f) : isinf(d))
			return pgtext_fail(err, t, s, len, "out of range");
	}
	rc = is_float ? avro_put_float(out, f) : avro_put_double(out, d);
	if (rc < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* ---- numeric ---- */

struct pgtext_dec {
	bool neg;
	const char *ip; /* integer digits */
	size_t in;
	const char *fp; /* fraction digits */
	size_t fn;
};

/* numeric_out's form: -?digits[.digits] (never an exponent, never a bare point). */
static bool pgtext_dec_syntax(const char *s, size_t len, struct pgtext_dec *d)
{
	size_t i = 0;

	d->neg = false;
	if (i < len && s[i] == '-') {
		d->neg = true;
		i++;
	}
	d->ip = s + i;
	while (i < len && is_digit(s[i]))
		i++;
	d->in = (size_t)(s + i - d->ip);
	d->fp = s + i;
	d->fn = 0;
	if (d->in == 0)
		return false;
	if (i < len && s[i] == '.') {
		i++;
		d->fp = s + i;
		while (i < len && is_digit(s[i]))
			i++;
		d->fn = (size_t)(s + i - d->fp);
		if (d->fn == 0)
			return false;
	}
	return i == len;
}

static bool pgtext_dec_special(const char *s, size_t len)
{
	return text_is(s, len, "NaN") || text_is(s, len, "Infinity") || text_is(s, len, "-Infinity");
}

static int pgtext_string(const struct coltype *t, const char *s, size_t len, struct buf *out,
			 struct cerr *err)
{
	if (avro_put_bytes(out, s, len) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* numeric without a typmod: carried as its text, which must still look like a numeric. */
static int pgtext_numeric(const struct coltype *t, const char *s, size_t len, struct buf *out,
			  struct cerr *err)
{
	struct pgtext_dec d;

	if (!pgtext_dec_special(s, len) && !pgtext_dec_syntax(s, len, &d))
		return pgtext_fail(err, t, s, len, "not a number");
	return pgtext_string(t, s, len, out, err);
}

/* numeric(p,s) as an Avro decimal: the value times 10^scale as a two's-complement big-endian integer
 * in the fewest bytes that keep its sign (0 -> 00, 127 -> 7F, 128 -> 00 80, -128 -> 80, -129 -> FF 7F). */
static int pgtext_decimal(const struct coltype *t, const char *s, size_t len, struct buf *out,
			  struct cerr *err)
{
	char digits[PGTEXT_DEC_MAX_DIGITS];
	uint32_t limb[PGTEXT_DEC_LIMBS];
	uint8_t be[PGTEXT_DEC_LIMBS * 4 + 1];
	struct pgtext_dec d;
	size_t nd = 0, nlimb = 0, i, k, nb, start;
	const char *ip;
	size_t in;
	char why[160];

	if (t->precision < 1 || t->precision > PGTEXT_DEC_MAX_DIGITS || t->scale < 0 || t->scale > t->precision)
		return cerr_set(err, false, "cannot encode a decimal with precision %d and scale %d", t->precision,
				t->scale);
	if (pgtext_dec_special(s, len)) {
		if (pgtext_string(t, s, len, out, err) < 0)
			return -1;
		return PGTEXT_SPECIAL;
	}
	if (!pgtext_dec_syntax(s, len, &d))
		return pgtext_fail(err, t, s, len, "not a number");
	/* fraction digits beyond the scale must be zeros: cleave does not round */
	for (i = (size_t)t->scale; i < d.fn; i++) {
		if (d.fp[i] != '0') {
			snprintf(why, sizeof why, "has more than %d fractional digits (would need rounding)", t->scale);
			return pgtext_fail(err, t, s, len, why);
		}
	}
	/* the unscaled digits: integer part without leading zeros, then exactly `scale` fraction digits */
	ip = d.ip;
	in = d.in;
	while (in > 0 && *ip == '0') {
		ip++;
		in--;
	}
	if (in > (size_t)(t->precision - t->scale)) {
		snprintf(why, sizeof why, "needs %zu integer digits, numeric(%d,%d) holds %d", in, t->precision,
			 t->scale, t->precision - t->scale);
		return pgtext_fail(err, t, s, len, why);
	}
	memcpy(digits, ip, in);
	nd = in;
	for (i = 0; i < (size_t)t->scale; i++)
		digits[nd++] = i < d.fn ? d.fp[i] : '0';

	/* decimal to binary, nine digits at a time: limb = limb * 10^k + chunk, little-endian limbs */
	for (i = 0; i < nd; i += k) {
		uint32_t chunk = 0, mul = 1;
		uint64_t carry;
		size_t j;

		k = nd - i < 9 ? nd - i : 9;
		for (j = 0; j < k; j++) {
			chunk = chunk * 10 + (uint32_t)(digits[i + j] - '0');
			mul *= 10;
		}
		carry = chunk;
		for (j = 0; j < nlimb; j++) {
			uint64_t x = (uint64_t)limb[j] * mul + carry;

			limb[j] = (uint32_t)x;
			carry = x >> 32;
		}
		if (carry)
			limb[nlimb++] = (uint32_t)carry;
	}

	/* big-endian magnitude with one spare leading byte for the sign */
	nb = nlimb * 4 + 1;
	be[0] = 0;
	for (i = 0; i < nlimb; i++) {
		for (k = 0; k < 4; k++)
			be[nb - 1 - (i * 4 + k)] = (uint8_t)(limb[i] >> (8 * k));
	}
	if (d.neg && nlimb > 0) { /* two's complement: invert, add one */
		unsigned c = 1;

		for (i = nb; i-- > 0;) {
			unsigned x = (unsigned)(uint8_t)~be[i] + c;

			be[i] = (uint8_t)x;
			c = x >> 8;
		}
	}
	/* drop leading bytes that only repeat the sign of the next one */
	start = 0;
	while (nb - start > 1 && ((be[start] == 0x00 && !(be[start + 1] & 0x80)) ||
				  (be[start] == 0xFF && (be[start + 1] & 0x80))))
		start++;
	if (avro_put_bytes(out, be + start, nb - start) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* ---- bytea, uuid ---- */

static int pgtext_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Bytes of the Avro long that carries a length n. */
static size_t pgtext_len_size(size_t n)
{
	uint64_t z = (uint64_t)n << 1; /* zigzag of a non-negative value */
	size_t k = 1;

	while (z >= 0x80) {
		z >>= 7;
		k++;
	}
	return k;
}

/* bytea_output=hex: "\x" then two hex digits per byte, decoded straight into out. */
static int pgtext_bytes(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	size_t n, i;
	uint8_t *dst;

	if (len < 2 || s[0] != '\\' || s[1] != 'x')
		return pgtext_fail(err, t, s, len, "expected the hex format \\x...");
	if ((len - 2) % 2 != 0)
		return pgtext_fail(err, t, s, len, "odd number of hex digits");
	n = (len - 2) / 2;
	if (buf_reserve(out, pgtext_len_size(n) + n) < 0 || avro_put_long(out, (int64_t)n) < 0)
		return pgtext_nospace(err, t, out, len);
	dst = out->data + out->len;
	for (i = 0; i < n; i++) {
		int hi = pgtext_hexval(s[2 + 2 * i]), lo = pgtext_hexval(s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return pgtext_fail(err, t, s, len, "invalid hex digit");
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	out->len += n;
	out->data[out->len] = '\0'; /* buf keeps a terminating NUL */
	return PGTEXT_VALUE;
}

/* 8-4-4-4-12 hex digits, as uuid_out prints them. */
static int pgtext_uuid(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	size_t i;

	if (len != 36)
		return pgtext_fail(err, t, s, len, "expected 36 characters xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
	for (i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : pgtext_hexval(s[i]) < 0)
			return pgtext_fail(err, t, s, len, "expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
	}
	return pgtext_string(t, s, len, out, err);
}

/* ---- dates and times ---- */

static bool pgtext_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int pgtext_mdays(int64_t y, int m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && pgtext_leap(y) ? 29 : mdays[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, y astronomical (1 BC is 0).
 * The year is counted from March 1st so that the leap day is the last day of a counting year; such
 * years repeat in cycles of 400 years = 146097 days. */
static int64_t pgtext_days_from_civil(int64_t y, int m, int d)
{
	int64_t cycle, yic, dic;
	int doy;

	if (m <= 2)
		y--; /* January and February end the previous March-based year */
	cycle = (y >= 0 ? y : y - 399) / 400; /* floor division */
	yic = y - cycle * 400;                /* 0..399 */
	/* day of the March-based year: month lengths 31,30,31,30,31,31,30,31,30,31,31,28/29 follow
	 * (153 * month + 2) / 5 with March as month 0 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	dic = yic * 365 + yic / 4 - yic / 100 + doy; /* 0..146096 */
	/* 719468 = days from 0000-03-01 to 1970-01-01 */
	return cycle * 146097 + dic - 719468;
}

struct pgtext_dt {
	int64_t year; /* astronomical once BC is applied */
	int month, day;
	int64_t usec_of_day;
	int64_t offset_sec; /* east of UTC */
};

/* YYYY-MM-DD (the year may have more than four digits), validated against the calendar. BC is applied
 * later by the caller, as it comes at the very end of the text. */
static bool pgtext_scan_date(struct pgtext_scan *c, struct pgtext_dt *dt)
{
	int64_t y, m, d;

	if (!scan_digits(c, 1, 9, &y, NULL) || !scan_char(c, '-') || !scan_digits(c, 2, 2, &m, NULL) ||
	    !scan_char(c, '-') || !scan_digits(c, 2, 2, &d, NULL))
		return false;
	if (m < 1 || m > 12 || d < 1)
		return false;
	dt->year = y;
	dt->month = (int)m;
	dt->day = (int)d;
	return true;
}

/* After the BC marker is known: the year 0 does not exist in AD/BC numbering. */
static bool pgtext_apply_era(struct pgtext_dt *dt, bool bc)
{
	if (dt->year == 0)
		return false;
	if (bc)
		dt->year = 1 - dt->year;
	return dt->day <= pgtext_mdays(dt->year, dt->month);
}

/* HH:MM:SS[.f{1,6}]; max_hour 24 allows time's 24:00:00 (and nothing later). */
static bool pgtext_scan_time(struct pgtext_scan *c, int max_hour, int64_t *usec)
{
	int64_t h, m, sec, frac = 0;
	size_t nf = 0;

	if (!scan_digits(c, 2, 2, &h, NULL) || !scan_char(c, ':') || !scan_digits(c, 2, 2, &m, NULL) ||
	    !scan_char(c, ':') || !scan_digits(c, 2, 2, &sec, NULL))
		return false;
	if (scan_char(c, '.')) {
		if (!scan_digits(c, 1, 6, &frac, &nf))
			return false;
		if (c->pos < c->len && is_digit(c->s[c->pos]))
			return false; /* more than microsecond precision */
		for (; nf < 6; nf++)
			frac *= 10;
	}
	if (h > max_hour || m > 59 || sec > 59)
		return false;
	*usec = ((h * 60 + m) * 60 + sec) * USECS_PER_SEC + frac;
	return *usec <= 24 * 3600 * USECS_PER_SEC;
}

/* +HH[:MM[:SS]] or -HH[:MM[:SS]], at most PostgreSQL's 15:59:59. */
static bool pgtext_scan_offset(struct pgtext_scan *c, int64_t *offset_sec)
{
	int64_t h, m = 0, sec = 0;
	bool neg;

	if (scan_char(c, '+'))
		neg = false;
	else if (scan_char(c, '-'))
		neg = true;
	else
		return false;
	if (!scan_digits(c, 2, 2, &h, NULL))
		return false;
	if (scan_char(c, ':')) {
		if (!scan_digits(c, 2, 2, &m, NULL))
			return false;
		if (scan_char(c, ':') && !scan_digits(c, 2, 2, &sec, NULL))
			return false;
	}
	if (h > 15 || m > 59 || sec > 59)
		return false;
	*offset_sec = (h * 3600 + m * 60 + sec) * (neg ? -1 : 1);
	return true;
}

static int pgtext_date(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	struct pgtext_scan c = {s, len, 0};
	struct pgtext_dt dt;
	int64_t days;
	bool bc;

	if (text_is(s, len, "infinity"))
		days = INT32_MAX;
	else if (text_is(s, len, "-infinity"))
		days = INT32_MIN;
	else {
		if (!pgtext_scan_date(&c, &dt))
			return pgtext_fail(err, t, s, len, "expected YYYY-MM-DD[ BC]");
		bc = scan_lit(&c, " BC");
		if (!scan_end(&c))
			return pgtext_fail(err, t, s, len, "expected YYYY-MM-DD[ BC]");
		if (!pgtext_apply_era(&dt, bc))
			return pgtext_fail(err, t, s, len, "no such date");
		days = pgtext_days_from_civil(dt.year, dt.month, dt.day);
		/* the extremes are the infinity sentinels; PostgreSQL's dates stop well before them */
		if (days <= INT32_MIN || days >= INT32_MAX)
			return pgtext_fail(err, t, s, len, "out of range");
	}
	if (avro_put_long(out, days) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

static int pgtext_time(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	struct pgtext_scan c = {s, len, 0};
	int64_t usec;

	if (!pgtext_scan_time(&c, 24, &usec) || !scan_end(&c))
		return pgtext_fail(err, t, s, len, "expected HH:MM:SS[.ffffff] no later than 24:00:00");
	if (avro_put_long(out, usec) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* timestamp: YYYY-MM-DD HH:MM:SS[.ffffff][ BC]; timestamptz: the same with the UTC offset before the
 * BC marker (PostgreSQL prints "0044-03-15 12:00:00+00 BC"). */
static int pgtext_timestamp(const struct coltype *t, const char *s, size_t len, struct buf *out,
			    struct cerr *err)
{
	struct pgtext_scan c = {s, len, 0};
	bool tz = t->kind == CT_TIMESTAMPTZ;
	const char *form = tz ? "expected YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]][ BC]"
			      : "expected YYYY-MM-DD HH:MM:SS[.ffffff][ BC]";
	struct pgtext_dt dt;
	int64_t v, days, tod;
	bool bc;

	dt.offset_sec = 0;
	if (text_is(s, len, "infinity"))
		v = INT64_MAX;
	else if (text_is(s, len, "-infinity"))
		v = INT64_MIN;
	else {
		if (!pgtext_scan_date(&c, &dt) || !scan_char(&c, ' ') ||
		    !pgtext_scan_time(&c, 23, &dt.usec_of_day) || (tz && !pgtext_scan_offset(&c, &dt.offset_sec)))
			return pgtext_fail(err, t, s, len, form);
		bc = scan_lit(&c, " BC");
		if (!scan_end(&c))
			return pgtext_fail(err, t, s, len, form);
		if (!pgtext_apply_era(&dt, bc))
			return pgtext_fail(err, t, s, len, "no such date");
		days = pgtext_days_from_civil(dt.year, dt.month, dt.day);
		/* UTC is local time minus the offset; subtracting within the day first lets a local time just
		 * past the int64 range still land inside it */
		tod = dt.usec_of_day - dt.offset_sec * USECS_PER_SEC;
		if (__builtin_mul_overflow(days, USECS_PER_DAY, &v) || __builtin_add_overflow(v, tod, &v) ||
		    v == INT64_MAX || v == INT64_MIN)
			return pgtext_fail(err, t, s, len, "out of range of microseconds since 1970 in 64 bits");
	}
	if (avro_put_long(out, v) < 0)
		return pgtext_nospace(err, t, out, len);
	return PGTEXT_VALUE;
}

/* ---- arrays ---- */


/* array_in's notion of white space */
static bool pgtext_arr_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

struct pgtext_arr {
	const char *s;
	size_t len;
	size_t pos;
	const char *why; /* what is wrong, on failure */
};

static void arr_skip_space(struct pgtext_arr *a)
{
	while (a->pos < a->len && pgtext_arr_space(a->s[a->pos]))
		a->pos++;
}

/* Reads the next element of a one-dimensional array literal, after its '{' or a ','. Unescaped text
 * goes to elem (when not NULL). Returns 1 for an element (*isnull set), 0 at the closing '}', -1 with
 * a->why. Quoted elements keep their spaces; unquoted ones lose leading and trailing spaces, and the
 * unquoted word NULL (any case) is SQL NULL. */
static int arr_next(struct pgtext_arr *a, struct buf *elem, bool *isnull, bool first)
{
	size_t nchars = 0, keep = 0;
	bool escaped = false;

	if (elem)
		buf_reset(elem);
	arr_skip_space(a);
	if (a->pos >= a->len) {
		a->why = "unterminated array";
		return -1;
	}
	if (first && a->s[a->pos] == '}') {
		a->pos++;
		return 0;
	}
	if (a->s[a->pos] == '{') {
		a->why = "multi-dimensional arrays are not supported";
		return -1;
	}
	if (a->s[a->pos] == '"') {
		a->pos++;
		for (;;) {
			char ch;

			if (a->pos >= a->len) {
				a->why = "unterminated quoted element";
				return -1;
			}
			ch = a->s[a->pos++];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (a->pos >= a->len) {
					a->why = "unterminated quoted element";
					return -1;
				}
				ch = a->s[a->pos++];
			}
			if (elem && buf_putc(elem, (uint8_t)ch) < 0) {
				a->why = "out of memory";
				return -1;
			}
		}
		*isnull = false;
		arr_skip_space(a);
	} else {
		for (;;) {
			char ch;

			if (a->pos >= a->len) {
				a->why = "unterminated array";
				return -1;
			}
			ch = a->s[a->pos];
			if (ch == ',' || ch == '}')
				break;
			if (ch == '"' || ch == '{') {
				a->why = "unexpected quote or brace inside an unquoted element";
				return -1;
			}
			a->pos++;
			if (ch == '\\') {
				if (a->pos >= a->len) {
					a->why = "unterminated array";
					return -1;
				}
				ch = a->s[a->pos++];
				escaped = true;
				keep = nchars + 1; /* an escaped character is never trimmed */
			} else if (!pgtext_arr_space(ch)) {
				keep = nchars + 1;
			}
			if (elem && buf_putc(elem, (uint8_t)ch) < 0) {
				a->why = "out of memory";
				return -1;
			}
			nchars++;
		}
		if (keep == 0) {
			a->why = "empty unquoted element";
			return -1;
		}
		if (elem)
			elem->len = keep; /* trailing spaces were not part of the element */
		/* "NULL" is SQL NULL only unquoted and unescaped: a string NULL is printed "NULL" in quotes */
		*isnull = !escaped && keep == 4 && strncasecmp(a->s + a->pos - nchars, "NULL", 4) == 0;
	}
	if (a->pos >= a->len) {
		a->why = "unterminated array";
		return -1;
	}
	if (a->s[a->pos] == ',' || a->s[a->pos] == '}') {
		a->pos++;
		return 1;
	}
	a->why = "expected , or } after an element";
	return -1;
}

/* Checks the literal's frame and leaves a->pos after the '{'. */
static int arr_open(struct pgtext_arr *a)
{
	arr_skip_space(a);
	if (a->pos < a->len && a->s[a->pos] == '[') {
		a->why = "arrays with explicit bounds ([lower:upper]={...}) are not supported";
		return -1;
	}
	if (a->pos >= a->len || a->s[a->pos] != '{') {
		a->why = "expected {";
		return -1;
	}
	a->pos++;
	return 0;
}

/* Counts the elements and checks the whole literal, so the Avro block count can come first. */
static int64_t arr_count(const char *s, size_t len, const char **why)
{
	struct pgtext_arr a = {s, len, 0, NULL};
	int64_t n = 0;
	bool isnull;
	int rc;

	if (arr_open(&a) < 0) {
		*why = a.why;
		return -1;
	}
	while ((rc = arr_next(&a, NULL, &isnull, n == 0)) == 1) {
		n++;
		if (a.s[a.pos - 1] == '}')
			break;
	}
	if (rc < 0) {
		*why = a.why;
		return -1;
	}
	arr_skip_space(&a);
	if (a.pos != a.len) {
		*why = "text after the closing }";
		return -1;
	}
	return n;
}

/* Whether an array literal is one an Avro array of the element cannot carry: explicit bounds
 * ("[0:1]={5,6}", which array_out prints for a lower bound other than 1) or more than one dimension
 * ("{{1,2},{3,4}}"). Such an array travels as its text in the column union's string branch. */
static bool pgtext_array_is_text_form(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && pgtext_arr_space(s[i]))
		i++;
	if (i < len && s[i] == '[')
		return true;
	if (i >= len || s[i] != '{')
		return false;
	for (i++; i < len && pgtext_arr_space(s[i]); i++)
		;
	return i < len && s[i] == '{';
}

/* An array as one Avro block: count, then each item as the union {null: index 0, element: index 1} (for
 * decimal elements also {string: index 2} holding NaN), then the 0 that ends the blocks. An empty array is
 * just the 0. */
static int pgtext_array(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	struct pgtext_arr a = {s, len, 0, NULL};
	struct coltype e;
	struct buf elem;
	const char *why = NULL;
	char name[128];
	int64_t n, i;
	bool isnull;
	int rc = -1;

	if (t->elem == CT_ARRAY)
		return cerr_set(err, false, "array of arrays is not a column type");
	e = *t;
	e.kind = t->elem;
	e.pg_oid = coltype_elem_oid(t->pg_oid);
	coltype_pg_name(t, name, sizeof name);

	if (pgtext_array_is_text_form(s, len)) {
		if (pgtext_string(t, s, len, out, err) < 0)
			return -1;
		return PGTEXT_SPECIAL;
	}
	n = arr_count(s, len, &why);
	if (n < 0)
		return pgtext_fail(err, t, s, len, why);
	if (n > 0 && avro_put_long(out, n) < 0)
		return pgtext_nospace(err, t, out, len);

	buf_init(&elem, 0);
	if (arr_open(&a) < 0)
		goto cleanup; /* not reached: arr_count checked it */
	for (i = 0; i < n; i++) {
		int erc;

		if (arr_next(&a, &elem, &isnull, i == 0) != 1) {
			pgtext_fail(err, t, s, len, a.why ? a.why : "inconsistent array");
			goto cleanup;
		}
		if (isnull) {
			if (avro_put_long(out, 0) < 0) {
				pgtext_nospace(err, t, out, len);
				goto cleanup;
			}
			continue;
		}
		if (e.kind == CT_DECIMAL && pgtext_dec_special((const char *)elem.data, elem.len)) {
			/* NaN: the item union's string branch, as for a decimal column */
			if (avro_put_long(out, 2) < 0 || avro_put_bytes(out, elem.data, elem.len) < 0) {
				pgtext_nospace(err, t, out, len);
				goto cleanup;
			}
			continue;
		}
		if (avro_put_long(out, 1) < 0) {
			pgtext_nospace(err, t, out, len);
			goto cleanup;
		}
		erc = pgtext_value(&e, elem.len ? (const char *)elem.data : "", elem.len, out, err);
		if (erc < 0) {
			cerr_wrap(err, "element %lld of %s", (long long)i + 1, name);
			goto cleanup;
		}
	}
	if (avro_put_long(out, 0) < 0) {
		pgtext_nospace(err, t, out, len);
		goto cleanup;
	}
	rc = PGTEXT_VALUE;
cleanup:
	buf_free(&elem);
	return rc;
}

/* ---- dispatch ---- */

static int pgtext_value(const struct coltype *t, const char *s, size_t len, struct buf *out, struct cerr *err)
{
	switch (t->kind) {
	case CT_BOOLEAN:
		return pgtext_bool(t, s, len, out, err);
	case CT_INT:
	case CT_LONG:
		return pgtext_int(t, s, len, out, err);
	case CT_FLOAT:
	case CT_DOUBLE:
		return pgtext_float(t, s, len, out, err);
	case CT_DECIMAL:
		return pgtext_decimal(t, s, len, out, err);
	case CT_NUMERIC:
		return pgtext_numeric(t, s, len, out, err);
	case CT_STRING:
	case CT_JSON:
	case CT_TEXT_FORM:
		return pgtext_string(t, s, len, out, err);
	case CT_BYTES:
		return pgtext_bytes(t, s, len, out, err);
	case CT_DATE:
		return pgtext_date(t, s, len, out, err);
	case CT_TIME:
		return pgtext_time(t, s, len, out, err);
	case CT_TIMESTAMP:
	case CT_TIMESTAMPTZ:
		return pgtext_timestamp(t, s, len, out, err);
	case CT_UUID:
		return pgtext_uuid(t, s, len, out, err);
	case CT_ARRAY:
		return pgtext_array(t, s, len, out, err);
	}
	return cerr_set(err, false, "unknown column kind %d", (int)t->kind);
}

int pgtext_to_avro(const struct coltype *t, const char *text, size_t len, struct buf *out, struct cerr *err)
{
	size_t mark = out->len;
	int rc;

	if (!text && len > 0)
		return cerr_set(err, false, "no text for a value of %zu bytes", len);
	if (!text)
		text = "";
	rc = pgtext_value(t, text, len, out, err);
	if (rc < 0 && out->len != mark) { /* leave out as it was */
		out->len = mark;
		out->data[mark] = '\0';
	}
	return rc;
}
