/* testenv.c: see testenv.h. */
#include "tests/support/testenv.h"

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
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

/* Strings handed out by testenv_fmt, freed at exit. */
struct testenv_str {
	struct testenv_str *next;
	char s[];
};

static struct testenv_str *testenv_strs;

static void testenv_free_strs(void)
{
	struct testenv_str *s, *next;

	for (s = testenv_strs; s; s = next) {
		next = s->next;
		free(s);
	}
	testenv_strs = NULL;
}

const char *testenv_get_opt(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *testenv_get(const char *name)
{
	const char *v = testenv_get_opt(name);

	if (!v)
		fail_msg("environment variable %s is not set: integration tests need the servers that "
		         "tests/run.sh starts; run them with `tests/run.sh` (e.g. `tests/run.sh -R harness`)",
		         name);
	return v;
}

bool testenv_has_mock(void)
{
	return testenv_get_opt("CLEAVE_TEST_KAFKA_CONTROL") != NULL;
}

void testenv_require_mock(void)
{
	if (!testenv_has_mock()) {
		print_message("skipped: needs the mock Kafka cluster (CLEAVE_TEST_KAFKA_CONTROL is unset, "
		              "a real broker is in use)\n");
		skip();
	}
}

const char *testenv_rundir(void)
{
	return testenv_get("CLEAVE_TEST_RUNDIR");
}

const char *testenv_fmt(const char *fmt, ...)
{
	static bool registered;
	struct testenv_str *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fail_msg("testenv_fmt: bad format %s", fmt);
	s = malloc(sizeof *s + (size_t)n + 1);
	if (!s)
		fail_msg("testenv_fmt: out of memory");
	va_start(ap, fmt);
	vsnprintf(s->s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (!registered) {
		atexit(testenv_free_strs);
		registered = true;
	}
	s->next = testenv_strs;
	testenv_strs = s;
	return s->s;
}

const char *testenv_unique(const char *prefix)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static unsigned counter;
	static char stamp[16];
	size_t i;

	/* The pid alone repeats across runs; against a real broker topics outlive a run, so add the start
	 * time of this program (seconds, base 36). */
	if (!stamp[0]) {
		unsigned long t = (unsigned long)time(NULL);
		char rev[16];
		size_t n = 0;

		do {
			rev[n++] = digits[t % 36];
			t /= 36;
		} while (t && n < sizeof rev - 1);
		for (i = 0; i < n; i++)
			stamp[i] = rev[n - 1 - i];
		stamp[n] = '\0';
	}
	return testenv_fmt("%s_%ld_%s_%u", prefix, (long)getpid(), stamp, ++counter);
}

bool poll_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int64_t now, step = 5;

	for (;;) {
		if (cond(arg))
			return true;
		now = clock_mono_ms();
		if (now >= deadline)
			return false;
		if (step > deadline - now)
			step = deadline - now;
		usleep((useconds_t)step * 1000);
		step = step * 2 > 100 ? 100 : step * 2;
	}
}

int testenv_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		close(fd);
		fail_msg("cannot find a free port");
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}
