/* test_mapping.c: a sink mapping (projection, renames, keys) resolved against writer schemas that
 * schema/table_schema.c really produces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema/table_schema.h"
#include "sinks/mapping.h"

static struct pgo_column orders_cols[] = {
	{PGO_COL_KEY, "id", 20, -1},
	{0, "customer_id", 20, -1},
	{0, "total_cents", 20, -1},
	{0, "note", 25, -1},
	{0, "price", 1700, ((12 << 16) | 2) + 4},
};

static struct table_schema *orders_schema(void)
{
	struct pgo_relation rel = {16384, "public", "orders", 'd', 5, orders_cols};
	struct cerr err = {0};
	struct table_schema *ts = table_schema_new("mono", &rel, &err);

	assert_non_null(ts);
	return ts;
}

static void test_projection_and_rename(void **state)
{
	char *columns[] = {"id", "total_cents", "price"};
	struct cfg_kv rename[] = {{"total_cents", "total"}};
	struct cfg_mapping cfg = {.source = {"public", "orders"}, .target = "orders_svc", .columns = columns,
	                          .ncolumns = 3, .rename = rename, .nrename = 1, .line = 7};
	struct table_schema *ts = orders_schema();
	struct cerr err = {0};
	struct mapping *m = mapping_new(&cfg, ts->value_id, ts->value_json, &err);
	json_t *row;
	struct target_cell cells[3];

	(void)state;
	assert_non_null(m);
	assert_string_equal(m->table.name, "orders_svc");
	assert_int_equal(m->table.ncols, 3);
	assert_string_equal(m->cols[0].name, "id");
	assert_true(m->cols[0].key);
	assert_int_equal(m->cols[0].type.kind, CT_LONG);
	assert_string_equal(m->cols[1].name, "total");
	assert_false(m->cols[1].key);
	assert_string_equal(m->cols[2].name, "price");
	assert_int_equal(m->cols[2].type.kind, CT_DECIMAL);
	assert_int_equal(m->cols[2].type.precision, 12);
	assert_int_equal(m->cols[2].type.scale, 2);

	row = json_loads("{\"id\": 5, \"customer_id\": 9, \"total_cents\": null, \"note\": {\"unchanged\": true},"
	                 " \"price\": \"1.50\"}", 0, NULL);
	assert_int_equal(mapping_cells(m, row, cells, &err), 0);
	assert_int_equal(cells[0].kind, TARGET_VALUE);
	assert_int_equal(json_integer_value(cells[0].value), 5);
	assert_int_equal(cells[1].kind, TARGET_NULL);
	assert_int_equal(cells[2].kind, TARGET_VALUE);
	assert_string_equal(json_string_value(cells[2].value), "1.50");
	json_decref(row);
	row = json_loads("{\"id\": 5}", 0, NULL);
	assert_int_equal(mapping_cells(m, row, cells, &err), -1);
	assert_non_null(strstr(err.msg, "total_cents"));
	json_decref(row);
	mapping_free(m);
	table_schema_free(ts);
}

static void test_all_columns_unchanged_cell(void **state)
{
	struct cfg_mapping cfg = {.source = {"public", "orders"}};
	struct table_schema *ts = orders_schema();
	struct cerr err = {0};
	struct mapping *m = mapping_new(&cfg, ts->value_id, ts->value_json, &err);
	struct target_cell cells[5];
	json_t *row;

	(void)state;
	assert_non_null(m);
	assert_string_equal(m->table.name, "orders");
	assert_int_equal(m->table.ncols, 5);
	row = json_loads("{\"id\": 1, \"customer_id\": 2, \"total_cents\": 3, \"note\": {\"unchanged\": true},"
	                 " \"price\": null}", 0, NULL);
	assert_int_equal(mapping_cells(m, row, cells, &err), 0);
	assert_int_equal(cells[3].kind, TARGET_UNCHANGED);
	assert_int_equal(cells[4].kind, TARGET_NULL);
	json_decref(row);
	mapping_free(m);
	table_schema_free(ts);
}

static void test_errors(void **state)
{
	char *no_key[] = {"total_cents"};
	char *unknown[] = {"id", "nope"};
	struct cfg_mapping a = {.source = {"public", "orders"}, .columns = no_key, .ncolumns = 1, .line = 3};
	struct cfg_mapping b = {.source = {"public", "orders"}, .columns = unknown, .ncolumns = 2, .line = 4};
	struct table_schema *ts = orders_schema();
	struct cerr err = {0};

	(void)state;
	assert_null(mapping_new(&a, ts->value_id, ts->value_json, &err));
	assert_non_null(strstr(err.msg, "key column id must be in `columns`"));
	assert_null(mapping_new(&b, ts->value_id, ts->value_json, &err));
	assert_non_null(strstr(err.msg, "column nope is not a column of the source table"));
	assert_null(mapping_new(&b, ts->value_id, "{not json", &err));
	mapping_free(NULL);
	table_schema_free(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_projection_and_rename),
		cmocka_unit_test(test_all_columns_unchanged_cell),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
