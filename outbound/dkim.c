/* DKIM signing (dkim.h): RFC 6376 3.4.2 and 3.4.4 relaxed
 * canonicalisation, 3.5 the signature header, 3.7 the hashes. */
#include "dkim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "tls_rsa.h"

/* RFC 6376 5.4.1's recommended set, minus the fields a relay or list
 * rewrites. */
static const char *const signed_fields[] = {
	"from", "reply-to", "subject", "date", "to", "cc", "message-id",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "list-unsubscribe",
};
#define NSIGNED (sizeof signed_fields / sizeof signed_fields[0])

struct dkim {
	struct buf hdr;      /* the header block, through its empty line */
	bool in_body;
	bool too_big;
	/* Body canonicalisation state (3.4.4 relaxed). */
	struct tls_sha256 *bh;
	unsigned empty;      /* empty lines not yet hashed (maybe trailing) */
	bool wsp;            /* whitespace pending inside the line */
	bool content;        /* the current line has non-WSP content */
};

struct dkim *dkim_new(void)
{
	struct dkim *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	buf_init(&d->hdr, DKIM_HEADER_MAX);
	d->bh = tls_sha256_new();
	if (!d->bh) {
		free(d);
		return NULL;
	}
	return d;
}

void dkim_free(struct dkim *d)
{
	if (!d)
		return;
	buf_free(&d->hdr);
	tls_sha256_free(d->bh);
	free(d);
}

/* RFC 6376 3.4.4: WSP runs become one SP, WSP at line ends goes, empty
 * lines at the end go; the input's line ends are CRLF already. */
static void body_feed(struct dkim *d, const unsigned char *p, size_t n)
{
	unsigned char out[4096];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o + 8 > sizeof out) {
			tls_sha256_update(d->bh, out, o);
			o = 0;
		}
		unsigned char c = p[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			if (d->content) {
				out[o++] = '\r';
				out[o++] = '\n';
			} else {
				d->empty++;
			}
			d->content = d->wsp = false;
		} else if (c == ' ' || c == '\t') {
			d->wsp = true;
		} else {
			if (!d->content) {
				while (d->empty) {
					if (o + 8 > sizeof out) {
						tls_sha256_update(d->bh, out, o);
						o = 0;
					}
					out[o++] = '\r';
					out[o++] = '\n';
					d->empty--;
				}
			}
			if (d->wsp)
				out[o++] = ' ';
			d->wsp = false;
			out[o++] = c;
			d->content = true;
		}
	}
	tls_sha256_update(d->bh, out, o);
}

int dkim_feed(struct dkim *d, const void *p, size_t n)
{
	const char *b = p;
	/* Byte by byte up to the empty line (headers are small). */
	while (!d->in_body && n > 0) {
		if (buf_append(&d->hdr, b, 1) != 0) {
			d->too_big = d->in_body = true;
			break;
		}
		b++;
		n--;
		size_t l = d->hdr.len;
		const char *h = d->hdr.data;
		if ((l == 2 && !memcmp(h, "\r\n", 2)) ||
		    (l >= 4 && !memcmp(h + l - 4, "\r\n\r\n", 4)))
			d->in_body = true;
	}
	if (n > 0)
		body_feed(d, (const unsigned char *)b, n);
	return d->too_big ? -1 : 0;
}

const char *dkim_headers(const struct dkim *d, size_t *len)
{
	*len = d->hdr.len;
	return d->hdr.data ? d->hdr.data : "";
}

int dkim_canon_header(const char *p, size_t n, struct buf *out)
{
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return -1;
	size_t nl = (size_t)(colon - p);
	while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
		nl--;
	for (size_t i = 0; i < nl; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (buf_append(out, &c, 1) != 0)
			return -1;
	}
	if (buf_append(out, ":", 1) != 0)
		return -1;
	bool wsp = false, any = false;
	for (const char *q = colon + 1; q < p + n; q++) {
		if (*q == '\r' || *q == '\n') /* unfold */
			continue;
		if (*q == ' ' || *q == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && any && buf_append(out, " ", 1) != 0)
			return -1;
		wsp = false;
		any = true;
		if (buf_append(out, q, 1) != 0)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

/* The header fields: start and length of each (without its final CRLF);
 * continuation lines (starting with WSP) belong to the field above. */
struct field {
	const char *p;
	size_t n;
	bool used;
};

static size_t split_fields(const struct dkim *d, struct field *f, size_t max)
{
	const char *p = d->hdr.data, *end = p + d->hdr.len;
	size_t k = 0;
	while (p < end && k < max) {
		if (*p == '\r' || *p == '\n')
			break; /* the empty line */
		const char *q = p;
		for (;;) {
			const char *lf = memchr(q, '\n', (size_t)(end - q));
			if (!lf) {
				q = end;
				break;
			}
			q = lf + 1;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		size_t n = (size_t)(q - p);
		while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
			n--;
		f[k++] = (struct field){p, n, false};
		p = q;
	}
	return k;
}

static bool field_is(const struct field *f, const char *name)
{
	size_t l = strlen(name);
	if (f->n <= l || strncasecmp(f->p, name, l) != 0)
		return false;
	for (size_t i = l; i < f->n; i++) {
		if (f->p[i] == ':')
			return true;
		if (f->p[i] != ' ' && f->p[i] != '\t')
			return false;
	}
	return false;
}

int dkim_from_domain(const struct dkim *d, char *out, size_t outsz)
{
	struct field f[256];
	size_t nf = split_fields(d, f, 256);
	for (size_t i = 0; i < nf; i++) {
		if (!field_is(&f[i], "from"))
			continue;
		/* The address: inside <...> when there is one, else the
		 * value; the domain after its last '@'. */
		const char *v = (const char *)memchr(f[i].p, ':', f[i].n) + 1;
		const char *end = f[i].p + f[i].n;
		const char *lt = memchr(v, '<', (size_t)(end - v));
		if (lt) {
			v = lt + 1;
			const char *gt = memchr(v, '>', (size_t)(end - v));
			if (gt)
				end = gt;
		}
		const char *at = NULL;
		for (const char *q = v; q < end; q++)
			if (*q == '@')
				at = q;
		if (!at)
			return -1;
		size_t k = 0;
		for (const char *q = at + 1; q < end; q++) {
			char c = *q;
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			    c == ',' || c == ';' || c == '(' || c == '>')
				break;
			if (k + 1 >= outsz)
				return -1;
			out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		out[k] = '\0';
		return k ? 0 : -1;
	}
	return -1;
}

int dkim_sign(struct dkim *d, const char *domain, const char *selector,
              struct tls_rsa_key *key, int64_t t, struct buf *out)
{
	if (!d->in_body || d->too_big)
		return -1;
	/* 3.4.4: a last line without CRLF gets one. */
	if (d->content) {
		tls_sha256_update(d->bh, "\r\n", 2);
		d->content = false;
	}
	uint8_t bh[TLS_SHA256_LEN], hh[TLS_SHA256_LEN];
	char bh64[64];
	tls_sha256_final(d->bh, bh);
	base64_encode(bh, sizeof bh, bh64, sizeof bh64);

	struct field f[256];
	size_t nf = split_fields(d, f, 256);
	struct buf h, sig;
	buf_init(&h, 4096);
	buf_init(&sig, 8192);
	/* 5.4.2: each instance named once; over-sign From. */
	for (size_t s = 0; s < NSIGNED; s++)
		for (size_t i = 0; i < nf; i++)
			if (field_is(&f[i], signed_fields[s]))
				buf_printf(&h, "%s%s", h.len ? ":" : "",
				           signed_fields[s]);
	buf_puts(&h, h.len ? ":from" : "from");
	int rc = -1;
	if (buf_printf(&sig, "DKIM-Signature: v=1; a=rsa-sha256; "
	               "c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%lld; h=%.*s;"
	               "\r\n\tbh=%s;\r\n\tb=", domain, selector, (long long)t,
	               (int)h.len, h.data, bh64) < 0)
		goto out;

	/* 3.7: the signed fields in h= order, bottom-up per name, then the
	 * signature field itself with b= empty and no final CRLF. */
	struct buf canon;
	buf_init(&canon, 2 * DKIM_HEADER_MAX + 8192);
	struct tls_sha256 *hs = tls_sha256_new();
	const char *name = h.data, *hend = h.data + h.len;
	while (hs && name < hend) {
		const char *colon = memchr(name, ':', (size_t)(hend - name));
		size_t nl = colon ? (size_t)(colon - name) : (size_t)(hend - name);
		char nm[32];
		snprintf(nm, sizeof nm, "%.*s", (int)nl, name);
		for (size_t i = nf; i-- > 0;) {
			if (!f[i].used && field_is(&f[i], nm)) {
				f[i].used = true;
				buf_reset(&canon);
				if (dkim_canon_header(f[i].p, f[i].n, &canon) == 0)
					tls_sha256_update(hs, canon.data, canon.len);
				break;
			}
		}
		name += nl + (colon ? 1 : 0);
	}
	buf_reset(&canon);
	if (hs && dkim_canon_header(sig.data, sig.len, &canon) == 0) {
		tls_sha256_update(hs, canon.data, canon.len - 2);
		tls_sha256_final(hs, hh);
		uint8_t s[TLS_RSA_SIG_MAX];
		size_t slen;
		char b64[TLS_RSA_SIG_MAX * 2];
		if (tls_rsa_sign_sha256(key, hh, s, sizeof s, &slen) == 0 &&
		    base64_encode(s, slen, b64, sizeof b64)) {
			/* FWS inside b= is allowed (3.5): fold at 72. */
			size_t n = strlen(b64);
			rc = 0;
			for (size_t i = 0; i < n && rc == 0; i += 72)
				rc = buf_printf(&sig, "%s%.*s", i ? "\r\n\t " : "",
				                (int)(n - i > 72 ? 72 : n - i),
				                b64 + i);
			if (rc == 0)
				rc = buf_puts(&sig, "\r\n");
			if (rc == 0)
				rc = buf_append(out, sig.data, sig.len);
		}
	}
	tls_sha256_free(hs);
	buf_free(&canon);
out:
	buf_free(&h);
	buf_free(&sig);
	return rc;
}
