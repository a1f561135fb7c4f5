/* The outbound queue (issue 9): messages for remote recipients, kept
 * durably until each recipient is delivered, bounced or deleted by the
 * admin. Backend-neutral like store.h; same threading and blocking rules
 * (one handle per thread, never on the event loop).
 *
 * A queued message is its own copy of the body (queue chunks), so the
 * queue never depends on a mailbox keeping a message alive, and one row
 * per recipient carries the retry state. A recipient row disappears only
 * through store_queue_update (delivered or given up) or
 * store_queue_delete: a crash at any moment leaves it queued, so delivery
 * is at-least-once. */
#ifndef POSTLITE_STORE_QUEUE_H
#define POSTLITE_STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Message flags (what the sender declared or the body holds). */
#define STORE_QUEUE_8BIT 1u     /* RFC 6152 BODY=8BITMIME */
#define STORE_QUEUE_SMTPUTF8 2u /* RFC 6531 */

/* Body pieces come back at most this large. */
#define STORE_QUEUE_CHUNK_MAX STORE_CHUNK_SIZE

/* Durable. Queues a message for nrcpt remote recipients (bare normalised
 * addresses). Its body is the pending store message msg (store_msg_append;
 * 0 for none) followed by p[0..n). msg itself is left as it was:
 * the caller still delivers it locally (store_msg_deliver) or aborts it.
 * sender "" is the null reverse-path. OK and *qid; INVALID for no
 * recipients, a malformed address or an empty message; NOTFOUND when msg
 * is not pending. */
enum store_status store_queue_add(struct store *st, uint64_t msg,
                                  const void *p, size_t n, const char *sender,
                                  const char *const *rcpts, size_t nrcpt,
                                  unsigned flags, uint64_t *qid);

struct store_queue_item {
	uint64_t qid;        /* the message */
	uint64_t rid;        /* this recipient's row */
	char rcpt[STORE_ADDRESS_MAX];
	char domain[STORE_ADDRESS_MAX];
	char sender[STORE_ADDRESS_MAX];
	uint64_t size;       /* body octets as stored */
	unsigned flags;
	unsigned attempts;   /* delivery attempts so far */
	int64_t created;     /* when the message was queued */
	int64_t next_try;    /* not before this time */
	char last_error[256];
};

/* Recipients due at `now` (next_try <= now; INT64_MAX lists all), by
 * message then domain, at most max, in a malloc'ed array (free()); none
 * gives NULL and 0. */
enum store_status store_queue_due(struct store *st, int64_t now, size_t max,
                                  struct store_queue_item **items, size_t *n);

/* Piece number seq (from 0) of message qid's body into buf (cap at least
 * STORE_QUEUE_CHUNK_MAX). NOTFOUND past the last piece or for an unknown
 * message. */
enum store_status store_queue_read(struct store *st, uint64_t qid,
                                   uint64_t seq, void *buf, size_t cap,
                                   size_t *got);

enum store_queue_outcome {
	STORE_QUEUE_DONE,  /* delivered or given up (bounced): row removed */
	STORE_QUEUE_RETRY, /* stays; attempts + 1, next_try, last_error */
};

struct store_queue_result {
	uint64_t rid;
	enum store_queue_outcome outcome;
	int64_t next_try;  /* RETRY */
	const char *error; /* RETRY: the reason, for `queue list` */
};

/* Durable, one transaction. A message whose last recipient is gone is
 * deleted with its body. Rows already gone are ignored. */
enum store_status store_queue_update(struct store *st,
                                     const struct store_queue_result *r,
                                     size_t n);

/* Makes message qid (0: every message) due at `when`. NOTFOUND for an
 * unknown qid. Durable. */
enum store_status store_queue_retry(struct store *st, uint64_t qid,
                                    int64_t when);

/* Removes message qid, every recipient and the body; NOTFOUND when
 * there is no such message. Durable. */
enum store_status store_queue_delete(struct store *st, uint64_t qid);

#endif
