/* reconciletest.c: see reconciletest.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/capturetest.h"
#include "tests/support/proc.h"
#include "tests/support/reconciletest.h"
#include "tests/support/testenv.h"

#define RTEST_MAX_ARGS 32

static json_t *rtest_vrun(struct stest *t, const char *sink, int status, int timeout_s, va_list ap)
{
	const char *argv[RTEST_MAX_ARGS + 12];
	const char *log = NULL, *line;
	char tbuf[16];
	size_t n = 0;
	const char *a;
	char *text;
	json_t *report;
	json_error_t jerr;
	int rc;

	argv[n++] = CLEAVE_BIN;
	argv[n++] = "reconcile";
	argv[n++] = "-c";
	argv[n++] = t->c.config_path;
	argv[n++] = "--sink";
	argv[n++] = sink;
	argv[n++] = "--json";
	if (timeout_s >= 0) {
		snprintf(tbuf, sizeof tbuf, "%d", timeout_s);
		argv[n++] = "--timeout";
		argv[n++] = tbuf;
	}
	while ((a = va_arg(ap, const char *)) != NULL && n < RTEST_MAX_ARGS)
		argv[n++] = a;
	argv[n] = NULL;
	rc = proc_run("reconcile", argv, NULL, 300000, &log);
	text = ctest_read_file(log);
	if (rc != status) {
		print_error("cleave reconcile --sink %s exited %d, expected %d; its output:\n%s\n", sink, rc, status, text);
		stest_print_logs(t, 30);
		free(text);
		fail();
	}
	line = strstr(text, "{\"sink\"");
	if (!line) {
		print_error("no JSON report in the output of cleave reconcile:\n%s\n", text);
		free(text);
		fail();
	}
	report = json_loadb(line, strcspn(line, "\n"), 0, &jerr);
	if (!report) {
		print_error("the report is not JSON (%s):\n%s\n", jerr.text, text);
		free(text);
		fail();
	}
	print_message("reconcile --sink %s: %.2000s", sink, line);
	free(text);
	return report;
}

json_t *rtest_run(struct stest *t, const char *sink, int status, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, status);
	r = rtest_vrun(t, sink, status, -1, ap);
	va_end(ap);
	return r;
}

json_t *rtest_run_timeout(struct stest *t, const char *sink, int status, int timeout_s, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, timeout_s);
	r = rtest_vrun(t, sink, status, timeout_s, ap);
	va_end(ap);
	return r;
}

const json_t *rtest_table(const json_t *report, const char *source)
{
	const json_t *tables = json_object_get(report, "tables"), *tb;
	size_t i;

	json_array_foreach(tables, i, tb) {
		if (strcmp(json_string_value(json_object_get(tb, "source")), source) == 0)
			return tb;
	}
	fail_msg("the report has no table %s", source);
	return NULL;
}

void rtest_assert_keys(const json_t *table, const char *kind, const char *keys)
{
	const json_t *o = json_object_get(table, kind), *k;
	char got[4096] = "";
	size_t i, o_len = 0, nwant = 0;

	assert_non_null(o);
	json_array_foreach(json_object_get(o, "keys"), i, k) {
		const json_t *key = json_is_object(k) ? json_object_get(k, "key") : k, *c;
		size_t j;

		if (i > 0)
			o_len += (size_t)snprintf(got + o_len, sizeof got - o_len, " ");
		json_array_foreach(key, j, c) {
			o_len += (size_t)snprintf(got + o_len, sizeof got - o_len, "%s%s", j ? "," : "", json_string_value(c));
		}
		if (o_len >= sizeof got)
			break;
	}
	for (const char *p = keys; *p;) {
		while (*p == ' ')
			p++;
		if (*p)
			nwant++;
		while (*p && *p != ' ')
			p++;
	}
	if (strcmp(got, keys) != 0)
		fail_msg("%s: %s keys are [%s], expected [%s]", json_string_value(json_object_get(table, "source")), kind, got,
		         keys);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), nwant);
}

void rtest_assert_clean(const json_t *report)
{
	if (json_integer_value(json_object_get(report, "drift")) != 0 ||
	    json_integer_value(json_object_get(report, "in_flight")) != 0) {
		char *s = json_dumps(report, JSON_INDENT(1));

		print_error("expected no drift, got: %s\n", s);
		free(s);
		fail();
	}
}
