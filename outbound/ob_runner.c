/* The queue runner (outbound.h): a periodic scan of the queue for due
 * recipients, grouped into deliveries (one per message and domain, or
 * per message through a smarthost), at most max_sessions at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "conn.h"
#include "log.h"
#include "ob_int.h"
#include "tls.h"

#define OB_MAX_RCPT_PER_DELIVERY 100
#define OB_SCAN_MAX 1000

struct ob_scan_job {
	struct job job;
	struct outbound *ob;
	enum store_status status;
	struct store_queue_item *items;
	size_t n;
};

static unsigned env_uint(const char *name, unsigned def)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return def;
	unsigned long n = strtoul(v, &end, 10);
	return *end == '\0' && n <= 0xffffffffUL ? (unsigned)n : def;
}

int outbound_cfg_from(const struct config *config, struct outbound_cfg *cfg,
                      char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->hostname = config->server.hostname;
	cfg->data_dir = config->server.data_dir;
	cfg->relay_host = config->relay.host;
	cfg->relay_port = config->relay.port;
	cfg->relay_tls = config->relay.tls;
	cfg->relay_user = config->relay.user;
	/* [queue] settings; the POSTLITE_QUEUE_* variables override them
	 * for tests (outbound.h). */
	cfg->lifetime = env_uint("POSTLITE_QUEUE_LIFETIME",
	                         config->queue.lifetime);
	cfg->backoff_min = config->queue.retry_min;
	cfg->backoff_max = config->queue.retry_max;
	if (cfg->backoff_max < cfg->backoff_min)
		cfg->backoff_max = cfg->backoff_min;
	const char *b = getenv("POSTLITE_QUEUE_BACKOFF");
	unsigned lo, hi;
	if (b && sscanf(b, "%u,%u", &lo, &hi) == 2 && lo && lo <= hi) {
		cfg->backoff_min = lo;
		cfg->backoff_max = hi;
	}
	cfg->poll = env_uint("POSTLITE_QUEUE_POLL", OUTBOUND_POLL);
	if (cfg->poll == 0)
		cfg->poll = 1;
	cfg->mx_port = env_uint("POSTLITE_QUEUE_MX_PORT", 25);
	cfg->dns_servers = getenv("POSTLITE_QUEUE_DNS");
	cfg->ca_file = getenv("POSTLITE_QUEUE_CA_FILE");
	if (!cfg->ca_file)
		cfg->ca_file = config->relay.ca_file;
	if (!cfg->ca_file)
		cfg->ca_file = "/etc/ssl/certs/ca-certificates.crt";
	cfg->max_sessions = 10;
	cfg->reply_timeout = env_uint("POSTLITE_QUEUE_TIMEOUT", 0);
	cfg->connect_timeout = cfg->reply_timeout ? cfg->reply_timeout : 30;
	if (config->relay.password_file) {
		FILE *f = fopen(config->relay.password_file, "re");
		if (!f || !fgets(cfg->relay_pass, sizeof cfg->relay_pass, f)) {
			snprintf(err, errlen, "%s: cannot read the relay "
			         "password", config->relay.password_file);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		cfg->relay_pass[strcspn(cfg->relay_pass, "\r\n")] = '\0';
	}
	return 0;
}

void ob_delivery_free(struct ob_delivery *d)
{
	if (!d)
		return;
	buf_free(&d->dkim_sig);
	buf_free(&d->headers);
	buf_free(&d->piece);
	buf_free(&d->wire);
	free(d->route);
	free(d->sess);
	free(d->sess_map);
	free(d->rcpt);
	free(d);
}

static struct ob_delivery *delivery_new(struct outbound *ob,
                                        const struct store_queue_item *it,
                                        size_t n)
{
	static unsigned long serial;
	struct ob_delivery *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->rcpt = calloc(n, sizeof *d->rcpt);
	d->sess = calloc(n, sizeof *d->sess);
	d->sess_map = calloc(n, sizeof *d->sess_map);
	d->route = calloc(1, sizeof *d->route);
	if (!d->rcpt || !d->sess || !d->sess_map || !d->route) {
		ob_delivery_free(d);
		return NULL;
	}
	d->ob = ob;
	d->n = n;
	d->qid = it->qid;
	snprintf(d->id, sizeof d->id, "q%llu.%lu", (unsigned long long)it->qid,
	         ++serial);
	snprintf(d->domain, sizeof d->domain, "%s", it->domain);
	snprintf(d->sender, sizeof d->sender, "%s", it->sender);
	d->flags = it->flags;
	d->created = it->created;
	for (size_t i = 0; i < n; i++) {
		d->rcpt[i].rid = it[i].rid;
		d->rcpt[i].attempts = it[i].attempts;
		snprintf(d->rcpt[i].addr, sizeof d->rcpt[i].addr, "%s",
		         it[i].rcpt);
	}
	buf_init(&d->dkim_sig, 8192);
	buf_init(&d->headers, 64 * 1024);
	buf_init(&d->piece, STORE_QUEUE_CHUNK_MAX);
	buf_init(&d->wire, 2 * STORE_QUEUE_CHUNK_MAX + 16);
	return d;
}

static bool in_flight(const struct outbound *ob, uint64_t rid)
{
	for (const struct ob_delivery *d = ob->deliveries; d; d = d->next)
		for (size_t i = 0; i < d->n; i++)
			if (d->rcpt[i].rid == rid)
				return true;
	return false;
}

static void scan_work(struct job *j, void *wctx)
{
	struct ob_scan_job *sj = (struct ob_scan_job *)j;
	sj->status = wctx ? store_queue_due(wctx, (int64_t)time(NULL),
	                                    OB_SCAN_MAX, &sj->items, &sj->n)
	                  : STORE_TEMPFAIL;
}

static void start_scan(struct outbound *ob);

static void scan_done(struct job *j)
{
	struct ob_scan_job *sj = (struct ob_scan_job *)j;
	struct outbound *ob = sj->ob;
	bool relay = ob->cfg.relay_host != NULL;
	ob->scan = NULL;
	if (sj->status != STORE_OK)
		log_warn(NULL, "queue scan failed: %s",
		         store_status_name(sj->status));
	/* Items come by message, then domain: each run is one delivery. */
	for (size_t i = 0; i < sj->n && !ob->stopping;) {
		const struct store_queue_item *it = &sj->items[i];
		size_t k = 0, skip = 0;
		while (i + k + skip < sj->n && k < OB_MAX_RCPT_PER_DELIVERY) {
			const struct store_queue_item *x = &sj->items[i + k + skip];
			if (x->qid != it->qid ||
			    (!relay && strcmp(x->domain, it->domain) != 0))
				break;
			if (in_flight(ob, x->rid)) {
				skip++;
				continue;
			}
			if (skip) /* keep the group contiguous */
				break;
			k++;
		}
		if (k == 0) {
			i += skip ? skip : 1;
			continue;
		}
		if (ob->active >= ob->cfg.max_sessions) {
			ob->rescan = true; /* when a session ends */
			break;
		}
		struct ob_delivery *d = delivery_new(ob, it, k);
		i += k + skip;
		if (!d)
			continue;
		d->next = ob->deliveries;
		ob->deliveries = d;
		ob->active++;
		ob_delivery_start(ob, d);
	}
	free(sj->items);
	free(sj);
	if (ob->rescan && !ob->stopping && ob->active < ob->cfg.max_sessions) {
		ob->rescan = false;
		start_scan(ob);
	}
}

static void start_scan(struct outbound *ob)
{
	if (ob->stopping)
		return;
	if (ob->scan) {
		ob->rescan = true;
		return;
	}
	struct ob_scan_job *sj = calloc(1, sizeof *sj);
	if (!sj)
		return;
	sj->ob = ob;
	sj->job.work = scan_work;
	sj->job.done = scan_done;
	ob->scan = sj;
	runner_submit(ob->runner, &sj->job);
}

void ob_delivery_gone(struct outbound *ob, struct ob_delivery *d)
{
	for (struct ob_delivery **pp = &ob->deliveries; *pp;
	     pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	ob->active--;
	ob_delivery_free(d);
	if (ob->rescan && !ob->scan) {
		ob->rescan = false;
		start_scan(ob);
	}
}

static void on_tick(uv_timer_t *t)
{
	start_scan(t->data);
}

struct outbound *outbound_new(struct server *srv, struct runner *store_runner,
                              const struct outbound_cfg *cfg, char *err,
                              size_t errlen)
{
	struct outbound *ob = calloc(1, sizeof *ob);
	uv_timer_t *tick = calloc(1, sizeof *tick);
	if (!ob || !tick) {
		free(ob);
		free(tick);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ob->cfg = *cfg;
	ob->srv = srv;
	ob->loop = server_loop(srv);
	ob->runner = store_runner;
	ob->tls = tls_client_new(cfg->ca_file, err, errlen);
	if (ob->tls)
		ob->dns = ob_dns_new(ob->loop, cfg->dns_servers, err, errlen);
	if (!ob->dns) {
		tls_client_free(ob->tls);
		free(ob);
		free(tick);
		return NULL;
	}
	uv_timer_init(ob->loop, tick);
	tick->data = ob;
	ob->tick = tick;
	uv_timer_start(tick, on_tick, 0, (uint64_t)cfg->poll * 1000);
	log_info(NULL, "queue runner: %s, retries %u..%u s, lifetime %u s",
	         cfg->relay_host ? cfg->relay_host : "direct MX delivery",
	         cfg->backoff_min, cfg->backoff_max, cfg->lifetime);
	return ob;
}

void outbound_kick(struct outbound *ob)
{
	if (ob)
		start_scan(ob);
}

static void on_tick_closed(uv_handle_t *h)
{
	free(h);
}

void outbound_stop(struct outbound *ob)
{
	if (!ob || ob->stopping)
		return;
	ob->stopping = true;
	uv_close((uv_handle_t *)ob->tick, on_tick_closed);
	ob->tick = NULL;
	ob_dns_free(ob->dns);
	ob->dns = NULL;
	/* The close callbacks (and any route callback the resolver ends
	 * with) run now. */
	uv_run(ob->loop, UV_RUN_NOWAIT);
}

void outbound_free(struct outbound *ob)
{
	if (!ob)
		return;
	outbound_stop(ob);
	if (ob->active)
		log_warn(NULL, "queue runner: %u deliveries still open at exit",
		         ob->active);
	tls_client_free(ob->tls);
	memset(ob->cfg.relay_pass, 0, sizeof ob->cfg.relay_pass);
	free(ob);
}
