/*
 * Slot lifecycle and one process-mode run.  See sandbox.h for the design.
 */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sb_capnp.h"
#include "banned.h"

#define SB_STDERR_KEEP (16 * 1024)
#define SB_ERROR_TEXT_MAX 4096

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *sb_outcome_name(enum sb_outcome o)
{
	static const char *const names[] = {
		"ok", "timeout", "oom", "load_failed", "exception", "crashed",
		"too_large", "internal",
	};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

int sb_global_init(int use_cgroups, enum sb_cg_version *version)
{
	if (!use_cgroups) {
		log_msg(LOG_WARN, "cgroups are configured off: user code runs without memory, CPU or pids limits");
		return 0;
	}
	return sb_cg_global_init(version);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[512];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return log_err("path too long: %s", path);
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return log_errno("mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return log_errno("mkdir %s", tmp);
	return 0;
}

/* Remove what a run leaves in the slot dir (flat: config, modules, socket). */
static void clean_dir(const char *dir)
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

int sb_slot_open(struct sb_slot *s, const struct sb_config *cfg, unsigned index)
{
	char name[300];
	struct sockaddr_un sa;
	const char *kind = cfg->kind ? cfg->kind : "slot";

	memset(s, 0, sizeof(*s));
	s->index = index;
	s->cfg = *cfg;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/%ss/%u", cfg->run_dir, kind, index) >= sizeof(s->dir))
		return log_err("run_dir too long: %s", cfg->run_dir);
	snprintf(s->sock, sizeof(s->sock), "%s/w.sock", s->dir);
	if (strlen(s->sock) >= sizeof(sa.sun_path))
		return log_err("socket path %s is longer than %zu bytes: choose a shorter run_dir",
			       s->sock, sizeof(sa.sun_path) - 1);
	if (mkdir_p(s->dir, 0755) < 0)
		return -1;
	clean_dir(s->dir);
	if (cfg->use_cgroups) {
		snprintf(name, sizeof(name), "oyster/%s/%s%u", cfg->instance, kind, index);
		if (sb_cg_create(&s->cg, name, &cfg->limits) < 0)
			return log_err("slot %u: cannot create cgroup %s", index, name);
	}
	return 0;
}

void sb_slot_close(struct sb_slot *s)
{
	if (s->cg)
		sb_cg_destroy(s->cg);
	s->cg = NULL;
	if (s->dir[0]) {
		clean_dir(s->dir);
		rmdir(s->dir);
	}
}

void sb_result_init(struct sb_result *r)
{
	memset(r, 0, sizeof(*r));
	sb_http_response_init(&r->http);
	buf_init(&r->error);
	r->outcome = SB_INTERNAL;
}

void sb_result_release(struct sb_result *r)
{
	sb_http_response_release(&r->http);
	buf_release(&r->error);
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
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

static int prepare_files(struct sb_slot *s, const struct code *c)
{
	struct buf cfg = BUF_INIT;
	char name[32];
	int r = -1;

	clean_dir(s->dir);
	for (size_t i = 0; i < c->n; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		if (write_file(s->dir, name, c->mods[i].data, c->mods[i].len) < 0)
			goto out;
	}
	if (sb_capnp_config(&cfg, c, s->cfg.compat_date) < 0) {
		log_err("slot %u: cannot build workerd config", s->index);
		goto out;
	}
	r = write_file(s->dir, "config.capnp", cfg.data, cfg.len);
out:
	buf_release(&cfg);
	return r;
}

/* Move fd out of the 0..9 range so the dup2 dance below cannot clobber it. */
static int high_fd(int fd)
{
	return fd >= 10 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

__attribute__((noreturn))
static void child_fail(int fd, const char *msg)
{
	ssize_t r = write(fd, msg, strlen(msg));
	(void)r;
	_exit(127);
}

/*
 * In the forked child: enter the cgroup, give workerd only stdin=/dev/null,
 * stdout/stderr=the pipe, fd 3=the listening socket, an empty environment,
 * no core dumps, and death with its owner.  Only async-signal-safe calls.
 */
__attribute__((noreturn))
static void child_exec(const struct sb_slot *s, int lfd, int errw, pid_t owner)
{
	static char *const envp[] = { NULL };
	char *argv[] = { (char *)"workerd", (char *)"serve", (char *)"config.capnp",
			 (char *)"--socket-fd", (char *)"http=3", NULL };
	struct rlimit rl_core = { 0, 0 };
	struct rlimit rl_fsize = { 64UL << 20, 64UL << 20 };
	sigset_t all;
	int devnull;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != owner)
		_exit(127);
	setpgid(0, 0);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	lfd = high_fd(lfd);
	errw = high_fd(errw);
	if (lfd < 0 || errw < 0)
		_exit(127);
	if (s->cg && sb_cg_enter_self(s->cg) < 0)
		child_fail(errw, "oyster: cannot enter the slot cgroup\n");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(errw, 1) < 0 || dup2(errw, 2) < 0 ||
	    dup2(lfd, 3) < 0)
		child_fail(errw, "oyster: cannot set up workerd's descriptors\n");
	syscall(SYS_close_range, 4U, ~0U, 0U);
	setrlimit(RLIMIT_CORE, &rl_core);
	setrlimit(RLIMIT_FSIZE, &rl_fsize);
	if (chdir(s->dir) < 0)
		child_fail(2, "oyster: cannot enter the slot directory\n");
	execve(s->cfg.workerd_path, argv, envp);
	child_fail(2, "oyster: cannot execute workerd\n");
	_exit(127);
}

static int listen_socket(const char *path)
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

static int connect_socket(const char *path)
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

/* Read what is there (non-blocking); returns 1 on EOF, 0 otherwise. */
static int drain(int fd, struct buf *keep, size_t max)
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

/*
 * Turn workerd's stderr into the message a user should see: drop workerd's
 * own source locations and the "service main: " prefix, keep V8's words.
 */
static void user_error_text(const struct buf *raw, struct buf *out)
{
	const char *p = buf_cstr(raw), *end = p + raw->len;

	while (p < end && out->len < SB_ERROR_TEXT_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *u = memmem(p, n, "Uncaught ", 9);
		const char *svc = memmem(p, n, "service main: ", 14);
		const char *start = u ? u : (svc ? svc + 14 : p);
		const char *jsg = memmem(p, n, "failed: remote.jsg.", 19);
		const char *jsg2 = memmem(p, n, "failed: jsg.", 12);

		/* "Uncaught exception: workerd/jsg/...: failed: remote.jsg.Error: boom" */
		if (jsg || jsg2) {
			if (out->len)
				buf_addch(out, '\n');
			buf_addstr(out, "Uncaught ");
			start = jsg ? jsg + 19 : jsg2 + 12;
			buf_add(out, start, (size_t)(p + n - start));
			p += n + 1;
			continue;
		}

		if (n && !(n >= 8 && !memcmp(p, "workerd/", 8) && !u)) {
			if (out->len)
				buf_addch(out, '\n');
			buf_add(out, start, (size_t)(p + n - start));
		}
		p += n + 1;
	}
}

static int text_has(const struct buf *b, const char *needle)
{
	return b->len && strcasestr(buf_cstr(b), needle) != NULL;
}

int sb_run(struct sb_slot *s, const struct code *c, const struct sb_request *req,
	   unsigned deadline_ms, struct sb_result *res)
{
	struct buf reqbuf = BUF_INIT, resp = BUF_INIT, err = BUF_INIT;
	size_t wpos = 0, resp_max = s->cfg.max_response * 6 + SB_HTTP_MAX_HEAD + 4096;
	/* 6x: a body sent as 1-byte chunks is "1\r\nX\r\n" per byte on the wire. */
	uint64_t t0 = now_ms(), deadline = t0 + deadline_ms;
	int lfd = -1, cfd = -1, errp[2] = { -1, -1 }, pidfd = -1;
	int exited = 0, status = 0, resp_eof = 0, err_eof = 0, timed_out = 0;
	enum sb_http_parse parsed = SB_HTTP_INCOMPLETE;
	struct rusage ru;
	struct sb_cg_usage usage = { 0, 0, 0 };
	pid_t pid = -1;

	res->outcome = SB_INTERNAL;
	if (prepare_files(s, c) < 0 ||
	    sb_http_request(&reqbuf, req->method, req->path, req->headers, req->nheaders,
			    req->body, req->body_len) < 0)
		goto out;
	if ((lfd = listen_socket(s->sock)) < 0)
		goto out;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		log_errno("pipe");
		goto out;
	}
	if (s->cg && sb_cg_reset(s->cg) < 0)
		goto out;
	pid = fork();
	if (pid < 0) {
		log_errno("fork");
		goto out;
	}
	if (pid == 0)
		child_exec(s, lfd, errp[1], getppid());
	close(errp[1]);
	errp[1] = -1;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		log_errno("pidfd_open");
		goto out;
	}
	cfd = connect_socket(s->sock);
	close(lfd);
	lfd = -1;
	if (cfd < 0)
		goto out;
	fcntl(errp[0], F_SETFL, O_NONBLOCK);

	while (parsed == SB_HTTP_INCOMPLETE) {
		struct pollfd pfd[3];
		uint64_t now = now_ms();
		int n = 0, ci = -1, ei = -1, pi = -1;

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		if (!resp_eof) {
			pfd[n] = (struct pollfd){ cfd, (short)(POLLIN | (wpos < reqbuf.len ? POLLOUT : 0)), 0 };
			ci = n++;
		}
		if (!err_eof) {
			pfd[n] = (struct pollfd){ errp[0], POLLIN, 0 };
			ei = n++;
		}
		if (!exited) {
			pfd[n] = (struct pollfd){ pidfd, POLLIN, 0 };
			pi = n++;
		}
		if (poll(pfd, (nfds_t)n, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			log_errno("poll");
			goto out;
		}
		if (ci >= 0 && (pfd[ci].revents & POLLOUT)) {
			ssize_t w = send(cfd, reqbuf.data + wpos, reqbuf.len - wpos, MSG_NOSIGNAL);
			if (w > 0)
				wpos += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				wpos = reqbuf.len; /* peer gone: the read side reports it */
		}
		if (ci >= 0 && (pfd[ci].revents & (POLLIN | POLLHUP | POLLERR))) {
			resp_eof = drain(cfd, &resp, resp_max);
			parsed = sb_http_parse_response(buf_cstr(&resp), resp.len, resp_eof,
							s->cfg.max_response, &res->http);
			if (parsed == SB_HTTP_INCOMPLETE && resp.len >= resp_max)
				parsed = SB_HTTP_TOO_LARGE;
		}
		if (ei >= 0 && pfd[ei].revents)
			err_eof = drain(errp[0], &err, SB_STDERR_KEEP);
		if (pi >= 0 && pfd[pi].revents) {
			exited = 1;
			/* Take what it wrote before dying, then decide. */
			drain(cfd, &resp, resp_max);
			resp_eof = 1;
			parsed = sb_http_parse_response(buf_cstr(&resp), resp.len, 1,
							s->cfg.max_response, &res->http);
		}
	}
	/*
	 * The connection closed without a byte: workerd is on its way out
	 * (code that fails to load makes it exit 1).  Give it a moment to
	 * finish exiting so its own status, not our SIGKILL, tells why.
	 */
	if (!exited && !timed_out && parsed == SB_HTTP_INVALID && !resp.len) {
		struct pollfd pw = { pidfd, POLLIN, 0 };
		uint64_t now = now_ms();
		int grace = deadline > now ? (int)(deadline - now) : 0;

		if (poll(&pw, 1, grace < 1000 ? grace : 1000) == 1)
			exited = 1;
	}
	kill(pid, SIGKILL);
	if (wait4(pid, &status, 0, &ru) < 0)
		memset(&ru, 0, sizeof(ru));
	pid = -1;
	drain(errp[0], &err, SB_STDERR_KEEP);
	if (s->cg) {
		sb_cg_kill_all(s->cg); /* logs if anything survives */
		sb_cg_usage(s->cg, &usage);
		res->cpu_ms = usage.cpu_ns / 1000000;
		res->peak_bytes = usage.peak_bytes;
	} else {
		res->cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
			      (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
		res->peak_bytes = (uint64_t)ru.ru_maxrss * 1024;
	}
	res->wall_ms = now_ms() - t0;

	if (err.len)
		log_msg(LOG_DEBUG, "slot %u workerd output: %s", s->index, buf_cstr(&err));
	if (timed_out && !usage.oom_events) {
		res->outcome = SB_TIMEOUT;
		buf_addf(&res->error, "execution exceeded its deadline of %u ms", deadline_ms);
	} else if (parsed == SB_HTTP_DONE) {
		res->outcome = SB_OK;
		if (res->http.status == 500 && text_has(&err, "Uncaught")) {
			res->outcome = SB_EXCEPTION;
			user_error_text(&err, &res->error);
		}
	} else if (parsed == SB_HTTP_TOO_LARGE) {
		res->outcome = SB_TOO_LARGE;
		buf_addf(&res->error, "response larger than %zu bytes", s->cfg.max_response);
	} else if (usage.oom_events || text_has(&err, "out of memory")) {
		res->outcome = SB_OOM;
		buf_addstr(&res->error, "memory limit exceeded");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		log_err("slot %u: workerd did not start: %s", s->index, buf_cstr(&err));
		goto out;
	} else if (WIFEXITED(status) && exited && !resp.len) {
		/* workerd exits by itself (status 1) only when the config or code fails to load. */
		res->outcome = SB_LOAD_FAILED;
		user_error_text(&err, &res->error);
		if (!res->error.len)
			buf_addstr(&res->error, "code failed to load");
	} else {
		res->outcome = SB_CRASHED;
		if (WIFSIGNALED(status) && exited)
			buf_addf(&res->error, "workerd died with signal %d", WTERMSIG(status));
		else
			buf_addstr(&res->error, "workerd sent no valid HTTP response");
	}
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (s->cg)
			sb_cg_kill_all(s->cg);
	}
	if (lfd >= 0)
		close(lfd);
	if (cfd >= 0)
		close(cfd);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (pidfd >= 0)
		close(pidfd);
	clean_dir(s->dir);
	buf_release(&reqbuf);
	buf_release(&resp);
	buf_release(&err);
	return res->outcome == SB_INTERNAL ? -1 : 0;
}
