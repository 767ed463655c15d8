/* capture_int.h: the state of the capture loop, shared by capture.c (streaming) and capture_snap.c
 * (snapshots: the initial copy under the slot's exported snapshot, and watermark chunks while streaming).
 * Internal to capture/: nothing else includes it. */
#ifndef CLEAVE_CAPTURE_INT_H
#define CLEAVE_CAPTURE_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/pgoutput.h"
#include "capture/producer.h"
#include "capture/progress.h"
#include "capture/relcache.h"
#include "capture/snapctl.h"
#include "capture/snapshot.h"
#include "capture/snapwin.h"
#include "capture/source.h"
#include "common/buf.h"
#include "common/err.h"
#include "config/config.h"
#include "schema/envelope.h"

/* What is left to copy of one configured table. */
struct capture_snap_plan {
	bool todo;
	bool requested;  /* by `cleave snapshot` (a table without a key to copy it by is then skipped) */
	char **last_key; /* NULL: from the start */
	int nkey;
};

/* A control record waiting until Kafka acknowledged the events it vouches for (capture/snapctl.h). */
struct capture_snap_record {
	uint64_t txn;    /* progress transaction whose events it vouches for */
	char *table;     /* "schema.table" */
	char *value;     /* JSON (snapctl_format) */
};

enum capture_chunk_state {
	CAPTURE_CHUNK_NONE,    /* no chunk in flight */
	CAPTURE_CHUNK_WAIT_LW, /* selected; its low watermark not yet seen (keys of changed rows are collected) */
	CAPTURE_CHUNK_OPEN,    /* between its watermarks (keys of changed rows are collected) */
};

struct capture_snap {
	struct capture_snap_plan *plan; /* per configured table; NULL: no snapshot work (snapshot: never) */
	char *topic;                    /* <prefix>._snapshots */
	PGconn *conn;                   /* chunk queries while streaming */
	uint64_t run;                   /* tells this run's watermarks from earlier runs' */
	/* the table being copied */
	int table;                      /* index in source.tables, -1: none */
	struct snapshot_table *st;
	struct relcache_entry entry;    /* its schema and topic (not in the relcache) */
	long long copied;               /* rows of it sent */
	int64_t next_log_ms;
	/* the chunk in flight (while streaming) */
	enum capture_chunk_state chunk;
	PGresult *rows;
	uint64_t chunk_no;
	char token[128];                /* "<slot>:<run>:<chunk_no>" */
	bool discard;                   /* truncate or schema change in the window: select the chunk again */
	struct snapwin *win;
	/* control records waiting for acknowledgements, in order */
	struct capture_snap_record *records;
	size_t nrecords, caprecords;
	struct pgo_value *vals;
	size_t valscap;
};

struct capture_txn {
	bool open;
	uint64_t id; /* progress tracker id */
	uint32_t xid;
	lsn_t commit_lsn;
	int64_t commit_ts_ms;
	int64_t seq;
};

struct capture {
	const struct cleave_config *cfg;
	int (*stop_requested)(void);
	struct source *source;
	struct producer *producer;
	struct progress *progress;
	struct relcache *relcache;
	struct pgo_decoder *decoder;
	struct buf key, value;
	char *schemas_topic;
	struct capture_txn txn;
	bool streaming;       /* the replication stream runs (not before it starts: initial snapshot) */
	lsn_t received;       /* highest WAL end seen */
	lsn_t sent_confirmed; /* last confirmed LSN sent to PostgreSQL */
	lsn_t msg_lsn;        /* LSN of the message being handled */
	int64_t next_status_ms;
	int64_t next_report_ms;
	uint64_t events;      /* row events queued since start */
	bool permanent_failure;  /* the last restart was for a delivery error that will repeat */
	int permanent_failures;  /* such restarts in a row at the same confirmed position */
	lsn_t permanent_at;
	struct pgo_value *scratch[2]; /* values of tuples capture rewrites (see capture_identity_tuple) */
	size_t scratch_cap[2];
	struct capture_snap snap;     /* snapshots: capture_snap.c */
	char ctx[256];
};


/* capture.c helpers used by capture_snap.c */
const char *capture_ctx(struct capture *c, const struct table_schema *ts);
int capture_status(struct capture *c, bool force, struct cerr *err);
int capture_send_txn(struct capture *c, uint64_t txn, const char *topic, int32_t partition, const struct buf *key,
                     const struct buf *value, struct cerr *err);
int capture_publish_schemas(struct capture *c, struct relcache_entry *e, struct cerr *err);
void capture_source_info(struct capture *c, struct envelope_source *src);
/* The writer schemas of rel as capture encodes them (keyed by the primary key under REPLICA IDENTITY
 * FULL). NULL with err. */
struct table_schema *capture_build_schema(struct capture *c, const struct pgo_relation *rel, struct cerr *err);

/* capture_snap.c */
/* Reads the control records and plans what to copy (every table when fresh_slot: the slot is about to be
 * created); when fresh_slot, writes "running from the start" for every table and waits for Kafka's
 * acknowledgement, so a kill before the copy ends never leaves an older "done" behind. Removed tables'
 * records get tombstones. 0, or -1 with err. */
int capture_snap_prepare(struct capture *c, bool fresh_slot, struct cerr *err);
/* Copies every planned table under the exported snapshot, as op r events positioned before the consistent
 * point. 0, 1 when a stop was requested, -1 with err. */
int capture_snap_initial(struct capture *c, const char *snapshot, lsn_t consistent_point, struct cerr *err);
/* While streaming: writes the control records whose events are acknowledged and, when no chunk is in
 * flight and a table is left to copy, selects its next chunk between two watermarks. 0, 1, -1. */
int capture_snap_tick(struct capture *c, struct cerr *err);
/* A logical decoding message of the stream (the watermarks, and requests of `cleave snapshot`). 0, 1, -1. */
int capture_snap_message(struct capture *c, const struct pgo_msg *m, struct cerr *err);
/* A streamed row event of relation relid with Kafka key `key`. 0, or -1 when out of memory. */
int capture_snap_changed(struct capture *c, uint32_t relid, const struct buf *key, struct cerr *err);
/* A truncate of relid / a new schema of a relation in the stream. */
void capture_snap_truncated(struct capture *c, uint32_t relid);
void capture_snap_relation(struct capture *c, const struct table_schema *ts);
/* Queues the control records whose events are acknowledged (shutdown). 0, 1, -1. */
int capture_snap_records(struct capture *c, struct cerr *err);
/* Forgets every snapshot state (restart, end). */
void capture_snap_reset(struct capture *c);

#endif
