#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->used = 0;
	b->secret = false;
}

void buf_set_secret(struct buf *b)
{
	b->secret = true;
}

static void note_used(struct buf *b)
{
	if (b->len > b->used)
		b->used = b->len;
}

void buf_free(struct buf *b)
{
	bool secret = b->secret;
	if (secret && b->data)
		explicit_bzero(b->data, b->used);
	free(b->data);
	buf_init(b, b->max);
	b->secret = secret;
}

void buf_wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->used);
	b->len = 0;
	b->used = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

void buf_trim(struct buf *b)
{
	if (b->len == 0)
		buf_free(b);
}

size_t buf_room(const struct buf *b)
{
	return b->max - b->len;
}

char *buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max - b->len)
		return NULL;
	size_t need = b->len + n;
	if (need > b->cap) {
		/* Grow geometrically, but never past max: the cap is the
		 * memory a peer can make us hold. */
		size_t cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		if (cap < need)
			cap = need;
		char *p;
		if (b->secret) {
			/* realloc would free the old block unwiped */
			p = malloc(cap);
			if (!p)
				return NULL;
			if (b->data) {
				memcpy(p, b->data, b->len);
				explicit_bzero(b->data, b->used);
				free(b->data);
			}
			b->used = b->len;
		} else {
			p = realloc(b->data, cap);
			if (!p)
				return NULL;
		}
		b->data = p;
		b->cap = cap;
	}
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	note_used(b);
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	char *dst = buf_reserve(b, n);
	if (!dst)
		return -1;
	memcpy(dst, p, n);
	b->len += n;
	note_used(b);
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	/* vsnprintf writes a NUL: reserve one more byte, do not count it. */
	char *dst = buf_reserve(b, (size_t)n + 1);
	if (!dst)
		return -1;
	vsnprintf(dst, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	note_used(b);
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_consume_wipe(struct buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return;
	explicit_bzero(b->data, n);
	buf_consume(b, n);
	/* The rest moved n bytes to the front: its old last n are a copy. */
	if (b->len > 0)
		explicit_bzero(b->data + b->len, n);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
