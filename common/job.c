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
		j->work(j, ri->wctx);
		j->done(j);
		n++;
	}
	return n;
}
