/* The TLS client side (tls.h, "TLS client"): configurations for outbound
 * SMTP. Sessions are tls.c's memory-BIO tls_conn; only the configuration
 * and the per-session name and verification settings live here. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_int.h"

struct tls_client {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	bool have_ca;
	/* RFC 7435 opportunistic: VERIFY_OPTIONAL, so the handshake goes on
	 * whatever the certificate, and the result is still known (logs). */
	mbedtls_ssl_config opportunistic;
	/* VERIFY_REQUIRED against ca: smarthosts (credentials go there). */
	mbedtls_ssl_config verified;
};

static int client_conf(struct tls_client *tcl, mbedtls_ssl_config *conf,
                       int authmode)
{
	int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
	                                     MBEDTLS_SSL_TRANSPORT_STREAM,
	                                     MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0)
		return rc;
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &tcl->drbg);
	/* TLS 1.2 at least, as for our server: RFC 8996 retires 1.0/1.1. */
	compat_conf_versions(conf);
	compat_conf_groups(conf);
	mbedtls_ssl_conf_authmode(conf, authmode);
	if (tcl->have_ca)
		mbedtls_ssl_conf_ca_chain(conf, &tcl->ca, NULL);
	return 0;
}

struct tls_client *tls_client_new(const char *ca_file, char *err,
                                  size_t errlen)
{
	if (compat_crypto_init() != 0) {
		snprintf(err, errlen, "psa_crypto_init failed");
		return NULL;
	}
	struct tls_client *tcl = calloc(1, sizeof *tcl);
	if (!tcl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_entropy_init(&tcl->entropy);
	mbedtls_ctr_drbg_init(&tcl->drbg);
	mbedtls_x509_crt_init(&tcl->ca);
	mbedtls_ssl_config_init(&tcl->opportunistic);
	mbedtls_ssl_config_init(&tcl->verified);
	static const char pers[] = "postlite-client";
	int rc = mbedtls_ctr_drbg_seed(&tcl->drbg, mbedtls_entropy_func,
	                               &tcl->entropy,
	                               (const unsigned char *)pers,
	                               sizeof pers - 1);
	if (rc != 0) {
		snprintf(err, errlen, "client DRBG seed failed (-0x%04x)",
		         (unsigned)-rc);
		tls_client_free(tcl);
		return NULL;
	}
	/* A bundle with a few unparsable entries still loads the rest
	 * (positive return); only a total failure leaves us without CAs. */
	if (ca_file && mbedtls_x509_crt_parse_file(&tcl->ca, ca_file) >= 0 &&
	    tcl->ca.version != 0)
		tcl->have_ca = true;
	if ((rc = client_conf(tcl, &tcl->opportunistic,
	                      MBEDTLS_SSL_VERIFY_OPTIONAL)) != 0 ||
	    (rc = client_conf(tcl, &tcl->verified,
	                      MBEDTLS_SSL_VERIFY_REQUIRED)) != 0) {
		snprintf(err, errlen, "client TLS defaults failed (-0x%04x)",
		         (unsigned)-rc);
		tls_client_free(tcl);
		return NULL;
	}
	return tcl;
}

void tls_client_free(struct tls_client *tcl)
{
	if (!tcl)
		return;
	mbedtls_ssl_config_free(&tcl->opportunistic);
	mbedtls_ssl_config_free(&tcl->verified);
	mbedtls_x509_crt_free(&tcl->ca);
	mbedtls_ctr_drbg_free(&tcl->drbg);
	mbedtls_entropy_free(&tcl->entropy);
	free(tcl);
}

/* RFC 6066 3: SNI carries host names only, never address literals. */
static bool is_address(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

struct tls_conn *tls_client_conn_new(struct tls_client *tcl, const char *host,
                                     bool verify, struct buf *out)
{
	struct tls_conn *tc = tls_conn_new_conf(
		verify ? &tcl->verified : &tcl->opportunistic, out);
	if (!tc)
		return NULL;
	/* mbedTLS checks the certificate against this name, and (3.6)
	 * refuses a verified handshake without one. An address is checked
	 * against the certificate's IP entries on 3.x; 2.28 then only
	 * compares names, so a verified smarthost should be named. */
	if (host && host[0] && (!is_address(host) || verify) &&
	    mbedtls_ssl_set_hostname(tls_conn_ssl(tc), host) != 0) {
		tls_conn_free(tc);
		return NULL;
	}
	return tc;
}

bool tls_conn_peer_verified(struct tls_conn *tc)
{
	return mbedtls_ssl_get_verify_result(tls_conn_ssl(tc)) == 0;
}
