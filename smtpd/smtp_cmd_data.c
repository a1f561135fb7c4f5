/* DATA (RFC 5321 4.1.1.4): the 354, the Received: header, streaming the
 * body to the store in pieces of at most SMTP_PIECE_MAX, and the one reply
 * after the terminator.
 *
 * Memory stays bounded whatever the message size: the decoder writes into
 * the job slot's piece buffer; when it is full, an APPEND job takes it to
 * the store and the session reads no input until the job is done (the I/O
 * layer stops reading once its own input buffer is full). The 250 is sent
 * only from the DELIVER job's completion, i.e. after the store's durable
 * commit (DESIGN.md). A refused message (bad bytes, too big, store failure)
 * is still read to its terminator, then answered once and aborted in the
 * store: never a second transaction out of one DATA. */
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

/* RFC 5321 4.4 trace header, prepended to the body:
 *   Received: from HELO (RDNS [IP])
 *   	(using TLS-DESCRIPTION)
 *   	by HOSTNAME (postlite) with ESMTPS id ID
 *   	for <RCPT>; DATE
 * Protocol names per RFC 3848. "for" only with a single recipient: more
 * would tell each recipient who else got the message. HELO was checked by
 * smtp_parse_helo and addresses by the path parser, so nothing here can
 * break the header. */
static int smtp_received(struct smtp_session *s, struct buf *b)
{
	struct smtp_txn *t = s->txn;
	const char *tls = s->tls ? s->io->tls_desc(s->io_ctx) : NULL;
	const char *proto = !s->esmtp ? "SMTP" : s->tls ? "ESMTPS" : "ESMTP";
	bool v6 = strchr(s->peer->ip, ':') != NULL;
	char date[64];

	smtp_date(date, sizeof date, time(NULL));
	if (buf_printf(b, "Received: from %s (%s%s[%s%s])\r\n", s->helo,
	               s->peer->rdns ? s->peer->rdns : "",
	               s->peer->rdns ? " " : "", v6 ? "IPv6:" : "",
	               s->peer->ip) < 0)
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

void smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_txn *t = s->txn;

	/* RFC 5321 3.3: DATA without an accepted recipient. */
	if (t->nrcpt == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	/* Queue id: the session id (unique per process start) and a
	 * per-session count; it ties the log, the header and the reply. */
	snprintf(t->id, sizeof t->id, "%s.%u", s->sid, ++s->ntxn);
	smtp_data_init(&t->dec, s->cfg.max_message_size);
	t->in_data = true;
	t->discard = false;
	t->failed = STORE_OK;
	t->msg = 0;
	buf_reset(&s->job.piece);
	if (smtp_received(s, &s->job.piece) < 0) {
		t->failed = STORE_TEMPFAIL; /* out of memory: 451 at the end */
		t->discard = true;
		buf_free(&s->job.piece);
	}
	/* 354 is not 2xx/4xx/5xx: no enhanced code (RFC 3463 2). */
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* The final reply for the message, once it is delivered or given up. */
static void smtp_data_reply(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	unsigned f = t->dec.flags;

	if (f & SMTP_DATA_BAD_BYTES) {
		/* RFC 5321 2.3.8 / 4.1.1.4: SMTP smuggling defence. */
		log_info(s->sid, "refused id=%s bare_lf=%d bare_cr=%d "
		         "nul=%d", t->id, !!(f & SMTP_DATA_BARE_LF),
		         !!(f & SMTP_DATA_BARE_CR), !!(f & SMTP_DATA_NUL));
		smtp_reply(s, "554 5.6.0 Message refused: bare CR, bare LF or "
		              "NUL in message");
	} else if (f & SMTP_DATA_TOO_BIG) {
		log_info(s->sid, "refused id=%s too big", t->id);
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
	} else if (t->failed != STORE_OK) {
		log_warn(s->sid, "not stored id=%s status=%s", t->id,
		         store_status_name(t->failed));
		smtp_reply(s, "451 4.3.0 Temporary failure storing the "
		              "message, try again later");
	} else {
		log_info(s->sid, "queued id=%s size=%llu nrcpt=%u "
		         "msg=%llu long_lines=%d", t->id,
		         (unsigned long long)t->dec.octets, t->nrcpt,
		         (unsigned long long)s->job.mailbox,
		         !!(f & SMTP_DATA_LONG_LINE));
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", t->id);
	}
	/* RFC 5321 4.1.1.4: the transaction ends with DATA, either way. */
	smtp_txn_free(s);
}

/* The terminator has been read. */
static void smtp_data_end(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	t->in_data = false;
	if (t->dec.flags & (SMTP_DATA_BAD_BYTES | SMTP_DATA_TOO_BIG) ||
	    t->failed != STORE_OK) {
		if (t->msg) {
			s->job.msg = t->msg;
			smtp_job_submit(s, SMTP_JOB_ABORT);
			return;
		}
		smtp_data_reply(s);
		return;
	}
	uint64_t *mbox = malloc(t->nrcpt * sizeof *mbox);
	if (!mbox) {
		t->failed = STORE_TEMPFAIL;
		smtp_data_end(s);
		return;
	}
	for (unsigned i = 0; i < t->nrcpt; i++)
		mbox[i] = t->rcpt[i].mailbox;
	s->job.mbox = mbox;
	s->job.nmbox = t->nrcpt;
	s->job.msg = t->msg; /* 0: a small message, created by deliver */
	smtp_job_submit(s, SMTP_JOB_DELIVER);
}

void smtp_data_done(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	switch (s->job.kind) {
	case SMTP_JOB_APPEND:
		/* t->msg was updated by smtp_job_done. */
		buf_reset(&s->job.piece);
		if (s->job.status != STORE_OK) {
			t->failed = s->job.status;
			t->discard = true;
			buf_free(&s->job.piece);
		}
		return; /* keep reading the body */
	case SMTP_JOB_DELIVER:
		free(s->job.mbox);
		s->job.mbox = NULL;
		if (s->job.status != STORE_OK)
			t->failed = s->job.status;
		smtp_data_reply(s);
		return;
	case SMTP_JOB_ABORT:
		smtp_data_reply(s);
		return;
	case SMTP_JOB_RCPT:
		return;
	}
}

bool smtp_data_input(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	struct buf *piece = &s->job.piece;
	char *out = NULL;
	size_t cap = 0, used, produced;

	if (!t->discard) {
		if (buf_room(piece) < 2) {
			s->job.msg = t->msg;
			smtp_job_submit(s, SMTP_JOB_APPEND);
			return false;
		}
		/* Output never exceeds input by more than one held-back
		 * byte, so this much room is always enough. */
		cap = buf_room(piece);
		if (cap > s->in->len + 2)
			cap = s->in->len + 2;
		out = buf_reserve(piece, cap);
		if (!out) {
			t->failed = STORE_TEMPFAIL;
			t->discard = true;
			buf_free(piece);
		}
	}
	enum smtp_data_result r = smtp_data_decode(
		&t->dec, s->in->data, s->in->len, out, cap, &used, &produced);
	if (out)
		buf_commit(piece, produced);
	buf_consume(s->in, used);
	if (!t->discard &&
	    (t->dec.flags & (SMTP_DATA_BAD_BYTES | SMTP_DATA_TOO_BIG))) {
		/* Refused whatever follows: stop keeping bytes now. */
		t->discard = true;
		buf_free(piece);
	}
	switch (r) {
	case SMTP_DATA_END:
		smtp_data_end(s);
		return !s->busy;
	case SMTP_DATA_OUT_FULL:
		return true; /* the next round submits the full piece */
	case SMTP_DATA_NEED_MORE:
		break;
	}
	return false;
}
