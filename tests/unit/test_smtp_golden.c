/* Golden transcripts: tests/golden/smtp/NAME.in is a client script, NAME.out
 * the exact server transcript, reviewed like code. Each script runs twice
 * against SMTP sessions over a fresh in-memory store -- its blocks fed
 * whole, then one byte at a time -- and both transcripts must equal
 * NAME.out.
 *
 * .in: a line is a command, sent with CRLF after it (escapes: \\ \r \n \t
 * \0 \xHH). Blank lines and lines starting with "# " are ignored. Lines
 * starting with "#!" are directives; all but send/repeat end a block (the
 * bytes the client pipelines in one go):
 *   #!open NAME [mx|submission|submissions] [notls] [loopback] [plaintext]
 *         [ip=ADDR] [max_size=N] [max_rcpt=N] [timeouts]
 *                    a session, now current ("timeouts": show the idle
 *                    timeouts it asks for)
 *   #!use NAME       make another open session current
 *   #!send TEXT      bytes without a CRLF      #!repeat N TEXT  N times
 *   #!sync           end the block here
 *   #!timeout        the idle timer fires      #!drop  the client hangs up
 *   #!count ADDRESS  how many messages the mailbox holds
 *   #!last ADDRESS   the mailbox's newest message, as stored
 *   #!throttle N     (first) N failed AUTHs per address block it
 *   #!clients T A    (first) at most T connections, A per address
 * A STARTTLS handshake completes at the end of its block: what the client
 * pipelined behind STARTTLS in the same block is discarded (RFC 3207 4.2).
 *
 * The store has example.org with alice@ (password "secret"), bob@
 * ("bob-secret"), carol@ ("carol-secret", disabled) and j\xc3\xb6rg@
 * ("secret") and postmaster@, and example.net with dave@ ("secret").
 *
 * .out: the server's bytes with each CRLF shown as a line end and other
 * bytes escaped as in .in; "\c" ends a line the server left without CRLF.
 * Lines starting with "#!" record open/use/drop/timeout, "#!delay MS" (an
 * AUTH pause started), "#!idle S" (a timeout asked for, with "timeouts"),
 * "#!closed NAME" (the server hung up) and count/last; "> " lines are a
 * stored message, its trace date shown as <date>.
 * SMTP_GOLDEN_UPDATE=1 rewrites the .out files instead of comparing.
 *
 * Usage: test_smtp_golden [DIR]; DIR defaults to ../tests/golden/smtp
 * (meson runs tests in the build root, which sits in the source tree). */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "job.h"
#include "log.h"
#include "clients.h"
#include "smtp_session.h"
#include "session_io.h"
#include "store.h"
#include "t.h"
#include "throttle.h"

#define MAX_SESS 16

struct gsess {
	char name[16];
	char ip[48];
	struct golden *g;
	struct session_peer peer;
	struct smtp_session_cfg cfg;
	struct buf in;
	struct smtp_session *s;
	bool open, close_asked, gone, tls_wait, in_tls, show_idle;
};

struct golden {
	struct store *st;
	struct runner_inline store, auth;
	struct throttle *thr;
	struct clients *clients; /* the I/O layer's count (conn.c) */
	/* Time stands still (trace dates and throttle windows never depend
	 * on the wall clock) except for the pauses, which move it on. */
	struct clock_manual clock;
	void (*manual_delay)(struct clock *c, struct job *j, unsigned ms);
	struct smtp_env env;
	struct buf out; /* the transcript, raw */
	struct gsess sess[MAX_SESS];
	struct gsess *cur;
	bool bytewise;
};

/* ---- the session_io over memory -------------------------------------- */

static void gio_write(void *ctx, const void *p, size_t n)
{
	struct gsess *gs = ctx;
	CHECK(!gs->close_asked && !gs->gone);
	buf_append(&gs->g->out, p, n);
}

static size_t gio_pending(void *ctx)
{
	return 0;
}

static int gio_starttls(void *ctx)
{
	((struct gsess *)ctx)->tls_wait = true;
	return 0;
}

static void gio_close(void *ctx)
{
	((struct gsess *)ctx)->close_asked = true;
}

static void gio_resume(void *ctx)
{
	/* The driver calls input again after every step. */
}

static const char *gio_tls_desc(void *ctx)
{
	return ((struct gsess *)ctx)->in_tls ? "TLSv1.3 TLS_AES_128_GCM_SHA256"
	                                     : NULL;
}

static void event(struct golden *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void gset_timeout(void *io_ctx, unsigned seconds)
{
	struct gsess *gs = io_ctx;
	if (gs->show_idle)
		event(gs->g, "idle %u", seconds);
}

static const struct session_io gio = {
	.write = gio_write,
	.pending = gio_pending,
	.starttls = gio_starttls,
	.close = gio_close,
	.resume = gio_resume,
	.tls_desc = gio_tls_desc,
	.set_timeout = gset_timeout,
};


static void event(struct golden *g, const char *fmt, ...)
{
	va_list ap;
	buf_puts(&g->out, "#!");
	va_start(ap, fmt);
	buf_vprintf(&g->out, fmt, ap);
	va_end(ap);
	buf_puts(&g->out, "\r\n");
}

/* The pause is recorded, then ends on the next drain. */
static void gclock_delay(struct clock *c, struct job *j, unsigned ms)
{
	struct golden *g = (struct golden *)((char *)c -
	                                     offsetof(struct golden, clock));
	event(g, "delay %u", ms);
	g->manual_delay(c, j, ms);
}


/* ---- driving a session ------------------------------------------------- */

static void drain(struct golden *g)
{
	while (runner_inline_drain(&g->store) + runner_inline_drain(&g->auth) +
	       clock_manual_fire(&g->clock))
		;
}

/* Lets the session consume what it can, runs its jobs, and handles a
 * close it asked for. */
static void step(struct gsess *gs)
{
	for (int i = 0; i < 1000 && gs->open && !gs->gone; i++) {
		size_t before = gs->in.len;
		smtp_session_input(gs->s);
		unsigned ran = runner_inline_drain(&gs->g->store) +
		               runner_inline_drain(&gs->g->auth) +
		               clock_manual_fire(&gs->g->clock);
		if (!ran && gs->in.len == before)
			break;
	}
	if (gs->open && gs->close_asked && !gs->gone) {
		gs->gone = true;
		event(gs->g, "closed %s", gs->name);
		smtp_session_closed(gs->s);
		clients_remove(gs->g->clients, gs->ip);
		drain(gs->g);
	}
}

static void feed(struct gsess *gs, const char *p, size_t n)
{
	if (!gs->open || gs->gone)
		return;
	size_t k = gs->g->bytewise ? 1 : n;
	for (size_t pos = 0; pos < n; pos += k) {
		if (k > n - pos)
			k = n - pos;
		CHECK(buf_append(&gs->in, p + pos, k) == 0);
		step(gs);
	}
}

/* The end of a block: a pending STARTTLS handshake completes, and what
 * was pipelined behind it is dropped (the I/O layer's job). */
static void end_block(struct gsess *gs)
{
	if (!gs || !gs->open || gs->gone || !gs->tls_wait)
		return;
	buf_reset(&gs->in);
	gs->tls_wait = false;
	gs->in_tls = true;
	smtp_session_tls_ready(gs->s);
	step(gs);
}

static void hang_up(struct gsess *gs)
{
	if (gs->open && !gs->gone) {
		gs->gone = true;
		smtp_session_closed(gs->s);
		clients_remove(gs->g->clients, gs->ip);
		drain(gs->g);
	}
	buf_free(&gs->in);
	gs->open = false;
}

static struct gsess *find(struct golden *g, const char *name)
{
	for (int i = 0; i < MAX_SESS; i++)
		if (g->sess[i].open && strcmp(g->sess[i].name, name) == 0)
			return &g->sess[i];
	return NULL;
}

static void open_session(struct golden *g, char *args)
{
	char *name = strtok(args, " ");
	struct gsess *gs = NULL;

	/* A slot whose session the server closed may be taken again. */
	for (int i = 0; i < MAX_SESS && !gs; i++)
		if (!g->sess[i].open || g->sess[i].gone)
			gs = &g->sess[i];
	CHECK(name && gs);
	if (gs && gs->open)
		hang_up(gs);
	if (!name || !gs)
		return;
	memset(gs, 0, sizeof *gs);
	gs->g = g;
	snprintf(gs->name, sizeof gs->name, "%s", name);
	snprintf(gs->ip, sizeof gs->ip, "192.0.2.1");
	gs->cfg = (struct smtp_session_cfg){
		.hostname = "mail.example.org",
		.max_message_size = 1048576,
		.max_recipients = 100,
		.kind = SMTP_LISTENER_MX,
		.tls_available = true,
		.timeout = 300,
		.auth_fail_delay_ms = 1000,
		.env = &g->env,
	};
	for (char *w; (w = strtok(NULL, " "));) {
		if (!strcmp(w, "mx"))
			gs->cfg.kind = SMTP_LISTENER_MX;
		else if (!strcmp(w, "submission"))
			gs->cfg.kind = SMTP_LISTENER_SUBMISSION;
		else if (!strcmp(w, "submissions"))
			gs->cfg.kind = SMTP_LISTENER_SUBMISSIONS;
		else if (!strcmp(w, "notls"))
			gs->cfg.tls_available = false;
		else if (!strcmp(w, "loopback"))
			gs->peer.local_loopback = true;
		else if (!strcmp(w, "plaintext"))
			gs->cfg.plaintext_auth_loopback = true;
		else if (!strcmp(w, "timeouts"))
			gs->show_idle = true;
		else if (!strncmp(w, "ip=", 3))
			snprintf(gs->ip, sizeof gs->ip, "%s", w + 3);
		else if (!strncmp(w, "max_size=", 9))
			gs->cfg.max_message_size = strtoull(w + 9, NULL, 10);
		else if (!strncmp(w, "max_rcpt=", 9))
			gs->cfg.max_recipients = (unsigned)atoi(w + 9);
		else
			CHECK(!"unknown #!open option");
	}
	gs->peer.sid = gs->name;
	gs->peer.ip = gs->ip;
	gs->peer.tls = gs->cfg.kind == SMTP_LISTENER_SUBMISSIONS;
	gs->in_tls = gs->peer.tls;
	/* As conn_accept: counted at accept, the verdict in the peer. */
	gs->peer.over_limit = clients_add(g->clients, gs->ip);
	buf_init(&gs->in, 64 * 1024 + 1024); /* as smtpd_main's input_max */
	gs->open = true;
	g->cur = gs;
	gs->s = smtp_session_new(&gs->cfg, &gs->peer, &gio, gs, &g->store.r,
	                         &gs->in);
	CHECK(gs->s != NULL);
	smtp_session_start(gs->s);
	step(gs);
}

/* ---- the store's view --------------------------------------------------- */

static uint64_t mailbox_of(struct golden *g, const char *addr)
{
	uint64_t mbox = 0;
	CHECK_INT(store_rcpt_lookup(g->st, addr, &mbox), STORE_OK);
	return mbox;
}

static size_t count(struct golden *g, uint64_t mbox, struct store_entry **e)
{
	size_t n = 0;
	*e = NULL;
	CHECK_INT(store_mailbox_list(g->st, mbox, e, &n), STORE_OK);
	return n;
}

/* True when s[0..n) is an RFC 5322 date as smtp_msg.c writes it:
 * "Tue, 1 Jul 2003 10:52:37 +0200". */
static bool is_date(const char *s, size_t n)
{
	return (n == 30 || n == 31) && s[3] == ',' && s[n - 3 - 6] == ':' &&
	       (s[n - 5] == '+' || s[n - 5] == '-');
}

static void show_message(struct golden *g, const char *addr)
{
	struct store_entry *e;
	uint64_t mbox = mailbox_of(g, addr);
	size_t n = count(g, mbox, &e), got = 0;

	event(g, "last %s (%zu messages)", addr, n);
	if (n == 0) {
		free(e);
		return;
	}
	char *msg = malloc(e[n - 1].size + 1);
	CHECK_INT(store_entry_read(g->st, mbox, e[n - 1].id, 0, msg,
	                           e[n - 1].size, &got), STORE_OK);
	bool header = true;
	for (size_t i = 0; i < got;) {
		const char *nl = memchr(msg + i, '\n', got - i);
		size_t end = nl ? (size_t)(nl - msg) + 1 : got, len = end - i;
		const char *semi = NULL;
		if (header && len >= 2 && msg[end - 2] == '\r') {
			for (size_t k = i; k + 1 < end; k++)
				if (msg[k] == ';' && msg[k + 1] == ' ')
					semi = msg + k;
			if (semi && !is_date(semi + 2, (size_t)(msg + end - 2 -
			                                         (semi + 2))))
				semi = NULL;
		}
		if (len == 2 && msg[i] == '\r')
			header = false;
		buf_puts(&g->out, "> ");
		if (semi) {
			buf_append(&g->out, msg + i, (size_t)(semi - (msg + i)));
			buf_puts(&g->out, "; <date>\r\n");
		} else {
			buf_append(&g->out, msg + i, len);
		}
		i = end;
	}
	if (got && msg[got - 1] != '\n')
		buf_puts(&g->out, "\r\n");
	free(msg);
	free(e);
}

/* ---- scripts ------------------------------------------------------------ */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undoes the escapes of s into out; returns the length. */
static size_t unescape(const char *s, char *out)
{
	size_t n = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] != '\\' || !s[i + 1]) {
			out[n++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case 'r': out[n++] = '\r'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case '0': out[n++] = '\0'; break;
		case 'x':
			if (hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
				out[n++] = (char)(hexval(s[i + 1]) * 16 +
				                  hexval(s[i + 2]));
				i += 2;
				break;
			}
			out[n++] = 'x';
			break;
		default: out[n++] = s[i]; break;
		}
	}
	return n;
}

/* The .out form of the raw transcript. */
static void render(const struct buf *raw, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)raw->data;
	for (size_t i = 0; i < raw->len; i++) {
		if (p[i] == '\r' && i + 1 < raw->len && p[i + 1] == '\n') {
			buf_puts(out, "\n");
			i++;
		} else if (p[i] == '\\') {
			buf_puts(out, "\\\\");
		} else if (p[i] < 0x20 && p[i] != '\t') {
			buf_printf(out, "\\x%02x", p[i]);
		} else {
			buf_append(out, &p[i], 1);
		}
	}
	if (raw->len && (raw->len < 2 || raw->data[raw->len - 1] != '\n'))
		buf_puts(out, "\\c\n");
}

static void golden_init(struct golden *g, bool bytewise)
{
	char err[256];

	memset(g, 0, sizeof *g);
	g->bytewise = bytewise;
	if (store_open(":memory:", &g->st, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", err);
		exit(1);
	}
	CHECK_INT(store_domain_add(g->st, "example.org"), STORE_OK);
	CHECK_INT(store_domain_add(g->st, "example.net"), STORE_OK);
	static const char *const users[][2] = {
		{"alice@example.org", "secret"},
		{"bob@example.org", "bob-secret"},
		{"carol@example.org", "carol-secret"},
		{"j\xc3\xb6rg@example.org", "secret"},
		{"dave@example.net", "secret"},
		/* RFC 5321 4.5.1 wants postmaster@ every local domain even
		 * without such a user: the store's to do (issue 5). */
		{"postmaster@example.org", "secret"},
	};
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		CHECK_INT(store_user_add(g->st, users[i][0], users[i][1]),
		          STORE_OK);
	CHECK_INT(store_user_disable(g->st, "carol@example.org", true),
	          STORE_OK);
	runner_inline_init(&g->store, g->st);
	runner_inline_init(&g->auth, g->st);
	/* A fixed start: 2026-01-01T00:00:00Z. */
	clock_manual_init(&g->clock, 1767225600);
	g->manual_delay = g->clock.c.delay;
	g->clock.c.delay = gclock_delay;
	buf_init(&g->out, 16 * 1024 * 1024);
	g->thr = throttle_new(64, 10, 900);
	g->clients = clients_new(0, 0);
	g->env = (struct smtp_env){
		.auth = &g->auth.r,
		.clock = &g->clock.c,
		.throttle = g->thr,
	};
}

static void golden_free(struct golden *g)
{
	for (int i = 0; i < MAX_SESS; i++)
		if (g->sess[i].open)
			hang_up(&g->sess[i]);
	/* Every connection was counted once and uncounted once. */
	CHECK_INT(clients_total(g->clients), 0);
	clients_free(g->clients);
	throttle_free(g->thr);
	buf_free(&g->out);
	store_close(g->st);
}

static void directive(struct golden *g, char *d, char *tmp)
{
	struct gsess *cur = g->cur;

	if (!strncmp(d, "send ", 5)) {
		feed(cur, tmp, unescape(d + 5, tmp));
		return;
	}
	if (!strncmp(d, "repeat ", 7)) {
		char *text;
		long n = strtol(d + 7, &text, 10);
		size_t len = unescape(text + (*text == ' '), tmp);
		for (long i = 0; i < n; i++)
			feed(cur, tmp, len);
		return;
	}
	end_block(cur);
	if (!strncmp(d, "open ", 5)) {
		event(g, "%s", d);
		open_session(g, d + 5);
	} else if (!strncmp(d, "use ", 4)) {
		event(g, "%s", d);
		g->cur = find(g, d + 4);
		CHECK(g->cur != NULL);
	} else if (!strcmp(d, "sync")) {
	} else if (!strcmp(d, "drop")) {
		event(g, "drop %s", cur->name);
		hang_up(cur);
	} else if (!strcmp(d, "timeout")) {
		/* The I/O layer closes once the callback returns. */
		event(g, "timeout %s", cur->name);
		smtp_session_timeout(cur->s);
		cur->close_asked = true;
		step(cur);
	} else if (!strncmp(d, "count ", 6)) {
		struct store_entry *e;
		tmp[unescape(d + 6, tmp)] = '\0';
		event(g, "count %s %zu", tmp, count(g, mailbox_of(g, tmp), &e));
		free(e);
	} else if (!strncmp(d, "last ", 5)) {
		tmp[unescape(d + 5, tmp)] = '\0';
		show_message(g, tmp);
	} else if (!strncmp(d, "throttle ", 9)) {
		throttle_free(g->thr);
		g->env.throttle = g->thr = throttle_new(64, (unsigned)atoi(d + 9),
		                                        900);
	} else if (!strncmp(d, "clients ", 8)) {
		unsigned t = 0, a = 0;
		CHECK(sscanf(d + 8, "%u %u", &t, &a) == 2);
		clients_free(g->clients);
		g->clients = clients_new(t, a);
	} else {
		fprintf(stderr, "unknown directive #!%s\n", d);
		CHECK(!"unknown directive");
	}
}

/* Runs a script; the transcript is left in g->out. */
static void run_script(struct golden *g, const char *script)
{
	char *copy = strdup(script), *save = NULL;
	char *tmp = malloc(strlen(script) * 8 + 16);

	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' && line[1] == '!') {
			directive(g, line + 2, tmp);
			continue;
		}
		if (line[0] == '#' && (line[1] == ' ' || !line[1]))
			continue;
		size_t n = unescape(line, tmp);
		memcpy(tmp + n, "\r\n", 2);
		CHECK(g->cur != NULL);
		if (g->cur)
			feed(g->cur, tmp, n + 2);
	}
	end_block(g->cur);
	free(tmp);
	free(copy);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 16 * 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	buf_append(&b, "", 1);
	return b.data;
}

/* Runs NAME.in whole and byte by byte; compares with NAME.out. */
static bool run_file(const char *dir, const char *name)
{
	char path[1024];
	struct buf shown[2];
	bool ok = true;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *script = slurp(path);
	CHECK(script != NULL);
	if (!script)
		return false;
	for (int mode = 0; mode < 2; mode++) {
		struct golden g;
		golden_init(&g, mode == 1);
		run_script(&g, script);
		for (int i = 0; i < MAX_SESS; i++)
			if (g.sess[i].open)
				hang_up(&g.sess[i]);
		buf_init(&shown[mode], 16 * 1024 * 1024);
		render(&g.out, &shown[mode]);
		golden_free(&g);
	}
	free(script);
	buf_append(&shown[0], "", 1);
	buf_append(&shown[1], "", 1);
	if (strcmp(shown[0].data, shown[1].data) != 0) {
		fprintf(stderr, "%s: byte by byte differs from whole:\n%s\n",
		        name, shown[1].data);
		ok = false;
	}
	snprintf(path + strlen(path) - 3, 5, ".out");
	if (getenv("SMTP_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "wb");
		CHECK(f != NULL);
		if (f) {
			fputs(shown[0].data, f);
			fclose(f);
		}
	} else {
		char *want = slurp(path);
		if (!want || strcmp(want, shown[0].data) != 0) {
			fprintf(stderr, "%s: transcript differs from %s:\n%s\n",
			        name, path, shown[0].data);
			ok = false;
		}
		free(want);
	}
	buf_free(&shown[0]);
	buf_free(&shown[1]);
	CHECK(ok);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../tests/golden/smtp";
	char *names[256];
	size_t n = 0;

	log_set_level(getenv("T_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "test_smtp_golden: cannot open %s (pass the "
		        "directory as the first argument)\n", dir);
		return 1;
	}
	for (struct dirent *e; (e = readdir(d)) && n < 256;) {
		size_t len = strlen(e->d_name);
		if (len > 3 && !strcmp(e->d_name + len - 3, ".in"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], by_name);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		printf("%s %s\n", run_file(dir, names[i]) ? "ok" : "FAIL",
		       names[i]);
		free(names[i]);
	}
	return t_done("test_smtp_golden");
}
