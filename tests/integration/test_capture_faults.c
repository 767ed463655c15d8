/* test_capture_faults.c: `cleave capture` loses nothing (SPEC.md §4) when it is killed, when Kafka's
 * brokers go away or fail requests, when PostgreSQL restarts, and when it is asked to stop.
 *
 * Each test runs a workload of numbered batches from its own connection: batch b is one transaction that
 * inserts `rows` new rows (ids b*rows+1 ...), and optionally updates the `hot` rows 1..hot (so those keys
 * get one event per batch: per-key order has something to prove) and deletes one older row. After each
 * commit the test records L[b] = pg_current_wal_lsn(), so the end of batch b's commit record is <= L[b].
 * Two checks follow from capture/progress.h:
 *  - whenever capture is not running, every batch with L[b] <= confirmed_flush_lsn has all its events in
 *    Kafka (capture never confirms past an event Kafka has not acknowledged);
 *  - at the end, every event of every batch is in Kafka at least once, a sink that skips replays (an event
 *    at or below the highest (commit_lsn, seq) it applied in the partition, §4) applies every event and
 *    each key's events in commit order, and each row's last event matches the row in PostgreSQL.
 * Duplicates (at-least-once) are allowed, counted and printed. Tests that inject faults into Kafka need the
 * mock and skip themselves against a real broker. The whole file takes ~2 min (ASan, 2 cores); one test:
 * CLEAVE_TEST_FILTER=test_produce_errors_retriable tests/run.sh -R capture_faults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/lsn.h"
#include "tests/support/capturetest.h"
#include "tests/support/mockctl.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

#define FX_TABLE "public.items"
#define FX_BROKERS 3            /* the mock cluster tests/run.sh starts */
#define FX_CATCH_UP_MS 120000   /* capture confirming a backlog (ASan, 2 cores) */
#define FX_READ_MS 120000       /* reading a whole topic back */
#define FX_EXIT_MS 20000        /* SIGTERM to exit: flush and confirm */
#define FX_MAX_PARTITIONS 64

/* ---- the workload ---- */

struct wl {
	PGconn *conn;  /* the workload's own connection */
	int rows;      /* rows inserted per batch */
	int hot;       /* rows 1..hot are updated by every batch but the first */
	bool deletes;  /* batch b >= 2 deletes the last row of batch b - 2 */
	int n, cap;    /* batches committed */
	lsn_t *lsn;    /* lsn[b]: pg_current_wal_lsn() right after batch b committed */
};

static lsn_t fx_lsn(char *text)
{
	lsn_t l = 0;

	if (!text || lsn_parse(text, &l) < 0)
		fail_msg("not an LSN: %s", text ? text : "NULL");
	free(text);
	return l;
}

/* Events (not counting tombstones) batch b produces. */
static int wl_events(const struct wl *w, int b)
{
	return w->rows + (b >= 1 ? w->hot : 0) + (b >= 2 && w->deletes ? 1 : 0);
}

static long long wl_max_id(const struct wl *w)
{
	return (long long)w->n * w->rows;
}

/* Appends batch b's transaction and the query of the LSN after it to sql. */
static void wl_sql(const struct wl *w, int b, struct buf *sql)
{
	long long lo = (long long)b * w->rows + 1;
	int rc = buf_printf(sql,
	                    "BEGIN; INSERT INTO items SELECT g, %d, 'row ' || g || ' batch %d'"
	                    " FROM generate_series(%lld, %lld) g;",
	                    b, b, lo, lo + w->rows - 1);

	if (rc == 0 && b >= 1 && w->hot > 0)
		rc = buf_printf(sql, " UPDATE items SET batch = %d, payload = 'row ' || id || ' batch %d' WHERE id <= %d;",
		                b, b, w->hot);
	if (rc == 0 && b >= 2 && w->deletes)
		rc = buf_printf(sql, " DELETE FROM items WHERE id = %lld;", (long long)(b - 1) * w->rows);
	if (rc < 0 || buf_puts(sql, " COMMIT; SELECT pg_current_wal_lsn();") < 0)
		fail_msg("out of memory");
}

/* Commits the next n batches, as one round trip per WL_CHUNK of them (so the workload can outrun
 * capture), and records their LSNs. */
#define WL_CHUNK 25
static void wl_commit(struct wl *w, int n)
{
	struct buf sql;

	buf_init(&sql, 0);
	while (n > 0) {
		int k = n < WL_CHUNK ? n : WL_CHUNK, got = 0;
		PGresult *res;
		char err[512] = "";

		if (w->n + k > w->cap) {
			int ncap = w->cap ? w->cap * 2 : 1024;
			lsn_t *v;

			while (ncap < w->n + k)
				ncap *= 2;
			if (!(v = realloc(w->lsn, (size_t)ncap * sizeof *v)))
				fail_msg("out of memory");
			w->lsn = v;
			w->cap = ncap;
		}
		buf_reset(&sql);
		for (int i = 0; i < k; i++)
			wl_sql(w, w->n + i, &sql);
		if (!PQsendQuery(w->conn, (const char *)sql.data))
			snprintf(err, sizeof err, "%s", PQerrorMessage(w->conn));
		/* a multi-statement query: one result per statement, then NULL */
		while ((res = PQgetResult(w->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			if (st == PGRES_TUPLES_OK && !err[0]) {
				if (got >= k || lsn_parse(PQgetvalue(res, 0, 0), &w->lsn[w->n + got]) < 0)
					snprintf(err, sizeof err, "unexpected result %s", PQgetvalue(res, 0, 0));
				got++;
			} else if (st != PGRES_COMMAND_OK && !err[0]) {
				snprintf(err, sizeof err, "%s", PQresultErrorMessage(res));
			}
			PQclear(res);
		}
		if (!err[0] && got != k)
			snprintf(err, sizeof err, "%d LSNs for %d batches", got, k);
		if (err[0]) {
			buf_free(&sql);
			fail_msg("workload, batches %d..%d: %s", w->n, w->n + k - 1, err);
		}
		w->n += k;
		n -= k;
	}
	buf_free(&sql);
}

/* ---- one test's deployment, torn down even when the test fails ---- */

struct fx {
	struct ctest t;
	struct wl wl;
	bool pg_down;      /* the test stopped PostgreSQL and has not started it again */
	bool mock_touched; /* the test injected faults into the mock: undo them */
};

static int fx_setup(void **state)
{
	*state = calloc(1, sizeof(struct fx));
	return *state ? 0 : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->mock_touched) {
		for (int i = 1; i <= FX_BROKERS; i++) {
			free(mockctl("up %d", i));
			free(mockctl("rtt %d 0", i));
		}
		free(mockctl("clear 0"));
	}
	if (f->pg_down)
		pgtest_server_start();
	if (f->wl.conn)
		PQfinish(f->wl.conn);
	free(f->wl.lsn);
	if (f->t.db)
		ctest_fini(&f->t);
	free(f);
	return 0;
}

/* kafka_props: more kafka.properties lines for capture's config, or NULL. */
static void fx_init_props(struct fx *f, int rows, int hot, bool deletes, const char *kafka_props)
{
	ctest_init(&f->t, "CREATE TABLE items (id bigint PRIMARY KEY, batch int NOT NULL, payload text NOT NULL)",
	           FX_TABLE, NULL, kafka_props);
	f->wl.conn = pgtest_connect(f->t.db);
	f->wl.rows = rows;
	f->wl.hot = hot;
	f->wl.deletes = deletes;
}

static void fx_init(struct fx *f, int rows, int hot, bool deletes)
{
	fx_init_props(f, rows, hot, deletes, NULL);
}

static lsn_t fx_confirmed(struct fx *f)
{
	return fx_lsn(ctest_confirmed(&f->t));
}

static bool fx_running(struct fx *f)
{
	return f->t.capture && proc_wait(f->t.capture, 0) == -1;
}

/* Fails unless capture confirms every batch committed so far within FX_CATCH_UP_MS. */
static void fx_wait_caught_up(struct fx *f)
{
	const char *lsn;

	if (f->wl.n == 0)
		return;
	lsn = testenv_fmt(LSN_FMT, LSN_ARGS(f->wl.lsn[f->wl.n - 1]));
	if (!ctest_wait_confirmed(&f->t, lsn, FX_CATCH_UP_MS)) {
		if (f->t.capture)
			proc_print_log(f->t.capture, 60);
		fail_msg("capture did not confirm batch %d (%s) within %d s", f->wl.n - 1, lsn, FX_CATCH_UP_MS / 1000);
	}
}

/* ---- what Kafka holds ---- */

/* One message of the topic, with what the checks need. pos: index of its (commit_lsn, seq) among the
 * distinct positions (a tombstone has its event's). */
struct fx_msg {
	int32_t partition;
	int64_t offset;
	long long id;
	size_t pos;
	size_t ev; /* index in the ctest_events list */
	bool tombstone;
};

struct fx_seen {
	struct ctest_events *ev; /* sorted by (commit_lsn, seq), see capturetest.h */
	struct fx_msg *msg;      /* same order */
	size_t nmsg;
	size_t events;           /* messages that are not tombstones */
	size_t npos;             /* distinct (commit_lsn, seq) */
	int64_t *pos_lsn, *pos_seq;
	int *pos_batch;
	int *per_batch;          /* distinct events of each batch */
};

static void fx_seen_free(struct fx_seen *s)
{
	ctest_events_free(s->ev);
	free(s->msg);
	free(s->pos_lsn);
	free(s->pos_seq);
	free(s->pos_batch);
	free(s->per_batch);
	memset(s, 0, sizeof *s);
}

static json_int_t fx_json_int(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		fail_msg("event field %s is not an integer", name);
	return json_integer_value(v);
}

/* The batch whose commit record is at commit_lsn: the first b with commit_lsn < L[b]. */
static int fx_batch_of(const struct wl *w, int64_t commit_lsn)
{
	int lo = 0, hi = w->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if ((lsn_t)commit_lsn < w->lsn[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == w->n)
		fail_msg("an event has commit_lsn " LSN_FMT ", after the last batch the test committed", LSN_ARGS(commit_lsn));
	return lo;
}

/* Reads the whole topic (capture must not be producing, or what it adds later is simply not seen). */
static void fx_seen_read(struct fx *f, struct fx_seen *s)
{
	const struct wl *w = &f->wl;
	int64_t prev_lsn = -1, prev_seq = -1;
	bool starts[FX_MAX_PARTITIONS] = {false};

	memset(s, 0, sizeof *s);
	s->ev = ctest_events(&f->t, FX_TABLE, FX_READ_MS);
	s->nmsg = s->ev->n;
	s->msg = calloc(s->nmsg ? s->nmsg : 1, sizeof *s->msg);
	s->pos_lsn = calloc(s->nmsg ? s->nmsg : 1, sizeof *s->pos_lsn);
	s->pos_seq = calloc(s->nmsg ? s->nmsg : 1, sizeof *s->pos_seq);
	s->pos_batch = calloc(s->nmsg ? s->nmsg : 1, sizeof *s->pos_batch);
	s->per_batch = calloc(w->n ? (size_t)w->n : 1, sizeof *s->per_batch);
	if (!s->msg || !s->pos_lsn || !s->pos_seq || !s->pos_batch || !s->per_batch)
		fail_msg("out of memory");
	for (size_t i = 0; i < s->nmsg; i++) {
		const struct ctest_event *e = &s->ev->v[i];
		struct fx_msg *m = &s->msg[i];

		/* the mock trims a partition's log beyond 5 MB: what is gone was not lost by capture */
		if (e->offset == 0 && e->partition >= 0 && e->partition < FX_MAX_PARTITIONS)
			starts[e->partition] = true;
		m->partition = e->partition;
		m->offset = e->offset;
		m->ev = i;
		if (!e->key)
			fail_msg("message %d/%" PRId64 " has no key", e->partition, e->offset);
		m->id = (long long)fx_json_int(e->key, "id");
		m->tombstone = e->value == NULL;
		if (m->tombstone) {
			if (s->npos == 0)
				fail_msg("tombstone %d/%" PRId64 " before any event", e->partition, e->offset);
			m->pos = s->npos - 1;
			continue;
		}
		s->events++;
		{
			const json_t *src = json_object_get(e->value, "source");
			int64_t lsn = (int64_t)fx_json_int(src, "commit_lsn"), seq = (int64_t)fx_json_int(src, "seq");

			if (lsn != prev_lsn || seq != prev_seq) {
				s->pos_lsn[s->npos] = lsn;
				s->pos_seq[s->npos] = seq;
				s->pos_batch[s->npos] = fx_batch_of(w, lsn);
				s->per_batch[s->pos_batch[s->npos]]++;
				s->npos++;
				prev_lsn = lsn;
				prev_seq = seq;
			}
		}
		m->pos = s->npos - 1;
	}
	for (size_t i = 0; i < s->nmsg; i++)
		if (s->ev->v[i].partition < 0 || s->ev->v[i].partition >= FX_MAX_PARTITIONS ||
		    !starts[s->ev->v[i].partition])
			fail_msg("partition %d of %s does not start at offset 0: Kafka trimmed it, the test cannot tell"
			         " what was lost", s->ev->v[i].partition, ctest_topic(&f->t, FX_TABLE));
}

/* Capture is not running: every batch that confirmed_flush_lsn covers must be wholly in Kafka. Returns
 * the number of batches covered. */
static int fx_check_confirmed_in_kafka(struct fx *f, const char *when)
{
	struct fx_seen s;
	lsn_t c = fx_confirmed(f);
	int covered = 0, complete = 0;

	if (fx_running(f))
		fail_msg("%s: capture is still running", when);
	fx_seen_read(f, &s);
	for (int b = 0; b < f->wl.n; b++) {
		if (s.per_batch[b] == wl_events(&f->wl, b))
			complete++;
		if (f->wl.lsn[b] > c)
			continue;
		covered++;
		if (s.per_batch[b] != wl_events(&f->wl, b)) {
			int have = s.per_batch[b], want = wl_events(&f->wl, b);

			fx_seen_free(&s);
			fail_msg("%s: confirmed_flush_lsn " LSN_FMT " is past batch %d (committed before " LSN_FMT
			         "), but only %d of its %d events are in Kafka",
			         when, LSN_ARGS(c), b, LSN_ARGS(f->wl.lsn[b]), have, want);
		}
	}
	print_message("%s: confirmed_flush_lsn " LSN_FMT " covers %d of %d committed batches; %d are wholly in"
	              " Kafka (%zu messages, %zu events, %zu duplicates)\n",
	              when, LSN_ARGS(c), covered, f->wl.n, complete, s.nmsg, s.events, s.events - s.npos);
	fx_seen_free(&s);
	return covered;
}

static int fx_msg_offset_cmp(const void *a, const void *b)
{
	const struct fx_msg *x = *(const struct fx_msg *const *)a, *y = *(const struct fx_msg *const *)b;

	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Per partition in offset order, as a sink does (§4): an event at or below the highest position applied
 * in its partition is a replay and is skipped. Every distinct event must be applied at least once (a
 * sink would otherwise lose it), which also means each key's applied events are in commit order; and,
 * literally, the first copy of each of a key's events comes in commit order. */
static void fx_check_order(const struct fx_seen *s)
{
	struct fx_msg **by_off = calloc(s->nmsg ? s->nmsg : 1, sizeof *by_off);
	bool *applied = calloc(s->npos ? s->npos : 1, 1), *first = calloc(s->npos ? s->npos : 1, 1);
	/* for an event not applied (yet): its first copy, and the event that made the sink skip it */
	const struct fx_msg **skipped_at = calloc(s->npos ? s->npos : 1, sizeof *skipped_at);
	const struct fx_msg **skipped_hw = calloc(s->npos ? s->npos : 1, sizeof *skipped_hw);
	long long max_id = 0;
	size_t *key_max, skipped = 0, lost = 0, reordered = 0;
	char key_example[400] = "", lost_example[600] = "";

	if (!by_off || !applied || !first || !skipped_at || !skipped_hw)
		fail_msg("out of memory");
	for (size_t i = 0; i < s->nmsg; i++) {
		by_off[i] = &s->msg[i];
		if (s->msg[i].id > max_id)
			max_id = s->msg[i].id;
	}
	key_max = calloc((size_t)max_id + 1, sizeof *key_max); /* 1 + highest pos index seen, 0: none */
	if (!key_max)
		fail_msg("out of memory");
	qsort(by_off, s->nmsg, sizeof *by_off, fx_msg_offset_cmp);
	for (size_t i = 0; i < s->nmsg;) {
		int32_t part = by_off[i]->partition;
		size_t hw = 0; /* 1 + highest pos index applied in this partition, 0: none */
		const struct fx_msg *hw_msg = NULL;

		for (; i < s->nmsg && by_off[i]->partition == part; i++) {
			const struct fx_msg *m = by_off[i];

			if (m->tombstone || m->id <= 0)
				continue;
			/* positions are numbered in (commit_lsn, seq) order, so comparing indexes compares positions */
			if (m->pos + 1 > hw) {
				applied[m->pos] = true;
				hw = m->pos + 1;
				hw_msg = m;
			} else {
				skipped++;
				if (!applied[m->pos] && !skipped_at[m->pos]) {
					skipped_at[m->pos] = m;
					skipped_hw[m->pos] = hw_msg;
				}
			}
			if (!first[m->pos]) {
				first[m->pos] = true;
				if (m->pos + 1 < key_max[m->id]) {
					if (!reordered++)
						snprintf(key_example, sizeof key_example,
						         "key %lld: event (commit_lsn " LSN_FMT ", seq %" PRId64 ") first appears at"
						         " %d/%" PRId64 ", after a later event of the key",
						         m->id, LSN_ARGS(s->pos_lsn[m->pos]), s->pos_seq[m->pos], m->partition, m->offset);
				} else {
					key_max[m->id] = m->pos + 1;
				}
			}
		}
	}
	for (size_t p = 0; p < s->npos; p++) {
		const struct fx_msg *at = skipped_at[p], *hwm = skipped_hw[p];

		if (applied[p])
			continue;
		if (!lost++ && at && hwm)
			snprintf(lost_example, sizeof lost_example,
			         "event (commit_lsn " LSN_FMT ", seq %" PRId64 ", batch %d, key %lld) first comes at %d/%" PRId64
			         ", after the later event (commit_lsn " LSN_FMT ", seq %" PRId64 ", batch %d, key %lld) at %d/%"
			         PRId64 ", so a sink skipping replays never applies it",
			         LSN_ARGS(s->pos_lsn[p]), s->pos_seq[p], s->pos_batch[p], at->id, at->partition, at->offset,
			         LSN_ARGS(s->pos_lsn[hwm->pos]), s->pos_seq[hwm->pos], s->pos_batch[hwm->pos], hwm->id,
			         hwm->partition, hwm->offset);
	}
	free(by_off);
	free(applied);
	free(first);
	free(skipped_at);
	free(skipped_hw);
	free(key_max);
	if (reordered || lost)
		fail_msg("per-partition order broken: %zu event(s) first appear after a later event of their key%s%s;"
		         " %zu event(s) would never be applied by a sink that skips replays%s%s",
		         reordered, reordered ? ", e.g. " : "", key_example, lost, lost ? ", e.g. " : "", lost_example);
	print_message("order: every event applied by a replay-skipping sink, %zu replayed copies skipped\n", skipped);
}

/* Each row's last event (by commit_lsn, seq) matches the row in PostgreSQL: a create or update whose
 * `after` is the row, or, for a row deleted, a delete followed by a tombstone. */
static void fx_check_final_state(struct fx *f, const struct fx_seen *s)
{
	long long max_id = wl_max_id(&f->wl), rows = 0, deleted = 0;
	size_t *last = calloc((size_t)max_id + 1, sizeof *last); /* 1 + index in s->msg, 0: none */
	bool *tomb = calloc((size_t)max_id + 1, 1);
	PGresult *res = pgtest_query(f->wl.conn, "SELECT id, batch, payload FROM items ORDER BY id");
	int nres = PQntuples(res), r = 0;
	char bad[512] = "";

	if (!last || !tomb)
		fail_msg("out of memory");
	for (size_t i = 0; i < s->nmsg; i++) {
		const struct fx_msg *m = &s->msg[i];

		if (m->id < 1 || m->id > max_id) {
			snprintf(bad, sizeof bad, "message %d/%" PRId64 " has key %lld, not a row the test wrote", m->partition,
			         m->offset, m->id);
			break;
		}
		if (m->tombstone) {
			tomb[m->id] = true;
		} else {
			last[m->id] = i + 1;
			tomb[m->id] = false;
		}
	}
	for (long long id = 1; id <= max_id && !bad[0]; id++) {
		const json_t *v, *after;
		const char *op;

		if (!last[id]) {
			snprintf(bad, sizeof bad, "row %lld: no event in Kafka", id);
			break;
		}
		v = s->ev->v[s->msg[last[id] - 1].ev].value;
		op = json_string_value(json_object_get(v, "op"));
		after = json_object_get(v, "after");
		if (r < nres && atoll(PQgetvalue(res, r, 0)) == id) {
			const json_t *payload = json_object_get(after, "payload");

			rows++;
			if (!op || (strcmp(op, "c") != 0 && strcmp(op, "u") != 0) || !json_is_object(after) ||
			    fx_json_int(after, "id") != id || fx_json_int(after, "batch") != atoi(PQgetvalue(res, r, 1)) ||
			    !json_is_string(payload) || strcmp(json_string_value(payload), PQgetvalue(res, r, 2)) != 0) {
				char *j = json_dumps(v, JSON_SORT_KEYS);

				snprintf(bad, sizeof bad, "row %lld (batch %s, %s): last event is %.300s", id, PQgetvalue(res, r, 1),
				         PQgetvalue(res, r, 2), j ? j : "?");
				free(j);
			}
			r++;
		} else {
			deleted++;
			if (!op || strcmp(op, "d") != 0 || !tomb[id])
				snprintf(bad, sizeof bad, "row %lld was deleted, but its last event is op %s%s", id, op ? op : "?",
				         tomb[id] ? "" : " without a tombstone after it");
		}
	}
	if (!bad[0] && r != nres)
		snprintf(bad, sizeof bad, "PostgreSQL has %d rows, %d of them with ids the workload did not write", nres,
		         nres - r);
	PQclear(res);
	free(last);
	free(tomb);
	if (bad[0])
		fail_msg("%s", bad);
	print_message("final state: %lld rows and %lld deletions match their last event\n", rows, deleted);
}

/* Capture has stopped: everything is in Kafka, in order, and the last events are the rows. When keep is
 * not NULL, it receives what was read (the caller frees it with fx_seen_free). */
static void fx_check_all(struct fx *f, const char *name, struct fx_seen *keep)
{
	struct fx_seen s;
	int64_t t0 = clock_mono_ms();

	if (fx_running(f))
		fail_msg("capture is still running");
	fx_seen_read(f, &s);
	for (int b = 0; b < f->wl.n; b++) {
		if (s.per_batch[b] != wl_events(&f->wl, b)) {
			int have = s.per_batch[b], want = wl_events(&f->wl, b);

			fx_seen_free(&s);
			fail_msg("batch %d (committed before " LSN_FMT "): %d of its %d events are in Kafka", b,
			         LSN_ARGS(f->wl.lsn[b]), have, want);
		}
	}
	fx_check_order(&s);
	fx_check_final_state(f, &s);
	print_message("%s: %d batches, %zu distinct events all in Kafka; %zu messages, %zu duplicate events"
	              " (checked in %" PRId64 " ms)\n",
	              name, f->wl.n, s.npos, s.nmsg, s.events - s.npos, clock_mono_ms() - t0);
	if (keep)
		*keep = s;
	else
		fx_seen_free(&s);
}

/* The commit_lsn (start of the commit record) of batch b, from its events. */
static lsn_t fx_commit_lsn(const struct fx_seen *s, int b)
{
	for (size_t p = 0; p < s->npos; p++)
		if (s->pos_batch[p] == b)
			return (lsn_t)s->pos_lsn[p];
	fail_msg("batch %d has no event in Kafka", b);
	return 0;
}

/* ---- the tests ---- */

static void fx_stop_ok(struct fx *f)
{
	int64_t t0 = clock_mono_ms();
	int st;

	proc_kill(f->t.capture, SIGTERM);
	st = proc_wait(f->t.capture, FX_EXIT_MS);
	if (st != 0) {
		proc_print_log(f->t.capture, 60);
		fail_msg("capture exited with status %d %" PRId64 " ms after SIGTERM (-1: still running after %d s)", st,
		         clock_mono_ms() - t0, FX_EXIT_MS / 1000);
	}
	proc_free(f->t.capture);
	f->t.capture = NULL;
	print_message("capture exited 0 %" PRId64 " ms after SIGTERM\n", clock_mono_ms() - t0);
}

/* Polls closely (so capture is caught with work in flight) until confirmed_flush_lsn covers batch
 * `target`, then SIGKILLs capture and checks that nothing it confirmed is missing from Kafka. Returns the
 * batches covered. */
static int fx_kill_at(struct fx *f, int target, const char *when)
{
	int64_t deadline = clock_mono_ms() + FX_CATCH_UP_MS;
	int covered;

	assert_true(target < f->wl.n);
	while (fx_confirmed(f) < f->wl.lsn[target]) {
		struct timespec ts = {0, 2 * 1000000L};

		if (!fx_running(f) || clock_mono_ms() > deadline) {
			proc_print_log(f->t.capture, 60);
			fail_msg("%s: capture did not confirm batch %d within %d s", when, target, FX_CATCH_UP_MS / 1000);
		}
		nanosleep(&ts, NULL);
	}
	ctest_kill(&f->t);
	covered = fx_check_confirmed_in_kafka(f, when);
	assert_true(covered > target);
	return covered;
}

/* A steady load of one batch every FX_PACE_MS (the workload's rate, not a wait for a condition): commits
 * until confirmed_flush_lsn covers batch `target` or `max` batches were committed. */
#define FX_PACE_MS 10
static void fx_load_until(struct fx *f, int target, int max)
{
	for (int n = 0; n < max; n++) {
		struct timespec ts = {0, FX_PACE_MS * 1000000L};

		if (target >= 0 && target < f->wl.n && fx_confirmed(f) >= f->wl.lsn[target])
			return;
		wl_commit(&f->wl, 1);
		nanosleep(&ts, NULL);
	}
}

/* The steady load for n batches. */
static void fx_load(struct fx *f, int n)
{
	fx_load_until(f, -1, n);
}

/* 1. SIGKILL at four moments of a 100,000-row load (1,000 transactions of 100 rows), each time checking
 * that confirmed_flush_lsn had not passed an unacknowledged event; the load goes on while capture is
 * dead. */
static void test_sigkill_during_load(void **state)
{
	struct fx *f = *state;
	const int total = 1000;
	int first;

	testenv_require_mock();
	fx_init(f, 100, 0, false);
	f->mock_touched = true;
	/* 8 partitions keep each under the mock's 5 MB per-partition log limit, duplicates included */
	mockctl_ok("topic %s 8", ctest_topic(&f->t, FX_TABLE));

	/* right after start: a steady load, killed as soon as capture confirmed its first transaction */
	ctest_start(&f->t);
	first = f->wl.n;
	fx_load_until(f, first, 120);
	fx_kill_at(f, first, "kill 1 (right after start)");
	wl_commit(&f->wl, 20);

	/* mid-load: killed once capture confirmed 100 transactions of a steady load */
	ctest_start(&f->t);
	first = f->wl.n;
	fx_load_until(f, first + 100, 200);
	fx_kill_at(f, first + 100, "kill 2 (mid-load)");
	wl_commit(&f->wl, 20);

	/* Kafka slowed: every broker answers 300 ms late, so whatever was committed in the last 300 ms before
	 * the kill cannot have been acknowledged */
	for (int i = 1; i <= FX_BROKERS; i++)
		mockctl_ok("rtt %d 300", i);
	ctest_start(&f->t);
	first = f->wl.n;
	fx_load_until(f, first + 50, 300);
	assert_true(fx_kill_at(f, first + 50, "kill 3 (Kafka slowed)") < f->wl.n);
	for (int i = 1; i <= FX_BROKERS; i++)
		mockctl_ok("rtt %d 0", i);
	wl_commit(&f->wl, 20);

	/* a big burst: once capture runs, transactions as fast as the server takes them (25 per round trip),
	 * killed as soon as capture confirmed the first of them, the burst still going */
	ctest_start(&f->t);
	wl_commit(&f->wl, 1);
	fx_wait_caught_up(f);
	first = f->wl.n;
	do
		wl_commit(&f->wl, 25);
	while (f->wl.n - first < 300 && fx_confirmed(f) < f->wl.lsn[first]);
	fx_kill_at(f, first, "kill 4 (big burst)");

	/* the rest, then a clean stop */
	ctest_start(&f->t);
	assert_true(f->wl.n <= total);
	wl_commit(&f->wl, total - f->wl.n);
	fx_wait_caught_up(f);
	fx_stop_ok(f);
	assert_int_equal(f->wl.n, total);
	assert_int_equal(wl_max_id(&f->wl), 100000);
	fx_check_all(f, "SIGKILL x4", NULL);
}

/* Takes every broker of the mock down (or up). */
static void fx_brokers(struct fx *f, const char *verb)
{
	f->mock_touched = true;
	for (int i = 1; i <= FX_BROKERS; i++)
		mockctl_ok("%s %d", verb, i);
}

/* 2. Every broker down for 10 s while the workload commits: confirmed_flush_lsn stands still, capture
 * waits instead of failing, then catches up; nothing lost, per-key order kept. */
#define FX_OUTAGE_MS 10000
#define FX_OUTAGE_GRACE_MS 1000
static void test_brokers_down(void **state)
{
	struct fx *f = *state;
	struct fx_seen s;
	lsn_t c_start = 0, c_end, first_commit;
	int64_t t0;
	int first_down, n_start = 0;

	testenv_require_mock();
	fx_init(f, 100, 10, true);
	ctest_start(&f->t);
	fx_load_until(f, 20, 100);
	wl_commit(&f->wl, 10); /* in flight when the brokers go */
	fx_brokers(f, "down");
	first_down = f->wl.n;
	t0 = clock_mono_ms();
	/* The outage, with a batch every 100 ms. Acknowledgements already on their way when the brokers went
	 * down may still be confirmed for a status interval (200 ms): the window starts after a grace period. */
	while (clock_mono_ms() - t0 < FX_OUTAGE_MS) {
		struct timespec ts = {0, 100 * 1000000L};

		wl_commit(&f->wl, 1);
		if (!n_start && clock_mono_ms() - t0 >= FX_OUTAGE_GRACE_MS) {
			c_start = fx_confirmed(f);
			n_start = f->wl.n;
		}
		nanosleep(&ts, NULL);
	}
	c_end = fx_confirmed(f);
	if (!fx_running(f)) {
		proc_print_log(f->t.capture, 40);
		fail_msg("capture exited while the brokers were down");
	}
	fx_brokers(f, "up");
	print_message("outage: confirmed_flush_lsn " LSN_FMT " at %d s with %d batches committed, " LSN_FMT
	              " at %d s with %d\n",
	              LSN_ARGS(c_start), FX_OUTAGE_GRACE_MS / 1000, n_start, LSN_ARGS(c_end), FX_OUTAGE_MS / 1000,
	              f->wl.n);
	assert_true(f->wl.n - n_start >= 50);
	if (c_end != c_start)
		fail_msg("confirmed_flush_lsn moved from " LSN_FMT " to " LSN_FMT " while every broker was down",
		         LSN_ARGS(c_start), LSN_ARGS(c_end));

	/* after: capture catches up by itself */
	fx_load(f, 20);
	fx_wait_caught_up(f);
	assert_true(fx_running(f));
	fx_stop_ok(f);
	fx_check_all(f, "brokers down 10 s", &s);
	first_commit = fx_commit_lsn(&s, first_down);
	fx_seen_free(&s);
	if (c_end > first_commit)
		fail_msg("during the outage confirmed_flush_lsn " LSN_FMT " passed the commit " LSN_FMT " of batch %d,"
		         " committed after the brokers went down",
		         LSN_ARGS(c_end), LSN_ARGS(first_commit), first_down);
}

/* The LSN of the last "streaming publication ... from X/X" line of capture's log. */
static lsn_t fx_log_stream_start(struct fx *f)
{
	char *text = ctest_read_file(proc_log_path(f->t.capture)), *at = NULL, *p = text;
	char lsn[32] = "";
	lsn_t l = 0;

	while ((p = strstr(p, "streaming publication ")) != NULL)
		at = p++;
	if (at && (at = strstr(at, " from ")) != NULL)
		sscanf(at + 6, "%31[0-9A-F/]", lsn);
	free(text);
	if (!lsn[0] || lsn_parse(lsn, &l) < 0)
		fail_msg("no \"streaming publication ... from X/X\" line in capture's log");
	return l;
}

/* 3. Produce requests failing. Each fault meets a burst of FX_ERROR_BURST transactions, so many
 * messages queue behind the failing request. */
#define FX_ERROR_BURST 50

/* 3a. Retriable errors are retried by the producer: capture goes on, loses nothing, reorders nothing.
 *
 * One request in flight per connection: the mock cluster does not check an idempotent producer's
 * sequence numbers (only a transactional one's), so with requests pipelined it appends a request sent
 * after one it failed. librdkafka then counts the failed messages as delivered (a real broker refuses the
 * later request with OUT_OF_ORDER_SEQUENCE_NUMBER, so its success proves the earlier one was written;
 * the debug log says "implicitly acked by subsequent batch success") and they are lost, or the retry lands
 * after the later request, out of order. Pipelining against a broker that does check is left to the
 * guarantee of the idempotent producer; what this test checks is capture's part: it waits, confirms
 * nothing early and needs no restart. */
static void test_produce_errors_retriable(void **state)
{
	static const struct {
		int code;
		const char *name;
	} retriable[] = {{6, "NOT_LEADER_OR_FOLLOWER"}, {7, "REQUEST_TIMED_OUT"}, {19, "NOT_ENOUGH_REPLICAS"}};
	struct fx *f = *state;

	testenv_require_mock();
	fx_init_props(f, 100, 10, true, "    max.in.flight.requests.per.connection: 1\n");
	ctest_start(&f->t);
	fx_load_until(f, 0, 100); /* the producer is connected */
	f->mock_touched = true;
	for (size_t i = 0; i < sizeof retriable / sizeof retriable[0]; i++) {
		proc_log_mark(f->t.capture);
		mockctl_ok("errors 0 5 %d", retriable[i].code);
		wl_commit(&f->wl, FX_ERROR_BURST);
		fx_wait_caught_up(f);
		mockctl_ok("clear 0");
		if (proc_poll_log(f->t.capture, "retrying in", 0)) {
			proc_print_log(f->t.capture, 40);
			fail_msg("5 Produce requests failed with %s: capture restarted streaming instead of letting the"
			         " producer retry", retriable[i].name);
		}
		print_message("5 Produce requests failed with %s: capture went on\n", retriable[i].name);
	}
	fx_load(f, 20);
	fx_wait_caught_up(f);
	assert_true(fx_running(f));
	fx_stop_ok(f);
	fx_check_all(f, "retriable produce errors", NULL);
}

/* 3b. A permanent error fails the messages of the request: capture must restart streaming from the
 * confirmed position, and the partitions must not hold, before that replay, any message produced after
 * the failed ones (librdkafka's idempotent producer delivers them unless enable.gapless.guarantee is set):
 * a sink skipping replays (§4) would never apply the failed events. */
static void test_produce_errors_permanent(void **state)
{
	static const struct {
		int code;
		const char *name;
	} permanent[] = {{10, "MESSAGE_TOO_LARGE"}, {87, "INVALID_RECORD"}};
	struct fx *f = *state;
	lsn_t c_before, restart;

	testenv_require_mock();
	fx_init(f, 100, 10, true);
	ctest_start(&f->t);
	fx_load_until(f, 0, 100); /* the producer is connected */
	f->mock_touched = true;
	for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++) {
		proc_log_mark(f->t.capture);
		c_before = fx_confirmed(f);
		mockctl_ok("errors 0 1 %d", permanent[i].code);
		wl_commit(&f->wl, FX_ERROR_BURST);
		/* "<reason>; retrying in N ms", then "streaming publication P from X/X" */
		if (!proc_poll_log(f->t.capture, "retrying in", 30000) ||
		    !proc_poll_log(f->t.capture, "streaming publication", 30000)) {
			proc_print_log(f->t.capture, 40);
			fail_msg("after a Produce request failed with %s, capture did not restart streaming", permanent[i].name);
		}
		restart = fx_log_stream_start(f);
		print_message("a Produce request failed with %s: capture restarted streaming from " LSN_FMT
		              " (confirmed before the error: " LSN_FMT ")\n",
		              permanent[i].name, LSN_ARGS(restart), LSN_ARGS(c_before));
		assert_true(restart >= c_before);
		assert_true(restart <= fx_confirmed(f));
		fx_wait_caught_up(f);
	}
	fx_load(f, 20);
	fx_wait_caught_up(f);
	assert_true(fx_running(f));
	fx_stop_ok(f);
	fx_check_all(f, "permanent produce errors", NULL);
}

/* 4. PostgreSQL stopped (mode) and started again under a load: capture reconnects by itself. */
static void fx_pg_restart(struct fx *f, const char *mode)
{
	fx_init(f, 100, 10, true);
	ctest_start(&f->t);
	fx_load_until(f, 10, 100);
	wl_commit(&f->wl, 20); /* a backlog when the server goes */
	proc_log_mark(f->t.capture);
	f->pg_down = true;
	pgtest_server_stop(mode);
	pgtest_server_start();
	f->pg_down = false;
	PQreset(f->t.pg);
	PQreset(f->wl.conn);
	assert_int_equal(PQstatus(f->t.pg), CONNECTION_OK);
	assert_int_equal(PQstatus(f->wl.conn), CONNECTION_OK);
	if (!proc_poll_log(f->t.capture, "streaming publication", 60000)) {
		proc_print_log(f->t.capture, 40);
		fail_msg("capture did not stream again within 60 s after PostgreSQL restarted (%s)", mode);
	}
	fx_load(f, 30);
	fx_wait_caught_up(f);
	assert_true(fx_running(f));
	fx_stop_ok(f);
	fx_check_all(f, testenv_fmt("PostgreSQL restart (%s)", mode), NULL);
}

static void test_pg_restart_fast(void **state)
{
	fx_pg_restart(*state, "fast");
}

static void test_pg_restart_immediate(void **state)
{
	fx_pg_restart(*state, "immediate");
}

/* 5. SIGTERM during a steady load: exit 0 within FX_EXIT_MS, confirmed_flush_lsn covers only what is in
 * Kafka, and a restart goes on without loss. */
static void test_sigterm(void **state)
{
	struct fx *f = *state;
	int64_t t0, deadline;
	int st;

	fx_init(f, 100, 10, true);
	ctest_start(&f->t);
	fx_load_until(f, 30, 150);
	t0 = clock_mono_ms();
	deadline = t0 + FX_EXIT_MS;
	proc_kill(f->t.capture, SIGTERM);
	/* the load goes on while capture shuts down */
	while ((st = proc_wait(f->t.capture, 0)) == -1 && clock_mono_ms() < deadline) {
		struct timespec ts = {0, FX_PACE_MS * 1000000L};

		wl_commit(&f->wl, 1);
		nanosleep(&ts, NULL);
	}
	if (st != 0) {
		proc_print_log(f->t.capture, 40);
		fail_msg("capture: status %d %" PRId64 " ms after SIGTERM (-1: still running)", st, clock_mono_ms() - t0);
	}
	print_message("capture exited 0 %" PRId64 " ms after SIGTERM\n", clock_mono_ms() - t0);
	proc_free(f->t.capture);
	f->t.capture = NULL;
	fx_check_confirmed_in_kafka(f, "after SIGTERM");
	wl_commit(&f->wl, 10);
	ctest_start(&f->t);
	fx_load(f, 20);
	fx_wait_caught_up(f);
	fx_stop_ok(f);
	fx_check_all(f, "SIGTERM and restart", NULL);
}

/* 6. SIGTERM while every broker is down: capture stops waiting for Kafka after its flush timeout, exits
 * 0 having confirmed only what Kafka acknowledged, and the next run sends the rest. */
#define FX_EXIT_KAFKA_DOWN_MS 60000 /* capture's flush timeout (30 s) and a margin */
static void test_sigterm_brokers_down(void **state)
{
	struct fx *f = *state;
	int64_t t0;
	int st;

	testenv_require_mock();
	fx_init(f, 100, 10, true);
	ctest_start(&f->t);
	fx_load_until(f, 10, 100);
	fx_brokers(f, "down");
	fx_load(f, 20);
	t0 = clock_mono_ms();
	proc_kill(f->t.capture, SIGTERM);
	st = proc_wait(f->t.capture, FX_EXIT_KAFKA_DOWN_MS);
	if (st != 0) {
		proc_print_log(f->t.capture, 40);
		fail_msg("capture: status %d %" PRId64 " ms after SIGTERM with the brokers down (-1: still running)", st,
		         clock_mono_ms() - t0);
	}
	print_message("capture exited 0 %" PRId64 " ms after SIGTERM with the brokers down\n", clock_mono_ms() - t0);
	proc_free(f->t.capture);
	f->t.capture = NULL;
	fx_brokers(f, "up");
	assert_true(fx_check_confirmed_in_kafka(f, "after SIGTERM with the brokers down") < f->wl.n);
	ctest_start(&f->t);
	fx_load(f, 20);
	fx_wait_caught_up(f);
	fx_stop_ok(f);
	fx_check_all(f, "SIGTERM with the brokers down, then a restart", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigkill_during_load, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_brokers_down, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_produce_errors_retriable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_produce_errors_permanent, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pg_restart_fast, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pg_restart_immediate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_brokers_down, fx_setup, fx_teardown),
	};
	/* e.g. CLEAVE_TEST_FILTER=test_produce_errors_retriable: one test (cmocka's * and ? wildcards) */
	if (getenv("CLEAVE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CLEAVE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
