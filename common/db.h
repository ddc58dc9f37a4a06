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
 * Tables so far:
 *   code(id BLOB PRIMARY KEY, body BLOB, size, created, last_used)
 *     content-addressed code cache: id = keccak256(canonical encoding),
 *     body = the canonical encoding (common/code.h).
 */
#include <sqlite3.h>
#include <stddef.h>

#include "buf.h"

struct db {
	sqlite3 *h;
};

int db_open(struct db *db, const char *path);
void db_close(struct db *db);

/* Insert if absent (idempotent).  Returns 1 when newly stored, 0 when it existed, -1 on error. */
int db_code_put(struct db *db, const unsigned char id[32], const void *body, size_t len);
/* Returns 1 and fills out when found, 0 when absent, -1 on error. */
int db_code_get(struct db *db, const unsigned char id[32], struct buf *out);

#endif
