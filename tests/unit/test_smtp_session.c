/* Tests for the SMTP session (smtpd/smtp_session.c and smtp_cmd_*.c),
 * driven through a memory session_io and the inline job runner over an
 * in-memory store. Every dialogue is fed whole and one byte at a time; the
 * replies must be identical, byte for byte. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp_session.h"
#include "store.h"
#include "t.h"

static struct store *st;
static uint64_t alice_mbox, bob_mbox;

/* ---- a session_io over memory ------------------------------------------ */

struct tio {
	struct buf out;
	struct smtp_session *s;
	bool starttls;    /* io->starttls was called */
	bool in_tls;      /* the fake handshake has completed */
	bool closed_io;   /* io->close was called */
	bool bad_write;   /* a write after close */
	bool gone;        /* smtp_session_closed was called */
};

static void tio_write(void *ctx, const void *p, size_t n)
{
	struct tio *t = ctx;
	if (t->closed_io)
		t->bad_write = true;
	buf_append(&t->out, p, n);
}

static size_t tio_pending(void *ctx)
{
	return 0;
}

static int tio_starttls(void *ctx)
{
	struct tio *t = ctx;
	t->starttls = true;
	return 0;
}

static void tio_close(void *ctx)
{
	((struct tio *)ctx)->closed_io = true;
}

static void tio_resume(void *ctx)
{
	struct tio *t = ctx;
	if (t->s && !t->gone && !t->closed_io)
		smtp_session_input(t->s);
}

static const char *tio_tls_desc(void *ctx)
{
	return ((struct tio *)ctx)->in_tls ? "TLSv1.3 TEST-CIPHER" : NULL;
}

static const struct session_io tio_ops = {
	.write = tio_write,
	.pending = tio_pending,
	.starttls = tio_starttls,
	.close = tio_close,
	.resume = tio_resume,
	.tls_desc = tio_tls_desc,
};

/* ---- a dialogue driver ------------------------------------------------- */

struct dlg {
	struct smtp_session_cfg cfg;
	struct session_peer peer;
	struct tio io;
	struct buf in;
	struct runner_inline ri;
	struct smtp_session *s;
};

static struct smtp_session_cfg base_cfg(void)
{
	return (struct smtp_session_cfg){
		.hostname = "mail.example.org",
		.max_message_size = 1024 * 1024,
		.max_recipients = 100,
		.kind = SMTP_LISTENER_MX,
		.tls_available = false,
		.timeout = 300,
	};
}

static void dlg_open(struct dlg *d, const struct smtp_session_cfg *cfg)
{
	memset(d, 0, sizeof *d);
	d->cfg = *cfg;
	d->peer.sid = "t1";
	d->peer.ip = "192.0.2.1";
	d->peer.tls = cfg->kind == SMTP_LISTENER_SUBMISSIONS;
	d->io.in_tls = d->peer.tls;
	buf_init(&d->io.out, 16 * 1024 * 1024);
	buf_init(&d->in, 64 * 1024 + 1024); /* as smtpd_main's input_max */
	runner_inline_init(&d->ri, st);
	d->s = smtp_session_new(&d->cfg, &d->peer, &tio_ops, &d->io,
	                        &d->ri.r, &d->in);
	d->io.s = d->s;
	smtp_session_start(d->s);
}

/* Feeds bytes as the I/O layer would: append what fits, call input, run
 * jobs (whose completions call resume → input). After STARTTLS the layer
 * drops the input and later reports the handshake. */
static void dlg_feed(struct dlg *d, const char *p, size_t n, bool bytewise)
{
	size_t pos = 0;
	while (pos < n && !d->io.closed_io) {
		size_t k = bytewise ? 1 : buf_room(&d->in);
		if (k > n - pos)
			k = n - pos;
		if (k == 0) {
			/* input buffer full and the session is not making
			 * room: that would hang a real connection */
			CHECK(!"session stalled with a full input buffer");
			return;
		}
		buf_append(&d->in, p + pos, k);
		pos += k;
		smtp_session_input(d->s);
		runner_inline_drain(&d->ri);
		if (d->io.starttls && !d->io.in_tls) {
			buf_reset(&d->in); /* RFC 3207: discard pre-TLS bytes */
			d->io.in_tls = true;
			smtp_session_tls_ready(d->s);
		}
	}
}

static void dlg_close(struct dlg *d)
{
	d->io.gone = true;
	smtp_session_closed(d->s);
	runner_inline_drain(&d->ri); /* a pending abort, then the free */
	CHECK(!d->io.bad_write);
	buf_free(&d->in);
	buf_free(&d->io.out);
}

/* Runs a dialogue of input segments (a STARTTLS handshake may happen
 * between them) fed whole and byte by byte; checks the transcripts agree
 * and equal `expect`. */
static void dialogue(const struct smtp_session_cfg *cfg,
                     const char *const *segs, const char *expect)
{
	struct buf out[2];
	for (int mode = 0; mode < 2; mode++) {
		struct dlg d;
		dlg_open(&d, cfg);
		for (size_t i = 0; segs[i]; i++)
			dlg_feed(&d, segs[i], strlen(segs[i]), mode == 1);
		buf_init(&out[mode], d.io.out.max);
		buf_append(&out[mode], d.io.out.data, d.io.out.len);
		dlg_close(&d);
	}
	size_t n = strlen(expect);
	if (out[0].len != n || memcmp(out[0].data, expect, n) != 0)
		fprintf(stderr, "transcript:\n%.*s\nexpected:\n%s\n",
		        (int)out[0].len, out[0].data, expect);
	CHECK(out[0].len == n && memcmp(out[0].data, expect, n) == 0);
	if (out[1].len != out[0].len ||
	    memcmp(out[0].data, out[1].data, out[0].len) != 0)
		fprintf(stderr, "byte-at-a-time transcript differs:\n%.*s\n",
		        (int)out[1].len, out[1].data);
	CHECK(out[1].len == out[0].len &&
	      memcmp(out[0].data, out[1].data, out[0].len) == 0);
	buf_free(&out[0]);
	buf_free(&out[1]);
}

#define DIALOGUE(cfg, expect, ...)                                           \
	do {                                                                 \
		const char *const segs_[] = {__VA_ARGS__, NULL};             \
		dialogue(cfg, segs_, expect);                                \
	} while (0)

#define GREETING "220 mail.example.org ESMTP postlite\r\n"
#define EHLO_HEAD                                                            \
	"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 1048576\r\n"     \
	"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
#define EHLO_REPLY EHLO_HEAD "250 CHUNKING\r\n"
#define EHLO_REPLY_TLS EHLO_HEAD "250-CHUNKING\r\n250 STARTTLS\r\n"
#define EHLO_REPLY_AUTH EHLO_HEAD "250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n"

/* ---- store helpers ------------------------------------------------------- */

static size_t mailbox_count(uint64_t mbox)
{
	struct store_entry *e = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(st, mbox, &e, &n), STORE_OK);
	free(e);
	return n;
}

/* Reads the newest message of a mailbox into a malloc'ed buffer. */
static char *read_latest(uint64_t mbox, size_t *len)
{
	struct store_entry *e = NULL;
	size_t n = 0, got = 0;
	char *msg = NULL;

	*len = 0;
	if (store_mailbox_list(st, mbox, &e, &n) != STORE_OK || n == 0) {
		free(e);
		return NULL;
	}
	msg = malloc(e[n - 1].size + 1);
	CHECK_INT(store_entry_read(st, mbox, e[n - 1].id, 0, msg,
	                           e[n - 1].size + 1, &got),
	          STORE_OK);
	CHECK_INT(got, e[n - 1].size);
	*len = got;
	free(e);
	return msg;
}

/* Checks a stored message: `received` up to "; ", an RFC 5322 date, CRLF,
 * then exactly `body`. */
static void check_message(const char *msg, size_t len, const char *received,
                          const char *body, size_t blen)
{
	size_t rl = strlen(received);
	CHECK(msg && len > rl && memcmp(msg, received, rl) == 0);
	if (!msg || len <= rl)
		return;
	if (memcmp(msg, received, rl) != 0)
		fprintf(stderr, "stored:\n%.*s\n", (int)(len < 400 ? len : 400),
		        msg);
	const char *date = msg + rl;
	const char *eol = memchr(date, '\r', len - rl);
	CHECK(eol && eol[1] == '\n');
	if (!eol)
		return;
	/* "Tue, 1 Jul 2003 10:52:37 +0200" */
	size_t dl = (size_t)(eol - date);
	CHECK(dl >= 30 && dl <= 31);
	CHECK(date[3] == ',' && (date[dl - 5] == '+' || date[dl - 5] == '-'));
	const char *b = eol + 2;
	size_t got = len - (size_t)(b - msg);
	if (got != blen || memcmp(b, body, blen) != 0)
		fprintf(stderr, "body:\n%.*s\n", (int)got, b);
	CHECK(got == blen && memcmp(b, body, blen) == 0);
}

/* Feeds one input with an explicit length (NUL bytes allowed), whole and
 * byte by byte, and compares as dialogue() does. */
static void dialogue_bytes(const struct smtp_session_cfg *cfg, const char *p,
                           size_t n, const char *expect)
{
	struct buf out[2];
	for (int mode = 0; mode < 2; mode++) {
		struct dlg d;
		dlg_open(&d, cfg);
		dlg_feed(&d, p, n, mode == 1);
		buf_init(&out[mode], d.io.out.max);
		buf_append(&out[mode], d.io.out.data, d.io.out.len);
		dlg_close(&d);
	}
	size_t en = strlen(expect);
	if (out[0].len != en || memcmp(out[0].data, expect, en) != 0)
		fprintf(stderr, "transcript:\n%.*s\nexpected:\n%s\n",
		        (int)out[0].len, out[0].data, expect);
	CHECK(out[0].len == en && memcmp(out[0].data, expect, en) == 0);
	CHECK(out[1].len == out[0].len &&
	      memcmp(out[0].data, out[1].data, out[0].len) == 0);
	buf_free(&out[0]);
	buf_free(&out[1]);
}

/* ---- tests ------------------------------------------------------------- */

static void test_greeting(void)
{
	struct smtp_session_cfg cfg = base_cfg();

	DIALOGUE(&cfg, GREETING, "");
	DIALOGUE(&cfg, GREETING EHLO_REPLY, "EHLO client.example\r\n");
	DIALOGUE(&cfg, GREETING "250 mail.example.org\r\n",
	         "HELO client.example\r\n");
	DIALOGUE(&cfg,
	         GREETING "501 5.5.4 Syntax: EHLO hostname\r\n"
	                  "501 5.5.4 Syntax: HELO hostname\r\n"
	                  "501 5.5.4 Syntax: EHLO hostname\r\n" EHLO_REPLY
	                  "250 mail.example.org\r\n",
	         "EHLO\r\nHELO\r\nEHLO bad;name\r\nehlo [192.0.2.9]\r\n"
	         "HELO x\r\n");
	cfg.tls_available = true;
	DIALOGUE(&cfg, GREETING EHLO_REPLY_TLS, "EHLO client.example\r\n");
}

static void test_happy_path(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	static const char body[] = "Subject: hi\r\n\r\nline one\r\n"
	                           ".leading dot\r\n\xff 8bit\r\n"
	                           "last line\r\n";
	size_t before = mailbox_count(alice_mbox), len;

	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                             "354 End data with <CR><LF>.<CR><LF>\r\n"
	                             "250 2.0.0 Ok: queued as t1-1\r\n"
	                             "221 2.0.0 Bye\r\n",
	         "EHLO client.example\r\n",
	         "MAIL FROM:<bob@remote.example> BODY=8BITMIME SIZE=80\r\n",
	         "RCPT TO:<alice@example.org>\r\n", "DATA\r\n",
	         "Subject: hi\r\n\r\nline one\r\n..leading dot\r\n"
	         "\xff 8bit\r\nlast line\r\n.\r\n",
	         "QUIT\r\n", "NOOP\r\n");
	CHECK_INT(mailbox_count(alice_mbox), before + 2);
	char *msg = read_latest(alice_mbox, &len);
	check_message(msg, len,
	              "Return-Path: <bob@remote.example>\r\n"
	              "Received: from client.example ([192.0.2.1])\r\n"
	              "\tby mail.example.org (postlite) with ESMTP id t1-1\r\n"
	              "\tfor <alice@example.org>; ",
	              body, sizeof body - 1);
	free(msg);

	/* HELO: protocol SMTP; the empty message. */
	DIALOGUE(&cfg,
	         GREETING "250 mail.example.org\r\n250 2.1.0 Ok\r\n"
	                  "250 2.1.5 Ok\r\n"
	                  "354 End data with <CR><LF>.<CR><LF>\r\n"
	                  "250 2.0.0 Ok: queued as t1-1\r\n",
	         "HELO [192.0.2.1]\r\nMAIL FROM:<>\r\n"
	         "RCPT TO:<alice@example.org>\r\nDATA\r\n.\r\n");
	msg = read_latest(alice_mbox, &len);
	check_message(msg, len,
	              "Return-Path: <>\r\n"
	              "Received: from [192.0.2.1] ([192.0.2.1])\r\n"
	              "\tby mail.example.org (postlite) with SMTP id t1-1\r\n"
	              "\tfor <alice@example.org>; ",
	              "", 0);
	free(msg);
}

static void test_recipients(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	size_t a0 = mailbox_count(alice_mbox), b0 = mailbox_count(bob_mbox);
	size_t len;

	/* Unknown user, relay attempt, case-insensitive match, duplicate. */
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "250 2.1.0 Ok\r\n"
	                             "550 5.1.1 User unknown\r\n"
	                             "554 5.7.1 Relay access denied\r\n"
	                             "554 5.7.1 Relay access denied\r\n"
	                             "501 5.1.3 Source routes are not accepted\r\n"
	                             /* RFC 5321 4.5.1: always accepted */
	                             "250 2.1.5 Ok\r\n"
	                             "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	                             "354 End data with <CR><LF>.<CR><LF>\r\n"
	                             "250 2.0.0 Ok: queued as t1-1\r\n",
	         "EHLO c.example\r\nMAIL FROM:<x@y.example>\r\n"
	         "RCPT TO:<nobody@example.org>\r\n"
	         "RCPT TO:<victim@remote.example>\r\n"
	         "RCPT TO:<victim@[192.0.2.7]>\r\n"
	         "RCPT TO:<@example.org:victim@remote.example>\r\n"
	         "RCPT TO:<Postmaster>\r\n"
	         "RCPT TO:<Alice@EXAMPLE.org>\r\n"
	         "RCPT TO:<bob@example.org>\r\n"
	         "RCPT TO:<alice@example.org>\r\n"
	         "DATA\r\nhi\r\n.\r\n");
	/* stored once per distinct mailbox, per run */
	CHECK_INT(mailbox_count(alice_mbox), a0 + 2);
	CHECK_INT(mailbox_count(bob_mbox), b0 + 2);
	char *msg = read_latest(bob_mbox, &len);
	/* several recipients: no "for" clause */
	check_message(msg, len,
	              "Return-Path: <x@y.example>\r\n"
	              "Received: from c.example ([192.0.2.1])\r\n"
	              "\tby mail.example.org (postlite) with ESMTP id t1-1; ",
	              "hi\r\n", 4);
	free(msg);

	cfg.max_recipients = 2;
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                             "550 5.1.1 User unknown\r\n"
	                             "250 2.1.5 Ok\r\n"
	                             "452 4.5.3 Too many recipients\r\n",
	         "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n"
	         "RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
	         "RCPT TO:<alice@example.org>\r\n");

	/* Syntax and parameters. */
	cfg = base_cfg();
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY
	         "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	         "501 5.1.7 Bad sender address syntax\r\n"
	         "555 5.5.4 Unsupported parameter RET\r\n"
	         "501 5.5.4 Invalid parameter\r\n"
	         "250 2.1.0 Ok\r\n"
	         "501 5.5.4 Syntax: RCPT TO:<address>\r\n"
	         "501 5.1.3 Bad recipient address syntax\r\n"
	         "555 5.5.4 Unsupported parameter NOTIFY\r\n",
	         "EHLO c\r\nMAIL FROM:a@b.example\r\nMAIL FROM:<a@@b>\r\n"
	         "MAIL FROM:<a@b.example> RET=HDRS\r\n"
	         "MAIL FROM:<a@b.example> SIZE=x\r\n"
	         "MAIL FROM:<a@b.example>\r\n"
	         "RCPT TO:alice@example.org\r\nRCPT TO:<>\r\n"
	         "RCPT TO:<alice@example.org> NOTIFY=NEVER\r\n");
}

static void test_pipelining(void)
{
	struct smtp_session_cfg cfg = base_cfg();

	/* One input with a whole transaction (RFC 2920): replies in order. */
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                             "550 5.1.1 User unknown\r\n"
	                             "354 End data with <CR><LF>.<CR><LF>\r\n"
	                             "250 2.0.0 Ok: queued as t1-1\r\n"
	                             "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                             "354 End data with <CR><LF>.<CR><LF>\r\n"
	                             "250 2.0.0 Ok: queued as t1-2\r\n"
	                             "221 2.0.0 Bye\r\n",
	         "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n"
	         "RCPT TO:<nobody@example.org>\r\nDATA\r\none\r\n.\r\n"
	         "MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
	         "two\r\n.\r\nQUIT\r\n");
}

static void test_rset_noop_quit(void)
{
	struct smtp_session_cfg cfg = base_cfg();

	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n"
	                             "503 5.5.1 Need MAIL before RCPT\r\n"
	                             "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
	                             "501 5.5.4 Syntax error (no parameters "
	                             "allowed)\r\n"
	                             "250 2.1.0 Ok\r\n" EHLO_REPLY
	                             "503 5.5.1 Need MAIL before RCPT\r\n"
	                             "221 2.0.0 Bye\r\n",
	         "EHLO c\r\nMAIL FROM:<>\r\nRSET\r\n"
	         "RCPT TO:<alice@example.org>\r\nNOOP\r\nNOOP whatever\r\n"
	         "RSET x\r\nMAIL FROM:<>\r\nEHLO c\r\n"
	         "RCPT TO:<alice@example.org>\r\nQUIT\r\nNOOP\r\n");
	/* RSET, NOOP, QUIT work before EHLO too. */
	DIALOGUE(&cfg,
	         GREETING "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
	         "RSET\r\nNOOP\r\nQUIT\r\n");
}

static void test_sequence(void)
{
	struct smtp_session_cfg cfg = base_cfg();

	DIALOGUE(&cfg,
	         GREETING "503 5.5.1 Send HELO/EHLO first\r\n"
	                  "503 5.5.1 Send HELO/EHLO first\r\n"
	                  "503 5.5.1 Send HELO/EHLO first\r\n" EHLO_REPLY
	                  "503 5.5.1 Need MAIL before RCPT\r\n"
	                  "503 5.5.1 Need MAIL and RCPT before DATA\r\n"
	                  "250 2.1.0 Ok\r\n"
	                  "503 5.5.1 Nested MAIL command\r\n"
	                  "554 5.5.1 No valid recipients\r\n"
	                  "550 5.1.1 User unknown\r\n"
	                  "554 5.5.1 No valid recipients\r\n",
	         "MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\nEHLO c\r\n"
	         "RCPT TO:<alice@example.org>\r\nDATA\r\nMAIL FROM:<>\r\n"
	         "MAIL FROM:<>\r\nDATA\r\nRCPT TO:<nobody@example.org>\r\n"
	         "DATA\r\n");
}

static void test_line_limits(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	char in[2048];
	size_t n = 0;

	/* RFC 5321 4.5.3.1.4: 512 octets with CRLF. */
	memcpy(in, "NOOP ", 5);
	memset(in + 5, 'x', 505);
	memcpy(in + 510, "\r\n", 2); /* 510 + CRLF: fine */
	n = 512;
	memcpy(in + n, "NOOP ", 5);
	memset(in + n + 5, 'x', 506);
	memcpy(in + n + 511, "\r\n", 2); /* 511 + CRLF: too long */
	n += 513;
	memset(in + n, 'A', 900);
	memcpy(in + n + 900, "\r\n", 2);
	n += 902;
	memcpy(in + n, "NOOP\r\n", 6);
	n += 6;
	dialogue_bytes(&cfg, in, n,
	               GREETING "250 2.0.0 Ok\r\n500 5.5.2 Line too long\r\n"
	                        "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");

	static const char bad[] = "NOOP\nNO\0OP\r\nNOOP\x01\r\n\r\n"
	                          "XYZZY\r\nNOOP\r\n";
	dialogue_bytes(&cfg, bad, sizeof bad - 1,
	               GREETING "500 5.5.2 Bare LF in command\r\n"
	                        "500 5.5.2 NUL in command\r\n"
	                        "500 5.5.2 Control character in command\r\n"
	                        "500 5.5.2 Empty command\r\n"
	                        "500 5.5.1 Command unrecognized\r\n"
	                        "250 2.0.0 Ok\r\n");
}

static void test_starttls(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	size_t len;

	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "454 4.7.0 TLS not available\r\n",
	         "EHLO c\r\nSTARTTLS\r\n");
	cfg.tls_available = true;
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY_TLS
	         "501 5.5.4 Syntax error (no parameters allowed)\r\n"
	         "250 2.1.0 Ok\r\n503 5.5.1 Mail transaction in progress\r\n",
	         "EHLO c\r\nSTARTTLS now\r\nMAIL FROM:<>\r\nSTARTTLS\r\n");

	/* The upgrade: EHLO is forgotten (RFC 3207 4.2), STARTTLS is not
	 * offered again, the Received: header says ESMTPS. */
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY_TLS "220 2.0.0 Ready to start TLS\r\n"
	                                 "503 5.5.1 Send HELO/EHLO first\r\n"
	                                 EHLO_REPLY
	                                 "503 5.5.1 TLS already active\r\n"
	                                 "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                                 "354 End data with <CR><LF>.<CR><LF>\r\n"
	                                 "250 2.0.0 Ok: queued as t1-1\r\n"
	                                 "221 2.0.0 Bye\r\n",
	         "EHLO c\r\nSTARTTLS\r\n",
	         "MAIL FROM:<>\r\nEHLO c2\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\n"
	         "RCPT TO:<alice@example.org>\r\nDATA\r\nsecure\r\n.\r\n"
	         "QUIT\r\n");
	char *msg = read_latest(alice_mbox, &len);
	check_message(msg, len,
	              "Return-Path: <a@b.example>\r\n"
	              "Received: from c2 ([192.0.2.1])\r\n"
	              "\t(using TLSv1.3 TEST-CIPHER)\r\n"
	              "\tby mail.example.org (postlite) with ESMTPS id t1-1\r\n"
	              "\tfor <alice@example.org>; ",
	              "secure\r\n", 8);
	free(msg);

	/* STARTTLS injection: commands pipelined behind STARTTLS in the same
	 * read are never executed (fed whole only: byte by byte they would
	 * legitimately arrive after the handshake). */
	struct dlg d;
	static const char inj[] = "EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\n"
	                          "RCPT TO:<alice@example.org>\r\n";
	dlg_open(&d, &cfg);
	dlg_feed(&d, inj, sizeof inj - 1, false);
	dlg_feed(&d, "RCPT TO:<alice@example.org>\r\n", 29, false);
	static const char want[] = GREETING EHLO_REPLY_TLS
		"220 2.0.0 Ready to start TLS\r\n"
		"503 5.5.1 Send HELO/EHLO first\r\n";
	CHECK_MEM(d.io.out.data, d.io.out.len, want);
	dlg_close(&d);
}

static void test_submission(void)
{
	struct smtp_session_cfg cfg = base_cfg();

	/* 587: TLS first, then AUTH (tested in test_auth). */
	cfg.kind = SMTP_LISTENER_SUBMISSION;
	cfg.tls_available = true;
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY_TLS
	         "530 5.7.0 Must issue a STARTTLS command first\r\n"
	         "252 2.0.0 Cannot VRFY user; try RCPT to attempt "
	         "delivery\r\n"
	         "250 2.0.0 Ok\r\n"
	         "220 2.0.0 Ready to start TLS\r\n" EHLO_REPLY_AUTH
	         "530 5.7.0 Authentication required\r\n"
	         "503 5.5.1 Need MAIL before RCPT\r\n"
	         "221 2.0.0 Bye\r\n",
	         "EHLO c\r\nMAIL FROM:<a@b.example>\r\nVRFY alice\r\nNOOP\r\n"
	         "STARTTLS\r\n",
	         "EHLO c\r\nMAIL FROM:<a@b.example>\r\n"
	         "RCPT TO:<alice@example.org>\r\nQUIT\r\n");
	/* 465: TLS from the start. */
	cfg.kind = SMTP_LISTENER_SUBMISSIONS;
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY_AUTH
	         "530 5.7.0 Authentication required\r\n"
	         "503 5.5.1 TLS already active\r\n",
	         "EHLO c\r\nMAIL FROM:<a@b.example>\r\nSTARTTLS\r\n");
}

/* SMTP smuggling in a real session: one reply after the real terminator,
 * nothing stored, and the session goes on. */
static void test_smuggling(void)
{
	static const struct {
		const char *p;
		size_t n;
	} fake[] = {
		{"\n.\n", 3},       {"\n.\r\n", 4},   {"\r.\n", 3},
		{"\r.\r\n", 4},     {"\r\n.\n", 4},   {"\r\n.\r", 4},
		{"\r\n.\r\r\n", 6}, {"\r\n\0.\r\n", 6}, {"\r\n.\0\r\n", 6},
	};
	static const char head[] = "EHLO c\r\nMAIL FROM:<a@b.example>\r\n"
	                           "RCPT TO:<alice@example.org>\r\nDATA\r\n"
	                           "Subject: x\r\n\r\nbody";
	static const char tail[] = "MAIL FROM:<ceo@example.org>\r\n"
	                           "RCPT TO:<alice@example.org>\r\nDATA\r\n"
	                           "Subject: smuggled\r\n\r\nevil\r\n"
	                           "\r\n.\r\nNOOP\r\n";
	struct smtp_session_cfg cfg = base_cfg();
	size_t before = mailbox_count(alice_mbox);
	char in[512];

	for (size_t i = 0; i < sizeof fake / sizeof fake[0]; i++) {
		size_t n = 0;
		memcpy(in, head, sizeof head - 1);
		n += sizeof head - 1;
		memcpy(in + n, fake[i].p, fake[i].n);
		n += fake[i].n;
		memcpy(in + n, tail, sizeof tail - 1);
		n += sizeof tail - 1;
		dialogue_bytes(&cfg, in, n,
		               GREETING EHLO_REPLY
		               "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		               "354 End data with <CR><LF>.<CR><LF>\r\n"
		               "554 5.6.0 Message refused: bare CR, bare LF or "
		               "NUL in message\r\n"
		               "250 2.0.0 Ok\r\n");
	}
	CHECK_INT(mailbox_count(alice_mbox), before);
}

/* A body of n octets in lines of 78 with CRLF; every 7th line starts with
 * a dot (stuffed on the wire). Writes the wire form and the stored form. */
static void make_body(size_t lines, struct buf *wire, struct buf *stored)
{
	char line[80];
	for (size_t i = 0; i < lines; i++) {
		memset(line, 'a' + (int)(i % 26), 78);
		if (i % 7 == 3)
			line[0] = '.';
		if (line[0] == '.')
			buf_append(wire, ".", 1);
		buf_append(wire, line, 78);
		buf_append(wire, "\r\n", 2);
		buf_append(stored, line, 78);
		buf_append(stored, "\r\n", 2);
	}
}

static void test_size(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	size_t before = mailbox_count(alice_mbox), len;
	struct buf wire, stored, in;

	/* RFC 1870: SIZE= over the limit at MAIL; a body over it at the end. */
	cfg.max_message_size = 100;
	DIALOGUE(&cfg,
	         GREETING "250-mail.example.org\r\n250-PIPELINING\r\n"
	                  "250-SIZE 100\r\n250-8BITMIME\r\n"
	                  "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
	                  "250 CHUNKING\r\n"
	                  "552 5.3.4 Message size exceeds fixed limit\r\n"
	                  "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                  "354 End data with <CR><LF>.<CR><LF>\r\n"
	                  "552 5.3.4 Message size exceeds fixed limit\r\n"
	                  "250 2.0.0 Ok\r\n",
	         "EHLO c\r\nMAIL FROM:<> SIZE=101\r\nMAIL FROM:<> SIZE=100\r\n"
	         "RCPT TO:<alice@example.org>\r\nDATA\r\n",
	         "0123456789012345678901234567890123456789012345678901234567890"
	         "123456789\r\n0123456789012345678901234567890123456789\r\n"
	         ".\r\nNOOP\r\n");
	CHECK_INT(mailbox_count(alice_mbox), before);

	/* Big bodies stream in pieces: one over the limit after several
	 * pieces went to the store (aborted), one within it (stored
	 * exactly). */
	buf_init(&wire, 8 * 1024 * 1024);
	buf_init(&stored, 8 * 1024 * 1024);
	buf_init(&in, 8 * 1024 * 1024);
	make_body(3000, &wire, &stored); /* 240 KB */
	buf_puts(&in, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n"
	              "DATA\r\n");
	buf_append(&in, wire.data, wire.len);
	buf_puts(&in, ".\r\nQUIT\r\n");
	buf_append(&in, "", 1);
	cfg.max_message_size = 100 * 1024;
	DIALOGUE(&cfg,
	         GREETING "250-mail.example.org\r\n250-PIPELINING\r\n"
	                  "250-SIZE 102400\r\n250-8BITMIME\r\n"
	                  "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
	                  "250 CHUNKING\r\n"
	                  "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                  "354 End data with <CR><LF>.<CR><LF>\r\n"
	                  "552 5.3.4 Message size exceeds fixed limit\r\n"
	                  "221 2.0.0 Bye\r\n",
	         in.data);
	CHECK_INT(mailbox_count(alice_mbox), before);
	cfg.max_message_size = 1024 * 1024;
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                             "354 End data with <CR><LF>.<CR><LF>\r\n"
	                             "250 2.0.0 Ok: queued as t1-1\r\n"
	                             "221 2.0.0 Bye\r\n",
	         in.data);
	CHECK_INT(mailbox_count(alice_mbox), before + 2);
	char *msg = read_latest(alice_mbox, &len);
	check_message(msg, len,
	              "Return-Path: <>\r\n"
	              "Received: from c ([192.0.2.1])\r\n"
	              "\tby mail.example.org (postlite) with ESMTP id t1-1\r\n"
	              "\tfor <alice@example.org>; ",
	              stored.data, stored.len);
	free(msg);
	buf_free(&wire);
	buf_free(&stored);
	buf_free(&in);
}

static void test_errors_and_junk(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	char in[256] = "", out[1024] = GREETING;

	/* STYLE.md 14: ten bad commands, then 421 and close. */
	for (int i = 0; i < 10; i++) {
		strcat(in, "XYZZY\r\n");
		strcat(out, "500 5.5.1 Command unrecognized\r\n");
	}
	strcat(in, "NOOP\r\n");
	strcat(out, "421 4.7.0 mail.example.org Error: too many errors\r\n");
	DIALOGUE(&cfg, out, in);

	DIALOGUE(&cfg,
	         GREETING "500 5.5.1 This is an SMTP server, not HTTP\r\n",
	         "GET / HTTP/1.1\r\nHost: mail.example.org\r\n\r\n");
	DIALOGUE(&cfg,
	         GREETING EHLO_REPLY
	         "500 5.5.1 This is an SMTP server, not HTTP\r\n",
	         "EHLO c\r\nPOST /submit HTTP/1.1\r\nNOOP\r\n");

	DIALOGUE(&cfg,
	         GREETING "252 2.0.0 Cannot VRFY user; try RCPT to attempt "
	                  "delivery\r\n"
	                  "501 5.5.4 Syntax: VRFY address\r\n"
	                  "502 5.5.1 EXPN not available\r\n"
	                  "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT "
	                  "RSET NOOP QUIT VRFY HELP\r\n",
	         "VRFY alice\r\nVRFY\r\nEXPN staff\r\nHELP\r\n");
}

static void test_timeout(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	struct dlg d;

	dlg_open(&d, &cfg);
	dlg_feed(&d, "EHLO c\r\n", 8, false);
	smtp_session_timeout(d.s);
	CHECK_MEM(d.io.out.data, d.io.out.len,
	          GREETING EHLO_REPLY
	          "421 4.4.2 mail.example.org Error: timeout exceeded\r\n");
	/* nothing more is processed or written */
	buf_puts(&d.in, "NOOP\r\n");
	smtp_session_input(d.s);
	smtp_session_timeout(d.s);
	CHECK_MEM(d.io.out.data, d.io.out.len,
	          GREETING EHLO_REPLY
	          "421 4.4.2 mail.example.org Error: timeout exceeded\r\n");
	dlg_close(&d);
}

/* The connection goes away while a job is in flight, or mid-DATA with a
 * message begun in the store: the session is freed by the job completion
 * (ASan reports a leak or a use after free otherwise) and writes
 * nothing. */
static void test_closed_in_flight(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	size_t before = mailbox_count(alice_mbox);
	static const char data_cmds[] = "EHLO c\r\nMAIL FROM:<>\r\n"
	                                "RCPT TO:<alice@example.org>\r\nDATA\r\n";
	struct buf wire, stored;
	struct dlg d;

	dlg_open(&d, &cfg);
	buf_puts(&d.in, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\n");
	smtp_session_input(d.s); /* the lookup is queued, not run */
	CHECK_INT(d.in.len, 0);
	d.io.gone = true;
	smtp_session_closed(d.s);
	CHECK_INT(runner_inline_drain(&d.ri), 1);
	CHECK(!d.io.bad_write);
	buf_free(&d.in);
	buf_free(&d.io.out);

	buf_init(&wire, 1024 * 1024);
	buf_init(&stored, 1024 * 1024);
	make_body(2000, &wire, &stored); /* 160 KB: several pieces */

	/* (a) closed while idle mid-DATA, pieces already stored */
	dlg_open(&d, &cfg);
	dlg_feed(&d, data_cmds, sizeof data_cmds - 1, false);
	dlg_feed(&d, wire.data, wire.len, false);
	dlg_close(&d); /* aborts the begun message, then frees */

	/* (b) closed while an APPEND job is in flight */
	dlg_open(&d, &cfg);
	dlg_feed(&d, data_cmds, sizeof data_cmds - 1, false);
	size_t pos = 0;
	while (pos < wire.len) {
		size_t k = buf_room(&d.in);
		if (k > wire.len - pos)
			k = wire.len - pos;
		if (k == 0)
			break; /* the session waits for its job */
		buf_append(&d.in, wire.data + pos, k);
		pos += k;
		smtp_session_input(d.s);
	}
	d.io.gone = true;
	smtp_session_closed(d.s);
	CHECK(runner_inline_drain(&d.ri) >= 2); /* append, then abort */
	CHECK(!d.io.bad_write);
	buf_free(&d.in);
	buf_free(&d.io.out);

	CHECK_INT(mailbox_count(alice_mbox), before);
	buf_free(&wire);
	buf_free(&stored);
}

/* A worker without a store (store_open failed in its thread): every job
 * reports TEMPFAIL and the client is told to come back later (4xx). */
static void test_store_unavailable(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	struct dlg d;
	static const char in[] = "EHLO c\r\nMAIL FROM:<>\r\n"
	                         "RCPT TO:<alice@example.org>\r\nQUIT\r\n";

	dlg_open(&d, &cfg);
	d.ri.wctx = NULL;
	dlg_feed(&d, in, sizeof in - 1, false);
	CHECK_MEM(d.io.out.data, d.io.out.len,
	          GREETING EHLO_REPLY "250 2.1.0 Ok\r\n"
	          "451 4.3.0 Temporary failure, try again later\r\n"
	          "221 2.0.0 Bye\r\n");
	dlg_close(&d);
}

/* BDAT streams like DATA: a message of many pieces in chunks of odd
 * sizes, stored exactly, the session's input buffer never overflowing. */
static void test_bdat_stream(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	struct buf body, stored, in;
	size_t before = mailbox_count(bob_mbox), len;
	char cmd[64];

	buf_init(&body, 8 * 1024 * 1024);
	buf_init(&stored, 8 * 1024 * 1024);
	buf_init(&in, 8 * 1024 * 1024);
	make_body(4000, &stored, &body); /* 320 KB, dots unstuffed */
	buf_puts(&in, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\n");
	size_t pos = 0, sizes[] = {1, 70000, 3, 65536, 100000};
	for (size_t i = 0; pos < body.len; i++) {
		size_t k = sizes[i % 5];
		if (k > body.len - pos)
			k = body.len - pos;
		bool last = pos + k == body.len;
		snprintf(cmd, sizeof cmd, "BDAT %zu%s\r\n", k,
		         last ? " LAST" : "");
		buf_puts(&in, cmd);
		buf_append(&in, body.data + pos, k);
		pos += k;
	}
	buf_puts(&in, "QUIT\r\n");
	struct dlg d;
	dlg_open(&d, &cfg);
	dlg_feed(&d, in.data, in.len, false);
	CHECK(d.io.out.len > 0 &&
	      memmem(d.io.out.data, d.io.out.len, "250 2.0.0 Ok: queued as t1-1",
	             28) != NULL);
	CHECK(memmem(d.io.out.data, d.io.out.len, "221 2.0.0 Bye", 13) != NULL);
	dlg_close(&d);
	CHECK_INT(mailbox_count(bob_mbox), before + 1);
	char *msg = read_latest(bob_mbox, &len);
	check_message(msg, len,
	              "Return-Path: <>\r\n"
	              "Received: from c ([192.0.2.1])\r\n"
	              "\tby mail.example.org (postlite) with ESMTP id t1-1\r\n"
	              "\tfor <bob@example.org>; ",
	              body.data, body.len);
	free(msg);
	buf_free(&body);
	buf_free(&stored);
	buf_free(&in);
}

/* Bodies go to the store in pieces of exactly STORE_CHUNK_SIZE; the few
 * bytes the decoder emits past that (a CRLF it does not split) start the
 * next piece. Every alignment of a line end against the piece boundary,
 * by DATA (dot-stuffed) and by BDAT, arrives byte for byte. */
static void test_piece_boundaries(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	struct buf wire, stored, in;
	size_t len;
	char cmd[64];

	buf_init(&wire, 1024 * 1024);
	buf_init(&stored, 1024 * 1024);
	buf_init(&in, 1024 * 1024);
	for (size_t first = 0; first < 80; first++) {
		for (int bdat = 0; bdat < 2; bdat++) {
			buf_reset(&wire);
			buf_reset(&stored);
			buf_reset(&in);
			/* A first line of `first` bytes shifts the 80-byte
			 * lines of make_body across the boundary. */
			for (size_t i = 0; i < first; i++) {
				buf_append(&wire, "x", 1);
				buf_append(&stored, "x", 1);
			}
			buf_append(&wire, "\r\n", 2);
			buf_append(&stored, "\r\n", 2);
			make_body(900, &wire, &stored); /* 72 KB */
			buf_puts(&in, "EHLO c\r\nMAIL FROM:<>\r\n"
			              "RCPT TO:<bob@example.org>\r\n");
			if (bdat) {
				snprintf(cmd, sizeof cmd, "BDAT %zu LAST\r\n",
				         stored.len);
				buf_puts(&in, cmd);
				buf_append(&in, stored.data, stored.len);
			} else {
				buf_puts(&in, "DATA\r\n");
				buf_append(&in, wire.data, wire.len);
				buf_puts(&in, ".\r\n");
			}
			struct dlg d;
			dlg_open(&d, &cfg);
			dlg_feed(&d, in.data, in.len, false);
			CHECK(memmem(d.io.out.data, d.io.out.len,
			             "250 2.0.0 Ok: queued as t1-1", 28) != NULL);
			dlg_close(&d);
			char *msg = read_latest(bob_mbox, &len);
			check_message(msg, len,
			              "Return-Path: <>\r\n"
			              "Received: from c ([192.0.2.1])\r\n"
			              "\tby mail.example.org (postlite) with ESMTP "
			              "id t1-1\r\n"
			              "\tfor <bob@example.org>; ",
			              stored.data, stored.len);
			free(msg);
		}
	}
	buf_free(&wire);
	buf_free(&stored);
	buf_free(&in);
}

/* A clock that records its pauses and leaves the job pending. */
struct ttimer {
	struct clock base;
	struct job *j;
	unsigned ms;
};

static time_t ttimer_now(struct clock *t)
{
	(void)t;
	return 1767225600;
}

static void ttimer_start(struct clock *t, struct job *j, unsigned ms)
{
	struct ttimer *tt = (struct ttimer *)t;
	tt->j = j;
	tt->ms = ms;
}

/* The connection goes away while a password check or the pause after a
 * failure is pending: no write, the session freed by the job's end (ASan
 * sees a leak or a use after free otherwise). */
static void test_auth_closed_in_flight(void)
{
	struct smtp_session_cfg cfg = base_cfg();
	struct ttimer tt = {.base = {.now = ttimer_now, .delay = ttimer_start}};
	struct smtp_env env = {.clock = &tt.base};
	struct dlg d;

	cfg.kind = SMTP_LISTENER_SUBMISSIONS;
	cfg.auth_fail_delay_ms = 250;
	cfg.env = &env;
	/* closed with the check queued */
	dlg_open(&d, &cfg);
	buf_puts(&d.in, "EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n\r\n");
	smtp_session_input(d.s);
	d.io.gone = true;
	smtp_session_closed(d.s);
	CHECK_INT(runner_inline_drain(&d.ri), 1);
	CHECK(tt.j == NULL); /* no pause for a closed session */
	buf_free(&d.in);
	buf_free(&d.io.out);

	/* closed during the pause after a failure */
	dlg_open(&d, &cfg);
	buf_puts(&d.in, "EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n\r\n"
	                "NOOP\r\n");
	smtp_session_input(d.s);
	CHECK_INT(runner_inline_drain(&d.ri), 1);
	CHECK(tt.j != NULL);
	CHECK_INT(tt.ms, 250);
	d.io.gone = true;
	smtp_session_closed(d.s);
	tt.j->done(tt.j); /* the timer ends: frees the session */
	CHECK(!d.io.bad_write);
	buf_free(&d.in);
	buf_free(&d.io.out);

	/* the pause, then the reply and the pipelined NOOP */
	tt.j = NULL;
	dlg_open(&d, &cfg);
	buf_puts(&d.in, "EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n\r\n"
	                "NOOP\r\n");
	smtp_session_input(d.s);
	runner_inline_drain(&d.ri);
	CHECK(tt.j != NULL);
	CHECK(memmem(d.io.out.data, d.io.out.len, "535", 3) == NULL);
	tt.j->done(tt.j);
	CHECK_MEM(d.io.out.data, d.io.out.len,
	          GREETING EHLO_REPLY_AUTH
	          "535 5.7.8 Authentication credentials invalid\r\n"
	          "250 2.0.0 Ok\r\n");
	dlg_close(&d);
}

/* The input buffer keeps no copy of a pipelined AUTH PLAIN's credentials
 * once its lines are consumed (the session wipes its line copy too). */
static void test_auth_wipes_input(void)
{
	/* base64 of "\0alice@example.org\0alice-secret-pw" */
	static const char cred[] =
	        "AGFsaWNlQGV4YW1wbGUub3JnAGFsaWNlLXNlY3JldC1wdw==";
	struct smtp_session_cfg cfg = base_cfg();
	struct dlg d;

	cfg.kind = SMTP_LISTENER_SUBMISSIONS;
	dlg_open(&d, &cfg);
	/* A long first line: consuming it moves the AUTH line to the front,
	 * leaving a copy behind the new end unless that is wiped too. */
	buf_puts(&d.in, "EHLO client-with-a-rather-long-name.example.org"
	                ".example.org.example.org\r\nAUTH PLAIN ");
	buf_puts(&d.in, cred);
	buf_puts(&d.in, "\r\nNOOP\r\n");
	smtp_session_input(d.s);
	while (runner_inline_drain(&d.ri) > 0)
		;
	CHECK(memmem(d.io.out.data, d.io.out.len, "235 2.7.0", 9) != NULL);
	CHECK(memmem(d.io.out.data, d.io.out.len, "250 2.0.0 Ok", 12) !=
	      NULL);
	CHECK_INT(d.in.len, 0);
	CHECK(memmem(d.in.data, d.in.cap, cred, 8) == NULL);
	dlg_close(&d);
}

int main(void)
{
	char err[256];

	log_set_level(getenv("T_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	if (store_open(":memory:", &st, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	CHECK_INT(store_domain_add(st, "example.org"), STORE_OK);
	CHECK_INT(store_user_add(st, "alice@example.org", "alice-secret-pw"),
	          STORE_OK);
	CHECK_INT(store_user_add(st, "bob@example.org", "bob-secret-pw-2"),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "alice@example.org", &alice_mbox),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(st, "bob@example.org", &bob_mbox), STORE_OK);

	test_greeting();
	test_happy_path();
	test_auth_wipes_input();
	test_recipients();
	test_pipelining();
	test_rset_noop_quit();
	test_sequence();
	test_line_limits();
	test_starttls();
	test_submission();
	test_smuggling();
	test_size();
	test_errors_and_junk();
	test_timeout();
	test_closed_in_flight();
	test_store_unavailable();
	test_bdat_stream();
	test_piece_boundaries();
	test_auth_closed_in_flight();

	store_close(st);
	return t_done("smtp_session");
}
