/* Length-tracked byte buffers with a hard maximum.
 *
 * A buffer owns its storage. Appends that would take it past `max` fail
 * without changing it, so a peer can never make a buffer grow without bound.
 * The contents are not NUL-terminated unless the caller appends a NUL. */
#ifndef POSTLITE_BUF_H
#define POSTLITE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;   /* NULL until the first append */
	size_t len;   /* bytes in use */
	size_t cap;   /* bytes allocated */
	size_t max;   /* hard limit on len */
	size_t used;  /* most bytes the storage has held (len's high mark) */
	bool secret;  /* buf_set_secret */
};

/* Sets up an empty buffer that may hold at most `max` bytes. No allocation. */
void buf_init(struct buf *b, size_t max);

/* The buffer may hold passwords (a connection's input): storage it gives
 * up, by growing or by buf_free/buf_trim, is wiped first, as far as it
 * was ever used. Kept across buf_free. */
void buf_set_secret(struct buf *b);

/* Frees the storage and leaves an empty buffer with the same max. */
void buf_free(struct buf *b);

/* Appends n bytes. Returns 0, or -1 (buffer unchanged) when the result would
 * exceed max or memory is short. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string; same returns as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* Appends formatted text; same returns as buf_append. No NUL is kept. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drops the first n bytes (n > len drops everything). */
void buf_consume(struct buf *b, size_t n);

/* The same, leaving no copy of the dropped bytes in the storage, nor of
 * the moved ones behind the new end: for input that may hold a password
 * (an AUTH or PASS line, pipelined or not). */
void buf_consume_wipe(struct buf *b, size_t n);

/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);

/* Empties the buffer and zeroes all the storage it ever used (stale copies
 * past len too), keeping the storage: input dropped unread, such as bytes
 * pipelined behind STARTTLS. */
void buf_wipe(struct buf *b);

/* Gives the storage of an empty buffer back; a buffer holding bytes is left
 * as it is (callers may point into them). */
void buf_trim(struct buf *b);

/* Bytes that can still be appended before max is reached. */
size_t buf_room(const struct buf *b);

/* Makes sure at least n more bytes fit in allocated storage (within max) and
 * returns a pointer to them; the caller writes up to n bytes there and then
 * calls buf_commit(). Returns NULL when n would exceed max or on ENOMEM. */
char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);

#endif
