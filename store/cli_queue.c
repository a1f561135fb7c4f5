/* `postlite queue ...` and `postlite dkim keygen` (cli_queue.h). */
#include "cli_queue.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "dkim_key.h"
#include "store_queue.h"

static int fail(struct store *st)
{
	fprintf(stderr, "postlite: %s\n", store_errmsg(st));
	return CLI_EXIT_FAIL;
}

static int parse_id(const char *s, uint64_t *id)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '1' || *s > '9' || *end) {
		fprintf(stderr, "postlite: '%s' is not a queue id (see "
		        "postlite queue list)\n", s);
		return -1;
	}
	*id = v;
	return 0;
}

static void when(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

int cli_queue_list(struct store *st)
{
	struct store_queue_item *it;
	size_t n;
	if (store_queue_due(st, INT64_MAX, (size_t)-1, &it, &n) != STORE_OK)
		return fail(st);
	uint64_t last = 0;
	char a[32], b[32];
	for (size_t i = 0; i < n; i++) {
		if (it[i].qid != last) {
			when(it[i].created, a, sizeof a);
			printf("%llu  %llu bytes  queued %s  from <%s>\n",
			       (unsigned long long)it[i].qid,
			       (unsigned long long)it[i].size, a, it[i].sender);
			last = it[i].qid;
		}
		when(it[i].next_try, b, sizeof b);
		printf("    <%s>  attempts %u  next %s%s%s\n", it[i].rcpt,
		       it[i].attempts, b, it[i].last_error[0] ? "  last: " : "",
		       it[i].last_error);
	}
	if (n == 0)
		printf("queue is empty\n");
	free(it);
	return CLI_EXIT_OK;
}

int cli_queue_flush(struct store *st)
{
	return store_queue_retry(st, 0, 0) == STORE_OK ? CLI_EXIT_OK : fail(st);
}

int cli_queue_retry(struct store *st, const char *id)
{
	uint64_t q;
	if (parse_id(id, &q) != 0)
		return CLI_EXIT_USAGE;
	return store_queue_retry(st, q, 0) == STORE_OK ? CLI_EXIT_OK : fail(st);
}

int cli_queue_delete(struct store *st, const char *id)
{
	uint64_t q;
	if (parse_id(id, &q) != 0)
		return CLI_EXIT_USAGE;
	return store_queue_delete(st, q) == STORE_OK ? CLI_EXIT_OK : fail(st);
}

int cli_dkim_keygen(const struct config *cfg, const char *domain)
{
	char dom[STORE_ADDRESS_MAX], err[512];
	if (store_domain_normalize(domain, dom, sizeof dom) != 0) {
		fprintf(stderr, "postlite: '%s' is not a domain\n", domain);
		return CLI_EXIT_USAGE;
	}
	/* Run as root: the daemon (as [server] user) must read the key. */
	int uid = -1, gid = -1;
	const struct passwd *pw = geteuid() == 0 && cfg->server.user
	                                  ? getpwnam(cfg->server.user)
	                                  : NULL;
	if (pw) {
		uid = (int)pw->pw_uid;
		gid = (int)pw->pw_gid;
	}
	if (dkim_key_generate(cfg->server.data_dir, dom, uid, gid, err,
	                      sizeof err) != 0) {
		fprintf(stderr, "postlite: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	printf("; DKIM key for %s made; publish this record, then mail from "
	       "%s is signed:\n", dom, dom);
	return dkim_key_record(cfg->server.data_dir, dom, stdout) == 0
	               ? CLI_EXIT_OK
	               : CLI_EXIT_FAIL;
}
