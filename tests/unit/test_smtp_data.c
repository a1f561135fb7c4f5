/* Tests for smtpd/smtp_data.c, the DATA decoder. Every case is fed whole,
 * one byte at a time, split in two at every point, and with tiny output
 * buffers; all must give the same body, flags, octets and end position.
 * Each chunk is an exact-size heap copy, so ASan sees any over-read. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "t.h"

struct result {
	enum smtp_data_result r; /* END or NEED_MORE at the end of input */
	size_t used;             /* input consumed (END: through terminator) */
	char body[8192];
	size_t len;
	unsigned flags;
	uint64_t octets;
};

/* Feeds in[0..n) in chunks: chunk 0 = whole; split > 0 = two chunks cut at
 * split; outcap = output buffer size (0 = discard mode, out NULL). */
static void run(const char *in, size_t n, size_t chunk, size_t split,
                size_t outcap, uint64_t max, struct result *res)
{
	struct smtp_data d;
	size_t pos = 0, avail = 0;
	char *out = outcap ? malloc(outcap) : NULL;

	memset(res, 0, sizeof *res);
	smtp_data_init(&d, max);
	res->r = SMTP_DATA_NEED_MORE;
	while (avail < n) {
		if (split)
			avail = avail < split ? split : n;
		else if (chunk)
			avail = avail + chunk < n ? avail + chunk : n;
		else
			avail = n;
		for (;;) {
			size_t len = avail - pos, used, produced;
			char *copy = malloc(len ? len : 1);
			memcpy(copy, in + pos, len);
			enum smtp_data_result r = smtp_data_decode(
				&d, copy, len, out, outcap, &used, &produced);
			free(copy);
			CHECK(used <= len);
			CHECK(out == NULL || produced <= outcap);
			if (out && res->len + produced <= sizeof res->body) {
				memcpy(res->body + res->len, out, produced);
				res->len += produced;
			}
			pos += used;
			if (r == SMTP_DATA_END) {
				res->r = r;
				goto out;
			}
			if (r == SMTP_DATA_NEED_MORE) {
				CHECK(pos == avail);
				break;
			}
		}
	}
out:
	res->used = pos;
	res->flags = d.flags;
	res->octets = d.octets;
	free(out);
}

static bool same(const struct result *a, const struct result *b,
                 bool compare_body)
{
	return a->r == b->r && a->used == b->used && a->flags == b->flags &&
	       a->octets == b->octets &&
	       (!compare_body ||
	        (a->len == b->len && memcmp(a->body, b->body, a->len) == 0));
}

/* Runs every feeding mode and checks they agree with the whole-input run,
 * which is returned in *ref. */
static void run_all(const char *in, size_t n, uint64_t max,
                    struct result *ref)
{
	static struct result r;

	run(in, n, 0, 0, sizeof r.body, max, ref);
	CHECK(ref->octets == ref->len);
	run(in, n, 1, 0, sizeof r.body, max, &r);
	CHECK(same(ref, &r, true));
	for (size_t k = 1; k < n; k++) {
		run(in, n, 0, k, sizeof r.body, max, &r);
		if (!same(ref, &r, true))
			fprintf(stderr, "split at %zu differs\n", k);
		CHECK(same(ref, &r, true));
	}
	static const size_t caps[] = {2, 3, 5};
	for (size_t i = 0; i < 3; i++) {
		run(in, n, 0, 0, caps[i], max, &r);
		CHECK(same(ref, &r, true));
		run(in, n, 1, 0, caps[i], max, &r);
		CHECK(same(ref, &r, true));
	}
	run(in, n, 0, 0, 0, max, &r); /* discard mode counts the same */
	CHECK(same(ref, &r, false));
	run(in, n, 1, 0, 0, max, &r);
	CHECK(same(ref, &r, false));
}

#define S(lit) lit, sizeof(lit) - 1

struct body_case {
	const char *in;
	size_t n;
	enum smtp_data_result r;
	size_t used;
	const char *body;
	size_t blen;
	unsigned flags;
};

static const struct body_case body_cases[] = {
	{S("Hello\r\n.\r\n"), SMTP_DATA_END, 10, S("Hello\r\n"), 0},
	{S(".\r\n"), SMTP_DATA_END, 3, S(""), 0},
	{S("\r\n.\r\n"), SMTP_DATA_END, 5, S("\r\n"), 0},
	/* RFC 5321 4.5.2: leading dots are removed */
	{S("..dot\r\n.\r\n"), SMTP_DATA_END, 10, S(".dot\r\n"), 0},
	{S(".x\r\n.\r\n"), SMTP_DATA_END, 7, S("x\r\n"), 0},
	{S("a\r\n..\r\n...\r\n.\r\n"), SMTP_DATA_END, 15,
	 S("a\r\n.\r\n..\r\n"), 0},
	{S("a.\r\nb .\r\n.\r\n"), SMTP_DATA_END, 12, S("a.\r\nb .\r\n"), 0},
	/* the rest stays for the next command */
	{S("a\r\n.\r\nQUIT\r\n"), SMTP_DATA_END, 6, S("a\r\n"), 0},
	{S("8bit \xff\xfe\r\n.\r\n"), SMTP_DATA_END, 12, S("8bit \xff\xfe\r\n"), 0},
	/* no end yet */
	{S(""), SMTP_DATA_NEED_MORE, 0, S(""), 0},
	{S("a\r\n."), SMTP_DATA_NEED_MORE, 4, S("a\r\n"), 0},
	{S("a\r\n.\r"), SMTP_DATA_NEED_MORE, 5, S("a\r\n"), 0},
	{S("abc\r"), SMTP_DATA_NEED_MORE, 4, S("abc"), 0},
	/* a bare CR/LF that still reaches a real terminator: ends, refused */
	{S("a\r\r\n.\r\n"), SMTP_DATA_END, 7, S("a\r\r\n"), SMTP_DATA_BARE_CR},
	{S("a\nb\r\n.\r\n"), SMTP_DATA_END, 8, S("a\nb\r\n"), SMTP_DATA_BARE_LF},
	{S("a\0b\r\n.\r\n"), SMTP_DATA_END, 8, S("a\0b\r\n"), SMTP_DATA_NUL},
};

static void test_bodies(void)
{
	struct result ref;

	for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
		const struct body_case *k = &body_cases[i];
		run_all(k->in, k->n, 0, &ref);
		if (ref.r != k->r || ref.used != k->used ||
		    ref.flags != k->flags)
			fprintf(stderr, "body case %zu\n", i);
		CHECK_INT(ref.r, k->r);
		CHECK_INT(ref.used, k->used);
		CHECK_INT(ref.flags, k->flags);
		CHECK(ref.len == k->blen && memcmp(ref.body, k->body, k->blen) == 0);
	}
}

/* SMTP smuggling (RFC 5321 4.1.1.4, SEC Consult 2023): a fake end followed
 * by a second transaction. None may end the message early; each is
 * flagged; the message ends only at the real CRLF.CRLF. */
static void test_smuggling(void)
{
	static const struct {
		const char *fake;
		size_t n;
		unsigned flags;
	} v[] = {
		{S("\n.\n"), SMTP_DATA_BARE_LF},            /* LF.LF */
		{S("\n.\r\n"), SMTP_DATA_BARE_LF},          /* LF.CRLF */
		{S("\r.\n"), SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF}, /* CR.LF */
		{S("\r.\r\n"), SMTP_DATA_BARE_CR},          /* CR.CRLF */
		{S("\r\n.\n"), SMTP_DATA_BARE_LF},          /* CRLF.LF */
		{S("\r\n.\r"), SMTP_DATA_BARE_CR},          /* CRLF.CR */
		{S("\r\n.\r\r\n"), SMTP_DATA_BARE_CR},      /* CRLF.CRCRLF */
		{S("\r\n\0.\r\n"), SMTP_DATA_NUL},          /* NUL before dot */
		{S("\r\n.\0\r\n"), SMTP_DATA_NUL},          /* NUL after dot */
		{S("\n\r.\r\n"), SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR},
		{S("\r\r\n.\n"), SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF},
	};
	static const char head[] = "Subject: hi\r\n\r\nbody";
	static const char tail[] = "MAIL FROM:<evil@attacker.example>\r\n"
	                           "RCPT TO:<victim@example.org>\r\n"
	                           "DATA\r\n"
	                           "From: ceo@example.org\r\n\r\nsmuggled\r\n";
	static const char end[] = "\r\n.\r\n";
	char in[512];
	struct result ref;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t n = 0;
		memcpy(in + n, head, sizeof head - 1);
		n += sizeof head - 1;
		memcpy(in + n, v[i].fake, v[i].n);
		n += v[i].n;
		memcpy(in + n, tail, sizeof tail - 1);
		n += sizeof tail - 1;
		memcpy(in + n, end, sizeof end - 1);
		n += sizeof end - 1;
		memcpy(in + n, "QUIT\r\n", 6); /* must stay unconsumed */
		run_all(in, n + 6, 0, &ref);
		if (ref.used != n || ref.flags != v[i].flags)
			fprintf(stderr, "smuggling variant %zu: used %zu/%zu "
			        "flags %#x\n", i, ref.used, n, ref.flags);
		CHECK_INT(ref.r, SMTP_DATA_END);
		CHECK_INT(ref.used, n);
		CHECK_INT(ref.flags, v[i].flags);
		CHECK(ref.flags & SMTP_DATA_BAD_BYTES);
	}
}

static void test_limits(void)
{
	struct result ref;
	char line[1100];

	/* max counts body octets after unstuffing */
	run_all(S("01234567\r\n.\r\n"), 10, &ref);
	CHECK_INT(ref.flags, 0);
	CHECK_INT(ref.octets, 10);
	run_all(S("012345678\r\n.\r\n"), 10, &ref);
	CHECK_INT(ref.flags, SMTP_DATA_TOO_BIG);
	CHECK_INT(ref.r, SMTP_DATA_END); /* still read to the end */
	CHECK_INT(ref.octets, 11);
	run_all(S("..234567\r\n.\r\n"), 10, &ref);
	CHECK_INT(ref.flags, 0);

	/* RFC 5321 4.5.3.1.6: 1000 octets with CRLF; longer only flagged */
	memset(line, 'x', 998);
	memcpy(line + 998, "\r\n.\r\n", 5);
	run(line, 1003, 0, 0, sizeof ref.body, 0, &ref);
	CHECK_INT(ref.flags, 0);
	CHECK_INT(ref.r, SMTP_DATA_END);
	memset(line, 'x', 999);
	memcpy(line + 999, "\r\n.\r\n", 5);
	run(line, 1004, 0, 0, sizeof ref.body, 0, &ref);
	CHECK_INT(ref.flags, SMTP_DATA_LONG_LINE);
	CHECK_INT(ref.r, SMTP_DATA_END);
	CHECK_INT(ref.len, 1001);
	run(line, 1004, 1, 0, sizeof ref.body, 0, &ref);
	CHECK_INT(ref.flags, SMTP_DATA_LONG_LINE);

	/* The longest line is measured (the session's hard limit). */
	struct smtp_data d;
	size_t used, produced;
	smtp_data_init(&d, 0);
	CHECK_INT(smtp_data_decode(&d, "ab\r\nabcdef\r\nx\r\n.\r\n", 18,
	                           NULL, 0, &used, &produced),
	          SMTP_DATA_END);
	CHECK_INT(d.longest, 8);
}

/* BDAT: the same flags as DATA over chunks cut anywhere; nothing else
 * (no dot-stuffing, no end). */
struct bdat_case {
	const char *in;
	size_t n;
	unsigned flags; /* after smtp_bdat_end */
	bool crlf;      /* smtp_bdat_end asks for a final CRLF */
};

static void bdat_check(const struct bdat_case *c, uint64_t max)
{
	for (size_t cut = 0; cut <= c->n; cut++) {
		struct smtp_data d;
		smtp_data_init(&d, max);
		for (size_t part = 0; part < 2; part++) {
			size_t from = part ? cut : 0, to = part ? c->n : cut;
			char *copy = malloc(to - from ? to - from : 1);
			memcpy(copy, c->in + from, to - from);
			smtp_bdat_scan(&d, copy, to - from);
			free(copy);
		}
		bool crlf = smtp_bdat_end(&d);
		if (d.flags != c->flags || crlf != c->crlf)
			fprintf(stderr, "bdat case %zu/%zu: flags %#x crlf %d\n",
			        cut, c->n, d.flags, crlf);
		CHECK_INT(d.flags, c->flags);
		CHECK(crlf == c->crlf);
		CHECK_INT(d.octets, c->n);
	}
}

static void test_bdat(void)
{
	static const struct bdat_case cases[] = {
		{S(""), 0, false},
		{S("Subject: x\r\n\r\nbody\r\n"), 0, false},
		{S(".\r\n..\r\n"), 0, false}, /* dots are text */
		{S("no end"), 0, true},
		{S("a\nb\r\n"), SMTP_DATA_BARE_LF, false},
		{S("a\rb\r\n"), SMTP_DATA_BARE_CR, false},
		{S("a\r"), SMTP_DATA_BARE_CR, false},
		{S("a\r\r\n"), SMTP_DATA_BARE_CR, false},
		{S("\r\n.\n"), SMTP_DATA_BARE_LF, true},
		{S("a\0b\r\n"), SMTP_DATA_NUL, false},
		{S("\n\r"), SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		bdat_check(&cases[i], 0);
	static const struct bdat_case big = {S("0123456789\r\n"),
	                                     SMTP_DATA_TOO_BIG, false};
	bdat_check(&big, 11);
	static const struct bdat_case fits = {S("0123456789\r\n"), 0, false};
	bdat_check(&fits, 12);
}

/* A small out buffer reports OUT_FULL and resumes without losing a byte. */
static void test_out_full(void)
{
	struct smtp_data d;
	char out[4];
	size_t used, produced;

	smtp_data_init(&d, 0);
	CHECK_INT(smtp_data_decode(&d, "abcdef\r\n.\r\n", 11, out, 4, &used,
	                           &produced),
	          SMTP_DATA_OUT_FULL);
	CHECK_INT(used, 3);
	CHECK_MEM(out, produced, "abc");
	CHECK_INT(smtp_data_decode(&d, "def\r\n.\r\n", 8, out, 4, &used,
	                           &produced),
	          SMTP_DATA_OUT_FULL);
	CHECK_MEM(out, produced, "def");
	CHECK_INT(smtp_data_decode(&d, "\r\n.\r\n", 5, out, 4, &used,
	                           &produced),
	          SMTP_DATA_END);
	CHECK_MEM(out, produced, "\r\n");
	CHECK_INT(used, 5);
}

int main(void)
{
	test_bodies();
	test_smuggling();
	test_limits();
	test_out_full();
	test_bdat();
	return t_done("smtp_data");
}
