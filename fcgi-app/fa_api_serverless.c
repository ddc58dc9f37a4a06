/*
 * POST /api/serverless: run stored code on one input in this handler's slot.
 *
 * Request: {"code_id": "0x..", "input": <any JSON>} (input optional, null
 * when absent).  The input is POSTed to the worker as JSON; the worker's
 * status, content type and body come back, with usage headers.  Sandbox
 * failures map to distinct JSON errors (fa_outcome_error) so a client can
 * tell a timeout from an OOM from code that does not load.
 */
#include <string.h>

#include "fa_api.h"
#include "fa_errors.h"
#include "log.h"
#include "banned.h"

static void usage_headers(struct fa_ctx *c, const struct sb_result *r)
{
	fa_header(c, "X-Oyster-Usage-Wall-Ms", "%llu", (unsigned long long)r->wall_ms);
	fa_header(c, "X-Oyster-Usage-Cpu-Ms", "%llu", (unsigned long long)r->cpu_ms);
	fa_header(c, "X-Oyster-Usage-Memory-Peak-Bytes", "%llu", (unsigned long long)r->peak_bytes);
}

/* Parse and check the request body; on failure the error reply is set. */
static int parse_body(struct fa_ctx *c, json_t **root, const char **code_id, json_t **input)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	*root = json_loadb(buf_cstr(&c->req.body), c->req.body.len,
			   JSON_REJECT_DUPLICATES, &jerr);
	if (!*root) {
		fa_reply_error(c, 400, "BAD_REQUEST", "invalid JSON at line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(*root)) {
		fa_reply_error(c, 400, "BAD_REQUEST", "the body must be a JSON object");
		return -1;
	}
	json_object_foreach(*root, key, v) {
		if (strcmp(key, "code_id") && strcmp(key, "tx_hash") && strcmp(key, "input")) {
			fa_reply_error(c, 400, "BAD_REQUEST", "unknown field '%s'", key);
			return -1;
		}
	}
	if (json_object_get(*root, "tx_hash")) {
		fa_reply_error(c, 400, "CHAIN_NOT_CONFIGURED",
			       "tx_hash needs a chain RPC endpoint, which this node does not have; upload the code to /api/code and use code_id");
		return -1;
	}
	v = json_object_get(*root, "code_id");
	if (!json_is_string(v)) {
		fa_reply_error(c, 400, "BAD_REQUEST", "code_id (a string) is required");
		return -1;
	}
	*code_id = json_string_value(v);
	*input = json_object_get(*root, "input");
	return 0;
}

void fa_api_serverless(struct fa_ctx *c)
{
	json_t *root = NULL, *input;
	const char *code_id;
	char *input_text = NULL;
	struct code code;
	struct sb_result res;
	struct sb_header hdr[] = { { (char *)"Content-Type", (char *)"application/json" } };
	struct sb_request req = { "POST", "/", hdr, 1, NULL, 0 };
	const struct fa_error *e;

	code_init(&code);
	sb_result_init(&res);
	if (!c->slot) {
		fa_reply_error(c, 500, "MISROUTED",
			       "this handler owns no sandbox slot: nginx must send /api/serverless to the execution socket");
		goto out;
	}
	if (c->queue_ms > c->conf->queue_timeout_ms) {
		fa_stats_add(&c->stats->queue_rejects, 1);
		fa_reply_error(c, 503, "BUSY", "no sandbox slot became free within %lld ms",
			       (long long)c->conf->queue_timeout_ms);
		fa_header(c, "Retry-After", "1");
		goto out;
	}
	if (parse_body(c, &root, &code_id, &input) < 0 || fa_load_code(c, code_id, &code) < 0)
		goto out;
	input_text = json_dumps(input ? input : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	if (!input_text) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	req.body = input_text;
	req.body_len = strlen(input_text);

	fa_stats_slot_busy(c->stats, c->slot->index, 1);
	sb_run(c->slot, &code, &req, (unsigned)c->conf->deadline_ms, &res);
	fa_stats_slot_busy(c->stats, c->slot->index, 0);
	fa_stats_exec(c->stats, res.outcome, res.wall_ms);
	c->executed = 1;
	c->outcome = res.outcome;
	c->wall_ms = res.wall_ms;
	c->cpu_ms = res.cpu_ms;
	c->peak_bytes = res.peak_bytes;

	if (res.outcome == SB_OK) {
		const char *ct = sb_http_header(&res.http, "content-type");
		fa_reply(c, res.http.status, ct ? ct : "text/plain;charset=UTF-8",
			 buf_cstr(&res.http.body), res.http.body.len);
	} else {
		e = fa_outcome_error(res.outcome);
		fa_reply_error(c, e->status, e->code, "%s",
			       res.error.len ? buf_cstr(&res.error) : e->message);
	}
	usage_headers(c, &res);
out:
	free(input_text);
	json_decref(root);
	code_release(&code);
	sb_result_release(&res);
}
