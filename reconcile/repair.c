/* repair.c: writes the source's rows for differing keys into the target exactly as the sink would: the
 * source row's text (as pgoutput sends it) is encoded as capture encodes it (schema/envelope.h), decoded
 * as the sink decodes it (schema/avro_decode.h), and applied through the sink's own target
 * (sinks/target.h: upsert, or delete by key when the source has no such row). Transactions of at most
 * `batch` keys; cleave_positions is never written, so the sink's stored positions stay what they were.
 *
 * XXX: a row the sink changes between repair's read of the source and its write is overwritten with the
 * older state; the next reconcile finds it (and the sink rewrites it on the row's next change). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "reconcile/rctable.h"
#include "reconcile/rdb.h"
#include "schema/avro_decode.h"
#include "schema/avro_write.h"
#include "schema/envelope.h"
#include "sinks/target.h"

/* A canonical key text (reconcile/canon.h) back into PostgreSQL's text of the value, for a delete of a
 * key the source no longer has. Writes into out (owned by the caller). */
static void rc_canon_to_pgtext(enum sinkvalue_engine target, const struct coltype *t, const char *v, struct buf *out)
{
	int rc = 0;

	buf_reset(out);
	if (t->kind == CT_BOOLEAN)
		rc = buf_puts(out, v[0] == 't' || v[0] == '1' ? "t" : "f");
	else if (target == SINKVALUE_MYSQL && t->kind == CT_BYTES)
		rc = buf_printf(out, "\\x%s", v);
	else if (target == SINKVALUE_MYSQL && t->kind == CT_TIMESTAMPTZ)
		rc = buf_printf(out, "%s+00", v);
	else if (target == SINKVALUE_MYSQL && (t->kind == CT_FLOAT || t->kind == CT_DOUBLE) && strcmp(v, "0") != 0)
		rc = v[0] == '-' ? buf_printf(out, "-0.%s", v + 1) : buf_printf(out, "0.%s", v);
	else
		rc = buf_puts(out, v);
	(void)rc;
}

/* One envelope decoded: `after` holds the row as the sink sees it. */
static json_t *rc_decode_row(const struct rc_table *t, struct avro_decoder *dec, const struct pgo_tuple *tup,
                             struct buf *enc, struct cerr *err)
{
	struct envelope_source src = {.name = "", .db = "", .snapshot = "false"};
	json_t *env;

	buf_reset(enc);
	if (envelope_encode(t->ts, 'r', NULL, tup, &src, 0, enc, err) < 0)
		return NULL;
	env = avro_decoder_decode(dec, enc->data + AVRO_SOE_HEADER_LEN, enc->len - AVRO_SOE_HEADER_LEN, err);
	return env;
}

static void rc_print_key(FILE *out, const struct rc_table *t, const struct rc_key *k)
{
	fputc('(', out);
	for (int i = 0; i < t->nkeys; i++)
		fprintf(out, "%s%s", i ? ", " : "", k->v[i]);
	fputc(')', out);
}

int rc_repair(struct rc_table *t, struct rdb *src, struct target *tgt, int batch, bool dry_run, FILE *out,
              struct cerr *err)
{
	struct avro_decoder *dec = avro_decoder_new(t->ts->value_json, err);
	int ncols = t->m->table.ncols, nts = t->ts->ncols;
	struct target_change *changes = calloc((size_t)batch + 1, sizeof *changes);
	struct target_cell *cells = calloc(((size_t)batch + 1) * (size_t)ncols, sizeof *cells);
	json_t **envs = calloc((size_t)batch + 1, sizeof *envs);
	struct pgo_value *vals = calloc((size_t)nts + 1, sizeof *vals);
	struct buf sql, enc, *kt = calloc((size_t)t->nkeys + 1, sizeof *kt);
	int ret = -1;

	buf_init(&sql, 0);
	buf_init(&enc, 0);
	if (!dec)
		goto done;
	if (!changes || !cells || !envs || !vals || !kt) {
		cerr_set(err, false, "out of memory");
		goto done;
	}
	for (int k = 0; k < t->nkeys; k++)
		buf_init(&kt[k], 0);
	for (size_t from = 0; from < t->diffs.n; from += (size_t)batch) {
		size_t n = t->diffs.n - from < (size_t)batch ? t->diffs.n - from : (size_t)batch;
		char ***keys = calloc(n + 1, sizeof *keys);
		struct rdb_rows rows = {0};
		size_t nch = 0;
		int e;

		if (!keys) {
			cerr_set(err, false, "out of memory");
			goto done;
		}
		for (size_t i = 0; i < n; i++)
			keys[i] = t->diffs.v[from + i].v;
		buf_reset(&sql);
		if (buf_puts(&sql, "SELECT ") < 0)
			e = -1;
		else
			e = 0;
		for (int k = 0; k < t->nkeys && e == 0; k++)
			e = buf_printf(&sql, "%s, ", t->src.kc[k]);
		if (e == 0)
			e = buf_printf(&sql, "%s FROM %s WHERE ", t->src_select, t->src.table);
		if (e == 0)
			e = rs_keys_where(&t->src, (char *const *const *)keys, n, &sql);
		if (e == 0)
			e = buf_putc(&sql, 0);
		free(keys);
		if (e < 0) {
			cerr_set(err, false, "out of memory");
			goto done;
		}
		if (rdb_query(src, (char *)sql.data, &rows, err) < 0)
			goto done;
		for (size_t i = 0; i < n; i++) {
			const struct rc_key *key = &t->diffs.v[from + i];
			size_t row = SIZE_MAX;
			struct pgo_tuple tup = {(uint16_t)nts, vals};
			char op;

			for (size_t r = 0; r < rows.nrows && row == SIZE_MAX; r++)
				if (rs_key_cmp(&t->src, (char *const *)&rows.cells[r * rows.ncols], key->v) == 0)
					row = r;
			if (row != SIZE_MAX) {
				op = 'u';
				for (int c = 0; c < nts; c++) {
					const char *v = rdb_cell(&rows, row, (size_t)t->nkeys + (size_t)c);

					vals[c] = v ? (struct pgo_value){PGO_VAL_TEXT,
					                                 (uint32_t)rows.lens[row * rows.ncols + (size_t)t->nkeys + (size_t)c], v}
					            : (struct pgo_value){PGO_VAL_NULL, 0, NULL};
				}
			} else {
				/* the source has no such row: delete it by key; only key columns matter */
				int k = 0;

				op = 'd';
				for (int c = 0; c < nts; c++)
					vals[c] = (struct pgo_value){PGO_VAL_NULL, 0, NULL};
				for (int mc = 0; mc < ncols; mc++) {
					if (!t->m->cols[mc].key)
						continue;
					for (int c = 0; c < nts; c++)
						if (strcmp(t->ts->cols[c].avro_name, t->m->fields[mc]) == 0) {
							rc_canon_to_pgtext(t->tgt.target, &t->m->cols[mc].type, key->v[k], &kt[k]);
							vals[c] = (struct pgo_value){PGO_VAL_TEXT, (uint32_t)kt[k].len,
							                             kt[k].data ? (const char *)kt[k].data : ""};
						}
					k++;
				}
			}
			if (dry_run || !tgt) {
				if (out) {
					fprintf(out, "repair %s: %s ", t->target, op == 'u' ? "upsert" : "delete");
					rc_print_key(out, t, key);
					fputc('\n', out);
				}
				if (op == 'u')
					t->repaired_upserts++;
				else
					t->repaired_deletes++;
				continue;
			}
			if (!(envs[nch] = rc_decode_row(t, dec, &tup, &enc, err)) ||
			    mapping_cells(t->m, json_object_get(envs[nch], "after"), &cells[nch * (size_t)ncols], err) < 0) {
				rdb_rows_free(&rows);
				nch += envs[nch] != NULL;
				goto fail_batch;
			}
			changes[nch] = (struct target_change){op, &cells[nch * (size_t)ncols]};
			nch++;
			if (op == 'u')
				t->repaired_upserts++;
			else
				t->repaired_deletes++;
		}
		rdb_rows_free(&rows);
		if (nch > 0) {
			if (target_begin(tgt, err) < 0)
				goto fail_batch;
			/* one change at a time: target_apply may merge consecutive upserts, never across a delete */
			if (target_apply(tgt, &t->m->table, changes, nch, err) < 0) {
				target_rollback(tgt);
				goto fail_batch;
			}
			if (target_commit(tgt, err) < 0)
				goto fail_batch;
		}
		for (size_t i = 0; i < nch; i++) {
			json_decref(envs[i]);
			envs[i] = NULL;
		}
		continue;
	fail_batch:
		for (size_t i = 0; i < nch; i++) {
			json_decref(envs[i]);
			envs[i] = NULL;
		}
		cerr_wrap(err, "repairing %s", t->target);
		goto done;
	}
	ret = 0;
done:
	if (kt)
		for (int k = 0; k < t->nkeys; k++)
			buf_free(&kt[k]);
	free(kt);
	free(vals);
	free(envs);
	free(cells);
	free(changes);
	buf_free(&sql);
	buf_free(&enc);
	avro_decoder_free(dec);
	return ret;
}
