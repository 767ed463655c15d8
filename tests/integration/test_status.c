/* test_status.c: `cleave status` (SPEC.md §1) against the test servers:
 * - the slot (exists, active while capture runs, confirmed position) and, per sink, the lag counted
 *   exactly: events in Kafka before the sink ever ran, 0 once it applied everything, the events produced
 *   while it was stopped (deletes count with their tombstones); --sink selects sinks; the text form says
 *   the same;
 * - exit 1 when the slot does not exist or a sink's database does not answer (its password not printed);
 * - exit 2 for an unknown sink and for a source that does not answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#define RUN_TIMEOUT_MS 60000
#define WAIT_MS 60000

#define ITEMS_TABLE "CREATE TABLE items (id integer PRIMARY KEY, note text)"

#define SINKS_YAML                                                                                                 \
	"sinks:\n"                                                                                                 \
	"  - name: users\n"                                                                                        \
	"    type: postgres\n"                                                                                     \
	"    dsn: \"${PG_TARGET_DSN}\"\n"                                                                          \
	"    create_tables: true\n"                                                                                \
	"    mappings:\n"                                                                                          \
	"      - source: public.items\n"                                                                           \
	"  - name: other\n"                                                                                        \
	"    type: mysql\n"                                                                                        \
	"    dsn: \"mysql://nobody:Sekr1tPw@127.0.0.1:1/none\"\n"                                                  \
	"    mappings:\n"                                                                                          \
	"      - source: public.items\n"

struct run {
	int status;
	char *out; /* stdout and stderr */
};

/* Runs `cleave status -c CONFIG extra...` (extra NULL-terminated, at most 4). */
static struct run run_status(struct stest *t, const char *const extra[])
{
	const char *argv[10] = {CLEAVE_BIN, "status", "-c", t->c.config_path};
	const char *log;
	struct run r;
	size_t n = 4;

	for (size_t i = 0; extra[i]; i++) {
		assert_true(n < 9);
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	r.status = proc_run("status", argv, NULL, RUN_TIMEOUT_MS, &log);
	r.out = ctest_read_file(log);
	return r;
}

/* `cleave status --json --sink users` (plus --sink other when both): the parsed document, exit status in
 * *status. The JSON starts at the first line that is "{". */
static json_t *status_json(struct stest *t, bool both, int *status)
{
	const char *one[] = {"--json", "--sink", "users", NULL};
	const char *two[] = {"--json", "--sink", "users", "--sink", "other", NULL};
	struct run r = run_status(t, both ? two : one);
	const char *start = strncmp(r.out, "{\n", 2) == 0 ? r.out : strstr(r.out, "\n{\n");
	json_error_t jerr;
	json_t *doc;

	if (!start)
		fail_msg("no JSON in the output of cleave status:\n%s", r.out);
	doc = json_loads(start, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!doc)
		fail_msg("cleave status printed bad JSON (%s):\n%s", jerr.text, r.out);
	*status = r.status;
	free(r.out);
	return doc;
}

static json_t *sink_of(json_t *doc, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(doc, "sinks"), i, s)
		if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
			return s;
	fail_msg("no sink %s in the status", name);
	return NULL;
}

struct lag_wait {
	struct stest *t;
	json_int_t want, last;
	json_t *doc;
};

static bool lag_is(void *arg)
{
	struct lag_wait *w = arg;
	int st;

	json_decref(w->doc);
	w->doc = status_json(w->t, false, &st);
	assert_int_equal(st, 0);
	w->last = json_integer_value(json_object_get(sink_of(w->doc, "users"), "lag"));
	return w->last == w->want;
}

/* Polls `cleave status` until sink users' lag is `lag` (the sink stores its positions a moment after the
 * rows the test sees in the target) and returns that status document. */
static json_t *wait_lag(struct stest *t, json_int_t lag)
{
	struct lag_wait w = {.t = t, .want = lag, .last = -1};

	if (!poll_until(lag_is, &w, WAIT_MS))
		fail_msg("sink users' lag stayed %lld, expected %lld", (long long)w.last, (long long)lag);
	return w.doc;
}

static void test_status_lag(void **state)
{
	struct stest t;
	json_t *doc, *src, *users, *topic;
	struct run r;
	int st;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items", SINKS_YAML);
	stest_start_capture(&t);

	/* ten events before the sink ever ran: all of them are lag */
	ctest_exec_and_wait(&t.c, "INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 10) g");
	doc = status_json(&t, false, &st);
	assert_int_equal(st, 0);
	src = json_object_get(doc, "source");
	assert_true(json_is_true(json_object_get(src, "exists")));
	assert_true(json_is_true(json_object_get(src, "active")));
	assert_string_equal(json_string_value(json_object_get(src, "slot")), t.c.slot);
	assert_true(json_integer_value(json_object_get(src, "retained_wal_bytes")) >= 0);
	users = sink_of(doc, "users");
	assert_int_equal(json_array_size(json_object_get(doc, "sinks")), 1);
	assert_true(json_is_true(json_object_get(users, "reachable")));
	assert_int_equal(json_integer_value(json_object_get(users, "lag")), 10);
	assert_true(json_is_null(json_object_get(users, "applied_commit_lsn")));
	topic = json_array_get(json_object_get(users, "topics"), 0);
	assert_string_equal(json_string_value(json_object_get(topic, "topic")), ctest_topic(&t.c, "public.items"));
	assert_int_equal(json_integer_value(json_object_get(topic, "lag")), 10);
	json_decref(doc);

	/* applied: no lag, a position */
	stest_start_sink(&t, "users");
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	doc = wait_lag(&t, 0);
	users = sink_of(doc, "users");
	assert_true(json_is_string(json_object_get(users, "applied_commit_lsn")));
	json_decref(doc);

	/* stopped: three deletes and their tombstones wait */
	assert_int_equal(stest_stop_sink(&t, "users"), 0);
	ctest_exec_and_wait(&t.c, "DELETE FROM items WHERE id <= 3");
	doc = wait_lag(&t, 6);
	json_decref(doc);

	/* the text form */
	r = run_status(&t, (const char *[]){"--sink", "users", NULL});
	assert_int_equal(r.status, 0);
	if (!strstr(r.out, "lag 6 events") || !strstr(r.out, testenv_fmt("slot %s: active", t.c.slot)))
		fail_msg("unexpected text:\n%s", r.out);
	free(r.out);
	stest_fini(&t);
}

static void test_status_problems(void **state)
{
	struct stest t;
	json_t *doc, *other;
	struct run r;
	int st;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items", SINKS_YAML);

	/* capture never ran: no slot (exit 1); the MySQL sink does not answer (exit 1, no password shown) */
	doc = status_json(&t, true, &st);
	assert_int_equal(st, 1);
	assert_true(json_is_false(json_object_get(json_object_get(doc, "source"), "exists")));
	other = sink_of(doc, "other");
	assert_true(json_is_false(json_object_get(other, "reachable")));
	assert_non_null(json_string_value(json_object_get(other, "error")));
	json_decref(doc);
	r = run_status(&t, (const char *[]){NULL});
	assert_int_equal(r.status, 1);
	if (!strstr(r.out, "does not exist") || !strstr(r.out, "does not answer") || strstr(r.out, "Sekr1tPw"))
		fail_msg("unexpected text:\n%s", r.out);
	free(r.out);

	/* usage: an unknown sink */
	r = run_status(&t, (const char *[]){"--sink", "nope", NULL});
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.out, "no sink named 'nope'"));
	free(r.out);

	/* a source that does not answer */
	ctest_config_replace(&t.c, testenv_fmt("port=%s", testenv_get("CLEAVE_TEST_PG_PORT")), "port=1");
	r = run_status(&t, (const char *[]){NULL});
	assert_int_equal(r.status, 2);
	if (!strstr(r.out, "cleave status: ") || !strstr(r.out, "source PostgreSQL"))
		fail_msg("unexpected text:\n%s", r.out);
	free(r.out);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_status_lag),
	        cmocka_unit_test(test_status_problems),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
