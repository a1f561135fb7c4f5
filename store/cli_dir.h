/* The admin CLI's verbs over the directory and the mailboxes (issue 5):
 * listings (with --json), aliases, quotas, mailbox listings, stats,
 * verify, import, and passwords given as crypt(3) hashes. Each returns a
 * CLI exit code (cli.h) after printing its result, or one line on
 * stderr. */
#ifndef POSTLITE_CLI_DIR_H
#define POSTLITE_CLI_DIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli;

int cli_domain_list(struct cli *c);
int cli_user_list(struct cli *c);
/* --hash-stdin: one line, a crypt(3) hash (store_user_set_hash). */
int cli_user_hash(struct cli *c, bool add);
int cli_alias_add(struct cli *c);
int cli_alias_remove(struct cli *c);
int cli_alias_list(struct cli *c);
int cli_quota_set(struct cli *c);
int cli_quota_show(struct cli *c);
int cli_mailbox_list(struct cli *c);
int cli_stats(struct cli *c);
int cli_verify(struct cli *c);
int cli_import(struct cli *c);

/* JSON output: s as a JSON string (quoted, escaped; the store keeps
 * valid UTF-8, other bytes become U+FFFD). */
void cli_json_str(FILE *f, const char *s);

/* Parses a size: digits with an optional K, M, G or T (powers of 1024).
 * Returns 0 and *out, or -1. */
int cli_parse_size(const char *s, uint64_t *out);

#endif
