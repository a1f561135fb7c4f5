/* Private to smtpc.c and smtpc_reply.c. */
#ifndef POSTLITE_SMTPC_INT_H
#define POSTLITE_SMTPC_INT_H

#include "smtpc.h"

/* A complete reply: its code and first line (sanitised). */
void smtpc_on_reply(struct smtpc *s, int code, const char *text);
/* One EHLO keyword line, without the "250-" (RFC 5321 4.1.1.1). */
void smtpc_parse_cap(struct smtpc_caps *c, const char *p, size_t n);
/* Gives every recipient still PENDING this answer. */
void smtpc_settle_rest(struct smtpc *s, enum smtpc_result r, bool next_host,
                       int code, const char *text);
/* State DONE and ops->done, once. */
void smtpc_finish(struct smtpc *s);

#endif
