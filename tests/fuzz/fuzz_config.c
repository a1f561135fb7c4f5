/* Fuzzes config_parse (common/config.c over ini.c, the schema in
 * config_schema.c and listen.c) with whole config files, and
 * config_parse_size with the first line.
 *
 * Properties: -1 leaves *out NULL and a "name:..." reason; 0 gives a
 * config whose values respect the schema's limits and the cross-key
 * checks of config.h. Freed with config_free (leaks show under ASan). */
#include <string.h>

#include "config.h"
#include "fuzz.h"

static void check_list(const struct listen_list *l)
{
	FUZZ_CHECK(l->n <= LISTEN_MAX_ADDRS);
	for (size_t i = 0; i < l->n; i++)
		FUZZ_CHECK(memchr(l->addr[i].text, '\0',
		                  sizeof l->addr[i].text) != NULL);
}

static void check_config(const struct config *c)
{
	FUZZ_CHECK(c->path && strcmp(c->path, "fuzz.conf") == 0);
	FUZZ_CHECK(c->server.hostname && c->server.hostname[0]);
	FUZZ_CHECK(c->server.data_dir && c->server.data_dir[0] == '/');
	FUZZ_CHECK(c->server.user && c->server.user[0]);
	FUZZ_CHECK((c->tls.cert == NULL) == (c->tls.key == NULL));
	check_list(&c->smtp.listen);
	check_list(&c->smtp.submission);
	check_list(&c->smtp.submissions);
	check_list(&c->pop3.listen);
	check_list(&c->pop3.pop3s);
	if (c->smtp.submissions.n || c->pop3.pop3s.n)
		FUZZ_CHECK(c->tls.cert != NULL);
	FUZZ_CHECK(c->smtp.max_message_size >= 1024);
	FUZZ_CHECK(c->smtp.max_message_size <= 2ull * 1024 * 1024 * 1024);
	FUZZ_CHECK(c->smtp.max_recipients >= 1 &&
	           c->smtp.max_recipients <= 10000);
	FUZZ_CHECK(c->smtp.timeout >= 10 && c->smtp.timeout <= 3600);
	FUZZ_CHECK(c->pop3.timeout >= 30 && c->pop3.timeout <= 86400);
	FUZZ_CHECK(c->relay.tls == RELAY_TLS_STARTTLS ||
	           c->relay.tls == RELAY_TLS_IMPLICIT ||
	           c->relay.tls == RELAY_TLS_NONE);
	if (c->relay.host) {
		FUZZ_CHECK(c->relay.port >= 1 && c->relay.port <= 65535);
	} else {
		FUZZ_CHECK(c->relay.port == 0);
		FUZZ_CHECK(c->relay.user == NULL);
		FUZZ_CHECK(c->relay.password_file == NULL);
	}
	if (c->relay.user)
		FUZZ_CHECK(c->relay.password_file != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_memdup(data, size); /* exact size, no NUL */

	struct config *cfg = (struct config *)1;
	char err[200];
	int rc = config_parse("fuzz.conf", text, size, &cfg, err, sizeof err);
	if (rc == 0) {
		FUZZ_CHECK(cfg != NULL);
		check_config(cfg);
		config_free(cfg);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(cfg == NULL);
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		FUZZ_CHECK(strncmp(err, "fuzz.conf", 9) == 0);
	}

	/* The size syntax alone, on the first line. */
	const uint8_t *nl = memchr(data, '\n', size);
	char *line = fuzz_strndup(data, nl ? (size_t)(nl - data) : size);
	uint64_t v = 0;
	if (config_parse_size(line, &v) == 0) {
		/* A bare number is taken as it is. */
		if (line[0] >= '0' && line[0] <= '9' &&
		    strspn(line, "0123456789") == strlen(line))
			FUZZ_CHECK(v == strtoull(line, NULL, 10));
	}
	free(line);
	free(text);
	return 0;
}
