/* Fuzzes the outbound SMTP client (outbound/smtpc*.c) and its body
 * encoder.
 *
 * Input: byte 0 picks the configuration (TLS policy, pipelining-relevant
 * recipient count, AUTH), byte 1 seeds the split points; the rest is
 * split in two at byte 2's proportion: what a server sends, and a message
 * body.
 *
 * Properties: whatever the server says, ops->done runs at most once and
 * nothing is written after it; every command written ends in CRLF with no
 * other CR or LF; a finished session leaves no recipient PENDING; an
 * abort after anything settles everyone. The body encoder's output has no
 * bare CR or LF, ends with CRLF "." CRLF, and undoing the dot-stuffing
 * gives the input with only its line ends changed (the encoder without
 * dots). */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "smtpc.h"

struct fx {
	struct smtpc *s;
	int done;
	bool body_end_due;
	struct buf cmd;
};

static void fx_write(void *ctx, const void *p, size_t n)
{
	struct fx *f = ctx;
	FUZZ_CHECK(f->done == 0);
	const char *b = p;
	/* Commands: CRLF only at the end (bodies come via smtpc_stuff). */
	FUZZ_CHECK(n >= 2 && b[n - 2] == '\r' && b[n - 1] == '\n');
	for (size_t i = 0; i + 2 < n; i++)
		FUZZ_CHECK(b[i] != '\r' && b[i] != '\n');
}

static int fx_starttls(void *ctx)
{
	(void)ctx;
	return 0;
}

static void fx_body(void *ctx)
{
	struct fx *f = ctx;
	f->body_end_due = true;
}

static void fx_done(void *ctx)
{
	struct fx *f = ctx;
	f->done++;
	FUZZ_CHECK(f->done == 1);
}

static const struct smtpc_ops fx_ops = {fx_write, fx_starttls, fx_body,
                                        fx_done};

static void session(const uint8_t *p, size_t n, uint8_t mode,
                    struct fuzz_rng *rng)
{
	struct smtpc s;
	struct fx f = {.s = &s};
	struct smtpc_rcpt r[3] = {{.addr = "a@x.test"}, {.addr = "b@x.test"},
	                          {.addr = "c@y.test"}};
	struct smtpc_cfg cfg = {
		.helo = "me.test",
		.sender = (mode & 1) ? "" : "s@me.test",
		.size = 1234,
		.eightbit = (mode & 2) != 0,
		.smtputf8 = (mode & 4) != 0,
		.tls = (enum smtpc_tls)((mode >> 3) % 3),
		.user = (mode & 0x20) ? "u" : NULL,
		.pass = "p",
	};
	struct buf in;
	buf_init(&in, 600);
	smtpc_init(&s, &cfg, r, 1 + (mode >> 6) % 3, &fx_ops, &f);
	while (n > 0 && s.state != SMTPC_DONE) {
		size_t k = fuzz_rng_len(rng, n);
		if (buf_room(&in) < k)
			k = buf_room(&in) ? buf_room(&in) : 1;
		if (buf_room(&in) == 0)
			buf_consume(&in, 1);
		buf_append(&in, p, k);
		p += k;
		n -= k;
		smtpc_input(&s, &in);
		if (s.state == SMTPC_TLS_WAIT)
			smtpc_tls_ready(&s);
		if (f.body_end_due && s.state == SMTPC_BODY) {
			f.body_end_due = false;
			smtpc_body_end(&s);
		}
	}
	smtpc_abort(&s, "end of input");
	FUZZ_CHECK(f.done == 1);
	for (size_t i = 0; i < s.nrcpt; i++)
		FUZZ_CHECK(r[i].result != SMTPC_PENDING);
	buf_free(&in);
}

static void encoder(const uint8_t *p, size_t n, struct fuzz_rng *rng)
{
	struct buf a, b;
	struct smtpc_stuff sa, sb;
	buf_init(&a, 3 * n + 8);
	buf_init(&b, 3 * n + 8);
	smtpc_stuff_init(&sa, true);
	smtpc_stuff_init(&sb, false);
	for (size_t i = 0; i < n;) {
		size_t k = fuzz_rng_len(rng, n - i);
		FUZZ_CHECK(smtpc_stuff(&sa, p + i, k, &a) == 0);
		i += k;
	}
	FUZZ_CHECK(smtpc_stuff(&sb, p, n, &b) == 0);
	FUZZ_CHECK(smtpc_stuff_end(&sa, &a) == 0);
	FUZZ_CHECK(smtpc_stuff_end(&sb, &b) == 0);
	const char *o = a.data;
	FUZZ_CHECK(a.len >= 3 && !memcmp(o + a.len - 3, ".\r\n", 3));
	FUZZ_CHECK(a.len == 3 || (a.len >= 5 && !memcmp(o + a.len - 5,
	                                                "\r\n", 2)));
	for (size_t i = 0; i < a.len; i++) {
		if (o[i] == '\n')
			FUZZ_CHECK(i > 0 && o[i - 1] == '\r');
		if (o[i] == '\r')
			FUZZ_CHECK(i + 1 < a.len && o[i + 1] == '\n');
	}
	/* Undo the stuffing line by line: must equal the dot-less encoding
	 * plus the final ".\r\n". */
	size_t j = 0;
	bool bol = true;
	for (size_t i = 0; i < a.len - 3; i++) {
		if (bol && o[i] == '.') {
			FUZZ_CHECK(i + 1 < a.len && o[i + 1] == '.');
			i++;
		}
		FUZZ_CHECK(j < b.len && b.data[j] == o[i]);
		j++;
		bol = o[i] == '\n';
	}
	FUZZ_CHECK(j == b.len);
	buf_free(&a);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = fuzz_take(&data, &size);
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, fuzz_take(&data, &size));
	size_t cut = size * fuzz_take(&data, &size) / 256;
	session(data, cut, mode, &rng);
	encoder(data + cut, size - cut, &rng);
	return 0;
}
