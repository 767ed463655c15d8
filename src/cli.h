/* cli.h: what every subcommand shares: exit codes, the -c/--config option, loading the config. */
#ifndef CLEAVE_CLI_H
#define CLEAVE_CLI_H

#include <stdio.h>

#include "config/config.h"

/* SPEC.md §1 exit codes */
#define EXIT_OK 0
#define EXIT_PROBLEM 1 /* ran, but found a problem (drift, failed check) */
#define EXIT_USAGE 2   /* usage, config or connection error */

#define CLI_DEFAULT_CONFIG "./cleave.yaml"

/* Loads the config at path, prints "cleave: <error>" to stderr on failure and returns NULL. Sets the log
 * level from the config. */
struct cleave_config *cli_load_config(const char *path);

/* Parses the options of a subcommand that takes only -c/--config and -h/--help: sets *path (default
 * CLI_DEFAULT_CONFIG). Returns -1 to go on, or the exit code to return at once (after --help, or a usage
 * error; usage() prints the subcommand's usage to the stream it is given). */
int cli_parse_config_only(int argc, char **argv, const char *cmd, void (*usage)(FILE *f), const char **path);
/* cli_parse_config_only that also takes -m/--metrics-listen HOST:PORT into *metrics_listen (left as it is
 * when not given); with metrics_listen NULL, exactly cli_parse_config_only. */
int cli_parse_options(int argc, char **argv, const char *cmd, void (*usage)(FILE *f), const char **path,
                      const char **metrics_listen);

/* Serves metrics (common/metrics.h) at `listen`, else at the config's metrics.listen, else not at all.
 * Prints "cleave <cmd>: <why>" and returns -1 when the address cannot be used. */
int cli_start_metrics(const struct cleave_config *cfg, const char *listen, const char *cmd);

/* Installs SIGINT/SIGTERM handlers that set the flag cli_stop_requested() reads (and ignore SIGPIPE). */
void cli_install_signals(void);
int cli_stop_requested(void);

/* Each subcommand: parses its own options (getopt_long), returns an exit code. */
int cmd_capture(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_sink(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
