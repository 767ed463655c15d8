/* mockctl.c: see mockctl.h. One TCP connection per command keeps it stateless. */
#include "tests/support/mockctl.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/support/testenv.h"

#define MOCKCTL_LINE_MAX 1024

/* Sends `cmd` (no newline) and reads the reply into out. Returns NULL, or a static description of what
 * failed. */
static const char *mockctl_roundtrip(const char *addr, const char *cmd, char *out, size_t outsz)
{
	struct sockaddr_in sa;
	struct timeval tv = {10, 0};
	char host[64], line[MOCKCTL_LINE_MAX + 2];
	const char *colon = strrchr(addr, ':'), *why = NULL;
	size_t len = 0, n;
	int fd;

	if (!colon || (size_t)(colon - addr) >= sizeof host)
		return "CLEAVE_TEST_KAFKA_CONTROL is not host:port";
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return "CLEAVE_TEST_KAFKA_CONTROL is not an IPv4 host:port";
	n = strlen(cmd);
	if (n > MOCKCTL_LINE_MAX || strchr(cmd, '\n'))
		return "command too long or has a newline";
	memcpy(line, cmd, n);
	line[n++] = '\n';

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return "socket() failed";
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
		why = "setsockopt() failed";
		goto cleanup;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		why = "cannot connect (is cleave-mock-kafka running?)";
		goto cleanup;
	}
	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n) {
		why = "send() failed";
		goto cleanup;
	}
	for (;;) {
		ssize_t r = recv(fd, out + len, outsz - 1 - len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			why = r == 0 ? "connection closed before the reply" : "no reply within 10 s";
			goto cleanup;
		}
		len += (size_t)r;
		out[len] = '\0';
		if (strchr(out, '\n')) {
			*strchr(out, '\n') = '\0';
			break;
		}
		if (len == outsz - 1) {
			why = "reply too long";
			goto cleanup;
		}
	}
cleanup:
	close(fd);
	return why;
}

static char *mockctl_v(const char *fmt, va_list ap, char **cmd_out)
{
	char cmd[MOCKCTL_LINE_MAX + 1], reply[MOCKCTL_LINE_MAX + 1];
	const char *addr = testenv_get("CLEAVE_TEST_KAFKA_CONTROL"), *why;
	char *r;
	int n;

	n = vsnprintf(cmd, sizeof cmd, fmt, ap);
	if (n < 0 || (size_t)n >= sizeof cmd)
		fail_msg("mockctl: command too long");
	why = mockctl_roundtrip(addr, cmd, reply, sizeof reply);
	if (why)
		fail_msg("mockctl \"%s\" to %s: %s", cmd, addr, why);
	r = strdup(reply);
	if (!r || (cmd_out && !(*cmd_out = strdup(cmd))))
		fail_msg("mockctl: out of memory");
	return r;
}

char *mockctl(const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	r = mockctl_v(fmt, ap, NULL);
	va_end(ap);
	return r;
}

void mockctl_ok(const char *fmt, ...)
{
	char *cmd = NULL, *r;
	char msg[2 * MOCKCTL_LINE_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	r = mockctl_v(fmt, ap, &cmd);
	va_end(ap);
	if (strncmp(r, "OK", 2) == 0) {
		free(r);
		free(cmd);
		return;
	}
	snprintf(msg, sizeof msg, "mockctl \"%s\": %s", cmd, r);
	free(r);
	free(cmd);
	fail_msg("%s", msg);
}
