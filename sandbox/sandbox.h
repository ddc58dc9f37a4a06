#ifndef SANDBOX_SANDBOX_H
#define SANDBOX_SANDBOX_H
/*
 * A sandbox slot: one cgroup plus the scratch directory where user code
 * runs in workerd.  Exactly one process owns a slot (FastCGI handler i owns
 * slot i, chain runner i owns job slot i), so no locking is needed around
 * it.  Two modes, chosen per slot by sb_config.mode:
 *
 * Process mode (the original executor's model, sb_process.c): every sb_run()
 * writes the workerd config and modules into the slot directory, creates
 * the listening unix socket itself, and starts `workerd serve --socket-fd
 * http=3` in the slot's cgroup.  Because the socket already listens before
 * workerd starts, the request is written at once and waits in the socket
 * backlog: there is no readiness polling at all, the response simply
 * arrives when workerd is up.
 *
 * Pool mode (sb_pool.c): the slot keeps one warm workerd in its cgroup,
 * running a small loader worker (sb_loader.js) that loads each request's
 * code into a new V8 isolate through workerd's workerLoader binding and
 * throws the isolate away afterwards; the workerd is recycled after a
 * number of requests, on memory growth, and after any timeout, OOM, crash
 * or cut-off response.  A code may run in a kept isolate instead
 * (sb_run_keyed), which is faster and weaker: state survives between its
 * requests; a kept-isolate code the slot runs often is baked into its
 * workerd's config and served without the loader (sb_bake.h).  The slot
 * owner keeps its connections to the workerd open between requests.
 *
 * In both modes the slot owner enforces the wall-clock deadline (workerd
 * enforces no CPU or memory limit itself) by killing workerd, and reads the
 * run's CPU time and peak memory from the cgroup.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "code.h"
#include "sb_cgroup.h"
#include "sb_http.h"

enum sb_mode { SB_MODE_PROCESS = 0, SB_MODE_POOL = 1 };

struct sb_config {
	enum sb_mode mode;
	const char *workerd_path;
	const char *kind;         /* "slot" (HTTP) or "job" (chain runners); NULL = "slot" */
	const char *run_dir;      /* slot dirs are <run_dir>/<kind>s/<index> */
	const char *instance;     /* cgroups are oyster/<instance>/<kind><index> */
	const char *compat_date;
	int use_cgroups;
	struct sb_cg_limits limits;
	size_t max_response;
	/* Pool mode: replace the warm workerd after this many requests (0 = no
	 * count limit), or when the slot's memory after a request exceeds its
	 * level after the workerd's first request by more than
	 * pool_recycle_memory bytes (0 = no memory rule). */
	unsigned pool_recycle_requests;
	uint64_t pool_recycle_memory;
	/* Pool mode: prepare the next request's isolate (sb_slot_finish). */
	int pool_prepare;
	/* The jail (sb_jail.h): namespaces, minimal root, unprivileged ids, seccomp. */
	int jail;
	int seccomp;
	unsigned jail_uid, jail_gid;
	size_t scratch_bytes;
};

struct sb_pool; /* pool-mode state of a slot (sb_pool.c) */

struct sb_slot {
	unsigned index;
	struct sb_config cfg;
	struct sb_cgroup *cg;
	char dir[512];
	char sock[600];
	struct sb_pool *pool; /* NULL in process mode */
	/* Process mode: the workerd that answered the last run, killed by
	 * sb_slot_finish() once the caller has replied (NULL: none) ... */
	struct sb_linger *linger;
	/* ... and the next run's process, jailed and waiting (NULL: none). */
	struct sb_spare *spare;
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
	uint64_t wall_us;             /* the same, in microseconds */
	/* CPU time of the slot cgroup over the run (process mode: workerd's
	 * start included; pool mode: counted once the warm workerd is ready) */
	uint64_t cpu_ms;
	/* Peak memory of the slot cgroup since its reset at the start of the
	 * run.  Process mode: workerd's whole life.  Pool mode: the warm
	 * workerd's own memory (about 50 MiB) plus what the request added;
	 * the watermark is reset before every request (cgroup v1 and v2 with
	 * kernel 6.12+; older v2 kernels sample memory.current). */
	uint64_t peak_bytes;
	uint64_t start_wait_ms;       /* pool mode: waited for a workerd to start */
	int recycled;                 /* pool mode: the workerd was replaced after this run */
	/* Pool mode: the isolate the code ran in: "new" (made for the
	 * request), "prepared" (made for it ahead, see sb_slot_finish),
	 * "kept" (sb_run_keyed, through the loader) or "baked" (kept, served
	 * directly); NULL in process mode or when no isolate was reached. */
	const char *isolate;
};

/* Whole-process setup: cgroup detection when enabled. */
int sb_global_init(int use_cgroups, enum sb_cg_version *version);

int sb_slot_open(struct sb_slot *s, const struct sb_config *cfg, unsigned index);
void sb_slot_close(struct sb_slot *s);

/*
 * Finish what the last run left for after the reply.  In process mode a
 * run that got a good answer returns before its workerd is killed (the kill
 * waits for the whole pid namespace to go, a few ms the client need not
 * wait); this kills it, empties the slot and starts the spare the next run
 * will use: a process already in the slot cgroup and the jail, waiting to
 * exec workerd, so the next request does not wait for that setup either.
 * In pool mode a run that must replace the warm workerd (res->recycled)
 * leaves that to here too, and this waits until the new one listens, so
 * the caller takes no request it would make wait for the start.  When the
 * slot's last two new-isolate runs that loaded were of the same code (and
 * pool_prepare is on), this also sends that code to the workerd for the
 * next request: the isolate is made and its modules evaluated while the
 * slot is idle, and a next request of the same code runs in it
 * ("prepared"); any other request drops it.  It is still a new isolate
 * per request: none serves two.
 * Call it once the answer is sent.  A run whose caller did not call it does
 * the kill or replacement first (without preparing), so a slot never runs
 * two.
 */
void sb_slot_finish(struct sb_slot *s);

void sb_result_init(struct sb_result *r);
void sb_result_release(struct sb_result *r);

/*
 * Run code on one request with a deadline (ms from the call, workerd start
 * included), in a fresh workerd (process mode) or a fresh isolate (pool
 * mode).  Returns 0 with res->outcome set for every outcome the user
 * caused, -1 (outcome SB_INTERNAL, logged) when the host failed.
 */
int sb_run(struct sb_slot *s, const struct code *c, const struct sb_request *req,
	   unsigned deadline_ms, struct sb_result *res);

/*
 * Like sb_run, but in pool mode the code runs in the isolate kept under
 * isolate_key (made on first use, from c), so globals survive between the
 * requests of that key until the workerd is recycled.  The key must name
 * exactly one code (the caller uses the code id); NULL = sb_run.  Process
 * mode ignores the key.
 */
int sb_run_keyed(struct sb_slot *s, const struct code *c, const char *isolate_key,
		 const struct sb_request *req, unsigned deadline_ms, struct sb_result *res);

/* "process" / "pool" -> mode; 0, or -1 for anything else. */
int sb_mode_parse(const char *name, enum sb_mode *out);

const char *sb_outcome_name(enum sb_outcome o);

#endif
