#ifndef COMMON_ETH_ETH_KEY_H
#define COMMON_ETH_ETH_KEY_H
/*
 * secp256k1 keys, Ethereum addresses and recoverable signatures
 * (PROTOCOL.md section 1), on top of libsecp256k1.
 *
 * struct eth_key carries the secret with its derived public key (X||Y, the
 * 64-byte uncompressed point without the 0x04 tag) and address (last 20
 * bytes of keccak256(X||Y)), computed once by eth_key_from_secret so the
 * hot paths never re-derive them.  The secret never leaves the struct
 * except through eth_sign_digest; eth_key_wipe() clears it with
 * explicit_bzero and every temporary copy made here is wiped too.
 *
 * Key files are the original executor's format: exactly 32 raw bytes.
 * eth_key_load_file refuses, each with its own message: a missing file, an
 * unreadable one, anything but a regular file (checked with fstat on the
 * opened descriptor, so no check-then-open race; FIFOs are opened
 * non-blocking so they cannot hang us), a file with any group or other
 * permission bit (mode & 077; the key signs what the chain trusts), a size
 * other than 32, and a secret that is zero or not below the curve order.
 * eth_key_generate_file draws 32 bytes from getrandom() until they form a
 * valid secret, creates the file with O_CREAT|O_EXCL mode 0600 (never
 * overwrites: losing an enclave key loses the registration), writes,
 * fsyncs the file and its directory, and removes the file again if any of
 * that fails.
 *
 * Signatures are 65 bytes r||s||v with v = 27 + recovery id.  Signing uses
 * libsecp256k1's default nonce (RFC 6979, deterministic) and produces
 * low-s signatures, so the same digest and key always give the same bytes
 * as cast/ethers/alloy.  eth_recover accepts v in {27,28} or {0,1} and,
 * like the ecrecover precompile, high-s signatures; it rejects r or s of
 * zero or not below the curve order.
 *
 * One secp256k1 context serves the whole process: created on first use
 * (pthread_once) with SECP256K1_CONTEXT_NONE and randomized (side-channel
 * blinding) from getrandom().  It is plain memory, so a forked child keeps
 * a working copy; it is never freed (process lifetime).
 *
 * Error reporting follows common/eth (eth_hex.h): functions that take a
 * `struct buf *err` put the reason there, or log it when err is NULL.
 */
#include <stddef.h>

#include "buf.h"

#define ETH_ADDR_LEN 20
#define ETH_SIG_LEN 65
#define ETH_PUB_LEN 64
#define ETH_SECRET_LEN 32
/* "0x" + hex + NUL */
#define ETH_ADDR_HEX_SIZE 43
#define ETH_PUB_HEX_SIZE 131
#define ETH_SIG_HEX_SIZE 133

struct eth_key {
	unsigned char secret[32];
	unsigned char pub[64];	/* X || Y */
	unsigned char addr[20];
};

/* Check a secret (not zero, below the curve order) and derive pub/addr. */
int eth_key_from_secret(struct eth_key *key, const unsigned char secret[32],
			struct buf *err);
/* Parse 64 hex digits (0x optional) as a secret; wipes its temporaries. */
int eth_key_from_hex(struct eth_key *key, const char *hex, size_t len,
		     struct buf *err);
int eth_key_load_file(const char *path, struct eth_key *key, struct buf *err);
/* key may be NULL; when given it receives the new key. */
int eth_key_generate_file(const char *path, struct eth_key *key,
			  struct buf *err);
void eth_key_wipe(struct eth_key *key);

/*
 * Move key into a page of its own that children forked later do not
 * inherit (MADV_WIPEONFORK: they see zeros there; MADV_DONTDUMP: not in
 * core dumps), and wipe the original.  For processes that sign and also
 * fork sandbox children: a child holds a copy of its parent's memory until
 * it execs, and a process-mode spare waits jailed for a while before it
 * does.  Returns the new home of the key (free with eth_key_private_free),
 * or NULL with errno set.
 */
struct eth_key *eth_key_private_move(struct eth_key *key);
void eth_key_private_free(struct eth_key *key);

/* Sign a 32-byte digest as r||s||v, v = 27 + recid. */
int eth_sign_digest(const struct eth_key *key, const unsigned char digest[32],
		    unsigned char sig[65]);
/* Recover the signer's address (and optionally public key X||Y). */
int eth_recover(const unsigned char digest[32], const unsigned char sig[65],
		unsigned char addr[20], struct buf *err);
int eth_recover_pub(const unsigned char digest[32],
		    const unsigned char sig[65], unsigned char pub[64],
		    struct buf *err);

/* Address of a 64-byte public key X||Y. */
void eth_pub_to_address(const unsigned char pub[64], unsigned char addr[20]);

/* Lowercase 0x text for JSON and logs (PROTOCOL.md: no EIP-55 checksum). */
char *eth_address_hex(const unsigned char addr[20],
		      char out[ETH_ADDR_HEX_SIZE]);
char *eth_pub_hex(const unsigned char pub[64], char out[ETH_PUB_HEX_SIZE]);
char *eth_sig_hex(const unsigned char sig[65], char out[ETH_SIG_HEX_SIZE]);
/* Parse an address: 40 hex digits, 0x optional, any case. */
int eth_address_parse(const char *s, size_t len, unsigned char addr[20],
		      struct buf *err);

#endif
