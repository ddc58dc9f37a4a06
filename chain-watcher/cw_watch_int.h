#ifndef CHAIN_WATCHER_CW_WATCH_INT_H
#define CHAIN_WATCHER_CW_WATCH_INT_H
/*
 * The chain watcher's parts (the tick is described in cw_watch.h):
 *   cw_watch.c        prepared statements, executor status, init, the tick
 *   cw_watch_apply.c  applying one log
 *   cw_watch_reorg.c  cursor, block hashes, reorgs
 */
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "cw_watch.h"

enum {
	ST_CURSOR_GET,
	ST_CURSOR_INIT,
	ST_CURSOR_SET,
	ST_TOP_HASH,
	ST_HASHES_DESC,
	ST_HASH_PUT,
	ST_HASH_PRUNE,
	ST_EXEC_PUT,
	ST_STATUS_AT,
	ST_JOB_PUT,
	ST_RESP_PUT,
	ST_JOB_RESPONSES,
	ST_JOB_WE_RESPONDED,
	ST_COUNT
};

struct blk {
	uint64_t number;
	unsigned char hash[32];
	uint64_t timestamp;
};

struct anchor {
	int have;
	uint64_t number;
	unsigned char hash[32];
};

/* cw_watch.c */
sqlite3_stmt *cww_stmt(struct cw_watch *w, int id);
int cww_step_done(struct cw_watch *w, sqlite3_stmt *s, const char *what);
int cww_sql_exec(struct db *db, const char *sql);
void cww_rollback(struct db *db);
int64_t cww_now_ms(void);
int cww_status_at(struct cw_watch *w, uint64_t block, uint64_t index,
		  enum cw_exec_status *out, int *any);

/* cw_watch_reorg.c */
int cww_cursor_get(struct cw_watch *w, uint64_t *next);
int cww_cursor_put(struct cw_watch *w, int id, uint64_t next);
int cww_reorg_check(struct cw_watch *w, uint64_t *next, struct anchor *a);

#endif
