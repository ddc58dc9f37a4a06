#include "sb_http.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banned.h"

void sb_http_response_init(struct sb_http_response *r)
{
	r->status = 0;
	r->headers = NULL;
	r->nheaders = 0;
	buf_init(&r->body);
}

static void free_headers(struct sb_http_response *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

void sb_http_response_release(struct sb_http_response *r)
{
	free_headers(r);
	buf_release(&r->body);
	r->status = 0;
}

const char *sb_http_header(const struct sb_http_response *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

static int has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

int sb_http_request(struct buf *out, const char *method, const char *path,
		    const struct sb_header *headers, size_t nheaders,
		    const void *body, size_t body_len)
{
	return sb_http_request_conn(out, method, path, headers, nheaders, body, body_len, 0);
}

int sb_http_request_conn(struct buf *out, const char *method, const char *path,
			 const struct sb_header *headers, size_t nheaders,
			 const void *body, size_t body_len, int keep_alive)
{
	if (has_crlf(method) || has_crlf(path) || strchr(method, ' ') || strchr(path, ' '))
		return -1;
	int have_host = 0;

	buf_addf(out, "%s %s HTTP/1.1\r\n", method, path);
	for (size_t i = 0; i < nheaders; i++)
		if (!strcasecmp(headers[i].name, "host") && !has_crlf(headers[i].value))
			have_host = 1;
	if (!have_host)
		buf_addstr(out, "Host: worker\r\n"); /* HTTP/1.1 requires one */
	for (size_t i = 0; i < nheaders; i++) {
		const char *n = headers[i].name;
		if (has_crlf(n) || has_crlf(headers[i].value) || strchr(n, ':') || !*n)
			return -1;
		if (!strcasecmp(n, "content-length") || !strcasecmp(n, "transfer-encoding") ||
		    !strcasecmp(n, "connection"))
			continue; /* framing headers are ours to set */
		buf_addf(out, "%s: %s\r\n", n, headers[i].value);
	}
	buf_addf(out, "Content-Length: %zu\r\n%s\r\n", body_len, keep_alive ? "" : "Connection: close\r\n");
	return buf_add(out, body, body_len);
}

/* Strict decimal, no sign, bounded. */
static int parse_len(const char *s, size_t n, int base, size_t *out)
{
	size_t v = 0;

	if (n == 0 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		if (v > (SIZE_MAX - (size_t)d) / (size_t)base)
			return -1;
		v = v * (size_t)base + (size_t)d;
	}
	*out = v;
	return 0;
}

static int is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static size_t count_header(const struct sb_http_response *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nheaders; i++)
		n += !strcasecmp(r->headers[i].name, name);
	return n;
}

static char *dup_range(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int parse_head(const char *data, size_t head_len, struct sb_http_response *r)
{
	const char *p = data, *end = data + head_len, *eol;
	size_t code;

	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ' ||
	    (p[12] != ' ' && p + 12 != eol))
		return -1;
	if (parse_len(p + 9, 3, 10, &code) < 0 || code < 100 || code > 599)
		return -1;
	r->status = (int)code;
	p = eol + 2;
	while (p < end) {
		const char *colon;
		const char *v, *ve;
		struct sb_header *nh;

		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			return -1;
		if (eol == p)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return -1;
		/* RFC 9110 token for the name; no CTL but HTAB in the value. */
		for (const char *q = p; q < colon; q++)
			if (!is_tchar((unsigned char)*q))
				return -1;
		for (const char *q = colon + 1; q < eol; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return -1;
		if (r->nheaders >= SB_HTTP_MAX_HEADERS)
			return -2; /* well formed, just more than we forward */
		v = colon + 1;
		ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		nh = realloc(r->headers, (r->nheaders + 1) * sizeof(*nh));
		if (!nh)
			return -1;
		r->headers = nh;
		nh[r->nheaders].name = dup_range(p, (size_t)(colon - p));
		nh[r->nheaders].value = dup_range(v, (size_t)(ve - v));
		r->nheaders++;
		if (!nh[r->nheaders - 1].name || !nh[r->nheaders - 1].value)
			return -1;
		p = eol + 2;
	}
	return 0;
}

/* Decode a complete chunked body; returns DONE, INCOMPLETE, INVALID or TOO_LARGE. */
static enum sb_http_parse dechunk(const char *p, size_t len, size_t max_body,
				  struct buf *body)
{
	size_t pos = 0;

	for (;;) {
		const char *eol = memmem(p + pos, len - pos, "\r\n", 2);
		size_t n, digits;

		if (!eol)
			return len - pos > 1024 ? SB_HTTP_INVALID : SB_HTTP_INCOMPLETE;
		digits = (size_t)(eol - (p + pos));
		/* chunk extensions after ';' are allowed and ignored */
		{
			const char *semi = memchr(p + pos, ';', digits);
			if (semi)
				digits = (size_t)(semi - (p + pos));
		}
		if (parse_len(p + pos, digits, 16, &n) < 0)
			return SB_HTTP_INVALID;
		pos = (size_t)(eol - p) + 2;
		if (n == 0) {
			/* trailers: skip header lines until the empty line */
			for (;;) {
				eol = memmem(p + pos, len - pos, "\r\n", 2);
				if (!eol)
					return SB_HTTP_INCOMPLETE;
				if (eol == p + pos)
					return SB_HTTP_DONE;
				pos = (size_t)(eol - p) + 2;
			}
		}
		if (n > max_body || body->len > max_body - n)
			return SB_HTTP_TOO_LARGE;
		if (len - pos < n + 2)
			return SB_HTTP_INCOMPLETE;
		if (p[pos + n] != '\r' || p[pos + n + 1] != '\n')
			return SB_HTTP_INVALID;
		if (buf_add(body, p + pos, n) < 0)
			return SB_HTTP_INVALID;
		pos += n + 2;
	}
}

static enum sb_http_parse parse_response(const char *data, size_t len, int eof, size_t max_body,
					 int head_only, struct sb_http_response *r);

enum sb_http_parse sb_http_parse_response(const char *data, size_t len, int eof,
					  size_t max_body,
					  struct sb_http_response *r)
{
	return parse_response(data, len, eof, max_body, 0, r);
}

enum sb_http_parse sb_http_parse_head_response(const char *data, size_t len, int eof,
					       struct sb_http_response *r)
{
	return parse_response(data, len, eof, 0, 1, r);
}

static enum sb_http_parse parse_response(const char *data, size_t len, int eof, size_t max_body,
					 int head_only, struct sb_http_response *r)
{
	const char *hend, *te, *cl;
	size_t head_len, avail, n;
	enum sb_http_parse st;
	int hr;

	/*
	 * Interim 1xx heads (e.g. "100 Continue" when the forwarded request had
	 * Expect: 100-continue) come before the real response: skip them.
	 * 101 would switch protocols, which a worker response cannot do here.
	 */
	for (;;) {
		hend = memmem(data, len < SB_HTTP_MAX_HEAD ? len : SB_HTTP_MAX_HEAD, "\r\n\r\n", 4);
		/*
		 * A head past the limit is the worker's answer being too large
		 * (RESPONSE_TOO_LARGE to the client), not a broken worker.
		 */
		if (!hend)
			return len >= SB_HTTP_MAX_HEAD ? SB_HTTP_TOO_LARGE :
			       eof ? SB_HTTP_INVALID : SB_HTTP_INCOMPLETE;
		head_len = (size_t)(hend - data) + 4;
		sb_http_response_release(r);
		hr = parse_head(data, head_len - 2, r);
		if (hr == -2)
			return SB_HTTP_TOO_LARGE;
		if (hr < 0 || r->status == 101)
			return SB_HTTP_INVALID;
		if (r->status >= 200)
			break;
		data += head_len;
		len -= head_len;
	}
	avail = len - head_len;
	/* RFC 9112 6.3: these end at the blank line, whatever the headers say. */
	if (head_only || r->status == 204 || r->status == 304)
		return SB_HTTP_DONE;
	te = sb_http_header(r, "transfer-encoding");
	cl = sb_http_header(r, "content-length");
	/* Two framings, or one given twice, is how responses get smuggled. */
	if (count_header(r, "transfer-encoding") > 1 || count_header(r, "content-length") > 1)
		return SB_HTTP_INVALID;
	if (te) {
		if (strcasecmp(te, "chunked") || cl)
			return SB_HTTP_INVALID;
		/*
		 * Decode once the terminating chunk can be there; before that,
		 * only when the raw bytes already pass max_body, to judge the
		 * limit on decoded bytes (small chunks carry a lot of framing).
		 */
		if (!eof && (avail < 5 || memcmp(data + len - 4, "\r\n\r\n", 4))) {
			if (avail <= max_body)
				return SB_HTTP_INCOMPLETE;
			st = dechunk(data + head_len, avail, max_body, &r->body);
			buf_reset(&r->body);
			return st == SB_HTTP_DONE ? SB_HTTP_INCOMPLETE : st;
		}
		st = dechunk(data + head_len, avail, max_body, &r->body);
		if (st == SB_HTTP_INCOMPLETE && eof)
			return SB_HTTP_INVALID;
		if (st == SB_HTTP_INCOMPLETE)
			buf_reset(&r->body);
		return st;
	}
	if (cl) {
		if (parse_len(cl, strlen(cl), 10, &n) < 0)
			return SB_HTTP_INVALID;
		if (n > max_body)
			return SB_HTTP_TOO_LARGE;
		if (avail < n)
			return eof ? SB_HTTP_INVALID : SB_HTTP_INCOMPLETE;
		return buf_add(&r->body, data + head_len, n) < 0 ? SB_HTTP_INVALID : SB_HTTP_DONE;
	}
	/* No framing: the body runs until the peer closes. */
	if (avail > max_body)
		return SB_HTTP_TOO_LARGE;
	if (!eof)
		return SB_HTTP_INCOMPLETE;
	return buf_add(&r->body, data + head_len, avail) < 0 ? SB_HTTP_INVALID : SB_HTTP_DONE;
}

int sb_http_response_reusable(const char *data, size_t len, const struct sb_http_response *r)
{
	const char *hend = memmem(data, len, "\r\n\r\n", 4), *conn;
	size_t head;

	/* An interim 1xx head first: not worth the bookkeeping, just close. */
	if (!hend || r->status < 200 || len < 10 || data[9] == '1')
		return 0;
	conn = sb_http_header(r, "connection");
	if (conn && strcasecmp(conn, "keep-alive"))
		return 0;
	head = (size_t)(hend - data) + 4;
	if (r->status == 204 || r->status == 304)
		return len == head;
	/* The parser only finishes a chunked body at the end of the bytes. */
	if (sb_http_header(r, "transfer-encoding"))
		return 1;
	return sb_http_header(r, "content-length") && len == head + r->body.len;
}
