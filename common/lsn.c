/* lsn.c: see lsn.h. */
#include "common/lsn.h"

#include <stdio.h>

int lsn_parse(const char *s, lsn_t *out)
{
	unsigned hi, lo;
	int n = 0;

	if (!s || sscanf(s, "%X/%X%n", &hi, &lo, &n) != 2 || s[n] != '\0')
		return -1;
	*out = ((uint64_t)hi << 32) | lo;
	return 0;
}
