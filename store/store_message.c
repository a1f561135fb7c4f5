/* The SQLite store's delivery path: pending messages are written as chunks
 * in short unsynced transactions, then made visible to every recipient
 * mailbox by one durable commit (store_msg_deliver). The FULL sync of that
 * commit flushes the whole WAL, so it also covers the earlier appends'
 * frames (PLATFORM.md: WAL + FULL = one sync per commit). */
#include "store_sqlite_int.h"

#include <string.h>

#include "store_hdr.h"

/* Size of a pending message, or NOTFOUND (unknown, or already complete). */
static enum store_status msg_pending_size(struct store *st, uint64_t msg,
                                          uint64_t *size)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_PENDING, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*size = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "message %llu: not "
		                  "pending", (unsigned long long)msg);
	}
	return store_dberr(st, rc, "looking up a message");
}

static enum store_status msg_new(struct store *st, uint64_t *msg)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_NEW, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, store_now());
	if ((s = store_run(st, q, "creating a message")) != STORE_OK)
		return s;
	*msg = (uint64_t)sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/* Writes n bytes at offset off of a message, inside the caller's
 * transaction: fills the last partial chunk, then adds chunks. Pieces of
 * STORE_CHUNK_SIZE at aligned sizes never rewrite a chunk. */
static enum store_status msg_put(struct store *st, uint64_t msg, uint64_t off,
                                 const void *p, size_t n)
{
	const unsigned char *b = p;
	enum store_status s;
	while (n > 0) {
		uint64_t seq = off / CHUNK, in = off % CHUNK;
		size_t take = CHUNK - in < n ? (size_t)(CHUNK - in) : n;
		sqlite3_stmt *q = store_stmt(st, in ? ST_CHUNK_EXTEND :
		                             ST_CHUNK_ADD, &s);
		if (!q)
			return s;
		sqlite3_bind_int64(q, 1, (int64_t)msg);
		sqlite3_bind_int64(q, 2, (int64_t)seq);
		/* STATIC: the caller's bytes stay put until the reset. */
		sqlite3_bind_blob64(q, 3, b, take, SQLITE_STATIC);
		if ((s = store_run(st, q, "writing a message")) != STORE_OK)
			return s;
		if (in && sqlite3_changes(st->db) != 1)
			return store_fail(st, STORE_PERMFAIL, "message %llu: "
			                  "chunk %llu missing",
			                  (unsigned long long)msg,
			                  (unsigned long long)seq);
		b += take;
		n -= take;
		off += take;
	}
	return STORE_OK;
}

/* Appends n bytes to a pending message of *size bytes. */
static enum store_status msg_write(struct store *st, uint64_t msg,
                                   uint64_t *size, const void *p, size_t n)
{
	enum store_status s = msg_put(st, msg, *size, p, n);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_SIZE, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	sqlite3_bind_int64(q, 2, (int64_t)(*size + n));
	sqlite3_bind_int64(q, 3, store_now());
	if ((s = store_run(st, q, "writing a message")) != STORE_OK)
		return s;
	*size += n;
	return STORE_OK;
}

/* A whole message at once: one complete row with its listing fields, read
 * from the bytes in hand, then its chunks -- no pending state to insert,
 * update and clear, no header to read back (fewer pages per commit). */
static enum store_status msg_put_whole(struct store *st, uint64_t *msg,
                                       const void *p, size_t n)
{
	struct store_hdr h;
	store_hdr_parse(p, n < MSG_HEAD_MAX ? n : MSG_HEAD_MAX, &h);
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_WHOLE, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)n);
	sqlite3_bind_int64(q, 2, store_now());
	store_bind_text(q, 3, h.sender);
	store_bind_text(q, 4, h.subject);
	if ((s = store_run(st, q, "delivering")) != STORE_OK)
		return s;
	*msg = (uint64_t)sqlite3_last_insert_rowid(st->db);
	return msg_put(st, *msg, 0, p, n);
}

void store_msg_gc_maybe(struct store *st)
{
	if (st->batch || (st->begun++ & 255) != 255)
		return;
	char keep[sizeof st->err];
	memcpy(keep, st->err, sizeof keep);
	(void)schema_gc_pending(st, store_now() - STORE_PENDING_STALE);
	memcpy(st->err, keep, sizeof keep);
}

/* OVERQUOTA if size more bytes would take a mailbox of recipient id r
 * over its quota. */
static enum store_status msg_quota(struct store *st, uint64_t r,
                                   uint64_t size)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, r & RCPT_ALIAS ? ST_ALIAS_FULL :
	                             ST_MBOX_FULL, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)(r & ~RCPT_ALIAS));
	sqlite3_bind_int64(q, 2, (int64_t)size);
	if ((s = store_row(st, q, "checking a quota")) != STORE_OK)
		return s;
	int64_t over = sqlite3_column_int64(q, 0);
	store_done(q);
	if (over > 0)
		return store_fail(st, STORE_OVERQUOTA, "a recipient's mailbox "
		                  "is full");
	return STORE_OK;
}

/* Adds msg (size bytes) to the mailboxes of the recipient ids, each
 * once: NOTFOUND when none is left, OVERQUOTA when one would overflow. */
static enum store_status msg_add_entries(struct store *st, uint64_t msg,
                                         uint64_t size, const uint64_t *rcpt,
                                         size_t n)
{
	enum store_status s;
	for (size_t i = 0; i < n; i++)
		if ((s = msg_quota(st, rcpt[i], size)) != STORE_OK)
			return s;
	int added = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = store_stmt(st, rcpt[i] & RCPT_ALIAS ?
		                             ST_ENTRY_ADD_ALIAS : ST_ENTRY_ADD,
		                             &s);
		if (!q)
			return s;
		sqlite3_bind_int64(q, 1, (int64_t)(rcpt[i] & ~RCPT_ALIAS));
		sqlite3_bind_int64(q, 2, (int64_t)msg);
		if ((s = store_run(st, q, "delivering")) != STORE_OK)
			return s;
		added += sqlite3_changes(st->db);
	}
	if (added == 0)
		return store_fail(st, STORE_NOTFOUND, "no recipient mailbox "
		                  "exists any more");
	return STORE_OK;
}

enum store_status msg_set_meta(struct store *st, uint64_t msg)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_HEAD, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	struct store_hdr h = {{0}, {0}};
	s = store_row(st, q, "reading a header");
	if (s == STORE_OK) {
		store_hdr_parse(sqlite3_column_blob(q, 0),
		                (size_t)sqlite3_column_bytes(q, 0), &h);
		store_done(q);
	} else if (s != STORE_NOTFOUND) {
		return s;
	}
	/* An empty message has no chunk: "" for both. */
	if (!(q = store_stmt(st, ST_MSG_META, &s)))
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	store_bind_text(q, 2, h.sender);
	store_bind_text(q, 3, h.subject);
	return store_run(st, q, "delivering");
}

enum store_status store_msg_set_received(struct store *st, uint64_t msg,
                                         int64_t when)
{
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_RECEIVED, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	sqlite3_bind_int64(q, 2, when);
	if ((s = store_run(st, q, "setting a date")) != STORE_OK)
		return s;
	if (sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "message %llu: not found",
		                  (unsigned long long)msg);
	}
	return store_tx_commit(st);
}

enum store_status store_msg_append(struct store *st, uint64_t *msg,
                                   const void *p, size_t n)
{
	bool create = *msg == 0;
	if (!create && n == 0)
		return STORE_OK;
	if (create)
		store_msg_gc_maybe(st);
	enum store_status s = store_tx_begin(st, false);
	if (s != STORE_OK)
		return s;
	/* Creating the row in the transaction of the first piece writes its
	 * pages to the WAL once, not once more in a commit of its own. */
	uint64_t id = *msg, size = 0;
	s = create ? msg_new(st, &id) : msg_pending_size(st, id, &size);
	if (s == STORE_OK && n > 0)
		s = msg_write(st, id, &size, p, n);
	if (s == STORE_OK)
		s = store_tx_commit(st);
	else
		store_tx_rollback(st);
	if (s == STORE_OK)
		*msg = id;
	return s;
}

/* A pending message gets its listing fields and becomes visible. */
static enum store_status msg_complete(struct store *st, uint64_t msg)
{
	enum store_status s = msg_set_meta(st, msg);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_COMPLETE, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	sqlite3_bind_int64(q, 2, store_now());
	return store_run(st, q, "delivering");
}

enum store_status store_msg_deliver(struct store *st, uint64_t *msg,
                                    const void *p, size_t n,
                                    const uint64_t *mailboxes, size_t nmbox)
{
	if (nmbox == 0)
		return store_fail(st, STORE_INVALID, "no recipients");
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	uint64_t id = *msg, size = n;
	if (id == 0) {
		s = msg_put_whole(st, &id, p, n);
	} else {
		s = msg_pending_size(st, id, &size);
		if (s == STORE_OK)
			s = msg_write(st, id, &size, p, n);
	}
	if (s == STORE_OK)
		s = msg_add_entries(st, id, size, mailboxes, nmbox);
	if (s == STORE_OK && *msg != 0)
		s = msg_complete(st, id);
	if (s != STORE_OK) {
		store_tx_rollback(st);
		return s;
	}
	/* The one durable step: COMMIT returns after the WAL is synced (in
	 * a batch, store_batch_commit does). */
	if ((s = store_tx_commit(st)) != STORE_OK)
		return s;
	*msg = id;
	return STORE_OK;
}

enum store_status store_msg_abort(struct store *st, uint64_t msg)
{
	/* Not durable: a pending message that survives a crash is
	 * collected by the next init or open anyway. */
	enum store_status s = store_tx_begin(st, false);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_ABORT, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	if ((s = store_run(st, q, "aborting a message")) != STORE_OK)
		return s;
	return store_tx_commit(st);
}
