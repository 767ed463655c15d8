/* test_capture_types.c: every type of SPEC.md §5 through `cleave capture` into Kafka and back: one table
 * with a column of each type, rows with typical values, NULLs, empty values, integer limits, NaN and
 * ±Infinity, a 45-digit numeric, dates and timestamps before 1970, BC and ±infinity, a non-UTC timestamptz,
 * time 24:00:00, arrays with NULL and quoted items, and 1 MB text and bytea values. Insert, update, delete
 * and truncate must give exactly the expected envelopes (schema/avro_decode.h says how Avro reads as JSON).
 * Also: an unchanged TOASTed value arrives as {"unchanged": true}, never as a made-up value; and a NaN item
 * of a numeric(p,s)[] does not stop capture. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/capturetest.h"
#include "tests/support/kafkatest.h"
#include "tests/support/pgtest.h"
#include "tests/support/proc.h"
#include "tests/support/testenv.h"

#define TYPES_TABLE "public.types"
#define TYPES_WAIT_MS 60000
#define TYPES_BIG_LEN (1024 * 1024) /* the 1 MB text and bytea */

/* Every column but id and rev is one §5 type; rev is what the update changes. nl is a numeric(p,s) wider
 * than 38 digits (an Avro decimal of more than 16 bytes). e (enum), dm (domain), iv and ip (built-in types
 * carried as text, docs/types.md) travel as their text form. */
static const char types_ddl[] =
	"CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE DOMAIN posint AS integer CHECK (VALUE > 0);"
	" CREATE TABLE types (id integer PRIMARY KEY, rev integer NOT NULL DEFAULT 0, b boolean, i2 smallint,"
	" i4 integer, i8 bigint, f4 real, f8 double precision, n numeric(12,3), nl numeric(45,5), nu numeric,"
	" t text, vc varchar(10), ch char(4), bin bytea, d date, tm time, ts timestamp, tz timestamptz, u uuid,"
	" j json, jb jsonb, arr_i integer[], arr_t text[], arr_n numeric(12,3)[], e mood, dm posint, iv interval,"
	" ip inet)";

static const char *const types_cols[] = {
	"b", "i2", "i4", "i8", "f4", "f8", "n", "nl", "nu", "t", "vc", "ch", "bin", "d", "tm", "ts", "tz", "u", "j",
	"jb", "arr_i", "arr_t", "arr_n", "e", "dm", "iv", "ip",
};

/* One row: the columns set (the others are NULL), their SQL values, and the JSON of those columns as an
 * event must carry them. */
struct types_row {
	int id;
	const char *cols;
	const char *vals;
	const char *json;
};

static const struct types_row types_rows[] = {
	/* typical values; the timestamptz is written at +02 and arrives as UTC micros */
	{1,
	 "b, i2, i4, i8, f4, f8, n, nl, nu, t, vc, ch, bin, d, tm, ts, tz, u, j, jb, arr_i, arr_t, arr_n, e, dm, iv,"
	 " ip",
	 "true, 12, 1234, 1234567890123, 0.1, 0.1, 12.3, 1234.5, 12.30, E'line1\\nline2\\t\"q\" \\\\ é✓', 'abc',"
	 " 'ab', '\\x0aff00', '2024-02-29', '13:45:30.123456', '2024-02-29 13:45:30.123456',"
	 " '2024-02-29 13:45:30.123456+02', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"b\": 1, \"a\": [1, 2]}',"
	 " '{\"b\": 1, \"a\": [1, 2]}', '{1,2,3}', '{a,b}', '{1.5,2.25}', 'happy', 42, '1 day 2 hours',"
	 " '192.168.0.1/24'",
	 "{\"b\": true, \"i2\": 12, \"i4\": 1234, \"i8\": 1234567890123, \"f4\": 0.10000000149011612, \"f8\": 0.1,"
	 " \"n\": \"12.300\", \"nl\": \"1234.50000\", \"nu\": \"12.30\", \"t\": \"line1\\nline2\\t\\\"q\\\" \\\\ é✓\","
	 " \"vc\": \"abc\", \"ch\": \"ab  \", \"bin\": \"\\\\x0aff00\", \"d\": 19782, \"tm\": 49530123456,"
	 " \"ts\": 1709214330123456, \"tz\": 1709207130123456, \"u\": \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
	 " \"j\": \"{\\\"b\\\": 1, \\\"a\\\": [1, 2]}\", \"jb\": \"{\\\"a\\\": [1, 2], \\\"b\\\": 1}\","
	 " \"arr_i\": [1, 2, 3], \"arr_t\": [\"a\", \"b\"], \"arr_n\": [\"1.500\", \"2.250\"], \"e\": \"happy\","
	 " \"dm\": \"42\", \"iv\": \"1 day 02:00:00\", \"ip\": \"192.168.0.1/24\"}"},
	/* NULL in every column */
	{2, NULL, NULL, "{}"},
	/* empty string, empty bytea, empty arrays; char(4) pads */
	{3, "t, vc, ch, bin, j, jb, arr_i, arr_t, arr_n", "'', '', '', '', '{}', '[]', '{}', '{}', '{}'",
	 "{\"t\": \"\", \"vc\": \"\", \"ch\": \"    \", \"bin\": \"\\\\x\", \"j\": \"{}\", \"jb\": \"[]\","
	 " \"arr_i\": [], \"arr_t\": [], \"arr_n\": []}"},
	/* minimum values (the smallest date PostgreSQL takes is 4714-11-24 BC) */
	{4, "b, i2, i4, i8, f4, f8, n, d, ts, tm, arr_i",
	 "false, -32768, -2147483648, '-9223372036854775808', '-3.4028235e38', '-1.7976931348623157e308',"
	 " -999999999.999, '4713-01-01 BC', '4713-01-01 00:00:00 BC', '00:00:00', '{-2147483648}'",
	 "{\"b\": false, \"i2\": -32768, \"i4\": -2147483648, \"i8\": -9223372036854775808,"
	 " \"f4\": -3.4028234663852886e+38, \"f8\": -1.7976931348623157e+308, \"n\": \"-999999999.999\","
	 " \"d\": -2440550, \"ts\": -210863520000000000, \"tm\": 0, \"arr_i\": [-2147483648]}"},
	/* maximum values (ts: the largest PostgreSQL takes does not fit in int64 micros; see schema/pgtext.c) */
	{5, "i2, i4, i8, f4, f8, n, d, ts, tm, arr_i",
	 "32767, 2147483647, 9223372036854775807, '3.4028235e38', '1.7976931348623157e308', 999999999.999,"
	 " '5874897-12-31', '9999-12-31 23:59:59.999999', '23:59:59.999999', '{2147483647}'",
	 "{\"i2\": 32767, \"i4\": 2147483647, \"i8\": 9223372036854775807, \"f4\": 3.4028234663852886e+38,"
	 " \"f8\": 1.7976931348623157e+308, \"n\": \"999999999.999\", \"d\": 2145042905,"
	 " \"ts\": 253402300799999999, \"tm\": 86399999999, \"arr_i\": [2147483647]}"},
	/* zeros and the smallest subnormals */
	{6, "i2, i4, i8, f4, f8, n, nl, nu", "0, 0, 0, '1e-45', '5e-324', 0.001, 0.00001, -0.000001",
	 "{\"i2\": 0, \"i4\": 0, \"i8\": 0, \"f4\": 1.401298464324817e-45, \"f8\": 5e-324, \"n\": \"0.001\","
	 " \"nl\": \"0.00001\", \"nu\": \"-0.000001\"}"},
	/* NaN: floats and both numeric kinds */
	{7, "f4, f8, n, nl, nu", "'NaN', 'NaN', 'NaN', 'NaN', 'NaN'",
	 "{\"f4\": \"NaN\", \"f8\": \"NaN\", \"n\": \"NaN\", \"nl\": \"NaN\", \"nu\": \"NaN\"}"},
	/* ±Infinity: numeric(p,s) cannot hold them in PostgreSQL ("numeric field overflow"), numeric can */
	{8, "f4, f8, nu", "'Infinity', 'Infinity', 'Infinity'",
	 "{\"f4\": \"Infinity\", \"f8\": \"Infinity\", \"nu\": \"Infinity\"}"},
	{9, "f4, f8, nu", "'-Infinity', '-Infinity', '-Infinity'",
	 "{\"f4\": \"-Infinity\", \"f8\": \"-Infinity\", \"nu\": \"-Infinity\"}"},
	/* numerics of 45 and 48 digits; a varchar(10) of 10 two-byte characters */
	{10, "nl, nu, vc",
	 "'-1234567890123456789012345678901234567890.12345',"
	 " '123456789012345678901234567890123456789.123456789', 'éééééééééé'",
	 "{\"nl\": \"-1234567890123456789012345678901234567890.12345\","
	 " \"nu\": \"123456789012345678901234567890123456789.123456789\", \"vc\": \"éééééééééé\"}"},
	/* before 1970; json keeps its text, jsonb normalizes it */
	{11, "d, ts, tz, j, jb",
	 "'1900-01-01', '1969-12-31 23:59:59.999999', '1960-06-15 12:00:00-05:30', '[1, \"\\u00e9\"]',"
	 " '[1, \"\\u00e9\"]'",
	 "{\"d\": -25567, \"ts\": -1, \"tz\": -301213800000000, \"j\": \"[1, \\\"\\\\u00e9\\\"]\","
	 " \"jb\": \"[1, \\\"é\\\"]\"}"},
	/* BC */
	{12, "d, ts, tz", "'0044-03-15 BC', '0044-03-15 12:34:56.5 BC', '0001-01-01 02:00:00+02 BC'",
	 "{\"d\": -735160, \"ts\": -63517778703500000, \"tz\": -62167219200000000}"},
	/* +infinity (PostgreSQL's sentinels INT32_MAX / INT64_MAX) and time 24:00:00 */
	{13, "d, ts, tz, tm", "'infinity', 'infinity', 'infinity', '24:00:00'",
	 "{\"d\": 2147483647, \"ts\": 9223372036854775807, \"tz\": 9223372036854775807, \"tm\": 86400000000}"},
	{14, "d, ts, tz", "'-infinity', '-infinity', '-infinity'",
	 "{\"d\": -2147483648, \"ts\": -9223372036854775808, \"tz\": -9223372036854775808}"},
	/* arrays with NULL items and elements that array_out quotes */
	{15, "arr_i, arr_t, arr_n",
	 "'{1,NULL,3}', '{\"a b\",\"with \\\"quote\\\"\",\"back\\\\slash\",NULL,\"NULL\",\"\",\",{}\",é}',"
	 " '{1.5,NULL,-2}'",
	 "{\"arr_i\": [1, null, 3], \"arr_t\": [\"a b\", \"with \\\"quote\\\"\", \"back\\\\slash\", null, \"NULL\","
	 " \"\", \",{}\", \"é\"], \"arr_n\": [\"1.500\", null, \"-2.000\"]}"},
};

#define TYPES_NROWS (sizeof types_rows / sizeof types_rows[0])
#define TYPES_BIG_ID 16 /* the row with the 1 MB values, inserted with parameters */

/* ---- expected values ---- */

static json_t *types_parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!j)
		fail_msg("bad JSON in the test (%s): %s", jerr.text, text);
	return j;
}

/* The whole row as `after` must show it: every column NULL except those of `set` (a JSON object). */
static json_t *types_row_json(int id, int rev, const json_t *set)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;

	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "rev", json_integer(rev));
	for (size_t i = 0; i < sizeof types_cols / sizeof types_cols[0]; i++)
		json_object_set_new(o, types_cols[i], json_null());
	json_object_foreach((json_t *)set, k, v) {
		if (!json_object_get(o, k))
			fail_msg("test row %d names column %s, which the table does not have", id, k);
	}
	if (set && json_object_update(o, (json_t *)set) < 0)
		fail_msg("out of memory");
	return o;
}

/* `before` of a delete under REPLICA IDENTITY DEFAULT: the key, every other column unchanged. */
static json_t *types_key_only_json(int id)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "rev", json_pack("{s:b}", "unchanged", 1));
	for (size_t i = 0; i < sizeof types_cols / sizeof types_cols[0]; i++)
		json_object_set_new(o, types_cols[i], json_pack("{s:b}", "unchanged", 1));
	return o;
}

/* Prints a value, cut to 200 characters (the 1 MB values would flood the output). */
static void types_print_cut(const char *label, const char *field, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	size_t n = s ? strlen(s) : 0;

	print_error("  %s %s: %.200s%s (%zu chars)\n", label, field, s ? s : "(missing)", n > 200 ? "..." : "", n);
	free(s);
}

/* Fails unless actual and expected are equal (json_equal: the whole object), listing the fields that
 * differ with their values cut short. */
static void types_assert_obj(const char *what, const json_t *actual, const json_t *expected)
{
	const char *k;
	json_t *v;
	int bad = 0;

	if (json_equal((json_t *)actual, (json_t *)expected))
		return;
	print_error("%s differs:\n", what);
	if (!json_is_object(actual) || !json_is_object(expected)) {
		types_print_cut("expected", "", expected);
		types_print_cut("actual  ", "", actual);
		fail_msg("%s differs", what);
	}
	json_object_foreach((json_t *)expected, k, v) {
		json_t *a = json_object_get(actual, k);

		if (!json_equal(a, v)) {
			types_print_cut("expected", k, v);
			types_print_cut("actual  ", k, a);
			bad++;
		}
	}
	json_object_foreach((json_t *)actual, k, v) {
		if (!json_object_get(expected, k)) {
			types_print_cut("unexpected", k, v);
			bad++;
		}
	}
	fail_msg("%s: %d field(s) differ", what, bad);
}

/* Checks one row event (not a tombstone): op, table, key {"id": id}, before and after (NULL: JSON null).
 * Takes the references of before and after. */
static void types_assert_event(const struct ctest_event *ev, char op, int id, json_t *before, json_t *after)
{
	json_t *key = json_pack("{s:i}", "id", id);
	json_t *null = json_null();
	char what[64];

	assert_non_null(ev->value);
	snprintf(what, sizeof what, "event %c of id %d", op, id);
	/* op and table, with before/after checked below field by field */
	ctest_assert_json(json_object_get(ev->value, "op"), op == 'c' ? "\"c\"" : op == 'u' ? "\"u\"" : "\"d\"");
	ctest_assert_json(json_object_get(json_object_get(ev->value, "source"), "table"), "\"types\"");
	ctest_assert_json(json_object_get(json_object_get(ev->value, "source"), "schema"), "\"public\"");
	types_assert_obj(what, ev->key, key);
	snprintf(what, sizeof what, "before of %c event of id %d", op, id);
	types_assert_obj(what, json_object_get(ev->value, "before"), before ? before : null);
	snprintf(what, sizeof what, "after of %c event of id %d", op, id);
	types_assert_obj(what, json_object_get(ev->value, "after"), after ? after : null);
	json_decref(key);
	json_decref(before);
	json_decref(after);
}

/* ---- the 1 MB values ---- */

struct types_big {
	char *text;     /* TYPES_BIG_LEN letters and digits, NUL-terminated */
	char *bytea_in; /* "\x" + hex of TYPES_BIG_LEN pseudo-random bytes: bytea input and the decoded JSON */
};

/* Deterministic pseudo-random content that does not compress, so PostgreSQL stores it out of line. */
static void types_big_make(struct types_big *b)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static const char hex[] = "0123456789abcdef";
	uint64_t x = 0x2545F4914F6CDD1DULL;

	b->text = malloc(TYPES_BIG_LEN + 1);
	b->bytea_in = malloc(2 + 2 * (size_t)TYPES_BIG_LEN + 1);
	if (!b->text || !b->bytea_in)
		fail_msg("out of memory");
	for (size_t i = 0; i < TYPES_BIG_LEN; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		b->text[i] = alnum[(x >> 33) % 62];
	}
	b->text[TYPES_BIG_LEN] = '\0';
	b->bytea_in[0] = '\\';
	b->bytea_in[1] = 'x';
	for (size_t i = 0; i < TYPES_BIG_LEN; i++) {
		uint8_t byte;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		byte = (uint8_t)(x >> 56);
		b->bytea_in[2 + 2 * i] = hex[byte >> 4];
		b->bytea_in[3 + 2 * i] = hex[byte & 15];
	}
	b->bytea_in[2 + 2 * (size_t)TYPES_BIG_LEN] = '\0';
}

static void types_big_free(struct types_big *b)
{
	free(b->text);
	free(b->bytea_in);
}

static void types_insert_big(PGconn *c, const struct types_big *b)
{
	static const char sql[] = "INSERT INTO types (id, t, bin, vc, ch) VALUES ($1, $2, $3, 'abcdefghij', 'abcd')";
	const char *params[3] = {testenv_fmt("%d", TYPES_BIG_ID), b->text, b->bytea_in};
	PGresult *r = PQexecParams(c, sql, 3, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		char msg[512];

		snprintf(msg, sizeof msg, "insert of the 1 MB row: %s", PQerrorMessage(c));
		PQclear(r);
		fail_msg("%s", msg);
	}
	PQclear(r);
}

/* The big row as `after` shows it; with unchanged, t and bin are {"unchanged": true} (an update of
 * another column: PostgreSQL does not send TOASTed values that did not change). */
static json_t *types_big_json(const struct types_big *b, int rev, bool unchanged)
{
	json_t *set = unchanged ? json_pack("{s:{s:b}, s:{s:b}, s:s, s:s}", "t", "unchanged", 1, "bin", "unchanged", 1,
	                                    "vc", "abcdefghij", "ch", "abcd")
	                        : json_pack("{s:s, s:s, s:s, s:s}", "t", b->text, "bin", b->bytea_in, "vc",
	                                    "abcdefghij", "ch", "abcd");
	json_t *o;

	assert_non_null(set);
	o = types_row_json(TYPES_BIG_ID, rev, set);
	json_decref(set);
	return o;
}

/* ---- tests ---- */

/* ev->v[from..] are exactly one 't' event per partition of the topic: keyless, with the same source. */
static void types_assert_truncate(struct ctest *t, const struct ctest_events *ev, size_t from)
{
	int nparts = kafkatest_partition_count(ctest_topic(t, TYPES_TABLE), 10000);
	int *seen = calloc((size_t)nparts, sizeof *seen);

	assert_non_null(seen);
	assert_int_equal(ev->n - from, (size_t)nparts);
	for (size_t i = from; i < ev->n; i++) {
		const struct ctest_event *e = &ev->v[i];

		ctest_assert_event(e, 't', TYPES_TABLE, NULL, NULL);
		assert_null(e->key);
		assert_true(e->partition >= 0 && e->partition < nparts);
		seen[e->partition]++;
		/* one truncate: one position in the stream, the same envelope everywhere */
		if (i > from) {
			json_t *s0 = json_object_get(ev->v[from].value, "source");
			json_t *s1 = json_object_get(e->value, "source");

			assert_true(json_equal(s0, s1));
		}
	}
	for (int p = 0; p < nparts; p++)
		assert_int_equal(seen[p], 1);
	free(seen);
}

/* Insert, update, delete and truncate of rows holding every type give exactly the expected events. */
static void test_every_type(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	struct types_big big;
	json_t *set[TYPES_NROWS];
	size_t n = 0, from;
	const char *sql;
	json_t *i4;

	types_big_make(&big);
	ctest_init(t, types_ddl, TYPES_TABLE, NULL, NULL);
	ctest_start(t);

	/* every row in one transaction: seq gives their order */
	pgtest_exec(t->pg, "BEGIN");
	for (size_t i = 0; i < TYPES_NROWS; i++) {
		const struct types_row *r = &types_rows[i];

		if (r->cols)
			sql = testenv_fmt("INSERT INTO types (id, %s) VALUES (%d, %s)", r->cols, r->id, r->vals);
		else
			sql = testenv_fmt("INSERT INTO types (id) VALUES (%d)", r->id);
		pgtest_exec(t->pg, "%s", sql);
		set[i] = types_parse(r->json);
	}
	types_insert_big(t->pg, &big);
	ctest_exec_and_wait(t, "COMMIT");
	ev = ctest_events(t, TYPES_TABLE, TYPES_WAIT_MS);
	assert_int_equal(ev->n, TYPES_NROWS + 1);
	for (size_t i = 0; i < TYPES_NROWS; i++)
		types_assert_event(&ev->v[i], 'c', types_rows[i].id, NULL, types_row_json(types_rows[i].id, 0, set[i]));
	types_assert_event(&ev->v[TYPES_NROWS], 'c', TYPES_BIG_ID, NULL, types_big_json(&big, 0, false));
	n = ev->n;
	ctest_events_free(ev);

	/* update of another column: before is null (REPLICA IDENTITY DEFAULT, key unchanged); the big row's
	 * TOASTed values are unchanged */
	pgtest_exec(t->pg, "BEGIN");
	for (size_t i = 0; i < TYPES_NROWS; i++)
		pgtest_exec(t->pg, "UPDATE types SET rev = 1 WHERE id = %d", types_rows[i].id);
	pgtest_exec(t->pg, "UPDATE types SET rev = 1 WHERE id = %d", TYPES_BIG_ID);
	ctest_exec_and_wait(t, "COMMIT");
	ev = ctest_events(t, TYPES_TABLE, TYPES_WAIT_MS);
	assert_int_equal(ev->n, n + TYPES_NROWS + 1);
	for (size_t i = 0; i < TYPES_NROWS; i++)
		types_assert_event(&ev->v[n + i], 'u', types_rows[i].id, NULL,
		                   types_row_json(types_rows[i].id, 1, set[i]));
	types_assert_event(&ev->v[n + TYPES_NROWS], 'u', TYPES_BIG_ID, NULL, types_big_json(&big, 1, true));
	n = ev->n;
	ctest_events_free(ev);

	/* delete: before holds the key and marks the rest unchanged; a tombstone with the key follows */
	pgtest_exec(t->pg, "BEGIN");
	for (size_t i = 0; i < TYPES_NROWS; i++)
		pgtest_exec(t->pg, "DELETE FROM types WHERE id = %d", types_rows[i].id);
	pgtest_exec(t->pg, "DELETE FROM types WHERE id = %d", TYPES_BIG_ID);
	ctest_exec_and_wait(t, "COMMIT");
	ev = ctest_events(t, TYPES_TABLE, TYPES_WAIT_MS);
	assert_int_equal(ev->n, n + 2 * (TYPES_NROWS + 1));
	for (size_t i = 0; i <= TYPES_NROWS; i++) {
		int id = i < TYPES_NROWS ? types_rows[i].id : TYPES_BIG_ID;
		const struct ctest_event *tomb = &ev->v[n + 2 * i + 1];
		json_t *key = json_pack("{s:i}", "id", id);

		types_assert_event(&ev->v[n + 2 * i], 'd', id, types_key_only_json(id), NULL);
		assert_null(tomb->value);
		types_assert_obj("tombstone key", tomb->key, key);
		assert_int_equal(tomb->partition, ev->v[n + 2 * i].partition);
		assert_true(tomb->offset > ev->v[n + 2 * i].offset);
		json_decref(key);
	}
	n = ev->n;
	ctest_events_free(ev);

	/* truncate: one keyless 't' event on every partition of the topic */
	ctest_exec_and_wait(t, "INSERT INTO types (id, i4) VALUES (100, 7)");
	ctest_exec_and_wait(t, "TRUNCATE types");
	ev = ctest_events(t, TYPES_TABLE, TYPES_WAIT_MS);
	assert_true(ev->n > n + 1);
	i4 = json_pack("{s:i}", "i4", 7);
	types_assert_event(&ev->v[n], 'c', 100, NULL, types_row_json(100, 0, i4));
	json_decref(i4);
	from = n + 1;
	types_assert_truncate(t, ev, from);
	ctest_events_free(ev);

	assert_int_equal(ctest_stop(t), 0);
	for (size_t i = 0; i < TYPES_NROWS; i++)
		json_decref(set[i]);
	types_big_free(&big);
}

#define TOAST_TABLE "public.toasty"
#define TOAST_LEN 10000

/* An update that leaves a TOASTed value alone: after marks it unchanged, never a fake value (not NULL, not
 * empty, not an old value made up by cleave). An update of the value itself sends it whole. A large value
 * that compresses well stays inline (compressed) and so is always sent whole. */
static void test_unchanged_toast(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	char big1[TOAST_LEN + 1], big2[TOAST_LEN + 1], inl[TOAST_LEN + 1];
	const char *row;
	uint64_t x = 42;

	for (size_t i = 0; i < TOAST_LEN; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		big1[i] = (char)('a' + (x >> 33) % 26);
		big2[i] = (char)('A' + (x >> 40) % 26);
		inl[i] = 'x';
	}
	big1[TOAST_LEN] = big2[TOAST_LEN] = inl[TOAST_LEN] = '\0';
	ctest_init(t,
	           "CREATE TABLE toasty (id integer PRIMARY KEY, n integer, big text, inl text);"
	           " ALTER TABLE toasty ALTER COLUMN big SET STORAGE EXTERNAL",
	           TOAST_TABLE, NULL, NULL);
	ctest_start(t);
	ctest_exec_and_wait(t, testenv_fmt("INSERT INTO toasty VALUES (1, 0, '%s', '%s')", big1, inl));
	/* big really is out of line and inl inline: the test would prove nothing otherwise */
	assert_int_equal(pgtest_value_int(t->pg, "SELECT (pg_relation_size(reltoastrelid) > 0)::int FROM pg_class"
	                                         " WHERE relname = 'toasty'"),
	                 1);
	assert_true(pgtest_value_int(t->pg, "SELECT pg_column_size(inl) FROM toasty") < 1000);
	ctest_exec_and_wait(t, "UPDATE toasty SET n = 1 WHERE id = 1");
	ctest_exec_and_wait(t, testenv_fmt("UPDATE toasty SET n = 2, big = '%s' WHERE id = 1", big2));
	ctest_exec_and_wait(t, "UPDATE toasty SET n = 3 WHERE id = 1");
	ctest_exec_and_wait(t, "DELETE FROM toasty WHERE id = 1");

	ev = ctest_events(t, TOAST_TABLE, TYPES_WAIT_MS);
	assert_int_equal(ev->n, 6);
	row = testenv_fmt("{\"id\": 1, \"n\": 0, \"big\": \"%s\", \"inl\": \"%s\"}", big1, inl);
	ctest_assert_event(&ev->v[0], 'c', TOAST_TABLE, NULL, row);
	row = testenv_fmt("{\"id\": 1, \"n\": 1, \"big\": {\"unchanged\": true}, \"inl\": \"%s\"}", inl);
	ctest_assert_event(&ev->v[1], 'u', TOAST_TABLE, NULL, row);
	row = testenv_fmt("{\"id\": 1, \"n\": 2, \"big\": \"%s\", \"inl\": \"%s\"}", big2, inl);
	ctest_assert_event(&ev->v[2], 'u', TOAST_TABLE, NULL, row);
	row = testenv_fmt("{\"id\": 1, \"n\": 3, \"big\": {\"unchanged\": true}, \"inl\": \"%s\"}", inl);
	ctest_assert_event(&ev->v[3], 'u', TOAST_TABLE, NULL, row);
	ctest_assert_event(&ev->v[4], 'd', TOAST_TABLE,
	                   "{\"id\": 1, \"n\": {\"unchanged\": true}, \"big\": {\"unchanged\": true},"
	                   " \"inl\": {\"unchanged\": true}}",
	                   NULL);
	assert_null(ev->v[5].value);
	for (size_t i = 0; i < ev->n; i++)
		ctest_assert_json(ev->v[i].key, "{\"id\": 1}");
	ctest_events_free(ev);
	assert_int_equal(ctest_stop(t), 0);
}

/* A regression test: a NaN item in a numeric(p,s)[] column (a value PostgreSQL accepts) once made capture
 * exit with "element 1 of numeric(12,3)[] is NaN, which a decimal array item cannot carry", the same way at
 * every restart, so replication stopped for good (SPEC.md §5: NaN must not crash anything). Expected: the
 * event arrives with the item carried like a NaN of a numeric(p,s) column ("NaN"), and streaming goes on. */
static void test_numeric_array_nan(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	char *lsn;

	ctest_init(t, "CREATE TABLE na (id integer PRIMARY KEY, an numeric(12,3)[])", "public.na", NULL, NULL);
	ctest_start(t);
	pgtest_exec(t->pg, "INSERT INTO na VALUES (1, '{1.5,NaN,NULL}')");
	pgtest_exec(t->pg, "INSERT INTO na VALUES (2, '{2}')");
	lsn = ctest_wal_lsn(t);
	assert_true(ctest_wait_confirmed_or_exit(t, lsn, TYPES_WAIT_MS));
	free(lsn);
	if (proc_wait(t->capture, 0) >= 0) {
		int st = proc_wait(t->capture, 0);

		proc_print_log(t->capture, 5);
		proc_free(t->capture);
		t->capture = NULL;
		fail_msg("capture exited (status %d) on a NaN item of a numeric(12,3)[] column", st);
	}
	ev = ctest_events(t, "public.na", TYPES_WAIT_MS);
	assert_int_equal(ev->n, 2);
	ctest_assert_event(&ev->v[0], 'c', "public.na", NULL, "{\"id\": 1, \"an\": [\"1.500\", \"NaN\", null]}");
	ctest_assert_event(&ev->v[1], 'c', "public.na", NULL, "{\"id\": 2, \"an\": [\"2.000\"]}");
	ctest_events_free(ev);
	assert_int_equal(ctest_stop(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_type, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_toast, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_numeric_array_nan, ctest_setup, ctest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
