/* test_snapshot_parts.c: the pure parts of snapshots: the watermark window's key set (capture/snapwin.h),
 * the control records (capture/snapctl.h), the chunk SQL (capture/snapshot.h) and progress_done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/progress.h"
#include "capture/snapctl.h"
#include "capture/snapshot.h"
#include "capture/snapwin.h"

static void test_window_keys(void **state)
{
	struct snapwin *w = snapwin_new();
	char key[32];

	(void)state;
	assert_non_null(w);
	assert_false(snapwin_has(w, "a", 1));
	assert_int_equal(snapwin_add(w, "a", 1), 0);
	assert_int_equal(snapwin_add(w, "a", 1), 0); /* once */
	assert_int_equal(snapwin_add(w, "", 0), 0);  /* an empty key is a key */
	assert_true(snapwin_has(w, "a", 1));
	assert_true(snapwin_has(w, "", 0));
	assert_false(snapwin_has(w, "ab", 2));
	assert_false(snapwin_has(w, "a\0", 2)); /* bytes, not strings */
	assert_int_equal(snapwin_count(w), 2);
	/* growth keeps every key */
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(snapwin_add(w, key, (size_t)n), 0);
	}
	assert_int_equal(snapwin_count(w), 5002);
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof key, "k%d", i);
		assert_true(snapwin_has(w, key, (size_t)n));
	}
	assert_false(snapwin_has(w, "k5000", 5));
	/* a new window starts empty */
	snapwin_clear(w);
	assert_int_equal(snapwin_count(w), 0);
	assert_false(snapwin_has(w, "a", 1));
	assert_false(snapwin_has(w, "k1", 2));
	assert_int_equal(snapwin_add(w, "k1", 2), 0);
	assert_true(snapwin_has(w, "k1", 2));
	snapwin_free(w);
	snapwin_free(NULL);
}

static void test_record_format(void **state)
{
	const char *key[2] = {"42", "a \"b\""};
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(snapctl_format(false, NULL, 0, &b), 0);
	assert_string_equal((const char *)b.data, "{\"last_key\":null,\"state\":\"running\"}");
	assert_int_equal(b.len, strlen((const char *)b.data));
	buf_reset(&b);
	assert_int_equal(snapctl_format(false, key, 2, &b), 0);
	assert_string_equal((const char *)b.data, "{\"last_key\":[\"42\",\"a \\\"b\\\"\"],\"state\":\"running\"}");
	buf_reset(&b);
	assert_int_equal(snapctl_format(true, key, 2, &b), 0);
	assert_string_equal((const char *)b.data, "{\"state\":\"done\"}");
	buf_free(&b);
}

static void test_record_parse(void **state)
{
	struct snapctl_rec r = {0};
	struct cerr err = {0};
	const char *s;

	(void)state;
	s = "{\"last_key\":[\"42\",\"x\"],\"state\":\"running\"}";
	assert_int_equal(snapctl_parse(s, strlen(s), &r, &err), 0);
	assert_false(r.done);
	assert_int_equal(r.nkey, 2);
	assert_string_equal(r.last_key[0], "42");
	assert_string_equal(r.last_key[1], "x");
	s = "{\"state\":\"running\",\"last_key\":null}";
	assert_int_equal(snapctl_parse(s, strlen(s), &r, &err), 0);
	assert_false(r.done);
	assert_null(r.last_key);
	s = "{\"state\":\"done\"}";
	assert_int_equal(snapctl_parse(s, strlen(s), &r, &err), 0);
	assert_true(r.done);
	/* not records */
	const char *bad[] = {"", "[]", "{\"state\":\"sleeping\"}", "{\"state\":\"running\",\"last_key\":[]}",
	                     "{\"state\":\"running\",\"last_key\":[1]}", "{\"state\":\"running\",\"last_key\":\"1\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cerr_clear(&err);
		assert_int_equal(snapctl_parse(bad[i], strlen(bad[i]), &r, &err), -1);
		assert_true(err.set);
		assert_null(r.last_key);
	}
	snapctl_rec_clear(&r);
}

/* `cleave snapshot` requests: written and recognised for this slot only */
static void test_request(void **state)
{
	char msg[128];
	const char *t;

	(void)state;
	snapctl_request_format("cleave", "public", "orders", msg, sizeof msg);
	assert_string_equal(msg, "snap:cleave:public.orders");
	t = snapctl_request_table(msg, strlen(msg), "cleave");
	assert_non_null(t);
	assert_int_equal(strlen(msg) - (size_t)(t - msg), strlen("public.orders"));
	assert_memory_equal(t, "public.orders", strlen("public.orders"));
	assert_null(snapctl_request_table(msg, strlen(msg), "clea"));    /* another slot, a prefix of it */
	assert_null(snapctl_request_table(msg, strlen(msg), "cleave2")); /* another slot */
	assert_null(snapctl_request_table("snap:cleave:", 12, "cleave")); /* no table */
	assert_null(snapctl_request_table("lw:cleave:1:2", 13, "cleave")); /* a watermark */
}

static void test_chunk_sql(void **state)
{
	struct pgo_column cols[3] = {{.name = "a"}, {.name = "b"}, {.name = "c"}};
	char *qcols[3] = {"\"a\"", "\"B x\"", "\"c\""};
	int order[2] = {2, 0};
	char *types[2] = {"text", "bigint"};
	struct snapshot_table t = {.rel = {.ncols = 3, .cols = cols}, .qualified = "\"public\".\"t\"", .qcols = qcols,
	                           .order = order, .order_types = types, .norder = 2};
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(snapshot_sql_chunk(&t, false, 0, &b), 0);
	assert_string_equal((const char *)b.data, "SELECT \"a\", \"B x\", \"c\" FROM \"public\".\"t\" ORDER BY \"c\", \"a\"");
	buf_reset(&b);
	assert_int_equal(snapshot_sql_chunk(&t, true, 5000, &b), 0);
	assert_string_equal((const char *)b.data, "SELECT \"a\", \"B x\", \"c\" FROM \"public\".\"t\" WHERE (\"c\", \"a\") >"
	                                          " ($1::text, $2::bigint) ORDER BY \"c\", \"a\" LIMIT 5000");
	/* no ordering key: the whole table, in no order */
	t.norder = 0;
	buf_reset(&b);
	assert_int_equal(snapshot_sql_chunk(&t, true, 0, &b), 0);
	assert_string_equal((const char *)b.data, "SELECT \"a\", \"B x\", \"c\" FROM \"public\".\"t\"");
	buf_free(&b);
}

static void test_progress_done(void **state)
{
	struct progress *p = progress_new(0x10);
	uint64_t a, b, c;

	(void)state;
	a = progress_begin(p);
	b = progress_begin(p);
	progress_add(p, a);
	progress_add(p, b);
	progress_commit(p, a, 0x20);
	progress_commit(p, b, 0); /* a pseudo transaction (a control record): confirms nothing */
	assert_int_equal(progress_ack(p, b), 0);
	assert_false(progress_done(p, b)); /* a is not done */
	assert_int_equal(progress_ack(p, a), 0);
	assert_true(progress_done(p, a));
	assert_true(progress_done(p, b));
	assert_int_equal(progress_confirmable(p), 0x20);
	c = progress_begin(p);
	assert_false(progress_done(p, c)); /* open */
	progress_commit(p, c, 0x30);
	assert_true(progress_done(p, c));
	progress_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_keys),   cmocka_unit_test(test_record_format),
		cmocka_unit_test(test_record_parse),  cmocka_unit_test(test_chunk_sql),
		cmocka_unit_test(test_progress_done), cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
