/* DKIM signing (RFC 6376) with rsa-sha256 and relaxed/relaxed
 * canonicalisation, streaming: the message is fed once (as it will be
 * sent: line ends already normalised, no dot-stuffing) and the signature
 * header comes out at the end, to be sent in front of the message.
 *
 * Memory: the header block is kept (at most DKIM_HEADER_MAX octets, a
 * larger one cannot be signed); the body only passes through the hash. */
#ifndef POSTLITE_DKIM_H
#define POSTLITE_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DKIM_HEADER_MAX (64 * 1024)

struct tls_rsa_key;
struct dkim;

/* NULL on memory shortage. */
struct dkim *dkim_new(void);
void dkim_free(struct dkim *d);

/* Feeds message bytes (CRLF line ends). Returns 0, or -1 once the header
 * block outgrew DKIM_HEADER_MAX (feeding may go on; signing will fail). */
int dkim_feed(struct dkim *d, const void *p, size_t n);

/* The header block seen so far (through the empty line once the body
 * started), for the DSN's text/rfc822-headers and for header checks. */
const char *dkim_headers(const struct dkim *d, size_t *len);

/* The domain of the first From: address, lower-cased, into out; -1 when
 * there is none (or it does not fit). Call after the headers are in. */
int dkim_from_domain(const struct dkim *d, char *out, size_t outsz);

/* Appends "DKIM-Signature: ...\r\n" (RFC 6376 3.5) for domain d= and
 * selector s=, timestamp t=, over the fields of dkim_signed_fields that
 * are present (From over-signed: a From added later breaks the
 * signature). Returns 0 or -1 (no header end seen, headers too large,
 * signing failed, out full). */
int dkim_sign(struct dkim *d, const char *domain, const char *selector,
              struct tls_rsa_key *key, int64_t t, struct buf *out);

/* ---- canonicalisation (RFC 6376 3.4), exposed for the tests ---- */

/* Relaxed header canonicalisation (3.4.2) of one field as it appears
 * (name, colon, value with folding; no final CRLF): appends
 * "name:value\r\n" to out. Returns 0 or -1. */
int dkim_canon_header(const char *p, size_t n, struct buf *out);

#endif
