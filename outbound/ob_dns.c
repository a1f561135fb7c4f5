/* c-ares on libuv (ob_dns.h). c-ares tells which sockets it wants watched
 * (sock_state_cb): each gets a uv_poll_t; one uv_timer_t drives its
 * retransmissions and timeouts. */
#include "ob_dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ob_dns_sock {
	uv_poll_t poll;
	ares_socket_t fd;
	struct ob_dns *d;
	struct ob_dns_sock *next;
};


/* The memory goes once the last handle's close callback has run. */
void ob_dns_release(struct ob_dns *d)
{
	if (--d->handles == 0)
		free(d);
}

static void on_sock_closed(uv_handle_t *h)
{
	struct ob_dns_sock *s = h->data;
	struct ob_dns *d = s->d;
	free(s);
	ob_dns_release(d);
}


static void on_poll(uv_poll_t *p, int status, int events)
{
	struct ob_dns_sock *s = p->data;
	ares_socket_t rfd = (status < 0 || (events & UV_READABLE)) ? s->fd
	                                                           : ARES_SOCKET_BAD;
	ares_socket_t wfd = (status < 0 || (events & UV_WRITABLE)) ? s->fd
	                                                           : ARES_SOCKET_BAD;
	struct ob_dns *d = s->d;
	ares_process_fd(d->ch, rfd, wfd);
	ob_dns_rearm(d);
}

static void sock_state(void *data, ares_socket_t fd, int readable,
                       int writable)
{
	struct ob_dns *d = data;
	struct ob_dns_sock **pp = &d->socks, *s;
	while ((s = *pp) && s->fd != fd)
		pp = &s->next;
	if (!readable && !writable) {
		/* c-ares closes fd after this returns: stop watching now. */
		if (s) {
			*pp = s->next;
			uv_close((uv_handle_t *)&s->poll, on_sock_closed);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return; /* the query times out instead */
		if (uv_poll_init_socket(d->loop, &s->poll, fd) != 0) {
			free(s);
			return;
		}
		s->fd = fd;
		s->d = d;
		s->poll.data = s;
		s->next = d->socks;
		d->socks = s;
		d->handles++;
	}
	uv_poll_start(&s->poll, (readable ? UV_READABLE : 0) |
	                        (writable ? UV_WRITABLE : 0), on_poll);
}

static void on_timer(uv_timer_t *t)
{
	struct ob_dns *d = t->data;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ob_dns_rearm(d);
}

void ob_dns_rearm(struct ob_dns *d)
{
	if (d->dying)
		return;
	struct timeval tv;
	if (ares_timeout(d->ch, NULL, &tv))
		uv_timer_start(&d->timer, on_timer,
		               (uint64_t)tv.tv_sec * 1000 +
		               (uint64_t)tv.tv_usec / 1000 + 1, 0);
	else
		uv_timer_stop(&d->timer);
}

struct ob_dns *ob_dns_new(void *loop, const char *servers, char *err,
                          size_t errlen)
{
	static bool lib_ready;
	if (!lib_ready) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: library init failed");
			return NULL;
		}
		lib_ready = true;
	}
	struct ob_dns *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->loop = loop;
	struct ares_options o = {0};
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.timeout = 5000; /* ms per try */
	o.tries = 3;
	/* No search list (resolv.conf's search, LOCALDOMAIN): mail names
	 * are absolute. With one, an MX host that does not resolve would
	 * be tried again under the local domain, and the mail could go to
	 * a host on the LAN (a wildcard there catches anything). */
	o.domains = NULL;
	o.ndomains = 0;
	int rc = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB |
	                           ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	                           ARES_OPT_DOMAINS);
	if (rc == ARES_SUCCESS && servers)
		rc = ares_set_servers_ports_csv(d->ch, servers);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		if (d->ch)
			ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	uv_timer_init(d->loop, &d->timer);
	d->timer.data = d;
	d->handles = 1;
	return d;
}

static void on_timer_closed(uv_handle_t *h)
{
	ob_dns_release(h->data);
}

void ob_dns_free(struct ob_dns *d)
{
	if (!d)
		return;
	/* Pending lookups end now (ARES_EDESTRUCTION): their callbacks see
	 * dying and report TEMP; c-ares closes its sockets, which closes
	 * their poll handles. */
	d->dying = true;
	ares_destroy(d->ch);
	d->ch = NULL;
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}
