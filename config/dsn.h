/* dsn.h: connection strings, made safe to print. */
#ifndef CLEAVE_DSN_H
#define CLEAVE_DSN_H

#include <stddef.h>

/* Copies dsn into out with any password replaced by "***": libpq key=value strings
 * ("password=secret", "password='a b'") and URLs ("postgres://u:secret@h/db", "mysql://u:secret@h/db").
 * Always NUL-terminates; truncates to outlen. */
void dsn_redact(const char *dsn, char *out, size_t outlen);

#endif
