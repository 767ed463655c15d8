/* test_harness.c: proves the test harness itself: the servers tests/run.sh starts (PostgreSQL with
 * logical decoding, MariaDB, Kafka), and the helpers of tests/support (proc, pgtest, kafkatest, mockctl)
 * including the mock cluster's fault injection. If this fails, no other integration test means much. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "schema/avro_write.h"
#include "schema/fingerprint.h"
#include "tests/support/kafkatest.h"
#include "tests/support/mockctl.h"
#include "tests/support/pgtest.h"
#include "tests/support/proc.h"
#include "tests/support/testenv.h"

/* proc: exit status, signals, environment additions, log polling, a program that does not exist. */
static void test_proc(void **state)
{
	const char *sh_exit[] = {"sh", "-c", "echo \"x=$CLEAVE_HARNESS_X\"; exit 3", NULL};
	const char *sh_wait[] = {"sh", "-c", "echo ready; exec sleep 60", NULL};
	const char *missing[] = {"cleave-no-such-program", NULL};
	const char *env[] = {"CLEAVE_HARNESS_X=42", NULL};
	struct proc *p;

	(void)state;
	p = proc_spawn("harness_sh", sh_exit, env);
	assert_int_equal(proc_wait(p, 10000), 3);
	assert_true(proc_poll_log(p, "x=42\n", 0));
	proc_free(p);

	p = proc_spawn("harness_sleep", sh_wait, NULL);
	assert_true(proc_poll_log(p, "ready", 10000));
	assert_int_equal(proc_wait(p, 0), -1); /* still running */
	proc_log_mark(p);
	assert_false(proc_poll_log(p, "ready", 0)); /* only what came after the mark */
	proc_kill(p, SIGTERM);
	assert_int_equal(proc_wait(p, 10000), 128 + SIGTERM);
	proc_free(p);

	assert_int_equal(proc_run("harness_missing", missing, NULL, 10000, NULL), 127);
}

/* PostgreSQL: logical decoding is on, a fresh database with a slot in it is created and dropped. */
static void test_postgres(void **state)
{
	PGconn *c = pgtest_connect(NULL), *d;
	const char *db = pgtest_create_db(), *slot = testenv_unique("harness_slot");
	char *v;

	(void)state;
	v = pgtest_value(c, "SHOW wal_level");
	assert_string_equal(v, "logical");
	free(v);
	assert_int_equal(pgtest_value_int(c, "SELECT current_setting('max_replication_slots')::int"), 20);
	v = pgtest_value(c, "SELECT current_setting('server_version_num')::int / 10000");
	assert_string_equal(v, "15");
	free(v);
	assert_null(pgtest_value(c, "SELECT NULL"));

	d = pgtest_connect(db);
	pgtest_exec(d, "CREATE TABLE t (id int PRIMARY KEY, s text)");
	pgtest_exec(d, "INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 10) i");
	assert_true(pgtest_poll_until(d, "SELECT count(*) FROM t", "10", 5000));
	pgtest_exec(d, "SELECT pg_create_logical_replication_slot('%s', 'pgoutput')", slot);
	assert_int_equal(pgtest_value_int(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'"
	                                     " AND database = '%s'", slot, db), 1);
	PQfinish(d);

	pgtest_drop_db(db);
	assert_int_equal(pgtest_value_int(c, "SELECT count(*) FROM pg_database WHERE datname = '%s'", db), 0);
	assert_int_equal(pgtest_value_int(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'",
	                                  slot), 0);
	PQfinish(c);
}

/* PostgreSQL stop/start through the same pgctl script tests/run.sh uses; a connection made before the
 * restart is reset by pgtest_poll_until. */
static void test_postgres_restart(void **state)
{
	PGconn *c = pgtest_connect(NULL), *down;

	(void)state;
	pgtest_server_stop("fast");
	down = PQconnectdb(pgtest_dsn(NULL));
	assert_int_equal(PQstatus(down), CONNECTION_BAD);
	PQfinish(down);
	pgtest_server_start();
	assert_true(pgtest_poll_until(c, "SELECT 1", "1", 10000));
	PQfinish(c);
}

/* MariaDB answers on CLEAVE_TEST_MYSQL_PORT (checked with the mariadb client, not linked into tests). */
static void test_mariadb(void **state)
{
	const char *host = testenv_get("CLEAVE_TEST_MYSQL_HOST"), *port = testenv_get("CLEAVE_TEST_MYSQL_PORT");
	const char *argv[] = {"mariadb", "--no-defaults", "--protocol=tcp", "-h", host, "-P", port, "-uroot",
	                      "-N", "-B", "-e", "SELECT CONCAT('version=', VERSION()), @@log_bin, @@binlog_format",
	                      NULL};
	struct proc *p;

	(void)state;
	assert_string_equal(testenv_get("CLEAVE_TEST_MYSQL_DSN"), testenv_fmt("mysql://root@%s:%s/", host, port));
	p = proc_spawn("harness_mariadb", argv, NULL);
	assert_int_equal(proc_wait(p, 30000), 0);
	if (!proc_poll_log(p, "-MariaDB", 0) || !proc_poll_log(p, "\t1\tROW\n", 0)) {
		proc_print_log(p, 20);
		fail_msg("unexpected answer from MariaDB (want its version, log_bin 1, binlog_format ROW)");
	}
	proc_free(p);
}

static const struct ktest_msg *find_key(const struct ktest_msgs *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->v[i].key && strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	fail_msg("no message with key %s", key);
	return NULL;
}

/* Kafka: keys, values, a tombstone, headers (one with a null value), two partitions; the three readers. */
static void test_kafka_roundtrip(void **state)
{
	const char *topic = testenv_unique("harness_rt");
	const char *props[] = {"enable.idempotence", "true", "linger.ms", "0", NULL};
	const struct ktest_header hdrs[] = {{"trace", "abc", 3}, {"empty", NULL, 0}};
	int32_t p1 = 0;
	struct ktest_msgs *m;
	const struct ktest_msg *k;
	rd_kafka_t *rk;

	(void)state;
	if (testenv_has_mock()) {
		mockctl_ok("topic %s 2", topic);
		p1 = 1;
	}
	rk = kafkatest_producer_new(props);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 0, "k1", 2, "v1", 2, hdrs, 2, 30000), 0);
	assert_int_equal(kafkatest_produce_sync(rk, topic, p1, "k2", 2, "v2", 2, NULL, 0, 30000), 0);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 0, "k3", 2, NULL, 0, NULL, 0, 30000), 0);
	rd_kafka_destroy(rk);

	m = kafkatest_consume(topic, 3, 30000);
	assert_int_equal(m->n, 3);
	k = find_key(m, "k1");
	assert_int_equal(k->partition, 0);
	assert_int_equal(k->offset, 0);
	assert_int_equal(k->value_len, 2);
	assert_string_equal(k->value, "v1");
	assert_int_equal(k->nheaders, 2);
	assert_string_equal(k->headers[0].name, "trace");
	assert_int_equal(k->headers[0].len, 3);
	assert_memory_equal(k->headers[0].value, "abc", 3);
	assert_string_equal(k->headers[1].name, "empty");
	assert_null(k->headers[1].value);
	assert_non_null(ktest_msg_header(k, "trace"));
	assert_null(ktest_msg_header(k, "nope"));
	k = find_key(m, "k2");
	assert_int_equal(k->partition, p1);
	assert_int_equal(k->offset, p1 ? 0 : 1);
	assert_string_equal(k->value, "v2");
	assert_int_equal(k->nheaders, 0);
	k = find_key(m, "k3");
	assert_int_equal(k->partition, 0);
	assert_int_equal(k->offset, p1 ? 1 : 2);
	assert_null(k->value); /* tombstone */
	assert_int_equal(k->value_len, 0);
	ktest_msgs_free(m);

	m = kafkatest_consume_to_end(topic, 30000);
	assert_int_equal(m->n, 3);
	ktest_msgs_free(m);
	m = kafkatest_consume_idle(topic, 500, 30000);
	assert_int_equal(m->n, 3);
	ktest_msgs_free(m);
}

/* kafkatest_decode: a schema in <prefix>._schemas and a single-object-encoded value that uses it, made
 * here by hand the way cleave publishes them. */
static void test_kafka_decode(void **state)
{
	const char *prefix = testenv_unique("harness_dec");
	const char *schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},"
	                     "{\"name\":\"s\",\"type\":\"string\"}]}";
	uint64_t id = fingerprint_crc64_avro(schema, strlen(schema));
	struct ktest_schemas *s;
	struct buf b;
	json_t *j;
	char *text;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(avro_put_soe_header(&b, id), 0);
	assert_int_equal(avro_put_long(&b, -42), 0);
	assert_int_equal(avro_put_bytes(&b, "hé", strlen("hé")), 0);
	kafkatest_produce(testenv_fmt("%s._schemas", prefix), testenv_fmt("%016llx", (unsigned long long)id), schema);

	s = kafkatest_schemas_load(prefix);
	assert_string_equal(kafkatest_schema_json(s, id), schema);
	j = kafkatest_decode(s, b.data, b.len);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"id\":-42,\"s\":\"hé\"}");
	free(text);
	json_decref(j);
	assert_null(kafkatest_decode(s, NULL, 0));
	kafkatest_schemas_free(s);
	buf_free(&b);
}

/* mock: "topic" makes a topic with the partition count asked for; bad commands get ERR. */
static void test_mock_topic(void **state)
{
	const char *topic = testenv_unique("harness_topic");
	char *r;

	(void)state;
	testenv_require_mock();
	r = mockctl("ping");
	assert_string_equal(r, "OK pong");
	free(r);
	mockctl_ok("topic %s 3", topic);
	assert_int_equal(kafkatest_partition_count(topic, 10000), 3);
	r = mockctl("topic %s 3", topic);
	assert_memory_equal(r, "ERR", 3); /* already exists */
	free(r);
	r = mockctl("no-such-command 1");
	assert_memory_equal(r, "ERR", 3);
	free(r);
}

/* mock: "errors 0 3 X" fails the next three Produce requests with X: a producer without retries sees
 * exactly three failures; an idempotent producer retries through them; nothing failed is stored and nothing
 * is stored twice. */
static void test_mock_errors(void **state)
{
	const char *topic = testenv_unique("harness_err");
	const char *plain_props[] = {"enable.idempotence", "false", "retries", "0", "linger.ms", "0", NULL};
	const char *idem_props[] = {"enable.idempotence", "true", "linger.ms", "0", "retry.backoff.ms", "50", NULL};
	const char *expect[] = {"warm", "after", "idem-warm", "idem"};
	struct ktest_msgs *m;
	rd_kafka_t *plain, *idem;
	size_t i;

	(void)state;
	testenv_require_mock();
	mockctl_ok("topic %s 1", topic);
	plain = kafkatest_producer_new(plain_props);
	idem = kafkatest_producer_new(idem_props);
	/* first produces: connections and metadata are in place before errors are armed */
	assert_int_equal(kafkatest_produce_sync(plain, topic, 0, NULL, 0, "warm", 4, NULL, 0, 30000), 0);

	mockctl_ok("errors 0 3 NOT_ENOUGH_REPLICAS");
	for (i = 0; i < 3; i++)
		assert_int_equal(kafkatest_produce_sync(plain, topic, 0, NULL, 0, "fail", 4, NULL, 0, 30000),
		                 RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
	assert_int_equal(kafkatest_produce_sync(plain, topic, 0, NULL, 0, "after", 5, NULL, 0, 30000), 0);

	assert_int_equal(kafkatest_produce_sync(idem, topic, 0, NULL, 0, "idem-warm", 9, NULL, 0, 30000), 0);
	mockctl_ok("errors 0 3 NOT_ENOUGH_REPLICAS");
	assert_int_equal(kafkatest_produce_sync(idem, topic, 0, NULL, 0, "idem", 4, NULL, 0, 30000), 0);
	rd_kafka_destroy(plain);
	rd_kafka_destroy(idem);

	m = kafkatest_consume_to_end(topic, 30000);
	assert_int_equal(m->n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(m->v[i].offset, (int64_t)i);
		assert_string_equal(m->v[i].value, expect[i]);
	}
	ktest_msgs_free(m);
}

/* mock: "down 1" stops broker 1 (partition 0's leader) while broker 2 (partition 1's) keeps working;
 * "leader" moves partition 0 to broker 2, where producing works again; after "up 1" it moves back. */
static void test_mock_down_up(void **state)
{
	const char *topic = testenv_unique("harness_down");
	const char *props[] = {"linger.ms", "0", "message.timeout.ms", "1500", "reconnect.backoff.ms", "50",
	                       "reconnect.backoff.max.ms", "200", NULL};
	const char *expect[] = {"p0-before", "p0-moved", "p0-after", "p1-before", "p1-during"};
	struct ktest_msgs *m;
	rd_kafka_t *rk;
	size_t i;

	(void)state;
	testenv_require_mock();
	mockctl_ok("topic %s 2", topic);
	mockctl_ok("leader %s 0 1", topic);
	mockctl_ok("leader %s 1 2", topic);
	rk = kafkatest_producer_new(props);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 0, NULL, 0, "p0-before", 9, NULL, 0, 30000), 0);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 1, NULL, 0, "p1-before", 9, NULL, 0, 30000), 0);

	mockctl_ok("down 1");
	assert_int_equal(kafkatest_produce_sync(rk, topic, 1, NULL, 0, "p1-during", 9, NULL, 0, 30000), 0);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 0, NULL, 0, "p0-lost", 7, NULL, 0, 30000),
	                 RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
	mockctl_ok("leader %s 0 2", topic);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 0, NULL, 0, "p0-moved", 8, NULL, 0, 30000), 0);

	mockctl_ok("up 1");
	mockctl_ok("leader %s 0 1", topic);
	assert_int_equal(kafkatest_produce_sync(rk, topic, 0, NULL, 0, "p0-after", 8, NULL, 0, 30000), 0);
	rd_kafka_destroy(rk);

	m = kafkatest_consume_to_end(topic, 30000);
	assert_int_equal(m->n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(m->v[i].partition, i < 3 ? 0 : 1);
		assert_string_equal(m->v[i].value, expect[i]);
	}
	ktest_msgs_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc),
		cmocka_unit_test(test_postgres),
		cmocka_unit_test(test_postgres_restart),
		cmocka_unit_test(test_mariadb),
		cmocka_unit_test(test_kafka_roundtrip),
		cmocka_unit_test(test_kafka_decode),
		cmocka_unit_test(test_mock_topic),
		cmocka_unit_test(test_mock_errors),
		cmocka_unit_test(test_mock_down_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
