/* Outbound connections over conn.c's machinery (conn_client.h).
 *
 * conn.c reaches the handler through c->ls; an outbound connection has no
 * listener, so each gets a private one in the same allocation (conn.c
 * frees the struct conn pointer, which is the start of it). The
 * connection counts as the server's like accepted ones, so a shutdown
 * gives it the same grace and then aborts it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_client.h"
#include "conn_int.h"
#include "log.h"

struct client_conn {
	struct conn c;       /* first: conn.c frees this pointer */
	struct listener ls;  /* the handler, its arg, the limits */
	uv_connect_t req;
	struct tls_client *tls;
	bool verify;
	bool connected;
	char name[256];
};

static uint64_t client_next_id;

static void on_connect(uv_connect_t *req, int status)
{
	struct client_conn *cc = req->data;
	struct conn *c = &cc->c;
	if (c->dead) /* timed out or shut down meanwhile: closed() follows */
		return;
	if (status < 0) {
		log_info(c->sid, "connect to %s [%s] failed: %s", cc->name,
		         c->ip, uv_strerror(status));
		conn_abort(c);
		return;
	}
	cc->connected = true;
	uv_tcp_nodelay(&c->tcp, 1);
	log_info(c->sid, "connected to %s [%s]", cc->name, c->ip);
	if (cc->ls.implicit_tls) {
		c->tls = tls_client_conn_new(cc->tls, cc->name, cc->verify,
		                             &c->out);
		if (!c->tls) {
			conn_abort(c);
			return;
		}
		/* conn_set_timeout arms the timer only outside a handshake:
		 * set the handshake's first. handshake_done opens. */
		conn_set_timeout(c, cc->ls.lim.handshake_timeout);
		/* opened stays true: a failed handshake still reports
		 * closed(). */
		c->tls_state = CONN_HANDSHAKE;
	} else {
		conn_set_timeout(c, cc->ls.lim.timeout);
		cc->ls.h->open(c, cc->ls.arg, &c->in);
	}
	conn_process(c); /* a ClientHello to send, reading to start */
}

struct conn *conn_connect(struct server *srv, const struct sockaddr *addr,
                          const struct conn_handler *h, void *arg,
                          const struct conn_client_opts *o)
{
	if (srv->stopping || (o->implicit_tls && !o->tls))
		return NULL;
	struct client_conn *cc = calloc(1, sizeof *cc);
	if (!cc)
		return NULL;
	struct conn *c = &cc->c;
	snprintf(cc->name, sizeof cc->name, "%s", o->name ? o->name : "");
	snprintf(cc->ls.name, sizeof cc->ls.name, "outbound");
	cc->ls.srv = srv;
	cc->ls.h = h;
	cc->ls.arg = arg;
	cc->ls.implicit_tls = o->implicit_tls;
	cc->ls.lim.input_max = o->input_max;
	cc->ls.lim.timeout = o->timeout;
	cc->ls.lim.handshake_timeout = o->handshake_timeout;
	cc->tls = o->tls;
	cc->verify = o->tls_verify;
	cc->req.data = cc;

	c->srv = srv;
	c->ls = &cc->ls;
	uv_tcp_init(&srv->loop, &c->tcp);
	uv_timer_init(&srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	buf_init(&c->in, o->input_max);
	buf_init(&c->out, 1024 * 1024);
	snprintf(c->sid, sizeof c->sid, "%lx.o%llx", srv->boot,
	         (unsigned long long)++client_next_id);
	c->peer.sid = c->sid;
	c->peer.ip = c->ip;
	/* The protocol's data from the start: closed() then reports a
	 * failed connect too (conn.c calls it for opened connections). */
	c->data = arg;
	c->opened = true;
	server_conn_add(srv, c);

	if (addr->sa_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)addr, c->ip,
		            sizeof c->ip);
	else
		uv_ip4_name((const struct sockaddr_in *)addr, c->ip,
		            sizeof c->ip);
	int rc = uv_tcp_connect(&cc->req, &c->tcp, addr, on_connect);
	if (rc != 0) {
		log_info(c->sid, "connect to %s [%s]: %s", cc->name, c->ip,
		         uv_strerror(rc));
		conn_abort(c); /* closed() follows from the close callback */
		return c;
	}
	conn_set_timeout(c, o->connect_timeout);
	return c;
}

int conn_client_starttls(struct conn *c)
{
	struct client_conn *cc = (struct client_conn *)c;
	if (c->dead || c->tls_state != CONN_PLAIN || !cc->tls ||
	    c->ls->lim.handshake_timeout == 0)
		return -1;
	c->tls = tls_client_conn_new(cc->tls, cc->name, cc->verify, &c->out);
	if (!c->tls)
		return -1;
	/* RFC 3207 6: nothing the server sent before the handshake counts
	 * (STARTTLS response injection). */
	buf_reset(&c->in);
	conn_set_timeout(c, c->ls->lim.handshake_timeout);
	c->tls_state = CONN_HANDSHAKE;
	c->starttls = true;
	/* The next loop turn runs conn_process: the ClientHello goes out. */
	server_mark_dirty(c->srv, c);
	return 0;
}

bool conn_client_verified(struct conn *c)
{
	return c->tls_state == CONN_TLS && tls_conn_peer_verified(c->tls);
}
