/* replproto.c: the CopyData messages of the streaming replication sub-protocol (see replproto.h).
 * Pure encode/decode: source.c reads CopyData from libpq and hands the bytes here; the XLogData
 * payload goes on to pgoutput.c. Times are microseconds since 2000-01-01; integers are big-endian. */
#include "capture/replproto.h"

#include <string.h>

#include "common/buf.h"

#define REPL_XLOGDATA_HDR 25  /* Byte1('w') Int64 walStart Int64 walEnd Int64 sendTime */
#define REPL_KEEPALIVE_LEN 18 /* Byte1('k') Int64 walEnd Int64 sendTime Byte1 replyRequested */
#define REPL_STATUS_LEN 34    /* Byte1('r') Int64 written Int64 flushed Int64 applied Int64 clock Byte1 reply */

/* Two's-complement reinterpretation without implementation-defined conversions. */
static int64_t repl_i64(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : (int64_t)(v - INT64_MAX - 1) - INT64_MAX - 1;
}

static void repl_put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int repl_decode(const uint8_t *data, size_t len, struct repl_msg *out, struct cerr *err)
{
	struct reader r;
	uint8_t reply;

	memset(out, 0, sizeof *out);
	if (len == 0 || !data)
		return cerr_set(err, false, "replproto: empty CopyData message");
	reader_init(&r, data, len);
	switch (data[0]) {
	case 'w':
		/* XLogData: Byte1('w') Int64 walStart Int64 walEnd Int64 sendTime Byte[n] payload */
		if (len < REPL_XLOGDATA_HDR)
			return cerr_set(err, false,
			                "replproto: truncated XLogData message (%zu bytes, the header needs %d)", len,
			                REPL_XLOGDATA_HDR);
		(void)reader_u8(&r);
		out->kind = 'w';
		out->wal_start = reader_be64(&r);
		out->wal_end = reader_be64(&r);
		out->send_time = repl_i64(reader_be64(&r));
		out->payload_len = reader_left(&r);
		out->payload = reader_bytes(&r, out->payload_len);
		return 0;
	case 'k':
		/* Primary keepalive: Byte1('k') Int64 walEnd Int64 sendTime Byte1 replyRequested */
		if (len != REPL_KEEPALIVE_LEN)
			return cerr_set(err, false, "replproto: %s keepalive message (%zu bytes, expected %d)",
			                len < REPL_KEEPALIVE_LEN ? "truncated" : "overlong", len, REPL_KEEPALIVE_LEN);
		(void)reader_u8(&r);
		out->kind = 'k';
		out->wal_end = reader_be64(&r);
		out->send_time = repl_i64(reader_be64(&r));
		reply = reader_u8(&r);
		if (reply > 1)
			return cerr_set(err, false, "replproto: keepalive message has reply-requested byte 0x%02x at offset 17 "
			                            "(expected 0 or 1)",
			                reply);
		out->reply_requested = reply;
		return 0;
	default:
		return cerr_set(err, false, "replproto: unknown CopyData message type 0x%02x", data[0]);
	}
}

size_t repl_encode_status(uint8_t out[34], lsn_t written, lsn_t flushed, lsn_t applied, int64_t now_pg_us,
                          int reply_requested)
{
	/* Standby status update: Byte1('r') Int64 written Int64 flushed Int64 applied Int64 clock
	 * Byte1 replyRequested; each LSN is "last WAL byte + 1" of that state. */
	out[0] = 'r';
	repl_put_be64(out + 1, written);
	repl_put_be64(out + 9, flushed);
	repl_put_be64(out + 17, applied);
	repl_put_be64(out + 25, (uint64_t)now_pg_us);
	out[33] = reply_requested ? 1 : 0;
	return REPL_STATUS_LEN;
}
