/* A stand-in for libFuzzer's main: runs every file of the corpus
 * directories (and any plain files) given on the command line through
 * LLVMFuzzerTestOneInput, once each, in name order. Linked with each fuzz
 * target in every ordinary build (gcc or clang, with or without sanitizers)
 * so that `meson test --suite fuzz` replays the committed corpora; a crash,
 * a sanitizer report or an abort() in a target fails the test.
 *
 *   fuzz_x-replay DIR|FILE...
 *
 * Exits 0 after replaying at least one input, 1 on a missing or empty
 * directory or an unreadable file (a corpus that silently vanished must not
 * pass). Prints one line per argument. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Reads a whole file into a malloc'ed buffer of exactly its size (so ASan
 * sees any read past the end). Returns 0, or -1 with errno. */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 4096, len = 0;
	uint8_t *p = malloc(cap);
	while (p) {
		size_t k = fread(p + len, 1, cap - len, f);
		len += k;
		if (k == 0)
			break;
		if (len == cap) {
			uint8_t *q = realloc(p, cap * 2);
			if (!q) {
				free(p);
				p = NULL;
				break;
			}
			p = q;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!p || err) {
		free(p);
		errno = p ? EIO : ENOMEM;
		return -1;
	}
	/* An exact-size copy: a target reading data[size] is caught. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(p);
		errno = ENOMEM;
		return -1;
	}
	memcpy(exact, p, len);
	free(p);
	*data = exact;
	*size = len;
	return 0;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t size;
	if (read_file(path, &data, &size) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (not recursing, skipping dot files).
 * Returns the number run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **q = realloc(names, cap * sizeof *names);
			if (!q)
				abort();
			names = q;
		}
		size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
		names[n] = malloc(len);
		if (!names[n])
			abort();
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	/* Name order: the same sequence on every machine. */
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	long run = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat sb;
		if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (run_file(names[i]) != 0)
				run = -1;
			else if (run >= 0)
				run++;
		}
		free(names[i]);
	}
	free(names);
	return run;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	long total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			        strerror(errno));
			return 1;
		}
		long n;
		if (S_ISDIR(sb.st_mode)) {
			n = run_dir(argv[i]);
			if (n == 0)
				fprintf(stderr, "replay: %s: empty\n", argv[i]);
			if (n <= 0)
				return 1;
		} else {
			if (run_file(argv[i]) != 0)
				return 1;
			n = 1;
		}
		printf("replay: %s: %ld inputs ok\n", argv[i], n);
		total += n;
	}
	printf("replay: %ld inputs ok\n", total);
	return 0;
}
