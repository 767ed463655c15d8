/* client.c: see client.h. */
#include "kafka/client.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

static void kafka_client_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3)
		log_warn("kafka", "%s: %s", fac, buf);
	else
		log_debug("kafka", "%s: %s", fac, buf);
}

rd_kafka_t *kafka_client_new(const struct cleave_config *cfg, const char *group, struct cerr *err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512], private_group[64];
	rd_kafka_t *rk;

	if (!group) {
		snprintf(private_group, sizeof private_group, "cleave.reader.%ld", (long)clock_unix_us());
		group = private_group;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka.brokers, errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr)) {
		rd_kafka_conf_destroy(conf);
		cerr_set(err, false, "kafka consumer: %s", errstr);
		return NULL;
	}
	/* connection and security properties apply to every client; producer-only ones are ignored */
	for (size_t i = 0; i < cfg->kafka.nproperties; i++) {
		const char *k = cfg->kafka.properties[i].key;

		if (strncmp(k, "security.", 9) == 0 || strncmp(k, "sasl.", 5) == 0 || strncmp(k, "ssl.", 4) == 0 ||
		    strcmp(k, "client.id") == 0)
			(void)rd_kafka_conf_set(conf, k, cfg->kafka.properties[i].value, errstr, sizeof errstr);
	}
	rd_kafka_conf_set_log_cb(conf, kafka_client_log);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		cerr_set(err, false, "kafka consumer: %s", errstr);
	}
	return rk;
}

void kafka_client_free(rd_kafka_t *rk)
{
	if (!rk)
		return;
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}
