/* Listen-address lists (contract in listen.h). Only numeric addresses are
 * accepted: a daemon binds before it may resolve names, and a name that
 * resolves differently tomorrow should not move a listener. */
#include "listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Longest token worth parsing: "[" + 45 chars of IPv6 + "]:65535". */
#define LISTEN_TOKEN_MAX 63

static int listen_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Strict port: 1-5 digits, 1..65535; no sign, no spaces. Port 0 would ask
 * the kernel for a random port, which no client could find. */
static int listen_port(const char *s, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 5)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || s[i] != '\0' || v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* Fills the address part of a->sa from host, or returns -1. inet_pton is
 * the strict parser we want: IPv4 only as four decimal parts ("1.2.3",
 * "0x7f.1" and octal-looking "010.0.0.1" are refused, unlike inet_aton),
 * and no IPv6 scope ids, which would tie the config to an interface name. */
static int listen_host(int family, const char *host, struct listen_addr *a)
{
	void *dst = family == AF_INET
	                ? (void *)&((struct sockaddr_in *)&a->sa)->sin_addr
	                : (void *)&((struct sockaddr_in6 *)&a->sa)->sin6_addr;
	return *host && inet_pton(family, host, dst) == 1 ? 0 : -1;
}

/* Parses one token tok[0..n) into *a (zeroed by the caller). Returns 0 or
 * -1 with a reason quoting the token. */
static int listen_parse_one(const char *tok, size_t n, struct listen_addr *a,
                            char *err, size_t errlen)
{
	char shown[LISTEN_TOKEN_MAX + 1], work[LISTEN_TOKEN_MAX + 1];
	char host[INET6_ADDRSTRLEN];
	char *portstr;
	unsigned port;
	int family;

	if (n > LISTEN_TOKEN_MAX) {
		snprintf(err, errlen, "address too long: '%.40s...'", tok);
		return -1;
	}
	memcpy(shown, tok, n);
	shown[n] = '\0';
	memcpy(work, shown, n + 1);

	if (work[0] == '[') {
		char *close = strchr(work, ']');
		if (!close) {
			snprintf(err, errlen, "missing ']' in '%s'", shown);
			return -1;
		}
		*close = '\0';
		if (close[1] != ':') {
			snprintf(err, errlen, "%s in '%s' (use [ADDRESS]:PORT)",
			         close[1] ? "unexpected text after ']'"
			                  : "missing port",
			         shown);
			return -1;
		}
		family = AF_INET6;
		portstr = close + 2;
		if (listen_host(family, work + 1, a) != 0) {
			snprintf(err, errlen, "bad IPv6 address in '%s'",
			         shown);
			return -1;
		}
	} else {
		char *colon = strrchr(work, ':');
		if (strpbrk(work, "[]")) {
			snprintf(err, errlen, "bad brackets in '%s'", shown);
			return -1;
		}
		if (!colon) {
			snprintf(err, errlen,
			         "missing port in '%s' (use ADDRESS:PORT)",
			         shown);
			return -1;
		}
		*colon = '\0';
		if (strchr(work, ':')) {
			snprintf(err, errlen,
			         "IPv6 address must be in brackets in '%s'",
			         shown);
			return -1;
		}
		family = AF_INET;
		portstr = colon + 1;
		if (listen_host(family, work, a) != 0) {
			snprintf(err, errlen,
			         "not a numeric IPv4 address in '%s' "
			         "(host names are not allowed)",
			         shown);
			return -1;
		}
	}
	if (listen_port(portstr, &port) != 0) {
		snprintf(err, errlen, "bad port in '%s' (1-65535)", shown);
		return -1;
	}

	/* Cannot truncate: 45 + "[]:65535" < sizeof a->text. */
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a->salen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(a->text, sizeof a->text, "%s:%u", host, port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a->salen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(a->text, sizeof a->text, "[%s]:%u", host, port);
	}
	return 0;
}

int listen_parse(const char *text, struct listen_list *out, char *err,
                 size_t errlen)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	for (;;) {
		while (listen_is_space(*p))
			p++;
		if (*p == '\0')
			return 0;
		const char *tok = p;
		while (*p && !listen_is_space(*p))
			p++;
		if (out->n == LISTEN_MAX_ADDRS) {
			snprintf(err, errlen, "more than %d addresses",
			         LISTEN_MAX_ADDRS);
			goto fail;
		}
		struct listen_addr *a = &out->addr[out->n];
		if (listen_parse_one(tok, (size_t)(p - tok), a, err, errlen))
			goto fail;
		/* Canonical texts compare equal for "[::1]" and "[0::1]". A
		 * wildcard overlap would only fail later, at bind(). */
		for (size_t i = 0; i < out->n; i++) {
			if (strcmp(out->addr[i].text, a->text) == 0) {
				snprintf(err, errlen, "duplicate address '%s'",
				         a->text);
				goto fail;
			}
			if (listen_addr_conflict(&out->addr[i], a)) {
				snprintf(err, errlen, "'%s' overlaps '%s'",
				         a->text, out->addr[i].text);
				goto fail;
			}
		}
		out->n++;
	}
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

int listen_is_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
	}
	return 0;
}

int listen_is_specific(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr !=
		       htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		static const unsigned char mapped_any[16] = {
			[10] = 0xff, [11] = 0xff};
		return !IN6_IS_ADDR_UNSPECIFIED(a6) &&
		       memcmp(a6->s6_addr, mapped_any, 16) != 0;
	}
	return 0;
}

int listen_addr_conflict(const struct listen_addr *a,
                         const struct listen_addr *b)
{
	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *x =
		    (const struct sockaddr_in *)&a->sa;
		const struct sockaddr_in *y =
		    (const struct sockaddr_in *)&b->sa;
		return x->sin_port == y->sin_port &&
		       (x->sin_addr.s_addr == y->sin_addr.s_addr ||
		        x->sin_addr.s_addr == htonl(INADDR_ANY) ||
		        y->sin_addr.s_addr == htonl(INADDR_ANY));
	}
	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x =
		    (const struct sockaddr_in6 *)&a->sa;
		const struct sockaddr_in6 *y =
		    (const struct sockaddr_in6 *)&b->sa;
		return x->sin6_port == y->sin6_port &&
		       (IN6_ARE_ADDR_EQUAL(&x->sin6_addr, &y->sin6_addr) ||
		        IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) ||
		        IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
	}
	return 0;
}
