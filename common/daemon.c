#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"
#include "postlite_build.h"

static char daemon_name[64] = "postlite";

#define DAEMON_MALLOC_ARENAS 2

void daemon_die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", daemon_name, msg);
	exit(1);
}

void daemon_drop_privileges(const struct config *cfg)
{
	if (geteuid() != 0 && getuid() != 0)
		return;
	const char *user = cfg->server.user;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		daemon_die("[server] user %s: %s", user,
		           errno ? strerror(errno) : "no such user");
	if (pw->pw_uid == 0)
		daemon_die("[server] user %s is root: refusing to run as root",
		           user);
	/* Order matters: groups and gid while still allowed to change them,
	 * the uid last. Every thread follows (glibc's setxid broadcast). */
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		daemon_die("cannot switch to user %s: %s", user,
		           strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() == 0 ||
	    geteuid() == 0)
		daemon_die("could regain root after switching to %s", user);
	log_info(NULL, "running as %s (uid %u)", user, (unsigned)pw->pw_uid);
}

static void usage(const char *ident)
{
	fprintf(stderr, "usage: postlite-%s [-f] [-c FILE]\n", ident);
}

struct config *daemon_setup(int argc, char **argv, const char *ident,
                            struct daemon_args *args)
{
	args->config_path = POSTLITE_SYSCONFDIR "/postlite/postlite.conf";
	args->foreground = false;
	int opt;
	while ((opt = getopt(argc, argv, "c:fhV")) != -1) {
		switch (opt) {
		case 'c':
			args->config_path = optarg;
			break;
		case 'f':
			args->foreground = true;
			break;
		case 'V':
			printf("postlite-%s %s\n", ident, POSTLITE_VERSION);
			exit(0);
		case 'h':
			usage(ident);
			exit(0);
		default:
			usage(ident);
			exit(DAEMON_EXIT_USAGE);
		}
	}
	if (optind != argc) {
		usage(ident);
		exit(DAEMON_EXIT_USAGE);
	}

	snprintf(daemon_name, sizeof daemon_name, "postlite-%s", ident);
	/* glibc gives each thread that mallocs its own arena (up to 8 per
	 * core), each with its own partly used pages; the worker threads
	 * allocate little, so two arenas (the main thread's and one the
	 * workers share) save ~130 KiB per daemon at idle without making
	 * every thread queue on one lock. Before any thread exists.
	 * bench/TLS-MEMORY.md, item 2. */
	mallopt(M_ARENA_MAX, DAEMON_MALLOC_ARENAS);
	/* Before any thread exists: it unsets environment variables. */
	sd_listen_init();
	char err[512];
	struct config *cfg;
	if (config_load(args->config_path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "postlite-%s: %s\n", ident, err);
		exit(DAEMON_EXIT_CONFIG);
	}

	log_init(daemon_name, args->foreground);
	log_set_level((enum log_level)cfg->server.log_level);
	return cfg;
}
