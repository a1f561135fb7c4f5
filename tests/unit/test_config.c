/* Unit tests for common/ini.c and common/config*.c. Usage:
 * test_config [PATH-TO-packaging/postlite.conf]; without the path the
 * sample-file test is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ini.h"
#include "log.h"
#include "t.h"

/* ---- ini_parse: every callback is recorded as "[sec]" or "sec.key=value". */

struct rec {
	char out[1024];
	int stop_at; /* return 7 from this call (1-based); 0 = never */
	int calls;
};

static int rec_cb(void *arg, unsigned line, const char *section,
                  const char *key, const char *value)
{
	struct rec *r = arg;
	size_t n = strlen(r->out);

	(void)line;
	if (key)
		snprintf(r->out + n, sizeof r->out - n, "%s.%s=%s\n", section,
		         key, value);
	else
		snprintf(r->out + n, sizeof r->out - n, "[%s]\n", section);
	return ++r->calls == r->stop_at ? 7 : 0;
}

struct ini_case {
	const char *in;
	size_t len; /* 0 = strlen(in) */
	int rc;
	const char *out; /* records on success, the err text on failure */
	unsigned line;   /* err_line on failure */
};

/* clang-format off */
static const struct ini_case ini_cases[] = {
	{"", 0, 0, "", 0},
	{"\n\n\r\n", 0, 0, "", 0},
	{"# only\n  # comments\n\t#x", 0, 0, "", 0},
	{"[a]\nk = v\n", 0, 0, "[a]\na.k=v\n", 0},
	{"[a]\nk = v", 0, 0, "[a]\na.k=v\n", 0},
	{"[a]\r\nk = v\r\n", 0, 0, "[a]\na.k=v\n", 0},
	{"[a]\r\nk = v", 0, 0, "[a]\na.k=v\n", 0},
	{"[a]\r\nk = v\r", 0, 0, "[a]\na.k=v\n", 0},
	{"\xEF\xBB\xBF[a]\nk=v\n", 0, 0, "[a]\na.k=v\n", 0},
	{"  [ a ]  # c\n", 0, 0, "[a]\n", 0},
	{"[a]#c\n", 0, 0, "[a]\n", 0},
	{"k=v\n", 0, 0, ".k=v\n", 0},
	{"[a]\nk = a#b\n", 0, 0, "[a]\na.k=a#b\n", 0},
	{"[a]\nk = a #b\n", 0, 0, "[a]\na.k=a\n", 0},
	{"[a]\nk = a\t# b # c\n", 0, 0, "[a]\na.k=a\n", 0},
	{"[a]\nk = # all comment\n", 0, 0, "[a]\na.k=\n", 0},
	{"[a]\nk =\n", 0, 0, "[a]\na.k=\n", 0},
	{"[a]\nk=#x\n", 0, 0, "[a]\na.k=#x\n", 0},
	{"[a]\n  key_1.x-Y\t=\t  v  w  \n", 0, 0, "[a]\na.key_1.x-Y=v  w\n", 0},
	{"[a]\nk = a = b\n", 0, 0, "[a]\na.k=a = b\n", 0},
	{"[a]\n[b]\nk=1\n[a]\nk=2\n", 0, 0, "[a]\n[b]\nb.k=1\n[a]\na.k=2\n", 0},
	{"[a]\nk = caf\xC3\xA9\n", 0, 0, "[a]\na.k=caf\xC3\xA9\n", 0},

	{"[a]\nnovalue\n", 0, -1,
	 "line 2: expected 'key = value' or '[section]'", 2},
	{"[a\n", 0, -1, "line 1: unterminated section header", 1},
	{"\n\n\n[a", 0, -1, "line 4: unterminated section header", 4},
	{"[]\n", 0, -1, "line 1: empty section name", 1},
	{"[a b]\n", 0, -1, "line 1: bad character in section name", 1},
	{"[a] x\n", 0, -1, "line 1: unexpected text after section header", 1},
	{"[a]\n = v\n", 0, -1, "line 2: missing key before '='", 2},
	{"[a]\nk k = v\n", 0, -1, "line 2: bad character in key", 2},
	{"[a]\nk = v\0w\n", 10, -1, "line 2: NUL byte", 2},
	{"[a]\nk = v\rw\n", 0, -1,
	 "line 2: stray CR (line ends must be LF or CRLF)", 2},
	{"[a]\nk = v\r\r\n", 0, -1,
	 "line 2: stray CR (line ends must be LF or CRLF)", 2},
	{"[a]\nk = \x1b[31m\n", 0, -1, "line 2: control character", 2},
	{"[a]\nk = \x7f\n", 0, -1, "line 2: control character", 2},
};
/* clang-format on */

static void test_ini_table(void)
{
	for (size_t i = 0; i < sizeof ini_cases / sizeof ini_cases[0]; i++) {
		const struct ini_case *c = &ini_cases[i];
		struct rec r = {.out = ""};
		char err[128] = "unset";
		unsigned line = 99;
		size_t len = c->len ? c->len : strlen(c->in);
		int rc =
		    ini_parse(c->in, len, rec_cb, &r, &line, err, sizeof err);

		if (rc != c->rc)
			fprintf(stderr, "ini case %zu: rc %d err '%s'\n", i, rc,
			        err);
		CHECK_INT(rc, c->rc);
		CHECK_STR(rc == 0 ? r.out : err, c->out);
		CHECK_INT(line, rc == 0 ? 0 : c->line);
	}
}

/* Lines of exactly 4096 bytes pass; 4097 do not (CRLF does not count). */
static void test_ini_long_line(void)
{
	static char text[8192];
	char err[128];
	unsigned line;
	struct rec r = {.out = ""};

	/* Line 2 is text[4..4100). */
	memcpy(text, "[a]\nk=", 6);
	memset(text + 6, 'x', 4094);
	memcpy(text + 4100, "\r\n", 2);
	CHECK_INT(ini_parse(text, 4102, rec_cb, &r, &line, err, sizeof err), 0);
	text[4100] = 'x';
	CHECK_INT(ini_parse(text, 4102, rec_cb, &r, &line, err, sizeof err),
	          -1);
	CHECK_STR(err, "line 2: line too long (max 4096 bytes)");
	CHECK_INT(line, 2);
}

/* A callback's non-zero return stops the parse and is passed through. */
static void test_ini_stop(void)
{
	const char *text = "[a]\nk=1\n\nk=2\nk=3\n";
	struct rec r = {.out = "", .stop_at = 3};
	unsigned line;

	CHECK_INT(ini_parse(text, strlen(text), rec_cb, &r, &line, NULL, 0), 7);
	CHECK_INT(line, 4);
	CHECK_STR(r.out, "[a]\na.k=1\na.k=2\n");
	/* NULL err and err_line are allowed. */
	CHECK_INT(ini_parse("[", 1, rec_cb, &r, NULL, NULL, 0), -1);
}

/* ---- config_parse_size */

static void test_size(void)
{
	/* clang-format off */
	static const struct {
		const char *in;
		int rc;
		uint64_t want;
	} cases[] = {
		{"0", 0, 0}, {"1", 0, 1}, {"1000", 0, 1000}, {"1K", 0, 1024},
		{"1k", 0, 1024}, {"25M", 0, 26214400}, {"25m", 0, 26214400},
		{"2G", 0, 2147483648ULL}, {"0G", 0, 0},
		{"18446744073709551615", 0, UINT64_MAX},
		{"17179869183G", 0, 17179869183ULL << 30},
		{"18446744073709551616", -1, 0}, {"17179869184G", -1, 0},
		{"99999999999999999999999", -1, 0},
		{"", -1, 0}, {"K", -1, 0}, {"1KB", -1, 0}, {"1 K", -1, 0},
		{" 1K", -1, 0}, {"1K ", -1, 0}, {"-1", -1, 0}, {"+1", -1, 0},
		{"1.5M", -1, 0}, {"0x10", -1, 0}, {"1T", -1, 0},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t v = 12345;
		CHECK_INT(config_parse_size(cases[i].in, &v), cases[i].rc);
		CHECK(v == (cases[i].rc == 0 ? cases[i].want : 12345));
	}
	uint64_t v;
	CHECK_INT(config_parse_size(NULL, &v), -1);
}

/* ---- config_parse errors: the whole message, file and line included. */

/* clang-format off */
static const struct {
	const char *in, *err;
} err_cases[] = {
	{"[server]\nfoo = 1\n", "t.conf:2: unknown key 'foo' in [server]"},
	{"[server]\nHostname = a\n", "t.conf:2: unknown key 'Hostname' in [server]"},
	{"[bogus]\n", "t.conf:1: unknown section [bogus]"},
	{"hostname = x\n", "t.conf:1: key 'hostname' outside any [section]"},
	{"[smtp]\nmax_recipients = 1\nmax_recipients = 2\n",
	 "t.conf:3: duplicate key [smtp] max_recipients (first set on line 2)"},
	{"[smtp]\nlisten =\n[pop3]\n[smtp]\nlisten = 1.2.3.4:25\n",
	 "t.conf:5: duplicate key [smtp] listen (first set on line 2)"},
#define SZ "is not a size (bytes, or with a K, M or G suffix) from 1K to 2G"
	{"[smtp]\nmax_message_size = 25Q\n",
	 "t.conf:2: [smtp] max_message_size: '25Q' " SZ},
	{"[smtp]\nmax_message_size = 1023\n",
	 "t.conf:2: [smtp] max_message_size: '1023' " SZ},
	{"[smtp]\nmax_message_size = 2049M\n",
	 "t.conf:2: [smtp] max_message_size: '2049M' " SZ},
	{"[smtp]\nmax_message_size = 99999999999999999999G\n",
	 "t.conf:2: [smtp] max_message_size: '99999999999999999999G' " SZ},
	{"[smtp]\nmax_message_size =\n",
	 "t.conf:2: [smtp] max_message_size: empty value, expected a size "
	 "(bytes, or with a K, M or G suffix) from 1K to 2G"},
	{"[server]\nplaintext_auth_loopback = maybe\n",
	 "t.conf:2: [server] plaintext_auth_loopback: 'maybe' is not yes or no"},
	{"[smtp]\nmax_recipients = 0\n",
	 "t.conf:2: [smtp] max_recipients: '0' is not a number from 1 to 10000"},
	{"[smtp]\nmax_recipients = 10001\n",
	 "t.conf:2: [smtp] max_recipients: '10001' is not a number from 1 to 10000"},
	{"[smtp]\nmax_recipients = -1\n",
	 "t.conf:2: [smtp] max_recipients: '-1' is not a number from 1 to 10000"},
	{"[smtp]\nmax_recipients = 1e3\n",
	 "t.conf:2: [smtp] max_recipients: '1e3' is not a number from 1 to 10000"},
	{"[smtp]\nmax_connections = 4294967297\n",
	 "t.conf:2: [smtp] max_connections: '4294967297' is not a number from 1 to 100000"},
	{"[smtp]\ntimeout = 9\n",
	 "t.conf:2: [smtp] timeout: '9' is not a number from 10 to 3600"},
	{"[pop3]\ntimeout = 29\n",
	 "t.conf:2: [pop3] timeout: '29' is not a number from 600 to 86400"},
	{"[server]\nlog_level = verbose\n",
	 "t.conf:2: [server] log_level: 'verbose' is not one of error, warning, info, debug"},
	{"[pop3]\nexpire = 0\n",
	 "t.conf:2: [pop3] expire: '0' is not a number from 1 to 36500"},
	{"[pop3]\nexpire = never\n",
	 "t.conf:2: [pop3] expire: 'never' is not a number from 1 to 36500"},
	{"[pop3]\nmax_connections = 100001\n",
	 "t.conf:2: [pop3] max_connections: '100001' is not a number from 1 to 100000"},
	{"[smtp]\nlisten = localhost:25\n",
	 "t.conf:2: [smtp] listen: not a numeric IPv4 address in 'localhost:25' "
	 "(host names are not allowed)"},
	{"[smtp]\nsubmission = 1.2.3.4:99999\n",
	 "t.conf:2: [smtp] submission: bad port in '1.2.3.4:99999' (1-65535)"},
	{"[pop3]\nlisten = 1.2.3.4:110 1.2.3.4:110\n",
	 "t.conf:2: [pop3] listen: duplicate address '1.2.3.4:110'"},
	{"[smtp]\nlisten = 0.0.0.0:25\n[pop3]\nlisten = 127.0.0.1:25\n",
	 "t.conf:4: [pop3] listen: 127.0.0.1:25 collides with 0.0.0.0:25 in [smtp] listen"},
	{"[smtp]\nlisten = [::]:587\nsubmission = [::1]:587\n",
	 "t.conf:3: [smtp] submission: [::1]:587 collides with [::]:587 in [smtp] listen"},
	{"[pop3]\npop3s = 0.0.0.0:995\n",
	 "t.conf:2: [pop3] pop3s: implicit TLS needs [tls] cert and key"},
	{"[smtp]\nsubmissions = 0.0.0.0:465\n[tls]\ncert =\nkey =\n",
	 "t.conf:2: [smtp] submissions: implicit TLS needs [tls] cert and key"},
	{"[tls]\ncert = /a\n", "t.conf:2: [tls] cert is set but key is not"},
	{"[tls]\n\nkey = /a\n", "t.conf:3: [tls] key is set but cert is not"},
	{"[tls]\ncert = relative/c.pem\nkey = /k\n",
	 "t.conf:2: [tls] cert: 'relative/c.pem' is not absolute paths separated by spaces (at most 8)"},
	{"[server]\ndata_dir =\n",
	 "t.conf:2: [server] data_dir: empty value, expected an absolute path"},
	{"[server]\nuser =   # nobody\n",
	 "t.conf:2: [server] user: empty value, expected a user name"},
	{"[server]\nuser = -root\n",
	 "t.conf:2: [server] user: '-root' is not a user name"},
	{"[server]\nuser = a b\n", "t.conf:2: [server] user: 'a b' is not a user name"},
	{"[server]\nhostname = bad_name\n",
	 "t.conf:2: [server] hostname: 'bad_name' is not a host name"},
	{"[server]\nhostname = -a.example\n",
	 "t.conf:2: [server] hostname: '-a.example' is not a host name"},
	{"[server]\nhostname = a-.example\n",
	 "t.conf:2: [server] hostname: 'a-.example' is not a host name"},
	{"[server]\nhostname = a..example\n",
	 "t.conf:2: [server] hostname: 'a..example' is not a host name"},
	{"[server]\nhostname = mail.example.\n",
	 "t.conf:2: [server] hostname: 'mail.example.' is not a host name"},
	{"[server]\nhostname = "
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x\n",
	 "t.conf:2: [server] hostname: '"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x' "
	 "is not a host name"},
	{"[relay]\nhost = r.example\ntls = maybe\n",
	 "t.conf:3: [relay] tls: 'maybe' is not one of starttls, implicit, none"},
	{"[relay]\ntls = none\n", "t.conf:2: [relay] tls is set but [relay] host is not"},
	{"[relay]\nhost =\nuser = u\n", "t.conf:3: [relay] user is set but [relay] host is not"},
	{"[relay]\nhost = smtp.example.org\ntls = none\n",
	 "t.conf:3: [relay] tls = none is allowed only for a loopback host, "
	 "not 'smtp.example.org'"},
	{"[relay]\nhost = 192.0.2.1\ntls = none\n",
	 "t.conf:3: [relay] tls = none is allowed only for a loopback host, "
	 "not '192.0.2.1'"},
	{"[relay]\nhost = r.example\nuser = u\n",
	 "t.conf:3: [relay] user and password_file go together"},
	{"[relay]\nhost = r.example\npassword_file = /p\n",
	 "t.conf:3: [relay] user and password_file go together"},
#define RH "is not HOST[:PORT] or [IPv6][:PORT]"
	{"[relay]\nhost = r.example:0\n", "t.conf:2: [relay] host: 'r.example:0' " RH},
	{"[relay]\nhost = r.example:65536\n", "t.conf:2: [relay] host: 'r.example:65536' " RH},
	{"[relay]\nhost = r.example:\n", "t.conf:2: [relay] host: 'r.example:' " RH},
	{"[relay]\nhost = r.example:25:1\n", "t.conf:2: [relay] host: 'r.example:25:1' " RH},
	{"[relay]\nhost = [::1\n", "t.conf:2: [relay] host: '[::1' " RH},
	{"[relay]\nhost = [::1]x\n", "t.conf:2: [relay] host: '[::1]x' " RH},
	{"[relay]\nhost = [r.example]:25\n", "t.conf:2: [relay] host: '[r.example]:25' " RH},
	{"[relay]\nhost = ::1\n", "t.conf:2: [relay] host: '::1' " RH},
	{"[relay]\nhost = a b\n", "t.conf:2: [relay] host: 'a b' " RH},
	{"[relay]\nhost = :25\n", "t.conf:2: [relay] host: ':25' " RH},
	{"[relay]\nhost = r.example\npassword_file = p\n",
	 "t.conf:3: [relay] password_file: 'p' is not an absolute path"},
	{"[smtp\n", "t.conf:1: unterminated section header"},
	{"[server]\nhostname = a\x01" "b\n", "t.conf:2: control character"},
	{"[server]\nhostname\n", "t.conf:2: expected 'key = value' or '[section]'"},
	{"[tls]\ncert = /a.pem /b.pem\nkey = /a.key\n",
	 "t.conf:3: [tls] cert and key must list the same number of files "
	 "(paired by position)"},
	{"[tls]\ncert = /1 /2 /3 /4 /5 /6 /7 /8 /9\nkey = /k\n",
	 "t.conf:2: [tls] cert: '/1 /2 /3 /4 /5 /6 /7 /8 /9' is not absolute "
	 "paths separated by spaces (at most 8)"},
};
/* clang-format on */

static void test_config_errors(void)
{
	for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
		struct config *cfg = (struct config *)1;
		char err[512] = "";
		int rc = config_parse("t.conf", err_cases[i].in,
		                      strlen(err_cases[i].in), &cfg, err,
		                      sizeof err);
		CHECK_INT(rc, -1);
		CHECK(cfg == NULL);
		CHECK_STR(err, err_cases[i].err);
	}
}

static void check_defaults(const struct config *c, const char *name)
{
	char host[256] = "";

	gethostname(host, sizeof host - 1);
	CHECK_STR(c->path, name);
	CHECK_STR(c->server.hostname, host);
	CHECK_STR(c->server.data_dir, "/var/lib/postlite");
	CHECK_STR(c->server.user, "postlite");
	CHECK_INT(c->server.plaintext_auth_loopback, 0);
	CHECK(c->tls.cert == NULL && c->tls.key == NULL);
	CHECK_INT(c->smtp.listen.n + c->smtp.submission.n +
	              c->smtp.submissions.n + c->pop3.listen.n +
	              c->pop3.pop3s.n,
	          0);
	CHECK(c->smtp.max_message_size == 25 * 1024 * 1024);
	CHECK_INT(c->smtp.max_recipients, 100);
	CHECK_INT(c->smtp.max_connections, 200);
	CHECK_INT(c->smtp.timeout, 300);
	CHECK_INT(c->pop3.max_connections, 200);
	CHECK_INT(c->pop3.timeout, 600);
	CHECK_INT(c->pop3.expire, 0); /* never */
	CHECK_INT(c->server.log_level, LOG_LVL_INFO);
	CHECK(c->relay.host == NULL && c->relay.user == NULL &&
	      c->relay.password_file == NULL);
	CHECK_INT(c->relay.port, 0);
	CHECK_INT(c->relay.tls, RELAY_TLS_STARTTLS);
}

/* Absent keys, empty files, comment-only files and empty optional values
 * all give the defaults. */
static void test_defaults(void)
{
	static const char *const texts[] = {
	    "",
	    "\n",
	    "# nothing\n\n   # here\r\n",
	    "[server]\n[tls]\ncert =\nkey = # none\n[smtp]\nlisten =\n"
	    "submission =\nsubmissions=\n[pop3]\nlisten =\npop3s =\n"
	    "[relay]\nhost =\n",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct config *c;
		char err[256] = "";
		CHECK_INT(config_parse("d.conf", texts[i], strlen(texts[i]), &c,
		                       err, sizeof err),
		          0);
		CHECK_STR(err, "");
		if (c)
			check_defaults(c, "d.conf");
		config_free(c);
	}
	config_free(NULL);
}

/* The sample from DESIGN.md, verbatim. */
/* clang-format off */
static const char design_sample[] =
	"[server]\n"
	"hostname = mail.example.org        # EHLO name, Received: headers\n"
	"data_dir = /var/lib/postlite       # holds the SQLite store\n"
	"user = postlite                    # drop to this user after binding (when started as root)\n"
	"\n"
	"[tls]\n"
	"cert = /etc/postlite/tls/fullchain.pem\n"
	"key  = /etc/postlite/tls/privkey.pem\n"
	"\n"
	"[smtp]\n"
	"listen      = 0.0.0.0:25 [::]:25   # MX: inbound for local domains, no relay\n"
	"submission  = 0.0.0.0:587 [::]:587 # STARTTLS, then AUTH, required before MAIL\n"
	"submissions = 0.0.0.0:465 [::]:465 # implicit TLS, AUTH required\n"
	"max_message_size = 25M\n"
	"max_recipients = 100\n"
	"\n"
	"[pop3]\n"
	"listen = 0.0.0.0:110               # STLS; no password before TLS\n"
	"pop3s  = 0.0.0.0:995\n"
	"\n"
	"[relay]                            # optional smarthost; absent = direct delivery by MX\n"
	"host = smtp.provider.example:587\n"
	"tls  = starttls                    # starttls | implicit | none (none: loopback only)\n"
	"user = office@provider.example\n"
	"password_file = /etc/postlite/relay.secret\n";
/* clang-format on */

static void check_design(const struct config *c)
{
	CHECK_STR(c->server.hostname, "mail.example.org");
	CHECK_STR(c->server.data_dir, "/var/lib/postlite");
	CHECK_STR(c->server.user, "postlite");
	CHECK_STR(c->tls.cert, "/etc/postlite/tls/fullchain.pem");
	CHECK_STR(c->tls.key, "/etc/postlite/tls/privkey.pem");
	CHECK_INT(c->smtp.listen.n, 2);
	CHECK_STR(c->smtp.listen.addr[0].text, "0.0.0.0:25");
	CHECK_STR(c->smtp.listen.addr[1].text, "[::]:25");
	CHECK_INT(c->smtp.submission.n, 2);
	CHECK_STR(c->smtp.submission.addr[1].text, "[::]:587");
	CHECK_INT(c->smtp.submissions.n, 2);
	CHECK_STR(c->smtp.submissions.addr[0].text, "0.0.0.0:465");
	CHECK(c->smtp.max_message_size == 26214400);
	CHECK_INT(c->smtp.max_recipients, 100);
	CHECK_INT(c->pop3.listen.n, 1);
	CHECK_STR(c->pop3.listen.addr[0].text, "0.0.0.0:110");
	CHECK_INT(c->pop3.pop3s.n, 1);
	CHECK_STR(c->pop3.pop3s.addr[0].text, "0.0.0.0:995");
	CHECK_STR(c->relay.host, "smtp.provider.example");
	CHECK_INT(c->relay.port, 587);
	CHECK_INT(c->relay.tls, RELAY_TLS_STARTTLS);
	CHECK_STR(c->relay.user, "office@provider.example");
	CHECK_STR(c->relay.password_file, "/etc/postlite/relay.secret");
}

/* The DESIGN.md sample parses, as LF and as CRLF. Every truncation of it
 * either parses or fails with a file:line error, leaking nothing (ASan). */
static void test_design_sample(void)
{
	static char crlf[2 * sizeof design_sample];
	struct config *c;
	char err[512];
	size_t n = 0;

	CHECK_INT(config_parse("s.conf", design_sample, strlen(design_sample),
	                       &c, err, sizeof err),
	          0);
	if (c)
		check_design(c);
	config_free(c);

	for (const char *p = design_sample; *p; p++) {
		if (*p == '\n')
			crlf[n++] = '\r';
		crlf[n++] = *p;
	}
	CHECK_INT(config_parse("s.conf", crlf, n, &c, err, sizeof err), 0);
	if (c)
		check_design(c);
	config_free(c);

	for (size_t len = 0; len <= strlen(design_sample); len++) {
		int rc = config_parse("s.conf", design_sample, len, &c, err,
		                      sizeof err);
		CHECK(rc == 0 ? c != NULL
		              : c == NULL && strncmp(err, "s.conf:", 7) == 0);
		config_free(c);
	}
}

/* Values that parse, and what they give. */
static void test_values(void)
{
	/* clang-format off */
	static const struct {
		const char *in;
		const char *host;
		unsigned port;
		int tls, plain;
		uint64_t size;
	} cases[] = {
		{"[relay]\nhost = [2001:db8::1]:2525\n", "2001:db8::1", 2525, 0, 0, 0},
		{"[relay]\nhost = 127.0.0.1\ntls = none\n", "127.0.0.1", 25, 2, 0, 0},
		{"[relay]\nhost = LocalHost\ntls = NONE\n", "LocalHost", 25, 2, 0, 0},
		{"[relay]\nhost = [::1]\ntls = none\n", "::1", 25, 2, 0, 0},
		{"[relay]\nhost = r.example\ntls = implicit\n", "r.example", 465, 1, 0, 0},
		{"[relay]\nhost = r.example:2587\n", "r.example", 2587, 0, 0, 0},
		{"[server]\nplaintext_auth_loopback = yes\n", NULL, 0, 0, 1, 0},
		{"[server]\nplaintext_auth_loopback = TRUE\n", NULL, 0, 0, 1, 0},
		{"[server]\nplaintext_auth_loopback = on\n", NULL, 0, 0, 1, 0},
		{"[server]\nplaintext_auth_loopback = 1\n", NULL, 0, 0, 1, 0},
		{"[server]\nplaintext_auth_loopback = No\n", NULL, 0, 0, 0, 0},
		{"[server]\nplaintext_auth_loopback = false\n", NULL, 0, 0, 0, 0},
		{"[server]\nplaintext_auth_loopback = off\n", NULL, 0, 0, 0, 0},
		{"[server]\nplaintext_auth_loopback = 0\n", NULL, 0, 0, 0, 0},
		{"[smtp]\nmax_message_size = 1K\n", NULL, 0, 0, 0, 1024},
		{"[smtp]\nmax_message_size = 2G\n", NULL, 0, 0, 0, 2147483648ULL},
		{"[smtp]\nmax_message_size = 10485760\n", NULL, 0, 0, 0, 10485760},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config *c;
		char err[512] = "";
		int rc = config_parse("v.conf", cases[i].in,
		                      strlen(cases[i].in), &c, err, sizeof err);
		CHECK_INT(rc, 0);
		if (rc != 0) {
			fprintf(stderr, "value case %zu: %s\n", i, err);
			continue;
		}
		if (cases[i].host) {
			CHECK_STR(c->relay.host, cases[i].host);
			CHECK_INT(c->relay.port, cases[i].port);
			CHECK_INT(c->relay.tls, cases[i].tls);
		}
		CHECK_INT(c->server.plaintext_auth_loopback, cases[i].plain);
		if (cases[i].size)
			CHECK(c->smtp.max_message_size == cases[i].size);
		config_free(c);
	}
}

/* A too-short err buffer is cut and NUL-terminated; NULL err is allowed. */
static void test_short_err(void)
{
	struct config *c;
	char err[12];
	const char *text = "[bogus]\n";

	memset(err, 'x', sizeof err);
	CHECK_INT(
	    config_parse("t.conf", text, strlen(text), &c, err, sizeof err),
	    -1);
	CHECK_STR(err, "t.conf:1: u");
	CHECK_INT(config_parse("a-very-long-file-name.conf", text, strlen(text),
	                       &c, err, sizeof err),
	          -1);
	CHECK_STR(err, "a-very-long");
	CHECK_INT(config_parse("t.conf", text, strlen(text), &c, NULL, 0), -1);
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
}

static void test_load(void)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[256], want[512], err[512];
	struct config *c;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/missing.conf", dir);
	CHECK_INT(config_load(path, &c, err, sizeof err), -1);
	CHECK(c == NULL);
	snprintf(want, sizeof want, "%s: cannot open: %s", path,
	         strerror(ENOENT));
	CHECK_STR(err, want);

	CHECK_INT(config_load(dir, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot read: %s", dir,
	         strerror(EISDIR));
	CHECK_STR(err, want);

	snprintf(path, sizeof path, "%s/ok.conf", dir);
	write_file(path, "[smtp]\r\nmax_recipients = 7\r\n", 28);
	CHECK_INT(config_load(path, &c, err, sizeof err), 0);
	if (c) {
		CHECK_STR(c->path, path);
		CHECK_INT(c->smtp.max_recipients, 7);
	}
	config_free(c);

	write_file(path, "[smtp]\nmax_recipients = x\n", 26);
	CHECK_INT(config_load(path, &c, err, sizeof err), -1);
	snprintf(want, sizeof want,
	         "%s:2: [smtp] max_recipients: 'x' is not "
	         "a number from 1 to 10000",
	         path);
	CHECK_STR(err, want);

	/* Exactly 1 MiB of comments loads; one byte more does not. */
	size_t cap = 1024 * 1024;
	char *big = malloc(cap + 1);
	CHECK(big != NULL);
	memset(big, '#', cap + 1);
	for (size_t i = 99; i < cap + 1; i += 100)
		big[i] = '\n';
	write_file(path, big, cap);
	CHECK_INT(config_load(path, &c, err, sizeof err), 0);
	config_free(c);
	write_file(path, big, cap + 1);
	CHECK_INT(config_load(path, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: file too large (limit 1048576 bytes)",
	         path);
	CHECK_STR(err, want);
	free(big);

	unlink(path);
	rmdir(dir);
}

/* packaging/postlite.conf must load and say what DESIGN.md says. */
static void test_sample_file(const char *path)
{
	struct config *c;
	char err[512] = "";

	if (!path) {
		printf("config: sample file test skipped (no path given)\n");
		return;
	}
	CHECK_INT(config_load(path, &c, err, sizeof err), 0);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_STR(c->server.data_dir, "/var/lib/postlite");
	CHECK_STR(c->server.user, "postlite");
	CHECK_INT(c->server.plaintext_auth_loopback, 0);
	CHECK(c->tls.cert != NULL && c->tls.key != NULL);
	CHECK_INT(c->smtp.listen.n, 2);
	CHECK_INT(c->smtp.submission.n, 2);
	CHECK_INT(c->smtp.submissions.n, 2);
	CHECK_INT(c->pop3.listen.n, 2);
	CHECK_INT(c->pop3.pop3s.n, 2);
	CHECK(c->smtp.max_message_size == 25 * 1024 * 1024);
	CHECK_INT(c->smtp.max_recipients, 100);
	CHECK_INT(c->smtp.max_connections, 200);
	CHECK_INT(c->smtp.timeout, 300);
	CHECK_INT(c->pop3.max_connections, 200);
	CHECK_INT(c->pop3.timeout, 600);
	CHECK(c->relay.host == NULL);
	config_free(c);
}

/* Plus-addressing separators and the outbound queue's durations. */
static void test_queue_and_delimiter(void)
{
	struct config *c;
	char err[512];
	const char *def = "[server]\nhostname = mail.example.org\n";
	CHECK_INT(config_parse("t.conf", def, strlen(def), &c, err, sizeof err),
	          0);
	CHECK_STR(c->server.recipient_delimiter, "+");
	CHECK_INT(c->queue.lifetime, 5 * 86400);
	CHECK_INT(c->queue.retry_min, 300);
	CHECK_INT(c->queue.retry_max, 4 * 3600);
	CHECK(c->relay.ca_file == NULL);
	config_free(c);

	const char *set = "[server]\nrecipient_delimiter = +-\n"
	                  "log_level = debug\n"
	                  "[queue]\nlifetime = 2d\nretry_min = 90\n"
	                  "retry_max = 15m\n[pop3]\nexpire = 30\n";
	CHECK_INT(config_parse("t.conf", set, strlen(set), &c, err, sizeof err),
	          0);
	CHECK_STR(c->server.recipient_delimiter, "+-");
	CHECK_INT(c->queue.lifetime, 2 * 86400);
	CHECK_INT(c->queue.retry_min, 90);
	CHECK_INT(c->queue.retry_max, 900);
	CHECK_INT(c->pop3.expire, 30);
	CHECK_INT(c->server.log_level, LOG_LVL_DEBUG);
	config_free(c);

	/* Empty: plus-addressing off. */
	const char *off = "[server]\nrecipient_delimiter =\n";
	CHECK_INT(config_parse("t.conf", off, strlen(off), &c, err, sizeof err),
	          0);
	CHECK(c->server.recipient_delimiter == NULL);
	config_free(c);

	static const struct {
		const char *in, *err;
	} bad[] = {
		{"[server]\nrecipient_delimiter = @\n",
		 "t.conf:2: [server] recipient_delimiter: '@' is not 1 to 8 of "
		 "the characters !#$%&'*+-/=?^_`{|}~"},
		{"[queue]\nlifetime = 5x\n",
		 "t.conf:2: [queue] lifetime: '5x' is not a duration (seconds, or "
		 "with an s, m, h or d suffix) from 60 to 2592000"},
		{"[queue]\nlifetime = 59\n",
		 "t.conf:2: [queue] lifetime: '59' is not a duration (seconds, or "
		 "with an s, m, h or d suffix) from 60 to 2592000"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(config_parse("t.conf", bad[i].in, strlen(bad[i].in), &c,
		                       err, sizeof err), -1);
		CHECK_STR(err, bad[i].err);
	}
	uint64_t d;
	CHECK_INT(config_parse_duration("4h", &d), 0);
	CHECK_INT(d, 14400);
	CHECK_INT(config_parse_duration("h", &d), -1);
	CHECK_INT(config_parse_duration("99999999999999999999d", &d), -1);
}

int main(int argc, char **argv)
{
	const char *sample = argc > 1 ? argv[1] : NULL;

#ifdef POSTLITE_SAMPLE_CONF
	if (!sample)
		sample = POSTLITE_SAMPLE_CONF;
#endif
	test_ini_table();
	test_ini_long_line();
	test_ini_stop();
	test_size();
	test_config_errors();
	test_defaults();
	test_design_sample();
	test_values();
	test_short_err();
	test_queue_and_delimiter();
	test_load();
	test_sample_file(sample);
	return t_done("config");
}
