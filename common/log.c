/* log.c: see log.h. The level is the only process-wide state besides the signal flag. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_current = LOG_INFO;

static const char *const log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_set_level(enum log_level level)
{
	log_current = level;
}

enum log_level log_get_level(void)
{
	return log_current;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

void log_msg(enum log_level level, const char *ctx, const char *fmt, ...)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (level > log_current)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ %-5s ", ts.tv_nsec / 1000000L, log_names[level]);
	if (ctx && *ctx && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "[%s] ", ctx);
	if (n < sizeof line) {
		va_start(ap, fmt);
		n += (size_t)vsnprintf(line + n, sizeof line - n, fmt, ap);
		va_end(ap);
	}
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* one write so lines from several threads never interleave */
	(void)!write(STDERR_FILENO, line, n);
}
