#include "fa_stats.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "log.h"
#include "banned.h"

static const int tracked_status[FA_STATUS_COUNT - 1] = {
	200, 201, 204, 400, 403, 404, 405, 408, 410, 413, 415, 422, 429, 500, 502, 503,
};
/* 504 and anything else land in the last bucket, labelled from the table below. */
static const uint64_t lat_bounds_ms[FA_LAT_BUCKETS] = {
	5, 10, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
};

static const char *const route_names[FA_ROUTE_COUNT] = {
	"code_post", "code_get", "serverless", "healthz", "metrics", "admin", "jobs", "subdomain", "unregister", "other",
};

const char *fa_route_name(enum fa_route r)
{
	return (unsigned)r < FA_ROUTE_COUNT ? route_names[r] : "other";
}

struct fa_stats *fa_stats_create(void)
{
	void *p = mmap(NULL, sizeof(struct fa_stats), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		log_errno("mmap stats");
		return NULL;
	}
	memset(p, 0, sizeof(struct fa_stats));
	((struct fa_stats *)p)->started_unix = (uint64_t)time(NULL);
	return p;
}

void fa_stats_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static unsigned status_index(int status)
{
	for (unsigned i = 0; i < FA_STATUS_COUNT - 1; i++)
		if (tracked_status[i] == status)
			return i;
	return FA_STATUS_COUNT - 1;
}

/* Set by fa_stats_exec when the user's code caused the run's failure; read by the next request. */
static int last_exec_user_fault;

static int user_fault(enum sb_outcome o)
{
	return o == SB_TIMEOUT || o == SB_OOM || o == SB_EXCEPTION || o == SB_TOO_LARGE ||
	       o == SB_LOAD_FAILED;
}

uint64_t fa_stats_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

#define WIN_COUNT_BITS 24
#define WIN_COUNT_MAX ((1ull << WIN_COUNT_BITS) - 1)

static void win_add(uint64_t *word, uint64_t now_s)
{
	uint64_t old = __atomic_load_n(word, __ATOMIC_RELAXED), next;

	do {
		if (old >> WIN_COUNT_BITS != now_s)
			next = now_s << WIN_COUNT_BITS | 1; /* a new second: reset and count */
		else if ((old & WIN_COUNT_MAX) == WIN_COUNT_MAX)
			return;                              /* saturated; 16M/s is not a real rate */
		else
			next = old + 1;
	} while (!__atomic_compare_exchange_n(word, &old, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void fa_stats_window_note(struct fa_stats *st, uint64_t now_s, int error)
{
	if (!st)
		return;
	win_add(&st->win_requests[now_s % FA_WINDOW_S], now_s);
	if (error)
		win_add(&st->win_errors[now_s % FA_WINDOW_S], now_s);
}

void fa_stats_window_sum(const struct fa_stats *st, uint64_t now_s, unsigned window_s,
			 uint64_t *requests, uint64_t *errors)
{
	*requests = *errors = 0;
	if (window_s > FA_WINDOW_S)
		window_s = FA_WINDOW_S;
	for (unsigned i = 0; i < FA_WINDOW_S; i++) {
		uint64_t r = __atomic_load_n(&st->win_requests[i], __ATOMIC_RELAXED);
		uint64_t e = __atomic_load_n(&st->win_errors[i], __ATOMIC_RELAXED);
		uint64_t rs = r >> WIN_COUNT_BITS, es = e >> WIN_COUNT_BITS;

		/* Buckets stamped with a second outside the window are stale, not zero-width. */
		if (rs <= now_s && now_s - rs < window_s)
			*requests += r & WIN_COUNT_MAX;
		if (es <= now_s && now_s - es < window_s)
			*errors += e & WIN_COUNT_MAX;
	}
}

void fa_stats_request(struct fa_stats *st, enum fa_route route, int status)
{
	int error = status >= 500 && status != 503 && status != 504 && !last_exec_user_fault;

	last_exec_user_fault = 0;
	if (!st || (unsigned)route >= FA_ROUTE_COUNT)
		return;
	fa_stats_add(&st->requests[route][status_index(status)], 1);
	/* Monitoring's own polls would dilute the rate the error window judges. */
	if (route != FA_ROUTE_HEALTHZ && route != FA_ROUTE_METRICS)
		fa_stats_window_note(st, fa_stats_now_s(), error);
}

static unsigned lat_bucket(uint64_t ms)
{
	unsigned b = 0;

	while (b < FA_LAT_BUCKETS && ms > lat_bounds_ms[b])
		b++;
	return b;
}

void fa_stats_request_duration(struct fa_stats *st, enum fa_route route, uint64_t ms)
{
	if (!st || (unsigned)route >= FA_ROUTE_COUNT)
		return;
	fa_stats_add(&st->http_hist[route][lat_bucket(ms)], 1);
	fa_stats_add(&st->http_sum_ms[route], ms);
}

void fa_stats_exec(struct fa_stats *st, enum sb_outcome outcome, uint64_t wall_ms)
{
	last_exec_user_fault = user_fault(outcome);
	if (!st)
		return;
	fa_stats_add(&st->exec_hist[lat_bucket(wall_ms)], 1);
	fa_stats_add(&st->exec_sum_ms, wall_ms);
	fa_stats_add(&st->exec_count, 1);
	if ((unsigned)outcome < FA_OUTCOME_COUNT)
		fa_stats_add(&st->outcomes[outcome], 1);
}

void fa_stats_start_wait(struct fa_stats *st, const char *sandbox_mode, uint64_t ms)
{
	if (!st || !sandbox_mode || strcmp(sandbox_mode, "pool"))
		return;
	fa_stats_add(&st->wait_hist[lat_bucket(ms)], 1);
	fa_stats_add(&st->wait_sum_ms, ms);
}

void fa_stats_slot_busy(struct fa_stats *st, unsigned slot, int busy)
{
	if (st && slot < FA_MAX_SLOTS)
		__atomic_store_n(&st->slot_busy[slot], busy ? 1u : 0u, __ATOMIC_RELAXED);
}

unsigned fa_stats_busy_slots(const struct fa_stats *st)
{
	unsigned n = 0;

	for (unsigned i = 0; i < st->nslots && i < FA_MAX_SLOTS; i++)
		n += __atomic_load_n(&st->slot_busy[i], __ATOMIC_RELAXED);
	return n;
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int fa_stats_prometheus(const struct fa_stats *st, struct buf *out)
{
	uint64_t cum = 0;

	buf_addstr(out, "# HELP oyster_http_requests_total HTTP requests answered by the FastCGI handlers.\n"
			"# TYPE oyster_http_requests_total counter\n");
	for (unsigned r = 0; r < FA_ROUTE_COUNT; r++) {
		for (unsigned s = 0; s < FA_STATUS_COUNT; s++) {
			uint64_t v = rd(&st->requests[r][s]);
			if (!v)
				continue;
			if (s < FA_STATUS_COUNT - 1)
				buf_addf(out, "oyster_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
					 route_names[r], tracked_status[s], (unsigned long long)v);
			else
				buf_addf(out, "oyster_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
					 route_names[r], (unsigned long long)v);
		}
	}
	buf_addstr(out, "# HELP oyster_http_request_duration_seconds Time a handler spent on a request (read, route, run, send), by route.\n"
			"# TYPE oyster_http_request_duration_seconds histogram\n");
	for (unsigned r = 0; r < FA_ROUTE_COUNT; r++) {
		uint64_t n = 0;

		for (unsigned b = 0; b <= FA_LAT_BUCKETS; b++)
			n += rd(&st->http_hist[r][b]);
		if (!n)
			continue;
		cum = 0;
		for (unsigned b = 0; b <= FA_LAT_BUCKETS; b++) {
			cum += rd(&st->http_hist[r][b]);
			if (b < FA_LAT_BUCKETS)
				buf_addf(out, "oyster_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
					 route_names[r], (double)lat_bounds_ms[b] / 1000.0, (unsigned long long)cum);
			else
				buf_addf(out, "oyster_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
					 route_names[r], (unsigned long long)cum);
		}
		buf_addf(out, "oyster_http_request_duration_seconds_sum{route=\"%s\"} %.3f\n",
			 route_names[r], (double)rd(&st->http_sum_ms[r]) / 1000.0);
		buf_addf(out, "oyster_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			 route_names[r], (unsigned long long)cum);
	}
	cum = 0;
	buf_addstr(out, "# HELP oyster_execution_duration_seconds Wall time of sandbox executions, workerd start included.\n"
			"# TYPE oyster_execution_duration_seconds histogram\n");
	for (unsigned b = 0; b <= FA_LAT_BUCKETS; b++) {
		cum += rd(&st->exec_hist[b]);
		if (b < FA_LAT_BUCKETS)
			buf_addf(out, "oyster_execution_duration_seconds_bucket{le=\"%g\"} %llu\n",
				 (double)lat_bounds_ms[b] / 1000.0, (unsigned long long)cum);
		else
			buf_addf(out, "oyster_execution_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				 (unsigned long long)cum);
	}
	buf_addf(out, "oyster_execution_duration_seconds_sum %.3f\n",
		 (double)rd(&st->exec_sum_ms) / 1000.0);
	buf_addf(out, "oyster_execution_duration_seconds_count %llu\n",
		 (unsigned long long)rd(&st->exec_count));
	buf_addstr(out, "# HELP oyster_executions_total Sandbox executions by outcome (timeout, oom, ... are limit breaches).\n"
			"# TYPE oyster_executions_total counter\n");
	for (unsigned o = 0; o < FA_OUTCOME_COUNT; o++)
		buf_addf(out, "oyster_executions_total{outcome=\"%s\"} %llu\n",
			 sb_outcome_name((enum sb_outcome)o), (unsigned long long)rd(&st->outcomes[o]));
	buf_addstr(out, "# HELP oyster_workerd_start_wait_seconds Pool mode: time runs waited for their slot's workerd to (re)start.\n"
			"# TYPE oyster_workerd_start_wait_seconds histogram\n");
	cum = 0;
	for (unsigned b = 0; b <= FA_LAT_BUCKETS; b++) {
		cum += rd(&st->wait_hist[b]);
		if (b < FA_LAT_BUCKETS)
			buf_addf(out, "oyster_workerd_start_wait_seconds_bucket{le=\"%g\"} %llu\n",
				 (double)lat_bounds_ms[b] / 1000.0, (unsigned long long)cum);
		else
			buf_addf(out, "oyster_workerd_start_wait_seconds_bucket{le=\"+Inf\"} %llu\n",
				 (unsigned long long)cum);
	}
	buf_addf(out, "oyster_workerd_start_wait_seconds_sum %.3f\noyster_workerd_start_wait_seconds_count %llu\n",
		 (double)rd(&st->wait_sum_ms) / 1000.0, (unsigned long long)cum);
	buf_addstr(out, "# HELP oyster_limit_breaches_total Executions stopped at a limit: deadline_ms, memory_limit, max_response_bytes.\n"
			"# TYPE oyster_limit_breaches_total counter\n");
	buf_addf(out, "oyster_limit_breaches_total{kind=\"deadline\"} %llu\n"
		      "oyster_limit_breaches_total{kind=\"memory\"} %llu\n"
		      "oyster_limit_breaches_total{kind=\"response_size\"} %llu\n",
		 (unsigned long long)rd(&st->outcomes[SB_TIMEOUT]),
		 (unsigned long long)rd(&st->outcomes[SB_OOM]),
		 (unsigned long long)rd(&st->outcomes[SB_TOO_LARGE]));
	buf_addf(out, "# HELP oyster_slots Sandbox slots for HTTP execution.\n# TYPE oyster_slots gauge\noyster_slots %u\n",
		 st->nslots);
	buf_addf(out, "# HELP oyster_unregistered 1 once unregister.<subdomain> was called: executions answer 410.\n"
		      "# TYPE oyster_unregistered gauge\noyster_unregistered %d\n", st->unregistered_unix ? 1 : 0);
	buf_addf(out, "# HELP oyster_slots_busy Slots running code right now.\n# TYPE oyster_slots_busy gauge\noyster_slots_busy %u\n",
		 fa_stats_busy_slots(st));
	buf_addstr(out, "# HELP oyster_slot_busy 1 while the slot runs code.\n# TYPE oyster_slot_busy gauge\n");
	for (unsigned i = 0; i < st->nslots && i < FA_MAX_SLOTS; i++)
		buf_addf(out, "oyster_slot_busy{slot=\"%u\"} %u\n", i,
			 __atomic_load_n(&st->slot_busy[i], __ATOMIC_RELAXED));
	buf_addf(out, "# HELP oyster_queue_rejects_total Requests answered 503 BUSY after waiting queue_timeout_ms.\n"
		      "# TYPE oyster_queue_rejects_total counter\noyster_queue_rejects_total %llu\n",
		 (unsigned long long)rd(&st->queue_rejects));
	buf_addf(out, "# HELP oyster_handler_restarts_total FastCGI handlers that died and were restarted.\n"
		      "# TYPE oyster_handler_restarts_total counter\noyster_handler_restarts_total %llu\n",
		 (unsigned long long)rd(&st->handler_restarts));
	return buf_addf(out, "# HELP oyster_start_time_seconds When the master started.\n"
			     "# TYPE oyster_start_time_seconds gauge\noyster_start_time_seconds %llu\n",
			(unsigned long long)st->started_unix);
}
