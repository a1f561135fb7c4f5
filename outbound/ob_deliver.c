/* One delivery on the loop thread: prepare (worker), route (c-ares),
 * sessions host after host (smtpc over an outbound conn), the body
 * streamed from the store a piece at a time with back-pressure, then the
 * results recorded (worker). One job in flight at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_client.h"
#include "log.h"
#include "ob_int.h"

/* Connections per delivery and attempt, over all hosts and addresses. */
#define OB_MAX_TRIES 6

/* Seconds for the reply the session waits for. */
static unsigned wait_for(const struct ob_delivery *d)
{
	unsigned t = smtpc_timeout(&d->sm), cap = d->ob->cfg.reply_timeout;
	return cap && cap < t ? cap : t;
}

static void submit(struct ob_delivery *d, enum ob_job_kind kind)
{
	d->kind = kind;
	runner_submit(d->ob->runner, &d->job);
}

/* Everyone without an answer gets this one, then the results go in. */
static void settle(struct ob_delivery *d, enum smtpc_result r, int code,
                   const char *text)
{
	for (size_t i = 0; i < d->n; i++) {
		struct smtpc_rcpt *x = &d->rcpt[i].res;
		if (x->result == SMTPC_OK || x->result == SMTPC_PERM)
			continue;
		if (x->result == SMTPC_TEMP && x->text[0] && r == SMTPC_TEMP)
			continue; /* keep the more precise earlier reason */
		x->result = r;
		x->code = code;
		snprintf(x->text, sizeof x->text, "%s", text);
		log_info(d->id, "to=<%s> result=%s reply=\"%s\"",
		         d->rcpt[i].addr, r == SMTPC_PERM ? "bounced" : "deferred",
		         text);
	}
	submit(d, OB_JOB_FINISH);
}

static void connect_next(struct ob_delivery *d);

/* ---- the body --------------------------------------------------------- */

static void pump(struct ob_delivery *d)
{
	if (!d->c || d->reading)
		return;
	if (d->eof) {
		buf_reset(&d->wire);
		smtpc_stuff_end(&d->stuff, &d->wire);
		conn_write(d->c, d->wire.data, d->wire.len);
		d->body_started = false;
		smtpc_body_end(&d->sm);
		conn_set_deadline(d->c, wait_for(d));
		return;
	}
	if (conn_pending(d->c) >= SESSION_OUT_HIGH)
		return; /* on_drain comes back */
	d->reading = true;
	submit(d, OB_JOB_READ);
}

static void read_done(struct ob_delivery *d)
{
	d->reading = false;
	if (!d->c) { /* the session ended meanwhile */
		connect_next(d);
		return;
	}
	if (d->status == STORE_NOTFOUND && d->seq >= d->npieces) {
		d->eof = true;
	} else if (d->status != STORE_OK) {
		/* Includes a message deleted (postlite queue delete) while
		 * it was being sent: never end it early with a "." */
		smtpc_abort(&d->sm, "451 4.3.0 queue read failed");
		return;
	} else {
		const char *p = d->piece.data;
		size_t n = d->piece.len;
		if (d->seq++ == 0) { /* Return-Path: stays home */
			p += d->skip < n ? d->skip : n;
			n -= d->skip < n ? d->skip : n;
		}
		buf_reset(&d->wire);
		smtpc_stuff(&d->stuff, p, n, &d->wire);
		conn_write(d->c, d->wire.data, d->wire.len);
	}
	pump(d);
}

/* ---- smtpc_ops --------------------------------------------------------- */

static void sm_write(void *ctx, const void *p, size_t n)
{
	struct ob_delivery *d = ctx;
	if (d->c)
		conn_write(d->c, p, n);
}

static int sm_starttls(void *ctx)
{
	struct ob_delivery *d = ctx;
	return d->c ? conn_client_starttls(d->c) : -1;
}

static void sm_body(void *ctx)
{
	struct ob_delivery *d = ctx;
	d->body_started = true;
	d->eof = false;
	d->seq = 0;
	smtpc_stuff_init(&d->stuff, true);
	/* RFC 6376: the signature field goes first. */
	if (d->dkim_sig.len)
		conn_write(d->c, d->dkim_sig.data, d->dkim_sig.len);
	pump(d);
}

static void sm_done(void *ctx)
{
	struct ob_delivery *d = ctx;
	if (d->c)
		conn_close(d->c);
}

static const struct smtpc_ops sm_ops = {sm_write, sm_starttls, sm_body,
                                        sm_done};

/* ---- conn_handler ------------------------------------------------------ */

static void *on_open(struct conn *c, void *arg, struct buf *in)
{
	struct ob_delivery *d = arg;
	d->sess_in = in; /* smtpc waits for the greeting */
	if (conn_is_tls(c)) /* implicit TLS (RFC 8314) */
		log_info(d->id, "tls %s verified=%d", conn_tls_desc(c),
		         conn_client_verified(c));
	conn_set_deadline(c, wait_for(d));
	return arg;
}

/* RFC 5321 4.5.3.2: each reply has its time, counted from the command,
 * not from its last byte: a server that trickles a reply (or an endless
 * multi-line one) is given up on when the time is over. */
static void on_input(void *data)
{
	struct ob_delivery *d = data;
	unsigned replies = d->sm.replies;
	smtpc_input(&d->sm, d->sess_in);
	if (d->c && d->sm.state != SMTPC_DONE && !d->body_started &&
	    d->sm.replies != replies)
		conn_set_deadline(d->c, wait_for(d));
}

static void on_tls_ready(void *data)
{
	struct ob_delivery *d = data;
	log_info(d->id, "tls %s verified=%d", conn_tls_desc(d->c),
	         conn_client_verified(d->c));
	smtpc_tls_ready(&d->sm);
	conn_set_deadline(d->c, wait_for(d));
}

static void on_drain(void *data)
{
	struct ob_delivery *d = data;
	if (d->body_started)
		pump(d);
}

static void on_timeout(void *data)
{
	struct ob_delivery *d = data;
	smtpc_abort(&d->sm, "timeout");
}

/* The session is over: its results go back to the delivery's recipients;
 * the ones another host may help go on to connect_next. */
static void on_closed(void *data)
{
	struct ob_delivery *d = data;
	bool tls_broke = d->sm.state == SMTPC_TLS_WAIT;
	d->c = NULL;
	d->body_started = false;
	smtpc_abort(&d->sm, tls_broke ? "TLS handshake failed"
	                              : "connection closed");
	const struct ob_dns_host *h = &d->route->host[d->host_i];
	for (size_t i = 0; i < d->nsess; i++) {
		struct ob_rcpt *r = &d->rcpt[d->sess_map[i]];
		r->res = d->sess[i];
		if (r->res.code)
			snprintf(r->mta, sizeof r->mta, "%s", h->name);
		log_info(d->id, "to=<%s> relay=%s result=%s reply=\"%s\"",
		         r->addr, h->name,
		         r->res.result == SMTPC_OK     ? "sent"
		         : r->res.result == SMTPC_PERM ? "bounced"
		                                       : "deferred",
		         r->res.text);
	}
	/* RFC 7435: a server whose TLS fails gets one plaintext try, as an
	 * MTA without TLS would have delivered anyway. */
	if (tls_broke && !d->plain && d->sm.cfg.tls == SMTPC_TLS_OPPORTUNISTIC) {
		d->plain = true;
	} else {
		d->plain = false; /* the next address is asked for TLS again */
		if (++d->addr_i >= h->naddr) {
			d->addr_i = 0;
			d->host_i++;
		}
	}
	if (!d->reading)
		connect_next(d);
}

static const struct conn_handler handler = {
	.open = on_open,
	.input = on_input,
	.tls_ready = on_tls_ready,
	.drain = on_drain,
	.timeout = on_timeout,
	.closed = on_closed,
};

/* ---- sessions ---------------------------------------------------------- */

static void connect_next(struct ob_delivery *d)
{
	struct outbound *ob = d->ob;
	const struct outbound_cfg *cfg = &ob->cfg;
	d->nsess = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct smtpc_rcpt *x = &d->rcpt[i].res;
		if (x->result == SMTPC_PENDING ||
		    (x->result == SMTPC_TEMP && x->next_host))
			d->sess_map[d->nsess++] = i;
	}
	if (d->nsess == 0 || d->host_i >= d->route->nhost ||
	    d->tries >= OB_MAX_TRIES || ob->stopping) {
		settle(d, SMTPC_TEMP, 451, "451 4.4.1 No mail server could "
		       "be reached");
		return;
	}
	d->tries++;
	const struct ob_dns_host *h = &d->route->host[d->host_i];
	for (size_t i = 0; i < d->nsess; i++)
		d->sess[i].addr = d->rcpt[d->sess_map[i]].addr;
	bool relay = cfg->relay_host != NULL;
	struct smtpc_cfg sc = {
		.helo = cfg->hostname,
		.sender = d->sender,
		.size = d->wire_size + d->dkim_sig.len,
		.eightbit = d->eightbit || (d->flags & STORE_QUEUE_8BIT),
		.smtputf8 = (d->flags & STORE_QUEUE_SMTPUTF8) != 0,
		.tls = d->plain ? SMTPC_TLS_NO : SMTPC_TLS_OPPORTUNISTIC,
	};
	if (relay && cfg->relay_tls != RELAY_TLS_NONE) {
		sc.tls = SMTPC_TLS_REQUIRED;
		sc.tls_active = cfg->relay_tls == RELAY_TLS_IMPLICIT;
	} else if (relay) {
		sc.tls = SMTPC_TLS_NO;
	}
	if (relay && cfg->relay_user) {
		sc.user = cfg->relay_user;
		sc.pass = cfg->relay_pass;
	}
	smtpc_init(&d->sm, &sc, d->sess, d->nsess, &sm_ops, d);
	struct conn_client_opts o = {
		.name = h->name,
		.connect_timeout = cfg->connect_timeout,
		.timeout = wait_for(d),
		.handshake_timeout = cfg->reply_timeout ? cfg->reply_timeout : 60,
		.input_max = 16 * 1024,
		.tls = ob->tls,
		.implicit_tls = sc.tls_active,
		/* A smarthost gets our password: it must prove its name. */
		.tls_verify = relay,
	};
	d->c = conn_connect(ob->srv, (const struct sockaddr *)&h->addr[d->addr_i],
	                    &handler, d, &o);
	if (!d->c)
		settle(d, SMTPC_TEMP, 451, "451 4.3.2 Shutting down");
}

/* ---- the delivery's steps ---------------------------------------------- */

static void on_route(void *arg, const struct ob_route *r)
{
	struct ob_delivery *d = arg;
	*d->route = *r;
	switch (r->status) {
	case OB_DNS_OK:
		connect_next(d);
		return;
	case OB_DNS_NULLMX: /* RFC 7505 4.2 */
		settle(d, SMTPC_PERM, 556, "556 5.1.10 Recipient address has "
		       "null MX");
		return;
	case OB_DNS_NOHOST: { /* RFC 3463 5.1.2: bad destination system */
		char t[SMTPC_TEXT_MAX];
		snprintf(t, sizeof t, "550 5.1.2 %.200s", r->error);
		settle(d, SMTPC_PERM, 550, t);
		return;
	}
	case OB_DNS_TEMP: {
		char t[SMTPC_TEXT_MAX];
		snprintf(t, sizeof t, "451 4.4.3 %.200s", r->error);
		settle(d, SMTPC_TEMP, 451, t);
		return;
	}
	}
}

static void job_done(struct job *j)
{
	struct ob_delivery *d = (struct ob_delivery *)j;
	struct outbound *ob = d->ob;
	switch (d->kind) {
	case OB_JOB_PREPARE:
		if (d->status == STORE_NOTFOUND) {
			log_info(d->id, "gone from the queue before delivery");
			ob_delivery_gone(ob, d); /* nothing to record */
		} else if (d->status != STORE_OK) {
			settle(d, SMTPC_TEMP, 451, "451 4.3.0 Queue read failed");
		} else if (d->received > OUTBOUND_MAX_RECEIVED) {
			char t[SMTPC_TEXT_MAX];
			snprintf(t, sizeof t, "554 5.4.6 Routing loop detected: "
			         "%u Received: header fields", d->received);
			settle(d, SMTPC_PERM, 554, t);
		} else if (ob->stopping) {
			ob_delivery_gone(ob, d); /* nothing happened yet */
		} else {
			bool relay = ob->cfg.relay_host != NULL;
			ob_dns_route(ob->dns, relay ? ob->cfg.relay_host : d->domain,
			             relay ? ob->cfg.relay_port : ob->cfg.mx_port,
			             !relay, on_route, d);
		}
		return;
	case OB_JOB_READ:
		read_done(d);
		return;
	case OB_JOB_FINISH:
		if (d->status != STORE_OK)
			log_err(d->id, "recording results failed: %s (the "
			        "recipients stay queued)",
			        store_status_name(d->status));
		ob_delivery_gone(ob, d);
		return;
	}
}

void ob_delivery_start(struct outbound *ob, struct ob_delivery *d)
{
	d->ob = ob;
	d->job.work = ob_work;
	d->job.done = job_done;
	submit(d, OB_JOB_PREPARE);
}
