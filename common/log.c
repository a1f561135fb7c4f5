#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static char log_ident[64] = "postlite";
static bool log_stderr = true;
static enum log_level log_level = LOG_LVL_INFO;

void log_init(const char *ident, bool to_stderr)
{
	snprintf(log_ident, sizeof log_ident, "%s", ident);
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

static int syslog_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERR: return LOG_ERR;
	case LOG_LVL_WARN: return LOG_WARNING;
	case LOG_LVL_INFO: return LOG_INFO;
	case LOG_LVL_DEBUG: return LOG_DEBUG;
	}
	return LOG_INFO;
}

void log_msg(enum log_level lvl, const char *sid, const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	/* Build the whole line first so that it reaches stderr in one write
	 * and lines of concurrent threads never interleave. */
	char line[2048];
	size_t off = 0;
	if (sid) {
		int n = snprintf(line, sizeof line, "sid=%s ", sid);
		off = n > 0 && (size_t)n < sizeof line ? (size_t)n : 0;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof line - off, fmt, ap);
	va_end(ap);

	if (!log_stderr) {
		syslog(syslog_prio(lvl), "%s", line);
		return;
	}
	static const char *const names[] = {"error", "warning", "info",
	                                    "debug"};
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000,
	        log_ident, names[lvl], line);
}

char *log_escape(char *out, size_t outsz, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outsz == 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
		size_t need = plain ? 1 : 4;
		/* Keep room for "..." and the NUL. */
		if (o + need + 4 > outsz) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
