/* Unit tests of the store (store.h) over its SQLite backend: addresses,
 * passwords, init/open and the basic directory. Messages are in
 * test_store_msg.c, the newer directory in test_store_dir.c, batches in
 * test_store_batch.c, fault injection in test_store_fault.c. */
#include "test_store_util.h"

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
	CHECK_INT(sql_int("PRAGMA user_version"), 5);

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
	CHECK_INT(sql_int("PRAGMA user_version=5"), 0);

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
	struct store *st = open_users(dir);
	if (!st)
		return;
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
	/* No postmaster user yet: the first user added gets its mail (RFC
	 * 5321 4.5.1: always accepted). */
	CHECK_INT(store_rcpt_lookup(st, "Postmaster", &m2), STORE_OK);
	CHECK_INT(m2, m);
	CHECK_INT(store_rcpt_lookup(st, "postmaster@example.org", &m2),
	          STORE_OK);
	CHECK_INT(m2, m);
	CHECK_INT(store_user_add(st, "postmaster@example.org", "pw-pm"),
	          STORE_OK);
	uint64_t pm = mbox_of(st, "postmaster@example.org");
	CHECK_INT(store_rcpt_lookup(st, "POSTMASTER", &m2), STORE_OK);
	CHECK_INT(m2, pm);
	store_close(st);
}

int main(void)
{
	if (tmp_setup("store") != 0)
		return 1;
	test_normalize();
	test_password();
	test_directory(":memory:");
	test_auth_rcpt(":memory:");

	test_init_open();
	test_directory(fresh("directory", true));
	test_auth_rcpt(fresh("auth", true));

	tmp_cleanup();
	return t_done("store");
}
