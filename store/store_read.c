/* Batched reads for POP3 (store.h, store_entries_read): several entries'
 * bytes from one snapshot, so a session fetching a mailbox makes one trip
 * to a worker thread per batch, not per message. */
#include "store_sqlite_int.h"

#include <string.h>

/* Fills one piece with q, ST_ENTRIES_READ: the chunks of an entry's
 * message covering chunk numbers ?3 to ?4, in order, each row with the
 * message's size; no row for an entry that is not in the mailbox, and a
 * single row with a NULL seq for one whose range holds no chunk (an empty
 * message). OK also when the entry is gone (p->status says NOTFOUND); a
 * damaged message or a database error is the batch's error. */
static enum store_status read_piece(struct store *st, sqlite3_stmt *q,
                                    uint64_t mailbox, struct store_piece *p)
{
	uint64_t pos = p->offset, end = p->offset + p->len;
	int rc;

	p->got = 0;
	p->status = STORE_NOTFOUND;
	sqlite3_bind_int64(q, 1, (int64_t)p->entry);
	sqlite3_bind_int64(q, 2, (int64_t)mailbox);
	sqlite3_bind_int64(q, 3, (int64_t)(p->offset / CHUNK));
	sqlite3_bind_int64(q, 4, (int64_t)((end > 0 ? end - 1 : 0) / CHUNK));
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (p->status == STORE_NOTFOUND) {
			/* The first row: clip the piece to the message. */
			uint64_t size = (uint64_t)sqlite3_column_int64(q, 0);
			p->status = STORE_OK;
			if (end > size)
				end = size > pos ? size : pos;
		}
		if (sqlite3_column_type(q, 1) == SQLITE_NULL)
			break;
		uint64_t start = (uint64_t)sqlite3_column_int64(q, 1) * CHUNK;
		const unsigned char *data = sqlite3_column_blob(q, 2);
		uint64_t dlen = (uint64_t)sqlite3_column_bytes(q, 2);
		if (start > pos || dlen > CHUNK)
			break; /* a hole or an oversized chunk: damaged */
		uint64_t to = start + dlen < end ? start + dlen : end;
		if (to > pos) {
			memcpy((char *)p->buf + (pos - p->offset),
			       data + (pos - start), (size_t)(to - pos));
			pos = to;
		}
	}
	store_done(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(st, rc, "reading messages");
	if (p->status == STORE_OK && pos < end)
		return store_fail(st, STORE_PERMFAIL, "entry %llu: damaged at "
		                  "offset %llu", (unsigned long long)p->entry,
		                  (unsigned long long)pos);
	p->got = (size_t)(pos - p->offset);
	return STORE_OK;
}

enum store_status store_entries_read(struct store *st, uint64_t mailbox,
                                     struct store_piece *pieces, size_t n)
{
	/* Cached like every other statement: preparing this join took
	 * about 11 us per batch (PROFILE.md 7). */
	enum store_status s;
	sqlite3_stmt *q = store_stmt(st, ST_ENTRIES_READ, &s);
	if (!q)
		return s;
	/* One snapshot: no entry can vanish or change between pieces. */
	s = store_tx_read(st);
	for (size_t i = 0; i < n && s == STORE_OK; i++)
		s = read_piece(st, q, mailbox, &pieces[i]);
	store_tx_rollback(st); /* a read: nothing to commit */
	return s;
}
