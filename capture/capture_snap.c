/* capture_snap.c: snapshots of the configured tables (source.snapshot: initial), on the capture thread.
 *
 * Initial copy: when capture creates its slot, every table is read under the slot's exported snapshot
 * (a REPEATABLE READ transaction on a second connection) in key order, a chunk at a time, as op r events
 * positioned at (consistent point - 1, growing seq): below every streamed event, so a sink applies each
 * copied row before any change streamed after it, and streaming from the slot then misses nothing.
 *
 * Copy while streaming (DBLog, watermarks written through the WAL): for a table whose copy was
 * interrupted (capture killed; resumed after the last key written down in <prefix>._snapshots) or which
 * was added to source.tables later (no record), each chunk is
 *   SELECT pg_logical_emit_message(true, 'cleave', 'lw:<token>');   -- low watermark, own transaction
 *   SELECT <columns> FROM t WHERE (key) > (last key) ORDER BY key LIMIT n;
 *   SELECT pg_logical_emit_message(true, 'cleave', 'hw:<token>');   -- high watermark
 * on a regular connection, between two streamed transactions. In the stream, from the chunk's selection
 * (so lw and whatever came before it that capture had not read yet) up to hw, the keys of the table's
 * changed rows are collected (capture/snapwin.h); at hw the chunk rows whose keys did not
 * change are sent as op r events in hw's transaction (so at its position, after the window's events), the
 * others are dropped: the streamed change is as new as the copy or newer. A truncate or a new schema of
 * the table in the window discards the chunk, which is selected again. Watermarks of earlier runs (another
 * token) are ignored.
 * XXX: a streamed update that left a TOASTed column unchanged ('u') stands for a dropped chunk row without
 * that column's value; a sink that never had the row cannot know it (DBLog has the same limit).
 * XXX: a transaction that capture had already read before selecting a chunk and that was still invisible
 * to the chunk's query would be missed by the window; its backend would have to stay in the proc array
 * for longer than the walsender took to decode and send it and capture to write lw.
 *
 * Progress is written to <prefix>._snapshots (capture/snapctl.h) once Kafka acknowledged every event of
 * the chunk, so a restart resumes at the last key written: rows after it may be sent twice, never lost.
 *
 * `cleave snapshot --table` asks for a table to be copied again: a transactional message
 * 'snap:<slot>:<schema.table>' (prefix 'cleave') in the WAL, so a request made while capture is stopped
 * waits for it; capture then copies the table from the start while streaming, as above. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/pg.h"

#define SNAP_CHUNK_ROWS 5000
#define SNAP_LOG_MS 10000
#define SNAP_FLUSH_TIMEOUT_MS 30000
#define SNAP_CURSOR "cleave_snapshot"
#define SNAP_STR_(x) #x
#define SNAP_STR(x) SNAP_STR_(x)

static void snap_name(const struct cfg_table *t, char *out, size_t n)
{
	snprintf(out, n, "%s.%s", t->schema, t->name);
}

static void snap_free_key(char **key, int n)
{
	for (int i = 0; key && i < n; i++)
		free(key[i]);
	free(key);
}

/* A copy of the ordering key of row `row` of res (NULL when out of memory). */
static char **snap_row_key(const struct snapshot_table *st, const PGresult *res, int row)
{
	char **k = calloc((size_t)st->norder, sizeof *k);

	for (int i = 0; k && i < st->norder; i++)
		if (!(k[i] = strdup(PQgetvalue(res, row, st->order[i])))) {
			snap_free_key(k, i);
			return NULL;
		}
	return k;
}

static void snap_close_table(struct capture *c)
{
	struct capture_snap *s = &c->snap;

	PQclear(s->rows);
	s->rows = NULL;
	s->chunk = CAPTURE_CHUNK_NONE;
	snapshot_table_free(s->st);
	s->st = NULL;
	table_schema_free(s->entry.schema);
	free(s->entry.topic);
	memset(&s->entry, 0, sizeof s->entry);
	s->table = -1;
}

void capture_snap_reset(struct capture *c)
{
	struct capture_snap *s = &c->snap;

	snap_close_table(c);
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	for (size_t i = 0; s->plan && i < c->cfg->source.ntables; i++)
		snap_free_key(s->plan[i].last_key, s->plan[i].nkey);
	free(s->plan);
	s->plan = NULL;
	for (size_t i = 0; i < s->nrecords; i++) {
		free(s->records[i].table);
		free(s->records[i].value);
	}
	free(s->records);
	s->records = NULL;
	s->nrecords = s->caprecords = 0;
	snapwin_free(s->win);
	s->win = NULL;
	free(s->vals);
	s->vals = NULL;
	s->valscap = 0;
}

/* Produces one control record (value NULL: tombstone) as a transaction of its own. 0, 1 (stop), -1. */
static int snap_write(struct capture *c, const char *table, const char *value, struct cerr *err)
{
	uint64_t id = progress_begin(c->progress);
	int rc;

	if (id == 0)
		return cerr_set(err, false, "out of memory");
	buf_reset(&c->key);
	buf_reset(&c->value);
	if (buf_puts(&c->key, table) < 0 || (value && buf_puts(&c->value, value) < 0))
		return cerr_set(err, false, "out of memory");
	rc = capture_send_txn(c, id, c->snap.topic, PRODUCER_PARTITION_ANY, &c->key, value ? &c->value : NULL, err);
	progress_commit(c->progress, id, 0);
	return rc;
}

/* Queues the record of table i saying `done` or "copied up to key", written once transaction txn is done.
 * key is taken (freed here). */
static int snap_queue(struct capture *c, uint64_t txn, int i, bool done, char **key, int nkey, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	struct capture_snap_record *r;
	char name[256];
	struct buf v;

	buf_init(&v, 0);
	if (s->nrecords == s->caprecords) {
		size_t cap = s->caprecords ? s->caprecords * 2 : 8;
		struct capture_snap_record *n = realloc(s->records, cap * sizeof *n);

		if (!n)
			goto oom;
		s->records = n;
		s->caprecords = cap;
	}
	snap_name(&c->cfg->source.tables[i], name, sizeof name);
	if (snapctl_format(done, (const char *const *)key, nkey, &v) < 0)
		goto oom;
	r = &s->records[s->nrecords];
	r->txn = txn;
	r->table = strdup(name);
	r->value = strdup((const char *)v.data);
	if (!r->table || !r->value) {
		free(r->table);
		free(r->value);
		goto oom;
	}
	s->nrecords++;
	buf_free(&v);
	/* the plan moves on now; the record follows the acknowledgements */
	snap_free_key(s->plan[i].last_key, s->plan[i].nkey);
	s->plan[i].last_key = done ? NULL : key;
	s->plan[i].nkey = done ? 0 : nkey;
	s->plan[i].todo = !done;
	if (done) {
		s->plan[i].requested = false;
		snap_free_key(key, nkey);
	}
	return 0;
oom:
	buf_free(&v);
	snap_free_key(key, nkey);
	return cerr_set(err, false, "out of memory");
}

int capture_snap_records(struct capture *c, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	size_t n = 0;
	int rc = 0;

	while (n < s->nrecords && progress_done(c->progress, s->records[n].txn)) {
		rc = snap_write(c, s->records[n].table, s->records[n].value, err);
		if (rc != 0)
			break;
		log_debug(capture_ctx(c, NULL), "snapshot progress of %s: %s", s->records[n].table, s->records[n].value);
		free(s->records[n].table);
		free(s->records[n].value);
		n++;
	}
	if (n > 0) {
		memmove(s->records, s->records + n, (s->nrecords - n) * sizeof *s->records);
		s->nrecords -= n;
	}
	return rc;
}

/* Waits until Kafka acknowledged everything queued. */
static int snap_flush(struct capture *c, struct cerr *err)
{
	if (producer_flush(c->producer, SNAP_FLUSH_TIMEOUT_MS) != 0)
		return cerr_set(err, true, "Kafka did not acknowledge the snapshot records in %s within %d s",
		                c->snap.topic, SNAP_FLUSH_TIMEOUT_MS / 1000);
	if (producer_failed(c->producer, &c->permanent_failure, err))
		return cerr_wrap(err, "writing the snapshot records in %s", c->snap.topic);
	return 0;
}

int capture_snap_prepare(struct capture *c, bool fresh_slot, struct cerr *err)
{
	const struct cleave_config *cfg = c->cfg;
	struct capture_snap *s = &c->snap;
	struct snapctl *ctl;
	bool wrote = false;
	char name[256];
	int rc = -1;

	s->table = -1;
	if (cfg->source.snapshot != CFG_SNAPSHOT_INITIAL)
		return 0;
	ctl = snapctl_load(cfg, s->topic, err);
	if (!ctl)
		return -1;
	s->plan = calloc(cfg->source.ntables ? cfg->source.ntables : 1, sizeof *s->plan);
	if (!s->plan) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	s->run = (uint64_t)clock_unix_us();
	for (size_t i = 0; i < cfg->source.ntables; i++) {
		const struct snapctl_rec *rec;

		snap_name(&cfg->source.tables[i], name, sizeof name);
		rec = snapctl_find(ctl, name);
		if (fresh_slot || !rec) {
			s->plan[i].todo = true;
			if (!fresh_slot)
				log_info(capture_ctx(c, NULL), "%s has no snapshot record (added to source.tables?): copying it"
				         " while streaming", name);
		} else if (!rec->done) {
			s->plan[i].todo = true;
			if (rec->last_key) {
				s->plan[i].last_key = calloc((size_t)rec->nkey, sizeof(char *));
				if (!s->plan[i].last_key) {
					cerr_set(err, false, "out of memory");
					goto cleanup;
				}
				for (int k = 0; k < rec->nkey; k++)
					if (!(s->plan[i].last_key[s->plan[i].nkey++] = strdup(rec->last_key[k]))) {
						cerr_set(err, false, "out of memory");
						goto cleanup;
					}
			}
			log_info(capture_ctx(c, NULL), "the snapshot of %s was interrupted: resuming it %s while streaming",
			         name, rec->last_key ? "after the last key written down" : "from the start");
		}
		if (fresh_slot) {
			struct buf v;
			int wr;

			buf_init(&v, 0);
			if (snapctl_format(false, NULL, 0, &v) < 0) {
				buf_free(&v);
				cerr_set(err, false, "out of memory");
				goto cleanup;
			}
			wr = snap_write(c, name, (const char *)v.data, err);
			buf_free(&v);
			if (wr != 0)
				goto cleanup;
			wrote = true;
		}
	}
	/* a table that left source.tables: forget it, so adding it again copies it again */
	for (size_t r = 0; r < ctl->n; r++) {
		bool configured = false;

		for (size_t i = 0; i < cfg->source.ntables && !configured; i++) {
			snap_name(&cfg->source.tables[i], name, sizeof name);
			configured = strcmp(name, ctl->recs[r].table) == 0;
		}
		if (configured)
			continue;
		if (snap_write(c, ctl->recs[r].table, NULL, err) != 0)
			goto cleanup;
		wrote = true;
		log_info(capture_ctx(c, NULL), "%s left source.tables: its snapshot record is removed", ctl->recs[r].table);
	}
	/* before the slot exists, "running" must be in Kafka: see capture_int.h */
	if (wrote && snap_flush(c, err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	snapctl_free(ctl);
	return rc;
}

/* Reads table i's columns and builds its schemas and topic. */
static int snap_open_table(struct capture *c, int i, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	const struct cfg_table *t = &c->cfg->source.tables[i];

	snap_close_table(c);
	s->st = snapshot_table_read(s->conn, t->schema, t->name, err);
	if (!s->st)
		return cerr_wrap(err, "reading the columns of %s.%s for its snapshot", t->schema, t->name);
	s->entry.schema = capture_build_schema(c, &s->st->rel, err);
	if (!s->entry.schema)
		return -1;
	s->entry.relid = s->st->rel.oid;
	if (asprintf(&s->entry.topic, "%s.%s.%s", c->cfg->kafka.topic_prefix, s->entry.schema->nspname,
	             s->entry.schema->relname) < 0) {
		s->entry.topic = NULL;
		return cerr_set(err, false, "out of memory");
	}
	if (s->valscap < (size_t)s->st->rel.ncols) {
		struct pgo_value *v = realloc(s->vals, (size_t)s->st->rel.ncols * sizeof *v);

		if (!v)
			return cerr_set(err, false, "out of memory");
		s->vals = v;
		s->valscap = (size_t)s->st->rel.ncols;
	}
	if (!s->win && !(s->win = snapwin_new()))
		return cerr_set(err, false, "out of memory");
	s->table = i;
	s->copied = 0;
	s->next_log_ms = clock_mono_ms() + SNAP_LOG_MS;
	return 0;
}

/* Sends row `row` of res as an op r event of the current transaction; with `window`, drops it when its key
 * changed in the window. 0, 1 (stop), -1. */
static int snap_row(struct capture *c, const PGresult *res, int row, bool window, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	struct envelope_source src;
	struct pgo_tuple tup = {.vals = s->vals};
	int rc;

	snapshot_row_tuple(res, row, &tup);
	if (tup.ncols != s->entry.schema->ncols)
		return cerr_set(err, false, "%s: the snapshot query returned %d columns, the table has %d",
		                capture_ctx(c, s->entry.schema), tup.ncols, s->entry.schema->ncols);
	buf_reset(&c->key);
	buf_reset(&c->value);
	if (envelope_encode_key(s->entry.schema, &tup, &c->key, err) < 0)
		return cerr_wrap(err, "%s: cannot encode the key of a snapshot row", capture_ctx(c, s->entry.schema));
	if (window && snapwin_has(s->win, c->key.data, c->key.len))
		return 0;
	capture_source_info(c, &src);
	src.snapshot = "true";
	if (envelope_encode(s->entry.schema, 'r', NULL, &tup, &src, clock_unix_ms(), &c->value, err) < 0)
		return cerr_wrap(err, "%s: cannot encode a snapshot row. Fix the data or report a bug",
		                 capture_ctx(c, s->entry.schema));
	rc = capture_send_txn(c, c->txn.id, s->entry.topic, PRODUCER_PARTITION_ANY, &c->key, &c->value, err);
	if (rc != 0)
		return rc;
	c->txn.seq++;
	c->events++;
	s->copied++;
	return 0;
}

static void snap_log_progress(struct capture *c, bool force)
{
	struct capture_snap *s = &c->snap;
	int64_t now = clock_mono_ms();

	if (!force && now < s->next_log_ms)
		return;
	log_info(capture_ctx(c, s->entry.schema), "snapshot: %lld rows copied", s->copied);
	s->next_log_ms = now + SNAP_LOG_MS;
}

/* One table under the exported snapshot (the transaction is open on s->conn). 0, 1, -1. */
static int snap_initial_table(struct capture *c, int i, lsn_t cp, int64_t *seq, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	struct buf sql;
	PGresult *res = NULL;
	bool done = false;
	int rc = -1;

	buf_init(&sql, 0);
	if (snap_open_table(c, i, err) < 0)
		goto cleanup;
	log_info(capture_ctx(c, s->entry.schema), "snapshot: copying the table under the slot's exported snapshot");
	if (buf_puts(&sql, "DECLARE " SNAP_CURSOR " NO SCROLL CURSOR FOR ") < 0 || snapshot_sql_chunk(s->st, false, 0, &sql) < 0) {
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	if (snapshot_exec(s->conn, (const char *)sql.data, err) < 0)
		goto cleanup;
	while (!done) {
		uint64_t id;
		int n;

		res = PQexec(s->conn, "FETCH FORWARD " SNAP_STR(SNAP_CHUNK_ROWS) " FROM " SNAP_CURSOR);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			char msg[512];

			text_one_line(PQresultErrorMessage(res), msg, sizeof msg);
			cerr_set(err, true, "%s: reading the snapshot: %s", capture_ctx(c, s->entry.schema), msg);
			goto cleanup;
		}
		n = PQntuples(res);
		done = n < SNAP_CHUNK_ROWS;
		if ((id = progress_begin(c->progress)) == 0) {
			cerr_set(err, false, "out of memory");
			goto cleanup;
		}
		c->txn.id = id;
		c->txn.xid = 0;
		c->txn.commit_lsn = cp - 1;
		c->txn.commit_ts_ms = clock_unix_ms();
		c->txn.seq = *seq;
		c->msg_lsn = cp - 1;
		rc = capture_publish_schemas(c, &s->entry, err);
		for (int r = 0; rc == 0 && r < n; r++)
			rc = snap_row(c, res, r, false, err);
		*seq = c->txn.seq;
		progress_commit(c->progress, id, cp);
		if (rc != 0)
			goto cleanup;
		rc = -1;
		/* a table without an ordering key can only say "done" */
		if (done || s->st->norder > 0) {
			char **key = done || n == 0 ? NULL : snap_row_key(s->st, res, n - 1);

			if (!done && !key) {
				cerr_set(err, false, "out of memory");
				goto cleanup;
			}
			if (snap_queue(c, id, i, done, key, done ? 0 : s->st->norder, err) < 0)
				goto cleanup;
		}
		PQclear(res);
		res = NULL;
		producer_poll(c->producer, 0);
		if (producer_failed(c->producer, &c->permanent_failure, err))
			goto cleanup;
		if ((rc = capture_snap_records(c, err)) != 0 || (rc = c->stop_requested() ? 1 : 0) != 0)
			goto cleanup;
		rc = -1;
		snap_log_progress(c, false);
	}
	if (snapshot_exec(s->conn, "CLOSE " SNAP_CURSOR, err) < 0)
		goto cleanup;
	log_info(capture_ctx(c, s->entry.schema), "snapshot: done, %lld rows copied", s->copied);
	snap_close_table(c);
	rc = 0;
cleanup:
	PQclear(res);
	buf_free(&sql);
	return rc;
}

int capture_snap_initial(struct capture *c, const char *snapshot, lsn_t consistent_point, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	char *lit = NULL, *sql = NULL;
	int64_t seq = 0;
	int rc = -1;

	if (!s->plan)
		return 0;
	s->conn = source_connect_sql(c->source, err);
	if (!s->conn)
		return -1;
	lit = PQescapeLiteral(s->conn, snapshot, strlen(snapshot));
	if (!lit || asprintf(&sql, "SET TRANSACTION SNAPSHOT %s", lit) < 0) {
		sql = NULL;
		cerr_set(err, false, "out of memory");
		goto cleanup;
	}
	if (snapshot_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) < 0 ||
	    snapshot_exec(s->conn, sql, err) < 0) {
		cerr_wrap(err, "using the exported snapshot %s", snapshot);
		goto cleanup;
	}
	for (size_t i = 0; i < c->cfg->source.ntables; i++) {
		if (!s->plan[i].todo)
			continue;
		rc = snap_initial_table(c, (int)i, consistent_point, &seq, err);
		if (rc != 0)
			goto cleanup;
		rc = -1;
	}
	if (snapshot_exec(s->conn, "COMMIT", err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	c->txn = (struct capture_txn){0};
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	PQfreemem(lit);
	free(sql);
	return rc;
}

/* Emits a watermark through the WAL, in a transaction of its own. */
static int snap_watermark(struct capture *c, const char *kind, struct cerr *err)
{
	char content[160];
	const char *p = content;
	PGresult *res;

	snprintf(content, sizeof content, "%s:%s", kind, c->snap.token);
	res = PQexecParams(c->snap.conn, "SELECT pg_logical_emit_message(true, 'cleave', $1)", 1, NULL, &p, NULL, NULL,
	                   0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[512];

		text_one_line(PQresultErrorMessage(res), msg, sizeof msg);
		PQclear(res);
		return cerr_set(err, true, "writing the snapshot watermark %s: %s", content, msg);
	}
	PQclear(res);
	return 0;
}

/* A table `cleave snapshot` asked to copy again that has no key to read it by in chunks (the command
 * refuses those; its key was dropped since, or the request was written by hand): skipped with a warning,
 * and its record says done again so that a restart does not try either. 0, 1, -1. */
static int snap_skip_keyless(struct capture *c, int i, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	char name[256];
	struct buf v;
	int rc;

	snap_name(&c->cfg->source.tables[i], name, sizeof name);
	log_warn(capture_ctx(c, NULL), "%s: a copy was requested (cleave snapshot), but the table has no primary key"
	         " or replica identity index to read it by in chunks while streaming: not copied", name);
	snap_close_table(c);
	s->plan[i].todo = false;
	s->plan[i].requested = false;
	buf_init(&v, 0);
	if (snapctl_format(true, NULL, 0, &v) < 0) {
		buf_free(&v);
		return cerr_set(err, false, "out of memory");
	}
	rc = snap_write(c, name, (const char *)v.data, err);
	buf_free(&v);
	return rc;
}

int capture_snap_tick(struct capture *c, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	const struct capture_snap_plan *p;
	int rc, next = -1;

	if (!s->plan)
		return 0;
	if ((rc = capture_snap_records(c, err)) != 0)
		return rc;
	if (s->chunk != CAPTURE_CHUNK_NONE)
		return 0;
	if (s->table >= 0 && s->plan[s->table].todo) {
		next = s->table;
	} else {
		for (size_t i = 0; i < c->cfg->source.ntables && next < 0; i++)
			if (s->plan[i].todo)
				next = (int)i;
	}
	if (next < 0) {
		if (s->conn) { /* every copy is done */
			snap_close_table(c);
			PQfinish(s->conn);
			s->conn = NULL;
		}
		return 0;
	}
	if (!s->conn && !(s->conn = source_connect_sql(c->source, err)))
		return cerr_wrap(err, "connecting for a snapshot");
	if (next != s->table || !s->st) {
		if (snap_open_table(c, next, err) < 0)
			return -1;
		if (s->st->norder == 0 && s->plan[next].requested)
			return snap_skip_keyless(c, next, err);
		if (s->st->norder == 0)
			return cerr_set(err, false,
			                "%s: cannot copy the table while streaming: it has no primary key or replica identity"
			                " index to read it by in chunks; add a primary key, or drop the slot so that capture"
			                " copies it in an initial snapshot",
			                capture_ctx(c, s->entry.schema));
		log_info(capture_ctx(c, s->entry.schema), "snapshot: copying the table while streaming, %s",
		         s->plan[next].last_key ? "after the last key written down" : "from the start");
	}
	p = &s->plan[next];
	s->chunk_no++;
	snprintf(s->token, sizeof s->token, "%s:%" PRIu64 ":%" PRIu64, c->cfg->source.slot, s->run, s->chunk_no);
	if (snap_watermark(c, "lw", err) < 0)
		return -1;
	s->rows = snapshot_fetch_chunk(s->conn, s->st, (const char *const *)p->last_key, SNAP_CHUNK_ROWS, err);
	if (!s->rows)
		return cerr_wrap(err, "%s: selecting a snapshot chunk", capture_ctx(c, s->entry.schema));
	if (snap_watermark(c, "hw", err) < 0)
		return -1;
	snapwin_clear(s->win);
	s->discard = false;
	s->chunk = CAPTURE_CHUNK_WAIT_LW;
	return 0;
}

/* The high watermark of the chunk in flight: its rows that did not change in the window, in the current
 * (hw's) transaction. 0, 1, -1. */
static int snap_emit_chunk(struct capture *c, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	int n = PQntuples(s->rows), rc = 0;
	long long before = s->copied;
	bool done = n < SNAP_CHUNK_ROWS;
	char **key = NULL;

	s->chunk = CAPTURE_CHUNK_NONE;
	if (s->discard) {
		log_info(capture_ctx(c, s->entry.schema), "snapshot: the table was truncated, changed its schema or was"
		         " requested again while a chunk was read; reading the chunk again");
		snap_close_table(c); /* its schema is read again */
		return 0;
	}
	rc = capture_publish_schemas(c, &s->entry, err);
	for (int r = 0; rc == 0 && r < n; r++)
		rc = snap_row(c, s->rows, r, true, err);
	if (rc != 0)
		return rc;
	log_debug(capture_ctx(c, s->entry.schema), "snapshot chunk %s: %d rows read, %lld sent, %zu keys changed in the"
	          " window", s->token, n, s->copied - before, snapwin_count(s->win));
	if (!done && !(key = snap_row_key(s->st, s->rows, n - 1)))
		return cerr_set(err, false, "out of memory");
	if (snap_queue(c, c->txn.id, s->table, done, key, done ? 0 : s->st->norder, err) < 0)
		return -1;
	PQclear(s->rows);
	s->rows = NULL;
	if (done) {
		log_info(capture_ctx(c, s->entry.schema), "snapshot: done, %lld rows copied while streaming", s->copied);
		snap_close_table(c);
	} else {
		snap_log_progress(c, false);
	}
	return 0;
}

/* A request of `cleave snapshot --table` for table `name` (len bytes, not NUL-terminated): copy it again
 * from the start while streaming. Its "running" record goes out in the request's own transaction, so the
 * slot moves past the request only once the record is in Kafka: a capture killed later resumes the copy
 * from the record, one killed earlier reads the request again. 0, 1 (stop), -1. */
static int snap_request(struct capture *c, const char *name, size_t len, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	char tname[256];
	struct buf v;
	size_t kept = 0;
	int i = -1, rc;

	for (size_t k = 0; k < c->cfg->source.ntables && i < 0; k++) {
		snap_name(&c->cfg->source.tables[k], tname, sizeof tname);
		if (strlen(tname) == len && memcmp(tname, name, len) == 0)
			i = (int)k;
	}
	if (i < 0 || !s->plan) {
		log_warn(capture_ctx(c, NULL), "a snapshot of %.*s was requested (cleave snapshot), but %s: ignored",
		         (int)(len > 200 ? 200 : len), name,
		         i < 0 ? "the table is not in source.tables" : "source.snapshot is never");
		return 0;
	}
	if (!c->txn.open) { /* pg_logical_emit_message(false, ...): no transaction to write the record in */
		log_warn(capture_ctx(c, NULL), "a snapshot of %s was requested by a non-transactional message: ignored"
		         " (cleave snapshot writes a transactional one)", tname);
		return 0;
	}
	/* progress records of this table still waiting for acknowledgements would land after this one */
	for (size_t r = 0; r < s->nrecords; r++) {
		if (strcmp(s->records[r].table, tname) == 0) {
			free(s->records[r].table);
			free(s->records[r].value);
		} else {
			s->records[kept++] = s->records[r];
		}
	}
	s->nrecords = kept;
	if (s->table == i && s->chunk != CAPTURE_CHUNK_NONE)
		s->discard = true; /* the chunk in flight is dropped at its high watermark */
	snap_free_key(s->plan[i].last_key, s->plan[i].nkey);
	s->plan[i].last_key = NULL;
	s->plan[i].nkey = 0;
	s->plan[i].todo = true;
	s->plan[i].requested = true;
	buf_init(&v, 0);
	buf_reset(&c->key);
	buf_reset(&c->value);
	if (snapctl_format(false, NULL, 0, &v) < 0 || buf_puts(&c->key, tname) < 0 ||
	    buf_puts(&c->value, (const char *)v.data) < 0) {
		buf_free(&v);
		return cerr_set(err, false, "out of memory");
	}
	buf_free(&v);
	rc = capture_send_txn(c, c->txn.id, s->topic, PRODUCER_PARTITION_ANY, &c->key, &c->value, err);
	if (rc == 0)
		log_info(capture_ctx(c, NULL), "%s: a snapshot was requested (cleave snapshot): copying the table again"
		         " from the start while streaming", tname);
	return rc;
}

int capture_snap_message(struct capture *c, const struct pgo_msg *m, struct cerr *err)
{
	struct capture_snap *s = &c->snap;
	size_t tlen = strlen(s->token);
	const char *content = m->u.message.content, *req;

	if (strcmp(m->u.message.prefix, "cleave") != 0)
		return 0;
	/* a request of `cleave snapshot`; another slot's is not ours */
	if ((req = snapctl_request_table(content, m->u.message.len, c->cfg->source.slot)))
		return snap_request(c, req, m->u.message.len - (size_t)(req - content), err);
	if (!s->plan || s->chunk == CAPTURE_CHUNK_NONE)
		return 0;
	if (m->u.message.len != 3 + tlen || memcmp(content + 3, s->token, tlen) != 0)
		return 0; /* an earlier run's or another deployment's watermark */
	if (memcmp(content, "lw:", 3) == 0 && s->chunk == CAPTURE_CHUNK_WAIT_LW) {
		s->chunk = CAPTURE_CHUNK_OPEN;
		return 0;
	}
	if (memcmp(content, "hw:", 3) == 0 && s->chunk == CAPTURE_CHUNK_OPEN) {
		if (!c->txn.open)
			return cerr_set(err, false, "%s: snapshot watermark outside a transaction", capture_ctx(c, NULL));
		return snap_emit_chunk(c, err);
	}
	return 0;
}

int capture_snap_changed(struct capture *c, uint32_t relid, const struct buf *key, struct cerr *err)
{
	struct capture_snap *s = &c->snap;

	/* from the chunk's selection on, not only from lw: a transaction whose commit record precedes lw
	 * may still have been invisible to the chunk's query (its backend had not yet left the proc array) */
	if (s->chunk == CAPTURE_CHUNK_NONE || !s->st || relid != s->st->rel.oid)
		return 0;
	if (snapwin_add(s->win, key->data, key->len) < 0)
		return cerr_set(err, false, "out of memory");
	return 0;
}

void capture_snap_truncated(struct capture *c, uint32_t relid)
{
	struct capture_snap *s = &c->snap;

	if (s->chunk != CAPTURE_CHUNK_NONE && s->st && relid == s->st->rel.oid)
		s->discard = true;
}

void capture_snap_relation(struct capture *c, const struct table_schema *ts)
{
	struct capture_snap *s = &c->snap;

	if (s->chunk != CAPTURE_CHUNK_NONE && s->st && ts->relid == s->st->rel.oid &&
	    ts->value_id != s->entry.schema->value_id)
		s->discard = true;
}
