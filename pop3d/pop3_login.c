/* From credentials to the TRANSACTION state (RFC 1939 4, RFC 5034 4):
 * the address throttle, the password check on the auth runner, the delay
 * after a failure, the LOGIN-DELAY policy, then the mailbox lock and the
 * snapshot on the store runner. USER/PASS and AUTH PLAIN both end here,
 * so they cannot differ in replies or timing. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pop3_logins.h"
#include "pop3_priv.h"
#include "throttle.h"

/* ---- step 3: lock and snapshot (store runner) ------------------------ */

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
		pj->flags = calloc(pj->n ? pj->n : 1, 1);
		if (!pj->flags) {
			free(pj->entries);
			pj->entries = NULL;
			pj->st = STORE_TEMPFAIL;
		}
	}
	if (pj->st != STORE_OK)
		store_mailbox_unlock(st, pj->mailbox, pj->token);
}

/* RFC 3206 4 / RFC 2449 8: a store failure is [SYS/TEMP] unless the
 * store says it is permanent (damaged, schema too new). */
static void sys_error(struct pop3_session *s, enum store_status st,
                      const char *what)
{
	log_err(s->sid, "%s failed: %s", what, store_status_name(st));
	if (st == STORE_PERMFAIL)
		pop3_reply(s, "-ERR [SYS/PERM] Mail store unavailable; "
		              "contact the administrator.");
	else
		pop3_reply(s, "-ERR [SYS/TEMP] Mail store unavailable, "
		              "try again later.");
}

static void open_complete(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	struct pop3_maildrop *md = s->md;

	if (j->st != STORE_OK) {
		pop3_maildrop_release(s);
		if (j->st == STORE_INUSE)
			/* RFC 2449 8.1.1 */
			pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by "
			              "another session.");
		else
			sys_error(s, j->st, "mailbox open");
		return;
	}
	/* Absorb the results even if the connection is gone: the lock must
	 * be released by pop3_maildrop_release when the session is freed. */
	md->token = j->token;
	md->locked = true;
	md->e = j->entries;
	md->flags = j->flags;
	md->n = j->n;
	j->entries = NULL;
	j->flags = NULL;
	md->octets = 0;
	for (size_t i = 0; i < md->n; i++)
		md->octets += md->e[i].size;
	s->state = POP3_STATE_TRANSACTION;
	s->bad = 0; /* a user now: counted against max_bad_trans */
	pop3_logins_record(s->cfg.logins, md->mailbox, clock_now(s->cfg.clock));

	char esc[128];
	log_info(s->sid, "login user=%s ip=%s msgs=%zu octets=%llu",
	         log_escape(esc, sizeof esc, j->user, strlen(j->user)), s->ip,
	         md->n, (unsigned long long)md->octets);
	pop3_reply(s, "+OK Logged in.");
}

/* ---- step 2: the password (auth runner) ------------------------------ */

static void auth_work(struct job *j, void *wctx)
{
	struct pop3_job *pj = (struct pop3_job *)j;

	/* store_user_auth hashes a dummy password for unknown users, so
	 * every failure costs the same (STYLE 14). */
	pj->st = wctx ? store_user_auth(wctx, pj->user, pj->pass, &pj->mailbox)
	              : STORE_TEMPFAIL;
	explicit_bzero(pj->pass, sizeof pj->pass);
	if (pj->deny && pj->st == STORE_OK)
		pj->st = STORE_DENIED;
}

static void fail_reply(struct pop3_session *s)
{
	/* RFC 3206 4: [AUTH] -- the credentials were refused. One reply
	 * for unknown users and wrong passwords. */
	pop3_bad(s, "-ERR [AUTH] Authentication failed.");
}

static void throttled_reply(struct pop3_session *s)
{
	/* RFC 3206 4: [SYS/TEMP] -- the client should keep the password
	 * and retry later, not ask the user for another. */
	pop3_reply(s, "-ERR [SYS/TEMP] Too many failed logins from your "
	              "address, try again later.");
}

static void auth_complete(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	char esc[128];

	switch (j->st) {
	case STORE_OK:
		break;
	case STORE_DENIED:
	case STORE_NOTFOUND:
	case STORE_NOTLOCAL:
	case STORE_INVALID:
		pop3_maildrop_release(s);
		log_info(s->sid, "login failed user=%s ip=%s",
		         log_escape(esc, sizeof esc, j->user, strlen(j->user)),
		         s->ip);
		if (s->cfg.throttle)
			throttle_fail(s->cfg.throttle, s->ip, clock_now(s->cfg.clock));
		pop3_delay(s, s->cfg.fail_delay_ms, fail_reply);
		return;
	default:
		pop3_maildrop_release(s);
		sys_error(s, j->st, "auth");
		return;
	}
	s->md->mailbox = j->mailbox;
	/* RFC 2449 8.1.2: the password was right, but too soon. */
	unsigned wait = s->cfg.login_delay
	                        ? pop3_logins_wait(s->cfg.logins, j->mailbox,
	                                           s->cfg.login_delay,
	                                           clock_now(s->cfg.clock))
	                        : 0;
	if (wait) {
		pop3_maildrop_release(s);
		pop3_reply(s, "-ERR [LOGIN-DELAY] Logins to this mailbox are "
		              "%u seconds apart; wait %u more.",
		           s->cfg.login_delay, wait);
		return;
	}
	pop3_submit(s, s->store_runner, open_work, open_complete);
}

/* ---- step 1 ---------------------------------------------------------- */

void pop3_login_start(struct pop3_session *s, const char *user,
                      const char *pass, bool deny)
{
	struct pop3_job *j = &s->job;
	size_t ul = strlen(user), pl = strlen(pass);

	/* STYLE 14: an address that failed too often gets no password
	 * check at all (no hashing for it), after the same delay. */
	if (s->cfg.throttle &&
	    throttle_blocked(s->cfg.throttle, s->ip, clock_now(s->cfg.clock))) {
		log_info(s->sid, "login throttled ip=%s", s->ip);
		pop3_delay(s, s->cfg.fail_delay_ms, throttled_reply);
		return;
	}
	if (ul >= sizeof j->user || pl >= sizeof j->pass) {
		pop3_bad(s, "-ERR [AUTH] Authentication failed.");
		return;
	}
	/* Check, then proceed: the maildrop is allocated before anything is
	 * submitted, so a later failure never needs memory. */
	s->md = calloc(1, sizeof *s->md);
	if (!s->md) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory, try again later.");
		return;
	}
	memcpy(j->user, user, ul + 1);
	memcpy(j->pass, pass, pl + 1);
	j->deny = deny;
	pop3_submit(s, s->auth_runner, auth_work, auth_complete);
}
