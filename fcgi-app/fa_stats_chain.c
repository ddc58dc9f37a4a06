/*
 * Chain metrics for /metrics and /healthz, read from the SQLite tables the
 * chain watcher writes (common/db.c, migration 3).  oyster-fcgi's control
 * handler renders them, so one scrape of one endpoint covers the whole node
 * and the chain watcher needs no listener of its own.
 *
 *  - head: executor_config "chain_head" (decimal text), which the watcher
 *    writes when the head moves and at least every 10 s; the row's
 *    `updated` stamp therefore says how fresh the watcher's view is.
 *  - processed: chain_cursor.next_block - 1, the last block whose logs are
 *    stored.
 *  - jobs by state, transactions by kind and outcome, and the gas spent
 *    (gas_used * effective gas price of mined transactions, in wei).  Sums
 *    are taken as floating point (SQLite total()): wei overflow 64 bits
 *    after ~9 ETH, and Prometheus values are doubles anyway.
 *
 * Every query is a read in autocommit mode (WAL: never blocks the writer).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fa_stats.h"
#include "log.h"
#include "banned.h"

/* Every state the jobs table uses (README "Answering jobs on chain"); always exported, 0 when empty. */
static const char *const job_states[] = {
	"seen", "claimed", "executed", "submitted", "confirmed", "failed",
	"expired", "dropped", "observed", "skipped",
};

static int parse_u64_text(const unsigned char *s, int len, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || len <= 0 || len > 20)
		return -1;
	for (int i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int fa_chain_status(struct db *db, struct fa_chain_status *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db->h, "SELECT value, updated FROM executor_config WHERE key = 'chain_head'",
			       -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare (chain head): %s", sqlite3_errmsg(db->h));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);

		if (parse_u64_text(v, n, &out->head) == 0) {
			out->have_head = 1;
			out->head_updated = sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return log_err("sqlite read chain head: %s", sqlite3_errmsg(db->h));

	if (sqlite3_prepare_v2(db->h, "SELECT next_block FROM chain_cursor WHERE id = 1", -1, &st, NULL) !=
	    SQLITE_OK)
		return log_err("sqlite prepare (cursor): %s", sqlite3_errmsg(db->h));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 next = sqlite3_column_int64(st, 0);
		if (next > 0) {
			out->have_cursor = 1;
			out->processed = (uint64_t)next - 1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return log_err("sqlite read cursor: %s", sqlite3_errmsg(db->h));
	return 0;
}

/* A label value from the database: only [a-z_], so nothing can break the exposition format. */
static int label_ok(const unsigned char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return 1;
}

static int jobs_by_state(struct db *db, struct buf *out)
{
	uint64_t known[sizeof(job_states) / sizeof(job_states[0])] = { 0 };
	const size_t nknown = sizeof(job_states) / sizeof(job_states[0]);
	struct buf other = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, "SELECT state, count(*) FROM jobs GROUP BY state", -1, &st, NULL) !=
	    SQLITE_OK)
		return log_err("sqlite prepare (jobs by state): %s", sqlite3_errmsg(db->h));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *state = sqlite3_column_text(st, 0);
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
		size_t i;

		for (i = 0; i < nknown; i++)
			if (state && !strcmp((const char *)state, job_states[i]))
				break;
		if (i < nknown)
			known[i] = n;
		else if (label_ok(state))
			buf_addf(&other, "oyster_chain_jobs{state=\"%s\"} %" PRIu64 "\n", state, n);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		buf_release(&other);
		return log_err("sqlite jobs by state: %s", sqlite3_errmsg(db->h));
	}
	buf_addstr(out, "# HELP oyster_chain_jobs Chain jobs in the queue by state (seen, claimed, ... confirmed, failed).\n"
			"# TYPE oyster_chain_jobs gauge\n");
	for (size_t i = 0; i < nknown; i++)
		buf_addf(out, "oyster_chain_jobs{state=\"%s\"} %" PRIu64 "\n", job_states[i], known[i]);
	if (other.len)
		buf_add(out, other.data, other.len);
	buf_release(&other);
	return 0;
}

static int txs_and_gas(struct db *db, struct buf *out)
{
	/*
	 * pending: sent or about to be, not mined; confirmed: mined with status 1;
	 * failed: mined but reverted (status 0); replaced: superseded by a
	 * re-send with the same nonce; dropped: given up.
	 */
	static const char *const sql =
		"SELECT kind,"
		" CASE WHEN state = 'mined' AND status = 1 THEN 'confirmed'"
		"      WHEN state = 'mined' THEN 'failed'"
		"      ELSE state END AS outcome,"
		" count(*), total(CASE WHEN state = 'mined' THEN 1.0 * gas_used * gas_price ELSE 0 END)"
		" FROM txs GROUP BY kind, outcome ORDER BY kind, outcome";
	static const char *const kinds[] = { "submit", "slash", "cancel" };
	static const char *const outcomes[] = { "pending", "confirmed", "failed" };
	struct buf tx = BUF_INIT, gas = BUF_INIT;
	double kind_gas[3] = { 0 };
	uint64_t base[3][3] = { { 0 } };
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare (txs): %s", sqlite3_errmsg(db->h));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *kind = sqlite3_column_text(st, 0);
		const unsigned char *outc = sqlite3_column_text(st, 1);
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);
		double wei = sqlite3_column_double(st, 3);
		int k = -1, o = -1;

		if (!label_ok(kind) || !label_ok(outc))
			continue;
		for (int i = 0; i < 3; i++) {
			if (!strcmp((const char *)kind, kinds[i]))
				k = i;
			if (!strcmp((const char *)outc, outcomes[i]))
				o = i;
		}
		if (k >= 0 && o >= 0) {
			base[k][o] = n;
		} else {
			buf_addf(&tx, "oyster_chain_transactions{kind=\"%s\",state=\"%s\"} %" PRIu64 "\n",
				 kind, outc, n);
		}
		if (k >= 0)
			kind_gas[k] += wei;
		else if (wei > 0)
			buf_addf(&gas, "oyster_chain_gas_spent_wei_total{kind=\"%s\"} %.0f\n", kind, wei);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		buf_release(&tx);
		buf_release(&gas);
		return log_err("sqlite txs: %s", sqlite3_errmsg(db->h));
	}
	buf_addstr(out, "# HELP oyster_chain_transactions Transactions the sender made, by kind (submit, slash, cancel) and state "
			"(pending, confirmed, failed = reverted, replaced, dropped).\n"
			"# TYPE oyster_chain_transactions gauge\n");
	for (int k = 0; k < 3; k++)
		for (int o = 0; o < 3; o++)
			buf_addf(out, "oyster_chain_transactions{kind=\"%s\",state=\"%s\"} %" PRIu64 "\n",
				 kinds[k], outcomes[o], base[k][o]);
	if (tx.len)
		buf_add(out, tx.data, tx.len);
	buf_addstr(out, "# HELP oyster_chain_gas_spent_wei_total Fees paid by the gas key for mined transactions (gas used times effective gas price), in wei.\n"
			"# TYPE oyster_chain_gas_spent_wei_total counter\n");
	for (int k = 0; k < 3; k++)
		buf_addf(out, "oyster_chain_gas_spent_wei_total{kind=\"%s\"} %.0f\n", kinds[k], kind_gas[k]);
	if (gas.len)
		buf_add(out, gas.data, gas.len);
	buf_release(&tx);
	buf_release(&gas);
	return 0;
}

int fa_stats_chain_prometheus(struct db *db, struct buf *out)
{
	struct fa_chain_status cs;

	if (fa_chain_status(db, &cs) < 0)
		return -1;
	if (cs.have_head) {
		buf_addf(out, "# HELP oyster_chain_head_block Chain head as the chain watcher last read it.\n"
			      "# TYPE oyster_chain_head_block gauge\noyster_chain_head_block %" PRIu64 "\n", cs.head);
		buf_addf(out, "# HELP oyster_chain_head_updated_timestamp_seconds When the chain watcher last read the head "
			      "(stale: watcher down or RPC unreachable).\n"
			      "# TYPE oyster_chain_head_updated_timestamp_seconds gauge\n"
			      "oyster_chain_head_updated_timestamp_seconds %" PRId64 "\n", cs.head_updated);
	}
	if (cs.have_cursor)
		buf_addf(out, "# HELP oyster_chain_cursor_block Last block whose events the chain watcher has stored.\n"
			      "# TYPE oyster_chain_cursor_block gauge\noyster_chain_cursor_block %" PRIu64 "\n",
			 cs.processed);
	if (cs.have_head && cs.have_cursor)
		buf_addf(out, "# HELP oyster_chain_lag_blocks Head minus the last stored block (includes the confirmations depth).\n"
			      "# TYPE oyster_chain_lag_blocks gauge\noyster_chain_lag_blocks %" PRIu64 "\n",
			 cs.head > cs.processed ? cs.head - cs.processed : 0);
	if (jobs_by_state(db, out) < 0 || txs_and_gas(db, out) < 0)
		return -1;
	return 0;
}
