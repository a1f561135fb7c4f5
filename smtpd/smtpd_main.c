/* postlite-smtpd: configuration, listeners, the worker pools, the loop.
 * Everything protocol-shaped lives in smtp_session.c; this file wires the
 * shared services of struct smtp_env to libuv and common/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "outbound.h"
#include "smtp_session.h"
#include "store_worker.h"
#include "throttle.h"
#include "workq.h"

/* Worker threads: SQLite must not run on the loop. One writer takes the
 * message pieces and deliveries: SQLite has one write lock anyway, and a
 * single writer batches every delivery queued during its previous fsync
 * into one commit (group commit) instead of two writers' batches
 * alternating behind the lock and its busy sleeps (bench/PROFILE.md 1,
 * 2). Recipient lookups have their own reader (WAL readers never wait
 * for the writer), so a RCPT reply never waits behind a commit (3).
 * Password hashing has two threads of its own, so a burst of AUTH never
 * delays either (STYLE.md 10; yescrypt takes ~20 ms and 16 MiB a hash). */
#define SMTPD_STORE_THREADS 1
#define SMTPD_LOOKUP_THREADS 1
#define SMTPD_AUTH_THREADS 2

/* AUTH abuse policy until [smtp] has keys for it (defaults only). */
#define SMTPD_AUTH_FAIL_DELAY_MS 1000 /* before a failed-AUTH reply, times
                                         the address's recent failures */
#define SMTPD_THROTTLE_SLOTS 4096     /* addresses remembered */
#define SMTPD_THROTTLE_LIMIT 10       /* failures per address per window */
#define SMTPD_THROTTLE_WINDOW 900     /* seconds */


/* ---- conn_handler ---------------------------------------------------- */

/* What one listener's connections share. */
struct smtpd_listener {
	struct smtp_session_cfg cfg;
	struct runner *runner;
};


static void *on_open(struct conn *c, void *listener_arg, struct buf *in)
{
	struct smtpd_listener *l = listener_arg;
	struct smtp_session *s = smtp_session_new(
		&l->cfg, conn_peer(c), &conn_session_io, c, l->runner, in);
	if (s)
		smtp_session_start(s);
	return s;
}

static void on_input(void *data)
{
	smtp_session_input(data);
}

static void on_tls_ready(void *data)
{
	smtp_session_tls_ready(data);
}

static void on_drain(void *data)
{
	/* SMTP replies are small: nothing waits for the output to drain. */
}

static void on_timeout(void *data)
{
	smtp_session_timeout(data);
}

static void on_closed(void *data)
{
	smtp_session_closed(data);
}

static const struct conn_handler smtpd_handler = {
	.open = on_open,
	.input = on_input,
	.tls_ready = on_tls_ready,
	.drain = on_drain,
	.timeout = on_timeout,
	.closed = on_closed,
};

/* Issue 9: the outbound queue runner lives in this process (outbound.h
 * says why); sessions kick it when they queue a message. */
static void queue_kick(void *arg)
{
	outbound_kick(arg);
}

static struct workq *pool_or_die(struct server *srv, const char *name,
                                 unsigned threads,
                                 struct store_worker_conf *conf)
{
	struct workq *wq = workq_new(srv, name, threads,
	                             store_worker_open_conf,
	                             store_worker_close, conf);
	if (!wq)
		daemon_die("cannot start %s workers", name);
	return wq;
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	struct config *cfg = daemon_setup(argc, argv, "smtpd", &args);
	char err[256];

	struct server *srv = server_new("smtpd");
	if (!srv)
		daemon_die("cannot start the event loop");
	server_tls_alpn(srv, "smtp"); /* ALPACA: refuse other protocols */
	if (cfg->tls.cert && server_tls_load(srv, cfg->tls.cert, cfg->tls.key,
	                                     err, sizeof err) != 0)
		daemon_die("%s", err);

	unsigned total = cfg->smtp.max_connections;
	struct smtp_env env = {
		.clock = server_clock(srv),
		.throttle = throttle_new(SMTPD_THROTTLE_SLOTS,
		                         SMTPD_THROTTLE_LIMIT,
		                         SMTPD_THROTTLE_WINDOW),
	};
	/* Counted at accept, across the three listeners (conn.h). */
	if (!env.throttle ||
	    server_limit_clients(srv, total, clients_per_addr_limit(total)) != 0)
		daemon_die("out of memory");

	const struct server_limits lim = {
		.input_max = 64 * 1024 + 1024, /* one piece plus a line */
		.max_connections = total,
		.timeout = cfg->smtp.timeout,
		.shutdown_grace = 10,
		.handshake_timeout = 30,
	};
	const struct {
		const char *name;
		const struct listen_list *addrs;
		enum smtp_listener kind;
		bool implicit_tls;
	} ls[] = {
		{"smtp", &cfg->smtp.listen, SMTP_LISTENER_MX, false},
		{"submission", &cfg->smtp.submission, SMTP_LISTENER_SUBMISSION,
		 false},
		{"submissions", &cfg->smtp.submissions,
		 SMTP_LISTENER_SUBMISSIONS, true},
	};
	/* Lives on main's stack for the whole run: every session of a
	 * listener points at its cfg. */
	struct smtpd_listener lctx[3];

	for (size_t i = 0; i < 3; i++) {
		lctx[i].cfg = (struct smtp_session_cfg){
			.hostname = cfg->server.hostname,
			.max_message_size = cfg->smtp.max_message_size,
			.max_recipients = cfg->smtp.max_recipients,
			.kind = ls[i].kind,
			.tls_available = server_has_tls(srv),
			.plaintext_auth_loopback =
				cfg->server.plaintext_auth_loopback,
			.timeout = cfg->smtp.timeout,
			.auth_fail_delay_ms = SMTPD_AUTH_FAIL_DELAY_MS,
			.env = &env,
		};
		lctx[i].runner = NULL; /* set once the workers run */
		if (server_listen(srv, ls[i].name, ls[i].addrs,
		                  ls[i].implicit_tls, &smtpd_handler, &lctx[i],
		                  &lim, err, sizeof err) != 0)
			daemon_die("%s", err);
		if (ls[i].kind == SMTP_LISTENER_SUBMISSION &&
		    server_listen_port(srv, ls[i].name) && !server_has_tls(srv))
			log_warn(NULL, "submission listener without [tls] cert: "
			         "clients cannot STARTTLS, so cannot send");
	}

	/* The relay password file is read while still privileged. */
	struct outbound_cfg obcfg;
	if (outbound_cfg_from(cfg, &obcfg, err, sizeof err) != 0)
		daemon_die("%s", err);

	/* Bound and holding the key: the rest runs unprivileged, and the
	 * store is opened as the user that will use it. */
	daemon_drop_privileges(cfg);
	if (store_worker_check(cfg->server.data_dir, err, sizeof err) != 0)
		daemon_die("%s", err);
	/* Every worker's store resolves recipients the same way. */
	struct store_worker_conf wconf = {
		.data_dir = cfg->server.data_dir,
		.recipient_delimiter = cfg->server.recipient_delimiter,
	};
	struct workq *auth = pool_or_die(srv, "auth", SMTPD_AUTH_THREADS,
	                                 &wconf);
	struct workq *store = pool_or_die(srv, "store", SMTPD_STORE_THREADS,
	                                  &wconf);
	struct workq *lookup = pool_or_die(srv, "lookup", SMTPD_LOOKUP_THREADS,
	                                   &wconf);
	struct workq *queue = pool_or_die(srv, "queue", 1, &wconf);
	struct outbound *ob = outbound_new(srv, workq_runner(queue), &obcfg,
	                                   err, sizeof err);
	if (!ob)
		daemon_die("queue runner: %s", err);
	env.queue_kick = queue_kick;
	env.queue_arg = ob;
	env.auth = workq_runner(auth);
	env.lookup = workq_runner(lookup);
	for (size_t i = 0; i < 3; i++)
		lctx[i].runner = workq_runner(store);

	/* Runs until SIGTERM/SIGINT plus the shutdown grace. Pauses end
	 * first, then the pools are freed after the loop: jobs still queued
	 * complete (their done callbacks free closed sessions) before the
	 * threads stop. */
	int rc = server_run(srv);
	outbound_stop(ob);
	workq_free(queue); /* results of finished deliveries are recorded */
	outbound_free(ob);
	workq_free(store);
	workq_free(lookup);
	workq_free(auth);
	server_free(srv);
	throttle_free(env.throttle);
	config_free(cfg);
	return rc;
}
