/* test_target_pg.c: the PostgreSQL engine of sinks/target.h against the real PostgreSQL 15 that
 * tests/run.sh starts. Each test gets a fresh database; results are checked with independent SQL (the
 * stored values' text forms, format_type, pg_index), never with the target's own code. Values are given
 * as cleave's decoded events carry them (schema/avro_decode.h: dates as days, times and timestamps as
 * microseconds, ±infinity as the integer extremes, NaN/Infinity as strings, bytea as "\\x..."). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinks/target.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

/* numeric(p,s)'s typmod as PostgreSQL stores it */
#define NUMERIC_TYPMOD(p, s) ((((p) << 16) | (s)) + 4)
/* varchar(n) / char(n) */
#define CHAR_TYPMOD(n) ((n) + 4)

#define MAXCOLS 32

struct fx {
	const char *db;
	PGconn *c;          /* the test's own connection, for checking */
	struct cfg_sink sink;
	struct target *t;
	struct cerr err;
	json_t **pool;      /* JSON values the test made, released in teardown */
	size_t npool, cap;
	struct coltype types[4][MAXCOLS];
	struct target_column cols[4][MAXCOLS];
};

/* Fails the test with the target's error unless call returned 0. */
#define OK(f, call) \
	do { \
		if ((call) != 0) \
			fail_msg("%s failed: %s", #call, (f)->err.msg); \
	} while (0)

/* Expects call to fail, with err's retriable flag as given and err's message containing each of the
 * NULL-terminated strings. */
static void check_error(struct fx *f, int rc, bool retriable, ...)
{
	va_list ap;
	const char *s;

	if (rc == 0)
		fail_msg("expected an error, got success");
	if (f->err.retriable != retriable)
		fail_msg("expected a %sretriable error, got: %s", retriable ? "" : "non-", f->err.msg);
	va_start(ap, retriable);
	while ((s = va_arg(ap, const char *)) != NULL)
		if (!strstr(f->err.msg, s)) {
			va_end(ap);
			fail_msg("error message lacks \"%s\": %s", s, f->err.msg);
		}
	va_end(ap);
	printf("  expected error: %s\n", f->err.msg);
	cerr_clear(&f->err);
}

static json_t *J(struct fx *f, json_t *v)
{
	if (f->npool == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		f->pool = realloc(f->pool, f->cap * sizeof *f->pool);
		assert_non_null(f->pool);
	}
	assert_non_null(v);
	f->pool[f->npool++] = v;
	return v;
}

static json_t *jint(struct fx *f, long long v) { return J(f, json_integer(v)); }
static json_t *jstr(struct fx *f, const char *s) { return J(f, json_string(s)); }
static json_t *jreal(struct fx *f, double d) { return J(f, json_real(d)); }
static json_t *jjson(struct fx *f, const char *text) { return J(f, json_loads(text, JSON_DECODE_ANY, NULL)); }

static struct target_cell V(json_t *v) { return (struct target_cell){TARGET_VALUE, v}; }
static const struct target_cell NUL = {TARGET_NULL, NULL};
static const struct target_cell UNCH = {TARGET_UNCHANGED, NULL};

struct coldef {
	const char *name;
	uint32_t oid;
	int32_t typmod;
	bool key;
};

/* A target_table in slot `slot` of the fixture from column definitions. */
static struct target_table mktable(struct fx *f, int slot, const char *name, const struct coldef *defs, int n)
{
	assert_true(n <= MAXCOLS);
	for (int i = 0; i < n; i++) {
		coltype_from_pg(defs[i].oid, defs[i].typmod, &f->types[slot][i]);
		f->cols[slot][i] = (struct target_column){.name = defs[i].name, .type = f->types[slot][i], .key = defs[i].key};
	}
	return (struct target_table){name, n, f->cols[slot]};
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->db = pgtest_create_db();
	f->c = pgtest_connect(f->db);
	pgtest_exec(f->c, "SET timezone = 'UTC'; SET lock_timeout = '5s'");
	f->sink.name = (char *)testenv_unique("tpg");
	f->sink.type = CFG_SINK_POSTGRES;
	f->sink.dsn = (char *)pgtest_dsn(f->db);
	f->t = target_new(&f->sink, &f->err);
	if (!f->t)
		fail_msg("target_new: %s", f->err.msg);
	OK(f, target_connect(f->t, &f->err));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	target_free(f->t);
	PQfinish(f->c);
	pgtest_drop_db(f->db);
	for (size_t i = 0; i < f->npool; i++)
		json_decref(f->pool[i]);
	free(f->pool);
	free(f);
	return 0;
}

/* begin, apply, commit */
static void apply_tx(struct fx *f, const struct target_table *tbl, const struct target_change *ch, size_t n)
{
	OK(f, target_begin(f->t, &f->err));
	OK(f, target_apply(f->t, tbl, ch, n, &f->err));
	OK(f, target_commit(f->t, &f->err));
}

/* The one value of `sql` (text form) must be `expected` (NULL: SQL NULL). */
static void check_value(PGconn *c, const char *expected, const char *sql)
{
	char *v = pgtest_value(c, "%s", sql);

	if (!expected && v)
		fail_msg("%s: expected NULL, got %.200s", sql, v);
	if (expected && !v)
		fail_msg("%s: expected %.200s, got NULL", sql, expected);
	if (expected && strcmp(v, expected) != 0)
		fail_msg("%s:\n  expected %.300s\n  got      %.300s", sql, expected, v);
	free(v);
}

/* Records in table `writes` how each row of `table` was written: the statement (COPY or INSERT) and the
 * trigger operation (INSERT or UPDATE). writes_sql counts them. */
static void log_writes(struct fx *f, const char *table)
{
	pgtest_exec(f->c, "CREATE TABLE writes (how text);"
	                  " CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
	                  " INSERT INTO writes VALUES (split_part(ltrim(current_query()), ' ', 1) || ' ' || TG_OP);"
	                  " RETURN NULL; END$$;"
	                  " CREATE TRIGGER log_write AFTER INSERT OR UPDATE ON %s FOR EACH ROW"
	                  " EXECUTE FUNCTION log_write()",
	            table);
}

static const char writes_sql[] = "SELECT coalesce(string_agg(how || ':' || n, ',' ORDER BY how), '')"
                                 " FROM (SELECT how, count(*) n FROM writes GROUP BY how) w";

/* --- the table with every SPEC.md §5 type --- */

static const struct coldef all_defs[] = {
	{"id", 20, -1, true},
	{"b", 16, -1, false},
	{"i2", 21, -1, false},
	{"i4", 23, -1, false},
	{"i8", 20, -1, false},
	{"f4", 700, -1, false},
	{"f8", 701, -1, false},
	{"nd", 1700, NUMERIC_TYPMOD(12, 2), false},
	{"num", 1700, -1, false},
	{"t", 25, -1, false},
	{"vc", 1043, CHAR_TYPMOD(40), false},
	{"ch", 1042, CHAR_TYPMOD(5), false},
	{"bt", 17, -1, false},
	{"d", 1082, -1, false},
	{"tm", 1083, -1, false},
	{"ts", 1114, -1, false},
	{"tz", 1184, -1, false},
	{"u", 2950, -1, false},
	{"js", 114, -1, false},
	{"jb", 3802, -1, false},
	{"en", 16500, -1, false}, /* a user-defined type (an enum in the source): its text form */
	{"a_int", 1007, -1, false},
	{"a_text", 1009, -1, false},
	{"a_num", 1231, NUMERIC_TYPMOD(6, 2), false},
	{"a_tz", 1185, -1, false},
	{"Name Q", 25, -1, false}, /* needs quoting */
};
#define NALL ((int)(sizeof all_defs / sizeof all_defs[0]))

/* what PostgreSQL's format_type says of each created column, in all_defs order */
static const char *const all_pg_types[NALL] = {
	"bigint", "boolean", "smallint", "integer", "bigint", "real", "double precision", "numeric(12,2)",
	"numeric", "text", "character varying(40)", "character(5)", "bytea", "date", "time without time zone",
	"timestamp without time zone", "timestamp with time zone", "uuid", "jsonb", "jsonb", "text", "integer[]",
	"text[]", "numeric(6,2)[]", "timestamp with time zone[]", "text",
};

static int all_col(const char *name)
{
	for (int i = 0; i < NALL; i++)
		if (strcmp(all_defs[i].name, name) == 0)
			return i;
	fail_msg("no column %s", name);
	return -1;
}

/* create_tables: one column per §5 type with the right PostgreSQL type, primary key on the key column;
 * preparing it again finds it compatible. */
static void test_create_all_types(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "all_types", all_defs, NALL);

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	for (int i = 0; i < NALL; i++)
		check_value(f->c, all_pg_types[i],
		             testenv_fmt("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid ="
		                         " 'all_types'::regclass AND attname = '%s'", all_defs[i].name));
	check_value(f->c, testenv_fmt("%d", NALL),
	             "SELECT count(*) FROM pg_attribute WHERE attrelid = 'all_types'::regclass AND attnum > 0");
	check_value(f->c, "id",
	             "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
	             " AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'all_types'::regclass AND i.indisprimary");
	/* cleave_positions came with connect, in the default schema */
	check_value(f->c, "public",
	            "SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = 'cleave_positions'");
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	OK(f, target_prepare_table(f->t, &tbl, false, &f->err));
}

/* A megabyte of text with every character an array literal, COPY data or a parameter could trip on. */
static char *big_text(size_t n)
{
	static const char pattern[] = "ab\"c\\d,{e} 'f' NULL \\N \xc3\xa9\n\t\r";
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = pattern[i % (sizeof pattern - 1)];
	/* do not end inside the two-byte é */
	if ((unsigned char)s[n - 1] == 0xc3)
		s[n - 1] = 'x';
	s[n] = '\0';
	return s;
}

/* Every type written as op gives (upserts 'u', or inserts 'c' that go in with COPY, as 32 more rows make
 * the run long enough): ordinary values, NULLs, empty strings and arrays, NaN and ±Infinity, ±infinity
 * dates and timestamps, BC dates, 24:00:00, arrays with NULL and quotes, a text "\N", 1 MB of text and of
 * bytea. */
static void check_all_types(void **state, char op)
{
	enum { N = 5 + 32 };
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "all_types", all_defs, NALL);
	struct target_cell rows[N][NALL];
	struct target_change ch[N];
	const size_t big = 1 << 20;
	size_t n = op == 'c' ? N : 5;
	char *text = big_text(big), *hex = malloc(2 * big + 3), *v;

	assert_non_null(hex);
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	log_writes(f, "all_types");
	for (size_t r = 0; r < n; r++) {
		for (int c = 0; c < NALL; c++)
			rows[r][c] = NUL;
		rows[r][0] = V(jint(f, r < 5 ? (long long)r + 1 : (long long)r + 100));
		ch[r] = (struct target_change){op, rows[r]};
	}
	/* 1: ordinary values of every type */
	rows[0][all_col("b")] = V(J(f, json_true()));
	rows[0][all_col("i2")] = V(jint(f, -32768));
	rows[0][all_col("i4")] = V(jint(f, 2147483647));
	rows[0][all_col("i8")] = V(jint(f, INT64_MIN));
	rows[0][all_col("f4")] = V(jreal(f, 1.5));
	rows[0][all_col("f8")] = V(jreal(f, 0.1));
	rows[0][all_col("nd")] = V(jstr(f, "-1234567890.12"));
	rows[0][all_col("num")] = V(jstr(f, "123456789012345678901234567890.000000000000000000001"));
	rows[0][all_col("t")] = V(jstr(f, ""));
	rows[0][all_col("vc")] = V(jstr(f, "say \"hi\", {x} \\ y"));
	rows[0][all_col("ch")] = V(jstr(f, "ab   "));
	rows[0][all_col("bt")] = V(jstr(f, "\\x00ff0a5c22"));
	rows[0][all_col("d")] = V(jint(f, 19723));
	rows[0][all_col("tm")] = V(jint(f, 86400000000LL)); /* 24:00:00 */
	rows[0][all_col("ts")] = V(jint(f, 1704164645123456LL));
	rows[0][all_col("tz")] = V(jint(f, 1704164645123456LL));
	rows[0][all_col("u")] = V(jstr(f, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
	rows[0][all_col("js")] = V(jstr(f, "{\"b\": [1, 2], \"a\": null}"));
	rows[0][all_col("jb")] = V(jstr(f, "[]"));
	rows[0][all_col("en")] = V(jstr(f, "happy"));
	rows[0][all_col("a_int")] = V(jjson(f, "[1, null, 3]"));
	rows[0][all_col("a_text")] =
	        V(jjson(f, "[\"a b\", null, \"q\\\"uote\", \"\", \"NULL\", \"back\\\\slash\", \"{}\", \",\"]"));
	rows[0][all_col("a_num")] = V(jjson(f, "[\"1.50\", null]"));
	rows[0][all_col("a_tz")] = V(jjson(f, "[0, null]"));
	rows[0][all_col("Name Q")] = V(jstr(f, "quoted column"));
	/* 2: NULL everywhere (the defaults above) but an empty array */
	rows[1][all_col("a_text")] = V(jjson(f, "[]"));
	/* 3 and 4: the special values */
	rows[2][all_col("f4")] = V(jstr(f, "NaN"));
	rows[2][all_col("f8")] = V(jstr(f, "-Infinity"));
	rows[2][all_col("num")] = V(jstr(f, "NaN"));
	rows[2][all_col("d")] = V(jint(f, INT32_MAX));
	rows[2][all_col("ts")] = V(jint(f, INT64_MAX));
	rows[2][all_col("tz")] = V(jint(f, INT64_MIN));
	rows[2][all_col("tm")] = V(jint(f, 0));
	rows[2][all_col("a_int")] = V(jjson(f, "[null]"));
	rows[3][all_col("f4")] = V(jstr(f, "Infinity"));
	rows[3][all_col("f8")] = V(jstr(f, "NaN"));
	rows[3][all_col("num")] = V(jstr(f, "-Infinity"));
	rows[3][all_col("d")] = V(jint(f, -735160)); /* 0044-03-15 BC */
	rows[3][all_col("ts")] = V(jint(f, -62167219200000000LL)); /* 0001-01-01 00:00:00 BC */
	rows[3][all_col("tz")] = V(jint(f, INT64_MAX));
	rows[3][all_col("t")] = V(jstr(f, "\\N"));
	/* 5: -infinity, and a megabyte each of text and bytea */
	rows[4][all_col("d")] = V(jint(f, INT32_MIN));
	rows[4][all_col("ts")] = V(jint(f, INT64_MIN));
	rows[4][all_col("t")] = V(jstr(f, text));
	strcpy(hex, "\\x");
	for (size_t i = 0; i < big; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", (unsigned)(i * 7 % 256));
	rows[4][all_col("bt")] = V(jstr(f, hex));

	apply_tx(f, &tbl, ch, n);
	check_value(f->c, op == 'c' ? "COPY INSERT:37" : "INSERT INSERT:5", writes_sql);

	{
		static const char *const expect1[][2] = {
			{"b", "true"},
			{"i2", "-32768"},
			{"i4", "2147483647"},
			{"i8", "-9223372036854775808"},
			{"f4", "1.5"},
			{"f8", "0.1"},
			{"nd", "-1234567890.12"},
			{"num", "123456789012345678901234567890.000000000000000000001"},
			{"t", ""},
			{"vc", "say \"hi\", {x} \\ y"},
			{"ch", "ab"},
			{"bt", "\\x00ff0a5c22"},
			{"d", "2024-01-01"},
			{"tm", "24:00:00"},
			{"ts", "2024-01-02 03:04:05.123456"},
			{"tz", "2024-01-02 03:04:05.123456+00"},
			{"u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
			{"js", "{\"a\": null, \"b\": [1, 2]}"}, /* json becomes jsonb (SPEC.md §5): keys in jsonb order */
			{"jb", "[]"},
			{"en", "happy"},
			{"a_int", "{1,NULL,3}"},
			{"a_text", "{\"a b\",NULL,\"q\\\"uote\",\"\",\"NULL\",\"back\\\\slash\",\"{}\",\",\"}"},
			{"a_num", "{1.50,NULL}"},
			{"a_tz", "{\"1970-01-01 00:00:00+00\",NULL}"},
			{"\"Name Q\"", "quoted column"},
		};
		for (size_t i = 0; i < sizeof expect1 / sizeof expect1[0]; i++)
			check_value(f->c, expect1[i][1],
			             testenv_fmt("SELECT %s::text FROM all_types WHERE id = 1", expect1[i][0]));
	}
	check_value(f->c, "0", "SELECT octet_length(t) FROM all_types WHERE id = 1"); /* empty, not NULL */
	check_value(f->c, "5", "SELECT octet_length(ch) FROM all_types WHERE id = 1");
	for (int c = 1; c < NALL; c++)
		check_value(f->c, strcmp(all_defs[c].name, "a_text") == 0 ? "{}" : NULL,
		             testenv_fmt("SELECT \"%s\"::text FROM all_types WHERE id = 2", all_defs[c].name));
	{
		static const char *const expect3[][3] = {
			{"f4", "NaN", "Infinity"},
			{"f8", "-Infinity", "NaN"},
			{"num", "NaN", "-Infinity"},
			{"d", "infinity", "0044-03-15 BC"},
			{"ts", "infinity", "0001-01-01 00:00:00 BC"},
			{"tz", "-infinity", "infinity"},
		};
		for (size_t i = 0; i < sizeof expect3 / sizeof expect3[0]; i++) {
			check_value(f->c, expect3[i][1],
			             testenv_fmt("SELECT %s::text FROM all_types WHERE id = 3", expect3[i][0]));
			check_value(f->c, expect3[i][2],
			             testenv_fmt("SELECT %s::text FROM all_types WHERE id = 4", expect3[i][0]));
		}
	}
	check_value(f->c, "\\N", "SELECT t FROM all_types WHERE id = 4");
	check_value(f->c, "00:00:00", "SELECT tm::text FROM all_types WHERE id = 3");
	check_value(f->c, "{NULL}", "SELECT a_int::text FROM all_types WHERE id = 3");
	check_value(f->c, "-infinity", "SELECT d::text FROM all_types WHERE id = 5");
	check_value(f->c, "-infinity", "SELECT ts::text FROM all_types WHERE id = 5");
	v = pgtest_value(f->c, "SELECT t FROM all_types WHERE id = 5");
	assert_non_null(v);
	assert_true(strcmp(v, text) == 0);
	free(v);
	v = pgtest_value(f->c, "SELECT bt::text FROM all_types WHERE id = 5");
	assert_non_null(v);
	assert_true(strcmp(v, hex) == 0);
	free(v);
	check_value(f->c, "1048576", "SELECT octet_length(bt) FROM all_types WHERE id = 5");
	free(text);
	free(hex);
}

static void test_upsert_all_types(void **state)
{
	check_all_types(state, 'u');
}

static void test_copy_all_types(void **state)
{
	check_all_types(state, 'c');
}

/* An existing table with compatible columns in another order, an extra column with a default, the key an
 * identity column (GENERATED ALWAYS: the source's values are written all the same), in a schema named as
 * schema.table; and, through the DSN's search_path, the same table unqualified with
 * cleave_positions created in the DSN's default schema. */
static void test_existing_table(void **state)
{
	struct fx *f = *state;
	static const struct coldef defs[] = {{"id", 20, -1, true}, {"name", 25, -1, false}, {"Qty", 23, -1, false}};
	struct target_table tbl = mktable(f, 0, "svc.items", defs, 3), tbl2 = tbl;
	struct target_cell r1[] = {V(jint(f, 7)), V(jstr(f, "seven")), V(jint(f, 70))};
	struct target_cell r2[] = {V(jint(f, 8)), NUL, V(jint(f, 80))};
	struct target_change ch[] = {{'u', r1}};
	struct target_change ch2[] = {{'u', r2}};
	struct cfg_sink sink2 = f->sink;
	struct target *t2;

	pgtest_exec(f->c, "CREATE SCHEMA svc; CREATE TABLE svc.items (extra text DEFAULT 'dflt', \"Qty\" integer,"
	                  " id bigint GENERATED ALWAYS AS IDENTITY, name text, PRIMARY KEY (id))");
	OK(f, target_prepare_table(f->t, &tbl, false, &f->err));
	apply_tx(f, &tbl, ch, 1);
	check_value(f->c, "7|seven|70|dflt",
	             "SELECT concat_ws('|', id, name, \"Qty\", extra) FROM svc.items");

	sink2.dsn = (char *)testenv_fmt("%s options='-csearch_path=svc'", pgtest_dsn(f->db));
	t2 = target_new(&sink2, &f->err);
	assert_non_null(t2);
	OK(f, target_connect(t2, &f->err));
	check_value(f->c, "t", "SELECT to_regclass('svc.cleave_positions') IS NOT NULL");
	tbl2.name = "items";
	OK(f, target_prepare_table(t2, &tbl2, false, &f->err));
	OK(f, target_begin(t2, &f->err));
	OK(f, target_apply(t2, &tbl2, ch2, 1, &f->err));
	OK(f, target_commit(t2, &f->err));
	target_free(t2);
	check_value(f->c, "7|seven|70,8||80", "SELECT string_agg(concat_ws('|', id, coalesce(name, ''), \"Qty\"), ','"
	                                       " ORDER BY id) FROM svc.items");
}

/* Tables that cannot hold the mapping are refused with what to do: missing table, missing column,
 * narrower types, another primary key, no primary key, a generated column, a view. */
static void test_incompatible_tables(void **state)
{
	struct fx *f = *state;
	static const struct coldef defs[] = {
		{"id", 20, -1, true},
		{"name", 25, -1, false},
		{"amount", 1700, NUMERIC_TYPMOD(12, 2), false},
	};
	struct target_table tbl = mktable(f, 0, "m0", defs, 3);

	tbl.name = "m_missing";
	check_error(f, target_prepare_table(f->t, &tbl, false, &f->err), false,
	             "target table m_missing does not exist; create it or set create_tables: true", NULL);
	check_value(f->c, NULL, "SELECT to_regclass('m_missing')::text");

	pgtest_exec(f->c, "CREATE TABLE m_nocol (id bigint PRIMARY KEY, amount numeric(12,2))");
	tbl.name = "m_nocol"; /* create_tables: false (true adds the column, below) */
	check_error(f, target_prepare_table(f->t, &tbl, false, &f->err), false, "m_nocol", "no column name",
	             "ADD COLUMN \"name\" text", NULL);

	pgtest_exec(f->c, "CREATE TABLE m_narrow (id bigint PRIMARY KEY, name text, amount numeric(5,2))");
	tbl.name = "m_narrow";
	check_error(f, target_prepare_table(f->t, &tbl, false, &f->err), false, "m_narrow", "column amount",
	             "numeric(5,2)", "numeric(12,2)", "ALTER COLUMN \"amount\" TYPE numeric(12,2)", NULL);

	pgtest_exec(f->c, "CREATE TABLE m_narrow_id (id integer PRIMARY KEY, name text, amount numeric(12,2))");
	tbl.name = "m_narrow_id";
	check_error(f, target_prepare_table(f->t, &tbl, false, &f->err), false, "m_narrow_id", "column id",
	             "has type integer", "bigint", NULL);

	pgtest_exec(f->c, "CREATE TABLE m_key (id bigint, name text, amount numeric(12,2), PRIMARY KEY (id, name))");
	tbl.name = "m_key";
	check_error(f, target_prepare_table(f->t, &tbl, true, &f->err), false, "m_key",
	             "primary key (id, name)", "mapping's key is (\"id\")", NULL);

	pgtest_exec(f->c, "CREATE TABLE m_nokey (id bigint, name text, amount numeric(12,2))");
	tbl.name = "m_nokey";
	check_error(f, target_prepare_table(f->t, &tbl, true, &f->err), false, "m_nokey", "has no primary key",
	             "ADD PRIMARY KEY (\"id\")", NULL);

	pgtest_exec(f->c, "CREATE TABLE m_gen (id bigint PRIMARY KEY, name text GENERATED ALWAYS AS ('x') STORED,"
	                  " amount numeric(12,2))");
	tbl.name = "m_gen";
	check_error(f, target_prepare_table(f->t, &tbl, true, &f->err), false, "m_gen", "column name",
	            "generated column", NULL);

	pgtest_exec(f->c,
	            "CREATE VIEW m_view AS SELECT 1::bigint AS id, 'x'::text AS name, 1.0::numeric(12,2) AS amount");
	tbl.name = "m_view";
	check_error(f, target_prepare_table(f->t, &tbl, true, &f->err), false, "m_view", "not a table", NULL);

	/* a rule on writes: upserts would fail (INSERT or UPDATE rules) or be rewritten */
	pgtest_exec(f->c, "CREATE TABLE m_rule (id bigint PRIMARY KEY, name text, amount numeric(12,2));"
	                  " CREATE RULE keep_rows AS ON DELETE TO m_rule DO INSTEAD NOTHING");
	tbl.name = "m_rule";
	check_error(f, target_prepare_table(f->t, &tbl, true, &f->err), false, "m_rule", "rules on writes (keep_rows)",
	            "drop them", NULL);

	/* a user who may not write the table */
	{
		const char *role = testenv_unique("tpg_role");
		struct cfg_sink weak = f->sink;
		struct target *t2;

		pgtest_exec(f->c, "CREATE ROLE %s LOGIN", role);
		weak.dsn = (char *)testenv_fmt("%s user=%s", pgtest_dsn(f->db), role);
		t2 = target_new(&weak, &f->err);
		assert_non_null(t2);
		OK(f, target_connect(t2, &f->err)); /* cleave_positions is there already */
		tbl.name = "m_narrow";
		check_error(f, target_prepare_table(t2, &tbl, true, &f->err), false, "m_narrow",
		            testenv_fmt("user %s may not", role), "GRANT SELECT, INSERT, UPDATE, DELETE ON", NULL);
		target_free(t2);
		pgtest_exec(f->c, "DROP ROLE %s", role);
	}

	/* nothing was created or changed */
	check_value(f->c, "8", "SELECT count(*) FROM pg_class WHERE relname LIKE 'm\\_%' AND relkind IN ('r', 'v')");
	check_value(f->c, "amount numeric(5,2)",
	             "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute"
	             " WHERE attrelid = 'm_narrow'::regclass AND attname = 'amount'");

	/* create_tables: true follows: the missing column added (nullable), the narrow ones widened */
	tbl.name = "m_nocol";
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	check_value(f->c, "text false", "SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull FROM pg_attribute"
	            " WHERE attrelid = 'm_nocol'::regclass AND attname = 'name'");
	tbl.name = "m_narrow";
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	check_value(f->c, "numeric(12,2)", "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
	            " WHERE attrelid = 'm_narrow'::regclass AND attname = 'amount'");
	tbl.name = "m_narrow_id";
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	check_value(f->c, "bigint", "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
	            " WHERE attrelid = 'm_narrow_id'::regclass AND attname = 'id'");
}

static const struct coldef kv_defs[] = {
	{"id", 23, -1, true},
	{"a", 25, -1, false},
	{"big", 25, -1, false},
	{"n", 23, -1, false},
};

static const char kv_rows_sql[] = "SELECT string_agg(concat_ws('|', id, coalesce(a, '<null>'), coalesce(big,"
                                  " '<null>'), coalesce(n::text, '<null>')), ',' ORDER BY id) FROM kv";

/* TARGET_UNCHANGED leaves the stored value (a new row gets NULL), also when changes of one apply leave
 * different columns unchanged, and when every non-key column is unchanged. */
static void test_unchanged(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell r1[] = {V(jint(f, 1)), V(jstr(f, "a1")), V(jstr(f, "B1")), V(jint(f, 1))};
	struct target_cell r2[] = {V(jint(f, 2)), V(jstr(f, "a2")), V(jstr(f, "B2")), V(jint(f, 2))};
	struct target_cell u1[] = {V(jint(f, 1)), V(jstr(f, "a1'")), UNCH, NUL};
	struct target_cell n3[] = {V(jint(f, 3)), V(jstr(f, "a3")), UNCH, V(jint(f, 3))};
	struct target_cell m4[] = {V(jint(f, 4)), V(jstr(f, "a4")), V(jstr(f, "B4")), V(jint(f, 4))};
	struct target_cell m1[] = {V(jint(f, 1)), V(jstr(f, "a1''")), UNCH, V(jint(f, 11))};
	struct target_cell m4b[] = {V(jint(f, 4)), V(jstr(f, "a4'")), UNCH, UNCH};
	struct target_cell m5[] = {V(jint(f, 5)), V(jstr(f, "a5")), V(jstr(f, "B5")), NUL};
	struct target_cell all2[] = {V(jint(f, 2)), UNCH, UNCH, UNCH};
	struct target_cell all6[] = {V(jint(f, 6)), UNCH, UNCH, UNCH};
	struct target_change c1[] = {{'u', r1}, {'u', r2}};
	struct target_change c2[] = {{'u', u1}, {'u', n3}};
	struct target_change c3[] = {{'u', m4}, {'u', m1}, {'u', m4b}, {'u', m5}};
	struct target_change c4[] = {{'u', all2}, {'u', all6}};

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	apply_tx(f, &tbl, c1, 2);
	apply_tx(f, &tbl, c2, 2);
	check_value(f->c, "1|a1'|B1|<null>,2|a2|B2|2,3|a3|<null>|3", kv_rows_sql);
	apply_tx(f, &tbl, c3, 4);
	check_value(f->c, "1|a1''|B1|11,2|a2|B2|2,3|a3|<null>|3,4|a4'|B4|4,5|a5|B5|<null>", kv_rows_sql);
	apply_tx(f, &tbl, c4, 2);
	check_value(f->c, "1|a1''|B1|11,2|a2|B2|2,3|a3|<null>|3,4|a4'|B4|4,5|a5|B5|<null>,6|<null>|<null>|<null>",
	             kv_rows_sql);
}

/* A key changed several times in one apply, with deletes and re-inserts between: the end state is that of
 * applying them one by one. */
static void test_repeated_keys(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell a[] = {V(jint(f, 1)), V(jstr(f, "x")), V(jstr(f, "B")), V(jint(f, 1))};
	struct target_cell b[] = {V(jint(f, 2)), V(jstr(f, "y")), V(jstr(f, "C")), V(jint(f, 2))};
	struct target_cell c[] = {V(jint(f, 1)), V(jstr(f, "z")), V(jstr(f, "D")), NUL};
	struct target_cell d2[] = {V(jint(f, 2)), NUL, NUL, NUL};
	struct target_cell e[] = {V(jint(f, 2)), V(jstr(f, "w")), NUL, V(jint(f, 5))};
	struct target_cell g[] = {V(jint(f, 1)), V(jstr(f, "v")), UNCH, V(jint(f, 6))};
	struct target_cell h[] = {V(jint(f, 1)), V(jstr(f, "u")), UNCH, V(jint(f, 7))};
	struct target_cell k[] = {V(jint(f, 3)), V(jstr(f, "k")), V(jstr(f, "K")), V(jint(f, 3))};
	struct target_cell d3[] = {V(jint(f, 3)), NUL, NUL, NUL};
	struct target_change ch[] = {{'u', a}, {'u', b}, {'u', c}, {'d', d2}, {'u', e}, {'u', g},
	                             {'u', h}, {'u', k}, {'d', d3}, {'d', d3}, {'u', a}, {'u', h}};

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	apply_tx(f, &tbl, ch, sizeof ch / sizeof ch[0]);
	check_value(f->c, "1|u|B|7,2|w|<null>|5", kv_rows_sql);
	/* the same key many times in one run of upserts */
	{
		struct target_cell rows[50][4];
		struct target_change many[50];

		for (int i = 0; i < 50; i++) {
			rows[i][0] = V(jint(f, i % 3 + 1));
			rows[i][1] = V(J(f, json_sprintf("v%d", i)));
			rows[i][2] = NUL;
			rows[i][3] = V(jint(f, i));
			many[i] = (struct target_change){'u', rows[i]};
		}
		apply_tx(f, &tbl, many, 50);
	}
	check_value(f->c, "1|v48|<null>|48,2|v49|<null>|49,3|v47|<null>|47", kv_rows_sql);
}

/* Sets change i of ch to an insert ('c') of row (id, "c<id>", NULL, id) in cells[i]. */
static void mkinsert(struct fx *f, struct target_change *ch, struct target_cell (*cells)[4], int i, int id)
{
	cells[i][0] = V(jint(f, id));
	cells[i][1] = V(J(f, json_sprintf("c%d", id)));
	cells[i][2] = NUL;
	cells[i][3] = V(jint(f, id));
	ch[i] = (struct target_change){'c', cells[i]};
}

/* Inserts of rows first .. first + n - 1 into ch[0..n). */
static void mkinserts(struct fx *f, struct target_change *ch, struct target_cell (*cells)[4], int n, int first)
{
	for (int k = 0; k < n; k++)
		mkinsert(f, ch, cells, k, first + k);
}

/* Inserts ('c'): runs of 32 and more go in with COPY, shorter ones and the upserts between them with
 * INSERT; a COPY that meets a row already there is rolled back to its savepoint and its rows upserted
 * (the next runs of the table too, for a while); a COPY that breaks a constraint reports it like an
 * upsert. */
static void test_inserts(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell cells[92][4];
	struct target_change ch[92];
	const char *sum_sql = "SELECT concat_ws('|', count(*), sum(id), sum(n), count(big), bool_and(a = 'c' || id))"
	                      " FROM kv";
	int k = 0;

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	log_writes(f, "kv");
	/* 40 inserts, an upsert, 10 inserts, a delete, 40 inserts */
	for (int id = 1; id <= 40; id++)
		mkinsert(f, ch, cells, k++, id);
	mkinsert(f, ch, cells, k, 41);
	ch[k++].op = 'u';
	for (int id = 42; id <= 51; id++)
		mkinsert(f, ch, cells, k++, id);
	mkinsert(f, ch, cells, k, 3);
	ch[k++].op = 'd';
	for (int id = 52; id <= 91; id++)
		mkinsert(f, ch, cells, k++, id);
	apply_tx(f, &tbl, ch, (size_t)k);
	check_value(f->c, "90|4183|4183|0|t", sum_sql);
	check_value(f->c, "COPY INSERT:80,INSERT INSERT:11", writes_sql);

	/* row 100 is there already: the COPY of 95..134 fails, and they are upserted */
	pgtest_exec(f->c, "DELETE FROM kv WHERE id > 3; INSERT INTO kv VALUES (100, 'old', 'old', 0); TRUNCATE writes");
	mkinserts(f, ch, cells, 40, 95);
	apply_tx(f, &tbl, ch, 40);
	check_value(f->c, "42|4583|4583|0|t", sum_sql);
	check_value(f->c, "INSERT INSERT:39,INSERT UPDATE:1", writes_sql);
	/* and for a while, the table's inserts are upserted without trying COPY */
	pgtest_exec(f->c, "TRUNCATE writes");
	mkinserts(f, ch, cells, 40, 200);
	apply_tx(f, &tbl, ch, 40);
	check_value(f->c, "INSERT INSERT:40", writes_sql);

	/* a constraint broken by one row of a COPY: the upsert's error, the transaction is lost */
	OK(f, target_connect(f->t, &f->err)); /* a new session forgets the pause */
	pgtest_exec(f->c, "ALTER TABLE kv ADD CONSTRAINT n_not_330 CHECK (n <> 330)");
	mkinserts(f, ch, cells, 40, 300);
	OK(f, target_begin(f->t, &f->err));
	check_error(f, target_apply(f->t, &tbl, ch, 40, &f->err), false, "table kv", "n_not_330",
	            "Failing row contains (330, c330, null, 330)", NULL);
	target_rollback(f->t);
	/* a value with no text form for its column: the COPY is cancelled, and the upsert names the row */
	cells[5][3] = V(jstr(f, "12x"));
	OK(f, target_begin(f->t, &f->err));
	check_error(f, target_apply(f->t, &tbl, ch, 40, &f->err), false, "table kv, column n, key ('305')", NULL);
	target_rollback(f->t);
	check_value(f->c, "0", "SELECT count(*) FROM kv WHERE id >= 300");
}

/* The server's log from byte `from` on (malloc'ed): the test server's postgres.log sits beside its data
 * directory (scripts/servers.sh). */
static char *server_log_from(long from)
{
	const char *log = testenv_fmt("%s/../postgres.log", testenv_get("CLEAVE_TEST_PG_DATADIR"));
	FILE *fp = fopen(log, "rb");
	char *text;
	size_t n;

	if (!fp)
		fail_msg("cannot read %s", log);
	fseek(fp, 0, SEEK_END);
	n = (size_t)(ftell(fp) - from);
	fseek(fp, from, SEEK_SET);
	text = calloc(n + 1, 1);
	assert_non_null(text);
	n = fread(text, 1, n, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

static long server_log_size(void)
{
	char *text = server_log_from(0);
	long n = (long)strlen(text);

	free(text);
	return n;
}

/* A table row-level security applies to, for the sink's user (a policy lets it write every row): inserts
 * are upserted, never sent with COPY (COPY FROM refuses such a table: the server's log would say so). */
static void test_row_security(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	const char *role = testenv_unique("tpg_rls");
	struct cfg_sink user = f->sink;
	struct target_cell cells[40][4];
	struct target_change ch[40];
	struct target *t2;
	long before;
	char *log;

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	log_writes(f, "kv");
	pgtest_exec(f->c, "CREATE ROLE %s LOGIN; GRANT SELECT, INSERT, UPDATE, DELETE ON kv TO %s;"
	                  " GRANT INSERT ON writes TO %s; ALTER TABLE kv ENABLE ROW LEVEL SECURITY;"
	                  " CREATE POLICY every_row ON kv TO %s USING (true) WITH CHECK (true)",
	            role, role, role, role);
	user.dsn = (char *)testenv_fmt("%s user=%s", pgtest_dsn(f->db), role);
	t2 = target_new(&user, &f->err);
	assert_non_null(t2);
	OK(f, target_connect(t2, &f->err));
	OK(f, target_prepare_table(t2, &tbl, false, &f->err));
	mkinserts(f, ch, cells, 40, 1);
	before = server_log_size();
	OK(f, target_begin(t2, &f->err));
	OK(f, target_apply(t2, &tbl, ch, 40, &f->err));
	OK(f, target_commit(t2, &f->err));
	target_free(t2);
	check_value(f->c, "40|820", "SELECT concat_ws('|', count(*), sum(n)) FROM kv");
	check_value(f->c, "INSERT INSERT:40", writes_sql);
	log = server_log_from(before);
	if (strstr(log, "row-level security"))
		fail_msg("the sink tried COPY into a table with row-level security:\n%s", log);
	free(log);
	pgtest_exec(f->c, "DROP OWNED BY %s; DROP ROLE %s", role, role);
}

/* At most 32 COPY runs (savepoints) in one transaction: 34 runs of 32 inserts, an upsert after each, go
 * in as 32 COPYs and one upsert of the rest; the next transaction copies again. */
static void test_copies_per_transaction(void **state)
{
	enum { RUNS = 34, N = RUNS * 33 };
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell(*cells)[4] = calloc(N, sizeof *cells);
	struct target_change *ch = calloc(N, sizeof *ch);

	assert_non_null(cells);
	assert_non_null(ch);
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	log_writes(f, "kv");
	for (int k = 0; k < N; k++) {
		mkinsert(f, ch, cells, k, k + 1);
		if (k % 33 == 32)
			ch[k].op = 'u';
	}
	apply_tx(f, &tbl, ch, N);
	check_value(f->c, "COPY INSERT:1024,INSERT INSERT:98", writes_sql);
	check_value(f->c, testenv_fmt("%d|%d", N, N * (N + 1) / 2), "SELECT concat_ws('|', count(*), sum(n)) FROM kv");
	pgtest_exec(f->c, "TRUNCATE writes; TRUNCATE kv");
	apply_tx(f, &tbl, ch, 33);
	check_value(f->c, "COPY INSERT:32,INSERT INSERT:1", writes_sql);
	free(cells);
	free(ch);
}

/* A database in LATIN1: values arrive as UTF-8, by upsert and by COPY, and are stored as the same
 * characters. */
static void test_latin1_database(void **state)
{
	struct fx *f = *state;
	const char *db = testenv_unique("tpg_latin1");
	struct cfg_sink sink = f->sink;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell cells[40][4];
	struct target_change ch[40];
	struct target *t;
	PGconn *c;

	pgtest_exec(f->c, "CREATE DATABASE %s ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0", db);
	sink.dsn = (char *)pgtest_dsn(db);
	t = target_new(&sink, &f->err);
	assert_non_null(t);
	OK(f, target_connect(t, &f->err));
	OK(f, target_prepare_table(t, &tbl, true, &f->err));
	mkinserts(f, ch, cells, 40, 1);
	cells[0][1] = V(jstr(f, "caf\xc3\xa9")); /* café */
	for (int pass = 0; pass < 2; pass++) { /* COPY, then upserts of the same rows */
		OK(f, target_begin(t, &f->err));
		OK(f, target_apply(t, &tbl, ch, 40, &f->err));
		OK(f, target_commit(t, &f->err));
		for (int k = 0; k < 40; k++)
			ch[k].op = 'u';
	}
	c = pgtest_connect(db);
	check_value(c, "\\x636166e9|4|40", "SELECT concat_ws('|', convert_to(a, 'LATIN1'), length(a),"
	                                   " (SELECT count(*) FROM kv)) FROM kv WHERE id = 1");
	PQfinish(c);
	target_free(t);
	pgtest_drop_db(db);
}

/* Deletes by a two-column key (text and integer), with keys that are not there; and, for truncate, DELETE
 * inside the transaction: a concurrent reader neither blocks nor sees the table empty before the commit. */
static void test_delete_and_truncate(void **state)
{
	struct fx *f = *state;
	static const struct coldef defs[] = {{"region", 25, -1, true}, {"id", 23, -1, true}, {"v", 25, -1, false}};
	struct target_table tbl = mktable(f, 0, "ck", defs, 3);
	const char *regions[] = {"eu", "us", "eu", "a\"b,c"};
	struct target_cell rows[4][3], del[3][3];
	struct target_change ins[4], dels[3];
	PGconn *reader;

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	for (int i = 0; i < 4; i++) {
		rows[i][0] = V(jstr(f, regions[i]));
		rows[i][1] = V(jint(f, i));
		rows[i][2] = V(J(f, json_sprintf("v%d", i)));
		ins[i] = (struct target_change){'u', rows[i]};
	}
	apply_tx(f, &tbl, ins, 4);
	check_value(f->c, "4", "SELECT count(*) FROM ck");
	for (int i = 0; i < 3; i++) {
		static const char *const keys[] = {"eu", "a\"b,c", "xx"};
		static const int ids[] = {0, 3, 9};

		del[i][0] = V(jstr(f, keys[i]));
		del[i][1] = V(jint(f, ids[i]));
		del[i][2] = i == 1 ? UNCH : NUL; /* a delete reads only the key */
		dels[i] = (struct target_change){'d', del[i]};
	}
	apply_tx(f, &tbl, dels, 3);
	check_value(f->c, "us/1/v1,eu/2/v2",
	            "SELECT string_agg(concat_ws('/', region, id, v), ',' ORDER BY id) FROM ck");

	reader = pgtest_connect(f->db);
	pgtest_exec(reader, "SET lock_timeout = '2s'");
	OK(f, target_begin(f->t, &f->err));
	OK(f, target_truncate(f->t, &tbl, &f->err));
	check_value(reader, "2", "SELECT count(*) FROM ck");
	OK(f, target_apply(f->t, &tbl, ins, 1, &f->err));
	OK(f, target_commit(f->t, &f->err));
	check_value(reader, "eu/0/v0", "SELECT string_agg(concat_ws('/', region, id, v), ',') FROM ck");
	PQfinish(reader);
}

static const char pos_sql[] = "SELECT coalesce(string_agg(concat_ws(':', topic, kafka_partition, kafka_offset,"
                              " commit_lsn, seq), ',' ORDER BY topic, kafka_partition), '') FROM cleave_positions"
                              " WHERE sink = '%s'";

/* Positions go with the rows: rolled back with them, committed with them; a later store updates them; a
 * second entry for one partition in a call wins; other sinks' positions are apart. */
static void test_positions(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell r1[] = {V(jint(f, 1)), V(jstr(f, "a")), NUL, NUL};
	struct target_change ch[] = {{'u', r1}};
	struct target_position p1[] = {{"top.a", 0, 10, 1000, 1}, {"top.a", 1, 11, 1001, 2}};
	struct target_position p2[] = {{"top.a", 0, 20, 2000, 3}, {"top.b", 3, 5, 1500, 0},
	                               {"top.a", 1, 12, 1002, 0}, {"top.a", 1, 13, 1003, 4}};
	struct target_position p3[] = {{"top.a", 0, 99, 99, 99}};
	struct target_position *got;
	size_t n;

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	OK(f, target_load_positions(f->t, f->sink.name, &got, &n, &f->err));
	assert_int_equal(n, 0);
	target_positions_free(got, n);

	OK(f, target_begin(f->t, &f->err));
	OK(f, target_apply(f->t, &tbl, ch, 1, &f->err));
	OK(f, target_store_positions(f->t, f->sink.name, p1, 2, &f->err));
	target_rollback(f->t);
	check_value(f->c, "0", "SELECT count(*) FROM kv");
	check_value(f->c, "", testenv_fmt(pos_sql, f->sink.name));

	OK(f, target_begin(f->t, &f->err));
	OK(f, target_apply(f->t, &tbl, ch, 1, &f->err));
	OK(f, target_store_positions(f->t, f->sink.name, p1, 2, &f->err));
	OK(f, target_commit(f->t, &f->err));
	check_value(f->c, "1", "SELECT count(*) FROM kv");
	check_value(f->c, "top.a:0:10:1000:1,top.a:1:11:1001:2", testenv_fmt(pos_sql, f->sink.name));

	OK(f, target_begin(f->t, &f->err));
	OK(f, target_store_positions(f->t, f->sink.name, p2, 4, &f->err));
	OK(f, target_store_positions(f->t, "other_sink", p3, 1, &f->err));
	OK(f, target_commit(f->t, &f->err));
	check_value(f->c, "top.a:0:20:2000:3,top.a:1:13:1003:4,top.b:3:5:1500:0", testenv_fmt(pos_sql, f->sink.name));
	check_value(f->c, "top.a:0:99:99:99", testenv_fmt(pos_sql, "other_sink"));

	OK(f, target_load_positions(f->t, f->sink.name, &got, &n, &f->err));
	assert_int_equal(n, 3);
	assert_string_equal(got[0].topic, "top.a");
	assert_int_equal(got[0].partition, 0);
	assert_int_equal(got[0].offset, 20);
	assert_int_equal(got[0].commit_lsn, 2000);
	assert_int_equal(got[0].seq, 3);
	assert_string_equal(got[1].topic, "top.a");
	assert_int_equal(got[1].partition, 1);
	assert_int_equal(got[1].offset, 13);
	assert_string_equal(got[2].topic, "top.b");
	assert_int_equal(got[2].partition, 3);
	assert_int_equal(got[2].commit_lsn, 1500);
	target_positions_free(got, n);
}

/* A constraint of the target's own (NOT NULL, CHECK) refuses a row: a non-retriable error naming the
 * table, the column or constraint and the key; after a rollback the target works on. A value that is not
 * of the column's type is refused the same way. */
static void test_constraint_violation(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell bad_null[] = {V(jint(f, 1)), NUL, NUL, V(jint(f, 1))};
	struct target_cell good[] = {V(jint(f, 1)), V(jstr(f, "x")), NUL, V(jint(f, 1))};
	struct target_cell bad_check[] = {V(jint(f, 2)), V(jstr(f, "y")), NUL, V(jint(f, -5))};
	struct target_change c1[] = {{'u', bad_null}};
	struct target_cell bad_type[] = {V(jint(f, 3)), V(jstr(f, "z")), NUL, V(jstr(f, "12x"))};
	struct target_change c2[] = {{'u', good}, {'u', bad_check}};
	struct target_change c3[] = {{'u', bad_type}};

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	pgtest_exec(f->c, "ALTER TABLE kv ALTER COLUMN a SET NOT NULL, ADD CONSTRAINT n_positive CHECK (n > 0)");

	OK(f, target_begin(f->t, &f->err));
	check_error(f, target_apply(f->t, &tbl, c1, 1, &f->err), false, "table kv", "(column a)",
	             "not-null constraint", "key ('1')", NULL);
	target_rollback(f->t);

	OK(f, target_begin(f->t, &f->err));
	check_error(f, target_apply(f->t, &tbl, c2, 2, &f->err), false, "table kv", "n_positive",
	             "Failing row contains (2, y, null, -5)", NULL);
	/* committing what an error aborted is refused, not silently turned into a rollback */
	check_error(f, target_commit(f->t, &f->err), false, "rolled back", NULL);

	apply_tx(f, &tbl, c2, 1);
	check_value(f->c, "1|x|<null>|1", kv_rows_sql);

	/* a value that is not of the column's type never reaches the server */
	OK(f, target_begin(f->t, &f->err));
	check_error(f, target_apply(f->t, &tbl, c3, 1, &f->err), false, "table kv", "column n", "key ('3')", NULL);
	target_rollback(f->t);
}

/* Statements stop at 64 MB of parameters: 70 rows of 1 MB go in two, and the first change of key 1, which
 * a later one in the same call replaces, is not written by the second statement. */
static void test_big_batch(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	enum { N = 71 };
	char *text = big_text(1 << 20);
	json_t *big = jstr(f, text);
	struct target_cell rows[N][4];
	struct target_change ch[N];

	free(text);
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	for (int i = 0; i < N; i++) {
		rows[i][0] = V(jint(f, i < N - 1 ? i + 1 : 1));
		rows[i][1] = i < N - 1 ? NUL : V(jstr(f, "small"));
		rows[i][2] = i < N - 1 ? V(big) : NUL;
		rows[i][3] = V(jint(f, i));
		ch[i] = (struct target_change){'u', rows[i]};
	}
	apply_tx(f, &tbl, ch, N);
	check_value(f->c, "70|69|1048576",
	            "SELECT concat_ws('|', count(*), count(big), max(octet_length(big))) FROM kv");
	check_value(f->c, "1|small|<null>|70", "SELECT concat_ws('|', id, a, coalesce(big, '<null>'), n) FROM kv"
	                                       " WHERE id = 1");
}

/* The target's session is killed mid-transaction, then the whole server restarts: retriable errors, and
 * connect() recovers. */
static void test_server_restart(void **state)
{
	struct fx *f = *state;
	struct target_table tbl = mktable(f, 0, "kv", kv_defs, 4);
	struct target_cell r1[] = {V(jint(f, 1)), V(jstr(f, "a")), NUL, NUL};
	struct target_cell r2[] = {V(jint(f, 2)), V(jstr(f, "b")), NUL, NUL};
	struct target_cell r3[] = {V(jint(f, 3)), V(jstr(f, "c")), NUL, NUL};
	struct target_change c1[] = {{'u', r1}}, c2[] = {{'u', r2}}, c3[] = {{'u', r3}};

	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	apply_tx(f, &tbl, c1, 1);

	OK(f, target_begin(f->t, &f->err));
	pgtest_exec(f->c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
	                  " AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
	check_error(f, target_apply(f->t, &tbl, c2, 1, &f->err), true, "table kv", NULL);
	target_rollback(f->t);
	OK(f, target_connect(f->t, &f->err));
	apply_tx(f, &tbl, c2, 1);
	/* the same for inserts that go in with COPY */
	{
		struct target_cell cells[40][4];
		struct target_change ch[40];

		mkinserts(f, ch, cells, 40, 1000);
		/* the session dies inside the COPY, at its 21st row */
		pgtest_exec(f->c, "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
		                  " IF NEW.id = 1020 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;"
		                  " RETURN NEW; END$$;"
		                  " CREATE TRIGGER die BEFORE INSERT ON kv FOR EACH ROW EXECUTE FUNCTION die()");
		OK(f, target_begin(f->t, &f->err));
		check_error(f, target_apply(f->t, &tbl, ch, 40, &f->err), true, "terminating connection", NULL);
		target_rollback(f->t);
		pgtest_exec(f->c, "DROP TRIGGER die ON kv");
		check_value(f->c, "0", "SELECT count(*) FROM kv WHERE id >= 1000");
		OK(f, target_connect(f->t, &f->err));
		apply_tx(f, &tbl, ch, 40);
		check_value(f->c, "40", "SELECT count(*) FROM kv WHERE id >= 1000");
		pgtest_exec(f->c, "DELETE FROM kv WHERE id >= 1000");
	}

	PQfinish(f->c);
	f->c = NULL;
	pgtest_server_stop("fast");
	check_error(f, target_begin(f->t, &f->err), true, NULL);
	target_rollback(f->t);
	check_error(f, target_connect(f->t, &f->err), true, "cannot connect", NULL);
	check_error(f, target_begin(f->t, &f->err), true, NULL);
	pgtest_server_start();
	f->c = pgtest_connect(f->db);
	OK(f, target_connect(f->t, &f->err));
	apply_tx(f, &tbl, c3, 1);
	check_value(f->c, "1|a|<null>|<null>,2|b|<null>|<null>,3|c|<null>|<null>", kv_rows_sql);
}

/* A DSN that does not parse is refused by target_new without echoing it (it may hold a password). */
static void test_bad_dsn(void **state)
{
	struct fx *f = *state;
	struct cfg_sink bad = f->sink;
	struct cerr err = {0};

	bad.dsn = (char *)"host=127.0.0.1 password='s3cret";
	assert_null(target_new(&bad, &err));
	assert_false(err.retriable);
	assert_non_null(strstr(err.msg, "cannot be parsed"));
	assert_null(strstr(err.msg, "s3cret"));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Throughput (printed, not asserted): 100,000 rows in transactions of 5,000, inserted then updated. */
static void test_throughput(void **state)
{
	struct fx *f = *state;
	static const struct coldef defs[] = {
		{"id", 20, -1, true},
		{"name", 25, -1, false},
		{"amount", 1700, NUMERIC_TYPMOD(12, 2), false},
		{"at", 1184, -1, false},
		{"flag", 16, -1, false},
		{"note", 1043, CHAR_TYPMOD(200), false},
	};
	enum { ROWS = 100000, BATCH = 5000, NC = 6 };
	struct target_table tbl = mktable(f, 0, "bench", defs, NC);
	struct target_cell *cells = calloc((size_t)ROWS * NC, sizeof *cells);
	struct target_change *ch = calloc(ROWS, sizeof *ch);

	assert_non_null(cells);
	assert_non_null(ch);
	OK(f, target_prepare_table(f->t, &tbl, true, &f->err));
	for (int pass = 0; pass < 2; pass++) {
		double t0;

		for (int i = 0; i < ROWS; i++) {
			struct target_cell *c = &cells[(size_t)i * NC];

			c[0] = V(jint(f, i));
			c[1] = V(J(f, json_sprintf("customer %d pass %d", i, pass)));
			c[2] = V(J(f, json_sprintf("%d.%02d", i * 3 + pass, i % 100)));
			c[3] = V(jint(f, 1704164645123456LL + (long long)i * 1000000));
			c[4] = V(J(f, json_boolean(i % 2)));
			c[5] = i % 10 ? V(jstr(f, "a note of moderate length, with \"quotes\" and, commas")) : NUL;
			ch[i] = (struct target_change){'u', c};
		}
		t0 = now_s();
		for (int b = 0; b < ROWS; b += BATCH) {
			struct target_position p = {"bench", 0, b + BATCH - 1, b, 0};

			OK(f, target_begin(f->t, &f->err));
			OK(f, target_apply(f->t, &tbl, &ch[b], BATCH, &f->err));
			OK(f, target_store_positions(f->t, f->sink.name, &p, 1, &f->err));
			OK(f, target_commit(f->t, &f->err));
		}
		printf("target_pg throughput: %s %d rows in transactions of %d: %.0f rows/s\n",
		       pass ? "updating" : "inserting", ROWS, BATCH, ROWS / (now_s() - t0));
		check_value(f->c, testenv_fmt("%d", ROWS),
		             testenv_fmt("SELECT count(*) FROM bench WHERE name LIKE '%%pass %d'", pass));
	}
	check_value(f->c, "customer 99990 pass 1|299971.90|2024-01-03 06:50:35.123456+00|f",
	             "SELECT concat_ws('|', name, amount, at, flag, note) FROM bench WHERE id = 99990");
	free(cells);
	free(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_all_types, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_upsert_all_types, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_all_types, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_row_security, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_existing_table, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_incompatible_tables, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unchanged, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_repeated_keys, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_inserts, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copies_per_transaction, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_latin1_database, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_truncate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_positions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_constraint_violation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_big_batch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_server_restart, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_dsn, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_throughput, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
