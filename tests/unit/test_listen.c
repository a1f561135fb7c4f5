/* Unit tests for common/listen.c: listen_parse, listen_is_loopback,
 * listen_is_specific, listen_addr_conflict. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "listen.h"
#include "t.h"

struct parse_case {
	const char *in;
	const char
	    *want[3];    /* canonical texts, NULL-terminated; unused on error */
	const char *err; /* NULL = success, else a substring of the reason */
};

/* clang-format off */
static const struct parse_case parse_cases[] = {
	/* Empty lists disable the listener. */
	{"", {NULL}, NULL},
	{" \t \n", {NULL}, NULL},
	{"0.0.0.0:25", {"0.0.0.0:25"}, NULL},
	{"127.0.0.1:2525 [::1]:2525", {"127.0.0.1:2525", "[::1]:2525"}, NULL},
	{"  1.2.3.4:1\t5.6.7.8:65535  ", {"1.2.3.4:1", "5.6.7.8:65535"}, NULL},
	{"[::]:25", {"[::]:25"}, NULL},
	{"[2001:DB8:0::1]:587", {"[2001:db8::1]:587"}, NULL},
	{"[::ffff:127.0.0.1]:25", {"[::ffff:127.0.0.1]:25"}, NULL},
	{"1.2.3.4:00025", {"1.2.3.4:25"}, NULL},
	/* IPv4 and IPv6 wildcards bind side by side (IPV6_V6ONLY). */
	{"0.0.0.0:25 [::]:25", {"0.0.0.0:25", "[::]:25"}, NULL},
	{"0.0.0.0:25 0.0.0.0:26", {"0.0.0.0:25", "0.0.0.0:26"}, NULL},

	/* Ports. */
	{"1.2.3.4:0", {NULL}, "bad port in '1.2.3.4:0'"},
	{"1.2.3.4:65536", {NULL}, "bad port"},
	{"1.2.3.4:99999", {NULL}, "bad port in '1.2.3.4:99999'"},
	{"1.2.3.4:123456", {NULL}, "bad port"},
	{"1.2.3.4:4294967321", {NULL}, "bad port"},
	{"1.2.3.4:-1", {NULL}, "bad port"},
	{"1.2.3.4:+25", {NULL}, "bad port"},
	{"1.2.3.4:25a", {NULL}, "bad port"},
	{"1.2.3.4:", {NULL}, "bad port"},
	{"[::1]:", {NULL}, "bad port"},
	{"[::1]:25]", {NULL}, "bad port"},
	{"1.2.3.4", {NULL}, "missing port in '1.2.3.4'"},
	{"[::1]", {NULL}, "missing port"},

	/* Addresses: numeric only. */
	{"localhost:25", {NULL}, "not a numeric IPv4 address in 'localhost:25'"},
	{"mail.example.org:25", {NULL}, "host names are not allowed"},
	{":25", {NULL}, "not a numeric IPv4 address"},
	{"1.2.3:25", {NULL}, "not a numeric IPv4 address"},
	{"256.1.1.1:25", {NULL}, "not a numeric IPv4 address"},
	{"1.2.3.4.5:25", {NULL}, "not a numeric IPv4 address"},
	{"010.0.0.1:25", {NULL}, "not a numeric IPv4 address"},
	{"0x7f.0.0.1:25", {NULL}, "not a numeric IPv4 address"},
	{"2130706433:25", {NULL}, "not a numeric IPv4 address"},
	{" 1.2.3.4 :25", {NULL}, "missing port in '1.2.3.4'"},
	{"::1:25", {NULL}, "IPv6 address must be in brackets"},
	{"[::1]25", {NULL}, "unexpected text after ']'"},
	{"[::1:25", {NULL}, "missing ']'"},
	{"::1]:25", {NULL}, "bad brackets"},
	{"1.2.3.4]:25", {NULL}, "bad brackets"},
	{"[1.2.3.4]:25", {NULL}, "bad IPv6 address"},
	{"[]:25", {NULL}, "bad IPv6 address"},
	{"[[::1]]:25", {NULL}, "unexpected text after ']'"},
	{"[fe80::1%eth0]:25", {NULL}, "bad IPv6 address"},
	{"[gggg::1]:25", {NULL}, "bad IPv6 address"},
	{"[0000:0000:0000:0000:0000:0000:0000:0000:0001]:25", {NULL},
	 "bad IPv6 address"},
	{"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:25",
	 {NULL}, "address too long"},

	/* Duplicates, also in different spellings, and overlaps. */
	{"1.2.3.4:25 1.2.3.4:25", {NULL}, "duplicate address '1.2.3.4:25'"},
	{"[::1]:25 [0:0::1]:25", {NULL}, "duplicate address '[::1]:25'"},
	{"1.2.3.4:025 1.2.3.4:25", {NULL}, "duplicate address"},
	{"0.0.0.0:25 127.0.0.1:25", {NULL}, "'127.0.0.1:25' overlaps '0.0.0.0:25'"},
	{"127.0.0.1:25 0.0.0.0:25", {NULL}, "overlaps"},
	{"[::]:25 [::1]:25", {NULL}, "overlaps"},

};
/* clang-format on */

static void test_parse_table(void)
{
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0];
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		struct listen_list l;
		char err[256] = "";
		int rc = listen_parse(c->in, &l, err, sizeof err);

		if (c->err) {
			CHECK_INT(rc, -1);
			CHECK_INT(l.n, 0);
			if (!strstr(err, c->err))
				fprintf(stderr,
				        "case '%s': err '%s', want '%s'\n",
				        c->in, err, c->err);
			CHECK(strstr(err, c->err) != NULL);
			continue;
		}
		CHECK_INT(rc, 0);
		if (rc != 0)
			fprintf(stderr, "case '%s': %s\n", c->in, err);
		size_t n = 0;
		while (n < 3 && c->want[n])
			n++;
		CHECK_INT(l.n, n);
		for (size_t j = 0; j < n; j++)
			CHECK_STR(l.addr[j].text, c->want[j]);
	}
}

/* LISTEN_MAX_ADDRS entries fit; one more is refused. */
static void test_count_limit(void)
{
	struct listen_list l;
	char text[512], err[128];
	size_t off = 0;

	for (int i = 1; i <= LISTEN_MAX_ADDRS + 1; i++) {
		off += (size_t)snprintf(text + off, sizeof text - off,
		                        "127.0.0.1:%d ", i);
		int rc = listen_parse(text, &l, err, sizeof err);
		if (i <= LISTEN_MAX_ADDRS) {
			CHECK_INT(rc, 0);
			CHECK_INT(l.n, i);
		} else {
			CHECK_INT(rc, -1);
			CHECK_STR(err, "more than 8 addresses");
		}
	}
}

/* The sockaddr is ready for bind(): family, port in network order, length. */
static void test_sockaddr(void)
{
	struct listen_list l;
	char err[128];

	CHECK_INT(listen_parse("192.0.2.7:2525 [2001:db8::5]:995", &l, err,
	                       sizeof err),
	          0);
	CHECK_INT(l.n, 2);
	const struct sockaddr_in *sin =
	    (const struct sockaddr_in *)&l.addr[0].sa;
	CHECK_INT(sin->sin_family, AF_INET);
	CHECK_INT(ntohs(sin->sin_port), 2525);
	CHECK_INT(ntohl(sin->sin_addr.s_addr), 0xC0000207);
	CHECK_INT(l.addr[0].salen, sizeof(struct sockaddr_in));

	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&l.addr[1].sa;
	struct in6_addr want;
	inet_pton(AF_INET6, "2001:db8::5", &want);
	CHECK_INT(sin6->sin6_family, AF_INET6);
	CHECK_INT(ntohs(sin6->sin6_port), 995);
	CHECK(memcmp(&sin6->sin6_addr, &want, sizeof want) == 0);
	CHECK_INT(sin6->sin6_scope_id, 0);
	CHECK_INT(l.addr[1].salen, sizeof(struct sockaddr_in6));
}

/* A short err buffer is cut, NUL-terminated, never overrun (ASan). */
static void test_short_err(void)
{
	struct listen_list l;
	char err[8];

	memset(err, 'x', sizeof err);
	CHECK_INT(listen_parse("1.2.3.4:99999", &l, err, sizeof err), -1);
	CHECK_STR(err, "bad por");
	CHECK_INT(listen_parse("bogus", &l, err, 1), -1);
	CHECK_STR(err, "");
}

/* A list parsed into a struct that held an old list leaves nothing old. */
static void test_reuse(void)
{
	struct listen_list l;
	char err[128];

	CHECK_INT(listen_parse("1.2.3.4:1 1.2.3.4:2", &l, err, sizeof err), 0);
	CHECK_INT(listen_parse("1.2.3.4:99999", &l, err, sizeof err), -1);
	CHECK_INT(l.n, 0);
	CHECK_INT(listen_parse("", &l, err, sizeof err), 0);
	CHECK_INT(l.n, 0);
}

/* A numeric address as a sockaddr: 0, or -1 when it does not parse. */
static int sockaddr_of(const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		return inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	return inet_pton(AF_INET, addr, &s4->sin_addr) == 1 ? 0 : -1;
}

static int loopback_of(const char *addr)
{
	struct sockaddr_storage ss;
	if (sockaddr_of(addr, &ss) != 0)
		return -1;
	return listen_is_loopback((struct sockaddr *)&ss);
}

static int specific_of(const char *addr)
{
	struct sockaddr_storage ss;
	if (sockaddr_of(addr, &ss) != 0)
		return -1;
	return listen_is_specific((struct sockaddr *)&ss);
}

/* The I/O layer trusts the listener's address for every connection only
 * when it is not a wildcard. */
static void test_specific(void)
{
	/* clang-format off */
	static const struct {
		const char *addr;
		int want;
	} cases[] = {
		{"0.0.0.0", 0}, {"::", 0}, {"::ffff:0.0.0.0", 0},
		{"127.0.0.1", 1}, {"10.0.0.1", 1}, {"0.0.0.1", 1},
		{"::1", 1}, {"::ffff:127.0.0.1", 1}, {"2001:db8::1", 1},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = specific_of(cases[i].addr);
		if (got != cases[i].want)
			fprintf(stderr, "specific %s\n", cases[i].addr);
		CHECK_INT(got, cases[i].want);
	}
	CHECK_INT(listen_is_specific(NULL), 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	CHECK_INT(listen_is_specific((struct sockaddr *)&sun), 0);
}

static void test_loopback(void)
{
	/* clang-format off */
	static const struct {
		const char *addr;
		int want;
	} cases[] = {
		{"127.0.0.1", 1}, {"127.255.255.254", 1}, {"127.0.0.0", 1},
		{"126.255.255.255", 0}, {"128.0.0.1", 0}, {"0.0.0.0", 0},
		{"10.0.0.1", 0}, {"::1", 1}, {"::", 0}, {"::2", 0},
		{"::ffff:127.0.0.1", 1}, {"::ffff:10.0.0.1", 0},
		{"fe80::1", 0}, {"2001:db8::1", 0},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = loopback_of(cases[i].addr);
		if (got != cases[i].want)
			fprintf(stderr, "loopback %s\n", cases[i].addr);
		CHECK_INT(got, cases[i].want);
	}
	CHECK_INT(listen_is_loopback(NULL), 0);

	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	CHECK_INT(listen_is_loopback((struct sockaddr *)&sun), 0);

	/* Parsed listeners work too. */
	struct listen_list l;
	char err[64];
	CHECK_INT(
	    listen_parse("127.0.0.1:1 [::1]:1 0.0.0.0:2", &l, err, sizeof err),
	    0);
	CHECK_INT(listen_is_loopback((struct sockaddr *)&l.addr[0].sa), 1);
	CHECK_INT(listen_is_loopback((struct sockaddr *)&l.addr[1].sa), 1);
	CHECK_INT(listen_is_loopback((struct sockaddr *)&l.addr[2].sa), 0);
}

static void test_conflict(void)
{
	/* clang-format off */
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{"1.2.3.4:25", "1.2.3.4:25", 1},
		{"0.0.0.0:25", "1.2.3.4:25", 1},
		{"1.2.3.4:25", "0.0.0.0:25", 1},
		{"1.2.3.4:25", "1.2.3.5:25", 0},
		{"1.2.3.4:25", "1.2.3.4:26", 0},
		{"0.0.0.0:25", "0.0.0.0:26", 0},
		{"0.0.0.0:25", "[::]:25", 0},
		{"[::]:25", "[::1]:25", 1},
		{"[::1]:25", "[::1]:25", 1},
		{"[::1]:25", "[::2]:25", 0},
		{"[::1]:25", "[::1]:26", 0},
		{"127.0.0.1:25", "[::ffff:127.0.0.1]:25", 0},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct listen_list a, b;
		char err[128];
		CHECK_INT(listen_parse(cases[i].a, &a, err, sizeof err), 0);
		CHECK_INT(listen_parse(cases[i].b, &b, err, sizeof err), 0);
		int got = listen_addr_conflict(&a.addr[0], &b.addr[0]);
		if (got != cases[i].want)
			fprintf(stderr, "conflict %s %s\n", cases[i].a,
			        cases[i].b);
		CHECK_INT(got, cases[i].want);
	}
}

int main(void)
{
	test_parse_table();
	test_count_limit();
	test_sockaddr();
	test_short_err();
	test_reuse();
	test_loopback();
	test_specific();
	test_conflict();
	return t_done("listen");
}
