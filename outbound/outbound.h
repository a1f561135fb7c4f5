/* The outbound queue runner (issue 9), run inside postlite-smtpd.
 *
 * Why inside smtpd and not a third daemon: on a small appliance one
 * process fewer is less memory and less to supervise; the runner shares
 * smtpd's libuv loop, its TLS code and its store workers' design, and
 * smtpd is the one program that fills the queue, so it can start a
 * delivery the moment a message is committed. The cost — a runner bug can
 * take the receiver down with it — is bounded by the same rules as the
 * sessions (bounded buffers, limits, timeouts), and a restart loses
 * nothing: the queue is in the store, and every recipient row stays until
 * its outcome is committed (at-least-once).
 *
 * Threads: everything here runs on the loop thread; store work goes to
 * the runner given at start (its own worker pool, one store handle per
 * thread). */
#ifndef POSTLITE_OUTBOUND_H
#define POSTLITE_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct server;
struct runner;
struct outbound;

/* The retry schedule and lifetime come from [queue] (defaults 5m doubling
 * to 4h, 5 days: RFC 5321 4.5.4.1 asks to give up after 4-5 days). */
#define OUTBOUND_POLL 60
/* RFC 5321 6.3: a loop is assumed past this many Received: fields. */
#define OUTBOUND_MAX_RECEIVED 30

struct outbound_cfg {
	const char *hostname;   /* EHLO, DSN Reporting-MTA */
	const char *data_dir;   /* DKIM keys in data_dir/dkim/ */
	/* [relay]: host NULL means direct delivery by MX. */
	const char *relay_host;
	unsigned relay_port;
	enum relay_tls relay_tls;
	const char *relay_user;
	char relay_pass[256];   /* read from password_file before the drop */
	unsigned lifetime;      /* seconds in the queue before bouncing */
	unsigned backoff_min, backoff_max; /* seconds between tries */
	unsigned poll;          /* seconds between queue scans */
	unsigned mx_port;       /* 25 (tests use another) */
	const char *dns_servers;/* NULL: /etc/resolv.conf */
	const char *ca_file;    /* CAs for verifying a smarthost */
	unsigned max_sessions;  /* deliveries at once */
	unsigned connect_timeout;
	unsigned reply_timeout;  /* 0: RFC 5321 4.5.3.2's; else at most */
};

/* Fills cfg from the daemon's config: [server] hostname and data_dir,
 * [relay] (reading password_file now: call it before dropping
 * privileges; ca_file), [queue] lifetime and retry_min/retry_max, and
 * these environment overrides (tests and diagnosis only):
 *   POSTLITE_QUEUE_LIFETIME   seconds
 *   POSTLITE_QUEUE_BACKOFF    "MIN,MAX" seconds
 *   POSTLITE_QUEUE_POLL       seconds
 *   POSTLITE_QUEUE_MX_PORT    destination port for MX delivery
 *   POSTLITE_QUEUE_DNS        resolver list "ADDR[:PORT],..."
 *   POSTLITE_QUEUE_CA_FILE    CA bundle for a verified smarthost
 *   POSTLITE_QUEUE_TIMEOUT    seconds, caps every connect and reply wait
 * cfg points into config (it must outlive cfg). Returns 0, or -1 with
 * a reason in err (unreadable password file). */
int outbound_cfg_from(const struct config *config, struct outbound_cfg *cfg,
                      char *err, size_t errlen);

/* Starts the runner on srv's loop; store_runner runs its store work. The
 * first queue scan happens at once. NULL with a reason in err. */
struct outbound *outbound_new(struct server *srv, struct runner *store_runner,
                              const struct outbound_cfg *cfg, char *err,
                              size_t errlen);

/* Something was queued: scan the queue now rather than at the next tick. */
void outbound_kick(struct outbound *ob);

/* After the loop stopped: no new deliveries; timers and the resolver
 * close. Jobs still in flight complete when the store pool is drained
 * (their results are recorded); call outbound_free after that. */
void outbound_stop(struct outbound *ob);
void outbound_free(struct outbound *ob);

#endif
