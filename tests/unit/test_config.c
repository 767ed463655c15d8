/* test_config.c: config/ — cfg_load against the fixtures in tests/unit/config/ (the example of SPEC.md §2,
 * defaults, every key set, ${NAME} expansion, and one fixture per error with its exact message), that no
 * error ever shows a password, and dsn_redact and dsn_parse_mysql_url on many inputs.
 * Runs with tests/unit as the working directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/dsn.h"

/* every fixture that holds a password uses this one, so one strstr proves it never leaks */
#define SECRET "s3cret"

static struct cleave_config *load_ok(const char *path)
{
	struct cerr err = {0};
	struct cleave_config *cfg = cfg_load(path, &err);

	if (!cfg)
		fail_msg("%s: %s", path, err.msg);
	return cfg;
}

static void assert_table(const struct cfg_table *t, const char *schema, const char *name)
{
	assert_string_equal(t->schema, schema);
	assert_string_equal(t->name, name);
}

static void assert_kv(const struct cfg_kv *kv, const char *key, const char *value)
{
	assert_string_equal(kv->key, key);
	assert_string_equal(kv->value, value);
}

/* ---- loading ---- */

static void test_example(void **state)
{
	struct cleave_config *cfg;
	const struct cfg_sink *s;
	const struct cfg_mapping *m;

	(void)state;
	setenv("MONOLITH_PASSWORD", "mono-pw", 1);
	setenv("ORDERS_PASSWORD", "orders-pw", 1);
	cfg = load_ok("config/example.yaml");
	assert_string_equal(cfg->path, "config/example.yaml");
	assert_string_equal(cfg->source.dsn, "host=127.0.0.1 port=5432 dbname=monolith user=cleave password=mono-pw");
	assert_string_equal(cfg->source.slot, "cleave");
	assert_string_equal(cfg->source.publication, "cleave");
	assert_int_equal(cfg->source.ntables, 3);
	assert_table(&cfg->source.tables[0], "public", "users");
	assert_table(&cfg->source.tables[1], "public", "orders");
	assert_table(&cfg->source.tables[2], "public", "order_items");
	assert_int_equal(cfg->source.snapshot, CFG_SNAPSHOT_INITIAL);
	assert_int_equal(cfg->source.status_interval_ms, 1000);

	assert_string_equal(cfg->kafka.brokers, "127.0.0.1:9092");
	assert_string_equal(cfg->kafka.topic_prefix, "monolith");
	assert_int_equal(cfg->kafka.nproperties, 1);
	assert_kv(&cfg->kafka.properties[0], "compression.type", "lz4");

	assert_int_equal(cfg->nsinks, 1);
	s = &cfg->sinks[0];
	assert_string_equal(s->name, "orders");
	assert_int_equal(s->type, CFG_SINK_MYSQL);
	assert_string_equal(s->dsn, "mysql://orders:orders-pw@127.0.0.1:3306/orders");
	assert_true(s->create_tables);
	assert_int_equal(s->on_error, CFG_ON_ERROR_DLQ);
	assert_int_equal(s->batch_size, 5000);
	assert_int_equal(s->batch_ms, 100);
	assert_int_equal(s->apply_connections, 2);
	assert_int_equal(s->line, 12);
	assert_int_equal(s->nmappings, 2);

	m = &s->mappings[0];
	assert_table(&m->source, "public", "orders");
	assert_string_equal(m->target, "orders");
	assert_int_equal(m->ncolumns, 5);
	assert_string_equal(m->columns[0], "id");
	assert_string_equal(m->columns[1], "customer_id");
	assert_string_equal(m->columns[2], "total_cents");
	assert_string_equal(m->columns[3], "status");
	assert_string_equal(m->columns[4], "created_at");
	assert_int_equal(m->nrename, 1);
	assert_kv(&m->rename[0], "total_cents", "total");
	assert_int_equal(m->line, 17);

	m = &s->mappings[1];
	assert_table(&m->source, "public", "order_items");
	assert_string_equal(m->target, "order_items");
	assert_null(m->columns);
	assert_int_equal(m->ncolumns, 0);
	assert_null(m->rename);
	assert_int_equal(m->nrename, 0);
	assert_int_equal(m->line, 21);

	assert_string_equal(cfg->metrics.listen, "127.0.0.1:9187");
	assert_int_equal(cfg->log.level, LOG_INFO);

	assert_ptr_equal(cfg_find_sink(cfg, "orders"), s);
	assert_null(cfg_find_sink(cfg, "users"));
	assert_null(cfg_find_sink(cfg, NULL));
	assert_null(cfg_find_sink(NULL, "orders"));
	cfg_free(cfg);
	unsetenv("MONOLITH_PASSWORD");
	unsetenv("ORDERS_PASSWORD");
}

static void test_defaults(void **state)
{
	struct cleave_config *cfg;

	(void)state;
	cfg = load_ok("config/minimal.yaml");
	assert_string_equal(cfg->source.dsn, "host=127.0.0.1 dbname=monolith");
	assert_string_equal(cfg->source.slot, "cleave");
	assert_string_equal(cfg->source.publication, "cleave");
	assert_int_equal(cfg->source.ntables, 2);
	assert_table(&cfg->source.tables[0], "public", "users");
	assert_table(&cfg->source.tables[1], "Sch", "Tab"); /* split at the first dot, case kept */
	assert_int_equal(cfg->source.snapshot, CFG_SNAPSHOT_INITIAL);
	assert_int_equal(cfg->source.status_interval_ms, 1000);
	assert_null(cfg->kafka.properties);
	assert_int_equal(cfg->kafka.nproperties, 0);
	assert_null(cfg->sinks);
	assert_int_equal(cfg->nsinks, 0);
	assert_null(cfg->metrics.listen);
	assert_int_equal(cfg->log.level, LOG_INFO);
	cfg_free(cfg);
}

static void test_sink_defaults(void **state)
{
	struct cleave_config *cfg;
	const struct cfg_sink *s;

	(void)state;
	cfg = load_ok("config/minimal_sink.yaml");
	assert_int_equal(cfg->nsinks, 1);
	s = &cfg->sinks[0];
	assert_string_equal(s->name, "users");
	assert_int_equal(s->type, CFG_SINK_POSTGRES);
	assert_false(s->create_tables);
	assert_int_equal(s->on_error, CFG_ON_ERROR_DLQ);
	assert_int_equal(s->batch_size, 5000);
	assert_int_equal(s->batch_ms, 100);
	assert_int_equal(s->apply_connections, 2);
	assert_int_equal(s->nmappings, 1);
	assert_table(&s->mappings[0].source, "public", "users");
	assert_string_equal(s->mappings[0].target, "users"); /* the source table's name */
	assert_null(s->mappings[0].columns);
	assert_null(s->mappings[0].rename);
	cfg_free(cfg);
}

static void test_every_key(void **state)
{
	struct cleave_config *cfg;
	const struct cfg_sink *s;

	(void)state;
	cfg = load_ok("config/full.yaml");
	assert_string_equal(cfg->source.dsn, "postgresql://cleave@db.internal:5433/monolith?sslmode=require");
	assert_string_equal(cfg->source.slot, "cleave_slot_2");
	assert_string_equal(cfg->source.publication, "cleave_pub");
	assert_int_equal(cfg->source.ntables, 2);
	assert_table(&cfg->source.tables[0], "public", "users");
	assert_table(&cfg->source.tables[1], "billing", "invoices");
	assert_int_equal(cfg->source.snapshot, CFG_SNAPSHOT_NEVER);
	assert_int_equal(cfg->source.status_interval_ms, 250);
	assert_string_equal(cfg->kafka.brokers, "k1:9092,k2:9092");
	assert_string_equal(cfg->kafka.topic_prefix, "mono.lith-1");
	assert_int_equal(cfg->kafka.nproperties, 4);
	assert_kv(&cfg->kafka.properties[0], "linger.ms", "5");            /* a number, kept as text */
	assert_kv(&cfg->kafka.properties[1], "enable.idempotence", "true"); /* a boolean, kept as text */
	assert_kv(&cfg->kafka.properties[2], "acks", "all");
	assert_kv(&cfg->kafka.properties[3], "ssl.ca.location", "/etc/ssl/ca.pem");
	assert_int_equal(cfg->nsinks, 2);

	s = &cfg->sinks[0];
	assert_string_equal(s->name, "users");
	assert_int_equal(s->type, CFG_SINK_POSTGRES);
	assert_string_equal(s->dsn, "host=users-db dbname=users user=svc password='s3cret pw'");
	assert_false(s->create_tables);
	assert_int_equal(s->on_error, CFG_ON_ERROR_STOP);
	assert_int_equal(s->batch_size, 100);
	assert_int_equal(s->batch_ms, 20);
	assert_int_equal(s->apply_connections, 3);
	assert_int_equal(s->nmappings, 1);
	assert_string_equal(s->mappings[0].target, "users");
	assert_int_equal(s->mappings[0].ncolumns, 2);
	assert_string_equal(s->mappings[0].columns[1], "email");

	s = &cfg->sinks[1];
	assert_string_equal(s->name, "billing");
	assert_int_equal(s->type, CFG_SINK_MYSQL);
	assert_true(s->create_tables);
	assert_int_equal(s->on_error, CFG_ON_ERROR_DLQ);
	assert_int_equal(s->batch_size, 5000);
	assert_table(&s->mappings[0].source, "billing", "invoices");
	assert_string_equal(s->mappings[0].target, "invoice");
	assert_int_equal(s->mappings[0].nrename, 2);
	assert_kv(&s->mappings[0].rename[0], "amount_cents", "amount");
	assert_kv(&s->mappings[0].rename[1], "id", "invoice_id");
	assert_ptr_equal(cfg_find_sink(cfg, "billing"), s);

	assert_string_equal(cfg->metrics.listen, ":9187");
	assert_int_equal(cfg->log.level, LOG_DEBUG);
	cfg_free(cfg);
}

static void test_env_expansion(void **state)
{
	struct cleave_config *cfg;

	(void)state;
	setenv("CLEAVE_T_HOST", "db.example", 1);
	setenv("CLEAVE_T_PW", "p$w{x}", 1); /* a value is inserted as it is, never expanded again */
	setenv("CLEAVE_T_SLOT", "slot_from_env", 1);
	setenv("CLEAVE_T_SCHEMA", "billing", 1);
	setenv("CLEAVE_T_EMPTY", "", 1);
	setenv("CLEAVE_T_BATCH", "42", 1);
	cfg = load_ok("config/env.yaml");
	assert_string_equal(cfg->source.dsn, "host=db.example password=p$w{x}");
	assert_string_equal(cfg->source.slot, "slot_from_env");
	assert_table(&cfg->source.tables[0], "billing", "users");
	assert_table(&cfg->source.tables[1], "public", "orders");
	assert_string_equal(cfg->kafka.brokers, "db.example:9092");
	assert_string_equal(cfg->kafka.topic_prefix, "px");
	assert_int_equal(cfg->kafka.nproperties, 3);
	assert_kv(&cfg->kafka.properties[0], "a", "${NOT_EXPANDED}");               /* $${ escapes */
	assert_kv(&cfg->kafka.properties[1], "b", "cost $5, $$, a$b, $, db.example$"); /* other $ stay */
	assert_kv(&cfg->kafka.properties[2], "c", "");                              /* set but empty */
	assert_string_equal(cfg->sinks[0].dsn, "db.example");
	assert_int_equal(cfg->sinks[0].batch_size, 42); /* typed values are read after expansion */
	cfg_free(cfg);

	/* a missing variable is an error naming it */
	unsetenv("CLEAVE_T_BATCH");
	{
		struct cerr err = {0};

		assert_null(cfg_load("config/env.yaml", &err));
		assert_string_equal(err.msg, "config/env.yaml:16: sinks[0].batch_size: environment variable "
					     "CLEAVE_T_BATCH is not set");
	}
	unsetenv("CLEAVE_T_HOST");
	unsetenv("CLEAVE_T_PW");
	unsetenv("CLEAVE_T_SLOT");
	unsetenv("CLEAVE_T_SCHEMA");
	unsetenv("CLEAVE_T_EMPTY");
}

/* the config shipped with the docker compose stack stays loadable */
static void test_shipped_docker_config(void **state)
{
	struct cleave_config *cfg;

	(void)state;
	setenv("MONOLITH_PASSWORD", "a", 1);
	setenv("USERS_PASSWORD", "b", 1);
	setenv("ORDERS_PASSWORD", "c", 1);
	cfg = load_ok("../../docker/cleave.yaml");
	assert_non_null(cfg_find_sink(cfg, "users"));
	assert_non_null(cfg_find_sink(cfg, "orders"));
	cfg_free(cfg);
	unsetenv("MONOLITH_PASSWORD");
	unsetenv("USERS_PASSWORD");
	unsetenv("ORDERS_PASSWORD");
}

/* ---- errors ---- */

struct error_case {
	const char *file;
	const char *msg;
};

static const struct error_case error_cases[] = {
	{"config/err_bool_yes.yaml",
	 "config/err_bool_yes.yaml:11: "
	 "sinks[0].create_tables: expected true or false, got 'yes'"},
	{"config/err_columns_dup.yaml",
	 "config/err_columns_dup.yaml:13: "
	 "sinks[0].mappings[0].columns[2]: duplicate 'id' (also columns[0])"},
	{"config/err_columns_empty.yaml",
	 "config/err_columns_empty.yaml:13: "
	 "sinks[0].mappings[0].columns: must not be empty"},
	{"config/err_comments_only.yaml",
	 "config/err_comments_only.yaml:1: "
	 "the file is empty"},
	{"config/err_complex_key.yaml",
	 "config/err_complex_key.yaml:4: "
	 "source: expected a plain key, got a list"},
	{"config/err_dup_key.yaml",
	 "config/err_dup_key.yaml:5: "
	 "source.slot: duplicate key (first at line 3)"},
	{"config/err_dup_mapping_source.yaml",
	 "config/err_dup_mapping_source.yaml:13: "
	 "sinks[0].mappings[1].source: public.users is already mapped by mappings[0] (line 12)"},
	{"config/err_dup_mapping_target.yaml",
	 "config/err_dup_mapping_target.yaml:14: "
	 "sinks[0].mappings[1].target: mappings[0] (line 12) already writes to table users"},
	{"config/err_dup_sink.yaml",
	 "config/err_dup_sink.yaml:13: "
	 "sinks[1].name: duplicate sink name 'users' (first at line 8)"},
	{"config/err_dup_table.yaml",
	 "config/err_dup_table.yaml:3: "
	 "source.tables[2]: duplicate table public.users (also tables[0])"},
	{"config/err_empty.yaml",
	 "config/err_empty.yaml:1: "
	 "the file is empty"},
	{"config/err_empty_dsn.yaml",
	 "config/err_empty_dsn.yaml:2: "
	 "source.dsn: must not be empty"},
	{"config/err_empty_tables.yaml",
	 "config/err_empty_tables.yaml:3: "
	 "source.tables: must list at least one table"},
	{"config/err_env_badname.yaml",
	 "config/err_env_badname.yaml:5: "
	 "kafka.brokers: bad environment variable name in ${...}: use letters, digits and _ (write "
	 "$${ for a literal ${)"},
	{"config/err_env_missing.yaml",
	 "config/err_env_missing.yaml:2: "
	 "source.dsn: environment variable CLEAVE_TEST_SURELY_UNSET is not set"},
	{"config/err_env_unterminated.yaml",
	 "config/err_env_unterminated.yaml:2: "
	 "source.dsn: '${' without a closing '}'"},
	{"config/err_int_float.yaml",
	 "config/err_int_float.yaml:11: "
	 "sinks[0].batch_size: expected an integer, got '10.5'"},
	{"config/err_int_range.yaml",
	 "config/err_int_range.yaml:11: "
	 "sinks[0].batch_ms: must be between 1 and 600000, got 0"},
	{"config/err_apply_connections.yaml",
	 "config/err_apply_connections.yaml:11: "
	 "sinks[0].apply_connections: must be between 1 and 8, got 9"},
	{"config/err_int_yes.yaml",
	 "config/err_int_yes.yaml:11: "
	 "sinks[0].batch_size: expected an integer, got 'yes'"},
	{"config/err_list_got_string.yaml",
	 "config/err_list_got_string.yaml:3: "
	 "source.tables: expected a list of tables, got a scalar"},
	{"config/err_listen.yaml",
	 "config/err_listen.yaml:8: "
	 "metrics.listen: expected HOST:PORT (like 127.0.0.1:9187), got 'localhost'"},
	{"config/err_log_level.yaml",
	 "config/err_log_level.yaml:8: "
	 "log.level: expected error, warn, info or debug, got 'verbose'"},
	{"config/err_mapping_missing_source.yaml",
	 "config/err_mapping_missing_source.yaml:12: "
	 "sinks[0].mappings[0].source: required key is missing"},
	{"config/err_mapping_unknown_key.yaml",
	 "config/err_mapping_unknown_key.yaml:13: "
	 "sinks[0].mappings[0].renames: unknown key (known keys here: source, target, columns, "
	 "rename)"},
	{"config/err_missing_brokers.yaml",
	 "config/err_missing_brokers.yaml:5: "
	 "kafka.brokers: required key is missing"},
	{"config/err_missing_dsn.yaml",
	 "config/err_missing_dsn.yaml:2: "
	 "source.dsn: required key is missing"},
	{"config/err_missing_kafka.yaml",
	 "config/err_missing_kafka.yaml:1: "
	 "kafka: required key is missing"},
	{"config/err_missing_prefix.yaml",
	 "config/err_missing_prefix.yaml:5: "
	 "kafka.topic_prefix: required key is missing"},
	{"config/err_missing_tables.yaml",
	 "config/err_missing_tables.yaml:2: "
	 "source.tables: required key is missing"},
	{"config/err_mysql_nodb.yaml",
	 "config/err_mysql_nodb.yaml:10: "
	 "sinks[0].dsn: the URL names no database: 'mysql://orders:***@127.0.0.1'"},
	{"config/err_mysql_not_url.yaml",
	 "config/err_mysql_not_url.yaml:10: "
	 "sinks[0].dsn: expected a mysql://user:password@host:port/database URL"},
	{"config/err_mysql_port.yaml",
	 "config/err_mysql_port.yaml:10: "
	 "sinks[0].dsn: mysql URL: the port must be a number from 1 to 65535"},
	{"config/err_null_dsn.yaml",
	 "config/err_null_dsn.yaml:2: "
	 "source.dsn: required key has no value"},
	{"config/err_on_error.yaml",
	 "config/err_on_error.yaml:11: "
	 "sinks[0].on_error: expected dlq or stop, got 'ignore'"},
	{"config/err_pg_sink_mysql_url.yaml",
	 "config/err_pg_sink_mysql_url.yaml:10: "
	 "sinks[0].dsn: a MySQL URL for a postgres sink: 'mysql://orders:***@127.0.0.1/orders'"},
	{"config/err_property_bootstrap.yaml",
	 "config/err_property_bootstrap.yaml:8: "
	 "kafka.properties.bootstrap.servers: set kafka.brokers instead"},
	{"config/err_property_dup.yaml",
	 "config/err_property_dup.yaml:7: "
	 "kafka.properties.linger.ms: duplicate key (first at line 7)"},
	{"config/err_property_nested.yaml",
	 "config/err_property_nested.yaml:10: "
	 "kafka.properties.sasl: expected a string, number or boolean, got a mapping"},
	{"config/err_property_null.yaml",
	 "config/err_property_null.yaml:8: "
	 "kafka.properties.linger.ms: has no value"},
	{"config/err_publication.yaml",
	 "config/err_publication.yaml:3: "
	 "source.publication: 'my-pub' is not a valid publication name: use 1 to 63 characters from "
	 "a-z, 0-9 and _"},
	{"config/err_rename_collision.yaml",
	 "config/err_rename_collision.yaml:14: "
	 "sinks[0].mappings[0].rename: column full_name is renamed to name, which is already a "
	 "column"},
	{"config/err_rename_empty.yaml",
	 "config/err_rename_empty.yaml:13: "
	 "sinks[0].mappings[0].rename: column name is renamed to an empty name"},
	{"config/err_rename_not_projected.yaml",
	 "config/err_rename_not_projected.yaml:19: "
	 "sinks[1].mappings[0].rename: column total is not in columns"},
	{"config/err_root_list.yaml",
	 "config/err_root_list.yaml:1: "
	 "expected a mapping, got a list"},
	{"config/err_section_got_list.yaml",
	 "config/err_section_got_list.yaml:1: "
	 "source: expected a mapping, got a list"},
	{"config/err_sink_missing_dsn.yaml",
	 "config/err_sink_missing_dsn.yaml:8: "
	 "sinks[0].dsn: required key is missing"},
	{"config/err_sink_missing_mappings.yaml",
	 "config/err_sink_missing_mappings.yaml:8: "
	 "sinks[0].mappings: required key is missing"},
	{"config/err_sink_missing_name.yaml",
	 "config/err_sink_missing_name.yaml:8: "
	 "sinks[0].name: required key is missing"},
	{"config/err_sink_missing_type.yaml",
	 "config/err_sink_missing_type.yaml:8: "
	 "sinks[0].type: required key is missing"},
	{"config/err_sink_name.yaml",
	 "config/err_sink_name.yaml:8: "
	 "sinks[0].name: 'users/v2' may only hold letters, digits, '.', '_' and '-' (at most 200)"},
	{"config/err_sink_not_mapping.yaml",
	 "config/err_sink_not_mapping.yaml:8: "
	 "sinks[0]: expected a mapping, got a scalar"},
	{"config/err_sink_type.yaml",
	 "config/err_sink_type.yaml:9: "
	 "sinks[0].type: expected postgres or mysql, got 'oracle'"},
	{"config/err_sink_unknown_key.yaml",
	 "config/err_sink_unknown_key.yaml:11: "
	 "sinks[0].pasword: unknown key (known keys here: name, type, dsn, create_tables, on_error, "
	 "batch_size, batch_ms, apply_connections, mappings)"},
	{"config/err_sinks_mapping.yaml",
	 "config/err_sinks_mapping.yaml:8: "
	 "sinks: expected a list, got a mapping"},
	{"config/err_slot_long.yaml",
	 "config/err_slot_long.yaml:3: "
	 "source.slot: 'a234567890123456789012345678901234567890123456789012345678901234' is not a "
	 "valid replication slot name: use 1 to 63 characters from a-z, 0-9 and _"},
	{"config/err_slot_upper.yaml",
	 "config/err_slot_upper.yaml:3: "
	 "source.slot: 'Cleave' is not a valid replication slot name: use 1 to 63 characters from "
	 "a-z, 0-9 and _"},
	{"config/err_snapshot.yaml",
	 "config/err_snapshot.yaml:4: "
	 "source.snapshot: expected initial or never, got 'always'"},
	{"config/err_source_mysql_url.yaml",
	 "config/err_source_mysql_url.yaml:2: "
	 "source.dsn: the source must be PostgreSQL, not a MySQL URL: "
	 "'mysql://cleave:***@127.0.0.1/monolith'"},
	{"config/err_status_interval.yaml",
	 "config/err_status_interval.yaml:4: "
	 "source.status_interval_ms: must be between 100 and 600000, got 99999999999999999999"},
	{"config/err_string_got_list.yaml",
	 "config/err_string_got_list.yaml:5: "
	 "kafka.brokers: expected a string, got a list"},
	{"config/err_syntax.yaml",
	 "config/err_syntax.yaml:4: "
	 "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at "
	 "line 3)"},
	{"config/err_syntax_indent.yaml",
	 "config/err_syntax_indent.yaml:3: "
	 "YAML syntax error: did not find expected key (while parsing a block mapping at line 2)"},
	{"config/err_table_empty_schema.yaml",
	 "config/err_table_empty_schema.yaml:3: "
	 "source.tables[0]: '.users' is not a table name: write table or schema.table, with "
	 "letters, digits and _"},
	{"config/err_table_name.yaml",
	 "config/err_table_name.yaml:3: "
	 "source.tables[1]: 'public.order-items' is not a table name: write table or schema.table, "
	 "with letters, digits and _"},
	{"config/err_tables_null_item.yaml",
	 "config/err_tables_null_item.yaml:5: "
	 "source.tables[1]: has no value"},
	{"config/err_topic_prefix.yaml",
	 "config/err_topic_prefix.yaml:6: "
	 "kafka.topic_prefix: 'mono lith' may only hold letters, digits, '.', '_' and '-' (at most "
	 "200)"},
	{"config/err_two_docs.yaml",
	 "config/err_two_docs.yaml:7: "
	 "only one YAML document is allowed"},
	{"config/err_unknown_key.yaml",
	 "config/err_unknown_key.yaml:3: "
	 "source.tabels: unknown key (known keys here: dsn, slot, publication, tables, snapshot, "
	 "status_interval_ms)"},
	{"config/err_unknown_section.yaml",
	 "config/err_unknown_section.yaml:7: "
	 "sink: unknown key (known keys here: source, kafka, sinks, metrics, log)"},
	{"config/err_unpublished.yaml",
	 "config/err_unpublished.yaml:13: "
	 "sinks[0].mappings[1].source: public.payments is not in source.tables"},
	{"config/err_utf8.yaml",
	 "config/err_utf8.yaml:2: "
	 "YAML error: invalid leading UTF-8 octet"},
};

static void test_errors(void **state)
{
	(void)state;
	unsetenv("CLEAVE_TEST_SURELY_UNSET");
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		struct cerr err = {0};
		struct cleave_config *cfg = cfg_load(error_cases[i].file, &err);

		if (cfg) {
			cfg_free(cfg);
			fail_msg("%s: loaded, expected: %s", error_cases[i].file, error_cases[i].msg);
		}
		assert_true(err.set);
		if (strcmp(err.msg, error_cases[i].msg) != 0)
			fail_msg("%s:\n  got      %s\n  expected %s", error_cases[i].file, err.msg, error_cases[i].msg);
		if (strstr(err.msg, SECRET))
			fail_msg("%s: the error shows a password: %s", error_cases[i].file, err.msg);
	}
}

static void test_missing_file(void **state)
{
	struct cerr err = {0};

	(void)state;
	assert_null(cfg_load("config/no-such-file.yaml", &err));
	assert_string_equal(err.msg, "cannot open config/no-such-file.yaml: No such file or directory");
	cfg_free(NULL);
}

/* Every prefix of a fixture (cut at each byte) and every one-byte corruption of it either loads or fails
 * with "FILE:LINE: ...", leaks nothing (ASan) and never shows a password. */
static void check_cut_and_corrupted(const char *fixture)
{
	static const char junk[] = {':', '-', '[', '{', '\n', ' ', '"', '$', '&', '*', '\t', 'x', '=', '\'', '@'};
	static char text[4096];
	char dir[] = "/tmp/cleave-test-config-XXXXXX", path[128];
	size_t loaded = 0;
	FILE *f;
	long len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/c.yaml", dir);
	f = fopen(fixture, "rb");
	assert_non_null(f);
	len = (long)fread(text, 1, sizeof text, f);
	fclose(f);
	assert_true(len > 0 && len < (long)sizeof text);

	for (long cut = 0; cut <= len * (long)(1 + sizeof junk); cut++) {
		struct cerr err = {0};
		struct cleave_config *cfg;
		size_t plen = strlen(path);

		f = fopen(path, "wb");
		assert_non_null(f);
		if (cut <= len) {
			fwrite(text, 1, (size_t)cut, f);
		} else {
			fwrite(text, 1, (size_t)len, f);
			fseek(f, (cut - len - 1) % len, SEEK_SET);
			fputc(junk[(cut - len - 1) / len], f);
		}
		fclose(f);
		cfg = cfg_load(path, &err);
		if (cfg) {
			loaded++;
			cfg_free(cfg);
			continue;
		}
		if (strncmp(err.msg, path, plen) != 0 || err.msg[plen] != ':' || err.msg[plen + 1] < '1' ||
		    err.msg[plen + 1] > '9')
			fail_msg("%s: no FILE:LINE in: %s", fixture, err.msg);
		if (strstr(err.msg, SECRET))
			fail_msg("%s: the error shows a password: %s", fixture, err.msg);
	}
	assert_true(loaded > 0); /* the whole file, at least */
	unlink(path);
	rmdir(dir);
}

static void test_cut_and_corrupted_files(void **state)
{
	(void)state;
	setenv("MONOLITH_PASSWORD", SECRET "-mono", 1);
	setenv("ORDERS_PASSWORD", SECRET "-orders", 1);
	check_cut_and_corrupted("config/example.yaml");
	check_cut_and_corrupted("config/full.yaml");
	unsetenv("MONOLITH_PASSWORD");
	unsetenv("ORDERS_PASSWORD");
}

/* ---- dsn_redact ---- */

static void test_dsn_redact(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"host=h port=5432 dbname=d user=u password=" SECRET, "host=h port=5432 dbname=d user=u password=***"},
		{"password=" SECRET " host=h", "password=*** host=h"},
		{"host=h password='" SECRET " with space' user=u", "host=h password=*** user=u"},
		{"host=h password = '" SECRET " it\\'s' user=u", "host=h password = *** user=u"},
		{"password=" SECRET "\\ x user=u", "password=*** user=u"},
		{"password='" SECRET " unterminated", "password=***"},
		{"sslpassword=" SECRET " sslkey=/k", "sslpassword=*** sslkey=/k"},
		{"PASSWORD=" SECRET, "PASSWORD=***"},
		{"pasword=" SECRET " host=h", "***=*** host=h"}, /* a typo hides the value and itself */
		{"host=h password " SECRET, "host=h ***"}, /* malformed: the rest is hidden */
		{"host=h passwordx" SECRET " port=1", "host=h ***"},
		{"host=h password=", "host=h password=***"},
		{"host=h dbname=d", "host=h dbname=d"},
		{"  host=h\tdbname=d  ", "  host=h\tdbname=d  "},
		{"mydb", "mydb"},
		{"", ""},
		{"postgres://u:" SECRET "@h:5432/db", "postgres://u:***@h:5432/db"},
		{"postgresql://u@h/db", "postgresql://u@h/db"},
		{"postgresql://h/db", "postgresql://h/db"},
		{"postgresql://h:5432/db?sslmode=require", "postgresql://h:5432/db?sslmode=require"},
		{"postgres://h/db?password=" SECRET "&sslmode=require", "postgres://h/db?password=***&sslmode=require"},
		{"postgres://h/db?sslmode=require&passwordx" SECRET, "postgres://h/db?sslmode=require&***"},
		{"postgres://h/db?pasword=" SECRET, "postgres://h/db?***=***"},
		{"postgres://u:" SECRET "@h/db?sslpassword=" SECRET, "postgres://u:***@h/db?sslpassword=***"},
		{"mysql://orders:" SECRET "@127.0.0.1:3306/orders", "mysql://orders:***@127.0.0.1:3306/orders"},
		{"mysql://u:" SECRET "@pw@h/db", "mysql://u:***@h/db"},  /* '@' in the password */
		{"mysql://u:" SECRET "/pw@h/db", "mysql://u:***@h/db"},  /* '/' in the password */
		{"mysql://u:" SECRET ":pw@h/db", "mysql://u:***@h/db"},  /* ':' in the password */
		{"mysql://u:@h/db", "mysql://u:@h/db"},
		{"mysql://u@h:3306/db", "mysql://u@h:3306/db"},
		{"MySQL://u:" SECRET "@h/db?socket=/s", "MySQL://u:***@h/db?socket=/s"},
		/* URLs inside key=value strings and mangled DSNs */
		{"dbname=postgres://u:" SECRET "@h/db", "dbname=postgres://u:***@h/db"},
		{"dbname='postgresql://u:" SECRET "@h/db?sslmode=require'", "dbname='postgresql://u:***@h/db?sslmode=require'"},
		{"dbname=postgres://h/db?password=" SECRET, "dbname=postgres://h/db?password=***"},
		{":mysql://u:" SECRET "@h:3306/db\"", ":mysql://u:***@h:3306/db\""},
		{"x mysql://u:" SECRET "=x@h/db", "x mysql://u:***@h/db"},
		{"password=x://" SECRET " host=h", "password=*** host=h"},
		{"mysql::/u:" SECRET "@h:3306/db", "mysql:***@h:3306/db"},
		{"host=h u:" SECRET "@h", "host=h u:***@h"},
		{"user=a@example.com host=h", "user=a@example.com host=h"},
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		dsn_redact(cases[i].in, out, sizeof out);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("dsn_redact(\"%s\"):\n  got      %s\n  expected %s", cases[i].in, out, cases[i].out);
		assert_null(strstr(out, SECRET));
	}

	/* truncation keeps the NUL and never shows more than the redacted text */
	dsn_redact("host=h password=" SECRET, out, 10);
	assert_string_equal(out, "host=h pa");
	dsn_redact("host=h password=" SECRET, out, 20);
	assert_string_equal(out, "host=h password=***");
	dsn_redact("host=h password=" SECRET, out, 19);
	assert_string_equal(out, "host=h password=**");
	dsn_redact("postgres://u:" SECRET "@h/db", out, 14);
	assert_string_equal(out, "postgres://u:");
	out[0] = 'x';
	dsn_redact("host=h", out, 1);
	assert_string_equal(out, "");
	dsn_redact(NULL, out, sizeof out);
	assert_string_equal(out, "");
	dsn_redact("host=h", NULL, 0); /* must not crash */
}

/* ---- dsn_parse_mysql_url ---- */

static void assert_str_or_null(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void test_mysql_url(void **state)
{
	static const struct {
		const char *url, *host;
		unsigned int port;
		const char *user, *password, *database, *socket;
	} cases[] = {
		{"mysql://orders:pw@127.0.0.1:3306/orders", "127.0.0.1", 3306, "orders", "pw", "orders", NULL},
		{"mysql://orders:pw@db.internal/orders", "db.internal", 3306, "orders", "pw", "orders", NULL},
		{"mysql://u@h:3307/db", "h", 3307, "u", NULL, "db", NULL},
		{"mysql://h/db", "h", 3306, NULL, NULL, "db", NULL},
		{"mysql://h", "h", 3306, NULL, NULL, NULL, NULL},
		{"mysql://h/", "h", 3306, NULL, NULL, NULL, NULL},
		{"mysql://u:@h/db", "h", 3306, "u", NULL, "db", NULL},
		{"mysql://u:p%40ss%3Aw%2F%3F@h/db", "h", 3306, "u", "p@ss:w/?", "db", NULL},
		{"mysql://u:p@ss@h/db", "h", 3306, "u", "p@ss", "db", NULL},
		{"mysql://u:pa/ss@h/db", "h", 3306, "u", "pa/ss", "db", NULL},
		{"mysql://u:pa:ss@h/db", "h", 3306, "u", "pa:ss", "db", NULL},
		{"mysql://us%65r:pw@h/my%20db", "h", 3306, "user", "pw", "my db", NULL},
		{"mysql://u:pw@[::1]:3308/db", "::1", 3308, "u", "pw", "db", NULL},
		{"mysql://u:pw@[fe80::1]/db", "fe80::1", 3306, "u", "pw", "db", NULL},
		{"mysql://u:pw@/db?socket=/run/mysqld/mysqld.sock", NULL, 3306, "u", "pw", "db", "/run/mysqld/mysqld.sock"},
		{"mysql://u@localhost/db?socket=%2Ftmp%2Fm.sock", "localhost", 3306, "u", NULL, "db", "/tmp/m.sock"},
		{"mysql://u@h:1/db?", "h", 1, "u", NULL, "db", NULL},
		{"mysql://u@h:65535/db?socket=/s&", "h", 65535, "u", NULL, "db", "/s"},
		{"MYSQL://h/db", "h", 3306, NULL, NULL, "db", NULL},
		{"mariadb://u:pw@h/db", "h", 3306, "u", "pw", "db", NULL},
	};
	static const struct {
		const char *url, *msg;
	} bad[] = {
		{"postgres://u:" SECRET "@h/db", "expected a mysql://user:password@host:port/database URL"},
		{"host=h password=" SECRET, "expected a mysql://user:password@host:port/database URL"},
		{"", "expected a mysql://user:password@host:port/database URL"},
		{"mysql://u:" SECRET "@h:0/db", "mysql URL: the port must be a number from 1 to 65535"},
		{"mysql://u:" SECRET "@h:65536/db", "mysql URL: the port must be a number from 1 to 65535"},
		{"mysql://u:" SECRET "@h:99999999999999999999/db", "mysql URL: the port must be a number from 1 to 65535"},
		{"mysql://u:" SECRET "@h:33o6/db", "mysql URL: the port must be a number from 1 to 65535"},
		{"mysql://u:" SECRET "@h:-1/db", "mysql URL: the port must be a number from 1 to 65535"},
		{"mysql://u:" SECRET "@h:/db", "mysql URL: empty port after ':'"},
		{"mysql://u:" SECRET "%zz@h/db", "mysql URL: bad %-escape in the password"},
		{"mysql://u:" SECRET "%4@h/db", "mysql URL: bad %-escape in the password"},
		{"mysql://u:" SECRET "%00@h/db", "mysql URL: bad %-escape in the password"},
		{"mysql://u%@h/db", "mysql URL: bad %-escape in the user"},
		{"mysql://h/d%g0", "mysql URL: bad %-escape in the database"},
		{"mysql://u:" SECRET "@h/a/b", "mysql URL: the database name must not contain '/'"},
		{"mysql://u:" SECRET "@[::1/db", "mysql URL: '[' without ']' in the host"},
		{"mysql://u:" SECRET "@[::1]x/db", "mysql URL: unexpected text after ']' in the host"},
		{"mysql://u:" SECRET "@h/db?ssl=1", "mysql URL: unknown parameter 'ssl' (only socket= is known)"},
		{"mysql://u:" SECRET "@h/db?socket", "mysql URL: unknown parameter 'socket' (only socket= is known)"},
		{"mysql://u:" SECRET "@h/db?socket=", "mysql URL: empty socket path"},
		{NULL, "mysql URL: none given"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dsn_mysql m;
		struct cerr err = {0};

		if (dsn_parse_mysql_url(cases[i].url, &m, &err) != 0)
			fail_msg("%s: %s", cases[i].url, err.msg);
		assert_str_or_null(m.host, cases[i].host);
		assert_int_equal(m.port, cases[i].port);
		assert_str_or_null(m.user, cases[i].user);
		assert_str_or_null(m.password, cases[i].password);
		assert_str_or_null(m.database, cases[i].database);
		assert_str_or_null(m.socket, cases[i].socket);
		dsn_mysql_free(&m);
		assert_null(m.host);
		dsn_mysql_free(&m); /* twice is fine */
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct dsn_mysql m;
		struct cerr err = {0};

		if (dsn_parse_mysql_url(bad[i].url, &m, &err) != -1)
			fail_msg("%s: parsed, expected: %s", bad[i].url ? bad[i].url : "NULL", bad[i].msg);
		assert_string_equal(err.msg, bad[i].msg);
		assert_null(strstr(err.msg, SECRET));
		assert_null(m.host);
		assert_null(m.user);
		assert_null(m.password);
		assert_null(m.database);
		assert_null(m.socket);
	}
	dsn_mysql_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sink_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_env_expansion),
		cmocka_unit_test(test_shipped_docker_config),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_cut_and_corrupted_files),
		cmocka_unit_test(test_dsn_redact),
		cmocka_unit_test(test_mysql_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
