/* pg.c: see pg.h. */
#include "common/pg.h"

#include <stdbool.h>
#include <string.h>

const char *text_one_line(const char *msg, char *out, size_t outlen)
{
	size_t j = 0;

	if (outlen == 0)
		return out;
	for (size_t i = 0; msg && msg[i] && j + 1 < outlen; i++) {
		char c = msg[i] == '\n' || msg[i] == '\t' || msg[i] == '\r' ? ' ' : msg[i];

		if (c == ' ' && (j == 0 || out[j - 1] == ' '))
			continue;
		out[j++] = c;
	}
	while (j > 0 && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
	return out;
}

/* A server that cannot be reached, or is starting, stopping or full, may accept later; one that rejects
 * the user (password, pg_hba.conf, missing database or role, no REPLICATION attribute) will not. */
static bool pg_rejection_passes(const char *msg)
{
	static const char *const transient[] = {
		"the database system is starting up", "the database system is shutting down",
		"the database system is in recovery mode", "too many clients", "remaining connection slots",
		"the database system is not yet accepting connections",
	};

	if (!strstr(msg, "FATAL:"))
		return true; /* no answer from a server: refused, unreachable, timed out */
	for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
		if (strstr(msg, transient[i]))
			return true;
	return false;
}

PGconn *pg_connect(const char *dsn, const char *const *keys, const char *const *vals, const char *what,
                   struct cerr *err)
{
	const char *k[16], *v[16];
	char *perr = NULL, msg[CERR_MSG_MAX];
	PQconninfoOption *parsed;
	PGconn *c;
	int n = 0;

	/* libpq's parse errors quote the string, password included: say what is wrong without them */
	parsed = PQconninfoParse(dsn, &perr);
	if (!parsed) {
		PQfreemem(perr);
		cerr_set(err, false,
		         "the connection string of %s cannot be parsed (not shown: it may hold a password); check its"
		         " key=value pairs or URI syntax and percent-encoding",
		         what);
		return NULL;
	}
	PQconninfoFree(parsed);
	k[n] = "dbname";
	v[n++] = dsn;
	for (size_t i = 0; keys && keys[i] && n < 15; i++) {
		k[n] = keys[i];
		v[n++] = vals[i];
	}
	k[n] = v[n] = NULL;
	c = PQconnectdbParams(k, v, 1);
	if (!c) {
		cerr_set(err, true, "out of memory connecting to %s", what);
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		/* connection errors name host and port, never the password */
		text_one_line(PQerrorMessage(c), msg, sizeof msg);
		cerr_set(err, pg_rejection_passes(msg), "cannot connect to %s: %s", what, msg);
		PQfinish(c);
		return NULL;
	}
	return c;
}
