/*
 * Tests for pool mode (sandbox/sb_pool.c, sb_loader.c, sb_loader.js).
 *
 * The loader envelope and config are checked as bytes: control headers a
 * user sends are dropped, ours carry the method, the code length and the
 * isolate key, and the body is the code's canonical encoding followed by
 * the user's body.  With the real workerd installed, a pool slot (without
 * cgroups, so the /proc usage path is exercised too) runs requests: a new
 * isolate each time unless keyed, the outcomes of process mode with the
 * same texts (exception, load failure, timeout, response too large), the
 * workerd replaced after a timeout and after pool_recycle_requests, and
 * nothing left running after close.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "code.h"
#include "sandbox.h"
#include "sb_internal.h"
#include "sb_bake.h"
#include "sb_pool.h"
#include "sb_loader.h"
#include "banned.h"

#define WORKERD_REL "node_modules/@cloudflare/workerd-linux-64/bin/workerd"

static void make_code(struct code *c, const char *src)
{
	code_init(c);
	ck_assert_int_eq(code_from_js(c, src, strlen(src), NULL, NULL), CODE_OK);
}

/* SIGKILL a workerd of ours and wait until it has exited (not reaped: the slot does that). */
static void kill_and_wait(pid_t pid)
{
	siginfo_t si;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
}

START_TEST(test_envelope)
{
	struct code c;
	struct buf out = BUF_INIT, enc = BUF_INIT, want = BUF_INIT;
	struct sb_header h[] = { { (char *)"Content-Type", (char *)"application/json" },
				 { (char *)"X-Oyster-Pool-Method", (char *)"DELETE" },
				 { (char *)"x-oyster-pool-isolate", (char *)"forged" } };
	struct sb_request rq = { "PUT", "/p?q=1", h, 3, "{\"a\":1}", 7 };
	const char *body;

	make_code(&c, "export default { fetch() { return new Response('x'); } }");
	ck_assert_int_eq(code_encode(&c, &enc), 0);
	ck_assert_int_eq(sb_loader_request(&out, &c, NULL, "0xkey", 1, &rq), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "POST /p?q=1 HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Content-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "x-oyster-pool-method: PUT\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "x-oyster-pool-isolate: 0xkey\r\n"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "DELETE"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "forged"));
	buf_addf(&want, "x-oyster-pool-code-length: %zu\r\n", enc.len);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), buf_cstr(&want)));
	body = strstr(buf_cstr(&out), "\r\n\r\n") + 4;
	ck_assert_uint_eq((size_t)(out.data + out.len - body), enc.len + 7);
	ck_assert_int_eq(memcmp(body, enc.data, enc.len), 0);
	ck_assert_int_eq(memcmp(body + enc.len, "{\"a\":1}", 7), 0);
	/* no key: no isolate header; the encoding the caller has goes as is;
	 * a key with CR/LF cannot be sent */
	buf_reset(&out);
	ck_assert_int_eq(sb_loader_request(&out, &c, &enc, NULL, 1, &rq), 0);
	ck_assert_ptr_null(strstr(buf_cstr(&out), "x-oyster-pool-isolate"));
	body = strstr(buf_cstr(&out), "\r\n\r\n") + 4;
	ck_assert_uint_eq((size_t)(out.data + out.len - body), enc.len + 7);
	ck_assert_int_eq(memcmp(body, enc.data, enc.len), 0);
	buf_reset(&out);
	ck_assert_int_eq(sb_loader_request(&out, &c, NULL, "a\r\nb: c", 1, &rq), -1);
	/* a key whose code the loader has: the user's request as it is */
	buf_reset(&out);
	ck_assert_int_eq(sb_loader_request(&out, &c, NULL, "0xkey", 0, &rq), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "PUT /p?q=1 HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "x-oyster-pool-isolate: 0xkey\r\n"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "x-oyster-pool-code-length"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "x-oyster-pool-method"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "forged"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Content-Length: 7\r\n"));
	ck_assert_str_eq(strstr(buf_cstr(&out), "\r\n\r\n"), "\r\n\r\n{\"a\":1}");
	code_release(&c);
	buf_release(&out);
	buf_release(&enc);
	buf_release(&want);
}
END_TEST

START_TEST(test_config_and_source)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(sb_loader_config(&b, "2023-03-07", "t0k3n", NULL), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "(name = \"LOADER\", workerLoader = ())"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "(name = \"COMPAT_DATE\", text = \"2023-03-07\")"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "(name = \"TOKEN\", text = \"t0k3n\")"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "globalOutbound = \"deny-all\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "(name = \"deny-all\", network = (allow = []))"));
	buf_reset(&b);
	ck_assert_int_eq(sb_loader_config(&b, "2023\"); evil", "t", NULL), -1);
	buf_reset(&b);
	ck_assert_int_eq(sb_loader_config(&b, "2023-03-07", "a b", NULL), -1);
	buf_release(&b);
	/* the embedded source is the file, whole */
	ck_assert_ptr_nonnull(strstr(sb_loader_source(), "globalOutbound: null"));
	ck_assert_ptr_nonnull(strstr(sb_loader_source(), "env: {}"));
	ck_assert_uint_gt(strlen(sb_loader_source()), 2000);
}
END_TEST

/* ---- with the real workerd ---- */

static char workerd[PATH_MAX], run_dir[] = "/tmp/oyster-test-pool.XXXXXX";

static int have_workerd(void)
{
	int fd;

	if (!realpath(WORKERD_REL, workerd) || access(workerd, X_OK) < 0) {
		fprintf(stderr, "test_sb_pool: %s not installed; real-workerd tests skipped\n", WORKERD_REL);
		return 0;
	}
	/* valgrind (3.19) does not know pidfd_open, which the slot owner needs */
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0) {
		fprintf(stderr, "test_sb_pool: no pidfd_open here (valgrind?); real-workerd tests skipped\n");
		return 0;
	}
	close(fd);
	return 1;
}

static void open_slot(struct sb_slot *s, unsigned recycle)
{
	struct sb_config cfg = {
		.mode = SB_MODE_POOL, .workerd_path = workerd, .run_dir = run_dir,
		.instance = "unit", .compat_date = "2023-03-07", .use_cgroups = 0,
		.max_response = 4096, .pool_recycle_requests = recycle,
	};

	ck_assert_ptr_nonnull(mkdtemp(run_dir));
	ck_assert_int_eq(sb_slot_open(s, &cfg, 0), 0);
	ck_assert_ptr_nonnull(s->pool);
}

static void close_slot(struct sb_slot *s)
{
	sb_slot_close(s);
	/* sb_slot_close left nothing in it (slots/0, then slots/) */
	ck_assert_int_eq(rmdir(run_dir), 0);
	memcpy(run_dir + strlen(run_dir) - 6, "XXXXXX", 6);
}

/* Run src on body; returns the outcome, the body or error text in out. */
static enum sb_outcome run1(struct sb_slot *s, const char *src, const char *key, const char *method,
			    unsigned deadline, struct buf *out, int *recycled)
{
	struct code c;
	struct sb_result r;
	struct sb_request rq = { method, "/path?x=1", NULL, 0, "{}", 2 };
	enum sb_outcome o;

	make_code(&c, src);
	sb_result_init(&r);
	ck_assert_int_eq(sb_run_keyed(s, &c, key, &rq, deadline, &r), 0);
	o = r.outcome;
	buf_reset(out);
	if (o == SB_OK) {
		buf_add(out, r.http.body.data ? r.http.body.data : "", r.http.body.len);
		ck_assert_ptr_null(sb_http_header(&r.http, SB_LOADER_OUTCOME));
	} else {
		buf_addstr(out, buf_cstr(&r.error));
	}
	if (recycled)
		*recycled = r.recycled;
	sb_result_release(&r);
	code_release(&c);
	sb_slot_finish(s); /* after the reply, as the handler does */
	return o;
}

/* A request without code for a key the loader has no code for. */
static void raw_nocode(struct sb_slot *s)
{
	static const char rq[] = "POST / HTTP/1.1\r\nHost: w\r\nx-oyster-pool-isolate: unknown\r\n"
				 "Content-Length: 0\r\nConnection: close\r\n\r\n";
	char resp[2048];
	size_t n = 0;
	ssize_t r;
	int fd = sb_connect_socket(s->sock);

	ck_assert_int_ge(fd, 0);
	fcntl(fd, F_SETFL, 0);
	ck_assert_int_eq(write(fd, rq, sizeof(rq) - 1), (ssize_t)sizeof(rq) - 1);
	while (n < sizeof(resp) - 1 && (r = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
		n += (size_t)r;
	resp[n] = '\0';
	close(fd);
	ck_assert_ptr_nonnull(strstr(resp, "HTTP/1.1 500"));
	ck_assert_ptr_nonnull(strstr(resp, " nocode\r\n"));
}

/* Our end of the kept connection to the socket at path, or -1. */
static int kept_conn(const char *path)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_un a;
		socklen_t n = sizeof(a);

		if (getpeername(fd, (struct sockaddr *)&a, &n) == 0 && a.sun_family == AF_UNIX &&
		    !strcmp(a.sun_path, path))
			return fd;
	}
	return -1;
}

static const char *const counter =
	"let n = 0; export default { fetch(r) { n++; return new Response(n + ' ' + r.method + ' ' + r.url); } }";

START_TEST(test_pool_runs)
{
	struct sb_slot s;
	struct buf out = BUF_INIT;
	pid_t first;
	int rec = 0, fd;

	if (!have_workerd())
		return;
	open_slot(&s, 0);
	first = sb_pool_pid(&s);
	ck_assert_int_gt(first, 0);
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 POST http://worker/path?x=1");
	ck_assert_int_eq(run1(&s, counter, NULL, "GET", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 GET http://worker/path?x=1");
	/* the connection to workerd is kept between requests; one that died
	 * meanwhile is replaced and the request is not lost */
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, NULL), SB_OK);
	fd = kept_conn(s.sock);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, NULL), SB_OK);
	ck_assert_int_eq(kept_conn(s.sock), fd);
	ck_assert_int_eq(shutdown(fd, SHUT_RDWR), 0);
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 POST http://worker/path?x=1");
	ck_assert_int_eq(sb_pool_pid(&s), first);
	/* keyed: the isolate is kept */
	ck_assert_int_eq(run1(&s, counter, "k1", "POST", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 POST http://worker/path?x=1");
	ck_assert_int_eq(run1(&s, counter, "k1", "POST", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "2 POST http://worker/path?x=1");
	/* the second went without the code: the method is the user's own */
	ck_assert_int_eq(run1(&s, counter, "k1", "GET", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "3 GET http://worker/path?x=1");
	/* the loader asks for the code of a key it does not know */
	raw_nocode(&s);
	/* a worker cannot pass for the loader: its outcome header is its own
	 * answer's, and stripped */
	ck_assert_int_eq(run1(&s, "export default { fetch() { return new Response('mine', { status: 500, "
			      "headers: { 'x-oyster-pool-outcome': 'exception' } }); } }", NULL, "POST",
			      5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "mine");
	ck_assert_int_eq(rec, 0);

	ck_assert_int_eq(run1(&s, "export default { fetch() { throw new Error('boom'); } }", NULL, "POST",
			      5000, &out, &rec), SB_EXCEPTION);
	ck_assert_str_eq(buf_cstr(&out), "Uncaught Error: boom");
	ck_assert_int_eq(rec, 0);
	ck_assert_int_eq(run1(&s, "export default { fetch() { return new Response('x' } }", NULL, "POST",
			      5000, &out, &rec), SB_LOAD_FAILED);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Uncaught SyntaxError: missing ) after argument list"));
	ck_assert_int_eq(rec, 0);
	ck_assert_int_eq(run1(&s, "export default { fetch() { return new Response('y'.repeat(5000)); } }",
			      NULL, "POST", 5000, &out, &rec), SB_TOO_LARGE);
	ck_assert_int_eq(rec, 1);

	/* a cut-off response replaced the workerd; so does a timeout, and the
	 * keyed isolate goes with it */
	ck_assert_int_ne(sb_pool_pid(&s), first);
	first = sb_pool_pid(&s);
	ck_assert_int_eq(run1(&s, "export default { fetch() { for (;;) {} } }", NULL, "POST", 300, &out, &rec),
			 SB_TIMEOUT);
	ck_assert_int_eq(rec, 1);
	ck_assert_int_eq(run1(&s, counter, "k1", "POST", 5000, &out, NULL), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 POST http://worker/path?x=1");
	ck_assert_int_ne(sb_pool_pid(&s), first);
	ck_assert_int_eq(kill(first, 0), -1); /* the timed-out one was reaped */
	close_slot(&s);
	buf_release(&out);
}
END_TEST

START_TEST(test_recycle_count_and_close)
{
	struct sb_slot s;
	struct buf out = BUF_INIT;
	int rec = 0;
	pid_t pid;

	if (!have_workerd())
		return;
	open_slot(&s, 2);
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, &rec), SB_OK);
	ck_assert_int_eq(rec, 0);
	{
		/* the 2nd answered request replaces it, once the caller has
		 * replied (sb_slot_finish) */
		struct code c;
		struct sb_result r;
		struct sb_request rq = { "POST", "/", NULL, 0, "{}", 2 };

		pid = sb_pool_pid(&s);
		make_code(&c, counter);
		sb_result_init(&r);
		ck_assert_int_eq(sb_run(&s, &c, &rq, 5000, &r), 0);
		ck_assert_int_eq(r.outcome, SB_OK);
		ck_assert_int_eq(r.recycled, 1);
		ck_assert_int_eq(sb_pool_pid(&s), pid);
		sb_slot_finish(&s);
		ck_assert_int_ne(sb_pool_pid(&s), pid);
		ck_assert(sb_pool_ready(&s)); /* finish waited for the new one to listen */
		ck_assert_int_eq(kill(pid, 0), -1);
		sb_result_release(&r);
		code_release(&c);
	}
	/* killed from outside while idle: replaced before the next request */
	pid = sb_pool_pid(&s);
	ck_assert_int_gt(pid, 0);
	kill_and_wait(pid);
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 POST http://worker/path?x=1");
	ck_assert_int_ne(sb_pool_pid(&s), pid);
	pid = sb_pool_pid(&s);
	close_slot(&s);
	ck_assert_int_eq(kill(pid, 0), -1); /* killed and reaped at close */
	buf_release(&out);
}
END_TEST

static int file_has(const char *dir, const char *name, const char *needle)
{
	char path[PATH_MAX], text[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

static const char *const keyed =
	"let n = 0; export default { fetch(r) { n++;"
	" if (r.method === 'PUT') throw new Error('boom');"
	" if (r.method === 'DELETE') for (;;) {}"
	" if (r.method === 'PATCH') return new Response('z'.repeat(5000));"
	" return new Response(n + ' ' + r.method + ' ' + r.url); } }";

/* A kept isolate's code is baked into the slot's workerd after SB_BAKE_AFTER runs. */
START_TEST(test_bake)
{
	struct sb_slot s;
	struct buf out = BUF_INIT;
	char path[PATH_MAX];
	pid_t pid;
	int rec = 0;
	FILE *f;

	if (!have_workerd())
		return;
	open_slot(&s, 0);
	pid = sb_pool_pid(&s);
	for (int i = 1; i <= SB_BAKE_AFTER; i++) {
		char want[64];

		ck_assert_int_eq(run1(&s, keyed, "kb", "POST", 5000, &out, &rec), SB_OK);
		snprintf(want, sizeof(want), "%d POST http://worker/path?x=1", i);
		ck_assert_str_eq(buf_cstr(&out), want);
		ck_assert_int_eq(rec, i == SB_BAKE_AFTER); /* then replaced, to bake it */
	}
	ck_assert_int_ne(sb_pool_pid(&s), pid);
	ck_assert(file_has(s.dir, "config.capnp", "(name = \"b0\", worker = .b0)"));
	ck_assert(file_has(s.dir, "b0m0", "let n = 0;"));
	/* served by the baked worker: a new isolate (the workerd is new), the
	 * same request, kept state, the same outcomes and texts as the loader */
	ck_assert_int_eq(run1(&s, keyed, "kb", "GET", 5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 GET http://worker/path?x=1");
	ck_assert_int_eq(run1(&s, keyed, "kb", "POST", 5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "2 POST http://worker/path?x=1");
	ck_assert_int_eq(rec, 0);
	ck_assert_int_eq(run1(&s, keyed, "kb", "HEAD", 5000, &out, &rec), SB_OK);
	ck_assert_int_eq(rec, 0);
	ck_assert_int_eq(run1(&s, keyed, "kb", "PUT", 5000, &out, &rec), SB_EXCEPTION);
	ck_assert_str_eq(buf_cstr(&out), "Uncaught Error: boom");
	ck_assert_int_eq(rec, 0);
	ck_assert_int_eq(run1(&s, keyed, "kb", "PATCH", 5000, &out, &rec), SB_TOO_LARGE);
	ck_assert_int_eq(rec, 1);
	ck_assert_int_eq(run1(&s, keyed, "kb", "DELETE", 300, &out, &rec), SB_TIMEOUT);
	ck_assert_int_eq(rec, 1);
	/* every later workerd of the slot bakes it too */
	ck_assert_int_eq(run1(&s, keyed, "kb", "GET", 5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 GET http://worker/path?x=1");
	ck_assert(file_has(s.dir, "config.capnp", "(name = \"b0\", worker = .b0)"));
	/* other codes still go through the loader */
	ck_assert_int_eq(run1(&s, counter, "other", "POST", 5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 POST http://worker/path?x=1");
	ck_assert_int_eq(run1(&s, counter, NULL, "POST", 5000, &out, &rec), SB_OK);

	/* a workerd that cannot start with the set: started without it, the
	 * code runs through the loader again */
	snprintf(path, sizeof(path), "%s/b0m0", s.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("export default {", f);
	fclose(f);
	pid = sb_pool_pid(&s);
	kill_and_wait(pid);
	ck_assert_int_eq(run1(&s, keyed, "kb", "GET", 5000, &out, &rec), SB_OK);
	ck_assert_str_eq(buf_cstr(&out), "1 GET http://worker/path?x=1");
	ck_assert(!file_has(s.dir, "config.capnp", "worker = .b0"));
	close_slot(&s);
	buf_release(&out);
}
END_TEST

START_TEST(test_prepare_envelope)
{
	struct code c;
	struct buf enc = BUF_INIT, out = BUF_INIT, want = BUF_INIT, empty = BUF_INIT;
	struct sb_header h[] = { { (char *)"X-A", (char *)"1" },
				 { (char *)"x-oyster-pool-prepare", (char *)"forged" } };
	struct sb_request rq = { "PUT", "/p", h, 2, "abc", 3 };

	make_code(&c, "export default { fetch() { return new Response('x'); } }");
	ck_assert_int_eq(code_encode(&c, &enc), 0);
	ck_assert_int_eq(sb_loader_prepare_request(&out, &enc), 0);
	buf_addf(&want, "POST / HTTP/1.1\r\nHost: worker\r\nx-oyster-pool-prepare: 1\r\n"
		 "x-oyster-pool-code-length: %zu\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n",
		 enc.len, enc.len);
	buf_add(&want, enc.data, enc.len);
	buf_addstr(&want, "\r\n");
	ck_assert_uint_eq(out.len, want.len);
	ck_assert_int_eq(memcmp(out.data, want.data, out.len), 0);
	ck_assert_int_eq(sb_loader_prepare_request(&out, &empty), -1);
	/* the rest: the user's request (without our headers) as one chunk, then the end */
	buf_reset(&out);
	buf_reset(&want);
	ck_assert_int_eq(sb_loader_direct_request(&want, &rq), 0);
	ck_assert_ptr_null(strstr(buf_cstr(&want), "forged"));
	ck_assert_int_eq(sb_loader_prepared_rest(&out, &rq), 0);
	{
		char head[32];
		int n = snprintf(head, sizeof(head), "%zx\r\n", want.len);

		ck_assert_uint_eq(out.len, (size_t)n + want.len + 7);
		ck_assert_int_eq(memcmp(out.data, head, (size_t)n), 0);
		ck_assert_int_eq(memcmp(out.data + n, want.data, want.len), 0);
		ck_assert_int_eq(memcmp(out.data + n + want.len, "\r\n0\r\n\r\n", 7), 0);
	}
	code_release(&c);
	buf_release(&enc);
	buf_release(&out);
	buf_release(&want);
}
END_TEST

/* What a worker sees of its request, as text. */
static const char *const echo =
	"let n = 0; globalThis.loads = (globalThis.loads || 0) + 1;"
	" export default { async fetch(r) { n++;"
	" if (r.method === 'PUT') throw new Error('boom');"
	" if (r.method === 'DELETE') for (;;) {}"
	" const h = [...r.headers].map(([k, v]) => k + '=' + v).join(';');"
	" return new Response(n + ' ' + globalThis.loads + ' ' + r.method + ' ' + r.url + ' ' + h + ' '"
	" + (r.method === 'HEAD' ? '' : await r.text()), { headers: { 'x-n': String(n) } }); } }";

/* About 100-300 ms of CPU in its module code, every time it loads. */
static const char *const heavy =
	"let x = 0; for (let i = 0; i < 1e8; i++) x += i % 7;"
	" export default { fetch() { return new Response(String(x)); } }";

static const char *run_path = "/p/q?x=1&y=%20";

/* Run src fresh with a few headers; the isolate it ran in goes to isolate. */
static enum sb_outcome run_fresh(struct sb_slot *s, const char *src, const char *method, unsigned deadline,
				 struct buf *out, const char **isolate)
{
	struct code c;
	struct sb_result r;
	struct sb_header h[] = { { (char *)"Content-Type", (char *)"text/plain" },
				 { (char *)"X-Two", (char *)"a b  c" },
				 { (char *)"Host", (char *)"example.test" },
				 /* not UTF-8, a control byte, UTF-8: the subdomain route passes any */
				 { (char *)"X-Bytes", (char *)"caf\xe9 \x01" "end \xc3\xa9" } };
	struct sb_request rq = { method, run_path, h, 4, "body\r\n\r\nmore", 12 };
	enum sb_outcome o;

	make_code(&c, src);
	sb_result_init(&r);
	ck_assert_int_eq(sb_run(s, &c, &rq, deadline, &r), 0);
	o = r.outcome;
	buf_reset(out);
	if (o == SB_OK)
		buf_add(out, r.http.body.data ? r.http.body.data : "", r.http.body.len);
	else
		buf_addstr(out, buf_cstr(&r.error));
	*isolate = r.isolate ? r.isolate : "(none)";
	sb_result_release(&r);
	code_release(&c);
	sb_slot_finish(s);
	return o;
}

/* In test_prepared: run src, check the outcome, the isolate and (non-NULL) the body. */
#define EXPECT_RUN(src, method, deadline, outcome, isolate, body)                          \
	do {                                                                               \
		ck_assert_int_eq(run_fresh(&s, src, method, deadline, &out, &iso), outcome); \
		ck_assert_str_eq(iso, isolate);                                            \
		if ((body) != NULL)                                                        \
			ck_assert_str_eq(buf_cstr(&out), (const char *)(body));            \
	} while (0)

/* What the echo worker reports of run_fresh's headers. */
#define ECHO_HEADERS                                                                    \
	"content-type=text/plain;host=example.test;x-bytes=caf\xef\xbf\xbd \x01" "end \xc3\xa9;" \
	"x-two=a b  c"

/*
 * pool_prepare: after two new-isolate runs of a code in a row, the next
 * request of that code runs in an isolate made ahead, which sees exactly
 * what a new one would (the same request, fresh state, one module load);
 * any other request drops it; failures are those of a new isolate.
 */
START_TEST(test_prepared)
{
	struct sb_slot s;
	struct buf out = BUF_INIT, cold = BUF_INIT;
	const char *iso;
	pid_t pid;
	int fd;

	if (!have_workerd())
		return;
	open_slot(&s, 0);
	s.cfg.pool_prepare = 1;
	ck_assert_int_eq(run_fresh(&s, echo, "POST", 5000, &cold, &iso), SB_OK);
	ck_assert_str_eq(iso, "new");
	/* as workerd parses them: a byte that is not UTF-8 becomes U+FFFD */
	ck_assert_str_eq(buf_cstr(&cold), "1 1 POST http://example.test/p/q?x=1&y=%20 content-length=12;"
			 ECHO_HEADERS " body\r\n\r\nmore");
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", buf_cstr(&cold));
	/* now one is prepared: a second connection to the loader is open */
	for (int i = 0; i < 3; i++)
		EXPECT_RUN(echo, "POST", 5000, SB_OK, "prepared", buf_cstr(&cold));
	/* raw bytes in the target: workerd's parser answers as for a new isolate */
	run_path = "/p?z=\xe9";
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", "invalid URI");
	run_path = "/p/q?x=1&y=%20";
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "prepared", buf_cstr(&cold));
	EXPECT_RUN(echo, "GET", 5000, SB_OK, "prepared",
		   "1 1 GET http://example.test/p/q?x=1&y=%20 " ECHO_HEADERS " ");
	/* the prepared request is a POST to the loader, read as such: workerd
	 * drops the worker's body from the answer to its HEAD, so none comes */
	EXPECT_RUN(echo, "HEAD", 5000, SB_OK, "prepared", "");
	/* an exception is the worker's, as in a new isolate; the next is prepared again */
	EXPECT_RUN(echo, "PUT", 5000, SB_EXCEPTION, "prepared", "Uncaught Error: boom");
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "prepared", buf_cstr(&cold));
	/* another code drops it and runs new; so does a kept isolate's run,
	 * which does not count between two new-isolate runs of a code */
	EXPECT_RUN(counter, "POST", 5000, SB_OK, "new", "1 POST http://example.test/p/q?x=1&y=%20");
	EXPECT_RUN(counter, "POST", 5000, SB_OK, "new", "1 POST http://example.test/p/q?x=1&y=%20");
	ck_assert_int_ge(sb_pool_prepared_fd(&s), 0);
	ck_assert_int_eq(run1(&s, counter, "k", "POST", 5000, &out, NULL), SB_OK);
	ck_assert_int_eq(sb_pool_prepared_fd(&s), -1);
	EXPECT_RUN(counter, "POST", 5000, SB_OK, "new", "1 POST http://example.test/p/q?x=1&y=%20");
	EXPECT_RUN(counter, "POST", 5000, SB_OK, "prepared", "1 POST http://example.test/p/q?x=1&y=%20");
	/* a prepared request the workerd closed meanwhile: a new isolate, nothing lost */
	fd = sb_pool_prepared_fd(&s);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(shutdown(fd, SHUT_RDWR), 0);
	EXPECT_RUN(counter, "POST", 5000, SB_OK, "new", "1 POST http://example.test/p/q?x=1&y=%20");
	/* a timeout in a prepared isolate: the workerd is replaced, as ever */
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", buf_cstr(&cold));
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", buf_cstr(&cold));
	pid = sb_pool_pid(&s);
	EXPECT_RUN(echo, "DELETE", 300, SB_TIMEOUT, "prepared", NULL);
	ck_assert_int_ne(sb_pool_pid(&s), pid);
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", buf_cstr(&cold));
	/* modules that burn more CPU while the slot waits than a run may
	 * take: the workerd is replaced before the next run */
	for (int i = 0; i < 2; i++)
		EXPECT_RUN(heavy, "POST", 5000, SB_OK, "new", NULL);
	ck_assert_int_ge(sb_pool_prepared_fd(&s), 0);
	pid = sb_pool_pid(&s);
	/* the slot is idle; the isolate is being made: until it has burnt a
	 * run's deadline (20 ms) of CPU */
	for (int i = 0; i < 500 && !sb_prepared_spins(&s, 20); i++)
		usleep(10 * 1000);
	ck_assert(sb_prepared_spins(&s, 20));
	/* replaced before the run: it found no workerd ready within its 20 ms
	 * (without the check it would have gone to the busy one, "new") */
	EXPECT_RUN(counter, "POST", 20, SB_TIMEOUT, "(none)", NULL);
	ck_assert_int_ne(sb_pool_pid(&s), pid);
	ck_assert_int_eq(kill(pid, 0), -1);
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", buf_cstr(&cold));
	EXPECT_RUN(echo, "POST", 5000, SB_OK, "new", buf_cstr(&cold));
	/* off: never prepared */
	s.cfg.pool_prepare = 0;
	for (int i = 0; i < 3; i++)
		EXPECT_RUN(echo, "POST", 5000, SB_OK, i == 0 ? "prepared" : "new", buf_cstr(&cold));
	close_slot(&s);
	buf_release(&out);
	buf_release(&cold);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sb_pool");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_config_and_source);
	tcase_add_test(tc, test_pool_runs);
	tcase_add_test(tc, test_recycle_count_and_close);
	tcase_add_test(tc, test_bake);
	tcase_add_test(tc, test_prepare_envelope);
	tcase_add_test(tc, test_prepared);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
