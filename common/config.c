/* postlite.conf: reads the file, feeds it through the INI tokenizer, applies
 * the schema (config_schema.c) line by line, fills in defaults, and checks
 * what spans keys (contract in config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_schema.h"
#include "ini.h"

#define CONFIG_FILE_MAX (1024 * 1024)

struct cfg_ctx {
	struct config *cfg;
	const char *name;
	unsigned line[CFG_NKEYS]; /* where each key was set; 0 = default */
	char *err;
	size_t errlen;
};

/* Writes "name:line: reason" (or "name: reason" for line 0). Returns 1,
 * the value that stops ini_parse. A long reason is cut, never overrun. */
static int cfg_fail(struct cfg_ctx *ctx, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfg_fail(struct cfg_ctx *ctx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctx->err || ctx->errlen == 0)
		return 1;
	n = line ? snprintf(ctx->err, ctx->errlen, "%s:%u: ", ctx->name, line)
	         : snprintf(ctx->err, ctx->errlen, "%s: ", ctx->name);
	if (n >= 0 && (size_t)n < ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 1;
}

static int cfg_on_line(void *arg, unsigned line, const char *section,
                       const char *key, const char *value)
{
	struct cfg_ctx *ctx = arg;
	char why[256];
	int i;

	if (!key)
		return cfg_find(section, NULL) < 0
		           ? cfg_fail(ctx, line, "unknown section [%s]",
		                      section)
		           : 0;
	if (!*section)
		return cfg_fail(ctx, line, "key '%s' outside any [section]",
		                key);
	if ((i = cfg_find(section, key)) < 0)
		return cfg_fail(ctx, line, "unknown key '%s' in [%s]", key,
		                section);
	if (ctx->line[i])
		return cfg_fail(ctx, line,
		                "duplicate key [%s] %s (first set "
		                "on line %u)",
		                section, key, ctx->line[i]);
	ctx->line[i] = line;
	if (cfg_set(ctx->cfg, &cfg_keys[i], value, why, sizeof why) != 0)
		return cfg_fail(ctx, line, "[%s] %s: %s", section, key, why);
	return 0;
}

/* The line a key was set on (0 if defaulted). */
static unsigned cfg_line(const struct cfg_ctx *ctx, const char *section,
                         const char *key)
{
	return ctx->line[cfg_find(section, key)];
}

/* Rows i and j are listeners. Both daemons may run at once, so no two
 * listeners anywhere may collide. Returns 0 or 1 with err written. */
static int cfg_check_collide(struct cfg_ctx *ctx, size_t i, size_t j)
{
	const struct cfg_key *ki = &cfg_keys[i], *kj = &cfg_keys[j];
	const struct listen_list *li = cfg_slot(ctx->cfg, ki);
	const struct listen_list *lj = cfg_slot(ctx->cfg, kj);

	for (size_t a = 0; a < li->n; a++)
		for (size_t b = 0; b < lj->n; b++)
			if (listen_addr_conflict(&li->addr[a], &lj->addr[b]))
				return cfg_fail(
				    ctx, ctx->line[i],
				    "[%s] %s: %s collides with %s in "
				    "[%s] %s",
				    ki->section, ki->key, li->addr[a].text,
				    lj->addr[b].text, kj->section, kj->key);
	return 0;
}

static int cfg_check_listeners(struct cfg_ctx *ctx)
{
	const struct config *c = ctx->cfg;

	if (c->tls.cert && !c->tls.key)
		return cfg_fail(ctx, cfg_line(ctx, "tls", "cert"),
		                "[tls] cert is set but key is not");
	if (c->tls.key && !c->tls.cert)
		return cfg_fail(ctx, cfg_line(ctx, "tls", "key"),
		                "[tls] key is set but cert is not");
	if (c->tls.cert &&
	    config_count_paths(c->tls.cert) != config_count_paths(c->tls.key))
		return cfg_fail(ctx, cfg_line(ctx, "tls", "key"),
		                "[tls] cert and key must list the same number "
		                "of files (paired by position)");
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const struct listen_list *l = cfg_slot(ctx->cfg, k);
		if (k->type != CFG_LISTEN)
			continue;
		if ((k->flags & CFG_IMPLICIT_TLS) && l->n && !c->tls.cert)
			return cfg_fail(ctx, ctx->line[i],
			                "[%s] %s: implicit "
			                "TLS needs [tls] cert and key",
			                k->section, k->key);
		for (size_t j = 0; j < i; j++)
			if (cfg_keys[j].type == CFG_LISTEN &&
			    cfg_check_collide(ctx, i, j))
				return 1;
	}
	return 0;
}

static int cfg_is_loopback_host(const char *host)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1)
		return listen_is_loopback((struct sockaddr *)&sin);
	if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1)
		return listen_is_loopback((struct sockaddr *)&sin6);
	return 0;
}

static int cfg_check_relay(struct cfg_ctx *ctx)
{
	struct config *c = ctx->cfg;

	if (!c->relay.host) {
		/* Never ignore a setting silently (DESIGN.md). */
		for (size_t i = 0; i < CFG_NKEYS; i++)
			if (ctx->line[i] &&
			    !strcmp(cfg_keys[i].section, "relay") &&
			    strcmp(cfg_keys[i].key, "host") != 0)
				return cfg_fail(
				    ctx, ctx->line[i],
				    "[relay] %s "
				    "is set but [relay] host is not",
				    cfg_keys[i].key);
		return 0;
	}
	if (!c->relay.user != !c->relay.password_file)
		return cfg_fail(
		    ctx,
		    cfg_line(ctx, "relay",
		             c->relay.user ? "user" : "password_file"),
		    "[relay] user and password_file go together");
	if (c->relay.port == 0)
		c->relay.port = c->relay.tls == RELAY_TLS_IMPLICIT ? 465
		                : c->relay.tls == RELAY_TLS_NONE   ? 25
		                                                   : 587;
	/* DESIGN.md: no TLS only to a relay on this machine, where nobody
	 * can read the password off the wire. */
	if (c->relay.tls == RELAY_TLS_NONE &&
	    !cfg_is_loopback_host(c->relay.host))
		return cfg_fail(ctx, cfg_line(ctx, "relay", "tls"),
		                "[relay] tls = none is allowed only for a "
		                "loopback host, not '%s'",
		                c->relay.host);
	return 0;
}

/* Fills in what the file left out: table defaults, then the host name. */
static int cfg_defaults(struct cfg_ctx *ctx)
{
	char why[256], host[256];

	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (!ctx->line[i] && cfg_keys[i].def &&
		    cfg_set(ctx->cfg, &cfg_keys[i], cfg_keys[i].def, why,
		            sizeof why) != 0)
			return cfg_fail(ctx, 0, "default [%s] %s: %s",
			                cfg_keys[i].section, cfg_keys[i].key,
			                why);
	if (ctx->cfg->server.hostname)
		return 0;
	/* As Postfix's myhostname: the system's name unless told. */
	if (gethostname(host, sizeof host) != 0 ||
	    (host[sizeof host - 1] = '\0', !cfg_is_hostname(host)))
		return cfg_fail(ctx, 0,
		                "the system host name is not a valid "
		                "host name; set [server] hostname");
	if (!(ctx->cfg->server.hostname = strdup(host)))
		return cfg_fail(ctx, 0, "out of memory");
	return 0;
}

int config_parse(const char *name, const char *text, size_t len,
                 struct config **out, char *err, size_t errlen)
{
	struct cfg_ctx ctx = {
	    .name = name ? name : "(config)", .err = err, .errlen = errlen};
	char why[256];
	unsigned line;
	int rc;

	*out = NULL;
	if (!(ctx.cfg = calloc(1, sizeof *ctx.cfg)) ||
	    !(ctx.cfg->path = strdup(ctx.name))) {
		cfg_fail(&ctx, 0, "out of memory");
		goto fail;
	}
	rc = ini_parse(text, len, cfg_on_line, &ctx, &line, why, sizeof why);
	if (rc == -1) {
		/* ini.c wrote "line N: reason"; we want "name:N: reason". */
		const char *reason = strstr(why, ": ");
		cfg_fail(&ctx, line, "%s", reason ? reason + 2 : why);
	}
	if (rc != 0 || cfg_defaults(&ctx) || cfg_check_listeners(&ctx) ||
	    cfg_check_relay(&ctx))
		goto fail;
	*out = ctx.cfg;
	return 0;
fail:
	config_free(ctx.cfg);
	return -1;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct cfg_ctx ctx = {.name = path, .err = err, .errlen = errlen};
	size_t len = 0;
	ssize_t n = 0;
	char *buf;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -cfg_fail(&ctx, 0, "cannot open: %s", strerror(errno));
	/* One byte over the cap tells "too large" from "exactly the cap". */
	if (!(buf = malloc(CONFIG_FILE_MAX + 1))) {
		close(fd);
		return -cfg_fail(&ctx, 0, "out of memory");
	}
	while (len <= CONFIG_FILE_MAX) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0)
		rc = -cfg_fail(&ctx, 0, "cannot read: %s", strerror(errno));
	else if (len > CONFIG_FILE_MAX)
		rc = -cfg_fail(&ctx, 0, "file too large (limit %d bytes)",
		               CONFIG_FILE_MAX);
	else
		rc = config_parse(path, buf, len, out, err, errlen);
	close(fd);
	free(buf);
	return rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		/* Every type that is not a number, flag or listener list is a
		 * string cfg_set strdup'ed. */
		enum cfg_type t = cfg_keys[i].type;
		if (t != CFG_SIZE && t != CFG_UINT && t != CFG_DURATION &&
		    t != CFG_BOOL && t != CFG_ENUM && t != CFG_LISTEN)
			free(*(char **)cfg_slot(cfg, &cfg_keys[i]));
	}
	free(cfg->path);
	free(cfg);
}

size_t config_count_paths(const char *s)
{
	size_t n = 0;
	while (*s) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		size_t len = strcspn(s, " \t");
		if (s[0] != '/' || len >= PATH_MAX || ++n > CONFIG_MAX_CERTS)
			return 0;
		s += len;
	}
	return n;
}

int config_path_at(const char *list, size_t i, char *out, size_t outsz)
{
	const char *s = list;
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			return -1;
		size_t len = strcspn(s, " \t");
		if (i-- == 0) {
			if (len >= outsz)
				return -1;
			memcpy(out, s, len);
			out[len] = '\0';
			return 0;
		}
		s += len;
	}
}
