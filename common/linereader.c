#include "linereader.h"

#include <string.h>

void linereader_init(struct linereader *lr, size_t max)
{
	lr->max = max;
	lr->skipping = false;
}

const char *lr_result_name(enum lr_result r)
{
	switch (r) {
	case LR_LINE: return "LINE";
	case LR_NEED_MORE: return "NEED_MORE";
	case LR_TOO_LONG: return "TOO_LONG";
	case LR_BARE_LF: return "BARE_LF";
	case LR_NUL: return "NUL";
	}
	return "?";
}

/* Classifies the line p[0..end) whose LF is at p[end]. */
static enum lr_result line_end(const char *p, size_t end, size_t max,
                               struct lr_view *v)
{
	v->consumed = end + 1;
	bool crlf = end > 0 && p[end - 1] == '\r';
	v->len = crlf ? end - 1 : end;
	if (v->len > max) {
		v->len = 0; /* as when the line was skipped in pieces */
		return LR_TOO_LONG;
	}
	if (memchr(p, '\0', v->len))
		return LR_NUL;
	return crlf ? LR_LINE : LR_BARE_LF;
}

enum lr_result linereader_next(struct linereader *lr, const char *p, size_t n,
                               struct lr_view *v)
{
	v->line = p;
	v->len = 0;
	v->consumed = 0;

	if (!lr->skipping) {
		/* Look no further than a maximal line plus its CRLF: beyond
		 * that the line is too long whatever follows. */
		size_t limit = n < lr->max + 2 ? n : lr->max + 2;
		const char *lf = memchr(p, '\n', limit);
		if (lf)
			return line_end(p, (size_t)(lf - p), lr->max, v);
		if (n < lr->max + 2)
			return LR_NEED_MORE;
		lr->skipping = true;
	}

	/* Inside an over-long line: drop bytes until its terminator, but keep
	 * a trailing CR, which may be the first half of that CRLF. */
	const char *lf = memchr(p, '\n', n);
	if (!lf) {
		v->consumed = (n > 0 && p[n - 1] == '\r') ? n - 1 : n;
		return LR_NEED_MORE;
	}
	v->consumed = (size_t)(lf - p) + 1;
	lr->skipping = false;
	return LR_TOO_LONG;
}
