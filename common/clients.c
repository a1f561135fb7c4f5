/* Connections per client address; see clients.h. A plain array
 * searched linearly: it holds one entry per address with live
 * connections (a few hundred at most), and a connection is counted once
 * when it opens and once when it closes. */
#include "clients.h"

#include "addrkey.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	uint8_t key[ADDRKEY_LEN]; /* addrkey.h: /32 or /64 */
	unsigned count;
};

struct clients {
	unsigned max_total, max_per_addr;
	unsigned total;
	struct entry *e;
	size_t n, cap;
};

unsigned clients_per_addr_limit(unsigned max_total)
{
	return max_total / 4 ? max_total / 4 : 1;
}

struct clients *clients_new(unsigned max_total, unsigned max_per_addr)
{
	struct clients *c = calloc(1, sizeof *c);
	if (c) {
		c->max_total = max_total;
		c->max_per_addr = max_per_addr;
	}
	return c;
}

void clients_free(struct clients *c)
{
	if (c) {
		free(c->e);
		free(c);
	}
}

static struct entry *find(const struct clients *c,
                          const uint8_t key[ADDRKEY_LEN])
{
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->e[i].key, key, ADDRKEY_LEN) == 0)
			return &c->e[i];
	return NULL;
}

enum clients_result clients_add(struct clients *c, const char *ip)
{
	uint8_t key[ADDRKEY_LEN];

	addrkey_make(ip, key);
	c->total++;
	struct entry *e = find(c, key);
	if (!e) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16;
			struct entry *ne = realloc(c->e, cap * sizeof *ne);
			if (!ne) /* counted in total only; remove copes */
				return CLIENTS_TOO_MANY;
			c->e = ne;
			c->cap = cap;
		}
		e = &c->e[c->n++];
		memcpy(e->key, key, ADDRKEY_LEN);
		e->count = 0;
	}
	e->count++;
	if (c->max_total && c->total > c->max_total)
		return CLIENTS_TOO_MANY;
	if (c->max_per_addr && e->count > c->max_per_addr)
		return CLIENTS_TOO_MANY_ADDR;
	return CLIENTS_OK;
}

void clients_remove(struct clients *c, const char *ip)
{
	uint8_t key[ADDRKEY_LEN];

	addrkey_make(ip, key);
	if (c->total > 0)
		c->total--;
	struct entry *e = find(c, key);
	if (!e)
		return;
	if (--e->count == 0)
		*e = c->e[--c->n]; /* keep the array dense */
}

unsigned clients_count(const struct clients *c, const char *ip)
{
	uint8_t key[ADDRKEY_LEN];

	addrkey_make(ip, key);
	const struct entry *e = find(c, key);
	return e ? e->count : 0;
}

unsigned clients_total(const struct clients *c)
{
	return c->total;
}

unsigned clients_max_total(const struct clients *c)
{
	return c->max_total;
}

enum clients_admit clients_admit(enum clients_result r, bool implicit_tls)
{
	if (r == CLIENTS_OK)
		return CLIENTS_ADMIT_OPEN;
	return implicit_tls ? CLIENTS_ADMIT_CLOSE : CLIENTS_ADMIT_REFUSE;
}

const char *clients_reason(enum clients_result r)
{
	return r == CLIENTS_TOO_MANY_ADDR
	               ? "too many connections from this address"
	               : "too many connections";
}
