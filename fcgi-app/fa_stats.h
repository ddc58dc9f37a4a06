#ifndef FCGI_APP_FA_STATS_H
#define FCGI_APP_FA_STATS_H
/*
 * Counters shared by the master and every handler: one anonymous shared
 * mapping created by the master before it forks, so the numbers survive
 * handler restarts and reloads and any handler can render /metrics and
 * /healthz for the whole node.  Updates are relaxed atomic adds; readers
 * may see a request counted in one series and not yet in another, which is
 * fine for monitoring.
 *
 * /healthz judges the server error rate over a sliding window: a ring of
 * one-second buckets, each a 64-bit word holding (second << 24 | count)
 * updated with compare-and-swap, so a bucket reused for a new second is
 * reset and counted in one atomic step and no process can lose another's
 * count at a second boundary.  Requests for /healthz and /metrics are left
 * out (a scraper must not dilute the rate it watches).  An "error" is a
 * handler answer with a 5xx status that is our fault: not 503 (BUSY is
 * load, RPC_UNAVAILABLE is the chain's), not 504 (the user's deadline), and
 * not an execution whose outcome the user's code caused (timeout, oom,
 * exception, too large, load failure).  Each handler serves one request at
 * a time, so fa_stats_exec leaves that verdict in a process-local flag that
 * the following fa_stats_request consumes.
 *
 * Chain metrics are not counters of this process: they are read from the
 * SQLite tables the chain watcher writes (fa_stats_chain.c).
 */
#include <stdint.h>

#include "buf.h"
#include "sandbox.h"

#define FA_MAX_SLOTS 256

enum fa_route {
	FA_ROUTE_CODE_POST,
	FA_ROUTE_CODE_GET,
	FA_ROUTE_SERVERLESS,
	FA_ROUTE_HEALTHZ,
	FA_ROUTE_METRICS,
	FA_ROUTE_ADMIN,
	FA_ROUTE_JOBS,
	FA_ROUTE_SUBDOMAIN,
	FA_ROUTE_UNREGISTER,
	FA_ROUTE_OTHER,
	FA_ROUTE_COUNT
};

#define FA_STATUS_COUNT 17
#define FA_LAT_BUCKETS 14
#define FA_OUTCOME_COUNT (SB_INTERNAL + 1)
#define FA_WINDOW_S 300 /* longest error-rate window (health_error_window_s) */

struct fa_stats {
	uint64_t started_unix;
	uint32_t nslots;
	uint32_t cgroup_version; /* 0 = cgroups off */
	uint64_t requests[FA_ROUTE_COUNT][FA_STATUS_COUNT];
	uint64_t exec_hist[FA_LAT_BUCKETS + 1]; /* last = +Inf */
	uint64_t exec_sum_ms;
	uint64_t exec_count;
	uint64_t outcomes[FA_OUTCOME_COUNT];
	uint64_t queue_rejects;
	uint64_t handler_restarts;
	uint32_t slot_busy[FA_MAX_SLOTS];
	uint64_t http_hist[FA_ROUTE_COUNT][FA_LAT_BUCKETS + 1]; /* last = +Inf */
	uint64_t http_sum_ms[FA_ROUTE_COUNT];
	uint64_t win_requests[FA_WINDOW_S]; /* second << 24 | count */
	uint64_t win_errors[FA_WINDOW_S];
	uint64_t wait_hist[FA_LAT_BUCKETS + 1]; /* pool mode: waits for a workerd to start */
	uint64_t wait_sum_ms;
	/* When unregister.<subdomain> was called (unix s; 0 = never): from
	 * then on every execution answers 410, until the master restarts. */
	uint64_t unregistered_unix;
};

struct fa_stats *fa_stats_create(void);
/* One answered request: the counter by route and status, and the error window. */
void fa_stats_request(struct fa_stats *st, enum fa_route route, int status);
/* How long the handler took for it (read, dispatch, send), for the latency histogram. */
void fa_stats_request_duration(struct fa_stats *st, enum fa_route route, uint64_t ms);
void fa_stats_exec(struct fa_stats *st, enum sb_outcome outcome, uint64_t wall_ms);
/*
 * Pool mode: how long a run waited for its slot's workerd to (re)start
 * (sb_result.start_wait_ms; 0 when the warm one was ready).  This is the
 * part of workerd's start time requests feel; the sandbox does not report
 * the start itself.  Process mode starts workerd inside every run (its
 * wall time), so nothing is recorded there.
 */
void fa_stats_start_wait(struct fa_stats *st, const char *sandbox_mode, uint64_t ms);
void fa_stats_add(uint64_t *counter, uint64_t n);
void fa_stats_slot_busy(struct fa_stats *st, unsigned slot, int busy);
unsigned fa_stats_busy_slots(const struct fa_stats *st);
/* Monotonic seconds (the error window's clock, shared by all processes). */
uint64_t fa_stats_now_s(void);
/* Count one request (and whether it was our error) in the bucket of second now_s. */
void fa_stats_window_note(struct fa_stats *st, uint64_t now_s, int error);
/* Requests and errors counted in the window_s seconds ending with now_s (window_s <= FA_WINDOW_S). */
void fa_stats_window_sum(const struct fa_stats *st, uint64_t now_s, unsigned window_s,
			 uint64_t *requests, uint64_t *errors);
/* Prometheus text exposition format 0.0.4. */
int fa_stats_prometheus(const struct fa_stats *st, struct buf *out);
const char *fa_route_name(enum fa_route r);

/*
 * The chain watcher's progress and work, read from SQLite (fa_stats_chain.c):
 * the head it last read (executor_config "chain_head", written by
 * chain-watcher/cw_watch.c, and when), the last block it processed
 * (chain_cursor), jobs by state, transactions by kind and outcome, gas spent.
 */
struct db;
struct fa_chain_status {
	int have_head;            /* the watcher has reported a head */
	uint64_t head;
	int64_t head_updated;     /* unix seconds of that report */
	int have_cursor;
	uint64_t processed;       /* last block whose logs are stored (cursor - 1) */
};
int fa_chain_status(struct db *db, struct fa_chain_status *out);
/* Prometheus families oyster_chain_*; 0, or -1 when the database could not be read (logged). */
int fa_stats_chain_prometheus(struct db *db, struct buf *out);

#endif
