/* Header fields for listings (store_hdr.h). */
#include "store_hdr.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

/* Appends the unfolded value v[0..n) to out (cap bytes with the NUL):
 * CR and LF vanish (unfolding), other controls and invalid bytes become
 * one space each, runs of white space one space; stops before a
 * character that does not fit. */
static void hdr_copy(char *out, size_t cap, const char *v, size_t n)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t o = strlen(out);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq_len(p + i, n - i);
		if (p[i] == '\r' || p[i] == '\n') {
			i++;
			continue;
		}
		if (len == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			len = len ? len : 1;
			i += len;
			if (o > 0 && out[o - 1] != ' ' && o + 1 < cap)
				out[o++] = ' ';
			continue;
		}
		if (p[i] == ' ' && (o == 0 || out[o - 1] == ' ')) {
			i++;
			continue;
		}
		if (o + len >= cap)
			break;
		memcpy(out + o, p + i, len);
		o += len;
		i += len;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* The end of the field starting at p: its last continuation line. */
static size_t hdr_field_end(const char *p, size_t n, size_t i)
{
	for (;;) {
		const char *nl = memchr(p + i, '\n', n - i);
		if (!nl)
			return n;
		i = (size_t)(nl - p) + 1;
		/* RFC 5322 2.2.3: a line starting with WSP continues it. */
		if (i >= n || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

void store_hdr_parse(const char *p, size_t n, struct store_hdr *h)
{
	char from[sizeof h->sender] = "";
	h->sender[0] = h->subject[0] = '\0';
	size_t i = 0;
	while (i < n && p[i] != '\r' && p[i] != '\n') {
		size_t end = hdr_field_end(p, n, i);
		const char *colon = memchr(p + i, ':', end - i);
		if (!colon)
			break; /* not a header line: the header is over */
		size_t name = (size_t)(colon - (p + i));
		const char *v = colon + 1;
		size_t vn = (size_t)(p + end - v);
		if (name == 11 && strncasecmp(p + i, "Return-Path", 11) == 0 &&
		    !h->sender[0]) {
			hdr_copy(h->sender, sizeof h->sender, v, vn);
			/* "<a@b>" -> "a@b"; "<>" stays empty */
			size_t len = strlen(h->sender);
			if (len >= 2 && h->sender[0] == '<' &&
			    h->sender[len - 1] == '>') {
				memmove(h->sender, h->sender + 1, len - 2);
				h->sender[len - 2] = '\0';
			}
		} else if (name == 4 && strncasecmp(p + i, "From", 4) == 0 &&
		           !from[0]) {
			hdr_copy(from, sizeof from, v, vn);
		} else if (name == 7 && strncasecmp(p + i, "Subject", 7) == 0 &&
		           !h->subject[0]) {
			hdr_copy(h->subject, sizeof h->subject, v, vn);
		}
		i = end;
	}
	if (!h->sender[0])
		memcpy(h->sender, from, sizeof from);
}
