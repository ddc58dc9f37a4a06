/*
 * Fuzz eth_abi_decode and eth_abi_decode_call (common/eth/eth_abi.h): event
 * data from the chain (the node is not trusted) and calldata.
 *
 * The first input byte picks what to decode; the rest is the data:
 *   mode % 8 in 0..4: eth_abi_decode with types[mode] (the protocol's
 *     event data, plus one type that reaches int, bool, bytesN, fixed
 *     arrays and arrays of dynamic tuples);
 *   mode % 8 in 5..7: eth_abi_decode_call with sigs[mode - 5]; the driver
 *     puts the right selector in front of the data unless bit 0x80 is set,
 *     so the fuzzer spends its time on the parameters.
 *
 * Checked besides memory safety: every accessor on the decoded tree reads
 * within bounds and agrees with the kind; the tree re-encodes without
 * error, and that encoding decodes again and re-encodes to the same bytes
 * (what the decoder accepts, the encoder can write, and the encoder's
 * output always passes the decoder's anti-amplification rules).
 */
#include <string.h>

#include "eth/eth_abi.h"
#include "fuzz.h"
#include "banned.h"

static const char *const types[] = {
	"(bytes32,bytes,uint256,address[])", /* JobCreated data */
	"(bytes,uint256,uint8,uint8)",       /* JobResponded data */
	"(string,bytes)",                    /* saveCodeInCallData(string,bytes) arguments */
	"(uint256,uint8)",                   /* executor events' data */
	"(int64,bool,bytes4,(uint8,bytes)[],string[2])",
};

static const char *const sigs[] = {
	"saveCodeInCallData(string,bytes)",
	"saveCodeInCallData(string)",
	"submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static volatile unsigned char fuzz_sink;

/* Touch every value through the accessors; depth is bounded by the type. */
static void walk(const struct eth_abi_val *v)
{
	unsigned char word[32], addr[20];
	const unsigned char *p;
	const char *s;
	size_t n, k;
	int b;

	switch (eth_abi_kind(v)) {
	case ETH_ABI_UINT:
	case ETH_ABI_INT:
	case ETH_ABI_FBYTES:
		FUZZ_CHECK(eth_abi_get_word(v, word) == 0);
		break;
	case ETH_ABI_ADDRESS:
		FUZZ_CHECK(eth_abi_get_address(v, addr) == 0);
		FUZZ_CHECK(eth_abi_get_word(v, word) == 0);
		FUZZ_CHECK(!memcmp(word + 12, addr, 20));
		break;
	case ETH_ABI_BOOL:
		FUZZ_CHECK(eth_abi_get_bool(v, &b) == 0 && (b == 0 || b == 1));
		break;
	case ETH_ABI_BYTES:
		FUZZ_CHECK(eth_abi_get_bytes(v, &p, &n) == 0);
		for (size_t i = 0; i < n; i++)
			fuzz_sink = p[i];
		FUZZ_CHECK(eth_abi_get_string(v, &s, &n) < 0);
		break;
	case ETH_ABI_STRING:
		FUZZ_CHECK(eth_abi_get_string(v, &s, &n) == 0);
		FUZZ_CHECK(s[n] == '\0');
		FUZZ_CHECK(eth_abi_get_bytes(v, &p, &k) == 0 && k == n);
		break;
	case ETH_ABI_ARRAY:
	case ETH_ABI_TUPLE:
		n = eth_abi_count(v);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(eth_abi_item(v, i) != NULL);
			walk(eth_abi_item(v, i));
		}
		FUZZ_CHECK(eth_abi_item(v, n) == NULL);
		break;
	default:
		FUZZ_CHECK(!"decoded value of unknown kind");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eth_abi_val *v = NULL, *v2 = NULL;
	struct buf err = BUF_INIT, in = BUF_INIT, enc = BUF_INIT, enc2 = BUF_INIT;
	unsigned mode;
	int call, rc;

	if (size < 1)
		return 0;
	mode = data[0] % 8;
	call = mode >= 5;
	if (call && !(data[0] & 0x80)) {
		unsigned char sel[4];

		eth_abi_selector(sigs[mode - 5], sel);
		buf_add(&in, sel, 4);
	}
	buf_add(&in, data + 1, size - 1);
	/* in.data is NULL for an empty input: decode from a real empty block */
	{
		unsigned char *d = fuzz_dup(in.data ? in.data : "", in.len);

		rc = call ? eth_abi_decode_call(sigs[mode - 5], d, in.len, &v, &err)
			  : eth_abi_decode(types[mode], d, in.len, &v, &err);
		free(d);
	}
	if (rc < 0) {
		FUZZ_CHECK(v == NULL && err.len > 0);
		goto out;
	}
	FUZZ_CHECK(v != NULL && eth_abi_kind(v) == ETH_ABI_TUPLE);
	walk(v);

	rc = call ? eth_abi_encode_call(sigs[mode - 5], v, &enc)
		  : eth_abi_encode(types[mode], v, &enc);
	FUZZ_CHECK(rc == 0);
	buf_reset(&err);
	rc = call ? eth_abi_decode_call(sigs[mode - 5], enc.data, enc.len, &v2, &err)
		  : eth_abi_decode(types[mode], enc.data, enc.len, &v2, &err);
	FUZZ_CHECK(rc == 0);
	rc = call ? eth_abi_encode_call(sigs[mode - 5], v2, &enc2)
		  : eth_abi_encode(types[mode], v2, &enc2);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(enc.len == enc2.len && !memcmp(enc.data, enc2.data, enc.len));
out:
	eth_abi_val_free(v);
	eth_abi_val_free(v2);
	buf_release(&err);
	buf_release(&in);
	buf_release(&enc);
	buf_release(&enc2);
	return 0;
}
