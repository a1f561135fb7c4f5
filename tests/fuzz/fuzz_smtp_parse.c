/* Fuzzes the SMTP command parser (smtpd/smtp_parse.c) and the MAIL/RCPT
 * argument and HELO grammar (smtpd/smtp_parse_addr.c).
 *
 * Input: one command line (no CRLF). It is split by smtp_parse_command;
 * the whole line is also parsed as a MAIL and as a RCPT argument, with and
 * without SMTPUTF8, as a HELO name, and as BDAT and AUTH arguments.
 *
 * Properties: every view lies inside the line; verbs, names and arguments
 * follow smtp_parse.h; accepted paths respect the RFC 5321 4.5.3.1 limits
 * and contain only what the grammar allows; SMTPUTF8 only ever accepts
 * more; and an accepted argument written back in canonical form
 * ("FROM:<mailbox> KEY=VALUE...") parses to the same path and parameters. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "smtp_parse.h"

static const char *line0;
static size_t len0;

static void check_view(const struct smtp_view *v)
{
	if (v->len)
		FUZZ_CHECK(fuzz_inside(v->p, v->len, line0, len0));
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool eq(const struct smtp_view *a, const struct smtp_view *b)
{
	return a->len == b->len && (a->len == 0 || !memcmp(a->p, b->p, a->len));
}

static void check_command(const char *line, size_t len)
{
	struct smtp_cmd cmd;
	bool ctl = false, all_blank = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			ctl = true;
		if (!blank((char)c))
			all_blank = false;
	}
	enum smtp_cmd_status st = smtp_parse_command(line, len, &cmd);
	if (ctl) {
		FUZZ_CHECK(st == SMTP_CMD_BADCHAR);
		FUZZ_CHECK(cmd.verb == SMTP_VERB_UNKNOWN);
		return;
	}
	if (all_blank) {
		FUZZ_CHECK(st == SMTP_CMD_EMPTY);
		return;
	}
	FUZZ_CHECK(st == SMTP_CMD_OK);
	/* A leading blank gives an empty verb, which is no verb. */
	FUZZ_CHECK(cmd.name.p == line);
	FUZZ_CHECK(cmd.name.len > 0 || blank(line[0]));
	if (cmd.name.len == 0)
		FUZZ_CHECK(cmd.verb == SMTP_VERB_UNKNOWN);
	check_view(&cmd.name);
	check_view(&cmd.arg);
	for (size_t i = 0; i < cmd.name.len; i++)
		FUZZ_CHECK(!blank(cmd.name.p[i]));
	if (cmd.arg.len) {
		FUZZ_CHECK(!blank(cmd.arg.p[0]));
		FUZZ_CHECK(!blank(cmd.arg.p[cmd.arg.len - 1]));
		FUZZ_CHECK(cmd.arg.p > cmd.name.p + cmd.name.len);
	}
	FUZZ_CHECK(cmd.verb >= SMTP_VERB_UNKNOWN && cmd.verb < SMTP_VERB_COUNT);
	const char *vn = smtp_verb_name(cmd.verb);
	FUZZ_CHECK(vn != NULL);
	if (cmd.verb != SMTP_VERB_UNKNOWN && cmd.verb != SMTP_VERB_HTTP) {
		FUZZ_CHECK(strlen(vn) == cmd.name.len);
		FUZZ_CHECK(strncasecmp(vn, cmd.name.p, cmd.name.len) == 0);
	}
	if (cmd.verb == SMTP_VERB_HTTP)
		FUZZ_CHECK(cmd.arg.len > 0);
}

static bool ascii(const struct smtp_view *v)
{
	for (size_t i = 0; i < v->len; i++)
		if ((unsigned char)v->p[i] >= 0x80)
			return false;
	return true;
}

static bool is_keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

static void check_args(const struct smtp_path_args *a, bool mail,
                       unsigned flags)
{
	const struct smtp_path *p = &a->path;
	check_view(&p->mailbox);
	check_view(&p->local);
	check_view(&p->domain);
	FUZZ_CHECK(p->local.len <= SMTP_LOCAL_MAX);
	FUZZ_CHECK(p->domain.len <= SMTP_DOMAIN_MAX);
	FUZZ_CHECK(p->mailbox.len + 2 <= SMTP_PATH_MAX);
	if (p->null) {
		FUZZ_CHECK(mail);
		FUZZ_CHECK(p->mailbox.len == 0 && p->local.len == 0 &&
		           p->domain.len == 0);
	} else if (p->postmaster) {
		FUZZ_CHECK(!mail);
		FUZZ_CHECK(p->domain.len == 0);
		FUZZ_CHECK(strncasecmp(p->local.p, "postmaster", 10) == 0 &&
		           p->local.len == 10);
	} else {
		/* mailbox = local "@" domain, contiguous */
		FUZZ_CHECK(p->local.len > 0 && p->domain.len > 0);
		FUZZ_CHECK(p->mailbox.p == p->local.p);
		FUZZ_CHECK(p->local.p[p->local.len] == '@');
		FUZZ_CHECK(p->domain.p == p->local.p + p->local.len + 1);
		FUZZ_CHECK(p->mailbox.len == p->local.len + 1 + p->domain.len);
		FUZZ_CHECK(p->literal == (p->domain.p[0] == '['));
		FUZZ_CHECK(p->quoted == (p->local.p[0] == '"'));
		if (!(flags & SMTP_PARSE_UTF8))
			FUZZ_CHECK(ascii(&p->mailbox));
		/* No control bytes anywhere; outside a quoted local part
		 * no blank either, and no angle bracket outside a literal. */
		for (size_t i = 0; i < p->mailbox.len; i++) {
			unsigned char c = (unsigned char)p->mailbox.p[i];
			bool in_local = i < p->local.len;
			FUZZ_CHECK(c >= 0x20 && c != 0x7f);
			if (!(in_local && p->quoted))
				FUZZ_CHECK(c != ' ');
			if (!(in_local && p->quoted) &&
			    !(!in_local && p->literal))
				FUZZ_CHECK(c != '<' && c != '>');
		}
	}
	FUZZ_CHECK(a->nparam <= SMTP_PARAMS_MAX);
	FUZZ_CHECK(a->unknown >= -1 && a->unknown < (int)a->nparam);
	for (size_t i = 0; i < a->nparam; i++) {
		const struct smtp_param *pa = &a->param[i];
		FUZZ_CHECK(pa->key.len > 0);
		check_view(&pa->key);
		for (size_t k = 0; k < pa->key.len; k++)
			FUZZ_CHECK(is_keychar(pa->key.p[k]));
		if (pa->value.p) {
			FUZZ_CHECK(pa->value.len > 0);
			check_view(&pa->value);
			for (size_t k = 0; k < pa->value.len; k++)
				FUZZ_CHECK(pa->value.p[k] >= 33 &&
				           pa->value.p[k] <= 126 &&
				           pa->value.p[k] != '=');
		}
	}
	if (!mail) {
		FUZZ_CHECK(!a->has_size && a->body == SMTP_BODY_NONE);
		FUZZ_CHECK(!a->smtputf8 && !a->has_auth);
		FUZZ_CHECK(a->unknown == (a->nparam ? 0 : -1));
	}
}

/* Writes the canonical form of an accepted argument and parses it again. */
static void round_trip(const struct smtp_path_args *a, bool mail,
                       unsigned flags)
{
	char buf[2048];
	size_t n = 0;
	const struct smtp_path *p = &a->path;
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s<%.*s>",
	                      mail ? "FROM:" : "TO:", (int)p->mailbox.len,
	                      p->mailbox.p ? p->mailbox.p : "");
	for (size_t i = 0; i < a->nparam && n < sizeof buf; i++) {
		const struct smtp_param *pa = &a->param[i];
		n += (size_t)snprintf(buf + n, sizeof buf - n, " %.*s",
		                      (int)pa->key.len, pa->key.p);
		if (pa->value.p && n < sizeof buf)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "=%.*s",
			                      (int)pa->value.len, pa->value.p);
	}
	FUZZ_CHECK(n < sizeof buf);
	struct smtp_path_args b;
	const char *save = line0;
	size_t save_len = len0;
	line0 = buf;
	len0 = n;
	enum smtp_arg_status st = mail ? smtp_parse_mail(buf, n, flags, &b)
	                               : smtp_parse_rcpt(buf, n, flags, &b);
	FUZZ_CHECK(st == SMTP_ARG_OK);
	check_args(&b, mail, flags);
	line0 = save;
	len0 = save_len;
	FUZZ_CHECK(eq(&b.path.mailbox, &p->mailbox));
	FUZZ_CHECK(eq(&b.path.local, &p->local));
	FUZZ_CHECK(eq(&b.path.domain, &p->domain));
	FUZZ_CHECK(b.path.null == p->null && b.path.quoted == p->quoted &&
	           b.path.literal == p->literal &&
	           b.path.postmaster == p->postmaster);
	FUZZ_CHECK(b.nparam == a->nparam && b.unknown == a->unknown);
	FUZZ_CHECK(b.has_size == a->has_size && b.body == a->body);
	FUZZ_CHECK(b.smtputf8 == a->smtputf8 && b.has_auth == a->has_auth);
	if (a->has_size)
		FUZZ_CHECK(b.size == a->size);
	for (size_t i = 0; i < a->nparam; i++) {
		FUZZ_CHECK(eq(&b.param[i].key, &a->param[i].key));
		FUZZ_CHECK((b.param[i].value.p == NULL) ==
		           (a->param[i].value.p == NULL));
		FUZZ_CHECK(eq(&b.param[i].value, &a->param[i].value));
	}
}

static void check_path_args(const char *line, size_t len, bool mail)
{
	struct smtp_path_args a, u;
	enum smtp_arg_status st, su;
	st = mail ? smtp_parse_mail(line, len, 0, &a)
	          : smtp_parse_rcpt(line, len, 0, &a);
	su = mail ? smtp_parse_mail(line, len, SMTP_PARSE_UTF8, &u)
	          : smtp_parse_rcpt(line, len, SMTP_PARSE_UTF8, &u);
	FUZZ_CHECK(st >= SMTP_ARG_OK && st <= SMTP_ARG_BAD_PARAM);
	FUZZ_CHECK(su >= SMTP_ARG_OK && su <= SMTP_ARG_BAD_PARAM);
	if (st == SMTP_ARG_OK) {
		check_args(&a, mail, 0);
		round_trip(&a, mail, 0);
		/* SMTPUTF8 accepts a superset, with the same result. */
		FUZZ_CHECK(su == SMTP_ARG_OK);
		FUZZ_CHECK(eq(&u.path.mailbox, &a.path.mailbox));
		FUZZ_CHECK(u.nparam == a.nparam);
	}
	if (su == SMTP_ARG_OK) {
		check_args(&u, mail, SMTP_PARSE_UTF8);
		round_trip(&u, mail, SMTP_PARSE_UTF8);
	}
}

/* BDAT: an accepted argument is a decimal size (leading zeros allowed)
 * and an optional LAST; its canonical form parses the same. */
static void check_bdat(const char *arg, size_t len)
{
	uint64_t sz = 12345;
	bool last = true;
	enum smtp_bdat_status st = smtp_parse_bdat(arg, len, &sz, &last);
	if (st == SMTP_BDAT_SYNTAX) {
		FUZZ_CHECK(!last);
		return;
	}
	FUZZ_CHECK(sz <= SMTP_BDAT_SIZE_MAX);
	if (st == SMTP_BDAT_BAD_MARKER) {
		FUZZ_CHECK(!last);
		return;
	}
	FUZZ_CHECK(st == SMTP_BDAT_OK);
	FUZZ_CHECK(len > 0 && arg[0] >= '0' && arg[0] <= '9');
	uint64_t v = 0;
	size_t i = 0;
	for (; i < len && arg[i] >= '0' && arg[i] <= '9'; i++)
		v = v > SMTP_BDAT_SIZE_MAX ? v
		                           : v * 10 + (uint64_t)(arg[i] - '0');
	FUZZ_CHECK(v == sz);
	char canon[48];
	int n = snprintf(canon, sizeof canon, "%llu%s", (unsigned long long)sz,
	                 last ? " LAST" : "");
	uint64_t sz2 = 0;
	bool last2 = !last;
	FUZZ_CHECK(smtp_parse_bdat(canon, (size_t)n, &sz2, &last2) ==
	           SMTP_BDAT_OK);
	FUZZ_CHECK(sz2 == sz && last2 == last);
}

/* AUTH: mechanism of 1..20 [A-Za-z0-9_-], one optional token after it. */
static void check_auth(const char *arg, size_t len)
{
	struct smtp_auth_args a;
	if (!smtp_parse_auth(arg, len, &a))
		return;
	FUZZ_CHECK(a.mech.len >= 1 && a.mech.len <= 20);
	check_view(&a.mech);
	for (size_t i = 0; i < a.mech.len; i++)
		FUZZ_CHECK(is_keychar(a.mech.p[i]) || a.mech.p[i] == '_');
	if (a.resp.len) {
		check_view(&a.resp);
		FUZZ_CHECK(a.resp.p > a.mech.p + a.mech.len);
		for (size_t i = 0; i < a.resp.len; i++)
			FUZZ_CHECK(!blank(a.resp.p[i]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0; /* the line reader never passes more than 510 */
	char *line = fuzz_memdup(data, size); /* exact size, no NUL */
	line0 = line;
	len0 = size;

	check_command(line, size);
	struct smtp_cmd cmd;
	if (smtp_parse_command(line, size, &cmd) == SMTP_CMD_OK) {
		if (cmd.verb == SMTP_VERB_MAIL)
			check_path_args(cmd.arg.p, cmd.arg.len, true);
		else if (cmd.verb == SMTP_VERB_RCPT)
			check_path_args(cmd.arg.p, cmd.arg.len, false);
		else if (cmd.verb == SMTP_VERB_HELO ||
		         cmd.verb == SMTP_VERB_EHLO)
			(void)smtp_parse_helo(cmd.arg.p, cmd.arg.len);
		else if (cmd.verb == SMTP_VERB_BDAT)
			check_bdat(cmd.arg.p, cmd.arg.len);
		else if (cmd.verb == SMTP_VERB_AUTH)
			check_auth(cmd.arg.p, cmd.arg.len);
	}
	check_bdat(line, size);
	check_auth(line, size);
	check_path_args(line, size, true);
	check_path_args(line, size, false);
	if (smtp_parse_helo(line, size)) {
		FUZZ_CHECK(size > 0 && size <= SMTP_DOMAIN_MAX);
		for (size_t i = 0; i < size; i++) {
			unsigned char c = (unsigned char)line[i];
			FUZZ_CHECK(c > 32 && c < 127);
		}
	}
	free(line);
	return 0;
}
