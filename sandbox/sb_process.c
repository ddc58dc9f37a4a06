/*
 * Process mode: one fresh `workerd serve` per request.  See sandbox.h.
 *
 * The config and modules are written into the slot directory, the
 * listening socket is created here and handed over as descriptor 3, and the
 * request is written at once (it waits in the backlog while workerd
 * starts).  workerd's exit status and its stderr tell the outcomes apart:
 * a code that does not load makes it exit by itself before answering; an
 * uncaught exception is a 500 with "Uncaught" on stderr.
 */
#include "sb_internal.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sb_capnp.h"
#include "banned.h"

static int prepare_files(struct sb_slot *s, const struct code *c)
{
	struct buf cfg = BUF_INIT;
	char name[32];
	int r = -1;

	/* No cleaning here: the spare's socket is in the directory; it was
	 * cleaned after the last run (and at open), names are overwritten. */
	for (size_t i = 0; i < c->n; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		if (sb_write_file(s->dir, name, c->mods[i].data, c->mods[i].len) < 0)
			goto out;
	}
	if (sb_capnp_config(&cfg, c, s->cfg.compat_date) < 0) {
		log_err("slot %u: cannot build workerd config", s->index);
		goto out;
	}
	r = sb_write_file(s->dir, "config.capnp", cfg.data, cfg.len);
out:
	buf_release(&cfg);
	return r;
}

static void classify(struct sb_slot *s, const struct sb_exchange *x, const struct sb_cg_usage *usage,
		     int status, unsigned deadline_ms, struct sb_result *res)
{
	if (sb_exchange_failure(x, usage, deadline_ms, res))
		return;
	if (x->parsed == SB_HTTP_DONE) {
		sb_answer_outcome(x, res);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		log_err("slot %u: workerd did not start: %s", s->index, buf_cstr(&x->out));
		res->outcome = SB_INTERNAL;
	} else if (WIFEXITED(status) && x->exited && !x->resp_len) {
		/* workerd exits by itself (status 1) only when the config or code fails to load. */
		res->outcome = SB_LOAD_FAILED;
		sb_user_error_text(&x->out, &res->error);
		if (!res->error.len)
			buf_addstr(&res->error, "code failed to load");
	} else {
		res->outcome = SB_CRASHED;
		if (WIFSIGNALED(status) && x->exited)
			buf_addf(&res->error, "workerd died with signal %d", WTERMSIG(status));
		else
			buf_addstr(&res->error, "workerd sent no valid HTTP response");
	}
}

/* A workerd that answered, left running until sb_slot_finish(). */
struct sb_linger {
	struct sb_proc proc;
};

/* The next run's process: jailed, in the cgroup, waiting on go to exec. */
struct sb_spare {
	struct sb_proc proc;
	int go;
	int lfd; /* the listening socket it got as fd 3 */
};

static char *const workerd_args[] = { (char *)"serve", (char *)"config.capnp",
				      (char *)"--socket-fd", (char *)"http=3", NULL };

static void linger_kill(struct sb_slot *s)
{
	struct sb_linger *l = s->linger;

	if (!l)
		return;
	s->linger = NULL;
	sb_proc_kill(&l->proc, NULL, NULL);
	if (s->cg)
		sb_cg_kill_all(s->cg);
	sb_clean_dir(s->dir);
	free(l);
}

static void spare_free(struct sb_spare *sp)
{
	if (!sp)
		return;
	if (sp->go >= 0)
		close(sp->go); /* end of file: it exits */
	sb_proc_kill(&sp->proc, NULL, NULL);
	if (sp->lfd >= 0)
		close(sp->lfd);
	free(sp);
}

static void spare_start(struct sb_slot *s)
{
	struct sb_spare *sp;

	if (s->pool || s->spare)
		return;
	sp = malloc(sizeof(*sp));
	if (!sp)
		return;
	sp->proc = (struct sb_proc)SB_PROC_INIT;
	sp->go = -1;
	sp->lfd = sb_listen_socket(s->sock);
	if (sp->lfd < 0 || sb_proc_spawn(s, workerd_args, &sp->lfd, 1, 0, &sp->proc, &sp->go) < 0) {
		log_err("slot %u: cannot start a spare; the next run starts its own", s->index);
		spare_free(sp);
		return;
	}
	s->spare = sp;
}

void sb_slot_finish(struct sb_slot *s)
{
	if (s->pool) {
		sb_pool_finish(s);
		return;
	}
	linger_kill(s);
	spare_start(s);
}

void sb_process_close(struct sb_slot *s)
{
	linger_kill(s);
	spare_free(s->spare);
	s->spare = NULL;
}

/*
 * A good answer with cgroups on: take the usage now (the workerd is idle,
 * its run is over) and leave the kill for sb_slot_finish(), after the reply.
 * Without cgroups the usage comes from wait4's rusage, so no deferring.
 */
static int defer_kill(struct sb_slot *s, struct sb_exchange *x, struct sb_proc *p,
		      unsigned deadline_ms, struct sb_result *res)
{
	struct sb_cg_usage usage = { 0, 0, 0 };
	struct sb_linger *l;

	if (!s->cg || x->parsed != SB_HTTP_DONE || x->exited || x->timed_out)
		return 0;
	l = malloc(sizeof(*l));
	if (!l || sb_cg_usage(s->cg, &usage) < 0 || usage.oom_events) {
		free(l);
		return 0;
	}
	res->cpu_ms = usage.cpu_ns / 1000000;
	res->peak_bytes = usage.peak_bytes;
	classify(s, x, &usage, 0, deadline_ms, res);
	l->proc = *p;
	*p = (struct sb_proc)SB_PROC_INIT;
	s->linger = l;
	return 1;
}

int sb_process_run(struct sb_slot *s, const struct code *c, const struct sb_request *req,
		   unsigned deadline_ms, struct sb_result *res)
{
	struct sb_spare *spare;
	struct buf reqbuf = BUF_INIT;
	uint64_t t0 = sb_now_us();
	struct sb_exchange x = { .cfd = -1, .request = &reqbuf,
				 .deadline = t0 / 1000 + deadline_ms,
				 .max_response = s->cfg.max_response, .out = BUF_INIT };
	struct sb_proc p = SB_PROC_INIT;
	struct sb_cg_usage usage = { 0, 0, 0 };
	struct rusage ru;
	int lfd = -1, status = 0;

	x.proc = &p;
	res->outcome = SB_INTERNAL;
	linger_kill(s); /* a caller that did not call sb_slot_finish */
	spare = s->spare;
	s->spare = NULL;
	if (prepare_files(s, c) < 0 ||
	    sb_http_request(&reqbuf, req->method, req->path, req->headers, req->nheaders,
			    req->body, req->body_len) < 0)
		goto out;
	if (s->cg && sb_cg_reset(s->cg) < 0)
		goto out;
	if (spare) {
		/* Take it over; a spare that died (or could not build its jail) is replaced. */
		p = spare->proc;
		lfd = spare->lfd;
		spare->proc = (struct sb_proc)SB_PROC_INIT;
		spare->lfd = -1;
		if (sb_proc_go(&spare->go) < 0) {
			struct buf why = BUF_INIT;

			sb_drain(p.out_fd, &why, SB_STDERR_KEEP);
			log_msg(LOG_WARN, "slot %u: the spare was gone (%s); starting workerd afresh",
				s->index, why.len ? buf_cstr(&why) : "no message");
			buf_release(&why);
			sb_proc_kill(&p, NULL, NULL);
			close(lfd);
			lfd = -1;
		}
		spare_free(spare);
		spare = NULL;
	}
	if (p.pid <= 0) {
		if ((lfd = sb_listen_socket(s->sock)) < 0)
			goto out;
		if (sb_proc_spawn(s, workerd_args, &lfd, 1, 0, &p, NULL) < 0)
			goto out;
	}
	x.cfd = sb_connect_socket(s->sock);
	close(lfd);
	lfd = -1;
	if (x.cfd < 0 || sb_exchange_run(&x, &res->http) < 0)
		goto out;
	if (defer_kill(s, &x, &p, deadline_ms, res))
		goto out;
	/*
	 * The connection closed without a byte: workerd is on its way out
	 * (code that fails to load makes it exit 1).  Give it a moment to
	 * finish exiting so its own status, not our SIGKILL, tells why.
	 */
	if (!x.exited && !x.timed_out && x.parsed == SB_HTTP_INVALID && !x.resp_len) {
		struct pollfd pw = { p.pidfd, POLLIN, 0 };
		uint64_t now = sb_now_ms();
		int grace = x.deadline > now ? (int)(x.deadline - now) : 0;

		if (poll(&pw, 1, grace < 1000 ? grace : 1000) == 1)
			x.exited = 1;
	}
	{
		int out_fd = p.out_fd;
		/* keep what it wrote while dying */
		p.out_fd = -1;
		sb_proc_kill(&p, &status, &ru);
		sb_drain(out_fd, &x.out, SB_STDERR_KEEP);
		close(out_fd);
	}
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
	if (x.out.len)
		log_msg(LOG_DEBUG, "slot %u workerd output: %s", s->index, buf_cstr(&x.out));
	classify(s, &x, &usage, status, deadline_ms, res);
out:
	spare_free(spare); /* not used: the run failed before it */
	if (p.pid > 0) {
		sb_proc_kill(&p, NULL, NULL);
		if (s->cg)
			sb_cg_kill_all(s->cg);
	}
	if (lfd >= 0)
		close(lfd);
	if (x.cfd >= 0)
		close(x.cfd);
	res->wall_us = sb_now_us() - t0;
	res->wall_ms = res->wall_us / 1000;
	if (!s->linger)
		sb_clean_dir(s->dir);
	sb_exchange_release(&x);
	buf_release(&reqbuf);
	return res->outcome == SB_INTERNAL ? -1 : 0;
}
