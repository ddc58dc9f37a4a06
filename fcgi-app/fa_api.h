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

/* "0x" + 64 hex (0x optional) -> 32 bytes. */
int fa_parse_code_id(const char *s, unsigned char id[32]);
/* Load stored code by id text; on failure the error response is already set. */
int fa_load_code(struct fa_ctx *c, const char *id_text, struct code *code);

#endif
