/* Start-up shared by postlite-smtpd and postlite-pop3d: command line
 * (-c FILE, -f, -h), configuration, logging. Keeps the mains tiny. */
#ifndef POSTLITE_DAEMON_H
#define POSTLITE_DAEMON_H

#include <stdbool.h>

#include "config.h"

struct daemon_args {
	const char *config_path; /* -c, default POSTLITE_SYSCONFDIR/postlite/postlite.conf */
	bool foreground;         /* -f: stay in front, log to stderr */
};

/* Parses argv, loads the config and starts logging under `ident`.
 * On any error prints one line to stderr and exits 2 (usage) or 78
 * (EX_CONFIG: configuration error, so systemd need not restart). */
struct config *daemon_setup(int argc, char **argv, const char *ident,
                            struct daemon_args *args);

/* Prints "postlite-IDENT: message" on stderr and exits 1. */
void daemon_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* DESIGN.md: started as root, a daemon binds its listeners and reads its
 * key, then runs as [server] user. Switches groups, gid and uid, checks
 * that root cannot be regained and dies otherwise. Does nothing when not
 * started as root. A [server] user that is root itself is refused. */
void daemon_drop_privileges(const struct config *cfg);

#define DAEMON_EXIT_USAGE 2
#define DAEMON_EXIT_CONFIG 78

#endif
