/* The SMTP client's input side: reply lines (RFC 5321 4.2), the events
 * the connection reports, and per-state timeouts. */
#include <stdio.h>
#include <string.h>

#include "smtpc_int.h"

/* Fails the session for a reason of ours (protocol trouble). */
static void broken(struct smtpc *s, const char *why)
{
	snprintf(s->error, sizeof s->error, "%s", why);
	smtpc_settle_rest(s, SMTPC_TEMP, true, 0, why);
	smtpc_finish(s);
}

static void copy_line(char *dst, size_t dsz, const char *p, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < dsz; i++)
		dst[j++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	dst[j] = '\0';
}

/* RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                            Reply-code [ SP textstring ] CRLF
 * The code is three digits 2..5, 0..5, 0..9 and the same on every line. */
static int line_code(const char *p, size_t n, bool *more)
{
	if (n < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '5' ||
	    p[2] < '0' || p[2] > '9')
		return -1;
	if (n > 3 && p[3] != '-' && p[3] != ' ')
		return -1;
	*more = n > 3 && p[3] == '-';
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

void smtpc_input(struct smtpc *s, struct buf *in)
{
	while (s->state != SMTPC_DONE && in->len > 0) {
		char *lf = memchr(in->data, '\n', in->len);
		if (!lf) {
			if (buf_room(in) == 0)
				broken(s, "reply line too long");
			return;
		}
		size_t n = (size_t)(lf - in->data);
		if (n > 0 && in->data[n - 1] == '\r')
			n--;
		bool more;
		int code = line_code(in->data, n, &more);
		if (code < 0 || (s->code && code != s->code)) {
			char esc[80];
			copy_line(esc, sizeof esc, in->data, n);
			buf_consume(in, (size_t)(lf - in->data) + 1);
			char why[160];
			snprintf(why, sizeof why, "malformed reply: %s", esc);
			broken(s, why);
			return;
		}
		if (!s->code) /* first line: its text names the reply */
			copy_line(s->first, sizeof s->first, in->data, n);
		else if (s->state == SMTPC_EHLO && code == 250 && n > 4)
			smtpc_parse_cap(&s->caps, in->data + 4, n - 4);
		s->code = code;
		buf_consume(in, (size_t)(lf - in->data) + 1);
		if (more)
			continue;
		s->code = 0;
		s->replies++;
		char text[SMTPC_TEXT_MAX];
		memcpy(text, s->first, sizeof text);
		smtpc_on_reply(s, code, text);
	}
}

void smtpc_tls_ready(struct smtpc *s)
{
	if (s->state != SMTPC_TLS_WAIT)
		return;
	/* RFC 3207 4.2: forget what the server said before TLS. */
	s->cfg.tls_active = true;
	s->code = 0;
	memset(&s->caps, 0, sizeof s->caps);
	char line[300];
	int n = snprintf(line, sizeof line, "EHLO %s\r\n", s->cfg.helo);
	if (n > 0 && (size_t)n < sizeof line)
		s->ops->write(s->ctx, line, (size_t)n);
	s->state = SMTPC_EHLO;
}

void smtpc_body_end(struct smtpc *s)
{
	if (s->state != SMTPC_BODY)
		return;
	/* The encoder (smtpc_stuff_end) wrote the final ".". */
	s->state = SMTPC_DOT;
}

void smtpc_abort(struct smtpc *s, const char *why)
{
	if (s->state == SMTPC_DONE)
		return;
	if (!s->error[0])
		snprintf(s->error, sizeof s->error, "%s", why);
	smtpc_settle_rest(s, SMTPC_TEMP, true, 0, why);
	smtpc_finish(s);
}

/* RFC 5321 4.5.3.2: initial 220 5 min, MAIL 5, RCPT 5, DATA initiation 2,
 * data block 3, DATA termination 10. Others (EHLO, STARTTLS, AUTH, QUIT)
 * get the MAIL timeout. */
unsigned smtpc_timeout(const struct smtpc *s)
{
	switch (s->state) {
	case SMTPC_DATA:
		return 120;
	case SMTPC_BODY:
		return 180;
	case SMTPC_DOT:
		return 600;
	default:
		return 300;
	}
}
