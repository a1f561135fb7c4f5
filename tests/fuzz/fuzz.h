/* Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * A target checks properties with FUZZ_CHECK, which aborts: libFuzzer
 * then saves the input as a crash, and the corpus replay (replay_main.c)
 * fails its test. Split points and modes are drawn from a small
 * deterministic generator seeded by input bytes, so every run of an input
 * takes the same path (a saved crash reproduces). */
#ifndef POSTLITE_FUZZ_H
#define POSTLITE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n",      \
			        __FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* xorshift64*: plenty for choosing split points. */
struct fuzz_rng {
	uint64_t s;
};

static inline void fuzz_rng_init(struct fuzz_rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
	if (r->s == 0)
		r->s = 1;
}

static inline uint64_t fuzz_rng_next(struct fuzz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

/* A length in 1..max (max >= 1), small lengths much likelier than big
 * ones: one byte, a few bytes, up to max. */
static inline size_t fuzz_rng_len(struct fuzz_rng *r, size_t max)
{
	uint64_t x = fuzz_rng_next(r);
	size_t lim;
	switch (x & 3) {
	case 0:
		lim = 1;
		break;
	case 1:
		lim = 8;
		break;
	case 2:
		lim = 64;
		break;
	default:
		lim = max;
		break;
	}
	if (lim > max)
		lim = max;
	return 1 + (size_t)((x >> 2) % lim);
}

/* Takes one byte off the front of the input (0 when empty). */
static inline uint8_t fuzz_take(const uint8_t **data, size_t *size)
{
	if (*size == 0)
		return 0;
	uint8_t b = **data;
	(*data)++;
	(*size)--;
	return b;
}

/* True if the view [p, p+n) lies inside [base, base+len). */
static inline int fuzz_inside(const void *p, size_t n, const void *base,
                              size_t len)
{
	const char *q = p, *b = base;
	return q >= b && n <= len && (size_t)(q - b) <= len - n;
}

/* A malloc'ed copy of exactly size bytes (no NUL after it, so ASan sees
 * a read past the end); one zero byte when size is 0. */
static inline char *fuzz_memdup(const uint8_t *data, size_t size)
{
	char *s = calloc(1, size ? size : 1);
	if (!s)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	return s;
}

/* A malloc'ed copy of data with a NUL after it. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

#endif
