/* A fault-injecting SQLite VFS for tests (after SQLite's test_vfs.c): it
 * wraps the default VFS and can fail the Nth write or sync from now on, once
 * or from then on (a full disk), or end the process right there (a crash
 * mid-transaction). Thread-safe counters; one configuration per process. */
#ifndef POSTLITE_FAULTVFS_H
#define POSTLITE_FAULTVFS_H

#include <stdbool.h>

enum faultvfs_kind {
	FAULTVFS_WRITE, /* xWrite and xTruncate */
	FAULTVFS_SYNC,  /* xSync */
};

enum faultvfs_action {
	FAULTVFS_FULL,  /* return SQLITE_FULL, as for ENOSPC */
	FAULTVFS_IOERR, /* return SQLITE_IOERR_WRITE / _FSYNC */
	FAULTVFS_EXIT,  /* _exit(99) before the call: a crash */
};

/* Registers the shim as the default VFS ("faultvfs"). Returns 0 or -1. */
int faultvfs_install(void);

/* Arms a fault at the nth call (1-based) of kind counted from now;
 * persist: every later call of that kind fails too (until disarmed). */
void faultvfs_arm(enum faultvfs_kind kind, unsigned n, bool persist,
                  enum faultvfs_action action);
void faultvfs_disarm(void);

/* Calls of kind since the last arm or reset. */
unsigned faultvfs_count(enum faultvfs_kind kind);
void faultvfs_reset(void);
/* True once the armed fault has fired. */
bool faultvfs_fired(void);

/* skip: syncs are counted (and may fail) but not done: for tests about
 * faults and crashes of the process, not of the machine; fast. */
void faultvfs_skip_sync(bool skip);

/* Every write fails with SQLITE_FULL while the file path exists (a disk
 * that fills and empties under a running daemon). */
void faultvfs_full_while(const char *path);

#endif
