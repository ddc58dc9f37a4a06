/*
 * The transaction sender; design in cw_sender.h.
 *
 * Layout: small helpers (time, SQL, fees, error classes), the gas key and
 * the chain facts, then the four steps of a tick in their order.  Every
 * transaction goes through record_tx() (signed bytes into txs, the job
 * moved, one SQLite transaction) before broadcast(), and every outcome of
 * a broadcast is handled in one place per path (after_new_send for new
 * nonces, replace_group for replacements).
 */
#include "cw_sender.h"

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

#define SUBMIT_SIG "submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)"
#define SLASH_SIG "slashOnExecutionTimeout(uint256)"
#define BUFFER_SIG "EXECUTION_BUFFER_TIME()"
#define CANCEL_GAS 21000
#define KEY_CHECK_MS 1000
#define LOG_EVERY_MS 60000
#define MAX_PENDING 4096   /* pending rows examined per tick */
#define MAX_BATCH 256      /* jobs submitted or slashed per tick */
#define MAX_BUFFER_S (366ULL * 86400) /* sanity bound on EXECUTION_BUFFER_TIME */
#define JOB_ID_MAX 80      /* decimal uint256 (78 digits) + NUL, rounded */
#define MSG_SIZE sizeof(((struct eth_rpc_error *)0)->message) /* a node's message */

/* Custom errors of contracts/Jobs.sol, named in notes and logs. */
static const char *const jobs_errors[] = {
	"JobsUnknownJob()", "JobsJobClosed()", "JobsDeadlineOver()",
	"JobsDeadlineNotOver()", "JobsSignatureTooOld()", "JobsInvalidSignature()",
	"JobsNotSelectedExecutor()", "JobsAlreadySubmitted()", "JobsNothingToSlash()",
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ms(void)
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
static int64_t window_end_ms(const struct cw_sender *s, int64_t block_time, int64_t deadline_ms)
{
	return sat_add(sat_add(sat_mul(block_time, 1000), deadline_ms),
		       sat_mul((int64_t)s->buffer_s, 1000));
}

/* floor or ceil(a * m / d), and it must fit the INTEGER columns. */
static int mul_div(uint64_t a, uint64_t m, uint64_t d, int ceil, uint64_t *out)
{
	struct eth_u256 x;

	eth_u256_from_u64(&x, a);
	if (eth_u256_muldiv_u64(&x, &x, m, d, ceil) < 0 || eth_u256_to_u64(&x, out) < 0 ||
	    *out > INT64_MAX)
		return -1;
	return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static char *hash_hex(const unsigned char h[32], char out[ETH_HEX_STR_SIZE(32)])
{
	return eth_hex_str(out, ETH_HEX_STR_SIZE(32), h, 32);
}

/* The name of a Jobs custom error in a revert's data, or NULL. */
static const char *revert_name(const struct eth_rpc_error *e)
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
static int is_revert(int rc, const struct eth_rpc_error *e)
{
	return rc == ETH_RPC_E_REMOTE && strcasestr(e->message, "revert");
}

/* What a node's answer to eth_sendRawTransaction means for us. */
enum send_outcome {
	SEND_OK,          /* accepted */
	SEND_KNOWN,       /* the node already has these bytes */
	SEND_NONCE_LOW,   /* the nonce is used (maybe by these bytes: check) */
	SEND_UNDERPRICED, /* fees too low for the pool or for a replacement */
	SEND_NO_FUNDS,
	SEND_REFUSED,     /* any other deliberate refusal */
	SEND_UNKNOWN,     /* transport or malformed reply: maybe sent, maybe not */
};

static enum send_outcome classify(int rc, const struct eth_rpc_error *e)
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

static sqlite3_stmt *prep(struct cw_sender *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("cw_sender: sqlite prepare: %s (%s)", sqlite3_errmsg(s->db->h), sql);
		return NULL;
	}
	return st;
}

/* Step a statement that returns no rows, finalize it: changes or -1. */
static int run(struct cw_sender *s, sqlite3_stmt *st)
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
	return run(s, prep(s, sql));
}

static int begin(struct cw_sender *s)
{
	return exec_sql(s, "BEGIN IMMEDIATE") < 0 ? -1 : 0;
}

static int commit(struct cw_sender *s)
{
	if (exec_sql(s, "COMMIT") < 0) {
		exec_sql(s, "ROLLBACK");
		return -1;
	}
	return 0;
}

static int rollback(struct cw_sender *s)
{
	exec_sql(s, "ROLLBACK");
	return -1;
}

static void column_text(sqlite3_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* The job's chain window: 1 found, 0 no such job, -1 error. */
static int job_window(struct cw_sender *s, const char *job_id, int64_t *end)
{
	sqlite3_stmt *st = prep(s, "SELECT block_time, deadline_ms FROM jobs WHERE job_id = ?1");
	int rc, r = -1;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*end = window_end_ms(s, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
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
static int job_settle(struct cw_sender *s, const char *job_id, const char *column,
		      const char *from, const char *to, const char *note)
{
	char sql[256];
	sqlite3_stmt *st;

	/* column is one of two literals from this file, never data */
	snprintf(sql, sizeof(sql),
		 "UPDATE jobs SET %s = ?3, note = COALESCE(?4, note), updated = ?5"
		 " WHERE job_id = ?1 AND %s = ?2", column, column);
	if (!(st = prep(s, sql)))
		return -1;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	if (note)
		sqlite3_bind_text(st, 4, note, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, now_ms());
	return run(s, st);
}

static int set_sent_at(struct cw_sender *s, int64_t id)
{
	sqlite3_stmt *st = prep(s, "UPDATE txs SET sent_at = ?2 WHERE id = ?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms());
	return run(s, st) < 0 ? -1 : 0;
}

/* ---- gas key, chain facts, nonce --------------------------------------- */

/* 1 when a key is loaded (possibly just now), 0 while waiting for one. */
static int key_refresh(struct cw_sender *s)
{
	const char *path = s->conf->gas_key_path;
	uint64_t mono = eth_rpc_now_ms();
	struct buf err = BUF_INIT;
	struct eth_key k;
	struct stat st;
	char addr[ETH_ADDR_HEX_SIZE];

	if (s->key_checked_ms && mono - s->key_checked_ms < KEY_CHECK_MS)
		return s->have_key;
	s->key_checked_ms = mono ? mono : 1;
	if (stat(path, &st) < 0) {
		/* A loaded key stays in use if its file goes away. */
		if (!s->have_key && !s->waiting_logged) {
			if (errno == ENOENT)
				log_msg(LOG_INFO, "cw_sender: waiting for a gas key at %s", path);
			else
				log_errno("cw_sender: waiting for a gas key: stat %s", path);
			s->waiting_logged = 1;
		}
		return s->have_key;
	}
	if ((s->have_key || s->key_bad) && st.st_dev == s->key_dev && st.st_ino == s->key_ino &&
	    st.st_size == s->key_size && st.st_mtim.tv_sec == s->key_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->key_mtime.tv_nsec && st.st_ctim.tv_sec == s->key_ctime.tv_sec &&
	    st.st_ctim.tv_nsec == s->key_ctime.tv_nsec)
		return s->have_key;
	s->key_dev = st.st_dev;
	s->key_ino = st.st_ino;
	s->key_size = st.st_size;
	s->key_mtime = st.st_mtim;
	s->key_ctime = st.st_ctim; /* a chmod fixing a refused file changes only this */
	if (eth_key_load_file(path, &k, &err) < 0) {
		/* Maybe half written: retried when the file changes again. */
		log_err("cw_sender: gas key %s: %s", path, buf_cstr(&err));
		buf_release(&err);
		eth_key_wipe(&k);
		s->key_bad = 1;
		return s->have_key;
	}
	buf_release(&err);
	s->key_bad = 0;
	if (s->have_key && !memcmp(s->gas.addr, k.addr, 20)) {
		eth_key_wipe(&k);
		return 1;
	}
	log_msg(LOG_INFO, "cw_sender: gas key %s: address %s%s", path,
		eth_address_hex(k.addr, addr), s->have_key ? " (rotated)" : "");
	eth_key_wipe(&s->gas);
	s->gas = k;
	eth_key_wipe(&k);
	s->have_key = 1;
	s->have_nonce = 0;
	s->fee_boost_percent = 100;
	return 1;
}

static int read_buffer(struct cw_sender *s, uint64_t *out)
{
	unsigned char sel[4], word[32];
	struct eth_u256 v;
	json_t *call, *res = NULL;
	int rc;

	eth_abi_selector(BUFFER_SIG, sel);
	call = json_object();
	{
		char to[ETH_ADDR_HEX_SIZE], data[ETH_HEX_STR_SIZE(4)];

		json_object_set_new(call, "to", json_string(eth_address_hex(s->jobs_addr, to)));
		json_object_set_new(call, "data", json_string(eth_hex_str(data, sizeof(data), sel, 4)));
	}
	rc = eth_rpc_call(s->rpc, "eth_call", json_pack("[o,s]", call, "latest"), &res, NULL);
	if (rc < 0)
		return log_err("cw_sender: cannot read Jobs.EXECUTION_BUFFER_TIME(): %s",
			       eth_rpc_last_error(s->rpc)->message);
	if (!json_is_string(res) ||
	    eth_hex_decode(json_string_value(res), json_string_length(res), word, 32, NULL) < 0 ||
	    eth_u256_from_be(&v, word, 32) < 0 || eth_u256_to_u64(&v, out) < 0 ||
	    *out > MAX_BUFFER_S) {
		json_decref(res);
		return log_err("cw_sender: Jobs.EXECUTION_BUFFER_TIME() returned an unusable value");
	}
	json_decref(res);
	return 0;
}

static int chain_facts(struct cw_sender *s)
{
	if (!s->have_chain_id) {
		if (s->conf->chain_id > 0)
			s->chain_id = (uint64_t)s->conf->chain_id;
		else if (eth_rpc_chain_id(s->rpc, &s->chain_id) < 0)
			return log_err("cw_sender: cannot read the chain id");
		s->have_chain_id = 1;
	}
	if (!s->have_buffer) {
		if (s->conf->execution_buffer_s > 0)
			s->buffer_s = (uint64_t)s->conf->execution_buffer_s;
		else if (read_buffer(s, &s->buffer_s) < 0)
			return -1;
		s->have_buffer = 1;
		log_msg(LOG_INFO, "cw_sender: chain id %" PRIu64 ", execution buffer %" PRIu64 " s",
			s->chain_id, s->buffer_s);
	}
	return 0;
}

/* Sender of a recorded raw transaction; -1 if it does not decode. */
static int raw_sender(const void *raw, size_t len, struct eth_tx *tx, unsigned char from[20])
{
	struct buf err = BUF_INIT;
	int rc = eth_tx_decode(raw, len, tx, from, &err);

	if (rc < 0)
		log_err("cw_sender: a recorded transaction does not decode: %s", buf_cstr(&err));
	buf_release(&err);
	return rc;
}

/*
 * Counter = max(node's pending count, our highest pending nonce + 1), so a
 * transaction recorded but never sent keeps its nonce.
 */
static int nonce_refresh(struct cw_sender *s)
{
	sqlite3_stmt *st;
	uint64_t n;
	int rc;

	if (eth_rpc_get_transaction_count(s->rpc, s->gas.addr, "pending", &n) < 0)
		return log_err("cw_sender: cannot read the gas account's nonce");
	if (!(st = prep(s, "SELECT nonce, raw FROM txs WHERE state = 'pending'")))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t nonce = (uint64_t)sqlite3_column_int64(st, 0);
		const void *raw = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		unsigned char from[20];
		struct eth_tx tx;

		if (raw && len > 0 && raw_sender(raw, (size_t)len, &tx, from) == 0 &&
		    !memcmp(from, s->gas.addr, 20) && nonce + 1 > n)
			n = nonce + 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return log_err("cw_sender: sqlite select txs: %s", sqlite3_errmsg(s->db->h));
	if (!s->have_nonce || n != s->nonce)
		log_msg(LOG_INFO, "cw_sender: next nonce %" PRIu64, n);
	s->nonce = n;
	s->have_nonce = 1;
	return 0;
}

/* ---- fees, signing, recording, broadcasting ------------------------------ */

struct fees {
	uint64_t prio, max;
};

/* Market fees: priority from the node (1 gwei fallback), max = 2 * base + priority. */
static int market_fees(struct cw_sender *s, struct fees *f)
{
	uint64_t base, prio;

	if (eth_rpc_max_priority_fee(s->rpc, &prio) < 0)
		prio = CW_SENDER_DEFAULT_PRIORITY_FEE;
	if (eth_rpc_get_block_base_fee(s->rpc, "pending", &base) < 0 &&
	    eth_rpc_get_block_base_fee(s->rpc, "latest", &base) < 0)
		return log_err("cw_sender: cannot read the base fee");
	if (mul_div(base, 2, 1, 0, &f->max) < 0 || __builtin_add_overflow(f->max, prio, &f->max) ||
	    f->max > INT64_MAX)
		return log_err("cw_sender: base fee %" PRIu64 " out of range", base);
	f->prio = prio;
	if (s->fee_boost_percent > 100 &&
	    (mul_div(f->prio, s->fee_boost_percent, 100, 1, &f->prio) < 0 ||
	     mul_div(f->max, s->fee_boost_percent, 100, 1, &f->max) < 0))
		return log_err("cw_sender: boosted fees out of range");
	return 0;
}

static int sign_tx(struct cw_sender *s, uint64_t nonce, const unsigned char to[20],
		   const unsigned char *data, size_t len, uint64_t gas, const struct fees *f,
		   struct buf *raw, unsigned char hash[32])
{
	struct eth_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.chain_id = s->chain_id;
	tx.nonce = nonce;
	eth_u256_from_u64(&tx.max_priority_fee_per_gas, f->prio);
	eth_u256_from_u64(&tx.max_fee_per_gas, f->max);
	tx.gas_limit = gas;
	tx.has_to = 1;
	memcpy(tx.to, to, 20);
	eth_u256_zero(&tx.value);
	tx.data = data;
	tx.data_len = len;
	buf_reset(raw);
	return eth_tx_sign(&tx, &s->gas, raw, hash);
}

/* How record_tx moves the job along with the new row. */
enum job_move {
	MOVE_NONE,
	MOVE_SUBMIT,   /* state executed -> submitted, submit_tx = id */
	MOVE_SLASH,    /* slash_state pending -> sent */
	MOVE_RESUBMIT, /* a replacement submission: submit_tx = id while submitted */
};

struct new_tx {
	const char *kind;
	const char *job_id;
	uint64_t nonce;
	uint64_t gas;
	struct fees fees;
	struct buf raw;
	unsigned char hash[32];
	int64_t id;
};

/*
 * Insert the txs row (pending, sent_at NULL) and move the job, in one
 * transaction, before anything is broadcast.  1 recorded, 0 the job is no
 * longer where we expected it (nothing recorded), -1 error.
 */
static int record_tx(struct cw_sender *s, struct new_tx *t, enum job_move move)
{
	sqlite3_stmt *st;
	int64_t now = now_ms();
	int n;

	if (begin(s) < 0)
		return -1;
	st = prep(s, "INSERT INTO txs(kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas,"
		     " state, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)");
	if (!st)
		return rollback(s);
	sqlite3_bind_text(st, 1, t->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)t->nonce);
	sqlite3_bind_blob(st, 4, t->hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 5, t->raw.data, t->raw.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)t->fees.max);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)t->fees.prio);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)t->gas);
	sqlite3_bind_int64(st, 9, now);
	if (run(s, st) != 1)
		return rollback(s);
	t->id = sqlite3_last_insert_rowid(s->db->h);
	switch (move) {
	case MOVE_SUBMIT:
		st = prep(s, "UPDATE jobs SET state = 'submitted', submit_tx = ?2, updated = ?3"
			     " WHERE job_id = ?1 AND state = 'executed'");
		break;
	case MOVE_RESUBMIT:
		st = prep(s, "UPDATE jobs SET submit_tx = ?2, updated = ?3"
			     " WHERE job_id = ?1 AND state = 'submitted'");
		break;
	case MOVE_SLASH:
		st = prep(s, "UPDATE jobs SET slash_state = 'sent', updated = ?3"
			     " WHERE job_id = ?1 AND slash_state = 'pending'");
		break;
	case MOVE_NONE:
		return commit(s) < 0 ? -1 : 1;
	}
	if (!st)
		return rollback(s);
	sqlite3_bind_text(st, 1, t->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t->id);
	sqlite3_bind_int64(st, 3, now);
	n = run(s, st);
	if (n < 0)
		return rollback(s);
	if (n == 0 && move != MOVE_RESUBMIT) {
		/* The watcher moved the job meanwhile (reorg, confirmation): send nothing. */
		rollback(s);
		return 0;
	}
	return commit(s) < 0 ? -1 : 1;
}

/*
 * Mark a row that was never accepted 'dropped'; with give_back, return its
 * job to the queue (a new nonce's transaction; a failed replacement leaves
 * the job with the rows it replaces).
 */
static int drop_tx(struct cw_sender *s, const struct new_tx *t, int give_back)
{
	sqlite3_stmt *st;

	if (begin(s) < 0)
		return -1;
	st = prep(s, "UPDATE txs SET state = 'dropped' WHERE id = ?1 AND state = 'pending'");
	if (!st)
		return rollback(s);
	sqlite3_bind_int64(st, 1, t->id);
	if (run(s, st) < 0)
		return rollback(s);
	st = NULL;
	if (!give_back)
		; /* the job stays with the older rows of this nonce */
	else if (!strcmp(t->kind, "submit"))
		st = prep(s, "UPDATE jobs SET state = 'executed', submit_tx = NULL, updated = ?3"
			     " WHERE job_id = ?1 AND state = 'submitted' AND submit_tx = ?2");
	else if (!strcmp(t->kind, "slash"))
		st = prep(s, "UPDATE jobs SET slash_state = 'pending', updated = ?3"
			     " WHERE job_id = ?1 AND slash_state = 'sent'");
	if (st) {
		sqlite3_bind_text(st, 1, t->job_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, t->id);
		sqlite3_bind_int64(st, 3, now_ms());
		if (run(s, st) < 0)
			return rollback(s);
	}
	return commit(s);
}

static void log_sent(const char *what, const char *kind, const char *job_id, uint64_t nonce,
		     const unsigned char hash[32], uint64_t max_fee, uint64_t prio, uint64_t gas)
{
	char h[ETH_HEX_STR_SIZE(32)];

	log_msg(LOG_INFO, "cw_sender: %s %s tx for job %s: nonce %" PRIu64 " hash %s"
		" max_fee %" PRIu64 " priority_fee %" PRIu64 " gas %" PRIu64,
		what, kind, job_id ? job_id : "-", nonce, hash_hex(hash, h), max_fee, prio, gas);
}

/*
 * eth_sendRawTransaction.  "nonce too low" for bytes the node already
 * mined (a retried request whose first attempt went through) is SEND_KNOWN:
 * the receipt tells.  The node's message goes to msg (for logs).
 */
static enum send_outcome broadcast(struct cw_sender *s, const struct buf *raw,
				   const unsigned char hash[32], char *msg, size_t msgsz)
{
	struct eth_rpc_receipt rc;
	unsigned char got[32];
	enum send_outcome o;

	o = classify(eth_rpc_send_raw_transaction(s->rpc, (const unsigned char *)raw->data,
						  raw->len, got),
		     eth_rpc_last_error(s->rpc));
	snprintf(msg, msgsz, "%s", eth_rpc_last_error(s->rpc)->message);
	if (o == SEND_NONCE_LOW && eth_rpc_get_transaction_receipt(s->rpc, hash, &rc) == 1)
		o = SEND_KNOWN;
	return o;
}

/* A refusal, logged at error level at most once a minute per class. */
static void log_refusal(uint64_t *last, const char *what, const struct new_tx *t,
			const char *msg)
{
	uint64_t mono = eth_rpc_now_ms();

	if (*last && mono - *last < LOG_EVERY_MS)
		return;
	*last = mono ? mono : 1;
	log_err("cw_sender: %s tx for job %s: %s: %s", t->kind, t->job_id, what, msg);
}

/*
 * After broadcasting a new nonce's transaction: 0 sent (or its fate left
 * to step 1), 1 dropped (stop sending this tick), -1 error.
 */
static int after_new_send(struct cw_sender *s, struct new_tx *t, enum send_outcome o,
			  const char *msg)
{
	switch (o) {
	case SEND_OK:
	case SEND_KNOWN:
		s->fee_boost_percent = 100;
		log_sent("sent", t->kind, t->job_id, t->nonce, t->hash, t->fees.max, t->fees.prio,
			 t->gas);
		if (s->test_stop == CW_SENDER_STOP_AFTER_SEND) {
			s->stopped = 1;
			return 1;
		}
		return set_sent_at(s, t->id);
	case SEND_UNKNOWN:
		/* Maybe sent: sent_at stays NULL and step 1 re-broadcasts the same bytes. */
		log_msg(LOG_WARN, "cw_sender: %s tx for job %s (nonce %" PRIu64 ") not confirmed"
			" by the node (%s); will re-broadcast", t->kind, t->job_id, t->nonce, msg);
		return 1;
	case SEND_NONCE_LOW:
		log_msg(LOG_WARN, "cw_sender: nonce %" PRIu64 " already used (%s); refetching",
			t->nonce, msg);
		break;
	case SEND_UNDERPRICED:
		s->fee_boost_percent = s->fee_boost_percent + (uint64_t)s->conf->fee_bump_percent;
		if (s->fee_boost_percent > 1000)
			s->fee_boost_percent = 1000;
		log_msg(LOG_WARN, "cw_sender: %s tx for job %s underpriced (%s); fees x%" PRIu64
			"%% next time", t->kind, t->job_id, msg, s->fee_boost_percent);
		break;
	case SEND_NO_FUNDS:
		log_refusal(&s->funds_logged_ms, "the gas account cannot pay", t, msg);
		break;
	case SEND_REFUSED:
		log_refusal(&s->refused_logged_ms, "refused by the node", t, msg);
		break;
	}
	/* Never accepted: the nonce is free again (refetched), the job goes back. */
	s->have_nonce = 0;
	if (drop_tx(s, t, 1) < 0)
		return -1;
	return 1;
}

/*
 * Sign, record and broadcast a new transaction to Jobs with the next
 * nonce.  0 sent or settled, 1 stop this tick (dropped, or outcome
 * unknown), -1 error.
 */
static int send_new(struct cw_sender *s, const char *kind, const char *job_id,
		    const unsigned char *data, size_t len, uint64_t estimate)
{
	struct new_tx t = { .kind = kind, .job_id = job_id, .raw = BUF_INIT };
	enum job_move move = !strcmp(kind, "slash") ? MOVE_SLASH : MOVE_SUBMIT;
	int rc;

	if (!s->have_nonce && nonce_refresh(s) < 0)
		return -1;
	if (market_fees(s, &t.fees) < 0)
		return -1;
	if (mul_div(estimate, 100 + (uint64_t)s->conf->gas_margin_percent, 100, 0, &t.gas) < 0)
		return log_err("cw_sender: gas estimate %" PRIu64 " out of range", estimate);
	t.nonce = s->nonce;
	if (sign_tx(s, t.nonce, s->jobs_addr, data, len, t.gas, &t.fees, &t.raw, t.hash) < 0) {
		buf_release(&t.raw);
		return -1;
	}
	rc = record_tx(s, &t, move);
	if (rc <= 0) {
		buf_release(&t.raw);
		return rc;
	}
	/* The nonce belongs to a recorded transaction from here on. */
	s->nonce++;
	if (s->test_stop == CW_SENDER_STOP_AFTER_RECORD) {
		s->stopped = 1;
		buf_release(&t.raw);
		return 1;
	}
	{
		char msg[MSG_SIZE];
		enum send_outcome o = broadcast(s, &t.raw, t.hash, msg, sizeof(msg));

		rc = after_new_send(s, &t, o, msg);
	}
	buf_release(&t.raw);
	return rc;
}

/* ---- step 1: re-broadcast what was recorded but maybe never sent -------- */

/*
 * Ids of the rows a query selects, read completely before anything is
 * written (no statement stays open across the writes of a step).
 */
static int collect_ids(struct cw_sender *s, sqlite3_stmt *st, int64_t **out, size_t *nout)
{
	int64_t *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			int64_t *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return log_err("cw_sender: sqlite select: %s", sqlite3_errmsg(s->db->h));
	}
	*out = v;
	*nout = n;
	return 0;
}

/* 0 handled (sent_at set), 1 the node is not answering, -1 error. */
static int rebroadcast_one(struct cw_sender *s, int64_t id)
{
	sqlite3_stmt *st;
	struct buf raw = BUF_INIT;
	char kind[16], job[JOB_ID_MAX], msg[MSG_SIZE];
	unsigned char hash[32];
	uint64_t nonce, max_fee, prio, gas;
	enum send_outcome o;
	int rc;

	st = prep(s, "SELECT kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas"
		     " FROM txs WHERE id = ?1 AND state = 'pending' AND sent_at IS NULL");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			return 0;
		return log_err("cw_sender: sqlite select tx %" PRId64 ": %s", id,
			       sqlite3_errmsg(s->db->h));
	}
	column_text(st, 0, kind, sizeof(kind));
	column_text(st, 1, job, sizeof(job));
	nonce = (uint64_t)sqlite3_column_int64(st, 2);
	max_fee = (uint64_t)sqlite3_column_int64(st, 5);
	prio = (uint64_t)sqlite3_column_int64(st, 6);
	gas = (uint64_t)sqlite3_column_int64(st, 7);
	if (!sqlite3_column_blob(st, 3) || sqlite3_column_bytes(st, 3) != 32 ||
	    !sqlite3_column_blob(st, 4) || sqlite3_column_bytes(st, 4) <= 0 ||
	    buf_add(&raw, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4)) < 0) {
		sqlite3_finalize(st);
		buf_release(&raw);
		return log_err("cw_sender: txs row %" PRId64 " is unusable", id);
	}
	memcpy(hash, sqlite3_column_blob(st, 3), 32);
	sqlite3_finalize(st);

	o = broadcast(s, &raw, hash, msg, sizeof(msg));
	buf_release(&raw);
	if (o == SEND_UNKNOWN)
		return 1;
	if (o != SEND_OK && o != SEND_KNOWN)
		/* Refused now: step 2 replaces it (same nonce) after resend_after_ms. */
		log_msg(LOG_WARN, "cw_sender: re-broadcast of %s tx %" PRId64 " (nonce %" PRIu64
			") refused: %s", kind, id, nonce, msg);
	else
		log_sent("re-broadcast", kind, job, nonce, hash, max_fee, prio, gas);
	return set_sent_at(s, id);
}

static int rebroadcast(struct cw_sender *s)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int r = 0;

	if (collect_ids(s, prep(s, "SELECT id FROM txs WHERE state = 'pending'"
				   " AND sent_at IS NULL ORDER BY nonce, id"), &ids, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int x = rebroadcast_one(s, ids[i]);

		if (x != 0) {
			r = -1; /* error, or the node is not answering: next tick */
			break;
		}
	}
	free(ids);
	return r;
}

/* ---- step 2: receipts, replacements, cancels ----------------------------- */

struct ptx {
	int64_t id;
	char kind[16];
	char job_id[JOB_ID_MAX];
	uint64_t nonce;
	unsigned char hash[32];
	struct buf raw;
	struct fees fees;
	uint64_t gas;
	int sent;             /* sent_at is set */
	unsigned char from[20];
};

static int ptx_cmp(const void *a, const void *b)
{
	const struct ptx *x = a, *y = b;
	int c = memcmp(x->from, y->from, 20);

	if (c)
		return c;
	if (x->nonce != y->nonce)
		return x->nonce < y->nonce ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void ptx_free(struct ptx *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_release(&v[i].raw);
	free(v);
}

static int load_pending(struct cw_sender *s, struct ptx **out, size_t *nout)
{
	sqlite3_stmt *st;
	struct ptx *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	st = prep(s, "SELECT id, kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas, sent_at"
		     " FROM txs WHERE state = 'pending' ORDER BY id LIMIT ?1");
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, MAX_PENDING);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ptx *p;
		struct eth_tx tx;
		const void *h = sqlite3_column_blob(st, 4), *raw = sqlite3_column_blob(st, 5);
		int len = sqlite3_column_bytes(st, 5);

		if (n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct ptx *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		p = &v[n];
		memset(p, 0, sizeof(*p));
		buf_init(&p->raw);
		p->id = sqlite3_column_int64(st, 0);
		column_text(st, 1, p->kind, sizeof(p->kind));
		column_text(st, 2, p->job_id, sizeof(p->job_id));
		p->nonce = (uint64_t)sqlite3_column_int64(st, 3);
		p->fees.max = (uint64_t)sqlite3_column_int64(st, 6);
		p->fees.prio = (uint64_t)sqlite3_column_int64(st, 7);
		p->gas = (uint64_t)sqlite3_column_int64(st, 8);
		p->sent = sqlite3_column_type(st, 9) != SQLITE_NULL;
		if (!h || sqlite3_column_bytes(st, 4) != 32 || !raw || len <= 0 ||
		    buf_add(&p->raw, raw, (size_t)len) < 0 ||
		    raw_sender(p->raw.data, p->raw.len, &tx, p->from) < 0) {
			log_err("cw_sender: txs row %" PRId64 " is unusable; skipped", p->id);
			buf_release(&p->raw);
			continue;
		}
		memcpy(p->hash, h, 32);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ptx_free(v, n);
		return log_err("cw_sender: loading pending txs failed: %s", sqlite3_errmsg(s->db->h));
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), ptx_cmp);
	*out = v;
	*nout = n;
	return 0;
}

/* A receipt for p: p mined, its siblings replaced, the job updated. */
static int apply_receipt(struct cw_sender *s, const struct ptx *p, const struct ptx *grp,
			 size_t ng, const struct eth_rpc_receipt *rc)
{
	sqlite3_stmt *st;
	int64_t now = now_ms();
	char h[ETH_HEX_STR_SIZE(32)];

	if (begin(s) < 0)
		return -1;
	st = prep(s, "UPDATE txs SET state = 'mined', status = ?2, gas_used = ?3, gas_price = ?4,"
		     " mined_block = ?5 WHERE id = ?1 AND state = 'pending'");
	if (!st)
		return rollback(s);
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int(st, 2, rc->status);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rc->gas_used);
	if (rc->effective_gas_price && rc->effective_gas_price <= INT64_MAX)
		sqlite3_bind_int64(st, 4, (sqlite3_int64)rc->effective_gas_price);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)rc->block_number);
	if (run(s, st) < 0)
		return rollback(s);
	for (size_t i = 0; i < ng; i++) {
		if (grp[i].id == p->id)
			continue;
		st = prep(s, "UPDATE txs SET state = 'replaced' WHERE id = ?1 AND state = 'pending'");
		if (!st)
			return rollback(s);
		sqlite3_bind_int64(st, 1, grp[i].id);
		if (run(s, st) < 0)
			return rollback(s);
	}
	st = NULL;
	if (!strcmp(p->kind, "submit")) {
		st = prep(s, "UPDATE jobs SET state = CASE WHEN ?3 = 1 THEN 'confirmed' ELSE 'failed' END,"
			     " note = CASE WHEN ?3 = 1 THEN note ELSE 'submitOutput reverted' END,"
			     " submit_tx = ?2, updated = ?4 WHERE job_id = ?1 AND state = 'submitted'");
	} else if (!strcmp(p->kind, "slash")) {
		st = prep(s, "UPDATE jobs SET slash_state = CASE WHEN ?3 = 1 THEN 'done' ELSE 'skipped' END,"
			     " updated = ?4 WHERE job_id = ?1 AND slash_state = 'sent'");
	} else if (!strcmp(p->kind, "cancel")) {
		st = prep(s, "UPDATE jobs SET state = 'expired', note = 'cancelled', updated = ?4"
			     " WHERE job_id = ?1 AND state = 'submitted'");
	}
	if (st) {
		sqlite3_bind_text(st, 1, p->job_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, p->id);
		sqlite3_bind_int(st, 3, rc->status);
		sqlite3_bind_int64(st, 4, now);
		if (run(s, st) < 0)
			return rollback(s);
	}
	if (commit(s) < 0)
		return -1;
	log_msg(LOG_INFO, "cw_sender: receipt: %s tx for job %s nonce %" PRIu64 " hash %s status %d"
		" block %" PRIu64 " gas_used %" PRIu64 " gas_price %" PRIu64 "%s",
		p->kind, p->job_id[0] ? p->job_id : "-", p->nonce, hash_hex(p->hash, h), rc->status,
		rc->block_number, rc->gas_used, rc->effective_gas_price,
		ng > 1 ? " (other transactions of that nonce replaced)" : "");
	return 0;
}

/*
 * The nonce was consumed on chain but by none of our rows (the key was
 * used elsewhere): the rows are dead, the job goes back to the queue.
 */
static int drop_group(struct cw_sender *s, const struct ptx *grp, size_t ng)
{
	const char *kind = grp[ng - 1].kind, *job = grp[ng - 1].job_id;
	int rc;

	if (begin(s) < 0)
		return -1;
	for (size_t i = 0; i < ng; i++) {
		sqlite3_stmt *st = prep(s, "UPDATE txs SET state = 'dropped'"
					   " WHERE id = ?1 AND state = 'pending'");

		if (!st)
			return rollback(s);
		sqlite3_bind_int64(st, 1, grp[i].id);
		if (run(s, st) < 0)
			return rollback(s);
	}
	if (commit(s) < 0)
		return -1;
	/* Submissions and their cancels leave the job 'submitted'; slashes 'sent'. */
	if (!strcmp(kind, "slash"))
		rc = job_settle(s, job, "slash_state", "sent", "pending", NULL);
	else
		rc = job_settle(s, job, "state", "submitted", "executed", NULL);
	if (rc < 0)
		return -1;
	log_msg(LOG_WARN, "cw_sender: nonce %" PRIu64 " was used by a transaction we did not send;"
		" %zu recorded transaction(s) dropped, job %s back in the queue",
		grp[0].nonce, ng, job[0] ? job : "-");
	if (!memcmp(grp[0].from, s->gas.addr, 20))
		s->have_nonce = 0;
	return 0;
}

/* Newest broadcast or attempt at this nonce (replacements that failed included). */
static int last_attempt_ms(struct cw_sender *s, const struct ptx *grp, int64_t *out)
{
	sqlite3_stmt *st = prep(s, "SELECT MAX(MAX(created, COALESCE(sent_at, 0))) FROM txs"
				   " WHERE nonce = ?1 AND id >= ?2");
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)grp[0].nonce);
	sqlite3_bind_int64(st, 2, grp[0].id);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return log_err("cw_sender: sqlite: %s", sqlite3_errmsg(s->db->h));
	return 0;
}

/* Replacement (or cancel) at the group's nonce with bumped fees. */
static int replace_group(struct cw_sender *s, const struct ptx *grp, size_t ng, int64_t now)
{
	const struct ptx *last = &grp[ng - 1];
	struct new_tx t = { .job_id = last->job_id, .nonce = last->nonce, .raw = BUF_INIT };
	struct fees old = { 0, 0 }, mkt;
	struct eth_tx orig;
	unsigned char from[20];
	uint64_t bump = 100 + max_u64((uint64_t)s->conf->fee_bump_percent, 10);
	enum job_move move = MOVE_NONE;
	const unsigned char *to = s->jobs_addr, *data = NULL;
	char msg[MSG_SIZE];
	size_t len = 0;
	enum send_outcome o;
	int rc;

	for (size_t i = 0; i < ng; i++) {
		old.prio = max_u64(old.prio, grp[i].fees.prio);
		old.max = max_u64(old.max, grp[i].fees.max);
	}
	if (raw_sender(last->raw.data, last->raw.len, &orig, from) < 0)
		return -1;
	t.kind = last->kind;
	if (!strcmp(last->kind, "submit")) {
		int64_t end = 0;
		int got = job_window(s, last->job_id, &end);

		if (got < 0)
			return -1;
		if (got && now < end - CW_SENDER_MARGIN_MS) {
			move = MOVE_RESUBMIT;
		} else {
			/* Too late to be accepted: free the nonce instead. */
			t.kind = "cancel";
		}
	}
	if (!strcmp(t.kind, "cancel")) {
		to = s->gas.addr;
		t.gas = CANCEL_GAS;
	} else {
		data = orig.data;
		len = orig.data_len;
		t.gas = orig.gas_limit;
	}
	if (market_fees(s, &mkt) < 0)
		return -1;
	if (mul_div(old.prio, bump, 100, 1, &t.fees.prio) < 0 ||
	    mul_div(old.max, bump, 100, 1, &t.fees.max) < 0)
		return log_err("cw_sender: bumped fees out of range");
	t.fees.prio = max_u64(max_u64(t.fees.prio, old.prio + 1), mkt.prio);
	t.fees.max = max_u64(max_u64(t.fees.max, old.max + 1), mkt.max);
	if (t.fees.max < t.fees.prio)
		t.fees.max = t.fees.prio;
	if (sign_tx(s, t.nonce, to, data, len, t.gas, &t.fees, &t.raw, t.hash) < 0) {
		buf_release(&t.raw);
		return -1;
	}
	rc = record_tx(s, &t, move);
	if (rc <= 0) {
		buf_release(&t.raw);
		return rc;
	}
	o = broadcast(s, &t.raw, t.hash, msg, sizeof(msg));
	buf_release(&t.raw);
	switch (o) {
	case SEND_OK:
	case SEND_KNOWN:
		log_sent(strcmp(t.kind, last->kind) ? "sent (replacing a stuck submission)" :
			 "sent replacement", t.kind, t.job_id, t.nonce, t.hash, t.fees.max,
			 t.fees.prio, t.gas);
		return set_sent_at(s, t.id);
	case SEND_UNKNOWN:
		return 0; /* step 1 re-broadcasts it */
	case SEND_UNDERPRICED:
		s->fee_boost_percent = s->fee_boost_percent + (uint64_t)s->conf->fee_bump_percent;
		if (s->fee_boost_percent > 1000)
			s->fee_boost_percent = 1000;
		/* fall through */
	case SEND_NONCE_LOW:  /* one of the group was mined meanwhile: next tick's receipts */
	case SEND_NO_FUNDS:
	case SEND_REFUSED:
		break;
	}
	log_msg(LOG_WARN, "cw_sender: replacement %s tx for job %s (nonce %" PRIu64 ") refused: %s",
		t.kind, t.job_id, t.nonce, msg);
	/* Only this attempt is dead; the group's older rows stay pending. */
	return drop_tx(s, &t, 0);
}

static int handle_group(struct cw_sender *s, const struct ptx *grp, size_t ng,
			uint64_t *latest, int *have_latest)
{
	struct eth_rpc_receipt rc;
	int64_t now = now_ms(), last = 0;
	uint64_t count;
	char a[ETH_ADDR_HEX_SIZE];

	for (size_t i = 0; i < ng; i++) {
		int got = eth_rpc_get_transaction_receipt(s->rpc, grp[i].hash, &rc);

		if (got < 0)
			return -1;
		if (got == 1)
			return apply_receipt(s, &grp[i], grp, ng, &rc);
	}
	for (size_t i = 0; i < ng; i++)
		if (!grp[i].sent)
			return 0; /* step 1 has not managed to broadcast it yet */
	if (last_attempt_ms(s, grp, &last) < 0)
		return -1;
	if (now - last < s->conf->resend_after_ms)
		return 0;
	/* Stuck.  First: was the nonce consumed by someone else? */
	if (!memcmp(grp[0].from, s->gas.addr, 20) && *have_latest) {
		count = *latest;
	} else {
		if (eth_rpc_get_transaction_count(s->rpc, grp[0].from, "latest", &count) < 0)
			return -1;
		if (!memcmp(grp[0].from, s->gas.addr, 20)) {
			*latest = count;
			*have_latest = 1;
		}
	}
	if (grp[0].nonce < count) {
		/*
		 * Ask again now that the count is known: one of ours may have
		 * been mined between the receipts above and the count.
		 */
		for (size_t i = 0; i < ng; i++) {
			int got = eth_rpc_get_transaction_receipt(s->rpc, grp[i].hash, &rc);

			if (got < 0)
				return -1;
			if (got == 1)
				return apply_receipt(s, &grp[i], grp, ng, &rc);
		}
		return drop_group(s, grp, ng);
	}
	if (memcmp(grp[0].from, s->gas.addr, 20)) {
		uint64_t mono = eth_rpc_now_ms();

		if (!s->old_key_logged_ms || mono - s->old_key_logged_ms >= LOG_EVERY_MS) {
			s->old_key_logged_ms = mono ? mono : 1;
			log_msg(LOG_WARN, "cw_sender: tx nonce %" PRIu64 " of the previous gas key %s"
				" is stuck; it cannot be replaced without that key", grp[0].nonce,
				eth_address_hex(grp[0].from, a));
		}
		return 0;
	}
	return replace_group(s, grp, ng, now);
}

static int receipts(struct cw_sender *s)
{
	struct ptx *v = NULL;
	size_t n = 0, i = 0;
	uint64_t latest = 0;
	int have_latest = 0, r = 0;

	if (load_pending(s, &v, &n) < 0)
		return -1;
	while (i < n) {
		size_t j = i + 1;

		while (j < n && v[j].nonce == v[i].nonce && !memcmp(v[j].from, v[i].from, 20))
			j++;
		if (handle_group(s, &v[i], j - i, &latest, &have_latest) < 0) {
			r = -1;
			if (eth_rpc_last_error(s->rpc)->status == ETH_RPC_E_TRANSPORT)
				break; /* the node is away: the rest waits for the next tick */
		}
		i = j;
	}
	ptx_free(v, n);
	return r;
}

/* ---- step 3: submissions ------------------------------------------------ */

static int estimate(struct cw_sender *s, const struct buf *cd, uint64_t *gas)
{
	return eth_rpc_estimate_gas(s->rpc, s->gas.addr, s->jobs_addr,
				    (const unsigned char *)cd->data, cd->len, gas);
}

/* "the node's message (JobsError())" for notes. */
static void revert_note(const struct eth_rpc_error *e, const char *what, char *out, size_t n)
{
	const char *name = revert_name(e);

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

	row = prep(s, "SELECT job_id, block_time, deadline_ms, output, error_code, total_time,"
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
	column_text(row, 0, job, sizeof(job));
	end = window_end_ms(s, sqlite3_column_int64(row, 1), sqlite3_column_int64(row, 2));
	if (now > end) {
		sqlite3_finalize(row);
		log_msg(LOG_INFO, "cw_sender: job %s expired before it could be submitted"
			" (window closed %" PRId64 " ms ago)", job, now - end);
		return job_settle(s, job, "state", "executed", "expired",
				  "not submitted before deadline + buffer") < 0 ? -1 : 0;
	}
	rc = submit_calldata(job, row, &cd);
	sqlite3_finalize(row);
	if (rc < 0) {
		buf_release(&cd);
		log_err("cw_sender: job %s: stored result cannot be encoded", job);
		return job_settle(s, job, "state", "executed", "failed",
				  "stored result cannot be encoded") < 0 ? -1 : 0;
	}
	rc = estimate(s, &cd, &gas);
	if (rc < 0) {
		const struct eth_rpc_error *e = eth_rpc_last_error(s->rpc);

		buf_release(&cd);
		if (!is_revert(rc, e))
			return log_err("cw_sender: job %s: gas estimation failed: %s", job, e->message);
		revert_note(e, "submitOutput", note, sizeof(note));
		log_msg(LOG_INFO, "cw_sender: job %s not submitted: %s", job, note);
		return job_settle(s, job, "state", "executed", "failed", note) < 0 ? -1 : 0;
	}
	rc = send_new(s, "submit", job, (const unsigned char *)cd.data, cd.len, gas);
	buf_release(&cd);
	return rc;
}

static int submissions(struct cw_sender *s)
{
	int64_t *ids = NULL, now = now_ms();
	size_t n = 0;
	sqlite3_stmt *st;
	int r = 0;

	st = prep(s, "SELECT rowid FROM jobs WHERE state = 'executed' AND ours = 1"
		     " ORDER BY block_number, log_index LIMIT ?1");
	if (st)
		sqlite3_bind_int(st, 1, MAX_BATCH);
	if (collect_ids(s, st, &ids, &n) < 0)
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

	st = prep(s, "SELECT job_id, length(selected), responses FROM jobs"
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
	column_text(st, 0, job, sizeof(job));
	count = sqlite3_column_int64(st, 1) / 20;
	responses = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);

	if (responses >= count) {
		log_msg(LOG_DEBUG, "cw_sender: job %s: all %" PRId64 " executors answered", job, count);
		return job_settle(s, job, "slash_state", "pending", "done", NULL) < 0 ? -1 : 0;
	}
	if (eth_u256_from_dec(&id, job, strlen(job), NULL) < 0)
		return job_settle(s, job, "slash_state", "pending", "skipped", "bad job id") < 0 ? -1 : 0;
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
		const char *name = revert_name(e);

		buf_release(&cd);
		if (!is_revert(rc, e))
			return log_err("cw_sender: job %s: slash gas estimation failed: %s", job, e->message);
		if (name && !strcmp(name, "JobsDeadlineNotOver()")) {
			/* The chain's clock is behind ours: try again later. */
			log_msg(LOG_DEBUG, "cw_sender: job %s: chain says the deadline is not over yet", job);
			return 0;
		}
		/* Someone else slashed first, or everybody answered: normal. */
		revert_note(e, "slashOnExecutionTimeout", note, sizeof(note));
		log_msg(LOG_INFO, "cw_sender: job %s: no slash: %s", job, note);
		return job_settle(s, job, "slash_state", "pending", "skipped", NULL) < 0 ? -1 : 0;
	}
	rc = send_new(s, "slash", job, (const unsigned char *)cd.data, cd.len, gas);
	buf_release(&cd);
	return rc;
}

static int slashes(struct cw_sender *s)
{
	int64_t *ids = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int r = 0;

	st = prep(s, "SELECT rowid FROM jobs WHERE slash_state = 'pending'"
		     " AND block_time * 1000 + deadline_ms + ?1 * 1000 + ?2 <= ?3"
		     " ORDER BY block_number, log_index LIMIT ?4");
	if (st) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)s->buffer_s);
		sqlite3_bind_int64(st, 2, CW_SENDER_SLASH_DELAY_MS);
		sqlite3_bind_int64(st, 3, now_ms());
		sqlite3_bind_int(st, 4, MAX_BATCH);
	}
	if (collect_ids(s, st, &ids, &n) < 0)
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

/* ---- lifecycle ------------------------------------------------------------ */

int cw_sender_init(struct cw_sender *s, const struct conf *c, struct db *db, struct eth_rpc *rpc)
{
	struct buf err = BUF_INIT;

	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->db = db;
	s->rpc = rpc;
	s->fee_boost_percent = 100;
	if (eth_address_parse(c->jobs_contract, strlen(c->jobs_contract), s->jobs_addr, &err) < 0) {
		log_err("cw_sender: jobs_contract '%s': %s", c->jobs_contract, buf_cstr(&err));
		buf_release(&err);
		return -1;
	}
	buf_release(&err);
	return 0;
}

int cw_sender_tick(struct cw_sender *s)
{
	int r = 0;

	if (s->stopped)
		return 0;
	if (!key_refresh(s))
		return 0;
	if (chain_facts(s) < 0)
		return -1;
	if (!s->have_nonce && nonce_refresh(s) < 0)
		return -1;
	if (rebroadcast(s) < 0)
		r = -1;
	if (receipts(s) < 0)
		r = -1;
	if (!s->stopped && submissions(s) < 0)
		r = -1;
	if (!s->stopped && slashes(s) < 0)
		r = -1;
	return r;
}

void cw_sender_release(struct cw_sender *s)
{
	eth_key_wipe(&s->gas);
	s->have_key = 0;
	s->have_nonce = 0;
}
