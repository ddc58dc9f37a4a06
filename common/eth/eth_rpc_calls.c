/*
 * Ethereum JSON-RPC client: the typed calls.  Each builds its params,
 * calls through the transport (eth_rpc.c) and parses the result strictly
 * (eth_rpc_reply.c's hex helpers); logs are checked field by field.
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

/* ---- typed helpers ---------------------------------------------------------- */

/* A call succeeded but its result is not what the method returns. */
__attribute__((format(printf, 3, 4)))
static int reply_bad(struct eth_rpc *r, const char *method, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof(r->err.message), fmt, ap);
	va_end(ap);
	r->err.status = ETH_RPC_E_REPLY;
	log_msg(LOG_ERROR, "eth_rpc %s: %s: malformed result: %s", r->endpoint, method,
		r->err.message);
	return ETH_RPC_E_REPLY;
}

static int internal(struct eth_rpc *r, const char *method, const char *what)
{
	rpc_err_reset(&r->err);
	rpc_err_set(&r->err, ETH_RPC_E_INTERNAL, "%s", what);
	log_err("eth_rpc %s: %s: %s", r->endpoint, method, what);
	return ETH_RPC_E_INTERNAL;
}

/* [a] or [a, b], stealing both (b may be unused); NULL if anything failed. */
static json_t *params_new(size_t n, json_t *a, json_t *b)
{
	json_t *p = json_array(), *v[2] = { a, b };
	int ok = p != NULL;

	for (size_t i = 0; i < 2; i++) {
		if (i >= n)
			json_decref(v[i]);
		else if (!v[i] || json_array_append_new(p, v[i]) < 0)
			ok = 0;
	}
	if (!ok) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int tag_ok(const char *t)
{
	static const char *const tags[] = { "latest", "pending", "earliest", "safe", "finalized" };

	for (size_t i = 0; t && i < sizeof(tags) / sizeof(tags[0]); i++)
		if (!strcmp(t, tags[i]))
			return 1;
	return 0;
}

static int call(struct eth_rpc *r, const char *method, json_t *params, json_t **res)
{
	if (!params)
		return internal(r, method, "out of memory building params");
	return eth_rpc_call_until(r, method, params, r->deadline_ms, res, NULL);
}

static int call_quantity(struct eth_rpc *r, const char *method, json_t *params, uint64_t *out)
{
	const char *why;
	json_t *res;
	int rc = call(r, method, params, &res);

	if (rc)
		return rc;
	if (rpc_quantity_parse(res, out, &why) < 0)
		rc = reply_bad(r, method, "result %s", why);
	json_decref(res);
	return rc;
}

/* Object members: required unless _opt, which gives 1 present / 0 null or absent. */
static int get_quantity_opt(struct eth_rpc *r, const char *method, const json_t *o,
			    const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);
	const char *why;

	if (!v || json_is_null(v))
		return 0;
	if (rpc_quantity_parse(v, out, &why) < 0)
		return reply_bad(r, method, "%s %s", key, why);
	return 1;
}

static int get_quantity(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
			uint64_t *out)
{
	int rc = get_quantity_opt(r, method, o, key, out);

	if (rc == 0)
		return reply_bad(r, method, "%s missing", key);
	return rc < 0 ? rc : 0;
}

static int get_fixed_opt(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
			 unsigned char *out, size_t n)
{
	const json_t *v = json_object_get(o, key);
	const char *why;

	if (!v || json_is_null(v))
		return 0;
	if (rpc_data_parse_fixed(v, out, n, &why) < 0)
		return reply_bad(r, method, "%s %s", key, why);
	return 1;
}

static int get_fixed(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
		     unsigned char *out, size_t n)
{
	int rc = get_fixed_opt(r, method, o, key, out, n);

	if (rc == 0)
		return reply_bad(r, method, "%s missing", key);
	return rc < 0 ? rc : 0;
}

static int get_data(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
		    struct buf *b)
{
	const json_t *v = json_object_get(o, key);
	const char *why;

	if (!v)
		return reply_bad(r, method, "%s missing", key);
	if (rpc_data_parse_buf(v, b, r->opts.max_response, &why) < 0)
		return reply_bad(r, method, "%s %s", key, why);
	return 0;
}

int eth_rpc_chain_id(struct eth_rpc *r, uint64_t *chain_id)
{
	return call_quantity(r, "eth_chainId", json_array(), chain_id);
}

int eth_rpc_block_number(struct eth_rpc *r, uint64_t *number)
{
	return call_quantity(r, "eth_blockNumber", json_array(), number);
}

int eth_rpc_gas_price(struct eth_rpc *r, uint64_t *wei)
{
	return call_quantity(r, "eth_gasPrice", json_array(), wei);
}

int eth_rpc_max_priority_fee(struct eth_rpc *r, uint64_t *wei)
{
	return call_quantity(r, "eth_maxPriorityFeePerGas", json_array(), wei);
}

int eth_rpc_get_transaction_count(struct eth_rpc *r, const unsigned char addr[20],
				  const char *block_tag, uint64_t *nonce)
{
	const char *m = "eth_getTransactionCount";

	if (!block_tag)
		block_tag = "latest";
	if (!tag_ok(block_tag))
		return internal(r, m, "unknown block tag");
	return call_quantity(r, m, params_new(2, rpc_json_hex_data(addr, 20), json_string(block_tag)),
			     nonce);
}

void eth_rpc_tx_init(struct eth_rpc_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	buf_init(&tx->input);
}

void eth_rpc_tx_release(struct eth_rpc_tx *tx)
{
	buf_release(&tx->input);
	eth_rpc_tx_init(tx);
}

int eth_rpc_get_transaction_by_hash(struct eth_rpc *r, const unsigned char hash[32],
				    struct eth_rpc_tx *tx)
{
	const char *m = "eth_getTransactionByHash";
	json_t *res;
	int rc, has;

	rc = call(r, m, params_new(1, rpc_json_hex_data(hash, 32), NULL), &res);
	if (rc)
		return rc;
	if (json_is_null(res)) {
		rc = 0;
		goto out;
	}
	eth_rpc_tx_release(tx);
	if (!json_is_object(res)) {
		rc = reply_bad(r, m, "result is neither an object nor null");
		goto out;
	}
	if ((rc = get_fixed(r, m, res, "hash", tx->hash, 32)) < 0 ||
	    (rc = get_fixed(r, m, res, "from", tx->from, 20)) < 0 ||
	    (rc = get_fixed_opt(r, m, res, "to", tx->to, 20)) < 0)
		goto out;
	tx->has_to = rc;
	if ((rc = get_quantity(r, m, res, "nonce", &tx->nonce)) < 0 ||
	    (rc = get_data(r, m, res, "input", &tx->input)) < 0 ||
	    (rc = get_quantity_opt(r, m, res, "blockNumber", &tx->block_number)) < 0)
		goto out;
	has = rc;
	tx->has_block = has;
	if (memcmp(tx->hash, hash, 32) != 0) {
		rc = reply_bad(r, m, "node returned a different transaction");
		goto out;
	}
	rc = 1;
out:
	if (rc < 0)
		eth_rpc_tx_release(tx);
	json_decref(res);
	return rc;
}

int eth_rpc_send_raw_transaction(struct eth_rpc *r, const unsigned char *raw, size_t len,
				 unsigned char hash_out[32])
{
	const char *m = "eth_sendRawTransaction", *why;
	unsigned char want[32];
	json_t *res;
	int rc;

	if (!raw || !len)
		return internal(r, m, "empty transaction");
	rc = call(r, m, params_new(1, rpc_json_hex_data(raw, len), NULL), &res);
	if (rc)
		return rc;
	eth_keccak256(raw, len, want);
	if (rpc_data_parse_fixed(res, hash_out, 32, &why) < 0)
		rc = reply_bad(r, m, "result %s", why);
	else if (memcmp(hash_out, want, 32) != 0)
		rc = reply_bad(r, m, "returned hash is not keccak256 of the transaction");
	json_decref(res);
	return rc;
}

int eth_rpc_get_transaction_receipt(struct eth_rpc *r, const unsigned char hash[32],
				    struct eth_rpc_receipt *rc_out)
{
	const char *m = "eth_getTransactionReceipt";
	struct eth_rpc_receipt rcpt;
	uint64_t status;
	json_t *res;
	int rc;

	memset(&rcpt, 0, sizeof(rcpt));
	rc = call(r, m, params_new(1, rpc_json_hex_data(hash, 32), NULL), &res);
	if (rc)
		return rc;
	if (json_is_null(res)) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(res)) {
		rc = reply_bad(r, m, "result is neither an object nor null");
		goto out;
	}
	if ((rc = get_fixed(r, m, res, "transactionHash", rcpt.tx_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, res, "status", &status)) < 0 ||
	    (rc = get_quantity(r, m, res, "blockNumber", &rcpt.block_number)) < 0 ||
	    (rc = get_fixed(r, m, res, "blockHash", rcpt.block_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, res, "gasUsed", &rcpt.gas_used)) < 0 ||
	    (rc = get_quantity_opt(r, m, res, "effectiveGasPrice",
				   &rcpt.effective_gas_price)) < 0 ||
	    (rc = get_fixed_opt(r, m, res, "contractAddress", rcpt.contract_address, 20)) < 0)
		goto out;
	rcpt.has_contract_address = rc;
	if (status > 1) {
		rc = reply_bad(r, m, "status is neither 0x0 nor 0x1");
		goto out;
	}
	rcpt.status = (int)status;
	if (memcmp(rcpt.tx_hash, hash, 32) != 0) {
		rc = reply_bad(r, m, "node returned the receipt of another transaction");
		goto out;
	}
	*rc_out = rcpt;
	rc = 1;
out:
	json_decref(res);
	return rc;
}

int eth_rpc_estimate_gas(struct eth_rpc *r, const unsigned char *from20,
			 const unsigned char *to20, const unsigned char *data, size_t len,
			 uint64_t *gas)
{
	const char *m = "eth_estimateGas";
	json_t *tx = json_object();
	int bad = 0;

	if (from20)
		bad |= json_object_set_new(tx, "from", rpc_json_hex_data(from20, 20)) < 0;
	if (to20)
		bad |= json_object_set_new(tx, "to", rpc_json_hex_data(to20, 20)) < 0;
	bad |= json_object_set_new(tx, "data", rpc_json_hex_data(data, data ? len : 0)) < 0;
	if (bad) {
		json_decref(tx);
		tx = NULL;
	}
	return call_quantity(r, m, params_new(1, tx, NULL), gas);
}

int eth_rpc_get_block(struct eth_rpc *r, const char *tag, uint64_t number,
		      struct eth_rpc_block *b)
{
	const char *m = "eth_getBlockByNumber";
	struct eth_rpc_block blk;
	json_t *res;
	int rc;

	memset(&blk, 0, sizeof(blk));
	if (tag && !tag_ok(tag))
		return internal(r, m, "unknown block tag");
	rc = call(r, m,
		  params_new(2, tag ? json_string(tag) : rpc_json_hex_quantity(number), json_false()),
		  &res);
	if (rc)
		return rc;
	if (json_is_null(res)) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(res)) {
		rc = reply_bad(r, m, "result is neither an object nor null");
		goto out;
	}
	if ((rc = get_quantity(r, m, res, "number", &blk.number)) < 0 ||
	    (rc = get_fixed_opt(r, m, res, "hash", blk.hash, 32)) < 0)
		goto out;
	blk.has_hash = rc;
	if ((rc = get_fixed(r, m, res, "parentHash", blk.parent_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, res, "timestamp", &blk.timestamp)) < 0 ||
	    (rc = get_quantity_opt(r, m, res, "baseFeePerGas", &blk.base_fee)) < 0)
		goto out;
	blk.has_base_fee = rc;
	if (!tag && blk.number != number) {
		rc = reply_bad(r, m, "asked for block %" PRIu64 ", got %" PRIu64, number,
			       blk.number);
		goto out;
	}
	*b = blk;
	rc = 1;
out:
	json_decref(res);
	return rc;
}

int eth_rpc_get_block_hash(struct eth_rpc *r, uint64_t number, unsigned char hash[32])
{
	struct eth_rpc_block b;
	int rc = eth_rpc_get_block(r, NULL, number, &b);

	if (rc == 1 && !b.has_hash)
		return reply_bad(r, "eth_getBlockByNumber", "block %" PRIu64 " has no hash",
				 number);
	if (rc == 1)
		memcpy(hash, b.hash, 32);
	return rc;
}

int eth_rpc_get_block_base_fee(struct eth_rpc *r, const char *tag, uint64_t *wei)
{
	const char *m = "eth_getBlockByNumber";
	struct eth_rpc_block b;
	int rc;

	if (!tag)
		return internal(r, m, "no block tag");
	rc = eth_rpc_get_block(r, tag, 0, &b);
	if (rc == 0)
		return reply_bad(r, m, "no %s block", tag);
	if (rc < 0)
		return rc;
	if (!b.has_base_fee)
		return reply_bad(r, m, "%s block has no baseFeePerGas (pre-London chain?)", tag);
	*wei = b.base_fee;
	return 0;
}

/* ---- logs ------------------------------------------------------------------ */

void eth_rpc_logs_free(struct eth_rpc_log *logs, size_t n)
{
	if (!logs)
		return;
	for (size_t i = 0; i < n; i++)
		buf_release(&logs[i].data);
	free(logs);
}

static json_t *filter_json(const struct eth_rpc_log_filter *f)
{
	json_t *o = json_object(), *a, *topics;
	int bad = 0, last = -1;

	bad |= json_object_set_new(o, "fromBlock", rpc_json_hex_quantity(f->from_block)) < 0;
	bad |= json_object_set_new(o, "toBlock", rpc_json_hex_quantity(f->to_block)) < 0;
	if (f->naddr) {
		a = json_array();
		for (size_t i = 0; i < f->naddr; i++)
			bad |= json_array_append_new(a, rpc_json_hex_data(f->addresses[i], 20)) < 0;
		bad |= json_object_set_new(o, "address", a) < 0;
	}
	for (int i = 0; i < 4; i++)
		if (f->ntopics[i])
			last = i;
	if (last >= 0) {
		topics = json_array();
		for (int i = 0; i <= last; i++) {
			if (!f->ntopics[i]) {
				bad |= json_array_append_new(topics, json_null()) < 0;
				continue;
			}
			a = json_array();
			for (size_t k = 0; k < f->ntopics[i]; k++)
				bad |= json_array_append_new(a, rpc_json_hex_data(f->topics[i][k], 32)) < 0;
			bad |= json_array_append_new(topics, a) < 0;
		}
		bad |= json_object_set_new(o, "topics", topics) < 0;
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int in_set(const unsigned char *v, const unsigned char *set, size_t n, size_t width)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(v, set + i * width, width))
			return 1;
	return 0;
}

static int log_parse(struct eth_rpc *r, const json_t *o, const struct eth_rpc_log_filter *f,
		     struct eth_rpc_log *l)
{
	const char *m = "eth_getLogs", *why;
	const json_t *t, *v;
	size_t i;
	int rc;

	if (!json_is_object(o))
		return reply_bad(r, m, "log is not an object");
	if ((rc = get_fixed(r, m, o, "address", l->address, 20)) < 0 ||
	    (rc = get_data(r, m, o, "data", &l->data)) < 0 ||
	    (rc = get_quantity(r, m, o, "blockNumber", &l->block_number)) < 0 ||
	    (rc = get_fixed(r, m, o, "blockHash", l->block_hash, 32)) < 0 ||
	    (rc = get_fixed(r, m, o, "transactionHash", l->tx_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, o, "transactionIndex", &l->tx_index)) < 0 ||
	    (rc = get_quantity(r, m, o, "logIndex", &l->log_index)) < 0)
		return rc;
	v = json_object_get(o, "removed");
	if (v && !json_is_boolean(v))
		return reply_bad(r, m, "removed is not a boolean");
	l->removed = json_is_true(v);
	t = json_object_get(o, "topics");
	if (!json_is_array(t) || json_array_size(t) > 4)
		return reply_bad(r, m, "topics is not an array of at most 4");
	l->ntopics = (unsigned)json_array_size(t);
	json_array_foreach(t, i, v) {
		if (rpc_data_parse_fixed(v, l->topics[i], 32, &why) < 0)
			return reply_bad(r, m, "topic %zu %s", i, why);
	}
	/* The node must have applied our filter: check rather than trust. */
	if (l->block_number < f->from_block || l->block_number > f->to_block)
		return reply_bad(r, m, "log in block %" PRIu64 " outside the range asked",
				 l->block_number);
	if (f->naddr && !in_set(l->address, &f->addresses[0][0], f->naddr, 20))
		return reply_bad(r, m, "log from an address not asked for");
	for (i = 0; i < 4; i++) {
		if (!f->ntopics[i])
			continue;
		if (i >= l->ntopics || !in_set(l->topics[i], &f->topics[i][0][0], f->ntopics[i], 32))
			return reply_bad(r, m, "log topic %zu does not match the filter", i);
	}
	return 0;
}

int eth_rpc_get_logs(struct eth_rpc *r, const struct eth_rpc_log_filter *f,
		     struct eth_rpc_log **logs, size_t *nlogs)
{
	const char *m = "eth_getLogs";
	struct eth_rpc_log *out = NULL;
	json_t *res, *v;
	size_t n, i;
	int rc;

	*logs = NULL;
	*nlogs = 0;
	if (f->from_block > f->to_block || (f->naddr && !f->addresses))
		return internal(r, m, "bad filter");
	for (i = 0; i < 4; i++)
		if (f->ntopics[i] && !f->topics[i])
			return internal(r, m, "bad filter");
	rc = call(r, m, params_new(1, filter_json(f), NULL), &res);
	if (rc)
		return rc;
	if (!json_is_array(res)) {
		rc = reply_bad(r, m, "result is not an array");
		goto out;
	}
	n = json_array_size(res);
	if (n > r->opts.max_logs) {
		rc = reply_bad(r, m, "%zu logs, more than the %zu allowed: narrow the range", n,
			       r->opts.max_logs);
		goto out;
	}
	if (n) {
		out = calloc(n, sizeof(*out));
		if (!out) {
			rc = internal(r, m, "out of memory");
			goto out;
		}
	}
	json_array_foreach(res, i, v) {
		if ((rc = log_parse(r, v, f, &out[i])) < 0) {
			eth_rpc_logs_free(out, n);
			goto out;
		}
	}
	*logs = out;
	*nlogs = n;
	rc = 0;
out:
	json_decref(res);
	return rc;
}
