/* TRANSACTION state (RFC 1939 5): STAT, LIST, UIDL, DELE, RSET, NOOP, and
 * QUIT, which enters UPDATE (RFC 1939 6). RETR/TOP: pop3_cmd_retr.c. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pop3_priv.h"

long pop3_msg_lookup(struct pop3_session *s, uint32_t msgno)
{
	const struct pop3_maildrop *md = s->md;

	/* The parser guarantees msgno >= 1. */
	if (msgno > md->n) {
		pop3_reply(s, "-ERR no such message");
		return -1;
	}
	if (md->flags[msgno - 1] & MD_DELETED) {
		/* RFC 1939 5: deleted messages may not be referred to. */
		pop3_reply(s, "-ERR message %u already deleted", msgno);
		return -1;
	}
	return (long)(msgno - 1);
}

void pop3_cmd_stat(struct pop3_session *s, const struct pop3_cmd *c)
{
	const struct pop3_maildrop *md = s->md;

	/* RFC 1939 5: deleted messages are not counted. */
	pop3_reply(s, "+OK %zu %llu", md->n - md->ndel,
	           (unsigned long long)(md->octets - md->del_octets));
}

/* The UIDL may fill its array without a NUL: bound it. */
static int uidl_len(const struct store_entry *e)
{
	return (int)strnlen(e->uidl, sizeof e->uidl);
}

void pop3_listing_step(struct pop3_session *s)
{
	const struct pop3_maildrop *md = s->md;
	struct pop3_stream *sm = &s->stream;

	/* A mailbox may list many thousands of messages: stop above the
	 * high-water mark and go on in drain(), like RETR. */
	while (sm->next < md->n) {
		if (pop3_out_full(s))
			return;
		size_t i = sm->next++;
		const struct store_entry *e = &md->e[i];
		if (md->flags[i] & MD_DELETED)
			continue;
		if (sm->kind == POP3_STREAM_LIST)
			pop3_reply(s, "%zu %llu", i + 1,
			           (unsigned long long)e->size);
		else
			pop3_reply(s, "%zu %.*s", i + 1, uidl_len(e), e->uidl);
	}
	pop3_reply(s, ".");
	sm->kind = POP3_STREAM_NONE;
}

static void listing_start(struct pop3_session *s, enum pop3_stream_kind k)
{
	s->stream = (struct pop3_stream){ .kind = k, .next = 0 };
	pop3_listing_step(s);
}

void pop3_cmd_list(struct pop3_session *s, const struct pop3_cmd *c)
{
	const struct pop3_maildrop *md = s->md;

	if (c->argc == 1) {
		long i = pop3_msg_lookup(s, c->num[0]);
		if (i >= 0)
			pop3_reply(s, "+OK %u %llu", c->num[0],
			           (unsigned long long)md->e[i].size);
		return;
	}
	pop3_reply(s, "+OK %zu messages (%llu octets)", md->n - md->ndel,
	           (unsigned long long)(md->octets - md->del_octets));
	listing_start(s, POP3_STREAM_LIST);
}

void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_cmd *c)
{
	const struct pop3_maildrop *md = s->md;

	if (c->argc == 1) {
		long i = pop3_msg_lookup(s, c->num[0]);
		if (i >= 0)
			pop3_reply(s, "+OK %u %.*s", c->num[0],
			           uidl_len(&md->e[i]), md->e[i].uidl);
		return;
	}
	pop3_reply(s, "+OK");
	listing_start(s, POP3_STREAM_UIDL);
}

void pop3_cmd_dele(struct pop3_session *s, const struct pop3_cmd *c)
{
	struct pop3_maildrop *md = s->md;
	long i = pop3_msg_lookup(s, c->num[0]);

	if (i < 0)
		return;
	/* Only a mark: RFC 1939 6 deletes in the UPDATE state. */
	md->flags[i] |= MD_DELETED;
	md->ndel++;
	md->del_octets += md->e[i].size;
	pop3_reply(s, "+OK message %u deleted", c->num[0]);
}

void pop3_cmd_rset(struct pop3_session *s, const struct pop3_cmd *c)
{
	struct pop3_maildrop *md = s->md;

	pop3_ahead_drop(s); /* it left out the messages RSET brings back */
	for (size_t i = 0; i < md->n; i++)
		md->flags[i] &= (unsigned char)~MD_DELETED;
	md->ndel = 0;
	md->del_octets = 0;
	pop3_reply(s, "+OK maildrop has %zu messages (%llu octets)", md->n,
	           (unsigned long long)md->octets);
}

void pop3_cmd_noop(struct pop3_session *s, const struct pop3_cmd *c)
{
	pop3_reply(s, "+OK");
}

/* ---- UPDATE (RFC 1939 6) --------------------------------------------- */

static void quit_work(struct job *j, void *wctx)
{
	struct pop3_job *pj = (struct pop3_job *)j;

	if (!wctx) {
		pj->st = STORE_TEMPFAIL;
		return;
	}
	/* One durable transaction (none when there is nothing to do); then
	 * the lock goes, success or not. */
	pj->st = store_mailbox_update(wctx, pj->mailbox, pj->ids, pj->nids,
	                              pj->nseen ? pj->ids + pj->nids : NULL,
	                              pj->nseen,
	                              pj->expire, pj->now, &pj->expired);
	store_mailbox_unlock(wctx, pj->mailbox, pj->token);
	pj->unlocked = true;
}

static void quit_complete(struct pop3_session *s)
{
	struct pop3_job *j = &s->job;
	size_t deleted = j->nids;

	free(j->ids);
	j->ids = NULL;
	j->nids = j->nseen = 0;
	if (j->unlocked)
		s->md->locked = false;
	if (j->st == STORE_OK) {
		log_info(s->sid, "logout deleted=%zu expired=%zu", deleted,
		         j->expired);
		pop3_reply(s, deleted ? "+OK Logging out, messages deleted."
		                      : "+OK Logging out.");
	} else {
		/* RFC 1939 6 allows -ERR here; RFC 2449 8: [SYS/TEMP]. */
		log_err(s->sid, "expunge failed: %s", store_status_name(j->st));
		pop3_reply(s, "-ERR [SYS/TEMP] Deleting messages failed; none "
		              "were deleted.");
	}
	/* Space reclaim is housekeeping: it runs in the release job, after
	 * the reply above (PROFILE.md 7: it took most of QUIT's time). */
	s->md->reclaim = j->st == STORE_OK && deleted + j->expired > 0;
	pop3_maildrop_release(s); /* still locked only if quit_work could not */
	pop3_close(s);
}

void pop3_cmd_quit_trans(struct pop3_session *s, const struct pop3_cmd *c)
{
	struct pop3_maildrop *md = s->md;
	struct pop3_job *j = &s->job;

	pop3_ahead_drop(s);
	/* ids: the deleted entries, then (under an expire policy) the
	 * retrieved ones that are not deleted. */
	size_t nseen = 0;
	for (size_t i = 0; s->cfg.expire && i < md->n; i++)
		nseen += md->flags[i] == MD_RETRIEVED;
	j->ids = NULL;
	j->nids = j->nseen = 0;
	if (md->ndel + nseen) {
		j->ids = malloc((md->ndel + nseen) * sizeof *j->ids);
		if (!j->ids) {
			/* RFC 1939 6: reply, then close and unlock anyway. */
			pop3_reply(s, "-ERR [SYS/TEMP] Out of memory; no messages "
			              "were deleted.");
			pop3_close(s);
			return;
		}
		for (size_t i = 0; i < md->n; i++)
			if (md->flags[i] & MD_DELETED)
				j->ids[j->nids++] = md->e[i].id;
		for (size_t i = 0; nseen && i < md->n; i++)
			if (md->flags[i] == MD_RETRIEVED)
				j->ids[j->nids + j->nseen++] = md->e[i].id;
	}
	j->expire = s->cfg.expire;
	j->now = (int64_t)clock_now(s->cfg.clock);
	j->expired = 0;
	j->mailbox = md->mailbox;
	j->token = md->token;
	j->unlocked = false;
	s->state = POP3_STATE_UPDATE;
	if (!pop3_submit(s, s->store_runner, quit_work, quit_complete)) {
		free(j->ids);
		j->ids = NULL;
	}
}
