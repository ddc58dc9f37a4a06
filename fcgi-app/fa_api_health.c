/*
 * GET /healthz and GET /metrics.  Served by the control handler, which owns
 * no slot, so they answer even when every slot is busy.
 */
#include <string.h>

#include "fa_api.h"
#include "version.h"
#include "banned.h"

void fa_api_healthz(struct fa_ctx *c)
{
	const struct fa_stats *st = c->stats;
	unsigned busy = fa_stats_busy_slots(st);
	json_t *prot;

	/* Report every protection honestly: "off" means this build or host does not provide it. */
	prot = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
			 "cgroups", st->cgroup_version == 1 ? "v1" : st->cgroup_version == 2 ? "v2" : "off",
			 "memory_limit", st->cgroup_version ? "on" : "off",
			 "cpu_quota", st->cgroup_version ? "on" : "off",
			 "pids_limit", st->cgroup_version ? "on" : "off",
			 "workerd_outbound_network", "denied",
			 "wall_clock_deadline", "on");
	fa_reply_json(c, 200,
		      json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:i},s:o,s:I}",
				"status", "ok",
				"version", OYSTER_VERSION,
				"mode", c->conf->sandbox_mode,
				"slots", "total", (int)st->nslots, "busy", (int)busy,
				"free", (int)(st->nslots - busy),
				"protections", prot,
				"started", (json_int_t)st->started_unix));
}

void fa_api_metrics(struct fa_ctx *c)
{
	struct buf out = BUF_INIT;

	fa_stats_prometheus(c->stats, &out);
	fa_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf_cstr(&out), out.len);
	buf_release(&out);
}
