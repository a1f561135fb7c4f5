/* Pure parsing of MAIL/RCPT arguments and HELO names; see smtp_parse.h.
 *
 * The grammar is RFC 5321 4.1.2 (paths, mailboxes) and 4.1.3 (address
 * literals). Where RFC 5321 asks for leniency we say below whether we give
 * it; the default is to refuse, since every byte accepted here ends up in a
 * store lookup, a log line or a Received: header. */
#include <arpa/inet.h>
#include <string.h>

#include "smtp_chars.h"
#include "smtp_parse.h"
#include "utf8.h"

/* RFC 5322 3.2.3 atext; RFC 6531 3.3 adds UTF8-non-ascii. */
static bool is_atext(int c, unsigned flags)
{
	if (smtp_is_alpha(c) || smtp_is_digit(c))
		return true;
	if (c >= 0x80)
		return flags & SMTP_PARSE_UTF8;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Let-dig = ALPHA / DIGIT (U-labels under SMTPUTF8). */
static bool is_letdig(int c, unsigned flags)
{
	return smtp_is_alpha(c) || smtp_is_digit(c) || (c >= 0x80 && (flags & SMTP_PARSE_UTF8));
}

/* Local-part = Dot-string / Quoted-string, starting at p[*i]. Advances *i
 * past it. Returns false on a syntax error. */
static bool parse_local(const char *p, size_t len, size_t *i, unsigned flags,
                        bool *quoted)
{
	size_t k = *i;
	*quoted = false;
	if (k < len && p[k] == '"') {
		*quoted = true;
		for (k++; k < len; k++) {
			unsigned char c = (unsigned char)p[k];
			if (c == '"') {
				*i = k + 1;
				return true;
			}
			if (c == '\\') {
				/* quoted-pairSMTP = "\" %d32-126 */
				if (++k >= len || p[k] < 32 || p[k] > 126)
					return false;
			} else if (!((c >= 32 && c <= 126) ||
			             (c >= 0x80 && (flags & SMTP_PARSE_UTF8)))) {
				return false;
			}
		}
		return false; /* no closing quote */
	}
	/* Dot-string = Atom *("." Atom): no empty atom, so no leading,
	 * trailing or doubled dot. */
	for (;;) {
		size_t start = k;
		while (k < len && is_atext((unsigned char)p[k], flags))
			k++;
		if (k == start)
			return false;
		if (k < len && p[k] == '.') {
			k++;
			continue;
		}
		*i = k;
		return true;
	}
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]:
 * labels begin and end with a letter or digit; at most 63 octets each
 * (RFC 1035 2.3.4). Advances *i past the domain. */
static bool parse_domain(const char *p, size_t len, size_t *i, unsigned flags)
{
	size_t k = *i;
	for (;;) {
		size_t start = k;
		if (k >= len || !is_letdig((unsigned char)p[k], flags))
			return false;
		while (k < len && (is_letdig((unsigned char)p[k], flags) ||
		                   p[k] == '-'))
			k++;
		if (p[k - 1] == '-' || k - start > 63)
			return false;
		if (k < len && p[k] == '.') {
			k++;
			continue;
		}
		*i = k;
		return true;
	}
}

/* IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT in 0..255. */
static bool is_ipv4(const char *p, size_t len)
{
	size_t k = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (k >= len || p[k] != '.')
				return false;
			k++;
		}
		unsigned v = 0, digits = 0;
		while (k < len && smtp_is_digit((unsigned char)p[k]) && digits < 4) {
			v = v * 10 + (unsigned)(p[k] - '0');
			k++;
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return false;
	}
	return k == len;
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General ) "]" (4.1.3),
 * starting at p[*i] == '['. Advances *i past the "]". */
static bool parse_literal(const char *p, size_t len, size_t *i)
{
	size_t k = *i + 1, start = k;
	/* dcontent = %d33-90 / %d94-126: no brackets, no backslash. */
	while (k < len && p[k] != ']') {
		unsigned char c = (unsigned char)p[k];
		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return false;
		k++;
	}
	if (k >= len)
		return false;
	const char *in = p + start;
	size_t n = k - start;
	*i = k + 1;
	if (n > 5 && smtp_eq_nocase(in, 5, "IPv6:")) {
		char tmp[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		if (n - 5 >= sizeof tmp)
			return false;
		memcpy(tmp, in + 5, n - 5);
		tmp[n - 5] = '\0';
		return inet_pton(AF_INET6, tmp, &a6) == 1;
	}
	if (n > 0 && smtp_is_digit((unsigned char)in[0]))
		return is_ipv4(in, n);
	/* General-address-literal = Standardized-tag ":" 1*dcontent, where
	 * Standardized-tag = Ldh-str (it must end in a letter or digit). */
	size_t t = 0;
	while (t < n && (smtp_is_alpha((unsigned char)in[t]) ||
	                 smtp_is_digit((unsigned char)in[t]) || in[t] == '-'))
		t++;
	return t > 0 && in[t - 1] != '-' && t + 1 < n && in[t] == ':';
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value] (4.1.2), separated by SP.
 * One or more blanks are tolerated between parameters. */
static enum smtp_arg_status parse_params(const char *p, size_t len, size_t k,
                                         struct smtp_path_args *out)
{
	while (k < len) {
		if (!smtp_is_blank((unsigned char)p[k]))
			return SMTP_ARG_SYNTAX;
		while (k < len && smtp_is_blank((unsigned char)p[k]))
			k++;
		if (k == len)
			break; /* trailing blanks */
		if (out->nparam == SMTP_PARAMS_MAX)
			return SMTP_ARG_BAD_PARAM;
		struct smtp_param *pa = &out->param[out->nparam++];
		size_t start = k;
		if (!smtp_is_alpha((unsigned char)p[k]) && !smtp_is_digit((unsigned char)p[k]))
			return SMTP_ARG_BAD_PARAM;
		while (k < len && (smtp_is_alpha((unsigned char)p[k]) ||
		                   smtp_is_digit((unsigned char)p[k]) || p[k] == '-'))
			k++;
		pa->key.p = p + start;
		pa->key.len = k - start;
		if (k < len && p[k] == '=') {
			start = ++k;
			/* esmtp-value = 1*(%d33-60 / %d62-126) */
			while (k < len && p[k] >= 33 && p[k] <= 126 && p[k] != '=')
				k++;
			if (k == start)
				return SMTP_ARG_BAD_PARAM;
			pa->value.p = p + start;
			pa->value.len = k - start;
		}
		if (k < len && !smtp_is_blank((unsigned char)p[k]))
			return SMTP_ARG_BAD_PARAM;
	}
	return SMTP_ARG_OK;
}

/* RFC 1870: size-value ::= 1*20DIGIT. A value beyond 2^64-1 is taken as
 * 2^64-1: syntactically valid, and over any limit we could have. */
static bool parse_size(const struct smtp_view *v, uint64_t *out)
{
	if (!v->p || v->len == 0 || v->len > 20)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < v->len; i++) {
		unsigned d = (unsigned)(v->p[i] - '0');
		if (d > 9)
			return false;
		if (n > (UINT64_MAX - d) / 10)
			n = UINT64_MAX;
		else
			n = n * 10 + d;
	}
	*out = n;
	return true;
}

/* RFC 4954 5: AUTH=<> or an xtext mailbox (RFC 3461 4: xtext is
 * %d33-42 / %d44-60 / %d62-126 with "+" HEXCHAR HEXCHAR escapes, HEXCHAR
 * being upper-case). Never interpreted: the value is only checked. */
static bool is_auth_value(const struct smtp_view *v)
{
	if (!v->p)
		return false;
	if (v->len == 2 && v->p[0] == '<' && v->p[1] == '>')
		return true;
	for (size_t i = 0; i < v->len; i++) {
		char c = v->p[i];
		if (c != '+')
			continue; /* 33..126 but '=' is ensured by parse_params */
		for (int h = 1; h <= 2; h++)
			if (i + (size_t)h >= v->len ||
			    !(smtp_is_digit((unsigned char)v->p[i + h]) ||
			      (v->p[i + h] >= 'A' && v->p[i + h] <= 'F')))
				return false;
		i += 2;
	}
	return true;
}

static enum smtp_arg_status mail_params(struct smtp_path_args *out)
{
	for (size_t i = 0; i < out->nparam; i++) {
		const struct smtp_param *pa = &out->param[i];
		if (smtp_eq_nocase(pa->key.p, pa->key.len, "SMTPUTF8")) {
			if (out->smtputf8 || pa->value.p)
				return SMTP_ARG_BAD_PARAM;
			out->smtputf8 = true;
		} else if (smtp_eq_nocase(pa->key.p, pa->key.len, "AUTH")) {
			if (out->has_auth || !is_auth_value(&pa->value))
				return SMTP_ARG_BAD_PARAM;
			out->has_auth = true;
		} else if (smtp_eq_nocase(pa->key.p, pa->key.len, "SIZE")) {
			if (out->has_size || !parse_size(&pa->value, &out->size))
				return SMTP_ARG_BAD_PARAM;
			out->has_size = true;
		} else if (smtp_eq_nocase(pa->key.p, pa->key.len, "BODY")) {
			if (out->body != SMTP_BODY_NONE || !pa->value.p)
				return SMTP_ARG_BAD_PARAM;
			if (smtp_eq_nocase(pa->value.p, pa->value.len, "7BIT"))
				out->body = SMTP_BODY_7BIT;
			else if (smtp_eq_nocase(pa->value.p, pa->value.len, "8BITMIME"))
				out->body = SMTP_BODY_8BITMIME;
			else
				return SMTP_ARG_BAD_PARAM;
		} else if (out->unknown < 0) {
			out->unknown = (int)i;
		}
	}
	return SMTP_ARG_OK;
}

/* "FROM:" / "TO:" then Path / "<>" / "<Postmaster>", then parameters. */
static enum smtp_arg_status parse_path_args(const char *p, size_t len,
                                            const char *prefix, bool is_mail,
                                            unsigned flags,
                                            struct smtp_path_args *out)
{
	struct smtp_path *path = &out->path;
	size_t plen = strlen(prefix), k;

	memset(out, 0, sizeof *out);
	out->unknown = -1;
	if (len < plen || !smtp_eq_nocase(p, plen, prefix))
		return SMTP_ARG_SYNTAX;
	/* RFC 5321 forbids the blank after the colon, but it is common and
	 * harmless; a missing "<" is not tolerated (no strict_rfc821 mode). */
	for (k = plen; k < len && smtp_is_blank((unsigned char)p[k]); k++)
		;
	if (k >= len || p[k] != '<')
		return SMTP_ARG_SYNTAX;
	size_t path_start = k++;

	if (k < len && p[k] == '>') {
		if (!is_mail)
			return SMTP_ARG_BAD_ADDR;
		path->null = true;
		path->mailbox.p = path->local.p = path->domain.p = p + k;
		k++;
		goto params;
	}
	/* RFC 5321 4.1.1.3 and C say a server SHOULD accept and ignore source
	 * routes. We refuse them instead: no legitimate client has sent one in
	 * decades, and ignoring a route is exactly where relay confusions
	 * begin. */
	if (k < len && p[k] == '@')
		return SMTP_ARG_ROUTE;

	size_t local_start = k;
	if (!parse_local(p, len, &k, flags, &path->quoted))
		return SMTP_ARG_BAD_ADDR;
	path->mailbox.p = path->local.p = p + local_start;
	path->local.len = k - local_start;
	if (!is_mail && !path->quoted && k < len && p[k] == '>' &&
	    smtp_eq_nocase(path->local.p, path->local.len, "postmaster")) {
		path->postmaster = true;
		path->domain.p = p + k;
		path->mailbox.len = path->local.len;
		k++;
		goto params;
	}
	if (k >= len || p[k] != '@')
		return SMTP_ARG_BAD_ADDR;
	size_t dom_start = ++k;
	if (k < len && p[k] == '[') {
		path->literal = true;
		if (!parse_literal(p, len, &k))
			return SMTP_ARG_BAD_ADDR;
	} else if (!parse_domain(p, len, &k, flags)) {
		return SMTP_ARG_BAD_ADDR;
	}
	path->domain.p = p + dom_start;
	path->domain.len = k - dom_start;
	path->mailbox.len = k - local_start;
	if (k >= len || p[k] != '>')
		return SMTP_ARG_BAD_ADDR;
	k++;
	if (path->local.len > SMTP_LOCAL_MAX ||
	    path->domain.len > SMTP_DOMAIN_MAX)
		return SMTP_ARG_TOO_LONG;

params:
	if (k - path_start > SMTP_PATH_MAX)
		return SMTP_ARG_TOO_LONG;
	enum smtp_arg_status st = parse_params(p, len, k, out);
	if (st != SMTP_ARG_OK)
		return st;
	if (is_mail)
		return mail_params(out);
	if (out->nparam > 0)
		out->unknown = 0;
	return SMTP_ARG_OK;
}

enum smtp_arg_status smtp_parse_mail(const char *arg, size_t len,
                                     unsigned flags,
                                     struct smtp_path_args *out)
{
	return parse_path_args(arg, len, "FROM:", true, flags, out);
}

enum smtp_arg_status smtp_parse_rcpt(const char *arg, size_t len,
                                     unsigned flags,
                                     struct smtp_path_args *out)
{
	return parse_path_args(arg, len, "TO:", false, flags, out);
}

bool smtp_parse_helo(const char *arg, size_t len)
{
	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return false;
	if (arg[0] == '[') {
		size_t k = 0;
		return parse_literal(arg, len, &k) && k == len;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (!smtp_is_alpha(c) && !smtp_is_digit(c) && c != '-' && c != '_' &&
		    c != '.')
			return false;
	}
	return true;
}

bool smtp_view_is_utf8(const struct smtp_view *v)
{
	return utf8_non_ascii(v->p, v->len);
}
