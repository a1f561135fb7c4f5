#include "password.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
