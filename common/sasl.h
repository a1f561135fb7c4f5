/* SASL mechanisms shared by SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034):
 * PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login). Pure decoding
 * of client responses; the dialogue itself belongs to each protocol.
 *
 * A client response of "*" cancels the exchange (checked by the caller
 * with sasl_is_cancel); "=" is an empty initial response (RFC 4954 4). */
#ifndef POSTLITE_SASL_H
#define POSTLITE_SASL_H

#include <stdbool.h>
#include <stddef.h>

#define SASL_FIELD_MAX 256 /* bytes per identity or password, with NUL */

enum sasl_result {
	SASL_OK,
	SASL_BAD_BASE64, /* RFC 4954: 501 5.5.2 */
	SASL_MALFORMED,  /* wrong structure, NUL where none belongs, too long */
};

struct sasl_plain {
	char authzid[SASL_FIELD_MAX]; /* "" when absent */
	char authcid[SASL_FIELD_MAX];
	char passwd[SASL_FIELD_MAX];
};

bool sasl_is_cancel(const char *resp, size_t n);

/* Decodes a base64 PLAIN response: [authzid] NUL authcid NUL passwd.
 * authcid and passwd must be non-empty and free of NUL; the result is
 * NUL-terminated. */
enum sasl_result sasl_plain_decode(const char *b64, size_t n,
                                   struct sasl_plain *out);

/* Decodes one base64 LOGIN response (user name or password) into out
 * (NUL-terminated, non-empty, no NUL inside). */
enum sasl_result sasl_login_decode(const char *b64, size_t n, char *out,
                                   size_t outsz);

/* Wipes secrets (not optimised away). */
void sasl_wipe(void *p, size_t n);

#endif
