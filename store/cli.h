/* Private to the admin CLI (cli*.c). */
#ifndef POSTLITE_CLI_H
#define POSTLITE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct config;

/* Exit codes (postlite(8) EXIT STATUS): sysexits.h's EX_CONFIG for a bad
 * config file and EX_TEMPFAIL for trouble that passes (the store busy,
 * the disk full), so scripts (and systemd) can tell them from a failed
 * operation; DAMAGED when verify finds the store damaged. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_DAMAGED 3
#define CLI_EXIT_TEMPFAIL 75
#define CLI_EXIT_CONFIG 78

/* One run of the CLI: what the verbs see. */
struct cli {
	const struct config *cfg;
	struct store *st;
	char **args;         /* the verb's operands */
	bool password_stdin; /* --password-stdin */
	bool hash_stdin;     /* --hash-stdin: a crypt(3) hash, not a password */
	bool json;           /* --json: list verbs print JSON */
};

/* Prints the store's reason for a failure (one line) and returns the exit
 * code: TEMPFAIL for a temporary status, else FAIL. */
int cli_store_fail(struct cli *c, enum store_status s, const char *arg);
/* OK: CLI_EXIT_OK; otherwise cli_store_fail. */
int cli_result(struct cli *c, enum store_status s, const char *arg);

/* Reads a new password into buf (size > PASSWORD_MAX + 1).
 * from_stdin: one line from stdin, CR/LF stripped, no prompt. Otherwise
 * stdin must be a terminal: prompts twice on stderr with echo off
 * (restored on every path, ^C included). Returns CLI_EXIT_OK, or an exit
 * code after printing one line on stderr (empty, too long, mismatch:
 * FAIL; stdin not a terminal without --password-stdin: USAGE). */
int cli_password_read(bool from_stdin, char *buf, size_t size);

#endif
