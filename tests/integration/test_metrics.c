/* test_metrics.c: the Prometheus endpoint (config metrics.listen, option --metrics-listen) of capture and
 * of a sink: exact counts after a known workload (10 inserts, 3 deletes: 13 row events for capture and for
 * the sink, whose count leaves tombstones out), the confirmed and applied positions, 404 for other paths,
 * and a clear exit 2 when the address is taken. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/sinktest.h"
#include "tests/support/testenv.h"

#define WAIT_MS 60000

#define ITEMS_TABLE "CREATE TABLE items (id integer PRIMARY KEY, note text)"

/* GET path from 127.0.0.1:port with HTTP/1.0: the whole response (malloc'ed), or NULL when nothing listens. */
static char *http_get(int port, const char *path)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char req[256], *out = NULL;
	size_t len = 0;
	ssize_t n;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		out = realloc(out, len + 4097);
		assert_non_null(out);
		if ((n = read(fd, out + len, 4096)) <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
	return out;
}

/* The value of the sample line "name value" (name includes labels) in a scrape; -1 when missing. */
static long long sample(const char *scrape, const char *name)
{
	const char *line = scrape;
	size_t nl = strlen(name);

	while ((line = strstr(line, name)) != NULL) {
		if ((line == scrape || line[-1] == '\n') && line[nl] == ' ')
			return atoll(line + nl + 1);
		line += nl;
	}
	return -1;
}

struct sample_wait {
	int port;
	const char *name;
	long long want, last;
};

static bool sample_is(void *arg)
{
	struct sample_wait *w = arg;
	char *scrape = http_get(w->port, "/metrics");

	w->last = scrape ? sample(scrape, w->name) : -2;
	free(scrape);
	return w->last == w->want;
}

/* Polls the endpoint until sample `name` is `want` (capture updates its metrics with each status update). */
static void wait_sample(int port, const char *name, long long want)
{
	struct sample_wait w = {.port = port, .name = name, .want = want, .last = -1};

	if (!poll_until(sample_is, &w, WAIT_MS))
		fail_msg("%s stayed %lld, expected %lld", name, w.last, want);
}

/* The LSN text "X/Y" as the number the metrics give. */
static long long lsn_value(const char *text)
{
	unsigned hi, lo;

	assert_int_equal(sscanf(text, "%X/%X", &hi, &lo), 2);
	return (long long)(((unsigned long long)hi << 32) | lo);
}

static void test_metrics(void **state)
{
	struct stest t;
	int cport = testenv_free_port(), sport = testenv_free_port();
	struct proc *sink, *dup;
	char *scrape, *confirmed;

	(void)state;
	stest_init(&t, ITEMS_TABLE, "public.items",
	              "sinks:\n"
	              "  - name: users\n"
	              "    type: postgres\n"
	              "    dsn: \"${PG_TARGET_DSN}\"\n"
	              "    create_tables: true\n"
	              "    mappings:\n"
	              "      - source: public.items\n");
	ctest_config_replace(&t.c, "sinks:\n", testenv_fmt("metrics:\n  listen: \"127.0.0.1:%d\"\nsinks:\n", cport));
	stest_start_capture(&t);
	ctest_exec_and_wait(&t.c, "INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 10) g");
	ctest_exec_and_wait(&t.c, "DELETE FROM items WHERE id <= 3");
	wait_sample(cport, "cleave_capture_events_total", 13);
	confirmed = ctest_confirmed(&t.c);
	wait_sample(cport, "cleave_capture_confirmed_lsn", lsn_value(confirmed));
	free(confirmed);
	scrape = http_get(cport, "/metrics");
	assert_non_null(strstr(scrape, "HTTP/1.0 200") ? scrape : strstr(scrape, "HTTP/1.1 200"));
	assert_non_null(strstr(scrape, "# TYPE cleave_capture_events_total counter\n"));
	assert_int_equal(sample(scrape, "cleave_capture_kafka_outstanding_messages"), 0);
	free(scrape);
	scrape = http_get(cport, "/nothing");
	assert_non_null(strstr(scrape, " 404 "));
	free(scrape);

	/* the sink on its own port: the config's is capture's */
	{
		const char *argv[] = {CLEAVE_BIN, "sink", "-c", t.c.config_path, "--sink", "users", "--metrics-listen",
		                      testenv_fmt("127.0.0.1:%d", sport), NULL};

		sink = proc_spawn("sink_users", argv, NULL);
	}
	assert_true(stest_wait_same(&t, STEST_PG, "public.items", "items", NULL, WAIT_MS));
	wait_sample(sport, "cleave_sink_events_total{sink=\"users\"}", 13);
	scrape = http_get(sport, "/metrics");
	assert_int_equal(sample(scrape, "cleave_sink_dead_letters_total{sink=\"users\"}"), 0);
	assert_true(sample(scrape, "cleave_sink_applied_commit_lsn{sink=\"users\"}") > 0);
	free(scrape);

	/* a second process on a taken address stops at once with a clear message */
	{
		const char *argv[] = {CLEAVE_BIN, "sink", "-c", t.c.config_path, "--sink", "users", "--metrics-listen",
		                      testenv_fmt("127.0.0.1:%d", sport), NULL};
		char *log;

		dup = proc_spawn("sink_dup", argv, NULL);
		assert_int_equal(proc_wait(dup, WAIT_MS), 2);
		log = ctest_read_file(proc_log_path(dup));
		if (!strstr(log, testenv_fmt("cleave sink: metrics.listen 127.0.0.1:%d: cannot listen there", sport)))
			fail_msg("unexpected output:\n%s", log);
		free(log);
		proc_free(dup);
	}
	assert_int_equal(proc_stop(sink, WAIT_MS), 0);
	proc_free(sink);
	stest_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
