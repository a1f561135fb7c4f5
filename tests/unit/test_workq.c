/* workq: every job gets one done; grouped jobs queued together share one
 * begin/commit; a failed commit reaches every job of its batch; idle
 * workers are woken for every job (no lost wake-up). */
#include <semaphore.h>
#include <stdlib.h>

#include "conn.h"
#include "t.h"
#include "workq.h"

struct ctx {
	int begins, commits, rollbacks, works;
	int fail_commit;
};

struct tjob {
	struct job j;
	sem_t *gate; /* the first job waits here so the others queue up */
	int done_calls;
	int saw_status;
};

static void *thread_init(void *arg)
{
	return arg;
}

static void work(struct job *j, void *wctx)
{
	struct tjob *t = (struct tjob *)j;
	struct ctx *c = wctx;
	if (t->gate)
		sem_wait(t->gate);
	c->works++;
}

static void done(struct job *j)
{
	struct tjob *t = (struct tjob *)j;
	t->done_calls++;
	t->saw_status = j->group_status;
}

static int g_begin(void *wctx)
{
	((struct ctx *)wctx)->begins++;
	return 0;
}

static int g_commit(void *wctx)
{
	struct ctx *c = wctx;
	c->commits++;
	return c->fail_commit;
}

static void g_rollback(void *wctx)
{
	((struct ctx *)wctx)->rollbacks++;
}

static const struct job_group group = {g_begin, g_commit, g_rollback, 64};

static void run(int fail_commit)
{
	struct server *srv = server_new("test");
	struct ctx c = {.fail_commit = fail_commit};
	struct workq *wq = workq_new(srv, "t", 1, thread_init, NULL, &c);
	sem_t gate;
	sem_init(&gate, 0, 0);

	enum { N = 100 };
	struct tjob *jobs = calloc(N + 1, sizeof *jobs);
	/* Job 0 (ungrouped) holds the only thread until all are queued. */
	jobs[0].j = (struct job){.work = work, .done = done};
	jobs[0].gate = &gate;
	runner_submit(workq_runner(wq), &jobs[0].j);
	for (int i = 1; i <= N; i++) {
		jobs[i].j = (struct job){.work = work, .done = done,
		                         .group = (i % 10) ? &group : NULL};
		runner_submit(workq_runner(wq), &jobs[i].j);
	}
	sem_post(&gate);
	workq_free(wq); /* runs until every done has been called */
	server_free(srv);

	int once = 1;
	for (int i = 0; i <= N; i++)
		once &= jobs[i].done_calls == 1;
	CHECK(once);
	CHECK_INT(c.works, N + 1);
	/* 90 grouped jobs, at most 64 per batch: two commits, not 90. */
	CHECK_INT(c.begins, 2);
	CHECK_INT(c.commits, 2);
	CHECK_INT(c.rollbacks, fail_commit ? 2 : 0);
	int status_ok = 1;
	for (int i = 1; i <= N; i++)
		status_ok &= jobs[i].saw_status ==
		             ((i % 10) ? fail_commit : 0);
	CHECK(status_ok);
	sem_destroy(&gate);
	free(jobs);
}

/* A chain of jobs, each submitted from the previous one's done: every
 * submit finds the workers asleep or going to sleep, the case in which a
 * lost wake-up would hang the loop. Several chains run at once over three
 * threads. The worker context counts work calls (atomically: threads). */
enum { CHAINS = 4, LINKS = 2000 };

struct link {
	struct job j;
	struct workq *wq;
	int left;
};

static int chain_works;

static void chain_work(struct job *j, void *wctx)
{
	(void)j;
	(void)wctx;
	__atomic_add_fetch(&chain_works, 1, __ATOMIC_RELAXED);
}

static void chain_done(struct job *j)
{
	struct link *l = (struct link *)j;
	if (--l->left > 0)
		runner_submit(workq_runner(l->wq), &l->j);
}

static void wake_chains(void)
{
	struct server *srv = server_new("test");
	struct workq *wq = workq_new(srv, "t", 3, NULL, NULL, NULL);
	struct link links[CHAINS];
	chain_works = 0;
	for (int i = 0; i < CHAINS; i++) {
		links[i] = (struct link){
			.j = {.work = chain_work, .done = chain_done},
			.wq = wq,
			.left = LINKS,
		};
		runner_submit(workq_runner(wq), &links[i].j);
	}
	workq_free(wq); /* turns the loop until no job is pending */
	server_free(srv);
	CHECK_INT(chain_works, CHAINS * LINKS);
	int all = 1;
	for (int i = 0; i < CHAINS; i++)
		all &= links[i].left == 0;
	CHECK(all);
}

int main(void)
{
	run(0);
	run(-5);
	wake_chains();
	return t_done("workq");
}
