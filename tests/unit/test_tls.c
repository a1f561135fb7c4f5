/* tls: self-signed certificates, key/certificate checks at load. */
#include <stdio.h>
#include <stdlib.h>
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

	const char *names[] = {"a.pem", "a.key", "b.pem", "b.key"};
	for (size_t i = 0; i < 4; i++)
		unlink(path(names[i]));
	rmdir(dir);
	return t_done("tls");
}
