/* loadgen: the benchmark's load client for SMTP and POP3 (plain and TLS).
 *
 * One small C program so that the client costs little CPU next to the
 * servers it measures (on a 2-core machine the client shares the cores with
 * the server). TLS is mbedTLS (a postlite build dependency anyway); every
 * handshake is a full one (no session reuse, no tickets), curves X25519 then
 * P-256. Every mode is bounded in count and in time, and talks only to
 * loopback addresses (anything else is refused).
 *
 *   loadgen smtp   ADDR:PORT --to RCPT --size B --count N --conns C
 *                  [--persistent] [--max-seconds S] [--tls]
 *   loadgen pop3   ADDR:PORT --user U --pass P [--tls implicit|stls]
 *                  [--mode fetch|fetch-dele|dele] [--max-seconds S]
 *                  [--login-file F]  (created once logged in; then 1 s pause)
 *   loadgen logins ADDR:PORT --user U --pass P --tls stls|implicit --count N
 *   loadgen tls    ADDR:PORT --proto smtps|pop3s --count N --conns C [--resume]
 *                  (--resume: session tickets on, every connection after a
 *                  thread's first offers that first session again)
 *   loadgen idle   ADDR:PORT --proto smtp|pop3 [--tls] --count N
 *                  --stop-file F [--max-seconds S]
 *   loadgen hash   PASSWORD          (a yescrypt $y$ hash, for Dovecot)
 *   loadgen fsync  DIR [COUNT]       (4 KiB pwrite + fdatasync latency; then
 *                                    the sequential write bandwidth: 128 MiB
 *                                    in 1 MiB writes + fdatasync, 3 times)
 *
 * Each mode prints one line of key=value pairs on stdout (client_cpu_s is
 * this process's own user+system CPU), errors on stderr; exit 0 when
 * nothing failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

#define IOTIMEOUT_S 30

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- options ------------------------------------------------------------ */

static struct {
	struct sockaddr_in addr;
	const char *to, *user, *pass, *tls, *proto, *mode, *stop_file, *login_file;
	long size, count, conns;
	double max_s;
	int persistent, resume;
} opt = {.size = 4096, .count = 100, .conns = 1, .max_s = 60};

static void parse_addr(const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof host)
		die("bad address %s (want IPv4:PORT)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1)
		die("bad address %s", host);
	if ((ntohl(opt.addr.sin_addr.s_addr) >> 24) != 127)
		die("refusing non-loopback target %s", host);
}

static void parse_opts(int argc, char **argv)
{
	if (argc < 3)
		die("usage: see the comment at the top of loadgen.c");
	parse_addr(argv[2]);
	for (int i = 3; i < argc; i++) {
		const char *k = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(k, name) && v && ++i)
		if (ARG("--to")) opt.to = v;
		else if (ARG("--user")) opt.user = v;
		else if (ARG("--pass")) opt.pass = v;
		else if (!strcmp(k, "--tls") && (!v || !strncmp(v, "--", 2)))
			opt.tls = "implicit";
		else if (ARG("--tls")) opt.tls = v;
		else if (ARG("--proto")) opt.proto = v;
		else if (ARG("--mode")) opt.mode = v;
		else if (ARG("--stop-file")) opt.stop_file = v;
		else if (ARG("--login-file")) opt.login_file = v;
		else if (ARG("--size")) opt.size = atol(v);
		else if (ARG("--count")) opt.count = atol(v);
		else if (ARG("--conns")) opt.conns = atol(v);
		else if (ARG("--max-seconds")) opt.max_s = atof(v);
		else if (!strcmp(k, "--persistent")) opt.persistent = 1;
		else if (!strcmp(k, "--resume")) opt.resume = 1;
		else die("unknown or incomplete option %s", k);
#undef ARG
	}
	if (opt.count < 1 || opt.conns < 1 || opt.size < 512)
		die("count, conns >= 1 and size >= 512 needed");
}

/* ---- TLS: one configuration per thread ------------------------------- */

struct tlsconf {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	/* --resume: the session of the first handshake, offered again */
	mbedtls_ssl_session saved;
	int have_saved;
};

#if MBEDTLS_VERSION_MAJOR >= 3
static const uint16_t groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
                                  MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1, 0};
#else
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE};
#endif

static void tlsconf_init(struct tlsconf *t)
{
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	mbedtls_ssl_config_init(&t->conf);
	if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
	                          (const unsigned char *)"loadgen", 7))
		die("ctr_drbg_seed failed");
	if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
	                                MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT))
		die("ssl_config_defaults failed");
	/* benchmark against self-signed certificates: no verification */
	mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
#if MBEDTLS_VERSION_MAJOR >= 3
	mbedtls_ssl_conf_groups(&t->conf, groups);
#else
	mbedtls_ssl_conf_curves(&t->conf, curves);
#endif
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
	mbedtls_ssl_conf_session_tickets(&t->conf,
	                                 opt.resume ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
	                                            : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
	mbedtls_ssl_session_init(&t->saved);
	t->have_saved = 0;
}

/* ---- connections ------------------------------------------------------ */

struct conn {
	int fd;
	mbedtls_ssl_context *ssl;
	char *buf; /* read buffer */
	size_t cap, off, len;
};

static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
	ssize_t r = send(*(int *)ctx, p, n, MSG_NOSIGNAL);
	return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
	ssize_t r = recv(*(int *)ctx, p, n, 0);
	if (r == 0)
		return MBEDTLS_ERR_SSL_CONN_EOF;
	return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

static int tcp_connect(int timeout_s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = {.tv_sec = timeout_s};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void conn_init(struct conn *c, int fd, size_t cap)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->cap = cap;
	c->buf = malloc(cap);
	if (!c->buf)
		die("out of memory");
}

static int conn_tls(struct conn *c, struct tlsconf *t)
{
	c->ssl = malloc(sizeof *c->ssl);
	mbedtls_ssl_init(c->ssl);
	if (mbedtls_ssl_setup(c->ssl, &t->conf))
		return -1;
	mbedtls_ssl_set_bio(c->ssl, &c->fd, bio_send, bio_recv, NULL);
	if (opt.resume && t->have_saved)
		mbedtls_ssl_set_session(c->ssl, &t->saved);
	int r;
	while ((r = mbedtls_ssl_handshake(c->ssl)) != 0) {
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
			char e[128];
			mbedtls_strerror(r, e, sizeof e);
			fprintf(stderr, "loadgen: handshake: %s\n", e);
			return -1;
		}
	}
	if (opt.resume && !t->have_saved &&
	    mbedtls_ssl_get_session(c->ssl, &t->saved) == 0)
		t->have_saved = 1;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		mbedtls_ssl_free(c->ssl);
		free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static int conn_write(struct conn *c, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n) {
		ssize_t r;
		if (c->ssl) {
			int w = mbedtls_ssl_write(c->ssl, b, n > 16384 ? 16384 : n);
			if (w == MBEDTLS_ERR_SSL_WANT_READ || w == MBEDTLS_ERR_SSL_WANT_WRITE)
				continue;
			r = w;
		} else {
			r = send(c->fd, b, n, MSG_NOSIGNAL);
		}
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int conn_printf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		return -1;
	return conn_write(c, line, (size_t)n);
}

/* Refill: move unread bytes to the front and read more. */
static int conn_fill(struct conn *c)
{
	if (c->off) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == c->cap)
		return -1; /* line too long */
	ssize_t r;
	for (;;) {
		if (c->ssl) {
			int x = mbedtls_ssl_read(c->ssl, (unsigned char *)c->buf + c->len,
			                         c->cap - c->len);
			if (x == MBEDTLS_ERR_SSL_WANT_READ || x == MBEDTLS_ERR_SSL_WANT_WRITE)
				continue;
			r = x;
		} else {
			r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		}
		break;
	}
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

/* One line (without CRLF) into a static-sized copy; returns its length or
 * -1. */
static int conn_line(struct conn *c, char *out, size_t outlen)
{
	for (;;) {
		char *s = c->buf + c->off;
		char *nl = memchr(s, '\n', c->len - c->off);
		if (nl) {
			size_t n = (size_t)(nl - s);
			if (n && s[n - 1] == '\r')
				n--;
			size_t k = n < outlen - 1 ? n : outlen - 1;
			memcpy(out, s, k);
			out[k] = 0;
			c->off += (size_t)(nl - s) + 1;
			return (int)k;
		}
		if (conn_fill(c) < 0)
			return -1;
	}
}

/* SMTP reply: returns the code of the last line, or -1. */
static int smtp_reply(struct conn *c)
{
	char line[1024];
	for (;;) {
		int n = conn_line(c, line, sizeof line);
		if (n < 3)
			return -1;
		if (n == 3 || line[3] != '-')
			return atoi(line);
	}
}

static int smtp_cmd(struct conn *c, const char *cmd, int want)
{
	if (conn_write(c, cmd, strlen(cmd)) < 0)
		return -1;
	int code = smtp_reply(c);
	return code / 100 == want ? 0 : (code < 0 ? -1 : -code);
}

/* POP3 status line: 0 for +OK, -1 otherwise. */
static int pop3_status(struct conn *c)
{
	char line[1024];
	int n = conn_line(c, line, sizeof line);
	return n >= 3 && !strncmp(line, "+OK", 3) ? 0 : -1;
}

/* After a +OK status line: consume a multi-line body up to CRLF.CRLF.
 * Returns the octets consumed (terminator included) or -1. The status line
 * ended in CRLF, so an empty body is just ".\r\n". */
static long pop3_body(struct conn *c)
{
	long total = 0;
	int tail = 2; /* matched state of "\r\n.\r\n": starts after "\r\n" */
	static const char pat[] = "\r\n.\r\n";
	for (;;) {
		while (c->off < c->len) {
			char ch = c->buf[c->off++];
			total++;
			if (ch == pat[tail]) {
				if (++tail == 5)
					return total;
			} else {
				tail = ch == '\r' ? 1 : 0;
			}
			/* fast skip: inside a line, jump to the next CR */
			if (tail == 0) {
				char *s = c->buf + c->off;
				char *cr = memchr(s, '\r', c->len - c->off);
				size_t skip = cr ? (size_t)(cr - s) : c->len - c->off;
				c->off += skip;
				total += (long)skip;
			}
		}
		c->off = c->len = 0;
		if (conn_fill(c) < 0)
			return -1;
	}
}

/* ---- the message ------------------------------------------------------ */

/* A message of exactly size octets: headers, then 76-character lines (none
 * starts with a dot), CRLF line ends, ending in CRLF; then ".\r\n". The 8
 * digits after "X-Seq: " are patched per message. */
static char *make_message(long size, size_t *len, size_t *seq_at)
{
	char hdr[512];
	int h = snprintf(hdr, sizeof hdr,
	                 "From: Load Generator <loadgen@example.net>\r\n"
	                 "To: <%s>\r\n"
	                 "Subject: benchmark message\r\n"
	                 "Message-ID: <bench.%ld@loadgen.example.net>\r\n"
	                 "Date: Sun, 22 Nov 2026 07:00:00 +0000\r\n"
	                 "X-Seq: 00000000\r\n\r\n",
	                 opt.to ? opt.to : "x@example.org", (long)getpid());
	char *m = malloc((size_t)size + 8);
	if (!m)
		die("out of memory");
	memcpy(m, hdr, (size_t)h);
	*seq_at = (size_t)(strstr(hdr, "X-Seq: ") - hdr) + 7;
	static const char line[] = "The quick brown fox jumps over the lazy dog "
	                           "0123456789 abcdefghijklmnopqrstu\r\n";
	size_t ll = sizeof line - 1, at = (size_t)h;
	while (at + ll <= (size_t)size) {
		memcpy(m + at, line, ll);
		at += ll;
	}
	size_t rest = (size_t)size - at;
	if (rest >= 3) {
		memset(m + at, 'x', rest - 2);
		memcpy(m + at + rest - 2, "\r\n", 2);
		at += rest;
	} else if (rest) { /* widen the previous line instead */
		memmove(m + at - 2 + rest, m + at - 2, 2);
		memset(m + at - 2, 'y', rest);
		at += rest;
	}
	memcpy(m + at, ".\r\n", 3);
	*len = at + 3;
	return m;
}

/* ---- smtp --------------------------------------------------------------- */

static struct {
	atomic_long next, ok, fail;
	double deadline;
	char *msg;
	size_t msglen, seq_at;
	atomic_int errors_shown;
	/* time spent waiting for each reply, summed over all messages, in
	 * microseconds: connect+greeting+EHLO, MAIL, RCPT, DATA, end of
	 * data (the durable commit), QUIT */
	atomic_long us[6];
} sm;
static const char *const phase_names[6] = {"open", "mail", "rcpt", "data",
                                           "eod", "quit"};
#define PHASE(i, t0) atomic_fetch_add(&sm.us[i], (long)((now_s() - (t0)) * 1e6))

static void note_err(const char *what, int code)
{
	if (atomic_fetch_add(&sm.errors_shown, 1) < 5)
		fprintf(stderr, "loadgen: smtp %s failed (%d)\n", what, code);
}

static void *smtp_worker(void *arg)
{
	struct tlsconf *t = arg;
	char *msg = malloc(sm.msglen);
	memcpy(msg, sm.msg, sm.msglen);
	struct conn c = {.fd = -1};
	char cmd[600];
	for (;;) {
		if (now_s() > sm.deadline)
			break;
		long seq = atomic_fetch_add(&sm.next, 1);
		if (seq >= opt.count)
			break;
		int r;
		double ph = now_s();
		if (c.fd < 0) {
			int fd = tcp_connect(IOTIMEOUT_S);
			if (fd < 0) {
				note_err("connect", errno);
				goto fail;
			}
			conn_init(&c, fd, 4096);
			if (t && conn_tls(&c, t) < 0) {
				note_err("handshake", 0);
				goto fail;
			}
			if ((r = smtp_reply(&c)) != 220) {
				note_err("greeting", r);
				goto fail;
			}
			if ((r = smtp_cmd(&c, "EHLO loadgen.example.net\r\n", 2))) {
				note_err("EHLO", r);
				goto fail;
			}
			PHASE(0, ph);
		}
		ph = now_s();
		snprintf(cmd, sizeof cmd, "MAIL FROM:<loadgen@example.net>\r\n");
		if ((r = smtp_cmd(&c, cmd, 2))) {
			note_err("MAIL", r);
			goto fail;
		}
		PHASE(1, ph);
		ph = now_s();
		snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", opt.to);
		if ((r = smtp_cmd(&c, cmd, 2))) {
			note_err("RCPT", r);
			goto fail;
		}
		PHASE(2, ph);
		ph = now_s();
		if ((r = smtp_cmd(&c, "DATA\r\n", 3))) {
			note_err("DATA", r);
			goto fail;
		}
		PHASE(3, ph);
		ph = now_s();
		char d[12];
		snprintf(d, sizeof d, "%08ld", seq % 100000000);
		memcpy(msg + sm.seq_at, d, 8);
		if (conn_write(&c, msg, sm.msglen) < 0 || (r = smtp_reply(&c)) / 100 != 2) {
			note_err("end of DATA", r);
			goto fail;
		}
		PHASE(4, ph);
		atomic_fetch_add(&sm.ok, 1);
		if (!opt.persistent) {
			ph = now_s();
			smtp_cmd(&c, "QUIT\r\n", 2);
			conn_close(&c);
			PHASE(5, ph);
		}
		continue;
	fail:
		atomic_fetch_add(&sm.fail, 1);
		if (c.buf || c.fd >= 0)
			conn_close(&c);
		c.fd = -1;
		if (atomic_load(&sm.fail) > 20)
			break;
	}
	if (c.fd >= 0) {
		smtp_cmd(&c, "QUIT\r\n", 2);
		conn_close(&c);
	}
	free(msg);
	return NULL;
}

static int mode_smtp(void)
{
	if (!opt.to)
		die("--to needed");
	sm.msg = make_message(opt.size, &sm.msglen, &sm.seq_at);
	struct tlsconf *tc = NULL;
	if (opt.tls) {
		tc = calloc((size_t)opt.conns, sizeof *tc);
		for (long i = 0; i < opt.conns; i++)
			tlsconf_init(&tc[i]);
	}
	pthread_t *th = calloc((size_t)opt.conns, sizeof *th);
	double c0 = cpu_s(), t0 = now_s();
	sm.deadline = t0 + opt.max_s;
	for (long i = 0; i < opt.conns; i++)
		pthread_create(&th[i], NULL, smtp_worker, tc ? &tc[i] : NULL);
	for (long i = 0; i < opt.conns; i++)
		pthread_join(th[i], NULL);
	double secs = now_s() - t0, cpu = cpu_s() - c0;
	long ok = atomic_load(&sm.ok);
	printf("smtp size=%ld conns=%ld persistent=%d count=%ld ok=%ld fail=%ld "
	       "capped=%d secs=%.3f msgs_per_s=%.1f MiB_per_s=%.2f "
	       "client_cpu_s=%.3f client_cpu_ms_per_msg=%.4f\n",
	       opt.size, opt.conns, opt.persistent, opt.count, ok,
	       atomic_load(&sm.fail), ok + atomic_load(&sm.fail) < opt.count,
	       secs, ok / secs, ok * (double)opt.size / secs / 1048576.0, cpu,
	       ok ? cpu * 1000.0 / ok : 0.0);
	/* mean wait per message for each reply, ms (second line) */
	printf("smtp_phases");
	for (int i = 0; i < 6; i++)
		printf(" %s_ms=%.3f", phase_names[i],
		       ok ? atomic_load(&sm.us[i]) / 1000.0 / ok : 0.0);
	printf("\n");
	return atomic_load(&sm.fail) ? 1 : 0;
}

/* ---- pop3 --------------------------------------------------------------- */

/* Connect, optional TLS (implicit or STLS), greeting, USER/PASS. */
static int pop3_open(struct conn *c, struct tlsconf *t, size_t bufsize)
{
	int fd = tcp_connect(IOTIMEOUT_S);
	if (fd < 0)
		return -1;
	conn_init(c, fd, bufsize);
	int implicit = opt.tls && !strcmp(opt.tls, "implicit");
	int stls = opt.tls && !strcmp(opt.tls, "stls");
	if (implicit && conn_tls(c, t) < 0)
		return -1;
	if (pop3_status(c) < 0)
		return -1;
	if (stls) {
		if (conn_printf(c, "STLS\r\n") < 0 || pop3_status(c) < 0)
			return -1;
		c->off = c->len = 0;
		if (conn_tls(c, t) < 0)
			return -1;
	}
	if (conn_printf(c, "USER %s\r\n", opt.user) < 0 || pop3_status(c) < 0)
		return -1;
	if (conn_printf(c, "PASS %s\r\n", opt.pass) < 0 || pop3_status(c) < 0)
		return -1;
	return 0;
}

static int mode_pop3(void)
{
	const char *mode = opt.mode ? opt.mode : "fetch";
	int dele = !strcmp(mode, "fetch-dele") || !strcmp(mode, "dele");
	int retr = strcmp(mode, "dele") != 0;
	if (!opt.user || !opt.pass)
		die("--user and --pass needed");
	struct tlsconf t;
	if (opt.tls)
		tlsconf_init(&t);
	struct conn c;
	double c0 = cpu_s(), t0 = now_s(), deadline = t0 + opt.max_s;
	if (pop3_open(&c, opt.tls ? &t : NULL, 1 << 18) < 0)
		die("pop3: connect/login failed");
	if (opt.login_file) {
		/* tell the caller the login is done (so it can take its
		 * memory baseline after the password hash), give it a second */
		FILE *f = fopen(opt.login_file, "w");
		if (f)
			fclose(f);
		sleep(1);
	}
	double tlogin = now_s();
	/* LIST: message numbers and sizes */
	if (conn_printf(&c, "LIST\r\n") < 0 || pop3_status(&c) < 0)
		die("pop3: LIST failed");
	long cap = 1024, n = 0, *nums = malloc((size_t)cap * sizeof *nums);
	char line[256];
	for (;;) {
		if (conn_line(&c, line, sizeof line) < 0)
			die("pop3: LIST read failed");
		if (!strcmp(line, "."))
			break;
		if (n == cap)
			nums = realloc(nums, (size_t)(cap *= 2) * sizeof *nums);
		nums[n++] = atol(line);
	}
	long done = 0, bytes = 0, fail = 0;
	for (long i = 0; i < n && now_s() < deadline; i++) {
		if (retr) {
			if (conn_printf(&c, "RETR %ld\r\n", nums[i]) < 0 ||
			    pop3_status(&c) < 0) {
				fail++;
				break;
			}
			long b = pop3_body(&c);
			if (b < 0) {
				fail++;
				break;
			}
			bytes += b;
		}
		if (dele && (conn_printf(&c, "DELE %ld\r\n", nums[i]) < 0 ||
		             pop3_status(&c) < 0)) {
			fail++;
			break;
		}
		done++;
	}
	double tq = now_s();
	int qok = conn_printf(&c, "QUIT\r\n") == 0 && pop3_status(&c) == 0;
	double t1 = now_s(), cpu = cpu_s() - c0;
	conn_close(&c);
	double secs = t1 - t0;
	printf("pop3 mode=%s tls=%s msgs=%ld listed=%ld bytes=%ld fail=%ld "
	       "quit_ok=%d capped=%d secs=%.3f msgs_per_s=%.1f MiB_per_s=%.2f "
	       "login_ms=%.2f quit_ms=%.2f client_cpu_s=%.3f\n",
	       mode, opt.tls ? opt.tls : "no", done, n, bytes, fail, qok,
	       done < n, secs, done / secs, bytes / secs / 1048576.0,
	       (tlogin - t0) * 1000, (t1 - tq) * 1000, cpu);
	free(nums);
	return fail || !qok ? 1 : 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
	if (!n)
		return 0;
	long k = (long)((n - 1) * p / 100.0 + 0.5);
	return v[k];
}

static int mode_logins(void)
{
	if (!opt.user || !opt.pass || !opt.tls)
		die("--user, --pass and --tls needed");
	struct tlsconf t;
	tlsconf_init(&t);
	double *lat = calloc((size_t)opt.count, sizeof *lat);
	long ok = 0, fail = 0;
	double c0 = cpu_s(), t0 = now_s();
	for (long i = 0; i < opt.count && now_s() < t0 + opt.max_s; i++) {
		struct conn c;
		double a = now_s();
		if (pop3_open(&c, &t, 4096) < 0 || conn_printf(&c, "QUIT\r\n") < 0 ||
		    pop3_status(&c) < 0) {
			fail++;
			conn_close(&c);
			if (fail > 5)
				break;
			continue;
		}
		lat[ok++] = now_s() - a;
		conn_close(&c);
	}
	double secs = now_s() - t0, cpu = cpu_s() - c0;
	qsort(lat, (size_t)ok, sizeof *lat, cmp_d);
	double sum = 0;
	for (long i = 0; i < ok; i++)
		sum += lat[i];
	printf("logins tls=%s count=%ld ok=%ld fail=%ld secs=%.3f logins_per_s=%.1f "
	       "mean_ms=%.2f p50_ms=%.2f p95_ms=%.2f max_ms=%.2f client_cpu_s=%.3f\n",
	       opt.tls, opt.count, ok, fail, secs, ok / secs,
	       ok ? sum * 1000 / ok : 0, pct(lat, ok, 50) * 1000,
	       pct(lat, ok, 95) * 1000, ok ? lat[ok - 1] * 1000 : 0, cpu);
	return fail ? 1 : 0;
}

/* ---- tls handshake rate ------------------------------------------------ */

static struct {
	atomic_long next, ok, fail;
	double deadline;
	double *lat;
} hs;

static void *tls_worker(void *arg)
{
	struct tlsconf *t = arg;
	int smtp = !strcmp(opt.proto, "smtps");
	for (;;) {
		if (now_s() > hs.deadline)
			break;
		long i = atomic_fetch_add(&hs.next, 1);
		if (i >= opt.count)
			break;
		double a = now_s();
		struct conn c;
		int fd = tcp_connect(IOTIMEOUT_S), r = -1;
		if (fd >= 0) {
			conn_init(&c, fd, 4096);
			if (conn_tls(&c, t) == 0) {
				if (smtp)
					r = smtp_reply(&c) == 220 &&
					            smtp_cmd(&c, "QUIT\r\n", 2) == 0 ? 0 : -1;
				else
					r = pop3_status(&c) == 0 &&
					            conn_printf(&c, "QUIT\r\n") == 0 &&
					            pop3_status(&c) == 0 ? 0 : -1;
			}
			conn_close(&c);
		}
		if (r == 0)
			hs.lat[atomic_fetch_add(&hs.ok, 1)] = now_s() - a;
		else if (atomic_fetch_add(&hs.fail, 1) > 10)
			break;
	}
	return NULL;
}

static int mode_tls(void)
{
	if (!opt.proto || (strcmp(opt.proto, "smtps") && strcmp(opt.proto, "pop3s")))
		die("--proto smtps|pop3s needed");
	hs.lat = calloc((size_t)opt.count, sizeof *hs.lat);
	struct tlsconf *tc = calloc((size_t)opt.conns, sizeof *tc);
	for (long i = 0; i < opt.conns; i++)
		tlsconf_init(&tc[i]);
	pthread_t *th = calloc((size_t)opt.conns, sizeof *th);
	double c0 = cpu_s(), t0 = now_s();
	hs.deadline = t0 + opt.max_s;
	for (long i = 0; i < opt.conns; i++)
		pthread_create(&th[i], NULL, tls_worker, &tc[i]);
	for (long i = 0; i < opt.conns; i++)
		pthread_join(th[i], NULL);
	double secs = now_s() - t0, cpu = cpu_s() - c0;
	long ok = atomic_load(&hs.ok);
	qsort(hs.lat, (size_t)ok, sizeof *hs.lat, cmp_d);
	printf("tls proto=%s resume=%d count=%ld conns=%ld ok=%ld fail=%ld secs=%.3f "
	       "handshakes_per_s=%.1f p50_ms=%.2f p95_ms=%.2f client_cpu_s=%.3f "
	       "client_cpu_ms_per_conn=%.3f\n",
	       opt.proto, opt.resume, opt.count, opt.conns, ok, atomic_load(&hs.fail), secs,
	       ok / secs, pct(hs.lat, ok, 50) * 1000, pct(hs.lat, ok, 95) * 1000,
	       cpu, ok ? cpu * 1000 / ok : 0);
	return atomic_load(&hs.fail) ? 1 : 0;
}

/* ---- idle connections ---------------------------------------------------- */

/* Opens count connections and reads each greeting (after the handshake for
 * TLS), then holds them, idle, until --stop-file exists or --max-seconds
 * pass. Prints "held=K" (greeted connections) as soon as all are up or the
 * set-up time (a third of max-seconds) is over, then a final line. Servers
 * with a process limit hold fewer: held says how many. */
static int mode_idle(void)
{
	if (!opt.proto || !opt.stop_file)
		die("--proto smtp|pop3 and --stop-file needed");
	int smtp = !strcmp(opt.proto, "smtp");
	double t0 = now_s(), setup_end = t0 + opt.max_s / 3, end = t0 + opt.max_s;
	long n = opt.count, held = 0, opened = 0;
	struct conn *cs = calloc((size_t)n, sizeof *cs);
	struct tlsconf t;
	if (opt.tls) {
		tlsconf_init(&t);
		/* sequential handshakes, 5 s bound each; stop at the first
		 * failure (a server at its process limit does not answer) */
		for (long i = 0; i < n && now_s() < setup_end; i++) {
			int fd = tcp_connect(5);
			if (fd < 0)
				break;
			conn_init(&cs[i], fd, 1024);
			opened++;
			if (conn_tls(&cs[i], &t) < 0 ||
			    (smtp ? smtp_reply(&cs[i]) != 220 : pop3_status(&cs[i]) < 0))
				break;
			held++;
		}
	} else {
		/* non-blocking connects in batches of 256 (a listen backlog
		 * is a few hundred: a burst of thousands of SYNs would mostly
		 * be dropped and retried seconds later), each batch polled
		 * until greeted or 5 s pass */
		struct pollfd *pf = calloc((size_t)n, sizeof *pf);
		long b0 = 0;
		while (b0 < n && now_s() < setup_end) {
			long b1 = b0 + 256 < n ? b0 + 256 : n, i;
			for (i = b0; i < b1; i++) {
				int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
				if (fd < 0) {
					fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
					break;
				}
				/* spread the connections over 8 loopback source
				 * addresses (127.0.0.1-8), as many clients would
				 * be: servers limit connections per address */
				struct sockaddr_in src = {.sin_family = AF_INET};
				src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i % 8));
				if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0 ||
				    (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0 &&
				     errno != EINPROGRESS)) {
					fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
					close(fd);
					break;
				}
				conn_init(&cs[i], fd, 1024);
				pf[i].fd = fd;
				pf[i].events = POLLIN;
				opened++;
			}
			if (i < b1)
				break;
			double bend = now_s() + 5;
			long greeted = 0;
			while (greeted < b1 - b0 && now_s() < bend && now_s() < setup_end) {
				if (poll(pf + b0, (nfds_t)(b1 - b0), 200) <= 0)
					continue;
				for (long k = b0; k < b1; k++) {
					if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
						continue;
					ssize_t got = recv(pf[k].fd, cs[k].buf, cs[k].cap, 0);
					pf[k].fd = -pf[k].fd - 1; /* done with it */
					greeted++;
					if (got > 0 && (smtp ? !strncmp(cs[k].buf, "220", 3)
					                     : !strncmp(cs[k].buf, "+OK", 3)))
						held++;
				}
			}
			if (greeted < b1 - b0)
				break; /* the server stopped greeting: at its limit */
			b0 = b1;
		}
		free(pf);
	}
	printf("idle proto=%s tls=%s count=%ld opened=%ld held=%ld setup_s=%.2f\n",
	       opt.proto, opt.tls ? "yes" : "no", n, opened, held, now_s() - t0);
	fflush(stdout);
	struct stat st;
	while (now_s() < end && stat(opt.stop_file, &st) < 0)
		usleep(50000);
	for (long i = 0; i < opened; i++)
		conn_close(&cs[i]);
	free(cs);
	return held == n ? 0 : 1;
}

/* ---- fsync ------------------------------------------------------------------ */

/* The disk's durable-write latency: count times a 4 KiB write followed by
 * fdatasync, in place (offset 0: no metadata to sync) and appending (the
 * file grows: the journal commits too). A commit costs at least this. */
static int fsync_run(const char *dir, long count, int append);
static int seq_run(const char *dir);
static int mode_fsync(const char *dir, long count)
{
	return fsync_run(dir, count, 0) | fsync_run(dir, count, 1) | seq_run(dir);
}

/* The disk's sequential write bandwidth: SEQ_MIB MiB into a new file in
 * 1 MiB writes, then one fdatasync (the time includes it), SEQ_REPS times
 * (fewer when they pass SEQ_MAX_S): what bulk durable writes -- a WAL,
 * a checkpoint, a queue file -- can get. Virtual disks often absorb a
 * burst in the host's cache, so the spread between the passes is printed. */
#define SEQ_MIB 128
#define SEQ_REPS 3
#define SEQ_MAX_S 2.0
static int seq_run(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/loadgen-seq.tmp", dir);
	size_t len = 1 << 20;
	char *buf = malloc(len);
	if (!buf)
		die("out of memory");
	memset(buf, 's', len);
	double rate[SEQ_REPS], t_all = now_s(), secs_all = 0;
	int reps = 0;
	while (reps < SEQ_REPS && (reps == 0 || now_s() - t_all < SEQ_MAX_S)) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		double t0 = now_s();
		for (int i = 0; i < SEQ_MIB; i++)
			if (write(fd, buf, len) != (ssize_t)len)
				die("write %s: %s", path, strerror(errno));
		if (fdatasync(fd) < 0)
			die("fdatasync: %s", strerror(errno));
		double secs = now_s() - t0;
		close(fd);
		unlink(path);
		secs_all += secs;
		rate[reps++] = SEQ_MIB * 1048576.0 / secs / 1e6;
	}
	free(buf);
	qsort(rate, (size_t)reps, sizeof *rate, cmp_d);
	printf("fsync mode=seqwrite mib=%d reps=%d secs=%.3f MB_per_s=%.0f min_MB_per_s=%.0f max_MB_per_s=%.0f\n",
	       SEQ_MIB, reps, secs_all, pct(rate, reps, 50), rate[0], rate[reps - 1]);
	return 0;
}

static int fsync_run(const char *dir, long count, int append)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/loadgen-fsync.tmp", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	char blk[4096];
	memset(blk, 'f', sizeof blk);
	double *lat = calloc((size_t)count, sizeof *lat), t0 = now_s();
	long n = 0;
	for (; n < count && now_s() < t0 + 10; n++) {
		double a = now_s();
		off_t at = append ? (off_t)n * (off_t)sizeof blk : 0;
		if (pwrite(fd, blk, sizeof blk, at) != (ssize_t)sizeof blk || fdatasync(fd) < 0)
			die("write/fdatasync: %s", strerror(errno));
		lat[n] = now_s() - a;
	}
	double secs = now_s() - t0;
	close(fd);
	unlink(path);
	qsort(lat, (size_t)n, sizeof *lat, cmp_d);
	printf("fsync mode=%s count=%ld secs=%.3f per_s=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f\n",
	       append ? "append" : "overwrite", n, secs, n / secs, pct(lat, n, 50) * 1e6, pct(lat, n, 90) * 1e6,
	       pct(lat, n, 99) * 1e6);
	return 0;
}

/* ---- hash ----------------------------------------------------------------- */

static int mode_hash(const char *pw)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
		die("crypt_gensalt failed");
	const char *h = crypt_r(pw, salt, cd);
	if (!h || h[0] == '*')
		die("crypt failed");
	puts(h);
	free(cd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "hash"))
		return mode_hash(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "fsync"))
		return mode_fsync(argv[2], argc >= 4 ? atol(argv[3]) : 2000);
	parse_opts(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *m = argv[1];
	if (!strcmp(m, "smtp"))
		return mode_smtp();
	if (!strcmp(m, "pop3"))
		return mode_pop3();
	if (!strcmp(m, "logins"))
		return mode_logins();
	if (!strcmp(m, "tls"))
		return mode_tls();
	if (!strcmp(m, "idle"))
		return mode_idle();
	die("unknown mode %s", m);
	return 2;
}
