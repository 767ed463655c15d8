/* cli.c: see cli.h. The stop flag is the process's only mutable global besides the log level. */
#include "src/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"

static volatile sig_atomic_t cli_stop;

static void cli_on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cli_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int cli_stop_requested(void)
{
	return cli_stop != 0;
}

struct cleave_config *cli_load_config(const char *path)
{
	struct cerr err = {0};
	struct cleave_config *cfg = cfg_load(path, &err);

	if (!cfg) {
		fprintf(stderr, "cleave: %s\n", err.msg);
		return NULL;
	}
	log_set_level(cfg->log.level);
	return cfg;
}

int cli_parse_options(int argc, char **argv, const char *cmd, void (*usage)(FILE *f), const char **path,
                      const char **metrics_listen)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"metrics-listen", required_argument, NULL, 'm'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	*path = CLI_DEFAULT_CONFIG;
	optind = 1;
	while ((c = getopt_long(argc, argv, metrics_listen ? "c:m:h" : "c:h", metrics_listen ? opts : opts + 1, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			*path = optarg;
			break;
		case 'm':
			*metrics_listen = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cleave %s: unexpected argument '%s'\n", cmd, argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int cli_parse_config_only(int argc, char **argv, const char *cmd, void (*usage)(FILE *f), const char **path)
{
	return cli_parse_options(argc, argv, cmd, usage, path, NULL);
}

int cli_start_metrics(const struct cleave_config *cfg, const char *listen, const char *cmd)
{
	struct cerr err = {0};

	if (!listen)
		listen = cfg->metrics.listen;
	if (!listen)
		return 0;
	if (metrics_serve(listen, &err) < 0) {
		fprintf(stderr, "cleave %s: %s\n", cmd, err.msg);
		return -1;
	}
	log_info(NULL, "metrics at http://%s/metrics", listen);
	return 0;
}
