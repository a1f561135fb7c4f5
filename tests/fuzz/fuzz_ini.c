/* Fuzzes the INI tokenizer (common/ini.c).
 *
 * Properties: every callback string is NUL-terminated and obeys ini.h
 * (names in [A-Za-z0-9_.-], values trimmed and free of control bytes);
 * line numbers never go backwards; a stop from the callback is returned as
 * is; and a round trip holds: the accepted events written back in
 * canonical form ("[s]" and "k=v" lines) parse to the same events. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "ini.h"

struct events {
	char *text; /* canonical form of the events so far */
	size_t len, cap;
	unsigned last_line;
	unsigned n;
	unsigned stop_at; /* stop (return 7) at this event; 0 = never */
};

static void ev_put(struct events *ev, const char *s)
{
	size_t n = strlen(s);
	if (ev->len + n + 1 > ev->cap) {
		ev->cap = (ev->len + n + 1) * 2;
		ev->text = realloc(ev->text, ev->cap);
		FUZZ_CHECK(ev->text != NULL);
	}
	memcpy(ev->text + ev->len, s, n + 1);
	ev->len += n;
}

static bool is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

static bool is_value(const char *s)
{
	size_t n = strlen(s);
	FUZZ_CHECK(n <= 4096);
	if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
	          s[n - 1] == '\t'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		/* a comment would have been cut off */
		if (c == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			return false;
	}
	return true;
}

static int on_line(void *arg, unsigned line, const char *section,
                   const char *key, const char *value)
{
	struct events *ev = arg;
	FUZZ_CHECK(section != NULL);
	FUZZ_CHECK(line > ev->last_line);
	FUZZ_CHECK((key == NULL) == (value == NULL));
	ev->last_line = line;
	ev->n++;
	if (key == NULL) {
		FUZZ_CHECK(is_name(section));
		ev_put(ev, "[");
		ev_put(ev, section);
		ev_put(ev, "]\n");
	} else {
		FUZZ_CHECK(section[0] == '\0' || is_name(section));
		FUZZ_CHECK(is_name(key));
		FUZZ_CHECK(is_value(value));
		ev_put(ev, key);
		ev_put(ev, "=");
		ev_put(ev, value);
		ev_put(ev, "\n");
	}
	return ev->n == ev->stop_at ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size heap copy: the tokenizer must not read past len. */
	char *text = fuzz_memdup(data, size);

	struct events ev = {0};
	unsigned err_line = 12345;
	char err[64];
	int rc =
	    ini_parse(text, size, on_line, &ev, &err_line, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	if (rc == 0) {
		FUZZ_CHECK(err_line == 0);
		FUZZ_CHECK(err[0] == '\0');
	} else {
		FUZZ_CHECK(err_line > 0);
		FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
	}

	/* Round trip of the events accepted before any error. */
	struct events again = {0};
	if (ev.len) {
		rc = ini_parse(ev.text, ev.len, on_line, &again, NULL, NULL, 0);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(again.len == ev.len &&
		           memcmp(again.text, ev.text, ev.len) == 0);
	}

	/* A callback stop is passed through with its line. */
	if (ev.n > 0) {
		struct events stop = {.stop_at = 1 + (unsigned)(size % ev.n)};
		rc = ini_parse(text, size, on_line, &stop, &err_line, NULL, 0);
		FUZZ_CHECK(rc == 7);
		FUZZ_CHECK(err_line == stop.last_line);
		free(stop.text);
	}
	free(again.text);
	free(ev.text);
	free(text);
	return 0;
}
