/* The SMTP client state machine against scripted servers: every dialog is
 * fed whole and one byte at a time; the commands it writes are compared
 * with the transcript. */
#include <stdlib.h>
#include <string.h>

#include "smtpc.h"
#include "t.h"

struct fake {
	struct buf out;    /* what the client wrote */
	struct buf in;     /* server bytes not yet consumed */
	int starttls, body, done;
	int starttls_rc;
	struct smtpc *s;
};

static void f_write(void *ctx, const void *p, size_t n)
{
	struct fake *f = ctx;
	buf_append(&f->out, p, n);
}

static int f_starttls(void *ctx)
{
	struct fake *f = ctx;
	f->starttls++;
	return f->starttls_rc;
}

static void f_body(void *ctx)
{
	struct fake *f = ctx;
	f->body++;
	const char msg[] = "Subject: x\r\n\r\n.hidden\r\nend";
	struct smtpc_stuff st;
	struct buf b;
	buf_init(&b, 1024);
	smtpc_stuff_init(&st, true);
	smtpc_stuff(&st, msg, sizeof msg - 1, &b);
	smtpc_stuff_end(&st, &b);
	f_write(ctx, b.data, b.len);
	buf_free(&b);
	smtpc_body_end(f->s);
}

static void f_done(void *ctx)
{
	struct fake *f = ctx;
	f->done++;
}

static const struct smtpc_ops ops = {f_write, f_starttls, f_body, f_done};

/* Runs a dialog: server replies (one string, fed whole or bytewise). */
static void run(struct smtpc *s, struct fake *f, const struct smtpc_cfg *cfg,
                struct smtpc_rcpt *r, size_t n, const char *server,
                bool bytewise)
{
	memset(f, 0, sizeof *f);
	buf_init(&f->out, 1 << 16);
	buf_init(&f->in, 4096);
	f->s = s;
	smtpc_init(s, cfg, r, n, &ops, f);
	size_t len = strlen(server);
	for (size_t i = 0; i < len;) {
		size_t k = bytewise ? 1 : len - i;
		/* "|" in a script marks where the TLS handshake happens. */
		if (server[i] == '|') {
			smtpc_tls_ready(s);
			i++;
			continue;
		}
		const char *bar = memchr(server + i, '|', k);
		if (bar)
			k = (size_t)(bar - (server + i));
		buf_append(&f->in, server + i, k);
		i += k;
		smtpc_input(s, &f->in);
	}
}

static void t_pipelined(bool bytewise)
{
	struct smtpc s;
	struct fake f;
	struct smtpc_rcpt r[3] = {{.addr = "a@x.test"}, {.addr = "b@x.test"},
	                          {.addr = "c@x.test"}};
	struct smtpc_cfg cfg = {.helo = "me.test", .sender = "s@me.test",
	                        .size = 100, .eightbit = true,
	                        .tls = SMTPC_TLS_OPPORTUNISTIC};
	run(&s, &f, &cfg, r, 3,
	    "220 mx ESMTP\r\n"
	    "250-mx\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
	    "250 STARTTLS\r\n"
	    "220 go\r\n|"
	    "250-mx\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
	    "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n"
	    "451 4.3.0 later\r\n354 go\r\n250 2.0.0 queued\r\n221 bye\r\n",
	    bytewise);
	CHECK_MEM(f.out.data, f.out.len,
	          "EHLO me.test\r\nSTARTTLS\r\nEHLO me.test\r\n"
	          "MAIL FROM:<s@me.test> SIZE=100 BODY=8BITMIME\r\n"
	          "RCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n"
	          "RCPT TO:<c@x.test>\r\nDATA\r\n"
	          "Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\nQUIT\r\n");
	CHECK_INT(f.starttls, 1);
	CHECK_INT(f.body, 1);
	CHECK_INT(f.done, 1);
	CHECK_INT(r[0].result, SMTPC_OK);
	CHECK_STR(r[0].text, "250 2.0.0 queued");
	CHECK_INT(r[1].result, SMTPC_PERM);
	CHECK_INT(r[1].code, 550);
	CHECK_STR(r[1].text, "550 5.1.1 no such user");
	CHECK_INT(r[2].result, SMTPC_TEMP);
	CHECK(!r[2].next_host);
	buf_free(&f.out);
	buf_free(&f.in);
}

static void t_plain_lockstep(bool bytewise)
{
	struct smtpc s;
	struct fake f;
	struct smtpc_rcpt r[2] = {{.addr = "a@x.test"}, {.addr = "b@x.test"}};
	struct smtpc_cfg cfg = {.helo = "me.test", .sender = "",
	                        .size = 10, .tls = SMTPC_TLS_NO};
	/* No PIPELINING: one command per reply. EHLO refused -> HELO. */
	run(&s, &f, &cfg, r, 2,
	    "220-mx\r\n220 welcome\r\n500 what\r\n250 mx\r\n250 ok\r\n"
	    "250 ok\r\n250 ok\r\n354 go\r\n452 4.3.1 full\r\n221 bye\r\n",
	    bytewise);
	CHECK_MEM(f.out.data, f.out.len,
	          "EHLO me.test\r\nHELO me.test\r\nMAIL FROM:<>\r\n"
	          "RCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
	          "Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\nQUIT\r\n");
	CHECK_INT(r[0].result, SMTPC_TEMP);
	CHECK_INT(r[1].result, SMTPC_TEMP);
	CHECK_INT(r[1].code, 452);
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);
}

static void t_fail_paths(void)
{
	struct smtpc s;
	struct fake f;
	struct smtpc_rcpt r[1] = {{.addr = "a@x.test"}};
	struct smtpc_cfg cfg = {.helo = "h", .sender = "s@h", .size = 5000,
	                        .tls = SMTPC_TLS_OPPORTUNISTIC};

	/* 554 greeting: temporary, another host may do. */
	run(&s, &f, &cfg, r, 1, "554 go away\r\n221 bye\r\n", false);
	CHECK_INT(r[0].result, SMTPC_TEMP);
	CHECK(r[0].next_host);
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);

	/* SIZE too small: permanent, nothing sent. */
	run(&s, &f, &cfg, r, 1, "220 x\r\n250-x\r\n250 SIZE 1000\r\n221 b\r\n",
	    false);
	CHECK_INT(r[0].result, SMTPC_PERM);
	CHECK_MEM(f.out.data, f.out.len, "EHLO h\r\nQUIT\r\n");
	buf_free(&f.out);
	buf_free(&f.in);

	/* TLS required but not offered: temporary. */
	cfg.tls = SMTPC_TLS_REQUIRED;
	cfg.size = 10;
	run(&s, &f, &cfg, r, 1, "220 x\r\n250 x\r\n221 b\r\n", false);
	CHECK_INT(r[0].result, SMTPC_TEMP);
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);

	/* 421 in the middle: the session ends at once. */
	cfg.tls = SMTPC_TLS_NO;
	run(&s, &f, &cfg, r, 1, "220 x\r\n250 x\r\n421 4.3.2 shutting down\r\n",
	    false);
	CHECK_INT(r[0].result, SMTPC_TEMP);
	CHECK(r[0].next_host);
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);

	/* Malformed reply, then an abort is a no-op. */
	run(&s, &f, &cfg, r, 1, "220 x\r\nhello\r\n", false);
	CHECK_INT(r[0].result, SMTPC_TEMP);
	CHECK_INT(f.done, 1);
	smtpc_abort(&s, "closed");
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);

	/* Connection lost after RCPT: the accepted one is not done. */
	run(&s, &f, &cfg, r, 1, "220 x\r\n250 x\r\n250 ok\r\n250 ok\r\n",
	    false);
	smtpc_abort(&s, "connection closed");
	CHECK_INT(r[0].result, SMTPC_TEMP);
	CHECK(r[0].next_host);
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);

	/* 250 to DATA, lockstep and pipelined: no body went, so nothing
	 * was delivered. */
	for (int piped = 0; piped < 2; piped++) {
		run(&s, &f, &cfg, r, 1, piped ?
		    "220 x\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n"
		    "250 ok\r\n250 taken\r\n221 b\r\n" :
		    "220 x\r\n250 x\r\n250 ok\r\n250 ok\r\n250 taken\r\n"
		    "221 b\r\n", false);
		CHECK_INT(f.body, 0);
		CHECK_INT(r[0].result, SMTPC_TEMP);
		CHECK_INT(r[0].code, 250);
		CHECK_INT(f.done, 1);
		buf_free(&f.out);
		buf_free(&f.in);
	}

	/* MAIL refused, pipelined: everyone gets MAIL's answer. */
	run(&s, &f, &cfg, r, 1,
	    "220 x\r\n250-x\r\n250 PIPELINING\r\n553 5.7.1 sender refused\r\n"
	    "503 5.5.1 no\r\n503 5.5.1 no\r\n221 b\r\n", true);
	CHECK_INT(r[0].result, SMTPC_PERM);
	CHECK_STR(r[0].text, "553 5.7.1 sender refused");
	CHECK_MEM(f.out.data, f.out.len,
	          "EHLO h\r\nMAIL FROM:<s@h>\r\nRCPT TO:<a@x.test>\r\nDATA\r\n"
	          "QUIT\r\n");
	CHECK_INT(f.done, 1);
	buf_free(&f.out);
	buf_free(&f.in);
}

static void t_auth(void)
{
	struct smtpc s;
	struct fake f;
	struct smtpc_rcpt r[1] = {{.addr = "a@x.test"}};
	struct smtpc_cfg cfg = {.helo = "h", .sender = "s@h", .size = 5,
	                        .tls = SMTPC_TLS_REQUIRED, .tls_active = true,
	                        .user = "u", .pass = "p"};
	run(&s, &f, &cfg, r, 1,
	    "220 x\r\n250-x\r\n250 AUTH LOGIN PLAIN\r\n235 ok\r\n250 ok\r\n"
	    "250 ok\r\n354 go\r\n250 ok\r\n221 b\r\n", false);
	/* base64("\0u\0p") = AHUAcA== */
	CHECK_MEM(f.out.data, f.out.len,
	          "EHLO h\r\nAUTH PLAIN AHUAcA==\r\nMAIL FROM:<s@h>\r\n"
	          "RCPT TO:<a@x.test>\r\nDATA\r\n"
	          "Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\nQUIT\r\n");
	CHECK_INT(r[0].result, SMTPC_OK);
	buf_free(&f.out);
	buf_free(&f.in);

	run(&s, &f, &cfg, r, 1,
	    "220 x\r\n250-x\r\n250 AUTH LOGIN\r\n334 VXNlcm5hbWU6\r\n"
	    "334 UGFzc3dvcmQ6\r\n535 5.7.8 bad\r\n221 b\r\n", true);
	CHECK_MEM(f.out.data, f.out.len,
	          "EHLO h\r\nAUTH LOGIN\r\ndQ==\r\ncA==\r\nQUIT\r\n");
	CHECK_INT(r[0].result, SMTPC_TEMP);
	buf_free(&f.out);
	buf_free(&f.in);
}

/* The wire encoding, fed at every split point. */
static void t_stuff(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a", "a\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"a\r\n.b\r\n..\r\n", "a\r\n..b\r\n...\r\n.\r\n"},
		{"bare\nlf\n.x", "bare\r\nlf\r\n..x\r\n.\r\n"},
		{"bare\rcr\r", "bare\r\ncr\r\n.\r\n"},
		{"\r\r\n", "\r\n\r\n.\r\n"},
		{"x.y\r\n \r\n", "x.y\r\n \r\n.\r\n"},
		{"\xc3\xa9\r\n", "\xc3\xa9\r\n.\r\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].in);
		for (size_t cut = 0; cut <= n; cut++) {
			struct smtpc_stuff st;
			struct buf b;
			buf_init(&b, 1024);
			smtpc_stuff_init(&st, true);
			CHECK_INT(smtpc_stuff(&st, cases[i].in, cut, &b), 0);
			CHECK_INT(smtpc_stuff(&st, cases[i].in + cut, n - cut,
			                      &b), 0);
			CHECK_INT(smtpc_stuff_end(&st, &b), 0);
			CHECK(b.len == strlen(cases[i].out) &&
			      memcmp(b.data, cases[i].out, b.len) == 0);
			buf_free(&b);
		}
	}
	/* Lines over SMTPC_FOLD_AT are broken with CRLF SPACE, in the same
	 * places with and without dots, wherever the input is cut. */
	static char lng[2600];
	memset(lng, 'x', sizeof lng);
	lng[0] = '.';
	memcpy(lng + 1000, "\r\n", 2);   /* a 1000-octet line, then 1598 */
	for (size_t cut = 0; cut <= sizeof lng; cut += 97) {
		struct buf w, d;
		struct smtpc_stuff sw, sd;
		buf_init(&w, 8192);
		buf_init(&d, 8192);
		smtpc_stuff_init(&sw, true);
		smtpc_stuff_init(&sd, false);
		smtpc_stuff(&sw, lng, cut, &w);
		smtpc_stuff(&sw, lng + cut, sizeof lng - cut, &w);
		smtpc_stuff_end(&sw, &w);
		smtpc_stuff(&sd, lng, cut, &d);
		smtpc_stuff(&sd, lng + cut, sizeof lng - cut, &d);
		smtpc_stuff_end(&sd, &d);
		/* The wire: ".." + 989, " " + 10, then 990, " " + 608. */
		CHECK(w.len == d.len + 1 + 3);
		size_t longest = 0, line = 0, folds = 0;
		for (size_t i = 0; i + 1 < w.len; i++) {
			if (w.data[i] == '\r' && w.data[i + 1] == '\n') {
				longest = line > longest ? line : longest;
				line = 0;
				folds += i + 2 < w.len && w.data[i + 2] == ' ';
				i++;
			} else {
				line++;
			}
		}
		CHECK_INT(longest, SMTPC_FOLD_AT + 1);
		CHECK_INT(folds, 2);
		/* Unstuffed and without the end, the wire is the DKIM view. */
		CHECK(w.len > 4 && d.len > 1 && w.data[0] == '.' &&
		      memcmp(w.data + 1, d.data, d.len) == 0);
		buf_free(&w);
		buf_free(&d);
	}

	/* Without dots: only the line ends change. */
	struct smtpc_stuff st;
	struct buf b;
	buf_init(&b, 64);
	smtpc_stuff_init(&st, false);
	smtpc_stuff(&st, ".a\nb", 4, &b);
	smtpc_stuff_end(&st, &b);
	CHECK_MEM(b.data, b.len, ".a\r\nb\r\n");
	buf_free(&b);
}

int main(void)
{
	t_pipelined(false);
	t_pipelined(true);
	t_plain_lockstep(false);
	t_plain_lockstep(true);
	t_fail_paths();
	t_auth();
	t_stuff();
	return t_done("outbound_smtpc");
}
