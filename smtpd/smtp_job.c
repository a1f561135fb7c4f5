/* The session's job slot: store calls on a worker thread, completions on
 * the loop thread (common/job.h). One job at a time per session; while it
 * is in flight the session reads no input, which is what bounds its
 * memory during a message. Password checks go to their own runner so
 * that slow hashing never delays a commit (STYLE.md 10); pauses go to the
 * timer. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#include "smtp_session_int.h"
#include "store_worker.h"

/* The store's group commit (store_deliver_group), with the store's text
 * logged when the batch's begin or commit fails: it is on the worker's
 * store handle, which the sessions of the batch cannot read. */
static int group_begin(void *wctx)
{
	int st = store_deliver_group.begin(wctx);
	if (st != STORE_OK && wctx)
		log_warn(NULL, "delivery batch: begin: %s",
		         store_errmsg(wctx));
	return st;
}

static int group_commit(void *wctx)
{
	int st = store_deliver_group.commit(wctx);
	if (st != STORE_OK)
		log_warn(NULL, "delivery batch: commit: %s",
		         store_errmsg(wctx));
	return st;
}

static void group_rollback(void *wctx)
{
	store_deliver_group.rollback(wctx);
}

static const struct job_group deliver_group = {
	group_begin, group_commit, group_rollback, STORE_DELIVER_BATCH_MAX,
};

void smtp_job_submit(struct smtp_session *s, enum smtp_job_kind kind)
{
	struct runner *r = s->runner;

	if (kind == SMTP_JOB_AUTH && s->env->auth)
		r = s->env->auth;
	if ((kind == SMTP_JOB_RCPT || kind == SMTP_JOB_SENDER) &&
	    s->env->lookup)
		r = s->env->lookup;
	s->job.kind = kind;
	s->job.status = STORE_OK;
	s->job.why[0] = '\0';
	/* Queued deliveries share one commit and one fsync (group commit). */
	s->job.job.group = kind == SMTP_JOB_DELIVER ? &deliver_group : NULL;
	s->busy = true;
	runner_submit(r, &s->job.job);
}

void smtp_job_delay(struct smtp_session *s, unsigned ms)
{
	if (!s->env->clock || ms == 0) {
		/* No timer: a job that does nothing, on the store runner,
		 * keeps the completion path the same. */
		smtp_job_submit(s, SMTP_JOB_DELAY);
		return;
	}
	s->job.kind = SMTP_JOB_DELAY;
	s->job.status = STORE_OK;
	s->busy = true;
	s->env->clock->delay(s->env->clock, &s->job.job, ms);
}

void smtp_txn_free(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	if (t) {
		/* RSET or EHLO between BDAT chunks: the pieces stored so far
		 * go with the next job (or the session's end). */
		if (t->msg && !s->job.orphan)
			s->job.orphan = t->msg;
		for (unsigned i = 0; i < t->nrcpt; i++)
			free(t->rcpt[i].addr);
		free(t->rcpt);
		free(t->sender);
		free(t);
		s->txn = NULL;
	}
	/* Give the piece buffer back between messages: an idle session
	 * holds no body memory. */
	buf_free(&s->job.piece);
	if (s->state != SMTP_STATE_INIT)
		s->state = SMTP_STATE_READY;
}

/* Worker thread: keeps the store's text for a failed call, escaped for
 * the log (it may quote an address). The store handle is this thread's,
 * so it is read here, before anything else runs on it. */
static void job_why(struct smtp_job *sj, struct store *st)
{
	if (sj->status != STORE_OK) {
		const char *m = store_errmsg(st);
		log_escape(sj->why, sizeof sj->why, m, strlen(m));
	}
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
		snprintf(sj->why, sizeof sj->why, "no store on this worker");
		return;
	}
	if (sj->orphan) {
		store_msg_abort(st, sj->orphan);
		sj->orphan = 0;
	}
	switch (sj->kind) {
	case SMTP_JOB_RCPT:
	case SMTP_JOB_SENDER:
		sj->status = store_rcpt_lookup(st, sj->addr, &sj->mailbox);
		job_why(sj, st);
		break;
	case SMTP_JOB_AUTH:
		sj->status = store_user_auth(st, sj->user, sj->pass,
		                             &sj->mailbox);
		job_why(sj, st);
		sasl_wipe(sj->pass, sizeof sj->pass);
		break;
	case SMTP_JOB_DELAY:
		break;
	case SMTP_JOB_APPEND:
		sj->status = store_msg_append(st, &sj->msg, p, sj->append_len);
		if (sj->status != STORE_OK) {
			job_why(sj, st);
			if (sj->msg)
				store_msg_abort(st, sj->msg);
			sj->msg = 0;
		}
		break;
	case SMTP_JOB_DELIVER: {
		uint64_t id = sj->msg;
		sj->status = STORE_OK;
		/* Issue 9: the queue takes its copy first (its own durable
		 * commit); a local delivery failing after it makes the
		 * client retry, and the remote copy may then go twice. */
		uint64_t qid = 0;
		if (sj->nremote)
			sj->status = store_queue_add(st, sj->msg, p,
			                             sj->piece.len, sj->sender,
			                             sj->remote, sj->nremote,
			                             sj->qflags, &qid);
		if (sj->status == STORE_OK && sj->nmbox == 0) {
			if (sj->msg) /* the queue has its copy */
				store_msg_abort(st, sj->msg);
			sj->mailbox = qid;
			sj->msg = 0;
			break;
		}
		if (sj->status == STORE_OK)
			sj->status = store_msg_deliver(st, &id, p, sj->piece.len,
			                               sj->mbox, sj->nmbox);
		job_why(sj, st); /* the queue's failure or deliver's */
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
	enum smtp_job_kind kind = s->job.kind;

	s->busy = false;
	/* The batch's commit failed: the delivery was undone. Its text
	 * stayed on the worker's store handle. */
	if (j->group && j->group_status != 0) {
		s->job.status = (enum store_status)j->group_status;
		snprintf(s->job.why, sizeof s->job.why,
		         "the delivery batch failed (see its line)");
	}
	if ((kind == SMTP_JOB_APPEND || kind == SMTP_JOB_DELIVER ||
	     kind == SMTP_JOB_ABORT) && s->txn)
		s->txn->msg = s->job.msg;
	if (s->closed) {
		/* The connection is gone: no reply, no resume. */
		free(s->job.mbox);
		s->job.mbox = NULL;
		free(s->job.remote);
		s->job.remote = NULL;
		sasl_wipe(s->job.user, sizeof s->job.user);
		sasl_wipe(s->job.pass, sizeof s->job.pass);
		smtp_maybe_free(s);
		return;
	}
	s->depth++;
	switch (kind) {
	case SMTP_JOB_RCPT:
		smtp_rcpt_done(s);
		break;
	case SMTP_JOB_SENDER:
		smtp_mail_done(s);
		break;
	case SMTP_JOB_AUTH:
	case SMTP_JOB_DELAY:
		smtp_auth_done(s);
		break;
	case SMTP_JOB_APPEND:
	case SMTP_JOB_DELIVER:
	case SMTP_JOB_ABORT:
		smtp_msg_done(s);
		break;
	}
	/* resume may call input at once (tests do): keep depth raised so
	 * nothing below can free the session under us. */
	if (!s->closing)
		s->io->resume(s->io_ctx);
	s->depth--;
	smtp_timeout_update(s);
	smtp_maybe_free(s);
}
