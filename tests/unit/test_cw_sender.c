/*
 * Tests for chain-watcher/cw_sender.c against a real anvil with our
 * contracts (scripts/deploy-contracts.sh: 1 executor per job, execution
 * buffer 2 s, signatures valid 600 s, deadlines 1-300 s).
 *
 * Every test case is its own tcase whose unchecked fixture starts a fresh
 * anvil on a free loopback port (PR_SET_PDEATHSIG so it cannot outlive the
 * runner), deploys, registers one executor (the enclave key below, its
 * Register signature made with our eth_eip712 + eth_sign_digest) and
 * kills anvil in the teardown, which runs in the runner process whatever
 * the test did.  Jobs are created with cast from dev account 3; the test
 * then writes the jobs row itself, as the watcher and a runner would
 * (result, enclave signature over SubmitOutput), and drives the sender
 * tick by tick.  The gas key is anvil's dev key 2, written 0600.
 *
 * Assertions are on what the chain says (receipts, logs, the gas account's
 * nonce, the decoded raw transactions) as much as on the database.
 *
 * Time: the sender compares the wall clock with block timestamps; anvil
 * stamps blocks with the host clock, so the tests wait in real time (a
 * few seconds for the cases that need a window to close; the whole file
 * takes about 20 s, under valgrind too, since the time is spent waiting).
 * OYSTER_SKIP_SLOW=1 skips the three cases that mostly wait for windows to
 * close (too_late, stuck_cancelled, slash), e.g. on a very slow machine
 * where their timing could not hold.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "cw_sender.h"
#include "eth/eth_abi.h"
#include "eth/eth_eip712.h"
#include "eth/eth_hex.h"
#include "eth/eth_key.h"
#include "eth/eth_rpc.h"
#include "eth/eth_tx.h"
#include "eth/eth_u256.h"
#include "banned.h"

#define ANVIL_DEFAULT "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
#define CAST_DEFAULT "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
#define DEPLOY "scripts/deploy-contracts.sh"
/* anvil's well-known dev keys (not secrets) */
#define DEV0_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV1_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define DEV2_KEY "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
#define DEV2_ADDR "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
#define DEV3_KEY "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
#define DEV4_KEY "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
#define DEV4_ADDR "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65"
/* the test executor's enclave key */
#define ENCLAVE_KEY "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
#define BUFFER_S 2
#define CODEHASH "0xabababababababababababababababababababababababababababababababab"
#define INPUTS "0x7b2261223a317d"

#define CREATE_SIG "createJob(uint8,bytes32,bytes,uint256)"
#define REGISTER_SIG "registerExecutor(bytes,uint256,uint256,bytes,uint256,uint8)"
#define SUBMIT_SIG "submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)"
#define JOB_CREATED_EV "JobCreated(uint256,uint8,address,bytes32,bytes,uint256,address[])"
#define JOB_RESPONDED_EV "JobResponded(uint256,address,bytes,uint256,uint8,uint8)"
#define SLASHED_EV "SlashedOnExecutionTimeout(uint256,address)"

/* ---- fixture state (set in the runner, inherited by forked tests) ------- */

static pid_t anvil_pid = -1;
static char anvil_url[64];
static char tmpdir[128];
static char jobs_hex[ETH_ADDR_HEX_SIZE];
static unsigned char jobs_addr[20];
static struct eth_key enclave;

/* ---- helpers ------------------------------------------------------------ */

static int slow_skipped(void)
{
	const char *v = getenv("OYSTER_SKIP_SLOW");

	return v && !strcmp(v, "1");
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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

static const char *tool(const char *env, const char *def)
{
	const char *p = getenv(env);

	return p ? p : def;
}

/* In a forked child: die with the process that forked us. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

/* Run argv (stdin and stderr from /dev/null), stdout into out (trimmed); 0 if it exited 0. */
static int run_capture(const char *const argv[], char *out, size_t outsz)
{
	size_t got = 0;
	int p[2], status;
	uint64_t end = eth_rpc_now_ms() + 60000;
	pid_t pid, parent = getpid();

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		die_with_parent(parent);
		dup2(fd, 0);
		dup2(p[1], 1);
		if (!getenv("TEST_VERBOSE"))
			dup2(fd, 2);
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

/* cast send --async from key: the transaction hash (mined by automine). */
static void cast_send(const char *key, const char *to, const char *sig, const char *const args[],
		      unsigned char hash[32])
{
	const char *argv[24];
	char out[512];
	size_t n = 0;

	argv[n++] = tool("OYSTER_CAST", CAST_DEFAULT);
	argv[n++] = "send";
	argv[n++] = "--async";
	argv[n++] = "--rpc-url";
	argv[n++] = anvil_url;
	argv[n++] = "--private-key";
	argv[n++] = key;
	argv[n++] = to;
	if (sig)
		argv[n++] = sig;
	for (size_t i = 0; args && args[i]; i++) {
		ck_assert_uint_lt(n, 22);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	ck_assert_msg(run_capture(argv, out, sizeof(out)) == 0, "cast send %s failed: %s",
		      sig ? sig : to, out);
	ck_assert_msg(strlen(out) == 66, "cast send printed [%s]", out);
	from_hex(out, hash, 32);
}

static void rpc_open(struct eth_rpc *r)
{
	struct eth_rpc_opts o;

	eth_rpc_opts_init(&o);
	o.url = anvil_url;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 10000;
	ck_assert_int_eq(eth_rpc_init(r, &o), 0);
}

static void wait_receipt(struct eth_rpc *r, const unsigned char hash[32], struct eth_rpc_receipt *rc)
{
	uint64_t end = eth_rpc_now_ms() + 15000;
	int got;

	while ((got = eth_rpc_get_transaction_receipt(r, hash, rc)) == 0 && eth_rpc_now_ms() < end)
		sleep_ms(20);
	ck_assert_int_eq(got, 1);
}

static void rpc_void(struct eth_rpc *r, const char *method, json_t *params)
{
	json_t *res = NULL;

	ck_assert_msg(eth_rpc_call(r, method, params, &res, NULL) == 0, "%s: %s", method,
		      eth_rpc_last_error(r)->message);
	json_decref(res);
}

static uint64_t nonce_of(struct eth_rpc *r, const char *addr_hex)
{
	unsigned char a[20];
	uint64_t n;

	from_hex(addr_hex, a, 20);
	ck_assert_int_eq(eth_rpc_get_transaction_count(r, a, "latest", &n), 0);
	return n;
}

static uint64_t latest_timestamp(struct eth_rpc *r)
{
	struct eth_rpc_block b;

	ck_assert_int_eq(eth_rpc_get_block(r, "latest", 0, &b), 1);
	return b.timestamp;
}

static void write_key_file(const char *path, const char *hex)
{
	unsigned char k[32];
	int fd;

	from_hex(hex, k, 32);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, k, 32), 32);
	ck_assert_int_eq(close(fd), 0);
}

/* ---- the fixture: anvil + contracts + one registered executor ---------- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void parse_deploy_env(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	jobs_hex[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "jobs_contract=", 14)) {
			ck_assert_int_ge(strlen(line), 14 + 42);
			snprintf(jobs_hex, sizeof(jobs_hex), "%.42s", line + 14);
		}
	}
	fclose(f);
	ck_assert_int_eq(strlen(jobs_hex), 42);
	from_hex(jobs_hex, jobs_addr, 20);
}

/* 1 once something accepts TCP connections on 127.0.0.1:port. */
static int port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int anvil_try_start(void)
{
	struct eth_rpc_opts o;
	struct eth_rpc r;
	char port[16];
	uint64_t end, id = 0;
	int ready = 0, p = free_port();
	pid_t pid, parent = getpid();

	snprintf(port, sizeof(port), "%d", p);
	snprintf(anvil_url, sizeof(anvil_url), "http://127.0.0.1:%s", port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		die_with_parent(parent);
		dup2(fd, 0);
		dup2(fd, 1);
		execl(tool("OYSTER_ANVIL", ANVIL_DEFAULT), "anvil", "--port", port, "--host",
		      "127.0.0.1", "--silent", (char *)NULL);
		_exit(127);
	}
	anvil_pid = pid;
	/* Wait for the port quietly, then ask the chain id once. */
	end = eth_rpc_now_ms() + 30000;
	while (eth_rpc_now_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid) { /* e.g. port taken meanwhile */
			anvil_pid = -1;
			return -1;
		}
		if (port_open(p))
			break;
		sleep_ms(20);
	}
	eth_rpc_opts_init(&o);
	o.url = anvil_url;
	o.timeout_ms = 5000;
	if (eth_rpc_init(&r, &o) == 0) {
		ready = eth_rpc_chain_id(&r, &id) == 0 && id == 31337;
		eth_rpc_release(&r);
	}
	/* Whoever answered must be our child: it must still be alive. */
	if (ready && waitpid(pid, NULL, WNOHANG) == 0)
		return 0;
	if (anvil_pid > 0) {
		kill(anvil_pid, SIGKILL);
		waitpid(anvil_pid, NULL, 0);
		anvil_pid = -1;
	}
	return -1;
}

static void register_executor(void)
{
	struct eth_rpc r;
	struct eth_rpc_receipt rc;
	struct buf err = BUF_INIT;
	struct eth_key owner;
	unsigned char digest[32], sig[65], hash[32];
	char pub[ETH_PUB_HEX_SIZE], sighex[ETH_SIG_HEX_SIZE], ts[32], exec_hex[ETH_ADDR_HEX_SIZE];
	char line[256];
	uint64_t t;
	FILE *f;

	/* executors_contract from the deployment file */
	snprintf(line, sizeof(line), "%s/deploy.env", tmpdir);
	f = fopen(line, "r");
	ck_assert_ptr_nonnull(f);
	exec_hex[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "executors_contract=", 19))
			snprintf(exec_hex, sizeof(exec_hex), "%.42s", line + 19);
	fclose(f);
	ck_assert_int_eq(strlen(exec_hex), 42);

	ck_assert_int_eq(eth_key_from_hex(&enclave, ENCLAVE_KEY, strlen(ENCLAVE_KEY), &err), 0);
	ck_assert_int_eq(eth_key_from_hex(&owner, DEV1_KEY, strlen(DEV1_KEY), &err), 0);
	buf_release(&err);
	rpc_open(&r);
	t = latest_timestamp(&r);
	eth_eip712_register_digest(owner.addr, 4, 1, t, digest);
	ck_assert_int_eq(eth_sign_digest(&enclave, digest, sig), 0);
	snprintf(ts, sizeof(ts), "%" PRIu64, t);
	{
		const char *args[] = { eth_pub_hex(enclave.pub, pub), "4", ts,
				       eth_sig_hex(sig, sighex), "0", "1", NULL };

		cast_send(DEV1_KEY, exec_hex, REGISTER_SIG, args, hash);
	}
	wait_receipt(&r, hash, &rc);
	ck_assert_int_eq(rc.status, 1);
	eth_key_wipe(&owner);
	eth_rpc_release(&r);
}

static void chain_setup(void)
{
	char path[256], out[1024];
	int started = 0;

	snprintf(tmpdir, sizeof(tmpdir), "%s/oyster-cw-sender.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (int i = 0; i < 5 && !started; i++)
		started = anvil_try_start() == 0;
	ck_assert_msg(started, "anvil did not start");
	snprintf(path, sizeof(path), "%s/deploy.env", tmpdir);
	{
		const char *argv[] = { DEPLOY, anvil_url, DEV0_KEY, path, "1", "2", "600", "1000",
				       "300000", NULL };

		ck_assert_msg(run_capture(argv, out, sizeof(out)) == 0, "deploy failed: %s", out);
	}
	parse_deploy_env(path);
	register_executor();
}

static void chain_teardown(void)
{
	if (anvil_pid > 0) {
		kill(anvil_pid, SIGKILL);
		waitpid(anvil_pid, NULL, 0);
		anvil_pid = -1;
	}
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
	eth_key_wipe(&enclave);
}

/* ---- a sender over its own db/rpc handles ---------------------------------- */

struct env {
	struct conf c;
	struct db db;
	struct eth_rpc rpc;
	struct cw_sender s;
	char key_path[256];
};

static void env_open(struct env *e, int with_key)
{
	char path[256];

	conf_defaults(&e->c);
	snprintf(e->key_path, sizeof(e->key_path), "%s/gas.key", tmpdir);
	snprintf(e->c.gas_key_path, sizeof(e->c.gas_key_path), "%s", e->key_path);
	snprintf(e->c.rpc_url, sizeof(e->c.rpc_url), "%s", anvil_url);
	snprintf(e->c.jobs_contract, sizeof(e->c.jobs_contract), "%s", jobs_hex);
	e->c.chain_id = 0;           /* ask the node */
	e->c.execution_buffer_s = 0; /* read it from Jobs */
	e->c.resend_after_ms = 1000;
	if (with_key && access(e->key_path, F_OK) != 0)
		write_key_file(e->key_path, DEV2_KEY);
	snprintf(path, sizeof(path), "%s/state.db", tmpdir);
	ck_assert_int_eq(db_open(&e->db, path), 0);
	rpc_open(&e->rpc);
	ck_assert_int_eq(cw_sender_init(&e->s, &e->c, &e->db, &e->rpc), 0);
}

/* A new sender instance over the same handles (a restarted process). */
static void env_restart(struct env *e)
{
	cw_sender_release(&e->s);
	ck_assert_int_eq(cw_sender_init(&e->s, &e->c, &e->db, &e->rpc), 0);
}

static void env_close(struct env *e)
{
	cw_sender_release(&e->s);
	eth_rpc_release(&e->rpc);
	db_close(&e->db);
}

/* ---- database probes ------------------------------------------------------ */

/* First column of the first row of sql with ?1 = arg (NULL: unbound); -1 if no row. */
static int64_t q_int(struct env *e, const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(e->db.h, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void q_text(struct env *e, const char *sql, const char *arg, char *out, size_t n)
{
	sqlite3_stmt *st;

	out[0] = '\0';
	ck_assert_int_eq(sqlite3_prepare_v2(e->db.h, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void q_exec(struct env *e, const char *sql, const char *arg)
{
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_prepare_v2(e->db.h, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void job_state(struct env *e, const char *id, char *out, size_t n)
{
	q_text(e, "SELECT state FROM jobs WHERE job_id = ?1", id, out, n);
}

static int64_t job_txs(struct env *e, const char *id)
{
	return q_int(e, "SELECT count(*) FROM txs WHERE job_id = ?1", id);
}

/* A txs row's raw bytes, decoded (data points into raw). */
static void tx_row(struct env *e, int64_t id, struct buf *raw, struct eth_tx *tx, unsigned char from[20],
		   unsigned char hash[32])
{
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_prepare_v2(e->db.h, "SELECT raw, hash FROM txs WHERE id = ?1", -1,
					    &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	buf_reset(raw);
	ck_assert_int_eq(buf_add(raw, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)), 0);
	ck_assert_int_eq(sqlite3_column_bytes(st, 1), 32);
	memcpy(hash, sqlite3_column_blob(st, 1), 32);
	sqlite3_finalize(st);
	ck_assert_int_eq(eth_tx_decode(raw->data, raw->len, tx, from, NULL), 0);
}

/* ---- jobs: created on chain with cast, stored as the watcher/runner would -- */

struct job {
	char id[ETH_U256_DEC_SIZE];
	struct eth_u256 idv;
	uint64_t deadline_ms, block_number, log_index, block_time;
	unsigned char block_hash[32], tx_hash[32], owner[20];
	unsigned char selected[20 * 8];
	size_t nsel;
};

static void job_create(struct env *e, struct job *j, uint64_t deadline_ms)
{
	struct eth_rpc_receipt rc;
	struct eth_rpc_log_filter f;
	struct eth_rpc_log *logs = NULL;
	struct eth_rpc_block b;
	struct eth_abi_val *v = NULL;
	unsigned char topic[32], addr[1][20];
	const unsigned char (*topics)[32] = &topic;
	char dl[32];
	size_t n = 0;
	const struct eth_abi_val *sel;

	memset(j, 0, sizeof(*j));
	j->deadline_ms = deadline_ms;
	snprintf(dl, sizeof(dl), "%" PRIu64, deadline_ms);
	{
		const char *args[] = { "1", CODEHASH, INPUTS, dl, NULL };

		cast_send(DEV3_KEY, jobs_hex, CREATE_SIG, args, j->tx_hash);
	}
	wait_receipt(&e->rpc, j->tx_hash, &rc);
	ck_assert_int_eq(rc.status, 1);

	/* the JobCreated log, as the watcher reads it */
	memset(&f, 0, sizeof(f));
	f.from_block = f.to_block = rc.block_number;
	memcpy(addr[0], jobs_addr, 20);
	f.addresses = addr;
	f.naddr = 1;
	eth_abi_event_topic(JOB_CREATED_EV, topic);
	f.topics[0] = topics;
	f.ntopics[0] = 1;
	ck_assert_int_eq(eth_rpc_get_logs(&e->rpc, &f, &logs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(logs[0].tx_hash, j->tx_hash, 32);
	ck_assert_int_eq(eth_u256_from_be(&j->idv, logs[0].topics[1], 32), 0);
	eth_u256_to_dec(&j->idv, j->id);
	memcpy(j->owner, logs[0].topics[3] + 12, 20);
	j->block_number = logs[0].block_number;
	j->log_index = logs[0].log_index;
	memcpy(j->block_hash, logs[0].block_hash, 32);
	ck_assert_int_eq(eth_abi_decode("(bytes32,bytes,uint256,address[])", logs[0].data.data,
					logs[0].data.len, &v, NULL), 0);
	sel = eth_abi_item(v, 3);
	j->nsel = eth_abi_count(sel);
	ck_assert_uint_ge(j->nsel, 1);
	ck_assert_uint_le(j->nsel, 8);
	for (size_t i = 0; i < j->nsel; i++)
		ck_assert_int_eq(eth_abi_get_address(eth_abi_item(sel, i), j->selected + 20 * i), 0);
	eth_abi_val_free(v);
	eth_rpc_logs_free(logs, n);

	ck_assert_int_eq(eth_rpc_get_block(&e->rpc, NULL, j->block_number, &b), 1);
	j->block_time = b.timestamp;
}

/* Sign a result with the enclave key, as a runner does. */
static void sign_result(const struct job *j, const void *out, size_t len, uint64_t total,
			uint8_t code, uint64_t ts, unsigned char sig[65])
{
	unsigned char d[32];

	eth_eip712_submit_output_digest(&j->idv, out, len, total, code, ts, d);
	ck_assert_int_eq(eth_sign_digest(&enclave, d, sig), 0);
}

/*
 * The jobs row: state and slash_state as given; for 'executed' the result
 * "hello", totalTime 123, error 0, signed now.
 */
static void job_insert(struct env *e, const struct job *j, const char *state, int ours,
		       const char *slash_state)
{
	static const char out[] = "hello";
	sqlite3_stmt *st;
	unsigned char sig[65];
	uint64_t ts = wall_ms() / 1000, now = wall_ms();
	int executed = !strcmp(state, "executed");

	sign_result(j, out, 5, 123, 0, ts, sig);
	ck_assert_int_eq(sqlite3_prepare_v2(e->db.h,
		"INSERT INTO jobs(job_id, env, job_owner, codehash, code_inputs, deadline_ms, selected,"
		" ours, block_number, block_hash, tx_hash, log_index, block_time, seen_at, state,"
		" output, error_code, total_time, sign_timestamp, signature, slash_state, updated)"
		" VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
		" ?15, ?16, ?17, ?18, ?19, ?20, ?13)", -1, &st, NULL), SQLITE_OK);
	{
		unsigned char ch[32], in[7];

		from_hex(CODEHASH, ch, 32);
		from_hex(INPUTS, in, 7);
		sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, j->owner, 20, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 3, ch, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 4, in, 7, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(st, 5, (sqlite3_int64)j->deadline_ms);
	sqlite3_bind_blob(st, 6, j->selected, (int)(20 * j->nsel), SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, ours);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)j->block_number);
	sqlite3_bind_blob(st, 9, j->block_hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 10, j->tx_hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)j->log_index);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)j->block_time);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)now);
	sqlite3_bind_text(st, 14, state, -1, SQLITE_STATIC);
	if (executed) {
		sqlite3_bind_blob(st, 15, out, 5, SQLITE_STATIC);
		sqlite3_bind_int(st, 16, 0);
		sqlite3_bind_int(st, 17, 123);
		sqlite3_bind_int64(st, 18, (sqlite3_int64)ts);
		sqlite3_bind_blob(st, 19, sig, 65, SQLITE_TRANSIENT);
	}
	if (slash_state)
		sqlite3_bind_text(st, 20, slash_state, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Logs of event ev from Jobs with topic1 = the job id (and topic2 = addr if given). */
static size_t job_events(struct env *e, const struct job *j, const char *ev,
			 const unsigned char *addr20)
{
	struct eth_rpc_log_filter f;
	struct eth_rpc_log *logs = NULL;
	unsigned char t0[32], t1[32], t2[32], a[1][20];
	const unsigned char (*p0)[32] = &t0, (*p1)[32] = &t1, (*p2)[32] = &t2;
	uint64_t head;
	size_t n = 0;

	ck_assert_int_eq(eth_rpc_block_number(&e->rpc, &head), 0);
	memset(&f, 0, sizeof(f));
	f.from_block = 0;
	f.to_block = head;
	memcpy(a[0], jobs_addr, 20);
	f.addresses = a;
	f.naddr = 1;
	eth_abi_event_topic(ev, t0);
	memcpy(t1, j->idv.b, 32);
	f.topics[0] = p0;
	f.ntopics[0] = 1;
	f.topics[1] = p1;
	f.ntopics[1] = 1;
	if (addr20) {
		memset(t2, 0, 12);
		memcpy(t2 + 12, addr20, 20);
		f.topics[2] = p2;
		f.ntopics[2] = 1;
	}
	ck_assert_int_eq(eth_rpc_get_logs(&e->rpc, &f, &logs, &n), 0);
	eth_rpc_logs_free(logs, n);
	return n;
}

/* Tick until the job's state is want (bounded). */
static void tick_until_state(struct env *e, const char *id, const char *want, unsigned ms)
{
	uint64_t end = eth_rpc_now_ms() + ms;
	char st[32];

	for (;;) {
		ck_assert_int_eq(cw_sender_tick(&e->s), 0);
		job_state(e, id, st, sizeof(st));
		if (!strcmp(st, want) || eth_rpc_now_ms() >= end)
			break;
		sleep_ms(50);
	}
	ck_assert_msg(!strcmp(st, want), "job %s: state %s, want %s", id, st, want);
}

static void sleep_until_wall(uint64_t t_ms)
{
	uint64_t now = wall_ms();

	if (now < t_ms)
		sleep_ms((unsigned)(t_ms - now));
}

/* Capture what is logged (fd 2) at info level and above between begin and end. */
struct capture {
	int fd, saved;
};

static void capture_begin(struct capture *c)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/stderr.log", tmpdir);
	c->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(c->fd, 0);
	c->saved = dup(2);
	ck_assert_int_ge(c->saved, 0);
	ck_assert_int_eq(dup2(c->fd, 2), 2);
	log_set_level(LOG_INFO);
}

/* Stop capturing; how many log lines contained needle. */
static size_t capture_end(struct capture *c, const char *needle)
{
	char text[16384];
	ssize_t got;
	size_t hits = 0;

	log_set_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_WARN);
	ck_assert_int_eq(dup2(c->saved, 2), 2);
	close(c->saved);
	got = pread(c->fd, text, sizeof(text) - 1, 0);
	close(c->fd);
	ck_assert_int_ge(got, 0);
	text[got] = '\0';
	for (const char *p = text; (p = strstr(p, needle)); p++)
		hits++;
	return hits;
}

/* ---- (a) submit ---------------------------------------------------------- */

START_TEST(test_submit)
{
	struct env e;
	struct job j;
	struct eth_rpc_receipt rc;
	struct buf raw = BUF_INIT;
	struct eth_tx tx;
	unsigned char from[20], hash[32], gas_addr[20];
	char st[32];
	uint64_t n0;
	int64_t id;

	env_open(&e, 1);
	from_hex(DEV2_ADDR, gas_addr, 20);
	job_create(&e, &j, 60000);
	job_insert(&e, &j, "executed", 1, NULL);
	n0 = nonce_of(&e.rpc, DEV2_ADDR);

	tick_until_state(&e, j.id, "confirmed", 15000);
	ck_assert_int_eq(job_txs(&e, j.id), 1);
	id = q_int(&e, "SELECT submit_tx FROM jobs WHERE job_id = ?1", j.id);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(q_int(&e, "SELECT id FROM txs WHERE job_id = ?1", j.id), id);
	q_text(&e, "SELECT state || ':' || kind || ':' || status FROM txs WHERE job_id = ?1", j.id, st,
	       sizeof(st));
	ck_assert_str_eq(st, "mined:submit:1");
	ck_assert_int_gt(q_int(&e, "SELECT sent_at FROM txs WHERE job_id = ?1", j.id), 0);
	ck_assert_int_gt(q_int(&e, "SELECT gas_used FROM txs WHERE job_id = ?1", j.id), 21000);
	ck_assert_int_gt(q_int(&e, "SELECT gas_price FROM txs WHERE job_id = ?1", j.id), 0);
	ck_assert_int_eq(q_int(&e, "SELECT nonce FROM txs WHERE job_id = ?1", j.id), (int64_t)n0);

	/* what was sent: type 2, our chain, from the gas key, to Jobs, nonce n0 */
	tx_row(&e, id, &raw, &tx, from, hash);
	ck_assert_mem_eq(from, gas_addr, 20);
	ck_assert_uint_eq(tx.chain_id, 31337);
	ck_assert_uint_eq(tx.nonce, n0);
	ck_assert(tx.has_to);
	ck_assert_mem_eq(tx.to, jobs_addr, 20);
	ck_assert_uint_ge(tx.data_len, 4);
	{
		unsigned char sel[4];

		eth_abi_selector(SUBMIT_SIG, sel);
		ck_assert_mem_eq(tx.data, sel, 4);
	}
	ck_assert_int_eq(eth_rpc_get_transaction_receipt(&e.rpc, hash, &rc), 1);
	ck_assert_int_eq(rc.status, 1);
	ck_assert_int_eq(q_int(&e, "SELECT mined_block FROM txs WHERE job_id = ?1", j.id),
			 (int64_t)rc.block_number);

	/* the chain: JobResponded for our enclave, once; the account moved by one */
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, enclave.addr), 1);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);

	/* nothing more to do: further ticks send nothing */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs", NULL), 1);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);
	buf_release(&raw);
	env_close(&e);
}
END_TEST

/* ---- (b) crash safety ------------------------------------------------------ */

START_TEST(test_crash_safety)
{
	struct env e;
	struct job j1, j2, jx;
	struct eth_rpc_tx t;
	struct eth_rpc_receipt rc;
	unsigned char h1[32], h2[32];
	uint64_t n0;
	char st[32];

	env_open(&e, 1);
	n0 = nonce_of(&e.rpc, DEV2_ADDR);

	/* 1: crash after recording, before sending */
	job_create(&e, &j1, 60000);
	job_insert(&e, &j1, "executed", 1, NULL);
	e.s.test_stop = CW_SENDER_STOP_AFTER_RECORD;
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert(e.s.stopped);
	job_state(&e, j1.id, st, sizeof(st));
	ck_assert_str_eq(st, "submitted");
	ck_assert_int_eq(job_txs(&e, j1.id), 1);
	ck_assert_int_eq(q_int(&e, "SELECT sent_at IS NULL FROM txs WHERE job_id = ?1", j1.id), 1);
	{
		sqlite3_stmt *s;

		ck_assert_int_eq(sqlite3_prepare_v2(e.db.h, "SELECT hash FROM txs WHERE job_id = ?1",
						    -1, &s, NULL), SQLITE_OK);
		sqlite3_bind_text(s, 1, j1.id, -1, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
		memcpy(h1, sqlite3_column_blob(s, 0), 32);
		sqlite3_finalize(s);
	}
	/* nothing reached the node */
	eth_rpc_tx_init(&t);
	ck_assert_int_eq(eth_rpc_get_transaction_by_hash(&e.rpc, h1, &t), 0);
	eth_rpc_tx_release(&t);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0);

	/* another job is waiting when the sender restarts: it must not get j1's nonce */
	job_create(&e, &jx, 60000);
	job_insert(&e, &jx, "executed", 1, NULL);

	/* restart: the same bytes are broadcast, mined once */
	env_restart(&e);
	tick_until_state(&e, j1.id, "confirmed", 15000);
	tick_until_state(&e, jx.id, "confirmed", 15000);
	ck_assert_int_eq(job_txs(&e, j1.id), 1);
	ck_assert_int_eq(eth_rpc_get_transaction_receipt(&e.rpc, h1, &rc), 1);
	ck_assert_int_eq(rc.status, 1);
	ck_assert_int_eq(q_int(&e, "SELECT nonce FROM txs WHERE job_id = ?1", j1.id), (int64_t)n0);
	ck_assert_int_eq(job_txs(&e, jx.id), 1);
	ck_assert_int_eq(q_int(&e, "SELECT nonce FROM txs WHERE job_id = ?1", jx.id), (int64_t)n0 + 1);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 2);
	ck_assert_uint_eq(job_events(&e, &j1, JOB_RESPONDED_EV, enclave.addr), 1);
	ck_assert_uint_eq(job_events(&e, &jx, JOB_RESPONDED_EV, enclave.addr), 1);

	/* 2: crash after sending, before sent_at was written */
	job_create(&e, &j2, 60000);
	job_insert(&e, &j2, "executed", 1, NULL);
	e.s.test_stop = CW_SENDER_STOP_AFTER_SEND;
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert(e.s.stopped);
	ck_assert_int_eq(q_int(&e, "SELECT sent_at IS NULL FROM txs WHERE job_id = ?1", j2.id), 1);
	{
		sqlite3_stmt *s;

		ck_assert_int_eq(sqlite3_prepare_v2(e.db.h, "SELECT hash FROM txs WHERE job_id = ?1",
						    -1, &s, NULL), SQLITE_OK);
		sqlite3_bind_text(s, 1, j2.id, -1, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
		memcpy(h2, sqlite3_column_blob(s, 0), 32);
		sqlite3_finalize(s);
	}
	wait_receipt(&e.rpc, h2, &rc); /* automine: it is on chain already */
	env_restart(&e);
	tick_until_state(&e, j2.id, "confirmed", 15000);
	ck_assert_int_eq(job_txs(&e, j2.id), 1);
	ck_assert_int_gt(q_int(&e, "SELECT sent_at FROM txs WHERE job_id = ?1", j2.id), 0);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 3);
	ck_assert_uint_eq(job_events(&e, &j2, JOB_RESPONDED_EV, enclave.addr), 1);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs", NULL), 3);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE state = 'mined'", NULL), 3);
	env_close(&e);
}
END_TEST

/* ---- (c) already answered -------------------------------------------------- */

START_TEST(test_already_answered)
{
	struct env e;
	struct job j;
	char st[32], note[700];
	uint64_t n1;

	env_open(&e, 1);
	job_create(&e, &j, 60000);
	job_insert(&e, &j, "executed", 1, NULL);
	tick_until_state(&e, j.id, "confirmed", 15000);
	n1 = nonce_of(&e.rpc, DEV2_ADDR);

	/* the same job queued again (a copy of the row back in 'executed') */
	q_exec(&e, "UPDATE jobs SET state = 'executed', submit_tx = NULL WHERE job_id = ?1", j.id);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	q_text(&e, "SELECT note FROM jobs WHERE job_id = ?1", j.id, note, sizeof(note));
	ck_assert_msg(strstr(note, "revert") && strstr(note, "JobsAlreadySubmitted"), "note [%s]", note);
	ck_assert_int_eq(job_txs(&e, j.id), 1);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n1);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, enclave.addr), 1);
	env_close(&e);
}
END_TEST

/* ---- (d) too late ------------------------------------------------------------ */

START_TEST(test_too_late)
{
	struct env e;
	struct job j;
	char st[32];
	uint64_t n0;

	if (slow_skipped())
		return;
	env_open(&e, 1);
	job_create(&e, &j, 1000);
	n0 = nonce_of(&e.rpc, DEV2_ADDR);
	/* the runner finished after deadline + buffer */
	sleep_until_wall(j.block_time * 1000 + 1000 + BUFFER_S * 1000 + 200);
	job_insert(&e, &j, "executed", 1, NULL);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "expired");
	ck_assert_int_eq(job_txs(&e, j.id), 0);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, NULL), 0);
	env_close(&e);
}
END_TEST

/* ---- (e) stuck transaction replaced; past the window, cancelled ------------ */

static int64_t txs_fee(struct env *e, const char *col, int64_t id)
{
	char sql[128], ids[32];

	snprintf(sql, sizeof(sql), "SELECT %s FROM txs WHERE id = ?1", col);
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	return q_int(e, sql, ids);
}

START_TEST(test_stuck_replaced)
{
	struct env e;
	struct job j;
	struct buf raw = BUF_INIT;
	struct eth_tx tx;
	unsigned char from[20], h1[32], h2[32];
	int64_t id1, id2;
	uint64_t n0;
	char st[64];

	env_open(&e, 1);
	job_create(&e, &j, 60000);
	n0 = nonce_of(&e.rpc, DEV2_ADDR);
	rpc_void(&e.rpc, "evm_setAutomine", json_pack("[b]", 0));
	job_insert(&e, &j, "executed", 1, NULL);

	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "submitted");
	id1 = q_int(&e, "SELECT max(id) FROM txs WHERE job_id = ?1", j.id);
	ck_assert_int_gt(q_int(&e, "SELECT sent_at FROM txs WHERE job_id = ?1", j.id), 0);
	/* not due yet: no replacement */
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert_int_eq(job_txs(&e, j.id), 1);

	sleep_ms(1100);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert_int_eq(job_txs(&e, j.id), 2);
	id2 = q_int(&e, "SELECT max(id) FROM txs WHERE job_id = ?1", j.id);
	ck_assert_int_gt(id2, id1);
	q_text(&e, "SELECT group_concat(kind || ':' || state || ':' || nonce, ',') FROM"
		   " (SELECT * FROM txs WHERE job_id = ?1 ORDER BY id)", j.id, st, sizeof(st));
	{
		char want[64];

		snprintf(want, sizeof(want), "submit:pending:%" PRIu64 ",submit:pending:%" PRIu64, n0, n0);
		ck_assert_str_eq(st, want);
	}
	/* fees at least +10% (fee_bump_percent defaults to 15) */
	ck_assert_int_ge(txs_fee(&e, "max_fee", id2) * 100, txs_fee(&e, "max_fee", id1) * 110);
	ck_assert_int_ge(txs_fee(&e, "priority_fee", id2) * 100, txs_fee(&e, "priority_fee", id1) * 110);
	ck_assert_int_eq(q_int(&e, "SELECT submit_tx FROM jobs WHERE job_id = ?1", j.id), id2);
	/* the replacement carries the same call */
	tx_row(&e, id1, &raw, &tx, from, h1);
	{
		struct buf raw2 = BUF_INIT;
		struct eth_tx tx2;

		tx_row(&e, id2, &raw2, &tx2, from, h2);
		ck_assert_uint_eq(tx2.nonce, tx.nonce);
		ck_assert_uint_eq(tx2.data_len, tx.data_len);
		ck_assert_mem_eq(tx2.data, tx.data, tx.data_len);
		ck_assert_mem_ne(h1, h2, 32);
		buf_release(&raw2);
	}

	rpc_void(&e.rpc, "evm_mine", NULL);
	tick_until_state(&e, j.id, "confirmed", 10000);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE job_id = ?1 AND state = 'mined'", j.id), 1);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE job_id = ?1 AND state = 'replaced'", j.id), 1);
	ck_assert_int_eq(q_int(&e, "SELECT id FROM txs WHERE job_id = ?1 AND state = 'mined'", j.id), id2);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, enclave.addr), 1);
	buf_release(&raw);
	env_close(&e);
}
END_TEST

START_TEST(test_stuck_cancelled)
{
	struct env e;
	struct job j;
	struct buf raw = BUF_INIT;
	struct eth_tx tx;
	unsigned char from[20], h[32], gas_addr[20];
	int64_t id1, idc;
	uint64_t n0;
	char st[64];

	if (slow_skipped())
		return;
	env_open(&e, 1);
	from_hex(DEV2_ADDR, gas_addr, 20);
	job_create(&e, &j, 1000); /* window: block_time + 1 s + 2 s buffer */
	n0 = nonce_of(&e.rpc, DEV2_ADDR);
	rpc_void(&e.rpc, "evm_setAutomine", json_pack("[b]", 0));
	job_insert(&e, &j, "executed", 1, NULL);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "submitted");
	id1 = q_int(&e, "SELECT max(id) FROM txs WHERE job_id = ?1", j.id);

	/* resend due and the window (minus the margin) over: a cancel at the same nonce */
	{
		uint64_t late = j.block_time * 1000 + 1000 + BUFFER_S * 1000 - CW_SENDER_MARGIN_MS;
		uint64_t due = wall_ms() + 1100;

		sleep_until_wall(late > due ? late : due);
	}
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert_int_eq(job_txs(&e, j.id), 2);
	idc = q_int(&e, "SELECT max(id) FROM txs WHERE job_id = ?1", j.id);
	q_text(&e, "SELECT kind || ':' || state FROM txs WHERE id = (SELECT max(id) FROM txs"
		   " WHERE job_id = ?1)", j.id, st, sizeof(st));
	ck_assert_str_eq(st, "cancel:pending");
	tx_row(&e, idc, &raw, &tx, from, h);
	ck_assert_uint_eq(tx.nonce, n0);
	ck_assert_mem_eq(tx.to, gas_addr, 20);
	ck_assert_mem_eq(from, gas_addr, 20);
	ck_assert(eth_u256_is_zero(&tx.value));
	ck_assert_uint_eq(tx.data_len, 0);
	ck_assert_uint_eq(tx.gas_limit, 21000);
	ck_assert_int_ge(txs_fee(&e, "max_fee", idc) * 100, txs_fee(&e, "max_fee", id1) * 110);

	rpc_void(&e.rpc, "evm_mine", NULL);
	tick_until_state(&e, j.id, "expired", 10000);
	q_text(&e, "SELECT note FROM jobs WHERE job_id = ?1", j.id, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ck_assert_int_eq(q_int(&e, "SELECT id FROM txs WHERE job_id = ?1 AND state = 'mined'", j.id), idc);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE job_id = ?1 AND state = 'replaced'", j.id), 1);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, NULL), 0);
	buf_release(&raw);
	env_close(&e);
}
END_TEST

/* ---- (f) slashing ---------------------------------------------------------- */

START_TEST(test_slash)
{
	struct env e, e2;
	struct job j1, j2, j3;
	unsigned char sig[65], h[32];
	struct eth_rpc_receipt rc;
	char st[64], sighex[ETH_SIG_HEX_SIZE], ts[32];
	uint64_t n0, n1, t, last;

	if (slow_skipped())
		return;
	env_open(&e, 1);
	/* j1: nobody answers; j2: we answer (through the sender); j3: answered
	 * elsewhere (cast), our row does not know it yet */
	job_create(&e, &j1, 1000);
	job_create(&e, &j2, 1000);
	job_create(&e, &j3, 1000);
	job_insert(&e, &j1, "observed", 0, "pending");
	job_insert(&e, &j2, "executed", 1, NULL);
	tick_until_state(&e, j2.id, "confirmed", 3000);
	q_exec(&e, "UPDATE jobs SET slash_state = 'pending', responses = 1 WHERE job_id = ?1", j2.id);
	job_insert(&e, &j3, "observed", 0, "pending");
	t = wall_ms() / 1000;
	sign_result(&j3, "x", 1, 5, 0, t, sig);
	snprintf(ts, sizeof(ts), "%" PRIu64, t);
	{
		const char *args[] = { eth_sig_hex(sig, sighex), j3.id, "0x78", "5", "0", ts, NULL };

		cast_send(DEV4_KEY, jobs_hex, SUBMIT_SIG, args, h);
	}
	wait_receipt(&e.rpc, h, &rc);
	ck_assert_int_eq(rc.status, 1);

	/* before the window closes: nothing */
	n0 = nonce_of(&e.rpc, DEV2_ADDR);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	q_text(&e, "SELECT slash_state FROM jobs WHERE job_id = ?1", j1.id, st, sizeof(st));
	ck_assert_str_eq(st, "pending");
	ck_assert_int_eq(job_txs(&e, j1.id), 0);

	last = j3.block_time * 1000 + 1000 + BUFFER_S * 1000 + CW_SENDER_SLASH_DELAY_MS;
	sleep_until_wall(last + 100);
	{
		uint64_t end = eth_rpc_now_ms() + 10000;

		do {
			ck_assert_int_eq(cw_sender_tick(&e.s), 0);
			q_text(&e, "SELECT slash_state FROM jobs WHERE job_id = ?1", j1.id, st, sizeof(st));
			if (!strcmp(st, "done"))
				break;
			sleep_ms(100);
		} while (eth_rpc_now_ms() < end);
	}
	ck_assert_str_eq(st, "done");
	q_text(&e, "SELECT kind || ':' || state || ':' || status FROM txs WHERE job_id = ?1", j1.id, st,
	       sizeof(st));
	ck_assert_str_eq(st, "slash:mined:1");
	ck_assert_uint_eq(job_events(&e, &j1, SLASHED_EV, enclave.addr), 1);

	/* j2 fully answered: done without a transaction */
	q_text(&e, "SELECT slash_state FROM jobs WHERE job_id = ?1", j2.id, st, sizeof(st));
	ck_assert_str_eq(st, "done");
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE job_id = ?1 AND kind = 'slash'", j2.id), 0);
	/* j3: the chain refused (nothing to slash): skipped, nothing sent */
	q_text(&e, "SELECT slash_state FROM jobs WHERE job_id = ?1", j3.id, st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ck_assert_int_eq(job_txs(&e, j3.id), 0);
	ck_assert_uint_eq(job_events(&e, &j3, SLASHED_EV, NULL), 0);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);

	/* another sender process on the same database sends nothing more */
	n1 = nonce_of(&e.rpc, DEV2_ADDR);
	env_close(&e);
	env_open(&e2, 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cw_sender_tick(&e2.s), 0);
	ck_assert_uint_eq(nonce_of(&e2.rpc, DEV2_ADDR), n1);
	ck_assert_int_eq(q_int(&e2, "SELECT count(*) FROM txs WHERE kind = 'slash'", NULL), 1);
	ck_assert_uint_eq(job_events(&e2, &j1, SLASHED_EV, NULL), 1);
	env_close(&e2);
}
END_TEST

/* ---- (g) nonce used behind the sender's back -------------------------------- */

START_TEST(test_nonce_too_low)
{
	struct env e;
	struct job j;
	unsigned char h[32];
	struct eth_rpc_receipt rc;
	char st[128], want[128];
	uint64_t n0;

	env_open(&e, 1);
	job_create(&e, &j, 60000);
	n0 = nonce_of(&e.rpc, DEV2_ADDR);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0); /* the counter is now n0 */
	ck_assert(e.s.have_nonce);
	ck_assert_uint_eq(e.s.nonce, n0);
	{
		const char *args[] = { "--value", "1", NULL };

		cast_send(DEV2_KEY, "0x000000000000000000000000000000000000dEaD", NULL, args, h);
	}
	wait_receipt(&e.rpc, h, &rc);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);

	job_insert(&e, &j, "executed", 1, NULL);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	/* refused with "nonce too low": dropped, the job back in the queue */
	q_text(&e, "SELECT group_concat(state || ':' || nonce, ',') FROM txs WHERE job_id = ?1", j.id,
	       st, sizeof(st));
	snprintf(want, sizeof(want), "dropped:%" PRIu64, n0);
	ck_assert_str_eq(st, want);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "executed");
	ck_assert(!e.s.have_nonce);

	tick_until_state(&e, j.id, "confirmed", 15000);
	q_text(&e, "SELECT group_concat(state || ':' || nonce, ',') FROM (SELECT * FROM txs"
		   " WHERE job_id = ?1 ORDER BY id)", j.id, st, sizeof(st));
	snprintf(want, sizeof(want), "dropped:%" PRIu64 ",mined:%" PRIu64, n0, n0 + 1);
	ck_assert_str_eq(st, want);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 2);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, enclave.addr), 1);
	env_close(&e);
}
END_TEST

/*
 * (g2) the nonce is taken while our transaction waits in the pool: the key
 * is used elsewhere with higher fees, that transaction is mined, ours can
 * never be.  The sender notices (no receipt, the nonce below the account's
 * count), drops its row and submits again with the next nonce.
 */
START_TEST(test_nonce_taken)
{
	struct env e;
	struct job j;
	unsigned char h[32];
	char st[128], want[128], nonce[32];
	uint64_t n0;

	env_open(&e, 1);
	job_create(&e, &j, 60000);
	n0 = nonce_of(&e.rpc, DEV2_ADDR);
	rpc_void(&e.rpc, "evm_setAutomine", json_pack("[b]", 0));
	job_insert(&e, &j, "executed", 1, NULL);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "submitted");

	snprintf(nonce, sizeof(nonce), "%" PRIu64, n0);
	{
		const char *args[] = { "--value", "1", "--nonce", nonce, "--gas-price", "100gwei",
				       "--priority-gas-price", "50gwei", NULL };

		cast_send(DEV2_KEY, "0x000000000000000000000000000000000000dEaD", NULL, args, h);
	}
	rpc_void(&e.rpc, "evm_mine", NULL);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), n0 + 1);

	/* not yet due: the row waits */
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "submitted");
	sleep_ms(1100);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	/* dropped, and submitted again at once with the next nonce */
	q_text(&e, "SELECT group_concat(kind || ':' || state || ':' || nonce, ',') FROM (SELECT *"
		   " FROM txs WHERE job_id = ?1 ORDER BY id)", j.id, st, sizeof(st));
	snprintf(want, sizeof(want), "submit:dropped:%" PRIu64 ",submit:pending:%" PRIu64, n0, n0 + 1);
	ck_assert_str_eq(st, want);
	rpc_void(&e.rpc, "evm_mine", NULL);
	tick_until_state(&e, j.id, "confirmed", 10000);
	snprintf(want, sizeof(want), "submit:dropped:%" PRIu64 ",submit:mined:%" PRIu64, n0, n0 + 1);
	q_text(&e, "SELECT group_concat(kind || ':' || state || ':' || nonce, ',') FROM (SELECT *"
		   " FROM txs WHERE job_id = ?1 ORDER BY id)", j.id, st, sizeof(st));
	ck_assert_str_eq(st, want);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, enclave.addr), 1);
	env_close(&e);
}
END_TEST

/*
 * (g3) the gas account cannot pay: each try is refused and dropped (the
 * job stays queued), the error is logged once a minute, and once funded
 * the job goes through.
 */
START_TEST(test_no_funds)
{
	struct env e;
	struct job j;
	struct capture cap;
	char st[64];

	env_open(&e, 1);
	job_create(&e, &j, 60000);
	rpc_void(&e.rpc, "anvil_setBalance", json_pack("[s,s]", DEV2_ADDR, "0x0"));
	job_insert(&e, &j, "executed", 1, NULL);
	capture_begin(&cap);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert_uint_eq(capture_end(&cap, "the gas account cannot pay"), 1);
	job_state(&e, j.id, st, sizeof(st));
	ck_assert_str_eq(st, "executed");
	ck_assert_int_ge(job_txs(&e, j.id), 1);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE state != 'dropped'", NULL), 0);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV2_ADDR), 0);

	rpc_void(&e.rpc, "anvil_setBalance", json_pack("[s,s]", DEV2_ADDR, "0x8ac7230489e80000"));
	tick_until_state(&e, j.id, "confirmed", 15000);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs WHERE state = 'mined'", NULL), 1);
	ck_assert_int_eq(q_int(&e, "SELECT nonce FROM txs WHERE state = 'mined'", NULL), 0);
	ck_assert_uint_eq(job_events(&e, &j, JOB_RESPONDED_EV, enclave.addr), 1);
	env_close(&e);
}
END_TEST

/* ---- (h) no gas key yet; then a key; then a rotated key ------------------------ */

START_TEST(test_gas_key_later)
{
	struct env e;
	struct job j1, j2;
	struct buf raw = BUF_INIT;
	struct eth_tx tx;
	unsigned char from[20], h[32], dev4[20];
	char tmp[300];
	uint64_t n4;
	int64_t id;
	struct capture cap;

	env_open(&e, 0);
	job_create(&e, &j1, 60000);
	job_insert(&e, &j1, "executed", 1, NULL);
	/* ticks over more than a second re-check the file, but say so once */
	capture_begin(&cap);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(cw_sender_tick(&e.s), 0);
		sleep_ms(300);
	}
	ck_assert_uint_eq(capture_end(&cap, "waiting for a gas key"), 1);
	ck_assert(!e.s.have_key);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs", NULL), 0);
	job_state(&e, j1.id, tmp, sizeof(tmp));
	ck_assert_str_eq(tmp, "executed");

	/* a key file readable by others is refused (still nothing sent) */
	write_key_file(e.key_path, DEV2_KEY);
	ck_assert_int_eq(chmod(e.key_path, 0644), 0);
	sleep_ms(1100);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert(!e.s.have_key);
	ck_assert_int_eq(q_int(&e, "SELECT count(*) FROM txs", NULL), 0);

	/* fixed: used at the next check (at most a second later) */
	ck_assert_int_eq(chmod(e.key_path, 0600), 0);
	ck_assert_int_eq(cw_sender_tick(&e.s), 0);
	ck_assert(!e.s.have_key); /* checked less than a second ago */
	sleep_ms(1100);
	tick_until_state(&e, j1.id, "confirmed", 15000);
	ck_assert(e.s.have_key);

	/* rotation: the file is replaced by another key */
	from_hex(DEV4_ADDR, dev4, 20);
	n4 = nonce_of(&e.rpc, DEV4_ADDR);
	snprintf(tmp, sizeof(tmp), "%s.new", e.key_path);
	write_key_file(tmp, DEV4_KEY);
	ck_assert_int_eq(rename(tmp, e.key_path), 0);
	sleep_ms(1100);
	job_create(&e, &j2, 60000);
	job_insert(&e, &j2, "executed", 1, NULL);
	tick_until_state(&e, j2.id, "confirmed", 15000);
	id = q_int(&e, "SELECT submit_tx FROM jobs WHERE job_id = ?1", j2.id);
	tx_row(&e, id, &raw, &tx, from, h);
	ck_assert_mem_eq(from, dev4, 20);
	ck_assert_uint_eq(tx.nonce, n4);
	ck_assert_uint_eq(nonce_of(&e.rpc, DEV4_ADDR), n4 + 1);
	buf_release(&raw);
	env_close(&e);
}
END_TEST

/* ---- suite ----------------------------------------------------------------- */

/* One tcase per test: each gets its own anvil from the unchecked fixture. */
#define ADD_CASE(s, name, t)                                              \
	do {                                                              \
		TCase *tc_ = tcase_create(name);                          \
		tcase_add_unchecked_fixture(tc_, chain_setup, chain_teardown); \
		tcase_set_timeout(tc_, 120);                              \
		tcase_add_test(tc_, t);                                   \
		suite_add_tcase(s, tc_);                                  \
	} while (0)

static Suite *cw_sender_suite(void)
{
	Suite *s = suite_create("cw_sender");

	ADD_CASE(s, "submit", test_submit);
	ADD_CASE(s, "crash_safety", test_crash_safety);
	ADD_CASE(s, "already_answered", test_already_answered);
	ADD_CASE(s, "too_late", test_too_late);
	ADD_CASE(s, "stuck_replaced", test_stuck_replaced);
	ADD_CASE(s, "stuck_cancelled", test_stuck_cancelled);
	ADD_CASE(s, "slash", test_slash);
	ADD_CASE(s, "nonce_too_low", test_nonce_too_low);
	ADD_CASE(s, "nonce_taken", test_nonce_taken);
	ADD_CASE(s, "no_funds", test_no_funds);
	ADD_CASE(s, "gas_key_later", test_gas_key_later);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cw_sender_suite());
	int failed;

	log_set_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
