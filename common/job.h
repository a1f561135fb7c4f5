/* Work that must not run on the event loop (SQLite, fsync, password
 * hashing) is described by a job and handed to a runner.
 *
 * A runner runs job->work on some worker thread, then job->done on the loop
 * thread. The daemons use workq (workq.h: own threads, libuv wake-up); unit
 * tests use an inline runner that runs both when the test drains it. The job
 * is owned by the submitter and must stay alive until done has been called;
 * done is always called, exactly once, even while the daemon shuts down. */
#ifndef POSTLITE_JOB_H
#define POSTLITE_JOB_H

struct job_group;

struct job {
	/* Runs on a worker thread. wctx is that thread's private context
	 * (the daemons give each worker its own struct store *). */
	void (*work)(struct job *j, void *wctx);
	/* Runs on the loop thread after work returned. */
	void (*done)(struct job *j);
	/* Group commit (optional): jobs that name the same group and are
	 * queued together run back to back on one worker between
	 * group->begin and group->commit, so they share one transaction and
	 * one fsync. The runner sets group_status before done: 0 when the
	 * shared commit succeeded, else begin's or commit's error, which
	 * then applies to every job of the batch (their work was undone). A
	 * runner may also run a grouped job alone (begin, work, commit). */
	const struct job_group *group;
	int group_status;
	struct job *next; /* the runner's; do not touch */
};

struct job_group {
	int (*begin)(void *wctx);  /* 0 or an error: then no work runs */
	int (*commit)(void *wctx); /* 0 or an error: the batch is lost */
	void (*rollback)(void *wctx);
	unsigned max; /* jobs per batch, at least 1 */
};

struct runner {
	void (*submit)(struct runner *r, struct job *j);
};

static inline void runner_submit(struct runner *r, struct job *j)
{
	r->submit(r, j);
}

/* Runs a batch of jobs of one group on wctx: begin, every work, commit
 * (or rollback), and sets each job's group_status. Shared by the runners. */
void job_run_batch(struct job **jobs, unsigned n, void *wctx);

/* A runner for tests and tools: submit() only queues; runner_inline_drain()
 * runs work then done for every queued job (including jobs queued by done
 * callbacks) on the calling thread; grouped jobs run as batches of one. */
struct runner_inline {
	struct runner r;
	void *wctx;
	struct job *head, *tail;
};

void runner_inline_init(struct runner_inline *ri, void *wctx);
/* Returns the number of jobs run. */
unsigned runner_inline_drain(struct runner_inline *ri);

#endif
