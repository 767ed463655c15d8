/* test_sink_lanes.c: a sink with apply_connections: 3 (docs/sinks.md, apply lanes) applies through three
 * target connections and ends with exactly the source's rows and a stored position for every partition
 * that holds events, equal to that partition's last offset; after a restart it goes on from there. Small
 * batches (batch_size: 7) so that every lane commits many transactions, and rows changed several times
 * (inserted, updated twice, some deleted) so that the order within a key matters. A prefetch of 1 KB
 * (queued.max.messages.kbytes) keeps librdkafka's queue full in a backlog, so that the sink's wake of a
 * stalled fetcher (a seek back to the message after the last one taken: docs/sinks.md) runs many times
 * under the same exact checks. Also: the rows of an initial snapshot go into a PostgreSQL target with COPY. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#ifndef CLEAVE_BIN
#error "CLEAVE_BIN must name the cleave binary under test"
#endif

#define WAIT_MS 90000

#define ITEMS_TABLE "CREATE TABLE items (id bigint PRIMARY KEY, ver integer NOT NULL, note text)"

static const char *const sinks_yaml = "sinks:\n"
                                      "  - name: lanes_pg\n"
                                      "    type: postgres\n"
                                      "    dsn: \"${PG_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_size: 7\n"
                                      "    batch_ms: 20\n"
                                      "    apply_connections: 3\n"
                                      "    mappings:\n"
                                      "      - source: public.items\n"
                                      "  - name: lanes_my\n"
                                      "    type: mysql\n"
                                      "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                      "    create_tables: true\n"
                                      "    batch_size: 7\n"
                                      "    batch_ms: 20\n"
                                      "    apply_connections: 3\n"
                                      "    mappings:\n"
                                      "      - source: public.items\n";

/* Rows from..to-1: inserted, updated twice (each its own transaction per 50 rows), every fifth deleted. */
static void workload(struct stest *t, int from, int to)
{
	for (int lo = from; lo < to; lo += 50) {
		int hi = lo + 50 < to ? lo + 50 : to;

		pgtest_exec(t->c.pg,
		            "INSERT INTO items SELECT g, 0, 'n' || g FROM generate_series(%d, %d) g", lo, hi - 1);
		pgtest_exec(t->c.pg, "UPDATE items SET ver = ver + 1 WHERE id BETWEEN %d AND %d", lo, hi - 1);
		pgtest_exec(t->c.pg, "UPDATE items SET ver = ver + 1, note = note || '!' WHERE id BETWEEN %d AND %d",
		            lo, hi - 1);
		pgtest_exec(t->c.pg, "DELETE FROM items WHERE id BETWEEN %d AND %d AND id %% 5 = 0", lo, hi - 1);
	}
}

/* "partition:last offset,..." of the partitions of the items topic that hold messages. */
static char *topic_ends(struct stest *t)
{
	const char *topic = ctest_topic(&t->c, "public.items");
	struct ktest_msgs *m = kafkatest_consume_idle(topic, 1000, 30000);
	int64_t last[64];
	int n = kafkatest_partition_count(topic, 10000);
	char *s = calloc(1, 64 * 32);

	assert_true(n > 0 && n <= 64);
	for (int i = 0; i < n; i++)
		last[i] = -1;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].offset > last[m->v[i].partition])
			last[m->v[i].partition] = m->v[i].offset;
	for (int i = 0; i < n; i++)
		if (last[i] >= 0)
			sprintf(s + strlen(s), "%s%d:%lld", s[0] ? "," : "", i, (long long)last[i]);
	ktest_msgs_free(m);
	return s;
}

static void test_lanes(void **state)
{
	struct stest t;
	const char *argv[] = {CLEAVE_BIN, "sink", "-c", NULL, "--sink", "lanes_pg", NULL};
	const char *env[] = {"PGAPPNAME=lanes_pg", NULL};
	struct proc *pg_sink;
	char *want;

	(void)state;
	stest_init_ex(&t, ITEMS_TABLE, "public.items", sinks_yaml, NULL, "    queued.max.messages.kbytes: 1\n");
	argv[3] = t.c.config_path;
	stest_start_capture(&t);
	/* spawned here with an application name, so that its target connections can be counted */
	pg_sink = proc_spawn("lanes_pg", argv, env);
	stest_start_sink(&t, "lanes_my");

	workload(&t, 1, 1001);
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, WAIT_MS));
	/* three lanes, three connections (they connect at the start and stay) */
	assert_int_equal(pgtest_value_int(t.pg,
	                                  "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
	                                  " AND application_name = 'lanes_pg'"),
	                 3);
	/* every partition's position is stored, at its last offset (the lanes commit their positions with
	 * their rows; tombstones are taken too) */
	want = topic_ends(&t);
	assert_true(stest_wait_value(&t, STEST_PG,
	                             "SELECT string_agg(kafka_partition || ':' || kafka_offset, ',' ORDER BY"
	                             " kafka_partition) FROM cleave_positions WHERE sink = 'lanes_pg'",
	                             want, WAIT_MS));

	/* a restart goes on from the stored positions: nothing lost, nothing applied twice (ver counts) */
	assert_int_equal(proc_stop(pg_sink, 60000), 0);
	proc_free(pg_sink);
	assert_int_equal(stest_stop_sink(&t, "lanes_my"), 0);
	/* the restart below starts with a backlog: its fetcher stalls and is woken */
	workload(&t, 1001, 1501);
	pgtest_exec(t.c.pg, "UPDATE items SET ver = ver + 10 WHERE id %% 7 = 0");
	pg_sink = proc_spawn("lanes_pg", argv, env);
	stest_start_sink(&t, "lanes_my");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, WAIT_MS));
	free(want);
	want = topic_ends(&t);
	assert_true(stest_wait_value(&t, STEST_PG,
	                             "SELECT string_agg(kafka_partition || ':' || kafka_offset, ',' ORDER BY"
	                             " kafka_partition) FROM cleave_positions WHERE sink = 'lanes_pg'",
	                             want, WAIT_MS));
	free(want);
	if (proc_stop(pg_sink, 60000) != 0)
		proc_print_log(pg_sink, 40);
	assert_false(proc_poll_log(pg_sink, "woke a stalled fetcher 0 times", 0));
	assert_true(proc_poll_log(pg_sink, "woke a stalled fetcher", 0));
	proc_free(pg_sink);
	stest_fini(&t);
}

/* Rows of an initial snapshot go into a PostgreSQL target with COPY (they are inserts: docs/sinks.md; a row
 * the target holds already is handled as test_target_pg's test_inserts shows); changes streamed after the
 * snapshot follow. A trigger on the target table records which statement wrote each row: all but short
 * runs (under 32 rows, upserted) go in with COPY. */
static void test_snapshot_rows_copied(void **state)
{
	static const char *const yaml = "sinks:\n"
	                                "  - name: snap_pg\n"
	                                "    type: postgres\n"
	                                "    dsn: \"${PG_TARGET_DSN}\"\n"
	                                "    create_tables: true\n"
	                                "    mappings:\n"
	                                "      - source: public.snap\n";
	struct stest t;

	(void)state;
	stest_init(&t, "CREATE TABLE snap (id bigint PRIMARY KEY, v text);"
	               " INSERT INTO snap SELECT g, 'v' || g FROM generate_series(1, 2000) g",
	           "public.snap", yaml);
	ctest_config_replace(&t.c, "snapshot: never", "snapshot: initial");
	pgtest_exec(t.pg, "CREATE TABLE snap (id bigint PRIMARY KEY, v text);"
	                  " CREATE TABLE writes (how text);"
	                  " CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
	                  " INSERT INTO writes VALUES (split_part(ltrim(current_query()), ' ', 1)); RETURN NULL; END$$;"
	                  " CREATE TRIGGER log_write AFTER INSERT OR UPDATE ON snap FOR EACH ROW"
	                  " EXECUTE FUNCTION log_write()");
	stest_start_capture(&t);
	stest_start_sink(&t, "snap_pg");
	assert_true(stest_wait_same(&t, STEST_PG, "public.snap", "snap", NULL, WAIT_MS));
	assert_int_equal(pgtest_value_int(t.pg, "SELECT count(*) FROM writes"), 2000);
	assert_true(pgtest_value_int(t.pg, "SELECT count(*) FROM writes WHERE how = 'COPY'") >= 1000);
	pgtest_exec(t.c.pg, "UPDATE snap SET v = 'new' WHERE id <= 10; DELETE FROM snap WHERE id > 1990");
	assert_true(stest_wait_same(&t, STEST_PG, "public.snap", "snap", NULL, WAIT_MS));
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lanes),
		cmocka_unit_test(test_snapshot_rows_copied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
