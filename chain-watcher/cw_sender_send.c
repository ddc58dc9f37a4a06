/*
 * The sender's new transactions: fees, signing, recording (before any
 * broadcast), broadcasting; and step 1, re-broadcasting what was recorded
 * but maybe never sent.  See cw_sender_int.h.
 */
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

/* ---- fees, signing, recording, broadcasting ------------------------------ */

/* Market fees: priority from the node (1 gwei fallback), max = 2 * base + priority. */
int cws_market_fees(struct cw_sender *s, struct fees *f)
{
	uint64_t base, prio;

	if (eth_rpc_max_priority_fee(s->rpc, &prio) < 0)
		prio = CW_SENDER_DEFAULT_PRIORITY_FEE;
	if (eth_rpc_get_block_base_fee(s->rpc, "pending", &base) < 0 &&
	    eth_rpc_get_block_base_fee(s->rpc, "latest", &base) < 0)
		return log_err("cw_sender: cannot read the base fee");
	if (cws_mul_div(base, 2, 1, 0, &f->max) < 0 || __builtin_add_overflow(f->max, prio, &f->max) ||
	    f->max > INT64_MAX)
		return log_err("cw_sender: base fee %" PRIu64 " out of range", base);
	f->prio = prio;
	if (s->fee_boost_percent > 100 &&
	    (cws_mul_div(f->prio, s->fee_boost_percent, 100, 1, &f->prio) < 0 ||
	     cws_mul_div(f->max, s->fee_boost_percent, 100, 1, &f->max) < 0))
		return log_err("cw_sender: boosted fees out of range");
	return 0;
}

int cws_sign_tx(struct cw_sender *s, uint64_t nonce, const unsigned char to[20],
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

/*
 * Insert the txs row (pending, sent_at NULL) and move the job, in one
 * transaction, before anything is broadcast.  1 recorded, 0 the job is no
 * longer where we expected it (nothing recorded), -1 error.
 */
int cws_record_tx(struct cw_sender *s, struct new_tx *t, enum job_move move)
{
	sqlite3_stmt *st;
	int64_t now = cws_now_ms();
	int n;

	if (cws_begin(s) < 0)
		return -1;
	st = cws_prep(s, "INSERT INTO txs(kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas,"
		     " state, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)");
	if (!st)
		return cws_rollback(s);
	sqlite3_bind_text(st, 1, t->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)t->nonce);
	sqlite3_bind_blob(st, 4, t->hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 5, t->raw.data, t->raw.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)t->fees.max);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)t->fees.prio);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)t->gas);
	sqlite3_bind_int64(st, 9, now);
	if (cws_run(s, st) != 1)
		return cws_rollback(s);
	t->id = sqlite3_last_insert_rowid(s->db->h);
	switch (move) {
	case MOVE_SUBMIT:
		st = cws_prep(s, "UPDATE jobs SET state = 'submitted', submit_tx = ?2, updated = ?3"
			     " WHERE job_id = ?1 AND state = 'executed'");
		break;
	case MOVE_RESUBMIT:
		st = cws_prep(s, "UPDATE jobs SET submit_tx = ?2, updated = ?3"
			     " WHERE job_id = ?1 AND state = 'submitted'");
		break;
	case MOVE_SLASH:
		st = cws_prep(s, "UPDATE jobs SET slash_state = 'sent', updated = ?3"
			     " WHERE job_id = ?1 AND slash_state = 'pending'");
		break;
	case MOVE_NONE:
		return cws_commit(s) < 0 ? -1 : 1;
	}
	if (!st)
		return cws_rollback(s);
	sqlite3_bind_text(st, 1, t->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t->id);
	sqlite3_bind_int64(st, 3, now);
	n = cws_run(s, st);
	if (n < 0)
		return cws_rollback(s);
	if (n == 0 && move != MOVE_RESUBMIT) {
		/* The watcher moved the job meanwhile (reorg, confirmation): send nothing. */
		cws_rollback(s);
		return 0;
	}
	return cws_commit(s) < 0 ? -1 : 1;
}

/*
 * Mark a row that was never accepted 'dropped'; with give_back, return its
 * job to the queue (a new nonce's transaction; a failed replacement leaves
 * the job with the rows it replaces).
 */
int cws_drop_tx(struct cw_sender *s, const struct new_tx *t, int give_back)
{
	sqlite3_stmt *st;

	if (cws_begin(s) < 0)
		return -1;
	st = cws_prep(s, "UPDATE txs SET state = 'dropped' WHERE id = ?1 AND state = 'pending'");
	if (!st)
		return cws_rollback(s);
	sqlite3_bind_int64(st, 1, t->id);
	if (cws_run(s, st) < 0)
		return cws_rollback(s);
	st = NULL;
	if (!give_back)
		; /* the job stays with the older rows of this nonce */
	else if (!strcmp(t->kind, "submit"))
		st = cws_prep(s, "UPDATE jobs SET state = 'executed', submit_tx = NULL, updated = ?3"
			     " WHERE job_id = ?1 AND state = 'submitted' AND submit_tx = ?2");
	else if (!strcmp(t->kind, "slash"))
		st = cws_prep(s, "UPDATE jobs SET slash_state = 'pending', updated = ?3"
			     " WHERE job_id = ?1 AND slash_state = 'sent'");
	if (st) {
		sqlite3_bind_text(st, 1, t->job_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, t->id);
		sqlite3_bind_int64(st, 3, cws_now_ms());
		if (cws_run(s, st) < 0)
			return cws_rollback(s);
	}
	return cws_commit(s);
}

void cws_log_sent(const char *what, const char *kind, const char *job_id, uint64_t nonce,
		     const unsigned char hash[32], uint64_t max_fee, uint64_t prio, uint64_t gas)
{
	char h[ETH_HEX_STR_SIZE(32)];

	log_msg(LOG_INFO, "cw_sender: %s %s tx for job %s: nonce %" PRIu64 " hash %s"
		" max_fee %" PRIu64 " priority_fee %" PRIu64 " gas %" PRIu64,
		what, kind, job_id ? job_id : "-", nonce, cws_hash_hex(hash, h), max_fee, prio, gas);
}

/*
 * eth_sendRawTransaction.  "nonce too low" for bytes the node already
 * mined (a retried request whose first attempt went through) is SEND_KNOWN:
 * the receipt tells.  The node's message goes to msg (for logs).
 */
enum send_outcome cws_broadcast(struct cw_sender *s, const struct buf *raw,
				   const unsigned char hash[32], char *msg, size_t msgsz)
{
	struct eth_rpc_receipt rc;
	unsigned char got[32];
	enum send_outcome o;

	o = cws_classify(eth_rpc_send_raw_transaction(s->rpc, (const unsigned char *)raw->data,
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
		cws_log_sent("sent", t->kind, t->job_id, t->nonce, t->hash, t->fees.max, t->fees.prio,
			 t->gas);
		if (s->test_stop == CW_SENDER_STOP_AFTER_SEND) {
			s->stopped = 1;
			return 1;
		}
		return cws_set_sent_at(s, t->id);
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
	if (cws_drop_tx(s, t, 1) < 0)
		return -1;
	return 1;
}

/*
 * Sign, record and broadcast a new transaction to Jobs with the next
 * nonce.  0 sent or settled, 1 stop this tick (dropped, or outcome
 * unknown), -1 error.
 */
int cws_send_new(struct cw_sender *s, const char *kind, const char *job_id,
		    const unsigned char *data, size_t len, uint64_t estimate)
{
	struct new_tx t = { .kind = kind, .job_id = job_id, .raw = BUF_INIT };
	enum job_move move = !strcmp(kind, "slash") ? MOVE_SLASH : MOVE_SUBMIT;
	int rc;

	if (!s->have_nonce && cws_nonce_refresh(s) < 0)
		return -1;
	if (cws_market_fees(s, &t.fees) < 0)
		return -1;
	if (cws_mul_div(estimate, 100 + (uint64_t)s->conf->gas_margin_percent, 100, 0, &t.gas) < 0)
		return log_err("cw_sender: gas estimate %" PRIu64 " out of range", estimate);
	t.nonce = s->nonce;
	if (cws_sign_tx(s, t.nonce, s->jobs_addr, data, len, t.gas, &t.fees, &t.raw, t.hash) < 0) {
		buf_release(&t.raw);
		return -1;
	}
	rc = cws_record_tx(s, &t, move);
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
		enum send_outcome o = cws_broadcast(s, &t.raw, t.hash, msg, sizeof(msg));

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
int cws_collect_ids(struct cw_sender *s, sqlite3_stmt *st, int64_t **out, size_t *nout)
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

	st = cws_prep(s, "SELECT kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas"
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
	cws_column_text(st, 0, kind, sizeof(kind));
	cws_column_text(st, 1, job, sizeof(job));
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

	o = cws_broadcast(s, &raw, hash, msg, sizeof(msg));
	buf_release(&raw);
	if (o == SEND_UNKNOWN)
		return 1;
	if (o != SEND_OK && o != SEND_KNOWN)
		/* Refused now: step 2 replaces it (same nonce) after resend_after_ms. */
		log_msg(LOG_WARN, "cw_sender: re-broadcast of %s tx %" PRId64 " (nonce %" PRIu64
			") refused: %s", kind, id, nonce, msg);
	else
		cws_log_sent("re-broadcast", kind, job, nonce, hash, max_fee, prio, gas);
	return cws_set_sent_at(s, id);
}

int cws_rebroadcast(struct cw_sender *s)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int r = 0;

	if (cws_collect_ids(s, cws_prep(s, "SELECT id FROM txs WHERE state = 'pending'"
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
