/* BDAT (RFC 3030 CHUNKING, without BINARYMIME): the message in chunks of
 * counted octets, no dot-stuffing, no terminator.
 *
 * smtp_dispatch.c reads the chunk size before any other check, so a
 * refused BDAT still has its octets skipped, never run as commands. Here a
 * chunk that belongs to a transaction is scanned with the same rules as
 * DATA (smtp_bdat_scan: bare CR, bare LF and NUL refuse the message, as do
 * the size and line limits, across chunk boundaries) and streamed to the
 * store as it comes. Each chunk but the last is answered "250" once read;
 * LAST is answered after the durable commit. A refused message is answered
 * at the end of the chunk that broke it; later chunks of the transaction
 * are read and dropped, each answered with the same refusal (RFC 3030 4),
 * until RSET, or LAST, which ends the transaction. */
#include "smtp_session_int.h"

/* The chunk has been read. */
static void smtp_bdat_chunk_end(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	s->chunk_keep = false;
	/* RFC 5322 2.1: a message is lines; one that ends inside a line
	 * gets its CRLF. The scanner kept 2 octets of room for it. */
	if (s->chunk_last && smtp_bdat_end(&t->dec) && !t->discard &&
	    !smtp_msg_refused(s))
		buf_append(&s->job.piece, "\r\n", 2);
	if (smtp_msg_refused(s) || s->chunk_last) {
		smtp_msg_finish(s);
		return;
	}
	smtp_reply(s, "250 2.0.0 Ok: %llu octets",
	           (unsigned long long)s->chunk_size);
}

void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_txn *t = s->txn;

	if (t->bdat_failed) {
		smtp_msg_refusal(s, false);
		if (s->chunk_last)
			smtp_txn_free(s);
		return;
	}
	/* RFC 5321 3.3, as for DATA. */
	if (t->nrcpt == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (!t->chunking) {
		t->chunking = true;
		s->state = SMTP_STATE_BDAT;
		smtp_msg_begin(s);
	}
	s->chunk_keep = true;
	if (s->chunk_left == 0)
		smtp_bdat_chunk_end(s);
}

bool smtp_bdat_input(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	struct buf *piece = &s->job.piece;
	size_t n = s->in->len;

	if (n > s->chunk_left)
		n = (size_t)s->chunk_left;
	if (!s->chunk_keep) { /* a refused BDAT: skip its octets */
		buf_consume(s->in, n);
		s->chunk_left -= n;
		return s->chunk_left == 0;
	}
	if (!t->discard) {
		/* Pieces of exactly SMTP_PIECE_MAX; the slack stays free for
		 * a final CRLF (smtp_bdat_chunk_end). */
		if (piece->len >= SMTP_PIECE_MAX) {
			smtp_msg_flush(s);
			return false;
		}
		if (n > SMTP_PIECE_MAX - piece->len)
			n = SMTP_PIECE_MAX - piece->len;
		if (buf_append(piece, s->in->data, n) != 0)
			smtp_msg_fail(s, STORE_TEMPFAIL, "out of memory");
	}
	smtp_bdat_scan(&t->dec, s->in->data, n);
	buf_consume(s->in, n);
	s->chunk_left -= n;
	if (!t->discard && smtp_msg_refused(s)) {
		t->discard = true;
		buf_free(piece);
	}
	if (s->chunk_left == 0) {
		smtp_bdat_chunk_end(s);
		return !s->busy;
	}
	return s->in->len > 0;
}
