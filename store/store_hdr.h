/* What listings show of a message, read from its header block
 * (backend-neutral and pure: any backend fills its metadata with it). */
#ifndef POSTLITE_STORE_HDR_H
#define POSTLITE_STORE_HDR_H

#include <stddef.h>

/* Longest sender or subject kept, in bytes (cut at a character). */
#define STORE_HDR_FIELD_MAX 200

struct store_hdr {
	char sender[STORE_HDR_FIELD_MAX + 1];  /* Return-Path, else From */
	char subject[STORE_HDR_FIELD_MAX + 1];
};

/* Reads the header fields of an RFC 5322 message from its first n bytes
 * (the header ends at the first empty line; n may cut it short). Fields
 * are unfolded (RFC 5322 2.2.3), control characters and invalid bytes
 * become spaces, outer white space and the angle brackets of Return-Path
 * go. A field not found is "". Encoded words (RFC 2047) are kept as they
 * are. */
void store_hdr_parse(const char *p, size_t n, struct store_hdr *h);

#endif
