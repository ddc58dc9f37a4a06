/*
 * The chain watcher: eth_getLogs polling of Executors and Jobs into SQLite.
 * The tick is described in cw_watch.h; this file adds the details that
 * matter for correctness.
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
#include "cw_watch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

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

static const char *const exec_kind[] = {
	[CW_EV_REGISTERED] = "registered",
	[CW_EV_DEREGISTERED] = "deregistered",
	[CW_EV_DRAINED] = "drained",
	[CW_EV_REVIVED] = "revived",
};

/* ---- prepared statements ------------------------------------------------ */

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
static sqlite3_stmt *stmt(struct cw_watch *w, int id)
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
static int step_done(struct cw_watch *w, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return log_err("watch: sqlite %s: %s", what, sqlite3_errmsg(w->db->h));
	return 0;
}

static int sql_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("watch: sqlite %s: %s", sql, msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sql_exec(db, "ROLLBACK");
}

static int64_t now_ms(void)
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
static int status_at(struct cw_watch *w, uint64_t block, uint64_t index,
		     enum cw_exec_status *out, int *any)
{
	sqlite3_stmt *s = stmt(w, ST_STATUS_AT);
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

/* ---- applying one log --------------------------------------------------- */

/* A 32-byte word holding an address: 12 zero bytes first. */
static int word_address(const unsigned char word[32], unsigned char addr[20])
{
	for (int i = 0; i < 12; i++)
		if (word[i])
			return -1;
	memcpy(addr, word + 12, 20);
	return 0;
}

/* Log context for messages: "block N log I tx 0x..". */
static const char *where(const struct eth_rpc_log *l, char *out, size_t outsz)
{
	char tx[ETH_HEX_STR_SIZE(32)];

	snprintf(out, outsz, "block %" PRIu64 " log %" PRIu64 " tx %s", l->block_number,
		 l->log_index, eth_hex_str(tx, sizeof(tx), l->tx_hash, 32));
	return out;
}

static int skip(struct cw_watch *w, const struct eth_rpc_log *l, enum log_level lvl,
		const char *why)
{
	char at[160];

	w->logs_skipped++;
	log_msg(lvl, "watch: ignoring log (%s): %s", where(l, at, sizeof(at)), why);
	return 1;
}

static int apply_exec(struct cw_watch *w, const struct eth_rpc_log *l, int ev)
{
	unsigned char enclave[20], owner[20];
	struct eth_abi_val *v = NULL;
	struct buf err = BUF_INIT;
	uint64_t capacity = 0, env = 0;
	sqlite3_stmt *s;
	char at[160], hex[ETH_ADDR_HEX_SIZE];
	int r;

	if (l->ntopics != (ev == CW_EV_REGISTERED ? 3u : 2u))
		return skip(w, l, LOG_ERROR, "executor event with a wrong topic count");
	if (word_address(l->topics[1], enclave) < 0)
		return skip(w, l, LOG_ERROR, "enclaveAddress topic is not an address");
	if (memcmp(enclave, w->enclave, 20))
		return 0; /* another executor's */
	if (ev == CW_EV_REGISTERED) {
		if (word_address(l->topics[2], owner) < 0)
			return skip(w, l, LOG_ERROR, "owner topic is not an address");
		if (eth_abi_decode("(uint256,uint8)", l->data.data, l->data.len, &v, &err) < 0) {
			log_msg(LOG_ERROR, "watch: ExecutorRegistered data: %s", buf_cstr(&err));
			buf_release(&err);
			return skip(w, l, LOG_ERROR, "undecodable ExecutorRegistered data");
		}
		r = eth_abi_get_u64(eth_abi_item(v, 0), &capacity) < 0 ||
		    eth_abi_get_u64(eth_abi_item(v, 1), &env) < 0 || capacity > INT64_MAX;
		eth_abi_val_free(v);
		if (r)
			return skip(w, l, LOG_ERROR, "jobCapacity out of range");
		if (env != 1)
			log_msg(LOG_WARN, "watch: our enclave was registered for env %" PRIu64
				" (we serve env 1)", env);
	}
	if (!(s = stmt(w, ST_EXEC_PUT)))
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)l->block_number);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)l->log_index);
	sqlite3_bind_text(s, 3, exec_kind[ev], -1, SQLITE_STATIC);
	if (ev == CW_EV_REGISTERED) {
		sqlite3_bind_blob(s, 4, owner, 20, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)capacity);
	}
	if (step_done(w, s, "insert executor event") < 0)
		return -1;
	if (sqlite3_changes(w->db->h) > 0) {
		if (ev == CW_EV_REGISTERED)
			log_msg(LOG_INFO, "watch: our executor registered by owner %s, job capacity %"
				PRIu64 " (%s)", eth_address_hex(owner, hex), capacity,
				where(l, at, sizeof(at)));
		else
			log_msg(LOG_INFO, "watch: our executor %s (%s)", exec_kind[ev],
				where(l, at, sizeof(at)));
	}
	w->logs_applied++;
	return 0;
}

static int apply_created(struct cw_watch *w, const struct eth_rpc_log *l, uint64_t block_time)
{
	unsigned char owner[20], codehash[32];
	struct eth_abi_val *v = NULL;
	const struct eth_abi_val *sel;
	const unsigned char *inputs;
	struct buf err = BUF_INIT, selected = BUF_INIT;
	struct eth_u256 id;
	enum cw_exec_status status;
	char job_id[ETH_U256_DEC_SIZE], at[160];
	const char *state;
	uint64_t deadline;
	size_t ninputs, n;
	sqlite3_stmt *s;
	int ours = 0, any, r = -1;

	if (l->ntopics != 4)
		return skip(w, l, LOG_ERROR, "JobCreated with a wrong topic count");
	/* env is a uint8 topic: anything but the word 1 is another env (or junk). */
	for (int i = 0; i < 31; i++)
		if (l->topics[2][i])
			return skip(w, l, LOG_ERROR, "JobCreated env topic is not a uint8");
	if (l->topics[2][31] != 1) {
		w->logs_skipped++;
		return 1; /* another env: not ours to follow, not an error */
	}
	if (word_address(l->topics[3], owner) < 0)
		return skip(w, l, LOG_ERROR, "JobCreated jobOwner topic is not an address");
	eth_u256_from_be(&id, l->topics[1], 32);
	eth_u256_to_dec(&id, job_id);
	if (l->data.len > CW_WATCH_MAX_LOG_DATA)
		return skip(w, l, LOG_ERROR, "JobCreated data larger than allowed");
	if (eth_abi_decode("(bytes32,bytes,uint256,address[])", l->data.data, l->data.len, &v,
			   &err) < 0) {
		log_msg(LOG_ERROR, "watch: job %s: JobCreated data: %s", job_id, buf_cstr(&err));
		buf_release(&err);
		return skip(w, l, LOG_ERROR, "undecodable JobCreated data");
	}
	sel = eth_abi_item(v, 3);
	n = eth_abi_count(sel);
	if (eth_abi_get_fbytes(eth_abi_item(v, 0), codehash, 32) < 0 ||
	    eth_abi_get_bytes(eth_abi_item(v, 1), &inputs, &ninputs) < 0 ||
	    eth_abi_get_u64(eth_abi_item(v, 2), &deadline) < 0 || deadline > INT64_MAX ||
	    eth_abi_kind(sel) != ETH_ABI_ARRAY) {
		r = skip(w, l, LOG_ERROR, "JobCreated field out of range");
		goto out;
	}
	if (ninputs > CW_WATCH_MAX_INPUTS) {
		r = skip(w, l, LOG_ERROR, "JobCreated codeInputs larger than allowed");
		goto out;
	}
	if (n > CW_WATCH_MAX_SELECTED) {
		r = skip(w, l, LOG_ERROR, "JobCreated selects too many executors");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char a[20];

		if (eth_abi_get_address(eth_abi_item(sel, i), a) < 0 || buf_add(&selected, a, 20) < 0) {
			r = log_err("watch: job %s: selected executors: out of memory", job_id);
			goto out;
		}
		if (!memcmp(a, w->enclave, 20))
			ours = 1;
	}
	state = "observed";
	if (ours) {
		if (status_at(w, l->block_number, l->log_index, &status, &any) < 0)
			goto out;
		if (!any) {
			state = "seen";
			log_msg(LOG_WARN, "watch: job %s selects us but no registration of ours was "
				"seen (start_block after it?): running it", job_id);
		} else {
			state = status == CW_EXEC_ACTIVE ? "seen" : "skipped";
		}
	}
	if (!(s = stmt(w, ST_JOB_PUT)))
		goto out;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, 1);
	sqlite3_bind_blob(s, 3, owner, 20, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 4, codehash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob64(s, 5, ninputs ? (const void *)inputs : "", ninputs, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)deadline);
	sqlite3_bind_blob64(s, 7, selected.len ? selected.data : "", selected.len, SQLITE_STATIC);
	sqlite3_bind_int(s, 8, ours);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)l->block_number);
	sqlite3_bind_blob(s, 10, l->block_hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 11, l->tx_hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 12, (sqlite3_int64)l->log_index);
	sqlite3_bind_int64(s, 13, (sqlite3_int64)block_time);
	sqlite3_bind_int64(s, 14, now_ms());
	sqlite3_bind_text(s, 15, state, -1, SQLITE_STATIC);
	if (step_done(w, s, "insert job") < 0)
		goto out;
	if (sqlite3_changes(w->db->h) > 0)
		log_msg(ours ? LOG_INFO : LOG_DEBUG, "watch: job %s stored as %s (deadline %" PRIu64
			" ms, %zu executor(s), %s)", job_id, state, deadline, n,
			where(l, at, sizeof(at)));
	w->logs_applied++;
	r = 0;
out:
	eth_abi_val_free(v);
	buf_release(&selected);
	return r;
}

static int apply_responded(struct cw_watch *w, const struct eth_rpc_log *l)
{
	unsigned char executor[20];
	struct eth_abi_val *v = NULL;
	struct buf err = BUF_INIT;
	struct eth_u256 id;
	char job_id[ETH_U256_DEC_SIZE], at[160];
	uint64_t code, count;
	sqlite3_stmt *s;
	int64_t now = now_ms();
	int bad;

	if (l->ntopics != 3)
		return skip(w, l, LOG_ERROR, "JobResponded with a wrong topic count");
	if (word_address(l->topics[2], executor) < 0)
		return skip(w, l, LOG_ERROR, "JobResponded executor topic is not an address");
	eth_u256_from_be(&id, l->topics[1], 32);
	eth_u256_to_dec(&id, job_id);
	if (l->data.len > CW_WATCH_MAX_LOG_DATA)
		return skip(w, l, LOG_ERROR, "JobResponded data larger than allowed");
	if (eth_abi_decode("(bytes,uint256,uint8,uint8)", l->data.data, l->data.len, &v, &err) < 0) {
		log_msg(LOG_ERROR, "watch: job %s: JobResponded data: %s", job_id, buf_cstr(&err));
		buf_release(&err);
		return skip(w, l, LOG_ERROR, "undecodable JobResponded data");
	}
	bad = eth_abi_get_u64(eth_abi_item(v, 2), &code) < 0 ||
	      eth_abi_get_u64(eth_abi_item(v, 3), &count) < 0;
	eth_abi_val_free(v);
	if (bad)
		return skip(w, l, LOG_ERROR, "JobResponded field out of range");

	/* Only responses to jobs we keep are stored (other envs, jobs before our start). */
	if (!(s = stmt(w, ST_RESP_PUT)))
		return -1;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, executor, 20, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)count);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)code);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)l->block_number);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)l->log_index);
	if (step_done(w, s, "insert job response") < 0)
		return -1;
	w->logs_applied++;
	if (sqlite3_changes(w->db->h) == 0)
		return 0; /* already applied, or not a job we keep */

	if (!(s = stmt(w, ST_JOB_RESPONSES)))
		return -1;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)count);
	sqlite3_bind_int64(s, 3, now);
	if (step_done(w, s, "update job responses") < 0)
		return -1;
	if (memcmp(executor, w->enclave, 20))
		return 0;
	if (!(s = stmt(w, ST_JOB_WE_RESPONDED)))
		return -1;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now);
	if (step_done(w, s, "update job we_responded") < 0)
		return -1;
	log_msg(LOG_INFO, "watch: job %s: our response is on chain (error code %" PRIu64
		", output %" PRIu64 ", %s)", job_id, code, count, where(l, at, sizeof(at)));
	return 0;
}

int cw_watch_apply_log(struct cw_watch *w, const struct eth_rpc_log *l, uint64_t block_time)
{
	int ev;

	if (l->removed)
		return skip(w, l, LOG_WARN, "marked removed");
	if (l->block_number > INT64_MAX || l->log_index > INT64_MAX || block_time > INT64_MAX)
		return skip(w, l, LOG_ERROR, "block number, log index or time out of range");
	if (l->ntopics < 1)
		return skip(w, l, LOG_ERROR, "no topic0");
	for (ev = 0; ev < CW_EV_COUNT; ev++)
		if (!memcmp(l->topics[0], w->topic[ev], 32))
			break;
	if (ev == CW_EV_COUNT)
		return skip(w, l, LOG_ERROR, "unknown event");
	if (memcmp(l->address, ev < CW_EV_JOB_CREATED ? w->executors : w->jobs, 20))
		return skip(w, l, LOG_ERROR, "event from a contract that does not emit it");
	switch (ev) {
	case CW_EV_JOB_CREATED:
		return apply_created(w, l, block_time);
	case CW_EV_JOB_RESPONDED:
		return apply_responded(w, l);
	default:
		return apply_exec(w, l, ev);
	}
}

/* ---- cursor, block hashes, reorgs ---------------------------------------- */

/* 1 and *next, 0 no cursor yet, -1 error. */
static int cursor_get(struct cw_watch *w, uint64_t *next)
{
	sqlite3_stmt *s = stmt(w, ST_CURSOR_GET);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(s, 0);
		*next = v > 0 ? (uint64_t)v : 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return log_err("watch: sqlite read cursor: %s", sqlite3_errmsg(w->db->h));
	return rc == SQLITE_ROW;
}

static int cursor_put(struct cw_watch *w, int id, uint64_t next)
{
	sqlite3_stmt *s = stmt(w, id);

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)next);
	return step_done(w, s, "write cursor");
}

struct blk {
	uint64_t number;
	unsigned char hash[32];
	uint64_t timestamp;
};

/* Stored block hashes below `below`, highest first (all of them when all != 0). */
static int hashes_below(struct cw_watch *w, uint64_t below, int all, struct blk **out, size_t *n)
{
	sqlite3_stmt *s = stmt(w, all ? ST_HASHES_DESC : ST_TOP_HASH);
	struct blk *v = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, below > INT64_MAX ? INT64_MAX : (sqlite3_int64)below);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(s, 1);
		sqlite3_int64 num = sqlite3_column_int64(s, 0);

		if (sqlite3_column_bytes(s, 1) != 32 || !h || num < 0)
			continue; /* not ours to interpret; never matches */
		if (*n == cap) {
			struct blk *t = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!t) {
				sqlite3_reset(s);
				free(v);
				return log_err("watch: out of memory");
			}
			v = t;
		}
		v[*n].number = (uint64_t)num;
		memcpy(v[*n].hash, h, 32);
		v[*n].timestamp = 0;
		(*n)++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(v);
		*n = 0;
		return log_err("watch: sqlite read block hashes: %s", sqlite3_errmsg(w->db->h));
	}
	*out = v;
	return 0;
}

static int exec_bound(struct cw_watch *w, const char *sql, uint64_t resume, int64_t now)
{
	sqlite3_stmt *s;
	int r;

	if (sqlite3_prepare_v2(w->db->h, sql, -1, &s, NULL) != SQLITE_OK)
		return log_err("watch: sqlite prepare: %s: %s", sqlite3_errmsg(w->db->h), sql);
	for (int i = 1; i <= sqlite3_bind_parameter_count(s); i++) {
		const char *name = sqlite3_bind_parameter_name(s, i);

		if (name && !strcmp(name, "?1"))
			sqlite3_bind_int64(s, i, (sqlite3_int64)resume);
		else if (name && !strcmp(name, "?2"))
			sqlite3_bind_blob(s, i, w->enclave, 20, SQLITE_TRANSIENT);
		else if (name && !strcmp(name, "?3"))
			sqlite3_bind_int64(s, i, now);
	}
	r = sqlite3_step(s) == SQLITE_DONE ? 0 : log_err("watch: sqlite %s: %s",
							 sqlite3_errmsg(w->db->h), sql);
	sqlite3_finalize(s);
	return r;
}

/* Log each submitted/confirmed job whose creation block is being undone. */
static int warn_kept_jobs(struct cw_watch *w, uint64_t resume)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(w->db->h,
			       "SELECT job_id, state FROM jobs WHERE block_number >= ?1"
			       " AND state IN ('submitted', 'confirmed')",
			       -1, &s, NULL) != SQLITE_OK)
		return log_err("watch: sqlite prepare: %s", sqlite3_errmsg(w->db->h));
	sqlite3_bind_int64(s, 1, (sqlite3_int64)resume);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		log_msg(LOG_WARN, "watch: reorg: job %s is %s but the block that created it is "
			"gone; keeping it (its transaction is out)",
			(const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return log_err("watch: sqlite read jobs: %s", sqlite3_errmsg(w->db->h));
	return 0;
}

/* Undo everything stored from block `resume` on, in one transaction. */
static int undo_from(struct cw_watch *w, uint64_t resume)
{
	static const char *const steps[] = {
		/* responses first: recompute the touched jobs from what remains */
		"UPDATE jobs SET"
		" responses = COALESCE((SELECT MAX(r.output_count) FROM job_responses r"
		"  WHERE r.job_id = jobs.job_id AND r.block_number < ?1), 0),"
		" we_responded = EXISTS (SELECT 1 FROM job_responses r"
		"  WHERE r.job_id = jobs.job_id AND r.block_number < ?1 AND r.executor = ?2),"
		" updated = ?3"
		" WHERE job_id IN (SELECT job_id FROM job_responses WHERE block_number >= ?1)",
		"UPDATE jobs SET state = 'submitted', note = 'response reorged', updated = ?3"
		" WHERE state = 'confirmed' AND we_responded = 0 AND job_id IN"
		" (SELECT job_id FROM job_responses WHERE block_number >= ?1 AND executor = ?2)",
		"DELETE FROM job_responses WHERE block_number >= ?1",
		"DELETE FROM executor_events WHERE block_number >= ?1",
		"DELETE FROM jobs WHERE block_number >= ?1"
		" AND state IN ('observed', 'seen', 'skipped')",
		"UPDATE jobs SET state = 'dropped', note = 'reorged', updated = ?3"
		" WHERE block_number >= ?1 AND state IN ('claimed', 'executed', 'failed', 'expired')",
		"UPDATE jobs SET note = 'creation block reorged', updated = ?3"
		" WHERE block_number >= ?1 AND state IN ('submitted', 'confirmed')",
		"DELETE FROM block_hashes WHERE number >= ?1",
	};
	int64_t now = now_ms();

	if (sql_exec(w->db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (warn_kept_jobs(w, resume) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (exec_bound(w, steps[i], resume, now) < 0)
			goto fail;
	if (cursor_put(w, ST_CURSOR_SET, resume) < 0 || sql_exec(w->db, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	rollback(w->db);
	return -1;
}

struct anchor {
	int have;
	uint64_t number;
	unsigned char hash[32];
};

/*
 * Compare the highest stored block below *next with the chain; on a
 * mismatch find the common ancestor and undo past it.  0 go on (anchor set
 * when there is one), 1 wait (the node lacks our block), -1 error.
 */
static int reorg_check(struct cw_watch *w, uint64_t *next, struct anchor *a)
{
	struct blk *v = NULL;
	unsigned char cur[32];
	uint64_t resume, changed;
	size_t n, i;
	int rc, found = 0;

	a->have = 0;
	if (hashes_below(w, *next, 0, &v, &n) < 0)
		return -1;
	if (!n) {
		free(v);
		return 0;
	}
	a->number = v[0].number;
	memcpy(a->hash, v[0].hash, 32);
	free(v);
	rc = eth_rpc_get_block_hash(w->rpc, a->number, cur);
	if (rc < 0) {
		log_msg(LOG_WARN, "watch: cannot read block %" PRIu64 " for the reorg check",
			a->number);
		return -1;
	}
	if (rc == 0) {
		log_msg(LOG_WARN, "watch: the node does not have block %" PRIu64
			" that we processed (head %" PRIu64 "): waiting for it", a->number, w->head);
		return 1;
	}
	if (!memcmp(cur, a->hash, 32)) {
		a->have = 1;
		return 0;
	}

	/* Reorg: walk down the stored hashes to the common ancestor. */
	changed = a->number;
	if (hashes_below(w, *next, 1, &v, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		rc = eth_rpc_get_block_hash(w->rpc, v[i].number, cur);
		if (rc < 0) {
			log_msg(LOG_WARN, "watch: reorg: cannot read block %" PRIu64, v[i].number);
			free(v);
			return -1;
		}
		if (rc == 1 && !memcmp(cur, v[i].hash, 32)) {
			found = 1;
			break;
		}
	}
	if (found) {
		resume = v[i].number + 1;
		a->have = 1;
		a->number = v[i].number;
		memcpy(a->hash, v[i].hash, 32);
	} else {
		/* Deeper than the hashes we keep: redo from the oldest one. */
		resume = v[n - 1].number;
		log_msg(LOG_ERROR, "watch: reorg deeper than the %zu block hashes kept (oldest %"
			PRIu64 "): redoing from there", n, resume);
	}
	free(v);
	if (resume > *next)
		resume = *next;
	log_msg(LOG_WARN, "watch: reorg: block %" PRIu64 " changed, common ancestor %s%" PRIu64
		"; undoing blocks %" PRIu64 "..%" PRIu64 " (depth %" PRIu64 ")", changed,
		found ? "" : "below ", resume - 1, resume, *next - 1, *next - resume);
	if (undo_from(w, resume) < 0)
		return -1;
	w->reorgs++;
	w->last_reorg_depth = *next - resume;
	*next = resume;
	return 0;
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

	if (sql_exec(w->db, "BEGIN IMMEDIATE") < 0)
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
		if (!(s = stmt(w, ST_HASH_PUT)))
			goto fail;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)blks[i].number);
		sqlite3_bind_blob(s, 2, blks[i].hash, 32, SQLITE_TRANSIENT);
		if (step_done(w, s, "store block hash") < 0)
			goto fail;
	}
	if (to > CW_WATCH_KEEP_BLOCKS) {
		if (!(s = stmt(w, ST_HASH_PRUNE)))
			goto fail;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)(to - CW_WATCH_KEEP_BLOCKS));
		if (step_done(w, s, "prune block hashes") < 0)
			goto fail;
	}
	if (cursor_put(w, ST_CURSOR_SET, to + 1) < 0 || sql_exec(w->db, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	rollback(w->db);
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

	rc = cursor_get(w, &next);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		next = w->start_block ? w->start_block : safe;
		/* Written now, so a failing first tick cannot move the start later. */
		if (cursor_put(w, ST_CURSOR_INIT, next) < 0 || cursor_get(w, &next) != 1)
			return -1;
		log_msg(LOG_INFO, "watch: new database: following the chain from block %" PRIu64
			"%s", next, w->start_block ? "" : " (the safe head: start_block = 0)");
	}
	w->next_block = next;

	rc = reorg_check(w, &next, &anchor);
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
