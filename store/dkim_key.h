/* DKIM keys on disk (issue 9): data_dir/dkim/DOMAIN.key (PEM, mode 0600)
 * and data_dir/dkim/DOMAIN.selector (one line). The queue runner signs
 * mail whose From: domain has both; `postlite dkim keygen DOMAIN` makes
 * them and `postlite dns DOMAIN` prints the TXT record to publish. */
#ifndef POSTLITE_DKIM_KEY_H
#define POSTLITE_DKIM_KEY_H

#include <stddef.h>
#include <stdio.h>

/* RFC 8301 3.2: at least 1024 bits, 2048 recommended. */
#define DKIM_KEY_BITS 2048

/* Makes a key for domain (already normalised) under data_dir, with a
 * selector named after the month ("pl202611"; a later key for the same
 * domain gets another name, so the old record can stay published while
 * mail signed with it is in flight). uid/gid: owner to give the files
 * and the dkim directory when run as root (-1: leave them). Returns 0,
 * or -1 with a reason in err ("exists" when the domain has a key). */
int dkim_key_generate(const char *data_dir, const char *domain, int uid,
                      int gid, char *err, size_t errlen);

/* Writes the DNS record for domain's key, zone-file style:
 *   SELECTOR._domainkey.DOMAIN. 3600 IN TXT ( "v=DKIM1; k=rsa; " "p=..." )
 * Returns 0, 1 when the domain has no key, -1 for an unreadable key. */
int dkim_key_record(const char *data_dir, const char *domain, FILE *out);

#endif
