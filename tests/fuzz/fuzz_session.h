/* The harness shared by the session fuzz targets (fuzz_smtp_session.c,
 * fuzz_pop3_session.c): a session_io over memory that behaves like the
 * I/O layer in common/conn.c, inline job runners, a timer queue, and a
 * store in memory.
 *
 * What the fake layer does, as conn.c does:
 *   - input() is called when bytes arrived or after resume(), never while
 *     closing or during a STARTTLS handshake, never re-entered; resume()
 *     from inside input() is ignored;
 *   - starttls() drops the buffered input at once; the handshake then
 *     completes (tls_ready) before any later byte is read, or fails and the
 *     connection goes away (a mode of the input);
 *   - pending() counts the bytes written since the last flush, times a
 *     scale (the input may pick 4096, so a few replies cross
 *     SESSION_OUT_HIGH); a flush follows every step and drain() follows
 *     when a write had crossed the high-water mark;
 *   - close() ends the connection after the current step: closed() is
 *     called and the jobs still queued run.
 * What a session must never do, checked here: write or call anything after
 * close() or closed(); write between starttls() and tls_ready() (the
 * layer would drop it: a reply lost, or worse); STARTTLS twice; leave a
 * full input buffer unconsumed while idle (the connection would hang);
 * loop forever (more than FZ_MAX_ROUNDS steps with no new input).
 *
 * Password hashing: crypt_rn below replaces libxcrypt's for these targets
 * only, so a PASS or AUTH costs microseconds instead of ~20 ms of yescrypt
 * (store/password.c runs unchanged on top of it: same compare, same dummy
 * hash for unknown users). */
#ifndef POSTLITE_FUZZ_SESSION_H
#define POSTLITE_FUZZ_SESSION_H

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "job.h"
#include "clock.h"
#include "session_io.h"

/* ---- a fast stand-in for libxcrypt's crypt_rn ------------------------ */

/* "$fuzz$" and an FNV-1a hash of the password: deterministic, so a hash
 * made by store_user_add verifies; never equal to a real hash such as
 * password.c's dummy. The setting (salt or stored hash) is ignored. */
char *crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	struct crypt_data *cd = data;
	if (!phrase || !setting || !data || size < (int)sizeof *cd) {
		errno = ERANGE;
		return NULL;
	}
	uint64_t h = 1469598103934665603ull;
	for (const char *p = phrase; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(cd->output, sizeof cd->output, "$fuzz$%016llx",
	         (unsigned long long)h);
	return cd->output;
}

/* ---- timers: the sessions' delays wait in a clock_manual (clock.h) whose
 * time stands still except when the pump fires them. */

/* A fixed start, so that runs reproduce: 2026-01-01T00:00:00Z. */
#define FZ_CLOCK_START 1767225600

/* ---- the fake I/O layer ---------------------------------------------- */

#define FZ_MAX_ROUNDS 20000
#define FZ_IN_MAX (64 * 1024 + 1024) /* as the daemons' input buffers */

struct fz_ops {
	void (*input)(void *s);
	void (*tls_ready)(void *s);
	void (*drain)(void *s); /* NULL: the protocol has none */
	void (*timeout)(void *s);
	void (*closed)(void *s);
	/* Sees every byte written, for protocol-level output checks. */
	void (*check_out)(void *arg, const char *p, size_t n);
	void *check_arg;
};

struct fz_conn {
	const struct fz_ops *ops;
	void *s;
	struct buf in;
	struct runner_inline *runners[2];
	struct clock_manual *timers; /* NULL: none */
	size_t total_out;         /* bytes written in all */
	size_t unsent;            /* written since the last flush */
	size_t scale;             /* pending() = unsent * scale */
	bool tls_available;       /* starttls() succeeds */
	bool tls_fail; /* the handshake fails: the connection drops */
	bool in_tls;
	bool handshake; /* starttls() called, tls_ready not yet */
	bool closing;   /* close() called */
	bool gone;      /* closed() called */
	bool in_input;
	bool resumed;
	bool out_high;
};

/* FUZZ_ECHO=1 in the environment copies the session's output to stderr
 * (with the replay binary: to read what a corpus file does). */
static inline bool fz_echo(void)
{
	static int echo = -1;
	if (echo < 0)
		echo = getenv("FUZZ_ECHO") != NULL;
	return echo;
}

static inline void fz_write(void *ctx, const void *p, size_t n)
{
	struct fz_conn *c = ctx;
	if (fz_echo())
		fwrite(p, 1, n, stderr);
	FUZZ_CHECK(!c->gone && !c->closing);
	FUZZ_CHECK(!c->handshake); /* the layer would drop it */
	c->total_out += n;
	c->unsent += n;
	if (c->unsent * c->scale >= SESSION_OUT_HIGH)
		c->out_high = true;
	if (c->ops->check_out && n)
		c->ops->check_out(c->ops->check_arg, p, n);
}

static inline size_t fz_pending(void *ctx)
{
	struct fz_conn *c = ctx;
	FUZZ_CHECK(!c->gone);
	return c->unsent * c->scale;
}

static inline int fz_starttls(void *ctx)
{
	struct fz_conn *c = ctx;
	FUZZ_CHECK(!c->gone && !c->closing);
	FUZZ_CHECK(!c->in_tls && !c->handshake); /* never twice */
	if (!c->tls_available)
		return -1;
	buf_reset(&c->in); /* RFC 3207 / RFC 2595, as conn_starttls */
	c->handshake = true;
	return 0;
}

static inline void fz_close(void *ctx)
{
	struct fz_conn *c = ctx;
	FUZZ_CHECK(!c->gone);
	c->closing = true;
}

static inline void fz_resume(void *ctx)
{
	struct fz_conn *c = ctx;
	FUZZ_CHECK(!c->gone);
	if (!c->in_input)
		c->resumed = true;
}

static inline const char *fz_tls_desc(void *ctx)
{
	struct fz_conn *c = ctx;
	return c->in_tls ? "TLSv1.3 FUZZ-CIPHER" : NULL;
}

static inline void fz_set_timeout(void *ctx, unsigned seconds)
{
	struct fz_conn *c = ctx;
	FUZZ_CHECK(!c->gone);
	FUZZ_CHECK(seconds > 0);
}

static const struct session_io fz_io = {
    .write = fz_write,
    .pending = fz_pending,
    .starttls = fz_starttls,
    .close = fz_close,
    .resume = fz_resume,
    .tls_desc = fz_tls_desc,
    .set_timeout = fz_set_timeout,
};

static inline unsigned fz_run_jobs(struct fz_conn *c)
{
	unsigned n = 0;
	for (int i = 0; i < 2; i++)
		if (c->runners[i])
			n += runner_inline_drain(c->runners[i]);
	if (c->timers)
		n += clock_manual_fire(c->timers);
	return n;
}

/* The connection is gone: closed(), then whatever jobs remain. */
static inline void fz_gone(struct fz_conn *c)
{
	if (c->gone)
		return;
	c->gone = true;
	c->ops->closed(c->s);
	for (int guard = 0; fz_run_jobs(c) > 0; guard++)
		FUZZ_CHECK(guard < FZ_MAX_ROUNDS);
}

/* Runs the session until it waits for input, as the event loop would. */
static inline void fz_pump(struct fz_conn *c, bool new_bytes)
{
	bool call = new_bytes;
	for (int round = 0; !c->gone; round++) {
		FUZZ_CHECK(round < FZ_MAX_ROUNDS); /* a livelock */
		bool progress = false;
		if (call && !c->closing && !c->handshake && c->in.len > 0) {
			c->in_input = true;
			c->ops->input(c->s);
			c->in_input = false;
		}
		call = false;
		if (fz_run_jobs(c) > 0)
			progress = true;
		/* Flush: the peer reads everything. */
		c->unsent = 0;
		if (c->closing) {
			fz_gone(c);
			return;
		}
		if (c->out_high) {
			c->out_high = false;
			if (c->ops->drain) {
				c->ops->drain(c->s);
				progress = true;
			}
		}
		if (c->handshake) {
			if (c->tls_fail) {
				fz_gone(c);
				return;
			}
			c->handshake = false;
			c->in_tls = true;
			c->ops->tls_ready(c->s);
			progress = true;
		}
		if (c->resumed) {
			c->resumed = false;
			call = true;
			progress = true;
		}
		if (!progress)
			return;
	}
}

/* Delivers n bytes from the peer in chunks: mode 0 all at once (as far as
 * the buffer takes them: a pipelining client, or an attacker), 1 byte by
 * byte, 2 line by line (a client that waits for each reply, so commands
 * after STARTTLS arrive after the handshake), 3 sizes drawn from rng. */
static inline void fz_feed(struct fz_conn *c, const uint8_t *p, size_t n,
                           unsigned mode, struct fuzz_rng *rng)
{
	size_t pos = 0;
	while (pos < n && !c->gone && !c->closing) {
		size_t k;
		if (mode == 0) {
			k = n - pos;
		} else if (mode == 1) {
			k = 1;
		} else if (mode == 2) {
			const uint8_t *lf = memchr(p + pos, '\n', n - pos);
			k = lf ? (size_t)(lf - (p + pos)) + 1 : n - pos;
		} else {
			k = fuzz_rng_len(rng, n - pos);
		}
		size_t room = buf_room(&c->in);
		if (k > room)
			k = room;
		/* A full buffer the session does not drain while idle would
		 * hang a real connection until its timeout. */
		FUZZ_CHECK(k > 0);
		FUZZ_CHECK(buf_append(&c->in, p + pos, k) == 0);
		pos += k;
		fz_pump(c, true);
	}
}

/* Ends the dialogue: optionally the idle timeout, then the hang-up. */
static inline void fz_finish(struct fz_conn *c, bool timeout)
{
	if (!c->gone && !c->closing && timeout && !c->handshake) {
		c->ops->timeout(c->s);
		fz_pump(c, false);
		/* The layer closes after a timeout. */
	}
	fz_gone(c);
	buf_free(&c->in);
}

#endif
