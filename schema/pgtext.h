/* pgtext.h: parses PostgreSQL's text output of one value (as pgoutput protocol 1 sends it, with the
 * walsender session set to DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC, extra_float_digits=3,
 * bytea_output=hex) into the Avro binary encoding of the column's type. Pure. */
#ifndef CLEAVE_PGTEXT_H
#define CLEAVE_PGTEXT_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "schema/coltype.h"

enum pgtext_branch {
	PGTEXT_VALUE = 0,   /* written as the column's Avro type */
	PGTEXT_SPECIAL = 1, /* written as an Avro string of the text, for the column union's string branch:
	                     * CT_DECIMAL's NaN (or ±Infinity), and a CT_ARRAY with more than one dimension
	                     * or explicit bounds ("{{1,2}}", "[0:1]={5,6}") */
};

/* Appends the Avro encoding of `text` (len bytes, not NUL-terminated) as type t, without any union
 * index, to out. Returns PGTEXT_VALUE or PGTEXT_SPECIAL, or -1 with err when the text is not a value of
 * the type or out's limit is reached. Timestamps ±infinity become INT64_MAX / INT64_MIN, dates
 * ±infinity INT32_MAX / INT32_MIN (PostgreSQL's own sentinels). */
int pgtext_to_avro(const struct coltype *t, const char *text, size_t len, struct buf *out, struct cerr *err);

#endif
