/* cmd_capture.c: `cleave capture [-c FILE]`. */
#include <getopt.h>
#include <stdio.h>

#include "capture/capture.h"
#include "common/metrics.h"
#include "src/cli.h"

static void capture_usage(FILE *f)
{
	fprintf(f, "usage: cleave capture [-c FILE] [--metrics-listen HOST:PORT]\n\n"
	           "Streams the tables of source.tables from the source PostgreSQL into Kafka, one topic per table\n"
	           "(<kafka.topic_prefix>.<schema>.<table>), until SIGINT or SIGTERM; then waits for Kafka to\n"
	           "acknowledge what was sent, confirms it to PostgreSQL and exits 0. Creates the publication and\n"
	           "the replication slot when they are missing.\n\n"
	           "  -c, --config FILE              configuration file (default %s)\n"
	           "  -m, --metrics-listen HOST:PORT serve Prometheus metrics at /metrics there (default:\n"
	           "                                 metrics.listen of the config; none when neither is set)\n"
	           "  -h, --help                     this text\n\n"
	           "Exit status: 0 after a requested stop, 2 for a configuration error or a problem that needs a\n"
	           "person (the message says what to do).\n",
	           CLI_DEFAULT_CONFIG);
}

int cmd_capture(int argc, char **argv)
{
	const char *path = CLI_DEFAULT_CONFIG, *metrics_listen = NULL;
	struct cleave_config *cfg;
	struct cerr err = {0};
	int rc;

	if ((rc = cli_parse_options(argc, argv, "capture", capture_usage, &path, &metrics_listen)) >= 0)
		return rc;
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	if (cli_start_metrics(cfg, metrics_listen, "capture") < 0) {
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	cli_install_signals();
	rc = capture_run(cfg, cli_stop_requested, &err);
	if (rc < 0)
		fprintf(stderr, "cleave capture: %s\n", err.msg);
	metrics_stop();
	cfg_free(cfg);
	return rc < 0 ? EXIT_USAGE : EXIT_OK;
}
