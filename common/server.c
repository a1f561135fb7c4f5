/* The loop, the listeners, signals and shutdown. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_int.h"
#include "log.h"
#include "systemd.h"

static time_t clock_now_loop(struct clock *c);
static void clock_delay_loop(struct clock *c, struct job *j, unsigned ms);

struct server *server_new(const char *ident)
{
	struct server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return NULL;
	if (uv_loop_init(&srv->loop) != 0) {
		free(srv);
		return NULL;
	}
	snprintf(srv->ident, sizeof srv->ident, "%s", ident);
	srv->boot = (unsigned long)time(NULL);
	srv->shutdown_grace = 10;
	uv_prepare_init(&srv->loop, &srv->prepare);
	srv->prepare.data = srv;
	uv_signal_init(&srv->loop, &srv->sig_term);
	uv_signal_init(&srv->loop, &srv->sig_int);
	uv_signal_init(&srv->loop, &srv->sig_hup);
	uv_timer_init(&srv->loop, &srv->grace);
	srv->sig_term.data = srv->sig_int.data = srv->sig_hup.data = srv;
	srv->grace.data = srv;
	srv->clock.now = clock_now_loop;
	srv->clock.delay = clock_delay_loop;
	return srv;
}

int server_limit_clients(struct server *srv, unsigned max_total,
                         unsigned max_per_addr)
{
	clients_free(srv->clients);
	srv->clients = clients_new(max_total, max_per_addr);
	return srv->clients ? 0 : -1;
}

void *server_loop(struct server *srv)
{
	return &srv->loop;
}

static int tls_init(struct server *srv, char *err, size_t errlen)
{
	if (!srv->tls)
		srv->tls = tls_server_new(err, errlen);
	return srv->tls ? 0 : -1;
}

void server_tls_alpn(struct server *srv, const char *proto)
{
	char err[256];
	if (tls_init(srv, err, sizeof err) == 0)
		tls_server_set_alpn(srv->tls, proto);
	else
		log_err(NULL, "TLS: %s", err);
}

int server_tls_load(struct server *srv, const char *cert, const char *key,
                    char *err, size_t errlen)
{
	if (tls_init(srv, err, errlen) != 0)
		return -1;
	if (tls_server_load(srv->tls, cert, key, err, errlen) != 0)
		return -1;
	char *c = strdup(cert), *k = strdup(key);
	if (!c || !k) {
		free(c);
		free(k);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(srv->cert);
	free(srv->key);
	srv->cert = c;
	srv->key = k;
	return 0;
}

bool server_has_tls(const struct server *srv)
{
	return tls_server_ready(srv->tls);
}

/* ---- the clock ---- */

static time_t clock_now_loop(struct clock *c)
{
	(void)c;
	return time(NULL);
}

static void delay_unlink(struct server_delay *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		d->srv->delays = d->next;
	if (d->next)
		d->next->prev = d->prev;
}

/* libuv frees nothing itself: the memory goes in the close callback, and
 * only then does the job learn that its time is up. */
static void delay_closed(uv_handle_t *h)
{
	struct server_delay *d = h->data;
	struct job *j = d->j;
	free(d);
	j->done(j);
}

static void delay_fire(uv_timer_t *t)
{
	struct server_delay *d = t->data;
	delay_unlink(d);
	uv_close((uv_handle_t *)t, delay_closed);
}

static void clock_delay_loop(struct clock *c, struct job *j, unsigned ms)
{
	struct server *srv = (struct server *)((char *)c -
	                                       offsetof(struct server, clock));
	struct server_delay *d = calloc(1, sizeof *d);
	if (!d) {
		j->done(j); /* no memory for a timer: no delay */
		return;
	}
	d->j = j;
	d->srv = srv;
	uv_timer_init(&srv->loop, &d->t);
	d->t.data = d;
	d->next = srv->delays;
	if (d->next)
		d->next->prev = d;
	srv->delays = d;
	uv_timer_start(&d->t, delay_fire, ms, 0);
}

struct clock *server_clock(struct server *srv)
{
	return &srv->clock;
}

/* After the loop stopped: every pending delay ends now (clock.h: done is
 * always called), before the worker pools are drained. */
static void delays_flush(struct server *srv)
{
	while (srv->delays) {
		struct server_delay *d = srv->delays;
		delay_unlink(d);
		uv_timer_stop(&d->t);
		uv_close((uv_handle_t *)&d->t, delay_closed);
	}
	uv_run(&srv->loop, UV_RUN_NOWAIT);
}

/* ---- work scheduling: output and deferred input, once per loop turn ---- */

static void on_prepare(uv_prepare_t *p)
{
	struct server *srv = p->data;
	/* conn_process may mark other connections dirty: drain until empty. */
	while (srv->dirty) {
		struct conn *c = srv->dirty;
		srv->dirty = c->dirty_next;
		c->dirty = false;
		c->dirty_next = NULL;
		conn_process(c);
	}
	uv_prepare_stop(p);
}

void server_mark_dirty(struct server *srv, struct conn *c)
{
	if (c->dirty || c->dead)
		return;
	c->dirty = true;
	c->dirty_next = srv->dirty;
	srv->dirty = c;
	uv_prepare_start(&srv->prepare, on_prepare);
}

void server_conn_add(struct server *srv, struct conn *c)
{
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->ls->nconns++;
}

void server_conn_gone(struct server *srv, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->dirty) {
		for (struct conn **pp = &srv->dirty; *pp;
		     pp = &(*pp)->dirty_next) {
			if (*pp == c) {
				*pp = c->dirty_next;
				break;
			}
		}
	}
	srv->nconns--;
	c->ls->nconns--;
	if (c->counted)
		clients_remove(srv->clients, c->ip);
	if (srv->stopping && srv->nconns == 0)
		uv_stop(&srv->loop);
}

/* ---- listeners ---- */

static void on_connection(uv_stream_t *s, int status)
{
	struct listener *ls = s->data;
	if (status < 0) {
		log_warn(NULL, "accept on %s: %s", ls->name,
		         uv_strerror(status));
		return;
	}
	conn_accept(ls, s);
}

/* Starts listening on a bound or inherited socket. */
static int listen_on(struct listener *ls, uv_tcp_t *t, const char *text,
                     char *err, size_t errlen)
{
	/* Linux: accepted sockets inherit TCP_NODELAY from the listener, so
	 * conn_accept needs no setsockopt per connection. Replies are small
	 * and each ends an exchange: Nagle would only delay them. */
	uv_tcp_nodelay(t, 1);
	int rc = uv_listen((uv_stream_t *)t, 511, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s (%s): %s", text, ls->name,
		         uv_strerror(rc));
		return -1;
	}
	struct sockaddr_storage ss = {0};
	int len = sizeof ss;
	size_t i = (size_t)(t - ls->sock);
	ls->local[i] = LOCAL_ASK;
	if (uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len) == 0 &&
	    listen_is_specific((struct sockaddr *)&ss))
		ls->local[i] = listen_is_loopback((struct sockaddr *)&ss)
		               ? LOCAL_LOOPBACK
		               : LOCAL_OTHER;
	if (ls->nsock == 1)
		ls->port = ntohs(ss.ss_family == AF_INET6
		                 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                 : ((struct sockaddr_in *)&ss)->sin_port);
	log_info(NULL, "listening on %s (%s%s)", text, ls->name,
	         ls->implicit_tls ? ", TLS" : "");
	return 0;
}

int server_listen(struct server *srv, const char *name,
                  const struct listen_list *addrs, bool implicit_tls,
                  const struct conn_handler *h, void *arg,
                  const struct server_limits *lim, char *err, size_t errlen)
{
	/* Sockets systemd passed under this name take the place of the
	 * configured addresses. */
	int fds[LISTEN_MAX_ADDRS];
	size_t nfds = sd_listen_take(name, fds, LISTEN_MAX_ADDRS);
	if (addrs->n == 0 && nfds == 0)
		return 0;
	if (implicit_tls && !server_has_tls(srv)) {
		snprintf(err, errlen, "listener %s: implicit TLS needs [tls] "
		         "cert and key", name);
		return -1;
	}
	struct listener *ls = calloc(1, sizeof *ls);
	if (!ls) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ls->srv = srv;
	snprintf(ls->name, sizeof ls->name, "%s", name);
	ls->implicit_tls = implicit_tls;
	ls->h = h;
	ls->arg = arg;
	ls->lim = *lim;
	ls->next = srv->listeners;
	srv->listeners = ls;
	if (lim->shutdown_grace)
		srv->shutdown_grace = lim->shutdown_grace;

	for (size_t i = 0; i < nfds; i++) {
		uv_tcp_t *t = &ls->sock[i];
		uv_tcp_init(&srv->loop, t);
		t->data = ls;
		ls->nsock++;
		int rc = uv_tcp_open(t, fds[i]);
		if (rc != 0) {
			snprintf(err, errlen, "inherited socket %s: %s", name,
			         uv_strerror(rc));
			return -1;
		}
		if (listen_on(ls, t, "inherited socket", err, errlen) != 0)
			return -1;
	}
	for (size_t i = 0; nfds == 0 && i < addrs->n; i++) {
		const struct listen_addr *a = &addrs->addr[i];
		uv_tcp_t *t = &ls->sock[i];
		uv_tcp_init(&srv->loop, t);
		t->data = ls;
		ls->nsock++;
		/* [::]:25 next to 0.0.0.0:25 must not claim the IPv4 port. */
		unsigned flags = a->sa.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY
		                                             : 0;
		int rc = uv_tcp_bind(t, (const struct sockaddr *)&a->sa, flags);
		if (rc != 0) {
			snprintf(err, errlen, "bind %s (%s): %s", a->text,
			         name, uv_strerror(rc));
			return -1;
		}
		if (listen_on(ls, t, a->text, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int server_listen_port(const struct server *srv, const char *name)
{
	for (const struct listener *ls = srv->listeners; ls; ls = ls->next)
		if (strcmp(ls->name, name) == 0)
			return ls->port;
	return 0;
}

/* ---- signals and shutdown ---- */

static void close_listeners(struct server *srv)
{
	for (struct listener *ls = srv->listeners; ls; ls = ls->next) {
		for (size_t i = 0; i < ls->nsock; i++)
			if (!uv_is_closing((uv_handle_t *)&ls->sock[i]))
				uv_close((uv_handle_t *)&ls->sock[i], NULL);
	}
}

static void on_grace(uv_timer_t *t)
{
	struct server *srv = t->data;
	log_info(NULL, "shutdown grace over: closing %u sessions",
	         srv->nconns);
	for (struct conn *c = srv->conns; c; c = c->next)
		conn_abort(c);
}

void server_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	sd_notify_state("STOPPING=1");
	log_info(NULL, "stopping: %u sessions open", srv->nconns);
	close_listeners(srv);
	uv_signal_stop(&srv->sig_hup);
	if (srv->nconns == 0) {
		uv_stop(&srv->loop);
		return;
	}
	uv_timer_start(&srv->grace, on_grace,
	               (uint64_t)srv->shutdown_grace * 1000, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct server *srv = s->data;
	if (signum != SIGHUP) {
		server_stop(srv);
		return;
	}
	if (!srv->cert)
		return;
	sd_notify_state("RELOADING=1");
	char err[512];
	if (server_tls_load(srv, srv->cert, srv->key, err, sizeof err) == 0)
		log_info(NULL, "reloaded certificate %s", srv->cert);
	else
		log_err(NULL, "certificate reload failed, keeping the old "
		        "one: %s", err);
	sd_notify_state("READY=1");
}

int server_run(struct server *srv)
{
	signal(SIGPIPE, SIG_IGN);
	uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
	uv_signal_start(&srv->sig_int, on_signal, SIGINT);
	uv_signal_start(&srv->sig_hup, on_signal, SIGHUP);
	size_t stray = sd_listen_unclaimed();
	if (stray)
		log_warn(NULL, "%zu inherited sockets have no listener name "
		         "this daemon knows: ignored", stray);
	log_info(NULL, "started");
	sd_notify_state("READY=1");
	uv_run(&srv->loop, UV_RUN_DEFAULT);
	uv_signal_stop(&srv->sig_term);
	uv_signal_stop(&srv->sig_int);
	uv_signal_stop(&srv->sig_hup);
	uv_timer_stop(&srv->grace);
	delays_flush(srv);
	log_info(NULL, "stopped");
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	for (struct conn *c = srv->conns; c; c = c->next)
		conn_abort(c);
	close_listeners(srv);
	uv_close((uv_handle_t *)&srv->prepare, NULL);
	uv_close((uv_handle_t *)&srv->sig_term, NULL);
	uv_close((uv_handle_t *)&srv->sig_int, NULL);
	uv_close((uv_handle_t *)&srv->sig_hup, NULL);
	uv_close((uv_handle_t *)&srv->grace, NULL);
	uv_run(&srv->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&srv->loop) != 0)
		log_warn(NULL, "event loop closed with handles still open");
	for (struct listener *ls = srv->listeners, *n; ls; ls = n) {
		n = ls->next;
		free(ls);
	}
	clients_free(srv->clients); /* every connection is gone */
	tls_server_free(srv->tls);
	free(srv->cert);
	free(srv->key);
	free(srv);
}
