/*
 * Ethereum JSON-RPC client: transport, envelope validation, typed helpers.
 * The design (trust, retries, deadlines, fork rule) is in eth_rpc.h.
 *
 * The file has three layers:
 *  1. transport: one POST per attempt on the reused easy handle, the body
 *     collected by a write callback that refuses to pass max_response, and
 *     the retry loop that decides what is worth another attempt;
 *  2. envelope: eth_rpc_reply_parse(), which needs no network so the tests
 *     and a fuzz driver can feed it anything;
 *  3. typed helpers: build params, call, parse the result strictly.  Hex is
 *     parsed by small static helpers here on purpose, so this module has no
 *     dependency on the rest of common/eth beyond keccak.
 */
#include "eth/eth_rpc.h"

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

static void err_reset(struct eth_rpc_error *e)
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
static int err_set(struct eth_rpc_error *e, int status, const char *fmt, ...)
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

/* ---- hex ------------------------------------------------------------------ */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A QUANTITY: "0x" then 1..16 hex digits, no leading zero except "0x0". */
static int quantity_parse(const json_t *v, uint64_t *out, const char **why)
{
	const char *s;
	size_t n, i;
	uint64_t x = 0;

	if (!json_is_string(v)) {
		*why = "is not a hex string";
		return -1;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < 3 || s[0] != '0' || s[1] != 'x') {
		*why = "is not a 0x-prefixed quantity";
		return -1;
	}
	if (s[2] == '0' && n > 3) {
		*why = "has leading zeros";
		return -1;
	}
	if (n - 2 > 16) {
		*why = "exceeds 64 bits";
		return -1;
	}
	for (i = 2; i < n; i++) {
		int d = hexval((unsigned char)s[i]);

		if (d < 0) {
			*why = "has a non-hex digit";
			return -1;
		}
		x = x << 4 | (uint64_t)d;
	}
	*out = x;
	return 0;
}

static int hex_check(const char *s, size_t n, const char **why)
{
	if (n < 2 || s[0] != '0' || s[1] != 'x') {
		*why = "is not 0x-prefixed data";
		return -1;
	}
	if ((n - 2) % 2) {
		*why = "has an odd number of hex digits";
		return -1;
	}
	for (size_t i = 2; i < n; i++) {
		if (hexval((unsigned char)s[i]) < 0) {
			*why = "has a non-hex digit";
			return -1;
		}
	}
	return 0;
}

static void hex_decode(const char *s, size_t ndigits, unsigned char *out)
{
	for (size_t i = 0; i < ndigits / 2; i++)
		out[i] = (unsigned char)(hexval((unsigned char)s[2 * i]) << 4 |
					 hexval((unsigned char)s[2 * i + 1]));
}

/* DATA of exactly n bytes (addresses, hashes). */
static int data_parse_fixed(const json_t *v, unsigned char *out, size_t n, const char **why)
{
	const char *s;
	size_t len;

	if (!json_is_string(v)) {
		*why = "is not a hex string";
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (hex_check(s, len, why) < 0)
		return -1;
	if (len != 2 + 2 * n) {
		*why = "has the wrong length";
		return -1;
	}
	hex_decode(s + 2, len - 2, out);
	return 0;
}

/* DATA of any even length up to max bytes, into b (replacing its content). */
static int data_parse_buf(const json_t *v, struct buf *b, size_t max, const char **why)
{
	const char *s;
	size_t len, n;

	if (!json_is_string(v)) {
		*why = "is not a hex string";
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (hex_check(s, len, why) < 0)
		return -1;
	n = (len - 2) / 2;
	if (n > max) {
		*why = "is too long";
		return -1;
	}
	buf_reset(b);
	if (buf_grow(b, n) < 0) {
		*why = "does not fit in memory";
		return -1;
	}
	hex_decode(s + 2, len - 2, (unsigned char *)b->data);
	b->len = n;
	b->data[n] = '\0';
	return 0;
}

static json_t *json_hex_data(const unsigned char *p, size_t n)
{
	struct buf b = BUF_INIT;
	json_t *s = NULL;

	if (buf_addstr(&b, "0x") == 0 && buf_addhex(&b, p, n) == 0)
		s = json_stringn(b.data, b.len);
	buf_release(&b);
	return s;
}

static json_t *json_hex_quantity(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, v);
	return json_string(s);
}

/* ---- envelope ------------------------------------------------------------- */

/*
 * Nesting depth of the raw text, counting brackets outside strings.  Exact
 * for valid JSON (jansson rejects the rest), and done before parsing so a
 * deep reply never reaches a recursive parser or a deep tree walk.
 */
static int depth_ok(const char *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return 1;
}

int eth_rpc_reply_parse(const char *body, size_t len, long long id, json_t **result,
			struct eth_rpc_error *e)
{
	json_error_t jerr;
	json_t *root, *v, *res, *error, *code, *msg, *data;
	int rc = ETH_RPC_E_REPLY;

	*result = NULL;
	if (!depth_ok(body, len, ETH_RPC_MAX_DEPTH))
		return err_set(e, ETH_RPC_E_REPLY, "reply nested deeper than %d levels",
			       ETH_RPC_MAX_DEPTH);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, ETH_RPC_E_REPLY, "reply is not valid JSON: %s (byte %d)",
			       jerr.text, jerr.position);
	if (!json_is_object(root)) {
		err_set(e, rc, "reply is not a JSON object");
		goto out;
	}
	v = json_object_get(root, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		err_set(e, rc, "reply jsonrpc member is not \"2.0\"");
		goto out;
	}
	v = json_object_get(root, "id");
	if (!json_is_integer(v) || json_integer_value(v) != id) {
		err_set(e, rc, "reply id does not match the request id %lld", id);
		goto out;
	}
	res = json_object_get(root, "result");
	error = json_object_get(root, "error");
	if (!res == !error) {
		err_set(e, rc, "reply has %s", res ? "both result and error" : "neither result nor error");
		goto out;
	}
	if (res) {
		*result = json_incref(res);
		rc = ETH_RPC_OK;
		e->status = rc;
		goto out;
	}
	code = json_object_get(error, "code");
	msg = json_object_get(error, "message");
	data = json_object_get(error, "data");
	if (!json_is_object(error) || !json_is_integer(code) || !json_is_string(msg)) {
		err_set(e, rc, "reply error is not {code: integer, message: string}");
		goto out;
	}
	e->code = json_integer_value(code);
	snprintf(e->message, sizeof(e->message), "%s", json_string_value(msg));
	if (json_is_string(data))
		snprintf(e->data, sizeof(e->data), "%s", json_string_value(data));
	rc = e->status = ETH_RPC_E_REMOTE;
out:
	json_decref(root);
	return rc;
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
			return err_set(e, ETH_RPC_E_REPLY, "reply larger than %zu bytes",
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
		return err_set(e, ETH_RPC_E_TRANSPORT, "%s", reason);
	return err_set(e, ETH_RPC_E_TRANSPORT, "%s after %u attempt%s%s", reason, e->attempts,
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

	err_reset(e);
	if (result)
		*result = NULL;
	if (!method || !result || !r->curl) {
		json_decref(params);
		rc = err_set(e, ETH_RPC_E_INTERNAL, "bad arguments");
		log_err("eth_rpc: %s: bad arguments", method ? method : "(null method)");
		goto out;
	}
	if (r->pid != getpid()) {
		json_decref(params);
		rc = err_set(e, ETH_RPC_E_INTERNAL, "handle used across fork");
		log_err("eth_rpc %s: %s: handle created in pid %ld used in pid %ld; create it after fork",
			r->endpoint, method, (long)r->pid, (long)getpid());
		goto out;
	}
	if (!params)
		params = json_array();
	if (!json_is_array(params)) {
		json_decref(params);
		rc = err_set(e, ETH_RPC_E_INTERNAL, "params is not an array");
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
		rc = err_set(e, ETH_RPC_E_INTERNAL, "cannot build the request");
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

/* ---- typed helpers ---------------------------------------------------------- */

/* A call succeeded but its result is not what the method returns. */
__attribute__((format(printf, 3, 4)))
static int reply_bad(struct eth_rpc *r, const char *method, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof(r->err.message), fmt, ap);
	va_end(ap);
	r->err.status = ETH_RPC_E_REPLY;
	log_msg(LOG_ERROR, "eth_rpc %s: %s: malformed result: %s", r->endpoint, method,
		r->err.message);
	return ETH_RPC_E_REPLY;
}

static int internal(struct eth_rpc *r, const char *method, const char *what)
{
	err_reset(&r->err);
	err_set(&r->err, ETH_RPC_E_INTERNAL, "%s", what);
	log_err("eth_rpc %s: %s: %s", r->endpoint, method, what);
	return ETH_RPC_E_INTERNAL;
}

/* [a] or [a, b], stealing both (b may be unused); NULL if anything failed. */
static json_t *params_new(size_t n, json_t *a, json_t *b)
{
	json_t *p = json_array(), *v[2] = { a, b };
	int ok = p != NULL;

	for (size_t i = 0; i < 2; i++) {
		if (i >= n)
			json_decref(v[i]);
		else if (!v[i] || json_array_append_new(p, v[i]) < 0)
			ok = 0;
	}
	if (!ok) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int tag_ok(const char *t)
{
	static const char *const tags[] = { "latest", "pending", "earliest", "safe", "finalized" };

	for (size_t i = 0; t && i < sizeof(tags) / sizeof(tags[0]); i++)
		if (!strcmp(t, tags[i]))
			return 1;
	return 0;
}

static int call(struct eth_rpc *r, const char *method, json_t *params, json_t **res)
{
	if (!params)
		return internal(r, method, "out of memory building params");
	return eth_rpc_call_until(r, method, params, r->deadline_ms, res, NULL);
}

static int call_quantity(struct eth_rpc *r, const char *method, json_t *params, uint64_t *out)
{
	const char *why;
	json_t *res;
	int rc = call(r, method, params, &res);

	if (rc)
		return rc;
	if (quantity_parse(res, out, &why) < 0)
		rc = reply_bad(r, method, "result %s", why);
	json_decref(res);
	return rc;
}

/* Object members: required unless _opt, which gives 1 present / 0 null or absent. */
static int get_quantity_opt(struct eth_rpc *r, const char *method, const json_t *o,
			    const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);
	const char *why;

	if (!v || json_is_null(v))
		return 0;
	if (quantity_parse(v, out, &why) < 0)
		return reply_bad(r, method, "%s %s", key, why);
	return 1;
}

static int get_quantity(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
			uint64_t *out)
{
	int rc = get_quantity_opt(r, method, o, key, out);

	if (rc == 0)
		return reply_bad(r, method, "%s missing", key);
	return rc < 0 ? rc : 0;
}

static int get_fixed_opt(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
			 unsigned char *out, size_t n)
{
	const json_t *v = json_object_get(o, key);
	const char *why;

	if (!v || json_is_null(v))
		return 0;
	if (data_parse_fixed(v, out, n, &why) < 0)
		return reply_bad(r, method, "%s %s", key, why);
	return 1;
}

static int get_fixed(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
		     unsigned char *out, size_t n)
{
	int rc = get_fixed_opt(r, method, o, key, out, n);

	if (rc == 0)
		return reply_bad(r, method, "%s missing", key);
	return rc < 0 ? rc : 0;
}

static int get_data(struct eth_rpc *r, const char *method, const json_t *o, const char *key,
		    struct buf *b)
{
	const json_t *v = json_object_get(o, key);
	const char *why;

	if (!v)
		return reply_bad(r, method, "%s missing", key);
	if (data_parse_buf(v, b, r->opts.max_response, &why) < 0)
		return reply_bad(r, method, "%s %s", key, why);
	return 0;
}

int eth_rpc_chain_id(struct eth_rpc *r, uint64_t *chain_id)
{
	return call_quantity(r, "eth_chainId", json_array(), chain_id);
}

int eth_rpc_block_number(struct eth_rpc *r, uint64_t *number)
{
	return call_quantity(r, "eth_blockNumber", json_array(), number);
}

int eth_rpc_gas_price(struct eth_rpc *r, uint64_t *wei)
{
	return call_quantity(r, "eth_gasPrice", json_array(), wei);
}

int eth_rpc_max_priority_fee(struct eth_rpc *r, uint64_t *wei)
{
	return call_quantity(r, "eth_maxPriorityFeePerGas", json_array(), wei);
}

int eth_rpc_get_transaction_count(struct eth_rpc *r, const unsigned char addr[20],
				  const char *block_tag, uint64_t *nonce)
{
	const char *m = "eth_getTransactionCount";

	if (!block_tag)
		block_tag = "latest";
	if (!tag_ok(block_tag))
		return internal(r, m, "unknown block tag");
	return call_quantity(r, m, params_new(2, json_hex_data(addr, 20), json_string(block_tag)),
			     nonce);
}

void eth_rpc_tx_init(struct eth_rpc_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	buf_init(&tx->input);
}

void eth_rpc_tx_release(struct eth_rpc_tx *tx)
{
	buf_release(&tx->input);
	eth_rpc_tx_init(tx);
}

int eth_rpc_get_transaction_by_hash(struct eth_rpc *r, const unsigned char hash[32],
				    struct eth_rpc_tx *tx)
{
	const char *m = "eth_getTransactionByHash";
	json_t *res;
	int rc, has;

	rc = call(r, m, params_new(1, json_hex_data(hash, 32), NULL), &res);
	if (rc)
		return rc;
	if (json_is_null(res)) {
		rc = 0;
		goto out;
	}
	eth_rpc_tx_release(tx);
	if (!json_is_object(res)) {
		rc = reply_bad(r, m, "result is neither an object nor null");
		goto out;
	}
	if ((rc = get_fixed(r, m, res, "hash", tx->hash, 32)) < 0 ||
	    (rc = get_fixed(r, m, res, "from", tx->from, 20)) < 0 ||
	    (rc = get_fixed_opt(r, m, res, "to", tx->to, 20)) < 0)
		goto out;
	tx->has_to = rc;
	if ((rc = get_quantity(r, m, res, "nonce", &tx->nonce)) < 0 ||
	    (rc = get_data(r, m, res, "input", &tx->input)) < 0 ||
	    (rc = get_quantity_opt(r, m, res, "blockNumber", &tx->block_number)) < 0)
		goto out;
	has = rc;
	tx->has_block = has;
	if (memcmp(tx->hash, hash, 32) != 0) {
		rc = reply_bad(r, m, "node returned a different transaction");
		goto out;
	}
	rc = 1;
out:
	if (rc < 0)
		eth_rpc_tx_release(tx);
	json_decref(res);
	return rc;
}

int eth_rpc_send_raw_transaction(struct eth_rpc *r, const unsigned char *raw, size_t len,
				 unsigned char hash_out[32])
{
	const char *m = "eth_sendRawTransaction", *why;
	unsigned char want[32];
	json_t *res;
	int rc;

	if (!raw || !len)
		return internal(r, m, "empty transaction");
	rc = call(r, m, params_new(1, json_hex_data(raw, len), NULL), &res);
	if (rc)
		return rc;
	eth_keccak256(raw, len, want);
	if (data_parse_fixed(res, hash_out, 32, &why) < 0)
		rc = reply_bad(r, m, "result %s", why);
	else if (memcmp(hash_out, want, 32) != 0)
		rc = reply_bad(r, m, "returned hash is not keccak256 of the transaction");
	json_decref(res);
	return rc;
}

int eth_rpc_get_transaction_receipt(struct eth_rpc *r, const unsigned char hash[32],
				    struct eth_rpc_receipt *rc_out)
{
	const char *m = "eth_getTransactionReceipt";
	struct eth_rpc_receipt rcpt;
	uint64_t status;
	json_t *res;
	int rc;

	memset(&rcpt, 0, sizeof(rcpt));
	rc = call(r, m, params_new(1, json_hex_data(hash, 32), NULL), &res);
	if (rc)
		return rc;
	if (json_is_null(res)) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(res)) {
		rc = reply_bad(r, m, "result is neither an object nor null");
		goto out;
	}
	if ((rc = get_fixed(r, m, res, "transactionHash", rcpt.tx_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, res, "status", &status)) < 0 ||
	    (rc = get_quantity(r, m, res, "blockNumber", &rcpt.block_number)) < 0 ||
	    (rc = get_fixed(r, m, res, "blockHash", rcpt.block_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, res, "gasUsed", &rcpt.gas_used)) < 0 ||
	    (rc = get_quantity_opt(r, m, res, "effectiveGasPrice",
				   &rcpt.effective_gas_price)) < 0 ||
	    (rc = get_fixed_opt(r, m, res, "contractAddress", rcpt.contract_address, 20)) < 0)
		goto out;
	rcpt.has_contract_address = rc;
	if (status > 1) {
		rc = reply_bad(r, m, "status is neither 0x0 nor 0x1");
		goto out;
	}
	rcpt.status = (int)status;
	if (memcmp(rcpt.tx_hash, hash, 32) != 0) {
		rc = reply_bad(r, m, "node returned the receipt of another transaction");
		goto out;
	}
	*rc_out = rcpt;
	rc = 1;
out:
	json_decref(res);
	return rc;
}

int eth_rpc_estimate_gas(struct eth_rpc *r, const unsigned char *from20,
			 const unsigned char *to20, const unsigned char *data, size_t len,
			 uint64_t *gas)
{
	const char *m = "eth_estimateGas";
	json_t *tx = json_object();
	int bad = 0;

	if (from20)
		bad |= json_object_set_new(tx, "from", json_hex_data(from20, 20)) < 0;
	if (to20)
		bad |= json_object_set_new(tx, "to", json_hex_data(to20, 20)) < 0;
	bad |= json_object_set_new(tx, "data", json_hex_data(data, data ? len : 0)) < 0;
	if (bad) {
		json_decref(tx);
		tx = NULL;
	}
	return call_quantity(r, m, params_new(1, tx, NULL), gas);
}

int eth_rpc_get_block(struct eth_rpc *r, const char *tag, uint64_t number,
		      struct eth_rpc_block *b)
{
	const char *m = "eth_getBlockByNumber";
	struct eth_rpc_block blk;
	json_t *res;
	int rc;

	memset(&blk, 0, sizeof(blk));
	if (tag && !tag_ok(tag))
		return internal(r, m, "unknown block tag");
	rc = call(r, m,
		  params_new(2, tag ? json_string(tag) : json_hex_quantity(number), json_false()),
		  &res);
	if (rc)
		return rc;
	if (json_is_null(res)) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(res)) {
		rc = reply_bad(r, m, "result is neither an object nor null");
		goto out;
	}
	if ((rc = get_quantity(r, m, res, "number", &blk.number)) < 0 ||
	    (rc = get_fixed_opt(r, m, res, "hash", blk.hash, 32)) < 0)
		goto out;
	blk.has_hash = rc;
	if ((rc = get_fixed(r, m, res, "parentHash", blk.parent_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, res, "timestamp", &blk.timestamp)) < 0 ||
	    (rc = get_quantity_opt(r, m, res, "baseFeePerGas", &blk.base_fee)) < 0)
		goto out;
	blk.has_base_fee = rc;
	if (!tag && blk.number != number) {
		rc = reply_bad(r, m, "asked for block %" PRIu64 ", got %" PRIu64, number,
			       blk.number);
		goto out;
	}
	*b = blk;
	rc = 1;
out:
	json_decref(res);
	return rc;
}

int eth_rpc_get_block_hash(struct eth_rpc *r, uint64_t number, unsigned char hash[32])
{
	struct eth_rpc_block b;
	int rc = eth_rpc_get_block(r, NULL, number, &b);

	if (rc == 1 && !b.has_hash)
		return reply_bad(r, "eth_getBlockByNumber", "block %" PRIu64 " has no hash",
				 number);
	if (rc == 1)
		memcpy(hash, b.hash, 32);
	return rc;
}

int eth_rpc_get_block_base_fee(struct eth_rpc *r, const char *tag, uint64_t *wei)
{
	const char *m = "eth_getBlockByNumber";
	struct eth_rpc_block b;
	int rc;

	if (!tag)
		return internal(r, m, "no block tag");
	rc = eth_rpc_get_block(r, tag, 0, &b);
	if (rc == 0)
		return reply_bad(r, m, "no %s block", tag);
	if (rc < 0)
		return rc;
	if (!b.has_base_fee)
		return reply_bad(r, m, "%s block has no baseFeePerGas (pre-London chain?)", tag);
	*wei = b.base_fee;
	return 0;
}

/* ---- logs ------------------------------------------------------------------ */

void eth_rpc_logs_free(struct eth_rpc_log *logs, size_t n)
{
	if (!logs)
		return;
	for (size_t i = 0; i < n; i++)
		buf_release(&logs[i].data);
	free(logs);
}

static json_t *filter_json(const struct eth_rpc_log_filter *f)
{
	json_t *o = json_object(), *a, *topics;
	int bad = 0, last = -1;

	bad |= json_object_set_new(o, "fromBlock", json_hex_quantity(f->from_block)) < 0;
	bad |= json_object_set_new(o, "toBlock", json_hex_quantity(f->to_block)) < 0;
	if (f->naddr) {
		a = json_array();
		for (size_t i = 0; i < f->naddr; i++)
			bad |= json_array_append_new(a, json_hex_data(f->addresses[i], 20)) < 0;
		bad |= json_object_set_new(o, "address", a) < 0;
	}
	for (int i = 0; i < 4; i++)
		if (f->ntopics[i])
			last = i;
	if (last >= 0) {
		topics = json_array();
		for (int i = 0; i <= last; i++) {
			if (!f->ntopics[i]) {
				bad |= json_array_append_new(topics, json_null()) < 0;
				continue;
			}
			a = json_array();
			for (size_t k = 0; k < f->ntopics[i]; k++)
				bad |= json_array_append_new(a, json_hex_data(f->topics[i][k], 32)) < 0;
			bad |= json_array_append_new(topics, a) < 0;
		}
		bad |= json_object_set_new(o, "topics", topics) < 0;
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int in_set(const unsigned char *v, const unsigned char *set, size_t n, size_t width)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(v, set + i * width, width))
			return 1;
	return 0;
}

static int log_parse(struct eth_rpc *r, const json_t *o, const struct eth_rpc_log_filter *f,
		     struct eth_rpc_log *l)
{
	const char *m = "eth_getLogs", *why;
	const json_t *t, *v;
	size_t i;
	int rc;

	if (!json_is_object(o))
		return reply_bad(r, m, "log is not an object");
	if ((rc = get_fixed(r, m, o, "address", l->address, 20)) < 0 ||
	    (rc = get_data(r, m, o, "data", &l->data)) < 0 ||
	    (rc = get_quantity(r, m, o, "blockNumber", &l->block_number)) < 0 ||
	    (rc = get_fixed(r, m, o, "blockHash", l->block_hash, 32)) < 0 ||
	    (rc = get_fixed(r, m, o, "transactionHash", l->tx_hash, 32)) < 0 ||
	    (rc = get_quantity(r, m, o, "transactionIndex", &l->tx_index)) < 0 ||
	    (rc = get_quantity(r, m, o, "logIndex", &l->log_index)) < 0)
		return rc;
	v = json_object_get(o, "removed");
	if (v && !json_is_boolean(v))
		return reply_bad(r, m, "removed is not a boolean");
	l->removed = json_is_true(v);
	t = json_object_get(o, "topics");
	if (!json_is_array(t) || json_array_size(t) > 4)
		return reply_bad(r, m, "topics is not an array of at most 4");
	l->ntopics = (unsigned)json_array_size(t);
	json_array_foreach(t, i, v) {
		if (data_parse_fixed(v, l->topics[i], 32, &why) < 0)
			return reply_bad(r, m, "topic %zu %s", i, why);
	}
	/* The node must have applied our filter: check rather than trust. */
	if (l->block_number < f->from_block || l->block_number > f->to_block)
		return reply_bad(r, m, "log in block %" PRIu64 " outside the range asked",
				 l->block_number);
	if (f->naddr && !in_set(l->address, &f->addresses[0][0], f->naddr, 20))
		return reply_bad(r, m, "log from an address not asked for");
	for (i = 0; i < 4; i++) {
		if (!f->ntopics[i])
			continue;
		if (i >= l->ntopics || !in_set(l->topics[i], &f->topics[i][0][0], f->ntopics[i], 32))
			return reply_bad(r, m, "log topic %zu does not match the filter", i);
	}
	return 0;
}

int eth_rpc_get_logs(struct eth_rpc *r, const struct eth_rpc_log_filter *f,
		     struct eth_rpc_log **logs, size_t *nlogs)
{
	const char *m = "eth_getLogs";
	struct eth_rpc_log *out = NULL;
	json_t *res, *v;
	size_t n, i;
	int rc;

	*logs = NULL;
	*nlogs = 0;
	if (f->from_block > f->to_block || (f->naddr && !f->addresses))
		return internal(r, m, "bad filter");
	for (i = 0; i < 4; i++)
		if (f->ntopics[i] && !f->topics[i])
			return internal(r, m, "bad filter");
	rc = call(r, m, params_new(1, filter_json(f), NULL), &res);
	if (rc)
		return rc;
	if (!json_is_array(res)) {
		rc = reply_bad(r, m, "result is not an array");
		goto out;
	}
	n = json_array_size(res);
	if (n > r->opts.max_logs) {
		rc = reply_bad(r, m, "%zu logs, more than the %zu allowed: narrow the range", n,
			       r->opts.max_logs);
		goto out;
	}
	if (n) {
		out = calloc(n, sizeof(*out));
		if (!out) {
			rc = internal(r, m, "out of memory");
			goto out;
		}
	}
	json_array_foreach(res, i, v) {
		if ((rc = log_parse(r, v, f, &out[i])) < 0) {
			eth_rpc_logs_free(out, n);
			goto out;
		}
	}
	*logs = out;
	*nlogs = n;
	rc = 0;
out:
	json_decref(res);
	return rc;
}
