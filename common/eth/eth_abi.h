#ifndef COMMON_ETH_ETH_ABI_H
#define COMMON_ETH_ETH_ABI_H
/*
 * Solidity contract ABI encoding and decoding, driven by type strings.
 *
 * A type string uses the canonical ABI spelling, without spaces or names:
 *   uint8..uint256 (step 8, "uint" = uint256), int8..int256, address,
 *   bool, bytes1..bytes32, bytes, string, tuples "(T1,T2,...)", dynamic
 *   arrays "T[]" and fixed arrays "T[k]" (1 <= k <= 65536), nested in any
 *   combination up to ETH_ABI_MAX_DEPTH levels.
 * The string is parsed on every call (it is short, and this keeps the API
 * to plain strings).  The top-level type is encoded as an argument list,
 * exactly like `abi.encode(args)` / `cast abi-encode "f(args)"`: a tuple
 * type's components are the arguments ("(bytes32,bytes,uint256,address[])"
 * is a JobCreated event's data), and a single non-tuple type T means the
 * argument list (T), so "bytes" encodes as offset, length, data.  To
 * encode a dynamic struct as one argument write it as "((...))".  "()" is
 * allowed at top level only (no arguments: empty encoding).
 *
 * Values are a small tree of heap nodes (struct eth_abi_val, opaque).
 * Build them with the constructors and eth_abi_append(); construction
 * never needs a check per call: a constructor returns NULL when out of
 * memory, eth_abi_append() takes ownership of the child in all cases and
 * marks the parent broken when the child is NULL, and eth_abi_encode()
 * refuses a broken tree.  So a caller writes
 *	t = eth_abi_val_tuple();
 *	eth_abi_append(t, eth_abi_val_bytes(sig, 65));
 *	eth_abi_append(t, eth_abi_val_uint(&job_id));
 *	if (eth_abi_encode_call("submitOutput(bytes,uint256,...)", t, &out) < 0) ...
 *	eth_abi_val_free(t);
 * A value is checked against the type when encoding: the kinds must match
 * (a UINT value for uintN, TUPLE for a tuple, ARRAY for T[] and T[k] with
 * exactly k items), and a number must fit in N bits.  Encoding errors are
 * programming errors and are logged; the output is then left as it was.
 *
 * Decoding takes untrusted bytes and is strict about everything that could
 * make it read out of bounds or allocate more than the input justifies:
 *   - every offset must leave room for at least one word inside the data;
 *   - every length must fit in the remaining data;
 *   - an array's element count is bounded by remaining bytes divided by
 *     the element's head size, before anything is allocated;
 *   - the total decoded size (32 per word read plus the bytes of each
 *     bytes/string) may not exceed the input size.  Honest encodings read
 *     every byte at most once, so they always pass; encodings whose
 *     offsets point many elements at the same data (which would make a few
 *     KB decode into gigabytes) are rejected;
 *   - nesting depth is bounded by the type (ETH_ABI_MAX_DEPTH);
 *   - values must be clean, as Solidity's decoder requires: uintN with
 *     zero high bits, intN properly sign-extended, address with 12 zero
 *     bytes, bool exactly 0 or 1, bytesN with zero low bytes.
 * Bytes after the last value (and the zero padding of bytes/string) are
 * not examined, as in Solidity's abi.decode.  Decoding errors go to err
 * (or are logged when err is NULL), as everywhere in common/eth.
 *
 * Accessors on decoded values (eth_abi_get_*) check the kind and the
 * range and return -1 without logging when the value is not what the
 * caller asked for: the caller knows which field it was and reports that.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "eth/eth_u256.h"

#define ETH_ABI_MAX_DEPTH 16
#define ETH_ABI_MAX_FIXED_ARRAY 65536
#define ETH_ABI_MAX_COMPONENTS 256
/* Largest static (inline) size of one type, in bytes. */
#define ETH_ABI_MAX_STATIC (1u << 20)

enum eth_abi_kind {
	ETH_ABI_UINT = 1,
	ETH_ABI_INT,
	ETH_ABI_ADDRESS,
	ETH_ABI_BOOL,
	ETH_ABI_FBYTES,	/* bytes1..bytes32 */
	ETH_ABI_BYTES,
	ETH_ABI_STRING,
	ETH_ABI_ARRAY,	/* T[] and T[k] */
	ETH_ABI_TUPLE,
};

struct eth_abi_val;

/* Constructors: NULL when out of memory (or for invalid arguments). */
struct eth_abi_val *eth_abi_val_uint_u64(uint64_t v);
struct eth_abi_val *eth_abi_val_uint(const struct eth_u256 *v);
struct eth_abi_val *eth_abi_val_int_i64(int64_t v);
/* 32-byte two's complement word, for int256 beyond 64 bits. */
struct eth_abi_val *eth_abi_val_int_word(const unsigned char word[32]);
struct eth_abi_val *eth_abi_val_address(const unsigned char addr[20]);
struct eth_abi_val *eth_abi_val_bool(int b);
/* bytesN: n in 1..32. */
struct eth_abi_val *eth_abi_val_fbytes(const void *p, size_t n);
struct eth_abi_val *eth_abi_val_bytes(const void *p, size_t n);
struct eth_abi_val *eth_abi_val_string(const char *s);
struct eth_abi_val *eth_abi_val_string_n(const char *s, size_t n);
struct eth_abi_val *eth_abi_val_tuple(void);
struct eth_abi_val *eth_abi_val_array(void);
/*
 * Append child to a TUPLE or ARRAY.  Always takes ownership of child.
 * Returns -1 (and marks parent broken) if child is NULL, parent is not a
 * container, or memory runs out.
 */
int eth_abi_append(struct eth_abi_val *parent, struct eth_abi_val *child);
void eth_abi_val_free(struct eth_abi_val *v);

/* Append the encoding of v as type to out (see the top comment). */
int eth_abi_encode(const char *type, const struct eth_abi_val *v,
		   struct buf *out);
/*
 * Calldata: 4-byte selector of sig ("name(types)") + encoding of args (a
 * TUPLE value, one item per parameter) as the parameter tuple.
 */
int eth_abi_encode_call(const char *sig, const struct eth_abi_val *args,
			struct buf *out);

/* Decode data as type; *out is a new tree (free with eth_abi_val_free). */
int eth_abi_decode(const char *type, const void *data, size_t len,
		   struct eth_abi_val **out, struct buf *err);
/* Check the selector of sig and decode the parameters as a TUPLE. */
int eth_abi_decode_call(const char *sig, const void *data, size_t len,
			struct eth_abi_val **out, struct buf *err);

/* keccak256(sig)[0..4] and keccak256(sig): function selector, event topic0. */
void eth_abi_selector(const char *sig, unsigned char out[4]);
void eth_abi_event_topic(const char *sig, unsigned char out[32]);

/* Accessors: -1 (no log) when the kind or range does not match. */
enum eth_abi_kind eth_abi_kind(const struct eth_abi_val *v);
/* Items of a TUPLE/ARRAY (0 for other kinds). */
size_t eth_abi_count(const struct eth_abi_val *v);
/* Item i of a TUPLE/ARRAY, NULL if out of range or not a container. */
const struct eth_abi_val *eth_abi_item(const struct eth_abi_val *v, size_t i);
int eth_abi_get_u256(const struct eth_abi_val *v, struct eth_u256 *out);
int eth_abi_get_u64(const struct eth_abi_val *v, uint64_t *out);
/* The 32-byte word of UINT/INT/ADDRESS/BOOL/FBYTES values. */
int eth_abi_get_word(const struct eth_abi_val *v, unsigned char out[32]);
int eth_abi_get_address(const struct eth_abi_val *v, unsigned char out[20]);
int eth_abi_get_bool(const struct eth_abi_val *v, int *out);
/* bytesN with exactly n bytes. */
int eth_abi_get_fbytes(const struct eth_abi_val *v, void *out, size_t n);
/* BYTES or STRING payload (borrowed, valid until the tree is freed). */
int eth_abi_get_bytes(const struct eth_abi_val *v, const unsigned char **p,
		      size_t *len);
/* STRING only; NUL-terminated (may contain NULs inside len; not UTF-8 checked). */
int eth_abi_get_string(const struct eth_abi_val *v, const char **s,
		       size_t *len);

#endif
