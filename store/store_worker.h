/* Glue between the worker pool (common/workq.h) and the store: every
 * worker thread opens its own store connection (SQLite connections are not
 * shared between threads). */
#ifndef POSTLITE_STORE_WORKER_H
#define POSTLITE_STORE_WORKER_H

#include <stddef.h>

#include "job.h"

/* workq thread_init: data_dir is the store directory (a const char *).
 * Returns the thread's struct store *, or NULL when the store cannot be
 * opened (logged; jobs on that thread then see a NULL store and answer
 * with a temporary failure). */
void *store_worker_open(void *data_dir);

/* workq thread_init with settings from the config: conf is a
 * struct store_worker_conf * that outlives the pool. */
struct store_worker_conf {
	const char *data_dir;
	/* [server] recipient_delimiter: NULL or "" turns plus-addressing off */
	const char *recipient_delimiter;
};
void *store_worker_open_conf(void *conf);

/* workq thread_fini. */
void store_worker_close(void *wctx);

/* Opens and closes the store once, so a daemon can refuse to start on a
 * missing or damaged store with one clear line. Returns 0, or -1 with the
 * reason (which says to run `postlite init` where that helps) in err. */
int store_worker_check(const char *data_dir, char *err, size_t errlen);

/* Deliveries queued together commit together: give the job that calls
 * store_msg_deliver (and whatever else it does on the store) this group.
 * Its group_status is then a store_status: 0 (OK) when the shared commit
 * made the job's work durable; otherwise that work is undone (NOSPACE,
 * TEMPFAIL...: answer with a temporary failure). A job's own status says
 * how its calls went inside the batch. */
#define STORE_DELIVER_BATCH_MAX 64
extern const struct job_group store_deliver_group;

#endif
