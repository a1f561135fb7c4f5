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
	/* The CAs are parsed at the first session, not at start: the
	 * system bundle costs ~1.2 MiB of heap and ~54 M instructions, and
	 * a daemon that never sends mail over TLS never needs them
	 * (bench/TLS-MEMORY.md). */
	char *ca_file;   /* NULL: none */
	bool ca_tried;   /* one attempt, as when it was loaded at start */
	mbedtls_x509_crt ca;
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
	return 0;
}

/* Parses the CA file once, on the loop thread, before the first session
 * of either kind starts: opportunistic sessions check the chain too (the
 * log says whether it verified), so both configurations get it while no
 * session uses them yet. A bundle with a few unparsable entries still
 * loads the rest (positive return); a total failure leaves no CA chain,
 * and verified sessions then fail their handshake. */
static void client_load_ca(struct tls_client *tcl)
{
	if (tcl->ca_tried)
		return;
	tcl->ca_tried = true;
	if (!tcl->ca_file ||
	    mbedtls_x509_crt_parse_file(&tcl->ca, tcl->ca_file) < 0 ||
	    tcl->ca.version == 0)
		return;
	mbedtls_ssl_conf_ca_chain(&tcl->opportunistic, &tcl->ca, NULL);
	mbedtls_ssl_conf_ca_chain(&tcl->verified, &tcl->ca, NULL);
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
	if (ca_file && !(tcl->ca_file = strdup(ca_file))) {
		snprintf(err, errlen, "out of memory");
		tls_client_free(tcl);
		return NULL;
	}
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
	free(tcl->ca_file);
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
	client_load_ca(tcl);
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
