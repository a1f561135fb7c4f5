#include "clock.h"

#include <stdlib.h>

struct clock_manual_delay {
	struct job *j;
	unsigned ms;
	struct clock_manual_delay *next;
};

static time_t manual_now(struct clock *c)
{
	return ((struct clock_manual *)c)->t;
}

static void manual_delay(struct clock *c, struct job *j, unsigned ms)
{
	struct clock_manual *m = (struct clock_manual *)c;
	struct clock_manual_delay *d = malloc(sizeof *d);
	if (!d) {
		j->done(j); /* no memory for a delay: no delay */
		return;
	}
	d->j = j;
	d->ms = ms;
	d->next = NULL;
	if (m->tail)
		m->tail->next = d;
	else
		m->head = d;
	m->tail = d;
}

void clock_manual_init(struct clock_manual *m, time_t t)
{
	m->c.now = manual_now;
	m->c.delay = manual_delay;
	m->t = t;
	m->ms = 0;
	m->head = m->tail = NULL;
}

unsigned clock_manual_fire(struct clock_manual *m)
{
	unsigned n = 0;
	while (m->head) {
		struct clock_manual_delay *d = m->head;
		m->head = d->next;
		if (!m->head)
			m->tail = NULL;
		m->ms += d->ms;
		m->t += (time_t)(m->ms / 1000);
		m->ms %= 1000;
		struct job *j = d->j;
		free(d);
		j->done(j);
		n++;
	}
	return n;
}
