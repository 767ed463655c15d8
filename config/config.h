/* config.h: cleave.yaml parsed once into an immutable, validated struct (SPEC.md §2).
 * Parsing is table-driven and strict: unknown keys, wrong types, duplicates and missing required keys are
 * errors naming file:line and the key. ${NAME} is replaced from the environment (missing: an error). */
#ifndef CLEAVE_CONFIG_H
#define CLEAVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/log.h"

struct cfg_kv {
	char *key;
	char *value;
};

struct cfg_table {
	char *schema; /* "public" when the config says just "users" */
	char *name;
};

struct cfg_mapping {
	struct cfg_table source;
	char *target;      /* default: the source table's name */
	char **columns;    /* projection; NULL (ncolumns 0) = all columns */
	size_t ncolumns;
	struct cfg_kv *rename; /* source column -> target column */
	size_t nrename;
	int line;          /* where it was written, for later error messages */
};

enum cfg_sink_type { CFG_SINK_POSTGRES, CFG_SINK_MYSQL };
enum cfg_on_error { CFG_ON_ERROR_DLQ, CFG_ON_ERROR_STOP };

/* Most target connections one sink process applies batches on (sinks[].apply_connections). */
#define CFG_SINK_LANES_MAX 8

struct cfg_sink {
	char *name;
	enum cfg_sink_type type;
	char *dsn;
	bool create_tables;          /* default false */
	enum cfg_on_error on_error;  /* default dlq */
	int batch_size;              /* events per target transaction, default 5000 */
	int batch_ms;                /* max latency of a batch, default 100 */
	int apply_connections;       /* target connections applying batches in parallel, default 2 */
	struct cfg_mapping *mappings;
	size_t nmappings;
	int line;
};

enum cfg_snapshot { CFG_SNAPSHOT_INITIAL, CFG_SNAPSHOT_NEVER };

struct cleave_config {
	char *path;
	struct {
		char *dsn;
		char *slot;        /* default "cleave" */
		char *publication; /* default "cleave" */
		struct cfg_table *tables;
		size_t ntables;
		enum cfg_snapshot snapshot; /* default initial */
		int status_interval_ms;     /* standby status / idle confirm interval, default 1000 */
	} source;
	struct {
		char *brokers;
		char *topic_prefix;
		struct cfg_kv *properties; /* passed to librdkafka as they are */
		size_t nproperties;
	} kafka;
	struct cfg_sink *sinks;
	size_t nsinks;
	struct {
		char *listen; /* NULL: no metrics endpoint */
	} metrics;
	struct {
		enum log_level level; /* default info */
	} log;
};

/* Loads and validates the file. Returns the config (caller frees with cfg_free), or NULL with err:
 * "cleave.yaml:12: sinks[0].type: expected postgres or mysql, got 'oracle'". */
struct cleave_config *cfg_load(const char *path, struct cerr *err);
void cfg_free(struct cleave_config *cfg);

/* Looks a sink up by name; NULL when there is none. */
const struct cfg_sink *cfg_find_sink(const struct cleave_config *cfg, const char *name);

#endif
