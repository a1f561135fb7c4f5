/* The SQLite store's schema, its migrations, and whole-store maintenance
 * (leftover pending messages, backup).
 *
 * PRAGMA user_version is the schema version; PRAGMA application_id marks
 * the file as a postlite store. schema_steps lists every version's changes
 * in order: init applies, in one transaction, the steps above the file's
 * version. A step is never edited once released; changes go in a new one. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "PLTE": `file` and sqlite3 show it; refuses to migrate a foreign DB. */
#define SCHEMA_APP_ID 0x504c5445

/* Version 1.
 *
 * Ids that escape into other processes or to clients are AUTOINCREMENT,
 * so a deleted id is never handed out again: mailbox ids (a POP3 session
 * of a removed user must not reach a new user's mailbox), message ids (a
 * delivery whose pending message was collected must not append to a new
 * one) and entry ids (they are the UIDLs, RFC 1939 7: never reused).
 *
 * A body is a run of chunks, STORE_CHUNK_SIZE bytes each but the last, so
 * no path handles a whole message at once. entries are the references of
 * mailboxes to messages: a message stored once, listed N times. */
static const char schema_v1[] =
	"CREATE TABLE domains ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY,"
	" address TEXT NOT NULL UNIQUE,"
	" domain_id INTEGER NOT NULL REFERENCES domains(id),"
	" password TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	" created INTEGER NOT NULL);"
	"CREATE INDEX users_domain ON users(domain_id);"
	"CREATE TABLE mailboxes ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user_id INTEGER NOT NULL UNIQUE"
	"  REFERENCES users(id) ON DELETE CASCADE);"
	/* state: 0 pending (being written, invisible), 1 complete. */
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (0, 1)));"
	"CREATE INDEX messages_pending ON messages(updated) WHERE state = 0;"
	"CREATE TABLE chunks ("
	" id INTEGER PRIMARY KEY,"
	" msg_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" data BLOB NOT NULL,"
	" UNIQUE (msg_id, seq));"
	/* msg_id has no cascade: deleting a referenced message is a bug
	 * and must fail, not silently empty mailboxes. */
	"CREATE TABLE entries ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" msg_id INTEGER NOT NULL REFERENCES messages(id),"
	" UNIQUE (mailbox_id, msg_id));"
	"CREATE INDEX entries_msg ON entries(msg_id);"
	/* POP3 mailbox locks (store_mailbox.c): holder identity, so a dead
	 * holder's row can be recognised and taken over. */
	"CREATE TABLE locks ("
	" mailbox_id INTEGER PRIMARY KEY"
	"  REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" pid INTEGER NOT NULL,"
	" starttime INTEGER NOT NULL,"
	" boot_id TEXT NOT NULL,"
	" token INTEGER NOT NULL,"
	" acquired INTEGER NOT NULL);";

static const struct schema_step {
	int version;
	const char *sql;
} schema_steps[] = {
	{1, schema_v1},
};

#define SCHEMA_NSTEPS (sizeof schema_steps / sizeof schema_steps[0])
#define SCHEMA_VERSION (schema_steps[SCHEMA_NSTEPS - 1].version)

/* Runs a one-value query (PRAGMA user_version...). */
static enum store_status schema_int(struct store *st, const char *sql,
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

enum store_status schema_migrate(struct store *st)
{
	/* Inside the write lock: two inits at once migrate once. */
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	int64_t version, app_id, tables;
	if ((s = schema_int(st, "PRAGMA user_version", &version)) != STORE_OK ||
	    (s = schema_int(st, "PRAGMA application_id", &app_id)) != STORE_OK ||
	    (s = schema_int(st, "SELECT count(*) FROM sqlite_schema",
	                    &tables)) != STORE_OK)
		return s;
	if ((app_id != 0 && app_id != SCHEMA_APP_ID) ||
	    (version == 0 && tables != 0)) {
		store_tx_rollback(st);
		return store_fail(st, STORE_PERMFAIL, "not a postlite store");
	}
	if (version > SCHEMA_VERSION) {
		store_tx_rollback(st);
		return store_fail(st, STORE_PERMFAIL, "schema version %lld is "
		                  "newer than this postlite's (%d): upgrade "
		                  "postlite", (long long)version, SCHEMA_VERSION);
	}
	for (size_t i = 0; i < SCHEMA_NSTEPS; i++) {
		if (schema_steps[i].version <= version)
			continue;
		int rc = sqlite3_exec(st->db, schema_steps[i].sql, NULL, NULL,
		                      NULL);
		if (rc != SQLITE_OK)
			return store_dberr(st, rc, "migrating the schema");
	}
	if (version < SCHEMA_VERSION) {
		char sql[96];
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d;"
		         "PRAGMA application_id=%d;", SCHEMA_VERSION,
		         SCHEMA_APP_ID);
		int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return store_dberr(st, rc, "setting the schema version");
	}
	return store_tx_commit(st);
}

enum store_status schema_check(struct store *st, const char *path)
{
	int64_t version, app_id;
	enum store_status s;
	if ((s = schema_int(st, "PRAGMA user_version", &version)) != STORE_OK ||
	    (s = schema_int(st, "PRAGMA application_id", &app_id)) != STORE_OK)
		return s;
	if (app_id != 0 && app_id != SCHEMA_APP_ID)
		return store_fail(st, STORE_PERMFAIL, "%s: not a postlite "
		                  "store", path);
	if (version == 0)
		return store_fail(st, STORE_PERMFAIL, "%s: store not "
		                  "initialised: run 'postlite init'", path);
	if (version > SCHEMA_VERSION)
		return store_fail(st, STORE_PERMFAIL, "%s: schema version "
		                  "%lld is newer than this postlite's (%d)",
		                  path, (long long)version, SCHEMA_VERSION);
	if (version < SCHEMA_VERSION)
		return store_fail(st, STORE_PERMFAIL, "%s: schema version "
		                  "%lld is older than this postlite's (%d): run "
		                  "'postlite init' to migrate", path,
		                  (long long)version, SCHEMA_VERSION);
	return STORE_OK;
}

enum store_status schema_gc_pending(struct store *st, int64_t before)
{
	enum store_status s = store_tx_begin(st, false);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_STALE, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, before);
	if ((s = store_run(st, q, "deleting pending messages")) != STORE_OK)
		return s;
	return store_tx_commit(st);
}

/* Syncs a file, then the directory entry that names it. */
static int schema_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	if (rc != 0)
		return -1;
	char dir[4096];
	int n = snprintf(dir, sizeof dir, "%s", path);
	if (n < 0 || (size_t)n >= sizeof dir)
		return -1;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

enum store_status store_backup(struct store *st, const char *path)
{
	/* Claim the name first, 0600 (the copy holds password hashes):
	 * VACUUM INTO fills an empty file but would not say whether it
	 * made it. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	              O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		return store_fail(st, e == EEXIST ? STORE_EXISTS :
		                  e == ENOSPC || e == EIO ? STORE_TEMPFAIL :
		                  STORE_PERMFAIL, "%s: %s", path,
		                  e == EEXIST ? "already exists" : strerror(e));
	}
	close(fd);
	/* One read snapshot of the live store, written compact; writers
	 * go on meanwhile (WAL). */
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, "VACUUM INTO ?1", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, path, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(q);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_OK) {
		enum store_status s = store_dberr(st, rc, "backup");
		unlink(path);
		return s;
	}
	if (schema_fsync_path(path) != 0) {
		int e = errno;
		unlink(path);
		return store_fail(st, STORE_TEMPFAIL, "%s: sync: %s", path,
		                  strerror(e));
	}
	return STORE_OK;
}
