/* Connections per client address, for the limits of issue 3: at most
 * max_total connections to a daemon in all (across its listeners) and at
 * most max_per_addr from one address, IPv4 per /32 and IPv6 per /64 (one
 * subscriber's prefix: a client owning a /64 must not get 2^64 times the
 * share). An IPv4-mapped IPv6 peer counts as its IPv4 address.
 *
 * The table holds one entry per distinct address with live connections,
 * so its size is bounded by the connections themselves. Loop thread only:
 * no locking. The I/O layer (conn.c) counts each connection when it is
 * accepted, before any TLS handshake, and hands the verdict to the
 * protocol in session_peer.over_limit. */
#ifndef POSTLITE_CLIENTS_H
#define POSTLITE_CLIENTS_H

#include <stdbool.h>

struct clients;

enum clients_result {
	CLIENTS_OK,
	CLIENTS_TOO_MANY,      /* max_total reached */
	CLIENTS_TOO_MANY_ADDR, /* max_per_addr reached for this address */
};

/* The daemons' rule for max_per_addr: a quarter of the total, at least
 * one (like Postfix's 50 of 100 processes, halved again for a small
 * box). */
unsigned clients_per_addr_limit(unsigned max_total);

/* 0 for either limit means "no limit". NULL when out of memory. */
struct clients *clients_new(unsigned max_total, unsigned max_per_addr);
void clients_free(struct clients *c);

/* Counts a new connection from ip ("192.0.2.1", "2001:db8::1"), and says
 * whether it is over a limit. The connection is counted in every case
 * (even over a limit, or when memory is short): call clients_remove
 * exactly once for it when it ends. */
enum clients_result clients_add(struct clients *c, const char *ip);
void clients_remove(struct clients *c, const char *ip);

/* Live connections from ip's address (or /64), and in all. */
unsigned clients_count(const struct clients *c, const char *ip);
unsigned clients_total(const struct clients *c);
/* The max_total it was made with (0: none). */
unsigned clients_max_total(const struct clients *c);

/* What the I/O layer does with a connection the table counted as r. */
enum clients_admit {
	CLIENTS_ADMIT_OPEN,   /* within the limits: a normal session */
	CLIENTS_ADMIT_REFUSE, /* open the session, which answers with its
	                         protocol's refusal (421 4.7.0, -ERR
	                         [SYS/TEMP]) and closes */
	CLIENTS_ADMIT_CLOSE,  /* close at once, unanswered */
};

/* Over a limit on an implicit-TLS listener the refusal could only be
 * said after a handshake, which costs the server far more CPU than the
 * client (bench/PROFILE.md 8): one address could make it do any number
 * of them. So the connection is closed before the handshake; a plain
 * listener still gets its protocol's refusal, which costs nothing. */
enum clients_admit clients_admit(enum clients_result r, bool implicit_tls);

/* The reason for the log line of a refused connection: "too many
 * connections" or "too many connections from this address". The reply to
 * the client is the protocol's own (421 4.7.0, -ERR [SYS/TEMP]). */
const char *clients_reason(enum clients_result r);

#endif
