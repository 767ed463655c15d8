/* test_sink_errors.c: what `cleave sink` does with input it cannot apply and with mappings that cannot work
 * (SPEC.md §1, §4), against a PostgreSQL and a MariaDB target:
 * - a message that is not a cleave event, produced straight into a mapped topic, and an event that breaks a
 *   target constraint go to <prefix>.dlq.<sink> with headers cleave.topic/partition/offset/error naming the
 *   original message and the reason; the rows after them are applied;
 * - with on_error: stop the sink exits 2 naming the event instead, and applies it once the target is fixed;
 * - a mapping that cannot work stops the sink at start with exit 2 and an error naming table and column:
 *   a projection naming a missing column (also when it is found only at the first event), an existing
 *   target table lacking a column (create_tables false), with an incompatible type or another primary key
 *   (create_tables false and true), a missing target table with create_tables false; with create_tables
 *   true the missing column is added instead (test_schema_changes.c tests that further);
 * - `cleave sink` without --sink or with an unknown sink name exits 2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#define WAIT_MS 60000

#define ITEMS_TABLE "CREATE TABLE items (id integer PRIMARY KEY, qty integer, note text)"

/* ---- helpers ---- */

/* Fails the test unless `text` contains every one of the NULL-terminated needles. */
static void assert_contains(const char *what, const char *text, const char *const *needles)
{
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(text, needles[i]))
			fail_msg("%s does not mention '%s':\n%s", what, needles[i], text);
}

/* The message of `table`'s topic whose event has after.id == id (or, with id < 0, whose value is the text
 * `raw`), from the whole topic; the caller frees *all. */
static const struct ktest_msg *find_msg(struct stest *t, const char *table, int id, const char *raw,
                                        struct ktest_msgs **all)
{
	struct ktest_schemas *schemas = kafkatest_schemas_load(t->c.prefix);
	const struct ktest_msg *found = NULL;

	*all = kafkatest_consume_to_end(ctest_topic(&t->c, table), 30000);
	for (size_t i = 0; i < (*all)->n && !found; i++) {
		const struct ktest_msg *k = &(*all)->v[i];
		json_t *v;

		if (!k->value)
			continue;
		if (id < 0) {
			if (k->value_len == strlen(raw) && memcmp(k->value, raw, k->value_len) == 0)
				found = k;
			continue;
		}
		if (k->value_len < 2 || ((const unsigned char *)k->value)[0] != 0xC3)
			continue; /* not cleave's */
		v = kafkatest_decode(schemas, k->value, k->value_len);
		if (json_integer_value(json_object_get(json_object_get(v, "after"), "id")) == id)
			found = k;
		json_decref(v);
	}
	kafkatest_schemas_free(schemas);
	if (!found)
		fail_msg("no message for id %d in %s", id, ctest_topic(&t->c, table));
	return found;
}

/* dlq is a dead-letter copy of orig: same key and value, headers naming it, and a reason containing
 * every needle. */
static void assert_dlq_copy(struct stest *t, const struct ktest_msg *dlq, const struct ktest_msg *orig,
                            const char *table, const char *const *needles)
{
	assert_string_equal(stest_header(dlq, "cleave.topic"), ctest_topic(&t->c, table));
	assert_string_equal(stest_header(dlq, "cleave.partition"), testenv_fmt("%d", (int)orig->partition));
	assert_string_equal(stest_header(dlq, "cleave.offset"), testenv_fmt("%lld", (long long)orig->offset));
	assert_int_equal(dlq->value_len, orig->value_len);
	assert_memory_equal(dlq->value, orig->value, orig->value_len);
	assert_int_equal(dlq->key_len, orig->key_len);
	if (orig->key_len)
		assert_memory_equal(dlq->key, orig->key, orig->key_len);
	assert_contains("cleave.error", stest_header(dlq, "cleave.error"), needles);
}

/* ---- (a) dead-letter topic ---- */

static const char *const dlq_yaml = "sinks:\n"
                                    "  - name: err_dlq_pg\n"
                                    "    type: postgres\n"
                                    "    dsn: \"${PG_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.items\n"
                                    "  - name: err_dlq_my\n"
                                    "    type: mysql\n"
                                    "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                    "    create_tables: true\n"
                                    "    batch_ms: 50\n"
                                    "    mappings:\n"
                                    "      - source: public.items\n";

static void test_dead_letters(void **state)
{
	static const char *const garbage_why[] = {"not an Avro single-object encoded message", NULL};
	static const char *const check_why[] = {"qty_nonneg", NULL};
	const char *sinks[] = {"err_dlq_pg", "err_dlq_my"};
	struct stest t;
	struct ktest_msgs *all, *all2;
	const struct ktest_msg *garbage, *bad;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items", dlq_yaml);
	stest_start_capture(&t);
	stest_start_sink(&t, "err_dlq_pg");
	stest_start_sink(&t, "err_dlq_my");
	pgtest_exec(t.c.pg, "INSERT INTO items VALUES (1, 5, 'first')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, WAIT_MS));
	/* the targets refuse what the source allows */
	pgtest_exec(t.pg, "ALTER TABLE items ADD CONSTRAINT qty_nonneg CHECK (qty >= 0)");
	stest_my_exec(&t, "ALTER TABLE items ADD CONSTRAINT qty_nonneg CHECK (qty >= 0)");

	kafkatest_produce(ctest_topic(&t.c, "public.items"), "k", "garbage");
	pgtest_exec(t.c.pg, "INSERT INTO items VALUES (2, -1, 'refused'), (3, 7, 'after');"
	                    "INSERT INTO items VALUES (4, 8, NULL)");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", "id <> 2", WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", "id <> 2", WAIT_MS));

	garbage = find_msg(&t, "public.items", -1, "garbage", &all);
	bad = find_msg(&t, "public.items", 2, NULL, &all2);
	for (size_t s = 0; s < 2; s++) {
		struct ktest_msgs *d = stest_dlq_wait(&t, sinks[s], 2, WAIT_MS);
		const struct ktest_msg *dg = NULL, *dc = NULL;

		assert_int_equal(d->n, 2);
		for (size_t i = 0; i < d->n; i++) {
			const struct ktest_msg *k = &d->v[i];

			if (strcmp(stest_header(k, "cleave.offset"), testenv_fmt("%lld", (long long)garbage->offset)) == 0 &&
			    strcmp(stest_header(k, "cleave.partition"), testenv_fmt("%d", (int)garbage->partition)) == 0)
				dg = &d->v[i];
			else
				dc = &d->v[i];
		}
		assert_non_null(dg);
		assert_non_null(dc);
		assert_dlq_copy(&t, dg, garbage, "public.items", garbage_why);
		assert_dlq_copy(&t, dc, bad, "public.items", check_why);
		print_message("%s: %s | %s\n", sinks[s], stest_header(dg, "cleave.error"), stest_header(dc, "cleave.error"));
		ktest_msgs_free(d);
	}
	ktest_msgs_free(all);
	ktest_msgs_free(all2);

	/* later rows still flow */
	pgtest_exec(t.c.pg, "UPDATE items SET note = 'updated' WHERE id = 3; DELETE FROM items WHERE id = 1");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", "id <> 2", WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", "id <> 2", WAIT_MS));
	assert_int_equal(stest_stop_sink(&t, "err_dlq_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "err_dlq_my"), 0);
	stest_fini(&t);
}

/* An event larger than librdkafka's default message.max.bytes (1000000), which kafka.properties raises for
 * the whole deployment, goes to the dead-letter topic like any other. */
static void test_dead_letter_large(void **state)
{
	static const char *const check_why[] = {"qty_nonneg", NULL};
	const char *sinks[] = {"err_dlq_pg", "err_dlq_my"};
	struct stest t;
	struct ktest_msgs *all;
	const struct ktest_msg *bad;

	(void)state;
	stest_init_ex(&t, ITEMS_TABLE, "public.items", dlq_yaml, NULL, "    message.max.bytes: 8000000\n");
	stest_start_capture(&t);
	stest_start_sink(&t, "err_dlq_pg");
	stest_start_sink(&t, "err_dlq_my");
	pgtest_exec(t.c.pg, "INSERT INTO items VALUES (1, 5, 'first')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, WAIT_MS));
	pgtest_exec(t.pg, "ALTER TABLE items ADD CONSTRAINT qty_nonneg CHECK (qty >= 0)");
	stest_my_exec(&t, "ALTER TABLE items ADD CONSTRAINT qty_nonneg CHECK (qty >= 0)");

	pgtest_exec(t.c.pg, "INSERT INTO items VALUES (2, -1, repeat('x', 1500000));"
	                    "INSERT INTO items VALUES (3, 7, 'after')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", "id <> 2", WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", "id <> 2", WAIT_MS));
	bad = find_msg(&t, "public.items", 2, NULL, &all);
	assert_true(bad->value_len > 1500000);
	for (size_t s = 0; s < 2; s++) {
		struct ktest_msgs *d = stest_dlq_wait(&t, sinks[s], 1, WAIT_MS);

		assert_int_equal(d->n, 1);
		assert_dlq_copy(&t, &d->v[0], bad, "public.items", check_why);
		ktest_msgs_free(d);
	}
	ktest_msgs_free(all);
	assert_int_equal(stest_stop_sink(&t, "err_dlq_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "err_dlq_my"), 0);
	stest_fini(&t);
}

/* ---- (b) on_error: stop ---- */

static const char *const stop_yaml = "sinks:\n"
                                     "  - name: err_stop_pg\n"
                                     "    type: postgres\n"
                                     "    dsn: \"${PG_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.items\n"
                                     "  - name: err_stop_my\n"
                                     "    type: mysql\n"
                                     "    dsn: \"${MYSQL_TARGET_DSN}\"\n"
                                     "    create_tables: true\n"
                                     "    on_error: stop\n"
                                     "    batch_ms: 50\n"
                                     "    mappings:\n"
                                     "      - source: public.items\n";

static void test_on_error_stop(void **state)
{
	const char *sinks[] = {"err_stop_pg", "err_stop_my"};
	struct stest t;
	struct ktest_msgs *all;
	const struct ktest_msg *bad, *garbage;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items", stop_yaml);
	stest_start_capture(&t);
	stest_start_sink(&t, "err_stop_pg");
	stest_start_sink(&t, "err_stop_my");
	pgtest_exec(t.c.pg, "INSERT INTO items VALUES (1, 5, 'first')");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, WAIT_MS));
	pgtest_exec(t.pg, "ALTER TABLE items ADD CONSTRAINT qty_nonneg CHECK (qty >= 0)");
	stest_my_exec(&t, "ALTER TABLE items ADD CONSTRAINT qty_nonneg CHECK (qty >= 0)");

	/* in Kafka once capture confirmed it */
	ctest_exec_and_wait(&t.c, "INSERT INTO items VALUES (2, -1, 'refused');"
	                          "INSERT INTO items VALUES (3, 7, 'after')");
	bad = find_msg(&t, "public.items", 2, NULL, &all);
	for (size_t s = 0; s < 2; s++) {
		const char *const why[] = {ctest_topic(&t.c, "public.items"),
		                           testenv_fmt("[%d] offset %lld", (int)bad->partition, (long long)bad->offset),
		                           "qty_nonneg", "on_error: stop", NULL};

		stest_assert_sink_fails(&t, sinks[s], why);
	}
	ktest_msgs_free(all);
	/* nothing was skipped: row 2 is not there, and neither is anything the failed batch held */
	assert_int_equal(pgtest_value_int(t.pg, "SELECT count(*) FROM items WHERE id = 2"), 0);
	{
		char *n = stest_my_value(&t, "SELECT COUNT(*) FROM items WHERE id = 2");

		assert_string_equal(n, "0");
		free(n);
	}

	/* fixed: a restarted sink applies the event it stopped at, and what follows */
	pgtest_exec(t.pg, "ALTER TABLE items DROP CONSTRAINT qty_nonneg");
	stest_my_exec(&t, "ALTER TABLE items DROP CONSTRAINT qty_nonneg");
	stest_start_sink(&t, "err_stop_pg");
	stest_start_sink(&t, "err_stop_my");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	assert_true(stest_wait_same(&t, STEST_MYSQL, "public.items", "items", NULL, WAIT_MS));

	/* a message that is not an event stops it too, naming it */
	kafkatest_produce(ctest_topic(&t.c, "public.items"), "k", "garbage");
	garbage = find_msg(&t, "public.items", -1, "garbage", &all);
	for (size_t s = 0; s < 2; s++) {
		const char *const why[] = {testenv_fmt("%s [%d] offset %lld", ctest_topic(&t.c, "public.items"),
		                                       (int)garbage->partition, (long long)garbage->offset),
		                           "not an Avro single-object encoded message", "on_error: stop", NULL};

		stest_assert_sink_fails(&t, sinks[s], why);
	}
	ktest_msgs_free(all);
	/* no dead letters with on_error: stop */
	for (size_t s = 0; s < 2; s++) {
		struct ktest_msgs *d = kafkatest_consume_idle(stest_dlq_topic(&t, sinks[s]), 500, 30000);

		assert_int_equal(d->n, 0);
		ktest_msgs_free(d);
	}
	stest_fini(&t);
}

/* ---- (c) mappings that cannot work ---- */

/* One sink per case: name, engine, create_tables, target table, projection (or NULL). */
struct bad_mapping {
	const char *name;
	enum stest_engine e;
	bool create;
	const char *target;
	const char *columns;
	const char *needles[5];
};

static const struct bad_mapping bad_mappings[] = {
	{"bad_proj_pg", STEST_PG, true, "items", "[id, nope]", {"nope", "not a column of the source table", NULL}},
	{"bad_proj_my", STEST_MYSQL, true, "items", "[id, nope]", {"nope", "not a column of the source table", NULL}},
	{"bad_nokey_pg", STEST_PG, true, "items", "[qty, note]", {"key column id", "columns", NULL}},
	{"bad_nokey_my", STEST_MYSQL, true, "items", "[qty, note]", {"key column id", "columns", NULL}},
	{"bad_nocol_pg_f", STEST_PG, false, "nocol_f", NULL, {"nocol_f", "no column note", NULL}},
	{"bad_nocol_my_f", STEST_MYSQL, false, "nocol_f", NULL, {"nocol_f", "no column note", NULL}},
	{"bad_type_pg_f", STEST_PG, false, "type_f", NULL, {"type_f", "qty", "smallint", "cannot hold", NULL}},
	/* create_tables: true widens smallint (test_schema_changes.c), but no type holds both boolean and integer */
	{"bad_type_pg_t", STEST_PG, true, "type_t", NULL, {"type_t", "qty", "boolean", "cannot hold", NULL}},
	{"bad_type_my_f", STEST_MYSQL, false, "type_f", NULL, {"type_f", "qty", "smallint", "cannot hold", NULL}},
	{"bad_type_my_t", STEST_MYSQL, true, "type_t", NULL, {"type_t", "qty", "date", "cannot hold", NULL}},
	{"bad_pk_pg_f", STEST_PG, false, "pk_f", NULL, {"pk_f", "primary key", "qty", NULL}},
	{"bad_pk_pg_t", STEST_PG, true, "pk_t", NULL, {"pk_t", "primary key", "qty", NULL}},
	{"bad_pk_my_f", STEST_MYSQL, false, "pk_f", NULL, {"pk_f", "primary key", "qty", NULL}},
	{"bad_pk_my_t", STEST_MYSQL, true, "pk_t", NULL, {"pk_t", "primary key", "qty", NULL}},
	{"bad_missing_pg", STEST_PG, false, "missing", NULL, {"missing", "does not exist", "create_tables", NULL}},
	{"bad_missing_my", STEST_MYSQL, false, "missing", NULL, {"missing", "does not exist", "create_tables", NULL}},
};
#define NBAD (sizeof bad_mappings / sizeof bad_mappings[0])

static void test_bad_mappings(void **state)
{
	char yaml[16384];
	size_t len;
	struct stest t;

	(void)state;
	len = (size_t)snprintf(yaml, sizeof yaml, "sinks:\n");
	for (size_t i = 0; i < NBAD; i++) {
		const struct bad_mapping *b = &bad_mappings[i];

		len += (size_t)snprintf(yaml + len, sizeof yaml - len,
		                        "  - name: %s\n"
		                        "    type: %s\n"
		                        "    dsn: \"%s\"\n"
		                        "    create_tables: %s\n"
		                        "    mappings:\n"
		                        "      - source: public.items\n"
		                        "        target: %s\n"
		                        "%s%s%s",
		                        b->name, b->e == STEST_PG ? "postgres" : "mysql",
		                        b->e == STEST_PG ? "${PG_TARGET_DSN}" : "${MYSQL_TARGET_DSN}",
		                        b->create ? "true" : "false", b->target, b->columns ? "        columns: " : "",
		                        b->columns ? b->columns : "", b->columns ? "\n" : "");
		assert_true(len < sizeof yaml);
	}
	/* with create_tables: true the missing column is added */
	for (int e = 0; e < 2; e++) {
		len += (size_t)snprintf(yaml + len, sizeof yaml - len,
		                        "  - name: add_nocol_%s\n"
		                        "    type: %s\n"
		                        "    dsn: \"%s\"\n"
		                        "    create_tables: true\n"
		                        "    mappings:\n"
		                        "      - source: public.items\n"
		                        "        target: nocol_t\n",
		                        e ? "my" : "pg", e ? "mysql" : "postgres", e ? "${MYSQL_TARGET_DSN}" : "${PG_TARGET_DSN}");
		assert_true(len < sizeof yaml);
	}
	/* a projection that is checked at the first event: its table has none yet when the sink starts */
	len += (size_t)snprintf(yaml + len, sizeof yaml - len,
	                        "  - name: bad_proj_later\n"
	                        "    type: postgres\n"
	                        "    dsn: \"${PG_TARGET_DSN}\"\n"
	                        "    create_tables: true\n"
	                        "    mappings:\n"
	                        "      - source: public.later\n"
	                        "        columns: [id, nope]\n");
	assert_true(len < sizeof yaml);
	stest_init(&t, ITEMS_TABLE "; CREATE TABLE later (id integer PRIMARY KEY, v text)",
	           "public.items, public.later", yaml);
	/* the existing target tables */
	pgtest_exec(t.pg, "CREATE TABLE nocol_f (id integer PRIMARY KEY, qty integer);"
	                  "CREATE TABLE nocol_t (id integer PRIMARY KEY, qty integer);"
	                  "CREATE TABLE type_f (id integer PRIMARY KEY, qty smallint, note text);"
	                  "CREATE TABLE type_t (id integer PRIMARY KEY, qty boolean, note text);"
	                  "CREATE TABLE pk_f (id integer NOT NULL, qty integer PRIMARY KEY, note text);"
	                  "CREATE TABLE pk_t (id integer NOT NULL, qty integer PRIMARY KEY, note text)");
	stest_my_exec(&t, "CREATE TABLE nocol_f (id INT PRIMARY KEY, qty INT)");
	stest_my_exec(&t, "CREATE TABLE nocol_t (id INT PRIMARY KEY, qty INT)");
	stest_my_exec(&t, "CREATE TABLE type_f (id INT PRIMARY KEY, qty SMALLINT,"
	                  " note LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)");
	stest_my_exec(&t, "CREATE TABLE type_t (id INT PRIMARY KEY, qty DATE,"
	                  " note LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)");
	stest_my_exec(&t, "CREATE TABLE pk_f (id INT NOT NULL, qty INT PRIMARY KEY,"
	                  " note LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)");
	stest_my_exec(&t, "CREATE TABLE pk_t (id INT NOT NULL, qty INT PRIMARY KEY,"
	                  " note LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)");
	/* an event, so that its schema is known when the sinks start */
	stest_start_capture(&t);
	ctest_exec_and_wait(&t.c, "INSERT INTO items VALUES (1, 5, 'first')");

	for (size_t i = 0; i < NBAD; i++) {
		const struct bad_mapping *b = &bad_mappings[i];

		stest_spawn_sink(&t, b->name);
		stest_assert_sink_fails(&t, b->name, b->needles);
		/* at start: before consuming anything */
		assert_false(proc_poll_log(stest_sink_proc(&t, b->name), "consuming", 0));
	}
	/* the target tables are as they were, and nothing was created */
	assert_int_equal(pgtest_value_int(t.pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND"
	                                        " tablename NOT IN ('nocol_f', 'nocol_t', 'type_f', 'type_t',"
	                                        " 'pk_f', 'pk_t', 'cleave_positions', 'cleave_truncates')"),
	                 0);
	assert_int_equal(pgtest_value_int(t.pg, "SELECT count(*) FROM information_schema.columns WHERE table_name IN"
	                                        " ('nocol_f', 'nocol_t')"),
	                 4);
	{
		char *n = stest_my_value(&t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA ="
		                             " DATABASE() AND TABLE_NAME NOT IN ('nocol_f', 'nocol_t', 'type_f',"
		                             " 'type_t', 'pk_f', 'pk_t', 'cleave_positions', 'cleave_truncates')");

		assert_string_equal(n, "0");
		free(n);
	}

	/* found at the first event */
	{
		static const char *const why[] = {"nope", "not a column of the source table", NULL};

		stest_start_sink(&t, "bad_proj_later");
		assert_true(proc_poll_log(stest_sink_proc(&t, "bad_proj_later"), "has no events yet", 0));
		pgtest_exec(t.c.pg, "INSERT INTO later VALUES (1, 'x')");
		stest_assert_sink_fails(&t, "bad_proj_later", why);
	}

	/* create_tables: true adds the column the existing table lacks */
	stest_start_sink(&t, "add_nocol_pg");
	stest_start_sink(&t, "add_nocol_my");
	assert_true(stest_wait_value(&t, STEST_PG, "SELECT note FROM nocol_t WHERE id = 1", "first", WAIT_MS));
	assert_true(stest_wait_value(&t, STEST_MYSQL, "SELECT note FROM nocol_t WHERE id = 1", "first", WAIT_MS));
	assert_int_equal(stest_stop_sink(&t, "add_nocol_pg"), 0);
	assert_int_equal(stest_stop_sink(&t, "add_nocol_my"), 0);
	stest_fini(&t);
}

/* ---- (d) the command line ---- */

static void test_command_line(void **state)
{
	struct stest t;
	const char *log;
	char *text;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items",
	           "sinks:\n"
	           "  - name: cli_pg\n"
	           "    type: postgres\n"
	           "    dsn: \"${PG_TARGET_DSN}\"\n"
	           "    mappings:\n"
	           "      - source: public.items\n");
	{
		const char *argv[] = {CLEAVE_BIN, "sink", "-c", t.c.config_path, NULL};

		assert_int_equal(proc_run("sink_nosink", argv, NULL, 30000, &log), 2);
		text = ctest_read_file(log);
		assert_non_null(strstr(text, "--sink NAME is required"));
		free(text);
	}
	{
		const char *argv[] = {CLEAVE_BIN, "sink", "-c", t.c.config_path, "--sink", "nosuch", NULL};

		assert_int_equal(proc_run("sink_unknown", argv, NULL, 30000, &log), 2);
		text = ctest_read_file(log);
		assert_non_null(strstr(text, "no sink named 'nosuch'"));
		free(text);
	}
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_bad_mappings),
		cmocka_unit_test(test_dead_letters),
		cmocka_unit_test(test_dead_letter_large),
		cmocka_unit_test(test_on_error_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
