/* RETR and TOP (RFC 1939 5, 7): the message streams from the read-ahead
 * (pop3_ahead.c) through the dot-stuffing filter (pop3_stuff.h), one read
 * job whenever the bytes needed next are not there, started as soon as
 * the bytes read before are all sent, even into full output. Memory per
 * session stays bounded whatever the message size: one read-ahead of at
 * most POP3_AHEAD_BUDGET, plus output up to POP3_READ_PIECE above
 * SESSION_OUT_HIGH (dot-stuffing may grow it by half). */
#include <stdlib.h>

#include "log.h"
#include "pop3_priv.h"

static void read_work(struct job *j, void *wctx)
{
	struct pop3_job *pj = (struct pop3_job *)j;

	pj->st = wctx ? store_entries_read(wctx, pj->mailbox, pj->ahead->piece,
	                                   pj->ahead->n)
	              : STORE_TEMPFAIL;
}

/* The message cannot be sent: -ERR while nothing is sent, else hang up. */
static void msg_fail(struct pop3_session *s, const char *why)
{
	const struct pop3_stream *sm = &s->stream;

	log_err(s->sid, "read of entry %llu failed: %s",
	        (unsigned long long)s->md->e[sm->index].id, why);
	pop3_ahead_drop(s);
	s->stream.kind = POP3_STREAM_NONE;
	if (!sm->started) {
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message, try "
		              "again later.");
		return;
	}
	/* Half a message was sent: no way to say -ERR in the middle. Hang
	 * up; the client sees no terminator. Nothing deleted. */
	pop3_close(s);
}

static void read_complete(struct pop3_session *s)
{
	/* The first piece is the one the stream waits for; a failure of a
	 * later one is met (and reported) when its RETR reads it again. */
	enum store_status st = s->job.st;
	if (st == STORE_OK)
		st = s->ahead->piece[0].status;
	if (st != STORE_OK) {
		msg_fail(s, store_status_name(st));
		return;
	}
	/* Read while the output was still full (pop3_retr_step): drain()
	 * goes on once the client has taken it. */
	if (pop3_out_full(s))
		return;
	pop3_retr_step(s);
}

static bool read_submit(struct pop3_session *s)
{
	struct pop3_stream *sm = &s->stream;

	/* Read ahead only for RETRs in order: TOP, or a client picking
	 * messages here and there, reads just what it asked for. */
	if (!pop3_ahead_plan(s, sm->index, sm->offset, sm->top, sm->in_order))
		return false;
	s->job.mailbox = s->md->mailbox;
	s->job.ahead = s->ahead;
	pop3_submit(s, s->store_runner, read_work, read_complete);
	return true;
}

/* The message is sent whole (or TOP has its lines): the terminator. */
static void msg_end(struct pop3_session *s)
{
	struct pop3_stream *sm = &s->stream;
	const struct store_entry *e = &s->md->e[sm->index];

	if (sm->offset != e->size && !pop3_stuff_done(&sm->f))
		log_warn(s->sid, "entry %llu: read %llu of %llu octets",
		         (unsigned long long)e->id,
		         (unsigned long long)sm->offset,
		         (unsigned long long)e->size);
	pop3_stuff_finish(&sm->f, pop3_emit, s);
	if (!sm->top) { /* retrieved, for the [pop3] expire policy */
		s->md->flags[sm->index] |= MD_RETRIEVED;
		pop3_ahead_passed(s, sm->index);
	}
	sm->kind = POP3_STREAM_NONE;
}

void pop3_retr_step(struct pop3_session *s)
{
	struct pop3_stream *sm = &s->stream;

	do {
		const struct store_piece *p =
		        pop3_ahead_find(s, sm->index, sm->offset);
		if (!p) {
			if (!read_submit(s))
				msg_fail(s, "out of memory");
			return;
		}
		/* The +OK waits for the first bytes, so a store failure can
		 * still be an honest -ERR. RFC 1939 7: the size is the LIST
		 * size. */
		if (!sm->started) {
			sm->started = true;
			if (sm->top)
				pop3_reply(s, "+OK");
			else
				pop3_reply(s, "+OK %llu octets",
				           (unsigned long long)
				                   s->md->e[sm->index].size);
		}
		size_t at = (size_t)(sm->offset - p->offset);
		size_t n = p->got - at;
		if (n > POP3_READ_PIECE)
			n = POP3_READ_PIECE;
		pop3_stuff_feed(&sm->f, (const char *)p->buf + at, n, pop3_emit,
		                s);
		sm->offset += n;
		if (pop3_stuff_done(&sm->f) ||
		    (at + n == p->got && pop3_ahead_ends(s, sm->index, p))) {
			msg_end(s);
			return;
		}
		/* Back-pressure: above the high-water mark, drain() goes on;
		 * but when the bytes read are all sent, the next read starts
		 * now, so it runs while the client takes (on TLS: decrypts)
		 * what is queued, not after. */
	} while (!pop3_out_full(s) ||
	         !pop3_ahead_find(s, sm->index, sm->offset));
}

static void msg_start(struct pop3_session *s, uint32_t msgno, bool top,
                      uint32_t lines)
{
	long i = pop3_msg_lookup(s, msgno);

	if (i < 0)
		return;
	s->stream = (struct pop3_stream){
		.kind = POP3_STREAM_MSG,
		.index = (size_t)i,
		.top = top,
		.in_order = !top && (size_t)i == s->retr_next,
	};
	if (!top)
		s->retr_next = (size_t)i + 1;
	pop3_stuff_init(&s->stream.f, top, lines);
	pop3_retr_step(s);
}

void pop3_cmd_retr(struct pop3_session *s, const struct pop3_cmd *c)
{
	msg_start(s, c->num[0], false, 0);
}

void pop3_cmd_top(struct pop3_session *s, const struct pop3_cmd *c)
{
	/* RFC 1939 7: TOP msg n, n >= 0 (the parser refuses signs). */
	msg_start(s, c->num[0], true, c->num[1]);
}
