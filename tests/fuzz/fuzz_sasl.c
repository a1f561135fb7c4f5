/* Fuzzes SASL PLAIN and LOGIN response decoding (common/sasl.c).
 *
 * Input: byte 0 picks the LOGIN output size and byte 1 the split of the
 * rest into authzid/authcid/passwd for the build-and-decode check; the
 * rest is also decoded as a client response.
 *
 * Properties: a PLAIN response that decodes gives NUL-terminated, non-
 * empty authcid and passwd which re-encode to exactly the response (base64
 * is strict); a refused one leaves the struct wiped; LOGIN writes a
 * non-empty NUL-terminated string within outsz; a PLAIN message built from
 * NUL-free fields decodes exactly when the fields are within limits. */
#include <string.h>

#include "base64.h"
#include "fuzz.h"
#include "sasl.h"

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void check_field(const char *f, int nonempty)
{
	const char *end = memchr(f, '\0', SASL_FIELD_MAX);
	FUZZ_CHECK(end != NULL);
	if (nonempty)
		FUZZ_CHECK(end > f);
}

/* Base64 of authzid NUL authcid NUL passwd, malloc'ed; *n its length. */
static char *plain_encode(const char *z, size_t zl, const char *c, size_t cl,
                          const char *p, size_t pl, size_t *n)
{
	size_t len = zl + 1 + cl + 1 + pl;
	char *raw = malloc(len);
	FUZZ_CHECK(raw != NULL);
	memcpy(raw, z, zl);
	raw[zl] = '\0';
	memcpy(raw + zl + 1, c, cl);
	raw[zl + 1 + cl] = '\0';
	memcpy(raw + zl + 2 + cl, p, pl);
	*n = base64_encoded_len(len);
	char *b = malloc(*n + 1);
	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(base64_encode(raw, len, b, *n + 1) == *n);
	free(raw);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ob = fuzz_take(&data, &size);
	uint8_t sb = fuzz_take(&data, &size);
	char *text = fuzz_memdup(data, size);

	FUZZ_CHECK(sasl_is_cancel(text, size) == (size == 1 && text[0] == '*'));

	/* PLAIN */
	struct sasl_plain sp;
	memset(&sp, 0xA5, sizeof sp);
	enum sasl_result r = sasl_plain_decode(text, size, &sp);
	if (r == SASL_OK) {
		check_field(sp.authzid, 0);
		check_field(sp.authcid, 1);
		check_field(sp.passwd, 1);
		size_t n;
		char *b = plain_encode(sp.authzid, strlen(sp.authzid),
		                       sp.authcid, strlen(sp.authcid),
		                       sp.passwd, strlen(sp.passwd), &n);
		FUZZ_CHECK(n == size && memcmp(b, text, n) == 0);
		free(b);
	} else {
		FUZZ_CHECK(r == SASL_BAD_BASE64 || r == SASL_MALFORMED);
		FUZZ_CHECK(all_zero(&sp, sizeof sp));
	}

	/* LOGIN, into an exact-size buffer. */
	size_t outsz = ob < 200 ? ob : SASL_FIELD_MAX;
	char *out = malloc(outsz ? outsz : 1);
	FUZZ_CHECK(out != NULL);
	r = sasl_login_decode(text, size, out, outsz);
	if (r == SASL_OK) {
		FUZZ_CHECK(outsz > 0);
		const char *end = memchr(out, '\0', outsz);
		FUZZ_CHECK(end != NULL && end > out);
		size_t len = (size_t)(end - out);
		size_t n = base64_encoded_len(len);
		char *b = malloc(n + 1);
		FUZZ_CHECK(b != NULL);
		FUZZ_CHECK(base64_encode(out, len, b, n + 1) == n);
		FUZZ_CHECK(n == size && memcmp(b, text, n) == 0);
		free(b);
	} else {
		FUZZ_CHECK(r == SASL_BAD_BASE64 || r == SASL_MALFORMED);
	}
	free(out);

	/* Build a PLAIN message from the raw bytes, split in three. */
	size_t a = size ? (sb & 15) % (size + 1) : 0;
	size_t c = size - a ? (size_t)(sb >> 4) * 17 % (size - a + 1) : 0;
	const char *z = text, *cid = text + a, *pw = text + a + c;
	size_t zl = a, cl = c, pl = size - a - c;
	if (!memchr(text, '\0', size)) {
		size_t n;
		char *b = plain_encode(z, zl, cid, cl, pw, pl, &n);
		int ok = cl > 0 && pl > 0 && zl < SASL_FIELD_MAX &&
		         cl < SASL_FIELD_MAX && pl < SASL_FIELD_MAX;
		r = sasl_plain_decode(b, n, &sp);
		FUZZ_CHECK((r == SASL_OK) == ok);
		if (ok) {
			FUZZ_CHECK(strlen(sp.authzid) == zl &&
			           memcmp(sp.authzid, z, zl) == 0);
			FUZZ_CHECK(strlen(sp.authcid) == cl &&
			           memcmp(sp.authcid, cid, cl) == 0);
			FUZZ_CHECK(strlen(sp.passwd) == pl &&
			           memcmp(sp.passwd, pw, pl) == 0);
		}
		free(b);
	}
	sasl_wipe(&sp, sizeof sp);
	free(text);
	return 0;
}
