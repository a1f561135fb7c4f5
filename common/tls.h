/* TLS over memory: the only interface to mbedTLS (only tls*.c include it).
 *
 * The I/O layer feeds received ciphertext in with tls_conn_feed and sends
 * what mbedTLS produces from the `out` buffer it gave to tls_conn_new. All
 * calls run on the loop thread. One tls_server per process holds the
 * entropy source, the DRBG and the configuration; a certificate reload
 * builds a new configuration while live connections keep the old one. */
#ifndef POSTLITE_TLS_H
#define POSTLITE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct tls_server;
struct tls_conn;

enum tls_step {
	TLS_DONE,   /* handshake finished / plaintext available */
	TLS_AGAIN,  /* needs more ciphertext from the peer */
	TLS_CLOSED, /* the peer sent close_notify */
	TLS_FAIL,   /* fatal: close the connection */
};

/* Seeds the DRBG. Returns NULL with a reason in err. */
struct tls_server *tls_server_new(char *err, size_t errlen);

/* The one ALPN identifier this daemon speaks ("smtp", "pop3"; a static
 * string). Takes effect at the next tls_server_load. */
void tls_server_set_alpn(struct tls_server *ts, const char *proto);

/* Loads (or reloads) a PEM chain and its key, checking that they match.
 * On failure the previous configuration stays in use. Returns 0 or -1. */
int tls_server_load(struct tls_server *ts, const char *cert, const char *key,
                    char *err, size_t errlen);
bool tls_server_ready(const struct tls_server *ts);
void tls_server_free(struct tls_server *ts);

/* A server-side TLS session. Ciphertext to send is appended to `out`. */
struct tls_conn *tls_conn_new(struct tls_server *ts, struct buf *out);
void tls_conn_free(struct tls_conn *tc);

/* Ciphertext received. Returns -1 if more than a bounded amount (two
 * maximal records) is waiting, which only a misbehaving peer causes. */
int tls_conn_feed(struct tls_conn *tc, const void *p, size_t n);
/* Bytes of ciphertext room left (for read sizing). */
size_t tls_conn_room(const struct tls_conn *tc);

enum tls_step tls_conn_handshake(struct tls_conn *tc);

/* Decrypts into `in` until the ciphertext is used up or `in` is full.
 * Returns TLS_DONE (call again when `in` has room: plaintext may be
 * stranded inside mbedTLS), TLS_AGAIN (all input used), TLS_CLOSED or
 * TLS_FAIL. */
enum tls_step tls_conn_read(struct tls_conn *tc, struct buf *in);

/* Queues n bytes of plaintext. Each full record's worth (16 KiB) is
 * encrypted into out at once; what is left waits inside, at most one
 * record's worth, for more bytes or tls_conn_flush. So a reply written in
 * pieces (a status line, a body, a terminator) costs one record, one AEAD
 * pass and one header and tag (21-29 bytes), not one per piece. Returns
 * 0, or -1 when out is full or mbedTLS fails (the connection is then
 * unusable). */
int tls_conn_write(struct tls_conn *tc, const void *p, size_t n);

/* Encrypts the plaintext still queued into out (one record, or none when
 * nothing is queued). Call before sending out. Returns 0 or -1. */
int tls_conn_flush(struct tls_conn *tc);

/* Bytes of plaintext queued and not yet in out (at most 16 KiB). */
size_t tls_conn_unsealed(const struct tls_conn *tc);

/* The connection's own buffers (ciphertext in, plaintext to seal; not
 * mbedTLS's fixed record buffers): the bytes they have allocated, and
 * giving back those that are empty. */
size_t tls_conn_capacity(const struct tls_conn *tc);
void tls_conn_trim(struct tls_conn *tc);

/* Encrypts the queued plaintext, then appends a close_notify alert to
 * out. */
void tls_conn_close_notify(struct tls_conn *tc);

/* "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" after the handshake. */
const char *tls_conn_desc(struct tls_conn *tc);

/* The last mbedTLS error of this connection as text (for logs). */
const char *tls_conn_error(const struct tls_conn *tc);

/* Writes a new EC P-256 key (mode 0600) and a self-signed certificate for
 * hostname (CN and subjectAltName, valid `days` days; mode 0644). Refuses
 * to overwrite existing files. Returns 0, or -1 with a reason in err. */
int tls_make_selfsigned(const char *hostname, unsigned days,
                        const char *cert_path, const char *key_path,
                        char *err, size_t errlen);

/* ---- TLS client (tls_client.c; outbound delivery, issue 9) -------------
 *
 * One tls_client per process holds the client entropy, DRBG and two
 * configurations: opportunistic (RFC 7435: encrypt whatever the peer's
 * certificate says, as MTAs do on port 25, RFC 3207 4.1) and verified
 * (the chain must lead to a trusted CA and name the host; used for a
 * smarthost, whose AUTH credentials must not go to an impostor). The
 * sessions it makes are ordinary tls_conn objects: the I/O layer drives
 * them with the calls above. */
struct tls_client;

/* ca_file: PEM bundle of trusted CAs (the path is copied), parsed at the
 * first tls_client_conn_new, not here; NULL or unreadable then leaves
 * only the opportunistic mode working (verified sessions fail the
 * handshake). Returns NULL with a reason in err. */
struct tls_client *tls_client_new(const char *ca_file, char *err,
                                  size_t errlen);
void tls_client_free(struct tls_client *tcl);

/* A client session to `host` (sent as SNI when it is a name, and checked
 * against the certificate when verify). Ciphertext goes to out. NULL on
 * failure. The first call parses the CA file (tens of ms for a system
 * bundle, on the calling thread; one attempt per tls_client). */
struct tls_conn *tls_client_conn_new(struct tls_client *tcl, const char *host,
                                     bool verify, struct buf *out);

/* After the handshake: the peer's chain verified against the CAs and the
 * host name (always true for a verified session that got this far). */
bool tls_conn_peer_verified(struct tls_conn *tc);

#endif
