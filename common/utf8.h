/* UTF-8 checks shared by the protocol parsers and the store (pure). */
#ifndef POSTLITE_UTF8_H
#define POSTLITE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at p[0..n) (n >= 1): 1 for an
 * ASCII byte, 2-4 for a sequence, 0 when the bytes there are not UTF-8
 * (RFC 3629 4: no overlong forms, no surrogates, nothing past U+10FFFF). */
size_t utf8_seq_len(const unsigned char *p, size_t n);

/* p[0..n) is well-formed UTF-8 (ASCII is). */
bool utf8_valid(const char *p, size_t n);

/* p[0..n) has a byte over 0x7f. */
bool utf8_non_ascii(const char *p, size_t n);

#endif
