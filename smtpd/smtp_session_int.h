/* Inside the SMTP session: shared by smtp_session.c and the smtp_cmd_*.c
 * files, not by anyone else.
 *
 * Two structs, after OpenSMTPD: struct smtp_session is the connection
 * (who the client said it is, TLS, error count, the job slot), struct
 * smtp_txn is one mail transaction (MAIL .. end of DATA). RSET, EHLO, the
 * end of DATA and STARTTLS free exactly the txn. */
#ifndef POSTLITE_SMTP_SESSION_INT_H
#define POSTLITE_SMTP_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linereader.h"
#include "smtp_data.h"
#include "smtp_parse.h"
#include "smtp_session.h"
#include "store.h"

/* Message pieces handed to the store: at most this much body per job. */
#define SMTP_PIECE_MAX (64 * 1024)
/* Bad commands before "421 4.7.0" and close. */
#define SMTP_MAX_ERRORS 10
#define SMTP_DEFAULT_MAX_RCPT 100

/* Command states (bit masks for the command table). DATA body reading is
 * not a command state: smtp_session_input hands it to smtp_data_input. */
enum smtp_state {
	SMTP_STATE_INIT = 1u << 0,  /* connected, no HELO/EHLO yet */
	SMTP_STATE_READY = 1u << 1, /* greeted, no transaction */
	SMTP_STATE_MAIL = 1u << 2,  /* MAIL accepted, no RCPT accepted yet */
	SMTP_STATE_RCPT = 1u << 3,  /* at least one RCPT accepted */
};
#define SMTP_STATES_ALL (SMTP_STATE_INIT | SMTP_STATE_READY | SMTP_STATE_MAIL | SMTP_STATE_RCPT)

struct smtp_rcpt {
	char *addr;       /* as the client wrote it (for logs, Received:) */
	uint64_t mailbox; /* the store's answer */
};

struct smtp_txn {
	char *sender;              /* reverse-path mailbox; "" for <> */
	enum smtp_body body;
	struct smtp_rcpt *rcpt;
	unsigned nrcpt, rcpt_cap;
	/* DATA */
	bool in_data;
	struct smtp_data dec;
	bool discard;              /* refused already: decode, keep nothing */
	uint64_t msg;              /* store message begun (0: none) */
	enum store_status failed;  /* a piece failed to store (OK: none did) */
	char id[48];               /* queue id: Received: and the 250 reply */
};

enum smtp_job_kind {
	SMTP_JOB_RCPT,    /* store_rcpt_lookup(addr) */
	SMTP_JOB_APPEND,  /* store_msg_begin when msg == 0, then append */
	SMTP_JOB_DELIVER, /* store_msg_deliver(piece, mbox) */
	SMTP_JOB_ABORT,   /* store_msg_abort(msg) */
};

/* The one job slot. Everything work() reads or writes lives here, so a
 * worker thread never touches the session, the txn or the I/O. The
 * session fills it only while no job is in flight. */
struct smtp_job {
	struct job job; /* first: the runner's handle */
	enum smtp_job_kind kind;
	enum store_status status;     /* work()'s result */
	char addr[SMTP_PATH_MAX + 1]; /* RCPT: NUL-terminated lookup key */
	uint64_t mailbox;             /* RCPT: result */
	uint64_t msg;                 /* APPEND, DELIVER, ABORT */
	struct buf piece;             /* APPEND, DELIVER: body bytes */
	uint64_t *mbox;               /* DELIVER: one per recipient */
	size_t nmbox;
};

struct smtp_session {
	struct smtp_session_cfg cfg;
	/* The connection's: valid until smtp_session_closed, which sets it
	 * to NULL (the I/O layer frees it then; a job may outlive it). */
	const struct session_peer *peer;
	char sid[40]; /* a copy, for logs after closed */
	const struct session_io *io;
	void *io_ctx;
	struct runner *runner;
	struct buf *in;
	struct linereader lr;

	/* Connection state. */
	enum smtp_state state;
	bool esmtp;                       /* EHLO rather than HELO */
	char helo[SMTP_DOMAIN_MAX + 1];   /* HELO/EHLO argument, checked */
	bool tls;                         /* TLS is up (implicit or STARTTLS) */
	bool tls_pending;                 /* STARTTLS said 220: await tls_ready */
	bool authed;                      /* AUTH succeeded (issue 3) */
	unsigned errors;                  /* 5xx replies so far */
	unsigned ntxn;                    /* transactions begun (queue ids) */
	bool closing;                     /* QUIT, 421, timeout: write nothing
	                                     more, read nothing more */
	bool closed;                      /* smtp_session_closed was called */
	unsigned depth;                   /* inside input()/done(): defer free */
	bool pipelining_logged;

	struct smtp_txn *txn; /* NULL outside a transaction */

	bool busy; /* the job is in flight */
	struct smtp_job job;

	char line[SMTP_LINE_MAX + 1]; /* the command being handled */
};

/* ---- smtp_session.c ---------------------------------------------------- */

/* Writes one reply line; fmt has no CRLF. A 5xx reply counts as an error;
 * the tenth makes the session say "421 4.7.0" and close. Nothing is
 * written once the session is closing. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes raw reply text (a multi-line reply, CRLFs included); not counted
 * as an error. */
void smtp_reply_raw(struct smtp_session *s, const char *p, size_t n);

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

/* ---- smtp_job.c ---------------------------------------------------------- */

/* The job slot's work (worker thread) and done (loop thread) callbacks. */
void smtp_job_work(struct job *j, void *wctx);
void smtp_job_done(struct job *j);

/* Submits the job slot, already filled in. The session consumes no input
 * until smtp_job_done has run. */
void smtp_job_submit(struct smtp_session *s, enum smtp_job_kind kind);

/* Frees the transaction (RSET, EHLO, end of DATA, STARTTLS). A message
 * begun in the store must have been aborted or delivered first. */
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
void smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c);
void smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *c);

/* Job completions, on the loop thread, session alive and not closed. */
void smtp_rcpt_done(struct smtp_session *s);
void smtp_data_done(struct smtp_session *s);

/* Decodes DATA bytes from *in. Returns true when it may be called again
 * (state changed or input remains), false to wait for input or a job. */
bool smtp_data_input(struct smtp_session *s);

#endif
