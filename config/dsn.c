/* dsn.c: see dsn.h. Pure string work: no connection is made here.
 * Redaction errs on the side of hiding too much: in a URL everything from the first ':' after "://" up to
 * the last '@' is hidden; in key=value strings (and URL query parameters) the value of any key that looks
 * like a password ("pas", "pwd" or "secret" in its name, so typos are hidden too), and in any other word
 * holding an '@' (a URL given as a value, a mangled DSN) whatever lies between its first ':' and last '@'. */
#include "config/dsn.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A bounded writer into the caller's buffer: len < cap always, so there is room for the NUL. */
struct dsn_out {
	char *p;
	size_t cap;
	size_t len;
};

static void dsn_put(struct dsn_out *o, const char *s, size_t n)
{
	size_t room = o->cap - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void dsn_puts(struct dsn_out *o, const char *s)
{
	dsn_put(o, s, strlen(s));
}

/* Returns the length of "scheme://" when s starts with one, else 0. */
static size_t dsn_scheme_len(const char *s)
{
	size_t i = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return strncmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

static bool dsn_has_word(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++) {
		if (strncasecmp(s + i, word, w) == 0)
			return true;
	}
	return false;
}

/* true when a key's value must be hidden: password, sslpassword, and misspellings of them */
static bool dsn_secret_key(const char *k, size_t n)
{
	return dsn_has_word(k, n, "pas") || dsn_has_word(k, n, "pwd") || dsn_has_word(k, n, "secret");
}

/* A secret key is printed only when it is a keyword libpq knows; a misspelt one may be a mangled
 * "password=secret" ("passwordXsecret"), so it is hidden whole. */
static void dsn_put_secret_key(struct dsn_out *o, const char *k, size_t n)
{
	static const char *const known[] = {"password", "sslpassword", "passfile"};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strlen(known[i]) == n && strncasecmp(k, known[i], n) == 0) {
			dsn_put(o, k, n);
			return;
		}
	}
	dsn_puts(o, "***");
}

/* URL query: a=1&password=x&b=2, in q[0..n) */
static void dsn_redact_query(const char *q, size_t n, struct dsn_out *o)
{
	const char *end = q + n;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		size_t len = amp ? (size_t)(amp - q) : (size_t)(end - q);
		const char *eq = memchr(q, '=', len);

		if (eq && dsn_secret_key(q, (size_t)(eq - q))) {
			dsn_put_secret_key(o, q, (size_t)(eq - q));
			dsn_puts(o, "=***");
		} else if (!eq && dsn_secret_key(q, len)) {
			dsn_puts(o, "***");
		} else {
			dsn_put(o, q, len);
		}
		q += len;
		if (q < end) {
			dsn_put(o, "&", 1);
			q++;
		}
	}
}

/* A URL in s[0..n) whose "scheme://" ends at s + start: hides user:PASSWORD@ (up to the last '@') and
 * secret query parameters. */
static void dsn_redact_url(const char *s, size_t n, size_t start, struct dsn_out *o)
{
	const char *rest = s + start, *end = s + n, *at = NULL, *q;

	dsn_put(o, s, start);
	for (const char *c = rest; c < end; c++) {
		if (*c == '@')
			at = c;
	}
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));

		if (colon && colon + 1 < at) {
			dsn_put(o, rest, (size_t)(colon + 1 - rest));
			dsn_puts(o, "***");
			rest = at;
		}
	}
	q = memchr(rest, '?', (size_t)(end - rest));
	if (!q) {
		dsn_put(o, rest, (size_t)(end - rest));
		return;
	}
	dsn_put(o, rest, (size_t)(q + 1 - rest));
	dsn_redact_query(q + 1, (size_t)(end - q - 1), o);
}

/* Copies s[0..n), hiding a password written user:PASSWORD@ inside it: libpq expands
 * dbname=postgres://u:pw@h/db, and a mangled DSN may hold a URL (or most of one) where a key was expected. */
static void dsn_put_masked(struct dsn_out *o, const char *s, size_t n)
{
	const char *sep = memmem(s, n, "://", 3);

	dsn_redact_url(s, n, sep ? (size_t)(sep + 3 - s) : 0, o);
}

/* libpq key=value syntax: spaces around '=' allowed; a value is 'single quoted' (with \' and \\) or runs
 * to the next space (with backslash escapes). */
static void dsn_redact_kv(const char *p, struct dsn_out *o)
{
	while (*p) {
		const char *k, *s, *v;
		size_t klen;

		if (isspace((unsigned char)*p)) {
			dsn_put(o, p++, 1);
			continue;
		}
		k = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		klen = (size_t)(p - k);
		if (!dsn_secret_key(k, klen)) {
			/* a word holding a URL or a user:password@ is masked whole, so a ':', '=' or quote inside
			 * it cannot split it */
			const char *t = k;

			while (*t && !isspace((unsigned char)*t))
				t++;
			if (memchr(k, '@', (size_t)(t - k)) || memmem(k, (size_t)(t - k), "://", 3)) {
				dsn_put_masked(o, k, (size_t)(t - k));
				p = t;
				continue;
			}
		}
		s = p;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			/* malformed ("password secret"): hide the rest rather than guess where a secret ends */
			if (dsn_secret_key(k, klen)) {
				dsn_puts(o, "***");
				return;
			}
			dsn_put_masked(o, k, klen);
			dsn_put(o, s, (size_t)(p - s));
			continue;
		}
		if (dsn_secret_key(k, klen))
			dsn_put_secret_key(o, k, klen);
		else
			dsn_put_masked(o, k, klen);
		p++;
		while (isspace((unsigned char)*p))
			p++;
		dsn_put(o, s, (size_t)(p - s));
		v = p;
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		if (dsn_secret_key(k, klen))
			dsn_puts(o, "***");
		else
			dsn_put_masked(o, v, (size_t)(p - v));
	}
}

void dsn_redact(const char *dsn, char *out, size_t outlen)
{
	struct dsn_out o = {out, outlen, 0};
	size_t scheme;

	if (!out || outlen == 0)
		return;
	if (dsn) {
		scheme = dsn_scheme_len(dsn);
		if (scheme)
			dsn_redact_url(dsn, strlen(dsn), scheme, &o);
		else
			dsn_redact_kv(dsn, &o);
	}
	out[o.len] = '\0';
}

static int dsn_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-decodes s[0..n) into a new string in *out (NULL when n is 0). what names the part for errors. */
static int dsn_decode(const char *s, size_t n, char **out, const char *what, struct cerr *err)
{
	char *d;
	size_t j = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	d = malloc(n + 1);
	if (!d)
		return cerr_set(err, false, "mysql URL: out of memory");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 1 < n ? dsn_hex(s[i + 1]) : -1;
			int lo = i + 2 < n ? dsn_hex(s[i + 2]) : -1;

			/* %00 would cut the string short: refuse it */
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return cerr_set(err, false, "mysql URL: bad %%-escape in the %s", what);
			}
			d[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

/* Parses the query after '?': only socket=PATH is known. */
static int dsn_mysql_query(const char *q, struct dsn_mysql *m, struct cerr *err)
{
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', n);

		if (n > 0) {
			if (!eq || (size_t)(eq - q) != 6 || strncmp(q, "socket", 6) != 0)
				return cerr_set(err, false, "mysql URL: unknown parameter '%.*s' (only socket= is known)",
						(int)(eq ? (size_t)(eq - q) : n), q);
			free(m->socket);
			if (dsn_decode(eq + 1, n - 7, &m->socket, "socket path", err) < 0)
				return -1;
			if (!m->socket)
				return cerr_set(err, false, "mysql URL: empty socket path");
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* host[:port] or [v6addr][:port] in s[0..n) */
static int dsn_mysql_hostport(const char *s, size_t n, struct dsn_mysql *m, struct cerr *err)
{
	const char *end = s + n, *hend, *colon;
	const char *h = s;

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb)
			return cerr_set(err, false, "mysql URL: '[' without ']' in the host");
		h = s + 1;
		hend = rb;
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return cerr_set(err, false, "mysql URL: unexpected text after ']' in the host");
	} else {
		colon = memchr(s, ':', n);
		hend = colon ? colon : end;
	}
	if (dsn_decode(h, (size_t)(hend - h), &m->host, "host", err) < 0)
		return -1;
	if (colon) {
		unsigned long port = 0;
		const char *p = colon + 1;

		if (p == end)
			return cerr_set(err, false, "mysql URL: empty port after ':'");
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p) || port > 65535)
				return cerr_set(err, false, "mysql URL: the port must be a number from 1 to 65535");
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port < 1 || port > 65535)
			return cerr_set(err, false, "mysql URL: the port must be a number from 1 to 65535");
		m->port = (unsigned int)port;
	}
	return 0;
}

int dsn_parse_mysql_url(const char *url, struct dsn_mysql *out, struct cerr *err)
{
	const char *p, *q, *end, *at = NULL, *slash;
	size_t skip;

	memset(out, 0, sizeof *out);
	out->port = DSN_MYSQL_DEFAULT_PORT;
	if (!url)
		return cerr_set(err, false, "mysql URL: none given");
	if (strncasecmp(url, "mysql://", 8) == 0)
		skip = 8;
	else if (strncasecmp(url, "mariadb://", 10) == 0)
		skip = 10;
	else
		return cerr_set(err, false, "expected a mysql://user:password@host:port/database URL");
	p = url + skip;
	q = strchr(p, '?');
	end = q ? q : p + strlen(p);
	/* the userinfo ends at the last '@' before the query, so passwords may hold '@' and '/' */
	for (const char *c = p; c < end; c++) {
		if (*c == '@')
			at = c;
	}
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *uend = colon ? colon : at;

		if (dsn_decode(p, (size_t)(uend - p), &out->user, "user", err) < 0)
			goto fail;
		if (colon && dsn_decode(colon + 1, (size_t)(at - colon - 1), &out->password, "password", err) < 0)
			goto fail;
		p = at + 1;
	}
	slash = memchr(p, '/', (size_t)(end - p));
	if (dsn_mysql_hostport(p, (size_t)((slash ? slash : end) - p), out, err) < 0)
		goto fail;
	if (slash) {
		if (memchr(slash + 1, '/', (size_t)(end - slash - 1))) {
			cerr_set(err, false, "mysql URL: the database name must not contain '/'");
			goto fail;
		}
		if (dsn_decode(slash + 1, (size_t)(end - slash - 1), &out->database, "database", err) < 0)
			goto fail;
	}
	if (q && dsn_mysql_query(q + 1, out, err) < 0)
		goto fail;
	return 0;
fail:
	dsn_mysql_free(out);
	return -1;
}

void dsn_mysql_free(struct dsn_mysql *m)
{
	if (!m)
		return;
	free(m->host);
	free(m->user);
	free(m->password);
	free(m->database);
	free(m->socket);
	memset(m, 0, sizeof *m);
}
