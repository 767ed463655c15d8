/* metrics.h: a process's counters and gauges, served in Prometheus text format at http://LISTEN/metrics
 * (config metrics.listen, SPEC.md §2) by libmicrohttpd's own thread. Metrics are registered once at start
 * (before metrics_serve), then updated with relaxed atomics: cheap enough for hot paths, and a scrape
 * never blocks the process. */
#ifndef CLEAVE_METRICS_H
#define CLEAVE_METRICS_H

#include <stdint.h>

#include "common/err.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric;

/* Registers name{labels} (labels: Prometheus label pairs without braces, like `sink="orders"`, or NULL).
 * Registering the same name and labels again returns the same metric. NULL when the registry is full
 * (updates through NULL are no-ops, so callers need not check). */
struct metric *metric_register(enum metric_type type, const char *name, const char *help, const char *labels);

void metric_add(struct metric *m, int64_t v);
void metric_set(struct metric *m, int64_t v);

/* Starts serving at listen ("HOST:PORT", ":PORT" for every address; HOST may be a name or an IPv6 address
 * in brackets). Non-retriable err when the address cannot be resolved or bound (say, another process
 * already listens there). */
int metrics_serve(const char *listen, struct cerr *err);
/* Stops the server (no-op when not serving). */
void metrics_stop(void);

/* The whole exposition text (malloc'ed; NULL when out of memory): what GET /metrics returns. */
char *metrics_render(void);

#endif
