#include "job.h"

#include <stddef.h>

static void inline_submit(struct runner *r, struct job *j)
{
	struct runner_inline *ri = (struct runner_inline *)r;
	j->next = NULL;
	if (ri->tail)
		ri->tail->next = j;
	else
		ri->head = j;
	ri->tail = j;
}

void runner_inline_init(struct runner_inline *ri, void *wctx)
{
	ri->r.submit = inline_submit;
	ri->wctx = wctx;
	ri->head = ri->tail = NULL;
}

unsigned runner_inline_drain(struct runner_inline *ri)
{
	unsigned n = 0;
	while (ri->head) {
		struct job *j = ri->head;
		ri->head = j->next;
		if (!ri->head)
			ri->tail = NULL;
		if (j->group) {
			job_run_batch(&j, 1, ri->wctx);
		} else {
			j->group_status = 0;
			j->work(j, ri->wctx);
		}
		j->done(j);
		n++;
	}
	return n;
}

void job_run_batch(struct job **jobs, unsigned n, void *wctx)
{
	const struct job_group *g = jobs[0]->group;
	int st = g->begin(wctx);
	if (st == 0) {
		for (unsigned i = 0; i < n; i++)
			jobs[i]->work(jobs[i], wctx);
		st = g->commit(wctx);
		if (st != 0 && g->rollback)
			g->rollback(wctx);
	}
	for (unsigned i = 0; i < n; i++)
		jobs[i]->group_status = st;
}
