/* Connections: read → (TLS) → protocol input → output queue → write.
 *
 * Every path that ends a connection goes through conn_abort, which closes
 * the libuv handles; the protocol's closed() runs from the last close
 * callback, never from inside one of its own calls. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"
#include "log.h"

#define CONN_OUT_MAX (1024 * 1024)  /* hard cap on queued output */
#define CONN_CLOSE_FLUSH_SECS 10    /* time a closing peer gets to read */
/* Ciphertext that conn_write sends at once rather than when the callback
 * returns: a RETR writes up to SESSION_OUT_HIGH in one callback, and the
 * client can decrypt the first records while the rest are encrypted (1 MiB
 * messages on 995: 17 % faster, bench/PROFILE.md 7). Plain connections
 * gain nothing from it: the reader has no work to overlap, and four times
 * the writes cost the server 5 % more CPU. */
#define CONN_SEND_EARLY (64 * 1024)
/* A connection quiet for this long gives back the storage of its empty
 * buffers: what a burst made them grow to (a RETR's output, up to 256 KiB;
 * a 64 KiB read) is not held while a client idles for minutes. Bytes still
 * queued stay where they are. */
#define CONN_TRIM_MS 1000

struct write_req {
	uv_write_t req;
	struct conn *c;
	size_t len;
	char data[];
};

static void update_reading(struct conn *c);

/* The protocol stopped producing when output reached SESSION_OUT_HIGH;
 * tell it once the queue has fallen below SESSION_OUT_LOW. */
static void check_drain(struct conn *c)
{
	if (c->dead || c->closing || !c->out_high ||
	    conn_pending(c) >= SESSION_OUT_LOW)
		return;
	c->out_high = false;
	if (c->opened && c->ls->h->drain)
		c->ls->h->drain(c->data);
	update_reading(c);
	server_mark_dirty(c->srv, c);
}

size_t conn_pending(const struct conn *c)
{
	return c->out.len + c->writing +
	       (c->tls ? tls_conn_unsealed(c->tls) : 0);
}

size_t conn_buffer_capacity(const struct conn *c)
{
	return c->in.cap + c->out.cap +
	       (c->tls ? tls_conn_capacity(c->tls) : 0);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open > 0)
		return;
	server_conn_gone(c->srv, c);
	if (c->opened && c->ls->h->closed)
		c->ls->h->closed(c->data);
	log_info(c->sid, "disconnect");
	tls_conn_free(c->tls);
	buf_free(&c->in); /* secret: wiped, a PASS never consumed too */
	buf_free(&c->out);
	free(c);
}

void conn_abort(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	c->reading = false;
	c->handles_open = 2;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void arm_timer(struct conn *c, unsigned secs);

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = w->c;
	c->writing -= w->len;
	free(w);
	if (c->dead)
		return;
	if (status < 0) {
		log_info(c->sid, "write error: %s", uv_strerror(status));
		conn_abort(c);
		return;
	}
	if (c->closing) {
		if (conn_pending(c) == 0)
			conn_abort(c);
		return;
	}
	if (c->tls_state != CONN_HANDSHAKE)
		arm_timer(c, c->timeout);
	check_drain(c);
}

/* Hands the queued bytes to the kernel: a direct write when the socket
 * takes them (the common case: no allocation), a queued uv_write
 * otherwise. */
static void send_out(struct conn *c)
{
	if (c->dead || c->out.len == 0)
		return;
	uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == UV_EAGAIN)
		n = 0;
	if (n < 0) {
		log_info(c->sid, "write error: %s", uv_strerror(n));
		conn_abort(c);
		return;
	}
	/* Output progress counts as activity: a client that is busy
	 * reading a long RETR is not idle. */
	if (n > 0 && c->tls_state != CONN_HANDSHAKE && !c->closing)
		arm_timer(c, c->timeout);
	size_t rest = c->out.len - (size_t)n;
	if (rest > 0) {
		struct write_req *w = malloc(sizeof *w + rest);
		if (!w) {
			conn_abort(c);
			return;
		}
		w->c = c;
		w->len = rest;
		memcpy(w->data, c->out.data + n, rest);
		uv_buf_t wb = uv_buf_init(w->data, (unsigned)rest);
		int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &wb, 1,
		                  on_write);
		if (rc < 0) {
			free(w);
			conn_abort(c);
			return;
		}
		c->writing += rest;
	}
	buf_reset(&c->out);
}

/* Sends everything written so far. On TLS the plaintext written since the
 * last flush is sealed first, so what one callback wrote (a reply in
 * pieces, or several pipelined replies) leaves as few full records in one
 * write. */
static void flush(struct conn *c)
{
	if (c->dead)
		return;
	if (c->tls && tls_conn_flush(c->tls) != 0) {
		log_warn(c->sid, "TLS output failed: %s; closing",
		         tls_conn_error(c->tls));
		conn_abort(c);
		return;
	}
	send_out(c);
	if (!c->dead && c->closing && conn_pending(c) == 0)
		conn_abort(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct conn *c = h->data;
	(void)suggested;
	if (c->tls_state == CONN_PLAIN) {
		/* Read straight into the protocol's buffer, never past its
		 * limit: the limit is what a peer can make us hold. */
		size_t room = buf_room(&c->in);
		if (room > sizeof c->srv->readbuf)
			room = sizeof c->srv->readbuf;
		char *p = room ? buf_reserve(&c->in, room) : NULL;
		*b = uv_buf_init(p, p ? (unsigned)room : 0);
	} else {
		size_t room = tls_conn_room(c->tls);
		if (room > sizeof c->srv->readbuf)
			room = sizeof c->srv->readbuf;
		*b = uv_buf_init(c->srv->readbuf, (unsigned)room);
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;
	if (c->dead || nread == 0)
		return;
	if (nread == UV_ENOBUFS) {
		update_reading(c);
		return;
	}
	if (nread < 0) {
		if (nread != UV_EOF)
			log_info(c->sid, "read error: %s",
			         uv_strerror((int)nread));
		conn_abort(c);
		return;
	}
	if (c->tls_state == CONN_PLAIN) {
		buf_commit(&c->in, (size_t)nread);
	} else if (tls_conn_feed(c->tls, b->base, (size_t)nread) != 0) {
		log_info(c->sid, "TLS input overflow");
		conn_abort(c);
		return;
	}
	if (c->tls_state != CONN_HANDSHAKE && !c->closing && !c->deadline)
		arm_timer(c, c->timeout);
	conn_process(c);
}

static void update_reading(struct conn *c)
{
	if (c->dead)
		return;
	size_t room = c->tls_state == CONN_PLAIN ? buf_room(&c->in)
	                                         : tls_conn_room(c->tls);
	bool want = !c->closing && room > 0 && !c->out_high;
	if (want && !c->reading)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	else if (!want && c->reading)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = want;
}

/* The handshake finished: implicit TLS opens the session now, STARTTLS
 * tells the session so it can forget what it knew. */
static bool handshake_done(struct conn *c)
{
	c->tls_state = CONN_TLS;
	log_info(c->sid, "tls %s", tls_conn_desc(c->tls));
	arm_timer(c, c->timeout);
	if (c->starttls) {
		if (c->ls->h->tls_ready)
			c->ls->h->tls_ready(c->data);
		return true;
	}
	c->peer.tls = true;
	c->data = c->ls->h->open(c, c->ls->arg, &c->in);
	if (!c->data) {
		conn_abort(c);
		return false;
	}
	c->opened = true;
	return true;
}

void conn_process(struct conn *c)
{
	/* Bounded: each round either moves bytes or stops. */
	for (int round = 0; round < 64 && !c->dead; round++) {
		if (c->tls_state == CONN_HANDSHAKE) {
			enum tls_step st = tls_conn_handshake(c->tls);
			if (st == TLS_FAIL) {
				log_info(c->sid, "TLS handshake failed: %s",
				         tls_conn_error(c->tls));
				flush(c); /* the alert, if any */
				conn_abort(c);
				return;
			}
			if (st == TLS_AGAIN)
				break;
			if (!handshake_done(c))
				return;
		}
		if (c->tls_state == CONN_TLS && !c->closing) {
			enum tls_step st = tls_conn_read(c->tls, &c->in);
			if (st == TLS_FAIL || st == TLS_CLOSED) {
				if (st == TLS_FAIL)
					log_info(c->sid, "TLS error: %s",
					         tls_conn_error(c->tls));
				conn_abort(c);
				return;
			}
		}
		if (!c->opened || c->closing || c->in_input || c->in.len == 0)
			break;
		size_t before = c->in.len;
		enum conn_tls before_tls = c->tls_state;
		c->in_input = true;
		c->ls->h->input(c->data);
		c->in_input = false;
		/* Go round again only if the protocol made room and TLS may
		 * hold more plaintext, or a handshake just began. */
		if (c->tls_state == before_tls &&
		    (c->tls_state != CONN_TLS || c->in.len == before))
			break;
	}
	flush(c);
	check_drain(c);
	update_reading(c);
}

void conn_accept(struct listener *ls, uv_stream_t *server_sock)
{
	struct server *srv = ls->srv;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->srv = srv;
	c->ls = ls;
	uv_tcp_init(&srv->loop, &c->tcp);
	uv_timer_init(&srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	buf_init(&c->in, ls->lim.input_max);
	buf_set_secret(&c->in); /* PASS, AUTH */
	buf_init(&c->out, CONN_OUT_MAX);
	c->timeout = ls->lim.timeout;
	snprintf(c->sid, sizeof c->sid, "%lx.%llx", srv->boot,
	         (unsigned long long)++srv->next_id);
	c->peer.sid = c->sid;
	c->peer.ip = c->ip;
	server_conn_add(srv, c);

	if (uv_accept(server_sock, (uv_stream_t *)&c->tcp) != 0) {
		conn_abort(c);
		return;
	}
	struct sockaddr_storage ss;
	int len = sizeof ss;
	int port = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(s6, c->ip, sizeof c->ip);
			port = ntohs(s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			uv_ip4_name(s4, c->ip, sizeof c->ip);
			port = ntohs(s4->sin_port);
		}
	}
	/* The local address: known from the listener unless it is bound to
	 * the wildcard (server.c, listen_on). */
	size_t sock = (size_t)((uv_tcp_t *)server_sock - ls->sock);
	if (ls->local[sock] != LOCAL_ASK) {
		c->peer.local_loopback = ls->local[sock] == LOCAL_LOOPBACK;
	} else {
		len = sizeof ss;
		if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss,
		                       &len) == 0)
			c->peer.local_loopback =
				listen_is_loopback((struct sockaddr *)&ss);
	}

	/* A daemon that counts its total in srv->clients answers over it in
	 * its protocol's words, wherever the other connections are; the
	 * listener's own count, closing unanswered, is then only a backstop
	 * against a flood, at twice the limit. */
	unsigned hard = ls->lim.max_connections;
	if (srv->clients && clients_max_total(srv->clients))
		hard *= 2;
	if (srv->stopping || ls->nconns > hard) {
		log_info(c->sid, "refused ip=%s listener=%s: %s", c->ip,
		         ls->name,
		         srv->stopping ? "shutting down"
		                       : clients_reason(CLIENTS_TOO_MANY));
		conn_abort(c);
		return;
	}
	if (srv->clients) {
		/* Counted in every case; server_conn_gone uncounts it. */
		c->peer.over_limit = clients_add(srv->clients, c->ip);
		c->counted = true;
		if (clients_admit(c->peer.over_limit, ls->implicit_tls) ==
		    CLIENTS_ADMIT_CLOSE) {
			log_info(c->sid, "refused ip=%s listener=%s: %s",
			         c->ip, ls->name,
			         clients_reason(c->peer.over_limit));
			conn_abort(c);
			return;
		}
	}
	log_info(c->sid, "connect ip=%s port=%d listener=%s", c->ip, port,
	         ls->name);
	/* TCP_NODELAY is inherited from the listener (server.c). */

	if (ls->implicit_tls) {
		c->tls = tls_conn_new(srv->tls, &c->out);
		if (!c->tls) {
			conn_abort(c);
			return;
		}
		c->tls_state = CONN_HANDSHAKE;
		arm_timer(c, ls->lim.handshake_timeout);
	} else {
		c->data = ls->h->open(c, ls->arg, &c->in);
		if (!c->data) {
			conn_abort(c);
			return;
		}
		c->opened = true;
		arm_timer(c, c->timeout);
	}
	flush(c);
	update_reading(c);
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->dead)
		return;
	if (c->trim_rest_ms) {
		/* Quiet for CONN_TRIM_MS: trim, then wait out the rest of
		 * the idle timeout. */
		uint64_t rest = c->trim_rest_ms;
		c->trim_rest_ms = 0;
		buf_trim(&c->in);
		buf_trim(&c->out);
		if (c->tls)
			tls_conn_trim(c->tls);
		uv_timer_start(&c->timer, on_timer, rest, 0);
	} else if (c->closing) {
		conn_abort(c);
	} else if (c->tls_state == CONN_HANDSHAKE) {
		log_info(c->sid, "TLS handshake timeout");
		conn_abort(c);
	} else {
		log_info(c->sid, "idle timeout");
		if (c->opened && c->ls->h->timeout)
			c->ls->h->timeout(c->data);
		conn_close(c);
	}
}

/* Every arming restarts the count: activity pushes the timeout out. In a
 * session (not a handshake or a closing flush) the first CONN_TRIM_MS of
 * quiet end in a trim of the buffers, if they hold storage when the timer
 * is armed. An outbound handshake (conn_client.c arms before it enters
 * CONN_HANDSHAKE) may trim once as well: harmless, the total is the
 * same. */
static void arm_timer(struct conn *c, unsigned secs)
{
	if (c->dead)
		return;
	uint64_t ms = (uint64_t)secs * 1000;
	c->trim_rest_ms = 0;
	if (!c->closing && c->tls_state != CONN_HANDSHAKE &&
	    ms > CONN_TRIM_MS && conn_buffer_capacity(c) > 0) {
		c->trim_rest_ms = ms - CONN_TRIM_MS;
		ms = CONN_TRIM_MS;
	}
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

void conn_set_deadline(struct conn *c, unsigned seconds)
{
	conn_set_timeout(c, seconds);
	c->deadline = true;
}

void conn_set_timeout(struct conn *c, unsigned seconds)
{
	c->deadline = false;
	c->timeout = seconds;
	if (c->tls_state != CONN_HANDSHAKE && !c->closing)
		arm_timer(c, seconds);
}

void conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->dead || c->closing || c->tls_state == CONN_HANDSHAKE)
		return;
	int rc = c->tls_state == CONN_TLS ? tls_conn_write(c->tls, p, n)
	                                  : buf_append(&c->out, p, n);
	if (rc != 0) {
		log_warn(c->sid, "output queue full: closing");
		conn_abort(c);
		return;
	}
	if (conn_pending(c) >= SESSION_OUT_HIGH)
		c->out_high = true;
	if (c->tls && c->out.len >= CONN_SEND_EARLY)
		send_out(c);
	server_mark_dirty(c->srv, c);
}

int conn_starttls(struct conn *c)
{
	if (c->dead || c->tls_state != CONN_PLAIN || !tls_server_ready(c->srv->tls))
		return -1;
	c->tls = tls_conn_new(c->srv->tls, &c->out);
	if (!c->tls)
		return -1;
	/* RFC 3207 / RFC 2595: nothing received before the handshake may be
	 * taken as coming from the TLS peer (and a PASS pipelined behind the
	 * command leaves no copy). */
	buf_wipe(&c->in);
	c->tls_state = CONN_HANDSHAKE;
	c->starttls = true;
	arm_timer(c, c->ls->lim.handshake_timeout);
	return 0;
}

void conn_close(struct conn *c)
{
	if (c->dead || c->closing)
		return;
	c->closing = true;
	if (c->tls_state == CONN_TLS)
		tls_conn_close_notify(c->tls);
	update_reading(c);
	arm_timer(c, CONN_CLOSE_FLUSH_SECS);
	flush(c);
	if (!c->dead && conn_pending(c) == 0)
		conn_abort(c);
}

void conn_resume(struct conn *c)
{
	/* From inside input() there is nothing to resume: conn_process goes
	 * on when input returns. Marking the connection dirty there would
	 * make a session waiting for the rest of a line spin. */
	if (!c->dead && !c->in_input)
		server_mark_dirty(c->srv, c);
}

bool conn_is_tls(const struct conn *c)
{
	return c->tls_state == CONN_TLS;
}

const char *conn_tls_desc(const struct conn *c)
{
	return c->tls_state == CONN_TLS ? tls_conn_desc(c->tls) : NULL;
}

const struct session_peer *conn_peer(const struct conn *c)
{
	return &c->peer;
}

/* session_io over a connection. */
static void io_write(void *ctx, const void *p, size_t n)
{
	conn_write(ctx, p, n);
}
static size_t io_pending(void *ctx)
{
	return conn_pending(ctx);
}
static int io_starttls(void *ctx)
{
	return conn_starttls(ctx);
}
static void io_close(void *ctx)
{
	conn_close(ctx);
}
static void io_resume(void *ctx)
{
	conn_resume(ctx);
}
static const char *io_tls_desc(void *ctx)
{
	return conn_tls_desc(ctx);
}
static void io_set_timeout(void *ctx, unsigned seconds)
{
	conn_set_timeout(ctx, seconds);
}

const struct session_io conn_session_io = {
	.write = io_write,
	.pending = io_pending,
	.starttls = io_starttls,
	.close = io_close,
	.resume = io_resume,
	.tls_desc = io_tls_desc,
	.set_timeout = io_set_timeout,
};
