#include "throttle.h"

#include "addrkey.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t key[ADDRKEY_LEN]; /* family byte + 8 address bytes: /32 or /64 */
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

static struct slot *find(struct throttle *t, const uint8_t key[ADDRKEY_LEN],
                         time_t now, bool create)
{
	struct slot *oldest = NULL;
	for (size_t i = 0; i < t->n; i++) {
		struct slot *s = &t->slots[i];
		if (s->used && now - s->first >= (time_t)t->window)
			s->used = false; /* expired */
		if (s->used && memcmp(s->key, key, ADDRKEY_LEN) == 0)
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
	memcpy(oldest->key, key, ADDRKEY_LEN);
	oldest->used = true;
	oldest->first = now;
	return oldest;
}

void throttle_fail(struct throttle *t, const char *ip, time_t now)
{
	uint8_t key[ADDRKEY_LEN];
	addrkey_make(ip, key);
	struct slot *s = find(t, key, now, true);
	s->count++;
	s->last = now;
}

unsigned throttle_count(struct throttle *t, const char *ip, time_t now)
{
	uint8_t key[ADDRKEY_LEN];
	addrkey_make(ip, key);
	struct slot *s = find(t, key, now, false);
	return s ? s->count : 0;
}

bool throttle_blocked(struct throttle *t, const char *ip, time_t now)
{
	return throttle_count(t, ip, now) >= t->limit;
}
