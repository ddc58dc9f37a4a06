#ifndef COMMON_ETH_ETH_RLP_H
#define COMMON_ETH_ETH_RLP_H
/*
 * RLP (Ethereum Yellow Paper appendix B): the encoding of transactions.
 *
 * Encoding is a builder over a struct buf.  Items are appended in order;
 * eth_rlp_list_begin() remembers where a list's payload starts and
 * eth_rlp_list_end() measures it and inserts the header in front (one
 * memmove per list; transactions are small and shallow).  Errors are
 * sticky: after an allocation failure or a nesting mistake every later
 * call returns -1 and eth_rlp_enc_finish() reports the first problem once,
 * so a caller can add a whole transaction and check once at the end.
 * Integers are written canonically (big-endian, no leading zero bytes,
 * zero as the empty string 0x80).
 *
 * Decoding never allocates and never copies: an item is a (kind, pointer,
 * length) view into the caller's bytes.  eth_rlp_decode() checks the whole
 * input once, recursively, before handing anything out:
 *   - every length stays inside its enclosing item (and the input);
 *   - canonical form only: a single byte below 0x80 must be itself, not
 *     0x81 xx; the long forms (0xb8.., 0xf8..) only for payloads of 56
 *     bytes or more; no leading zero bytes in a length of length;
 *   - the input is exactly one item (trailing bytes are an error);
 *   - lists nest at most ETH_RLP_MAX_DEPTH deep (recursion is bounded).
 * After that, iterating the lists (eth_rlp_iter_*) cannot fail on bounds,
 * though the iterator still checks them.  The accessors check what RLP
 * leaves to the application: an integer is a string with no leading zero
 * byte that fits the requested width; a fixed-size field has exactly that
 * size.
 *
 * Decoder errors follow the common/eth rule (eth_hex.h): reason in err,
 * or logged when err is NULL.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "eth/eth_u256.h"

#define ETH_RLP_MAX_DEPTH 16

struct eth_rlp_enc {
	struct buf *out;
	size_t start[ETH_RLP_MAX_DEPTH]; /* payload offsets of open lists */
	int depth;
	const char *failed; /* first error, NULL while all is well */
};

void eth_rlp_enc_init(struct eth_rlp_enc *e, struct buf *out);
int eth_rlp_add_bytes(struct eth_rlp_enc *e, const void *p, size_t n);
int eth_rlp_add_str(struct eth_rlp_enc *e, const char *s);
int eth_rlp_add_u64(struct eth_rlp_enc *e, uint64_t v);
int eth_rlp_add_u256(struct eth_rlp_enc *e, const struct eth_u256 *v);
/* Big-endian unsigned integer of n bytes; leading zeros are stripped. */
int eth_rlp_add_uint_be(struct eth_rlp_enc *e, const void *p, size_t n);
/* Append bytes that are already RLP (one or more complete items). */
int eth_rlp_add_raw(struct eth_rlp_enc *e, const void *p, size_t n);
int eth_rlp_list_begin(struct eth_rlp_enc *e);
int eth_rlp_list_end(struct eth_rlp_enc *e);
/* 0 if every call succeeded and all lists are closed; logs otherwise. */
int eth_rlp_enc_finish(struct eth_rlp_enc *e);

struct eth_rlp_item {
	int is_list;
	const unsigned char *p;	/* payload (string bytes, or list items) */
	size_t len;		/* payload length */
};

struct eth_rlp_iter {
	const unsigned char *p;
	size_t left;
};

/* Validate data as exactly one canonical item and return it. */
int eth_rlp_decode(const void *data, size_t len, struct eth_rlp_item *item,
		   struct buf *err);
/* -1 if item is not a list. */
int eth_rlp_iter_init(struct eth_rlp_iter *it, const struct eth_rlp_item *list);
/* 1 with the next item, 0 at the end of the list, -1 if malformed. */
int eth_rlp_iter_next(struct eth_rlp_iter *it, struct eth_rlp_item *item);
/* Number of items in a validated list (0 for a string). */
size_t eth_rlp_list_count(const struct eth_rlp_item *list);

/* Accessors for application-level checks; reason in err (or logged). */
int eth_rlp_get_u64(const struct eth_rlp_item *it, uint64_t *v,
		    struct buf *err);
int eth_rlp_get_u256(const struct eth_rlp_item *it, struct eth_u256 *v,
		     struct buf *err);
/* A string of exactly n bytes, copied to out. */
int eth_rlp_get_fixed(const struct eth_rlp_item *it, void *out, size_t n,
		      struct buf *err);

#endif
