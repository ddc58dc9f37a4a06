/*
 * EIP-1559 transaction signing and strict decoding; see eth_tx.h.
 */
#include "eth/eth_tx.h"

#include <string.h>

#include "eth/eth_hex.h"
#include "eth/eth_rlp.h"
#include "eth/keccak.h"
#include "log.h"
#include "banned.h"

#define TX_TYPE_EIP1559 0x02

/* secp256k1 order / 2: signatures with a larger s are malleable copies. */
static const unsigned char half_order[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

/* The nine fields shared by the signing payload and the signed form. */
static void add_fields(struct eth_rlp_enc *e, const struct eth_tx *tx)
{
	eth_rlp_add_u64(e, tx->chain_id);
	eth_rlp_add_u64(e, tx->nonce);
	eth_rlp_add_u256(e, &tx->max_priority_fee_per_gas);
	eth_rlp_add_u256(e, &tx->max_fee_per_gas);
	eth_rlp_add_u64(e, tx->gas_limit);
	eth_rlp_add_bytes(e, tx->to, tx->has_to ? 20 : 0);
	eth_rlp_add_u256(e, &tx->value);
	eth_rlp_add_bytes(e, tx->data, tx->data_len);
	eth_rlp_list_begin(e); /* access list: empty */
	eth_rlp_list_end(e);
}

/* 0x02 || rlp(fields [, y, r, s]) into out (emptied first). */
static int encode(const struct eth_tx *tx, const unsigned char *sig,
		  struct buf *out)
{
	struct eth_rlp_enc e;

	if (tx->data_len && !tx->data)
		return log_err("tx: data length %zu without data", tx->data_len);
	buf_reset(out);
	if (buf_addch(out, TX_TYPE_EIP1559) < 0)
		return log_err("tx: out of memory");
	eth_rlp_enc_init(&e, out);
	eth_rlp_list_begin(&e);
	add_fields(&e, tx);
	if (sig) {
		eth_rlp_add_u64(&e, (uint64_t)(sig[64] - 27));
		eth_rlp_add_uint_be(&e, sig, 32);
		eth_rlp_add_uint_be(&e, sig + 32, 32);
	}
	eth_rlp_list_end(&e);
	return eth_rlp_enc_finish(&e);
}

int eth_tx_signing_hash(const struct eth_tx *tx, unsigned char out[32])
{
	struct buf b = BUF_INIT;

	if (encode(tx, NULL, &b) < 0) {
		buf_release(&b);
		return -1;
	}
	eth_keccak256(b.data, b.len, out);
	buf_release(&b);
	return 0;
}

int eth_tx_sign(const struct eth_tx *tx, const struct eth_key *key,
		struct buf *raw, unsigned char hash[32])
{
	unsigned char h[32], sig[65];
	struct buf b = BUF_INIT;
	int r = -1;

	if (eth_u256_cmp(&tx->max_priority_fee_per_gas,
			 &tx->max_fee_per_gas) > 0)
		return log_err("tx: max priority fee per gas exceeds max fee per gas");
	if (eth_tx_signing_hash(tx, h) < 0 || eth_sign_digest(key, h, sig) < 0)
		goto out;
	if (encode(tx, sig, &b) < 0)
		goto out;
	if (buf_add(raw, b.data, b.len) < 0) {
		log_err("tx: out of memory");
		goto out;
	}
	if (hash)
		eth_keccak256(b.data, b.len, hash);
	r = 0;
out:
	buf_release(&b);
	return r;
}

/* Next list item or an error naming the field. */
static int next(struct eth_rlp_iter *it, struct eth_rlp_item *item,
		const char *field, struct buf *err)
{
	if (eth_rlp_iter_next(it, item) != 1)
		return eth_errf(err, "tx: missing field %s", field);
	return 0;
}

static int next_u64(struct eth_rlp_iter *it, uint64_t *v, const char *field,
		    struct buf *err)
{
	struct eth_rlp_item item;
	struct buf why = BUF_INIT;
	int r = 0;

	if (next(it, &item, field, err) < 0)
		return -1;
	if (eth_rlp_get_u64(&item, v, &why) < 0)
		r = eth_errf(err, "tx: field %s: %s", field, buf_cstr(&why));
	buf_release(&why);
	return r;
}

static int next_u256(struct eth_rlp_iter *it, struct eth_u256 *v,
		     const char *field, struct buf *err)
{
	struct eth_rlp_item item;
	struct buf why = BUF_INIT;
	int r = 0;

	if (next(it, &item, field, err) < 0)
		return -1;
	if (eth_rlp_get_u256(&item, v, &why) < 0)
		r = eth_errf(err, "tx: field %s: %s", field, buf_cstr(&why));
	buf_release(&why);
	return r;
}

int eth_tx_decode(const void *raw, size_t len, struct eth_tx *tx,
		  unsigned char from[20], struct buf *err)
{
	const unsigned char *p = raw;
	struct eth_rlp_item top, item;
	struct eth_rlp_iter it;
	struct eth_u256 r, s;
	unsigned char sig[65], h[32], addr[20];
	uint64_t y;

	memset(tx, 0, sizeof(*tx));
	if (len < 1 || p[0] != TX_TYPE_EIP1559)
		return eth_errf(err, "tx: not an EIP-1559 (type 2) transaction");
	if (eth_rlp_decode(p + 1, len - 1, &top, err) < 0)
		return -1;
	if (!top.is_list)
		return eth_errf(err, "tx: payload is not an RLP list");
	if (eth_rlp_list_count(&top) != 12)
		return eth_errf(err, "tx: expected 12 fields, found %zu",
				eth_rlp_list_count(&top));
	eth_rlp_iter_init(&it, &top);
	if (next_u64(&it, &tx->chain_id, "chainId", err) < 0 ||
	    next_u64(&it, &tx->nonce, "nonce", err) < 0 ||
	    next_u256(&it, &tx->max_priority_fee_per_gas,
		      "maxPriorityFeePerGas", err) < 0 ||
	    next_u256(&it, &tx->max_fee_per_gas, "maxFeePerGas", err) < 0 ||
	    next_u64(&it, &tx->gas_limit, "gasLimit", err) < 0 ||
	    next(&it, &item, "to", err) < 0)
		return -1;
	if (item.is_list || (item.len != 0 && item.len != 20))
		return eth_errf(err, "tx: field to must be 20 bytes or empty");
	tx->has_to = item.len == 20;
	if (tx->has_to)
		memcpy(tx->to, item.p, 20);
	if (next_u256(&it, &tx->value, "value", err) < 0 ||
	    next(&it, &item, "data", err) < 0)
		return -1;
	if (item.is_list)
		return eth_errf(err, "tx: field data is a list");
	tx->data = item.p;
	tx->data_len = item.len;
	if (next(&it, &item, "accessList", err) < 0)
		return -1;
	if (!item.is_list)
		return eth_errf(err, "tx: field accessList is not a list");
	if (item.len)
		return eth_errf(err, "tx: non-empty access lists are not supported");
	if (next_u64(&it, &y, "yParity", err) < 0 ||
	    next_u256(&it, &r, "r", err) < 0 ||
	    next_u256(&it, &s, "s", err) < 0)
		return -1;
	if (y > 1)
		return eth_errf(err, "tx: yParity %llu is not 0 or 1",
				(unsigned long long)y);
	if (memcmp(s.b, half_order, 32) > 0)
		return eth_errf(err, "tx: signature s is in the upper half of the curve order");
	memcpy(sig, r.b, 32);
	memcpy(sig + 32, s.b, 32);
	sig[64] = (unsigned char)y;
	if (eth_tx_signing_hash(tx, h) < 0)
		return eth_errf(err, "tx: cannot re-encode for the signing hash");
	if (eth_recover(h, sig, addr, err) < 0)
		return -1;
	if (from)
		memcpy(from, addr, 20);
	return 0;
}
