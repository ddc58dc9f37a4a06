#ifndef COMMON_LOG_H
#define COMMON_LOG_H
/*
 * Structured logging: one JSON object per line on stderr (journald captures
 * stderr under systemd).  Every line carries ts, level, pid and the process
 * component ("fcgi-master", "fcgi-handler", ...).
 *
 * Convention (git's error()): an error is logged once, where it happens,
 * with its context, and the function returns -1:
 *
 *	if (fd < 0)
 *		return log_errno("open %s", path);
 */
#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
int log_level_parse(const char *s, enum log_level *out);
void log_set_component(const char *component);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Log at error level and return -1. */
int log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_err, appending ": strerror(errno)"; errno is preserved. */
int log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Write a pre-built JSON object (without the trailing newline) as one log
 * line, adding ts/level/pid/component in front.  Used for the per-request
 * access line.  json must start with '{'.
 */
void log_json(enum log_level level, const char *json);

#endif
