/* Internals shared by pop3_session.c and the pop3_cmd_*.c files. Not for
 * use outside pop3d/. */
#ifndef POSTLITE_POP3_PRIV_H
#define POSTLITE_POP3_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linereader.h"
#include "sasl.h"
#include "pop3_parse.h"
#include "pop3_session.h"
#include "pop3_stuff.h"
#include "store.h"

#define POP3_MAX_BAD 10          /* bad commands before login */
#define POP3_MAX_BAD_TRANS 20    /* bad commands after login */
/* A SASL client response line (RFC 5034 4): base64 of a PLAIN message of
 * three fields, each up to SASL_FIELD_MAX - 1 octets. */
#define POP3_SASL_LINE_MAX 1024
/* RETR/TOP output: bytes handed to the dot-stuffing filter at a time
 * (output goes at most this far above SESSION_OUT_HIGH), and what TOP
 * reads per job. */
#define POP3_READ_PIECE (64 * 1024)
/* Read-ahead (pop3_ahead.c): the bytes and the messages one read job
 * fetches at most. 64 messages of 4 KiB, or a quarter of a 1 MiB one. */
#define POP3_AHEAD_BUDGET (256 * 1024)
#define POP3_AHEAD_MAX 64
#define POP3_REPLY_MAX 512       /* RFC 2449 4: first line incl. CRLF */

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,
};

/* The transaction state (RFC 1939 5): the maildrop snapshot taken at login
 * and the deletion marks. Allocated at PASS, filled when the lock is
 * taken. When the session ends without QUIT, or after a QUIT that removed
 * mail, `release` is submitted (unlock, space reclaim) and the job's done
 * callback frees the struct, so the job outlives the session and can never
 * fail for want of memory. */
/* A message's flags in its maildrop. */
enum {
	MD_DELETED = 1,   /* by DELE, until RSET */
	MD_RETRIEVED = 2, /* sent whole by RETR, for the [pop3] expire policy */
};

struct pop3_maildrop {
	struct job release;
	uint64_t mailbox, token;
	bool locked;
	bool reclaim; /* QUIT removed mail: store_reclaim at release */
	struct store_entry *e; /* oldest first; message number = index + 1 */
	size_t n;
	unsigned char *flags;   /* n: MD_DELETED, MD_RETRIEVED */
	size_t ndel;
	uint64_t octets, del_octets;
};

/* The one job a session may have in flight. work() touches only these
 * fields (plus the read buffer it is handed); complete() runs on the loop
 * thread from the done callback, also after pop3_session_closed (writes
 * are then no-ops and nothing new is submitted). */
struct pop3_job {
	struct job j;
	void (*complete)(struct pop3_session *s);
	enum store_status st;
	char user[SASL_FIELD_MAX];    /* PASS, AUTH */
	char pass[SASL_FIELD_MAX];    /* PASS, AUTH: wiped by the work function */
	bool deny;                    /* AUTH: fail after the same work (an
	                                 authzid we cannot honour) */
	uint64_t mailbox;             /* PASS out; lock, read, quit in */
	uint64_t token;               /* lock out; quit in */
	struct store_entry *entries;  /* lock out */
	unsigned char *flags;         /* lock out */
	size_t n;                     /* lock out */
	struct pop3_ahead *ahead;     /* read in / out: the pieces */
	uint64_t *ids;                /* quit in: entries to expunge, then */
	size_t nids, nseen;           /* those retrieved (expire policy) */
	unsigned expire;              /* quit in: [pop3] expire, 0 = never */
	int64_t now;                  /* quit in: for the expire policy */
	size_t expired;               /* quit out: removed by the policy */
	bool unlocked;                /* quit out: the lock was released */
};

/* Message bytes read before RETR asks for them (pop3_ahead.c): one read
 * job fills the pieces, for the message being sent and, when the client
 * fetches in order, the ones after it, all from one store snapshot. The
 * pieces belong to the job while it is in flight. Allocated for exactly
 * the bytes planned (at most POP3_AHEAD_BUDGET), never a whole large
 * message; dropped by RSET, QUIT and the end of the session. */
struct pop3_ahead {
	size_t n;                             /* pieces */
	size_t index[POP3_AHEAD_MAX];         /* each piece's message index */
	struct store_piece piece[POP3_AHEAD_MAX];
	char data[];                          /* the pieces' bytes */
};

/* A multi-line response being produced with back-pressure. */
enum pop3_stream_kind {
	POP3_STREAM_NONE,
	POP3_STREAM_LIST,
	POP3_STREAM_UIDL,
	POP3_STREAM_MSG, /* RETR or TOP */
};

struct pop3_stream {
	enum pop3_stream_kind kind;
	size_t next;     /* LIST/UIDL: next index to list */
	size_t index;    /* MSG: the entry */
	uint64_t offset; /* MSG: bytes read so far */
	bool started;    /* MSG: +OK sent */
	bool top;        /* MSG: TOP, not RETR */
	bool in_order;   /* MSG: a RETR of the message after the last RETR's
	                    (or of the first): read ahead for it */
	struct pop3_stuff f;
};

/* Connection state. The transaction state hangs off `md`. */
struct pop3_session {
	struct pop3_session_cfg cfg;
	char sid[64], ip[64];
	const struct session_io *io;
	void *io_ctx;
	struct runner *store_runner, *auth_runner;
	struct buf *in;
	struct linereader lr;
	/* the command or SASL response being handled */
	char line[POP3_SASL_LINE_MAX + 1];

	enum pop3_state state;
	bool tls;         /* TLS is up (implicit or after STLS) */
	bool tls_pending; /* STLS answered, handshake not done yet */
	bool have_user;   /* RFC 1939 7: USER accepted, PASS may follow */
	char user[POP3_LINE_MAX + 1];
	bool sasl;        /* RFC 5034 4: "+ " sent, a PLAIN response is due */
	bool utf8;        /* RFC 6856 2: the client sent UTF8 */
	unsigned bad;     /* bad commands so far */
	enum clients_result over_limit; /* peer->over_limit: refuse at once */

	bool busy;     /* a job is in flight */
	bool closing;  /* we asked to close (or the timeout fired) */
	bool gone;     /* pop3_session_closed was called */
	bool out_full; /* input held back above SESSION_OUT_HIGH */
	unsigned depth; /* nesting of entry points; free waits for 0 */

	struct pop3_maildrop *md;
	struct pop3_stream stream;
	struct pop3_ahead *ahead; /* read-ahead, NULL when there is none */
	size_t retr_next; /* the index after the last RETR: a RETR of it is
	                     a fetch in order, worth reading ahead for */
	struct pop3_job job;
};

typedef void (*pop3_handler)(struct pop3_session *s, const struct pop3_cmd *c);

/* ---- pop3_session.c: plumbing ---------------------------------------- */

/* Writes one reply line; CRLF is added. Truncated to POP3_REPLY_MAX.
 * No-op once the session is closing or gone. */
void pop3_reply(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes raw bytes (multi-line bodies); same no-op rule. */
void pop3_write(struct pop3_session *s, const void *p, size_t n);
/* pop3_emit_fn over pop3_write; arg = the session. */
void pop3_emit(void *arg, const void *p, size_t n);
/* A syntax or sequence error: replies, counts, hangs up at POP3_MAX_BAD. */
void pop3_bad(struct pop3_session *s, const char *reply);
/* Asks the I/O layer to flush and close; no more input is processed. */
void pop3_close(struct pop3_session *s);
/* Submits s->job with work/complete. Returns false (nothing submitted)
 * when the session is closing or gone. */
bool pop3_submit(struct pop3_session *s, struct runner *r,
                 void (*work)(struct job *j, void *wctx),
                 void (*complete)(struct pop3_session *s));
/* Runs complete after ms on cfg.clock (at once without one), with the
 * session busy meanwhile, as if a job were in flight. */
void pop3_delay(struct pop3_session *s, unsigned ms,
                void (*complete)(struct pop3_session *s));
/* Switches the line limit between commands and SASL responses. */
void pop3_sasl_mode(struct pop3_session *s, bool on);
/* True when output is above the high-water mark, and once the session is
 * closing or gone (nothing more is sent; producers stop). */
bool pop3_out_full(struct pop3_session *s);

/* ---- pop3_maildrop.c: the transaction state's lifecycle ---------------- */

/* Ends the transaction state: a locked maildrop (or one marked reclaim)
 * is unlocked (and its freed space given back) by a job of its own, then
 * freed; any other is freed now. */
void pop3_maildrop_release(struct pop3_session *s);
void pop3_maildrop_free(struct pop3_maildrop *md);

/* ---- pop3_login.c: from credentials to the TRANSACTION state --------- */

/* Checks user/pass (each NUL-terminated, at most SASL_FIELD_MAX - 1
 * octets; the caller wipes its copies), then locks and lists the mailbox;
 * replies +OK or -ERR when done. deny: fail after the same work and the
 * same delay. Refuses at once ([SYS/TEMP]) while the peer's address is
 * throttled. */
void pop3_login_start(struct pop3_session *s, const char *user,
                      const char *pass, bool deny);

/* ---- pop3_cmd_auth.c: USER, PASS, AUTH (AUTHORIZATION state) ---------- */
void pop3_cmd_user(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_cmd *c);
/* A line while s->sasl: the client's response to "+ " (RFC 5034 4). */
void pop3_sasl_response(struct pop3_session *s, enum lr_result r, size_t n);

/* ---- pop3_cmd_capa.c: CAPA, STLS, UTF8, QUIT before login ------------- */
void pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_utf8(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_quit_auth(struct pop3_session *s, const struct pop3_cmd *c);

/* ---- pop3_cmd_trans.c: TRANSACTION and UPDATE states ------------------ */
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_noop(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_quit_trans(struct pop3_session *s, const struct pop3_cmd *c);
/* Message number -> index, or -1 after replying -ERR (no such message,
 * already deleted). */
long pop3_msg_lookup(struct pop3_session *s, uint32_t msgno);
/* Writes LIST/UIDL lines until done or output is full. */
void pop3_listing_step(struct pop3_session *s);

/* ---- pop3_ahead.c: the read-ahead pieces ------------------------------ */

/* Replaces s->ahead with a plan that starts at message index, offset:
 * one piece of up to POP3_AHEAD_BUDGET bytes (top: POP3_READ_PIECE)
 * and, if more, pieces of the messages after it that are not deleted,
 * until the budget or POP3_AHEAD_MAX is reached. Returns false (and no
 * read-ahead) when out of memory. The caller submits the read. */
bool pop3_ahead_plan(struct pop3_session *s, size_t index, uint64_t offset,
                     bool top, bool more);
/* The piece read (status OK) that holds message index's bytes at offset,
 * or that ends there because the message ends; NULL if none does. */
const struct store_piece *pop3_ahead_find(const struct pop3_session *s,
                                          size_t index, uint64_t offset);
/* True when piece p reaches the end of message index. */
bool pop3_ahead_ends(const struct pop3_session *s, size_t index,
                     const struct store_piece *p);
/* RETR of message index is done: drops the read-ahead unless it holds
 * pieces of later messages. */
void pop3_ahead_passed(struct pop3_session *s, size_t index);
/* Frees the read-ahead (RSET, QUIT, end of session). Not while a read job
 * is in flight. */
void pop3_ahead_drop(struct pop3_session *s);

/* ---- pop3_cmd_retr.c: RETR and TOP ------------------------------------ */
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_cmd_top(struct pop3_session *s, const struct pop3_cmd *c);
/* Sends the message being streamed from the read-ahead until done or
 * output is full; submits a read when the bytes it needs are not there. */
void pop3_retr_step(struct pop3_session *s);

#endif
