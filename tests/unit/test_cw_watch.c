/*
 * Tests for chain-watcher/cw_watch.c: the log watcher.
 *
 * Two kinds of tests:
 *  - "apply" (no chain): synthetic logs fed to cw_watch_apply_log, for what
 *    a real chain cannot produce: removed logs, logs from the wrong
 *    contract, malformed or oversized events, a job that selects us while
 *    our view says draining/deregistered (our contracts never select a
 *    draining executor, so 'skipped' cannot be produced on chain), and the
 *    executor status "as of" each log.
 *  - "anvil": each test gets a fresh anvil on a free loopback port with our
 *    contracts deployed by scripts/deploy-contracts.sh (about 0.5 s), and
 *    drives it with eth_sendTransaction from anvil's unlocked dev accounts
 *    (1 owns the executors, 2 sends outputs, 3 creates jobs); registration
 *    and output signatures are made with our toolkit (eth_eip712 +
 *    eth_sign_digest) and test enclave keys.  Reorgs use anvil_reorg (same
 *    height, replacement blocks with chosen transactions) and
 *    evm_snapshot/evm_revert (a shorter chain).  anvil is killed by the
 *    teardown, by an atexit handler in the test process (check's fork mode
 *    skips the teardown after a failure) and by PR_SET_PDEATHSIG.
 *
 * The whole file runs in about 6 s (11 s under valgrind, which does not
 * trace anvil or cast), so nothing is skipped under valgrind.  Set
 * CW_WATCH_TEST_LOGS=1 to see the watcher's log lines.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "cw_watch.h"
#include "db.h"
#include "log.h"
#include "eth/eth_abi.h"
#include "eth/eth_eip712.h"
#include "eth/eth_hex.h"
#include "eth/eth_key.h"
#include "eth/eth_rpc.h"
#include "eth/eth_u256.h"
#include "banned.h"

#define ANVIL_DEFAULT "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
#define CAST_DEFAULT "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
#define DEPLOY "scripts/deploy-contracts.sh"
#define DEV0_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV1_ADDR "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" /* node owner */
#define DEV2_ADDR "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" /* sends outputs */
#define DEV3_ADDR "0x90f79bf6eb2c4f870365e785982e1f101e93b906" /* creates jobs */
#define KEY_US "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY_OTHER "2222222222222222222222222222222222222222222222222222222222222222"
#define KEY_THIRD "3333333333333333333333333333333333333333333333333333333333333333"

/* ---- the per-test environment ------------------------------------------- */

/*
 * Test directories live under one base made by main(): check's fork mode
 * ends a failed test with _exit (no teardown, no atexit), so main removes
 * whatever is left once all tests ran.
 */
static char base_dir[64];

static struct {
	char dir[96];
	char url[64];
	char port[16];
	int with_state;
	pid_t anvil;
	unsigned char executors[20], jobs[20];
	uint64_t deploy_block;
	struct eth_rpc rpc;   /* the test's own handle, drives the chain */
	int have_rpc;
	struct eth_rpc wrpc;  /* the watcher's */
	int have_wrpc;
	struct db db;
	int have_db;
	struct conf conf;
	struct eth_key us, other, third;
	unsigned char dev1[20], dev3[20];
} T;

static const char *tool(const char *env, const char *def)
{
	const char *p = getenv(env);
	return p ? p : def;
}

static void from_hex(const char *hex, unsigned char *out, size_t n)
{
	ck_assert_int_eq(eth_hex_decode(hex, strlen(hex), out, n, NULL), 0);
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

/* Run argv, capture stdout (trimmed); 0 if it exited 0. */
static int run_capture_x(const char *const argv[], char *out, size_t outsz, int merge_err)
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
		if (merge_err)
			dup2(p[1], 2);
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

static int run_capture(const char *const argv[], char *out, size_t outsz)
{
	return run_capture_x(argv, out, outsz, 0);
}

static void anvil_kill(int sig)
{
	if (T.anvil > 0) {
		kill(T.anvil, sig);
		waitpid(T.anvil, NULL, 0);
		T.anvil = -1;
	}
}

/* Remove dir and what is in it, one level of subdirectories deep. */
static void rm_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) < 0 && errno == EISDIR && depth > 0)
			rm_dir(p, depth - 1);
	}
	closedir(d);
	rmdir(dir);
}

static void cleanup(void)
{
	if (T.have_wrpc)
		eth_rpc_release(&T.wrpc);
	if (T.have_rpc)
		eth_rpc_release(&T.rpc);
	T.have_wrpc = T.have_rpc = 0;
	if (T.have_db)
		db_close(&T.db);
	T.have_db = 0;
	anvil_kill(SIGKILL);
	if (T.dir[0])
		rm_dir(T.dir, 0);
	T.dir[0] = '\0';
}

static void fx_setup(void)
{
	static int registered;
	char path[128];

	if (!registered) {
		atexit(cleanup);
		registered = 1;
	}
	memset(&T, 0, sizeof(T));
	T.anvil = -1;
	snprintf(T.dir, sizeof(T.dir), "%s/tXXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(T.dir));
	snprintf(path, sizeof(path), "%s/oyster.db", T.dir);
	ck_assert_int_eq(db_open(&T.db, path), 0);
	T.have_db = 1;
	ck_assert_int_eq(eth_key_from_hex(&T.us, KEY_US, 64, NULL), 0);
	ck_assert_int_eq(eth_key_from_hex(&T.other, KEY_OTHER, 64, NULL), 0);
	ck_assert_int_eq(eth_key_from_hex(&T.third, KEY_THIRD, 64, NULL), 0);
	from_hex(DEV1_ADDR, T.dev1, 20);
	from_hex(DEV3_ADDR, T.dev3, 20);
	conf_defaults(&T.conf);
	T.conf.confirmations = 0;
	T.conf.max_log_range = 1000;
}

static void fx_teardown(void)
{
	cleanup();
}

static void rpc_open(struct eth_rpc *r, const char *url, unsigned retries)
{
	struct eth_rpc_opts o;

	eth_rpc_opts_init(&o);
	o.url = url;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 5000;
	o.retries = retries;
	o.backoff_ms = 20;
	o.backoff_max_ms = 100;
	ck_assert_int_eq(eth_rpc_init(r, &o), 0);
}

/* Something listens on T.port (probed before any RPC, which would log). */
static int port_open(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)strtoul(T.port, NULL, 10));
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Start anvil on T.port (chosen when empty); 0 once it answers. */
static int anvil_try_start(void)
{
	struct eth_rpc r;
	struct eth_rpc_opts o;
	char state[128], log[128];
	uint64_t end, id = 0;
	pid_t pid, parent = getpid();
	int ready = 0;

	snprintf(state, sizeof(state), "%s/state.json", T.dir);
	snprintf(log, sizeof(log), "%s/anvil.log", T.dir);
	snprintf(T.url, sizeof(T.url), "http://127.0.0.1:%s", T.port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (T.with_state)
			execl(tool("OYSTER_ANVIL", ANVIL_DEFAULT), "anvil", "--port", T.port, "--host",
			      "127.0.0.1", "--silent", "--chain-id", "31337", "--state", state,
			      (char *)NULL);
		else
			execl(tool("OYSTER_ANVIL", ANVIL_DEFAULT), "anvil", "--port", T.port, "--host",
			      "127.0.0.1", "--silent", "--chain-id", "31337", (char *)NULL);
		_exit(127);
	}
	T.anvil = pid;
	eth_rpc_opts_init(&o);
	o.url = T.url;
	o.retries = 0;
	o.timeout_ms = 1000;
	if (eth_rpc_init(&r, &o) < 0)
		return -1;
	end = eth_rpc_now_ms() + 30000;
	while (eth_rpc_now_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			T.anvil = -1;
			break;
		}
		if (port_open() && eth_rpc_chain_id(&r, &id) == 0 && id == 31337) {
			ready = 1;
			break;
		}
		usleep(30 * 1000);
	}
	eth_rpc_release(&r);
	if (ready && waitpid(pid, NULL, WNOHANG) == 0)
		return 0;
	anvil_kill(SIGKILL);
	return -1;
}

static void anvil_start(int keep_port)
{
	for (int i = 0; i < 5; i++) {
		if (!keep_port)
			snprintf(T.port, sizeof(T.port), "%d", free_port());
		if (anvil_try_start() == 0)
			return;
		usleep(200 * 1000);
	}
	ck_abort_msg("anvil (%s) did not start on port %s", tool("OYSTER_ANVIL", ANVIL_DEFAULT),
		     T.port);
}

static const char *env_get(const char *text, const char *key, char *out, size_t outsz)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, "\n");
			ck_assert_uint_lt(n, outsz);
			memcpy(out, p + kl + 1, n);
			out[n] = '\0';
			return out;
		}
	}
	ck_abort_msg("%s missing from the deploy output", key);
	return NULL;
}

/* A fresh chain with our contracts; nsel executors per job. */
static void chain_up(unsigned nsel, int with_state)
{
	char out[4096], envfile[128], n[8], v[128], text[4096] = "";
	const char *argv[8];
	FILE *f;
	size_t got;

	T.with_state = with_state;
	anvil_start(0);
	snprintf(envfile, sizeof(envfile), "%s/deploy.env", T.dir);
	snprintf(n, sizeof(n), "%u", nsel);
	argv[0] = DEPLOY;
	argv[1] = T.url;
	argv[2] = DEV0_KEY;
	argv[3] = envfile;
	argv[4] = n;
	argv[5] = NULL;
	ck_assert_msg(run_capture_x(argv, out, sizeof(out), 1) == 0, "deploy failed: %s", out);
	f = fopen(envfile, "r");
	ck_assert_ptr_nonnull(f);
	got = fread(text, 1, sizeof(text) - 1, f);
	text[got] = '\0';
	fclose(f);
	from_hex(env_get(text, "executors_contract", v, sizeof(v)), T.executors, 20);
	snprintf(T.conf.executors_contract, sizeof(T.conf.executors_contract), "%s", v);
	from_hex(env_get(text, "jobs_contract", v, sizeof(v)), T.jobs, 20);
	snprintf(T.conf.jobs_contract, sizeof(T.conf.jobs_contract), "%s", v);
	T.deploy_block = strtoull(env_get(text, "deploy_block", v, sizeof(v)), NULL, 10);
	ck_assert_uint_ge(T.deploy_block, 1);
	snprintf(T.conf.rpc_url, sizeof(T.conf.rpc_url), "%s", T.url);
	T.conf.start_block = (int64_t)T.deploy_block;
	rpc_open(&T.rpc, T.url, 2);
	T.have_rpc = 1;
	rpc_open(&T.wrpc, T.url, 0);
	T.have_wrpc = 1;
}

/* ---- chain actions ------------------------------------------------------ */

static json_t *rpc(const char *method, json_t *params)
{
	json_t *res = NULL;
	int rc = eth_rpc_call(&T.rpc, method, params, &res, NULL);

	ck_assert_msg(rc == 0, "%s failed: %s", method, eth_rpc_last_error(&T.rpc)->message);
	return res;
}

static uint64_t head(void)
{
	uint64_t n;

	ck_assert_int_eq(eth_rpc_block_number(&T.rpc, &n), 0);
	return n;
}

static uint64_t latest_ts(void)
{
	struct eth_rpc_block b;

	ck_assert_int_eq(eth_rpc_get_block(&T.rpc, "latest", 0, &b), 1);
	return b.timestamp;
}

static void mine(unsigned n)
{
	json_decref(rpc("anvil_mine", json_pack("[i]", n)));
}

static json_t *tx_json(const char *from, const unsigned char to[20], const struct buf *data)
{
	struct buf t = BUF_INIT, d = BUF_INIT;
	json_t *o;

	ck_assert_int_eq(eth_hex_encode(&t, to, 20, 1), 0);
	ck_assert_int_eq(eth_hex_encode(&d, data->data, data->len, 1), 0);
	/* explicit gas: anvil_reorg does not estimate it */
	o = json_pack("{s:s,s:s,s:s,s:s}", "from", from, "to", buf_cstr(&t), "data", buf_cstr(&d),
		      "gas", "0x300000");
	ck_assert_ptr_nonnull(o);
	buf_release(&t);
	buf_release(&d);
	return o;
}

/* Send from an unlocked dev account, wait for success; the block number. */
static uint64_t send_tx(const char *from, const unsigned char to[20], struct buf *data,
			unsigned char txh_out[32])
{
	struct eth_rpc_receipt rc;
	unsigned char txh[32];
	json_t *res = rpc("eth_sendTransaction", json_pack("[o]", tx_json(from, to, data)));
	uint64_t end = eth_rpc_now_ms() + 20000;
	int got = 0;

	ck_assert(json_is_string(res));
	from_hex(json_string_value(res), txh, 32);
	json_decref(res);
	while (eth_rpc_now_ms() < end) {
		got = eth_rpc_get_transaction_receipt(&T.rpc, txh, &rc);
		ck_assert_int_ge(got, 0);
		if (got == 1)
			break;
		usleep(10 * 1000);
	}
	ck_assert_int_eq(got, 1);
	ck_assert_msg(rc.status == 1, "transaction reverted");
	if (txh_out)
		memcpy(txh_out, txh, 32);
	buf_release(data);
	return rc.block_number;
}

static uint64_t register_exec(const struct eth_key *k, uint8_t env, uint64_t capacity)
{
	unsigned char digest[32], sig[65];
	uint64_t ts = latest_ts();
	struct eth_abi_val *a = eth_abi_val_tuple();
	struct buf data = BUF_INIT;

	eth_eip712_register_digest(T.dev1, capacity, env, ts, digest);
	ck_assert_int_eq(eth_sign_digest(k, digest, sig), 0);
	eth_abi_append(a, eth_abi_val_bytes(k->pub, 64));
	eth_abi_append(a, eth_abi_val_uint_u64(capacity));
	eth_abi_append(a, eth_abi_val_uint_u64(ts));
	eth_abi_append(a, eth_abi_val_bytes(sig, 65));
	eth_abi_append(a, eth_abi_val_uint_u64(0));
	eth_abi_append(a, eth_abi_val_uint_u64(env));
	ck_assert_int_eq(eth_abi_encode_call("registerExecutor(bytes,uint256,uint256,bytes,uint256,uint8)",
					     a, &data), 0);
	eth_abi_val_free(a);
	return send_tx(DEV1_ADDR, T.executors, &data, NULL);
}

/* drainExecutor / reviveExecutor / deregisterExecutor by the owner. */
static uint64_t owner_call(const char *fn, const struct eth_key *k)
{
	struct eth_abi_val *a = eth_abi_val_tuple();
	struct buf data = BUF_INIT;

	eth_abi_append(a, eth_abi_val_address(k->addr));
	ck_assert_int_eq(eth_abi_encode_call(fn, a, &data), 0);
	eth_abi_val_free(a);
	return send_tx(DEV1_ADDR, T.executors, &data, NULL);
}

static void create_job_data(struct buf *data, uint8_t env, const char *inputs, uint64_t deadline)
{
	unsigned char codehash[32];
	struct eth_abi_val *a = eth_abi_val_tuple();

	memset(codehash, 0xc0, 32);
	codehash[31] = (unsigned char)strlen(inputs);
	eth_abi_append(a, eth_abi_val_uint_u64(env));
	eth_abi_append(a, eth_abi_val_fbytes(codehash, 32));
	eth_abi_append(a, eth_abi_val_bytes(inputs, strlen(inputs)));
	eth_abi_append(a, eth_abi_val_uint_u64(deadline));
	ck_assert_int_eq(eth_abi_encode_call("createJob(uint8,bytes32,bytes,uint256)", a, data), 0);
	eth_abi_val_free(a);
}

static uint64_t create_job(uint8_t env, const char *inputs, uint64_t deadline,
			   unsigned char txh[32])
{
	struct buf data = BUF_INIT;

	create_job_data(&data, env, inputs, deadline);
	return send_tx(DEV3_ADDR, T.jobs, &data, txh);
}

static uint64_t submit_output(const struct eth_key *k, uint64_t job, const char *output,
			      uint64_t total, uint8_t code)
{
	unsigned char digest[32], sig[65];
	struct eth_u256 id;
	uint64_t ts = latest_ts();
	struct eth_abi_val *a = eth_abi_val_tuple();
	struct buf data = BUF_INIT;

	eth_u256_from_u64(&id, job);
	eth_eip712_submit_output_digest(&id, output, strlen(output), total, code, ts, digest);
	ck_assert_int_eq(eth_sign_digest(k, digest, sig), 0);
	eth_abi_append(a, eth_abi_val_bytes(sig, 65));
	eth_abi_append(a, eth_abi_val_uint_u64(job));
	eth_abi_append(a, eth_abi_val_bytes(output, strlen(output)));
	eth_abi_append(a, eth_abi_val_uint_u64(total));
	eth_abi_append(a, eth_abi_val_uint_u64(code));
	eth_abi_append(a, eth_abi_val_uint_u64(ts));
	ck_assert_int_eq(eth_abi_encode_call("submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)",
					     a, &data), 0);
	eth_abi_val_free(a);
	return send_tx(DEV2_ADDR, T.jobs, &data, NULL);
}

/* anvil_reorg(depth, [[tx, block offset]...]); tx NULL: empty replacement blocks. */
static void reorg(unsigned depth, json_t *tx, unsigned offset)
{
	json_t *txs = json_array();

	if (tx)
		json_array_append_new(txs, json_pack("[o,i]", tx, offset));
	json_decref(rpc("anvil_reorg", json_pack("[i,o]", depth, txs)));
}

/* ---- database helpers --------------------------------------------------- */

static sqlite3_stmt *q_prep(const char *fmt, va_list ap)
{
	char sql[1024];
	sqlite3_stmt *st;

	vsnprintf(sql, sizeof(sql), fmt, ap);
	ck_assert_msg(sqlite3_prepare_v2(T.db.h, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(T.db.h));
	return st;
}

static int64_t q_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t q_int(const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int64_t v;

	va_start(ap, fmt);
	st = q_prep(fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Text of a one-row one-column query ("" for NULL, "<none>" for no row). */
static const char *q_text(char *out, size_t outsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *q_text(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = q_prep(fmt, ap);
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out, outsz, "%s", t ? (const char *)t : "");
	} else {
		snprintf(out, outsz, "<none>");
	}
	sqlite3_finalize(st);
	return out;
}

static void q_exec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void q_exec(const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = q_prep(fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Every row the watcher owns, as text, for "nothing changed" checks. */
static void snapshot(struct buf *out)
{
	static const char *const qs[] = {
		"SELECT * FROM jobs ORDER BY job_id",
		"SELECT * FROM job_responses ORDER BY block_number, log_index",
		"SELECT * FROM executor_events ORDER BY block_number, log_index",
		"SELECT * FROM block_hashes ORDER BY number",
		"SELECT * FROM chain_cursor",
	};

	buf_reset(out);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		sqlite3_stmt *st;

		ck_assert_int_eq(sqlite3_prepare_v2(T.db.h, qs[i], -1, &st, NULL), SQLITE_OK);
		buf_addf(out, "%s\n", qs[i]);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const void *p = sqlite3_column_blob(st, c);
				int n = sqlite3_column_bytes(st, c);

				buf_addf(out, "%d:", sqlite3_column_type(st, c));
				buf_addhex(out, p, (size_t)n);
				buf_addch(out, '|');
			}
			buf_addch(out, '\n');
		}
		sqlite3_finalize(st);
	}
}

static uint64_t cursor(void)
{
	return (uint64_t)q_int("SELECT next_block FROM chain_cursor WHERE id = 1");
}

static void blob_is(const char *sql_col, const char *where, const void *want, size_t n)
{
	char sql[256];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "SELECT %s FROM %s", sql_col, where);
	ck_assert_int_eq(sqlite3_prepare_v2(T.db.h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no row: %s", sql);
	ck_assert_msg(sqlite3_column_bytes(st, 0) == (int)n, "%s: %d bytes, want %zu", sql,
		      sqlite3_column_bytes(st, 0), n);
	ck_assert_msg(n == 0 || !memcmp(sqlite3_column_blob(st, 0), want, n), "%s differs", sql);
	sqlite3_finalize(st);
}

/* ---- watcher helpers ---------------------------------------------------- */

static void watch_open(struct cw_watch *w)
{
	ck_assert_int_eq(cw_watch_init(w, &T.conf, &T.db, &T.wrpc, T.us.addr), 0);
}

/* Tick until the cursor is past the safe head (bounded). */
static void sync_all(struct cw_watch *w)
{
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(cw_watch_tick(w), 0);
		if (w->next_block > w->safe)
			return;
	}
	ck_abort_msg("watcher did not catch up");
}

/* Every stored block hash is the chain's. */
static void hashes_match_chain(void)
{
	sqlite3_stmt *st;
	int rows = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(T.db.h, "SELECT number, hash FROM block_hashes", -1,
					    &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		unsigned char h[32];
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 0);

		ck_assert_int_eq(eth_rpc_get_block_hash(&T.rpc, n, h), 1);
		ck_assert_int_eq(sqlite3_column_bytes(st, 1), 32);
		ck_assert_msg(!memcmp(sqlite3_column_blob(st, 1), h, 32),
			      "stored hash of block %" PRIu64 " is not the chain's", n);
		rows++;
	}
	sqlite3_finalize(st);
	ck_assert_int_gt(rows, 0);
}

/* ---- synthetic logs ------------------------------------------------------ */

static const unsigned char EXEC_ADDR[20] = { 0xe1, 0xe1, 0xe1 };
static const unsigned char JOBS_ADDR[20] = { 0xe2, 0xe2, 0xe2 };

static void topic_addr(unsigned char t[32], const unsigned char a[20])
{
	memset(t, 0, 12);
	memcpy(t + 12, a, 20);
}

static void topic_u64(unsigned char t[32], uint64_t v)
{
	struct eth_u256 x;

	eth_u256_from_u64(&x, v);
	memcpy(t, x.b, 32);
}

static void mklog(struct eth_rpc_log *l, int ev, uint64_t block, uint64_t idx)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->address, ev < CW_EV_JOB_CREATED ? EXEC_ADDR : JOBS_ADDR, 20);
	eth_abi_event_topic(cw_watch_event_sig[ev], l->topics[0]);
	l->ntopics = 1;
	l->block_number = block;
	l->log_index = idx;
	memset(l->block_hash, (int)(block & 0xff), 32);
	memset(l->tx_hash, (int)((block + idx) & 0xff), 32);
}

static void exec_log(struct eth_rpc_log *l, int ev, uint64_t block, const unsigned char who[20])
{
	mklog(l, ev, block, 0);
	topic_addr(l->topics[1], who);
	l->ntopics = 2;
	if (ev == CW_EV_REGISTERED) {
		struct eth_abi_val *a = eth_abi_val_tuple();

		topic_addr(l->topics[2], T.dev1);
		l->ntopics = 3;
		eth_abi_append(a, eth_abi_val_uint_u64(4));
		eth_abi_append(a, eth_abi_val_uint_u64(1));
		ck_assert_int_eq(eth_abi_encode("(uint256,uint8)", a, &l->data), 0);
		eth_abi_val_free(a);
	}
}

/* JobCreated(jobId, env 1, owner dev3) selecting sel[0..nsel). */
static void job_log(struct eth_rpc_log *l, uint64_t block, uint64_t id, const char *inputs,
		    size_t ninputs, uint64_t deadline, const unsigned char *sel, size_t nsel)
{
	unsigned char codehash[32];
	struct eth_abi_val *a = eth_abi_val_tuple(), *arr = eth_abi_val_array();

	mklog(l, CW_EV_JOB_CREATED, block, 1);
	topic_u64(l->topics[1], id);
	topic_u64(l->topics[2], 1);
	topic_addr(l->topics[3], T.dev3);
	l->ntopics = 4;
	memset(codehash, 0xab, 32);
	for (size_t i = 0; i < nsel; i++)
		eth_abi_append(arr, eth_abi_val_address(sel + 20 * i));
	eth_abi_append(a, eth_abi_val_fbytes(codehash, 32));
	eth_abi_append(a, eth_abi_val_bytes(inputs, ninputs));
	eth_abi_append(a, eth_abi_val_uint_u64(deadline));
	eth_abi_append(a, arr);
	ck_assert_int_eq(eth_abi_encode("(bytes32,bytes,uint256,address[])", a, &l->data), 0);
	eth_abi_val_free(a);
}

static void resp_log(struct eth_rpc_log *l, uint64_t block, uint64_t id,
		     const unsigned char who[20], uint64_t code, uint64_t count)
{
	struct eth_abi_val *a = eth_abi_val_tuple();

	mklog(l, CW_EV_JOB_RESPONDED, block, 2);
	topic_u64(l->topics[1], id);
	topic_addr(l->topics[2], who);
	l->ntopics = 3;
	eth_abi_append(a, eth_abi_val_bytes("out", 3));
	eth_abi_append(a, eth_abi_val_uint_u64(1234));
	eth_abi_append(a, eth_abi_val_uint_u64(code));
	eth_abi_append(a, eth_abi_val_uint_u64(count));
	ck_assert_int_eq(eth_abi_encode("(bytes,uint256,uint8,uint8)", a, &l->data), 0);
	eth_abi_val_free(a);
}

/* Apply and expect rc; the log's data is released. */
static void apply(struct cw_watch *w, struct eth_rpc_log *l, int want)
{
	ck_assert_int_eq(cw_watch_apply_log(w, l, 1700000000 + l->block_number), want);
	buf_release(&l->data);
}

static void synthetic_watch(struct cw_watch *w, struct eth_rpc *dummy)
{
	struct buf b = BUF_INIT;

	buf_addhex(&b, EXEC_ADDR, 20);
	snprintf(T.conf.executors_contract, sizeof(T.conf.executors_contract), "0x%s",
		 buf_cstr(&b));
	buf_reset(&b);
	buf_addhex(&b, JOBS_ADDR, 20);
	snprintf(T.conf.jobs_contract, sizeof(T.conf.jobs_contract), "0x%s", buf_cstr(&b));
	buf_release(&b);
	memset(dummy, 0, sizeof(*dummy)); /* never called by apply_log */
	ck_assert_int_eq(cw_watch_init(w, &T.conf, &T.db, dummy, T.us.addr), 0);
}

/* ---- tests: synthetic ---------------------------------------------------- */

START_TEST(test_init_refuses_bad_config)
{
	struct cw_watch w;
	struct eth_rpc dummy;

	memset(&dummy, 0, sizeof(dummy));
	/* contracts unset (the defaults) */
	ck_assert_int_eq(cw_watch_init(&w, &T.conf, &T.db, &dummy, T.us.addr), -1);
	snprintf(T.conf.executors_contract, sizeof(T.conf.executors_contract),
		 "0x00000000000000000000000000000000000000e1");
	snprintf(T.conf.jobs_contract, sizeof(T.conf.jobs_contract), "0xnothex");
	ck_assert_int_eq(cw_watch_init(&w, &T.conf, &T.db, &dummy, T.us.addr), -1);
	snprintf(T.conf.jobs_contract, sizeof(T.conf.jobs_contract),
		 "0x00000000000000000000000000000000000000E2");
	ck_assert_int_eq(cw_watch_init(&w, &T.conf, &T.db, &dummy, T.us.addr), 0);
	cw_watch_release(&w);
	cw_watch_release(&w); /* twice is harmless */
}
END_TEST

/* topic0 of each event, against cast sig-event on PROTOCOL.md's declarations. */
START_TEST(test_event_topics)
{
	static const char *const decl[CW_EV_COUNT] = {
		"ExecutorRegistered(address indexed enclaveAddress, address indexed owner,"
		" uint256 jobCapacity, uint8 env)",
		"ExecutorDeregistered(address indexed enclaveAddress)",
		"ExecutorDrained(address indexed enclaveAddress)",
		"ExecutorRevived(address indexed enclaveAddress)",
		"JobCreated(uint256 indexed jobId, uint8 indexed env, address indexed jobOwner,"
		" bytes32 codehash, bytes codeInputs, uint256 deadline, address[] selectedExecutors)",
		"JobResponded(uint256 indexed jobId, address indexed executor, bytes output,"
		" uint256 totalTime, uint8 errorCode, uint8 outputCount)",
	};
	struct cw_watch w;
	struct eth_rpc dummy;
	char out[256];
	const char *argv[4];

	synthetic_watch(&w, &dummy);
	for (int i = 0; i < CW_EV_COUNT; i++) {
		unsigned char t[32];

		argv[0] = tool("OYSTER_CAST", CAST_DEFAULT);
		argv[1] = "sig-event";
		argv[2] = decl[i];
		argv[3] = NULL;
		ck_assert_msg(run_capture(argv, out, sizeof(out)) == 0, "cast sig-event: %s", out);
		from_hex(out, t, 32);
		ck_assert_msg(!memcmp(w.topic[i], t, 32), "topic of %s", cw_watch_event_sig[i]);
	}
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_apply_status_and_states)
{
	struct cw_watch w;
	struct eth_rpc dummy;
	struct eth_rpc_log l;
	unsigned char both[40];
	char s[128];

	synthetic_watch(&w, &dummy);
	memcpy(both, T.other.addr, 20);
	memcpy(both + 20, T.us.addr, 20);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_UNREGISTERED);

	/* Selected before any event of ours: the contract says we are registered. */
	job_log(&l, 5, 100, "in", 2, 5000, T.us.addr, 1);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '100'"), "seen");

	exec_log(&l, CW_EV_REGISTERED, 10, T.us.addr);
	apply(&w, &l, 0);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	ck_assert_int_eq(q_int("SELECT job_capacity FROM executor_events WHERE block_number = 10"), 4);
	blob_is("owner", "executor_events WHERE block_number = 10", T.dev1, 20);
	/* another enclave's registration is not ours: nothing stored */
	exec_log(&l, CW_EV_REGISTERED, 11, T.other.addr);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 1);

	exec_log(&l, CW_EV_DRAINED, 20, T.us.addr);
	apply(&w, &l, 0);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_DRAINING);
	job_log(&l, 25, 101, "in", 2, 5000, both, 2);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '101'"),
			 "skipped");
	/* status "as of the log": block 15 is before the drain at 20 */
	job_log(&l, 15, 102, "in", 2, 5000, both, 2);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '102'"), "seen");

	exec_log(&l, CW_EV_REVIVED, 30, T.us.addr);
	apply(&w, &l, 0);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	job_log(&l, 35, 103, "in", 2, 5000, T.us.addr, 1);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '103'"), "seen");
	job_log(&l, 36, 104, "in", 2, 5000, T.other.addr, 1);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ours FROM jobs WHERE job_id = '104'"),
			 "observed0");

	exec_log(&l, CW_EV_DEREGISTERED, 40, T.us.addr);
	apply(&w, &l, 0);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_DEREGISTERED);
	job_log(&l, 45, 105, "in", 2, 5000, T.us.addr, 1);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '105'"),
			 "skipped");
	/* every stored job waits for the slash timer */
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE slash_state = 'pending'"), 6);
	ck_assert_int_eq(q_int("SELECT block_time FROM jobs WHERE job_id = '103'"), 1700000035);
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 4);
	ck_assert_uint_eq(w.logs_skipped, 0);

	/* Responses: others', ours, duplicates. */
	resp_log(&l, 50, 103, T.other.addr, 0, 1);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT responses * 10 + we_responded FROM jobs WHERE job_id = '103'"), 10);
	q_exec("UPDATE jobs SET state = 'executed' WHERE job_id = '103'");
	resp_log(&l, 51, 103, T.us.addr, 3, 2);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT responses * 10 + we_responded FROM jobs WHERE job_id = '103'"), 21);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '103'"),
			 "confirmed");
	ck_assert_int_eq(q_int("SELECT error_code FROM job_responses WHERE block_number = 51"), 3);
	/* ours on a job still 'seen': recorded, state left to the runner */
	resp_log(&l, 52, 102, T.us.addr, 0, 1);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || we_responded FROM jobs WHERE job_id = '102'"),
			 "seen1");
	/* responses = the max outputCount seen, whatever the order of arrival */
	resp_log(&l, 61, 104, T.other.addr, 0, 2);
	apply(&w, &l, 0);
	resp_log(&l, 60, 104, T.us.addr, 0, 1);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT responses * 10 + we_responded FROM jobs WHERE job_id = '104'"), 21);
	q_exec("DELETE FROM job_responses WHERE job_id = '104'");
	/* a response to a job we do not keep is not stored */
	resp_log(&l, 53, 999, T.us.addr, 0, 1);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM job_responses"), 3);
	/* replaying everything changes nothing, not even `updated` */
	{
		struct buf before = BUF_INIT, after = BUF_INIT;

		snapshot(&before);
		resp_log(&l, 50, 103, T.other.addr, 0, 1);
		apply(&w, &l, 0);
		resp_log(&l, 51, 103, T.us.addr, 3, 2);
		apply(&w, &l, 0);
		job_log(&l, 35, 103, "in", 2, 5000, T.us.addr, 1);
		apply(&w, &l, 0);
		exec_log(&l, CW_EV_DRAINED, 20, T.us.addr);
		apply(&w, &l, 0);
		snapshot(&after);
		ck_assert_str_eq(buf_cstr(&before), buf_cstr(&after));
		buf_release(&before);
		buf_release(&after);
	}
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_apply_hostile)
{
	struct cw_watch w;
	struct eth_rpc dummy;
	struct eth_rpc_log l;
	unsigned long skipped;
	char s[128];
	unsigned char *many;
	char *big;

	synthetic_watch(&w, &dummy);
	exec_log(&l, CW_EV_REGISTERED, 1, T.us.addr);
	apply(&w, &l, 0);

	/* removed = true: ignored, whatever it is */
	job_log(&l, 5, 1, "in", 2, 5000, T.us.addr, 1);
	l.removed = 1;
	apply(&w, &l, 1);
	exec_log(&l, CW_EV_DRAINED, 6, T.us.addr);
	l.removed = 1;
	apply(&w, &l, 1);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);

	/* an event from the contract that does not emit it */
	job_log(&l, 7, 2, "in", 2, 5000, T.us.addr, 1);
	memcpy(l.address, EXEC_ADDR, 20);
	apply(&w, &l, 1);
	exec_log(&l, CW_EV_DRAINED, 8, T.us.addr);
	memcpy(l.address, JOBS_ADDR, 20);
	apply(&w, &l, 1);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);

	/* env 2: ignored entirely; env topic with junk high bytes: refused */
	job_log(&l, 9, 3, "in", 2, 5000, T.us.addr, 1);
	topic_u64(l.topics[2], 2);
	apply(&w, &l, 1);
	job_log(&l, 9, 4, "in", 2, 5000, T.us.addr, 1);
	l.topics[2][0] = 1;
	apply(&w, &l, 1);
	/* jobOwner / executor topics that are not addresses */
	job_log(&l, 10, 5, "in", 2, 5000, T.us.addr, 1);
	l.topics[3][0] = 1;
	apply(&w, &l, 1);
	/* wrong topic count, unknown topic0, no topics */
	job_log(&l, 10, 6, "in", 2, 5000, T.us.addr, 1);
	l.ntopics = 3;
	apply(&w, &l, 1);
	job_log(&l, 10, 7, "in", 2, 5000, T.us.addr, 1);
	l.topics[0][0] ^= 1;
	apply(&w, &l, 1);
	job_log(&l, 10, 8, "in", 2, 5000, T.us.addr, 1);
	l.ntopics = 0;
	apply(&w, &l, 1);
	/* truncated data; an offset pointing outside */
	job_log(&l, 11, 9, "in", 2, 5000, T.us.addr, 1);
	l.data.len -= 40;
	apply(&w, &l, 1);
	job_log(&l, 11, 10, "in", 2, 5000, T.us.addr, 1);
	l.data.data[63] = (char)0xff;
	apply(&w, &l, 1);
	/* deadline beyond int64 */
	job_log(&l, 11, 11, "in", 2, 5000, T.us.addr, 1);
	memset(l.data.data + 64, 0xff, 32);
	apply(&w, &l, 1);
	/* 257 selected executors; 256 are fine */
	many = calloc(257, 20);
	ck_assert_ptr_nonnull(many);
	for (size_t i = 0; i < 257; i++)
		many[20 * i + 19] = (unsigned char)(i + 1);
	memcpy(many + 20 * 100, T.us.addr, 20);
	job_log(&l, 12, 12, "in", 2, 5000, many, 257);
	apply(&w, &l, 1);
	job_log(&l, 12, 13, "in", 2, 5000, many, 256);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT length(selected) * 10 + ours FROM jobs WHERE job_id = '13'"),
			 256 * 20 * 10 + 1);
	free(many);
	/* codeInputs of 1 MiB + 1; exactly 1 MiB is fine; data over the bound */
	big = calloc(1, (2u << 20) + 1);
	ck_assert_ptr_nonnull(big);
	job_log(&l, 13, 14, big, CW_WATCH_MAX_INPUTS + 1, 5000, T.us.addr, 1);
	apply(&w, &l, 1);
	job_log(&l, 13, 15, big, CW_WATCH_MAX_INPUTS, 5000, T.us.addr, 1);
	apply(&w, &l, 0);
	ck_assert_int_eq(q_int("SELECT length(code_inputs) FROM jobs WHERE job_id = '15'"),
			 CW_WATCH_MAX_INPUTS);
	job_log(&l, 13, 16, big, 2u << 20, 5000, T.us.addr, 1);
	apply(&w, &l, 1);
	free(big);
	/* JobResponded: errorCode not a clean uint8; executor not an address */
	resp_log(&l, 14, 13, T.us.addr, 0, 1);
	l.data.data[64 + 30] = 1;
	apply(&w, &l, 1);
	resp_log(&l, 14, 13, T.us.addr, 0, 1);
	l.topics[2][3] = 1;
	apply(&w, &l, 1);
	/* ExecutorRegistered: no data */
	exec_log(&l, CW_EV_REGISTERED, 15, T.us.addr);
	l.data.len = 0;
	apply(&w, &l, 1);

	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 2);
	ck_assert_int_eq(q_int("SELECT count(*) FROM job_responses"), 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 1);
	skipped = w.logs_skipped;
	ck_assert_uint_eq(skipped, 19);

	/* a job id that needs all 256 bits, in decimal */
	job_log(&l, 16, 0, "in", 2, 5000, T.us.addr, 1);
	memset(l.topics[1], 0xff, 32);
	apply(&w, &l, 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT job_id FROM jobs WHERE block_number = 16"),
			 "115792089237316195423570985008687907853269984665640564039457584007913129639935");
	cw_watch_release(&w);
}
END_TEST

/* ---- tests: anvil -------------------------------------------------------- */

START_TEST(test_executor_lifecycle)
{
	struct cw_watch w;
	char s[256];
	uint64_t b;

	chain_up(1, 0);
	watch_open(&w);
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_UNREGISTERED);
	ck_assert_uint_eq(cursor(), head() + 1);

	b = register_exec(&T.us, 1, 4);
	register_exec(&T.other, 1, 2); /* not ours: not stored */
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 1);
	ck_assert_int_eq(q_int("SELECT block_number FROM executor_events"), (int64_t)b);
	ck_assert_int_eq(q_int("SELECT job_capacity FROM executor_events"), 4);
	blob_is("owner", "executor_events", T.dev1, 20);

	owner_call("drainExecutor(address)", &T.us);
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_DRAINING);
	owner_call("reviveExecutor(address)", &T.us);
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	owner_call("drainExecutor(address)", &T.us);
	owner_call("deregisterExecutor(address)", &T.us);
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_DEREGISTERED);
	register_exec(&T.us, 1, 7);
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT group_concat(kind, ',') FROM (SELECT kind"
				" FROM executor_events ORDER BY block_number, log_index)"),
			 "registered,drained,revived,drained,deregistered,registered");
	ck_assert_int_eq(q_int("SELECT job_capacity FROM executor_events ORDER BY block_number DESC"
			       " LIMIT 1"), 7);
	ck_assert_uint_eq(w.reorgs, 0);
	hashes_match_chain();
	cw_watch_release(&w);
}
END_TEST

/* cast's view of the JobCreated log in a receipt: the independent check. */
struct cast_job {
	char data[1024];
	uint64_t block, log_index;
	unsigned char block_hash[32], topics[4][32];
	char codehash[80], inputs[256], deadline[32], selected[128];
	uint64_t timestamp;
};

static void cast_job_view(const unsigned char txh[32], const unsigned char topic0[32],
			  struct cast_job *cj)
{
	char out[8192], txhex[80], blk[32];
	const char *argv[12];
	json_t *r, *logs, *lg;
	json_error_t je;
	size_t i;
	int found = 0;

	eth_hex_str(txhex, sizeof(txhex), txh, 32);
	argv[0] = tool("OYSTER_CAST", CAST_DEFAULT);
	argv[1] = "receipt";
	argv[2] = "--rpc-url";
	argv[3] = T.url;
	argv[4] = txhex;
	argv[5] = "--json";
	argv[6] = NULL;
	ck_assert_msg(run_capture(argv, out, sizeof(out)) == 0, "cast receipt: %s", out);
	r = json_loads(out, 0, &je);
	ck_assert_ptr_nonnull(r);
	logs = json_object_get(r, "logs");
	json_array_foreach(logs, i, lg) {
		json_t *topics = json_object_get(lg, "topics");
		unsigned char t0[32];

		from_hex(json_string_value(json_array_get(topics, 0)), t0, 32);
		if (memcmp(t0, topic0, 32))
			continue;
		found = 1;
		ck_assert_int_eq(json_array_size(topics), 4);
		for (size_t k = 0; k < 4; k++)
			from_hex(json_string_value(json_array_get(topics, k)), cj->topics[k], 32);
		snprintf(cj->data, sizeof(cj->data), "%s", json_string_value(json_object_get(lg, "data")));
		cj->block = strtoull(json_string_value(json_object_get(lg, "blockNumber")), NULL, 16);
		cj->log_index = strtoull(json_string_value(json_object_get(lg, "logIndex")), NULL, 16);
		from_hex(json_string_value(json_object_get(lg, "blockHash")), cj->block_hash, 32);
	}
	json_decref(r);
	ck_assert(found);

	argv[0] = tool("OYSTER_CAST", CAST_DEFAULT);
	argv[1] = "decode-abi";
	argv[2] = "--input";
	argv[3] = "f(bytes32,bytes,uint256,address[])";
	argv[4] = cj->data;
	argv[5] = NULL;
	ck_assert_msg(run_capture(argv, out, sizeof(out)) == 0, "cast decode-abi: %s", out);
	ck_assert_int_eq(sscanf(out, "%79s %255s %31s %127[^\n]", cj->codehash, cj->inputs,
				cj->deadline, cj->selected), 4);

	snprintf(blk, sizeof(blk), "%" PRIu64, cj->block);
	argv[0] = tool("OYSTER_CAST", CAST_DEFAULT);
	argv[1] = "block";
	argv[2] = "--rpc-url";
	argv[3] = T.url;
	argv[4] = blk;
	argv[5] = "--field";
	argv[6] = "timestamp";
	argv[7] = NULL;
	ck_assert_msg(run_capture(argv, out, sizeof(out)) == 0, "cast block: %s", out);
	cj->timestamp = strtoull(out, NULL, 0);
	ck_assert_uint_gt(cj->timestamp, 0);
}

static void hex_is(const char *col, const char *job, const char *want_hex)
{
	char s[300], w[300];
	size_t n = 0;

	if (!strncmp(want_hex, "0x", 2))
		want_hex += 2;
	for (; *want_hex && n + 1 < sizeof(w); want_hex++)
		w[n++] = (char)(*want_hex >= 'A' && *want_hex <= 'F' ? *want_hex + 32 : *want_hex);
	w[n] = '\0';
	q_text(s, sizeof(s), "SELECT lower(hex(%s)) FROM jobs WHERE job_id = '%s'", col, job);
	ck_assert_str_eq(s, w);
}

START_TEST(test_jobs_created)
{
	struct cw_watch w;
	struct cast_job cj;
	unsigned char tx0[32], tx1[32], topic[32];
	char s[256], sel[128];
	int64_t t0, t1;
	struct timespec ts;

	chain_up(1, 0);
	watch_open(&w);
	register_exec(&T.us, 1, 4);    /* env 1 list: [us, other] */
	register_exec(&T.other, 1, 4);
	register_exec(&T.third, 2, 4); /* env 2 list: [third] */
	create_job(1, "job zero", 5000, tx0);   /* id 0: seed 0 -> us */
	create_job(1, "job one", 6000, tx1);    /* id 1: seed 1 -> other */
	create_job(2, "env two", 7000, NULL);   /* id 2: env 2, ignored */
	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	sync_all(&w);
	clock_gettime(CLOCK_REALTIME, &ts);
	t1 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 2);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE job_id = '2'"), 0);

	/* job 0, field by field against cast's decoding of the same log */
	eth_abi_event_topic(cw_watch_event_sig[CW_EV_JOB_CREATED], topic);
	cast_job_view(tx0, topic, &cj);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '0'"), "seen");
	ck_assert_int_eq(q_int("SELECT env FROM jobs WHERE job_id = '0'"), 1);
	ck_assert_int_eq(cj.topics[2][31], 1);
	blob_is("job_owner", "jobs WHERE job_id = '0'", cj.topics[3] + 12, 20);
	blob_is("job_owner", "jobs WHERE job_id = '0'", T.dev3, 20);
	hex_is("codehash", "0", cj.codehash);
	hex_is("code_inputs", "0", cj.inputs);
	blob_is("code_inputs", "jobs WHERE job_id = '0'", "job zero", 8);
	ck_assert_int_eq(q_int("SELECT deadline_ms FROM jobs WHERE job_id = '0'"),
			 strtoll(cj.deadline, NULL, 10));
	ck_assert_int_eq(q_int("SELECT deadline_ms FROM jobs WHERE job_id = '0'"), 5000);
	/* cast prints "[0xAddr]" (checksummed) */
	ck_assert_int_eq(strlen(cj.selected), 44);
	snprintf(sel, sizeof(sel), "%.40s", cj.selected + 3);
	hex_is("selected", "0", sel);
	blob_is("selected", "jobs WHERE job_id = '0'", T.us.addr, 20);
	ck_assert_int_eq(q_int("SELECT ours FROM jobs WHERE job_id = '0'"), 1);
	ck_assert_int_eq(q_int("SELECT block_number FROM jobs WHERE job_id = '0'"), (int64_t)cj.block);
	blob_is("block_hash", "jobs WHERE job_id = '0'", cj.block_hash, 32);
	blob_is("tx_hash", "jobs WHERE job_id = '0'", tx0, 32);
	ck_assert_int_eq(q_int("SELECT log_index FROM jobs WHERE job_id = '0'"),
			 (int64_t)cj.log_index);
	ck_assert_int_eq(q_int("SELECT block_time FROM jobs WHERE job_id = '0'"),
			 (int64_t)cj.timestamp);
	ck_assert_int_ge(q_int("SELECT seen_at FROM jobs WHERE job_id = '0'"), t0);
	ck_assert_int_le(q_int("SELECT seen_at FROM jobs WHERE job_id = '0'"), t1);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT slash_state FROM jobs WHERE job_id = '0'"),
			 "pending");
	ck_assert_int_eq(q_int("SELECT responses + we_responded + claims FROM jobs WHERE job_id = '0'"), 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT coalesce(lease_owner, 'null') || coalesce(note,"
				" 'null') FROM jobs WHERE job_id = '0'"), "nullnull");

	/* job 1: not ours */
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ours FROM jobs WHERE job_id = '1'"),
			 "observed0");
	blob_is("selected", "jobs WHERE job_id = '1'", T.other.addr, 20);
	blob_is("tx_hash", "jobs WHERE job_id = '1'", tx1, 32);
	blob_is("code_inputs", "jobs WHERE job_id = '1'", "job one", 7);
	ck_assert_int_eq(q_int("SELECT deadline_ms FROM jobs WHERE job_id = '1'"), 6000);

	/* a job created while we are draining selects someone else */
	owner_call("drainExecutor(address)", &T.us);
	create_job(1, "job three", 5000, NULL); /* id 3 */
	sync_all(&w);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ours FROM jobs WHERE job_id = '3'"),
			 "observed0");
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_DRAINING);
	hashes_match_chain();
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_responses)
{
	struct cw_watch w;
	char s[128];

	chain_up(2, 0); /* both executors selected for every job */
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	register_exec(&T.other, 1, 4);
	create_job(1, "both", 5000, NULL); /* id 0 */
	sync_all(&w);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ours FROM jobs WHERE job_id = '0'"),
			 "seen1");
	ck_assert_int_eq(q_int("SELECT length(selected) FROM jobs WHERE job_id = '0'"), 40);
	q_exec("UPDATE jobs SET state = 'executed' WHERE job_id = '0'");

	submit_output(&T.other, 0, "theirs", 10, 0);
	sync_all(&w);
	ck_assert_int_eq(q_int("SELECT responses FROM jobs WHERE job_id = '0'"), 1);
	ck_assert_int_eq(q_int("SELECT we_responded FROM jobs WHERE job_id = '0'"), 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '0'"),
			 "executed");
	blob_is("executor", "job_responses", T.other.addr, 20);
	ck_assert_int_eq(q_int("SELECT output_count * 10 + error_code FROM job_responses"), 10);

	submit_output(&T.us, 0, "ours", 20, 3);
	sync_all(&w);
	ck_assert_int_eq(q_int("SELECT responses FROM jobs WHERE job_id = '0'"), 2);
	ck_assert_int_eq(q_int("SELECT we_responded FROM jobs WHERE job_id = '0'"), 1);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state FROM jobs WHERE job_id = '0'"),
			 "confirmed");
	ck_assert_int_eq(q_int("SELECT count(*) FROM job_responses WHERE job_id = '0'"), 2);
	ck_assert_int_eq(q_int("SELECT output_count * 10 + error_code FROM job_responses"
			       " ORDER BY block_number DESC LIMIT 1"), 23);

	/* a submitted job is confirmed by our JobResponded too */
	create_job(1, "again", 5000, NULL); /* id 1 */
	sync_all(&w);
	q_exec("UPDATE jobs SET state = 'submitted' WHERE job_id = '1'");
	submit_output(&T.us, 1, "ours", 20, 0);
	sync_all(&w);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || we_responded || responses FROM jobs"
				" WHERE job_id = '1'"), "confirmed11");
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_idempotent_and_restart)
{
	struct cw_watch w, w2;
	struct buf before = BUF_INIT, after = BUF_INIT;
	char path[128];

	chain_up(1, 0);
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	for (int i = 0; i < 3; i++)
		create_job(1, "job", 5000, NULL);
	submit_output(&T.us, 1, "x", 1, 0);
	mine(10);
	sync_all(&w);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 3);
	ck_assert_int_eq(q_int("SELECT count(*) FROM job_responses"), 1);

	/* Cursor back 10 blocks (over all the events): nothing changes at all. */
	snapshot(&before);
	q_exec("UPDATE chain_cursor SET next_block = next_block - 10");
	sync_all(&w);
	snapshot(&after);
	ck_assert_str_eq(buf_cstr(&before), buf_cstr(&after));
	/* and further back, to the deploy block */
	q_exec("UPDATE chain_cursor SET next_block = %" PRIu64, T.deploy_block);
	sync_all(&w);
	snapshot(&after);
	ck_assert_str_eq(buf_cstr(&before), buf_cstr(&after));
	ck_assert_uint_eq(w.reorgs, 0);
	cw_watch_release(&w);

	/* Stopped: events happen meanwhile; a new watcher on a reopened database. */
	create_job(1, "while stopped", 5000, NULL); /* id 3 */
	submit_output(&T.us, 3, "y", 1, 0);
	create_job(1, "while stopped 2", 5000, NULL); /* id 4 */
	db_close(&T.db);
	snprintf(path, sizeof(path), "%s/oyster.db", T.dir);
	ck_assert_int_eq(db_open(&T.db, path), 0);
	watch_open(&w2);
	sync_all(&w2);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 5);
	ck_assert_int_eq(q_int("SELECT count(DISTINCT job_id) FROM jobs"), 5);
	ck_assert_int_eq(q_int("SELECT count(*) FROM job_responses"), 2);
	ck_assert_int_eq(q_int("SELECT we_responded FROM jobs WHERE job_id = '3'"), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 1);
	ck_assert_uint_eq(cursor(), head() + 1);
	hashes_match_chain();
	cw_watch_release(&w2);
	buf_release(&before);
	buf_release(&after);
}
END_TEST

START_TEST(test_small_range)
{
	struct cw_watch w;
	uint64_t start, h, prev;
	int ticks = 0;

	T.conf.max_log_range = 3;
	chain_up(1, 0);
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	for (int i = 0; i < 10; i++)
		create_job(1, "many", 5000, NULL);
	mine(2);
	h = head();
	start = T.deploy_block;
	prev = start;
	for (;;) {
		ck_assert_int_eq(cw_watch_tick(&w), 0);
		ticks++;
		ck_assert_uint_le(w.next_block, prev + 3);
		ck_assert_uint_eq(cursor(), w.next_block);
		prev = w.next_block;
		if (prev > h)
			break;
		ck_assert_int_lt(ticks, 100);
	}
	ck_assert_int_eq(ticks, (int)((h + 1 - start + 2) / 3));
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE state = 'seen'"), 10);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	ck_assert_uint_eq(w.range, 3);
	hashes_match_chain();
	cw_watch_release(&w);
}
END_TEST

/* The node refuses a big range (here: more logs than the client accepts). */
START_TEST(test_range_shrinks)
{
	struct cw_watch w;
	int fails = 0, ticks = 0;

	chain_up(1, 0);
	T.wrpc.opts.max_logs = 2;
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	for (int i = 0; i < 6; i++)
		create_job(1, "busy", 5000, NULL);
	while (w.next_block <= head() || ticks == 0) {
		int rc = cw_watch_tick(&w);

		ck_assert(rc == 0 || rc == -1);
		if (rc < 0) {
			fails++;
			ck_assert_uint_lt(w.range, 1000);
		}
		ck_assert_int_lt(++ticks, 100);
	}
	ck_assert_int_gt(fails, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 6);
	ck_assert_uint_eq(cursor(), head() + 1);
	/* the range grows back once the node answers again */
	T.wrpc.opts.max_logs = 10000;
	for (int i = 0; i < 12; i++) {
		mine(1);
		ck_assert_int_eq(cw_watch_tick(&w), 0);
	}
	ck_assert_uint_eq(w.range, 1000);
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_confirmations)
{
	struct cw_watch w;
	uint64_t b;

	T.conf.confirmations = 2;
	chain_up(1, 0);
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	sync_all(&w);
	ck_assert_uint_eq(cursor(), head() - 2 + 1);
	b = create_job(1, "deep", 5000, NULL);
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(cursor(), b - 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 0);
	mine(1);
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(cursor(), b);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 0);
	mine(1);
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(cursor(), b + 1);
	ck_assert_uint_eq(cursor(), head() - 2 + 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 1);
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_start_block_zero)
{
	struct cw_watch w;
	uint64_t h;

	T.conf.start_block = 0; /* only new events */
	chain_up(1, 0);
	T.conf.start_block = 0;
	register_exec(&T.us, 1, 4);
	create_job(1, "before start", 5000, NULL);
	h = head();
	watch_open(&w);
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	/* the cursor starts at the safe head: that block is read, older ones not */
	ck_assert_uint_eq(cursor(), h + 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 1); /* job 0 is in block h */
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 0);
	/* selected while our registration was never seen: still run ('seen') */
	create_job(1, "after start", 5000, NULL);
	sync_all(&w);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE state = 'seen'"), 2);
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_reorg)
{
	struct cw_watch w;
	struct buf data = BUF_INIT;
	unsigned char old_hash[32], h[32];
	uint64_t br, bA, bS, hd;
	char s[128];

	chain_up(1, 0);
	watch_open(&w);
	br = register_exec(&T.us, 1, 4);
	bA = create_job(1, "job A", 5000, NULL); /* id 0 */
	create_job(1, "job B", 5000, NULL);      /* id 1 */
	mine(2);
	sync_all(&w);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE state = 'seen'"), 2);
	q_exec("UPDATE jobs SET state = 'executed', output = x'00' WHERE job_id = '1'");
	ck_assert_int_eq(eth_rpc_get_block_hash(&T.rpc, bA, old_hash), 1);

	/* Replace everything after the registration; a different job 0 (C) comes in. */
	hd = head();
	create_job_data(&data, 1, "job C", 4000);
	reorg((unsigned)(hd - br), tx_json(DEV3_ADDR, T.jobs, &data), 1);
	buf_release(&data);
	ck_assert_uint_eq(head(), hd);
	ck_assert_int_eq(eth_rpc_get_block_hash(&T.rpc, bA, h), 1);
	ck_assert(memcmp(h, old_hash, 32));

	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(w.reorgs, 1);
	ck_assert_uint_eq(w.last_reorg_depth, hd - br);
	ck_assert_uint_eq(cursor(), hd + 1);
	/* job A ('seen') deleted; job 0 is now C from the replacement block */
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE code_inputs = CAST('job A' AS BLOB)"), 0);
	blob_is("code_inputs", "jobs WHERE job_id = '0'", "job C", 5);
	ck_assert_int_eq(q_int("SELECT block_number FROM jobs WHERE job_id = '0'"), (int64_t)br + 2);
	ck_assert_int_eq(eth_rpc_get_block_hash(&T.rpc, br + 2, h), 1);
	blob_is("block_hash", "jobs WHERE job_id = '0'", h, 32);
	ck_assert_int_eq(q_int("SELECT deadline_ms FROM jobs WHERE job_id = '0'"), 4000);
	/* job B was 'executed': dropped, never to be sent */
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ':' || note FROM jobs WHERE job_id = '1'"),
			 "dropped:reorged");
	/* our registration (before the fork point) is intact; hashes are the new chain's */
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	{
		struct buf hx = BUF_INIT;

		buf_addhex(&hx, old_hash, 32);
		ck_assert_int_eq(q_int("SELECT count(*) FROM block_hashes WHERE hash = x'%s'",
				       buf_cstr(&hx)), 0);
		buf_release(&hx);
	}
	hashes_match_chain();

	/* Our response to C is mined; C was submitted: confirmed. A new job D
	 * takes id 1, replacing the dropped B row (a recreated job). */
	q_exec("UPDATE jobs SET state = 'submitted' WHERE job_id = '0'");
	bS = submit_output(&T.us, 0, "c out", 5, 0);
	create_job(1, "job D", 5000, NULL); /* id 1 */
	sync_all(&w);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || we_responded || responses FROM jobs"
				" WHERE job_id = '0'"), "confirmed11");
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ':' || note FROM jobs WHERE job_id = '1'"),
			 "seen:recreated after reorg");
	blob_is("code_inputs", "jobs WHERE job_id = '1'", "job D", 5);
	ck_assert_int_eq(q_int("SELECT output IS NULL FROM jobs WHERE job_id = '1'"), 1);

	/* Reorg the response and D away; D's transaction is mined again in the
	 * replacement blocks, the response is not. */
	q_exec("UPDATE jobs SET state = 'executed' WHERE job_id = '1'");
	hd = head();
	create_job_data(&data, 1, "job D", 5000);
	reorg((unsigned)(hd - bS + 1), tx_json(DEV3_ADDR, T.jobs, &data), 0);
	buf_release(&data);
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(w.reorgs, 2);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || we_responded || responses || ':' ||"
				" note FROM jobs WHERE job_id = '0'"), "submitted00:response reorged");
	ck_assert_int_eq(q_int("SELECT count(*) FROM job_responses"), 0);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ':' || note FROM jobs WHERE job_id = '1'"),
			 "seen:recreated after reorg");
	ck_assert_int_eq(q_int("SELECT block_number FROM jobs WHERE job_id = '1'"), (int64_t)bS);
	ck_assert_int_eq(eth_rpc_get_block_hash(&T.rpc, bS, h), 1);
	blob_is("block_hash", "jobs WHERE job_id = '1'", h, 32);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 2);
	ck_assert_uint_eq(cursor(), head() + 1);
	hashes_match_chain();
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_reorg_submitted_kept)
{
	struct cw_watch w;
	uint64_t br, hd;
	char s[128];

	chain_up(1, 0);
	watch_open(&w);
	br = register_exec(&T.us, 1, 4);
	create_job(1, "sent", 5000, NULL);   /* id 0 */
	create_job(1, "other", 5000, NULL);  /* id 1 */
	owner_call("drainExecutor(address)", &T.us);
	sync_all(&w);
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_DRAINING);
	q_exec("UPDATE jobs SET state = 'submitted', submit_tx = 7 WHERE job_id = '0'");
	hd = head();
	reorg((unsigned)(hd - br), NULL, 0); /* empty replacement blocks */
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(w.reorgs, 1);
	ck_assert_str_eq(q_text(s, sizeof(s), "SELECT state || ':' || note || ':' || submit_tx FROM"
				" jobs WHERE job_id = '0'"), "submitted:creation block reorged:7");
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs WHERE job_id = '1'"), 0);
	/* the drain is gone with its block: active again */
	ck_assert_int_eq(cw_exec_status(&T.db), CW_EXEC_ACTIVE);
	ck_assert_int_eq(q_int("SELECT count(*) FROM executor_events"), 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM block_hashes WHERE number > %" PRIu64, br), 1);
	ck_assert_uint_eq(cursor(), hd + 1);
	hashes_match_chain();
	cw_watch_release(&w);
}
END_TEST

/* A shorter chain (evm_revert): wait while the node lacks our block, then undo. */
START_TEST(test_reorg_shorter_chain)
{
	struct cw_watch w;
	struct buf before = BUF_INIT, after = BUF_INIT;
	json_t *snap;
	uint64_t hd;

	chain_up(1, 0);
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	sync_all(&w);
	snap = rpc("evm_snapshot", NULL);
	hd = head();
	create_job(1, "vanishes", 5000, NULL);
	mine(1);
	sync_all(&w);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 1);
	{
		json_t *ok = rpc("evm_revert", json_pack("[O]", snap));
		ck_assert(json_is_true(ok));
		json_decref(ok);
	}
	json_decref(snap);
	ck_assert_uint_eq(head(), hd);
	snapshot(&before);
	ck_assert_int_eq(cw_watch_tick(&w), 0); /* node lacks block hd+2: wait */
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	snapshot(&after);
	ck_assert_str_eq(buf_cstr(&before), buf_cstr(&after));
	ck_assert_uint_eq(w.reorgs, 0);
	mine(3);
	ck_assert_int_eq(cw_watch_tick(&w), 0);
	ck_assert_uint_eq(w.reorgs, 1);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 0);
	ck_assert_uint_eq(cursor(), head() + 1);
	hashes_match_chain();
	buf_release(&before);
	buf_release(&after);
	cw_watch_release(&w);
}
END_TEST

START_TEST(test_rpc_down)
{
	struct cw_watch w, wdead;
	struct eth_rpc dead;
	struct buf before = BUF_INIT, after = BUF_INIT;
	char url[64];
	uint64_t b;

	chain_up(1, 1); /* anvil keeps its chain in a state file across restarts */
	watch_open(&w);
	register_exec(&T.us, 1, 4);
	create_job(1, "before", 5000, NULL);
	sync_all(&w);
	snapshot(&before);

	/* A node on a closed port. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	rpc_open(&dead, url, 1);
	ck_assert_int_eq(cw_watch_init(&wdead, &T.conf, &T.db, &dead, T.us.addr), 0);
	ck_assert_int_eq(cw_watch_tick(&wdead), -1);
	cw_watch_release(&wdead);
	eth_rpc_release(&dead);
	snapshot(&after);
	ck_assert_str_eq(buf_cstr(&before), buf_cstr(&after));

	/* Our node goes away. */
	anvil_kill(SIGTERM);
	ck_assert_int_eq(cw_watch_tick(&w), -1);
	ck_assert_int_eq(cw_watch_tick(&w), -1);
	snapshot(&after);
	ck_assert_str_eq(buf_cstr(&before), buf_cstr(&after));

	/* Back with the same chain: resumes, no reorg, new events seen. */
	anvil_start(1);
	b = create_job(1, "after", 5000, NULL);
	sync_all(&w);
	ck_assert_uint_eq(w.reorgs, 0);
	ck_assert_int_eq(q_int("SELECT count(*) FROM jobs"), 2);
	ck_assert_int_eq(q_int("SELECT block_number FROM jobs WHERE job_id = '1'"), (int64_t)b);
	ck_assert_uint_eq(cursor(), head() + 1);
	hashes_match_chain();
	buf_release(&before);
	buf_release(&after);
	cw_watch_release(&w);
}
END_TEST

static Suite *cw_watch_suite(void)
{
	Suite *s = suite_create("cw_watch");
	TCase *ta = tcase_create("apply");
	TCase *tc = tcase_create("anvil");

	tcase_add_checked_fixture(ta, fx_setup, fx_teardown);
	tcase_set_timeout(ta, 120);
	tcase_add_test(ta, test_init_refuses_bad_config);
	tcase_add_test(ta, test_event_topics);
	tcase_add_test(ta, test_apply_status_and_states);
	tcase_add_test(ta, test_apply_hostile);
	suite_add_tcase(s, ta);

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_executor_lifecycle);
	tcase_add_test(tc, test_jobs_created);
	tcase_add_test(tc, test_responses);
	tcase_add_test(tc, test_idempotent_and_restart);
	tcase_add_test(tc, test_small_range);
	tcase_add_test(tc, test_range_shrinks);
	tcase_add_test(tc, test_confirmations);
	tcase_add_test(tc, test_start_block_zero);
	tcase_add_test(tc, test_reorg);
	tcase_add_test(tc, test_reorg_submitted_kept);
	tcase_add_test(tc, test_reorg_shorter_chain);
	tcase_add_test(tc, test_rpc_down);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	snprintf(base_dir, sizeof(base_dir), "/tmp/test_cw_watch.XXXXXX");
	if (!mkdtemp(base_dir)) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(cw_watch_suite());

	/* Expected failures log at warn/error; CW_WATCH_TEST_LOGS=1 shows everything. */
	log_set_component("test_cw_watch");
	log_set_level(getenv("CW_WATCH_TEST_LOGS") ? LOG_DEBUG : LOG_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_dir(base_dir, 1);
	return failed ? 1 : 0;
}
