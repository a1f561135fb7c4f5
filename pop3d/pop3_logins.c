/* The LOGIN-DELAY table; contract in pop3_logins.h. */
#include "pop3_logins.h"

#include <stdbool.h>
#include <stdlib.h>

struct slot {
	uint64_t mailbox; /* 0: free (store ids start at 1) */
	time_t at;
};

struct pop3_logins {
	size_t n;
	struct slot *slots;
};

struct pop3_logins *pop3_logins_new(size_t slots)
{
	struct pop3_logins *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->n = slots ? slots : 1;
	l->slots = calloc(l->n, sizeof *l->slots);
	if (!l->slots) {
		free(l);
		return NULL;
	}
	return l;
}

void pop3_logins_free(struct pop3_logins *l)
{
	if (l) {
		free(l->slots);
		free(l);
	}
}

unsigned pop3_logins_wait(const struct pop3_logins *l, uint64_t mailbox,
                          unsigned delay, time_t now)
{
	for (size_t i = 0; l && mailbox && i < l->n; i++) {
		const struct slot *s = &l->slots[i];
		if (s->mailbox != mailbox)
			continue;
		/* A clock stepped back counts as "just now", never as a
		 * wait longer than the policy. */
		time_t since = now >= s->at ? now - s->at : 0;
		return since >= (time_t)delay ? 0 : delay - (unsigned)since;
	}
	return 0;
}

void pop3_logins_record(struct pop3_logins *l, uint64_t mailbox, time_t now)
{
	struct slot *victim = NULL;

	if (!l || !mailbox)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct slot *s = &l->slots[i];
		if (s->mailbox == mailbox) {
			victim = s;
			break;
		}
		if (!victim || (victim->mailbox && (!s->mailbox ||
		                                    s->at < victim->at)))
			victim = s;
	}
	victim->mailbox = mailbox;
	victim->at = now;
}
