/* pgoutput.h: a pure decoder of PostgreSQL's pgoutput logical replication messages, protocol version 1
 * (the payload of one XLogData 'w' message). No I/O, no allocation per message beyond the decoder's own
 * reusable scratch arrays, so byte fixtures can test every message and every malformed input.
 *
 * Strings and values in a decoded message point into the input bytes: the message is valid only while
 * the input buffer lives and until the next pgo_decode() call on the same decoder. */
#ifndef CLEAVE_PGOUTPUT_H
#define CLEAVE_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/lsn.h"

enum pgo_kind {
	PGO_BEGIN = 'B',
	PGO_COMMIT = 'C',
	PGO_ORIGIN = 'O',
	PGO_RELATION = 'R',
	PGO_TYPE = 'Y',
	PGO_INSERT = 'I',
	PGO_UPDATE = 'U',
	PGO_DELETE = 'D',
	PGO_TRUNCATE = 'T',
	PGO_MESSAGE = 'M',
};

/* One column of a Relation message. */
struct pgo_column {
	uint8_t flags;      /* PGO_COL_KEY when the column is part of the replica identity */
	const char *name;
	uint32_t type_oid;
	int32_t typmod;
};
#define PGO_COL_KEY 1

struct pgo_relation {
	uint32_t oid;
	const char *nspname; /* "" is pg_catalog, as pgoutput sends it */
	const char *relname;
	char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
	uint16_t ncols;
	struct pgo_column *cols;
};

/* One value of a TupleData. */
enum pgo_value_kind {
	PGO_VAL_NULL = 'n',
	PGO_VAL_UNCHANGED = 'u', /* unchanged TOASTed value: PostgreSQL did not send it */
	PGO_VAL_TEXT = 't',
	PGO_VAL_BINARY = 'b',
};

struct pgo_value {
	char kind;        /* enum pgo_value_kind */
	uint32_t len;     /* bytes at data (text is NOT NUL-terminated) */
	const char *data; /* into the input; NULL for 'n' and 'u' */
};

struct pgo_tuple {
	uint16_t ncols;
	struct pgo_value *vals;
};

struct pgo_msg {
	char kind; /* enum pgo_kind */
	union {
		struct {
			lsn_t final_lsn;
			int64_t commit_ts; /* microseconds since 2000-01-01 */
			uint32_t xid;
		} begin;
		struct {
			uint8_t flags;
			lsn_t commit_lsn;
			lsn_t end_lsn;
			int64_t commit_ts;
		} commit;
		struct {
			lsn_t lsn;
			const char *name;
		} origin;
		struct pgo_relation relation;
		struct {
			uint32_t oid;
			const char *nspname;
			const char *typname;
		} type;
		struct {
			uint32_t relid;
			struct pgo_tuple newtup;
		} insert;
		struct {
			uint32_t relid;
			char oldkind; /* 0: no old tuple, 'K': key columns, 'O': whole old row */
			struct pgo_tuple oldtup;
			struct pgo_tuple newtup;
		} update;
		struct {
			uint32_t relid;
			char oldkind; /* 'K' or 'O' */
			struct pgo_tuple oldtup;
		} del;
		struct {
			uint32_t nrels;
			uint8_t options; /* PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY */
			uint32_t *relids;
		} truncate;
		struct {
			uint8_t flags; /* 1: transactional */
			lsn_t lsn;
			const char *prefix;
			uint32_t len;
			const char *content;
		} message;
	} u;
};
#define PGO_TRUNCATE_CASCADE 1
#define PGO_TRUNCATE_RESTART_IDENTITY 2

struct pgo_decoder;

/* Returns a decoder, or NULL when out of memory. pgo_decoder_free(NULL) is a no-op. */
struct pgo_decoder *pgo_decoder_new(void);
void pgo_decoder_free(struct pgo_decoder *d);

/* Decodes one message. Returns 0 and fills *out, or -1 with a message in err (not retriable) for
 * truncated, trailing or unknown bytes. Never reads outside [data, data+len). */
__attribute__((warn_unused_result)) int pgo_decode(struct pgo_decoder *d, const uint8_t *data, size_t len,
                                                   struct pgo_msg *out, struct cerr *err);

#endif
