/* Connections per client address, for the limits of issue 3: at most
 * max_total SMTP connections in all (across the three listeners) and at
 * most max_per_addr from one address, IPv4 per /32 and IPv6 per /64 (one
 * subscriber's prefix: a client owning a /64 must not get 2^64 times the
 * share). An IPv4-mapped IPv6 peer counts as its IPv4 address.
 *
 * The table holds one entry per distinct address with live connections,
 * so its size is bounded by the connections themselves. Loop thread only:
 * no locking. */
#ifndef POSTLITE_SMTP_CLIENTS_H
#define POSTLITE_SMTP_CLIENTS_H

#include <stdbool.h>

struct smtp_clients;

enum smtp_clients_result {
	SMTP_CLIENTS_OK,
	SMTP_CLIENTS_TOO_MANY,      /* max_total reached */
	SMTP_CLIENTS_TOO_MANY_ADDR, /* max_per_addr reached for this address */
};

/* 0 for either limit means "no limit". NULL when out of memory. */
struct smtp_clients *smtp_clients_new(unsigned max_total,
                                      unsigned max_per_addr);
void smtp_clients_free(struct smtp_clients *c);

/* Counts a new connection from ip ("192.0.2.1", "2001:db8::1"), and says
 * whether it is over a limit. The connection is counted in every case
 * (even over a limit, or when memory is short): call smtp_clients_remove
 * exactly once for it when it ends. */
enum smtp_clients_result smtp_clients_add(struct smtp_clients *c,
                                          const char *ip);
void smtp_clients_remove(struct smtp_clients *c, const char *ip);

/* Live connections from ip's address (or /64), and in all. */
unsigned smtp_clients_count(const struct smtp_clients *c, const char *ip);
unsigned smtp_clients_total(const struct smtp_clients *c);

#endif
