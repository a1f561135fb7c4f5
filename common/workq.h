/* A pool of worker threads that runs jobs (job.h) off the event loop and
 * completes them on it. Each thread builds a private context at start
 * (e.g. opens its own store connection) so nothing is shared between
 * threads but the queue. */
#ifndef POSTLITE_WORKQ_H
#define POSTLITE_WORKQ_H

#include "job.h"

struct server;
struct workq;

/* thread_init(arg) runs on each new thread and returns its wctx (NULL is
 * allowed); thread_fini(wctx) runs on that thread when the pool stops.
 * Returns NULL on failure. */
struct workq *workq_new(struct server *srv, const char *name, unsigned threads,
                        void *(*thread_init)(void *arg),
                        void (*thread_fini)(void *wctx), void *arg);

/* The runner to hand to sessions. */
struct runner *workq_runner(struct workq *wq);

/* Jobs queued and not yet completed. */
unsigned workq_pending(const struct workq *wq);

/* Finishes queued jobs, stops and joins the threads, frees the pool. Call
 * after the loop has stopped. */
void workq_free(struct workq *wq);

#endif
