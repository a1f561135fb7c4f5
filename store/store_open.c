/* Connections to the SQLite store: open (daemons, CLI), init (creates or
 * migrates, CLI only), close. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writers wait this long for the write lock before giving up (TEMPFAIL). */
#define STORE_BUSY_TIMEOUT_MS 5000

/* /proc/sys/kernel/random/boot_id: changes at every boot, so a lock row of
 * an earlier boot is stale whatever its pid says. */
static void store_read_boot_id(struct store *st)
{
	st->boot_id[0] = '\0';
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (fgets(st->boot_id, sizeof st->boot_id, f))
		st->boot_id[strcspn(st->boot_id, "\r\n")] = '\0';
	fclose(f);
}

/* SQLite-wide settings, before the first connection initialises SQLite:
 * no bulk page-cache allocation per connection (Debian's build takes 20
 * pages, ~70 KiB, at each connection's first read, and every worker
 * thread holds a connection; pages are then allocated as used).
 * bench/TLS-MEMORY.md has the numbers. */
static pthread_once_t store_global_once = PTHREAD_ONCE_INIT;

static void store_global_config(void)
{
	/* SQLITE_MISUSE if something initialised SQLite already: then the
	 * default stays, which is only more memory. */
	(void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

enum store_status store_connect(const char *path, int flags, bool memory,
                                struct store **out, char *err, size_t errlen)
{
	pthread_once(&store_global_once, store_global_config);
	struct store *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return STORE_TEMPFAIL;
	}
	/* NOMUTEX: a handle is used by one thread at a time (store.h);
	 * NOFOLLOW: never write through a symlink planted as postlite.db. */
	flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite3_close_v2(st->db);
		free(st);
		return store_status_temporary(store_status_of(rc)) ?
		       store_status_of(rc) : STORE_PERMFAIL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* secure_delete: Debian builds it ON, which writes every deleted
	 * byte twice; FAST still clears freed content when it costs no I/O.
	 * journal_size_limit: a 25 MiB delivery grows the WAL by as much;
	 * cut it back to 16 MiB when it restarts instead of keeping it.
	 * cache_size: 512 KiB per connection, not 2 MiB: bodies stream
	 * through the cache, so with the default every worker's connection
	 * kept 2 MiB after a large fetch (bench/TLS-MEMORY.md: pop3d 10.3
	 * MiB after fetching 3,000 messages, 7.3 with this). */
	const char *pragmas = memory ?
		"PRAGMA foreign_keys=ON; PRAGMA secure_delete=FAST;" :
		"PRAGMA foreign_keys=ON; PRAGMA secure_delete=FAST;"
		"PRAGMA synchronous=FULL; PRAGMA journal_size_limit=16777216;"
		"PRAGMA cache_size=-512;";
	char *msg = NULL;
	rc = sqlite3_exec(st->db, pragmas, NULL, NULL, &msg);
	/* init (CREATE): auto_vacuum must precede the first table and the
	 * switch to WAL, which writes the header. On an existing store it is
	 * a no-op that still writes, so open never sends it. */
	if (rc == SQLITE_OK && !memory && (flags & SQLITE_OPEN_CREATE))
		rc = sqlite3_exec(st->db, "PRAGMA auto_vacuum=INCREMENTAL", NULL,
		                  NULL, &msg);
	if (rc == SQLITE_OK && !memory) {
		/* WAL: readers never block the writer, and with FULL each
		 * commit costs one sync. Persistent in the file. */
		sqlite3_stmt *s = NULL;
		rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1,
		                        &s, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *mode = (const char *)sqlite3_column_text(s, 0);
			rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK
			                                      : SQLITE_CANTOPEN;
		}
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: setting up: %s", path,
		         msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		enum store_status s = store_status_of(rc);
		sqlite3_close_v2(st->db);
		free(st);
		return s;
	}
	store_read_boot_id(st);
	memcpy(st->delims, "+", 2);
	*out = st;
	return STORE_OK;
}

/* data_dir/postlite.db with data_dir resolved: the admin may make
 * data_dir a symlink, but SQLite's NOFOLLOW refuses links anywhere in
 * the path, and only the file itself must not be one. */
static enum store_status store_db_path(const char *data_dir, char *out,
                                       size_t outlen, char *err,
                                       size_t errlen)
{
	char real[PATH_MAX];
	if (!realpath(data_dir, real)) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "%s: no store here: run 'postlite "
			         "init' first", data_dir);
		else
			snprintf(err, errlen, "%s: %s", data_dir, strerror(e));
		return e == EIO ? STORE_NOSPACE :
		       e == ENOMEM ? STORE_TEMPFAIL : STORE_PERMFAIL;
	}
	int n = snprintf(out, outlen, "%s/postlite.db", real);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "%s: path too long", data_dir);
		return STORE_PERMFAIL;
	}
	return STORE_OK;
}

enum store_status store_open(const char *data_dir, struct store **out,
                             char *err, size_t errlen)
{
	struct store *st;
	enum store_status s;
	*out = NULL;
	if (strcmp(data_dir, ":memory:") == 0) {
		s = store_connect(":memory:", SQLITE_OPEN_READWRITE |
		                  SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY, true,
		                  &st, err, errlen);
		if (s != STORE_OK)
			return s;
		if ((s = schema_migrate(st)) != STORE_OK) {
			snprintf(err, errlen, "%s", st->err);
			store_close(st);
			return s;
		}
		*out = st;
		return STORE_OK;
	}

	char path[PATH_MAX + 16];
	if ((s = store_db_path(data_dir, path, sizeof path, err, errlen)) !=
	    STORE_OK)
		return s;
	struct stat sb;
	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "%s: a symbolic link: refused", path);
		return STORE_PERMFAIL;
	}
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no store here: run "
			         "'postlite init' first", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return STORE_PERMFAIL;
	}
	s = store_connect(path, SQLITE_OPEN_READWRITE, false, &st, err, errlen);
	if (s != STORE_OK)
		return s;
	if ((s = schema_check(st, path)) != STORE_OK) {
		snprintf(err, errlen, "%s", st->err);
		store_close(st);
		return s;
	}
	/* Best effort: another process may hold the write lock; the next
	 * open or init will clean up then. */
	(void)schema_gc_pending(st, store_now() - STORE_PENDING_STALE);
	st->err[0] = '\0';
	*out = st;
	return STORE_OK;
}

/* Creates data_dir (last component) with mode 0750 if it is missing. */
static enum store_status store_mkdir(const char *data_dir, char *err,
                                     size_t errlen)
{
	struct stat sb;
	if (mkdir(data_dir, 0750) == 0) {
		/* mkdir's mode went through the umask: make it exact. */
		if (chmod(data_dir, 0750) == 0)
			return STORE_OK;
	} else if (errno == EEXIST && stat(data_dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return STORE_OK;
		errno = ENOTDIR;
	}
	int e = errno;
	snprintf(err, errlen, "%s: %s", data_dir, strerror(e));
	return e == ENOSPC || e == EIO ? STORE_NOSPACE : STORE_PERMFAIL;
}

enum store_status store_init(const char *data_dir, char *err, size_t errlen)
{
	if (strcmp(data_dir, ":memory:") == 0)
		return STORE_OK; /* every open builds its own */
	char path[PATH_MAX + 16];
	enum store_status s = store_mkdir(data_dir, err, errlen);
	if (s != STORE_OK ||
	    (s = store_db_path(data_dir, path, sizeof path, err, errlen)) !=
	    STORE_OK)
		return s;
	/* 0660 files, so the group may later share the store. SQLite would
	 * create the database 0644 & ~umask; an empty file is a fine new
	 * database, so make it here. -wal and -shm copy its mode; the umask
	 * covers anything else. An existing file keeps the mode its admin
	 * gave it. */
	mode_t old_umask = umask(007);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	              0660);
	if (fd >= 0) {
		(void)fchmod(fd, 0660);
		close(fd);
	} else if (errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		umask(old_umask);
		return e == ENOSPC || e == EIO ? STORE_NOSPACE : STORE_PERMFAIL;
	}
	struct store *st;
	s = store_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                  false, &st, err, errlen);
	if (s == STORE_OK) {
		s = schema_migrate(st);
		if (s == STORE_OK)
			s = schema_gc_pending(st, INT64_MAX);
		if (s != STORE_OK)
			snprintf(err, errlen, "%s: %s", path, st->err);
		store_close(st);
	}
	umask(old_umask);
	return s;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	store_tx_rollback(st);
	store_batch_rollback(st);
	for (size_t i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

const char *store_errmsg(const struct store *st)
{
	return st ? st->err : "no store";
}

enum store_status store_set_delimiters(struct store *st, const char *delims)
{
	if (!delims)
		delims = "";
	size_t n = strlen(delims);
	if (n >= sizeof st->delims || strpbrk(delims, "@.") ||
	    strspn(delims, "!#$%&'*+-/=?^_`{|}~") != n)
		return store_fail(st, STORE_INVALID, "recipient delimiter "
		                  "'%s': at most %zu of !#$%%&'*+-/=?^_`{|}~",
		                  delims, sizeof st->delims - 1);
	memcpy(st->delims, delims, n + 1);
	return STORE_OK;
}
