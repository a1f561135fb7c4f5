/* Fuzzes listen_parse (common/listen.c), the listen-address lists of the
 * config file.
 *
 * Properties: on success every entry has a canonical text, a port in
 * 1..65535, no two entries conflict, listen_is_loopback agrees with the
 * text, and parsing the canonical texts joined by spaces gives the same
 * list again. On failure the list is empty and err holds a reason. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "fuzz.h"
#include "listen.h"

static void check_entry(const struct listen_addr *a)
{
	FUZZ_CHECK(memchr(a->text, '\0', sizeof a->text) != NULL);
	uint16_t port;
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&a->sa;
		FUZZ_CHECK(a->salen == sizeof *sin);
		FUZZ_CHECK(a->text[0] != '[');
		port = ntohs(sin->sin_port);
		FUZZ_CHECK(listen_is_loopback((const void *)&a->sa) ==
		           (strncmp(a->text, "127.", 4) == 0));
	} else {
		FUZZ_CHECK(a->sa.ss_family == AF_INET6);
		const struct sockaddr_in6 *sin6 = (const void *)&a->sa;
		FUZZ_CHECK(a->salen == sizeof *sin6);
		FUZZ_CHECK(a->text[0] == '[');
		port = ntohs(sin6->sin6_port);
		FUZZ_CHECK(listen_is_loopback((const void *)&a->sa) ==
		           (strncmp(a->text, "[::1]:", 6) == 0 ||
		            strncmp(a->text, "[::ffff:127.", 12) == 0));
	}
	FUZZ_CHECK(port >= 1);
	/* The text ends with ":port". */
	char tail[8];
	snprintf(tail, sizeof tail, ":%u", (unsigned)port);
	size_t tl = strlen(tail), n = strlen(a->text);
	FUZZ_CHECK(n > tl && strcmp(a->text + n - tl, tail) == 0);
	FUZZ_CHECK(listen_addr_conflict(a, a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size); /* stops at the first NUL */
	struct listen_list l, again;
	char err[128];

	memset(&l, 0xA5, sizeof l);
	err[0] = '\0';
	if (listen_parse(text, &l, err, sizeof err) != 0) {
		FUZZ_CHECK(l.n == 0);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		free(text);
		return 0;
	}
	FUZZ_CHECK(l.n <= LISTEN_MAX_ADDRS);
	char joined[LISTEN_MAX_ADDRS * 65 + 1] = "";
	size_t jl = 0;
	for (size_t i = 0; i < l.n; i++) {
		check_entry(&l.addr[i]);
		for (size_t j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(l.addr[i].text, l.addr[j].text) != 0);
			FUZZ_CHECK(
			    !listen_addr_conflict(&l.addr[i], &l.addr[j]));
		}
		/* Bounded: 8 texts of < 64 bytes and their spaces. */
		jl += (size_t)snprintf(joined + jl, sizeof joined - jl, "%s%s",
		                       i ? " " : "", l.addr[i].text);
		FUZZ_CHECK(jl < sizeof joined);
	}
	FUZZ_CHECK(listen_parse(joined, &again, err, sizeof err) == 0);
	FUZZ_CHECK(again.n == l.n);
	for (size_t i = 0; i < l.n; i++) {
		FUZZ_CHECK(strcmp(again.addr[i].text, l.addr[i].text) == 0);
		FUZZ_CHECK(again.addr[i].salen == l.addr[i].salen);
		FUZZ_CHECK(memcmp(&again.addr[i].sa, &l.addr[i].sa,
		                  l.addr[i].salen) == 0);
	}
	free(text);
	return 0;
}
