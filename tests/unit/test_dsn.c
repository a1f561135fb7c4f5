/* RFC 3464 bounces: structure, status codes, remote text sanitised. */
#include <string.h>

#include "dsn.h"
#include "t.h"

static void t_status(void)
{
	char s[16];
	dsn_status_of(550, "550 5.1.1 No such user", s, sizeof s);
	CHECK_STR(s, "5.1.1");
	dsn_status_of(552, "552 5.3.4", s, sizeof s);
	CHECK_STR(s, "5.3.4");
	dsn_status_of(550, "550 no enhanced code", s, sizeof s);
	CHECK_STR(s, "5.0.0");
	dsn_status_of(550, "550 4.1.1 wrong class", s, sizeof s);
	CHECK_STR(s, "5.0.0");
	dsn_status_of(451, "451 4.7.1 later", s, sizeof s);
	CHECK_STR(s, "4.7.1");
	dsn_status_of(554, "554 5.1234.1 too long", s, sizeof s);
	CHECK_STR(s, "5.0.0");
	dsn_status_of(554, NULL, s, sizeof s);
	CHECK_STR(s, "5.0.0");
	/* The first line of a multi-line reply (Gmail's "no such user"). */
	dsn_status_of(550, "550-5.1.1 The email account that you tried", s,
	              sizeof s);
	CHECK_STR(s, "5.1.1");
	dsn_status_of(550, "550-no code", s, sizeof s);
	CHECK_STR(s, "5.0.0");
}

static void t_build(void)
{
	struct dsn_rcpt r[2] = {
		{"bob@example.net", "5.1.1", "mx.example.net",
		 "550 5.1.1 No such user\r\nInjected: header"},
		{"carol@nullmx.test", "5.1.10", NULL,
		 "Domain has a null MX (RFC 7505)"},
	};
	const char hdr[] = "From: alice@example.org\r\nSubject: hi\r\n\r\n";
	struct dsn_info in = {
		.reporting_mta = "mail.example.org",
		.sender = "alice@example.org",
		.queue_id = "17",
		.arrival = 1700000000,
		.now = 1700000100,
		.rcpt = r,
		.nrcpt = 2,
		.headers = hdr,
		.headers_len = sizeof hdr - 1,
	};
	struct buf b;
	buf_init(&b, 65536);
	CHECK_INT(dsn_build(&in, &b), 0);
	buf_append(&b, "", 1);
	const char *m = b.data;
	CHECK(strstr(m, "To: <alice@example.org>\r\n") != NULL);
	CHECK(strstr(m, "Content-Type: multipart/report; "
	                "report-type=delivery-status;") != NULL);
	CHECK(strstr(m, "Auto-Submitted: auto-replied\r\n") != NULL);
	CHECK(strstr(m, "Reporting-MTA: dns; mail.example.org\r\n") != NULL);
	CHECK(strstr(m, "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	CHECK(strstr(m, "Final-Recipient: rfc822; bob@example.net\r\n"
	                "Action: failed\r\nStatus: 5.1.1\r\n"
	                "Remote-MTA: dns; mx.example.net\r\n"
	                "Diagnostic-Code: smtp; 550 5.1.1 No such user??"
	                "Injected: header\r\n") != NULL);
	CHECK(strstr(m, "Status: 5.1.10\r\n") != NULL);
	CHECK(strstr(m, "Diagnostic-Code: x-postlite; Domain has a null MX") !=
	      NULL);
	CHECK(strstr(m, "Content-Type: text/rfc822-headers\r\n\r\n"
	                "From: alice@example.org\r\nSubject: hi\r\n") != NULL);
	CHECK(strstr(m, "\r\nInjected:") == NULL);
	/* CRLF only, no bare LF or CR anywhere. */
	for (size_t i = 0; i + 1 < b.len; i++) {
		if (m[i] == '\n')
			CHECK(i > 0 && m[i - 1] == '\r');
		if (m[i] == '\r')
			CHECK(m[i + 1] == '\n');
	}
	/* The closing boundary ends it. */
	CHECK(b.len > 8 && memcmp(m + b.len - 5, "--\r\n", 4) == 0);
	buf_free(&b);
}

int main(void)
{
	t_status();
	t_build();
	return t_done("dsn");
}
