/* Admin verbs of issue 9: `postlite queue list|flush|retry ID|delete ID`
 * and `postlite dkim keygen DOMAIN`. Each prints its result (or one line
 * on stderr) and returns a CLI exit code (cli.h). */
#ifndef POSTLITE_CLI_QUEUE_H
#define POSTLITE_CLI_QUEUE_H

struct config;
struct store;

int cli_queue_list(struct store *st);
/* flush: every queued message is due now; retry: message ID only. The
 * running smtpd picks them up at its next queue scan. */
int cli_queue_flush(struct store *st);
int cli_queue_retry(struct store *st, const char *id);
int cli_queue_delete(struct store *st, const char *id);
int cli_dkim_keygen(const struct config *cfg, const char *domain);

#endif
