/* Private to the admin CLI (cli.c, cli_password.c). */
#ifndef POSTLITE_CLI_H
#define POSTLITE_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes: sysexits.h's EX_CONFIG for a bad config file, so scripts
 * (and systemd) can tell it from a failed operation. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_CONFIG 78

/* Reads a new password into buf (size > PASSWORD_MAX + 1).
 * from_stdin: one line from stdin, CR/LF stripped, no prompt. Otherwise
 * stdin must be a terminal: prompts twice on stderr with echo off
 * (restored on every path, ^C included). Returns CLI_EXIT_OK, or an exit
 * code after printing one line on stderr (empty, too long, mismatch:
 * FAIL; stdin not a terminal without --password-stdin: USAGE). */
int cli_password_read(bool from_stdin, char *buf, size_t size);

#endif
