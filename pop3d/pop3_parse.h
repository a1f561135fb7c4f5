/* POP3 command parser: one command line (CRLF already removed) in, a verb
 * and up to two argument views out. Pure: no allocation, no globals, no I/O,
 * so it can be fuzzed alone.
 *
 * Grammar (RFC 1939 3, RFC 2449 3 and 4):
 *   line    = keyword *(SP argument)          ; single SP between fields
 *   keyword = 3*4VCHAR                        ; case-insensitive (ASCII);
 *                                             ; RFC 2449 3 ("UTF8")
 *   a line is at most 255 octets including CRLF (POP3_LINE_MAX without it);
 *   an argument is at most 40 octets (POP3_ARG_MAX), except the USER name
 *   and the PASS password, which may use the whole line (full addresses and
 *   long passwords exceed 40; RFC 1939 7 lets PASS contain spaces).
 * Message numbers are digits only (no sign, no '+', no spaces), checked for
 * overflow, 1..POP3_MSGNUM_MAX: "LIST 4294967297" is an error, never
 * message 1. TOP's line count is digits only, 0..UINT32_MAX. */
#ifndef POSTLITE_POP3_PARSE_H
#define POSTLITE_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define POP3_LINE_MAX 253 /* RFC 2449 4: 255 octets with CRLF */
#define POP3_ARG_MAX 40   /* RFC 2449 3 */
#define POP3_MSGNUM_MAX 2147483647u

enum pop3_verb {
	POP3_CMD_NONE = 0, /* keyword not recognised */
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_UIDL,
	POP3_CMD_RETR,
	POP3_CMD_TOP,
	POP3_CMD_DELE,
	POP3_CMD_RSET,
	POP3_CMD_NOOP,
	POP3_CMD_QUIT,
	POP3_CMD_CAPA,
	POP3_CMD_STLS,
	POP3_CMD_AUTH,
	POP3_CMD_UTF8, /* RFC 6856 2 */
	POP3_CMD_COUNT
};

enum pop3_parse_status {
	POP3_PARSE_OK = 0,
	POP3_PARSE_EMPTY,        /* zero-length line */
	POP3_PARSE_TOO_LONG,     /* longer than POP3_LINE_MAX */
	POP3_PARSE_BAD_CHAR,     /* control byte (NUL, CR, LF, TAB, DEL) in the
	                            line, or a non-ASCII byte where not allowed */
	POP3_PARSE_UNKNOWN,      /* keyword not recognised */
	/* From here on the keyword was recognised: cmd->verb is set. */
	POP3_PARSE_MISSING_ARG,  /* fewer arguments than the command needs */
	POP3_PARSE_EXTRA_ARG,    /* more arguments than it takes (incl. a
	                            trailing space) */
	POP3_PARSE_EMPTY_ARG,    /* two spaces in a row */
	POP3_PARSE_ARG_TOO_LONG, /* argument over POP3_ARG_MAX */
	POP3_PARSE_BAD_NUMBER,   /* message number / line count malformed or
	                            out of range; cmd->errarg says which */
};

/* A view into the caller's line; valid as long as the line is. */
struct pop3_view {
	const char *p;
	size_t len;
};

struct pop3_cmd {
	enum pop3_verb verb;
	unsigned argc;
	struct pop3_view arg[2];
	uint32_t num[2]; /* value of arg[i] when it is a number */
	unsigned errarg; /* index of the argument an error is about */
};

/* Parses line[0..len) (no CRLF). Always fills *cmd (zeroed first). Returns
 * POP3_PARSE_OK with verb, argc, arg[] and num[] set, or the first error
 * found. Statuses at or after POP3_PARSE_MISSING_ARG leave cmd->verb set so
 * the caller can apply state policy before reporting the syntax error. */
enum pop3_parse_status pop3_parse(const char *line, size_t len,
                                  struct pop3_cmd *cmd);

/* "USER", "RETR", ... or "?" for POP3_CMD_NONE / out of range. */
const char *pop3_verb_name(enum pop3_verb v);

/* "OK", "TOO_LONG", ... for logs and tests. */
const char *pop3_parse_status_name(enum pop3_parse_status st);

#endif
