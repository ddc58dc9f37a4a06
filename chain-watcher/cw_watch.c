/*
 * The chain watcher: eth_getLogs polling of Executors and Jobs into SQLite.
 * The tick is described in cw_watch.h; this file (the statements, the
 * executor status, the tick) and its parts (cw_watch_int.h) add the
 * details that matter for correctness.
 *
 * Idempotency.  Every row the watcher writes is keyed by where it came from
 * on chain ((block, logIndex) for events, the job id for jobs), inserts
 * ignore what is already there, and updates are written as "only if it
 * changes something" (responses < n, we_responded = 0), so replaying a
 * range (a cursor moved back by hand, overlapping ranges) neither
 * duplicates nor touches rows, not even their `updated` stamps.  A crash
 * loses at most the tick's whole transaction, cursor included.
 *
 * Executor status "as of a log".  A JobCreated that selects us is 'seen'
 * only when our latest executor event BEFORE that log (by block, logIndex)
 * says active; 'skipped' when it says draining or deregistered.  The
 * contracts never select a draining or deregistered executor, so 'skipped'
 * marks a view that disagrees with the chain.  When we have seen no event
 * for our enclave at all (the watcher started after our registration:
 * start_block 0 or later than the registration block) the job is 'seen':
 * the contract selecting us proves we are registered, and not answering
 * would get us slashed.
 *
 * Undoing a reorg past the common ancestor A (one transaction):
 *  - job_responses after A are deleted; jobs.responses and we_responded of
 *    the jobs they touched are recomputed from the rows that remain; a job
 *    'confirmed' that way goes back to 'submitted' (note "response
 *    reorged") so the sender looks at its transaction again;
 *  - executor_events after A are deleted (our status follows);
 *  - jobs created after A: observed/seen/skipped rows are deleted (nothing
 *    was done for them; if the JobCreated is mined again they come back);
 *    claimed/executed (and failed/expired: a submit refused because the
 *    reorg had already removed the job) ones become 'dropped' with note
 *    "reorged" so no
 *    signature made for them is ever sent; submitted/confirmed ones are
 *    kept with note "creation block reorged" (the transaction is out and
 *    the sender owns it) and logged at warn;
 *  - block_hashes after A are deleted and the cursor goes to A + 1.
 * A job dropped by a reorg whose JobCreated is mined again (the usual case
 * for a short reorg: the same transaction in a new block) is recreated from
 * the new log with its run state cleared, because being selected again and
 * not answering would get us slashed; the runner's writes are conditional
 * on its lease, which the reset clears, so a runner still busy with the old
 * one cannot overwrite it.
 */
#include "cw_watch_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "cw_watch.h"
#include "eth/eth_abi.h"
#include "eth/eth_hex.h"
#include "eth/eth_key.h"
#include "eth/eth_u256.h"
#include "log.h"
#include "banned.h"

const char *const cw_watch_event_sig[CW_EV_COUNT] = {
	[CW_EV_REGISTERED] = "ExecutorRegistered(address,address,uint256,uint8)",
	[CW_EV_DEREGISTERED] = "ExecutorDeregistered(address)",
	[CW_EV_DRAINED] = "ExecutorDrained(address)",
	[CW_EV_REVIVED] = "ExecutorRevived(address)",
	[CW_EV_JOB_CREATED] = "JobCreated(uint256,uint8,address,bytes32,bytes,uint256,address[])",
	[CW_EV_JOB_RESPONDED] = "JobResponded(uint256,address,bytes,uint256,uint8,uint8)",
};

/* ---- prepared statements ------------------------------------------------ */


static const char *const stmt_sql[ST_COUNT] = {
	[ST_CURSOR_GET] = "SELECT next_block FROM chain_cursor WHERE id = 1",
	[ST_CURSOR_INIT] = "INSERT INTO chain_cursor(id, next_block) VALUES (1, ?1)"
			   " ON CONFLICT(id) DO NOTHING",
	[ST_CURSOR_SET] = "INSERT INTO chain_cursor(id, next_block) VALUES (1, ?1)"
			  " ON CONFLICT(id) DO UPDATE SET next_block = excluded.next_block"
			  " WHERE next_block != excluded.next_block",
	[ST_TOP_HASH] = "SELECT number, hash FROM block_hashes WHERE number < ?1"
			" ORDER BY number DESC LIMIT 1",
	[ST_HASHES_DESC] = "SELECT number, hash FROM block_hashes WHERE number < ?1"
			   " ORDER BY number DESC",
	[ST_HASH_PUT] = "INSERT INTO block_hashes(number, hash) VALUES (?1, ?2)"
			" ON CONFLICT(number) DO UPDATE SET hash = excluded.hash"
			" WHERE hash != excluded.hash",
	[ST_HASH_PRUNE] = "DELETE FROM block_hashes WHERE number < ?1",
	[ST_EXEC_PUT] = "INSERT OR IGNORE INTO executor_events"
			"(block_number, log_index, kind, owner, job_capacity)"
			" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_STATUS_AT] = "SELECT kind FROM executor_events"
			 " WHERE block_number < ?1 OR (block_number = ?1 AND log_index < ?2)"
			 " ORDER BY block_number DESC, log_index DESC LIMIT 1",
	[ST_JOB_PUT] =
		"INSERT INTO jobs(job_id, env, job_owner, codehash, code_inputs, deadline_ms,"
		" selected, ours, block_number, block_hash, tx_hash, log_index, block_time,"
		" seen_at, state, slash_state, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		" 'pending', ?14)"
		" ON CONFLICT(job_id) DO UPDATE SET env = excluded.env,"
		" job_owner = excluded.job_owner, codehash = excluded.codehash,"
		" code_inputs = excluded.code_inputs, deadline_ms = excluded.deadline_ms,"
		" selected = excluded.selected, ours = excluded.ours,"
		" block_number = excluded.block_number, block_hash = excluded.block_hash,"
		" tx_hash = excluded.tx_hash, log_index = excluded.log_index,"
		" block_time = excluded.block_time, seen_at = excluded.seen_at,"
		" state = excluded.state, lease_owner = NULL, lease_until = NULL, claims = 0,"
		" started_at = NULL, finished_at = NULL, output = NULL, error_code = NULL,"
		" total_time = NULL, worker_status = NULL, sign_timestamp = NULL,"
		" signature = NULL, submit_tx = NULL, responses = 0, we_responded = 0,"
		" slash_state = 'pending', note = 'recreated after reorg',"
		" updated = excluded.updated"
		" WHERE jobs.state = 'dropped' AND jobs.note = 'reorged'",
	[ST_RESP_PUT] = "INSERT OR IGNORE INTO job_responses"
			"(job_id, executor, output_count, error_code, block_number, log_index)"
			" SELECT ?1, ?2, ?3, ?4, ?5, ?6"
			" WHERE EXISTS (SELECT 1 FROM jobs WHERE job_id = ?1)",
	[ST_JOB_RESPONSES] = "UPDATE jobs SET responses = ?2, updated = ?3"
			     " WHERE job_id = ?1 AND responses < ?2",
	[ST_JOB_WE_RESPONDED] =
		"UPDATE jobs SET we_responded = 1, updated = ?2,"
		" state = CASE WHEN state IN ('submitted', 'executed') THEN 'confirmed'"
		" ELSE state END"
		" WHERE job_id = ?1 AND (we_responded = 0 OR state IN ('submitted', 'executed'))",
};

struct cw_watch_stmts {
	sqlite3_stmt *s[ST_COUNT];
};

/* The statement, prepared on first use, reset and unbound. */
sqlite3_stmt *cww_stmt(struct cw_watch *w, int id)
{
	sqlite3_stmt **p = &w->st->s[id];

	if (!*p) {
		if (sqlite3_prepare_v3(w->db->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, p,
				       NULL) != SQLITE_OK) {
			log_err("watch: sqlite prepare: %s: %s", sqlite3_errmsg(w->db->h),
				stmt_sql[id]);
			*p = NULL;
			return NULL;
		}
	} else {
		sqlite3_reset(*p);
		sqlite3_clear_bindings(*p);
	}
	return *p;
}

/*
 * Step a statement that returns no rows; 0, or -1 (logged).  Bindings are
 * cleared at once: some point into memory the caller frees next.
 */
int cww_step_done(struct cw_watch *w, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return log_err("watch: sqlite %s: %s", what, sqlite3_errmsg(w->db->h));
	return 0;
}

int cww_sql_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("watch: sqlite %s: %s", sql, msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

void cww_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		cww_sql_exec(db, "ROLLBACK");
}

int64_t cww_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- executor status ---------------------------------------------------- */

static enum cw_exec_status status_of_kind(const unsigned char *kind)
{
	if (!kind)
		return CW_EXEC_UNREGISTERED;
	if (!strcmp((const char *)kind, "registered") || !strcmp((const char *)kind, "revived"))
		return CW_EXEC_ACTIVE;
	if (!strcmp((const char *)kind, "drained"))
		return CW_EXEC_DRAINING;
	if (!strcmp((const char *)kind, "deregistered"))
		return CW_EXEC_DEREGISTERED;
	return CW_EXEC_UNREGISTERED;
}

enum cw_exec_status cw_exec_status(struct db *db)
{
	enum cw_exec_status s = CW_EXEC_UNREGISTERED;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h,
			       "SELECT kind FROM executor_events"
			       " ORDER BY block_number DESC, log_index DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		log_err("watch: sqlite prepare executor status: %s", sqlite3_errmsg(db->h));
		return CW_EXEC_UNREGISTERED;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s = status_of_kind(sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		log_err("watch: sqlite executor status: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return s;
}

const char *cw_exec_status_name(enum cw_exec_status s)
{
	switch (s) {
	case CW_EXEC_UNREGISTERED: return "unregistered";
	case CW_EXEC_ACTIVE: return "active";
	case CW_EXEC_DRAINING: return "draining";
	case CW_EXEC_DEREGISTERED: return "deregistered";
	}
	return "?";
}

/* Status from the events strictly before (block, index); -1 on error. */
int cww_status_at(struct cw_watch *w, uint64_t block, uint64_t index,
		     enum cw_exec_status *out, int *any)
{
	sqlite3_stmt *s = cww_stmt(w, ST_STATUS_AT);
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)block);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)index);
	rc = sqlite3_step(s);
	*any = rc == SQLITE_ROW;
	*out = rc == SQLITE_ROW ? status_of_kind(sqlite3_column_text(s, 0)) : CW_EXEC_UNREGISTERED;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return log_err("watch: sqlite executor status: %s", sqlite3_errmsg(w->db->h));
	return 0;
}

/* ---- init / release ----------------------------------------------------- */

int cw_watch_init(struct cw_watch *w, const struct conf *c, struct db *db, struct eth_rpc *rpc,
		  const unsigned char enclave[20])
{
	struct buf err = BUF_INIT;

	memset(w, 0, sizeof(*w));
	if (!conf_is_address(c->executors_contract) ||
	    eth_address_parse(c->executors_contract, strlen(c->executors_contract), w->executors,
			      &err) < 0) {
		log_err("watch: executors_contract is not set to an address (\"%s\") %s",
			c->executors_contract, buf_cstr(&err));
		buf_release(&err);
		return -1;
	}
	if (!conf_is_address(c->jobs_contract) ||
	    eth_address_parse(c->jobs_contract, strlen(c->jobs_contract), w->jobs, &err) < 0) {
		log_err("watch: jobs_contract is not set to an address (\"%s\") %s",
			c->jobs_contract, buf_cstr(&err));
		buf_release(&err);
		return -1;
	}
	if (c->confirmations < 0 || c->start_block < 0 || c->max_log_range < 1)
		return log_err("watch: bad confirmations/start_block/max_log_range");
	w->st = calloc(1, sizeof(*w->st));
	if (!w->st)
		return log_err("watch: out of memory");
	w->conf = c;
	w->db = db;
	w->rpc = rpc;
	memcpy(w->enclave, enclave, 20);
	for (int i = 0; i < CW_EV_COUNT; i++)
		eth_abi_event_topic(cw_watch_event_sig[i], w->topic[i]);
	w->confirmations = (uint64_t)c->confirmations;
	w->start_block = (uint64_t)c->start_block;
	w->max_range = (uint64_t)c->max_log_range;
	w->range = w->max_range;
	return 0;
}

void cw_watch_release(struct cw_watch *w)
{
	if (w->st) {
		for (int i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(w->st->s[i]);
		free(w->st);
	}
	w->st = NULL;
}

/* ---- the tick ----------------------------------------------------------- */

static int log_cmp(const void *pa, const void *pb)
{
	const struct eth_rpc_log *a = pa, *b = pb;

	if (a->block_number != b->block_number)
		return a->block_number < b->block_number ? -1 : 1;
	if (a->log_index != b->log_index)
		return a->log_index < b->log_index ? -1 : 1;
	return 0;
}

/* Fetch block number into *b: 1 ok, 0 not there (raced), -1 RPC error. */
static int fetch_block(struct cw_watch *w, uint64_t number, struct blk *b)
{
	struct eth_rpc_block rb;
	int rc = eth_rpc_get_block(w->rpc, NULL, number, &rb);

	if (rc < 0) {
		log_msg(LOG_WARN, "watch: cannot read block %" PRIu64, number);
		return -1;
	}
	if (rc == 0 || !rb.has_hash)
		return 0;
	if (rb.timestamp > INT64_MAX)
		return log_err("watch: block %" PRIu64 " has timestamp %" PRIu64 " out of range",
			       number, rb.timestamp);
	b->number = number;
	memcpy(b->hash, rb.hash, 32);
	b->timestamp = rb.timestamp;
	return 1;
}

static int store_range(struct cw_watch *w, struct eth_rpc_log *logs, size_t nlogs,
		       const struct blk *blks, size_t nblks, uint64_t to)
{
	sqlite3_stmt *s;
	size_t k = 0;

	if (cww_sql_exec(w->db, "BEGIN IMMEDIATE") < 0)
		return -1;
	for (size_t i = 0; i < nlogs; i++) {
		uint64_t ts = 0;

		while (k < nblks && blks[k].number < logs[i].block_number)
			k++;
		if (k < nblks && blks[k].number == logs[i].block_number)
			ts = blks[k].timestamp;
		if (cw_watch_apply_log(w, &logs[i], ts) < 0)
			goto fail;
	}
	for (size_t i = 0; i < nblks; i++) {
		if (!(s = cww_stmt(w, ST_HASH_PUT)))
			goto fail;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)blks[i].number);
		sqlite3_bind_blob(s, 2, blks[i].hash, 32, SQLITE_TRANSIENT);
		if (cww_step_done(w, s, "store block hash") < 0)
			goto fail;
	}
	if (to > CW_WATCH_KEEP_BLOCKS) {
		if (!(s = cww_stmt(w, ST_HASH_PRUNE)))
			goto fail;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)(to - CW_WATCH_KEEP_BLOCKS));
		if (cww_step_done(w, s, "prune block hashes") < 0)
			goto fail;
	}
	if (cww_cursor_put(w, ST_CURSOR_SET, to + 1) < 0 || cww_sql_exec(w->db, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	cww_rollback(w->db);
	return -1;
}

/*
 * The head as last read, for oyster-fcgi's /metrics and /healthz
 * (fcgi-app/fa_stats_chain.c): executor_config "chain_head", decimal.
 * Written when it moves and at least every 10 s, so the row's `updated`
 * stamp tells how fresh the watcher's view is.  A failed write only logs.
 */
static void publish_head(struct cw_watch *w, uint64_t head)
{
	static const struct db *last_db;
	static uint64_t last_head;
	static time_t last_at;
	time_t now = time(NULL);
	char text[24];

	if (w->db == last_db && head == last_head && now - last_at < 10)
		return;
	snprintf(text, sizeof(text), "%" PRIu64, head);
	if (db_config_set(w->db, "chain_head", text, strlen(text)) == 0) {
		last_db = w->db;
		last_head = head;
		last_at = now;
	}
}

int cw_watch_tick(struct cw_watch *w)
{
	unsigned char addrs[2][20];
	struct eth_rpc_log_filter f;
	struct eth_rpc_log *logs = NULL;
	struct blk *blks = NULL;
	struct anchor anchor;
	size_t nlogs = 0, nblks = 0, i;
	uint64_t head, safe, next, from, to;
	unsigned char cur[32];
	int rc, r = -1;

	if (eth_rpc_block_number(w->rpc, &head) < 0) {
		log_msg(LOG_WARN, "watch: cannot read the head block number");
		return -1;
	}
	if (head > INT64_MAX)
		return log_err("watch: head block %" PRIu64 " out of range", head);
	w->head = head;
	publish_head(w, head);
	safe = head >= w->confirmations ? head - w->confirmations : 0;
	w->safe = safe;

	rc = cww_cursor_get(w, &next);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		next = w->start_block ? w->start_block : safe;
		/* Written now, so a failing first tick cannot move the start later. */
		if (cww_cursor_put(w, ST_CURSOR_INIT, next) < 0 || cww_cursor_get(w, &next) != 1)
			return -1;
		log_msg(LOG_INFO, "watch: new database: following the chain from block %" PRIu64
			"%s", next, w->start_block ? "" : " (the safe head: start_block = 0)");
	}
	w->next_block = next;

	rc = cww_reorg_check(w, &next, &anchor);
	w->next_block = next;
	if (rc)
		return rc < 0 ? -1 : 0;
	if (head < w->confirmations || next > safe)
		return 0;

	from = next;
	to = safe - from >= w->range ? from + w->range - 1 : safe;

	memcpy(addrs[0], w->executors, 20);
	memcpy(addrs[1], w->jobs, 20);
	memset(&f, 0, sizeof(f));
	f.from_block = from;
	f.to_block = to;
	f.addresses = (const unsigned char (*)[20])addrs;
	f.naddr = memcmp(w->executors, w->jobs, 20) ? 2 : 1;
	f.topics[0] = (const unsigned char (*)[32])w->topic;
	f.ntopics[0] = CW_EV_COUNT;
	if ((rc = eth_rpc_get_logs(w->rpc, &f, &logs, &nlogs)) < 0) {
		const struct eth_rpc_error *e = eth_rpc_last_error(w->rpc);
		uint64_t span = to - from + 1;

		/*
		 * The node refused the range (too many results, a provider's
		 * block limit) or timed out on it: ask for less next time.  A
		 * node that is simply down says nothing about the range.
		 */
		if (rc == ETH_RPC_E_REPLY || rc == ETH_RPC_E_REMOTE ||
		    (rc == ETH_RPC_E_TRANSPORT && (e->curl_code == CURLE_OPERATION_TIMEDOUT ||
						   e->http_status >= 400)))
			w->range = span > 1 ? span / 2 : 1;
		log_msg(LOG_WARN, "watch: eth_getLogs %" PRIu64 "..%" PRIu64 " failed; range now %"
			PRIu64 " blocks", from, to, w->range);
		return -1;
	}
	if (nlogs > 1)
		qsort(logs, nlogs, sizeof(*logs), log_cmp);

	/* Hash and time of every block with a live log, then of `to`. */
	blks = calloc(nlogs + 1, sizeof(*blks));
	if (!blks) {
		log_err("watch: out of memory");
		goto out;
	}
	for (i = 0; i < nlogs; i++) {
		const struct eth_rpc_log *l = &logs[i];

		if (l->removed)
			continue;
		if (!nblks || blks[nblks - 1].number != l->block_number) {
			rc = fetch_block(w, l->block_number, &blks[nblks]);
			if (rc <= 0)
				goto raced_or_failed;
			nblks++;
		}
		if (memcmp(blks[nblks - 1].hash, l->block_hash, 32)) {
			rc = 0;
			goto raced_or_failed;
		}
	}
	if (!nblks || blks[nblks - 1].number != to) {
		rc = fetch_block(w, to, &blks[nblks]);
		if (rc <= 0)
			goto raced_or_failed;
		nblks++;
	}
	/* The range must continue the chain we stored: the anchor is still there. */
	if (anchor.have) {
		rc = eth_rpc_get_block_hash(w->rpc, anchor.number, cur);
		if (rc < 0) {
			log_msg(LOG_WARN, "watch: cannot re-read block %" PRIu64, anchor.number);
			goto out;
		}
		if (rc == 0 || memcmp(cur, anchor.hash, 32)) {
			rc = 0;
			goto raced_or_failed;
		}
	}

	if (store_range(w, logs, nlogs, blks, nblks, to) < 0)
		goto out;
	w->next_block = to + 1;
	if (w->range < w->max_range)
		w->range = w->range > w->max_range / 2 ? w->max_range : w->range * 2;
	if (nlogs)
		log_msg(LOG_DEBUG, "watch: blocks %" PRIu64 "..%" PRIu64 ": %zu log(s)", from, to,
			nlogs);
	r = 0;
	goto out;

raced_or_failed:
	if (rc == 0) {
		/* A reorg raced this tick: write nothing, the next tick sorts it out. */
		w->abandoned++;
		log_msg(LOG_WARN, "watch: blocks %" PRIu64 "..%" PRIu64 " changed while being read "
			"(reorg in progress?): retrying next tick", from, to);
		r = 0;
	}
out:
	eth_rpc_logs_free(logs, nlogs);
	free(blks);
	return r;
}
