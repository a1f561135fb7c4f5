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
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_SYNC_FULL,
	ST_SYNC_NORMAL,
	ST_FREELIST,
	ST_VACUUM_INC,
	ST_CHECKPOINT,

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
	ST_USER_REHASH,
	ST_USER_INFO,
	ST_USER_FIRST,
	ST_ALIAS_ORPHANS,
	ST_DOMAIN_ALIASES,

	ST_ALIAS_GET,
	ST_ALIAS_NEW,
	ST_ALIAS_TARGET_ADD,
	ST_ALIAS_TARGET_DEL,
	ST_ALIAS_DEL,
	ST_ALIAS_LIST,
	ST_ALIAS_TARGETS,
	ST_ALIAS_FULL,
	ST_MBOX_FULL,
	ST_QUOTA_USER,
	ST_QUOTA_DOMAIN,
	ST_QUOTA_GET_USER,
	ST_QUOTA_GET_DOMAIN,

	ST_MSG_NEW,
	ST_MSG_WHOLE,
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
	ST_ENTRY_ADD_ALIAS,
	ST_MSG_HEAD,
	ST_MSG_META,
	ST_MSG_RECEIVED,
	ST_MBOX_INFO,
	ST_ENTRY_GET,
	ST_ENTRIES_READ,
	ST_ENTRY_DEL,
	ST_ENTRY_LIST,
	ST_ENTRY_SEEN,
	ST_ENTRY_EXPIRE,

	ST_MBOX_EXISTS,
	ST_LOCK_GET,
	ST_LOCK_PUT,
	ST_LOCK_DEL,

	ST__COUNT
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST__COUNT];
	bool in_tx;    /* a BEGIN (or, in a batch, a SAVEPOINT) is open:
	                * errors roll it back */
	bool unsynced; /* connection left at synchronous=NORMAL by the last
	                * non-durable transaction (store_tx_begin) */
	bool batch;    /* store_batch_begin's transaction is open */
	enum store_status batch_lost; /* OK, or what rolled the batch back */
	unsigned begun; /* messages store_msg_append created (clean-up) */
	char delims[9]; /* plus-addressing separators (store_set_delimiters) */
	char boot_id[40]; /* this boot (lock liveness); "" if unknown */
	char err[512];
};

/* Recipient ids (store_rcpt_lookup) with this bit set name an alias with
 * several targets (aliases.id in the low bits); others are mailbox ids.
 * AUTOINCREMENT ids never come near it. */
#define RCPT_ALIAS ((uint64_t)1 << 62)

/* The SQL of each cached statement (store_sql.c). */
extern const char *const store_sql[ST__COUNT];

/* Pieces of a message body are STORE_CHUNK_SIZE bytes, the last one
 * shorter: chunk seq holds bytes [seq * CHUNK, (seq + 1) * CHUNK). */
#define CHUNK ((uint64_t)STORE_CHUNK_SIZE)

/* Listings read the header from a message's first bytes only. */
#define MSG_HEAD_MAX 8192
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x) /* a macro's value as a string */

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

/* Full disk and I/O errors: NOSPACE; busy and memory trouble: TEMPFAIL;
 * anything else: PERMFAIL. */
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
 * commit or checkpoint syncs it); for work whose loss a crash tolerates.
 * Inside a batch (store_batch_begin) it opens a SAVEPOINT instead, and
 * commit and rollback release or undo just that. */
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

/* Reads one integer from a query without parameters (PRAGMA...). */
enum store_status store_query_int(struct store *st, const char *sql,
                                  int64_t *out);

/* Binds text (SQLITE_STATIC: it must outlive the statement's reset). */
void store_bind_text(sqlite3_stmt *q, int i, const char *text);

/* Steps a query that returns at most one row. Returns OK with the row
 * ready to read (the caller resets), NOTFOUND after resetting (no row),
 * or the store_dberr status after resetting. */
enum store_status store_row(struct store *st, sqlite3_stmt *q,
                            const char *what);

/* Resets a statement and clears its bindings. */
void store_done(sqlite3_stmt *q);

/* ---- store_directory.c / store_alias.c ---- */

/* Normalises a full user address ("postmaster" alone is not one). */
enum store_status dir_address(struct store *st, const char *in, char *out,
                              size_t *domain_at);
/* The id of a domain, or NOTFOUND. */
enum store_status dir_domain_id(struct store *st, const char *domain,
                                int64_t *id);
/* Hashes a new password (outside any transaction: tens of ms must not
 * hold the lock) into hash (PASSWORD_HASH_MAX). INVALID when refused. */
enum store_status dir_hash(struct store *st, const char *password,
                           char *hash);
/* Adds user addr (normalised; the domain at offset at) with its hash
 * and mailbox, in a durable transaction. */
enum store_status dir_user_insert(struct store *st, const char *addr,
                                  size_t at, const char *hash);
/* Runs a one-row UPDATE/DELETE of users keyed by address (?1) with text
 * or num as ?2, in a durable transaction: NOTFOUND if no row. gc: also
 * drop what the removal left unreferenced. */
enum store_status dir_user_change(struct store *st, enum store_stmt id,
                                  const char *addr, const char *text,
                                  int64_t num, bool gc);
/* Reads a user's row (hash copied out, PASSWORD_HASH_MAX): OK or
 * NOTFOUND. No snapshot is left open. */
enum store_status dir_user_get(struct store *st, const char *addr,
                               char *hash, bool *disabled, uint64_t *mailbox);

/* ---- store_message.c ---- */

/* Deletes pending messages older than STORE_PENDING_STALE now and then
 * (every 256th message a handle creates in store_msg_append): a
 * long-running daemon does not keep what crashed sessions left. Best
 * effort. */
void store_msg_gc_maybe(struct store *st);

/* Fills the sender and subject of message msg from its first bytes. */
enum store_status msg_set_meta(struct store *st, uint64_t msg);

/* The UIDL of entry id from the uidl_salt in column col of q's row. */
void mbox_uidl(char out[STORE_UIDL_MAX], uint64_t id, sqlite3_stmt *q,
               int col);

/* ---- store_schema.c ---- */

/* Creates or upgrades the schema in one transaction. */
enum store_status schema_migrate(struct store *st);
/* OK if the schema is exactly the one this program knows. */
enum store_status schema_check(struct store *st, const char *path);
/* Deletes pending messages whose last append is older than `before`
 * (INT64_MAX: all). Not durable: a lost deletion is simply redone. */
enum store_status schema_gc_pending(struct store *st, int64_t before);

/* ---- store_mailbox.c ---- */

/* Pages one incremental-vacuum step gives back, each step its own
 * transaction. Fewer than the page cache holds (cache_size, store_open.c:
 * 128 pages): every page a step takes off the freelist is made dirty, and
 * dirty pages beyond the cache spill into the WAL, 4 KiB written per page
 * given back; pages that stay in the cache are dropped unwritten by the
 * commit, which truncates them away (PROFILE.md 7: 27 MiB given back took
 * 7,000 WAL frames in one 8192-page step, about 240 in 64-page steps). */
#define STORE_RECLAIM_STEP 64

#endif
