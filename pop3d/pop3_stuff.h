/* The multi-line output filter for RETR and TOP: dot-stuffing, the TOP line
 * limit and the terminating ".CRLF". Pure and resumable: a message is fed in
 * pieces of any size (line boundaries may fall anywhere between pieces) and
 * the output is the same as if it had been fed whole.
 *
 * RFC 1939 3: every line that begins with "." gets another "." in front; the
 * response ends with ".CRLF". A line is taken to begin after every LF, so a
 * stored bare LF cannot smuggle an unstuffed "." to a client that splits on
 * LF. RFC 1939 7 (TOP): the header, the blank line, then N body lines. */
#ifndef POSTLITE_POP3_STUFF_H
#define POSTLITE_POP3_STUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*pop3_emit_fn)(void *arg, const void *p, size_t n);

struct pop3_stuff {
	bool at_bol;     /* the next byte starts a line */
	bool blank;      /* TOP: the current line holds nothing but CRs so
	                    far */
	bool top;        /* TOP: stop after the header and `lines` body lines */
	bool in_body;    /* TOP: the blank line after the header was seen */
	bool done;       /* TOP: limit reached; feed consumes nothing more */
	bool any;        /* at least one byte emitted */
	bool end_crlf;   /* the bytes emitted so far end with CRLF */
	bool prev_cr;    /* the last byte emitted was CR */
	uint32_t lines;  /* TOP: body lines still to send */
};

/* top = false: RETR (lines ignored). top = true: TOP with `lines` body
 * lines (0 = header and blank line only). */
void pop3_stuff_init(struct pop3_stuff *f, bool top, uint32_t lines);

/* Filters p[0..n) and passes the output to emit (possibly in several
 * calls). Returns the bytes consumed: n, or fewer once the TOP limit is
 * reached (then pop3_stuff_done() is true and the rest is not wanted). */
size_t pop3_stuff_feed(struct pop3_stuff *f, const char *p, size_t n,
                       pop3_emit_fn emit, void *arg);

/* True when a TOP has all it wants; RETR never is. */
bool pop3_stuff_done(const struct pop3_stuff *f);

/* Ends the response: CRLF first when the content did not end with one
 * (LF alone if it ended with CR), then ".CRLF". An empty message gives just
 * ".CRLF". */
void pop3_stuff_finish(struct pop3_stuff *f, pop3_emit_fn emit, void *arg);

#endif
