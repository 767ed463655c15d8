/* capturetest.c: see capturetest.h. */
#include "tests/support/capturetest.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lsn.h"
#include "tests/support/pgtest.h"
#include "tests/support/testenv.h"

#ifndef CLEAVE_BIN
#error "CLEAVE_BIN must name the cleave binary under test"
#endif

#define CTEST_START_TIMEOUT_MS 30000

int ctest_setup(void **state)
{
	struct ctest *t = calloc(1, sizeof *t);

	*state = t;
	return t ? 0 : -1;
}

int ctest_teardown(void **state)
{
	struct ctest *t = *state;

	if (t && t->db)
		ctest_fini(t);
	else if (t)
		proc_free(t->capture);
	free(t);
	return 0;
}

void ctest_init(struct ctest *t, const char *setup_sql, const char *tables, const char *extra_source_yaml,
                const char *extra_kafka_props)
{
	const char *kafka_debug; /* librdkafka's debug contexts for capture, e.g. "eos,msg" */
	FILE *f;

	memset(t, 0, sizeof *t);
	t->db = pgtest_create_db();
	t->pg = pgtest_connect(t->db);
	if (setup_sql && *setup_sql)
		pgtest_exec(t->pg, "%s", setup_sql);
	t->prefix = testenv_unique("ct");
	t->slot = testenv_unique("slot");
	t->publication = testenv_unique("pub");
	t->config_path = testenv_fmt("%s/%s.yaml", testenv_rundir(), t->prefix);
	kafka_debug = testenv_get_opt("CLEAVE_TEST_KAFKA_DEBUG");
	f = fopen(t->config_path, "w");
	if (!f)
		fail_msg("cannot write %s", t->config_path);
	fprintf(f,
	        "source:\n"
	        "  dsn: \"%s\"\n"
	        "  slot: %s\n"
	        "  publication: %s\n"
	        "  tables: [%s]\n"
	        "  snapshot: never\n"
	        "  status_interval_ms: 200\n"
	        "%s"
	        "kafka:\n"
	        "  brokers: \"%s\"\n"
	        "  topic_prefix: %s\n"
	        "  properties:\n"
	        "    linger.ms: 5\n"
	        "%s%s"
	        "log:\n"
	        "  level: %s\n",
	        pgtest_dsn(t->db), t->slot, t->publication, tables, extra_source_yaml ? extra_source_yaml : "",
	        testenv_get("CLEAVE_TEST_KAFKA_BROKERS"), t->prefix, extra_kafka_props ? extra_kafka_props : "",
	        kafka_debug ? testenv_fmt("    debug: \"%s\"\n", kafka_debug) : "", kafka_debug ? "debug" : "info");
	fclose(f);
}

struct proc *ctest_spawn(struct ctest *t)
{
	const char *argv[] = {CLEAVE_BIN, "capture", "-c", t->config_path, NULL};

	return proc_spawn("capture", argv, NULL);
}

void ctest_start(struct ctest *t)
{
	if (t->capture)
		fail_msg("capture is already running");
	t->capture = ctest_spawn(t);
	if (!proc_poll_log(t->capture, "streaming publication", CTEST_START_TIMEOUT_MS)) {
		proc_print_log(t->capture, 40);
		fail_msg("cleave capture did not start streaming within %d ms", CTEST_START_TIMEOUT_MS);
	}
}

int ctest_stop(struct ctest *t)
{
	int st;

	if (!t->capture)
		return 0;
	st = proc_stop(t->capture, 60000);
	if (st != 0)
		proc_print_log(t->capture, 40);
	proc_free(t->capture);
	t->capture = NULL;
	return st;
}

void ctest_kill(struct ctest *t)
{
	if (!t->capture)
		return;
	proc_kill(t->capture, SIGKILL);
	assert_int_equal(proc_wait(t->capture, 10000), 128 + SIGKILL);
	proc_free(t->capture);
	t->capture = NULL;
}

void ctest_fini(struct ctest *t)
{
	/* capture may have exited by itself (tests of fatal errors): proc_free kills only what still runs */
	proc_free(t->capture);
	t->capture = NULL;
	kafkatest_schemas_free(t->schemas);
	t->schemas = NULL;
	if (t->pg)
		PQfinish(t->pg);
	t->pg = NULL;
	if (t->db)
		pgtest_drop_db(t->db);
	t->db = NULL;
}

char *ctest_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		fail_msg("cannot open %s", path);
	do {
		if (cap - len < 4096) {
			char *more = realloc(text, cap + 65536);

			if (!more) {
				fclose(f);
				free(text);
				fail_msg("out of memory reading %s", path);
			}
			text = more;
			cap += 65536;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	text[len] = '\0';
	return text;
}

void ctest_config_replace(struct ctest *t, const char *from, const char *to)
{
	char *text = ctest_read_file(t->config_path);
	char *at = strstr(text, from);
	FILE *f;

	if (!at) {
		free(text);
		fail_msg("%s does not contain '%s'", t->config_path, from);
	}
	f = fopen(t->config_path, "w");
	if (!f) {
		free(text);
		fail_msg("cannot write %s", t->config_path);
	}
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	fclose(f);
	free(text);
}

char *ctest_wal_lsn(struct ctest *t)
{
	return pgtest_value(t->pg, "SELECT pg_current_wal_lsn()");
}

char *ctest_confirmed(struct ctest *t)
{
	return pgtest_value(t->pg, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '%s'",
	                    t->slot);
}

bool ctest_wait_confirmed(struct ctest *t, const char *lsn, int timeout_ms)
{
	const char *sql = testenv_fmt("SELECT coalesce(confirmed_flush_lsn >= '%s', false) FROM pg_replication_slots"
	                              " WHERE slot_name = '%s'",
	                              lsn, t->slot);
	return pgtest_poll_until(t->pg, sql, "t", timeout_ms);
}

struct ctest_settle {
	struct ctest *t;
	const char *lsn;
};

static bool ctest_settled(void *arg)
{
	struct ctest_settle *w = arg;
	char *v;
	bool done;

	if (proc_wait(w->t->capture, 0) >= 0)
		return true;
	v = pgtest_value(w->t->pg, "SELECT coalesce(confirmed_flush_lsn >= '%s', false) FROM pg_replication_slots"
	                           " WHERE slot_name = '%s'",
	                 w->lsn, w->t->slot);
	done = v && strcmp(v, "t") == 0;
	free(v);
	return done;
}

bool ctest_wait_confirmed_or_exit(struct ctest *t, const char *lsn, int timeout_ms)
{
	struct ctest_settle w = {t, lsn};

	return poll_until(ctest_settled, &w, timeout_ms);
}

void ctest_exec_and_wait(struct ctest *t, const char *sql)
{
	char *lsn;

	pgtest_exec(t->pg, "%s", sql);
	lsn = ctest_wal_lsn(t);
	if (!ctest_wait_confirmed(t, lsn, 60000)) {
		if (t->capture)
			proc_print_log(t->capture, 40);
		free(lsn);
		fail_msg("capture did not confirm the changes within 60 s");
	}
	free(lsn);
}

const char *ctest_topic(struct ctest *t, const char *table)
{
	return testenv_fmt("%s.%s", t->prefix, table);
}

/* sort keys of an event; a tombstone sorts right after the event before it in its partition */
struct ctest_sortable {
	struct ctest_event ev;
	int64_t commit_lsn;
	int64_t seq;
	int sub; /* 0 event, 1 tombstone */
};

static int ctest_cmp(const void *a, const void *b)
{
	const struct ctest_sortable *x = a, *y = b;

	if (x->commit_lsn != y->commit_lsn)
		return x->commit_lsn < y->commit_lsn ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->ev.partition != y->ev.partition)
		return x->ev.partition < y->ev.partition ? -1 : 1;
	if (x->ev.offset != y->ev.offset)
		return x->ev.offset < y->ev.offset ? -1 : 1;
	return x->sub - y->sub;
}

static struct ctest_events *ctest_decode(struct ctest *t, struct ktest_msgs *m)
{
	struct ctest_sortable *s = calloc(m->n ? m->n : 1, sizeof *s);
	struct ctest_events *out = calloc(1, sizeof *out);
	int64_t last_lsn = 0, last_seq = 0;
	int32_t last_part = -1;

	if (!s || !out)
		fail_msg("out of memory");
	kafkatest_schemas_free(t->schemas);
	t->schemas = kafkatest_schemas_load(t->prefix);
	for (size_t i = 0; i < m->n; i++) {
		const struct ktest_msg *k = &m->v[i];
		struct ctest_sortable *e = &s[i];

		e->ev.partition = k->partition;
		e->ev.offset = k->offset;
		e->ev.key = k->key ? kafkatest_decode(t->schemas, k->key, k->key_len) : NULL;
		e->ev.value = k->value ? kafkatest_decode(t->schemas, k->value, k->value_len) : NULL;
		if (e->ev.value) {
			json_t *src = json_object_get(e->ev.value, "source");

			e->commit_lsn = json_integer_value(json_object_get(src, "commit_lsn"));
			e->seq = json_integer_value(json_object_get(src, "seq"));
			last_lsn = e->commit_lsn;
			last_seq = e->seq;
			last_part = k->partition;
		} else {
			if (last_part != k->partition)
				fail_msg("tombstone at %d/%lld does not follow an event", k->partition, (long long)k->offset);
			e->commit_lsn = last_lsn;
			e->seq = last_seq;
			e->sub = 1;
		}
	}
	qsort(s, m->n, sizeof *s, ctest_cmp);
	out->v = calloc(m->n ? m->n : 1, sizeof *out->v);
	if (!out->v)
		fail_msg("out of memory");
	for (size_t i = 0; i < m->n; i++)
		out->v[i] = s[i].ev;
	out->n = m->n;
	free(s);
	return out;
}

struct ctest_events *ctest_events(struct ctest *t, const char *table, int timeout_ms)
{
	struct ktest_msgs *m = kafkatest_consume_to_end(ctest_topic(t, table), timeout_ms);
	struct ctest_events *e = ctest_decode(t, m);

	ktest_msgs_free(m);
	return e;
}

struct ctest_events *ctest_events_wait(struct ctest *t, const char *table, size_t n, int timeout_ms)
{
	struct ktest_msgs *m = kafkatest_consume(ctest_topic(t, table), n, timeout_ms);
	struct ctest_events *e;

	if (m->n < n) {
		if (t->capture)
			proc_print_log(t->capture, 40);
		fail_msg("topic %s: %zu messages after %d ms, expected at least %zu", ctest_topic(t, table), m->n,
		         timeout_ms, n);
	}
	e = ctest_decode(t, m);
	ktest_msgs_free(m);
	return e;
}

void ctest_events_free(struct ctest_events *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		json_decref(e->v[i].key);
		json_decref(e->v[i].value);
	}
	free(e->v);
	free(e);
}

size_t ctest_events_of_op(const struct ctest_events *e, char op, const struct ctest_event **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		const char *o = e->v[i].value ? json_string_value(json_object_get(e->v[i].value, "op")) : NULL;

		if (o && o[0] == op && o[1] == '\0') {
			if (n < max)
				out[n] = &e->v[i];
			n++;
		}
	}
	return n;
}

void ctest_assert_json(const json_t *actual, const char *expected_json)
{
	json_error_t jerr;
	json_t *exp = json_loads(expected_json, JSON_DECODE_ANY, &jerr);
	char *a, *x;

	if (!exp)
		fail_msg("bad expected JSON in the test (%s): %s", jerr.text, expected_json);
	if (json_equal(actual, exp)) {
		json_decref(exp);
		return;
	}
	a = actual ? json_dumps(actual, JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(missing)");
	x = json_dumps(exp, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	print_error("expected: %s\nactual:   %s\n", x, a);
	free(a);
	free(x);
	json_decref(exp);
	fail_msg("JSON differs");
}

void ctest_assert_event(const struct ctest_event *ev, char op, const char *table, const char *before_json,
                        const char *after_json)
{
	json_t *v = ev->value;
	json_t *src;
	char ops[2] = {op, '\0'};
	const char *dot = strchr(table, '.');

	if (!v)
		fail_msg("expected an event with op %c, got a tombstone", op);
	ctest_assert_json(json_object_get(v, "op"), testenv_fmt("\"%s\"", ops));
	ctest_assert_json(json_object_get(v, "before"), before_json ? before_json : "null");
	ctest_assert_json(json_object_get(v, "after"), after_json ? after_json : "null");
	src = json_object_get(v, "source");
	assert_non_null(dot);
	ctest_assert_json(json_object_get(src, "schema"), testenv_fmt("\"%.*s\"", (int)(dot - table), table));
	ctest_assert_json(json_object_get(src, "table"), testenv_fmt("\"%s\"", dot + 1));
}
