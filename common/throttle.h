/* Per-address failure counting for logins (SMTP AUTH, POP3 USER/PASS and
 * AUTH): after `limit` failures inside `window` seconds an address is
 * blocked until the window passes. IPv4 addresses count per /32, IPv6 per
 * /64 (one subscriber's prefix). A fixed-size table: when full, the oldest
 * entry is reused, so memory stays bounded under any spray of addresses.
 * Loop-thread only: no locking. */
#ifndef POSTLITE_THROTTLE_H
#define POSTLITE_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct throttle;

/* slots: table size; limit: failures allowed per window. NULL on ENOMEM. */
struct throttle *throttle_new(size_t slots, unsigned limit, unsigned window);
void throttle_free(struct throttle *t);

/* Records a failed login from ip ("192.0.2.1", "2001:db8::1"). */
void throttle_fail(struct throttle *t, const char *ip, time_t now);

/* True while ip has reached the limit inside the window. */
bool throttle_blocked(struct throttle *t, const char *ip, time_t now);

/* Failures counted for ip inside the window (for the delay before a
 * failed-login reply, which grows with them). */
unsigned throttle_count(struct throttle *t, const char *ip, time_t now);

#endif
