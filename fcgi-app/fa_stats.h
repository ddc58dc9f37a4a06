#ifndef FCGI_APP_FA_STATS_H
#define FCGI_APP_FA_STATS_H
/*
 * Counters shared by the master and every handler: one anonymous shared
 * mapping created by the master before it forks, so the numbers survive
 * handler restarts and reloads and any handler can render /metrics and
 * /healthz for the whole node.  Updates are relaxed atomic adds; readers
 * may see a request counted in one series and not yet in another, which is
 * fine for monitoring.
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
	FA_ROUTE_OTHER,
	FA_ROUTE_COUNT
};

#define FA_STATUS_COUNT 17
#define FA_LAT_BUCKETS 14
#define FA_OUTCOME_COUNT (SB_INTERNAL + 1)

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
};

struct fa_stats *fa_stats_create(void);
void fa_stats_request(struct fa_stats *st, enum fa_route route, int status);
void fa_stats_exec(struct fa_stats *st, enum sb_outcome outcome, uint64_t wall_ms);
void fa_stats_add(uint64_t *counter, uint64_t n);
void fa_stats_slot_busy(struct fa_stats *st, unsigned slot, int busy);
unsigned fa_stats_busy_slots(const struct fa_stats *st);
/* Prometheus text exposition format 0.0.4. */
int fa_stats_prometheus(const struct fa_stats *st, struct buf *out);
const char *fa_route_name(enum fa_route r);

#endif
