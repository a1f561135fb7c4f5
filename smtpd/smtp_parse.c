/* Pure SMTP command parsing; see smtp_parse.h for the contract.
 * This file splits command lines; smtp_parse_addr.c holds the grammar of
 * their arguments. */
#include "smtp_parse.h"

#include <string.h>

#include "smtp_chars.h"

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{"HELO", SMTP_VERB_HELO},   {"EHLO", SMTP_VERB_EHLO},
	{"MAIL", SMTP_VERB_MAIL},   {"RCPT", SMTP_VERB_RCPT},
	{"DATA", SMTP_VERB_DATA},   {"RSET", SMTP_VERB_RSET},
	{"NOOP", SMTP_VERB_NOOP},   {"QUIT", SMTP_VERB_QUIT},
	{"VRFY", SMTP_VERB_VRFY},   {"EXPN", SMTP_VERB_EXPN},
	{"HELP", SMTP_VERB_HELP},   {"STARTTLS", SMTP_VERB_STARTTLS},
	{"AUTH", SMTP_VERB_AUTH},   {"BDAT", SMTP_VERB_BDAT},
};

/* HTTP methods are case-sensitive (RFC 9110 9.1), so only the upper-case
 * spelling marks a web client that reached an SMTP port. */
static const char *const http_methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE",
	"PATCH",
};

const char *smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof smtp_verbs / sizeof smtp_verbs[0]; i++)
		if (smtp_verbs[i].verb == v)
			return smtp_verbs[i].name;
	return v == SMTP_VERB_HTTP ? "HTTP" : "?";
}

enum smtp_cmd_status smtp_parse_command(const char *line, size_t len,
                                        struct smtp_cmd *cmd)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->verb = SMTP_VERB_UNKNOWN;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return SMTP_CMD_BADCHAR;
	}
	size_t end = len;
	while (end > 0 && smtp_is_blank((unsigned char)line[end - 1]))
		end--;
	if (end == 0)
		return SMTP_CMD_EMPTY;

	size_t v = 0;
	while (v < end && !smtp_is_blank((unsigned char)line[v]))
		v++;
	cmd->name.p = line;
	cmd->name.len = v;
	size_t a = v;
	while (a < end && smtp_is_blank((unsigned char)line[a]))
		a++;
	cmd->arg.p = line + a;
	cmd->arg.len = end - a;

	for (size_t i = 0; i < sizeof smtp_verbs / sizeof smtp_verbs[0]; i++)
		if (smtp_eq_nocase(line, v, smtp_verbs[i].name)) {
			cmd->verb = smtp_verbs[i].verb;
			return SMTP_CMD_OK;
		}
	for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0];
	     i++)
		if (v == strlen(http_methods[i]) &&
		    memcmp(line, http_methods[i], v) == 0 && cmd->arg.len > 0)
			cmd->verb = SMTP_VERB_HTTP;
	return SMTP_CMD_OK;
}

enum smtp_bdat_status smtp_parse_bdat(const char *arg, size_t len,
                                      uint64_t *size, bool *last)
{
	size_t k = 0;
	uint64_t n = 0;

	*size = 0;
	*last = false;
	while (k < len && smtp_is_digit((unsigned char)arg[k])) {
		unsigned d = (unsigned)(arg[k] - '0');
		/* Before the multiplication: after it, a size near 2^64
		 * would wrap to a small one and its octets run as
		 * commands (smuggling). */
		if (n > (SMTP_BDAT_SIZE_MAX - d) / 10)
			return SMTP_BDAT_SYNTAX;
		n = n * 10 + d;
		k++;
	}
	if (k == 0 || (k < len && !smtp_is_blank((unsigned char)arg[k])))
		return SMTP_BDAT_SYNTAX;
	*size = n;
	if (k == len)
		return SMTP_BDAT_OK;
	/* The argument has no trailing blanks (smtp_parse_command trims
	 * them); exactly one separator is what RFC 3030 writes, but a
	 * blank is a blank. */
	while (k < len && smtp_is_blank((unsigned char)arg[k]))
		k++;
	if (!smtp_eq_nocase(arg + k, len - k, "LAST"))
		return SMTP_BDAT_BAD_MARKER;
	*last = true;
	return SMTP_BDAT_OK;
}

bool smtp_parse_auth(const char *arg, size_t len, struct smtp_auth_args *out)
{
	size_t k = 0;

	memset(out, 0, sizeof *out);
	/* RFC 4422 3.1: sasl-mech = 1*20mech-char, [A-Z0-9-_] (we also take
	 * lower case: the mechanism is compared without regard to case). */
	while (k < len && (smtp_is_alpha((unsigned char)arg[k]) ||
	                   smtp_is_digit((unsigned char)arg[k]) ||
	                   arg[k] == '-' || arg[k] == '_'))
		k++;
	if (k == 0 || k > 20 || (k < len && !smtp_is_blank((unsigned char)arg[k])))
		return false;
	out->mech.p = arg;
	out->mech.len = k;
	while (k < len && smtp_is_blank((unsigned char)arg[k]))
		k++;
	if (k == len)
		return true;
	size_t start = k;
	while (k < len && !smtp_is_blank((unsigned char)arg[k]))
		k++;
	if (k != len)
		return false; /* a third word */
	out->resp.p = arg + start;
	out->resp.len = len - start;
	return true;
}
