/* test_sink_faults.c: `cleave sink` is effectively once (SPEC.md §4) when it is SIGKILLed, when capture is
 * SIGKILLed under it, when its target database stops or its connections are killed (COMMITs among them),
 * and when one of two processes of a sink dies.
 *
 * Each test runs a mixed workload on the source table items(id, ver, amount, payload) from its own
 * connection: numbered batches, each one transaction that inserts 40 rows, updates the hot rows 1..10
 * twice (two events of one key in one transaction), updates a run of 30 rows from a random point, deletes
 * 5 and changes the primary key of 5 (capture sends a delete and a create: the two keys may live in
 * different partitions); about 100 changes. Ids are never reused, and every update adds 1 to ver, so
 * (id, ver) names one version of one row. Topics get 8 partitions.
 *
 * The target table is made by the test with an audit trigger that logs, in the sink's own transaction,
 * every row the sink inserts, updates or deletes. What the checks prove:
 *  - the target equals the source row for row (sinktest's stest_same: independent SQL on both sides);
 *  - nothing was applied twice or out of order: per id, the audited versions strictly increase and
 *    nothing touches an id after its delete (an event applied again writes its version again; a stale
 *    replay an older one). Equal rows alone would not show a batch applied twice;
 *  - cleave_positions agrees with Kafka: once caught up, every partition's stored offset is its last
 *    offset; and the group's committed offsets (written after the database) are at most the stored
 *    offsets + 1, also right after each SIGKILL.
 * Counted and printed: capture's replays in Kafka (all skipped), and how far the group's committed offsets
 * lagged behind the stored positions at the kills (what a restart trusting Kafka would have applied
 * again). The tests create their topics and inject errors with mockctl: they skip themselves against a
 * real broker. The whole file takes ~4 min (ASan, 2 cores); one test:
 * CLEAVE_TEST_FILTER=test_pg_sigkill tests/run.sh -R sink_faults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "tests/support/capturetest.h"
#include "tests/support/kafkatest.h"
#include "tests/support/mockctl.h"
#include "tests/support/pgtest.h"
#include "tests/support/proc.h"
#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#ifndef CLEAVE_BIN
#error "CLEAVE_BIN must name the cleave binary under test"
#endif

#define SF_TABLE "public.items"
#define SF_PARTITIONS 8        /* keeps each partition under the mock's 5 MB log, duplicates included */
#define SF_HOT 10              /* rows 1..SF_HOT are updated twice by every batch */
#define SF_START_MS 60000      /* a sink joining its group (a rejoin waits session.timeout.ms) */
#define SF_CATCH_UP_MS 240000  /* capture and sink working off a backlog (ASan, 2 cores) */
#define SF_MOMENT_MS 60000     /* waiting for a kill moment */
#define SF_EXIT_MS 30000       /* SIGTERM to exit */
#define SF_MAX_PROCS 2
/* OffsetCommit (API 8) answered with OFFSET_METADATA_TOO_LARGE: not retried, no rebalance */
#define SF_COMMIT_ERROR 12

/* ---- the workload ---- */

struct sf_wl {
	PGconn *conn;
	int batches;
	/* rows changed, by kind (from the statements' row counts) */
	long long ins, upd, del, key;
};

/* Changes so far (a primary-key change counts once). */
static long long sf_wl_changes(const struct sf_wl *w)
{
	return w->ins + w->upd + w->del + w->key;
}

/* Messages capture writes for them: an event each, a tombstone after each delete, and a key change is a
 * delete, its tombstone and a create. */
static long long sf_wl_messages(const struct sf_wl *w)
{
	return w->ins + w->upd + 2 * w->del + 3 * w->key;
}

/* Statements of batch b after BEGIN, in order; their kinds say which counter their row count goes to. */
#define SF_KINDS "IUUUDK"
#define SF_RANDOM_START "(SELECT (random() * last_value)::bigint FROM items_id_seq)"

static void sf_wl_sql(int b, struct buf *sql)
{
	int rc = buf_printf(
	        sql,
	        "BEGIN;"
	        " INSERT INTO items (ver, amount, payload) SELECT 0,"
	        " CASE WHEN g %% 7 = 0 THEN NULL ELSE (g * 37 + %d) %% 100000 / 100.0 END,"
	        " CASE WHEN g %% 10 = 0 THEN NULL WHEN g %% 10 = 1 THEN '' ELSE 'b%d r' || g END"
	        " FROM generate_series(1, 40) g;"
	        " UPDATE items SET ver = ver + 1, amount = %d / 100.0, payload = 'hot b%d' WHERE id <= %d;"
	        " UPDATE items SET ver = ver + 1, payload = payload || ' again' WHERE id <= %d;"
	        " UPDATE items SET ver = ver + 1, amount = CASE WHEN ver %% 5 = 4 THEN NULL ELSE %d END,"
	        " payload = CASE WHEN ver %% 3 = 2 THEN NULL ELSE 'upd b%d' END"
	        " WHERE id IN (SELECT id FROM items WHERE id > %d AND id >= " SF_RANDOM_START " ORDER BY id LIMIT 30);"
	        " DELETE FROM items"
	        " WHERE id IN (SELECT id FROM items WHERE id > %d AND id >= " SF_RANDOM_START " ORDER BY id LIMIT 5);"
	        " UPDATE items SET id = nextval('items_id_seq'), ver = ver + 1"
	        " WHERE id IN (SELECT id FROM items WHERE id > %d AND id >= " SF_RANDOM_START " ORDER BY id LIMIT 5);"
	        " COMMIT;",
	        b, b, b, b, SF_HOT, SF_HOT, b % 1000, b, SF_HOT, SF_HOT, SF_HOT);

	if (rc < 0)
		fail_msg("out of memory");
}

/* Commits the next n batches, up to SF_CHUNK per round trip (so the workload can outrun capture and
 * sink), and counts what they changed. */
#define SF_CHUNK 25
static void sf_wl_commit(struct sf_wl *w, int n)
{
	struct buf sql;

	buf_init(&sql, 0);
	while (n > 0) {
		int k = n < SF_CHUNK ? n : SF_CHUNK, stmt = 0;
		long long cnt[sizeof SF_KINDS] = {0};
		char err[512] = "";
		PGresult *res;

		buf_reset(&sql);
		for (int i = 0; i < k; i++)
			sf_wl_sql(w->batches + i, &sql);
		if (!PQsendQuery(w->conn, (const char *)sql.data))
			snprintf(err, sizeof err, "%s", PQerrorMessage(w->conn));
		/* per batch: BEGIN, the SF_KINDS statements, COMMIT */
		while ((res = PQgetResult(w->conn)) != NULL) {
			int at = stmt % (int)(sizeof SF_KINDS + 1);

			if (PQresultStatus(res) != PGRES_COMMAND_OK && !err[0])
				snprintf(err, sizeof err, "%s", PQresultErrorMessage(res));
			else if (at >= 1 && at < (int)sizeof SF_KINDS)
				cnt[at - 1] += atoll(PQcmdTuples(res));
			stmt++;
			PQclear(res);
		}
		if (!err[0] && stmt != k * (int)(sizeof SF_KINDS + 1))
			snprintf(err, sizeof err, "%d results for %d batches", stmt, k);
		if (err[0]) {
			buf_free(&sql);
			fail_msg("workload, batches %d..%d: %s", w->batches, w->batches + k - 1, err);
		}
		for (int i = 0; i < (int)sizeof SF_KINDS - 1; i++) {
			switch (SF_KINDS[i]) {
			case 'I':
				w->ins += cnt[i];
				break;
			case 'U':
				w->upd += cnt[i];
				break;
			case 'D':
				w->del += cnt[i];
				break;
			case 'K':
				w->key += cnt[i];
				break;
			}
		}
		w->batches += k;
		n -= k;
	}
	buf_free(&sql);
}

/* ---- a fixture: source, capture, target, sink processes; torn down even when the test fails ---- */

struct sf {
	struct stest t;          /* source database, capture, config, target database */
	struct sf_wl wl;
	enum stest_engine engine;
	const char *sink;        /* the sink's name: group cleave.<sink> */
	const char *topic;
	struct proc *proc[SF_MAX_PROCS]; /* processes of the sink, started by the test */
	bool pg_down;            /* the test stopped PostgreSQL and has not started it again */
	bool mock_touched;       /* the test injected errors into the mock: undo them */
	/* for the report */
	long long lag_at_kills;  /* messages the group's committed offsets lagged behind the stored positions */
	int kills;
};

static int sf_setup(void **state)
{
	*state = calloc(1, sizeof(struct sf));
	return *state ? 0 : -1;
}

static int sf_teardown(void **state)
{
	struct sf *f = *state;

	for (int i = 0; i < SF_MAX_PROCS; i++)
		proc_free(f->proc[i]);
	if (f->pg_down)
		pgtest_server_start();
	if (f->mock_touched)
		free(mockctl("clear 8"));
	if (f->wl.conn)
		PQfinish(f->wl.conn);
	stest_fini(&f->t);
	free(f);
	return 0;
}

/* The target table, created by the test, with an audit of every row the sink writes: a trigger in the
 * sink's own transaction, so what a rolled-back batch wrote leaves no trace. */
static void sf_target_tables(struct sf *f)
{
	if (f->engine == STEST_PG) {
		pgtest_exec(f->t.pg,
		            "CREATE TABLE items (id bigint PRIMARY KEY, ver integer NOT NULL, amount numeric(12,2),"
		            " payload text);"
		            "CREATE TABLE items_audit (n bigserial PRIMARY KEY, op char(1) NOT NULL, id bigint NOT NULL,"
		            " ver integer NOT NULL);"
		            "CREATE INDEX ON items_audit (id);"
		            "CREATE FUNCTION items_audit_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
		            " IF TG_OP = 'DELETE' THEN INSERT INTO items_audit (op, id, ver) VALUES ('D', OLD.id, OLD.ver);"
		            " ELSE INSERT INTO items_audit (op, id, ver) VALUES (left(TG_OP, 1), NEW.id, NEW.ver); END IF;"
		            " RETURN NULL; END $$;"
		            "CREATE TRIGGER items_audit AFTER INSERT OR UPDATE OR DELETE ON items"
		            " FOR EACH ROW EXECUTE FUNCTION items_audit_f();"
		            /* fires whatever session_replication_role the sink uses */
		            "ALTER TABLE items ENABLE ALWAYS TRIGGER items_audit;");
		return;
	}
	stest_my_exec(&f->t, "CREATE TABLE items (id BIGINT PRIMARY KEY, ver INT NOT NULL, amount DECIMAL(12,2),"
	                     " payload LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin)");
	stest_my_exec(&f->t, "CREATE TABLE items_audit (n BIGINT AUTO_INCREMENT PRIMARY KEY, op CHAR(1) NOT NULL,"
	                     " id BIGINT NOT NULL, ver INT NOT NULL, KEY (id))");
	stest_my_exec(&f->t, "CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW"
	                     " INSERT INTO items_audit (op, id, ver) VALUES ('I', NEW.id, NEW.ver)");
	stest_my_exec(&f->t, "CREATE TRIGGER items_au AFTER UPDATE ON items FOR EACH ROW"
	                     " INSERT INTO items_audit (op, id, ver) VALUES ('U', NEW.id, NEW.ver)");
	stest_my_exec(&f->t, "CREATE TRIGGER items_ad AFTER DELETE ON items FOR EACH ROW"
	                     " INSERT INTO items_audit (op, id, ver) VALUES ('D', OLD.id, OLD.ver)");
}

/* Source, target, the topic with SF_PARTITIONS partitions, and a config with capture and the sink. */
static void sf_init(struct sf *f, enum stest_engine engine, int batch_size)
{
	testenv_require_mock();
	f->engine = engine;
	f->sink = testenv_unique("sf");
	stest_init(&f->t,
	           "CREATE SEQUENCE items_id_seq;"
	           "CREATE TABLE items (id bigint PRIMARY KEY DEFAULT nextval('items_id_seq'), ver integer NOT NULL,"
	           " amount numeric(12,2), payload text);"
	           "ALTER SEQUENCE items_id_seq OWNED BY items.id",
	           SF_TABLE,
	           testenv_fmt("sinks:\n"
	                       "  - name: %s\n"
	                       "    type: %s\n"
	                       "    dsn: \"%s\"\n"
	                       "    batch_size: %d\n"
	                       "    mappings:\n"
	                       "      - source: %s\n"
	                       "        target: items\n",
	                       f->sink, engine == STEST_PG ? "postgres" : "mysql",
	                       engine == STEST_PG ? "${PG_TARGET_DSN}" : "${MYSQL_TARGET_DSN}", batch_size, SF_TABLE));
	f->wl.conn = pgtest_connect(f->t.c.db);
	pgtest_exec(f->wl.conn, "SELECT setseed(0.25)");
	f->topic = ctest_topic(&f->t.c, SF_TABLE);
	mockctl_ok("topic %s %d", f->topic, SF_PARTITIONS);
	sf_target_tables(f);
}

/* ---- sink processes ---- */

static void sf_sink_spawn(struct sf *f, int i)
{
	const char *argv[] = {CLEAVE_BIN, "sink", "-c", f->t.c.config_path, "--sink", f->sink, NULL};
	/* names the process's target connection in pg_stat_activity */
	const char *env[] = {testenv_fmt("PGAPPNAME=sf_sink_%d", i), NULL};

	if (f->proc[i])
		fail_msg("sink process %d is already running", i);
	f->proc[i] = proc_spawn(testenv_fmt("sink%d", i), argv, env);
}

static bool sf_sink_running(struct sf *f, int i)
{
	return f->proc[i] && proc_wait(f->proc[i], 0) == -1;
}

/* Starts sink process i and waits until it has partitions. */
static void sf_sink_start(struct sf *f, int i)
{
	int64_t t0 = clock_mono_ms();

	sf_sink_spawn(f, i);
	if (!proc_poll_log(f->proc[i], "assigned", SF_START_MS)) {
		proc_print_log(f->proc[i], 40);
		fail_msg("sink process %d got no partitions within %d s", i, SF_START_MS / 1000);
	}
	print_message("sink process %d assigned partitions %" PRId64 " ms after its start\n", i, clock_mono_ms() - t0);
}

static void sf_sink_stop_ok(struct sf *f, int i)
{
	int64_t t0 = clock_mono_ms();
	int st;

	proc_kill(f->proc[i], SIGTERM);
	st = proc_wait(f->proc[i], SF_EXIT_MS);
	if (st != 0) {
		proc_print_log(f->proc[i], 60);
		fail_msg("sink process %d: status %d %" PRId64 " ms after SIGTERM (-1: still running)", i, st,
		         clock_mono_ms() - t0);
	}
	proc_free(f->proc[i]);
	f->proc[i] = NULL;
}

/* ---- the target, seen by the test's own SQL ---- */

static struct stest_rows *sf_trows(struct sf *f, const char *sql)
{
	return f->engine == STEST_PG ? stest_pg_rows(f->t.pg, sql, NULL) : stest_my_rows(f->t.my, sql, NULL);
}

/* One value of a query on the target (malloc'ed; NULL for SQL NULL). */
static char *sf_tvalue(struct sf *f, const char *sql)
{
	struct stest_rows *r = sf_trows(f, sql);
	char *v;

	if (r->nrows != 1 || r->ncols != 1) {
		stest_rows_free(r);
		fail_msg("%s: not one value", sql);
	}
	v = r->cells[0] ? strdup(r->cells[0]) : NULL;
	stest_rows_free(r);
	return v;
}

static long long sf_tint(struct sf *f, const char *sql)
{
	char *v = sf_tvalue(f, sql);
	long long n;

	if (!v)
		fail_msg("%s: NULL", sql);
	n = atoll(v);
	free(v);
	return n;
}

/* The Kafka offset stored in the target for each partition (-1: none). */
static void sf_stored(struct sf *f, int64_t *off)
{
	struct stest_rows *r = sf_trows(f, testenv_fmt("SELECT kafka_partition, kafka_offset FROM cleave_positions"
	                                               " WHERE sink = '%s' AND topic = '%s'",
	                                               f->sink, f->topic));

	for (int p = 0; p < SF_PARTITIONS; p++)
		off[p] = -1;
	for (size_t i = 0; i < r->nrows; i++) {
		int p = atoi(r->cells[i * 2]);

		if (p < 0 || p >= SF_PARTITIONS) {
			stest_rows_free(r);
			fail_msg("cleave_positions: partition %d of %s", p, f->topic);
		}
		off[p] = atoll(r->cells[i * 2 + 1]);
	}
	stest_rows_free(r);
}

static long long sf_stored_sum(struct sf *f)
{
	int64_t off[SF_PARTITIONS];
	long long sum = 0;

	sf_stored(f, off);
	for (int p = 0; p < SF_PARTITIONS; p++)
		sum += off[p] + 1;
	return sum;
}

/* Whether a target transaction of sink process i has written and not ended yet. */
static bool sf_sink_in_tx(struct sf *f, int i)
{
	if (f->engine == STEST_PG)
		return pgtest_value_int(f->t.pg,
		                        "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
		                        " AND application_name = 'sf_sink_%d' AND backend_xid IS NOT NULL",
		                        f->t.pg_db, i) > 0;
	/* MariaDB tests run one sink process, whose writes all run inside transactions: one of its INSERTs or
	 * DELETEs executing (information_schema.innodb_trx is a cache refreshed at most every 100 ms) */
	return sf_tint(f, testenv_fmt("SELECT count(*) FROM information_schema.processlist WHERE db = '%s' AND"
	                              " id <> CONNECTION_ID() AND (info LIKE 'INSERT%%' OR info LIKE 'DELETE%%')",
	                              f->t.my_db)) > 0;
}

/* ---- Kafka's side ---- */

static rd_kafka_t *sf_consumer(const char *group)
{
	const char *props[] = {"group.id", group, "enable.auto.commit", "false", NULL};
	rd_kafka_conf_t *conf = kafkatest_conf(group ? props : NULL);
	char errstr[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);

	if (!rk) {
		rd_kafka_conf_destroy(conf);
		fail_msg("kafka consumer: %s", errstr);
	}
	return rk;
}

/* The low (first kept) and high (next) offsets of each partition; lo may be NULL. */
static void sf_watermarks(struct sf *f, int64_t *lo, int64_t *hw)
{
	rd_kafka_t *rk = sf_consumer(NULL);

	for (int p = 0; p < SF_PARTITIONS; p++) {
		int64_t l;
		rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, f->topic, p, lo ? &lo[p] : &l, &hw[p], 10000);

		if (e) {
			rd_kafka_destroy(rk);
			fail_msg("watermarks of %s [%d]: %s", f->topic, p, rd_kafka_err2str(e));
		}
	}
	rd_kafka_destroy(rk);
}

static void sf_high(struct sf *f, int64_t *hw)
{
	sf_watermarks(f, NULL, hw);
}

/* The offsets group cleave.<sink> committed (negative: none), read without joining the group. */
static void sf_committed(struct sf *f, int64_t *off)
{
	rd_kafka_t *rk = sf_consumer(testenv_fmt("cleave.%s", f->sink));
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(SF_PARTITIONS);
	rd_kafka_resp_err_t e;

	for (int p = 0; p < SF_PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(l, f->topic, p);
	e = rd_kafka_committed(rk, l, 10000);
	for (int i = 0; !e && i < l->cnt; i++) {
		if (l->elems[i].err)
			e = l->elems[i].err;
		else
			off[l->elems[i].partition] = l->elems[i].offset;
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	if (e)
		fail_msg("committed offsets of group cleave.%s: %s", f->sink, rd_kafka_err2str(e));
}

/* The group's committed offsets never pass the positions stored in the target (the sink commits to Kafka
 * after the database). Returns by how many messages they lag behind: what a restart that trusted Kafka
 * instead of the target would apply a second time. */
static long long sf_check_committed(struct sf *f, const char *when)
{
	int64_t stored[SF_PARTITIONS], committed[SF_PARTITIONS];
	long long lag = 0;
	char line[512] = "";
	size_t len = 0;

	/* committed first: stored positions only move forward, so reading them second cannot make a correct
	 * committed offset look ahead of them */
	sf_committed(f, committed);
	sf_stored(f, stored);
	for (int p = 0; p < SF_PARTITIONS; p++) {
		int64_t c = committed[p] < 0 ? 0 : committed[p];

		if (len < sizeof line)
			len += (size_t)snprintf(line + len, sizeof line - len, " %" PRId64 "/%" PRId64, c, stored[p] + 1);
		if (c > stored[p] + 1)
			fail_msg("%s: partition %d: group cleave.%s committed offset %" PRId64
			         ", past the offset stored in the target (%" PRId64 ") + 1",
			         when, p, f->sink, committed[p], stored[p]);
		lag += stored[p] + 1 - c;
	}
	print_message("%s: per partition, committed in Kafka / stored in the target + 1:%s (%lld behind)\n", when,
	              line, lag);
	return lag;
}

/* Messages in the topic beyond those the workload caused: capture's re-sent events. */
static long long sf_kafka_duplicates(struct sf *f)
{
	int64_t lo[SF_PARTITIONS], hw[SF_PARTITIONS];
	long long n = 0, trimmed = 0;

	sf_watermarks(f, lo, hw);
	for (int p = 0; p < SF_PARTITIONS; p++) {
		n += hw[p];
		trimmed += lo[p];
	}
	if (trimmed)
		print_message("%s: the mock trimmed the first %lld messages of the topic (after the sink read them)\n",
		              f->topic, trimmed);
	if (n < sf_wl_messages(&f->wl))
		fail_msg("%s holds %lld messages, fewer than the %lld the workload caused", f->topic, n,
		         sf_wl_messages(&f->wl));
	return n - sf_wl_messages(&f->wl);
}

/* ---- waiting and killing ---- */

static void sf_print_logs(struct sf *f, int lines)
{
	for (int i = 0; i < SF_MAX_PROCS; i++)
		if (f->proc[i])
			proc_print_log(f->proc[i], lines);
	if (f->t.c.capture)
		proc_print_log(f->t.c.capture, lines);
}

/* SIGKILLs sink process i and checks the committed offsets right away. */
static void sf_kill_sink(struct sf *f, int i, const char *when)
{
	int st;

	if (!sf_sink_running(f, i)) {
		if (f->proc[i])
			proc_print_log(f->proc[i], 60);
		fail_msg("%s: sink process %d is not running", when, i);
	}
	proc_kill(f->proc[i], SIGKILL);
	st = proc_wait(f->proc[i], 10000);
	proc_free(f->proc[i]);
	f->proc[i] = NULL;
	assert_int_equal(st, 128 + SIGKILL);
	f->lag_at_kills += sf_check_committed(f, when);
	f->kills++;
}

/* Keeps the workload going (a batch every SF_PACE_MS, at most max_batches) until cond(arg) holds, checked
 * every millisecond, then returns at once. Fails after SF_MOMENT_MS or when sink process i exits. */
#define SF_PACE_MS 10
static void sf_load_until(struct sf *f, int i, bool (*cond)(void *), void *arg, int max_batches, const char *when)
{
	int64_t deadline = clock_mono_ms() + SF_MOMENT_MS, last = 0;
	int sent = 0;

	while (!cond(arg)) {
		struct timespec ts = {0, 1000000L};

		if (i >= 0 && !sf_sink_running(f, i)) {
			if (f->proc[i])
				proc_print_log(f->proc[i], 60);
			fail_msg("%s: sink process %d exited", when, i);
		}
		if (clock_mono_ms() > deadline) {
			sf_print_logs(f, 40);
			print_error("%s: the target has %lld rows, %lld messages applied\n", when,
			            sf_tint(f, "SELECT count(*) FROM items"), sf_stored_sum(f));
			fail_msg("%s: not reached within %d s", when, SF_MOMENT_MS / 1000);
		}
		if (sent < max_batches && clock_mono_ms() - last >= SF_PACE_MS) {
			sf_wl_commit(&f->wl, 1);
			sent++;
			last = clock_mono_ms();
		}
		nanosleep(&ts, NULL);
	}
}

struct sf_proc_arg {
	struct sf *f;
	int i;
	const char *text; /* for sf_log_cond */
	long long since;  /* for sf_moved_cond */
};

static bool sf_in_tx_cond(void *arg)
{
	struct sf_proc_arg *a = arg;

	return sf_sink_in_tx(a->f, a->i);
}

static bool sf_moved_cond(void *arg)
{
	struct sf_proc_arg *a = arg;

	return sf_stored_sum(a->f) != a->since;
}

static bool sf_log_cond(void *arg)
{
	struct sf_proc_arg *a = arg;

	return proc_poll_log(a->f->proc[a->i], a->text, 0);
}

/* SIGKILL of sink process i while one of its target transactions has written and not committed. */
static void sf_kill_in_tx(struct sf *f, int i, int max_batches, const char *when)
{
	struct sf_proc_arg a = {.f = f, .i = i};

	sf_load_until(f, i, sf_in_tx_cond, &a, max_batches, when);
	sf_kill_sink(f, i, when);
}

/* SIGKILL of sink process 0 right after its next commit (before or while it tells Kafka). */
static void sf_kill_after_commit(struct sf *f, int max_batches, const char *when)
{
	struct sf_proc_arg a = {.f = f, .i = 0, .since = sf_stored_sum(f)};

	sf_load_until(f, 0, sf_moved_cond, &a, max_batches, when);
	sf_kill_sink(f, 0, when);
}

/* Capture has confirmed everything committed so far, so it is all in Kafka. */
static void sf_capture_caught_up(struct sf *f)
{
	char *lsn = ctest_wal_lsn(&f->t.c);
	bool ok = ctest_wait_confirmed(&f->t.c, lsn, SF_CATCH_UP_MS);

	free(lsn);
	if (!ok) {
		sf_print_logs(f, 40);
		fail_msg("capture did not confirm the workload within %d s", SF_CATCH_UP_MS / 1000);
	}
}

/* ---- the checks ---- */

/* The audit: per id, the versions the sink wrote strictly increase (an event applied twice writes its
 * version again, a stale replay an older one), and nothing touches an id after its delete (ids are never
 * reused). Returns the number of violations, printing an example. */
static long long sf_audit_violations(struct sf *f, const char *when)
{
	static const char again[] = "FROM (SELECT id, ver, LAG(ver) OVER (PARTITION BY id ORDER BY n) AS prev"
	                            " FROM items_audit WHERE op <> 'D') x WHERE ver <= prev";
	long long repeated = sf_tint(f, testenv_fmt("SELECT count(*) %s", again));
	long long after_delete = sf_tint(f, "SELECT count(*) FROM items_audit d JOIN items_audit u ON u.id = d.id"
	                                    " AND u.n > d.n WHERE d.op = 'D'");
	long long writes = sf_tint(f, "SELECT count(*) FROM items_audit");

	if (repeated) {
		char *ex = sf_tvalue(f, testenv_fmt("SELECT CONCAT('id ', id, ': version ', ver, ' written after version ',"
		                                    " prev) %s ORDER BY id LIMIT 1",
		                                    again));

		print_error("%s: the sink wrote a version again or an older one %lld times, e.g. %s\n", when, repeated,
		            ex ? ex : "?");
		free(ex);
	}
	if (after_delete) {
		char *ex = sf_tvalue(f, "SELECT CONCAT('id ', u.id, ': ', u.op, ' of version ', u.ver, ' after D of version ',"
		                        " d.ver) FROM items_audit d JOIN items_audit u ON u.id = d.id AND u.n > d.n"
		                        " WHERE d.op = 'D' ORDER BY u.n LIMIT 1");

		print_error("%s: the sink wrote %lld times to ids it had deleted, e.g. %s\n", when, after_delete,
		            ex ? ex : "?");
		free(ex);
	}
	print_message("%s: the sink wrote %lld rows: %lld repeated or older versions, %lld writes after a delete\n",
	              when, writes, repeated, after_delete);
	return repeated + after_delete;
}

/* A fingerprint of items on one side: count and sums. */
#define SF_FP_PG \
	"SELECT count(*) || '/' || coalesce(sum(id), 0) || '/' || coalesce(sum(ver), 0) || '/' ||" \
	" coalesce(sum(amount), 0) FROM items"
#define SF_FP_MY \
	"SELECT CONCAT(count(*), '/', coalesce(sum(id), 0), '/', coalesce(sum(ver), 0), '/'," \
	" coalesce(sum(amount), 0)) FROM items"

struct sf_conv {
	struct sf *f;
	char *want;
	int64_t hw[SF_PARTITIONS];
	char last[256];
};

/* The target has the source's fingerprint, and every partition's last offset is stored. */
static bool sf_converged(void *arg)
{
	struct sf_conv *c = arg;
	struct sf *f = c->f;
	struct stest_rows *r;
	int64_t stored[SF_PARTITIONS];
	char *error = NULL;
	bool same;

	r = f->engine == STEST_PG ? stest_pg_rows(f->t.pg, SF_FP_PG, &error) : stest_my_rows(f->t.my, SF_FP_MY, &error);
	if (!r) {
		snprintf(c->last, sizeof c->last, "(error: %s)", error);
		free(error);
		return false;
	}
	same = r->nrows == 1 && r->cells[0] && strcmp(r->cells[0], c->want) == 0;
	snprintf(c->last, sizeof c->last, "target %s", r->nrows == 1 && r->cells[0] ? r->cells[0] : "?");
	stest_rows_free(r);
	if (!same)
		return false;
	sf_stored(f, stored);
	for (int p = 0; p < SF_PARTITIONS; p++)
		if (c->hw[p] > 0 && stored[p] != c->hw[p] - 1) {
			snprintf(c->last, sizeof c->last,
			         "rows alike, but partition %d's stored offset is %" PRId64 ", its last %" PRId64, p, stored[p],
			         c->hw[p] - 1);
			return false;
		}
	return true;
}

/* Capture runs and the workload paused: waits until capture has sent everything and the sink has applied
 * it (the source's fingerprint in the target, every partition's last offset stored); then the target must
 * equal the source row for row, the audit must be clean and the committed offsets consistent. */
static void sf_check_converged(struct sf *f, const char *when)
{
	struct sf_conv c = {.f = f};
	int64_t t0 = clock_mono_ms();

	sf_capture_caught_up(f);
	c.want = pgtest_value(f->t.c.pg, SF_FP_PG);
	sf_high(f, c.hw);
	if (!poll_until(sf_converged, &c, SF_CATCH_UP_MS)) {
		sf_print_logs(f, 40);
		(void)stest_same(&f->t, f->engine, SF_TABLE, "items", NULL, true);
		print_error("%s: the target did not catch up within %d s: %s, source %s\n", when, SF_CATCH_UP_MS / 1000,
		            c.last, c.want);
		free(c.want);
		fail_msg("%s: the target did not catch up", when);
	}
	free(c.want);
	print_message("%s: the target caught up %" PRId64 " ms after capture had sent everything\n", when,
	              clock_mono_ms() - t0);
	assert_true(stest_same(&f->t, f->engine, SF_TABLE, "items", NULL, true));
	assert_int_equal(sf_audit_violations(f, when), 0);
	(void)sf_check_committed(f, when);
}

static void sf_report(struct sf *f, const char *name, int64_t t0)
{
	print_message("%s: %d batches, %lld changes (%lld inserts, %lld updates, %lld deletes, %lld key changes);"
	              " %lld duplicate messages in Kafka (capture's replays), all skipped; %d sink kills, Kafka's"
	              " committed offsets %lld messages behind the stored positions at the kills; %" PRId64 " ms\n",
	              name, f->wl.batches, sf_wl_changes(&f->wl), f->wl.ins, f->wl.upd, f->wl.del, f->wl.key,
	              sf_kafka_duplicates(f), f->kills, f->lag_at_kills, clock_mono_ms() - t0);
}

/* The end of every test: the sink stops on SIGTERM with everything stored, capture too. */
static void sf_finish(struct sf *f, int i, const char *name, int64_t t0)
{
	sf_sink_stop_ok(f, i);
	(void)sf_check_committed(f, testenv_fmt("%s, after SIGTERM", name));
	if (ctest_stop(&f->t.c) != 0)
		fail_msg("capture did not exit 0 on SIGTERM");
	assert_true(stest_same(&f->t, f->engine, SF_TABLE, "items", NULL, true));
	sf_report(f, name, t0);
}

/* ---- the tests ---- */

/* 1 and 4. SIGKILL of the sink at several moments of a mixed workload (inside a target transaction, right
 * after a commit, while it works off a backlog with capture's replays in it, when idle), capture SIGKILLed
 * once: the target equals the source row for row, nothing applied twice. `full` adds the kill among the
 * replays. */
static void sf_sigkill(struct sf *f, enum stest_engine engine, long long total, bool full, const char *name)
{
	int64_t t0 = clock_mono_ms();

	sf_init(f, engine, 5000);
	ctest_start(&f->t.c);
	sf_wl_commit(&f->wl, 1);
	sf_sink_start(f, 0);

	/* inside a target transaction, a burst in the topic */
	sf_wl_commit(&f->wl, 150);
	sf_kill_in_tx(f, 0, 300, "kill 1 (inside a target transaction)");
	sf_wl_commit(&f->wl, 100); /* while the sink is down */

	/* right after a commit, Kafka refusing the sink's offset commits meanwhile: the group's committed
	 * offsets stay behind, and only the positions in the target tell the restart where to resume */
	sf_sink_start(f, 0);
	f->mock_touched = true;
	mockctl_ok("errors 8 1000 %d", SF_COMMIT_ERROR);
	sf_wl_commit(&f->wl, 50);
	sf_kill_after_commit(f, 300, "kill 2 (right after a target commit, offset commits failing)");
	mockctl_ok("clear 8");
	sf_wl_commit(&f->wl, 100);

	/* capture killed while the sink works off the backlog: capture's replays follow in the partitions */
	sf_sink_start(f, 0);
	sf_wl_commit(&f->wl, 50);
	sf_capture_caught_up(f);
	sf_wl_commit(&f->wl, 50);
	ctest_kill(&f->t.c);
	sf_wl_commit(&f->wl, 50);
	ctest_start(&f->t.c);
	if (full) {
		sf_kill_in_tx(f, 0, 300, "kill 3 (inside a transaction, capture's replays in the backlog)");
		sf_wl_commit(&f->wl, 100);
		sf_sink_start(f, 0);
	}

	/* the rest of the workload at a steady pace, the sink running */
	while (sf_wl_changes(&f->wl) < total) {
		struct timespec ts = {0, SF_PACE_MS * 1000000L};

		sf_wl_commit(&f->wl, 5);
		nanosleep(&ts, NULL);
	}
	sf_check_converged(f, "caught up");

	/* idle, everything applied: the restart applies nothing again */
	sf_kill_sink(f, 0, testenv_fmt("kill %d (idle)", full ? 4 : 3));
	sf_wl_commit(&f->wl, 10);
	sf_sink_start(f, 0);
	sf_check_converged(f, name);
	assert_true(sf_wl_changes(&f->wl) >= total);
	sf_finish(f, 0, name, t0);
}

static void test_pg_sigkill(void **state)
{
	sf_sigkill(*state, STEST_PG, 100000, true, "PostgreSQL target, sink SIGKILLed 4 times, capture once");
}

static void test_mysql_sigkill(void **state)
{
	sf_sigkill(*state, STEST_MYSQL, 30000, false, "MariaDB target, sink SIGKILLed 3 times, capture once");
}

/* Resets the test's connections to the PostgreSQL server (after it restarted). */
static void sf_pg_reset(struct sf *f)
{
	PGconn *conns[] = {f->wl.conn, f->t.c.pg, f->t.pg, f->t.cmp_src, f->t.cmp_pg};

	for (size_t i = 0; i < sizeof conns / sizeof conns[0]; i++)
		if (conns[i]) {
			PQreset(conns[i]);
			assert_int_equal(PQstatus(conns[i]), CONNECTION_OK);
		}
}

/* 2. The target database stopped for 10 s while the sink is applying a backlog (here it is the source's
 * server too: capture reconnects by itself), then started again: the sink waits, never skips, and the
 * target equals the source. */
#define SF_OUTAGE_MS 10000
static void test_pg_target_down(void **state)
{
	struct sf *f = *state;
	int64_t t0 = clock_mono_ms(), down;

	sf_init(f, STEST_PG, 1000);
	ctest_start(&f->t.c);
	sf_wl_commit(&f->wl, 1);
	sf_sink_start(f, 0);
	sf_wl_commit(&f->wl, 100);
	{
		struct sf_proc_arg a = {.f = f, .i = 0};

		sf_load_until(f, 0, sf_in_tx_cond, &a, 300, "a sink transaction open");
	}
	proc_log_mark(f->proc[0]);
	proc_log_mark(f->t.c.capture);
	f->pg_down = true;
	pgtest_server_stop("immediate");
	down = clock_mono_ms();
	/* the outage: the sink must wait, not exit */
	while (clock_mono_ms() - down < SF_OUTAGE_MS) {
		struct timespec ts = {0, 100 * 1000000L};

		if (!sf_sink_running(f, 0)) {
			proc_print_log(f->proc[0], 40);
			fail_msg("the sink exited while its target was down");
		}
		nanosleep(&ts, NULL);
	}
	pgtest_server_start();
	f->pg_down = false;
	print_message("PostgreSQL down for %" PRId64 " ms (stopped with mode immediate)\n", clock_mono_ms() - down);
	sf_pg_reset(f);
	if (!proc_poll_log(f->t.c.capture, "streaming publication", 60000)) {
		proc_print_log(f->t.c.capture, 40);
		fail_msg("capture did not stream again within 60 s after PostgreSQL restarted");
	}
	print_message("the sink %s while its target was down\n",
	              proc_poll_log(f->proc[0], "retrying in", 0) ? "logged that it waits" : "logged no wait");
	for (int n = 0; n < 100; n++) {
		struct timespec ts = {0, SF_PACE_MS * 1000000L};

		sf_wl_commit(&f->wl, 1);
		nanosleep(&ts, NULL);
	}
	sf_check_converged(f, "PostgreSQL target down 10 s");
	sf_finish(f, 0, "PostgreSQL target down 10 s", t0);
}

/* Kills the connections of sink process 0 to its target (only those executing COMMIT when commits_only):
 * KILL CONNECTION on MariaDB, pg_terminate_backend on PostgreSQL. Returns the number killed. */
static int sf_kill_connections_once(struct sf *f, bool commits_only)
{
	struct stest_rows *r;
	int killed = 0;

	if (f->engine == STEST_PG)
		return (int)pgtest_value_int(f->t.pg,
		                             "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		                             " WHERE datname = '%s' AND application_name = 'sf_sink_0'%s) k",
		                             f->t.pg_db, commits_only ? " AND state = 'active' AND query = 'COMMIT'" : "");
	r = sf_trows(f, testenv_fmt("SELECT id FROM information_schema.processlist WHERE db = '%s' AND"
	                            " id <> CONNECTION_ID()%s",
	                            f->t.my_db, commits_only ? " AND info = 'COMMIT'" : ""));
	for (size_t i = 0; i < r->nrows; i++)
		if (mysql_query(f->t.my, testenv_fmt("KILL CONNECTION %s", r->cells[i])) == 0)
			killed++; /* else: gone already */
	stest_rows_free(r);
	return killed;
}

/* For ms milliseconds under a steady load (a batch every 20 ms), kills the sink's connections: those executing COMMIT (looked
 * for every millisecond) when commits_only, else all of them every 20 ms. Fails if the sink exits.
 * Returns the number of connections killed. */
static int sf_kill_connections(struct sf *f, int ms, bool commits_only)
{
	int64_t start = clock_mono_ms(), last = 0;
	int killed = 0;

	while (clock_mono_ms() - start < ms) {
		struct timespec ts = {0, (commits_only ? 1 : 20) * 1000000L};

		killed += sf_kill_connections_once(f, commits_only);
		if (!sf_sink_running(f, 0)) {
			proc_print_log(f->proc[0], 40);
			fail_msg("the sink exited (status %d) while its connections were being killed (%d so far)",
			         proc_wait(f->proc[0], 0), killed);
		}
		if (clock_mono_ms() - last >= 2 * SF_PACE_MS) {
			sf_wl_commit(&f->wl, 1);
			last = clock_mono_ms();
		}
		nanosleep(&ts, NULL);
	}
	print_message("killed %d connections of the sink%s in %d ms\n", killed, commits_only ? " during COMMIT" : "",
	              ms);
	return killed;
}

/* 2b. For 10 s under a steady load the sink's connections to its database are killed: first those
 * executing COMMIT (a commit whose outcome the sink cannot know: it may have committed), then every one as
 * soon as it appears (transactions lost at any moment, reconnections cut again): the sink waits, and
 * nothing is lost or applied twice. The sink has applied rows before (its table is prepared). */
static void sf_connections_killed(struct sf *f, enum stest_engine engine, const char *name)
{
	int64_t t0 = clock_mono_ms();

	sf_init(f, engine, 1000);
	ctest_start(&f->t.c);
	sf_wl_commit(&f->wl, 1);
	sf_sink_start(f, 0);
	if (!stest_wait_value(&f->t, engine, "SELECT count(*) > 0 FROM items", engine == STEST_PG ? "t" : "1",
	                      SF_CATCH_UP_MS))
		fail_msg("the sink applied nothing");
	if (engine == STEST_PG)
		/* PostgreSQL's COMMIT (fsync off) is too quick to be caught by polling on a busy machine: a
		 * deferred trigger makes every COMMIT of the sink take 50 ms, once per transaction */
		pgtest_exec(f->t.pg,
		            "CREATE FUNCTION sf_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
		            " IF current_setting('sf.slept', true) IS DISTINCT FROM 'y' THEN"
		            " PERFORM set_config('sf.slept', 'y', true); PERFORM pg_sleep(0.05); END IF;"
		            " RETURN NULL; END $$;"
		            "CREATE CONSTRAINT TRIGGER sf_slow_commit AFTER INSERT OR UPDATE OR DELETE ON items"
		            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sf_slow_commit()");
	sf_wl_commit(&f->wl, 50);
	/* COMMITs cut: the outcome is unknown to the sink, the positions in the target tell */
	assert_true(sf_kill_connections(f, SF_OUTAGE_MS * 6 / 10, true) > 0);
	/* every connection, whatever it does, as soon as it appears */
	assert_true(sf_kill_connections(f, SF_OUTAGE_MS * 4 / 10, false) > 0);
	sf_wl_commit(&f->wl, 20);
	sf_check_converged(f, name);
	sf_finish(f, 0, name, t0);
}

static void test_mysql_connections_killed(void **state)
{
	sf_connections_killed(*state, STEST_MYSQL, "MariaDB target, the sink's connections killed for 10 s");
}

static void test_pg_connections_killed(void **state)
{
	sf_connections_killed(*state, STEST_PG, "PostgreSQL target, the sink's connections killed for 10 s");
}

/* The target has rows, or the sink exited. */
static bool sf_rows_or_exit(void *arg)
{
	struct sf *f = arg;

	return !sf_sink_running(f, 0) || sf_tint(f, "SELECT count(*) FROM items") > 0;
}

/* 2c. The target connection lost while the sink waits for the table's first event: the sink started
 * before the table had any event, so it prepares its target table when the first one comes (it reads the
 * table's definition then), on the connection that was killed meanwhile. A lost connection is the target
 * going away: the sink must reconnect and go on there too (SPEC.md §4), not exit. */
static void sf_lost_at_first_event(struct sf *f, enum stest_engine engine, const char *name)
{
	int64_t t0 = clock_mono_ms();

	sf_init(f, engine, 1000);
	ctest_start(&f->t.c);
	sf_sink_start(f, 0);
	assert_true(proc_poll_log(f->proc[0], "has no events yet", 0));
	/* one per apply lane (apply_connections, 2 by default: docs/sinks.md) */
	assert_int_equal(sf_kill_connections_once(f, false), 2);
	sf_wl_commit(&f->wl, 1);
	if (!poll_until(sf_rows_or_exit, f, SF_CATCH_UP_MS) || !sf_sink_running(f, 0)) {
		proc_print_log(f->proc[0], 40);
		fail_msg("%s: the sink did not apply the first event (status %d, -1: still running)", name,
		         proc_wait(f->proc[0], 0));
	}
	sf_wl_commit(&f->wl, 20);
	sf_check_converged(f, name);
	sf_finish(f, 0, name, t0);
}

static void test_mysql_connection_lost_before_first_event(void **state)
{
	sf_lost_at_first_event(*state, STEST_MYSQL, "MariaDB target, connection lost before the first event");
}

static void test_pg_connection_lost_before_first_event(void **state)
{
	sf_lost_at_first_event(*state, STEST_PG, "PostgreSQL target, connection lost before the first event");
}

/* 3. Two processes of one sink share the partitions; one is SIGKILLed inside a target transaction under a
 * steady load; the other takes its partitions over after the session timeout: the target equals the
 * source, nothing applied twice. (TRUNCATE across processes: test_sink_truncate.c.) */
static void test_two_processes(void **state)
{
	struct sf *f = *state;
	int64_t t0 = clock_mono_ms(), killed_at;
	struct sf_proc_arg a0 = {.f = f, .i = 0, .text = "assigned 4 partitions"};
	struct sf_proc_arg a1 = {.f = f, .i = 1, .text = "assigned 4 partitions"};
	struct sf_proc_arg all = {.f = f, .i = 1, .text = "assigned 8 partitions"};

	sf_init(f, STEST_PG, 1000);
	ctest_start(&f->t.c);
	sf_wl_commit(&f->wl, 1);
	sf_sink_start(f, 0);
	proc_log_mark(f->proc[0]);
	sf_sink_spawn(f, 1);
	/* the group rebalances: four partitions each, the load going on meanwhile */
	sf_load_until(f, 0, sf_log_cond, &a1, 100, "process 1 has 4 partitions");
	sf_load_until(f, 0, sf_log_cond, &a0, 100, "process 0 has 4 partitions");
	print_message("two processes with 4 partitions each %" PRId64 " ms after the start\n", clock_mono_ms() - t0);
	sf_wl_commit(&f->wl, 50);
	proc_log_mark(f->proc[1]);
	sf_kill_in_tx(f, 0, 300, "process 0 killed inside a target transaction");
	killed_at = clock_mono_ms();
	sf_load_until(f, 1, sf_log_cond, &all, 100, "process 1 has all 8 partitions");
	print_message("process 1 took over all partitions %" PRId64 " ms after process 0 was killed\n",
	              clock_mono_ms() - killed_at);
	while (sf_wl_changes(&f->wl) < 30000) {
		struct timespec ts = {0, SF_PACE_MS * 1000000L};

		sf_wl_commit(&f->wl, 2);
		nanosleep(&ts, NULL);
	}
	sf_check_converged(f, "two processes, one killed");
	sf_finish(f, 1, "two processes of one sink, one SIGKILLed", t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pg_sigkill, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_pg_target_down, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_pg_connections_killed, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_pg_connection_lost_before_first_event, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_mysql_sigkill, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_mysql_connections_killed, sf_setup, sf_teardown),
		cmocka_unit_test_setup_teardown(test_mysql_connection_lost_before_first_event, sf_setup, sf_teardown),
	};
	/* e.g. CLEAVE_TEST_FILTER=test_pg_sigkill: one test (cmocka's * and ? wildcards) */
	if (getenv("CLEAVE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CLEAVE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
