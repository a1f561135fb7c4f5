/* The key under which a client address is counted (login failures,
 * connections per client): an IPv4 address whole, an IPv6 address by its
 * /64 (one subscriber's prefix: a client owning a /64 must not get 2^64
 * times the share), an IPv4-mapped IPv6 peer as its IPv4 address. */
#ifndef POSTLITE_ADDRKEY_H
#define POSTLITE_ADDRKEY_H

#include <stdint.h>

#define ADDRKEY_LEN 9 /* family byte + 8 address bytes */

/* Fills key from ip ("192.0.2.1", "2001:db8::1"). Text that is no address
 * (never from the I/O layer) keys by a hash of itself, so it is still
 * counted, and bounded. */
void addrkey_make(const char *ip, uint8_t key[ADDRKEY_LEN]);

#endif
