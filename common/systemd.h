/* The two systemd protocols a daemon needs, without libsystemd:
 * readiness notification (one datagram to $NOTIFY_SOCKET) and socket
 * activation ($LISTEN_PID, $LISTEN_FDS, $LISTEN_FDNAMES). Both are no-ops
 * outside systemd. */
#ifndef POSTLITE_SYSTEMD_H
#define POSTLITE_SYSTEMD_H

#include <stddef.h>

/* Sends a state string such as "READY=1" or "STOPPING=1". Returns 0, or -1
 * when $NOTIFY_SOCKET is set but unusable. Does nothing when unset. */
int sd_notify_state(const char *state);

/* Reads and unsets the socket-activation variables once (call early, before
 * any thread starts). Returns the number of inherited sockets, or 0. */
int sd_listen_init(void);

/* Fds passed for `name` (FileDescriptorName=); each is handed out once.
 * Returns how many were stored in fds (at most max). */
size_t sd_listen_take(const char *name, int *fds, size_t max);

/* Inherited sockets nobody took (logged as a configuration mistake). */
size_t sd_listen_unclaimed(void);

#endif
