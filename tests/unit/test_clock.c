/* clock: the manual clock of tests, and the loop's clock of the daemons
 * (delays end on time; pending ones end when the loop stops). */
#include <time.h>

#include "clock.h"
#include "conn.h"
#include "t.h"

struct tjob {
	struct job j;
	int fired;
	struct timespec at;
	struct server *stop; /* stop this server when fired */
};

static void fired(struct job *j)
{
	struct tjob *t = (struct tjob *)j;
	t->fired++;
	clock_gettime(CLOCK_MONOTONIC, &t->at);
	if (t->stop)
		server_stop(t->stop);
}

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_manual(void)
{
	struct clock_manual m;
	clock_manual_init(&m, 1000);
	CHECK_INT(clock_now(&m.c), 1000);
	struct tjob a = {.j.done = fired}, b = {.j.done = fired};
	m.c.delay(&m.c, &a.j, 1500);
	m.c.delay(&m.c, &b.j, 600);
	CHECK_INT(a.fired + b.fired, 0);
	CHECK_INT(clock_now(&m.c), 1000); /* time stands still */
	CHECK_INT(clock_manual_fire(&m), 2);
	CHECK_INT(a.fired, 1);
	CHECK_INT(b.fired, 1);
	CHECK_INT(clock_now(&m.c), 1002); /* moved on by 2.1 s */
	CHECK_INT(clock_manual_fire(&m), 0);
	CHECK_INT(clock_now(NULL) >= 1000000000, 1); /* no clock: wall time */
}

static void test_loop(void)
{
	struct server *srv = server_new("test");
	struct clock *c = server_clock(srv);
	struct tjob soon = {.j.done = fired, .stop = srv};
	struct tjob late = {.j.done = fired};
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c->delay(c, &late.j, 60000);
	c->delay(c, &soon.j, 50);
	server_run(srv); /* until soon stops it */
	CHECK_INT(soon.fired, 1);
	CHECK(since(&t0, &soon.at) >= 0.045);
	/* The 60 s delay ended when the loop stopped, not a minute later. */
	CHECK_INT(late.fired, 1);
	CHECK(since(&t0, &late.at) < 5);
	server_free(srv);
}

int main(void)
{
	test_manual();
	test_loop();
	return t_done("clock");
}
