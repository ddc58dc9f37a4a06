/*
 * GET /healthz and GET /metrics.  Served by the control handler, which owns
 * no slot, so they answer even when every slot is busy.
 *
 * /healthz answers 200 {"status":"ok"} or 503 {"status":"unhealthy"} with
 * the list of problems, judged against the health_* keys of
 * executor.conf(5):
 *  - the server error rate over the last health_error_window_s seconds
 *    (fa_stats.h says what counts as our error), once the window holds
 *    health_min_requests requests;
 *  - when the node answers chain jobs (jobs_contract set): the chain
 *    watcher's lag behind the head beyond `confirmations`, and how long ago
 *    it last read the head (it never has: counted from our own start, so a
 *    node whose watcher never came up turns unhealthy too).
 * Saturation is not a problem here: all slots busy is load (see
 * oyster_slots_busy and the alert rules in conf/), not a broken node.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "fa_api.h"
#include "version.h"
#include "banned.h"

static void add_problem(json_t *problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_problem(json_t *problems, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	json_array_append_new(problems, json_string(buf_cstr(&b)));
	buf_release(&b);
}

static json_t *error_window(const struct fa_ctx *c, json_t *problems)
{
	const struct conf *k = c->conf;
	uint64_t req, err;
	unsigned pct;

	fa_stats_window_sum(c->stats, fa_stats_now_s(), (unsigned)k->health_error_window_s, &req, &err);
	pct = req ? (unsigned)(err * 100 / req) : 0;
	if (k->health_max_error_percent && req >= (uint64_t)k->health_min_requests &&
	    err * 100 > (uint64_t)k->health_max_error_percent * req)
		add_problem(problems, "server errors: %" PRIu64 " of %" PRIu64 " requests in the last %" PRId64
			    " s (over %" PRId64 "%%)", err, req, k->health_error_window_s,
			    k->health_max_error_percent);
	return json_pack("{s:I,s:I,s:I,s:i}", "window_s", (json_int_t)k->health_error_window_s,
			 "requests", (json_int_t)req, "errors", (json_int_t)err, "percent", (int)pct);
}

static json_t *chain_health(struct fa_ctx *c, json_t *problems)
{
	const struct conf *k = c->conf;
	struct fa_chain_status cs;
	int64_t now = (int64_t)time(NULL), age;
	json_t *o;

	if (fa_chain_status(c->db, &cs) < 0) {
		add_problem(problems, "chain: cannot read the database");
		return json_null();
	}
	o = json_object();
	/* Before the first report, the watcher is as late as we are old. */
	age = cs.have_head ? now - cs.head_updated : now - (int64_t)c->stats->started_unix;
	if (age < 0)
		age = 0;
	json_object_set_new(o, "head_age_s", json_integer(age));
	if (k->health_max_head_age_s && age > k->health_max_head_age_s)
		add_problem(problems, cs.have_head ? "chain: the watcher last read the head %" PRId64 " s ago"
						   : "chain: the watcher has not reported the head in %" PRId64 " s",
			    age);
	if (cs.have_head)
		json_object_set_new(o, "head", json_integer((json_int_t)cs.head));
	if (cs.have_cursor)
		json_object_set_new(o, "processed", json_integer((json_int_t)cs.processed));
	if (cs.have_head && cs.have_cursor) {
		uint64_t lag = cs.head > cs.processed ? cs.head - cs.processed : 0;
		uint64_t over = lag > (uint64_t)k->confirmations ? lag - (uint64_t)k->confirmations : 0;

		json_object_set_new(o, "lag_blocks", json_integer((json_int_t)lag));
		if (k->health_max_chain_lag && over > (uint64_t)k->health_max_chain_lag)
			add_problem(problems, "chain: %" PRIu64 " blocks behind the head (allowed: %" PRId64
				    " beyond %" PRId64 " confirmations)", lag, k->health_max_chain_lag,
				    k->confirmations);
	}
	return o;
}

void fa_api_healthz(struct fa_ctx *c)
{
	const struct fa_stats *st = c->stats;
	unsigned busy = fa_stats_busy_slots(st);
	json_t *prot, *problems = json_array(), *reply;
	int ok;

	/* Report every protection honestly: "off" means this build or host does not provide it. */
	/* The daemon refuses to start when a configured jail cannot be built, so "on" means in force. */
	const char *jail = c->conf->jail ? "on" : "off";
	prot = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
			 "cgroups", st->cgroup_version == 1 ? "v1" : st->cgroup_version == 2 ? "v2" : "off",
			 "memory_limit", st->cgroup_version ? "on" : "off",
			 "cpu_quota", st->cgroup_version ? "on" : "off",
			 "pids_limit", st->cgroup_version ? "on" : "off",
			 "workerd_outbound_network", "denied",
			 "wall_clock_deadline", "on",
			 "namespaces", jail,
			 "read_only_root", jail,
			 "unprivileged_uid", jail,
			 "no_new_privs", jail,
			 "seccomp", c->conf->jail && c->conf->seccomp ? "on" : "off");
	reply = json_pack("{s:s,s:s,s:{s:i,s:i,s:i},s:o,s:I,s:o}",
			  "version", OYSTER_VERSION,
			  "mode", c->conf->sandbox_mode,
			  "slots", "total", (int)st->nslots, "busy", (int)busy,
			  "free", (int)(st->nslots - busy),
			  "protections", prot,
			  "started", (json_int_t)st->started_unix,
			  "errors", error_window(c, problems));
	if (c->conf->jobs_contract[0])
		json_object_set_new(reply, "chain", chain_health(c, problems));
	if (st->unregistered_unix) {
		json_object_set_new(reply, "unregistered", json_integer((json_int_t)st->unregistered_unix));
		add_problem(problems, "unregistered: executions answer 410 until the service restarts");
	}
	ok = json_array_size(problems) == 0;
	json_object_set_new(reply, "status", json_string(ok ? "ok" : "unhealthy"));
	json_object_set_new(reply, "problems", problems);
	fa_reply_json(c, ok ? 200 : 503, reply);
}

void fa_api_metrics(struct fa_ctx *c)
{
	struct buf out = BUF_INIT;

	fa_stats_prometheus(c->stats, &out);
	{
		int64_t bytes = db_code_store_bytes(c->db);

		if (bytes >= 0)
			buf_addf(&out, "# HELP oyster_code_store_bytes Code kept in the database (bounded by code_store_bytes).\n"
				       "# TYPE oyster_code_store_bytes gauge\noyster_code_store_bytes %lld\n",
				 (long long)bytes);
	}
	/* The chain families come from the database; a failure there must not hide the rest. */
	if (c->conf->jobs_contract[0]) {
		struct buf chain = BUF_INIT;

		if (fa_stats_chain_prometheus(c->db, &chain) == 0 && chain.len)
			buf_add(&out, chain.data, chain.len);
		buf_release(&chain);
	}
	fa_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf_cstr(&out), out.len);
	buf_release(&out);
}
