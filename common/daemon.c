#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "postlite_build.h"

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

	char err[512];
	struct config *cfg;
	if (config_load(args->config_path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "postlite-%s: %s\n", ident, err);
		exit(DAEMON_EXIT_CONFIG);
	}

	char name[64];
	snprintf(name, sizeof name, "postlite-%s", ident);
	log_init(name, args->foreground);
	return cfg;
}
