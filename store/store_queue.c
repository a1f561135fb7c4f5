/* The SQLite backend of the outbound queue (store_queue.h). */
#include "store_queue.h"

#include <stdlib.h>
#include <string.h>

#include "store_queue_int.h"
#include "store_sqlite_int.h"

/* queue: one row per message; queue_rcpts: one per recipient with its
 * retry state; queue_chunks: the body in pieces. Ids are AUTOINCREMENT:
 * they are what `postlite queue` shows, and must never come back. */
const char store_queue_schema[] =
	"CREATE TABLE queue ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" sender TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE queue_rcpts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,"
	" rcpt TEXT NOT NULL,"
	" domain TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_try INTEGER NOT NULL,"
	" last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX queue_rcpts_due ON queue_rcpts(next_try);"
	"CREATE INDEX queue_rcpts_msg ON queue_rcpts(queue_id);"
	"CREATE TABLE queue_chunks ("
	" queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" data BLOB NOT NULL,"
	" PRIMARY KEY (queue_id, seq)) WITHOUT ROWID;";

/* One-off statements: the queue runs a few per delivery, far from the
 * per-message hot path, so no cache. */
static sqlite3_stmt *prep(struct store *st, const char *sql,
                          enum store_status *s)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	*s = STORE_OK;
	if (rc != SQLITE_OK) {
		*s = store_dberr(st, rc, sql);
		return NULL;
	}
	return q;
}

/* Steps to the end and finalizes. */
static enum store_status run(struct store *st, sqlite3_stmt *q,
                             const char *what)
{
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? STORE_OK : store_dberr(st, rc, what);
}

/* Appends p[0..n) as pieces from seq *next on. */
static enum store_status put_chunks(struct store *st, uint64_t qid,
                                    int64_t *next, const char *p, size_t n)
{
	enum store_status s = STORE_OK;
	while (n > 0) {
		size_t k = n < STORE_QUEUE_CHUNK_MAX ? n : STORE_QUEUE_CHUNK_MAX;
		sqlite3_stmt *q = prep(st, "INSERT INTO queue_chunks(queue_id,"
		                       " seq, data) VALUES (?1, ?2, ?3)", &s);
		if (!q)
			return s;
		sqlite3_bind_int64(q, 1, (int64_t)qid);
		sqlite3_bind_int64(q, 2, (*next)++);
		sqlite3_bind_blob64(q, 3, p, k, SQLITE_STATIC);
		if ((s = run(st, q, "queueing a message")) != STORE_OK)
			return s;
		p += k;
		n -= k;
	}
	return s;
}

/* The pending message's pieces become the first queue pieces (the store
 * numbers its chunks from 0 without gaps); returns their count and size. */
static enum store_status copy_pending(struct store *st, uint64_t msg,
                                      uint64_t qid, int64_t *count,
                                      int64_t *size)
{
	enum store_status s = STORE_OK;
	sqlite3_stmt *q = prep(st, "SELECT size FROM messages WHERE id = ?1 "
	                       "AND state = 0", &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	int rc = sqlite3_step(q);
	*size = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "message %llu: not "
		                  "pending", (unsigned long long)msg);
	}
	if (rc != SQLITE_ROW)
		return store_dberr(st, rc, "queueing a message");
	if (!(q = prep(st, "INSERT INTO queue_chunks(queue_id, seq, data) "
	               "SELECT ?1, seq, data FROM chunks WHERE msg_id = ?2",
	               &s)))
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)qid);
	sqlite3_bind_int64(q, 2, (int64_t)msg);
	if ((s = run(st, q, "queueing a message")) != STORE_OK)
		return s;
	*count = sqlite3_changes(st->db);
	return STORE_OK;
}

enum store_status store_queue_add(struct store *st, uint64_t msg,
                                  const void *p, size_t n, const char *sender,
                                  const char *const *rcpts, size_t nrcpt,
                                  unsigned flags, uint64_t *qid)
{
	if (nrcpt == 0)
		return store_fail(st, STORE_INVALID, "no recipients");
	char norm[STORE_ADDRESS_MAX];
	size_t dom;
	for (size_t i = 0; i < nrcpt; i++)
		if (store_address_normalize(rcpts[i], norm, sizeof norm,
		                            &dom) != 0 || dom == 0)
			return store_fail(st, STORE_INVALID, "bad recipient "
			                  "address");
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	int64_t now = store_now();
	sqlite3_stmt *q = prep(st, "INSERT INTO queue(sender, size, flags, "
	                       "created) VALUES (?1, 0, ?2, ?3)", &s);
	if (!q)
		return s;
	sqlite3_bind_text(q, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, (int)flags);
	sqlite3_bind_int64(q, 3, now);
	if ((s = run(st, q, "queueing a message")) != STORE_OK)
		return s;
	uint64_t id = (uint64_t)sqlite3_last_insert_rowid(st->db);
	int64_t next = 0, size = 0;
	if (msg && (s = copy_pending(st, msg, id, &next, &size)) != STORE_OK)
		return s;
	if ((s = put_chunks(st, id, &next, p, n)) != STORE_OK)
		return s;
	if (next == 0) { /* the runner takes a missing first piece for "gone" */
		store_tx_rollback(st);
		return store_fail(st, STORE_INVALID, "an empty message");
	}
	if (!(q = prep(st, "UPDATE queue SET size = ?2 WHERE id = ?1", &s)))
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)id);
	sqlite3_bind_int64(q, 2, size + (int64_t)n);
	if ((s = run(st, q, "queueing a message")) != STORE_OK)
		return s;
	for (size_t i = 0; i < nrcpt; i++) {
		store_address_normalize(rcpts[i], norm, sizeof norm, &dom);
		if (!(q = prep(st, "INSERT INTO queue_rcpts(queue_id, rcpt, "
		               "domain, next_try) VALUES (?1, ?2, ?3, ?4)", &s)))
			return s;
		sqlite3_bind_int64(q, 1, (int64_t)id);
		sqlite3_bind_text(q, 2, norm, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, norm + dom, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, now);
		if ((s = run(st, q, "queueing a message")) != STORE_OK)
			return s;
	}
	/* The one durable step: the WAL is synced when COMMIT returns. */
	if ((s = store_tx_commit(st)) != STORE_OK)
		return s;
	*qid = id;
	return STORE_OK;
}

static void col_text(sqlite3_stmt *q, int col, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(q, col) : 0;
	if (n >= outsz)
		n = outsz - 1;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

enum store_status store_queue_due(struct store *st, int64_t now, size_t max,
                                  struct store_queue_item **items, size_t *n)
{
	*items = NULL;
	*n = 0;
	enum store_status s = STORE_OK;
	sqlite3_stmt *q = prep(st, "SELECT m.id, r.id, r.rcpt, r.domain, "
	                       "m.sender, m.size, m.flags, r.attempts, "
	                       "m.created, r.next_try, r.last_error "
	                       "FROM queue_rcpts r JOIN queue m "
	                       "ON m.id = r.queue_id WHERE r.next_try <= ?1 "
	                       "ORDER BY m.id, r.domain, r.id LIMIT ?2", &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct store_queue_item *a = realloc(*items, nc * sizeof *a);
			if (!a) {
				rc = SQLITE_NOMEM;
				break;
			}
			*items = a;
			cap = nc;
		}
		struct store_queue_item *it = &(*items)[(*n)++];
		memset(it, 0, sizeof *it);
		it->qid = (uint64_t)sqlite3_column_int64(q, 0);
		it->rid = (uint64_t)sqlite3_column_int64(q, 1);
		col_text(q, 2, it->rcpt, sizeof it->rcpt);
		col_text(q, 3, it->domain, sizeof it->domain);
		col_text(q, 4, it->sender, sizeof it->sender);
		it->size = (uint64_t)sqlite3_column_int64(q, 5);
		it->flags = (unsigned)sqlite3_column_int(q, 6);
		it->attempts = (unsigned)sqlite3_column_int(q, 7);
		it->created = sqlite3_column_int64(q, 8);
		it->next_try = sqlite3_column_int64(q, 9);
		col_text(q, 10, it->last_error, sizeof it->last_error);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(*items);
		*items = NULL;
		*n = 0;
		return store_dberr(st, rc, "listing the queue");
	}
	return STORE_OK;
}
