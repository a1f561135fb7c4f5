/* Connections per client address; see smtp_clients.h. A plain array
 * searched linearly: it holds one entry per address with live
 * connections (a few hundred at most), and a connection is counted once
 * when it opens and once when it closes. */
#include "smtp_clients.h"

#include "addrkey.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	uint8_t key[ADDRKEY_LEN]; /* addrkey.h: /32 or /64 */
	unsigned count;
};

struct smtp_clients {
	unsigned max_total, max_per_addr;
	unsigned total;
	struct entry *e;
	size_t n, cap;
};

struct smtp_clients *smtp_clients_new(unsigned max_total,
                                      unsigned max_per_addr)
{
	struct smtp_clients *c = calloc(1, sizeof *c);
	if (c) {
		c->max_total = max_total;
		c->max_per_addr = max_per_addr;
	}
	return c;
}

void smtp_clients_free(struct smtp_clients *c)
{
	if (c) {
		free(c->e);
		free(c);
	}
}

static struct entry *find(const struct smtp_clients *c,
                          const uint8_t key[ADDRKEY_LEN])
{
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->e[i].key, key, ADDRKEY_LEN) == 0)
			return &c->e[i];
	return NULL;
}

enum smtp_clients_result smtp_clients_add(struct smtp_clients *c,
                                          const char *ip)
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
				return SMTP_CLIENTS_TOO_MANY;
			c->e = ne;
			c->cap = cap;
		}
		e = &c->e[c->n++];
		memcpy(e->key, key, ADDRKEY_LEN);
		e->count = 0;
	}
	e->count++;
	if (c->max_total && c->total > c->max_total)
		return SMTP_CLIENTS_TOO_MANY;
	if (c->max_per_addr && e->count > c->max_per_addr)
		return SMTP_CLIENTS_TOO_MANY_ADDR;
	return SMTP_CLIENTS_OK;
}

void smtp_clients_remove(struct smtp_clients *c, const char *ip)
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

unsigned smtp_clients_count(const struct smtp_clients *c, const char *ip)
{
	uint8_t key[ADDRKEY_LEN];

	addrkey_make(ip, key);
	const struct entry *e = find(c, key);
	return e ? e->count : 0;
}

unsigned smtp_clients_total(const struct smtp_clients *c)
{
	return c->total;
}
