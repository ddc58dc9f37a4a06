/*
 * The chain watcher: the cursor, the stored block hashes and reorgs (the
 * common ancestor found, what was stored past it undone).  See cw_watch.c.
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

/* ---- cursor, block hashes, reorgs ---------------------------------------- */

/* 1 and *next, 0 no cursor yet, -1 error. */
int cww_cursor_get(struct cw_watch *w, uint64_t *next)
{
	sqlite3_stmt *s = cww_stmt(w, ST_CURSOR_GET);
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

int cww_cursor_put(struct cw_watch *w, int id, uint64_t next)
{
	sqlite3_stmt *s = cww_stmt(w, id);

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)next);
	return cww_step_done(w, s, "write cursor");
}


/* Stored block hashes below `below`, highest first (all of them when all != 0). */
static int hashes_below(struct cw_watch *w, uint64_t below, int all, struct blk **out, size_t *n)
{
	sqlite3_stmt *s = cww_stmt(w, all ? ST_HASHES_DESC : ST_TOP_HASH);
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
	int64_t now = cww_now_ms();

	if (cww_sql_exec(w->db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (warn_kept_jobs(w, resume) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (exec_bound(w, steps[i], resume, now) < 0)
			goto fail;
	if (cww_cursor_put(w, ST_CURSOR_SET, resume) < 0 || cww_sql_exec(w->db, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	cww_rollback(w->db);
	return -1;
}


/*
 * Compare the highest stored block below *next with the chain; on a
 * mismatch find the common ancestor and undo past it.  0 go on (anchor set
 * when there is one), 1 wait (the node lacks our block), -1 error.
 */
int cww_reorg_check(struct cw_watch *w, uint64_t *next, struct anchor *a)
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
