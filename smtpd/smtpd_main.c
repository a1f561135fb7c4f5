/* postlite-smtpd: configuration, listeners, the store workers, the loop.
 * Everything protocol-shaped lives in smtp_session.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "smtp_session.h"
#include "store_worker.h"
#include "workq.h"

/* Store worker threads: SQLite commits must not run on the loop, and two
 * threads let one session's fsync overlap another's lookup. */
#define SMTPD_STORE_THREADS 2

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

	const struct server_limits lim = {
		.input_max = 64 * 1024 + 1024, /* one piece plus a line */
		.max_connections = cfg->smtp.max_connections,
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
			.timeout = cfg->smtp.timeout,
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

	/* Bound and holding the key: the rest runs unprivileged, and the
	 * store is opened as the user that will use it. */
	daemon_drop_privileges(cfg);
	if (store_worker_check(cfg->server.data_dir, err, sizeof err) != 0)
		daemon_die("%s", err);
	struct workq *wq = workq_new(srv, "store", SMTPD_STORE_THREADS,
	                             store_worker_open, store_worker_close,
	                             cfg->server.data_dir);
	if (!wq)
		daemon_die("cannot start store workers");
	for (size_t i = 0; i < 3; i++)
		lctx[i].runner = workq_runner(wq);

	/* Runs until SIGTERM/SIGINT plus the shutdown grace. The pool is
	 * freed after the loop: jobs still queued complete (their done
	 * callbacks free closed sessions) before the threads stop. */
	int rc = server_run(srv);
	workq_free(wq);
	server_free(srv);
	config_free(cfg);
	return rc;
}
