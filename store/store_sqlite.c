/* The SQLite backend of store.h: its SQL, the statement cache,
 * transactions and errors. Connections (open/init/close) live in
 * store_open.c; the directory, delivery and mailbox calls in
 * store_directory.c, store_message.c and store_mailbox.c; the schema and
 * backup in store_schema.c. */
#include "store_sqlite_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const store_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
	[ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[ST_FREELIST] = "PRAGMA freelist_count",
	/* 8192 pages = 32 MiB with 4 KiB pages: one large message's worth,
	 * so each step stays short. */
	[ST_VACUUM_INC] = "PRAGMA incremental_vacuum(8192)",

	[ST_DOMAIN_ADD] = "INSERT INTO domains(name, created) VALUES (?1, ?2)",
	[ST_DOMAIN_ID] = "SELECT id FROM domains WHERE name = ?1",
	[ST_DOMAIN_USERS] = "SELECT count(*) FROM users WHERE domain_id = ?1",
	[ST_DOMAIN_DEL] = "DELETE FROM domains WHERE id = ?1",
	[ST_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[ST_DOMAIN_FIRST] = "SELECT name FROM domains ORDER BY id LIMIT 1",
	[ST_USER_ADD] = "INSERT INTO users(address, domain_id, password, "
	                "disabled, created) VALUES (?1, ?2, ?3, 0, ?4)",
	[ST_MBOX_ADD] = "INSERT INTO mailboxes(user_id) VALUES (?1)",
	[ST_USER_PASSWD] = "UPDATE users SET password = ?2 WHERE address = ?1",
	[ST_USER_DISABLE] = "UPDATE users SET disabled = ?2 WHERE address = ?1",
	[ST_USER_DEL] = "DELETE FROM users WHERE address = ?1",
	[ST_USER_LIST] = "SELECT u.address FROM users u "
	                 "JOIN domains d ON d.id = u.domain_id "
	                 "ORDER BY d.name, u.address",
	[ST_USER_GET] = "SELECT u.password, u.disabled, m.id FROM users u "
	                "JOIN mailboxes m ON m.user_id = u.id "
	                "WHERE u.address = ?1",

	[ST_MSG_NEW] = "INSERT INTO messages(size, created, updated, state) "
	               "VALUES (0, ?1, ?1, 0)",
	[ST_MSG_PENDING] = "SELECT size FROM messages WHERE id = ?1 AND state = 0",
	[ST_MSG_SIZE] = "UPDATE messages SET size = ?2, updated = ?3 WHERE id = ?1",
	[ST_MSG_COMPLETE] = "UPDATE messages SET state = 1, updated = ?2 "
	                    "WHERE id = ?1 AND state = 0",
	[ST_MSG_ABORT] = "DELETE FROM messages WHERE id = ?1 AND state = 0",
	[ST_MSG_STALE] = "DELETE FROM messages WHERE state = 0 AND updated < ?1",
	[ST_MSG_GC] = "DELETE FROM messages WHERE state = 1 AND NOT EXISTS "
	              "(SELECT 1 FROM entries e WHERE e.msg_id = messages.id)",
	[ST_MSG_UNREF] = "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS "
	                 "(SELECT 1 FROM entries WHERE msg_id = ?1)",
	[ST_CHUNK_ADD] = "INSERT INTO chunks(msg_id, seq, data) VALUES (?1, ?2, ?3)",
	/* || yields TEXT; the cast keeps the bytes a BLOB. */
	[ST_CHUNK_EXTEND] = "UPDATE chunks SET data = CAST(data || ?3 AS BLOB) "
	                    "WHERE msg_id = ?1 AND seq = ?2",
	[ST_CHUNK_READ] = "SELECT seq, data FROM chunks WHERE msg_id = ?1 "
	                  "AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
	/* OR IGNORE: a repeated mailbox gets one entry; the SELECT skips a
	 * mailbox that is gone. */
	[ST_ENTRY_ADD] = "INSERT OR IGNORE INTO entries(mailbox_id, msg_id) "
	                 "SELECT id, ?2 FROM mailboxes WHERE id = ?1",
	[ST_ENTRY_GET] = "SELECT e.msg_id, m.size FROM entries e "
	                 "JOIN messages m ON m.id = e.msg_id "
	                 "WHERE e.id = ?1 AND e.mailbox_id = ?2",
	[ST_ENTRY_DEL] = "DELETE FROM entries WHERE id = ?1 AND mailbox_id = ?2 "
	                 "RETURNING msg_id",
	[ST_ENTRY_LIST] = "SELECT e.id, m.size FROM entries e "
	                  "JOIN messages m ON m.id = e.msg_id "
	                  "WHERE e.mailbox_id = ?1 ORDER BY e.id",

	[ST_MBOX_EXISTS] = "SELECT 1 FROM mailboxes WHERE id = ?1",
	[ST_LOCK_GET] = "SELECT pid, starttime, boot_id FROM locks "
	                "WHERE mailbox_id = ?1",
	[ST_LOCK_PUT] = "INSERT OR REPLACE INTO locks(mailbox_id, pid, "
	                "starttime, boot_id, token, acquired) "
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LOCK_DEL] = "DELETE FROM locks WHERE mailbox_id = ?1 AND token = ?2",
};

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
	}
	return "UNKNOWN";
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

/* Busy, locked, full, I/O and memory trouble pass; the rest (corruption,
 * a file that is not a database, permissions, misuse) needs a human. */
enum store_status store_status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
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

enum store_status store_tx_begin(struct store *st, bool durable)
{
	enum store_status s;
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
	enum store_status s = store_exec(st, ST_BEGIN_READ);
	if (s == STORE_OK)
		st->in_tx = true;
	return s;
}

enum store_status store_tx_commit(struct store *st)
{
	enum store_status s = store_exec(st, ST_COMMIT);
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
	/* A failed statement may have ended the transaction already. Not
	 * through the cache: a failing prepare would recurse into here. */
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}
