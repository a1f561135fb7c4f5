/* Pure SMTP command parsing (RFC 5321 4.1): bytes in, a verb and views out.
 *
 * Nothing here allocates, keeps state between calls or touches a socket:
 * every function reads (p, len) and fills a caller struct whose views point
 * into those bytes. The lines given are command lines without their CRLF,
 * as the line reader (common/linereader.h) delivers them. Policy (which
 * command is allowed when, which reply to send) is the session's business;
 * the parser only says what the bytes are. */
#ifndef POSTLITE_SMTP_PARSE_H
#define POSTLITE_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1: size limits. */
#define SMTP_LINE_MAX 510   /* command line without CRLF (512 with it) */
/* MAIL FROM may be longer by what its parameters add: SIZE 26 (RFC 1870
 * 8), BODY=8BITMIME 9 (RFC 6152 2), SMTPUTF8 10 (RFC 6531 3.4), AUTH= 500
 * (RFC 4954 5). */
#define SMTP_MAIL_LINE_MAX (SMTP_LINE_MAX + 26 + 9 + 10 + 500)
#define SMTP_LOCAL_MAX 64   /* 4.5.3.1.1 local part */
#define SMTP_DOMAIN_MAX 255 /* 4.5.3.1.2 domain */
#define SMTP_PATH_MAX 256   /* 4.5.3.1.3 path, "<" and ">" included */
#define SMTP_PARAMS_MAX 8   /* ESMTP parameters accepted on one MAIL/RCPT */

/* A view into the caller's bytes; not NUL-terminated. */
struct smtp_view {
	const char *p;
	size_t len;
};

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH, /* RFC 4954 */
	SMTP_VERB_BDAT, /* RFC 3030 */
	SMTP_VERB_HTTP, /* "GET / HTTP/1.1" and friends: a web client */
	SMTP_VERB_COUNT
};

struct smtp_cmd {
	enum smtp_verb verb;
	struct smtp_view name; /* the verb as sent (for logs) */
	struct smtp_view arg;  /* text after the verb, surrounding blanks
	                          trimmed; len 0 when there is none */
};

enum smtp_cmd_status {
	SMTP_CMD_OK,      /* cmd filled; verb may still be SMTP_VERB_UNKNOWN */
	SMTP_CMD_EMPTY,   /* empty or blank line */
	SMTP_CMD_BADCHAR, /* a control character (not SP/HTAB) in the line */
};

/* Splits a command line into verb and argument. Verbs are matched without
 * regard to case (RFC 5321 2.4); the verb ends at the first SP or HTAB.
 * Always fills *cmd (verb UNKNOWN unless OK). */
enum smtp_cmd_status smtp_parse_command(const char *line, size_t len,
                                        struct smtp_cmd *cmd);

/* Name of a verb in upper case ("MAIL"), "?" for UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb v);

/* ---- MAIL FROM / RCPT TO arguments ------------------------------------ */

/* Parse flags. */
#define SMTP_PARSE_UTF8 0x1u /* RFC 6531: allow UTF-8 in local part and
                                domain (SMTPUTF8 sessions; issue 3) */

enum smtp_body {
	SMTP_BODY_NONE = 0, /* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME, /* RFC 6152 */
};

struct smtp_path {
	struct smtp_view mailbox; /* "local@domain" as written; len 0 for <> */
	struct smtp_view local;   /* local part as written (quotes kept) */
	struct smtp_view domain;  /* domain, or address literal with brackets;
	                             len 0 for <> and <Postmaster> */
	bool null;       /* the null reverse-path "<>" (MAIL only) */
	bool quoted;     /* the local part is a quoted-string */
	bool literal;    /* the domain is an address literal */
	bool postmaster; /* RCPT TO:<Postmaster> without a domain (4.1.1.3) */
};

struct smtp_param {
	struct smtp_view key;   /* esmtp-keyword */
	struct smtp_view value; /* esmtp-value; p == NULL when no "=" */
};

struct smtp_path_args {
	struct smtp_path path;
	struct smtp_param param[SMTP_PARAMS_MAX]; /* every parameter, raw */
	size_t nparam;
	int unknown; /* index into param of the first parameter this parser
	                does not know (the session replies 555), or -1 */
	/* Known MAIL parameters, interpreted: */
	bool has_size;
	uint64_t size;       /* RFC 1870 SIZE=, overflow-checked */
	enum smtp_body body; /* RFC 6152 BODY= */
	bool smtputf8;       /* RFC 6531 3.4: SMTPUTF8 (no value) */
	bool has_auth;       /* RFC 4954 5: AUTH=<> or AUTH=xtext */
};

enum smtp_arg_status {
	SMTP_ARG_OK,
	SMTP_ARG_SYNTAX,    /* not "FROM:<...>" / "TO:<...>", junk after ">" */
	SMTP_ARG_BAD_ADDR,  /* the mailbox breaks RFC 5321 4.1.2 (also <> in
	                       RCPT) */
	SMTP_ARG_TOO_LONG,  /* local part > 64, domain > 255, path > 256 */
	SMTP_ARG_ROUTE,     /* a source route "<@a,@b:u@c>": refused, see .c */
	SMTP_ARG_BAD_PARAM, /* malformed parameter, bad or duplicate SIZE/BODY
	                       value, more than SMTP_PARAMS_MAX parameters */
};

/* Parses the argument of MAIL ("FROM:<path> [params]"): the reverse-path,
 * which may be the null path <>, and the parameters (SIZE, BODY, SMTPUTF8
 * and AUTH known; any other is recorded in `unknown`). A duplicate known
 * parameter, SMTPUTF8 with a value, or an AUTH value that is neither "<>"
 * nor xtext (RFC 3461 4) is SMTP_ARG_BAD_PARAM. "FROM:" is matched without regard to
 * case; blanks after the colon are tolerated (many clients send them).
 * Always fills *out; on failure its contents are unspecified. */
enum smtp_arg_status smtp_parse_mail(const char *arg, size_t len,
                                     unsigned flags,
                                     struct smtp_path_args *out);

/* Same for RCPT ("TO:<path> [params]"): the forward-path, or <Postmaster>
 * without a domain. No RCPT parameter is known yet: all land in
 * `unknown`. */
enum smtp_arg_status smtp_parse_rcpt(const char *arg, size_t len,
                                     unsigned flags,
                                     struct smtp_path_args *out);

/* Checks an EHLO/HELO argument: one token that is a host name (letters,
 * digits, '-', '_' and '.', at most 255 octets: '_' and a trailing dot are
 * tolerated because real clients send them) or an address literal
 * (RFC 5321 4.1.3). True when acceptable; the token is then safe to copy
 * into a Received: header. */
bool smtp_parse_helo(const char *arg, size_t len);

/* True when the view holds a byte >= 0x80 (an RFC 6531 address). */
bool smtp_view_is_utf8(const struct smtp_view *v);

/* ---- BDAT and AUTH arguments -------------------------------------------- */

enum smtp_bdat_status {
	SMTP_BDAT_OK,
	SMTP_BDAT_BAD_MARKER, /* a valid size, then something but "LAST":
	                         size is set, so the chunk can be skipped */
	SMTP_BDAT_SYNTAX,     /* no size, or one over SMTP_BDAT_SIZE_MAX:
	                         the chunk's end cannot be known */
};

/* The largest chunk size taken as a number (2^62): a bigger one cannot
 * be skipped in any sensible time, so it counts as a syntax error. */
#define SMTP_BDAT_SIZE_MAX (UINT64_C(1) << 62)

/* RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ], where
 * chunk-size = 1*DIGIT and end-marker = "LAST" (any case). arg is the
 * command argument as smtp_parse_command gives it. Fills *size and *last
 * (false unless OK). */
enum smtp_bdat_status smtp_parse_bdat(const char *arg, size_t len,
                                      uint64_t *size, bool *last);

/* RFC 4954 4: "AUTH" SP sasl-mech [SP initial-response]. sasl-mech is
 * 1*20 of [A-Z0-9-_] (RFC 4422 3.1; matched without regard to case by
 * the caller); the initial response is base64 or "=" (checked by the
 * SASL decoder, not here: it must only be one token). */
struct smtp_auth_args {
	struct smtp_view mech;
	struct smtp_view resp; /* len 0: no initial response */
};

/* Returns false for a missing or malformed mechanism or more than two
 * words. Views point into arg. */
bool smtp_parse_auth(const char *arg, size_t len, struct smtp_auth_args *out);

#endif
