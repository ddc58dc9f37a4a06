/*
 * Tests for fcgi-app/fa_stats.c: the shared counters and their Prometheus
 * rendering.
 *
 * Metrics are asserted as exact exposition lines (name, labels, value), so
 * a renamed label or an off-by-one bucket fails.  The histogram is checked
 * for the Prometheus rules (cumulative buckets, +Inf equal to _count, _sum
 * in seconds) with values on and just past each bucket bound.  The mapping
 * must be shared across fork(): a child's increments are visible to the
 * parent, and concurrent increments from both are all counted.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fa_stats.h"
#include "sandbox.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------ */

static struct fa_stats *st;

static void setup(void)
{
	st = fa_stats_create();
	ck_assert_ptr_nonnull(st);
}

static void teardown(void)
{
	munmap(st, sizeof(*st));
	st = NULL;
}

static void render(struct buf *out)
{
	buf_reset(out);
	ck_assert_int_eq(fa_stats_prometheus(st, out), 0);
	ck_assert_uint_gt(out->len, 0);
	ck_assert_int_eq(out->data[out->len - 1], '\n');
}

/* The exposition contains this exact line. */
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
#define ASSERT_NO_LINE(out, line) \
	ck_assert_msg(!has_line((out), (line)), "unexpected line [%s]", (line))

/* Number of lines starting with prefix. */
static size_t count_prefix(const struct buf *out, const char *prefix)
{
	size_t n = 0, k = strlen(prefix);
	const char *p = out->data;

	while (p && *p) {
		if (!strncmp(p, prefix, k))
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(test_empty)
{
	struct buf out = BUF_INIT;
	time_t now = time(NULL);

	ck_assert_uint_le(st->started_unix, (uint64_t)now);
	ck_assert_uint_ge(st->started_unix + 5, (uint64_t)now);
	st->nslots = 3;
	render(&out);
	/* families are declared even with nothing counted */
	ASSERT_LINE(&out, "# TYPE oyster_http_requests_total counter");
	ASSERT_LINE(&out, "# TYPE oyster_execution_duration_seconds histogram");
	ASSERT_LINE(&out, "# TYPE oyster_slots gauge");
	ck_assert_uint_eq(count_prefix(&out, "oyster_http_requests_total{"), 0);
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_bucket{le=\"+Inf\"} 0");
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_sum 0.000");
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_count 0");
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"ok\"} 0");
	ASSERT_LINE(&out, "oyster_slots 3");
	ASSERT_LINE(&out, "oyster_slots_busy 0");
	ASSERT_LINE(&out, "oyster_queue_rejects_total 0");
	ASSERT_LINE(&out, "oyster_handler_restarts_total 0");
	{
		char line[96];
		snprintf(line, sizeof(line), "oyster_start_time_seconds %llu",
			 (unsigned long long)st->started_unix);
		ASSERT_LINE(&out, line);
	}
	/* every line is a comment or a sample of ours; every family has HELP and TYPE */
	{
		const char *p = out.data;
		while (*p) {
			ck_assert_msg(!strncmp(p, "# HELP oyster_", 14) || !strncmp(p, "# TYPE oyster_", 14) ||
					      !strncmp(p, "oyster_", 7),
				      "stray line at [%.40s]", p);
			p = strchr(p, '\n') + 1;
		}
	}
	ck_assert_uint_eq(count_prefix(&out, "# HELP "), count_prefix(&out, "# TYPE "));
	buf_release(&out);
}
END_TEST

START_TEST(test_requests_by_route_status)
{
	struct buf out = BUF_INIT;

	for (int i = 0; i < 3; i++)
		fa_stats_request(st, FA_ROUTE_SERVERLESS, 200);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 422);
	fa_stats_request(st, FA_ROUTE_CODE_POST, 413);
	fa_stats_request(st, FA_ROUTE_CODE_POST, 201);
	fa_stats_request(st, FA_ROUTE_CODE_GET, 404);
	fa_stats_request(st, FA_ROUTE_HEALTHZ, 200);
	fa_stats_request(st, FA_ROUTE_METRICS, 200);
	fa_stats_request(st, FA_ROUTE_OTHER, 405);
	/* untracked statuses share one series per route */
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 504);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 418);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 0);
	fa_stats_request(st, FA_ROUTE_OTHER, 999);
	/* ignored: invalid route, no stats */
	fa_stats_request(st, FA_ROUTE_COUNT, 200);
	fa_stats_request(st, (enum fa_route)-1, 200);
	fa_stats_request(NULL, FA_ROUTE_SERVERLESS, 200);

	render(&out);
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"serverless\",status=\"200\"} 3");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"serverless\",status=\"422\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"serverless\",status=\"other\"} 3");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"code_post\",status=\"413\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"code_post\",status=\"201\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"code_get\",status=\"404\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"healthz\",status=\"200\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"metrics\",status=\"200\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"other\",status=\"405\"} 1");
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"other\",status=\"other\"} 1");
	/* 504 is not a series of its own */
	ck_assert_ptr_null(strstr(out.data, "status=\"504\""));
	/* zero series are not rendered: exactly the ten above */
	ck_assert_uint_eq(count_prefix(&out, "oyster_http_requests_total{"), 10);

	/* every tracked status is its own series */
	{
		static const int tracked[] = { 200, 201, 204, 400, 403, 404, 405, 408,
					       410, 413, 415, 422, 429, 500, 502, 503 };
		char line[128];
		for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++)
			fa_stats_request(st, FA_ROUTE_HEALTHZ, tracked[i]);
		render(&out);
		for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++) {
			snprintf(line, sizeof(line),
				 "oyster_http_requests_total{route=\"healthz\",status=\"%d\"} %d",
				 tracked[i], tracked[i] == 200 ? 2 : 1);
			ASSERT_LINE(&out, line);
		}
		ASSERT_NO_LINE(&out, "oyster_http_requests_total{route=\"healthz\",status=\"other\"} 1");
	}
	buf_release(&out);
}
END_TEST

START_TEST(test_histogram)
{
	struct buf out = BUF_INIT;
	static const char *const le[] = { "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25",
					  "0.5",   "1",    "2.5",   "5",    "10",    "30",  "60" };
	static const unsigned long long bounds[] = { 5,   10,   25,   50,   75,    100,   250,
						     500, 1000, 2500, 5000, 10000, 30000, 60000 };
	/* per bucket: one on the bound (le is inclusive), one just past it */
	unsigned long long sum = 0, count = 0;
	char line[128];

	fa_stats_exec(st, SB_OK, 0);
	sum += 0;
	count++;
	for (size_t b = 0; b < 14; b++) {
		fa_stats_exec(st, SB_OK, bounds[b]);
		fa_stats_exec(st, SB_TIMEOUT, bounds[b] + 1);
		sum += 2 * bounds[b] + 1;
		count += 2;
	}
	fa_stats_exec(st, SB_CRASHED, 1000000);
	sum += 1000000;
	count++;
	fa_stats_exec(NULL, SB_OK, 5); /* ignored */

	render(&out);
	/* bucket b holds 0 (in the first), the value on bound b, and the one past bound b-1 */
	for (size_t b = 0; b < 14; b++) {
		unsigned long long cum = 1 + 2 * b + 1; /* zero, 2 per earlier bucket, the bound */
		snprintf(line, sizeof(line), "oyster_execution_duration_seconds_bucket{le=\"%s\"} %llu",
			 le[b], cum);
		ASSERT_LINE(&out, line);
	}
	snprintf(line, sizeof(line), "oyster_execution_duration_seconds_bucket{le=\"+Inf\"} %llu",
		 count);
	ASSERT_LINE(&out, line);
	snprintf(line, sizeof(line), "oyster_execution_duration_seconds_count %llu", count);
	ASSERT_LINE(&out, line);
	snprintf(line, sizeof(line), "oyster_execution_duration_seconds_sum %llu.%03llu", sum / 1000,
		 sum % 1000);
	ASSERT_LINE(&out, line);
	ck_assert_uint_eq(count_prefix(&out, "oyster_execution_duration_seconds_bucket{"), 15);
	/* buckets are in increasing order and never decrease */
	{
		const char *p = strstr(out.data, "oyster_execution_duration_seconds_bucket{");
		unsigned long long prev = 0, v;
		for (int i = 0; i < 15; i++) {
			const char *sp;
			ck_assert_ptr_nonnull(p);
			sp = strchr(p, '}');
			v = strtoull(sp + 2, NULL, 10);
			ck_assert_uint_ge(v, prev);
			prev = v;
			p = strstr(sp, "oyster_execution_duration_seconds_bucket{");
		}
		ck_assert_uint_eq(prev, count);
	}
	/* outcomes */
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"ok\"} 15");
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"timeout\"} 14");
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"crashed\"} 1");
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"oom\"} 0");
	ck_assert_uint_eq(count_prefix(&out, "oyster_executions_total{"), FA_OUTCOME_COUNT);
	/* an unknown outcome still counts as an execution, in no outcome series */
	fa_stats_exec(st, (enum sb_outcome)99, 1);
	render(&out);
	snprintf(line, sizeof(line), "oyster_execution_duration_seconds_count %llu", count + 1);
	ASSERT_LINE(&out, line);
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"ok\"} 15");
	buf_release(&out);
}
END_TEST

START_TEST(test_sum_seconds)
{
	struct buf out = BUF_INIT;

	fa_stats_exec(st, SB_OK, 1);
	fa_stats_exec(st, SB_OK, 1234);
	render(&out);
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_sum 1.235");
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_bucket{le=\"0.005\"} 1");
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_bucket{le=\"1\"} 1");
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_bucket{le=\"2.5\"} 2");
	buf_release(&out);
}
END_TEST

START_TEST(test_busy_slots)
{
	struct buf out = BUF_INIT;

	st->nslots = 4;
	ck_assert_uint_eq(fa_stats_busy_slots(st), 0);
	fa_stats_slot_busy(st, 0, 1);
	fa_stats_slot_busy(st, 2, 1);
	fa_stats_slot_busy(st, 3, 1);
	fa_stats_slot_busy(st, 3, 0);
	fa_stats_slot_busy(st, 2, 7); /* any non-zero is busy, counted once */
	ck_assert_uint_eq(fa_stats_busy_slots(st), 2);
	/* outside the configured slots or the table: not counted, no crash */
	fa_stats_slot_busy(st, 10, 1);
	fa_stats_slot_busy(st, FA_MAX_SLOTS, 1);
	fa_stats_slot_busy(st, 100000, 1);
	fa_stats_slot_busy(NULL, 0, 1);
	ck_assert_uint_eq(fa_stats_busy_slots(st), 2);
	render(&out);
	ASSERT_LINE(&out, "oyster_slots 4");
	ASSERT_LINE(&out, "oyster_slots_busy 2");
	fa_stats_slot_busy(st, 0, 0);
	fa_stats_slot_busy(st, 2, 0);
	ck_assert_uint_eq(fa_stats_busy_slots(st), 0);
	/* every slot of the table */
	st->nslots = FA_MAX_SLOTS;
	for (unsigned i = 0; i < FA_MAX_SLOTS; i++)
		fa_stats_slot_busy(st, i, 1);
	ck_assert_uint_eq(fa_stats_busy_slots(st), FA_MAX_SLOTS);
	buf_release(&out);
}
END_TEST

START_TEST(test_counters)
{
	struct buf out = BUF_INIT;

	fa_stats_add(&st->queue_rejects, 3);
	fa_stats_add(&st->queue_rejects, 2);
	fa_stats_add(&st->handler_restarts, 1);
	render(&out);
	ASSERT_LINE(&out, "oyster_queue_rejects_total 5");
	ASSERT_LINE(&out, "oyster_handler_restarts_total 1");
	ck_assert_str_eq(fa_route_name(FA_ROUTE_SERVERLESS), "serverless");
	ck_assert_str_eq(fa_route_name(FA_ROUTE_CODE_POST), "code_post");
	ck_assert_str_eq(fa_route_name(FA_ROUTE_COUNT), "other");
	ck_assert_str_eq(fa_route_name((enum fa_route)-1), "other");
	buf_release(&out);
}
END_TEST

START_TEST(test_shared_across_fork)
{
	struct buf out = BUF_INIT;
	const int n = 100000;
	int go[2], status;
	char c;
	pid_t pid;

	st->nslots = 2;
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		for (int i = 0; i < n; i++)
			fa_stats_request(st, FA_ROUTE_SERVERLESS, 200);
		fa_stats_exec(st, SB_OOM, 3);
		fa_stats_slot_busy(st, 1, 1);
		fa_stats_add(&st->handler_restarts, 1);
		_exit(0);
	}
	close(go[0]);
	close(go[1]);
	/* both processes increment the same counter at once: no update is lost */
	for (int i = 0; i < n; i++)
		fa_stats_request(st, FA_ROUTE_SERVERLESS, 200);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ck_assert_uint_eq(fa_stats_busy_slots(st), 1);
	render(&out);
	ASSERT_LINE(&out, "oyster_http_requests_total{route=\"serverless\",status=\"200\"} 200000");
	ASSERT_LINE(&out, "oyster_executions_total{outcome=\"oom\"} 1");
	ASSERT_LINE(&out, "oyster_execution_duration_seconds_bucket{le=\"0.005\"} 1");
	ASSERT_LINE(&out, "oyster_slots_busy 1");
	ASSERT_LINE(&out, "oyster_handler_restarts_total 1");
	buf_release(&out);
}
END_TEST

/* The error window: one bucket per second, stale buckets ignored, exact under concurrent updates. */
START_TEST(test_error_window)
{
	uint64_t r, e, t0 = 1000000;

	fa_stats_window_note(st, t0, 0);
	fa_stats_window_note(st, t0, 1);
	fa_stats_window_note(st, t0 + 5, 1);
	fa_stats_window_note(st, t0 + 59, 0);
	fa_stats_window_note(NULL, t0, 1); /* ignored */
	fa_stats_window_sum(st, t0 + 59, 60, &r, &e);
	ck_assert_uint_eq(r, 4);
	ck_assert_uint_eq(e, 2);
	/* the window ends at now: t0 is 60 s old one second later */
	fa_stats_window_sum(st, t0 + 60, 60, &r, &e);
	ck_assert_uint_eq(r, 2);
	ck_assert_uint_eq(e, 1);
	fa_stats_window_sum(st, t0 + 59, 10, &r, &e);
	ck_assert_uint_eq(r, 1);
	ck_assert_uint_eq(e, 0);
	/* a bucket reused FA_WINDOW_S seconds later starts from zero */
	fa_stats_window_note(st, t0 + FA_WINDOW_S, 0);
	fa_stats_window_sum(st, t0 + FA_WINDOW_S, 1, &r, &e);
	ck_assert_uint_eq(r, 1);
	ck_assert_uint_eq(e, 0);
	/* buckets from the future (a clock that went back: impossible, but) are not counted */
	fa_stats_window_sum(st, t0 - 1, 60, &r, &e);
	ck_assert_uint_eq(r, 0);
	/* a window longer than the ring is the ring */
	fa_stats_window_sum(st, t0 + FA_WINDOW_S, 100000, &r, &e);
	ck_assert_uint_eq(r, 3); /* t0+5 .. t0+FA_WINDOW_S: t0+5, t0+59, t0+FA_WINDOW_S */
	ck_assert_uint_eq(e, 1);
}
END_TEST

START_TEST(test_error_window_concurrent)
{
	const int n = 50000;
	uint64_t r, e, t = 777;
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < n; i++)
			fa_stats_window_note(st, t, i % 2);
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		fa_stats_window_note(st, t, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fa_stats_window_sum(st, t, 60, &r, &e);
	ck_assert_uint_eq(r, 2 * (uint64_t)n);
	ck_assert_uint_eq(e, (uint64_t)n / 2);
}
END_TEST

/* What counts as our error: 5xx except 503 and 504, unless the user's code caused it. */
START_TEST(test_error_classification)
{
	uint64_t r, e;

	fa_stats_request(st, FA_ROUTE_SERVERLESS, 200);
	fa_stats_request(st, FA_ROUTE_CODE_POST, 500);    /* ours */
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 503);   /* BUSY: load */
	fa_stats_exec(st, SB_TIMEOUT, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 504);   /* the user's deadline */
	fa_stats_exec(st, SB_OOM, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 500);   /* the user's memory */
	fa_stats_exec(st, SB_EXCEPTION, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 500);   /* the user's exception */
	fa_stats_exec(st, SB_TOO_LARGE, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 502);   /* the user's output */
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 502);   /* verdict consumed: ours again */
	fa_stats_exec(st, SB_CRASHED, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 502);   /* workerd died: ours */
	fa_stats_exec(st, SB_INTERNAL, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 500);   /* ours */
	fa_stats_exec(st, SB_LOAD_FAILED, 10);
	fa_stats_request(st, FA_ROUTE_SERVERLESS, 422);   /* 4xx never */
	fa_stats_request(st, FA_ROUTE_HEALTHZ, 200);      /* monitoring: not in the window */
	fa_stats_request(st, FA_ROUTE_METRICS, 500);
	fa_stats_window_sum(st, fa_stats_now_s(), 60, &r, &e);
	ck_assert_uint_eq(r, 11);
	ck_assert_uint_eq(e, 4);
}
END_TEST

START_TEST(test_request_duration_and_breaches)
{
	struct buf out = BUF_INIT;

	st->nslots = 3;
	fa_stats_request_duration(st, FA_ROUTE_SERVERLESS, 4);
	fa_stats_request_duration(st, FA_ROUTE_SERVERLESS, 60);
	fa_stats_request_duration(st, FA_ROUTE_SERVERLESS, 100000);
	fa_stats_request_duration(st, FA_ROUTE_HEALTHZ, 1);
	fa_stats_request_duration(st, FA_ROUTE_COUNT, 1); /* ignored */
	fa_stats_request_duration(NULL, FA_ROUTE_HEALTHZ, 1);
	fa_stats_exec(st, SB_TIMEOUT, 1);
	fa_stats_exec(st, SB_TIMEOUT, 1);
	fa_stats_exec(st, SB_OOM, 1);
	fa_stats_slot_busy(st, 1, 1);
	render(&out);
	ASSERT_LINE(&out, "# TYPE oyster_http_request_duration_seconds histogram");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_bucket{route=\"serverless\",le=\"0.005\"} 1");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_bucket{route=\"serverless\",le=\"0.05\"} 1");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_bucket{route=\"serverless\",le=\"0.075\"} 2");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_bucket{route=\"serverless\",le=\"60\"} 2");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_bucket{route=\"serverless\",le=\"+Inf\"} 3");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_count{route=\"serverless\"} 3");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_sum{route=\"serverless\"} 100.064");
	ASSERT_LINE(&out, "oyster_http_request_duration_seconds_count{route=\"healthz\"} 1");
	/* routes never seen have no series */
	ck_assert_uint_eq(count_prefix(&out, "oyster_http_request_duration_seconds_count{"), 2);
	ASSERT_LINE(&out, "oyster_limit_breaches_total{kind=\"deadline\"} 2");
	ASSERT_LINE(&out, "oyster_limit_breaches_total{kind=\"memory\"} 1");
	ASSERT_LINE(&out, "oyster_limit_breaches_total{kind=\"response_size\"} 0");
	ASSERT_LINE(&out, "oyster_slot_busy{slot=\"0\"} 0");
	ASSERT_LINE(&out, "oyster_slot_busy{slot=\"1\"} 1");
	ASSERT_LINE(&out, "oyster_slot_busy{slot=\"2\"} 0");
	ck_assert_uint_eq(count_prefix(&out, "oyster_slot_busy{"), 3);
	/* waits for a workerd start: pool mode only */
	ASSERT_LINE(&out, "oyster_workerd_start_wait_seconds_count 0");
	fa_stats_start_wait(st, "pool", 0);
	fa_stats_start_wait(st, "pool", 40);
	fa_stats_start_wait(st, "process", 40);
	fa_stats_start_wait(st, NULL, 40);
	fa_stats_start_wait(NULL, "pool", 40);
	buf_reset(&out);
	render(&out);
	ASSERT_LINE(&out, "oyster_workerd_start_wait_seconds_bucket{le=\"0.005\"} 1");
	ASSERT_LINE(&out, "oyster_workerd_start_wait_seconds_bucket{le=\"0.05\"} 2");
	ASSERT_LINE(&out, "oyster_workerd_start_wait_seconds_bucket{le=\"+Inf\"} 2");
	ASSERT_LINE(&out, "oyster_workerd_start_wait_seconds_count 2");
	ASSERT_LINE(&out, "oyster_workerd_start_wait_seconds_sum 0.040");
	ck_assert_uint_eq(count_prefix(&out, "# HELP "), count_prefix(&out, "# TYPE "));
	buf_release(&out);
}
END_TEST

static Suite *fa_stats_suite(void)
{
	Suite *s = suite_create("fa_stats");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_requests_by_route_status);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_sum_seconds);
	tcase_add_test(tc, test_busy_slots);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_shared_across_fork);
	tcase_add_test(tc, test_error_window);
	tcase_add_test(tc, test_error_window_concurrent);
	tcase_add_test(tc, test_error_classification);
	tcase_add_test(tc, test_request_duration_and_breaches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fa_stats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
