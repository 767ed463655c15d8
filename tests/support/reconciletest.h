/* reconciletest.h: running `cleave reconcile --json` on a sinktest deployment and checking its report.
 * Errors fail the running test. */
#ifndef CLEAVE_RECONCILETEST_H
#define CLEAVE_RECONCILETEST_H

#include <jansson.h>

#include "tests/support/sinktest.h"

/* Runs `cleave reconcile -c CONFIG --sink SINK --json [args...]` (args NULL-terminated), fails the test
 * (printing its log) unless it exits with `status`, and returns the report (caller json_decref's). */
json_t *rtest_run(struct stest *t, const char *sink, int status, ...) __attribute__((sentinel));
/* The same with --timeout given (seconds). */
json_t *rtest_run_timeout(struct stest *t, const char *sink, int status, int timeout_s, ...) __attribute__((sentinel));

/* The report's entry for source table `source` ("public.types"); fails the test when there is none. */
const json_t *rtest_table(const json_t *report, const char *source);

/* Asserts that the keys listed under `kind` ("missing", "extra", "different", "in_flight") are exactly
 * `keys` (space-separated, in order; a composite key's columns joined by ','), and that the count says as
 * many. */
void rtest_assert_keys(const json_t *table, const char *kind, const char *keys);

/* Asserts the report has no drift and nothing in flight. */
void rtest_assert_clean(const json_t *report);

#endif
