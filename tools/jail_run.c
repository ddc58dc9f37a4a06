/*
 * oyster-jail-run: run one program inside the same jail as workerd
 * (sandbox/sb_jail.c), optionally in a cgroup made with the slot limits.
 * Used by the adversarial tests to put native probes where user code runs,
 * and by admins to see what a jailed process can reach.
 *
 *   oyster-jail-run [--user UID:GID] [--no-seccomp] [--work DIR]
 *                   [--cgroup NAME --memory BYTES --pids N] -- PROGRAM [ARGS...]
 *
 * Exit status: the program's, or 128+signal when it was killed (SIGSYS for
 * a forbidden syscall), or 125 when the jail could not be built.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sb_cgroup.h"
#include "sb_jail.h"
#include "banned.h"

int main(int argc, char **argv)
{
	struct sb_jail j = { .enabled = 1, .uid = 61234, .gid = 61234, .seccomp = 1 };
	struct sb_cg_limits lim = { 256u << 20, 100, 64 };
	struct sb_cgroup *cg = NULL;
	const char *cgname = NULL;
	char root[] = "/tmp/oyster-jail.XXXXXX";
	struct buf err = BUF_INIT;
	enum sb_cg_version v;
	int i, status = 0, epipe[2];
	pid_t pid;

	log_set_component("oyster-jail-run");
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--user") && i + 1 < argc) {
			if (sb_jail_parse_user(argv[++i], &j.uid, &j.gid, &err) < 0) {
				fprintf(stderr, "oyster-jail-run: %s\n", buf_cstr(&err));
				return 2;
			}
		} else if (!strcmp(argv[i], "--no-seccomp")) {
			j.seccomp = 0;
		} else if (!strcmp(argv[i], "--work") && i + 1 < argc) {
			j.work_dir = argv[++i];
		} else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc) {
			cgname = argv[++i];
		} else if (!strcmp(argv[i], "--memory") && i + 1 < argc) {
			lim.memory_bytes = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--pids") && i + 1 < argc) {
			lim.pids = (unsigned)strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: oyster-jail-run [--user UID:GID] [--no-seccomp] [--work DIR] "
					"[--cgroup NAME --memory BYTES --pids N] -- PROGRAM [ARGS...]\n");
			return 2;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "oyster-jail-run: no program given\n");
		return 2;
	}
	j.program = argv[i + 1];
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 125;
	}
	j.root_dir = root;
	if (cgname && (sb_cg_global_init(&v) < 0 || sb_cg_create(&cg, cgname, &lim) < 0)) {
		rmdir(root);
		return 125;
	}
	if (pipe2(epipe, O_CLOEXEC) < 0)
		return 125;
	pid = (pid_t)syscall(SYS_clone, sb_jail_clone_flags(&j) | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		int e;
		close(epipe[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((cg && sb_cg_enter_self(cg) < 0) || sb_jail_enter(&j) < 0) {
			e = errno;
			if (write(epipe[1], &e, sizeof(e)) < 0)
				_exit(125);
			_exit(125);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* the uid change cleared it */
		execv(sb_jail_program_path(&j), argv + i + 1);
		e = errno;
		if (write(epipe[1], &e, sizeof(e)) < 0)
			_exit(125);
		_exit(125);
	}
	close(epipe[1]);
	if (pid < 0) {
		perror("clone");
		return 125;
	}
	{
		int e = 0;
		if (read(epipe[0], &e, sizeof(e)) == sizeof(e))
			fprintf(stderr, "oyster-jail-run: jail or exec failed: %s\n", strerror(e));
	}
	close(epipe[0]);
	waitpid(pid, &status, 0);
	if (cg)
		sb_cg_destroy(cg);
	rmdir(root);
	buf_release(&err);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
