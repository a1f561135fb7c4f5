/* postlite dns DOMAIN: the DNS records to publish for a mail domain served
 * by this configuration (MX, SPF, DMARC, RFC 6186/8314 SRV records), as
 * zone-file lines followed by a readable table in zone-file comments. */
#ifndef POSTLITE_CLI_DNS_H
#define POSTLITE_CLI_DNS_H

#include <stddef.h>
#include <stdio.h>

struct config;

/* The verb: argv[0] is DOMAIN (argc must be 1). Prints to stdout; on error
 * one line on stderr. Returns a CLI exit code (0 ok, 1 failed, 2 usage). */
int cli_dns(const struct config *cfg, int argc, char **argv);

/* Writes the records for domain to out. Returns 0, or -1 with one line of
 * reason in err (bad domain, [server] hostname not fully qualified). */
int dns_records_write(const struct config *cfg, const char *domain,
                      FILE *out, char *err, size_t errlen);

#endif
