#include "sb_jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_seccomp.h"
#include "banned.h"

/* The program sits at /<its basename> in the jail, so ps and pgrep still
 * show its own name ("workerd"). */
static const char *program_name(const struct sb_jail *j)
{
	const char *slash = strrchr(j->program, '/');

	return slash ? slash : j->program;
}

const char *sb_jail_program_path(const struct sb_jail *j)
{
	return j->enabled ? program_name(j) : j->program;
}

int sb_jail_clone_flags(const struct sb_jail *j)
{
	return j->enabled ? SB_JAIL_NAMESPACES : 0;
}

int sb_jail_parse_user(const char *spec, uid_t *uid, gid_t *gid, struct buf *err)
{
	char *end;
	unsigned long u, g;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	u = strtoul(spec, &end, 10);
	if (end != spec && *end == ':') {
		g = strtoul(end + 1, &end, 10);
		if (!*end && u > 0 && g > 0 && u < 0xfffffffful && g < 0xfffffffful) {
			*uid = (uid_t)u;
			*gid = (gid_t)g;
			return 0;
		}
	}
	if (getpwnam_r(spec, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res) {
		buf_addf(err, "sandbox_user '%s' is neither uid:gid nor an existing user", spec);
		return -1;
	}
	if (res->pw_uid == 0 || res->pw_gid == 0) {
		buf_addf(err, "sandbox_user '%s' is root", spec);
		return -1;
	}
	*uid = res->pw_uid;
	*gid = res->pw_gid;
	return 0;
}

/* Join dir and name without allocating (we are in a freshly cloned child). */
static const char *path(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s%s", dir, name);
	return out;
}

static int touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Bind src at root+dst read-only (a file or a directory). */
static int bind_ro_flags(const char *root, const char *src, const char *dst, int is_dir,
			 unsigned long extra);

static int bind_ro(const char *root, const char *src, const char *dst, int is_dir)
{
	return bind_ro_flags(root, src, dst, is_dir, MS_NODEV);
}

static int bind_ro_flags(const char *root, const char *src, const char *dst, int is_dir,
			 unsigned long extra)
{
	char p[512];

	path(p, sizeof(p), root, dst);
	if ((is_dir ? mkdir(p, 0755) : touch(p)) < 0 && errno != EEXIST)
		return -1;
	/*
	 * Not recursive for /work: the slot directory holds the jail root's own
	 * mount point, which must not come along (read-write) inside the jail.
	 */
	if (mount(src, p, NULL, MS_BIND | (strcmp(dst, "/work") ? MS_REC : 0), NULL) < 0)
		return -1;
	/* A bind mount becomes read-only only through a remount. */
	return mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra, NULL);
}

static int mkdirs(const char *root, const char *const *dirs)
{
	char p[512];

	for (; *dirs; dirs++)
		if (mkdir(path(p, sizeof(p), root, *dirs), 0755) < 0 && errno != EEXIST)
			return -1;
	return 0;
}

static int build_root(const struct sb_jail *j)
{
	static const char *const dirs[] = { "/usr", "/usr/lib", "/usr/share", "/etc", "/etc/ssl", "/dev", "/proc", "/sys",
					     "/sys/devices", "/sys/devices/system", "/tmp", "/old",
					     NULL };
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random",
					    NULL };
	const char *r = j->root_dir;
	char p[512], opts[64];

	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	snprintf(opts, sizeof(opts), "size=%zu,mode=0755", (size_t)(4u << 20));
	if (mount("jail", r, "tmpfs", MS_NOSUID, opts) < 0 || mkdirs(r, dirs) < 0)
		return -1;
	/* The program and what the dynamic loader needs (multiarch Debian: /lib -> usr/lib). */
	if (bind_ro(r, j->program, program_name(j), 0) < 0 ||
	    bind_ro(r, "/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", 1) < 0 ||
	    bind_ro(r, "/usr/lib64", "/usr/lib64", 1) < 0 ||
	    symlink("usr/lib", path(p, sizeof(p), r, "/lib")) < 0 ||
	    symlink("usr/lib64", path(p, sizeof(p), r, "/lib64")) < 0)
		return -1;
	if (access("/etc/ld.so.cache", R_OK) == 0 && bind_ro(r, "/etc/ld.so.cache", "/etc/ld.so.cache", 0) < 0)
		return -1;
	/* workerd refuses to start without the system CA list (public data). */
	if (access("/etc/ssl/certs", R_OK) == 0 && bind_ro(r, "/etc/ssl/certs", "/etc/ssl/certs", 1) < 0)
		return -1;
	if (access("/usr/share/ca-certificates", R_OK) == 0 &&
	    bind_ro(r, "/usr/share/ca-certificates", "/usr/share/ca-certificates", 1) < 0)
		return -1;
	for (const char *const *d = devs; *d; d++)
		if (bind_ro_flags(r, *d, *d, 0, 0) < 0)
			return -1;
	/* V8 sizes itself from the CPU topology. */
	if (bind_ro(r, "/sys/devices/system/cpu", "/sys/devices/system/cpu", 1) < 0)
		return -1;
	if (j->work_dir && bind_ro(r, j->work_dir, "/work", 1) < 0)
		return -1;
	snprintf(opts, sizeof(opts), "size=%zu,mode=1777", j->scratch_bytes ? j->scratch_bytes : (size_t)(16u << 20));
	if (mount("scratch", path(p, sizeof(p), r, "/tmp"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return -1;
	if (syscall(SYS_pivot_root, r, path(p, sizeof(p), r, "/old")) < 0 || chdir("/") < 0 ||
	    umount2("/old", MNT_DETACH) < 0 || rmdir("/old") < 0)
		return -1;
	/* Our own /proc: the new pid namespace only (the program is pid 1). */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0 &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	return mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL);
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

static int drop_privileges(const struct sb_jail *j)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
	    setresuid(j->uid, j->uid, j->uid) < 0)
		return -1;
	/* setresuid away from 0 clears the sets; make sure, and fail closed. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	if (getuid() == 0 || geteuid() == 0 || setresuid(0, 0, 0) == 0)
		return errno = EPERM, -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/*
 * Resource limits of their own, so a jailed process does not inherit the
 * daemon's (systemd gives services a high nofile; root's nproc is the
 * system's).  nofile bounds descriptors per process: workerd needs a few
 * dozen, a few hundred with many isolates in pool mode.  nproc counts every
 * process and thread of the jail's uid together, across all slots of both
 * daemons, so it is a ceiling for the node, not per slot: the slot's
 * cgroup pids limit is what stops a fork bomb in one slot.  Set while still
 * root (lowering hard limits needs no privilege, raising would).
 */
static int set_limits(void)
{
	struct rlimit nofile = { SB_JAIL_NOFILE, SB_JAIL_NOFILE };
	struct rlimit nproc = { SB_JAIL_NPROC, SB_JAIL_NPROC };

	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_NPROC, &nproc) < 0)
		return -1;
	return 0;
}

int sb_jail_enter(const struct sb_jail *j)
{
	if (!j->enabled)
		return 0;
	if (build_root(j) < 0 || sethostname("sandbox", 7) < 0 || loopback_up() < 0)
		return -1;
	if (set_limits() < 0)
		return -1;
	if (chdir(j->work_dir ? "/work" : "/tmp") < 0 || drop_privileges(j) < 0)
		return -1;
	return j->seccomp ? sb_seccomp_apply() : 0;
}

int sb_jail_check(const struct sb_jail *j, struct buf *why)
{
	struct sb_jail probe = *j;
	int status = 0, err = 0, pfd[2];
	pid_t pid;

	if (!j->enabled)
		return 0;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		buf_addf(why, "pipe: %s", strerror(errno));
		return -1;
	}
	probe.work_dir = NULL;
	pid = (pid_t)syscall(SYS_clone, sb_jail_clone_flags(j) | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		int e = 0;
		close(pfd[0]);
		if (sb_jail_enter(&probe) < 0)
			e = errno ? errno : EPERM;
		if (write(pfd[1], &e, sizeof(e)) != sizeof(e))
			_exit(2);
		_exit(e ? 1 : 0);
	}
	close(pfd[1]);
	if (pid < 0) {
		buf_addf(why, "cannot create namespaces (clone: %s)", strerror(errno));
		close(pfd[0]);
		return -1;
	}
	if (read(pfd[0], &err, sizeof(err)) != sizeof(err))
		err = -1;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (err || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (err > 0)
			buf_addf(why, "the jail cannot be built here: %s", strerror(err));
		else
			buf_addf(why, "the jail test child died (status %d)", status);
		return -1;
	}
	return 0;
}
