/* Address normalisation for the store's directory (store.h). Backend-
 * neutral and pure: every backend keys users and domains by its output. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "store.h"

/* RFC 5321 4.5.3.1.1-2 */
#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_LABEL_MAX 63

static char addr_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 5322 3.2.3 atext, plus UTF-8 bytes (RFC 6531 3.3). */
static bool addr_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A dot-atom local part: atoms of atext joined by single dots. Quoted
 * local parts are refused: no mailbox here is named that way. */
static bool addr_local_ok(const char *p, size_t n)
{
	if (n == 0 || n > ADDR_LOCAL_MAX || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (p[i + 1] == '.')
				return false;
		} else if (!addr_atext((unsigned char)p[i])) {
			return false;
		}
	}
	return true;
}

/* LDH labels (RFC 1035 2.3.1, RFC 1123 2.1: may start with a digit);
 * n excludes any trailing dot. */
static bool addr_domain_ok(const char *p, size_t n)
{
	if (n == 0 || n > ADDR_DOMAIN_MAX - 2)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? p[i] : '.';
		if (c == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-') {
			if (label == 0 && c == '-')
				return false;
			if (++label > ADDR_LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* RFC 5321 4.1.3 address literal, checked loosely ("[" printable "]"):
 * no such domain is ever local, so it only has to be harmless. */
static bool addr_literal_ok(const char *p, size_t n)
{
	if (n < 3 || n > ADDR_DOMAIN_MAX || p[0] != '[' || p[n - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x21 || c > 0x7e || c == '[' || c == ']' || c == '\\')
			return false;
	}
	return true;
}

/* Copies n bytes lowered; out has room (checked by the callers). */
static void addr_copy_lower(char *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = addr_lower(p[i]);
}

int store_domain_normalize(const char *in, char *out, size_t outlen)
{
	size_t n = strnlen(in, ADDR_DOMAIN_MAX + 1);
	if (n > 0 && in[n - 1] == '.')
		n--; /* the root: "example.org." is example.org */
	if (!addr_domain_ok(in, n) || n + 1 > outlen)
		return -1;
	addr_copy_lower(out, in, n);
	out[n] = '\0';
	return 0;
}

int store_address_normalize(const char *in, char *out, size_t outlen,
                            size_t *domain_at)
{
	size_t len = strnlen(in, STORE_ADDRESS_MAX);
	if (len >= STORE_ADDRESS_MAX)
		return -1;
	const char *at = strrchr(in, '@');
	if (!at) {
		/* RFC 5321 4.5.1: "Postmaster" without a domain, any case. */
		if (strcasecmp(in, "postmaster") != 0 || outlen <= len)
			return -1;
		addr_copy_lower(out, in, len + 1);
		*domain_at = 0;
		return 0;
	}
	size_t nlocal = (size_t)(at - in);
	const char *dom = at + 1;
	size_t ndom = len - nlocal - 1;
	if (!addr_local_ok(in, nlocal))
		return -1;
	if (ndom > 0 && dom[0] == '[') {
		if (!addr_literal_ok(dom, ndom))
			return -1;
	} else {
		if (ndom > 0 && dom[ndom - 1] == '.')
			ndom--;
		if (!addr_domain_ok(dom, ndom))
			return -1;
	}
	/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its "<>". */
	if (nlocal + 1 + ndom > STORE_ADDRESS_MAX - 2 ||
	    nlocal + 1 + ndom + 1 > outlen)
		return -1;
	addr_copy_lower(out, in, nlocal + 1);
	addr_copy_lower(out + nlocal + 1, dom, ndom);
	out[nlocal + 1 + ndom] = '\0';
	*domain_at = nlocal + 1;
	return 0;
}
