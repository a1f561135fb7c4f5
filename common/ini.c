/* The INI tokenizer behind config.c (contract in ini.h). It is pure: text in,
 * one callback per header or key line out, no allocation, no globals. */
#include "ini.h"

#include <stdio.h>
#include <string.h>

#define INI_LINE_MAX 4096

static int ini_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Section and key names: ASCII only, so a name never needs escaping in an
 * error message and never collides with syntax. */
static int ini_is_name(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* Trims spaces and tabs from both ends of [*b, *e). */
static void ini_trim(const char **b, const char **e)
{
	while (*b < *e && ini_is_space(**b))
		(*b)++;
	while (*e > *b && ini_is_space((*e)[-1]))
		(*e)--;
}

static int ini_fail(unsigned line, const char *reason, unsigned *err_line,
                    char *err, size_t errlen)
{
	if (err_line)
		*err_line = line;
	/* A truncated reason is still a reason: no need to check the length. */
	if (err && errlen)
		snprintf(err, errlen, "line %u: %s", line, reason);
	return -1;
}

/* Copies [b, e) into dst (room for INI_LINE_MAX + 1 bytes). */
static void ini_copy(char *dst, const char *b, const char *e)
{
	memcpy(dst, b, (size_t)(e - b));
	dst[e - b] = '\0';
}

/* Checks the bytes of one line (without its line end). Returns a reason or
 * NULL. Control characters are refused because values end up in logs and
 * mail headers (hostname), and a NUL would silently cut a value short. */
static const char *ini_check_bytes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return "NUL byte";
		if (c == '\r')
			return "stray CR (line ends must be LF or CRLF)";
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return "control character";
	}
	return NULL;
}

/* Where the value's comment starts: the first '#' that follows a space or
 * tab, so "key = a#b" keeps "a#b" (URLs, passwords in names). */
static const char *ini_comment(const char *b, const char *e)
{
	for (const char *p = b; p < e; p++)
		if (*p == '#' && p > b && ini_is_space(p[-1]))
			return p;
	return e;
}

int ini_parse(const char *text, size_t len, ini_cb cb, void *arg,
              unsigned *err_line, char *err, size_t errlen)
{
	/* One line at most INI_LINE_MAX bytes, so these cannot overflow. */
	char section[INI_LINE_MAX + 1] = "";
	char key[INI_LINE_MAX + 1], value[INI_LINE_MAX + 1];
	size_t pos = 0;
	unsigned line = 0;

	if (err_line)
		*err_line = 0;
	if (err && errlen)
		err[0] = '\0';
	/* Some Windows editors start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;

	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		const char *why;
		int rc;

		pos += n + (nl != NULL);
		line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > INI_LINE_MAX)
			return ini_fail(line, "line too long (max 4096 bytes)",
			                err_line, err, errlen);
		if ((why = ini_check_bytes(s, n)) != NULL)
			return ini_fail(line, why, err_line, err, errlen);

		const char *b = s, *e = s + n;
		ini_trim(&b, &e);
		if (b == e || *b == '#')
			continue;

		if (*b == '[') {
			const char *close = memchr(b, ']', (size_t)(e - b));
			if (!close)
				return ini_fail(line,
				                "unterminated section header",
				                err_line, err, errlen);
			const char *after = close + 1;
			while (after < e && ini_is_space(*after))
				after++;
			if (after < e && *after != '#')
				return ini_fail(
				    line,
				    "unexpected text after section header",
				    err_line, err, errlen);
			const char *nb = b + 1, *ne = close;
			ini_trim(&nb, &ne);
			if (nb == ne)
				return ini_fail(line, "empty section name",
				                err_line, err, errlen);
			if (!ini_is_name(nb, (size_t)(ne - nb)))
				return ini_fail(line,
				                "bad character in section name",
				                err_line, err, errlen);
			ini_copy(section, nb, ne);
			rc = cb(arg, line, section, NULL, NULL);
		} else {
			const char *eq = memchr(b, '=', (size_t)(e - b));
			if (!eq)
				return ini_fail(
				    line,
				    "expected 'key = value' or '[section]'",
				    err_line, err, errlen);
			const char *kb = b, *ke = eq;
			ini_trim(&kb, &ke);
			if (kb == ke)
				return ini_fail(line, "missing key before '='",
				                err_line, err, errlen);
			if (!ini_is_name(kb, (size_t)(ke - kb)))
				return ini_fail(line, "bad character in key",
				                err_line, err, errlen);
			const char *vb = eq + 1, *ve = e;
			ve = ini_comment(vb, ve);
			ini_trim(&vb, &ve);
			ini_copy(key, kb, ke);
			ini_copy(value, vb, ve);
			rc = cb(arg, line, section, key, value);
		}
		if (rc != 0) {
			if (err_line)
				*err_line = line;
			return rc;
		}
	}
	return 0;
}
