/* A minimal test harness: each test file is one program; CHECK records a
 * failure and goes on; t_done() prints a summary and gives the exit code. */
#ifndef POSTLITE_T_H
#define POSTLITE_T_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_checks, t_failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		t_checks++;                                                  \
		if (!(cond)) {                                               \
			t_failures++;                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",         \
			        __FILE__, __LINE__, #cond);                  \
		}                                                            \
	} while (0)

#define CHECK_INT(a, b)                                                      \
	do {                                                                 \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);      \
		t_checks++;                                                  \
		if (t_a_ != t_b_) {                                          \
			t_failures++;                                        \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
			        __FILE__, __LINE__, #a, t_a_, t_b_);         \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *t_a_ = (a), *t_b_ = (b);                         \
		t_checks++;                                                  \
		if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) {             \
			t_failures++;                                        \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
			        __FILE__, __LINE__, #a, t_a_ ? t_a_ : "(null)", \
			        t_b_ ? t_b_ : "(null)");                     \
		}                                                            \
	} while (0)

/* Compares a byte range with a string literal (length-exact). */
#define CHECK_MEM(p, n, lit)                                                 \
	do {                                                                 \
		size_t t_n_ = (n);                                           \
		t_checks++;                                                  \
		if (t_n_ != sizeof(lit) - 1 || memcmp((p), (lit), t_n_)) {   \
			t_failures++;                                        \
			fprintf(stderr, "%s:%d: %s = \"%.*s\", expected \"%s\"\n", \
			        __FILE__, __LINE__, #p, (int)t_n_,           \
			        (const char *)(p), lit);                     \
		}                                                            \
	} while (0)

static inline int t_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, t_checks, t_failures);
	return t_failures ? 1 : 0;
}

#endif
