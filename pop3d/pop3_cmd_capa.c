/* CAPA (RFC 2449 5, 6), STLS (RFC 2595 4), UTF8 (RFC 6856 2) and QUIT in
 * the AUTHORIZATION state (RFC 1939 4). */
#include "log.h"
#include "pop3_priv.h"

void pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmd *c)
{
	bool auth = s->state == POP3_STATE_AUTHORIZATION;
	/* USER and SASL only where they would be accepted (DESIGN.md: no
	 * password before TLS), and only before login: both are
	 * AUTHORIZATION-state capabilities, as STLS is (RFC 2595 4). */
	bool creds = auth && (s->tls || s->cfg.plaintext_auth);

	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE"); /* RFC 3206 */
	pop3_reply(s, "PIPELINING");
	/* RFC 6856 2: UTF8 without the USER argument, which would promise
	 * SASLprep of names and passwords (we compare them as octets). */
	pop3_reply(s, "UTF8");
	if (creds) {
		pop3_reply(s, "USER");
		pop3_reply(s, "SASL PLAIN"); /* RFC 5034 3 */
	}
	if (auth && !s->tls && s->cfg.tls_available)
		pop3_reply(s, "STLS");
	/* RFC 2449 6.7: the store never deletes mail on its own. */
	if (s->cfg.expire)
		pop3_reply(s, "EXPIRE %u", s->cfg.expire);
	else
		pop3_reply(s, "EXPIRE NEVER");
	if (s->cfg.login_delay) /* RFC 2449 6.8 */
		pop3_reply(s, "LOGIN-DELAY %u", s->cfg.login_delay);
	pop3_reply(s, "IMPLEMENTATION postlite");
	pop3_reply(s, ".");
}

void pop3_cmd_stls(struct pop3_session *s, const struct pop3_cmd *c)
{
	if (s->tls) {
		/* RFC 2595 4 */
		pop3_reply(s, "-ERR Command not permitted when TLS active");
		return;
	}
	if (!s->cfg.tls_available) {
		pop3_reply(s, "-ERR TLS not available.");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	/* No input is read until tls_ready; the I/O layer discards whatever
	 * was pipelined behind STLS. */
	s->tls_pending = true;
	if (s->io->starttls(s->io_ctx) != 0) {
		log_err(s->sid, "starttls failed");
		pop3_close(s);
	}
}

void pop3_cmd_utf8(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* RFC 6856 2: valid before login only (the table sees to that).
	 * Messages go out as stored either way: postlite keeps the octets
	 * it received and does no RFC 6857 downgrade, like Dovecot. */
	s->utf8 = true;
	pop3_reply(s, "+OK UTF8 enabled");
}

void pop3_cmd_quit_auth(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* RFC 1939 4: QUIT here does not enter UPDATE. */
	pop3_reply(s, "+OK Logging out.");
	pop3_close(s);
}
