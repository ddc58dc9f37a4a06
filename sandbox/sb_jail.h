#ifndef SANDBOX_SB_JAIL_H
#define SANDBOX_SB_JAIL_H
/*
 * The jail around every workerd (and around the native probes of the
 * adversarial tests), in the order of the Firecracker jailer's steps:
 *
 *   clone() into new mount, pid, net, ipc and uts namespaces   (parent)
 *   -> cgroup (caller), fds, environment, core/fsize rlimits   (caller)
 *   -> a new root: a tmpfs holding only read-only binds of the program,
 *      the shared libraries, the slot's work files and a few /dev nodes,
 *      a fresh /proc of the new pid namespace, /sys/devices/system/cpu
 *      (V8 reads the CPU topology) and a small noexec scratch /tmp;
 *      pivot_root into it and detach the host's tree
 *   -> hostname "sandbox", loopback up (the only interface)
 *   -> nofile and nproc rlimits of the jail's own
 *   -> capability bounding set emptied, groups dropped, setresgid/setresuid
 *      to an unprivileged uid/gid that owns nothing
 *   -> PR_SET_NO_NEW_PRIVS, then the seccomp allowlist (sb_seccomp.c)
 *   -> execve
 *
 * Everything here runs in the freshly cloned child, single-threaded, before
 * exec; failures return -1 with errno set and the caller reports through
 * its error pipe.  sb_jail_check() runs once in the daemon at start so a
 * host without a needed kernel feature is refused up front (unless the
 * admin configured the jail off), and its result feeds /healthz.
 */
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* The jail's own rlimits (see set_limits() in sb_jail.c). */
#define SB_JAIL_NOFILE 1024
#define SB_JAIL_NPROC 4096

struct sb_jail {
	int enabled;
	uid_t uid;
	gid_t gid;
	int seccomp;              /* apply the syscall allowlist */
	const char *program;      /* host path of the program, bound at /program */
	const char *work_dir;     /* host dir bound read-only at /work (cwd) */
	const char *root_dir;     /* empty host dir used as the mount point of the new root */
	size_t scratch_bytes;     /* size of the tmpfs at /tmp */
};

/* The namespaces a jailed child is cloned into. */
#define SB_JAIL_NAMESPACES (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

/* Namespaces to clone() the child into (0 when the jail is off). */
int sb_jail_clone_flags(const struct sb_jail *j);

/* In the cloned child: build the root, drop privileges, filter syscalls. */
int sb_jail_enter(const struct sb_jail *j);

/* The path the program has inside the jail. */
const char *sb_jail_program_path(const struct sb_jail *j);

/* "uid:gid" or a user name -> ids; 0 or -1 (reason in err). */
int sb_jail_parse_user(const char *spec, uid_t *uid, gid_t *gid, struct buf *err);

/*
 * Once, in the daemon: try the whole jail on /bin/true-like work (a child
 * that enters it and exits) and say what is missing.  0 when it works.
 */
int sb_jail_check(const struct sb_jail *j, struct buf *why);

#endif
