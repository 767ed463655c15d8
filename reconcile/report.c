/* report.c: the report of `cleave reconcile`, as text for people and as one JSON object for programs
 * (docs/reconcile.md shows both). Keys are listed as their canonical texts (reconcile/canon.h), in key
 * order, at most `limit` per kind. */
#include <jansson.h>
#include <stdio.h>

#include "reconcile/rctable.h"

static const char *const rc_kind_names[] = {"missing", "extra", "different"};

static void rc_text_key(FILE *out, const struct rc_table *t, const struct rc_key *k)
{
	fputc('(', out);
	for (int i = 0; i < t->nkeys; i++)
		fprintf(out, "%s%s", i ? ", " : "", k->v[i]);
	fputc(')', out);
}

static void rc_text_keys(FILE *out, const struct rc_table *t, const struct rc_keys *ks, int kind, const char *label,
                         int limit)
{
	size_t total = kind < 0 ? ks->n : rc_keys_count(ks, (enum rc_kind)kind);
	int shown = 0;

	if (total == 0)
		return;
	fprintf(out, "  %s:", label);
	for (size_t i = 0; i < ks->n && shown < limit; i++) {
		if (kind >= 0 && ks->v[i].kind != (enum rc_kind)kind)
			continue;
		fputc(' ', out);
		rc_text_key(out, t, &ks->v[i]);
		if (kind < 0)
			fprintf(out, " %s", rc_kind_names[ks->v[i].kind]);
		shown++;
	}
	if (total > (size_t)shown)
		fprintf(out, " ... (%zu more)", total - (size_t)shown);
	fputc('\n', out);
}

void rc_report_text(FILE *out, const char *sink, struct rc_table *const *tables, size_t n, int limit, bool repair,
                    bool dry_run)
{
	size_t drift = 0, inflight = 0;

	for (size_t i = 0; i < n; i++) {
		const struct rc_table *t = tables[i];

		fprintf(out, "%s -> %s: source %lld rows, target %lld rows%s; missing %zu, extra %zu, different %zu",
		        t->source, t->target, t->src_rows, t->tgt_rows, t->target_exists ? "" : " (no such table)",
		        rc_keys_count(&t->diffs, RC_MISSING), rc_keys_count(&t->diffs, RC_EXTRA),
		        rc_keys_count(&t->diffs, RC_DIFFERENT));
		if (t->inflight.n)
			fprintf(out, ", in flight %zu", t->inflight.n);
		fputc('\n', out);
		rc_text_keys(out, t, &t->diffs, RC_MISSING, "missing", limit);
		rc_text_keys(out, t, &t->diffs, RC_EXTRA, "extra", limit);
		rc_text_keys(out, t, &t->diffs, RC_DIFFERENT, "different", limit);
		rc_text_keys(out, t, &t->inflight, -1, "in flight", limit);
		if (t->inflight_why[0] && (t->inflight.n || t->diffs.n))
			fprintf(out, "  note: %s\n", t->inflight_why);
		if (repair && t->diffs.n)
			fprintf(out, "  repair%s: %zu upserts, %zu deletes\n", dry_run ? " (dry run)" : "",
			        t->repaired_upserts, t->repaired_deletes);
		drift += t->diffs.n;
		inflight += t->inflight.n;
	}
	if (drift == 0 && inflight == 0)
		fprintf(out, "sink %s: no drift\n", sink);
	else if (drift == 0)
		fprintf(out, "sink %s: no drift found, but %zu differences were still in flight at the timeout\n", sink,
		        inflight);
	else
		fprintf(out, "sink %s: drift in %zu rows%s\n", sink, drift,
		        repair && !dry_run ? " (repaired)" : "");
}

static json_t *rc_json_key(const struct rc_table *t, const struct rc_key *k)
{
	json_t *a = json_array();

	for (int i = 0; i < t->nkeys; i++)
		json_array_append_new(a, json_string(k->v[i]));
	return a;
}

static json_t *rc_json_kind(const struct rc_table *t, const struct rc_keys *ks, int kind, int limit)
{
	json_t *o = json_object(), *keys = json_array();
	size_t total = kind < 0 ? ks->n : rc_keys_count(ks, (enum rc_kind)kind);
	int shown = 0;

	for (size_t i = 0; i < ks->n && shown < limit; i++) {
		if (kind >= 0 && ks->v[i].kind != (enum rc_kind)kind)
			continue;
		if (kind < 0) {
			json_t *e = json_object();

			json_object_set_new(e, "key", rc_json_key(t, &ks->v[i]));
			json_object_set_new(e, "kind", json_string(rc_kind_names[ks->v[i].kind]));
			json_array_append_new(keys, e);
		} else {
			json_array_append_new(keys, rc_json_key(t, &ks->v[i]));
		}
		shown++;
	}
	json_object_set_new(o, "count", json_integer((json_int_t)total));
	json_object_set_new(o, "keys", keys);
	return o;
}

void rc_report_json(FILE *out, const char *sink, struct rc_table *const *tables, size_t n, int limit, bool repair,
                    bool dry_run)
{
	json_t *root = json_object(), *arr = json_array();
	size_t drift = 0, inflight = 0;
	char *s;

	for (size_t i = 0; i < n; i++) {
		const struct rc_table *t = tables[i];
		json_t *o = json_object(), *kc = json_array();

		for (int k = 0; k < t->nkeys; k++)
			json_array_append_new(kc, json_string(t->key_names[k]));
		json_object_set_new(o, "source", json_string(t->source));
		json_object_set_new(o, "target", json_string(t->target));
		json_object_set_new(o, "target_exists", json_boolean(t->target_exists));
		json_object_set_new(o, "key_columns", kc);
		json_object_set_new(o, "source_rows", json_integer(t->src_rows));
		json_object_set_new(o, "target_rows", json_integer(t->tgt_rows));
		json_object_set_new(o, "rows_fetched", json_integer(t->fetched));
		json_object_set_new(o, "missing", rc_json_kind(t, &t->diffs, RC_MISSING, limit));
		json_object_set_new(o, "extra", rc_json_kind(t, &t->diffs, RC_EXTRA, limit));
		json_object_set_new(o, "different", rc_json_kind(t, &t->diffs, RC_DIFFERENT, limit));
		json_object_set_new(o, "in_flight", rc_json_kind(t, &t->inflight, -1, limit));
		if (t->inflight_why[0] && (t->inflight.n || t->diffs.n))
			json_object_set_new(o, "note", json_string(t->inflight_why));
		if (repair) {
			json_t *r = json_object();

			json_object_set_new(r, "dry_run", json_boolean(dry_run));
			json_object_set_new(r, "upserts", json_integer((json_int_t)t->repaired_upserts));
			json_object_set_new(r, "deletes", json_integer((json_int_t)t->repaired_deletes));
			json_object_set_new(o, "repair", r);
		}
		json_array_append_new(arr, o);
		drift += t->diffs.n;
		inflight += t->inflight.n;
	}
	json_object_set_new(root, "sink", json_string(sink));
	json_object_set_new(root, "tables", arr);
	json_object_set_new(root, "drift", json_integer((json_int_t)drift));
	json_object_set_new(root, "in_flight", json_integer((json_int_t)inflight));
	s = json_dumps(root, JSON_COMPACT);
	if (s) {
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(root);
}
