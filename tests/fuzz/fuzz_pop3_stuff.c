/* Fuzzes the RETR/TOP output filter (pop3d/pop3_stuff.c).
 *
 * Input: byte 0 picks RETR or TOP and TOP's line count, byte 1 seeds the
 * piece sizes, the rest is a stored message (any bytes: stored mail may
 * hold bare LF, bare CR, NUL, lines starting with dots).
 *
 * Properties: the output fed in random pieces equals a reference written
 * from RFC 1939 3 and 7 and pop3_stuff.h (a '.' that starts a line, after
 * any LF, is doubled; TOP keeps the header, the blank line and N body
 * lines; the end is CRLF if needed, then ".CRLF"), consumption stops
 * exactly where TOP's limit is reached; and a client, whether it splits
 * lines at LF or at CRLF, sees the terminating "." line only at the very
 * end, so message text can never end the response early. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "pop3_stuff.h"

struct sink {
	char *p;
	size_t len, cap;
};

static void emit(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;
	FUZZ_CHECK(n > 0);
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->p = realloc(s->p, s->cap);
		FUZZ_CHECK(s->p != NULL);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

/* How much of the message TOP sends: through the LF of the N-th body line
 * (or of the blank line when N = 0); all of it when shorter. */
static size_t top_prefix(const uint8_t *m, size_t n, uint32_t lines)
{
	bool in_body = false, blank = true;
	for (size_t i = 0; i < n; i++) {
		if (m[i] != '\n') {
			if (m[i] != '\r')
				blank = false;
			continue;
		}
		if (!in_body) {
			if (blank) {
				in_body = true;
				if (lines == 0)
					return i + 1;
			}
		} else if (--lines == 0) {
			return i + 1;
		}
		blank = true;
	}
	return n;
}

static void reference(const uint8_t *m, size_t n, struct sink *out)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i] == '.' && (i == 0 || m[i - 1] == '\n'))
			emit(out, ".", 1);
		emit(out, m + i, 1);
	}
	if (n > 0 && !(n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n'))
		emit(out, m[n - 1] == '\r' ? "\n" : "\r\n",
		     m[n - 1] == '\r' ? 1 : 2);
	emit(out, ".\r\n", 3);
}

/* A client's view: split at LF (crlf false) or at CRLF; the first line
 * that is the terminator must be the last. */
static void client_view(const struct sink *o, bool crlf)
{
	size_t start = 0;
	for (size_t i = 0; i < o->len; i++) {
		if (o->p[i] != '\n')
			continue;
		if (crlf && (i == 0 || o->p[i - 1] != '\r'))
			continue;
		size_t len = i - start;
		if (len > 0 && o->p[i - 1] == '\r')
			len--;
		if (len == 1 && o->p[start] == '.') {
			FUZZ_CHECK(i + 1 == o->len);
			return;
		}
		start = i + 1;
	}
	FUZZ_CHECK(!"no terminator line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = fuzz_take(&data, &size);
	bool top = mode & 0x80;
	uint32_t lines = (mode & 0x7f) == 0x7f ? UINT32_MAX : (mode & 0x0f);
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, fuzz_take(&data, &size));

	struct pop3_stuff f;
	struct sink out = {0}, want = {0};
	pop3_stuff_init(&f, top, lines);
	size_t pos = 0;
	while (pos < size && !pop3_stuff_done(&f)) {
		size_t k = fuzz_rng_len(&rng, size - pos);
		/* An exact-size copy of the piece: no read past it. */
		char *piece = malloc(k);
		FUZZ_CHECK(piece != NULL);
		memcpy(piece, data + pos, k);
		size_t used = pop3_stuff_feed(&f, piece, k, emit, &out);
		free(piece);
		FUZZ_CHECK(used <= k);
		if (used < k)
			FUZZ_CHECK(pop3_stuff_done(&f));
		pos += used;
	}
	size_t expect = top ? top_prefix(data, size, lines) : size;
	FUZZ_CHECK(pos == expect);
	if (!top)
		FUZZ_CHECK(!pop3_stuff_done(&f));
	else if (expect < size)
		FUZZ_CHECK(pop3_stuff_done(&f));
	if (pop3_stuff_done(&f) && pos < size)
		FUZZ_CHECK(pop3_stuff_feed(&f, (const char *)data + pos,
		                           size - pos, emit, &out) == 0);
	pop3_stuff_finish(&f, emit, &out);
	FUZZ_CHECK(pop3_stuff_done(&f));

	reference(data, expect, &want);
	FUZZ_CHECK(out.len == want.len && memcmp(out.p, want.p, out.len) == 0);
	client_view(&out, false);
	client_view(&out, true);
	free(out.p);
	free(want.p);
	return 0;
}
