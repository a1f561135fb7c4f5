/* Tests for smtpd/smtp_parse.c: table-driven; every input is parsed from an
 * exact-size heap copy (so ASan catches any read past the end), and every
 * proper prefix of every input is parsed too (must not crash or over-read:
 * the truncation trickle that fits a parser of whole lines). */
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"
#include "t.h"

static char *dup_exact(const char *p, size_t n)
{
	char *d = malloc(n ? n : 1);
	memcpy(d, p, n);
	return d;
}

/* ---- commands ----------------------------------------------------------- */

struct cmd_case {
	const char *line;
	enum smtp_cmd_status st;
	enum smtp_verb verb;
	const char *arg;
};

static const struct cmd_case cmd_cases[] = {
	{"EHLO example.org", SMTP_CMD_OK, SMTP_VERB_EHLO, "example.org"},
	{"ehlo   example.org  ", SMTP_CMD_OK, SMTP_VERB_EHLO, "example.org"},
	{"EHLO\texample.org", SMTP_CMD_OK, SMTP_VERB_EHLO, "example.org"},
	{"HeLo x", SMTP_CMD_OK, SMTP_VERB_HELO, "x"},
	{"MAIL FROM:<a@b>", SMTP_CMD_OK, SMTP_VERB_MAIL, "FROM:<a@b>"},
	{"RCPT TO:<a@b> X=1", SMTP_CMD_OK, SMTP_VERB_RCPT, "TO:<a@b> X=1"},
	{"DATA", SMTP_CMD_OK, SMTP_VERB_DATA, ""},
	{"RSET", SMTP_CMD_OK, SMTP_VERB_RSET, ""},
	{"NOOP hello there", SMTP_CMD_OK, SMTP_VERB_NOOP, "hello there"},
	{"QUIT", SMTP_CMD_OK, SMTP_VERB_QUIT, ""},
	{"VRFY alice", SMTP_CMD_OK, SMTP_VERB_VRFY, "alice"},
	{"EXPN list", SMTP_CMD_OK, SMTP_VERB_EXPN, "list"},
	{"HELP", SMTP_CMD_OK, SMTP_VERB_HELP, ""},
	{"STARTTLS", SMTP_CMD_OK, SMTP_VERB_STARTTLS, ""},
	{"starttls now", SMTP_CMD_OK, SMTP_VERB_STARTTLS, "now"},
	{"QUIT ", SMTP_CMD_OK, SMTP_VERB_QUIT, ""},
	{"XYZZY", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, ""},
	{"MAILFROM:<a@b>", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, ""},
	{" NOOP", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, "NOOP"},
	{"QUITX", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, ""},
	{"GET / HTTP/1.1", SMTP_CMD_OK, SMTP_VERB_HTTP, "/ HTTP/1.1"},
	{"POST /form HTTP/1.0", SMTP_CMD_OK, SMTP_VERB_HTTP, "/form HTTP/1.0"},
	{"CONNECT a:443 HTTP/1.1", SMTP_CMD_OK, SMTP_VERB_HTTP,
	 "a:443 HTTP/1.1"},
	{"get / HTTP/1.1", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, "/ HTTP/1.1"},
	{"GET", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, ""},
	{"", SMTP_CMD_EMPTY, SMTP_VERB_UNKNOWN, ""},
	{"  \t ", SMTP_CMD_EMPTY, SMTP_VERB_UNKNOWN, ""},
	{"NOOP\x01", SMTP_CMD_BADCHAR, SMTP_VERB_UNKNOWN, ""},
	{"NO\x7fOP", SMTP_CMD_BADCHAR, SMTP_VERB_UNKNOWN, ""},
	{"NOOP\rX", SMTP_CMD_BADCHAR, SMTP_VERB_UNKNOWN, ""},
	{"EHLO \xc3\xa4.example", SMTP_CMD_OK, SMTP_VERB_EHLO,
	 "\xc3\xa4.example"},
	{"AUTH PLAIN dGVzdA==", SMTP_CMD_OK, SMTP_VERB_AUTH, "PLAIN dGVzdA=="},
	{"bdat 100 last", SMTP_CMD_OK, SMTP_VERB_BDAT, "100 last"},
};

static void test_commands(void)
{
	for (size_t i = 0; i < sizeof cmd_cases / sizeof cmd_cases[0]; i++) {
		const struct cmd_case *k = &cmd_cases[i];
		size_t n = strlen(k->line);
		char *p = dup_exact(k->line, n);
		struct smtp_cmd c;
		enum smtp_cmd_status st = smtp_parse_command(p, n, &c);
		if (st != k->st || c.verb != k->verb)
			fprintf(stderr, "case %zu: \"%s\"\n", i, k->line);
		CHECK_INT(st, k->st);
		CHECK_INT(c.verb, k->verb);
		if (st == SMTP_CMD_OK && k->verb != SMTP_VERB_UNKNOWN)
			CHECK(c.arg.len == strlen(k->arg) &&
			      memcmp(c.arg.p, k->arg, c.arg.len) == 0);
		for (size_t cut = 0; cut < n; cut++)
			smtp_parse_command(p, cut, &c);
		free(p);
	}
	CHECK_STR(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	CHECK_STR(smtp_verb_name(SMTP_VERB_UNKNOWN), "?");
}

/* ---- MAIL / RCPT -------------------------------------------------------- */

struct path_case {
	bool rcpt;
	unsigned flags;
	const char *arg;
	enum smtp_arg_status st;
	const char *mailbox; /* expected mailbox on OK (NULL: don't check) */
};

static const struct path_case path_cases[] = {
	{false, 0, "FROM:<>", SMTP_ARG_OK, ""},
	{false, 0, "FROM:<alice@example.org>", SMTP_ARG_OK,
	 "alice@example.org"},
	{false, 0, "from:<Alice@Example.ORG>", SMTP_ARG_OK, "Alice@Example.ORG"},
	{false, 0, "FROM: <a@b.c>", SMTP_ARG_OK, "a@b.c"},
	{false, 0, "FROM:a@b.c", SMTP_ARG_SYNTAX, NULL},
	{false, 0, "TO:<a@b.c>", SMTP_ARG_SYNTAX, NULL},
	{false, 0, "FROM", SMTP_ARG_SYNTAX, NULL},
	{false, 0, "FROM:", SMTP_ARG_SYNTAX, NULL},
	{false, 0, "FROM:<", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@b.c", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@b.c>x", SMTP_ARG_SYNTAX, NULL},
	{false, 0, "FROM:<a@b.c> ", SMTP_ARG_OK, "a@b.c"},
	{false, 0, "FROM:<a>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a b@c.d>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a..b@x.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<.a@x.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a.@x.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a.b+tag@x.org>", SMTP_ARG_OK, "a.b+tag@x.org"},
	{false, 0, "FROM:<user%other@x.org>", SMTP_ARG_OK, "user%other@x.org"},
	{false, 0, "FROM:<a@-x.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@x-.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@x..org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@x.org.>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@b@c>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@x_y.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<@>", SMTP_ARG_ROUTE, NULL},
	{false, 0, "FROM:<@a,@b:u@c>", SMTP_ARG_ROUTE, NULL},
	{true, 0, "TO:<@relay.example:victim@remote.example>", SMTP_ARG_ROUTE,
	 NULL},
	{false, 0, "FROM:<\"john doe\"@example.org>", SMTP_ARG_OK,
	 "\"john doe\"@example.org"},
	{false, 0, "FROM:<\"a\\\"b>c\"@x.org>", SMTP_ARG_OK, "\"a\\\"b>c\"@x.org"},
	{false, 0, "FROM:<\"ab@x.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<\"a\tb\"@x.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[192.0.2.1]>", SMTP_ARG_OK, "a@[192.0.2.1]"},
	{false, 0, "FROM:<a@[192.0.2.256]>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[1.2.3]>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[1.2.3.4.5]>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[0001.2.3.4]>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[IPv6:2001:db8::1]>", SMTP_ARG_OK,
	 "a@[IPv6:2001:db8::1]"},
	{false, 0, "FROM:<a@[ipv6:::1]>", SMTP_ARG_OK, "a@[ipv6:::1]"},
	{false, 0, "FROM:<a@[IPv6:zz::1]>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[x-tag:abc]>", SMTP_ARG_OK, "a@[x-tag:abc]"},
	{false, 0, "FROM:<a@[tag]>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<a@[1.2.3.4>", SMTP_ARG_BAD_ADDR, NULL},
	{false, 0, "FROM:<\xc3\xa4@b.org>", SMTP_ARG_BAD_ADDR, NULL},
	{false, SMTP_PARSE_UTF8, "FROM:<\xc3\xa4@b\xc3\xa4.org>", SMTP_ARG_OK,
	 "\xc3\xa4@b\xc3\xa4.org"},
	/* parameters */
	{false, 0, "FROM:<a@b.c> SIZE=1000", SMTP_ARG_OK, NULL},
	{false, 0, "FROM:<a@b.c>  SIZE=1000   BODY=8BITMIME", SMTP_ARG_OK, NULL},
	{false, 0, "FROM:<a@b.c> SIZE=", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> SIZE", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> SIZE=12a", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> SIZE=-1", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> SIZE=123456789012345678901", SMTP_ARG_BAD_PARAM,
	 NULL},
	{false, 0, "FROM:<a@b.c> SIZE=1 SIZE=2", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> BODY=BINARYMIME", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> BODY=7BIT BODY=7BIT", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> =x", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> X=a=b", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> -X", SMTP_ARG_BAD_PARAM, NULL},
	{false, 0, "FROM:<a@b.c> A B C D E F G H", SMTP_ARG_OK, NULL},
	{false, 0, "FROM:<a@b.c> A B C D E F G H I", SMTP_ARG_BAD_PARAM, NULL},
	/* RCPT */
	{true, 0, "TO:<alice@example.org>", SMTP_ARG_OK, "alice@example.org"},
	{true, 0, "to:<alice@example.org>", SMTP_ARG_OK, "alice@example.org"},
	{true, 0, "TO:<>", SMTP_ARG_BAD_ADDR, NULL},
	{true, 0, "TO:<Postmaster>", SMTP_ARG_OK, "Postmaster"},
	{true, 0, "TO:<postmaster>", SMTP_ARG_OK, "postmaster"},
	{true, 0, "TO:<\"postmaster\">", SMTP_ARG_BAD_ADDR, NULL},
	{true, 0, "TO:<alice>", SMTP_ARG_BAD_ADDR, NULL},
	{true, 0, "TO:<alice@example.org> NOTIFY=NEVER", SMTP_ARG_OK, NULL},
	{true, 0, "FROM:<alice@example.org>", SMTP_ARG_SYNTAX, NULL},
	{true, 0, "TO:alice@example.org", SMTP_ARG_SYNTAX, NULL},
};

static void check_path(size_t i, const struct path_case *k)
{
	size_t n = strlen(k->arg);
	char *p = dup_exact(k->arg, n);
	struct smtp_path_args a;
	enum smtp_arg_status st = k->rcpt ? smtp_parse_rcpt(p, n, k->flags, &a)
	                                  : smtp_parse_mail(p, n, k->flags, &a);
	if (st != k->st)
		fprintf(stderr, "path case %zu: \"%s\" -> %d\n", i, k->arg, st);
	CHECK_INT(st, k->st);
	if (st == SMTP_ARG_OK && k->mailbox)
		CHECK(a.path.mailbox.len == strlen(k->mailbox) &&
		      memcmp(a.path.mailbox.p, k->mailbox, a.path.mailbox.len) ==
		              0);
	/* Every truncation must be handled (and must not read past it). */
	for (size_t cut = 0; cut < n; cut++) {
		char *q = dup_exact(p, cut);
		if (k->rcpt)
			smtp_parse_rcpt(q, cut, k->flags, &a);
		else
			smtp_parse_mail(q, cut, k->flags, &a);
		free(q);
	}
	free(p);
}

static enum smtp_arg_status mail(const char *arg, struct smtp_path_args *a)
{
	return smtp_parse_mail(arg, strlen(arg), 0, a);
}

static void test_paths(void)
{
	struct smtp_path_args a;

	for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++)
		check_path(i, &path_cases[i]);

	CHECK_INT(mail("FROM:<>", &a), SMTP_ARG_OK);
	CHECK(a.path.null);
	CHECK_INT(a.path.mailbox.len, 0);
	CHECK_INT(a.unknown, -1);

	CHECK_INT(mail("FROM:<Al.ice@Example.org> SIZE=1000 body=8bitmime", &a),
	          SMTP_ARG_OK);
	CHECK(!a.path.null && !a.path.quoted && !a.path.literal);
	CHECK_MEM(a.path.local.p, a.path.local.len, "Al.ice");
	CHECK_MEM(a.path.domain.p, a.path.domain.len, "Example.org");
	CHECK(a.has_size);
	CHECK_INT(a.size, 1000);
	CHECK_INT(a.body, SMTP_BODY_8BITMIME);
	CHECK_INT(a.nparam, 2);
	CHECK_MEM(a.param[1].key.p, a.param[1].key.len, "body");
	CHECK_MEM(a.param[1].value.p, a.param[1].value.len, "8bitmime");

	CHECK_INT(mail("FROM:<a@b> BODY=7BIT", &a), SMTP_ARG_OK);
	CHECK_INT(a.body, SMTP_BODY_7BIT);
	CHECK(!a.has_size);

	/* SIZE overflow: 20 digits are valid syntax, clamped to the max. */
	CHECK_INT(mail("FROM:<a@b> SIZE=18446744073709551615", &a), SMTP_ARG_OK);
	CHECK(a.size == UINT64_MAX);
	CHECK_INT(mail("FROM:<a@b> SIZE=18446744073709551616", &a), SMTP_ARG_OK);
	CHECK(a.size == UINT64_MAX);
	CHECK_INT(mail("FROM:<a@b> SIZE=99999999999999999999", &a), SMTP_ARG_OK);
	CHECK(a.size == UINT64_MAX);
	CHECK_INT(mail("FROM:<a@b> SIZE=00000000000000000042", &a), SMTP_ARG_OK);
	CHECK_INT(a.size, 42);

	/* Unknown parameters are reported, not refused, by the parser. */
	CHECK_INT(mail("FROM:<a@b> SIZE=1 SMTPUTF8 AUTH=<> RET=FULL", &a),
	          SMTP_ARG_OK);
	CHECK_INT(a.unknown, 3);
	CHECK_INT(a.nparam, 4);
	CHECK(a.smtputf8 && a.has_auth);
	CHECK(a.param[1].value.p == NULL);
	CHECK_MEM(a.param[2].value.p, a.param[2].value.len, "<>");
	CHECK_INT(mail("FROM:<a@b> smtputf8", &a), SMTP_ARG_OK);
	CHECK(a.smtputf8 && a.unknown == -1);

	/* RFC 6531 3.4: SMTPUTF8 has no value; RFC 4954 5: AUTH= is "<>"
	 * or xtext ("+" and two upper-case hex digits); none twice. */
	CHECK_INT(mail("FROM:<a@b> SMTPUTF8=yes", &a), SMTP_ARG_BAD_PARAM);
	CHECK_INT(mail("FROM:<a@b> SMTPUTF8 SMTPUTF8", &a), SMTP_ARG_BAD_PARAM);
	CHECK_INT(mail("FROM:<a@b> AUTH=alice+40example.org", &a), SMTP_ARG_OK);
	CHECK(a.has_auth);
	CHECK_INT(mail("FROM:<a@b> AUTH=a+4", &a), SMTP_ARG_BAD_PARAM);
	CHECK_INT(mail("FROM:<a@b> AUTH=a+4g", &a), SMTP_ARG_BAD_PARAM);
	CHECK_INT(mail("FROM:<a@b> AUTH", &a), SMTP_ARG_BAD_PARAM);
	CHECK_INT(mail("FROM:<a@b> AUTH=<> AUTH=<>", &a), SMTP_ARG_BAD_PARAM);

	CHECK_INT(smtp_parse_rcpt("TO:<a@b> X=1", 12, 0, &a), SMTP_ARG_OK);
	CHECK_INT(a.unknown, 0);
	CHECK_INT(smtp_parse_rcpt("TO:<Postmaster>", 15, 0, &a), SMTP_ARG_OK);
	CHECK(a.path.postmaster);
	CHECK_INT(a.path.domain.len, 0);
	CHECK_INT(smtp_parse_rcpt("TO:<a@[192.0.2.1]>", 18, 0, &a), SMTP_ARG_OK);
	CHECK(a.path.literal);
	CHECK_MEM(a.path.domain.p, a.path.domain.len, "[192.0.2.1]");
	CHECK_INT(mail("FROM:<\"x y\"@b>", &a), SMTP_ARG_OK);
	CHECK(a.path.quoted);
}

/* RFC 5321 4.5.3.1: local part 64, path 256 (brackets included), labels
 * 63 (RFC 1035). */
static void test_limits(void)
{
	char arg[600], local[100], dom[400];
	struct smtp_path_args a;

	memset(local, 'l', 64);
	local[64] = '\0';
	snprintf(arg, sizeof arg, "FROM:<%s@x.org>", local);
	CHECK_INT(mail(arg, &a), SMTP_ARG_OK);
	local[64] = 'l';
	local[65] = '\0';
	snprintf(arg, sizeof arg, "FROM:<%s@x.org>", local);
	CHECK_INT(mail(arg, &a), SMTP_ARG_TOO_LONG);

	/* domain of 189 octets + 64 local + "@" + "<>" = 256: fits */
	memset(dom, 'd', sizeof dom);
	for (int i = 63; i < 189; i += 64)
		dom[i] = '.';
	dom[189] = '\0';
	local[64] = '\0';
	snprintf(arg, sizeof arg, "FROM:<%s@%s>", local, dom);
	CHECK_INT(mail(arg, &a), SMTP_ARG_OK);
	dom[189] = 'd';
	dom[190] = '\0';
	snprintf(arg, sizeof arg, "FROM:<%s@%s>", local, dom);
	CHECK_INT(mail(arg, &a), SMTP_ARG_TOO_LONG);

	/* a label of 64 octets */
	memset(dom, 'd', 64);
	dom[64] = '\0';
	snprintf(arg, sizeof arg, "FROM:<a@%s.org>", dom);
	CHECK_INT(mail(arg, &a), SMTP_ARG_BAD_ADDR);
	dom[63] = '\0';
	snprintf(arg, sizeof arg, "FROM:<a@%s.org>", dom);
	CHECK_INT(mail(arg, &a), SMTP_ARG_OK);
}

static void test_helo(void)
{
	static const struct {
		const char *arg;
		bool ok;
	} cases[] = {
		{"example.org", true},    {"mail.example.org.", true},
		{"my_pc", true},          {"localhost", true},
		{"[192.0.2.1]", true},    {"[IPv6:::1]", true},
		{"[300.1.1.1]", false},   {"[192.0.2.1", false},
		{"[192.0.2.1]x", false},  {"a b", false},
		{"", false},              {"ex;ample", false},
		{"ex(ample)", false},     {"\xc3\xa4.example", false},
		{"192.0.2.1", true},
	};
	char big[300];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].arg);
		char *p = dup_exact(cases[i].arg, n);
		if (smtp_parse_helo(p, n) != cases[i].ok)
			fprintf(stderr, "helo case \"%s\"\n", cases[i].arg);
		CHECK(smtp_parse_helo(p, n) == cases[i].ok);
		free(p);
	}
	memset(big, 'a', sizeof big);
	CHECK(smtp_parse_helo(big, 255));
	CHECK(!smtp_parse_helo(big, 256));
}

/* RFC 3030 2: "BDAT" SP chunk-size [SP end-marker]. */
static void test_bdat(void)
{
	static const struct {
		const char *arg;
		enum smtp_bdat_status st;
		uint64_t size;
		bool last;
	} cases[] = {
		{"0", SMTP_BDAT_OK, 0, false},
		{"100", SMTP_BDAT_OK, 100, false},
		{"100 LAST", SMTP_BDAT_OK, 100, true},
		{"7 last", SMTP_BDAT_OK, 7, true},
		{"0 LAST", SMTP_BDAT_OK, 0, true},
		{"007 LAST", SMTP_BDAT_OK, 7, true},
		{"4611686018427387904", SMTP_BDAT_OK, UINT64_C(1) << 62, false},
		{"5 X", SMTP_BDAT_BAD_MARKER, 5, false},
		{"5 LASTX", SMTP_BDAT_BAD_MARKER, 5, false},
		{"5 LAST X", SMTP_BDAT_BAD_MARKER, 5, false},
		{"", SMTP_BDAT_SYNTAX, 0, false},
		{"LAST", SMTP_BDAT_SYNTAX, 0, false},
		{"-1", SMTP_BDAT_SYNTAX, 0, false},
		{"1x", SMTP_BDAT_SYNTAX, 0, false},
		{"4611686018427387905", SMTP_BDAT_SYNTAX, 0, false},
		{"99999999999999999999999", SMTP_BDAT_SYNTAX, 0, false},
		/* Past 2^64: must not wrap to 4 or 0 (found by a review). */
		{"18446744073709551620 LAST", SMTP_BDAT_SYNTAX, 0, false},
		{"18446744073709551616", SMTP_BDAT_SYNTAX, 0, false},
		{"46116860184273879040", SMTP_BDAT_SYNTAX, 0, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].arg);
		char *p = dup_exact(cases[i].arg, n);
		uint64_t size = 99;
		bool last = true;
		enum smtp_bdat_status st = smtp_parse_bdat(p, n, &size, &last);
		if (st != cases[i].st)
			fprintf(stderr, "bdat case \"%s\"\n", cases[i].arg);
		CHECK_INT(st, cases[i].st);
		if (st != SMTP_BDAT_SYNTAX)
			CHECK(size == cases[i].size);
		CHECK(last == cases[i].last);
		for (size_t k = 0; k < n; k++) /* prefixes: no over-read */
			smtp_parse_bdat(p, k, &size, &last);
		free(p);
	}
}

/* RFC 4954 4: AUTH mechanism [initial-response]. */
static void test_auth(void)
{
	static const struct {
		const char *arg;
		bool ok;
		const char *mech, *resp;
	} cases[] = {
		{"PLAIN", true, "PLAIN", ""},
		{"login", true, "login", ""},
		{"PLAIN AGFsaWNlAHB3", true, "PLAIN", "AGFsaWNlAHB3"},
		{"PLAIN =", true, "PLAIN", "="},
		{"SCRAM-SHA-256", true, "SCRAM-SHA-256", ""},
		{"X_Y  abc", true, "X_Y", "abc"},
		{"", false, "", ""},
		{"PLAIN a b", false, "", ""},
		{"PL@IN", false, "", ""},
		{"ABCDEFGHIJKLMNOPQRSTU", false, "", ""}, /* 21 characters */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].arg);
		char *p = dup_exact(cases[i].arg, n);
		struct smtp_auth_args a;
		bool ok = smtp_parse_auth(p, n, &a);
		if (ok != cases[i].ok)
			fprintf(stderr, "auth case \"%s\"\n", cases[i].arg);
		CHECK(ok == cases[i].ok);
		if (ok && cases[i].ok) {
			CHECK(a.mech.len == strlen(cases[i].mech) &&
			      !memcmp(a.mech.p, cases[i].mech, a.mech.len));
			CHECK(a.resp.len == strlen(cases[i].resp) &&
			      (!a.resp.len ||
			       !memcmp(a.resp.p, cases[i].resp, a.resp.len)));
		}
		for (size_t k = 0; k < n; k++)
			smtp_parse_auth(p, k, &a);
		free(p);
	}
}

int main(void)
{
	test_commands();
	test_paths();
	test_limits();
	test_helo();
	test_bdat();
	test_auth();
	return t_done("smtp_parse");
}
