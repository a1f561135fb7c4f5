/* postlite dns DOMAIN (store/cli_dns.c): the records for a configuration,
 * in zone-file syntax and as a table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_dns.h"
#include "config.h"
#include "t.h"

static const char base_conf[] =
	"[server]\nhostname = Mail.Example.ORG\n"
	"[tls]\ncert = /nonexistent/c.pem\nkey = /nonexistent/k.pem\n"
	"[smtp]\nlisten = 0.0.0.0:25 [::]:25\n"
	"submission = 0.0.0.0:587 [::]:587\n"
	"submissions = [::]:465\n"
	"[pop3]\nlisten = 0.0.0.0:110\npop3s = 0.0.0.0:995 [::]:995\n";

/* Runs dns_records_write on the config text; returns the output (free it)
 * or NULL with the error in err. */
static char *dns_for(const char *conf, const char *domain, char *err,
                     size_t errlen)
{
	struct config *cfg;
	if (config_parse("test.conf", conf, strlen(conf), &cfg, err,
	                 errlen) != 0) {
		fprintf(stderr, "config: %s\n", err);
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = dns_records_write(cfg, domain, f, err, errlen);
	fclose(f);
	config_free(cfg);
	if (rc != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* True if text has line as one whole line. */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Squeezes runs of spaces so checks do not depend on column widths. */
static char *squeeze(const char *s)
{
	char *o = malloc(strlen(s) + 1), *q = o;
	for (; *s; s++)
		if (!(*s == ' ' && q > o && q[-1] == ' '))
			*q++ = *s;
	*q = '\0';
	return o;
}

static void test_full(void)
{
	char err[256];
	char *out = dns_for(base_conf, "Example.ORG.", err, sizeof err);
	CHECK(out != NULL);
	if (!out)
		return;
	char *s = squeeze(out);
	CHECK(has_line(s, "example.org. 3600 IN MX 10 mail.example.org."));
	CHECK(has_line(s, "example.org. 3600 IN TXT \"v=spf1 mx -all\""));
	CHECK(has_line(s, "_dmarc.example.org. 3600 IN TXT \"v=DMARC1; "
	               "p=none; rua=mailto:postmaster@example.org\""));
	CHECK(has_line(s, "_submissions._tcp.example.org. 3600 IN SRV "
	               "0 1 465 mail.example.org."));
	CHECK(has_line(s, "_submission._tcp.example.org. 3600 IN SRV "
	               "10 1 587 mail.example.org."));
	CHECK(has_line(s, "_pop3s._tcp.example.org. 3600 IN SRV "
	               "0 1 995 mail.example.org."));
	CHECK(has_line(s, "_pop3._tcp.example.org. 3600 IN SRV "
	               "10 1 110 mail.example.org."));
	CHECK(has_line(s, "_imaps._tcp.example.org. 3600 IN SRV 0 0 0 ."));
	CHECK(has_line(s, "_imap._tcp.example.org. 3600 IN SRV 0 0 0 ."));
	/* The table: relative names, unquoted values. */
	CHECK(has_line(s, "; Name Type Value Purpose"));
	CHECK(has_line(s, "; @ MX 10 mail.example.org mail for the domain "
	               "comes to this server"));
	CHECK(has_line(s, "; @ TXT v=spf1 mx -all SPF: who may send mail as "
	               "the domain"));
	CHECK(has_line(s, "; _submissions._tcp SRV 0 1 465 mail.example.org "
	               "mail clients send here (implicit TLS)"));
	CHECK(has_line(s, "; _imap._tcp SRV 0 0 0 . not offered here "
	               "(clients skip it)"));
	CHECK(strstr(s, "Warning") == NULL);
	CHECK(strstr(s, "[relay]") == NULL);

	/* Zone lines: comments, or NAME TTL IN TYPE DATA with 9 records;
	 * the columns line up. */
	int records = 0, col = -1, aligned = 1;
	for (char *line = out; *line;) {
		char *nl = strchr(line, '\n');
		CHECK(nl != NULL);
		if (!nl)
			break;
		if (*line != ';') {
			records++;
			char *ttl = strstr(line, " 3600 IN ");
			CHECK(ttl != NULL && ttl < nl);
			if (ttl) {
				if (col < 0)
					col = (int)(ttl - line);
				else if (col != (int)(ttl - line))
					aligned = 0;
			}
			CHECK(nl[-1] == '.' || nl[-1] == '"');
		}
		line = nl + 1;
	}
	CHECK_INT(records, 9);
	CHECK(aligned);
	free(s);
	free(out);
}

static void test_listeners(void)
{
	char err[256];
	/* submission on loopback only, pop3 disabled, submissions on a
	 * non-standard port, MX not on 25, a relay. */
	const char *conf =
		"[server]\nhostname = mx1.example.net\n"
		"[tls]\ncert = /nonexistent/c.pem\nkey = /nonexistent/k.pem\n"
		"[smtp]\nlisten = 127.0.0.1:2525 0.0.0.0:2526\n"
		"submission = 127.0.0.1:587\n"
		"submissions = 127.0.0.1:465 0.0.0.0:4650\n"
		"[pop3]\npop3s = [::]:995\n"
		"[relay]\nhost = smtp.provider.example:587\n";
	char *out = dns_for(conf, "example.org", err, sizeof err);
	CHECK(out != NULL);
	if (!out)
		return;
	char *s = squeeze(out);
	CHECK(has_line(s, "example.org. 3600 IN MX 10 mx1.example.net."));
	CHECK(has_line(s, "example.org. 3600 IN TXT \"v=spf1 mx ~all\""));
	CHECK(has_line(s, "_submission._tcp.example.org. 3600 IN SRV 0 0 0 ."));
	CHECK(has_line(s, "_submissions._tcp.example.org. 3600 IN SRV "
	               "0 1 4650 mx1.example.net."));
	CHECK(has_line(s, "_pop3._tcp.example.org. 3600 IN SRV 0 0 0 ."));
	CHECK(has_line(s, "_pop3s._tcp.example.org. 3600 IN SRV "
	               "0 1 995 mx1.example.net."));
	CHECK(strstr(s, "; Warning: [smtp] listen has no public port-25") != NULL);
	CHECK(strstr(s, "[relay] smtp.provider.example") != NULL);
	free(s);
	free(out);
}

static void test_bad_names(void)
{
	static const char *const bad[] = {
		"", ".", "localhost", "-a.example.org", "a-.example.org",
		"a..example.org", "ex ample.org", "ex_ample.org",
		"\xc3\xa9xample.org", "example.org..",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
	};
	char err[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		char *out = dns_for(base_conf, bad[i], err, sizeof err);
		CHECK(out == NULL);
		CHECK(strncmp(err, "domain '", 8) == 0);
		if (out)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		free(out);
	}
	/* 63-character labels and xn-- names are fine. */
	char *out = dns_for(base_conf,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"xn--bcher-kva.example", err, sizeof err);
	CHECK(out != NULL);
	free(out);

	/* [server] hostname must be fully qualified: the MX target. */
	const char *conf = "[server]\nhostname = raspberrypi\n";
	out = dns_for(conf, "example.org", err, sizeof err);
	CHECK(out == NULL);
	CHECK(strstr(err, "[server] hostname 'raspberrypi': not fully "
	              "qualified") != NULL);
	free(out);
}

int main(void)
{
	test_full();
	test_listeners();
	test_bad_names();
	return t_done("cli_dns");
}
