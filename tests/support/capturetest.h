/* capturetest.h: one `cleave capture` deployment per test: a fresh source database, a unique slot,
 * publication and topic prefix, a config file in the run directory, the capture process, and its events
 * read back from Kafka and decoded (with the schemas capture published) into JSON.
 *
 * Errors fail the running test. Not thread-safe. */
#ifndef CLEAVE_CAPTURETEST_H
#define CLEAVE_CAPTURETEST_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/support/kafkatest.h"
#include "tests/support/proc.h"

struct ctest {
	const char *db;          /* fresh source database */
	PGconn *pg;              /* connection to it */
	const char *prefix;      /* unique topic prefix */
	const char *slot;
	const char *publication;
	const char *config_path; /* in the run directory */
	struct proc *capture;    /* NULL when not running */
	struct ktest_schemas *schemas;
};

/* cmocka fixtures: *state becomes a zeroed struct ctest; the teardown (run after a failed test too) stops
 * capture if it runs, drops what ctest_init made and frees it. */
int ctest_setup(void **state);
int ctest_teardown(void **state);

/* Creates the database, runs setup_sql in it, and writes a config capturing `tables` (a YAML flow list's
 * inside, e.g. "public.a, public.b") with snapshot: never. extra_source_yaml (or NULL) is added under
 * `source:` (lines indented by two spaces, e.g. "  status_interval_ms: 200\n"); extra_kafka_props (or NULL)
 * under kafka.properties (e.g. "    message.timeout.ms: 5000\n"). */
void ctest_init(struct ctest *t, const char *setup_sql, const char *tables, const char *extra_source_yaml,
                const char *extra_kafka_props);

/* Starts `cleave capture` and waits until it logs that it streams. */
void ctest_start(struct ctest *t);
/* Starts `cleave capture` and returns at once (for tests that expect it to fail). */
struct proc *ctest_spawn(struct ctest *t);
/* SIGTERM and wait: returns the exit status. */
int ctest_stop(struct ctest *t);
/* SIGKILL and reap. */
void ctest_kill(struct ctest *t);
/* Stops capture (if running), drops the database and its slot, frees everything. */
void ctest_fini(struct ctest *t);

/* Replaces the first occurrence of `from` in t's config file with `to` (for variations of the config
 * ctest_init wrote: another DSN, broker list or log level, extra keys). Fails the test when `from` is not
 * there. */
void ctest_config_replace(struct ctest *t, const char *from, const char *to);

/* The whole content of file `path` (e.g. proc_log_path() of a process), malloc'ed and NUL-terminated: the
 * caller frees it. Fails the test when the file cannot be read. */
char *ctest_read_file(const char *path);

/* The source's pg_current_wal_lsn() now (malloc'ed text). */
char *ctest_wal_lsn(struct ctest *t);
/* The slot's confirmed_flush_lsn (malloc'ed text). */
char *ctest_confirmed(struct ctest *t);
/* Waits until confirmed_flush_lsn >= lsn. */
bool ctest_wait_confirmed(struct ctest *t, const char *lsn, int timeout_ms);
/* Like ctest_wait_confirmed, but also returns (true) as soon as capture exits, so a test that expects it to
 * keep running can fail at once with its log instead of waiting for the deadline. */
bool ctest_wait_confirmed_or_exit(struct ctest *t, const char *lsn, int timeout_ms);
/* Runs the SQL, then waits until everything committed so far is confirmed (so acknowledged by Kafka). */
void ctest_exec_and_wait(struct ctest *t, const char *sql);

/* "<prefix>.<schema>.<table>" for table "schema.table" (lives until exit). */
const char *ctest_topic(struct ctest *t, const char *table);

/* One event read back: key and value decoded (value NULL for a tombstone). */
struct ctest_event {
	int32_t partition;
	int64_t offset;
	json_t *key;   /* NULL when the message had no key (truncate) */
	json_t *value; /* NULL for a tombstone */
};

struct ctest_events {
	struct ctest_event *v;
	size_t n;
};

/* Every message of table's topic up to its current end, decoded, sorted by (commit_lsn, seq) of the
 * envelope, then partition and offset; tombstones follow the event they belong to. */
struct ctest_events *ctest_events(struct ctest *t, const char *table, int timeout_ms);
/* Waits until the topic holds at least n messages (events and tombstones), then as ctest_events. */
struct ctest_events *ctest_events_wait(struct ctest *t, const char *table, size_t n, int timeout_ms);
void ctest_events_free(struct ctest_events *e);

/* Only the non-tombstone events of op (e.g. 'c'), in the same order; borrowed pointers into e. */
size_t ctest_events_of_op(const struct ctest_events *e, char op, const struct ctest_event **out, size_t max);

/* Asserts that ev's value has op `op`, `before` and `after` equal to the JSON texts given (NULL: JSON
 * null), compared exactly with json_equal, and source.schema/table equal to `table`. Prints both sides on
 * a mismatch. */
void ctest_assert_event(const struct ctest_event *ev, char op, const char *table, const char *before_json,
                        const char *after_json);

/* json_equal, printing both documents on a mismatch and failing the test. */
void ctest_assert_json(const json_t *actual, const char *expected_json);

#endif
