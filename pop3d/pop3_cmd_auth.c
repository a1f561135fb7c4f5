/* AUTHORIZATION state (RFC 1939 4, 7): USER, PASS, CAPA, STLS, AUTH, QUIT,
 * and the two login jobs: the password check on the auth runner, then the
 * mailbox lock and snapshot on the store runner. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pop3_priv.h"

void pop3_cmd_user(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* The parser bounds the name by the line; s->user has room. The
	 * reply is the same for every name: existence is not revealed. */
	memcpy(s->user, c->arg[0].p, c->arg[0].len);
	s->user[c->arg[0].len] = '\0';
	s->have_user = true;
	pop3_reply(s, "+OK");
}

/* ---- login, step 2: lock and snapshot (store runner) ----------------- */

static void open_work(struct job *j, void *wctx)
{
	struct pop3_job *pj = (struct pop3_job *)j;
	struct store *st = wctx;

	if (!st) {
		pj->st = STORE_TEMPFAIL;
		return;
	}
	pj->st = store_mailbox_lock(st, pj->mailbox, &pj->token);
	if (pj->st != STORE_OK)
		return;
	/* RFC 1939 8 / issue 4: the maildrop is a snapshot taken now. */
	pj->st = store_mailbox_list(st, pj->mailbox, &pj->entries, &pj->n);
	if (pj->st == STORE_OK) {
		pj->deleted = calloc(pj->n ? pj->n : 1, 1);
		if (!pj->deleted) {
			free(pj->entries);
			pj->entries = NULL;
			pj->st = STORE_TEMPFAIL;
		}
	}
	if (pj->st != STORE_OK)
		store_mailbox_unlock(st, pj->mailbox, pj->token);
}

static void open_complete(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	struct pop3_maildrop *md = s->md;

	if (j->st != STORE_OK) {
		pop3_maildrop_release(s);
		if (j->st == STORE_INUSE) {
			/* RFC 2449 8.1.1 */
			pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by "
			              "another session.");
		} else {
			log_err(s->sid, "mailbox open failed: %s",
			        store_status_name(j->st));
			pop3_reply(s, "-ERR [SYS/TEMP] Mailbox unavailable, "
			              "try again later.");
		}
		return;
	}
	/* Absorb the results even if the connection is gone: the lock must
	 * be released by pop3_maildrop_release when the session is freed. */
	md->token = j->token;
	md->locked = true;
	md->e = j->entries;
	md->deleted = j->deleted;
	md->n = j->n;
	j->entries = NULL;
	j->deleted = NULL;
	md->octets = 0;
	for (size_t i = 0; i < md->n; i++)
		md->octets += md->e[i].size;
	s->state = POP3_STATE_TRANSACTION;

	char esc[128];
	log_info(s->sid, "login user=%s ip=%s msgs=%zu octets=%llu",
	         log_escape(esc, sizeof esc, j->user, strlen(j->user)), s->ip,
	         md->n, (unsigned long long)md->octets);
	pop3_reply(s, "+OK Logged in.");
}

/* ---- login, step 1: the password (auth runner) ----------------------- */

static void auth_work(struct job *j, void *wctx)
{
	struct pop3_job *pj = (struct pop3_job *)j;

	pj->st = wctx ? store_user_auth(wctx, pj->user, pj->pass, &pj->mailbox)
	              : STORE_TEMPFAIL;
	explicit_bzero(pj->pass, sizeof pj->pass);
}

static void auth_complete(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	char esc[128];

	switch (j->st) {
	case STORE_OK:
		s->md->mailbox = j->mailbox;
		pop3_submit(s, s->store_runner, open_work, open_complete);
		return;
	case STORE_DENIED:
	case STORE_NOTFOUND:
	case STORE_NOTLOCAL:
	case STORE_INVALID:
		/* One reply for unknown users and wrong passwords, so the
		 * reply reveals nothing (RFC 3206 4: [AUTH]). */
		pop3_maildrop_release(s);
		log_info(s->sid, "login failed user=%s ip=%s",
		         log_escape(esc, sizeof esc, j->user, strlen(j->user)),
		         s->ip);
		pop3_bad(s, "-ERR [AUTH] Authentication failed.");
		return;
	default:
		pop3_maildrop_release(s);
		log_err(s->sid, "auth failed: %s", store_status_name(j->st));
		pop3_reply(s, "-ERR [SYS/TEMP] Authentication unavailable, "
		              "try again later.");
		return;
	}
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_cmd *c)
{
	struct pop3_job *j = &s->job;

	/* RFC 1939 7: PASS only right after a successful USER. */
	if (!s->have_user) {
		pop3_bad(s, "-ERR No username given.");
		return;
	}
	s->have_user = false;
	/* Check, then proceed: the maildrop is allocated before anything is
	 * submitted, so a later failure never needs memory. */
	s->md = calloc(1, sizeof *s->md);
	if (!s->md) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory, try again later.");
		return;
	}
	memcpy(j->user, s->user, sizeof j->user);
	explicit_bzero(s->user, sizeof s->user);
	memcpy(j->pass, c->arg[0].p, c->arg[0].len);
	j->pass[c->arg[0].len] = '\0';
	pop3_submit(s, s->auth_runner, auth_work, auth_complete);
}

void pop3_cmd_auth(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* RFC 5034 4: SASL comes with issue 4; nothing is advertised yet. */
	pop3_reply(s, "-ERR Unsupported authentication mechanism.");
}

void pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmd *c)
{
	bool auth = s->state == POP3_STATE_AUTHORIZATION;

	/* RFC 2449 5, 6. USER only where it would be accepted (DESIGN.md:
	 * no password before TLS); STLS only before TLS (RFC 2595 4). */
	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE"); /* RFC 3206 */
	pop3_reply(s, "PIPELINING");
	if (auth && (s->tls || s->cfg.plaintext_auth))
		pop3_reply(s, "USER");
	if (auth && !s->tls && s->cfg.tls_available)
		pop3_reply(s, "STLS");
	pop3_reply(s, "EXPIRE NEVER");
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

void pop3_cmd_quit_auth(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* RFC 1939 4: QUIT here does not enter UPDATE. */
	pop3_reply(s, "+OK Logging out.");
	pop3_close(s);
}
