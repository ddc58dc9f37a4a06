/*
 * POST /api/code and GET /api/code/{id}: the content-addressed code store,
 * and the loading of code for executions through the handler's in-memory
 * cache (common/code_cache.h).
 *
 * An upload is parsed and validated (common/code.c), reduced to its
 * canonical encoding, and stored under keccak256 of that encoding, so the
 * same code always gets the same id and a second upload changes nothing.
 *
 * Isolate reuse (pool mode) is chosen by the id: an upload with
 * ?isolate=reuse is stored under the reuse id keccak256(encoding ||
 * "oyster:isolate=reuse") instead.  Requests naming that id run in an
 * isolate kept per slot (when the node's isolate_reuse policy allows it);
 * requests naming the content id of the same code still get a new isolate
 * each, so nobody shares an isolate without having asked for it by id.
 * Loading from the database checks that the stored bytes hash to the id in
 * one of these two ways, which also tells which one it is.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "code.h"
#include "code_cache.h"
#include "eth_hex.h"
#include "fa_api.h"
#include "keccak.h"
#include "log.h"
#include "banned.h"

#define REUSE_SUFFIX "oyster:isolate=reuse"

static void reuse_id(const void *enc, size_t len, unsigned char id[32])
{
	struct eth_keccak k;

	eth_keccak_init(&k);
	eth_keccak_update(&k, enc, len);
	eth_keccak_update(&k, REUSE_SUFFIX, strlen(REUSE_SUFFIX));
	eth_keccak_final(&k, id);
}

/* ?isolate=reuse|new (or nothing): 1 reuse, 0 new, -1 anything else. */
static int isolate_param(const char *query)
{
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n == 13 && !strncmp(p, "isolate=reuse", 13))
			return 1;
		if (n == 11 && !strncmp(p, "isolate=new", 11))
			return 0;
		if (n > 8 && !strncmp(p, "isolate=", 8))
			return -1;
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

static int media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	/* "application/json; charset=utf-8" matches "application/json" */
	return ctype && !strncasecmp(ctype, want, n) &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

int fa_parse_code_id(const char *s, unsigned char id[32])
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char ch = s[2 * i + j];
			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				v |= ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				v |= ch - 'A' + 10;
			else
				return -1;
		}
		id[i] = (unsigned char)v;
	}
	return 0;
}

void fa_api_code_post(struct fa_ctx *c)
{
	struct code code;
	struct code_limits lim = { (size_t)c->conf->max_code_bytes, 64 };
	struct buf err = BUF_INIT, enc = BUF_INIT, idhex = BUF_INIT;
	unsigned char id[32];
	int r, reuse = isolate_param(c->query);

	code_init(&code);
	if (reuse < 0) {
		fa_reply_error(c, 400, "BAD_REQUEST", "isolate must be 'reuse' or 'new'");
		goto out;
	}
	if (media_is(c->content_type, "application/javascript") ||
	    media_is(c->content_type, "text/javascript"))
		r = code_from_js(&code, buf_cstr(&c->req.body), c->req.body.len, &lim, &err);
	else if (media_is(c->content_type, "application/json"))
		r = code_from_bundle_json(&code, buf_cstr(&c->req.body), c->req.body.len, &lim, &err);
	else {
		fa_reply_error(c, 415, "UNSUPPORTED_MEDIA_TYPE",
			       "send a JS module as application/javascript or a bundle as application/json");
		goto out;
	}
	if (r == CODE_INTERNAL) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not process the code");
		goto out;
	}
	if (r == CODE_TOO_LARGE) {
		fa_reply_error(c, 413, "CODE_TOO_LARGE", "%s", buf_cstr(&err));
		goto out;
	}
	if (r < 0) {
		fa_reply_error(c, 400, "INVALID_CODE", "%s", buf_cstr(&err));
		goto out;
	}
	code_id(&code, id);
	if (code_encode(&code, &enc) < 0) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not store the code");
		goto out;
	}
	if (reuse)
		reuse_id(enc.data, enc.len, id);
	eth_hex_encode(&idhex, id, 32, 1);
	if (db_code_put(c->db, id, enc.data, enc.len) < 0) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not store the code");
		goto out;
	}
	snprintf(c->code_id, sizeof(c->code_id), "%s", buf_cstr(&idhex));
	fa_reply_json(c, 201, reuse ? json_pack("{s:s,s:s}", "code_id", c->code_id, "isolate", "reuse")
				    : json_pack("{s:s}", "code_id", c->code_id));
out:
	code_release(&code);
	buf_release(&err);
	buf_release(&enc);
	buf_release(&idhex);
}

/*
 * Load and check stored code: 0 (reuse set: 1 when id is a reuse id), or
 * -1 with the error reply set.
 */
static int load_stored(struct fa_ctx *c, const char *id_text, const unsigned char id[32],
		       struct code *code, int *reuse)
{
	unsigned char h[32];
	struct buf enc = BUF_INIT;
	int r = db_code_get(c->db, id, &enc);

	if (r == 0) {
		fa_reply_error(c, 404, "CODE_NOT_FOUND", "no code with id %s", id_text);
		goto out;
	}
	if (r > 0) {
		eth_keccak256(enc.data, enc.len, h);
		*reuse = 0;
		if (memcmp(h, id, 32)) {
			reuse_id(enc.data, enc.len, h);
			*reuse = 1;
		}
		if (memcmp(h, id, 32)) {
			log_err("stored code %s does not match its id", id_text);
			r = -1;
		} else if (code_decode(code, enc.data, enc.len) < 0) {
			log_err("stored code %s does not decode", id_text);
			r = -1;
		}
	}
	if (r < 0)
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not load the code");
out:
	buf_release(&enc);
	return r > 0 ? 0 : -1;
}

static void set_code_id(struct fa_ctx *c, const unsigned char id[32])
{
	struct buf hex = BUF_INIT;

	eth_hex_encode(&hex, id, 32, 1);
	snprintf(c->code_id, sizeof(c->code_id), "%s", buf_cstr(&hex));
	buf_release(&hex);
}

int fa_load_code(struct fa_ctx *c, const char *id_text, struct code *code)
{
	unsigned char id[32];
	int reuse;

	if (fa_parse_code_id(id_text, id) < 0) {
		fa_reply_error(c, 400, "BAD_REQUEST", "code id must be 0x followed by 64 hex digits");
		return -1;
	}
	if (load_stored(c, id_text, id, code, &reuse) < 0)
		return -1;
	set_code_id(c, id);
	return 0;
}

/* The handler's cache: one per process, sized on first use, never shared. */
static struct code_cache *handler_cache(const struct conf *conf)
{
	static struct code_cache cache;
	static int ready;

	if (!ready) {
		code_cache_init(&cache, (size_t)conf->code_cache_bytes);
		ready = 1;
	}
	return &cache;
}

/*
 * A cached code was used: note it in the database now and then (the code
 * store evicts the least recently used, and a hot code never reads it).
 */
static void touch_cached(struct fa_ctx *c, struct code_cache_entry *e)
{
	int64_t now = (int64_t)time(NULL);
	unsigned char id[32];

	if (e->touched && now - e->touched < DB_CODE_TOUCH_S)
		return;
	e->touched = now;
	if (eth_hex_decode(e->id_hex, strlen(e->id_hex), id, 32, NULL) == 0)
		db_code_touch(c->db, id, -1);
}

const struct code *fa_code_by_id(struct fa_ctx *c, const char *id_text, struct code *scratch,
				 int *reuse)
{
	struct code_cache *cache = handler_cache(c->conf);
	struct code_cache_entry *e;
	unsigned char id[32];

	if (fa_parse_code_id(id_text, id) < 0) {
		fa_reply_error(c, 400, "BAD_REQUEST", "code id must be 0x followed by 64 hex digits");
		return NULL;
	}
	e = code_cache_get(cache, CODE_CACHE_ID, id);
	if (!e) {
		if (load_stored(c, id_text, id, scratch, reuse) < 0)
			return NULL;
		set_code_id(c, id);
		e = code_cache_put(cache, CODE_CACHE_ID, id, scratch, c->code_id, *reuse);
		if (e)
			e->touched = (int64_t)time(NULL); /* the load noted it */
		return e ? &e->code : scratch;
	}
	touch_cached(c, e);
	snprintf(c->code_id, sizeof(c->code_id), "%s", e->id_hex);
	*reuse = e->reuse;
	return &e->code;
}

const struct code *fa_code_by_tx(struct fa_ctx *c, const char *tx_hash_text, struct code *scratch)
{
	struct code_cache *cache = handler_cache(c->conf);
	struct code_cache_entry *e = NULL;
	unsigned char tx[32];
	int have_tx = c->rpc && c->conf->code_contract[0] &&
		      eth_hex_decode(tx_hash_text, strlen(tx_hash_text), tx, 32, NULL) == 0;

	if (have_tx)
		e = code_cache_get(cache, CODE_CACHE_TX, tx);
	if (!e) {
		/* Errors (no chain, bad hash, RPC trouble) are fa_load_tx_code's to answer. */
		if (fa_load_tx_code(c, tx_hash_text, have_tx ? tx : NULL, scratch) < 0)
			return NULL;
		e = have_tx ? code_cache_put(cache, CODE_CACHE_TX, tx, scratch, c->code_id, 0) : NULL;
		if (e)
			e->touched = (int64_t)time(NULL);
		return e ? &e->code : scratch;
	}
	touch_cached(c, e);
	snprintf(c->code_id, sizeof(c->code_id), "%s", e->id_hex);
	return &e->code;
}

void fa_api_code_get(struct fa_ctx *c, const char *id_text)
{
	struct code code;
	struct buf out = BUF_INIT;

	code_init(&code);
	if (fa_load_code(c, id_text, &code) < 0)
		goto out;
	/* Give a single-module upload back the way it came. */
	if (code.n == 1 && code.mods[0].type == CODE_ESMODULE && !strcmp(code.main, "main.js") &&
	    !strcmp(code.mods[0].name, "main.js")) {
		fa_reply(c, 200, "application/javascript", code.mods[0].data, code.mods[0].len);
	} else if (code_to_json(&code, &out) == 0) {
		fa_reply(c, 200, "application/json", out.data, out.len);
	} else {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not render the code");
	}
out:
	code_release(&code);
	buf_release(&out);
}
