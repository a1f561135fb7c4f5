/* The SMTP session: lifecycle, the command table and the one loop that
 * enforces it, replies, and the job slot. Command handlers live in
 * smtp_cmd_*.c; see smtp_session.h for the public contract.
 *
 * Policy lives in smtp_cmds[] (after Postfix's smtpd command table): every
 * row says in which states the command is allowed, whether it may run
 * before TLS or AUTH where a listener requires them, whether it takes an
 * argument, and whether it ends a pipelining group. smtp_dispatch checks
 * all of that before a handler runs, so a handler cannot forget a check;
 * handlers then check their own syntax before they change anything. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp_session_int.h"

#define SMTP_CF_PRE_TLS 0x1u   /* allowed before TLS where TLS is required */
#define SMTP_CF_PRE_AUTH 0x2u  /* allowed before AUTH where it is required */
#define SMTP_CF_NO_ARG 0x4u    /* an argument is a syntax error (501) */
#define SMTP_CF_GROUP_END 0x8u /* RFC 2920 3.1: the client must wait for
                                  this reply before sending more */

struct smtp_cmd_def {
	enum smtp_verb verb;
	void (*fn)(struct smtp_session *s, const struct smtp_cmd *c);
	unsigned states;        /* SMTP_STATE_* in which it is allowed */
	unsigned flags;         /* SMTP_CF_* */
	const char *bad_state;  /* the reply otherwise (after HELO/EHLO) */
};

#define ANY_TIME (SMTP_CF_PRE_TLS | SMTP_CF_PRE_AUTH)

static const struct smtp_cmd_def smtp_cmds[] = {
	{SMTP_VERB_EHLO, smtp_cmd_ehlo, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL},
	{SMTP_VERB_HELO, smtp_cmd_helo, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL},
	{SMTP_VERB_STARTTLS, smtp_cmd_starttls,
	 SMTP_STATE_INIT | SMTP_STATE_READY,
	 ANY_TIME | SMTP_CF_NO_ARG | SMTP_CF_GROUP_END,
	 "503 5.5.1 Mail transaction in progress"},
	{SMTP_VERB_MAIL, smtp_cmd_mail, SMTP_STATE_READY, 0,
	 "503 5.5.1 Nested MAIL command"},
	{SMTP_VERB_RCPT, smtp_cmd_rcpt, SMTP_STATE_MAIL | SMTP_STATE_RCPT, 0,
	 "503 5.5.1 Need MAIL before RCPT"},
	{SMTP_VERB_DATA, smtp_cmd_data, SMTP_STATE_MAIL | SMTP_STATE_RCPT,
	 SMTP_CF_NO_ARG | SMTP_CF_GROUP_END,
	 "503 5.5.1 Need MAIL and RCPT before DATA"},
	{SMTP_VERB_RSET, smtp_cmd_rset, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_NO_ARG, NULL},
	{SMTP_VERB_NOOP, smtp_cmd_noop, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL},
	{SMTP_VERB_QUIT, smtp_cmd_quit, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_NO_ARG | SMTP_CF_GROUP_END, NULL},
	{SMTP_VERB_VRFY, smtp_cmd_vrfy, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL},
	{SMTP_VERB_EXPN, smtp_cmd_expn, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL},
	{SMTP_VERB_HELP, smtp_cmd_help, SMTP_STATES_ALL, ANY_TIME, NULL},
	{SMTP_VERB_HTTP, smtp_cmd_http, SMTP_STATES_ALL, ANY_TIME, NULL},
};

struct smtp_session *smtp_session_new(const struct smtp_session_cfg *cfg,
                                      const struct session_peer *peer,
                                      const struct session_io *io,
                                      void *io_ctx, struct runner *runner,
                                      struct buf *in)
{
	struct smtp_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (!s->cfg.hostname)
		s->cfg.hostname = "localhost";
	if (s->cfg.max_recipients == 0)
		s->cfg.max_recipients = SMTP_DEFAULT_MAX_RCPT;
	s->peer = peer;
	snprintf(s->sid, sizeof s->sid, "%s", peer->sid ? peer->sid : "-");
	s->io = io;
	s->io_ctx = io_ctx;
	s->runner = runner;
	s->in = in;
	linereader_init(&s->lr, SMTP_LINE_MAX);
	s->state = SMTP_STATE_INIT;
	s->tls = peer->tls;
	s->job.job.work = smtp_job_work;
	s->job.job.done = smtp_job_done;
	buf_init(&s->job.piece, SMTP_PIECE_MAX);
	return s;
}

void smtp_session_start(struct smtp_session *s)
{
	/* RFC 5321 4.3.1; RFC 2034: no enhanced code in the greeting. */
	smtp_reply(s, "220 %s ESMTP postlite", s->cfg.hostname);
}

void smtp_txn_free(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	if (t) {
		for (unsigned i = 0; i < t->nrcpt; i++)
			free(t->rcpt[i].addr);
		free(t->rcpt);
		free(t->sender);
		free(t);
		s->txn = NULL;
	}
	/* Give the piece buffer back between messages: an idle session
	 * holds no body memory. */
	buf_free(&s->job.piece);
	if (s->state != SMTP_STATE_INIT)
		s->state = SMTP_STATE_READY;
}

static void smtp_free(struct smtp_session *s)
{
	log_debug(s->sid, "session freed");
	smtp_txn_free(s);
	free(s->job.mbox);
	free(s);
}

/* Frees a closed session once nothing refers to it any more: no job in
 * flight and no call of ours on the stack. A message begun in the store is
 * aborted first (through one more job) so that a client that drops the
 * connection mid-DATA leaves nothing behind until the next restart. */
void smtp_maybe_free(struct smtp_session *s)
{
	if (!s->closed || s->busy || s->depth > 0)
		return;
	if (s->txn && s->txn->msg) {
		s->job.msg = s->txn->msg;
		s->txn->msg = 0;
		smtp_job_submit(s, SMTP_JOB_ABORT);
		return;
	}
	smtp_free(s);
}

void smtp_close(struct smtp_session *s)
{
	if (s->closing)
		return;
	s->closing = true;
	s->io->close(s->io_ctx);
}

void smtp_reply_raw(struct smtp_session *s, const char *p, size_t n)
{
	if (!s->closing)
		s->io->write(s->io_ctx, p, n);
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[512]; /* RFC 5321 4.5.3.1.5: reply line, CRLF included */
	va_list ap;

	if (s->closing)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 3)
		n = (int)(sizeof line - 3); /* truncated by vsnprintf */
	line[n++] = '\r';
	line[n++] = '\n';
	s->io->write(s->io_ctx, line, (size_t)n);
	/* Errors are expensive for the client (STYLE.md 14): a client that
	 * keeps failing is cut off. */
	if (line[0] == '5' && ++s->errors >= SMTP_MAX_ERRORS) {
		log_info(s->sid, "too many errors=%u", s->errors);
		smtp_close_421(s, "4.7.0", "Error: too many errors");
	}
}

void smtp_close_421(struct smtp_session *s, const char *code,
                    const char *text)
{
	/* RFC 5321 3.8: 421 names the server, then the channel closes. */
	smtp_reply(s, "421 %s %s %s", code, s->cfg.hostname, text);
	smtp_close(s);
}

/* One command line, already copied into s->line: parse, check the table
 * row, then run the handler. */
static void smtp_dispatch(struct smtp_session *s, size_t len)
{
	struct smtp_cmd c;
	const struct smtp_cmd_def *row = NULL;
	char esc[64];

	switch (smtp_parse_command(s->line, len, &c)) {
	case SMTP_CMD_OK:
		break;
	case SMTP_CMD_EMPTY:
		smtp_reply(s, "500 5.5.2 Empty command");
		return;
	case SMTP_CMD_BADCHAR:
		smtp_reply(s, "500 5.5.2 Control character in command");
		return;
	}
	for (size_t i = 0; i < sizeof smtp_cmds / sizeof smtp_cmds[0]; i++)
		if (smtp_cmds[i].verb == c.verb)
			row = &smtp_cmds[i];
	if (!row) {
		log_info(s->sid, "unknown command=\"%s\"",
		         log_escape(esc, sizeof esc, c.name.p, c.name.len));
		smtp_reply(s, "500 5.5.1 Command unrecognized");
		return;
	}
	if (!(row->states & s->state)) {
		if (s->state == SMTP_STATE_INIT)
			smtp_reply(s, "503 5.5.1 Send HELO/EHLO first");
		else
			smtp_reply(s, "%s", row->bad_state);
		return;
	}
	/* Submission (587) wants TLS, then AUTH, before mail (RFC 8314 3.3,
	 * RFC 6409 4.3); port 465 has TLS from the start. */
	if (s->cfg.kind == SMTP_LISTENER_SUBMISSION && !s->tls &&
	    !(row->flags & SMTP_CF_PRE_TLS)) {
		smtp_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->cfg.kind != SMTP_LISTENER_MX && !s->authed &&
	    !(row->flags & SMTP_CF_PRE_AUTH)) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if ((row->flags & SMTP_CF_NO_ARG) && c.arg.len > 0) {
		smtp_reply(s, "501 5.5.4 Syntax error (no parameters allowed)");
		return;
	}
	row->fn(s, &c);
	/* RFC 2920 3.1: after a group-ending command the client must wait
	 * for the reply. Bytes already here mean it did not; harmless for
	 * us (STARTTLS drops them), but worth one log line. */
	if ((row->flags & SMTP_CF_GROUP_END) && s->in->len > 0 && !s->busy &&
	    !s->pipelining_logged && c.verb != SMTP_VERB_QUIT) {
		s->pipelining_logged = true;
		log_info(s->sid, "improper pipelining after %s",
		         smtp_verb_name(c.verb));
	}
}

void smtp_session_input(struct smtp_session *s)
{
	struct lr_view v;

	s->depth++;
	while (!s->busy && !s->closing && !s->closed && !s->tls_pending &&
	       s->in->len > 0) {
		if (s->txn && s->txn->in_data) {
			if (!smtp_data_input(s))
				break;
			continue;
		}
		enum lr_result r =
			linereader_next(&s->lr, s->in->data, s->in->len, &v);
		if (r == LR_NEED_MORE) {
			buf_consume(s->in, v.consumed);
			break;
		}
		/* Work on a copy so that handlers may consume input, start
		 * jobs or STARTTLS without a view into s->in. */
		size_t len = r == LR_LINE ? v.len : 0;
		memcpy(s->line, v.line, len);
		buf_consume(s->in, v.consumed);
		switch (r) {
		case LR_LINE:
			smtp_dispatch(s, len);
			break;
		case LR_TOO_LONG: /* RFC 5321 4.5.3.1.4 */
			smtp_reply(s, "500 5.5.2 Line too long");
			break;
		case LR_BARE_LF: /* RFC 5321 2.3.8: lines end with CRLF */
			smtp_reply(s, "500 5.5.2 Bare LF in command");
			break;
		case LR_NUL:
			smtp_reply(s, "500 5.5.2 NUL in command");
			break;
		case LR_NEED_MORE:
			break;
		}
	}
	s->depth--;
	smtp_maybe_free(s);
}

void smtp_session_tls_ready(struct smtp_session *s)
{
	/* RFC 3207 4.2: discard all knowledge obtained from the client. The
	 * error count stays: it is ours, not the client's. */
	s->tls_pending = false;
	s->tls = true;
	smtp_txn_free(s);
	s->state = SMTP_STATE_INIT;
	s->esmtp = false;
	s->helo[0] = '\0';
	s->authed = false;
	linereader_init(&s->lr, SMTP_LINE_MAX);
	const char *desc = s->io->tls_desc(s->io_ctx);
	log_info(s->sid, "starttls %s", desc ? desc : "?");
}

void smtp_session_timeout(struct smtp_session *s)
{
	if (s->closing || s->closed)
		return;
	log_info(s->sid, "timeout");
	if (s->tls_pending) {
		/* Mid-handshake: a plaintext reply would only garble it. */
		s->closing = true;
		return;
	}
	/* RFC 5321 4.5.3.2; the I/O layer closes when this returns. */
	smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->cfg.hostname);
	s->closing = true;
}

void smtp_session_closed(struct smtp_session *s)
{
	s->closed = true;
	s->closing = true; /* no io call may follow */
	s->peer = NULL;    /* freed by the I/O layer when we return */
	smtp_maybe_free(s);
}
