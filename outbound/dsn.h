/* Delivery status notifications (RFC 3464 multipart/report, RFC 3462
 * report-type=delivery-status): the bounce sent to the envelope sender
 * when a recipient fails for good. Pure: builds the whole message in a
 * buffer; the caller sends it with the null reverse-path (RFC 5321 4.5.5)
 * and never for a message whose own sender was null. */
#ifndef POSTLITE_DSN_H
#define POSTLITE_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct dsn_rcpt {
	const char *addr;       /* Final-Recipient */
	const char *status;     /* "5.1.1" (RFC 3463) */
	const char *remote_mta; /* host that answered, or NULL */
	const char *diag;       /* its reply ("550 5.1.1 ...") or our reason */
};

struct dsn_info {
	const char *reporting_mta; /* our host name */
	const char *sender;        /* the envelope sender: To: */
	const char *queue_id;
	int64_t arrival;           /* when we accepted the message */
	int64_t now;
	const struct dsn_rcpt *rcpt;
	size_t nrcpt;
	const char *headers;       /* the original's header block, or NULL */
	size_t headers_len;
};

/* Appends the complete message, CRLF line ends. Returns 0 or -1 (out
 * full). Remote text is reduced to printable ASCII. */
int dsn_build(const struct dsn_info *in, struct buf *out);

/* The RFC 3463 status for a reply: its enhanced code when the text
 * carries one of the right class ("550 5.1.1 ..." -> "5.1.1"), else
 * "5.0.0"/"4.0.0" from the reply code. out holds at least 16 bytes. */
void dsn_status_of(int code, const char *text, char *out, size_t outsz);

/* RFC 5322 3.3 date-time in UTC ("Mon, 01 Jan 2024 00:00:00 +0000"). */
void dsn_date(int64_t t, char *out, size_t outsz);

#endif
