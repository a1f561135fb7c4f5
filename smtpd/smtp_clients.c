/* Connections per client address; see smtp_clients.h. A plain array
 * searched linearly: it holds one entry per address with live
 * connections (a few hundred at most), and a connection is counted once
 * when it opens and once when it closes. */
#include "smtp_clients.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	uint8_t key[9]; /* family byte + 8 address bytes (/32 or /64) */
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

/* The counting key: IPv4 whole, IPv6 its /64. Text that is no address
 * (never from the I/O layer) keys as all zeros: counted, together. */
static void make_key(const char *ip, uint8_t key[9])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
	                                         0, 0, 0, 0, 0xff, 0xff};
	unsigned char a[16];

	memset(key, 0, 9);
	if (inet_pton(AF_INET, ip, a) == 1) {
		key[0] = 4;
		memcpy(key + 1, a, 4);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		if (memcmp(a, mapped, 12) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);
		}
	}
}

static struct entry *find(const struct smtp_clients *c, const uint8_t key[9])
{
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->e[i].key, key, 9) == 0)
			return &c->e[i];
	return NULL;
}

enum smtp_clients_result smtp_clients_add(struct smtp_clients *c,
                                          const char *ip)
{
	uint8_t key[9];

	make_key(ip, key);
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
		memcpy(e->key, key, 9);
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
	uint8_t key[9];

	make_key(ip, key);
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
	uint8_t key[9];

	make_key(ip, key);
	const struct entry *e = find(c, key);
	return e ? e->count : 0;
}

unsigned smtp_clients_total(const struct smtp_clients *c)
{
	return c->total;
}
