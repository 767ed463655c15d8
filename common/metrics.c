/* metrics.c: see metrics.h. */
#include "common/metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/buf.h"

#define METRICS_MAX 64

struct metric {
	enum metric_type type;
	char name[96];
	char help[160];
	char labels[160];
	_Atomic int64_t value;
};

static struct metric metrics[METRICS_MAX];
static _Atomic int nmetrics; /* registered before serving; the server thread only reads */
static struct MHD_Daemon *daemon_;

struct metric *metric_register(enum metric_type type, const char *name, const char *help, const char *labels)
{
	int n = atomic_load(&nmetrics);
	struct metric *m;

	if (!labels)
		labels = "";
	for (int i = 0; i < n; i++)
		if (strcmp(metrics[i].name, name) == 0 && strcmp(metrics[i].labels, labels) == 0)
			return &metrics[i];
	if (n == METRICS_MAX)
		return NULL;
	m = &metrics[n];
	m->type = type;
	snprintf(m->name, sizeof m->name, "%s", name);
	snprintf(m->help, sizeof m->help, "%s", help);
	snprintf(m->labels, sizeof m->labels, "%s", labels);
	atomic_store_explicit(&m->value, 0, memory_order_relaxed);
	atomic_store(&nmetrics, n + 1);
	return m;
}

void metric_add(struct metric *m, int64_t v)
{
	if (m)
		atomic_fetch_add_explicit(&m->value, v, memory_order_relaxed);
}

void metric_set(struct metric *m, int64_t v)
{
	if (m)
		atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

char *metrics_render(void)
{
	int n = atomic_load(&nmetrics);
	struct buf b;
	int rc = 0;

	buf_init(&b, 0);
	/* one HELP/TYPE block per name, its label sets after it */
	for (int i = 0; i < n && rc == 0; i++) {
		bool seen = false;

		for (int j = 0; j < i && !seen; j++)
			seen = strcmp(metrics[j].name, metrics[i].name) == 0;
		if (seen)
			continue;
		rc = buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", metrics[i].name, metrics[i].help, metrics[i].name,
		                metrics[i].type == METRIC_COUNTER ? "counter" : "gauge");
		for (int j = i; j < n && rc == 0; j++) {
			if (strcmp(metrics[j].name, metrics[i].name) != 0)
				continue;
			rc = buf_printf(&b, "%s%s%s%s %lld\n", metrics[j].name, metrics[j].labels[0] ? "{" : "",
			                metrics[j].labels, metrics[j].labels[0] ? "}" : "",
			                (long long)atomic_load_explicit(&metrics[j].value, memory_order_relaxed));
		}
	}
	if (rc < 0 || buf_putc(&b, '\0') < 0) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.data; /* the buffer's memory becomes the caller's */
}

static enum MHD_Result metrics_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_size,
                                      void **req_cls)
{
	static const char not_found[] = "not found: try /metrics\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	char *text = NULL;

	(void)cls, (void)version, (void)upload_data, (void)upload_size, (void)req_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return MHD_NO;
	if (strcmp(url, "/metrics") == 0 && (text = metrics_render()) != NULL) {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	} else {
		status = text || strcmp(url, "/metrics") != 0 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR;
		resp = MHD_create_response_from_buffer(sizeof not_found - 1, (void *)not_found, MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int metrics_serve(const char *listen, struct cerr *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
	const char *colon = strrchr(listen, ':');
	char host[256];
	size_t hl;
	int gai;

	if (!colon || (hl = (size_t)(colon - listen)) >= sizeof host)
		return cerr_set(err, false, "metrics.listen '%s': expected HOST:PORT", listen);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1]:9187 */
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if ((gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai)) != 0)
		return cerr_set(err, false, "metrics.listen %s: %s", listen, gai_strerror(gai));
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	                           0, NULL, NULL, metrics_answer, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	                           MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!daemon_)
		return cerr_set(err, false,
		                "metrics.listen %s: cannot listen there (in use by another process, or not an address"
		                " of this machine); pick another with --metrics-listen or metrics.listen",
		                listen);
	return 0;
}

void metrics_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
