#ifndef CHAIN_WATCHER_CW_WATCH_H
#define CHAIN_WATCHER_CW_WATCH_H
/*
 * cw_watch: the chain watcher.  It follows the Executors and Jobs contracts'
 * logs over eth_getLogs polling and writes them into SQLite (the schema in
 * common/db.c, migration 3), which is the only hand-off to the runners and
 * the sender.  One process, one struct cw_watch, cw_watch_tick() once per
 * poll interval.
 *
 * One tick:
 *  1. head = eth_blockNumber; safe = head - confirmations.
 *  2. Cursor (chain_cursor.next_block).  On a fresh database it is created
 *     at once (before any log is read, so a failed first tick cannot move
 *     it) from conf start_block, or, when start_block is 0, at the current
 *     safe head: the first block read is the safe head itself, so only
 *     events from then on are seen (earlier ones, e.g. our own
 *     registration, are not: set start_block to the deploy or registration
 *     block for that).
 *  3. Reorg check: the hash of the highest stored block below the cursor is
 *     compared with the node's.  If it changed, block_hashes is walked down
 *     until a stored hash matches the chain (the common ancestor A; if none
 *     does, A = lowest stored - 1) and everything after A is undone in one
 *     transaction (see cw_watch.c), then the cursor goes back to A + 1.
 *     When the node does not have that block (its head is below what we
 *     processed: a lagging node behind a load balancer, or a chain that got
 *     shorter), nothing is undone: we wait until the chain is back above it
 *     and then compare hashes.  Undoing work because one node lags would
 *     drop jobs we already ran.
 *  4. Range [next_block, min(safe, next_block + range - 1)].  range starts
 *     at conf max_log_range, is halved after a failed eth_getLogs (too many
 *     results, timeouts) and doubles back after each success.
 *  5. eth_getLogs for the six events from the two contracts; removed logs
 *     are ignored, a log from the wrong contract is refused.  The hash and
 *     timestamp of block `to` and of each block with a log are fetched; a
 *     log whose blockHash differs from that, or a stored anchor block that
 *     changed meanwhile, means a reorg raced us: the tick is abandoned
 *     without writing (the next tick redoes it).
 *  6. One BEGIN IMMEDIATE transaction applies the logs in (block, logIndex)
 *     order, stores the block hashes, prunes those older than to - 512 and
 *     moves the cursor to to + 1.  Every write is idempotent (INSERT OR
 *     IGNORE / ON CONFLICT DO NOTHING, conditional updates), so replaying a
 *     range after a crash or a cursor reset changes nothing.
 *
 * Errors: an RPC failure returns -1 (the caller backs off) without touching
 * the database; a database failure rolls back and returns -1.  The cursor
 * never passes a block whose logs are not stored.  Nothing here exits.
 */
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "eth/eth_rpc.h"

/* Hashes of blocks older than (last processed - this) are pruned. */
#define CW_WATCH_KEEP_BLOCKS 512
/* Bounds for one JobCreated: its codeInputs and selectedExecutors. */
#define CW_WATCH_MAX_INPUTS (1u << 20)
#define CW_WATCH_MAX_SELECTED 256
/* A log's data beyond this is refused before decoding. */
#define CW_WATCH_MAX_LOG_DATA (CW_WATCH_MAX_INPUTS + 64 * 1024)

enum cw_watch_event {
	CW_EV_REGISTERED,
	CW_EV_DEREGISTERED,
	CW_EV_DRAINED,
	CW_EV_REVIVED,
	CW_EV_JOB_CREATED,
	CW_EV_JOB_RESPONDED,
	CW_EV_COUNT
};

/* Exact event signatures (PROTOCOL.md section 3); topic0 = keccak256(sig). */
extern const char *const cw_watch_event_sig[CW_EV_COUNT];

struct cw_watch_stmts; /* prepared statements, cw_watch.c */

struct cw_watch {
	const struct conf *conf;
	struct db *db;
	struct eth_rpc *rpc;
	unsigned char enclave[20];
	unsigned char executors[20];   /* conf executors_contract */
	unsigned char jobs[20];        /* conf jobs_contract */
	unsigned char topic[CW_EV_COUNT][32];
	uint64_t confirmations;
	uint64_t start_block;          /* 0: the safe head at first start */
	uint64_t max_range;            /* conf max_log_range */
	uint64_t range;                /* current, adaptive (1..max_range) */
	struct cw_watch_stmts *st;
	/* Observability (also handy in tests). */
	uint64_t head, safe, next_block;
	unsigned long reorgs;          /* reorgs undone */
	uint64_t last_reorg_depth;     /* blocks undone by the last one */
	unsigned long abandoned;       /* ticks abandoned because a reorg raced them */
	unsigned long logs_applied;    /* logs written (or found already written) */
	unsigned long logs_skipped;    /* removed, foreign, malformed or other-env logs */
};

/*
 * Parse the contract addresses from c (executors_contract and jobs_contract
 * must be set) and prepare the statements.  No RPC is made: init succeeds
 * while the node is down.  c, db and rpc must outlive w.  0 or -1 (logged).
 */
int cw_watch_init(struct cw_watch *w, const struct conf *c, struct db *db, struct eth_rpc *rpc,
		  const unsigned char enclave[20]);
/* One poll: 0 ok (progress or nothing new), -1 transient error (logged). */
int cw_watch_tick(struct cw_watch *w);
void cw_watch_release(struct cw_watch *w);

/* Our executor status from executor_events: the latest row for our enclave. */
enum cw_exec_status { CW_EXEC_UNREGISTERED, CW_EXEC_ACTIVE, CW_EXEC_DRAINING, CW_EXEC_DEREGISTERED };
/* A database error is logged and reads as CW_EXEC_UNREGISTERED (take no jobs). */
enum cw_exec_status cw_exec_status(struct db *db);
const char *cw_exec_status_name(enum cw_exec_status s);

/*
 * Apply one log (the body of step 6) to the database, for unit tests and
 * the tick.  block_time is the timestamp of the log's block.  The caller
 * owns the transaction (the tick wraps all logs in one).  A removed log, a
 * log from the wrong contract, an unknown topic0, an env other than 1 or a
 * malformed event is skipped (logged) and returns 1; 0 applied (or already
 * there); -1 database error.
 */
int cw_watch_apply_log(struct cw_watch *w, const struct eth_rpc_log *l, uint64_t block_time);

#endif
