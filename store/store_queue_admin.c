/* The outbound queue: reading bodies, recording results, and the admin's
 * retry and delete (store_queue.h). */
#include "store_queue.h"

#include <string.h>

#include "store_sqlite_int.h"

enum store_status store_queue_read(struct store *st, uint64_t qid,
                                   uint64_t seq, void *buf, size_t cap,
                                   size_t *got)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, "SELECT data FROM queue_chunks "
	                            "WHERE queue_id = ?1 AND seq = ?2", -1, &q,
	                            NULL);
	if (rc != SQLITE_OK)
		return store_dberr(st, rc, "reading the queue");
	sqlite3_bind_int64(q, 1, (int64_t)qid);
	sqlite3_bind_int64(q, 2, (int64_t)seq);
	rc = sqlite3_step(q);
	enum store_status s = STORE_OK;
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		if (n > cap) {
			s = store_fail(st, STORE_PERMFAIL, "queue piece too "
			               "large");
		} else {
			if (n)
				memcpy(buf, sqlite3_column_blob(q, 0), n);
			*got = n;
		}
	} else if (rc == SQLITE_DONE) {
		s = store_fail(st, STORE_NOTFOUND, "no piece %llu of queued "
		               "message %llu", (unsigned long long)seq,
		               (unsigned long long)qid);
	} else {
		s = store_dberr(st, rc, "reading the queue");
	}
	sqlite3_finalize(q);
	return s;
}

/* Runs sql inside the open transaction with integers a, b, c as ?1..?3
 * and text (or NULL) as ?4; parameters the SQL does not name are
 * ignored (SQLite only reports SQLITE_RANGE for them). */
static enum store_status exec4(struct store *st, const char *sql, int64_t a,
                               int64_t b, int64_t c, const char *text)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_dberr(st, rc, "updating the queue");
	sqlite3_bind_int64(q, 1, a);
	sqlite3_bind_int64(q, 2, b);
	sqlite3_bind_int64(q, 3, c);
	if (text)
		sqlite3_bind_text(q, 4, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? STORE_OK
	                         : store_dberr(st, rc, "updating the queue");
}

enum store_status store_queue_update(struct store *st,
                                     const struct store_queue_result *r,
                                     size_t n)
{
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	for (size_t i = 0; i < n && s == STORE_OK; i++) {
		if (r[i].outcome == STORE_QUEUE_DONE)
			s = exec4(st, "DELETE FROM queue_rcpts WHERE id = ?1 ",
			          (int64_t)r[i].rid, 0,
			          0, NULL);
		else
			s = exec4(st, "UPDATE queue_rcpts SET attempts = "
			          "attempts + 1, next_try = ?2, last_error = "
			          "substr(coalesce(?4, ''), 1, 250) WHERE id = ?1",
			          (int64_t)r[i].rid,
			          r[i].next_try, 0, r[i].error ? r[i].error : "");
	}
	/* Messages without recipients go, body and all (cascade). */
	if (s == STORE_OK)
		s = exec4(st, "DELETE FROM queue WHERE NOT EXISTS (SELECT 1 "
		          "FROM queue_rcpts r WHERE r.queue_id = queue.id)", 0, 0,
		          0, NULL);
	if (s != STORE_OK)
		return s; /* store_dberr rolled back */
	return store_tx_commit(st);
}

enum store_status store_queue_retry(struct store *st, uint64_t qid,
                                    int64_t when)
{
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	s = exec4(st, "UPDATE queue_rcpts SET next_try = ?2 WHERE "
	          "(?1 = 0 OR queue_id = ?1)", (int64_t)qid, when,
	          0, NULL);
	if (s != STORE_OK)
		return s;
	if (qid && sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "no queued message %llu",
		                  (unsigned long long)qid);
	}
	return store_tx_commit(st);
}

enum store_status store_queue_delete(struct store *st, uint64_t qid)
{
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	s = exec4(st, "DELETE FROM queue WHERE id = ?1", (int64_t)qid, 0, 0,
	          NULL);
	if (s != STORE_OK)
		return s;
	if (sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "no queued message %llu",
		                  (unsigned long long)qid);
	}
	return store_tx_commit(st);
}
