/* Unit tests of the store's messages: delivery in pieces, reads at any
 * offset, UIDLs, aborts and leftovers, POP3 locks, processes delivering at
 * once, backup. */
#include "store_sqlite_int.h" /* STORE_RECLAIM_STEP */
#include "test_store_util.h"

static void check_read(struct store *st, uint64_t mbox, uint64_t entry,
                       const unsigned char *want, size_t size, uint64_t off,
                       size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	size_t got = 12345;
	CHECK_INT(store_entry_read(st, mbox, entry, off, buf, len, &got),
	          STORE_OK);
	size_t expect = off >= size ? 0 : (size - off < len ? size - off : len);
	CHECK_INT(got, expect);
	if (got == expect && expect)
		CHECK(memcmp(buf, want + off, expect) == 0);
	free(buf);
}

static void test_delivery(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t b = mbox_of(st, "bob@example.org");
	uint64_t c = mbox_of(st, "carol@example.org");

	/* Small: one call. */
	static const char small[] = "Subject: hi\r\n\r\nhello\r\n";
	uint64_t msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, small, sizeof small - 1, &a, 1),
	          STORE_OK);
	CHECK(msg != 0);
	struct store_entry e;
	CHECK_INT(count_entries(st, a, &e), 1);
	CHECK_INT(e.size, sizeof small - 1);
	check_read(st, a, e.id, (const unsigned char *)small, e.size, 0, 4096);
	check_read(st, a, e.id, (const unsigned char *)small, e.size, 9, 3);
	check_read(st, a, e.id, (const unsigned char *)small, e.size, 500, 3);
	unsigned char tiny[4];
	size_t got;
	CHECK_INT(store_entry_read(st, b, e.id, 0, tiny, 4, &got),
	          STORE_NOTFOUND);

	/* Large, to three mailboxes (a twice): appends of awkward sizes. */
	size_t size = 1300000;
	unsigned char *body = malloc(size);
	fill(body, size, 42);
	msg = 0;
	static const size_t pieces[] = {1, 65535, 65536, 70000, 3, 131072,
	                                100000, 12345};
	size_t off = 0;
	for (size_t i = 0; off < size - 5000; i++) {
		size_t n = pieces[i % 8];
		if (n > size - 5000 - off)
			n = size - 5000 - off;
		CHECK_INT(store_msg_append(st, &msg, body + off, n), STORE_OK);
		off += n;
	}
	/* Invisible until delivered. */
	CHECK_INT(count_entries(st, b, NULL), 0);
	uint64_t rcpts[] = {a, b, c, a};
	uint64_t id = msg;
	CHECK_INT(store_msg_deliver(st, &id, body + off, size - off, rcpts, 4),
	          STORE_OK);
	CHECK_INT(id, msg);
	CHECK_INT(store_msg_append(st, &msg, "x", 1), STORE_NOTFOUND);
	CHECK_INT(count_entries(st, a, NULL), 2);
	struct store_entry eb, ec;
	CHECK_INT(count_entries(st, b, &eb), 1);
	CHECK_INT(count_entries(st, c, &ec), 1);
	CHECK_INT(eb.size, size);
	CHECK_INT(ec.size, size);
	CHECK(strcmp(eb.uidl, ec.uidl) != 0);
	static const struct {
		uint64_t off;
		size_t len;
	} reads[] = {
		{0, 1300000}, {0, 1}, {65535, 2}, {65536, 65536}, {65535, 65538},
		{100, 300000}, {1299999, 10}, {1300000, 10}, {1240000, 80000},
		{131071, 1},
	};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		check_read(st, c, ec.id, body, size, reads[i].off, reads[i].len);
	/* Read the whole thing in POP3-sized steps. */
	unsigned char *copy = malloc(size);
	size_t pos = 0;
	while (pos < size) {
		CHECK_INT(store_entry_read(st, b, eb.id, pos, copy + pos, 16384,
		                           &got), STORE_OK);
		if (got == 0)
			break;
		pos += got;
	}
	CHECK_INT(pos, size);
	CHECK(memcmp(copy, body, size) == 0);
	free(copy);

	/* Stored once; expunging one reference keeps the others. */
	if (strcmp(dir, ":memory:") != 0) {
		CHECK_INT(sql_int("SELECT count(*) FROM messages"), 2);
		CHECK_INT(sql_int("SELECT count(*) FROM chunks"), 1 + 20);
	}
	CHECK_INT(store_mailbox_expunge(st, b, &eb.id, 1), STORE_OK);
	CHECK_INT(count_entries(st, b, NULL), 0);
	check_read(st, c, ec.id, body, size, 65000, 200000);
	CHECK_INT(store_entry_read(st, b, eb.id, 0, tiny, 4, &got),
	          STORE_NOTFOUND);
	/* c's entry id is no use in a's mailbox. */
	CHECK_INT(store_mailbox_expunge(st, a, &ec.id, 1), STORE_OK);
	CHECK_INT(count_entries(st, c, NULL), 1);
	CHECK_INT(store_mailbox_expunge(st, c, &ec.id, 1), STORE_OK);
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT count(*) FROM messages"), 2);
	/* Removing alice drops the messages only she still had. */
	CHECK_INT(store_user_remove(st, "alice@example.org"), STORE_OK);
	if (strcmp(dir, ":memory:") != 0) {
		CHECK_INT(sql_int("SELECT count(*) FROM messages"), 0);
		CHECK_INT(sql_int("SELECT count(*) FROM chunks"), 0);
	}

	/* Odd arguments. */
	msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "x", 1, &b, 0), STORE_INVALID);
	CHECK_INT(store_msg_deliver(st, &msg, "x", 1, &a, 1), STORE_NOTFOUND);
	uint64_t mixed[] = {a, b};
	CHECK_INT(store_msg_deliver(st, &msg, "", 0, mixed, 2), STORE_OK);
	CHECK_INT(count_entries(st, b, &eb), 1);
	CHECK_INT(eb.size, 0);
	check_read(st, b, eb.id, body, 0, 0, 10);
	id = 999999;
	CHECK_INT(store_msg_deliver(st, &id, "x", 1, &b, 1), STORE_NOTFOUND);
	free(body);
	store_close(st);
}

static void test_uidl_abort(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	struct store_entry *e = NULL;
	size_t n;
	for (int i = 0; i < 3; i++) {
		uint64_t msg = 0;
		CHECK_INT(store_msg_deliver(st, &msg, "m\r\n", 3, &a, 1),
		          STORE_OK);
	}
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, 3);
	char last[STORE_UIDL_MAX];
	snprintf(last, sizeof last, "%s", e[2].uidl);
	/* "ID.SALT": the id in decimal, 16 hex digits of salt. */
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof want, "%llu.", (unsigned long long)e[i].id);
		CHECK(strncmp(e[i].uidl, want, strlen(want)) == 0);
		const char *salt = e[i].uidl + strlen(want);
		CHECK_INT(strlen(salt), 16);
		CHECK_INT(strspn(salt, "0123456789abcdef"), 16);
	}
	uint64_t gone = e[2].id;
	CHECK(e[0].id < e[1].id && e[1].id < e[2].id); /* oldest first */
	CHECK_INT(store_mailbox_expunge(st, a, &gone, 1), STORE_OK);
	free(e);
	uint64_t msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "n\r\n", 3, &a, 1), STORE_OK);
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, 3);
	for (size_t i = 0; i < n; i++)
		CHECK(strcmp(e[i].uidl, last) != 0);
	CHECK(e[2].id > gone);
	free(e);

	/* Abort: the pending message and its chunks go. */
	msg = 0;
	unsigned char buf[100000];
	fill(buf, sizeof buf, 7);
	CHECK_INT(store_msg_append(st, &msg, buf, sizeof buf), STORE_OK);
	bool file = strcmp(dir, ":memory:") != 0;
	if (file)
		CHECK_INT(sql_int("SELECT count(*) FROM messages "
		                  "WHERE state = 0"), 1);
	CHECK_INT(store_msg_abort(st, msg), STORE_OK);
	CHECK_INT(store_msg_abort(st, msg), STORE_OK);
	CHECK_INT(store_msg_append(st, &msg, buf, 10), STORE_NOTFOUND);
	uint64_t id = msg;
	CHECK_INT(store_msg_deliver(st, &id, buf, 10, &a, 1), STORE_NOTFOUND);
	if (file) {
		CHECK_INT(sql_int("SELECT count(*) FROM messages "
		                  "WHERE state = 0"), 0);
		CHECK_INT(sql_int("SELECT count(*) FROM chunks c JOIN messages "
		                  "m ON m.id = c.msg_id WHERE m.state = 0"), 0);
	}
	CHECK_INT(count_entries(st, a, NULL), 3);
	store_close(st);
}

/* Pending leftovers: open drops the stale ones, init all of them. */
static void test_pending_gc(const char *dir)
{
	char err[512];
	struct store *st = open_ok(dir);
	if (!st)
		return;
	uint64_t m1 = 0, m2 = 0;
	CHECK_INT(store_msg_append(st, &m1, "old", 3), STORE_OK);
	/* Created also without bytes. */
	CHECK_INT(store_msg_append(st, &m2, NULL, 0), STORE_OK);
	CHECK(m2 != 0 && m2 != m1);
	store_close(st);
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE messages SET updated = updated - "
	         "7200 WHERE id = %llu", (unsigned long long)m1);
	CHECK_INT(sql_int(sql), 0);
	st = open_ok(dir);
	store_close(st);
	CHECK_INT(sql_int("SELECT count(*) FROM messages WHERE state = 0"), 1);
	CHECK_INT(store_init(dir, err, sizeof err), STORE_OK);
	CHECK_INT(sql_int("SELECT count(*) FROM messages WHERE state = 0"), 0);
}

static void test_locks(const char *dir)
{
	struct store *s1 = open_ok(dir);
	if (!s1)
		return;
	add_users(s1);
	uint64_t a = mbox_of(s1, "alice@example.org");
	store_close(s1);

	/* A holder that died without unlocking, still a zombie (not
	 * reaped), then reaped. Forked while this process has no store
	 * open: SQLite connections must not cross a fork. */
	for (int reap = 0; reap < 2; reap++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct store *c = NULL;
			char err[256];
			uint64_t t;
			if (store_open(dir, &c, err, sizeof err) != STORE_OK ||
			    store_mailbox_lock(c, a, &t) != STORE_OK)
				_exit(1);
			_exit(0); /* no unlock, no close */
		}
		CHECK(pid > 0);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		CHECK_INT(waitid(P_PID, (id_t)pid, &si,
		                 WEXITED | (reap ? 0 : WNOWAIT)), 0);
		CHECK_INT(si.si_status, 0);
		CHECK_INT(sql_int("SELECT count(*) FROM locks"), 1);
		struct store *p = open_ok(dir);
		uint64_t t = 0;
		CHECK_INT(store_mailbox_lock(p, a, &t), STORE_OK);
		store_mailbox_unlock(p, a, t);
		store_close(p);
		if (!reap)
			waitpid(pid, NULL, 0);
	}
	CHECK_INT(sql_int("SELECT count(*) FROM locks"), 0);

	s1 = open_ok(dir);
	struct store *s2 = open_ok(dir);
	if (!s1 || !s2)
		return;
	uint64_t t1 = 0, t2 = 0;
	CHECK_INT(store_mailbox_lock(s1, a, &t1), STORE_OK);
	CHECK(t1 != 0);
	CHECK_INT(store_mailbox_lock(s2, a, &t2), STORE_INUSE);
	CHECK_INT(store_mailbox_lock(s1, a, &t2), STORE_INUSE);
	store_mailbox_unlock(s2, a, t1 + 1); /* wrong token: no effect */
	CHECK_INT(store_mailbox_lock(s2, a, &t2), STORE_INUSE);
	store_mailbox_unlock(s1, a, t1);
	CHECK_INT(store_mailbox_lock(s2, a, &t2), STORE_OK);
	store_mailbox_unlock(s2, a, t2);
	CHECK_INT(store_mailbox_lock(s1, 987654, &t2), STORE_NOTFOUND);

	/* Our pid, but another start time (pid reused) or boot. */
	CHECK_INT(store_mailbox_lock(s1, a, &t1), STORE_OK);
	CHECK_INT(sql_int("UPDATE locks SET starttime = starttime + 1"), 0);
	CHECK_INT(store_mailbox_lock(s2, a, &t2), STORE_OK);
	CHECK_INT(sql_int("UPDATE locks SET boot_id = 'earlier-boot'"), 0);
	CHECK_INT(store_mailbox_lock(s1, a, &t1), STORE_OK);
	store_mailbox_unlock(s2, a, t2); /* stale token: keeps s1's lock */
	CHECK_INT(store_mailbox_lock(s2, a, &t2), STORE_INUSE);
	store_mailbox_unlock(s1, a, t1);
	CHECK_INT(sql_int("SELECT count(*) FROM locks"), 0);
	/* Removing the user takes the lock row with the mailbox. */
	CHECK_INT(store_mailbox_lock(s1, a, &t1), STORE_OK);
	CHECK_INT(store_user_remove(s2, "alice@example.org"), STORE_OK);
	CHECK_INT(sql_int("SELECT count(*) FROM locks"), 0);
	store_close(s1);
	store_close(s2);
}

/* Processes delivering at once: BEGIN IMMEDIATE and the busy timeout
 * must serialise them without a single TEMPFAIL. */
static void test_concurrent(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	store_close(st);
	enum { PROCS = 4, MSGS = 40 };
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		if ((pids[p] = fork()) == 0) {
			struct store *c = NULL;
			char err[256], piece[20000];
			memset(piece, 'a' + p, sizeof piece);
			if (store_open(dir, &c, err, sizeof err) != STORE_OK)
				_exit(1);
			for (int i = 0; i < MSGS; i++) {
				uint64_t m = 0;
				if (store_msg_append(c, &m, piece,
				                     sizeof piece) != STORE_OK ||
				    store_msg_deliver(c, &m, piece, 100, &a,
				                      1) != STORE_OK)
					_exit(2);
			}
			store_close(c);
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status = -1;
		CHECK_INT(waitpid(pids[p], &status, 0), pids[p]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	st = open_ok(dir);
	struct store_entry *e = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, PROCS * MSGS);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(e[i].size, 20100);
	free(e);
	store_close(st);
}

static void test_backup(const char *src)
{
	struct store *st = open_ok(src);
	if (!st)
		return;
	add_users(st);
	char dir[128], path[160], err[512];
	snprintf(dir, sizeof dir, "%s/copy", tmp_root);
	snprintf(path, sizeof path, "%s/postlite.db", dir);
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(store_backup(st, path), STORE_OK);
	CHECK_INT(store_backup(st, path), STORE_EXISTS);
	store_close(st);
	struct stat sb;
	CHECK_INT(stat(path, &sb), 0);
	CHECK_INT(sb.st_mode & 07777, 0600);
	st = open_ok(dir);
	if (!st)
		return;
	uint64_t m;
	CHECK_INT(store_user_auth(st, "carol@example.org", "pw-carol", &m),
	          STORE_OK);
	CHECK_INT(count_entries(st, m, NULL), 0);
	store_close(st);
	CHECK_INT(store_init(dir, err, sizeof err), STORE_OK);
}

/* store_mailbox_update: DELE'd entries go; under a policy of D days the
 * entries first retrieved D days ago or more go too, counted from their
 * first retrieval; none of it without a policy. */
static void test_expire(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t b = mbox_of(st, "bob@example.org");
	uint64_t both[] = {a, b};
	for (int i = 0; i < 4; i++) {
		uint64_t msg = 0;
		CHECK_INT(store_msg_deliver(st, &msg, "m\r\n", 3, both, 2),
		          STORE_OK);
	}
	struct store_entry *e = NULL;
	size_t n, gone = 99;
	const int64_t day = 86400, t0 = 1767225600;
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, 4);
	uint64_t id[4];
	for (size_t i = 0; i < 4 && i < n; i++)
		id[i] = e[i].id;
	free(e);

	/* No policy: retrieved means nothing, only del goes. */
	CHECK_INT(store_mailbox_update(st, a, &id[3], 1, id, 3, 0, t0, &gone),
	          STORE_OK);
	CHECK_INT(gone, 0);
	CHECK_INT(count_entries(st, a, NULL), 3);
	/* 2 days: 0 and 1 retrieved at t0 ... */
	CHECK_INT(store_mailbox_update(st, a, NULL, 0, id, 2, 2, t0, &gone),
	          STORE_OK);
	CHECK_INT(gone, 0);
	/* ... 2 again a day later (first retrieval t0 + 1 day) ... */
	CHECK_INT(store_mailbox_update(st, a, NULL, 0, &id[2], 1, 2, t0 + day,
	                               &gone), STORE_OK);
	CHECK_INT(gone, 0);
	/* ... and retrieving 0 again later does not restart its period. */
	CHECK_INT(store_mailbox_update(st, a, NULL, 0, id, 1, 2,
	                               t0 + 2 * day - 1, &gone), STORE_OK);
	CHECK_INT(gone, 0);
	CHECK_INT(count_entries(st, a, NULL), 3);
	CHECK_INT(store_mailbox_update(st, a, NULL, 0, NULL, 0, 2, t0 + 2 * day,
	                               &gone), STORE_OK);
	CHECK_INT(gone, 2);
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_INT(e[0].id, id[2]);
	free(e);
	/* bob's references kept the messages. */
	CHECK_INT(count_entries(st, b, NULL), 4);
	/* Another mailbox's entry ids are not ours to mark. */
	CHECK_INT(store_mailbox_list(st, b, &e, &n), STORE_OK);
	CHECK_INT(store_mailbox_update(st, a, NULL, 0, &e[0].id, 1, 1,
	                               t0 + 9 * day, &gone), STORE_OK);
	CHECK_INT(gone, 1); /* only a's id[2], retrieved at t0 + 1 day */
	free(e);
	CHECK_INT(count_entries(st, a, NULL), 0);
	CHECK_INT(count_entries(st, b, NULL), 4);
	store_close(st);
}

static void verify_problem(void *arg, const char *p)
{
	fprintf(stderr, "verify: %s\n", p);
}

/* Space reclaim (store_reclaim). The UPDATE-state transaction gives no
 * space back (QUIT's reply must not wait for it); the housekeeping call
 * afterwards does, and shrinks the file, without writing the pages it
 * gives back into the WAL (PROFILE.md 7: it used to write every one). */
static void test_reclaim(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t b = mbox_of(st, "bob@example.org");
	/* 12 MiB: over 2,048 free pages once expunged; bob keeps a copy of
	 * the last message and a small one of his own. */
	enum { BODY = 1 << 20, NBIG = 12 };
	unsigned char *body = malloc(BODY);
	uint64_t msg, ids[NBIG];
	for (int i = 0; i < NBIG && body; i++) {
		uint64_t both[] = {a, b};
		fill(body, BODY, (uint32_t)i + 1);
		msg = 0;
		CHECK_INT(store_msg_deliver(st, &msg, body, BODY, both,
		                            i == NBIG - 1 ? 2 : 1), STORE_OK);
	}
	msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "Subject: s\r\n\r\nb\r\n", 18,
	                            &b, 1), STORE_OK);
	struct store_entry *e = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, NBIG);
	for (size_t i = 0; i < n && i < NBIG; i++)
		ids[i] = e[i].id;
	free(e);

	long long page = sql_int("PRAGMA page_size");
	long long pages = sql_int("PRAGMA page_count");
	CHECK_INT(store_mailbox_update(st, a, ids, n, NULL, 0, 0, 0, NULL),
	          STORE_OK);
	CHECK_INT(count_entries(st, a, NULL), 0);
	long long freed = sql_int("PRAGMA freelist_count");
	CHECK(freed * page >= (NBIG - 1) * (long long)BODY);
	CHECK_INT(sql_int("PRAGMA page_count"), pages);

	/* An empty WAL: what it holds next is the reclaim's. */
	CHECK_INT(sql_int("PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	store_reclaim(st);
	CHECK(sql_int("PRAGMA freelist_count") < STORE_RECLAIM_STEP);
	long long left = sql_int("PRAGMA page_count");
	CHECK(left <= pages - freed + STORE_RECLAIM_STEP);
	struct stat sb;
	CHECK_INT(stat(db_path, &sb), 0);
	CHECK(sb.st_size <= left * page); /* the checkpoint truncated it */
	char wal[192];
	snprintf(wal, sizeof wal, "%s-wal", db_path);
	CHECK_INT(stat(wal, &sb), 0);
	/* A few frames per step, and the pages moved down (bob's copy sat
	 * at the end): 1.5 MiB here, where one big step wrote all 11 MiB. */
	CHECK(sb.st_size < freed * page / 2);

	/* Consistent, and what was kept reads back whole. */
	CHECK_INT(store_verify(st, verify_problem, NULL), STORE_OK);
	CHECK_INT(store_mailbox_list(st, b, &e, &n), STORE_OK);
	CHECK_INT(n, 2);
	if (n == 2 && body) {
		fill(body, BODY, NBIG);
		check_read(st, b, e[0].id, body, BODY, 0, BODY);
	}
	free(e);
	/* Below the threshold a call gives nothing back, and costs no
	 * write: the page count stays. */
	pages = sql_int("PRAGMA page_count");
	store_reclaim(st);
	CHECK_INT(sql_int("PRAGMA page_count"), pages);
	store_reclaim(NULL);
	free(body);
	store_close(st);
}

int main(void)
{
	if (tmp_setup("store-msg") != 0)
		return 1;
	test_delivery(":memory:");
	test_uidl_abort(":memory:");
	test_expire(":memory:");

	test_locks(fresh("locks", true));
	test_delivery(fresh("delivery", true));
	test_uidl_abort(fresh("uidl", true));
	test_expire(fresh("expire", true));
	test_pending_gc(fresh("pending", true));
	test_concurrent(fresh("concurrent", true));
	test_backup(fresh("backup", true));
	test_reclaim(fresh("reclaim", true));

	tmp_cleanup();
	return t_done("store_msg");
}
