/* cli.c: see cli.h. The stop flag is the process's only mutable global besides the log level. */
#include "src/cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

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
