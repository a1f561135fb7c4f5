/* postlite-pop3d: POP3 on the `listen` addresses (STLS) and on the `pop3s`
 * addresses (implicit TLS, RFC 8314). Wiring only: the protocol is in
 * pop3_session.c, the I/O in common/conn.h, the mailboxes in store/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "pop3_logins.h"
#include "pop3_session.h"
#include "store_worker.h"
#include "throttle.h"
#include "workq.h"

/* Login abuse policy until [pop3] has keys for it (defaults only). */
#define POP3D_FAIL_DELAY_MS 2000  /* before each failed-login reply */
#define POP3D_THROTTLE_SLOTS 4096 /* addresses remembered */
#define POP3D_THROTTLE_LIMIT 10   /* failures per address per window */
#define POP3D_THROTTLE_WINDOW 900 /* seconds */
#define POP3D_LOGINS_SLOTS 4096   /* mailboxes remembered (LOGIN-DELAY) */

struct pop3d_ctx {
	const struct config *cfg;
	struct server *srv;
	struct runner *store_runner, *auth_runner;
	struct throttle *throttle;
	struct pop3_logins *logins;
	unsigned timeout;
};

struct pop3d_listener {
	struct pop3d_ctx *ctx;
	bool implicit_tls;
};

/* ---- conn_handler: the I/O layer calls these on the loop thread ------ */

static void *pop3d_open(struct conn *c, void *arg, struct buf *in)
{
	const struct pop3d_listener *l = arg;
	const struct config *cfg = l->ctx->cfg;
	const struct session_peer *peer = conn_peer(c);
	struct pop3_session_cfg scfg = {
		.hostname = cfg->server.hostname,
		.tls_available = server_has_tls(l->ctx->srv),
		.implicit_tls = l->implicit_tls,
		/* DESIGN.md: plaintext passwords only with the switch on and
		 * only on a loopback listener. */
		.plaintext_auth = cfg->server.plaintext_auth_loopback &&
		                  peer->local_loopback,
		.timeout = l->ctx->timeout,
		.login_delay = cfg->pop3.login_delay,
		.expire = cfg->pop3.expire,
		.fail_delay_ms = POP3D_FAIL_DELAY_MS,
		.throttle = l->ctx->throttle,
		.logins = l->ctx->logins,
		.clock = server_clock(l->ctx->srv),
	};
	struct pop3_session *s =
	        pop3_session_new(&scfg, peer, &conn_session_io, c,
	                         l->ctx->store_runner, l->ctx->auth_runner, in);
	if (s)
		pop3_session_start(s);
	return s;
}

static void pop3d_input(void *data)
{
	pop3_session_input(data);
}

static void pop3d_tls_ready(void *data)
{
	pop3_session_tls_ready(data);
}

static void pop3d_drain(void *data)
{
	pop3_session_drain(data);
}

static void pop3d_timeout(void *data)
{
	pop3_session_timeout(data);
}

static void pop3d_closed(void *data)
{
	pop3_session_closed(data);
}

static const struct conn_handler pop3d_handler = {
	.open = pop3d_open,
	.input = pop3d_input,
	.tls_ready = pop3d_tls_ready,
	.drain = pop3d_drain,
	.timeout = pop3d_timeout,
	.closed = pop3d_closed,
};

static void listen_or_die(struct server *srv, const char *name,
                          const struct listen_list *addrs, bool implicit,
                          struct pop3d_listener *l,
                          const struct server_limits *lim)
{
	char err[256];

	if (server_listen(srv, name, addrs, implicit, &pop3d_handler, l, lim,
	                  err, sizeof err) != 0)
		daemon_die("%s", err);
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	struct config *cfg = daemon_setup(argc, argv, "pop3d", &args);
	char err[256];

	struct server *srv = server_new("pop3d");
	if (!srv)
		daemon_die("out of memory");
	server_tls_alpn(srv, "pop3"); /* ALPACA: refuse other protocols */
	if (cfg->tls.cert &&
	    server_tls_load(srv, cfg->tls.cert, cfg->tls.key, err,
	                    sizeof err) != 0)
		daemon_die("%s", err);

	struct pop3d_ctx ctx = { .cfg = cfg, .srv = srv };
	struct pop3d_listener plain = { &ctx, false }, tls = { &ctx, true };
	ctx.throttle = throttle_new(POP3D_THROTTLE_SLOTS, POP3D_THROTTLE_LIMIT,
	                            POP3D_THROTTLE_WINDOW);
	ctx.logins = pop3_logins_new(POP3D_LOGINS_SLOTS);
	if (!ctx.throttle || !ctx.logins)
		daemon_die("out of memory");
	/* RFC 1939 3: at least 10 minutes; the config schema refuses less. */
	ctx.timeout = cfg->pop3.timeout;
	struct server_limits lim = {
		/* A SASL response line may be 1 KiB (POP3_SASL_LINE_MAX). */
		.input_max = 4096,
		.max_connections = cfg->pop3.max_connections,
		.timeout = ctx.timeout,
		.shutdown_grace = 10,
		.handshake_timeout = 30,
	};
	/* Counted at accept, across both listeners (conn.h), as smtpd does:
	 * max_connections in all, a quarter of it per address. */
	unsigned total = cfg->pop3.max_connections;
	if (server_limit_clients(srv, total, clients_per_addr_limit(total)) !=
	    0)
		daemon_die("out of memory");
	listen_or_die(srv, "pop3", &cfg->pop3.listen, false, &plain, &lim);
	listen_or_die(srv, "pop3s", &cfg->pop3.pop3s, true, &tls, &lim);
	if (!server_listen_port(srv, "pop3") && !server_listen_port(srv, "pop3s"))
		daemon_die("%s: [pop3] has no listen or pop3s address", cfg->path);
	daemon_drop_privileges(cfg);

	/* Refuse to start on a missing store rather than fail every login. */
	if (store_worker_check(cfg->server.data_dir, err, sizeof err) != 0)
		daemon_die("%s", err);

	/* Password hashing has its own threads so a burst of logins never
	 * delays a RETR or a QUIT commit (STYLE 10). */
	struct workq *auth = workq_new(srv, "auth", 2, store_worker_open,
	                               store_worker_close, cfg->server.data_dir);
	struct workq *store = workq_new(srv, "store", 2, store_worker_open,
	                                store_worker_close, cfg->server.data_dir);
	if (!auth || !store)
		daemon_die("cannot start worker threads");
	ctx.auth_runner = workq_runner(auth);
	ctx.store_runner = workq_runner(store);

	int rc = server_run(srv);

	workq_free(store);
	workq_free(auth);
	server_free(srv);
	throttle_free(ctx.throttle);
	pop3_logins_free(ctx.logins);
	config_free(cfg);
	return rc;
}
