#include "fa_handler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "fa_api.h"
#include "log.h"
#include "sandbox.h"
#include "sb_conf.h"
#include "banned.h"

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

/* The RPC handle is made on first use, in this process (never across fork). */
static struct eth_rpc *handler_rpc(const struct conf *conf)
{
	static struct eth_rpc rpc;
	static int state; /* 0 untried, 1 ok, -1 failed */
	struct eth_rpc_opts o;

	if (!conf->rpc_url[0])
		return NULL;
	if (state == 0) {
		eth_rpc_opts_init(&o);
		o.url = conf->rpc_url;
		o.timeout_ms = conf->rpc_timeout_ms;
		o.connect_timeout_ms = conf->rpc_timeout_ms < 5000 ? conf->rpc_timeout_ms : 5000;
		state = eth_rpc_init(&rpc, &o) == 0 ? 1 : -1;
	}
	return state == 1 ? &rpc : NULL;
}

static void serve(const struct fa_handler_args *a, struct db *db, struct sb_slot *slot, int fd)
{
	struct fa_ctx c;
	struct fa_limits lim = {
		.max_params_bytes = 64 * 1024,
		.max_params = 256,
		.max_body = (size_t)a->conf->max_request_bytes,
		.io_timeout_ms = 30000,
	};

	fa_ctx_init(&c, fd);
	c.conf = a->conf;
	c.db = db;
	c.slot = slot;
	c.stats = a->stats;
	c.enclave = a->enclave;
	c.rpc = handler_rpc(a->conf);
	c.t0_ms = mono_ms();
	if (fa_request_read(&c.req, &lim) < 0) {
		fa_ctx_release(&c);
		return; /* logged by the reader; nothing sensible to answer */
	}
	fa_dispatch(&c);
	if (fa_ctx_send(&c) < 0)
		log_msg(LOG_WARN, "could not send the response (peer gone?)");
	fa_stats_request(a->stats, c.route, c.status);
	fa_stats_request_duration(a->stats, c.route, mono_ms() - c.t0_ms);
	fa_ctx_log(&c);
	fa_ctx_release(&c);
}

int fa_handler_main(const struct fa_handler_args *a)
{
	struct sigaction sa;
	sigset_t block, waitmask;
	struct sb_slot slot;
	struct sb_config sbc;
	struct db db;
	struct fa_handler_args args;
	struct eth_key *key = NULL;
	char comp[32];
	int have_slot = 0, ep = -1, queue_empty = 0, rc = 0;

	snprintf(comp, sizeof(comp), a->exec ? "fcgi-handler-%u" : "fcgi-control", a->slot);
	log_set_component(comp);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL); /* Ctrl-C reaches the whole group; the master decides */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 1;

	/*
	 * The enclave key came with the fork from the master; keep it where the
	 * sandbox children this handler forks cannot inherit it.
	 */
	args = *a;
	if (a->enclave) {
		key = eth_key_private_move((struct eth_key *)a->enclave);
		if (!key) {
			log_errno("cannot keep the enclave key out of forked children");
			return 1;
		}
		args.enclave = key;
	}
	a = &args;
	if (db_open(&db, a->conf->db_path) < 0) {
		eth_key_private_free(key);
		return 1;
	}
	db_set_code_store_max(&db, a->conf->code_store_bytes);
	if (a->exec) {
		sb_config_from_conf(&sbc, a->conf, "slot", (size_t)a->conf->max_response_bytes);
		if (sb_slot_open(&slot, &sbc, a->slot) < 0) {
			db_close(&db);
			eth_key_private_free(key);
			return 1;
		}
		have_slot = 1;
	}
	/*
	 * All handlers of a socket wait on it; EPOLLEXCLUSIVE wakes one of them
	 * per connection instead of all (with ppoll every idle handler woke and
	 * all but one found nothing to accept, CPU that the 2-core host then
	 * lacked for the one that did).
	 */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, a->listen_fd,
				&(struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE }) < 0) {
		log_errno("epoll");
		stop_requested = 1;
		rc = 1; /* not a clean stop: the master restarts us */
	}
	log_msg(LOG_DEBUG, "handler ready");
	/*
	 * Try accept() first and sleep only when nothing is queued: an
	 * exclusive wakeup goes to one waiting handler, so a handler coming
	 * back from a request must take what queued meanwhile itself, or
	 * connections wait while it sleeps.  The zero-timeout epoll_pwait
	 * still opens the signal mask each round, so a pending SIGTERM stops
	 * the loop even when connections never stop coming.
	 */
	while (!stop_requested) {
		struct epoll_event ev;
		int fd;

		if (epoll_pwait(ep, &ev, 1, queue_empty ? -1 : 0, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			log_errno("epoll_pwait");
			rc = 1;
			break;
		}
		fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			queue_empty = errno == EAGAIN || errno == EWOULDBLOCK;
			if (!queue_empty && errno != EINTR && errno != ECONNABORTED)
				log_errno("accept");
			continue;
		}
		queue_empty = 0;
		serve(a, &db, have_slot ? &slot : NULL, fd);
		/* nginx finishes the response when the connection closes ... */
		close(fd);
		/* ... so what the run left for after the reply comes after that. */
		if (have_slot) {
			sb_slot_finish(&slot);
			/*
			 * To the back of the line: the kernel hands a connection
			 * to the first waiting handler in the order they joined
			 * the socket's wait queue, so at low load the first
			 * handler would take every request, each one finding its
			 * workerd still making the isolate sb_slot_finish just
			 * asked for.  Joining again after every request makes the
			 * order least recently used: each slot gets the others'
			 * requests' time for that work.
			 */
			if (epoll_ctl(ep, EPOLL_CTL_DEL, a->listen_fd, NULL) < 0 ||
			    epoll_ctl(ep, EPOLL_CTL_ADD, a->listen_fd,
				      &(struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE }) < 0) {
				log_errno("epoll_ctl");
				rc = 1; /* not a clean stop: the master restarts us */
				break;
			}
		}
	}
	if (ep >= 0)
		close(ep);
	if (have_slot) {
		fa_stats_slot_busy(a->stats, a->slot, 0);
		sb_slot_close(&slot);
	}
	db_close(&db);
	eth_key_private_free(key);
	return rc;
}
