/* The SMTP client state machine (smtpc.h). */
#include "smtpc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "utf8.h"

static void cmd(struct smtpc *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cmd(struct smtpc *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 2)
		n = 0; /* cannot happen: addresses are at most 256 octets */
	memcpy(line + n, "\r\n", 2);
	s->ops->write(s->ctx, line, (size_t)n + 2);
}

void smtpc_finish(struct smtpc *s)
{
	if (s->state == SMTPC_DONE)
		return;
	s->state = SMTPC_DONE;
	s->ops->done(s->ctx);
}

void smtpc_settle_rest(struct smtpc *s, enum smtpc_result r, bool next_host,
                        int code, const char *text)
{
	for (size_t i = 0; i < s->nrcpt; i++) {
		struct smtpc_rcpt *rc = &s->rcpt[i];
		if (rc->result != SMTPC_PENDING)
			continue;
		rc->result = r;
		rc->next_host = next_host;
		rc->code = code;
		snprintf(rc->text, sizeof rc->text, "%s", text);
	}
}

static void quit(struct smtpc *s)
{
	cmd(s, "QUIT");
	s->state = SMTPC_QUIT;
}

/* The session cannot go on: a reply of class 4 or 5 (or a local reason,
 * code 0: temporary) for everyone still waiting, then QUIT. */
static void fail(struct smtpc *s, int code, const char *text, bool next_host)
{
	snprintf(s->error, sizeof s->error, "%s", text);
	smtpc_settle_rest(s, code >= 500 ? SMTPC_PERM : SMTPC_TEMP, next_host, code,
	            text);
	quit(s);
}

void smtpc_init(struct smtpc *s, const struct smtpc_cfg *cfg,
                struct smtpc_rcpt *rcpt, size_t nrcpt,
                const struct smtpc_ops *ops, void *ctx)
{
	memset(s, 0, sizeof *s);
	s->cfg = *cfg;
	s->ops = ops;
	s->ctx = ctx;
	s->rcpt = rcpt;
	s->nrcpt = nrcpt;
	s->state = SMTPC_GREETING;
	for (size_t i = 0; i < nrcpt; i++) {
		rcpt[i].result = SMTPC_PENDING;
		rcpt[i].next_host = false;
		rcpt[i].accepted = false;
		rcpt[i].code = 0;
		rcpt[i].text[0] = '\0';
	}
}

void smtpc_parse_cap(struct smtpc_caps *c, const char *p, size_t n)
{
	char kw[32];
	size_t k = 0;
	while (k < n && p[k] != ' ' && k + 1 < sizeof kw) {
		kw[k] = p[k];
		k++;
	}
	kw[k] = '\0';
	const char *arg = p + k;
	size_t alen = n - k;
	if (!strcasecmp(kw, "STARTTLS"))
		c->starttls = true;
	else if (!strcasecmp(kw, "PIPELINING"))
		c->pipelining = true;
	else if (!strcasecmp(kw, "8BITMIME"))
		c->eightbitmime = true;
	else if (!strcasecmp(kw, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (!strcasecmp(kw, "SIZE")) {
		c->size = true;
		c->size_max = 0;
		for (size_t i = 1; i < alen && arg[i] >= '0' && arg[i] <= '9'; i++)
			if (c->size_max < 1000000000000ULL)
				c->size_max = c->size_max * 10 +
				              (unsigned)(arg[i] - '0');
	} else if (!strcasecmp(kw, "AUTH")) {
		/* "AUTH PLAIN LOGIN CRAM-MD5": the mechanisms we speak */
		for (size_t i = 0; i < alen;) {
			while (i < alen && arg[i] == ' ')
				i++;
			size_t j = i;
			while (j < alen && arg[j] != ' ')
				j++;
			if (j - i == 5 && !strncasecmp(arg + i, "PLAIN", 5))
				c->auth_plain = true;
			if (j - i == 5 && !strncasecmp(arg + i, "LOGIN", 5))
				c->auth_login = true;
			i = j;
		}
	}
}

static void send_ehlo(struct smtpc *s)
{
	memset(&s->caps, 0, sizeof s->caps);
	cmd(s, "EHLO %s", s->cfg.helo);
	s->state = SMTPC_EHLO;
}

/* RFC 4954 4: PLAIN with an initial response; LOGIN otherwise. */
static void send_auth(struct smtpc *s)
{
	char raw[3 * 256 + 2], b64[1100];
	if (s->caps.auth_plain) {
		size_t ul = strlen(s->cfg.user), pl = strlen(s->cfg.pass);
		if (ul + pl + 2 > sizeof raw) {
			fail(s, 0, "relay credentials too long", false);
			return;
		}
		raw[0] = '\0';
		memcpy(raw + 1, s->cfg.user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, s->cfg.pass, pl);
		base64_encode(raw, ul + pl + 2, b64, sizeof b64);
		cmd(s, "AUTH PLAIN %s", b64);
		s->state = SMTPC_AUTH_PLAIN;
	} else if (s->caps.auth_login) {
		cmd(s, "AUTH LOGIN");
		s->state = SMTPC_AUTH_USER;
	} else {
		fail(s, 0, "relay offers no AUTH PLAIN or LOGIN", false);
	}
	memset(raw, 0, sizeof raw);
	memset(b64, 0, sizeof b64);
}

static void send_envelope(struct smtpc *s);

/* After EHLO/HELO: TLS first, then AUTH, then the envelope. */
static void after_hello(struct smtpc *s)
{
	if (!s->cfg.tls_active && s->cfg.tls != SMTPC_TLS_NO &&
	    s->caps.starttls) {
		cmd(s, "STARTTLS");
		s->state = SMTPC_STARTTLS;
		return;
	}
	if (!s->cfg.tls_active && s->cfg.tls == SMTPC_TLS_REQUIRED) {
		fail(s, 0, "TLS required, STARTTLS not offered", true);
		return;
	}
	if (s->cfg.user && !s->authed) {
		send_auth(s);
		return;
	}
	send_envelope(s);
}

static void send_envelope(struct smtpc *s)
{
	struct smtpc_caps *c = &s->caps;
	if (c->size && c->size_max && s->cfg.size > c->size_max) {
		fail(s, 552, "552 5.3.4 Message too big for the remote server",
		     false);
		return;
	}
	/* RFC 6531 3.2: a message that asked for SMTPUTF8 needs it only
	 * when an address is not ASCII (what Postfix does too): then
	 * there is no downgrade. */
	bool utf8 = utf8_non_ascii(s->cfg.sender, strlen(s->cfg.sender));
	for (size_t i = 0; i < s->nrcpt && !utf8; i++)
		utf8 = utf8_non_ascii(s->rcpt[i].addr, strlen(s->rcpt[i].addr));
	if (s->cfg.smtputf8 && utf8 && !c->smtputf8) {
		fail(s, 553, "553 5.6.7 Remote server lacks SMTPUTF8, needed "
		     "for this message", false);
		return;
	}
	char size[40] = "";
	if (c->size)
		snprintf(size, sizeof size, " SIZE=%zu", s->cfg.size);
	/* RFC 6152: an 8-bit body is sent as it is even when the server
	 * does not say 8BITMIME (no MIME downgrade; what Postfix does). */
	cmd(s, "MAIL FROM:<%s>%s%s%s", s->cfg.sender, size,
	    s->cfg.eightbit && c->eightbitmime ? " BODY=8BITMIME" : "",
	    s->cfg.smtputf8 && c->smtputf8 ? " SMTPUTF8" : "");
	s->state = SMTPC_ENVELOPE;
	s->next = 0;
	s->accepted = 0;
	s->mail_failed = false;
	if (c->pipelining) {
		/* RFC 2920 3.1: MAIL, every RCPT and DATA in one group. */
		for (size_t i = 0; i < s->nrcpt; i++)
			cmd(s, "RCPT TO:<%s>", s->rcpt[i].addr);
		cmd(s, "DATA");
	}
}

static enum smtpc_result class_of(int code)
{
	return code >= 200 && code < 300 ? SMTPC_OK
	       : code >= 500             ? SMTPC_PERM
	                                 : SMTPC_TEMP;
}

static void set_rcpt(struct smtpc_rcpt *r, int code, const char *text)
{
	r->result = class_of(code);
	r->code = code;
	snprintf(r->text, sizeof r->text, "%s", text);
}

/* The DATA reply: the body goes, or the accepted recipients share it. */
static void on_data_reply(struct smtpc *s, int code, const char *text)
{
	if (code == 354 && s->accepted > 0) {
		s->state = SMTPC_BODY;
		s->ops->body(s->ctx);
		return;
	}
	if (code == 354) {
		/* A server that says 354 with no recipient: send nothing. */
		s->ops->write(s->ctx, ".\r\n", 3);
		s->state = SMTPC_DOT;
		s->accepted = 0;
		return;
	}
	/* Any other reply refuses the body. A 2xx here (a broken server,
	 * or someone on a plaintext path) did not take the message: a
	 * temporary failure, never a delivery. */
	if (s->accepted > 0) {
		for (size_t i = 0; i < s->nrcpt; i++)
			if (s->rcpt[i].accepted &&
			    s->rcpt[i].result == SMTPC_PENDING) {
				set_rcpt(&s->rcpt[i], code, text);
				if (code < 400)
					s->rcpt[i].result = SMTPC_TEMP;
			}
	}
	quit(s);
}

/* Envelope replies, in command order (RFC 2920 3.1). */
static void on_envelope_reply(struct smtpc *s, int code, const char *text)
{
	bool piped = s->caps.pipelining;
	size_t i = s->next++;
	if (i == 0) { /* MAIL */
		if (code / 100 != 2) {
			s->mail_failed = true;
			smtpc_settle_rest(s, class_of(code), false, code, text);
			if (!piped)
				quit(s);
			return;
		}
	} else if (i <= s->nrcpt) { /* RCPT i-1 */
		struct smtpc_rcpt *r = &s->rcpt[i - 1];
		if (!s->mail_failed) {
			if (code / 100 == 2) {
				/* The result waits for the final reply. */
				r->accepted = true;
				s->accepted++;
			} else {
				set_rcpt(r, code, text);
			}
		}
	} else { /* DATA, pipelined */
		if (s->mail_failed) {
			if (code == 354) { /* should not happen */
				s->ops->write(s->ctx, ".\r\n", 3);
				s->state = SMTPC_DOT;
				return;
			}
			quit(s);
			return;
		}
		on_data_reply(s, code, text);
		return;
	}
	if (piped)
		return;
	if (i < s->nrcpt) {
		cmd(s, "RCPT TO:<%s>", s->rcpt[i].addr);
	} else if (s->accepted == 0) {
		quit(s);
	} else {
		cmd(s, "DATA");
		s->state = SMTPC_DATA;
	}
}

/* The final reply to the message (RFC 5321 4.1.1.4). */
static void on_dot_reply(struct smtpc *s, int code, const char *text)
{
	for (size_t i = 0; i < s->nrcpt; i++)
		if (s->rcpt[i].accepted && s->rcpt[i].result == SMTPC_PENDING)
			set_rcpt(&s->rcpt[i], code, text);
	quit(s);
}

void smtpc_on_reply(struct smtpc *s, int code, const char *text)
{
	/* RFC 5321 3.8: 421 may come at any time; the server closes. */
	if (code == 421 && s->state != SMTPC_QUIT) {
		snprintf(s->error, sizeof s->error, "%s", text);
		smtpc_settle_rest(s, SMTPC_TEMP, true, code, text);
		smtpc_finish(s);
		return;
	}
	switch (s->state) {
	case SMTPC_GREETING:
		if (code / 100 == 2)
			send_ehlo(s);
		else /* RFC 5321 3.1: 554 greeting; try elsewhere */
			fail(s, code < 500 ? code : 450, text, true);
		break;
	case SMTPC_EHLO:
		if (code / 100 == 2) {
			s->caps.esmtp = true;
			after_hello(s);
		} else if (code >= 500) {
			cmd(s, "HELO %s", s->cfg.helo); /* RFC 5321 3.2 */
			s->state = SMTPC_HELO;
		} else {
			fail(s, code, text, true);
		}
		break;
	case SMTPC_HELO:
		if (code / 100 == 2)
			after_hello(s);
		else
			fail(s, code < 500 ? code : 450, text, true);
		break;
	case SMTPC_STARTTLS:
		if (code == 220) {
			s->state = SMTPC_TLS_WAIT;
			if (s->ops->starttls(s->ctx) != 0) {
				snprintf(s->error, sizeof s->error,
				         "TLS could not start");
				smtpc_settle_rest(s, SMTPC_TEMP, true, 0, s->error);
				smtpc_finish(s);
			}
		} else if (s->cfg.tls == SMTPC_TLS_REQUIRED) {
			fail(s, 450, text, true);
		} else { /* RFC 3207 4: go on without TLS */
			s->cfg.tls = SMTPC_TLS_NO;
			after_hello(s);
		}
		break;
	case SMTPC_AUTH_USER:
	case SMTPC_AUTH_PASS:
		if (code == 334) {
			const char *v = s->state == SMTPC_AUTH_USER ? s->cfg.user
			                                           : s->cfg.pass;
			char b64[400];
			if (!base64_encode(v, strlen(v), b64, sizeof b64)) {
				fail(s, 0, "relay credentials too long", false);
				break;
			}
			cmd(s, "%s", b64);
			memset(b64, 0, sizeof b64);
			s->state = s->state == SMTPC_AUTH_USER ? SMTPC_AUTH_PASS
			                                       : SMTPC_AUTH_PLAIN;
			break;
		}
		/* anything else ends the exchange */
		/* fall through */
	case SMTPC_AUTH_PLAIN:
		if (code == 235) {
			s->authed = true;
			send_envelope(s);
		} else {
			/* Bad relay credentials are the admin's to fix: the
			 * mail waits in the queue meanwhile. */
			fail(s, 450, text, false);
		}
		break;
	case SMTPC_ENVELOPE:
		on_envelope_reply(s, code, text);
		break;
	case SMTPC_DATA:
		on_data_reply(s, code, text);
		break;
	case SMTPC_DOT:
		on_dot_reply(s, code, text);
		break;
	case SMTPC_QUIT:
		smtpc_finish(s);
		break;
	case SMTPC_TLS_WAIT: /* bytes before the handshake: dropped */
	case SMTPC_BODY:     /* a reply before the end of the body */
		snprintf(s->error, sizeof s->error, "unexpected reply: %s",
		         text);
		smtpc_settle_rest(s, SMTPC_TEMP, true, code, text);
		smtpc_finish(s);
		break;
	case SMTPC_DONE:
		break;
	}
}
