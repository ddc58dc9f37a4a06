/*
 * Prepared isolates (pool mode): the isolate of a slot's next request made
 * while the slot waits for it.  See sb_pool.c for when, and sb_loader.js
 * ("prepared isolate") for how the loader holds it.
 *
 * When a slot's last two new-isolate runs were of one code, that code is
 * sent to the loader after the reply, on a connection of its own whose
 * request stays open; the next request, when it is that code (compared in
 * full), is written on it as one more chunk and runs at once.  Any other
 * request closes it first, and the loader drops the isolate.  It is still
 * one new isolate per request: only its making moves earlier.
 */
#include "sb_pool.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sb_loader.h"
#include "banned.h"

void sb_prepared_drop(struct sb_pool *p)
{
	if (p->prep_fd >= 0)
		close(p->prep_fd);
	p->prep_fd = -1;
	p->prep_due = 0;
}

/*
 * Has the workerd, idle but for a prepared isolate, burnt more CPU since
 * it was sent than a run may take?  Then the code's module evaluation
 * spins (it may do so only sometimes: it loaded twice before), and the
 * workerd, whose one thread it holds, is replaced before the next request
 * rather than have that request wait for it and time out.  A request that
 * comes sooner still waits: for its own code that is its own timeout, for
 * another code it is one that the spinning code caused.
 */
int sb_prepared_spins(struct sb_slot *s, unsigned deadline_ms)
{
	struct sb_pool *p = s->pool;
	uint64_t cpu;

	if (p->prep_fd < 0 || p->proc.pid <= 0)
		return 0;
	cpu = sb_pool_cpu_ms(s);
	return cpu > p->prep_cpu_ms && cpu - p->prep_cpu_ms >= deadline_ms;
}

/* How long sending a code to prepare may take (the loader reads it at once). */
#define SB_POOL_PREPARE_SEND_MS 1000

/*
 * Send p->last_code to the loader as a prepared isolate (sb_loader.js) and
 * leave the request open.  Not waiting for the isolate: the slot's next
 * request finds it ready or waits for the rest of its making, which it
 * would have had to do anyway.
 */
void sb_prepared_make(struct sb_slot *s)
{
	struct sb_pool *p = s->pool;
	struct buf rq = BUF_INIT;
	int fd = -1;

	p->prep_due = 0;
	if (sb_loader_prepare_request(&rq, &p->last_code) < 0 || (fd = sb_connect_socket(s->sock)) < 0) {
		log_msg(LOG_DEBUG, "slot %u: cannot prepare an isolate: cannot build or connect", s->index);
		goto fail;
	}
	if (sb_send_all(fd, &rq, sb_now_ms() + SB_POOL_PREPARE_SEND_MS) < 0) {
		log_msg(LOG_DEBUG, "slot %u: cannot prepare an isolate: %s", s->index,
			errno == ETIMEDOUT ? "workerd did not take the code in time" : strerror(errno));
		goto fail;
	}
	p->prep_fd = fd;
	p->prep_cpu_ms = sb_pool_cpu_ms(s);
	buf_release(&rq);
	return;
fail:
	if (fd >= 0)
		close(fd);
	buf_release(&rq);
	sb_prepared_drop(p);
}

static int same_code(const struct buf *a, const struct buf *b)
{
	return a->len && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/*
 * A request target of visible ASCII only.  The loader builds a prepared
 * isolate's URL itself; anything else (raw bytes nginx passed on, say) goes
 * the way with code, where workerd's own parser judges it ("invalid URI").
 */
static int plain_target(const char *path)
{
	for (; *path; path++)
		if ((unsigned char)*path <= 0x20 || (unsigned char)*path >= 0x7f)
			return 0;
	return 1;
}

/*
 * A request for a new isolate goes to the prepared isolate when that is
 * its code's (the encoding compared in full), its request is still open
 * and the request is one it can take (plain_target).  enc is the code
 * encoded (empty when it could not be: no preparing then).
 */
int sb_prepared_take(struct sb_pool *p, const struct buf *enc, const struct sb_request *req)
{
	if (p->prep_fd < 0)
		return 0;
	if (same_code(enc, &p->last_code) && plain_target(req->path) && sb_conn_idle(p->prep_fd))
		return 1;
	sb_prepared_drop(p);
	return 0;
}

/*
 * After a request for a new isolate whose code loaded: a second one of the
 * same code in a row asks sb_slot_finish to prepare the next (one code
 * keeps coming; a mix of codes would mostly waste the work).
 */
void sb_prepared_note(struct sb_slot *s, struct buf *enc, const struct sb_result *res)
{
	struct sb_pool *p = s->pool;
	struct buf old;

	if (!enc->len || (res->outcome != SB_OK && res->outcome != SB_EXCEPTION))
		return;
	if (same_code(enc, &p->last_code)) {
		p->prep_due = s->cfg.pool_prepare && !p->pending;
		return;
	}
	/* Another code: it becomes the last one (the caller frees the old). */
	old = p->last_code;
	p->last_code = *enc;
	*enc = old;
}

