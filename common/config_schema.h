/* The schema behind config.c: one row per config key, and the code that
 * turns a value into its field. Private to common/config*.c; everyone else
 * uses config.h. */
#ifndef POSTLITE_CONFIG_SCHEMA_H
#define POSTLITE_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum cfg_type {
	CFG_STRING,     /* any non-empty text (ini.c refused control bytes) */
	CFG_PATH,       /* absolute path */
	CFG_PATHS,      /* 1..CONFIG_MAX_CERTS absolute paths, space-separated */
	CFG_HOSTNAME,   /* DNS name */
	CFG_USERNAME,   /* Unix account name */
	CFG_SIZE,       /* config_parse_size(), min..max bytes */
	CFG_UINT,       /* decimal, min..max */
	CFG_BOOL,       /* names: even index false, odd index true */
	CFG_ENUM,       /* one of names, stored as its index */
	CFG_LISTEN,     /* listen_parse(); empty = disabled */
	CFG_RELAY_HOST, /* host[:port] into relay.host and relay.port */
	CFG_DURATION,   /* config_parse_duration(), min..max seconds */
	CFG_DELIMS,     /* 1..8 characters allowed in a local part, not '.' */
};

enum {
	CFG_OPTIONAL = 1,     /* empty value = unset (NULL), as if absent */
	CFG_IMPLICIT_TLS = 2, /* a listener that needs [tls] cert and key */
};

struct cfg_key {
	const char *section, *key;
	enum cfg_type type;
	size_t off;               /* offsetof(struct config, ...) */
	uint64_t min, max;        /* CFG_SIZE, CFG_UINT */
	const char *def;          /* default, parsed like a file value */
	const char *const *names; /* CFG_BOOL, CFG_ENUM; NULL-terminated */
	unsigned flags;
};

#define CFG_NKEYS 29
extern const struct cfg_key cfg_keys[];

/* Index of the (section, key) row, or of the section's first row when key
 * is NULL; -1 if there is none. */
int cfg_find(const char *section, const char *key);

/* The field of cfg that row k describes. */
void *cfg_slot(struct config *cfg, const struct cfg_key *k);

/* Parses v as row k's type into its field of cfg; the field must be unset
 * (strings are strdup'ed into it, owned by cfg). An empty v leaves a
 * CFG_OPTIONAL field unset and disables a listener. Returns 0, or -1 with
 * a reason naming the value (not the key) in why. */
int cfg_set(struct config *cfg, const struct cfg_key *k, const char *v,
            char *why, size_t whylen);

/* True if s is a DNS host name (RFC 1123 2.1), no trailing dot. */
int cfg_is_hostname(const char *s);

#endif
