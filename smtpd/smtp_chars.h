/* Character classes and comparisons shared by the pure SMTP parsers
 * (smtp_parse.c, smtp_parse_addr.c). ASCII only, locale-free. */
#ifndef POSTLITE_SMTP_CHARS_H
#define POSTLITE_SMTP_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline int smtp_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static inline bool smtp_eq_nocase(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (smtp_lower((unsigned char)p[i]) != smtp_lower((unsigned char)lit[i]))
			return false;
	return true;
}

static inline bool smtp_is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool smtp_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool smtp_is_blank(int c)
{
	return c == ' ' || c == '\t';
}

#endif
