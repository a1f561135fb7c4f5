/* Fuzzes the POP3 session state machine (pop3d/pop3_session.c and
 * pop3_cmd_*.c, pop3_login.c, pop3_maildrop.c) as a client would: the
 * input is a dialogue, delivered in chunks, against a fresh in-memory
 * store (domain example.org; alice with four messages, bob with one)
 * through the fake I/O layer of fuzz_session.h, with a login throttle,
 * a LOGIN-DELAY table and a clock whose time stands still (runs must
 * reproduce) and whose delays wait in a clock_manual.
 *
 * Input: byte 0 is the setup (bit 0 a certificate is loaded; bit 1 the
 * listener is pop3s; bit 2 plaintext logins allowed; bit 3 the STLS
 * handshake fails; bit 4 output counts 4096-fold against the high-water
 * mark, so RETR, LIST and pipelined replies stop and go on in drain();
 * bit 5 the idle timeout fires at the end; bit 6 a 100 ms failed-login
 * delay through the clock; bit 7 max_bad and max_bad_trans 3, LOGIN-DELAY
 * 60). Byte 1 picks the chunking (0 mod 4: as much as fits, 1: byte by
 * byte, 2: line by line, 3: random sizes seeded by it). The rest is what
 * the client sends.
 *
 * Properties, beyond no crash, leak or sanitizer report: the I/O contract
 * of fuzz_session.h; the output starts with "+OK" and is CRLF lines only,
 * none over 1000 octets, with no control byte but TAB (the stored
 * messages are clean, so anything else came from the session); nothing is
 * deleted unless the client sent QUIT. */
#include <stdbool.h>
#include <string.h>

#include "fuzz_session.h"
#include "log.h"
#include "pop3_logins.h"
#include "pop3_session.h"
#include "store.h"
#include "throttle.h"

/* ---- output syntax --------------------------------------------------- */

struct lines {
	size_t col, total;
	bool cr;
	char head[3];
};

static void check_lines(void *arg, const char *p, size_t n)
{
	struct lines *l = arg;
	for (size_t i = 0; i < n; i++, l->total++) {
		unsigned char c = (unsigned char)p[i];
		if (l->total < 3)
			l->head[l->total] = (char)c;
		if (l->total == 2)
			FUZZ_CHECK(memcmp(l->head, "+OK", 3) == 0);
		if (l->cr) {
			FUZZ_CHECK(c == '\n'); /* no bare CR */
			l->cr = false;
			l->col = 0;
			continue;
		}
		if (c == '\r') {
			l->cr = true;
			continue;
		}
		FUZZ_CHECK(c != '\n'); /* no bare LF */
		FUZZ_CHECK(c == '\t' || c >= 0x20);
		FUZZ_CHECK(++l->col <= 998);
	}
}

/* ---- the store ------------------------------------------------------- */

static const char m1[] = "From: a@example.org\r\nSubject: one\r\n\r\n"
                         "Hello\r\n.dot line\r\n..two dots\r\n.\r\nlast\r\n";
static const char m2[] = "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\x80 bytes\r\n"
                         ".\xc3\xa9\r\n";
static const char m3[] = "Subject: three\r\n\r\nno newline at end";
static char m4[20000]; /* lines of many lengths, some starting with '.' */
static size_t m4_len;

static void make_m4(void)
{
	size_t i = 17, line = 0;
	memcpy(m4, "Subject: four\r\n\r\n", 17);
	for (;;) {
		size_t len = 1 + (line * 7919) % 97;
		if (i + len + 2 > sizeof m4)
			break;
		for (size_t k = 0; k < len; k++)
			m4[i++] = (k == 0 && line % 3 == 0)
			              ? '.'
			              : (char)('a' + k % 26);
		m4[i++] = '\r';
		m4[i++] = '\n';
		line++;
	}
	m4_len = i;
}

static void deliver(struct store *st, const char *p, size_t n, uint64_t mbox)
{
	uint64_t msg = 0;
	FUZZ_CHECK(store_msg_deliver(st, &msg, p, n, &mbox, 1) == STORE_OK);
}

static size_t count(struct store *st, uint64_t mbox)
{
	struct store_entry *e = NULL;
	size_t n = 0;
	FUZZ_CHECK(store_mailbox_list(st, mbox, &e, &n) == STORE_OK);
	free(e);
	return n;
}

static struct store *make_store(uint64_t *alice, uint64_t *bob)
{
	struct store *st = NULL;
	char err[256];
	FUZZ_CHECK(store_open(":memory:", &st, err, sizeof err) == STORE_OK);
	FUZZ_CHECK(store_domain_add(st, "example.org") == STORE_OK);
	FUZZ_CHECK(store_user_add(st, "alice@example.org", "secret") ==
	           STORE_OK);
	FUZZ_CHECK(store_user_add(st, "bob@example.org", "hunter2") ==
	           STORE_OK);
	FUZZ_CHECK(store_rcpt_lookup(st, "alice@example.org", alice) ==
	           STORE_OK);
	FUZZ_CHECK(store_rcpt_lookup(st, "bob@example.org", bob) == STORE_OK);
	deliver(st, m1, sizeof m1 - 1, *alice);
	deliver(st, m2, sizeof m2 - 1, *alice);
	deliver(st, m3, sizeof m3 - 1, *alice);
	deliver(st, m4, m4_len, *alice);
	deliver(st, m1, sizeof m1 - 1, *bob);
	return st;
}

/* ---- session glue ---------------------------------------------------- */

static void op_input(void *s)
{
	pop3_session_input(s);
}

static void op_tls_ready(void *s)
{
	pop3_session_tls_ready(s);
}

static void op_drain(void *s)
{
	pop3_session_drain(s);
}

static void op_timeout(void *s)
{
	pop3_session_timeout(s);
}

static void op_closed(void *s)
{
	pop3_session_closed(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	make_m4();
	return 0;
}

/* True if the dialogue holds a QUIT (any case) at a line start: only then
 * may messages go. A rough test on purpose: it may say yes too often. */
static bool has_quit(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++)
		if ((i == 0 || p[i - 1] == '\n') && (p[i] | 0x20) == 'q' &&
		    (p[i + 1] | 0x20) == 'u' && (p[i + 2] | 0x20) == 'i' &&
		    (p[i + 3] | 0x20) == 't')
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	if (m4_len == 0)
		make_m4(); /* no LLVMFuzzerInitialize under some drivers */
	uint8_t setup = fuzz_take(&data, &size);
	uint8_t chunking = fuzz_take(&data, &size);
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, chunking);

	uint64_t alice, bob;
	struct store *st = make_store(&alice, &bob);
	struct runner_inline store_r, auth_r;
	runner_inline_init(&store_r, st);
	runner_inline_init(&auth_r, st);
	struct clock_manual timer;
	clock_manual_init(&timer, FZ_CLOCK_START);
	struct throttle *thr = throttle_new(16, 5, 60);
	struct pop3_logins *logins = pop3_logins_new(16);
	FUZZ_CHECK(thr && logins);

	struct pop3_session_cfg cfg = {
	    .hostname = "mail.example.org",
	    .tls_available = setup & 0x01,
	    .implicit_tls = setup & 0x02,
	    .plaintext_auth = setup & 0x04,
	    .timeout = 600,
	    .login_delay = (setup & 0x80) ? 60 : 0,
	    .fail_delay_ms = (setup & 0x40) ? 100 : 0,
	    .max_bad = (setup & 0x80) ? 3 : 0,
	    .max_bad_trans = (setup & 0x80) ? 3 : 0,
	    .throttle = thr,
	    .logins = logins,
	    .clock = &timer.c,
	};
	struct session_peer peer = {
	    .sid = "fuzz",
	    .ip = "192.0.2.1",
	    .rdns = NULL,
	    .local_loopback = false,
	    .tls = cfg.implicit_tls,
	};
	struct lines lines = {0};
	const struct fz_ops ops = {
	    .input = op_input,
	    .tls_ready = op_tls_ready,
	    .drain = op_drain,
	    .timeout = op_timeout,
	    .closed = op_closed,
	    .check_out = check_lines,
	    .check_arg = &lines,
	};
	struct fz_conn c = {
	    .ops = &ops,
	    .runners = {&store_r, &auth_r},
	    .timers = &timer,
	    .scale = (setup & 0x10) ? 4096 : 1,
	    .tls_available = cfg.tls_available && !cfg.implicit_tls,
	    .tls_fail = setup & 0x08,
	    .in_tls = cfg.implicit_tls,
	};
	buf_init(&c.in, FZ_IN_MAX);
	c.s = pop3_session_new(&cfg, &peer, &fz_io, &c, &store_r.r, &auth_r.r,
	                       &c.in);
	FUZZ_CHECK(c.s != NULL);
	pop3_session_start(c.s);
	fz_pump(&c, false);

	fz_feed(&c, data, size, chunking % 4, &rng);
	fz_finish(&c, setup & 0x20);
	FUZZ_CHECK(!lines.cr && lines.col == 0);

	/* RFC 1939 6: only QUIT in TRANSACTION deletes. */
	if (!has_quit(data, size)) {
		FUZZ_CHECK(count(st, alice) == 4);
		FUZZ_CHECK(count(st, bob) == 1);
	}
	pop3_logins_free(logins);
	throttle_free(thr);
	store_close(st);
	return 0;
}
