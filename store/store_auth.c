/* The SQLite store's logins and passwords: yescrypt for new hashes, any
 * crypt(3) hash for imported ones, and the upgrade of legacy or cheap
 * hashes at the next successful login. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "password.h"

enum store_status dir_hash(struct store *st, const char *password, char *hash)
{
	if (!password_acceptable(password))
		return store_fail(st, STORE_INVALID, "password refused: empty, "
		                  "too long or with a line break");
	if (password_hash(password, hash, PASSWORD_HASH_MAX) != 0)
		return store_fail(st, errno == ENOMEM ? STORE_TEMPFAIL :
		                  STORE_PERMFAIL, "hashing the password: %s",
		                  strerror(errno));
	return STORE_OK;
}

/* user add and passwd: the hash first, outside any transaction. */
static enum store_status auth_set(struct store *st, const char *address,
                                  const char *password, bool create)
{
	char addr[STORE_ADDRESS_MAX], hash[PASSWORD_HASH_MAX];
	size_t at;
	enum store_status s;
	if ((s = dir_address(st, address, addr, &at)) != STORE_OK ||
	    (s = dir_hash(st, password, hash)) != STORE_OK)
		return s;
	if (create)
		return dir_user_insert(st, addr, at, hash);
	return dir_user_change(st, ST_USER_PASSWD, addr, hash, 0, false);
}

enum store_status store_user_add(struct store *st, const char *address,
                                 const char *password)
{
	return auth_set(st, address, password, true);
}

enum store_status store_user_passwd(struct store *st, const char *address,
                                    const char *password)
{
	return auth_set(st, address, password, false);
}

enum store_status store_user_set_hash(struct store *st, const char *address,
                                      const char *hash, bool create)
{
	char addr[STORE_ADDRESS_MAX], h[PASSWORD_HASH_MAX];
	size_t at;
	enum store_status s = dir_address(st, address, addr, &at);
	if (s != STORE_OK)
		return s;
	if (password_hash_import(hash, h, sizeof h) != 0)
		return store_fail(st, errno == ENOMEM ? STORE_TEMPFAIL :
		                  STORE_INVALID, "not a crypt(3) hash this "
		                  "system can check");
	if (create)
		return dir_user_insert(st, addr, at, h);
	return dir_user_change(st, ST_USER_PASSWD, addr, h, 0, false);
}

enum store_status dir_user_get(struct store *st, const char *addr,
                               char *hash, bool *disabled, uint64_t *mailbox)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_USER_GET, &s);
	if (!q)
		return s;
	store_bind_text(q, 1, addr);
	if ((s = store_row(st, q, "looking up a user")) != STORE_OK)
		return s;
	const char *h = (const char *)sqlite3_column_text(q, 0);
	snprintf(hash, PASSWORD_HASH_MAX, "%s", h ? h : "");
	*disabled = sqlite3_column_int(q, 1) != 0;
	*mailbox = (uint64_t)sqlite3_column_int64(q, 2);
	store_done(q);
	return STORE_OK;
}

/* After a successful login with a legacy or cheap hash: hashes the
 * password anew and stores it, unless the hash changed meanwhile. Best
 * effort (the login stands whatever happens): a failure is retried at the
 * next login. */
static void auth_upgrade(struct store *st, const char *addr,
                         const char *password, const char *old)
{
	char hash[PASSWORD_HASH_MAX], keep[sizeof st->err];
	if (password_hash(password, hash, sizeof hash) != 0)
		return;
	memcpy(keep, st->err, sizeof keep);
	enum store_status s = store_tx_begin(st, true);
	sqlite3_stmt *q = NULL;
	if (s == STORE_OK && (q = store_stmt(st, ST_USER_REHASH, &s))) {
		store_bind_text(q, 1, addr);
		store_bind_text(q, 2, hash);
		store_bind_text(q, 3, old);
		if (store_run(st, q, "upgrading a hash") == STORE_OK)
			(void)store_tx_commit(st);
	}
	explicit_bzero(hash, sizeof hash);
	memcpy(st->err, keep, sizeof keep);
}

enum store_status store_user_auth(struct store *st, const char *address,
                                  const char *password, uint64_t *mailbox)
{
	char addr[STORE_ADDRESS_MAX], hash[PASSWORD_HASH_MAX];
	size_t at;
	bool disabled = false;
	uint64_t mbox = 0;
	enum store_status s = dir_address(st, address, addr, &at);
	if (s == STORE_OK)
		s = dir_user_get(st, addr, hash, &disabled, &mbox);
	if (s != STORE_OK && s != STORE_NOTFOUND && s != STORE_INVALID)
		return s;
	if (s != STORE_OK) {
		/* Unknown or malformed: same work as a real check. */
		password_dummy_verify(password);
		return store_fail(st, STORE_DENIED, "unknown user");
	}
	/* Verify even for a disabled user: the time must not tell. */
	bool ok = password_verify(password, hash);
	if (ok && !disabled && password_needs_rehash(hash))
		auth_upgrade(st, addr, password, hash);
	explicit_bzero(hash, sizeof hash);
	if (!ok)
		return store_fail(st, STORE_DENIED, "wrong password");
	if (disabled)
		return store_fail(st, STORE_DENIED, "user disabled");
	*mailbox = mbox;
	return STORE_OK;
}
