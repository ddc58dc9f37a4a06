#ifndef SANDBOX_SB_HTTP_H
#define SANDBOX_SB_HTTP_H
/*
 * The smallest HTTP/1.1 client that talks to a workerd socket: build one
 * request (always "Connection: close"), and parse the response as bytes
 * arrive.  workerd is untrusted here (it runs user code that controls the
 * status, headers and body), so the parser bounds the header block, the
 * header count and every length, and decodes chunked bodies strictly.
 */
#include <stddef.h>

#include "buf.h"

#define SB_HTTP_MAX_HEAD (64 * 1024)
#define SB_HTTP_MAX_HEADERS 100

struct sb_header {
	char *name;
	char *value;
};

struct sb_http_response {
	int status;
	struct sb_header *headers;
	size_t nheaders;
	struct buf body;
};

void sb_http_response_init(struct sb_http_response *r);
void sb_http_response_release(struct sb_http_response *r);
const char *sb_http_header(const struct sb_http_response *r, const char *name);

/*
 * Append an HTTP/1.1 request.  A header name or value with CR/LF (or a
 * name with ':') makes it fail with -1; framing headers (Content-Length,
 * Transfer-Encoding, Connection) given by the caller are dropped.  Content-Length is always set from body_len.
 */
int sb_http_request(struct buf *out, const char *method, const char *path,
		    const struct sb_header *headers, size_t nheaders,
		    const void *body, size_t body_len);
/* The same; keep_alive leaves out "Connection: close" (pool mode reuses connections). */
int sb_http_request_conn(struct buf *out, const char *method, const char *path,
			 const struct sb_header *headers, size_t nheaders,
			 const void *body, size_t body_len, int keep_alive);

enum sb_http_parse {
	SB_HTTP_INCOMPLETE = 0,
	SB_HTTP_DONE = 1,
	SB_HTTP_INVALID = -1,
	SB_HTTP_TOO_LARGE = -2,
};

/*
 * Parse the bytes received so far (data/len is everything since the start
 * of the response).  eof says the peer closed.  Fills r when DONE; a body
 * larger than max_body, a head larger than SB_HTTP_MAX_HEAD or more than
 * SB_HTTP_MAX_HEADERS header lines give TOO_LARGE.
 */
enum sb_http_parse sb_http_parse_response(const char *data, size_t len, int eof,
					  size_t max_body,
					  struct sb_http_response *r);

/*
 * The same for the response to a HEAD request, which ends at the blank
 * line whatever its framing headers say (RFC 9112 6.3); the body is empty.
 */
enum sb_http_parse sb_http_parse_head_response(const char *data, size_t len, int eof,
					       struct sb_http_response *r);

/*
 * After SB_HTTP_DONE without end of file on data[0..len): 1 when the
 * connection can carry another request: the response ended exactly at len
 * by its own framing, was not preceded by an interim response, and did not
 * ask to close.
 */
int sb_http_response_reusable(const char *data, size_t len, const struct sb_http_response *r);

#endif
