/* The fault-injecting VFS (faultvfs.h). Every method but xWrite, xTruncate
 * and xSync passes through to the wrapped VFS and file. */
#include "faultvfs.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fv_file {
	sqlite3_file base; /* our methods */
	sqlite3_file *real; /* the wrapped file, right after this struct */
};

static sqlite3_vfs *fv_real;
static sqlite3_vfs fv_vfs;
static sqlite3_io_methods fv_methods;

/* faultvfs_full_while: writes fail while this file exists. */
static char fv_flag[4096];
static int fv_nosync; /* faultvfs_skip_sync */

void faultvfs_skip_sync(bool skip)
{
	__atomic_store_n(&fv_nosync, skip, __ATOMIC_SEQ_CST);
}

static struct {
	unsigned count[2]; /* calls per kind since arm/reset */
	unsigned at;       /* armed: fire at this count; 0: disarmed */
	int kind;
	int persist;
	int action;
	int fired;
} fv;

void faultvfs_arm(enum faultvfs_kind kind, unsigned n, bool persist,
                  enum faultvfs_action action)
{
	__atomic_store_n(&fv.at, 0, __ATOMIC_SEQ_CST);
	fv.kind = kind;
	fv.persist = persist;
	fv.action = action;
	fv.fired = 0;
	__atomic_store_n(&fv.count[0], 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fv.count[1], 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fv.at, n, __ATOMIC_SEQ_CST);
}

void faultvfs_disarm(void)
{
	__atomic_store_n(&fv.at, 0, __ATOMIC_SEQ_CST);
}

unsigned faultvfs_count(enum faultvfs_kind kind)
{
	return __atomic_load_n(&fv.count[kind], __ATOMIC_SEQ_CST);
}

void faultvfs_reset(void)
{
	__atomic_store_n(&fv.count[0], 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fv.count[1], 0, __ATOMIC_SEQ_CST);
	fv.fired = 0;
}

bool faultvfs_fired(void)
{
	return __atomic_load_n(&fv.fired, __ATOMIC_SEQ_CST) != 0;
}

void faultvfs_full_while(const char *path)
{
	size_t n = strlen(path);
	if (n < sizeof fv_flag)
		memcpy(fv_flag, path, n + 1);
}

/* Counts a call of kind; returns the SQLite error to fail it with, or 0. */
static int fv_fault(enum faultvfs_kind kind)
{
	if (fv_flag[0] && kind == FAULTVFS_WRITE && access(fv_flag, F_OK) == 0)
		return SQLITE_FULL;
	unsigned n = __atomic_add_fetch(&fv.count[kind], 1, __ATOMIC_SEQ_CST);
	unsigned at = __atomic_load_n(&fv.at, __ATOMIC_SEQ_CST);
	if (at == 0 || fv.kind != (int)kind || n < at ||
	    (n > at && !fv.persist))
		return 0;
	__atomic_store_n(&fv.fired, 1, __ATOMIC_SEQ_CST);
	switch (fv.action) {
	case FAULTVFS_EXIT:
		_exit(99);
	case FAULTVFS_FULL:
		return SQLITE_FULL;
	default:
		return kind == FAULTVFS_SYNC ? SQLITE_IOERR_FSYNC
		                             : SQLITE_IOERR_WRITE;
	}
}

#define REAL(f) (((struct fv_file *)(f))->real)

static int fv_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f))
	                           : SQLITE_OK;
	return rc;
}

static int fv_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int fv_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	int rc = fv_fault(FAULTVFS_WRITE);
	return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int fv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = fv_fault(FAULTVFS_WRITE);
	return rc ? (rc == SQLITE_FULL ? SQLITE_IOERR_TRUNCATE : rc)
	          : REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int fv_sync(sqlite3_file *f, int flags)
{
	int rc = fv_fault(FAULTVFS_SYNC);
	if (rc)
		return rc == SQLITE_FULL ? SQLITE_IOERR_FSYNC : rc;
	if (__atomic_load_n(&fv_nosync, __ATOMIC_SEQ_CST))
		return SQLITE_OK;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int fv_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int fv_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int fv_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int fv_check(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int fv_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int fv_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int fv_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int fv_shm_map(sqlite3_file *f, int pg, int sz, int ext,
                      void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}

static int fv_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void fv_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int fv_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int fv_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	/* No memory-mapped pages: every write goes through xWrite. */
	*pp = NULL;
	return SQLITE_OK;
}

static int fv_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return SQLITE_OK;
}

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
                   int flags, int *out_flags)
{
	struct fv_file *ff = (struct fv_file *)f;
	ff->real = (sqlite3_file *)(ff + 1);
	memset(ff->real, 0, (size_t)fv_real->szOsFile);
	int rc = fv_real->xOpen(fv_real, name, ff->real, flags, out_flags);
	/* SQLite calls xClose even after a failed open when pMethods is
	 * set: keep ours set only if the real file is open. */
	f->pMethods = ff->real->pMethods ? &fv_methods : NULL;
	return rc;
}

static int fv_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	return fv_real->xDelete(fv_real, name, sync);
}

static int fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return fv_real->xAccess(fv_real, name, flags, out);
}

static int fv_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return fv_real->xFullPathname(fv_real, name, n, out);
}

static int fv_random(sqlite3_vfs *vfs, int n, char *out)
{
	return fv_real->xRandomness(fv_real, n, out);
}

static int fv_sleep(sqlite3_vfs *vfs, int us)
{
	return fv_real->xSleep(fv_real, us);
}

static int fv_time(sqlite3_vfs *vfs, double *out)
{
	return fv_real->xCurrentTime(fv_real, out);
}

static int fv_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return fv_real->xGetLastError ? fv_real->xGetLastError(fv_real, n, out)
	                              : 0;
}

static int fv_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return fv_real->xCurrentTimeInt64(fv_real, out);
}

int faultvfs_install(void)
{
	if (fv_real)
		return 0;
	fv_real = sqlite3_vfs_find(NULL);
	if (!fv_real || fv_real->iVersion < 2)
		return -1;
	fv_methods = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = fv_close,
		.xRead = fv_read,
		.xWrite = fv_write,
		.xTruncate = fv_truncate,
		.xSync = fv_sync,
		.xFileSize = fv_size,
		.xLock = fv_lock,
		.xUnlock = fv_unlock,
		.xCheckReservedLock = fv_check,
		.xFileControl = fv_control,
		.xSectorSize = fv_sector,
		.xDeviceCharacteristics = fv_devchar,
		.xShmMap = fv_shm_map,
		.xShmLock = fv_shm_lock,
		.xShmBarrier = fv_shm_barrier,
		.xShmUnmap = fv_shm_unmap,
		.xFetch = fv_fetch,
		.xUnfetch = fv_unfetch,
	};
	fv_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct fv_file) + fv_real->szOsFile,
		.mxPathname = fv_real->mxPathname,
		.zName = "faultvfs",
		.xOpen = fv_open,
		.xDelete = fv_delete,
		.xAccess = fv_access,
		.xFullPathname = fv_fullpath,
		.xDlOpen = NULL,
		.xRandomness = fv_random,
		.xSleep = fv_sleep,
		.xCurrentTime = fv_time,
		.xGetLastError = fv_last_error,
		.xCurrentTimeInt64 = fv_time64,
	};
	return sqlite3_vfs_register(&fv_vfs, 1) == SQLITE_OK ? 0 : -1;
}
