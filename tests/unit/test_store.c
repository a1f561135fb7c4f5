/* Unit tests of the store (store.h) over its SQLite backend, on a fresh
 * temporary directory and on ":memory:". sqlite3.h is included only to
 * look behind the API (counts of rows, pragmas, forged lock rows). */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "password.h"
#include "store.h"
#include "t.h"

static char tmp_root[64]; /* mkdtemp */
static char tmp_dir[128];  /* the current test's data_dir */
static char db_path[160];  /* its database */

/* ---- helpers ---------------------------------------------------------- */

/* Points tmp_dir and db_path at a new data_dir, initialised unless
 * init is false. Returns tmp_dir. */
static const char *fresh(const char *name, bool init)
{
	char err[512] = "";
	snprintf(tmp_dir, sizeof tmp_dir, "%s/%s", tmp_root, name);
	snprintf(db_path, sizeof db_path, "%s/postlite.db", tmp_dir);
	if (init) {
		enum store_status s = store_init(tmp_dir, err, sizeof err);
		if (s != STORE_OK)
			fprintf(stderr, "store_init(%s): %s\n", tmp_dir, err);
		CHECK_INT(s, STORE_OK);
	}
	return tmp_dir;
}

static struct store *open_ok(const char *dir)
{
	struct store *st = NULL;
	char err[512] = "";
	enum store_status s = store_open(dir, &st, err, sizeof err);
	if (s != STORE_OK)
		fprintf(stderr, "store_open(%s): %s\n", dir, err);
	CHECK_INT(s, STORE_OK);
	return st;
}

/* Runs one SQL statement on the file store and returns the first column
 * of its first row (or -1). */
static long long sql_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	long long v = -1;
	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
		int rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		else if (rc == SQLITE_DONE)
			v = 0;
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	return v;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* Sets up example.org with alice, bob, carol (password "pw-<name>"). */
static void add_users(struct store *st)
{
	CHECK_INT(store_domain_add(st, "Example.ORG"), STORE_OK);
	CHECK_INT(store_user_add(st, "alice@example.org", "pw-alice"), STORE_OK);
	CHECK_INT(store_user_add(st, "Bob@Example.org", "pw-bob"), STORE_OK);
	CHECK_INT(store_user_add(st, "carol@example.org.", "pw-carol"),
	          STORE_OK);
}

static uint64_t mbox_of(struct store *st, const char *addr)
{
	uint64_t m = 0;
	CHECK_INT(store_rcpt_lookup(st, addr, &m), STORE_OK);
	return m;
}

static size_t count_entries(struct store *st, uint64_t mbox,
                            struct store_entry *first)
{
	struct store_entry *e = NULL;
	size_t n = 99;
	CHECK_INT(store_mailbox_list(st, mbox, &e, &n), STORE_OK);
	if (n && first)
		*first = e[0];
	free(e);
	return n;
}

static void collect(void *arg, const char *s)
{
	char *out = arg;
	size_t len = strlen(out);
	snprintf(out + len, 512 - len, "%s;", s);
}

/* ---- tests ------------------------------------------------------------ */

static void test_normalize(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"Alice@Example.ORG", "alice@example.org"},
		{"a.b+tag@example.org.", "a.b+tag@example.org"},
		{"x@[192.0.2.1]", "x@[192.0.2.1]"},
		{"PostMaster", "postmaster"},
		{"\"odd\"@example.org@example.org", NULL},
		{"a@b@example.org", NULL},
		{"@example.org", NULL},
		{"a@", NULL},
		{"a..b@example.org", NULL},
		{".a@example.org", NULL},
		{"a b@example.org", NULL},
		{"a@-x.org", NULL},
		{"a@x..org", NULL},
		{"a@x_y.org", NULL},
		{"alice", NULL},
		{"", NULL},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char out[STORE_ADDRESS_MAX];
		size_t at = 99;
		int rc = store_address_normalize(ok[i].in, out, sizeof out, &at);
		CHECK_INT(rc, ok[i].out ? 0 : -1);
		if (ok[i].out && rc == 0)
			CHECK_STR(out, ok[i].out);
	}
	char out[STORE_ADDRESS_MAX], big[300];
	size_t at;
	memset(big, 'a', 65);
	snprintf(big + 65, sizeof big - 65, "@x.org");
	CHECK_INT(store_address_normalize(big, out, sizeof out, &at), -1);
	CHECK_INT(store_address_normalize("a@Example.Org", out, sizeof out, &at),
	          0);
	CHECK_INT(at, 2);
	CHECK_INT(store_domain_normalize("Example.ORG.", out, sizeof out), 0);
	CHECK_STR(out, "example.org");
	CHECK_INT(store_domain_normalize("[192.0.2.1]", out, sizeof out), -1);
	CHECK_INT(store_domain_normalize(".", out, sizeof out), -1);
}

static void test_password(void)
{
	char h[PASSWORD_HASH_MAX];
	CHECK_INT(password_hash("secret", h, sizeof h), 0);
	CHECK(strncmp(h, "$y$", 3) == 0);
	CHECK(password_verify("secret", h));
	CHECK(!password_verify("Secret", h));
	CHECK(!password_verify("", h));
	CHECK(!password_verify("secret", ""));
	CHECK(!password_verify("secret", "!locked"));
	CHECK_INT(password_hash("", h, sizeof h), -1);
	CHECK_INT(password_hash("a\nb", h, sizeof h), -1);
	CHECK(!password_acceptable(NULL));
	CHECK(password_acceptable("x"));
	password_dummy_verify("anything");
}

static void test_init_open(void)
{
	struct store *st = NULL;
	char err[512] = "";
	fresh("init", false);
	CHECK_INT(store_open(tmp_dir, &st, err, sizeof err), STORE_PERMFAIL);
	CHECK(st == NULL);
	CHECK(strstr(err, "postlite init") != NULL);
	CHECK_INT(store_init(tmp_dir, err, sizeof err), STORE_OK);
	CHECK_INT(store_init(tmp_dir, err, sizeof err), STORE_OK);

	struct stat sb;
	CHECK_INT(stat(tmp_dir, &sb), 0);
	CHECK_INT(sb.st_mode & 07777, 0750);
	CHECK_INT(stat(db_path, &sb), 0);
	CHECK_INT(sb.st_mode & 07777, 0660);
	CHECK_INT(sql_int("PRAGMA auto_vacuum"), 2); /* incremental */
	CHECK_INT(sql_int("PRAGMA user_version"), 1);

	st = open_ok(tmp_dir);
	if (st) {
		char wal[192];
		snprintf(wal, sizeof wal, "%s-wal", db_path);
		CHECK_INT(store_domain_add(st, "example.org"), STORE_OK);
		CHECK_INT(stat(wal, &sb), 0);
		CHECK_INT(sb.st_mode & 07777, 0660);
	}
	store_close(st);

	/* A schema from the future is refused by open and init alike. */
	CHECK_INT(sql_int("PRAGMA user_version=99"), 0);
	CHECK_INT(store_open(tmp_dir, &st, err, sizeof err), STORE_PERMFAIL);
	CHECK(strstr(err, "newer") != NULL);
	CHECK_INT(store_init(tmp_dir, err, sizeof err), STORE_PERMFAIL);
	CHECK_INT(sql_int("PRAGMA user_version=1"), 0);

	/* A data_dir that is a file. */
	char bad[192];
	snprintf(bad, sizeof bad, "%s/postlite.db", tmp_dir);
	CHECK(store_init(bad, err, sizeof err) != STORE_OK);
}

static void test_directory(const char *dir)
{
	struct store *st = open_ok(dir);
	if (!st)
		return;
	char list[512] = "";
	CHECK_INT(store_domain_add(st, "example.org"), STORE_OK);
	CHECK_INT(store_domain_add(st, "EXAMPLE.org."), STORE_EXISTS);
	CHECK(strstr(store_errmsg(st), "already exists") != NULL);
	CHECK_INT(store_domain_add(st, "b.example"), STORE_OK);
	CHECK_INT(store_domain_add(st, "bad domain"), STORE_INVALID);
	CHECK_INT(store_domain_list(st, collect, list), STORE_OK);
	CHECK_STR(list, "b.example;example.org;");

	CHECK_INT(store_user_add(st, "Alice@Example.org", "pw"), STORE_OK);
	CHECK_INT(store_user_add(st, "ALICE@example.ORG", "pw"), STORE_EXISTS);
	CHECK_INT(store_user_add(st, "zed@nowhere.example", "pw"),
	          STORE_NOTLOCAL);
	CHECK_INT(store_user_add(st, "bob@example.org", ""), STORE_INVALID);
	CHECK_INT(store_user_add(st, "postmaster", "pw"), STORE_INVALID);
	CHECK_INT(store_user_add(st, "bob@b.example", "pw"), STORE_OK);
	list[0] = '\0';
	CHECK_INT(store_user_list(st, collect, list), STORE_OK);
	CHECK_STR(list, "bob@b.example;alice@example.org;");

	CHECK_INT(store_domain_remove(st, "example.org"), STORE_EXISTS);
	CHECK_INT(store_domain_remove(st, "nowhere.example"), STORE_NOTFOUND);
	CHECK_INT(store_user_remove(st, "nobody@example.org"), STORE_NOTFOUND);
	CHECK_INT(store_user_remove(st, "ALICE@example.org"), STORE_OK);
	CHECK_INT(store_domain_remove(st, "Example.org"), STORE_OK);
	list[0] = '\0';
	CHECK_INT(store_domain_list(st, collect, list), STORE_OK);
	CHECK_STR(list, "b.example;");
	CHECK_INT(store_user_passwd(st, "bob@b.example", "new"), STORE_OK);
	CHECK_INT(store_user_passwd(st, "eve@b.example", "new"), STORE_NOTFOUND);
	CHECK_INT(store_user_remove(st, "bob@b.example"), STORE_OK);
	CHECK_INT(store_domain_remove(st, "b.example"), STORE_OK);
	store_close(st);
}

static void test_auth_rcpt(const char *dir)
{
	struct store *st = open_ok(dir);
	if (!st)
		return;
	add_users(st);
	uint64_t m = 0, m2 = 0;
	CHECK_INT(store_user_auth(st, "alice@example.org", "pw-alice", &m),
	          STORE_OK);
	CHECK(m != 0);
	CHECK_INT(store_user_auth(st, "ALICE@Example.Org", "pw-alice", &m2),
	          STORE_OK);
	CHECK_INT(m2, m);
	CHECK_INT(store_user_auth(st, "alice@example.org", "pw-Alice", &m2),
	          STORE_DENIED);
	CHECK_INT(store_user_auth(st, "nobody@example.org", "pw", &m2),
	          STORE_DENIED);
	CHECK_INT(store_user_auth(st, "not an address", "pw", &m2),
	          STORE_DENIED);
	CHECK_INT(store_user_disable(st, "bob@example.org", true), STORE_OK);
	CHECK_INT(store_user_auth(st, "bob@example.org", "pw-bob", &m2),
	          STORE_DENIED);
	CHECK_INT(store_user_disable(st, "bob@example.org", false), STORE_OK);
	CHECK_INT(store_user_auth(st, "bob@example.org", "pw-bob", &m2),
	          STORE_OK);
	CHECK_INT(store_user_passwd(st, "bob@example.org", "pw-new"), STORE_OK);
	CHECK_INT(store_user_auth(st, "bob@example.org", "pw-bob", &m2),
	          STORE_DENIED);
	CHECK_INT(store_user_auth(st, "bob@example.org", "pw-new", &m2),
	          STORE_OK);

	CHECK_INT(store_rcpt_lookup(st, "Alice@EXAMPLE.org.", &m2), STORE_OK);
	CHECK_INT(m2, m);
	CHECK_INT(store_rcpt_lookup(st, "nobody@example.org", &m2),
	          STORE_NOTFOUND);
	CHECK_INT(store_rcpt_lookup(st, "alice@elsewhere.example", &m2),
	          STORE_NOTLOCAL);
	CHECK_INT(store_rcpt_lookup(st, "alice@[192.0.2.1]", &m2),
	          STORE_NOTLOCAL);
	CHECK_INT(store_rcpt_lookup(st, "alice", &m2), STORE_INVALID);
	/* No postmaster user yet (aliases come later). */
	CHECK_INT(store_rcpt_lookup(st, "Postmaster", &m2), STORE_NOTFOUND);
	CHECK_INT(store_user_add(st, "postmaster@example.org", "pw-pm"),
	          STORE_OK);
	uint64_t pm = mbox_of(st, "postmaster@example.org");
	CHECK_INT(store_rcpt_lookup(st, "POSTMASTER", &m2), STORE_OK);
	CHECK_INT(m2, pm);
	store_close(st);
}

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
	struct store *st = open_ok(dir);
	if (!st)
		return;
	add_users(st);
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
	CHECK_INT(store_msg_begin(st, &msg), STORE_OK);
	static const size_t pieces[] = {1, 65535, 65536, 70000, 3, 131072,
	                                100000, 12345};
	size_t off = 0;
	for (size_t i = 0; off < size - 5000; i++) {
		size_t n = pieces[i % 8];
		if (n > size - 5000 - off)
			n = size - 5000 - off;
		CHECK_INT(store_msg_append(st, msg, body + off, n), STORE_OK);
		off += n;
	}
	/* Invisible until delivered. */
	CHECK_INT(count_entries(st, b, NULL), 0);
	uint64_t rcpts[] = {a, b, c, a};
	uint64_t id = msg;
	CHECK_INT(store_msg_deliver(st, &id, body + off, size - off, rcpts, 4),
	          STORE_OK);
	CHECK_INT(id, msg);
	CHECK_INT(store_msg_append(st, msg, "x", 1), STORE_NOTFOUND);
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
	struct store *st = open_ok(dir);
	if (!st)
		return;
	add_users(st);
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
	char last[24];
	snprintf(last, sizeof last, "%s", e[2].uidl);
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
	CHECK_INT(store_msg_begin(st, &msg), STORE_OK);
	unsigned char buf[100000];
	fill(buf, sizeof buf, 7);
	CHECK_INT(store_msg_append(st, msg, buf, sizeof buf), STORE_OK);
	bool file = strcmp(dir, ":memory:") != 0;
	if (file)
		CHECK_INT(sql_int("SELECT count(*) FROM messages "
		                  "WHERE state = 0"), 1);
	CHECK_INT(store_msg_abort(st, msg), STORE_OK);
	CHECK_INT(store_msg_abort(st, msg), STORE_OK);
	CHECK_INT(store_msg_append(st, msg, buf, 10), STORE_NOTFOUND);
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
	CHECK_INT(store_msg_begin(st, &m1), STORE_OK);
	CHECK_INT(store_msg_append(st, m1, "old", 3), STORE_OK);
	CHECK_INT(store_msg_begin(st, &m2), STORE_OK);
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

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	snprintf(tmp_root, sizeof tmp_root, "/tmp/postlite-store-XXXXXX");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return 1;
	}

	test_normalize();
	test_password();
	test_directory(":memory:");
	test_auth_rcpt(":memory:");
	test_delivery(":memory:");
	test_uidl_abort(":memory:");

	test_init_open();
	test_directory(fresh("directory", true));
	test_auth_rcpt(fresh("auth", true));
	test_locks(fresh("locks", true));
	test_delivery(fresh("delivery", true));
	test_uidl_abort(fresh("uidl", true));
	test_pending_gc(fresh("pending", true));
	test_backup(fresh("backup", true));

	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return t_done("store");
}
