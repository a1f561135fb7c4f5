/* RFC 3464 bounces (dsn.h). */
#include "dsn.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void dsn_date(int64_t t, char *out, size_t outsz)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
	                                   "Thu", "Fri", "Sat"};
	static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	         days[tm.tm_wday], tm.tm_mday, mons[tm.tm_mon],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void dsn_status_of(int code, const char *text, char *out, size_t outsz)
{
	char cls = code >= 500 ? '5' : '4';
	/* After the reply code and its separator: '-' when the text is the
	 * first line of a multi-line reply ("550-5.1.1 ..."). */
	const char *p = NULL;
	if (text && isdigit((unsigned char)text[0]) &&
	    isdigit((unsigned char)text[1]) &&
	    isdigit((unsigned char)text[2]) &&
	    (text[3] == ' ' || text[3] == '-'))
		p = text + 3;
	else if (text)
		p = strchr(text, ' ');
	/* status-code = class "." subject "." detail, 1-3 digits each */
	if (p && p[1] == cls && p[2] == '.') {
		const char *q = p + 3;
		int d1 = 0, d2 = 0;
		while (*q >= '0' && *q <= '9' && d1 < 4) {
			q++;
			d1++;
		}
		if (d1 && d1 < 4 && *q == '.') {
			q++;
			while (*q >= '0' && *q <= '9' && d2 < 4) {
				q++;
				d2++;
			}
			if (d2 && d2 < 4 && (*q == ' ' || *q == '\0')) {
				snprintf(out, outsz, "%.*s", (int)(q - p - 1),
				         p + 1);
				return;
			}
		}
	}
	snprintf(out, outsz, "%c.0.0", cls);
}

/* Printable ASCII only: remote text must not forge structure. */
static void clean(char *dst, size_t dsz, const char *s)
{
	size_t j = 0;
	for (; s && *s && j + 1 < dsz; s++)
		dst[j++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	dst[j] = '\0';
}

int dsn_build(const struct dsn_info *in, struct buf *out)
{
	char date[64], arrival[64], boundary[96], line[600], addr[300];
	dsn_date(in->now, date, sizeof date);
	dsn_date(in->arrival, arrival, sizeof arrival);
	snprintf(boundary, sizeof boundary, "%s/%lld/%s", in->queue_id,
	         (long long)in->now, in->reporting_mta);
	const char *h = in->reporting_mta;
	int rc = 0;
	rc |= buf_printf(out,
	                 "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	                 "To: <%s>\r\n"
	                 "Subject: Undelivered Mail Returned to Sender\r\n"
	                 "Date: %s\r\n"
	                 "Message-ID: <%s.dsn.%lld@%s>\r\n"
	                 /* RFC 3834 5: not to be answered automatically */
	                 "Auto-Submitted: auto-replied\r\n"
	                 "MIME-Version: 1.0\r\n"
	                 "Content-Type: multipart/report; "
	                 "report-type=delivery-status;\r\n"
	                 "\tboundary=\"%s\"\r\n"
	                 "\r\n"
	                 "This is a MIME-encapsulated message.\r\n"
	                 "\r\n"
	                 "--%s\r\n"
	                 "Content-Description: Notification\r\n"
	                 "Content-Type: text/plain; charset=us-ascii\r\n"
	                 "\r\n"
	                 "This is the mail system at host %s.\r\n"
	                 "\r\n"
	                 "Your message could not be delivered to one or more "
	                 "recipients.\r\nIt is attached below.\r\n\r\n",
	                 h, in->sender, date, in->queue_id,
	                 (long long)in->now, h, boundary, boundary, h);
	for (size_t i = 0; i < in->nrcpt; i++) {
		clean(addr, sizeof addr, in->rcpt[i].addr);
		clean(line, sizeof line, in->rcpt[i].diag);
		rc |= buf_printf(out, "<%s>: %s\r\n", addr, line);
	}
	/* RFC 3464 2.2: per-message fields, then one block per recipient. */
	rc |= buf_printf(out,
	                 "\r\n--%s\r\n"
	                 "Content-Description: Delivery report\r\n"
	                 "Content-Type: message/delivery-status\r\n"
	                 "\r\n"
	                 "Reporting-MTA: dns; %s\r\n"
	                 "X-Postlite-Queue-ID: %s\r\n"
	                 "Arrival-Date: %s\r\n",
	                 boundary, h, in->queue_id, arrival);
	for (size_t i = 0; i < in->nrcpt; i++) {
		const struct dsn_rcpt *r = &in->rcpt[i];
		clean(addr, sizeof addr, r->addr);
		rc |= buf_printf(out,
		                 "\r\nFinal-Recipient: rfc822; %s\r\n"
		                 "Action: failed\r\n"
		                 "Status: %s\r\n", addr, r->status);
		if (r->remote_mta) {
			clean(line, sizeof line, r->remote_mta);
			rc |= buf_printf(out, "Remote-MTA: dns; %s\r\n", line);
		}
		clean(line, sizeof line, r->diag);
		/* 2.3.6: "smtp" when the text is a remote reply. */
		rc |= buf_printf(out, "Diagnostic-Code: %s; %s\r\n"
		                 "Last-Attempt-Date: %s\r\n",
		                 r->remote_mta ? "smtp" : "x-postlite", line,
		                 date);
	}
	rc |= buf_printf(out,
	                 "\r\n--%s\r\n"
	                 "Content-Description: Undelivered Message Headers\r\n"
	                 "Content-Type: text/rfc822-headers\r\n"
	                 "\r\n", boundary);
	if (in->headers && in->headers_len)
		rc |= buf_append(out, in->headers, in->headers_len);
	rc |= buf_printf(out, "\r\n--%s--\r\n", boundary);
	return rc ? -1 : 0;
}
