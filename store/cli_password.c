/* Reading a new password for `postlite user add|passwd`: from a pipe with
 * --password-stdin, or typed twice at a terminal without echo. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "password.h"

/* The terminal's settings while echo is off, for the signal handler. */
static struct termios cli_tty_saved;

static void cli_tty_restore_and_die(int sig)
{
	/* Both async-signal-safe. Leaving a shell without echo would be
	 * worse than the lost prompt. */
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_tty_saved);
	_exit(128 + sig);
}

/* Reads one line into buf; strips "\n" or "\r\n". Returns 0, 1 if it does
 * not fit, -1 at end of input or on a read error. */
static int cli_read_line(char *buf, size_t size)
{
	if (!fgets(buf, (int)size, stdin))
		return -1;
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n') {
		buf[--n] = '\0';
	} else if (!feof(stdin)) {
		/* Swallow the rest of the line: it must not reach a shell. */
		int c;
		while ((c = getchar()) != EOF && c != '\n')
			;
		return 1;
	}
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

/* Prompts on stderr and reads a line with echo off. */
static int cli_read_hidden(const char *prompt, char *buf, size_t size)
{
	struct termios off;
	struct sigaction sa, old[4];
	static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

	if (tcgetattr(STDIN_FILENO, &cli_tty_saved) != 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cli_tty_restore_and_die;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	off = cli_tty_saved;
	off.c_lflag &= ~(tcflag_t)ECHO;
	off.c_lflag |= ECHONL; /* the Enter still shows */
	int rc = -1;
	/* Echo off before the prompt: TCSAFLUSH drops what was typed
	 * ahead, which must not include the answer. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &off) == 0) {
		fputs(prompt, stderr);
		fflush(stderr);
		rc = cli_read_line(buf, size);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_tty_saved);
	}
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	return rc;
}

int cli_password_read(bool from_stdin, char *buf, size_t size)
{
	char again[PASSWORD_MAX + 2];
	int rc;

	if (from_stdin) {
		rc = cli_read_line(buf, size);
	} else if (isatty(STDIN_FILENO)) {
		rc = cli_read_hidden("New password: ", buf, size);
		if (rc == 0 && buf[0]) { /* empty: refused below at once */
			rc = cli_read_hidden("Retype new password: ", again,
			                     sizeof again);
			if (rc == 0 && strcmp(buf, again) != 0) {
				explicit_bzero(again, sizeof again);
				fprintf(stderr, "postlite: passwords do not "
				        "match\n");
				return CLI_EXIT_FAIL;
			}
			explicit_bzero(again, sizeof again);
		}
	} else {
		fprintf(stderr, "postlite: stdin is not a terminal: use "
		        "--password-stdin\n");
		return CLI_EXIT_USAGE;
	}

	if (rc < 0) {
		fprintf(stderr, "postlite: no password given%s%s\n",
		        ferror(stdin) ? ": " : "",
		        ferror(stdin) ? strerror(errno) : "");
		return CLI_EXIT_FAIL;
	}
	if (rc > 0 || strlen(buf) > PASSWORD_MAX) {
		fprintf(stderr, "postlite: password too long (limit %d bytes)\n",
		        PASSWORD_MAX);
		return CLI_EXIT_FAIL;
	}
	if (!buf[0]) {
		fprintf(stderr, "postlite: empty password refused\n");
		return CLI_EXIT_FAIL;
	}
	if (!password_acceptable(buf)) {
		fprintf(stderr, "postlite: password refused (line break)\n");
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}
