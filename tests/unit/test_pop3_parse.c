/* Pure POP3 pieces: the command parser (table-driven, strict numbers and
 * lengths), framing through the line reader fed whole and byte by byte,
 * and the RETR/TOP output filter against a reference fed whole, byte by
 * byte and at random split points. */
#include <stdbool.h>
#include <stdlib.h>

#include "buf.h"
#include "linereader.h"
#include "pop3_parse.h"
#include "pop3_stuff.h"
#include "t.h"

struct pcase {
	const char *line;
	size_t len; /* 0: strlen(line) */
	enum pop3_parse_status st;
	enum pop3_verb verb;
	unsigned argc;
	uint32_t n0, n1;
	const char *arg0; /* NULL: not checked */
};

#define D40 "0000000000000000000000000000000000000001"
#define D41 "0" D40

static const struct pcase pcases[] = {
	{ "STAT", 0, POP3_PARSE_OK, POP3_CMD_STAT, 0, 0, 0, NULL },
	{ "stat", 0, POP3_PARSE_OK, POP3_CMD_STAT, 0, 0, 0, NULL },
	{ "sTaT", 0, POP3_PARSE_OK, POP3_CMD_STAT, 0, 0, 0, NULL },
	{ "STAT ", 0, POP3_PARSE_EXTRA_ARG, POP3_CMD_STAT, 0, 0, 0, NULL },
	{ "STAT 1", 0, POP3_PARSE_EXTRA_ARG, POP3_CMD_STAT, 0, 0, 0, NULL },
	{ "LIST", 0, POP3_PARSE_OK, POP3_CMD_LIST, 0, 0, 0, NULL },
	{ "list 1", 0, POP3_PARSE_OK, POP3_CMD_LIST, 1, 1, 0, "1" },
	{ "LIST 4294967297", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_LIST, 0, 0, 0, NULL },
	{ "LIST 4294967296", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_LIST, 0, 0, 0, NULL },
	{ "LIST 18446744073709551617", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_LIST, 0, 0, 0, NULL },
	{ "LIST 2147483647", 0, POP3_PARSE_OK, POP3_CMD_LIST, 1, 2147483647u, 0, NULL },
	{ "LIST 2147483648", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_LIST, 0, 0, 0, NULL },
	{ "RETR 0", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR 00", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR +1", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR -1", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR 1a", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR 0x1", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR 01", 0, POP3_PARSE_OK, POP3_CMD_RETR, 1, 1, 0, NULL },
	{ "RETR 1 2", 0, POP3_PARSE_EXTRA_ARG, POP3_CMD_RETR, 1, 1, 0, NULL },
	{ "RETR", 0, POP3_PARSE_MISSING_ARG, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR ", 0, POP3_PARSE_EMPTY_ARG, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR  1", 0, POP3_PARSE_EMPTY_ARG, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR 1 ", 0, POP3_PARSE_EXTRA_ARG, POP3_CMD_RETR, 1, 1, 0, NULL },
	{ "RETR " D41, 0, POP3_PARSE_ARG_TOO_LONG, POP3_CMD_RETR, 0, 0, 0, NULL },
	{ "RETR " D40, 0, POP3_PARSE_OK, POP3_CMD_RETR, 1, 1, 0, NULL },
	{ "TOP 1 0", 0, POP3_PARSE_OK, POP3_CMD_TOP, 2, 1, 0, NULL },
	{ "top 3 10", 0, POP3_PARSE_OK, POP3_CMD_TOP, 2, 3, 10, NULL },
	{ "TOP 1 -1", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_TOP, 1, 1, 0, NULL },
	{ "TOP 1 +1", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_TOP, 1, 1, 0, NULL },
	{ "TOP 1 4294967295", 0, POP3_PARSE_OK, POP3_CMD_TOP, 2, 1, 4294967295u, NULL },
	{ "TOP 1 4294967296", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_TOP, 1, 1, 0, NULL },
	{ "TOP 1", 0, POP3_PARSE_MISSING_ARG, POP3_CMD_TOP, 1, 1, 0, NULL },
	{ "TOP 0 1", 0, POP3_PARSE_BAD_NUMBER, POP3_CMD_TOP, 0, 0, 0, NULL },
	{ "TOP 1 2 3", 0, POP3_PARSE_EXTRA_ARG, POP3_CMD_TOP, 2, 1, 2, NULL },
	{ "DELE 2", 0, POP3_PARSE_OK, POP3_CMD_DELE, 1, 2, 0, NULL },
	{ "UIDL", 0, POP3_PARSE_OK, POP3_CMD_UIDL, 0, 0, 0, NULL },
	{ "UIDL 3", 0, POP3_PARSE_OK, POP3_CMD_UIDL, 1, 3, 0, NULL },
	{ "RSET", 0, POP3_PARSE_OK, POP3_CMD_RSET, 0, 0, 0, NULL },
	{ "NOOP", 0, POP3_PARSE_OK, POP3_CMD_NOOP, 0, 0, 0, NULL },
	{ "QUIT", 0, POP3_PARSE_OK, POP3_CMD_QUIT, 0, 0, 0, NULL },
	{ "CAPA", 0, POP3_PARSE_OK, POP3_CMD_CAPA, 0, 0, 0, NULL },
	{ "stls", 0, POP3_PARSE_OK, POP3_CMD_STLS, 0, 0, 0, NULL },
	{ "USER alice@example.org", 0, POP3_PARSE_OK, POP3_CMD_USER, 1, 0, 0, "alice@example.org" },
	{ "USER firstname.lastname@department.example.org", 0, POP3_PARSE_OK, POP3_CMD_USER, 1, 0, 0, NULL },
	{ "USER caf\xc3\xa9@example.org", 0, POP3_PARSE_OK, POP3_CMD_USER, 1, 0, 0, "caf\xc3\xa9@example.org" },
	{ "USER a b", 0, POP3_PARSE_EXTRA_ARG, POP3_CMD_USER, 1, 0, 0, NULL },
	{ "USER", 0, POP3_PARSE_MISSING_ARG, POP3_CMD_USER, 0, 0, 0, NULL },
	{ "PASS secret with  spaces", 0, POP3_PARSE_OK, POP3_CMD_PASS, 1, 0, 0, "secret with  spaces" },
	{ "PASS  lead", 0, POP3_PARSE_OK, POP3_CMD_PASS, 1, 0, 0, " lead" },
	{ "PASS", 0, POP3_PARSE_MISSING_ARG, POP3_CMD_PASS, 0, 0, 0, NULL },
	{ "PASS ", 0, POP3_PARSE_EMPTY_ARG, POP3_CMD_PASS, 0, 0, 0, NULL },
	{ "AUTH PLAIN", 0, POP3_PARSE_OK, POP3_CMD_AUTH, 1, 0, 0, "PLAIN" },
	{ "AUTH PL\xc3\xa9", 0, POP3_PARSE_BAD_CHAR, POP3_CMD_AUTH, 0, 0, 0, NULL },
	{ "", 0, POP3_PARSE_EMPTY, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "XYZZ", 0, POP3_PARSE_UNKNOWN, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "LISTS", 0, POP3_PARSE_UNKNOWN, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "LI", 0, POP3_PARSE_UNKNOWN, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "APOP a b", 0, POP3_PARSE_UNKNOWN, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ " STAT", 0, POP3_PARSE_UNKNOWN, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "NOOP\r", 0, POP3_PARSE_BAD_CHAR, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "NOOP\n", 0, POP3_PARSE_BAD_CHAR, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "NO\0OP", 5, POP3_PARSE_BAD_CHAR, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "LIST\t1", 0, POP3_PARSE_BAD_CHAR, POP3_CMD_NONE, 0, 0, 0, NULL },
	{ "LIST 1\x7f", 0, POP3_PARSE_BAD_CHAR, POP3_CMD_NONE, 0, 0, 0, NULL },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
		const struct pcase *pc = &pcases[i];
		size_t len = pc->len ? pc->len : strlen(pc->line);
		struct pop3_cmd c;
		enum pop3_parse_status st = pop3_parse(pc->line, len, &c);
		if (st != pc->st || c.verb != pc->verb)
			fprintf(stderr, "case \"%s\": got %s/%s\n", pc->line,
			        pop3_parse_status_name(st),
			        pop3_verb_name(c.verb));
		CHECK_INT(st, pc->st);
		CHECK_INT(c.verb, pc->verb);
		CHECK_INT(c.argc, pc->argc);
		if (st == POP3_PARSE_OK && pc->n0)
			CHECK_INT(c.num[0], pc->n0);
		if (st == POP3_PARSE_OK && pc->n1)
			CHECK_INT(c.num[1], pc->n1);
		if (pc->arg0) {
			CHECK_INT(c.arg[0].len, strlen(pc->arg0));
			CHECK(c.arg[0].len == strlen(pc->arg0) &&
			      memcmp(c.arg[0].p, pc->arg0, c.arg[0].len) == 0);
		}
	}
	/* errarg says which number of TOP is wrong. */
	struct pop3_cmd c;
	CHECK_INT(pop3_parse("TOP x 1", 7, &c), POP3_PARSE_BAD_NUMBER);
	CHECK_INT(c.errarg, 0);
	CHECK_INT(pop3_parse("TOP 1 x", 7, &c), POP3_PARSE_BAD_NUMBER);
	CHECK_INT(c.errarg, 1);
}

/* RFC 2449 4: 255 octets with CRLF is the longest line. */
static void test_lengths(void)
{
	char line[300];
	struct pop3_cmd c;

	memcpy(line, "PASS ", 5);
	memset(line + 5, 'x', sizeof line - 5);
	CHECK_INT(pop3_parse(line, POP3_LINE_MAX, &c), POP3_PARSE_OK);
	CHECK_INT(c.arg[0].len, POP3_LINE_MAX - 5);
	CHECK_INT(pop3_parse(line, POP3_LINE_MAX + 1, &c),
	          POP3_PARSE_TOO_LONG);
	memcpy(line, "USER ", 5);
	CHECK_INT(pop3_parse(line, POP3_LINE_MAX, &c), POP3_PARSE_OK);
	/* A 41-octet mechanism name is over the argument limit. */
	memcpy(line, "AUTH ", 5);
	memset(line + 5, 'A', 41);
	CHECK_INT(pop3_parse(line, 5 + 41, &c), POP3_PARSE_ARG_TOO_LONG);
	CHECK_INT(pop3_parse(line, 5 + 40, &c), POP3_PARSE_OK);
	CHECK_STR(pop3_verb_name(POP3_CMD_TOP), "TOP");
	CHECK_STR(pop3_verb_name(POP3_CMD_NONE), "?");
	CHECK_STR(pop3_parse_status_name(POP3_PARSE_BAD_NUMBER), "BAD_NUMBER");
}

/* Framing + parsing, as the session does it: the same sequence of
 * results whether the bytes come whole or one at a time. */
static void frame(const char *in, size_t n, size_t step, struct buf *log)
{
	struct linereader lr;
	struct buf b;

	linereader_init(&lr, POP3_LINE_MAX);
	buf_init(&b, 4096);
	for (size_t off = 0; off < n;) {
		size_t k = n - off < step ? n - off : step;
		buf_append(&b, in + off, k);
		off += k;
		for (;;) {
			struct lr_view v;
			enum lr_result r = linereader_next(&lr, b.data, b.len, &v);
			if (r == LR_NEED_MORE) {
				buf_consume(&b, v.consumed);
				break;
			}
			struct pop3_cmd c = { 0 };
			enum pop3_parse_status st = POP3_PARSE_OK;
			if (r == LR_LINE)
				st = pop3_parse(v.line, v.len, &c);
			buf_printf(log, "%s %s %s %u %u|", lr_result_name(r),
			           pop3_parse_status_name(st),
			           pop3_verb_name(c.verb), c.num[0], c.num[1]);
			buf_consume(&b, v.consumed);
		}
	}
	buf_free(&b);
}

static void test_framing(void)
{
	char in[1024];
	size_t n = 0;
	static const char head[] = "user a@b\r\nPASS x y\r\nLIST 4294967297\r\n"
	                           "TOP 2 5\r\nNO\0OP\r\nSTAT\nRETR 1\r\n";
	memcpy(in, head, sizeof head - 1);
	n = sizeof head - 1;
	memset(in + n, 'X', 300); /* over-long line, then the session goes on */
	n += 300;
	memcpy(in + n, "\r\nQUIT\r\n", 8);
	n += 8;

	struct buf whole, bytes;
	buf_init(&whole, 1 << 16);
	buf_init(&bytes, 1 << 16);
	frame(in, n, n, &whole);
	frame(in, n, 1, &bytes);
	CHECK(whole.len > 0);
	CHECK(whole.len == bytes.len &&
	      memcmp(whole.data, bytes.data, whole.len) == 0);
	buf_append(&whole, "", 1);
	CHECK_STR(whole.data,
	          "LINE OK USER 0 0|LINE OK PASS 0 0|"
	          "LINE BAD_NUMBER LIST 0 0|LINE OK TOP 2 5|NUL OK ? 0 0|"
	          "BARE_LF OK ? 0 0|LINE OK RETR 1 0|TOO_LONG OK ? 0 0|"
	          "LINE OK QUIT 0 0|");
	buf_free(&whole);
	buf_free(&bytes);
}

/* ---- the output filter ------------------------------------------------ */

static void emit_buf(void *arg, const void *p, size_t n)
{
	buf_append(arg, p, n);
}

/* A line-at-a-time reference, written independently of the filter. */
static void reference(const char *m, size_t n, bool top, uint32_t lines,
                      struct buf *out)
{
	bool body = false, stop = false;
	uint32_t left = lines;

	for (size_t i = 0; i < n && !stop;) {
		size_t j = i;
		while (j < n && m[j] != '\n')
			j++;
		bool has_lf = j < n;
		size_t end = has_lf ? j + 1 : n;
		if (m[i] == '.')
			buf_append(out, ".", 1);
		buf_append(out, m + i, end - i);
		if (top && has_lf) {
			bool blank = true;
			for (size_t k = i; k < j; k++)
				blank = blank && m[k] == '\r';
			if (!body && blank) {
				body = true;
				stop = lines == 0;
			} else if (body) {
				stop = --left == 0;
			}
		}
		i = end;
	}
	if (out->len && !(out->len >= 2 && out->data[out->len - 2] == '\r' &&
	                  out->data[out->len - 1] == '\n'))
		buf_puts(out, out->data[out->len - 1] == '\r' ? "\n" : "\r\n");
	buf_puts(out, ".\r\n");
}

static uint32_t rng = 12345;
static size_t rnd(size_t max)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % max + 1;
}

/* mode 0: whole, 1: byte by byte, 2: random pieces. */
static void filter(const char *m, size_t n, bool top, uint32_t lines,
                   int mode, struct buf *out)
{
	struct pop3_stuff f;
	pop3_stuff_init(&f, top, lines);
	for (size_t off = 0; off < n && !pop3_stuff_done(&f);) {
		size_t k = mode == 0 ? n - off : mode == 1 ? 1 : rnd(7);
		if (k > n - off)
			k = n - off;
		size_t used = pop3_stuff_feed(&f, m + off, k, emit_buf, out);
		CHECK(used == k || pop3_stuff_done(&f));
		off += k;
	}
	pop3_stuff_finish(&f, emit_buf, out);
}

static void check_filter(const char *m, size_t n)
{
	for (int t = -1; t <= 4; t++) {
		struct buf want, got;
		buf_init(&want, 1 << 20);
		reference(m, n, t >= 0, t >= 0 ? (uint32_t)t : 0, &want);
		for (int mode = 0; mode < 3; mode++) {
			buf_init(&got, 1 << 20);
			filter(m, n, t >= 0, t >= 0 ? (uint32_t)t : 0, mode, &got);
			CHECK(got.len == want.len &&
			      memcmp(got.data, want.data, got.len) == 0);
			buf_free(&got);
		}
		buf_free(&want);
	}
}

/* Every split of m into two pieces gives the bytes of the whole: the
 * runs RETR emits at once must join up across a piece boundary that falls
 * on an LF, on the dot after it, or between CR and LF. */
static void check_splits(const char *m, size_t n)
{
	for (int t = -1; t <= 1; t++) {
		struct buf want, got;
		buf_init(&want, 1 << 16);
		reference(m, n, t >= 0, t >= 0 ? (uint32_t)t : 0, &want);
		for (size_t k = 0; k <= n; k++) {
			struct pop3_stuff f;
			buf_init(&got, 1 << 16);
			pop3_stuff_init(&f, t >= 0, t >= 0 ? (uint32_t)t : 0);
			size_t used = pop3_stuff_feed(&f, m, k, emit_buf, &got);
			if (used == k)
				pop3_stuff_feed(&f, m + k, n - k, emit_buf,
				                &got);
			pop3_stuff_finish(&f, emit_buf, &got);
			CHECK(got.len == want.len &&
			      memcmp(got.data, want.data, got.len) == 0);
			buf_free(&got);
		}
		buf_free(&want);
	}
}

#define CHECK_FILTER(in, top, lines, lit)                                    \
	do {                                                                 \
		struct buf o_;                                               \
		buf_init(&o_, 4096);                                         \
		filter(in, sizeof(in) - 1, top, lines, 0, &o_);              \
		CHECK_MEM(o_.data, o_.len, lit);                             \
		buf_free(&o_);                                               \
	} while (0)

static void test_stuff(void)
{
	CHECK_FILTER("", false, 0, ".\r\n");
	CHECK_FILTER("a\r\n", false, 0, "a\r\n.\r\n");
	CHECK_FILTER(".\r\n", false, 0, "..\r\n.\r\n");
	CHECK_FILTER("a\r\n.b\r\n..c\r\n", false, 0,
	             "a\r\n..b\r\n...c\r\n.\r\n");
	CHECK_FILTER("no newline", false, 0, "no newline\r\n.\r\n");
	CHECK_FILTER("ends in CR\r", false, 0, "ends in CR\r\n.\r\n");
	CHECK_FILTER("bare\n.lf\n", false, 0, "bare\n..lf\n\r\n.\r\n");
	CHECK_FILTER("a: b\r\n\r\n1\r\n2\r\n", true, 0, "a: b\r\n\r\n.\r\n");
	CHECK_FILTER("a: b\r\n\r\n1\r\n2\r\n", true, 1,
	             "a: b\r\n\r\n1\r\n.\r\n");
	CHECK_FILTER("a: b\r\n\r\n.1\r\n2\r\n", true, 9,
	             "a: b\r\n\r\n..1\r\n2\r\n.\r\n");
	CHECK_FILTER("a: b\r\nc: d", true, 0, "a: b\r\nc: d\r\n.\r\n");

	static const char *const msgs[] = {
		"Subject: x\r\n\r\nbody\r\n.\r\n..\r\n.x\r\n",
		"Subject: x\r\n\r\n\r\n\r\nline\r\n\r\n",
		".starts with dot\r\n\r\n.\r\n",
		"H: 1\r\n\r\nno end",
		"H: 1\n\n.bare\n.lf\n",
		"\r\n.\r\n",
		"\xff\xfe\r\n\r\n\x80.\r\n.\xc3\xa9\r\n",
	};
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
		check_filter(msgs[i], strlen(msgs[i]));

	/* Runs: dots and line ends at both ends of a piece. */
	static const char *const edges[] = {
		".", "\n", "\r", "\r\n", "\n.", ".\n", "\r\n.", "..\r\n..",
		"a\n.\n.\n..\n", "ab\r\n\r\n.\r\n.", "\n\n\n...\r\r\n",
		"Subject: x\r\n\r\nno dots in this long line at all\r\n",
		"x\r\n.\r\n\r\n..\r\nend\r", ".a\n.b\r\n.c\r.d\n",
		"a.b.\r\n.c.d.\r\n.", "..a..\r..\n..",
	};
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		check_filter(edges[i], strlen(edges[i]));
		check_splits(edges[i], strlen(edges[i]));
	}

	/* A big message with dots at every awkward offset. */
	size_t n = 200000;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = "abc.\r\n.."[rnd(8) - 1];
	check_filter(big, n);
	free(big);
}

int main(void)
{
	test_table();
	test_lengths();
	test_framing();
	test_stuff();
	return t_done("test_pop3_parse");
}
