/* Unit tests of utf8.h. */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "utf8.h"

/* RFC 3629: what smtpd takes as UTF-8 in an SMTPUTF8 address and the
 * store in a listing's header field. */
static void test_utf8(void)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"alice", true},
		{"\xc3\xbc", true},             /* u umlaut */
		{"\xe6\x97\xa5\xe6\x9c\xac", true}, /* two CJK */
		{"\xf0\x9f\x98\x80", true},     /* U+1F600 */
		{"\xf4\x8f\xbf\xbf", true},     /* U+10FFFF */
		{"\xff\xfe", false},
		{"\x80", false},                 /* a lone continuation */
		{"\xc3", false},                 /* cut short */
		{"\xc3\x28", false},             /* not a continuation */
		{"\xc0\x80", false},             /* overlong NUL */
		{"\xe0\x80\x80", false},         /* overlong */
		{"\xed\xa0\x80", false},         /* a surrogate */
		{"\xf4\x90\x80\x80", false},     /* past U+10FFFF */
		{"\xf8\x88\x80\x80\x80", false}, /* five bytes */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].s);
		bool ok = utf8_valid(cases[i].s, n) == cases[i].ok;
		if (!ok)
			fprintf(stderr, "utf8 case %zu\n", i);
		CHECK(ok);
	}
}

/* One sequence at a time, and the ASCII test. */
static void test_seq(void)
{
	CHECK_INT(utf8_seq_len((const unsigned char *)"a", 1), 1);
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xc3\xbc", 2), 2);
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xc3\xbc", 1), 0);
	CHECK_INT(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4),
	          4);
	CHECK(!utf8_non_ascii("alice@example.org", 17));
	CHECK(utf8_non_ascii("j\xc3\xb6rg", 5));
	CHECK(!utf8_non_ascii("j\xc3\xb6rg", 1));
}

int main(void)
{
	test_utf8();
	test_seq();
	return t_done("utf8");
}
