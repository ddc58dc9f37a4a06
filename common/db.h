#ifndef COMMON_DB_H
#define COMMON_DB_H
/*
 * The shared SQLite database (one file, WAL).  Every process opens its own
 * connection after fork (a connection is never carried across fork()), with
 * busy_timeout so concurrent writers wait instead of failing, and
 * synchronous=FULL so an acknowledged write survives power loss.
 *
 * The schema is versioned with PRAGMA user_version and migrated forward in
 * one transaction at open; a newer file than this binary knows is refused.
 *
 * Tables:
 *   code(id BLOB PRIMARY KEY, body BLOB, size, created, last_used)
 *     content-addressed code store: id = keccak256(canonical encoding),
 *     body = the canonical encoding (common/code.h); last_used (unix s)
 *     orders eviction when the store is bounded.
 *   code_store(bytes)
 *     the sum of code.size, kept by triggers.
 *   executor_config(key, value, updated)
 *     identity settings: "owner" (20 bytes, set once: immutable).
 *   tx_code(tx_hash, code_id, created)
 *     code fetched from a transaction's calldata; transactions never change,
 *     so an entry is never refetched.
 */
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct db {
	sqlite3 *h;
	int64_t code_store_max; /* bytes of code kept; 0 = no bound (db_set_code_store_max) */
};

/* A code's last use is written at most this often (seconds). */
#define DB_CODE_TOUCH_S 60

int db_open(struct db *db, const char *path);
void db_close(struct db *db);

/*
 * Bound the code store (config code_store_bytes): a put that takes it past
 * bytes evicts the least recently used code first (never the one stored).
 */
void db_set_code_store_max(struct db *db, int64_t bytes);
/* Bytes of code stored (the running total), or -1. */
int64_t db_code_store_bytes(struct db *db);

/* Insert if absent (idempotent), then evict for room.  Returns 1 when
 * newly stored, 0 when it existed, -1 on error. */
int db_code_put(struct db *db, const unsigned char id[32], const void *body, size_t len);
/* Returns 1 and fills out when found, 0 when absent, -1 on error.  Counts as a use. */
int db_code_get(struct db *db, const unsigned char id[32], struct buf *out);

/* Note a use of a code (for the eviction order) when its last noted use,
 * last_used (unix s; -1 = unknown), is DB_CODE_TOUCH_S old. */
int db_code_touch(struct db *db, const unsigned char id[32], int64_t last_used);

/* Set key only if it has never been set: 1 stored, 0 already set, -1 error. */
int db_config_set_once(struct db *db, const char *key, const void *value, size_t len);
int db_config_set(struct db *db, const char *key, const void *value, size_t len);
/* 1 found (value appended to out), 0 absent, -1 error. */
int db_config_get(struct db *db, const char *key, struct buf *out);

/* Store the code and the tx -> code link in one transaction. */
int db_tx_code_put(struct db *db, const unsigned char tx_hash[32], const unsigned char code_id[32],
		   const void *body, size_t len);
/* 1 found (code id and canonical encoding), 0 absent, -1 error. */
int db_tx_code_get(struct db *db, const unsigned char tx_hash[32], unsigned char code_id[32],
		   struct buf *body);

#endif
