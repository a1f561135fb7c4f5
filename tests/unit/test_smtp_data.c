/* Tests for smtpd/smtp_data.c, the DATA decoder. Every case is fed whole,
 * one byte at a time, split in two at every point, and with tiny output
 * buffers; all must give the same body, flags, octets, longest line and
 * end position. Each chunk is an exact-size heap copy, so ASan sees any
 * over-read. Random streams are also fed in random pieces and compared
 * with a byte-at-a-time reference (test_reference): the decoder takes
 * runs of text at once, and the reference says what one byte at a time
 * gives. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "t.h"

struct result {
	enum smtp_data_result r; /* END or NEED_MORE at the end of input */
	size_t used;             /* input consumed (END: through terminator) */
	char body[32768];
	size_t len;
	unsigned flags;
	uint64_t octets;
	size_t longest;
};

/* A small deterministic generator (xorshift32): the same cases each run. */
static uint32_t rng_state = 2463534242u;

static uint32_t rng_next(uint32_t below)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state % below;
}

/* How run() cuts the input and sizes the output buffer. */
struct feed {
	size_t chunk;  /* pieces of this many bytes (0: see split) */
	size_t split;  /* two pieces cut here (0: one piece) */
	size_t outcap; /* output buffer size (0: discard mode, out NULL) */
	bool random;   /* pieces of random size, out room 2..outcap per call */
};

/* The end of the next piece after avail. */
static size_t next_piece(const struct feed *f, size_t avail, size_t n)
{
	size_t step = f->random ? 1 + rng_next(rng_next(8) ? 40 : 3000)
	                        : f->chunk;
	if (f->split)
		return avail < f->split ? f->split : n;
	if (step)
		return avail + step < n ? avail + step : n;
	return n;
}

static void run(const char *in, size_t n, const struct feed *f, uint64_t max,
                struct result *res)
{
	struct smtp_data d;
	size_t pos = 0, avail = 0;
	char *out = f->outcap ? malloc(f->outcap) : NULL;

	memset(res, 0, sizeof *res);
	smtp_data_init(&d, max);
	res->r = SMTP_DATA_NEED_MORE;
	while (avail < n) {
		avail = next_piece(f, avail, n);
		for (;;) {
			size_t len = avail - pos, used, produced;
			size_t cap = f->outcap;
			if (f->random && cap > 2)
				cap = 2 + rng_next((uint32_t)(cap - 1));
			/* The buffer ends where its heap block ends. */
			char *o = out ? out + f->outcap - cap : NULL;
			char *copy = malloc(len ? len : 1);
			memcpy(copy, in + pos, len);
			enum smtp_data_result r = smtp_data_decode(
				&d, copy, len, o, cap, &used, &produced);
			free(copy);
			CHECK(used <= len);
			CHECK(o == NULL || produced <= cap);
			if (o && res->len + produced <= sizeof res->body) {
				memcpy(res->body + res->len, o, produced);
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
			/* OUT_FULL only when fewer than 2 bytes are free. */
			CHECK(o != NULL && cap - produced < 2);
		}
	}
out:
	res->used = pos;
	res->flags = d.flags;
	res->octets = d.octets;
	res->longest = d.longest;
	free(out);
}

static bool same(const struct result *a, const struct result *b,
                 bool compare_body)
{
	return a->r == b->r && a->used == b->used && a->flags == b->flags &&
	       a->octets == b->octets && a->longest == b->longest &&
	       (!compare_body ||
	        (a->len == b->len && memcmp(a->body, b->body, a->len) == 0));
}

#define CAP sizeof(((struct result *)0)->body)

/* Runs every feeding mode and checks they agree with the whole-input run,
 * which is returned in *ref. */
static void run_all(const char *in, size_t n, uint64_t max,
                    struct result *ref)
{
	static struct result r;

	run(in, n, &(struct feed){.outcap = CAP}, max, ref);
	CHECK(ref->octets == ref->len);
	run(in, n, &(struct feed){.chunk = 1, .outcap = CAP}, max, &r);
	CHECK(same(ref, &r, true));
	for (size_t k = 1; k < n; k++) {
		run(in, n, &(struct feed){.split = k, .outcap = CAP}, max, &r);
		if (!same(ref, &r, true))
			fprintf(stderr, "split at %zu differs\n", k);
		CHECK(same(ref, &r, true));
	}
	static const size_t caps[] = {2, 3, 5};
	for (size_t i = 0; i < 3; i++) {
		run(in, n, &(struct feed){.outcap = caps[i]}, max, &r);
		CHECK(same(ref, &r, true));
		run(in, n, &(struct feed){.chunk = 1, .outcap = caps[i]}, max,
		    &r);
		CHECK(same(ref, &r, true));
	}
	/* discard mode counts the same */
	run(in, n, &(struct feed){0}, max, &r);
	CHECK(same(ref, &r, false));
	run(in, n, &(struct feed){.chunk = 1}, max, &r);
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
	/* Runs of text (fed whole, and cut at every point: a run split over
	 * pieces, a piece ending on the CR of a CRLF, on a bare CR, on a
	 * leading dot). LF and NUL inside a run, also after their flag is
	 * set; a line that starts a run right after CRLF. */
	{S("The quick brown fox\r\njumps over\r\n.\r\n"), SMTP_DATA_END, 36,
	 S("The quick brown fox\r\njumps over\r\n"), 0},
	{S("abc\rdef\r\n.\r\n"), SMTP_DATA_END, 12, S("abc\rdef\r\n"),
	 SMTP_DATA_BARE_CR},
	{S("ab\ncd\nef\0gh\0\r\n.\r\n"), SMTP_DATA_END, 17,
	 S("ab\ncd\nef\0gh\0\r\n"), SMTP_DATA_BARE_LF | SMTP_DATA_NUL},
	{S("\nstarts\r\n\0too\r\n.\r\n"), SMTP_DATA_END, 18,
	 S("\nstarts\r\n\0too\r\n"), SMTP_DATA_BARE_LF | SMTP_DATA_NUL},
	{S("x\r\n.y\r\n..\r\nz\r\n.\r\n"), SMTP_DATA_END, 17,
	 S("x\r\ny\r\n.\r\nz\r\n"), 0},
	{S("text then more text"), SMTP_DATA_NEED_MORE, 19,
	 S("text then more text"), 0},
	{S("line\r\n.more"), SMTP_DATA_NEED_MORE, 11, S("line\r\nmore"), 0},
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
	run_all(line, 1003, 0, &ref);
	CHECK_INT(ref.flags, 0);
	CHECK_INT(ref.r, SMTP_DATA_END);
	CHECK_INT(ref.longest, 1000);
	memset(line, 'x', 999);
	memcpy(line + 999, "\r\n.\r\n", 5);
	run_all(line, 1004, 0, &ref);
	CHECK_INT(ref.flags, SMTP_DATA_LONG_LINE);
	CHECK_INT(ref.r, SMTP_DATA_END);
	CHECK_INT(ref.len, 1001);
	CHECK_INT(ref.longest, 1001);

	/* A run that crosses max. */
	run_all(S("0123456789abcdef\r\n.\r\n"), 5, &ref);
	CHECK_INT(ref.flags, SMTP_DATA_TOO_BIG);
	CHECK_INT(ref.octets, 18);

	/* The longest line is measured (the session's hard limit). */
	struct smtp_data d;
	size_t used, produced;
	smtp_data_init(&d, 0);
	CHECK_INT(smtp_data_decode(&d, "ab\r\nabcdef\r\nx\r\n.\r\n", 18,
	                           NULL, 0, &used, &produced),
	          SMTP_DATA_END);
	CHECK_INT(d.longest, 8);
}

/* The session's hard limit on a line (SMTP_DATA_LINE_HARD_MAX, CRLF
 * included) against longest: a line exactly at it and one over, fed
 * whole, byte by byte, and cut around the limit and inside the CRLF. */
static void test_hard_limit(void)
{
	enum { H = SMTP_DATA_LINE_HARD_MAX };
	static char in[H + 16];
	static struct result whole, r;

	for (size_t extra = 0; extra < 2; extra++) {
		size_t text = H - 2 + extra, n = text + 5;
		memset(in, 'x', text);
		memcpy(in + text, "\r\n.\r\n", 5);
		run(in, n, &(struct feed){.outcap = CAP}, 0, &whole);
		CHECK_INT(whole.r, SMTP_DATA_END);
		CHECK_INT(whole.used, n);
		CHECK_INT(whole.longest, H + extra);
		CHECK_INT(whole.flags, SMTP_DATA_LONG_LINE);
		CHECK_INT(whole.len, text + 2);
		run(in, n, &(struct feed){.chunk = 1, .outcap = CAP}, 0, &r);
		CHECK(same(&whole, &r, true));
		static const size_t cuts[] = {1, 999, 1000, 1001, H - 3, H - 2,
		                              H - 1, H, H + 1, H + 2};
		for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
			run(in, n, &(struct feed){.split = cuts[i], .outcap = CAP},
			    0, &r);
			CHECK(same(&whole, &r, true));
		}
	}
}

/* The reference: smtp_data.h's contract one byte at a time, written with
 * its state as what is held back (a CR, a leading dot) rather than as the
 * decoder's states. It is whole-input only: the feeding modes are run()'s
 * business. */
struct ref_state {
	bool bol;    /* the next byte starts a line */
	bool dot;    /* the line so far is a leading dot (dropped), or ".\r" */
	bool cr;     /* a CR is held back */
	size_t line; /* octets of the line so far, as received */
};

static void ref_put(struct result *res, const char *p, size_t n)
{
	memcpy(res->body + res->len, p, n);
	res->len += n;
}

static void ref_decode(const char *in, size_t n, uint64_t max,
                       struct result *res)
{
	struct ref_state st = {.bol = true};
	size_t i;

	memset(res, 0, sizeof *res);
	res->r = SMTP_DATA_NEED_MORE;
	for (i = 0; i < n && res->r != SMTP_DATA_END; i++) {
		char c = in[i];
		if (++st.line > SMTP_DATA_LINE_MAX)
			res->flags |= SMTP_DATA_LONG_LINE;
		if (st.line > res->longest)
			res->longest = st.line;
		if (st.cr) {
			st.cr = false;
			if (c == '\n') { /* CRLF: a line end, or the end */
				st.line = 0;
				st.bol = true;
				if (st.dot)
					res->r = SMTP_DATA_END;
				else
					ref_put(res, "\r\n", 2);
				continue;
			}
			res->flags |= SMTP_DATA_BARE_CR;
			ref_put(res, "\r", 1);
			st.dot = false;
		}
		if (st.bol && c == '.') {
			st.bol = false;
			st.dot = true;
			continue;
		}
		st.bol = false;
		if (c == '\r') {
			st.cr = true;
			continue;
		}
		st.dot = false;
		if (c == '\n')
			res->flags |= SMTP_DATA_BARE_LF;
		if (c == '\0')
			res->flags |= SMTP_DATA_NUL;
		ref_put(res, &c, 1);
	}
	res->used = i;
	res->octets = res->len;
	if (max && res->octets > max)
		res->flags |= SMTP_DATA_TOO_BIG;
}

/* A random stream: text with CR, LF, CRLF, dots, NUL, 8-bit bytes, lines
 * around SMTP_DATA_LINE_MAX, and now and then a terminator with more after
 * it. */
static size_t random_stream(char *p, size_t cap)
{
	size_t n = 0, want = rng_next(rng_next(4) ? 300 : (uint32_t)cap - 16);

	while (n < want) {
		uint32_t k = rng_next(100);
		if (k < 8)
			p[n++] = '\r';
		else if (k < 14)
			p[n++] = '\n';
		else if (k < 30) {
			memcpy(p + n, "\r\n", 2);
			n += 2;
		} else if (k < 40)
			p[n++] = '.';
		else if (k < 42)
			p[n++] = '\0';
		else if (k < 44)
			p[n++] = (char)(0x80 + rng_next(128));
		else if (k < 45) {
			memcpy(p + n, "\r\n.\r\n", 5);
			n += 5;
		} else if (k < 47) { /* a long run, near the line limit */
			size_t run = 990 + rng_next(20);
			if (n + run > cap)
				break;
			memset(p + n, 'L', run);
			n += run;
		} else {
			size_t run = 1 + rng_next(12);
			memset(p + n, 'a' + (char)rng_next(26), run);
			n += run;
		}
	}
	return n;
}

static void test_reference(void)
{
	static char in[16384];
	static struct result ref, r;

	for (int i = 0; i < 3000; i++) {
		size_t n = random_stream(in, sizeof in);
		uint64_t max = rng_next(3) ? 0 : rng_next(2000);
		ref_decode(in, n, max, &ref);
		run(in, n, &(struct feed){.outcap = CAP}, max, &r);
		CHECK(same(&ref, &r, true));
		run(in, n, &(struct feed){.chunk = 1, .outcap = 2}, max, &r);
		CHECK(same(&ref, &r, true));
		run(in, n, &(struct feed){.random = true, .outcap = 70}, max,
		    &r);
		if (!same(&ref, &r, true))
			fprintf(stderr, "random stream %d (%zu bytes) differs\n",
			        i, n);
		CHECK(same(&ref, &r, true));
		run(in, n, &(struct feed){.random = true}, max, &r);
		CHECK(same(&ref, &r, false));
	}
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

	/* A run stops where byte by byte would: one byte of room left. */
	char big[8];
	smtp_data_init(&d, 0);
	CHECK_INT(smtp_data_decode(&d, "0123456789", 10, big, 8, &used,
	                           &produced),
	          SMTP_DATA_OUT_FULL);
	CHECK_MEM(big, produced, "0123456");
	CHECK_INT(used, 7);
}

int main(void)
{
	test_bodies();
	test_smuggling();
	test_limits();
	test_hard_limit();
	test_reference();
	test_out_full();
	test_bdat();
	return t_done("smtp_data");
}
