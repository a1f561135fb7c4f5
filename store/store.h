/* The mailbox store: a backend-neutral API (no SQLite types here).
 *
 * A struct store is one connection to the store and is used by one thread
 * at a time; the daemons give every worker thread its own (workq.h). Every
 * call may block on disk: never call one on the event-loop thread.
 *
 * Durability: a call documented as durable returns STORE_OK only once its
 * change is committed and synced to stable storage. */
#ifndef POSTLITE_STORE_H
#define POSTLITE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_status {
	STORE_OK = 0,
	STORE_NOTFOUND,  /* no such domain, user, message */
	STORE_NOTLOCAL,  /* address in a domain this server does not serve */
	STORE_EXISTS,    /* already there */
	STORE_INVALID,   /* malformed argument (bad address, empty password) */
	STORE_DENIED,    /* authentication failed (unknown user or bad password) */
	STORE_INUSE,     /* mailbox locked by another POP3 session */
	STORE_TEMPFAIL,  /* busy, out of memory: try again later */
	STORE_PERMFAIL,  /* damaged store, schema too new, internal error */
	STORE_NOSPACE,   /* disk full or I/O error: nothing was changed; the
	                  * call works again once space returns */
	STORE_OVERQUOTA, /* a recipient's mailbox is over its quota */
};

/* True for the statuses after which the same call may succeed later
 * (TEMPFAIL, NOSPACE, OVERQUOTA). */
bool store_status_temporary(enum store_status st);

const char *store_status_name(enum store_status st);

/* Message bodies are kept in pieces of this size: appends and reads that are
 * multiples of it (at offsets that are) do the least work. Any size works. */
#define STORE_CHUNK_SIZE 65536

/* Room for a normalised address or domain with its NUL (RFC 5321 4.5.3.1:
 * a path holds at most 256 octets). */
#define STORE_ADDRESS_MAX 256

/* The one address normalisation of the store (backend-neutral; users,
 * lookups and logins all go through it). in is a bare address, no angle
 * brackets: "Local@Example.ORG." becomes "local@example.org" — ASCII letters
 * lowered in both parts (local parts are compared case-insensitively; bytes
 * >= 0x80 are kept as they are), one trailing dot of the domain dropped. The
 * split is at the last '@'. The local part (1..64 octets) is a dot-atom of
 * RFC 5322 atext or UTF-8; the domain (1..255 octets) is LDH labels (IDNs
 * as A-labels) or an address literal "[...]". Returns 0 and out
 * (outlen >= STORE_ADDRESS_MAX) with *domain_at the offset of the domain in
 * out, or -1 if malformed. A bare "postmaster" (any case) is returned as
 * "postmaster" with *domain_at == 0: the caller decides what it means. */
int store_address_normalize(const char *in, char *out, size_t outlen,
                            size_t *domain_at);

/* Normalises a domain alone the same way (no literals). Returns 0 or -1. */
int store_domain_normalize(const char *in, char *out, size_t outlen);

/* Opens the store under data_dir (file data_dir/postlite.db). The store must
 * have been created by store_init. data_dir ":memory:" opens a private
 * in-memory store with the current schema (tests). Returns STORE_OK and
 * *out, or another status with a reason in err: PERMFAIL for a missing or
 * uninitialised store, or one whose schema is older (run `postlite init`)
 * or newer than this program. Also removes messages left pending for over
 * an hour by a crashed delivery (best effort). */
enum store_status store_open(const char *data_dir, struct store **out,
                             char *err, size_t errlen);

/* Creates the store, or migrates an older schema in place. Idempotent.
 * Creates data_dir (the last component only, mode 0750) if missing and the
 * database files with mode 0660 (it sets umask 007 while it runs: call it
 * before starting threads). Deletes every pending (undelivered) message, so
 * a delivery in progress at that moment fails and its client retries. A
 * store written by a newer postlite is PERMFAIL, never touched. */
enum store_status store_init(const char *data_dir, char *err, size_t errlen);

void store_close(struct store *st);

/* Plus-addressing: each character of delims separates a local part from
 * an extension ("alice+lists@example.org" is delivered to alice@ when no
 * user or alias has the full name). The default is "+"; NULL or "" turns
 * it off. At most 8 characters, none of them '@' or '.' (INVALID). */
enum store_status store_set_delimiters(struct store *st, const char *delims);

/* Text of the last error on this handle (for logs); never NULL. */
const char *store_errmsg(const struct store *st);

/* ---- directory ------------------------------------------------------ */

/* Addresses and domains are compared case-insensitively; the store keeps
 * them in lower case (store_address_normalize). Malformed input is INVALID.
 * List callbacks run while the store reads: they must not call the store. */
enum store_status store_domain_add(struct store *st, const char *domain);
/* NOTFOUND when absent; EXISTS (with the count in store_errmsg) while the
 * domain still has users: remove them first, mail is never dropped
 * implicitly. */
enum store_status store_domain_remove(struct store *st, const char *domain);
/* cb is called for each domain in order. */
enum store_status store_domain_list(struct store *st,
                                    void (*cb)(void *arg, const char *domain),
                                    void *arg);

/* Adds a user (and the user's mailbox); the domain must exist. The password
 * is hashed with yescrypt. NOTLOCAL when the domain is unknown. */
enum store_status store_user_add(struct store *st, const char *address,
                                 const char *password);
enum store_status store_user_passwd(struct store *st, const char *address,
                                    const char *password);
/* Removes the user, the mailbox and every message no other mailbox
 * references. NOTFOUND when there is no such user. */
enum store_status store_user_remove(struct store *st, const char *address);
/* cb is called for each user, by domain then address. */
enum store_status store_user_list(struct store *st,
                                  void (*cb)(void *arg, const char *address),
                                  void *arg);
/* A disabled user cannot log in (store_user_auth says DENIED after the same
 * work as for a wrong password) but still receives mail. NOTFOUND when there
 * is no such user. */
enum store_status store_user_disable(struct store *st, const char *address,
                                     bool disabled);

/* Checks a password. OK and *mailbox; DENIED for an unknown user or a wrong
 * password, with the same cost (a dummy hash is checked for unknown users).
 * Slow by design (tens of ms). */
enum store_status store_user_auth(struct store *st, const char *address,
                                  const char *password, uint64_t *mailbox);

/* Resolves an envelope recipient to a recipient id for store_msg_deliver:
 * the mailbox id of a user (as store_user_auth gives it), or for an alias
 * with several targets an id that deliver expands to their mailboxes.
 * The address is normalised, then tried in this order:
 *   1. a user, 2. an alias,
 *   3. both again without the extension ("alice+x@" -> "alice@",
 *      store_set_delimiters),
 *   4. the domain's catch-all alias ("@example.org"),
 *   5. postmaster (RFC 5321 4.5.1: always accepted, bare or at any local
 *      domain): postmaster@ the first domain added (user or alias), else
 *      the first user ever added (the installer's admin account).
 * OK and *mailbox; OVERQUOTA (with *mailbox set: the address exists) when
 * a target mailbox is already at or over its quota; NOTFOUND for an
 * unknown user in a local domain; NOTLOCAL otherwise; INVALID for a
 * malformed address. Disabled users still receive mail. */
enum store_status store_rcpt_lookup(struct store *st, const char *address,
                                    uint64_t *mailbox);

/* Sets a user's password from an existing crypt(3) hash instead of a
 * password, for imports: /etc/shadow ("$6$...", "$y$...") or Dovecot
 * passwd-files ("{SHA512-CRYPT}$6$...", "{BLF-CRYPT}$2y$..."; the scheme
 * prefix is dropped). create: add the user (as store_user_add). INVALID
 * when libxcrypt cannot verify against the hash. Hashes other than
 * yescrypt at the default cost are replaced by a new yescrypt hash at the
 * user's next successful login (store_user_auth). */
enum store_status store_user_set_hash(struct store *st, const char *address,
                                      const char *hash, bool create);

/* One row of store_user_list_info. Strings live until cb returns. */
struct store_user_info {
	const char *address;
	bool disabled;
	uint64_t quota;    /* bytes in force (own or the domain's); 0: none */
	bool quota_own;    /* set on the user, not the domain default */
	uint64_t used;     /* bytes of mail in the mailbox */
	uint64_t messages; /* messages in the mailbox */
};
enum store_status store_user_list_info(
	struct store *st, void (*cb)(void *arg, const struct store_user_info *u),
	void *arg);

/* ---- aliases ----------------------------------------------------------
 *
 * An alias delivers to one or more local users (one to many). Its name is
 * an address in a local domain, or "@domain": the domain's catch-all, for
 * recipients no user or alias there matches. Targets are local users
 * (removing a user removes it from every alias; an alias left without
 * targets goes too). */

/* INVALID for a malformed name or target; NOTLOCAL when the alias's domain
 * is not local; NOTFOUND when the target is no user; EXISTS when the pair
 * exists or a user has the alias's name. */
enum store_status store_alias_add(struct store *st, const char *alias,
                                  const char *target);
/* target NULL: the whole alias. NOTFOUND when nothing matched. */
enum store_status store_alias_remove(struct store *st, const char *alias,
                                     const char *target);
/* cb for each (alias, target) pair, by domain, alias, target. */
enum store_status store_alias_list(struct store *st,
                                   void (*cb)(void *arg, const char *alias,
                                              const char *target),
                                   void *arg);

/* ---- quotas -----------------------------------------------------------
 *
 * A quota bounds the bytes of mail in a mailbox (the sum of its messages'
 * sizes). Each user has the domain's default unless given one. A delivery
 * that would take any recipient over quota fails as a whole (OVERQUOTA:
 * the client retries later; nothing is bounced); POP3 is unaffected. */

/* Passed as bytes: remove a user's own quota (back to the default). */
#define STORE_QUOTA_DEFAULT UINT64_MAX

/* who: a user address (its own quota), or a domain (the default of its
 * users). bytes 0: unlimited. NOTFOUND for no such user or domain. */
enum store_status store_quota_set(struct store *st, const char *who,
                                  uint64_t bytes);

struct store_quota {
	uint64_t limit;    /* in force; 0: unlimited */
	bool own;          /* user: set on the user; domain: always true */
	uint64_t used;     /* bytes (a domain: of all its users) */
	uint64_t messages;
};
enum store_status store_quota_get(struct store *st, const char *who,
                                  struct store_quota *q);

/* ---- delivery --------------------------------------------------------
 *
 * A message is written as a sequence of pieces: any number of
 * store_msg_append, then store_msg_deliver with the last piece (possibly
 * empty) and its recipients. A small message can skip append: deliver
 * with *msg == 0 creates it from the piece alone. The message is stored once
 * and referenced by every recipient mailbox. Until deliver returns OK nothing
 * is visible in any mailbox; a message begun and never delivered (crash,
 * abort) is removed by store_msg_abort or at the next store_init/open. */

/* Adds the n bytes at p to pending message *msg. With *msg == 0 it first
 * creates the message (also when n == 0) and sets *msg. Not durable (the
 * deliver commit covers it) and a short transaction of its own, so the
 * pieces of one message may go through different handles. NOTFOUND if
 * *msg is not a pending message. */
enum store_status store_msg_append(struct store *st, uint64_t *msg,
                                   const void *p, size_t n);
/* Durable. mailboxes are recipient ids (store_rcpt_lookup) and may
 * repeat or overlap (one entry per distinct mailbox); a mailbox that no
 * longer exists (user removed meanwhile) is skipped. On OK *msg is the
 * message's id (also when it came in as 0). INVALID when nmbox == 0;
 * NOTFOUND when *msg is not pending or no mailbox is left; OVERQUOTA when
 * the message would take any mailbox over its quota; on any failure
 * nothing is delivered and a begun message stays pending (call
 * store_msg_abort). The sender and subject for listings are read from the
 * message's first piece. */
enum store_status store_msg_deliver(struct store *st, uint64_t *msg,
                                    const void *p, size_t n,
                                    const uint64_t *mailboxes, size_t nmbox);
/* Deletes a pending message; OK also when it is already gone. */
enum store_status store_msg_abort(struct store *st, uint64_t msg);

/* For imports: sets the arrival time (seconds since the epoch) that
 * listings show for a delivered message. NOTFOUND if no such message. */
enum store_status store_msg_set_received(struct store *st, uint64_t msg,
                                         int64_t when);

/* ---- batches (group commit) -------------------------------------------
 *
 * store_batch_begin opens one durable transaction on st; every store call
 * on st until store_batch_commit runs inside it, each still atomic on its
 * own (a call that fails undoes only its own changes). Nothing is durable
 * before store_batch_commit returns OK, which makes all of it durable with
 * one sync. Some failures (disk full, I/O error) lose the whole batch:
 * then every later call and the commit fail with that status. Keep batches
 * short: the write lock is held from begin to commit. */
enum store_status store_batch_begin(struct store *st);
/* OK, or the status that lost the batch (nothing of it was kept). */
enum store_status store_batch_commit(struct store *st);
/* Undoes the whole batch; safe to call when none is open. */
void store_batch_rollback(struct store *st);

/* ---- mailbox access (POP3) ------------------------------------------- */

/* A UIDL with its NUL: "ID.SALT", up to 20 + 1 + 16 characters. */
#define STORE_UIDL_MAX 40

struct store_entry {
	uint64_t id;   /* this mailbox's reference to the message */
	uint64_t size; /* exact octets store_entry_read returns */
	char uidl[STORE_UIDL_MAX]; /* unique in the mailbox, stable, never reused */
};

/* One POP3 session per mailbox across processes. OK and a token for
 * unlock; INUSE when another live session holds it (a lock whose holder
 * died is taken over). */
enum store_status store_mailbox_lock(struct store *st, uint64_t mailbox,
                                     uint64_t *token);
void store_mailbox_unlock(struct store *st, uint64_t mailbox, uint64_t token);

/* The mailbox's messages, oldest first, in a malloc'ed array (free()); an
 * empty mailbox gives *entries == NULL and *n == 0. The uidl is the entry
 * id in decimal, a dot and the entry's random salt in hex: entry ids are
 * not reused after deletion, and the salt keeps a UIDL unique when they
 * are, after an older backup is restored. (Entries of a store older than
 * schema v4 have no salt, and keep their decimal UIDL.) */
enum store_status store_mailbox_list(struct store *st, uint64_t mailbox,
                                     struct store_entry **entries, size_t *n);

/* Reads up to len bytes of a message at offset into buf; *got < len only at
 * the end of the message. NOTFOUND when entry is not in mailbox. Memory use
 * is bounded (a chunk or two) whatever len is. */
enum store_status store_entry_read(struct store *st, uint64_t mailbox,
                                   uint64_t entry, uint64_t offset, void *buf,
                                   size_t len, size_t *got);

/* One piece of a batched read (store_entries_read). */
struct store_piece {
	uint64_t entry;  /* in: the entry */
	uint64_t offset; /* in: first byte wanted */
	void *buf;       /* in: room for len bytes */
	size_t len;      /* in: bytes wanted */
	size_t got;      /* out: bytes read; < len only at the end of the
	                    message */
	enum store_status status; /* out: OK, or NOTFOUND when the entry is
	                             not in the mailbox */
};

/* Reads each of the n pieces as store_entry_read would, all from one
 * snapshot (one read transaction, one cached statement). A piece
 * whose entry is gone gets NOTFOUND and the others are still read.
 * Returns OK, or the error (a damaged message, the database) that stopped
 * the batch: then no piece is to be used. Memory use is bounded (a chunk
 * or two) whatever the pieces' sizes. */
enum store_status store_entries_read(struct store *st, uint64_t mailbox,
                                     struct store_piece *pieces, size_t n);

/* Removes the entries from the mailbox in one durable transaction; a message
 * no mailbox references any more is deleted. Entries not (or no longer) in
 * the mailbox are ignored. */
enum store_status store_mailbox_expunge(struct store *st, uint64_t mailbox,
                                        const uint64_t *entries, size_t n);

/* A POP3 session's UPDATE state, in one durable transaction: removes the
 * entries in del (as store_mailbox_expunge); then, under an expiry policy
 * (expire_days > 0; 0 = none, and retrieved is ignored), records now as
 * the first retrieval of the entries in retrieved that have none, and
 * removes every entry of the mailbox first retrieved expire_days * 86400
 * seconds or more before now, counted in *expired (may be NULL). The
 * space freed stays in the store: store_reclaim gives it back. */
enum store_status store_mailbox_update(struct store *st, uint64_t mailbox,
                                       const uint64_t *del, size_t ndel,
                                       const uint64_t *retrieved, size_t nret,
                                       unsigned expire_days, int64_t now,
                                       size_t *expired);

/* Housekeeping after mail was removed (store_mailbox_update, user
 * removal): once many pages of the store are free, gives up to 32 MiB of
 * them back to the file system, in short non-durable transactions, and
 * checkpoints so the file shrinks now. Best effort: errors are ignored
 * (free pages stay in the store, and new mail reuses them); st may be
 * NULL. Costs milliseconds per 10 MiB given back: call it after the reply
 * that ends a session, not before. */
void store_reclaim(struct store *st);

/* ---- administration --------------------------------------------------- */

/* Writes a consistent copy of the whole store to path, a new file (EXISTS
 * if path exists), mode 0600, synced before OK. Runs while the daemons
 * work: it reads one snapshot and blocks no writer. */
enum store_status store_backup(struct store *st, const char *path);

/* One message of a mailbox listing (store_mailbox_info); the strings live
 * until cb returns and are "" when unknown. */
struct store_msg_info {
	uint64_t entry;
	char uidl[STORE_UIDL_MAX]; /* as store_mailbox_list gives it */
	uint64_t size;
	int64_t received; /* arrival, seconds since the epoch */
	const char *sender;  /* Return-Path, else From, as found */
	const char *subject; /* unfolded, control characters made spaces */
};

/* cb for each message of the user's mailbox, oldest first. NOTFOUND for
 * no such user. */
enum store_status store_mailbox_info(struct store *st, const char *address,
                                     void (*cb)(void *arg,
                                                const struct store_msg_info *m),
                                     void *arg);

struct store_stats {
	uint64_t domains, users, aliases;
	uint64_t messages;      /* stored once each */
	uint64_t entries;       /* references from mailboxes */
	uint64_t pending;       /* being delivered (or left by a crash) */
	uint64_t message_bytes; /* sum of the messages' sizes */
	uint64_t file_bytes;    /* the database file */
	uint64_t free_bytes;    /* unused inside it (reused, or reclaimed) */
	uint64_t wal_bytes;     /* the write-ahead log */
	int schema_version;
};
enum store_status store_stats(struct store *st, struct store_stats *out);

/* Checks the whole store: the database's own integrity and foreign keys,
 * then the store's invariants (every message's pieces complete and adding
 * up to its size, every delivered message referenced, mailbox counters
 * right). cb gets one line per problem (at most 100). OK when nothing is
 * wrong; PERMFAIL when something is; another status when it could not
 * check. Reads one snapshot; writers go on meanwhile. */
enum store_status store_verify(struct store *st,
                               void (*cb)(void *arg, const char *problem),
                               void *arg);

#endif
