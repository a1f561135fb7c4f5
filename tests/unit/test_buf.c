/* buf: limits, growth, consume, printf. */
#include <stdlib.h>

#include "buf.h"
#include "t.h"

static void test_limits(void)
{
	struct buf b;
	buf_init(&b, 10);
	CHECK_INT(buf_room(&b), 10);
	CHECK_INT(buf_append(&b, "hello", 5), 0);
	CHECK_INT(buf_append(&b, "world", 5), 0);
	CHECK_MEM(b.data, b.len, "helloworld");
	/* Exactly at max: one more byte fails and changes nothing. */
	CHECK_INT(buf_append(&b, "!", 1), -1);
	CHECK_INT(b.len, 10);
	CHECK_INT(buf_room(&b), 0);
	CHECK(buf_reserve(&b, 1) == NULL);
	CHECK_INT(buf_append(&b, "", 0), 0);
	buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.max, 10);
}

static void test_consume(void)
{
	struct buf b;
	buf_init(&b, 64);
	buf_puts(&b, "abcdef");
	buf_consume(&b, 2);
	CHECK_MEM(b.data, b.len, "cdef");
	buf_consume(&b, 100);
	CHECK_INT(b.len, 0);
	buf_puts(&b, "xy");
	CHECK_MEM(b.data, b.len, "xy");
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static void test_printf(void)
{
	struct buf b;
	buf_init(&b, 16);
	CHECK_INT(buf_printf(&b, "%d-%s", 42, "ok"), 0);
	CHECK_MEM(b.data, b.len, "42-ok");
	/* 11 more bytes would fit, but not with vsnprintf's NUL; and 12
	 * do not fit at all: the buffer stays unchanged. */
	CHECK_INT(buf_printf(&b, "%s", "0123456789ab"), -1);
	CHECK_MEM(b.data, b.len, "42-ok");
	CHECK_INT(buf_printf(&b, "%s", "0123456789"), 0);
	CHECK_INT(b.len, 15);
	buf_free(&b);
}

static void test_growth(void)
{
	/* Many small appends up to a large max; content survives reallocs. */
	struct buf b;
	buf_init(&b, 100000);
	for (int i = 0; i < 10000; i++) {
		char c = (char)('a' + i % 26);
		if (buf_append(&b, &c, 1) != 0)
			break;
	}
	CHECK_INT(b.len, 10000);
	int bad = 0;
	for (int i = 0; i < 10000; i++)
		bad += b.data[i] != (char)('a' + i % 26);
	CHECK_INT(bad, 0);
	CHECK(b.cap <= b.max);
	char *p = buf_reserve(&b, 90000);
	CHECK(p != NULL);
	CHECK(buf_reserve(&b, 90001) == NULL);
	buf_commit(&b, 5);
	CHECK_INT(b.len, 10005);
	buf_free(&b);
}

/* buf_trim gives back an empty buffer's storage and leaves one with bytes
 * alone (a caller may point into them); the buffer works on after it. */
static void test_trim(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_trim(&b);
	CHECK(b.data == NULL);
	CHECK(buf_reserve(&b, 100000) != NULL);
	buf_commit(&b, 3);
	char *p = b.data;
	size_t cap = b.cap;
	buf_trim(&b);
	CHECK(b.data == p);
	CHECK_INT(b.cap, cap);
	buf_consume(&b, 3);
	buf_trim(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.cap, 0);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.max, 1 << 20);
	CHECK_INT(buf_puts(&b, "ok"), 0);
	CHECK_MEM(b.data, b.len, "ok");
	buf_free(&b);
}

/* buf_consume_wipe: the same bytes remain as with buf_consume, and the
 * storage holds no other copy of anything dropped or moved. */
static void test_consume_wipe(void)
{
	static const char text[] = "USER a\r\nPASS pw\r\nSTAT\r\n";
	const size_t used = sizeof text - 1; /* bytes that ever held data */
	struct buf b;
	buf_init(&b, 64);
	buf_puts(&b, text);
	buf_consume_wipe(&b, 8);
	CHECK_MEM(b.data, b.len, "PASS pw\r\nSTAT\r\n");
	for (size_t i = b.len; i < used; i++)
		CHECK_INT(b.data[i], 0);
	buf_consume_wipe(&b, 9);
	CHECK_MEM(b.data, b.len, "STAT\r\n");
	for (size_t i = b.len; i < used; i++)
		CHECK_INT(b.data[i], 0);
	buf_consume_wipe(&b, 100); /* more than there is */
	CHECK_INT(b.len, 0);
	for (size_t i = 0; i < used; i++)
		CHECK_INT(b.data[i], 0);
	buf_consume_wipe(&b, 1); /* empty: nothing to do */
	CHECK_INT(b.len, 0);
	buf_free(&b);
	buf_consume_wipe(&b, 1); /* no storage */
	CHECK(b.data == NULL);
}

/* buf_wipe: empty, and every byte the storage ever held is zero, stale
 * copies past len included. */
static void test_wipe(void)
{
	static const char text[] = "USER a\r\nPASS pw\r\n";
	struct buf b;
	buf_init(&b, 64);
	buf_wipe(&b); /* no storage: nothing to do */
	CHECK(b.data == NULL);
	buf_puts(&b, text);
	CHECK_INT(b.used, sizeof text - 1);
	buf_consume(&b, 8); /* leaves a copy of the PASS line past len */
	CHECK_INT(b.used, sizeof text - 1);
	buf_wipe(&b);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.used, 0);
	for (size_t i = 0; i < sizeof text - 1; i++)
		CHECK_INT(b.data[i], 0);
	buf_free(&b);
}

/* A secret buffer keeps its flag across buf_free, keeps its bytes when it
 * grows (it moves them itself instead of realloc, to wipe the old block),
 * and the new block's used bytes are the copied ones. */
static void test_secret(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_set_secret(&b);
	buf_puts(&b, "AUTH PLAIN c2VjcmV0\r\n");
	buf_consume(&b, 5);
	size_t len = b.len;
	CHECK(buf_reserve(&b, 100000) != NULL);
	CHECK(b.cap >= len + 100000);
	CHECK_MEM(b.data, b.len, "PLAIN c2VjcmV0\r\n");
	CHECK_INT(b.used, len);
	buf_free(&b);
	CHECK(b.secret);
	CHECK(b.data == NULL);
	CHECK_INT(b.used, 0);
	buf_trim(&b); /* empty and no storage */
	CHECK(b.secret);
	buf_init(&b, 8);
	CHECK(!b.secret);
}

int main(void)
{
	test_limits();
	test_consume();
	test_printf();
	test_growth();
	test_trim();
	test_consume_wipe();
	test_wipe();
	test_secret();
	return t_done("buf");
}
