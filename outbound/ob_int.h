/* Private to the runner's files: ob_runner.c (scans, starts deliveries),
 * ob_deliver.c (one delivery on the loop), ob_work.c (its store work on a
 * worker thread). */
#ifndef POSTLITE_OB_INT_H
#define POSTLITE_OB_INT_H

#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "ob_dns.h"
#include "outbound.h"
#include "smtpc.h"
#include "store_queue.h"

struct conn;
struct tls_client;

struct outbound {
	struct outbound_cfg cfg;
	struct server *srv;
	void *loop;                  /* uv_loop_t */
	struct runner *runner;       /* store work */
	struct ob_dns *dns;
	struct tls_client *tls;
	void *tick;                  /* uv_timer_t (heap: closed async) */
	struct ob_scan_job *scan;    /* a scan in flight, or NULL */
	bool rescan;                 /* kicked while scanning */
	bool stopping;
	unsigned active;
	struct ob_delivery *deliveries;
};

enum ob_job_kind {
	OB_JOB_PREPARE,  /* scan the body: size, 8-bit, Received:, DKIM */
	OB_JOB_READ,     /* one body piece for the wire */
	OB_JOB_FINISH,   /* bounces and the results, durably */
};

struct ob_rcpt {
	uint64_t rid;
	char addr[STORE_ADDRESS_MAX];
	unsigned attempts;
	struct smtpc_rcpt res;   /* the outcome so far */
	char mta[256];           /* the host that answered, if any */
};

/* One delivery: the recipients of one message at one domain (or all of
 * them, through a smarthost). */
struct ob_delivery {
	struct job job;          /* first: job.h callbacks cast back */
	enum ob_job_kind kind;
	struct outbound *ob;
	struct ob_delivery *next;
	char id[32];             /* for logs: "q<qid>.<n>" */
	uint64_t qid;
	char domain[STORE_ADDRESS_MAX];
	char sender[STORE_ADDRESS_MAX];
	unsigned flags;
	int64_t created;
	size_t n;
	struct ob_rcpt *rcpt;

	/* PREPARE's results */
	enum store_status status;
	uint64_t wire_size;
	bool eightbit;
	unsigned received;
	size_t skip;             /* Return-Path: bytes at the start */
	uint64_t npieces;        /* body pieces; fewer later: deleted */
	struct buf dkim_sig;     /* "DKIM-Signature: ...\r\n" or empty */
	struct buf headers;      /* for the DSN */

	/* routing and the session */
	struct ob_route *route;
	size_t host_i, addr_i, tries;
	struct conn *c;
	struct smtpc sm;
	struct smtpc_rcpt *sess;   /* the session's recipients */
	size_t *sess_map;          /* sess[i] is rcpt[sess_map[i]] */
	size_t nsess;
	struct buf *sess_in;       /* the connection's input */
	bool body_started;
	bool plain;                /* retrying without STARTTLS (RFC 7435) */

	/* the body on the wire */
	uint64_t seq;
	bool reading, eof;
	struct buf piece;          /* READ's result */
	struct smtpc_stuff stuff;
	struct buf wire;
};

/* ob_deliver.c */
void ob_delivery_start(struct outbound *ob, struct ob_delivery *d);
/* ob_runner.c: a delivery is over (memory freed by the caller). */
void ob_delivery_gone(struct outbound *ob, struct ob_delivery *d);
void ob_delivery_free(struct ob_delivery *d);
/* ob_work.c: the worker side of each job kind. */
void ob_work(struct job *j, void *wctx);
/* The queue flags of a bounce to sender: SMTPUTF8 for a non-ASCII
 * address (RFC 6531 3.4), which cannot go back without it. */
unsigned ob_bounce_flags(const char *sender);
/* The next attempt for a delivery tried `attempts` times. */
int64_t ob_next_try(const struct outbound_cfg *cfg, unsigned attempts,
                    int64_t now);

#endif
