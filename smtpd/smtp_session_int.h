/* Inside the SMTP session: shared by smtp_session.c, smtp_dispatch.c, the
 * smtp_cmd_*.c files and smtp_msg.c, not by anyone else.
 *
 * Two structs, after OpenSMTPD: struct smtp_session is the connection
 * (who the client said it is, TLS, AUTH, error count, the job slot),
 * struct smtp_txn is one mail transaction (MAIL .. end of DATA or BDAT
 * LAST). RSET, EHLO, the end of the message and STARTTLS free exactly the
 * txn. */
#ifndef POSTLITE_SMTP_SESSION_INT_H
#define POSTLITE_SMTP_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linereader.h"
#include "sasl.h"
#include "smtp_data.h"
#include "smtp_parse.h"
#include "smtp_session.h"
#include "store.h"
#include "store_queue.h"

/* Message pieces handed to the store: every piece but the last is exactly
 * this much, so that each append starts and ends on a store chunk
 * boundary and never rewrites a chunk (store.h). The piece buffer holds
 * SMTP_PIECE_SLACK bytes more: the DATA decoder writes up to 2 bytes per
 * step, and BDAT's final CRLF; what is over SMTP_PIECE_MAX stays for the
 * next piece. */
#define SMTP_PIECE_MAX STORE_CHUNK_SIZE
#define SMTP_PIECE_SLACK 2
/* Bad commands (5xx replies) before "421 4.7.0" and close. */
#define SMTP_MAX_ERRORS 10
/* NOOP, RSET, VRFY, EXPN, HELP beyond this many count as errors (after
 * Postfix's smtpd_junk_command_limit): a client cannot idle forever. */
#define SMTP_MAX_JUNK 100
#define SMTP_DEFAULT_MAX_RCPT 100
/* Seconds a client has for each SASL response (it types nothing). */
#define SMTP_SASL_TIMEOUT 60
/* Seconds the connection may sit while a job is in flight: the client is
 * waiting for our reply, so only a stuck store makes it fire. */
#define SMTP_BUSY_TIMEOUT 3600
/* A failed AUTH's reply waits auth_fail_delay_ms times this many, at
 * most, as the address's failures grow (STYLE.md 14). */
#define SMTP_AUTH_DELAY_STEPS 5
/* RFC 4954 4: a SASL response line may be longer than a command line;
 * PLAIN with the longest fields sasl.h takes is 1024 octets of base64. */
#define SMTP_SASL_LINE_MAX 2048

/* Command states (bit masks for the command table). Message bytes (DATA
 * text, BDAT chunks) and SASL responses are not command states:
 * smtp_session_input routes them before any command is parsed. */
enum smtp_state {
	SMTP_STATE_INIT = 1u << 0,  /* connected, no HELO/EHLO yet */
	SMTP_STATE_READY = 1u << 1, /* greeted, no transaction */
	SMTP_STATE_MAIL = 1u << 2,  /* MAIL accepted, no RCPT accepted yet */
	SMTP_STATE_RCPT = 1u << 3,  /* at least one RCPT accepted */
	SMTP_STATE_BDAT = 1u << 4,  /* a BDAT chunk accepted, no LAST yet */
};
#define SMTP_STATES_ALL                                                      \
	(SMTP_STATE_INIT | SMTP_STATE_READY | SMTP_STATE_MAIL |              \
	 SMTP_STATE_RCPT | SMTP_STATE_BDAT)

struct smtp_rcpt {
	char *addr;       /* as the client wrote it (for logs, Received:) */
	uint64_t mailbox; /* the store's answer */
};

struct smtp_txn {
	char *sender;              /* reverse-path mailbox; "" for <> */
	enum smtp_body body;
	bool smtputf8;             /* RFC 6531: MAIL had SMTPUTF8 */
	struct smtp_rcpt *rcpt;
	unsigned nrcpt, rcpt_cap;
	/* The message (DATA or BDAT) */
	bool in_data;              /* DATA: reading text up to CRLF.CRLF */
	bool chunking;             /* BDAT: the message came in chunks */
	bool bdat_failed;          /* BDAT: refused; later chunks discarded */
	bool bad_chunk;            /* BDAT: ... because one was malformed */
	struct smtp_data dec;
	bool discard;              /* refused already: decode, keep nothing */
	uint64_t msg;              /* store message begun (0: none) */
	enum store_status failed;  /* a piece failed to store (OK: none did) */
	char why[256];             /* ... and why, as job.why */
	char id[48];               /* queue id: Received: and the 250 reply */
};

enum smtp_job_kind {
	SMTP_JOB_RCPT,    /* store_rcpt_lookup(addr) */
	SMTP_JOB_SENDER,  /* store_rcpt_lookup(MAIL FROM) of an AUTH session */
	SMTP_JOB_APPEND,  /* store_msg_append (creates msg when 0) */
	SMTP_JOB_DELIVER, /* store_msg_deliver(piece, mbox) */
	SMTP_JOB_ABORT,   /* store_msg_abort(msg) */
	SMTP_JOB_AUTH,    /* store_user_auth(user, pass), on the auth runner */
	SMTP_JOB_DELAY,   /* a pause on the timer; no work */
};

/* The one job slot. Everything work() reads or writes lives here, so a
 * worker thread never touches the session, the txn or the I/O. The
 * session fills it only while no job is in flight. */
struct smtp_job {
	struct job job; /* first: the runner's handle */
	enum smtp_job_kind kind;
	enum store_status status;     /* work()'s result */
	char why[256];                /* not OK: store_errmsg, escaped for
	                                 the log ("" when there is none) */
	char addr[SMTP_PATH_MAX + 1]; /* RCPT, SENDER: the lookup key */
	uint64_t mailbox;             /* RCPT, SENDER, AUTH: result */
	uint64_t msg;                 /* APPEND, DELIVER, ABORT */
	/* A message left begun by a transaction that ended without one more
	 * job (RSET or EHLO between BDAT chunks): the next job's work()
	 * aborts it first, or the session's last job does. */
	uint64_t orphan;
	struct buf piece;             /* APPEND, DELIVER: body bytes */
	size_t append_len;            /* APPEND: stores piece[0..append_len) */
	uint64_t *mbox;               /* DELIVER: one per recipient */
	size_t nmbox;
	/* DELIVER: recipients for the outbound queue (issue 9), pointing
	 * into the txn, which lives until the reply; the sender too. */
	const char **remote;
	size_t nremote;
	const char *sender;
	unsigned qflags;              /* STORE_QUEUE_* */
	/* AUTH: secrets, wiped when the job is done */
	char user[SASL_FIELD_MAX];
	char pass[SASL_FIELD_MAX];
};

/* Where a SASL exchange stands (RFC 4954 4): the next line the client
 * sends is a response, not a command. */
enum smtp_sasl {
	SMTP_SASL_NONE,
	SMTP_SASL_PLAIN,      /* sent "334 ", awaiting the PLAIN response */
	SMTP_SASL_LOGIN_USER, /* sent "334 VXNlcm5hbWU6" (Username:) */
	SMTP_SASL_LOGIN_PASS, /* sent "334 UGFzc3dvcmQ6" (Password:) */
};

struct smtp_session {
	struct smtp_session_cfg cfg;
	const struct smtp_env *env; /* never NULL (an empty one instead) */
	struct runner *runner;      /* the store's */
	/* The connection's: valid until smtp_session_closed, which sets it
	 * to NULL (the I/O layer frees it then; a job may outlive it). */
	const struct session_peer *peer;
	char sid[40];  /* copies, for logs and accounting after closed */
	char ip[48];
	const struct session_io *io;
	void *io_ctx;
	struct buf *in;
	struct linereader lr;

	/* Connection state. */
	enum smtp_state state;
	bool esmtp;                       /* EHLO rather than HELO */
	char helo[SMTP_DOMAIN_MAX + 1];   /* HELO/EHLO argument, checked */
	bool tls;                         /* TLS is up (implicit or STARTTLS) */
	bool tls_pending;                 /* STARTTLS said 220: await tls_ready */
	bool plain_auth_ok;               /* AUTH allowed without TLS here */
	bool authed;                      /* AUTH succeeded */
	uint64_t auth_mailbox;            /* ... as this mailbox */
	char auth_user[SASL_FIELD_MAX];   /* ... with this login (for logs) */
	enum smtp_sasl sasl;              /* an AUTH exchange is under way */
	unsigned errors;                  /* 5xx replies so far */
	unsigned junk;                    /* NOOP/RSET/VRFY/... so far */
	unsigned ntxn;                    /* transactions begun (queue ids) */
	enum clients_result over_limit;   /* peer->over_limit */
	bool closing;                     /* QUIT, 421, timeout: write nothing
	                                     more, read nothing more */
	bool closed;                      /* smtp_session_closed was called */
	unsigned depth;                   /* inside input()/done(): defer free */
	bool pipelining_logged;
	bool delay_throttled;             /* after the AUTH delay: 454, not 535 */
	unsigned timeout_set;             /* the last timeout asked for */

	/* A BDAT chunk being read: its octets are message text (or junk to
	 * skip), never commands, whatever the command's fate. */
	uint64_t chunk_left;
	uint64_t chunk_size; /* as the command said (for the reply) */
	bool chunk_keep; /* the chunk belongs to the transaction */
	bool chunk_last;

	struct smtp_txn *txn; /* NULL outside a transaction */

	bool busy; /* the job is in flight */
	struct smtp_job job;

	char line[SMTP_SASL_LINE_MAX + 1]; /* the line being handled */
	bool long_bdat;            /* the line being skipped began "BDAT " */
};

/* ---- smtp_session.c ---------------------------------------------------- */

/* Writes one reply line; fmt has no CRLF. A 5xx reply counts as an error;
 * the tenth makes the session say "421 4.7.0" and close. Nothing is
 * written once the session is closing. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The same, not counted as an error (replies that repeat an earlier one,
 * e.g. to BDAT chunks after the message was refused). */
void smtp_reply_uncounted(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Says goodbye: "421 CODE HOSTNAME TEXT", then closes. */
void smtp_close_421(struct smtp_session *s, const char *code,
                    const char *text);

/* Asks the I/O layer to send what is queued and close; from then on the
 * session writes and reads nothing. */
void smtp_close(struct smtp_session *s);

/* Frees a closed session once no job is in flight and none of our calls
 * is on the stack; aborts a message begun in the store first. No-op for
 * a live session. */
void smtp_maybe_free(struct smtp_session *s);

/* Asks the I/O layer for the idle timeout the current state wants
 * (RFC 5321 4.5.3.2): commands and message text cfg.timeout, a SASL
 * response SMTP_SASL_TIMEOUT, a job in flight SMTP_BUSY_TIMEOUT. */
void smtp_timeout_update(struct smtp_session *s);

/* Forgets everything the client said (RFC 3207 4.2 after STARTTLS). */
void smtp_session_forget(struct smtp_session *s);

/* ---- smtp_dispatch.c --------------------------------------------------- */

/* Handles one command line, already copied into s->line: parse, check
 * the command table's row, then run the handler. */
void smtp_dispatch(struct smtp_session *s, size_t len);

/* ---- smtp_job.c ---------------------------------------------------------- */

/* The job slot's work (worker thread) and done (loop thread) callbacks. */
void smtp_job_work(struct job *j, void *wctx);
void smtp_job_done(struct job *j);

/* Submits the job slot, already filled in, to the runner its kind uses
 * (SMTP_JOB_DELAY: the timer, for ms milliseconds). The session consumes
 * no input until smtp_job_done has run. */
void smtp_job_submit(struct smtp_session *s, enum smtp_job_kind kind);
void smtp_job_delay(struct smtp_session *s, unsigned ms);

/* Frees the transaction (RSET, EHLO, end of message, STARTTLS). A message
 * begun in the store is handed to the job slot as an orphan: the next job
 * (or the session's end) aborts it. */
void smtp_txn_free(struct smtp_session *s);

/* ---- command handlers (smtp_cmd_*.c) ------------------------------------ */

void smtp_cmd_helo(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_rset(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_noop(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_quit(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_expn(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_help(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_starttls(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_http(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_auth(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_cmd *c);
/* "500 Line too long" (RFC 5321 4.5.3.1.4); for a BDAT line, whose chunk
 * size went unread, the connection closes too, so that the chunk's
 * octets never run as commands. */
void smtp_line_too_long(struct smtp_session *s, bool bdat);

/* True when AUTH is offered and accepted on this connection now: a
 * submission listener, and TLS up (or the loopback switch on). */
bool smtp_auth_available(const struct smtp_session *s);

/* The reply text ("451 4.3.0 ...") for a store status other than OK,
 * NOTFOUND, NOTLOCAL and INVALID: the one place that maps store trouble
 * (smtp_cmd_mail.c). */
const char *smtp_store_trouble(enum store_status st);

/* Job completions, on the loop thread, session alive and not closed. */
void smtp_rcpt_done(struct smtp_session *s);
void smtp_mail_done(struct smtp_session *s);
void smtp_auth_done(struct smtp_session *s);
void smtp_msg_done(struct smtp_session *s);

/* A line while an AUTH exchange is under way (SMTP_SASL_*): len bytes in
 * s->line, or too_long when the line was over SMTP_SASL_LINE_MAX. */
void smtp_auth_response(struct smtp_session *s, size_t len, bool too_long);

/* Decodes DATA text from *in. Returns true when it may be called again
 * (state changed or input remains), false to wait for input or a job. */
bool smtp_data_input(struct smtp_session *s);

/* Reads (or skips) BDAT chunk octets from *in; same returns. */
bool smtp_bdat_input(struct smtp_session *s);

/* ---- smtp_msg.c: what DATA and BDAT share -------------------------------- */

/* Starts the message of the transaction: queue id, decoder, and the
 * Return-Path: and Received: headers in the piece buffer. */
void smtp_msg_begin(struct smtp_session *s);

/* True when the message is refused already (bad bytes, size, a line over
 * the hard limit, a store failure). */
bool smtp_msg_refused(const struct smtp_session *s);

/* The message is complete (DATA terminator, BDAT LAST) or, for BDAT,
 * refused mid-way: deliver it, or abort what the store has, then reply
 * once. The transaction ends unless a refused BDAT message awaits
 * further chunks (RFC 3030 4: they are discarded). */
void smtp_msg_finish(struct smtp_session *s);

/* The message cannot be kept (status, why: for the reply and the log):
 * it is still read to its end, then refused. */
void smtp_msg_fail(struct smtp_session *s, enum store_status status,
                   const char *why);

/* Hands the first SMTP_PIECE_MAX bytes of the piece buffer to the store
 * (APPEND); call it once the buffer holds that many. */
void smtp_msg_flush(struct smtp_session *s);

/* The reply for a refused message (also repeated to later BDAT chunks). */
void smtp_msg_refusal(struct smtp_session *s, bool counted);

#endif
