/* The sender's small helpers: time, arithmetic, error classes, SQL.  See cw_sender_int.h. */
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

/* Custom errors of contracts/Jobs.sol, named in notes and logs. */
static const char *const jobs_errors[] = {
	"JobsUnknownJob()", "JobsJobClosed()", "JobsDeadlineOver()",
	"JobsDeadlineNotOver()", "JobsSignatureTooOld()", "JobsInvalidSignature()",
	"JobsNotSelectedExecutor()", "JobsAlreadySubmitted()", "JobsNothingToSlash()",
};

/* ---- small helpers ------------------------------------------------------ */

int64_t cws_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Last unix ms at which Jobs accepts an output for the job. */
int64_t cws_window_end_ms(const struct cw_sender *s, int64_t block_time, int64_t deadline_ms)
{
	return sat_add(sat_add(sat_mul(block_time, 1000), deadline_ms),
		       sat_mul((int64_t)s->buffer_s, 1000));
}

/* floor or ceil(a * m / d), and it must fit the INTEGER columns. */
int cws_mul_div(uint64_t a, uint64_t m, uint64_t d, int ceil, uint64_t *out)
{
	struct eth_u256 x;

	eth_u256_from_u64(&x, a);
	if (eth_u256_muldiv_u64(&x, &x, m, d, ceil) < 0 || eth_u256_to_u64(&x, out) < 0 ||
	    *out > INT64_MAX)
		return -1;
	return 0;
}

uint64_t cws_max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

char *cws_hash_hex(const unsigned char h[32], char out[ETH_HEX_STR_SIZE(32)])
{
	return eth_hex_str(out, ETH_HEX_STR_SIZE(32), h, 32);
}

/* The name of a Jobs custom error in a revert's data, or NULL. */
const char *cws_revert_name(const struct eth_rpc_error *e)
{
	unsigned char sel[4], want[4];
	size_t n = strlen(e->data);

	if (n < 10 || eth_hex_decode(e->data, 10, sel, 4, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < sizeof(jobs_errors) / sizeof(jobs_errors[0]); i++) {
		eth_abi_selector(jobs_errors[i], want);
		if (!memcmp(sel, want, 4))
			return jobs_errors[i];
	}
	return NULL;
}

/* A revert during estimation: the node refuses the call as it stands. */
int cws_is_revert(int rc, const struct eth_rpc_error *e)
{
	return rc == ETH_RPC_E_REMOTE && strcasestr(e->message, "revert");
}

enum send_outcome cws_classify(int rc, const struct eth_rpc_error *e)
{
	static const char *const fee[] = {
		"underpriced", "fee too low", "gas price too low", "less than block base fee",
		"replacement transaction", "feecap", "fee cap",
	};
	const char *m = e->message;

	if (rc == 0)
		return SEND_OK;
	if (rc != ETH_RPC_E_REMOTE)
		return SEND_UNKNOWN;
	if (strcasestr(m, "already known") || strcasestr(m, "already imported") ||
	    strcasestr(m, "known transaction") || strcasestr(m, "already exists"))
		return SEND_KNOWN;
	if (strcasestr(m, "nonce too low"))
		return SEND_NONCE_LOW;
	for (size_t i = 0; i < sizeof(fee) / sizeof(fee[0]); i++)
		if (strcasestr(m, fee[i]))
			return SEND_UNDERPRICED;
	if (strcasestr(m, "insufficient funds"))
		return SEND_NO_FUNDS;
	return SEND_REFUSED;
}

/*
 * ---- SQL helpers --------------------------------------------------------
 * Statements bind a fixed set of numbered parameters even when a variant
 * of the SQL leaves a lower-numbered one out: SQLite allocates every slot
 * up to the highest ?N used, so such a bind is harmless.
 */

sqlite3_stmt *cws_prep(struct cw_sender *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("cw_sender: sqlite prepare: %s (%s)", sqlite3_errmsg(s->db->h), sql);
		return NULL;
	}
	return st;
}

/* Step a statement that returns no rows, finalize it: changes or -1. */
int cws_run(struct cw_sender *s, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return log_err("cw_sender: sqlite: %s", sqlite3_errmsg(s->db->h));
	return sqlite3_changes(s->db->h);
}

static int exec_sql(struct cw_sender *s, const char *sql)
{
	return cws_run(s, cws_prep(s, sql));
}

int cws_begin(struct cw_sender *s)
{
	return exec_sql(s, "BEGIN IMMEDIATE") < 0 ? -1 : 0;
}

int cws_commit(struct cw_sender *s)
{
	if (exec_sql(s, "COMMIT") < 0) {
		exec_sql(s, "ROLLBACK");
		return -1;
	}
	return 0;
}

int cws_rollback(struct cw_sender *s)
{
	exec_sql(s, "ROLLBACK");
	return -1;
}

void cws_column_text(sqlite3_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* The job's chain window: 1 found, 0 no such job, -1 error. */
int cws_job_window(struct cw_sender *s, const char *job_id, int64_t *end)
{
	sqlite3_stmt *st = cws_prep(s, "SELECT block_time, deadline_ms FROM jobs WHERE job_id = ?1");
	int rc, r = -1;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*end = cws_window_end_ms(s, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		log_err("cw_sender: sqlite select job %s: %s", job_id, sqlite3_errmsg(s->db->h));
	}
	sqlite3_finalize(st);
	return r;
}

/* Settle a job without a transaction: state or slash_state, from -> to. */
int cws_job_settle(struct cw_sender *s, const char *job_id, const char *column,
		      const char *from, const char *to, const char *note)
{
	char sql[256];
	sqlite3_stmt *st;

	/* pasted into SQL: only the two columns a job is settled by, never data */
	if (strcmp(column, "state") && strcmp(column, "slash_state"))
		return log_err("cw_sender: cannot settle job %s by column '%s'", job_id, column);
	snprintf(sql, sizeof(sql),
		 "UPDATE jobs SET %s = ?3, note = COALESCE(?4, note), updated = ?5"
		 " WHERE job_id = ?1 AND %s = ?2", column, column);
	if (!(st = cws_prep(s, sql)))
		return -1;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	if (note)
		sqlite3_bind_text(st, 4, note, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, cws_now_ms());
	return cws_run(s, st);
}

int cws_set_sent_at(struct cw_sender *s, int64_t id)
{
	sqlite3_stmt *st = cws_prep(s, "UPDATE txs SET sent_at = ?2 WHERE id = ?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, cws_now_ms());
	return cws_run(s, st) < 0 ? -1 : 0;
}
