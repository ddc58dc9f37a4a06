/* The sender's steps 3 and 4: submissions and slashes.  See cw_sender_int.h. */
#include "cw_sender_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "log.h"
#include "eth/eth_abi.h"
#include "eth/eth_hex.h"
#include "eth/eth_tx.h"
#include "eth/eth_u256.h"
#include "banned.h"

/* ---- step 3: submissions ------------------------------------------------ */

static int estimate(struct cw_sender *s, const struct buf *cd, uint64_t *gas)
{
	return eth_rpc_estimate_gas(s->rpc, s->gas.addr, s->jobs_addr,
				    (const unsigned char *)cd->data, cd->len, gas);
}

/* "the node's message (JobsError())" for notes. */
static void revert_note(const struct eth_rpc_error *e, const char *what, char *out, size_t n)
{
	const char *name = cws_revert_name(e);

	snprintf(out, n, "%s reverted at estimation: %s%s%s%s", what, e->message,
		 name ? " (" : "", name ? name : "", name ? ")" : "");
}

static int submit_calldata(const char *job_id, sqlite3_stmt *st, struct buf *cd)
{
	struct eth_u256 id;
	struct eth_abi_val *t;
	const void *sig = sqlite3_column_blob(st, 7), *out = sqlite3_column_blob(st, 3);
	int64_t code = sqlite3_column_int64(st, 4), total = sqlite3_column_int64(st, 5);
	int64_t ts = sqlite3_column_int64(st, 6);
	int rc;

	if (eth_u256_from_dec(&id, job_id, strlen(job_id), NULL) < 0)
		return -1;
	if (!sig || sqlite3_column_bytes(st, 7) != 65 || sqlite3_column_type(st, 4) == SQLITE_NULL ||
	    code < 0 || code > 255 || total < 0 || ts <= 0 ||
	    sqlite3_column_type(st, 6) == SQLITE_NULL)
		return -1;
	t = eth_abi_val_tuple();
	eth_abi_append(t, eth_abi_val_bytes(sig, 65));
	eth_abi_append(t, eth_abi_val_uint(&id));
	eth_abi_append(t, eth_abi_val_bytes(out ? out : "", (size_t)sqlite3_column_bytes(st, 3)));
	eth_abi_append(t, eth_abi_val_uint_u64((uint64_t)total));
	eth_abi_append(t, eth_abi_val_uint_u64((uint64_t)code));
	eth_abi_append(t, eth_abi_val_uint_u64((uint64_t)ts));
	rc = eth_abi_encode_call(SUBMIT_SIG, t, cd);
	eth_abi_val_free(t);
	return rc;
}

/* One executed job: 0 done (sent or settled), 1 stop this tick, -1 error. */
static int submit_one(struct cw_sender *s, int64_t rowid, int64_t now)
{
	char job[JOB_ID_MAX], note[700];
	struct buf cd = BUF_INIT;
	sqlite3_stmt *row;
	int64_t end;
	uint64_t gas;
	int rc;

	row = cws_prep(s, "SELECT job_id, block_time, deadline_ms, output, error_code, total_time,"
		      " sign_timestamp, signature FROM jobs WHERE rowid = ?1 AND state = 'executed'");
	if (!row)
		return -1;
	sqlite3_bind_int64(row, 1, rowid);
	rc = sqlite3_step(row);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(row);
		if (rc == SQLITE_DONE)
			return 0; /* moved meanwhile */
		return log_err("cw_sender: sqlite select job: %s", sqlite3_errmsg(s->db->h));
	}
	cws_column_text(row, 0, job, sizeof(job));
	end = cws_window_end_ms(s, sqlite3_column_int64(row, 1), sqlite3_column_int64(row, 2));
	if (now > end) {
		sqlite3_finalize(row);
		log_msg(LOG_INFO, "cw_sender: job %s expired before it could be submitted"
			" (window closed %" PRId64 " ms ago)", job, now - end);
		return cws_job_settle(s, job, "state", "executed", "expired",
				  "not submitted before deadline + buffer") < 0 ? -1 : 0;
	}
	rc = submit_calldata(job, row, &cd);
	sqlite3_finalize(row);
	if (rc < 0) {
		buf_release(&cd);
		log_err("cw_sender: job %s: stored result cannot be encoded", job);
		return cws_job_settle(s, job, "state", "executed", "failed",
				  "stored result cannot be encoded") < 0 ? -1 : 0;
	}
	rc = estimate(s, &cd, &gas);
	if (rc < 0) {
		const struct eth_rpc_error *e = eth_rpc_last_error(s->rpc);

		buf_release(&cd);
		if (!cws_is_revert(rc, e))
			return log_err("cw_sender: job %s: gas estimation failed: %s", job, e->message);
		revert_note(e, "submitOutput", note, sizeof(note));
		log_msg(LOG_INFO, "cw_sender: job %s not submitted: %s", job, note);
		return cws_job_settle(s, job, "state", "executed", "failed", note) < 0 ? -1 : 0;
	}
	rc = cws_send_new(s, "submit", job, (const unsigned char *)cd.data, cd.len, gas);
	buf_release(&cd);
	return rc;
}

int cws_submissions(struct cw_sender *s)
{
	int64_t *ids = NULL, now = cws_now_ms();
	size_t n = 0;
	sqlite3_stmt *st;
	int r = 0;

	st = cws_prep(s, "SELECT rowid FROM jobs WHERE state = 'executed' AND ours = 1"
		     " ORDER BY block_number, log_index LIMIT ?1");
	if (st)
		sqlite3_bind_int(st, 1, MAX_BATCH);
	if (cws_collect_ids(s, st, &ids, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && !s->stopped; i++) {
		int x = submit_one(s, ids[i], now);

		if (x != 0) {
			r = x < 0 ? -1 : 0;
			break;
		}
	}
	free(ids);
	return r;
}

/* ---- step 4: slashing ---------------------------------------------------- */

/* One job whose window closed: 0 done, 1 stop this tick, -1 error. */
static int slash_one(struct cw_sender *s, int64_t rowid)
{
	struct buf cd = BUF_INIT;
	struct eth_u256 id;
	struct eth_abi_val *t;
	sqlite3_stmt *st;
	char job[JOB_ID_MAX], note[700];
	int64_t count, responses;
	uint64_t gas;
	int rc;

	st = cws_prep(s, "SELECT job_id, length(selected), responses FROM jobs"
		     " WHERE rowid = ?1 AND slash_state = 'pending'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			return 0;
		return log_err("cw_sender: sqlite select job: %s", sqlite3_errmsg(s->db->h));
	}
	cws_column_text(st, 0, job, sizeof(job));
	count = sqlite3_column_int64(st, 1) / 20;
	responses = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);

	if (responses >= count) {
		log_msg(LOG_DEBUG, "cw_sender: job %s: all %" PRId64 " executors answered", job, count);
		return cws_job_settle(s, job, "slash_state", "pending", "done", NULL) < 0 ? -1 : 0;
	}
	if (eth_u256_from_dec(&id, job, strlen(job), NULL) < 0)
		return cws_job_settle(s, job, "slash_state", "pending", "skipped", "bad job id") < 0 ? -1 : 0;
	t = eth_abi_val_tuple();
	eth_abi_append(t, eth_abi_val_uint(&id));
	rc = eth_abi_encode_call(SLASH_SIG, t, &cd);
	eth_abi_val_free(t);
	if (rc < 0) {
		buf_release(&cd);
		return -1;
	}
	rc = estimate(s, &cd, &gas);
	if (rc < 0) {
		const struct eth_rpc_error *e = eth_rpc_last_error(s->rpc);
		const char *name = cws_revert_name(e);

		buf_release(&cd);
		if (!cws_is_revert(rc, e))
			return log_err("cw_sender: job %s: slash gas estimation failed: %s", job, e->message);
		if (name && !strcmp(name, "JobsDeadlineNotOver()")) {
			/* The chain's clock is behind ours: try again later. */
			log_msg(LOG_DEBUG, "cw_sender: job %s: chain says the deadline is not over yet", job);
			return 0;
		}
		/* Someone else slashed first, or everybody answered: normal. */
		revert_note(e, "slashOnExecutionTimeout", note, sizeof(note));
		log_msg(LOG_INFO, "cw_sender: job %s: no slash: %s", job, note);
		return cws_job_settle(s, job, "slash_state", "pending", "skipped", NULL) < 0 ? -1 : 0;
	}
	rc = cws_send_new(s, "slash", job, (const unsigned char *)cd.data, cd.len, gas);
	buf_release(&cd);
	return rc;
}

int cws_slashes(struct cw_sender *s)
{
	int64_t *ids = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int r = 0;

	st = cws_prep(s, "SELECT rowid FROM jobs WHERE slash_state = 'pending'"
		     " AND block_time * 1000 + deadline_ms + ?1 * 1000 + ?2 <= ?3"
		     " ORDER BY block_number, log_index LIMIT ?4");
	if (st) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)s->buffer_s);
		sqlite3_bind_int64(st, 2, CW_SENDER_SLASH_DELAY_MS);
		sqlite3_bind_int64(st, 3, cws_now_ms());
		sqlite3_bind_int(st, 4, MAX_BATCH);
	}
	if (cws_collect_ids(s, st, &ids, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && !s->stopped; i++) {
		int x = slash_one(s, ids[i]);

		if (x != 0) {
			r = x < 0 ? -1 : 0;
			break;
		}
	}
	free(ids);
	return r;
}
