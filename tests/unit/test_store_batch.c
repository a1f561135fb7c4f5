/* Unit tests of batches (group commit): store_batch_* directly and
 * store_deliver_group through job_run_batch, the way workq runs queued
 * deliveries. One job's failure must not sink the others; a batch that
 * cannot start or commit fails every job; reads work inside; another
 * writer is waited for. */
#include <pthread.h>

#include "job.h"
#include "store_worker.h"
#include "test_store_util.h"

struct djob {
	struct job job; /* first */
	struct store_ran {
		uint64_t msg;
		uint64_t rcpt;
		const char *text;
	} in;
	enum store_status status;
	bool ran;
};

static void djob_work(struct job *j, void *wctx)
{
	struct djob *d = (struct djob *)j;
	d->ran = true;
	d->status = store_msg_deliver(wctx, &d->in.msg, d->in.text,
	                              strlen(d->in.text), &d->in.rcpt, 1);
}

static void test_group(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org");
	uint64_t b = mbox_of(st, "bob@example.org");
	CHECK_INT(store_quota_set(st, "bob@example.org", 10), STORE_OK);
	struct djob d[4] = {
		{.in = {0, a, "one"}},
		{.in = {424242, a, "not pending"}},
		{.in = {0, b, "far too big for bob"}},
		{.in = {0, b, "fits"}},
	};
	struct job *jobs[4];
	for (int i = 0; i < 4; i++) {
		d[i].job.work = djob_work;
		d[i].job.group = &store_deliver_group;
		d[i].job.group_status = -1;
		jobs[i] = &d[i].job;
	}
	job_run_batch(jobs, 4, st);
	CHECK_INT(d[0].status, STORE_OK);
	CHECK_INT(d[1].status, STORE_NOTFOUND);
	CHECK_INT(d[2].status, STORE_OVERQUOTA);
	CHECK_INT(d[3].status, STORE_OK);
	for (int i = 0; i < 4; i++)
		CHECK_INT(d[i].job.group_status, 0);
	CHECK_INT(count_entries(st, a, NULL), 1);
	CHECK_INT(count_entries(st, b, NULL), 1);

	/* A worker without a store: nothing runs, every job fails. */
	d[0].ran = false;
	job_run_batch(jobs, 1, NULL);
	CHECK(!d[0].ran);
	CHECK_INT(d[0].job.group_status, STORE_TEMPFAIL);
	store_close(st);
}

static void test_batch_calls(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org"), msg = 0;
	CHECK_INT(store_batch_commit(st), STORE_PERMFAIL);
	store_batch_rollback(st); /* none open: harmless */
	CHECK_INT(store_batch_begin(st), STORE_OK);
	CHECK_INT(store_batch_begin(st), STORE_PERMFAIL);
	/* Pieces, delivery, listing and reading, all inside. */
	msg = 0;
	CHECK_INT(store_msg_append(st, &msg, "Subject: x\r\n\r\n", 14), STORE_OK);
	CHECK_INT(store_msg_deliver(st, &msg, "body\r\n", 6, &a, 1), STORE_OK);
	struct store_entry e;
	CHECK_INT(count_entries(st, a, &e), 1);
	char buf[32];
	size_t got = 0;
	CHECK_INT(store_entry_read(st, a, e.id, 14, buf, sizeof buf, &got),
	          STORE_OK);
	CHECK_MEM(buf, got, "body\r\n");
	/* Not visible to another connection before the commit. */
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT count(*) FROM entries"), 0);
	CHECK_INT(store_batch_commit(st), STORE_OK);
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT count(*) FROM entries"), 1);
	/* Rolled back: gone, and the handle works on. */
	CHECK_INT(store_batch_begin(st), STORE_OK);
	msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "x", 1, &a, 1), STORE_OK);
	store_batch_rollback(st);
	CHECK_INT(count_entries(st, a, NULL), 1);
	msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "y", 1, &a, 1), STORE_OK);
	CHECK_INT(count_entries(st, a, NULL), 2);
	/* Closing with a batch open undoes it. */
	CHECK_INT(store_batch_begin(st), STORE_OK);
	msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "z", 1, &a, 1), STORE_OK);
	store_close(st);
	if (strcmp(dir, ":memory:") != 0)
		CHECK_INT(sql_int("SELECT count(*) FROM entries"), 2);
}

/* Another process's writer holds the lock for a while. */
static void *hold_lock(void *arg)
{
	sqlite3 *db = arg;
	usleep(300 * 1000);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

static void test_waits_for_writer(const char *dir)
{
	struct store *st = open_users(dir);
	if (!st)
		return;
	uint64_t a = mbox_of(st, "alice@example.org"), msg = 0;
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	          SQLITE_OK);
	pthread_t t;
	pthread_create(&t, NULL, hold_lock, db);
	CHECK_INT(store_batch_begin(st), STORE_OK);
	CHECK_INT(store_msg_deliver(st, &msg, "w", 1, &a, 1), STORE_OK);
	CHECK_INT(store_batch_commit(st), STORE_OK);
	pthread_join(t, NULL);
	sqlite3_close(db);
	CHECK_INT(count_entries(st, a, NULL), 1);
	store_close(st);
}

int main(void)
{
	if (tmp_setup("store-batch") != 0)
		return 1;
	test_group(":memory:");
	test_batch_calls(":memory:");
	test_group(fresh("group", true));
	test_batch_calls(fresh("calls", true));
	test_waits_for_writer(fresh("writer", true));
	tmp_cleanup();
	return t_done("store_batch");
}
