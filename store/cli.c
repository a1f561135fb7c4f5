/* postlite: the admin CLI over the store (DESIGN.md "Admin CLI").
 *
 *   postlite [-c FILE] VERB ...
 *
 * One line on stderr for any failure; exit 0 ok, 1 the operation failed,
 * 2 usage, 3 verify found damage, 75 a temporary failure (store busy,
 * disk full: try again), 78 configuration. Run as root, the files it
 * creates in data_dir are handed to [server] user if that user exists
 * (otherwise they stay root's, and the daemons must then run as root or be
 * fixed by hand). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_dns.h"
#include "cli_dir.h"
#include "cli_queue.h"
#include "config.h"
#include "password.h"
#include "postlite_build.h"
#include "store.h"
#include "tls.h"

/* Self-signed certificates made by init are valid this long: until the
 * admin points [tls] at real ones (certbot). */
#define CLI_SELFSIGNED_DAYS 3650

struct cli_verb {
	const char *noun, *verb; /* verb NULL: a one-word command */
	int nargs;               /* operands required (and allowed) */
	unsigned opts;           /* CLI_OPT_*: true = CLI_OPT_PASSWORD */
	bool needs_store;        /* opened before run (init opens none) */
	int (*run)(struct cli *c);
	const char *usage; /* operands, for "usage:" lines */
	const char *help;  /* added by -h */
};

#define CLI_OPT_PASSWORD 1u /* --password-stdin, --hash-stdin; reads one */
#define CLI_OPT_JSON 2u     /* --json */

int cli_store_fail(struct cli *c, enum store_status s, const char *arg)
{
	if (s == STORE_INVALID && arg)
		fprintf(stderr, "postlite: %s: %s\n", arg, store_errmsg(c->st));
	else
		fprintf(stderr, "postlite: %s\n", store_errmsg(c->st));
	return store_status_temporary(s) ? CLI_EXIT_TEMPFAIL : CLI_EXIT_FAIL;
}

int cli_result(struct cli *c, enum store_status s, const char *arg)
{
	return s == STORE_OK ? CLI_EXIT_OK : cli_store_fail(c, s, arg);
}

/* Copies the first of the space-separated paths in list (config.h:
 * the default certificate or key). Returns 0, or -1 if it does not fit. */
static int cli_first_path(const char *list, char *out, size_t outlen)
{
	size_t n = strcspn(list, " \t");
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, list, n);
	out[n] = '\0';
	return 0;
}

/* DESIGN.md: init makes a self-signed pair for the default [tls] cert and
 * key when neither file exists, so the TLS listeners can start at once.
 * Run as root, the key goes to root:<[server] user's group> 0640 (as the
 * Debian postinst does): the daemons reread it after dropping privileges
 * on SIGHUP. */
static int cli_init_tls(const struct config *cfg)
{
	char cert[PATH_MAX], key[PATH_MAX], err[512];
	struct stat sb;
	if (!cfg->tls.cert || !cfg->tls.key ||
	    cli_first_path(cfg->tls.cert, cert, sizeof cert) != 0 ||
	    cli_first_path(cfg->tls.key, key, sizeof key) != 0)
		return CLI_EXIT_OK; /* no TLS configured: nothing to make */
	bool have_cert = lstat(cert, &sb) == 0, have_key = lstat(key, &sb) == 0;
	if (have_cert || have_key) {
		if (!have_cert || !have_key)
			fprintf(stderr, "postlite: warning: %s exists but %s "
			        "does not: no certificate made\n",
			        have_cert ? cert : key, have_cert ? key : cert);
		return CLI_EXIT_OK;
	}
	if (tls_make_selfsigned(cfg->server.hostname, CLI_SELFSIGNED_DAYS, cert,
	                        key, err, sizeof err) != 0) {
		fprintf(stderr, "postlite: self-signed certificate: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	const struct passwd *pw = geteuid() == 0 && cfg->server.user ?
	                          getpwnam(cfg->server.user) : NULL;
	if (pw && (chown(key, 0, pw->pw_gid) != 0 || chmod(key, 0640) != 0))
		fprintf(stderr, "postlite: %s: %s\n", key, strerror(errno));
	printf("postlite: made a self-signed certificate for %s in %s\n",
	       cfg->server.hostname, cert);
	return CLI_EXIT_OK;
}

static int cli_init(struct cli *c)
{
	char err[512];
	const char *dir = c->cfg->server.data_dir;
	if (store_init(dir, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "postlite: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	printf("postlite: store ready in %s\n", dir);
	return cli_init_tls(c->cfg);
}

static int cli_domain_add(struct cli *c)
{
	return cli_result(c, store_domain_add(c->st, c->args[0]), c->args[0]);
}

static int cli_domain_remove(struct cli *c)
{
	return cli_result(c, store_domain_remove(c->st, c->args[0]),
	                  c->args[0]);
}

static int cli_user_set(struct cli *c, bool add)
{
	char pw[PASSWORD_MAX + 2];
	if (c->hash_stdin)
		return cli_user_hash(c, add);
	int rc = cli_password_read(c->password_stdin, pw, sizeof pw);
	if (rc != CLI_EXIT_OK)
		return rc;
	enum store_status s = add ? store_user_add(c->st, c->args[0], pw)
	                          : store_user_passwd(c->st, c->args[0], pw);
	explicit_bzero(pw, sizeof pw);
	return cli_result(c, s, c->args[0]);
}

static int cli_user_add(struct cli *c)
{
	return cli_user_set(c, true);
}

static int cli_user_passwd(struct cli *c)
{
	return cli_user_set(c, false);
}

static int cli_user_remove(struct cli *c)
{
	return cli_result(c, store_user_remove(c->st, c->args[0]), c->args[0]);
}

static int cli_user_disable(struct cli *c)
{
	return cli_result(c, store_user_disable(c->st, c->args[0], true),
	                  c->args[0]);
}

static int cli_user_enable(struct cli *c)
{
	return cli_result(c, store_user_disable(c->st, c->args[0], false),
	                  c->args[0]);
}

static int cli_backup(struct cli *c)
{
	return cli_result(c, store_backup(c->st, c->args[0]), c->args[0]);
}

static int cli_dns_verb(struct cli *c)
{
	return cli_dns(c->cfg, 1, c->args);
}

/* Issue 9: the outbound queue and DKIM keys (cli_queue.c). */
static int cli_q_list(struct cli *c)
{
	return cli_queue_list(c->st);
}

static int cli_q_flush(struct cli *c)
{
	return cli_queue_flush(c->st);
}

static int cli_q_retry(struct cli *c)
{
	return cli_queue_retry(c->st, c->args[0]);
}

static int cli_q_delete(struct cli *c)
{
	return cli_queue_delete(c->st, c->args[0]);
}

static int cli_dkim(struct cli *c)
{
	return cli_dkim_keygen(c->cfg, c->args[0]);
}

static const struct cli_verb cli_verbs[] = {
	{"init", NULL, 0, false, false, cli_init,
	 "init", "create or migrate the store; self-signed cert if none"},
	{"domain", "add", 1, false, true, cli_domain_add,
	 "domain add DOMAIN", "receive mail for DOMAIN"},
	{"domain", "remove", 1, false, true, cli_domain_remove,
	 "domain remove DOMAIN", "only once it has no users"},
	{"domain", "list", 0, CLI_OPT_JSON, true, cli_domain_list,
	 "domain list [--json]", ""},
	{"user", "add", 1, true, true, cli_user_add,
	 "user add ADDRESS [--password-stdin|--hash-stdin]",
	 "asks twice on a terminal"},
	{"user", "passwd", 1, true, true, cli_user_passwd,
	 "user passwd ADDRESS [--password-stdin|--hash-stdin]",
	 "sets a new password (or crypt(3) hash)"},
	{"user", "remove", 1, false, true, cli_user_remove,
	 "user remove ADDRESS", "deletes the user's mail"},
	{"user", "disable", 1, false, true, cli_user_disable,
	 "user disable ADDRESS", "no login; mail still arrives"},
	{"user", "enable", 1, false, true, cli_user_enable,
	 "user enable ADDRESS", ""},
	{"user", "list", 0, CLI_OPT_JSON, true, cli_user_list,
	 "user list [--json]", ""},
	{"alias", "add", 2, false, true, cli_alias_add,
	 "alias add ALIAS TARGET", "ALIAS (or @DOMAIN: catch-all) to a user"},
	{"alias", "remove", 2, false, true, cli_alias_remove,
	 "alias remove ALIAS TARGET", "TARGET * removes the whole alias"},
	{"alias", "list", 0, CLI_OPT_JSON, true, cli_alias_list,
	 "alias list [--json]", ""},
	{"quota", "set", 2, false, true, cli_quota_set,
	 "quota set ADDRESS|DOMAIN SIZE", "SIZE: 500M, 2G, none, default"},
	{"quota", "show", 1, CLI_OPT_JSON, true, cli_quota_show,
	 "quota show ADDRESS|DOMAIN [--json]", "limit and use"},
	{"mailbox", "list", 1, CLI_OPT_JSON, true, cli_mailbox_list,
	 "mailbox list ADDRESS [--json]", "UIDL, size, date, sender, subject"},
	{"stats", NULL, 0, CLI_OPT_JSON, true, cli_stats,
	 "stats [--json]", "counts and sizes"},
	{"verify", NULL, 0, false, true, cli_verify,
	 "verify", "check the store; exit 3 on damage"},
	{"import", NULL, 3, false, true, cli_import,
	 "import ADDRESS mbox|maildir PATH", "keeps dates and order"},
	{"backup", NULL, 1, false, true, cli_backup,
	 "backup PATH", "consistent copy of the live store"},
	{"dns", NULL, 1, false, false, cli_dns_verb,
	 "dns DOMAIN", "DNS records to publish for DOMAIN"},
	{"queue", "list", 0, false, true, cli_q_list,
	 "queue list", "messages waiting for remote delivery"},
	{"queue", "flush", 0, false, true, cli_q_flush,
	 "queue flush", "retry every queued message now"},
	{"queue", "retry", 1, false, true, cli_q_retry,
	 "queue retry ID", "retry one message now"},
	{"queue", "delete", 1, false, true, cli_q_delete,
	 "queue delete ID", "drop a message (no bounce)"},
	{"dkim", "keygen", 1, false, false, cli_dkim,
	 "dkim keygen DOMAIN", "make a signing key; prints its DNS record"},
};

#define CLI_NVERBS (sizeof cli_verbs / sizeof cli_verbs[0])

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: postlite [-c FILE] COMMAND ...\n");
	for (size_t i = 0; i < CLI_NVERBS; i++)
		fprintf(f, "  %-40s %s\n", cli_verbs[i].usage,
		        cli_verbs[i].help);
}

/* Finds the verb for argv and collects its operands into c. Returns the
 * verb, or NULL after printing why on one line (usage error). */
static const struct cli_verb *cli_parse(int argc, char **argv, struct cli *c)
{
	if (argc < 1) {
		cli_usage(stderr);
		return NULL;
	}
	const struct cli_verb *v = NULL;
	bool noun_known = false;
	for (size_t i = 0; i < CLI_NVERBS && !v; i++) {
		if (strcmp(cli_verbs[i].noun, argv[0]) != 0)
			continue;
		noun_known = true;
		if (!cli_verbs[i].verb ||
		    (argc > 1 && strcmp(cli_verbs[i].verb, argv[1]) == 0))
			v = &cli_verbs[i];
	}
	if (!v) {
		if (!noun_known)
			fprintf(stderr, "postlite: unknown command '%s' "
			        "(postlite -h lists them)\n", argv[0]);
		else if (argc > 1)
			fprintf(stderr, "postlite: %s: unknown verb '%s' "
			        "(postlite -h lists them)\n", argv[0], argv[1]);
		else
			fprintf(stderr, "postlite: %s: verb missing (postlite "
			        "-h lists them)\n", argv[0]);
		return NULL;
	}
	/* Operands are compacted in place; the option may come anywhere. */
	int first = v->verb ? 2 : 1, n = 0;
	for (int i = first; i < argc; i++) {
		unsigned o = v->opts;
		if ((o & CLI_OPT_PASSWORD) &&
		    strcmp(argv[i], "--password-stdin") == 0) {
			c->password_stdin = true;
		} else if ((o & CLI_OPT_PASSWORD) &&
		           strcmp(argv[i], "--hash-stdin") == 0) {
			c->hash_stdin = true;
		} else if ((o & CLI_OPT_JSON) && strcmp(argv[i], "--json") == 0) {
			c->json = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "postlite: unknown option '%s' (usage: "
			        "postlite %s)\n", argv[i], v->usage);
			return NULL;
		} else {
			argv[first + n++] = argv[i];
		}
	}
	if (n != v->nargs) {
		fprintf(stderr, "usage: postlite %s\n", v->usage);
		return NULL;
	}
	c->args = argv + first;
	return v;
}

/* Run as root, hands what the CLI created in data_dir to [server] user:
 * the directory if this run made it, and database files owned by root.
 * fchownat(AT_SYMLINK_NOFOLLOW): a link planted in the directory is never
 * followed (SQLite opens its files O_NOFOLLOW too). */
static void cli_chown(const struct config *cfg, bool dir_created)
{
	static const char *const names[] = {
		"postlite.db", "postlite.db-wal", "postlite.db-shm",
	};
	if (geteuid() != 0 || !cfg->server.user ||
	    strcmp(cfg->server.data_dir, ":memory:") == 0)
		return;
	const struct passwd *pw = getpwnam(cfg->server.user);
	if (!pw)
		return; /* documented: no such user, files stay root's */
	int dfd = open(cfg->server.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (dir_created && fchown(dfd, pw->pw_uid, pw->pw_gid) != 0)
		fprintf(stderr, "postlite: %s: chown: %s\n",
		        cfg->server.data_dir, strerror(errno));
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct stat sb;
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode) || sb.st_uid != 0)
			continue;
		if (fchownat(dfd, names[i], pw->pw_uid, pw->pw_gid,
		             AT_SYMLINK_NOFOLLOW) != 0)
			fprintf(stderr, "postlite: %s/%s: chown: %s\n",
			        cfg->server.data_dir, names[i], strerror(errno));
	}
	close(dfd);
}

int main(int argc, char **argv)
{
	const char *config_path = POSTLITE_SYSCONFDIR "/postlite/postlite.conf";
	int opt;
	/* "+": stop at the command, so its own options stay for cli_parse. */
	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			cli_usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("postlite %s\n", POSTLITE_VERSION);
			return CLI_EXIT_OK;
		default:
			cli_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	struct cli c = {0};
	const struct cli_verb *v = cli_parse(argc - optind, argv + optind, &c);
	if (!v)
		return CLI_EXIT_USAGE;

	char err[512];
	struct config *cfg;
	if (config_load(config_path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "postlite: %s\n", err);
		return CLI_EXIT_CONFIG;
	}
	c.cfg = cfg;
	struct stat sb;
	bool dir_existed = stat(cfg->server.data_dir, &sb) == 0;

	int rc;
	if (v->needs_store &&
	    store_open(cfg->server.data_dir, &c.st, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "postlite: %s\n", err);
		rc = CLI_EXIT_FAIL;
	} else {
		rc = v->run(&c);
		store_close(c.st);
	}
	if (v->needs_store || v->run == cli_init)
		cli_chown(cfg, !dir_existed);
	config_free(cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "postlite: writing output: %s\n",
		        strerror(errno));
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}
