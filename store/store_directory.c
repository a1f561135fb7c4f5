/* The SQLite store's directory: domains, users, logins and recipient
 * lookups. Every address goes through store_address_normalize first. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "password.h"

/* Normalises a full user address (bare "postmaster" is not one). */
static enum store_status dir_address(struct store *st, const char *in,
                                     char *out, size_t *domain_at)
{
	if (store_address_normalize(in, out, STORE_ADDRESS_MAX, domain_at) != 0 ||
	    *domain_at == 0)
		return store_fail(st, STORE_INVALID, "malformed address");
	return STORE_OK;
}

/* The id of a domain, or NOTFOUND. */
static enum store_status dir_domain_id(struct store *st, const char *domain,
                                       int64_t *id)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_DOMAIN_ID, &s);
	if (!q)
		return s;
	sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return store_fail(st, STORE_NOTFOUND, "domain %s: not found",
		                  domain);
	return store_dberr(st, rc, "looking up a domain");
}

enum store_status store_domain_add(struct store *st, const char *domain)
{
	char name[STORE_ADDRESS_MAX];
	if (store_domain_normalize(domain, name, sizeof name) != 0)
		return store_fail(st, STORE_INVALID, "malformed domain");
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_DOMAIN_ADD, &s);
	if (!q)
		return s;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, store_now());
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		store_tx_rollback(st);
		return store_fail(st, STORE_EXISTS, "domain %s: already exists",
		                  name);
	}
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "adding a domain");
	return store_tx_commit(st);
}

enum store_status store_domain_remove(struct store *st, const char *domain)
{
	char name[STORE_ADDRESS_MAX];
	if (store_domain_normalize(domain, name, sizeof name) != 0)
		return store_fail(st, STORE_INVALID, "malformed domain");
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	int64_t id, users = 0;
	if ((s = dir_domain_id(st, name, &id)) != STORE_OK) {
		store_tx_rollback(st);
		return s;
	}
	sqlite3_stmt *q = store_stmt(st, ST_DOMAIN_USERS, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		users = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_ROW)
		return store_dberr(st, rc, "counting users");
	if (users > 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_EXISTS, "domain %s: still has %lld "
		                  "user%s: remove them first", name,
		                  (long long)users, users == 1 ? "" : "s");
	}
	if (!(q = store_stmt(st, ST_DOMAIN_DEL, &s)))
		return s;
	sqlite3_bind_int64(q, 1, id);
	if ((s = store_run(st, q, "removing a domain")) != STORE_OK)
		return s;
	return store_tx_commit(st);
}

/* Runs a one-column listing, calling cb for each row. */
static enum store_status dir_list(struct store *st, enum store_stmt id,
                                  void (*cb)(void *arg, const char *text),
                                  void *arg)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, id, &s);
	if (!q)
		return s;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "listing");
	return STORE_OK;
}

enum store_status store_domain_list(struct store *st,
                                    void (*cb)(void *arg, const char *domain),
                                    void *arg)
{
	return dir_list(st, ST_DOMAIN_LIST, cb, arg);
}

enum store_status store_user_list(struct store *st,
                                  void (*cb)(void *arg, const char *address),
                                  void *arg)
{
	return dir_list(st, ST_USER_LIST, cb, arg);
}

/* Hashes outside any transaction: tens of ms must not hold the lock. */
static enum store_status dir_hash(struct store *st, const char *password,
                                  char *hash)
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

enum store_status store_user_add(struct store *st, const char *address,
                                 const char *password)
{
	char addr[STORE_ADDRESS_MAX], hash[PASSWORD_HASH_MAX];
	size_t at;
	enum store_status s;
	if ((s = dir_address(st, address, addr, &at)) != STORE_OK ||
	    (s = dir_hash(st, password, hash)) != STORE_OK)
		return s;
	if ((s = store_tx_begin(st, true)) != STORE_OK)
		return s;
	int64_t domain_id;
	if ((s = dir_domain_id(st, addr + at, &domain_id)) != STORE_OK) {
		store_tx_rollback(st);
		if (s == STORE_NOTFOUND)
			return store_fail(st, STORE_NOTLOCAL, "domain %s: not a "
			                  "local domain (add it first)", addr + at);
		return s;
	}
	sqlite3_stmt *q = store_stmt(st, ST_USER_ADD, &s);
	if (!q)
		return s;
	sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, domain_id);
	sqlite3_bind_text(q, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, store_now());
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		store_tx_rollback(st);
		return store_fail(st, STORE_EXISTS, "user %s: already exists",
		                  addr);
	}
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "adding a user");
	int64_t user_id = sqlite3_last_insert_rowid(st->db);
	if (!(q = store_stmt(st, ST_MBOX_ADD, &s)))
		return s;
	sqlite3_bind_int64(q, 1, user_id);
	if ((s = store_run(st, q, "adding a mailbox")) != STORE_OK)
		return s;
	return store_tx_commit(st);
}

/* Runs a one-row UPDATE/DELETE keyed by address: NOTFOUND if no row. */
static enum store_status dir_user_change(struct store *st, enum store_stmt id,
                                         const char *addr, const char *text,
                                         int64_t num, bool gc)
{
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, id, &s);
	if (!q)
		return s;
	sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
	else if (id != ST_USER_DEL)
		sqlite3_bind_int64(q, 2, num);
	if ((s = store_run(st, q, "changing a user")) != STORE_OK)
		return s;
	if (sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "user %s: not found", addr);
	}
	/* The cascade took the mailbox's entries; drop the messages no
	 * other mailbox references. A scan, but user removal is rare. */
	if (gc && (s = store_exec(st, ST_MSG_GC)) != STORE_OK)
		return s;
	return store_tx_commit(st);
}

enum store_status store_user_passwd(struct store *st, const char *address,
                                    const char *password)
{
	char addr[STORE_ADDRESS_MAX], hash[PASSWORD_HASH_MAX];
	size_t at;
	enum store_status s;
	if ((s = dir_address(st, address, addr, &at)) != STORE_OK ||
	    (s = dir_hash(st, password, hash)) != STORE_OK)
		return s;
	return dir_user_change(st, ST_USER_PASSWD, addr, hash, 0, false);
}

enum store_status store_user_disable(struct store *st, const char *address,
                                     bool disabled)
{
	char addr[STORE_ADDRESS_MAX];
	size_t at;
	enum store_status s = dir_address(st, address, addr, &at);
	if (s != STORE_OK)
		return s;
	return dir_user_change(st, ST_USER_DISABLE, addr, NULL, disabled,
	                       false);
}

enum store_status store_user_remove(struct store *st, const char *address)
{
	char addr[STORE_ADDRESS_MAX];
	size_t at;
	enum store_status s = dir_address(st, address, addr, &at);
	if (s != STORE_OK)
		return s;
	s = dir_user_change(st, ST_USER_DEL, addr, NULL, 0, true);
	if (s == STORE_OK)
		store_vacuum_maybe(st);
	return s;
}

/* Reads a user's row; the hash is copied out and the statement reset, so
 * no read snapshot is held during the slow hash. */
static enum store_status dir_user_get(struct store *st, const char *addr,
                                      char *hash, bool *disabled,
                                      uint64_t *mailbox)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_USER_GET, &s);
	if (!q)
		return s;
	sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(q, 0);
		snprintf(hash, PASSWORD_HASH_MAX, "%s", h ? h : "");
		*disabled = sqlite3_column_int(q, 1) != 0;
		*mailbox = (uint64_t)sqlite3_column_int64(q, 2);
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	return store_dberr(st, rc, "looking up a user");
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
	if (s == STORE_TEMPFAIL || s == STORE_PERMFAIL)
		return s;
	if (s != STORE_OK) {
		/* Unknown or malformed: same work as a real check. */
		password_dummy_verify(password);
		return store_fail(st, STORE_DENIED, "unknown user");
	}
	/* Verify even for a disabled user: the time must not tell. */
	bool ok = password_verify(password, hash);
	explicit_bzero(hash, sizeof hash);
	if (!ok)
		return store_fail(st, STORE_DENIED, "wrong password");
	if (disabled)
		return store_fail(st, STORE_DENIED, "user disabled");
	*mailbox = mbox;
	return STORE_OK;
}

enum store_status store_rcpt_lookup(struct store *st, const char *address,
                                    uint64_t *mailbox)
{
	char addr[STORE_ADDRESS_MAX], hash[PASSWORD_HASH_MAX];
	size_t at;
	if (store_address_normalize(address, addr, sizeof addr, &at) != 0)
		return store_fail(st, STORE_INVALID, "malformed address");
	enum store_status s;
	if (at == 0) {
		/* RFC 5321 4.5.1: bare "postmaster" is always local; it means
		 * the postmaster of the first domain added. */
		sqlite3_stmt *q = store_stmt(st, ST_DOMAIN_FIRST, &s);
		if (!q)
			return s;
		int rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			snprintf(addr, sizeof addr, "postmaster@%s",
			         (const char *)sqlite3_column_text(q, 0));
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			return store_fail(st, STORE_NOTFOUND, "postmaster: no "
			                  "local domain");
		if (rc != SQLITE_ROW)
			return store_dberr(st, rc, "looking up postmaster");
		at = strlen("postmaster@");
	}
	/* TODO(issue "postmaster always accepted"): RFC 5321 4.5.1 requires
	 * postmaster@ every local domain to be accepted even without such a
	 * user; route it to an alias once aliases exist. */
	bool disabled;
	s = dir_user_get(st, addr, hash, &disabled, mailbox);
	explicit_bzero(hash, sizeof hash);
	if (s != STORE_NOTFOUND)
		return s;
	int64_t domain_id;
	s = dir_domain_id(st, addr + at, &domain_id);
	if (s == STORE_OK)
		return store_fail(st, STORE_NOTFOUND, "%s: no such user", addr);
	if (s == STORE_NOTFOUND)
		return store_fail(st, STORE_NOTLOCAL, "%s: not a local domain",
		                  addr + at);
	return s;
}
