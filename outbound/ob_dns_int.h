/* Private to ob_dns.c (the c-ares/libuv glue) and ob_route.c (MX logic). */
#ifndef POSTLITE_OB_DNS_INT_H
#define POSTLITE_OB_DNS_INT_H

#include <ares.h>
#include <uv.h>

#include "ob_dns.h"

struct ob_dns_sock;

struct ob_dns {
	uv_loop_t *loop;
	ares_channel ch;   /* NULL once ob_dns_free destroyed it */
	uv_timer_t timer;
	struct ob_dns_sock *socks;
	unsigned handles;  /* handles (timer, polls, requests) still open */
	bool dying;
};

/* Restarts the timer for c-ares's next timeout; call after starting a
 * lookup. */
void ob_dns_rearm(struct ob_dns *d);
/* A handle of d closed: frees d after the last. */
void ob_dns_release(struct ob_dns *d);

#endif
