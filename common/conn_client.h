/* Outbound connections (issue 9): the same connection object, buffers,
 * back-pressure, timeouts and TLS-over-memory as accepted ones (conn.h),
 * started with a TCP connect instead of an accept.
 *
 * The handler's callbacks mean what they mean in conn.h, except:
 * - open(c, arg, in) says "connected" (after the handshake with implicit
 *   TLS) and must return arg;
 * - closed(arg) is called exactly once for every conn_connect that
 *   returned a connection: also when the connect fails or times out, in
 *   which case open was never called;
 * - timeout also fires for a connect that takes too long.
 * conn_write, conn_close, conn_set_timeout, conn_pending, conn_is_tls and
 * conn_tls_desc work on these connections; conn_starttls does not (it is
 * the server side): use conn_client_starttls. */
#ifndef POSTLITE_CONN_CLIENT_H
#define POSTLITE_CONN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conn.h"

struct tls_client;

struct conn_client_opts {
	const char *name;        /* peer host name: logs, SNI, verification */
	unsigned connect_timeout;/* seconds for the TCP connect */
	unsigned timeout;        /* idle seconds once connected */
	unsigned handshake_timeout;
	size_t input_max;        /* bytes of reply text buffered */
	struct tls_client *tls;  /* needed for implicit TLS and STARTTLS */
	bool implicit_tls;       /* RFC 8314: TLS from the first byte */
	bool tls_verify;         /* CA chain and name must check out */
};

/* Starts a connection to addr (sockaddr_in or sockaddr_in6 with the
 * port set). Returns the connection (its callbacks follow as above), or
 * NULL when it could not even be started (server stopping, no memory, bad
 * address): then no callback runs. */
struct conn *conn_connect(struct server *srv, const struct sockaddr *addr,
                          const struct conn_handler *h, void *arg,
                          const struct conn_client_opts *o);

/* RFC 3207 client side: after the server's 220 to STARTTLS, starts the
 * handshake. Every byte received so far is discarded (a response injected
 * before the handshake must not be taken as the TLS peer's); tls_ready
 * follows the handshake, a failed handshake closes the connection.
 * Returns 0, or -1 (already TLS, no tls_client, no memory). */
int conn_client_starttls(struct conn *c);

/* After the handshake: the certificate checked out (logs, policy). */
bool conn_client_verified(struct conn *c);

#endif
