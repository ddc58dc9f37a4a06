#ifndef SANDBOX_SB_CGROUP_H
#define SANDBOX_SB_CGROUP_H
/*
 * Per-slot cgroups: memory (including swap), CPU quota and a pids limit for
 * the processes of one sandbox slot, plus the per-run usage figures.
 *
 * Groups are created, limited and deleted through libcgroup so that both
 * layouts work: cgroup v1 (one hierarchy per controller, possibly with a v2
 * "unified" mount beside it holding other controllers) and pure cgroup v2.
 * The version is the one of the hierarchy that holds the memory controller;
 * memory, cpu and pids (v1: and cpuacct) must all be on that version.  On v1
 * the freezer hierarchy is used as well when it is mounted, so that killing
 * a slot cannot race with forks.
 *
 * Everything on the per-request path avoids libcgroup: entering the group
 * is one write(2) of "0" per hierarchy to cgroup.procs descriptors opened at
 * creation time, and the usage files are kept open and read with pread(2).
 *
 * A slot's cgroup is owned by one process and is not thread safe.
 * Limits: a field of struct sb_cg_limits that is 0 means "no limit" for
 * that resource; the configuration layer decides whether that is allowed.
 */
#include <stdint.h>

enum sb_cg_version { SB_CG_V1 = 1, SB_CG_V2 = 2 };

struct sb_cg_limits {
	/* memory limit including swap (v1: limit_in_bytes and memsw.limit_in_bytes;
	 * v2: memory.max and memory.swap.max=0) */
	uint64_t memory_bytes;
	/* percent of one CPU, 1..N*100 (v1: cfs_quota_us per 100 ms period; v2: cpu.max) */
	unsigned cpu_percent;
	/* pids.max: processes and threads together */
	unsigned pids;
};

struct sb_cg_usage {
	uint64_t cpu_ns;     /* CPU time since the last sb_cg_reset */
	/* Peak memory since the last reset.  v1: memory.max_usage_in_bytes;
	 * v2: memory.peak, reset through our own descriptor (kernel 6.12+).
	 * On older v2 kernels this is only the largest memory.current seen at
	 * sb_cg_reset/sb_cg_usage time, i.e. a lower bound. */
	uint64_t peak_bytes;
	/* processes killed by the OOM killer since the last reset (v1:
	 * memory.oom_control oom_kill, or memory.failcnt on kernels before
	 * 4.13, which counts limit hits; v2: memory.events oom_kill) */
	uint64_t oom_events;
};

struct sb_cgroup;

/*
 * Once per process, before any other call: initialise libcgroup, detect the
 * version and check that the controllers we need are mounted and writable.
 * Returns -1 with the reason logged when cgroups cannot be used.
 */
int sb_cg_global_init(enum sb_cg_version *version_out);

/*
 * Create the cgroup at relative path `name` ("oyster/<instance>/slot3":
 * components of [A-Za-z0-9._-], none starting with '.') in every needed
 * hierarchy and apply the limits (v2: also memory.oom.group=1; libcgroup
 * enables the controllers in the ancestors' cgroup.subtree_control).  A
 * group left over by a crashed run is taken over: its processes are killed
 * and it is deleted and created afresh, so counters start from zero.
 */
int sb_cg_create(struct sb_cgroup **out, const char *name, const struct sb_cg_limits *lim);

/*
 * In a freshly forked child, before closing inherited descriptors and
 * exec: move the calling process into the group.  Only write(2) calls on
 * descriptors opened by sb_cg_create (async-signal-safe, no allocation, no
 * logging).  Returns 0, or -1 with errno set.
 */
int sb_cg_enter_self(const struct sb_cgroup *cg);

/* Start a new run: the usage figures count from here. */
int sb_cg_reset(struct sb_cgroup *cg);

/* Usage since the last sb_cg_reset (or creation). */
int sb_cg_usage(struct sb_cgroup *cg, struct sb_cg_usage *u);

/* Memory in use now (v1: memory.usage_in_bytes, v2: memory.current). */
int sb_cg_memory_current(struct sb_cgroup *cg, uint64_t *bytes);

/* Number of processes in the group (0 = empty), or -1. */
int sb_cg_nprocs(struct sb_cgroup *cg);

/*
 * SIGKILL every process in the group (v2: cgroup.kill when the kernel has
 * it; v1: under the freezer when mounted), waiting up to 2 s for the group
 * to empty.  Cheap when it is already empty.  0 when empty, -1 (logged) if
 * processes remain.
 */
int sb_cg_kill_all(struct sb_cgroup *cg);

/*
 * Kill everything, delete the group in every hierarchy and free cg (NULL is
 * a no-op).  Parents are left alone; see sb_cg_remove_tree.  Errors are
 * logged; a group that cannot be emptied is left for the next takeover
 * rather than having its processes moved out of their limits.
 */
void sb_cg_destroy(struct sb_cgroup *cg);

/*
 * Kill every process in the subtree `name` ("oyster/<instance>") and delete
 * all of its groups, deepest first, in every hierarchy.  A subtree that does
 * not exist is not an error.  Used by the master at shutdown and by tests.
 */
int sb_cg_remove_tree(const char *name);

/*
 * Remove one daemon's groups of an instance: every "<prefix><digits>" child
 * of instance_tree ("oyster/<instance>"; prefix "slot" for oyster-fcgi,
 * "job" for oyster-chain-watcher) as sb_cg_remove_tree does, then the
 * instance group itself if nothing else is left in it.  Both daemons share
 * the instance by default, so neither may take the other's slots with it.
 */
int sb_cg_remove_kind(const char *instance_tree, const char *prefix);

/* Absolute directory of the group for a controller name ("memory", "cpu",
 * "cpuacct", "pids", "freezer"), or NULL when that controller is not used. */
const char *sb_cg_path(const struct sb_cgroup *cg, const char *controller);

#endif
