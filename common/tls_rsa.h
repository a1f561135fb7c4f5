/* RSA keys and SHA-256 for DKIM (RFC 6376 3.3: rsa-sha256), over mbedTLS
 * (only common/tls*.c include it). Backend-neutral types: callers never see
 * mbedTLS. All calls may block (key generation takes seconds, file I/O):
 * keep them off the event loop. */
#ifndef POSTLITE_TLS_RSA_H
#define POSTLITE_TLS_RSA_H

#include <stddef.h>
#include <stdint.h>

#define TLS_SHA256_LEN 32
/* Room for a signature of the largest key we make or load (4096 bits). */
#define TLS_RSA_SIG_MAX 512

struct tls_sha256;
struct tls_rsa_key;

/* Streaming SHA-256. new returns NULL on memory shortage; final writes 32
 * bytes and leaves the context ready for a new message. */
struct tls_sha256 *tls_sha256_new(void);
void tls_sha256_update(struct tls_sha256 *h, const void *p, size_t n);
void tls_sha256_final(struct tls_sha256 *h, uint8_t out[TLS_SHA256_LEN]);
void tls_sha256_free(struct tls_sha256 *h);

/* Writes a new RSA key of `bits` bits (RFC 8301: 1024 at least; we make
 * 2048) as PEM to path, created exclusively with mode 0600 (EXISTS-style
 * refusal: -1 with "exists" in err if path is there). Returns 0 or -1. */
int tls_rsa_keygen(const char *path, unsigned bits, char *err, size_t errlen);

/* Loads a PEM or DER RSA private key. NULL with a reason in err. */
struct tls_rsa_key *tls_rsa_key_load(const char *path, char *err,
                                     size_t errlen);
void tls_rsa_key_free(struct tls_rsa_key *k);

/* RSASSA-PKCS1-v1_5 signature of a SHA-256 digest (RFC 6376 3.3.1).
 * Returns 0 with *siglen, or -1. */
int tls_rsa_sign_sha256(struct tls_rsa_key *k,
                        const uint8_t digest[TLS_SHA256_LEN], uint8_t *sig,
                        size_t sigsz, size_t *siglen);

/* The key's public half as base64 of its SubjectPublicKeyInfo (RFC 6376
 * 3.6.1 p= tag). Returns 0 or -1 (out too small, not a key). */
int tls_rsa_key_public_b64(struct tls_rsa_key *k, char *out, size_t outsz);

#endif
