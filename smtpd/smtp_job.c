/* The session's job slot: store calls on a worker thread, completions on
 * the loop thread (common/job.h). One job at a time per session; while it
 * is in flight the session reads no input, which is what bounds its
 * memory during DATA. */
#include <stddef.h>
#include <stdlib.h>

#include "smtp_session_int.h"

void smtp_job_submit(struct smtp_session *s, enum smtp_job_kind kind)
{
	s->job.kind = kind;
	s->job.status = STORE_OK;
	s->busy = true;
	runner_submit(s->runner, &s->job.job);
}

/* Worker thread: touches only the job slot and the thread's store. A
 * failed piece aborts its message right here, so the loop side never has
 * to clean up after a failure. */
void smtp_job_work(struct job *j, void *wctx)
{
	struct smtp_job *sj = (struct smtp_job *)j;
	struct store *st = wctx;
	const char *p = sj->piece.data ? sj->piece.data : "";

	if (!st) { /* this worker could not open the store */
		sj->status = STORE_TEMPFAIL;
		return;
	}
	switch (sj->kind) {
	case SMTP_JOB_RCPT:
		sj->status = store_rcpt_lookup(st, sj->addr, &sj->mailbox);
		break;
	case SMTP_JOB_APPEND:
		if (sj->msg == 0) {
			sj->status = store_msg_begin(st, &sj->msg);
			if (sj->status != STORE_OK) {
				sj->msg = 0;
				break;
			}
		}
		sj->status = store_msg_append(st, sj->msg, p, sj->piece.len);
		if (sj->status != STORE_OK) {
			store_msg_abort(st, sj->msg);
			sj->msg = 0;
		}
		break;
	case SMTP_JOB_DELIVER: {
		uint64_t id = sj->msg;
		sj->status = store_msg_deliver(st, &id, p, sj->piece.len,
		                               sj->mbox, sj->nmbox);
		if (sj->status != STORE_OK && sj->msg)
			store_msg_abort(st, sj->msg);
		sj->mailbox = id; /* the store's id, for the log */
		sj->msg = 0;
		break;
	}
	case SMTP_JOB_ABORT:
		sj->status = store_msg_abort(st, sj->msg);
		sj->msg = 0;
		break;
	}
}

/* Loop thread. */
void smtp_job_done(struct job *j)
{
	struct smtp_session *s =
		(struct smtp_session *)((char *)j - offsetof(struct smtp_session, job));

	s->busy = false;
	if (s->job.kind != SMTP_JOB_RCPT && s->txn)
		s->txn->msg = s->job.msg;
	if (s->closed) {
		/* The connection is gone: no reply, no resume. */
		free(s->job.mbox);
		s->job.mbox = NULL;
		smtp_maybe_free(s);
		return;
	}
	s->depth++;
	if (s->job.kind == SMTP_JOB_RCPT)
		smtp_rcpt_done(s);
	else
		smtp_data_done(s);
	/* resume may call input at once (tests do): keep depth raised so
	 * nothing below can free the session under us. */
	if (!s->closing)
		s->io->resume(s->io_ctx);
	s->depth--;
	smtp_maybe_free(s);
}
