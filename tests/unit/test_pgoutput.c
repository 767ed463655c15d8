/* test_pgoutput.c: unit tests of the pgoutput decoder (capture/pgoutput.c). Every fixture is built by
 * hand from the documented protocol v1 byte layouts, decoded from an exact-size heap copy (so ASan
 * catches any read past the end), and checked field by field. Every strict prefix of every fixture,
 * fixtures with trailing bytes, mutated fixtures and seeded random garbage must fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/pgoutput.h"
#include "common/buf.h"

/* ---- fixture building ---- */

static void p8(struct buf *b, uint8_t v)
{
	assert_int_equal(buf_putc(b, v), 0);
}

static void p16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	assert_int_equal(buf_append(b, x, 2), 0);
}

static void p32(struct buf *b, uint32_t v)
{
	assert_int_equal(buf_put_be32(b, v), 0);
}

static void p64(struct buf *b, uint64_t v)
{
	assert_int_equal(buf_put_be64(b, v), 0);
}

static void pstr(struct buf *b, const char *s) /* String: bytes and a NUL */
{
	assert_int_equal(buf_append(b, s, strlen(s) + 1), 0);
}

static void pbytes(struct buf *b, const void *p, size_t n)
{
	assert_int_equal(buf_append(b, p, n), 0);
}

static void pval_text(struct buf *b, const char *s)
{
	p8(b, 't');
	p32(b, (uint32_t)strlen(s));
	pbytes(b, s, strlen(s));
}

static void pval_bin(struct buf *b, const void *p, size_t n)
{
	p8(b, 'b');
	p32(b, (uint32_t)n);
	pbytes(b, p, n);
}

/* A decode from an exact-size heap copy of the bytes; the copy stays alive until dec_end(). */
struct dec {
	struct pgo_decoder *d;
	uint8_t *copy;
	size_t len;
	struct pgo_msg m;
	struct cerr err;
	int rc;
};

static void dec_run(struct dec *x, const uint8_t *data, size_t len)
{
	free(x->copy);
	x->copy = malloc(len ? len : 1);
	assert_non_null(x->copy);
	if (len)
		memcpy(x->copy, data, len);
	x->len = len;
	cerr_clear(&x->err);
	x->rc = pgo_decode(x->d, x->copy, len, &x->m, &x->err);
}

static void dec_init(struct dec *x)
{
	memset(x, 0, sizeof *x);
	x->d = pgo_decoder_new();
	assert_non_null(x->d);
}

static void dec_end(struct dec *x)
{
	free(x->copy);
	pgo_decoder_free(x->d);
}

static void assert_ok(const struct dec *x)
{
	if (x->rc != 0)
		fail_msg("decode failed: %s", x->err.msg);
	assert_false(x->err.set);
}

static void assert_fails(const struct dec *x)
{
	assert_int_equal(x->rc, -1);
	assert_true(x->err.set);
	assert_false(x->err.retriable);
	assert_true(strncmp(x->err.msg, "pgoutput: ", 10) == 0);
}

/* p points into the decoded input at offset off, and the n bytes there equal want */
static void assert_at(const struct dec *x, const void *p, size_t off, const void *want, size_t n)
{
	assert_ptr_equal(p, x->copy + off);
	assert_true(off + n <= x->len);
	if (n)
		assert_memory_equal(p, want, n);
}

static void assert_instr(const struct dec *x, const char *s, const char *want)
{
	assert_non_null(s);
	assert_true((const uint8_t *)s >= x->copy && (const uint8_t *)s < x->copy + x->len);
	assert_string_equal(s, want);
}

static void assert_val_text(const struct dec *x, const struct pgo_value *v, const char *want)
{
	assert_int_equal(v->kind, PGO_VAL_TEXT);
	assert_int_equal(v->len, strlen(want));
	assert_non_null(v->data);
	assert_true((const uint8_t *)v->data >= x->copy && (const uint8_t *)v->data + v->len <= x->copy + x->len);
	if (v->len)
		assert_memory_equal(v->data, want, v->len);
}

static void assert_val_null(const struct pgo_value *v, char kind)
{
	assert_int_equal(v->kind, kind);
	assert_int_equal(v->len, 0);
	assert_null(v->data);
}

static void assert_msg(const struct dec *x, const char *want)
{
	assert_fails(x);
	assert_string_equal(x->err.msg, want);
}

static void assert_msg_has(const struct dec *x, const char *part)
{
	assert_fails(x);
	if (!strstr(x->err.msg, part))
		fail_msg("error \"%s\" lacks \"%s\"", x->err.msg, part);
}

/* ---- fixtures: build + check ---- */

#define LSN_A 0x00000016B374D848ull
#define LSN_B 0x00000016B374D9A0ull
#define LSN_C 0x00000016B374DA00ull
#define TS_A 0x0002A2B3C4D5E6F7ll /* a 2024-ish timestamp in microseconds since 2000-01-01 */

static void fx_begin(struct buf *b)
{
	p8(b, 'B');
	p64(b, LSN_A);
	p64(b, (uint64_t)TS_A);
	p32(b, 0xDEADBEEFu);
}

static void ck_begin(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_BEGIN);
	assert_int_equal(x->m.u.begin.final_lsn, LSN_A);
	assert_int_equal(x->m.u.begin.commit_ts, TS_A);
	assert_int_equal(x->m.u.begin.xid, 0xDEADBEEFu);
}

static void fx_commit(struct buf *b)
{
	p8(b, 'C');
	p8(b, 0);
	p64(b, LSN_B);
	p64(b, LSN_C);
	p64(b, UINT64_C(0xFFFFFFFFFFFFFF00)); /* -256: a commit before 2000 */
}

static void ck_commit(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_COMMIT);
	assert_int_equal(x->m.u.commit.flags, 0);
	assert_int_equal(x->m.u.commit.commit_lsn, LSN_B);
	assert_int_equal(x->m.u.commit.end_lsn, LSN_C);
	assert_true(x->m.u.commit.commit_ts == -256);
}

static void fx_origin(struct buf *b)
{
	p8(b, 'O');
	p64(b, LSN_A);
	pstr(b, "node_a");
}

static void ck_origin(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_ORIGIN);
	assert_int_equal(x->m.u.origin.lsn, LSN_A);
	assert_instr(x, x->m.u.origin.name, "node_a");
	assert_ptr_equal(x->m.u.origin.name, x->copy + 9);
}

/* Relation public.orders with four columns; `ri` and the key flags vary. */
static const struct {
	const char *name;
	uint32_t type;
	int32_t typmod;
} rel_cols[4] = {
	{"id", 23, -1},                         /* integer */
	{"customer_id", 20, -1},                /* bigint */
	{"status", 1043, 64 + 4},               /* varchar(64) */
	{"total_cents", 1700, (10 << 16) + 2 + 4}, /* numeric(10,2) */
};

static void fx_relation_ri(struct buf *b, char ri, const uint8_t flags[4])
{
	int i;

	p8(b, 'R');
	p32(b, 16384);
	pstr(b, "public");
	pstr(b, "orders");
	p8(b, (uint8_t)ri);
	p16(b, 4);
	for (i = 0; i < 4; i++) {
		p8(b, flags[i]);
		pstr(b, rel_cols[i].name);
		p32(b, rel_cols[i].type);
		p32(b, (uint32_t)rel_cols[i].typmod);
	}
}

static void ck_relation_ri(const struct dec *x, char ri, const uint8_t flags[4])
{
	const struct pgo_relation *r = &x->m.u.relation;
	int i;

	assert_int_equal(x->m.kind, PGO_RELATION);
	assert_int_equal(r->oid, 16384);
	assert_instr(x, r->nspname, "public");
	assert_instr(x, r->relname, "orders");
	assert_int_equal(r->replident, ri);
	assert_int_equal(r->ncols, 4);
	assert_non_null(r->cols);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r->cols[i].flags, flags[i]);
		assert_instr(x, r->cols[i].name, rel_cols[i].name);
		assert_int_equal(r->cols[i].type_oid, rel_cols[i].type);
		assert_true(r->cols[i].typmod == rel_cols[i].typmod);
	}
}

static const uint8_t flags_default[4] = {1, 0, 0, 0}; /* primary key (id) */
static const uint8_t flags_nothing[4] = {0, 0, 0, 0};
static const uint8_t flags_full[4] = {1, 1, 1, 1}; /* PG15 flags every column under FULL */
static const uint8_t flags_index[4] = {0, 1, 1, 0}; /* unique index on (customer_id, status) */

static void fx_relation_d(struct buf *b) { fx_relation_ri(b, 'd', flags_default); }
static void ck_relation_d(const struct dec *x) { ck_relation_ri(x, 'd', flags_default); }
static void fx_relation_n(struct buf *b) { fx_relation_ri(b, 'n', flags_nothing); }
static void ck_relation_n(const struct dec *x) { ck_relation_ri(x, 'n', flags_nothing); }
static void fx_relation_f(struct buf *b) { fx_relation_ri(b, 'f', flags_full); }
static void ck_relation_f(const struct dec *x) { ck_relation_ri(x, 'f', flags_full); }
static void fx_relation_i(struct buf *b) { fx_relation_ri(b, 'i', flags_index); }
static void ck_relation_i(const struct dec *x) { ck_relation_ri(x, 'i', flags_index); }

/* A pg_catalog relation (empty namespace) with no columns. */
static void fx_relation_empty(struct buf *b)
{
	p8(b, 'R');
	p32(b, 1259);
	pstr(b, "");
	pstr(b, "t0");
	p8(b, 'd');
	p16(b, 0);
}

static void ck_relation_empty(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_RELATION);
	assert_int_equal(x->m.u.relation.oid, 1259);
	assert_instr(x, x->m.u.relation.nspname, "");
	assert_instr(x, x->m.u.relation.relname, "t0");
	assert_int_equal(x->m.u.relation.replident, 'd');
	assert_int_equal(x->m.u.relation.ncols, 0);
}

static void fx_type(struct buf *b)
{
	p8(b, 'Y');
	p32(b, 16500);
	pstr(b, "public");
	pstr(b, "mood");
}

static void ck_type(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_TYPE);
	assert_int_equal(x->m.u.type.oid, 16500);
	assert_instr(x, x->m.u.type.nspname, "public");
	assert_instr(x, x->m.u.type.typname, "mood");
}

static const uint8_t bin42[4] = {0, 0, 0, 42};

/* Insert: t "42", n, u, b 00 00 00 2a, t "" */
static void fx_insert(struct buf *b)
{
	p8(b, 'I');
	p32(b, 16384);
	p8(b, 'N');
	p16(b, 5);
	pval_text(b, "42");
	p8(b, 'n');
	p8(b, 'u');
	pval_bin(b, bin42, 4);
	pval_text(b, "");
}

static void ck_insert(const struct dec *x)
{
	const struct pgo_tuple *t = &x->m.u.insert.newtup;

	assert_int_equal(x->m.kind, PGO_INSERT);
	assert_int_equal(x->m.u.insert.relid, 16384);
	assert_int_equal(t->ncols, 5);
	assert_int_equal(t->vals[0].kind, PGO_VAL_TEXT);
	assert_int_equal(t->vals[0].len, 2);
	assert_at(x, t->vals[0].data, 13, "42", 2);
	assert_val_null(&t->vals[1], PGO_VAL_NULL);
	assert_val_null(&t->vals[2], PGO_VAL_UNCHANGED);
	assert_int_equal(t->vals[3].kind, PGO_VAL_BINARY);
	assert_int_equal(t->vals[3].len, 4);
	assert_at(x, t->vals[3].data, 22, bin42, 4);
	assert_val_text(x, &t->vals[4], "");
	assert_ptr_equal(t->vals[4].data, x->copy + 31);
}

static void fx_update_plain(struct buf *b)
{
	p8(b, 'U');
	p32(b, 16384);
	p8(b, 'N');
	p16(b, 3);
	pval_text(b, "7");
	pval_text(b, "shipped");
	p8(b, 'u');
}

static void ck_update_plain(const struct dec *x)
{
	const struct pgo_tuple *t = &x->m.u.update.newtup;

	assert_int_equal(x->m.kind, PGO_UPDATE);
	assert_int_equal(x->m.u.update.relid, 16384);
	assert_int_equal(x->m.u.update.oldkind, 0);
	assert_int_equal(x->m.u.update.oldtup.ncols, 0);
	assert_int_equal(t->ncols, 3);
	assert_val_text(x, &t->vals[0], "7");
	assert_val_text(x, &t->vals[1], "shipped");
	assert_val_null(&t->vals[2], PGO_VAL_UNCHANGED);
}

/* Update with key: PG15 sends the key tuple with every column, non-key ones as 'n'. */
static void fx_update_key(struct buf *b)
{
	p8(b, 'U');
	p32(b, 16384);
	p8(b, 'K');
	p16(b, 3);
	pval_text(b, "7");
	p8(b, 'n');
	p8(b, 'n');
	p8(b, 'N');
	p16(b, 3);
	pval_text(b, "8");
	pval_text(b, "new");
	p8(b, 'u');
}

static void ck_update_key(const struct dec *x)
{
	const struct pgo_tuple *o = &x->m.u.update.oldtup, *n = &x->m.u.update.newtup;

	assert_int_equal(x->m.kind, PGO_UPDATE);
	assert_int_equal(x->m.u.update.relid, 16384);
	assert_int_equal(x->m.u.update.oldkind, 'K');
	assert_int_equal(o->ncols, 3);
	assert_int_equal(n->ncols, 3);
	assert_true(o->vals != n->vals);
	assert_val_text(x, &o->vals[0], "7");
	assert_val_null(&o->vals[1], PGO_VAL_NULL);
	assert_val_null(&o->vals[2], PGO_VAL_NULL);
	assert_val_text(x, &n->vals[0], "8");
	assert_val_text(x, &n->vals[1], "new");
	assert_val_null(&n->vals[2], PGO_VAL_UNCHANGED);
}

static void fx_update_old(struct buf *b)
{
	p8(b, 'U');
	p32(b, 16390);
	p8(b, 'O');
	p16(b, 4);
	pval_text(b, "1");
	pval_text(b, "old name");
	p8(b, 'n');
	pval_bin(b, bin42, 4);
	p8(b, 'N');
	p16(b, 4);
	pval_text(b, "1");
	pval_text(b, "new name");
	pval_text(b, "now set");
	pval_bin(b, bin42, 4);
}

static void ck_update_old(const struct dec *x)
{
	const struct pgo_tuple *o = &x->m.u.update.oldtup, *n = &x->m.u.update.newtup;

	assert_int_equal(x->m.kind, PGO_UPDATE);
	assert_int_equal(x->m.u.update.relid, 16390);
	assert_int_equal(x->m.u.update.oldkind, 'O');
	assert_int_equal(o->ncols, 4);
	assert_int_equal(n->ncols, 4);
	assert_true(o->vals != n->vals);
	assert_val_text(x, &o->vals[0], "1");
	assert_val_text(x, &o->vals[1], "old name");
	assert_val_null(&o->vals[2], PGO_VAL_NULL);
	assert_int_equal(o->vals[3].kind, PGO_VAL_BINARY);
	assert_int_equal(o->vals[3].len, 4);
	assert_memory_equal(o->vals[3].data, bin42, 4);
	assert_val_text(x, &n->vals[0], "1");
	assert_val_text(x, &n->vals[1], "new name");
	assert_val_text(x, &n->vals[2], "now set");
	assert_int_equal(n->vals[3].kind, PGO_VAL_BINARY);
	assert_memory_equal(n->vals[3].data, bin42, 4);
}

static void fx_delete_key(struct buf *b)
{
	p8(b, 'D');
	p32(b, 16384);
	p8(b, 'K');
	p16(b, 2);
	pval_text(b, "99");
	p8(b, 'n');
}

static void ck_delete_key(const struct dec *x)
{
	const struct pgo_tuple *o = &x->m.u.del.oldtup;

	assert_int_equal(x->m.kind, PGO_DELETE);
	assert_int_equal(x->m.u.del.relid, 16384);
	assert_int_equal(x->m.u.del.oldkind, 'K');
	assert_int_equal(o->ncols, 2);
	assert_val_text(x, &o->vals[0], "99");
	assert_ptr_equal(o->vals[0].data, x->copy + 13);
	assert_val_null(&o->vals[1], PGO_VAL_NULL);
}

static void fx_delete_old(struct buf *b)
{
	p8(b, 'D');
	p32(b, 16390);
	p8(b, 'O');
	p16(b, 3);
	pval_text(b, "99");
	pval_text(b, "gone");
	p8(b, 'u');
}

static void ck_delete_old(const struct dec *x)
{
	const struct pgo_tuple *o = &x->m.u.del.oldtup;

	assert_int_equal(x->m.kind, PGO_DELETE);
	assert_int_equal(x->m.u.del.relid, 16390);
	assert_int_equal(x->m.u.del.oldkind, 'O');
	assert_int_equal(o->ncols, 3);
	assert_val_text(x, &o->vals[0], "99");
	assert_val_text(x, &o->vals[1], "gone");
	assert_val_null(&o->vals[2], PGO_VAL_UNCHANGED);
}

static void fx_truncate_many(struct buf *b)
{
	p8(b, 'T');
	p32(b, 3);
	p8(b, PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY);
	p32(b, 16384);
	p32(b, 16390);
	p32(b, 0xFFFFFFF0u);
}

static void ck_truncate_many(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_TRUNCATE);
	assert_int_equal(x->m.u.truncate.nrels, 3);
	assert_int_equal(x->m.u.truncate.options, PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY);
	assert_int_equal(x->m.u.truncate.relids[0], 16384);
	assert_int_equal(x->m.u.truncate.relids[1], 16390);
	assert_int_equal(x->m.u.truncate.relids[2], 0xFFFFFFF0u);
}

static void fx_truncate_one(struct buf *b)
{
	p8(b, 'T');
	p32(b, 1);
	p8(b, 0);
	p32(b, 16400);
}

static void ck_truncate_one(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_TRUNCATE);
	assert_int_equal(x->m.u.truncate.nrels, 1);
	assert_int_equal(x->m.u.truncate.options, 0);
	assert_int_equal(x->m.u.truncate.relids[0], 16400);
}

static void fx_truncate_restart(struct buf *b)
{
	p8(b, 'T');
	p32(b, 2);
	p8(b, PGO_TRUNCATE_RESTART_IDENTITY);
	p32(b, 1);
	p32(b, 2);
}

static void ck_truncate_restart(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_TRUNCATE);
	assert_int_equal(x->m.u.truncate.nrels, 2);
	assert_int_equal(x->m.u.truncate.options, PGO_TRUNCATE_RESTART_IDENTITY);
	assert_int_equal(x->m.u.truncate.relids[0], 1);
	assert_int_equal(x->m.u.truncate.relids[1], 2);
}

static const char msg_content[] = {'h', 'i', '\0', 'x', '\n'}; /* content may hold NULs */

static void fx_message_tx(struct buf *b)
{
	p8(b, 'M');
	p8(b, 1);
	p64(b, LSN_B);
	pstr(b, "cleave");
	p32(b, sizeof msg_content);
	pbytes(b, msg_content, sizeof msg_content);
}

static void ck_message_tx(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_MESSAGE);
	assert_int_equal(x->m.u.message.flags, 1);
	assert_int_equal(x->m.u.message.lsn, LSN_B);
	assert_instr(x, x->m.u.message.prefix, "cleave");
	assert_int_equal(x->m.u.message.len, sizeof msg_content);
	assert_at(x, x->m.u.message.content, 21, msg_content, sizeof msg_content);
}

static void fx_message_nontx(struct buf *b)
{
	p8(b, 'M');
	p8(b, 0);
	p64(b, LSN_C);
	pstr(b, "");
	p32(b, 0);
}

static void ck_message_nontx(const struct dec *x)
{
	assert_int_equal(x->m.kind, PGO_MESSAGE);
	assert_int_equal(x->m.u.message.flags, 0);
	assert_int_equal(x->m.u.message.lsn, LSN_C);
	assert_instr(x, x->m.u.message.prefix, "");
	assert_int_equal(x->m.u.message.len, 0);
}

struct fixture {
	const char *name;
	void (*build)(struct buf *b);
	void (*check)(const struct dec *x);
};

static const struct fixture fixtures[] = {
	{"begin", fx_begin, ck_begin},
	{"commit", fx_commit, ck_commit},
	{"origin", fx_origin, ck_origin},
	{"relation default", fx_relation_d, ck_relation_d},
	{"relation nothing", fx_relation_n, ck_relation_n},
	{"relation full", fx_relation_f, ck_relation_f},
	{"relation index", fx_relation_i, ck_relation_i},
	{"relation empty", fx_relation_empty, ck_relation_empty},
	{"type", fx_type, ck_type},
	{"insert", fx_insert, ck_insert},
	{"update", fx_update_plain, ck_update_plain},
	{"update K", fx_update_key, ck_update_key},
	{"update O", fx_update_old, ck_update_old},
	{"delete K", fx_delete_key, ck_delete_key},
	{"delete O", fx_delete_old, ck_delete_old},
	{"truncate many", fx_truncate_many, ck_truncate_many},
	{"truncate one", fx_truncate_one, ck_truncate_one},
	{"truncate restart", fx_truncate_restart, ck_truncate_restart},
	{"message transactional", fx_message_tx, ck_message_tx},
	{"message non-transactional", fx_message_nontx, ck_message_nontx},
};
#define NFIXTURES (sizeof fixtures / sizeof fixtures[0])

static void build(const struct fixture *f, struct buf *b)
{
	buf_init(b, 0);
	f->build(b);
}

/* ---- tests ---- */

static void test_fixtures_decode(void **state)
{
	struct dec x;
	size_t i;

	(void)state;
	dec_init(&x);
	for (i = 0; i < NFIXTURES; i++) {
		struct buf b;

		build(&fixtures[i], &b);
		dec_run(&x, b.data, b.len);
		assert_ok(&x);
		fixtures[i].check(&x);
		buf_free(&b);
	}
	dec_end(&x);
}

/* The same decoder, fixtures in several orders: scratch reuse must not leak state between messages. */
static void test_fixtures_reused_decoder(void **state)
{
	struct dec x;
	size_t round, i;

	(void)state;
	dec_init(&x);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < NFIXTURES; i++) {
			size_t k = round == 1 ? NFIXTURES - 1 - i : (i * 7 + round) % NFIXTURES;
			struct buf b;

			build(&fixtures[k], &b);
			dec_run(&x, b.data, b.len);
			assert_ok(&x);
			fixtures[k].check(&x);
			buf_free(&b);
		}
	}
	dec_end(&x);
}

static void test_every_prefix_fails(void **state)
{
	struct dec x;
	size_t i, n, count = 0;

	(void)state;
	dec_init(&x);
	for (i = 0; i < NFIXTURES; i++) {
		struct buf b;

		build(&fixtures[i], &b);
		for (n = 0; n < b.len; n++) {
			dec_run(&x, b.data, n);
			if (x.rc == 0)
				fail_msg("%s: prefix of %zu of %zu bytes decoded", fixtures[i].name, n, b.len);
			assert_fails(&x);
			if (n > 0 && !strstr(x.err.msg, "truncated") && !strstr(x.err.msg, "claims"))
				fail_msg("%s: prefix %zu: unexpected error \"%s\"", fixtures[i].name, n, x.err.msg);
			count++;
		}
		buf_free(&b);
	}
	assert_true(count > 500);
	dec_end(&x);
}

static void test_trailing_bytes_fail(void **state)
{
	static const uint8_t tails[][3] = {{0, 0, 0}, {'x', 'y', 'z'}, {'B', 0, 0}};
	struct dec x;
	size_t i, t, k;

	(void)state;
	dec_init(&x);
	for (i = 0; i < NFIXTURES; i++) {
		for (t = 0; t < 3; t++) {
			for (k = 1; k <= 3; k++) {
				struct buf b;

				build(&fixtures[i], &b);
				pbytes(&b, tails[t], k);
				dec_run(&x, b.data, b.len);
				if (x.rc == 0)
					fail_msg("%s with %zu trailing bytes decoded", fixtures[i].name, k);
				assert_msg_has(&x, "trailing");
				buf_free(&b);
			}
		}
	}
	dec_end(&x);
}

/* Touches everything a successful decode points at, so ASan checks it lies inside the input. */
static unsigned touch_tuple(const struct dec *x, const struct pgo_tuple *t)
{
	unsigned sum = 0;
	uint16_t i;
	uint32_t j;

	for (i = 0; i < t->ncols; i++) {
		const struct pgo_value *v = &t->vals[i];

		assert_true(v->kind == 'n' || v->kind == 'u' || v->kind == 't' || v->kind == 'b');
		if (v->kind == 't' || v->kind == 'b') {
			assert_true((const uint8_t *)v->data >= x->copy);
			assert_true((const uint8_t *)v->data + v->len <= x->copy + x->len);
			for (j = 0; j < v->len; j++)
				sum += (unsigned char)v->data[j];
		} else {
			assert_null(v->data);
		}
	}
	return sum;
}

static unsigned touch(const struct dec *x)
{
	const struct pgo_msg *m = &x->m;
	unsigned sum = 0;
	uint32_t i;

	switch (m->kind) {
	case PGO_ORIGIN: return (unsigned)strlen(m->u.origin.name);
	case PGO_RELATION:
		sum = (unsigned)(strlen(m->u.relation.nspname) + strlen(m->u.relation.relname));
		for (i = 0; i < m->u.relation.ncols; i++)
			sum += (unsigned)strlen(m->u.relation.cols[i].name) + m->u.relation.cols[i].flags;
		return sum;
	case PGO_TYPE: return (unsigned)(strlen(m->u.type.nspname) + strlen(m->u.type.typname));
	case PGO_INSERT: return touch_tuple(x, &m->u.insert.newtup);
	case PGO_UPDATE: return touch_tuple(x, &m->u.update.oldtup) + touch_tuple(x, &m->u.update.newtup);
	case PGO_DELETE: return touch_tuple(x, &m->u.del.oldtup);
	case PGO_TRUNCATE:
		for (i = 0; i < m->u.truncate.nrels; i++)
			sum += m->u.truncate.relids[i];
		return sum;
	case PGO_MESSAGE:
		sum = (unsigned)strlen(m->u.message.prefix);
		for (i = 0; i < m->u.message.len; i++)
			sum += (unsigned char)m->u.message.content[i];
		return sum;
	case PGO_BEGIN:
	case PGO_COMMIT: return 0;
	default: fail_msg("decoded unknown kind 0x%02x", (unsigned char)m->kind); return 0;
	}
}

static uint64_t rng_state;

static uint32_t rng(void) /* xorshift64*, seeded per test so failures reproduce */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

static void test_random_garbage(void **state)
{
	static const char kinds[] = "BCORYIUDTMKONntub";
	uint8_t data[128];
	struct dec x;
	int iter, ok = 0;
	size_t n, j;

	(void)state;
	rng_state = UINT64_C(0x9E3779B97F4A7C15);
	dec_init(&x);
	for (iter = 0; iter < 20000; iter++) {
		n = rng() % sizeof data;
		for (j = 0; j < n; j++) {
			/* bias toward protocol bytes and small numbers so decoding gets past the first fields */
			uint32_t r = rng();
			if ((r & 3) == 0)
				data[j] = (uint8_t)kinds[(r >> 8) % (sizeof kinds - 1)];
			else
				data[j] = (r & 3) == 1 ? 0 : (uint8_t)(r >> 16);
		}
		if (n && (rng() & 1))
			data[0] = (uint8_t)"BCORYIUDTM"[rng() % 10];
		dec_run(&x, data, n);
		if (x.rc == 0) {
			(void)touch(&x);
			ok++;
		} else {
			assert_fails(&x);
		}
	}
	dec_end(&x);
	(void)ok;
}

/* Mutates real fixtures (flip bytes, cut, extend) so decoding goes deep into each message. */
static void test_mutated_fixtures(void **state)
{
	struct dec x;
	size_t i;
	int iter;

	(void)state;
	rng_state = UINT64_C(0xC1EA7E5EED);
	dec_init(&x);
	for (i = 0; i < NFIXTURES; i++) {
		for (iter = 0; iter < 1500; iter++) {
			struct buf b;
			int k, nmut = 1 + (int)(rng() % 3);

			build(&fixtures[i], &b);
			for (k = 0; k < nmut; k++) {
				size_t at = 1 + rng() % (b.len - 1 ? b.len - 1 : 1);
				uint32_t r = rng();

				if (at >= b.len)
					continue;
				switch (r % 4) {
				case 0: b.data[at] = (uint8_t)(r >> 8); break;
				case 1: b.data[at] ^= (uint8_t)(1u << ((r >> 8) % 8)); break;
				case 2: b.data[at] = (r >> 8) & 1 ? 0xFF : 0; break;
				default: b.len = at; break;
				}
			}
			dec_run(&x, b.data, b.len);
			if (x.rc == 0)
				(void)touch(&x);
			else
				assert_fails(&x);
			buf_free(&b);
		}
	}
	dec_end(&x);
}

static void test_unknown_kinds(void **state)
{
	struct dec x;
	int k;

	(void)state;
	dec_init(&x);
	dec_run(&x, (const uint8_t *)"Z", 1);
	assert_msg(&x, "pgoutput: unknown message type 0x5a");
	dec_run(&x, (const uint8_t *)"\0", 1);
	assert_msg(&x, "pgoutput: unknown message type 0x00");
	dec_run(&x, (const uint8_t *)"\xff\x01\x02", 3);
	assert_msg(&x, "pgoutput: unknown message type 0xff");
	/* streaming and two-phase messages exist only in protocol v2 and later */
	dec_run(&x, (const uint8_t *)"S\0\0\0\1\1", 6);
	assert_msg_has(&x, "0x53 ('S'), which needs protocol version 2");
	dec_run(&x, (const uint8_t *)"E", 1);
	assert_msg_has(&x, "protocol version 2");
	dec_run(&x, NULL, 0);
	assert_msg(&x, "pgoutput: empty message");
	for (k = 0; k < 256; k++) {
		uint8_t one = (uint8_t)k;

		dec_run(&x, &one, 1);
		assert_fails(&x); /* no message is a lone kind byte */
	}
	dec_end(&x);
}

static void test_truncation_messages(void **state)
{
	struct dec x;
	struct buf b;

	(void)state;
	dec_init(&x);
	/* Insert whose value length is cut after 2 of its 4 bytes */
	buf_init(&b, 0);
	p8(&b, 'I');
	p32(&b, 16384);
	p8(&b, 'N');
	p16(&b, 1);
	p8(&b, 't');
	p16(&b, 0);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: truncated Insert message (column 0, value length: needed 4 bytes at offset 9, 2 left)");
	buf_free(&b);

	/* Insert whose text value has 2 of its 5 bytes */
	buf_init(&b, 0);
	p8(&b, 'I');
	p32(&b, 16384);
	p8(&b, 'N');
	p16(&b, 1);
	p8(&b, 't');
	p32(&b, 5);
	pbytes(&b, "ab", 2);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: truncated Insert message (column 0, value bytes: needed 5 bytes at offset 13, 2 left)");
	buf_free(&b);

	/* Begin cut inside the xid */
	buf_init(&b, 0);
	fx_begin(&b);
	dec_run(&x, b.data, b.len - 1);
	assert_msg(&x, "pgoutput: truncated Begin message (xid: needed 4 bytes at offset 17, 3 left)");
	buf_free(&b);

	/* Relation whose name lacks its NUL */
	buf_init(&b, 0);
	p8(&b, 'R');
	p32(&b, 1);
	pstr(&b, "public");
	pbytes(&b, "ord", 3);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: truncated Relation message (relation name: no NUL-terminated string at offset 12, 3 "
	               "left)");
	buf_free(&b);

	/* Relation cut inside column 3 (the last): its typmod, then its name */
	buf_init(&b, 0);
	fx_relation_d(&b);
	assert_int_equal(b.len, 92);
	dec_run(&x, b.data, 90);
	assert_msg(&x, "pgoutput: truncated Relation message (column 3, column typmod: needed 4 bytes at offset 88, 2 left)");
	dec_run(&x, b.data, 76);
	assert_msg(&x, "pgoutput: truncated Relation message (column 3, column name: no NUL-terminated string at offset "
	               "72, 4 left)");
	/* cut earlier, the column count no longer fits what is left */
	dec_run(&x, b.data, 49);
	assert_msg(&x, "pgoutput: Relation message at offset 20 claims 4 columns but only 27 bytes follow");
	buf_free(&b);

	/* logical decoding message whose content is short */
	buf_init(&b, 0);
	fx_message_tx(&b);
	dec_run(&x, b.data, b.len - 1);
	assert_msg(&x, "pgoutput: truncated logical decoding message (content: needed 5 bytes at offset 21, 4 left)");
	buf_free(&b);

	/* trailing byte */
	buf_init(&b, 0);
	fx_commit(&b);
	p8(&b, 0);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: 1 trailing bytes after Commit message at offset 26");
	buf_free(&b);
	dec_end(&x);
}

static void test_bad_fields(void **state)
{
	struct dec x;
	struct buf b;

	(void)state;
	dec_init(&x);

	/* Commit flags must be 0 */
	buf_init(&b, 0);
	fx_commit(&b);
	b.data[1] = 1;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: Commit message has unknown flags 0x01 at offset 1");
	buf_free(&b);

	/* unknown replica identity */
	buf_init(&b, 0);
	fx_relation_ri(&b, 'x', flags_default);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: Relation message has unknown replica identity 0x78 at offset 19");
	buf_free(&b);

	/* unknown column flag */
	{
		static const uint8_t bad[4] = {0, 0, 2, 0};

		buf_init(&b, 0);
		fx_relation_ri(&b, 'd', bad);
		dec_run(&x, b.data, b.len);
		assert_msg_has(&x, "pgoutput: Relation message has unknown flags 0x02 for column 2 at offset");
		buf_free(&b);
	}

	/* Relation column count that cannot fit / that is negative */
	buf_init(&b, 0);
	p8(&b, 'R');
	p32(&b, 1);
	pstr(&b, "s");
	pstr(&b, "t");
	p8(&b, 'd');
	p16(&b, 2);
	p8(&b, 0);
	pstr(&b, "a");
	p32(&b, 23);
	p32(&b, 0xFFFFFFFFu);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: Relation message at offset 10 claims 2 columns but only 11 bytes follow");
	b.data[10] = 0x80;
	b.data[11] = 0x00;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: negative column count -32768 in Relation message at offset 10");
	buf_free(&b);

	/* unknown tuple value kind */
	buf_init(&b, 0);
	p8(&b, 'I');
	p32(&b, 16384);
	p8(&b, 'N');
	p16(&b, 2);
	p8(&b, 'n');
	p8(&b, 'x');
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: unknown tuple value kind 0x78 for column 1 of new tuple in Insert message at offset 9");
	buf_free(&b);

	/* negative value length */
	buf_init(&b, 0);
	p8(&b, 'I');
	p32(&b, 16384);
	p8(&b, 'N');
	p16(&b, 1);
	p8(&b, 'b');
	p32(&b, 0xFFFFFFFFu);
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: negative value length -1 for column 0 of new tuple in Insert message at offset 9");
	buf_free(&b);

	/* value length larger than the message */
	buf_init(&b, 0);
	p8(&b, 'I');
	p32(&b, 16384);
	p8(&b, 'N');
	p16(&b, 1);
	p8(&b, 't');
	p32(&b, 0x7FFFFFFFu);
	pbytes(&b, "abc", 3);
	dec_run(&x, b.data, b.len);
	assert_msg_has(&x, "truncated Insert message (column 0, value bytes: needed 2147483647 bytes at offset 13, 3 left)");
	buf_free(&b);

	/* tuple column count that does not fit; negative tuple column count */
	buf_init(&b, 0);
	p8(&b, 'D');
	p32(&b, 16384);
	p8(&b, 'K');
	p16(&b, 3);
	p8(&b, 'n');
	p8(&b, 'n');
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: key tuple of Delete message at offset 6 claims 3 columns but only 2 bytes follow");
	b.data[6] = 0xFF;
	b.data[7] = 0xFF;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: negative column count -1 in key tuple of Delete message at offset 6");
	buf_free(&b);

	/* wrong tuple tags */
	buf_init(&b, 0);
	fx_insert(&b);
	b.data[5] = 'K';
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: unexpected tuple tag 0x4b in Insert message at offset 5 (expected 'N')");
	buf_free(&b);

	buf_init(&b, 0);
	fx_delete_key(&b);
	b.data[5] = 'N';
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: unexpected tuple tag 0x4e in Delete message at offset 5 (expected 'K' or 'O')");
	buf_free(&b);

	buf_init(&b, 0);
	fx_update_plain(&b);
	b.data[5] = 'X';
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: unexpected tuple tag 0x58 in Update message at offset 5 (expected 'K', 'O' or 'N')");
	buf_free(&b);

	/* 'K' followed by 'O' instead of 'N': never both */
	buf_init(&b, 0);
	p8(&b, 'U');
	p32(&b, 1);
	p8(&b, 'K');
	p16(&b, 1);
	p8(&b, 'n');
	p8(&b, 'O');
	p16(&b, 1);
	p8(&b, 'n');
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: unexpected tuple tag 0x4f in Update message at offset 9 (expected 'N')");
	buf_free(&b);

	/* Truncate: unknown options, negative count, count that cannot fit */
	buf_init(&b, 0);
	fx_truncate_one(&b);
	b.data[5] = 4;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: Truncate message has unknown options 0x04 at offset 5");
	b.data[5] = 0;
	b.data[1] = 0x80;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: negative relation count -2147483647 in Truncate message at offset 1");
	b.data[1] = 0;
	b.data[4] = 2;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: Truncate message at offset 1 claims 2 relations but only 4 bytes follow");
	buf_free(&b);

	/* logical decoding message: unknown flags, negative length */
	buf_init(&b, 0);
	fx_message_tx(&b);
	b.data[1] = 3;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: logical decoding Message has unknown flags 0x03 at offset 1");
	b.data[1] = 1;
	b.data[17] = 0xFF;
	dec_run(&x, b.data, b.len);
	assert_msg(&x, "pgoutput: negative content length -16777211 in logical decoding Message at offset 17");
	buf_free(&b);

	dec_end(&x);
}

/* Scratch arrays: grow for a big message, are reused (same pointers) afterwards, old != new. */
static void test_scratch_growth_and_reuse(void **state)
{
	struct dec x;
	struct buf b;
	const struct pgo_value *vals_before;
	const struct pgo_column *cols_before;
	char name[16];
	int i;

	(void)state;
	dec_init(&x);

	/* a Relation with 1600 columns (PostgreSQL's maximum) */
	buf_init(&b, 0);
	p8(&b, 'R');
	p32(&b, 7);
	pstr(&b, "public");
	pstr(&b, "wide");
	p8(&b, 'f');
	p16(&b, 1600);
	for (i = 0; i < 1600; i++) {
		snprintf(name, sizeof name, "c%d", i);
		p8(&b, 1);
		pstr(&b, name);
		p32(&b, 25);
		p32(&b, 0xFFFFFFFFu);
	}
	dec_run(&x, b.data, b.len);
	assert_ok(&x);
	assert_int_equal(x.m.u.relation.ncols, 1600);
	assert_string_equal(x.m.u.relation.cols[1599].name, "c1599");
	assert_int_equal(x.m.u.relation.cols[1599].flags, PGO_COL_KEY);
	assert_true(x.m.u.relation.cols[1599].typmod == -1);
	cols_before = x.m.u.relation.cols;
	buf_free(&b);

	/* an Update with 1600-column old and new tuples */
	buf_init(&b, 0);
	p8(&b, 'U');
	p32(&b, 7);
	p8(&b, 'O');
	p16(&b, 1600);
	for (i = 0; i < 1600; i++)
		pval_text(&b, "o");
	p8(&b, 'N');
	p16(&b, 1600);
	for (i = 0; i < 1600; i++)
		pval_text(&b, "n");
	dec_run(&x, b.data, b.len);
	assert_ok(&x);
	assert_int_equal(x.m.u.update.oldtup.ncols, 1600);
	assert_int_equal(x.m.u.update.newtup.ncols, 1600);
	for (i = 0; i < 1600; i++) {
		assert_val_text(&x, &x.m.u.update.oldtup.vals[i], "o");
		assert_val_text(&x, &x.m.u.update.newtup.vals[i], "n");
	}
	vals_before = x.m.u.update.newtup.vals;
	buf_free(&b);

	/* smaller messages reuse the same arrays */
	buf_init(&b, 0);
	fx_update_key(&b);
	dec_run(&x, b.data, b.len);
	assert_ok(&x);
	ck_update_key(&x);
	assert_ptr_equal(x.m.u.update.newtup.vals, vals_before);
	buf_free(&b);

	buf_init(&b, 0);
	fx_relation_i(&b);
	dec_run(&x, b.data, b.len);
	assert_ok(&x);
	ck_relation_i(&x);
	assert_ptr_equal(x.m.u.relation.cols, cols_before);
	buf_free(&b);

	dec_end(&x);
	pgo_decoder_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_decode),
		cmocka_unit_test(test_fixtures_reused_decoder),
		cmocka_unit_test(test_every_prefix_fails),
		cmocka_unit_test(test_trailing_bytes_fail),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_mutated_fixtures),
		cmocka_unit_test(test_unknown_kinds),
		cmocka_unit_test(test_truncation_messages),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_scratch_growth_and_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
