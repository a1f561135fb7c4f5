/* Where mail for a domain goes (RFC 5321 5.1), resolved asynchronously by
 * c-ares on the daemon's libuv loop: MX records by preference (equal
 * preferences shuffled), each exchange's A and AAAA addresses, the
 * domain's own addresses when it has no MX (the implicit MX), and RFC
 * 7505's null MX. Loop thread only. */
#ifndef POSTLITE_OB_DNS_H
#define POSTLITE_OB_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define OB_DNS_MAX_HOSTS 8 /* MX hosts tried per attempt */
#define OB_DNS_MAX_ADDRS 4 /* addresses per host */

enum ob_dns_status {
	OB_DNS_OK,      /* nhost >= 1, each with naddr >= 1 */
	OB_DNS_NULLMX,  /* RFC 7505: the domain takes no mail (5.1.10) */
	OB_DNS_NOHOST,  /* NXDOMAIN or no address anywhere: permanent */
	OB_DNS_TEMP,    /* timeout, SERVFAIL...: try again later */
};

struct ob_dns_host {
	char name[256];
	unsigned pref;
	size_t naddr;
	struct sockaddr_storage addr[OB_DNS_MAX_ADDRS]; /* port set */
};

struct ob_route {
	enum ob_dns_status status;
	char error[320]; /* why, when not OK (for logs and bounces) */
	size_t nhost;
	struct ob_dns_host host[OB_DNS_MAX_HOSTS];
};

struct ob_dns;

/* servers: NULL for /etc/resolv.conf, or "ADDR[:PORT],..." (tests point
 * it at their own DNS server). loop is a uv_loop_t *. NULL with a reason
 * in err. */
struct ob_dns *ob_dns_new(void *loop, const char *servers, char *err,
                          size_t errlen);

/* Cancels every lookup (their callbacks run now with OB_DNS_TEMP) and
 * frees the resolver once its handles are closed. */
void ob_dns_free(struct ob_dns *d);

/* The route to domain's mail servers, with `port` in every address.
 * mx = false skips MX and resolves domain as a host (a smarthost). cb
 * runs exactly once, later (never from inside this call), with a route
 * that lives until cb returns. */
typedef void ob_dns_cb(void *arg, const struct ob_route *r);
void ob_dns_route(struct ob_dns *d, const char *domain, unsigned port,
                  bool mx, ob_dns_cb *cb, void *arg);

/* ---- pure helpers (unit tests) ---- */

struct ob_mx {
	const char *host;
	unsigned pref;
};

/* Orders MX records by preference and shuffles equal ones (RFC 5321 5.1;
 * seed feeds the shuffle). Returns the count kept (at most max; a null
 * MX "." among real ones is dropped), or -1 for a lone null MX (RFC 7505
 * 3: the domain accepts no mail). */
int ob_mx_sort(struct ob_mx *mx, size_t n, size_t max, unsigned seed);

#endif
