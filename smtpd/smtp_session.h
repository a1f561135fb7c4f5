/* The SMTP session state machine (RFC 5321, PIPELINING RFC 2920, SIZE
 * RFC 1870, 8BITMIME RFC 6152, ENHANCEDSTATUSCODES RFC 2034/3463,
 * STARTTLS RFC 3207, AUTH RFC 4954, SMTPUTF8 RFC 6531, CHUNKING RFC 3030).
 *
 * A session sees bytes in (`in`), writes replies through a session_io, and
 * runs every store call as a job (common/job.h): lookups and message
 * pieces on the store runner, password checks on a separate auth runner
 * (slow hashing never delays a commit), pauses on a timer. At most one job
 * is in flight per session; while it is, the session consumes no input,
 * so memory per session stays bounded (about 64 KiB of message piece plus
 * the I/O layer's input buffer) whatever the message size.
 *
 * All calls below run on the loop thread, and none of them re-enters
 * another. */
#ifndef POSTLITE_SMTP_SESSION_H
#define POSTLITE_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "job.h"
#include "session_io.h"

enum smtp_listener {
	SMTP_LISTENER_MX,          /* port 25: local recipients only, no relay,
	                              no AUTH */
	SMTP_LISTENER_SUBMISSION,  /* port 587: STARTTLS, then AUTH */
	SMTP_LISTENER_SUBMISSIONS, /* port 465: implicit TLS, then AUTH */
};

struct smtp_env;

struct smtp_session_cfg {
	const char *hostname;      /* greeting, EHLO, Received: */
	uint64_t max_message_size; /* octets of body; 0 = no limit */
	unsigned max_recipients;   /* accepted RCPTs per transaction; 0 = 100 */
	enum smtp_listener kind;
	bool tls_available;        /* a certificate is loaded: offer STARTTLS */
	/* DESIGN.md: AUTH before TLS only with this switch on and only on a
	 * loopback listener ([server] plaintext_auth_loopback); the session
	 * checks peer->local_loopback itself. */
	bool plaintext_auth_loopback;
	unsigned timeout;          /* seconds awaiting a command or message
	                              bytes (RFC 5321 4.5.3.2.7: >= 300) */
	unsigned auth_fail_delay_ms; /* before a failed-AUTH reply, grown with
	                                the address's recent failures */
	const struct smtp_env *env; /* shared services; NULL: none of them */
};

struct throttle;

/* What the sessions of a daemon share, beyond the store runner; all of it
 * outlives every session. A NULL member switches its feature off. */
struct smtp_env {
	struct runner *auth;    /* store_user_auth; NULL: the store runner */
	struct runner *lookup;  /* RCPT and sender lookups, which must not
	                           queue behind commits; NULL: the store
	                           runner */
	struct clock *clock;            /* now() and the AUTH pause (clock.h);
	                                   NULL: wall time, no pause */
	struct throttle *throttle;      /* AUTH failures per address; may be
	                                   NULL */
	/* The outbound queue (issue 9); NULL: none, and mail for remote
	 * recipients of authenticated sessions is refused with a 451.
	 * Called after a message for remote recipients was queued. */
	void (*queue_kick)(void *arg);
	void *queue_arg;
};

struct smtp_session;

/* Creates a session. cfg's strings and env, io and runner (the store
 * runner: lookups, message pieces, commits) must outlive it; peer lives
 * until smtp_session_closed; `in` is the I/O layer's input buffer, whose
 * front the session consumes. Returns NULL when out of memory. Writes
 * nothing yet. */
struct smtp_session *smtp_session_new(const struct smtp_session_cfg *cfg,
                                      const struct session_peer *peer,
                                      const struct session_io *io,
                                      void *io_ctx, struct runner *runner,
                                      struct buf *in);

/* Writes the 220 greeting (RFC 5321 4.3.1), or, when the I/O layer found
 * the client address or the server over its connection limit
 * (peer->over_limit), "421 4.7.0" and closes. */
void smtp_session_start(struct smtp_session *s);

/* Processes every complete command (and DATA bytes) in *in, consuming what
 * it used; an incomplete line stays in *in for the next call. Returns early
 * (consuming nothing more) while a job is in flight: the job's completion
 * writes its reply and calls io->resume, after which the I/O layer calls
 * input again. Also returns early after STARTTLS (until tls_ready) and once
 * the session has asked to close. */
void smtp_session_input(struct smtp_session *s);

/* The STARTTLS handshake completed: everything learnt before it is
 * forgotten (RFC 3207 4.2), including EHLO; the client starts again. */
void smtp_session_tls_ready(struct smtp_session *s);

/* The idle timeout fired: writes "421 4.4.2" (RFC 5321 4.5.3.2); the I/O
 * layer closes the connection afterwards. While a job is in flight the
 * session asks for a long timeout (the client is waiting for us). */
void smtp_session_timeout(struct smtp_session *s);

/* The connection is gone. The session is freed now, or, when a job is in
 * flight, by that job's completion (which then touches no I/O). A message
 * begun in the store and not delivered is aborted first. Do not use s
 * afterwards. */
void smtp_session_closed(struct smtp_session *s);

#endif
