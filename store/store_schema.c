/* The SQLite store's schema, its migrations, and whole-store maintenance
 * (leftover pending messages).
 *
 * PRAGMA user_version is the schema version; PRAGMA application_id marks
 * the file as a postlite store. schema_steps lists every version's changes
 * in order: init applies, in one transaction, the steps above the file's
 * version. A step is never edited once released; changes go in a new one. */
#include "store_sqlite_int.h"
#include "store_queue_int.h"

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

/* Version 2: the directory grows aliases (one to many; "@domain" is the
 * catch-all) and quotas (a user's own, else the domain's default; NULL
 * and 0 as documented in store.h); mailboxes keep their size and count,
 * kept right by triggers on entries whatever deletes them (expunge, user
 * removal's cascade), so a quota check reads one row; messages keep what
 * listings show (arrival time for imports, sender, subject), filled for
 * the messages of a v1 store by schema_fill_meta. */
static const char schema_v2[] =
	"ALTER TABLE domains ADD COLUMN quota INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN quota INTEGER;"
	"ALTER TABLE mailboxes ADD COLUMN used INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;"
	"UPDATE mailboxes SET"
	" used = coalesce((SELECT sum(m.size) FROM entries e"
	"  JOIN messages m ON m.id = e.msg_id"
	"  WHERE e.mailbox_id = mailboxes.id), 0),"
	" messages = (SELECT count(*) FROM entries e"
	"  WHERE e.mailbox_id = mailboxes.id);"
	"CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN"
	" UPDATE mailboxes SET messages = messages + 1,"
	"  used = used + (SELECT size FROM messages WHERE id = NEW.msg_id)"
	"  WHERE id = NEW.mailbox_id; END;"
	"CREATE TRIGGER entries_removed AFTER DELETE ON entries BEGIN"
	" UPDATE mailboxes SET messages = messages - 1,"
	"  used = used - (SELECT size FROM messages WHERE id = OLD.msg_id)"
	"  WHERE id = OLD.mailbox_id; END;"
	"ALTER TABLE messages ADD COLUMN received INTEGER;"
	"ALTER TABLE messages ADD COLUMN sender TEXT;"
	"ALTER TABLE messages ADD COLUMN subject TEXT;"
	/* AUTOINCREMENT: an alias id lives in a recipient id between RCPT
	 * and DATA, and must not meanwhile name a new alias. */
	"CREATE TABLE aliases ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" address TEXT NOT NULL UNIQUE,"
	" domain_id INTEGER NOT NULL REFERENCES domains(id),"
	" created INTEGER NOT NULL);"
	"CREATE INDEX aliases_domain ON aliases(domain_id);"
	"CREATE TABLE alias_targets ("
	" alias_id INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" PRIMARY KEY (alias_id, user_id)) WITHOUT ROWID;"
	"CREATE INDEX alias_targets_user ON alias_targets(user_id);";

/* v2: sender and subject of the messages a v1 store already holds. */
static enum store_status schema_fill_meta(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(st->db, "SELECT id FROM messages WHERE "
	                            "state = 1 AND sender IS NULL", -1, &q,
	                            NULL);
	enum store_status s = STORE_OK;
	while (q && (rc = sqlite3_step(q)) == SQLITE_ROW &&
	       (s = msg_set_meta(st, (uint64_t)sqlite3_column_int64(q, 0))) ==
	       STORE_OK)
		;
	sqlite3_finalize(q);
	if (s != STORE_OK)
		return s;
	return rc == SQLITE_DONE ? STORE_OK
	                         : store_dberr(st, rc, "filling in listings");
}

static const struct schema_step {
	int version;
	const char *sql;
	enum store_status (*then)(struct store *st); /* or NULL */
} schema_steps[] = {
	{1, schema_v1, NULL},
	{2, schema_v2, schema_fill_meta},
	/* Version 3: the outbound queue's tables (store_queue.c). */
	{3, store_queue_schema, NULL},
	/* Version 4: a random salt per entry, part of its UIDL, so the ids
	 * an older backup hands out again after a restore make new UIDLs
	 * (store_mailbox_list). Existing entries keep NULL: their UIDL stays
	 * the bare id clients already know. */
	{4, "ALTER TABLE entries ADD COLUMN uidl_salt INTEGER;", NULL},
	/* Version 5: when a POP3 client first retrieved an entry, for the
	 * [pop3] expire policy (store_mailbox_update); NULL: not yet. */
	{5, "ALTER TABLE entries ADD COLUMN retrieved INTEGER;", NULL},
};

#define SCHEMA_NSTEPS (sizeof schema_steps / sizeof schema_steps[0])
#define SCHEMA_VERSION (schema_steps[SCHEMA_NSTEPS - 1].version)

enum store_status schema_migrate(struct store *st)
{
	/* Inside the write lock: two inits at once migrate once. */
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	int64_t version, app_id, tables;
	if ((s = store_query_int(st, "PRAGMA user_version", &version)) != STORE_OK ||
	    (s = store_query_int(st, "PRAGMA application_id", &app_id)) != STORE_OK ||
	    (s = store_query_int(st, "SELECT count(*) FROM sqlite_schema",
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
		if (schema_steps[i].then &&
		    (s = schema_steps[i].then(st)) != STORE_OK) {
			store_tx_rollback(st);
			return s;
		}
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
	if ((s = store_query_int(st, "PRAGMA user_version", &version)) != STORE_OK ||
	    (s = store_query_int(st, "PRAGMA application_id", &app_id)) != STORE_OK)
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
