/* The body on the wire: RFC 5321 4.5.2 dot-stuffing and CRLF hygiene
 * (smtpc.h). Runs of ordinary bytes are copied in one append. */
#include "smtpc.h"

#include <string.h>

void smtpc_stuff_init(struct smtpc_stuff *st, bool dots)
{
	st->dots = dots;
	st->bol = true;
	st->cr = false;
	st->col = 0;
}

int smtpc_stuff(struct smtpc_stuff *st, const void *p, size_t n,
                struct buf *out)
{
	const char *b = p, *end = b + n;
	while (b < end) {
		if (st->cr) {
			/* RFC 5321 2.3.8: CR only as part of CRLF. A bare CR
			 * ends the line here. */
			st->cr = false;
			if (buf_append(out, "\r\n", 2) != 0)
				return -1;
			st->bol = true;
			st->col = 0;
			if (*b == '\n') {
				b++;
				continue;
			}
		}
		if (*b == '\r') {
			st->cr = true;
			b++;
			continue;
		}
		if (*b == '\n') { /* bare LF */
			if (buf_append(out, "\r\n", 2) != 0)
				return -1;
			st->bol = true;
			st->col = 0;
			b++;
			continue;
		}
		if (st->col >= SMTPC_FOLD_AT) {
			if (buf_append(out, "\r\n ", 3) != 0)
				return -1;
			st->col = 1;
		} else if (st->bol && st->dots && *b == '.' &&
		           buf_append(out, ".", 1) != 0) {
			return -1;
		}
		/* The line up to the next CR or LF, or to the fold, as it
		 * is. */
		const char *q = b;
		size_t room = SMTPC_FOLD_AT - st->col;
		while (q < end && *q != '\r' && *q != '\n' &&
		       (size_t)(q - b) < room)
			q++;
		if (buf_append(out, b, (size_t)(q - b)) != 0)
			return -1;
		st->col += (size_t)(q - b);
		st->bol = false;
		b = q;
	}
	return 0;
}

int smtpc_stuff_end(struct smtpc_stuff *st, struct buf *out)
{
	if ((st->cr || !st->bol) && buf_append(out, "\r\n", 2) != 0)
		return -1;
	st->cr = false;
	st->bol = true;
	st->col = 0;
	if (st->dots && buf_append(out, ".\r\n", 3) != 0)
		return -1;
	return 0;
}
