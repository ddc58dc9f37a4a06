#ifndef CHAIN_WATCHER_CW_PRUNE_H
#define CHAIN_WATCHER_CW_PRUNE_H
/*
 * Retention of the chain queue.  A job that is over, on chain and for us,
 * goes job_retention_days after its last change, with its transactions and
 * the responses seen for it: otherwise the jobs, txs and job_responses
 * tables grow with every job the contract ever saw.
 *
 * Over means: state confirmed, failed, expired, dropped, observed or
 * skipped; no slash pending or in flight (slash_state empty, done or
 * skipped); no pending transaction.  Those are far behind any reorg the
 * watcher can undo (it keeps CW_WATCH_KEEP_BLOCKS of hashes) and past
 * every deadline, so nothing will touch them again.  Pending transactions
 * are never deleted: the sender's nonces come from them.
 *
 * The watcher's replay rule (a range read again changes nothing) holds for
 * what is kept: a cursor moved back by hand over pruned jobs stores them
 * again as new; the sender never answers past a job's window, so that
 * costs runs, not transactions.
 *
 * Run by the watcher process: at start, then hourly, in batches of
 * CW_PRUNE_BATCH jobs per transaction so writers never wait long; a full
 * batch asks for the next at the following tick.
 */
#include <stdint.h>

#include "conf.h"
#include "db.h"

#define CW_PRUNE_BATCH 500
#define CW_PRUNE_EVERY_MS (3600 * 1000)

struct cw_prune {
	int64_t next_ms; /* wall clock (unix ms) of the next pass; 0 = at once */
};

/* Delete up to CW_PRUNE_BATCH jobs over and older than now_ms - retention;
 * how many, or -1 on a database error (rolled back). */
int cw_prune_jobs(struct db *db, int64_t cutoff_ms);

/* The watcher's hook, called every tick: prunes when due. */
void cw_prune_tick(struct cw_prune *p, struct db *db, const struct conf *c, int64_t now_ms);

#endif
