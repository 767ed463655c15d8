/* main.c: `cleave <subcommand> [options]`: dispatches to the subcommands of SPEC.md §1. */
#include <stdio.h>
#include <string.h>

#include "src/cli.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"capture", cmd_capture, "stream the source PostgreSQL into Kafka until SIGINT/SIGTERM"},
	{"sink", cmd_sink, "apply the events of one sink's mappings to its database"},
	{"reconcile", cmd_reconcile, "compare a sink's target tables with the source; report drift, or repair it"},
	{"status", cmd_status, "show the slot's retained WAL and each sink's lag and applied position"},
	{"snapshot", cmd_snapshot, "ask capture to copy tables again while it streams"},
	{"check", cmd_check, "validate the config and try every connection"},
	{"events", cmd_events, "print the events of one table's topic, decoded, as JSON lines"},
	{"version", cmd_version, "print the version of cleave and of the libraries it uses"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cleave <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\nEvery command takes -c/--config FILE (default %s) and --help.\n", CLI_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv);
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "cleave: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
