#ifndef COMMON_ETH_ETH_U256_H
#define COMMON_ETH_ETH_U256_H
/*
 * 256-bit unsigned integers as Ethereum stores them: 32 bytes, big-endian
 * (an ABI word, an RLP/EVM quantity, a job id, a fee in wei).
 *
 * The representation is the byte array itself, wrapped in a struct so it
 * can be assigned and passed by value, and so the bytes can be copied into
 * and out of ABI words and RLP without conversion.  Arithmetic converts to
 * four 64-bit limbs internally; only what the executor needs is here:
 * conversion to/from u64 with overflow detection, parsing decimal and hex
 * text, comparison, add/sub, multiply by a small factor and divide by a
 * small divisor (fee bumps such as fee * 110 / 100 computed without
 * intermediate overflow), and printing as decimal or as a JSON-RPC
 * quantity ("0x1a", no leading zeros, "0x0" for zero).
 *
 * These are arithmetic primitives: overflow or division by zero returns -1
 * without logging (the caller knows what the number was for and reports
 * it).  The text parsers take untrusted input and follow the common/eth
 * rule (reason in err, or logged when err is NULL; see eth_hex.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct eth_u256 {
	unsigned char b[32]; /* big-endian */
};

/* Longest decimal text (2^256-1 has 78 digits) plus NUL. */
#define ETH_U256_DEC_SIZE 79
/* "0x" + 64 digits + NUL. */
#define ETH_U256_HEX_SIZE 67

void eth_u256_zero(struct eth_u256 *x);
void eth_u256_from_u64(struct eth_u256 *x, uint64_t v);
/* -1 if x does not fit in 64 bits. */
int eth_u256_to_u64(const struct eth_u256 *x, uint64_t *v);
/* Big-endian bytes of any length up to 32 (shorter: left-padded). */
int eth_u256_from_be(struct eth_u256 *x, const void *p, size_t n);
int eth_u256_is_zero(const struct eth_u256 *x);
/* <0, 0, >0 like memcmp. */
int eth_u256_cmp(const struct eth_u256 *a, const struct eth_u256 *b);
/* Minimal big-endian length (0 for zero); the bytes are x->b + 32 - len. */
size_t eth_u256_bytelen(const struct eth_u256 *x);

/* r may alias a or b.  -1 on overflow / underflow (r unchanged). */
int eth_u256_add(struct eth_u256 *r, const struct eth_u256 *a,
		 const struct eth_u256 *b);
int eth_u256_sub(struct eth_u256 *r, const struct eth_u256 *a,
		 const struct eth_u256 *b);
int eth_u256_mul_u64(struct eth_u256 *r, const struct eth_u256 *a,
		     uint64_t m);
/* r = a / d, *rem = a % d (rem may be NULL); -1 if d == 0. */
int eth_u256_div_u64(struct eth_u256 *r, const struct eth_u256 *a,
		     uint64_t d, uint64_t *rem);
/*
 * r = floor(a * m / d) with a 320-bit intermediate, so only a result above
 * 2^256-1 overflows.  With ceil != 0 rounds up instead (a fee bump that
 * must strictly exceed the old fee by the percentage).
 */
int eth_u256_muldiv_u64(struct eth_u256 *r, const struct eth_u256 *a,
			uint64_t m, uint64_t d, int ceil);

/*
 * Parse decimal ("123"), or hex with a 0x prefix ("0x7b", "0x" + up to 64
 * digits, leading zeros allowed).  No sign, no spaces, no empty digits.
 */
int eth_u256_from_str(struct eth_u256 *x, const char *s, size_t len,
		      struct buf *err);
int eth_u256_from_dec(struct eth_u256 *x, const char *s, size_t len,
		      struct buf *err);
/* Hex digits with optional 0x prefix. */
int eth_u256_from_hex(struct eth_u256 *x, const char *s, size_t len,
		      struct buf *err);

/* Decimal text into out[ETH_U256_DEC_SIZE]; returns out. */
char *eth_u256_to_dec(const struct eth_u256 *x, char out[ETH_U256_DEC_SIZE]);
/* JSON-RPC quantity ("0x0", "0x1a") into out[ETH_U256_HEX_SIZE]. */
char *eth_u256_to_quantity(const struct eth_u256 *x,
			   char out[ETH_U256_HEX_SIZE]);

#endif
