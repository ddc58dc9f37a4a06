/*
 * sb_cgroup against the real kernel: needs root and the cgroup controllers
 * (memory, cpu, pids; v1 also cpuacct).  Every group lives under
 * "oyster-test-<pid>/" and main() removes that subtree after the run, pass or
 * fail, then checks that it is gone.
 *
 * Covered: limits read back from the kernel's files, entering from a forked
 * child, an OOM kill (64 MiB touched in a 32 MiB group), CPU accounting and
 * the CPU quota, the pids limit against a fork loop, kill_all against
 * SIGTERM-ignoring, session-leaving and fork-looping processes, reset,
 * destroy and remove_tree removing every directory, taking over a group
 * left with a live process by a "crashed" owner, removing a group left
 * frozen (v1 freezer), invalid names, and the cost of the per-request calls.
 *
 * Children created here never call check's asserts: they report through a
 * pipe or their exit status and the test process asserts.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sb_cgroup.h"
#include "banned.h"

#define MiB (1024ull * 1024)

static char base[64];
static enum sb_cg_version ver;

/* ---- helpers ---- */

static void mkname(char *out, size_t n, const char *leaf)
{
	ck_assert((size_t)snprintf(out, n, "%s/%s", base, leaf) < n);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void read_text(const char *dir, const char *file, char *buf, size_t n)
{
	char path[4096];
	FILE *f;
	size_t got;

	ck_assert(dir != NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	got = fread(buf, 1, n - 1, f);
	fclose(f);
	buf[got] = '\0';
	while (got && buf[got - 1] == '\n')
		buf[--got] = '\0';
}

static long long read_ll(const char *dir, const char *file)
{
	char buf[64], *end;
	long long v;

	read_text(dir, file, buf, sizeof(buf));
	v = strtoll(buf, &end, 10);
	ck_assert_msg(end != buf, "%s/%s: not a number: %s", dir, file, buf);
	return v;
}

static int pid_listed(const char *dir, pid_t pid)
{
	char path[4096];
	FILE *f;
	int p, found = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	while (fscanf(f, "%d", &p) == 1)
		found |= p == pid;
	fclose(f);
	return found;
}

/* Whether /proc/<pid>/cgroup puts pid in a group whose path ends in suffix
 * (v1: in the memory hierarchy; v2: the unified one). */
static int in_cgroup(pid_t pid, const char *suffix)
{
	char path[64], line[4096], want[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "%s\n", suffix);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line), w = strlen(want);
		int ours = l >= w && !strcmp(line + l - w, want);

		if (ver == SB_CG_V1)
			found |= ours && strstr(line, ":memory:/") != NULL;
		else
			found |= ours && !strncmp(line, "0::/", 4);
	}
	fclose(f);
	return found;
}

/* waitpid with a timeout; 0 when reaped. */
static int wait_for(pid_t pid, int *status, unsigned ms)
{
	uint64_t until = now_ms() + ms;

	do {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(1000);
	} while (now_ms() < until);
	return -1;
}

static void expect_sigkill(pid_t pid)
{
	int status = 0;

	ck_assert_msg(wait_for(pid, &status, 5000) == 0, "pid %d did not die", (int)pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "pid %d: status 0x%x, expected SIGKILL", (int)pid, status);
}

/* Orphans of our children are reparented to us (subreaper): collect them. */
static void reap_strays(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void read_byte(int fd, char *c)
{
	ssize_t n;

	do
		n = read(fd, c, 1);
	while (n < 0 && errno == EINTR);
	ck_assert_msg(n == 1, "child did not report");
}

static void block_forever(int fd)
{
	char c;

	for (;;)
		if (read(fd, &c, 1) == 0)
			pause();
}

/*
 * Fork a child that enters cg, reports '0' (or '1' when entering failed) on
 * the returned pipe and runs fn; fn must not return on success paths.
 */
static pid_t spawn(struct sb_cgroup *cg, void (*fn)(int wfd), int *rfd)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (sb_cg_enter_self(cg) < 0) {
			ssize_t r = write(p[1], "1", 1);

			(void)r;
			_exit(100);
		}
		if (write(p[1], "0", 1) != 1)
			_exit(101);
		fn(p[1]);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static pid_t spawn_ready(struct sb_cgroup *cg, void (*fn)(int wfd), int *rfd)
{
	char c;
	pid_t pid = spawn(cg, fn, rfd);

	read_byte(*rfd, &c);
	ck_assert_msg(c == '0', "child could not enter the cgroup");
	return pid;
}

static void child_sleep(int wfd)
{
	(void)wfd;
	for (;;)
		pause();
}

static void child_hog_64m(int wfd)
{
	size_t n = 64 * MiB;
	volatile char *p = malloc(n);

	(void)wfd;
	if (!p)
		_exit(102);
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	_exit(0); /* should have been killed */
}

static struct sb_cgroup *create_ok(const char *leaf, uint64_t mem, unsigned cpu, unsigned pids)
{
	struct sb_cg_limits lim = { mem, cpu, pids };
	struct sb_cgroup *cg = NULL;
	char name[256];

	mkname(name, sizeof(name), leaf);
	ck_assert_int_eq(sb_cg_create(&cg, name, &lim), 0);
	ck_assert(cg != NULL);
	return cg;
}

static void fixture_setup(void)
{
	/* so that grandchildren whose parent dies come back to us */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void fixture_teardown(void)
{
	reap_strays();
}

/* ---- tests ---- */

START_TEST(test_limits_read_back)
{
	struct sb_cgroup *cg = create_ok("limits/slot0", 64 * MiB, 50, 16);
	const char *ctls[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };
	char saved[5][4096], buf[128];
	const char *mem = sb_cg_path(cg, "memory"), *cpu = sb_cg_path(cg, "cpu");
	const char *pids = sb_cg_path(cg, "pids");

	ck_assert(mem && cpu && pids);
	ck_assert_ptr_null(sb_cg_path(cg, "blkio"));
	ck_assert(strstr(mem, "/limits/slot0") != NULL);
	if (ver == SB_CG_V1) {
		ck_assert_int_eq(read_ll(mem, "memory.limit_in_bytes"), (long long)(64 * MiB));
		ck_assert_int_eq(read_ll(mem, "memory.memsw.limit_in_bytes"), (long long)(64 * MiB));
		ck_assert_int_eq(read_ll(cpu, "cpu.cfs_period_us"), 100000);
		ck_assert_int_eq(read_ll(cpu, "cpu.cfs_quota_us"), 50000);
		ck_assert(sb_cg_path(cg, "cpuacct") != NULL);
	} else {
		ck_assert_int_eq(read_ll(mem, "memory.max"), (long long)(64 * MiB));
		ck_assert_int_eq(read_ll(mem, "memory.oom.group"), 1);
		read_text(cpu, "cpu.max", buf, sizeof(buf));
		ck_assert_str_eq(buf, "50000 100000");
	}
	ck_assert_int_eq(read_ll(pids, "pids.max"), 16);
	ck_assert_int_eq(sb_cg_nprocs(cg), 0);

	for (int i = 0; i < 5; i++) {
		const char *d = sb_cg_path(cg, ctls[i]);

		snprintf(saved[i], sizeof(saved[i]), "%s", d ? d : "");
		if (d)
			ck_assert_msg(dir_exists(d), "%s missing", d);
	}
	sb_cg_destroy(cg);
	for (int i = 0; i < 5; i++)
		if (saved[i][0])
			ck_assert_msg(!dir_exists(saved[i]), "%s still exists", saved[i]);
}
END_TEST

START_TEST(test_zero_means_unlimited)
{
	struct sb_cgroup *cg = create_ok("unlimited", 0, 0, 0);
	char buf[64];

	if (ver == SB_CG_V1) {
		ck_assert(read_ll(sb_cg_path(cg, "memory"), "memory.limit_in_bytes") > (1LL << 60));
		ck_assert_int_eq(read_ll(sb_cg_path(cg, "cpu"), "cpu.cfs_quota_us"), -1);
	} else {
		read_text(sb_cg_path(cg, "memory"), "memory.max", buf, sizeof(buf));
		ck_assert_str_eq(buf, "max");
	}
	read_text(sb_cg_path(cg, "pids"), "pids.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "max");
	sb_cg_destroy(cg);
}
END_TEST

START_TEST(test_invalid_arguments)
{
	const char *bad[] = { "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b",
			      "a/.hidden", "a b", "x;y", "a\nb", NULL };
	struct sb_cg_limits lim = { 32 * MiB, 10, 8 };
	struct sb_cgroup *cg = (struct sb_cgroup *)1;
	char name[256];

	for (int i = 0; bad[i]; i++) {
		ck_assert_msg(sb_cg_create(&cg, bad[i], &lim) == -1, "accepted '%s'", bad[i]);
		ck_assert_ptr_null(cg);
		ck_assert_int_eq(sb_cg_remove_tree(bad[i]), -1);
	}
	mkname(name, sizeof(name), "badlimits");
	lim.cpu_percent = 1000000;
	ck_assert_int_eq(sb_cg_create(&cg, name, &lim), -1);
	/* removing something that does not exist is fine */
	mkname(name, sizeof(name), "never-created/x");
	ck_assert_int_eq(sb_cg_remove_tree(name), 0);
	sb_cg_destroy(NULL);
}
END_TEST

START_TEST(test_enter_self)
{
	struct sb_cgroup *cg = create_ok("enter", 64 * MiB, 100, 16);
	const char *ctls[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };
	int rfd;
	pid_t pid = spawn_ready(cg, child_sleep, &rfd);

	for (int i = 0; i < 5; i++) {
		const char *d = sb_cg_path(cg, ctls[i]);

		if (d)
			ck_assert_msg(pid_listed(d, pid), "pid %d not in %s", (int)pid, d);
	}
	ck_assert_int_eq(sb_cg_nprocs(cg), 1);
	/* and the kernel agrees from the process's side */
	ck_assert(in_cgroup(pid, "/enter"));

	ck_assert_int_eq(sb_cg_kill_all(cg), 0);
	ck_assert_int_eq(sb_cg_nprocs(cg), 0);
	expect_sigkill(pid);
	close(rfd);
	sb_cg_destroy(cg);
}
END_TEST

START_TEST(test_oom_kill)
{
	struct sb_cgroup *cg = create_ok("oom", 32 * MiB, 0, 16);
	struct sb_cg_usage u;
	int rfd;
	pid_t pid;

	ck_assert_int_eq(sb_cg_reset(cg), 0);
	pid = spawn_ready(cg, child_hog_64m, &rfd);
	expect_sigkill(pid);
	close(rfd);
	ck_assert_int_eq(sb_cg_usage(cg, &u), 0);
	fprintf(stderr, "oom: oom_events %llu peak %llu\n", (unsigned long long)u.oom_events,
		(unsigned long long)u.peak_bytes);
	ck_assert_uint_ge(u.oom_events, 1);
	ck_assert_uint_ge(u.peak_bytes, 24 * MiB);
	ck_assert_uint_le(u.peak_bytes, 33 * MiB);
	ck_assert_int_eq(sb_cg_nprocs(cg), 0);
	sb_cg_destroy(cg);
}
END_TEST

static void child_burn_300ms_cpu(int wfd)
{
	uint64_t start = cpu_ms();

	while (cpu_ms() - start < 300)
		;
	if (write(wfd, "d", 1) != 1)
		_exit(103);
	block_forever(wfd);
}

START_TEST(test_cpu_accounting)
{
	struct sb_cgroup *cg = create_ok("cpu", 0, 0, 16);
	struct sb_cg_usage u;
	int rfd;
	pid_t pid;
	char c;

	ck_assert_int_eq(sb_cg_reset(cg), 0);
	pid = spawn_ready(cg, child_burn_300ms_cpu, &rfd);
	read_byte(rfd, &c);
	/* measured while the child is blocked: its exit is not counted */
	ck_assert_int_eq(sb_cg_usage(cg, &u), 0);
	fprintf(stderr, "cpu: %llu ms for a 300 ms burn\n",
		(unsigned long long)(u.cpu_ns / 1000000));
	ck_assert_uint_ge(u.cpu_ns, 280ull * 1000000);
	ck_assert_uint_le(u.cpu_ns, 1500ull * 1000000);
	ck_assert_uint_eq(u.oom_events, 0);
	ck_assert_int_eq(sb_cg_kill_all(cg), 0);
	expect_sigkill(pid);
	close(rfd);
	sb_cg_destroy(cg);
}
END_TEST

static void child_spin_500ms_wall(int wfd)
{
	uint64_t start = now_ms();

	while (now_ms() - start < 500)
		;
	if (write(wfd, "d", 1) != 1)
		_exit(103);
	block_forever(wfd);
}

START_TEST(test_cpu_quota)
{
	struct sb_cgroup *cg = create_ok("quota", 0, 10, 16);
	struct sb_cg_usage u;
	int rfd;
	pid_t pid;
	char c;

	ck_assert_int_eq(sb_cg_reset(cg), 0);
	pid = spawn_ready(cg, child_spin_500ms_wall, &rfd);
	read_byte(rfd, &c);
	ck_assert_int_eq(sb_cg_usage(cg, &u), 0);
	fprintf(stderr, "quota 10%%: %llu ms CPU in 500 ms wall\n",
		(unsigned long long)(u.cpu_ns / 1000000));
	ck_assert_uint_ge(u.cpu_ns, 10ull * 1000000);
	ck_assert_uint_le(u.cpu_ns, 100ull * 1000000);
	ck_assert_int_eq(sb_cg_kill_all(cg), 0);
	expect_sigkill(pid);
	close(rfd);
	sb_cg_destroy(cg);
}
END_TEST

static void child_fork_20(int wfd)
{
	int ok = 0, eagain = 0, other = 0;
	char msg[64];

	for (int i = 0; i < 20; i++) {
		pid_t p = fork();

		if (p == 0) {
			for (;;)
				pause();
		}
		if (p > 0)
			ok++;
		else if (errno == EAGAIN)
			eagain++;
		else
			other++;
	}
	snprintf(msg, sizeof(msg), "%d %d %d\n", ok, eagain, other);
	if (write(wfd, msg, strlen(msg)) < 0)
		_exit(104);
	block_forever(wfd);
}

START_TEST(test_pids_limit)
{
	struct sb_cgroup *cg = create_ok("pids", 0, 0, 5);
	int rfd, ok = -1, eagain = -1, other = -1;
	char msg[64] = "";
	ssize_t n;
	pid_t pid;

	pid = spawn_ready(cg, child_fork_20, &rfd);
	n = read(rfd, msg, sizeof(msg) - 1);
	ck_assert_int_gt(n, 0);
	msg[n] = '\0';
	ck_assert_int_eq(sscanf(msg, "%d %d %d", &ok, &eagain, &other), 3);
	fprintf(stderr, "pids.max 5: %d forks ok, %d EAGAIN, %d other\n", ok, eagain, other);
	ck_assert_int_eq(ok, 4); /* the child itself is the fifth */
	ck_assert_int_eq(eagain, 16);
	ck_assert_int_eq(other, 0);
	ck_assert_int_eq(sb_cg_nprocs(cg), 5);
	ck_assert_int_eq(sb_cg_kill_all(cg), 0);
	ck_assert_int_eq(sb_cg_nprocs(cg), 0);
	expect_sigkill(pid);
	close(rfd);
	sb_cg_destroy(cg);
}
END_TEST

static void child_zoo(int wfd)
{
	/* a SIGTERM-ignoring parent of: a SIGTERM-ignorer, a daemonised
	 * (setsid, reparented) sleeper and a fork loop */
	signal(SIGTERM, SIG_IGN);
	if (fork() == 0) {
		if (write(wfd, "a", 1) != 1)
			_exit(1);
		child_sleep(wfd);
	}
	if (fork() == 0) {
		setsid();
		if (fork() == 0) {
			if (write(wfd, "b", 1) != 1)
				_exit(1);
			child_sleep(wfd);
		}
		_exit(0);
	}
	if (fork() == 0) {
		if (write(wfd, "c", 1) != 1)
			_exit(1);
		for (;;) {
			pid_t p = fork();

			if (p == 0)
				_exit(0);
			if (p > 0)
				waitpid(p, NULL, 0);
		}
	}
	child_sleep(wfd);
}

START_TEST(test_kill_all)
{
	struct sb_cgroup *cg = create_ok("kill", 256 * MiB, 0, 64);
	uint64_t t0;
	int rfd, n;
	pid_t pid;
	char c;

	pid = spawn_ready(cg, child_zoo, &rfd);
	for (int i = 0; i < 3; i++)
		read_byte(rfd, &c);
	n = sb_cg_nprocs(cg);
	ck_assert_int_ge(n, 4);
	/* SIGTERM is ignored by the main child */
	kill(pid, SIGTERM);
	usleep(50 * 1000);
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);

	t0 = now_ms();
	ck_assert_int_eq(sb_cg_kill_all(cg), 0);
	fprintf(stderr, "kill_all: %d processes, %llu ms\n", n,
		(unsigned long long)(now_ms() - t0));
	ck_assert_int_eq(sb_cg_nprocs(cg), 0);
	if (sb_cg_path(cg, "freezer")) {
		char state[32];

		read_text(sb_cg_path(cg, "freezer"), "freezer.state", state, sizeof(state));
		ck_assert_str_eq(state, "THAWED");
	}
	expect_sigkill(pid);
	close(rfd);
	reap_strays();
	sb_cg_destroy(cg);
}
END_TEST

static void child_burn_50ms_cpu_exit(int wfd)
{
	uint64_t start = cpu_ms();

	(void)wfd;
	while (cpu_ms() - start < 50)
		;
	_exit(0);
}

START_TEST(test_reset)
{
	struct sb_cgroup *cg = create_ok("reset", 32 * MiB, 0, 16);
	struct sb_cg_usage u;
	int rfd, status;
	pid_t pid;

	pid = spawn_ready(cg, child_hog_64m, &rfd);
	expect_sigkill(pid);
	close(rfd);
	pid = spawn_ready(cg, child_burn_50ms_cpu_exit, &rfd);
	ck_assert_int_eq(wait_for(pid, &status, 5000), 0);
	close(rfd);
	ck_assert_int_eq(sb_cg_usage(cg, &u), 0);
	ck_assert_uint_ge(u.oom_events, 1);
	ck_assert_uint_ge(u.cpu_ns, 45ull * 1000000);
	ck_assert_uint_ge(u.peak_bytes, 24 * MiB);

	ck_assert_int_eq(sb_cg_reset(cg), 0);
	ck_assert_int_eq(sb_cg_usage(cg, &u), 0);
	fprintf(stderr, "after reset: cpu %llu ns, peak %llu, oom %llu\n",
		(unsigned long long)u.cpu_ns, (unsigned long long)u.peak_bytes,
		(unsigned long long)u.oom_events);
	ck_assert_uint_eq(u.cpu_ns, 0);
	ck_assert_uint_eq(u.oom_events, 0);
	ck_assert_uint_lt(u.peak_bytes, 4 * MiB);
	sb_cg_destroy(cg);
}
END_TEST

START_TEST(test_destroy_with_process)
{
	struct sb_cgroup *cg = create_ok("destroy/a", 64 * MiB, 0, 16);
	char mem[4096], pids[4096], name[256];
	int rfd;
	pid_t pid = spawn_ready(cg, child_sleep, &rfd);

	snprintf(mem, sizeof(mem), "%s", sb_cg_path(cg, "memory"));
	snprintf(pids, sizeof(pids), "%s", sb_cg_path(cg, "pids"));
	sb_cg_destroy(cg);
	expect_sigkill(pid);
	close(rfd);
	ck_assert(!dir_exists(mem));
	ck_assert(!dir_exists(pids));
	/* the parent is ours to remove */
	*strrchr(mem, '/') = '\0';
	ck_assert(dir_exists(mem));
	mkname(name, sizeof(name), "destroy");
	ck_assert_int_eq(sb_cg_remove_tree(name), 0);
	ck_assert(!dir_exists(mem));
}
END_TEST

/* oyster-fcgi and the chain watcher share an instance: each removes only its
 * own kind of group, and the instance group goes with the last of them. */
START_TEST(test_remove_kind)
{
	struct sb_cgroup *s0 = create_ok("inst/slot0", 64 * MiB, 0, 16);
	struct sb_cgroup *s12 = create_ok("inst/slot12", 64 * MiB, 0, 16);
	struct sb_cgroup *j0 = create_ok("inst/job0", 64 * MiB, 0, 16);
	struct sb_cgroup *other = create_ok("inst/slotx", 64 * MiB, 0, 16);
	char top[4096], s0dir[4096], jdir[4096], odir[4096], name[256];
	int rs, rj;
	pid_t ps = spawn_ready(s0, child_sleep, &rs);
	pid_t pj = spawn_ready(j0, child_sleep, &rj);

	snprintf(s0dir, sizeof(s0dir), "%s", sb_cg_path(s0, "memory"));
	snprintf(jdir, sizeof(jdir), "%s", sb_cg_path(j0, "memory"));
	snprintf(odir, sizeof(odir), "%s", sb_cg_path(other, "memory"));
	snprintf(top, sizeof(top), "%s", s0dir);
	*strrchr(top, '/') = '\0';
	mkname(name, sizeof(name), "inst");
	ck_assert_int_eq(sb_cg_remove_kind(name, "slot"), 0);
	expect_sigkill(ps);
	close(rs);
	ck_assert(!dir_exists(s0dir));
	ck_assert(!dir_exists(sb_cg_path(s12, "memory")));
	/* the job slot, its process and a name that is not slot<digits> stay */
	ck_assert(dir_exists(jdir));
	ck_assert(dir_exists(odir));
	ck_assert_int_eq(kill(pj, 0), 0);
	ck_assert(dir_exists(top));
	sb_cg_destroy(other);
	ck_assert_int_eq(sb_cg_remove_kind(name, "job"), 0);
	expect_sigkill(pj);
	close(rj);
	ck_assert(!dir_exists(jdir));
	ck_assert(!dir_exists(top));
	/* nothing left: not an error */
	ck_assert_int_eq(sb_cg_remove_kind(name, "job"), 0);
	ck_assert_int_eq(sb_cg_remove_kind("../x", "job"), -1);
	sb_cg_destroy(s0);
	sb_cg_destroy(s12);
	sb_cg_destroy(j0);
	reap_strays();
}
END_TEST

START_TEST(test_remove_tree)
{
	struct sb_cgroup *a = create_ok("tree/a", 64 * MiB, 0, 16);
	struct sb_cgroup *c = create_ok("tree/b/c", 64 * MiB, 0, 16);
	char top[4096], name[256];
	int ra, rc;
	pid_t pa = spawn_ready(a, child_sleep, &ra);
	pid_t pc = spawn_ready(c, child_zoo, &rc);

	snprintf(top, sizeof(top), "%s", sb_cg_path(a, "memory"));
	*strrchr(top, '/') = '\0';
	mkname(name, sizeof(name), "tree");
	ck_assert_int_eq(sb_cg_remove_tree(name), 0);
	ck_assert(!dir_exists(top));
	expect_sigkill(pa);
	expect_sigkill(pc);
	close(ra);
	close(rc);
	reap_strays();
	/* destroying handles whose groups are already gone is harmless */
	sb_cg_destroy(a);
	sb_cg_destroy(c);
}
END_TEST

START_TEST(test_takeover_leftover)
{
	struct sb_cgroup *cg = NULL;
	struct sb_cg_limits lim = { 64 * MiB, 20, 8 };
	char name[256], mem[4096];
	int p[2], status, rfd;
	pid_t helper, orphan = 0, pid;

	mkname(name, sizeof(name), "takeover");
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	helper = fork();
	ck_assert_int_ge(helper, 0);
	if (helper == 0) {
		/* an owner that creates the group, starts a worker and crashes */
		struct sb_cg_limits old = { 16 * MiB, 5, 4 };
		struct sb_cgroup *hc;
		pid_t w;
		int q[2];
		char c;

		close(p[0]);
		if (sb_cg_create(&hc, name, &old) < 0 || pipe2(q, O_CLOEXEC) < 0)
			_exit(1);
		w = fork();
		if (w == 0) {
			if (sb_cg_enter_self(hc) < 0 || write(q[1], "0", 1) != 1)
				_exit(1);
			child_sleep(q[1]);
		}
		close(q[1]);
		if (w < 0 || read(q[0], &c, 1) != 1 || write(p[1], &w, sizeof(w)) != sizeof(w))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(wait_for(helper, &status, 5000), 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(read(p[0], &orphan, sizeof(orphan)), sizeof(orphan));
	close(p[0]);
	ck_assert_int_gt(orphan, 0);
	ck_assert_msg(in_cgroup(orphan, "/takeover"), "the leftover worker is not in the group");

	ck_assert_int_eq(sb_cg_create(&cg, name, &lim), 0);
	expect_sigkill(orphan); /* reparented to us, killed by the takeover */
	ck_assert_int_eq(sb_cg_nprocs(cg), 0);
	snprintf(mem, sizeof(mem), "%s", sb_cg_path(cg, "memory"));
	if (ver == SB_CG_V1)
		ck_assert_int_eq(read_ll(mem, "memory.limit_in_bytes"), (long long)(64 * MiB));
	else
		ck_assert_int_eq(read_ll(mem, "memory.max"), (long long)(64 * MiB));
	ck_assert_int_eq(read_ll(sb_cg_path(cg, "pids"), "pids.max"), 8);

	pid = spawn_ready(cg, child_sleep, &rfd);
	ck_assert(pid_listed(mem, pid));
	sb_cg_destroy(cg);
	expect_sigkill(pid);
	close(rfd);
	ck_assert(!dir_exists(mem));
}
END_TEST

START_TEST(test_frozen_leftover)
{
	/*
	 * A slot whose owner died between freezing and thawing it (v1 freezer),
	 * removed through its parent: thawing only the parent would leave it
	 * frozen, its processes unkillable.
	 */
	struct sb_cgroup *cg = create_ok("frozen/slot", 64 * MiB, 0, 16);
	const char *fz = sb_cg_path(cg, "freezer");
	char state[32], fzdir[4096], path[4200], name[256];
	int rfd;
	pid_t pid = spawn_ready(cg, child_zoo, &rfd);
	FILE *f;

	if (!fz) {
		/* v2, or v1 without a freezer hierarchy: nothing to leave frozen */
		sb_cg_destroy(cg);
		expect_sigkill(pid);
		close(rfd);
		return;
	}
	for (int i = 0; i < 3; i++)
		read_byte(rfd, state);
	snprintf(fzdir, sizeof(fzdir), "%s", fz);
	snprintf(path, sizeof(path), "%s/freezer.state", fzdir);
	f = fopen(path, "we");
	ck_assert(f != NULL);
	ck_assert_int_gt(fputs("FROZEN", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	usleep(20 * 1000);
	read_text(fzdir, "freezer.state", state, sizeof(state));
	ck_assert_str_eq(state, "FROZEN");

	mkname(name, sizeof(name), "frozen");
	ck_assert_int_eq(sb_cg_remove_tree(name), 0);
	ck_assert(!dir_exists(fzdir));
	*strrchr(fzdir, '/') = '\0';
	ck_assert(!dir_exists(fzdir));
	expect_sigkill(pid);
	close(rfd);
	reap_strays();
	sb_cg_destroy(cg);
}
END_TEST

START_TEST(test_hot_path_cost)
{
	struct sb_cgroup *cg = create_ok("fast", 64 * MiB, 50, 16);
	struct sb_cg_usage u;
	const int rounds = 2000;
	uint64_t t0, per_usage, per_kill;

	t0 = now_ms();
	for (int i = 0; i < rounds; i++)
		ck_assert_int_eq(sb_cg_usage(cg, &u), 0);
	per_usage = (now_ms() - t0) * 1000 / rounds;
	t0 = now_ms();
	for (int i = 0; i < rounds; i++)
		ck_assert_int_eq(sb_cg_kill_all(cg), 0); /* empty: the common case */
	per_kill = (now_ms() - t0) * 1000 / rounds;
	fprintf(stderr, "usage %llu us, kill_all on empty %llu us per call\n",
		(unsigned long long)per_usage, (unsigned long long)per_kill);
	ck_assert_uint_lt(per_usage, 500);
	ck_assert_uint_lt(per_kill, 500);
	sb_cg_destroy(cg);
}
END_TEST

static Suite *cgroup_suite(void)
{
	Suite *s = suite_create("sb_cgroup");
	TCase *tc = tcase_create("kernel");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_limits_read_back);
	tcase_add_test(tc, test_zero_means_unlimited);
	tcase_add_test(tc, test_invalid_arguments);
	tcase_add_test(tc, test_enter_self);
	tcase_add_test(tc, test_oom_kill);
	tcase_add_test(tc, test_cpu_accounting);
	tcase_add_test(tc, test_cpu_quota);
	tcase_add_test(tc, test_pids_limit);
	tcase_add_test(tc, test_kill_all);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_destroy_with_process);
	tcase_add_test(tc, test_remove_tree);
	tcase_add_test(tc, test_remove_kind);
	tcase_add_test(tc, test_takeover_leftover);
	tcase_add_test(tc, test_frozen_leftover);
	tcase_add_test(tc, test_hot_path_cost);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct sb_cg_limits none = { 0, 0, 0 };
	struct sb_cgroup *probe = NULL;
	char probe_name[128], top[4][4096];
	const char *ctls[] = { "memory", "cpu", "pids", "freezer" };
	int failed, ntop = 0;
	SRunner *sr;

	if (geteuid() != 0) {
		fprintf(stderr, "test_sb_cgroup: must run as root (creates cgroups)\n");
		return EXIT_FAILURE;
	}
	if (sb_cg_global_init(&ver) < 0) {
		fprintf(stderr, "test_sb_cgroup: cgroups unavailable\n");
		return EXIT_FAILURE;
	}
	snprintf(base, sizeof(base), "oyster-test-%d", (int)getpid());
	/* Learn where <base> lives in each hierarchy, to check it is gone at the end. */
	snprintf(probe_name, sizeof(probe_name), "%s/probe", base);
	if (sb_cg_create(&probe, probe_name, &none) < 0)
		return EXIT_FAILURE;
	for (int i = 0; i < 4; i++) {
		const char *d = sb_cg_path(probe, ctls[i]);

		if (d && strrchr(d, '/')) {
			snprintf(top[ntop], sizeof(top[ntop]), "%s", d);
			*strrchr(top[ntop++], '/') = '\0';
		}
	}
	sb_cg_destroy(probe);

	sr = srunner_create(cgroup_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	if (sb_cg_remove_tree(base) < 0) {
		fprintf(stderr, "test_sb_cgroup: could not remove %s\n", base);
		failed++;
	}
	for (int i = 0; i < ntop; i++) {
		if (dir_exists(top[i])) {
			fprintf(stderr, "test_sb_cgroup: %s left behind\n", top[i]);
			failed++;
		}
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
