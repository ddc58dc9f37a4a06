#ifndef SANDBOX_SANDBOX_H
#define SANDBOX_SANDBOX_H
/*
 * A sandbox slot: one cgroup plus the scratch directory where one workerd
 * at a time runs user code.  Exactly one process owns a slot (FastCGI
 * handler i owns slot i), so no locking is needed around it.
 *
 * Process mode (the original executor's model): every sb_run() writes the
 * workerd config and modules into the slot directory, creates the listening
 * unix socket itself, and starts `workerd serve --socket-fd http=3` in the
 * slot's cgroup.  Because the socket already listens before workerd starts,
 * the request is written at once and waits in the socket backlog: there is
 * no readiness polling at all, the response simply arrives when workerd is
 * up.  The slot owner enforces the wall-clock deadline (workerd enforces no
 * CPU or memory limit itself), then kills workerd, empties the cgroup and
 * reads the run's CPU time and peak memory from it.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "code.h"
#include "sb_cgroup.h"
#include "sb_http.h"

struct sb_config {
	const char *workerd_path;
	const char *kind;         /* "slot" (HTTP) or "job" (chain runners); NULL = "slot" */
	const char *run_dir;      /* slot dirs are <run_dir>/<kind>s/<index> */
	const char *instance;     /* cgroups are oyster/<instance>/<kind><index> */
	const char *compat_date;
	int use_cgroups;
	struct sb_cg_limits limits;
	size_t max_response;
};

struct sb_slot {
	unsigned index;
	struct sb_config cfg;
	struct sb_cgroup *cg;
	char dir[512];
	char sock[600];
};

enum sb_outcome {
	SB_OK,             /* worker answered (any HTTP status) */
	SB_TIMEOUT,        /* deadline passed */
	SB_OOM,            /* killed for memory */
	SB_LOAD_FAILED,    /* code did not load (SyntaxError, bad module...) */
	SB_EXCEPTION,      /* uncaught exception while handling the request */
	SB_CRASHED,        /* workerd died or spoke garbage */
	SB_TOO_LARGE,      /* response over max_response */
	SB_INTERNAL,       /* our side failed (fork, files...) */
};

struct sb_request {
	const char *method;
	const char *path;
	const struct sb_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
};

struct sb_result {
	enum sb_outcome outcome;
	struct sb_http_response http; /* valid when outcome == SB_OK */
	struct buf error;             /* workerd's own words for failures */
	uint64_t wall_ms;
	uint64_t cpu_ms;
	uint64_t peak_bytes;
};

/* Whole-process setup: cgroup detection when enabled. */
int sb_global_init(int use_cgroups, enum sb_cg_version *version);

int sb_slot_open(struct sb_slot *s, const struct sb_config *cfg, unsigned index);
void sb_slot_close(struct sb_slot *s);

void sb_result_init(struct sb_result *r);
void sb_result_release(struct sb_result *r);

/*
 * Run code on one request with a deadline (ms from the call, workerd start
 * included).  Returns 0 with res->outcome set for every outcome the user
 * caused, -1 (outcome SB_INTERNAL, logged) when the host failed.
 */
int sb_run(struct sb_slot *s, const struct code *c, const struct sb_request *req,
	   unsigned deadline_ms, struct sb_result *res);

const char *sb_outcome_name(enum sb_outcome o);

#endif
