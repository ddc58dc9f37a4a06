#include "sb_seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

/*
 * Allowed syscalls.  Reviewed rules: nothing that changes mounts,
 * namespaces, keys, time, modules, other processes' memory (ptrace,
 * process_vm_*), BPF, perf, io_uring or userfaultfd.  fork/clone stay
 * allowed on purpose: the pids cgroup limit, not seccomp, answers a fork
 * bomb (EAGAIN), and threads need clone anyway.
 */
static const int allowed[] = {
	/* memory */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mincore), SCMP_SYS(pkey_alloc), SCMP_SYS(pkey_free),
	SCMP_SYS(pkey_mprotect), SCMP_SYS(memfd_create), SCMP_SYS(ftruncate), SCMP_SYS(membarrier),
	/* files the jail's root holds */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(close_range),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe),
	SCMP_SYS(pipe2), SCMP_SYS(fadvise64), SCMP_SYS(statfs), SCMP_SYS(fstatfs), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rename), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(ioctl),
	/* sockets: the inherited listener and socketpairs */
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(socketpair), SCMP_SYS(connect),
	SCMP_SYS(bind), SCMP_SYS(listen),
	/* events and time */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(epoll_create),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_pwait2), SCMP_SYS(eventfd), SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(time),
	/* threads, processes, signals */
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve),
	SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(futex),
	SCMP_SYS(futex_waitv), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
	SCMP_SYS(set_tid_address), SCMP_SYS(rseq), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(sched_setaffinity), SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler),
	SCMP_SYS(sched_get_priority_max), SCMP_SYS(sched_get_priority_min), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigsuspend),
	SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack), SCMP_SYS(kill), SCMP_SYS(tkill),
	SCMP_SYS(tgkill), SCMP_SYS(restart_syscall), SCMP_SYS(getpid), SCMP_SYS(getppid),
	SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(getpgrp),
	SCMP_SYS(getpgid), SCMP_SYS(getsid), SCMP_SYS(setsid), SCMP_SYS(prctl), SCMP_SYS(arch_prctl),
	SCMP_SYS(prlimit64), SCMP_SYS(getrlimit), SCMP_SYS(getrusage), SCMP_SYS(times),
	SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(getrandom), SCMP_SYS(getpriority),
	SCMP_SYS(umask),
};

static unsigned compiles;

unsigned sb_seccomp_compiles(void)
{
	return compiles;
}

/* The allowlist as a libseccomp context; NULL on failure. */
static scmp_filter_ctx build(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	compiles++;
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (allowed[i] < 0)
			continue; /* not a syscall on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) < 0)
			goto out;
	}
	/* socket(AF_UNIX, ...) only; anything else is refused, not fatal. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_NE, AF_UNIX)) < 0)
		goto out;
	return ctx;
out:
	seccomp_release(ctx);
	return NULL;
}

/* The compiled program (sb_seccomp_prepare); len 0 until then. */
static struct sock_fprog prepared;

int sb_seccomp_prepare(void)
{
	static int failed;
	scmp_filter_ctx ctx;
	struct sock_filter *f = NULL;
	struct stat st;
	int fd, rc = -1;

	if (prepared.len)
		return 0;
	if (failed) /* said once; every child compiles it then */
		return -1;
	/* libseccomp 2.5 exports the program only to a descriptor. */
	ctx = build();
	fd = memfd_create("oyster-seccomp", MFD_CLOEXEC);
	if (!ctx || fd < 0 || seccomp_export_bpf(ctx, fd) < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(*f) || st.st_size / (off_t)sizeof(*f) > BPF_MAXINSNS ||
	    !(f = malloc((size_t)st.st_size)) || pread(fd, f, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	prepared.filter = f;
	prepared.len = (unsigned short)(st.st_size / (off_t)sizeof(*f));
	f = NULL;
	rc = 0;
out:
	free(f);
	if (fd >= 0)
		close(fd);
	if (ctx)
		seccomp_release(ctx);
	if (rc < 0) {
		failed = 1;
		log_msg(LOG_WARN, "cannot compile the seccomp filter ahead; each jailed start compiles it");
	}
	return rc;
}

int sb_seccomp_apply(void)
{
	scmp_filter_ctx ctx;
	int rc;

	/* no_new_privs is set already (sb_jail.c), as the kernel requires. */
	if (prepared.len)
		return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prepared);
	if (!(ctx = build()))
		return -1;
	rc = seccomp_load(ctx) < 0 ? -1 : 0;
	seccomp_release(ctx);
	return rc;
}
