#ifndef FCGI_APP_FA_CTX_H
#define FCGI_APP_FA_CTX_H
/*
 * One request as a handler sees it: the FastCGI request, the process-wide
 * resources it may use, the response being built, and the fields of the
 * access-log line.  fa_ctx_release() frees everything the request owns, so
 * route functions may return from anywhere after calling fa_reply*().
 */
#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "eth_key.h"
#include "eth_rpc.h"
#include "fa_fcgi.h"
#include "fa_stats.h"
#include "sandbox.h"

struct fa_ctx {
	struct fa_request req;
	const struct conf *conf;
	struct db *db;
	struct sb_slot *slot;    /* NULL in control handlers */
	struct fa_stats *stats;
	const struct eth_key *enclave;
	struct eth_rpc *rpc;     /* NULL when no rpc_url is configured */

	const char *method;
	char path[1024];         /* decoded path without the query string */
	const char *query;
	const char *content_type;
	const char *request_id;
	const char *host;        /* Host header as the client sent it */
	const char *request_uri; /* path and query as the client sent them */
	uint64_t t0_ms;
	int64_t queue_ms;        /* time spent waiting for a handler, -1 unknown */

	int status;
	struct buf headers;      /* extra CGI header lines, each ending in \r\n */
	char ctype[256];         /* copied: the source may be freed before sending */
	struct buf body;

	enum fa_route route;
	char code_id[67];
	const char *error_code;
	int executed;
	enum sb_outcome outcome;
	uint64_t wall_ms, cpu_ms, peak_bytes;
	const char *isolate;     /* sb_result.isolate (static text) */
};

void fa_ctx_init(struct fa_ctx *c, int fd);
void fa_ctx_release(struct fa_ctx *c);

const char *fa_status_text(int status);
void fa_reply(struct fa_ctx *c, int status, const char *ctype, const void *body, size_t len);
/* Serialise obj (keys sorted, compact) and take ownership of it. */
void fa_reply_json(struct fa_ctx *c, int status, json_t *obj);
/* {"error":{"code":CODE,"message":...}} */
void fa_reply_error(struct fa_ctx *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void fa_header(struct fa_ctx *c, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Plain-text reply (the admin API keeps the original executor's bodies). */
void fa_reply_text(struct fa_ctx *c, int status, const char *text);
/* Write the response to the FastCGI peer. */
int fa_ctx_send(struct fa_ctx *c);
/* The access-log line. */
void fa_ctx_log(const struct fa_ctx *c);

#endif
