/* What a protocol session may do to its connection. The daemons implement
 * it over the libuv/TLS layer (conn_session_io in conn.h); tests implement
 * it over memory. Sessions never see sockets or TLS. */
#ifndef POSTLITE_SESSION_IO_H
#define POSTLITE_SESSION_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "clients.h"

struct session_io {
	/* Queues bytes for the peer. Output is sent when the current callback
	 * returns (so pipelined replies go out in one write). */
	void (*write)(void *ctx, const void *p, size_t n);
	/* Bytes queued and not yet sent; a session producing bulk output
	 * (RETR) stops above SESSION_OUT_HIGH and continues in its drain
	 * callback. */
	size_t (*pending)(void *ctx);
	/* Starts TLS once queued output has been sent. Every input byte
	 * already received is discarded (RFC 3207 / RFC 2595); the session's
	 * tls_ready callback runs after the handshake. Returns -1 when no
	 * certificate is configured. */
	int (*starttls)(void *ctx);
	/* Sends queued output, then closes. No callbacks but closed follow. */
	void (*close)(void *ctx);
	/* A job finished or output drained: read more, and call input again
	 * on the next loop turn if bytes are waiting. Ignored when called
	 * from inside input itself (the layer goes on after input returns). */
	void (*resume)(void *ctx);
	/* "TLSv1.3 TLS1-3-AES-128-GCM-SHA256"-style text, or NULL before TLS. */
	const char *(*tls_desc)(void *ctx);
	/* Sets the idle timeout (seconds) for the state the session is in
	 * (RFC 5321 4.5.3.2). May be NULL in test harnesses. */
	void (*set_timeout)(void *ctx, unsigned seconds);
};

/* Output high and low water marks for bulk producers. */
#define SESSION_OUT_HIGH (256 * 1024)
#define SESSION_OUT_LOW (64 * 1024)

/* What a session knows about its peer when it starts. Strings are owned by
 * the connection and live as long as the session. */
struct session_peer {
	const char *sid;     /* session id for logs */
	const char *ip;      /* "192.0.2.1" or "2001:db8::1" */
	const char *rdns;    /* NULL: no lookup done */
	bool local_loopback; /* the listener address is loopback */
	bool tls;            /* implicit TLS already up */
	/* The I/O layer's count at accept (clients.h): anything but
	 * CLIENTS_OK means the session refuses in its protocol's words and
	 * closes. Implicit-TLS connections over a limit never get here. */
	enum clients_result over_limit;
};

#endif
