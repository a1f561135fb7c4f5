/* RETR/TOP output filter; contract in pop3_stuff.h. */
#include "pop3_stuff.h"

#include <string.h>

void pop3_stuff_init(struct pop3_stuff *f, bool top, uint32_t lines)
{
	*f = (struct pop3_stuff){
		.at_bol = true,
		.blank = true,
		.top = top,
		.lines = lines,
	};
}

bool pop3_stuff_done(const struct pop3_stuff *f)
{
	return f->done;
}

/* A line just ended (its LF was emitted). Decides whether TOP is done. */
static void end_of_line(struct pop3_stuff *f)
{
	if (!f->top)
		return;
	if (!f->in_body) {
		/* RFC 5322 2.1: the first blank line ends the header. */
		if (f->blank) {
			f->in_body = true;
			if (f->lines == 0)
				f->done = true;
		}
		return;
	}
	if (--f->lines == 0)
		f->done = true;
}

/* RETR: only a '.' that starts a line needs work, so the text goes out
 * in runs between such dots. Dots are searched first, with memchr: they
 * are rarer than line ends (base64, the bulk of large mail, has none).
 * The state after the piece depends only on its last bytes. */
static size_t feed_runs(struct pop3_stuff *f, const char *p, size_t n,
                        pop3_emit_fn emit, void *arg)
{
	const char *end = p + n, *q = p;
	size_t run = 0; /* start of the bytes not yet emitted */

	if (n == 0)
		return 0;
	for (; (q = memchr(q, '.', (size_t)(end - q))) != NULL; q++) {
		if (q == p ? !f->at_bol : q[-1] != '\n')
			continue;
		/* RFC 1939 3: byte-stuff the termination octet. The
		 * original '.' leads the next run. */
		if (q > p + run)
			emit(arg, p + run, (size_t)(q - p) - run);
		emit(arg, ".", 1);
		run = (size_t)(q - p);
	}
	emit(arg, p + run, n - run);
	f->any = true;
	char last = p[n - 1];
	f->end_crlf = last == '\n' && (n >= 2 ? p[n - 2] == '\r' : f->prev_cr);
	f->prev_cr = last == '\r';
	f->at_bol = last == '\n';
	return n;
}

size_t pop3_stuff_feed(struct pop3_stuff *f, const char *p, size_t n,
                       pop3_emit_fn emit, void *arg)
{
	size_t run = 0; /* start of the bytes not yet emitted */
	size_t i = 0;

	if (f->done)
		return 0;
	if (!f->top)
		return feed_runs(f, p, n, emit, arg);
	/* TOP counts lines and looks for the blank one: byte by byte. */
	while (i < n) {
		char c = p[i];
		if (f->at_bol && c == '.') {
			/* RFC 1939 3: byte-stuff the termination octet. The
			 * original '.' stays in the run and follows. */
			if (i > run)
				emit(arg, p + run, i - run);
			emit(arg, ".", 1);
			run = i;
		}
		f->at_bol = false;
		i++;
		if (c == '\n') {
			f->end_crlf = f->prev_cr;
			f->prev_cr = false;
			end_of_line(f);
			f->at_bol = true;
			f->blank = true;
			if (f->done)
				break;
			continue;
		}
		f->end_crlf = false;
		f->prev_cr = (c == '\r');
		if (c != '\r')
			f->blank = false;
	}
	if (i > run) {
		emit(arg, p + run, i - run);
		f->any = true;
	}
	return i;
}

void pop3_stuff_finish(struct pop3_stuff *f, pop3_emit_fn emit, void *arg)
{
	if (f->any && !f->end_crlf) {
		/* RFC 1939 3: the terminator must stand on its own line. */
		if (f->prev_cr)
			emit(arg, "\n", 1);
		else
			emit(arg, "\r\n", 2);
	}
	emit(arg, ".\r\n", 3);
	f->done = true;
}
