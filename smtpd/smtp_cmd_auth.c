/* AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login), submission listeners only.
 *
 * The command table has checked the listener (never on port 25), TLS (538
 * before it, unless the loopback switch is on) and the state (not inside a
 * transaction). Here: a second AUTH is 503, an unknown mechanism 504, bad
 * base64 501 5.5.2, "*" 501 (cancel), an over-long response 500 5.5.6.
 *
 * The password check runs store_user_auth on the auth runner. Unknown
 * users, wrong passwords and disabled users are one answer, "535 5.7.8",
 * after the same pause: the store hashes a dummy for unknown users, and
 * the pause (cfg.auth_fail_delay_ms, longer as the address's failures
 * grow) comes after every failure alike. An address over the throttle's
 * limit gets "454 4.7.0" after the pause and no password check at all.
 *
 * Secrets: the decoded password lives only in the job slot and is wiped by
 * the worker after the check; the command line and responses are wiped
 * from s->line; nothing but the login name (after success) is logged. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "smtp_chars.h"
#include "smtp_session_int.h"
#include "throttle.h"

/* RFC 4954 4: base64 of the prompts "Username:" and "Password:". */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

bool smtp_auth_available(const struct smtp_session *s)
{
	return s->cfg.kind != SMTP_LISTENER_MX && (s->tls || s->plain_auth_ok);
}

static void sasl_wipe_job(struct smtp_session *s)
{
	sasl_wipe(s->job.user, sizeof s->job.user);
	sasl_wipe(s->job.pass, sizeof s->job.pass);
}

/* Sends a challenge; the next line is a response (with a longer limit). */
static void sasl_continue(struct smtp_session *s, enum smtp_sasl step,
                          const char *challenge)
{
	s->sasl = step;
	linereader_init(&s->lr, SMTP_SASL_LINE_MAX);
	/* 334 is not 2xx/4xx/5xx: no enhanced code (RFC 3463 2). */
	smtp_reply(s, "334 %s", challenge);
}

static void sasl_stop(struct smtp_session *s)
{
	s->sasl = SMTP_SASL_NONE;
	linereader_init(&s->lr, SMTP_MAIL_LINE_MAX);
}

/* A failed exchange: counted against the address, answered after the
 * pause. */
static void auth_failed(struct smtp_session *s, const char *why)
{
	time_t now = clock_now(s->env->clock);
	unsigned n = 1;

	sasl_wipe_job(s);
	if (s->env->throttle) {
		throttle_fail(s->env->throttle, s->ip, now);
		n = throttle_count(s->env->throttle, s->ip, now);
	}
	if (n > SMTP_AUTH_DELAY_STEPS)
		n = SMTP_AUTH_DELAY_STEPS;
	log_info(s->sid, "auth failed ip=%s reason=%s", s->ip, why);
	s->delay_throttled = false;
	smtp_job_delay(s, s->cfg.auth_fail_delay_ms * (n ? n : 1));
}

/* The credentials are in the job slot: check them off the loop. */
static void auth_check(struct smtp_session *s)
{
	smtp_job_submit(s, SMTP_JOB_AUTH);
}

/* A decoder's verdict: true to go on; otherwise answered (RFC 4954 4:
 * bad base64 is 501; a malformed message fails like bad credentials). */
static bool sasl_decoded(struct smtp_session *s, enum sasl_result r)
{
	switch (r) {
	case SASL_OK:
		return true;
	case SASL_BAD_BASE64:
		sasl_wipe_job(s);
		smtp_reply(s, "501 5.5.2 Cannot decode response");
		return false;
	case SASL_MALFORMED:
		auth_failed(s, "malformed");
		return false;
	}
	return false;
}

static void auth_plain(struct smtp_session *s, const char *b64, size_t n)
{
	struct sasl_plain p;

	if (!sasl_decoded(s, sasl_plain_decode(b64, n, &p)))
		return;
	/* RFC 4616 2: an authzid other than the login itself would be
	 * acting for someone else, which no one may do here. */
	if (p.authzid[0] && strcasecmp(p.authzid, p.authcid) != 0) {
		sasl_wipe(&p, sizeof p);
		auth_failed(s, "authzid");
		return;
	}
	memcpy(s->job.user, p.authcid, sizeof s->job.user);
	memcpy(s->job.pass, p.passwd, sizeof s->job.pass);
	sasl_wipe(&p, sizeof p);
	auth_check(s);
}

/* LOGIN's user name (initial response or first answer). */
static void auth_login_user(struct smtp_session *s, const char *b64, size_t n)
{
	if (sasl_decoded(s, sasl_login_decode(b64, n, s->job.user,
	                                      sizeof s->job.user)))
		sasl_continue(s, SMTP_SASL_LOGIN_PASS, LOGIN_PASS_PROMPT);
}

void smtp_cmd_auth(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_auth_args a;

	if (s->authed) {
		smtp_reply(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (!smtp_parse_auth(c->arg.p, c->arg.len, &a)) {
		smtp_reply(s, "501 5.5.4 Syntax: AUTH mechanism "
		              "[initial-response]");
		return;
	}
	bool plain = smtp_eq_nocase(a.mech.p, a.mech.len, "PLAIN");
	if (!plain && !smtp_eq_nocase(a.mech.p, a.mech.len, "LOGIN")) {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	/* STYLE.md 14: an address that keeps failing gets no more checks
	 * for a while, only the pause and a temporary refusal. */
	if (s->env->throttle &&
	    throttle_blocked(s->env->throttle, s->ip,
	                     clock_now(s->env->clock))) {
		log_info(s->sid, "auth throttled ip=%s", s->ip);
		s->delay_throttled = true;
		smtp_job_delay(s, s->cfg.auth_fail_delay_ms *
		                      SMTP_AUTH_DELAY_STEPS);
		return;
	}
	sasl_wipe_job(s);
	/* RFC 4954 4: with no initial response the server sends an empty
	 * challenge ("334 ") for PLAIN, the user prompt for LOGIN. */
	if (plain) {
		if (a.resp.len)
			auth_plain(s, a.resp.p, a.resp.len);
		else
			sasl_continue(s, SMTP_SASL_PLAIN, "");
	} else {
		if (a.resp.len)
			auth_login_user(s, a.resp.p, a.resp.len);
		else
			sasl_continue(s, SMTP_SASL_LOGIN_USER, LOGIN_USER_PROMPT);
	}
}

void smtp_auth_response(struct smtp_session *s, size_t len, bool too_long)
{
	enum smtp_sasl step = s->sasl;

	sasl_stop(s);
	if (too_long) {
		sasl_wipe_job(s);
		smtp_reply(s, "500 5.5.6 Authentication exchange line is too "
		              "long");
		return;
	}
	/* RFC 4954 4: "*" cancels the exchange, and the server says 501. */
	if (sasl_is_cancel(s->line, len)) {
		sasl_wipe_job(s);
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		return;
	}
	switch (step) {
	case SMTP_SASL_PLAIN:
		auth_plain(s, s->line, len);
		break;
	case SMTP_SASL_LOGIN_USER:
		auth_login_user(s, s->line, len);
		break;
	case SMTP_SASL_LOGIN_PASS:
		if (sasl_decoded(s, sasl_login_decode(s->line, len, s->job.pass,
		                                      sizeof s->job.pass)))
			auth_check(s);
		break;
	case SMTP_SASL_NONE:
		break;
	}
}

/* The password check came back (SMTP_JOB_AUTH), or the pause after a
 * failure ended (SMTP_JOB_DELAY). */
void smtp_auth_done(struct smtp_session *s)
{
	char esc[128];

	if (s->job.kind == SMTP_JOB_DELAY) {
		if (s->delay_throttled)
			smtp_reply(s, "454 4.7.0 Too many failed "
			              "authentications, try again later");
		else /* RFC 4954 6 */
			smtp_reply(s, "535 5.7.8 Authentication credentials "
			              "invalid");
		return;
	}
	switch (s->job.status) {
	case STORE_OK:
		s->authed = true;
		s->auth_mailbox = s->job.mailbox;
		memcpy(s->auth_user, s->job.user, sizeof s->auth_user);
		sasl_wipe_job(s);
		log_info(s->sid, "auth ok user=%s",
		         log_escape(esc, sizeof esc, s->auth_user,
		                    strlen(s->auth_user)));
		smtp_reply(s, "235 2.7.0 Authentication successful");
		return;
	case STORE_DENIED:
	case STORE_NOTFOUND:
	case STORE_NOTLOCAL:
	case STORE_INVALID:
		auth_failed(s, "credentials");
		return;
	default:
		sasl_wipe_job(s);
		log_warn(s->sid, "auth check failed: %s error=\"%s\"",
		         store_status_name(s->job.status), s->job.why);
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
}
