/*
 * The parts of the HTTP API that involve the chain identity:
 *  - tx_hash mode: code fetched from a transaction's calldata (txcode.c);
 *  - host-subdomain mode (later Oyster generation): Host
 *    <base32(txhash)>.<subdomain> runs that code with the whole request
 *    forwarded and the worker's status and headers mirrored;
 *  - response signatures with the enclave key (fa_sign.c).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base32.h"
#include "eth_hex.h"
#include "fa_api.h"
#include "fa_sign.h"
#include "log.h"
#include "txcode.h"
#include "banned.h"

int fa_load_tx_code(struct fa_ctx *c, const char *tx_hash_text, const unsigned char *tx_hash,
		    struct code *code)
{
	unsigned char hash[32], contract[20], id[32];
	struct buf err = BUF_INIT, hex = BUF_INIT;
	enum txcode_status st;

	if (!c->rpc || !c->conf->code_contract[0]) {
		fa_reply_error(c, 400, "CHAIN_NOT_CONFIGURED",
			       "tx_hash needs rpc_url and code_contract in the node's configuration; "
			       "upload the code to /api/code and use code_id instead");
		return -1;
	}
	if (!tx_hash) {
		if (eth_hex_decode(tx_hash_text, strlen(tx_hash_text), hash, 32, NULL) < 0) {
			fa_reply_error(c, 400, "BAD_REQUEST", "tx_hash must be 0x followed by 64 hex digits");
			return -1;
		}
		tx_hash = hash;
	}
	eth_hex_decode(c->conf->code_contract, strlen(c->conf->code_contract), contract, 20, NULL);
	st = txcode_fetch(c->db, c->rpc, tx_hash, contract, (size_t)c->conf->max_code_bytes, code, id,
			  &err);
	switch (st) {
	case TXCODE_OK:
		eth_hex_encode(&hex, id, 32, 1);
		snprintf(c->code_id, sizeof(c->code_id), "%s", buf_cstr(&hex));
		break;
	case TXCODE_NOT_FOUND:
		fa_reply_error(c, 404, "TX_NOT_FOUND", "%s", buf_cstr(&err));
		break;
	case TXCODE_WRONG_CONTRACT:
		fa_reply_error(c, 400, "WRONG_CONTRACT", "%s", buf_cstr(&err));
		break;
	case TXCODE_BAD_CALLDATA:
		fa_reply_error(c, 400, "BAD_CALLDATA", "%s", buf_cstr(&err));
		break;
	case TXCODE_TOO_LARGE:
		fa_reply_error(c, 413, "CODE_TOO_LARGE", "%s", buf_cstr(&err));
		break;
	case TXCODE_RPC_ERROR:
		fa_header(c, "Retry-After", "1");
		fa_reply_error(c, 503, "RPC_UNAVAILABLE", "%s", buf_cstr(&err));
		break;
	default:
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not load the code of the transaction");
		break;
	}
	buf_release(&err);
	buf_release(&hex);
	return st == TXCODE_OK ? 0 : -1;
}

int fa_subdomain_match(const char *host, const char *subdomain, unsigned char tx_hash[32])
{
	size_t hl, sl = strlen(subdomain), label;
	const char *colon;
	size_t n;

	if (!host || !sl)
		return 0;
	colon = strrchr(host, ':');
	hl = colon && !strchr(colon, ']') ? (size_t)(colon - host) : strlen(host);
	if (hl < sl + 2 || host[hl - sl - 1] != '.' || strncasecmp(host + hl - sl, subdomain, sl))
		return 0;
	label = hl - sl - 1;
	if (memchr(host, '.', label))
		return 0;
	return base32_decode(host, label, tx_hash, 32, &n) == 0 && n == 32;
}

/* HTTP_FOO_BAR -> Foo-Bar */
static char *header_name(const char *param)
{
	size_t n = strlen(param);
	char *s = malloc(n + 1);
	int up = 1;

	if (!s)
		return NULL;
	for (size_t i = 0; i <= n; i++) {
		char ch = param[i];
		if (ch == '_') {
			s[i] = '-';
			up = 1;
		} else {
			s[i] = up ? (char)toupper((unsigned char)ch) : (char)tolower((unsigned char)ch);
			up = 0;
		}
	}
	return s;
}

void fa_api_subdomain(struct fa_ctx *c, const unsigned char tx_hash[32])
{
	struct code code;
	struct sb_header *hdrs = NULL;
	size_t nh = 0;

	code_init(&code);
	if (fa_check_queue(c) < 0 || fa_load_tx_code(c, NULL, tx_hash, &code) < 0)
		goto out;
	/* nginx passes every request header as HTTP_*, Content-Type included. */
	hdrs = calloc(c->req.nparams + 1, sizeof(*hdrs));
	if (!hdrs) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c->req.nparams; i++) {
		const struct fa_param *p = &c->req.params[i];
		/* A NUL inside a value would cut the header short: drop such headers. */
		if (strncmp(p->name, "HTTP_", 5) || strlen(p->value) != p->value_len)
			continue;
		hdrs[nh].name = header_name(p->name + 5);
		hdrs[nh].value = p->value;
		if (hdrs[nh].name)
			nh++;
	}
	{
		struct sb_request req = { c->method, c->request_uri ? c->request_uri : c->path, hdrs, nh,
					  buf_cstr(&c->req.body), c->req.body.len };
		fa_execute(c, &code, &req, 1);
	}
out:
	for (size_t i = 0; i < nh; i++)
		free(hdrs[i].name);
	free(hdrs);
	code_release(&code);
}

void fa_sign_reply(struct fa_ctx *c)
{
	struct fa_sign_input in = {
		.timestamp = (uint64_t)time(NULL),
		.method = c->method,
		.path_and_query = c->request_uri ? c->request_uri : c->path,
		.host = c->host,
		.req_body = buf_cstr(&c->req.body),
		.req_len = c->req.body.len,
		.resp_body = buf_cstr(&c->body),
		.resp_len = c->body.len,
	};
	unsigned char sig[65];
	char hex[ETH_HEX_STR_SIZE(65)];

	if (!c->enclave || fa_sign(c->enclave, &in, sig) < 0)
		return;
	fa_header(c, "X-Oyster-Timestamp", "%llu", (unsigned long long)in.timestamp);
	fa_header(c, "X-Oyster-Signature", "%s", eth_hex_str(hex, sizeof(hex), sig, 65));
}
