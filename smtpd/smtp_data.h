/* The DATA decoder: a pure byte state machine (after qmail-smtpd's blast()).
 *
 * Feed it the bytes that follow "354"; it writes the message body with the
 * dot-stuffing undone (RFC 5321 4.5.2) into a caller buffer and stops right
 * after the terminator CRLF "." CRLF, leaving the bytes behind it (the next
 * pipelined command) unconsumed. It ends ONLY on CRLF.CRLF: a bare LF or a
 * bare CR never takes part in a line end, so "LF.LF", "CR.CR", "CRLF.LF" and
 * friends are message text, never an end (SMTP smuggling, RFC 5321 4.1.1.4
 * and 2.3.8). Such bytes, and NUL, are flagged; the session refuses the
 * message after the real terminator, with one reply. The body it emits
 * keeps the CRLF that precedes the terminator (the last line's end).
 *
 * No allocation, no globals. */
#ifndef POSTLITE_SMTP_DATA_H
#define POSTLITE_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF. */
#define SMTP_DATA_LINE_MAX 1000
/* Longer lines are tolerated (real mailers send them) up to this many
 * octets; the session refuses a message with a longer one (500 5.5.2).
 * The decoder only measures (struct smtp_data.longest). */
#define SMTP_DATA_LINE_HARD_MAX 16384

/* Flags, accumulated over the whole message. */
#define SMTP_DATA_BARE_LF 0x01u   /* LF not preceded by CR */
#define SMTP_DATA_BARE_CR 0x02u   /* CR not followed by LF */
#define SMTP_DATA_NUL 0x04u       /* a NUL octet */
#define SMTP_DATA_TOO_BIG 0x08u   /* body octets > max */
#define SMTP_DATA_LONG_LINE 0x10u /* a line over SMTP_DATA_LINE_MAX: only
                                     reported; the hook for a policy */
/* Flags that make the message unacceptable (smuggling defence). */
#define SMTP_DATA_BAD_BYTES (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR | SMTP_DATA_NUL)

enum smtp_data_result {
	SMTP_DATA_NEED_MORE, /* all input consumed, no terminator yet */
	SMTP_DATA_OUT_FULL,  /* stopped because out had < 2 bytes of room:
	                        drain out and call again with the rest */
	SMTP_DATA_END,       /* terminator consumed; *used includes it */
};

struct smtp_data {
	unsigned state;   /* private */
	unsigned flags;   /* SMTP_DATA_* seen so far */
	uint64_t octets;  /* body octets decoded (after unstuffing) */
	uint64_t max;     /* octet limit; 0 = none */
	size_t line_len;  /* octets of the current line as received */
	size_t longest;   /* octets of the longest line so far, as received
	                     (CRLF included; a held-back byte may be missing) */
};

/* Starts a message; max as above. */
void smtp_data_init(struct smtp_data *d, uint64_t max);

/* Decodes in[0..inlen). Body bytes go to out[0..outcap) and *produced says
 * how many; out may be NULL (outcap then ignored) to scan and count
 * without keeping anything, e.g. once the message is refused. One input
 * byte yields at most two output bytes, so decoding stops while out has
 * fewer than 2 bytes free. *used says how many input bytes were consumed.
 * Octets and flags keep being counted after TOO_BIG or a bad byte. */
enum smtp_data_result smtp_data_decode(struct smtp_data *d, const char *in,
                                       size_t inlen, char *out, size_t outcap,
                                       size_t *used, size_t *produced);

/* ---- BDAT (RFC 3030) ------------------------------------------------------
 *
 * BDAT chunks carry the message as is: no dot-stuffing, no terminator (the
 * chunk sizes frame it). The same rules hold as for DATA, checked across
 * chunk boundaries with the same struct: bare CR, bare LF and NUL are
 * flagged, octets counted against max, line lengths measured. The caller
 * stores the bytes unchanged. */

/* Scans in[0..n), the next bytes of the message. */
void smtp_bdat_scan(struct smtp_data *d, const char *in, size_t n);

/* The last chunk has been scanned: a CR held at the very end is bare.
 * Returns true when the message is not empty and does not end with CRLF:
 * the caller then appends CRLF (RFC 5322 2.1: a message is lines). */
bool smtp_bdat_end(struct smtp_data *d);

#endif
