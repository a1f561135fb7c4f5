/* The POP3 session against an in-memory store, through a memory session_io
 * and inline runners. Replies are compared byte for byte; every dialogue is
 * fed whole and one byte at a time and must give the same bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "job.h"
#include "log.h"
#include "pop3_priv.h" /* POP3_AHEAD_BUDGET, POP3_AHEAD_MAX */
#include "pop3_session.h"
#include "session_io.h"
#include "store.h"
#include "t.h"
#include "test_store_util.h" /* a file store for test_quit_reclaim */

/* ---- a memory session_io ---------------------------------------------- */

struct mio {
	struct buf out;
	struct buf *in;
	size_t pending; /* what pending() reports, unless track */
	bool track;     /* pending() is what was written since `taken`: the
	                   client takes output only when the test says */
	size_t taken;
	bool closed, tls_started, gone, resumed;
};

static void mio_write(void *ctx, const void *p, size_t n)
{
	struct mio *m = ctx;
	CHECK(!m->closed && !m->gone);
	CHECK(buf_append(&m->out, p, n) == 0);
}

static size_t mio_pending(void *ctx)
{
	struct mio *m = ctx;
	CHECK(!m->gone); /* the connection is freed after closed() */
	return m->track ? m->out.len - m->taken : m->pending;
}

static int mio_starttls(void *ctx)
{
	struct mio *m = ctx;
	m->tls_started = true;
	buf_reset(m->in); /* RFC 2595 4: bytes before the handshake go */
	return 0;
}

static void mio_close(void *ctx)
{
	((struct mio *)ctx)->closed = true;
}

static void mio_resume(void *ctx)
{
	((struct mio *)ctx)->resumed = true;
}

static const char *mio_tls_desc(void *ctx)
{
	return NULL;
}

static const struct session_io mio_io = {
	mio_write, mio_pending, mio_starttls, mio_close, mio_resume,
	mio_tls_desc, NULL,
};

/* ---- the store --------------------------------------------------------- */

#define BIG_SIZE 300000

static const char m1[] = "From: a@example.org\r\nSubject: one\r\n\r\n"
                         "Hello\r\n.dot line\r\n..two dots\r\n.\r\nlast\r\n";
static const char m2[] = "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\x80 bytes\r\n"
                         ".\xc3\xa9\r\n";
static const char m3[] = "Subject: three\r\n\r\nno newline at end";
static char big[BIG_SIZE];

struct env {
	struct store *st;
	struct runner_inline auth, store;
	uint64_t alice;
	struct store_entry *e; /* alice's mailbox as delivered */
	size_t n;
};

static void make_big(void)
{
	/* Lines of varying length, many starting with '.', and the piece
	 * boundaries (64 KiB) landing on a line start and inside CRLF. */
	size_t i = 0, line = 0;
	while (i < BIG_SIZE) {
		size_t len = 1 + (line * 7919) % 97;
		for (size_t k = 0; k < len && i < BIG_SIZE; k++)
			big[i++] = (k == 0 && line % 3 == 0) ? '.' : 'a' + k % 26;
		if (i < BIG_SIZE)
			big[i++] = '\r';
		if (i < BIG_SIZE)
			big[i++] = '\n';
		line++;
	}
	memcpy(big + 65536 - 2, "\r\n.", 3);
	memcpy(big + 131072 - 1, "\r\n", 2);
	memcpy(big, "Subject: big\r\n\r\n", 16);
	memcpy(big + BIG_SIZE - 2, "\r\n", 2);
}

static void deliver(struct env *e, const char *p, size_t n, uint64_t mbox)
{
	uint64_t msg = 0;
	CHECK_INT(store_msg_deliver(e->st, &msg, p, n, &mbox, 1), STORE_OK);
}

static void env_init(struct env *e)
{
	char err[256];
	memset(e, 0, sizeof *e);
	CHECK_INT(store_open(":memory:", &e->st, err, sizeof err), STORE_OK);
	CHECK_INT(store_domain_add(e->st, "example.org"), STORE_OK);
	CHECK_INT(store_user_add(e->st, "alice@example.org", "secret"),
	          STORE_OK);
	CHECK_INT(store_user_add(e->st, "bob@example.org", "hunter2"),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(e->st, "alice@example.org", &e->alice),
	          STORE_OK);
	deliver(e, m1, sizeof m1 - 1, e->alice);
	deliver(e, m2, sizeof m2 - 1, e->alice);
	deliver(e, m3, sizeof m3 - 1, e->alice);
	/* The big one in pieces, as smtpd delivers it. */
	uint64_t msg = 0;
	for (size_t off = 0; off < 200000; off += 50000)
		CHECK_INT(store_msg_append(e->st, &msg, big + off, 50000),
		          STORE_OK);
	CHECK_INT(store_msg_deliver(e->st, &msg, big + 200000,
	                            BIG_SIZE - 200000, &e->alice, 1),
	          STORE_OK);
	CHECK_INT(store_mailbox_list(e->st, e->alice, &e->e, &e->n), STORE_OK);
	CHECK_INT(e->n, 4);
	runner_inline_init(&e->auth, e->st);
	runner_inline_init(&e->store, e->st);
}

static void env_free(struct env *e)
{
	free(e->e);
	store_close(e->st);
}

static size_t mailbox_count(struct env *e)
{
	struct store_entry *x = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(e->st, e->alice, &x, &n), STORE_OK);
	free(x);
	return n;
}

/* ---- the driver --------------------------------------------------------- */

struct tsess {
	struct env *env;
	struct mio io;
	struct buf in;
	struct pop3_session *s;
	unsigned store_jobs; /* run by t_run */
};

struct topt {
	bool tls, plaintext, tls_available;
	enum clients_result over_limit; /* the I/O layer's count at accept */
};

static void t_open(struct tsess *t, struct env *e, struct topt o)
{
	struct pop3_session_cfg cfg = { .hostname = "mail.example.org" };
	struct session_peer peer = { .sid = "t1", .ip = "192.0.2.1",
	                             .tls = o.tls,
	                             .over_limit = o.over_limit };

	memset(t, 0, sizeof *t);
	t->env = e;
	buf_init(&t->in, 1 << 16);
	buf_init(&t->io.out, 1 << 24);
	t->io.in = &t->in;
	cfg.tls_available = o.tls_available;
	cfg.implicit_tls = o.tls;
	cfg.plaintext_auth = o.plaintext;
	cfg.timeout = 600;
	t->s = pop3_session_new(&cfg, &peer, &mio_io, &t->io, &e->store.r,
	                        &e->auth.r, &t->in);
	CHECK(t->s != NULL);
	pop3_session_start(t->s);
}

/* The connection goes away (peer hung up or after io->close). */
static void t_gone(struct tsess *t)
{
	if (t->io.gone)
		return;
	t->io.gone = true;
	pop3_session_closed(t->s);
	t->s = NULL;
	while (runner_inline_drain(&t->env->auth) +
	       runner_inline_drain(&t->env->store))
		;
}

/* Runs the session until it waits for input, the way the I/O layer
 * would: input() when bytes arrived (call_input) or after io->resume, jobs
 * complete, handshakes finish, a close ends the connection. */
static void t_run(struct tsess *t, bool call_input)
{
	for (int guard = 0; guard < 100000 && !t->io.gone; guard++) {
		if (call_input)
			pop3_session_input(t->s);
		unsigned ks = runner_inline_drain(&t->env->store);
		unsigned k = runner_inline_drain(&t->env->auth) + ks;
		t->store_jobs += ks;
		if (t->io.tls_started) {
			t->io.tls_started = false;
			pop3_session_tls_ready(t->s);
		}
		if (t->io.closed) {
			t_gone(t);
			return;
		}
		call_input = t->io.resumed;
		t->io.resumed = false;
		if (k == 0 && !call_input)
			return;
	}
}

/* Feeds bytes whole (step 0) or in steps, running after each. */
static void t_feed(struct tsess *t, const char *p, size_t n, size_t step)
{
	if (step == 0)
		step = n;
	for (size_t off = 0; off < n && !t->io.gone; off += step) {
		size_t k = n - off < step ? n - off : step;
		CHECK(buf_append(&t->in, p + off, k) == 0);
		t_run(t, true);
	}
}

static void t_say(struct tsess *t, const char *text, size_t step)
{
	t_feed(t, text, strlen(text), step);
}

static void t_close(struct tsess *t)
{
	t_gone(t);
	buf_free(&t->in);
	buf_free(&t->io.out);
}

#define CHECK_OUT(t, lit) CHECK_MEM((t)->io.out.data, (t)->io.out.len, lit)

/* Compares the output with a buf (length-exact), reporting the first
 * difference. */
static void check_out_buf(struct tsess *t, const struct buf *want, int line)
{
	const struct buf *got = &t->io.out;
	size_t i = 0;
	while (i < got->len && i < want->len && got->data[i] == want->data[i])
		i++;
	t_checks++;
	if (i != got->len || i != want->len) {
		t_failures++;
		fprintf(stderr, "line %d: output differs at %zu (got %zu, want "
		        "%zu bytes): got \"%.40s\" want \"%.40s\"\n", line, i,
		        got->len, want->len, i < got->len ? got->data + i : "",
		        i < want->len ? want->data + i : "");
	}
}

/* RFC 1939 3 by hand, independent of pop3_stuff.c: stuff every '.' that
 * starts a line, end with CRLF.CRLF. */
static void expect_body(struct buf *w, const char *m, size_t n)
{
	bool bol = true;
	for (size_t i = 0; i < n; i++) {
		if (bol && m[i] == '.')
			buf_append(w, ".", 1);
		buf_append(w, m + i, 1);
		bol = m[i] == '\n';
	}
	if (n && !(n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n'))
		buf_puts(w, "\r\n");
	buf_puts(w, ".\r\n");
}

static const char greeting[] = "+OK mail.example.org POP3 server ready.\r\n";
static const char login[] = "USER alice@example.org\r\nPASS secret\r\n";
static const char login_ok[] = "+OK\r\n+OK Logged in.\r\n";

static void want_capa(struct buf *w, bool user, bool stls)
{
	buf_puts(w, "+OK Capability list follows\r\nTOP\r\nUIDL\r\n"
	            "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
	            "UTF8\r\n");
	if (user)
		buf_puts(w, "USER\r\nSASL PLAIN\r\n");
	if (stls)
		buf_puts(w, "STLS\r\n");
	buf_puts(w, "EXPIRE NEVER\r\nIMPLEMENTATION postlite\r\n.\r\n");
}

static const char plain_refused[] =
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
        "(SSL/TLS) connections.\r\n";

/* CAPA before and after STLS; credentials refused before TLS. */
static void test_stls(size_t step)
{
	struct env e;
	struct tsess t;
	struct buf w;

	env_init(&e);
	t_open(&t, &e, (struct topt){ .tls_available = true });
	buf_init(&w, 1 << 16);
	buf_puts(&w, greeting);
	t_say(&t, "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\n"
	          "AUTH PLAIN\r\nSTLS\r\n", step);
	want_capa(&w, false, true);
	buf_puts(&w, plain_refused);
	buf_puts(&w, plain_refused);
	buf_puts(&w, plain_refused);
	buf_puts(&w, "+OK Begin TLS negotiation\r\n");
	check_out_buf(&t, &w, __LINE__);
	/* RFC 2595 4: after TLS, a new CAPA; STLS is refused. */
	t_say(&t, "CAPA\r\nSTLS\r\nUSER alice@example.org\r\nPASS secret\r\n"
	          "CAPA\r\nQUIT\r\n", step);
	want_capa(&w, true, false);
	buf_puts(&w, "-ERR Command not permitted when TLS active\r\n");
	buf_puts(&w, login_ok);
	want_capa(&w, false, false);
	buf_puts(&w, "+OK Logging out.\r\n");
	check_out_buf(&t, &w, __LINE__);
	CHECK(t.io.gone);
	t_close(&t);

	/* Commands pipelined behind STLS are discarded, not run. */
	t_open(&t, &e, (struct topt){ .tls_available = true });
	t_say(&t, "STLS\r\nUSER alice@example.org\r\nPASS secret\r\n", 0);
	CHECK_OUT(&t, "+OK mail.example.org POP3 server ready.\r\n"
	              "+OK Begin TLS negotiation\r\n");
	t_close(&t);

	/* No certificate: neither STLS nor USER is offered. */
	t_open(&t, &e, (struct topt){ 0 });
	buf_reset(&w);
	buf_puts(&w, greeting);
	t_say(&t, "CAPA\r\nSTLS\r\nQUIT\r\n", step);
	want_capa(&w, false, false);
	buf_puts(&w, "-ERR TLS not available.\r\n+OK Logging out.\r\n");
	check_out_buf(&t, &w, __LINE__);
	t_close(&t);

	/* plaintext_auth (loopback + switch): USER/PASS work without TLS. */
	t_open(&t, &e, (struct topt){ .plaintext = true, .tls_available = true });
	buf_reset(&w);
	buf_puts(&w, greeting);
	t_say(&t, "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\nQUIT\r\n",
	      step);
	want_capa(&w, true, true);
	buf_puts(&w, login_ok);
	buf_puts(&w, "+OK Logging out.\r\n");
	check_out_buf(&t, &w, __LINE__);
	t_close(&t);
	buf_free(&w);
	env_free(&e);
}

static unsigned long long total(const struct env *e, int skip)
{
	unsigned long long sum = 0;
	for (size_t i = 0; i < e->n; i++)
		if ((int)i != skip)
			sum += e->e[i].size;
	return sum;
}

static void want_list(struct buf *w, const struct env *e, bool uidl, int skip)
{
	for (size_t i = 0; i < e->n; i++) {
		if ((int)i == skip)
			continue;
		if (uidl)
			buf_printf(w, "%zu %s\r\n", i + 1, e->e[i].uidl);
		else
			buf_printf(w, "%zu %llu\r\n", i + 1,
			           (unsigned long long)e->e[i].size);
	}
	buf_puts(w, ".\r\n");
}

/* The whole TRANSACTION state, then QUIT deletes exactly what was marked. */
static void test_transcript(size_t step, struct buf *result)
{
	struct env e;
	struct tsess t;
	struct buf *w = result;

	env_init(&e);
	t_open(&t, &e, (struct topt){ .tls = true, .tls_available = true });
	buf_puts(w, greeting);
	t_say(&t, login, step);
	buf_puts(w, login_ok);

	t_say(&t, "STAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\n", step);
	buf_printf(w, "+OK 4 %llu\r\n", total(&e, -1));
	buf_printf(w, "+OK 4 messages (%llu octets)\r\n", total(&e, -1));
	want_list(w, &e, false, -1);
	buf_printf(w, "+OK 2 %llu\r\n", (unsigned long long)e.e[1].size);
	buf_puts(w, "+OK\r\n");
	want_list(w, &e, true, -1);
	buf_printf(w, "+OK 3 %s\r\n", e.e[2].uidl);

	/* RETR: LIST sizes are the octets before stuffing. */
	CHECK_INT(e.e[0].size, sizeof m1 - 1);
	CHECK_INT(e.e[3].size, BIG_SIZE);
	t_say(&t, "RETR 1\r\nRETR 2\r\nretr 3\r\nRETR 4\r\n", step);
	buf_printf(w, "+OK %zu octets\r\n", sizeof m1 - 1);
	expect_body(w, m1, sizeof m1 - 1);
	buf_printf(w, "+OK %zu octets\r\n", sizeof m2 - 1);
	expect_body(w, m2, sizeof m2 - 1);
	buf_printf(w, "+OK %zu octets\r\n", sizeof m3 - 1);
	expect_body(w, m3, sizeof m3 - 1);
	buf_printf(w, "+OK %d octets\r\n", BIG_SIZE);
	expect_body(w, big, BIG_SIZE);

	t_say(&t, "TOP 1 0\r\nTOP 1 2\r\nTOP 3 5\r\n", step);
	buf_puts(w, "+OK\r\nFrom: a@example.org\r\nSubject: one\r\n\r\n.\r\n");
	buf_puts(w, "+OK\r\nFrom: a@example.org\r\nSubject: one\r\n\r\n"
	            "Hello\r\n..dot line\r\n.\r\n");
	buf_puts(w, "+OK\r\nSubject: three\r\n\r\nno newline at end\r\n.\r\n");

	/* Deleted messages are gone from every view until RSET. */
	t_say(&t, "DELE 1\r\nDELE 1\r\nRETR 1\r\nLIST 1\r\nTOP 1 0\r\n"
	          "UIDL 1\r\nSTAT\r\nLIST\r\nUIDL\r\nRSET\r\nSTAT\r\n", step);
	buf_puts(w, "+OK message 1 deleted\r\n");
	for (int i = 0; i < 5; i++)
		buf_puts(w, "-ERR message 1 already deleted\r\n");
	buf_printf(w, "+OK 3 %llu\r\n", total(&e, 0));
	buf_printf(w, "+OK 3 messages (%llu octets)\r\n", total(&e, 0));
	want_list(w, &e, false, 0);
	buf_puts(w, "+OK\r\n");
	want_list(w, &e, true, 0);
	buf_printf(w, "+OK maildrop has 4 messages (%llu octets)\r\n",
	           total(&e, -1));
	buf_printf(w, "+OK 4 %llu\r\n", total(&e, -1));

	/* Strict numbers: errors, and the session goes on. */
	t_say(&t, "LIST 4294967297\r\nRETR 0\r\nRETR +1\r\nRETR 1 2\r\n"
	          "TOP 1 -1\r\nRETR 5\r\nLIST 99\r\nnoop\r\nUSER x\r\n"
	          "STLS\r\n", step);
	buf_puts(w, "-ERR Invalid message number.\r\n"
	            "-ERR Invalid message number.\r\n"
	            "-ERR Invalid message number.\r\n"
	            "-ERR Too many arguments.\r\n"
	            "-ERR Invalid line count.\r\n"
	            "-ERR no such message\r\n"
	            "-ERR no such message\r\n"
	            "+OK\r\n"
	            "-ERR Command not valid in this state.\r\n"
	            "-ERR Command not valid in this state.\r\n");

	t_say(&t, "DELE 2\r\nDELE 4\r\nQUIT\r\nNOOP\r\n", step);
	buf_puts(w, "+OK message 2 deleted\r\n+OK message 4 deleted\r\n"
	            "+OK Logging out, messages deleted.\r\n");
	check_out_buf(&t, w, __LINE__);
	CHECK(t.io.gone);

	/* RFC 1939 6: exactly the marked messages went, UIDLs unchanged. */
	struct store_entry *x = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(e.st, e.alice, &x, &n), STORE_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(x[0].uidl, e.e[0].uidl);
		CHECK_STR(x[1].uidl, e.e[2].uidl);
	}
	free(x);
	t_close(&t);
	env_free(&e);
}

static void tls_login(struct tsess *t, struct env *e)
{
	t_open(t, e, (struct topt){ .tls = true });
	t_say(t, login, 0);
	CHECK_OUT(t, "+OK mail.example.org POP3 server ready.\r\n"
	             "+OK\r\n+OK Logged in.\r\n");
}

/* Dropped connections and timeouts delete nothing and free the lock;
 * a second session meanwhile gets [IN-USE]. */
static void test_drop_and_lock(void)
{
	struct env e;
	struct tsess t, t2;

	env_init(&e);
	tls_login(&t, &e);
	t_say(&t, "DELE 1\r\nDELE 2\r\n", 0);

	t_open(&t2, &e, (struct topt){ .tls = true });
	t_say(&t2, login, 0);
	CHECK_OUT(&t2, "+OK mail.example.org POP3 server ready.\r\n+OK\r\n"
	               "-ERR [IN-USE] Mailbox is locked by another session.\r\n");
	t_close(&t);
	CHECK_INT(mailbox_count(&e), 4);

	/* The lock went with the connection: the retry logs in. */
	t_say(&t2, login, 0);
	t_say(&t2, "DELE 3\r\n", 0);
	pop3_session_timeout(t2.s);
	CHECK_OUT(&t2, "+OK mail.example.org POP3 server ready.\r\n+OK\r\n"
	               "-ERR [IN-USE] Mailbox is locked by another session.\r\n"
	               "+OK\r\n+OK Logged in.\r\n+OK message 3 deleted\r\n"
	               "-ERR Disconnected for inactivity.\r\n");
	t_close(&t2);
	CHECK_INT(mailbox_count(&e), 4);

	tls_login(&t, &e);
	t_close(&t);
	env_free(&e);
}

/* The connection goes while each kind of job is in flight: the done
 * callback frees the session (ASan checks) and the lock is released. */
static void test_closed_in_flight(void)
{
	struct env e;
	struct tsess t;

	env_init(&e);
	/* During the password check. */
	t_open(&t, &e, (struct topt){ .tls = true });
	buf_append(&t.in, login, sizeof login - 1);
	pop3_session_input(t.s);
	t_close(&t);

	/* During the lock: the job locked the mailbox for a session that is
	 * gone, so an unlock job must follow. */
	t_open(&t, &e, (struct topt){ .tls = true });
	buf_append(&t.in, login, sizeof login - 1);
	pop3_session_input(t.s);
	CHECK_INT(runner_inline_drain(&e.auth), 1);
	t.io.gone = true;
	pop3_session_closed(t.s);
	CHECK(runner_inline_drain(&e.store) >= 2);
	t_close(&t);

	/* During a RETR piece. */
	tls_login(&t, &e);
	buf_append(&t.in, "DELE 1\r\nRETR 4\r\n", 16);
	pop3_session_input(t.s);
	t_close(&t);
	CHECK_INT(mailbox_count(&e), 4);

	/* During QUIT's expunge: the client asked for it, it happens. */
	tls_login(&t, &e);
	buf_append(&t.in, "DELE 1\r\nQUIT\r\n", 14);
	pop3_session_input(t.s);
	t_close(&t);
	CHECK_INT(mailbox_count(&e), 3);

	tls_login(&t, &e);
	t_close(&t);
	env_free(&e);
}

/* RETR stops above SESSION_OUT_HIGH and goes on in drain; pipelined
 * commands wait for it. When the bytes read run out as the output fills,
 * the next read starts at once, not after the drain. */
static void test_backpressure(void)
{
	struct env e;
	struct tsess t;
	struct buf w;

	env_init(&e);
	tls_login(&t, &e);
	size_t mark = t.io.out.len;
	buf_append(&t.in, "RETR 4\r\nNOOP\r\n", 14);
	pop3_session_input(t.s);
	/* A read that completes while the output is full sends nothing. */
	t.io.pending = SESSION_OUT_HIGH + 1;
	CHECK_INT(runner_inline_drain(&e.store), 1);
	CHECK_INT(t.io.out.len, mark);
	/* Nothing moves while the output is full. */
	pop3_session_input(t.s);
	CHECK_INT(runner_inline_drain(&e.store), 0);
	CHECK_INT(t.io.out.len, mark);

	/* Drained: what was read (POP3_AHEAD_BUDGET, 256 KiB) goes out,
	 * which fills the output; the next read is submitted then, and its
	 * bytes wait for the next drain. */
	t.io.track = true;
	t.io.taken = t.io.out.len;
	pop3_session_drain(t.s);
	size_t first = t.io.out.len - mark;
	CHECK(first > SESSION_OUT_HIGH && first < SESSION_OUT_HIGH + 80000);
	CHECK_INT(runner_inline_drain(&e.store), 1);
	CHECK_INT(t.io.out.len - mark, first);

	t.io.track = false;
	t.io.pending = 0;
	pop3_session_drain(t.s);
	t_run(&t, false);
	buf_init(&w, 1 << 20);
	buf_printf(&w, "+OK %d octets\r\n", BIG_SIZE);
	expect_body(&w, big, BIG_SIZE);
	buf_puts(&w, "+OK\r\n");
	CHECK(t.io.out.len - mark == w.len &&
	      memcmp(t.io.out.data + mark, w.data, w.len) == 0);

	/* Input waits too while output is above the mark. */
	mark = t.io.out.len;
	t.io.pending = SESSION_OUT_HIGH + 1;
	t_say(&t, "NOOP\r\n", 0);
	CHECK_INT(t.io.out.len, mark);
	t.io.pending = 0;
	pop3_session_drain(t.s);
	t_run(&t, false);
	CHECK_MEM(t.io.out.data + mark, t.io.out.len - mark, "+OK\r\n");
	buf_free(&w);
	t_close(&t);
	env_free(&e);
}

/* Framing errors, limits, sequence errors and the bad-command cut-off. */
static void test_errors(size_t step)
{
	struct env e;
	struct tsess t;
	struct buf w;
	char line[300];

	env_init(&e);
	buf_init(&w, 1 << 16);
	t_open(&t, &e, (struct topt){ .tls = true });
	memcpy(line, "USER ", 5);
	memset(line + 5, 'a', sizeof line - 5);
	memcpy(line + 253, "\r\n", 2); /* 255 octets with CRLF: accepted */
	t_feed(&t, line, 255, step);
	memcpy(line + 253, "a\r\n", 3); /* 256: refused, session goes on */
	t_feed(&t, line, 256, step);
	t_feed(&t, "CA\0PA\r\n", 7, step);
	t_say(&t, "CAPA\n\r\nSTAT\r\nPASS secret\r\n"
	          "USER alice@example.org\r\nPASS wrong\r\n"
	          "USER nobody@example.org\r\nPASS secret\r\nAUTH CRAM-MD5\r\n"
	          "USER bob@example.org\r\nPASS hunter2\r\nSTAT\r\nLIST\r\n"
	          "UIDL\r\nRETR 1\r\nQUIT\r\n", step);
	buf_puts(&w, greeting);
	buf_puts(&w, "+OK\r\n-ERR Command line too long.\r\n"
	             "-ERR NUL byte in command.\r\n"
	             "-ERR Command line must end with CRLF.\r\n"
	             "-ERR Empty command.\r\n"
	             "-ERR Command not valid in this state.\r\n"
	             "-ERR No username given.\r\n"
	             "+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
	             "+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
	             "-ERR Unsupported authentication mechanism.\r\n"
	             "+OK\r\n+OK Logged in.\r\n+OK 0 0\r\n"
	             "+OK 0 messages (0 octets)\r\n.\r\n+OK\r\n.\r\n"
	             "-ERR no such message\r\n+OK Logging out.\r\n");
	check_out_buf(&t, &w, __LINE__);
	t_close(&t);

	/* RFC 1939 7: PASS must follow USER immediately. */
	t_open(&t, &e, (struct topt){ .tls = true });
	t_say(&t, "USER alice@example.org\r\nCAPA\r\nPASS secret\r\n", step);
	buf_reset(&w);
	buf_puts(&w, greeting);
	buf_puts(&w, "+OK\r\n");
	want_capa(&w, true, false);
	buf_puts(&w, "-ERR No username given.\r\n");
	check_out_buf(&t, &w, __LINE__);
	t_close(&t);

	/* Ten bad commands and the connection closes. */
	t_open(&t, &e, (struct topt){ 0 });
	for (int i = 0; i < 10; i++)
		t_say(&t, i % 2 ? "XYZZ\r\n" : "RETR 1\r\n", step);
	t_say(&t, "CAPA\r\n", step);
	buf_reset(&w);
	buf_puts(&w, greeting);
	for (int i = 0; i < 10; i++)
		buf_puts(&w, i % 2 ? "-ERR Unknown command.\r\n"
		                   : "-ERR Command not valid in this state.\r\n");
	buf_puts(&w, "-ERR Too many bad commands, closing connection.\r\n");
	check_out_buf(&t, &w, __LINE__);
	CHECK(t.io.gone);
	t_close(&t);

	/* QUIT in AUTHORIZATION: +OK, closed, no UPDATE. */
	t_open(&t, &e, (struct topt){ 0 });
	t_say(&t, "quit\r\n", step);
	CHECK_OUT(&t, "+OK mail.example.org POP3 server ready.\r\n"
	              "+OK Logging out.\r\n");
	CHECK(t.io.gone);
	t_close(&t);
	buf_free(&w);
	env_free(&e);
}

/* ---- read-ahead (pop3_ahead.c) ----------------------------------------- */

#define RA_B POP3_AHEAD_BUDGET
/* Bob's mailbox: more small messages than one read-ahead holds (by bytes
 * and by count), then sizes at the budget's and a chunk's edges. */
static const size_t ra_sizes[] = {
	[70] = 0, RA_B - 1, RA_B, RA_B + 1, 1, 3 * RA_B + 17, 65536, 100, 99,
};
#define RA_N (sizeof ra_sizes / sizeof ra_sizes[0])
static char *ra_msg[RA_N];

static size_t ra_size(size_t k)
{
	return k < 70 ? 4000 + k * 13 : ra_sizes[k];
}

/* Message k: its number in the header, then lines of varying length of
 * which every fifth starts with a dot. */
static void ra_deliver(struct env *e, uint64_t mbox)
{
	for (size_t k = 0; k < RA_N; k++) {
		size_t n = ra_size(k), i = 0;
		char *m = malloc(n + 1);
		int h = snprintf(m, n + 1, "Subject: %zu\r\n\r\n", k);
		i = h > 0 && (size_t)h < n ? (size_t)h : 0;
		for (size_t line = k; i < n; line++) {
			size_t len = 1 + (line * 31) % 83;
			for (size_t c = 0; c < len && i < n; c++) {
				bool dot = c == 0 && line % 5 == 0;
				m[i++] = dot ? '.' : 'a' + (k + c) % 26;
			}
			if (i < n)
				m[i++] = '\r';
			if (i < n)
				m[i++] = '\n';
		}
		ra_msg[k] = m;
		deliver(e, m, n, mbox);
	}
}

static void ra_want(struct buf *w, size_t k)
{
	buf_printf(w, "+OK %zu octets\r\n", ra_size(k));
	expect_body(w, ra_msg[k], ra_size(k));
}

/* Logs in as bob; the output so far is dropped. */
static void ra_login(struct tsess *t, struct env *e)
{
	t_open(t, e, (struct topt){ .tls = true });
	t_say(t, "USER bob@example.org\r\nPASS hunter2\r\n", 0);
	CHECK_OUT(t, "+OK mail.example.org POP3 server ready.\r\n"
	             "+OK\r\n+OK Logged in.\r\n");
	buf_reset(&t->io.out);
	t->store_jobs = 0;
}

static void ra_retr(struct tsess *t, size_t msgno, size_t step)
{
	char cmd[32];
	snprintf(cmd, sizeof cmd, "RETR %zu\r\n", msgno);
	t_say(t, cmd, step);
}

/* A whole fetch in order, one RETR at a time or pipelined: the bytes of
 * every message, in a few store jobs rather than one per message; a
 * message above the budget is read in budget-sized pieces. */
static void test_ahead_fetch(size_t step, bool pipelined)
{
	struct env e;
	struct tsess t;
	struct buf w, cmds;
	uint64_t bob;

	env_init(&e);
	CHECK_INT(store_rcpt_lookup(e.st, "bob@example.org", &bob), STORE_OK);
	ra_deliver(&e, bob);
	ra_login(&t, &e);
	buf_init(&w, 1 << 23);
	buf_init(&cmds, 1 << 12);
	for (size_t k = 0; k < RA_N; k++) {
		if (pipelined)
			buf_printf(&cmds, "RETR %zu\r\n", k + 1);
		else
			ra_retr(&t, k + 1, step);
		ra_want(&w, k);
		if (k == 69) {
			/* 70 small messages fill the budget, not 70 jobs. */
			CHECK(pipelined || t.store_jobs == 2);
		}
		if (k == 73 && !pipelined) {
			/* Read with the end of B + 1: 1, and the start of
			 * 3B + 17 in whole chunks (a chunk split between two
			 * reads would be read twice). */
			const struct pop3_ahead *a = t.s->ahead;
			CHECK(a && a->n == 3 && a->piece[2].offset == 0 &&
			      a->piece[2].len == 3 * STORE_CHUNK_SIZE);
		}
	}
	if (pipelined)
		t_feed(&t, cmds.data, cmds.len, step);
	check_out_buf(&t, &w, __LINE__);
	/* Then, by the budget B: B - 1 (B would not fit after it); B;
	 * B + 1 in two, the second with 1 and the first three chunks of
	 * 3B + 17 (too big for any read-ahead); two more of B and its
	 * last 65,553 bytes with the three after it: 9 jobs in all. */
	CHECK_INT(t.store_jobs, 9);
	t_close(&t);

	/* Out of order: each RETR reads just its message. */
	ra_login(&t, &e);
	buf_reset(&w);
	ra_retr(&t, 76, step);
	CHECK_INT(t.store_jobs, 4);
	ra_retr(&t, 3, step);
	ra_retr(&t, 1, step);
	CHECK_INT(t.store_jobs, 6);
	ra_want(&w, 75);
	ra_want(&w, 2);
	ra_want(&w, 0);
	check_out_buf(&t, &w, __LINE__);
	t_close(&t);
	for (size_t k = 0; k < RA_N; k++)
		free(ra_msg[k]);
	buf_free(&cmds);
	buf_free(&w);
	env_free(&e);
}

/* What DELE, RSET and TOP do between RETRs, and an entry expunged behind
 * the session's back: each RETR still gives exactly its message. */
static void test_ahead_marks(size_t step)
{
	struct env e;
	struct tsess t;
	struct buf w;
	uint64_t bob;

	env_init(&e);
	CHECK_INT(store_rcpt_lookup(e.st, "bob@example.org", &bob), STORE_OK);
	ra_deliver(&e, bob);
	struct store_entry *x = NULL;
	size_t n = 0;
	CHECK_INT(store_mailbox_list(e.st, bob, &x, &n), STORE_OK);
	CHECK_INT(n, RA_N);
	buf_init(&w, 1 << 22);

	ra_login(&t, &e);
	/* Message 5 goes after login (say, "postlite user" work): the read
	 * that finds it gone is RETR 5's own, and only it fails. */
	CHECK_INT(store_mailbox_expunge(e.st, bob, &x[4].id, 1), STORE_OK);
	t_say(&t, "RETR 1\r\nDELE 3\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\n"
	          "RETR 5\r\nRETR 6\r\nTOP 7 1\r\nRETR 7\r\nRSET\r\n"
	          "RETR 3\r\nRETR 8\r\n", step);
	ra_want(&w, 0);
	buf_puts(&w, "+OK message 3 deleted\r\n");
	ra_want(&w, 1);
	buf_puts(&w, "-ERR message 3 already deleted\r\n");
	ra_want(&w, 3);
	buf_puts(&w, "-ERR [SYS/TEMP] Cannot read the message, try again "
	             "later.\r\n");
	ra_want(&w, 5);
	buf_puts(&w, "+OK\r\nSubject: 6\r\n\r\n");
	const char *body = strstr(ra_msg[6], "\r\n\r\n") + 4;
	expect_body(&w, body, (size_t)(strchr(body, '\n') + 1 - body));
	w.len -= 3; /* expect_body's ".\r\n" after the header */
	buf_puts(&w, ".\r\n");
	ra_want(&w, 6);
	buf_printf(&w, "+OK maildrop has %zu messages (", RA_N);
	unsigned long long sum = 0;
	for (size_t k = 0; k < RA_N; k++)
		sum += ra_size(k);
	buf_printf(&w, "%llu octets)\r\n", sum);
	ra_want(&w, 2);
	ra_want(&w, 7);
	check_out_buf(&t, &w, __LINE__);
	t_close(&t);

	free(x);
	for (size_t k = 0; k < RA_N; k++)
		free(ra_msg[k]);
	buf_free(&w);
	env_free(&e);
}

/* ---- space reclaim after QUIT ------------------------------------------ */

/* The store runner, watched: what the output held when each job was
 * submitted. */
static struct {
	void (*submit)(struct runner *r, struct job *j);
	const struct buf *out;
	size_t out_len[8];
	unsigned n;
} spy;

static void spy_submit(struct runner *r, struct job *j)
{
	if (spy.n < 8)
		spy.out_len[spy.n] = spy.out->len;
	spy.n++;
	spy.submit(r, j);
}

/* A QUIT that deletes answers first; then the maildrop's release job gives
 * the space back (store_reclaim), which a file store shows. */
static void test_quit_reclaim(void)
{
	static const char bye[] = "+OK Logging out, messages deleted.\r\n";
	struct env e;
	struct tsess t;
	struct store_stats before, after;
	char err[256];
	enum { BODY = 1 << 20, NBIG = 12 }; /* 12 MiB: over the threshold */
	unsigned char *body = malloc(BODY);

	if (tmp_setup("pop3-reclaim") != 0 || !body) {
		CHECK(false);
		free(body);
		return;
	}
	memset(&e, 0, sizeof e);
	CHECK_INT(store_init(fresh("store", false), err, sizeof err), STORE_OK);
	e.st = open_ok(tmp_dir);
	if (!e.st) {
		free(body);
		return;
	}
	CHECK_INT(store_domain_add(e.st, "example.org"), STORE_OK);
	CHECK_INT(store_user_add(e.st, "alice@example.org", "secret"),
	          STORE_OK);
	CHECK_INT(store_rcpt_lookup(e.st, "alice@example.org", &e.alice),
	          STORE_OK);
	for (uint32_t i = 0; i < NBIG; i++) {
		fill(body, BODY, i + 1);
		deliver(&e, (const char *)body, BODY, e.alice);
	}
	runner_inline_init(&e.auth, e.st);
	runner_inline_init(&e.store, e.st);
	CHECK_INT(store_stats(e.st, &before), STORE_OK);

	tls_login(&t, &e);
	for (int i = 1; i <= NBIG; i++) {
		char dele[32];
		snprintf(dele, sizeof dele, "DELE %d\r\n", i);
		t_say(&t, dele, 0);
	}
	spy.submit = e.store.r.submit;
	spy.out = &t.io.out;
	spy.n = 0;
	e.store.r.submit = spy_submit;
	buf_append(&t.in, "QUIT\r\n", 6);
	pop3_session_input(t.s);
	size_t len = t.io.out.len;
	CHECK_INT(runner_inline_drain(&e.store), 2);
	/* The expunge job, submitted before the reply ... */
	CHECK_INT(spy.n, 2);
	CHECK_INT(spy.out_len[0], len);
	/* ... and the release job, after it. */
	CHECK_INT(spy.out_len[1], len + sizeof bye - 1);
	CHECK(t.io.out.len >= sizeof bye - 1 &&
	      memcmp(t.io.out.data + t.io.out.len - (sizeof bye - 1), bye,
	             sizeof bye - 1) == 0);
	CHECK(t.io.closed);
	CHECK_INT(mailbox_count(&e), 0);
	/* The space went back to the file system. */
	CHECK_INT(store_stats(e.st, &after), STORE_OK);
	CHECK(after.free_bytes < (uint64_t)BODY);
	CHECK(after.file_bytes + (NBIG - 1) * (uint64_t)BODY <=
	      before.file_bytes);

	/* A QUIT that deletes nothing submits no release job. */
	t_close(&t);
	tls_login(&t, &e);
	spy.n = 0;
	t_say(&t, "QUIT\r\n", 0);
	CHECK_INT(spy.n, 1);
	t_close(&t);
	e.store.r.submit = spy.submit;
	free(body);
	env_free(&e);
	tmp_cleanup();
}

/* Over a connection limit (counted by the I/O layer at accept; only a
 * plain listener's connection gets this far): one [SYS/TEMP] refusal
 * (RFC 3206 4) instead of the greeting, and the session closes. */
static void test_over_limit(void)
{
	struct env e;
	struct tsess t;

	env_init(&e);
	t_open(&t, &e, (struct topt){ .tls_available = true,
	                              .over_limit = CLIENTS_TOO_MANY_ADDR });
	CHECK_OUT(&t, "-ERR [SYS/TEMP] Too many connections from your "
	              "address, try again later.\r\n");
	CHECK(t.io.closed);
	t_close(&t);
	t_open(&t, &e, (struct topt){ .over_limit = CLIENTS_TOO_MANY });
	CHECK_OUT(&t, "-ERR [SYS/TEMP] Too many connections, try again "
	              "later.\r\n");
	CHECK(t.io.closed);
	t_close(&t);
	env_free(&e);
}

/* The input buffer's whole storage, not only its live bytes, is free of
 * the password once the commands are consumed: consuming a line moves the
 * rest to the front, and the old copy of a pipelined PASS behind it must
 * not stay behind the buffer's end. */
static bool bytes_have(const char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; p && i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return true;
	return false;
}

static bool storage_has(const struct buf *b, const char *needle)
{
	return bytes_have(b->data, b->cap, needle);
}

static void test_wipe_input(void)
{
	struct env e;
	struct tsess t;

	env_init(&e);
	t_open(&t, &e, (struct topt){ .tls = true });
	t_say(&t, "USER alice@example.org\r\nPASS secret\r\nSTAT\r\n", 0);
	CHECK(bytes_have(t.io.out.data, t.io.out.len,
	                 "+OK Logged in.\r\n+OK "));
	CHECK_INT(t.in.len, 0);
	CHECK(!storage_has(&t.in, "secret"));
	t_close(&t);
	env_free(&e);
}

int main(void)
{
	log_set_level(LOG_LVL_WARN); /* login/logout lines are noise here */
	make_big();
	for (size_t step = 0; step <= 1; step++) {
		struct buf w;
		buf_init(&w, 1 << 22);
		test_transcript(step, &w);
		buf_free(&w);
		test_stls(step);
		test_errors(step);
	}
	test_drop_and_lock();
	test_closed_in_flight();
	test_backpressure();
	for (size_t step = 0; step <= 1; step++) {
		test_ahead_fetch(step, false);
		test_ahead_fetch(step, true);
		test_ahead_marks(step);
	}
	test_quit_reclaim();
	test_over_limit();
	test_wipe_input();
	return t_done("test_pop3_session");
}
