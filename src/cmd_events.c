/* cmd_events.c: `cleave events --table SCHEMA.TABLE`: prints the events of one table's topic, decoded, one
 * JSON object per line: {"partition", "offset", "key", "value"} (value null for a tombstone). Reads from
 * the beginning of every partition up to the current end; joins no consumer group. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/topic_reader.h"
#include "schema/schema_topic.h"
#include "src/cli.h"

#define EVENTS_TIMEOUT_MS 60000

struct events_state {
	struct schema_topic *schemas;
	long limit; /* 0: all */
	long printed;
};

static void events_usage(FILE *f)
{
	fprintf(f, "usage: cleave events [-c FILE] --table SCHEMA.TABLE [--limit N]\n\n"
	           "Prints the events capture wrote for one source table, decoded from Avro with the schemas in\n"
	           "<topic_prefix>._schemas, one JSON object per line with partition, offset, key and value.\n\n"
	           "  -c, --config FILE   configuration file (default %s)\n"
	           "  -t, --table NAME    source table, e.g. public.orders\n"
	           "  -n, --limit N       print at most N events\n"
	           "  -h, --help          this text\n",
	           CLI_DEFAULT_CONFIG);
}

static json_t *events_decode(struct events_state *s, const void *p, size_t n, struct cerr *err)
{
	return p ? schema_topic_decode(s->schemas, p, n, err) : json_null();
}

static int events_print(void *arg, const rd_kafka_message_t *m, struct cerr *err)
{
	struct events_state *s = arg;
	json_t *key, *value, *line;
	char *text;

	if (s->limit && s->printed >= s->limit)
		return 0;
	key = events_decode(s, m->key, m->key_len, err);
	if (!key)
		return cerr_wrap(err, "key at partition %d offset %lld", m->partition, (long long)m->offset);
	value = events_decode(s, m->payload, m->len, err);
	if (!value) {
		json_decref(key);
		return cerr_wrap(err, "value at partition %d offset %lld", m->partition, (long long)m->offset);
	}
	line = json_pack("{s:i, s:I, s:o, s:o}", "partition", (int)m->partition, "offset", (json_int_t)m->offset,
	                 "key", key, "value", value);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(line);
	if (!text)
		return cerr_set(err, false, "out of memory");
	puts(text);
	free(text);
	s->printed++;
	return 0;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"table", required_argument, NULL, 't'},
	                                     {"limit", required_argument, NULL, 'n'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = CLI_DEFAULT_CONFIG, *table = NULL;
	struct events_state s = {0};
	struct cleave_config *cfg;
	struct cerr err = {0};
	char topic[512], *end;
	int c, rc = EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			table = optarg;
			break;
		case 'n':
			s.limit = strtol(optarg, &end, 10);
			if (*end || s.limit <= 0) {
				fprintf(stderr, "cleave events: --limit wants a positive number, got '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			events_usage(stdout);
			return EXIT_OK;
		default:
			events_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!table || optind < argc) {
		events_usage(stderr);
		return EXIT_USAGE;
	}
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	snprintf(topic, sizeof topic, "%s.%s%s", cfg->kafka.topic_prefix, strchr(table, '.') ? "" : "public.", table);
	s.schemas = schema_topic_new(cfg);
	if (!s.schemas)
		fprintf(stderr, "cleave events: out of memory\n");
	else if (topic_read_all(cfg, topic, EVENTS_TIMEOUT_MS, events_print, &s, &err) < 0)
		fprintf(stderr, "cleave events: %s\n", err.msg);
	else
		rc = EXIT_OK;
	schema_topic_free(s.schemas);
	cfg_free(cfg);
	return rc;
}
