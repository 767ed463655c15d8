/* replproto.h: the streaming replication sub-protocol carried in CopyData during START_REPLICATION
 * (pure encode/decode, no I/O).
 *   XLogData        Byte1('w') Int64 walStart Int64 walEnd Int64 sendTime  Byte[n] payload
 *   Keepalive       Byte1('k') Int64 walEnd Int64 sendTime Byte1 replyRequested
 *   Status update   Byte1('r') Int64 written Int64 flushed Int64 applied Int64 clock Byte1 replyRequested */
#ifndef CLEAVE_REPLPROTO_H
#define CLEAVE_REPLPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/lsn.h"

struct repl_msg {
	char kind; /* 'w' or 'k' */
	lsn_t wal_start;  /* 'w' only */
	lsn_t wal_end;
	int64_t send_time; /* microseconds since 2000-01-01 */
	int reply_requested; /* 'k' only */
	const uint8_t *payload; /* 'w' only: points into the input */
	size_t payload_len;
};

/* Returns 0, or -1 with err for a short or unknown message. */
__attribute__((warn_unused_result)) int repl_decode(const uint8_t *data, size_t len, struct repl_msg *out,
                                                    struct cerr *err);

/* Writes the 34-byte standby status update into out. Returns the number of bytes (34). */
size_t repl_encode_status(uint8_t out[34], lsn_t written, lsn_t flushed, lsn_t applied, int64_t now_pg_us,
                          int reply_requested);

#endif
