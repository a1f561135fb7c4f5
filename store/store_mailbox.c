/* The SQLite store's POP3 side: mailbox locks, listings, reads, expunge.
 *
 * A lock is a row in `locks` naming its holder: pid, the process's start
 * time (field 22 of /proc/PID/stat, so a recycled pid is not mistaken for
 * the holder) and the boot id (a row from before a reboot is stale). A row
 * whose holder is gone is taken over. Holders must share a pid namespace
 * (one host; containers sharing a store need a shared pid namespace). */
#include "store_sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Locks of this process whose release failed (disk full, I/O error):
 * their rows name a live holder (this process), so without this list the
 * mailbox would stay INUSE until the daemon restarts. A row listed here is
 * taken over; the list is per process because every session of a daemon
 * shares its pid. */
#define MBOX_STALE_MAX 64
static struct {
	uint64_t mailbox, token;
} mbox_stale[MBOX_STALE_MAX];
static pthread_mutex_t mbox_stale_lock = PTHREAD_MUTEX_INITIALIZER;

/* Adds (keep) or removes (!keep) a released lock of this process. */
static void mbox_stale_set(uint64_t mailbox, uint64_t token, bool keep)
{
	pthread_mutex_lock(&mbox_stale_lock);
	int free_slot = -1;
	for (int i = 0; i < MBOX_STALE_MAX; i++) {
		if (mbox_stale[i].mailbox == mailbox && !keep)
			mbox_stale[i].mailbox = 0;
		if (mbox_stale[i].mailbox == 0 && free_slot < 0)
			free_slot = i;
	}
	if (keep && free_slot >= 0) {
		mbox_stale[free_slot].mailbox = mailbox;
		mbox_stale[free_slot].token = token;
	}
	pthread_mutex_unlock(&mbox_stale_lock);
}

static bool mbox_stale_has(uint64_t mailbox, uint64_t token)
{
	bool found = false;
	pthread_mutex_lock(&mbox_stale_lock);
	for (int i = 0; i < MBOX_STALE_MAX && !found; i++)
		found = mbox_stale[i].mailbox == mailbox &&
		        mbox_stale[i].token == token;
	pthread_mutex_unlock(&mbox_stale_lock);
	return found;
}

/* Free pages tolerated before store_reclaim gives some back. */
#define MBOX_FREELIST_MAX 2048
/* Pages given back per call at most (32 MiB of 4 KiB pages), in steps of
 * STORE_RECLAIM_STEP: one call stays short. */
#define MBOX_RECLAIM_MAX 8192

/* Reads the start time (clock ticks since boot) of pid; 0 if unknown.
 * *zombie: the process has exited and waits to be reaped. */
static uint64_t mbox_starttime(pid_t pid, bool *zombie)
{
	char path[64], buf[1024];
	*zombie = false;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* proc(5): "pid (comm) state ppid ... starttime" with starttime
	 * the 22nd field; comm may hold spaces and ')', so count from
	 * the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	char *save = NULL, *tok = strtok_r(p, " ", &save);
	if (tok && tok[0] == 'Z')
		*zombie = true;
	for (int field = 3; tok && field < 22; field++)
		tok = strtok_r(NULL, " ", &save);
	return tok ? strtoull(tok, NULL, 10) : 0;
}

/* True unless the recorded holder is provably gone. */
static bool mbox_holder_alive(const struct store *st, pid_t pid,
                              uint64_t starttime, const char *boot_id)
{
	if (st->boot_id[0] && boot_id && strcmp(boot_id, st->boot_id) != 0)
		return false;
	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return false;
	bool zombie;
	uint64_t now = mbox_starttime(pid, &zombie);
	if (zombie)
		return false;
	/* Unknown start times (no /proc) leave only kill()'s word. */
	return !(now && starttime && now != starttime);
}

static enum store_status mbox_exists(struct store *st, uint64_t mailbox)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_MBOX_EXISTS, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)mailbox);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return store_fail(st, STORE_NOTFOUND, "mailbox %llu: not found",
		                  (unsigned long long)mailbox);
	return store_dberr(st, rc, "looking up a mailbox");
}

/* Unless the mailbox's lock row names a live holder: OK. */
static enum store_status mbox_lock_free(struct store *st, uint64_t mailbox)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_LOCK_GET, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)mailbox);
	int rc = sqlite3_step(q);
	bool alive = false;
	pid_t pid = 0;
	if (rc == SQLITE_ROW) {
		pid = (pid_t)sqlite3_column_int64(q, 0);
		alive = mbox_holder_alive(st, pid,
		                          (uint64_t)sqlite3_column_int64(q, 1),
		                          (const char *)sqlite3_column_text(q, 2));
		if (alive && pid == getpid() &&
		    mbox_stale_has(mailbox, (uint64_t)sqlite3_column_int64(q, 3)))
			alive = false; /* ours, released but not written */
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(st, rc, "reading a lock");
	if (alive)
		return store_fail(st, STORE_INUSE, "mailbox %llu: in use by "
		                  "pid %ld", (unsigned long long)mailbox,
		                  (long)pid);
	return STORE_OK;
}

enum store_status store_mailbox_lock(struct store *st, uint64_t mailbox,
                                     uint64_t *token)
{
	uint64_t tok = 0;
	while (tok == 0)
		if (getrandom(&tok, sizeof tok, 0) != sizeof tok)
			return store_fail(st, STORE_TEMPFAIL, "getrandom: %s",
			                  strerror(errno));
	/* Not durable: a lock lost in a crash has no holder left anyway. */
	enum store_status s = store_tx_begin(st, false);
	if (s != STORE_OK)
		return s;
	if ((s = mbox_exists(st, mailbox)) != STORE_OK ||
	    (s = mbox_lock_free(st, mailbox)) != STORE_OK) {
		store_tx_rollback(st);
		return s;
	}
	bool zombie;
	sqlite3_stmt *q = store_stmt(st, ST_LOCK_PUT, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)mailbox);
	sqlite3_bind_int64(q, 2, (int64_t)getpid());
	sqlite3_bind_int64(q, 3, (int64_t)mbox_starttime(getpid(), &zombie));
	sqlite3_bind_text(q, 4, st->boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (int64_t)tok);
	sqlite3_bind_int64(q, 6, store_now());
	if ((s = store_run(st, q, "taking a lock")) != STORE_OK)
		return s;
	if ((s = store_tx_commit(st)) != STORE_OK)
		return s;
	mbox_stale_set(mailbox, 0, false);
	*token = tok;
	return STORE_OK;
}

void store_mailbox_unlock(struct store *st, uint64_t mailbox, uint64_t token)
{
	/* A row left behind would keep a live process's mailbox INUSE until
	 * it exits: retry busy failures (each waits the busy timeout). */
	for (int tries = 0; tries < 3; tries++) {
		enum store_status s = store_tx_begin(st, false);
		sqlite3_stmt *q = NULL;
		if (s == STORE_OK && (q = store_stmt(st, ST_LOCK_DEL, &s))) {
			sqlite3_bind_int64(q, 1, (int64_t)mailbox);
			sqlite3_bind_int64(q, 2, (int64_t)token);
			s = store_run(st, q, "releasing a lock");
			if (s == STORE_OK)
				s = store_tx_commit(st);
		}
		if (s == STORE_OK)
			return;
		if (s != STORE_TEMPFAIL)
			break;
	}
	/* Not written (disk full...): the row stays, marked released for
	 * this process's next lock of the mailbox. */
	mbox_stale_set(mailbox, token, true);
}

void mbox_uidl(char out[STORE_UIDL_MAX], uint64_t id, sqlite3_stmt *q,
               int col)
{
	if (sqlite3_column_type(q, col) == SQLITE_NULL)
		snprintf(out, STORE_UIDL_MAX, "%llu", (unsigned long long)id);
	else
		snprintf(out, STORE_UIDL_MAX, "%llu.%016llx",
		         (unsigned long long)id,
		         (unsigned long long)sqlite3_column_int64(q, col));
}

enum store_status store_mailbox_list(struct store *st, uint64_t mailbox,
                                     struct store_entry **entries, size_t *n)
{
	*entries = NULL;
	*n = 0;
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_ENTRY_LIST, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)mailbox);
	struct store_entry *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct store_entry *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct store_entry *e = &v[len++];
		e->id = (uint64_t)sqlite3_column_int64(q, 0);
		e->size = (uint64_t)sqlite3_column_int64(q, 1);
		mbox_uidl(e->uidl, e->id, q, 2);
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_DONE) {
		free(v);
		if (rc == SQLITE_NOMEM)
			return store_fail(st, STORE_TEMPFAIL, "out of memory");
		return store_dberr(st, rc, "listing a mailbox");
	}
	*entries = v;
	*n = len;
	return STORE_OK;
}

/* Copies the chunks of msg covering [off, off + want) into buf. */
static enum store_status mbox_copy(struct store *st, uint64_t msg,
                                   uint64_t off, unsigned char *buf,
                                   size_t want)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_CHUNK_READ, &s);
	if (!q)
		return s;
	uint64_t first = off / CHUNK, last = (off + want - 1) / CHUNK;
	sqlite3_bind_int64(q, 1, (int64_t)msg);
	sqlite3_bind_int64(q, 2, (int64_t)first);
	sqlite3_bind_int64(q, 3, (int64_t)last);
	uint64_t expect = first, end = off + want, pos = off;
	int rc;
	/* One chunk in memory at a time, whatever want is. */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 0);
		const unsigned char *data = sqlite3_column_blob(q, 1);
		uint64_t dlen = (uint64_t)sqlite3_column_bytes(q, 1);
		uint64_t cstart = seq * CHUNK;
		uint64_t need = end < cstart + CHUNK ? end : cstart + CHUNK;
		if (seq != expect || dlen > CHUNK || cstart + dlen < need)
			break; /* a hole, a short or long chunk: damaged */
		uint64_t to = end < cstart + dlen ? end : cstart + dlen;
		memcpy(buf + (pos - off), data + (pos - cstart), to - pos);
		pos = to;
		expect++;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(st, rc, "reading a message");
	if (pos != end)
		return store_fail(st, STORE_PERMFAIL, "message %llu: damaged "
		                  "at offset %llu", (unsigned long long)msg,
		                  (unsigned long long)pos);
	return STORE_OK;
}

enum store_status store_entry_read(struct store *st, uint64_t mailbox,
                                   uint64_t entry, uint64_t offset, void *buf,
                                   size_t len, size_t *got)
{
	*got = 0;
	/* One snapshot: the entry cannot vanish between the two reads. */
	enum store_status s = store_tx_read(st);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_ENTRY_GET, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)entry);
	sqlite3_bind_int64(q, 2, (int64_t)mailbox);
	int rc = sqlite3_step(q);
	uint64_t msg = 0, size = 0;
	if (rc == SQLITE_ROW) {
		msg = (uint64_t)sqlite3_column_int64(q, 0);
		size = (uint64_t)sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_DONE) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "entry %llu: not in "
		                  "mailbox %llu", (unsigned long long)entry,
		                  (unsigned long long)mailbox);
	}
	if (rc != SQLITE_ROW)
		return store_dberr(st, rc, "reading a message");
	size_t want = 0;
	if (offset < size)
		want = size - offset < len ? (size_t)(size - offset) : len;
	if (want > 0 && (s = mbox_copy(st, msg, offset, buf, want)) != STORE_OK) {
		store_tx_rollback(st);
		return s;
	}
	store_tx_rollback(st); /* a read: nothing to commit */
	*got = want;
	return STORE_OK;
}

/* The last reference to msg gone, the message (and its chunks, by
 * cascade) goes too. */
static enum store_status mbox_unref(struct store *st, int64_t msg)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_MSG_UNREF, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, msg);
	return store_run(st, q, "expunging");
}

/* Removes entry from mailbox; one that is not there (any more) is
 * ignored. */
static enum store_status mbox_delete(struct store *st, uint64_t mailbox,
                                     uint64_t entry)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_ENTRY_DEL, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)entry);
	sqlite3_bind_int64(q, 2, (int64_t)mailbox);
	/* RETURNING: the delete is done by the first step. */
	int rc = sqlite3_step(q);
	int64_t msg = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	store_done(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(st, rc, "expunging");
	return rc == SQLITE_ROW ? mbox_unref(st, msg) : STORE_OK;
}

/* Marks the first retrieval of the entries, then removes those first
 * retrieved at or before cutoff. */
static enum store_status mbox_expire(struct store *st, uint64_t mailbox,
                                     const uint64_t *retrieved, size_t n,
                                     int64_t now, int64_t cutoff,
                                     size_t *expired)
{
	enum store_status s;
	sqlite3_stmt *q;
	for (size_t i = 0; i < n; i++) {
		if (!(q = store_stmt(st, ST_ENTRY_SEEN, &s)))
			return s;
		sqlite3_bind_int64(q, 1, (int64_t)retrieved[i]);
		sqlite3_bind_int64(q, 2, (int64_t)mailbox);
		sqlite3_bind_int64(q, 3, now);
		if ((s = store_run(st, q, "marking retrieved mail")) != STORE_OK)
			return s;
	}
	if (!(q = store_stmt(st, ST_ENTRY_EXPIRE, &s)))
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)mailbox);
	sqlite3_bind_int64(q, 2, cutoff);
	/* RETURNING runs the whole delete at the first step; the rows are
	 * the message ids, each unreferenced in turn. */
	int rc = SQLITE_DONE;
	s = STORE_OK;
	while (s == STORE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		s = mbox_unref(st, sqlite3_column_int64(q, 0));
		++*expired;
	}
	store_done(q);
	if (s != STORE_OK)
		return s;
	return rc == SQLITE_DONE ? STORE_OK
	                         : store_dberr(st, rc, "expiring mail");
}

enum store_status store_mailbox_update(struct store *st, uint64_t mailbox,
                                       const uint64_t *del, size_t ndel,
                                       const uint64_t *retrieved, size_t nret,
                                       unsigned expire_days, int64_t now,
                                       size_t *expired)
{
	size_t nexp = 0;
	if (expired)
		*expired = 0;
	if (ndel == 0 && expire_days == 0)
		return STORE_OK;
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	for (size_t i = 0; i < ndel; i++)
		if ((s = mbox_delete(st, mailbox, del[i])) != STORE_OK)
			return s;
	if (expire_days &&
	    (s = mbox_expire(st, mailbox, retrieved, nret, now,
	                     now - (int64_t)expire_days * 86400, &nexp)) !=
	    STORE_OK)
		return s;
	if ((s = store_tx_commit(st)) != STORE_OK)
		return s;
	if (expired)
		*expired = nexp;
	/* No space reclaim here: it is housekeeping, and the caller answers
	 * QUIT before it runs store_reclaim. */
	return STORE_OK;
}

enum store_status store_mailbox_expunge(struct store *st, uint64_t mailbox,
                                        const uint64_t *entries, size_t n)
{
	return store_mailbox_update(st, mailbox, entries, n, NULL, 0, 0, 0,
	                            NULL);
}

/* The store's free pages; 0 when it cannot tell. */
static int64_t mbox_free_pages(struct store *st)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_FREELIST, &s);
	if (!q)
		return 0;
	int64_t n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0)
	                                          : 0;
	sqlite3_reset(q);
	return n;
}

void store_reclaim(struct store *st)
{
	if (!st)
		return;
	/* Free pages are reused by new mail anyway; give them back only
	 * when many piled up (SD cards are small). */
	int64_t free_pages = mbox_free_pages(st);
	if (free_pages < MBOX_FREELIST_MAX)
		return;
	char keep[sizeof st->err];
	memcpy(keep, st->err, sizeof keep);
	/* One short transaction per step: writers (deliveries) get the
	 * lock between steps, and a step's freed pages stay in the page
	 * cache until its commit, which drops them unwritten
	 * (STORE_RECLAIM_STEP). Not durable: losing a step in a crash
	 * loses nothing. */
	for (int64_t done = 0; free_pages > 0 && done < MBOX_RECLAIM_MAX;
	     done += STORE_RECLAIM_STEP) {
		if (store_tx_begin(st, false) != STORE_OK ||
		    store_exec(st, ST_VACUUM_INC) != STORE_OK ||
		    store_tx_commit(st) != STORE_OK)
			break;
		free_pages = mbox_free_pages(st);
	}
	/* In WAL mode the file shrinks only when a checkpoint copies the
	 * steps back: do it now rather than at some later writer's commit.
	 * PASSIVE: it waits for no reader or writer; whatever it cannot do
	 * the next checkpoint does. */
	(void)store_exec(st, ST_CHECKPOINT);
	memcpy(st->err, keep, sizeof keep);
}
