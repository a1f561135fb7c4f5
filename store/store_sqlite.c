/* The SQLite backend of store.h: statuses and errors, the statement
 * cache, transactions, savepoints and batches (group commit). Connections
 * (open/init/close) live in store_open.c; the directory, delivery and mailbox calls in
 * store_directory.c, store_message.c and store_mailbox.c; the schema and
 * backup in store_schema.c; the SQL text in store_sql.c. */
#include "store_sqlite_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


const char *store_status_name(enum store_status s)
{
	switch (s) {
	case STORE_OK: return "OK";
	case STORE_NOTFOUND: return "NOTFOUND";
	case STORE_NOTLOCAL: return "NOTLOCAL";
	case STORE_EXISTS: return "EXISTS";
	case STORE_INVALID: return "INVALID";
	case STORE_DENIED: return "DENIED";
	case STORE_INUSE: return "INUSE";
	case STORE_TEMPFAIL: return "TEMPFAIL";
	case STORE_PERMFAIL: return "PERMFAIL";
	case STORE_NOSPACE: return "NOSPACE";
	case STORE_OVERQUOTA: return "OVERQUOTA";
	}
	return "UNKNOWN";
}

bool store_status_temporary(enum store_status s)
{
	return s == STORE_TEMPFAIL || s == STORE_NOSPACE ||
	       s == STORE_OVERQUOTA;
}

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

enum store_status store_fail(struct store *st, enum store_status status,
                             const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
	return status;
}

/* A full disk and I/O errors (SQLite reports ENOSPC as FULL, a failed
 * write or sync as IOERR_*) are NOSPACE: SQLite has undone the change, and
 * the same call works once space returns. Busy and memory trouble pass
 * too; the rest (corruption, not a database, permissions, misuse) needs a
 * human. */
enum store_status store_status_of(int rc)
{
	if (rc == SQLITE_IOERR_NOMEM)
		return STORE_TEMPFAIL;
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
		return STORE_NOSPACE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_INTERRUPT:
	case SQLITE_PROTOCOL:
		return STORE_TEMPFAIL;
	default:
		return STORE_PERMFAIL;
	}
}

enum store_status store_dberr(struct store *st, int rc, const char *what)
{
	enum store_status s = store_status_of(rc);
	store_fail(st, s, "%s: %s (%s)", what, sqlite3_errmsg(st->db),
	           sqlite3_errstr(rc));
	store_tx_rollback(st);
	return s;
}

sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id,
                         enum store_status *status)
{
	if (!st->stmt[id]) {
		int rc = sqlite3_prepare_v3(st->db, store_sql[id], -1,
		                            SQLITE_PREPARE_PERSISTENT,
		                            &st->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			st->stmt[id] = NULL;
			*status = store_dberr(st, rc, "prepare");
			return NULL;
		}
	}
	return st->stmt[id];
}

enum store_status store_run(struct store *st, sqlite3_stmt *s,
                            const char *what)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, what);
	return STORE_OK;
}

enum store_status store_exec(struct store *st, enum store_stmt id)
{
	enum store_status status = STORE_OK;
	sqlite3_stmt *s = store_stmt(st, id, &status);
	if (!s)
		return status;
	return store_run(st, s, store_sql[id]);
}

/* In a batch: the open transaction is the batch's, or it is gone (a
 * full disk or I/O error rolls the whole transaction back). */
static enum store_status store_batch_alive(struct store *st)
{
	if (st->batch_lost == STORE_OK && sqlite3_get_autocommit(st->db))
		st->batch_lost = STORE_TEMPFAIL;
	if (st->batch_lost != STORE_OK)
		return store_fail(st, st->batch_lost, "the batch was rolled "
		                  "back by an earlier failure");
	return STORE_OK;
}

/* Opens this call's savepoint inside the batch. */
static enum store_status store_savepoint(struct store *st)
{
	enum store_status s = store_batch_alive(st);
	if (s == STORE_OK && (s = store_exec(st, ST_SAVEPOINT)) == STORE_OK)
		st->in_tx = true;
	return s;
}

enum store_status store_tx_begin(struct store *st, bool durable)
{
	enum store_status s;
	if (st->batch)
		return store_savepoint(st);
	/* The level applies to the connection and must be set outside a
	 * transaction; it is switched only when it changes, so a run of
	 * appends pays for no pragma. */
	if (durable && st->unsynced) {
		if ((s = store_exec(st, ST_SYNC_FULL)) != STORE_OK)
			return s;
		st->unsynced = false;
	} else if (!durable && !st->unsynced) {
		if ((s = store_exec(st, ST_SYNC_NORMAL)) != STORE_OK)
			return s;
		st->unsynced = true;
	}
	if ((s = store_exec(st, ST_BEGIN)) != STORE_OK)
		return s;
	st->in_tx = true;
	return STORE_OK;
}

enum store_status store_tx_read(struct store *st)
{
	if (st->batch)
		return store_savepoint(st);
	enum store_status s = store_exec(st, ST_BEGIN_READ);
	if (s == STORE_OK)
		st->in_tx = true;
	return s;
}

enum store_status store_tx_commit(struct store *st)
{
	enum store_status s = store_exec(st, st->batch ? ST_RELEASE : ST_COMMIT);
	if (s == STORE_OK) {
		st->in_tx = false;
	} else {
		/* store_dberr rolled back already; keep its message. */
		store_tx_rollback(st);
	}
	return s;
}

void store_tx_rollback(struct store *st)
{
	if (!st->in_tx)
		return;
	st->in_tx = false;
	/* A failed statement may have ended the transaction already (and,
	 * in a batch, the batch with it). Not through the cache: a failing
	 * prepare would recurse into here. */
	if (sqlite3_get_autocommit(st->db)) {
		if (st->batch && st->batch_lost == STORE_OK)
			st->batch_lost = store_status_of(sqlite3_errcode(st->db));
		return;
	}
	if (st->batch)
		sqlite3_exec(st->db, "ROLLBACK TO op; RELEASE op", NULL, NULL,
		             NULL);
	else
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

enum store_status store_batch_begin(struct store *st)
{
	if (!st)
		return STORE_TEMPFAIL; /* a worker without a store */
	if (st->batch || st->in_tx)
		return store_fail(st, STORE_PERMFAIL, "batch: a transaction "
		                  "is open");
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	st->in_tx = false;
	st->batch = true;
	st->batch_lost = STORE_OK;
	return STORE_OK;
}

enum store_status store_batch_commit(struct store *st)
{
	if (!st->batch)
		return store_fail(st, STORE_PERMFAIL, "batch: none open");
	store_tx_rollback(st); /* a call left its savepoint open: undo it */
	enum store_status s = store_batch_alive(st);
	st->batch = false;
	if (s != STORE_OK) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return s;
	}
	/* The one durable step: COMMIT returns after the WAL is synced. */
	st->in_tx = true;
	return store_tx_commit(st);
}

void store_batch_rollback(struct store *st)
{
	if (!st || !st->batch)
		return;
	st->batch = false;
	st->in_tx = false;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

enum store_status store_query_int(struct store *st, const char *sql,
                                  int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? STORE_OK : store_dberr(st, rc, sql);
}

void store_bind_text(sqlite3_stmt *q, int i, const char *text)
{
	sqlite3_bind_text(q, i, text, -1, SQLITE_STATIC);
}

void store_done(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

enum store_status store_row(struct store *st, sqlite3_stmt *q,
                            const char *what)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	store_done(q);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	return store_dberr(st, rc, what);
}
