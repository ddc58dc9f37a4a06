#include "cw_runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "eth_eip712.h"
#include "eth_hex.h"
#include "eth_u256.h"
#include "log.h"
#include "sb_conf.h"
#include "txcode.h"
#include "banned.h"

struct claimed {
	char job_id[80];
	unsigned char codehash[32];
	struct buf inputs;
	int64_t deadline_ms;
	int64_t seen_at;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int cw_runner_init(struct cw_runner *r, const struct conf *c, struct db *db, struct eth_rpc *rpc,
		   const struct eth_key *enclave, unsigned index)
{
	struct sb_config sbc;

	/* The runners use the node's sandbox mode: in pool mode each runner's
	 * job slot keeps its warm workerd, like an HTTP slot. */
	sb_config_from_conf(&sbc, c, "job", CW_MAX_OUTPUT);
	memset(r, 0, sizeof(*r));
	r->conf = c;
	r->db = db;
	r->rpc = rpc;
	r->enclave = enclave;
	r->index = index;
	/*
	 * The lease owner is the runner's index, not its pid: a runner
	 * restarted after a crash takes its own unfinished claim back at once
	 * instead of waiting for the lease to run out.  Only one runner with
	 * this index exists at a time (the master restarts it after it died,
	 * and children die with the master).
	 */
	snprintf(r->name, sizeof(r->name), "runner%u", index);
	if (eth_hex_decode(c->code_contract, strlen(c->code_contract), r->code_contract, 20, NULL) < 0)
		return log_err("code_contract is not configured");
	if (sb_slot_open(&r->slot, &sbc, index) < 0)
		return -1;
	r->have_slot = 1;
	{
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db->h,
				       "UPDATE jobs SET state = 'seen', lease_owner = NULL, lease_until = NULL,"
				       " note = 'runner restarted; retried' WHERE state = 'claimed' AND lease_owner = ?1",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db->h) > 0)
				log_msg(LOG_WARN, "%s: took back %d job(s) it held before a restart", r->name,
					sqlite3_changes(db->h));
			sqlite3_finalize(st);
		}
	}
	return 0;
}

void cw_runner_release(struct cw_runner *r)
{
	if (r->have_slot)
		sb_slot_close(&r->slot);
	r->have_slot = 0;
}

static int exec_sql(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("sqlite %s: %s", sql, msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* 1 claimed (j filled), 0 nothing claimable, -1 error. */
static int claim(struct cw_runner *r, struct claimed *j)
{
	sqlite3_stmt *st = NULL;
	int64_t now = wall_ms();
	int rc, res = -1;

	if (exec_sql(r->db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (sqlite3_prepare_v2(r->db->h,
			       "SELECT job_id, codehash, code_inputs, deadline_ms, seen_at FROM jobs"
			       " WHERE ours = 1 AND (state = 'seen' OR (state = 'claimed' AND lease_until < ?1))"
			       " ORDER BY block_number, log_index LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		log_err("sqlite prepare: %s", sqlite3_errmsg(r->db->h));
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		res = 0;
		goto out;
	}
	if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 1) != 32) {
		log_err("sqlite claim: %s", sqlite3_errmsg(r->db->h));
		goto out;
	}
	snprintf(j->job_id, sizeof(j->job_id), "%s", (const char *)sqlite3_column_text(st, 0));
	memcpy(j->codehash, sqlite3_column_blob(st, 1), 32);
	buf_add(&j->inputs, sqlite3_column_blob(st, 2) ? sqlite3_column_blob(st, 2) : "",
		(size_t)sqlite3_column_bytes(st, 2));
	j->deadline_ms = sqlite3_column_int64(st, 3);
	j->seen_at = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(r->db->h,
			       "UPDATE jobs SET state = 'claimed', lease_owner = ?2, lease_until = ?3,"
			       " claims = claims + 1, started_at = COALESCE(started_at, ?4), updated = ?4"
			       " WHERE job_id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, j->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, j->seen_at + j->deadline_ms + r->conf->job_lease_ms);
	sqlite3_bind_int64(st, 4, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_err("sqlite claim update: %s", sqlite3_errmsg(r->db->h));
		goto out;
	}
	res = 1;
out:
	if (st)
		sqlite3_finalize(st);
	if (exec_sql(r->db, res >= 0 ? "COMMIT" : "ROLLBACK") < 0)
		res = -1;
	return res;
}

/* Give the claim back (host trouble): another tick or runner takes it again. */
static void unclaim(struct cw_runner *r, const char *job_id, const char *why)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(r->db->h,
			       "UPDATE jobs SET state = 'seen', lease_owner = NULL, lease_until = NULL,"
			       " note = ?3, updated = ?4 WHERE job_id = ?1 AND state = 'claimed' AND lease_owner = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, wall_ms());
	sqlite3_step(st);
	sqlite3_finalize(st);
}

struct result {
	enum cw_error_code code;
	struct buf output;
	int worker_status;
	const char *note;
	/* where the time went, for the log line (bench/chain-latency.sh reads it) */
	int64_t fetch_ms, sandbox_us, start_wait_ms, sign_us;
};

/* Fetch the code, retrying RPC trouble until the deadline. */
static enum txcode_status fetch_code(struct cw_runner *r, const struct claimed *j, int64_t deadline,
				     struct code *c, struct buf *err)
{
	unsigned char id[32];
	unsigned backoff = 100;
	enum txcode_status st;

	for (;;) {
		int64_t left = deadline - wall_ms();

		buf_reset(err);
		if (left <= 0)
			return TXCODE_RPC_ERROR;
		eth_rpc_set_deadline(r->rpc, eth_rpc_now_ms() + (uint64_t)left);
		st = txcode_fetch(r->db, r->rpc, j->codehash, r->code_contract,
				  (size_t)r->conf->max_code_bytes, c, id, err);
		eth_rpc_set_deadline(r->rpc, 0);
		if (st != TXCODE_RPC_ERROR && st != TXCODE_INTERNAL)
			return st;
		log_msg(LOG_WARN, "job %s: code fetch failed (%s), retrying", j->job_id, buf_cstr(err));
		if ((int64_t)backoff >= deadline - wall_ms())
			return st;
		usleep(backoff * 1000);
		backoff = backoff < 2000 ? backoff * 2 : 2000;
	}
}

static int run_job(struct cw_runner *r, const struct claimed *j, struct result *res)
{
	int64_t deadline = j->seen_at + j->deadline_ms, left;
	struct code code;
	struct buf err = BUF_INIT;
	struct sb_result sr;
	struct sb_request req = { "POST", "/", NULL, 0, buf_cstr(&j->inputs), j->inputs.len };
	struct buf idhex = BUF_INIT;
	enum txcode_status st;
	int rc = 0;

	code_init(&code);
	sb_result_init(&sr);
	res->code = CW_DEADLINE;
	if (deadline <= wall_ms()) {
		res->note = "deadline passed before the job could start";
		goto out;
	}
	res->fetch_ms = wall_ms();
	st = fetch_code(r, j, deadline, &code, &err);
	res->fetch_ms = wall_ms() - res->fetch_ms;
	switch (st) {
	case TXCODE_OK:
		break;
	case TXCODE_NOT_FOUND:
	case TXCODE_WRONG_CONTRACT:
		res->code = CW_CODE_TX_MISSING;
		res->note = "code transaction missing or sent to another contract";
		log_msg(LOG_INFO, "job %s: %s", j->job_id, buf_cstr(&err));
		goto out;
	case TXCODE_BAD_CALLDATA:
	case TXCODE_TOO_LARGE:
		res->code = CW_BAD_CALLDATA;
		res->note = "code transaction calldata is not a valid saveCodeInCallData call";
		log_msg(LOG_INFO, "job %s: %s", j->job_id, buf_cstr(&err));
		goto out;
	default:
		res->note = "the code could not be fetched before the deadline";
		goto out;
	}
	left = deadline - wall_ms();
	if (left <= 0) {
		res->note = "deadline passed while fetching the code";
		goto out;
	}
	/* isolate_reuse = all lets chain code keep its isolate too (pool mode). */
	if (!strcmp(r->conf->isolate_reuse, "all"))
		code_id_hex(&code, &idhex);
	if (sb_run_keyed(&r->slot, &code, sb_reuse_key(r->conf, buf_cstr(&idhex), 0), &req,
			 (unsigned)left, &sr) < 0) {
		rc = -1; /* host trouble: give the job back */
		goto out;
	}
	res->sandbox_us = (int64_t)sr.wall_us;
	res->start_wait_ms = (int64_t)sr.start_wait_ms;
	switch (sr.outcome) {
	case SB_OK:
	case SB_EXCEPTION:
		/* Like the original: any worker answer is the output, its status is only recorded. */
		res->code = CW_OK;
		res->worker_status = sr.http.status;
		buf_add(&res->output, buf_cstr(&sr.http.body), sr.http.body.len);
		if (sr.outcome == SB_EXCEPTION)
			res->note = "uncaught exception in the worker";
		break;
	case SB_TOO_LARGE:
		res->code = CW_OUTPUT_TOO_LARGE;
		res->note = "output larger than 20480 bytes";
		break;
	case SB_LOAD_FAILED:
		res->code = CW_CODE_LOAD_FAILED;
		res->note = "code failed to load";
		break;
	case SB_TIMEOUT:
		res->code = CW_DEADLINE;
		res->note = "deadline exceeded";
		break;
	default:
		/* OOM or crash: no worker answer; code 0 with an empty output, the reason recorded. */
		res->code = CW_OK;
		res->note = sr.outcome == SB_OOM ? "killed: out of memory" : "workerd crashed";
		break;
	}
out:
	code_release(&code);
	sb_result_release(&sr);
	buf_release(&err);
	buf_release(&idhex);
	return rc;
}

static int store_result(struct cw_runner *r, const struct claimed *j, struct result *res)
{
	struct eth_u256 id;
	unsigned char digest[32], sig[65];
	int64_t now = wall_ms();
	int64_t total = now - j->seen_at;
	uint64_t ts = (uint64_t)(now / 1000);
	sqlite3_stmt *st;
	int rc = -1;

	if (res->code == CW_DEADLINE || total > j->deadline_ms)
		total = j->deadline_ms;
	if (total < 0)
		total = 0;
	if (res->code != CW_OK)
		buf_reset(&res->output);
	if (eth_u256_from_dec(&id, j->job_id, strlen(j->job_id), NULL) < 0)
		return log_err("job id %s is not a number", j->job_id);
	eth_eip712_submit_output_digest(&id, buf_cstr(&res->output), res->output.len, (uint64_t)total,
					(uint8_t)res->code, ts, digest);
	res->sign_us = (int64_t)mono_us();
	if (eth_sign_digest(r->enclave, digest, sig) < 0)
		return log_err("job %s: signing failed", j->job_id);
	res->sign_us = (int64_t)mono_us() - res->sign_us;
	if (sqlite3_prepare_v2(r->db->h,
			       "UPDATE jobs SET state = 'executed', output = ?3, error_code = ?4, total_time = ?5,"
			       " worker_status = ?6, sign_timestamp = ?7, signature = ?8, note = ?9,"
			       " finished_at = ?10, updated = ?10, lease_until = NULL"
			       " WHERE job_id = ?1 AND state = 'claimed' AND lease_owner = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(r->db->h));
	sqlite3_bind_text(st, 1, j->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, buf_cstr(&res->output), (int)res->output.len, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, res->code);
	sqlite3_bind_int64(st, 5, total);
	sqlite3_bind_int(st, 6, res->worker_status);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)ts);
	sqlite3_bind_blob(st, 8, sig, 65, SQLITE_STATIC);
	if (res->note)
		sqlite3_bind_text(st, 9, res->note, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_int64(st, 10, now);
	if (sqlite3_step(st) == SQLITE_DONE) {
		rc = 0;
		if (sqlite3_changes(r->db->h) == 0)
			log_msg(LOG_WARN, "job %s was taken from this runner meanwhile (reorg or lease); result dropped",
				j->job_id);
	} else {
		log_err("sqlite store result: %s", sqlite3_errmsg(r->db->h));
	}
	sqlite3_finalize(st);
	if (rc == 0)
		log_msg(LOG_INFO, "job %s executed: error_code %d, %zu output bytes, total_time %lld ms"
			" (code fetch %lld ms, sandbox %lld us of which start wait %lld ms, signing %lld us)%s%s",
			j->job_id, res->code, res->output.len, (long long)total, (long long)res->fetch_ms,
			(long long)res->sandbox_us, (long long)res->start_wait_ms, (long long)res->sign_us,
			res->note ? ": " : "", res->note ? res->note : "");
	return rc;
}

int cw_runner_tick(struct cw_runner *r)
{
	struct claimed j;
	struct result res;
	int rc;

	memset(&j, 0, sizeof(j));
	buf_init(&j.inputs);
	memset(&res, 0, sizeof(res));
	buf_init(&res.output);
	rc = claim(r, &j);
	if (rc <= 0)
		goto out;
	log_msg(LOG_INFO, "job %s claimed by %s (deadline %lld ms)", j.job_id, r->name,
		(long long)j.deadline_ms);
	if (run_job(r, &j, &res) < 0) {
		unclaim(r, j.job_id, "sandbox failure; retrying");
		rc = -1;
		goto out;
	}
	rc = store_result(r, &j, &res) < 0 ? -1 : 1;
out:
	sb_slot_finish(&r->slot); /* the run's workerd goes once its result is stored */
	buf_release(&j.inputs);
	buf_release(&res.output);
	return rc;
}
