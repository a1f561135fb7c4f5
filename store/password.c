#include "password.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(PASSWORD_HASH_MAX >= CRYPT_OUTPUT_SIZE,
               "PASSWORD_HASH_MAX below libxcrypt's CRYPT_OUTPUT_SIZE");

/* A yescrypt hash at the default cost (the cost password_hash uses), of a
 * password nobody knows; checked for unknown users so they cost the same. */
static const char password_dummy_hash[] =
	"$y$j9T$KnNjTTFecjRz35qONYqPN1$"
	"vZZH2gX2bybcbFD6l1K3mvQamsjiBTwBi8owUQtSr23";

bool password_acceptable(const char *pw)
{
	if (!pw || !pw[0])
		return false;
	size_t n = strnlen(pw, PASSWORD_MAX + 1);
	if (n > PASSWORD_MAX)
		return false;
	return strpbrk(pw, "\r\n") == NULL;
}

/* Compares a NUL-terminated computed hash with the stored one without
 * stopping at the first difference. The lengths are compared openly: the
 * length of a hash is implied by its (public) method prefix anyway. */
static bool password_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na != nb)
		return false;
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < na; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

int password_hash(const char *pw, char *out, size_t outlen)
{
	if (!password_acceptable(pw)) {
		errno = EINVAL;
		return -1;
	}
	if (outlen < PASSWORD_HASH_MAX) {
		errno = ERANGE;
		return -1;
	}
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	/* count 0 = libxcrypt's default cost; NULL rbytes = it reads the
	 * OS random source itself. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
		return -1;
	struct crypt_data *cd = calloc(1, sizeof *cd); /* 32 KiB: not on a stack */
	if (!cd)
		return -1;
	int rc = -1;
	const char *h = crypt_rn(pw, salt, cd, sizeof *cd);
	if (h && h[0] != '*') {
		size_t n = strlen(h);
		if (n < outlen) {
			memcpy(out, h, n + 1);
			rc = 0;
		} else {
			errno = ERANGE;
		}
	} else if (errno == 0) {
		errno = EINVAL;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return rc;
}

static bool password_check(const char *pw, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return false;
	const char *h = crypt_rn(pw, hash, cd, sizeof *cd);
	bool ok = h && h[0] != '*' && password_equal(h, hash);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* A stored hash we refuse outright: empty, or a locked account the way
 * shadow(5) marks it ("!" or "*" prefix; libxcrypt's failure tokens also
 * start with "*"). */
static bool password_hash_usable(const char *hash)
{
	return hash && hash[0] && hash[0] != '!' && hash[0] != '*';
}

bool password_verify(const char *pw, const char *hash)
{
	if (!password_acceptable(pw) || !password_hash_usable(hash)) {
		password_dummy_verify(pw ? pw : "");
		return false;
	}
	return password_check(pw, hash);
}

void password_dummy_verify(const char *pw)
{
	/* A too-long pw is cut to PASSWORD_MAX so the dummy cost stays
	 * bounded too; yescrypt's cost hardly depends on the length. */
	char buf[PASSWORD_MAX + 1];
	size_t n = pw ? strnlen(pw, PASSWORD_MAX) : 0;
	if (n)
		memcpy(buf, pw, n);
	buf[n] = '\0';
	(void)password_check(buf, password_dummy_hash);
	explicit_bzero(buf, sizeof buf);
}

/* The cost fields of a yescrypt setting, "$y$" flags N r "$": libxcrypt
 * encodes each as one or more base-64 digits; a longer or larger field
 * is a higher value (the order of "./0-9A-Za-z"). */
static int password_b64(char c)
{
	static const char digits[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *p = c ? strchr(digits, c) : NULL;
	return p ? (int)(p - digits) : -1;
}

bool password_needs_rehash(const char *hash)
{
	if (!hash || strncmp(hash, "$y$", 3) != 0)
		return true;
	char def[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, def, sizeof def))
		return false; /* cannot tell: leave it */
	/* Compare "flags N r" (the part before the salt's '$'). */
	const char *a = hash + 3, *b = def + 3;
	size_t na = strcspn(a, "$"), nb = strcspn(b, "$");
	if (na != nb)
		return na < nb;
	for (size_t i = 0; i < na; i++)
		if (a[i] != b[i])
			return password_b64(a[i]) < password_b64(b[i]);
	return false;
}

int password_hash_import(const char *in, char *out, size_t outlen)
{
	static const char *const schemes[] = {
		"{CRYPT}", "{BLF-CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}",
		"{MD5-CRYPT}",
	};
	if (!in || outlen < PASSWORD_HASH_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (in[0] == '{') {
		size_t i;
		for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
			size_t n = strlen(schemes[i]);
			if (strncasecmp(in, schemes[i], n) == 0) {
				in += n;
				break;
			}
		}
		if (i == sizeof schemes / sizeof schemes[0]) {
			errno = EINVAL;
			return -1;
		}
	}
	size_t n = strlen(in);
	if (n == 0 || n >= PASSWORD_HASH_MAX || !password_hash_usable(in) ||
	    strpbrk(in, " \t\r\n:")) {
		errno = EINVAL;
		return -1;
	}
	/* libxcrypt hashes a probe with it as the setting: a failure token
	 * ("*0"/"*1") or NULL means it does not know the method. */
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return -1;
	const char *h = crypt_rn("probe", in, cd, sizeof *cd);
	bool ok = h && h[0] != '*';
	free(cd);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	memcpy(out, in, n + 1);
	return 0;
}
