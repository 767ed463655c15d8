/* target_mysql.c: the MySQL/MariaDB engine behind target.h, on MariaDB Connector/C (mysql.h).
 *
 * Session: utf8mb4, time_zone '+00:00' (DATETIME(6) holds UTC for timestamptz, and CURRENT_TIMESTAMP(6)
 * in cleave_positions is UTC), strict sql_mode (a value a column cannot hold is an error, never a silent
 * truncation), NO_BACKSLASH_ESCAPES (a backslash is an ordinary character in string literals, as in
 * PostgreSQL; mysql_real_escape_string sees the server's status flag and doubles quotes instead), and
 * autocommit ON: every write goes between an explicit START TRANSACTION and COMMIT (apply, truncate and
 * store_positions refuse to run outside one), while reads outside a transaction (load_positions,
 * information_schema) take no snapshot that would linger, and the DDL of connect/prepare_table (which
 * MySQL commits implicitly) never lands inside one. The client's automatic reconnect is off: a lost
 * connection must fail the transaction, and the sink calls connect() again.
 *
 * Statements are text: values escaped with mysql_real_escape_string into the statement (one round trip
 * per batch; binary safe, LONGBLOB values go in as _binary'...'). Consecutive upserts become multi-row
 * INSERT ... ON DUPLICATE KEY UPDATE statements kept under the server's max_allowed_packet; consecutive
 * deletes become DELETE ... WHERE key IN (...).
 *
 * Errors are retriable when a retry can help (connection lost or refused, deadlock, lock wait timeout,
 * server shutting down or read-only); anything else is the data's or the configuration's fault.
 *
 * The client library initialises itself on the first mysql_init() (Connector/C does it under
 * pthread_once, so sink threads may connect concurrently); a program may call mysql_library_end() at exit,
 * though LeakSanitizer reports nothing from the library without it. */
#include "sinks/target_impl.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/pg.h"
#include "config/dsn.h"
#include "sinks/sinkvalue.h"

#define TMY_CONNECT_TIMEOUT_S 10
/* A server that stops answering (half-open TCP) must not hang the sink forever; long enough for any
 * lock wait (innodb_lock_wait_timeout defaults to 50 s). */
#define TMY_RW_TIMEOUT_S 300
/* Room left in max_allowed_packet for the packet header; and a cap so one statement's buffer stays
 * modest even when the server allows 1 GB packets. */
#define TMY_PACKET_MARGIN 1024
#define TMY_STMT_CAP (16u * 1024 * 1024)
/* Keys per DELETE statement: a long OR/IN list costs the range optimizer more than another round trip. */
#define TMY_DELETE_BATCH 1000

#define TMY_SQL_MODE \
	"STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_BACKSLASH_ESCAPES"

struct tmy {
	const struct cfg_sink *sink; /* borrowed: outlives us */
	struct dsn_mysql dsn;
	MYSQL *conn;                 /* NULL until connect() */
	bool in_tx;
	size_t stmt_max;             /* longest statement we send (from max_allowed_packet) */
	/* Collation of the tables we create: binary (case and accents matter, as in PostgreSQL) and, where the
	 * server has one, NO PAD: MariaDB's utf8mb4_bin (like every MariaDB collation without "nopad") is
	 * PAD SPACE, comparing 'a' and 'a ' as equal, so two PostgreSQL keys differing only in trailing spaces
	 * would collide. MariaDB >= 10.2 has utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin (NO PAD). */
	char collation[64];
	struct buf sql; /* the statement being built */
	struct buf row; /* one row's "(v1,v2,...)" before it joins the statement */
	struct buf val; /* one value's text from sinkvalue_text */
};

/* Server errors after which the same statement may succeed later: the transaction lost a lock race, or
 * the server is going away, full, or read-only for a failover. Client errors (2000..2999: no connection,
 * connection lost, ...) are all about the connection, never the data. */
static bool tmy_retriable_code(unsigned int code)
{
	if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR)
		return true;
	switch (code) {
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_CON_COUNT_ERROR:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_QUERY_INTERRUPTED:
	case ER_OPTION_PREVENTS_STATEMENT: /* --read-only during a switchover */
		return true;
	default:
		return false;
	}
}

/* Sets err to "MySQL target of sink NAME: <message>". Returns -1. */
static int tmy_err(const struct tmy *m, struct cerr *err, bool retriable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int tmy_err(const struct tmy *m, struct cerr *err, bool retriable, const char *fmt, ...)
{
	char msg[CERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return cerr_set(err, retriable, "MySQL target of sink %s: %s", m->sink->name, msg);
}

/* Records the connection's last error, prefixed with the table (NULL: none) and what we were doing.
 * Returns -1. */
static int tmy_fail(struct tmy *m, struct cerr *err, const char *table, const char *what)
{
	char msg[CERR_MSG_MAX];
	unsigned int code = mysql_errno(m->conn);

	text_one_line(mysql_error(m->conn), msg, sizeof msg);
	return tmy_err(m, err, tmy_retriable_code(code), "%s%s%s%s: %s (error %u)", table ? "table " : "",
	               table ? table : "", table ? ": " : "", what, msg, code);
}

static int tmy_need_conn(struct tmy *m, struct cerr *err)
{
	if (m->conn)
		return 0;
	return tmy_err(m, err, true, "not connected");
}

static int tmy_need_tx(struct tmy *m, const char *what, struct cerr *err)
{
	if (tmy_need_conn(m, err) < 0)
		return -1;
	if (!m->in_tx)
		return tmy_err(m, err, false, "%s outside a transaction (call target_begin first)", what);
	return 0;
}

/* Runs one statement; on failure err names table (NULL: none) and what. */
static int tmy_exec(struct tmy *m, const char *sql, size_t len, const char *table, const char *what,
                    struct cerr *err)
{
	if (mysql_real_query(m->conn, sql, len) != 0)
		return tmy_fail(m, err, table, what);
	return 0;
}

static int tmy_exec_buf(struct tmy *m, const struct buf *b, const char *table, const char *what, struct cerr *err)
{
	return tmy_exec(m, (const char *)b->data, b->len, table, what, err);
}

/* Runs a query that returns rows; the caller frees the result. NULL with err on failure. */
static MYSQL_RES *tmy_select(struct tmy *m, const struct buf *b, const char *what, struct cerr *err)
{
	MYSQL_RES *res;

	if (tmy_exec_buf(m, b, NULL, what, err) < 0)
		return NULL;
	res = mysql_store_result(m->conn);
	if (!res) {
		if (mysql_errno(m->conn))
			tmy_fail(m, err, NULL, what);
		else
			tmy_err(m, err, false, "%s: no result set", what);
	}
	return res;
}

static int tmy_oom(struct tmy *m, struct cerr *err)
{
	return tmy_err(m, err, false, "out of memory building a statement");
}

/* Appends `name` as a quoted identifier: `na``me`. */
static int tmy_put_ident(struct buf *b, const char *name)
{
	if (buf_putc(b, '`') < 0)
		return -1;
	for (const char *p = name; *p; p++)
		if ((*p == '`' && buf_putc(b, '`') < 0) || buf_putc(b, (uint8_t)*p) < 0)
			return -1;
	return buf_putc(b, '`');
}

/* Appends p[0..len) escaped for the inside of a quoted literal (binary safe). */
static int tmy_put_escaped(struct tmy *m, struct buf *b, const void *p, size_t len)
{
	unsigned long n;

	if (len > (SIZE_MAX - 1) / 2 || buf_reserve(b, 2 * len + 1) < 0)
		return -1;
	n = mysql_real_escape_string(m->conn, (char *)b->data + b->len, p, (unsigned long)len);
	if (n == (unsigned long)-1)
		return -1;
	b->len += n;
	return 0;
}

/* Appends 's' as a quoted, escaped string literal. */
static int tmy_put_str(struct tmy *m, struct buf *b, const char *s)
{
	if (buf_putc(b, '\'') < 0 || tmy_put_escaped(m, b, s, strlen(s)) < 0)
		return -1;
	return buf_putc(b, '\'');
}

/* ---- open / close / connect ---- */

static void *tmy_open(const struct cfg_sink *sink, struct cerr *err)
{
	struct tmy *m = calloc(1, sizeof *m);

	if (!m) {
		cerr_set(err, false, "out of memory");
		return NULL;
	}
	m->sink = sink;
	if (dsn_parse_mysql_url(sink->dsn, &m->dsn, err) < 0) {
		cerr_wrap(err, "sink %s: dsn", sink->name);
		free(m);
		return NULL;
	}
	if (!m->dsn.database || !m->dsn.database[0]) {
		cerr_set(err, false, "sink %s: the mysql:// URL names no database (mysql://user@host:port/DATABASE):"
		         " target tables live in it", sink->name);
		dsn_mysql_free(&m->dsn);
		free(m);
		return NULL;
	}
	buf_init(&m->sql, 0);
	buf_init(&m->row, 0);
	buf_init(&m->val, 0);
	return m;
}

static void tmy_disconnect(struct tmy *m)
{
	if (m->conn)
		mysql_close(m->conn);
	m->conn = NULL;
	m->in_tx = false;
}

static void tmy_close(void *state)
{
	struct tmy *m = state;

	if (!m)
		return;
	tmy_disconnect(m);
	buf_free(&m->sql);
	buf_free(&m->row);
	buf_free(&m->val);
	dsn_mysql_free(&m->dsn);
	free(m);
}

/* Reads max_allowed_packet and picks the collation of the tables we create (see struct tmy). */
static int tmy_read_server(struct tmy *m, struct cerr *err)
{
	static const char q[] = "SELECT @@max_allowed_packet, (SELECT COLLATION_NAME FROM information_schema.COLLATIONS"
	                        " WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')"
	                        " ORDER BY COLLATION_NAME DESC LIMIT 1)";
	MYSQL_RES *res;
	MYSQL_ROW r;
	unsigned long long packet;
	int rc = -1;

	if (tmy_exec(m, q, sizeof q - 1, NULL, "reading server settings", err) < 0)
		return -1;
	res = mysql_store_result(m->conn);
	if (!res)
		return tmy_fail(m, err, NULL, "reading server settings");
	r = mysql_fetch_row(res);
	if (!r || !r[0]) {
		tmy_err(m, err, false, "cannot read max_allowed_packet");
		goto cleanup;
	}
	packet = strtoull(r[0], NULL, 10);
	if (packet < 64 * 1024) {
		tmy_err(m, err, false, "max_allowed_packet is %llu bytes; cleave needs at least 64 KB"
		        " (SET GLOBAL max_allowed_packet = 67108864)", packet);
		goto cleanup;
	}
	m->stmt_max = packet - TMY_PACKET_MARGIN > TMY_STMT_CAP ? TMY_STMT_CAP : (size_t)(packet - TMY_PACKET_MARGIN);
	snprintf(m->collation, sizeof m->collation, "%s", r[1] ? r[1] : "utf8mb4_bin");
	rc = 0;
cleanup:
	mysql_free_result(res);
	return rc;
}

/* What information_schema.TABLES says of a table in the URL's database. */
struct tmy_tableinfo {
	bool exists;
	char type[32];   /* "BASE TABLE", "VIEW", ... */
	char engine[64]; /* "InnoDB", "MyISAM", ... */
	bool transactional;
};

static int tmy_table_info(struct tmy *m, const char *name, struct tmy_tableinfo *ti, struct cerr *err)
{
	MYSQL_RES *res;
	MYSQL_ROW r;

	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "SELECT t.TABLE_TYPE, t.ENGINE, e.TRANSACTIONS FROM information_schema.TABLES t"
	                      " LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE"
	                      " WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = ") < 0 ||
	    tmy_put_str(m, &m->sql, name) < 0)
		return tmy_oom(m, err);
	res = tmy_select(m, &m->sql, "reading information_schema.TABLES", err);
	if (!res)
		return -1;
	r = mysql_fetch_row(res);
	memset(ti, 0, sizeof *ti);
	ti->exists = r != NULL;
	if (r) {
		snprintf(ti->type, sizeof ti->type, "%s", r[0] ? r[0] : "");
		snprintf(ti->engine, sizeof ti->engine, "%s", r[1] ? r[1] : "");
		ti->transactional = r[2] && strcasecmp(r[2], "YES") == 0;
	}
	mysql_free_result(res);
	return 0;
}

/* cleave_truncates (target.h), created when missing. kafka_partition -1: the barrier is done; -2: the row
 * arrivals lock. */
static int tmy_ensure_truncates(struct tmy *m, struct cerr *err)
{
	struct tmy_tableinfo ti;

	if (tmy_table_info(m, "cleave_truncates", &ti, err) < 0)
		return -1;
	if (ti.exists)
		return 0;
	buf_reset(&m->sql);
	if (buf_printf(&m->sql,
	               "CREATE TABLE IF NOT EXISTS cleave_truncates (sink VARCHAR(255) NOT NULL,"
	               " topic VARCHAR(255) NOT NULL, commit_lsn BIGINT NOT NULL, seq BIGINT NOT NULL,"
	               " kafka_partition INT NOT NULL, at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
	               " PRIMARY KEY (sink, topic, commit_lsn, seq, kafka_partition))"
	               " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s", m->collation) < 0)
		return tmy_oom(m, err);
	return tmy_exec_buf(m, &m->sql, "cleave_truncates", "creating it", err);
}

static int tmy_connect(void *state, struct cerr *err)
{
	struct tmy *m = state;
	unsigned int connect_timeout = TMY_CONNECT_TIMEOUT_S, rw_timeout = TMY_RW_TIMEOUT_S;
	my_bool reconnect = 0;
	struct tmy_tableinfo ti;
	static const char session[] = "SET SESSION time_zone = '+00:00', sql_mode = '" TMY_SQL_MODE "',"
	                              " autocommit = 1";
	int rc = -1;

	tmy_disconnect(m);
	m->conn = mysql_init(NULL);
	if (!m->conn)
		return tmy_err(m, err, true, "out of memory");
	if (mysql_options(m->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) != 0 ||
	    mysql_options(m->conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout) != 0 ||
	    mysql_options(m->conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout) != 0 ||
	    mysql_options(m->conn, MYSQL_OPT_RECONNECT, &reconnect) != 0 ||
	    mysql_options(m->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
		tmy_fail(m, err, NULL, "setting connection options");
		goto cleanup;
	}
	/* The message names host, port, user and database: never the password. */
	if (!mysql_real_connect(m->conn, m->dsn.host, m->dsn.user, m->dsn.password, m->dsn.database, m->dsn.port,
	                        m->dsn.socket, 0)) {
		char what[512];

		snprintf(what, sizeof what, "connecting to %s:%u (user %s, database %s)",
		         m->dsn.socket ? m->dsn.socket : m->dsn.host ? m->dsn.host : "localhost", m->dsn.port,
		         m->dsn.user ? m->dsn.user : "(default)", m->dsn.database);
		tmy_fail(m, err, NULL, what);
		/* access denied, unknown database: the config is wrong, waiting will not help (the code says so) */
		goto cleanup;
	}
	if (tmy_exec(m, session, sizeof session - 1, NULL, "setting up the session", err) < 0 ||
	    tmy_read_server(m, err) < 0 || tmy_ensure_truncates(m, err) < 0 ||
	    tmy_table_info(m, "cleave_positions", &ti, err) < 0)
		goto cleanup;
	/* created only when missing: a user without the CREATE privilege can run on a prepared database */
	if (ti.exists) {
		rc = 0;
		goto cleanup;
	}
	buf_reset(&m->sql);
	if (buf_printf(&m->sql,
	               "CREATE TABLE IF NOT EXISTS cleave_positions (sink VARCHAR(255) NOT NULL,"
	               " topic VARCHAR(255) NOT NULL, kafka_partition INT NOT NULL, kafka_offset BIGINT NOT NULL,"
	               " commit_lsn BIGINT NOT NULL, seq BIGINT NOT NULL,"
	               " updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
	               " PRIMARY KEY (sink, topic, kafka_partition))"
	               " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s", m->collation) < 0) {
		tmy_oom(m, err);
		goto cleanup;
	}
	if (tmy_exec_buf(m, &m->sql, "cleave_positions", "creating it", err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc < 0)
		tmy_disconnect(m);
	return rc;
}

/* ---- prepare_table ---- */

/* What information_schema says about one column of an existing table. */
struct tmy_colinfo {
	char *name;
	char *type;      /* COLUMN_TYPE, lowercase: "varchar(40)", "decimal(12,2)", "int(11)" */
	char *charset;   /* NULL for non-string types */
	char *collation;
	bool nullable;
};

static void tmy_colinfo_free(struct tmy_colinfo *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].name);
		free(c[i].type);
		free(c[i].charset);
		free(c[i].collation);
	}
	free(c);
}

static char *tmy_strdup_lower(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	for (char *p = d; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

/* The column type we create for column i: a key column gets a type MySQL can index in full (TEXT, BLOB
 * and JSON could be keyed only by a prefix, which would make distinct keys sharing it collide). sinkvalue
 * spells texts "... COLLATE utf8mb4_bin", which is PAD SPACE in MariaDB: where the server has a NO PAD
 * binary collation (struct tmy), that one is used instead. */
static void tmy_ddl_type(const struct tmy *m, const struct target_table *tbl, int i, char *out, size_t outlen)
{
	static const char padded[] = " COLLATE utf8mb4_bin";
	char *at;

	if (tbl->cols[i].key)
		sinkvalue_ddl_key_type(SINKVALUE_MYSQL, &tbl->cols[i].type, out, outlen);
	else
		sinkvalue_ddl_type(SINKVALUE_MYSQL, &tbl->cols[i].type, out, outlen);
	at = strstr(out, padded);
	if (at && at[sizeof padded - 1] == '\0' && strcmp(m->collation, "utf8mb4_bin") != 0)
		snprintf(at, outlen - (size_t)(at - out), " COLLATE %s", m->collation);
}

/* Whether an existing column of declared type (lowercase COLUMN_TYPE) can hold column i. */
static bool tmy_type_ok(const struct target_table *tbl, int i, const char *declared)
{
	if (tbl->cols[i].key)
		return sinkvalue_compatible_key(SINKVALUE_MYSQL, &tbl->cols[i].type, declared);
	return sinkvalue_compatible(SINKVALUE_MYSQL, &tbl->cols[i].type, declared);
}

/* Appends " DEFAULT '...'" for column i whose source rows older than its ADD COLUMN hold a value
 * (target_column.missing, PostgreSQL text) where that text is also MySQL's for the column type. XXX: other
 * types (bytea, arrays, json, NaN, infinite dates) get no default: such old rows read NULL in the target. */
static int tmy_put_default(struct tmy *m, struct buf *b, const struct target_table *tbl, int i)
{
	const struct target_column *c = &tbl->cols[i];
	const char *v = c->missing;
	size_t n;

	if (!v || c->key)
		return 0;
	n = strlen(v);
	switch (c->type.kind) {
	case CT_BOOLEAN:
		v = strcmp(v, "t") == 0 ? "1" : "0";
		n = 1;
		break;
	case CT_TIMESTAMPTZ: /* looked up with TimeZone UTC: "...+00" */
		if (n < 3 || strcmp(v + n - 3, "+00") != 0)
			return 0;
		n -= 3;
		/* fall through */
	case CT_DATE:
	case CT_TIMESTAMP:
		if (strchr(v, 'i') || strstr(v, "BC"))
			return 0; /* infinity, BC: MySQL has neither */
		break;
	case CT_FLOAT:
	case CT_DOUBLE:
	case CT_NUMERIC:
	case CT_DECIMAL:
		if (strchr(v, 'N') || strchr(v, 'n'))
			return 0; /* NaN, Infinity */
		break;
	case CT_INT:
	case CT_LONG:
	case CT_STRING:
	case CT_TIME:
	case CT_UUID:
	case CT_TEXT_FORM:
		break;
	default:
		log_warn(NULL, "sink %s: MySQL table %s column %s: rows older than the source's ADD COLUMN read NULL"
		         " here (their default %s is not carried for this type)", m->sink->name, tbl->name, c->name, v);
		return 0;
	}
	if (buf_puts(b, " DEFAULT ") < 0 || buf_putc(b, '\'') < 0 || tmy_put_escaped(m, b, v, n) < 0 ||
	    buf_putc(b, '\'') < 0)
		return -1;
	return 0;
}

static int tmy_create_table(struct tmy *m, const struct target_table *tbl, struct cerr *err)
{
	char type[128];
	bool first = true;

	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "CREATE TABLE IF NOT EXISTS ") < 0 || tmy_put_ident(&m->sql, tbl->name) < 0 ||
	    buf_puts(&m->sql, " (") < 0)
		return tmy_oom(m, err);
	for (int i = 0; i < tbl->ncols; i++) {
		tmy_ddl_type(m, tbl, i, type, sizeof type);
		if ((i > 0 && buf_puts(&m->sql, ", ") < 0) || tmy_put_ident(&m->sql, tbl->cols[i].name) < 0 ||
		    buf_printf(&m->sql, " %s%s", type, tbl->cols[i].key ? " NOT NULL" : "") < 0 ||
		    tmy_put_default(m, &m->sql, tbl, i) < 0)
			return tmy_oom(m, err);
	}
	if (buf_puts(&m->sql, ", PRIMARY KEY (") < 0)
		return tmy_oom(m, err);
	for (int i = 0; i < tbl->ncols; i++) {
		if (!tbl->cols[i].key)
			continue;
		if ((!first && buf_puts(&m->sql, ", ") < 0) || tmy_put_ident(&m->sql, tbl->cols[i].name) < 0)
			return tmy_oom(m, err);
		first = false;
	}
	if (buf_printf(&m->sql, ")) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s", m->collation) < 0)
		return tmy_oom(m, err);
	if (tmy_exec_buf(m, &m->sql, tbl->name, "creating it", err) < 0)
		return -1;
	log_info(NULL, "sink %s: created MySQL table %s.%s", m->sink->name, m->dsn.database, tbl->name);
	return 0;
}

static int tmy_read_columns(struct tmy *m, const struct target_table *tbl, struct tmy_colinfo **out, size_t *nout,
                            struct cerr *err)
{
	MYSQL_RES *res;
	MYSQL_ROW r;
	struct tmy_colinfo *c;
	size_t n = 0;

	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE"
	                      " FROM information_schema.COLUMNS"
	                      " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ") < 0 ||
	    tmy_put_str(m, &m->sql, tbl->name) < 0 || buf_puts(&m->sql, " ORDER BY ORDINAL_POSITION") < 0)
		return tmy_oom(m, err);
	res = tmy_select(m, &m->sql, "reading information_schema.COLUMNS", err);
	if (!res)
		return -1;
	c = calloc(mysql_num_rows(res) + 1, sizeof *c);
	if (!c) {
		mysql_free_result(res);
		return tmy_oom(m, err);
	}
	while ((r = mysql_fetch_row(res))) {
		c[n].name = strdup(r[0] ? r[0] : "");
		c[n].type = tmy_strdup_lower(r[1] ? r[1] : "");
		c[n].charset = tmy_strdup_lower(r[2]);
		c[n].collation = tmy_strdup_lower(r[3]);
		c[n].nullable = r[4] && strcmp(r[4], "YES") == 0;
		if (!c[n].name || !c[n].type || (r[2] && !c[n].charset) || (r[3] && !c[n].collation)) {
			tmy_colinfo_free(c, n + 1);
			mysql_free_result(res);
			return tmy_oom(m, err);
		}
		n++;
	}
	mysql_free_result(res);
	*out = c;
	*nout = n;
	return 0;
}

/* Checks the primary key: exactly the key columns (in any order), each in full (no prefix). */
static int tmy_check_key(struct tmy *m, const struct target_table *tbl, struct cerr *err)
{
	struct buf found, needed;
	MYSQL_RES *res = NULL;
	MYSQL_ROW r;
	int nkey = 0, nfound = 0, rc = -1;
	bool ok = true;

	buf_init(&found, 0);
	buf_init(&needed, 0);
	for (int i = 0; i < tbl->ncols; i++)
		if (tbl->cols[i].key && (buf_puts(&needed, nkey++ ? ", " : "") < 0 ||
		                         tmy_put_ident(&needed, tbl->cols[i].name) < 0))
			goto oom;
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "SELECT COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS"
	                      " WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'PRIMARY' AND TABLE_NAME = ") < 0 ||
	    tmy_put_str(m, &m->sql, tbl->name) < 0 || buf_puts(&m->sql, " ORDER BY SEQ_IN_INDEX") < 0)
		goto oom;
	res = tmy_select(m, &m->sql, "reading information_schema.STATISTICS", err);
	if (!res)
		goto cleanup;
	while ((r = mysql_fetch_row(res))) {
		bool is_key = false;

		if (buf_puts(&found, nfound++ ? ", " : "") < 0 || tmy_put_ident(&found, r[0] ? r[0] : "") < 0 ||
		    (r[1] && buf_printf(&found, "(%s)", r[1]) < 0))
			goto oom;
		for (int i = 0; i < tbl->ncols; i++)
			if (tbl->cols[i].key && r[0] && strcasecmp(r[0], tbl->cols[i].name) == 0)
				is_key = true;
		if (!is_key || r[1]) /* not a key column, or only a prefix of one */
			ok = false;
	}
	if (buf_putc(&found, '\0') < 0 || buf_putc(&needed, '\0') < 0)
		goto oom;
	if (ok && nfound == nkey)
		rc = 0;
	else if (nfound == 0)
		tmy_err(m, err, false, "table %s has no primary key; cleave needs one on the source key (%s):"
		        " ALTER TABLE `%s` ADD PRIMARY KEY (%s)", tbl->name, (char *)needed.data, tbl->name,
		        (char *)needed.data);
	else
		tmy_err(m, err, false, "table %s has primary key (%s) but the source key is (%s):"
		        " ALTER TABLE `%s` DROP PRIMARY KEY, ADD PRIMARY KEY (%s)", tbl->name, (char *)found.data,
		        (char *)needed.data, tbl->name, (char *)needed.data);
	goto cleanup;
oom:
	tmy_oom(m, err);
cleanup:
	mysql_free_result(res);
	buf_free(&found);
	buf_free(&needed);
	return rc;
}

/* Whether a collation compares bytes or code points (utf8mb4_bin, utf8mb4_nopad_bin, ascii_bin, binary):
 * not case- or accent-insensitive. */
static bool tmy_binary_collation(const char *collation)
{
	size_t n = strlen(collation);

	return strcmp(collation, "binary") == 0 || (n >= 4 && strcmp(collation + n - 4, "_bin") == 0);
}

/* Checks every mapped column of an existing table. */
static int tmy_check_columns(struct tmy *m, const struct target_table *tbl, struct cerr *err)
{
	struct tmy_colinfo *info = NULL;
	size_t ninfo = 0;
	char want[128], src[128];
	int rc = -1;

	if (tmy_read_columns(m, tbl, &info, &ninfo, err) < 0)
		return -1;
	for (int i = 0; i < tbl->ncols; i++) {
		const struct target_column *col = &tbl->cols[i];
		const struct tmy_colinfo *c = NULL;

		/* MySQL column names are case-insensitive */
		for (size_t j = 0; j < ninfo && !c; j++)
			if (strcasecmp(info[j].name, col->name) == 0)
				c = &info[j];
		tmy_ddl_type(m, tbl, i, want, sizeof want);
		coltype_pg_name(&col->type, src, sizeof src);
		if (!c) {
			tmy_err(m, err, false, "table %s has no column %s (source type %s, needs %s):"
			        " ALTER TABLE `%s` ADD COLUMN `%s` %s", tbl->name, col->name, src, want, tbl->name,
			        col->name, want);
			goto cleanup;
		}
		if (!tmy_type_ok(tbl, i, c->type)) {
			tmy_err(m, err, false, "table %s column %s is %s, which cannot hold every value of source type"
			        " %s (needs %s): ALTER TABLE `%s` MODIFY `%s` %s", tbl->name, col->name, c->type, src,
			        want, tbl->name, col->name, want);
			goto cleanup;
		}
		/* PostgreSQL text is Unicode: a latin1 or utf8mb3 column would refuse (strict mode) some of it.
		 * Numbers and uuids carried as text are ASCII: any character set holds them. User types (enums,
		 * domains) are taken on trust, as sinkvalue_compatible does: their values cannot be known. */
		if (c->charset && strcmp(c->charset, "utf8mb4") != 0 && strcmp(c->charset, "binary") != 0 &&
		    col->type.kind != CT_UUID && col->type.kind != CT_NUMERIC && col->type.kind != CT_DECIMAL &&
		    !(col->type.kind == CT_TEXT_FORM && col->type.pg_oid >= 16384)) {
			tmy_err(m, err, false, "table %s column %s has character set %s, which cannot hold every"
			        " character of source type %s: ALTER TABLE `%s` MODIFY `%s` %s CHARACTER SET utf8mb4"
			        " COLLATE %s", tbl->name, col->name, c->charset, src, tbl->name, col->name, c->type,
			        m->collation);
			goto cleanup;
		}
		/* A key compared case- or accent-insensitively would merge PostgreSQL keys 'a' and 'A'. */
		if (col->key && c->collation && !tmy_binary_collation(c->collation)) {
			tmy_err(m, err, false, "table %s key column %s has collation %s, under which keys differing"
			        " only in case or accents collide: ALTER TABLE `%s` MODIFY `%s` %s CHARACTER SET"
			        " utf8mb4 COLLATE %s", tbl->name, col->name, c->collation, tbl->name, col->name,
			        c->type, m->collation);
			goto cleanup;
		}
		if (col->key && c->collation && strcmp(c->collation, "utf8mb4_bin") == 0 &&
		    strcmp(m->collation, "utf8mb4_bin") != 0)
			log_warn(NULL, "sink %s: MySQL table %s key column %s has collation utf8mb4_bin (PAD SPACE):"
			         " keys differing only in trailing spaces collide; %s does not", m->sink->name,
			         tbl->name, col->name, m->collation);
	}
	rc = 0;
cleanup:
	tmy_colinfo_free(info, ninfo);
	return rc;
}

/* The column named `name` (case-insensitive, as MySQL compares them), or NULL. */
static const struct tmy_colinfo *tmy_find_col(const struct tmy_colinfo *info, size_t n, const char *name)
{
	for (size_t j = 0; j < n; j++)
		if (strcasecmp(info[j].name, name) == 0)
			return &info[j];
	return NULL;
}

/* Runs one ALTER TABLE of a schema change; a column another process of the sink added meanwhile (1060
 * duplicate column) is no error. */
static int tmy_alter(struct tmy *m, const struct target_table *tbl, struct cerr *err)
{
	if (mysql_real_query(m->conn, (const char *)m->sql.data, m->sql.len) == 0 || mysql_errno(m->conn) == 1060)
		return 0;
	return tmy_fail(m, err, tbl->name, "changing it for a source schema change");
}

/* Follows the source's schema changes on an existing table (as tpg_evolve in target_pg.c): a renamed
 * column is refused; with create, a missing non-key column is added and a too narrow column widened
 * (MODIFY restates the character set, collation and NOT NULL it had; XXX: a DEFAULT or COMMENT the user
 * gave the column is not restated and is lost). What is left is tmy_check_columns's to report. */
static int tmy_evolve(struct tmy *m, const struct target_table *tbl, bool create, struct cerr *err)
{
	struct tmy_colinfo *info = NULL;
	size_t ninfo = 0;
	char type[160], src[128];
	int rc = -1;

	if (tmy_read_columns(m, tbl, &info, &ninfo, err) < 0)
		return -1;
	for (int i = 0; i < tbl->ncols; i++) {
		const struct target_column *col = &tbl->cols[i];
		const struct tmy_colinfo *c = tmy_find_col(info, ninfo, col->name);
		const char *was = NULL;

		for (size_t k = 0; !c && col->was && col->was[k] && !was; k++)
			if (tmy_find_col(info, ninfo, col->was[k]))
				was = col->was[k];
		if (was) {
			tmy_err(m, err, false, "table %s cannot follow the rename of source column %s (now %s): the table"
			        " has column %s but not %s, and cleave does not rename columns; add `%s: %s` under the"
			        " mapping's `rename:` to keep filling column %s, or rename the target column (ALTER TABLE"
			        " `%s` RENAME COLUMN `%s` TO `%s`), then restart the sink", tbl->name, was,
			        col->source ? col->source : col->name, was, col->name, col->source ? col->source : col->name,
			        was, was, tbl->name, was, col->name);
			goto cleanup;
		}
		if (!create)
			continue;
		coltype_pg_name(&col->type, src, sizeof src);
		buf_reset(&m->sql);
		if (!c && !col->key) {
			if (m->in_tx) {
				tmy_err(m, err, false, "table %s: cannot add a column inside a transaction", tbl->name);
				goto cleanup;
			}
			tmy_ddl_type(m, tbl, i, type, sizeof type);
			if (buf_puts(&m->sql, "ALTER TABLE ") < 0 || tmy_put_ident(&m->sql, tbl->name) < 0 ||
			    buf_puts(&m->sql, " ADD COLUMN ") < 0 || tmy_put_ident(&m->sql, col->name) < 0 ||
			    buf_printf(&m->sql, " %s", type) < 0 || tmy_put_default(m, &m->sql, tbl, i) < 0) {
				tmy_oom(m, err);
				goto cleanup;
			}
			if (tmy_alter(m, tbl, err) < 0)
				goto cleanup;
			log_info(NULL, "sink %s: MySQL table %s: added column %s %s%s%s (a new column of the source)",
			         m->sink->name, tbl->name, col->name, type, col->missing ? " DEFAULT " : "",
			         col->missing ? col->missing : "");
		} else if (c && !tmy_type_ok(tbl, i, c->type) &&
		           sinkvalue_widen(SINKVALUE_MYSQL, &col->type, col->key, c->type, type, sizeof type)) {
			if (m->in_tx) {
				tmy_err(m, err, false, "table %s: cannot alter a column inside a transaction", tbl->name);
				goto cleanup;
			}
			if (buf_puts(&m->sql, "ALTER TABLE ") < 0 || tmy_put_ident(&m->sql, tbl->name) < 0 ||
			    buf_puts(&m->sql, " MODIFY COLUMN ") < 0 || tmy_put_ident(&m->sql, col->name) < 0 ||
			    buf_printf(&m->sql, " %s", type) < 0 ||
			    (c->charset && strcmp(c->charset, "binary") != 0 &&
			     buf_printf(&m->sql, " CHARACTER SET %s", c->charset) < 0) ||
			    (c->charset && c->collation && strcmp(c->charset, "binary") != 0 &&
			     buf_printf(&m->sql, " COLLATE %s", c->collation) < 0) ||
			    (!c->nullable && buf_puts(&m->sql, " NOT NULL") < 0)) {
				tmy_oom(m, err);
				goto cleanup;
			}
			if (tmy_alter(m, tbl, err) < 0)
				goto cleanup;
			log_info(NULL, "sink %s: MySQL table %s: widened column %s from %s to %s (the source's is now %s)",
			         m->sink->name, tbl->name, col->name, c->type, type, src);
		}
	}
	rc = 0;
cleanup:
	tmy_colinfo_free(info, ninfo);
	return rc;
}

static int tmy_prepare_table(void *state, const struct target_table *tbl, bool create, struct cerr *err)
{
	struct tmy *m = state;
	struct tmy_tableinfo ti;
	int nkey = 0;

	if (tmy_need_conn(m, err) < 0)
		return -1;
	for (int i = 0; i < tbl->ncols; i++)
		nkey += tbl->cols[i].key;
	if (nkey == 0)
		return tmy_err(m, err, false, "table %s: the source table has no key columns; cleave upserts and"
		               " deletes by key", tbl->name);
	if (tmy_table_info(m, tbl->name, &ti, err) < 0)
		return -1;
	if (!ti.exists) {
		if (!create)
			return tmy_err(m, err, false, "table %s does not exist in database %s: create it, or set"
			               " create_tables: true for the sink", tbl->name, m->dsn.database);
		/* CREATE TABLE commits the open transaction implicitly: rows without their positions */
		if (m->in_tx)
			return tmy_err(m, err, false, "table %s: cannot create a table inside a transaction (MySQL"
			               " would commit it); prepare tables before target_begin", tbl->name);
		if (tmy_create_table(m, tbl, err) < 0 || tmy_table_info(m, tbl->name, &ti, err) < 0)
			return -1;
		if (!ti.exists)
			return tmy_err(m, err, false, "table %s is not visible after CREATE TABLE", tbl->name);
	}
	if (strcmp(ti.type, "BASE TABLE") != 0)
		return tmy_err(m, err, false, "%s is a %s, not a table", tbl->name, ti.type);
	/* Effectively-once stores the positions in the same transaction as the rows: both must roll back. */
	if (!ti.transactional)
		return tmy_err(m, err, false, "table %s uses engine %s, which has no transactions:"
		               " ALTER TABLE `%s` ENGINE=InnoDB", tbl->name, ti.engine, tbl->name);
	/* The table we just created goes through the same checks: a mismatch between sinkvalue's DDL and its
	 * compatibility rules shows up here rather than as a refusal at the next start.
	 * XXX: other unique keys are not checked; one would make ON DUPLICATE KEY UPDATE hit a row of another
	 * key. Unmapped columns must be nullable or have defaults (or inserts fail as data errors). */
	if (tmy_evolve(m, tbl, create, err) < 0 || tmy_check_columns(m, tbl, err) < 0 || tmy_check_key(m, tbl, err) < 0)
		return -1;
	return 0;
}

/* ---- apply ---- */

/* Whether text is a plain decimal number: [-]digits[.digits]. */
static bool tmy_plain_number(const uint8_t *p, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && p[i] == '-')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
	return digits > 0 && i == n;
}

/* Appends a cell as an SQL literal. Integers, booleans and numeric(p,s) stored as DECIMAL(p,s) (p <= 65,
 * 0 <= s <= 30: sinkvalue's rule) go unquoted: MySQL compares an integer or decimal column with a quoted
 * string as doubles, so a DELETE by a bigint key given as '9007199254740993' could match its neighbour,
 * while unquoted integer and decimal literals compare exactly. Everything else is a quoted, escaped string;
 * bytea goes in as _binary'...' so its bytes are never read as utf8mb4. XXX: a real (FLOAT) key compares
 * as a double with the text's value, which may differ from the stored float: don't key by floats. */
static int tmy_put_cell(struct tmy *m, const struct target_table *tbl, int i, const struct target_cell *cell,
                        struct buf *out, struct cerr *err)
{
	const struct coltype *t = &tbl->cols[i].type;
	struct cerr verr = {0};
	bool bare;

	if (cell->kind == TARGET_NULL)
		return buf_puts(out, "NULL") < 0 ? tmy_oom(m, err) : 0;
	buf_reset(&m->val);
	if (sinkvalue_text(SINKVALUE_MYSQL, t, cell->value, &m->val, &verr) < 0)
		return tmy_err(m, err, false, "table %s column %s: %s", tbl->name, tbl->cols[i].name, verr.msg);
	bare = (t->kind == CT_BOOLEAN || t->kind == CT_INT || t->kind == CT_LONG ||
	        (t->kind == CT_DECIMAL && t->precision <= 65 && t->scale >= 0 && t->scale <= 30)) &&
	       tmy_plain_number(m->val.data, m->val.len);
	if (bare)
		return buf_append(out, m->val.data, m->val.len) < 0 ? tmy_oom(m, err) : 0;
	if (buf_puts(out, t->kind == CT_BYTES ? "_binary'" : "'") < 0 ||
	    tmy_put_escaped(m, out, m->val.data, m->val.len) < 0 || buf_putc(out, '\'') < 0)
		return tmy_oom(m, err);
	return 0;
}

/* Whether two upserts write the same set of columns (so they can share one statement). */
static bool tmy_same_columns(const struct target_table *tbl, const struct target_change *a,
                             const struct target_change *b)
{
	for (int i = 0; i < tbl->ncols; i++)
		if ((a->cells[i].kind == TARGET_UNCHANGED) != (b->cells[i].kind == TARGET_UNCHANGED))
			return false;
	return true;
}

static int tmy_check_key_cells(struct tmy *m, const struct target_table *tbl, const struct target_change *c,
                               struct cerr *err)
{
	for (int i = 0; i < tbl->ncols; i++)
		if (tbl->cols[i].key && c->cells[i].kind != TARGET_VALUE)
			return tmy_err(m, err, false, "table %s: key column %s is %s in a change", tbl->name,
			               tbl->cols[i].name, c->cells[i].kind == TARGET_NULL ? "NULL" : "unchanged");
	return 0;
}

/* Sends the statement in m->sql: the head, rows and (for upserts) the tail. */
static int tmy_flush(struct tmy *m, const struct target_table *tbl, const struct buf *tail, const char *what,
                     struct cerr *err)
{
	if (tail && buf_append(&m->sql, tail->data, tail->len) < 0)
		return tmy_oom(m, err);
	return tmy_exec_buf(m, &m->sql, tbl->name, what, err);
}

/* Appends m->row to the statement (after sep), first sending the statement when the row would make it
 * longer than max_allowed_packet allows or it holds max_rows rows. head_len: the statement's length
 * without rows; tail: what tmy_flush appends. */
static int tmy_add_row(struct tmy *m, const struct target_table *tbl, size_t head_len, const struct buf *tail,
                       size_t max_rows, size_t *nrows, const char *sep, const char *what, struct cerr *err)
{
	size_t seplen = strlen(sep), tail_len = tail ? tail->len : 0;

	if (head_len + m->row.len + tail_len > m->stmt_max)
		return tmy_err(m, err, false, "table %s: a row needs a %zu-byte statement, more than the server's"
		               " max_allowed_packet allows (%zu): raise max_allowed_packet", tbl->name,
		               head_len + m->row.len + tail_len, m->stmt_max);
	if (*nrows > 0 && (*nrows >= max_rows || m->sql.len + seplen + m->row.len + tail_len > m->stmt_max)) {
		if (tmy_flush(m, tbl, tail, what, err) < 0)
			return -1;
		m->sql.len = head_len;
		*nrows = 0;
	}
	if ((*nrows > 0 && buf_append(&m->sql, sep, seplen) < 0) || buf_append(&m->sql, m->row.data, m->row.len) < 0)
		return tmy_oom(m, err);
	(*nrows)++;
	return 0;
}

/* n upserts that write the same columns: INSERT ... VALUES (...),(...) ON DUPLICATE KEY UPDATE. Rows are
 * applied in order, so a key repeated among them ends with its last values. */
static int tmy_upsert(struct tmy *m, const struct target_table *tbl, const struct target_change *ch, size_t n,
                      struct cerr *err)
{
	struct buf tail;
	size_t head_len, nrows = 0;
	bool first = true;
	int rc = -1;

	buf_init(&tail, 0);
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "INSERT INTO ") < 0 || tmy_put_ident(&m->sql, tbl->name) < 0 ||
	    buf_puts(&m->sql, " (") < 0 || buf_puts(&tail, " ON DUPLICATE KEY UPDATE ") < 0)
		goto oom;
	for (int i = 0; i < tbl->ncols; i++) {
		if (ch[0].cells[i].kind == TARGET_UNCHANGED)
			continue;
		if ((!first && buf_puts(&m->sql, ", ") < 0) || tmy_put_ident(&m->sql, tbl->cols[i].name) < 0)
			goto oom;
		first = false;
	}
	if (buf_puts(&m->sql, ") VALUES ") < 0)
		goto oom;
	head_len = m->sql.len;
	/* VALUES(c): the value the row would have inserted (MariaDB; MySQL 8.0.20+ still takes it, deprecated) */
	first = true;
	for (int i = 0; i < tbl->ncols; i++) {
		if (tbl->cols[i].key || ch[0].cells[i].kind == TARGET_UNCHANGED)
			continue;
		if ((!first && buf_puts(&tail, ", ") < 0) || tmy_put_ident(&tail, tbl->cols[i].name) < 0 ||
		    buf_puts(&tail, " = VALUES(") < 0 || tmy_put_ident(&tail, tbl->cols[i].name) < 0 ||
		    buf_putc(&tail, ')') < 0)
			goto oom;
		first = false;
	}
	/* only key columns written: the existing row stays as it is (the clause needs one assignment) */
	for (int i = 0; first && i < tbl->ncols; i++) {
		if (!tbl->cols[i].key)
			continue;
		if (tmy_put_ident(&tail, tbl->cols[i].name) < 0 || buf_puts(&tail, " = ") < 0 ||
		    tmy_put_ident(&tail, tbl->cols[i].name) < 0)
			goto oom;
		first = false;
	}
	for (size_t r = 0; r < n; r++) {
		bool firstcell = true;

		if (tmy_check_key_cells(m, tbl, &ch[r], err) < 0)
			goto cleanup;
		buf_reset(&m->row);
		if (buf_putc(&m->row, '(') < 0)
			goto oom;
		for (int i = 0; i < tbl->ncols; i++) {
			if (ch[r].cells[i].kind == TARGET_UNCHANGED)
				continue;
			if (!firstcell && buf_putc(&m->row, ',') < 0)
				goto oom;
			firstcell = false;
			if (tmy_put_cell(m, tbl, i, &ch[r].cells[i], &m->row, err) < 0)
				goto cleanup;
		}
		if (buf_putc(&m->row, ')') < 0)
			goto oom;
		if (tmy_add_row(m, tbl, head_len, &tail, SIZE_MAX, &nrows, ",", "upserting", err) < 0)
			goto cleanup;
	}
	if (nrows > 0 && tmy_flush(m, tbl, &tail, "upserting", err) < 0)
		goto cleanup;
	rc = 0;
	goto cleanup;
oom:
	tmy_oom(m, err);
cleanup:
	buf_free(&tail);
	return rc;
}

/* n deletes by key: DELETE ... WHERE k IN (...) for a one-column key, WHERE (a = .. AND b = ..) OR ...
 * for a composite one (both use the primary key's range access). */
static int tmy_delete(struct tmy *m, const struct target_table *tbl, const struct target_change *ch, size_t n,
                      struct cerr *err)
{
	struct buf tail;
	int nkey = 0, key0 = -1;
	size_t head_len, nrows = 0;
	int rc = -1;

	for (int i = 0; i < tbl->ncols; i++)
		if (tbl->cols[i].key) {
			nkey++;
			if (key0 < 0)
				key0 = i;
		}
	if (nkey == 0)
		return tmy_err(m, err, false, "table %s has no key columns to delete by", tbl->name);
	buf_init(&tail, 0);
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "DELETE FROM ") < 0 || tmy_put_ident(&m->sql, tbl->name) < 0 ||
	    buf_puts(&m->sql, " WHERE ") < 0)
		goto oom;
	if (nkey == 1 && (tmy_put_ident(&m->sql, tbl->cols[key0].name) < 0 || buf_puts(&m->sql, " IN (") < 0 ||
	                  buf_putc(&tail, ')') < 0))
		goto oom;
	head_len = m->sql.len;
	for (size_t r = 0; r < n; r++) {
		bool first = true;

		if (tmy_check_key_cells(m, tbl, &ch[r], err) < 0)
			goto cleanup;
		buf_reset(&m->row);
		if (nkey == 1) {
			if (tmy_put_cell(m, tbl, key0, &ch[r].cells[key0], &m->row, err) < 0)
				goto cleanup;
		} else {
			if (buf_putc(&m->row, '(') < 0)
				goto oom;
			for (int i = 0; i < tbl->ncols; i++) {
				if (!tbl->cols[i].key)
					continue;
				if ((!first && buf_puts(&m->row, " AND ") < 0) ||
				    tmy_put_ident(&m->row, tbl->cols[i].name) < 0 || buf_puts(&m->row, " = ") < 0)
					goto oom;
				first = false;
				if (tmy_put_cell(m, tbl, i, &ch[r].cells[i], &m->row, err) < 0)
					goto cleanup;
			}
			if (buf_putc(&m->row, ')') < 0)
				goto oom;
		}
		if (tmy_add_row(m, tbl, head_len, &tail, TMY_DELETE_BATCH, &nrows, nkey == 1 ? "," : " OR ", "deleting",
		                err) < 0)
			goto cleanup;
	}
	if (nrows > 0 && tmy_flush(m, tbl, &tail, "deleting", err) < 0)
		goto cleanup;
	rc = 0;
	goto cleanup;
oom:
	tmy_oom(m, err);
cleanup:
	buf_free(&tail);
	return rc;
}

/* Inserts ('c') are upserted like updates: ON DUPLICATE KEY UPDATE costs MariaDB little. */
static char tmy_op(char op)
{
	return op == 'c' ? 'u' : op;
}

static int tmy_apply(void *state, const struct target_table *tbl, const struct target_change *changes, size_t n,
                     struct cerr *err)
{
	struct tmy *m = state;
	size_t i = 0, j;

	if (tmy_need_tx(m, "apply", err) < 0)
		return -1;
	while (i < n) {
		char op = tmy_op(changes[i].op);

		if (op != 'u' && op != 'd')
			return tmy_err(m, err, false, "table %s: unknown change op '%c'", tbl->name, op);
		for (j = i + 1; j < n && tmy_op(changes[j].op) == op; j++)
			if (op == 'u' && !tmy_same_columns(tbl, &changes[i], &changes[j]))
				break;
		if ((op == 'u' ? tmy_upsert : tmy_delete)(m, tbl, changes + i, j - i, err) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* ---- truncate, transactions, positions ---- */

static int tmy_truncate(void *state, const struct target_table *tbl, struct cerr *err)
{
	struct tmy *m = state;

	if (tmy_need_tx(m, "truncate", err) < 0)
		return -1;
	/* DELETE, not TRUNCATE TABLE: TRUNCATE is DDL and would commit the transaction implicitly */
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "DELETE FROM ") < 0 || tmy_put_ident(&m->sql, tbl->name) < 0)
		return tmy_oom(m, err);
	return tmy_exec_buf(m, &m->sql, tbl->name, "truncating", err);
}

static int tmy_begin(void *state, struct cerr *err)
{
	struct tmy *m = state;
	static const char q[] = "START TRANSACTION";

	if (tmy_need_conn(m, err) < 0)
		return -1;
	if (m->in_tx)
		return tmy_err(m, err, false, "begin inside a transaction");
	if (tmy_exec(m, q, sizeof q - 1, NULL, "starting a transaction", err) < 0)
		return -1;
	m->in_tx = true;
	return 0;
}

static int tmy_commit(void *state, struct cerr *err)
{
	struct tmy *m = state;
	static const char q[] = "COMMIT";

	if (tmy_need_tx(m, "commit", err) < 0)
		return -1;
	/* whatever happens, the transaction is over (a lost connection during COMMIT leaves its outcome
	 * unknown: the stored positions tell after reconnecting) */
	m->in_tx = false;
	return tmy_exec(m, q, sizeof q - 1, NULL, "committing", err);
}

static void tmy_rollback(void *state)
{
	struct tmy *m = state;
	static const char q[] = "ROLLBACK";

	/* a failure means the connection is gone, and the server rolls back then */
	if (m->conn && mysql_real_query(m->conn, q, sizeof q - 1) != 0)
		log_debug(NULL, "sink %s: MySQL ROLLBACK failed: %s", m->sink->name, mysql_error(m->conn));
	m->in_tx = false;
}

static int tmy_store_positions(void *state, const char *sink, const struct target_position *pos, size_t n,
                               struct cerr *err)
{
	struct tmy *m = state;

	if (tmy_need_tx(m, "storing positions", err) < 0)
		return -1;
	if (n == 0)
		return 0;
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "INSERT INTO cleave_positions (sink, topic, kafka_partition, kafka_offset, commit_lsn,"
	                      " seq) VALUES ") < 0)
		return tmy_oom(m, err);
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && buf_putc(&m->sql, ',') < 0) || buf_putc(&m->sql, '(') < 0 ||
		    tmy_put_str(m, &m->sql, sink) < 0 || buf_putc(&m->sql, ',') < 0 ||
		    tmy_put_str(m, &m->sql, pos[i].topic) < 0 ||
		    buf_printf(&m->sql, ",%d,%lld,%lld,%lld)", (int)pos[i].partition, (long long)pos[i].offset,
		               (long long)pos[i].commit_lsn, (long long)pos[i].seq) < 0)
			return tmy_oom(m, err);
	if (buf_puts(&m->sql, " ON DUPLICATE KEY UPDATE kafka_offset = VALUES(kafka_offset),"
	                      " commit_lsn = VALUES(commit_lsn), seq = VALUES(seq),"
	                      " updated_at = CURRENT_TIMESTAMP(6)") < 0)
		return tmy_oom(m, err);
	return tmy_exec_buf(m, &m->sql, "cleave_positions", "storing positions", err);
}

static int tmy_load_positions(void *state, const char *sink, struct target_position **out, size_t *nout,
                              struct cerr *err)
{
	struct tmy *m = state;
	struct target_position *pos = NULL;
	MYSQL_RES *res;
	MYSQL_ROW r;
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (tmy_need_conn(m, err) < 0)
		return -1;
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "SELECT topic, kafka_partition, kafka_offset, commit_lsn, seq FROM cleave_positions"
	                      " WHERE sink = ") < 0 ||
	    tmy_put_str(m, &m->sql, sink) < 0 || buf_puts(&m->sql, " ORDER BY topic, kafka_partition") < 0)
		return tmy_oom(m, err);
	res = tmy_select(m, &m->sql, "loading positions", err);
	if (!res)
		return -1;
	pos = calloc(mysql_num_rows(res) + 1, sizeof *pos);
	if (!pos) {
		mysql_free_result(res);
		return tmy_oom(m, err);
	}
	while ((r = mysql_fetch_row(res))) {
		if (!r[0] || !r[1] || !r[2] || !r[3] || !r[4] || !(pos[n].topic = strdup(r[0]))) {
			target_positions_free(pos, n);
			mysql_free_result(res);
			return tmy_oom(m, err);
		}
		pos[n].partition = (int32_t)strtol(r[1], NULL, 10);
		pos[n].offset = strtoll(r[2], NULL, 10);
		pos[n].commit_lsn = strtoll(r[3], NULL, 10);
		pos[n].seq = strtoll(r[4], NULL, 10);
		n++;
	}
	mysql_free_result(res);
	*out = pos;
	*nout = n;
	return 0;
}

/* --- truncate barriers (target.h) --- */

/* Starts m->sql with `head` and appends the barrier's WHERE conditions. */
static int tmy_barrier_where(struct tmy *m, const char *head, const struct target_barrier *b)
{
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, head) < 0 || buf_puts(&m->sql, " WHERE sink = ") < 0 ||
	    tmy_put_str(m, &m->sql, b->sink) < 0 || buf_puts(&m->sql, " AND topic = ") < 0 ||
	    tmy_put_str(m, &m->sql, b->topic) < 0 ||
	    buf_printf(&m->sql, " AND commit_lsn = %lld AND seq = %lld", (long long)b->commit_lsn, (long long)b->seq) < 0)
		return -1;
	return 0;
}

/* INSERT IGNORE of the barrier's row for kafka_partition `partition`. */
static int tmy_barrier_insert(struct tmy *m, const struct target_barrier *b, int32_t partition, struct cerr *err)
{
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "INSERT IGNORE INTO cleave_truncates (sink, topic, commit_lsn, seq, kafka_partition)"
	                      " VALUES (") < 0 ||
	    tmy_put_str(m, &m->sql, b->sink) < 0 || buf_puts(&m->sql, ", ") < 0 ||
	    tmy_put_str(m, &m->sql, b->topic) < 0 ||
	    buf_printf(&m->sql, ", %lld, %lld, %d)", (long long)b->commit_lsn, (long long)b->seq, (int)partition) < 0)
		return tmy_oom(m, err);
	return tmy_exec_buf(m, &m->sql, "cleave_truncates", "recording a truncate", err);
}

/* One integer from a query in m->sql (0 without a row). */
static int tmy_barrier_count(struct tmy *m, long long *out, struct cerr *err)
{
	MYSQL_RES *res = tmy_select(m, &m->sql, "reading cleave_truncates", err);
	MYSQL_ROW r;

	if (!res)
		return -1;
	r = mysql_fetch_row(res);
	*out = r && r[0] ? strtoll(r[0], NULL, 10) : 0;
	mysql_free_result(res);
	return 0;
}

static int tmy_barrier_arrive(void *state, const struct target_barrier *b, int32_t partition, int *arrived,
                              struct cerr *err)
{
	struct tmy *m = state;
	long long n;

	if (tmy_need_tx(m, "recording a truncate", err) < 0 || tmy_barrier_insert(m, b, -2, err) < 0)
		return -1;
	/* waits for another process's arrival in progress; the locking count after it reads the latest rows */
	if (tmy_barrier_where(m, "SELECT COUNT(*) FROM cleave_truncates", b) < 0 ||
	    buf_puts(&m->sql, " AND kafka_partition = -2 FOR UPDATE") < 0)
		return tmy_oom(m, err);
	if (tmy_barrier_count(m, &n, err) < 0 || tmy_barrier_insert(m, b, partition, err) < 0)
		return -1;
	if (tmy_barrier_where(m, "SELECT COUNT(*) FROM cleave_truncates", b) < 0 ||
	    buf_puts(&m->sql, " AND kafka_partition >= 0 FOR UPDATE") < 0)
		return tmy_oom(m, err);
	if (tmy_barrier_count(m, &n, err) < 0)
		return -1;
	*arrived = (int)n;
	return 0;
}

static int tmy_barrier_done(void *state, const struct target_barrier *b, struct cerr *err)
{
	struct tmy *m = state;

	if (tmy_need_tx(m, "recording a truncate", err) < 0)
		return -1;
	return tmy_barrier_insert(m, b, -1, err);
}

static int tmy_barrier_is_done(void *state, const struct target_barrier *b, bool *done, struct cerr *err)
{
	struct tmy *m = state;
	long long n;

	if (tmy_need_conn(m, err) < 0)
		return -1;
	if (tmy_barrier_where(m, "SELECT COUNT(*) FROM cleave_truncates", b) < 0 ||
	    buf_puts(&m->sql, " AND kafka_partition = -1") < 0)
		return tmy_oom(m, err);
	if (tmy_barrier_count(m, &n, err) < 0)
		return -1;
	*done = n > 0;
	return 0;
}

static int tmy_barrier_pending(void *state, struct target_barrier *b, int32_t partition, bool *found,
                               struct cerr *err)
{
	struct tmy *m = state;
	MYSQL_RES *res;
	MYSQL_ROW r;

	*found = false;
	if (tmy_need_conn(m, err) < 0)
		return -1;
	buf_reset(&m->sql);
	if (buf_puts(&m->sql, "SELECT a.commit_lsn, a.seq FROM cleave_truncates a WHERE a.sink = ") < 0 ||
	    tmy_put_str(m, &m->sql, b->sink) < 0 || buf_puts(&m->sql, " AND a.topic = ") < 0 ||
	    tmy_put_str(m, &m->sql, b->topic) < 0 ||
	    buf_printf(&m->sql, " AND a.kafka_partition = %d AND NOT EXISTS (SELECT 1 FROM cleave_truncates d"
	                        " WHERE d.sink = a.sink AND d.topic = a.topic AND d.commit_lsn = a.commit_lsn"
	                        " AND d.seq = a.seq AND d.kafka_partition = -1) ORDER BY a.commit_lsn, a.seq LIMIT 1",
	               (int)partition) < 0)
		return tmy_oom(m, err);
	if (!(res = tmy_select(m, &m->sql, "reading cleave_truncates", err)))
		return -1;
	if ((r = mysql_fetch_row(res)) && r[0] && r[1]) {
		*found = true;
		b->commit_lsn = strtoll(r[0], NULL, 10);
		b->seq = strtoll(r[1], NULL, 10);
	}
	mysql_free_result(res);
	return 0;
}

const struct target_ops target_mysql_ops = {
	.engine = "mysql",
	.open = tmy_open,
	.close = tmy_close,
	.connect = tmy_connect,
	.prepare_table = tmy_prepare_table,
	.begin = tmy_begin,
	.apply = tmy_apply,
	.truncate = tmy_truncate,
	.store_positions = tmy_store_positions,
	.commit = tmy_commit,
	.rollback = tmy_rollback,
	.load_positions = tmy_load_positions,
	.barrier_arrive = tmy_barrier_arrive,
	.barrier_done = tmy_barrier_done,
	.barrier_is_done = tmy_barrier_is_done,
	.barrier_pending = tmy_barrier_pending,
};
