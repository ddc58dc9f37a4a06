/*
 * Tests for common/eth/eth_rpc.c: the Ethereum JSON-RPC client.
 *
 * Two peers:
 *  - a real anvil (tcase "anvil"), started once per test case by an
 *    unchecked fixture on a free loopback port and killed by its teardown
 *    (which runs in the runner process whatever the tests did; anvil also
 *    gets PR_SET_PDEATHSIG so it cannot outlive a crashed runner).
 *    Transactions are made with cast (send, mktx, --create of tiny init
 *    codes that emit a log or deploy a contract that always reverts).
 *  - a hostile HTTP server (tcase "hostile"), a forked child that answers
 *    the n-th request with the n-th canned reply of a script chosen by the
 *    test (the last one repeats) and counts requests in shared memory, so
 *    retries are asserted by the server's own count.  It can also stall,
 *    stream 100 MB, or send truncated or non-HTTP bytes.
 *
 * Timing bounds are loose enough for valgrind but tight enough to prove
 * that backoff happened (lower bounds) and that deadlines hold (upper).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "eth/eth_rpc.h"
#include "eth/keccak.h"
#include "banned.h"

#define ANVIL_DEFAULT "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
#define CAST_DEFAULT "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
#define DEV0_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV0_ADDR "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define DEAD_ADDR "000000000000000000000000000000000000dead"
#define TOPIC_HEX "feedfacecafebeef000000000000000000000000000000000000000000000001"
/* init code: mstore(0, 0x2a); log1(0, 32, TOPIC); stop -> no runtime code */
#define EMITTER_CODE "0x602a6000527f" TOPIC_HEX "60206000a100"
/* init code returning the runtime code 0x60006000fd: revert(0, 0) */
#define REVERTER_CODE "0x6460006000fd6000526005601bf3"

#define H64 "1111111111111111111111111111111111111111111111111111111111111111"
#define H64B "2222222222222222222222222222222222222222222222222222222222222222"
#define A40 "3333333333333333333333333333333333333333"

/* ---- helpers ---------------------------------------------------------- */

static void from_hex(const char *hex, unsigned char *out, size_t n)
{
	unsigned int v;

	if (hex[0] == '0' && hex[1] == 'x')
		hex += 2;
	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

static void opts_fast(struct eth_rpc_opts *o, const char *url)
{
	eth_rpc_opts_init(o);
	o->url = url;
	o->connect_timeout_ms = 2000;
	o->timeout_ms = 5000;
}

/* Run argv, capture stdout (trimmed); 0 if it exited 0. */
static int run_capture(const char *const argv[], char *out, size_t outsz)
{
	size_t got = 0;
	int p[2], status;
	uint64_t end = eth_rpc_now_ms() + 60000;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = eth_rpc_now_ms();
		ssize_t n;

		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			break;
		n = read(p[0], out + got, outsz - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == outsz - 1)
			break;
	}
	close(p[0]);
	out[got] = '\0';
	while (got && (out[got - 1] == '\n' || out[got - 1] == '\r' || out[got - 1] == ' '))
		out[--got] = '\0';
	if (eth_rpc_now_ms() >= end)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * In a forked child: die with the test process, whatever kills it.  The
 * parent may already be gone before prctl() runs (it can die right after
 * fork), so check afterwards as well.
 */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

/* ---- the anvil fixture -------------------------------------------------- */

static pid_t anvil_pid = -1;
static char anvil_url[64];

static const char *anvil_path(void)
{
	const char *p = getenv("OYSTER_ANVIL");
	return p ? p : ANVIL_DEFAULT;
}

static const char *cast_path(void)
{
	const char *p = getenv("OYSTER_CAST");
	return p ? p : CAST_DEFAULT;
}

static int anvil_try_start(void)
{
	struct eth_rpc_opts o;
	struct eth_rpc r;
	char port[16];
	uint64_t end, id = 0;
	int ready = 0;
	pid_t pid, parent = getpid();

	snprintf(port, sizeof(port), "%d", free_port());
	snprintf(anvil_url, sizeof(anvil_url), "http://127.0.0.1:%s", port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		die_with_parent(parent);
		dup2(fd, 0);
		dup2(fd, 1);
		execl(anvil_path(), "anvil", "--port", port, "--host", "127.0.0.1", "--silent",
		      "--chain-id", "31337", (char *)NULL);
		_exit(127);
	}
	anvil_pid = pid;
	eth_rpc_opts_init(&o);
	o.url = anvil_url;
	o.retries = 0;
	o.timeout_ms = 1000;
	if (eth_rpc_init(&r, &o) < 0)
		return -1;
	end = eth_rpc_now_ms() + 30000;
	while (eth_rpc_now_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid) { /* e.g. port taken meanwhile */
			anvil_pid = -1;
			break;
		}
		if (eth_rpc_chain_id(&r, &id) == 0 && id == 31337) {
			ready = 1;
			break;
		}
		usleep(50 * 1000);
	}
	eth_rpc_release(&r);
	/* Whoever answered must be our child: it must still be alive. */
	usleep(100 * 1000);
	if (ready && waitpid(pid, NULL, WNOHANG) == 0)
		return 0;
	if (anvil_pid > 0) {
		kill(anvil_pid, SIGKILL);
		waitpid(anvil_pid, NULL, 0);
		anvil_pid = -1;
	}
	return -1;
}

static void anvil_setup(void)
{
	for (int i = 0; i < 5; i++)
		if (anvil_try_start() == 0)
			return;
	ck_abort_msg("anvil (%s) did not start", anvil_path());
}

static void anvil_teardown(void)
{
	if (anvil_pid > 0) {
		kill(anvil_pid, SIGKILL);
		waitpid(anvil_pid, NULL, 0);
		anvil_pid = -1;
	}
}

static void anvil_open(struct eth_rpc *r)
{
	struct eth_rpc_opts o;

	opts_fast(&o, anvil_url);
	ck_assert_int_eq(eth_rpc_init(r, &o), 0);
}

/* cast send/mktx; prints the tx hash (or raw tx) in out. */
static void cast_run(const char *sub, const char *to_or_create, const char *arg, char *out,
		     size_t outsz)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = cast_path();
	argv[n++] = sub;
	if (!strcmp(sub, "send"))
		argv[n++] = "--async";
	argv[n++] = "--private-key";
	argv[n++] = DEV0_KEY;
	argv[n++] = "--rpc-url";
	argv[n++] = anvil_url;
	if (!strcmp(to_or_create, "--create")) {
		argv[n++] = "--create";
		argv[n++] = arg;
	} else {
		argv[n++] = to_or_create;
		argv[n++] = "--value";
		argv[n++] = arg;
	}
	argv[n] = NULL;
	ck_assert_msg(run_capture(argv, out, outsz) == 0, "cast %s failed: %s", sub, out);
}

static void cast_send_hash(const char *to_or_create, const char *arg, unsigned char hash[32])
{
	char out[256];

	cast_run("send", to_or_create, arg, out, sizeof(out));
	ck_assert_msg(strlen(out) == 66 && !strncmp(out, "0x", 2), "cast send printed [%s]", out);
	from_hex(out, hash, 32);
}

/* ---- anvil tests -------------------------------------------------------- */

/*
 * anvil mines right after accepting a transaction, but "accepted" (the hash
 * returned) comes before "mined": poll for the receipt, bounded.
 */
static void wait_receipt(struct eth_rpc *r, const unsigned char hash[32],
			 struct eth_rpc_receipt *rc)
{
	uint64_t end = eth_rpc_now_ms() + 15000;
	int got;

	while ((got = eth_rpc_get_transaction_receipt(r, hash, rc)) == 0 &&
	       eth_rpc_now_ms() < end)
		usleep(20 * 1000);
	ck_assert_int_eq(got, 1);
}

START_TEST(test_anvil_basics)
{
	struct eth_rpc r;
	struct eth_rpc_error err;
	struct eth_rpc_block b;
	struct eth_rpc_tx tx;
	struct eth_rpc_receipt rc;
	unsigned char h[32], h2[32], zero[32] = { 0 };
	uint64_t v, bn, base;
	json_t *res = NULL;

	anvil_open(&r);
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), 0);
	ck_assert_uint_eq(v, 31337);
	ck_assert_int_eq(eth_rpc_block_number(&r, &bn), 0);
	ck_assert_int_eq(eth_rpc_gas_price(&r, &v), 0);
	ck_assert_uint_gt(v, 0);
	ck_assert_int_eq(eth_rpc_max_priority_fee(&r, &v), 0);
	ck_assert_uint_gt(v, 0);
	ck_assert_int_eq(eth_rpc_get_block_base_fee(&r, "latest", &base), 0);
	ck_assert_uint_gt(base, 0);
	ck_assert_int_eq(eth_rpc_get_block_base_fee(&r, "pending", &v), 0);
	ck_assert_uint_gt(v, 0);

	/* the latest block by number: hash, and its parent by number */
	ck_assert_int_eq(eth_rpc_get_block(&r, "latest", 0, &b), 1);
	ck_assert_uint_ge(b.number, bn);
	ck_assert_int_eq(eth_rpc_get_block_hash(&r, b.number, h), 1);
	ck_assert(b.has_hash);
	ck_assert_mem_eq(h, b.hash, 32);
	ck_assert_mem_ne(h, zero, 32);
	if (b.number > 0) {
		ck_assert_int_eq(eth_rpc_get_block_hash(&r, b.number - 1, h2), 1);
		ck_assert_mem_eq(h2, b.parent_hash, 32);
	}
	/* a block that does not exist yet */
	ck_assert_int_eq(eth_rpc_get_block_hash(&r, b.number + 1000, h2), 0);

	/* unknown transaction: not found, not an error */
	for (int i = 0; i < 32; i++)
		h[i] = (unsigned char)(0x5a ^ i * 7);
	eth_rpc_tx_init(&tx);
	ck_assert_int_eq(eth_rpc_get_transaction_by_hash(&r, h, &tx), 0);
	ck_assert_int_eq(eth_rpc_get_transaction_receipt(&r, h, &rc), 0);
	eth_rpc_tx_release(&tx);

	/* a JSON-RPC error is the node's answer: one request, no retry */
	unsigned long before = r.requests;
	ck_assert_int_eq(eth_rpc_call(&r, "oyster_noSuchMethod", NULL, &res, &err),
			 ETH_RPC_E_REMOTE);
	ck_assert_ptr_null(res);
	ck_assert_int_eq(err.status, ETH_RPC_E_REMOTE);
	ck_assert_int_eq(err.code, -32601);
	ck_assert_uint_eq(err.attempts, 1);
	ck_assert_uint_eq(r.requests, before + 1);
	ck_assert_int_eq(err.http_status, 200);
	ck_assert_int_gt(strlen(err.message), 0);
	ck_assert_int_eq(eth_rpc_last_error(&r)->code, -32601);

	/* generic call with params */
	ck_assert_int_eq(eth_rpc_call(&r, "eth_getBalance",
				      json_pack("[s,s]", "0x" DEV0_ADDR, "latest"), &res, NULL), 0);
	ck_assert(json_is_string(res));
	json_decref(res);

	/* every call above went over one kept-alive connection */
	ck_assert_uint_eq(r.connects, 1);
	eth_rpc_release(&r);
}
END_TEST

START_TEST(test_anvil_send_and_fetch)
{
	struct eth_rpc r;
	struct eth_rpc_tx tx;
	struct eth_rpc_receipt rc;
	unsigned char hash[32], dev0[20], dead[20], bh[32];
	uint64_t n0, n1, gas;

	from_hex(DEV0_ADDR, dev0, 20);
	from_hex(DEAD_ADDR, dead, 20);
	anvil_open(&r);
	ck_assert_int_eq(eth_rpc_get_transaction_count(&r, dev0, "latest", &n0), 0);
	ck_assert_int_eq(eth_rpc_estimate_gas(&r, dev0, dead, NULL, 0, &gas), 0);
	ck_assert_uint_eq(gas, 21000);

	cast_send_hash("0x000000000000000000000000000000000000dEaD", "1", hash);
	wait_receipt(&r, hash, &rc);

	ck_assert_int_eq(eth_rpc_get_transaction_count(&r, dev0, NULL, &n1), 0);
	ck_assert_uint_eq(n1, n0 + 1);
	ck_assert_int_eq(eth_rpc_get_transaction_count(&r, dev0, "pending", &n1), 0);
	ck_assert_uint_eq(n1, n0 + 1);

	eth_rpc_tx_init(&tx);
	ck_assert_int_eq(eth_rpc_get_transaction_by_hash(&r, hash, &tx), 1);
	ck_assert_mem_eq(tx.hash, hash, 32);
	ck_assert_mem_eq(tx.from, dev0, 20);
	ck_assert(tx.has_to);
	ck_assert_mem_eq(tx.to, dead, 20);
	ck_assert_uint_eq(tx.input.len, 0);
	ck_assert_uint_eq(tx.nonce, n0);
	ck_assert(tx.has_block);
	ck_assert_uint_ge(tx.block_number, 1);

	ck_assert_int_eq(rc.status, 1);
	ck_assert_uint_eq(rc.gas_used, 21000);
	ck_assert_uint_gt(rc.effective_gas_price, 0);
	ck_assert_uint_eq(rc.block_number, tx.block_number);
	ck_assert(!rc.has_contract_address);
	ck_assert_int_eq(eth_rpc_get_block_hash(&r, rc.block_number, bh), 1);
	ck_assert_mem_eq(bh, rc.block_hash, 32);
	eth_rpc_tx_release(&tx);
	eth_rpc_release(&r);
}
END_TEST

START_TEST(test_anvil_raw_and_revert)
{
	struct eth_rpc r;
	struct eth_rpc_receipt rc;
	struct eth_rpc_tx tx;
	const struct eth_rpc_error *e;
	unsigned char hash[32], h2[32], dev0[20], *raw;
	char out[4096];
	uint64_t gas;
	size_t len;

	from_hex(DEV0_ADDR, dev0, 20);
	anvil_open(&r);

	/* a transaction signed by cast, sent by us */
	cast_run("mktx", "0x000000000000000000000000000000000000dEaD", "7", out, sizeof(out));
	ck_assert_msg(!strncmp(out, "0x", 2) && strlen(out) % 2 == 0, "mktx printed [%s]", out);
	len = (strlen(out) - 2) / 2;
	raw = malloc(len);
	ck_assert_ptr_nonnull(raw);
	from_hex(out, raw, len);
	ck_assert_int_eq(eth_rpc_send_raw_transaction(&r, raw, len, hash), 0);
	eth_keccak256(raw, len, h2);
	ck_assert_mem_eq(hash, h2, 32);
	wait_receipt(&r, hash, &rc);
	ck_assert_int_eq(rc.status, 1);

	/* the same again: the node refuses it (nonce too low / already known), no retry */
	ck_assert_int_eq(eth_rpc_send_raw_transaction(&r, raw, len, h2), ETH_RPC_E_REMOTE);
	e = eth_rpc_last_error(&r);
	ck_assert_uint_eq(e->attempts, 1);
	ck_assert_msg(strstr(e->message, "nonce") || strstr(e->message, "known"),
		      "message [%s]", e->message);
	free(raw);

	/* a contract that always reverts: estimation fails with the node's words */
	cast_send_hash("--create", REVERTER_CODE, hash);
	wait_receipt(&r, hash, &rc);
	ck_assert_int_eq(rc.status, 1);
	ck_assert(rc.has_contract_address);
	eth_rpc_tx_init(&tx);
	ck_assert_int_eq(eth_rpc_get_transaction_by_hash(&r, hash, &tx), 1);
	ck_assert(!tx.has_to);
	ck_assert_uint_eq(tx.input.len, (sizeof(REVERTER_CODE) - 3) / 2);
	ck_assert_int_eq((unsigned char)tx.input.data[0], 0x64);
	eth_rpc_tx_release(&tx);

	ck_assert_int_eq(eth_rpc_estimate_gas(&r, dev0, rc.contract_address, NULL, 0, &gas),
			 ETH_RPC_E_REMOTE);
	e = eth_rpc_last_error(&r);
	ck_assert_msg(strstr(e->message, "revert"), "message [%s]", e->message);
	ck_assert_uint_eq(e->attempts, 1);
	eth_rpc_release(&r);
}
END_TEST

START_TEST(test_anvil_logs)
{
	struct eth_rpc r, small;
	struct eth_rpc_opts o;
	struct eth_rpc_log_filter f;
	struct eth_rpc_log *logs;
	struct eth_rpc_receipt rc1, rc2;
	unsigned char h1[32], h2[32], topic[32], other[32], addr[1][20];
	const unsigned char (*topics)[32] = &topic, (*others)[32] = &other;
	size_t n;

	from_hex(TOPIC_HEX, topic, 32);
	memset(other, 0x77, 32);
	anvil_open(&r);

	/* the genesis block has no logs */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(logs);

	cast_send_hash("--create", EMITTER_CODE, h1);
	wait_receipt(&r, h1, &rc1);
	cast_send_hash("--create", EMITTER_CODE, h2);
	wait_receipt(&r, h2, &rc2);
	ck_assert(rc1.has_contract_address && rc2.has_contract_address);
	ck_assert_uint_lt(rc1.block_number, rc2.block_number);

	/* one block, no filter */
	f.from_block = f.to_block = rc1.block_number;
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(logs[0].address, rc1.contract_address, 20);
	ck_assert_uint_eq(logs[0].ntopics, 1);
	ck_assert_mem_eq(logs[0].topics[0], topic, 32);
	ck_assert_uint_eq(logs[0].data.len, 32);
	ck_assert_int_eq((unsigned char)logs[0].data.data[31], 0x2a);
	ck_assert_int_eq((unsigned char)logs[0].data.data[0], 0);
	ck_assert_uint_eq(logs[0].block_number, rc1.block_number);
	ck_assert_mem_eq(logs[0].block_hash, rc1.block_hash, 32);
	ck_assert_mem_eq(logs[0].tx_hash, h1, 32);
	ck_assert_int_eq(logs[0].removed, 0);
	eth_rpc_logs_free(logs, n);

	/* both blocks, filtered by the second contract's address and the topic */
	f.to_block = rc2.block_number;
	memcpy(addr[0], rc2.contract_address, 20);
	f.addresses = addr;
	f.naddr = 1;
	f.topics[0] = topics;
	f.ntopics[0] = 1;
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(logs[0].tx_hash, h2, 32);
	eth_rpc_logs_free(logs, n);

	/* any address: both logs, in chain order */
	f.naddr = 0;
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(logs[0].tx_hash, h1, 32);
	ck_assert_mem_eq(logs[1].tx_hash, h2, 32);
	eth_rpc_logs_free(logs, n);

	/* another topic: nothing */
	f.topics[0] = others;
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &n), 0);
	ck_assert_uint_eq(n, 0);

	/* more logs than allowed: refused, nothing returned */
	f.topics[0] = topics;
	opts_fast(&o, anvil_url);
	o.max_logs = 1;
	ck_assert_int_eq(eth_rpc_init(&small, &o), 0);
	ck_assert_int_eq(eth_rpc_get_logs(&small, &f, &logs, &n), ETH_RPC_E_REPLY);
	ck_assert_ptr_null(logs);
	ck_assert_uint_eq(n, 0);
	eth_rpc_release(&small);

	/* a reversed range is the caller's bug */
	f.from_block = f.to_block + 1;
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &n), ETH_RPC_E_INTERNAL);
	eth_rpc_release(&r);
}
END_TEST

/* ---- the hostile server ------------------------------------------------- */

enum kind {
	K_BODY,        /* status + JSON body, Content-Length, close */
	K_RAW,         /* bytes as given, then close */
	K_SLOW,        /* read the request, never answer */
	K_HUGE_STREAM, /* 200, no length, 100 MB of a JSON string until the peer quits */
	K_HUGE_CL,     /* the same announced with Content-Length */
	K_DEEP,        /* 100000 nested arrays in result */
};

struct canned {
	enum kind kind;
	int status;
	const char *text; /* "%ID%" is replaced by the request id */
};

#define BODY(s) { K_BODY, 200, s }
#define HUGE (100u << 20)

static pid_t srv_pid = -1;
static unsigned *srv_count;
static char srv_url[64];

static size_t read_request(int fd, char *req, size_t cap)
{
	size_t got = 0, need = 0;
	char *end;

	for (;;) {
		ssize_t n = read(fd, req + got, cap - 1 - got);

		if (n <= 0)
			return 0;
		got += (size_t)n;
		req[got] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (end && !need) {
			const char *cl = strcasestr(req, "\r\nContent-Length:");

			need = (size_t)(end + 4 - req) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (need && got >= need)
			return got;
		if (got == cap - 1)
			return 0;
	}
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Stream n bytes of '0' (a hex string's digits); stops when the peer leaves. */
static void send_zeros(int fd, size_t n)
{
	static char chunk[65536];

	memset(chunk, '0', sizeof(chunk));
	while (n) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		ssize_t w = send(fd, chunk, k, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		n -= (size_t)w;
	}
}

static void respond(int fd, const struct canned *k, long long id)
{
	struct buf body = BUF_INIT, out = BUF_INIT;
	char idstr[32];
	const char *p, *q;

	snprintf(idstr, sizeof(idstr), "%lld", id);
	for (p = k->text ? k->text : ""; (q = strstr(p, "%ID%")); p = q + 4) {
		buf_add(&body, p, (size_t)(q - p));
		buf_addstr(&body, idstr);
	}
	buf_addstr(&body, p);
	switch (k->kind) {
	case K_BODY:
		buf_addf(&out, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", k->status, body.len);
		buf_add(&out, body.data, body.len);
		send_all(fd, out.data, out.len);
		break;
	case K_RAW:
		send_all(fd, body.data, body.len);
		break;
	case K_SLOW:
		break;
	case K_HUGE_STREAM:
	case K_HUGE_CL:
		buf_addstr(&out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
		if (k->kind == K_HUGE_CL)
			buf_addf(&out, "Content-Length: %zu\r\n", (size_t)HUGE + 64);
		buf_addf(&out, "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%lld,"
			 "\"result\":\"0x", id);
		send_all(fd, out.data, out.len);
		send_zeros(fd, HUGE);
		send_all(fd, "\"}", 2);
		break;
	case K_DEEP:
		buf_addf(&out, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":", id);
		for (int i = 0; i < 100000; i++)
			buf_addch(&out, '[');
		for (int i = 0; i < 100000; i++)
			buf_addch(&out, ']');
		buf_addch(&out, '}');
		buf_reset(&body);
		buf_addf(&body, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", out.len);
		send_all(fd, body.data, body.len);
		send_all(fd, out.data, out.len);
		break;
	}
	buf_release(&body);
	buf_release(&out);
}

static void srv_main(int lfd, const struct canned *c, size_t n)
{
	static char req[65536];

	for (;;) {
		struct timeval tv = { .tv_sec = 10 };
		int fd = accept(lfd, NULL, NULL);
		const struct canned *k;
		const char *idp;
		unsigned i;

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (!read_request(fd, req, sizeof(req))) {
			close(fd);
			continue;
		}
		i = __atomic_fetch_add(srv_count, 1, __ATOMIC_SEQ_CST);
		k = &c[i < n ? i : n - 1];
		idp = strstr(req, "\"id\":");
		respond(fd, k, idp ? strtoll(idp + 5, NULL, 10) : -1);
		if (k->kind != K_SLOW) /* a stalled one stays open: the client must time out */
			close(fd);
	}
}

static void srv_start(const struct canned *c, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t parent = getpid();

	ck_assert_int_ge(lfd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 64), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	snprintf(srv_url, sizeof(srv_url), "http://127.0.0.1:%d/rpc/SECRETKEY", ntohs(a.sin_port));
	srv_count = mmap(NULL, sizeof(*srv_count), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(srv_count, MAP_FAILED);
	*srv_count = 0;
	srv_pid = fork();
	ck_assert_int_ge(srv_pid, 0);
	if (srv_pid == 0) {
		die_with_parent(parent);
		srv_main(lfd, c, n);
		_exit(0);
	}
	close(lfd);
}

static unsigned srv_requests(void)
{
	return __atomic_load_n(srv_count, __ATOMIC_SEQ_CST);
}

static void srv_stop(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGKILL);
		waitpid(srv_pid, NULL, 0);
		srv_pid = -1;
	}
	if (srv_count && srv_count != MAP_FAILED)
		munmap(srv_count, sizeof(*srv_count));
	srv_count = NULL;
}

static void srv_open(struct eth_rpc *r, unsigned retries)
{
	struct eth_rpc_opts o;

	opts_fast(&o, srv_url);
	o.retries = retries;
	ck_assert_int_eq(eth_rpc_init(r, &o), 0);
}

/* ---- hostile tests ------------------------------------------------------ */

START_TEST(test_reply_parse)
{
	struct eth_rpc_error e;
	json_t *res;
	const char *s;

	s = "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":3,\"message\":\"execution reverted: "
	    "no\",\"data\":\"0x08c379a0\"}}";
	ck_assert_int_eq(eth_rpc_reply_parse(s, strlen(s), 7, &res, &e), ETH_RPC_E_REMOTE);
	ck_assert_ptr_null(res);
	ck_assert_int_eq(e.code, 3);
	ck_assert_str_eq(e.message, "execution reverted: no");
	ck_assert_str_eq(e.data, "0x08c379a0");

	/* data that is not a string is not kept */
	memset(&e, 0, sizeof(e));
	s = "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"m\",\"data\":{}}}";
	ck_assert_int_eq(eth_rpc_reply_parse(s, strlen(s), 1, &res, &e), ETH_RPC_E_REMOTE);
	ck_assert_str_eq(e.data, "");

	s = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}";
	ck_assert_int_eq(eth_rpc_reply_parse(s, strlen(s), 1, &res, &e), 0);
	ck_assert(json_is_null(res));
	json_decref(res);

	/* the length is the truth, not a NUL */
	s = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}garbage";
	ck_assert_int_eq(eth_rpc_reply_parse(s, strlen(s) - 7, 1, &res, &e), 0);
	json_decref(res);
	ck_assert_int_eq(eth_rpc_reply_parse(s, strlen(s), 1, &res, &e), ETH_RPC_E_REPLY);

	const char *bad[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1.5,\"message\":\"m\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":1}",
		"{\"jsonrpc\":2.0,\"id\":1,\"result\":1}",
		"\"just a string\"",
		"null",
		"",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xff\xfe\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		res = NULL;
		ck_assert_msg(eth_rpc_reply_parse(bad[i], strlen(bad[i]), 1, &res, &e) ==
			      ETH_RPC_E_REPLY, "accepted [%s]", bad[i]);
		ck_assert_ptr_null(res);
	}

	/* depth: 64 levels pass, 65 do not; brackets inside strings do not count */
	struct buf b = BUF_INIT;
	for (int depth = 63; depth <= 64; depth++) {
		buf_reset(&b);
		buf_addstr(&b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":");
		for (int i = 0; i < depth; i++)
			buf_addch(&b, '[');
		buf_addstr(&b, "\"[[[[{{{{\\\"[[\"");
		for (int i = 0; i < depth; i++)
			buf_addch(&b, ']');
		buf_addch(&b, '}');
		int rc = eth_rpc_reply_parse(b.data, b.len, 1, &res, &e);
		ck_assert_int_eq(rc, depth == 63 ? 0 : ETH_RPC_E_REPLY);
		json_decref(res);
	}
	ck_assert_ptr_nonnull(strstr(e.message, "deeper"));
	buf_release(&b);
}
END_TEST

START_TEST(test_bad_envelopes)
{
	static const struct canned script[] = {
		BODY("hello, not json"),
		BODY("[{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\"}]"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":999999,\"result\":\"0x1\"}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":\"%ID%\",\"result\":\"0x1\"}"),
		BODY("{\"jsonrpc\":\"1.0\",\"id\":%ID%,\"result\":\"0x1\"}"),
		BODY("{\"id\":%ID%,\"result\":\"0x1\"}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\","
		     "\"error\":{\"code\":1,\"message\":\"m\"}}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\",\"result\":\"0x2\"}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":1e400}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":123456789012345678901234567890}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"a\\u0000b\"}"),
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x1\"} trailing"),
		BODY(""),
		{ K_DEEP, 200, NULL },
		/* and a good one: the script and the ids were in step throughout */
		BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x7a69\"}"),
	};
	const size_t n = sizeof(script) / sizeof(script[0]);
	struct eth_rpc r;
	struct eth_rpc_error e;
	json_t *res;
	uint64_t t0;

	srv_start(script, n);
	srv_open(&r, 3);
	for (size_t i = 0; i + 1 < n; i++) {
		res = NULL;
		t0 = eth_rpc_now_ms();
		ck_assert_msg(eth_rpc_call(&r, "eth_chainId", NULL, &res, &e) == ETH_RPC_E_REPLY,
			      "reply %zu accepted", i);
		ck_assert_ptr_null(res);
		ck_assert_uint_eq(e.attempts, 1); /* malformed is not retried */
		ck_assert_uint_eq(srv_requests(), i + 1);
		ck_assert_uint_lt(eth_rpc_now_ms() - t0, 3000);
		if (script[i].kind == K_DEEP)
			ck_assert_ptr_nonnull(strstr(e.message, "deeper"));
	}
	ck_assert_int_eq(eth_rpc_call(&r, "eth_chainId", NULL, &res, &e), 0);
	ck_assert_str_eq(json_string_value(res), "0x7a69");
	json_decref(res);
	ck_assert_uint_eq(srv_requests(), n);
	ck_assert_uint_eq(r.requests, n);
	eth_rpc_release(&r);
	srv_stop();
}
END_TEST

#define RES(s) BODY("{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":" s "}")

START_TEST(test_bad_quantities)
{
	static const struct canned script[] = {
		RES("31337"),
		RES("\"0xZZ\""),
		RES("\"0x" H64 "111111\""), /* 70 digits */
		RES("\"0x01\""),
		RES("\"0x\""),
		RES("\"7a69\""),
		RES("\"0X7a69\""),
		RES("\" 0x7a69\""),
		RES("\"0x10000000000000000\""),
		RES("null"),
		RES("[\"0x1\"]"),
		RES("\"0x-1\""),
		/* good ones */
		RES("\"0xffffffffffffffff\""),
		RES("\"0x0\""),
		RES("\"0x7A69\""),
	};
	const size_t n = sizeof(script) / sizeof(script[0]), ngood = 3;
	const uint64_t good[] = { UINT64_MAX, 0, 31337 };
	struct eth_rpc r;
	uint64_t v;

	srv_start(script, n);
	srv_open(&r, 3);
	for (size_t i = 0; i < n - ngood; i++) {
		v = 12345;
		ck_assert_msg(eth_rpc_chain_id(&r, &v) == ETH_RPC_E_REPLY, "reply %zu accepted", i);
		ck_assert_uint_eq(v, 12345);
		ck_assert_int_eq(eth_rpc_last_error(&r)->status, ETH_RPC_E_REPLY);
	}
	for (size_t i = 0; i < ngood; i++) {
		ck_assert_int_eq(eth_rpc_chain_id(&r, &v), 0);
		ck_assert_uint_eq(v, good[i]);
	}
	ck_assert_uint_eq(srv_requests(), n);
	eth_rpc_release(&r);
	srv_stop();
}
END_TEST

#define TX(hash, from, to, input) \
	RES("{\"hash\":\"0x" hash "\",\"from\":\"0x" from "\",\"to\":" to \
	    ",\"nonce\":\"0x5\",\"input\":\"" input "\",\"blockNumber\":null}")
#define RCPT(hash, status) \
	RES("{\"transactionHash\":\"0x" hash "\",\"status\":\"" status "\",\"blockNumber\":" \
	    "\"0x9\",\"blockHash\":\"0x" H64B "\",\"gasUsed\":\"0x5208\"}")
#define LOGJ(block, addr, topics) \
	"{\"address\":\"0x" addr "\",\"topics\":[" topics "],\"data\":\"0x\",\"blockNumber\":\"" \
	block "\",\"blockHash\":\"0x" H64 "\",\"transactionHash\":\"0x" H64B "\"," \
	"\"transactionIndex\":\"0x0\",\"logIndex\":\"0x1\",\"removed\":true}"

START_TEST(test_bad_objects)
{
	static const struct canned script[] = {
		/* getTransactionByHash */
		TX(H64B, A40, "null", "0x"),                   /* another transaction */
		TX(H64, A40 "33", "null", "0x"),               /* 21-byte from */
		TX(H64, A40, "\"0x1234\"", "0x"),              /* 2-byte to */
		TX(H64, A40, "null", "0x123"),                 /* odd input */
		TX(H64, A40, "null", "0xgg"),                  /* not hex */
		TX(H64, A40, "null", "1234"),                  /* no prefix */
		RES("\"0x" H64 "\""),                          /* not an object */
		TX(H64, A40, "\"0x" A40 "\"", "0x00ff10"),     /* good, pending */
		TX(H64, A40, "null", "0x"),                    /* good, creation */
		/* receipts */
		RCPT(H64, "0x2"),
		RCPT(H64B, "0x1"),
		RCPT(H64, "0x1"),
		/* sendRawTransaction: a hash that is not keccak(raw) */
		RES("\"0x" H64 "\""),
		/* getLogs over [5, 6], address A40, topic H64 */
		RES("[" LOGJ("0x7", A40, "\"0x" H64 "\"") "]"),
		RES("[" LOGJ("0x5", "4444444444444444444444444444444444444444", "\"0x" H64 "\"") "]"),
		RES("[" LOGJ("0x5", A40, "\"0x" H64B "\"") "]"),
		RES("[" LOGJ("0x5", A40, "") "]"),
		RES("[" LOGJ("0x5", A40, "\"0x" H64 "\",\"0x" H64 "\",\"0x" H64 "\",\"0x" H64
			    "\",\"0x" H64 "\"") "]"),
		RES("{}"),
		RES("[" LOGJ("0x5", A40, "\"0x" H64 "\"") "," LOGJ("0x6", A40, "\"0x" H64 "\",\"0x"
			H64B "\"") "]"),
	};
	const size_t n = sizeof(script) / sizeof(script[0]);
	static const unsigned char raw[] = { 0x02, 0xc0 };
	unsigned char h[32], addr[1][20], topic[32], out[32];
	const unsigned char (*topics)[32] = &topic;
	struct eth_rpc_log_filter f;
	struct eth_rpc_log *logs;
	struct eth_rpc_receipt rc;
	struct eth_rpc_tx tx;
	struct eth_rpc r;
	size_t nlogs;

	from_hex(H64, h, 32);
	from_hex(A40, addr[0], 20);
	from_hex(H64, topic, 32);
	srv_start(script, n);
	srv_open(&r, 3);
	eth_rpc_tx_init(&tx);
	for (int i = 0; i < 7; i++)
		ck_assert_msg(eth_rpc_get_transaction_by_hash(&r, h, &tx) == ETH_RPC_E_REPLY,
			      "tx reply %d accepted", i);
	ck_assert_uint_eq(tx.input.len, 0);
	ck_assert_int_eq(eth_rpc_get_transaction_by_hash(&r, h, &tx), 1);
	ck_assert(tx.has_to && !tx.has_block);
	ck_assert_uint_eq(tx.nonce, 5);
	ck_assert_uint_eq(tx.input.len, 3);
	ck_assert_mem_eq(tx.input.data, "\x00\xff\x10", 3);
	ck_assert_int_eq(eth_rpc_get_transaction_by_hash(&r, h, &tx), 1);
	ck_assert(!tx.has_to);
	ck_assert_uint_eq(tx.input.len, 0);
	eth_rpc_tx_release(&tx);

	ck_assert_int_eq(eth_rpc_get_transaction_receipt(&r, h, &rc), ETH_RPC_E_REPLY);
	ck_assert_int_eq(eth_rpc_get_transaction_receipt(&r, h, &rc), ETH_RPC_E_REPLY);
	ck_assert_int_eq(eth_rpc_get_transaction_receipt(&r, h, &rc), 1);
	ck_assert_int_eq(rc.status, 1);
	ck_assert_uint_eq(rc.gas_used, 21000);
	ck_assert_uint_eq(rc.effective_gas_price, 0);

	ck_assert_int_eq(eth_rpc_send_raw_transaction(&r, raw, sizeof(raw), out), ETH_RPC_E_REPLY);

	memset(&f, 0, sizeof(f));
	f.from_block = 5;
	f.to_block = 6;
	f.addresses = addr;
	f.naddr = 1;
	f.topics[0] = topics;
	f.ntopics[0] = 1;
	for (int i = 0; i < 6; i++) {
		logs = (void *)1;
		ck_assert_msg(eth_rpc_get_logs(&r, &f, &logs, &nlogs) == ETH_RPC_E_REPLY,
			      "logs reply %d accepted", i);
		ck_assert_ptr_null(logs);
	}
	ck_assert_int_eq(eth_rpc_get_logs(&r, &f, &logs, &nlogs), 0);
	ck_assert_uint_eq(nlogs, 2);
	ck_assert_int_eq(logs[0].removed, 1);
	ck_assert_uint_eq(logs[0].block_number, 5);
	ck_assert_uint_eq(logs[0].log_index, 1);
	ck_assert_uint_eq(logs[1].ntopics, 2);
	ck_assert_uint_eq(logs[1].data.len, 0);
	eth_rpc_logs_free(logs, nlogs);
	ck_assert_uint_eq(srv_requests(), n);
	eth_rpc_release(&r);
	srv_stop();
}
END_TEST

/* 100 MB replies: refused at max_response, quickly, without the memory. */
START_TEST(test_huge_reply)
{
	static const struct canned script[] = {
		{ K_HUGE_STREAM, 200, NULL },
		{ K_HUGE_CL, 200, NULL },
		{ K_HUGE_STREAM, 200, NULL },
	};
	struct eth_rpc_opts o;
	struct eth_rpc r, big;
	struct eth_rpc_error e;
	json_t *res = NULL;
	long rss0, rss1;
	uint64_t t0;

	srv_start(script, 3);
	opts_fast(&o, srv_url);
	o.max_response = 1u << 20;
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);
	rss0 = maxrss_kb();
	t0 = eth_rpc_now_ms();
	ck_assert_int_eq(eth_rpc_call(&r, "eth_chainId", NULL, &res, &e), ETH_RPC_E_REPLY);
	ck_assert_ptr_nonnull(strstr(e.message, "larger than"));
	ck_assert_uint_eq(e.attempts, 1);
	ck_assert_int_eq(eth_rpc_call(&r, "eth_chainId", NULL, &res, &e), ETH_RPC_E_REPLY);
	ck_assert_uint_eq(e.attempts, 1);
	ck_assert_ptr_null(res);
	ck_assert_uint_lt(eth_rpc_now_ms() - t0, 10000);
	rss1 = maxrss_kb();
	ck_assert_msg(rss1 - rss0 < 24 * 1024, "peak RSS grew by %ld KiB", rss1 - rss0);
	eth_rpc_release(&r);

	/* the default 16 MiB bound: still far below 100 MB */
	opts_fast(&o, srv_url);
	ck_assert_int_eq(eth_rpc_init(&big, &o), 0);
	t0 = eth_rpc_now_ms();
	ck_assert_int_eq(eth_rpc_call(&big, "eth_chainId", NULL, &res, &e), ETH_RPC_E_REPLY);
	ck_assert_uint_lt(eth_rpc_now_ms() - t0, 30000);
	rss1 = maxrss_kb();
	ck_assert_msg(rss1 - rss0 < 80 * 1024, "peak RSS grew by %ld KiB", rss1 - rss0);
	/* the oversized reply buffer was not kept */
	ck_assert_uint_le(big.resp.cap, 1u << 20);
	ck_assert_uint_eq(srv_requests(), 3);
	eth_rpc_release(&big);
	srv_stop();
}
END_TEST

START_TEST(test_slow_server)
{
	static const struct canned script[] = { { K_SLOW, 0, NULL } };
	struct eth_rpc_opts o;
	struct eth_rpc r;
	struct eth_rpc_error e;
	json_t *res = NULL;
	uint64_t t0, dt;

	srv_start(script, 1);
	opts_fast(&o, srv_url);
	o.timeout_ms = 300;
	o.retries = 2;
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);

	/* 3 attempts of 300 ms, backoffs in [50,100] + [100,200] */
	t0 = eth_rpc_now_ms();
	ck_assert_int_eq(eth_rpc_call(&r, "eth_chainId", NULL, &res, &e), ETH_RPC_E_TRANSPORT);
	dt = eth_rpc_now_ms() - t0;
	ck_assert_int_eq(e.curl_code, 28 /* CURLE_OPERATION_TIMEDOUT */);
	ck_assert_uint_eq(e.attempts, 3);
	ck_assert_int_eq(e.deadline, 0);
	ck_assert_uint_eq(srv_requests(), 3);
	ck_assert_msg(dt >= 1040 && dt < 4000, "took %" PRIu64 " ms", dt);

	/*
	 * An overall deadline cuts the attempt's own timeout short and leaves
	 * no time for retries: 500 ms, not 11 x 1000 ms.
	 */
	eth_rpc_release(&r);
	o.retries = 10;
	o.timeout_ms = 1000;
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);
	t0 = eth_rpc_now_ms();
	ck_assert_int_eq(eth_rpc_call_until(&r, "eth_chainId", NULL, t0 + 500, &res, &e),
			 ETH_RPC_E_TRANSPORT);
	dt = eth_rpc_now_ms() - t0;
	ck_assert_int_eq(e.deadline, 1);
	ck_assert_uint_eq(e.attempts, 1);
	ck_assert_msg(dt >= 490 && dt < 900, "took %" PRIu64 " ms", dt);

	/* the typed helpers follow the handle's deadline; a past one sends nothing */
	unsigned before = srv_requests();
	uint64_t v;
	eth_rpc_set_deadline(&r, eth_rpc_now_ms() - 1);
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	ck_assert_uint_eq(eth_rpc_last_error(&r)->attempts, 0);
	ck_assert_int_eq(eth_rpc_last_error(&r)->deadline, 1);
	ck_assert_uint_eq(srv_requests(), before);
	eth_rpc_release(&r);
	srv_stop();
}
END_TEST

START_TEST(test_retry_statuses)
{
	static const struct canned script[] = {
		/* 503, 502 then success */
		{ K_BODY, 503, "busy" },
		{ K_BODY, 502, "" },
		RES("\"0x7a69\""),
		/* 429 four times: given up */
		{ K_BODY, 429, "slow down" },
		{ K_BODY, 429, "slow down" },
		{ K_BODY, 429, "slow down" },
		{ K_BODY, 429, "slow down" },
		/* 429 with Retry-After: 1, then success */
		{ K_RAW, 0, "HTTP/1.1 429 Too Many\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
			    "Connection: close\r\n\r\n" },
		RES("\"0x1\""),
		/* a 404 is not retried; a 400 carrying a JSON-RPC error is that error */
		{ K_BODY, 404, "no" },
		{ K_BODY, 400, "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"error\":{\"code\":-32602,"
			       "\"message\":\"invalid params\"}}" },
		/* a redirect (here to a file) is not followed */
		{ K_RAW, 0, "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n" },
		RES("\"0x2\""),
	};
	const size_t n = sizeof(script) / sizeof(script[0]);
	struct eth_rpc r;
	const struct eth_rpc_error *e;
	uint64_t v, t0, dt;

	srv_start(script, n);
	srv_open(&r, 3);
	e = eth_rpc_last_error(&r);
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), 0);
	ck_assert_uint_eq(v, 31337);
	ck_assert_uint_eq(e->attempts, 3);
	ck_assert_uint_eq(srv_requests(), 3);

	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	ck_assert_int_eq(e->http_status, 429);
	ck_assert_uint_eq(e->attempts, 4);
	ck_assert_uint_eq(srv_requests(), 7);

	t0 = eth_rpc_now_ms();
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), 0);
	dt = eth_rpc_now_ms() - t0;
	ck_assert_uint_eq(v, 1);
	ck_assert_msg(dt >= 990, "Retry-After ignored: %" PRIu64 " ms", dt);

	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	ck_assert_int_eq(e->http_status, 404);
	ck_assert_uint_eq(e->attempts, 1);
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_REMOTE);
	ck_assert_int_eq(e->code, -32602);
	ck_assert_str_eq(e->message, "invalid params");
	ck_assert_int_eq(e->http_status, 400);
	ck_assert_uint_eq(e->attempts, 1);
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	ck_assert_int_eq(e->http_status, 302);
	ck_assert_uint_eq(e->attempts, 1);
	ck_assert_uint_eq(srv_requests(), 12);
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), 0);
	ck_assert_uint_eq(v, 2);
	eth_rpc_release(&r);
	srv_stop();
}
END_TEST

START_TEST(test_truncated_and_garbage)
{
	static const struct canned script[] = {
		{ K_RAW, 0, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
			    "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"res" },
		{ K_RAW, 0, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
			    "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"res" },
		{ K_RAW, 0, "SSH-2.0-OpenSSH_9.2\r\n\r\n" },
		{ K_RAW, 0, "" },
		{ K_RAW, 0, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
			    "{\"jsonrpc\":\"2.0\",\"id\":%ID%,\"result\":\"0x3\"}" },
	};
	struct eth_rpc r;
	const struct eth_rpc_error *e;
	uint64_t v;

	srv_start(script, 5);
	srv_open(&r, 1);
	e = eth_rpc_last_error(&r);
	/* truncated body: a transport failure, retried, then given up */
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	ck_assert_int_eq(e->curl_code, 18 /* CURLE_PARTIAL_FILE */);
	ck_assert_uint_eq(e->attempts, 2);
	/* not HTTP, then an empty reply: also transport failures */
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	ck_assert_uint_eq(e->attempts, 2);
	ck_assert_uint_eq(srv_requests(), 4);
	/* body delimited by close, no length: fine */
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), 0);
	ck_assert_uint_eq(v, 3);
	eth_rpc_release(&r);
	srv_stop();
}
END_TEST

START_TEST(test_connection_refused)
{
	struct eth_rpc_opts o;
	struct eth_rpc r;
	char url[64];
	uint64_t t0, dt, v;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	opts_fast(&o, url);
	ck_assert_uint_eq(o.retries, 3);
	ck_assert_uint_eq(o.backoff_ms, 100);
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);
	t0 = eth_rpc_now_ms();
	ck_assert_int_eq(eth_rpc_chain_id(&r, &v), ETH_RPC_E_TRANSPORT);
	dt = eth_rpc_now_ms() - t0;
	ck_assert_int_eq(eth_rpc_last_error(&r)->curl_code, 7 /* CURLE_COULDNT_CONNECT */);
	ck_assert_uint_eq(eth_rpc_last_error(&r)->attempts, 4);
	ck_assert_uint_eq(r.requests, 4);
	/* backoffs in [50,100] + [100,200] + [200,400] */
	ck_assert_msg(dt >= 350 && dt < 2500, "took %" PRIu64 " ms", dt);
	eth_rpc_release(&r);
}
END_TEST

START_TEST(test_bad_urls)
{
	static const char *const bad[] = {
		"file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/",
		"dict://127.0.0.1:2628/", "ldap://127.0.0.1/", "scp://127.0.0.1/x",
		"127.0.0.1:8545", "", "javascript:alert(1)", "http://", "nosuch://x/",
	};
	struct eth_rpc_opts o;
	struct eth_rpc r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		opts_fast(&o, bad[i]);
		ck_assert_msg(eth_rpc_init(&r, &o) == -1, "accepted %s", bad[i]);
		eth_rpc_release(&r); /* harmless after a failed init */
	}
	opts_fast(&o, NULL);
	ck_assert_int_eq(eth_rpc_init(&r, &o), -1);
	ck_assert_int_eq(eth_rpc_init(&r, NULL), -1);

	/* options out of bounds */
	opts_fast(&o, "http://127.0.0.1:1");
	o.max_response = 10;
	ck_assert_int_eq(eth_rpc_init(&r, &o), -1);
	opts_fast(&o, "http://127.0.0.1:1");
	o.timeout_ms = 0;
	ck_assert_int_eq(eth_rpc_init(&r, &o), -1);
	opts_fast(&o, "http://127.0.0.1:1");
	o.backoff_max_ms = 10;
	ck_assert_int_eq(eth_rpc_init(&r, &o), -1);

	/* good ones; the loggable endpoint carries no credentials or path */
	opts_fast(&o, "HTTPS://user:pw@node.example:8443/v3/APIKEY?x=1");
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);
	ck_assert_ptr_null(strstr(r.endpoint, "APIKEY"));
	ck_assert_ptr_null(strstr(r.endpoint, "pw"));
	ck_assert_ptr_nonnull(strstr(r.endpoint, "node.example:8443"));
	eth_rpc_release(&r);
	opts_fast(&o, "http://localhost");
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);
	ck_assert_str_eq(r.endpoint, "http://localhost:80");
	eth_rpc_release(&r);
}
END_TEST

/* A handle must not be used across fork: the child is refused, offline. */
START_TEST(test_fork_guard)
{
	struct eth_rpc r;
	struct eth_rpc_opts o;
	int status;
	pid_t pid;

	opts_fast(&o, "http://127.0.0.1:1");
	ck_assert_int_eq(eth_rpc_init(&r, &o), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint64_t v;
		int rc = eth_rpc_chain_id(&r, &v);

		_exit(rc == ETH_RPC_E_INTERNAL && r.requests == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	eth_rpc_release(&r);
}
END_TEST

static Suite *eth_rpc_suite(void)
{
	Suite *s = suite_create("eth_rpc");
	TCase *tc = tcase_create("hostile");
	TCase *ta = tcase_create("anvil");

	tcase_add_checked_fixture(tc, NULL, srv_stop);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_reply_parse);
	tcase_add_test(tc, test_bad_envelopes);
	tcase_add_test(tc, test_bad_quantities);
	tcase_add_test(tc, test_bad_objects);
	tcase_add_test(tc, test_huge_reply);
	tcase_add_test(tc, test_slow_server);
	tcase_add_test(tc, test_retry_statuses);
	tcase_add_test(tc, test_truncated_and_garbage);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_bad_urls);
	tcase_add_test(tc, test_fork_guard);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(ta, anvil_setup, anvil_teardown);
	tcase_set_timeout(ta, 300);
	tcase_add_test(ta, test_anvil_basics);
	tcase_add_test(ta, test_anvil_send_and_fetch);
	tcase_add_test(ta, test_anvil_raw_and_revert);
	tcase_add_test(ta, test_anvil_logs);
	suite_add_tcase(s, ta);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(eth_rpc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
