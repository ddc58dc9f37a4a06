/*
 * One HTTP exchange with a workerd, bounded in time and size, and the
 * translation of workerd's error output for users.  See sb_internal.h.
 *
 * The loop writes the request as the socket accepts it, parses the
 * response after every read (the parser is incremental over the bytes so
 * far), drains workerd's output so it never blocks on a full pipe, and
 * notices the workerd's exit through its pidfd: whatever it wrote before
 * dying is still read and judged.  A response is cut as soon as it can be
 * known to pass the size bound (a chunked body costs up to 6 wire bytes per
 * body byte), not at the deadline.
 */
#include "sb_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "banned.h"

int sb_exchange_run(struct sb_exchange *x, struct sb_http_response *http)
{
	struct buf resp = BUF_INIT;
	size_t wpos = 0, resp_max = x->max_response * 6 + SB_HTTP_MAX_HEAD + 4096;
	int resp_eof = 0, out_eof = x->proc->out_fd < 0, rc = 0;
	const struct buf *rq = x->request;
	/* We wrote the request line: a HEAD's answer has no body to wait for. */
	int head = rq->len >= 5 && !memcmp(rq->data, "HEAD ", 5);

	x->parsed = SB_HTTP_INCOMPLETE;
	x->exited = x->timed_out = x->reusable = 0;
	while (x->parsed == SB_HTTP_INCOMPLETE) {
		struct pollfd pfd[3];
		uint64_t now = sb_now_ms();
		int n = 0, ci = -1, ei = -1, pi = -1;

		if (now >= x->deadline) {
			x->timed_out = 1;
			break;
		}
		if (!resp_eof) {
			pfd[n] = (struct pollfd){ x->cfd, (short)(POLLIN | (wpos < rq->len ? POLLOUT : 0)), 0 };
			ci = n++;
		}
		if (!out_eof) {
			pfd[n] = (struct pollfd){ x->proc->out_fd, POLLIN, 0 };
			ei = n++;
		}
		if (!x->exited) {
			pfd[n] = (struct pollfd){ x->proc->pidfd, POLLIN, 0 };
			pi = n++;
		}
		if (poll(pfd, (nfds_t)n, (int)(x->deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			rc = log_errno("poll");
			break;
		}
		if (ci >= 0 && (pfd[ci].revents & POLLOUT)) {
			ssize_t w = send(x->cfd, rq->data + wpos, rq->len - wpos, MSG_NOSIGNAL);
			if (w > 0)
				wpos += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				wpos = rq->len; /* peer gone: the read side reports it */
		}
		if (ci >= 0 && (pfd[ci].revents & (POLLIN | POLLHUP | POLLERR))) {
			resp_eof = sb_drain(x->cfd, &resp, resp_max);
			x->parsed = head ? sb_http_parse_head_response(buf_cstr(&resp), resp.len, resp_eof, http)
					 : sb_http_parse_response(buf_cstr(&resp), resp.len, resp_eof,
								  x->max_response, http);
			if (x->parsed == SB_HTTP_INCOMPLETE && resp.len >= resp_max)
				x->parsed = SB_HTTP_TOO_LARGE;
		}
		if (ei >= 0 && pfd[ei].revents)
			out_eof = sb_drain(x->proc->out_fd, &x->out, SB_STDERR_KEEP);
		if (pi >= 0 && pfd[pi].revents) {
			x->exited = 1;
			/* Take what it wrote before dying, then decide. */
			sb_drain(x->cfd, &resp, resp_max);
			resp_eof = 1;
			x->parsed = head ? sb_http_parse_head_response(buf_cstr(&resp), resp.len, 1, http)
					 : sb_http_parse_response(buf_cstr(&resp), resp.len, 1,
								  x->max_response, http);
		}
	}
	if (x->proc->out_fd >= 0)
		sb_drain(x->proc->out_fd, &x->out, SB_STDERR_KEEP);
	x->reusable = x->parsed == SB_HTTP_DONE && !resp_eof && !x->exited &&
		      sb_http_response_reusable(buf_cstr(&resp), resp.len, http);
	x->resp_len = resp.len;
	buf_release(&resp);
	return rc;
}

void sb_answer_outcome(const struct sb_exchange *x, struct sb_result *res)
{
	res->outcome = SB_OK;
	if (res->http.status == 500 && sb_text_has(&x->out, "Uncaught")) {
		res->outcome = SB_EXCEPTION;
		sb_user_error_text(&x->out, &res->error);
	}
}

int sb_exchange_failure(const struct sb_exchange *x, const struct sb_cg_usage *u, unsigned deadline_ms,
			struct sb_result *res)
{
	if (x->timed_out && !u->oom_events) {
		res->outcome = SB_TIMEOUT;
		buf_addf(&res->error, "execution exceeded its deadline of %u ms", deadline_ms);
	} else if (x->parsed == SB_HTTP_TOO_LARGE) {
		res->outcome = SB_TOO_LARGE;
		buf_addf(&res->error, "response larger than %zu bytes", x->max_response);
	} else if (x->parsed != SB_HTTP_DONE && (u->oom_events || sb_text_has(&x->out, "out of memory"))) {
		res->outcome = SB_OOM;
		buf_addstr(&res->error, "memory limit exceeded");
	} else {
		return 0;
	}
	return 1;
}

int sb_conn_idle(int fd)
{
	struct pollfd pfd = { fd, POLLIN | POLLRDHUP, 0 };

	return poll(&pfd, 1, 0) == 0;
}

int sb_send_all(int fd, const struct buf *b, uint64_t deadline)
{
	size_t off = 0;

	while (off < b->len) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		uint64_t now = sb_now_ms();
		ssize_t w;
		int n;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (pfd.revents & ~POLLOUT) {
			errno = EPIPE;
			return -1;
		}
		w = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (w > 0)
			off += (size_t)w;
	}
	return 0;
}

void sb_exchange_release(struct sb_exchange *x)
{
	buf_release(&x->out);
}

/*
 * Drop workerd's own source locations and the "service main: " prefix,
 * keep V8's words.
 */
void sb_user_error_text(const struct buf *raw, struct buf *out)
{
	const char *p = buf_cstr(raw), *end = p + raw->len;

	while (p < end && out->len < SB_ERROR_TEXT_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *u = memmem(p, n, "Uncaught ", 9);
		const char *svc = memmem(p, n, "service main: ", 14);
		const char *start = u ? u : (svc ? svc + 14 : p);
		const char *jsg = memmem(p, n, "failed: remote.jsg.", 19);
		const char *jsg2 = memmem(p, n, "failed: jsg.", 12);

		/* "Uncaught exception: workerd/jsg/...: failed: remote.jsg.Error: boom" */
		if (jsg || jsg2) {
			if (out->len)
				buf_addch(out, '\n');
			buf_addstr(out, "Uncaught ");
			start = jsg ? jsg + 19 : jsg2 + 12;
			buf_add(out, start, (size_t)(p + n - start));
			p += n + 1;
			continue;
		}

		if (n && !(n >= 8 && !memcmp(p, "workerd/", 8) && !u)) {
			if (out->len)
				buf_addch(out, '\n');
			buf_add(out, start, (size_t)(p + n - start));
		}
		p += n + 1;
	}
}

int sb_text_has(const struct buf *b, const char *needle)
{
	return b->len && strcasestr(buf_cstr(b), needle) != NULL;
}
