/* DKIM signing: RFC 6376's canonicalisation examples, the body hash of
 * known inputs, and signatures checked by an independent verifier
 * (Debian's python3-dkim, dkimpy) when it is installed. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "dkim.h"
#include "t.h"
#include "tls_rsa.h"

static void t_canon_header(void)
{
	struct buf b;
	buf_init(&b, 4096);
	/* RFC 6376 3.4.5 */
	dkim_canon_header("A: X", 4, &b);
	dkim_canon_header("B : Y\t\r\n\tZ  ", 12, &b);
	CHECK_MEM(b.data, b.len, "a:X\r\nb:Y Z\r\n");
	buf_reset(&b);
	dkim_canon_header("Subject:   many    spaces   ", 28, &b);
	CHECK_MEM(b.data, b.len, "subject:many spaces\r\n");
	buf_reset(&b);
	CHECK_INT(dkim_canon_header("no colon", 8, &b), -1);
	buf_free(&b);
}

/* The bh= value of a signature made over msg, fed in pieces of `step`. */
static void signed_bh(struct tls_rsa_key *k, const char *msg, size_t step,
                      char *bh, size_t bhsz, struct buf *sig)
{
	struct dkim *d = dkim_new();
	size_t n = strlen(msg);
	for (size_t i = 0; i < n; i += step)
		dkim_feed(d, msg + i, n - i < step ? n - i : step);
	buf_reset(sig);
	CHECK_INT(dkim_sign(d, "example.org", "sel", k, 1700000000, sig), 0);
	dkim_free(d);
	buf_append(sig, "", 1);
	const char *p = strstr(sig->data ? sig->data : "", "bh=");
	bh[0] = '\0';
	if (p) {
		size_t l = strcspn(p + 3, ";");
		snprintf(bh, bhsz, "%.*s", (int)l, p + 3);
	}
	sig->len--; /* drop the NUL again */
}

static void expect_bh(struct tls_rsa_key *k, const char *msg,
                      const char *canon_body)
{
	uint8_t h[TLS_SHA256_LEN];
	char want[64], got[64];
	struct tls_sha256 *s = tls_sha256_new();
	tls_sha256_update(s, canon_body, strlen(canon_body));
	tls_sha256_final(s, h);
	tls_sha256_free(s);
	base64_encode(h, sizeof h, want, sizeof want);
	struct buf sig;
	buf_init(&sig, 16384);
	for (size_t step = 1; step <= strlen(msg) + 1; step += 7) {
		signed_bh(k, msg, step, got, sizeof got, &sig);
		CHECK_STR(got, want);
	}
	buf_free(&sig);
}

/* Debian's python3-dkim lives with Debian's python3, which may not be
 * the first python3 on PATH. */
static const char *py(void)
{
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
	                                             : "python3";
}

static bool have_dkimpy(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "%s -c 'import dkim' 2>/dev/null", py());
	return system(cmd) == 0;
}

/* Asks dkimpy to verify msg (signature in front) against the key. */
static int dkimpy_verify(struct tls_rsa_key *k, const struct buf *m)
{
	if (!have_dkimpy()) {
		fprintf(stderr, "python3-dkim not installed: skipped\n");
		return 0;
	}
	char pub[1024], path[] = "/tmp/test_dkim_XXXXXX";
	if (tls_rsa_key_public_b64(k, pub, sizeof pub) != 0)
		return -1;
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, m->data, m->len) != (ssize_t)m->len)
		return -1;
	close(fd);
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
	         "%s -c 'import dkim,sys\n"
	         "txt=b\"v=DKIM1; k=rsa; p=%s\"\n"
	         "ok=dkim.verify(open(sys.argv[1],\"rb\").read(),"
	         "dnsfunc=lambda n,timeout=5: txt)\n"
	         "sys.exit(0 if ok else 1)' %s", py(), pub, path);
	int rc = system(cmd);
	unlink(path);
	return rc == 0 ? 0 : -1;
}

static void t_sign_verify(struct tls_rsa_key *k, const char *msg)
{
	struct dkim *d = dkim_new();
	struct buf m;
	buf_init(&m, 1 << 20);
	dkim_feed(d, msg, strlen(msg));
	char dom[64];
	CHECK_INT(dkim_from_domain(d, dom, sizeof dom), 0);
	CHECK_STR(dom, "example.org");
	CHECK_INT(dkim_sign(d, dom, "sel", k, 1700000000, &m), 0);
	buf_append(&m, msg, strlen(msg));
	CHECK_INT(dkimpy_verify(k, &m), 0);
	/* A changed subject must fail: the verifier really checks. */
	buf_append(&m, "", 1);
	char *subj = strstr(m.data, "Subject:");
	m.len--;
	if (subj)
		subj[10] ^= 1;
	if (have_dkimpy())
		CHECK_INT(dkimpy_verify(k, &m), -1);
	buf_free(&m);
	dkim_free(d);
}

int main(void)
{
	char err[256];
	char path[] = "/tmp/test_dkim_key_XXXXXX";
	t_canon_header();
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	CHECK_INT(tls_rsa_keygen(path, 1024, err, sizeof err), 0);
	CHECK_INT(tls_rsa_keygen(path, 1024, err, sizeof err), -1);
	struct tls_rsa_key *k = tls_rsa_key_load(path, err, sizeof err);
	unlink(path);
	CHECK(k != NULL);
	if (!k)
		return t_done("dkim");

	/* RFC 6376 3.4.5's body, and the corner cases of 3.4.4. */
	expect_bh(k, "A: X\r\n\r\n C \r\nD \t E\r\n\r\n\r\n",
	          " C\r\nD E\r\n");
	expect_bh(k, "A: X\r\n\r\n", "");
	expect_bh(k, "A: X\r\n\r\n\r\n\r\n", "");
	expect_bh(k, "A: X\r\n\r\nno end", "no end\r\n");
	expect_bh(k, "A: X\r\n\r\na\r\n\r\nb  \r\n \r\n", "a\r\n\r\nb\r\n");

	t_sign_verify(k, "From: Alice <alice@Example.ORG>\r\n"
	                 "To: bob@example.net\r\nSubject:  hello\r\n"
	                 "\tworld  \r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	                 "Message-ID: <1@example.org>\r\n\r\n"
	                 "Hi Bob,\r\n  spaced   out  \r\n\r\n.dot\r\n\r\n");
	t_sign_verify(k, "from: alice@example.org\r\nSubject: empty\r\n\r\n");
	tls_rsa_key_free(k);
	return t_done("dkim");
}
