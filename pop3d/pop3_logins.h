/* The LOGIN-DELAY policy (RFC 2449 6.8): when each mailbox last logged in.
 * A fixed-size table on the loop thread, no locking; when full, the
 * oldest entry is reused, so memory stays bounded (an evicted mailbox may
 * log in early: the policy is advice to clients, not a security limit).
 * Per process: a restart forgets the table. */
#ifndef POSTLITE_POP3_LOGINS_H
#define POSTLITE_POP3_LOGINS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct pop3_logins;

/* slots: table size (0 counts as 1). NULL on ENOMEM. */
struct pop3_logins *pop3_logins_new(size_t slots);
void pop3_logins_free(struct pop3_logins *l);

/* Seconds mailbox must still wait before it may log in again under a
 * policy of `delay` seconds between logins; 0 = it may log in now. */
unsigned pop3_logins_wait(const struct pop3_logins *l, uint64_t mailbox,
                          unsigned delay, time_t now);

/* Records a login of mailbox at now. */
void pop3_logins_record(struct pop3_logins *l, uint64_t mailbox, time_t now);

#endif
