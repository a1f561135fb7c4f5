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
