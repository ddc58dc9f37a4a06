#ifndef SANDBOX_SB_POOL_H
#define SANDBOX_SB_POOL_H
/*
 * Pool mode's state, shared by sb_pool.c (the warm workerd and its runs)
 * and sb_prepare.c (the isolate made ahead for the next request).
 */
#include "sb_internal.h"
#include "sb_bake.h"

/* Isolate keys whose code the running workerd has, remembered per workerd. */
#define SB_POOL_SENT 16
#define SB_POOL_KEY_MAX SB_BAKE_KEY_MAX

struct sb_pool {
	struct sb_proc proc;
	int ready;              /* the control fd said it listens */
	unsigned served;        /* requests answered by this workerd */
	uint64_t base_mem;      /* memory after its first request; 0 = not yet */
	unsigned starts;        /* workerds started in this slot */
	struct buf ctl;         /* control messages so far (bounded) */
	/* The loader marks its own answers with this secret (sb_loader.h). */
	char token[33];
	/* Keys the loader got the code of (a ring; a key that fell out is
	 * simply sent with its code again). */
	char sent[SB_POOL_SENT][SB_POOL_KEY_MAX];
	unsigned uses[SB_POOL_SENT]; /* requests of that key through the loader */
	unsigned nsent;
	/* Codes served directly (sb_bake.h); live has bit i when the running
	 * workerd serves entry i, whose socket is bsock[i]. */
	struct sb_bake bake;
	unsigned live;
	char bsock[SB_BAKE_MAX][620];
	/* Open connections to the running workerd, kept between requests
	 * (workerd sets up each connection at some cost): [0] the loader,
	 * [1 + i] baked entry i; -1 when none. */
	int conn[1 + SB_BAKE_MAX];
	/* Why the workerd is to be replaced once the caller has replied
	 * (sb_slot_finish); NULL when it is not. */
	const char *pending;
	/* The encoding of the last code that loaded in a new isolate (empty:
	 * none yet).  The prepared isolate is always of this code: a run of
	 * any other drops it first. */
	struct buf last_code;
	/* The prepared isolate: the open loader request holding last_code
	 * (-1: none); prep_due asks sb_slot_finish for one. */
	int prep_fd;
	int prep_due;
	/* The slot's CPU time (ms, since the last run's reset) when it was
	 * sent: one whose modules spin is noticed by the CPU it burns. */
	uint64_t prep_cpu_ms;
};

/* The slot's CPU time in ms: since the last run's reset (cgroup) or the workerd's. */
uint64_t sb_pool_cpu_ms(struct sb_slot *s);

/* ---- prepared isolates (sb_prepare.c) ---- */

/* Drop the prepared isolate: the loader drops it when its request goes. */
void sb_prepared_drop(struct sb_pool *p);
/* Has a prepared isolate's making burnt a run's deadline of CPU? (workerd to be replaced) */
int sb_prepared_spins(struct sb_slot *s, unsigned deadline_ms);
/* Send p->last_code to the loader as the next request's isolate (after the reply). */
void sb_prepared_make(struct sb_slot *s);
/* 1 when a request for a new isolate of c (encoded: enc) goes to the
 * prepared isolate; else 0, and any prepared isolate is dropped. */
int sb_prepared_take(struct sb_pool *p, const struct buf *enc, const struct sb_request *req);
/* After a new-isolate run whose code loaded: note its code, ask for a
 * prepared isolate when it is the same as the last. */
void sb_prepared_note(struct sb_slot *s, struct buf *enc, const struct sb_result *res);

#endif
