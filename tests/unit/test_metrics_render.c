/* test_metrics_render.c: common/metrics.c's registry and its Prometheus text: one HELP/TYPE block per
 * name with every label set under it, counters added to, gauges set, the same name and labels giving the
 * same metric, updates through NULL ignored, and a full registry answering NULL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "common/metrics.h"

static void test_render(void **state)
{
	struct metric *a, *b, *g, *again;
	char *text;

	(void)state;
	text = metrics_render();
	assert_string_equal(text, "");
	free(text);

	a = metric_register(METRIC_COUNTER, "t_events_total", "events seen", "sink=\"a\"");
	g = metric_register(METRIC_GAUGE, "t_position", "a position", NULL);
	b = metric_register(METRIC_COUNTER, "t_events_total", "events seen", "sink=\"b\"");
	again = metric_register(METRIC_COUNTER, "t_events_total", "events seen", "sink=\"a\"");
	assert_non_null(a);
	assert_ptr_equal(a, again);
	assert_ptr_not_equal(a, b);
	metric_add(a, 3);
	metric_add(a, 4);
	metric_add(b, 1);
	metric_set(g, 42);
	metric_set(g, -5);
	metric_add(NULL, 1);
	metric_set(NULL, 1);
	text = metrics_render();
	assert_string_equal(text, "# HELP t_events_total events seen\n"
	                          "# TYPE t_events_total counter\n"
	                          "t_events_total{sink=\"a\"} 7\n"
	                          "t_events_total{sink=\"b\"} 1\n"
	                          "# HELP t_position a position\n"
	                          "# TYPE t_position gauge\n"
	                          "t_position -5\n");
	free(text);
}

static void test_full(void **state)
{
	char name[32];
	int registered = 3; /* by test_render */

	(void)state;
	for (;; registered++) {
		snprintf(name, sizeof name, "t_fill_%d", registered);
		if (!metric_register(METRIC_GAUGE, name, "filler", NULL))
			break;
		assert_true(registered < 1000);
	}
	assert_int_equal(registered, 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_render),
	        cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
