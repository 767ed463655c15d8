/* dsn.h: connection strings, made safe to print, and the mysql:// URL a MySQL/MariaDB sink is given. */
#ifndef CLEAVE_DSN_H
#define CLEAVE_DSN_H

#include <stddef.h>

#include "common/err.h"

/* Copies dsn into out with any password replaced by "***": libpq key=value strings
 * ("password=secret", "password='a b'") and URLs ("postgres://u:secret@h/db", "mysql://u:secret@h/db").
 * Always NUL-terminates; truncates to outlen. */
void dsn_redact(const char *dsn, char *out, size_t outlen);

/* A parsed mysql://[user[:password]@][host][:port][/database][?socket=PATH] URL (mariadb:// is accepted
 * too). Every string is owned by the struct and %-decoded; NULL when the URL does not give it. */
struct dsn_mysql {
	char *host;        /* NULL: localhost, through the Unix socket */
	unsigned int port; /* default 3306 */
	char *user;
	char *password;
	char *database;
	char *socket;      /* ?socket=/run/mysqld/mysqld.sock */
};

#define DSN_MYSQL_DEFAULT_PORT 3306

/* Parses url into out (which it first zeroes). Returns 0, or -1 with err saying what is wrong; the error
 * never quotes the URL, so it cannot leak the password. On -1, out holds nothing to free. The password
 * and the user may hold '@', ':' and '/' unencoded; a '?' in them must be written %3F. */
int dsn_parse_mysql_url(const char *url, struct dsn_mysql *out, struct cerr *err);

/* Frees the strings of m and zeroes it. m may be NULL or already freed. */
void dsn_mysql_free(struct dsn_mysql *m);

#endif
