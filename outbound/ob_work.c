/* The runner's store work, on a worker thread (job.h): touches only the
 * delivery's job fields and the thread's store handle. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dkim.h"
#include "dsn.h"
#include "log.h"
#include "ob_int.h"
#include "tls_rsa.h"
#include "utf8.h"

int64_t ob_next_try(const struct outbound_cfg *cfg, unsigned attempts,
                    int64_t now)
{
	/* Doubling from the minimum, capped (RFC 5321 4.5.4.1). */
	uint64_t wait = cfg->backoff_min ? cfg->backoff_min : 1;
	for (unsigned i = 1; i < attempts && wait < cfg->backoff_max; i++)
		wait *= 2;
	if (wait > cfg->backoff_max)
		wait = cfg->backoff_max;
	return now + (int64_t)wait;
}

/* RFC 5321 4.4: Return-Path: belongs to final delivery; the store keeps
 * it at the front of every message smtpd accepted, and it must not leave
 * (a relaying MTA SHOULD NOT send it). Returns the bytes to skip. */
static size_t return_path_len(const char *p, size_t n)
{
	static const char rp[] = "Return-Path:";
	if (n < sizeof rp - 1 || strncasecmp(p, rp, sizeof rp - 1) != 0)
		return 0;
	for (size_t i = sizeof rp - 1; i + 1 < n; i++)
		if (p[i] == '\n' && p[i + 1] != ' ' && p[i + 1] != '\t')
			return i + 1;
	return 0;
}

/* RFC 5321 6.3 loop detection counts trace fields. */
static unsigned count_received(const char *h, size_t n)
{
	unsigned k = 0;
	for (size_t i = 0; i + 9 <= n; i++)
		if ((i == 0 || h[i - 1] == '\n') &&
		    strncasecmp(h + i, "Received:", 9) == 0)
			k++;
	return k;
}

/* The domain's key: data_dir/dkim/DOMAIN.key, its selector in
 * DOMAIN.selector (`postlite dkim keygen`). Signs when both are there. */
static void sign(struct ob_delivery *d, struct dkim *dk)
{
	char dom[STORE_ADDRESS_MAX], path[PATH_MAX], sel[64] = "", err[256];
	if (dkim_from_domain(dk, dom, sizeof dom) != 0 || strchr(dom, '/') ||
	    dom[0] == '.')
		return;
	snprintf(path, sizeof path, "%s/dkim/%s.selector", d->ob->cfg.data_dir,
	         dom);
	FILE *f = fopen(path, "re");
	if (!f)
		return; /* no key for this domain: not signed */
	if (!fgets(sel, sizeof sel, f))
		sel[0] = '\0';
	fclose(f);
	sel[strcspn(sel, "\r\n \t")] = '\0';
	snprintf(path, sizeof path, "%s/dkim/%s.key", d->ob->cfg.data_dir, dom);
	struct tls_rsa_key *k = sel[0] ? tls_rsa_key_load(path, err, sizeof err)
	                               : NULL;
	if (!k) {
		log_warn(d->id, "dkim domain=%s: no usable key: %s", dom,
		         sel[0] ? err : "empty selector file");
		return;
	}
	if (dkim_sign(dk, dom, sel, k, (int64_t)time(NULL), &d->dkim_sig) != 0)
		log_warn(d->id, "dkim domain=%s: signing failed", dom);
	tls_rsa_key_free(k);
}

static void prepare(struct ob_delivery *d, struct store *st)
{
	char *chunk = malloc(STORE_QUEUE_CHUNK_MAX);
	struct dkim *dk = dkim_new();
	struct buf norm;
	struct smtpc_stuff ns;
	buf_init(&norm, 2 * STORE_QUEUE_CHUNK_MAX + 16);
	smtpc_stuff_init(&ns, false);
	d->status = chunk && dk ? STORE_OK : STORE_TEMPFAIL;
	for (uint64_t seq = 0; d->status == STORE_OK; seq++) {
		size_t got;
		enum store_status s = store_queue_read(st, d->qid, seq, chunk,
		                                       STORE_QUEUE_CHUNK_MAX, &got);
		/* Past the last piece. No first piece: the message left the
		 * queue after the scan (postlite queue delete); a queued
		 * message always has its trace header. */
		if (s == STORE_NOTFOUND && seq > 0)
			break;
		d->npieces = seq + 1;
		if (s != STORE_OK) {
			d->status = s;
			break;
		}
		const char *p = chunk;
		if (seq == 0) {
			d->skip = return_path_len(p, got);
			p += d->skip;
			got -= d->skip;
		}
		for (size_t i = 0; i < got && !d->eightbit; i++)
			if ((unsigned char)p[i] >= 0x80)
				d->eightbit = true;
		buf_reset(&norm);
		smtpc_stuff(&ns, p, got, &norm);
		dkim_feed(dk, norm.data, norm.len);
		d->wire_size += norm.len;
	}
	if (d->status == STORE_OK) {
		buf_reset(&norm);
		smtpc_stuff_end(&ns, &norm);
		dkim_feed(dk, norm.data, norm.len);
		d->wire_size += norm.len;
		size_t hl;
		const char *h = dkim_headers(dk, &hl);
		buf_append(&d->headers, h, hl);
		d->received = count_received(h, hl);
		sign(d, dk);
	}
	buf_free(&norm);
	dkim_free(dk);
	free(chunk);
}

/* Delivers a bounce to the original sender: into the local mailbox, or
 * into the queue (null sender) for a remote one. */
static enum store_status bounce(struct ob_delivery *d, struct store *st,
                                const struct dsn_rcpt *r, size_t n)
{
	struct outbound_cfg *cfg = &d->ob->cfg;
	struct buf m;
	char qid[32];
	buf_init(&m, 2 * DKIM_HEADER_MAX + 64 * 1024);
	snprintf(qid, sizeof qid, "%llu", (unsigned long long)d->qid);
	struct dsn_info in = {
		.reporting_mta = cfg->hostname,
		.sender = d->sender,
		.queue_id = qid,
		.arrival = d->created,
		.now = (int64_t)time(NULL),
		.rcpt = r,
		.nrcpt = n,
		.headers = d->headers.data,
		.headers_len = d->headers.len,
	};
	uint64_t mbox, msg = 0;
	enum store_status s = store_rcpt_lookup(st, d->sender, &mbox);
	if (s == STORE_OK) {
		/* RFC 5321 4.4: final delivery adds Return-Path. */
		buf_puts(&m, "Return-Path: <>\r\n");
		if (dsn_build(&in, &m) != 0)
			s = STORE_PERMFAIL;
		else
			s = store_msg_deliver(st, &msg, m.data, m.len, &mbox, 1);
	} else if (s == STORE_NOTLOCAL) {
		const char *to = d->sender;
		if (dsn_build(&in, &m) != 0)
			s = STORE_PERMFAIL;
		else
			s = store_queue_add(st, 0, m.data, m.len, "", &to, 1,
			                    ob_bounce_flags(to),
			                    &msg);
	}
	log_info(d->id, "bounce to=<%s> nrcpt=%zu result=%s", d->sender, n,
	         store_status_name(s));
	buf_free(&m);
	/* A sender that no longer exists cannot get it: not retried. */
	return s == STORE_NOTFOUND || s == STORE_INVALID ||
	               s == STORE_PERMFAIL ? STORE_OK : s;
}

unsigned ob_bounce_flags(const char *sender)
{
	return utf8_non_ascii(sender, strlen(sender)) ? STORE_QUEUE_SMTPUTF8
	                                              : 0;
}

static void finish(struct ob_delivery *d, struct store *st)
{
	int64_t now = (int64_t)time(NULL);
	bool expired = now - d->created >= (int64_t)d->ob->cfg.lifetime;
	struct store_queue_result *res = calloc(d->n, sizeof *res);
	struct dsn_rcpt *dr = calloc(d->n, sizeof *dr);
	char (*status)[16] = calloc(d->n, sizeof *status);
	size_t nb = 0;
	if (!res || !dr || !status) {
		d->status = STORE_TEMPFAIL;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		struct ob_rcpt *r = &d->rcpt[i];
		struct smtpc_rcpt *x = &r->res;
		res[i].rid = r->rid;
		res[i].outcome = STORE_QUEUE_DONE;
		if (x->result == SMTPC_TEMP && expired) {
			/* RFC 3463 4.4.7: delivery time expired. */
			char why[SMTPC_TEXT_MAX];
			snprintf(why, sizeof why, "%s", x->text);
			snprintf(x->text, sizeof x->text, "450 4.4.7 Expired "
			         "after %u days: %.180s", d->ob->cfg.lifetime / 86400,
			         why);
			x->code = 450;
			x->result = SMTPC_PERM;
		}
		if (x->result == SMTPC_PERM) {
			size_t k = nb++;
			dsn_status_of(x->code ? x->code : 550, x->text, status[k],
			              sizeof status[k]);
			dr[k] = (struct dsn_rcpt){r->addr, status[k],
			                          r->mta[0] ? r->mta : NULL, x->text};
		} else if (x->result != SMTPC_OK) {
			res[i].outcome = STORE_QUEUE_RETRY;
			res[i].next_try = ob_next_try(&d->ob->cfg,
			                              r->attempts + 1, now);
			res[i].error = x->text;
		}
	}
	/* The bounce and the results commit together: a crash between
	 * them would have sent the bounce again at the next try. Without a
	 * batch (it could not begin) each still commits on its own. */
	bool batch = store_batch_begin(st) == STORE_OK;
	/* RFC 5321 4.5.5 / RFC 3464: never a bounce for the null sender. */
	enum store_status bs = nb && d->sender[0] ? bounce(d, st, dr, nb)
	                                          : STORE_OK;
	if (bs != STORE_OK && expired) {
		/* As Postfix does with a bounce it cannot deliver for its
		 * whole lifetime: given up, loudly. */
		log_err(d->id, "bounce to=<%s> not stored after the queue "
		        "lifetime (%s): dropped", d->sender,
		        store_status_name(bs));
	} else if (bs != STORE_OK) {
		/* The bounce could not be stored (the sender's mailbox is
		 * full, the disk is): its recipients are tried again on the
		 * usual schedule, and fail and bounce again then; the
		 * delivered ones are recorded all the same. */
		for (size_t i = 0; i < d->n; i++) {
			if (d->rcpt[i].res.result != SMTPC_PERM)
				continue;
			res[i].outcome = STORE_QUEUE_RETRY;
			res[i].next_try = ob_next_try(&d->ob->cfg,
			                              d->rcpt[i].attempts + 1,
			                              now);
			res[i].error = "bounce not stored yet";
		}
	}
	d->status = store_queue_update(st, res, d->n);
	if (batch && d->status == STORE_OK)
		d->status = store_batch_commit(st);
	else if (batch)
		store_batch_rollback(st);
out:
	free(res);
	free(dr);
	free(status);
}

void ob_work(struct job *j, void *wctx)
{
	struct ob_delivery *d = (struct ob_delivery *)j;
	struct store *st = wctx;
	if (!st) {
		d->status = STORE_TEMPFAIL;
		return;
	}
	switch (d->kind) {
	case OB_JOB_PREPARE:
		prepare(d, st);
		break;
	case OB_JOB_READ:
		buf_reset(&d->piece);
		char *p = buf_reserve(&d->piece, STORE_QUEUE_CHUNK_MAX);
		size_t got = 0;
		d->status = p ? store_queue_read(st, d->qid, d->seq, p,
		                                 STORE_QUEUE_CHUNK_MAX, &got)
		              : STORE_TEMPFAIL;
		if (d->status == STORE_OK)
			buf_commit(&d->piece, got);
		break;
	case OB_JOB_FINISH:
		finish(d, st);
		break;
	}
}
