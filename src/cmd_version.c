/* cmd_version.c: `cleave version`: cleave's version and those of the libraries linked in. */
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <mysql.h>
#include <stdio.h>
#include <yaml.h>

#include "src/cli.h"

int cmd_version(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c, pqv;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: cleave version\n\nPrints the version of cleave and of the libraries it uses.\n");
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "cleave version: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	pqv = PQlibVersion();
	printf("cleave %s\n", CLEAVE_VERSION);
	printf("libpq %d.%d\n", pqv / 10000, pqv % 10000);
	printf("librdkafka %s\n", rd_kafka_version_str());
	printf("mysqlclient %s\n", mysql_get_client_info());
	printf("avro-c %s (build time)\n", CLEAVE_AVRO_VERSION);
	printf("libyaml %s\n", yaml_get_version_string());
	printf("jansson %s\n", jansson_version_str());
	return EXIT_OK;
}
