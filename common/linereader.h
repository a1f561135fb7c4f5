/* A pure, resumable line reader for CRLF protocols (SMTP commands, POP3).
 *
 * linereader_next() looks at the bytes the caller has buffered and reports
 * the first complete line, or why there is none. It never allocates and never
 * keeps a pointer into the caller's bytes: feed it the same (growing) buffer
 * again after NEED_MORE. The only state is whether an over-long line is being
 * skipped, so that a peer cannot make the caller buffer more than `max` bytes.
 */
#ifndef POSTLITE_LINEREADER_H
#define POSTLITE_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>

enum lr_result {
	LR_LINE,      /* a line ended by CRLF: view = line without CRLF */
	LR_NEED_MORE, /* no complete line yet; consume `consumed` bytes (0 unless
	                 an over-long line is being skipped) and call again later */
	LR_TOO_LONG,  /* a line longer than max (without CRLF) has now ended;
	                 reported once, at its terminator */
	LR_BARE_LF,   /* a line ended by LF without CR: view = line without LF */
	LR_NUL,       /* a line (ended by CRLF or LF) that contains a NUL byte */
};

struct linereader {
	size_t max;    /* longest line accepted, terminator excluded */
	bool skipping; /* inside an over-long line */
};

struct lr_view {
	const char *line; /* start of the line inside the caller's bytes */
	size_t len;       /* length without the terminator */
	size_t consumed;  /* bytes the caller must drop before the next call */
};

void linereader_init(struct linereader *lr, size_t max);

/* Examines p[0..n). Always fills v; see enum lr_result for each outcome.
 * A line of exactly max bytes followed by CRLF is LR_LINE. */
enum lr_result linereader_next(struct linereader *lr, const char *p, size_t n,
                               struct lr_view *v);

/* Name of a result, for logs and tests. */
const char *lr_result_name(enum lr_result r);

#endif
