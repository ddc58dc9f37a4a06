#ifndef FCGI_APP_FA_API_H
#define FCGI_APP_FA_API_H
/* The HTTP API routes; each fills the response in the context. */
#include "code.h"
#include "fa_ctx.h"

void fa_dispatch(struct fa_ctx *c);

void fa_api_code_post(struct fa_ctx *c);
void fa_api_code_get(struct fa_ctx *c, const char *id_text);
void fa_api_serverless(struct fa_ctx *c);
void fa_api_healthz(struct fa_ctx *c);
void fa_api_metrics(struct fa_ctx *c);

/* A parsed POST /api/serverless body; code_id and input point into root. */
struct fa_serverless_req {
	json_t *root;
	const char *code_id;
	json_t *input; /* NULL when absent */
};
/* 0, or -1 with the error code (BAD_REQUEST, ...) and a message for the client. */
int fa_serverless_parse(const void *body, size_t len, struct fa_serverless_req *out,
			const char **err_code, struct buf *err);
void fa_serverless_req_release(struct fa_serverless_req *r);

/* "0x" + 64 hex (0x optional) -> 32 bytes. */
int fa_parse_code_id(const char *s, unsigned char id[32]);
/* Load stored code by id text; on failure the error response is already set. */
int fa_load_code(struct fa_ctx *c, const char *id_text, struct code *code);

#endif
