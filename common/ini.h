/* A pure INI tokenizer: "[section]", "key = value", '#' comments at line
 * start or after whitespace. It knows nothing of keys; config.c applies the
 * schema. */
#ifndef POSTLITE_INI_H
#define POSTLITE_INI_H

#include <stddef.h>

/* Called once per "key = value" line. section is "" before any header.
 * Also called once per "[section]" header line with key and value NULL, so
 * the caller can refuse an unknown section even when it holds no keys.
 * Strings are NUL-terminated copies valid only during the call; value has
 * surrounding whitespace and any trailing comment removed. Return 0 to go
 * on, or non-zero to stop (ini_parse then returns that value). On a stop the
 * callback has written its own reason into the err buffer given to
 * ini_parse. */
typedef int (*ini_cb)(void *arg, unsigned line, const char *section,
                      const char *key, const char *value);

/* Parses text[0..len). Returns 0, the callback's non-zero value, or -1 for a
 * syntax error with "line N: reason" style text (no file name) in err and the
 * line number in *err_line. Lines are at most 4096 bytes (not counting the
 * LF or CRLF end). Refused: a NUL byte, any other control character but TAB
 * (a stray CR too), a line that is neither blank, comment, "[section]" nor
 * "key = value", and names outside [A-Za-z0-9_.-]. A leading UTF-8 BOM is
 * skipped. On a callback stop, *err_line is that line and err is left as the
 * callback wrote it. */
int ini_parse(const char *text, size_t len, ini_cb cb, void *arg,
              unsigned *err_line, char *err, size_t errlen);

#endif
