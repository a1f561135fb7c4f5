/* Worker pool: a mutex-protected FIFO of jobs in, a list of finished jobs
 * out, and a uv_async_t that wakes the loop to run their done callbacks.
 *
 * Idle workers sleep on a semaphore, not a condition variable: glibc's
 * pthread_cond_wait takes the mutex back marked as contended, so every
 * wake-up cost the worker a futex(FUTEX_WAKE) system call at its next
 * unlock even when nobody waited (bench/PROFILE.md 11). */
#include "workq.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "conn.h"
#include "log.h"

#define WORKQ_MAX_THREADS 16
#define WORKQ_MAX_BATCH 256

struct workq {
	struct runner r; /* first: workq_runner casts back */
	char name[16];
	uv_loop_t *loop;
	uv_async_t wake;
	uv_mutex_t lock;
	uv_sem_t wake_worker; /* one post per idle worker to wake */
	unsigned idle;        /* workers asleep (or about to be) on it */
	struct job *in_head, *in_tail;   /* waiting for a thread */
	struct job *out_head, *out_tail; /* waiting for done */
	unsigned pending;                /* submitted, done not yet run */
	bool stopping;
	unsigned nthreads;
	uv_thread_t threads[WORKQ_MAX_THREADS];
	void *(*thread_init)(void *arg);
	void (*thread_fini)(void *wctx);
	void *arg;
};

static void list_push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void workq_submit(struct runner *r, struct job *j)
{
	struct workq *wq = (struct workq *)r;
	uv_mutex_lock(&wq->lock);
	list_push(&wq->in_head, &wq->in_tail, j);
	wq->pending++;
	bool wake = wq->idle > 0;
	if (wake)
		wq->idle--;
	uv_mutex_unlock(&wq->lock);
	/* After the unlock: a thread woken under the lock would go straight
	 * back to sleep on it. */
	if (wake)
		uv_sem_post(&wq->wake_worker);
}

/* Takes the first queued job and, if it belongs to a group, every other
 * queued job of that group (up to the group's max): concurrent deliveries
 * then share one transaction. Called with the lock held. */
static unsigned take(struct workq *wq, struct job **batch)
{
	struct job *j = wq->in_head;
	if (!j)
		return 0;
	unsigned n = 0, max = 1;
	if (j->group) {
		max = j->group->max ? j->group->max : 1;
		if (max > WORKQ_MAX_BATCH)
			max = WORKQ_MAX_BATCH;
	}
	struct job **pp = &wq->in_head, *prev = NULL;
	while (*pp && n < max) {
		struct job *c = *pp;
		if (n == 0 || (j->group && c->group == j->group)) {
			*pp = c->next;
			if (wq->in_tail == c)
				wq->in_tail = prev;
			batch[n++] = c;
		} else {
			prev = c;
			pp = &c->next;
		}
	}
	return n;
}

static void worker_main(void *arg)
{
	struct workq *wq = arg;
	void *wctx = wq->thread_init ? wq->thread_init(wq->arg) : NULL;

	uv_mutex_lock(&wq->lock);
	for (;;) {
		if (!wq->in_head && !wq->stopping) {
			/* Counted under the lock, so a submit after this
			 * point posts: no wake-up is lost. Any post wakes any
			 * idle worker; each one looks at the queue again. */
			wq->idle++;
			uv_mutex_unlock(&wq->lock);
			uv_sem_wait(&wq->wake_worker);
			uv_mutex_lock(&wq->lock);
			continue;
		}
		struct job *batch[WORKQ_MAX_BATCH];
		unsigned n = take(wq, batch);
		if (n == 0)
			break; /* stopping and nothing left */
		uv_mutex_unlock(&wq->lock);

		if (batch[0]->group) {
			job_run_batch(batch, n, wctx);
		} else {
			batch[0]->group_status = 0;
			batch[0]->work(batch[0], wctx);
		}

		uv_mutex_lock(&wq->lock);
		bool wake = !wq->out_head;
		for (unsigned i = 0; i < n; i++)
			list_push(&wq->out_head, &wq->out_tail, batch[i]);
		uv_mutex_unlock(&wq->lock);
		/* One wake-up per batch of finished jobs: a list that was not
		 * empty has one on its way (and the loop takes the whole
		 * list). Outside the lock, so that the loop, woken, does not
		 * block on it. */
		if (wake)
			uv_async_send(&wq->wake);
		uv_mutex_lock(&wq->lock);
	}
	uv_mutex_unlock(&wq->lock);

	if (wq->thread_fini)
		wq->thread_fini(wctx);
}

/* Runs the done callbacks of finished jobs on the loop thread. */
static void run_done(struct workq *wq)
{
	uv_mutex_lock(&wq->lock);
	struct job *j = wq->out_head;
	wq->out_head = wq->out_tail = NULL;
	for (struct job *k = j; k; k = k->next)
		wq->pending--;
	uv_mutex_unlock(&wq->lock);

	while (j) {
		struct job *next = j->next; /* done may submit j again */
		j->done(j);
		j = next;
	}
}

static void on_wake(uv_async_t *h)
{
	run_done(h->data);
}

struct workq *workq_new(struct server *srv, const char *name, unsigned threads,
                        void *(*thread_init)(void *arg),
                        void (*thread_fini)(void *wctx), void *arg)
{
	if (threads == 0 || threads > WORKQ_MAX_THREADS)
		return NULL;
	struct workq *wq = calloc(1, sizeof *wq);
	if (!wq)
		return NULL;
	wq->r.submit = workq_submit;
	snprintf(wq->name, sizeof wq->name, "%s", name);
	wq->loop = server_loop(srv);
	wq->thread_init = thread_init;
	wq->thread_fini = thread_fini;
	wq->arg = arg;
	if (uv_mutex_init(&wq->lock) != 0) {
		free(wq);
		return NULL;
	}
	if (uv_sem_init(&wq->wake_worker, 0) != 0) {
		uv_mutex_destroy(&wq->lock);
		free(wq);
		return NULL;
	}
	uv_async_init(wq->loop, &wq->wake, on_wake);
	wq->wake.data = wq;
	for (unsigned i = 0; i < threads; i++) {
		if (uv_thread_create(&wq->threads[i], worker_main, wq) != 0) {
			log_err(NULL, "workq %s: cannot start thread %u", name,
			        i);
			break;
		}
		wq->nthreads++;
	}
	if (wq->nthreads == 0) {
		workq_free(wq);
		return NULL;
	}
	return wq;
}

struct runner *workq_runner(struct workq *wq)
{
	return &wq->r;
}

unsigned workq_pending(const struct workq *wq)
{
	struct workq *w = (struct workq *)wq;
	uv_mutex_lock(&w->lock);
	unsigned n = w->pending;
	uv_mutex_unlock(&w->lock);
	return n;
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

void workq_free(struct workq *wq)
{
	if (!wq)
		return;
	/* Every job gets its done callback, and done callbacks may submit
	 * follow-up jobs (a closed POP3 session unlocks its mailbox): turn
	 * the loop until nothing is in flight, then stop the threads. */
	while (wq->nthreads > 0 && workq_pending(wq) > 0)
		uv_run(wq->loop, UV_RUN_ONCE);
	uv_mutex_lock(&wq->lock);
	wq->stopping = true;
	unsigned sleeping = wq->idle;
	wq->idle = 0;
	uv_mutex_unlock(&wq->lock);
	/* Workers still busy see stopping before they would sleep. */
	while (sleeping-- > 0)
		uv_sem_post(&wq->wake_worker);
	for (unsigned i = 0; i < wq->nthreads; i++)
		uv_thread_join(&wq->threads[i]);
	run_done(wq);

	uv_close((uv_handle_t *)&wq->wake, on_closed);
	uv_run(wq->loop, UV_RUN_NOWAIT);
	uv_sem_destroy(&wq->wake_worker);
	uv_mutex_destroy(&wq->lock);
	free(wq);
}
