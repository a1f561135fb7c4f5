/* Read-ahead for RETR and TOP (struct pop3_ahead in pop3_priv.h).
 *
 * A client fetching a mailbox sends RETR 1, RETR 2, ... and waits for each
 * reply. Reading every message in a job of its own costs a round trip to a
 * worker thread per message (PROFILE.md item 7); here one job reads the
 * message asked for and, when the client goes in order, the next ones, up
 * to a byte budget, so most RETRs are answered from memory at once.
 *
 * Correctness does not depend on the guess: the maildrop is the snapshot
 * taken at login, a piece is only used for the message and offset it was
 * read for, and anything not found here is read by a new job. */
#include <stdlib.h>

#include "pop3_priv.h"

void pop3_ahead_drop(struct pop3_session *s)
{
	free(s->ahead);
	s->ahead = NULL;
}

/* Appends a piece of message index from offset, up to len bytes; returns
 * the bytes it takes. A piece that stops short of the message's end stops
 * at a chunk boundary where it can: the store reads a chunk whole whatever
 * part of it is wanted, so a chunk split between two pieces is read twice. */
static uint64_t plan_add(struct pop3_ahead *a, const struct pop3_maildrop *md,
                         size_t index, uint64_t offset, uint64_t len)
{
	uint64_t size = md->e[index].size;
	uint64_t n = offset < size ? size - offset : 0;

	if (n > len) {
		uint64_t end = (offset + len) / STORE_CHUNK_SIZE;
		end *= STORE_CHUNK_SIZE;
		n = end > offset ? end - offset : len;
	}
	a->index[a->n] = index;
	a->piece[a->n] = (struct store_piece){
		.entry = md->e[index].id,
		.offset = offset,
		.len = (size_t)n,
	};
	a->n++;
	return n;
}

bool pop3_ahead_plan(struct pop3_session *s, size_t index, uint64_t offset,
                     bool top, bool more)
{
	const struct pop3_maildrop *md = s->md;
	struct pop3_ahead plan = { 0 };
	uint64_t budget = top ? POP3_READ_PIECE : POP3_AHEAD_BUDGET;

	pop3_ahead_drop(s);
	/* Plan on the stack first: the allocation is then exactly the bytes
	 * planned, which for a single small message is small. */
	uint64_t total = plan_add(&plan, md, index, offset, budget);
	for (size_t i = index + 1; more && i < md->n && total < budget &&
	                           plan.n < POP3_AHEAD_MAX; i++) {
		if (md->flags[i] & MD_DELETED)
			continue;
		/* Whole messages, and the first chunks of one too big for
		 * any read-ahead; one that would fit in the next is left
		 * for it (read in two pieces, it would cost two jobs). */
		uint64_t size = md->e[i].size, room = budget - total;
		if (size > room && (size <= budget || room < STORE_CHUNK_SIZE))
			break;
		total += plan_add(&plan, md, i, 0, budget - total);
	}

	struct pop3_ahead *a = malloc(sizeof *a + (size_t)total);
	if (!a)
		return false;
	*a = plan;
	char *p = a->data;
	for (size_t i = 0; i < a->n; i++) {
		a->piece[i].buf = p;
		p += a->piece[i].len;
	}
	s->ahead = a;
	return true;
}

bool pop3_ahead_ends(const struct pop3_session *s, size_t index,
                     const struct store_piece *p)
{
	/* A short piece: the store has no more bytes of the message. */
	return p->got < p->len || p->offset + p->got >= s->md->e[index].size;
}

const struct store_piece *pop3_ahead_find(const struct pop3_session *s,
                                          size_t index, uint64_t offset)
{
	const struct pop3_ahead *a = s->ahead;

	for (size_t i = 0; a && i < a->n; i++) {
		const struct store_piece *p = &a->piece[i];
		if (a->index[i] != index || p->status != STORE_OK ||
		    offset < p->offset)
			continue;
		uint64_t end = p->offset + p->got;
		if (offset < end ||
		    (offset == end && pop3_ahead_ends(s, index, p)))
			return p;
	}
	return NULL;
}

void pop3_ahead_passed(struct pop3_session *s, size_t index)
{
	const struct pop3_ahead *a = s->ahead;

	/* A plan has a piece at least, in message order: the last tells. */
	if (a && a->index[a->n - 1] <= index)
		pop3_ahead_drop(s);
}
