/* Helpers shared by the store's unit tests (test_store*.c): a temporary
 * root per program, fresh data_dirs under it, and a look behind the API
 * with sqlite3.h (counts of rows, pragmas, forged rows). */
#ifndef POSTLITE_TEST_STORE_UTIL_H
#define POSTLITE_TEST_STORE_UTIL_H

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

/* ---- helpers ---------------------------------------------------------- */

static char tmp_root[64]; /* mkdtemp */
static char tmp_dir[128];  /* the current test's data_dir */
static char db_path[160];  /* its database */

/* ---- helpers ---------------------------------------------------------- */

/* Points tmp_dir and db_path at a new data_dir, initialised unless
 * init is false. Returns tmp_dir. */
static __attribute__((unused)) const char *fresh(const char *name, bool init)
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

static __attribute__((unused)) struct store *open_ok(const char *dir)
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
static __attribute__((unused)) long long sql_int(const char *sql)
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

static __attribute__((unused)) void fill(unsigned char *p, size_t n, uint32_t seed)
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
static __attribute__((unused)) void add_users(struct store *st)
{
	CHECK_INT(store_domain_add(st, "Example.ORG"), STORE_OK);
	CHECK_INT(store_user_add(st, "alice@example.org", "pw-alice"), STORE_OK);
	CHECK_INT(store_user_add(st, "Bob@Example.org", "pw-bob"), STORE_OK);
	CHECK_INT(store_user_add(st, "carol@example.org.", "pw-carol"),
	          STORE_OK);
}

/* open_ok with the users of add_users in the directory (NULL if the open
 * failed). */
static __attribute__((unused)) struct store *open_users(const char *dir)
{
	struct store *st = open_ok(dir);
	if (st)
		add_users(st);
	return st;
}

static __attribute__((unused)) uint64_t mbox_of(struct store *st, const char *addr)
{
	uint64_t m = 0;
	CHECK_INT(store_rcpt_lookup(st, addr, &m), STORE_OK);
	return m;
}

static __attribute__((unused)) size_t count_entries(struct store *st, uint64_t mbox,
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

static __attribute__((unused)) void collect(void *arg, const char *s)
{
	char *out = arg;
	size_t len = strlen(out);
	snprintf(out + len, 512 - len, "%s;", s);
}

static __attribute__((unused)) int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
	return remove(path);
}

/* Makes tmp_root; returns 0 or -1. */
static __attribute__((unused)) int tmp_setup(const char *name)
{
	snprintf(tmp_root, sizeof tmp_root, "/tmp/postlite-%s-XXXXXX", name);
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

static __attribute__((unused)) void tmp_cleanup(void)
{
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
