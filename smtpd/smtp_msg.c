/* What DATA (smtp_cmd_data.c) and BDAT (smtp_cmd_bdat.c) share: the trace
 * headers, streaming pieces to the store, and the one reply after the
 * message.
 *
 * Memory stays bounded whatever the message size: the body goes into the
 * job slot's piece buffer; when it is full, an APPEND job takes it to the
 * store and the session reads no input until the job is done (the I/O
 * layer stops reading once its own input buffer is full). The 250 is sent
 * only from the DELIVER job's completion, i.e. after the store's durable
 * commit (DESIGN.md). A refused message (bad bytes, too big, a line over
 * the hard limit, a store failure) is still read to its end, then
 * answered once and aborted in the store: never a second transaction out
 * of one message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "smtp_session_int.h"

/* RFC 5322 3.3 date-time, in local time with its numeric zone. Day and
 * month names are spelled here: strftime's %a/%b follow the locale. */
static void smtp_date(char *out, size_t n, time_t now)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
	                                "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	localtime_r(&now, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	snprintf(out, n, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	         off / 60, off % 60);
}

/* The "with" protocol of RFC 5321 4.4: ESMTP plus S for TLS and A for
 * AUTH (RFC 3848), UTF8SMTP for SMTPUTF8 transactions (RFC 6531 3.7.3);
 * plain SMTP after HELO has no registered variants. */
static void smtp_protocol(const struct smtp_session *s, char *out, size_t n)
{
	if (!s->esmtp) {
		snprintf(out, n, "SMTP");
		return;
	}
	snprintf(out, n, "%s%s%s", s->txn->smtputf8 ? "UTF8SMTP" : "ESMTP",
	         s->tls ? "S" : "", s->authed ? "A" : "");
}

/* RFC 5321 4.4: at final delivery, "Return-Path:" with the reverse-path
 * comes first; then our trace header:
 *   Received: from HELO (RDNS [IP])
 *   	(using TLS-DESCRIPTION)
 *   	by HOSTNAME (postlite) with ESMTPSA id ID
 *   	for <RCPT>; DATE
 * "for" only with a single recipient: more would tell each recipient who
 * else got the message. HELO was checked by smtp_parse_helo and addresses
 * by the path parser, so nothing here can break the header. Every message
 * is delivered locally today; when the outbound queue (issue 9) stores
 * mail for remote recipients, those copies must not get Return-Path. */
static int smtp_trace(struct smtp_session *s, struct buf *b)
{
	struct smtp_txn *t = s->txn;
	const char *tls = s->tls ? s->io->tls_desc(s->io_ctx) : NULL;
	bool v6 = strchr(s->ip, ':') != NULL;
	char date[64], proto[16];

	smtp_date(date, sizeof date, clock_now(s->env->clock));
	smtp_protocol(s, proto, sizeof proto);
	const char *rdns = s->peer ? s->peer->rdns : NULL;
	if (buf_printf(b, "Return-Path: <%s>\r\n", t->sender) < 0 ||
	    buf_printf(b, "Received: from %s (%s%s[%s%s])\r\n", s->helo,
	               rdns ? rdns : "", rdns ? " " : "", v6 ? "IPv6:" : "",
	               s->ip) < 0)
		return -1;
	if (tls && buf_printf(b, "\t(using %s)\r\n", tls) < 0)
		return -1;
	if (buf_printf(b, "\tby %s (postlite) with %s id %s", s->cfg.hostname,
	               proto, t->id) < 0)
		return -1;
	if (t->nrcpt == 1 &&
	    buf_printf(b, "\r\n\tfor <%s>", t->rcpt[0].addr) < 0)
		return -1;
	return buf_printf(b, "; %s\r\n", date);
}

void smtp_msg_begin(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	size_t n;

	/* Queue id: the session id (unique per process start) and a
	 * per-session count, '.' made '-' so that it is an RFC 5322 atom
	 * (RFC 5321 4.4: ID = Atom / msg-id); it ties the log, the header
	 * and the reply. */
	snprintf(t->id, sizeof t->id, "%s-%u", s->sid, ++s->ntxn);
	for (n = 0; t->id[n]; n++)
		if (t->id[n] == '.')
			t->id[n] = '-';
	smtp_data_init(&t->dec, s->cfg.max_message_size);
	t->discard = false;
	t->failed = STORE_OK;
	t->why[0] = '\0';
	t->msg = 0;
	buf_reset(&s->job.piece);
	if (smtp_trace(s, &s->job.piece) < 0)
		smtp_msg_fail(s, STORE_TEMPFAIL, "out of memory");
}

void smtp_msg_fail(struct smtp_session *s, enum store_status status,
                   const char *why)
{
	struct smtp_txn *t = s->txn;

	t->failed = status;
	snprintf(t->why, sizeof t->why, "%s", why);
	t->discard = true;
	buf_free(&s->job.piece);
}

bool smtp_msg_refused(const struct smtp_session *s)
{
	const struct smtp_txn *t = s->txn;
	return (t->dec.flags & (SMTP_DATA_BAD_BYTES | SMTP_DATA_TOO_BIG)) ||
	       t->dec.longest > SMTP_DATA_LINE_HARD_MAX ||
	       t->failed != STORE_OK;
}

void smtp_msg_refusal(struct smtp_session *s, bool counted)
{
	struct smtp_txn *t = s->txn;
	unsigned f = t->dec.flags;
	char text[128];

	if (t->bad_chunk)
		snprintf(text, sizeof text, "554 5.5.4 Message refused: a BDAT "
		         "command was malformed");
	else if (f & SMTP_DATA_BAD_BYTES) /* RFC 5321 2.3.8 / 4.1.1.4 */
		snprintf(text, sizeof text, "554 5.6.0 Message refused: bare "
		         "CR, bare LF or NUL in message");
	else if (t->dec.longest > SMTP_DATA_LINE_HARD_MAX)
		/* 554, a reply RFC 5321 4.3.2 allows after the data ("500"
		 * would answer a command the client did not send). */
		snprintf(text, sizeof text, "554 5.6.0 Message refused: a line "
		         "is longer than %d octets", SMTP_DATA_LINE_HARD_MAX);
	else if (f & SMTP_DATA_TOO_BIG) /* RFC 1870 */
		snprintf(text, sizeof text, "552 5.3.4 Message size exceeds "
		         "fixed limit");
	else
		snprintf(text, sizeof text, "%s", smtp_store_trouble(t->failed));
	if (counted)
		smtp_reply(s, "%s", text);
	else
		smtp_reply_uncounted(s, "%s", text);
}

/* The recipients for the log: "<a>,<b>", each escaped; cut with "..."
 * where out (at least 4 bytes) ends. */
static const char *smtp_msg_rcpts(const struct smtp_txn *t, char *out,
                                  size_t n)
{
	size_t off = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < t->nrcpt; i++) {
		char esc[128];
		const char *a = t->rcpt[i].addr;
		int w = snprintf(out + off, n - off, "%s<%s>", i ? "," : "",
		                 log_escape(esc, sizeof esc, a, strlen(a)));
		if (w < 0 || (size_t)w >= n - off) {
			memcpy(out + (off < n - 4 ? off : n - 4), "...", 4);
			break;
		}
		off += (size_t)w;
	}
	return out;
}

/* The one info line per message, accepted or refused (after Postfix's
 * "queued as"): who sent what to whom, and the verdict. */
static void smtp_msg_log(const struct smtp_session *s, bool refused)
{
	const struct smtp_txn *t = s->txn;
	unsigned f = t->dec.flags;
	char from[128], rcpts[512], user[80] = "", why[280] = "";

	if (s->authed) {
		char esc[64];
		snprintf(user, sizeof user, " user=%s",
		         log_escape(esc, sizeof esc, s->auth_user,
		                    strlen(s->auth_user)));
	}
	log_escape(from, sizeof from, t->sender, strlen(t->sender));
	smtp_msg_rcpts(t, rcpts, sizeof rcpts);
	if (!refused) {
		log_info(s->sid, "queued id=%s ip=%s%s from=<%s> nrcpt=%u to=%s "
		         "size=%llu msg=%llu long_lines=%d", t->id, s->ip, user,
		         from, t->nrcpt, rcpts,
		         (unsigned long long)t->dec.octets,
		         (unsigned long long)s->job.mailbox,
		         !!(f & SMTP_DATA_LONG_LINE));
		return;
	}
	if (t->failed != STORE_OK)
		snprintf(why, sizeof why, " error=\"%s\"", t->why);
	log_info(s->sid, "refused id=%s ip=%s%s from=<%s> nrcpt=%u to=%s "
	         "bare_lf=%d bare_cr=%d nul=%d too_big=%d longest=%zu "
	         "store=%s%s", t->id, s->ip, user, from, t->nrcpt, rcpts,
	         !!(f & SMTP_DATA_BARE_LF), !!(f & SMTP_DATA_BARE_CR),
	         !!(f & SMTP_DATA_NUL), !!(f & SMTP_DATA_TOO_BIG),
	         t->dec.longest, store_status_name(t->failed), why);
}

/* The final reply for the message, once it is delivered or given up. */
static void smtp_msg_reply(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	if (smtp_msg_refused(s)) {
		smtp_msg_log(s, true);
		smtp_msg_refusal(s, true);
		/* RFC 3030 4: chunks still on their way are discarded, and
		 * the client must RSET. */
		if (t->chunking && !s->chunk_last) {
			t->bdat_failed = true;
			return;
		}
	} else {
		smtp_msg_log(s, false);
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", t->id);
		/* A client that delivers is not abusive (after Postfix:
		 * errors count "without delivering mail"). */
		s->errors = 0;
		s->junk = 0;
	}
	/* RFC 5321 4.1.1.4: the transaction ends with the message. */
	smtp_txn_free(s);
}

void smtp_msg_flush(struct smtp_session *s)
{
	s->job.msg = s->txn->msg;
	s->job.append_len = SMTP_PIECE_MAX;
	smtp_job_submit(s, SMTP_JOB_APPEND);
}

void smtp_msg_finish(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	t->in_data = false;
	if (smtp_msg_refused(s)) {
		if (t->msg) {
			s->job.msg = t->msg;
			smtp_job_submit(s, SMTP_JOB_ABORT);
			return;
		}
		smtp_msg_reply(s);
		return;
	}
	uint64_t *mbox = malloc(t->nrcpt * sizeof *mbox);
	if (!mbox) {
		smtp_msg_fail(s, STORE_TEMPFAIL, "out of memory");
		smtp_msg_finish(s);
		return;
	}
	/* Local mailboxes get the message; remote recipients (mailbox 0,
	 * issue 9) go to the outbound queue in the same job. */
	const char **remote = malloc(t->nrcpt * sizeof *remote);
	if (!remote) {
		free(mbox);
		smtp_msg_fail(s, STORE_TEMPFAIL, "out of memory");
		smtp_msg_finish(s);
		return;
	}
	s->job.nmbox = s->job.nremote = 0;
	for (unsigned i = 0; i < t->nrcpt; i++) {
		if (t->rcpt[i].mailbox)
			mbox[s->job.nmbox++] = t->rcpt[i].mailbox;
		else
			remote[s->job.nremote++] = t->rcpt[i].addr;
	}
	s->job.mbox = mbox;
	s->job.remote = remote;
	s->job.sender = t->sender;
	s->job.qflags = (t->body == SMTP_BODY_8BITMIME ? STORE_QUEUE_8BIT : 0) |
	                (t->smtputf8 ? STORE_QUEUE_SMTPUTF8 : 0);
	s->job.msg = t->msg; /* 0: a small message, created by deliver */
	smtp_job_submit(s, SMTP_JOB_DELIVER);
}

void smtp_msg_done(struct smtp_session *s)
{
	switch (s->job.kind) {
	case SMTP_JOB_APPEND:
		/* t->msg was updated by smtp_job_done. The bytes past the
		 * piece begin the next one. */
		buf_consume(&s->job.piece, s->job.append_len);
		if (s->job.status != STORE_OK)
			smtp_msg_fail(s, s->job.status, s->job.why);
		return; /* keep reading the message */
	case SMTP_JOB_DELIVER:
		free(s->job.mbox);
		s->job.mbox = NULL;
		free(s->job.remote);
		s->job.remote = NULL;
		if (s->job.status == STORE_OK && s->job.nremote &&
		    s->env->queue_kick)
			s->env->queue_kick(s->env->queue_arg);
		if (s->job.status != STORE_OK)
			smtp_msg_fail(s, s->job.status, s->job.why);
		smtp_msg_reply(s);
		return;
	default: /* SMTP_JOB_ABORT */
		smtp_msg_reply(s);
		return;
	}
}
