/* The SMTP session: lifecycle, replies, timeouts, and the input loop that
 * routes bytes to what they are: BDAT chunk octets, DATA text, a SASL
 * response, or a command line (smtp_dispatch.c applies the command
 * table). See smtp_session.h for the public contract. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "smtp_session_int.h"

/* Sessions created without an env get this one: every feature off. */
static const struct smtp_env smtp_env_none;

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
	if (s->cfg.timeout == 0)
		s->cfg.timeout = 300; /* RFC 5321 4.5.3.2.7 */
	s->env = cfg->env ? cfg->env : &smtp_env_none;
	s->runner = runner;
	s->peer = peer;
	snprintf(s->sid, sizeof s->sid, "%s", peer->sid ? peer->sid : "-");
	snprintf(s->ip, sizeof s->ip, "%s", peer->ip ? peer->ip : "");
	s->io = io;
	s->io_ctx = io_ctx;
	s->in = in;
	linereader_init(&s->lr, SMTP_MAIL_LINE_MAX);
	s->state = SMTP_STATE_INIT;
	s->tls = peer->tls;
	s->plain_auth_ok = cfg->plaintext_auth_loopback && peer->local_loopback;
	s->job.job.work = smtp_job_work;
	s->job.job.done = smtp_job_done;
	buf_init(&s->job.piece, SMTP_PIECE_MAX + SMTP_PIECE_SLACK);
	s->over_limit = peer->over_limit; /* counted by the I/O layer */
	return s;
}

void smtp_session_start(struct smtp_session *s)
{
	if (s->over_limit != CLIENTS_OK) {
		bool addr = s->over_limit == CLIENTS_TOO_MANY_ADDR;
		log_info(s->sid, "refused ip=%s: %s", s->ip,
		         clients_reason(s->over_limit));
		smtp_close_421(s, "4.7.0",
		               addr ? "Error: too many connections from your "
		                      "address"
		                    : "Error: too many connections, try again "
		                      "later");
		return;
	}
	/* RFC 5321 4.3.1; RFC 2034: no enhanced code in the greeting. */
	smtp_reply(s, "220 %s ESMTP postlite", s->cfg.hostname);
	smtp_timeout_update(s);
}

static void smtp_free(struct smtp_session *s)
{
	log_debug(s->sid, "session freed");
	smtp_txn_free(s);
	free(s->job.mbox);
	sasl_wipe(s->job.user, sizeof s->job.user);
	sasl_wipe(s->job.pass, sizeof s->job.pass);
	sasl_wipe(s->line, sizeof s->line);
	free(s);
}

/* Frees a closed session once nothing refers to it any more: no job in
 * flight and no call of ours on the stack. A message begun in the store is
 * aborted first (through one more job) so that a client that drops the
 * connection mid-message leaves nothing behind until the next restart. */
void smtp_maybe_free(struct smtp_session *s)
{
	if (!s->closed || s->busy || s->depth > 0)
		return;
	smtp_txn_free(s); /* a begun message becomes the orphan */
	if (s->job.orphan) {
		s->job.msg = s->job.orphan;
		s->job.orphan = 0;
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

static void smtp_vreply(struct smtp_session *s, bool counted, const char *fmt,
                        va_list ap) __attribute__((format(printf, 3, 0)));

static void smtp_vreply(struct smtp_session *s, bool counted, const char *fmt,
                        va_list ap)
{
	char line[512]; /* RFC 5321 4.5.3.1.5: reply line, CRLF included */

	if (s->closing)
		return;
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 3)
		n = (int)(sizeof line - 3); /* truncated by vsnprintf */
	line[n++] = '\r';
	line[n++] = '\n';
	s->io->write(s->io_ctx, line, (size_t)n);
	/* Errors are expensive for the client (STYLE.md 14): a client that
	 * keeps failing is cut off. */
	if (counted && line[0] == '5' && ++s->errors >= SMTP_MAX_ERRORS) {
		log_info(s->sid, "too many errors=%u", s->errors);
		smtp_close_421(s, "4.7.0", "Error: too many errors");
	}
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	smtp_vreply(s, true, fmt, ap);
	va_end(ap);
}

void smtp_reply_uncounted(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	smtp_vreply(s, false, fmt, ap);
	va_end(ap);
}

void smtp_close_421(struct smtp_session *s, const char *code,
                    const char *text)
{
	/* RFC 5321 3.8: 421 names the server, then the channel closes. */
	smtp_reply(s, "421 %s %s %s", code, s->cfg.hostname, text);
	smtp_close(s);
}

void smtp_timeout_update(struct smtp_session *s)
{
	unsigned t = s->cfg.timeout;

	if (!s->io->set_timeout || s->closing || s->closed)
		return;
	if (s->busy)
		t = SMTP_BUSY_TIMEOUT; /* we owe the reply, not the client */
	else if (s->sasl != SMTP_SASL_NONE && t > SMTP_SASL_TIMEOUT)
		t = SMTP_SASL_TIMEOUT;
	if (t != s->timeout_set) {
		s->timeout_set = t;
		s->io->set_timeout(s->io_ctx, t);
	}
}

/* A line while a SASL exchange is under way: a response, never a
 * command (RFC 4954 4). */
static void smtp_sasl_line(struct smtp_session *s, enum lr_result r,
                           size_t len)
{
	if (r == LR_LINE) {
		smtp_auth_response(s, len, false);
	} else if (r == LR_TOO_LONG) {
		smtp_auth_response(s, 0, true);
	} else { /* bare LF or NUL: no base64 line */
		s->line[0] = '\0';
		smtp_auth_response(s, 0, false);
	}
	sasl_wipe(s->line, len);
}

void smtp_session_input(struct smtp_session *s)
{
	struct lr_view v;

	s->depth++;
	while (!s->busy && !s->closing && !s->closed && !s->tls_pending &&
	       s->in->len > 0) {
		/* BDAT octets first: whatever became of the command, its
		 * chunk is never read as commands (RFC 3030 2). */
		if (s->chunk_left > 0) {
			if (!smtp_bdat_input(s))
				break;
			continue;
		}
		if (s->txn && s->txn->in_data) {
			if (!smtp_data_input(s))
				break;
			continue;
		}
		/* Where an over-long line starts: is it a BDAT? */
		if (!s->lr.skipping)
			s->long_bdat = s->in->len >= 5 &&
			               strncasecmp(s->in->data, "BDAT ", 5) == 0;
		enum lr_result r =
			linereader_next(&s->lr, s->in->data, s->in->len, &v);
		/* Command lines leave no copy in s->in: AUTH and its SASL
		 * lines carry credentials (s->line is wiped after them). */
		if (r == LR_NEED_MORE) {
			buf_consume_wipe(s->in, v.consumed);
			break;
		}
		/* Work on a copy so that handlers may consume input, start
		 * jobs or STARTTLS without a view into s->in. */
		size_t len = r == LR_LINE ? v.len : 0;
		memcpy(s->line, v.line, len);
		buf_consume_wipe(s->in, v.consumed);
		if (s->sasl != SMTP_SASL_NONE) {
			smtp_sasl_line(s, r, len);
			continue;
		}
		switch (r) {
		case LR_LINE:
			smtp_dispatch(s, len);
			break;
		case LR_TOO_LONG:
			smtp_line_too_long(s, s->long_bdat);
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
	smtp_timeout_update(s);
	smtp_maybe_free(s);
}

void smtp_session_forget(struct smtp_session *s)
{
	smtp_txn_free(s);
	s->state = SMTP_STATE_INIT;
	s->esmtp = false;
	s->helo[0] = '\0';
	s->authed = false;
	s->auth_mailbox = 0;
	sasl_wipe(s->auth_user, sizeof s->auth_user);
	s->sasl = SMTP_SASL_NONE;
	s->chunk_left = 0;
	s->chunk_keep = false;
	linereader_init(&s->lr, SMTP_MAIL_LINE_MAX);
}

void smtp_session_tls_ready(struct smtp_session *s)
{
	/* RFC 3207 4.2: discard all knowledge obtained from the client. The
	 * error count stays: it is ours, not the client's. */
	s->tls_pending = false;
	s->tls = true;
	smtp_session_forget(s);
	const char *desc = s->io->tls_desc(s->io_ctx);
	log_info(s->sid, "starttls %s", desc ? desc : "?");
	smtp_timeout_update(s);
}

void smtp_session_timeout(struct smtp_session *s)
{
	if (s->closing || s->closed)
		return;
	log_info(s->sid, "timeout%s%s", s->busy ? " busy" : "",
	         s->sasl != SMTP_SASL_NONE ? " in AUTH" : "");
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
