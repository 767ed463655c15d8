/* err.h: an error value that carries its message, its upstream cause and whether a retry can help.
 * Libraries fill one in and return -1; only main() decides to exit. */
#ifndef CLEAVE_ERR_H
#define CLEAVE_ERR_H

#include <stdbool.h>

#define CERR_MSG_MAX 1024

struct cerr {
	bool set;
	bool retriable; /* true: a server went away or is busy; trying again later may work */
	char msg[CERR_MSG_MAX];
};

/* Records an error (replacing any earlier one). Always returns -1 so callers can `return cerr_set(...)`. */
int cerr_set(struct cerr *e, bool retriable, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with more context ("while X: <old message>"). Returns -1. */
int cerr_wrap(struct cerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cerr_clear(struct cerr *e);

#endif
