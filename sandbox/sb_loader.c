/*
 * The loader worker's config, source and request envelope.  See sb_loader.h.
 *
 * sb_loader.js is pulled into .rodata with the assembler's .incbin (the
 * Makefile makes this object depend on the .js file), so the source lives
 * as a real JavaScript file in the tree and the daemon carries it inside.
 */
#include "sb_loader.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banned.h"

__asm__(".section .rodata\n"
	".balign 16\n"
	"sb_loader_js_start:\n"
	".incbin \"sandbox/sb_loader.js\"\n"
	".byte 0\n"
	".previous\n");
extern const char sb_loader_js_start[] __asm__("sb_loader_js_start") __attribute__((visibility("hidden")));

const char *sb_loader_source(void)
{
	return sb_loader_js_start;
}

int sb_loader_config(struct buf *out, const char *compat_date, const char *token,
		     const struct sb_bake *bake)
{
	/* The compatibility date reaches the loader as a text binding: it is
	 * what loaded workers get, like a process-mode worker's config. */
	if (strpbrk(compat_date, "\"\\\n") || strpbrk(token, "\"\\\n "))
		return -1;
	buf_addstr(out,
		   "using Workerd = import \"/workerd/workerd.capnp\";\n"
		   "const config :Workerd.Config = (\n"
		   "  services = [\n"
		   "    (name = \"loader\", worker = .loader),\n"
		   "    (name = \"deny-all\", network = (allow = [])),\n");
	for (unsigned i = 0; bake && i < SB_BAKE_MAX; i++)
		if (bake->e[i].key[0])
			buf_addf(out, "    (name = \"b%u\", worker = .b%u),\n", i, i);
	/* Every address is a placeholder: the sockets come as descriptors. */
	buf_addstr(out,
		   "  ],\n"
		   "  sockets = [\n"
		   "    (name = \"http\", address = \"unix:/nonexistent\", http = (), service = \"loader\"),\n");
	for (unsigned i = 0; bake && i < SB_BAKE_MAX; i++)
		if (bake->e[i].key[0])
			buf_addf(out, "    (name = \"b%u\", address = \"unix:/nonexistent\", http = (), "
				 "service = \"b%u\"),\n", i, i);
	buf_addf(out,
		 "  ],\n"
		 ");\n"
		 "const loader :Workerd.Worker = (\n"
		 "  modules = [ (name = \"loader.js\", esModule = embed \"loader.js\") ],\n"
		 "  compatibilityDate = \"2025-06-01\",\n"
		 "  bindings = [\n"
		 "    (name = \"LOADER\", workerLoader = ()),\n"
		 "    (name = \"COMPAT_DATE\", text = \"%s\"),\n"
		 "    (name = \"TOKEN\", text = \"%s\"),\n"
		 "  ],\n"
		 "  globalOutbound = \"deny-all\",\n"
		 ");\n",
		 compat_date, token);
	for (unsigned i = 0; bake && i < SB_BAKE_MAX; i++)
		if (bake->e[i].key[0])
			buf_add(out, bake->e[i].worker.data, bake->e[i].worker.len);
	return out->data ? 0 : -1;
}

/* The user's headers without ours, for one more header: NULL when out of memory. */
static struct sb_header *user_headers(const struct sb_request *req, size_t *n)
{
	struct sb_header *h = calloc(req->nheaders + 3, sizeof(*h));
	size_t plen = strlen(SB_LOADER_CTL_PREFIX);

	*n = 0;
	for (size_t i = 0; h && i < req->nheaders; i++)
		if (strncasecmp(req->headers[i].name, SB_LOADER_CTL_PREFIX, plen))
			h[(*n)++] = req->headers[i];
	return h;
}

int sb_loader_direct_request(struct buf *out, const struct sb_request *req)
{
	size_t n;
	struct sb_header *h = user_headers(req, &n);
	int r;

	if (!h)
		return -1;
	r = sb_http_request_conn(out, req->method, req->path, h, n, req->body, req->body_len, 1);
	free(h);
	return r;
}

int sb_loader_request(struct buf *out, const struct code *c, const struct buf *encoded,
		      const char *isolate_key, int with_code, const struct sb_request *req)
{
	struct buf body = BUF_INIT, ncode = BUF_INIT;
	size_t n;
	struct sb_header *h = user_headers(req, &n);
	int r = -1;

	if (!h)
		return -1;
	if (isolate_key && !with_code) {
		/* The loader has this isolate's code: the user's request as is. */
		h[n++] = (struct sb_header){ (char *)SB_LOADER_CTL_PREFIX "isolate", (char *)isolate_key };
		r = sb_http_request_conn(out, req->method, req->path, h, n, req->body, req->body_len, 1);
		goto out;
	}
	if (encoded ? buf_add(&body, encoded->data, encoded->len) < 0 : code_encode(c, &body) < 0)
		goto out;
	buf_addf(&ncode, "%zu", body.len);
	if (req->body_len && buf_add(&body, req->body, req->body_len) < 0)
		goto out;
	h[n++] = (struct sb_header){ (char *)SB_LOADER_CTL_PREFIX "method", (char *)req->method };
	h[n++] = (struct sb_header){ (char *)SB_LOADER_CTL_PREFIX "code-length", (char *)buf_cstr(&ncode) };
	if (isolate_key)
		h[n++] = (struct sb_header){ (char *)SB_LOADER_CTL_PREFIX "isolate", (char *)isolate_key };
	r = sb_http_request_conn(out, "POST", req->path, h, n, body.data, body.len, 1);
out:
	free(h);
	buf_release(&body);
	buf_release(&ncode);
	return r;
}

int sb_loader_prepare_request(struct buf *out, const struct buf *encoded)
{
	if (!encoded->len) /* a chunk of 0 bytes would end the body */
		return -1;
	buf_addf(out,
		 "POST / HTTP/1.1\r\nHost: worker\r\n"
		 SB_LOADER_CTL_PREFIX "prepare: 1\r\n"
		 SB_LOADER_CTL_PREFIX "code-length: %zu\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
		 encoded->len, encoded->len);
	if (buf_add(out, encoded->data, encoded->len) < 0)
		return -1;
	return buf_addstr(out, "\r\n");
}

int sb_loader_prepared_rest(struct buf *out, const struct sb_request *req)
{
	struct buf text = BUF_INIT;
	int r = -1;

	if (sb_loader_direct_request(&text, req) < 0)
		goto out;
	buf_addf(out, "%zx\r\n", text.len);
	if (buf_add(out, text.data, text.len) < 0)
		goto out;
	r = buf_addstr(out, "\r\n0\r\n\r\n");
out:
	buf_release(&text);
	return r;
}
