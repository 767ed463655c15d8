/* lsn.h: PostgreSQL log sequence numbers, printed as X/X like PostgreSQL does. */
#ifndef CLEAVE_LSN_H
#define CLEAVE_LSN_H

#include <stdint.h>

typedef uint64_t lsn_t;

#define LSN_FMT "%X/%X"
#define LSN_ARGS(l) (unsigned)((uint64_t)(l) >> 32), (unsigned)(l)

/* Parses "16/B374D848". Returns 0, or -1 for malformed input. */
int lsn_parse(const char *s, lsn_t *out);

#endif
