/* The SMTP client: a pure state machine for one delivery session (RFC
 * 5321 3 and 4 from the client's side, with RFC 3207 STARTTLS, RFC 4954
 * AUTH PLAIN/LOGIN, RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152
 * 8BITMIME and RFC 6531 SMTPUTF8). No sockets: bytes in through
 * smtpc_input, bytes out through ops->write; the runner (ob_deliver.c)
 * owns the connection and the message body.
 *
 * Lifecycle: smtpc_init, then the connection's events; ops->done is
 * called exactly once (after QUIT's reply, a fatal reply, or
 * smtpc_abort) and nothing is called after it. The results are then in
 * the recipients' array. */
#ifndef POSTLITE_SMTPC_H
#define POSTLITE_SMTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; we take
 * longer ones (up to the input buffer) and keep this much text. */
#define SMTPC_TEXT_MAX 256

enum smtpc_result {
	SMTPC_PENDING, /* no final answer (yet) */
	SMTPC_OK,      /* the server took responsibility (2xx after DATA) */
	SMTPC_TEMP,    /* 4xx, or the session failed: try again later */
	SMTPC_PERM,    /* 5xx: bounce */
};

struct smtpc_rcpt {
	const char *addr;          /* the caller's, without angle brackets */
	enum smtpc_result result;
	bool accepted;             /* RCPT got 2xx (the result waits for DATA) */
	/* true when the failure was the host's, not this recipient's
	 * (connection, greeting, TLS, 421...): the next MX may do better. */
	bool next_host;
	int code;                  /* the reply code, 0 when none */
	char text[SMTPC_TEXT_MAX]; /* "550 5.1.1 No such user" (sanitised) */
};

enum smtpc_tls {
	SMTPC_TLS_NO,            /* never STARTTLS */
	SMTPC_TLS_OPPORTUNISTIC, /* STARTTLS when offered (RFC 3207, MX) */
	SMTPC_TLS_REQUIRED,      /* no TLS: temporary failure (smarthost) */
};

struct smtpc_cfg {
	const char *helo;      /* our host name for EHLO */
	const char *sender;    /* reverse-path, "" for <> */
	size_t size;           /* octets of the message as sent (SIZE=) */
	bool eightbit;         /* body has bytes >= 0x80: BODY=8BITMIME */
	bool smtputf8;         /* MAIL had SMTPUTF8: sent on when offered;
	                          required when an address is not ASCII */
	enum smtpc_tls tls;
	bool tls_active;       /* implicit TLS: already encrypted */
	const char *user;      /* AUTH when set (smarthost), after TLS */
	const char *pass;
};

struct smtpc_ops {
	void (*write)(void *ctx, const void *p, size_t n);
	/* The server said 220 to STARTTLS: start the handshake, then call
	 * smtpc_tls_ready. Returns 0, or -1 (then the session fails). */
	int (*starttls)(void *ctx);
	/* 354: send the body (smtpc_body_* below), then smtpc_body_end. */
	void (*body)(void *ctx);
	/* Over; the caller closes the connection. */
	void (*done)(void *ctx);
};

/* What the server offered in its last EHLO reply. */
struct smtpc_caps {
	bool esmtp, starttls, pipelining, eightbitmime, smtputf8;
	bool size, auth_plain, auth_login;
	unsigned long long size_max; /* 0: no limit stated */
};

enum smtpc_state {
	SMTPC_GREETING, SMTPC_EHLO, SMTPC_HELO, SMTPC_STARTTLS,
	SMTPC_TLS_WAIT, SMTPC_AUTH_PLAIN, SMTPC_AUTH_USER, SMTPC_AUTH_PASS,
	SMTPC_ENVELOPE, SMTPC_DATA, SMTPC_BODY, SMTPC_DOT, SMTPC_QUIT,
	SMTPC_DONE,
};

struct smtpc {
	struct smtpc_cfg cfg;
	const struct smtpc_ops *ops;
	void *ctx;
	struct smtpc_rcpt *rcpt;
	size_t nrcpt;
	enum smtpc_state state;
	struct smtpc_caps caps;
	bool authed;
	/* Envelope replies: expected in order MAIL, RCPT 0..n-1, DATA
	 * (pipelined); `next` is the one the next reply answers. */
	size_t next;
	bool mail_failed;
	size_t accepted;
	unsigned replies;          /* complete replies read so far */
	int code;                  /* reply being read (multiline) */
	char first[SMTPC_TEXT_MAX];/* its first line */
	char error[SMTPC_TEXT_MAX];/* why the session failed, for logs */
};

void smtpc_init(struct smtpc *s, const struct smtpc_cfg *cfg,
                struct smtpc_rcpt *rcpt, size_t nrcpt,
                const struct smtpc_ops *ops, void *ctx);

/* Consumes the complete reply lines at the front of in. A line over
 * in's maximum without CRLF, or a malformed reply, fails the session. */
void smtpc_input(struct smtpc *s, struct buf *in);

/* The STARTTLS handshake finished: EHLO again (RFC 3207 4.2). */
void smtpc_tls_ready(struct smtpc *s);

/* The body was sent: writes the final "." and waits for the reply. */
void smtpc_body_end(struct smtpc *s);

/* The connection failed (closed, timed out, TLS error): every recipient
 * without a final answer becomes TEMP with next_host set; done follows
 * unless it was called already. */
void smtpc_abort(struct smtpc *s, const char *why);

/* Seconds to wait for the reply the session expects (RFC 5321 4.5.3.2). */
unsigned smtpc_timeout(const struct smtpc *s);

/* ---- message body on the wire -------------------------------------- */

/* RFC 5321 4.5.2 dot-stuffing and line-ending hygiene as one streaming
 * encoder: a bare CR or bare LF becomes CRLF (nothing else leaves as a
 * line end), a line starting with '.' gets another, and the end adds a
 * CRLF after an unterminated last line. Every other byte passes as it
 * is. A line longer than SMTPC_FOLD_AT octets (RFC 5321 4.5.3.1.6 allows
 * 998) is broken with CRLF SPACE, as Postfix's smtp_line_length_limit
 * does: in a header that is a fold, and no continuation starts with '.'.
 * With dots = false only the line endings and lengths change (DKIM sees
 * the message as it will be sent; columns do not count a stuffing dot, so
 * both break in the same places). */
#define SMTPC_FOLD_AT 990
struct smtpc_stuff {
	bool dots;
	bool bol;   /* at the beginning of a line */
	bool cr;    /* a CR waits for its LF */
	size_t col; /* octets on this line so far, without a stuffing dot */
};

void smtpc_stuff_init(struct smtpc_stuff *st, bool dots);
/* Appends the encoding of p[0..n) to out. Returns 0 or -1 (out full). */
int smtpc_stuff(struct smtpc_stuff *st, const void *p, size_t n,
                struct buf *out);
/* Ends the message: a CRLF if the last line lacks one, then ".\r\n"
 * when dots. Returns 0 or -1. */
int smtpc_stuff_end(struct smtpc_stuff *st, struct buf *out);

#endif
