/* The SQLite store's administration: backup, listings for the admin,
 * statistics and the consistency check. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "password.h"

/* Syncs a file, then the directory entry that names it. */
static int admin_fsync_path(const char *path)
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
	if (admin_fsync_path(path) != 0) {
		int e = errno;
		unlink(path);
		return store_fail(st, STORE_TEMPFAIL, "%s: sync: %s", path,
		                  strerror(e));
	}
	return STORE_OK;
}

enum store_status store_mailbox_info(struct store *st, const char *address,
                                     void (*cb)(void *arg,
                                                const struct store_msg_info *m),
                                     void *arg)
{
	char addr[STORE_ADDRESS_MAX], pw[PASSWORD_HASH_MAX];
	size_t at;
	bool disabled;
	uint64_t mbox;
	enum store_status s = dir_address(st, address, addr, &at);
	if (s != STORE_OK || (s = store_tx_read(st)) != STORE_OK)
		return s;
	s = dir_user_get(st, addr, pw, &disabled, &mbox);
	explicit_bzero(pw, sizeof pw);
	if (s != STORE_OK) {
		store_tx_rollback(st);
		return s == STORE_NOTFOUND ? store_fail(st, s, "user %s: not "
		                                        "found", addr) : s;
	}
	sqlite3_stmt *q = store_stmt(st, ST_MBOX_INFO, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)mbox);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *sender = (const char *)sqlite3_column_text(q, 3);
		const char *subject = (const char *)sqlite3_column_text(q, 4);
		struct store_msg_info m = {
			.entry = (uint64_t)sqlite3_column_int64(q, 0),
			.size = (uint64_t)sqlite3_column_int64(q, 1),
			.received = sqlite3_column_int64(q, 2),
			.sender = sender ? sender : "",
			.subject = subject ? subject : "",
		};
		mbox_uidl(m.uidl, m.entry, q, 5);
		cb(arg, &m);
	}
	store_done(q);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "listing a mailbox");
	store_tx_rollback(st); /* a read */
	return STORE_OK;
}

/* Size of a file, 0 if missing. */
static uint64_t admin_file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

enum store_status store_stats(struct store *st, struct store_stats *out)
{
	static const char *const counts[] = {
		"SELECT count(*) FROM domains",
		"SELECT count(*) FROM users",
		"SELECT count(*) FROM aliases",
		"SELECT count(*) FROM messages WHERE state = 1",
		"SELECT count(*) FROM entries",
		"SELECT count(*) FROM messages WHERE state = 0",
		"SELECT coalesce(sum(size), 0) FROM messages WHERE state = 1",
		"PRAGMA freelist_count",
		"PRAGMA page_size",
		"PRAGMA user_version",
	};
	int64_t v[sizeof counts / sizeof counts[0]];
	memset(out, 0, sizeof *out);
	enum store_status s = store_tx_read(st);
	for (size_t i = 0; s == STORE_OK && i < sizeof counts / sizeof counts[0];
	     i++)
		s = store_query_int(st, counts[i], &v[i]);
	if (s != STORE_OK)
		return s;
	store_tx_rollback(st);
	out->domains = (uint64_t)v[0];
	out->users = (uint64_t)v[1];
	out->aliases = (uint64_t)v[2];
	out->messages = (uint64_t)v[3];
	out->entries = (uint64_t)v[4];
	out->pending = (uint64_t)v[5];
	out->message_bytes = (uint64_t)v[6];
	out->free_bytes = (uint64_t)(v[7] * v[8]);
	out->schema_version = (int)v[9];
	const char *path = sqlite3_db_filename(st->db, "main");
	if (path && path[0]) {
		char wal[4096];
		out->file_bytes = admin_file_size(path);
		snprintf(wal, sizeof wal, "%s-wal", path);
		out->wal_bytes = admin_file_size(wal);
	}
	return STORE_OK;
}
