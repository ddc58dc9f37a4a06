/*
 * oyster-bench: the parts of the benchmark that are not HTTP through nginx
 * (those use wrk, see bench/run.sh).
 *
 *   oyster-bench prepare CODE DIR
 *       CODE (a .js module or a .json bundle) -> DIR/m<i> + DIR/config.capnp,
 *       the very config process mode writes (sandbox/sb_capnp.c), for bare
 *       workerd runs.
 *   oyster-bench spawn WORKERD DIR BODY CONCURRENCY SECONDS
 *       Variant (a), the original's floor: CONCURRENCY loops, each starting
 *       a fresh `workerd serve DIR/config.capnp --socket-fd http=3` per
 *       request (socket made first, request written at once, like process
 *       mode), POSTing BODY, reading the answer, killing workerd.  No
 *       nginx, no cgroup.
 *   oyster-bench warm WORKERD DIR PORT N
 *       Variant (b), the upper bound: N warm `workerd serve` of DIR sharing
 *       one listening TCP socket on 127.0.0.1:PORT (each gets it as fd 3),
 *       until SIGTERM; then they are killed.
 *   oyster-bench sandbox WORKERD pool|process|reuse CODE BODY SECONDS
 *       The sandbox call itself: sb_run() on one slot (cgroup included; in
 *       the stack's jail when OYSTER_BENCH_JAIL=uid:gid; on
 *       OYSTER_BENCH_SLOTS slots taken in turn, like the stack's handlers),
 *       one request after another, no HTTP in front.  Subtracting it from
 *       the stack's latency gives the overhead of nginx + FastCGI + handler.
 *   oyster-bench http PORT PATH BODY SECONDS
 *       Through the stack at 127.0.0.1:PORT: POST BODY to PATH, one request
 *       after another on a kept connection; also prints a line
 *       "BENCH-OVERHEAD {...}" with the p50/p99 of each request's latency
 *       less its own sandbox time (the Server-Timing header).
 *
 * Each prints one JSON line: requests, errors, seconds, rps, p50_ms,
 * p99_ms, self_cpu_ms (this process), child_cpu_ms (reaped children) and
 * peak_bytes (largest child RSS, or the slot's largest peak).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "code.h"
#include "log.h"
#include "sandbox.h"
#include "sb_capnp.h"
#include "sb_http.h"
#include "banned.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int read_file(const char *path, struct buf *out)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return log_errno("open %s", path);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fd);
	return n < 0 ? log_errno("read %s", path) : 0;
}

static int load_code(const char *path, struct code *c)
{
	struct buf src = BUF_INIT, err = BUF_INIT;
	size_t n = strlen(path);
	int r;

	if (read_file(path, &src) < 0)
		return -1;
	if (n > 5 && !strcmp(path + n - 5, ".json"))
		r = code_from_bundle_json(c, buf_cstr(&src), src.len, NULL, &err);
	else
		r = code_from_js(c, buf_cstr(&src), src.len, NULL, &err);
	if (r < 0)
		log_err("%s: %s", path, buf_cstr(&err));
	buf_release(&src);
	buf_release(&err);
	return r < 0 ? -1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	uint64_t *lat; /* µs */
	size_t n, cap, errors;
	uint64_t peak;
};

static void add_lat(struct stats *s, uint64_t us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *p = realloc(s->lat, cap * sizeof(*p));
		if (!p)
			abort();
		s->lat = p;
		s->cap = cap;
	}
	s->lat[s->n++] = us;
}

static double pct(const struct stats *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)(q * (double)(s->n - 1) + 0.5);
	return (double)s->lat[i] / 1000.0;
}

static void report(struct stats *s, double seconds)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	qsort(s->lat, s->n, sizeof(*s->lat), cmp_u64);
	printf("{\"requests\":%zu,\"errors\":%zu,\"seconds\":%.3f,\"rps\":%.2f,\"p50_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"self_cpu_ms\":%.1f,\"child_cpu_ms\":%.1f,\"peak_bytes\":%llu}\n",
	       s->n, s->errors, seconds, (double)s->n / seconds, pct(s, 0.50), pct(s, 0.99),
	       (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1e3 +
		       (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e3,
	       (double)(kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1e3 +
		       (double)(kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e3,
	       (unsigned long long)s->peak);
}

/* ---- prepare ---- */

static int cmd_prepare(const char *src, const char *dir)
{
	struct code c;
	struct buf cfg = BUF_INIT;
	char path[4096];
	int r = -1;

	code_init(&c);
	if (load_code(src, &c) < 0 || (mkdir(dir, 0755) < 0 && errno != EEXIST))
		goto out;
	for (size_t i = 0; i < c.n; i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/m%zu", dir, i);
		f = fopen(path, "we");
		if (!f || fwrite(c.mods[i].data, 1, c.mods[i].len, f) != c.mods[i].len) {
			if (f)
				fclose(f);
			goto out;
		}
		fclose(f);
	}
	if (sb_capnp_config(&cfg, &c, "2023-03-07") < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/config.capnp", dir);
	{
		FILE *f = fopen(path, "we");
		if (!f)
			goto out;
		fwrite(cfg.data, 1, cfg.len, f);
		fclose(f);
	}
	r = 0;
out:
	code_release(&c);
	buf_release(&cfg);
	return r;
}

/* ---- spawn: a fresh workerd per request ---- */

struct spawner {
	const char *workerd, *dir;
	const struct buf *req;
	uint64_t until;
	unsigned index;
	struct stats st;
};

static int one_spawn(struct spawner *w, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char chunk[65536];
	int lfd, cfd, status;
	struct rusage ru;
	struct buf resp = BUF_INIT;
	struct sb_http_response http;
	pid_t pid;
	size_t off = 0;
	int ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	unlink(sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		static char *const envp[] = { NULL };
		char *argv[] = { (char *)"workerd", (char *)"serve", (char *)"config.capnp",
				 (char *)"--socket-fd", (char *)"http=3", NULL };
		int dn = open("/dev/null", O_RDWR);
		dup2(dn, 0);
		dup2(dn, 1);
		dup2(dn, 2);
		if (lfd == 3)
			fcntl(3, F_SETFD, 0); /* dup2 onto itself would keep close-on-exec */
		else
			dup2(lfd, 3);
		if (chdir(w->dir) < 0)
			_exit(127);
		execve(w->workerd, argv, envp);
		_exit(127);
	}
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	connect(cfd, (struct sockaddr *)&sa, sizeof(sa));
	close(lfd);
	while (off < w->req->len) {
		ssize_t n = write(cfd, w->req->data + off, w->req->len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n = read(cfd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf_add(&resp, chunk, (size_t)n);
	}
	close(cfd);
	kill(pid, SIGKILL);
	wait4(pid, &status, 0, &ru);
	if ((uint64_t)ru.ru_maxrss * 1024 > w->st.peak)
		w->st.peak = (uint64_t)ru.ru_maxrss * 1024;
	sb_http_response_init(&http);
	ok = sb_http_parse_response(buf_cstr(&resp), resp.len, 1, 64 << 20, &http) == SB_HTTP_DONE &&
	     http.status == 200;
	sb_http_response_release(&http);
	buf_release(&resp);
	return ok ? 0 : -1;
}

static void *spawn_loop(void *arg)
{
	struct spawner *w = arg;
	char sock[200];

	snprintf(sock, sizeof(sock), "/tmp/oyster-bench-%d-%u.sock", (int)getpid(), w->index);
	while (now_us() < w->until) {
		uint64_t t0 = now_us();
		if (one_spawn(w, sock) < 0)
			w->st.errors++;
		else
			add_lat(&w->st, now_us() - t0);
	}
	unlink(sock);
	return NULL;
}

static int cmd_spawn(const char *workerd, const char *dir, const char *body, unsigned conc,
		     double seconds)
{
	struct buf in = BUF_INIT, req = BUF_INIT;
	struct sb_header h[] = { { (char *)"Content-Type", (char *)"application/json" } };
	struct spawner *w = calloc(conc, sizeof(*w));
	pthread_t *t = calloc(conc, sizeof(*t));
	struct stats all = { 0 };
	uint64_t t0 = now_us();

	if (!w || !t || read_file(body, &in) < 0 ||
	    sb_http_request(&req, "POST", "/", h, 1, in.data, in.len) < 0)
		return 1;
	for (unsigned i = 0; i < conc; i++) {
		w[i] = (struct spawner){ workerd, dir, &req, t0 + (uint64_t)(seconds * 1e6), i, { 0 } };
		pthread_create(&t[i], NULL, spawn_loop, &w[i]);
	}
	for (unsigned i = 0; i < conc; i++) {
		pthread_join(t[i], NULL);
		for (size_t k = 0; k < w[i].st.n; k++)
			add_lat(&all, w[i].st.lat[k]);
		all.errors += w[i].st.errors;
		if (w[i].st.peak > all.peak)
			all.peak = w[i].st.peak;
		free(w[i].st.lat);
	}
	report(&all, (double)(now_us() - t0) / 1e6);
	free(all.lat);
	free(w);
	free(t);
	buf_release(&in);
	buf_release(&req);
	return 0;
}

/* ---- warm: N bare workerds on one socket ---- */

static volatile sig_atomic_t stop_warm;

static void on_term(int sig)
{
	(void)sig;
	stop_warm = 1;
}

static int cmd_warm(const char *workerd, const char *dir, unsigned port, unsigned n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pid_t *kids = calloc(n, sizeof(*kids));
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	sigset_t mask, old;

	if (!kids || lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0)
		return log_errno("warm: listen on port %u", port);
	signal(SIGTERM, on_term);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	for (unsigned i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			static char *const envp[] = { NULL };
			char *argv[] = { (char *)"workerd", (char *)"serve", (char *)"config.capnp",
					 (char *)"--socket-fd", (char *)"http=3", NULL };
			int dn = open("/dev/null", O_RDWR);
			sigprocmask(SIG_SETMASK, &old, NULL);
			dup2(dn, 0);
			dup2(dn, 1);
			dup2(dn, 2);
			dup2(lfd, 3);
			if (chdir(dir) < 0)
				_exit(127);
			execve(workerd, argv, envp);
			_exit(127);
		}
	}
	while (!stop_warm)
		sigsuspend(&old);
	for (unsigned i = 0; i < n; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	free(kids);
	return 0;
}

/* ---- sandbox: sb_run on one slot (or several in turn) ---- */

#define SB_BENCH_MAX_SLOTS 64

static int cmd_sandbox(const char *workerd, const char *mode, const char *src, const char *body,
		       double seconds)
{
	char run_dir[] = "/tmp/oyster-bench-sb.XXXXXX", inst[64], tree[128];
	struct sb_header h[] = { { (char *)"Content-Type", (char *)"application/json" } };
	struct buf in = BUF_INIT;
	struct code c;
	struct sb_slot slots[SB_BENCH_MAX_SLOTS];
	struct stats st = { 0 };
	enum sb_cg_version v;
	uint64_t t0, until;
	unsigned nslots = 1, opened = 0, next = 0;
	const char *ns = getenv("OYSTER_BENCH_SLOTS");
	int rc = 1;

	/* As many slots as the stack has, taken in turn as its handlers take
	 * connections, so d - f compares like with like. */
	if (ns && strtoul(ns, NULL, 10) >= 1)
		nslots = (unsigned)strtoul(ns, NULL, 10);
	if (nslots > SB_BENCH_MAX_SLOTS)
		nslots = SB_BENCH_MAX_SLOTS;
	code_init(&c);
	snprintf(inst, sizeof(inst), "bench_%d", (int)getpid());
	snprintf(tree, sizeof(tree), "oyster/%s", inst);
	if (!mkdtemp(run_dir) || load_code(src, &c) < 0 || read_file(body, &in) < 0 ||
	    sb_global_init(1, &v) < 0)
		goto out;
	{
		struct sb_config cfg = {
			.mode = strcmp(mode, "process") ? SB_MODE_POOL : SB_MODE_PROCESS,
			.workerd_path = workerd, .run_dir = run_dir, .instance = inst,
			.compat_date = "2023-03-07", .use_cgroups = 1,
			.limits = { 128ULL << 20, 100, 64 }, .max_response = 4 << 20,
			.pool_recycle_requests = 1000, .pool_recycle_memory = 32 << 20, .pool_prepare = 1,
		};
		struct sb_request rq = { "POST", "/", h, 1, in.data, in.len };
		const char *key = strcmp(mode, "reuse") ? NULL : "bench";
		const char *jail = getenv("OYSTER_BENCH_JAIL");
		unsigned ju, jg;

		/* In the same jail as the stack's slots (uid:gid), so d - f is
		 * only nginx, FastCGI and the handler. */
		if (jail && sscanf(jail, "%u:%u", &ju, &jg) == 2 && ju && jg) {
			cfg.jail = 1;
			cfg.seccomp = 1;
			cfg.jail_uid = ju;
			cfg.jail_gid = jg;
			cfg.scratch_bytes = 16 << 20;
		}

		for (; opened < nslots; opened++)
			if (sb_slot_open(&slots[opened], &cfg, opened) < 0)
				goto out;
		t0 = now_us();
		until = t0 + (uint64_t)(seconds * 1e6);
		while (now_us() < until) {
			struct sb_result r;
			struct sb_slot *slot = &slots[next++ % nslots];
			uint64_t s0 = now_us();

			sb_result_init(&r);
			if (sb_run_keyed(slot, &c, key, &rq, 10000, &r) < 0 || r.outcome != SB_OK ||
			    r.http.status != 200)
				st.errors++;
			else
				add_lat(&st, now_us() - s0);
			if (r.peak_bytes > st.peak)
				st.peak = r.peak_bytes;
			sb_result_release(&r);
			sb_slot_finish(slot); /* after the answer, as the handler does */
		}
		report(&st, (double)(now_us() - t0) / 1e6);
		rc = 0;
	}
out:
	while (opened > 0)
		sb_slot_close(&slots[--opened]);
	sb_cg_remove_tree(tree);
	rmdir(run_dir);
	code_release(&c);
	buf_release(&in);
	free(st.lat);
	return rc;
}

/* ---- http: through the stack on one connection, with per-request overhead ---- */

static int http_connect(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return log_errno("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_errno("connect 127.0.0.1:%u", port);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One request on fd, the answer parsed into http; its latency in µs, or -1
 * (the connection is then of no further use).
 */
static int64_t http_once(int fd, const struct buf *req, struct buf *resp, struct sb_http_response *http)
{
	uint64_t t0 = now_us();
	size_t off = 0;
	enum sb_http_parse st = SB_HTTP_INCOMPLETE;

	while (off < req->len) {
		ssize_t w = write(fd, req->data + off, req->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	buf_reset(resp);
	while (st == SB_HTTP_INCOMPLETE) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			buf_add(resp, chunk, (size_t)n);
		sb_http_response_release(http);
		st = sb_http_parse_response(buf_cstr(resp), resp->len, n <= 0, 64 << 20, http);
		if (n <= 0 && st == SB_HTTP_INCOMPLETE)
			return -1;
	}
	return st == SB_HTTP_DONE ? (int64_t)(now_us() - t0) : -1;
}

/*
 * POST BODY to 127.0.0.1:PORT PATH one request after another on a kept
 * connection, for SECONDS.  Each answer's Server-Timing "sandbox;dur=" (the
 * handler's sandbox call, fa_api_serverless.c) is taken off that same
 * request's latency: what nginx, FastCGI and the handler added to it.
 */
static int cmd_http(unsigned port, const char *path, const char *body, double seconds)
{
	struct buf in = BUF_INIT, req = BUF_INIT, resp = BUF_INIT;
	struct sb_http_response http;
	struct stats st = { 0 }, ov = { 0 };
	uint64_t t0, until;
	int fd = -1;

	sb_http_response_init(&http);
	if (read_file(body, &in) < 0) {
		buf_release(&in);
		return -1;
	}
	buf_addf(&req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n", path, in.len);
	buf_add(&req, in.data, in.len);
	t0 = now_us();
	until = t0 + (uint64_t)(seconds * 1e6);
	while (now_us() < until) {
		const char *timing;
		double dur_ms;
		int64_t lat;

		if (fd < 0 && (fd = http_connect(port)) < 0)
			break;
		lat = http_once(fd, &req, &resp, &http);
		timing = lat >= 0 ? sb_http_header(&http, "server-timing") : NULL;
		if (lat < 0 || http.status != 200 || !timing || sscanf(timing, "sandbox;dur=%lf", &dur_ms) != 1) {
			st.errors++;
		} else {
			uint64_t sb_us = (uint64_t)(dur_ms * 1000.0 + 0.5);

			add_lat(&st, (uint64_t)lat);
			add_lat(&ov, (uint64_t)lat > sb_us ? (uint64_t)lat - sb_us : 0);
		}
		if (lat < 0 || !sb_http_response_reusable(buf_cstr(&resp), resp.len, &http)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	qsort(ov.lat, ov.n, sizeof(*ov.lat), cmp_u64);
	if (ov.n) /* else nothing was measured: no figure, rather than 0 */
		printf("BENCH-OVERHEAD {\"overhead_p50_ms\":%.3f,\"overhead_p99_ms\":%.3f}\n", pct(&ov, 0.50),
		       pct(&ov, 0.99));
	else
		printf("BENCH-OVERHEAD {\"overhead_p50_ms\":null,\"overhead_p99_ms\":null}\n");
	report(&st, (double)(now_us() - t0) / 1e6);
	sb_http_response_release(&http);
	free(st.lat);
	free(ov.lat);
	buf_release(&in);
	buf_release(&req);
	buf_release(&resp);
	return 0;
}

int main(int argc, char **argv)
{
	log_set_level(LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "prepare"))
		return cmd_prepare(argv[2], argv[3]) < 0;
	if (argc == 7 && !strcmp(argv[1], "spawn"))
		return cmd_spawn(argv[2], argv[3], argv[4], (unsigned)strtoul(argv[5], NULL, 10),
				 strtod(argv[6], NULL));
	if (argc == 6 && !strcmp(argv[1], "warm"))
		return cmd_warm(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 10),
				(unsigned)strtoul(argv[5], NULL, 10)) < 0;
	if (argc == 6 && !strcmp(argv[1], "http"))
		return cmd_http((unsigned)strtoul(argv[2], NULL, 10), argv[3], argv[4], strtod(argv[5], NULL)) < 0;
	if (argc == 7 && !strcmp(argv[1], "sandbox"))
		return cmd_sandbox(argv[2], argv[3], argv[4], argv[5], strtod(argv[6], NULL));
	fprintf(stderr, "usage: oyster-bench prepare CODE DIR\n"
			"       oyster-bench spawn WORKERD DIR BODY CONCURRENCY SECONDS\n"
			"       oyster-bench warm WORKERD DIR PORT N\n"
			"       oyster-bench sandbox WORKERD pool|process|reuse CODE BODY SECONDS\n"
			"       oyster-bench http PORT PATH BODY SECONDS\n");
	return 2;
}
