#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

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

/* "2026-11-26T07:00:00" for sec, formatted once per second per thread:
 * strftime and gmtime_r cost more than the rest of a line. */
static const char *log_when(time_t sec)
{
	static __thread time_t cached = -1;
	static __thread char text[32];

	if (sec != cached) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
		cached = sec;
	}
	return text;
}

/* Writes all of p[0..n) to fd 2; a log line has nowhere to report a
 * failure to. */
static void log_write(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(enum log_level lvl, const char *sid, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info",
	                                    "debug"};
	if (lvl > log_level)
		return;
	/* Build the whole line first so that it reaches stderr in one write
	 * and lines of concurrent threads never interleave. One byte stays
	 * free for the newline. */
	char line[2048];
	size_t off = 0, room = sizeof line - 1;
	int n;
	if (log_stderr) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		n = snprintf(line, room, "%s.%03ldZ %s %s: ", log_when(ts.tv_sec),
		             ts.tv_nsec / 1000000, log_ident, names[lvl]);
		off = n > 0 && (size_t)n < room ? (size_t)n : 0;
	}
	if (sid) {
		n = snprintf(line + off, room - off, "sid=%s ", sid);
		off += n > 0 && (size_t)n < room - off ? (size_t)n : 0;
	}
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(line + off, room - off, fmt, ap);
	va_end(ap);
	if (n > 0)
		off += (size_t)n < room - off ? (size_t)n : room - off - 1;

	if (!log_stderr) {
		syslog(syslog_prio(lvl), "%s", line);
		return;
	}
	line[off++] = '\n';
	log_write(line, off);
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
