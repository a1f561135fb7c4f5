/* The config schema: every key postlite.conf may hold, its type, limits and
 * default, and the code that turns a value into its field (see
 * config_schema.h). Defaults are strings parsed by the same code as file
 * values, so a default can never be something the file could not say. */
#include "config_schema.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIB 1024ULL
#define GIB (KIB * KIB * KIB)

/* What a value must look like, for error messages. */
/* clang-format off */
static const char *const cfg_want[] = {
	[CFG_STRING] = "text", [CFG_PATH] = "an absolute path",
	[CFG_PATHS] = "absolute paths separated by spaces (at most 8)",
	[CFG_HOSTNAME] = "a host name", [CFG_USERNAME] = "a user name",
	[CFG_SIZE] = "a size (bytes, or with a K, M or G suffix)",
	[CFG_UINT] = "a number", [CFG_BOOL] = "yes or no",
	[CFG_ENUM] = "one of", [CFG_LISTEN] = "a listen list",
	[CFG_RELAY_HOST] = "HOST[:PORT] or [IPv6][:PORT]",
	[CFG_DURATION] = "a duration (seconds, or with an s, m, h or d suffix)",
	[CFG_DELIMS] = "1 to 8 of the characters !#$%&'*+-/=?^_`{|}~",
};
/* clang-format on */

/* Rows name their fields, so a row says only what it sets. */
/* clang-format off */
#define KEY(sec, k, t, member, ...)                                          \
	{.section = sec, .key = k, .type = t,                                \
	 .off = offsetof(struct config, member), __VA_ARGS__}

static const char *const cfg_bool_names[] = {"no", "yes", "false", "true",
                                             "off", "on", "0", "1", NULL};
/* In enum relay_tls order. */
static const char *const cfg_relay_tls_names[] = {"starttls", "implicit",
                                                  "none", NULL};
/* In enum log_level order (log.h). */
static const char *const cfg_log_level_names[] = {"error", "warning", "info",
                                                  "debug", NULL};

/* The whole schema. Listeners default to disabled (calloc zero); the
 * hostname default is gethostname(), filled in by config.c. */
const struct cfg_key cfg_keys[] = {
	KEY("server", "hostname", CFG_HOSTNAME, server.hostname),
	KEY("server", "data_dir", CFG_PATH, server.data_dir,
	    .def = "/var/lib/postlite"),
	KEY("server", "user", CFG_USERNAME, server.user, .def = "postlite"),
	/* Plus-addressing: alice+lists@ is delivered to alice@ (each
	 * character separates); empty turns it off. */
	KEY("server", "recipient_delimiter", CFG_DELIMS,
	    server.recipient_delimiter, .def = "+", .flags = CFG_OPTIONAL),
	KEY("server", "plaintext_auth_loopback", CFG_BOOL,
	    server.plaintext_auth_loopback, .def = "no",
	    .names = cfg_bool_names),
	/* info: one line per connection, message and login; debug adds
	 * every command's line. */
	KEY("server", "log_level", CFG_ENUM, server.log_level, .def = "info",
	    .names = cfg_log_level_names),

	KEY("tls", "cert", CFG_PATHS, tls.cert, .flags = CFG_OPTIONAL),
	KEY("tls", "key", CFG_PATHS, tls.key, .flags = CFG_OPTIONAL),

	KEY("smtp", "listen", CFG_LISTEN, smtp.listen),
	KEY("smtp", "submission", CFG_LISTEN, smtp.submission),
	KEY("smtp", "submissions", CFG_LISTEN, smtp.submissions,
	    .flags = CFG_IMPLICIT_TLS),
	KEY("smtp", "max_message_size", CFG_SIZE, smtp.max_message_size,
	    .min = KIB, .max = 2 * GIB, .def = "25M"),
	KEY("smtp", "max_recipients", CFG_UINT, smtp.max_recipients,
	    .min = 1, .max = 10000, .def = "100"),
	KEY("smtp", "max_connections", CFG_UINT, smtp.max_connections,
	    .min = 1, .max = 100000, .def = "200"),
	KEY("smtp", "timeout", CFG_UINT, smtp.timeout,
	    .min = 10, .max = 3600, .def = "300"),

	KEY("pop3", "listen", CFG_LISTEN, pop3.listen),
	KEY("pop3", "pop3s", CFG_LISTEN, pop3.pop3s, .flags = CFG_IMPLICIT_TLS),
	KEY("pop3", "max_connections", CFG_UINT, pop3.max_connections,
	    .min = 1, .max = 100000, .def = "200"),
	/* RFC 1939 3: the autologout timer is at least 10 minutes. */
	KEY("pop3", "timeout", CFG_UINT, pop3.timeout,
	    .min = 600, .max = 86400, .def = "600"),
	/* RFC 2449 6.8 LOGIN-DELAY: seconds a mailbox must wait between two
	 * logins (0: none, not advertised). */
	KEY("pop3", "login_delay", CFG_UINT, pop3.login_delay,
	    .min = 0, .max = 86400, .def = "0"),
	/* RFC 2449 6.7 EXPIRE: days mail is kept after its first retrieval;
	 * absent or empty: never deleted ("EXPIRE NEVER"). "EXPIRE 0"
	 * (gone when the session that retrieved it ends) is not offered. */
	KEY("pop3", "expire", CFG_UINT, pop3.expire, .min = 1, .max = 36500,
	    .flags = CFG_OPTIONAL),

	KEY("relay", "host", CFG_RELAY_HOST, relay.host, .flags = CFG_OPTIONAL),
	KEY("relay", "tls", CFG_ENUM, relay.tls, .def = "starttls",
	    .names = cfg_relay_tls_names),
	KEY("relay", "user", CFG_STRING, relay.user, .flags = CFG_OPTIONAL),
	KEY("relay", "password_file", CFG_PATH, relay.password_file,
	    .flags = CFG_OPTIONAL),
	/* CA bundle that verifies the smarthost; default: the system's. */
	KEY("relay", "ca_file", CFG_PATH, relay.ca_file, .flags = CFG_OPTIONAL),

	/* Outbound queue: how long to keep trying (then a bounce), and the
	 * retry back-off, doubling from retry_min up to retry_max. */
	KEY("queue", "lifetime", CFG_DURATION, queue.lifetime,
	    .min = 60, .max = 30 * 86400, .def = "5d"),
	KEY("queue", "retry_min", CFG_DURATION, queue.retry_min,
	    .min = 1, .max = 86400, .def = "5m"),
	KEY("queue", "retry_max", CFG_DURATION, queue.retry_max,
	    .min = 1, .max = 7 * 86400, .def = "4h"),
};
/* clang-format on */

_Static_assert(sizeof cfg_keys / sizeof cfg_keys[0] == CFG_NKEYS,
               "CFG_NKEYS must match the table");
_Static_assert(sizeof(enum relay_tls) == sizeof(int), "enum stored as int");

int cfg_find(const char *section, const char *key)
{
	for (size_t i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    (!key || strcmp(cfg_keys[i].key, key) == 0))
			return (int)i;
	return -1;
}

void *cfg_slot(struct config *cfg, const struct cfg_key *k)
{
	return (char *)cfg + k->off;
}

/* Decimal digits only (no sign, no spaces), overflow checked; advances
 * *sp past them. */
static int cfg_parse_u64(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;

	if (!s || cfg_parse_u64(&s, &v) != 0)
		return -1;
	switch (*s) {
	case 'K':
	case 'k':
		mult = KIB;
		s++;
		break;
	case 'M':
	case 'm':
		mult = KIB * KIB;
		s++;
		break;
	case 'G':
	case 'g':
		mult = GIB;
		s++;
		break;
	}
	if (*s != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int config_parse_duration(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;

	if (!s || cfg_parse_u64(&s, &v) != 0)
		return -1;
	switch (*s) {
	case 's':
		s++;
		break;
	case 'm':
		mult = 60;
		s++;
		break;
	case 'h':
		mult = 3600;
		s++;
		break;
	case 'd':
		mult = 86400;
		s++;
		break;
	}
	if (*s != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* RFC 1035 2.3.1 / RFC 1123 2.1: labels of letters, digits and inner
 * hyphens, 1-63 bytes, 253 in all. No trailing dot: this name goes into
 * EHLO and Received:, where it is not written. */
int cfg_is_hostname(const char *s)
{
	size_t len = strlen(s), lab = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || (c == '-' && lab > 0)) {
			lab++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* Portable user names (POSIX 3.437) within the usual 32-byte limit; the
 * daemons' getpwnam() decides whether the account exists. */
static int cfg_is_username(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 32 && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") == n;
}

/* "host[:port]" or "[IPv6][:port]" into host (brackets dropped) and *port
 * (0 = not given). Returns 0 or -1. */
static int cfg_split_host(const char *v, char *host, size_t hostlen,
                          uint64_t *port)
{
	int v6 = v[0] == '[';
	const char *h = v + v6;
	const char *end = v6 ? strchr(h, ']') : h + strcspn(h, ":");
	struct in6_addr a6;

	*port = 0;
	if (!end || (size_t)(end - h) >= hostlen)
		return -1;
	snprintf(host, hostlen, "%.*s", (int)(end - h), h);
	if (v6 ? inet_pton(AF_INET6, host, &a6) != 1 : !cfg_is_hostname(host))
		return -1;
	end += v6;
	if (*end == '\0')
		return 0;
	if (*end++ != ':' || cfg_parse_u64(&end, port) != 0 || *end)
		return -1;
	return *port >= 1 && *port <= 65535 ? 0 : -1;
}

/* 1024 -> "1K", 2^31 -> "2G", 1000 -> "1000". */
static void cfg_fmt_size(char *out, size_t outlen, uint64_t v)
{
	int u = 0;

	while (u < 3 && v >= KIB && v % KIB == 0) {
		v /= KIB;
		u++;
	}
	snprintf(out, outlen, "%llu%.*s", (unsigned long long)v, u > 0,
	         &"KMG"[u > 0 ? u - 1 : 0]);
}

/* Writes why the value v does not fit row k. Returns -1. */
static int cfg_bad(const struct cfg_key *k, const char *v, char *why,
                   size_t whylen)
{
	char lo[24], hi[24], more[96] = "";
	size_t n = 0;

	if (k->type == CFG_SIZE || k->type == CFG_UINT ||
	    k->type == CFG_DURATION) {
		if (k->type == CFG_SIZE) {
			cfg_fmt_size(lo, sizeof lo, k->min);
			cfg_fmt_size(hi, sizeof hi, k->max);
		} else {
			snprintf(lo, sizeof lo, "%llu",
			         (unsigned long long)k->min);
			snprintf(hi, sizeof hi, "%llu",
			         (unsigned long long)k->max);
		}
		snprintf(more, sizeof more, " from %s to %s", lo, hi);
	} else if (k->type == CFG_ENUM) {
		for (int i = 0; k->names[i] && n < sizeof more; i++)
			n += (size_t)snprintf(more + n, sizeof more - n, "%s%s",
			                      i ? ", " : " ", k->names[i]);
	}
	if (!*v)
		snprintf(why, whylen, "empty value, expected %s%s",
		         cfg_want[k->type], more);
	else
		snprintf(why, whylen, "'%s' is not %s%s", v, cfg_want[k->type],
		         more);
	return -1;
}

/* Check, then store: a bad value stores nothing (a listener stays
 * disabled). */
int cfg_set(struct config *cfg, const struct cfg_key *k, const char *v,
            char *why, size_t whylen)
{
	void *slot = cfg_slot(cfg, k);
	const char *str = v, *end = v;
	char host[256];
	uint64_t n = 0;
	int ok = 0;

	if (k->type == CFG_LISTEN)
		return listen_parse(v, slot, why, whylen);
	if (!*v && (k->flags & CFG_OPTIONAL))
		return 0;
	switch (k->type) {
	case CFG_STRING:
		ok = *v != '\0';
		break;
	case CFG_PATH:
		ok = v[0] == '/' && strlen(v) < PATH_MAX;
		break;
	case CFG_PATHS:
		ok = config_count_paths(v) > 0;
		break;
	case CFG_HOSTNAME:
		ok = cfg_is_hostname(v);
		break;
	case CFG_USERNAME:
		ok = cfg_is_username(v);
		break;
	case CFG_SIZE:
		ok = config_parse_size(v, &n) == 0;
		break;
	case CFG_DURATION:
		ok = config_parse_duration(v, &n) == 0;
		break;
	case CFG_DELIMS:
		ok = strlen(v) <= 8 && strspn(v, "!#$%&'*+-/=?^_`{|}~") ==
		                           strlen(v);
		break;
	case CFG_UINT:
		ok = cfg_parse_u64(&end, &n) == 0 && !*end;
		break;
	case CFG_BOOL:
	case CFG_ENUM:
		for (n = 0; k->names[n] && strcasecmp(v, k->names[n]); n++)
			;
		ok = k->names[n] != NULL;
		break;
	case CFG_RELAY_HOST:
		ok = cfg_split_host(v, host, sizeof host, &n) == 0;
		str = host;
		break;
	case CFG_LISTEN:
		break;
	}
	if ((k->type == CFG_SIZE || k->type == CFG_UINT ||
	     k->type == CFG_DURATION) &&
	    (n < k->min || n > k->max))
		ok = 0;
	if (!ok)
		return cfg_bad(k, v, why, whylen);

	switch (k->type) {
	case CFG_SIZE:
		*(uint64_t *)slot = n;
		return 0;
	case CFG_UINT:
	case CFG_DURATION:
		*(unsigned *)slot = (unsigned)n;
		return 0;
	case CFG_BOOL:
		*(bool *)slot = n & 1;
		return 0;
	case CFG_ENUM:
		*(int *)slot = (int)n;
		return 0;
	case CFG_RELAY_HOST:
		cfg->relay.port = (unsigned)n;
		break;
	default:
		break;
	}
	if (!(*(char **)slot = strdup(str))) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}
