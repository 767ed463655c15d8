/* pgoutput.c: decodes one pgoutput logical replication message (protocol version 1, as PostgreSQL 15
 * sends it) into a struct pgo_msg. Pure: no I/O, and no allocation in the steady state; the decoder
 * owns scratch arrays (relation columns, two tuple value arrays, truncate relids) that grow to the
 * largest message seen and are reused. Called by capture.c with the payload of each XLogData 'w'.
 *
 * Wire types: Int8/Int16/Int32/Int64 are big-endian, String is NUL-terminated, Byte1(c) is a literal
 * byte. Protocol v1 has no streamed-transaction xid fields, so none is read here. */
#include "capture/pgoutput.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

struct pgo_decoder {
	struct pgo_column *cols; /* Relation columns */
	size_t cols_cap;
	struct pgo_value *vals[2]; /* [PGO_SLOT_OLD] old/key tuple, [PGO_SLOT_NEW] new tuple */
	size_t vals_cap[2];
	uint32_t *relids; /* Truncate relation ids */
	size_t relids_cap;
};

enum { PGO_SLOT_OLD = 0, PGO_SLOT_NEW = 1 };

/* Smallest encodings, used to refuse a count that cannot fit in what remains before allocating. */
#define PGO_MIN_COLUMN_BYTES 10 /* Int8 flags, String "" (1), Int32 type, Int32 typmod */
#define PGO_MIN_VALUE_BYTES 1   /* Byte1 'n' or 'u' */

/* A reader that remembers where it first ran short, so the error can say what and where. */
struct pgo_rd {
	struct reader r;
	const char *msgname; /* "Insert", ... */
	int col;             /* column being read, or -1 */
	const char *field;   /* first short read: which field */
	size_t need;         /* bytes it needed (0: an unterminated string) */
	size_t at;           /* its offset in the message */
	size_t left;         /* bytes that were left */
	int short_col;       /* col at the short read */
};

static void pgo_rd_init(struct pgo_rd *rd, const uint8_t *data, size_t len)
{
	reader_init(&rd->r, data, len);
	rd->msgname = "pgoutput";
	rd->col = -1;
	rd->field = NULL;
	rd->need = 0;
	rd->at = 0;
	rd->left = 0;
	rd->short_col = -1;
}

static void pgo_rd_short(struct pgo_rd *rd, const char *field, size_t need)
{
	if (rd->r.failed)
		return;
	rd->field = field;
	rd->need = need;
	rd->at = rd->r.pos;
	rd->left = rd->r.len - rd->r.pos;
	rd->short_col = rd->col;
}

static const uint8_t *pgo_rd_bytes(struct pgo_rd *rd, size_t n, const char *field)
{
	if (!rd->r.failed && reader_left(&rd->r) < n)
		pgo_rd_short(rd, field, n);
	return reader_bytes(&rd->r, n);
}

static uint8_t pgo_rd_u8(struct pgo_rd *rd, const char *field)
{
	const uint8_t *p = pgo_rd_bytes(rd, 1, field);
	return p ? p[0] : 0;
}

static uint16_t pgo_rd_be16(struct pgo_rd *rd, const char *field)
{
	const uint8_t *p = pgo_rd_bytes(rd, 2, field);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static uint32_t pgo_rd_be32(struct pgo_rd *rd, const char *field)
{
	const uint8_t *p = pgo_rd_bytes(rd, 4, field);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}

static uint64_t pgo_rd_be64(struct pgo_rd *rd, const char *field)
{
	const uint8_t *p = pgo_rd_bytes(rd, 8, field);
	uint64_t v = 0;
	int i;

	if (!p)
		return 0;
	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static const char *pgo_rd_cstr(struct pgo_rd *rd, const char *field)
{
	if (!rd->r.failed && !memchr(rd->r.p + rd->r.pos, '\0', rd->r.len - rd->r.pos))
		pgo_rd_short(rd, field, 0);
	return reader_cstr(&rd->r);
}

/* Two's-complement reinterpretation without implementation-defined conversions. */
static int32_t pgo_i32(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : (int32_t)(v - INT32_MAX - 1) - INT32_MAX - 1;
}

static int64_t pgo_i64(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : (int64_t)(v - INT64_MAX - 1) - INT64_MAX - 1;
}

/* Returns -1 with a "truncated" error when a read ran short, else 0. */
static int pgo_rd_check(const struct pgo_rd *rd, struct cerr *err)
{
	char colbuf[32] = "";

	if (!rd->r.failed)
		return 0;
	if (rd->short_col >= 0)
		snprintf(colbuf, sizeof colbuf, "column %d, ", rd->short_col);
	if (rd->need == 0)
		return cerr_set(err, false,
		                "pgoutput: truncated %s message (%s%s: no NUL-terminated string at offset %zu, "
		                "%zu left)",
		                rd->msgname, colbuf, rd->field, rd->at, rd->left);
	return cerr_set(err, false, "pgoutput: truncated %s message (%s%s: needed %zu bytes at offset %zu, %zu left)",
	                rd->msgname, colbuf, rd->field, rd->need, rd->at, rd->left);
}

/* Returns -1 unless the message was read exactly to its end. */
static int pgo_rd_finish(const struct pgo_rd *rd, struct cerr *err)
{
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (rd->r.pos != rd->r.len)
		return cerr_set(err, false, "pgoutput: %zu trailing bytes after %s message at offset %zu",
		                rd->r.len - rd->r.pos, rd->msgname, rd->r.pos);
	return 0;
}

/* Grows *arr to hold at least n elements of size el. Returns 0, or -1 when out of memory. */
static int pgo_grow(void **arr, size_t *cap, size_t n, size_t el)
{
	size_t ncap;
	void *p;

	if (n <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < n)
		ncap *= 2;
	if (ncap > SIZE_MAX / el)
		return -1;
	p = realloc(*arr, ncap * el);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct pgo_decoder *pgo_decoder_new(void)
{
	return calloc(1, sizeof(struct pgo_decoder));
}

void pgo_decoder_free(struct pgo_decoder *d)
{
	if (!d)
		return;
	free(d->relids);
	free(d->vals[PGO_SLOT_NEW]);
	free(d->vals[PGO_SLOT_OLD]);
	free(d->cols);
	free(d);
}

/* TupleData:
 *   Int16 ncols, then per column one of
 *     Byte1('n')                      NULL
 *     Byte1('u')                      unchanged TOASTed value (not sent)
 *     Byte1('t') Int32 len Byte[len]  text
 *     Byte1('b') Int32 len Byte[len]  binary
 * `which` names the tuple ("new", "key", "old") in errors. */
static int pgo_read_tuple(struct pgo_decoder *d, struct pgo_rd *rd, int slot, const char *which,
                          struct pgo_tuple *t, struct cerr *err)
{
	size_t at = rd->r.pos;
	uint16_t n;
	uint32_t len;
	unsigned i;

	n = pgo_rd_be16(rd, "tuple column count");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (n > INT16_MAX)
		return cerr_set(err, false, "pgoutput: negative column count %d in %s tuple of %s message at offset %zu",
		                (int)n - 65536, which, rd->msgname, at);
	if ((size_t)n * PGO_MIN_VALUE_BYTES > reader_left(&rd->r))
		return cerr_set(err, false,
		                "pgoutput: %s tuple of %s message at offset %zu claims %u columns but only %zu bytes "
		                "follow",
		                which, rd->msgname, at, (unsigned)n, reader_left(&rd->r));
	if (pgo_grow((void **)&d->vals[slot], &d->vals_cap[slot], n, sizeof(struct pgo_value)) < 0)
		return cerr_set(err, false, "pgoutput: out of memory for %u tuple values", (unsigned)n);
	t->ncols = n;
	t->vals = d->vals[slot];
	for (i = 0; i < n; i++) {
		struct pgo_value *v = &t->vals[i];
		size_t vat = rd->r.pos;
		uint8_t kind;

		rd->col = (int)i;
		kind = pgo_rd_u8(rd, "value kind");
		if (pgo_rd_check(rd, err) < 0)
			return -1;
		v->kind = (char)kind;
		v->len = 0;
		v->data = NULL;
		switch (kind) {
		case PGO_VAL_NULL:
		case PGO_VAL_UNCHANGED:
			break;
		case PGO_VAL_TEXT:
		case PGO_VAL_BINARY:
			len = pgo_rd_be32(rd, "value length");
			if (pgo_rd_check(rd, err) < 0)
				return -1;
			if (len > INT32_MAX)
				return cerr_set(err, false,
				                "pgoutput: negative value length %d for column %u of %s tuple in %s message at "
				                "offset %zu",
				                pgo_i32(len), i, which, rd->msgname, vat + 1);
			v->len = len;
			v->data = (const char *)pgo_rd_bytes(rd, len, "value bytes");
			if (pgo_rd_check(rd, err) < 0)
				return -1;
			break;
		default:
			return cerr_set(err, false,
			                "pgoutput: unknown tuple value kind 0x%02x for column %u of %s tuple in %s message at "
			                "offset %zu",
			                kind, i, which, rd->msgname, vat);
		}
	}
	rd->col = -1;
	return 0;
}

/* Begin: Byte1('B') Int64 final_lsn Int64 commit_ts Int32 xid */
static int pgo_decode_begin(struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	out->u.begin.final_lsn = pgo_rd_be64(rd, "final LSN");
	out->u.begin.commit_ts = pgo_i64(pgo_rd_be64(rd, "commit timestamp"));
	out->u.begin.xid = pgo_rd_be32(rd, "xid");
	return pgo_rd_finish(rd, err);
}

/* Commit: Byte1('C') Int8 flags (0) Int64 commit_lsn Int64 end_lsn Int64 commit_ts */
static int pgo_decode_commit(struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	out->u.commit.flags = pgo_rd_u8(rd, "flags");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (out->u.commit.flags != 0)
		return cerr_set(err, false, "pgoutput: Commit message has unknown flags 0x%02x at offset 1",
		                out->u.commit.flags);
	out->u.commit.commit_lsn = pgo_rd_be64(rd, "commit LSN");
	out->u.commit.end_lsn = pgo_rd_be64(rd, "end LSN");
	out->u.commit.commit_ts = pgo_i64(pgo_rd_be64(rd, "commit timestamp"));
	return pgo_rd_finish(rd, err);
}

/* Origin: Byte1('O') Int64 origin_lsn String name */
static int pgo_decode_origin(struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	out->u.origin.lsn = pgo_rd_be64(rd, "origin LSN");
	out->u.origin.name = pgo_rd_cstr(rd, "origin name");
	return pgo_rd_finish(rd, err);
}

/* Relation: Byte1('R') Int32 oid String nspname String relname Int8 replident Int16 ncols, then per column
 *   Int8 flags (1: part of the replica identity) String name Int32 type_oid Int32 typmod */
static int pgo_decode_relation(struct pgo_decoder *d, struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	struct pgo_relation *rel = &out->u.relation;
	size_t at;
	uint16_t n;
	uint8_t ri;
	unsigned i;

	rel->oid = pgo_rd_be32(rd, "relation id");
	rel->nspname = pgo_rd_cstr(rd, "namespace");
	rel->relname = pgo_rd_cstr(rd, "relation name");
	at = rd->r.pos;
	ri = pgo_rd_u8(rd, "replica identity");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (ri != 'd' && ri != 'n' && ri != 'f' && ri != 'i')
		return cerr_set(err, false, "pgoutput: Relation message has unknown replica identity 0x%02x at offset %zu",
		                ri, at);
	rel->replident = (char)ri;
	at = rd->r.pos;
	n = pgo_rd_be16(rd, "column count");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (n > INT16_MAX)
		return cerr_set(err, false, "pgoutput: negative column count %d in Relation message at offset %zu",
		                (int)n - 65536, at);
	if ((size_t)n * PGO_MIN_COLUMN_BYTES > reader_left(&rd->r))
		return cerr_set(err, false,
		                "pgoutput: Relation message at offset %zu claims %u columns but only %zu bytes follow", at,
		                (unsigned)n, reader_left(&rd->r));
	if (pgo_grow((void **)&d->cols, &d->cols_cap, n, sizeof(struct pgo_column)) < 0)
		return cerr_set(err, false, "pgoutput: out of memory for %u relation columns", (unsigned)n);
	rel->ncols = n;
	rel->cols = d->cols;
	for (i = 0; i < n; i++) {
		struct pgo_column *c = &rel->cols[i];

		rd->col = (int)i;
		at = rd->r.pos;
		c->flags = pgo_rd_u8(rd, "column flags");
		if (pgo_rd_check(rd, err) < 0)
			return -1;
		if (c->flags & ~PGO_COL_KEY)
			return cerr_set(err, false,
			                "pgoutput: Relation message has unknown flags 0x%02x for column %u at offset %zu",
			                c->flags, i, at);
		c->name = pgo_rd_cstr(rd, "column name");
		c->type_oid = pgo_rd_be32(rd, "column type");
		c->typmod = pgo_i32(pgo_rd_be32(rd, "column typmod"));
		if (pgo_rd_check(rd, err) < 0)
			return -1;
	}
	rd->col = -1;
	return pgo_rd_finish(rd, err);
}

/* Type: Byte1('Y') Int32 oid String nspname String typname */
static int pgo_decode_type(struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	out->u.type.oid = pgo_rd_be32(rd, "type id");
	out->u.type.nspname = pgo_rd_cstr(rd, "namespace");
	out->u.type.typname = pgo_rd_cstr(rd, "type name");
	return pgo_rd_finish(rd, err);
}

/* Reads the Byte1 that introduces a TupleData; returns it, or -1 after a truncation error. */
static int pgo_read_tag(struct pgo_rd *rd, struct cerr *err)
{
	uint8_t tag = pgo_rd_u8(rd, "tuple tag");

	if (pgo_rd_check(rd, err) < 0)
		return -1;
	return tag;
}

static int pgo_bad_tag(const struct pgo_rd *rd, int tag, const char *expected, struct cerr *err)
{
	return cerr_set(err, false, "pgoutput: unexpected tuple tag 0x%02x in %s message at offset %zu (expected %s)",
	                tag, rd->msgname, rd->r.pos - 1, expected);
}

/* Insert: Byte1('I') Int32 relid Byte1('N') TupleData */
static int pgo_decode_insert(struct pgo_decoder *d, struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	int tag;

	out->u.insert.relid = pgo_rd_be32(rd, "relation id");
	if ((tag = pgo_read_tag(rd, err)) < 0)
		return -1;
	if (tag != 'N')
		return pgo_bad_tag(rd, tag, "'N'", err);
	if (pgo_read_tuple(d, rd, PGO_SLOT_NEW, "new", &out->u.insert.newtup, err) < 0)
		return -1;
	return pgo_rd_finish(rd, err);
}

/* Update: Byte1('U') Int32 relid [Byte1('K') TupleData | Byte1('O') TupleData] Byte1('N') TupleData
 * 'K' (key columns) comes when the replica identity key changed, 'O' (whole old row) under REPLICA
 * IDENTITY FULL; never both. */
static int pgo_decode_update(struct pgo_decoder *d, struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	int tag;

	out->u.update.relid = pgo_rd_be32(rd, "relation id");
	if ((tag = pgo_read_tag(rd, err)) < 0)
		return -1;
	if (tag == 'K' || tag == 'O') {
		out->u.update.oldkind = (char)tag;
		if (pgo_read_tuple(d, rd, PGO_SLOT_OLD, tag == 'K' ? "key" : "old", &out->u.update.oldtup, err) < 0)
			return -1;
		if ((tag = pgo_read_tag(rd, err)) < 0)
			return -1;
		if (tag != 'N')
			return pgo_bad_tag(rd, tag, "'N'", err);
	} else if (tag != 'N') {
		return pgo_bad_tag(rd, tag, "'K', 'O' or 'N'", err);
	}
	if (pgo_read_tuple(d, rd, PGO_SLOT_NEW, "new", &out->u.update.newtup, err) < 0)
		return -1;
	return pgo_rd_finish(rd, err);
}

/* Delete: Byte1('D') Int32 relid (Byte1('K') | Byte1('O')) TupleData */
static int pgo_decode_delete(struct pgo_decoder *d, struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	int tag;

	out->u.del.relid = pgo_rd_be32(rd, "relation id");
	if ((tag = pgo_read_tag(rd, err)) < 0)
		return -1;
	if (tag != 'K' && tag != 'O')
		return pgo_bad_tag(rd, tag, "'K' or 'O'", err);
	out->u.del.oldkind = (char)tag;
	if (pgo_read_tuple(d, rd, PGO_SLOT_OLD, tag == 'K' ? "key" : "old", &out->u.del.oldtup, err) < 0)
		return -1;
	return pgo_rd_finish(rd, err);
}

/* Truncate: Byte1('T') Int32 nrels Int8 options (1 CASCADE, 2 RESTART IDENTITY) Int32 relid * nrels */
static int pgo_decode_truncate(struct pgo_decoder *d, struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	uint32_t n;
	uint8_t opts;
	uint32_t i;

	n = pgo_rd_be32(rd, "relation count");
	opts = pgo_rd_u8(rd, "options");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (n > INT32_MAX)
		return cerr_set(err, false, "pgoutput: negative relation count %d in Truncate message at offset 1",
		                pgo_i32(n));
	if (opts & ~(PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY))
		return cerr_set(err, false, "pgoutput: Truncate message has unknown options 0x%02x at offset 5", opts);
	if ((size_t)n > reader_left(&rd->r) / 4)
		return cerr_set(err, false,
		                "pgoutput: Truncate message at offset 1 claims %u relations but only %zu bytes follow",
		                (unsigned)n, reader_left(&rd->r));
	if (pgo_grow((void **)&d->relids, &d->relids_cap, n, sizeof(uint32_t)) < 0)
		return cerr_set(err, false, "pgoutput: out of memory for %u truncated relations", (unsigned)n);
	out->u.truncate.nrels = n;
	out->u.truncate.options = opts;
	out->u.truncate.relids = d->relids;
	for (i = 0; i < n; i++)
		d->relids[i] = pgo_rd_be32(rd, "relation id");
	return pgo_rd_finish(rd, err);
}

/* Message: Byte1('M') Int8 flags (1: transactional) Int64 lsn String prefix Int32 len Byte[len] content */
static int pgo_decode_message(struct pgo_rd *rd, struct pgo_msg *out, struct cerr *err)
{
	size_t at;
	uint32_t len;

	out->u.message.flags = pgo_rd_u8(rd, "flags");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (out->u.message.flags & ~1u)
		return cerr_set(err, false, "pgoutput: logical decoding Message has unknown flags 0x%02x at offset 1",
		                out->u.message.flags);
	out->u.message.lsn = pgo_rd_be64(rd, "message LSN");
	out->u.message.prefix = pgo_rd_cstr(rd, "prefix");
	at = rd->r.pos;
	len = pgo_rd_be32(rd, "content length");
	if (pgo_rd_check(rd, err) < 0)
		return -1;
	if (len > INT32_MAX)
		return cerr_set(err, false, "pgoutput: negative content length %d in logical decoding Message at offset %zu",
		                pgo_i32(len), at);
	out->u.message.len = len;
	out->u.message.content = (const char *)pgo_rd_bytes(rd, len, "content");
	return pgo_rd_finish(rd, err);
}

static const char *pgo_kind_name(uint8_t kind)
{
	switch (kind) {
	case PGO_BEGIN: return "Begin";
	case PGO_COMMIT: return "Commit";
	case PGO_ORIGIN: return "Origin";
	case PGO_RELATION: return "Relation";
	case PGO_TYPE: return "Type";
	case PGO_INSERT: return "Insert";
	case PGO_UPDATE: return "Update";
	case PGO_DELETE: return "Delete";
	case PGO_TRUNCATE: return "Truncate";
	case PGO_MESSAGE: return "logical decoding"; /* "truncated logical decoding message" */
	default: return NULL;
	}
}

int pgo_decode(struct pgo_decoder *d, const uint8_t *data, size_t len, struct pgo_msg *out, struct cerr *err)
{
	struct pgo_rd rd;
	uint8_t kind;

	memset(out, 0, sizeof *out);
	if (len == 0 || !data)
		return cerr_set(err, false, "pgoutput: empty message");
	pgo_rd_init(&rd, data, len);
	kind = pgo_rd_u8(&rd, "message type");
	rd.msgname = pgo_kind_name(kind);
	if (!rd.msgname) {
		/* Protocol v2+ only: Stream Start/Stop/Commit/Abort, Begin Prepare, Prepare, Commit/Rollback
		 * Prepared, Stream Prepare. */
		if (kind && strchr("SEcAbPKrp", kind))
			return cerr_set(err, false,
			                "pgoutput: unsupported message type 0x%02x ('%c'), which needs protocol version 2 or "
			                "later; cleave asks for version 1",
			                kind, kind);
		return cerr_set(err, false, "pgoutput: unknown message type 0x%02x", kind);
	}
	out->kind = (char)kind;
	switch (kind) {
	case PGO_BEGIN: return pgo_decode_begin(&rd, out, err);
	case PGO_COMMIT: return pgo_decode_commit(&rd, out, err);
	case PGO_ORIGIN: return pgo_decode_origin(&rd, out, err);
	case PGO_RELATION: return pgo_decode_relation(d, &rd, out, err);
	case PGO_TYPE: return pgo_decode_type(&rd, out, err);
	case PGO_INSERT: return pgo_decode_insert(d, &rd, out, err);
	case PGO_UPDATE: return pgo_decode_update(d, &rd, out, err);
	case PGO_DELETE: return pgo_decode_delete(d, &rd, out, err);
	case PGO_TRUNCATE: return pgo_decode_truncate(d, &rd, out, err);
	default: return pgo_decode_message(&rd, out, err);
	}
}
