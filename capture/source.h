/* source.h: the monolith PostgreSQL as capture sees it: a regular connection to validate the configured
 * tables and create the publication and slot, and the replication connection that streams pgoutput.
 * Talks to libpq only; knows nothing of Kafka. */
#ifndef CLEAVE_SOURCE_H
#define CLEAVE_SOURCE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "capture/replproto.h"
#include "common/err.h"
#include "common/lsn.h"
#include "config/config.h"

struct source;

/* The config must outlive the source. NULL when out of memory. */
struct source *source_new(const struct cleave_config *cfg);
void source_free(struct source *s);

/* Checks wal_level and every configured table (exists, has a primary key or a replica identity), creates
 * the publication (or adds missing tables to it) and the slot when missing, and checks that the slot is
 * a usable pgoutput slot of this database. On error err->retriable tells a server that is down (retry
 * later) from a problem a person must fix. *confirmed gets the slot's confirmed_flush_lsn.
 * With source.snapshot: initial a missing slot is not created: returns 1, and the caller creates it with
 * source_create_slot_exported (after writing down that a snapshot is under way). */
int source_prepare(struct source *s, lsn_t *confirmed, struct cerr *err);

/* Creates the slot and keeps the replication connection that created it open and idle, so its exported
 * snapshot (name in snapshot) stays usable by SET TRANSACTION SNAPSHOT until source_release_snapshot or
 * source_start. *consistent_point: where streaming from the slot will start. */
int source_create_slot_exported(struct source *s, lsn_t *consistent_point, char *snapshot, size_t snapshot_len,
                                struct cerr *err);
/* Closes the connection that holds the exported snapshot (no-op when none). */
void source_release_snapshot(struct source *s);

/* A regular connection to the source with the session settings of the replication connection (so values
 * come as the same text as pgoutput's). NULL with err. */
PGconn *source_connect_sql(const struct source *s, struct cerr *err);

/* Opens the replication connection and starts streaming from the slot's confirmed position. */
int source_start(struct source *s, struct cerr *err);

/* Waits up to timeout_ms for the next CopyData message. Returns 1 with *msg filled (valid until the next
 * call), 0 when nothing arrived in time, -1 with err when the stream ended or failed. */
int source_read(struct source *s, struct repl_msg *msg, int timeout_ms, struct cerr *err);

/* Sends a standby status update: received = highest WAL end seen, flushed = applied = confirmed; with
 * reply, the server answers at once with a keepalive that says where it is. */
int source_send_status(struct source *s, lsn_t received, lsn_t confirmed, bool reply, struct cerr *err);

/* Ends streaming politely (CopyDone) and closes the replication connection; safe to call when closed. */
void source_stop(struct source *s);

/* The primary key of a configured table, as source_prepare last read it. */
struct source_pk {
	char **cols;
	int ncols;
};

/* NULL when the table has no primary key (or is not configured). */
const struct source_pk *source_primary_key(const struct source *s, const char *nspname, const char *relname);

/* The columns of table relid whose rows may hold a value no event carried: a column added with a
 * non-volatile DEFAULT reads, in rows that existed before, pg_attribute.attmissingval (until the table is
 * rewritten). Looked up now on a plain connection kept open for such lookups (the replication connection
 * is streaming; a broken one is reopened at the next lookup), with DateStyle ISO, TimeZone UTC and extra_float_digits 3: *names and *values (PostgreSQL text) are n
 * malloc'ed strings each, in arrays the caller frees with source_missing_free. XXX: the catalog of now, not
 * of the WAL position: a column dropped and added again under its name since gives the newer value. */
int source_missing_values(struct source *s, uint32_t relid, char ***names, char ***values, int *n,
                          struct cerr *err);
void source_missing_free(char **names, char **values, int n);

/* The source database's name (for the envelope's source.db); "" before source_prepare. */
const char *source_dbname(const struct source *s);

#endif
