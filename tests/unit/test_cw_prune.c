/*
 * Tests for chain-watcher/cw_prune.c: retention of the chain queue on a
 * real database (db_open runs the migrations) filled as the watcher and
 * sender fill it.  Only jobs that are over, with no slash to come and no
 * pending transaction, and older than the cutoff go, with their
 * transactions and responses; pending transactions are never deleted; a
 * pass deletes at most CW_PRUNE_BATCH jobs and the tick asks for the next
 * batch at once; retention 0 keeps everything.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "cw_prune.h"
#include "db.h"
#include "banned.h"

static char dir[64];
static struct db db;

static void setup(void)
{
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/oyster-test-prune-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/executor.db", dir);
	ck_assert_int_eq(db_open(&db, path), 0);
}

static void teardown(void)
{
	char cmd[128];

	db_close(&db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void sql(const char *s)
{
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(db.h, s, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", s, msg ? msg : "");
}

static long long count(const char *q)
{
	sqlite3_stmt *st;
	long long n;

	ck_assert_int_eq(sqlite3_prepare_v2(db.h, q, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int has_job(const char *id)
{
	char q[128];

	snprintf(q, sizeof(q), "SELECT count(*) FROM jobs WHERE job_id = '%s'", id);
	return (int)count(q);
}

/* A job in state (slash_state NULL when slash is NULL), last changed at updated ms. */
static void job(const char *id, const char *state, const char *slash, long long updated)
{
	char q[768];

	snprintf(q, sizeof(q),
		 "INSERT INTO jobs(job_id, env, job_owner, codehash, code_inputs, deadline_ms, selected, ours,"
		 " block_number, block_hash, tx_hash, log_index, block_time, seen_at, state, slash_state, updated)"
		 " VALUES ('%s', 1, x'00', x'00', x'', 1000, x'', 1, 1, x'00', x'00', 0, 0, 0, '%s', %s%s%s, %lld);"
		 "INSERT INTO job_responses(job_id, executor, output_count, error_code, block_number, log_index)"
		 " VALUES ('%s', x'00', 1, 0, %lld, 0)",
		 id, state, slash ? "'" : "", slash ? slash : "NULL", slash ? "'" : "", updated, id,
		 (long long)(10 + strtol(id, NULL, 10)));
	sql(q);
}

static void tx(const char *job_id, const char *state)
{
	char q[512];

	snprintf(q, sizeof(q),
		 "INSERT INTO txs(kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas, state, created)"
		 " VALUES ('submit', '%s', 0, x'00', x'00', 1, 1, 21000, '%s', 0)",
		 job_id, state);
	sql(q);
}

START_TEST(test_prunes_only_jobs_that_are_over)
{
	const long long old = 1000, cutoff = 5000, recent = 9000;

	job("1", "confirmed", NULL, old);  /* over, old: goes */
	tx("1", "mined");
	tx("1", "replaced");
	job("2", "failed", "done", old);   /* over, slashed: goes */
	job("3", "observed", NULL, old);   /* not ours: goes */
	job("4", "expired", "skipped", old);
	job("5", "dropped", NULL, old);
	job("6", "skipped", NULL, old);
	job("11", "confirmed", NULL, recent); /* too recent */
	job("12", "submitted", NULL, old);    /* still in flight */
	tx("12", "pending");
	job("13", "seen", NULL, old);
	job("14", "claimed", NULL, old);
	job("15", "executed", NULL, old);
	job("16", "observed", "pending", old); /* a slash to send */
	job("17", "observed", "sent", old);    /* a slash in flight */
	job("18", "failed", NULL, old);        /* over, but a pending tx still names it */
	tx("18", "pending");

	ck_assert_int_eq(cw_prune_jobs(&db, cutoff), 6);
	for (const char *const *id = (const char *const[]){ "1", "2", "3", "4", "5", "6", NULL }; *id; id++)
		ck_assert_msg(!has_job(*id), "job %s should be gone", *id);
	for (const char *const *id = (const char *const[]){ "11", "12", "13", "14", "15", "16", "17", "18", NULL };
	     *id; id++)
		ck_assert_msg(has_job(*id), "job %s should be kept", *id);
	/* their transactions and responses went with them; pending ones stay */
	ck_assert_int_eq(count("SELECT count(*) FROM txs WHERE job_id = '1'"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM txs WHERE state = 'pending'"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM job_responses WHERE job_id IN ('1','2','3','4','5','6')"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM job_responses"), 8);
	/* nothing more to do */
	ck_assert_int_eq(cw_prune_jobs(&db, cutoff), 0);
}
END_TEST

START_TEST(test_batches_and_schedule)
{
	struct conf c;
	struct cw_prune p = { 0 };
	const long long day = 86400LL * 1000;
	const long long now = 100 * day;
	char id[16];

	conf_defaults(&c);
	ck_assert_int_eq(c.job_retention_days, 30);
	sql("BEGIN");
	for (int i = 0; i < CW_PRUNE_BATCH + 10; i++) {
		snprintf(id, sizeof(id), "%d", 1000 + i);
		job(id, "confirmed", NULL, now - 31 * day);
	}
	job("1", "confirmed", NULL, now - 29 * day); /* within retention */
	sql("COMMIT");

	cw_prune_tick(&p, &db, &c, now);
	ck_assert_int_eq(count("SELECT count(*) FROM jobs"), 11);
	ck_assert_int_eq(p.next_ms, now); /* a full batch: the rest at the next tick */
	cw_prune_tick(&p, &db, &c, now);
	ck_assert_int_eq(count("SELECT count(*) FROM jobs"), 1);
	ck_assert(has_job("1"));
	ck_assert_int_eq(p.next_ms, now + CW_PRUNE_EVERY_MS);
	/* not due again before the hour */
	job("2", "confirmed", NULL, now - 40 * day);
	cw_prune_tick(&p, &db, &c, now + 1000);
	ck_assert(has_job("2"));
	cw_prune_tick(&p, &db, &c, now + CW_PRUNE_EVERY_MS);
	ck_assert(!has_job("2"));

	/* retention 0: kept forever */
	c.job_retention_days = 0;
	p.next_ms = 0;
	job("3", "confirmed", NULL, 0);
	cw_prune_tick(&p, &db, &c, now + 2 * CW_PRUNE_EVERY_MS);
	ck_assert(has_job("3"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cw_prune");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_prunes_only_jobs_that_are_over);
	tcase_add_test(tc, test_batches_and_schedule);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
