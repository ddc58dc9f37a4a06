#ifndef CHAIN_WATCHER_CW_SENDER_H
#define CHAIN_WATCHER_CW_SENDER_H
/*
 * cw_sender: the one process that owns the gas key and its nonce, and
 * turns rows of the SQLite queue into transactions (PROTOCOL.md section 5):
 * submitOutput for our executed jobs, slashOnExecutionTimeout for jobs
 * nobody answered in time, and 0-value self-transfers that cancel a stuck
 * submission once its job can no longer be answered.
 *
 * Crash safety is the design's centre.  A transaction is signed, then its
 * raw bytes are recorded in txs (state 'pending', sent_at NULL) in the same
 * SQLite transaction that moves the job to 'submitted' (or its slash_state
 * to 'sent'), and only then broadcast; sent_at is set after the node took
 * it.  Whatever point a crash hits, the restarted sender finds either
 * nothing (nothing was sent) or the recorded bytes, which it re-broadcasts
 * unchanged: the same hash, so never a second, conflicting transaction.  A
 * nonce is taken from the local counter only when its transaction is
 * recorded, and the counter starts at max(node's pending count, highest
 * nonce of our pending rows + 1), so a recorded-but-unsent transaction
 * keeps its nonce across restarts.
 *
 * Every tick, in order (one pass; the daemon calls it every poll interval):
 *  1. re-broadcast pending rows with sent_at NULL;
 *  2. receipts of pending rows, grouped by nonce: one mined -> 'mined'
 *     and its siblings 'replaced', the job updated from the receipt; not
 *     mined for resend_after_ms -> a replacement at the same nonce with fees
 *     raised by fee_bump_percent (at least 10%), or, once the job's window
 *     has passed, a cancel (0-value transfer to ourselves) at that nonce so
 *     later nonces are not blocked; a nonce the chain consumed without any of
 *     our rows (someone else used the key) drops the group and returns the
 *     job to the queue;
 *  3. submissions of 'executed' jobs, oldest first (late ones -> 'expired');
 *  4. slashes of jobs whose window closed with fewer responses than
 *     selected executors.
 * A revert during gas estimation means the chain refuses the call (already
 * answered, too late, someone else slashed first): the job is settled
 * quietly, nothing is sent.
 *
 * Time: every window test compares the wall clock (CLOCK_REALTIME, unix ms)
 * with block_time, which is chain time.  That assumes the node's clock
 * follows real time (true of mainnet-like chains within seconds, and of
 * anvil, which stamps blocks with the host clock); replacements stop
 * CW_SENDER_MARGIN_MS before the window closes for that reason, and a slash
 * that estimates "deadline not over" is retried, not abandoned.
 *
 * Gas key rotation: the key file (conf->gas_key_path, written by the admin
 * API) is checked at most once a second; until it exists tick() does
 * nothing.  When its identity (device, inode, size, mtime, ctime) changes
 * it is reloaded and the nonce refetched; a file that fails to load (bad
 * mode, half written) is retried when it changes again (ctime also moves
 * on chmod).  Pending rows signed by a previous key
 * are still followed to their receipts but never replaced (the old key is
 * gone).
 *
 * Chain reorganisations after a receipt are not handled here (a mined row
 * stays mined); the watcher follows JobResponded events for the job state.
 */
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "db.h"
#include "eth/eth_key.h"
#include "eth/eth_rpc.h"

/* Replacements of a submission stop this long before its window closes. */
#define CW_SENDER_MARGIN_MS 2000
/* Slashes are sent this long after the window closed (PROTOCOL.md section 4). */
#define CW_SENDER_SLASH_DELAY_MS 1000
/* Fallback priority fee when the node has no eth_maxPriorityFeePerGas. */
#define CW_SENDER_DEFAULT_PRIORITY_FEE 1000000000ULL

/* Test hooks: simulate a crash at a point of the send path. */
enum cw_sender_stop {
	CW_SENDER_STOP_NONE = 0,
	CW_SENDER_STOP_AFTER_RECORD, /* recorded (job 'submitted'), never broadcast */
	CW_SENDER_STOP_AFTER_SEND,   /* broadcast, sent_at never written */
};

struct cw_sender {
	const struct conf *conf;
	struct db *db;
	struct eth_rpc *rpc;
	unsigned char jobs_addr[20];

	/* gas key and the identity of the file it came from */
	struct eth_key gas;
	int have_key;
	dev_t key_dev;
	ino_t key_ino;
	off_t key_size;
	struct timespec key_mtime, key_ctime;
	int key_bad;                /* the file with that identity failed to load */
	uint64_t key_checked_ms;    /* CLOCK_MONOTONIC ms of the last stat() */
	int waiting_logged;         /* "waiting for a gas key" said once */

	/* chain facts, fetched once */
	uint64_t chain_id;
	uint64_t buffer_s;          /* Jobs.EXECUTION_BUFFER_TIME */
	int have_chain_id, have_buffer;

	/* the nonce counter */
	uint64_t nonce;
	int have_nonce;             /* 0: refetch before the next new transaction */

	/* fee multiplier in percent (100 = market), raised after "underpriced" */
	uint64_t fee_boost_percent;
	uint64_t funds_logged_ms;   /* "insufficient funds" logged at most once a minute */
	uint64_t refused_logged_ms; /* other refusals, likewise */
	uint64_t old_key_logged_ms; /* stuck rows of a rotated-away key, likewise */

	enum cw_sender_stop test_stop; /* test hook; CW_SENDER_STOP_NONE in production */
	int stopped;                /* set when the hook fired: the instance must be released */
};

/*
 * Borrow conf, db and rpc (they outlive the sender).  No network: the chain
 * id, the buffer, the key and the nonce are fetched by tick().  0 or -1
 * (bad jobs_contract).
 */
int cw_sender_init(struct cw_sender *s, const struct conf *c, struct db *db,
		   struct eth_rpc *rpc);
/* One pass of the loop above: 0, or -1 on a transient error (logged). */
int cw_sender_tick(struct cw_sender *s);
/* Wipes the gas key. */
void cw_sender_release(struct cw_sender *s);

#endif
