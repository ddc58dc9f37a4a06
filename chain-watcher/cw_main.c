/*
 * oyster-chain-watcher: answers Oyster jobs on chain.
 *
 * A master forks and supervises (restart with backoff, like oyster-fcgi):
 *   - the watcher   (cw_watch.c):  chain logs -> SQLite, reorg-safe;
 *   - N runners     (cw_runner.c): claim a job, run it in a "job" slot,
 *                                   sign the result with the enclave key;
 *   - the sender    (cw_sender.c): the only holder of the gas key and the
 *                                   nonce; submitOutput / slash / cancel.
 * SQLite is the only thing they share; each child opens its own database
 * connection and RPC handle after fork.  SIGTERM/SIGINT: every child
 * finishes what it is doing (a runner its current job) and exits; the
 * master then removes the job slots' cgroups.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "cw_prune.h"
#include "cw_runner.h"
#include "cw_sender.h"
#include "cw_watch.h"
#include "db.h"
#include "eth_hex.h"
#include "eth_key.h"
#include "eth_rpc.h"
#include "log.h"
#include "sandbox.h"
#include "sb_conf.h"
#include "version.h"
#include "banned.h"

enum role { ROLE_WATCH, ROLE_SEND, ROLE_RUN };

struct kid {
	pid_t pid;
	enum role role;
	unsigned index;
	unsigned fails;
	uint64_t started_ms, respawn_at;
};

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Unix ms: the jobs' `updated` stamps are wall clock. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL); /* SIGTERM cuts it short */
}

static const char *role_name(enum role r)
{
	return r == ROLE_WATCH ? "watcher" : r == ROLE_SEND ? "sender" : "runner";
}

static int child_main(const struct conf *c, const struct eth_key *enclave, enum role role, unsigned idx)
{
	struct sigaction sa;
	struct eth_rpc_opts o;
	struct eth_rpc rpc;
	struct db db;
	struct cw_watch w;
	struct cw_prune prune = { 0 };
	struct cw_sender s;
	struct cw_runner r;
	struct eth_key *key = NULL;
	char comp[32];
	unsigned backoff = 0;
	int rc;

	if (role == ROLE_RUN)
		snprintf(comp, sizeof(comp), "cw-runner-%u", idx);
	else
		snprintf(comp, sizeof(comp), "cw-%s", role_name(role));
	log_set_component(comp);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term; /* no SA_RESTART: sleeps end at once */
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/*
	 * If the master dies (crash, SIGKILL), children die at once too: a
	 * new master's runners take the claims back, and two runners with the
	 * same index must never run side by side.  (A clean SIGTERM to the
	 * master is forwarded instead and lets runners finish their job.)
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	/* A runner forks sandbox children: keep the key out of their copy. */
	if (role == ROLE_RUN) {
		key = eth_key_private_move((struct eth_key *)enclave);
		if (!key)
			return log_errno("cannot keep the enclave key out of forked children"), 1;
		enclave = key;
	}
	if (db_open(&db, c->db_path) < 0) {
		eth_key_private_free(key);
		return 1;
	}
	db_set_code_store_max(&db, c->code_store_bytes);
	eth_rpc_opts_init(&o);
	o.url = c->rpc_url;
	o.timeout_ms = c->rpc_timeout_ms;
	o.connect_timeout_ms = c->rpc_timeout_ms < 5000 ? c->rpc_timeout_ms : 5000;
	if (eth_rpc_init(&rpc, &o) < 0) {
		db_close(&db);
		eth_key_private_free(key);
		return 1;
	}
	switch (role) {
	case ROLE_WATCH: rc = cw_watch_init(&w, c, &db, &rpc, enclave->addr); break;
	case ROLE_SEND: rc = cw_sender_init(&s, c, &db, &rpc); break;
	default: rc = cw_runner_init(&r, c, &db, &rpc, enclave, idx); break;
	}
	if (rc < 0) {
		eth_rpc_release(&rpc);
		db_close(&db);
		eth_key_private_free(key);
		return 1;
	}
	log_msg(LOG_DEBUG, "%s ready", role_name(role));
	while (!stop_requested) {
		unsigned wait;

		switch (role) {
		case ROLE_WATCH:
			rc = cw_watch_tick(&w);
			cw_prune_tick(&prune, &db, c, wall_ms());
			wait = (unsigned)c->poll_interval_ms;
			break;
		case ROLE_SEND:
			rc = cw_sender_tick(&s);
			wait = c->poll_interval_ms < 250 ? (unsigned)c->poll_interval_ms : 250;
			break;
		default:
			rc = cw_runner_tick(&r);
			/* Look again at once after a job; idle runners check every 50 ms. */
			wait = rc == 1 ? 0 : 50;
			break;
		}
		if (rc < 0) {
			backoff = backoff ? (backoff < 8000 ? backoff * 2 : 10000) : 250;
			wait = wait > backoff ? wait : backoff;
		} else {
			backoff = 0;
		}
		if (wait && !stop_requested)
			nap(wait);
	}
	switch (role) {
	case ROLE_WATCH: cw_watch_release(&w); break;
	case ROLE_SEND: cw_sender_release(&s); break;
	default: cw_runner_release(&r); break;
	}
	eth_rpc_release(&rpc);
	db_close(&db);
	eth_key_private_free(key);
	return 0;
}

static void spawn(struct kid *k, const struct conf *c, const struct eth_key *enclave, int sfd)
{
	sigset_t none;
	pid_t pid = fork();

	if (pid < 0) {
		log_errno("fork");
		k->respawn_at = mono_ms() + 1000;
		return;
	}
	if (pid == 0) {
		close(sfd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(child_main(c, enclave, k->role, k->index));
	}
	k->pid = pid;
	k->started_ms = mono_ms();
	k->respawn_at = 0;
}

static int check_chain_config(const struct conf *c)
{
	const char *missing = !c->rpc_url[0] ? "rpc_url" : !c->jobs_contract[0] ? "jobs_contract"
			    : !c->executors_contract[0] ? "executors_contract"
			    : !c->code_contract[0] ? "code_contract" : NULL;

	if (missing)
		return log_err("%s is not set: the chain watcher needs rpc_url, code_contract, "
			       "executors_contract and jobs_contract", missing);
	return 0;
}

static int run_master(const struct conf *c)
{
	static struct eth_key enclave;
	struct buf err = BUF_INIT;
	struct kid *kids;
	size_t nkids = (size_t)c->job_capacity + 2;
	enum sb_cg_version cgv;
	sigset_t mask;
	struct db db;
	int sfd, stopping = 0;
	uint64_t give_up = 0;
	char addr[ETH_HEX_STR_SIZE(20)], tree[CONF_STR_MAX + 40];

	log_set_component("cw-master");
	if (check_chain_config(c) < 0)
		return 1;
	if (access(c->workerd_path, X_OK) < 0)
		return log_errno("workerd_path %s is not executable", c->workerd_path), 1;
	if (eth_key_load_file(c->enclave_key_path, &enclave, &err) < 0) {
		log_err("enclave key: %s", buf_cstr(&err));
		buf_release(&err);
		return 1;
	}
	buf_release(&err);
	if (sb_global_init((int)c->cgroups, &cgv) < 0)
		return log_err("cgroups are not usable on this host; refusing to run user code without limits "
			       "(set 'cgroups = off' to run anyway, unsafe)"), 1;
	if (sb_jail_preflight(c) < 0)
		return 1;
	if (db_open(&db, c->db_path) < 0)
		return 1;
	db_close(&db);
	kids = calloc(nkids, sizeof(*kids));
	if (!kids)
		return 1;
	kids[0].role = ROLE_WATCH;
	kids[1].role = ROLE_SEND;
	for (size_t i = 2; i < nkids; i++) {
		kids[i].role = ROLE_RUN;
		kids[i].index = (unsigned)(i - 2);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		free(kids);
		return log_errno("signalfd"), 1;
	}
	for (size_t i = 0; i < nkids; i++)
		spawn(&kids[i], c, &enclave, sfd);
	log_msg(LOG_INFO, "oyster-chain-watcher %s: enclave %s, %lld runners, rpc %s", OYSTER_VERSION,
		eth_hex_str(addr, sizeof(addr), enclave.addr, 20), (long long)c->job_capacity,
		c->rpc_url);

	for (;;) {
		struct pollfd p = { sfd, POLLIN, 0 };
		struct signalfd_siginfo si;
		uint64_t now = mono_ms(), next = 0;
		int running = 0, status;
		pid_t pid;

		for (size_t i = 0; i < nkids; i++) {
			struct kid *k = &kids[i];
			running += k->pid > 0;
			if (stopping || k->pid || !k->respawn_at)
				continue;
			if (k->respawn_at <= now) {
				spawn(k, c, &enclave, sfd);
				running++;
			} else if (!next || k->respawn_at < next) {
				next = k->respawn_at;
			}
		}
		if (stopping && !running)
			break;
		if (stopping && now >= give_up) {
			log_msg(LOG_WARN, "children still busy after the drain timeout; killing them");
			for (size_t i = 0; i < nkids; i++)
				if (kids[i].pid > 0)
					kill(kids[i].pid, SIGKILL);
			give_up = now + 5000;
		}
		poll(&p, 1, stopping ? (int)(give_up - now) : next ? (int)(next - now) : -1);
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				if (!stopping) {
					log_msg(LOG_INFO, "stopping: runners finish their jobs");
					stopping = 1;
					/* the longest job deadline the contracts allow is 300 s */
					give_up = mono_ms() + 310000;
					for (size_t i = 0; i < nkids; i++)
						if (kids[i].pid > 0)
							kill(kids[i].pid, SIGTERM);
				}
			} else if (si.ssi_signo == SIGHUP) {
				log_msg(LOG_INFO, "SIGHUP ignored: restart oyster-chain-watcher to apply a new configuration");
			}
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (size_t i = 0; i < nkids; i++) {
				struct kid *k = &kids[i];
				uint64_t lived, d = 100;

				if (k->pid != pid)
					continue;
				k->pid = 0;
				if (stopping)
					break;
				lived = mono_ms() - k->started_ms;
				k->fails = lived < 5000 ? k->fails + 1 : 0;
				for (unsigned f = 1; f < k->fails && d < 30000; f++)
					d *= 2;
				k->respawn_at = mono_ms() + (k->fails ? (d < 30000 ? d : 30000) : 0);
				if (!k->respawn_at)
					k->respawn_at = 1;
				log_msg(LOG_WARN, "%s %u (pid %d) %s %d; restarting", role_name(k->role), k->index,
					(int)pid, WIFSIGNALED(status) ? "killed by signal" : "exited with status",
					WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
				break;
			}
		}
	}
	close(sfd);
	free(kids);
	if (c->cgroups) {
		/* Only the job slots: the same instance's HTTP slots belong to oyster-fcgi. */
		snprintf(tree, sizeof(tree), "oyster/%.200s", c->instance);
		sb_cg_remove_kind(tree, "job");
	}
	eth_key_wipe(&enclave);
	log_msg(LOG_INFO, "stopped");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: oyster-chain-watcher [OPTIONS]\n"
		"\n"
		"Answer Oyster serverless jobs on chain: follow the Executors and Jobs\n"
		"contracts, run the jobs selected for this enclave in sandbox slots, and\n"
		"submit signed results (and slash timed-out executors).\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE    configuration file (the one oyster-fcgi reads;\n"
		"                       packaged: /etc/oyster-executor/executor.conf)\n"
		"  -t, --check-config   validate the configuration and exit\n"
		"  -V, --version        print the version\n"
		"  -h, --help           print this help\n"
		"\n"
		"Signals: SIGTERM/SIGINT let runners finish their jobs, then exit.\n"
		"See oyster-chain-watcher(8) and executor.conf(5).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct conf conf;
	const char *config = NULL;
	enum log_level lv;
	int check = 0, opt;

	while ((opt = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 't': check = 1; break;
		case 'V': printf("oyster-chain-watcher %s\n", OYSTER_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	log_set_component("cw-master");
	if (conf_load(&conf, config) < 0)
		return 1;
	if (log_level_parse(conf.log_level, &lv) == 0)
		log_set_level(lv);
	if (check) {
		if (check_chain_config(&conf) < 0)
			return 1;
		printf("configuration ok\n");
		return 0;
	}
	return run_master(&conf);
}
