/* The transaction state's lifecycle (RFC 1939 5, 6): a maildrop is
 * allocated at PASS, filled when the lock is taken, and released when the
 * session leaves TRANSACTION. A maildrop still locked at release time (the
 * connection dropped, timed out, or QUIT could not reach the store) hands
 * itself to a job that unlocks and frees it, so the unlock outlives the
 * session and never needs memory. After a QUIT that removed mail, the same
 * job gives the freed space back (store_reclaim), once the reply is out.
 * Nothing here deletes mail. */
#include <stddef.h>
#include <stdlib.h>

#include "pop3_priv.h"

static struct pop3_maildrop *maildrop_of(struct job *j)
{
	return (struct pop3_maildrop *)((char *)j -
	                                offsetof(struct pop3_maildrop, release));
}

void pop3_maildrop_free(struct pop3_maildrop *md)
{
	if (!md)
		return;
	free(md->e);
	free(md->flags);
	free(md);
}

static void release_work(struct job *j, void *wctx)
{
	struct pop3_maildrop *md = maildrop_of(j);

	/* A worker whose store failed to open cannot unlock: the lock then
	 * lasts until this process exits (the store recovers dead holders). */
	if (wctx && md->locked)
		store_mailbox_unlock(wctx, md->mailbox, md->token);
	if (md->reclaim)
		store_reclaim(wctx);
}

static void release_done(struct job *j)
{
	pop3_maildrop_free(maildrop_of(j));
}

void pop3_maildrop_release(struct pop3_session *s)
{
	struct pop3_maildrop *md = s->md;

	s->md = NULL;
	if (!md)
		return;
	if (!md->locked && !md->reclaim) {
		pop3_maildrop_free(md);
		return;
	}
	/* The job owns md from here on: it outlives the session. */
	md->release.work = release_work;
	md->release.done = release_done;
	runner_submit(s->store_runner, &md->release);
}
