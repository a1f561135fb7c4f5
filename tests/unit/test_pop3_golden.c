/* Golden transcripts: tests/golden/pop3/NAME.in is a client script, NAME.out
 * the exact server transcript, reviewed like code. Each script runs against
 * POP3 sessions over an in-memory store twice -- its blocks fed whole, then
 * one byte at a time -- and both transcripts must equal NAME.out.
 *
 * .in: a line is a command, sent with CRLF after it (escapes: \\ \r \n \t
 * \0 \xHH). Blank lines and lines starting with "# " are ignored. Lines
 * starting with "#!" are directives; all but send/repeat end a block (the
 * bytes the client pipelines in one go):
 *   #!open NAME [tls] [stls] [plaintext] [ip=ADDR] [login_delay=S]
 *         [expire=D] [max_bad=N] [max_bad_trans=N] [fail_delay=MS]
 *                    a session, now current
 *   #!use NAME       make another open session current
 *   #!send TEXT      bytes without a CRLF      #!repeat N TEXT  N times
 *   #!sync           end the block here
 *   #!timeout        the idle timer fires      #!drop  the client hangs up
 *   #!deliver MSG [ADDRESS]   a new message (m1..m4) for alice (default)
 *   #!throttle N     first line: N failed logins per address block it
 *   #!later S        the clock moves on S seconds
 * An STLS handshake completes at the end of its block: what the client
 * pipelined behind STLS in the same block is discarded (RFC 2595 4).
 *
 * .out: the server's bytes with each CRLF shown as a line end and other
 * bytes escaped as in .in; "\c" ends a line the server left without CRLF.
 * Lines starting with "#!" record open/use/drop/timeout/deliver, "#!delay
 * MS" (a failed-login delay started) and "#!closed NAME" (the server hung
 * up). POP3_GOLDEN_UPDATE=1 rewrites the .out files instead of comparing.
 *
 * Usage: test_pop3_golden [DIR]; DIR defaults to tests/golden/pop3 found
 * from this source file's path (meson runs tests in the build root). */
#include <dirent.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "job.h"
#include "log.h"
#include "pop3_logins.h"
#include "pop3_session.h"
#include "session_io.h"
#include "store.h"
#include "t.h"
#include "throttle.h"

#define MAX_SESS 4

struct gsess {
	char name[16];
	struct golden *g;
	struct buf in, raw; /* client bytes waiting; server bytes not shown */
	struct pop3_session *s;
	bool open, closed, gone, resumed, tls_wait;
};

struct golden {
	struct store *st;
	struct runner_inline auth, store;
	struct throttle *thr;
	struct pop3_logins *logins;
	/* Time stands still (transcripts never depend on the wall clock)
	 * except for the delays, which move it on when they fire. */
	struct clock_manual clock;
	void (*manual_delay)(struct clock *c, struct job *j, unsigned ms);
	struct buf out; /* the transcript */
	struct gsess sess[MAX_SESS];
	struct gsess *cur;
	uint64_t alice;
};

/* ---- the messages ---------------------------------------------------- */

static const struct {
	const char *name, *text;
} msgs[] = {
	{ "m1", "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n"
	        ".dot line\r\n..two dots\r\n.\r\nlast\r\n" },
	{ "m2", "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\x80 bytes\r\n.\xc3\xa9\r\n" },
	{ "m3", "Subject: three\r\n\r\nno newline at end" },
	{ "m4", "Subject: four\r\nX-Long: " "0123456789012345678901234567890123"
	        "4567890123456789\r\n\r\nline 1\r\nline 2\r\n.\r\nline 4\r\n" },
};

static int deliver(struct golden *g, const char *name, const char *rcpt)
{
	uint64_t mbox;
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		if (strcmp(msgs[i].name, name) != 0)
			continue;
		if (store_rcpt_lookup(g->st, rcpt, &mbox) != STORE_OK)
			return -1;
		uint64_t msg = 0;
		return store_msg_deliver(g->st, &msg, msgs[i].text,
		                         strlen(msgs[i].text), &mbox, 1) ==
		                       STORE_OK
		               ? 0
		               : -1;
	}
	return -1;
}

/* ---- the transcript --------------------------------------------------- */

static void escape_byte(struct buf *o, unsigned char c)
{
	if (c == '\\')
		buf_puts(o, "\\\\");
	else if (c == '\r')
		buf_puts(o, "\\r");
	else if (c == '\n')
		buf_puts(o, "\\n");
	else if (c == '\t')
		buf_puts(o, "\\t");
	else if (c >= 0x20 && c < 0x7f)
		buf_append(o, &c, 1);
	else
		buf_printf(o, "\\x%02x", c);
}

/* Moves what the current session wrote into the transcript. */
static void flush_out(struct golden *g)
{
	struct gsess *t = g->cur;
	if (!t || t->raw.len == 0)
		return;
	const unsigned char *p = (const unsigned char *)t->raw.data;
	size_t n = t->raw.len;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			buf_puts(&g->out, "\n");
			i++;
		} else {
			escape_byte(&g->out, p[i]);
		}
	}
	if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
		buf_puts(&g->out, "\\c\n");
	buf_reset(&t->raw);
}

/* A "#!WHAT ARG" line in the transcript, after the output so far. */
static void note(struct golden *g, const char *what, const char *arg)
{
	flush_out(g);
	buf_printf(&g->out, "#!%s %s\n", what, arg);
}

/* ---- session_io over memory ------------------------------------------- */

static void mio_write(void *ctx, const void *p, size_t n)
{
	struct gsess *t = ctx;
	CHECK(!t->closed && !t->gone);
	CHECK(buf_append(&t->raw, p, n) == 0);
}

static size_t mio_pending(void *ctx)
{
	return 0;
}

static int mio_starttls(void *ctx)
{
	struct gsess *t = ctx;
	t->tls_wait = true;
	buf_reset(&t->in); /* RFC 2595 4 */
	return 0;
}

static void mio_close(void *ctx)
{
	((struct gsess *)ctx)->closed = true;
}

static void mio_resume(void *ctx)
{
	((struct gsess *)ctx)->resumed = true;
}

static const char *mio_tls_desc(void *ctx)
{
	return NULL;
}

static const struct session_io mio = {
	mio_write, mio_pending, mio_starttls, mio_close, mio_resume,
	mio_tls_desc, NULL,
};

/* The delay is shown, then it fires with the next drain. */
static void gclock_delay(struct clock *c, struct job *j, unsigned ms)
{
	struct golden *g = (struct golden *)((char *)c -
	                                     offsetof(struct golden, clock));
	char num[24];
	snprintf(num, sizeof num, "%u", ms);
	note(g, "delay", num);
	g->manual_delay(c, j, ms);
}

static unsigned drain(struct golden *g)
{
	unsigned k = 0, n;
	while ((n = runner_inline_drain(&g->auth) +
	            runner_inline_drain(&g->store) +
	            clock_manual_fire(&g->clock)) != 0)
		k += n;
	return k;
}

static void sess_gone(struct golden *g, struct gsess *t)
{
	if (t->gone)
		return;
	t->gone = true;
	pop3_session_closed(t->s);
	t->s = NULL;
	drain(g);
}

/* Runs the current session until it waits for input (as the I/O layer
 * would: input after bytes arrive or after resume). */
static void run(struct golden *g, bool call_input)
{
	struct gsess *t = g->cur;
	for (int guard = 0; guard < 100000 && !t->gone; guard++) {
		if (call_input)
			pop3_session_input(t->s);
		unsigned k = drain(g);
		if (t->closed) {
			note(g, "closed", t->name);
			sess_gone(g, t);
			return;
		}
		call_input = t->resumed;
		t->resumed = false;
		if (k == 0 && !call_input)
			return;
	}
}

/* Feeds one block, whole (step 0) or step bytes at a time; a handshake
 * started in it completes at its end. */
static void feed(struct golden *g, const struct buf *blk, size_t step)
{
	struct gsess *t = g->cur;
	if (!t || blk->len == 0)
		return;
	if (step == 0)
		step = blk->len;
	for (size_t off = 0; off < blk->len && !t->gone; off += step) {
		size_t k = blk->len - off < step ? blk->len - off : step;
		if (t->tls_wait)
			continue; /* plaintext behind STLS: dropped */
		CHECK(buf_append(&t->in, blk->data + off, k) == 0);
		run(g, true);
	}
	if (t->tls_wait && !t->gone) {
		t->tls_wait = false;
		pop3_session_tls_ready(t->s);
		run(g, false);
	}
}

/* ---- the script -------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the unescaped p[0..n) to b; -1 on a bad escape. */
static int unescape(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c != '\\') {
			buf_append(b, &c, 1);
			continue;
		}
		if (++i == n)
			return -1;
		switch (p[i]) {
		case '\\': c = '\\'; break;
		case 'r': c = '\r'; break;
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case '0': c = '\0'; break;
		case 'x':
			if (i + 2 >= n || hexval(p[i + 1]) < 0 ||
			    hexval(p[i + 2]) < 0)
				return -1;
			c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
			break;
		default:
			return -1;
		}
		buf_append(b, &c, 1);
	}
	return 0;
}

static struct gsess *find_sess(struct golden *g, const char *name)
{
	for (int i = 0; i < MAX_SESS; i++)
		if (g->sess[i].open && !g->sess[i].gone &&
		    strcmp(g->sess[i].name, name) == 0)
			return &g->sess[i];
	return NULL;
}

static int open_sess(struct golden *g, char *args)
{
	struct pop3_session_cfg cfg = { .hostname = "mail.example.org",
	                                .timeout = 600,
	                                .fail_delay_ms = 2000,
	                                .throttle = g->thr,
	                                .logins = g->logins,
	                                .clock = &g->clock.c };
	struct session_peer peer = { .sid = "g1", .ip = "192.0.2.1" };
	char *save = NULL, *name = strtok_r(args, " ", &save);
	struct gsess *t = NULL;

	if (!name || strlen(name) >= sizeof t->name || find_sess(g, name))
		return -1;
	for (int i = 0; i < MAX_SESS && !t; i++) {
		if (g->sess[i].open && g->sess[i].gone) {
			buf_free(&g->sess[i].in); /* a closed one's slot */
			buf_free(&g->sess[i].raw);
			g->sess[i].open = false;
		}
		if (!g->sess[i].open)
			t = &g->sess[i];
	}
	if (!t)
		return -1;
	for (char *o; (o = strtok_r(NULL, " ", &save));) {
		if (strcmp(o, "tls") == 0)
			cfg.implicit_tls = peer.tls = cfg.tls_available = true;
		else if (strcmp(o, "stls") == 0)
			cfg.tls_available = true;
		else if (strcmp(o, "plaintext") == 0)
			cfg.plaintext_auth = true;
		else if (strncmp(o, "ip=", 3) == 0)
			peer.ip = o + 3;
		else if (strncmp(o, "login_delay=", 12) == 0)
			cfg.login_delay = (unsigned)atoi(o + 12);
		else if (strncmp(o, "expire=", 7) == 0)
			cfg.expire = (unsigned)atoi(o + 7);
		else if (strncmp(o, "max_bad=", 8) == 0)
			cfg.max_bad = (unsigned)atoi(o + 8);
		else if (strncmp(o, "max_bad_trans=", 14) == 0)
			cfg.max_bad_trans = (unsigned)atoi(o + 14);
		else if (strncmp(o, "fail_delay=", 11) == 0)
			cfg.fail_delay_ms = (unsigned)atoi(o + 11);
		else
			return -1;
	}
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->g = g;
	t->open = true;
	buf_init(&t->in, 1 << 16);
	buf_init(&t->raw, 1 << 24);
	t->s = pop3_session_new(&cfg, &peer, &mio, t, &g->store.r, &g->auth.r,
	                        &t->in);
	if (!t->s)
		return -1;
	g->cur = t;
	pop3_session_start(t->s);
	return 0;
}

static void end_sessions(struct golden *g)
{
	for (int i = 0; i < MAX_SESS; i++) {
		struct gsess *t = &g->sess[i];
		if (!t->open)
			continue;
		sess_gone(g, t);
		buf_free(&t->in);
		buf_free(&t->raw);
		t->open = false;
	}
}

/* Executes one directive (after the block before it was fed). */
static int directive(struct golden *g, char *d, struct buf *blk)
{
	char *arg = strchr(d, ' ');
	if (arg)
		*arg++ = '\0';
	if (strcmp(d, "send") == 0 || strcmp(d, "repeat") == 0) {
		unsigned n = 1;
		if (!arg)
			return -1;
		if (d[0] == 'r') {
			n = (unsigned)strtoul(arg, &arg, 10);
			if (*arg++ != ' ')
				return -1;
		}
		for (unsigned i = 0; i < n; i++)
			if (unescape(blk, arg, strlen(arg)) != 0)
				return -1;
		return 0;
	}
	flush_out(g);
	if (strcmp(d, "sync") == 0)
		return 0;
	if (strcmp(d, "throttle") == 0 && arg) {
		throttle_free(g->thr);
		g->thr = throttle_new(16, (unsigned)atoi(arg), 600);
		return 0;
	}
	buf_printf(&g->out, "#!%s%s%s\n", d, arg ? " " : "", arg ? arg : "");
	if (strcmp(d, "open") == 0 && arg)
		return open_sess(g, arg);
	if (strcmp(d, "use") == 0 && arg)
		return (g->cur = find_sess(g, arg)) ? 0 : -1;
	if (strcmp(d, "later") == 0 && arg) {
		g->clock.t += (time_t)strtoul(arg, NULL, 10);
		return 0;
	}
	if (strcmp(d, "deliver") == 0 && arg) {
		char *rcpt = strchr(arg, ' ');
		if (rcpt)
			*rcpt++ = '\0';
		return deliver(g, arg, rcpt ? rcpt : "alice@example.org");
	}
	if (!g->cur || g->cur->gone)
		return -1;
	if (strcmp(d, "drop") == 0) {
		sess_gone(g, g->cur);
		return 0;
	}
	if (strcmp(d, "timeout") == 0) {
		/* The layer closes the connection after the callback. */
		pop3_session_timeout(g->cur->s);
		flush_out(g);
		sess_gone(g, g->cur);
		return 0;
	}
	return -1;
}

static void golden_init(struct golden *g)
{
	char err[256];
	memset(g, 0, sizeof *g);
	/* The UIDLs' salts come from SQLite's random(): a fixed seed makes
	 * them the same in every run. */
	sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 1, NULL);
	CHECK_INT(store_open(":memory:", &g->st, err, sizeof err), STORE_OK);
	CHECK_INT(store_domain_add(g->st, "example.org"), STORE_OK);
	CHECK_INT(store_user_add(g->st, "alice@example.org", "secret"),
	          STORE_OK);
	CHECK_INT(store_user_add(g->st, "bob@example.org", "hunter2"),
	          STORE_OK);
	/* A UTF-8 local part (RFC 6531), for UTF8 and SASL tests. */
	CHECK_INT(store_user_add(g->st, "j\xc3\xb6rg@example.org",
	                         "p\xc3\xa4ss w\xc3\xb6rd"), STORE_OK);
	CHECK(deliver(g, "m1", "alice@example.org") == 0);
	CHECK(deliver(g, "m2", "alice@example.org") == 0);
	CHECK(deliver(g, "m3", "alice@example.org") == 0);
	runner_inline_init(&g->auth, g->st);
	runner_inline_init(&g->store, g->st);
	g->logins = pop3_logins_new(16);
	/* A fixed start: 2026-01-01T00:00:00Z. */
	clock_manual_init(&g->clock, 1767225600);
	g->manual_delay = g->clock.c.delay;
	g->clock.c.delay = gclock_delay;
	buf_init(&g->out, 1 << 24);
}

static void golden_free(struct golden *g)
{
	end_sessions(g);
	buf_free(&g->out);
	throttle_free(g->thr);
	pop3_logins_free(g->logins);
	store_close(g->st);
}

/* Runs script text[0..n) fed with step; the transcript goes to *out. */
static int run_script(const char *file, const char *text, size_t n,
                      size_t step, struct buf *out)
{
	struct golden g;
	struct buf blk;
	int rc = 0, lineno = 0;

	golden_init(&g);
	buf_init(&blk, 1 << 20);
	for (size_t pos = 0; pos < n && rc == 0;) {
		const char *eol = memchr(text + pos, '\n', n - pos);
		size_t len = eol ? (size_t)(eol - (text + pos)) : n - pos;
		char line[2048];
		lineno++;
		if (len >= sizeof line) {
			rc = -1;
			break;
		}
		memcpy(line, text + pos, len);
		line[len] = '\0';
		pos += len + 1;
		if (len == 0 || (line[0] == '#' && line[1] != '!'))
			continue;
		if (line[0] == '#') {
			bool inblock = strncmp(line, "#!send ", 7) == 0 ||
			               strncmp(line, "#!repeat ", 9) == 0;
			if (!inblock) {
				feed(&g, &blk, step);
				buf_reset(&blk);
			}
			rc = directive(&g, line + 2, &blk);
		} else {
			rc = unescape(&blk, line, len);
			buf_puts(&blk, "\r\n");
		}
		if (rc != 0)
			fprintf(stderr, "%s:%d: bad line \"%s\"\n", file, lineno,
			        line);
	}
	feed(&g, &blk, step);
	flush_out(&g);
	buf_reset(out);
	buf_append(out, g.out.data, g.out.len);
	buf_free(&blk);
	golden_free(&g);
	return rc;
}

/* ---- files ------------------------------------------------------------- */

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char tmp[4096];
	size_t n;
	if (!f)
		return -1;
	buf_reset(b);
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(b, tmp, n);
	fclose(f);
	return 0;
}

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(b->data, 1, b->len, f);
	return fclose(f) == 0 && n == b->len ? 0 : -1;
}

/* Reports the first differing line of two transcripts. */
static void diff(const char *name, const char *what, const struct buf *got,
                 const struct buf *want)
{
	size_t i = 0, line = 1, bol = 0;
	while (i < got->len && i < want->len && got->data[i] == want->data[i]) {
		if (got->data[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	fprintf(stderr, "%s (%s): differs at line %zu:\n  got:  %.*s\n"
	        "  want: %.*s\n", name, what, line,
	        (int)strcspn(got->data + bol, "\n"), got->data + bol,
	        (int)strcspn(want->data + bol, "\n"), want->data + bol);
}

static bool same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void run_file(const char *dir, const char *name, bool update)
{
	char in[1024], outp[1024];
	struct buf text, want, whole, bytes;
	int stem = (int)strlen(name) - 3; /* without ".in" */

	if (snprintf(in, sizeof in, "%s/%s", dir, name) >= (int)sizeof in)
		in[0] = '\0';
	if (snprintf(outp, sizeof outp, "%s/%.*s.out", dir, stem, name) >=
	    (int)sizeof outp)
		outp[0] = '\0';
	buf_init(&text, 1 << 20);
	buf_init(&want, 1 << 24);
	buf_init(&whole, 1 << 24);
	buf_init(&bytes, 1 << 24);
	CHECK(read_file(in, &text) == 0);
	buf_append(&text, "", 1); /* a NUL for the line parser's strchr */
	CHECK(run_script(name, text.data, text.len - 1, 0, &whole) == 0);
	CHECK(run_script(name, text.data, text.len - 1, 1, &bytes) == 0);
	t_checks++;
	if (!same(&whole, &bytes)) {
		t_failures++;
		diff(name, "byte by byte vs whole", &bytes, &whole);
	}
	if (update) {
		CHECK(write_file(outp, &whole) == 0);
	} else if (read_file(outp, &want) != 0) {
		t_checks++;
		t_failures++;
		fprintf(stderr, "%s: cannot read %s\n", name, outp);
	} else {
		t_checks++;
		if (!same(&whole, &want)) {
			t_failures++;
			diff(name, "vs .out", &whole, &want);
		}
	}
	buf_free(&text);
	buf_free(&want);
	buf_free(&whole);
	buf_free(&bytes);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char dir[1024];
	const char *upd = getenv("POP3_GOLDEN_UPDATE");
	bool update = upd && strcmp(upd, "1") == 0;
	char *names[256];
	size_t n = 0;

	log_set_level(LOG_LVL_ERR);
	if (argc > 1) {
		snprintf(dir, sizeof dir, "%s", argv[1]);
	} else {
		/* __FILE__ is ".../tests/unit/test_pop3_golden.c". */
		const char *f = __FILE__, *u = strstr(f, "unit/test_pop3_golden.c");
		snprintf(dir, sizeof dir, "%.*sgolden/pop3",
		         u ? (int)(u - f) : 0, f);
	}
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "test_pop3_golden: cannot open %s (pass the "
		        "directory as the first argument)\n", dir);
		return 1;
	}
	for (struct dirent *e; (e = readdir(d)) && n < 256;) {
		size_t len = strlen(e->d_name);
		if (len > 3 && strcmp(e->d_name + len - 3, ".in") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], by_name);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		int before = t_failures;
		run_file(dir, names[i], update);
		printf("%s %s\n", t_failures == before ? "ok" : "FAIL",
		       names[i]);
		free(names[i]);
	}
	return t_done("test_pop3_golden");
}
