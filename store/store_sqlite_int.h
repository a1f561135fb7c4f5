/* Private to the SQLite backend of store.h: the handle, the statement
 * cache and the transaction and error helpers its files share. The only
 * header outside third-party code that includes sqlite3.h. */
#ifndef POSTLITE_STORE_SQLITE_INT_H
#define POSTLITE_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Every SQL statement the backend runs more than once; prepared on first
 * use and kept for the life of the handle (SQL text in store_sqlite.c). */
enum store_stmt {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SYNC_FULL,
	ST_SYNC_NORMAL,
	ST_FREELIST,
	ST_VACUUM_INC,

	ST_DOMAIN_ADD,
	ST_DOMAIN_ID,
	ST_DOMAIN_USERS,
	ST_DOMAIN_DEL,
	ST_DOMAIN_LIST,
	ST_DOMAIN_FIRST,
	ST_USER_ADD,
	ST_MBOX_ADD,
	ST_USER_PASSWD,
	ST_USER_DISABLE,
	ST_USER_DEL,
	ST_USER_LIST,
	ST_USER_GET,

	ST_MSG_NEW,
	ST_MSG_PENDING,
	ST_MSG_SIZE,
	ST_MSG_COMPLETE,
	ST_MSG_ABORT,
	ST_MSG_STALE,
	ST_MSG_GC,
	ST_MSG_UNREF,
	ST_CHUNK_ADD,
	ST_CHUNK_EXTEND,
	ST_CHUNK_READ,
	ST_ENTRY_ADD,
	ST_ENTRY_GET,
	ST_ENTRY_DEL,
	ST_ENTRY_LIST,

	ST_MBOX_EXISTS,
	ST_LOCK_GET,
	ST_LOCK_PUT,
	ST_LOCK_DEL,

	ST__COUNT
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST__COUNT];
	bool in_tx;    /* a BEGIN is open: errors roll it back */
	bool unsynced; /* connection left at synchronous=NORMAL by the last
	                * non-durable transaction (store_tx_begin) */
	char boot_id[40]; /* this boot (lock liveness); "" if unknown */
	char err[512];
};

/* Pieces of a message body are STORE_CHUNK_SIZE bytes, the last one
 * shorter: chunk seq holds bytes [seq * CHUNK, (seq + 1) * CHUNK). */
#define CHUNK ((uint64_t)STORE_CHUNK_SIZE)

/* Messages left pending this long (seconds since their last append) are
 * taken for the leftovers of a crash by store_open; SMTP's idle timeout is
 * far shorter, so a live delivery is never that quiet. */
#define STORE_PENDING_STALE 3600

/* Seconds since the epoch. */
int64_t store_now(void);

/* Records a message in st->err and returns status. */
enum store_status store_fail(struct store *st, enum store_status status,
                             const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Busy, full, I/O and memory trouble: TEMPFAIL; anything else: PERMFAIL. */
enum store_status store_status_of(int rc);

/* Maps a SQLite result code to a status, records "what: sqlite message"
 * and returns the status; rolls back the open transaction, if any. */
enum store_status store_dberr(struct store *st, int rc, const char *what);

/* The cached statement id, reset and unbound, or NULL (error recorded via
 * store_dberr; the caller returns the status in *status). */
sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id,
                         enum store_status *status);

/* Steps a statement that returns no rows to its end, then resets it.
 * Returns OK or the store_dberr status. */
enum store_status store_run(struct store *st, sqlite3_stmt *s,
                            const char *what);

/* Runs a cached statement without parameters and rows (BEGIN, PRAGMA...). */
enum store_status store_exec(struct store *st, enum store_stmt id);

/* BEGIN IMMEDIATE. durable=false runs this transaction with
 * synchronous=NORMAL: its commit is not synced on its own (the next FULL
 * commit or checkpoint syncs it); for work whose loss a crash tolerates. */
enum store_status store_tx_begin(struct store *st, bool durable);
/* Deferred read transaction: one snapshot for several reads. */
enum store_status store_tx_read(struct store *st);
/* COMMIT; on failure the transaction is rolled back. */
enum store_status store_tx_commit(struct store *st);
/* Rolls back if a transaction is open; safe to call at any time. */
void store_tx_rollback(struct store *st);

/* Opens path (flags: SQLITE_OPEN_*) and sets the per-connection pragmas.
 * On failure returns the status with the reason in err. */
enum store_status store_connect(const char *path, int flags, bool memory,
                                struct store **out, char *err, size_t errlen);

/* ---- store_schema.c ---- */

/* Creates or upgrades the schema in one transaction. */
enum store_status schema_migrate(struct store *st);
/* OK if the schema is exactly the one this program knows. */
enum store_status schema_check(struct store *st, const char *path);
/* Deletes pending messages whose last append is older than `before`
 * (INT64_MAX: all). Not durable: a lost deletion is simply redone. */
enum store_status schema_gc_pending(struct store *st, int64_t before);

/* ---- store_mailbox.c ---- */

/* Returns free pages to the file system in bounded steps once enough
 * have piled up (auto_vacuum=INCREMENTAL); errors are ignored. */
void store_vacuum_maybe(struct store *st);

#endif
