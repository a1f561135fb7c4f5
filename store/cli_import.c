/* postlite import ADDRESS mbox|maildir PATH (cli_dir.h): migration from
 * another server. Messages keep their order (mbox: file order; maildir:
 * delivery time, then name) and their dates (mbox: the "From " line;
 * maildir: the time in the file name, else its mtime). Line ends become
 * CRLF as SMTP delivers them; mboxrd's ">From " quoting is undone. Each
 * message streams into the store in pieces (no message is held whole);
 * every IMPORT_BATCH messages share one commit. A failure stops the
 * import: what was imported before it stays, and the count is printed. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_dir.h"
#include "store.h"

#define IMPORT_BATCH 32

struct imp {
	struct cli *c;
	uint64_t rcpt;
	uint64_t msg; /* the pending message, 0 until its first full piece */
	size_t len;   /* bytes in piece */
	bool cr;      /* the last byte taken was a CR */
	int64_t date; /* 0: now */
	unsigned done, batched;
	enum store_status s;
	char piece[STORE_CHUNK_SIZE];
};

/* Hands a full piece to the store. */
static void imp_flush(struct imp *m)
{
	if (m->s == STORE_OK)
		m->s = store_msg_append(m->c->st, &m->msg, m->piece, m->len);
	m->len = 0;
}

static void imp_byte(struct imp *m, char b)
{
	if (m->len == sizeof m->piece)
		imp_flush(m);
	m->piece[m->len++] = b;
}

/* Takes message bytes, LF made CRLF. */
static void imp_put(struct imp *m, const char *p, size_t n)
{
	for (size_t i = 0; i < n && m->s == STORE_OK; i++) {
		if (p[i] == '\n' && !m->cr)
			imp_byte(m, '\r');
		imp_byte(m, p[i]);
		m->cr = p[i] == '\r';
	}
}

/* Ends the current message: deliver, date, and a commit now and then. */
static void imp_end(struct imp *m)
{
	struct store *st = m->c->st;
	if (m->s == STORE_OK)
		m->s = store_msg_deliver(st, &m->msg, m->piece, m->len,
		                         &m->rcpt, 1);
	if (m->s == STORE_OK && m->date)
		m->s = store_msg_set_received(st, m->msg, m->date);
	if (m->s != STORE_OK && m->msg)
		(void)store_msg_abort(st, m->msg);
	if (m->s == STORE_OK)
		m->batched++;
	if (m->s == STORE_OK && m->batched == IMPORT_BATCH) {
		m->s = store_batch_commit(st);
		if (m->s == STORE_OK) {
			m->done += m->batched;
			m->batched = 0;
			m->s = store_batch_begin(st);
		}
	}
	m->msg = 0;
	m->len = 0;
	m->cr = false;
	m->date = 0;
}

/* "From sender Tue Mar  5 10:00:00 2024": asctime, taken as UTC. */
static int64_t imp_from_date(const char *line)
{
	const char *p = line + 5;
	p += strcspn(p, " \t");  /* the sender */
	p += strspn(p, " \t");
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(p, "%a %b %d %H:%M:%S %Y", &tm);
	return end ? (int64_t)timegm(&tm) : 0;
}

static bool imp_is_from(const char *line)
{
	return strncmp(line, "From ", 5) == 0;
}

static void imp_mbox(struct imp *m, FILE *f)
{
	static char line[STORE_CHUNK_SIZE];
	bool at_start = true, open = false, blank = false;
	while (m->s == STORE_OK && fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		bool whole = n > 0 && line[n - 1] == '\n';
		if (at_start && imp_is_from(line)) {
			/* The blank line before a From_ line is mbox's. */
			if (open)
				imp_end(m);
			open = true;
			blank = false;
			m->date = imp_from_date(line);
			at_start = whole;
			continue;
		}
		if (blank) {
			imp_put(m, "\n", 1);
			blank = false;
		}
		if (at_start && (strcmp(line, "\n") == 0 ||
		                 strcmp(line, "\r\n") == 0)) {
			blank = true;
			continue;
		}
		const char *p = line;
		/* mboxrd: ">From ", ">>From "... lose one '>'. */
		if (at_start && line[0] == '>' &&
		    imp_is_from(line + strspn(line, ">")))
			p++, n--;
		if (open)
			imp_put(m, p, n);
		at_start = whole;
	}
	if (ferror(f) && m->s == STORE_OK) {
		fprintf(stderr, "postlite: reading: %s\n", strerror(errno));
		m->s = STORE_INVALID;
	}
	if (open && m->s == STORE_OK)
		imp_end(m);
}

struct imp_file {
	unsigned long long t; /* delivery time from the name, or mtime */
	char *path;
	const char *name;
};

static int imp_file_cmp(const void *a, const void *b)
{
	const struct imp_file *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Adds the files of dir/sub to *v. Returns 0 or -1. */
static int imp_scan(const char *dir, const char *sub, struct imp_file **v,
                    size_t *n, size_t *cap)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat sb;
		char *p = NULL;
		if (e->d_name[0] == '.' ||
		    asprintf(&p, "%s/%s", path, e->d_name) < 0)
			continue;
		if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    (*n == *cap &&
		     !(*v = realloc(*v, (*cap = *cap ? *cap * 2 : 64) *
		                            sizeof **v)))) {
			free(p);
			continue;
		}
		char *end;
		unsigned long long t = strtoull(e->d_name, &end, 10);
		if (end == e->d_name || *end != '.')
			t = (unsigned long long)sb.st_mtime;
		(*v)[*n].t = t;
		(*v)[*n].path = p;
		(*v)[*n].name = strrchr(p, '/') + 1;
		(*n)++;
	}
	closedir(d);
	return 0;
}

static void imp_maildir(struct imp *m, const char *dir)
{
	struct imp_file *v = NULL;
	size_t n = 0, cap = 0;
	if (imp_scan(dir, "cur", &v, &n, &cap) != 0 ||
	    imp_scan(dir, "new", &v, &n, &cap) != 0) {
		fprintf(stderr, "postlite: %s: %s\n", dir, strerror(errno));
		m->s = STORE_INVALID;
	}
	qsort(v, n, sizeof *v, imp_file_cmp);
	static char buf[STORE_CHUNK_SIZE];
	for (size_t i = 0; i < n; i++) {
		FILE *f = m->s == STORE_OK ? fopen(v[i].path, "re") : NULL;
		if (f) {
			size_t k;
			while (m->s == STORE_OK &&
			       (k = fread(buf, 1, sizeof buf, f)) > 0)
				imp_put(m, buf, k);
			m->date = (int64_t)v[i].t;
			if (ferror(f))
				m->s = STORE_INVALID;
			fclose(f);
			imp_end(m);
		} else if (m->s == STORE_OK) {
			fprintf(stderr, "postlite: %s: %s\n", v[i].path,
			        strerror(errno));
			m->s = STORE_INVALID;
		}
		free(v[i].path);
	}
	free(v);
}

int cli_import(struct cli *c)
{
	const char *addr = c->args[0], *kind = c->args[1], *path = c->args[2];
	bool mbox = strcmp(kind, "mbox") == 0;
	if (!mbox && strcmp(kind, "maildir") != 0) {
		fprintf(stderr, "postlite: %s: mbox or maildir\n", kind);
		return CLI_EXIT_USAGE;
	}
	static struct imp m; /* the piece buffer is 64 KiB */
	memset(&m, 0, sizeof m);
	m.c = c;
	enum store_status s = store_rcpt_lookup(c->st, addr, &m.rcpt);
	if (s == STORE_NOTLOCAL || s == STORE_INVALID || s == STORE_NOTFOUND)
		return cli_store_fail(c, s, addr);
	FILE *f = NULL;
	if (mbox && !(f = fopen(path, "re"))) {
		fprintf(stderr, "postlite: %s: %s\n", path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	m.s = store_batch_begin(c->st);
	if (mbox)
		imp_mbox(&m, f);
	else
		imp_maildir(&m, path);
	if (f)
		fclose(f);
	char why[600];
	snprintf(why, sizeof why, "%s", store_errmsg(c->st));
	s = m.s;
	/* What went in before a failure stays. */
	enum store_status cs = store_batch_commit(c->st);
	if (cs == STORE_OK)
		m.done += m.batched;
	printf("imported %u message%s into %s\n", m.done, m.done == 1 ? "" : "s",
	       addr);
	if (s != STORE_OK || cs != STORE_OK) {
		if (s == STORE_OK)
			snprintf(why, sizeof why, "%s", store_errmsg(c->st));
		fprintf(stderr, "postlite: import stopped after %u messages: "
		        "%s\n", m.done, why);
		return store_status_temporary(s != STORE_OK ? s : cs) ?
		       CLI_EXIT_TEMPFAIL : CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
