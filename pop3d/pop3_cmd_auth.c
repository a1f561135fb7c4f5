/* Credentials in the AUTHORIZATION state: USER and PASS (RFC 1939 7) and
 * AUTH PLAIN (RFC 5034 4, RFC 4616), with and without an initial
 * response. The policy loop has already refused all three before TLS
 * (DESIGN.md); both paths end in pop3_login_start. */
#include <string.h>

#include "pop3_priv.h"
#include "sasl.h"

void pop3_cmd_user(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* The parser bounds the name by the line; s->user has room. The
	 * reply is the same for every name: existence is not revealed. */
	memcpy(s->user, c->arg[0].p, c->arg[0].len);
	s->user[c->arg[0].len] = '\0';
	s->have_user = true;
	pop3_reply(s, "+OK");
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_cmd *c)
{
	char pass[POP3_LINE_MAX + 1];

	/* RFC 1939 7: PASS only right after a successful USER. */
	if (!s->have_user) {
		pop3_bad(s, "-ERR No username given.");
		return;
	}
	s->have_user = false;
	memcpy(pass, c->arg[0].p, c->arg[0].len);
	pass[c->arg[0].len] = '\0';
	pop3_login_start(s, s->user, pass, false);
	explicit_bzero(pass, sizeof pass);
	explicit_bzero(s->user, sizeof s->user);
}

/* Decodes a PLAIN message (RFC 4616 2) and starts the login. */
static void plain_login(struct pop3_session *s, const char *b64, size_t n)
{
	struct sasl_plain p;

	switch (sasl_plain_decode(b64, n, &p)) {
	case SASL_OK:
		break;
	case SASL_BAD_BASE64:
		pop3_bad(s, "-ERR Invalid base64 data.");
		return;
	default:
		pop3_bad(s, "-ERR Malformed PLAIN response.");
		return;
	}
	/* RFC 4616 2: an authzid other than the authcid asks to act as
	 * someone else, which nobody may here. It fails like a wrong
	 * password, after the same work, so it reveals nothing. */
	bool deny = p.authzid[0] && strcmp(p.authzid, p.authcid) != 0;
	pop3_login_start(s, p.authcid, p.passwd, deny);
	sasl_wipe(&p, sizeof p);
}

static bool is_plain(const struct pop3_view *v)
{
	static const char name[] = "PLAIN";

	if (v->len != sizeof name - 1)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		char ch = v->p[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch != name[i])
			return false;
	}
	return true;
}

void pop3_cmd_auth(struct pop3_session *s, const struct pop3_cmd *c)
{
	if (c->argc == 0) {
		/* Not in RFC 5034: RFC 1734-era clients (and Dovecot) list
		 * the mechanisms this way. Same list as CAPA's SASL line. */
		pop3_reply(s, "+OK");
		pop3_reply(s, "PLAIN");
		pop3_reply(s, ".");
		return;
	}
	if (!is_plain(&c->arg[0])) {
		pop3_bad(s, "-ERR Unsupported authentication mechanism.");
		return;
	}
	if (c->argc == 2) {
		/* RFC 5034 4: the initial response; "=" is an empty one. */
		plain_login(s, c->arg[1].p, c->arg[1].len);
		return;
	}
	/* RFC 5034 4: an empty challenge is "+" and a space. */
	pop3_reply(s, "+ ");
	pop3_sasl_mode(s, true);
}

void pop3_sasl_response(struct pop3_session *s, enum lr_result r, size_t n)
{
	pop3_sasl_mode(s, false);
	switch (r) {
	case LR_LINE:
		break;
	case LR_TOO_LONG:
		pop3_bad(s, "-ERR Authentication response too long.");
		return;
	default: /* NUL, bare LF: not base64 either way */
		pop3_bad(s, "-ERR Invalid base64 data.");
		return;
	}
	/* RFC 5034 4: "*" cancels; the server MUST answer -ERR. */
	if (sasl_is_cancel(s->line, n)) {
		pop3_reply(s, "-ERR Authentication cancelled by the client.");
		return;
	}
	plain_login(s, s->line, n);
}
