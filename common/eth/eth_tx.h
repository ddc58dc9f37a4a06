#ifndef COMMON_ETH_ETH_TX_H
#define COMMON_ETH_ETH_TX_H
/*
 * EIP-1559 (type 2) transactions: what the sender signs and broadcasts
 * with the gas key (PROTOCOL.md section 5).
 *
 *   signing hash = keccak256(0x02 || rlp([chainId, nonce,
 *                      maxPriorityFeePerGas, maxFeePerGas, gasLimit, to,
 *                      value, data, accessList]))
 *   raw          = 0x02 || rlp([... same nine ..., yParity, r, s])
 *   tx hash      = keccak256(raw)
 *
 * The access list is always empty (we never need one), "to" is either 20
 * bytes or absent (contract creation, encoded as the empty string), and
 * all integers are canonical RLP.  Fees and value are struct eth_u256 so
 * a fee bump (eth_u256_muldiv_u64(fee, 110, 100, 1)) cannot overflow
 * silently; chain id, nonce and gas limit are 64-bit, which every real
 * chain fits.  eth_tx_sign refuses a max priority fee above the max fee
 * (nodes reject those; better to find out before sending).
 *
 * The data pointer is borrowed: the caller keeps the calldata alive while
 * signing; eth_tx_decode points it into the raw bytes it was given.
 *
 * eth_tx_decode parses a signed type-2 transaction strictly (canonical RLP,
 * exactly twelve fields, empty access list, yParity 0 or 1, low s as
 * required since Homestead) and recovers the sender: it is what the tests
 * use to read back what we sent, and what a watcher can use to check a
 * transaction fetched from a node.  Its errors follow the common/eth rule
 * (reason in err, or logged when err is NULL).
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "eth/eth_key.h"
#include "eth/eth_u256.h"

struct eth_tx {
	uint64_t chain_id;
	uint64_t nonce;
	struct eth_u256 max_priority_fee_per_gas;
	struct eth_u256 max_fee_per_gas;
	uint64_t gas_limit;
	int has_to;			/* 0: contract creation */
	unsigned char to[20];
	struct eth_u256 value;
	const unsigned char *data;	/* borrowed calldata / init code */
	size_t data_len;
};

/* Hash that the sender signs. */
int eth_tx_signing_hash(const struct eth_tx *tx, unsigned char out[32]);
/*
 * Sign with key and append the raw transaction (0x02 || rlp) to raw; the
 * transaction hash goes to hash when non-NULL.  On failure raw is left as
 * it was.
 */
int eth_tx_sign(const struct eth_tx *tx, const struct eth_key *key,
		struct buf *raw, unsigned char hash[32]);
/*
 * Parse a signed type-2 transaction; from (sender, may be NULL) is
 * recovered from the signature.  tx->data points into raw.
 */
int eth_tx_decode(const void *raw, size_t len, struct eth_tx *tx,
		  unsigned char from[20], struct buf *err);

#endif
