/* The one place where mbedTLS 2.28 (Debian 12) and 3.6 (Debian 13, Raspberry
 * Pi OS) differ for postlite. Included only by tls.c. */
#ifndef POSTLITE_TLS_COMPAT_H
#define POSTLITE_TLS_COMPAT_H

/* version.h pulls in the right configuration header on both lines; never
 * include mbedtls/config.h directly (with 3.x headers it silently falls
 * back to a system 2.28 copy). */
#include <mbedtls/version.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/ecp.h>
#include <mbedtls/ecdsa.h>

#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h>
#define TLS_COMPAT_V3 1
#else
#define TLS_COMPAT_V3 0
#endif

static inline int compat_crypto_init(void)
{
#if TLS_COMPAT_V3
	/* 3.6.0 fails TLS 1.3 handshakes without it. */
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
#else
	return 0;
#endif
}

static inline int compat_pk_parse_keyfile(mbedtls_pk_context *pk,
                                          const char *path,
                                          mbedtls_ctr_drbg_context *drbg)
{
#if TLS_COMPAT_V3
	return mbedtls_pk_parse_keyfile(pk, path, NULL, mbedtls_ctr_drbg_random,
	                                drbg);
#else
	(void)drbg;
	return mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
}

static inline int compat_pk_check_pair(const mbedtls_pk_context *pub,
                                       const mbedtls_pk_context *prv,
                                       mbedtls_ctr_drbg_context *drbg)
{
#if TLS_COMPAT_V3
	return mbedtls_pk_check_pair(pub, prv, mbedtls_ctr_drbg_random, drbg);
#else
	(void)drbg;
	return mbedtls_pk_check_pair(pub, prv);
#endif
}

/* The public key of the leaf certificate (a public field on both). */
static inline mbedtls_pk_context *compat_crt_pk(mbedtls_x509_crt *crt)
{
	return &crt->pk;
}

/* TLS 1.2 minimum always: Debian's 2.28 would otherwise accept 1.0/1.1. */
static inline void compat_conf_versions(mbedtls_ssl_config *conf)
{
#if TLS_COMPAT_V3
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

/* X25519 first, then P-256 (P-521, 2.28's default pick against OpenSSL,
 * costs twice the CPU), then P-384 for old clients. */
static inline void compat_conf_groups(mbedtls_ssl_config *conf)
{
#if TLS_COMPAT_V3
	static const uint16_t groups[] = {
		MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
		MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
		MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1,
		MBEDTLS_SSL_IANA_TLS_GROUP_NONE,
	};
	mbedtls_ssl_conf_groups(conf, groups);
#else
	static const mbedtls_ecp_group_id curves[] = {
		MBEDTLS_ECP_DP_CURVE25519,
		MBEDTLS_ECP_DP_SECP256R1,
		MBEDTLS_ECP_DP_SECP384R1,
		MBEDTLS_ECP_DP_NONE,
	};
	mbedtls_ssl_conf_curves(conf, curves);
#endif
}

/* 2.28 signs with an EC key (type ECKEY) through a fresh copy of the key
 * (pk_wrap.c: eckey_sign_wrap), so the comb table of the fixed point is
 * recomputed at every signature: 0.58 ms per P-256 signature here, most
 * of a handshake's ECDSA cost. The same key as an ECDSA context signs
 * with its own group, which keeps the table after the first signature:
 * 0.27 ms (bench/TLS-MEMORY.md). The table is written into the key at
 * the first signature: sign from one thread only (the loop). 3.6 has
 * static tables for the NIST curves (0.21 ms either way): a no-op there.
 * Returns 0 (pk now an ECDSA context, or left as it was when it is not
 * an EC key) or an mbedTLS error (pk unchanged). */
static inline int compat_pk_ecdsa_keep_table(mbedtls_pk_context *pk)
{
#if TLS_COMPAT_V3
	(void)pk;
	return 0;
#else
	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
		return 0;
	mbedtls_pk_context e;
	mbedtls_pk_init(&e);
	int rc = mbedtls_pk_setup(&e,
	                          mbedtls_pk_info_from_type(MBEDTLS_PK_ECDSA));
	if (rc == 0)
		rc = mbedtls_ecdsa_from_keypair(mbedtls_pk_ec(e),
		                                mbedtls_pk_ec(*pk));
	if (rc != 0) {
		mbedtls_pk_free(&e);
		return rc;
	}
	mbedtls_pk_free(pk);
	*pk = e; /* the context is two pointers: ownership moves */
	return 0;
#endif
}

/* A certificate serial number from raw big-endian bytes (3.x deprecates
 * the MPI setter). */
static inline int compat_crt_set_serial(mbedtls_x509write_cert *crt,
                                        const unsigned char *p, size_t n)
{
#if TLS_COMPAT_V3
	return mbedtls_x509write_crt_set_serial_raw(crt, (unsigned char *)p, n);
#else
	mbedtls_mpi serial;
	mbedtls_mpi_init(&serial);
	int rc = mbedtls_mpi_read_binary(&serial, p, n);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_serial(crt, &serial);
	mbedtls_mpi_free(&serial);
	return rc;
#endif
}


/* ---- added for the TLS client and DKIM (issue 9) ---- */

/* A signature of a digest with the key's own scheme (PKCS#1 v1.5 for RSA);
 * 3.x takes the size of sig. */
static inline int compat_pk_sign(mbedtls_pk_context *pk, mbedtls_md_type_t md,
                                 const unsigned char *hash, size_t hlen,
                                 unsigned char *sig, size_t sigsz,
                                 size_t *siglen,
                                 mbedtls_ctr_drbg_context *drbg)
{
#if TLS_COMPAT_V3
	return mbedtls_pk_sign(pk, md, hash, hlen, sig, sigsz, siglen,
	                       mbedtls_ctr_drbg_random, drbg);
#else
	(void)sigsz;
	return mbedtls_pk_sign(pk, md, hash, hlen, sig, siglen,
	                       mbedtls_ctr_drbg_random, drbg);
#endif
}

/* Parses a private key held in memory (NUL included in n for PEM). */
static inline int compat_pk_parse_key(mbedtls_pk_context *pk,
                                      const unsigned char *p, size_t n,
                                      mbedtls_ctr_drbg_context *drbg)
{
#if TLS_COMPAT_V3
	return mbedtls_pk_parse_key(pk, p, n, NULL, 0, mbedtls_ctr_drbg_random,
	                            drbg);
#else
	(void)drbg;
	return mbedtls_pk_parse_key(pk, p, n, NULL, 0);
#endif
}

#endif
