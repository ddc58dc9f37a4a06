/*
 * Ethereum JSON-RPC client: the transport.  One POST per attempt on the
 * reused easy handle, the body collected by a write callback that refuses
 * to pass max_response, and the retry loop that decides what is worth
 * another attempt.  The design (trust, retries, deadlines, fork rule) is
 * in eth_rpc.h; the envelope is eth_rpc_reply.c, the typed calls
 * eth_rpc_calls.c.
 */
#include "eth_rpc_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eth/eth_rpc.h"
#include "buf.h"
#include "eth/keccak.h"
#include "log.h"
#include "banned.h"

_Static_assert(CURL_ERROR_SIZE <= sizeof(((struct eth_rpc *)0)->curl_errbuf),
	       "curl_errbuf smaller than CURL_ERROR_SIZE");

/* A reply buffer this big is dropped after the call instead of kept. */
#define KEEP_RESP_CAP (1u << 20)

/* ---- small utilities ------------------------------------------------------ */

uint64_t eth_rpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_until_ms(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000u),
			       .tv_nsec = (long)(t % 1000u) * 1000000L };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* splitmix64: jitter only needs to decorrelate clients, not be secret. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

const char *eth_rpc_strerror(int status)
{
	switch (status) {
	case ETH_RPC_OK:
		return "ok";
	case ETH_RPC_E_INTERNAL:
		return "internal error";
	case ETH_RPC_E_TRANSPORT:
		return "transport error";
	case ETH_RPC_E_REMOTE:
		return "JSON-RPC error from node";
	case ETH_RPC_E_REPLY:
		return "malformed reply";
	default:
		return "unknown status";
	}
}

void rpc_err_reset(struct eth_rpc_error *e)
{
	e->status = ETH_RPC_OK;
	e->http_status = 0;
	e->curl_code = 0;
	e->attempts = 0;
	e->deadline = 0;
	e->code = 0;
	e->message[0] = '\0';
	e->data[0] = '\0';
}

__attribute__((format(printf, 3, 4)))
int rpc_err_set(struct eth_rpc_error *e, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->status = status;
	return status;
}

const struct eth_rpc_error *eth_rpc_last_error(const struct eth_rpc *r)
{
	return &r->err;
}

void eth_rpc_set_deadline(struct eth_rpc *r, uint64_t deadline_ms)
{
	r->deadline_ms = deadline_ms;
}

/* ---- transport ------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct eth_rpc *r = ud;
	size_t n = size * nmemb;

	/* Refuse the chunk that would pass the bound: curl aborts at once. */
	if (n > r->opts.max_response - r->resp.len) {
		r->too_large = 1;
		return 0;
	}
	if (buf_add(&r->resp, p, n) < 0)
		return 0;
	return n;
}

/*
 * Worth another attempt?  Everything that can be a passing network or node
 * condition is; a local configuration or certificate problem, or a body we
 * refused, is not.  (CURLE_UNSUPPORTED_PROTOCOL is retried: the URL was
 * checked at init, so here it means a reply that is not HTTP, e.g. from a
 * confused load balancer.)
 */
static int curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_LOGIN_DENIED:
		return 0;
	default:
		return 1;
	}
}

/*
 * Check the URL with libcurl's own parser (so we judge the same URL curl
 * will use) and build the loggable endpoint: scheme://host:port, without
 * userinfo, path or query, where provider API keys live.
 */
static int url_check(const char *url, char *endpoint, size_t n)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if (!h)
		return log_err("eth_rpc: out of memory");
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		log_err("eth_rpc: invalid RPC URL (not logged: it may hold an API key)");
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		log_err("eth_rpc: RPC URL scheme \"%s\" refused: http or https only", scheme);
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		log_err("eth_rpc: RPC URL has no host");
		goto out;
	}
	snprintf(endpoint, n, "%s://%s:%s", scheme, host, port);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(h);
	return rc;
}

void eth_rpc_opts_init(struct eth_rpc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 15000;
	o->max_response = ETH_RPC_DEFAULT_MAX_RESPONSE;
	o->retries = 3;
	o->backoff_ms = 100;
	o->backoff_max_ms = 2000;
	o->max_logs = 10000;
}

static int opts_check(const struct eth_rpc_opts *o)
{
	if (!o->url)
		return log_err("eth_rpc: no RPC URL");
	if (strlen(o->url) > 4096)
		return log_err("eth_rpc: RPC URL longer than 4096 bytes");
	if (o->connect_timeout_ms < 1 || o->connect_timeout_ms > 3600000 ||
	    o->timeout_ms < 1 || o->timeout_ms > 3600000)
		return log_err("eth_rpc: timeouts must be 1..3600000 ms");
	if (o->max_response < 1024 || o->max_response > (1u << 30))
		return log_err("eth_rpc: max_response must be 1 KiB..1 GiB");
	if (o->retries > 20)
		return log_err("eth_rpc: at most 20 retries");
	if (o->backoff_ms > 60000 || o->backoff_max_ms > 600000 ||
	    o->backoff_max_ms < o->backoff_ms)
		return log_err("eth_rpc: backoff must be <= 60000 ms, cap >= initial, <= 600000 ms");
	if (o->max_logs < 1 || o->max_logs > 10000000)
		return log_err("eth_rpc: max_logs must be 1..10000000");
	return 0;
}

int eth_rpc_init(struct eth_rpc *r, const struct eth_rpc_opts *o)
{
	struct curl_slist *h = NULL, *h2;
	CURL *c;
	uint64_t seed;
	int bad = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->resp);
	if (!o || opts_check(o) < 0)
		return -1;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return log_err("eth_rpc: curl_global_init: %s", curl_easy_strerror(curl_init_rc));
	if (url_check(o->url, r->endpoint, sizeof(r->endpoint)) < 0)
		return -1;
	r->opts = *o;
	r->opts.proxy = NULL; /* handed to curl, which copies it; not kept */
	r->url = strdup(o->url);
	r->opts.url = r->url;
	r->curl = c = curl_easy_init();
	if (!r->url || !c)
		goto fail;
	const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json",
			       "Expect:" /* no 100-continue round trip for big bodies */ };
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		h2 = curl_slist_append(h, hdrs[i]);
		if (!h2)
			goto fail;
		r->headers = h = h2;
	}
	bad |= curl_easy_setopt(c, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, o->proxy ? o->proxy : "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "oyster-eth-rpc") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
				(curl_off_t)o->max_response) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
	if (bad)
		goto fail;
	r->resp.limit = o->max_response;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = eth_rpc_now_ms() ^ ((uint64_t)getpid() << 32);
	r->rng = seed;
	r->pid = getpid();
	r->next_id = 1;
	return 0;
fail:
	eth_rpc_release(r);
	return log_err("eth_rpc: cannot set up libcurl handle");
}

void eth_rpc_release(struct eth_rpc *r)
{
	/*
	 * In a forked child the handle's connection is the parent's: cleaning
	 * it up could send a TLS close_notify on the parent's socket.  Leak it.
	 */
	if (r->curl && r->pid == getpid())
		curl_easy_cleanup(r->curl);
	curl_slist_free_all(r->headers);
	free(r->url);
	buf_release(&r->resp);
	memset(r, 0, sizeof(*r));
}

/*
 * One call: attempts, classification, backoff.  Fills r->err; returns its
 * status.  On success *result holds the reply's result.
 */
static int perform(struct eth_rpc *r, const char *method, const char *body, size_t len,
		   long long id, uint64_t deadline, json_t **result)
{
	struct eth_rpc_error *e = &r->err;
	unsigned max_attempts = r->opts.retries + 1;
	uint64_t delay = r->opts.backoff_ms;
	char reason[400];
	CURL *c = r->curl;

	for (unsigned attempt = 1;; attempt++) {
		uint64_t now = eth_rpc_now_ms(), sleep_ms;
		long tmo = r->opts.timeout_ms, ctmo, http = 0, nconn = 0;
		curl_off_t retry_after = 0;
		CURLcode cc;
		int retry;

		if (deadline && now >= deadline) {
			e->deadline = 1;
			snprintf(reason, sizeof(reason), "deadline passed before attempt %u", attempt);
			break;
		}
		if (deadline && deadline - now < (uint64_t)tmo)
			tmo = (long)(deadline - now);
		ctmo = r->opts.connect_timeout_ms < tmo ? r->opts.connect_timeout_ms : tmo;
		buf_reset(&r->resp);
		r->too_large = 0;
		r->curl_errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tmo);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ctmo);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		cc = curl_easy_perform(c);
		r->requests++;
		e->attempts++;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
		r->connects += (unsigned long)(nconn > 0 ? nconn : 0);
		e->curl_code = (int)cc;
		e->http_status = http;

		if (r->too_large || cc == CURLE_FILESIZE_EXCEEDED)
			return rpc_err_set(e, ETH_RPC_E_REPLY, "reply larger than %zu bytes",
				       r->opts.max_response);
		if (cc != CURLE_OK) {
			retry = curl_retryable(cc);
			snprintf(reason, sizeof(reason), "%s%s%s", curl_easy_strerror(cc),
				 r->curl_errbuf[0] ? ": " : "", r->curl_errbuf);
			if (cc == CURLE_OPERATION_TIMEDOUT && deadline &&
			    eth_rpc_now_ms() >= deadline) {
				e->deadline = 1;
				break;
			}
		} else if (http == 429 || http >= 500) {
			retry = 1;
			snprintf(reason, sizeof(reason), "HTTP %ld", http);
			if (http == 429)
				curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
		} else if (http >= 200 && http <= 299) {
			return eth_rpc_reply_parse(r->resp.data ? r->resp.data : "", r->resp.len,
						   id, result, e);
		} else {
			/* Some nodes put a JSON-RPC error in a 4xx: keep it if so. */
			json_t *ignored = NULL;
			struct eth_rpc_error saved = *e;

			if (eth_rpc_reply_parse(r->resp.data ? r->resp.data : "", r->resp.len, id,
						&ignored, e) == ETH_RPC_E_REMOTE)
				return ETH_RPC_E_REMOTE;
			json_decref(ignored);
			*e = saved;
			retry = 0;
			snprintf(reason, sizeof(reason), "HTTP %ld", http);
		}
		if (!retry || attempt >= max_attempts)
			break;

		sleep_ms = delay / 2 + rng_next(&r->rng) % (delay - delay / 2 + 1);
		if (retry_after > 0) {
			/* honour Retry-After, but never past our own cap */
			uint64_t ra = (uint64_t)retry_after * 1000u;

			if (ra > r->opts.backoff_max_ms)
				ra = r->opts.backoff_max_ms;
			if (ra > sleep_ms)
				sleep_ms = ra;
		}
		now = eth_rpc_now_ms();
		if (deadline && now + sleep_ms >= deadline) {
			e->deadline = 1;
			log_msg(LOG_WARN, "eth_rpc %s: %s attempt %u/%u failed: %s; no time left to retry",
				r->endpoint, method, attempt, max_attempts, reason);
			break;
		}
		log_msg(LOG_WARN, "eth_rpc %s: %s attempt %u/%u failed: %s; retrying in %" PRIu64 " ms",
			r->endpoint, method, attempt, max_attempts, reason, sleep_ms);
		sleep_until_ms(now + sleep_ms);
		delay *= 2;
		if (delay > r->opts.backoff_max_ms)
			delay = r->opts.backoff_max_ms;
	}
	if (!e->attempts)
		return rpc_err_set(e, ETH_RPC_E_TRANSPORT, "%s", reason);
	return rpc_err_set(e, ETH_RPC_E_TRANSPORT, "%s after %u attempt%s%s", reason, e->attempts,
		       e->attempts == 1 ? "" : "s", e->deadline ? " (deadline reached)" : "");
}

int eth_rpc_call_until(struct eth_rpc *r, const char *method, json_t *params,
		       uint64_t deadline_ms, json_t **result, struct eth_rpc_error *err)
{
	struct eth_rpc_error *e = &r->err;
	json_t *req = NULL;
	char *body = NULL;
	long long id;
	int rc;

	rpc_err_reset(e);
	if (result)
		*result = NULL;
	if (!method || !result || !r->curl) {
		json_decref(params);
		rc = rpc_err_set(e, ETH_RPC_E_INTERNAL, "bad arguments");
		log_err("eth_rpc: %s: bad arguments", method ? method : "(null method)");
		goto out;
	}
	if (r->pid != getpid()) {
		json_decref(params);
		rc = rpc_err_set(e, ETH_RPC_E_INTERNAL, "handle used across fork");
		log_err("eth_rpc %s: %s: handle created in pid %ld used in pid %ld; create it after fork",
			r->endpoint, method, (long)r->pid, (long)getpid());
		goto out;
	}
	if (!params)
		params = json_array();
	if (!json_is_array(params)) {
		json_decref(params);
		rc = rpc_err_set(e, ETH_RPC_E_INTERNAL, "params is not an array");
		log_err("eth_rpc %s: %s: params is not a JSON array", r->endpoint, method);
		goto out;
	}
	id = r->next_id++;
	if (r->next_id > INT32_MAX)
		r->next_id = 1;
	req = json_object();
	if (json_object_set_new(req, "jsonrpc", json_string("2.0")) < 0 ||
	    json_object_set_new(req, "id", json_integer(id)) < 0 ||
	    json_object_set_new(req, "method", json_string(method)) < 0 ||
	    json_object_set_new(req, "params", params) < 0 ||
	    !(body = json_dumps(req, JSON_COMPACT))) {
		rc = rpc_err_set(e, ETH_RPC_E_INTERNAL, "cannot build the request");
		log_err("eth_rpc %s: %s: cannot build the request", r->endpoint, method);
		goto out;
	}
	rc = perform(r, method, body, strlen(body), id, deadline_ms, result);
	if (r->resp.cap > KEEP_RESP_CAP)
		buf_release(&r->resp);
	else
		buf_reset(&r->resp);
	switch (rc) {
	case ETH_RPC_OK:
		break;
	case ETH_RPC_E_REMOTE:
		log_msg(LOG_INFO, "eth_rpc %s: %s: node error %lld: %s", r->endpoint, method, e->code,
			e->message);
		break;
	case ETH_RPC_E_REPLY:
		log_msg(LOG_ERROR, "eth_rpc %s: %s: malformed reply: %s", r->endpoint, method,
			e->message);
		break;
	default:
		log_msg(LOG_ERROR, "eth_rpc %s: %s failed: %s", r->endpoint, method, e->message);
		break;
	}
out:
	json_decref(req);
	free(body);
	if (err && err != e)
		*err = *e;
	return rc;
}

int eth_rpc_call(struct eth_rpc *r, const char *method, json_t *params, json_t **result,
		 struct eth_rpc_error *err)
{
	return eth_rpc_call_until(r, method, params, r->deadline_ms, result, err);
}
