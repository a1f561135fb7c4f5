/* A self-signed certificate for first runs (`postlite init`), made with
 * mbedTLS so that no openssl binary is needed on the appliance. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/oid.h>

#include "tls.h"
#include "tls_compat.h"

/* DER length octets; returns how many were written. */
static size_t der_len(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	if (n < 256) {
		p[0] = 0x81;
		p[1] = (unsigned char)n;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (unsigned char)(n >> 8);
	p[2] = (unsigned char)n;
	return 3;
}

/* subjectAltName = SEQUENCE { [2] IA5String dNSName } (RFC 5280 4.2.1.6);
 * modern clients match names only here, never in the CN. */
static size_t san_dns(const char *name, unsigned char *out, size_t outsz)
{
	size_t n = strlen(name);
	unsigned char inner[8];
	size_t il = der_len(inner, n);
	size_t body = 1 + il + n;
	unsigned char outer[8];
	size_t ol = der_len(outer, body);
	if (1 + ol + body > outsz)
		return 0;
	size_t o = 0;
	out[o++] = 0x30;
	memcpy(out + o, outer, ol);
	o += ol;
	out[o++] = 0x82;
	memcpy(out + o, inner, il);
	o += il;
	memcpy(out + o, name, n);
	return o + n;
}

static int write_file(const char *path, const unsigned char *p, size_t n,
                      mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int tls_make_selfsigned(const char *hostname, unsigned days,
                        const char *cert_path, const char *key_path,
                        char *err, size_t errlen)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_x509write_cert crt;
	unsigned char pem[8192];
	unsigned char san[300];
	char subject[300];
	int rc = -1, mrc;

	if (compat_crypto_init() != 0) {
		snprintf(err, errlen, "psa_crypto_init failed");
		return -1;
	}
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&crt);

	size_t sanlen = san_dns(hostname, san, sizeof san);
	int sn = snprintf(subject, sizeof subject, "CN=%s", hostname);
	if (sanlen == 0 || sn < 0 || (size_t)sn >= sizeof subject) {
		snprintf(err, errlen, "host name too long for a certificate");
		goto out;
	}
	static const char pers[] = "postlite-selfsigned";
	unsigned char serial[16];
	time_t now = time(NULL);
	time_t until = now + (time_t)days * 86400;
	char from[16], to[16];
	struct tm tm;
	/* Valid from a day ago: clocks of clients are not all right. */
	time_t since = now - 86400;
	strftime(from, sizeof from, "%Y%m%d%H%M%S", gmtime_r(&since, &tm));
	strftime(to, sizeof to, "%Y%m%d%H%M%S", gmtime_r(&until, &tm));

	if ((mrc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	                                 (const unsigned char *)pers,
	                                 sizeof pers - 1)) != 0 ||
	    (mrc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(
	                                     MBEDTLS_PK_ECKEY))) != 0 ||
	    (mrc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
	                               mbedtls_pk_ec(pk),
	                               mbedtls_ctr_drbg_random, &drbg)) != 0 ||
	    (mrc = mbedtls_ctr_drbg_random(&drbg, serial, sizeof serial)) != 0)
		goto mbed_fail;
	serial[0] &= 0x7f; /* a positive INTEGER */
	serial[0] |= 0x01; /* and not a shorter one */

	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, &pk);
	if ((mrc = compat_crt_set_serial(&crt, serial, sizeof serial)) != 0 ||
	    (mrc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
	    (mrc = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
	    (mrc = mbedtls_x509write_crt_set_validity(&crt, from, to)) != 0 ||
	    (mrc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) !=
	            0 ||
	    (mrc = mbedtls_x509write_crt_set_extension(
	             &crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
	             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san,
	             sanlen)) != 0)
		goto mbed_fail;

	/* The key first, private to its owner; the certificate is public. */
	if ((mrc = mbedtls_pk_write_key_pem(&pk, pem, sizeof pem)) != 0)
		goto mbed_fail;
	if (write_file(key_path, pem, strlen((char *)pem), 0600, err,
	               errlen) != 0)
		goto out;
	if ((mrc = mbedtls_x509write_crt_pem(&crt, pem, sizeof pem,
	                                     mbedtls_ctr_drbg_random,
	                                     &drbg)) != 0) {
		unlink(key_path);
		goto mbed_fail;
	}
	if (write_file(cert_path, pem, strlen((char *)pem), 0644, err,
	               errlen) != 0) {
		unlink(key_path);
		goto out;
	}
	rc = 0;
	goto out;
mbed_fail:
	mbedtls_strerror(mrc, (char *)pem, sizeof pem);
	snprintf(err, errlen, "self-signed certificate: %s", (char *)pem);
out:
	explicit_bzero(pem, sizeof pem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return rc;
}
