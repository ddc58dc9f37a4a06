#ifndef COMMON_CODE_CACHE_H
#define COMMON_CODE_CACHE_H
/*
 * A process-local LRU of decoded code, on top of the SQLite code store: a
 * hot code costs neither a database read nor a decode (nor, for code from
 * a transaction, an RPC round trip).  Each FastCGI handler has its own (no
 * sharing, no locks); stored code never changes under an id, so entries
 * never go stale and are only evicted for room.
 *
 * Entries are keyed by a kind and 32 bytes: CODE_CACHE_ID, a code id as
 * the caller named it (content id or isolate-reuse id), or CODE_CACHE_TX,
 * a transaction hash whose calldata carried the code.  Each holds the
 * decoded code, the code id to report ("0x" + 64 hex) and whether that id
 * opted in to isolate reuse.  The budget counts module bytes and names
 * plus a fixed overhead per entry; a code larger than the whole budget is
 * not kept.
 *
 * Pointers returned by get/put stay valid until the next put or release.
 */
#include <stddef.h>
#include <stdint.h>

#include "code.h"

enum code_cache_kind { CODE_CACHE_ID = 1, CODE_CACHE_TX = 2 };

struct code_cache_entry {
	unsigned char key[33];      /* kind byte + 32 bytes */
	struct code code;
	char id_hex[67];
	int reuse;
	size_t bytes;
	int64_t touched;            /* the caller's: when it last noted a use (unix s) */
	struct code_cache_entry *newer, *older, *hnext;
};

#define CODE_CACHE_BUCKETS 1024

struct code_cache {
	size_t max_bytes, bytes, count;
	uint64_t hits, misses;
	struct code_cache_entry *newest, *oldest;
	struct code_cache_entry *bucket[CODE_CACHE_BUCKETS];
};

/* max_bytes 0 = a cache that keeps nothing. */
void code_cache_init(struct code_cache *cc, size_t max_bytes);
void code_cache_release(struct code_cache *cc);

/* The entry (now the most recently used), or NULL. */
struct code_cache_entry *code_cache_get(struct code_cache *cc, enum code_cache_kind kind,
					      const unsigned char key[32]);

/*
 * Keep *c under (kind, key), evicting the least recently used entries for
 * room.  On success the cache owns the code (*c is left empty) and the new
 * entry is returned; NULL when it is not kept (too large for the budget, an
 * existing key, or no memory), with *c untouched.
 */
struct code_cache_entry *code_cache_put(struct code_cache *cc, enum code_cache_kind kind,
					      const unsigned char key[32], struct code *c,
					      const char *id_hex, int reuse);

#endif
