/* test_target_mysql.c: the MySQL/MariaDB engine of sinks/target.h against the MariaDB tests/run.sh starts.
 * Every test gets a fresh database; what the target wrote is checked with plain libmysqlclient queries
 * (CAST(... AS CHAR), HEX(), information_schema), never through the target's own code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "config/config.h"
#include "schema/coltype.h"
#include "sinks/target.h"
#include "tests/support/testenv.h"

/* ---- plain SQL on the test's own connection ---- */

static MYSQL *my_connect(const char *db)
{
	MYSQL *c = mysql_init(NULL);
	unsigned int port = (unsigned int)atoi(testenv_get("CLEAVE_TEST_MYSQL_PORT"));

	assert_non_null(c);
	if (mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
	    !mysql_real_connect(c, testenv_get("CLEAVE_TEST_MYSQL_HOST"), "root", NULL, db, port, NULL, 0))
		fail_msg("connecting to MariaDB: %s", mysql_error(c));
	return c;
}

static void my_exec(MYSQL *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void my_exec(MYSQL *c, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	if (mysql_query(c, sql) != 0)
		fail_msg("%s: %s", sql, mysql_error(c));
}

/* The first column of the first row (caller frees), or NULL for SQL NULL. Fails the test on no row. */
static char *my_value(MYSQL *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *my_value(MYSQL *c, const char *fmt, ...)
{
	char sql[8192], *v;
	MYSQL_RES *res;
	MYSQL_ROW r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	if (mysql_query(c, sql) != 0 || !(res = mysql_store_result(c)))
		fail_msg("%s: %s", sql, mysql_error(c));
	r = mysql_fetch_row(res);
	if (!r) {
		mysql_free_result(res);
		fail_msg("%s: no row", sql);
	}
	v = r[0] ? strdup(r[0]) : NULL;
	mysql_free_result(res);
	return v;
}

/* Asserts that the query's single value is `want` (NULL: SQL NULL). */
#define assert_value(c, want, ...) assert_value_at(c, want, __FILE__, __LINE__, __VA_ARGS__)
static void assert_value_at(MYSQL *c, const char *want, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void assert_value_at(MYSQL *c, const char *want, const char *file, int line, const char *fmt, ...)
{
	char sql[8192], *v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	v = my_value(c, "%s", sql);
	if ((want == NULL) != (v == NULL) || (want && strcmp(want, v) != 0)) {
		char got[200];

		snprintf(got, sizeof got, "%s", v ? v : "NULL");
		free(v);
		fail_msg("%s:%d: %s: got '%s', want '%s'", file, line, sql, got, want ? want : "NULL");
	}
	free(v);
}

static long long my_int(MYSQL *c, const char *sql)
{
	char *v = my_value(c, "%s", sql);
	long long n;

	assert_non_null(v);
	n = atoll(v);
	free(v);
	return n;
}

/* ---- fixture: a fresh database, a sink config pointing at it, a connected target ---- */

struct fx {
	const char *db;
	struct cfg_sink sink;
	struct target *t;
	MYSQL *c; /* the test's own connection to db */
	char *lock_wait; /* a global innodb_lock_wait_timeout to restore at teardown, or NULL */
};

static void fx_sink(struct fx *f, const char *dsn)
{
	memset(&f->sink, 0, sizeof f->sink);
	f->sink.name = (char *)testenv_unique("mysink");
	f->sink.type = CFG_SINK_MYSQL;
	f->sink.dsn = (char *)dsn;
	f->sink.batch_size = 5000;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	MYSQL *root = my_connect(NULL);
	struct cerr err = {0};

	assert_non_null(f);
	f->db = testenv_unique("cleave_tmy");
	my_exec(root, "CREATE DATABASE %s", f->db);
	mysql_close(root);
	fx_sink(f, testenv_fmt("%s%s", testenv_get("CLEAVE_TEST_MYSQL_DSN"), f->db));
	f->t = target_new(&f->sink, &err);
	if (!f->t)
		fail_msg("target_new: %s", err.msg);
	if (target_connect(f->t, &err) != 0)
		fail_msg("target_connect: %s", err.msg);
	f->c = my_connect(f->db);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	target_free(f->t);
	if (f->lock_wait)
		my_exec(f->c, "SET GLOBAL innodb_lock_wait_timeout = %s", f->lock_wait);
	free(f->lock_wait);
	my_exec(f->c, "DROP DATABASE %s", f->db);
	mysql_close(f->c);
	free(f);
	return 0;
}

/* ---- building tables and changes ---- */

#define NUMERIC_TYPMOD(p, s) ((int32_t)((((p) << 16) | (s)) + 4))
#define OID_USER_ENUM 16500u /* any OID >= 16384: a user type, carried as text */

struct colspec {
	const char *name;
	uint32_t oid;
	int32_t typmod;
	bool key;
	const char *column_type; /* what information_schema.COLUMNS.COLUMN_TYPE must say after create */
};

/* One column of every SPEC.md §5 type (MariaDB's spelling of COLUMN_TYPE; JSON is a longtext alias). */
static const struct colspec every[] = {
	{"id", 20, -1, true, "bigint(20)"},
	{"b", 16, -1, false, "tinyint(1)"},
	{"i2", 21, -1, false, "smallint(6)"},
	{"i4", 23, -1, false, "int(11)"},
	{"i8", 20, -1, false, "bigint(20)"},
	{"f4", 700, -1, false, "float"},
	{"f8", 701, -1, false, "double"},
	{"dec", 1700, NUMERIC_TYPMOD(12, 2), false, "decimal(12,2)"},
	{"num", 1700, -1, false, "varchar(1100)"}, /* any precision: text (DECIMAL(65,30) would round) */
	{"t", 25, -1, false, "longtext"}, /* TEXT stops at 64 KB */
	{"vc", 1043, 40 + 4, false, "varchar(40)"},
	{"ch", 1042, 5 + 4, false, "char(5)"},
	{"by", 17, -1, false, "longblob"},
	{"d", 1082, -1, false, "date"},
	{"tm", 1083, -1, false, "time(6)"},
	{"ts", 1114, -1, false, "datetime(6)"},
	{"tz", 1184, -1, false, "datetime(6)"},
	{"u", 2950, -1, false, "char(36)"},
	{"j", 3802, -1, false, "longtext"},
	{"js", 114, -1, false, "longtext"},
	{"e", OID_USER_ENUM, -1, false, "longtext"},
	{"ai", 1007, -1, false, "longtext"},
	{"at", 1009, -1, false, "longtext"},
};
#define NEVERY ((int)(sizeof every / sizeof every[0]))

enum { C_ID, C_B, C_I2, C_I4, C_I8, C_F4, C_F8, C_DEC, C_NUM, C_T, C_VC, C_CH, C_BY, C_D, C_TM, C_TS, C_TZ, C_U,
       C_J, C_JS, C_E, C_AI, C_AT };

/* A target_table over a fixed array of columns, built from colspecs. */
struct tbl {
	struct target_table t;
	struct target_column cols[32];
};

static void tbl_init(struct tbl *tb, const char *name, const struct colspec *specs, int n)
{
	memset(tb, 0, sizeof *tb);
	assert_true(n <= 32);
	tb->t.name = name;
	tb->t.ncols = n;
	tb->t.cols = tb->cols;
	for (int i = 0; i < n; i++) {
		tb->cols[i].name = specs[i].name;
		tb->cols[i].key = specs[i].key;
		coltype_from_pg(specs[i].oid, specs[i].typmod, &tb->cols[i].type);
	}
}

/* Sentinel for a TARGET_UNCHANGED cell in a row given as json_t pointers (NULL is TARGET_NULL). */
static json_t unchanged_sentinel;
#define UNCH (&unchanged_sentinel)

/* A row of cells: the row owns one reference to each value (row_free drops them), the cells borrow them. */
struct row {
	struct target_cell cells[32];
	json_t *vals[32];
	int n;
};

static void row_set(struct row *r, int n, json_t *const *vals)
{
	r->n = n;
	for (int i = 0; i < n; i++) {
		r->vals[i] = vals[i];
		if (vals[i] == NULL)
			r->cells[i] = (struct target_cell){TARGET_NULL, NULL};
		else if (vals[i] == UNCH)
			r->cells[i] = (struct target_cell){TARGET_UNCHANGED, NULL};
		else
			r->cells[i] = (struct target_cell){TARGET_VALUE, vals[i]};
	}
}

static void row_free(struct row *r)
{
	for (int i = 0; i < r->n; i++)
		if (r->vals[i] && r->vals[i] != UNCH)
			json_decref(r->vals[i]);
	r->n = 0;
}

static void must(int rc, const struct cerr *err, const char *what)
{
	if (rc != 0)
		fail_msg("%s: %s", what, err->msg);
}

/* One transaction applying the changes. */
static void apply_tx(struct fx *f, const struct target_table *t, const struct target_change *ch, size_t n)
{
	struct cerr err = {0};

	must(target_begin(f->t, &err), &err, "begin");
	if (target_apply(f->t, t, ch, n, &err) != 0) {
		target_rollback(f->t);
		fail_msg("apply: %s", err.msg);
	}
	must(target_commit(f->t, &err), &err, "commit");
}

/* Applies changes expecting a failure; returns the error (transaction rolled back). */
static struct cerr apply_fail(struct fx *f, const struct target_table *t, const struct target_change *ch, size_t n)
{
	struct cerr err = {0};

	must(target_begin(f->t, &err), &err, "begin");
	if (target_apply(f->t, t, ch, n, &err) == 0)
		fail_msg("apply succeeded where it should fail");
	target_rollback(f->t);
	return err;
}

static void prepare(struct fx *f, const struct target_table *t, bool create)
{
	struct cerr err = {0};

	must(target_prepare_table(f->t, t, create, &err), &err, "prepare_table");
}

static struct cerr prepare_fail(struct fx *f, const struct target_table *t, bool create)
{
	struct cerr err = {0};

	if (target_prepare_table(f->t, t, create, &err) == 0)
		fail_msg("prepare_table of %s succeeded where it should fail", t->name);
	return err;
}

#define assert_contains(hay, needle) \
	do { \
		if (!strstr((hay), (needle))) \
			fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
	} while (0)

/* ---- tests ---- */

/* create_tables: every §5 type gets its MySQL column type, the key is the primary key, InnoDB, utf8mb4
 * with a binary collation; cleave_positions exists after connect. */
static void test_create_every_type(void **state)
{
	struct fx *f = *state;
	struct tbl tb;
	struct cerr err = {0};

	tbl_init(&tb, "every", every, NEVERY);
	/* not inside a transaction: CREATE TABLE would commit it */
	must(target_begin(f->t, &err), &err, "begin");
	err = prepare_fail(f, &tb.t, true);
	assert_contains(err.msg, "inside a transaction");
	target_rollback(f->t);
	prepare(f, &tb.t, true);
	for (int i = 0; i < NEVERY; i++) {
		if (!every[i].column_type)
			continue;
		assert_value(f->c, every[i].column_type,
		             "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
		             " AND TABLE_NAME = 'every' AND COLUMN_NAME = '%s'", every[i].name);
	}
	/* JSON columns are MariaDB's JSON (longtext with a json_valid check) */
	assert_value(f->c, "1", "SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA ="
	                        " DATABASE() AND TABLE_NAME = 'every' AND CHECK_CLAUSE LIKE 'json_valid(`j`)'");
	assert_value(f->c, "id", "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)"
	                         " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()"
	                         " AND TABLE_NAME = 'every' AND INDEX_NAME = 'PRIMARY'");
	assert_value(f->c, "InnoDB", "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
	                             " AND TABLE_NAME = 'every'");
	assert_value(f->c, "utf8mb4_nopad_bin", "SELECT TABLE_COLLATION FROM information_schema.TABLES"
	                                        " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'every'");
	assert_value(f->c, "NO", "SELECT IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
	                         " AND TABLE_NAME = 'every' AND COLUMN_NAME = 'id'");
	assert_value(f->c, "kafka_offset,commit_lsn,seq,updated_at",
	             "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS"
	             " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cleave_positions' AND COLUMN_KEY = ''");
	assert_value(f->c, "sink,topic,kafka_partition",
	             "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS"
	             " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cleave_positions' AND INDEX_NAME = 'PRIMARY'");
	/* preparing again (table exists now, created by us) is accepted, as is a second connect */
	prepare(f, &tb.t, true);
	prepare(f, &tb.t, false);
}

/* Key columns of unbounded types (text, bytea, jsonb) become indexable VARCHAR/VARBINARY; keys that
 * differ only in case or trailing spaces stay distinct, like in PostgreSQL. */
static void test_text_keys(void **state)
{
	static const struct colspec specs[] = {
		{"k", 25, -1, true, NULL}, {"kb", 17, -1, true, NULL},
		{"n", 23, -1, true, NULL}, {"v", 25, -1, false, NULL},
	};
	const char *keys[] = {"a", "A", "a ", "ä", "😀"};
	struct fx *f = *state;
	struct tbl tb;
	struct row rows[5];
	struct target_change ch[5];

	tbl_init(&tb, "textkeys", specs, 4);
	prepare(f, &tb.t, true);
	for (int i = 0; i < 5; i++) {
		json_t *vals[] = {json_string(keys[i]), json_string("\\x00"), json_integer(1), json_sprintf("%d", i)};

		row_set(&rows[i], 4, vals);
		ch[i] = (struct target_change){'u', rows[i].cells};
	}
	apply_tx(f, &tb.t, ch, 5);
	assert_value(f->c, "5", "SELECT COUNT(*) FROM textkeys");
	assert_value(f->c, "2", "SELECT v FROM textkeys WHERE k = BINARY 'a '");
	assert_value(f->c, "1", "SELECT v FROM textkeys WHERE k = BINARY 'A'");
	assert_value(f->c, "4", "SELECT v FROM textkeys WHERE HEX(k) = HEX('😀')");
	assert_value(f->c, "varchar(255) utf8mb4_nopad_bin|varbinary(255) NULL",
	             "SELECT GROUP_CONCAT(CONCAT_WS(' ', COLUMN_TYPE, IFNULL(COLLATION_NAME, 'NULL')) ORDER BY"
	             " ORDINAL_POSITION SEPARATOR '|') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
	             " AND TABLE_NAME = 'textkeys' AND COLUMN_NAME IN ('k', 'kb')");
	assert_value(f->c, "00", "SELECT DISTINCT HEX(kb) FROM textkeys");
	/* delete by a text key removes exactly that row */
	ch[0].op = 'd';
	apply_tx(f, &tb.t, ch, 1);
	assert_value(f->c, "4", "SELECT COUNT(*) FROM textkeys");
	assert_value(f->c, "0", "SELECT COUNT(*) FROM textkeys WHERE k = BINARY 'a'");
	for (int i = 0; i < 5; i++)
		row_free(&rows[i]);
}

/* An existing table we did not create is accepted when its columns can hold the values: other column order,
 * other case of names, an extra nullable column, wider types, a MySQL ENUM for a PostgreSQL enum. */
static void test_existing_compatible(void **state)
{
	struct fx *f = *state;
	struct tbl tb;
	struct row r;
	struct target_change ch;
	json_t *vals[] = {json_integer(7), json_string("x"), json_integer(42), json_string("sad")};
	static const struct colspec specs[] = {
		{"id", 23, -1, true, NULL}, {"name", 1043, 20 + 4, false, NULL}, {"qty", 23, -1, false, NULL},
		{"mood", OID_USER_ENUM, -1, false, NULL}, /* a PostgreSQL enum into a MySQL ENUM */
	};

	my_exec(f->c, "CREATE TABLE existing (extra INT NULL, Qty BIGINT, NAME VARCHAR(100), id INT NOT NULL"
	              " PRIMARY KEY, mood ENUM('ok', 'sad') CHARACTER SET latin1)"
	              " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
	tbl_init(&tb, "existing", specs, 4);
	prepare(f, &tb.t, false);
	row_set(&r, 4, vals);
	ch = (struct target_change){'u', r.cells};
	apply_tx(f, &tb.t, &ch, 1);
	assert_value(f->c, "7|x|42|sad|NULL", "SELECT CONCAT_WS('|', id, NAME, Qty, mood, IFNULL(extra, 'NULL'))"
	                                      " FROM existing");
	row_free(&r);
}

/* Existing tables that cannot hold the mapping are refused with a message naming table, column, found and
 * needed type and the fix. */
static void test_existing_incompatible(void **state)
{
	struct fx *f = *state;
	struct tbl tb;
	struct cerr err;
	static const struct colspec specs[] = {
		{"id", 23, -1, true, NULL},
		{"name", 1043, 40 + 4, false, NULL},
		{"amount", 1700, NUMERIC_TYPMOD(12, 2), false, NULL},
	};

	/* missing table, create_tables off */
	tbl_init(&tb, "nosuch", specs, 3);
	err = prepare_fail(f, &tb.t, false);
	assert_false(err.retriable);
	assert_contains(err.msg, "table nosuch does not exist");
	assert_contains(err.msg, "create_tables: true");
	assert_value(f->c, "0", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
	                        " AND TABLE_NAME = 'nosuch'");

	/* a column too narrow (create_tables: false; with true it is widened, below) */
	my_exec(f->c, "CREATE TABLE narrow (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, amount DECIMAL(12,2))"
	              " DEFAULT CHARSET=utf8mb4");
	tbl_init(&tb, "narrow", specs, 3);
	err = prepare_fail(f, &tb.t, false);
	assert_false(err.retriable);
	assert_contains(err.msg, "table narrow column name is varchar(10)");
	assert_contains(err.msg, "VARCHAR(40)");
	assert_contains(err.msg, "ALTER TABLE `narrow` MODIFY `name` VARCHAR(40)");

	/* a decimal with fewer digits */
	my_exec(f->c, "CREATE TABLE lessdigits (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(8,2))"
	              " DEFAULT CHARSET=utf8mb4");
	tbl_init(&tb, "lessdigits", specs, 3);
	err = prepare_fail(f, &tb.t, false);
	assert_contains(err.msg, "column amount is decimal(8,2)");
	assert_contains(err.msg, "DECIMAL(12,2)");

	/* a missing column */
	my_exec(f->c, "CREATE TABLE nocol (id INT PRIMARY KEY, name VARCHAR(40)) DEFAULT CHARSET=utf8mb4");
	tbl_init(&tb, "nocol", specs, 3);
	err = prepare_fail(f, &tb.t, false);
	assert_contains(err.msg, "table nocol has no column amount");
	assert_contains(err.msg, "ADD COLUMN `amount` DECIMAL(12,2)");

	/* another primary key, and none */
	my_exec(f->c, "CREATE TABLE otherkey (id INT NOT NULL, name VARCHAR(40) NOT NULL, amount DECIMAL(12,2),"
	              " PRIMARY KEY (id, name)) DEFAULT CHARSET=utf8mb4");
	tbl_init(&tb, "otherkey", specs, 3);
	err = prepare_fail(f, &tb.t, true);
	assert_contains(err.msg, "table otherkey has primary key (`id`, `name`) but the source key is (`id`)");
	my_exec(f->c, "CREATE TABLE nokey (id INT NOT NULL, name VARCHAR(40), amount DECIMAL(12,2))"
	              " DEFAULT CHARSET=utf8mb4");
	tbl_init(&tb, "nokey", specs, 3);
	err = prepare_fail(f, &tb.t, true);
	assert_contains(err.msg, "table nokey has no primary key");

	/* a table that cannot roll back */
	my_exec(f->c, "CREATE TABLE myisam (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,2))"
	              " ENGINE=MyISAM DEFAULT CHARSET=utf8mb4");
	tbl_init(&tb, "myisam", specs, 3);
	err = prepare_fail(f, &tb.t, true);
	assert_contains(err.msg, "engine MyISAM");
	assert_contains(err.msg, "ENGINE=InnoDB");

	/* text that cannot hold all of Unicode */
	my_exec(f->c, "CREATE TABLE latin (id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET latin1,"
	              " amount DECIMAL(12,2))");
	tbl_init(&tb, "latin", specs, 3);
	err = prepare_fail(f, &tb.t, true);
	assert_contains(err.msg, "column name has character set latin1");

	/* create_tables: true follows: the missing column added, the narrow ones widened (keeping NOT NULL and
	 * the character set) */
	tbl_init(&tb, "narrow", specs, 3);
	prepare(f, &tb.t, true);
	assert_value(f->c, "varchar(40) NO utf8mb4", "SELECT CONCAT_WS(' ', COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME)"
	             " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'narrow'"
	             " AND COLUMN_NAME = 'name'");
	tbl_init(&tb, "lessdigits", specs, 3);
	prepare(f, &tb.t, true);
	assert_value(f->c, "decimal(12,2)", "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ="
	             " DATABASE() AND TABLE_NAME = 'lessdigits' AND COLUMN_NAME = 'amount'");
	tbl_init(&tb, "nocol", specs, 3);
	prepare(f, &tb.t, true);
	assert_value(f->c, "decimal(12,2) YES", "SELECT CONCAT_WS(' ', COLUMN_TYPE, IS_NULLABLE) FROM"
	             " information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'nocol'"
	             " AND COLUMN_NAME = 'amount'");
}

/* A text key under a case-insensitive collation would merge 'a' and 'A'. */
static void test_existing_ci_key(void **state)
{
	struct fx *f = *state;
	struct tbl tb;
	struct cerr err;
	static const struct colspec specs[] = {{"k", 1043, 40 + 4, true, NULL}, {"v", 23, -1, false, NULL}};

	my_exec(f->c, "CREATE TABLE cikey (k VARCHAR(40) PRIMARY KEY, v INT) DEFAULT CHARSET=utf8mb4"
	              " COLLATE=utf8mb4_general_ci");
	tbl_init(&tb, "cikey", specs, 2);
	err = prepare_fail(f, &tb.t, true);
	assert_false(err.retriable);
	assert_contains(err.msg, "key column k has collation utf8mb4_general_ci");
}

/* Builds the values of `every` for one row. kind 0: minimum values; 1: maximum values; 2: NULLs. */
static void every_row(struct row *r, long long id, int kind)
{
	json_t *v[NEVERY];

	memset(v, 0, sizeof v);
	v[C_ID] = json_integer(id);
	if (kind == 0) {
		v[C_B] = json_false();
		v[C_I2] = json_integer(-32768);
		v[C_I4] = json_integer(-2147483647LL - 1);
		v[C_I8] = json_integer(INT64_MIN);
		v[C_F4] = json_real(-3.4028234663852886e38);
		v[C_F8] = json_real(-1.7976931348623157e308);
		v[C_DEC] = json_string("-9999999999.99");
		v[C_NUM] = json_string("-12345678901234567890123456789012345678901234567890");
		v[C_T] = json_string("");
		v[C_VC] = json_string("");
		v[C_CH] = json_string("     ");
		v[C_BY] = json_string("\\x");
		v[C_D] = json_integer(-354285);           /* 1000-01-01, MySQL's first DATE */
		v[C_TM] = json_integer(0);
		v[C_TS] = json_integer(-30610224000000000LL); /* 1000-01-01 00:00:00 */
		v[C_TZ] = json_integer(-1);               /* 1969-12-31 23:59:59.999999 UTC */
		v[C_U] = json_string("00000000-0000-0000-0000-000000000000");
		v[C_J] = json_string("{}");
		v[C_JS] = json_string("[]");
		v[C_E] = json_string("a");
		v[C_AI] = json_array();
		v[C_AT] = json_array();
	} else if (kind == 1) {
		v[C_B] = json_true();
		v[C_I2] = json_integer(32767);
		v[C_I4] = json_integer(2147483647);
		v[C_I8] = json_integer(INT64_MAX);
		v[C_F4] = json_real(3.4028234663852886e38);
		v[C_F8] = json_real(1.7976931348623157e308);
		v[C_DEC] = json_string("9999999999.99");
		v[C_NUM] = json_string("1234567890123456789012345678901234567890.0000000001");
		v[C_T] = json_string("it's a \\ \"test\" \xe2\x9c\x93 \xf0\x9f\x98\x80 '' \\'");
		v[C_VC] = json_string("0123456789012345678901234567890123456789");
		v[C_CH] = json_string("abcde");
		v[C_BY] = json_string("\\x00ff00270a5c00"); /* bytes with NULs, a quote, a backslash */
		v[C_D] = json_integer(2932896);                  /* 9999-12-31 */
		v[C_TM] = json_integer(86400000000LL);           /* 24:00:00 */
		v[C_TS] = json_integer(253402300799999999LL);    /* 9999-12-31 23:59:59.999999 */
		v[C_TZ] = json_integer(1710074096123456LL);      /* 2024-03-10 12:34:56.123456 UTC */
		v[C_U] = json_string("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
		v[C_J] = json_string("{\"a\": [1, 2, {\"b\": null}], \"s\": \"x'y\\\\z\"}");
		v[C_JS] = json_string("{\"k\":\"v\"}");
		v[C_E] = json_string("zz top");
		v[C_AI] = json_pack("[i,n,i]", 1, 3);
		v[C_AT] = json_pack("[s,n,s]", "a b", "q\"'\\");
	}
	row_set(r, NEVERY, v);
}

/* Replaces one cell of a row (v: a new reference, NULL or UNCH), dropping the old value. */
static void row_put(struct row *r, int col, json_t *v)
{
	if (r->vals[col] && r->vals[col] != UNCH)
		json_decref(r->vals[col]);
	r->vals[col] = v;
	r->cells[col] = v == UNCH ? (struct target_cell){TARGET_UNCHANGED, NULL}
	                : v ? (struct target_cell){TARGET_VALUE, v} : (struct target_cell){TARGET_NULL, NULL};
}

/* Upserts of every type: minimum and maximum values, NULLs, empty strings, and their exact stored form. */
static void test_upsert_every_type(void **state)
{
	struct fx *f = *state;
	struct tbl tb;
	struct row r[3];
	struct target_change ch[3];

	tbl_init(&tb, "every", every, NEVERY);
	prepare(f, &tb.t, true);
	every_row(&r[0], 1, 0);
	every_row(&r[1], 2, 1);
	every_row(&r[2], 3, 2);
	for (int i = 0; i < 3; i++)
		ch[i] = (struct target_change){'u', r[i].cells};
	apply_tx(f, &tb.t, ch, 3);

	assert_value(f->c, "3", "SELECT COUNT(*) FROM every");
#define COL(id, expr) "SELECT " expr " FROM every WHERE id = " #id
	/* minimum values */
	assert_value(f->c, "0", COL(1, "CAST(b AS CHAR)"));
	assert_value(f->c, "-32768", COL(1, "CAST(i2 AS CHAR)"));
	assert_value(f->c, "-2147483648", COL(1, "CAST(i4 AS CHAR)"));
	assert_value(f->c, "-9223372036854775808", COL(1, "CAST(i8 AS CHAR)"));
	assert_value(f->c, "1", COL(1, "f4 = -3.4028234663852886e38"));
	assert_value(f->c, "-1.7976931348623157e308", COL(1, "CAST(f8 AS CHAR)"));
	assert_value(f->c, "-9999999999.99", COL(1, "CAST(`dec` AS CHAR)"));
	assert_value(f->c, "-12345678901234567890123456789012345678901234567890", COL(1, "CAST(num AS CHAR)"));
	assert_value(f->c, "0|", COL(1, "CONCAT(LENGTH(t), '|', t)")); /* empty, not NULL */
	assert_value(f->c, "0", COL(1, "LENGTH(vc)"));
	assert_value(f->c, "0", COL(1, "LENGTH(`by`)"));
	assert_value(f->c, "1000-01-01", COL(1, "CAST(d AS CHAR)"));
	assert_value(f->c, "00:00:00.000000", COL(1, "CAST(tm AS CHAR)"));
	assert_value(f->c, "1000-01-01 00:00:00.000000", COL(1, "CAST(ts AS CHAR)"));
	assert_value(f->c, "1969-12-31 23:59:59.999999", COL(1, "CAST(tz AS CHAR)"));
	assert_value(f->c, "00000000-0000-0000-0000-000000000000", COL(1, "u"));
	assert_value(f->c, "1", COL(1, "JSON_EQUALS(j, '{}')"));
	assert_value(f->c, "1", COL(1, "JSON_EQUALS(ai, '[]') AND JSON_EQUALS(`at`, '[]')"));
	assert_value(f->c, "a", COL(1, "e"));
	/* maximum values */
	assert_value(f->c, "1", COL(2, "CAST(b AS CHAR)"));
	assert_value(f->c, "32767", COL(2, "CAST(i2 AS CHAR)"));
	assert_value(f->c, "2147483647", COL(2, "CAST(i4 AS CHAR)"));
	assert_value(f->c, "9223372036854775807", COL(2, "CAST(i8 AS CHAR)"));
	assert_value(f->c, "1", COL(2, "f4 = 3.4028234663852886e38"));
	assert_value(f->c, "1.7976931348623157e308", COL(2, "CAST(f8 AS CHAR)"));
	assert_value(f->c, "9999999999.99", COL(2, "CAST(`dec` AS CHAR)"));
	assert_value(f->c, "1234567890123456789012345678901234567890.0000000001", COL(2, "CAST(num AS CHAR)"));
	assert_value(f->c, "it's a \\ \"test\" \xe2\x9c\x93 \xf0\x9f\x98\x80 '' \\'", COL(2, "t"));
	assert_value(f->c, "0123456789012345678901234567890123456789", COL(2, "vc"));
	assert_value(f->c, "abcde", COL(2, "ch"));
	assert_value(f->c, "00FF00270A5C00", COL(2, "HEX(`by`)"));
	assert_value(f->c, "9999-12-31", COL(2, "CAST(d AS CHAR)"));
	assert_value(f->c, "24:00:00.000000", COL(2, "CAST(tm AS CHAR)"));
	assert_value(f->c, "9999-12-31 23:59:59.999999", COL(2, "CAST(ts AS CHAR)"));
	assert_value(f->c, "2024-03-10 12:34:56.123456", COL(2, "CAST(tz AS CHAR)"));
	assert_value(f->c, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", COL(2, "u"));
	assert_value(f->c, "1", COL(2, "JSON_EQUALS(j, '{\"s\": \"x''y\\\\\\\\z\", \"a\": [1, 2, {\"b\": null}]}')"));
	assert_value(f->c, "1", COL(2, "JSON_EQUALS(js, '{\"k\": \"v\"}')"));
	assert_value(f->c, "zz top", COL(2, "e"));
	assert_value(f->c, "1", COL(2, "JSON_EQUALS(ai, '[1, null, 3]')"));
	assert_value(f->c, "1", COL(2, "JSON_EQUALS(`at`, '[\"a b\", null, \"q\\\\\"''\\\\\\\\\"]')"));
	/* NULLs stay NULL */
	assert_value(f->c, "22", COL(3, "(b IS NULL) + (i2 IS NULL) + (i4 IS NULL) + (i8 IS NULL) + (f4 IS NULL)"
	                                " + (f8 IS NULL) + (`dec` IS NULL) + (num IS NULL) + (t IS NULL) + (vc IS NULL)"
	                                " + (ch IS NULL) + (`by` IS NULL) + (d IS NULL) + (tm IS NULL) + (ts IS NULL)"
	                                " + (tz IS NULL) + (u IS NULL) + (j IS NULL) + (js IS NULL) + (e IS NULL)"
	                                " + (ai IS NULL) + (`at` IS NULL)"));
#undef COL
	/* numeric without typmod is text in MySQL: NaN and infinities are kept */
	{
		struct row special[2];
		struct target_change sch[2];

		every_row(&special[0], 4, 2);
		every_row(&special[1], 5, 2);
		row_put(&special[0], C_NUM, json_string("NaN"));
		row_put(&special[1], C_NUM, json_string("-Infinity"));
		sch[0] = (struct target_change){'u', special[0].cells};
		sch[1] = (struct target_change){'u', special[1].cells};
		apply_tx(f, &tb.t, sch, 2);
		assert_value(f->c, "NaN,-Infinity", "SELECT GROUP_CONCAT(num ORDER BY id) FROM every WHERE id > 3");
		row_free(&special[0]);
		row_free(&special[1]);
	}
	/* applying the same rows again (a replay) changes nothing */
	apply_tx(f, &tb.t, ch, 3);
	assert_value(f->c, "5", "SELECT COUNT(*) FROM every");
	assert_value(f->c, "00FF00270A5C00", "SELECT HEX(`by`) FROM every WHERE id = 2");
	for (int i = 0; i < 3; i++)
		row_free(&r[i]);
}

/* Values MySQL cannot hold are non-retriable data errors naming the column; nothing is written. */
static void test_unholdable_values(void **state)
{
	struct fx *f = *state;
	struct tbl tb;
	struct {
		int col;
		json_t *value;
		const char *name;
	} bad[] = {
		{C_F8, json_string("NaN"), "f8"},
		{C_F4, json_string("Infinity"), "f4"},
		{C_F8, json_string("-Infinity"), "f8"},
		{C_DEC, json_string("NaN"), "dec"},
		{C_D, json_integer(-719163), "d"},                   /* 0001-12-31 BC */
		{C_D, json_integer(INT32_MAX), "d"},                 /* date 'infinity' */
		{C_TS, json_integer(INT64_MAX), "ts"},               /* timestamp 'infinity' */
		{C_TZ, json_integer(INT64_MIN), "tz"},               /* timestamptz '-infinity' */
		{C_TS, json_integer(-62135596800000001LL), "ts"},    /* 0001-12-31 23:59:59.999999 BC */
		{C_D, json_integer(-354286), "d"},                   /* 0999-12-31: before MySQL's range */
		{C_VC, json_string("01234567890123456789012345678901234567890"), "vc"}, /* 41 > varchar(40): server */
	};

	tbl_init(&tb, "every", every, NEVERY);
	prepare(f, &tb.t, true);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct row good, r;
		struct target_change ch[2];
		struct cerr err;
		char want[64];

		/* a good row first, in the same apply: it must not be committed either */
		every_row(&good, 100 + (long long)i, 1);
		every_row(&r, 200 + (long long)i, 2);
		row_put(&r, bad[i].col, bad[i].value); /* the row owns it now */
		ch[0] = (struct target_change){'u', good.cells};
		ch[1] = (struct target_change){'u', r.cells};
		err = apply_fail(f, &tb.t, ch, 2);
		if (err.retriable)
			fail_msg("case %zu: retriable: %s", i, err.msg);
		snprintf(want, sizeof want, bad[i].col == C_VC ? "column '%s'" : "column %s", bad[i].name);
		if (!strstr(err.msg, want))
			fail_msg("case %zu: '%s' does not name %s", i, err.msg, want);
		row_free(&good);
		row_free(&r);
	}
	assert_value(f->c, "0", "SELECT COUNT(*) FROM every");
}

/* TARGET_UNCHANGED leaves the stored value; a new row gets NULL there; rows with different unchanged
 * columns in one apply keep their order. */
static void test_unchanged(void **state)
{
	static const struct colspec specs[] = {
		{"id", 23, -1, true, NULL}, {"big", 25, -1, false, NULL}, {"other", 25, -1, false, NULL},
		{"n", 23, -1, false, NULL},
	};
	struct fx *f = *state;
	struct tbl tb;
	struct row r[4];
	struct target_change ch[4];

	tbl_init(&tb, "unch", specs, 4);
	prepare(f, &tb.t, true);
	{
		json_t *a[] = {json_integer(1), json_string("toast"), json_string("o1"), json_integer(1)};
		json_t *b[] = {json_integer(1), UNCH, json_string("o2"), json_integer(2)};   /* keeps big */
		json_t *c[] = {json_integer(2), UNCH, json_string("new"), json_integer(3)}; /* new row: big NULL */
		json_t *d[] = {json_integer(1), UNCH, UNCH, UNCH};                         /* only the key */

		row_set(&r[0], 4, a);
		row_set(&r[1], 4, b);
		row_set(&r[2], 4, c);
		row_set(&r[3], 4, d);
	}
	for (int i = 0; i < 4; i++)
		ch[i] = (struct target_change){'u', r[i].cells};
	apply_tx(f, &tb.t, ch, 4);
	assert_value(f->c, "toast|o2|2", "SELECT CONCAT_WS('|', big, other, n) FROM unch WHERE id = 1");
	assert_value(f->c, NULL, "SELECT big FROM unch WHERE id = 2");
	assert_value(f->c, "new", "SELECT other FROM unch WHERE id = 2");
	/* an unchanged column after a write of it in the same apply keeps the written value */
	row_put(&r[0], 1, json_string("second"));
	row_put(&r[1], 2, json_string("o3"));
	apply_tx(f, &tb.t, ch, 2);
	assert_value(f->c, "second|o3|2", "SELECT CONCAT_WS('|', big, other, n) FROM unch WHERE id = 1");
	for (int i = 0; i < 4; i++)
		row_free(&r[i]);
}

/* A key repeated in one apply: later changes win, deletes in between count, composite keys work. */
static void test_repeated_keys_and_deletes(void **state)
{
	static const struct colspec specs[] = {
		{"a", 23, -1, true, NULL}, {"b", 1043, 10 + 4, true, NULL}, {"v", 25, -1, false, NULL},
	};
	struct fx *f = *state;
	struct tbl tb;
	enum { N = 9 };
	struct row r[N];
	struct target_change ch[N];
	struct {
		char op;
		int a;
		const char *b, *v;
	} seq[N] = {
		{'u', 1, "x", "first"}, {'u', 1, "x", "second"}, {'u', 2, "x", "gone"}, {'d', 2, "x", NULL},
		{'u', 3, "x", "a"},     {'d', 3, "x", NULL},     {'u', 3, "x", "back"}, {'u', 1, "y", "other b"},
		{'d', 9, "z", NULL}, /* deleting a key that does not exist is fine */
	};

	tbl_init(&tb, "rep", specs, 3);
	prepare(f, &tb.t, true);
	for (int i = 0; i < N; i++) {
		json_t *v[] = {json_integer(seq[i].a), json_string(seq[i].b), seq[i].v ? json_string(seq[i].v) : NULL};

		row_set(&r[i], 3, v);
		ch[i] = (struct target_change){seq[i].op, r[i].cells};
	}
	apply_tx(f, &tb.t, ch, N);
	assert_value(f->c, "1 x second,1 y other b,3 x back",
	             "SELECT GROUP_CONCAT(CONCAT_WS(' ', a, b, v) ORDER BY a, b SEPARATOR ',') FROM rep");
	for (int i = 0; i < N; i++)
		row_free(&r[i]);
}

/* Deletes in batches bigger than one statement takes, by bigint keys near 2^63 (compared exactly). */
static void test_many_deletes(void **state)
{
	static const struct colspec specs[] = {{"id", 20, -1, true, NULL}, {"v", 23, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	enum { N = 2500 };
	struct row *r = calloc(N, sizeof *r);
	struct target_change *ch = calloc(N, sizeof *ch);

	assert_non_null(r);
	assert_non_null(ch);
	tbl_init(&tb, "many", specs, 2);
	prepare(f, &tb.t, true);
	for (int i = 0; i < N; i++) {
		json_t *v[] = {json_integer(INT64_MAX - i), json_integer(i)};

		row_set(&r[i], 2, v);
		ch[i] = (struct target_change){'u', r[i].cells};
	}
	apply_tx(f, &tb.t, ch, N);
	assert_value(f->c, "2500", "SELECT COUNT(*) FROM many");
	/* delete every other key: 1250 deletes, more than one DELETE statement holds */
	for (int i = 0; i < N / 2; i++)
		ch[i] = (struct target_change){'d', r[2 * i].cells};
	apply_tx(f, &tb.t, ch, N / 2);
	assert_value(f->c, "1250", "SELECT COUNT(*) FROM many");
	assert_value(f->c, "0", "SELECT COUNT(*) FROM many WHERE MOD(v, 2) = 0");
	assert_value(f->c, "9223372036854775806", "SELECT CAST(MAX(id) AS CHAR) FROM many");
	for (int i = 0; i < N; i++)
		row_free(&r[i]);
	free(r);
	free(ch);
}

/* 1 MB text and bytea values, exactly; 20 of them in one apply need several statements. */
static void test_large_values(void **state)
{
	static const struct colspec specs[] = {{"id", 23, -1, true, NULL}, {"t", 25, -1, false, NULL},
	                                       {"b", 17, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	enum { N = 20, SZ = 1 << 20 };
	char *text = malloc(SZ + 1), *hex = malloc(2 * SZ + 3), *want_hex = malloc(2 * SZ + 1), *got;
	struct row r[N];
	struct target_change ch[N];

	assert_non_null(text);
	assert_non_null(hex);
	assert_non_null(want_hex);
	for (int i = 0; i < SZ; i++)
		text[i] = "ab'\\\"c d\nxyz"[i % 12]; /* quotes, a backslash, a newline */
	text[SZ] = '\0';
	hex[0] = '\\';
	hex[1] = 'x';
	for (int i = 0; i < SZ; i++) {
		unsigned byte = (unsigned)(i * 7919u) & 0xff; /* every byte value, NULs and quotes included */

		snprintf(hex + 2 + 2 * i, 3, "%02x", byte);
		snprintf(want_hex + 2 * i, 3, "%02X", byte);
	}
	tbl_init(&tb, "large", specs, 3);
	prepare(f, &tb.t, true);
	for (int i = 0; i < N; i++) {
		json_t *v[] = {json_integer(i), json_string(text), json_string(hex)};

		row_set(&r[i], 3, v);
		ch[i] = (struct target_change){'u', r[i].cells};
	}
	apply_tx(f, &tb.t, ch, N);
	assert_value(f->c, "20", "SELECT COUNT(*) FROM large");
	assert_value(f->c, "20", "SELECT COUNT(*) FROM large WHERE LENGTH(t) = 1048576 AND LENGTH(b) = 1048576");
	got = my_value(f->c, "SELECT t FROM large WHERE id = 13");
	assert_non_null(got);
	assert_true(strcmp(got, text) == 0);
	free(got);
	got = my_value(f->c, "SELECT HEX(b) FROM large WHERE id = 19");
	assert_non_null(got);
	assert_true(strcmp(got, want_hex) == 0);
	free(got);
	assert_value(f->c, "1", "SELECT COUNT(DISTINCT MD5(b)) FROM large");
	for (int i = 0; i < N; i++)
		row_free(&r[i]);
	free(text);
	free(hex);
	free(want_hex);
}

/* A row bigger than max_allowed_packet is a non-retriable error saying what to raise. */
static void test_row_too_large(void **state)
{
	static const struct colspec specs[] = {{"id", 23, -1, true, NULL}, {"t", 25, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	struct row r;
	struct target_change ch;
	struct cerr err = {0};
	char *text = malloc(300000);
	char *old = my_value(f->c, "SELECT @@GLOBAL.max_allowed_packet");
	int rc;

	assert_non_null(text);
	memset(text, 'x', 299999);
	text[299999] = '\0';
	/* only new sessions see a new global value: reconnect the target after setting it */
	my_exec(f->c, "SET GLOBAL max_allowed_packet = 262144");
	rc = target_connect(f->t, &err);
	my_exec(f->c, "SET GLOBAL max_allowed_packet = %s", old);
	must(rc, &err, "connect");
	tbl_init(&tb, "big", specs, 2);
	prepare(f, &tb.t, true);
	{
		json_t *v[] = {json_integer(1), json_string(text)};

		row_set(&r, 2, v);
	}
	ch = (struct target_change){'u', r.cells};
	err = apply_fail(f, &tb.t, &ch, 1);
	assert_false(err.retriable);
	assert_contains(err.msg, "max_allowed_packet");
	row_free(&r);
	free(text);
	free(old);
}

/* truncate deletes every row inside the transaction: a rollback brings them back. */
static void test_truncate(void **state)
{
	static const struct colspec specs[] = {{"id", 23, -1, true, NULL}, {"v", 25, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	struct row r[3];
	struct target_change ch[3];
	struct cerr err = {0};

	tbl_init(&tb, "trunc", specs, 2);
	prepare(f, &tb.t, true);
	for (int i = 0; i < 3; i++) {
		json_t *v[] = {json_integer(i), json_string("v")};

		row_set(&r[i], 2, v);
		ch[i] = (struct target_change){'u', r[i].cells};
	}
	apply_tx(f, &tb.t, ch, 3);
	must(target_begin(f->t, &err), &err, "begin");
	must(target_truncate(f->t, &tb.t, &err), &err, "truncate");
	target_rollback(f->t);
	assert_value(f->c, "3", "SELECT COUNT(*) FROM trunc");
	must(target_begin(f->t, &err), &err, "begin");
	must(target_truncate(f->t, &tb.t, &err), &err, "truncate");
	must(target_apply(f->t, &tb.t, ch + 2, 1, &err), &err, "apply after truncate");
	must(target_commit(f->t, &err), &err, "commit");
	assert_value(f->c, "2", "SELECT GROUP_CONCAT(id) FROM trunc");
	/* writes outside a transaction are refused */
	assert_int_equal(target_truncate(f->t, &tb.t, &err), -1);
	assert_false(err.retriable);
	assert_int_equal(target_apply(f->t, &tb.t, ch, 1, &err), -1);
	assert_contains(err.msg, "outside a transaction");
	for (int i = 0; i < 3; i++)
		row_free(&r[i]);
}

/* Positions go in the same transaction as the rows: a rollback drops both, a commit keeps both; they are
 * upserted per (sink, topic, partition) and loaded per sink. */
static void test_positions(void **state)
{
	static const struct colspec specs[] = {{"id", 23, -1, true, NULL}, {"v", 25, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	struct row r;
	struct target_change ch;
	struct cerr err = {0};
	struct target_position pos[3] = {
		{"monolith.public.orders", 0, 41, 0x16B3748, 3},
		{"monolith.public.orders", 3, 7, 0x16B3800, 1},
		{"monolith.public.Orders", 0, 5, 0x1000000000LL, 0}, /* topic names are case-sensitive */
	}, *got = NULL;
	size_t n = 0;

	tbl_init(&tb, "pos", specs, 2);
	prepare(f, &tb.t, true);
	{
		json_t *v[] = {json_integer(1), json_string("v")};

		row_set(&r, 2, v);
	}
	ch = (struct target_change){'u', r.cells};

	must(target_begin(f->t, &err), &err, "begin");
	must(target_apply(f->t, &tb.t, &ch, 1, &err), &err, "apply");
	must(target_store_positions(f->t, f->sink.name, pos, 3, &err), &err, "store");
	target_rollback(f->t);
	assert_value(f->c, "0", "SELECT COUNT(*) FROM pos");
	assert_value(f->c, "0", "SELECT COUNT(*) FROM cleave_positions");
	must(target_load_positions(f->t, f->sink.name, &got, &n, &err), &err, "load");
	assert_int_equal(n, 0);
	target_positions_free(got, n);

	must(target_begin(f->t, &err), &err, "begin");
	must(target_apply(f->t, &tb.t, &ch, 1, &err), &err, "apply");
	must(target_store_positions(f->t, f->sink.name, pos, 3, &err), &err, "store");
	must(target_store_positions(f->t, "another", pos, 1, &err), &err, "store other sink");
	must(target_commit(f->t, &err), &err, "commit");
	assert_value(f->c, "1", "SELECT COUNT(*) FROM pos");
	assert_value(f->c, "3", "SELECT COUNT(*) FROM cleave_positions WHERE sink = '%s'", f->sink.name);
	assert_value(f->c, "23803720", "SELECT commit_lsn FROM cleave_positions WHERE sink = '%s'"
	                               " AND topic = 'monolith.public.orders' AND kafka_partition = 0", f->sink.name);
	/* updated_at is UTC */
	assert_value(f->c, "0", "SELECT COUNT(*) FROM cleave_positions WHERE updated_at < UTC_TIMESTAMP(6) - INTERVAL 1"
	                        " HOUR OR updated_at > UTC_TIMESTAMP(6) + INTERVAL 1 MINUTE");

	/* move one partition on */
	pos[1].offset = 8;
	pos[1].commit_lsn = 0x16B3900;
	pos[1].seq = 0;
	must(target_begin(f->t, &err), &err, "begin");
	must(target_store_positions(f->t, f->sink.name, pos + 1, 1, &err), &err, "store");
	must(target_commit(f->t, &err), &err, "commit");

	must(target_load_positions(f->t, f->sink.name, &got, &n, &err), &err, "load");
	assert_int_equal(n, 3);
	/* ordered by topic (binary), partition */
	assert_string_equal(got[0].topic, "monolith.public.Orders");
	assert_int_equal(got[0].offset, 5);
	assert_int_equal(got[0].commit_lsn, 0x1000000000LL);
	assert_string_equal(got[1].topic, "monolith.public.orders");
	assert_int_equal(got[1].partition, 0);
	assert_int_equal(got[1].offset, 41);
	assert_int_equal(got[1].commit_lsn, 0x16B3748);
	assert_int_equal(got[1].seq, 3);
	assert_int_equal(got[2].partition, 3);
	assert_int_equal(got[2].offset, 8);
	assert_int_equal(got[2].commit_lsn, 0x16B3900);
	assert_int_equal(got[2].seq, 0);
	target_positions_free(got, n);
	must(target_load_positions(f->t, "nobody", &got, &n, &err), &err, "load");
	assert_int_equal(n, 0);
	target_positions_free(got, n);
	row_free(&r);
}

/* The id of the target's connection: the only other session using the test's database. */
static long long target_conn_id(struct fx *f)
{
	return my_int(f->c, testenv_fmt("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '%s'"
	                                 " AND ID <> CONNECTION_ID()", f->db));
}

/* A killed connection (as after a server restart) gives retriable errors, loses the open transaction, and
 * connect() recovers. */
static void test_connection_killed(void **state)
{
	static const struct colspec specs[] = {{"id", 23, -1, true, NULL}, {"v", 25, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	struct row r;
	struct target_change ch;
	struct cerr err = {0};
	struct target_position pos = {"topic", 0, 1, 2, 3}, *got = NULL;
	size_t n = 0;

	tbl_init(&tb, "killed", specs, 2);
	prepare(f, &tb.t, true);
	{
		json_t *v[] = {json_integer(1), json_string("v")};

		row_set(&r, 2, v);
	}
	ch = (struct target_change){'u', r.cells};

	/* killed between statements of a transaction */
	must(target_begin(f->t, &err), &err, "begin");
	must(target_apply(f->t, &tb.t, &ch, 1, &err), &err, "apply");
	my_exec(f->c, "KILL %lld", target_conn_id(f));
	assert_int_equal(target_store_positions(f->t, f->sink.name, &pos, 1, &err), -1);
	assert_true(err.retriable);
	target_rollback(f->t);
	assert_value(f->c, "0", "SELECT COUNT(*) FROM killed");

	/* still broken until connect() */
	assert_int_equal(target_begin(f->t, &err), -1);
	assert_true(err.retriable);
	must(target_connect(f->t, &err), &err, "reconnect");
	apply_tx(f, &tb.t, &ch, 1);
	assert_value(f->c, "1", "SELECT COUNT(*) FROM killed");

	/* killed while idle: the commit-less begin fails retriably */
	my_exec(f->c, "KILL %lld", target_conn_id(f));
	assert_int_equal(target_begin(f->t, &err), -1);
	assert_true(err.retriable);
	must(target_connect(f->t, &err), &err, "reconnect");
	must(target_load_positions(f->t, f->sink.name, &got, &n, &err), &err, "load after reconnect");
	assert_int_equal(n, 0);
	target_positions_free(got, n);
	row_free(&r);
}

/* A lock wait timeout (another transaction holds the row) is retriable, and the retry succeeds once the
 * lock is gone. */
static void test_lock_wait_retriable(void **state)
{
	static const struct colspec specs[] = {{"id", 23, -1, true, NULL}, {"v", 25, -1, false, NULL}};
	struct fx *f = *state;
	struct tbl tb;
	struct row r;
	struct target_change ch;
	struct cerr err = {0};
	MYSQL *holder;

	tbl_init(&tb, "locked", specs, 2);
	prepare(f, &tb.t, true);
	/* A 1 s wait for the target's session. MariaDB copies InnoDB's session variables from the global ones
	 * when a session first uses them, not when it connects: the global value stays until teardown. */
	f->lock_wait = my_value(f->c, "SELECT @@GLOBAL.innodb_lock_wait_timeout");
	my_exec(f->c, "SET GLOBAL innodb_lock_wait_timeout = 1");
	must(target_connect(f->t, &err), &err, "connect");
	holder = my_connect(f->db);
	my_exec(holder, "START TRANSACTION");
	my_exec(holder, "INSERT INTO locked VALUES (1, 'holder')");
	{
		json_t *v[] = {json_integer(1), json_string("sink")};

		row_set(&r, 2, v);
	}
	ch = (struct target_change){'u', r.cells};
	err = apply_fail(f, &tb.t, &ch, 1);
	assert_true(err.retriable);
	assert_contains(err.msg, "error 1205");
	my_exec(holder, "ROLLBACK");
	mysql_close(holder);
	apply_tx(f, &tb.t, &ch, 1);
	assert_value(f->c, "sink", "SELECT v FROM locked WHERE id = 1");
	row_free(&r);
}

/* Connection failures: a closed port is retriable, a wrong password is not, and neither message shows the
 * password; a URL without a database is refused at once. */
static void test_connect_errors(void **state)
{
	struct cfg_sink sink;
	struct target *t;
	struct cerr err = {0};
	const char *host = testenv_get("CLEAVE_TEST_MYSQL_HOST"), *port = testenv_get("CLEAVE_TEST_MYSQL_PORT");

	(void)state;
	memset(&sink, 0, sizeof sink);
	sink.name = "errs";
	sink.type = CFG_SINK_MYSQL;

	sink.dsn = (char *)"mysql://root:S3cretPw@127.0.0.1:1/db";
	t = target_new(&sink, &err);
	assert_non_null(t);
	assert_int_equal(target_connect(t, &err), -1);
	assert_true(err.retriable);
	assert_null(strstr(err.msg, "S3cretPw"));
	assert_contains(err.msg, "127.0.0.1:1");
	/* not connected: every operation fails retriably */
	assert_int_equal(target_begin(t, &err), -1);
	assert_true(err.retriable);
	target_free(t);

	sink.dsn = (char *)testenv_fmt("mysql://root:S3cretPw@%s:%s/mysql", host, port);
	t = target_new(&sink, &err);
	assert_non_null(t);
	assert_int_equal(target_connect(t, &err), -1);
	assert_false(err.retriable); /* access denied: the config is wrong */
	assert_null(strstr(err.msg, "S3cretPw"));
	assert_contains(err.msg, "Access denied");
	target_free(t);

	sink.dsn = (char *)testenv_fmt("mysql://root@%s:%s/", host, port);
	assert_null(target_new(&sink, &err));
	assert_contains(err.msg, "names no database");
}

/* Throughput of 100k upserts in transactions of 5000 (printed, not asserted). */
static void test_throughput(void **state)
{
	static const struct colspec specs[] = {
		{"id", 20, -1, true, NULL}, {"customer", 23, -1, false, NULL}, {"status", 1043, 20 + 4, false, NULL},
		{"total", 1700, NUMERIC_TYPMOD(12, 2), false, NULL}, {"created", 1184, -1, false, NULL},
		{"note", 25, -1, false, NULL},
	};
	struct fx *f = *state;
	struct tbl tb;
	enum { N = 100000, BATCH = 5000 };
	struct row *r = calloc(BATCH, sizeof *r);
	struct target_change *ch = calloc(BATCH, sizeof *ch);
	struct timespec t0, t1, c0, c1;
	double secs[2], cpu[2];

	assert_non_null(r);
	assert_non_null(ch);
	tbl_init(&tb, "bench", specs, 6);
	prepare(f, &tb.t, true);
	/* pass 0 inserts, pass 1 updates the same keys */
	for (int pass = 0; pass < 2; pass++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		for (int b = 0; b < N / BATCH; b++) {
			for (int i = 0; i < BATCH; i++) {
				long long id = (long long)b * BATCH + i;
				json_t *v[] = {json_integer(id), json_integer(id % 977),
				               json_string(pass ? "shipped" : "new"),
				               json_sprintf("%lld.%02d", id, pass),
				               json_integer(1710074096123456LL + id),
				               json_string("a short note about the order")};

				row_set(&r[i], 6, v);
				ch[i] = (struct target_change){'u', r[i].cells};
			}
			apply_tx(f, &tb.t, ch, BATCH);
			for (int i = 0; i < BATCH; i++)
				row_free(&r[i]);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
		secs[pass] = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		cpu[pass] = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	}
	assert_value(f->c, "100000", "SELECT COUNT(*) FROM bench WHERE status = 'shipped'");
	assert_value(f->c, "99999.01", "SELECT CAST(total AS CHAR) FROM bench WHERE id = 99999");
	/* the client's CPU time includes building the rows' JSON in this test, under the sanitizers */
	printf("throughput: %d upserts in transactions of %d: inserts %.0f rows/s (%.2f s, client CPU %.2f s),"
	       " updates %.0f rows/s (%.2f s, client CPU %.2f s)\n", N, BATCH, N / secs[0], secs[0], cpu[0],
	       N / secs[1], secs[1], cpu[1]);
	free(r);
	free(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_every_type, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_text_keys, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_existing_compatible, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_existing_incompatible, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_existing_ci_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_upsert_every_type, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unholdable_values, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unchanged, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_repeated_keys_and_deletes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_many_deletes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_large_values, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_row_too_large, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_truncate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_positions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connection_killed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lock_wait_retriable, fx_setup, fx_teardown),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test_setup_teardown(test_throughput, fx_setup, fx_teardown),
	};
	int failed;

	/* the client library's global state, freed at the end so LeakSanitizer sees only our own leaks */
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "mysql_library_init failed\n");
		return 1;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	mysql_library_end();
	return failed;
}
