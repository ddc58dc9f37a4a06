/*
 * Fuzz eth_tx_decode (common/eth/eth_tx.h): a signed EIP-1559 transaction
 * as a node returns it, including the sender recovery (libsecp256k1 on
 * attacker-chosen r, s, yParity and hash).
 *
 * Checked besides memory safety: for a transaction that decodes, the data
 * pointer lies inside the input, and the signing hash computed from the
 * decoded fields equals keccak256(0x02 || rlp(first nine fields as they
 * appear in the input)): what we decoded is what was signed.
 */
#include <string.h>

#include "eth/eth_rlp.h"
#include "eth/eth_tx.h"
#include "eth/keccak.h"
#include "fuzz.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* keccak256(0x02 || rlp([the first nine items of raw's list])). */
static void expected_hash(const uint8_t *raw, size_t len, unsigned char h[32])
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct eth_rlp_item top, item;
	struct eth_rlp_iter it;
	struct eth_rlp_enc e;

	FUZZ_CHECK(eth_rlp_decode(raw + 1, len - 1, &top, &err) == 0);
	FUZZ_CHECK(eth_rlp_iter_init(&it, &top) == 0);
	buf_addch(&out, 0x02);
	eth_rlp_enc_init(&e, &out);
	eth_rlp_list_begin(&e);
	for (int i = 0; i < 9; i++) {
		FUZZ_CHECK(eth_rlp_iter_next(&it, &item) == 1);
		if (item.is_list) {
			FUZZ_CHECK(i == 8 && item.len == 0); /* the empty access list */
			eth_rlp_list_begin(&e);
			eth_rlp_list_end(&e);
		} else {
			eth_rlp_add_bytes(&e, item.p, item.len);
		}
	}
	eth_rlp_list_end(&e);
	FUZZ_CHECK(eth_rlp_enc_finish(&e) == 0);
	eth_keccak256(out.data, out.len, h);
	buf_release(&out);
	buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT;
	struct eth_tx tx;
	unsigned char from[20], h[32], want[32];

	if (eth_tx_decode(data, size, &tx, from, &err) < 0) {
		FUZZ_CHECK(err.len > 0);
		goto out;
	}
	FUZZ_CHECK(tx.data_len == 0 ||
		   (tx.data >= data && tx.data_len <= size &&
		    (size_t)(tx.data - data) <= size - tx.data_len));
	FUZZ_CHECK(eth_tx_signing_hash(&tx, h) == 0);
	expected_hash(data, size, want);
	FUZZ_CHECK(!memcmp(h, want, 32));
out:
	buf_release(&err);
	return 0;
}
