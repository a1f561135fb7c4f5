/* Fuzzes the DATA decoder (smtpd/smtp_data.c).
 *
 * Input: byte 0 picks the size limit, byte 1 seeds the split points and
 * output room, the rest is what a client sends after "354".
 *
 * Properties: the stream decoded whole, decoded in random pieces into
 * small output buffers (the OUT_FULL path), and scanned without output all
 * agree on the result, the bytes consumed, the body, the flags and the
 * octet count; and they agree with a reference written from RFC 5321
 * 4.5.2 and smtp_data.h: the message ends at the first "." CRLF that
 * starts a line (lines start only after CRLF), a leading dot is removed
 * from every other line, and bare CR, bare LF and NUL are flagged. Output
 * buffers are exact-size heap blocks, so ASan sees any write past them. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "smtp_data.h"

struct run {
	enum smtp_data_result r;
	size_t used;
	char *body;
	size_t len;
	unsigned flags;
	uint64_t octets;
};

/* Whole input, one call, room for everything. */
static void run_whole(const uint8_t *s, size_t n, uint64_t max, bool scan,
                      struct run *out)
{
	struct smtp_data d;
	smtp_data_init(&d, max);
	size_t cap = 2 * n + 2;
	char *o = scan ? NULL : malloc(cap);
	FUZZ_CHECK(scan || o != NULL);
	size_t produced = 0;
	out->r = smtp_data_decode(&d, (const char *)s, n, o, cap, &out->used,
	                          &produced);
	FUZZ_CHECK(out->r != SMTP_DATA_OUT_FULL);
	FUZZ_CHECK(out->used <= n);
	out->body = o;
	out->len = produced;
	out->flags = d.flags;
	out->octets = d.octets;
}

/* In pieces, into output buffers of 2..70 bytes. Each buffer ends where
 * its heap block ends, so ASan sees a write past it; one block serves all
 * calls (a malloc per call made the target four times slower). */
#define OUT_BLOCK 70
static void run_split(const uint8_t *s, size_t n, uint64_t max,
                      struct fuzz_rng *rng, struct run *out)
{
	struct smtp_data d;
	smtp_data_init(&d, max);
	out->body = malloc(2 * n + 2);
	FUZZ_CHECK(out->body != NULL);
	out->len = 0;
	out->used = 0;
	out->r = SMTP_DATA_NEED_MORE;
	char *block = malloc(OUT_BLOCK);
	FUZZ_CHECK(block != NULL);
	size_t pos = 0;
	while (pos < n) {
		size_t piece = fuzz_rng_len(rng, n - pos), off = 0;
		while (off < piece) {
			size_t cap =
			    2 + (size_t)(fuzz_rng_next(rng) % (OUT_BLOCK - 1));
			char *o = block + OUT_BLOCK - cap;
			size_t used = 0, produced = 0;
			enum smtp_data_result r = smtp_data_decode(
			    &d, (const char *)s + pos + off, piece - off, o,
			    cap, &used, &produced);
			FUZZ_CHECK(used <= piece - off && produced <= cap);
			memcpy(out->body + out->len, o, produced);
			out->len += produced;
			off += used;
			if (r == SMTP_DATA_END) {
				out->r = r;
				out->used = pos + off;
				goto done;
			}
			if (r == SMTP_DATA_NEED_MORE)
				FUZZ_CHECK(off == piece);
			else
				FUZZ_CHECK(produced + 2 > cap);
		}
		pos += piece;
	}
	out->used = n;
done:
	free(block);
	out->flags = d.flags;
	out->octets = d.octets;
}

static bool crlf_before(const uint8_t *s, size_t i)
{
	return i >= 2 && s[i - 2] == '\r' && s[i - 1] == '\n';
}

/* The reference. Returns true (END) with the terminator's offset. */
static bool ref_end(const uint8_t *s, size_t n, size_t *t)
{
	for (size_t i = 0; i + 3 <= n; i++)
		if ((i == 0 || crlf_before(s, i)) && s[i] == '.' &&
		    s[i + 1] == '\r' && s[i + 2] == '\n') {
			*t = i;
			return true;
		}
	return false;
}

/* Unstuffs s[0..n) into out; returns the length. */
static size_t ref_body(const uint8_t *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && (i == 0 || crlf_before(s, i)))
			continue;
		out[k++] = (char)s[i];
	}
	return k;
}

static unsigned ref_flags(const uint8_t *s, size_t n)
{
	unsigned f = 0;
	size_t line = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			f |= SMTP_DATA_BARE_LF;
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			f |= SMTP_DATA_BARE_CR;
		if (s[i] == '\0')
			f |= SMTP_DATA_NUL;
		if (++line > SMTP_DATA_LINE_MAX)
			f |= SMTP_DATA_LONG_LINE;
		if (crlf_before(s, i + 1))
			line = 0;
	}
	return f;
}

static bool same(const struct run *a, const struct run *b, bool body)
{
	return a->r == b->r && a->used == b->used && a->flags == b->flags &&
	       a->octets == b->octets &&
	       (!body || (a->len == b->len &&
	                  (a->len == 0 || !memcmp(a->body, b->body, a->len))));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mb = fuzz_take(&data, &size);
	uint64_t max = mb < 128 ? 0 : (uint64_t)(mb - 128);
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, fuzz_take(&data, &size));

	struct run whole, split, scan;
	run_whole(data, size, max, false, &whole);
	run_split(data, size, max, &rng, &split);
	run_whole(data, size, max, true, &scan);
	FUZZ_CHECK(whole.len == whole.octets);
	FUZZ_CHECK(same(&whole, &split, true));
	FUZZ_CHECK(same(&whole, &scan, false));

	size_t t;
	char *ref = malloc(size + 1);
	FUZZ_CHECK(ref != NULL);
	if (ref_end(data, size, &t)) {
		FUZZ_CHECK(whole.r == SMTP_DATA_END);
		FUZZ_CHECK(whole.used == t + 3);
		size_t n = ref_body(data, t, ref);
		FUZZ_CHECK(whole.len == n && memcmp(whole.body, ref, n) == 0);
		/* The body keeps the CRLF before the terminator. */
		FUZZ_CHECK(n == 0 || (n >= 2 && ref[n - 2] == '\r' &&
		                      ref[n - 1] == '\n'));
		unsigned f = ref_flags(data, t);
		if (max && n > max)
			f |= SMTP_DATA_TOO_BIG;
		FUZZ_CHECK(whole.flags == f);
	} else {
		FUZZ_CHECK(whole.r == SMTP_DATA_NEED_MORE);
		FUZZ_CHECK(whole.used == size);
		/* What came out so far is a prefix of the unstuffed stream
		 * (held-back bytes, a CR or a leading dot, may follow). */
		size_t n = ref_body(data, size, ref);
		FUZZ_CHECK(whole.len <= n && whole.len + 2 >= n);
		FUZZ_CHECK(whole.len == 0 ||
		           !memcmp(whole.body, ref, whole.len));
	}
	free(ref);
	free(whole.body);
	free(split.body);
	return 0;
}
