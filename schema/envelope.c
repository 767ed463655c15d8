/* envelope.c: writes one row change as the envelope of envelope.h, in Avro binary, by hand: the field
 * order and union branches below must follow the schema JSON that table_schema.c generates. Values are
 * parsed from PostgreSQL's text form by pgtext. Called by capture for every change; pure.
 *
 * Byte layout (Avro binary encoding, single-object header first):
 *   C3 01, value_id (8 bytes LE)
 *   before: union long (0 null | 1 Value)   after: same    op: string   ts_ms: long
 *   source: name, db, schema, table: string; txId, lsn, commit_lsn, seq, ts_ms: long; snapshot: string
 *   Value: per column a union long, then the branch's value:
 *     0 null | 1 T | [2 string: decimal NaN] | last: cleave.Unchanged (then enum index 0) */
#include "schema/envelope.h"

#include <string.h>

#include "schema/avro_write.h"
#include "schema/pgtext.h"

static int out_full(const struct table_schema *ts, struct cerr *err)
{
	return cerr_set(err, false, "%s.%s: event does not fit in the output buffer", ts->nspname, ts->relname);
}

static int put_str(struct buf *out, const char *s)
{
	if (!s)
		s = "";
	return avro_put_bytes(out, s, strlen(s));
}

/* Writes one column's union: index and value. In the key there is no Unchanged branch
 * (allow_unchanged false). */
static int put_column(const struct table_schema *ts, const struct ts_column *c, const struct pgo_value *v,
                      bool allow_unchanged, struct buf *out, struct cerr *err)
{
	int64_t unchanged_branch = table_schema_has_string_branch(&c->type) ? 3 : 2;
	size_t pos;
	int r;

	switch (v->kind) {
	case PGO_VAL_NULL:
		return avro_put_long(out, 0) < 0 ? out_full(ts, err) : 0;
	case PGO_VAL_UNCHANGED:
		if (!allow_unchanged)
			return cerr_set(err, false, "%s.%s.%s: key column value was not sent (unchanged TOAST value)",
			                ts->nspname, ts->relname, c->name);
		if (avro_put_long(out, unchanged_branch) < 0 || avro_put_long(out, 0) < 0)
			return out_full(ts, err);
		return 0;
	case PGO_VAL_TEXT:
		/* The branch index comes before the value but depends on what pgtext finds (a decimal's NaN
		 * goes to the string branch): write branch 1 and patch it. A union index below 64 is one
		 * byte in Avro's zigzag varint, 2 * index. */
		pos = out->len;
		if (avro_put_long(out, 1) < 0)
			return out_full(ts, err);
		r = pgtext_to_avro(&c->type, v->data, v->len, out, err);
		if (r < 0)
			return cerr_wrap(err, "%s.%s.%s", ts->nspname, ts->relname, c->name);
		if (r == PGTEXT_SPECIAL) {
			if (!table_schema_has_string_branch(&c->type))
				return cerr_set(err, false, "%s.%s.%s: unexpected special value for a non-decimal column",
				                ts->nspname, ts->relname, c->name);
			out->data[pos] = 2 * 2;
		}
		return 0;
	case PGO_VAL_BINARY:
		return cerr_set(err, false, "%s.%s.%s: value in binary format (cleave asks for text)", ts->nspname,
		                ts->relname, c->name);
	default:
		return cerr_set(err, false, "%s.%s.%s: unknown tuple value kind 0x%02x", ts->nspname, ts->relname,
		                c->name, (unsigned char)v->kind);
	}
}

/* Writes the Value record of tup. Columns past the end of a short tuple are Unchanged in `before` and
 * an error in `after`. */
static int put_row(const struct table_schema *ts, const struct pgo_tuple *tup, bool is_before,
                   struct buf *out, struct cerr *err)
{
	static const struct pgo_value unchanged = {PGO_VAL_UNCHANGED, 0, NULL};

	if (tup->ncols > ts->ncols)
		return cerr_set(err, false, "%s.%s: row has %u columns, the table's schema %d", ts->nspname,
		                ts->relname, (unsigned)tup->ncols, ts->ncols);
	for (int i = 0; i < ts->ncols; i++) {
		const struct pgo_value *v = &unchanged;

		if (i < tup->ncols)
			v = &tup->vals[i];
		else if (!is_before)
			return cerr_set(err, false, "%s.%s.%s: missing from the new row (%u of %d columns)",
			                ts->nspname, ts->relname, ts->cols[i].name, (unsigned)tup->ncols, ts->ncols);
		if (put_column(ts, &ts->cols[i], v, true, out, err) < 0)
			return -1;
	}
	return 0;
}

static int put_optional_row(const struct table_schema *ts, const struct pgo_tuple *tup, bool is_before,
                            struct buf *out, struct cerr *err)
{
	if (!tup)
		return avro_put_long(out, 0) < 0 ? out_full(ts, err) : 0;
	if (avro_put_long(out, 1) < 0)
		return out_full(ts, err);
	return put_row(ts, tup, is_before, out, err);
}

int envelope_encode(const struct table_schema *ts, char op, const struct pgo_tuple *before,
                    const struct pgo_tuple *after, const struct envelope_source *src, int64_t now_ms,
                    struct buf *out, struct cerr *err)
{
	char opstr[2] = {op, '\0'};

	if (!strchr("cudrt", op) || op == '\0')
		return cerr_set(err, false, "%s.%s: unknown envelope op 0x%02x", ts->nspname, ts->relname,
		                (unsigned char)op);
	if (avro_put_soe_header(out, ts->value_id) < 0)
		return out_full(ts, err);
	if (put_optional_row(ts, before, true, out, err) < 0 || put_optional_row(ts, after, false, out, err) < 0)
		return -1;
	/* LSNs are written as Avro longs: PostgreSQL's stay far below 2^63 */
	if (put_str(out, opstr) < 0 || avro_put_long(out, now_ms) < 0 || put_str(out, src->name) < 0 ||
	    put_str(out, src->db) < 0 || put_str(out, ts->nspname) < 0 || put_str(out, ts->relname) < 0 ||
	    avro_put_long(out, src->txid) < 0 || avro_put_long(out, (int64_t)src->lsn) < 0 ||
	    avro_put_long(out, (int64_t)src->commit_lsn) < 0 || avro_put_long(out, src->seq) < 0 ||
	    avro_put_long(out, src->ts_ms) < 0 || put_str(out, src->snapshot ? src->snapshot : "false") < 0)
		return out_full(ts, err);
	return 0;
}

/* A NULL key column is written as null: with REPLICA IDENTITY FULL every column is part of the key,
 * nullable ones included. */
int envelope_encode_key(const struct table_schema *ts, const struct pgo_tuple *tup, struct buf *out,
                        struct cerr *err)
{
	if (ts->nkeys == 0 || !ts->key_json)
		return cerr_set(err, false, "%s.%s: table has no replica identity, so no key", ts->nspname,
		                ts->relname);
	if (tup->ncols > ts->ncols)
		return cerr_set(err, false, "%s.%s: row has %u columns, the table's schema %d", ts->nspname,
		                ts->relname, (unsigned)tup->ncols, ts->ncols);
	if (avro_put_soe_header(out, ts->key_id) < 0)
		return out_full(ts, err);
	for (int i = 0; i < ts->ncols; i++) {
		if (!ts->cols[i].key)
			continue;
		if (i >= tup->ncols)
			return cerr_set(err, false, "%s.%s.%s: key column missing from the row", ts->nspname,
			                ts->relname, ts->cols[i].name);
		if (put_column(ts, &ts->cols[i], &tup->vals[i], false, out, err) < 0)
			return -1;
	}
	return 0;
}
