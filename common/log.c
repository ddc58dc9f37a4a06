#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "banned.h"

static enum log_level min_level = LOG_INFO;
static char component[32] = "oyster";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_ERROR; i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_component(const char *c)
{
	snprintf(component, sizeof(component), "%s", c);
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

static void add_json_string(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c == '\n')
			buf_addstr(b, "\\n");
		else if (c < 0x20)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addch(b, (char)c);
	}
	buf_addch(b, '"');
}

static void prefix(struct buf *b, enum log_level level)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_addf(b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"pid\":%ld,\"comp\":",
		 ts, (long)(tv.tv_usec / 1000), level_names[level],
		 (long)getpid());
	add_json_string(b, component);
}

static void emit(struct buf *b)
{
	/* One write() per line so lines from concurrent processes never mix. */
	buf_addch(b, '\n');
	if (b->data) {
		ssize_t r = write(STDERR_FILENO, b->data, b->len);
		(void)r;
	}
	buf_release(b);
}

static void vlog(enum log_level level, const char *suffix, const char *fmt,
		 va_list ap)
{
	struct buf msg = BUF_INIT, line = BUF_INIT;

	buf_vaddf(&msg, fmt, ap);
	if (suffix)
		buf_addf(&msg, ": %s", suffix);
	prefix(&line, level);
	buf_addstr(&line, ",\"msg\":");
	add_json_string(&line, buf_cstr(&msg));
	buf_addch(&line, '}');
	buf_release(&msg);
	emit(&line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

int log_err(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int log_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	char eb[128];
	const char *es;

	es = strerror_r(saved, eb, sizeof(eb));
	va_start(ap, fmt);
	vlog(LOG_ERROR, es, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

void log_json(enum log_level level, const char *json)
{
	struct buf line = BUF_INIT;

	if (level < min_level || json[0] != '{')
		return;
	prefix(&line, level);
	if (json[1] != '}')
		buf_addch(&line, ',');
	buf_addstr(&line, json + 1);
	emit(&line);
}
