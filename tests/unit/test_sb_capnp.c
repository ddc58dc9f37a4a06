/*
 * Tests for sandbox/sb_capnp.c: the workerd configuration of one code.
 *
 * The single-module config is compared byte for byte; for a bundle the
 * module list is checked line by line (main first, then every other module
 * in c->mods order, each with the field of its type and `embed "m<i>"`
 * naming its own index), plus the isolation facts: no service but the
 * worker and a network service whose allow list is empty, used as
 * globalOutbound.  Codes the parser would refuse (main missing or not an
 * esModule, names needing escapes) are built by hand.
 *
 * When the real workerd is installed (node_modules/@cloudflare/...), one
 * test writes the config and module files to a temporary directory, starts
 * `workerd serve config.capnp --socket-fd http=3` on a unix socket we
 * listen on, sends a request built by sb_http_request and checks the body
 * the bundle computes from every module type: proof that real workerd
 * accepts what we generate.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "code.h"
#include "sb_capnp.h"
#include "sb_http.h"
#include "banned.h"

#define WORKERD_REL "node_modules/@cloudflare/workerd-linux-64/bin/workerd"

/* ---- helpers ------------------------------------------------------------ */

static const char *const config_head =
	"using Workerd = import \"/workerd/workerd.capnp\";\n"
	"const config :Workerd.Config = (\n"
	"  services = [\n"
	"    (name = \"main\", worker = .worker),\n"
	"    (name = \"deny-all\", network = (allow = [])),\n"
	"  ],\n"
	"  sockets = [ (name = \"http\", address = \"unix:/nonexistent\", http = (), service = \"main\") ],\n"
	");\n"
	"const worker :Workerd.Worker = (\n"
	"  modules = [\n";

/* wasm exporting add(i32, i32) -> i32 */
#define ADD_WASM_B64 "AGFzbQEAAAABBwFgAn9/AX8DAgEABwcBA2FkZAAACgkBBwAgACABags="

static const char *const bundle_json =
	"{\"main\": \"index.js\", \"modules\": ["
	" {\"name\": \"lib/util.js\", \"type\": \"esModule\","
	"  \"content\": \"export const twice = (x) => 2 * x;\"},"
	" {\"name\": \"index.js\", \"type\": \"esModule\", \"content\":"
	"  \"import wasm from 'add.wasm';\\n"
	"import txt from 'b.txt';\\n"
	"import bin from 'c.bin';\\n"
	"import cfg from 'd.json';\\n"
	"import { twice } from './lib/util.js';\\n"
	"export default { async fetch(req) {\\n"
	"  const inst = await WebAssembly.instantiate(wasm);\\n"
	"  const body = await req.text();\\n"
	"  return new Response(JSON.stringify({ body, sum: inst.exports.add(2, 3),"
	" twice: twice(21), txt, bin: new Uint8Array(bin).length, cfg }),"
	" { headers: { 'content-type': 'application/json' } });\\n"
	"} };\\n\"},"
	" {\"name\": \"d.json\", \"type\": \"json\", \"content\": \"{\\\"k\\\": [1, 2]}\"},"
	" {\"name\": \"c.bin\", \"type\": \"data\", \"content_base64\": \"AQD/\"},"
	" {\"name\": \"b.txt\", \"type\": \"text\", \"content\": \"some text\"},"
	" {\"name\": \"add.wasm\", \"type\": \"wasm\", \"content_base64\": \"" ADD_WASM_B64 "\"}"
	"]}";

static const char *field_of(enum code_module_type t)
{
	switch (t) {
	case CODE_ESMODULE: return "esModule";
	case CODE_WASM: return "wasm";
	case CODE_TEXT: return "text";
	case CODE_DATA: return "data";
	case CODE_JSON: return "json";
	}
	return "?";
}

static void parse_bundle(struct code *c)
{
	struct buf err = BUF_INIT;
	int r = code_from_bundle_json(c, bundle_json, strlen(bundle_json), NULL, &err);

	ck_assert_msg(r == CODE_OK, "bundle: %s", buf_cstr(&err));
	buf_release(&err);
}

/* The text between "  modules = [\n" and "  ],\n". */
static void modules_block(const struct buf *cfg, struct buf *out)
{
	const char *a = strstr(cfg->data, "  modules = [\n");
	const char *b;

	ck_assert_ptr_nonnull(a);
	a += strlen("  modules = [\n");
	b = strstr(a, "  ],\n");
	ck_assert_ptr_nonnull(b);
	buf_add(out, a, (size_t)(b - a));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- generated text ----------------------------------------------------- */

START_TEST(test_single_module_exact)
{
	struct code c;
	struct buf cfg = BUF_INIT, want = BUF_INIT;
	const char *js = "export default { fetch() { return new Response('hi'); } };";

	ck_assert_int_eq(code_from_js(&c, js, strlen(js), NULL, NULL), CODE_OK);
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), 0);
	buf_addstr(&want, config_head);
	buf_addstr(&want, "    (name = \"main.js\", esModule = embed \"m0\"),\n"
			  "  ],\n"
			  "  compatibilityDate = \"2023-03-07\",\n"
			  "  globalOutbound = \"deny-all\",\n"
			  ");\n");
	ck_assert_uint_eq(cfg.len, want.len);
	ck_assert_str_eq(cfg.data, want.data);
	/* appends: a second call adds the same text again */
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), 0);
	ck_assert_uint_eq(cfg.len, 2 * want.len);
	ck_assert_int_eq(memcmp(cfg.data + want.len, want.data, want.len), 0);
	code_release(&c);
	buf_release(&cfg);
	buf_release(&want);
}
END_TEST

START_TEST(test_bundle_modules)
{
	struct code c;
	struct buf cfg = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
	size_t main_idx = SIZE_MAX;

	parse_bundle(&c);
	ck_assert_uint_eq(c.n, 6);
	for (size_t i = 0; i < c.n; i++)
		if (!strcmp(c.mods[i].name, "index.js"))
			main_idx = i;
	/* the point of this bundle: main is not first in c->mods */
	ck_assert_uint_ne(main_idx, SIZE_MAX);
	ck_assert_uint_ne(main_idx, 0);

	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2024-01-15"), 0);
	/* main first, then every other module in c->mods order, each once */
	buf_addf(&want, "    (name = \"index.js\", esModule = embed \"m%zu\"),\n", main_idx);
	for (size_t i = 0; i < c.n; i++)
		if (i != main_idx)
			buf_addf(&want, "    (name = \"%s\", %s = embed \"m%zu\"),\n", c.mods[i].name,
				 field_of(c.mods[i].type), i);
	modules_block(&cfg, &got);
	ck_assert_str_eq(got.data, want.data);
	/* and the concrete facts, independent of the helper above */
	ck_assert_ptr_nonnull(strstr(got.data, "(name = \"add.wasm\", wasm = embed \"m0\"),\n"));
	ck_assert_ptr_nonnull(strstr(got.data, "(name = \"b.txt\", text = embed \"m1\"),\n"));
	ck_assert_ptr_nonnull(strstr(got.data, "(name = \"c.bin\", data = embed \"m2\"),\n"));
	ck_assert_ptr_nonnull(strstr(got.data, "(name = \"d.json\", json = embed \"m3\"),\n"));
	ck_assert_ptr_nonnull(strstr(got.data, "(name = \"index.js\", esModule = embed \"m4\"),\n"));
	ck_assert_ptr_nonnull(strstr(got.data, "(name = \"lib/util.js\", esModule = embed \"m5\"),\n"));
	ck_assert_int_eq(strncmp(got.data, "    (name = \"index.js\"", 22), 0);
	ck_assert_uint_eq(count(got.data, "embed"), 6);

	/* the rest of the config */
	ck_assert_int_eq(strncmp(cfg.data, config_head, strlen(config_head)), 0);
	ck_assert_ptr_nonnull(strstr(cfg.data, "\n  compatibilityDate = \"2024-01-15\",\n"));
	ck_assert_ptr_nonnull(strstr(cfg.data, "\n  globalOutbound = \"deny-all\",\n);\n"));
	code_release(&c);
	buf_release(&cfg);
	buf_release(&got);
	buf_release(&want);
}
END_TEST

START_TEST(test_isolation_facts)
{
	struct code c;
	struct buf cfg = BUF_INIT;

	parse_bundle(&c);
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), 0);
	/* exactly two services: the worker and a network that allows nothing */
	ck_assert_uint_eq(count(cfg.data, "network ="), 1);
	ck_assert_ptr_nonnull(strstr(cfg.data, "(name = \"deny-all\", network = (allow = [])),"));
	ck_assert_uint_eq(count(cfg.data, "globalOutbound"), 1);
	ck_assert_ptr_nonnull(strstr(cfg.data, "globalOutbound = \"deny-all\""));
	ck_assert_uint_eq(count(cfg.data, "worker ="), 1);
	/* nothing else reaches out of the worker */
	ck_assert_ptr_null(strstr(cfg.data, "disk"));
	ck_assert_ptr_null(strstr(cfg.data, "bindings"));
	ck_assert_ptr_null(strstr(cfg.data, "fromEnvironment"));
	ck_assert_ptr_null(strstr(cfg.data, "external"));
	ck_assert_ptr_null(strstr(cfg.data, "public"));
	ck_assert_uint_eq(count(cfg.data, "sockets ="), 1);
	/* module contents are embedded, never inlined */
	ck_assert_ptr_null(strstr(cfg.data, "some text"));
	ck_assert_ptr_null(strstr(cfg.data, "twice"));
	code_release(&c);
	buf_release(&cfg);
}
END_TEST

START_TEST(test_refuses_bad_main)
{
	struct code_module mods[2] = {
		{ (char *)"a.js", CODE_ESMODULE, (unsigned char *)"x", 1 },
		{ (char *)"m.wasm", CODE_WASM, (unsigned char *)"\0asm\1\0\0\0", 8 },
	};
	struct code c = { (char *)"missing.js", mods, 2 };
	struct buf cfg = BUF_INIT;

	/* main names no module */
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	ck_assert_uint_eq(cfg.len, 0);
	/* main is not an esModule */
	c.main = (char *)"m.wasm";
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	ck_assert_uint_eq(cfg.len, 0);
	mods[0].type = CODE_TEXT;
	c.main = (char *)"a.js";
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	mods[0].type = CODE_JSON;
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	mods[0].type = CODE_DATA;
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	/* an unknown module type anywhere */
	mods[0].type = CODE_ESMODULE;
	mods[1].type = (enum code_module_type)99;
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	ck_assert_uint_eq(cfg.len, 0);
	/* no modules at all */
	c.n = 0;
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), -1);
	ck_assert_uint_eq(cfg.len, 0);
	/* sanity: the same struct made valid is accepted */
	mods[1].type = CODE_WASM;
	c.n = 2;
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), 0);
	ck_assert_ptr_nonnull(strstr(cfg.data, "    (name = \"a.js\", esModule = embed \"m0\"),\n"
					       "    (name = \"m.wasm\", wasm = embed \"m1\"),\n"));
	buf_release(&cfg);
}
END_TEST

START_TEST(test_escaping)
{
	struct code_module mods[3] = {
		{ (char *)"q\"uote.js", CODE_ESMODULE, (unsigned char *)"x", 1 },
		{ (char *)"back\\slash.txt", CODE_TEXT, (unsigned char *)"y", 1 },
		{ (char *)"ctl\x01\n\x7f.bin", CODE_DATA, (unsigned char *)"z", 1 },
	};
	struct code c = { (char *)"q\"uote.js", mods, 3 };
	struct buf cfg = BUF_INIT, got = BUF_INIT;

	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023\"-03-07\\"), 0);
	modules_block(&cfg, &got);
	ck_assert_str_eq(got.data,
			 "    (name = \"q\\\"uote.js\", esModule = embed \"m0\"),\n"
			 "    (name = \"back\\\\slash.txt\", text = embed \"m1\"),\n"
			 "    (name = \"ctl\\x01\\x0a\\x7f.bin\", data = embed \"m2\"),\n");
	ck_assert_ptr_nonnull(strstr(cfg.data, "  compatibilityDate = \"2023\\\"-03-07\\\\\",\n"));
	/* no raw control byte made it into the config */
	for (size_t i = 0; i < cfg.len; i++)
		ck_assert_msg(cfg.data[i] == '\n' || ((unsigned char)cfg.data[i] >= 0x20 &&
						      (unsigned char)cfg.data[i] != 0x7f),
			      "raw byte 0x%02x at %zu", (unsigned char)cfg.data[i], i);
	buf_release(&cfg);
	buf_release(&got);
}
END_TEST

/* ---- the real workerd --------------------------------------------------- */

static char tmpdir[64];

static void workerd_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/oyster-test-capnp-XXXXXX");
	if (!mkdtemp(tmpdir))
		tmpdir[0] = '\0';
}

/* Unchecked fixture: runs in the parent, so it cleans up even after a failure. */
static void workerd_teardown(void)
{
	DIR *d;
	struct dirent *e;
	char path[512];

	if (!tmpdir[0])
		return;
	d = opendir(tmpdir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static const char *workerd_path(char *out, size_t n)
{
	const char *root = getenv("OYSTER_ROOT");

	snprintf(out, n, "%s/" WORKERD_REL, root && *root ? root : ".");
	return out;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_real_workerd_accepts)
{
	struct code c;
	struct buf cfg = BUF_INIT, req = BUF_INIT, resp = BUF_INIT, err = BUF_INIT;
	struct sb_http_response r;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[1024], wpath[PATH_MAX];
	const struct sb_header hdr[] = { { (char *)"Content-Type", (char *)"text/plain" } };
	enum sb_http_parse st = SB_HTTP_INCOMPLETE;
	int lfd, cfd, errp[2], status;
	size_t wpos = 0;
	long long deadline;
	pid_t pid;

	ck_assert_msg(tmpdir[0], "mkdtemp failed");
	/* absolute: the child changes into tmpdir before exec */
	ck_assert_ptr_nonnull(realpath(workerd_path(name, sizeof(name)), wpath));
	parse_bundle(&c);
	for (size_t i = 0; i < c.n; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		write_file(name, c.mods[i].data, c.mods[i].len);
	}
	ck_assert_int_eq(sb_capnp_config(&cfg, &c, "2023-03-07"), 0);
	write_file("config.capnp", cfg.data, cfg.len);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/http.sock", tmpdir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(pipe2(errp, O_CLOEXEC), 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = { (char *)"workerd", (char *)"serve", (char *)"config.capnp",
				 (char *)"--socket-fd", (char *)"http=3", NULL };
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		if (dup2(lfd, 3) < 0 || dup2(errp[1], 1) < 0 || dup2(errp[1], 2) < 0 ||
		    chdir(tmpdir) < 0)
			_exit(126);
		execv(wpath, argv);
		_exit(127);
	}
	close(errp[1]);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);

	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(cfd, 0);
	/* the listener exists already: this lands in its backlog at once */
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(sb_http_request(&req, "POST", "/", hdr, 1, "hello-from-test", 15), 0);

	sb_http_response_init(&r);
	deadline = now_ms() + 30000;
	while (st == SB_HTTP_INCOMPLETE && now_ms() < deadline) {
		struct pollfd pfd[2] = {
			{ cfd, (short)(POLLIN | (wpos < req.len ? POLLOUT : 0)), 0 },
			{ errp[0], POLLIN, 0 },
		};
		char chunk[4096];
		ssize_t n;

		if (poll(pfd, 2, 500) < 0 && errno != EINTR)
			ck_abort_msg("poll: %s", strerror(errno));
		if (pfd[0].revents & POLLOUT) {
			n = send(cfd, req.data + wpos, req.len - wpos, MSG_NOSIGNAL);
			if (n > 0)
				wpos += (size_t)n;
		}
		if (pfd[1].revents) {
			while ((n = read(errp[0], chunk, sizeof(chunk))) > 0)
				buf_add(&err, chunk, (size_t)n);
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int eof = 0;
			while ((n = read(cfd, chunk, sizeof(chunk))) > 0)
				buf_add(&resp, chunk, (size_t)n);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				eof = 1;
			st = sb_http_parse_response(buf_cstr(&resp), resp.len, eof, 1 << 20, &r);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = -1;
			/* keep what it said before dying, for the message below */
			while ((n = read(errp[0], chunk, sizeof(chunk))) > 0)
				buf_add(&err, chunk, (size_t)n);
			break;
		}
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ck_assert_msg(st == SB_HTTP_DONE, "workerd gave no response (parse %d); its output:\n%s", st,
		      buf_cstr(&err));
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(sb_http_header(&r, "content-type"), "application/json");
	ck_assert_str_eq(buf_cstr(&r.body), "{\"body\":\"hello-from-test\",\"sum\":5,\"twice\":42,"
					    "\"txt\":\"some text\",\"bin\":3,\"cfg\":{\"k\":[1,2]}}");
	close(cfd);
	close(lfd);
	close(errp[0]);
	sb_http_response_release(&r);
	code_release(&c);
	buf_release(&cfg);
	buf_release(&req);
	buf_release(&resp);
	buf_release(&err);
}
END_TEST

static Suite *sb_capnp_suite(void)
{
	Suite *s = suite_create("sb_capnp");
	TCase *tc = tcase_create("config");
	char wpath[1024];

	tcase_add_test(tc, test_single_module_exact);
	tcase_add_test(tc, test_bundle_modules);
	tcase_add_test(tc, test_isolation_facts);
	tcase_add_test(tc, test_refuses_bad_main);
	tcase_add_test(tc, test_escaping);
	suite_add_tcase(s, tc);

	if (access(workerd_path(wpath, sizeof(wpath)), X_OK) == 0) {
		TCase *w = tcase_create("workerd");
		tcase_set_timeout(w, 60);
		tcase_add_unchecked_fixture(w, workerd_setup, workerd_teardown);
		tcase_add_test(w, test_real_workerd_accepts);
		suite_add_tcase(s, w);
	} else {
		fprintf(stderr, "note: %s not found; skipping the real-workerd test\n", wpath);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sb_capnp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
