#include "store_worker.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"

void *store_worker_open(void *data_dir)
{
	struct store *st;
	char err[256];
	if (store_open(data_dir, &st, err, sizeof err) != STORE_OK) {
		log_err(NULL, "store worker: %s", err);
		return NULL;
	}
	return st;
}

void store_worker_close(void *wctx)
{
	if (wctx)
		store_close(wctx);
}

int store_worker_check(const char *data_dir, char *err, size_t errlen)
{
	struct store *st;
	char why[256];
	if (store_open(data_dir, &st, why, sizeof why) != STORE_OK) {
		snprintf(err, errlen, "cannot open the store in %s: %s%s",
		         data_dir, why,
		         strstr(why, "postlite init") ? ""
		                                      : " (run postlite init)");
		return -1;
	}
	store_close(st);
	return 0;
}

/* Group commit for deliveries (job.h): the batch's begin and commit are
 * the store's; a job's store calls run in savepoints inside it. The
 * statuses go through job_group's int. */
static int store_group_begin(void *wctx)
{
	return (int)store_batch_begin(wctx); /* TEMPFAIL when wctx is NULL */
}

static int store_group_commit(void *wctx)
{
	return (int)store_batch_commit(wctx);
}

static void store_group_rollback(void *wctx)
{
	store_batch_rollback(wctx);
}

const struct job_group store_deliver_group = {
	store_group_begin, store_group_commit, store_group_rollback,
	STORE_DELIVER_BATCH_MAX,
};

void *store_worker_open_conf(void *conf)
{
	const struct store_worker_conf *c = conf;
	struct store *st = store_worker_open((void *)c->data_dir);
	if (st && store_set_delimiters(st, c->recipient_delimiter) !=
	                  STORE_OK) {
		log_err(NULL, "store worker: %s", store_errmsg(st));
		store_close(st);
		return NULL;
	}
	return st;
}
