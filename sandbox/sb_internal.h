#ifndef SANDBOX_SB_INTERNAL_H
#define SANDBOX_SB_INTERNAL_H
/*
 * What the two sandbox modes share (not for callers outside sandbox/):
 *
 *  - sb_proc.c: one workerd child of the slot owner, started in the slot
 *    cgroup with only the descriptors we give it (stdin /dev/null,
 *    stdout+stderr one pipe, fd 3 the listening socket, optionally fd 4
 *    workerd's --control-fd pipe), an empty environment, no core dumps,
 *    and death with its owner; plus the unix socket helpers.
 *  - sb_exchange.c: one HTTP request/response with a workerd under a
 *    deadline, watching its exit (pidfd) and draining its output, and the
 *    rewriting of workerd's error text into what a user should see.
 *  - sb_process.c / sb_pool.c: the two ways to run a request.
 */
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "buf.h"
#include "sandbox.h"

#define SB_STDERR_KEEP (16 * 1024)
#define SB_ERROR_TEXT_MAX 4096

struct sb_proc {
	pid_t pid;       /* -1: none */
	int pidfd;       /* readable once the child has exited */
	int out_fd;      /* read end of its stdout+stderr, non-blocking */
	int ctl_fd;      /* read end of its --control-fd, non-blocking; -1 when not asked */
};

#define SB_PROC_INIT { -1, -1, -1, -1 }

uint64_t sb_now_ms(void);
uint64_t sb_now_us(void);

/* A listening unix socket at path (an old one is unlinked); fd or -1. */
int sb_listen_socket(const char *path);
/* A non-blocking connection to path; fd or -1. */
int sb_connect_socket(const char *path);
/* Read what is there into keep (at most max bytes kept); 1 on EOF/error, 0 otherwise. */
int sb_drain(int fd, struct buf *keep, size_t max);

/*
 * Start `workerd <args...>` in the slot's directory and cgroup with lfds[0]
 * as descriptor 3 (with_ctl: and a control pipe as descriptor 4, for
 * `--control-fd 4`) and lfds[1..nlfd-1] as descriptors SB_EXTRA_FD0 on
 * (pool mode's baked workers; only with the control pipe, not with a
 * spare).  args is NULL-terminated and excludes argv[0].
 *
 * go non-NULL starts a spare instead: the child does everything up to exec
 * (cgroup, descriptors, jail) and then waits; *go gets the descriptor that
 * sb_proc_go() writes to let it exec.  Entering a v1 cgroup and building
 * the jail cost about 12 ms per start here (the cgroup attach waits for an
 * RCU grace period), which a spare pays before the request arrives.
 */
#define SB_GO_FD 4
#define SB_EXTRA_FD0 5
#define SB_MAX_LISTEN 5 /* descriptors 3, 5, 6, 7, 8: all below 10 (see high_fd) */
int sb_proc_spawn(const struct sb_slot *s, char *const args[], const int *lfds, unsigned nlfd,
		  int with_ctl, struct sb_proc *p, int *go);
/* Let a spare exec; closes *go.  -1 when it is gone (died, or failed to set up). */
int sb_proc_go(int *go);
/* SIGKILL and reap; status/ru may be NULL.  Closes the descriptors.  No-op when none. */
void sb_proc_kill(struct sb_proc *p, int *status, struct rusage *ru);
/* 1 when the child has exited (not reaped yet), 0 when running. */
int sb_proc_exited(const struct sb_proc *p);

/* One HTTP exchange over a connected socket. */
struct sb_exchange {
	/* in */
	int cfd;
	const struct buf *request;
	uint64_t deadline;       /* sb_now_ms() clock */
	size_t max_response;
	struct sb_proc *proc;    /* watched for exit and drained */
	/* out */
	enum sb_http_parse parsed;
	int exited;              /* the workerd exited during the exchange */
	int timed_out;
	int reusable;            /* the connection can carry another request */
	size_t resp_len;         /* bytes received */
	struct buf out;          /* workerd's output, bounded */
};

/*
 * Send x->request and read the response into http until it is complete,
 * the deadline passes, the peer closes or the workerd exits.  Returns 0,
 * or -1 (logged) when poll itself fails.
 */
int sb_exchange_run(struct sb_exchange *x, struct sb_http_response *http);
void sb_exchange_release(struct sb_exchange *x);

/*
 * A worker served straight from a workerd config answered (x->parsed is
 * SB_HTTP_DONE): SB_OK, or SB_EXCEPTION with V8's words when it is a 500
 * with "Uncaught" on workerd's output.  Process mode and pool mode's baked
 * workers.
 */
void sb_answer_outcome(const struct sb_exchange *x, struct sb_result *res);

/*
 * The outcomes both modes tell alike, checked before their own: the
 * deadline (unless the memory limit struck first), a response past the
 * size bound, and, when no whole answer came, the memory limit.  1 when
 * one applied (res->outcome and res->error set).
 */
int sb_exchange_failure(const struct sb_exchange *x, const struct sb_cg_usage *u, unsigned deadline_ms,
			struct sb_result *res);

/*
 * A kept connection is still good when nothing is waiting on it: workerd
 * closes one it will not serve again (say, after a GET whose body the
 * worker did not read), and a request sent there would be lost.  Not
 * retried after sending instead: an end of file then may also mean the
 * workerd died running the request (killed for memory, say).
 */
int sb_conn_idle(int fd);

/* Write all of b to a non-blocking socket by deadline (sb_now_ms clock); -1 with errno. */
int sb_send_all(int fd, const struct buf *b, uint64_t deadline);

/* workerd's stderr -> the message a user should see (V8's words, not workerd's). */
void sb_user_error_text(const struct buf *raw, struct buf *out);
int sb_text_has(const struct buf *b, const char *needle);

/* From /proc, for hosts without cgroups (sb_procfs.c); 0 when unreadable. */
uint64_t sb_procfs_cpu_ms(pid_t pid);
/* A "VmRSS:"-style line of /proc/PID/status, in bytes. */
uint64_t sb_procfs_status_bytes(pid_t pid, const char *key);
/* Reset VmHWM to the current RSS (clear_refs 5). */
void sb_procfs_reset_hwm(pid_t pid);

/* Write a file into dir (0644, replacing). */
int sb_write_file(const char *dir, const char *name, const void *p, size_t n);
/* Remove the files of a (flat) slot directory. */
void sb_clean_dir(const char *dir);

/* Process mode: kill what the slot still runs (answered workerd, spare). */
void sb_process_close(struct sb_slot *s);
int sb_process_run(struct sb_slot *s, const struct code *c, const struct sb_request *req,
		   unsigned deadline_ms, struct sb_result *res);

int sb_pool_open(struct sb_slot *s);
void sb_pool_close(struct sb_slot *s);
/* After the reply: replace the workerd if the run asked for it, and wait until it listens. */
void sb_pool_finish(struct sb_slot *s);
/* 1 when the slot's workerd said it listens: for tests. */
int sb_pool_ready(const struct sb_slot *s);
/* The open request of the slot's prepared isolate (-1 when none): for tests. */
int sb_pool_prepared_fd(const struct sb_slot *s);
/* The slot's warm workerd (-1 when none): for tests and logs. */
pid_t sb_pool_pid(const struct sb_slot *s);
int sb_pool_run(struct sb_slot *s, const struct code *c, const char *isolate_key,
		const struct sb_request *req, unsigned deadline_ms, struct sb_result *res);

#endif
