/* The SQL of the SQLite backend's cached statements (store_sqlite_int.h
 * names them). Schema: store_schema.c. */
#include "store_sqlite_int.h"

const char *const store_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* Batches (store_batch_begin): each call is a savepoint of its own. */
	[ST_SAVEPOINT] = "SAVEPOINT op",
	[ST_RELEASE] = "RELEASE op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO op",
	[ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
	[ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[ST_FREELIST] = "PRAGMA freelist_count",
	[ST_VACUUM_INC] = "PRAGMA incremental_vacuum("
	                  STORE_STR(STORE_RECLAIM_STEP) ")",
	[ST_CHECKPOINT] = "PRAGMA wal_checkpoint(PASSIVE)",

	[ST_DOMAIN_ADD] = "INSERT INTO domains(name, created) VALUES (?1, ?2)",
	[ST_DOMAIN_ID] = "SELECT id FROM domains WHERE name = ?1",
	[ST_DOMAIN_USERS] = "SELECT count(*) FROM users WHERE domain_id = ?1",
	[ST_DOMAIN_DEL] = "DELETE FROM domains WHERE id = ?1",
	[ST_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[ST_DOMAIN_FIRST] = "SELECT name FROM domains ORDER BY id LIMIT 1",
	[ST_USER_ADD] = "INSERT INTO users(address, domain_id, password, "
	                "disabled, created) VALUES (?1, ?2, ?3, 0, ?4)",
	[ST_MBOX_ADD] = "INSERT INTO mailboxes(user_id) VALUES (?1)",
	[ST_USER_PASSWD] = "UPDATE users SET password = ?2 WHERE address = ?1",
	[ST_USER_DISABLE] = "UPDATE users SET disabled = ?2 WHERE address = ?1",
	[ST_USER_DEL] = "DELETE FROM users WHERE address = ?1",
	[ST_USER_LIST] = "SELECT u.address FROM users u "
	                 "JOIN domains d ON d.id = u.domain_id "
	                 "ORDER BY d.name, u.address",
	[ST_USER_GET] = "SELECT u.password, u.disabled, m.id FROM users u "
	                "JOIN mailboxes m ON m.user_id = u.id "
	                "WHERE u.address = ?1",
	/* Only if the hash is still the one checked: a passwd meanwhile
	 * wins. */
	[ST_USER_REHASH] = "UPDATE users SET password = ?2 "
	                   "WHERE address = ?1 AND password = ?3",
	[ST_USER_INFO] = "SELECT u.address, u.disabled, "
	                 "coalesce(u.quota, d.quota), u.quota IS NOT NULL, "
	                 "m.used, m.messages FROM users u "
	                 "JOIN domains d ON d.id = u.domain_id "
	                 "JOIN mailboxes m ON m.user_id = u.id "
	                 "ORDER BY d.name, u.address",
	[ST_USER_FIRST] = "SELECT m.id FROM users u "
	                  "JOIN mailboxes m ON m.user_id = u.id "
	                  "ORDER BY u.id LIMIT 1",
	[ST_ALIAS_ORPHANS] = "DELETE FROM aliases WHERE NOT EXISTS "
	                     "(SELECT 1 FROM alias_targets t "
	                     "WHERE t.alias_id = aliases.id)",
	[ST_DOMAIN_ALIASES] = "SELECT count(*) FROM aliases WHERE domain_id = ?1",

	[ST_ALIAS_GET] = "SELECT id FROM aliases WHERE address = ?1",
	[ST_ALIAS_NEW] = "INSERT INTO aliases(address, domain_id, created) "
	                 "VALUES (?1, ?2, ?3)",
	[ST_ALIAS_TARGET_ADD] = "INSERT INTO alias_targets(alias_id, user_id) "
	                        "SELECT ?1, id FROM users WHERE address = ?2",
	[ST_ALIAS_TARGET_DEL] = "DELETE FROM alias_targets WHERE alias_id = ?1 "
	                        "AND user_id = (SELECT id FROM users "
	                        "WHERE address = ?2)",
	[ST_ALIAS_DEL] = "DELETE FROM aliases WHERE id = ?1",
	[ST_ALIAS_LIST] = "SELECT a.address, u.address FROM aliases a "
	                  "JOIN domains d ON d.id = a.domain_id "
	                  "JOIN alias_targets t ON t.alias_id = a.id "
	                  "JOIN users u ON u.id = t.user_id "
	                  "ORDER BY d.name, a.address, u.address",
	[ST_ALIAS_TARGETS] = "SELECT count(*), min(m.id) FROM alias_targets t "
	                     "JOIN mailboxes m ON m.user_id = t.user_id "
	                     "WHERE t.alias_id = ?1",
	/* Targets that ?2 more bytes would take over quota (0 = none). */
	[ST_ALIAS_FULL] = "SELECT count(*) FROM alias_targets t "
	                  "JOIN users u ON u.id = t.user_id "
	                  "JOIN domains d ON d.id = u.domain_id "
	                  "JOIN mailboxes m ON m.user_id = u.id "
	                  "WHERE t.alias_id = ?1 "
	                  "AND coalesce(u.quota, d.quota) > 0 "
	                  "AND m.used + ?2 > coalesce(u.quota, d.quota)",
	[ST_MBOX_FULL] = "SELECT count(*) FROM mailboxes m "
	                 "JOIN users u ON u.id = m.user_id "
	                 "JOIN domains d ON d.id = u.domain_id "
	                 "WHERE m.id = ?1 AND coalesce(u.quota, d.quota) > 0 "
	                 "AND m.used + ?2 > coalesce(u.quota, d.quota)",
	[ST_QUOTA_USER] = "UPDATE users SET quota = ?2 WHERE address = ?1",
	[ST_QUOTA_DOMAIN] = "UPDATE domains SET quota = ?2 WHERE name = ?1",
	[ST_QUOTA_GET_USER] = "SELECT coalesce(u.quota, d.quota), "
	                      "u.quota IS NOT NULL, m.used, m.messages "
	                      "FROM users u JOIN domains d ON d.id = u.domain_id "
	                      "JOIN mailboxes m ON m.user_id = u.id "
	                      "WHERE u.address = ?1",
	[ST_QUOTA_GET_DOMAIN] = "SELECT d.quota, 1, coalesce(sum(m.used), 0), "
	                        "coalesce(sum(m.messages), 0) FROM domains d "
	                        "LEFT JOIN users u ON u.domain_id = d.id "
	                        "LEFT JOIN mailboxes m ON m.user_id = u.id "
	                        "WHERE d.name = ?1 GROUP BY d.id",

	[ST_MSG_NEW] = "INSERT INTO messages(size, created, updated, state) "
	               "VALUES (0, ?1, ?1, 0)",
	[ST_MSG_WHOLE] = "INSERT INTO messages(size, created, updated, state, "
	                 "sender, subject) VALUES (?1, ?2, ?2, 1, ?3, ?4)",
	[ST_MSG_PENDING] = "SELECT size FROM messages WHERE id = ?1 AND state = 0",
	[ST_MSG_SIZE] = "UPDATE messages SET size = ?2, updated = ?3 WHERE id = ?1",
	[ST_MSG_COMPLETE] = "UPDATE messages SET state = 1, updated = ?2 "
	                    "WHERE id = ?1 AND state = 0",
	[ST_MSG_ABORT] = "DELETE FROM messages WHERE id = ?1 AND state = 0",
	[ST_MSG_STALE] = "DELETE FROM messages WHERE state = 0 AND updated < ?1",
	[ST_MSG_GC] = "DELETE FROM messages WHERE state = 1 AND NOT EXISTS "
	              "(SELECT 1 FROM entries e WHERE e.msg_id = messages.id)",
	[ST_MSG_UNREF] = "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS "
	                 "(SELECT 1 FROM entries WHERE msg_id = ?1)",
	[ST_CHUNK_ADD] = "INSERT INTO chunks(msg_id, seq, data) VALUES (?1, ?2, ?3)",
	/* || yields TEXT; the cast keeps the bytes a BLOB. */
	[ST_CHUNK_EXTEND] = "UPDATE chunks SET data = CAST(data || ?3 AS BLOB) "
	                    "WHERE msg_id = ?1 AND seq = ?2",
	[ST_CHUNK_READ] = "SELECT seq, data FROM chunks WHERE msg_id = ?1 "
	                  "AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
	/* OR IGNORE: a repeated mailbox gets one entry; the SELECT skips a
	 * mailbox that is gone. random() is the UIDL's salt (schema v4). */
	[ST_ENTRY_ADD] = "INSERT OR IGNORE INTO entries(mailbox_id, msg_id, "
	                 "uidl_salt) SELECT id, ?2, random() FROM mailboxes "
	                 "WHERE id = ?1",
	[ST_ENTRY_ADD_ALIAS] = "INSERT OR IGNORE INTO entries(mailbox_id, msg_id, "
	                       "uidl_salt) SELECT m.id, ?2, random() "
	                       "FROM alias_targets t "
	                       "JOIN mailboxes m ON m.user_id = t.user_id "
	                       "WHERE t.alias_id = ?1",
	/* The header is in the first piece (or not worth more reading). */
	[ST_MSG_HEAD] = "SELECT substr(data, 1, " STORE_STR(MSG_HEAD_MAX) ") FROM chunks "
	                "WHERE msg_id = ?1 AND seq = 0",
	[ST_MSG_META] = "UPDATE messages SET sender = ?2, subject = ?3 "
	                "WHERE id = ?1",
	[ST_MSG_RECEIVED] = "UPDATE messages SET received = ?2 "
	                    "WHERE id = ?1 AND state = 1",
	[ST_MBOX_INFO] = "SELECT e.id, m.size, coalesce(m.received, m.created), "
	                 "m.sender, m.subject, e.uidl_salt FROM entries e "
	                 "JOIN messages m ON m.id = e.msg_id "
	                 "WHERE e.mailbox_id = ?1 ORDER BY e.id",
	[ST_ENTRY_GET] = "SELECT e.msg_id, m.size FROM entries e "
	                 "JOIN messages m ON m.id = e.msg_id "
	                 "WHERE e.id = ?1 AND e.mailbox_id = ?2",
	/* store_entries_read (store_read.c): one piece of a batched read. */
	[ST_ENTRIES_READ] = "SELECT m.size, c.seq, c.data FROM entries e "
	                    "JOIN messages m ON m.id = e.msg_id "
	                    "LEFT JOIN chunks c ON c.msg_id = e.msg_id "
	                    "AND c.seq BETWEEN ?3 AND ?4 "
	                    "WHERE e.id = ?1 AND e.mailbox_id = ?2 "
	                    "ORDER BY c.seq",
	[ST_ENTRY_DEL] = "DELETE FROM entries WHERE id = ?1 AND mailbox_id = ?2 "
	                 "RETURNING msg_id",
	/* The first retrieval only: the expiry period runs from it. */
	[ST_ENTRY_SEEN] = "UPDATE entries SET retrieved = ?3 WHERE id = ?1 "
	                  "AND mailbox_id = ?2 AND retrieved IS NULL",
	[ST_ENTRY_EXPIRE] = "DELETE FROM entries WHERE mailbox_id = ?1 "
	                    "AND retrieved <= ?2 RETURNING msg_id",
	[ST_ENTRY_LIST] = "SELECT e.id, m.size, e.uidl_salt FROM entries e "
	                  "JOIN messages m ON m.id = e.msg_id "
	                  "WHERE e.mailbox_id = ?1 ORDER BY e.id",

	[ST_MBOX_EXISTS] = "SELECT 1 FROM mailboxes WHERE id = ?1",
	[ST_LOCK_GET] = "SELECT pid, starttime, boot_id, token FROM locks "
	                "WHERE mailbox_id = ?1",
	[ST_LOCK_PUT] = "INSERT OR REPLACE INTO locks(mailbox_id, pid, "
	                "starttime, boot_id, token, acquired) "
	                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LOCK_DEL] = "DELETE FROM locks WHERE mailbox_id = ?1 AND token = ?2",
};
