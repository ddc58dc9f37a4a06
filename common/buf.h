#ifndef COMMON_BUF_H
#define COMMON_BUF_H
/*
 * struct buf: a growable, length-carrying byte string (binary safe).
 *
 * Every byte string that crosses a trust boundary (FastCGI params and bodies,
 * worker responses, RPC replies, calldata) lives in one of these.  data is
 * always NUL-terminated after a successful add so it can be handed to C
 * string APIs, but len is the truth: embedded NULs are allowed.
 *
 * Lifecycle (git strbuf naming): buf_init / BUF_INIT gives an empty buffer
 * that owns nothing; buf_release frees and re-initialises; buf_reset keeps
 * the allocation and sets len to 0.  Functions return 0 or -1 (allocation
 * failure or a size that would overflow, or past buf->limit when set).
 */
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0 = unbounded; else adds that would pass it fail */
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Append the lowercase hex of n bytes. */
int buf_addhex(struct buf *b, const unsigned char *p, size_t n);
/* Take ownership of the data (caller frees); b becomes empty. */
char *buf_detach(struct buf *b, size_t *len);
/* Always returns a valid NUL-terminated string ("" when empty). */
const char *buf_cstr(const struct buf *b);

#endif
