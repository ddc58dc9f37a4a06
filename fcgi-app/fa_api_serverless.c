/*
 * POST /api/serverless: run stored code on one input in this handler's slot.
 *
 * Request: {"code_id": "0x..", "input": <any JSON>} (input optional, null
 * when absent).  The input is POSTed to the worker as JSON; the worker's
 * status, content type and body come back, with usage headers.  Sandbox
 * failures map to distinct JSON errors (fa_outcome_error) so a client can
 * tell a timeout from an OOM from code that does not load.
 *
 * The code comes through the handler's in-memory cache (fa_code_by_id /
 * fa_code_by_tx), so a hot code id costs no database read or RPC; in pool
 * mode a code id that opted in to isolate reuse (and a node configured
 * isolate_reuse = all) runs in the slot's kept isolate for that id.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fa_api.h"
#include "fa_errors.h"
#include "log.h"
#include "sb_conf.h"
#include "banned.h"

int fa_serverless_parse(const void *body, size_t len, struct fa_serverless_req *out,
			const char **err_code, struct buf *err)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	*err_code = "BAD_REQUEST";
	out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!out->root) {
		buf_addf(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(out->root)) {
		buf_addstr(err, "the body must be a JSON object");
		return -1;
	}
	json_object_foreach(out->root, key, v) {
		if (strcmp(key, "code_id") && strcmp(key, "tx_hash") && strcmp(key, "input")) {
			buf_addf(err, "unknown field '%s'", key);
			return -1;
		}
	}
	v = json_object_get(out->root, "tx_hash");
	if (v) {
		if (!json_is_string(v) || json_object_get(out->root, "code_id")) {
			buf_addstr(err, "give either code_id or tx_hash (a string), not both");
			return -1;
		}
		out->tx_hash = json_string_value(v);
	} else {
		v = json_object_get(out->root, "code_id");
		if (!json_is_string(v)) {
			buf_addstr(err, "code_id or tx_hash (a string) is required");
			return -1;
		}
		out->code_id = json_string_value(v);
	}
	out->input = json_object_get(out->root, "input");
	return 0;
}

void fa_serverless_req_release(struct fa_serverless_req *r)
{
	json_decref(r->root);
	r->root = NULL;
}

void fa_execute(struct fa_ctx *c, const struct code *code, const struct sb_request *req, int mirror)
{
	fa_execute_keyed(c, code, sb_reuse_key(c->conf, c->code_id, 0), req, mirror);
}

void fa_execute_keyed(struct fa_ctx *c, const struct code *code, const char *isolate_key,
		      const struct sb_request *req, int mirror)
{
	struct sb_result res;
	const struct fa_error *e;

	sb_result_init(&res);
	fa_stats_slot_busy(c->stats, c->slot->index, 1);
	sb_run_keyed(c->slot, code, isolate_key, req, (unsigned)c->conf->deadline_ms, &res);
	fa_stats_slot_busy(c->stats, c->slot->index, 0);
	fa_stats_exec(c->stats, res.outcome, res.wall_ms);
	fa_stats_start_wait(c->stats, c->conf->sandbox_mode, res.start_wait_ms);
	c->executed = 1;
	c->outcome = res.outcome;
	c->wall_ms = res.wall_ms;
	c->cpu_ms = res.cpu_ms;
	c->peak_bytes = res.peak_bytes;

	if (res.outcome == SB_OK) {
		const char *ct = sb_http_header(&res.http, "content-type");
		fa_reply(c, res.http.status, ct ? ct : "text/plain;charset=UTF-8",
			 buf_cstr(&res.http.body), res.http.body.len);
		for (size_t i = 0; mirror && i < res.http.nheaders; i++) {
			const char *n = res.http.headers[i].name;
			/* Framing and hop-by-hop headers are nginx's to set. */
			if (!strcasecmp(n, "content-type") || !strcasecmp(n, "content-length") ||
			    !strcasecmp(n, "transfer-encoding") || !strcasecmp(n, "connection") ||
			    !strcasecmp(n, "keep-alive") || !strcasecmp(n, "status") ||
			    !strcasecmp(n, "upgrade") || !strncasecmp(n, "x-oyster-", 9))
				continue;
			fa_header(c, n, "%s", res.http.headers[i].value);
		}
	} else {
		e = fa_outcome_error(res.outcome);
		fa_reply_error(c, e->status, e->code, "%s",
			       res.error.len ? buf_cstr(&res.error) : e->message);
	}
	fa_header(c, "X-Oyster-Usage-Wall-Ms", "%llu", (unsigned long long)res.wall_ms);
	fa_header(c, "X-Oyster-Usage-Cpu-Ms", "%llu", (unsigned long long)res.cpu_ms);
	fa_header(c, "X-Oyster-Usage-Memory-Peak-Bytes", "%llu", (unsigned long long)res.peak_bytes);
	sb_result_release(&res);
}

int fa_check_queue(struct fa_ctx *c)
{
	if (!c->slot) {
		fa_reply_error(c, 500, "MISROUTED",
			       "this handler owns no sandbox slot: nginx must send executions to the execution socket");
		return -1;
	}
	if (c->queue_ms > c->conf->queue_timeout_ms) {
		fa_stats_add(&c->stats->queue_rejects, 1);
		fa_reply_error(c, 503, "BUSY", "no sandbox slot became free within %lld ms",
			       (long long)c->conf->queue_timeout_ms);
		fa_header(c, "Retry-After", "1");
		return -1;
	}
	return 0;
}

void fa_api_serverless(struct fa_ctx *c)
{
	struct fa_serverless_req sr = { NULL, NULL, NULL, NULL };
	const char *err_code;
	struct buf err = BUF_INIT;
	char *input_text = NULL;
	struct code code;
	const struct code *run;
	int reuse = 0;
	struct sb_header hdr[] = { { (char *)"Content-Type", (char *)"application/json" } };
	struct sb_request req = { "POST", "/", hdr, 1, NULL, 0 };

	code_init(&code);
	if (fa_check_queue(c) < 0)
		goto out;
	if (fa_serverless_parse(buf_cstr(&c->req.body), c->req.body.len, &sr, &err_code, &err) < 0) {
		fa_reply_error(c, 400, err_code, "%s", buf_cstr(&err));
		goto out;
	}
	run = sr.tx_hash ? fa_code_by_tx(c, sr.tx_hash, &code) : fa_code_by_id(c, sr.code_id, &code, &reuse);
	if (!run)
		goto out;
	input_text = json_dumps(sr.input ? sr.input : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	if (!input_text) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	req.body = input_text;
	req.body_len = strlen(input_text);
	fa_execute_keyed(c, run, sb_reuse_key(c->conf, c->code_id, reuse), &req, 0);
out:
	free(input_text);
	fa_serverless_req_release(&sr);
	buf_release(&err);
	code_release(&code);
}
