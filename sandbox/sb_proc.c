/*
 * Starting and stopping one workerd child, and the unix socket and file
 * helpers both sandbox modes use.  See sb_internal.h.
 *
 * The child is set up between fork and exec with async-signal-safe calls
 * only: death signal tied to its owner, own process group, default signal
 * mask, the slot cgroup (entered before exec, so workerd never runs outside
 * its limits), exactly the descriptors listed in sb_internal.h, rlimits
 * against core dumps and huge files, the slot directory as working
 * directory, and an empty environment.
 */
#include "sb_internal.h"
#include "sb_jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sb_seccomp.h"
#include "banned.h"

#define SB_MAX_ARGS 16

uint64_t sb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t sb_now_ms(void)
{
	return sb_now_us() / 1000;
}

int sb_write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[700];
	const char *c = p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return log_errno("open %s", path);
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_errno("write %s", path);
			close(fd);
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	if (close(fd) < 0)
		return log_errno("close %s", path);
	return 0;
}

void sb_clean_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
			log_errno("unlink %s/%s", dir, e->d_name);
	}
	closedir(d);
}

int sb_listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_err("socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_errno("socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		log_errno("bind/listen %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int sb_connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_err("socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errno("socket");
	/* The listener exists already, so this lands in its backlog at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_errno("connect %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int sb_drain(int fd, struct buf *keep, size_t max)
{
	char chunk[16384];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			size_t room = keep->len < max ? max - keep->len : 0;
			buf_add(keep, chunk, (size_t)n < room ? (size_t)n : room);
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : 1;
	}
}

/* Move fd out of the 0..9 range so the dup2 dance below cannot clobber it. */
static int high_fd(int fd)
{
	return fd < 0 || fd >= 10 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

__attribute__((noreturn))
static void child_fail(int fd, const char *msg)
{
	ssize_t r = write(fd, msg, strlen(msg));
	(void)r;
	_exit(127);
}

/*
 * A spare (see sb_proc_spawn): jailed and in its cgroup, it waits for one
 * byte on SB_GO_FD (close-on-exec) before it becomes workerd; end of file
 * (the owner dropped it or died) ends it.
 */
static void wait_go(void)
{
	char b;
	ssize_t r;

	do
		r = read(SB_GO_FD, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(0);
}

__attribute__((noreturn))
static void child_exec(const struct sb_slot *s, char *const argv[], const int *lfds, unsigned nlfd,
		       int ctlw, int errw, int gor, pid_t owner)
{
	int lfd[SB_MAX_LISTEN];
	static char *const envp[] = { NULL };
	struct rlimit rl_core = { 0, 0 };
	struct rlimit rl_fsize = { 64UL << 20, 64UL << 20 };
	sigset_t all;
	int devnull;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != owner)
		_exit(127);
	/*
	 * Until exec this is a copy of the daemon: wipe the copy of its
	 * environment (a spare waits a while, and /proc shows it).  The
	 * enclave key is in a page forks do not inherit (eth_key_private_move).
	 */
	for (char **e = environ; e && *e; e++)
		explicit_bzero(*e, strlen(*e));
	if (gor >= 0)
		prctl(PR_SET_NAME, "oyster-spare"); /* until exec makes it "workerd" */
	setpgid(0, 0);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	for (unsigned i = 0; i < nlfd; i++)
		if ((lfd[i] = high_fd(lfds[i])) < 0)
			_exit(127);
	errw = high_fd(errw);
	ctlw = high_fd(ctlw);
	gor = high_fd(gor);
	if (errw < 0)
		_exit(127);
	if (s->cg && sb_cg_enter_self(s->cg) < 0)
		child_fail(errw, "oyster: cannot enter the slot cgroup\n");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(errw, 1) < 0 || dup2(errw, 2) < 0 ||
	    dup2(lfd[0], 3) < 0 || (ctlw >= 0 && dup2(ctlw, 4) < 0) ||
	    (gor >= 0 && dup3(gor, SB_GO_FD, O_CLOEXEC) < 0))
		child_fail(errw, "oyster: cannot set up workerd's descriptors\n");
	for (unsigned i = 1; i < nlfd; i++)
		if (dup2(lfd[i], SB_EXTRA_FD0 + (int)i - 1) < 0)
			child_fail(errw, "oyster: cannot set up workerd's descriptors\n");
	syscall(SYS_close_range, nlfd > 1 ? (unsigned)SB_EXTRA_FD0 + nlfd - 1 :
				 gor >= 0 ? SB_GO_FD + 1U : ctlw >= 0 ? 5U : 4U, ~0U, 0U);
	setrlimit(RLIMIT_CORE, &rl_core);
	setrlimit(RLIMIT_FSIZE, &rl_fsize);
	if (chdir(s->dir) < 0)
		child_fail(2, "oyster: cannot enter the slot directory\n");
	if (s->cfg.jail) {
		char root[sizeof(s->dir) + 8];
		struct sb_jail j = {
			.enabled = 1,
			.uid = (uid_t)s->cfg.jail_uid,
			.gid = (gid_t)s->cfg.jail_gid,
			.seccomp = s->cfg.seccomp,
			.program = s->cfg.workerd_path,
			.work_dir = s->dir,
			.root_dir = root,
			.scratch_bytes = s->cfg.scratch_bytes,
		};
		snprintf(root, sizeof(root), "%s/.root", s->dir);
		if (sb_jail_enter(&j) < 0) {
			char msg[160];
			snprintf(msg, sizeof(msg), "oyster: cannot build the jail: %s\n", strerror(errno));
			child_fail(2, msg);
		}
		/* Changing uid clears the parent-death signal: set it again (seccomp allows prctl). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (gor >= 0)
			wait_go();
		execve(sb_jail_program_path(&j), argv, envp);
	} else {
		if (gor >= 0)
			wait_go();
		execve(s->cfg.workerd_path, argv, envp);
	}
	child_fail(2, "oyster: cannot execute workerd\n");
}

int sb_proc_spawn(const struct sb_slot *s, char *const args[], const int *lfds, unsigned nlfd,
		  int with_ctl, struct sb_proc *p, int *go)
{
	char *argv[SB_MAX_ARGS + 2];
	int errp[2] = { -1, -1 }, ctlp[2] = { -1, -1 }, gop[2] = { -1, -1 };
	size_t n = 0;
	pid_t pid;

	*p = (struct sb_proc)SB_PROC_INIT;
	if (with_ctl && go)
		return log_err("a spare has no control pipe"); /* both would be fd 4 */
	/* Extra sockets go at 5..: fd 4 must be the control pipe, not a leftover. */
	if (nlfd < 1 || nlfd > SB_MAX_LISTEN || (nlfd > 1 && (go || !with_ctl)))
		return log_err("%u listening sockets for a workerd", nlfd);
	argv[n++] = (char *)"workerd";
	for (size_t i = 0; args[i] && n <= SB_MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(errp, O_CLOEXEC) < 0)
		return log_errno("pipe");
	if ((with_ctl && pipe2(ctlp, O_CLOEXEC) < 0) || (go && pipe2(gop, O_CLOEXEC) < 0)) {
		log_errno("pipe");
		goto fail;
	}
	/* Once per process: the child then only loads the compiled filter. */
	if (s->cfg.jail && s->cfg.seccomp)
		sb_seccomp_prepare();
	/* clone() like fork(), into the jail's new namespaces when it is on. */
	pid = (pid_t)syscall(SYS_clone, (s->cfg.jail ? SB_JAIL_NAMESPACES : 0) | SIGCHLD, NULL, NULL, NULL,
			     NULL);
	if (pid < 0) {
		log_errno("clone");
		goto fail;
	}
	if (pid == 0)
		child_exec(s, argv, lfds, nlfd, ctlp[1], errp[1], gop[0], getppid());
	close(errp[1]);
	if (ctlp[1] >= 0)
		close(ctlp[1]);
	if (go) {
		close(gop[0]);
		*go = gop[1];
	}
	p->pid = pid;
	p->out_fd = errp[0];
	p->ctl_fd = ctlp[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	if (p->ctl_fd >= 0)
		fcntl(p->ctl_fd, F_SETFL, O_NONBLOCK);
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0) {
		log_errno("pidfd_open");
		if (go) {
			close(*go);
			*go = -1;
		}
		sb_proc_kill(p, NULL, NULL);
		return -1;
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (errp[i] >= 0)
			close(errp[i]);
		if (ctlp[i] >= 0)
			close(ctlp[i]);
		if (gop[i] >= 0)
			close(gop[i]);
	}
	return -1;
}

int sb_proc_go(int *go)
{
	ssize_t w;

	do
		w = write(*go, "g", 1);
	while (w < 0 && errno == EINTR);
	close(*go);
	*go = -1;
	return w == 1 ? 0 : -1;
}

void sb_proc_kill(struct sb_proc *p, int *status, struct rusage *ru)
{
	int st = 0;
	struct rusage r;

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (wait4(p->pid, &st, 0, &r) < 0) {
			if (errno != EINTR) {
				memset(&r, 0, sizeof(r));
				break;
			}
		}
		if (status)
			*status = st;
		if (ru)
			*ru = r;
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	*p = (struct sb_proc)SB_PROC_INIT;
}

int sb_proc_exited(const struct sb_proc *p)
{
	struct pollfd pfd = { p->pidfd, POLLIN, 0 };

	return p->pidfd >= 0 && poll(&pfd, 1, 0) == 1;
}
