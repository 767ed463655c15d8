/* mock_kafka.c: cleave-mock-kafka, the Kafka the tests use. It runs librdkafka's mock cluster
 * (rd_kafka_mock_cluster_new) in this process, so other processes reach it over real TCP on loopback, and
 * serves a control channel through which tests inject faults into it.
 *
 *   cleave-mock-kafka [--brokers N] [--info FILE]
 *
 * Prints "bootstrap=HOST:PORT,..." and "control=127.0.0.1:PORT" on stdout and, with --info, writes the
 * same two lines to FILE (through a temporary name and rename(2), so a reader never sees half of it).
 * Runs until SIGTERM, SIGINT or the "quit" command, then destroys the cluster and exits 0.
 *
 * Control protocol: TCP on 127.0.0.1, one command per line, one reply line per command, "OK ..." or
 * "ERR <reason>". Several clients may be connected at once.
 *   ping                                  OK pong
 *   topic NAME PARTITIONS                 create a topic (replication factor 1)
 *   down BROKERID | up BROKERID           disconnect a broker and refuse connections / accept them again
 *                                         (-1: all brokers; neither moves partition leaders)
 *   errors APIKEY COUNT ERRCODE           the next COUNT requests of APIKEY (0 = Produce, 1 = Fetch, ...)
 *                                         fail with ERRCODE (a number, or a name such as
 *                                         NOT_ENOUGH_REPLICAS or _TRANSPORT, i.e. without RD_KAFKA_RESP_ERR_)
 *   clear APIKEY                          forget errors pushed for APIKEY that no request consumed yet
 *   leader TOPIC PARTITION BROKERID       move a partition's leader (-1: no leader)
 *   rtt BROKERID MS                       delay the broker's responses by MS milliseconds
 *   quit                                  OK bye, then exit
 * The mock functions are called from this program's main thread; librdkafka hands each one to the
 * cluster's own thread and waits for it, so a reply means the change is in effect. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MOCK_MAX_CLIENTS 32
#define MOCK_LINE_MAX 1024
#define MOCK_MAX_ERRORS 1000

struct mock_client {
	int fd;             /* -1: free slot */
	size_t len;         /* bytes of an unfinished line in buf */
	char buf[MOCK_LINE_MAX];
};

struct mock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	int listen_fd;
	int control_port;
	int quit;
	struct mock_client clients[MOCK_MAX_CLIENTS];
};

static volatile sig_atomic_t mock_stop;

static void mock_on_signal(int sig)
{
	(void)sig;
	mock_stop = 1;
}

static void mock_usage(FILE *f)
{
	fputs("usage: cleave-mock-kafka [--brokers N] [--info FILE]\n"
	      "Runs librdkafka's mock Kafka cluster with N brokers (default 1) and a control channel;\n"
	      "see tests/README.md for the control commands.\n",
	      f);
}

/* Parses a whole decimal integer in [min, max]. Returns 0, or -1. */
static int mock_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* An error code as a number or as its name without the RD_KAFKA_RESP_ERR_ prefix. Returns 0, or -1. */
static int mock_parse_errcode(const char *s, rd_kafka_resp_err_t *out)
{
	const struct rd_kafka_err_desc *descs;
	size_t n, i;
	long v;

	if (mock_parse_int(s, INT_MIN, INT_MAX, &v) == 0) {
		*out = (rd_kafka_resp_err_t)v;
		return 0;
	}
	rd_kafka_get_err_descs(&descs, &n);
	for (i = 0; i < n; i++) {
		if (descs[i].name && strcmp(descs[i].name, s) == 0) {
			*out = descs[i].code;
			return 0;
		}
	}
	return -1;
}

static void mock_reply(char *out, size_t outsz, rd_kafka_resp_err_t err, const char *what)
{
	if (err)
		snprintf(out, outsz, "ERR %s: %s", what, rd_kafka_err2str(err));
	else
		snprintf(out, outsz, "OK %s", what);
}

/* Runs one command line (without its newline) and writes the reply line (without newline) to out. */
static void mock_command(struct mock *m, char *line, char *out, size_t outsz)
{
	char *argv[5];
	char *save = NULL, *tok;
	int argc = 0;
	long a, b, c;

	for (tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == 5) {
			snprintf(out, outsz, "ERR too many arguments");
			return;
		}
		argv[argc++] = tok;
	}
	if (argc == 0) {
		snprintf(out, outsz, "ERR empty command");
		return;
	}

	if (strcmp(argv[0], "ping") == 0 && argc == 1) {
		snprintf(out, outsz, "OK pong");
	} else if (strcmp(argv[0], "quit") == 0 && argc == 1) {
		m->quit = 1;
		snprintf(out, outsz, "OK bye");
	} else if (strcmp(argv[0], "topic") == 0 && argc == 3) {
		if (mock_parse_int(argv[2], 1, 100000, &a) < 0) {
			snprintf(out, outsz, "ERR bad partition count: %s", argv[2]);
			return;
		}
		mock_reply(out, outsz, rd_kafka_mock_topic_create(m->mc, argv[1], (int)a, 1), "topic");
	} else if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
		if (mock_parse_int(argv[1], -1, INT32_MAX, &a) < 0) {
			snprintf(out, outsz, "ERR bad broker id: %s", argv[1]);
			return;
		}
		if (argv[0][0] == 'd')
			mock_reply(out, outsz, rd_kafka_mock_broker_set_down(m->mc, (int32_t)a), "down");
		else
			mock_reply(out, outsz, rd_kafka_mock_broker_set_up(m->mc, (int32_t)a), "up");
	} else if (strcmp(argv[0], "errors") == 0 && argc == 4) {
		rd_kafka_resp_err_t errs[MOCK_MAX_ERRORS], code;

		if (mock_parse_int(argv[1], 0, INT16_MAX, &a) < 0 ||
		    mock_parse_int(argv[2], 1, MOCK_MAX_ERRORS, &b) < 0 ||
		    mock_parse_errcode(argv[3], &code) < 0) {
			snprintf(out, outsz, "ERR usage: errors APIKEY COUNT(1..%d) ERRCODE", MOCK_MAX_ERRORS);
			return;
		}
		for (c = 0; c < b; c++)
			errs[c] = code;
		rd_kafka_mock_push_request_errors_array(m->mc, (int16_t)a, (size_t)b, errs);
		snprintf(out, outsz, "OK errors %ld x %s", b, rd_kafka_err2name(code));
	} else if (strcmp(argv[0], "clear") == 0 && argc == 2) {
		if (mock_parse_int(argv[1], 0, INT16_MAX, &a) < 0) {
			snprintf(out, outsz, "ERR bad api key: %s", argv[1]);
			return;
		}
		rd_kafka_mock_clear_request_errors(m->mc, (int16_t)a);
		snprintf(out, outsz, "OK clear");
	} else if (strcmp(argv[0], "leader") == 0 && argc == 4) {
		if (mock_parse_int(argv[2], 0, INT32_MAX, &a) < 0 ||
		    mock_parse_int(argv[3], -1, INT32_MAX, &b) < 0) {
			snprintf(out, outsz, "ERR usage: leader TOPIC PARTITION BROKERID");
			return;
		}
		mock_reply(out, outsz, rd_kafka_mock_partition_set_leader(m->mc, argv[1], (int32_t)a, (int32_t)b),
		           "leader");
	} else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
		if (mock_parse_int(argv[1], -1, INT32_MAX, &a) < 0 || mock_parse_int(argv[2], 0, INT_MAX, &b) < 0) {
			snprintf(out, outsz, "ERR usage: rtt BROKERID MS");
			return;
		}
		mock_reply(out, outsz, rd_kafka_mock_broker_set_rtt(m->mc, (int32_t)a, (int)b), "rtt");
	} else {
		snprintf(out, outsz, "ERR unknown command or wrong arguments: %s", argv[0]);
	}
}

/* Writes all of p, or gives up (the client is then dropped by the caller). Returns 0, or -1. */
static int mock_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void mock_client_close(struct mock_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Reads what the client sent and answers every complete line. Drops the client on EOF, error or a line
 * longer than MOCK_LINE_MAX. */
static void mock_client_read(struct mock *m, struct mock_client *c)
{
	char reply[MOCK_LINE_MAX + 64];
	size_t replylen;
	ssize_t r;
	char *nl;

	r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
	if (r < 0 && errno == EINTR)
		return;
	if (r <= 0) {
		mock_client_close(c);
		return;
	}
	c->len += (size_t)r;
	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t linelen = (size_t)(nl - c->buf);

		*nl = '\0';
		fprintf(stderr, "cleave-mock-kafka: command: %s\n", c->buf);
		mock_command(m, c->buf, reply, sizeof reply - 1); /* leaves room for the newline */
		fprintf(stderr, "cleave-mock-kafka: reply: %s\n", reply);
		replylen = strlen(reply);
		reply[replylen++] = '\n';
		memmove(c->buf, nl + 1, c->len - linelen - 1);
		c->len -= linelen + 1;
		if (mock_write_all(c->fd, reply, replylen) < 0) {
			mock_client_close(c);
			return;
		}
	}
	if (c->len == sizeof c->buf) {
		static const char toolong[] = "ERR line too long\n";

		(void)mock_write_all(c->fd, toolong, sizeof toolong - 1);
		mock_client_close(c);
	}
}

static void mock_accept(struct mock *m)
{
	int fd, i;

	fd = accept(m->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	for (i = 0; i < MOCK_MAX_CLIENTS; i++) {
		if (m->clients[i].fd < 0) {
			m->clients[i].fd = fd;
			m->clients[i].len = 0;
			return;
		}
	}
	{
		static const char busy[] = "ERR too many control clients\n";

		(void)mock_write_all(fd, busy, sizeof busy - 1);
		close(fd);
	}
}

/* Serves the control channel until a signal or "quit". Signals are blocked except inside ppoll, so a
 * signal can neither be missed between the flag check and the wait nor interrupt anything else. */
static void mock_serve(struct mock *m, const sigset_t *waitmask)
{
	struct pollfd pfd[MOCK_MAX_CLIENTS + 1];
	int idx[MOCK_MAX_CLIENTS + 1];
	int n, i, r;

	while (!mock_stop && !m->quit) {
		n = 0;
		pfd[n].fd = m->listen_fd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < MOCK_MAX_CLIENTS; i++) {
			if (m->clients[i].fd < 0)
				continue;
			pfd[n].fd = m->clients[i].fd;
			pfd[n].events = POLLIN;
			idx[n++] = i;
		}
		r = ppoll(pfd, (nfds_t)n, NULL, waitmask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("cleave-mock-kafka: ppoll");
			return;
		}
		for (i = 0; i < n && !m->quit; i++) {
			if (!pfd[i].revents)
				continue;
			if (idx[i] < 0)
				mock_accept(m);
			else if (m->clients[idx[i]].fd >= 0)
				mock_client_read(m, &m->clients[idx[i]]);
		}
	}
}

/* Opens the control listener on 127.0.0.1 with a port the kernel picks. Returns the fd, or -1. */
static int mock_listen(int *port)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Writes text to path through path.tmp and rename(2). Returns 0, or -1 (errno set). */
static int mock_write_info(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fputs(text, f) == EOF || fflush(f) == EOF || fsync(fileno(f)) < 0) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) == EOF || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mock m;
	struct sigaction sa;
	sigset_t block, waitmask;
	rd_kafka_conf_t *conf;
	const char *info = NULL;
	char errstr[512], text[4096];
	long brokers = 1;
	pid_t parent;
	int i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			if (mock_parse_int(argv[++i], 1, 64, &brokers) < 0) {
				fprintf(stderr, "cleave-mock-kafka: --brokers wants 1..64, not %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--info") == 0 && i + 1 < argc) {
			info = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			mock_usage(stdout);
			return 0;
		} else {
			mock_usage(stderr);
			return 2;
		}
	}

	/* Die with whoever started us (tests/run.sh), even if it is killed with SIGKILL. */
	parent = getppid();
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 1;

	/* Block the stop signals before librdkafka starts its threads (they inherit the mask), so only
	 * mock_serve's ppoll receives them. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = mock_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&m, 0, sizeof m);
	m.listen_fd = -1;
	for (i = 0; i < MOCK_MAX_CLIENTS; i++)
		m.clients[i].fd = -1;

	/* The cluster needs an rd_kafka_t to own it; a producer that never produces. */
	conf = rd_kafka_conf_new();
	/* log_level 4 hides the notice that this handle has no bootstrap.servers (it never connects). */
	if (rd_kafka_conf_set(conf, "client.id", "cleave-mock-kafka", errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "cleave-mock-kafka: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	m.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!m.rk) {
		fprintf(stderr, "cleave-mock-kafka: rd_kafka_new: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	m.mc = rd_kafka_mock_cluster_new(m.rk, (int)brokers);
	if (!m.mc) {
		fprintf(stderr, "cleave-mock-kafka: could not create the mock cluster\n");
		goto cleanup;
	}
	m.listen_fd = mock_listen(&m.control_port);
	if (m.listen_fd < 0) {
		perror("cleave-mock-kafka: control listener");
		goto cleanup;
	}

	snprintf(text, sizeof text, "bootstrap=%s\ncontrol=127.0.0.1:%d\n", rd_kafka_mock_cluster_bootstraps(m.mc),
	         m.control_port);
	if (info && mock_write_info(info, text) < 0) {
		fprintf(stderr, "cleave-mock-kafka: writing %s: %s\n", info, strerror(errno));
		goto cleanup;
	}
	fputs(text, stdout);
	fflush(stdout);

	mock_serve(&m, &waitmask);
	fprintf(stderr, "cleave-mock-kafka: stopping (%s)\n", m.quit ? "quit" : "signal");
	rc = 0;

cleanup:
	for (i = 0; i < MOCK_MAX_CLIENTS; i++)
		if (m.clients[i].fd >= 0)
			close(m.clients[i].fd);
	if (m.listen_fd >= 0)
		close(m.listen_fd);
	if (m.mc)
		rd_kafka_mock_cluster_destroy(m.mc);
	rd_kafka_destroy(m.rk);
	return rc;
}
