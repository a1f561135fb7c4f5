/* DKIM's cryptography (tls_rsa.h) over mbedTLS. */
#include "tls_rsa.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#include "base64.h"
#include "tls_compat.h"

struct tls_sha256 {
	mbedtls_md_context_t md;
};

struct tls_rsa_key {
	mbedtls_pk_context pk;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg; /* RSA blinding */
};

/* The generic md interface is the same on 2.28 and 3.6 (the sha256_*
 * calls are not), so no shim is needed here. */
struct tls_sha256 *tls_sha256_new(void)
{
	struct tls_sha256 *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	mbedtls_md_init(&h->md);
	if (mbedtls_md_setup(&h->md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	                     0) != 0 ||
	    mbedtls_md_starts(&h->md) != 0) {
		tls_sha256_free(h);
		return NULL;
	}
	return h;
}

void tls_sha256_update(struct tls_sha256 *h, const void *p, size_t n)
{
	if (n)
		mbedtls_md_update(&h->md, p, n);
}

void tls_sha256_final(struct tls_sha256 *h, uint8_t out[TLS_SHA256_LEN])
{
	mbedtls_md_finish(&h->md, out);
	mbedtls_md_starts(&h->md);
}

void tls_sha256_free(struct tls_sha256 *h)
{
	if (!h)
		return;
	mbedtls_md_free(&h->md);
	free(h);
}

static int seed(struct tls_rsa_key *k)
{
	static const char pers[] = "postlite-dkim";
	mbedtls_entropy_init(&k->entropy);
	mbedtls_ctr_drbg_init(&k->drbg);
	mbedtls_pk_init(&k->pk);
	if (compat_crypto_init() != 0)
		return -1;
	return mbedtls_ctr_drbg_seed(&k->drbg, mbedtls_entropy_func,
	                             &k->entropy, (const unsigned char *)pers,
	                             sizeof pers - 1) == 0 ? 0 : -1;
}

void tls_rsa_key_free(struct tls_rsa_key *k)
{
	if (!k)
		return;
	mbedtls_pk_free(&k->pk);
	mbedtls_ctr_drbg_free(&k->drbg);
	mbedtls_entropy_free(&k->entropy);
	free(k);
}

int tls_rsa_keygen(const char *path, unsigned bits, char *err, size_t errlen)
{
	struct tls_rsa_key *k = calloc(1, sizeof *k);
	unsigned char pem[8192];
	int rc = -1;
	if (!k || seed(k) != 0) {
		snprintf(err, errlen, "cannot seed the random generator");
		goto out;
	}
	if (mbedtls_pk_setup(&k->pk,
	                     mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0 ||
	    mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), mbedtls_ctr_drbg_random,
	                        &k->drbg, bits, 65537) != 0 ||
	    mbedtls_pk_write_key_pem(&k->pk, pem, sizeof pem) != 0) {
		snprintf(err, errlen, "RSA key generation failed");
		goto out;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	              0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
		         errno == EEXIST ? "exists" : strerror(errno));
		goto out;
	}
	size_t n = strlen((char *)pem);
	if (write(fd, pem, n) != (ssize_t)n || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	mbedtls_platform_zeroize(pem, sizeof pem);
	tls_rsa_key_free(k);
	return rc;
}

struct tls_rsa_key *tls_rsa_key_load(const char *path, char *err,
                                     size_t errlen)
{
	struct tls_rsa_key *k = calloc(1, sizeof *k);
	if (!k || seed(k) != 0) {
		snprintf(err, errlen, "cannot seed the random generator");
		tls_rsa_key_free(k);
		return NULL;
	}
	int rc = compat_pk_parse_keyfile(&k->pk, path, &k->drbg);
	if (rc != 0 || mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_RSA) {
		char e[128];
		if (rc)
			mbedtls_strerror(rc, e, sizeof e);
		snprintf(err, errlen, "%s: %s", path, rc ? e : "not an RSA key");
		tls_rsa_key_free(k);
		return NULL;
	}
	return k;
}

int tls_rsa_sign_sha256(struct tls_rsa_key *k,
                        const uint8_t digest[TLS_SHA256_LEN], uint8_t *sig,
                        size_t sigsz, size_t *siglen)
{
	if (sigsz < mbedtls_pk_get_len(&k->pk))
		return -1;
	return compat_pk_sign(&k->pk, MBEDTLS_MD_SHA256, digest,
	                      TLS_SHA256_LEN, sig, sigsz, siglen,
	                      &k->drbg) == 0 ? 0 : -1;
}

int tls_rsa_key_public_b64(struct tls_rsa_key *k, char *out, size_t outsz)
{
	unsigned char der[2048];
	/* The DER is written at the end of the buffer. */
	int n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof der);
	if (n <= 0)
		return -1;
	return base64_encode(der + sizeof der - n, (size_t)n, out, outsz) ? 0
	                                                                  : -1;
}
