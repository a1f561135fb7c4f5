/* POP3 session: lifecycle, the input loop, the command tables and the one
 * place their policy is enforced. Commands live in pop3_cmd_*.c. */
#include "pop3_session.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pop3_priv.h"

/* Policy columns of the command tables. */
#define POP3_F_CRED 0x01     /* carries credentials: refused before TLS
                                unless cfg.plaintext_auth (DESIGN.md) */
#define POP3_F_USER_SEQ 0x02 /* does not cancel a pending USER: RFC 1939 7
                                wants PASS immediately after USER */
/* No "ends the pipeline" column: a handler that must stop the reading of
 * pipelined input (STLS: RFC 2595 4; QUIT; anything that starts a job or a
 * multi-line response) sets session state that pop3_ready() checks. */

struct pop3_row {
	enum pop3_verb verb;
	pop3_handler fn;
	unsigned flags;
};

/* RFC 1939 4: AUTHORIZATION. RFC 2449 5: CAPA in every state. */
static const struct pop3_row auth_rows[] = {
	{ POP3_CMD_USER, pop3_cmd_user, POP3_F_CRED | POP3_F_USER_SEQ },
	{ POP3_CMD_PASS, pop3_cmd_pass, POP3_F_CRED | POP3_F_USER_SEQ },
	{ POP3_CMD_AUTH, pop3_cmd_auth, POP3_F_CRED },
	{ POP3_CMD_CAPA, pop3_cmd_capa, 0 },
	{ POP3_CMD_STLS, pop3_cmd_stls, 0 },
	{ POP3_CMD_UTF8, pop3_cmd_utf8, 0 }, /* RFC 6856 2 */
	{ POP3_CMD_QUIT, pop3_cmd_quit_auth, 0 },
};

/* RFC 1939 5: TRANSACTION. */
static const struct pop3_row trans_rows[] = {
	{ POP3_CMD_STAT, pop3_cmd_stat, 0 },
	{ POP3_CMD_LIST, pop3_cmd_list, 0 },
	{ POP3_CMD_UIDL, pop3_cmd_uidl, 0 },
	{ POP3_CMD_RETR, pop3_cmd_retr, 0 },
	{ POP3_CMD_TOP, pop3_cmd_top, 0 },
	{ POP3_CMD_DELE, pop3_cmd_dele, 0 },
	{ POP3_CMD_RSET, pop3_cmd_rset, 0 },
	{ POP3_CMD_NOOP, pop3_cmd_noop, 0 },
	{ POP3_CMD_CAPA, pop3_cmd_capa, 0 },
	{ POP3_CMD_QUIT, pop3_cmd_quit_trans, 0 },
};

/* RFC 1939 6: UPDATE takes no commands; the session closes once the
 * expunge job is done (and no input is read while it runs). */
static const struct {
	const struct pop3_row *rows;
	size_t n;
} state_table[] = {
	[POP3_STATE_AUTHORIZATION] = { auth_rows,
	                               sizeof auth_rows / sizeof auth_rows[0] },
	[POP3_STATE_TRANSACTION] = { trans_rows,
	                             sizeof trans_rows / sizeof trans_rows[0] },
	[POP3_STATE_UPDATE] = { NULL, 0 },
};

static const struct pop3_row *row_lookup(enum pop3_state st,
                                         enum pop3_verb v)
{
	for (size_t i = 0; i < state_table[st].n; i++)
		if (state_table[st].rows[i].verb == v)
			return &state_table[st].rows[i];
	return NULL;
}

/* Ready to read the next command? */
static bool pop3_ready(const struct pop3_session *s)
{
	return !s->busy && !s->gone && !s->closing && !s->tls_pending &&
	       s->stream.kind == POP3_STREAM_NONE;
}

/* Tells the I/O layer that held-back input can be processed now. Never
 * called from pop3_session_input itself, so a partial line cannot make the
 * layer and the session call each other in a loop. */
static void pop3_kick(struct pop3_session *s)
{
	if (pop3_ready(s))
		s->io->resume(s->io_ctx);
}

static void pop3_free(struct pop3_session *s)
{
	pop3_maildrop_release(s);
	pop3_ahead_drop(s);
	/* The struct held a user name and line copies: leave nothing. */
	explicit_bzero(s, sizeof *s);
	free(s);
}

/* Every entry point brackets its work with enter/leave, so a closed()
 * arriving in the middle (say, from inside io->close) only marks the
 * session; the outermost leave frees it. Touch nothing after leave. */
static void pop3_enter(struct pop3_session *s)
{
	s->depth++;
}

static void pop3_leave(struct pop3_session *s)
{
	if (--s->depth == 0 && s->gone && !s->busy)
		pop3_free(s);
}

static void pop3_job_done(struct job *j)
{
	struct pop3_session *s =
	        (struct pop3_session *)((char *)j -
	                                offsetof(struct pop3_session, job.j));
	s->busy = false;
	pop3_enter(s);
	s->job.complete(s);
	pop3_kick(s);
	pop3_leave(s);
}

bool pop3_submit(struct pop3_session *s, struct runner *r,
                 void (*work)(struct job *j, void *wctx),
                 void (*complete)(struct pop3_session *s))
{
	if (s->gone || s->closing)
		return false;
	s->job.j.work = work;
	s->job.j.done = pop3_job_done;
	s->job.complete = complete;
	s->busy = true;
	runner_submit(r, &s->job.j);
	return true;
}

void pop3_delay(struct pop3_session *s, unsigned ms,
                void (*complete)(struct pop3_session *s))
{
	if (!s->cfg.clock || ms == 0) {
		complete(s);
		return;
	}
	s->job.j.work = NULL; /* a clock calls done only */
	s->job.j.done = pop3_job_done;
	s->job.complete = complete;
	s->busy = true;
	s->cfg.clock->delay(s->cfg.clock, &s->job.j, ms);
}

void pop3_sasl_mode(struct pop3_session *s, bool on)
{
	s->sasl = on;
	linereader_init(&s->lr, on ? POP3_SASL_LINE_MAX : POP3_LINE_MAX);
}

/* ---- the policy loop ------------------------------------------------- */

static const char *parse_error_text(enum pop3_parse_status st,
                                    const struct pop3_cmd *c)
{
	switch (st) {
	case POP3_PARSE_EMPTY:
		return "-ERR Empty command.";
	case POP3_PARSE_TOO_LONG:
		return "-ERR Command line too long.";
	case POP3_PARSE_BAD_CHAR:
		return "-ERR Invalid character in command.";
	case POP3_PARSE_UNKNOWN:
		return "-ERR Unknown command.";
	case POP3_PARSE_MISSING_ARG:
		return "-ERR Missing argument.";
	case POP3_PARSE_EXTRA_ARG:
		return "-ERR Too many arguments.";
	case POP3_PARSE_EMPTY_ARG:
		return "-ERR Arguments are separated by a single space.";
	case POP3_PARSE_ARG_TOO_LONG:
		return "-ERR Argument too long.";
	case POP3_PARSE_BAD_NUMBER:
		if (c->verb == POP3_CMD_TOP && c->errarg == 1)
			return "-ERR Invalid line count.";
		return "-ERR Invalid message number.";
	case POP3_PARSE_OK:
		break;
	}
	return "-ERR Syntax error.";
}

/* Check, then proceed: framing, grammar, state, TLS policy, syntax; only a
 * command that passes all of them reaches its handler. */
static void pop3_line(struct pop3_session *s, enum lr_result r, size_t n)
{
	switch (r) {
	case LR_TOO_LONG: /* RFC 2449 4: 255 octets with CRLF */
		pop3_bad(s, "-ERR Command line too long.");
		return;
	case LR_NUL:
		pop3_bad(s, "-ERR NUL byte in command.");
		return;
	case LR_BARE_LF: /* RFC 1939 3: commands end with CRLF */
		pop3_bad(s, "-ERR Command line must end with CRLF.");
		return;
	default:
		break;
	}

	struct pop3_cmd c;
	enum pop3_parse_status st = pop3_parse(s->line, n, &c);
	const struct pop3_row *row =
	        st >= POP3_PARSE_MISSING_ARG || st == POP3_PARSE_OK
	                ? row_lookup(s->state, c.verb)
	                : NULL;
	if (!row || !(row->flags & POP3_F_USER_SEQ) || st != POP3_PARSE_OK) {
		s->have_user = false;
		explicit_bzero(s->user, sizeof s->user);
	}
	if (st != POP3_PARSE_OK && st < POP3_PARSE_MISSING_ARG) {
		pop3_bad(s, parse_error_text(st, &c));
		return;
	}
	if (!row) {
		pop3_bad(s, "-ERR Command not valid in this state.");
		return;
	}
	if ((row->flags & POP3_F_CRED) && !s->tls && !s->cfg.plaintext_auth) {
		pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed "
		              "on non-secure (SSL/TLS) connections.");
		return;
	}
	if (st != POP3_PARSE_OK) {
		pop3_bad(s, parse_error_text(st, &c));
		return;
	}
	row->fn(s, &c);
}

void pop3_session_input(struct pop3_session *s)
{
	pop3_enter(s);
	while (pop3_ready(s)) {
		if (pop3_out_full(s)) {
			/* PIPELINING must not let a client queue unbounded
			 * replies; drain() resumes. */
			s->out_full = true;
			break;
		}
		struct lr_view v;
		enum lr_result r = linereader_next(&s->lr, s->in->data,
		                                   s->in->len, &v);
		/* Input may hold a password: consumed without a copy
		 * left behind. */
		if (r == LR_NEED_MORE) {
			buf_consume_wipe(s->in, v.consumed);
			break;
		}
		size_t n = 0;
		if (r == LR_LINE) {
			if (v.len > s->lr.max || v.len >= sizeof s->line) {
				r = LR_TOO_LONG; /* cannot happen: lr.max */
			} else {
				n = v.len;
				memcpy(s->line, v.line, n);
			}
		}
		/* Consume before handling: STLS discards the input buffer. */
		buf_consume_wipe(s->in, v.consumed);
		if (s->sasl)
			pop3_sasl_response(s, r, n);
		else
			pop3_line(s, r, n);
		explicit_bzero(s->line, n);
	}
	pop3_leave(s);
}

/* ---- entry points ---------------------------------------------------- */

struct pop3_session *pop3_session_new(const struct pop3_session_cfg *cfg,
                                      const struct session_peer *peer,
                                      const struct session_io *io,
                                      void *io_ctx,
                                      struct runner *store_runner,
                                      struct runner *auth_runner,
                                      struct buf *in)
{
	struct pop3_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	/* Copied: the connection's strings may go before a job's done. */
	snprintf(s->sid, sizeof s->sid, "%s", peer->sid ? peer->sid : "-");
	snprintf(s->ip, sizeof s->ip, "%s", peer->ip ? peer->ip : "-");
	s->io = io;
	s->io_ctx = io_ctx;
	s->store_runner = store_runner;
	s->auth_runner = auth_runner;
	s->in = in;
	linereader_init(&s->lr, POP3_LINE_MAX);
	s->state = POP3_STATE_AUTHORIZATION;
	s->tls = peer->tls || cfg->implicit_tls;
	s->over_limit = peer->over_limit; /* counted by the I/O layer */
	if (!s->cfg.max_bad)
		s->cfg.max_bad = POP3_MAX_BAD;
	if (!s->cfg.max_bad_trans)
		s->cfg.max_bad_trans = POP3_MAX_BAD_TRANS;
	return s;
}

void pop3_session_start(struct pop3_session *s)
{
	if (s->over_limit != CLIENTS_OK) {
		bool addr = s->over_limit == CLIENTS_TOO_MANY_ADDR;
		log_info(s->sid, "refused ip=%s: %s", s->ip,
		         clients_reason(s->over_limit));
		/* RFC 3206 4: SYS/TEMP, a condition that may pass; RFC 1939
		 * 4 lets the greeting be the last reply. [IN-USE] is for a
		 * locked maildrop, not for this. */
		pop3_reply(s, "-ERR [SYS/TEMP] Too many connections%s, try "
		           "again later.", addr ? " from your address" : "");
		pop3_close(s);
		return;
	}
	/* RFC 1939 4. No APOP timestamp: APOP is not offered. */
	pop3_reply(s, "+OK %s POP3 server ready.",
	           s->cfg.hostname ? s->cfg.hostname : "postlite");
}

void pop3_session_tls_ready(struct pop3_session *s)
{
	pop3_enter(s);
	/* RFC 2595 4: discard all knowledge obtained before TLS. The I/O
	 * layer dropped the buffered plaintext; we drop a pending USER. */
	s->tls = true;
	s->tls_pending = false;
	s->have_user = false;
	s->utf8 = false;
	explicit_bzero(s->user, sizeof s->user);
	pop3_sasl_mode(s, false);
	pop3_kick(s);
	pop3_leave(s);
}

void pop3_session_drain(struct pop3_session *s)
{
	pop3_enter(s);
	if (s->stream.kind == POP3_STREAM_LIST ||
	    s->stream.kind == POP3_STREAM_UIDL)
		pop3_listing_step(s);
	else if (s->stream.kind == POP3_STREAM_MSG && !s->busy)
		pop3_retr_step(s);
	s->out_full = false;
	pop3_kick(s);
	pop3_leave(s);
}

void pop3_session_timeout(struct pop3_session *s)
{
	pop3_enter(s);
	/* RFC 1939 3: autologout; never enters UPDATE, so nothing is
	 * deleted. A line in the middle of a multi-line body would be taken
	 * for message text, so then just go. */
	if (s->stream.kind == POP3_STREAM_NONE)
		pop3_reply(s, "-ERR Disconnected for inactivity.");
	log_info(s->sid, "timeout ip=%s", s->ip);
	s->closing = true;
	pop3_leave(s);
}

void pop3_session_closed(struct pop3_session *s)
{
	s->gone = true;
	if (s->depth == 0 && !s->busy)
		pop3_free(s);
}
