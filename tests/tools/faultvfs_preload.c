/* LD_PRELOAD=libfaultvfs.so: puts the fault-injecting VFS (faultvfs.h)
 * under a daemon. POSTLITE_FAULTVFS_FULL=PATH: every SQLite write fails
 * with SQLITE_FULL while PATH exists, so a test can fill and empty the
 * "disk" of a running daemon. */
#include <stdio.h>
#include <stdlib.h>

#include "faultvfs.h"

__attribute__((constructor)) static void faultvfs_preload(void)
{
	const char *flag = getenv("POSTLITE_FAULTVFS_FULL");
	if (!flag || !flag[0])
		return;
	if (faultvfs_install() != 0) {
		fprintf(stderr, "faultvfs: cannot install\n");
		return;
	}
	faultvfs_full_while(flag);
}
