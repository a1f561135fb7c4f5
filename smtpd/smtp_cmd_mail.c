/* MAIL FROM and RCPT TO (RFC 5321 4.1.1.2-3), with SIZE (RFC 1870), BODY
 * (RFC 6152), SMTPUTF8 (RFC 6531) and AUTH= (RFC 4954 5, accepted and
 * ignored). Recipients are checked at RCPT time through the store, never
 * accepted and bounced later; nothing but a local mailbox is ever
 * accepted here (no relay: DESIGN.md).
 *
 * Relaying: a recipient outside the local domains is refused with
 * "554 5.7.1" on every listener, except from an authenticated submission
 * session, which gets "451 4.7.1" until the outbound queue exists (issue 9
 * replaces that reply with queueing). Source routes, percent hacks, bang
 * paths, quoted local parts and address literals only ever reach the
 * store as a lookup of the domain after the last "@", which decides
 * local or not: none of them can make us relay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp_session_int.h"
#include "utf8.h"

/* The replies to a MAIL or RCPT argument the parser refused (RFC 3463:
 * X.1.7 is the sender's address, X.1.3 a recipient's). */
struct path_replies {
	const char *syntax, *bad_addr, *too_long, *route;
};

static const struct path_replies mail_replies = {
	"501 5.5.4 Syntax: MAIL FROM:<address>",
	"501 5.1.7 Bad sender address syntax",
	"501 5.1.7 Sender address too long",
	"501 5.1.7 Source routes are not accepted",
};

static const struct path_replies rcpt_replies = {
	"501 5.5.4 Syntax: RCPT TO:<address>",
	"501 5.1.3 Bad recipient address syntax",
	"501 5.1.3 Recipient address too long",
	"501 5.1.3 Source routes are not accepted",
};

/* Replies to r unless it is SMTP_ARG_OK; true when it replied. */
static bool path_refused(struct smtp_session *s, enum smtp_arg_status r,
                         const struct path_replies *rp)
{
	const char *reply = NULL;
	switch (r) {
	case SMTP_ARG_OK:
		return false;
	case SMTP_ARG_SYNTAX:
		reply = rp->syntax;
		break;
	case SMTP_ARG_BAD_ADDR:
		reply = rp->bad_addr;
		break;
	case SMTP_ARG_TOO_LONG:
		reply = rp->too_long;
		break;
	case SMTP_ARG_ROUTE:
		reply = rp->route;
		break;
	case SMTP_ARG_BAD_PARAM:
		reply = "501 5.5.4 Invalid parameter";
		break;
	}
	smtp_reply(s, "%s", reply);
	return true;
}

static void param_reply(struct smtp_session *s,
                        const struct smtp_path_args *a)
{
	/* RFC 5321 4.1.1.11 / 3.3: 555 for parameters we do not know. The
	 * keyword is [A-Za-z0-9-] (checked by the parser), safe to echo. */
	const struct smtp_view *k = &a->param[a->unknown].key;
	smtp_reply(s, "555 5.5.4 Unsupported parameter %.*s", (int)k->len,
	           k->p);
}

/* The reply for a store status other than OK, NOTFOUND, NOTLOCAL and
 * INVALID, at RCPT or after the message. The single place that maps
 * store trouble to SMTP: when store.h gains statuses for a full disk and
 * a full mailbox, they map here to "452 4.3.1 Insufficient system
 * storage" and "452 4.2.2 Mailbox full" (RFC 3463). */
const char *smtp_store_trouble(enum store_status st)
{
	switch (st) {
	case STORE_NOSPACE:
		return "452 4.3.1 Insufficient system storage";
	case STORE_OVERQUOTA:
		return "452 4.2.2 Mailbox full, try again later";
	default:
		return "451 4.3.0 Temporary failure, try again later";
	}
}

void smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_path_args a;
	char esc[128];
	/* RFC 6531 3.3: UTF-8 addresses once SMTPUTF8 was advertised. */
	unsigned flags = s->esmtp ? SMTP_PARSE_UTF8 : 0;

	if (path_refused(s, smtp_parse_mail(c->arg.p, c->arg.len, flags, &a),
	                 &mail_replies))
		return;
	if (a.unknown >= 0) {
		param_reply(s, &a);
		return;
	}
	if (a.smtputf8 && !s->esmtp) { /* not offered after HELO */
		smtp_reply(s, "555 5.5.4 Unsupported parameter SMTPUTF8");
		return;
	}
	if (!a.smtputf8 && smtp_view_is_utf8(&a.path.mailbox)) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
		return;
	}
	/* RFC 6531 3.3 (via RFC 6532): UTF-8, not any 8-bit bytes; they
	 * would go into Return-Path: and the queue as they are. */
	if (!utf8_valid(a.path.mailbox.p, a.path.mailbox.len)) {
		smtp_reply(s, "553 5.6.7 Address is not valid UTF-8");
		return;
	}
	/* RFC 1870 6.1: refuse a declared size over the limit now, before
	 * the client sends it. */
	if (a.has_size && s->cfg.max_message_size &&
	    a.size > s->cfg.max_message_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}

	/* Proceed: the transaction exists from here on (RSET frees it). */
	struct smtp_txn *t = calloc(1, sizeof *t);
	char *sender = t ? strndup(a.path.mailbox.p, a.path.mailbox.len) : NULL;
	if (!sender) {
		free(t);
		smtp_reply(s, "451 4.3.0 Out of memory, try again later");
		return;
	}
	t->sender = sender;
	t->body = a.body;
	t->smtputf8 = a.smtputf8;
	s->txn = t;
	/* Per command at debug: the message's line has the sender. */
	log_debug(s->sid, "mail from=<%s> size=%llu",
	          log_escape(esc, sizeof esc, sender, strlen(sender)),
	          (unsigned long long)(a.has_size ? a.size : 0));
	/* An authenticated sender may send only as an address of their own
	 * (issue 3): the store resolves MAIL FROM like a recipient and it
	 * must land in the login's mailbox, so aliases (issue 5) count as
	 * their owner's. The null sender stays allowed (bounces, RFC 3834
	 * auto-replies). */
	if (s->authed && !a.path.null) {
		memcpy(s->job.addr, a.path.mailbox.p, a.path.mailbox.len);
		s->job.addr[a.path.mailbox.len] = '\0';
		s->job.mailbox = 0;
		smtp_job_submit(s, SMTP_JOB_SENDER);
		return;
	}
	s->state = SMTP_STATE_MAIL;
	smtp_reply(s, "250 2.1.0 Ok");
}

void smtp_mail_done(struct smtp_session *s)
{
	enum store_status st = s->job.status;
	char esc[128];

	/* A full mailbox does not stop its owner from sending. */
	if ((st == STORE_OK || st == STORE_OVERQUOTA) &&
	    s->job.mailbox == s->auth_mailbox) {
		s->state = SMTP_STATE_MAIL;
		smtp_reply(s, "250 2.1.0 Ok");
		return;
	}
	smtp_txn_free(s);
	log_escape(esc, sizeof esc, s->job.addr, strlen(s->job.addr));
	if (st == STORE_OK || st == STORE_NOTFOUND || st == STORE_NOTLOCAL ||
	    st == STORE_INVALID) {
		log_info(s->sid, "sender not owned by login from=<%s>", esc);
		smtp_reply(s, "553 5.7.1 Sender address rejected: not owned "
		              "by the authenticated user");
		return;
	}
	log_warn(s->sid, "sender check from=<%s> result=%s error=\"%s\"", esc,
	         store_status_name(st), s->job.why);
	smtp_reply(s, "%s", smtp_store_trouble(st));
}

/* RFC 5321 4.1.2: "alice" and "\"alice\"" are the same local part. A
 * quoted local part is looked up unquoted (the escapes undone); the store
 * refuses what is no dot-atom then (501). */
static size_t unquote_local(const struct smtp_path *p, char *out)
{
	size_t n = 0;
	for (size_t i = 1; i + 1 < p->local.len; i++) {
		if (p->local.p[i] == '\\')
			i++;
		out[n++] = p->local.p[i];
	}
	out[n++] = '@';
	memcpy(out + n, p->domain.p, p->domain.len);
	n += p->domain.len;
	out[n] = '\0';
	return n;
}

void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_path_args a;
	struct smtp_txn *t = s->txn;
	unsigned flags = s->esmtp ? SMTP_PARSE_UTF8 : 0;

	if (path_refused(s, smtp_parse_rcpt(c->arg.p, c->arg.len, flags, &a),
	                 &rcpt_replies))
		return;
	if (a.unknown >= 0) {
		param_reply(s, &a);
		return;
	}
	if (!t->smtputf8 && smtp_view_is_utf8(&a.path.mailbox)) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
		return;
	}
	if (!utf8_valid(a.path.mailbox.p, a.path.mailbox.len)) {
		smtp_reply(s, "553 5.6.7 Address is not valid UTF-8");
		return;
	}
	/* RFC 5321 4.5.3.1.8: 452 asks the client to send the rest in a
	 * later transaction. */
	if (t->nrcpt >= s->cfg.max_recipients) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	/* The lookup key is the address as written (a bare <Postmaster>
	 * too, RFC 5321 4.1.1.3): the store folds case, resolves aliases
	 * and knows which postmaster is meant. */
	if (a.path.quoted) {
		unquote_local(&a.path, s->job.addr);
	} else {
		memcpy(s->job.addr, a.path.mailbox.p, a.path.mailbox.len);
		s->job.addr[a.path.mailbox.len] = '\0';
	}
	s->job.mailbox = 0;
	smtp_job_submit(s, SMTP_JOB_RCPT);
}

/* Records an accepted recipient; the array grows by doubling and is
 * bounded by max_recipients. */
static bool rcpt_add(struct smtp_txn *t, const char *addr, uint64_t mailbox)
{
	if (t->nrcpt == t->rcpt_cap) {
		unsigned cap = t->rcpt_cap ? t->rcpt_cap * 2 : 4;
		struct smtp_rcpt *r = realloc(t->rcpt, cap * sizeof *r);
		if (!r)
			return false;
		t->rcpt = r;
		t->rcpt_cap = cap;
	}
	char *copy = strdup(addr);
	if (!copy)
		return false;
	t->rcpt[t->nrcpt].addr = copy;
	t->rcpt[t->nrcpt].mailbox = mailbox;
	t->nrcpt++;
	return true;
}

void smtp_rcpt_done(struct smtp_session *s)
{
	char esc[128];
	const char *addr = s->job.addr;
	enum store_status st = s->job.status;

	/* An accepted recipient is in the message's line; a refused one
	 * has only this (at info), store trouble its reason too. */
	log_escape(esc, sizeof esc, addr, strlen(addr));
	if (st == STORE_OK || st == STORE_NOTLOCAL)
		log_debug(s->sid, "rcpt to=<%s> result=%s", esc,
		          store_status_name(st));
	else if (st == STORE_NOTFOUND || st == STORE_INVALID)
		log_info(s->sid, "rcpt to=<%s> result=%s", esc,
		         store_status_name(st));
	else
		log_warn(s->sid, "rcpt to=<%s> result=%s error=\"%s\"", esc,
		         store_status_name(st), s->job.why);
	switch (st) {
	case STORE_OK:
		if (!rcpt_add(s->txn, addr, s->job.mailbox)) {
			smtp_reply(s, "451 4.3.0 Out of memory, try again later");
			return;
		}
		s->state = SMTP_STATE_RCPT;
		smtp_reply(s, "250 2.1.5 Ok");
		return;
	case STORE_NOTFOUND:
		smtp_reply(s, "550 5.1.1 User unknown");
		return;
	case STORE_NOTLOCAL:
		if (s->authed && s->cfg.kind != SMTP_LISTENER_MX &&
		    s->env->queue_kick) {
			/* Issue 9: relayed through the outbound queue;
			 * mailbox 0 marks a remote recipient. */
			if (!rcpt_add(s->txn, addr, 0)) {
				smtp_reply(s, "451 4.3.0 Out of memory, try "
				              "again later");
				return;
			}
			s->state = SMTP_STATE_RCPT;
			smtp_reply(s, "250 2.1.5 Ok");
		} else if (s->authed && s->cfg.kind != SMTP_LISTENER_MX) {
			smtp_reply(s, "451 4.7.1 Relaying not available yet, "
			              "try again later");
		} else {
			smtp_reply(s, "554 5.7.1 Relay access denied");
		}
		return;
	case STORE_INVALID:
		smtp_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	default:
		smtp_reply(s, "%s", smtp_store_trouble(st));
		return;
	}
}
