/* The command table and the one loop that enforces it.
 *
 * Policy lives in smtp_cmds[] (after Postfix's smtpd command table): every
 * row says in which states the command is allowed, whether it may run
 * before TLS or AUTH where a listener requires them, whether it exists on
 * the MX port at all, whether it takes an argument, whether it counts as
 * junk, and whether it ends a pipelining group. smtp_dispatch checks all
 * of that before a handler runs, so a handler cannot forget a check;
 * handlers then check their own syntax before they change anything. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "smtp_session_int.h"

#define SMTP_CF_PRE_TLS 0x01u   /* allowed before TLS where TLS is required */
#define SMTP_CF_PRE_AUTH 0x02u  /* allowed before AUTH where it is required */
#define SMTP_CF_NO_ARG 0x04u    /* an argument is a syntax error (501) */
#define SMTP_CF_GROUP_END 0x08u /* RFC 2920 3.1: the client must wait for
                                   this reply before sending more */
#define SMTP_CF_JUNK 0x10u      /* past SMTP_MAX_JUNK, counts as an error */
#define SMTP_CF_SUBMIT 0x20u    /* submission listeners only (AUTH) */

struct smtp_cmd_def {
	enum smtp_verb verb;
	void (*fn)(struct smtp_session *s, const struct smtp_cmd *c);
	unsigned states;        /* SMTP_STATE_* in which it is allowed */
	unsigned flags;         /* SMTP_CF_* */
	const char *bad_state;  /* the reply otherwise (after HELO/EHLO) */
	const char *no_tls;     /* the reply before TLS, if not the usual */
};

#define ANY_TIME (SMTP_CF_PRE_TLS | SMTP_CF_PRE_AUTH)
#define NO_TXN (SMTP_STATE_INIT | SMTP_STATE_READY)

static const struct smtp_cmd_def smtp_cmds[] = {
	{SMTP_VERB_EHLO, smtp_cmd_ehlo, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL, NULL},
	{SMTP_VERB_HELO, smtp_cmd_helo, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END, NULL, NULL},
	{SMTP_VERB_STARTTLS, smtp_cmd_starttls, NO_TXN,
	 ANY_TIME | SMTP_CF_NO_ARG | SMTP_CF_GROUP_END,
	 "503 5.5.1 Mail transaction in progress", NULL},
	/* RFC 4954 4: not during a transaction; 538 before TLS. */
	{SMTP_VERB_AUTH, smtp_cmd_auth, SMTP_STATE_READY,
	 SMTP_CF_PRE_AUTH | SMTP_CF_SUBMIT | SMTP_CF_GROUP_END,
	 "503 5.5.1 AUTH not allowed during a mail transaction",
	 "538 5.7.11 Encryption required for requested authentication "
	 "mechanism"},
	{SMTP_VERB_MAIL, smtp_cmd_mail, SMTP_STATE_READY, 0,
	 "503 5.5.1 Nested MAIL command", NULL},
	{SMTP_VERB_RCPT, smtp_cmd_rcpt, SMTP_STATE_MAIL | SMTP_STATE_RCPT, 0,
	 "503 5.5.1 Need MAIL before RCPT", NULL},
	{SMTP_VERB_DATA, smtp_cmd_data, SMTP_STATE_MAIL | SMTP_STATE_RCPT,
	 SMTP_CF_NO_ARG | SMTP_CF_GROUP_END,
	 "503 5.5.1 Need MAIL and RCPT before DATA", NULL},
	/* RFC 3030 2: BDAT may be pipelined, LAST included. */
	{SMTP_VERB_BDAT, smtp_cmd_bdat,
	 SMTP_STATE_MAIL | SMTP_STATE_RCPT | SMTP_STATE_BDAT, 0,
	 "503 5.5.1 Need MAIL and RCPT before BDAT", NULL},
	{SMTP_VERB_RSET, smtp_cmd_rset, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_NO_ARG | SMTP_CF_JUNK, NULL, NULL},
	{SMTP_VERB_NOOP, smtp_cmd_noop, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END | SMTP_CF_JUNK, NULL, NULL},
	{SMTP_VERB_QUIT, smtp_cmd_quit, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_NO_ARG | SMTP_CF_GROUP_END, NULL, NULL},
	{SMTP_VERB_VRFY, smtp_cmd_vrfy, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END | SMTP_CF_JUNK, NULL, NULL},
	{SMTP_VERB_EXPN, smtp_cmd_expn, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_GROUP_END | SMTP_CF_JUNK, NULL, NULL},
	{SMTP_VERB_HELP, smtp_cmd_help, SMTP_STATES_ALL,
	 ANY_TIME | SMTP_CF_JUNK, NULL, NULL},
	{SMTP_VERB_HTTP, smtp_cmd_http, SMTP_STATES_ALL, ANY_TIME, NULL, NULL},
};

/* A BDAT whose chunk size cannot be read: without a size the chunk's end
 * is unknowable, and whatever we read next could be message text. Only
 * hanging up is safe. */
static void smtp_bdat_unframed(struct smtp_session *s, const char *reply,
                               const char *why)
{
	log_info(s->sid, "BDAT %s, closing", why);
	smtp_reply(s, "%s", reply);
	smtp_close(s);
}

/* BDAT's chunk size is read before any other check: whether the command
 * is refused or not, its octets follow and must be skipped, never run as
 * commands (the SMTP smuggling of RFC 3030). Returns false when the
 * command has been answered (its chunk, if any, is then skipped). */
static bool smtp_bdat_frame(struct smtp_session *s, const struct smtp_cmd *c)
{
	uint64_t size;
	bool last;

	switch (smtp_parse_bdat(c->arg.p, c->arg.len, &size, &last)) {
	case SMTP_BDAT_OK:
		s->chunk_left = s->chunk_size = size;
		s->chunk_last = last;
		s->chunk_keep = false; /* until smtp_cmd_bdat takes it */
		return true;
	case SMTP_BDAT_BAD_MARKER:
		s->chunk_left = s->chunk_size = size;
		s->chunk_keep = false;
		smtp_reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
		/* RFC 3030 4.2: a refused chunk fails the transaction. Its
		 * octets are skipped, so delivering the others would alter
		 * the message: later chunks, LAST too, get the refusal. */
		if (s->txn && (s->state & (SMTP_STATE_MAIL | SMTP_STATE_RCPT |
		                           SMTP_STATE_BDAT))) {
			s->txn->chunking = true;
			s->txn->bdat_failed = true;
			s->txn->bad_chunk = true;
			s->state = SMTP_STATE_BDAT;
		}
		return false;
	case SMTP_BDAT_SYNTAX:
		break;
	}
	smtp_bdat_unframed(s, "501 5.5.4 Syntax: BDAT count [LAST]",
	                   "without a usable size");
	return false;
}

void smtp_line_too_long(struct smtp_session *s, bool bdat)
{
	if (bdat) /* its size went unread */
		smtp_bdat_unframed(s, "500 5.5.2 Line too long",
		                   "line too long");
	else
		smtp_reply(s, "500 5.5.2 Line too long");
}

/* The command table's verdict on a recognised command; replies and
 * returns false when it is refused. */
static bool smtp_allowed(struct smtp_session *s, const struct smtp_cmd_def *row,
                         const struct smtp_cmd *c)
{
	if (!(row->states & s->state)) {
		if (s->state == SMTP_STATE_INIT)
			smtp_reply(s, "503 5.5.1 Send HELO/EHLO first");
		else if (s->state == SMTP_STATE_BDAT) /* RFC 3030 3 */
			smtp_reply(s, "503 5.5.1 %s after BDAT; send RSET",
			           smtp_verb_name(c->verb));
		else
			smtp_reply(s, "%s", row->bad_state);
		return false;
	}
	if ((row->flags & SMTP_CF_SUBMIT) && s->cfg.kind == SMTP_LISTENER_MX) {
		smtp_reply(s, "503 5.5.1 Authentication not enabled");
		return false;
	}
	/* Submission (587) wants TLS, then AUTH, before mail (RFC 8314 3.3,
	 * RFC 6409 4.3); port 465 has TLS from the start. */
	if (s->cfg.kind == SMTP_LISTENER_SUBMISSION && !s->tls &&
	    !s->plain_auth_ok && !(row->flags & SMTP_CF_PRE_TLS)) {
		smtp_reply(s, "%s", row->no_tls ? row->no_tls
		                                 : "530 5.7.0 Must issue a "
		                                   "STARTTLS command first");
		return false;
	}
	if (s->cfg.kind != SMTP_LISTENER_MX && !s->authed &&
	    !(row->flags & SMTP_CF_PRE_AUTH)) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return false;
	}
	if ((row->flags & SMTP_CF_NO_ARG) && c->arg.len > 0) {
		smtp_reply(s, "501 5.5.4 Syntax error (no parameters allowed)");
		return false;
	}
	if ((row->flags & SMTP_CF_JUNK) && ++s->junk > SMTP_MAX_JUNK &&
	    ++s->errors >= SMTP_MAX_ERRORS) {
		log_info(s->sid, "too many junk commands=%u", s->junk);
		smtp_close_421(s, "4.7.0", "Error: too many errors");
		return false;
	}
	return true;
}

void smtp_dispatch(struct smtp_session *s, size_t len)
{
	struct smtp_cmd c;
	const struct smtp_cmd_def *row = NULL;
	char esc[64];

	switch (smtp_parse_command(s->line, len, &c)) {
	case SMTP_CMD_OK:
		break;
	case SMTP_CMD_EMPTY:
		smtp_reply(s, "500 5.5.2 Empty command");
		return;
	case SMTP_CMD_BADCHAR: /* may be an AUTH line: wiped as one */
		sasl_wipe(s->line, len);
		smtp_reply(s, "500 5.5.2 Control character in command");
		return;
	}
	/* The reader takes lines up to MAIL's limit; the rest keep 512. */
	if (len > SMTP_LINE_MAX && c.verb != SMTP_VERB_MAIL) {
		smtp_line_too_long(s, c.verb == SMTP_VERB_BDAT);
		return;
	}
	for (size_t i = 0; i < sizeof smtp_cmds / sizeof smtp_cmds[0]; i++)
		if (smtp_cmds[i].verb == c.verb)
			row = &smtp_cmds[i];
	if (!row) {
		/* The verb only: the line may hold anything, secrets too. */
		log_info(s->sid, "unknown command=\"%s\"",
		         log_escape(esc, sizeof esc, c.name.p, c.name.len));
		smtp_reply(s, "500 5.5.1 Command unrecognized");
		return;
	}
	if (c.verb == SMTP_VERB_BDAT && !smtp_bdat_frame(s, &c))
		return;
	if (smtp_allowed(s, row, &c))
		row->fn(s, &c);
	if (c.verb == SMTP_VERB_AUTH) /* the initial response */
		sasl_wipe(s->line, len);
	/* RFC 2920 3.1: after a group-ending command the client must wait
	 * for the reply. Bytes already here mean it did not; harmless for
	 * us (STARTTLS drops them), but worth one log line. */
	if ((row->flags & SMTP_CF_GROUP_END) && s->in->len > 0 && !s->busy &&
	    !s->pipelining_logged && c.verb != SMTP_VERB_QUIT &&
	    s->sasl == SMTP_SASL_NONE) {
		s->pipelining_logged = true;
		log_info(s->sid, "improper pipelining after %s",
		         smtp_verb_name(c.verb));
	}
}
