#include "throttle.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t key[9]; /* family byte + 8 address bytes: /32 or /64 */
	bool used;
	unsigned count;
	time_t first; /* start of the current window */
	time_t last;
};

struct throttle {
	size_t n;
	unsigned limit;
	unsigned window;
	struct slot *slots;
};

struct throttle *throttle_new(size_t slots, unsigned limit, unsigned window)
{
	struct throttle *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->slots = calloc(slots ? slots : 1, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->n = slots ? slots : 1;
	t->limit = limit;
	t->window = window;
	return t;
}

void throttle_free(struct throttle *t)
{
	if (t) {
		free(t->slots);
		free(t);
	}
}

/* The counting key: IPv4 whole, IPv6 its /64. Unparsable text keys as
 * itself (hashed into the same 8 bytes), which is still bounded. */
static void make_key(const char *ip, uint8_t key[9])
{
	unsigned char a[16];
	memset(key, 0, 9);
	if (inet_pton(AF_INET, ip, a) == 1) {
		key[0] = 4;
		memcpy(key + 1, a, 4);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		/* An IPv4-mapped peer on a dual-stack socket is IPv4. */
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
		                                         0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);
		}
	} else {
		uint64_t h = 1469598103934665603ULL; /* FNV-1a */
		for (const char *p = ip; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		key[0] = 1;
		memcpy(key + 1, &h, 8);
	}
}

static struct slot *find(struct throttle *t, const uint8_t key[9],
                         time_t now, bool create)
{
	struct slot *oldest = NULL;
	for (size_t i = 0; i < t->n; i++) {
		struct slot *s = &t->slots[i];
		if (s->used && now - s->first >= (time_t)t->window)
			s->used = false; /* expired */
		if (s->used && memcmp(s->key, key, 9) == 0)
			return s;
		/* The slot to reuse: a free one, else the least recent. */
		if (!s->used) {
			if (!oldest || oldest->used)
				oldest = s;
		} else if (!oldest || (oldest->used && s->last < oldest->last)) {
			oldest = s;
		}
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof *oldest);
	memcpy(oldest->key, key, 9);
	oldest->used = true;
	oldest->first = now;
	return oldest;
}

void throttle_fail(struct throttle *t, const char *ip, time_t now)
{
	uint8_t key[9];
	make_key(ip, key);
	struct slot *s = find(t, key, now, true);
	s->count++;
	s->last = now;
}

unsigned throttle_count(struct throttle *t, const char *ip, time_t now)
{
	uint8_t key[9];
	make_key(ip, key);
	struct slot *s = find(t, key, now, false);
	return s ? s->count : 0;
}

bool throttle_blocked(struct throttle *t, const char *ip, time_t now)
{
	return throttle_count(t, ip, now) >= t->limit;
}
