/*
 * Pool mode: one warm workerd per slot, a new V8 isolate per request.
 * See sandbox.h for the model and sb_loader.js for the loader worker.
 *
 * Life of the slot's workerd:
 *   start     the config (loader plus the slot's baked codes, sb_bake.h) is
 *             written, the listening sockets are made here and handed over
 *             (fd 3 the loader's, 5.. the baked workers'), --control-fd 4
 *             reports when workerd listens ("ready"); the process starts in
 *             the slot cgroup at slot open and again right after every
 *             recycle.
 *   run       wait for "ready" if the start is not over (bounded by the
 *             request's deadline, and reported as start_wait_ms), reset the
 *             cgroup counters, send the request on a kept connection or a
 *             new one (to the baked worker for a baked key, else to the
 *             loader), read the answer.
 *   prepare   after the caller replied (sb_slot_finish), when the slot's
 *             last two new-isolate runs that loaded (kept-isolate runs and
 *             failed loads between them do not count) were of the same
 *             code and pool_prepare is on: that code goes
 *             to the loader for the next request (sb_loader.js, "prepared
 *             isolate"), which makes the isolate and evaluates its modules
 *             while the slot waits; the next request, when it is that code,
 *             is sent on the same loader request and runs there at once;
 *             any other request drops it (closes that connection) first.
 *             Making it burns the workerd's one thread: if that spins past
 *             a run's deadline in CPU, the workerd is replaced before the
 *             next request (sb_prepare.c).
 *   recycle   after the caller replied (sb_slot_finish): SIGKILL, empty the
 *             cgroup, reap, start again, and wait until the new one listens
 *             so the caller takes no connection it would keep waiting.
 *             After any timeout, OOM, crash, cut-off response or loader
 *             error (never reuse a workerd that ran code past its deadline
 *             or whose state we cannot vouch for), after
 *             pool_recycle_requests requests, when its memory after a
 *             request has grown by more than pool_recycle_memory over its
 *             level after its first request, and when a code joins the
 *             baked set.
 * A workerd found dead before a request (killed from outside) is reaped
 * and replaced first.
 *
 * Usage: CPU is the slot cgroup's counter over the request once workerd is
 * ready; peak memory is the cgroup's watermark reset before the request, so
 * it includes the warm workerd itself (see sb_result).  Without cgroups the
 * same figures come from /proc: the workerd's CPU time delta and its VmHWM,
 * reset through clear_refs.
 */
#include "sb_pool.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "sb_loader.h"
#include "banned.h"

/* Every baked socket is a listening descriptor of its own (sb_proc_spawn). */
_Static_assert(1 + SB_BAKE_MAX <= SB_MAX_LISTEN, "too many baked workers for sb_proc_spawn");

/* Does the set hold a code the running workerd does not serve? */
static int bake_due(const struct sb_pool *p)
{
	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		if (p->bake.e[i].key[0] && !(p->live & (1U << i)))
			return 1;
	return 0;
}

/* How long sb_slot_finish waits for a new workerd to listen (see there). */
#define SB_POOL_READY_WAIT_MS 5000

/* ---- the warm workerd ---- */

static int start(struct sb_slot *s)
{
	struct sb_pool *p = s->pool;
	char *args[8 + 2 * SB_BAKE_MAX] = { (char *)"serve", (char *)"config.capnp", (char *)"--experimental",
					    (char *)"--socket-fd", (char *)"http=3",
					    (char *)"--control-fd", (char *)"4" };
	char fdarg[SB_BAKE_MAX][16];
	int lfds[1 + SB_BAKE_MAX];
	unsigned nl = 0, na = 7, live = 0;
	struct buf cfg = BUF_INIT;
	int r = -1;

	/* The config names the baked set, so it is written at every start. */
	if (sb_loader_config(&cfg, s->cfg.compat_date, p->token, &p->bake) < 0 ||
	    sb_write_file(s->dir, "config.capnp", cfg.data, cfg.len) < 0) {
		log_err("slot %u: cannot write the workerd config", s->index);
		goto out;
	}
	if ((lfds[nl] = sb_listen_socket(s->sock)) < 0)
		goto out;
	nl++;
	for (unsigned i = 0; i < SB_BAKE_MAX; i++) {
		if (!p->bake.e[i].key[0])
			continue;
		if ((lfds[nl] = sb_listen_socket(p->bsock[i])) < 0)
			goto out;
		snprintf(fdarg[i], sizeof(fdarg[i]), "b%u=%u", i, SB_EXTRA_FD0 + nl - 1);
		nl++;
		args[na++] = (char *)"--socket-fd";
		args[na++] = fdarg[i];
		live |= 1U << i;
	}
	args[na] = NULL;
	if (sb_proc_spawn(s, args, lfds, nl, 1, &p->proc, NULL) < 0)
		goto out;
	p->ready = 0;
	p->served = 0;
	p->base_mem = 0;
	p->nsent = 0;
	p->live = live;
	p->starts++;
	buf_reset(&p->ctl);
	log_msg(LOG_DEBUG, "slot %u: warm workerd %d started (start #%u, %u baked)", s->index,
		(int)p->proc.pid, p->starts, nl - 1);
	r = 0;
out:
	for (unsigned i = 0; i < nl; i++)
		close(lfds[i]);
	buf_release(&cfg);
	return r;
}

static void drop_conns(struct sb_pool *p)
{
	for (unsigned i = 0; i < 1 + SB_BAKE_MAX; i++) {
		if (p->conn[i] >= 0)
			close(p->conn[i]);
		p->conn[i] = -1;
	}
	sb_prepared_drop(p);
}

static void stop(struct sb_slot *s)
{
	drop_conns(s->pool);
	sb_proc_kill(&s->pool->proc, NULL, NULL);
	if (s->cg)
		sb_cg_kill_all(s->cg);
}

/*
 * Replace the workerd, after the reply: killing it waits for its whole pid
 * namespace to go, a few ms the client need not wait for.
 */
static void recycle(struct sb_slot *s, const char *why, struct sb_result *res)
{
	s->pool->pending = why;
	if (res)
		res->recycled = 1;
}

static void recycle_now(struct sb_slot *s)
{
	struct sb_pool *p = s->pool;

	if (!p->pending)
		return;
	log_msg(LOG_DEBUG, "slot %u: recycling workerd %d after %u requests: %s", s->index,
		(int)p->proc.pid, p->served, p->pending);
	p->pending = NULL;
	stop(s);
	if (start(s) < 0)
		log_err("slot %u: cannot start a new workerd (retried at the next request)", s->index);
}

/*
 * Wait until the control fd says workerd listens: 1 ready, 0 deadline
 * passed, -1 workerd exited (or closed its control fd) first.
 */
static int wait_ready(struct sb_slot *s, uint64_t deadline)
{
	struct sb_pool *p = s->pool;

	while (!p->ready) {
		struct pollfd pfd[2] = { { p->proc.ctl_fd, POLLIN, 0 }, { p->proc.pidfd, POLLIN, 0 } };
		uint64_t now = sb_now_ms();
		int eof;

		if (now >= deadline)
			return 0;
		if (poll(pfd, 2, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			return log_errno("poll");
		}
		if (pfd[1].revents)
			return -1;
		if (!pfd[0].revents)
			continue;
		eof = sb_drain(p->proc.ctl_fd, &p->ctl, 4096);
		if (strstr(buf_cstr(&p->ctl), "\"listen\""))
			p->ready = 1;
		else if (eof)
			return -1;
	}
	return 1;
}

/* A live, started workerd (its start may not be over); -1 when none can be had. */
static int ensure_started(struct sb_slot *s)
{
	struct sb_pool *p = s->pool;

	if (p->proc.pid > 0 && !sb_proc_exited(&p->proc))
		return 0;
	if (p->proc.pid > 0)
		log_msg(LOG_WARN, "slot %u: warm workerd %d died while idle; replacing it", s->index,
			(int)p->proc.pid);
	stop(s);
	return start(s);
}

/* The loader's token: 128 random bits in hex. */
static int make_token(char out[33])
{
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return log_errno("getrandom");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

int sb_pool_open(struct sb_slot *s)
{
	const char *js = sb_loader_source();
	struct sb_pool *p;

	p = s->pool = calloc(1, sizeof(*s->pool));
	if (!p)
		return log_err("out of memory");
	p->proc = (struct sb_proc)SB_PROC_INIT;
	buf_init(&p->ctl);
	buf_init(&p->last_code);
	p->prep_fd = -1;
	sb_bake_init(&p->bake);
	for (unsigned i = 0; i < 1 + SB_BAKE_MAX; i++)
		p->conn[i] = -1;
	for (unsigned i = 0; i < SB_BAKE_MAX; i++)
		snprintf(p->bsock[i], sizeof(p->bsock[i]), "%s/b%u.sock", s->dir, i);
	if (make_token(p->token) < 0)
		return -1;
	if (sb_write_file(s->dir, "loader.js", js, strlen(js)) < 0)
		return log_err("slot %u: cannot write the loader worker", s->index);
	return start(s);
}

void sb_pool_close(struct sb_slot *s)
{
	if (!s->pool)
		return;
	stop(s);
	buf_release(&s->pool->ctl);
	buf_release(&s->pool->last_code);
	sb_bake_release(&s->pool->bake);
	free(s->pool);
	s->pool = NULL;
}

uint64_t sb_pool_cpu_ms(struct sb_slot *s)
{
	struct sb_cg_usage u = { 0, 0, 0 };

	if (s->cg)
		return sb_cg_usage(s->cg, &u) < 0 ? 0 : u.cpu_ns / 1000000;
	return s->pool->proc.pid > 0 ? sb_procfs_cpu_ms(s->pool->proc.pid) : 0;
}

void sb_pool_finish(struct sb_slot *s)
{
	struct sb_pool *p = s->pool;

	recycle_now(s);
	/*
	 * A handler whose workerd is still starting would take the next
	 * connection and make it wait for the start; waiting here instead
	 * leaves it to a handler that is ready.
	 */
	if (p->proc.pid > 0 && !p->ready)
		wait_ready(s, sb_now_ms() + SB_POOL_READY_WAIT_MS);
	if (p->prep_due && p->ready && p->prep_fd < 0)
		sb_prepared_make(s);
	p->prep_due = 0;
}

int sb_pool_ready(const struct sb_slot *s)
{
	return s->pool && s->pool->ready;
}

int sb_pool_prepared_fd(const struct sb_slot *s)
{
	return s->pool ? s->pool->prep_fd : -1;
}

pid_t sb_pool_pid(const struct sb_slot *s)
{
	return s->pool ? s->pool->proc.pid : -1;
}

/* Drop every SB_LOADER_OUTCOME header from the answer. */
static void strip_outcome(struct sb_result *res)
{
	for (size_t i = 0; i < res->http.nheaders; i++) {
		if (strcasecmp(res->http.headers[i].name, SB_LOADER_OUTCOME))
			continue;
		free(res->http.headers[i].name);
		free(res->http.headers[i].value);
		res->http.headers[i] = res->http.headers[--res->http.nheaders];
		i--;
	}
}

/* What classify_answer makes of the loader's answer. */
enum answer { ANSWER_KEEP, ANSWER_RECYCLE, ANSWER_NOCODE };

/*
 * The loader's answer -> outcome.  An answer without our token is the
 * worker's own (any status); one with it is the loader's (sb_loader.js).
 */
static enum answer classify_answer(struct sb_slot *s, struct sb_result *res)
{
	const char *o = sb_http_header(&res->http, SB_LOADER_OUTCOME);
	size_t tl = strlen(s->pool->token);
	char kind[16] = "ok";

	if (o && !strncmp(o, s->pool->token, tl) && o[tl] == ' ')
		snprintf(kind, sizeof(kind), "%s", o + tl + 1);
	/* Ours, or forged by the worker: kept out of mirrored headers either way. */
	strip_outcome(res);
	if (!strcmp(kind, "ok")) {
		res->outcome = SB_OK;
		return ANSWER_KEEP;
	}
	if (!strcmp(kind, "nocode"))
		return ANSWER_NOCODE;
	if (!strcmp(kind, "load") || !strcmp(kind, "exception")) {
		res->outcome = kind[0] == 'l' ? SB_LOAD_FAILED : SB_EXCEPTION;
		buf_add(&res->error, buf_cstr(&res->http.body),
			res->http.body.len < SB_ERROR_TEXT_MAX ? res->http.body.len : SB_ERROR_TEXT_MAX);
		if (!res->error.len)
			buf_addstr(&res->error, kind[0] == 'l' ? "code failed to load" : "uncaught exception");
		return ANSWER_KEEP;
	}
	res->outcome = SB_CRASHED;
	log_msg(LOG_WARN, "loader error (outcome '%s', status %d): %.200s", kind, res->http.status,
		buf_cstr(&res->http.body));
	buf_addstr(&res->error, "the sandbox failed to run the code");
	return ANSWER_RECYCLE;
}

/* The ring entry of a key whose code the running workerd's loader has, or -1. */
static int key_sent(const struct sb_pool *p, const char *key)
{
	unsigned n = p->nsent < SB_POOL_SENT ? p->nsent : SB_POOL_SENT;

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(p->sent[i], key))
			return (int)i;
	return -1;
}

static void key_forget(struct sb_pool *p, const char *key)
{
	int i = key_sent(p, key);

	if (i >= 0)
		p->sent[i][0] = '\0';
}

/* Note a request of key through the loader; how many it has had. */
static unsigned key_used(struct sb_pool *p, const char *key)
{
	int i = key_sent(p, key);

	if (i < 0) {
		if (strlen(key) >= SB_POOL_KEY_MAX)
			return 0;
		i = (int)(p->nsent++ % SB_POOL_SENT);
		snprintf(p->sent[i], SB_POOL_KEY_MAX, "%s", key);
		p->uses[i] = 0;
	}
	return ++p->uses[i];
}

static void read_usage(struct sb_slot *s, uint64_t cpu0, struct sb_cg_usage *u, struct sb_result *res)
{
	memset(u, 0, sizeof(*u));
	if (s->cg) {
		sb_cg_usage(s->cg, u);
		res->cpu_ms = u->cpu_ns / 1000000;
		res->peak_bytes = u->peak_bytes;
	} else if (s->pool->proc.pid > 0) {
		res->cpu_ms = sb_procfs_cpu_ms(s->pool->proc.pid) - cpu0;
		res->peak_bytes = sb_procfs_status_bytes(s->pool->proc.pid, "VmHWM:");
	}
}

/* After an answered request: recycle on the request count or memory growth. */
static void after_answer(struct sb_slot *s, struct sb_result *res)
{
	struct sb_pool *p = s->pool;
	uint64_t mem = 0;

	p->served++;
	if (s->cfg.pool_recycle_requests && p->served >= s->cfg.pool_recycle_requests) {
		recycle(s, "request count", res);
		return;
	}
	if (bake_due(p)) {
		recycle(s, "baking a kept isolate's code", res);
		return;
	}
	if (!s->cfg.pool_recycle_memory)
		return;
	if (s->cg ? sb_cg_memory_current(s->cg, &mem) < 0 : !(mem = sb_procfs_status_bytes(p->proc.pid, "VmRSS:")))
		return;
	if (!p->base_mem)
		p->base_mem = mem;
	else if (mem > p->base_mem + s->cfg.pool_recycle_memory)
		recycle(s, "memory growth", res);
}

/* Where a request goes (see exchange). */
#define SB_TO_PREPARED (-2)
#define SB_TO_LOADER (-1)

/*
 * One exchange with the ready workerd: the request for c (encoded as enc,
 * or NULL) to baked entry
 * `to` (>= 0), to the prepared isolate (SB_TO_PREPARED: the rest of its
 * loader request) or to the loader (its code left out when the loader has
 * it), the usage, the outcome.  ANSWER_NOCODE when the loader wants the
 * code after all; -1 when the host failed.
 */
static int exchange(struct sb_slot *s, const struct code *c, const struct buf *enc, const char *key,
		    int to, const struct sb_request *req, unsigned deadline_ms, struct sb_exchange *x,
		    struct sb_result *res)
{
	struct sb_pool *p = s->pool;
	struct buf reqbuf = BUF_INIT;
	struct sb_cg_usage usage;
	uint64_t cpu0 = 0;
	int r = -1, built, baked = to >= 0 ? to : -1;

	if (to == SB_TO_PREPARED)
		built = sb_loader_prepared_rest(&reqbuf, req);
	else if (baked >= 0)
		built = sb_loader_direct_request(&reqbuf, req);
	else
		built = sb_loader_request(&reqbuf, c, enc, key, !key || key_sent(p, key) < 0, req);
	if (built < 0) {
		log_err("slot %u: cannot build the request for workerd", s->index);
		goto out;
	}
	x->request = &reqbuf;
	if (s->cg ? sb_cg_reset(s->cg) < 0 : 0)
		goto out;
	if (!s->cg) {
		sb_procfs_reset_hwm(p->proc.pid);
		cpu0 = sb_procfs_cpu_ms(p->proc.pid);
	}
	/* The prepared isolate's request (a POST, answered like the loader's
	 * with code, even for a HEAD), or a kept connection that workerd has
	 * not closed, else a new one. */
	if (to == SB_TO_PREPARED) {
		x->cfd = p->prep_fd;
		p->prep_fd = -1;
	} else {
		x->cfd = p->conn[baked + 1];
		p->conn[baked + 1] = -1;
		if (x->cfd >= 0 && !sb_conn_idle(x->cfd)) {
			close(x->cfd);
			x->cfd = -1;
		}
	}
	if (x->cfd < 0 && (x->cfd = sb_connect_socket(baked >= 0 ? p->bsock[baked] : s->sock)) < 0)
		goto out;
	if (sb_exchange_run(x, &res->http) < 0)
		goto out;
	if (x->reusable && p->conn[baked + 1] < 0)
		p->conn[baked + 1] = x->cfd;
	else
		close(x->cfd);
	x->cfd = -1;
	read_usage(s, cpu0, &usage, res);
	if (x->out.len)
		log_msg(LOG_DEBUG, "slot %u workerd output: %s", s->index, buf_cstr(&x->out));

	r = ANSWER_RECYCLE;
	if (sb_exchange_failure(x, &usage, deadline_ms, res)) {
		/* recycled: never reuse a workerd that ran past a bound */
	} else if (x->parsed == SB_HTTP_DONE && !x->exited && baked >= 0) {
		/* As in process mode; the loader's header is not the worker's either. */
		strip_outcome(res);
		sb_answer_outcome(x, res);
		r = ANSWER_KEEP;
	} else if (x->parsed == SB_HTTP_DONE && !x->exited) {
		r = (int)classify_answer(s, res);
	} else {
		res->outcome = SB_CRASHED;
		buf_addstr(&res->error, x->exited ? "workerd died while running the code"
						  : "workerd sent no valid HTTP response");
	}
out:
	if (x->cfd >= 0)
		close(x->cfd);
	x->cfd = -1;
	x->request = NULL;
	buf_release(&reqbuf);
	return r;
}

/*
 * Through the loader, key's code loaded (it answered or threw): count the
 * use, and ask for a workerd that bakes it once it is due (sb_bake.h).
 */
static void consider_baking(struct sb_slot *s, const struct code *c, const char *key,
			    const struct sb_result *res)
{
	struct sb_pool *p = s->pool;
	int i;

	if (res->outcome != SB_OK && res->outcome != SB_EXCEPTION)
		return;
	i = sb_bake_offer(&p->bake, s->dir, key, c, s->cfg.compat_date, key_used(p, key));
	if (i < 0)
		return;
	p->live &= ~(1U << i); /* the entry may have served another code */
	log_msg(LOG_DEBUG, "slot %u: baking code %s into the next workerd", s->index, key);
}

int sb_pool_run(struct sb_slot *s, const struct code *c, const char *isolate_key,
		const struct sb_request *req, unsigned deadline_ms, struct sb_result *res)
{
	struct sb_pool *p = s->pool;
	struct buf stale = BUF_INIT, enc = BUF_INIT;
	uint64_t t0 = sb_now_us();
	struct sb_exchange x = { .cfd = -1, .deadline = t0 / 1000 + deadline_ms,
				 .max_response = s->cfg.max_response, .out = BUF_INIT };
	int ready = 0, answer = -1, baked, to;

	res->outcome = SB_INTERNAL;
	recycle_now(s); /* the caller did not call sb_slot_finish */
	p->prep_due = 0;
	if (sb_prepared_spins(s, deadline_ms)) {
		log_msg(LOG_WARN, "slot %u: the code prepared for the next request spun past %u ms of CPU "
			"while the slot waited (its modules loop); replacing workerd %d", s->index, deadline_ms,
			(int)p->proc.pid);
		recycle(s, "a prepared isolate spun", NULL);
		recycle_now(s);
	}
	/* A start that fails at once (workerd exits) is retried once, without
	 * the codes that were new in it when there were any. */
	for (int attempt = 0; attempt < 2 && ready <= 0; attempt++) {
		if (ensure_started(s) < 0)
			goto out;
		ready = wait_ready(s, x.deadline);
		if (ready == 0)
			break;
		if (ready < 0) {
			sb_drain(p->proc.out_fd, &stale, SB_STDERR_KEEP);
			log_err("slot %u: workerd %d exited while starting: %s", s->index,
				(int)p->proc.pid, buf_cstr(&stale));
			stop(s);
			if (p->live)
				sb_bake_refuse(&p->bake, s->dir);
		}
	}
	res->start_wait_ms = sb_now_ms() - t0 / 1000;
	if (ready == 0) {
		/* The deadline passed while workerd started: no user code ran. */
		res->outcome = SB_TIMEOUT;
		buf_addf(&res->error, "execution exceeded its deadline of %u ms", deadline_ms);
		goto out;
	}
	if (ready < 0)
		goto out;
	sb_bake_settle(&p->bake);
	sb_drain(p->proc.out_fd, &stale, SB_STDERR_KEEP);
	if (stale.len)
		log_msg(LOG_DEBUG, "slot %u workerd output: %s", s->index, buf_cstr(&stale));
	x.proc = &p->proc;
	baked = sb_bake_find(&p->bake, isolate_key);
	if (baked >= 0 && !(p->live & (1U << baked)))
		baked = -1;
	sb_bake_tick(&p->bake, baked);
	to = baked >= 0 ? baked : SB_TO_LOADER;
	if (!isolate_key) {
		/* Encoded once: to know the code, and for the request with it. */
		if (code_encode(c, &enc) < 0)
			buf_reset(&enc);
		to = sb_prepared_take(p, &enc, req) ? SB_TO_PREPARED : SB_TO_LOADER;
	} else {
		sb_prepared_drop(p); /* a kept isolate's run: it would share the workerd's time */
	}
	res->isolate = to == SB_TO_PREPARED ? "prepared" : baked >= 0 ? "baked" : isolate_key ? "kept" : "new";
	answer = exchange(s, c, enc.len ? &enc : NULL, isolate_key, to, req, deadline_ms, &x, res);
	if (answer == ANSWER_NOCODE) {
		/* The loader lost track of the key: once more, with the code. */
		key_forget(p, isolate_key);
		sb_http_response_release(&res->http);
		answer = exchange(s, c, NULL, isolate_key, -1, req, deadline_ms, &x, res);
		if (answer == ANSWER_NOCODE) {
			log_err("slot %u: the loader refused the code of isolate %s", s->index, isolate_key);
			res->outcome = SB_CRASHED;
			buf_addstr(&res->error, "the sandbox failed to run the code");
			answer = ANSWER_RECYCLE;
		}
	}
	if (answer == ANSWER_KEEP && isolate_key && baked < 0)
		consider_baking(s, c, isolate_key, res);
	if (answer == ANSWER_KEEP && !isolate_key)
		sb_prepared_note(s, &enc, res);
	if (answer == ANSWER_RECYCLE)
		recycle(s, sb_outcome_name(res->outcome), res);
	else if (answer == ANSWER_KEEP)
		after_answer(s, res);
out:
	if (res->outcome == SB_INTERNAL && p->proc.pid > 0)
		recycle(s, "host failure", res);
	res->wall_us = sb_now_us() - t0;
	res->wall_ms = res->wall_us / 1000;
	sb_exchange_release(&x);
	buf_release(&stale);
	buf_release(&enc);
	return res->outcome == SB_INTERNAL ? -1 : 0;
}
