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

/* The admin API answers in plain text, like the original executor. */
static int admin_route(struct fa_ctx *c)
{
	static const struct {
		const char *path, *method;
		void (*fn)(struct fa_ctx *);
	} routes[] = {
		{ "/", "GET", fa_api_root },
		{ "/immutable-config", "POST", fa_api_immutable_config },
		{ "/mutable-config", "POST", fa_api_mutable_config },
		{ "/executor-details", "GET", fa_api_executor_details },
		{ "/signed-registration-message", "GET", fa_api_signed_registration },
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(c->path, routes[i].path))
			continue;
		c->route = FA_ROUTE_ADMIN;
		if (strcmp(c->method, routes[i].method)) {
			fa_header(c, "Allow", "%s", routes[i].method);
			fa_reply_text(c, 405, "Method Not Allowed\n");
		} else if (c->req.body_too_large) {
			fa_reply_text(c, 413, "Payload Too Large\n");
		} else {
			routes[i].fn(c);
		}
		return 1;
	}
	return 0;
}

/*
 * After unregister.<subdomain> (fa_api_unregister) every execution is
 * refused, as the original executor did ("worker unregistered", 410).
 */
static int unregistered(struct fa_ctx *c)
{
	if (!c->stats->unregistered_unix)
		return 0;
	fa_reply_error(c, 410, "UNREGISTERED",
		       "this node was unregistered (unregister.%s): it takes no more executions", c->conf->subdomain);
	return 1;
}

void fa_dispatch(struct fa_ctx *c)
{
	const char *uri, *m, *m2;
	unsigned char tx_hash[32];

	c->method = m = fa_param_get(&c->req, "REQUEST_METHOD");
	uri = fa_param_get(&c->req, "DOCUMENT_URI");
	if (!uri)
		uri = fa_param_get(&c->req, "SCRIPT_NAME");
	c->query = fa_param_get(&c->req, "QUERY_STRING");
	c->content_type = fa_param_get(&c->req, "CONTENT_TYPE");
	c->request_id = fa_param_get(&c->req, "REQUEST_ID");
	c->queue_ms = queue_ms(fa_param_get(&c->req, "REQUEST_START"));
	c->host = fa_param_get(&c->req, "HTTP_HOST");
	c->request_uri = fa_param_get(&c->req, "REQUEST_URI");
	if (!m || !uri || strlen(uri) >= sizeof(c->path)) {
		fa_reply_error(c, 400, "BAD_REQUEST", "missing or oversized request line");
		return;
	}
	memcpy(c->path, uri, strlen(uri) + 1);

	/* Only nginx's unregister.<subdomain> block sets it (oyster-site.conf.in). */
	m2 = fa_param_get(&c->req, "OYSTER_ROUTE");
	if (m2 && !strcmp(m2, "unregister")) {
		c->route = FA_ROUTE_UNREGISTER;
		fa_api_unregister(c);
		return;
	}
	if (fa_subdomain_match(c->host, c->conf->subdomain, tx_hash)) {
		c->route = FA_ROUTE_SUBDOMAIN;
		if (unregistered(c))
			;
		else if (c->req.body_too_large)
			fa_reply_error(c, 413, "REQUEST_TOO_LARGE", "request body over %lld bytes",
				       (long long)c->conf->max_request_bytes);
		else
			fa_api_subdomain(c, tx_hash);
		fa_sign_reply(c);
		return;
	}
	if (admin_route(c))
		return;
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
	} else if (!strcmp(c->path, "/api/jobs") || !strncmp(c->path, "/api/jobs/", 10)) {
		c->route = FA_ROUTE_JOBS;
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
		if (c->route == FA_ROUTE_SERVERLESS)
			fa_sign_reply(c);
		return;
	}
	switch (c->route) {
	case FA_ROUTE_SERVERLESS:
		if (!unregistered(c))
			fa_api_serverless(c);
		fa_sign_reply(c);
		break;
	case FA_ROUTE_CODE_POST: fa_api_code_post(c); break;
	case FA_ROUTE_CODE_GET: fa_api_code_get(c, c->path + 10); break;
	case FA_ROUTE_JOBS:
		if (c->path[9] == '/')
			fa_api_jobs_get(c, c->path + 10);
		else
			fa_api_jobs_list(c);
		break;
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
