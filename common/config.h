/* postlite.conf: parsed against a schema table (config.c) into an immutable
 * struct. Unknown sections or keys, bad values and unreadable files are
 * errors reported as "file:line: reason". A reload builds a new struct. */
#ifndef POSTLITE_CONFIG_H
#define POSTLITE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listen.h"

enum relay_tls { RELAY_TLS_STARTTLS, RELAY_TLS_IMPLICIT, RELAY_TLS_NONE };

struct config {
	char *path; /* the file it came from */

	struct {
		char *hostname;  /* default: gethostname() */
		char *data_dir;  /* default: /var/lib/postlite */
		char *user;      /* default: postlite */
		/* Allow USER/PASS/AUTH without TLS on loopback listeners only
		 * (DESIGN.md: off by default). */
		bool plaintext_auth_loopback;
		/* Plus-addressing separators (default "+"); NULL: off. */
		char *recipient_delimiter;
		int log_level;   /* enum log_level (log.h); default info */
	} server;

	struct {
		/* NULL = none configured. Otherwise one or more paths separated
		 * by spaces: the first pair is the default certificate, the
		 * others are chosen by SNI (their subjectAltNames). cert and key
		 * hold the same number of paths, paired by position. */
		char *cert;
		char *key;
	} tls;

	struct {
		struct listen_list listen;      /* port 25 */
		struct listen_list submission;  /* port 587 */
		struct listen_list submissions; /* port 465 */
		uint64_t max_message_size;      /* bytes, default 25M */
		unsigned max_recipients;        /* default 100 */
		unsigned max_connections;       /* default 200 */
		unsigned timeout;               /* seconds idle, default 300 */
	} smtp;

	struct {
		struct listen_list listen; /* port 110 */
		struct listen_list pop3s;  /* port 995 */
		unsigned max_connections;  /* default 200 */
		unsigned timeout;          /* seconds idle, 600 (RFC 1939) or more */
		unsigned login_delay;      /* RFC 2449 LOGIN-DELAY seconds; 0 none */
		unsigned expire;           /* RFC 2449 EXPIRE days; 0 never */
	} pop3;

	struct {
		/* NULL = direct delivery by MX. The host name or IP address
		 * only (IPv6 without brackets); the port is split off. */
		char *host;
		/* From "host:port"; when not given, the port for tls:
		 * starttls 587, implicit 465, none 25. 0 when host is NULL. */
		unsigned port;
		enum relay_tls tls; /* default starttls */
		char *user;
		char *password_file;
		char *ca_file; /* NULL: the system's CA bundle */
	} relay;

	struct {
		unsigned lifetime;  /* seconds before a bounce, default 5 days */
		unsigned retry_min; /* first retry delay, default 5 minutes */
		unsigned retry_max; /* longest retry delay, default 4 hours */
	} queue;
};

/* Loads and validates path (at most 1 MiB). Returns 0 and *out (free with
 * config_free), or -1 with *out = NULL and "path:line: reason" (or
 * "path: reason" for open/read errors and checks that span keys) in err.
 * Absent keys get the defaults noted above; listeners default to disabled.
 * Checks that span keys: [tls] cert and key together; submissions and
 * pop3s need them; no two listeners (across smtp and pop3) may collide;
 * other [relay] keys need [relay] host; relay user with password_file;
 * relay tls = none only to a loopback host. */
int config_load(const char *path, struct config **out, char *err,
                size_t errlen);

/* Same, from text in memory; `name` stands in for the file name in errors. */
int config_parse(const char *name, const char *text, size_t len,
                 struct config **out, char *err, size_t errlen);

/* Frees cfg and every string in it. NULL is a no-op. */
void config_free(struct config *cfg);

/* Certificates per [tls] cert list. */
#define CONFIG_MAX_CERTS 8

/* Counts the space-separated absolute paths in s: 0 when s is empty, holds
 * a relative or over-long path, or more than CONFIG_MAX_CERTS paths. */
size_t config_count_paths(const char *s);

/* Copies path number i (from 0) of a list into out. Returns 0 or -1. */
int config_path_at(const char *list, size_t i, char *out, size_t outsz);

/* Parses "90", "90s", "15m", "4h", "5d" into seconds. Returns 0 or -1. */
int config_parse_duration(const char *s, uint64_t *out);

/* Parses "25M", "512K", "1G", "1000" into bytes (K = 1024; suffix in
 * either case). Returns 0, or -1 for anything else or a value that does not
 * fit in 64 bits. */
int config_parse_size(const char *s, uint64_t *out);

#endif
