/* err.c: see err.h. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cerr_set(struct cerr *e, bool retriable, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->set = true;
	e->retriable = retriable;
	return -1;
}

int cerr_wrap(struct cerr *e, const char *fmt, ...)
{
	char prefix[CERR_MSG_MAX], old[CERR_MSG_MAX];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	/* truncation of an over-long message is acceptable */
	if (snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old) < 0)
		e->msg[0] = '\0';
	e->set = true;
	return -1;
}

void cerr_clear(struct cerr *e)
{
	e->set = false;
	e->retriable = false;
	e->msg[0] = '\0';
}
