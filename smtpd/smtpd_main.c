/* postlite-smtpd: configuration, listeners, the store workers, the loop.
 * Everything protocol-shaped lives in smtp_session.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "smtp_session.h"
#include "store.h"
#include "workq.h"

/* Store worker threads: SQLite commits must not run on the loop, and two
 * threads let one session's fsync overlap another's lookup. */
#define SMTPD_STORE_THREADS 2

/* What one listener's connections share. */
struct smtpd_listener {
	struct smtp_session_cfg cfg;
	struct runner *runner;
};

static void *store_thread_init(void *arg)
{
	const struct config *cfg = arg;
	struct store *st = NULL;
	char err[256];

	if (store_open(cfg->server.data_dir, &st, err, sizeof err) != STORE_OK) {
		/* The session answers 451 for every job on this thread. */
		log_err(NULL, "store worker: %s", err);
		return NULL;
	}
	return st;
}

static void store_thread_fini(void *wctx)
{
	if (wctx)
		store_close(wctx);
}

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

/* Refuses to start without a usable store: better one clear line now than
 * a 451 to every client. */
static void check_store(const struct config *cfg)
{
	struct store *st;
	char err[256];

	if (store_open(cfg->server.data_dir, &st, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "postlite-smtpd: cannot open the store in %s: "
		        "%s%s\n", cfg->server.data_dir, err,
		        strstr(err, "postlite init") ? "" : " (run postlite init)");
		exit(1);
	}
	store_close(st);
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	struct config *cfg = daemon_setup(argc, argv, "smtpd", &args);
	char err[256];

	check_store(cfg);
	struct server *srv = server_new("smtpd");
	if (!srv) {
		fprintf(stderr, "postlite-smtpd: cannot start the event loop\n");
		return 1;
	}
	if (cfg->tls.cert && server_tls_load(srv, cfg->tls.cert, cfg->tls.key,
	                                     err, sizeof err) != 0) {
		fprintf(stderr, "postlite-smtpd: %s\n", err);
		return 1;
	}
	struct workq *wq = workq_new(srv, "store", SMTPD_STORE_THREADS,
	                             store_thread_init, store_thread_fini, cfg);
	if (!wq) {
		fprintf(stderr, "postlite-smtpd: cannot start store workers\n");
		return 1;
	}

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
		lctx[i].runner = workq_runner(wq);
		if (ls[i].addrs->n == 0)
			continue;
		if (server_listen(srv, ls[i].name, ls[i].addrs,
		                  ls[i].implicit_tls, &smtpd_handler, &lctx[i],
		                  &lim, err, sizeof err) != 0) {
			fprintf(stderr, "postlite-smtpd: %s: %s\n", ls[i].name,
			        err);
			return 1;
		}
		if (ls[i].kind == SMTP_LISTENER_SUBMISSION && !server_has_tls(srv))
			log_warn(NULL, "submission listener without [tls] cert: "
			         "clients cannot STARTTLS, so cannot send");
	}

	int rc = server_run(srv);
	workq_free(wq);
	server_free(srv);
	config_free(cfg);
	return rc;
}
