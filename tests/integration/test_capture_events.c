/* test_capture_events.c: what `cleave capture` publishes beyond the column values (SPEC.md §3, §4):
 * `before` under REPLICA IDENTITY DEFAULT and FULL and a primary-key change as delete + create; commit
 * order and the source block (txId, lsn, commit_lsn, seq, ts_ms) of interleaved transactions over two
 * tables; one 200,000-row transaction; confirmed_flush_lsn moving while the published tables are idle;
 * and the partition of every key (murmur2_random of the key bytes, as the Java client computes it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/lsn.h"
#include "tests/support/capturetest.h"
#include "tests/support/kafkatest.h"
#include "tests/support/pgtest.h"
#include "tests/support/proc.h"
#include "tests/support/testenv.h"

#define EV_WAIT_MS 60000

/* ---- helpers ---- */

static json_t *ev_source(const struct ctest_event *e)
{
	return json_object_get(e->value, "source");
}

/* An integer field of the event's source block; fails the test when it is missing or not an integer. */
static int64_t ev_src_int(const struct ctest_event *e, const char *field)
{
	json_t *v = json_object_get(ev_source(e), field);

	if (!json_is_integer(v))
		fail_msg("source.%s is missing or not an integer", field);
	return (int64_t)json_integer_value(v);
}

static lsn_t ev_lsn(const char *text)
{
	lsn_t l = 0;

	if (lsn_parse(text, &l) < 0)
		fail_msg("not an LSN: %s", text);
	return l;
}

/* pg_current_wal_lsn() on connection c. */
static lsn_t ev_wal_lsn(PGconn *c)
{
	char *s = pgtest_value(c, "SELECT pg_current_wal_lsn()");
	lsn_t l = ev_lsn(s);

	free(s);
	return l;
}

/* Prints every event of ev (partition/offset, key, op, before, after), for a failure's diagnosis. */
static void ev_dump(const char *table, const struct ctest_events *ev)
{
	print_error("%s: %zu message(s)\n", table, ev->n);
	for (size_t i = 0; i < ev->n; i++) {
		const struct ctest_event *e = &ev->v[i];
		const size_t fl = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY;
		char *k = e->key ? json_dumps(e->key, fl) : NULL;
		char *b = e->value ? json_dumps(json_object_get(e->value, "before"), fl) : NULL;
		char *a = e->value ? json_dumps(json_object_get(e->value, "after"), fl) : NULL;

		print_error("  %d/%lld key %s %s before %s after %s\n", e->partition, (long long)e->offset,
		            k ? k : "null", e->value ? json_string_value(json_object_get(e->value, "op")) : "tombstone",
		            b ? b : "-", a ? a : "-");
		free(k);
		free(b);
		free(a);
	}
}

/* Fails (listing the events) unless ev holds n messages. */
static void ev_assert_count(const char *table, const struct ctest_events *ev, size_t n)
{
	if (ev->n == n)
		return;
	ev_dump(table, ev);
	fail_msg("%s: %zu messages, expected %zu", table, ev->n, n);
}

static void ev_assert_key(const struct ctest_event *e, int id)
{
	ctest_assert_json(e->key, testenv_fmt("{\"id\": %d}", id));
}

/* ---- 3. replica identity ---- */

/* The same statements on a REPLICA IDENTITY DEFAULT or FULL table `tb` (id integer PRIMARY KEY, name text,
 * qty integer): DEFAULT gives `before` only when the key is involved (delete: the key and the rest
 * unchanged; update: null), FULL the complete old row; the Kafka key is the primary key either way. A
 * primary-key change is a delete of the old key (with its tombstone) and a create of the new one, in one
 * transaction. */
static void ri_check(struct ctest *t, const char *tb, bool full)
{
	const char *name = tb + strlen("public.");
	struct ctest_events *ev;
	const struct ctest_event *e;

	ctest_exec_and_wait(t, testenv_fmt("INSERT INTO %s VALUES (1, 'a', 1), (2, 'b', NULL)", name));
	ctest_exec_and_wait(t, testenv_fmt("UPDATE %s SET name = 'a2' WHERE id = 1", name));
	ctest_exec_and_wait(t, testenv_fmt("UPDATE %s SET id = 10 WHERE id = 2", name));
	ctest_exec_and_wait(t, testenv_fmt("UPDATE %s SET qty = NULL, name = 'a3' WHERE id = 1", name));
	ctest_exec_and_wait(t, testenv_fmt("DELETE FROM %s WHERE id = 1", name));

	ev = ctest_events(t, tb, EV_WAIT_MS);
	e = ev->v;
	ev_assert_count(tb, ev, 9);
	ctest_assert_event(&e[0], 'c', tb, NULL, "{\"id\": 1, \"name\": \"a\", \"qty\": 1}");
	ev_assert_key(&e[0], 1);
	ctest_assert_event(&e[1], 'c', tb, NULL, "{\"id\": 2, \"name\": \"b\", \"qty\": null}");
	ev_assert_key(&e[1], 2);
	ctest_assert_event(&e[2], 'u', tb, full ? "{\"id\": 1, \"name\": \"a\", \"qty\": 1}" : NULL,
	                   "{\"id\": 1, \"name\": \"a2\", \"qty\": 1}");
	ev_assert_key(&e[2], 1);
	/* the key change */
	ctest_assert_event(&e[3], 'd', tb,
	                   full ? "{\"id\": 2, \"name\": \"b\", \"qty\": null}"
	                        : "{\"id\": 2, \"name\": {\"unchanged\": true}, \"qty\": {\"unchanged\": true}}",
	                   NULL);
	ev_assert_key(&e[3], 2);
	assert_null(e[4].value);
	ev_assert_key(&e[4], 2);
	ctest_assert_event(&e[5], 'c', tb, NULL, "{\"id\": 10, \"name\": \"b\", \"qty\": null}");
	ev_assert_key(&e[5], 10);
	assert_int_equal(ev_src_int(&e[3], "commit_lsn"), ev_src_int(&e[5], "commit_lsn"));
	assert_int_equal(ev_src_int(&e[3], "seq") + 1, ev_src_int(&e[5], "seq"));
	ctest_assert_event(&e[6], 'u', tb, full ? "{\"id\": 1, \"name\": \"a2\", \"qty\": 1}" : NULL,
	                   "{\"id\": 1, \"name\": \"a3\", \"qty\": null}");
	ev_assert_key(&e[6], 1);
	ctest_assert_event(&e[7], 'd', tb,
	                   full ? "{\"id\": 1, \"name\": \"a3\", \"qty\": null}"
	                        : "{\"id\": 1, \"name\": {\"unchanged\": true}, \"qty\": {\"unchanged\": true}}",
	                   NULL);
	ev_assert_key(&e[7], 1);
	assert_null(e[8].value);
	ev_assert_key(&e[8], 1);
	ctest_events_free(ev);
}

static void test_replica_identity_default(void **state)
{
	struct ctest *t = *state;

	ctest_init(t, "CREATE TABLE rd (id integer PRIMARY KEY, name text, qty integer)", "public.rd", NULL, NULL);
	ctest_start(t);
	ri_check(t, "public.rd", false);
	assert_int_equal(ctest_stop(t), 0);
}

/* Under REPLICA IDENTITY FULL pgoutput flags every column as identity, yet the Kafka key stays the primary
 * key (SPEC.md §3): an update of another column is one 'u' event under key {"id": 1}, and `before` holds
 * the whole old row. (A regression test: capture once keyed such tables by every column.) */
static void test_replica_identity_full(void **state)
{
	struct ctest *t = *state;

	ctest_init(t,
	           "CREATE TABLE rf (id integer PRIMARY KEY, name text, qty integer);"
	           " ALTER TABLE rf REPLICA IDENTITY FULL",
	           "public.rf", NULL, NULL);
	ctest_start(t);
	ri_check(t, "public.rf", true);
	assert_int_equal(ctest_stop(t), 0);
}

/* ctest_exec_and_wait that fails at once, with capture's log, when capture exits instead of confirming. */
static void ev_exec_settle(struct ctest *t, const char *sql)
{
	char *lsn;
	int st;

	pgtest_exec(t->pg, "%s", sql);
	lsn = ctest_wal_lsn(t);
	if (!ctest_wait_confirmed_or_exit(t, lsn, EV_WAIT_MS)) {
		proc_print_log(t->capture, 20);
		free(lsn);
		fail_msg("capture did not confirm the changes within %d s", EV_WAIT_MS / 1000);
	}
	free(lsn);
	st = proc_wait(t->capture, 0);
	if (st >= 0) {
		proc_print_log(t->capture, 5);
		fail_msg("capture exited (status %d) on: %s", st, sql);
	}
}

/* The same with a TOASTed column: an update of another column sends the TOASTed value as unchanged;
 * capture once took it for a key change and stopped for good ("key column value was not sent"). Expected:
 * one 'u' with key {"id": 1}, `before` the whole old row
 * (PostgreSQL logs it flattened), `after` marking big unchanged. */
static void test_replica_identity_full_toast(void **state)
{
	struct ctest *t = *state;
	static char big[10001];
	struct ctest_events *ev;
	const char *old;

	for (size_t i = 0; i < sizeof big - 1; i++)
		big[i] = (char)('a' + (i * 7919 + i / 26) % 26);
	ctest_init(t,
	           "CREATE TABLE rft (id integer PRIMARY KEY, n integer, big text);"
	           " ALTER TABLE rft ALTER COLUMN big SET STORAGE EXTERNAL; ALTER TABLE rft REPLICA IDENTITY FULL",
	           "public.rft", NULL, NULL);
	ctest_start(t);
	ev_exec_settle(t, testenv_fmt("INSERT INTO rft VALUES (1, 0, '%s')", big));
	ev_exec_settle(t, "UPDATE rft SET n = 1 WHERE id = 1");
	ev = ctest_events(t, "public.rft", EV_WAIT_MS);
	ev_assert_count("public.rft", ev, 2);
	old = testenv_fmt("{\"id\": 1, \"n\": 0, \"big\": \"%s\"}", big);
	ctest_assert_event(&ev->v[0], 'c', "public.rft", NULL, old);
	ev_assert_key(&ev->v[0], 1);
	ctest_assert_event(&ev->v[1], 'u', "public.rft", old,
	                   "{\"id\": 1, \"n\": 1, \"big\": {\"unchanged\": true}}");
	ev_assert_key(&ev->v[1], 1);
	ctest_events_free(ev);
	assert_int_equal(ctest_stop(t), 0);
}

/* ---- 4. commit order across tables ---- */

struct order_expect {
	int txn;           /* index of the transaction in commit order */
	const char *table; /* "public.a" or "public.b" */
	char op;
	int id;
	const char *before, *after;
};

/* What each transaction knew about itself when it committed. */
struct order_txn {
	long long xid;
	lsn_t lsn_before, lsn_after; /* pg_current_wal_lsn() right before and after COMMIT */
	int64_t ms_before, ms_after; /* wall clock right before and after COMMIT */
};

static void order_begin(PGconn *c, struct order_txn *x)
{
	pgtest_exec(c, "BEGIN");
	x->xid = pgtest_value_int(c, "SELECT txid_current()");
}

static void order_commit(PGconn *c, struct order_txn *x)
{
	x->lsn_before = ev_wal_lsn(c);
	x->ms_before = clock_unix_us() / 1000;
	pgtest_exec(c, "COMMIT");
	x->ms_after = clock_unix_us() / 1000;
	x->lsn_after = ev_wal_lsn(c);
}

static int order_cmp(const void *a, const void *b)
{
	const struct ctest_event *x = *(const struct ctest_event *const *)a, *y = *(const struct ctest_event *const *)b;
	int64_t lx = ev_src_int(x, "commit_lsn"), ly = ev_src_int(y, "commit_lsn");
	int64_t sx = ev_src_int(x, "seq"), sy = ev_src_int(y, "seq");

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return sx < sy ? -1 : sx > sy;
}

/* Three sessions interleave their changes to tables a and b and commit in a known order (then a fourth
 * transaction follows; a rolled-back savepoint and an aborted transaction leave nothing): the events of both
 * topics, merged by (commit_lsn, seq), are exactly the changes in commit order, and the source block of each
 * is consistent with what PostgreSQL said at commit time. */
static void test_commit_order(void **state)
{
	struct ctest *t = *state;
	static const struct order_expect want[] = {
		{0, "public.b", 'c', 1, NULL, "{\"id\": 1, \"v\": \"s2\"}"},
		{0, "public.a", 'c', 3, NULL, "{\"id\": 3, \"v\": \"s2\"}"},
		{1, "public.a", 'c', 1, NULL, "{\"id\": 1, \"v\": \"s1\"}"},
		{1, "public.b", 'c', 2, NULL, "{\"id\": 2, \"v\": \"s1\"}"},
		{1, "public.a", 'c', 4, NULL, "{\"id\": 4, \"v\": \"s1\"}"},
		{1, "public.b", 'u', 1, NULL, "{\"id\": 1, \"v\": \"s1\"}"},
		{2, "public.a", 'c', 2, NULL, "{\"id\": 2, \"v\": \"s3\"}"},
		{2, "public.b", 'c', 3, NULL, "{\"id\": 3, \"v\": \"s3\"}"},
		{2, "public.a", 'd', 3, "{\"id\": 3, \"v\": {\"unchanged\": true}}", NULL},
		{3, "public.b", 'c', 4, NULL, "{\"id\": 4, \"v\": \"s1b\"}"},
		{3, "public.a", 'u', 2, NULL, "{\"id\": 2, \"v\": \"s1b\"}"},
	};
	enum { NWANT = sizeof want / sizeof want[0], NTXN = 4 };
	struct order_txn txn[NTXN];
	const struct ctest_event *merged[NWANT + 4];
	struct ctest_events *ea, *eb;
	PGconn *s1, *s2, *s3;
	size_t n = 0, tombstones = 0;
	int64_t now_ms;

	ctest_init(t,
	           "CREATE TABLE a (id integer PRIMARY KEY, v text); CREATE TABLE b (id integer PRIMARY KEY, v text)",
	           "public.a, public.b", NULL, NULL);
	ctest_start(t);
	s1 = pgtest_connect(t->db);
	s2 = pgtest_connect(t->db);
	s3 = pgtest_connect(t->db);

	order_begin(s1, &txn[1]);
	pgtest_exec(s1, "INSERT INTO a VALUES (1, 's1')");
	order_begin(s2, &txn[0]);
	pgtest_exec(s2, "INSERT INTO b VALUES (1, 's2')");
	order_begin(s3, &txn[2]);
	pgtest_exec(s3, "INSERT INTO a VALUES (2, 's3')");
	pgtest_exec(s1, "INSERT INTO b VALUES (2, 's1')");
	pgtest_exec(s2, "INSERT INTO a VALUES (3, 's2')");
	pgtest_exec(s3, "INSERT INTO b VALUES (3, 's3')");
	/* neither a rolled-back subtransaction nor an aborted transaction gives an event, nor a gap in seq */
	pgtest_exec(s3, "SAVEPOINT sp; INSERT INTO a VALUES (98, 'gone'); UPDATE b SET v = 'gone' WHERE id = 3;"
	                " ROLLBACK TO SAVEPOINT sp");
	pgtest_exec(t->pg, "BEGIN; INSERT INTO b VALUES (99, 'gone'); ROLLBACK");
	order_commit(s2, &txn[0]);
	pgtest_exec(s1, "INSERT INTO a VALUES (4, 's1'); UPDATE b SET v = 's1' WHERE id = 1");
	order_commit(s1, &txn[1]);
	pgtest_exec(s3, "DELETE FROM a WHERE id = 3");
	order_commit(s3, &txn[2]);
	order_begin(s1, &txn[3]);
	pgtest_exec(s1, "INSERT INTO b VALUES (4, 's1b'); UPDATE a SET v = 's1b' WHERE id = 2");
	order_commit(s1, &txn[3]);
	PQfinish(s1);
	PQfinish(s2);
	PQfinish(s3);
	ctest_exec_and_wait(t, "SELECT 1");
	now_ms = clock_unix_us() / 1000;

	ea = ctest_events(t, "public.a", EV_WAIT_MS);
	eb = ctest_events(t, "public.b", EV_WAIT_MS);
	assert_int_equal(ea->n, 7); /* 6 events and the tombstone of the delete */
	assert_int_equal(eb->n, 5);
	for (size_t i = 0; i < ea->n + eb->n; i++) {
		const struct ctest_event *e = i < ea->n ? &ea->v[i] : &eb->v[i - ea->n];

		if (!e->value) {
			/* ctest_events puts a tombstone right after its event */
			tombstones++;
			assert_true(i > 0 && i < ea->n);
			ctest_assert_event(e - 1, 'd', "public.a", want[8].before, NULL);
			ev_assert_key(e, 3);
			continue;
		}
		assert_true(n < NWANT);
		merged[n++] = e;
	}
	assert_int_equal(tombstones, 1);
	assert_int_equal(n, NWANT);
	qsort(merged, n, sizeof merged[0], order_cmp);

	for (size_t i = 0; i < n; i++) {
		const struct ctest_event *e = merged[i];
		const struct order_expect *w = &want[i];
		const struct order_txn *x = &txn[w->txn];
		bool first = i == 0 || want[i - 1].txn != w->txn;
		int64_t commit_lsn = ev_src_int(e, "commit_lsn"), lsn = ev_src_int(e, "lsn");
		int64_t src_ms = ev_src_int(e, "ts_ms");
		json_t *ts_ms = json_object_get(e->value, "ts_ms");

		print_message("event %zu: txn %d %s %c id %d: txId %lld lsn %llX commit_lsn %llX seq %lld\n", i, w->txn,
		              w->table, w->op, w->id, (long long)ev_src_int(e, "txId"), (long long)lsn,
		              (long long)commit_lsn, (long long)ev_src_int(e, "seq"));
		ctest_assert_event(e, w->op, w->table, w->before, w->after);
		ev_assert_key(e, w->id);
		/* the source block */
		ctest_assert_json(json_object_get(ev_source(e), "name"), testenv_fmt("\"%s\"", t->prefix));
		ctest_assert_json(json_object_get(ev_source(e), "db"), testenv_fmt("\"%s\"", t->db));
		ctest_assert_json(json_object_get(ev_source(e), "snapshot"), "\"false\"");
		assert_int_equal(ev_src_int(e, "txId"), x->xid);
		/* seq counts 0.. within each transaction */
		assert_int_equal(ev_src_int(e, "seq"), first ? 0 : ev_src_int(merged[i - 1], "seq") + 1);
		/* commit_lsn: the commit record, written between the two pg_current_wal_lsn() calls */
		assert_true((lsn_t)commit_lsn >= x->lsn_before);
		assert_true((lsn_t)commit_lsn < x->lsn_after);
		if (first && i > 0)
			assert_true(commit_lsn > ev_src_int(merged[i - 1], "commit_lsn"));
		if (!first) {
			assert_int_equal(commit_lsn, ev_src_int(merged[i - 1], "commit_lsn"));
			/* changes of a transaction are in WAL order */
			assert_true(lsn > ev_src_int(merged[i - 1], "lsn"));
		}
		/* lsn: the change itself, before its commit */
		assert_true(lsn > 0);
		assert_true(lsn < commit_lsn);
		/* source.ts_ms: commit time; ts_ms: when capture made the event */
		assert_true(src_ms >= x->ms_before);
		assert_true(src_ms <= x->ms_after);
		assert_true(json_is_integer(ts_ms));
		assert_true(json_integer_value(ts_ms) >= src_ms);
		assert_true(json_integer_value(ts_ms) <= now_ms);
	}
	ctest_events_free(ea);
	ctest_events_free(eb);
	assert_int_equal(ctest_stop(t), 0);
}

/* ---- 5. one large transaction ---- */

#define BULK_ROWS 200000
#define BULK_WAIT_MS 300000

/* One INSERT ... SELECT of 200,000 rows: exactly 200,000 'c' events of one transaction, seq 0..199999 in
 * insert order, each id once; within a partition, offsets follow seq. */
static void test_large_transaction(void **state)
{
	struct ctest *t = *state;
	struct ktest_schemas *schemas;
	struct ktest_msgs *m;
	unsigned char *seen_seq = calloc(BULK_ROWS, 1);
	int64_t last_seq[64];
	int64_t commit_lsn = -1, txid = -1, t0;
	char *lsn;

	assert_non_null(seen_seq);
	for (size_t p = 0; p < sizeof last_seq / sizeof last_seq[0]; p++)
		last_seq[p] = -1;
	ctest_init(t, "CREATE TABLE bulk (id integer PRIMARY KEY, v bigint)", "public.bulk", NULL, NULL);
	ctest_start(t);
	t0 = clock_mono_ms();
	pgtest_exec(t->pg, "INSERT INTO bulk SELECT g, g * 3 FROM generate_series(0, %d) g", BULK_ROWS - 1);
	lsn = ctest_wal_lsn(t);
	if (!ctest_wait_confirmed(t, lsn, BULK_WAIT_MS)) {
		proc_print_log(t->capture, 40);
		fail_msg("capture did not confirm the 200,000-row transaction within %d s", BULK_WAIT_MS / 1000);
	}
	free(lsn);
	print_message("200,000 rows confirmed after %lld ms\n", (long long)(clock_mono_ms() - t0));

	m = kafkatest_consume_to_end(ctest_topic(t, "public.bulk"), BULK_WAIT_MS);
	print_message("read back after %lld ms\n", (long long)(clock_mono_ms() - t0));
	assert_int_equal(m->n, BULK_ROWS);
	schemas = kafkatest_schemas_load(t->prefix);
	for (size_t i = 0; i < m->n; i++) {
		const struct ktest_msg *k = &m->v[i];
		json_t *v, *key, *src, *after;
		int64_t seq, id;

		assert_non_null(k->value);
		assert_non_null(k->key);
		assert_true(k->partition >= 0 && k->partition < 64);
		v = kafkatest_decode(schemas, k->value, k->value_len);
		key = kafkatest_decode(schemas, k->key, k->key_len);
		src = json_object_get(v, "source");
		after = json_object_get(v, "after");
		if (strcmp(json_string_value(json_object_get(v, "op")), "c") != 0 ||
		    !json_is_null(json_object_get(v, "before")))
			fail_msg("message %d/%lld is not a create", k->partition, (long long)k->offset);
		seq = json_integer_value(json_object_get(src, "seq"));
		id = json_integer_value(json_object_get(after, "id"));
		if (seq < 0 || seq >= BULK_ROWS || seen_seq[seq])
			fail_msg("seq %lld out of range or seen twice", (long long)seq);
		seen_seq[seq] = 1;
		/* INSERT ... SELECT inserts in generate_series order: seq is the id; ids are then all distinct */
		if (id != seq || json_integer_value(json_object_get(after, "v")) != 3 * id ||
		    json_object_size(after) != 2 || json_integer_value(json_object_get(key, "id")) != id ||
		    json_object_size(key) != 1)
			fail_msg("seq %lld: unexpected row or key", (long long)seq);
		if (commit_lsn < 0) {
			commit_lsn = json_integer_value(json_object_get(src, "commit_lsn"));
			txid = json_integer_value(json_object_get(src, "txId"));
		}
		if (json_integer_value(json_object_get(src, "commit_lsn")) != commit_lsn ||
		    json_integer_value(json_object_get(src, "txId")) != txid)
			fail_msg("seq %lld: another transaction", (long long)seq);
		/* per-partition order is seq order */
		if (seq <= last_seq[k->partition])
			fail_msg("partition %d: seq %lld after %lld", k->partition, (long long)seq,
			         (long long)last_seq[k->partition]);
		last_seq[k->partition] = seq;
		json_decref(v);
		json_decref(key);
	}
	print_message("checked after %lld ms\n", (long long)(clock_mono_ms() - t0));
	kafkatest_schemas_free(schemas);
	ktest_msgs_free(m);
	free(seen_seq);
	assert_int_equal(ctest_stop(t), 0);
}

/* ---- 6. confirming while idle ---- */

/* While the published table is idle and an unpublished table of the same database is written, capture
 * still moves confirmed_flush_lsn past those writes, so the slot does not hold WAL back. */
static void test_idle_confirm(void **state)
{
	struct ctest *t = *state;
	struct ctest_events *ev;
	int64_t t0;
	char *lsn;

	ctest_init(t,
	           "CREATE TABLE pubt (id integer PRIMARY KEY);"
	           " CREATE TABLE other (id integer PRIMARY KEY, v text)",
	           "public.pubt", NULL, NULL);
	ctest_start(t);
	/* the test means something only if `other` is not published */
	assert_int_equal(pgtest_value_int(t->pg, "SELECT count(*) FROM pg_publication_tables WHERE pubname = '%s'"
	                                         " AND tablename = 'other'",
	                                  t->publication),
	                 0);
	for (int i = 0; i < 20; i++)
		pgtest_exec(t->pg, "INSERT INTO other SELECT g, repeat('x', 100) FROM generate_series(%d, %d) g",
		            i * 500, i * 500 + 499);
	pgtest_exec(t->pg, "UPDATE other SET v = 'y'; DELETE FROM other WHERE id %% 2 = 0");
	lsn = ctest_wal_lsn(t);
	t0 = clock_mono_ms();
	if (!ctest_wait_confirmed(t, lsn, 30000)) {
		char *c = ctest_confirmed(t);

		print_error("confirmed_flush_lsn %s, wanted at least %s\n", c, lsn);
		free(c);
		free(lsn);
		proc_print_log(t->capture, 40);
		fail_msg("confirmed_flush_lsn did not advance while the published table was idle");
	}
	print_message("confirmed past %s after %lld ms\n", lsn, (long long)(clock_mono_ms() - t0));
	free(lsn);
	/* and nothing was published for it */
	ev = ctest_events(t, "public.pubt", EV_WAIT_MS);
	assert_int_equal(ev->n, 0);
	ctest_events_free(ev);
	assert_int_equal(ctest_stop(t), 0);
}

/* ---- 7. partitions of keys ---- */

/* Kafka's Utils.murmur2 (the Java client's; librdkafka's murmur2 partitioners use the same). */
static uint32_t ev_murmur2(const void *key, size_t len)
{
	const uint8_t *d = key;
	const uint32_t m = 0x5bd1e995;
	uint32_t h = 0x9747b28cU ^ (uint32_t)len;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		uint32_t k = (uint32_t)d[i] | (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2] << 16 |
		             (uint32_t)d[i + 3] << 24;

		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)d[i + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)d[i + 1] << 8;
		/* fall through */
	case 1:
		h ^= d[i];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

/* The partition the Java client's default partitioner (and librdkafka's murmur2_random) picks. */
static int32_t ev_partition_of(const void *key, size_t len, int nparts)
{
	return (int32_t)((ev_murmur2(key, len) & 0x7fffffff) % (uint32_t)nparts);
}

/* Kafka's own vectors (UtilsTest.testMurmur2), so ev_murmur2 is known to be Kafka's. */
static void ev_check_murmur2(void)
{
	static const struct {
		const char *s;
		int32_t h;
	} v[] = {{"21", -973932308},
	         {"foobar", -790332482},
	         {"a-little-bit-long-string", -985981536},
	         {"a-little-bit-longer-string", -1486304829},
	         {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	         {"abc", 479470107}};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_int_equal((int32_t)ev_murmur2(v[i].s, strlen(v[i].s)), v[i].h);
}

#define KEYS_N 60

struct key_seen {
	void *bytes;
	size_t len;
	int32_t partition;
	int events, tombstones;
};

/* Reads `table`'s topic and checks that every message sits in the partition murmur2_random gives for its
 * key bytes, that each of the KEYS_N keys (numbered by its integer key column, 1..KEYS_N) always has the
 * same bytes and partition, and that it has want_events_lo events (want_events_hi and a tombstone when
 * its number is below deleted_below). */
static void keys_check(struct ctest *t, const char *table, int want_events_lo, int want_events_hi,
                       int deleted_below)
{
	const char *topic = ctest_topic(t, table);
	int nparts = kafkatest_partition_count(topic, EV_WAIT_MS);
	struct ktest_msgs *m = kafkatest_consume_to_end(topic, EV_WAIT_MS);
	struct ktest_schemas *schemas = kafkatest_schemas_load(t->prefix);
	struct key_seen seen[KEYS_N];
	int used[64] = {0}, nused = 0;

	assert_true(nparts > 1 && nparts <= 64);
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < m->n; i++) {
		const struct ktest_msg *k = &m->v[i];
		json_t *key;
		struct key_seen *s;
		int id;

		assert_non_null(k->key);
		if (k->partition != ev_partition_of(k->key, k->key_len, nparts))
			fail_msg("%s: message at %d/%lld is in partition %d; murmur2 of its %zu key bytes says %d",
			         table, k->partition, (long long)k->offset, k->partition, k->key_len,
			         ev_partition_of(k->key, k->key_len, nparts));
		key = kafkatest_decode(schemas, k->key, k->key_len);
		/* both tables: the key's integer column counts 1..KEYS_N */
		id = (int)json_integer_value(json_object_get(key, json_object_get(key, "id") ? "id" : "b"));
		json_decref(key);
		assert_true(id >= 1 && id <= KEYS_N);
		s = &seen[id - 1];
		if (!s->bytes) {
			s->bytes = malloc(k->key_len);
			assert_non_null(s->bytes);
			memcpy(s->bytes, k->key, k->key_len);
			s->len = k->key_len;
			s->partition = k->partition;
			if (!used[k->partition]++)
				nused++;
		} else if (s->len != k->key_len || memcmp(s->bytes, k->key, k->key_len) != 0) {
			fail_msg("%s: key %d has other bytes at %d/%lld", table, id, k->partition,
			         (long long)k->offset);
		}
		assert_int_equal(s->partition, k->partition);
		if (k->value)
			s->events++;
		else
			s->tombstones++;
	}
	for (int i = 0; i < KEYS_N; i++) {
		bool deleted = i + 1 < deleted_below;

		assert_int_equal(seen[i].events, deleted ? want_events_hi : want_events_lo);
		assert_int_equal(seen[i].tombstones, deleted ? 1 : 0);
		free(seen[i].bytes);
	}
	/* 60 keys over the partitions: a test that used one partition would prove little */
	assert_true(nused > 1);
	kafkatest_schemas_free(schemas);
	ktest_msgs_free(m);
}

/* Every event of a key, its updates, a schema change of the value and its delete and tombstone included,
 * lands in one partition: the one murmur2_random picks for the key bytes, which do not change. */
static void test_key_partitions(void **state)
{
	struct ctest *t = *state;

	ev_check_murmur2();
	ctest_init(t,
	           "CREATE TABLE k (id integer PRIMARY KEY, v integer);"
	           " CREATE TABLE kc (a text, b integer, v integer, PRIMARY KEY (a, b))",
	           "public.k, public.kc", NULL, NULL);
	ctest_start(t);
	ctest_exec_and_wait(t, testenv_fmt("INSERT INTO k SELECT g, 0 FROM generate_series(1, %d) g;"
	                                   " INSERT INTO kc SELECT 'key-' || g, g, 0 FROM generate_series(1, %d) g",
	                                   KEYS_N, KEYS_N));
	ctest_exec_and_wait(t, "UPDATE k SET v = 1; UPDATE kc SET v = 1");
	for (int i = 1; i <= KEYS_N; i++)
		pgtest_exec(t->pg, "UPDATE k SET v = v + 1 WHERE id = %d; UPDATE kc SET v = v + 1 WHERE b = %d", i, i);
	/* a new value schema: the key schema, and so the key bytes, stay the same */
	ctest_exec_and_wait(t, "ALTER TABLE k ADD COLUMN w text; ALTER TABLE kc ADD COLUMN w text");
	ctest_exec_and_wait(t, "UPDATE k SET w = 'x'; UPDATE kc SET w = 'x'");
	ctest_exec_and_wait(t, "DELETE FROM k WHERE id < 31; DELETE FROM kc WHERE b < 31");
	/* c + 3 u, and a d for the deleted half */
	keys_check(t, "public.k", 4, 5, 31);
	keys_check(t, "public.kc", 4, 5, 31);
	assert_int_equal(ctest_stop(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replica_identity_default, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_replica_identity_full, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_replica_identity_full_toast, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_commit_order, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_idle_confirm, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_key_partitions, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_large_transaction, ctest_setup, ctest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
