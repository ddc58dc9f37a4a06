/*
 * Tests for fcgi-app/fa_stats_chain.c: chain metrics read from the tables
 * the chain watcher writes.  A real database (db_open runs the migrations)
 * is filled with rows as the watcher and sender write them, and the
 * exposition is checked line by line: head, cursor and lag, every job
 * state (0 when empty), transactions split into pending / confirmed /
 * failed (mined but reverted), gas spent past 2^64 wei, and database text
 * that would break the format is never copied into a label.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "fa_stats.h"
#include "banned.h"

static char dir[64];
static struct db db;

static void setup(void)
{
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/oyster-test-chainstats-XXXXXX");
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

static int has_line(const struct buf *out, const char *line)
{
	size_t n = strlen(line);
	const char *p = out->data;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && !memcmp(p, line, n))
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

#define ASSERT_LINE(out, line) \
	ck_assert_msg(has_line((out), (line)), "missing line [%s] in:\n%s", (line), buf_cstr(out))

static void job(const char *id, const char *state)
{
	char q[512];

	snprintf(q, sizeof(q),
		 "INSERT INTO jobs(job_id, env, job_owner, codehash, code_inputs, deadline_ms, selected, ours,"
		 " block_number, block_hash, tx_hash, log_index, block_time, seen_at, state, updated)"
		 " VALUES ('%s', 1, x'00', x'00', x'', 1000, x'', 1, 1, x'00', x'00', 0, 0, 0, '%s', 0)",
		 id, state);
	sql(q);
}

static void tx(const char *kind, const char *state, const char *status, const char *gas_used,
	       const char *gas_price)
{
	char q[512];

	snprintf(q, sizeof(q),
		 "INSERT INTO txs(kind, job_id, nonce, hash, raw, max_fee, priority_fee, gas, state, status,"
		 " gas_used, gas_price, created) VALUES ('%s', '1', 0, x'00', x'00', 1, 1, 21000, '%s', %s, %s, %s, 0)",
		 kind, state, status, gas_used, gas_price);
	sql(q);
}

START_TEST(test_empty_database)
{
	struct buf out = BUF_INIT;
	struct fa_chain_status cs;

	ck_assert_int_eq(fa_chain_status(&db, &cs), 0);
	ck_assert_int_eq(cs.have_head, 0);
	ck_assert_int_eq(cs.have_cursor, 0);
	ck_assert_int_eq(fa_stats_chain_prometheus(&db, &out), 0);
	/* nothing known about the chain yet: no head, cursor or lag series */
	ck_assert_ptr_null(strstr(buf_cstr(&out), "oyster_chain_head_block"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "oyster_chain_lag_blocks"));
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"seen\"} 0");
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"confirmed\"} 0");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"submit\",state=\"failed\"} 0");
	ASSERT_LINE(&out, "oyster_chain_gas_spent_wei_total{kind=\"submit\"} 0");
	buf_release(&out);
}
END_TEST

START_TEST(test_head_cursor_lag)
{
	struct buf out = BUF_INIT;
	struct fa_chain_status cs;
	char line[96];
	time_t now = time(NULL);

	ck_assert_int_eq(db_config_set(&db, "chain_head", "1234", 4), 0);
	sql("INSERT INTO chain_cursor(id, next_block) VALUES (1, 1200)");
	ck_assert_int_eq(fa_chain_status(&db, &cs), 0);
	ck_assert_int_eq(cs.have_head, 1);
	ck_assert_uint_eq(cs.head, 1234);
	ck_assert_int_ge(cs.head_updated, now);
	ck_assert_int_le(cs.head_updated, now + 5);
	ck_assert_int_eq(cs.have_cursor, 1);
	ck_assert_uint_eq(cs.processed, 1199);
	ck_assert_int_eq(fa_stats_chain_prometheus(&db, &out), 0);
	ASSERT_LINE(&out, "oyster_chain_head_block 1234");
	ASSERT_LINE(&out, "oyster_chain_cursor_block 1199");
	ASSERT_LINE(&out, "oyster_chain_lag_blocks 35");
	snprintf(line, sizeof(line), "oyster_chain_head_updated_timestamp_seconds %lld", (long long)cs.head_updated);
	ASSERT_LINE(&out, line);
	/* a cursor ahead of a stale head is no lag, not a wrap-around */
	sql("UPDATE chain_cursor SET next_block = 5000");
	buf_reset(&out);
	ck_assert_int_eq(fa_stats_chain_prometheus(&db, &out), 0);
	ASSERT_LINE(&out, "oyster_chain_lag_blocks 0");
	/* a head that is not a decimal number is ignored */
	ck_assert_int_eq(db_config_set(&db, "chain_head", "12a4", 4), 0);
	ck_assert_int_eq(fa_chain_status(&db, &cs), 0);
	ck_assert_int_eq(cs.have_head, 0);
	ck_assert_int_eq(db_config_set(&db, "chain_head", "99999999999999999999999", 23), 0);
	ck_assert_int_eq(fa_chain_status(&db, &cs), 0);
	ck_assert_int_eq(cs.have_head, 0);
	buf_release(&out);
}
END_TEST

START_TEST(test_jobs_and_txs)
{
	struct buf out = BUF_INIT;

	job("1", "confirmed");
	job("2", "confirmed");
	job("3", "seen");
	job("4", "failed");
	job("5", "expired");
	job("6", "weird\"}\nstate"); /* never copied into a label */
	job("7", "newstate");        /* a state added later still shows */
	/* 1e19 wei each: the sum passes 2^64 */
	tx("submit", "mined", "1", "100000", "100000000000000");
	tx("submit", "mined", "1", "100000", "100000000000000");
	tx("submit", "mined", "0", "100000", "100000000000000"); /* reverted: failed, still paid */
	tx("submit", "pending", "NULL", "NULL", "NULL");
	tx("submit", "replaced", "NULL", "NULL", "NULL");
	tx("slash", "mined", "1", "30000", "2");
	tx("cancel", "dropped", "NULL", "NULL", "NULL");
	ck_assert_int_eq(fa_stats_chain_prometheus(&db, &out), 0);
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"confirmed\"} 2");
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"seen\"} 1");
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"failed\"} 1");
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"expired\"} 1");
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"claimed\"} 0");
	ASSERT_LINE(&out, "oyster_chain_jobs{state=\"newstate\"} 1");
	ck_assert_ptr_null(strstr(buf_cstr(&out), "weird"));
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"submit\",state=\"confirmed\"} 2");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"submit\",state=\"failed\"} 1");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"submit\",state=\"pending\"} 1");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"submit\",state=\"replaced\"} 1");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"slash\",state=\"confirmed\"} 1");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"slash\",state=\"pending\"} 0");
	ASSERT_LINE(&out, "oyster_chain_transactions{kind=\"cancel\",state=\"dropped\"} 1");
	ASSERT_LINE(&out, "oyster_chain_gas_spent_wei_total{kind=\"submit\"} 30000000000000000000");
	ASSERT_LINE(&out, "oyster_chain_gas_spent_wei_total{kind=\"slash\"} 60000");
	ASSERT_LINE(&out, "oyster_chain_gas_spent_wei_total{kind=\"cancel\"} 0");
	/* the exposition is well formed: every line a comment or an oyster_chain_ sample */
	{
		const char *p = out.data;
		while (*p) {
			ck_assert_msg(!strncmp(p, "# HELP oyster_chain_", 20) || !strncmp(p, "# TYPE oyster_chain_", 20) ||
					      !strncmp(p, "oyster_chain_", 13),
				      "stray line at [%.40s]", p);
			p = strchr(p, '\n') + 1;
		}
	}
	buf_release(&out);
}
END_TEST

START_TEST(test_database_error)
{
	struct buf out = BUF_INIT;
	struct fa_chain_status cs;

	sql("DROP TABLE chain_cursor");
	ck_assert_int_eq(fa_chain_status(&db, &cs), -1);
	ck_assert_int_eq(fa_stats_chain_prometheus(&db, &out), -1);
	buf_release(&out);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fa_stats_chain");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_database);
	tcase_add_test(tc, test_head_cursor_lag);
	tcase_add_test(tc, test_jobs_and_txs);
	tcase_add_test(tc, test_database_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
