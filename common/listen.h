/* Listen-address lists: "0.0.0.0:25 [::]:25 127.0.0.1:2525".
 * IPv6 addresses must be bracketed; a port is required (1-65535). */
#ifndef POSTLITE_LISTEN_H
#define POSTLITE_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#define LISTEN_MAX_ADDRS 8

struct listen_addr {
	struct sockaddr_storage sa;
	socklen_t salen;
	char text[64]; /* canonical form, e.g. "[::1]:2525" */
};

struct listen_list {
	size_t n; /* 0 = listener disabled */
	struct listen_addr addr[LISTEN_MAX_ADDRS];
};

/* Parses a whitespace-separated list. An empty string gives n = 0.
 * Returns 0, or -1 with a reason in err (e.g. "bad port in '1.2.3.4:99999'")
 * and out->n = 0. Addresses are numeric only (inet_pton: no host names, no
 * IPv6 scope ids). Duplicates, entries that would collide when bound (see
 * listen_addr_conflict) and more than LISTEN_MAX_ADDRS entries are errors.
 * Ports are stored in network byte order in sa; text is the canonical form
 * ("1.2.3.4:25", "[2001:db8::1]:25"). */
int listen_parse(const char *text, struct listen_list *out, char *err,
                 size_t errlen);

/* True if the address is a loopback address (127.0.0.0/8, ::1, or
 * ::ffff:127.0.0.0/104 as a dual-stack socket reports IPv4 peers). False
 * for NULL and other families. Usable on peer addresses too. */
int listen_is_loopback(const struct sockaddr *sa);

/* True if sa is one IPv4 or IPv6 address, not the wildcard (0.0.0.0, ::,
 * ::ffff:0.0.0.0): then every connection a socket bound to it accepts has
 * sa as its local address. False for NULL and other families. */
int listen_is_specific(const struct sockaddr *sa);

/* True if binding both addresses would fail: same family and port, and the
 * same address or either one the wildcard (0.0.0.0 or ::). IPv4 and IPv6
 * never conflict: the I/O layer must set IPV6_V6ONLY on IPv6 listeners so
 * "0.0.0.0:25 [::]:25" binds. */
int listen_addr_conflict(const struct listen_addr *a,
                         const struct listen_addr *b);

#endif
