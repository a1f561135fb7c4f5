/* Logging: one line per event, to stderr (-f) or syslog.
 *
 * Lines read "sid=ID event key=value ..." where the caller supplies the
 * event text. Untrusted text goes through log_escape() first. Secrets are
 * never passed here. */
#ifndef POSTLITE_LOG_H
#define POSTLITE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident: program name. to_stderr: true for -f. Call once at start. */
void log_init(const char *ident, bool to_stderr);
void log_set_level(enum log_level lvl);

/* sid may be NULL for process-wide events. */
void log_msg(enum log_level lvl, const char *sid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(sid, ...)   log_msg(LOG_LVL_ERR, sid, __VA_ARGS__)
#define log_warn(sid, ...)  log_msg(LOG_LVL_WARN, sid, __VA_ARGS__)
#define log_info(sid, ...)  log_msg(LOG_LVL_INFO, sid, __VA_ARGS__)
#define log_debug(sid, ...) log_msg(LOG_LVL_DEBUG, sid, __VA_ARGS__)

/* Copies untrusted bytes into out (size outsz, always NUL-terminated),
 * escaping non-printable bytes, '"' and '\\' as \xHH and truncating with
 * "..." when they do not fit. Returns out. */
char *log_escape(char *out, size_t outsz, const char *p, size_t n);

#endif
