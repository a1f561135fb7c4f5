/* The small commands: EHLO, HELO, RSET, NOOP, QUIT, VRFY, EXPN, HELP,
 * STARTTLS, and the HTTP trap. The command table (smtp_dispatch.c) has
 * already checked state, TLS/AUTH policy and "no argument" rules. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "smtp_session_int.h"

/* RFC 5321 4.1.1.1 and 4.1.4: HELO/EHLO (also mid-session) start afresh,
 * like RSET. Returns false after replying 501 to a bad argument. */
static bool smtp_greet(struct smtp_session *s, const struct smtp_cmd *c,
                       bool esmtp)
{
	char esc[80];

	if (!smtp_parse_helo(c->arg.p, c->arg.len)) {
		log_info(s->sid, "bad helo=\"%s\"",
		         log_escape(esc, sizeof esc, c->arg.p, c->arg.len));
		smtp_reply(s, "501 5.5.4 Syntax: %s hostname",
		           esmtp ? "EHLO" : "HELO");
		return false;
	}
	smtp_txn_free(s);
	memcpy(s->helo, c->arg.p, c->arg.len);
	s->helo[c->arg.len] = '\0';
	s->esmtp = esmtp;
	s->state = SMTP_STATE_READY;
	log_debug(s->sid, "%s=%s", esmtp ? "ehlo" : "helo", s->helo);
	return true;
}

void smtp_cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *c)
{
	char size[40];
	const char *ext[10];
	size_t n = 0;

	if (!smtp_greet(s, c, true))
		return;
	/* RFC 1870: SIZE with the fixed limit (0 = none declared). */
	snprintf(size, sizeof size, "SIZE %llu",
	         (unsigned long long)s->cfg.max_message_size);
	ext[n++] = "PIPELINING"; /* RFC 2920 */
	ext[n++] = size;
	ext[n++] = "8BITMIME";            /* RFC 6152 */
	ext[n++] = "ENHANCEDSTATUSCODES"; /* RFC 2034 */
	ext[n++] = "SMTPUTF8";            /* RFC 6531 */
	ext[n++] = "CHUNKING";            /* RFC 3030, without BINARYMIME */
	/* RFC 3207 4.2: not offered again once TLS is up. */
	if (s->cfg.tls_available && !s->tls)
		ext[n++] = "STARTTLS";
	/* RFC 4954 4 and DESIGN.md: never advertised before TLS, never on
	 * the MX port, and not again once authenticated. */
	if (smtp_auth_available(s) && !s->authed)
		ext[n++] = "AUTH PLAIN LOGIN";
	/* RFC 2034 3: EHLO replies carry no enhanced codes. */
	smtp_reply(s, "250-%s", s->cfg.hostname);
	for (size_t i = 0; i < n; i++)
		smtp_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', ext[i]);
}

void smtp_cmd_helo(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (smtp_greet(s, c, false))
		smtp_reply(s, "250 %s", s->cfg.hostname);
}

void smtp_cmd_rset(struct smtp_session *s, const struct smtp_cmd *c)
{
	smtp_txn_free(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

void smtp_cmd_noop(struct smtp_session *s, const struct smtp_cmd *c)
{
	/* RFC 5321 4.1.1.9: any argument is ignored. */
	smtp_reply(s, "250 2.0.0 Ok");
}

void smtp_cmd_quit(struct smtp_session *s, const struct smtp_cmd *c)
{
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_close(s);
}

void smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (c->arg.len == 0) {
		smtp_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: 252 tells nothing about who exists here, which is
	 * the point (no address harvesting). */
	smtp_reply(s, "252 2.0.0 Cannot VRFY user; try RCPT to attempt "
	              "delivery");
}

void smtp_cmd_expn(struct smtp_session *s, const struct smtp_cmd *c)
{
	smtp_reply(s, "502 5.5.1 EXPN not available");
}

void smtp_cmd_help(struct smtp_session *s, const struct smtp_cmd *c)
{
	/* RFC 5321 4.1.1.8: the argument, if any, may be ignored. */
	smtp_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT "
	              "RSET NOOP QUIT VRFY HELP%s%s",
	           s->cfg.tls_available && !s->tls ? " STARTTLS" : "",
	           smtp_auth_available(s) ? " AUTH" : "");
}

void smtp_cmd_starttls(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->tls) {
		smtp_reply(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!s->cfg.tls_available) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	/* The I/O layer sends the 220, then handshakes; whatever the client
	 * pipelined behind STARTTLS is discarded there (RFC 3207 4.2: the
	 * STARTTLS injection class of bugs). We read nothing more until
	 * tls_ready. */
	if (s->in->len > 0)
		log_info(s->sid, "discarding %zu octets sent after STARTTLS",
		         s->in->len);
	s->tls_pending = true;
	if (s->io->starttls(s->io_ctx) != 0) {
		/* tls_available said yes: the layer disagrees. The client
		 * already has its 220, so the only safe move is to hang up. */
		log_err(s->sid, "starttls failed to start");
		s->tls_pending = false;
		smtp_close(s);
	}
}

void smtp_cmd_http(struct smtp_session *s, const struct smtp_cmd *c)
{
	/* A browser or proxy probe (or a cross-protocol attack): answer
	 * once, in a way an HTTP client shows as an error, and hang up. */
	log_info(s->sid, "http request, closing");
	smtp_reply(s, "500 5.5.1 This is an SMTP server, not HTTP");
	smtp_close(s);
}
