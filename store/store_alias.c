/* The SQLite store's aliases (one to many, "@domain" catch-alls),
 * recipient resolution (store_rcpt_lookup's order is documented in
 * store.h) and quotas. */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "password.h"

/* Normalises an alias name: a full address, or "@domain" for the
 * catch-all. *at is the offset of the domain in out. */
static enum store_status alias_name(struct store *st, const char *in,
                                    char *out, size_t *at)
{
	if (in[0] == '@') {
		if (store_domain_normalize(in + 1, out + 1,
		                           STORE_ADDRESS_MAX - 1) != 0)
			return store_fail(st, STORE_INVALID, "malformed alias");
		out[0] = '@';
		*at = 1;
		return STORE_OK;
	}
	return dir_address(st, in, out, at);
}

/* The id of alias addr, or NOTFOUND. */
static enum store_status alias_id(struct store *st, const char *addr,
                                  int64_t *id)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_ALIAS_GET, &s);
	if (!q)
		return s;
	store_bind_text(q, 1, addr);
	if ((s = store_row(st, q, "looking up an alias")) == STORE_OK) {
		*id = sqlite3_column_int64(q, 0);
		store_done(q);
	}
	return s;
}

enum store_status store_alias_add(struct store *st, const char *alias,
                                  const char *target)
{
	char name[STORE_ADDRESS_MAX], to[STORE_ADDRESS_MAX];
	size_t at, tat;
	enum store_status s;
	if ((s = alias_name(st, alias, name, &at)) != STORE_OK ||
	    (s = dir_address(st, target, to, &tat)) != STORE_OK)
		return s;
	if ((s = store_tx_begin(st, true)) != STORE_OK)
		return s;
	int64_t domain_id = 0, id = 0;
	bool disabled;
	uint64_t mbox;
	char pw[PASSWORD_HASH_MAX];
	if ((s = dir_domain_id(st, name + at, &domain_id)) == STORE_NOTFOUND)
		s = store_fail(st, STORE_NOTLOCAL, "domain %s: not a local "
		               "domain", name + at);
	else if (s == STORE_OK &&
	         (s = dir_user_get(st, name, pw, &disabled, &mbox)) == STORE_OK)
		s = store_fail(st, STORE_EXISTS, "%s: a user has that address",
		               name);
	else if (s == STORE_NOTFOUND)
		s = STORE_OK;
	explicit_bzero(pw, sizeof pw);
	if (s == STORE_OK && (s = alias_id(st, name, &id)) == STORE_NOTFOUND) {
		sqlite3_stmt *q = store_stmt(st, ST_ALIAS_NEW, &s);
		if (!q)
			return s;
		store_bind_text(q, 1, name);
		sqlite3_bind_int64(q, 2, domain_id);
		sqlite3_bind_int64(q, 3, store_now());
		if ((s = store_run(st, q, "adding an alias")) != STORE_OK)
			return s;
		id = sqlite3_last_insert_rowid(st->db);
	}
	if (s != STORE_OK) {
		store_tx_rollback(st);
		return s;
	}
	sqlite3_stmt *q = store_stmt(st, ST_ALIAS_TARGET_ADD, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, id);
	store_bind_text(q, 2, to);
	int rc = sqlite3_step(q);
	store_done(q);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		store_tx_rollback(st);
		return store_fail(st, STORE_EXISTS, "alias %s -> %s: already "
		                  "exists", name, to);
	}
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "adding an alias");
	if (sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "%s: no such user", to);
	}
	return store_tx_commit(st);
}

enum store_status store_alias_remove(struct store *st, const char *alias,
                                     const char *target)
{
	char name[STORE_ADDRESS_MAX], to[STORE_ADDRESS_MAX];
	size_t at, tat;
	enum store_status s;
	if ((s = alias_name(st, alias, name, &at)) != STORE_OK ||
	    (target && (s = dir_address(st, target, to, &tat)) != STORE_OK))
		return s;
	if ((s = store_tx_begin(st, true)) != STORE_OK)
		return s;
	int64_t id = 0;
	if ((s = alias_id(st, name, &id)) != STORE_OK) {
		store_tx_rollback(st);
		return s == STORE_NOTFOUND ? store_fail(st, s, "alias %s: not "
		                                        "found", name) : s;
	}
	sqlite3_stmt *q = store_stmt(st, target ? ST_ALIAS_TARGET_DEL :
	                             ST_ALIAS_DEL, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, id);
	if (target)
		store_bind_text(q, 2, to);
	if ((s = store_run(st, q, "removing an alias")) != STORE_OK)
		return s;
	if (sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "alias %s -> %s: not "
		                  "found", name, to);
	}
	if ((s = store_exec(st, ST_ALIAS_ORPHANS)) != STORE_OK)
		return s;
	return store_tx_commit(st);
}

enum store_status store_alias_list(struct store *st,
                                   void (*cb)(void *arg, const char *alias,
                                              const char *target),
                                   void *arg)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_ALIAS_LIST, &s);
	if (!q)
		return s;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(q, 0),
		   (const char *)sqlite3_column_text(q, 1));
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store_dberr(st, rc, "listing aliases");
	return STORE_OK;
}

/* A user or an alias named exactly addr: OK and *rcpt, or NOTFOUND. An
 * alias with one target is that target's mailbox (so that it counts as
 * its owner's, e.g. for smtpd's sender check). */
static enum store_status rcpt_exact(struct store *st, const char *addr,
                                    uint64_t *rcpt)
{
	char hash[PASSWORD_HASH_MAX];
	bool disabled;
	enum store_status s = dir_user_get(st, addr, hash, &disabled, rcpt);
	explicit_bzero(hash, sizeof hash);
	int64_t id = 0;
	if (s != STORE_NOTFOUND || (s = alias_id(st, addr, &id)) != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, ST_ALIAS_TARGETS, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, id);
	if ((s = store_row(st, q, "resolving an alias")) != STORE_OK)
		return s;
	int64_t n = sqlite3_column_int64(q, 0);
	*rcpt = n == 1 ? (uint64_t)sqlite3_column_int64(q, 1)
	               : RCPT_ALIAS | (uint64_t)id;
	store_done(q);
	return n > 0 ? STORE_OK : STORE_NOTFOUND;
}

/* Steps 1-4 of store_rcpt_lookup for addr (normalised, domain at at). */
static enum store_status rcpt_resolve(struct store *st, char *addr,
                                      size_t at, uint64_t *rcpt)
{
	enum store_status s = rcpt_exact(st, addr, rcpt);
	if (s != STORE_NOTFOUND)
		return s;
	/* "alice+tag@d" -> "alice@d": cut at the first delimiter. */
	size_t cut = st->delims[0] ? strcspn(addr, st->delims) : at;
	if (cut > 0 && cut < at - 1) {
		char base[STORE_ADDRESS_MAX];
		snprintf(base, sizeof base, "%.*s%s", (int)cut, addr,
		         addr + at - 1);
		if ((s = rcpt_exact(st, base, rcpt)) != STORE_NOTFOUND)
			return s;
	}
	char any[STORE_ADDRESS_MAX];
	snprintf(any, sizeof any, "%s", addr + at - 1);
	return rcpt_exact(st, any, rcpt);
}

/* Step 5: postmaster@ the first domain, else the first user. */
static enum store_status rcpt_postmaster(struct store *st, uint64_t *rcpt)
{
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_DOMAIN_FIRST, &s);
	if (!q)
		return s;
	char pm[STORE_ADDRESS_MAX];
	if ((s = store_row(st, q, "looking up postmaster")) == STORE_OK) {
		snprintf(pm, sizeof pm, "postmaster@%s",
		         (const char *)sqlite3_column_text(q, 0));
		sqlite3_reset(q);
		s = rcpt_exact(st, pm, rcpt);
	}
	if (s != STORE_NOTFOUND)
		return s;
	if (!(q = store_stmt(st, ST_USER_FIRST, &s)))
		return s;
	if ((s = store_row(st, q, "looking up postmaster")) == STORE_OK) {
		*rcpt = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	return s;
}

enum store_status store_rcpt_lookup(struct store *st, const char *address,
                                    uint64_t *mailbox)
{
	char addr[STORE_ADDRESS_MAX];
	size_t at;
	if (store_address_normalize(address, addr, sizeof addr, &at) != 0)
		return store_fail(st, STORE_INVALID, "malformed address");
	enum store_status s = STORE_NOTFOUND;
	int64_t domain_id;
	uint64_t r = 0;
	bool pm = at == 0 || (at == sizeof "postmaster" &&
	                      memcmp(addr, "postmaster@", at) == 0);
	if (at > 0) {
		if ((s = dir_domain_id(st, addr + at, &domain_id)) ==
		    STORE_NOTFOUND)
			return store_fail(st, STORE_NOTLOCAL, "%s: not a local "
			                  "domain", addr + at);
		if (s == STORE_OK)
			s = rcpt_resolve(st, addr, at, &r);
	}
	/* RFC 5321 4.5.1: postmaster is always accepted. */
	if (s == STORE_NOTFOUND && pm)
		s = rcpt_postmaster(st, &r);
	if (s == STORE_NOTFOUND)
		return store_fail(st, STORE_NOTFOUND, "%s: no such user", addr);
	if (s != STORE_OK)
		return s;
	/* Full already (one more byte would not fit): refuse at RCPT. */
	sqlite3_stmt *q = store_stmt(st, r & RCPT_ALIAS ? ST_ALIAS_FULL :
	                             ST_MBOX_FULL, &s);
	if (!q)
		return s;
	sqlite3_bind_int64(q, 1, (int64_t)(r & ~RCPT_ALIAS));
	sqlite3_bind_int64(q, 2, 1);
	if ((s = store_row(st, q, "checking a quota")) != STORE_OK)
		return s;
	int64_t full = sqlite3_column_int64(q, 0);
	store_done(q);
	*mailbox = r;
	if (full > 0)
		return store_fail(st, STORE_OVERQUOTA, "%s: mailbox full", addr);
	return STORE_OK;
}

enum store_status store_quota_set(struct store *st, const char *who,
                                  uint64_t bytes)
{
	char name[STORE_ADDRESS_MAX];
	size_t at = 0;
	bool user = strchr(who, '@') != NULL;
	if (user ? dir_address(st, who, name, &at) != STORE_OK
	         : store_domain_normalize(who, name, sizeof name) != 0)
		return store_fail(st, STORE_INVALID, "malformed %s",
		                  user ? "address" : "domain");
	if (bytes > INT64_MAX && (!user || bytes != STORE_QUOTA_DEFAULT))
		return store_fail(st, STORE_INVALID, "quota too large");
	enum store_status s = store_tx_begin(st, true);
	if (s != STORE_OK)
		return s;
	sqlite3_stmt *q = store_stmt(st, user ? ST_QUOTA_USER : ST_QUOTA_DOMAIN,
	                             &s);
	if (!q)
		return s;
	store_bind_text(q, 1, name);
	if (bytes == STORE_QUOTA_DEFAULT)
		sqlite3_bind_null(q, 2);
	else
		sqlite3_bind_int64(q, 2, (int64_t)bytes);
	if ((s = store_run(st, q, "setting a quota")) != STORE_OK)
		return s;
	if (sqlite3_changes(st->db) == 0) {
		store_tx_rollback(st);
		return store_fail(st, STORE_NOTFOUND, "%s %s: not found",
		                  user ? "user" : "domain", name);
	}
	return store_tx_commit(st);
}

enum store_status store_quota_get(struct store *st, const char *who,
                                  struct store_quota *out)
{
	char name[STORE_ADDRESS_MAX];
	size_t at = 0;
	bool user = strchr(who, '@') != NULL;
	if (user ? dir_address(st, who, name, &at) != STORE_OK
	         : store_domain_normalize(who, name, sizeof name) != 0)
		return store_fail(st, STORE_INVALID, "malformed %s",
		                  user ? "address" : "domain");
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, user ? ST_QUOTA_GET_USER :
	                             ST_QUOTA_GET_DOMAIN, &s);
	if (!q)
		return s;
	store_bind_text(q, 1, name);
	if ((s = store_row(st, q, "reading a quota")) != STORE_OK)
		return s == STORE_NOTFOUND ? store_fail(st, s, "%s %s: not "
		                                        "found", user ? "user" :
		                                        "domain", name) : s;
	out->limit = (uint64_t)sqlite3_column_int64(q, 0);
	out->own = sqlite3_column_int(q, 1) != 0;
	out->used = (uint64_t)sqlite3_column_int64(q, 2);
	out->messages = (uint64_t)sqlite3_column_int64(q, 3);
	store_done(q);
	return STORE_OK;
}
