/* cmd_reconcile.c: `cleave reconcile [-c FILE] --sink NAME [--table SRC]... [--json] [--repair [--dry-run]]`
 * (SPEC.md §6; docs/reconcile.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "reconcile/reconcile.h"
#include "src/cli.h"

#define RECONCILE_MAX_TABLES 256

static void reconcile_usage(FILE *f)
{
	fprintf(f, "usage: cleave reconcile [-c FILE] --sink NAME [--table SRC]... [--json] [--repair [--dry-run]]\n\n"
	           "Compares, for every mapping of sink NAME, the source table (projected and renamed as the mapping\n"
	           "says) with the target table, and prints per table the rows in each, and the keys missing from the\n"
	           "target, extra in it, and different. Both databases hash key ranges themselves: only ranges that\n"
	           "differ are looked at more closely. A difference counts only if it is still there after the sink\n"
	           "has applied past the source position where it was seen (waited for up to --timeout).\n\n"
	           "  -c, --config FILE   configuration file (default %s)\n"
	           "  -s, --sink NAME     the sink whose target to compare (sinks[].name)\n"
	           "  -t, --table SRC     only this source table's mapping (schema.table or table; repeatable)\n"
	           "      --json          print the report as one JSON object\n"
	           "      --repair        make the target equal to the source for the differing keys\n"
	           "      --dry-run       with --repair: list what it would do, change nothing\n"
	           "      --limit N       keys listed per kind of difference (default 10)\n"
	           "      --timeout SEC   how long to wait for the pipeline to catch up (default 60)\n"
	           "      --range-rows N  rows per first-level range (default 10000)\n"
	           "  -h, --help          this text\n\n"
	           "Exit status: 0 no drift (or, with --repair, all of it repaired), 1 drift, or differences still\n"
	           "in flight at the timeout, 2 a usage, configuration or connection error.\n",
	           CLI_DEFAULT_CONFIG);
}

static int reconcile_int_arg(const char *opt, const char *v, int lo, int hi, int *out)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
		fprintf(stderr, "cleave reconcile: %s: expected a whole number from %d to %d, got '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

int cmd_reconcile(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_REPAIR, OPT_DRY_RUN, OPT_LIMIT, OPT_TIMEOUT, OPT_RANGE_ROWS };
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"sink", required_argument, NULL, 's'},
	                                     {"table", required_argument, NULL, 't'},
	                                     {"json", no_argument, NULL, OPT_JSON},
	                                     {"repair", no_argument, NULL, OPT_REPAIR},
	                                     {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	                                     {"limit", required_argument, NULL, OPT_LIMIT},
	                                     {"timeout", required_argument, NULL, OPT_TIMEOUT},
	                                     {"range-rows", required_argument, NULL, OPT_RANGE_ROWS},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = CLI_DEFAULT_CONFIG, *name = NULL;
	const char *tables[RECONCILE_MAX_TABLES];
	struct reconcile_opts o = {.limit = 10, .timeout_s = 60, .range_rows = 10000, .leaf_rows = 32,
	                           .repair_batch = 500};
	const struct cfg_sink *scfg;
	struct cleave_config *cfg;
	enum reconcile_outcome outcome;
	struct cerr err = {0};
	int c, range_rows;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 's':
			name = optarg;
			break;
		case 't':
			if (o.ntables == RECONCILE_MAX_TABLES) {
				fprintf(stderr, "cleave reconcile: at most %d --table options\n", RECONCILE_MAX_TABLES);
				return EXIT_USAGE;
			}
			tables[o.ntables++] = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_REPAIR:
			o.repair = true;
			break;
		case OPT_DRY_RUN:
			o.dry_run = true;
			break;
		case OPT_LIMIT:
			if (reconcile_int_arg("--limit", optarg, 0, 1000000, &o.limit) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (reconcile_int_arg("--timeout", optarg, 0, 86400, &o.timeout_s) < 0)
				return EXIT_USAGE;
			break;
		case OPT_RANGE_ROWS:
			if (reconcile_int_arg("--range-rows", optarg, 64, 100000000, &range_rows) < 0)
				return EXIT_USAGE;
			o.range_rows = range_rows;
			break;
		case 'h':
			reconcile_usage(stdout);
			return EXIT_OK;
		default:
			reconcile_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!name || optind < argc || (o.dry_run && !o.repair)) {
		fprintf(stderr, "cleave reconcile: %s\n",
		        !name ? "--sink NAME is required" : optind < argc ? "unexpected argument" : "--dry-run needs --repair");
		reconcile_usage(stderr);
		return EXIT_USAGE;
	}
	o.tables = tables;
	o.progress = isatty(STDERR_FILENO) == 1;
	cfg = cli_load_config(path);
	if (!cfg)
		return EXIT_USAGE;
	scfg = cfg_find_sink(cfg, name);
	if (!scfg) {
		fprintf(stderr, "cleave reconcile: %s has no sink named '%s'\n", path, name);
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	if (reconcile_run(cfg, scfg, &o, stdout, &outcome, &err) < 0) {
		fprintf(stderr, "cleave reconcile: %s\n", err.msg);
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	cfg_free(cfg);
	return outcome == RECONCILE_CLEAN ? EXIT_OK : EXIT_PROBLEM;
}
