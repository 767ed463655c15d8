/* cmd_capture.c: `cleave capture [-c FILE]`. */
#include <stdio.h>

#include "capture/capture.h"
#include "src/cli.h"

static void capture_usage(FILE *f)
{
	fprintf(f, "usage: cleave capture [-c FILE]\n\n"
	           "Streams the tables of source.tables from the source PostgreSQL into Kafka, one topic per table\n"
	           "(<kafka.topic_prefix>.<schema>.<table>), until SIGINT or SIGTERM; then waits for Kafka to\n"
	           "acknowledge what was sent, confirms it to PostgreSQL and exits 0. Creates the publication and\n"
	           "the replication slot when they are missing.\n\n"
	           "  -c, --config FILE  configuration file (default %s)\n"
	           "  -h, --help         this text\n\n"
	           "Exit status: 0 after a requested stop, 2 for a configuration error or a problem that needs a\n"
	           "person (the message says what to do).\n",
	           CLI_DEFAULT_CONFIG);
}

int cmd_capture(int argc, char **argv)
{
	const char *path;
	struct cleave_config *cfg;
	struct cerr err = {0};
	int rc;

	rc = cli_parse_config_only(argc, argv, "capture", capture_usage, &path);
	if (rc >= 0)
		return rc;
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	cli_install_signals();
	rc = capture_run(cfg, cli_stop_requested, &err);
	if (rc < 0)
		fprintf(stderr, "cleave capture: %s\n", err.msg);
	cfg_free(cfg);
	return rc < 0 ? EXIT_USAGE : EXIT_OK;
}
