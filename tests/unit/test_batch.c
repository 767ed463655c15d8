/* test_batch.c: collapsing a sink batch per key (sinks/batch.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema/table_schema.h"
#include "sinks/batch.h"

static struct pgo_column cols[] = {{PGO_COL_KEY, "id", 23, -1}, {0, "a", 25, -1}, {0, "b", 25, -1}};

struct fixture {
	struct table_schema *ts;
	struct mapping *m, *m2;
	struct cfg_mapping cfg, cfg2;
	struct batch *b;
	char **keys; /* the keys added, alive until teardown */
	size_t nkeys;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct pgo_relation rel = {16384, "public", "t", 'd', 3, cols};
	struct cerr err = {0};

	f->ts = table_schema_new("p", &rel, &err);
	f->cfg = (struct cfg_mapping){.source = {"public", "t"}};
	f->cfg2 = (struct cfg_mapping){.source = {"public", "t"}, .target = "t2"};
	f->m = mapping_new(&f->cfg, f->ts->value_id, f->ts->value_json, &err);
	f->m2 = mapping_new(&f->cfg2, f->ts->value_id, f->ts->value_json, &err);
	f->b = batch_new();
	assert_non_null(f->m);
	assert_non_null(f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	batch_free(f->b);
	for (size_t i = 0; i < f->nkeys; i++)
		free(f->keys[i]);
	free(f->keys);
	mapping_free(f->m);
	mapping_free(f->m2);
	table_schema_free(f->ts);
	free(f);
	return 0;
}

static void add(struct fixture *f, const struct mapping *m, char op, const char *row)
{
	json_t *r = json_loads(row, 0, NULL);
	struct cerr err = {0};
	char *key;

	assert_non_null(r);
	/* a stand-in for the Kafka message key: the id's text; kept until the batch is reset */
	key = json_dumps(json_object_get(r, "id"), JSON_ENCODE_ANY);
	assert_non_null(key);
	f->keys = realloc(f->keys, (f->nkeys + 1) * sizeof *f->keys);
	assert_non_null(f->keys);
	f->keys[f->nkeys++] = key;
	assert_int_equal(batch_add(f->b, m, op, r, key, strlen(key), &err), 0);
	json_decref(r);
}

/* "u:id=1,a=x,b=~" ('~' unchanged, '-' NULL) */
static void expect(struct fixture *f, size_t i, const char *want)
{
	const struct mapping *m;
	struct target_change c = batch_peek(f->b, i, &m);
	char got[256];
	size_t n = (size_t)snprintf(got, sizeof got, "%s%c", m == f->m2 ? "t2/" : "", c.op);

	for (int k = 0; c.cells && k < m->table.ncols; k++) {
		const struct target_cell *cell = &c.cells[k];

		n += (size_t)snprintf(got + n, sizeof got - n, "%s%s=", k ? "," : ":", m->cols[k].name);
		if (cell->kind == TARGET_UNCHANGED)
			n += (size_t)snprintf(got + n, sizeof got - n, "~");
		else if (cell->kind == TARGET_NULL)
			n += (size_t)snprintf(got + n, sizeof got - n, "-");
		else if (json_is_integer(cell->value))
			n += (size_t)snprintf(got + n, sizeof got - n, "%lld", (long long)json_integer_value(cell->value));
		else
			n += (size_t)snprintf(got + n, sizeof got - n, "%s", json_string_value(cell->value));
	}
	assert_string_equal(got, want);
}

static void test_upserts_merge_unchanged(void **state)
{
	struct fixture *f = *state;

	add(f, f->m, 'u', "{\"id\":1,\"a\":\"x\",\"b\":\"y\"}");
	add(f, f->m, 'u', "{\"id\":2,\"a\":\"p\",\"b\":null}");
	add(f, f->m, 'u', "{\"id\":1,\"a\":\"x2\",\"b\":{\"unchanged\":true}}");
	add(f, f->m, 'u', "{\"id\":1,\"a\":{\"unchanged\":true},\"b\":\"y3\"}");
	assert_int_equal(batch_size(f->b), 2);
	assert_int_equal(batch_added(f->b), 4);
	expect(f, 0, "u:id=1,a=x2,b=y3");
	expect(f, 1, "u:id=2,a=p,b=-");
}

static void test_delete_then_insert(void **state)
{
	struct fixture *f = *state;

	add(f, f->m, 'u', "{\"id\":1,\"a\":\"x\",\"b\":\"y\"}");
	add(f, f->m, 'd', "{\"id\":1,\"a\":{\"unchanged\":true},\"b\":{\"unchanged\":true}}");
	assert_int_equal(batch_size(f->b), 1);
	expect(f, 0, "d:id=1,a=~,b=~");
	add(f, f->m, 'u', "{\"id\":1,\"a\":\"new\",\"b\":{\"unchanged\":true}}");
	assert_int_equal(batch_size(f->b), 1);
	/* the row was deleted: nothing to keep from before the delete */
	expect(f, 0, "u:id=1,a=new,b=~");
}

/* An insert ('c') stays one while it is the first change of its row in the batch, also when updates of
 * the row follow (they merge into it); after an earlier change of the row (a delete) it is an upsert, as
 * the target still holds the row. */
static void test_inserts(void **state)
{
	struct fixture *f = *state;

	add(f, f->m, 'c', "{\"id\":1,\"a\":\"x\",\"b\":\"y\"}");
	add(f, f->m, 'u', "{\"id\":1,\"a\":\"x2\",\"b\":{\"unchanged\":true}}");
	add(f, f->m, 'c', "{\"id\":2,\"a\":\"p\",\"b\":\"q\"}");
	add(f, f->m, 'u', "{\"id\":3,\"a\":\"r\",\"b\":\"s\"}");
	add(f, f->m, 'd', "{\"id\":2,\"a\":{\"unchanged\":true},\"b\":{\"unchanged\":true}}");
	add(f, f->m, 'c', "{\"id\":2,\"a\":\"p2\",\"b\":\"q2\"}");
	add(f, f->m, 'c', "{\"id\":3,\"a\":\"r2\",\"b\":\"s2\"}");
	assert_int_equal(batch_size(f->b), 3);
	expect(f, 0, "c:id=1,a=x2,b=y");
	expect(f, 1, "u:id=2,a=p2,b=q2");
	expect(f, 2, "u:id=3,a=r2,b=s2");
	/* a later delete of an inserted row wins as before */
	add(f, f->m, 'd', "{\"id\":1,\"a\":{\"unchanged\":true},\"b\":{\"unchanged\":true}}");
	expect(f, 0, "d:id=1,a=~,b=~");
}

static void test_truncate_is_a_barrier_and_tables_apart(void **state)
{
	struct fixture *f = *state;
	struct cerr err = {0};

	add(f, f->m, 'u', "{\"id\":1,\"a\":\"x\",\"b\":\"y\"}");
	add(f, f->m2, 'u', "{\"id\":1,\"a\":\"other table\",\"b\":null}");
	assert_int_equal(batch_add_truncate(f->b, f->m, &err), 0);
	add(f, f->m, 'u', "{\"id\":1,\"a\":\"after\",\"b\":null}");
	assert_int_equal(batch_size(f->b), 4);
	expect(f, 0, "u:id=1,a=x,b=y");
	expect(f, 1, "t2/u:id=1,a=other table,b=-");
	expect(f, 2, "t");
	expect(f, 3, "u:id=1,a=after,b=-");
	batch_reset(f->b);
	assert_int_equal(batch_size(f->b), 0);
}

static void test_many_keys(void **state)
{
	struct fixture *f = *state;
	char row[128];

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(row, sizeof row, "{\"id\":%d,\"a\":\"r%d\",\"b\":null}", i, round);
			add(f, f->m, 'u', row);
		}
	assert_int_equal(batch_size(f->b), 5000);
	assert_int_equal(batch_added(f->b), 15000);
	expect(f, 4999, "u:id=4999,a=r2,b=-");
}

static void test_row_not_fitting(void **state)
{
	struct fixture *f = *state;
	json_t *r = json_loads("{\"id\":1}", 0, NULL);
	struct cerr err = {0};

	assert_int_equal(batch_add(f->b, f->m, 'u', r, "1", 1, &err), -1);
	assert_int_equal(batch_size(f->b), 0);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upserts_merge_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_then_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inserts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_is_a_barrier_and_tables_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_row_not_fitting, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
