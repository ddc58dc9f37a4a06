/*
 * POST /api/serverless: run stored code on one input in this handler's slot.
 *
 * Request: {"code_id": "0x..", "input": <any JSON>} (input optional, null
 * when absent; tx_hash instead of code_id runs code from a transaction).
 * The input is POSTed to the worker as JSON; the worker's status, content
 * type and body come back, with usage headers.  Sandbox failures map to
 * distinct JSON errors (fa_outcome_error) so a client can tell a timeout
 * from an OOM from code that does not load.
 *
 * The body is checked by json_scan (common/json_scan.h) and the input is
 * sent on as the exact bytes the client wrote: no DOM, no re-serialising,
 * which for a 1 MB input saves ~50 ms of CPU against jansson.  Only the top
 * level is ours to judge: its keys must be known and appear once.  Inside
 * the input, duplicate keys and integers past 64 bits are the worker's
 * business, as with the original Oyster executor (serde_json's Value keeps
 * the last duplicate; the worker's JSON.parse does the same).
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
#include "json_scan.h"
#include "log.h"
#include "sb_conf.h"
#include "banned.h"

/* The top-level keys, in the order of the bits of struct body_scan.seen. */
enum { KEY_CODE_ID, KEY_TX_HASH, KEY_INPUT, NKEYS };
static const char *const key_names[NKEYS] = { "code_id", "tx_hash", "input" };
static const char *const key_dup[NKEYS] = {
	"duplicate key \"code_id\"", "duplicate key \"tx_hash\"", "duplicate key \"input\"",
};

/* An unknown key is quoted in the error as written, up to this many bytes. */
#define UNKNOWN_KEY_SHOWN 64

/* What the top level of the body held, gathered while it is scanned. */
struct body_scan {
	unsigned seen; /* 1 << KEY_* */
	struct json_scan_member m[NKEYS];
	const char *unknown; /* the first unknown key, still escaped */
	size_t unknown_len;
};

static int body_member(void *arg, const struct json_scan_member *m, const char **reason)
{
	struct body_scan *bs = arg;
	char name[16];
	size_t n;
	int k;

	/* Compared decoded: "code\u005fid" is code_id, "code_id\u0000" is not. */
	n = json_scan_unescape(m->key, m->key_len, name, sizeof(name));
	for (k = 0; k < NKEYS; k++)
		if (n == strlen(key_names[k]) && !memcmp(name, key_names[k], n))
			break;
	if (k == NKEYS) {
		/* Reported once the whole body is known to be JSON, as jansson did. */
		if (!bs->unknown) {
			bs->unknown = m->key;
			bs->unknown_len = m->key_len;
		}
		return 0;
	}
	if (bs->seen & (1u << k)) {
		*reason = key_dup[k];
		return -1;
	}
	bs->seen |= 1u << k;
	bs->m[k] = *m;
	return 0;
}

/*
 * The decoded id string of member k (a JSON string), malloc'd, or NULL with
 * the message the later id check would give (an id is 66 characters, so a
 * longer one, or one with a NUL that C would cut at, can never be valid).
 */
static char *body_id(const struct json_scan_member *m, int k, const char **err_code,
		     struct buf *err)
{
	char id[FA_SERVERLESS_ID_MAX + 1];
	size_t n;
	char *s;

	n = json_scan_unescape(m->value + 1, m->value_len - 2, id, sizeof(id));
	if (n > FA_SERVERLESS_ID_MAX || memchr(id, '\0', n)) {
		buf_addstr(err, k == KEY_CODE_ID ? "code id must be 0x followed by 64 hex digits" :
						   "tx_hash must be 0x followed by 64 hex digits");
		return NULL;
	}
	s = malloc(n + 1);
	if (!s) {
		*err_code = "INTERNAL_ERROR";
		buf_addstr(err, "out of memory");
		return NULL;
	}
	memcpy(s, id, n + 1);
	return s;
}

int fa_serverless_parse(const void *body, size_t len, struct fa_serverless_req *out,
			const char **err_code, struct buf *err)
{
	struct body_scan bs;
	struct json_scan_error jerr;
	enum json_scan_type type;
	const struct json_scan_member *id;
	size_t n;

	memset(out, 0, sizeof(*out));
	memset(&bs, 0, sizeof(bs));
	*err_code = "BAD_REQUEST";
	if (json_scan(body, len, &type, body_member, &bs, &jerr) < 0) {
		buf_addf(err, "invalid JSON at line %lu column %lu: %s", jerr.line, jerr.column,
			 jerr.reason);
		return -1;
	}
	if (type != JSON_SCAN_OBJECT) {
		buf_addstr(err, "the body must be a JSON object");
		return -1;
	}
	if (bs.unknown) {
		/* As written, cut at a character boundary: valid UTF-8, no NUL, short. */
		n = bs.unknown_len;
		if (n > UNKNOWN_KEY_SHOWN) {
			n = UNKNOWN_KEY_SHOWN;
			while (n && ((unsigned char)bs.unknown[n] & 0xc0) == 0x80)
				n--;
		}
		buf_addf(err, "unknown field '%.*s%s'", (int)n, bs.unknown,
			 n < bs.unknown_len ? "..." : "");
		return -1;
	}
	if (bs.seen & (1u << KEY_TX_HASH)) {
		id = &bs.m[KEY_TX_HASH];
		if (id->type != JSON_SCAN_STRING || (bs.seen & (1u << KEY_CODE_ID))) {
			buf_addstr(err, "give either code_id or tx_hash (a string), not both");
			return -1;
		}
		if (!(out->tx_hash = body_id(id, KEY_TX_HASH, err_code, err)))
			return -1;
	} else {
		id = &bs.m[KEY_CODE_ID];
		if (!(bs.seen & (1u << KEY_CODE_ID)) || id->type != JSON_SCAN_STRING) {
			buf_addstr(err, "code_id or tx_hash (a string) is required");
			return -1;
		}
		if (!(out->code_id = body_id(id, KEY_CODE_ID, err_code, err)))
			return -1;
	}
	if (bs.seen & (1u << KEY_INPUT)) {
		out->input = bs.m[KEY_INPUT].value;
		out->input_len = bs.m[KEY_INPUT].value_len;
	}
	return 0;
}

void fa_serverless_req_release(struct fa_serverless_req *r)
{
	free(r->code_id);
	free(r->tx_hash);
	memset(r, 0, sizeof(*r));
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
	c->isolate = res.isolate;

	if (res.outcome == SB_OK) {
		const char *ct = sb_http_header(&res.http, "content-type");
		fa_reply(c, res.http.status, ct ? ct : "text/plain;charset=UTF-8",
			 buf_cstr(&res.http.body), res.http.body.len);
		for (size_t i = 0; mirror && i < res.http.nheaders; i++) {
			const char *n = res.http.headers[i].name;
			/* Framing and hop-by-hop headers are nginx's to set; ours
			 * (X-Oyster-*, Server-Timing) the worker cannot forge. */
			if (!strcasecmp(n, "content-type") || !strcasecmp(n, "content-length") ||
			    !strcasecmp(n, "transfer-encoding") || !strcasecmp(n, "connection") ||
			    !strcasecmp(n, "keep-alive") || !strcasecmp(n, "status") ||
			    !strcasecmp(n, "upgrade") || !strncasecmp(n, "x-oyster-", 9) ||
			    !strcasecmp(n, "server-timing"))
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
	/* The same wall time to the microsecond, in the standard header that
	 * browsers' and load tools' timing views read: client latency minus
	 * this is what nginx, FastCGI and this handler added. */
	fa_header(c, "Server-Timing", "sandbox;dur=%llu.%03llu", (unsigned long long)(res.wall_us / 1000),
		  (unsigned long long)(res.wall_us % 1000));
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
	struct fa_serverless_req sr = { NULL, NULL, NULL, 0 };
	const char *err_code;
	struct buf err = BUF_INIT;
	struct code code;
	const struct code *run;
	int reuse = 0;
	struct sb_header hdr[] = { { (char *)"Content-Type", (char *)"application/json" } };
	struct sb_request req = { "POST", "/", hdr, 1, NULL, 0 };

	code_init(&code);
	if (fa_check_queue(c) < 0)
		goto out;
	if (fa_serverless_parse(buf_cstr(&c->req.body), c->req.body.len, &sr, &err_code, &err) < 0) {
		/* BAD_REQUEST, or INTERNAL_ERROR when memory ran out */
		fa_reply_error(c, strcmp(err_code, "BAD_REQUEST") ? 500 : 400, err_code, "%s",
			       buf_cstr(&err));
		goto out;
	}
	run = sr.tx_hash ? fa_code_by_tx(c, sr.tx_hash, &code) : fa_code_by_id(c, sr.code_id, &code, &reuse);
	if (!run)
		goto out;
	/* The input as the client wrote it; c->req.body outlives the execution. */
	req.body = sr.input ? sr.input : "null";
	req.body_len = sr.input ? sr.input_len : 4;
	fa_execute_keyed(c, run, sb_reuse_key(c->conf, c->code_id, reuse), &req, 0);
out:
	fa_serverless_req_release(&sr);
	buf_release(&err);
	code_release(&code);
}
