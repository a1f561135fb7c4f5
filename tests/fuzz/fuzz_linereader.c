/* Fuzzes the CRLF line reader (common/linereader.c).
 *
 * Input: byte 0 picks the line limit, byte 1 seeds the split points, the
 * rest is the stream. The stream is fed the way a connection does: in
 * chunks (sizes drawn from the seed, from single bytes up) appended to a
 * buffer, calling linereader_next until NEED_MORE and dropping `consumed`
 * bytes each time.
 *
 * Properties: views lie inside the buffer; consumed never exceeds it;
 * the buffer never holds more than max + 2 bytes plus one chunk; and the
 * events (result and line bytes) equal those of a plain reference reader
 * that splits the whole stream at LF, so no split point changes what a
 * session sees. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "linereader.h"

struct ev {
	enum lr_result r;
	const uint8_t *line; /* into the stream, for the reference */
	size_t len;
};

/* The reference: every LF ends a line; one CR before it is the CRLF. */
static size_t reference(const uint8_t *s, size_t n, size_t max, struct ev *ev)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		size_t len = i - start;
		bool crlf = len > 0 && s[i - 1] == '\r';
		if (crlf)
			len--;
		ev[k].line = s + start;
		ev[k].len = len;
		if (len > max) {
			ev[k].r = LR_TOO_LONG;
			ev[k].len = 0;
		} else if (memchr(s + start, '\0', len)) {
			ev[k].r = LR_NUL;
		} else {
			ev[k].r = crlf ? LR_LINE : LR_BARE_LF;
		}
		k++;
		start = i + 1;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mb = fuzz_take(&data, &size);
	size_t max = mb >= 240 ? 510 : mb % 48;
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, fuzz_take(&data, &size));

	struct ev *want = malloc((size + 1) * sizeof *want);
	FUZZ_CHECK(want != NULL);
	size_t nwant = reference(data, size, max, want);

	struct linereader lr;
	linereader_init(&lr, max);
	char *buf = malloc(size + 1);
	FUZZ_CHECK(buf != NULL);
	size_t len = 0, pos = 0, got = 0;
	while (pos < size) {
		size_t k = fuzz_rng_len(&rng, size - pos);
		memcpy(buf + len, data + pos, k);
		len += k;
		pos += k;
		for (;;) {
			struct lr_view v;
			enum lr_result r = linereader_next(&lr, buf, len, &v);
			FUZZ_CHECK(v.consumed <= len);
			if (r == LR_NEED_MORE) {
				FUZZ_CHECK(v.len == 0);
				memmove(buf, buf + v.consumed,
				        len - v.consumed);
				len -= v.consumed;
				/* Bounded: a peer cannot make us hold more. */
				FUZZ_CHECK(len <= max + 2);
				break;
			}
			FUZZ_CHECK(r == LR_LINE || r == LR_BARE_LF ||
			           r == LR_TOO_LONG || r == LR_NUL);
			FUZZ_CHECK(v.consumed > 0);
			FUZZ_CHECK(v.line == buf);
			FUZZ_CHECK(v.len < v.consumed);
			FUZZ_CHECK(buf[v.consumed - 1] == '\n');
			FUZZ_CHECK(got < nwant);
			FUZZ_CHECK(r == want[got].r);
			FUZZ_CHECK(v.len == want[got].len);
			if (r != LR_TOO_LONG)
				FUZZ_CHECK(
				    memcmp(v.line, want[got].line, v.len) == 0);
			FUZZ_CHECK(strcmp(lr_result_name(r), "?") != 0);
			got++;
			memmove(buf, buf + v.consumed, len - v.consumed);
			len -= v.consumed;
		}
	}
	FUZZ_CHECK(got == nwant);
	free(buf);
	free(want);
	return 0;
}
