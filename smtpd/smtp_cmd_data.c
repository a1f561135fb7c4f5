/* DATA (RFC 5321 4.1.1.4): the 354, then the text up to CRLF "." CRLF
 * through the DATA decoder (smtp_data.h), streamed to the store in pieces
 * of SMTP_PIECE_MAX (the last one holds the rest); smtp_msg.c does the
 * rest. The decoder ends only on CRLF.CRLF and flags bare CR, bare LF and
 * NUL: the message is then refused after the real terminator, with one
 * reply (SMTP smuggling). */
#include "smtp_session_int.h"

void smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_txn *t = s->txn;

	/* RFC 5321 3.3: DATA without an accepted recipient. */
	if (t->nrcpt == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	smtp_msg_begin(s);
	t->in_data = true;
	/* 354 is not 2xx/4xx/5xx: no enhanced code (RFC 3463 2). */
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

bool smtp_data_input(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	struct buf *piece = &s->job.piece;
	char *out = NULL;
	size_t cap = 0, used, produced;

	if (!t->discard) {
		if (piece->len >= SMTP_PIECE_MAX) {
			smtp_msg_flush(s);
			return false;
		}
		/* Output never exceeds input by more than one held-back
		 * byte, so this much room is always enough. The slack leaves
		 * at least 3 bytes: the decoder goes on while 2 are free. */
		cap = buf_room(piece);
		if (cap > s->in->len + 2)
			cap = s->in->len + 2;
		out = buf_reserve(piece, cap);
		if (!out)
			smtp_msg_fail(s, STORE_TEMPFAIL, "out of memory");
	}
	enum smtp_data_result r = smtp_data_decode(
		&t->dec, s->in->data, s->in->len, out, cap, &used, &produced);
	if (out)
		buf_commit(piece, produced);
	buf_consume(s->in, used);
	if (!t->discard && smtp_msg_refused(s)) {
		/* Refused whatever follows: stop keeping bytes now. */
		t->discard = true;
		buf_free(piece);
	}
	switch (r) {
	case SMTP_DATA_END:
		smtp_msg_finish(s);
		return !s->busy;
	case SMTP_DATA_OUT_FULL:
		return true; /* the next round submits the full piece */
	case SMTP_DATA_NEED_MORE:
		break;
	}
	return false;
}
