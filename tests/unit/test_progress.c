/* test_progress.c: the progress tracker (capture/progress.h) with acknowledgements in every order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "capture/progress.h"

static void test_empty_keeps_start(void **state)
{
	struct progress *p = progress_new(0x100);

	(void)state;
	assert_int_equal(progress_confirmable(p), 0x100);
	assert_int_equal(progress_pending(p), 0);
	progress_free(p);
	progress_free(NULL);
}

static void test_in_order(void **state)
{
	struct progress *p = progress_new(0);
	uint64_t a, b;

	(void)state;
	a = progress_begin(p);
	progress_add(p, a);
	progress_add(p, a);
	progress_commit(p, a, 0x200);
	assert_int_equal(progress_confirmable(p), 0); /* nothing acked */
	assert_int_equal(progress_ack(p, a), 0);
	assert_int_equal(progress_confirmable(p), 0); /* one still out */
	assert_int_equal(progress_ack(p, a), 0);
	assert_int_equal(progress_confirmable(p), 0x200);
	b = progress_begin(p);
	progress_add(p, b);
	assert_int_equal(progress_ack(p, b), 0);
	assert_int_equal(progress_confirmable(p), 0x200); /* acked but no Commit yet */
	progress_commit(p, b, 0x300);
	assert_int_equal(progress_confirmable(p), 0x300);
	assert_int_equal(progress_pending(p), 0);
	progress_free(p);
}

static void test_later_acked_first_does_not_pass_earlier(void **state)
{
	struct progress *p = progress_new(0);
	uint64_t a = progress_begin(p), b, c;

	(void)state;
	progress_add(p, a);
	progress_commit(p, a, 0x10);
	b = progress_begin(p);
	progress_add(p, b);
	progress_commit(p, b, 0x20);
	c = progress_begin(p);
	progress_add(p, c);
	progress_commit(p, c, 0x30);
	assert_int_equal(progress_ack(p, c), 0);
	assert_int_equal(progress_ack(p, b), 0);
	assert_int_equal(progress_confirmable(p), 0); /* a still outstanding */
	assert_int_equal(progress_ack(p, a), 0);
	assert_int_equal(progress_confirmable(p), 0x30);
	progress_free(p);
}

static void test_ack_errors(void **state)
{
	struct progress *p = progress_new(0);
	uint64_t a = progress_begin(p);

	(void)state;
	assert_int_equal(progress_ack(p, a), -1);       /* nothing outstanding */
	assert_int_equal(progress_ack(p, a + 5), -1);   /* never opened */
	progress_free(p);
}

static void test_idle_only_when_nothing_pending(void **state)
{
	struct progress *p = progress_new(0x50);
	uint64_t a;

	(void)state;
	progress_idle_at(p, 0x60);
	assert_int_equal(progress_confirmable(p), 0x60);
	progress_idle_at(p, 0x55); /* never backwards */
	assert_int_equal(progress_confirmable(p), 0x60);
	a = progress_begin(p);
	progress_add(p, a);
	progress_idle_at(p, 0x90); /* a transaction is open: ignored */
	assert_int_equal(progress_confirmable(p), 0x60);
	progress_commit(p, a, 0x80);
	assert_int_equal(progress_ack(p, a), 0);
	assert_int_equal(progress_confirmable(p), 0x80);
	progress_free(p);
}

static void test_reset_ignores_stale_acks(void **state)
{
	struct progress *p = progress_new(0x10);
	uint64_t a = progress_begin(p), b;

	(void)state;
	progress_add(p, a);
	progress_commit(p, a, 0x20);
	progress_reset(p);
	assert_int_equal(progress_outstanding(p), 0);
	assert_int_equal(progress_ack(p, a), 1);
	assert_int_equal(progress_confirmable(p), 0x10);
	b = progress_begin(p);
	assert_true(b > a);
	progress_add(p, b);
	progress_commit(p, b, 0x20);
	assert_int_equal(progress_ack(p, b), 0);
	assert_int_equal(progress_confirmable(p), 0x20);
	progress_free(p);
}

/* Many transactions, acks delivered in a shuffled order: after every ack the confirmable LSN is the end of
 * the longest done prefix, computed independently here. */
static void test_shuffled_acks_many(void **state)
{
	enum { N = 5000, PER = 3 };
	struct progress *p = progress_new(0);
	uint64_t *ids = malloc(N * sizeof *ids);
	uint64_t *acks = malloc(N * PER * sizeof *acks);
	int *left = malloc(N * sizeof *left);
	unsigned seed = 12345;
	int done_prefix = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		ids[i] = progress_begin(p);
		assert_true(ids[i] != 0);
		left[i] = PER;
		for (int k = 0; k < PER; k++) {
			progress_add(p, ids[i]);
			acks[i * PER + k] = (uint64_t)i;
		}
		progress_commit(p, ids[i], (lsn_t)(i + 1) * 0x100);
	}
	for (int i = N * PER - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
		int j;
		uint64_t t;

		seed = seed * 1103515245u + 12345u;
		j = (int)((seed >> 8) % (unsigned)(i + 1));
		t = acks[i];
		acks[i] = acks[j];
		acks[j] = t;
	}
	for (int k = 0; k < N * PER; k++) {
		int i = (int)acks[k];

		assert_int_equal(progress_ack(p, ids[i]), 0);
		left[i]--;
		while (done_prefix < N && left[done_prefix] == 0)
			done_prefix++;
		assert_int_equal(progress_confirmable(p), (lsn_t)done_prefix * 0x100);
	}
	assert_int_equal(progress_pending(p), 0);
	assert_int_equal(progress_outstanding(p), 0);
	free(ids);
	free(acks);
	free(left);
	progress_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_keeps_start),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_later_acked_first_does_not_pass_earlier),
		cmocka_unit_test(test_ack_errors),
		cmocka_unit_test(test_idle_only_when_nothing_pending),
		cmocka_unit_test(test_reset_ignores_stale_acks),
		cmocka_unit_test(test_shuffled_acks_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
