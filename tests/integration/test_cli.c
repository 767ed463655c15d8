/* test_cli.c: cleave's command line (SPEC.md §1): usage on --help, exit 2 for usage errors, `cleave
 * version`, and `cleave check` against the test servers: all ok (exit 0), a check that fails (exit 1, a
 * FAIL line naming what), a config error (exit 2, "file:line: key"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "tests/support/capturetest.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

#define RUN_TIMEOUT_MS 60000

/* One run of cleave: its status and its whole output (stdout and stderr, in one file). */
struct run {
	int status;
	const char *out; /* lives until exit (testenv_fmt) */
};

/* Runs `cleave args...` (args NULL-terminated, at most 8) and returns status and output. */
static struct run run_cleave(const char *const args[])
{
	const char *argv[10] = {CLEAVE_BIN};
	const char *log;
	char *text;
	struct run r;
	size_t n = 1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(n < 9);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	r.status = proc_run("cli", argv, NULL, RUN_TIMEOUT_MS, &log);
	text = ctest_read_file(log);
	r.out = testenv_fmt("%s", text);
	free(text);
	return r;
}

/* Fails, showing the command and its output, unless the status is `status` and the output holds every
 * string of `wanted` (NULL-terminated). */
static void assert_run(const struct run *r, const char *const args[], int status, const char *const wanted[])
{
	bool ok = r->status == status;

	for (size_t i = 0; ok && wanted && wanted[i]; i++)
		ok = strstr(r->out, wanted[i]) != NULL;
	if (ok)
		return;
	fprintf(stderr, "cleave");
	for (size_t i = 0; args[i]; i++)
		fprintf(stderr, " %s", args[i]);
	fprintf(stderr, "\nexit status %d (expected %d); output:\n%s\nexpected in the output:\n", r->status, status,
	        r->out);
	for (size_t i = 0; wanted && wanted[i]; i++)
		fprintf(stderr, "  '%s'\n", wanted[i]);
	fail_msg("unexpected result of cleave %s", args[0] ? args[0] : "");
}

/* Runs cleave and asserts as assert_run. */
static void expect(const char *const args[], int status, const char *const wanted[])
{
	struct run r = run_cleave(args);

	assert_run(&r, args, status, wanted);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The line of text that starts with `prefix` (lives until exit), or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			const char *eol = strchr(p, '\n');

			return testenv_fmt("%.*s", (int)(eol ? eol - p : (ptrdiff_t)strlen(p)), p);
		}
	}
	return NULL;
}

/* The 1-based line of the first occurrence of `needle` in file path. */
static int line_of(const char *path, const char *needle)
{
	char *text = ctest_read_file(path);
	const char *at = strstr(text, needle);
	int line = 1;

	for (const char *p = text; at && p < at; p++)
		line += *p == '\n';
	free(text);
	if (!at)
		fail_msg("%s does not contain '%s'", path, needle);
	return line;
}

/* ---- 8. usage ---- */

static void test_help(void **state)
{
	(void)state;
	expect(ARGS("--help"), 0, WANT("usage: cleave <command>", "capture", "check", "events", "version", "--config"));
	expect(ARGS("-h"), 0, WANT("usage: cleave <command>"));
	expect(ARGS("--help"), 0, WANT("reconcile"));
	expect(ARGS("capture", "--help"), 0, WANT("usage: cleave capture", "-c, --config FILE", "Exit status"));
	expect(ARGS("capture", "-h"), 0, WANT("usage: cleave capture"));
	expect(ARGS("check", "--help"), 0, WANT("usage: cleave check", "-c, --config FILE", "Exit status"));
	expect(ARGS("check", "-h"), 0, WANT("usage: cleave check"));
	expect(ARGS("version", "--help"), 0, WANT("usage: cleave version"));
	expect(ARGS("events", "--help"), 0, WANT("usage: cleave events", "--table", "--limit"));
	expect(ARGS("reconcile", "--help"), 0,
	       WANT("usage: cleave reconcile", "--sink NAME", "--repair", "--dry-run", "--json", "Exit status"));
}

static void test_usage_errors(void **state)
{
	struct run r;

	(void)state;
	r = run_cleave((const char *const[]){NULL});
	assert_run(&r, (const char *const[]){NULL}, 2, WANT("usage: cleave <command>"));
	expect(ARGS("frobnicate"), 2, WANT("frobnicate", "usage: cleave <command>"));
	expect(ARGS("--frobnicate"), 2, WANT("--frobnicate"));
	expect(ARGS("capture", "--frobnicate"), 2, WANT("frobnicate", "usage: cleave capture"));
	expect(ARGS("check", "--frobnicate"), 2, WANT("frobnicate", "usage: cleave check"));
	expect(ARGS("version", "--frobnicate"), 2, WANT("frobnicate"));
	expect(ARGS("capture", "-c"), 2, WANT("usage: cleave capture"));
	expect(ARGS("check", "stray"), 2, WANT("stray"));
	expect(ARGS("capture", "stray"), 2, WANT("stray"));
	/* a config file that is not there is a config error */
	expect(ARGS("check", "-c", "/nonexistent/cleave.yaml"), 2, WANT("/nonexistent/cleave.yaml"));
	expect(ARGS("capture", "--config", "/nonexistent/cleave.yaml"), 2, WANT("/nonexistent/cleave.yaml"));
	/* reconcile: --sink is required, --dry-run only with --repair, numbers are checked */
	expect(ARGS("reconcile"), 2, WANT("--sink NAME is required", "usage: cleave reconcile"));
	expect(ARGS("reconcile", "--sink", "x", "--dry-run"), 2, WANT("--dry-run needs --repair"));
	expect(ARGS("reconcile", "--sink", "x", "--timeout", "soon"), 2, WANT("--timeout", "soon"));
	expect(ARGS("reconcile", "--sink", "x", "-c", "/nonexistent/cleave.yaml"), 2, WANT("/nonexistent/cleave.yaml"));
}

/* `cleave version` takes no arguments, like the other commands it rejects a stray one */
static void test_version_stray_argument(void **state)
{
	(void)state;
	expect(ARGS("version", "stray"), 2, WANT("stray"));
	expect(ARGS("events"), 2, WANT("usage: cleave events"));
	expect(ARGS("events", "--table", "public.x", "--limit", "0"), 2, WANT("--limit"));
}

static void test_version(void **state)
{
	struct run r;
	int pqv = PQlibVersion();
	const char *line;

	(void)state;
	r = run_cleave(ARGS("version"));
	assert_run(&r, ARGS("version"), 0,
	           WANT("libpq ", "mysqlclient ", "avro-c ",
	                testenv_fmt("librdkafka %s\n", rd_kafka_version_str()),
	                testenv_fmt("libpq %d.%d\n", pqv / 10000, pqv % 10000),
	                testenv_fmt("libyaml %s\n", yaml_get_version_string()),
	                testenv_fmt("jansson %s\n", jansson_version_str())));
	/* the first line is cleave's own: "cleave X.Y.Z" */
	line = line_starting(r.out, "cleave ");
	assert_non_null(line);
	assert_true(line[strlen("cleave ")] >= '0' && line[strlen("cleave ")] <= '9');
	assert_int_equal(strncmp(r.out, line, strlen(line)), 0);
	/* --version says the same */
	r = run_cleave(ARGS("--version"));
	assert_run(&r, ARGS("--version"), 0, WANT(testenv_fmt("librdkafka %s\n", rd_kafka_version_str())));
}

/* ---- 9. cleave check ---- */

/* Adds a PostgreSQL and a MySQL sink (the test servers) mapping `table` to t's config. */
static void add_sinks(struct ctest *t, const char *table)
{
	ctest_config_replace(t, "log:\n",
	                     testenv_fmt("sinks:\n"
	                                 "  - name: svc_pg\n"
	                                 "    type: postgres\n"
	                                 "    dsn: \"%s\"\n"
	                                 "    mappings:\n"
	                                 "      - source: %s\n"
	                                 "  - name: svc_my\n"
	                                 "    type: mysql\n"
	                                 "    dsn: \"%s\"\n"
	                                 "    mappings:\n"
	                                 "      - source: %s\n"
	                                 "log:\n",
	                                 pgtest_dsn(NULL), table,
	                                 testenv_fmt("%smysql", testenv_get("CLEAVE_TEST_MYSQL_DSN")), table));
}

static void test_check_ok(void **state)
{
	struct ctest *t = *state;
	const char *const *a;
	struct run r;
	size_t lines = 0;

	ctest_init(t, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)", "public.a, b",
	           NULL, NULL);
	add_sinks(t, "public.b");
	a = (const char *const[]){"check", "-c", t->config_path, NULL};
	r = run_cleave(a);
	assert_run(&r, a, 0,
	           WANT("ok    config ", "ok    source postgres ", "ok    source wal_level=logical",
	                "ok    source replication", "ok    source tables (2 found)",
	                testenv_fmt("ok    source slot %s", t->slot), "ok    kafka ", "ok    sink svc_pg postgres ",
	                "ok    sink svc_my mysql "));
	/* every line is ok */
	for (const char *p = r.out; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		if (*p == '\n')
			continue;
		if (strncmp(p, "ok    ", 6) != 0) {
			fprintf(stderr, "%s\n", r.out);
			fail_msg("a line of cleave check's output is not \"ok\"");
		}
		lines++;
	}
	assert_int_equal(lines, 9);

	/* with the slot created by capture, still ok */
	ctest_start(t);
	assert_int_equal(ctest_stop(t), 0);
	r = run_cleave(a);
	assert_run(&r, a, 0, WANT(testenv_fmt("ok    source slot %s (exists", t->slot)));
	assert_null(strstr(r.out, "FAIL"));
}

static void test_check_kafka_down(void **state)
{
	struct ctest *t = *state;
	const char *const *a;
	const char *brokers = testenv_fmt("127.0.0.1:%d", testenv_free_port());
	struct run r;
	const char *line;

	ctest_init(t, "CREATE TABLE a (id int PRIMARY KEY)", "public.a", NULL, NULL);
	ctest_config_replace(t, testenv_fmt("brokers: \"%s\"", testenv_get("CLEAVE_TEST_KAFKA_BROKERS")),
	                     testenv_fmt("brokers: \"%s\"", brokers));
	a = (const char *const[]){"check", "-c", t->config_path, NULL};
	r = run_cleave(a);
	assert_run(&r, a, 1, WANT("ok    source tables (1 found)"));
	line = line_starting(r.out, "FAIL  kafka ");
	if (!line) {
		fprintf(stderr, "%s\n", r.out);
		fail_msg("no FAIL line for Kafka");
	}
	assert_non_null(strstr(line, brokers));
	assert_null(line_starting(r.out, "FAIL  source"));
}

static void test_check_missing_table(void **state)
{
	struct ctest *t = *state;
	const char *const *a;
	struct run r;
	const char *line;

	ctest_init(t, "CREATE TABLE present (id int PRIMARY KEY)", "public.present, public.absent", NULL, NULL);
	a = (const char *const[]){"check", "-c", t->config_path, NULL};
	r = run_cleave(a);
	assert_run(&r, a, 1, WANT("ok    kafka "));
	line = line_starting(r.out, "FAIL  source tables");
	if (!line) {
		fprintf(stderr, "%s\n", r.out);
		fail_msg("no FAIL line for the missing table");
	}
	assert_non_null(strstr(line, "public.absent"));
	assert_null(strstr(line, "public.present"));
}

static void test_check_config_errors(void **state)
{
	struct ctest *t = *state;
	const char *const *a, *const *c;
	int line;

	ctest_init(t, "CREATE TABLE a (id int PRIMARY KEY)", "public.a", NULL, NULL);
	a = (const char *const[]){"check", "-c", t->config_path, NULL};
	c = (const char *const[]){"capture", "-c", t->config_path, NULL};

	/* an unknown key */
	ctest_config_replace(t, "  snapshot: never\n", "  snapshot: never\n  bogus_key: 1\n");
	line = line_of(t->config_path, "bogus_key");
	expect(a, 2, WANT(testenv_fmt("%s:%d: source.bogus_key: unknown key", t->config_path, line)));
	expect(c, 2, WANT(testenv_fmt("%s:%d: source.bogus_key: unknown key", t->config_path, line)));
	ctest_config_replace(t, "  bogus_key: 1\n", "");

	/* a wrong type */
	ctest_config_replace(t, "  status_interval_ms: 200\n", "  status_interval_ms: soon\n");
	line = line_of(t->config_path, "status_interval_ms");
	expect(a, 2, WANT(testenv_fmt("%s:%d: source.status_interval_ms: ", t->config_path, line)));
	ctest_config_replace(t, "  status_interval_ms: soon\n", "  status_interval_ms: 200\n");

	/* a missing environment variable */
	ctest_config_replace(t, testenv_fmt("  slot: %s\n", t->slot), "  slot: ${CLEAVE_TEST_NO_SUCH_VAR}\n");
	line = line_of(t->config_path, "${CLEAVE_TEST_NO_SUCH_VAR}");
	expect(a, 2, WANT(testenv_fmt("%s:%d: ", t->config_path, line), "CLEAVE_TEST_NO_SUCH_VAR"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_version_stray_argument),
		cmocka_unit_test_setup_teardown(test_check_ok, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_check_kafka_down, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_check_missing_table, ctest_setup, ctest_teardown),
		cmocka_unit_test_setup_teardown(test_check_config_errors, ctest_setup, ctest_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
