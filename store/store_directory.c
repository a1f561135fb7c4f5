/* The SQLite store's directory: domains and users. Logins and passwords
 * are in store_auth.c, aliases, recipient lookups and quotas in
 * store_alias.c. Every address goes through store_address_normalize
 * first. */
#include "store_sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "password.h"

enum store_status dir_address(struct store *st, const char *in, char *out,
                              size_t *domain_at)
{
	if (store_address_normalize(in, out, STORE_ADDRESS_MAX, domain_at) != 0 ||
	    *domain_at == 0)
		return store_fail(st, STORE_INVALID, "malformed address");
	return STORE_OK;
}

enum store_status dir_domain_id(struct store *st, const char *domain,
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
	static const struct {
		enum store_stmt id;
		const char *what;
	} deps[] = {{ST_DOMAIN_USERS, "user"}, {ST_DOMAIN_ALIASES, "alias"}};
	sqlite3_stmt *q;
	for (size_t i = 0; i < 2; i++) {
		if (!(q = store_stmt(st, deps[i].id, &s)))
			return s;
		sqlite3_bind_int64(q, 1, id);
		if ((s = store_row(st, q, "counting")) != STORE_OK)
			return s == STORE_NOTFOUND ? store_dberr(st, SQLITE_ERROR,
			                                         "counting") : s;
		users = sqlite3_column_int64(q, 0);
		store_done(q);
		if (users > 0) {
			store_tx_rollback(st);
			return store_fail(st, STORE_EXISTS, "domain %s: still "
			                  "has %lld %s%s: remove them first",
			                  name, (long long)users, deps[i].what,
			                  users == 1 ? "" : i ? "es" : "s");
		}
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

enum store_status dir_user_insert(struct store *st, const char *addr,
                                  size_t at, const char *hash)
{
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	int64_t domain_id;
	if ((s = dir_domain_id(st, addr + at, &domain_id)) != STORE_OK) {
		store_tx_rollback(st);
		if (s == STORE_NOTFOUND)
			return store_fail(st, STORE_NOTLOCAL, "domain %s: not a "
			                  "local domain (add it first)", addr + at);
		return s;
	}
	/* A user may not hide an alias of the same name (nor the reverse:
	 * store_alias_add): one address, one meaning. */
	sqlite3_stmt *q = store_stmt(st, ST_ALIAS_GET, &s);
	if (!q)
		return s;
	store_bind_text(q, 1, addr);
	s = store_row(st, q, "looking up an alias");
	if (s == STORE_OK) {
		store_done(q);
		store_tx_rollback(st);
		return store_fail(st, STORE_EXISTS, "%s: already an alias",
		                  addr);
	}
	if (s != STORE_NOTFOUND)
		return s;
	if (!(q = store_stmt(st, ST_USER_ADD, &s)))
		return s;
	store_bind_text(q, 1, addr);
	sqlite3_bind_int64(q, 2, domain_id);
	store_bind_text(q, 3, hash);
	sqlite3_bind_int64(q, 4, store_now());
	int rc = sqlite3_step(q);
	store_done(q);
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

enum store_status dir_user_change(struct store *st, enum store_stmt id,
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
	/* The cascade took the mailbox's entries and the user's alias
	 * targets; drop the messages no other mailbox references and the
	 * aliases left without a target. Scans, but removal is rare. */
	if (gc && ((s = store_exec(st, ST_MSG_GC)) != STORE_OK ||
	           (s = store_exec(st, ST_ALIAS_ORPHANS)) != STORE_OK))
		return s;
	return store_tx_commit(st);
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
		store_reclaim(st);
	return s;
}

enum store_status store_user_list_info(
	struct store *st, void (*cb)(void *arg, const struct store_user_info *u),
	void *arg)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_USER_INFO, &s);
	if (!q)
		return s;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_user_info u = {
			.address = (const char *)sqlite3_column_text(q, 0),
			.disabled = sqlite3_column_int(q, 1) != 0,
			.quota = (uint64_t)sqlite3_column_int64(q, 2),
			.quota_own = sqlite3_column_int(q, 3) != 0,
			.used = (uint64_t)sqlite3_column_int64(q, 4),
			.messages = (uint64_t)sqlite3_column_int64(q, 5),
		};
		cb(arg, &u);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "listing users");
	return STORE_OK;
}
