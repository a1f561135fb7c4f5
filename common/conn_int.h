/* Private to conn.c and server.c: the structures behind conn.h. */
#ifndef POSTLITE_CONN_INT_H
#define POSTLITE_CONN_INT_H

#include <netinet/in.h>
#include <stdint.h>
#include <uv.h>

#include "clients.h"
#include "clock.h"
#include "conn.h"
#include "tls.h"

/* Whether a listening socket's connections have a loopback local address. */
enum listener_local { LOCAL_OTHER, LOCAL_LOOPBACK, LOCAL_ASK };

struct listener {
	struct server *srv;
	char name[32];
	bool implicit_tls;
	const struct conn_handler *h;
	void *arg;
	struct server_limits lim;
	size_t nsock;
	uv_tcp_t sock[LISTEN_MAX_ADDRS];
	/* Per socket: whether its connections' local address is loopback,
	 * known at listen time when the socket is bound to one address;
	 * LOCAL_ASK (the wildcard) makes conn_accept ask the kernel. */
	enum listener_local local[LISTEN_MAX_ADDRS];
	int port; /* of the first socket */
	unsigned nconns;
	struct listener *next;
};

enum conn_tls { CONN_PLAIN, CONN_HANDSHAKE, CONN_TLS };

struct conn {
	uv_tcp_t tcp; /* first: libuv callbacks cast back */
	uv_timer_t timer;
	struct server *srv;
	struct listener *ls;
	struct conn *prev, *next;       /* server's list of live connections */
	struct conn *dirty_next;        /* server's list of work to do */
	bool dirty;

	struct buf in;  /* plaintext for the protocol */
	struct buf out; /* bytes (plain or cipher) not yet handed to libuv */
	size_t writing; /* bytes inside uv_write requests */

	struct tls_conn *tls;
	enum conn_tls tls_state;
	bool starttls; /* handshake started by conn_starttls, not implicit */

	void *data;        /* the protocol's, once open() returned it */
	bool opened;       /* open() was called and returned data */
	bool in_input;     /* inside h->input: no re-entry */
	bool want_input;   /* call h->input at the next chance */
	bool reading;      /* uv_read_start is on */
	bool out_high;     /* above SESSION_OUT_HIGH, waiting to drain */
	bool closing;      /* conn_close: flush, then close */
	bool dead;         /* uv_close started */
	bool counted;      /* in srv->clients, until server_conn_gone */
	int handles_open;  /* tcp + timer still to see their close callback */
	unsigned timeout;  /* idle seconds */
	bool deadline;     /* conn_set_deadline: input does not extend it */
	/* Not 0: the timer runs for CONN_TRIM_MS to trim the buffers (conn.c),
	 * then this much longer to the idle timeout. */
	uint64_t trim_rest_ms;

	struct session_peer peer;
	char sid[32];
	char ip[INET6_ADDRSTRLEN];
};

/* A delay of server_clock: a libuv timer that ends in a job's done. */
struct server_delay {
	uv_timer_t t;
	struct job *j;
	struct server *srv;
	struct server_delay *prev, *next;
};

struct server {
	uv_loop_t loop;
	struct clock clock;            /* server_clock() */
	struct server_delay *delays;   /* pending, for the flush at stop */
	char ident[16];
	uint64_t next_id;
	unsigned long boot;
	struct tls_server *tls;
	char *cert, *key;
	struct listener *listeners;
	struct conn *conns;
	unsigned nconns;
	struct clients *clients; /* per address and in all; NULL: none */
	struct conn *dirty; /* conns with output or input to process */
	uv_prepare_t prepare;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t grace;
	bool stopping;
	unsigned shutdown_grace;
	char readbuf[65536]; /* one read at a time: libuv's alloc then read */
};

/* conn.c */
void conn_accept(struct listener *ls, uv_stream_t *server_sock);
void conn_process(struct conn *c);
void conn_abort(struct conn *c);
/* server.c */
void server_mark_dirty(struct server *srv, struct conn *c);
void server_conn_add(struct server *srv, struct conn *c);
void server_conn_gone(struct server *srv, struct conn *c);

#endif
