/*
 * Fuzz eth_rpc_reply_parse (common/eth/eth_rpc.h): a JSON-RPC reply body
 * from an Ethereum node, which is not trusted (deep nesting, duplicate
 * keys, huge numbers, wrong types, truncation).
 *
 * The request id is 1, as in the seeds.  Checked besides memory safety:
 *   - the status is one of OK, E_REMOTE, E_REPLY; *result is set exactly
 *     on OK;
 *   - E_REMOTE leaves NUL-terminated message and data in the error;
 *   - a string result goes through the strict hex decoder the typed
 *     helpers use.
 */
#include <string.h>

#include "eth/eth_hex.h"
#include "eth/eth_rpc.h"
#include "fuzz.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eth_rpc_error e;
	struct buf hex = BUF_INIT, err = BUF_INIT;
	json_t *res = (json_t *)&e; /* must be overwritten */
	int rc;

	memset(&e, 0, sizeof(e));
	rc = eth_rpc_reply_parse((const char *)data, size, 1, &res, &e);
	FUZZ_CHECK(rc == ETH_RPC_OK || rc == ETH_RPC_E_REMOTE || rc == ETH_RPC_E_REPLY);
	FUZZ_CHECK((rc == ETH_RPC_OK) == (res != NULL));
	FUZZ_CHECK(memchr(e.message, 0, sizeof(e.message)) != NULL);
	FUZZ_CHECK(memchr(e.data, 0, sizeof(e.data)) != NULL);
	if (rc == ETH_RPC_E_REMOTE)
		FUZZ_CHECK(e.status == ETH_RPC_E_REMOTE);
	if (rc == ETH_RPC_OK && json_is_string(res) &&
	    eth_hex_decode_buf(json_string_value(res), json_string_length(res), &hex, 1 << 20,
			       &err) == 0)
		FUZZ_CHECK(2 * hex.len <= json_string_length(res));
	json_decref(res);
	buf_release(&hex);
	buf_release(&err);
	return 0;
}
