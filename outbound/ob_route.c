/* Routes (ob_dns.h): RFC 5321 5.1 with RFC 7505's null MX, on top of the
 * c-ares glue in ob_dns.c. A request looks up the MX set, then the
 * addresses of each exchange one after the other, and reports through a
 * zero timer so the callback never runs inside ob_dns_route. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ob_dns_int.h"

struct req {
	uv_timer_t done; /* first: the close callback frees the request */
	struct ob_dns *d;
	ob_dns_cb *cb;
	void *arg;
	unsigned port;
	size_t next;     /* host whose addresses come next */
	bool temp;       /* some lookup failed temporarily */
	struct ob_route r;
};

int ob_mx_sort(struct ob_mx *mx, size_t n, size_t max, unsigned seed)
{
	size_t k = 0;
	bool null_mx = false;
	for (size_t i = 0; i < n; i++) {
		/* RFC 7505 3: "." (c-ares: empty name) is the null MX. */
		if (!mx[i].host[0] || !strcmp(mx[i].host, ".")) {
			null_mx = true;
			continue;
		}
		mx[k++] = mx[i];
	}
	if (k == 0)
		return null_mx ? -1 : 0;
	/* Insertion sort by preference with a shuffle of equal ones: each
	 * record gets a pseudo-random tie key (RFC 5321 5.1 SHOULD). */
	unsigned keys[64];
	if (k > 64)
		k = 64;
	for (size_t i = 0; i < k; i++) {
		seed = seed * 1103515245u + 12345u;
		keys[i] = seed >> 8;
	}
	for (size_t i = 1; i < k; i++) {
		struct ob_mx m = mx[i];
		unsigned key = keys[i];
		size_t j = i;
		while (j > 0 && (mx[j - 1].pref > m.pref ||
		                 (mx[j - 1].pref == m.pref && keys[j - 1] > key))) {
			mx[j] = mx[j - 1];
			keys[j] = keys[j - 1];
			j--;
		}
		mx[j] = m;
		keys[j] = key;
	}
	return (int)(k < max ? k : max);
}

static void on_done_closed(uv_handle_t *h)
{
	struct req *q = (struct req *)h;
	struct ob_dns *d = q->d;
	free(q);
	ob_dns_release(d);
}

static void on_done(uv_timer_t *t)
{
	struct req *q = (struct req *)t;
	q->cb(q->arg, &q->r);
	uv_close((uv_handle_t *)&q->done, on_done_closed);
}

static void finish(struct req *q)
{
	struct ob_route *r = &q->r;
	if (r->status == OB_DNS_OK) {
		/* Hosts without addresses drop out. */
		size_t k = 0;
		for (size_t i = 0; i < r->nhost; i++)
			if (r->host[i].naddr)
				r->host[k++] = r->host[i];
		r->nhost = k;
		if (k == 0) {
			r->status = q->temp ? OB_DNS_TEMP : OB_DNS_NOHOST;
			snprintf(r->error, sizeof r->error, "%s",
			         q->temp ? "address lookup failed temporarily"
			                 : "no address for any mail exchanger");
		}
	}
	uv_timer_start(&q->done, on_done, 0, 0);
}

static void lookup_next(struct req *q);

static void on_addrs(void *arg, int status, int timeouts,
                     struct ares_addrinfo *res)
{
	struct req *q = arg;
	struct ob_dns_host *h = &q->r.host[q->next++];
	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *n = res->nodes;
		     n && h->naddr < OB_DNS_MAX_ADDRS; n = n->ai_next) {
			struct sockaddr_storage *ss = &h->addr[h->naddr];
			if (n->ai_family == AF_INET &&
			    n->ai_addrlen >= sizeof(struct sockaddr_in)) {
				memcpy(ss, n->ai_addr, sizeof(struct sockaddr_in));
				((struct sockaddr_in *)ss)->sin_port =
					htons((uint16_t)q->port);
				h->naddr++;
			} else if (n->ai_family == AF_INET6 &&
			           n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
				memcpy(ss, n->ai_addr, sizeof(struct sockaddr_in6));
				((struct sockaddr_in6 *)ss)->sin6_port =
					htons((uint16_t)q->port);
				h->naddr++;
			}
		}
	} else if (status != ARES_ENOTFOUND && status != ARES_ENODATA) {
		q->temp = true;
	}
	if (res)
		ares_freeaddrinfo(res);
	if (q->d->dying) {
		q->r.status = OB_DNS_TEMP;
		snprintf(q->r.error, sizeof q->r.error, "resolver stopped");
		finish(q);
		return;
	}
	lookup_next(q);
}

static void lookup_next(struct req *q)
{
	if (q->next >= q->r.nhost) {
		finish(q);
		return;
	}
	struct ares_addrinfo_hints hints = {0};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(q->d->ch, q->r.host[q->next].name, NULL, &hints,
	                 on_addrs, q);
	ob_dns_rearm(q->d);
}

static void on_mx(void *arg, int status, int timeouts, unsigned char *abuf,
                  int alen)
{
	struct req *q = arg;
	struct ob_route *r = &q->r;
	struct ares_mx_reply *mx = NULL;
	if (q->d->dying) {
		r->status = OB_DNS_TEMP;
		snprintf(r->error, sizeof r->error, "resolver stopped");
		finish(q);
		return;
	}
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	if (status == ARES_ENODATA) {
		/* RFC 5321 5.1: no MX, the domain itself is the exchange
		 * (r->host[0] holds its name already). */
		r->nhost = 1;
		lookup_next(q);
		return;
	}
	if (status == ARES_ENOTFOUND) {
		r->status = OB_DNS_NOHOST;
		snprintf(r->error, sizeof r->error, "domain %s does not exist",
		         r->host[0].name);
		finish(q);
		return;
	}
	if (status != ARES_SUCCESS) {
		r->status = OB_DNS_TEMP;
		snprintf(r->error, sizeof r->error, "MX lookup for %s: %s",
		         r->host[0].name, ares_strerror(status));
		finish(q);
		return;
	}
	struct ob_mx list[64];
	size_t n = 0;
	for (struct ares_mx_reply *m = mx; m && n < 64; m = m->next)
		list[n++] = (struct ob_mx){m->host, m->priority};
	int k = ob_mx_sort(list, n, OB_DNS_MAX_HOSTS,
	                   (unsigned)uv_hrtime() ^ (unsigned)(uintptr_t)q);
	if (k < 0) {
		r->status = OB_DNS_NULLMX;
		snprintf(r->error, sizeof r->error, "domain %s accepts no mail "
		         "(null MX, RFC 7505)", r->host[0].name);
	} else if (k == 0) {
		r->status = OB_DNS_TEMP;
		snprintf(r->error, sizeof r->error, "empty MX answer");
	}
	for (int i = 0; i < k; i++) {
		snprintf(r->host[i].name, sizeof r->host[i].name, "%s",
		         list[i].host);
		r->host[i].pref = list[i].pref;
	}
	r->nhost = k > 0 ? (size_t)k : 0;
	ares_free_data(mx);
	if (r->status != OB_DNS_OK)
		finish(q);
	else
		lookup_next(q);
}

void ob_dns_route(struct ob_dns *d, const char *domain, unsigned port,
                  bool mx, ob_dns_cb *cb, void *arg)
{
	struct req *q = calloc(1, sizeof *q);
	if (!q) {
		/* Nothing else to report through: the caller's cb must not
		 * run inside this call, so this is a hard failure. */
		abort();
	}
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	q->port = port;
	uv_timer_init(d->loop, &q->done);
	d->handles++;
	snprintf(q->r.host[0].name, sizeof q->r.host[0].name, "%s", domain);
	if (d->dying) {
		q->r.status = OB_DNS_TEMP;
		snprintf(q->r.error, sizeof q->r.error, "resolver stopped");
		finish(q);
		return;
	}
	if (!mx) {
		q->r.nhost = 1;
		lookup_next(q);
		return;
	}
	/* RFC 5321 5.1 */
	ares_query(d->ch, domain, 1 /* C_IN */, 15 /* T_MX */, on_mx, q);
	ob_dns_rearm(d);
}
