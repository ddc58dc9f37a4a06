#ifndef COMMON_TXCODE_H
#define COMMON_TXCODE_H
/*
 * Code that lives in a transaction's calldata (Oyster's code contract):
 * the transaction calls saveCodeInCallData(string) (selector 0xff7cdaf3) or
 * saveCodeInCallData(string,bytes) on the configured code contract, which
 * stores nothing; the JavaScript is the ABI-encoded string argument.
 *
 * txcode_fetch() is shared by the HTTP tx_hash mode and the chain runners:
 * RPC fetch, contract check (case-insensitive: we compare bytes), calldata
 * decode with the length word honoured, and a permanent SQLite cache (a
 * mined transaction never changes).  The outcome tells callers which of
 * the protocol's error cases happened (chain error codes 1 and 2).
 */
#include <stddef.h>

#include "buf.h"
#include "code.h"
#include "db.h"
#include "eth_rpc.h"

enum txcode_status {
	TXCODE_OK = 0,
	TXCODE_NOT_FOUND,      /* no such transaction (chain error code 1) */
	TXCODE_WRONG_CONTRACT, /* sent to another contract, or a creation (code 1) */
	TXCODE_BAD_CALLDATA,   /* not a valid saveCodeInCallData call (code 2) */
	TXCODE_TOO_LARGE,      /* code over the configured size */
	TXCODE_RPC_ERROR,      /* the node could not be asked (retried already) */
	TXCODE_INTERNAL,       /* database or memory */
};

/* Decode calldata into the JS source (not NUL-safe checked: UTF-8 is checked by code_from_js). */
int txcode_decode_calldata(const unsigned char *input, size_t len, struct buf *js, struct buf *err);

/*
 * Get the code of tx_hash: from the cache, else from the chain (then cached).
 * code_contract is the 20-byte address to require.  On TXCODE_OK, c holds
 * the code and code_id its content id.  err gets a message for the client.
 */
enum txcode_status txcode_fetch(struct db *db, struct eth_rpc *rpc, const unsigned char tx_hash[32],
				const unsigned char code_contract[20], size_t max_code_bytes,
				struct code *c, unsigned char id_out[32], struct buf *err);

const char *txcode_status_name(enum txcode_status s);

#endif
