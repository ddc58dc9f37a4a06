/* Retention of the chain queue.  See cw_prune.h. */
#include "cw_prune.h"

#include <sqlite3.h>

#include "log.h"
#include "banned.h"

static const char *const prune_sql[] = {
	"CREATE TEMP TABLE IF NOT EXISTS prune_ids (job_id TEXT PRIMARY KEY)",
	"DELETE FROM temp.prune_ids",
	"INSERT INTO temp.prune_ids SELECT job_id FROM jobs"
	" WHERE state IN ('confirmed', 'failed', 'expired', 'dropped', 'observed', 'skipped')"
	" AND (slash_state IS NULL OR slash_state IN ('done', 'skipped'))"
	" AND updated < ?1"
	" AND job_id NOT IN (SELECT job_id FROM txs WHERE state = 'pending' AND job_id IS NOT NULL)"
	" LIMIT ?2",
	"DELETE FROM job_responses WHERE job_id IN (SELECT job_id FROM temp.prune_ids)",
	"DELETE FROM txs WHERE state != 'pending' AND job_id IN (SELECT job_id FROM temp.prune_ids)",
	"DELETE FROM jobs WHERE job_id IN (SELECT job_id FROM temp.prune_ids)",
};
#define PRUNE_STEPS (sizeof(prune_sql) / sizeof(prune_sql[0]))

int cw_prune_jobs(struct db *db, int64_t cutoff_ms)
{
	int n = -1;

	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return log_err("cw_prune: begin: %s", sqlite3_errmsg(db->h));
	for (size_t i = 0; i < PRUNE_STEPS; i++) {
		sqlite3_stmt *st;
		int rc;

		if (sqlite3_prepare_v2(db->h, prune_sql[i], -1, &st, NULL) != SQLITE_OK) {
			log_err("cw_prune: %s: %s", prune_sql[i], sqlite3_errmsg(db->h));
			goto fail;
		}
		if (sqlite3_bind_parameter_count(st) == 2) {
			sqlite3_bind_int64(st, 1, (sqlite3_int64)cutoff_ms);
			sqlite3_bind_int(st, 2, CW_PRUNE_BATCH);
		}
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			log_err("cw_prune: %s: %s", prune_sql[i], sqlite3_errmsg(db->h));
			goto fail;
		}
		if (i == PRUNE_STEPS - 1)
			n = sqlite3_changes(db->h);
	}
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_err("cw_prune: commit: %s", sqlite3_errmsg(db->h));
		goto fail;
	}
	return n;
fail:
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

void cw_prune_tick(struct cw_prune *p, struct db *db, const struct conf *c, int64_t now_ms)
{
	int n;

	if (!c->job_retention_days || now_ms < p->next_ms)
		return;
	n = cw_prune_jobs(db, now_ms - c->job_retention_days * 86400 * 1000);
	if (n > 0)
		log_msg(LOG_INFO, "cw_prune: deleted %d jobs over for more than %lld days, with their "
			"transactions", n, (long long)c->job_retention_days);
	/* A full batch: more are due, at the next tick.  A failure: in a minute. */
	p->next_ms = now_ms + (n == CW_PRUNE_BATCH ? 0 : n < 0 ? 60 * 1000 : CW_PRUNE_EVERY_MS);
}
