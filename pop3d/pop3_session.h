/* The POP3 session state machine (RFC 1939, RFC 2449, RFC 2595).
 *
 * A session turns complete command lines from its input buffer into replies
 * written through a session_io; it never sees a socket or TLS. Work that may
 * block (password checks, the mailbox lock, message reads, the UPDATE-state
 * expunge) runs as a job on a runner; at most one job is in flight per
 * session, and no input is processed meanwhile.
 *
 * All functions run on the loop thread. Nothing here deletes mail except
 * QUIT in the TRANSACTION state (RFC 1939 6): a dropped connection, a
 * timeout or pop3_session_closed() only unlock the mailbox. */
#ifndef POSTLITE_POP3_SESSION_H
#define POSTLITE_POP3_SESSION_H

#include <stdbool.h>

#include "buf.h"
#include "clock.h"
#include "job.h"
#include "session_io.h"

struct throttle;
struct pop3_logins;

struct pop3_session_cfg {
	const char *hostname; /* for the greeting; must outlive the session */
	bool tls_available;   /* STLS may be offered (a certificate is loaded) */
	bool implicit_tls;    /* the listener is pop3s (RFC 8314) */
	bool plaintext_auth;  /* allow USER/PASS without TLS (loopback
	                         listener + config switch) */
	unsigned timeout;     /* idle seconds (for the record; the I/O layer
	                         enforces it and calls pop3_session_timeout) */
	unsigned expire;      /* RFC 2449 6.7: days the server keeps mail after
	                         its first retrieval; 0 = "EXPIRE NEVER" (the
	                         "EXPIRE 0" policy is not offered) */
	unsigned login_delay; /* RFC 2449 6.8: seconds between two logins to
	                         one mailbox; 0 = no policy, not advertised */
	unsigned fail_delay_ms; /* before each failed-login reply */
	unsigned max_bad;     /* bad commands before login that make us hang
	                         up; 0 = 10 (STYLE 14) */
	unsigned max_bad_trans; /* the same after login (counted afresh);
	                         0 = 20, as Dovecot */
	/* Shared by every session of the daemon, loop thread only; each may
	 * be NULL (no throttling, no login-delay table, no delay). They must
	 * outlive the session and its jobs. */
	struct throttle *throttle;  /* failed logins per IPv4 / IPv6 /64 */
	struct pop3_logins *logins; /* last login per mailbox */
	struct clock *clock;  /* now() and the failed-login delay (clock.h);
	                         NULL: wall time, no delay */
};

struct pop3_session;

/* Creates a session. cfg is copied (its strings are not). The peer's sid
 * and ip are copied. io/io_ctx, the runners and `in` must stay valid until
 * pop3_session_closed(); `in` is the connection's input buffer, consumed
 * from its front. store_runner and auth_runner run jobs with
 * wctx = struct store * (auth_runner: password hashing only) and must
 * outlive the session and any job it submitted. Returns NULL on ENOMEM. */
struct pop3_session *pop3_session_new(const struct pop3_session_cfg *cfg,
                                      const struct session_peer *peer,
                                      const struct session_io *io,
                                      void *io_ctx,
                                      struct runner *store_runner,
                                      struct runner *auth_runner,
                                      struct buf *in);

/* Writes the +OK greeting, or, when the I/O layer found the client
 * address or the server over its connection limit (peer->over_limit),
 * "-ERR [SYS/TEMP] ..." and closes. Call once, right after
 * pop3_session_new. */
void pop3_session_start(struct pop3_session *s);

/* Processes the complete command lines in *in, in order. Returns early,
 * leaving the rest of *in untouched, while a job is in flight, a multi-line
 * response is being produced, output is above SESSION_OUT_HIGH, after STLS
 * or once the session is closing; it calls io->resume when it can go on. */
void pop3_session_input(struct pop3_session *s);

/* The STLS handshake completed (RFC 2595 4): everything learned before it
 * (a pending USER) is forgotten, CAPA now reflects TLS. */
void pop3_session_tls_ready(struct pop3_session *s);

/* Pending output fell below SESSION_OUT_LOW: continues a RETR/TOP/LIST/UIDL
 * response or the input that was held back. */
void pop3_session_drain(struct pop3_session *s);

/* The idle timeout fired: writes a last -ERR line (unless a multi-line
 * response is half sent). The I/O layer closes afterwards; nothing is
 * deleted. */
void pop3_session_timeout(struct pop3_session *s);

/* The connection is gone. No io call is made after this. The session is
 * freed now, or by the done callback of its in-flight job; a locked mailbox
 * is unlocked by a job of its own that outlives the session. Never
 * expunges. */
void pop3_session_closed(struct pop3_session *s);

#endif
