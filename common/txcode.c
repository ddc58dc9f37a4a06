#include "txcode.h"

#include <string.h>

#include "eth_abi.h"
#include "eth_hex.h"
#include "log.h"
#include "banned.h"

static const char *const sigs[] = {
	"saveCodeInCallData(string,bytes)",
	"saveCodeInCallData(string)",
};

const char *txcode_status_name(enum txcode_status s)
{
	static const char *const names[] = { "ok", "not_found", "wrong_contract", "bad_calldata",
					     "too_large", "rpc_error", "internal" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

int txcode_decode_calldata(const unsigned char *input, size_t len, struct buf *js, struct buf *err)
{
	unsigned char sel[4];

	if (len < 4) {
		buf_addstr(err, "calldata shorter than a function selector");
		return -1;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct eth_abi_val *args = NULL;
		const char *s;
		size_t n;
		int r = -1;

		eth_abi_selector(sigs[i], sel);
		if (memcmp(sel, input, 4))
			continue;
		if (eth_abi_decode_call(sigs[i], input, len, &args, err) < 0) {
			struct buf tmp = BUF_INIT;
			buf_addf(&tmp, "calldata is not a valid %s call: %s", sigs[i], buf_cstr(err));
			buf_release(err);
			*err = tmp;
			return -1;
		}
		if (eth_abi_count(args) >= 1 &&
		    eth_abi_get_string(eth_abi_item(args, 0), &s, &n) == 0) {
			r = buf_add(js, s, n);
		} else {
			buf_addstr(err, "calldata has no code string");
		}
		eth_abi_val_free(args);
		return r;
	}
	buf_addf(err, "calldata selector 0x%02x%02x%02x%02x is not saveCodeInCallData", input[0],
		 input[1], input[2], input[3]);
	return -1;
}

enum txcode_status txcode_fetch(struct db *db, struct eth_rpc *rpc, const unsigned char tx_hash[32],
				const unsigned char code_contract[20], size_t max_code_bytes,
				struct code *c, unsigned char id_out[32], struct buf *err)
{
	struct buf enc = BUF_INIT, js = BUF_INIT;
	struct eth_rpc_tx tx;
	struct code_limits lim = { max_code_bytes, 1 };
	enum txcode_status st = TXCODE_INTERNAL;
	char hex[ETH_HEX_STR_SIZE(32)], a1[ETH_HEX_STR_SIZE(20)], a2[ETH_HEX_STR_SIZE(20)];
	int r;

	eth_hex_str(hex, sizeof(hex), tx_hash, 32);
	eth_rpc_tx_init(&tx);
	r = db_tx_code_get(db, tx_hash, id_out, &enc);
	if (r < 0)
		goto out;
	if (r == 1) {
		if (code_decode(c, enc.data, enc.len) < 0) {
			log_err("cached code of tx %s does not decode", hex);
			goto out;
		}
		st = TXCODE_OK;
		goto out;
	}
	r = eth_rpc_get_transaction_by_hash(rpc, tx_hash, &tx);
	if (r < 0) {
		buf_addf(err, "could not fetch transaction %s: %s", hex,
			 eth_rpc_last_error(rpc)->message);
		st = TXCODE_RPC_ERROR;
		goto out;
	}
	if (r == 0 || !tx.has_block) {
		buf_addf(err, "transaction %s not found%s", hex, r ? " in a block (still pending)" : "");
		st = TXCODE_NOT_FOUND;
		goto out;
	}
	if (!tx.has_to || memcmp(tx.to, code_contract, 20)) {
		buf_addf(err, "transaction %s was sent to %s, not the code contract %s", hex,
			 tx.has_to ? eth_hex_str(a1, sizeof(a1), tx.to, 20) : "(contract creation)",
			 eth_hex_str(a2, sizeof(a2), code_contract, 20));
		st = TXCODE_WRONG_CONTRACT;
		goto out;
	}
	if (txcode_decode_calldata((const unsigned char *)tx.input.data, tx.input.len, &js, err) < 0) {
		st = TXCODE_BAD_CALLDATA;
		goto out;
	}
	r = code_from_js(c, buf_cstr(&js), js.len, &lim, err);
	if (r == CODE_TOO_LARGE) {
		st = TXCODE_TOO_LARGE;
		goto out;
	}
	if (r < 0) {
		st = r == CODE_INTERNAL ? TXCODE_INTERNAL : TXCODE_BAD_CALLDATA;
		goto out;
	}
	code_id(c, id_out);
	if (code_encode(c, &enc) < 0 || db_tx_code_put(db, tx_hash, id_out, enc.data, enc.len) < 0)
		goto out; /* cache failure: the code could still run, but a DB error is worth a 500 */
	st = TXCODE_OK;
out:
	if (st != TXCODE_OK)
		code_release(c);
	eth_rpc_tx_release(&tx);
	buf_release(&enc);
	buf_release(&js);
	return st;
}
