/* MAIL FROM and RCPT TO (RFC 5321 4.1.1.2-3), with SIZE (RFC 1870) and
 * BODY (RFC 6152). Recipients are checked at RCPT time through the store,
 * never accepted and bounced later; nothing but a local mailbox is ever
 * accepted here (no relay: DESIGN.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp_session_int.h"

static void param_reply(struct smtp_session *s,
                        const struct smtp_path_args *a)
{
	/* RFC 5321 4.1.1.11 / 3.3: 555 for parameters we do not know. The
	 * keyword is [A-Za-z0-9-] (checked by the parser), safe to echo. */
	const struct smtp_view *k = &a->param[a->unknown].key;
	smtp_reply(s, "555 5.5.4 Unsupported parameter %.*s", (int)k->len,
	           k->p);
}

void smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_path_args a;
	char esc[128];

	switch (smtp_parse_mail(c->arg.p, c->arg.len, 0, &a)) {
	case SMTP_ARG_OK:
		break;
	case SMTP_ARG_SYNTAX:
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	case SMTP_ARG_BAD_ADDR:
		smtp_reply(s, "501 5.1.7 Bad sender address syntax");
		return;
	case SMTP_ARG_TOO_LONG:
		smtp_reply(s, "501 5.1.7 Sender address too long");
		return;
	case SMTP_ARG_ROUTE:
		smtp_reply(s, "501 5.1.7 Source routes are not accepted");
		return;
	case SMTP_ARG_BAD_PARAM:
		smtp_reply(s, "501 5.5.4 Invalid parameter");
		return;
	}
	if (a.unknown >= 0) {
		param_reply(s, &a);
		return;
	}
	/* RFC 1870 6.1: refuse a declared size over the limit now, before
	 * the client sends it. */
	if (a.has_size && s->cfg.max_message_size &&
	    a.size > s->cfg.max_message_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}

	/* Proceed: the transaction exists from here on (RSET frees it). The
	 * sender is kept for logs and, with issue 3, Return-Path and the
	 * sender-ownership check of authenticated sessions. */
	struct smtp_txn *t = calloc(1, sizeof *t);
	char *sender = t ? strndup(a.path.mailbox.p, a.path.mailbox.len) : NULL;
	if (!sender) {
		free(t);
		smtp_reply(s, "451 4.3.0 Out of memory, try again later");
		return;
	}
	t->sender = sender;
	t->body = a.body;
	s->txn = t;
	s->state = SMTP_STATE_MAIL;
	log_info(s->sid, "mail from=<%s> size=%llu",
	         log_escape(esc, sizeof esc, sender, strlen(sender)),
	         (unsigned long long)(a.has_size ? a.size : 0));
	smtp_reply(s, "250 2.1.0 Ok");
}

void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_path_args a;
	struct smtp_txn *t = s->txn;

	switch (smtp_parse_rcpt(c->arg.p, c->arg.len, 0, &a)) {
	case SMTP_ARG_OK:
		break;
	case SMTP_ARG_SYNTAX:
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	case SMTP_ARG_BAD_ADDR:
		smtp_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	case SMTP_ARG_TOO_LONG:
		smtp_reply(s, "501 5.1.3 Recipient address too long");
		return;
	case SMTP_ARG_ROUTE:
		smtp_reply(s, "501 5.1.3 Source routes are not accepted");
		return;
	case SMTP_ARG_BAD_PARAM:
		smtp_reply(s, "501 5.5.4 Invalid parameter");
		return;
	}
	if (a.unknown >= 0) {
		param_reply(s, &a);
		return;
	}
	/* RFC 5321 4.5.3.1.8: 452 asks the client to send the rest in a
	 * later transaction. */
	if (t->nrcpt >= s->cfg.max_recipients) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	/* RFC 5321 4.1.1.3: a bare <Postmaster> goes to the store as is; it
	 * knows which local postmaster that means. */
	/* The lookup key is the address as written: the store folds case
	 * and refuses what it cannot hold (quoted local parts: 501). */
	memcpy(s->job.addr, a.path.mailbox.p, a.path.mailbox.len);
	s->job.addr[a.path.mailbox.len] = '\0';
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

	log_info(s->sid, "rcpt to=<%s> result=%s",
	         log_escape(esc, sizeof esc, addr, strlen(addr)),
	         store_status_name(st));
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
		if (s->authed) {
			/* Issue 3 / Outbound: authenticated mail for remote
			 * recipients goes to the queue; not yet. */
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
		smtp_reply(s, "451 4.3.0 Temporary lookup failure, try again "
		              "later");
		return;
	}
}
