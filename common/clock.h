/* Time for protocol sessions: the current time, and delays (the pause
 * before a failed-login reply) that end by calling a job's done callback
 * on the loop thread. The daemons use the event loop's timers
 * (server_clock in conn.h); tests use clock_manual, whose time stands
 * still until they move it, so transcripts never depend on the wall clock. */
#ifndef POSTLITE_CLOCK_H
#define POSTLITE_CLOCK_H

#include <time.h>

#include "job.h"

struct clock {
	time_t (*now)(struct clock *c);
	/* Calls j->done after ms milliseconds (j->work is never called).
	 * done is always called exactly once, early if the daemon stops. */
	void (*delay)(struct clock *c, struct job *j, unsigned ms);
};

static inline time_t clock_now(struct clock *c)
{
	return c ? c->now(c) : time(NULL);
}

/* A clock for tests: now() returns t; delays wait in a queue until
 * clock_manual_fire, which moves t on by each delay and calls done. */
struct clock_manual_delay;

struct clock_manual {
	struct clock c;
	time_t t;
	unsigned ms; /* milliseconds moved on past t */
	struct clock_manual_delay *head, *tail;
};

void clock_manual_init(struct clock_manual *m, time_t t);

/* Fires every queued delay (and delays queued by their done callbacks).
 * Returns how many fired. */
unsigned clock_manual_fire(struct clock_manual *m);

#endif
