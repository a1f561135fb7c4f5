/* store_verify: the database's own checks, then the store's invariants,
 * each as a query whose rows are problems. One read snapshot. */
#include "store_sqlite_int.h"

#include <stdarg.h>
#include <stdio.h>

/* Problems reported before the rest is only counted. */
#define VERIFY_MAX_REPORTS 100

struct verify {
	struct store *st;
	void (*cb)(void *arg, const char *problem);
	void *arg;
	unsigned found;
};

static const struct verify_query {
	const char *sql; /* each row: one problem, described by its columns */
	const char *fmt; /* printf format of the columns, as text */
	int ncols;
} verify_queries[] = {
	/* Rows other than the single "ok" describe damage. */
	{"SELECT integrity_check FROM pragma_integrity_check "
	 "WHERE integrity_check != 'ok'", "database: %s", 1},
	{"SELECT \"table\", rowid, parent FROM pragma_foreign_key_check",
	 "table %s row %s: refers to a missing row of %s", 3},
	/* The pieces of a message: seq 0..k-1, all full but the last, and
	 * their lengths add up to the size. length() reads no blob. */
	{"SELECT m.id, m.size, count(c.id), coalesce(sum(length(c.data)), 0) "
	 "FROM messages m LEFT JOIN chunks c ON c.msg_id = m.id "
	 "WHERE m.state = 1 GROUP BY m.id "
	 "HAVING coalesce(sum(length(c.data)), 0) != m.size "
	 "OR count(c.id) != (m.size + 65535) / 65536 "
	 "OR coalesce(max(c.seq), -1) != count(c.id) - 1 "
	 "OR sum(length(c.data) != 65536 AND c.seq != (m.size - 1) / 65536) > 0",
	 "message %s: %s bytes, but %s pieces holding %s", 4},
	{"SELECT m.id FROM messages m WHERE m.state = 1 AND NOT EXISTS "
	 "(SELECT 1 FROM entries e WHERE e.msg_id = m.id)",
	 "message %s: delivered but in no mailbox (space lost)", 1},
	{"SELECT e.id, e.mailbox_id FROM entries e "
	 "JOIN messages m ON m.id = e.msg_id WHERE m.state != 1",
	 "entry %s of mailbox %s: refers to an undelivered message", 2},
	{"SELECT b.id, b.used, b.messages, "
	 "coalesce((SELECT sum(m.size) FROM entries e JOIN messages m "
	 "ON m.id = e.msg_id WHERE e.mailbox_id = b.id), 0) AS real_used, "
	 "(SELECT count(*) FROM entries e WHERE e.mailbox_id = b.id) AS real_n "
	 "FROM mailboxes b WHERE b.used != real_used OR b.messages != real_n",
	 "mailbox %s: counts %s bytes in %s messages, holds %s in %s", 5},
	{"SELECT u.address FROM users u WHERE NOT EXISTS "
	 "(SELECT 1 FROM mailboxes b WHERE b.user_id = u.id)",
	 "user %s: has no mailbox", 1},
	{"SELECT c.id, c.msg_id FROM chunks c WHERE c.seq < 0 "
	 "OR length(c.data) > 65536 OR length(c.data) = 0",
	 "piece %s of message %s: bad sequence number or size", 2},
};

_Static_assert(STORE_CHUNK_SIZE == 65536, "verify_queries spell 65536");

static void verify_report(struct verify *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void verify_report(struct verify *v, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (v->found++ < VERIFY_MAX_REPORTS)
		v->cb(v->arg, line);
}

/* Runs one query; every row is a problem. */
static enum store_status verify_run(struct verify *v,
                                    const struct verify_query *vq)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(v->st->db, vq->sql, -1, &q, NULL);
	while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *c[5] = {"", "", "", "", ""};
		for (int i = 0; i < vq->ncols && i < 5; i++) {
			const char *t = (const char *)sqlite3_column_text(q, i);
			c[i] = t ? t : "NULL";
		}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		verify_report(v, vq->fmt, c[0], c[1], c[2], c[3], c[4]);
#pragma GCC diagnostic pop
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	/* Damage bad enough that a check cannot run is damage too. */
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
		verify_report(v, "database: %s", sqlite3_errstr(rc));
		return STORE_OK;
	}
	return store_dberr(v->st, rc, "verifying");
}

enum store_status store_verify(struct store *st,
                               void (*cb)(void *arg, const char *problem),
                               void *arg)
{
	struct verify v = {st, cb, arg, 0};
	enum store_status s = store_tx_read(st);
	for (size_t i = 0; s == STORE_OK &&
	     i < sizeof verify_queries / sizeof verify_queries[0]; i++)
		s = verify_run(&v, &verify_queries[i]);
	store_tx_rollback(st);
	if (s != STORE_OK)
		return s;
	if (v.found > VERIFY_MAX_REPORTS) {
		char more[64];
		snprintf(more, sizeof more, "... and %u more problems",
		         v.found - VERIFY_MAX_REPORTS);
		cb(arg, more);
	}
	if (v.found)
		return store_fail(st, STORE_PERMFAIL, "%u problem%s found",
		                  v.found, v.found == 1 ? "" : "s");
	return STORE_OK;
}
