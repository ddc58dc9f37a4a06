/*
 * probe: a native program the adversarial tests run inside the workerd jail
 * (via oyster-jail-run) to try what JavaScript cannot express.  Each mode
 * prints one line per attempt, "<what> <outcome>", and exits 0; the test
 * script decides what outcome is acceptable.
 *
 *   probe forkbomb N          fork up to N children; "forks <ok> eagain <n>"
 *   probe syscall NAME        try one forbidden syscall (ptrace mount unshare bpf keyctl)
 *   probe read PATH...        try to open and read each path
 *   probe connect HOST:PORT.. try TCP connects (IPv4)
 *   probe write PATH BYTES    try to create PATH and write BYTES to it
 *   probe env CANARY          look for CANARY in env, /proc/ * /environ, cmdline, files
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int forkbomb(long n)
{
	long ok = 0, eagain = 0, other = 0;

	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p > 0)
			ok++;
		else if (errno == EAGAIN)
			eagain++;
		else
			other++;
	}
	printf("forks %ld eagain %ld other %ld\n", ok, eagain, other);
	fflush(stdout);
	kill(0, SIGKILL); /* take the children (and us) down: the cgroup must be emptied anyway */
	return 0;
}

static int try_syscall(const char *name)
{
	long r = -1;

	printf("attempting %s\n", name);
	fflush(stdout);
	if (!strcmp(name, "ptrace"))
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (!strcmp(name, "mount"))
		r = mount("none", "/tmp", "tmpfs", 0, NULL);
	else if (!strcmp(name, "unshare"))
		r = unshare(CLONE_NEWUSER);
	else if (!strcmp(name, "bpf"))
		r = syscall(SYS_bpf, 0, NULL, 0);
	else if (!strcmp(name, "keyctl"))
		r = syscall(SYS_keyctl, 0, 0, 0, 0, 0);
	else {
		printf("unknown syscall %s\n", name);
		return 2;
	}
	/* Reaching here means the syscall returned instead of killing us. */
	printf("%s returned %ld errno %d\n", name, r, r < 0 ? errno : 0);
	return 0;
}

static void try_read(const char *path)
{
	char b[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		printf("read %s denied errno %d\n", path, errno);
		return;
	}
	n = read(fd, b, sizeof(b));
	printf("read %s OPENED bytes %zd\n", path, n);
	close(fd);
}

static void try_connect(const char *hp)
{
	char host[64];
	const char *colon = strrchr(hp, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	if (!colon || (size_t)(colon - hp) >= sizeof(host))
		return;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	sa.sin_port = htons((unsigned short)atoi(colon + 1));
	inet_pton(AF_INET, host, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		printf("connect %s refused socket errno %d\n", hp, errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		printf("connect %s refused errno %d\n", hp, errno);
	else
		printf("connect %s CONNECTED\n", hp);
	close(fd);
}

static void try_write(const char *path, long bytes)
{
	char b[65536];
	long done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		printf("write %s denied errno %d\n", path, errno);
		return;
	}
	memset(b, 'x', sizeof(b));
	while (done < bytes) {
		ssize_t w = write(fd, b, sizeof(b));
		if (w <= 0) {
			printf("write %s stopped at %ld errno %d\n", path, done, errno);
			close(fd);
			return;
		}
		done += w;
	}
	printf("write %s wrote %ld\n", path, done);
	close(fd);
}

static int file_has(const char *path, const char *needle)
{
	char b[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	size_t nl = strlen(needle);

	if (fd < 0)
		return 0;
	n = read(fd, b, sizeof(b));
	close(fd);
	for (ssize_t i = 0; n > 0 && i + (ssize_t)nl <= n; i++)
		if (!memcmp(b + i, needle, nl))
			return 1;
	return 0;
}

static void scan_dir(const char *dir, const char *canary, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[1024];

	if (!d || depth > 6)
		goto out;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
		if (!strncmp(p, "/proc/", 6) && depth > 2)
			continue;
		if (e->d_type == DT_DIR)
			scan_dir(p, canary, depth + 1);
		else if (e->d_type == DT_REG && file_has(p, canary))
			printf("canary FOUND in %s\n", p);
	}
out:
	if (d)
		closedir(d);
}

static int env_scan(const char *canary)
{
	for (char **e = environ; *e; e++)
		if (strstr(*e, canary))
			printf("canary FOUND in environment\n");
	scan_dir("/", canary, 0);
	printf("scan done\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "forkbomb"))
		return forkbomb(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "syscall"))
		return try_syscall(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "read")) {
		for (int i = 2; i < argc; i++)
			try_read(argv[i]);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "connect")) {
		for (int i = 2; i < argc; i++)
			try_connect(argv[i]);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "write")) {
		try_write(argv[2], atol(argv[3]));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "env"))
		return env_scan(argv[2]);
	fprintf(stderr, "usage: probe forkbomb N | syscall NAME | read PATH... | connect H:P... | write PATH BYTES | env CANARY\n");
	return 2;
}
