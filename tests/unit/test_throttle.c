/* throttle: limits per /32 and /64, window expiry, bounded table. */
#include <stdio.h>

#include "t.h"
#include "throttle.h"

int main(void)
{
	struct throttle *t = throttle_new(4, 3, 60);
	time_t now = 1000;
	CHECK(!throttle_blocked(t, "192.0.2.1", now));
	for (int i = 0; i < 3; i++)
		throttle_fail(t, "192.0.2.1", now);
	CHECK(throttle_blocked(t, "192.0.2.1", now));
	CHECK(!throttle_blocked(t, "192.0.2.2", now)); /* IPv4: per /32 */
	CHECK(throttle_blocked(t, "::ffff:192.0.2.1", now)); /* mapped */
	/* The window passes: forgiven. */
	CHECK(!throttle_blocked(t, "192.0.2.1", now + 60));

	/* IPv6 counts per /64: other hosts in the prefix share the count. */
	throttle_fail(t, "2001:db8:1:2::1", now);
	throttle_fail(t, "2001:db8:1:2::ffff", now);
	throttle_fail(t, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", now);
	CHECK(throttle_blocked(t, "2001:db8:1:2::9", now));
	CHECK(!throttle_blocked(t, "2001:db8:1:3::1", now));
	CHECK_INT(throttle_count(t, "2001:db8:1:2::9", now), 3);

	/* A spray of addresses reuses the least recent slots: bounded. */
	for (int i = 0; i < 1000; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
		throttle_fail(t, ip, now + 1 + i);
	}
	CHECK_INT(throttle_count(t, "10.0.3.231", now + 1000), 1);
	CHECK_INT(throttle_count(t, "10.0.0.1", now + 1000), 0);
	throttle_free(t);
	return t_done("throttle");
}
