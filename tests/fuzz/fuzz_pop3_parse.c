/* Fuzzes the POP3 command parser (pop3d/pop3_parse.c).
 *
 * Input: one command line without CRLF.
 *
 * Properties: the status agrees with the line's length and bytes; a
 * recognised verb matches the keyword without regard to case; arguments
 * are non-empty views inside the line, one SP apart; numbers are digits
 * whose value is the parsed one, in range ("LIST 4294967297" is never
 * message 1); and an accepted command written back in canonical form
 * (upper-case verb, single spaces) parses to the same command. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "pop3_parse.h"

static bool numeric_verb(enum pop3_verb v)
{
	return v == POP3_CMD_LIST || v == POP3_CMD_UIDL || v == POP3_CMD_RETR ||
	       v == POP3_CMD_DELE || v == POP3_CMD_TOP;
}

static void check_ok(const char *line, size_t len, const struct pop3_cmd *c)
{
	const char *name = pop3_verb_name(c->verb);
	size_t nl = strlen(name);
	FUZZ_CHECK(strcmp(name, "?") != 0);
	FUZZ_CHECK(len >= nl && strncasecmp(line, name, nl) == 0);
	FUZZ_CHECK(len == nl || line[nl] == ' ');
	FUZZ_CHECK(c->argc <= 2);
	const char *at = line + nl;
	for (unsigned i = 0; i < c->argc; i++) {
		const struct pop3_view *a = &c->arg[i];
		FUZZ_CHECK(a->len > 0 && fuzz_inside(a->p, a->len, line, len));
		FUZZ_CHECK(a->p == at + 1 && at[0] == ' ');
		at = a->p + a->len;
		if (numeric_verb(c->verb)) {
			uint64_t v = 0;
			for (size_t k = 0; k < a->len; k++) {
				FUZZ_CHECK(a->p[k] >= '0' && a->p[k] <= '9');
				v = v * 10 + (uint64_t)(a->p[k] - '0');
				FUZZ_CHECK(v <= UINT32_MAX);
			}
			FUZZ_CHECK(v == c->num[i]);
			if (i == 0)
				FUZZ_CHECK(v >= 1 && v <= POP3_MSGNUM_MAX);
		}
		if (c->verb != POP3_CMD_PASS)
			FUZZ_CHECK(memchr(a->p, ' ', a->len) == NULL);
	}
	FUZZ_CHECK(at == line + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	char *line = fuzz_memdup(data, size); /* exact size, no NUL */

	struct pop3_cmd c;
	enum pop3_parse_status st = pop3_parse(line, size, &c);
	const char *sn = pop3_parse_status_name(st);
	FUZZ_CHECK(sn != NULL && strcmp(sn, "?") != 0);
	bool ctl = false;
	for (size_t i = 0; i < size; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			ctl = true;
	if (size > POP3_LINE_MAX)
		FUZZ_CHECK(st == POP3_PARSE_TOO_LONG);
	else if (size == 0)
		FUZZ_CHECK(st == POP3_PARSE_EMPTY);
	else if (ctl)
		FUZZ_CHECK(st == POP3_PARSE_BAD_CHAR);
	/* No verb when the line or keyword is at fault; a bad byte in an
	 * argument (AUTH's mechanism) may come with its verb. */
	if (st == POP3_PARSE_EMPTY || st == POP3_PARSE_TOO_LONG ||
	    st == POP3_PARSE_UNKNOWN || (st == POP3_PARSE_BAD_CHAR && ctl))
		FUZZ_CHECK(c.verb == POP3_CMD_NONE);
	else if (st != POP3_PARSE_BAD_CHAR)
		FUZZ_CHECK(c.verb > POP3_CMD_NONE && c.verb < POP3_CMD_COUNT);
	if (st >= POP3_PARSE_MISSING_ARG)
		FUZZ_CHECK(c.errarg <= 2);

	if (st == POP3_PARSE_OK) {
		check_ok(line, size, &c);
		char canon[POP3_LINE_MAX + 1];
		size_t n = (size_t)snprintf(canon, sizeof canon, "%s",
		                            pop3_verb_name(c.verb));
		for (unsigned i = 0; i < c.argc; i++)
			n += (size_t)snprintf(canon + n, sizeof canon - n,
			                      " %.*s", (int)c.arg[i].len,
			                      c.arg[i].p);
		FUZZ_CHECK(n == size); /* only the case may change */
		struct pop3_cmd d;
		FUZZ_CHECK(pop3_parse(canon, n, &d) == POP3_PARSE_OK);
		FUZZ_CHECK(d.verb == c.verb && d.argc == c.argc);
		for (unsigned i = 0; i < c.argc; i++) {
			FUZZ_CHECK(d.arg[i].len == c.arg[i].len);
			FUZZ_CHECK(
			    memcmp(d.arg[i].p, c.arg[i].p, c.arg[i].len) == 0);
			FUZZ_CHECK(d.num[i] == c.num[i]);
		}
	}
	free(line);
	return 0;
}
