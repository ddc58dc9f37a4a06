/*
 * POST /api/code and GET /api/code/{id}: the content-addressed code store.
 *
 * An upload is parsed and validated (common/code.c), reduced to its
 * canonical encoding, and stored under keccak256 of that encoding, so the
 * same code always gets the same id and a second upload changes nothing.
 */
#include <string.h>
#include <strings.h>

#include "code.h"
#include "fa_api.h"
#include "log.h"
#include "banned.h"

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
	int r;

	code_init(&code);
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
	if (code_encode(&code, &enc) < 0 || code_id_hex(&code, &idhex) < 0 ||
	    db_code_put(c->db, id, enc.data, enc.len) < 0) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not store the code");
		goto out;
	}
	snprintf(c->code_id, sizeof(c->code_id), "%s", buf_cstr(&idhex));
	fa_reply_json(c, 201, json_pack("{s:s}", "code_id", c->code_id));
out:
	code_release(&code);
	buf_release(&err);
	buf_release(&enc);
	buf_release(&idhex);
}

int fa_load_code(struct fa_ctx *c, const char *id_text, struct code *code)
{
	unsigned char id[32];
	struct buf enc = BUF_INIT;
	int r;

	if (fa_parse_code_id(id_text, id) < 0) {
		fa_reply_error(c, 400, "BAD_REQUEST", "code id must be 0x followed by 64 hex digits");
		return -1;
	}
	r = db_code_get(c->db, id, &enc);
	if (r == 0) {
		fa_reply_error(c, 404, "CODE_NOT_FOUND", "no code with id %s", id_text);
	} else if (r < 0 || code_decode(code, enc.data, enc.len) < 0) {
		if (r > 0)
			log_err("stored code %s does not decode", id_text);
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not load the code");
		r = -1;
	}
	buf_release(&enc);
	if (r > 0) {
		struct buf hex = BUF_INIT;
		buf_addstr(&hex, "0x");
		buf_addhex(&hex, id, 32);
		snprintf(c->code_id, sizeof(c->code_id), "%s", buf_cstr(&hex));
		buf_release(&hex);
	}
	return r > 0 ? 0 : -1;
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
