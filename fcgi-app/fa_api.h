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
void fa_api_subdomain(struct fa_ctx *c, const unsigned char tx_hash[32]);
void fa_api_jobs_list(struct fa_ctx *c);
void fa_api_jobs_get(struct fa_ctx *c, const char *id);

/* Admin API (PROTOCOL.md section 2). */
void fa_api_root(struct fa_ctx *c);
/* unregister.<subdomain>: stop taking executions (410) until restarted. */
void fa_api_unregister(struct fa_ctx *c);
void fa_api_immutable_config(struct fa_ctx *c);
void fa_api_mutable_config(struct fa_ctx *c);
void fa_api_executor_details(struct fa_ctx *c);
void fa_api_signed_registration(struct fa_ctx *c);

/* If host is <base32(txhash)>.<subdomain>, 1 and the hash; else 0. */
int fa_subdomain_match(const char *host, const char *subdomain, unsigned char tx_hash[32]);
/* Add X-Oyster-Timestamp/X-Oyster-Signature for the reply built so far. */
void fa_sign_reply(struct fa_ctx *c);
/* Load code from a transaction (tx_hash mode); on failure the error reply is set. */
int fa_load_tx_code(struct fa_ctx *c, const char *tx_hash_text, const unsigned char *tx_hash,
		    struct code *code);

/*
 * A parsed POST /api/serverless body.  The ids are decoded copies owned by
 * the struct; input points into the body (the value verbatim, no copy), so
 * the body must outlive the struct's use.
 */
struct fa_serverless_req {
	char *code_id;     /* exactly one of code_id and tx_hash is set */
	char *tx_hash;
	const char *input; /* NULL when absent (the worker then gets null) */
	size_t input_len;
};
/* Longest code_id or tx_hash accepted, decoded (both are 66 characters when valid). */
#define FA_SERVERLESS_ID_MAX 256
/*
 * 0, or -1 with the error code (BAD_REQUEST; INTERNAL_ERROR when memory ran
 * out) and a message for the client.  Either way *out is set and
 * fa_serverless_req_release() frees it.
 */
int fa_serverless_parse(const void *body, size_t len, struct fa_serverless_req *out,
			const char **err_code, struct buf *err);
void fa_serverless_req_release(struct fa_serverless_req *r);

/* Run code on req in this handler's slot and build the reply (mirror: copy the worker's headers). */
void fa_execute(struct fa_ctx *c, const struct code *code, const struct sb_request *req, int mirror);
/* The same in the isolate kept under isolate_key (pool mode; NULL = a new isolate). */
void fa_execute_keyed(struct fa_ctx *c, const struct code *code, const char *isolate_key,
		      const struct sb_request *req, int mirror);
/* 503 BUSY when the request waited past queue_timeout_ms (or no slot); 0 to go on. */
int fa_check_queue(struct fa_ctx *c);

/* "0x" + 64 hex (0x optional) -> 32 bytes. */
int fa_parse_code_id(const char *s, unsigned char id[32]);
/* Load stored code by id text; on failure the error response is already set. */
int fa_load_code(struct fa_ctx *c, const char *id_text, struct code *code);
/*
 * Code for an execution, through the handler's in-memory cache: by code id
 * (content id, or the reuse id of code uploaded with ?isolate=reuse: *reuse
 * tells which) or by the transaction that carried it.  The result is owned
 * by the cache (valid until the next lookup) or is scratch; NULL with the
 * error reply set on failure.  c->code_id is set.
 */
const struct code *fa_code_by_id(struct fa_ctx *c, const char *id_text, struct code *scratch,
				 int *reuse);
const struct code *fa_code_by_tx(struct fa_ctx *c, const char *tx_hash_text, struct code *scratch);

#endif
