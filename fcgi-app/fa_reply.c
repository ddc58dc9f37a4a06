#include "fa_ctx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "banned.h"

void fa_ctx_init(struct fa_ctx *c, int fd)
{
	memset(c, 0, sizeof(*c));
	fa_request_init(&c->req, fd);
	buf_init(&c->headers);
	buf_init(&c->body);
	c->queue_ms = -1;
	c->route = FA_ROUTE_OTHER;
}

void fa_ctx_release(struct fa_ctx *c)
{
	fa_request_release(&c->req);
	buf_release(&c->headers);
	buf_release(&c->body);
}

const char *fa_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

void fa_reply(struct fa_ctx *c, int status, const char *ctype, const void *body, size_t len)
{
	c->status = status;
	/* CR/LF in a worker's content type must not inject header lines. */
	if (ctype && (strpbrk(ctype, "\r\n") || strlen(ctype) >= sizeof(c->ctype)))
		ctype = "application/octet-stream";
	snprintf(c->ctype, sizeof(c->ctype), "%s", ctype ? ctype : ""); /* NULL: no header */
	buf_reset(&c->body);
	if (buf_add(&c->body, body, len) < 0) {
		c->status = 500;
		snprintf(c->ctype, sizeof(c->ctype), "application/json");
		buf_reset(&c->body);
	}
}

void fa_reply_json(struct fa_ctx *c, int status, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	json_decref(obj);
	if (!s) {
		fa_reply(c, 500, "application/json",
			 "{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}}", 62);
		return;
	}
	fa_reply(c, status, "application/json", s, strlen(s));
	buf_addch(&c->body, '\n');
	free(s);
}

void fa_reply_error(struct fa_ctx *c, int status, const char *code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	c->error_code = code;
	fa_reply_json(c, status, json_pack("{s:{s:s,s:s%}}", "error", "code", code, "message",
					  buf_cstr(&msg), msg.len));
	buf_release(&msg);
}

void fa_reply_text(struct fa_ctx *c, int status, const char *text)
{
	fa_reply(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

void fa_header(struct fa_ctx *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	buf_addf(&c->headers, "%s: ", name);
	va_start(ap, fmt);
	buf_vaddf(&c->headers, fmt, ap);
	va_end(ap);
	buf_addstr(&c->headers, "\r\n");
}

int fa_ctx_send(struct fa_ctx *c)
{
	struct buf head = BUF_INIT;
	int r;

	if (!c->status)
		fa_reply_error(c, 500, "INTERNAL_ERROR", "no response was produced");
	buf_addf(&head, "Status: %d %s\r\n", c->status, fa_status_text(c->status));
	if (c->ctype[0])
		buf_addf(&head, "Content-Type: %s\r\n", c->ctype);
	buf_addf(&head, "Content-Length: %zu\r\n", c->body.len);
	if (c->headers.len)
		buf_add(&head, c->headers.data, c->headers.len);
	buf_addstr(&head, "\r\n");
	r = fa_response_write(&c->req, buf_cstr(&head), head.len, buf_cstr(&c->body),
			      c->body.len, 30000);
	buf_release(&head);
	return r;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fa_ctx_log(const struct fa_ctx *c)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "event", json_string("request"));
	json_object_set_new(o, "request_id", json_string(c->request_id ? c->request_id : ""));
	json_object_set_new(o, "method", json_string(c->method ? c->method : ""));
	json_object_set_new(o, "path", json_string(c->path));
	json_object_set_new(o, "route", json_string(fa_route_name(c->route)));
	json_object_set_new(o, "status", json_integer(c->status));
	json_object_set_new(o, "duration_ms", json_integer((json_int_t)(mono_ms() - c->t0_ms)));
	if (c->queue_ms >= 0)
		json_object_set_new(o, "queue_ms", json_integer(c->queue_ms));
	if (c->code_id[0])
		json_object_set_new(o, "code_id", json_string(c->code_id));
	if (c->error_code)
		json_object_set_new(o, "error", json_string(c->error_code));
	if (c->executed) {
		json_object_set_new(o, "slot", json_integer(c->slot ? (json_int_t)c->slot->index : -1));
		json_object_set_new(o, "outcome", json_string(sb_outcome_name(c->outcome)));
		json_object_set_new(o, "wall_ms", json_integer((json_int_t)c->wall_ms));
		json_object_set_new(o, "cpu_ms", json_integer((json_int_t)c->cpu_ms));
		json_object_set_new(o, "peak_memory_bytes", json_integer((json_int_t)c->peak_bytes));
		if (c->isolate)
			json_object_set_new(o, "isolate", json_string(c->isolate));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s) {
		log_json(c->status >= 500 ? LOG_WARN : LOG_INFO, s);
		free(s);
	}
}
