/* Glue between the worker pool (common/workq.h) and the store: every
 * worker thread opens its own store connection (SQLite connections are not
 * shared between threads). */
#ifndef POSTLITE_STORE_WORKER_H
#define POSTLITE_STORE_WORKER_H

#include <stddef.h>

/* workq thread_init: data_dir is the store directory (a const char *).
 * Returns the thread's struct store *, or NULL when the store cannot be
 * opened (logged; jobs on that thread then see a NULL store and answer
 * with a temporary failure). */
void *store_worker_open(void *data_dir);

/* workq thread_fini. */
void store_worker_close(void *wctx);

/* Opens and closes the store once, so a daemon can refuse to start on a
 * missing or damaged store with one clear line. Returns 0, or -1 with the
 * reason (which says to run `postlite init` where that helps) in err. */
int store_worker_check(const char *data_dir, char *err, size_t errlen);

#endif
