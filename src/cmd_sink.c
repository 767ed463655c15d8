/* cmd_sink.c: `cleave sink [-c FILE] --sink NAME`. */
#include <getopt.h>
#include <stdio.h>

#include "common/metrics.h"
#include "config/config.h"
#include "sinks/sink.h"
#include "src/cli.h"

static void sink_usage(FILE *f)
{
	fprintf(f, "usage: cleave sink [-c FILE] --sink NAME [--metrics-listen HOST:PORT]\n\n"
	           "Consumes the topics of sink NAME's mappings in consumer group cleave.NAME and applies them to\n"
	           "its database (PostgreSQL or MySQL), effectively once: the Kafka offset and the source position\n"
	           "of every partition are stored in the target in the same transaction as the rows. Runs until\n"
	           "SIGINT or SIGTERM; several processes of one sink share the partitions.\n\n"
	           "  -c, --config FILE              configuration file (default %s)\n"
	           "  -s, --sink NAME                the sink to run (sinks[].name)\n"
	           "  -m, --metrics-listen HOST:PORT serve Prometheus metrics at /metrics there (default:\n"
	           "                                 metrics.listen of the config, which capture may be using:\n"
	           "                                 give each process on one machine its own)\n"
	           "  -h, --help                     this text\n\n"
	           "Exit status: 0 after a requested stop, 2 for a configuration error, a mapping the target cannot\n"
	           "hold, or an event that cannot be applied with on_error: stop.\n",
	           CLI_DEFAULT_CONFIG);
}

int cmd_sink(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"sink", required_argument, NULL, 's'},
	                                     {"metrics-listen", required_argument, NULL, 'm'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = CLI_DEFAULT_CONFIG, *name = NULL, *metrics_listen = NULL;
	const struct cfg_sink *scfg;
	struct cleave_config *cfg;
	struct cerr err = {0};
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 's':
			name = optarg;
			break;
		case 'm':
			metrics_listen = optarg;
			break;
		case 'h':
			sink_usage(stdout);
			return EXIT_OK;
		default:
			sink_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!name || optind < argc) {
		fprintf(stderr, "cleave sink: %s\n", name ? "unexpected argument" : "--sink NAME is required");
		sink_usage(stderr);
		return EXIT_USAGE;
	}
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	scfg = cfg_find_sink(cfg, name);
	if (!scfg) {
		fprintf(stderr, "cleave sink: %s has no sink named '%s'\n", path, name);
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	if (cli_start_metrics(cfg, metrics_listen, "sink") < 0) {
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	cli_install_signals();
	rc = sink_run(cfg, scfg, cli_stop_requested, &err);
	if (rc < 0)
		fprintf(stderr, "cleave sink: %s\n", err.msg);
	metrics_stop();
	cfg_free(cfg);
	return rc < 0 ? EXIT_USAGE : EXIT_OK;
}
