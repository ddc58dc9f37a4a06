#ifndef COMMON_ETH_KECCAK_H
#define COMMON_ETH_KECCAK_H
/*
 * Keccak-256 as Ethereum uses it: the original Keccak submission padding
 * (domain byte 0x01), not NIST SHA3-256 (0x06).  The two differ in every
 * output bit, so a SHA3 library cannot be substituted; this is a small
 * portable implementation with no dependency (OpenSSL 3.0 has no Keccak-256).
 *
 * Sponge parameters: Keccak-f[1600], rate 136 bytes, capacity 512 bits,
 * 32-byte output.  The state is kept as 25 little-endian 64-bit lanes; bytes
 * are XORed in lane by lane, so the code is endian-independent (no type
 * punning of the input buffer).
 *
 * Use the one-shot eth_keccak256() for contiguous data, or
 * init/update/final to hash a sequence of pieces without concatenating them
 * (e.g. a canonical encoding produced field by field).  The context holds
 * no pointers and no heap memory, so it may be copied to fork a hash, and
 * needs no release.  eth_keccak_final() leaves the context re-initialised,
 * ready to hash a new message.
 */
#include <stddef.h>
#include <stdint.h>

#define ETH_KECCAK256_LEN 32
#define ETH_KECCAK256_RATE 136

struct eth_keccak {
	uint64_t st[25];	/* sponge state, lane (x,y) at st[x + 5*y] */
	size_t pos;		/* bytes absorbed into the current block */
};

void eth_keccak_init(struct eth_keccak *k);
void eth_keccak_update(struct eth_keccak *k, const void *p, size_t n);
void eth_keccak_final(struct eth_keccak *k, unsigned char out[32]);

void eth_keccak256(const void *data, size_t len, unsigned char out[32]);

#endif
