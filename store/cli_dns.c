/* postlite dns DOMAIN (cli_dns.h).
 *
 * Records, all pointing at [server] hostname:
 *   MX    DOMAIN                  10 HOSTNAME.
 *   TXT   DOMAIN                  SPF: "v=spf1 mx -all" (~all with a relay)
 *   TXT   _dmarc.DOMAIN           "v=DMARC1; p=none; rua=mailto:postmaster@DOMAIN"
 *   SRV   _submissions._tcp ...   RFC 6186 + RFC 8314: implicit TLS has
 *   SRV   _submission._tcp ...    priority 0, STARTTLS 10 (preferred first)
 *   SRV   _pop3s._tcp / _pop3._tcp
 *   SRV   _imaps._tcp / _imap._tcp  "0 0 0 ." = not offered (RFC 6186 §4)
 * A listener that is disabled, or bound to loopback only, is published as
 * not offered; otherwise its (first public) port is used. */
#include "cli_dns.h"
#include "dkim_key.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "cli.h"
#include "config.h"
#include "listen.h"
#include "postlite_build.h"

#define DNS_TTL 3600
#define DNS_NAME_MAX 253

struct dns_rr {
	char name[DNS_NAME_MAX + 32]; /* absolute, no final dot */
	const char *type;
	char value[DNS_NAME_MAX + 96]; /* as in the zone file */
	char shown[DNS_NAME_MAX + 96]; /* for the table (no quotes) */
	const char *purpose;
};

/* Lower-cases s into out and checks it is an ASCII host name of at least
 * two labels (letters, digits, '-', not at a label's ends; labels 1-63, all
 * at most 253). One final dot is dropped. */
static int dns_name_check(const char *s, char *out, size_t outlen,
                          const char *what, char *err, size_t errlen)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX || n >= outlen) {
		snprintf(err, errlen, "%s '%s': %s", what, s,
		         n == 0 ? "empty" : "too long");
		return -1;
	}
	size_t label = 0, dots = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-') {
				snprintf(err, errlen, "%s '%s': empty label or "
				         "label ending in '-'", what, s);
				return -1;
			}
			label = 0;
			dots++;
		} else if (isascii(c) && (isalnum(c) || c == '-')) {
			if (c == '-' && label == 0) {
				snprintf(err, errlen, "%s '%s': label starting "
				         "with '-'", what, s);
				return -1;
			}
			if (++label > 63) {
				snprintf(err, errlen, "%s '%s': label longer "
				         "than 63", what, s);
				return -1;
			}
		} else {
			snprintf(err, errlen, "%s '%s': not a DNS name (letters, "
			         "digits, '-' and '.'; write an internationalised "
			         "name in its xn-- form)", what, s);
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	if (label == 0 || out[n - 1] == '-') {
		snprintf(err, errlen, "%s '%s': empty label or label ending "
		         "in '-'", what, s);
		return -1;
	}
	if (dots == 0) {
		snprintf(err, errlen, "%s '%s': not fully qualified (needs a "
		         "domain, e.g. mail.example.org)", what, s);
		return -1;
	}
	return 0;
}

/* The port to publish for a listener: the first entry not on loopback, or
 * 0 when there is none (disabled, or reachable from this machine only). */
static unsigned dns_public_port(const struct listen_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct sockaddr *sa =
			(const struct sockaddr *)&l->addr[i].sa;
		if (listen_is_loopback(sa))
			continue;
		if (sa->sa_family == AF_INET)
			return ntohs(((const struct sockaddr_in *)sa)->sin_port);
		if (sa->sa_family == AF_INET6)
			return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	return 0;
}

static void dns_srv(struct dns_rr *rr, const char *service,
                    const char *domain, unsigned prio, unsigned port,
                    const char *host, const char *purpose)
{
	snprintf(rr->name, sizeof rr->name, "_%s._tcp.%s", service, domain);
	rr->type = "SRV";
	if (port) {
		snprintf(rr->value, sizeof rr->value, "%u 1 %u %s.", prio, port,
		         host);
		snprintf(rr->shown, sizeof rr->shown, "%u 1 %u %s", prio, port,
		         host);
		rr->purpose = purpose;
	} else {
		snprintf(rr->value, sizeof rr->value, "0 0 0 .");
		snprintf(rr->shown, sizeof rr->shown, "0 0 0 .");
		rr->purpose = "not offered here (clients skip it)";
	}
}

/* The name relative to the zone, as DNS providers' web forms want it. */
static const char *dns_relative(const char *name, const char *domain,
                                char *buf, size_t len)
{
	size_t n = strlen(name), d = strlen(domain);
	if (strcmp(name, domain) == 0)
		return "@";
	if (n > d + 1 && name[n - d - 1] == '.' &&
	    strcmp(name + n - d, domain) == 0) {
		snprintf(buf, len, "%.*s", (int)(n - d - 1), name);
		return buf;
	}
	snprintf(buf, len, "%s.", name);
	return buf;
}

int dns_records_write(const struct config *cfg, const char *domain_arg,
                      FILE *out, char *err, size_t errlen)
{
	char domain[DNS_NAME_MAX + 1], host[DNS_NAME_MAX + 1];
	if (dns_name_check(domain_arg, domain, sizeof domain, "domain", err,
	                   errlen) != 0)
		return -1;
	const char *h = cfg->server.hostname ? cfg->server.hostname : "";
	if (dns_name_check(h, host, sizeof host, "[server] hostname", err,
	                   errlen) != 0)
		return -1;

	unsigned smtp = dns_public_port(&cfg->smtp.listen);
	unsigned sub = dns_public_port(&cfg->smtp.submission);
	unsigned subs = dns_public_port(&cfg->smtp.submissions);
	unsigned pop3 = dns_public_port(&cfg->pop3.listen);
	unsigned pop3s = dns_public_port(&cfg->pop3.pop3s);
	bool relay = cfg->relay.host != NULL;

	struct dns_rr rr[9];
	size_t n = 0;
	memset(rr, 0, sizeof rr);

	snprintf(rr[n].name, sizeof rr[n].name, "%s", domain);
	rr[n].type = "MX";
	snprintf(rr[n].value, sizeof rr[n].value, "10 %s.", host);
	snprintf(rr[n].shown, sizeof rr[n].shown, "10 %s", host);
	rr[n++].purpose = "mail for the domain comes to this server";

	const char *spf = relay ? "v=spf1 mx ~all" : "v=spf1 mx -all";
	snprintf(rr[n].name, sizeof rr[n].name, "%s", domain);
	rr[n].type = "TXT";
	snprintf(rr[n].value, sizeof rr[n].value, "\"%s\"", spf);
	snprintf(rr[n].shown, sizeof rr[n].shown, "%s", spf);
	rr[n++].purpose = "SPF: who may send mail as the domain";

	char dmarc[DNS_NAME_MAX + 64];
	snprintf(dmarc, sizeof dmarc,
	         "v=DMARC1; p=none; rua=mailto:postmaster@%s", domain);
	snprintf(rr[n].name, sizeof rr[n].name, "_dmarc.%s", domain);
	rr[n].type = "TXT";
	snprintf(rr[n].value, sizeof rr[n].value, "\"%s\"", dmarc);
	snprintf(rr[n].shown, sizeof rr[n].shown, "%s", dmarc);
	rr[n++].purpose = "DMARC policy; reports go to postmaster";

	dns_srv(&rr[n++], "submissions", domain, 0, subs, host,
	        "mail clients send here (implicit TLS)");
	dns_srv(&rr[n++], "submission", domain, 10, sub, host,
	        "mail clients send here (STARTTLS)");
	dns_srv(&rr[n++], "pop3s", domain, 0, pop3s, host,
	        "mail clients read here (implicit TLS)");
	dns_srv(&rr[n++], "pop3", domain, 10, pop3, host,
	        "mail clients read here (STLS)");
	dns_srv(&rr[n++], "imaps", domain, 0, 0, host, NULL);
	dns_srv(&rr[n++], "imap", domain, 0, 0, host, NULL);

	size_t wname = 0, wrel = 4, wval = 5;
	char rel[sizeof rr[0].name + 2];
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(rr[i].name) + 1;
		if (l > wname)
			wname = l;
		l = strlen(dns_relative(rr[i].name, domain, rel, sizeof rel));
		if (l > wrel)
			wrel = l;
		l = strlen(rr[i].shown);
		if (l > wval)
			wval = l;
	}

	fprintf(out, "; DNS records for %s (postlite %s, from %s).\n",
	        domain, POSTLITE_VERSION, cfg->path ? cfg->path : "config");
	fprintf(out, "; Publish them in the zone of %s.\n; %s also needs "
	        "A and/or AAAA records for this server's public\n; addresses, "
	        "and each address a PTR record (reverse DNS, set by whoever\n"
	        "; owns the address) back to %s.\n", domain, host, host);
	if (smtp != 25)
		fprintf(out, "; Warning: [smtp] listen has no public port-25 "
		        "listener: other servers\n; deliver only to port 25, "
		        "so mail for %s cannot arrive here.\n", domain);
	if (relay)
		fprintf(out, "; Outgoing mail leaves through [relay] %s: add "
		        "the relay's SPF include\n; (from its documentation) "
		        "before ~all.\n", cfg->relay.host);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s.%*s %u IN %-4s %s\n", rr[i].name,
		        (int)(wname - strlen(rr[i].name) - 1), "", DNS_TTL,
		        rr[i].type, rr[i].value);
	if (dkim_key_record(cfg->server.data_dir, domain, out) != 0)
		fprintf(out, "; DKIM: no key for %s yet (postlite dkim keygen "
		        "%s makes one).\n", domain, domain);

	fprintf(out, ";\n; The same as a table (Name relative to %s; "
	        "\"@\" is %s itself):\n", domain, domain);
	fprintf(out, "; %-*s  %-4s  %-*s  %s\n", (int)wrel, "Name", "Type",
	        (int)wval, "Value", "Purpose");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "; %-*s  %-4s  %-*s  %s\n", (int)wrel,
		        dns_relative(rr[i].name, domain, rel, sizeof rel),
		        rr[i].type, (int)wval, rr[i].shown, rr[i].purpose);
	return 0;
}

int cli_dns(const struct config *cfg, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: postlite dns DOMAIN\n");
		return CLI_EXIT_USAGE;
	}
	char err[512];
	if (dns_records_write(cfg, argv[0], stdout, err, sizeof err) != 0) {
		fprintf(stderr, "postlite: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
