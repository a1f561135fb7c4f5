/* Session output: replies, raw bytes, the bad-command count, closing.
 * Every write goes through here, so nothing is written once the session
 * is closing or gone. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "pop3_priv.h"

void pop3_write(struct pop3_session *s, const void *p, size_t n)
{
	if (s->gone || s->closing || n == 0)
		return;
	s->io->write(s->io_ctx, p, n);
}

void pop3_emit(void *arg, const void *p, size_t n)
{
	pop3_write(arg, p, n);
}

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	char line[POP3_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 3;
	line[len++] = '\r';
	line[len++] = '\n';
	pop3_write(s, line, len);
}

void pop3_close(struct pop3_session *s)
{
	if (s->gone || s->closing)
		return;
	s->closing = true;
	s->io->close(s->io_ctx);
}

void pop3_bad(struct pop3_session *s, const char *reply)
{
	pop3_reply(s, "%s", reply);
	unsigned max = s->state == POP3_STATE_AUTHORIZATION
	                       ? s->cfg.max_bad
	                       : s->cfg.max_bad_trans;
	if (++s->bad < max)
		return;
	/* STYLE 14: errors before doing useful work cost the client. */
	log_info(s->sid, "too many bad commands ip=%s", s->ip);
	pop3_reply(s, "-ERR Too many bad commands, closing connection.");
	pop3_close(s);
}

bool pop3_out_full(struct pop3_session *s)
{
	/* A read job may complete after closed(): the connection behind
	 * io_ctx is freed by then, and nothing more would be sent anyway. */
	if (s->gone || s->closing)
		return true;
	return s->io->pending(s->io_ctx) > SESSION_OUT_HIGH;
}
