/*
 * Tests for fcgi-app/fa_fcgi.c: the FastCGI responder protocol.
 *
 * The server side runs in the test thread on one end of a socketpair();
 * a peer thread plays nginx on the other end: it writes a byte stream
 * built by the record encoder below, optionally half-closes, then records
 * everything the server sends until the server closes its end.  A
 * test-side record decoder checks what the peer received, so both
 * directions are asserted on the wire bytes, not on internal state.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "fcgi-app/fa_fcgi.h"
#include "banned.h"

/* ---- encoder (the nginx side) ---- */

static void enc_rec(struct buf *b, int version, int type, unsigned id,
		    const void *c, size_t clen, size_t plen)
{
	unsigned char h[8] = {
		(unsigned char)version, (unsigned char)type,
		(unsigned char)(id >> 8), (unsigned char)id,
		(unsigned char)(clen >> 8), (unsigned char)clen,
		(unsigned char)plen, 0,
	};

	ck_assert(clen <= 65535 && plen <= 255);
	ck_assert_int_eq(buf_add(b, h, 8), 0);
	ck_assert_int_eq(buf_add(b, c, clen), 0);
	/* Non-zero padding bytes: the server must skip them, not parse them. */
	for (size_t i = 0; i < plen; i++)
		ck_assert_int_eq(buf_addch(b, (char)0xA5), 0);
}

static void rec(struct buf *b, int type, unsigned id, const void *c,
		size_t clen)
{
	enc_rec(b, 1, type, id, c, clen, 0);
}

static void enc_len(struct buf *b, size_t n, int force_long)
{
	if (n < 128 && !force_long) {
		buf_addch(b, (char)n);
		return;
	}
	buf_addch(b, (char)(0x80 | (n >> 24)));
	buf_addch(b, (char)(n >> 16));
	buf_addch(b, (char)(n >> 8));
	buf_addch(b, (char)n);
}

static void enc_nv(struct buf *b, const char *n, size_t nl, const char *v,
		   size_t vl, int force_long)
{
	enc_len(b, nl, force_long);
	enc_len(b, vl, force_long);
	buf_add(b, n, nl);
	buf_add(b, v, vl);
}

static void enc_nvs(struct buf *b, const char *n, const char *v)
{
	enc_nv(b, n, strlen(n), v, strlen(v), 0);
}

static void enc_begin(struct buf *b, unsigned id, unsigned role, int flags)
{
	unsigned char c[8] = { (unsigned char)(role >> 8), (unsigned char)role,
			       (unsigned char)flags, 0, 0, 0, 0, 0 };

	rec(b, FA_FCGI_BEGIN_REQUEST, id, c, 8);
}

/* A stream as records of at most chunk bytes (varying padding), then its
 * empty terminator. */
static void enc_stream(struct buf *b, int type, unsigned id, const void *s,
		       size_t len, size_t chunk)
{
	const char *p = s;
	size_t off = 0, i = 0;

	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		enc_rec(b, 1, type, id, p + off, n, (i++ * 3) % 9);
		off += n;
	}
	rec(b, type, id, NULL, 0);
}

/* Records [0,k) and [k,len) of a stream, then its terminator. */
static void enc_split(struct buf *b, int type, unsigned id, const void *s,
		      size_t len, size_t k)
{
	const char *p = s;

	if (k)
		rec(b, type, id, p, k);
	if (len - k)
		rec(b, type, id, p + k, len - k);
	rec(b, type, id, NULL, 0);
}

/* The params used by most tests, with what the server must find. */
static const char long_name[] = "HTTP_X_A_VERY_LONG_HEADER_NAME_THAT_NEEDS_"
				"MORE_THAN_ONE_HUNDRED_AND_TWENTY_SEVEN_BYTES_"
				"TO_BE_ENCODED_SO_IT_USES_THE_FOUR_BYTE_FORM";

static void std_params(struct buf *p)
{
	enc_nvs(p, "SCRIPT_NAME", "/api/serverless");
	enc_nvs(p, "REQUEST_METHOD", "POST");
	enc_nvs(p, "CONTENT_TYPE", "application/json");
	enc_nvs(p, "EMPTY", "");
	enc_nv(p, "BIN", 3, "a\0b", 3, 0);
	enc_nvs(p, long_name, "x");
	enc_nv(p, "SHORT_AS_LONG", 13, "v", 1, 1);
}

static void check_std_params(const struct fa_request *r)
{
	ck_assert_uint_eq(r->nparams, 7);
	ck_assert_str_eq(fa_param_get(r, "SCRIPT_NAME"), "/api/serverless");
	ck_assert_str_eq(fa_param_get(r, "REQUEST_METHOD"), "POST");
	ck_assert_str_eq(fa_param_get(r, "EMPTY"), "");
	ck_assert_str_eq(fa_param_get(r, long_name), "x");
	ck_assert_str_eq(fa_param_get(r, "SHORT_AS_LONG"), "v");
	ck_assert_ptr_null(fa_param_get(r, "script_name"));
	ck_assert_ptr_null(fa_param_get(r, "SCRIPT"));
	ck_assert_ptr_null(fa_param_get(r, "NOPE"));
	ck_assert_str_eq(r->params[4].name, "BIN");
	ck_assert_uint_eq(r->params[4].value_len, 3);
	ck_assert_int_eq(memcmp(r->params[4].value, "a\0b", 4), 0);
	ck_assert_uint_eq(r->params[5].name_len, strlen(long_name));
}

static const struct fa_limits test_lim = { 64 * 1024, 256, 1024 * 1024, 2000 };

/* ---- peer thread ---- */

struct peer {
	int fd;
	const char *out;
	size_t outlen;
	int shut_wr; /* half-close after writing */
	struct buf in;
	pthread_t th;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	size_t off = 0;
	char tmp[65536];

	while (off < p->outlen) {
		ssize_t n = send(p->fd, p->out + off, p->outlen - off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the server hung up: fine, read what it said */
		off += (size_t)n;
	}
	if (p->shut_wr)
		shutdown(p->fd, SHUT_WR);
	for (;;) {
		ssize_t n = recv(p->fd, tmp, sizeof(tmp), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(&p->in, tmp, (size_t)n);
	}
	return NULL;
}

/* Start a peer writing out; returns the server's fd. */
static int peer_start(struct peer *p, const struct buf *out, int shut_wr)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->fd = sv[1];
	p->out = out->data;
	p->outlen = out->len;
	p->shut_wr = shut_wr;
	buf_init(&p->in);
	ck_assert_int_eq(pthread_create(&p->th, NULL, peer_main, p), 0);
	return sv[0];
}

/* Close the server end and wait for the peer to see EOF. */
static void peer_finish(struct peer *p, int server_fd)
{
	close(server_fd);
	pthread_join(p->th, NULL);
	close(p->fd);
}

/* ---- decoder (what the peer received) ---- */

struct rrec {
	int version, type;
	unsigned id;
	const unsigned char *c;
	size_t clen;
};

/* 1 = a record, 0 = clean end, -1 = truncated. */
static int dec_rec(const struct buf *in, size_t *off, struct rrec *r)
{
	const unsigned char *h;
	size_t plen;

	if (*off == in->len)
		return 0;
	if (in->len - *off < 8)
		return -1;
	h = (const unsigned char *)in->data + *off;
	r->version = h[0];
	r->type = h[1];
	r->id = (unsigned)h[2] << 8 | h[3];
	r->clen = (size_t)h[4] << 8 | h[5];
	plen = h[6];
	if (in->len - *off - 8 < r->clen + plen)
		return -1;
	r->c = h + 8;
	*off += 8 + r->clen + plen;
	return 1;
}

static void expect_end_request(const struct buf *in, size_t *off, unsigned id,
			       int protocol_status)
{
	struct rrec r;

	ck_assert_int_eq(dec_rec(in, off, &r), 1);
	ck_assert_int_eq(r.version, 1);
	ck_assert_int_eq(r.type, FA_FCGI_END_REQUEST);
	ck_assert_uint_eq(r.id, id);
	ck_assert_uint_eq(r.clen, 8);
	ck_assert_int_eq(r.c[0] | r.c[1] | r.c[2] | r.c[3], 0); /* appStatus */
	ck_assert_int_eq(r.c[4], protocol_status);
}

/* Run fa_request_read against stream; returns its result, peer output in
 * *got (caller releases), request in *r (caller releases). */
static int run_read(const struct buf *stream, const struct fa_limits *lim,
		    int shut_wr, struct fa_request *r, struct buf *got)
{
	struct peer p;
	int fd = peer_start(&p, stream, shut_wr);
	int rc;

	fa_request_init(r, fd);
	rc = fa_request_read(r, lim);
	peer_finish(&p, fd);
	*got = p.in;
	return rc;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fa_params_parse ---- */

START_TEST(test_params_parse_basic)
{
	struct fa_request r;
	struct buf p = BUF_INIT;

	std_params(&p);
	fa_request_init(&r, -1);
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len,
					 &test_lim), 0);
	check_std_params(&r);
	/* Appends: parse again, first match still wins on lookup. */
	buf_reset(&p);
	enc_nvs(&p, "SCRIPT_NAME", "/other");
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len,
					 &test_lim), 0);
	ck_assert_uint_eq(r.nparams, 8);
	ck_assert_str_eq(fa_param_get(&r, "SCRIPT_NAME"), "/api/serverless");
	/* Empty stream: no params, fine. */
	ck_assert_int_eq(fa_params_parse(&r, NULL, 0, &test_lim), 0);
	ck_assert_uint_eq(r.nparams, 8);
	fa_request_release(&r);
	ck_assert_uint_eq(r.nparams, 0);
	ck_assert_ptr_null(r.params);
	ck_assert_int_eq(r.fd, -1);
	buf_release(&p);
}
END_TEST

static int parse_bytes(const void *p, size_t len)
{
	struct fa_request r;
	int rc;

	fa_request_init(&r, -1);
	rc = fa_params_parse(&r, p, len, &test_lim);
	if (rc < 0)
		ck_assert_uint_eq(r.nparams, 0);
	fa_request_release(&r);
	return rc;
}

START_TEST(test_params_parse_malformed)
{
	struct fa_request r;
	struct buf p = BUF_INIT;

	/* A 4-byte length cut short, at every cut point. */
	ck_assert_int_eq(parse_bytes("\x80", 1), -1);
	ck_assert_int_eq(parse_bytes("\x80\x00", 2), -1);
	ck_assert_int_eq(parse_bytes("\x80\x00\x00", 3), -1);
	ck_assert_int_eq(parse_bytes("\x01\x80\x00\x00", 4), -1);
	/* Name length only, no value length. */
	ck_assert_int_eq(parse_bytes("\x01", 1), -1);
	/* Name past the end, value past the end. */
	ck_assert_int_eq(parse_bytes("\x05\x00" "abcd", 6), -1);
	ck_assert_int_eq(parse_bytes("\x01\x05" "aval", 6), -1);
	/* Maximal 31-bit lengths: must not overflow into "fits". */
	ck_assert_int_eq(parse_bytes("\xff\xff\xff\xff\xff\xff\xff\xff" "ab", 10), -1);
	ck_assert_int_eq(parse_bytes("\x01\xff\xff\xff\xff" "a", 6), -1);
	ck_assert_int_eq(parse_bytes("\xff\xff\xff\xff\x00" "a", 6), -1);
	/* Trailing garbage after a valid pair. */
	ck_assert_int_eq(parse_bytes("\x01\x01" "ab" "\x07", 5), -1);
	/* NUL in a name. */
	ck_assert_int_eq(parse_bytes("\x03\x01" "A\0B" "v", 6), -1);
	/* Valid ones for contrast. */
	ck_assert_int_eq(parse_bytes("\x01\x01" "ab", 4), 0);
	ck_assert_int_eq(parse_bytes("\x80\x00\x00\x01\x80\x00\x00\x01" "ab", 10), 0);
	ck_assert_int_eq(parse_bytes("\x00\x00", 2), 0);

	/* A failure leaves earlier params untouched (rollback). */
	fa_request_init(&r, -1);
	enc_nvs(&p, "A", "1");
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len,
					 &test_lim), 0);
	enc_nvs(&p, "B", "2");
	buf_addch(&p, 9);
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len,
					 &test_lim), -1);
	ck_assert_uint_eq(r.nparams, 1);
	ck_assert_str_eq(fa_param_get(&r, "A"), "1");
	ck_assert_ptr_null(fa_param_get(&r, "B"));
	fa_request_release(&r);
	buf_release(&p);
}
END_TEST

START_TEST(test_params_parse_limits)
{
	struct fa_limits lim = test_lim;
	struct fa_request r;
	struct buf p = BUF_INIT;

	for (int i = 0; i < 10; i++)
		enc_nvs(&p, "N", "v");
	lim.max_params = 10;
	fa_request_init(&r, -1);
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len, &lim), 0);
	ck_assert_uint_eq(r.nparams, 10);
	fa_request_release(&r);
	lim.max_params = 9;
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len, &lim), -1);
	ck_assert_uint_eq(r.nparams, 0);
	fa_request_release(&r);

	lim = test_lim;
	lim.max_params_bytes = p.len;
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len, &lim), 0);
	fa_request_release(&r);
	lim.max_params_bytes = p.len - 1;
	ck_assert_int_eq(fa_params_parse(&r, (unsigned char *)p.data, p.len, &lim), -1);
	fa_request_release(&r);
	buf_release(&p);
}
END_TEST

/* ---- fa_request_read ---- */

START_TEST(test_read_every_split)
{
	struct buf params = BUF_INIT, body = BUF_INIT;

	std_params(&params);
	for (int i = 0; i < 1000; i++)
		buf_addch(&body, (char)(i * 7));

	for (size_t k = 0; k <= params.len; k++) {
		struct buf s = BUF_INIT, got;
		struct fa_request r;

		enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
		enc_split(&s, FA_FCGI_PARAMS, 1, params.data, params.len, k);
		/* Body in records of 1..13 bytes with padding. */
		enc_stream(&s, FA_FCGI_STDIN, 1, body.data, body.len, 1 + k % 13);
		ck_assert_int_eq(run_read(&s, &test_lim, 0, &r, &got), 0);
		ck_assert_uint_eq(r.id, 1);
		ck_assert_int_eq(r.keep_conn, 0);
		ck_assert_int_eq(r.body_too_large, 0);
		check_std_params(&r);
		ck_assert_uint_eq(r.body.len, body.len);
		ck_assert_int_eq(memcmp(r.body.data, body.data, body.len), 0);
		ck_assert_uint_eq(got.len, 0); /* nothing to answer */
		fa_request_release(&r);
		buf_release(&got);
		buf_release(&s);
	}

	/* And one byte per PARAMS record, no body, keep-conn asked. */
	{
		struct buf s = BUF_INIT, got;
		struct fa_request r;

		enc_begin(&s, 0xBEEF, FA_FCGI_RESPONDER, FA_FCGI_KEEP_CONN);
		enc_stream(&s, FA_FCGI_PARAMS, 0xBEEF, params.data, params.len, 1);
		rec(&s, FA_FCGI_STDIN, 0xBEEF, NULL, 0);
		ck_assert_int_eq(run_read(&s, &test_lim, 1, &r, &got), 0);
		ck_assert_uint_eq(r.id, 0xBEEF);
		ck_assert_int_eq(r.keep_conn, 1);
		check_std_params(&r);
		ck_assert_uint_eq(r.body.len, 0);
		fa_request_release(&r);
		buf_release(&got);
		buf_release(&s);
	}
	buf_release(&params);
	buf_release(&body);
}
END_TEST

START_TEST(test_read_long_values)
{
	struct buf params = BUF_INIT, s = BUF_INIT, got;
	struct fa_limits lim = test_lim;
	struct fa_request r;
	char *name = malloc(300), *value = malloc(70000);

	memset(name, 'N', 300);
	name[299] = 'Z';
	for (size_t i = 0; i < 70000; i++)
		value[i] = (char)('a' + i % 26);
	enc_nv(&params, name, 300, value, 70000, 0);
	enc_nvs(&params, "AFTER", "ok");
	lim.max_params_bytes = 128 * 1024;

	/* The 70000-byte value must straddle several records. */
	enc_begin(&s, 7, FA_FCGI_RESPONDER, 0);
	enc_stream(&s, FA_FCGI_PARAMS, 7, params.data, params.len, 65535);
	rec(&s, FA_FCGI_STDIN, 7, NULL, 0);
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), 0);
	ck_assert_uint_eq(r.nparams, 2);
	ck_assert_uint_eq(r.params[0].name_len, 300);
	ck_assert_uint_eq(r.params[0].value_len, 70000);
	ck_assert_int_eq(memcmp(r.params[0].name, name, 300), 0);
	ck_assert_int_eq(r.params[0].name[300], '\0');
	ck_assert_int_eq(memcmp(r.params[0].value, value, 70000), 0);
	ck_assert_int_eq(r.params[0].value[70000], '\0');
	ck_assert_str_eq(fa_param_get(&r, "AFTER"), "ok");
	fa_request_release(&r);
	buf_release(&got);

	/* The same stream with the default 64 KiB limit is refused. */
	ck_assert_int_eq(run_read(&s, &test_lim, 0, &r, &got), -1);
	fa_request_release(&r);
	buf_release(&got);
	buf_release(&s);
	buf_release(&params);
	free(name);
	free(value);
}
END_TEST

/*
 * A request with npairs params "P<i>"="v", plus, when bytes is non-zero,
 * one "PAD" param sized so the PARAMS stream is exactly bytes long.
 */
static void limit_request(struct buf *s, size_t npairs, size_t bytes)
{
	struct buf params = BUF_INIT;

	for (size_t i = 0; i < npairs; i++) {
		char n[16];
		int nl = snprintf(n, sizeof(n), "P%zu", i);

		enc_nv(&params, n, (size_t)nl, "v", 1, 0);
	}
	if (bytes) {
		size_t extra = bytes - params.len;
		char *pad = malloc(extra);

		ck_assert_uint_ge(bytes, params.len + 5);
		memset(pad, 'x', extra);
		/* Pair overhead: 1+1+3 with short lengths, 4+4+3 with long. */
		if (extra <= 5 + 127)
			enc_nv(&params, "PAD", 3, pad, extra - 5, 0);
		else
			enc_nv(&params, "PAD", 3, pad, extra - 11, 1);
		free(pad);
		ck_assert_uint_eq(params.len, bytes);
	}
	enc_begin(s, 1, FA_FCGI_RESPONDER, 0);
	enc_stream(s, FA_FCGI_PARAMS, 1, params.data, params.len, 1000);
	rec(s, FA_FCGI_STDIN, 1, NULL, 0);
	buf_release(&params);
}

START_TEST(test_read_param_limits)
{
	struct fa_limits lim = test_lim;
	struct fa_request r;
	struct buf s = BUF_INIT, got;

	/* Count: exactly max_params passes, one more fails. */
	lim.max_params = 50;
	limit_request(&s, 50, 0);
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), 0);
	ck_assert_uint_eq(r.nparams, 50);
	ck_assert_str_eq(fa_param_get(&r, "P49"), "v");
	fa_request_release(&r);
	buf_release(&got);
	buf_reset(&s);
	limit_request(&s, 51, 0);
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), -1);
	fa_request_release(&r);
	buf_release(&got);

	/* Bytes: a stream of exactly max_params_bytes passes, +1 fails. */
	lim = test_lim;
	lim.max_params_bytes = 4000;
	buf_reset(&s);
	limit_request(&s, 100, 4000);
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), 0);
	ck_assert_uint_eq(r.nparams, 101);
	fa_request_release(&r);
	buf_release(&got);
	buf_reset(&s);
	limit_request(&s, 100, 4001);
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), -1);
	ck_assert_uint_eq(r.nparams, 0);
	fa_request_release(&r);
	buf_release(&got);
	buf_release(&s);
}
END_TEST

START_TEST(test_read_body_limit)
{
	struct fa_limits lim = test_lim;
	struct buf body = BUF_INIT, s = BUF_INIT, got;
	struct fa_request r;
	const char head[] = "Status: 413 Payload Too Large\r\n\r\n";
	size_t off = 0;
	struct rrec rr;

	for (int i = 0; i < 300000; i++)
		buf_addch(&body, (char)i);
	lim.max_body = 1000;

	/* Exactly max_body: kept. */
	enc_begin(&s, 2, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 2, NULL, 0);
	enc_stream(&s, FA_FCGI_STDIN, 2, body.data, 1000, 333);
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), 0);
	ck_assert_int_eq(r.body_too_large, 0);
	ck_assert_uint_eq(r.body.len, 1000);
	fa_request_release(&r);
	buf_release(&got);

	/*
	 * 300000 bytes (more than the socket buffers hold, so the peer is
	 * still writing while we read): flagged, dropped, drained to the
	 * terminator, and the connection is still in step for the answer.
	 */
	buf_reset(&s);
	enc_begin(&s, 2, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 2, NULL, 0);
	enc_stream(&s, FA_FCGI_STDIN, 2, body.data, body.len, 65535);
	{
		struct peer p;
		int fd = peer_start(&p, &s, 0);

		fa_request_init(&r, fd);
		ck_assert_int_eq(fa_request_read(&r, &lim), 0);
		ck_assert_int_eq(r.body_too_large, 1);
		ck_assert_uint_eq(r.body.len, 0);
		ck_assert_int_eq(fa_response_write(&r, head, strlen(head), NULL, 0,
						   1000), 0);
		fa_request_release(&r);
		peer_finish(&p, fd);
		got = p.in;
	}
	ck_assert_int_eq(dec_rec(&got, &off, &rr), 1);
	ck_assert_int_eq(rr.type, FA_FCGI_STDOUT);
	ck_assert_uint_eq(rr.clen, strlen(head));
	ck_assert_int_eq(memcmp(rr.c, head, rr.clen), 0);
	ck_assert_int_eq(dec_rec(&got, &off, &rr), 1);
	ck_assert_int_eq(rr.type, FA_FCGI_STDOUT);
	ck_assert_uint_eq(rr.clen, 0);
	expect_end_request(&got, &off, 2, FA_FCGI_REQUEST_COMPLETE);
	ck_assert_int_eq(dec_rec(&got, &off, &rr), 0);
	buf_release(&got);
	buf_release(&s);
	buf_release(&body);
}
END_TEST

/* Expect the read to fail; return what the peer received. */
static void expect_fail(const struct buf *s, int shut_wr, struct buf *got)
{
	struct fa_request r;
	long long t0 = mono_ms();

	ck_assert_int_eq(run_read(s, &test_lim, shut_wr, &r, got), -1);
	/* Failing on the bytes themselves, not on the 2 s timeout. */
	ck_assert_int_lt(mono_ms() - t0, 1500);
	fa_request_release(&r);
}

static void expect_fail_silent(const struct buf *s, int shut_wr)
{
	struct buf got;

	expect_fail(s, shut_wr, &got);
	ck_assert_uint_eq(got.len, 0);
	buf_release(&got);
}

START_TEST(test_read_truncated)
{
	struct buf s = BUF_INIT, full = BUF_INIT;

	/* Every proper prefix of a valid request, then EOF. */
	enc_begin(&full, 1, FA_FCGI_RESPONDER, 0);
	enc_split(&full, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4, 2);
	enc_stream(&full, FA_FCGI_STDIN, 1, "body", 4, 3);
	for (size_t k = 0; k < full.len; k++) {
		buf_reset(&s);
		buf_add(&s, full.data, k);
		expect_fail_silent(&s, 1);
	}

	/* Content length running past the end of what is sent. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	enc_rec(&s, 1, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4, 0);
	s.data[8 + 8 + 5] = 100; /* claims 100 bytes, has 4 */
	expect_fail_silent(&s, 1);
	buf_release(&s);
	buf_release(&full);
}
END_TEST

START_TEST(test_read_bad_records)
{
	struct buf s = BUF_INIT, got;
	unsigned char nine[9] = { 0, 1, 0 };

	/* Version 0 and 2. */
	enc_rec(&s, 0, FA_FCGI_BEGIN_REQUEST, 1, "\0\1\0\0\0\0\0\0", 8, 0);
	expect_fail_silent(&s, 0);
	buf_reset(&s);
	enc_rec(&s, 2, FA_FCGI_BEGIN_REQUEST, 1, "\0\1\0\0\0\0\0\0", 8, 0);
	expect_fail_silent(&s, 0);
	/* Bad version in the middle of a request. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	enc_rec(&s, 2, FA_FCGI_PARAMS, 1, NULL, 0, 0);
	expect_fail_silent(&s, 0);

	/* BEGIN_REQUEST body of the wrong size. */
	buf_reset(&s);
	rec(&s, FA_FCGI_BEGIN_REQUEST, 1, nine, 9);
	expect_fail_silent(&s, 0);
	buf_reset(&s);
	rec(&s, FA_FCGI_BEGIN_REQUEST, 1, nine, 7);
	expect_fail_silent(&s, 0);

	/* Records before BEGIN_REQUEST. */
	buf_reset(&s);
	rec(&s, FA_FCGI_PARAMS, 1, NULL, 0);
	expect_fail_silent(&s, 0);

	/* BEGIN_REQUEST with the management id 0. */
	buf_reset(&s);
	enc_begin(&s, 0, FA_FCGI_RESPONDER, 0);
	expect_fail_silent(&s, 0);

	/* STDIN before the PARAMS terminator. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4);
	rec(&s, FA_FCGI_STDIN, 1, "x", 1);
	expect_fail_silent(&s, 0);

	/* PARAMS after the PARAMS terminator. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, NULL, 0);
	rec(&s, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4);
	expect_fail_silent(&s, 0);

	/* Malformed pairs, detected at the terminator. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	enc_split(&s, FA_FCGI_PARAMS, 1, "\x01\x09" "ab", 4, 1);
	expect_fail_silent(&s, 0);

	/* ABORT_REQUEST. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, NULL, 0);
	rec(&s, FA_FCGI_ABORT_REQUEST, 1, NULL, 0);
	expect_fail_silent(&s, 0);

	/* Records only the application sends, and a type with no meaning. */
	for (int t = FA_FCGI_END_REQUEST; t <= 255; t++) {
		if (t == FA_FCGI_PARAMS || t == FA_FCGI_STDIN ||
		    t == FA_FCGI_DATA)
			continue;
		buf_reset(&s);
		enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
		rec(&s, t, 1, NULL, 0);
		expect_fail_silent(&s, 0);
	}

	/* A stream record for an id we never saw. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 2, NULL, 0);
	expect_fail_silent(&s, 0);

	/* Application record types with id 0. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 0, NULL, 0);
	expect_fail_silent(&s, 0);

	/* Peer-to-app management replies with id 0 make no sense either. */
	buf_reset(&s);
	rec(&s, FA_FCGI_GET_VALUES_RESULT, 0, NULL, 0);
	expect_fail(&s, 0, &got);
	ck_assert_uint_eq(got.len, 0);
	buf_release(&got);
	buf_release(&s);
}
END_TEST

START_TEST(test_read_data_ignored)
{
	struct buf s = BUF_INIT, got;
	struct fa_request r;

	enc_begin(&s, 3, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 3, "\x01\x01" "ab", 4);
	rec(&s, FA_FCGI_DATA, 3, "ignored", 7);
	rec(&s, FA_FCGI_PARAMS, 3, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 3, "in", 2);
	rec(&s, FA_FCGI_DATA, 3, "ignored", 7);
	rec(&s, FA_FCGI_DATA, 3, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 3, NULL, 0);
	ck_assert_int_eq(run_read(&s, &test_lim, 0, &r, &got), 0);
	ck_assert_str_eq(fa_param_get(&r, "a"), "b");
	ck_assert_uint_eq(r.body.len, 2);
	ck_assert_int_eq(memcmp(r.body.data, "in", 2), 0);
	ck_assert_uint_eq(got.len, 0);
	/* Reading twice is a caller bug, refused. */
	ck_assert_int_eq(fa_request_read(&r, &test_lim), -1);
	fa_request_release(&r);
	buf_release(&got);
	buf_release(&s);
}
END_TEST

START_TEST(test_read_second_begin)
{
	struct buf s = BUF_INIT, got;
	struct fa_request r;
	size_t off = 0;
	struct rrec rr;

	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4);
	enc_begin(&s, 2, FA_FCGI_RESPONDER, 0);
	/* The refused request's in-flight records are dropped. */
	rec(&s, FA_FCGI_PARAMS, 2, "\x01\x01" "cd", 4);
	rec(&s, FA_FCGI_PARAMS, 2, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 2, "other", 5);
	rec(&s, FA_FCGI_PARAMS, 1, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 1, "mine", 4);
	rec(&s, FA_FCGI_STDIN, 2, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 1, NULL, 0);
	ck_assert_int_eq(run_read(&s, &test_lim, 0, &r, &got), 0);
	ck_assert_uint_eq(r.id, 1);
	ck_assert_uint_eq(r.nparams, 1);
	ck_assert_str_eq(fa_param_get(&r, "a"), "b");
	ck_assert_ptr_null(fa_param_get(&r, "c"));
	ck_assert_uint_eq(r.body.len, 4);
	ck_assert_int_eq(memcmp(r.body.data, "mine", 4), 0);
	expect_end_request(&got, &off, 2, FA_FCGI_CANT_MPX_CONN);
	ck_assert_int_eq(dec_rec(&got, &off, &rr), 0);
	fa_request_release(&r);
	buf_release(&got);

	/* The same id twice is an error. */
	buf_reset(&s);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	expect_fail_silent(&s, 0);
	buf_release(&s);
}
END_TEST

START_TEST(test_read_unknown_role)
{
	static const unsigned roles[] = { FA_FCGI_AUTHORIZER, FA_FCGI_FILTER, 0,
					  0x1234 };

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		struct buf s = BUF_INIT, got;
		size_t off = 0;
		struct rrec rr;

		enc_begin(&s, 9, roles[i], 0);
		rec(&s, FA_FCGI_PARAMS, 9, NULL, 0);
		rec(&s, FA_FCGI_STDIN, 9, NULL, 0);
		expect_fail(&s, 0, &got);
		expect_end_request(&got, &off, 9, FA_FCGI_UNKNOWN_ROLE);
		ck_assert_int_eq(dec_rec(&got, &off, &rr), 0);
		buf_release(&got);
		buf_release(&s);
	}
}
END_TEST

/* Decode one name-value pair on the test side (trusting our own server). */
static void dec_nv(const struct rrec *rr, size_t *off, const char *name,
		   const char *value)
{
	size_t nl = rr->c[(*off)++];
	size_t vl = rr->c[(*off)++];

	ck_assert_uint_lt(nl, 128);
	ck_assert_uint_lt(vl, 128);
	ck_assert_uint_le(*off + nl + vl, rr->clen);
	ck_assert_uint_eq(nl, strlen(name));
	ck_assert_int_eq(memcmp(rr->c + *off, name, nl), 0);
	ck_assert_uint_eq(vl, strlen(value));
	ck_assert_int_eq(memcmp(rr->c + *off + nl, value, vl), 0);
	*off += nl + vl;
}

START_TEST(test_read_management)
{
	struct buf s = BUF_INIT, q = BUF_INIT, got;
	struct fa_request r;
	size_t off = 0, co = 0;
	struct rrec rr;

	enc_nvs(&q, "FCGI_MAX_CONNS", "");
	enc_nvs(&q, "FCGI_UNKNOWN_VARIABLE", "");
	enc_nvs(&q, "FCGI_MAX_REQS", "");
	enc_nv(&q, "FCGI_MPXS_CONNS", 15, "", 0, 1);
	enc_nvs(&q, "FCGI_MAX_REQS", ""); /* asked twice, answered once */
	rec(&s, FA_FCGI_GET_VALUES, 0, q.data, q.len);
	rec(&s, 200, 0, "zzz", 3); /* unknown management type */
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, NULL, 0);
	/* Management records may arrive mid-request too. */
	rec(&s, FA_FCGI_GET_VALUES, 0, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 1, NULL, 0);
	ck_assert_int_eq(run_read(&s, &test_lim, 0, &r, &got), 0);
	ck_assert_uint_eq(r.id, 1);

	ck_assert_int_eq(dec_rec(&got, &off, &rr), 1);
	ck_assert_int_eq(rr.version, 1);
	ck_assert_int_eq(rr.type, FA_FCGI_GET_VALUES_RESULT);
	ck_assert_uint_eq(rr.id, 0);
	dec_nv(&rr, &co, "FCGI_MAX_CONNS", "1");
	dec_nv(&rr, &co, "FCGI_MAX_REQS", "1");
	dec_nv(&rr, &co, "FCGI_MPXS_CONNS", "0");
	ck_assert_uint_eq(co, rr.clen);

	ck_assert_int_eq(dec_rec(&got, &off, &rr), 1);
	ck_assert_int_eq(rr.type, FA_FCGI_UNKNOWN_TYPE);
	ck_assert_uint_eq(rr.id, 0);
	ck_assert_uint_eq(rr.clen, 8);
	ck_assert_int_eq(rr.c[0], 200);
	for (int i = 1; i < 8; i++)
		ck_assert_int_eq(rr.c[i], 0);

	ck_assert_int_eq(dec_rec(&got, &off, &rr), 1);
	ck_assert_int_eq(rr.type, FA_FCGI_GET_VALUES_RESULT);
	ck_assert_uint_eq(rr.clen, 0);
	ck_assert_int_eq(dec_rec(&got, &off, &rr), 0);
	fa_request_release(&r);
	buf_release(&got);

	/* A malformed GET_VALUES is a protocol error. */
	buf_reset(&s);
	rec(&s, FA_FCGI_GET_VALUES, 0, "\x0e\x00" "FCGI", 6);
	expect_fail_silent(&s, 0);
	buf_release(&s);
	buf_release(&q);
}
END_TEST

START_TEST(test_read_peer_closes)
{
	struct buf s = BUF_INIT;

	/* Half a request, then the peer goes away entirely. */
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4);
	{
		struct fa_request r;
		struct fa_limits lim = test_lim;
		int sv[2];
		long long t0;

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ck_assert_int_eq(send(sv[1], s.data, s.len, 0), (ssize_t)s.len);
		close(sv[1]);
		lim.io_timeout_ms = 60000;
		fa_request_init(&r, sv[0]);
		t0 = mono_ms();
		ck_assert_int_eq(fa_request_read(&r, &lim), -1);
		ck_assert_int_lt(mono_ms() - t0, 1000);
		fa_request_release(&r);
		close(sv[0]);
	}
	buf_release(&s);
}
END_TEST

START_TEST(test_read_timeout)
{
	struct buf s = BUF_INIT, got;
	struct fa_limits lim = test_lim;
	struct fa_request r;
	long long t0, dt;

	/* Peer sends part of a record and then nothing, without closing. */
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, "\x01\x01" "ab", 4);
	s.len -= 2;
	lim.io_timeout_ms = 100;
	t0 = mono_ms();
	ck_assert_int_eq(run_read(&s, &lim, 0, &r, &got), -1);
	dt = mono_ms() - t0;
	ck_assert_int_ge(dt, 95);
	ck_assert_int_lt(dt, 1500);
	ck_assert_uint_eq(got.len, 0);
	fa_request_release(&r);
	buf_release(&got);
	buf_release(&s);
}
END_TEST

/* ---- fa_response_write ---- */

/* Read a request with id, write head+body, return what the peer got. */
static void respond(unsigned id, const char *head, size_t head_len,
		    const void *body, size_t body_len, struct buf *got)
{
	struct buf s = BUF_INIT;
	struct fa_request r;
	struct peer p;
	int fd;

	enc_begin(&s, id, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, id, NULL, 0);
	rec(&s, FA_FCGI_STDIN, id, NULL, 0);
	fd = peer_start(&p, &s, 0);
	fa_request_init(&r, fd);
	ck_assert_int_eq(fa_request_read(&r, &test_lim), 0);
	ck_assert_int_eq(fa_response_write(&r, head, head_len, body, body_len,
					   1000), 0);
	/* One response per request. */
	ck_assert_int_eq(fa_response_write(&r, head, head_len, body, body_len,
					   1000), -1);
	fa_request_release(&r);
	peer_finish(&p, fd);
	*got = p.in;
	buf_release(&s);
}

/* Decode a whole response: STDOUT stream, empty STDOUT, END_REQUEST, end. */
static void check_response(const struct buf *got, unsigned id,
			   const char *head, size_t head_len,
			   const void *body, size_t body_len)
{
	struct buf out = BUF_INIT;
	size_t off = 0;
	struct rrec rr;

	for (;;) {
		ck_assert_int_eq(dec_rec(got, &off, &rr), 1);
		ck_assert_int_eq(rr.version, 1);
		ck_assert_int_eq(rr.type, FA_FCGI_STDOUT);
		ck_assert_uint_eq(rr.id, id);
		if (!rr.clen)
			break;
		buf_add(&out, rr.c, rr.clen);
	}
	expect_end_request(got, &off, id, FA_FCGI_REQUEST_COMPLETE);
	ck_assert_int_eq(dec_rec(got, &off, &rr), 0);
	ck_assert_uint_eq(out.len, head_len + body_len);
	if (head_len)
		ck_assert_int_eq(memcmp(out.data, head, head_len), 0);
	if (body_len)
		ck_assert_int_eq(memcmp(out.data + head_len, body, body_len), 0);
	buf_release(&out);
}

START_TEST(test_response_large)
{
	const char head[] = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
	size_t blen = 200 * 1024;
	unsigned char *body = malloc(blen);
	char *bighead = malloc(70000);
	struct buf got;

	for (size_t i = 0; i < blen; i++)
		body[i] = (unsigned char)(i * 31 + (i >> 8));
	respond(0x1234, head, strlen(head), body, blen, &got);
	check_response(&got, 0x1234, head, strlen(head), body, blen);
	buf_release(&got);

	/* Empty body; empty everything; a head bigger than one record. */
	respond(1, head, strlen(head), NULL, 0, &got);
	check_response(&got, 1, head, strlen(head), NULL, 0);
	buf_release(&got);
	respond(65535, NULL, 0, NULL, 0, &got);
	check_response(&got, 65535, NULL, 0, NULL, 0);
	buf_release(&got);
	memset(bighead, 'h', 70000);
	respond(5, bighead, 70000, body, 65529, &got);
	check_response(&got, 5, bighead, 70000, body, 65529);
	buf_release(&got);
	free(bighead);
	free(body);
}
END_TEST

/* A request read straight from a socketpair, no peer thread. */
static int read_direct(struct fa_request *r, int sv[2])
{
	struct buf s = BUF_INIT;
	int rc;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	enc_begin(&s, 1, FA_FCGI_RESPONDER, 0);
	rec(&s, FA_FCGI_PARAMS, 1, NULL, 0);
	rec(&s, FA_FCGI_STDIN, 1, NULL, 0);
	ck_assert_int_eq(send(sv[1], s.data, s.len, 0), (ssize_t)s.len);
	fa_request_init(r, sv[0]);
	rc = fa_request_read(r, &test_lim);
	buf_release(&s);
	return rc;
}

START_TEST(test_response_peer_gone)
{
	struct fa_request r;
	int sv[2];
	static char body[4 << 20];

	/* SIGPIPE left at its default: MSG_NOSIGNAL must keep us alive. */
	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(read_direct(&r, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(fa_response_write(&r, "\r\n", 2, body, sizeof(body),
					   1000), -1);
	fa_request_release(&r);
	close(sv[0]);
}
END_TEST

START_TEST(test_response_timeout)
{
	struct fa_request r;
	int sv[2];
	static char body[4 << 20];
	long long t0, dt;

	/* The peer never reads: the write must give up after ~100 ms. */
	ck_assert_int_eq(read_direct(&r, sv), 0);
	t0 = mono_ms();
	ck_assert_int_eq(fa_response_write(&r, "\r\n", 2, body, sizeof(body),
					   100), -1);
	dt = mono_ms() - t0;
	ck_assert_int_ge(dt, 95);
	ck_assert_int_lt(dt, 1500);
	fa_request_release(&r);
	close(sv[0]);
	close(sv[1]);

	/* No request read: nothing to answer. */
	fa_request_init(&r, -1);
	ck_assert_int_eq(fa_response_write(&r, "\r\n", 2, NULL, 0, 100), -1);
	fa_request_release(&r);
}
END_TEST

/* ---- mutation fuzzing (meaningful under ASan/valgrind) ---- */

static unsigned long fuzz_iters(void)
{
	const char *e = getenv("FA_FUZZ_ITERS");

	return e ? strtoul(e, NULL, 10) : 3000;
}

static void mutate(struct buf *m, const struct buf *seed, unsigned *rs)
{
	int nmut = 1 + rand_r(rs) % 4;

	buf_reset(m);
	buf_add(m, seed->data, seed->len);
	for (int i = 0; i < nmut && m->len; i++) {
		size_t at = (size_t)rand_r(rs) % m->len;

		switch (rand_r(rs) % 5) {
		case 0: /* random byte */
			m->data[at] = (char)rand_r(rs);
			break;
		case 1: /* flip a bit */
			m->data[at] ^= (char)(1 << rand_r(rs) % 8);
			break;
		case 2: /* interesting values, often lengths */
			m->data[at] = (char)"\x00\x01\x7f\x80\xff\x08"[rand_r(rs) % 6];
			break;
		case 3: /* truncate */
			m->len = at;
			break;
		default: { /* duplicate a slice */
			size_t n = (size_t)rand_r(rs) % 64;
			char tmp[64];

			if (n > m->len - at)
				n = m->len - at;
			memcpy(tmp, m->data + at, n);
			buf_add(m, tmp, n);
			break;
		}
		}
	}
}

START_TEST(test_fuzz_mutations)
{
	struct buf seed = BUF_INIT, params = BUF_INIT, m = BUF_INIT, q = BUF_INIT;
	struct fa_limits lim = { 512, 8, 64, 50 };
	unsigned rs = 12345;
	unsigned long iters = fuzz_iters(), ok = 0;

	std_params(&params);
	enc_nvs(&q, "FCGI_MAX_CONNS", "");
	rec(&seed, FA_FCGI_GET_VALUES, 0, q.data, q.len);
	enc_begin(&seed, 1, FA_FCGI_RESPONDER, FA_FCGI_KEEP_CONN);
	enc_stream(&seed, FA_FCGI_PARAMS, 1, params.data, params.len, 37);
	rec(&seed, FA_FCGI_DATA, 1, "d", 1);
	enc_stream(&seed, FA_FCGI_STDIN, 1, "0123456789abcdef0123456789", 26, 5);

	for (unsigned long i = 0; i < iters; i++) {
		struct fa_request r;
		int sv[2], rc;

		mutate(&m, &seed, &rs);
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		if (m.len)
			ck_assert_int_eq(send(sv[1], m.data, m.len, 0),
					 (ssize_t)m.len);
		shutdown(sv[1], SHUT_WR);
		fa_request_init(&r, sv[0]);
		rc = fa_request_read(&r, &lim);
		ck_assert(rc == 0 || rc == -1);
		if (rc == 0) {
			ok++;
			ck_assert_uint_le(r.nparams, lim.max_params);
			ck_assert_uint_le(r.body.len, lim.max_body);
			for (size_t j = 0; j < r.nparams; j++) {
				ck_assert_int_eq(r.params[j].name[r.params[j].name_len], 0);
				ck_assert_int_eq(r.params[j].value[r.params[j].value_len], 0);
				ck_assert(fa_param_get(&r, r.params[j].name) != NULL);
			}
			ck_assert_int_eq(fa_response_write(&r, "\r\n", 2, "x", 1, 50), 0);
		}
		fa_request_release(&r);
		close(sv[0]);
		close(sv[1]);

		/* The pure parser on the mutated params alone. */
		mutate(&m, &params, &rs);
		fa_request_init(&r, -1);
		rc = fa_params_parse(&r, (unsigned char *)m.data, m.len, &lim);
		ck_assert(rc == 0 || (rc == -1 && r.nparams == 0));
		fa_request_release(&r);
	}
	/* The mutations are not so wild that nothing ever parses. */
	if (iters >= 1000)
		ck_assert_uint_gt(ok, 0);
	buf_release(&seed);
	buf_release(&params);
	buf_release(&m);
	buf_release(&q);
}
END_TEST

START_TEST(test_fuzz_random_params)
{
	unsigned rs = 777;
	unsigned char p[64];

	for (unsigned long i = 0; i < fuzz_iters() * 10; i++) {
		size_t len = (size_t)rand_r(&rs) % sizeof(p);

		for (size_t j = 0; j < len; j++)
			p[j] = (unsigned char)(rand_r(&rs) % 4 ? rand_r(&rs) % 8
							      : rand_r(&rs));
		/* Exact-size heap copy so ASan sees any overread. */
		{
			unsigned char *h = malloc(len ? len : 1);

			memcpy(h, p, len);
			parse_bytes(h, len);
			free(h);
		}
	}
}
END_TEST

static Suite *fa_fcgi_suite(void)
{
	Suite *s = suite_create("fa_fcgi");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_params_parse_basic);
	tcase_add_test(tc, test_params_parse_malformed);
	tcase_add_test(tc, test_params_parse_limits);
	tcase_add_test(tc, test_read_every_split);
	tcase_add_test(tc, test_read_long_values);
	tcase_add_test(tc, test_read_param_limits);
	tcase_add_test(tc, test_read_body_limit);
	tcase_add_test(tc, test_read_truncated);
	tcase_add_test(tc, test_read_bad_records);
	tcase_add_test(tc, test_read_data_ignored);
	tcase_add_test(tc, test_read_second_begin);
	tcase_add_test(tc, test_read_unknown_role);
	tcase_add_test(tc, test_read_management);
	tcase_add_test(tc, test_read_peer_closes);
	tcase_add_test(tc, test_read_timeout);
	tcase_add_test(tc, test_response_large);
	tcase_add_test(tc, test_response_peer_gone);
	tcase_add_test(tc, test_response_timeout);
	tcase_add_test(tc, test_fuzz_mutations);
	tcase_add_test(tc, test_fuzz_random_params);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fa_fcgi_suite());
	int failed;

	/* The failures provoked here are expected: keep the output readable. */
	if (!getenv("FA_TEST_VERBOSE"))
		log_set_level(LOG_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
