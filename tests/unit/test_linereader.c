/* linereader: every case fed whole, one byte at a time, and at every split
 * point; the sequence of results must not depend on how bytes arrive. */
#include <stdlib.h>

#include "buf.h"
#include "linereader.h"
#include "t.h"

/* Runs the reader over `in` delivered in pieces of the given sizes (0 =
 * all at once) and writes "RESULT:line|" for each event into out. */
static void run(const char *in, size_t n, size_t max, size_t step,
                size_t first, struct buf *out)
{
	struct linereader lr;
	linereader_init(&lr, max);
	struct buf held;
	buf_init(&held, max + 4096);
	size_t pos = 0;
	buf_reset(out);
	while (pos < n) {
		size_t take = step ? step : n;
		if (pos == 0 && first)
			take = first;
		if (take > n - pos)
			take = n - pos;
		CHECK_INT(buf_append(&held, in + pos, take), 0);
		pos += take;
		for (;;) {
			struct lr_view v;
			enum lr_result r =
				linereader_next(&lr, held.data, held.len, &v);
			/* Never asked to hold more than a line's worth. */
			CHECK(held.len <= max + 2 + take);
			if (r == LR_NEED_MORE) {
				buf_consume(&held, v.consumed);
				break;
			}
			buf_printf(out, "%s:%.*s|", lr_result_name(r),
			           (int)v.len, v.line);
			buf_consume(&held, v.consumed);
		}
	}
	buf_printf(out, "rest=%zu", held.len);
	buf_free(&held);
}

struct lr_case {
	const char *in;
	size_t len; /* 0 = strlen */
	size_t max;
	const char *expect;
};

static const struct lr_case cases[] = {
	{"HELO x\r\n", 0, 16, "LINE:HELO x|rest=0"},
	{"A\r\nB\r\n", 0, 16, "LINE:A|LINE:B|rest=0"},
	{"A\r\nB", 0, 16, "LINE:A|rest=1"},
	{"\r\n", 0, 16, "LINE:|rest=0"},
	{"bare\nnext\r\n", 0, 16, "BARE_LF:bare|LINE:next|rest=0"},
	{"\n", 0, 16, "BARE_LF:|rest=0"},
	{"a\rb\r\n", 0, 16, "LINE:a\rb|rest=0"},
	{"nul\0x\r\nok\r\n", 11, 16, "NUL:nul|LINE:ok|rest=0"},
	{"nul\0x\nok\r\n", 10, 16, "NUL:nul|LINE:ok|rest=0"},
	/* Exactly max bytes is fine, max+1 is too long. */
	{"12345678\r\n", 0, 8, "LINE:12345678|rest=0"},
	{"123456789\r\nok\r\n", 0, 8, "TOO_LONG:|LINE:ok|rest=0"},
	{"123456789\nok\r\n", 0, 8, "TOO_LONG:|LINE:ok|rest=0"},
	/* A very long line is skipped in bounded memory, reported once. */
	{"0123456789012345678901234567890123456789\r\nok\r\n", 0, 8,
	 "TOO_LONG:|LINE:ok|rest=0"},
	{"0123456789012345678901234567890123456789", 0, 8, "rest=0"},
	{"01234567890123456789\r", 0, 8, "rest=1"},
	{"", 0, 8, "rest=0"},
};

static void test_cases(void)
{
	struct buf whole, other;
	buf_init(&whole, 65536);
	buf_init(&other, 65536);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct lr_case *tc = &cases[i];
		size_t n = tc->len ? tc->len : strlen(tc->in);
		run(tc->in, n, tc->max, 0, 0, &whole);
		buf_append(&whole, "", 1);
		t_checks++;
		if (strcmp(whole.data, tc->expect) != 0) {
			t_failures++;
			fprintf(stderr, "case %zu: got \"%s\" expected \"%s\"\n",
			        i, whole.data, tc->expect);
		}
		/* The "rest" may differ when the input is cut (a partial
		 * line waits, a skipped tail is dropped sooner); the events
		 * must not. Compare event lists only. */
		char *cut = strstr(whole.data, "rest=");
		size_t ev = (size_t)(cut - whole.data);
		run(tc->in, n, tc->max, 1, 0, &other);
		CHECK(other.len >= ev && memcmp(other.data, whole.data, ev) == 0);
		for (size_t split = 1; split < n; split++) {
			run(tc->in, n, tc->max, n, split, &other);
			t_checks++;
			if (other.len < ev ||
			    memcmp(other.data, whole.data, ev) != 0) {
				t_failures++;
				fprintf(stderr, "case %zu split %zu differs\n",
				        i, split);
			}
		}
	}
	buf_free(&whole);
	buf_free(&other);
}

/* Random input from a small alphabet, random chunking: same events. */
static void test_random(void)
{
	static const char alphabet[] = {'a', '\r', '\n', '\0', '.', 'b'};
	struct buf a, b;
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	unsigned seed = 12345;
	for (int iter = 0; iter < 2000; iter++) {
		char in[200];
		size_t n = (size_t)(rand_r(&seed) % sizeof in);
		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rand_r(&seed) % sizeof alphabet];
		size_t max = 1 + (size_t)(rand_r(&seed) % 20);
		run(in, n, max, 0, 0, &a);
		run(in, n, max, 1 + (size_t)(rand_r(&seed) % 7), 0, &b);
		/* Strip the rest= tails and compare events. */
		char *ta = memmem(a.data, a.len, "rest=", 5);
		char *tb = memmem(b.data, b.len, "rest=", 5);
		size_t ea = (size_t)(ta - a.data), eb = (size_t)(tb - b.data);
		t_checks++;
		if (ea != eb || memcmp(a.data, b.data, ea) != 0) {
			t_failures++;
			fprintf(stderr, "random iter %d differs\n", iter);
			break;
		}
	}
	buf_free(&a);
	buf_free(&b);
}

int main(void)
{
	test_cases();
	test_random();
	return t_done("linereader");
}
