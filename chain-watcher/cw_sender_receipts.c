/* The sender's step 2: receipts, replacements, cancels.  See cw_sender_int.h. */
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

/* ---- step 2: receipts, replacements, cancels ----------------------------- */

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

	st = cws_prep(s, "SELECT id, kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas, sent_at"
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
		cws_column_text(st, 1, p->kind, sizeof(p->kind));
		cws_column_text(st, 2, p->job_id, sizeof(p->job_id));
		p->nonce = (uint64_t)sqlite3_column_int64(st, 3);
		p->fees.max = (uint64_t)sqlite3_column_int64(st, 6);
		p->fees.prio = (uint64_t)sqlite3_column_int64(st, 7);
		p->gas = (uint64_t)sqlite3_column_int64(st, 8);
		p->sent = sqlite3_column_type(st, 9) != SQLITE_NULL;
		if (!h || sqlite3_column_bytes(st, 4) != 32 || !raw || len <= 0 ||
		    buf_add(&p->raw, raw, (size_t)len) < 0 ||
		    cws_raw_sender(p->raw.data, p->raw.len, &tx, p->from) < 0) {
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
	int64_t now = cws_now_ms();
	char h[ETH_HEX_STR_SIZE(32)];

	if (cws_begin(s) < 0)
		return -1;
	st = cws_prep(s, "UPDATE txs SET state = 'mined', status = ?2, gas_used = ?3, gas_price = ?4,"
		     " mined_block = ?5 WHERE id = ?1 AND state = 'pending'");
	if (!st)
		return cws_rollback(s);
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int(st, 2, rc->status);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rc->gas_used);
	if (rc->effective_gas_price && rc->effective_gas_price <= INT64_MAX)
		sqlite3_bind_int64(st, 4, (sqlite3_int64)rc->effective_gas_price);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)rc->block_number);
	if (cws_run(s, st) < 0)
		return cws_rollback(s);
	for (size_t i = 0; i < ng; i++) {
		if (grp[i].id == p->id)
			continue;
		st = cws_prep(s, "UPDATE txs SET state = 'replaced' WHERE id = ?1 AND state = 'pending'");
		if (!st)
			return cws_rollback(s);
		sqlite3_bind_int64(st, 1, grp[i].id);
		if (cws_run(s, st) < 0)
			return cws_rollback(s);
	}
	st = NULL;
	if (!strcmp(p->kind, "submit")) {
		st = cws_prep(s, "UPDATE jobs SET state = CASE WHEN ?3 = 1 THEN 'confirmed' ELSE 'failed' END,"
			     " note = CASE WHEN ?3 = 1 THEN note ELSE 'submitOutput reverted' END,"
			     " submit_tx = ?2, updated = ?4 WHERE job_id = ?1 AND state = 'submitted'");
	} else if (!strcmp(p->kind, "slash")) {
		st = cws_prep(s, "UPDATE jobs SET slash_state = CASE WHEN ?3 = 1 THEN 'done' ELSE 'skipped' END,"
			     " updated = ?4 WHERE job_id = ?1 AND slash_state = 'sent'");
	} else if (!strcmp(p->kind, "cancel")) {
		st = cws_prep(s, "UPDATE jobs SET state = 'expired', note = 'cancelled', updated = ?4"
			     " WHERE job_id = ?1 AND state = 'submitted'");
	}
	if (st) {
		sqlite3_bind_text(st, 1, p->job_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, p->id);
		sqlite3_bind_int(st, 3, rc->status);
		sqlite3_bind_int64(st, 4, now);
		if (cws_run(s, st) < 0)
			return cws_rollback(s);
	}
	if (cws_commit(s) < 0)
		return -1;
	log_msg(LOG_INFO, "cw_sender: receipt: %s tx for job %s nonce %" PRIu64 " hash %s status %d"
		" block %" PRIu64 " gas_used %" PRIu64 " gas_price %" PRIu64 "%s",
		p->kind, p->job_id[0] ? p->job_id : "-", p->nonce, cws_hash_hex(p->hash, h), rc->status,
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

	if (cws_begin(s) < 0)
		return -1;
	for (size_t i = 0; i < ng; i++) {
		sqlite3_stmt *st = cws_prep(s, "UPDATE txs SET state = 'dropped'"
					   " WHERE id = ?1 AND state = 'pending'");

		if (!st)
			return cws_rollback(s);
		sqlite3_bind_int64(st, 1, grp[i].id);
		if (cws_run(s, st) < 0)
			return cws_rollback(s);
	}
	if (cws_commit(s) < 0)
		return -1;
	/* Submissions and their cancels leave the job 'submitted'; slashes 'sent'. */
	if (!strcmp(kind, "slash"))
		rc = cws_job_settle(s, job, "slash_state", "sent", "pending", NULL);
	else
		rc = cws_job_settle(s, job, "state", "submitted", "executed", NULL);
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
	sqlite3_stmt *st = cws_prep(s, "SELECT MAX(MAX(created, COALESCE(sent_at, 0))) FROM txs"
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
	uint64_t bump = 100 + cws_max_u64((uint64_t)s->conf->fee_bump_percent, 10);
	enum job_move move = MOVE_NONE;
	const unsigned char *to = s->jobs_addr, *data = NULL;
	char msg[MSG_SIZE];
	size_t len = 0;
	enum send_outcome o;
	int rc;

	for (size_t i = 0; i < ng; i++) {
		old.prio = cws_max_u64(old.prio, grp[i].fees.prio);
		old.max = cws_max_u64(old.max, grp[i].fees.max);
	}
	if (cws_raw_sender(last->raw.data, last->raw.len, &orig, from) < 0)
		return -1;
	t.kind = last->kind;
	if (!strcmp(last->kind, "submit")) {
		int64_t end = 0;
		int got = cws_job_window(s, last->job_id, &end);

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
	if (cws_market_fees(s, &mkt) < 0)
		return -1;
	if (cws_mul_div(old.prio, bump, 100, 1, &t.fees.prio) < 0 ||
	    cws_mul_div(old.max, bump, 100, 1, &t.fees.max) < 0)
		return log_err("cw_sender: bumped fees out of range");
	t.fees.prio = cws_max_u64(cws_max_u64(t.fees.prio, old.prio + 1), mkt.prio);
	t.fees.max = cws_max_u64(cws_max_u64(t.fees.max, old.max + 1), mkt.max);
	if (t.fees.max < t.fees.prio)
		t.fees.max = t.fees.prio;
	if (cws_sign_tx(s, t.nonce, to, data, len, t.gas, &t.fees, &t.raw, t.hash) < 0) {
		buf_release(&t.raw);
		return -1;
	}
	rc = cws_record_tx(s, &t, move);
	if (rc <= 0) {
		buf_release(&t.raw);
		return rc;
	}
	o = cws_broadcast(s, &t.raw, t.hash, msg, sizeof(msg));
	buf_release(&t.raw);
	switch (o) {
	case SEND_OK:
	case SEND_KNOWN:
		cws_log_sent(strcmp(t.kind, last->kind) ? "sent (replacing a stuck submission)" :
			 "sent replacement", t.kind, t.job_id, t.nonce, t.hash, t.fees.max,
			 t.fees.prio, t.gas);
		return cws_set_sent_at(s, t.id);
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
	return cws_drop_tx(s, &t, 0);
}

static int handle_group(struct cw_sender *s, const struct ptx *grp, size_t ng,
			uint64_t *latest, int *have_latest)
{
	struct eth_rpc_receipt rc;
	int64_t now = cws_now_ms(), last = 0;
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

int cws_receipts(struct cw_sender *s)
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
