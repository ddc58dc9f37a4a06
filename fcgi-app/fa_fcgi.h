#ifndef FA_FCGI_H
#define FA_FCGI_H
/*
 * fa_fcgi: the FastCGI responder protocol, one request per connection.
 *
 * We do not use libfcgi: its parameter parser had CVE-2025-23016 and its
 * accept loop cannot be drained cleanly with signals.  This is a small
 * parser in the style of OpenBSD slowcgi: every length read from the peer
 * is checked against the record it came in and against the configured
 * limits before a single byte is copied.
 *
 * Reading (fa_request_read) is a loop over records taken from a per-
 * connection input buffer big enough for the largest legal record
 * (8 + 65535 + 255 bytes), so a record is always processed whole and in
 * place.  The request goes through three phases:
 *
 *	BEGIN_REQUEST  ->  PARAMS ... empty PARAMS  ->  STDIN ... empty STDIN
 *
 * The PARAMS stream is buffered whole (bounded by max_params_bytes) and
 * parsed at its empty terminator, because a name-value pair may straddle
 * records at any byte.  STDIN is appended to req->body up to max_body;
 * past that the body is dropped (body_too_large = 1) but the stream is
 * still drained to its terminator so the caller can answer 413 properly.
 *
 * Management records (request id 0) may come at any time: GET_VALUES is
 * answered (FCGI_MAX_CONNS = FCGI_MAX_REQS = 1, FCGI_MPXS_CONNS = 0; the
 * numbers describe one handler process, which serves one connection at a
 * time), any other management type gets UNKNOWN_TYPE.  A second
 * BEGIN_REQUEST with another id is refused with CANT_MPX_CONN and its
 * stream records are discarded; a role other than RESPONDER is refused
 * with UNKNOWN_ROLE and the read fails.  ABORT_REQUEST fails the read.
 * DATA records are ignored (they only matter to the FILTER role).
 *
 * FCGI_KEEP_CONN is recorded in req->keep_conn but not honoured: the
 * caller always closes the connection after fa_response_write.  The
 * FastCGI spec allows this and nginx (fastcgi_keep_conn on) simply opens a
 * new connection for the next request.
 *
 * I/O: every wait is a poll() bounded by io_timeout_ms (a timeout is per
 * wait, not per request: a peer trickling a byte every few seconds is
 * nginx's job to stop, and it does with its own send/read timeouts).
 * EINTR restarts the wait with the time left.  Socket calls use
 * MSG_DONTWAIT, so the fd may be blocking or not, and sends use
 * MSG_NOSIGNAL, so a vanished peer is -1 and never SIGPIPE.  fd must be a
 * stream socket.
 *
 * Errors caused by the peer (protocol errors, timeouts, EOF) are logged at
 * warn level, allocation failures at error level, once, where they happen.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Record types and constants from the FastCGI 1.0 specification. */
enum {
	FA_FCGI_VERSION_1 = 1,
	FA_FCGI_HEADER_LEN = 8,
	FA_FCGI_MAX_CONTENT = 65535,

	FA_FCGI_BEGIN_REQUEST = 1,
	FA_FCGI_ABORT_REQUEST = 2,
	FA_FCGI_END_REQUEST = 3,
	FA_FCGI_PARAMS = 4,
	FA_FCGI_STDIN = 5,
	FA_FCGI_STDOUT = 6,
	FA_FCGI_STDERR = 7,
	FA_FCGI_DATA = 8,
	FA_FCGI_GET_VALUES = 9,
	FA_FCGI_GET_VALUES_RESULT = 10,
	FA_FCGI_UNKNOWN_TYPE = 11,

	FA_FCGI_KEEP_CONN = 1, /* BEGIN_REQUEST flags */

	FA_FCGI_RESPONDER = 1, /* roles */
	FA_FCGI_AUTHORIZER = 2,
	FA_FCGI_FILTER = 3,

	FA_FCGI_REQUEST_COMPLETE = 0, /* END_REQUEST protocolStatus */
	FA_FCGI_CANT_MPX_CONN = 1,
	FA_FCGI_OVERLOADED = 2,
	FA_FCGI_UNKNOWN_ROLE = 3,
};

struct fa_param {
	/*
	 * One allocation holds "name\0value\0": free name only (done by
	 * fa_request_release).  Names never contain NUL; values may, so
	 * value_len is the truth.
	 */
	char *name;
	char *value;
	size_t name_len, value_len;
};

struct fa_limits {
	size_t max_params_bytes; /* total bytes of the PARAMS stream */
	size_t max_params;       /* number of params */
	size_t max_body;         /* STDIN bytes kept; the rest is drained */
	int io_timeout_ms;       /* per poll(); <= 0 means the default */
};

#define FA_LIMITS_DEFAULT_TIMEOUT_MS 30000
#define FA_LIMITS_INIT { 64 * 1024, 256, 1024 * 1024, FA_LIMITS_DEFAULT_TIMEOUT_MS }

struct fa_request {
	int fd;             /* connected socket (not owned) */
	uint16_t id;        /* FastCGI request id, 0 until BEGIN_REQUEST */
	struct fa_param *params;
	size_t nparams;
	struct buf body;    /* STDIN content */
	int body_too_large; /* STDIN exceeded max_body; body is empty */
	int keep_conn;      /* peer asked FCGI_KEEP_CONN (we close anyway) */

	/* Internal reading state. */
	int state;               /* enum in fa_fcgi.c */
	size_t params_cap;       /* allocated entries in params */
	struct buf pstream;      /* PARAMS stream until its terminator */
	unsigned char *ibuf;     /* input buffer, one whole record fits */
	size_t ipos, ilen;       /* unread bytes are ibuf[ipos, ilen) */
	uint16_t rejected_id;    /* last id refused with CANT_MPX_CONN */
	int have_rejected;
};

void fa_request_init(struct fa_request *r, int fd);

/*
 * Read BEGIN_REQUEST, the PARAMS stream and the STDIN stream up to its
 * empty terminator.  0 when a whole request was read (check
 * body_too_large); -1 on protocol error, timeout, EOF or ABORT_REQUEST
 * (logged; the caller closes the connection).  Call once per request.
 */
int fa_request_read(struct fa_request *r, const struct fa_limits *lim);

/* First param named exactly name (case-sensitive); NULL if absent. */
const char *fa_param_get(const struct fa_request *r, const char *name);

/*
 * Send head (CGI header block including the blank line) and body as
 * STDOUT records, then an empty STDOUT and END_REQUEST (appStatus 0,
 * REQUEST_COMPLETE).  0, or -1 if the peer is gone or a wait timed out.
 */
int fa_response_write(struct fa_request *r, const char *head, size_t head_len,
		      const void *body, size_t body_len, int io_timeout_ms);

/* Free params, body and reading state; does not close fd. */
void fa_request_release(struct fa_request *r);

/*
 * Parse a complete PARAMS stream (name-value pairs with 1- or 4-byte
 * lengths), appending to r->params.  -1 on any malformed or over-limit
 * input, in which case r->params is left as it was.  Exposed for unit
 * tests and fuzz drivers.
 */
int fa_params_parse(struct fa_request *r, const unsigned char *p, size_t len,
		    const struct fa_limits *lim);

#endif
