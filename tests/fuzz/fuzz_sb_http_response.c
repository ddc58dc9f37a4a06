/*
 * Fuzz sb_http_parse_response (sandbox/sb_http.h): the HTTP response of a
 * workerd that runs user code, so the status line, headers, framing and
 * body are all attacker-chosen.
 *
 * Input layout: two bytes pick where the response is split, one byte picks
 * max_body (0..4064 in steps of 16, or 255: 1 MiB), the rest is the
 * response.  The parser is called as sb_slot.c calls it: on the first part
 * with eof = 0 and, while it answers INCOMPLETE, on everything with
 * eof = 1, reusing the same response struct.  The first part is a separate
 * heap block of its own size, so reading past it is caught.
 *
 * Checked besides memory safety:
 *   - with eof the answer is never INCOMPLETE;
 *   - DONE never yields a body larger than max_body, has a final status
 *     (200..599: a 1xx is interim, RFC 9110 section 15.2), at most
 *     SB_HTTP_MAX_HEADERS headers with token names and CR/LF-free values,
 *     and no body for 204/304 whatever the framing headers say (RFC 9112
 *     section 6.3);
 *   - a Content-Length (not chunked) DONE body has exactly that length;
 *   - as the answer to a HEAD (sb_http_parse_head_response), DONE has a
 *     final status and an empty body;
 *   - sb_http_response_reusable on a DONE first part (pool mode's question
 *     whether the connection can carry another request) reads within it
 *     and never says yes to an interim status;
 *   - DONE or TOO_LARGE on the first part is final: the whole response
 *     gives the same answer (and the same status and body), because the
 *     parse is a function of the bytes and more bytes cannot undo it.
 */
#include <stdlib.h>
#include <string.h>

#include "sb_http.h"
#include "fuzz.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

static void check(enum sb_http_parse st, const struct sb_http_response *r, size_t max_body)
{
	const char *cl, *te;

	FUZZ_CHECK(st == SB_HTTP_INCOMPLETE || st == SB_HTTP_DONE || st == SB_HTTP_INVALID ||
		   st == SB_HTTP_TOO_LARGE);
	if (st != SB_HTTP_DONE)
		return;
	FUZZ_CHECK(r->body.len <= max_body);
	/*
	 * A 1xx is an interim response, never the answer: workerd sends
	 * "100 Continue" before the real response when the request carried
	 * Expect: 100-continue (which subdomain mode forwards from the client).
	 */
	FUZZ_CHECK(r->status >= 200 && r->status <= 599);
	FUZZ_CHECK(r->nheaders <= SB_HTTP_MAX_HEADERS);
	for (size_t i = 0; i < r->nheaders; i++) {
		FUZZ_CHECK(is_token(r->headers[i].name));
		FUZZ_CHECK(strpbrk(r->headers[i].value, "\r\n") == NULL);
	}
	if (r->status == 204 || r->status == 304) {
		FUZZ_CHECK(r->body.len == 0);
		return;
	}
	cl = sb_http_header(r, "content-length");
	te = sb_http_header(r, "transfer-encoding");
	if (cl && !te) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);

		FUZZ_CHECK(*end == '\0' && n == r->body.len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_http_response r, whole;
	enum sb_http_parse st, st2;
	size_t split, max_body, n;
	unsigned char *part;

	if (size < 3)
		return 0;
	n = size - 3;
	split = ((size_t)data[0] | (size_t)data[1] << 8) % (n + 1);
	max_body = data[2] == 255 ? (size_t)1 << 20 : (size_t)data[2] * 16;
	data += 3;

	sb_http_response_init(&r);
	sb_http_response_init(&whole);
	part = fuzz_dup(data, split);
	st = sb_http_parse_response((const char *)part, split, 0, max_body, &r);
	/* pool mode then asks whether the connection can carry another request */
	if (st == SB_HTTP_DONE && sb_http_response_reusable((const char *)part, split, &r))
		FUZZ_CHECK(r.status >= 200 && split >= r.body.len);
	free(part);
	check(st, &r, max_body);

	/* the same bytes as the answer to a HEAD: a final status, no body */
	if (sb_http_parse_head_response((const char *)data, n, 1, &whole) == SB_HTTP_DONE)
		FUZZ_CHECK(whole.status >= 200 && whole.body.len == 0);
	st2 = sb_http_parse_response((const char *)data, n, 1, max_body, &whole);
	check(st2, &whole, max_body);
	FUZZ_CHECK(st2 != SB_HTTP_INCOMPLETE);
	if (st == SB_HTTP_DONE || st == SB_HTTP_TOO_LARGE) {
		FUZZ_CHECK(st2 == st);
		if (st == SB_HTTP_DONE)
			FUZZ_CHECK(whole.status == r.status && whole.body.len == r.body.len &&
				   (!r.body.len || !memcmp(whole.body.data, r.body.data, r.body.len)));
	} else if (st == SB_HTTP_INCOMPLETE) {
		/* the caller's way: same struct, now with everything and eof */
		st = sb_http_parse_response((const char *)data, n, 1, max_body, &r);
		check(st, &r, max_body);
		FUZZ_CHECK(st == st2);
	}
	sb_http_response_release(&r);
	sb_http_response_release(&whole);
	return 0;
}
