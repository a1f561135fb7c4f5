/* RETR and TOP (RFC 1939 5, 7): the message streams from the store in
 * POP3_READ_PIECE jobs through the dot-stuffing filter (pop3_stuff.h).
 * Memory per session stays bounded whatever the message size: one piece
 * buffer, plus output up to one piece above SESSION_OUT_HIGH. */
#include <stdlib.h>

#include "log.h"
#include "pop3_priv.h"

static void read_work(struct job *j, void *wctx)
{
	struct pop3_job *pj = (struct pop3_job *)j;

	pj->got = 0;
	pj->st = wctx ? store_entry_read(wctx, pj->mailbox, pj->entry,
	                                 pj->offset, pj->buf, pj->len, &pj->got)
	              : STORE_TEMPFAIL;
}

static void stream_end(struct pop3_session *s)
{
	s->stream.kind = POP3_STREAM_NONE;
	free(s->rbuf);
	s->rbuf = NULL;
}

static void read_complete(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	struct pop3_stream *sm = &s->stream;
	const struct store_entry *e = &s->md->e[sm->index];

	if (j->st != STORE_OK || j->got > j->len) {
		log_err(s->sid, "read of entry %llu failed: %s",
		        (unsigned long long)e->id, store_status_name(j->st));
		stream_end(s);
		if (!sm->started) {
			pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message, "
			              "try again later.");
			return;
		}
		/* Half a message was sent: no way to say -ERR in the middle.
		 * Hang up; the client sees no terminator. Nothing deleted. */
		pop3_close(s);
		return;
	}
	/* The +OK waits for the first piece, so a store failure can still
	 * be an honest -ERR. RFC 1939 7: the size is the LIST size. */
	if (!sm->started) {
		sm->started = true;
		if (sm->top)
			pop3_reply(s, "+OK");
		else
			pop3_reply(s, "+OK %llu octets",
			           (unsigned long long)e->size);
	}
	pop3_stuff_feed(&sm->f, j->buf, j->got, pop3_emit, s);
	sm->offset += j->got;
	if (j->got < j->len || sm->offset >= e->size ||
	    pop3_stuff_done(&sm->f)) {
		if (sm->offset != e->size && !pop3_stuff_done(&sm->f))
			log_warn(s->sid, "entry %llu: read %llu of %llu octets",
			         (unsigned long long)e->id,
			         (unsigned long long)sm->offset,
			         (unsigned long long)e->size);
		pop3_stuff_finish(&sm->f, pop3_emit, s);
		if (!sm->top) /* retrieved, for the [pop3] expire policy */
			s->md->flags[sm->index] |= MD_RETRIEVED;
		stream_end(s);
		return;
	}
	/* Back-pressure: above the high-water mark, drain() goes on. */
	if (!pop3_out_full(s))
		pop3_retr_step(s);
}

void pop3_retr_step(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	struct pop3_stream *sm = &s->stream;

	j->mailbox = s->md->mailbox;
	j->entry = s->md->e[sm->index].id;
	j->offset = sm->offset;
	j->buf = s->rbuf;
	j->len = POP3_READ_PIECE;
	j->got = 0;
	pop3_submit(s, s->store_runner, read_work, read_complete);
}

static void msg_start(struct pop3_session *s, uint32_t msgno, bool top,
                      uint32_t lines)
{
	long i = pop3_msg_lookup(s, msgno);

	if (i < 0)
		return;
	s->rbuf = malloc(POP3_READ_PIECE);
	if (!s->rbuf) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory, try again later.");
		return;
	}
	s->stream = (struct pop3_stream){
		.kind = POP3_STREAM_MSG,
		.index = (size_t)i,
		.top = top,
	};
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
