/* testenv.h: what an integration test knows about the servers tests/run.sh started for it (the
 * CLEAVE_TEST_* environment, see tests/README.md), unique names, strings that live until exit, and a
 * generic poll-with-deadline.
 *
 * Like the rest of tests/support, these functions are for cmocka tests: on a problem they fail the running
 * test (cmocka's fail_msg, which returns to the test runner) instead of returning an error. They are not
 * thread-safe; call them from the test's own thread. */
#ifndef CLEAVE_TESTENV_H
#define CLEAVE_TESTENV_H

#include <stdbool.h>

/* The value of environment variable `name`. When it is unset or empty, fails the test with a message saying
 * that integration tests run under tests/run.sh. The string belongs to the environment. */
const char *testenv_get(const char *name);

/* The value of `name`, or NULL when it is unset or empty. */
const char *testenv_get_opt(const char *name);

/* Whether Kafka is the mock cluster that tests/run.sh started (CLEAVE_TEST_KAFKA_CONTROL is set), i.e.
 * whether fault injection through mockctl.h is possible. False against a real broker. */
bool testenv_has_mock(void);

/* Skips the running test (cmocka skip()) unless testenv_has_mock(). Call it first in fault-injection
 * tests, so the suite passes against a real broker. */
void testenv_require_mock(void);

/* The run directory of this tests/run.sh invocation (CLEAVE_TEST_RUNDIR). */
const char *testenv_rundir(void);

/* A printf-formatted string that stays valid until the program exits (testenv frees it then), so tests
 * can build names and DSNs without freeing them. Fails the test when memory runs out. */
const char *testenv_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A name nobody else in this run (or an earlier run against the same real broker) uses:
 * "<prefix>_<pid>_<time36>_<n>", lowercase letters, digits and '_' only if prefix is, so it serves as a
 * PostgreSQL identifier without quoting, a slot name, a Kafka topic or a consumer group. Lives until exit. */
const char *testenv_unique(const char *prefix);

/* Calls cond(arg) until it returns true or timeout_ms passes, waiting a little longer between tries
 * (5 ms growing to 100 ms). Returns true when cond did; false on timeout (after one last try at the
 * deadline). */
bool poll_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* A TCP port on 127.0.0.1 that nothing listens on (at the moment of the call). */
int testenv_free_port(void);

#endif
