/*
 * probe: a native program the adversarial tests run inside the workerd jail
 * (via oyster-jail-run) to try what JavaScript cannot express.  Each mode
 * prints one line per attempt, "<what> <outcome>", and exits 0; the test
 * script decides what outcome is acceptable.
 *
 *   probe forkbomb N [HOLD_MS [leave]]
 *                             fork up to N children; "forks <ok> eagain <n>";
 *                             then wait HOLD_MS and kill them, or with
 *                             "leave" exit and leave them (each in its own
 *                             session) for the pid namespace to take down
 *   probe threadbomb N        create up to N threads; "threads <ok> eagain <n>"
 *   probe syscall NAME        try one forbidden syscall (ptrace mount unshare
 *                             bpf keyctl setns chroot pivot_root reboot ...);
 *                             "socket_inet" tries socket(AF_INET), refused
 *                             with an error rather than killed
 *   probe read PATH...        try to open and read each path
 *   probe connect HOST:PORT.. try TCP connects (IPv4)
 *   probe write PATH BYTES    try to create PATH and write BYTES to it
 *   probe env CANARY...|-     look for each CANARY (or those on stdin) in env, /proc/ * /environ,
 *                             cmdline, files; "hex:ABCD" looks for those bytes
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int forkbomb(long n, long hold_ms, int leave)
{
	long ok = 0, eagain = 0, other = 0;

	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (leave)
				setsid(); /* try to get away from our process group */
			for (;;) /* pause() is not in the allowlist */
				sleep_ms(1000000);
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
	if (hold_ms > 0)
		sleep_ms(hold_ms);
	if (leave)
		return 0; /* the jail must empty itself */
	kill(0, SIGKILL); /* take the children (and us) down: the cgroup must be emptied anyway */
	return 0;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		sleep_ms(1000000);
	return NULL;
}

static int threadbomb(long n)
{
	long ok = 0, eagain = 0, other = 0;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		int e = pthread_create(&t, &a, idle_thread, NULL);
		if (e == 0)
			ok++;
		else if (e == EAGAIN)
			eagain++;
		else
			other++;
	}
	printf("threads %ld eagain %ld other %ld\n", ok, eagain, other);
	fflush(stdout);
	_exit(0);
}

static int try_syscall(const char *name)
{
	long r = -1;
	char buf[16];

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
	else if (!strcmp(name, "add_key"))
		r = syscall(SYS_add_key, "user", "k", "v", 1, -3 /* KEY_SPEC_SESSION_KEYRING */);
	else if (!strcmp(name, "setns"))
		r = syscall(SYS_setns, 0, 0);
	else if (!strcmp(name, "chroot"))
		r = syscall(SYS_chroot, "/tmp");
	else if (!strcmp(name, "pivot_root"))
		r = syscall(SYS_pivot_root, "/tmp", "/tmp");
	else if (!strcmp(name, "umount"))
		r = syscall(SYS_umount2, "/tmp", 0);
	else if (!strcmp(name, "reboot"))
		r = syscall(SYS_reboot, 0, 0, 0, NULL);
	else if (!strcmp(name, "init_module"))
		r = syscall(SYS_init_module, NULL, 0, "");
	else if (!strcmp(name, "kexec_load"))
		r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
	else if (!strcmp(name, "perf_event_open"))
		r = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	else if (!strcmp(name, "userfaultfd"))
		r = syscall(SYS_userfaultfd, 0);
	else if (!strcmp(name, "io_uring_setup"))
		r = syscall(SYS_io_uring_setup, 1, NULL);
	else if (!strcmp(name, "process_vm_readv"))
		r = syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, 0);
	else if (!strcmp(name, "open_by_handle_at"))
		r = syscall(SYS_open_by_handle_at, -1, NULL, 0);
	else if (!strcmp(name, "setuid"))
		r = syscall(SYS_setuid, 0);
	else if (!strcmp(name, "chmod"))
		r = syscall(SYS_chmod, "/tmp", 04777);
	else if (!strcmp(name, "mknod"))
		r = syscall(SYS_mknod, "/tmp/dev", S_IFCHR | 0666, 0x0801);
	else if (!strcmp(name, "personality"))
		r = syscall(SYS_personality, 0xffffffff);
	else if (!strcmp(name, "socket_inet"))
		r = socket(AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(name, "socket_netlink"))
		r = socket(AF_NETLINK, SOCK_RAW, 0);
	else if (!strcmp(name, "gethostname")) {
		r = gethostname(buf, sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		printf("hostname %s\n", buf);
	} else {
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
	sa.sin_port = htons((unsigned short)strtoul(colon + 1, NULL, 10));
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

/* The canaries: text as given, or "hex:..." decoded to bytes. */
struct needle {
	const char *label;
	unsigned char bytes[256];
	size_t len;
};
static struct needle needles[8];
static int nneedles;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int add_needle(const char *arg)
{
	struct needle *n = &needles[nneedles];

	if (nneedles >= (int)(sizeof(needles) / sizeof(needles[0])))
		return -1;
	n->label = arg;
	if (!strncmp(arg, "hex:", 4)) {
		const char *h = arg + 4;
		while (h[0] && h[1] && n->len < sizeof(n->bytes)) {
			int hi = hexval(h[0]), lo = hexval(h[1]);
			if (hi < 0 || lo < 0)
				return -1;
			n->bytes[n->len++] = (unsigned char)(hi * 16 + lo);
			h += 2;
		}
	} else {
		n->len = strlen(arg) < sizeof(n->bytes) ? strlen(arg) : sizeof(n->bytes);
		memcpy(n->bytes, arg, n->len);
	}
	if (!n->len)
		return -1;
	nneedles++;
	return 0;
}

static void look_in(const void *hay, size_t n, const char *where)
{
	for (int i = 0; i < nneedles; i++)
		if (memmem(hay, n, needles[i].bytes, needles[i].len))
			printf("canary %s FOUND in %s\n", needles[i].label, where);
}

static long files_read;

static void file_scan(const char *path)
{
	static char b[1 << 20];
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, b, sizeof(b));
	close(fd);
	if (n > 0) {
		files_read++;
		look_in(b, (size_t)n, path);
	}
}

static void scan_dir(const char *dir, int depth)
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
			scan_dir(p, depth + 1);
		else if (e->d_type == DT_REG)
			file_scan(p);
	}
out:
	if (d)
		closedir(d);
}

static int env_scan(int argc, char **argv)
{
	static char lines[8][600];

	/* "-": the canaries come on stdin, one a line, so they are not in our own cmdline. */
	if (argc == 1 && !strcmp(argv[0], "-")) {
		int n = 0;
		while (n < 8 && fgets(lines[n], sizeof(lines[n]), stdin)) {
			lines[n][strcspn(lines[n], "\n")] = '\0';
			if (lines[n][0] && add_needle(lines[n]) < 0) {
				fprintf(stderr, "probe: bad canary on line %d\n", n + 1);
				return 2;
			}
			n++;
		}
	} else {
		for (int i = 0; i < argc; i++)
			if (add_needle(argv[i]) < 0) {
				fprintf(stderr, "probe: bad canary %s\n", argv[i]);
				return 2;
			}
	}
	if (!nneedles) {
		fprintf(stderr, "probe: no canary given\n");
		return 2;
	}
	for (char **e = environ; *e; e++)
		look_in(*e, strlen(*e), "environment");
	scan_dir("/", 0);
	printf("scan done, %ld files read\n", files_read);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "forkbomb"))
		return forkbomb(strtol(argv[2], NULL, 10), argc >= 4 ? strtol(argv[3], NULL, 10) : 0,
				argc >= 5 && !strcmp(argv[4], "leave"));
	if (argc == 3 && !strcmp(argv[1], "threadbomb"))
		return threadbomb(strtol(argv[2], NULL, 10));
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
		try_write(argv[2], strtol(argv[3], NULL, 10));
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "env"))
		return env_scan(argc - 2, argv + 2);
	fprintf(stderr, "usage: probe forkbomb N [HOLD_MS [leave]] | threadbomb N | syscall NAME | read PATH... |"
			" connect H:P... | write PATH BYTES | env CANARY...\n");
	return 2;
}
