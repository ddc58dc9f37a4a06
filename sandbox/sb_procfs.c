/*
 * A process's CPU time and memory from /proc: the usage figures of a pool
 * slot on hosts without cgroups (sb_pool.c), where no cgroup counts them.
 */
#include "sb_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

static int proc_read(pid_t pid, const char *file, char *out, size_t n)
{
	char path[64];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read(fd, out, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	out[r] = '\0';
	return 0;
}

uint64_t sb_procfs_cpu_ms(pid_t pid)
{
	char st[1024], *p;
	unsigned long long ut = 0, stime = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (proc_read(pid, "stat", st, sizeof(st)) < 0 || !(p = strrchr(st, ')')))
		return 0;
	/* fields after the command: state is 3rd; utime, stime are 14th, 15th */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2 ||
	    hz <= 0)
		return 0;
	return (uint64_t)(ut + stime) * 1000 / (uint64_t)hz;
}

uint64_t sb_procfs_status_bytes(pid_t pid, const char *key)
{
	char st[4096], *p;
	unsigned long long kb = 0;

	if (proc_read(pid, "status", st, sizeof(st)) < 0 || !(p = strstr(st, key)))
		return 0;
	if (sscanf(p + strlen(key), " %llu", &kb) != 1)
		return 0;
	return (uint64_t)kb * 1024;
}

void sb_procfs_reset_hwm(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			log_msg(LOG_DEBUG, "clear_refs: %s", strerror(errno));
		close(fd);
	}
}
