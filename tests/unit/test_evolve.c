/* test_evolve.c: which column of one writer schema is which of another (sinks/evolve.h), over schemas that
 * schema/table_schema.c really produces: additions, drops, renames in the middle and at the end, chains of
 * changes, what a mapping's `columns:` projection is told, and how mapping_new_in maps the columns of
 * older and newer schemas (target names, `was` names, projections across schemas). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema/table_schema.h"
#include "sinks/evolve.h"
#include "sinks/mapping.h"

#define MAXV 4

/* Schemas of public.t for versions given as "name:oid,name:oid,..." (the first column is the key). */
struct versions {
	struct table_schema *ts[MAXV];
	const char *json[MAXV];
	size_t n;
};

static void versions_add(struct versions *v, const char *spec)
{
	struct pgo_column cols[16];
	char names[16][32];
	struct pgo_relation rel = {16384, "public", "t", 'd', 0, cols};
	struct cerr err = {0};
	const char *p = spec;

	while (*p) {
		int len = 0;
		unsigned oid = 0;

		assert_int_equal(sscanf(p, "%31[^:]:%u%n", names[rel.ncols], &oid, &len), 2);
		cols[rel.ncols] = (struct pgo_column){rel.ncols == 0 ? PGO_COL_KEY : 0, names[rel.ncols], oid, -1};
		rel.ncols++;
		p += len;
		if (*p == ',')
			p++;
	}
	v->ts[v->n] = table_schema_new("mono", &rel, &err);
	assert_non_null(v->ts[v->n]);
	v->json[v->n] = v->ts[v->n]->value_json;
	v->n++;
}

static struct evolve_lineage *lineage(struct versions *v)
{
	struct cerr err = {0};
	struct evolve_lineage *l = evolve_lineage_new(v->json, v->n, &err);

	assert_non_null(l);
	return l;
}

static void versions_free(struct versions *v)
{
	for (size_t i = 0; i < v->n; i++)
		table_schema_free(v->ts[i]);
}

/* Asserts the other names of col in schema at: exactly `expected` (comma-separated, "" for none). */
static void assert_names(const struct evolve_lineage *l, size_t at, const char *col, const char *expected)
{
	const char *out[8];
	char got[256] = "";
	size_t n = evolve_lineage_names(l, at, col, out, 8);

	for (size_t i = 0; i < n && i < 8; i++) {
		strcat(got, i ? "," : "");
		strcat(got, out[i]);
	}
	assert_string_equal(got, expected);
}

static void test_add_and_drop(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;

	(void)state;
	versions_add(&v, "id:23,a:23,b:23,c:25");
	versions_add(&v, "id:23,a:23,c:25");          /* DROP b (middle) */
	versions_add(&v, "id:23,a:23,c:25,d:25");     /* ADD d */
	l = lineage(&v);
	assert_null(evolve_lineage_find(l, 0, "b", 1));
	assert_string_equal(evolve_lineage_find(l, 0, "c", 1), "c");
	assert_null(evolve_lineage_find(l, 2, "d", 1));
	assert_string_equal(evolve_lineage_find(l, 2, "a", 0), "a");
	assert_names(l, 2, "d", "");
	assert_names(l, 1, "c", "");
	assert_names(l, 0, "b", "");
	assert_names(l, 2, "nosuch", "");
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_rename_middle_and_end(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;

	(void)state;
	versions_add(&v, "id:23,a:23,b:25,c:20");
	versions_add(&v, "id:23,x:23,b:25,c:20"); /* RENAME a TO x: between two kept columns */
	versions_add(&v, "id:23,x:23,b:25,y:20"); /* RENAME c TO y: the last column, same type */
	l = lineage(&v);
	assert_string_equal(evolve_lineage_find(l, 0, "a", 1), "x");
	assert_string_equal(evolve_lineage_find(l, 0, "a", 2), "x");
	assert_string_equal(evolve_lineage_find(l, 2, "y", 0), "c");
	assert_names(l, 1, "x", "a");
	assert_names(l, 0, "a", "x");
	assert_names(l, 2, "y", "c");
	assert_names(l, 2, "b", "");
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_drop_then_add_of_another_type_is_no_rename(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;

	(void)state;
	versions_add(&v, "id:23,a:23,b:23");
	versions_add(&v, "id:23,a:23,c:25"); /* DROP b, ADD c text: no schema between them */
	l = lineage(&v);
	assert_null(evolve_lineage_find(l, 0, "b", 1));
	assert_names(l, 1, "c", "");
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_drop_in_middle_is_no_rename(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;

	(void)state;
	/* DROP b: c moves up a place but keeps its name, so nothing pairs with b */
	versions_add(&v, "id:23,a:23,b:23,c:23");
	versions_add(&v, "id:23,a:23,c:23");
	l = lineage(&v);
	assert_null(evolve_lineage_find(l, 0, "b", 1));
	assert_names(l, 1, "c", "");
	assert_names(l, 1, "a", "");
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_chain_of_renames(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;

	(void)state;
	versions_add(&v, "id:23,a:25");
	versions_add(&v, "id:23,b:25");      /* RENAME a TO b */
	versions_add(&v, "id:23,b:25,c:23"); /* ADD c */
	versions_add(&v, "id:23,z:25,c:23"); /* RENAME b TO z */
	l = lineage(&v);
	assert_names(l, 3, "z", "a,b");
	assert_names(l, 0, "a", "b,z");
	assert_names(l, 2, "c", "");
	assert_string_equal(evolve_lineage_find(l, 0, "a", 3), "z");
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_projection_messages(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;
	char *columns[] = {"id", "a", "b"};
	struct cfg_kv rename[] = {{"a", "alpha"}};
	struct cfg_mapping cfg = {.source = {"public", "t"}, .columns = columns, .ncolumns = 3, .rename = rename,
	                          .nrename = 1, .line = 12};
	struct cerr err = {0};

	(void)state;
	versions_add(&v, "id:23,a:23,b:25,c:20");
	versions_add(&v, "id:23,x:23,b:25,c:20"); /* RENAME a TO x */
	versions_add(&v, "id:23,x:23,c:20");      /* DROP b */
	l = lineage(&v);
	assert_int_equal(evolve_check_projection(l, 0, v.ts[0]->value_id, &cfg, &err), 0);
	assert_int_equal(evolve_check_projection(l, 1, 0x1234, &cfg, &err), -1);
	assert_false(err.retriable);
	assert_string_equal(err.msg,
	                    "mapping of public.t (config line 12): column a in `columns:` was renamed to x in the source"
	                    " (schema 0000000000001234), which the mapping cannot follow by itself: write x in"
	                    " `columns:` and add `x: alpha` under `rename:` to keep filling target column alpha, then"
	                    " restart the sink");
	columns[1] = "x";
	assert_int_equal(evolve_check_projection(l, 2, 0x99, &cfg, &err), -1);
	assert_string_equal(err.msg,
	                    "mapping of public.t (config line 12): column b in `columns:` was dropped from the source"
	                    " (schema 0000000000000099), which the mapping cannot follow by itself: remove it from"
	                    " `columns:` (target column b keeps its values; new rows get NULL there), then restart the"
	                    " sink");
	/* a column no schema ever had is mapping_new's to report */
	columns[2] = "nosuch";
	assert_int_equal(evolve_check_projection(l, 2, 0x99, &cfg, &err), 0);
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_mapping_was_names(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;
	struct cfg_kv rename[] = {{"a", "alpha"}};
	struct cfg_mapping cfg = {.source = {"public", "t"}, .rename = rename, .nrename = 1, .line = 3};
	struct cfg_kv rename2[] = {{"a", "alpha"}, {"x", "alpha"}};
	struct cfg_mapping cfg2 = {.source = {"public", "t"}, .rename = rename2, .nrename = 2, .line = 3};
	struct cerr err = {0};
	struct mapping *m;

	(void)state;
	versions_add(&v, "id:23,a:23,b:25");
	versions_add(&v, "id:23,x:23,b:25"); /* RENAME a TO x */
	l = lineage(&v);
	m = mapping_new_in(&cfg, v.ts[1]->value_id, v.json[1], l, 1, &err);
	assert_non_null(m);
	assert_string_equal(m->cols[1].name, "x");
	assert_string_equal(m->cols[1].source, "x");
	assert_non_null(m->cols[1].was);
	assert_string_equal(m->cols[1].was[0], "alpha"); /* a, through rename: */
	assert_null(m->cols[1].was[1]);
	assert_null(m->cols[0].was);
	assert_null(m->cols[2].was);
	mapping_free(m);
	/* with `x: alpha` the rename is followed: no other target name */
	m = mapping_new_in(&cfg2, v.ts[1]->value_id, v.json[1], l, 1, &err);
	assert_non_null(m);
	assert_string_equal(m->cols[1].name, "alpha");
	assert_null(m->cols[1].was);
	mapping_free(m);
	/* the older schema's a goes where its newest name x goes */
	m = mapping_new_in(&cfg, v.ts[0]->value_id, v.json[0], l, 0, &err);
	assert_non_null(m);
	assert_string_equal(m->cols[1].name, "x");
	assert_string_equal(m->cols[1].source, "x");
	assert_non_null(m->cols[1].was);
	assert_string_equal(m->cols[1].was[0], "alpha"); /* a, through rename: */
	assert_null(m->cols[1].was[1]);
	mapping_free(m);
	m = mapping_new_in(&cfg2, v.ts[0]->value_id, v.json[0], l, 0, &err);
	assert_non_null(m);
	assert_string_equal(m->cols[1].name, "alpha");
	assert_null(m->cols[1].was);
	mapping_free(m);
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_mapping_projection_across_schemas(void **state)
{
	struct versions v = {0};
	struct evolve_lineage *l;
	char *renamed[] = {"id", "x"};
	struct cfg_mapping cfg = {.source = {"public", "t"}, .columns = renamed, .ncolumns = 2, .line = 4};
	char *added[] = {"id", "x", "c"};
	struct cfg_mapping cfg2 = {.source = {"public", "t"}, .columns = added, .ncolumns = 3, .line = 4};
	char *nosuch[] = {"id", "nosuch"};
	struct cfg_mapping cfg3 = {.source = {"public", "t"}, .columns = nosuch, .ncolumns = 2, .line = 4};
	struct cerr err = {0};
	struct mapping *m;

	(void)state;
	versions_add(&v, "id:23,a:23,b:25");
	versions_add(&v, "id:23,x:23,b:25");      /* RENAME a TO x */
	versions_add(&v, "id:23,x:23,b:25,c:20"); /* ADD c */
	l = lineage(&v);
	/* `columns: [id, x]` written after the rename still maps the older schema's a */
	m = mapping_new_in(&cfg, v.ts[0]->value_id, v.json[0], l, 0, &err);
	assert_non_null(m);
	assert_int_equal(m->table.ncols, 2);
	assert_string_equal(m->cols[1].name, "x");
	assert_string_equal(m->fields[1], "a");
	mapping_free(m);
	/* c, added later, is left out of the older schemas */
	m = mapping_new_in(&cfg2, v.ts[1]->value_id, v.json[1], l, 1, &err);
	assert_non_null(m);
	assert_int_equal(m->table.ncols, 2);
	mapping_free(m);
	m = mapping_new_in(&cfg2, v.ts[2]->value_id, v.json[2], l, 2, &err);
	assert_non_null(m);
	assert_int_equal(m->table.ncols, 3);
	mapping_free(m);
	/* without the history, or for a column no schema has, it is an error */
	assert_null(mapping_new(&cfg2, v.ts[1]->value_id, v.json[1], &err));
	assert_non_null(strstr(err.msg, "column c is not a column of the source table"));
	assert_null(mapping_new_in(&cfg3, v.ts[2]->value_id, v.json[2], l, 2, &err));
	assert_non_null(strstr(err.msg, "column nosuch is not a column of the source table"));
	evolve_lineage_free(l);
	versions_free(&v);
}

static void test_bad_schema(void **state)
{
	const char *bad[] = {"{\"type\": \"record\", \"name\": \"Envelope\", \"fields\": []}"};
	struct cerr err = {0};

	(void)state;
	assert_null(evolve_lineage_new(bad, 1, &err));
	assert_true(err.set);
	assert_false(err.retriable);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_drop),
		cmocka_unit_test(test_rename_middle_and_end),
		cmocka_unit_test(test_drop_then_add_of_another_type_is_no_rename),
		cmocka_unit_test(test_drop_in_middle_is_no_rename),
		cmocka_unit_test(test_chain_of_renames),
		cmocka_unit_test(test_projection_messages),
		cmocka_unit_test(test_mapping_was_names),
		cmocka_unit_test(test_mapping_projection_across_schemas),
		cmocka_unit_test(test_bad_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
