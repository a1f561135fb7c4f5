/* Unit tests of the store's directory beyond users: aliases (one to many,
 * catch-all), plus-addressing, postmaster, quotas, imported and upgraded
 * password hashes; and the admin side: listings, stats, verify. */
#include <crypt.h>

#include "test_store_util.h"

static void collect2(void *arg, const char *a, const char *b)
{
	char *out = arg;
	size_t len = strlen(out);
	snprintf(out + len, 512 - len, "%s>%s;", a, b);
}

static uint64_t deliver(struct store *st, const char *text, uint64_t *rcpt,
                        size_t n, enum store_status want)
{
	uint64_t msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, text, strlen(text), rcpt, n),
	          want);
	return msg;
}

static void test_aliases(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	CHECK_INT(store_domain_add(st, "b.example"), STORE_OK);
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t b = mbox_of(st, "bob@example.org");
	uint64_t r = 0;
	char list[512] = "";

	CHECK_INT(store_alias_add(st, "Team@Example.org", "alice@example.org"),
	          STORE_OK);
	/* One target: the alias is its owner's mailbox. */
	CHECK_INT(store_rcpt_lookup(st, "team@example.org", &r), STORE_OK);
	CHECK_INT(r, a);
	CHECK_INT(store_alias_add(st, "team@example.org", "bob@example.org"),
	          STORE_OK);
	CHECK_INT(store_alias_add(st, "team@example.org", "BOB@example.org"),
	          STORE_EXISTS);
	CHECK_INT(store_alias_add(st, "team@example.org", "nobody@example.org"),
	          STORE_NOTFOUND);
	CHECK_INT(store_alias_add(st, "team@else.example", "bob@example.org"),
	          STORE_NOTLOCAL);
	CHECK_INT(store_alias_add(st, "alice@example.org", "bob@example.org"),
	          STORE_EXISTS);
	CHECK_INT(store_user_add(st, "team@example.org", "pw"), STORE_EXISTS);
	CHECK_INT(store_alias_add(st, "bad alias", "bob@example.org"),
	          STORE_INVALID);
	/* Two targets: one delivery, an entry in each mailbox, stored once. */
	CHECK_INT(store_rcpt_lookup(st, "TEAM@example.org", &r), STORE_OK);
	CHECK(r != a && r != b);
	uint64_t both[] = {r, a};
	deliver(st, "Subject: t\r\n\r\nx\r\n", both, 2, STORE_OK);
	CHECK_INT(count_entries(st, a, NULL), 1);
	CHECK_INT(count_entries(st, b, NULL), 1);

	/* Plus-addressing, for users and aliases. */
	CHECK_INT(store_rcpt_lookup(st, "alice+lists@example.org", &r),
	          STORE_OK);
	CHECK_INT(r, a);
	CHECK_INT(store_rcpt_lookup(st, "team+x+y@example.org", &r), STORE_OK);
	CHECK(r != a && r != b);
	CHECK_INT(store_rcpt_lookup(st, "+x@example.org", &r), STORE_NOTFOUND);
	CHECK_INT(store_set_delimiters(st, "-"), STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "alice+lists@example.org", &r),
	          STORE_NOTFOUND);
	CHECK_INT(store_rcpt_lookup(st, "alice-lists@example.org", &r),
	          STORE_OK);
	CHECK_INT(store_set_delimiters(st, "@"), STORE_INVALID);
	CHECK_INT(store_set_delimiters(st, ""), STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "alice-lists@example.org", &r),
	          STORE_NOTFOUND);
	CHECK_INT(store_set_delimiters(st, "+-"), STORE_OK);

	/* Catch-all: for unknown recipients of its domain only. */
	CHECK_INT(store_alias_add(st, "@EXAMPLE.org", "bob@example.org"),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "whoever@example.org", &r), STORE_OK);
	CHECK_INT(r, b);
	CHECK_INT(store_rcpt_lookup(st, "alice@example.org", &r), STORE_OK);
	CHECK_INT(r, a);
	CHECK_INT(store_rcpt_lookup(st, "whoever@b.example", &r),
	          STORE_NOTFOUND);
	CHECK_INT(store_alias_list(st, collect2, list), STORE_OK);
	CHECK_STR(list, "@example.org>bob@example.org;"
	                "team@example.org>alice@example.org;"
	                "team@example.org>bob@example.org;");

	/* Domain removal waits for aliases too. */
	CHECK_INT(store_alias_add(st, "info@b.example", "alice@example.org"),
	          STORE_OK);
	CHECK_INT(store_domain_remove(st, "b.example"), STORE_EXISTS);
	CHECK(strstr(store_errmsg(st), "alias") != NULL);
	CHECK_INT(store_alias_remove(st, "info@b.example", NULL), STORE_OK);
	CHECK_INT(store_alias_remove(st, "info@b.example", NULL),
	          STORE_NOTFOUND);
	CHECK_INT(store_domain_remove(st, "b.example"), STORE_OK);

	/* Removing a target; then the user: the alias left empty goes. */
	CHECK_INT(store_alias_remove(st, "team@example.org", "carol@example.org"),
	          STORE_NOTFOUND);
	CHECK_INT(store_alias_remove(st, "team@example.org", "alice@example.org"),
	          STORE_OK);
	CHECK_INT(store_user_remove(st, "bob@example.org"), STORE_OK);
	list[0] = '\0';
	CHECK_INT(store_alias_list(st, collect2, list), STORE_OK);
	CHECK_STR(list, "");
	CHECK_INT(store_rcpt_lookup(st, "team@example.org", &r),
	          STORE_NOTFOUND);

	/* A recipient id of an alias whose targets are gone by DATA. */
	CHECK_INT(store_alias_add(st, "duo@example.org", "alice@example.org"),
	          STORE_OK);
	CHECK_INT(store_alias_add(st, "duo@example.org", "carol@example.org"),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "duo@example.org", &r), STORE_OK);
	CHECK_INT(store_alias_remove(st, "duo@example.org", NULL), STORE_OK);
	deliver(st, "x", &r, 1, STORE_NOTFOUND);
	store_close(st);
}

static void test_postmaster(const char *dir)
{
	struct store *st = open_ok(dir);
	if (!st)
		return;
	uint64_t r = 0;
	CHECK_INT(store_rcpt_lookup(st, "postmaster", &r), STORE_NOTFOUND);
	CHECK_INT(store_domain_add(st, "first.example"), STORE_OK);
	CHECK_INT(store_domain_add(st, "second.example"), STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "postmaster@second.example", &r),
	          STORE_NOTFOUND);
	CHECK_INT(store_user_add(st, "admin@second.example", "pw"), STORE_OK);
	uint64_t admin = mbox_of(st, "admin@second.example");
	CHECK_INT(store_user_add(st, "zed@first.example", "pw"), STORE_OK);
	uint64_t zed = mbox_of(st, "zed@first.example");
	/* No postmaster anywhere: the first user added (the admin). */
	CHECK_INT(store_rcpt_lookup(st, "PostMaster", &r), STORE_OK);
	CHECK_INT(r, admin);
	CHECK_INT(store_rcpt_lookup(st, "postmaster@second.example", &r),
	          STORE_OK);
	CHECK_INT(r, admin);
	CHECK_INT(store_rcpt_lookup(st, "postmaster@other.example", &r),
	          STORE_NOTLOCAL);
	/* An alias at the first domain takes over for every domain... */
	CHECK_INT(store_alias_add(st, "postmaster@first.example",
	                          "zed@first.example"), STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "postmaster@second.example", &r),
	          STORE_OK);
	CHECK_INT(r, zed);
	CHECK_INT(store_rcpt_lookup(st, "postmaster", &r), STORE_OK);
	CHECK_INT(r, zed);
	/* ...unless a domain has its own. */
	CHECK_INT(store_alias_add(st, "postmaster@second.example",
	                          "admin@second.example"), STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "postmaster@second.example", &r),
	          STORE_OK);
	CHECK_INT(r, admin);
	CHECK_INT(store_rcpt_lookup(st, "postmaster+x@second.example", &r),
	          STORE_OK);
	CHECK_INT(r, admin);
	store_close(st);
}

static void test_quota(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t b = mbox_of(st, "bob@example.org");
	struct store_quota q;
	CHECK_INT(store_quota_get(st, "alice@example.org", &q), STORE_OK);
	CHECK_INT(q.limit, 0);
	CHECK(!q.own);
	/* Domain default 100 bytes; bob has his own, unlimited. */
	CHECK_INT(store_quota_set(st, "example.org", 100), STORE_OK);
	CHECK_INT(store_quota_set(st, "bob@example.org", 0), STORE_OK);
	CHECK_INT(store_quota_set(st, "nobody@example.org", 5), STORE_NOTFOUND);
	CHECK_INT(store_quota_set(st, "else.example", 5), STORE_NOTFOUND);
	CHECK_INT(store_quota_set(st, "bad domain", 5), STORE_INVALID);
	CHECK_INT(store_quota_get(st, "alice@example.org", &q), STORE_OK);
	CHECK_INT(q.limit, 100);
	CHECK(!q.own);
	char m60[61];
	memset(m60, 'x', 60);
	m60[60] = '\0';
	uint64_t ab[] = {a, b};
	deliver(st, m60, ab, 2, STORE_OK);
	CHECK_INT(store_quota_get(st, "alice@example.org", &q), STORE_OK);
	CHECK_INT(q.used, 60);
	CHECK_INT(q.messages, 1);
	/* 60 + 60 > 100: the whole delivery fails, bob gets nothing. */
	deliver(st, m60, ab, 2, STORE_OVERQUOTA);
	CHECK_INT(count_entries(st, b, NULL), 1);
	/* A begun message stays pending after OVERQUOTA; abort works. */
	uint64_t msg = 0;
	CHECK_INT(store_msg_append(st, &msg, m60, 60), STORE_OK);
	CHECK_INT(store_msg_deliver(st, &msg, "", 0, &a, 1), STORE_OVERQUOTA);
	CHECK_INT(store_msg_abort(st, msg), STORE_OK);
	deliver(st, "0123456789", &a, 1, STORE_OK); /* 70: fits */
	uint64_t r;
	CHECK_INT(store_rcpt_lookup(st, "alice@example.org", &r), STORE_OK);
	char m30[31];
	memset(m30, 'y', 30);
	m30[30] = '\0';
	deliver(st, m30, &a, 1, STORE_OK); /* exactly 100 */
	/* Full: refused at RCPT already, with the mailbox named. */
	r = 0;
	CHECK_INT(store_rcpt_lookup(st, "alice+x@example.org", &r),
	          STORE_OVERQUOTA);
	CHECK_INT(r, a);
	CHECK_INT(store_rcpt_lookup(st, "bob@example.org", &r), STORE_OK);
	/* POP3 is unaffected: list, read, expunge. */
	struct store_entry *e = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(st, a, &e, &n), STORE_OK);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_INT(store_mailbox_expunge(st, a, &e[0].id, 1), STORE_OK);
	}
	free(e);
	CHECK_INT(store_rcpt_lookup(st, "alice@example.org", &r), STORE_OK);
	CHECK_INT(store_quota_get(st, "example.org", &q), STORE_OK);
	CHECK_INT(q.limit, 100);
	CHECK_INT(q.used, 40 + 60);
	/* Back to the default; a user's own quota above it. */
	CHECK_INT(store_quota_set(st, "bob@example.org", STORE_QUOTA_DEFAULT),
	          STORE_OK);
	CHECK_INT(store_quota_get(st, "bob@example.org", &q), STORE_OK);
	CHECK_INT(q.limit, 100);
	CHECK(!q.own);
	CHECK_INT(store_quota_set(st, "alice@example.org", 1000), STORE_OK);
	deliver(st, m60, &a, 1, STORE_OK);
	/* An alias with a full target is full too. */
	CHECK_INT(store_quota_set(st, "carol@example.org", 1), STORE_OK);
	uint64_t c = mbox_of(st, "carol@example.org");
	deliver(st, "zz", &c, 1, STORE_OVERQUOTA);
	deliver(st, "z", &c, 1, STORE_OK);
	CHECK_INT(store_alias_add(st, "all@example.org", "alice@example.org"),
	          STORE_OK);
	CHECK_INT(store_alias_add(st, "all@example.org", "carol@example.org"),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "all@example.org", &r),
	          STORE_OVERQUOTA);
	store_close(st);
}

static void test_hashes(const char *dir)
{
	struct store *st = open_ok(dir);
	if (!st)
		return;
	CHECK_INT(store_domain_add(st, "example.org"), STORE_OK);
	/* sha512-crypt as /etc/shadow has it, and with Dovecot's prefix. */
	struct crypt_data *cd = calloc(1, sizeof *cd);
	char six[PASSWORD_HASH_MAX], dove[PASSWORD_HASH_MAX + 32];
	snprintf(six, sizeof six, "%s",
	         crypt_rn("s3cret", "$6$saltsalt$", cd, sizeof *cd));
	snprintf(dove, sizeof dove, "{SHA512-CRYPT}%s",
	         crypt_rn("other", "$6$pepper$", cd, sizeof *cd));
	free(cd);
	CHECK(strncmp(six, "$6$", 3) == 0);
	CHECK_INT(store_user_set_hash(st, "imp@example.org", six, true),
	          STORE_OK);
	CHECK_INT(store_user_set_hash(st, "dove@example.org", dove, true),
	          STORE_OK);
	CHECK_INT(store_user_set_hash(st, "x@example.org", "{PLAIN}pw", true),
	          STORE_INVALID);
	CHECK_INT(store_user_set_hash(st, "x@example.org", "!locked", true),
	          STORE_INVALID);
	CHECK_INT(store_user_set_hash(st, "x@example.org", "$9$nonsense", true),
	          STORE_INVALID);
	CHECK_INT(store_user_set_hash(st, "x@example.org", six, false),
	          STORE_NOTFOUND);
	CHECK(password_needs_rehash(six));
	CHECK(password_needs_rehash("$2b$05$abcdefghijklmnopqrstuu"));
	CHECK(password_needs_rehash("$y$j8T$abc$def"));
	CHECK(!password_needs_rehash("$y$jAT$abc$def"));
	char y[PASSWORD_HASH_MAX];
	CHECK_INT(password_hash("x", y, sizeof y), 0);
	CHECK(!password_needs_rehash(y));

	uint64_t m;
	CHECK_INT(store_user_auth(st, "imp@example.org", "wrong", &m),
	          STORE_DENIED);
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT substr(password, 1, 3) = '$6$' "
		                  "FROM users WHERE address = 'imp@example.org'"),
		          1);
	CHECK_INT(store_user_auth(st, "imp@example.org", "s3cret", &m),
	          STORE_OK);
	/* Upgraded at that login; the password still works. */
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT substr(password, 1, 3) = '$y$' "
		                  "FROM users WHERE address = 'imp@example.org'"),
		          1);
	CHECK_INT(store_user_auth(st, "imp@example.org", "s3cret", &m),
	          STORE_OK);
	CHECK_INT(store_user_auth(st, "dove@example.org", "other", &m),
	          STORE_OK);
	/* A disabled user is not upgraded (and not let in). */
	CHECK_INT(store_user_set_hash(st, "dove@example.org", six, false),
	          STORE_OK);
	CHECK_INT(store_user_disable(st, "dove@example.org", true), STORE_OK);
	CHECK_INT(store_user_auth(st, "dove@example.org", "s3cret", &m),
	          STORE_DENIED);
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT substr(password, 1, 3) = '$6$' "
		                  "FROM users WHERE address = 'dove@example.org'"),
		          1);
	store_close(st);
}

static void info_cb(void *arg, const struct store_msg_info *m)
{
	char *out = arg;
	size_t len = strlen(out);
	snprintf(out + len, 512 - len, "%llu|%lld|%s|%s;",
	         (unsigned long long)m->size, (long long)m->received, m->sender,
	         m->subject);
}

static void users_cb(void *arg, const struct store_user_info *u)
{
	char *out = arg;
	size_t len = strlen(out);
	snprintf(out + len, 512 - len, "%s %d %llu%s %llu/%llu;", u->address,
	         u->disabled, (unsigned long long)u->quota,
	         u->quota_own ? "!" : "", (unsigned long long)u->used,
	         (unsigned long long)u->messages);
}

static void problem_cb(void *arg, const char *p)
{
	int *n = arg;
	fprintf(stderr, "verify: %s\n", p);
	(*n)++;
}

static void test_admin(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t msg = deliver(st, "Return-Path: <s@x.example>\r\n"
	                       "From: Someone <f@x.example>\r\n"
	                       "Subject: hello\r\n  folded\t\x01there\r\n"
	                       "\r\nSubject: not this\r\n", &a, 1, STORE_OK);
	CHECK_INT(store_msg_set_received(st, msg, 1000000000), STORE_OK);
	CHECK_INT(store_msg_set_received(st, 999999, 1), STORE_NOTFOUND);
	deliver(st, "From: f@x.example\r\nSubject: caf\xc3\xa9 \xff!\r\n\r\n",
	        &a, 1, STORE_OK);
	char out[512] = "";
	CHECK_INT(store_mailbox_info(st, "Alice@example.org", info_cb, out),
	          STORE_OK);
	CHECK(strncmp(out, "111|1000000000|s@x.example|hello folded there;",
	              46) == 0);
	CHECK(strstr(out, "|f@x.example|caf\xc3\xa9 !;") != NULL);
	CHECK_INT(store_mailbox_info(st, "nobody@example.org", info_cb, out),
	          STORE_NOTFOUND);

	CHECK_INT(store_quota_set(st, "bob@example.org", 5000), STORE_OK);
	CHECK_INT(store_user_disable(st, "carol@example.org", true), STORE_OK);
	out[0] = '\0';
	CHECK_INT(store_user_list_info(st, users_cb, out), STORE_OK);
	CHECK_STR(out, "alice@example.org 0 0 151/2;"
	               "bob@example.org 0 5000! 0/0;"
	               "carol@example.org 1 0 0/0;");

	struct store_stats ss;
	CHECK_INT(store_stats(st, &ss), STORE_OK);
	CHECK_INT(ss.domains, 1);
	CHECK_INT(ss.users, 3);
	CHECK_INT(ss.messages, 2);
	CHECK_INT(ss.entries, 2);
	CHECK_INT(ss.message_bytes, 151);
	CHECK_INT(ss.schema_version, 5);
	int problems = 0;
	CHECK_INT(store_verify(st, problem_cb, &problems), STORE_OK);
	CHECK_INT(problems, 0);
	store_close(st);
	if (strcmp(dir, ":memory:") == 0)
		return;
	/* Damage behind the store's back: a piece gone, a counter off, a
	 * message no mailbox references. */
	CHECK_INT(sql_int("UPDATE mailboxes SET used = used + 1 "
	                  "WHERE id = (SELECT min(id) FROM mailboxes)"), 0);
	CHECK_INT(sql_int("UPDATE chunks SET data = x'00' WHERE id = "
	                  "(SELECT min(id) FROM chunks)"), 0);
	CHECK_INT(sql_int("INSERT INTO messages(size, created, updated, state) "
	                  "VALUES (0, 0, 0, 1)"), 0);
	st = open_ok(dir);
	problems = 0;
	CHECK_INT(store_verify(st, problem_cb, &problems), STORE_PERMFAIL);
	CHECK_INT(problems, 3);
	store_close(st);
}

int main(void)
{
	if (tmp_setup("store-dir") != 0)
		return 1;
	test_aliases(":memory:");
	test_postmaster(":memory:");
	test_quota(":memory:");
	test_hashes(":memory:");
	test_admin(":memory:");

	test_aliases(fresh("aliases", true));
	test_postmaster(fresh("postmaster", true));
	test_quota(fresh("quota", true));
	test_hashes(fresh("hashes", true));
	test_admin(fresh("admin", true));

	tmp_cleanup();
	return t_done("store_dir");
}
