/*
 * Request routing: FastCGI params -> method/path -> route function.
 *
 * nginx passes DOCUMENT_URI (the normalised, percent-decoded path) and the
 * raw QUERY_STRING; REQUEST_START is nginx's $msec when it read the request,
 * which gives the time the request waited for a free handler.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "fa_api.h"
#include "banned.h"

static int64_t queue_ms(const char *msec)
{
	struct timeval tv;
	char *end;
	double start;

	if (!msec)
		return -1;
	start = strtod(msec, &end);
	if (end == msec || *end || start <= 0)
		return -1;
	gettimeofday(&tv, NULL);
	double now = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	return now > start ? (int64_t)((now - start) * 1000.0) : 0;
}

static void method_not_allowed(struct fa_ctx *c, const char *allow)
{
	fa_header(c, "Allow", "%s", allow);
	fa_reply_error(c, 405, "METHOD_NOT_ALLOWED", "%s %s is not supported; use %s", c->method,
		       c->path, allow);
}

void fa_dispatch(struct fa_ctx *c)
{
	const char *uri, *m;

	c->method = m = fa_param_get(&c->req, "REQUEST_METHOD");
	uri = fa_param_get(&c->req, "DOCUMENT_URI");
	if (!uri)
		uri = fa_param_get(&c->req, "SCRIPT_NAME");
	c->query = fa_param_get(&c->req, "QUERY_STRING");
	c->content_type = fa_param_get(&c->req, "CONTENT_TYPE");
	c->request_id = fa_param_get(&c->req, "REQUEST_ID");
	c->queue_ms = queue_ms(fa_param_get(&c->req, "REQUEST_START"));
	if (!m || !uri || strlen(uri) >= sizeof(c->path)) {
		fa_reply_error(c, 400, "BAD_REQUEST", "missing or oversized request line");
		return;
	}
	memcpy(c->path, uri, strlen(uri) + 1);

	if (!strcmp(c->path, "/api/serverless")) {
		c->route = FA_ROUTE_SERVERLESS;
		if (strcmp(m, "POST"))
			return method_not_allowed(c, "POST");
	} else if (!strcmp(c->path, "/api/code")) {
		c->route = FA_ROUTE_CODE_POST;
		if (strcmp(m, "POST"))
			return method_not_allowed(c, "POST");
	} else if (!strncmp(c->path, "/api/code/", 10)) {
		c->route = FA_ROUTE_CODE_GET;
		if (strcmp(m, "GET") && strcmp(m, "HEAD"))
			return method_not_allowed(c, "GET");
	} else if (!strcmp(c->path, "/healthz")) {
		c->route = FA_ROUTE_HEALTHZ;
	} else if (!strcmp(c->path, "/metrics")) {
		c->route = FA_ROUTE_METRICS;
	} else {
		fa_reply_error(c, 404, "NOT_FOUND", "no route for %s", c->path);
		return;
	}
	if (c->req.body_too_large) {
		fa_reply_error(c, 413, "REQUEST_TOO_LARGE", "request body over %lld bytes",
			       (long long)c->conf->max_request_bytes);
		return;
	}
	switch (c->route) {
	case FA_ROUTE_SERVERLESS: fa_api_serverless(c); break;
	case FA_ROUTE_CODE_POST: fa_api_code_post(c); break;
	case FA_ROUTE_CODE_GET: fa_api_code_get(c, c->path + 10); break;
	case FA_ROUTE_HEALTHZ:
		if (strcmp(m, "GET") && strcmp(m, "HEAD"))
			return method_not_allowed(c, "GET");
		fa_api_healthz(c);
		break;
	case FA_ROUTE_METRICS:
		if (strcmp(m, "GET") && strcmp(m, "HEAD"))
			return method_not_allowed(c, "GET");
		fa_api_metrics(c);
		break;
	default:
		break;
	}
}
