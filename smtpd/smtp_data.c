/* The DATA decoder; see smtp_data.h for the contract.
 *
 * Five states. The only way to reach DOT_CR is BOL '.' CR, and the only way
 * to reach BOL is CR LF (or the start of the body, which follows the CRLF of
 * the DATA command), so END needs CRLF "." CRLF and nothing else.
 *
 * The fast path: inside a line only a CR can change the state, so the
 * bytes up to the next CR are taken as one run (text_run), with flags,
 * line length and octets counted once per run and the run copied whole;
 * a run also starts a line whose first byte is not a dot. Every other byte
 * (CR, the LF after it, a leading dot) goes through the state machine one
 * at a time. The result is the same to the byte as a byte-at-a-time
 * decoder's, however the input is cut (tests/unit/test_smtp_data.c checks
 * it against one). */
#include <string.h>

#include "smtp_data.h"

enum {
	D_BOL,    /* at the start of a line */
	D_TEXT,   /* inside a line */
	D_CR,     /* a CR seen and held back: LF makes it a line end */
	D_DOT,    /* "." at the start of a line, held back */
	D_DOT_CR, /* "." CR at the start of a line, held back */
};

void smtp_data_init(struct smtp_data *d, uint64_t max)
{
	d->state = D_BOL;
	d->flags = 0;
	d->octets = 0;
	d->max = max;
	d->line_len = 0;
	d->longest = 0;
}

/* n more octets of the current line, as received. */
static void line_count(struct smtp_data *d, size_t n)
{
	d->line_len += n;
	if (d->line_len > SMTP_DATA_LINE_MAX)
		d->flags |= SMTP_DATA_LONG_LINE;
	if (d->line_len > d->longest)
		d->longest = d->line_len;
}

struct out {
	char *p;
	size_t n;
};

/* n body octets were added. */
static void octets_count(struct smtp_data *d, size_t n)
{
	d->octets += n;
	if (d->max && d->octets > d->max)
		d->flags |= SMTP_DATA_TOO_BIG;
}

static void emit(struct smtp_data *d, struct out *o, char c)
{
	if (o->p)
		o->p[o->n] = c;
	o->n++;
	octets_count(d, 1);
}

/* A byte inside a line (or one that cannot start a line end). */
static void text(struct smtp_data *d, struct out *o, unsigned char c)
{
	if (c == '\r') {
		d->state = D_CR;
		return;
	}
	if (c == '\n')
		d->flags |= SMTP_DATA_BARE_LF; /* no CR before it: not a line end */
	else if (c == '\0')
		d->flags |= SMTP_DATA_NUL;
	emit(d, o, (char)c);
	d->state = D_TEXT;
}

/* True when in[0] may start a run: the state machine would take it, and
 * every byte after it up to the next CR, with text(). */
static bool run_starts(const struct smtp_data *d, char c)
{
	return c != '\r' &&
	       (d->state == D_TEXT || (d->state == D_BOL && c != '.'));
}

/* Takes in[0..n) up to its first CR (which stays for the state machine)
 * as text, as text() would byte by byte, and returns how many bytes that
 * was. The memchr for LF or NUL is skipped once its flag is set. */
static size_t text_run(struct smtp_data *d, struct out *o, const char *in,
                       size_t n)
{
	const char *cr = memchr(in, '\r', n);
	if (cr)
		n = (size_t)(cr - in);
	if (!(d->flags & SMTP_DATA_BARE_LF) && memchr(in, '\n', n))
		d->flags |= SMTP_DATA_BARE_LF; /* no CR before it */
	if (!(d->flags & SMTP_DATA_NUL) && memchr(in, '\0', n))
		d->flags |= SMTP_DATA_NUL;
	line_count(d, n);
	d->state = D_TEXT;
	if (o->p)
		memcpy(o->p + o->n, in, n);
	o->n += n;
	octets_count(d, n);
	return n;
}

enum smtp_data_result smtp_data_decode(struct smtp_data *d, const char *in,
                                       size_t inlen, char *out, size_t outcap,
                                       size_t *used, size_t *produced)
{
	struct out o = {out, 0};
	size_t i = 0;

	while (i < inlen) {
		if (out && outcap - o.n < 2) {
			*used = i;
			*produced = o.n;
			return SMTP_DATA_OUT_FULL;
		}
		if (run_starts(d, in[i])) {
			/* Byte by byte, out takes one more while at least 2
			 * bytes are free: the run stops where that would. */
			size_t n = inlen - i;
			if (out && n > outcap - o.n - 1)
				n = outcap - o.n - 1;
			i += text_run(d, &o, in + i, n);
			continue;
		}
		unsigned char c = (unsigned char)in[i++];
		/* Line length as sent, CRLF included (RFC 5321 4.5.3.1.6). */
		line_count(d, 1);
		switch (d->state) {
		case D_BOL:
			if (c == '.')
				d->state = D_DOT;
			else
				text(d, &o, c);
			break;
		case D_TEXT:
			text(d, &o, c);
			break;
		case D_CR:
			if (c == '\n') {
				emit(d, &o, '\r');
				emit(d, &o, '\n');
				d->state = D_BOL;
				d->line_len = 0;
				break;
			}
			/* The held CR is bare. */
			d->flags |= SMTP_DATA_BARE_CR;
			emit(d, &o, '\r');
			text(d, &o, c);
			break;
		case D_DOT:
			if (c == '\r') {
				d->state = D_DOT_CR;
				break;
			}
			/* RFC 5321 4.5.2: a leading "." on a line with more on it
			 * is deleted. */
			text(d, &o, c);
			break;
		case D_DOT_CR:
			if (c == '\n') {
				/* CRLF "." CRLF: the end. The CRLF before the dot
				 * is already in the body as the last line's end. */
				d->state = D_BOL;
				d->line_len = 0;
				*used = i;
				*produced = o.n;
				return SMTP_DATA_END;
			}
			/* "." CR x: the line is more than a dot (stuffing undone)
			 * and its CR is bare. */
			d->flags |= SMTP_DATA_BARE_CR;
			emit(d, &o, '\r');
			text(d, &o, c);
			break;
		}
	}
	*used = i;
	*produced = o.n;
	return SMTP_DATA_NEED_MORE;
}

/* BDAT: the bytes are kept as sent, so only three states matter: at the
 * start of a line, inside one, and after a CR that may begin a CRLF. */
void smtp_bdat_scan(struct smtp_data *d, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		line_count(d, 1);
		d->octets++;
		if (d->state == D_CR) {
			if (c == '\n') {
				d->state = D_BOL;
				d->line_len = 0;
				continue;
			}
			d->flags |= SMTP_DATA_BARE_CR;
		}
		if (c == '\r') {
			d->state = D_CR;
			continue;
		}
		if (c == '\n')
			d->flags |= SMTP_DATA_BARE_LF;
		else if (c == '\0')
			d->flags |= SMTP_DATA_NUL;
		d->state = D_TEXT;
	}
	if (d->max && d->octets > d->max)
		d->flags |= SMTP_DATA_TOO_BIG;
}

bool smtp_bdat_end(struct smtp_data *d)
{
	if (d->state == D_CR)
		d->flags |= SMTP_DATA_BARE_CR;
	return d->state == D_TEXT;
}
