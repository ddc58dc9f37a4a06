/*
 * The chain watcher: applying one log (executor events, JobCreated,
 * JobResponded) inside the tick's transaction.  See cw_watch.c for the
 * rules every write follows.
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

static const char *const exec_kind[] = {
	[CW_EV_REGISTERED] = "registered",
	[CW_EV_DEREGISTERED] = "deregistered",
	[CW_EV_DRAINED] = "drained",
	[CW_EV_REVIVED] = "revived",
};

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
	if (!(s = cww_stmt(w, ST_EXEC_PUT)))
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)l->block_number);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)l->log_index);
	sqlite3_bind_text(s, 3, exec_kind[ev], -1, SQLITE_STATIC);
	if (ev == CW_EV_REGISTERED) {
		sqlite3_bind_blob(s, 4, owner, 20, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)capacity);
	}
	if (cww_step_done(w, s, "insert executor event") < 0)
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
		if (cww_status_at(w, l->block_number, l->log_index, &status, &any) < 0)
			goto out;
		if (!any) {
			state = "seen";
			log_msg(LOG_WARN, "watch: job %s selects us but no registration of ours was "
				"seen (start_block after it?): running it", job_id);
		} else {
			state = status == CW_EXEC_ACTIVE ? "seen" : "skipped";
		}
	}
	if (!(s = cww_stmt(w, ST_JOB_PUT)))
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
	sqlite3_bind_int64(s, 14, cww_now_ms());
	sqlite3_bind_text(s, 15, state, -1, SQLITE_STATIC);
	if (cww_step_done(w, s, "insert job") < 0)
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
	int64_t now = cww_now_ms();
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
	if (!(s = cww_stmt(w, ST_RESP_PUT)))
		return -1;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, executor, 20, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)count);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)code);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)l->block_number);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)l->log_index);
	if (cww_step_done(w, s, "insert job response") < 0)
		return -1;
	w->logs_applied++;
	if (sqlite3_changes(w->db->h) == 0)
		return 0; /* already applied, or not a job we keep */

	if (!(s = cww_stmt(w, ST_JOB_RESPONSES)))
		return -1;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)count);
	sqlite3_bind_int64(s, 3, now);
	if (cww_step_done(w, s, "update job responses") < 0)
		return -1;
	if (memcmp(executor, w->enclave, 20))
		return 0;
	if (!(s = cww_stmt(w, ST_JOB_WE_RESPONDED)))
		return -1;
	sqlite3_bind_text(s, 1, job_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now);
	if (cww_step_done(w, s, "update job we_responded") < 0)
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
