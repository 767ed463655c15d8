/* test_replproto.c: unit tests of the streaming replication CopyData codec (capture/replproto.c):
 * XLogData 'w' and keepalive 'k' decoding from hand-built bytes, every strict prefix and trailing or
 * unknown bytes failing cleanly, seeded random garbage, and the exact 34 bytes of a status update 'r'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/replproto.h"

static size_t put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return 8;
}

/* Decodes from an exact-size heap copy so ASan sees any read past the end. */
static int decode_copy(const uint8_t *data, size_t len, struct repl_msg *m, struct cerr *err, uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	if (len)
		memcpy(*copy, data, len);
	cerr_clear(err);
	return repl_decode(*copy, len, m, err);
}

static void assert_fails(int rc, const struct cerr *err)
{
	assert_int_equal(rc, -1);
	assert_true(err->set);
	assert_false(err->retriable);
	assert_true(strncmp(err->msg, "replproto: ", 11) == 0);
}

/* Byte1('w') Int64 walStart Int64 walEnd Int64 sendTime Byte[n] payload */
static size_t build_xlogdata(uint8_t *p, const char *payload, size_t n)
{
	size_t len = 0;

	p[len++] = 'w';
	len += put64(p + len, UINT64_C(0x00000016B374D848));
	len += put64(p + len, UINT64_C(0x00000016B3800000));
	len += put64(p + len, UINT64_C(0x0002A2B3C4D5E6F7));
	memcpy(p + len, payload, n);
	return len + n;
}

/* Byte1('k') Int64 walEnd Int64 sendTime Byte1 replyRequested */
static size_t build_keepalive(uint8_t *p, uint8_t reply)
{
	size_t len = 0;

	p[len++] = 'k';
	len += put64(p + len, UINT64_C(0x00000001000000FF));
	len += put64(p + len, UINT64_C(0xFFFFFFFFFFFFFFFE)); /* -2: before 2000 */
	p[len++] = reply;
	return len;
}

static void test_xlogdata(void **state)
{
	static const char payload[] = "B\0\0\0\x16\xb3\x74\xd8\x48";
	uint8_t buf[64], *copy;
	struct repl_msg m;
	struct cerr err;
	size_t len = build_xlogdata(buf, payload, sizeof payload - 1);

	(void)state;
	assert_int_equal(len, 25 + 9);
	assert_int_equal(decode_copy(buf, len, &m, &err, &copy), 0);
	assert_int_equal(m.kind, 'w');
	assert_int_equal(m.wal_start, UINT64_C(0x00000016B374D848));
	assert_int_equal(m.wal_end, UINT64_C(0x00000016B3800000));
	assert_true(m.send_time == INT64_C(0x0002A2B3C4D5E6F7));
	assert_int_equal(m.reply_requested, 0);
	assert_ptr_equal(m.payload, copy + 25);
	assert_int_equal(m.payload_len, 9);
	assert_memory_equal(m.payload, payload, 9);
	free(copy);

	/* header only: an empty payload is still a well-formed XLogData */
	assert_int_equal(decode_copy(buf, 25, &m, &err, &copy), 0);
	assert_int_equal(m.kind, 'w');
	assert_int_equal(m.payload_len, 0);
	free(copy);
}

static void test_keepalive(void **state)
{
	uint8_t buf[32], *copy;
	struct repl_msg m;
	struct cerr err;
	size_t len;
	int reply;

	(void)state;
	for (reply = 0; reply <= 1; reply++) {
		len = build_keepalive(buf, (uint8_t)reply);
		assert_int_equal(len, 18);
		assert_int_equal(decode_copy(buf, len, &m, &err, &copy), 0);
		assert_int_equal(m.kind, 'k');
		assert_int_equal(m.wal_start, 0);
		assert_int_equal(m.wal_end, UINT64_C(0x00000001000000FF));
		assert_true(m.send_time == -2);
		assert_int_equal(m.reply_requested, reply);
		assert_null(m.payload);
		assert_int_equal(m.payload_len, 0);
		free(copy);
	}

	len = build_keepalive(buf, 2);
	assert_fails(decode_copy(buf, len, &m, &err, &copy), &err);
	assert_string_equal(err.msg,
	                    "replproto: keepalive message has reply-requested byte 0x02 at offset 17 (expected 0 or 1)");
	free(copy);
}

static void test_prefixes_fail(void **state)
{
	uint8_t buf[64], *copy;
	struct repl_msg m;
	struct cerr err;
	size_t len, n;

	(void)state;
	len = build_xlogdata(buf, "x", 1);
	for (n = 0; n < 25; n++) { /* with 25 bytes or more it is a whole header */
		assert_fails(decode_copy(buf, n, &m, &err, &copy), &err);
		free(copy);
	}
	assert_fails(decode_copy(buf, 24, &m, &err, &copy), &err);
	assert_string_equal(err.msg, "replproto: truncated XLogData message (24 bytes, the header needs 25)");
	free(copy);
	(void)len;

	len = build_keepalive(buf, 1);
	for (n = 0; n < len; n++) {
		assert_fails(decode_copy(buf, n, &m, &err, &copy), &err);
		free(copy);
	}
	assert_fails(decode_copy(buf, 17, &m, &err, &copy), &err);
	assert_string_equal(err.msg, "replproto: truncated keepalive message (17 bytes, expected 18)");
	free(copy);

	assert_fails(decode_copy(buf, 0, &m, &err, &copy), &err);
	assert_string_equal(err.msg, "replproto: empty CopyData message");
	free(copy);
}

static void test_trailing_and_unknown(void **state)
{
	uint8_t buf[64], *copy;
	struct repl_msg m;
	struct cerr err;
	size_t len;
	int k;

	(void)state;
	len = build_keepalive(buf, 0);
	buf[len++] = 0;
	assert_fails(decode_copy(buf, len, &m, &err, &copy), &err);
	assert_string_equal(err.msg, "replproto: overlong keepalive message (19 bytes, expected 18)");
	free(copy);

	assert_fails(decode_copy((const uint8_t *)"x", 1, &m, &err, &copy), &err);
	assert_string_equal(err.msg, "replproto: unknown CopyData message type 0x78");
	free(copy);

	/* 'r' is what we send, never what we receive */
	len = repl_encode_status(buf, 1, 2, 3, 4, 0);
	assert_fails(decode_copy(buf, len, &m, &err, &copy), &err);
	assert_string_equal(err.msg, "replproto: unknown CopyData message type 0x72");
	free(copy);

	for (k = 0; k < 256; k++) {
		uint8_t one = (uint8_t)k;

		assert_fails(decode_copy(&one, 1, &m, &err, &copy), &err);
		free(copy);
	}
}

static uint64_t rng_state;

static uint32_t rng(void) /* xorshift64*, fixed seed so failures reproduce */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

static void test_random_garbage(void **state)
{
	uint8_t buf[64], *copy;
	struct repl_msg m;
	struct cerr err;
	size_t n, j;
	int iter, rc;

	(void)state;
	rng_state = UINT64_C(0x5EED5EED5EED);
	for (iter = 0; iter < 5000; iter++) {
		n = rng() % sizeof buf;
		for (j = 0; j < n; j++)
			buf[j] = (uint8_t)rng();
		if (n && (rng() & 1))
			buf[0] = (rng() & 1) ? 'w' : 'k';
		rc = decode_copy(buf, n, &m, &err, &copy);
		if (rc == 0) {
			assert_true(m.kind == 'w' || m.kind == 'k');
			if (m.kind == 'w') {
				assert_ptr_equal(m.payload, copy + 25);
				assert_int_equal(m.payload_len, n - 25);
				if (m.payload_len)
					assert_true(m.payload[m.payload_len - 1] == copy[n - 1]);
			} else {
				assert_int_equal(n, 18);
				assert_true(m.reply_requested == 0 || m.reply_requested == 1);
			}
		} else {
			assert_fails(rc, &err);
		}
		free(copy);
	}
}

static void test_status_update_bytes(void **state)
{
	static const uint8_t want[34] = {
		'r',
		0x00, 0x00, 0x00, 0x16, 0xB3, 0x74, 0xD8, 0x48, /* written */
		0x00, 0x00, 0x00, 0x16, 0xB3, 0x74, 0xD0, 0x00, /* flushed */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* applied */
		0x00, 0x02, 0xA2, 0xB3, 0xC4, 0xD5, 0xE6, 0xF7, /* clock */
		0x01,                                           /* reply requested */
	};
	static const uint8_t want_neg[34] = {
		'r',
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* -1 */
		0x00,
	};
	uint8_t out[34];

	(void)state;
	memset(out, 0xAA, sizeof out);
	assert_int_equal(repl_encode_status(out, UINT64_C(0x00000016B374D848), UINT64_C(0x00000016B374D000), 0,
	                                    INT64_C(0x0002A2B3C4D5E6F7), 1),
	                 34);
	assert_memory_equal(out, want, 34);

	memset(out, 0xAA, sizeof out);
	assert_int_equal(repl_encode_status(out, UINT64_MAX, UINT64_C(0x8000000000000001), UINT64_C(0x0102030405060708),
	                                    -1, 0),
	                 34);
	assert_memory_equal(out, want_neg, 34);

	/* any non-zero reply_requested is sent as 1 */
	repl_encode_status(out, 0, 0, 0, 0, 7);
	assert_int_equal(out[33], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xlogdata),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_prefixes_fail),
		cmocka_unit_test(test_trailing_and_unknown),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_status_update_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
