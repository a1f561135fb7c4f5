/* POP3 command parser; contract in pop3_parse.h. */
#include "pop3_parse.h"

#include <stdbool.h>
#include <string.h>

enum arg_kind {
	ARG_NONE = 0,
	ARG_MSG,   /* message number: digits, 1..POP3_MSGNUM_MAX */
	ARG_COUNT, /* TOP line count: digits, 0..UINT32_MAX */
	ARG_WORD,  /* printable ASCII token, at most POP3_ARG_MAX */
	ARG_NAME,  /* token up to the line limit; 8-bit allowed (RFC 6856) */
	ARG_REST,  /* the rest of the line, spaces included (RFC 1939 7 PASS) */
};

/* One row per verb: how many arguments it takes and of which kind. Which
 * state a verb is valid in is session policy, not grammar. */
static const struct pop3_grammar {
	char name[5];
	unsigned char min, max;
	unsigned char kind[2];
} grammar[POP3_CMD_COUNT] = {
	[POP3_CMD_USER] = { "USER", 1, 1, { ARG_NAME } },
	[POP3_CMD_PASS] = { "PASS", 1, 1, { ARG_REST } },
	[POP3_CMD_STAT] = { "STAT", 0, 0, { 0 } },
	[POP3_CMD_LIST] = { "LIST", 0, 1, { ARG_MSG } },
	[POP3_CMD_UIDL] = { "UIDL", 0, 1, { ARG_MSG } },
	[POP3_CMD_RETR] = { "RETR", 1, 1, { ARG_MSG } },
	[POP3_CMD_TOP] = { "TOP", 2, 2, { ARG_MSG, ARG_COUNT } },
	[POP3_CMD_DELE] = { "DELE", 1, 1, { ARG_MSG } },
	[POP3_CMD_RSET] = { "RSET", 0, 0, { 0 } },
	[POP3_CMD_NOOP] = { "NOOP", 0, 0, { 0 } },
	[POP3_CMD_QUIT] = { "QUIT", 0, 0, { 0 } },
	[POP3_CMD_CAPA] = { "CAPA", 0, 0, { 0 } },
	[POP3_CMD_STLS] = { "STLS", 0, 0, { 0 } },
	/* RFC 5034 4: mechanism [initial-response]; the response is base64
	 * and may exceed 40 octets (the line limit still holds: RFC 5034 4
	 * has the client leave out a response that would not fit). A bare
	 * "AUTH" lists the mechanisms (RFC 1734 clients; Dovecot does too). */
	[POP3_CMD_AUTH] = { "AUTH", 0, 2, { ARG_WORD, ARG_NAME } },
	[POP3_CMD_UTF8] = { "UTF8", 0, 0, { 0 } },
};

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Case-insensitive keyword lookup (RFC 1939 3), locale-independent. */
static enum pop3_verb verb_lookup(const char *p, size_t n)
{
	if (n < 3 || n > 4)
		return POP3_CMD_NONE;
	for (int v = POP3_CMD_NONE + 1; v < POP3_CMD_COUNT; v++) {
		const char *name = grammar[v].name;
		if (strlen(name) != n)
			continue;
		size_t i = 0;
		while (i < n && ascii_upper(p[i]) == name[i])
			i++;
		if (i == n)
			return (enum pop3_verb)v;
	}
	return POP3_CMD_NONE;
}

/* Digits only, with the range checked after every digit so the value can
 * never wrap: "4294967297" fails instead of becoming 1. */
static bool parse_number(const char *p, size_t n, uint32_t min, uint32_t max,
                         uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

static enum pop3_parse_status check_arg(enum arg_kind kind, const char *p,
                                        size_t n, uint32_t *num)
{
	switch (kind) {
	case ARG_MSG:
	case ARG_COUNT:
		if (n > POP3_ARG_MAX)
			return POP3_PARSE_ARG_TOO_LONG;
		if (kind == ARG_MSG)
			return parse_number(p, n, 1, POP3_MSGNUM_MAX, num)
			               ? POP3_PARSE_OK
			               : POP3_PARSE_BAD_NUMBER;
		return parse_number(p, n, 0, UINT32_MAX, num)
		               ? POP3_PARSE_OK
		               : POP3_PARSE_BAD_NUMBER;
	case ARG_WORD:
		if (n > POP3_ARG_MAX)
			return POP3_PARSE_ARG_TOO_LONG;
		/* RFC 2449 3: arguments are printable ASCII. */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] > 0x7e)
				return POP3_PARSE_BAD_CHAR;
		return POP3_PARSE_OK;
	case ARG_NAME:
	case ARG_REST:
		/* Control bytes were refused for the whole line already. */
		return POP3_PARSE_OK;
	case ARG_NONE:
		break;
	}
	return POP3_PARSE_EXTRA_ARG;
}

enum pop3_parse_status pop3_parse(const char *line, size_t len,
                                  struct pop3_cmd *cmd)
{
	memset(cmd, 0, sizeof *cmd);
	if (len > POP3_LINE_MAX)
		return POP3_PARSE_TOO_LONG;
	if (len == 0)
		return POP3_PARSE_EMPTY;
	/* No control bytes anywhere: a CR or LF here means the caller's line
	 * framing let one through, and NUL/TAB have no place in POP3. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			return POP3_PARSE_BAD_CHAR;
	}

	size_t klen = 0;
	while (klen < len && line[klen] != ' ')
		klen++;
	cmd->verb = verb_lookup(line, klen);
	if (cmd->verb == POP3_CMD_NONE)
		return POP3_PARSE_UNKNOWN;
	const struct pop3_grammar *g = &grammar[cmd->verb];

	size_t pos = klen;
	while (pos < len) {
		pos++; /* the single SP before an argument */
		cmd->errarg = cmd->argc;
		if (cmd->argc == g->max)
			return POP3_PARSE_EXTRA_ARG;
		enum arg_kind kind = (enum arg_kind)g->kind[cmd->argc];
		size_t end = pos;
		if (kind == ARG_REST)
			end = len;
		else
			while (end < len && line[end] != ' ')
				end++;
		if (end == pos)
			return POP3_PARSE_EMPTY_ARG;
		enum pop3_parse_status st =
		        check_arg(kind, line + pos, end - pos,
		                  &cmd->num[cmd->argc]);
		if (st != POP3_PARSE_OK)
			return st;
		cmd->arg[cmd->argc].p = line + pos;
		cmd->arg[cmd->argc].len = end - pos;
		cmd->argc++;
		pos = end;
	}
	if (cmd->argc < g->min) {
		cmd->errarg = cmd->argc;
		return POP3_PARSE_MISSING_ARG;
	}
	return POP3_PARSE_OK;
}

const char *pop3_verb_name(enum pop3_verb v)
{
	if (v <= POP3_CMD_NONE || v >= POP3_CMD_COUNT)
		return "?";
	return grammar[v].name;
}

const char *pop3_parse_status_name(enum pop3_parse_status st)
{
	static const char *const names[] = {
		[POP3_PARSE_OK] = "OK",
		[POP3_PARSE_EMPTY] = "EMPTY",
		[POP3_PARSE_TOO_LONG] = "TOO_LONG",
		[POP3_PARSE_BAD_CHAR] = "BAD_CHAR",
		[POP3_PARSE_UNKNOWN] = "UNKNOWN",
		[POP3_PARSE_MISSING_ARG] = "MISSING_ARG",
		[POP3_PARSE_EXTRA_ARG] = "EXTRA_ARG",
		[POP3_PARSE_EMPTY_ARG] = "EMPTY_ARG",
		[POP3_PARSE_ARG_TOO_LONG] = "ARG_TOO_LONG",
		[POP3_PARSE_BAD_NUMBER] = "BAD_NUMBER",
	};
	if ((unsigned)st >= sizeof names / sizeof names[0])
		return "?";
	return names[st];
}
