/* postlite mailbox list, stats, verify (cli_dir.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_dir.h"
#include "store.h"

/* RFC 3339 in UTC: what both the table and JSON show. */
static void cli_date(char *out, size_t n, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "?");
}

struct cli_mbox {
	struct cli *c;
	unsigned n;
};

static void cli_mbox_cb(void *arg, const struct store_msg_info *m)
{
	struct cli_mbox *l = arg;
	char date[32];
	cli_date(date, sizeof date, m->received);
	if (!l->c->json) {
		if (l->n++ == 0)
			printf("%-25s %10s  %-20s  %-30s  %s\n", "UIDL", "SIZE",
			       "DATE", "SENDER", "SUBJECT");
		printf("%-25s %10" PRIu64 "  %-20s  %-30s  %s\n",
		       m->uidl, m->size, date, m->sender, m->subject);
		return;
	}
	fputs(l->n++ ? ",\n " : "[", stdout);
	printf("{\"uidl\": \"%s\", \"size\": %" PRIu64 ", \"date\": "
	       "\"%s\", \"received\": %" PRId64 ", \"sender\": ", m->uidl,
	       m->size, date, m->received);
	cli_json_str(stdout, m->sender);
	fputs(", \"subject\": ", stdout);
	cli_json_str(stdout, m->subject);
	fputs("}", stdout);
}

int cli_mailbox_list(struct cli *c)
{
	struct cli_mbox l = {c, 0};
	enum store_status s = store_mailbox_info(c->st, c->args[0],
	                                         cli_mbox_cb, &l);
	if (s != STORE_OK)
		return cli_store_fail(c, s, c->args[0]);
	if (c->json)
		fputs(l.n ? "]\n" : "[]\n", stdout);
	return CLI_EXIT_OK;
}

int cli_stats(struct cli *c)
{
	struct store_stats ss;
	enum store_status s = store_stats(c->st, &ss);
	if (s != STORE_OK)
		return cli_store_fail(c, s, NULL);
	const struct {
		const char *name;
		uint64_t v;
	} rows[] = {
		{"domains", ss.domains},
		{"users", ss.users},
		{"aliases", ss.aliases},
		{"messages", ss.messages},
		{"mailbox_entries", ss.entries},
		{"pending_messages", ss.pending},
		{"message_bytes", ss.message_bytes},
		{"file_bytes", ss.file_bytes},
		{"free_bytes", ss.free_bytes},
		{"wal_bytes", ss.wal_bytes},
		{"schema_version", (uint64_t)ss.schema_version},
	};
	size_t n = sizeof rows / sizeof rows[0];
	for (size_t i = 0; i < n; i++) {
		if (c->json)
			printf("%s\"%s\": %" PRIu64 "%s", i ? " " : "{",
			       rows[i].name, rows[i].v, i + 1 < n ? "," : "}\n");
		else
			printf("%-17s %" PRIu64 "\n", rows[i].name, rows[i].v);
	}
	return CLI_EXIT_OK;
}

static void cli_problem(void *arg, const char *p)
{
	unsigned *n = arg;
	(*n)++;
	printf("damaged: %s\n", p);
}

int cli_verify(struct cli *c)
{
	unsigned n = 0;
	enum store_status s = store_verify(c->st, cli_problem, &n);
	if (s == STORE_OK) {
		printf("store ok\n");
		return CLI_EXIT_OK;
	}
	if (n > 0) {
		fprintf(stderr, "postlite: verify: %s\n", store_errmsg(c->st));
		return CLI_EXIT_DAMAGED;
	}
	return cli_store_fail(c, s, NULL);
}
