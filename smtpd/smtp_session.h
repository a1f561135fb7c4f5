/* The SMTP session state machine (RFC 5321, PIPELINING RFC 2920, SIZE
 * RFC 1870, 8BITMIME RFC 6152, ENHANCEDSTATUSCODES RFC 2034/3463,
 * STARTTLS RFC 3207).
 *
 * A session sees bytes in (`in`), writes replies through a session_io, and
 * runs every store call as a job (common/job.h) on a worker thread whose
 * wctx is a `struct store *`. At most one job is in flight per session;
 * while it is, the session consumes no input, so memory per session stays
 * bounded (about 64 KiB of message piece plus the I/O layer's input buffer)
 * whatever the message size.
 *
 * All calls below run on the loop thread, and none of them re-enters
 * another. */
#ifndef POSTLITE_SMTP_SESSION_H
#define POSTLITE_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "session_io.h"

enum smtp_listener {
	SMTP_LISTENER_MX,          /* port 25: local recipients only, no relay */
	SMTP_LISTENER_SUBMISSION,  /* port 587: STARTTLS, then AUTH */
	SMTP_LISTENER_SUBMISSIONS, /* port 465: implicit TLS, then AUTH */
};

struct smtp_session_cfg {
	const char *hostname;      /* greeting, EHLO, Received: */
	uint64_t max_message_size; /* octets of body; 0 = no limit */
	unsigned max_recipients;   /* accepted RCPTs per transaction; 0 = 100 */
	enum smtp_listener kind;
	bool tls_available;        /* a certificate is loaded: offer STARTTLS */
	unsigned timeout;          /* idle seconds (the I/O layer enforces it) */
};

struct smtp_session;

/* Creates a session. cfg (and its strings), peer, io and runner must
 * outlive it; `in` is the I/O layer's input buffer, whose front the session
 * consumes. Returns NULL when out of memory. Writes nothing yet. */
struct smtp_session *smtp_session_new(const struct smtp_session_cfg *cfg,
                                      const struct session_peer *peer,
                                      const struct session_io *io,
                                      void *io_ctx, struct runner *runner,
                                      struct buf *in);

/* Writes the 220 greeting (RFC 5321 4.3.1). */
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
 * layer closes the connection afterwards. */
void smtp_session_timeout(struct smtp_session *s);

/* The connection is gone. The session is freed now, or, when a job is in
 * flight, by that job's completion (which then touches no I/O). A message
 * begun in the store and not delivered is aborted first. Do not use s
 * afterwards. */
void smtp_session_closed(struct smtp_session *s);

#endif
