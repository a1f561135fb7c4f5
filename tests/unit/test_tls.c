/* tls: self-signed certificates, key/certificate checks at load, and
 * client handshakes against the server in memory (the CA file is read at
 * the first session, not when the client is made). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "tls.h"

static char dir[64];

static const char *path(const char *name)
{
	static char p[4][128];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

/* Moves ciphertext between a client and a server session until both
 * finish the handshake or one fails. Returns the client's last step. */
static enum tls_step pump(struct tls_conn *c, struct buf *c_out,
                          struct tls_conn *s, struct buf *s_out)
{
	enum tls_step cs = TLS_AGAIN, ss = TLS_AGAIN;
	for (int round = 0; round < 20; round++) {
		if (cs == TLS_AGAIN)
			cs = tls_conn_handshake(c);
		if (c_out->len) {
			CHECK_INT(tls_conn_feed(s, c_out->data, c_out->len), 0);
			buf_reset(c_out);
		}
		if (ss == TLS_AGAIN)
			ss = tls_conn_handshake(s);
		if (s_out->len) {
			CHECK_INT(tls_conn_feed(c, s_out->data, s_out->len), 0);
			buf_reset(s_out);
		}
		if (cs == TLS_FAIL || ss == TLS_FAIL ||
		    (cs == TLS_DONE && ss == TLS_DONE))
			break;
	}
	return cs;
}

/* One client handshake to the server; *verified is the client's view of
 * the server's certificate. */
static enum tls_step client_handshake(struct tls_client *tcl,
                                      struct tls_server *ts,
                                      const char *host, bool verify,
                                      bool *verified)
{
	struct buf c_out, s_out;
	buf_init(&c_out, 1 << 20);
	buf_init(&s_out, 1 << 20);
	struct tls_conn *c = tls_client_conn_new(tcl, host, verify, &c_out);
	struct tls_conn *s = tls_conn_new(ts, &s_out);
	CHECK(c != NULL && s != NULL);
	enum tls_step st = c && s ? pump(c, &c_out, s, &s_out) : TLS_FAIL;
	*verified = st == TLS_DONE && tls_conn_peer_verified(c);
	tls_conn_free(c);
	tls_conn_free(s);
	buf_free(&c_out);
	buf_free(&s_out);
	return st;
}

static void copy_file(const char *from, const char *to)
{
	char b[16384];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n = in ? fread(b, 1, sizeof b, in) : 0;
	CHECK(in && out && n > 0 && fwrite(b, 1, n, out) == n);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

static void test_client(void)
{
	char err[512];
	bool verified;
	struct tls_server *ts = tls_server_new(err, sizeof err);
	CHECK(ts != NULL);
	CHECK_INT(tls_server_load(ts, path("a.pem"), path("a.key"), err,
	                          sizeof err), 0);

	/* The CA file does not exist yet when the client is made: it is
	 * read at the first session. a.pem is self-signed, so it is its own
	 * trust anchor. */
	struct tls_client *tcl = tls_client_new(path("ca.pem"), err,
	                                        sizeof err);
	CHECK(tcl != NULL);
	copy_file(path("a.pem"), path("ca.pem"));
	CHECK_INT(client_handshake(tcl, ts, "mail.example.test", true,
	                           &verified), TLS_DONE);
	CHECK(verified);
	/* Opportunistic sessions check the chain too (for the log). */
	CHECK_INT(client_handshake(tcl, ts, "mail.example.test", false,
	                           &verified), TLS_DONE);
	CHECK(verified);
	/* A verified session to a name the certificate does not carry. */
	CHECK_INT(client_handshake(tcl, ts, "other.example.test", true,
	                           &verified), TLS_FAIL);
	/* Read once: removing the file later changes nothing. */
	unlink(path("ca.pem"));
	CHECK_INT(client_handshake(tcl, ts, "mail.example.test", true,
	                           &verified), TLS_DONE);
	tls_client_free(tcl);

	/* No CA file: opportunistic works, unverified; verified fails. */
	tcl = tls_client_new(path("missing.pem"), err, sizeof err);
	CHECK(tcl != NULL);
	CHECK_INT(client_handshake(tcl, ts, "mail.example.test", false,
	                           &verified), TLS_DONE);
	CHECK(!verified);
	CHECK_INT(client_handshake(tcl, ts, "mail.example.test", true,
	                           &verified), TLS_FAIL);
	tls_client_free(tcl);
	tls_server_free(ts);
}

/* The TLS records in b: how many of each content type and the length of
 * the first application_data one. Checks that b holds whole records. */
struct records {
	int data, alert, other;
	size_t first_len;
};

static struct records count_records(const struct buf *b)
{
	struct records r = {0};
	const unsigned char *p = (const unsigned char *)b->data;
	size_t at = 0;
	while (at + 5 <= b->len) {
		size_t n = (size_t)p[at + 3] << 8 | p[at + 4];
		if (p[at] == 23 && r.data++ == 0)
			r.first_len = n;
		else if (p[at] == 21)
			r.alert++;
		else if (p[at] != 23)
			r.other++;
		at += 5 + n;
	}
	CHECK_INT(at, b->len);
	return r;
}

/* Feeds the server's ciphertext to the client and checks that the client
 * reads exactly want[0..n). Returns the client's last step. */
static enum tls_step check_plaintext(struct tls_conn *c, struct buf *s_out,
                                     const char *want, size_t n)
{
	struct buf got;
	buf_init(&got, 1 << 20);
	size_t at = 0;
	enum tls_step st = TLS_AGAIN;
	/* tls_conn_feed holds two records at most: feed record by record. */
	while (at < s_out->len) {
		const unsigned char *p = (const unsigned char *)s_out->data;
		size_t len = 5 + ((size_t)p[at + 3] << 8 | p[at + 4]);
		CHECK_INT(tls_conn_feed(c, s_out->data + at, len), 0);
		at += len;
		st = tls_conn_read(c, &got);
		CHECK(st == TLS_AGAIN || st == TLS_CLOSED);
	}
	buf_reset(s_out);
	CHECK_INT(got.len, n);
	CHECK(got.len == n && memcmp(got.data, want, n) == 0);
	buf_free(&got);
	return st;
}

/* Writes are sealed into records by tls_conn_flush, not one record per
 * write: a RETR's status line, body and terminator leave as one record
 * (PROFILE.md 7); a bulk write leaves full 16 KiB records at once; the
 * close_notify follows data still queued. */
static void test_records(void)
{
	char err[512];
	struct tls_server *ts = tls_server_new(err, sizeof err);
	CHECK(ts != NULL);
	CHECK_INT(tls_server_load(ts, path("a.pem"), path("a.key"), err,
	                          sizeof err), 0);
	struct tls_client *tcl = tls_client_new(NULL, err, sizeof err);
	CHECK(tcl != NULL);
	struct buf c_out, s_out;
	buf_init(&c_out, 1 << 20);
	buf_init(&s_out, 1 << 20);
	struct tls_conn *c = tls_client_conn_new(tcl, "mail.example.test",
	                                         false, &c_out);
	struct tls_conn *s = tls_conn_new(ts, &s_out);
	CHECK_INT(pump(c, &c_out, s, &s_out), TLS_DONE);

	static char msg[40000];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (char)('a' + i % 26);
	memcpy(msg, "+OK 4096 octets\r\n", 17);
	memcpy(msg + 17 + 4096, ".\r\n", 3);

	/* A small RETR in three writes: nothing sealed until the flush,
	 * then one record. */
	CHECK_INT(tls_conn_write(s, msg, 17), 0);
	CHECK_INT(tls_conn_write(s, msg + 17, 4096), 0);
	CHECK_INT(tls_conn_write(s, msg + 17 + 4096, 3), 0);
	CHECK_INT(s_out.len, 0);
	CHECK_INT(tls_conn_unsealed(s), 17 + 4096 + 3);
	CHECK_INT(tls_conn_flush(s), 0);
	CHECK_INT(tls_conn_unsealed(s), 0);
	struct records r = count_records(&s_out);
	CHECK_INT(r.data, 1);
	CHECK_INT(r.alert + r.other, 0);
	check_plaintext(c, &s_out, msg, 17 + 4096 + 3);
	/* Nothing queued: a flush sends nothing. */
	CHECK_INT(tls_conn_flush(s), 0);
	CHECK_INT(s_out.len, 0);

	/* Bulk: 17 bytes, then 39,983 at once. Two full records are sealed
	 * during the write; the rest waits for the flush. (Full: 16 KiB of
	 * plaintext on TLS 1.2; mbedTLS 3.6 keeps a little room on TLS 1.3
	 * for its padding.) */
	CHECK_INT(tls_conn_write(s, msg, 17), 0);
	CHECK_INT(tls_conn_write(s, msg + 17, sizeof msg - 17), 0);
	r = count_records(&s_out);
	CHECK_INT(r.data, 2);
	CHECK(r.first_len > 16384 - 64 && r.first_len < 16384 + 64);
	CHECK_INT(s_out.len, 2 * (5 + r.first_len));
	CHECK(tls_conn_unsealed(s) >= sizeof msg - 2 * 16384 &&
	      tls_conn_unsealed(s) < sizeof msg - 2 * 16384 + 64);
	CHECK_INT(tls_conn_flush(s), 0);
	CHECK_INT(count_records(&s_out).data, 3);
	check_plaintext(c, &s_out, msg, sizeof msg);

	/* The close_notify does not overtake a queued reply (TLS 1.3 sends
	 * alerts as application_data records too). */
	CHECK_INT(tls_conn_write(s, "+OK bye\r\n", 9), 0);
	tls_conn_close_notify(s);
	r = count_records(&s_out);
	CHECK_INT(r.data + r.alert, 2);
	CHECK(s_out.len > 0 && s_out.data[0] == 23);
	CHECK_INT(check_plaintext(c, &s_out, "+OK bye\r\n", 9), TLS_CLOSED);

	tls_conn_free(c);
	tls_conn_free(s);
	buf_free(&c_out);
	buf_free(&s_out);
	tls_client_free(tcl);
	tls_server_free(ts);
}

int main(void)
{
	char err[512];
	snprintf(dir, sizeof dir, "/tmp/postlite-tls-XXXXXX");
	if (!mkdtemp(dir))
		return 1;

	CHECK_INT(tls_make_selfsigned("mail.example.test", 3650, path("a.pem"),
	                              path("a.key"), err, sizeof err), 0);
	CHECK_INT(tls_make_selfsigned("other.example.test", 30, path("b.pem"),
	                              path("b.key"), err, sizeof err), 0);
	/* Never overwrites. */
	CHECK_INT(tls_make_selfsigned("x.example", 30, path("a.pem"),
	                              path("c.key"), err, sizeof err), -1);
	CHECK(access(path("c.key"), F_OK) != 0);

	struct stat st;
	CHECK(stat(path("a.key"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(path("a.pem"), &st) == 0 && (st.st_mode & 0777) == 0644);

	struct tls_server *ts = tls_server_new(err, sizeof err);
	CHECK(ts != NULL);
	CHECK(!tls_server_ready(ts));
	CHECK_INT(tls_server_load(ts, path("a.pem"), path("a.key"), err,
	                          sizeof err), 0);
	CHECK(tls_server_ready(ts));
	/* A key that belongs to another certificate is refused, and the
	 * loaded configuration stays in use. */
	CHECK_INT(tls_server_load(ts, path("a.pem"), path("b.key"), err,
	                          sizeof err), -1);
	CHECK(strstr(err, "does not match") != NULL);
	CHECK(tls_server_ready(ts));
	CHECK_INT(tls_server_load(ts, path("missing.pem"), path("a.key"), err,
	                          sizeof err), -1);
	CHECK(strstr(err, "missing.pem") != NULL);
	CHECK_INT(tls_server_load(ts, path("a.pem"), path("a.pem"), err,
	                          sizeof err), -1);
	CHECK(strstr(err, "key") != NULL);
	tls_server_free(ts);

	/* The name is in subjectAltName, where clients look for it. */
	char cmd[256];
	snprintf(cmd, sizeof cmd,
	         "openssl x509 -in %s -noout -text 2>/dev/null", path("a.pem"));
	FILE *p = popen(cmd, "r");
	char text[16384];
	size_t n = p ? fread(text, 1, sizeof text - 1, p) : 0;
	text[n] = '\0';
	if (p)
		pclose(p);
	CHECK(strstr(text, "DNS:mail.example.test") != NULL);
	CHECK(strstr(text, "CN = mail.example.test") != NULL);
	CHECK(strstr(text, "CA:FALSE") != NULL);

	test_client();
	test_records();

	const char *names[] = {"a.pem", "a.key", "b.pem", "b.key"};
	for (size_t i = 0; i < 4; i++)
		unlink(path(names[i]));
	rmdir(dir);
	return t_done("tls");
}
