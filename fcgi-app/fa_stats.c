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
	"code_post", "code_get", "serverless", "healthz", "metrics", "admin", "jobs", "subdomain", "other",
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

void fa_stats_request(struct fa_stats *st, enum fa_route route, int status)
{
	if (!st || (unsigned)route >= FA_ROUTE_COUNT)
		return;
	fa_stats_add(&st->requests[route][status_index(status)], 1);
}

void fa_stats_exec(struct fa_stats *st, enum sb_outcome outcome, uint64_t wall_ms)
{
	unsigned b = 0;

	if (!st)
		return;
	while (b < FA_LAT_BUCKETS && wall_ms > lat_bounds_ms[b])
		b++;
	fa_stats_add(&st->exec_hist[b], 1);
	fa_stats_add(&st->exec_sum_ms, wall_ms);
	fa_stats_add(&st->exec_count, 1);
	if ((unsigned)outcome < FA_OUTCOME_COUNT)
		fa_stats_add(&st->outcomes[outcome], 1);
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
	buf_addf(out, "# HELP oyster_slots Sandbox slots for HTTP execution.\n# TYPE oyster_slots gauge\noyster_slots %u\n",
		 st->nslots);
	buf_addf(out, "# HELP oyster_slots_busy Slots running code right now.\n# TYPE oyster_slots_busy gauge\noyster_slots_busy %u\n",
		 fa_stats_busy_slots(st));
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
