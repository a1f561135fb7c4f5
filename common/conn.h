/* The one I/O layer: libuv listeners and connections, idle timeouts,
 * bounded input and output (back-pressure), implicit TLS and STARTTLS
 * through mbedTLS memory callbacks, clean shutdown on SIGTERM.
 *
 * Protocol code sees a conn_handler: bytes arrive in a bounded input buffer,
 * replies go out through conn_write (or the session_io in session_io.h). */
#ifndef POSTLITE_CONN_H
#define POSTLITE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "listen.h"
#include "session_io.h"

struct conn;
struct server;

struct conn_handler {
	/* A connection is ready (after the handshake on implicit-TLS
	 * listeners). Returns the protocol's data for it, or NULL to drop the
	 * connection (nothing else is then called). `in` is the connection's
	 * input buffer: input() finds new bytes appended to it, the protocol
	 * consumes from its front. */
	void *(*open)(struct conn *c, void *listener_arg, struct buf *in);
	/* New bytes are in `in`. Not called while a previous call is running. */
	void (*input)(void *data);
	/* The STARTTLS handshake completed; `in` is empty. */
	void (*tls_ready)(void *data);
	/* Pending output fell below SESSION_OUT_LOW after being above it. */
	void (*drain)(void *data);
	/* No input for the idle timeout. The handler may write a last reply; the
	 * layer closes the connection when it returns. */
	void (*timeout)(void *data);
	/* The connection is gone (peer closed, error, conn_close, shutdown).
	 * Called exactly once; the protocol frees its data now or when its
	 * in-flight job completes. No conn_* call is allowed after this. */
	void (*closed)(void *data);
};

/* Per-connection calls for the handler. */
void conn_write(struct conn *c, const void *p, size_t n);
size_t conn_pending(const struct conn *c);
/* Bytes of buffer storage the connection holds (its input and output
 * queues and TLS's, not mbedTLS's fixed record buffers). A connection
 * quiet for a second (conn.c, CONN_TRIM_MS) gives back the storage of its
 * empty buffers. */
size_t conn_buffer_capacity(const struct conn *c);
int conn_starttls(struct conn *c);
void conn_close(struct conn *c);
void conn_resume(struct conn *c);
const char *conn_tls_desc(const struct conn *c);
bool conn_is_tls(const struct conn *c);
/* Idle timeout: input and output progress re-arm it. */
void conn_set_timeout(struct conn *c, unsigned seconds);
/* The same, but input does not re-arm it: what the handler waits for (a
 * whole reply) must arrive within seconds, however it trickles in (a
 * peer that sends a byte now and then cannot hold the connection). Until
 * the next conn_set_timeout or conn_set_deadline. */
void conn_set_deadline(struct conn *c, unsigned seconds);
const struct session_peer *conn_peer(const struct conn *c);

/* A session_io whose ctx is the struct conn *. */
extern const struct session_io conn_session_io;

/* Server: the loop, the listeners, the shared TLS configuration. */
struct server_limits {
	size_t input_max;        /* bytes buffered per connection before reading stops */
	/* per listener group; over it: closed unanswered at accept (twice
	 * it under server_limit_clients with a total, which answers first) */
	unsigned max_connections;
	unsigned timeout;        /* idle seconds */
	unsigned shutdown_grace; /* seconds sessions get after SIGTERM */
	unsigned handshake_timeout; /* seconds for a TLS handshake */
};

/* ident: "smtpd"/"pop3d" (session ids are built from it). */
struct server *server_new(const char *ident);

/* Counts connections per client address (clients.h) on every listener
 * of the server: at most max_total in all and max_per_addr from one
 * address (0: no limit). Checked at accept, before any TLS handshake: an
 * implicit-TLS connection over a limit is closed unanswered, any other
 * opens with session_peer.over_limit set so the protocol refuses it.
 * Without this call nothing is counted. Returns 0, or -1 when out of
 * memory. */
int server_limit_clients(struct server *srv, unsigned max_total,
                         unsigned max_per_addr);

/* The ALPN identifier of the daemon's protocol: IANA registers "pop3";
 * "smtp" is not registered but is what clients that send ALPN for SMTP
 * use. Call before server_tls_load. */
void server_tls_alpn(struct server *srv, const char *proto);

/* Loads the certificate chain and key (shared by all connections). Returns 0
 * or -1 with a reason in err. Without it, implicit-TLS listeners cannot be
 * added and conn_starttls fails. */
int server_tls_load(struct server *srv, const char *cert, const char *key,
                    char *err, size_t errlen);
bool server_has_tls(const struct server *srv);

/* Binds and listens on every address in the list, or, when systemd passed
 * sockets named `name` (socket activation), listens on those instead.
 * An empty list and no such sockets: nothing to do, returns 0. Returns 0
 * or -1 with a reason in err ("bind 127.0.0.1:25 (smtp): Permission
 * denied"). */
int server_listen(struct server *srv, const char *name,
                  const struct listen_list *addrs, bool implicit_tls,
                  const struct conn_handler *h, void *arg,
                  const struct server_limits *lim, char *err, size_t errlen);

/* The actual port a listener got (for "port 0" in tests): the first address
 * of listener `name`, or 0. */
int server_listen_port(const struct server *srv, const char *name);

/* Runs the loop until SIGTERM/SIGINT and the shutdown grace have passed.
 * SIGHUP reloads the certificate files given to server_tls_load. Returns 0. */
int server_run(struct server *srv);

/* Called from code that wants to stop the server (tests). */
void server_stop(struct server *srv);

/* The loop's clock for sessions (clock.h): now() and delays on libuv
 * timers. Delays still pending when server_run returns end then. */
struct clock *server_clock(struct server *srv);

/* For workq: the libuv loop, as an opaque pointer. */
void *server_loop(struct server *srv);

void server_free(struct server *srv);

#endif
