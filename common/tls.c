#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "tls_int.h"

/* A cipher-in bound: two maximal records plus headers. */
#define TLS_IN_MAX (2 * (16384 + 2048))
/* Plaintext held back to fill a record: at most TLS's maximum record
 * payload (RFC 8446 5.1, RFC 5246 6.2.1); record_room says how much. */
#define TLS_RECORD_MAX 16384

/* AEAD suites only, in the server's order of preference (a TLS 1.2
 * mbedTLS server picks by its own list). ChaCha20-Poly1305 first: mbedTLS runs AES-GCM
 * sixteen bytes per call even with AES-NI, and ChaCha20-Poly1305 costs
 * 2.0 ms per MiB against AES-128-GCM's 3.4-3.7 on 2.28 (1.7 against 2.6
 * on 3.6) here, and far less on a Raspberry Pi without AES instructions;
 * a client without it still gets AES-GCM (bench/PROFILE.md 7). */
static const int tls_ciphersuites[] = {
#ifdef MBEDTLS_SSL_PROTO_TLS1_3
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
#endif
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};

/* One loaded certificate + key + ssl_config. Connections hold a reference,
 * so a reload never pulls a configuration out from under a live session. */
struct tls_cfg {
	unsigned refs;
	mbedtls_ssl_config conf;
	size_t n; /* pairs; [0] is the default */
	mbedtls_x509_crt chain[CONFIG_MAX_CERTS];
	mbedtls_pk_context key[CONFIG_MAX_CERTS];
};

struct tls_server {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	/* Ticket keys outlive certificate reloads, so resumption survives a
	 * certbot renewal. */
	mbedtls_ssl_ticket_context ticket;
	const char *alpn[2]; /* the daemon's protocol, NULL-terminated */
	struct tls_cfg *cur;
};

struct tls_conn {
	mbedtls_ssl_context ssl;
	struct tls_cfg *cfg;
	struct buf in;   /* ciphertext received, not yet used by mbedTLS */
	struct buf *out; /* ciphertext to send (the I/O layer's buffer) */
	struct buf plain; /* plaintext written, not yet sealed into a record */
	int last_err;
	char desc[96];
	char err[96];
};

static void errtext(int rc, char *err, size_t errlen)
{
	mbedtls_strerror(rc, err, errlen);
	size_t n = strlen(err);
	if (n + 12 < errlen)
		snprintf(err + n, errlen - n, " (-0x%04x)", (unsigned)-rc);
}

struct tls_server *tls_server_new(char *err, size_t errlen)
{
	if (compat_crypto_init() != 0) {
		snprintf(err, errlen, "psa_crypto_init failed");
		return NULL;
	}
	struct tls_server *ts = calloc(1, sizeof *ts);
	if (!ts) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_entropy_init(&ts->entropy);
	mbedtls_ctr_drbg_init(&ts->drbg);
	mbedtls_ssl_ticket_init(&ts->ticket);
	static const char pers[] = "postlite";
	int rc = mbedtls_ctr_drbg_seed(&ts->drbg, mbedtls_entropy_func,
	                               &ts->entropy,
	                               (const unsigned char *)pers,
	                               sizeof pers - 1);
	if (rc != 0) {
		char e[160];
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "DRBG seed: %s", e);
		tls_server_free(ts);
		return NULL;
	}
	/* Tickets live 12 hours; the key rotates with the lifetime. */
	rc = mbedtls_ssl_ticket_setup(&ts->ticket, mbedtls_ctr_drbg_random,
	                              &ts->drbg, MBEDTLS_CIPHER_AES_256_GCM,
	                              12 * 3600);
	if (rc != 0) {
		char e[160];
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "session tickets: %s", e);
		tls_server_free(ts);
		return NULL;
	}
	return ts;
}

void tls_server_set_alpn(struct tls_server *ts, const char *proto)
{
	ts->alpn[0] = proto;
	ts->alpn[1] = NULL;
}

static void cfg_unref(struct tls_cfg *c)
{
	if (!c || --c->refs > 0)
		return;
	mbedtls_ssl_config_free(&c->conf);
	for (size_t i = 0; i < CONFIG_MAX_CERTS; i++) {
		mbedtls_x509_crt_free(&c->chain[i]);
		mbedtls_pk_free(&c->key[i]);
	}
	free(c);
}

/* RFC 6125 6.4: a DNS name from a certificate matches the requested name
 * exactly (case-insensitively) or as "*.rest" for exactly one label. */
static bool name_matches(const unsigned char *p, size_t n, const char *want,
                         size_t wn)
{
	if (n == wn && strncasecmp((const char *)p, want, n) == 0)
		return true;
	if (n > 2 && p[0] == '*' && p[1] == '.') {
		const char *dot = memchr(want, '.', wn);
		size_t rest = dot ? wn - (size_t)(dot - want) : 0;
		return dot && dot != want && rest == n - 1 &&
		       strncasecmp(dot, (const char *)p + 1, rest) == 0;
	}
	return false;
}

static bool crt_serves(const mbedtls_x509_crt *crt, const char *name,
                       size_t n)
{
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names;
	     s && s->buf.p; s = s->next) {
		/* [2] dNSName, context-specific and primitive */
		if ((s->buf.tag & 0x1f) == 2 &&
		    name_matches(s->buf.p, s->buf.len, name, n))
			return true;
	}
	return false;
}

/* SNI (RFC 6066 3): pick the pair whose certificate names the host the
 * client asked for; the default pair serves everything else. */
static int sni_select(void *arg, mbedtls_ssl_context *ssl,
                      const unsigned char *name, size_t n)
{
	struct tls_cfg *c = arg;
	char want[256];
	if (n == 0 || n >= sizeof want)
		return 0;
	memcpy(want, name, n);
	want[n] = '\0';
	for (size_t i = 1; i < c->n; i++)
		if (crt_serves(&c->chain[i], want, n))
			return mbedtls_ssl_set_hs_own_cert(ssl, &c->chain[i],
			                                   &c->key[i]);
	return 0;
}

/* Loads pair i of the lists into c. */
static int load_pair(struct tls_server *ts, struct tls_cfg *c, size_t i,
                     const char *certs, const char *keys, char *err,
                     size_t errlen)
{
	char cert[4096], key[4096], e[160];
	if (config_path_at(certs, i, cert, sizeof cert) != 0 ||
	    config_path_at(keys, i, key, sizeof key) != 0) {
		snprintf(err, errlen, "certificate and key lists do not pair up");
		return -1;
	}
	int rc = mbedtls_x509_crt_parse_file(&c->chain[i], cert);
	if (rc != 0) {
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "certificate %s: %s", cert, e);
		return -1;
	}
	rc = compat_pk_parse_keyfile(&c->key[i], key, &ts->drbg);
	if (rc != 0) {
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "key %s: %s", key, e);
		return -1;
	}
	if (compat_pk_check_pair(compat_crt_pk(&c->chain[i]), &c->key[i],
	                         &ts->drbg) != 0) {
		snprintf(err, errlen, "key %s does not match certificate %s",
		         key, cert);
		return -1;
	}
	/* Halves the ECDSA signature of every full handshake on 2.28. */
	rc = compat_pk_ecdsa_keep_table(&c->key[i]);
	if (rc != 0) {
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "key %s: %s", key, e);
		return -1;
	}
	return 0;
}

int tls_server_load(struct tls_server *ts, const char *cert, const char *key,
                    char *err, size_t errlen)
{
	struct tls_cfg *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->refs = 1;
	mbedtls_ssl_config_init(&c->conf);
	for (size_t i = 0; i < CONFIG_MAX_CERTS; i++) {
		mbedtls_x509_crt_init(&c->chain[i]);
		mbedtls_pk_init(&c->key[i]);
	}

	char e[160];
	int rc;
	c->n = config_count_paths(cert);
	if (c->n == 0 || config_count_paths(key) == 0) {
		snprintf(err, errlen, "certificate and key files must be "
		         "absolute paths, at most %d of each",
		         CONFIG_MAX_CERTS);
		goto fail;
	}
	if (c->n != config_count_paths(key)) {
		snprintf(err, errlen, "need as many keys as certificates");
		goto fail;
	}
	for (size_t i = 0; i < c->n; i++)
		if (load_pair(ts, c, i, cert, key, err, errlen) != 0)
			goto fail;
	rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER,
	                                 MBEDTLS_SSL_TRANSPORT_STREAM,
	                                 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "TLS defaults: %s", e);
		goto fail;
	}
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &ts->drbg);
	compat_conf_versions(&c->conf);
	compat_conf_groups(&c->conf);
	mbedtls_ssl_conf_ciphersuites(&c->conf, tls_ciphersuites);
	mbedtls_ssl_conf_session_tickets_cb(&c->conf, mbedtls_ssl_ticket_write,
	                                    mbedtls_ssl_ticket_parse,
	                                    &ts->ticket);
	/* ALPACA defence (RFC 9325 3.8): a client that offers ALPN without
	 * our protocol gets a no_application_protocol alert; one that offers
	 * none is served. */
	if (ts->alpn[0] &&
	    mbedtls_ssl_conf_alpn_protocols(&c->conf, ts->alpn) != 0) {
		snprintf(err, errlen, "ALPN setup failed");
		goto fail;
	}
	rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->chain[0], &c->key[0]);
	if (rc != 0) {
		errtext(rc, e, sizeof e);
		snprintf(err, errlen, "certificate %s: %s", cert, e);
		goto fail;
	}
	if (c->n > 1)
		mbedtls_ssl_conf_sni(&c->conf, sni_select, c);
	cfg_unref(ts->cur);
	ts->cur = c;
	return 0;
fail:
	cfg_unref(c);
	return -1;
}

bool tls_server_ready(const struct tls_server *ts)
{
	return ts && ts->cur;
}

void tls_server_free(struct tls_server *ts)
{
	if (!ts)
		return;
	cfg_unref(ts->cur);
	mbedtls_ssl_ticket_free(&ts->ticket);
	mbedtls_ctr_drbg_free(&ts->drbg);
	mbedtls_entropy_free(&ts->entropy);
	free(ts);
}

/* mbedTLS BIO callbacks over memory: sending always succeeds (the I/O layer
 * bounds what it keeps queued); receiving takes what was fed in. */
static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct tls_conn *tc = ctx;
	if (buf_append(tc->out, p, n) != 0)
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)n;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
	struct tls_conn *tc = ctx;
	if (tc->in.len == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > tc->in.len)
		n = tc->in.len;
	memcpy(p, tc->in.data, n);
	buf_consume(&tc->in, n);
	return (int)n;
}

struct tls_conn *tls_conn_new_conf(const mbedtls_ssl_config *conf,
                                   struct buf *out)
{
	struct tls_conn *tc = calloc(1, sizeof *tc);
	if (!tc)
		return NULL;
	mbedtls_ssl_init(&tc->ssl);
	if (mbedtls_ssl_setup(&tc->ssl, conf) != 0) {
		mbedtls_ssl_free(&tc->ssl);
		free(tc);
		return NULL;
	}
	buf_init(&tc->in, TLS_IN_MAX);
	buf_init(&tc->plain, TLS_RECORD_MAX);
	tc->out = out;
	mbedtls_ssl_set_bio(&tc->ssl, tc, bio_send, bio_recv, NULL);
	return tc;
}

mbedtls_ssl_context *tls_conn_ssl(struct tls_conn *tc)
{
	return &tc->ssl;
}

struct tls_conn *tls_conn_new(struct tls_server *ts, struct buf *out)
{
	if (!tls_server_ready(ts))
		return NULL;
	struct tls_conn *tc = tls_conn_new_conf(&ts->cur->conf, out);
	if (!tc)
		return NULL;
	tc->cfg = ts->cur;
	tc->cfg->refs++;
	return tc;
}

void tls_conn_free(struct tls_conn *tc)
{
	if (!tc)
		return;
	mbedtls_ssl_free(&tc->ssl);
	cfg_unref(tc->cfg);
	buf_free(&tc->in);
	buf_free(&tc->plain);
	free(tc);
}

int tls_conn_feed(struct tls_conn *tc, const void *p, size_t n)
{
	return buf_append(&tc->in, p, n);
}

size_t tls_conn_room(const struct tls_conn *tc)
{
	return buf_room(&tc->in);
}

static enum tls_step fail(struct tls_conn *tc, int rc)
{
	tc->last_err = rc;
	errtext(rc, tc->err, sizeof tc->err);
	return TLS_FAIL;
}

enum tls_step tls_conn_handshake(struct tls_conn *tc)
{
	int rc = mbedtls_ssl_handshake(&tc->ssl);
	if (rc == 0)
		return TLS_DONE;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_AGAIN;
	return fail(tc, rc);
}

enum tls_step tls_conn_read(struct tls_conn *tc, struct buf *in)
{
	/* Read until mbedTLS wants more ciphertext: decrypted bytes left
	 * inside it would never wake the loop again. */
	for (;;) {
		size_t room = buf_room(in);
		if (room == 0)
			return TLS_DONE;
		char *dst = buf_reserve(in, room > 16384 ? 16384 : room);
		if (!dst)
			return TLS_FAIL;
		int rc = mbedtls_ssl_read(&tc->ssl, (unsigned char *)dst,
		                          room > 16384 ? 16384 : room);
		if (rc > 0) {
			buf_commit(in, (size_t)rc);
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
		    rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return TLS_AGAIN;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
		if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
#endif
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return TLS_CLOSED;
		return fail(tc, rc);
	}
}

/* The plaintext one record takes: 16 KiB on TLS 1.2, less on TLS 1.3 in
 * mbedTLS 3.6 (it keeps room for its record padding) or under a
 * negotiated max_fragment_length. */
static size_t record_room(const struct tls_conn *tc)
{
	int n = mbedtls_ssl_get_max_out_record_payload(&tc->ssl);
	return n > 0 && n < TLS_RECORD_MAX ? (size_t)n : TLS_RECORD_MAX;
}

/* Encrypts p[0..n) into records appended to out: one record when n is at
 * most record_room. */
static int seal(struct tls_conn *tc, const unsigned char *p, size_t n)
{
	while (n > 0) {
		/* With a memory BIO that always accepts, WANT_WRITE cannot
		 * happen. */
		int rc = mbedtls_ssl_write(&tc->ssl, p, n);
		if (rc < 0) {
			fail(tc, rc);
			return -1;
		}
		p += rc;
		n -= (size_t)rc;
	}
	return 0;
}

int tls_conn_write(struct tls_conn *tc, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t room = record_room(tc);
	while (n > 0) {
		/* A whole record's worth with nothing held back: seal it
		 * from the caller's bytes, no copy. */
		if (tc->plain.len == 0 && n >= room) {
			if (seal(tc, s, room) != 0)
				return -1;
			s += room;
			n -= room;
			continue;
		}
		size_t k = room - tc->plain.len;
		if (k > n)
			k = n;
		if (buf_append(&tc->plain, s, k) != 0)
			return -1;
		s += k;
		n -= k;
		if (tc->plain.len == room && tls_conn_flush(tc) != 0)
			return -1;
	}
	return 0;
}

int tls_conn_flush(struct tls_conn *tc)
{
	int rc = seal(tc, (const unsigned char *)tc->plain.data,
	              tc->plain.len);
	buf_reset(&tc->plain);
	return rc;
}

size_t tls_conn_capacity(const struct tls_conn *tc)
{
	return tc->in.cap + tc->plain.cap;
}

void tls_conn_trim(struct tls_conn *tc)
{
	buf_trim(&tc->in);
	buf_trim(&tc->plain);
}

size_t tls_conn_unsealed(const struct tls_conn *tc)
{
	return tc->plain.len;
}

void tls_conn_close_notify(struct tls_conn *tc)
{
	/* The alert must follow the last data, not overtake it. */
	if (tls_conn_flush(tc) == 0)
		mbedtls_ssl_close_notify(&tc->ssl);
}

const char *tls_conn_desc(struct tls_conn *tc)
{
	if (!tc->desc[0])
		snprintf(tc->desc, sizeof tc->desc, "%s %s",
		         mbedtls_ssl_get_version(&tc->ssl),
		         mbedtls_ssl_get_ciphersuite(&tc->ssl));
	return tc->desc;
}

const char *tls_conn_error(const struct tls_conn *tc)
{
	return tc->err[0] ? tc->err : "no error";
}
