/* RFC 4648 base64, standard alphabet, for SASL (RFC 4954, RFC 5034).
 * Decoding is strict: length a multiple of 4, '=' only as final padding,
 * no whitespace, no stray bits in the last character. */
#ifndef POSTLITE_BASE64_H
#define POSTLITE_BASE64_H

#include <stddef.h>

/* Characters base64_encode writes for n bytes (without the NUL). */
size_t base64_encoded_len(size_t n);

/* Encodes n bytes into out (NUL-terminated). Returns the length written,
 * or 0 (out untouched) when outsz is too small. */
size_t base64_encode(const void *in, size_t n, char *out, size_t outsz);

/* Decodes in[0..n). Returns 0 and *outlen, or -1 for malformed input or an
 * output that would not fit in outsz. */
int base64_decode(const char *in, size_t n, void *out, size_t outsz,
                  size_t *outlen);

#endif
