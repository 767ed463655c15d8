/* kafkatest.c: see kafkatest.h. */
#include "tests/support/kafkatest.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "schema/avro_decode.h"
#include "schema/avro_write.h"
#include "tests/support/testenv.h"

#define KT_ERR_MAX 1024

/* ---- owned message lists ---- */

static void *kt_dup(const void *p, size_t n)
{
	char *d;

	if (!p)
		return NULL;
	d = malloc(n + 1);
	if (!d)
		fail_msg("kafkatest: out of memory");
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static void kt_msg_free(struct ktest_msg *m)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->key);
	free(m->value);
}

void ktest_msgs_free(struct ktest_msgs *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		kt_msg_free(&m->v[i]);
	free(m->v);
	free(m);
}

const struct ktest_header *ktest_msg_header(const struct ktest_msg *m, const char *name)
{
	size_t i;

	for (i = m->nheaders; i > 0; i--)
		if (strcmp(m->headers[i - 1].name, name) == 0)
			return &m->headers[i - 1];
	return NULL;
}

/* Appends a copy of rkm to out. Returns 0, or -1 when memory runs out. */
static int kt_msgs_append(struct ktest_msgs *out, size_t *cap, const rd_kafka_message_t *rkm)
{
	rd_kafka_headers_t *hdrs = NULL;
	struct ktest_msg *m;
	size_t i, nh;

	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct ktest_msg *v = realloc(out->v, ncap * sizeof *v);

		if (!v)
			return -1;
		out->v = v;
		*cap = ncap;
	}
	m = &out->v[out->n];
	memset(m, 0, sizeof *m);
	m->partition = rkm->partition;
	m->offset = rkm->offset;
	m->timestamp = rd_kafka_message_timestamp(rkm, NULL);
	m->key = kt_dup(rkm->key, rkm->key_len);
	m->key_len = rkm->key ? rkm->key_len : 0;
	m->value = kt_dup(rkm->payload, rkm->len);
	m->value_len = rkm->payload ? rkm->len : 0;
	if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		nh = rd_kafka_header_cnt(hdrs);
		m->headers = calloc(nh ? nh : 1, sizeof *m->headers);
		if (!m->headers) {
			kt_msg_free(m);
			return -1;
		}
		for (i = 0; i < nh; i++) {
			const char *name;
			const void *val;
			size_t len;

			if (rd_kafka_header_get_all(hdrs, i, &name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
				break;
			m->headers[i].name = kt_dup(name, strlen(name));
			m->headers[i].value = kt_dup(val, len);
			m->headers[i].len = val ? len : 0;
			m->nheaders = i + 1;
		}
	}
	out->n++;
	return 0;
}

static int kt_msg_cmp(const void *a, const void *b)
{
	const struct ktest_msg *x = a, *y = b;

	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* ---- clients ---- */

static int kt_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errsz)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
		return 0;
	snprintf(err, errsz, "kafkatest: property %s=%s: %s", name, value, errstr);
	return -1;
}

rd_kafka_conf_t *kafkatest_conf(const char *const *props)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[KT_ERR_MAX];
	size_t i;

	if (kt_conf_set(conf, "bootstrap.servers", testenv_get("CLEAVE_TEST_KAFKA_BROKERS"), err, sizeof err) < 0 ||
	    kt_conf_set(conf, "client.id", "cleave-test", err, sizeof err) < 0)
		goto fail;
	for (i = 0; props && props[i]; i += 2) {
		if (!props[i + 1]) {
			snprintf(err, sizeof err, "kafkatest: property %s has no value", props[i]);
			goto fail;
		}
		if (kt_conf_set(conf, props[i], props[i + 1], err, sizeof err) < 0)
			goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	fail_msg("%s", err);
	return NULL;
}

/* Delivery state of one kafkatest_produce_sync message (its opaque). */
struct kt_dr {
	bool done;
	rd_kafka_resp_err_t err;
};

static void kt_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	struct kt_dr *dr = rkm->_private;

	(void)rk;
	(void)opaque;
	if (dr) {
		dr->err = rkm->err;
		dr->done = true;
	}
}

static rd_kafka_t *kt_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char errstr[512], msg[600];
	rd_kafka_t *rk;

	if (type == RD_KAFKA_PRODUCER)
		rd_kafka_conf_set_dr_msg_cb(conf, kt_dr_cb);
	rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
	if (rk)
		return rk;
	rd_kafka_conf_destroy(conf);
	snprintf(msg, sizeof msg, "kafkatest: rd_kafka_new: %s", errstr);
	fail_msg("%s", msg);
	return NULL;
}

rd_kafka_t *kafkatest_producer_new(const char *const *props)
{
	return kt_new(RD_KAFKA_PRODUCER, kafkatest_conf(props));
}

rd_kafka_resp_err_t kafkatest_produce_sync(rd_kafka_t *rk, const char *topic, int32_t partition,
                                           const void *key, size_t key_len, const void *value,
                                           size_t value_len, const struct ktest_header *headers,
                                           size_t nheaders, int timeout_ms)
{
	struct kt_dr dr = {false, RD_KAFKA_RESP_ERR_NO_ERROR};
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t err;
	int64_t deadline = clock_mono_ms() + timeout_ms, stuck;
	size_t i;

	if (nheaders) {
		hdrs = rd_kafka_headers_new(nheaders);
		for (i = 0; i < nheaders; i++)
			rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
			                    headers[i].value ? (ssize_t)headers[i].len : 0);
	}
	err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
	                        RD_KAFKA_V_KEY(key, key ? key_len : 0),
	                        RD_KAFKA_V_VALUE((void *)value, value ? value_len : 0),
	                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
	                        RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END);
	if (err) {
		if (hdrs)
			rd_kafka_headers_destroy(hdrs); /* producev takes them only on success */
		fail_msg("kafkatest_produce_sync(%s): cannot queue the message: %s", topic, rd_kafka_err2str(err));
	}
	while (!dr.done && clock_mono_ms() < deadline)
		rd_kafka_poll(rk, 20);
	if (dr.done)
		return dr.err;
	/* Out of time: purge, so the report (pointing at dr on this stack) is served before we return. */
	rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	stuck = clock_mono_ms() + 60000;
	while (!dr.done) {
		if (clock_mono_ms() > stuck) {
			print_error("kafkatest_produce_sync: no delivery report even after a purge\n");
			abort();
		}
		rd_kafka_poll(rk, 20);
	}
	return dr.err;
}

void kafkatest_produce(const char *topic, const char *key, const char *value)
{
	rd_kafka_t *rk = kafkatest_producer_new(NULL);
	rd_kafka_resp_err_t err;

	err = kafkatest_produce_sync(rk, topic, RD_KAFKA_PARTITION_UA, key, key ? strlen(key) : 0, value,
	                             value ? strlen(value) : 0, NULL, 0, 30000);
	rd_kafka_destroy(rk);
	if (err)
		fail_msg("kafkatest_produce(%s): %s", topic, rd_kafka_err2str(err));
}

/* ---- reading whole topics ---- */

/* Partition count of topic as rk's metadata shows it, waiting until deadline for the topic to exist.
 * Returns the count, or -1 with err. */
static int kt_partitions(rd_kafka_t *rk, const char *topic, int64_t deadline, char *err, size_t errsz)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e;
	int64_t left;
	int n = -1;

	snprintf(err, errsz, "kafkatest: topic %s: no metadata", topic);
	for (;;) {
		left = deadline - clock_mono_ms();
		if (left <= 0)
			break;
		e = rd_kafka_metadata(rk, 0, rkt, &md, (int)(left < 2000 ? left : 2000));
		if (e) {
			snprintf(err, errsz, "kafkatest: metadata of topic %s: %s", topic, rd_kafka_err2str(e));
		} else {
			if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
				n = md->topics[0].partition_cnt;
			else if (md->topic_cnt == 1)
				snprintf(err, errsz, "kafkatest: topic %s: %s", topic,
				         rd_kafka_err2str(md->topics[0].err));
			rd_kafka_metadata_destroy(md);
			if (n > 0)
				break;
		}
		rd_kafka_poll(rk, 100); /* not there yet: ask again shortly */
	}
	rd_kafka_topic_destroy(rkt);
	return n;
}

enum kt_until { KT_COUNT, KT_IDLE, KT_END };

/* The one reader behind the kafkatest_consume* functions. done[p]: partition p needs no more reading:
 * KT_END: it reached the high watermark queried at the start; KT_IDLE: it reached its end once (so the
 * quiet period counts from when the reader has caught up, not from when it started fetching). */
static struct ktest_msgs *kt_read(const char *topic, enum kt_until until, size_t want, int idle_ms,
                                  int timeout_ms)
{
	const char *props[] = {"group.id", testenv_unique("ktest"), "enable.auto.commit", "false",
	                       "enable.auto.offset.store", "false", "auto.offset.reset", "earliest",
	                       "enable.partition.eof", until == KT_COUNT ? "false" : "true", NULL};
	int64_t deadline = clock_mono_ms() + timeout_ms, last = clock_mono_ms(), now;
	rd_kafka_topic_partition_list_t *parts = NULL;
	rd_kafka_resp_err_t lasterr = RD_KAFKA_RESP_ERR_NO_ERROR;
	struct ktest_msgs *out = calloc(1, sizeof *out);
	int64_t *hi = NULL;
	char *done = NULL;
	char err[KT_ERR_MAX] = "";
	size_t cap = 0;
	rd_kafka_t *rk;
	int nparts, p, ndone = 0;

	if (!out)
		fail_msg("kafkatest: out of memory");
	rk = kt_new(RD_KAFKA_CONSUMER, kafkatest_conf(props));
	nparts = kt_partitions(rk, topic, deadline, err, sizeof err);
	if (nparts < 0)
		goto cleanup;
	err[0] = '\0';
	hi = calloc((size_t)nparts, sizeof *hi);
	done = calloc((size_t)nparts, 1);
	parts = rd_kafka_topic_partition_list_new(nparts);
	if (!hi || !done) {
		snprintf(err, sizeof err, "kafkatest: out of memory");
		goto cleanup;
	}
	for (p = 0; p < nparts; p++) {
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
		if (until == KT_END) {
			int64_t lo, left = deadline - clock_mono_ms();
			rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p],
			                                                         (int)(left > 0 ? left : 1));
			if (e) {
				snprintf(err, sizeof err, "kafkatest: watermarks of %s [%d]: %s", topic, p,
				         rd_kafka_err2str(e));
				goto cleanup;
			}
			if (hi[p] <= lo) {
				done[p] = 1;
				ndone++;
			}
		}
	}
	if ((lasterr = rd_kafka_assign(rk, parts)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, sizeof err, "kafkatest: assign %s: %s", topic, rd_kafka_err2str(lasterr));
		goto cleanup;
	}

	for (;;) {
		rd_kafka_message_t *rkm;

		now = clock_mono_ms();
		if ((until == KT_COUNT && out->n >= want) || (until == KT_END && ndone == nparts) ||
		    (until == KT_IDLE && ndone == nparts && now - last >= idle_ms))
			break;
		if (now >= deadline) {
			if (until == KT_END)
				snprintf(err, sizeof err,
				         "kafkatest: %s: did not reach the end of %d of %d partition(s) in %d ms (last "
				         "error: %s)",
				         topic, nparts - ndone, nparts, timeout_ms, rd_kafka_err2str(lasterr));
			break;
		}
		rkm = rd_kafka_consumer_poll(rk, (int)(deadline - now < 100 ? deadline - now : 100));
		if (!rkm)
			continue;
		p = rkm->partition;
		if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (p >= 0 && p < nparts && !done[p] && (until == KT_IDLE || rkm->offset >= hi[p])) {
				done[p] = 1;
				if (++ndone == nparts)
					last = clock_mono_ms();
			}
		} else if (rkm->err) {
			/* brokers going down and coming back are part of the tests: note it, keep reading */
			if (rkm->err != lasterr)
				print_message("kafkatest: reading %s: %s\n", topic, rd_kafka_message_errstr(rkm));
			lasterr = rkm->err;
		} else if (p >= 0 && p < nparts && !(until == KT_END && rkm->offset >= hi[p])) {
			if (kt_msgs_append(out, &cap, rkm) < 0) {
				rd_kafka_message_destroy(rkm);
				snprintf(err, sizeof err, "kafkatest: out of memory");
				break;
			}
			last = clock_mono_ms();
			if (until == KT_END && !done[p] && rkm->offset >= hi[p] - 1) {
				done[p] = 1;
				ndone++;
			}
		}
		rd_kafka_message_destroy(rkm);
	}

cleanup:
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	free(hi);
	free(done);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (err[0]) {
		ktest_msgs_free(out);
		fail_msg("%s", err);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, kt_msg_cmp);
	return out;
}

struct ktest_msgs *kafkatest_consume(const char *topic, size_t n, int timeout_ms)
{
	return kt_read(topic, KT_COUNT, n, 0, timeout_ms);
}

struct ktest_msgs *kafkatest_consume_idle(const char *topic, int idle_ms, int timeout_ms)
{
	return kt_read(topic, KT_IDLE, 0, idle_ms, timeout_ms);
}

struct ktest_msgs *kafkatest_consume_to_end(const char *topic, int timeout_ms)
{
	return kt_read(topic, KT_END, 0, 0, timeout_ms);
}

int kafkatest_partition_count(const char *topic, int timeout_ms)
{
	rd_kafka_t *rk = kt_new(RD_KAFKA_PRODUCER, kafkatest_conf(NULL));
	char err[KT_ERR_MAX];
	int n = kt_partitions(rk, topic, clock_mono_ms() + timeout_ms, err, sizeof err);

	rd_kafka_destroy(rk);
	if (n < 0)
		fail_msg("%s", err);
	return n;
}

/* ---- schemas and decoding ---- */

struct kt_schema {
	uint64_t id;
	char *json;
	struct avro_decoder *reader; /* made on first use */
};

struct ktest_schemas {
	char *topic;
	struct kt_schema *v;
	size_t n, cap;
};

static struct kt_schema *kt_schema_find(struct ktest_schemas *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return &s->v[i];
	return NULL;
}

/* Reads the schemas topic to its end and adds the ids not known yet. */
static void kt_schemas_read(struct ktest_schemas *s)
{
	struct ktest_msgs *m = kafkatest_consume_to_end(s->topic, 30000);
	char bad[256] = "";
	size_t i;

	for (i = 0; i < m->n && !bad[0]; i++) {
		const struct ktest_msg *msg = &m->v[i];
		char *end;
		uint64_t id;

		if (!msg->value)
			continue;
		errno = 0;
		id = msg->key && msg->key_len == 16 ? strtoull(msg->key, &end, 16) : 0;
		if (!msg->key || msg->key_len != 16 || errno || *end) {
			snprintf(bad, sizeof bad, "kafkatest: %s [%d] offset %lld: key is not 16 hex digits", s->topic,
			         (int)msg->partition, (long long)msg->offset);
			break;
		}
		if (kt_schema_find(s, id))
			continue;
		if (s->n == s->cap) {
			size_t ncap = s->cap ? s->cap * 2 : 16;
			struct kt_schema *v = realloc(s->v, ncap * sizeof *v);

			if (!v) {
				snprintf(bad, sizeof bad, "kafkatest: out of memory");
				break;
			}
			s->v = v;
			s->cap = ncap;
		}
		s->v[s->n].id = id;
		s->v[s->n].reader = NULL;
		s->v[s->n].json = msg->value; /* take it over from the message */
		m->v[i].value = NULL;
		s->n++;
	}
	ktest_msgs_free(m);
	if (bad[0])
		fail_msg("%s", bad);
}

struct ktest_schemas *kafkatest_schemas_load(const char *prefix)
{
	struct ktest_schemas *s = calloc(1, sizeof *s);

	if (!s || !(s->topic = strdup(testenv_fmt("%s._schemas", prefix))))
		fail_msg("kafkatest: out of memory");
	kt_schemas_read(s);
	return s;
}

void kafkatest_schemas_free(struct ktest_schemas *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		avro_decoder_free(s->v[i].reader);
		free(s->v[i].json);
	}
	free(s->v);
	free(s->topic);
	free(s);
}

static struct kt_schema *kt_schema_get(struct ktest_schemas *s, uint64_t id)
{
	struct kt_schema *sc = kt_schema_find(s, id);

	if (!sc) {
		kt_schemas_read(s);
		sc = kt_schema_find(s, id);
	}
	return sc;
}

const char *kafkatest_schema_json(struct ktest_schemas *s, uint64_t id)
{
	struct kt_schema *sc = kt_schema_get(s, id);

	return sc ? sc->json : NULL;
}

json_t *kafkatest_decode(struct ktest_schemas *s, const void *p, size_t n)
{
	struct cerr err = {0};
	struct kt_schema *sc;
	uint64_t id;
	json_t *j;

	if (!p)
		return NULL;
	if (avro_get_soe_header(p, n, &id) < 0)
		fail_msg("kafkatest_decode: the %zu bytes do not start with an Avro single-object header", n);
	sc = kt_schema_get(s, id);
	if (!sc)
		fail_msg("kafkatest_decode: schema %016llx is not in %s", (unsigned long long)id, s->topic);
	if (!sc->reader && !(sc->reader = avro_decoder_new(sc->json, &err)))
		fail_msg("kafkatest_decode: schema %016llx: %s", (unsigned long long)id, err.msg);
	j = avro_decoder_decode(sc->reader, (const uint8_t *)p + AVRO_SOE_HEADER_LEN, n - AVRO_SOE_HEADER_LEN, &err);
	if (!j)
		fail_msg("kafkatest_decode: schema %016llx: %s", (unsigned long long)id, err.msg);
	return j;
}
