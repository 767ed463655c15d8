/* clock.h: time helpers. PostgreSQL's replication protocol counts microseconds since 2000-01-01. */
#ifndef CLEAVE_CLOCK_H
#define CLEAVE_CLOCK_H

#include <stdint.h>

#define PG_EPOCH_OFFSET_US INT64_C(946684800000000) /* 2000-01-01 minus 1970-01-01, in microseconds */

int64_t clock_mono_ms(void);    /* monotonic milliseconds, for deadlines and intervals (to a tick: 1-4 ms) */
int64_t clock_unix_ms(void);    /* wall clock, milliseconds since 1970 (to a tick), for event times */
int64_t clock_unix_us(void);    /* wall clock, microseconds since 1970 */
int64_t clock_pg_now_us(void);  /* wall clock, microseconds since 2000 (PostgreSQL epoch) */

#endif
