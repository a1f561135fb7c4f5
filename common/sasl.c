#include "sasl.h"

#include <string.h>

#include "base64.h"

bool sasl_is_cancel(const char *resp, size_t n)
{
	return n == 1 && resp[0] == '*';
}

void sasl_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* Decodes into buf; "=" stands for an empty response. */
static enum sasl_result decode(const char *b64, size_t n, char *buf,
                               size_t bufsz, size_t *len)
{
	if (n == 1 && b64[0] == '=') {
		*len = 0;
		return SASL_OK;
	}
	if (base64_decode(b64, n, buf, bufsz, len) != 0)
		return SASL_BAD_BASE64;
	return SASL_OK;
}

enum sasl_result sasl_plain_decode(const char *b64, size_t n,
                                   struct sasl_plain *out)
{
	char buf[3 * SASL_FIELD_MAX];
	size_t len;
	memset(out, 0, sizeof *out);
	/* Anything longer than three full fields cannot be valid, whatever
	 * its encoding: refuse before decoding. */
	if (n > base64_encoded_len(sizeof buf))
		return SASL_MALFORMED;
	enum sasl_result r = decode(b64, n, buf, sizeof buf, &len);
	if (r != SASL_OK) {
		sasl_wipe(buf, sizeof buf); /* partly decoded */
		return r;
	}

	/* RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd */
	const char *nul1 = memchr(buf, '\0', len);
	const char *nul2 = nul1 ? memchr(nul1 + 1, '\0',
	                                 len - (size_t)(nul1 + 1 - buf))
	                        : NULL;
	r = SASL_MALFORMED;
	if (nul1 && nul2) {
		size_t zlen = (size_t)(nul1 - buf);
		size_t clen = (size_t)(nul2 - nul1 - 1);
		size_t plen = len - (size_t)(nul2 + 1 - buf);
		if (zlen < SASL_FIELD_MAX && clen > 0 &&
		    clen < SASL_FIELD_MAX && plen > 0 &&
		    plen < SASL_FIELD_MAX &&
		    !memchr(nul2 + 1, '\0', plen)) {
			memcpy(out->authzid, buf, zlen);
			memcpy(out->authcid, nul1 + 1, clen);
			memcpy(out->passwd, nul2 + 1, plen);
			r = SASL_OK;
		}
	}
	sasl_wipe(buf, sizeof buf);
	if (r != SASL_OK)
		sasl_wipe(out, sizeof *out);
	return r;
}

enum sasl_result sasl_login_decode(const char *b64, size_t n, char *out,
                                   size_t outsz)
{
	size_t len;
	if (outsz == 0)
		return SASL_MALFORMED;
	out[0] = '\0';
	if (n > base64_encoded_len(outsz))
		return SASL_MALFORMED;
	enum sasl_result r = decode(b64, n, out, outsz - 1, &len);
	if (r != SASL_OK)
		return r;
	if (len == 0 || memchr(out, '\0', len)) {
		sasl_wipe(out, outsz);
		return SASL_MALFORMED;
	}
	out[len] = '\0';
	return SASL_OK;
}
