/* Fault injection under the store (STYLE.md, after SQLite's test_vfs.c):
 * the Nth write or sync fails, once or from then on (a full disk), or the
 * process dies right there (a crash mid-transaction), for every N that a
 * delivery and an expunge reach, alone and in a batch. After each: the
 * database is intact (integrity and the store's own checks), an
 * acknowledged delivery is there byte for byte, a failed one left nothing
 * visible, the failure was NOSPACE (never PERMFAIL), and the same work
 * succeeds once the disk is back. */
#include "../tools/faultvfs.c"
#include "test_store_util.h"

#include <fcntl.h>

#define BIG (150 * 1000) /* three pieces: 64 KiB, 64 KiB, the rest */

static unsigned char body[BIG];
static char template_db[192];

/* What a scenario got done (acknowledged). */
struct acks {
	bool delivered[2]; /* the two new messages */
	bool expunged;     /* the old one */
	enum store_status worst;
};

static void note(struct acks *a, enum store_status s)
{
	/* Only a full disk / I/O error is allowed to show. */
	if (s != STORE_OK && s != STORE_NOSPACE) {
		fprintf(stderr, "unexpected status %s\n", store_status_name(s));
		a->worst = s;
	}
}

/* One message in pieces to alice and bob; a small one to bob; alice's
 * first message expunged. In a batch when batch is set. ack (a pipe fd,
 * or -1) gets one byte per acknowledged step. */
static void scenario(struct store *st, bool batch, struct acks *a, int ack)
{
	uint64_t alice = 0, bob = 0, msg = 0, small = 0;
	enum store_status s;
	memset(a, 0, sizeof *a);
	if ((s = store_rcpt_lookup(st, "alice@example.org", &alice)) !=
	    STORE_OK ||
	    (s = store_rcpt_lookup(st, "bob@example.org", &bob)) != STORE_OK) {
		note(a, s);
		return;
	}
	if (batch && (s = store_batch_begin(st)) != STORE_OK) {
		note(a, s);
		return;
	}
	uint64_t both[] = {alice, bob};
	s = store_msg_append(st, &msg, body, 65536);
	if (s == STORE_OK)
		s = store_msg_append(st, &msg, body + 65536, 65536);
	if (s == STORE_OK)
		s = store_msg_deliver(st, &msg, body + 131072, BIG - 131072,
		                      both, 2);
	note(a, s);
	bool ok0 = s == STORE_OK;
	s = store_msg_deliver(st, &small, body, 1000, &bob, 1);
	note(a, s);
	bool ok1 = s == STORE_OK;
	struct store_entry *e = NULL;
	size_t n = 0;
	s = store_mailbox_list(st, alice, &e, &n);
	note(a, s);
	bool ok2 = false;
	if (s == STORE_OK && n > 0) {
		s = store_mailbox_expunge(st, alice, &e[0].id, 1);
		note(a, s);
		ok2 = s == STORE_OK;
	}
	free(e);
	if (batch) {
		s = store_batch_commit(st);
		note(a, s);
		if (s != STORE_OK)
			ok0 = ok1 = ok2 = false;
	}
	a->delivered[0] = ok0;
	a->delivered[1] = ok1;
	a->expunged = ok2;
	if (ack >= 0) {
		char b[3] = {ok0 ? 'D' : '-', ok1 ? 'S' : '-', ok2 ? 'E' : '-'};
		if (write(ack, b, 3) != 3)
			_exit(98);
	}
}

/* Copies the template store into dir (a new data_dir): no -wal or -shm
 * of an earlier run survives. */
static void from_template(const char *dir)
{
	static const char *const ext[] = {"-wal", "-shm", ""};
	char path[224], buf[65536];
	mkdir(dir, 0750);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/postlite.db%s", dir, ext[i]);
		unlink(path);
	}
	int in = open(template_db, O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n = 0;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		CHECK_INT(write(out, buf, (size_t)n), n);
	CHECK(in >= 0 && out >= 0 && n == 0);
	close(in);
	close(out);
}

/* Does mailbox hold a message of exactly len bytes equal to body? */
static int count_copies(struct store *st, uint64_t mbox, size_t len)
{
	struct store_entry *e = NULL;
	size_t n = 0;
	int found = 0;
	CHECK_INT(store_mailbox_list(st, mbox, &e, &n), STORE_OK);
	unsigned char *buf = malloc(BIG);
	for (size_t i = 0; i < n; i++) {
		if (e[i].size != len)
			continue;
		size_t got = 0;
		CHECK_INT(store_entry_read(st, mbox, e[i].id, 0, buf, BIG, &got),
		          STORE_OK);
		CHECK_INT(got, len);
		if (got == len && memcmp(buf, body, len) == 0)
			found++;
	}
	free(buf);
	free(e);
	return found;
}

static void problem(void *arg, const char *p)
{
	fprintf(stderr, "verify: %s\n", p);
}

/* After a fault: intact, acknowledged work there, failed work absent
 * (strict: only a failed sync may have left its commit in the log), and
 * the store works again. */
static void check_after(const char *dir, const struct acks *a, bool strict,
                        const char *what, unsigned n)
{
	struct store *st = open_ok(dir);
	if (!st)
		return;
	CHECK_INT(store_verify(st, problem, NULL), STORE_OK);
	uint64_t alice = mbox_of(st, "alice@example.org");
	uint64_t bob = mbox_of(st, "bob@example.org");
	int big_a = count_copies(st, alice, BIG), big_b = count_copies(st, bob, BIG);
	int small_b = count_copies(st, bob, 1000);
	CHECK_INT(big_a, big_b); /* one message, both or neither */
	CHECK(big_a <= 1 && small_b <= 1);
	if (a->delivered[0])
		CHECK_INT(big_a, 1);
	if (a->delivered[1])
		CHECK_INT(small_b, 1);
	if (strict && !a->delivered[0])
		CHECK_INT(big_a, 0);
	if (strict && !a->delivered[1])
		CHECK_INT(small_b, 0);
	size_t left = count_entries(st, alice, NULL);
	if (a->expunged)
		CHECK_INT(left, (size_t)big_a);
	if (strict && !a->expunged)
		CHECK_INT(left, (size_t)big_a + 1);
	CHECK(a->worst == STORE_OK);
	if (t_failures)
		fprintf(stderr, "  after %s fault at %u\n", what, n);
	/* Space is back: the same work goes through. */
	struct acks again;
	scenario(st, false, &again, -1);
	CHECK(again.delivered[0] && again.delivered[1] && again.expunged);
	store_close(st);
}

/* Every N until the scenario runs out of writes (or syncs) to fail. */
static unsigned sweep(enum faultvfs_kind kind, bool persist,
                      enum faultvfs_action action, bool batch)
{
	char dir[160];
	snprintf(dir, sizeof dir, "%s/sweep", tmp_root);
	unsigned n;
	for (n = 1; n < 2000; n++) {
		from_template(dir);
		struct acks a;
		struct store *st = open_ok(dir);
		if (!st)
			return n;
		if (action == FAULTVFS_EXIT) {
			int p[2];
			CHECK_INT(pipe(p), 0);
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				faultvfs_arm(kind, n, persist, action);
				scenario(st, batch, &a, p[1]);
				_exit(0);
			}
			close(p[1]);
			char got[3] = {'-', '-', '-'};
			ssize_t r = read(p[0], got, 3);
			close(p[0]);
			int status = 0;
			waitpid(pid, &status, 0);
			store_close(st);
			memset(&a, 0, sizeof a);
			a.delivered[0] = r == 3 && got[0] == 'D';
			a.delivered[1] = r == 3 && got[1] == 'S';
			a.expunged = r == 3 && got[2] == 'E';
			/* A crash before the sync may or may not keep the
			 * commit: only what was acknowledged is checked. */
			check_after(dir, &a, false, "exit", n);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				break; /* ran to the end: nothing left to crash */
			continue;
		}
		faultvfs_arm(kind, n, persist, action);
		scenario(st, batch, &a, -1);
		bool fired = faultvfs_fired();
		faultvfs_disarm();
		store_close(st);
		check_after(dir, &a, kind == FAULTVFS_WRITE, kind ==
		            FAULTVFS_WRITE ? "write" : "sync", n);
		if (!fired)
			break;
	}
	return n;
}

/* Syncs per delivery: one each alone, one for a whole batch. */
static void test_sync_count(void)
{
	char dir[160];
	snprintf(dir, sizeof dir, "%s/count", tmp_root);
	from_template(dir);
	struct store *st = open_ok(dir);
	if (!st)
		return;
	uint64_t bob = mbox_of(st, "bob@example.org");
	uint64_t msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, body, 1000, &bob, 1), STORE_OK);
	faultvfs_reset();
	for (int i = 0; i < 10; i++) {
		msg = 0;
		CHECK_INT(store_msg_deliver(st, &msg, body, 4096, &bob, 1),
		          STORE_OK);
	}
	unsigned alone = faultvfs_count(FAULTVFS_SYNC);
	faultvfs_reset();
	CHECK_INT(store_batch_begin(st), STORE_OK);
	for (int i = 0; i < 10; i++) {
		msg = 0;
		CHECK_INT(store_msg_deliver(st, &msg, body, 4096, &bob, 1),
		          STORE_OK);
	}
	CHECK_INT(store_batch_commit(st), STORE_OK);
	unsigned batched = faultvfs_count(FAULTVFS_SYNC);
	printf("syncs for 10 deliveries: %u alone, %u in one batch\n", alone,
	       batched);
	CHECK_INT(alone, 10);
	CHECK_INT(batched, 1);
	store_close(st);
}

int main(void)
{
	if (tmp_setup("store-fault") != 0 || faultvfs_install() != 0)
		return 1;
	fill(body, sizeof body, 7);
	/* The template: users, and one message of alice's to expunge. */
	const char *dir = fresh("template", true);
	snprintf(template_db, sizeof template_db, "%s", db_path);
	struct store *st = open_ok(dir);
	if (!st)
		return 1;
	add_users(st);
	uint64_t alice = mbox_of(st, "alice@example.org"), msg = 0;
	CHECK_INT(store_msg_deliver(st, &msg, "old", 3, &alice, 1), STORE_OK);
	store_close(st);

	test_sync_count();
	/* From here on, process faults only: the machine stays up, so the
	 * real syncs would only cost time. */
	faultvfs_skip_sync(true);
	static const struct {
		enum faultvfs_kind kind;
		bool persist;
		enum faultvfs_action action;
		const char *name;
	} runs[] = {
		{FAULTVFS_WRITE, true, FAULTVFS_FULL, "disk full"},
		{FAULTVFS_WRITE, false, FAULTVFS_IOERR, "one write fails"},
		{FAULTVFS_SYNC, false, FAULTVFS_IOERR, "one sync fails"},
		{FAULTVFS_SYNC, true, FAULTVFS_IOERR, "every sync fails"},
		{FAULTVFS_WRITE, false, FAULTVFS_EXIT, "crash at a write"},
		{FAULTVFS_SYNC, false, FAULTVFS_EXIT, "crash at a sync"},
	};
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		for (int batch = 0; batch < 2; batch++) {
			unsigned n = sweep(runs[i].kind, runs[i].persist,
			                   runs[i].action, batch);
			printf("%s%s: %u fault points\n", runs[i].name,
			       batch ? " (batch)" : "", n - 1);
		}
	}
	tmp_cleanup();
	return t_done("store_fault");
}
