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
	STORE_TEMPFAIL,  /* busy, disk full, I/O error: try again later */
	STORE_PERMFAIL,  /* damaged store, schema too new, internal error */
};

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

/* Resolves an envelope recipient. OK and *mailbox for a local user;
 * NOTFOUND for an unknown user in a local domain; NOTLOCAL otherwise;
 * INVALID for a malformed address. A bare "postmaster" (RFC 5321 4.5.1)
 * means postmaster@ the first domain added. */
enum store_status store_rcpt_lookup(struct store *st, const char *address,
                                    uint64_t *mailbox);

/* ---- delivery --------------------------------------------------------
 *
 * A message is written as a sequence of pieces: store_msg_begin, any number
 * of store_msg_append, then store_msg_deliver with the last piece (possibly
 * empty) and its recipients. A small message can skip begin/append: deliver
 * with *msg == 0 creates it from the piece alone. The message is stored once
 * and referenced by every recipient mailbox. Until deliver returns OK nothing
 * is visible in any mailbox; a message begun and never delivered (crash,
 * abort) is removed by store_msg_abort or at the next store_init/open. */

/* begin and append are not durable on their own (the deliver commit covers
 * them) and each is a short transaction of its own, so the pieces of one
 * message may go through different handles. append: NOTFOUND if msg is not
 * a pending message. */
enum store_status store_msg_begin(struct store *st, uint64_t *msg);
enum store_status store_msg_append(struct store *st, uint64_t msg,
                                   const void *p, size_t n);
/* Durable. mailboxes may repeat (stored once per distinct mailbox); a
 * mailbox that no longer exists (user removed meanwhile) is skipped.
 * On OK *msg is the message's id (also when it came in as 0). INVALID when
 * nmbox == 0; NOTFOUND when *msg is not pending or no mailbox is left; on
 * any failure nothing is delivered and a begun message stays pending (call
 * store_msg_abort). */
enum store_status store_msg_deliver(struct store *st, uint64_t *msg,
                                    const void *p, size_t n,
                                    const uint64_t *mailboxes, size_t nmbox);
/* Deletes a pending message; OK also when it is already gone. */
enum store_status store_msg_abort(struct store *st, uint64_t msg);

/* ---- mailbox access (POP3) ------------------------------------------- */

struct store_entry {
	uint64_t id;   /* this mailbox's reference to the message */
	uint64_t size; /* exact octets store_entry_read returns */
	char uidl[24]; /* unique in the mailbox, stable, never reused */
};

/* One POP3 session per mailbox across processes. OK and a token for
 * unlock; INUSE when another live session holds it (a lock whose holder
 * died is taken over). */
enum store_status store_mailbox_lock(struct store *st, uint64_t mailbox,
                                     uint64_t *token);
void store_mailbox_unlock(struct store *st, uint64_t mailbox, uint64_t token);

/* The mailbox's messages, oldest first, in a malloc'ed array (free()); an
 * empty mailbox gives *entries == NULL and *n == 0. The uidl is the entry id
 * in decimal: entry ids are never reused, even after deletion. */
enum store_status store_mailbox_list(struct store *st, uint64_t mailbox,
                                     struct store_entry **entries, size_t *n);

/* Reads up to len bytes of a message at offset into buf; *got < len only at
 * the end of the message. NOTFOUND when entry is not in mailbox. Memory use
 * is bounded (a chunk or two) whatever len is. */
enum store_status store_entry_read(struct store *st, uint64_t mailbox,
                                   uint64_t entry, uint64_t offset, void *buf,
                                   size_t len, size_t *got);

/* Removes the entries from the mailbox in one durable transaction; a message
 * no mailbox references any more is deleted. Entries not (or no longer) in
 * the mailbox are ignored. */
enum store_status store_mailbox_expunge(struct store *st, uint64_t mailbox,
                                        const uint64_t *entries, size_t n);

/* ---- administration --------------------------------------------------- */

/* Writes a consistent copy of the whole store to path, a new file (EXISTS
 * if path exists), mode 0600, synced before OK. Runs while the daemons
 * work: it reads one snapshot and blocks no writer. */
enum store_status store_backup(struct store *st, const char *path);

#endif
