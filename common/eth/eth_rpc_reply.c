/*
 * Ethereum JSON-RPC client: the envelope, eth_rpc_reply_parse(), which
 * needs no network so the tests and a fuzz driver can feed it anything;
 * and the strict hex parsers the typed calls use (small and local on
 * purpose: this module depends on nothing in common/eth beyond keccak).
 */
#include "eth_rpc_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eth/eth_rpc.h"
#include "buf.h"
#include "eth/keccak.h"
#include "log.h"
#include "banned.h"

/* ---- hex ------------------------------------------------------------------ */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A QUANTITY: "0x" then 1..16 hex digits, no leading zero except "0x0". */
int rpc_quantity_parse(const json_t *v, uint64_t *out, const char **why)
{
	const char *s;
	size_t n, i;
	uint64_t x = 0;

	if (!json_is_string(v)) {
		*why = "is not a hex string";
		return -1;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < 3 || s[0] != '0' || s[1] != 'x') {
		*why = "is not a 0x-prefixed quantity";
		return -1;
	}
	if (s[2] == '0' && n > 3) {
		*why = "has leading zeros";
		return -1;
	}
	if (n - 2 > 16) {
		*why = "exceeds 64 bits";
		return -1;
	}
	for (i = 2; i < n; i++) {
		int d = hexval((unsigned char)s[i]);

		if (d < 0) {
			*why = "has a non-hex digit";
			return -1;
		}
		x = x << 4 | (uint64_t)d;
	}
	*out = x;
	return 0;
}

static int hex_check(const char *s, size_t n, const char **why)
{
	if (n < 2 || s[0] != '0' || s[1] != 'x') {
		*why = "is not 0x-prefixed data";
		return -1;
	}
	if ((n - 2) % 2) {
		*why = "has an odd number of hex digits";
		return -1;
	}
	for (size_t i = 2; i < n; i++) {
		if (hexval((unsigned char)s[i]) < 0) {
			*why = "has a non-hex digit";
			return -1;
		}
	}
	return 0;
}

static void hex_decode(const char *s, size_t ndigits, unsigned char *out)
{
	for (size_t i = 0; i < ndigits / 2; i++)
		out[i] = (unsigned char)(hexval((unsigned char)s[2 * i]) << 4 |
					 hexval((unsigned char)s[2 * i + 1]));
}

/* DATA of exactly n bytes (addresses, hashes). */
int rpc_data_parse_fixed(const json_t *v, unsigned char *out, size_t n, const char **why)
{
	const char *s;
	size_t len;

	if (!json_is_string(v)) {
		*why = "is not a hex string";
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (hex_check(s, len, why) < 0)
		return -1;
	if (len != 2 + 2 * n) {
		*why = "has the wrong length";
		return -1;
	}
	hex_decode(s + 2, len - 2, out);
	return 0;
}

/* DATA of any even length up to max bytes, into b (replacing its content). */
int rpc_data_parse_buf(const json_t *v, struct buf *b, size_t max, const char **why)
{
	const char *s;
	size_t len, n;

	if (!json_is_string(v)) {
		*why = "is not a hex string";
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (hex_check(s, len, why) < 0)
		return -1;
	n = (len - 2) / 2;
	if (n > max) {
		*why = "is too long";
		return -1;
	}
	buf_reset(b);
	if (buf_grow(b, n) < 0) {
		*why = "does not fit in memory";
		return -1;
	}
	hex_decode(s + 2, len - 2, (unsigned char *)b->data);
	b->len = n;
	b->data[n] = '\0';
	return 0;
}

json_t *rpc_json_hex_data(const unsigned char *p, size_t n)
{
	struct buf b = BUF_INIT;
	json_t *s = NULL;

	if (buf_addstr(&b, "0x") == 0 && buf_addhex(&b, p, n) == 0)
		s = json_stringn(b.data, b.len);
	buf_release(&b);
	return s;
}

json_t *rpc_json_hex_quantity(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, v);
	return json_string(s);
}

/* ---- envelope ------------------------------------------------------------- */

/*
 * Nesting depth of the raw text, counting brackets outside strings.  Exact
 * for valid JSON (jansson rejects the rest), and done before parsing so a
 * deep reply never reaches a recursive parser or a deep tree walk.
 */
static int depth_ok(const char *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return 1;
}

int eth_rpc_reply_parse(const char *body, size_t len, long long id, json_t **result,
			struct eth_rpc_error *e)
{
	json_error_t jerr;
	json_t *root, *v, *res, *error, *code, *msg, *data;
	int rc = ETH_RPC_E_REPLY;

	*result = NULL;
	if (!depth_ok(body, len, ETH_RPC_MAX_DEPTH))
		return rpc_err_set(e, ETH_RPC_E_REPLY, "reply nested deeper than %d levels",
			       ETH_RPC_MAX_DEPTH);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return rpc_err_set(e, ETH_RPC_E_REPLY, "reply is not valid JSON: %s (byte %d)",
			       jerr.text, jerr.position);
	if (!json_is_object(root)) {
		rpc_err_set(e, rc, "reply is not a JSON object");
		goto out;
	}
	v = json_object_get(root, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		rpc_err_set(e, rc, "reply jsonrpc member is not \"2.0\"");
		goto out;
	}
	v = json_object_get(root, "id");
	if (!json_is_integer(v) || json_integer_value(v) != id) {
		rpc_err_set(e, rc, "reply id does not match the request id %lld", id);
		goto out;
	}
	res = json_object_get(root, "result");
	error = json_object_get(root, "error");
	if (!res == !error) {
		rpc_err_set(e, rc, "reply has %s", res ? "both result and error" : "neither result nor error");
		goto out;
	}
	if (res) {
		*result = json_incref(res);
		rc = ETH_RPC_OK;
		e->status = rc;
		goto out;
	}
	code = json_object_get(error, "code");
	msg = json_object_get(error, "message");
	data = json_object_get(error, "data");
	if (!json_is_object(error) || !json_is_integer(code) || !json_is_string(msg)) {
		rpc_err_set(e, rc, "reply error is not {code: integer, message: string}");
		goto out;
	}
	e->code = json_integer_value(code);
	snprintf(e->message, sizeof(e->message), "%s", json_string_value(msg));
	if (json_is_string(data))
		snprintf(e->data, sizeof(e->data), "%s", json_string_value(data));
	rc = e->status = ETH_RPC_E_REMOTE;
out:
	json_decref(root);
	return rc;
}
