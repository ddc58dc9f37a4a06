/*
 * sb_cgroup: per-slot cgroups (interface and semantics in sb_cgroup.h).
 *
 * Layout.  sb_cg_global_init asks libcgroup where each controller is
 * mounted and takes the cgroup version from the filesystem type of the
 * memory hierarchy (statfs: cgroup or cgroup2).  On a v1 host with a
 * "unified" v2 mount beside it (this is how systemd's hybrid mode looks)
 * libcgroup lists memory, cpu, cpuacct and pids under their v1 mounts and
 * only the leftovers (hugetlb here) under the v2 one, so the v1 paths are
 * chosen; on a pure v2 host every controller maps to the single cgroup2
 * mount.  A slot's directory in a hierarchy is <mount>/<name>.
 *
 * libcgroup creates groups and writes limits (cgroup_create_cgroup, which on
 * v2 also writes "+controller" into every ancestor's cgroup.subtree_control)
 * and deletes them (cgroup_delete_cgroup_ext).  Deletion always uses
 * CGFLAG_DELETE_EMPTY_ONLY, deepest group first, after killing every
 * process: libcgroup's other delete modes move leftover processes into the
 * parent group, which would let them escape their limits.
 *
 * The per-request path does not go through libcgroup: entering is a
 * write(2) of "0" (meaning "the writer") to each hierarchy's cgroup.procs,
 * opened O_CLOEXEC at creation, and usage comes from files kept open and
 * read with pread(2) at offset 0 (kernfs regenerates their content then).
 * CPU time and OOM kills are counters read against a baseline taken by
 * sb_cg_reset; the memory peak is reset in the kernel (v1: writing 0 to
 * memory.max_usage_in_bytes; v2: writing to memory.peak, which since 6.12
 * resets the peak seen through that one descriptor).
 *
 * cgroup.procs is the exception, opened afresh for every read: on v1 a
 * descriptor kept open can be served a cached pid list up to a second old.
 *
 * Killing.  v2 has cgroup.kill (5.14+), which the kernel makes atomic
 * against fork.  v1 has no such file, so the group is frozen first when a
 * freezer hierarchy exists: frozen processes can neither fork nor exit, so
 * the pids read from cgroup.procs stay valid while they are signalled.  In
 * both cases cgroup.procs is then read and every pid SIGKILLed in a loop
 * until the group (and any subgroup) is empty or 2 s have passed.
 *
 * Tested on v1 (Debian 12, kernel 6.18, hybrid layout).  The v2 branches
 * follow Documentation/admin-guide/cgroup-v2.rst (cpu.max, memory.max,
 * memory.swap.max, memory.oom.group, memory.peak, memory.events, cpu.stat,
 * cgroup.kill) but have not yet run on a pure v2 host.
 */
#include "sb_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <libcgroup.h>

#include "log.h"
#include "banned.h"

/* Index order is also the order in which sb_cg_enter_self joins: memory first. */
enum sb_ctl { CTL_MEMORY, CTL_PIDS, CTL_CPU, CTL_CPUACCT, CTL_FREEZER, CTL_N };
static const char *const ctl_names[CTL_N] = { "memory", "pids", "cpu", "cpuacct", "freezer" };

#define CPU_PERIOD_US 100000u
#define MAX_CPU_PERCENT 100000u          /* 1000 CPUs; keeps the quota in range */
#define KILL_TIMEOUT_NS 2000000000LL
#define FREEZE_WAIT_NS 100000000LL
#define MAX_DEPTH 16

static struct {
	int inited;
	enum sb_cg_version ver;
	char mnt[CTL_N][PATH_MAX]; /* "" when the controller is not used */
	int have_memsw;            /* v1 swap accounting */
} g;

struct sb_cgroup {
	char *name;
	char *dir[CTL_N];          /* NULL when unused; equal strings when co-mounted */
	int nh;                    /* distinct hierarchies ... */
	const char *hdir[CTL_N];   /* ... their directories (point into dir[]) */
	int procs_fd[CTL_N];       /* ... and their cgroup.procs, write-only */
	int cpu_fd, oom_fd, peak_fd, cur_fd;
	int oom_failcnt;           /* v1 kernel without oom_kill in oom_control */
	int peak_sampled;          /* v2 without a resettable memory.peak */
	uint64_t cpu_base, oom_base, peak_sample;
};

/* ---- small file helpers ---- */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int join(char *out, size_t n, const char *dir, const char *file)
{
	if ((size_t)snprintf(out, n, "%s/%s", dir, file) >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int open_in(const char *dir, const char *file, int flags)
{
	char path[PATH_MAX];

	if (join(path, sizeof(path), dir, file) < 0)
		return -1;
	return open(path, flags | O_CLOEXEC);
}

/* Write s to dir/file in one write(2).  0, or -1 with errno set. */
static int write_in(const char *dir, const char *file, const char *s)
{
	size_t len = strlen(s);
	int fd = open_in(dir, file, O_WRONLY);
	ssize_t n;
	int saved;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	saved = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

static int exists_in(const char *dir, const char *file)
{
	char path[PATH_MAX];

	return join(path, sizeof(path), dir, file) == 0 && access(path, F_OK) == 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	*out = v;
	return 0;
}

/*
 * Read a number from an open cgroup file: the whole content, or with key the
 * value on its "key N" line (flat keyed files: cpu.stat, memory.events,
 * memory.oom_control).  -1 with errno set (EPROTO: not found or not a number).
 */
static int fd_u64(int fd, const char *key, uint64_t *out)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t kl;

	if (n < 0)
		return -1;
	buf[n] = '\0';
	if (!key) {
		if (parse_u64(buf, out) < 0)
			goto bad;
		return 0;
	}
	kl = strlen(key);
	for (const char *p = buf; *p; p++) {
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			if (parse_u64(p + kl + 1, out) < 0)
				goto bad;
			return 0;
		}
		p = strchr(p, '\n');
		if (!p)
			break;
	}
bad:
	errno = EPROTO;
	return -1;
}

/* ---- names ---- */

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Relative, '/'-separated, no empty, hidden, "." or ".." components. */
static int valid_name(const char *name)
{
	const char *p = name;

	if (!name || !*name || strlen(name) > 200)
		return 0;
	while (*p) {
		const char *start = p;

		if (*p == '.')
			return 0;
		while (*p && *p != '/') {
			if (!name_char_ok(*p))
				return 0;
			p++;
		}
		if (p == start)
			return 0;
		if (*p == '/' && !*++p)
			return 0;
	}
	return 1;
}

/* ---- processes ---- */

static void procs_seen(long pid, int sig, int *count)
{
	(*count)++;
	/* A pid not visible in our pid namespace reads as 0: never signal it. */
	if (sig && pid > 0 && pid != getpid())
		kill((pid_t)pid, sig);
}

/*
 * Read dir/cgroup.procs and, when sig is not 0, send sig to every pid in it.
 * Returns the number of pids listed (0 when the group does not exist), or -1
 * with errno set.
 */
static int procs_scan(const char *dir, int sig)
{
	char buf[4096];
	int fd = open_in(dir, "cgroup.procs", O_RDONLY);
	int count = 0, digits = 0, saved;
	long pid = 0;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT || errno == ENODEV ? 0 : -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				if (pid < INT_MAX / 10)
					pid = pid * 10 + (buf[i] - '0');
				digits = 1;
			} else {
				if (digits)
					procs_seen(pid, sig, &count);
				pid = 0;
				digits = 0;
			}
		}
	}
	if (digits)
		procs_seen(pid, sig, &count);
	close(fd);
	return count;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return saved == ENODEV ? count : -1; /* removed while we read it */
}

/*
 * Call fn on the group in path and on all its descendants, parents first,
 * and add up what it returns.  path is a PATH_MAX buffer holding len
 * characters, restored before returning.  -1 with errno set on error.
 */
static int walk_tree(char *path, size_t len, int depth, int (*fn)(const char *dir, int arg),
		     int arg)
{
	int total = fn(path, arg), n;
	struct dirent *e;
	DIR *d;

	if (total < 0)
		return -1;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? total : -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (depth >= MAX_DEPTH || len + 1 + l >= PATH_MAX) {
			closedir(d);
			errno = ENAMETOOLONG;
			return -1;
		}
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, l + 1);
		n = walk_tree(path, len + 1 + l, depth + 1, fn, arg);
		path[len] = '\0';
		if (n < 0) {
			closedir(d);
			return -1;
		}
		total += n;
	}
	closedir(d);
	return total;
}

static int thaw_one(const char *dir, int unused)
{
	(void)unused;
	if (write_in(dir, "freezer.state", "THAWED") < 0 && errno != ENOENT)
		log_errno("cgroup %s: thaw", dir);
	return 0;
}

/* Thaw every group of the subtree: a subgroup frozen on its own (by an owner
 * that died while it was frozen) stays frozen when only its parent thaws. */
static void thaw(const char *freezer)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s", freezer) < sizeof(path))
		walk_tree(path, strlen(path), 0, thaw_one, 0);
}

/* Freeze a v1 freezer group and wait (briefly) until it is FROZEN. */
static void freeze(const char *freezer)
{
	long long until = now_ns() + FREEZE_WAIT_NS;
	char state[32];

	if (write_in(freezer, "freezer.state", "FROZEN") < 0)
		return;
	/* Tasks in uninterruptible sleep can hold FREEZING for long: go on then. */
	do {
		int fd = open_in(freezer, "freezer.state", O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, state, sizeof(state) - 1);

		if (fd >= 0)
			close(fd);
		if (n > 0 && !strncmp(state, "FROZEN", 6))
			break;
		sleep_ms(1);
	} while (now_ns() < until);
}

/*
 * SIGKILL every process in the subtrees dirs[0..n) until all are empty or
 * KILL_TIMEOUT_NS has passed.  v2dir: the v2 group whose cgroup.kill to use;
 * freezer: the v1 freezer group of the subtree.  Returns the number of
 * processes left, or -1 (logged) when a group could not be read.
 */
static int kill_trees(const char *const *dirs, int n, const char *v2dir, const char *freezer)
{
	long long deadline = now_ns() + KILL_TIMEOUT_NS;
	char path[PATH_MAX];
	int left;

	if (v2dir && write_in(v2dir, "cgroup.kill", "1") < 0 && errno != ENOENT)
		log_errno("cgroup %s: cgroup.kill", v2dir);
	if (freezer)
		freeze(freezer);
	for (;;) {
		left = 0;
		for (int i = 0; i < n; i++) {
			int c = -1;

			if ((size_t)snprintf(path, sizeof(path), "%s", dirs[i]) < sizeof(path))
				c = walk_tree(path, strlen(path), 0, procs_scan, SIGKILL);
			if (c < 0) {
				left = log_errno("cgroup %s: read cgroup.procs", dirs[i]);
				break;
			}
			left += c;
		}
		/*
		 * Killed while frozen, they die as soon as they are thawed.  Thaw
		 * even if our freeze failed: the group may be left frozen by an
		 * owner that died.
		 */
		if (freezer) {
			thaw(freezer);
			freezer = NULL;
		}
		if (left <= 0 || now_ns() >= deadline)
			break;
		sleep_ms(1);
	}
	return left;
}

/* ---- libcgroup boundary ---- */

__attribute__((format(printf, 3, 0)))
static void lc_logger(void *userdata, int level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t len;

	(void)userdata;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	/* Our callers log the error that matters, with context: these are details. */
	log_msg(level <= CGROUP_LOG_ERROR ? LOG_WARN : LOG_DEBUG, "libcgroup: %s", msg);
}

/* Delete one empty group in one hierarchy.  Never moves processes out. */
static int lc_delete(const char *name, const char *ctl)
{
	struct cgroup *c = cgroup_new_cgroup(name);
	int ret = ECGFAIL;

	if (c && cgroup_add_controller(c, ctl))
		ret = cgroup_delete_cgroup_ext(c, CGFLAG_DELETE_EMPTY_ONLY);
	cgroup_free(&c);
	if (ret)
		return log_err("cgroup %s:%s: delete: %s", ctl, name, cgroup_strerror(ret));
	return 0;
}

/* Post-order walk deleting every group under path (rel: offset of the name). */
static int delete_walk(char *path, size_t len, size_t rel, const char *ctl, int depth)
{
	struct dirent *e;
	int ret = 0;
	DIR *d = opendir(path);

	if (!d)
		return errno == ENOENT ? 0 : log_errno("opendir %s", path);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (depth >= MAX_DEPTH || len + 1 + l >= PATH_MAX) {
			ret = log_err("cgroup %s: too deep", path);
			continue;
		}
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, l + 1);
		if (delete_walk(path, len + 1 + l, rel, ctl, depth + 1) < 0)
			ret = -1;
		path[len] = '\0';
	}
	closedir(d);
	if (lc_delete(path + rel, ctl) < 0)
		ret = -1;
	return ret;
}

static int lc_add(struct cgroup_controller *c, const char *file, const char *value)
{
	int ret = cgroup_add_value_string(c, file, value);

	if (ret)
		return log_err("cgroup value %s=%s: %s", file, value, cgroup_strerror(ret));
	return 0;
}

static int lc_add_u64(struct cgroup_controller *c, const char *file, uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return lc_add(c, file, s);
}

/* Create the group in every hierarchy with the limits written. */
static int lc_create(struct sb_cgroup *cg, const struct sb_cg_limits *lim)
{
	struct cgroup *c = cgroup_new_cgroup(cg->name);
	struct cgroup_controller *mem = NULL, *cpu = NULL, *pids = NULL;
	char v[64];
	int ret, rc = -1;

	if (!c)
		return log_err("cgroup %s: cgroup_new_cgroup failed", cg->name);
	for (int i = 0; i < CTL_N; i++) {
		struct cgroup_controller *ctl;

		if (!cg->dir[i])
			continue;
		ctl = cgroup_add_controller(c, ctl_names[i]);
		if (!ctl) {
			log_err("cgroup %s: cannot add controller %s", cg->name, ctl_names[i]);
			goto out;
		}
		if (i == CTL_MEMORY)
			mem = ctl;
		else if (i == CTL_CPU)
			cpu = ctl;
		else if (i == CTL_PIDS)
			pids = ctl;
	}
	if (!mem || !cpu || !pids) {
		log_err("cgroup %s: memory, cpu and pids are all needed", cg->name);
		goto out;
	}
	if (g.ver == SB_CG_V1) {
		/* The kernel wants memsw >= limit at every moment: limit first. */
		if (lim->memory_bytes &&
		    (lc_add_u64(mem, "memory.limit_in_bytes", lim->memory_bytes) < 0 ||
		     (g.have_memsw &&
		      lc_add_u64(mem, "memory.memsw.limit_in_bytes", lim->memory_bytes) < 0)))
			goto out;
		if (lim->cpu_percent &&
		    (lc_add_u64(cpu, "cpu.cfs_period_us", CPU_PERIOD_US) < 0 ||
		     lc_add_u64(cpu, "cpu.cfs_quota_us",
				(uint64_t)lim->cpu_percent * (CPU_PERIOD_US / 100)) < 0))
			goto out;
	} else {
		if (lim->memory_bytes && lc_add_u64(mem, "memory.max", lim->memory_bytes) < 0)
			goto out;
		/* One OOM kill takes the whole slot down, not a random worker process. */
		if (lc_add(mem, "memory.oom.group", "1") < 0)
			goto out;
		if (lim->cpu_percent) {
			snprintf(v, sizeof(v), "%llu %u",
				 (unsigned long long)lim->cpu_percent * (CPU_PERIOD_US / 100),
				 CPU_PERIOD_US);
			if (lc_add(cpu, "cpu.max", v) < 0)
				goto out;
		}
	}
	if (lim->pids && lc_add_u64(pids, "pids.max", lim->pids) < 0)
		goto out;
	/* ignore_ownership=1: we are root and keep root ownership */
	ret = cgroup_create_cgroup(c, 1);
	if (ret) {
		log_err("cgroup %s: create: %s", cg->name, cgroup_strerror(ret));
		goto out;
	}
	rc = 0;
out:
	cgroup_free(&c);
	return rc;
}

/* v2: memory.swap.max exists only with swap accounting; set it when it does. */
static int lc_v2_noswap(struct sb_cgroup *cg)
{
	struct cgroup *c;
	struct cgroup_controller *mem;
	int ret = ECGFAIL;

	if (!exists_in(cg->dir[CTL_MEMORY], "memory.swap.max")) {
		log_msg(LOG_WARN, "cgroup %s: no memory.swap.max (swap accounting off): "
			"swap use is not limited", cg->name);
		return 0;
	}
	c = cgroup_new_cgroup(cg->name);
	if (c && (mem = cgroup_add_controller(c, "memory")) &&
	    !(ret = cgroup_add_value_string(mem, "memory.swap.max", "0")))
		ret = cgroup_modify_cgroup(c);
	cgroup_free(&c);
	if (ret)
		return log_err("cgroup %s: memory.swap.max=0: %s", cg->name, cgroup_strerror(ret));
	return 0;
}

/* ---- public API ---- */

static int fs_version(const char *mnt, int *ver)
{
	struct statfs st;

	if (statfs(mnt, &st) < 0)
		return log_errno("statfs %s", mnt);
	if (st.f_type == CGROUP2_SUPER_MAGIC)
		*ver = SB_CG_V2;
	else if (st.f_type == CGROUP_SUPER_MAGIC)
		*ver = SB_CG_V1;
	else
		return log_err("%s is not a cgroup filesystem", mnt);
	return 0;
}

int sb_cg_global_init(enum sb_cg_version *version_out)
{
	int ver[CTL_N] = { 0 }, ret;

	if (g.inited) {
		*version_out = g.ver;
		return 0;
	}
	memset(&g, 0, sizeof(g));
	cgroup_set_logger(lc_logger, CGROUP_LOG_WARNING, NULL);
	ret = cgroup_init();
	if (ret)
		return log_err("cgroups unavailable: cgroup_init: %s", cgroup_strerror(ret));
	for (int i = 0; i < CTL_N; i++) {
		char *mp = NULL;

		ret = cgroup_get_subsys_mount_point(ctl_names[i], &mp);
		if (ret) {
			free(mp);
			continue;
		}
		if ((size_t)snprintf(g.mnt[i], PATH_MAX, "%s", mp) >= PATH_MAX) {
			free(mp);
			return log_err("cgroup mount point too long: %s", mp);
		}
		free(mp);
		if (fs_version(g.mnt[i], &ver[i]) < 0)
			return -1;
	}
	if (!g.mnt[CTL_MEMORY][0])
		return log_err("cgroups unavailable: the memory controller is not mounted");
	g.ver = (enum sb_cg_version)ver[CTL_MEMORY];
	for (int i = 0; i < CTL_N; i++) {
		int needed = i == CTL_MEMORY || i == CTL_PIDS || i == CTL_CPU ||
			     (i == CTL_CPUACCT && g.ver == SB_CG_V1);

		if (g.mnt[i][0] && ver[i] != (int)g.ver) {
			if (needed)
				return log_err("cgroups unavailable: controller %s is on cgroup v%d "
					       "but memory is on v%d", ctl_names[i], ver[i], g.ver);
			g.mnt[i][0] = '\0';
		}
		/* v2 has no cpuacct (cpu.stat) nor freezer controller (cgroup.kill) */
		if (g.ver == SB_CG_V2 && (i == CTL_CPUACCT || i == CTL_FREEZER))
			g.mnt[i][0] = '\0';
		if (needed && !g.mnt[i][0])
			return log_err("cgroups unavailable: the %s controller is not mounted",
				       ctl_names[i]);
		if (g.mnt[i][0] && access(g.mnt[i], W_OK) < 0)
			return log_errno("cgroups unavailable: %s (%s) is not writable",
					 g.mnt[i], ctl_names[i]);
	}
	if (g.ver == SB_CG_V1) {
		g.have_memsw = exists_in(g.mnt[CTL_MEMORY], "memory.memsw.limit_in_bytes");
		if (!g.have_memsw)
			log_msg(LOG_WARN, "cgroups: swap accounting is off (no memory.memsw.*): "
				"the memory limit does not cover swap");
	}
	g.inited = 1;
	*version_out = g.ver;
	log_msg(LOG_INFO, "cgroups: v%d, memory at %s%s", g.ver, g.mnt[CTL_MEMORY],
		g.ver == SB_CG_V1 && !g.mnt[CTL_FREEZER][0] ? ", no freezer" : "");
	return 0;
}

static void cg_free(struct sb_cgroup *cg)
{
	int fds[] = { cg->cpu_fd, cg->oom_fd, cg->peak_fd, cg->cur_fd };

	for (int i = 0; i < cg->nh; i++)
		if (cg->procs_fd[i] >= 0)
			close(cg->procs_fd[i]);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int i = 0; i < CTL_N; i++)
		free(cg->dir[i]);
	free(cg->name);
	free(cg);
}

/* Directories of name in every used hierarchy, one per distinct mount. */
static int cg_dirs(struct sb_cgroup *cg)
{
	for (int i = 0; i < CTL_N; i++) {
		int dup = 0;

		if (!g.mnt[i][0])
			continue;
		if (asprintf(&cg->dir[i], "%s/%s", g.mnt[i], cg->name) < 0) {
			cg->dir[i] = NULL;
			return log_errno("asprintf");
		}
		for (int j = 0; j < cg->nh; j++)
			dup |= !strcmp(cg->hdir[j], cg->dir[i]);
		if (!dup)
			cg->hdir[cg->nh++] = cg->dir[i];
	}
	return 0;
}

static struct sb_cgroup *cg_new(const char *name)
{
	struct sb_cgroup *cg = calloc(1, sizeof(*cg));

	if (!cg) {
		log_errno("calloc");
		return NULL;
	}
	cg->cpu_fd = cg->oom_fd = cg->peak_fd = cg->cur_fd = -1;
	for (int i = 0; i < CTL_N; i++)
		cg->procs_fd[i] = -1;
	cg->name = strdup(name);
	if (!cg->name || cg_dirs(cg) < 0) {
		if (!cg->name)
			log_errno("strdup");
		cg_free(cg);
		return NULL;
	}
	return cg;
}

static int cg_open(struct sb_cgroup *cg, int *fd, int ctl, const char *file, int flags)
{
	*fd = open_in(cg->dir[ctl], file, flags);
	if (*fd < 0)
		return log_errno("open %s/%s", cg->dir[ctl], file);
	return 0;
}

static int cg_open_files(struct sb_cgroup *cg)
{
	uint64_t v;

	for (int i = 0; i < cg->nh; i++) {
		cg->procs_fd[i] = open_in(cg->hdir[i], "cgroup.procs", O_WRONLY);
		if (cg->procs_fd[i] < 0)
			return log_errno("open %s/cgroup.procs", cg->hdir[i]);
	}
	if (g.ver == SB_CG_V1) {
		if (cg_open(cg, &cg->cpu_fd, CTL_CPUACCT, "cpuacct.usage", O_RDONLY) < 0 ||
		    cg_open(cg, &cg->peak_fd, CTL_MEMORY, "memory.max_usage_in_bytes", O_RDWR) < 0 ||
		    cg_open(cg, &cg->cur_fd, CTL_MEMORY, "memory.usage_in_bytes", O_RDONLY) < 0 ||
		    cg_open(cg, &cg->oom_fd, CTL_MEMORY, "memory.oom_control", O_RDONLY) < 0)
			return -1;
		if (fd_u64(cg->oom_fd, "oom_kill", &v) < 0) {
			/* before 4.13 there is no oom_kill count: failcnt counts limit hits */
			close(cg->oom_fd);
			cg->oom_failcnt = 1;
			if (cg_open(cg, &cg->oom_fd, CTL_MEMORY, "memory.failcnt", O_RDONLY) < 0)
				return -1;
		}
		return 0;
	}
	if (cg_open(cg, &cg->cpu_fd, CTL_CPU, "cpu.stat", O_RDONLY) < 0 ||
	    cg_open(cg, &cg->oom_fd, CTL_MEMORY, "memory.events", O_RDONLY) < 0 ||
	    cg_open(cg, &cg->cur_fd, CTL_MEMORY, "memory.current", O_RDONLY) < 0)
		return -1;
	cg->peak_fd = open_in(cg->dir[CTL_MEMORY], "memory.peak", O_RDWR);
	cg->peak_sampled = cg->peak_fd < 0; /* no memory.peak before 5.19 */
	return 0;
}

int sb_cg_create(struct sb_cgroup **out, const char *name, const struct sb_cg_limits *lim)
{
	struct sb_cgroup *cg;
	int leftover = 0;

	*out = NULL;
	if (!g.inited)
		return log_err("cgroup %s: sb_cg_global_init was not called", name);
	if (!valid_name(name))
		return log_err("invalid cgroup name '%s'", name ? name : "(null)");
	if (lim->cpu_percent > MAX_CPU_PERCENT || lim->memory_bytes > (uint64_t)INT64_MAX)
		return log_err("cgroup %s: limits out of range (cpu %u%%, memory %llu)", name,
			       lim->cpu_percent, (unsigned long long)lim->memory_bytes);
	cg = cg_new(name);
	if (!cg)
		return -1;
	for (int i = 0; i < cg->nh; i++)
		leftover |= access(cg->hdir[i], F_OK) == 0;
	if (leftover) {
		log_msg(LOG_WARN, "cgroup %s exists (left by an earlier run): "
			"killing its processes and creating it afresh", name);
		if (sb_cg_remove_tree(name) < 0) {
			cg_free(cg);
			return log_err("cgroup %s: cannot take over the leftover group", name);
		}
	}
	if (lc_create(cg, lim) < 0) {
		cg_free(cg); /* libcgroup removed what it had made */
		return -1;
	}
	if ((g.ver == SB_CG_V2 && lim->memory_bytes && lc_v2_noswap(cg) < 0) ||
	    cg_open_files(cg) < 0 || sb_cg_reset(cg) < 0) {
		sb_cg_destroy(cg);
		return -1;
	}
	*out = cg;
	return 0;
}

int sb_cg_enter_self(const struct sb_cgroup *cg)
{
	for (int i = 0; i < cg->nh; i++) {
		ssize_t n = write(cg->procs_fd[i], "0", 1);

		if (n != 1) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

static int read_cpu(struct sb_cgroup *cg, uint64_t *ns)
{
	uint64_t usec;

	if (g.ver == SB_CG_V1) {
		if (fd_u64(cg->cpu_fd, NULL, ns) < 0)
			return log_errno("cgroup %s: read cpuacct.usage", cg->name);
		return 0;
	}
	if (fd_u64(cg->cpu_fd, "usage_usec", &usec) < 0)
		return log_errno("cgroup %s: read cpu.stat usage_usec", cg->name);
	*ns = usec * 1000;
	return 0;
}

static int read_oom(struct sb_cgroup *cg, uint64_t *n)
{
	const char *key = g.ver == SB_CG_V1 && cg->oom_failcnt ? NULL : "oom_kill";

	if (fd_u64(cg->oom_fd, key, n) < 0)
		return log_errno("cgroup %s: read the OOM kill count", cg->name);
	return 0;
}

static int read_peak(struct sb_cgroup *cg, uint64_t *bytes)
{
	uint64_t cur;

	if (!cg->peak_sampled) {
		if (fd_u64(cg->peak_fd, NULL, bytes) < 0)
			return log_errno("cgroup %s: read the memory peak", cg->name);
		return 0;
	}
	if (fd_u64(cg->cur_fd, NULL, &cur) < 0)
		return log_errno("cgroup %s: read memory.current", cg->name);
	if (cur > cg->peak_sample)
		cg->peak_sample = cur;
	*bytes = cg->peak_sample;
	return 0;
}

int sb_cg_reset(struct sb_cgroup *cg)
{
	if (g.ver == SB_CG_V1) {
		/* writing 0 sets the watermark to the current usage */
		if (write(cg->peak_fd, "0", 1) != 1)
			return log_errno("cgroup %s: reset memory.max_usage_in_bytes", cg->name);
	} else if (!cg->peak_sampled && write(cg->peak_fd, "reset\n", 6) != 6) {
		log_msg(LOG_INFO, "cgroup %s: memory.peak cannot be reset (kernel before 6.12): "
			"peak memory is sampled from memory.current", cg->name);
		cg->peak_sampled = 1;
	}
	if (cg->peak_sampled) {
		cg->peak_sample = 0;
		if (read_peak(cg, &cg->peak_sample) < 0)
			return -1;
	}
	if (read_cpu(cg, &cg->cpu_base) < 0 || read_oom(cg, &cg->oom_base) < 0)
		return -1;
	return 0;
}

int sb_cg_usage(struct sb_cgroup *cg, struct sb_cg_usage *u)
{
	uint64_t cpu, oom, peak;

	memset(u, 0, sizeof(*u));
	if (read_cpu(cg, &cpu) < 0 || read_oom(cg, &oom) < 0 || read_peak(cg, &peak) < 0)
		return -1;
	u->cpu_ns = cpu > cg->cpu_base ? cpu - cg->cpu_base : 0;
	u->oom_events = oom > cg->oom_base ? oom - cg->oom_base : 0;
	u->peak_bytes = peak;
	return 0;
}

int sb_cg_memory_current(struct sb_cgroup *cg, uint64_t *bytes)
{
	if (fd_u64(cg->cur_fd, NULL, bytes) < 0)
		return log_errno("cgroup %s: read the current memory usage", cg->name);
	return 0;
}

int sb_cg_nprocs(struct sb_cgroup *cg)
{
	int n = procs_scan(cg->dir[CTL_MEMORY], 0);

	if (n < 0)
		return log_errno("cgroup %s: read cgroup.procs", cg->dir[CTL_MEMORY]);
	return n;
}

int sb_cg_kill_all(struct sb_cgroup *cg)
{
	int busy = 0, left;

	/*
	 * Usually the owner has already killed and reaped its child: stay cheap.
	 * One hierarchy is enough to tell: sb_cg_enter_self joins memory first
	 * and stops at the first failure, so any process of ours is in memory.
	 */
	busy = procs_scan(cg->dir[CTL_MEMORY], 0);
	if (busy < 0)
		return log_errno("cgroup %s: read cgroup.procs", cg->dir[CTL_MEMORY]);
	if (!busy)
		return 0;
	left = kill_trees(cg->hdir, cg->nh, g.ver == SB_CG_V2 ? cg->dir[CTL_MEMORY] : NULL,
			  cg->dir[CTL_FREEZER]);
	if (left > 0)
		return log_err("cgroup %s: %d processes still there 2 s after SIGKILL",
			       cg->name, left);
	return left < 0 ? -1 : 0;
}

void sb_cg_destroy(struct sb_cgroup *cg)
{
	char *name;

	if (!cg)
		return;
	name = cg->name;
	cg->name = NULL;
	cg_free(cg);
	if (name && sb_cg_remove_tree(name) < 0)
		log_err("cgroup %s: not removed", name);
	free(name);
}

int sb_cg_remove_tree(const char *name)
{
	char path[PATH_MAX];
	struct sb_cgroup *t;
	int left, ret = 0;

	if (!g.inited)
		return log_err("cgroup %s: sb_cg_global_init was not called", name);
	if (!valid_name(name))
		return log_err("invalid cgroup name '%s'", name ? name : "(null)");
	t = cg_new(name); /* only for its directories */
	if (!t)
		return -1;
	left = kill_trees(t->hdir, t->nh, g.ver == SB_CG_V2 ? t->dir[CTL_MEMORY] : NULL,
			  t->dir[CTL_FREEZER]);
	if (left > 0)
		ret = log_err("cgroup %s: %d processes survive SIGKILL: not deleting it", name, left);
	if (left != 0)
		goto out;
	for (int i = 0; i < CTL_N; i++) {
		int first = 1;

		if (!t->dir[i])
			continue;
		for (int j = 0; j < i; j++)
			first &= !(t->dir[j] && !strcmp(t->dir[j], t->dir[i]));
		if (!first)
			continue;
		snprintf(path, sizeof(path), "%s", t->dir[i]);
		if (delete_walk(path, strlen(path), strlen(g.mnt[i]) + 1, ctl_names[i], 0) < 0)
			ret = -1;
	}
	for (int i = 0; i < t->nh; i++)
		if (access(t->hdir[i], F_OK) == 0)
			ret = log_err("cgroup %s still exists after delete", t->hdir[i]);
out:
	cg_free(t);
	return left < 0 ? -1 : ret;
}

/* "slot12" for prefix "slot": the prefix, then one or more digits only. */
static int is_kind_dir(const char *d, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(d, prefix, n) || !d[n])
		return 0;
	for (d += n; *d; d++)
		if (*d < '0' || *d > '9')
			return 0;
	return 1;
}

int sb_cg_remove_kind(const char *instance_tree, const char *prefix)
{
	char sub[PATH_MAX];
	struct sb_cgroup *t;
	int ret = 0;

	if (!g.inited)
		return log_err("cgroup %s: sb_cg_global_init was not called", instance_tree);
	if (!valid_name(instance_tree))
		return log_err("invalid cgroup name '%s'", instance_tree ? instance_tree : "(null)");
	t = cg_new(instance_tree); /* only for its directories */
	if (!t)
		return -1;
	/* Collect from every hierarchy: after a crash they need not agree. */
	for (int i = 0; i < t->nh; i++) {
		DIR *dir = opendir(t->hdir[i]);
		struct dirent *e;

		if (!dir)
			continue; /* no instance group in this hierarchy */
		while ((e = readdir(dir))) {
			if (e->d_type != DT_DIR || !is_kind_dir(e->d_name, prefix))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", instance_tree, e->d_name);
			if (sb_cg_remove_tree(sub) < 0)
				ret = -1;
		}
		closedir(dir);
	}
	/* The instance group goes only once nobody else (the other daemon) has a group in it. */
	for (int i = 0; i < t->nh; i++)
		if (rmdir(t->hdir[i]) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EBUSY)
			ret = log_errno("rmdir %s", t->hdir[i]);
	cg_free(t);
	return ret;
}

const char *sb_cg_path(const struct sb_cgroup *cg, const char *controller)
{
	for (int i = 0; i < CTL_N; i++)
		if (!strcmp(controller, ctl_names[i]))
			return cg->dir[i];
	return NULL;
}
