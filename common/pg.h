/* pg.h: connecting to PostgreSQL with a user's DSN, for capture, check and (later) sinks and reconcile:
 * a DSN libpq cannot parse is a configuration error told without quoting it (libpq's parse errors can
 * quote the password), and server messages are folded onto one line for the log. */
#ifndef CLEAVE_PG_H
#define CLEAVE_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "common/err.h"

/* Connects with `dsn` (key=value or URI) expanded first and then keys[i]=vals[i] (NULL-terminated;
 * a later key overrides the DSN's). Returns the connection, or NULL with err: not retriable when the DSN
 * does not parse, retriable when the server cannot be reached or refuses. `what` names the server in
 * messages ("the source PostgreSQL"). */
PGconn *pg_connect(const char *dsn, const char *const *keys, const char *const *vals, const char *what,
                   struct cerr *err);

/* Copies msg into out (outlen bytes) with newlines, tabs and runs of spaces folded into one space and the
 * ends trimmed, so a multi-line server message fits one log line. Returns out. */
const char *text_one_line(const char *msg, char *out, size_t outlen);

#endif
