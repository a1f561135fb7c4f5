#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* SD_LISTEN_FDS_START: inherited sockets start at fd 3. */
#define LISTEN_FDS_START 3
#define LISTEN_MAX 32

static struct {
	int fd;
	char name[64];
	bool taken;
} listen_fds[LISTEN_MAX];
static size_t listen_n;

int sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return 0;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	                              len);
	ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	                   (struct sockaddr *)&sun, salen);
	close(fd);
	return n < 0 ? -1 : 0;
}

int sd_listen_init(void)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	int n = 0;
	/* The variables are meant for exactly this process. */
	if (pid && fds && strtol(pid, NULL, 10) == (long)getpid()) {
		long v = strtol(fds, NULL, 10);
		n = v > 0 && v <= LISTEN_MAX ? (int)v : 0;
	}
	for (int i = 0; i < n; i++) {
		listen_fds[i].fd = LISTEN_FDS_START + i;
		fcntl(listen_fds[i].fd, F_SETFD, FD_CLOEXEC);
		/* Names are colon-separated, in fd order; "unknown" when
		 * the unit set none. */
		const char *end = names ? strchr(names, ':') : NULL;
		size_t len = names ? (end ? (size_t)(end - names)
		                          : strlen(names))
		                   : 0;
		if (len == 0 || len >= sizeof listen_fds[i].name)
			snprintf(listen_fds[i].name, sizeof listen_fds[i].name,
			         "unknown");
		else
			memcpy(listen_fds[i].name, names, len);
		names = end ? end + 1 : NULL;
	}
	listen_n = (size_t)n;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}

size_t sd_listen_take(const char *name, int *fds, size_t max)
{
	size_t got = 0;
	for (size_t i = 0; i < listen_n && got < max; i++) {
		if (listen_fds[i].taken || strcmp(listen_fds[i].name, name))
			continue;
		listen_fds[i].taken = true;
		fds[got++] = listen_fds[i].fd;
	}
	return got;
}

size_t sd_listen_unclaimed(void)
{
	size_t n = 0;
	for (size_t i = 0; i < listen_n; i++)
		n += !listen_fds[i].taken;
	return n;
}
