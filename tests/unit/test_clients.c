/* clients: connections per address and in all, and what the I/O layer
 * does at accept with a connection over a limit. */
#include <stdio.h>

#include "clients.h"
#include "t.h"

/* Connections per address: IPv4 per /32, IPv6 per /64, IPv4-mapped as
 * IPv4; every add counted (also over a limit), every remove undone. */
static void test_count(void)
{
	struct clients *c = clients_new(5, 2);

	CHECK_INT(clients_add(c, "192.0.2.1"), CLIENTS_OK);
	CHECK_INT(clients_add(c, "::ffff:192.0.2.1"), CLIENTS_OK);
	CHECK_INT(clients_add(c, "192.0.2.1"), CLIENTS_TOO_MANY_ADDR);
	CHECK_INT(clients_count(c, "192.0.2.1"), 3);
	CHECK_INT(clients_add(c, "2001:db8:1:2::1"), CLIENTS_OK);
	CHECK_INT(clients_add(c, "2001:db8:1:2:ffff::9"),
	          CLIENTS_OK);
	CHECK_INT(clients_add(c, "2001:db8:1:3::1"),
	          CLIENTS_TOO_MANY);
	CHECK_INT(clients_total(c), 6);
	clients_remove(c, "192.0.2.1");
	clients_remove(c, "192.0.2.1");
	clients_remove(c, "2001:db8:1:3::1");
	CHECK_INT(clients_count(c, "192.0.2.1"), 1);
	CHECK_INT(clients_add(c, "192.0.2.1"), CLIENTS_OK);
	/* many addresses: the table grows and shrinks */
	char ip[32];
	for (int i = 0; i < 300; i++) {
		snprintf(ip, sizeof ip, "198.51.100.%d", i % 250);
		clients_add(c, ip);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(ip, sizeof ip, "198.51.100.%d", i % 250);
		clients_remove(c, ip);
	}
	CHECK_INT(clients_count(c, "198.51.100.7"), 0);
	CHECK_INT(clients_total(c), 4);
	clients_free(c);
}

/* Within the limits: opened. Over one: a plain listener opens the
 * session so it can refuse in its protocol's words; an implicit-TLS
 * listener closes before any handshake (the CPU it would cost). */
static void test_admit(void)
{
	CHECK_INT(clients_admit(CLIENTS_OK, false), CLIENTS_ADMIT_OPEN);
	CHECK_INT(clients_admit(CLIENTS_OK, true), CLIENTS_ADMIT_OPEN);
	CHECK_INT(clients_admit(CLIENTS_TOO_MANY_ADDR, false),
	          CLIENTS_ADMIT_REFUSE);
	CHECK_INT(clients_admit(CLIENTS_TOO_MANY, false),
	          CLIENTS_ADMIT_REFUSE);
	CHECK_INT(clients_admit(CLIENTS_TOO_MANY_ADDR, true),
	          CLIENTS_ADMIT_CLOSE);
	CHECK_INT(clients_admit(CLIENTS_TOO_MANY, true), CLIENTS_ADMIT_CLOSE);
	/* The daemons' per-address share: a quarter, at least one. */
	CHECK_INT(clients_per_addr_limit(200), 50);
	CHECK_INT(clients_per_addr_limit(8), 2);
	CHECK_INT(clients_per_addr_limit(3), 1);
	CHECK_INT(clients_per_addr_limit(1), 1);
	/* The log wording both daemons and the I/O layer share. */
	CHECK_STR(clients_reason(CLIENTS_TOO_MANY), "too many connections");
	CHECK_STR(clients_reason(CLIENTS_TOO_MANY_ADDR),
	          "too many connections from this address");

	/* No limits (0): everything is opened, and still counted. */
	struct clients *c = clients_new(0, 0);
	for (int i = 0; i < 100; i++)
		CHECK_INT(clients_add(c, "192.0.2.1"), CLIENTS_OK);
	CHECK_INT(clients_count(c, "192.0.2.1"), 100);
	for (int i = 0; i < 100; i++)
		clients_remove(c, "192.0.2.1");
	CHECK_INT(clients_total(c), 0);
	clients_free(c);
}

int main(void)
{
	test_count();
	test_admit();
	return t_done("clients");
}
