/* The outbound queue in the store (store_queue.h) on an in-memory store,
 * the retry schedule, and the MX ordering of ob_dns (RFC 5321 5.1, RFC
 * 7505). */
#include <stdlib.h>
#include <string.h>

#include "ob_dns.h"
#include "ob_int.h"
#include "store.h"
#include "store_queue.h"
#include "t.h"

static void t_queue(void)
{
	struct store *st;
	char err[256];
	CHECK_INT(store_open(":memory:", &st, err, sizeof err), STORE_OK);
	if (!st)
		return;
	const char *rc[] = {"Bob@Example.NET", "carol@example.net",
	                    "dave@other.test"};
	uint64_t q1, q2;
	/* A body larger than one piece, from a pending store message plus
	 * the last piece. */
	uint64_t msg = 0;
	static char big[150000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	CHECK_INT(store_msg_append(st, &msg, big, 100000), STORE_OK);
	CHECK_INT(store_queue_add(st, msg, big + 100000, sizeof big - 100000,
	                          "alice@example.org", rc, 3, STORE_QUEUE_8BIT,
	                          &q1), STORE_OK);
	CHECK_INT(store_msg_abort(st, msg), STORE_OK);
	CHECK_INT(store_queue_add(st, 0, "x\r\n", 3, "", rc + 2, 1, 0, &q2),
	          STORE_OK);
	CHECK(q2 > q1);
	const char *bad[] = {"not an address"};
	CHECK_INT(store_queue_add(st, 0, "x", 1, "", bad, 1, 0, &q2),
	          STORE_INVALID);
	CHECK_INT(store_queue_add(st, 0, "x", 1, "", rc, 0, 0, &q2),
	          STORE_INVALID);

	/* The body comes back whole, piece by piece. */
	char *back = malloc(sizeof big), *piece = malloc(STORE_QUEUE_CHUNK_MAX);
	size_t off = 0, got;
	uint64_t seq = 0;
	while (store_queue_read(st, q1, seq++, piece, STORE_QUEUE_CHUNK_MAX,
	                        &got) == STORE_OK && off + got <= sizeof big) {
		memcpy(back + off, piece, got);
		off += got;
	}
	CHECK_INT(off, sizeof big);
	CHECK(memcmp(back, big, sizeof big) == 0);
	free(back);
	free(piece);

	struct store_queue_item *it;
	size_t n;
	CHECK_INT(store_queue_due(st, INT64_MAX, 100, &it, &n), STORE_OK);
	CHECK_INT(n, 4);
	if (n == 4) {
		/* by message, then domain */
		CHECK_STR(it[0].rcpt, "bob@example.net");
		CHECK_STR(it[0].domain, "example.net");
		CHECK_STR(it[1].rcpt, "carol@example.net");
		CHECK_STR(it[2].domain, "other.test");
		CHECK_INT(it[0].size, sizeof big);
		CHECK_INT(it[0].flags, STORE_QUEUE_8BIT);
		CHECK_STR(it[3].sender, "");
		/* bob delivered, carol retried later, dave bounced */
		struct store_queue_result r[3] = {
			{it[0].rid, STORE_QUEUE_DONE, 0, NULL},
			{it[1].rid, STORE_QUEUE_RETRY, INT64_MAX - 1, "451 later"},
			{it[2].rid, STORE_QUEUE_DONE, 0, NULL},
		};
		CHECK_INT(store_queue_update(st, r, 3), STORE_OK);
	}
	free(it);
	CHECK_INT(store_queue_due(st, 1LL << 40, 100, &it, &n), STORE_OK);
	CHECK_INT(n, 1); /* only q2's recipient is due */
	free(it);
	CHECK_INT(store_queue_due(st, INT64_MAX, 100, &it, &n), STORE_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(it[0].attempts, 1);
		CHECK_STR(it[0].last_error, "451 later");
	}
	free(it);
	/* retry makes it due; delete drops message and body */
	CHECK_INT(store_queue_retry(st, q1, 0), STORE_OK);
	CHECK_INT(store_queue_due(st, 1LL << 40, 100, &it, &n), STORE_OK);
	CHECK_INT(n, 2);
	free(it);
	CHECK_INT(store_queue_retry(st, 999999, 0), STORE_NOTFOUND);
	CHECK_INT(store_queue_delete(st, q1), STORE_OK);
	CHECK_INT(store_queue_delete(st, q1), STORE_NOTFOUND);
	CHECK_INT(store_queue_read(st, q1, 0, big, sizeof big, &got),
	          STORE_NOTFOUND);
	CHECK_INT(store_queue_due(st, INT64_MAX, 100, &it, &n), STORE_OK);
	CHECK_INT(n, 1);
	free(it);
	store_close(st);
}

static void t_backoff(void)
{
	struct outbound_cfg c = {.backoff_min = 300, .backoff_max = 4 * 3600};
	CHECK_INT(ob_next_try(&c, 1, 1000), 1300);
	CHECK_INT(ob_next_try(&c, 2, 1000), 1600);
	CHECK_INT(ob_next_try(&c, 3, 1000), 2200);
	CHECK_INT(ob_next_try(&c, 7, 1000), 1000 + 14400); /* capped */
	CHECK_INT(ob_next_try(&c, 1000, 0), 14400);
}

static void t_mx(void)
{
	struct ob_mx mx[5] = {{"c.test", 30}, {"a.test", 10}, {".", 0},
	                      {"b1.test", 20}, {"b2.test", 20}};
	int k = ob_mx_sort(mx, 5, 8, 1);
	CHECK_INT(k, 4); /* the null MX among others is ignored */
	CHECK_STR(mx[0].host, "a.test");
	CHECK(mx[1].pref == 20 && mx[2].pref == 20);
	CHECK_STR(mx[3].host, "c.test");
	/* equal preferences are shuffled: both orders occur */
	int first_b1 = 0;
	for (unsigned seed = 0; seed < 64; seed++) {
		struct ob_mx m[2] = {{"b1.test", 20}, {"b2.test", 20}};
		ob_mx_sort(m, 2, 8, seed);
		first_b1 += !strcmp(m[0].host, "b1.test");
	}
	CHECK(first_b1 > 0 && first_b1 < 64);
	struct ob_mx null_only[1] = {{"", 0}};
	CHECK_INT(ob_mx_sort(null_only, 1, 8, 0), -1); /* RFC 7505 */
	struct ob_mx many[3] = {{"a", 1}, {"b", 2}, {"c", 3}};
	CHECK_INT(ob_mx_sort(many, 3, 2, 0), 2);
}

/* PREPARE of a message deleted after the scan found it: "gone", never
 * an empty body to send (found by a review helper). */
static void t_prepare_gone(void)
{
	struct store *st;
	char err[256];
	CHECK_INT(store_open(":memory:", &st, err, sizeof err), STORE_OK);
	if (!st)
		return;
	const char *rc[] = {"bob@example.net"};
	const char body[] = "Received: x\r\nSubject: hi\r\n\r\nhello\r\n";
	struct outbound ob;
	memset(&ob, 0, sizeof ob);
	ob.cfg.data_dir = "/nonexistent";
	uint64_t none = 0;
	CHECK_INT(store_queue_add(st, 0, "", 0, "a@example.org", rc, 1, 0,
	                          &none), STORE_INVALID);
	for (int gone = 0; gone < 2; gone++) {
		uint64_t qid = 0;
		CHECK_INT(store_queue_add(st, 0, body, sizeof body - 1,
		                          "a@example.org", rc, 1, 0, &qid),
		          STORE_OK);
		if (gone)
			CHECK_INT(store_queue_delete(st, qid), STORE_OK);
		struct ob_delivery *d = calloc(1, sizeof *d);
		if (!d)
			break;
		d->ob = &ob;
		d->qid = qid;
		buf_init(&d->dkim_sig, 8192);
		buf_init(&d->headers, 65536);
		d->kind = OB_JOB_PREPARE;
		ob_work(&d->job, st);
		CHECK_INT(d->status, gone ? STORE_NOTFOUND : STORE_OK);
		if (!gone) {
			CHECK_INT(d->npieces, 1);
			CHECK(d->wire_size >= sizeof body - 1);
		}
		buf_free(&d->dkim_sig);
		buf_free(&d->headers);
		free(d);
	}
	store_close(st);
}

static void t_bounce_flags(void)
{
	CHECK_INT(ob_bounce_flags("alice@example.org"), 0);
	CHECK_INT(ob_bounce_flags("j\xc3\xb6rg@example.org"),
	          STORE_QUEUE_SMTPUTF8);
	CHECK_INT(ob_bounce_flags("jorg@b\xc3\xbc" "cher.example"),
	          STORE_QUEUE_SMTPUTF8);
}

int main(void)
{
	t_bounce_flags();
	t_queue();
	t_prepare_gone();
	t_backoff();
	t_mx();
	return t_done("outbound_queue");
}
