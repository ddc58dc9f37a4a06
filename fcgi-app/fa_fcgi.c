/*
 * FastCGI responder protocol: see fa_fcgi.h for the design.
 *
 * Reading rule used throughout: a length that came from the peer is
 * compared with what is actually available (the record, the stream, the
 * limit) using subtraction on the trusted side, never addition on the
 * untrusted side, before any pointer is formed from it.
 */
#include "fa_fcgi.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "log.h"
#include "banned.h"

/* The largest legal record: header, 65535 content bytes, 255 padding. */
#define IBUF_SIZE (FA_FCGI_HEADER_LEN + FA_FCGI_MAX_CONTENT + 255)
/* STDOUT chunk: the largest multiple of 8 that fits a record. */
#define OUT_CHUNK (FA_FCGI_MAX_CONTENT & ~7)

enum {
	ST_BEGIN,     /* waiting for BEGIN_REQUEST */
	ST_PARAMS,    /* reading the PARAMS stream */
	ST_STDIN,     /* reading the STDIN stream */
	ST_DONE,      /* request read */
	ST_FAILED,    /* read failed; the connection is unusable */
	ST_RESPONDED, /* END_REQUEST sent */
};

/*
 * Peer-caused failure: logged at warn level (the peer, not us, is at
 * fault) with the connection's context; returns -1, errno preserved.
 */
static int peer_err(const struct fa_request *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int peer_err(const struct fa_request *r, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	log_msg(LOG_WARN, "fcgi fd %d id %u: %s", r->fd, (unsigned)r->id,
		buf_cstr(&msg));
	buf_release(&msg);
	errno = saved;
	return -1;
}

static int peer_errno(const struct fa_request *r, const char *what)
{
	char eb[128];

	return peer_err(r, "%s: %s", what, strerror_r(errno, eb, sizeof(eb)));
}

static int timeout_or_default(int ms)
{
	return ms > 0 ? ms : FA_LIMITS_DEFAULT_TIMEOUT_MS;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until fd is ready for events (or reports an error/hangup, which the
 * following recv/send turns into a proper error).  Signals restart the
 * wait with the time left so a signal never stretches the timeout.
 */
static int wait_fd(const struct fa_request *r, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = r->fd, .events = events };
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left = deadline - now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return peer_err(r, "peer silent for %d ms while %s",
					timeout_ms,
					events == POLLIN ? "reading" : "writing");
		}
		if (errno != EINTR)
			return log_errno("fcgi fd %d: poll", r->fd);
	}
}

/* Make at least need (<= IBUF_SIZE) unread bytes available in ibuf. */
static int fill(struct fa_request *r, size_t need, int timeout_ms)
{
	if (r->ilen - r->ipos >= need)
		return 0;
	if (r->ipos) {
		memmove(r->ibuf, r->ibuf + r->ipos, r->ilen - r->ipos);
		r->ilen -= r->ipos;
		r->ipos = 0;
	}
	while (r->ilen < need) {
		ssize_t n = recv(r->fd, r->ibuf + r->ilen, IBUF_SIZE - r->ilen,
				 MSG_DONTWAIT);

		if (n > 0) {
			r->ilen += (size_t)n;
			continue;
		}
		if (n == 0)
			return peer_err(r, "peer closed the connection %s",
					r->ilen ? "inside a record"
						: "before the request ended");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return peer_errno(r, "recv");
		if (wait_fd(r, POLLIN, timeout_ms) < 0)
			return -1;
	}
	return 0;
}

/* Send all of iov (modified in place), waiting at most timeout_ms each time. */
static int send_all(const struct fa_request *r, struct iovec *iov, int iovcnt,
		    int timeout_ms)
{
	while (iovcnt > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		size_t done;
		ssize_t n;

		if (!iov->iov_len) {
			iov++;
			iovcnt--;
			continue;
		}
		n = sendmsg(r->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return peer_errno(r, "send");
			if (wait_fd(r, POLLOUT, timeout_ms) < 0)
				return -1;
			continue;
		}
		for (done = (size_t)n; done && iovcnt > 0;) {
			if (done >= iov->iov_len) {
				done -= iov->iov_len;
				iov++;
				iovcnt--;
			} else {
				iov->iov_base = (char *)iov->iov_base + done;
				iov->iov_len -= done;
				done = 0;
			}
		}
	}
	return 0;
}

static void put_header(unsigned char *h, int type, uint16_t id, size_t clen,
		       size_t plen)
{
	h[0] = FA_FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(clen >> 8);
	h[5] = (unsigned char)clen;
	h[6] = (unsigned char)plen;
	h[7] = 0;
}

/* Send one small record (content <= 65535, no padding). */
static int send_record(const struct fa_request *r, int type, uint16_t id,
		       const void *content, size_t clen, int timeout_ms)
{
	unsigned char h[FA_FCGI_HEADER_LEN];
	struct iovec iov[2];

	put_header(h, type, id, clen, 0);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)content;
	iov[1].iov_len = clen;
	return send_all(r, iov, 2, timeout_ms);
}

static void put_end_request_body(unsigned char *b, uint32_t app_status,
				 int protocol_status)
{
	b[0] = (unsigned char)(app_status >> 24);
	b[1] = (unsigned char)(app_status >> 16);
	b[2] = (unsigned char)(app_status >> 8);
	b[3] = (unsigned char)app_status;
	b[4] = (unsigned char)protocol_status;
	b[5] = b[6] = b[7] = 0;
}

static int send_end_request(const struct fa_request *r, uint16_t id,
			    int protocol_status, int timeout_ms)
{
	unsigned char b[8];

	put_end_request_body(b, 0, protocol_status);
	return send_record(r, FA_FCGI_END_REQUEST, id, b, sizeof(b), timeout_ms);
}

/* ---- name-value pairs ---- */

struct nv {
	const unsigned char *name, *value;
	size_t name_len, value_len;
};

/* One length: 1 byte if the high bit is clear, else 4 bytes, 31 bits. */
static int nv_len(const unsigned char *p, size_t len, size_t *off, size_t *out)
{
	size_t o = *off;

	if (o >= len)
		return -1;
	if (!(p[o] & 0x80)) {
		*out = p[o];
		*off = o + 1;
		return 0;
	}
	if (len - o < 4)
		return -1;
	*out = (size_t)(p[o] & 0x7f) << 24 | (size_t)p[o + 1] << 16 |
	       (size_t)p[o + 2] << 8 | (size_t)p[o + 3];
	*off = o + 4;
	return 0;
}

/* Decode the pair at *off; both lengths are checked against the buffer. */
static int nv_next(const unsigned char *p, size_t len, size_t *off,
		   struct nv *nv)
{
	size_t o = *off, nlen, vlen;

	if (nv_len(p, len, &o, &nlen) < 0 || nv_len(p, len, &o, &vlen) < 0)
		return -1;
	if (nlen > len - o || vlen > len - o - nlen)
		return -1;
	nv->name = p + o;
	nv->name_len = nlen;
	nv->value = p + o + nlen;
	nv->value_len = vlen;
	*off = o + nlen + vlen;
	return 0;
}

static int param_add(struct fa_request *r, const struct nv *nv)
{
	struct fa_param *pa;
	char *blk;

	if (r->nparams == r->params_cap) {
		size_t cap = r->params_cap ? r->params_cap * 2 : 16;

		if (cap > SIZE_MAX / sizeof(*pa))
			return log_err("fcgi: too many params");
		pa = realloc(r->params, cap * sizeof(*pa));
		if (!pa)
			return log_err("fcgi: out of memory for %zu params", cap);
		r->params = pa;
		r->params_cap = cap;
	}
	if (nv->name_len > SIZE_MAX - 2 - nv->value_len)
		return log_err("fcgi: param too large");
	blk = malloc(nv->name_len + nv->value_len + 2);
	if (!blk)
		return log_err("fcgi: out of memory for a %zu-byte param",
			       nv->name_len + nv->value_len);
	memcpy(blk, nv->name, nv->name_len);
	blk[nv->name_len] = '\0';
	memcpy(blk + nv->name_len + 1, nv->value, nv->value_len);
	blk[nv->name_len + 1 + nv->value_len] = '\0';

	pa = &r->params[r->nparams++];
	pa->name = blk;
	pa->name_len = nv->name_len;
	pa->value = blk + nv->name_len + 1;
	pa->value_len = nv->value_len;
	return 0;
}

int fa_params_parse(struct fa_request *r, const unsigned char *p, size_t len,
		    const struct fa_limits *lim)
{
	size_t start = r->nparams, off = 0;

	if (len > lim->max_params_bytes)
		return peer_err(r, "PARAMS stream of %zu bytes exceeds %zu",
				len, lim->max_params_bytes);
	while (off < len) {
		size_t at = off;
		struct nv nv;

		if (nv_next(p, len, &off, &nv) < 0) {
			peer_err(r, "malformed name-value pair at offset %zu of %zu",
				 at, len);
			goto fail;
		}
		/* A NUL would let "A\0B" pass for "A" in C string lookups. */
		if (memchr(nv.name, 0, nv.name_len)) {
			peer_err(r, "param name with a NUL byte at offset %zu", at);
			goto fail;
		}
		if (r->nparams >= lim->max_params) {
			peer_err(r, "more than %zu params", lim->max_params);
			goto fail;
		}
		if (param_add(r, &nv) < 0)
			goto fail;
	}
	return 0;
fail:
	while (r->nparams > start)
		free(r->params[--r->nparams].name);
	return -1;
}

const char *fa_param_get(const struct fa_request *r, const char *name)
{
	size_t n = strlen(name);

	/* First match wins: nginx sends fastcgi_param entries before HTTP_*. */
	for (size_t i = 0; i < r->nparams; i++) {
		const struct fa_param *pa = &r->params[i];

		if (pa->name_len == n && !memcmp(pa->name, name, n))
			return pa->value;
	}
	return NULL;
}

/* ---- records ---- */

static int nv_is(const struct nv *nv, const char *s)
{
	size_t n = strlen(s);

	return nv->name_len == n && !memcmp(nv->name, s, n);
}

static int get_values(struct fa_request *r, const unsigned char *c,
		      size_t clen, int timeout_ms)
{
	static const char *const known[] = {
		"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS",
	};
	static const char *const answer[] = { "1", "1", "0" };
	unsigned char out[128];
	size_t off = 0, olen = 0;
	int sent[3] = { 0, 0, 0 };

	while (off < clen) {
		struct nv nv;

		if (nv_next(c, clen, &off, &nv) < 0)
			return peer_err(r, "malformed GET_VALUES record");
		for (size_t i = 0; i < 3; i++) {
			size_t nl = strlen(known[i]), vl = strlen(answer[i]);

			if (sent[i] || !nv_is(&nv, known[i]))
				continue;
			/* Names and values are < 128 bytes: 1-byte lengths. */
			if (2 + nl + vl > sizeof(out) - olen)
				return log_err("fcgi: GET_VALUES answer overflow");
			out[olen++] = (unsigned char)nl;
			out[olen++] = (unsigned char)vl;
			memcpy(out + olen, known[i], nl);
			olen += nl;
			memcpy(out + olen, answer[i], vl);
			olen += vl;
			sent[i] = 1;
		}
	}
	return send_record(r, FA_FCGI_GET_VALUES_RESULT, 0, out, olen,
			   timeout_ms);
}

/* Records with request id 0. */
static int management(struct fa_request *r, int type, const unsigned char *c,
		      size_t clen, int timeout_ms)
{
	unsigned char b[8] = { 0 };

	if (type == FA_FCGI_GET_VALUES)
		return get_values(r, c, clen, timeout_ms);
	/*
	 * Application record types, and the two management types only an
	 * application sends, make no sense with id 0 from a web server.
	 */
	if (type <= FA_FCGI_UNKNOWN_TYPE)
		return peer_err(r, "record type %d with request id 0", type);
	b[0] = (unsigned char)type;
	return send_record(r, FA_FCGI_UNKNOWN_TYPE, 0, b, sizeof(b), timeout_ms);
}

static int begin_request(struct fa_request *r, uint16_t id,
			 const unsigned char *c, size_t clen, int timeout_ms)
{
	unsigned role;

	if (clen != 8)
		return peer_err(r, "BEGIN_REQUEST body of %zu bytes", clen);
	role = (unsigned)c[0] << 8 | c[1];
	if (r->state != ST_BEGIN) {
		if (id == r->id)
			return peer_err(r, "BEGIN_REQUEST repeated");
		log_msg(LOG_WARN, "fcgi fd %d id %u: refusing request id %u: "
			"no multiplexing", r->fd, (unsigned)r->id, (unsigned)id);
		r->rejected_id = id;
		r->have_rejected = 1;
		return send_end_request(r, id, FA_FCGI_CANT_MPX_CONN,
					timeout_ms);
	}
	if (role != FA_FCGI_RESPONDER) {
		send_end_request(r, id, FA_FCGI_UNKNOWN_ROLE, timeout_ms);
		return peer_err(r, "request id %u has role %u, not RESPONDER",
				(unsigned)id, role);
	}
	r->id = id;
	r->keep_conn = !!(c[2] & FA_FCGI_KEEP_CONN);
	r->state = ST_PARAMS;
	return 0;
}

/* Returns 1 when the request is complete, 0 to read on, -1 on error. */
static int record(struct fa_request *r, const struct fa_limits *lim, int type,
		  uint16_t id, const unsigned char *c, size_t clen,
		  int timeout_ms)
{
	if (id == 0)
		return management(r, type, c, clen, timeout_ms);
	if (type == FA_FCGI_BEGIN_REQUEST)
		return begin_request(r, id, c, clen, timeout_ms);
	if (r->state == ST_BEGIN)
		return peer_err(r, "record type %d for id %u before "
				"BEGIN_REQUEST", type, (unsigned)id);
	if (id != r->id) {
		/* In-flight records of a request we refused: drop them. */
		if (r->have_rejected && id == r->rejected_id &&
		    (type == FA_FCGI_PARAMS || type == FA_FCGI_STDIN ||
		     type == FA_FCGI_DATA || type == FA_FCGI_ABORT_REQUEST))
			return 0;
		return peer_err(r, "record type %d for unknown id %u", type,
				(unsigned)id);
	}

	switch (type) {
	case FA_FCGI_ABORT_REQUEST:
		return peer_err(r, "peer aborted the request");
	case FA_FCGI_PARAMS:
		if (r->state != ST_PARAMS)
			return peer_err(r, "PARAMS after the PARAMS stream ended");
		if (clen == 0) {
			if (fa_params_parse(r, (const unsigned char *)r->pstream.data,
					    r->pstream.len, lim) < 0)
				return -1;
			buf_release(&r->pstream);
			r->state = ST_STDIN;
			return 0;
		}
		/* pstream.len <= max_params_bytes always holds here. */
		if (clen > lim->max_params_bytes - r->pstream.len)
			return peer_err(r, "PARAMS stream exceeds %zu bytes",
					lim->max_params_bytes);
		if (buf_add(&r->pstream, c, clen) < 0)
			return log_err("fcgi: out of memory for PARAMS");
		return 0;
	case FA_FCGI_STDIN:
		if (r->state != ST_STDIN)
			return peer_err(r, "STDIN before the PARAMS stream ended");
		if (clen == 0)
			return 1;
		if (r->body_too_large)
			return 0;
		if (clen > lim->max_body - r->body.len) {
			log_msg(LOG_INFO, "fcgi fd %d id %u: body exceeds %zu "
				"bytes, discarding it", r->fd, (unsigned)r->id,
				lim->max_body);
			r->body_too_large = 1;
			buf_release(&r->body);
			return 0;
		}
		if (buf_add(&r->body, c, clen) < 0)
			return log_err("fcgi: out of memory for a %zu-byte body",
				       r->body.len + clen);
		return 0;
	case FA_FCGI_DATA:
		return 0;
	default:
		return peer_err(r, "unexpected record type %d", type);
	}
}

void fa_request_init(struct fa_request *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->state = ST_BEGIN;
	buf_init(&r->body);
	buf_init(&r->pstream);
}

int fa_request_read(struct fa_request *r, const struct fa_limits *lim)
{
	int timeout_ms = timeout_or_default(lim->io_timeout_ms);
	int rc = -1;

	if (r->state != ST_BEGIN)
		return log_err("fcgi fd %d: fa_request_read called twice", r->fd);
	r->ibuf = malloc(IBUF_SIZE);
	if (!r->ibuf)
		return log_err("fcgi: out of memory for the input buffer");
	r->ipos = r->ilen = 0;

	for (;;) {
		const unsigned char *h;
		size_t clen, plen;
		uint16_t id;
		int type;

		if (fill(r, FA_FCGI_HEADER_LEN, timeout_ms) < 0)
			break;
		h = r->ibuf + r->ipos;
		if (h[0] != FA_FCGI_VERSION_1) {
			peer_err(r, "record version %u", (unsigned)h[0]);
			break;
		}
		type = h[1];
		id = (uint16_t)(h[2] << 8 | h[3]);
		clen = (size_t)h[4] << 8 | h[5];
		plen = h[6];
		/* Whole record, padding included: at most IBUF_SIZE. */
		if (fill(r, FA_FCGI_HEADER_LEN + clen + plen, timeout_ms) < 0)
			break;
		h = r->ibuf + r->ipos;
		r->ipos += FA_FCGI_HEADER_LEN + clen + plen;
		rc = record(r, lim, type, id, h + FA_FCGI_HEADER_LEN, clen,
			    timeout_ms);
		if (rc != 0)
			break;
	}

	free(r->ibuf);
	r->ibuf = NULL;
	r->ipos = r->ilen = 0;
	buf_release(&r->pstream);
	if (rc == 1) {
		r->state = ST_DONE;
		return 0;
	}
	r->state = ST_FAILED;
	return -1;
}

int fa_response_write(struct fa_request *r, const char *head, size_t head_len,
		      const void *body, size_t body_len, int io_timeout_ms)
{
	static const unsigned char pad[8];
	unsigned char trailer[3 * FA_FCGI_HEADER_LEN];
	int timeout_ms = timeout_or_default(io_timeout_ms);
	size_t total, off = 0;

	if (!r->id)
		return log_err("fcgi fd %d: response without a request", r->fd);
	if (r->state == ST_RESPONDED)
		return log_err("fcgi fd %d id %u: second response", r->fd,
			       (unsigned)r->id);
	if (body_len > SIZE_MAX - head_len)
		return log_err("fcgi fd %d: response too large", r->fd);
	total = head_len + body_len;
	r->state = ST_RESPONDED;

	/* Empty STDOUT ends the stream, then END_REQUEST. */
	put_header(trailer, FA_FCGI_STDOUT, r->id, 0, 0);
	put_header(trailer + 8, FA_FCGI_END_REQUEST, r->id, 8, 0);
	put_end_request_body(trailer + 16, 0, FA_FCGI_REQUEST_COMPLETE);

	/*
	 * head and body form one STDOUT stream: a record may take the end of
	 * head and the start of body.  The trailer rides with the last record
	 * so a small response is a single sendmsg().
	 */
	do {
		size_t n = total - off < OUT_CHUNK ? total - off : OUT_CHUNK;
		size_t plen = (8 - n % 8) % 8;
		unsigned char h[FA_FCGI_HEADER_LEN];
		struct iovec iov[5];
		int k = 0;

		if (n) {
			put_header(h, FA_FCGI_STDOUT, r->id, n, plen);
			iov[k].iov_base = h;
			iov[k++].iov_len = sizeof(h);
			if (off < head_len) {
				size_t hn = head_len - off < n ? head_len - off : n;

				iov[k].iov_base = (char *)head + off;
				iov[k++].iov_len = hn;
			}
			if (off + n > head_len) {
				size_t bs = off > head_len ? off - head_len : 0;

				iov[k].iov_base = (char *)body + bs;
				iov[k++].iov_len = off + n - head_len - bs;
			}
			iov[k].iov_base = (void *)pad;
			iov[k++].iov_len = plen;
		}
		off += n;
		if (off == total) {
			iov[k].iov_base = trailer;
			iov[k++].iov_len = sizeof(trailer);
		}
		if (send_all(r, iov, k, timeout_ms) < 0)
			return -1;
	} while (off < total);
	return 0;
}

void fa_request_release(struct fa_request *r)
{
	int fd = r->fd;

	for (size_t i = 0; i < r->nparams; i++)
		free(r->params[i].name);
	free(r->params);
	buf_release(&r->body);
	buf_release(&r->pstream);
	free(r->ibuf);
	fa_request_init(r, fd);
}
