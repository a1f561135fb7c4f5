/* Fuzzes the SMTP session state machine (smtpd/smtp_session.c and
 * smtp_cmd_*.c) as a client would: the input is a dialogue, delivered in
 * chunks, against a fresh in-memory store (domain example.org, users
 * alice and bob) through the fake I/O layer of fuzz_session.h.
 *
 * Input: byte 0 is the setup (bits 0-1 listener: MX, submission,
 * submissions, MX; bit 2 a certificate is loaded; bit 3 the STARTTLS
 * handshake fails; bit 4 output counts 4096-fold against the high-water
 * mark; bit 5 the idle timeout fires at the end; bit 6 small limits:
 * 1000-octet messages, 2 recipients; bit 7 the peer is on loopback).
 * Byte 1 picks the chunking (0 mod 4: as much as fits, 1: byte by byte,
 * 2: line by line, 3: random sizes seeded by it). Byte 2 sets up the
 * shared services (struct smtp_env): bit 0 plaintext AUTH allowed on
 * loopback; bit 1 a 100 ms failed-AUTH delay through the timer queue;
 * bit 2 password checks on their own runner; bit 3 a connection table,
 * and with bit 4 this address already has its one allowed connection (the
 * session must say 421 and go); bit 5 an AUTH-failure throttle; bit 6
 * unused. The rest is what the client sends.
 *
 * Properties, beyond no crash, leak or sanitizer report: the I/O contract
 * of fuzz_session.h, and every byte written is part of a well-formed reply
 * (RFC 5321 4.2: three digits 2xx-5xx, SP or "-", text without control
 * bytes, CRLF, at most 512 octets; the lines of a multi-line reply share
 * their code); the connection table counts the session exactly once. */
#include <stdbool.h>
#include <string.h>

#include "fuzz_session.h"
#include "log.h"
#include "clients.h"
#include "smtp_session.h"
#include "store.h"
#include "throttle.h"

/* ---- reply syntax --------------------------------------------------- */

struct replies {
	size_t col;   /* bytes of the current line so far */
	bool cr;      /* a CR was seen: LF must follow */
	char code[3]; /* the current line's code */
	bool cont;    /* the previous line ended a "-" line */
	char prev[3]; /* and its code */
};

static void check_reply_bytes(void *arg, const char *p, size_t n)
{
	struct replies *r = arg;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (r->cr) {
			FUZZ_CHECK(c == '\n'); /* no bare CR */
			r->cr = false;
			r->col = 0;
			continue;
		}
		if (c == '\r') {
			FUZZ_CHECK(r->col >= 3);
			if (r->col == 3)
				r->cont = false; /* "250" CRLF ends a reply */
			r->cr = true;
			continue;
		}
		FUZZ_CHECK(c != '\n'); /* no bare LF */
		if (r->col < 3) {
			FUZZ_CHECK(c >= '0' && c <= '9');
			if (r->col == 0)
				FUZZ_CHECK(c >= '2' && c <= '5');
			r->code[r->col] = (char)c;
		} else if (r->col == 3) {
			FUZZ_CHECK(c == ' ' || c == '-');
			/* RFC 5321 4.2.1: one code for all lines of a reply */
			if (r->cont)
				FUZZ_CHECK(memcmp(r->code, r->prev, 3) == 0);
			r->cont = c == '-';
			memcpy(r->prev, r->code, 3);
		} else {
			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
		}
		r->col++;
		FUZZ_CHECK(r->col <= 510); /* 4.5.3.1.5: 512 with CRLF */
	}
}

/* ---- session glue ---------------------------------------------------- */

static void op_input(void *s)
{
	smtp_session_input(s);
}

static void op_tls_ready(void *s)
{
	smtp_session_tls_ready(s);
}

static void op_timeout(void *s)
{
	smtp_session_timeout(s);
}

static void op_closed(void *s)
{
	smtp_session_closed(s);
}

static struct store *make_store(void)
{
	struct store *st = NULL;
	char err[256];
	FUZZ_CHECK(store_open(":memory:", &st, err, sizeof err) == STORE_OK);
	FUZZ_CHECK(store_domain_add(st, "example.org") == STORE_OK);
	FUZZ_CHECK(store_user_add(st, "alice@example.org", "alice-pw") ==
	           STORE_OK);
	FUZZ_CHECK(store_user_add(st, "bob@example.org", "bob-pw") == STORE_OK);
	return st;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	uint8_t setup = fuzz_take(&data, &size);
	uint8_t chunking = fuzz_take(&data, &size);
	uint8_t envb = fuzz_take(&data, &size);
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, chunking);

	static const enum smtp_listener kinds[4] = {
	    SMTP_LISTENER_MX, SMTP_LISTENER_SUBMISSION,
	    SMTP_LISTENER_SUBMISSIONS, SMTP_LISTENER_MX};
	bool small = setup & 0x40;
	struct store *st = make_store();
	struct runner_inline ri, auth_ri;
	runner_inline_init(&ri, st);
	runner_inline_init(&auth_ri, st);
	struct clock_manual timer;
	clock_manual_init(&timer, FZ_CLOCK_START);
	struct throttle *thr = (envb & 0x20) ? throttle_new(16, 3, 60) : NULL;
	const char *ip = (setup & 0x80) ? "127.0.0.1" : "192.0.2.1";
	/* The I/O layer's count at accept: another connection from ip
	 * already holds the one place per address. */
	enum clients_result over = (envb & 0x08) && (envb & 0x10)
	                                   ? CLIENTS_TOO_MANY_ADDR
	                                   : CLIENTS_OK;
	struct smtp_env env = {
	    .auth = (envb & 0x04) ? &auth_ri.r : NULL,
	    .clock = &timer.c,
	    .throttle = thr,
	};
	struct smtp_session_cfg cfg = {
	    .hostname = "mail.example.org",
	    .max_message_size = small ? 1000 : 1024 * 1024,
	    .max_recipients = small ? 2 : 100,
	    .kind = kinds[setup & 3],
	    .tls_available = setup & 0x04,
	    .plaintext_auth_loopback = envb & 0x01,
	    .timeout = 300,
	    .auth_fail_delay_ms = (envb & 0x02) ? 100 : 0,
	    .env = &env,
	};
	struct session_peer peer = {
	    .sid = "fuzz",
	    .ip = ip,
	    .rdns = NULL,
	    .local_loopback = setup & 0x80,
	    .tls = cfg.kind == SMTP_LISTENER_SUBMISSIONS,
	    .over_limit = over,
	};

	struct replies rep = {0};
	const struct fz_ops ops = {
	    .input = op_input,
	    .tls_ready = op_tls_ready,
	    .drain = NULL, /* smtpd_main's on_drain does nothing */
	    .timeout = op_timeout,
	    .closed = op_closed,
	    .check_out = check_reply_bytes,
	    .check_arg = &rep,
	};
	struct fz_conn c = {
	    .ops = &ops,
	    .runners = {&ri, &auth_ri},
	    .timers = &timer,
	    .scale = (setup & 0x10) ? 4096 : 1,
	    .tls_available = cfg.tls_available,
	    .tls_fail = setup & 0x08,
	    .in_tls = peer.tls,
	};
	buf_init(&c.in, FZ_IN_MAX);
	c.s = smtp_session_new(&cfg, &peer, &fz_io, &c, &ri.r, &c.in);
	FUZZ_CHECK(c.s != NULL);
	smtp_session_start(c.s);
	fz_pump(&c, false);

	fz_feed(&c, data, size, chunking % 4, &rng);
	fz_finish(&c, setup & 0x20);
	FUZZ_CHECK(!rep.cr && rep.col == 0); /* replies end with CRLF */
	throttle_free(thr);
	store_close(st);
	return 0;
}
