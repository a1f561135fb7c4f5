/* postlite domain list, user list, user add|passwd --hash-stdin, alias,
 * quota (cli_dir.h). */
#include "cli_dir.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "password.h"
#include "store.h"

void cli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (errno || *end || v > (UINT64_C(1) << 62) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Listing state: JSON needs commas between items. */
struct cli_list {
	struct cli *c;
	unsigned n;
};

static void cli_item(struct cli_list *l)
{
	fputs(l->n++ ? ",\n " : "[", stdout);
}

static int cli_list_end(struct cli_list *l, enum store_status s)
{
	if (l->c->json)
		fputs(l->n ? "]\n" : "[]\n", stdout);
	return cli_result(l->c, s, NULL);
}

/* Domain names, collected: the quota lookups of --json must wait until
 * the listing is over (callbacks may not call the store). */
struct cli_names {
	char **v;
	size_t n, cap;
	bool failed;
};

static void cli_domain_cb(void *arg, const char *domain)
{
	struct cli_names *d = arg;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		char **v = realloc(d->v, cap * sizeof *v);
		if (!v) {
			d->failed = true;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	if (!(d->v[d->n] = strdup(domain)))
		d->failed = true;
	else
		d->n++;
}

int cli_domain_list(struct cli *c)
{
	struct cli_names d = {0};
	struct cli_list l = {c, 0};
	enum store_status s = store_domain_list(c->st, cli_domain_cb, &d);
	if (s == STORE_OK && d.failed) {
		fprintf(stderr, "postlite: out of memory\n");
		s = STORE_TEMPFAIL;
	}
	for (size_t i = 0; i < d.n; i++) {
		struct store_quota q = {0};
		if (s == STORE_OK && !c->json)
			printf("%s\n", d.v[i]);
		else if (s == STORE_OK &&
		         (s = store_quota_get(c->st, d.v[i], &q)) == STORE_OK) {
			cli_item(&l);
			fputs("{\"domain\": ", stdout);
			cli_json_str(stdout, d.v[i]);
			printf(", \"quota\": %" PRIu64 ", \"used\": %" PRIu64
			       ", \"messages\": %" PRIu64 "}", q.limit, q.used,
			       q.messages);
		}
		free(d.v[i]);
	}
	free(d.v);
	if (d.failed)
		return CLI_EXIT_TEMPFAIL;
	return cli_list_end(&l, s);
}

static void cli_user_cb(void *arg, const struct store_user_info *u)
{
	struct cli_list *l = arg;
	if (!l->c->json) {
		printf("%s%s\n", u->address, u->disabled ? " (disabled)" : "");
		return;
	}
	cli_item(l);
	fputs("{\"address\": ", stdout);
	cli_json_str(stdout, u->address);
	printf(", \"disabled\": %s, \"quota\": %" PRIu64 ", \"quota_own\": %s"
	       ", \"used\": %" PRIu64 ", \"messages\": %" PRIu64 "}",
	       u->disabled ? "true" : "false", u->quota,
	       u->quota_own ? "true" : "false", u->used, u->messages);
}

int cli_user_list(struct cli *c)
{
	struct cli_list l = {c, 0};
	return cli_list_end(&l, store_user_list_info(c->st, cli_user_cb, &l));
}

int cli_user_hash(struct cli *c, bool add)
{
	char line[PASSWORD_HASH_MAX + 64];
	if (!fgets(line, sizeof line, stdin)) {
		fprintf(stderr, "postlite: no hash given\n");
		return CLI_EXIT_FAIL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	enum store_status s = store_user_set_hash(c->st, c->args[0], line, add);
	explicit_bzero(line, sizeof line);
	return cli_result(c, s, c->args[0]);
}

int cli_alias_add(struct cli *c)
{
	return cli_result(c, store_alias_add(c->st, c->args[0], c->args[1]),
	                  c->args[0]);
}

int cli_alias_remove(struct cli *c)
{
	const char *target = strcmp(c->args[1], "*") == 0 ? NULL : c->args[1];
	return cli_result(c, store_alias_remove(c->st, c->args[0], target),
	                  c->args[0]);
}

static void cli_alias_cb(void *arg, const char *alias, const char *target)
{
	struct cli_list *l = arg;
	if (!l->c->json) {
		printf("%s %s\n", alias, target);
		return;
	}
	cli_item(l);
	fputs("{\"alias\": ", stdout);
	cli_json_str(stdout, alias);
	fputs(", \"target\": ", stdout);
	cli_json_str(stdout, target);
	fputs("}", stdout);
}

int cli_alias_list(struct cli *c)
{
	struct cli_list l = {c, 0};
	return cli_list_end(&l, store_alias_list(c->st, cli_alias_cb, &l));
}

int cli_quota_set(struct cli *c)
{
	const char *v = c->args[1];
	uint64_t bytes;
	if (strcmp(v, "none") == 0 || strcmp(v, "unlimited") == 0)
		bytes = 0;
	else if (strcmp(v, "default") == 0)
		bytes = STORE_QUOTA_DEFAULT;
	else if (cli_parse_size(v, &bytes) != 0) {
		fprintf(stderr, "postlite: %s: not a size (500M, 2G, none, "
		        "default)\n", v);
		return CLI_EXIT_USAGE;
	}
	if (bytes == STORE_QUOTA_DEFAULT && !strchr(c->args[0], '@')) {
		fprintf(stderr, "postlite: %s: 'default' is for users\n",
		        c->args[0]);
		return CLI_EXIT_USAGE;
	}
	return cli_result(c, store_quota_set(c->st, c->args[0], bytes),
	                  c->args[0]);
}

int cli_quota_show(struct cli *c)
{
	struct store_quota q;
	enum store_status s = store_quota_get(c->st, c->args[0], &q);
	if (s != STORE_OK)
		return cli_store_fail(c, s, c->args[0]);
	bool user = strchr(c->args[0], '@') != NULL;
	if (c->json) {
		printf("{\"limit\": %" PRIu64 ", \"own\": %s, \"used\": %" PRIu64
		       ", \"messages\": %" PRIu64 "}\n", q.limit,
		       q.own ? "true" : "false", q.used, q.messages);
		return CLI_EXIT_OK;
	}
	if (q.limit)
		printf("limit %" PRIu64 " bytes%s\n", q.limit,
		       user && !q.own ? " (domain default)" : "");
	else
		printf("limit none%s\n", user && !q.own ? " (domain default)"
		                                        : "");
	printf("used %" PRIu64 " bytes in %" PRIu64 " messages", q.used,
	       q.messages);
	if (q.limit)
		printf(" (%" PRIu64 "%%)", q.used * 100 / q.limit);
	printf("\n");
	return CLI_EXIT_OK;
}
