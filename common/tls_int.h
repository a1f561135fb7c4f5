/* Private between tls.c and the other tls*.c files (tls_client.c): lets
 * a TLS client reuse the memory-BIO session of tls.c, so the I/O layer
 * drives client and server sessions through the same tls_conn_* calls.
 * Includes mbedTLS: only common/tls*.c may include this header. */
#ifndef POSTLITE_TLS_INT_H
#define POSTLITE_TLS_INT_H

#include "tls.h"
#include "tls_compat.h"

/* A tls_conn over a configuration the caller keeps alive for as long as
 * the connection lives (tls_client.c: one per process). Ciphertext to send
 * is appended to out. Returns NULL on failure. */
struct tls_conn *tls_conn_new_conf(const mbedtls_ssl_config *conf,
                                   struct buf *out);

/* The session inside, for client-only settings (SNI, verification). */
mbedtls_ssl_context *tls_conn_ssl(struct tls_conn *tc);

#endif
