#include "conf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "banned.h"

#define OFF(f) offsetof(struct conf, f)
#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

/* Keys whose default is "" are derived in conf_finish(). */
const struct conf_key conf_keys[] = {
	{ "instance", CONF_STRING, OFF(instance), 0, 0, "default", NULL,
	  "Name of this node; names its cgroups (oyster/<instance>/...) so several nodes can share a host" },
	{ "run_dir", CONF_PATH, OFF(run_dir), 0, 0, "/run/oyster-executor", NULL,
	  "Directory for sockets and per-slot scratch files (created if missing)" },
	{ "db_path", CONF_PATH, OFF(db_path), 0, 0, "/var/lib/oyster-executor/executor.db", NULL,
	  "SQLite database shared by the daemons (code cache, jobs)" },
	{ "fcgi_socket", CONF_PATH, OFF(fcgi_socket), 0, 0, "", NULL,
	  "FastCGI socket for /api/serverless, served by the slot handlers (default: <run_dir>/fcgi.sock)" },
	{ "control_socket", CONF_PATH, OFF(control_socket), 0, 0, "", NULL,
	  "FastCGI socket for everything else, served by a slotless handler (default: <run_dir>/control.sock)" },
	{ "socket_group", CONF_STRING, OFF(socket_group), 0, 0, "www-data", NULL,
	  "Group given the FastCGI sockets (mode 0660) so only nginx can connect; empty = keep ours" },
	{ "workerd_path", CONF_PATH, OFF(workerd_path), 0, 0, "/usr/lib/oyster-executor/workerd", NULL,
	  "The workerd binary" },
	{ "compatibility_date", CONF_STRING, OFF(compatibility_date), 0, 0, "2023-03-07", NULL,
	  "workerd compatibilityDate given to user code (the original executor's)" },
	{ "sandbox_mode", CONF_ENUM, OFF(sandbox_mode), 0, 0, "pool", "pool|process",
	  "pool: each slot keeps a warm workerd and runs every request in a new V8 isolate; process: a fresh workerd per request (the original's model, about 40 ms slower)" },
	{ "pool_recycle_requests", CONF_INT, OFF(pool_recycle_requests), 0, 100000000, "1000", NULL,
	  "Pool mode: a slot's workerd is replaced after this many requests (0 = no limit); always after a timeout, OOM or crash, and once to bake a reused code in" },
	{ "pool_recycle_memory", CONF_SIZE, OFF(pool_recycle_memory), 0, 64 * GiB, "32M", NULL,
	  "Pool mode: a slot's workerd is replaced when its memory after a request exceeds its level after its first request by this much (0 = never)" },
	{ "pool_prepare", CONF_BOOL, OFF(pool_prepare), 0, 1, "on", NULL,
	  "Pool mode: when a slot's last two new-isolate runs were of the same code, make the next request's isolate while the slot is idle (still one new isolate per request; costs one isolate's load when the next request is another code)" },
	{ "isolate_reuse", CONF_ENUM, OFF(isolate_reuse), 0, 0, "opt-in", "off|opt-in|all",
	  "Pool mode: opt-in = code uploaded with ?isolate=reuse keeps one isolate per slot across its requests (globals survive: weaker isolation; a slot serves up to 4 such codes it runs often as workers baked into its workerd's config); all = every code does; off = never" },
	{ "code_cache_bytes", CONF_SIZE, OFF(code_cache_bytes), 0, 4 * GiB, "16M", NULL,
	  "Decoded code each handler keeps in memory (LRU) on top of the database; 0 = off" },
	{ "code_store_bytes", CONF_SIZE, OFF(code_store_bytes), 0, 1024 * GiB, "1G", NULL,
	  "Code kept in the database (uploads and code fetched from transactions); beyond it the least recently used code is evicted (an evicted upload answers CODE_NOT_FOUND until uploaded again; code from a transaction is fetched again). 0 = no bound; a smaller value than 4 x max_code_bytes is raised to that" },
	{ "log_level", CONF_ENUM, OFF(log_level), 0, 0, "info", "debug|info|warn|error",
	  "Lowest level written to the log" },
	{ "http_listen", CONF_STRING, OFF(http_listen), 0, 0, "127.0.0.1:8080", NULL,
	  "Address nginx listens on (used when the site config is generated)" },
	{ "admin_allow", CONF_STRING, OFF(admin_allow), 0, 0, "127.0.0.1 ::1", NULL,
	  "Space-separated addresses/CIDRs allowed to reach the admin endpoints" },
	{ "slots", CONF_INT, OFF(slots), 1, 256, "4", NULL,
	  "Sandbox slots for HTTP requests (one cgroup + workerd each)" },
	{ "handlers", CONF_INT, OFF(handlers), 0, 256, "0", NULL,
	  "FastCGI handler processes; 0 = one per slot (handler i owns slot i)" },
	{ "memory_limit", CONF_SIZE, OFF(memory_limit), 16 * MiB, 64 * GiB, "128M", NULL,
	  "Memory (including swap) per slot; beyond it the run is killed with OUT_OF_MEMORY" },
	{ "cpu_percent", CONF_INT, OFF(cpu_percent), 1, 25600, "100", NULL,
	  "CPU quota per slot in percent of one core" },
	{ "pids_limit", CONF_INT, OFF(pids_limit), 8, 65536, "64", NULL,
	  "Maximum processes/threads per slot" },
	{ "deadline_ms", CONF_INT, OFF(deadline_ms), 10, 300000, "10000", NULL,
	  "Wall-clock limit of one execution (start included); beyond it EXECUTION_TIMEOUT" },
	{ "queue_timeout_ms", CONF_INT, OFF(queue_timeout_ms), 0, 600000, "5000", NULL,
	  "How long a request may wait for a free slot before it gets 503 BUSY" },
	{ "max_request_bytes", CONF_SIZE, OFF(max_request_bytes), 1 * KiB, 1 * GiB, "2M", NULL,
	  "Largest request body accepted (nginx client_max_body_size too)" },
	{ "max_response_bytes", CONF_SIZE, OFF(max_response_bytes), 1 * KiB, 1 * GiB, "2M", NULL,
	  "Largest worker response body; beyond it RESPONSE_TOO_LARGE" },
	{ "max_code_bytes", CONF_SIZE, OFF(max_code_bytes), 1 * KiB, 256 * MiB, "1M", NULL,
	  "Largest code upload (all modules together)" },
	{ "max_code_uploads_per_minute", CONF_INT, OFF(max_code_uploads_per_minute), 0, 100000, "60", NULL,
	  "Code uploads (POST /api/code) one client address may make per minute, a quarter of them at once; beyond it 429 TOO_MANY_UPLOADS (0 = no limit).  The code store is bounded (code_store_bytes): without this one client could push everyone's idle code out" },
	{ "max_connections", CONF_INT, OFF(max_connections), 1, 1000000, "0", NULL,
	  "Concurrent /api connections nginx lets through before 503 (0 = 16 per slot)" },
	{ "max_connections_per_client", CONF_INT, OFF(max_connections_per_client), 0, 1000000, "0", NULL,
	  "Concurrent executions one client address may hold, counted while its body is still arriving, so slow clients cannot take the whole max_connections (0 = half of max_connections)" },
	{ "trusted_proxies", CONF_STRING, OFF(trusted_proxies), 0, 0, "", NULL,
	  "Space-separated addresses/CIDRs of load balancers in front whose X-Forwarded-For names the client (for the per-client limit, admin_allow and logs); empty = none" },
	{ "enclave_key_path", CONF_PATH, OFF(enclave_key_path), 0, 0, "/etc/oyster-executor/id.sec", NULL,
	  "Enclave identity: raw 32-byte secp256k1 secret, mode 0600 (oysterctl keygen makes one)" },
	{ "gas_key_path", CONF_PATH, OFF(gas_key_path), 0, 0, "/var/lib/oyster-executor/gas.key", NULL,
	  "Where POST /mutable-config stores the gas key (0600, never in the database or logs)" },
	{ "rpc_url", CONF_STRING, OFF(rpc_url), 0, 0, "", NULL,
	  "Ethereum JSON-RPC endpoint (http or https); empty = no chain (tx_hash requests are refused)" },
	{ "chain_id", CONF_INT, OFF(chain_id), 0, INT64_MAX, "0", NULL,
	  "Chain id transactions are signed for; 0 = ask the RPC node at start" },
	{ "code_contract", CONF_ADDRESS, OFF(code_contract), 0, 0, "", NULL,
	  "Contract whose saveCodeInCallData transactions carry code (tx_hash mode and chain jobs)" },
	{ "executors_contract", CONF_ADDRESS, OFF(executors_contract), 0, 0, "", NULL,
	  "Executors contract the chain watcher follows (registration, drain, revive)" },
	{ "jobs_contract", CONF_ADDRESS, OFF(jobs_contract), 0, 0, "", NULL,
	  "Jobs contract the chain watcher follows and answers (submitOutput, slashOnExecutionTimeout)" },
	{ "poll_interval_ms", CONF_INT, OFF(poll_interval_ms), 50, 60000, "1000", NULL,
	  "How often the chain watcher asks for new blocks" },
	{ "job_retention_days", CONF_INT, OFF(job_retention_days), 0, 36500, "30", NULL,
	  "Chain jobs that are over (confirmed, failed, expired, dropped, skipped or not ours; no slash to come, no pending transaction) are deleted with their transactions this many days after their last change (0 = keep forever); /api/jobs shows what is kept" },
	{ "confirmations", CONF_INT, OFF(confirmations), 0, 1000, "0", NULL,
	  "Blocks behind the head the watcher stays; reorgs deeper than the stored hashes are detected anyway" },
	{ "start_block", CONF_INT, OFF(start_block), 0, INT64_MAX, "0", NULL,
	  "First block to read on a fresh database; 0 = the head at first start" },
	{ "max_log_range", CONF_INT, OFF(max_log_range), 1, 100000, "1000", NULL,
	  "Most blocks asked for in one eth_getLogs" },
	{ "execution_buffer_s", CONF_INT, OFF(execution_buffer_s), 0, 86400, "0", NULL,
	  "Jobs contract EXECUTION_BUFFER_TIME in seconds; 0 = read it from the contract" },
	{ "resend_after_ms", CONF_INT, OFF(resend_after_ms), 1000, 3600000, "15000", NULL,
	  "A transaction not mined after this long is sent again with the same nonce and higher fees" },
	{ "gas_margin_percent", CONF_INT, OFF(gas_margin_percent), 0, 500, "20", NULL,
	  "Added to eth_estimateGas for the gas limit" },
	{ "fee_bump_percent", CONF_INT, OFF(fee_bump_percent), 10, 500, "15", NULL,
	  "Fee increase for a replacement transaction (nodes require at least 10%)" },
	{ "job_lease_ms", CONF_INT, OFF(job_lease_ms), 1000, 3600000, "15000", NULL,
	  "How long past its deadline a claimed job stays with its runner before another may take it" },
	{ "job_capacity", CONF_INT, OFF(job_capacity), 1, 256, "4", NULL,
	  "Sandbox slots for chain jobs; the job_capacity announced in the registration message" },
	{ "rpc_timeout_ms", CONF_INT, OFF(rpc_timeout_ms), 100, 120000, "5000", NULL,
	  "Timeout of one JSON-RPC attempt (transport errors are retried with backoff)" },
	{ "subdomain", CONF_STRING, OFF(subdomain), 0, 0, "", NULL,
	  "Host-subdomain mode: requests to <base32(txhash)>.<subdomain> run that code with the whole request; empty = off" },
	{ "health_error_window_s", CONF_INT, OFF(health_error_window_s), 10, 300, "60", NULL,
	  "Window in seconds over which /healthz measures the server error rate of the handlers" },
	{ "health_max_error_percent", CONF_INT, OFF(health_max_error_percent), 0, 100, "50", NULL,
	  "/healthz answers 503 when more than this percent of the window's requests failed on our side (5xx except 503 BUSY and errors of the user's own code); 0 = off" },
	{ "health_min_requests", CONF_INT, OFF(health_min_requests), 1, 1000000, "20", NULL,
	  "Requests the window needs before the error rate is judged (a single failure of a single request is not an outage)" },
	{ "health_max_chain_lag", CONF_INT, OFF(health_max_chain_lag), 0, 1000000, "20", NULL,
	  "/healthz turns unhealthy when the chain watcher is this many blocks behind the head, beyond confirmations; 0 = off" },
	{ "health_max_head_age_s", CONF_INT, OFF(health_max_head_age_s), 0, 86400, "60", NULL,
	  "/healthz turns unhealthy when the chain watcher has not read the head for this long (watcher down, RPC unreachable); 0 = off" },
	{ "cgroups", CONF_BOOL, OFF(cgroups), 0, 1, "on", NULL,
	  "Put every workerd in a limited cgroup; off only for hosts without cgroups (unsafe)" },
	{ "jail", CONF_BOOL, OFF(jail), 0, 1, "on", NULL,
	  "Run workerd in new namespaces, a minimal read-only root, as sandbox_user, no capabilities; off is unsafe" },
	{ "seccomp", CONF_BOOL, OFF(seccomp), 0, 1, "on", NULL,
	  "Apply the syscall allowlist to jailed processes (needs jail = on)" },
	{ "sandbox_user", CONF_STRING, OFF(sandbox_user), 0, 0, "oyster-sandbox", NULL,
	  "Unprivileged user (name, or uid:gid) workerd runs as; must own nothing" },
	{ "scratch_bytes", CONF_SIZE, OFF(scratch_bytes), 1 * MiB, 1 * GiB, "16M", NULL,
	  "Size of the jailed process's only writable place, a tmpfs at /tmp" },
};
const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

static const struct conf_key *find_key(const char *name)
{
	for (size_t i = 0; i < conf_nkeys; i++)
		if (!strcmp(conf_keys[i].name, name))
			return &conf_keys[i];
	return NULL;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

int conf_parse_size(const char *s, int64_t *out)
{
	char *end;
	unsigned long long v;
	int64_t mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = KiB; end++; break;
	case 'm': case 'M': mult = MiB; end++; break;
	case 'g': case 'G': mult = GiB; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > (unsigned long long)(INT64_MAX / mult))
		return -1;
	*out = (int64_t)v * mult;
	return 0;
}

int conf_is_address(const char *s)
{
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || strlen(s) != 42)
		return 0;
	for (int i = 2; i < 42; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return 0;
	return 1;
}

static int enum_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !strncmp(p, v, n))
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

int conf_set(struct conf *c, const char *key, const char *value, struct buf *err)
{
	const struct conf_key *k = find_key(key);
	char *field;
	int64_t v;

	if (!k) {
		buf_addf(err, "unknown key '%s'", key);
		return -1;
	}
	field = (char *)c + k->offset;
	switch (k->type) {
	case CONF_ADDRESS:
		if (value[0] && !conf_is_address(value)) {
			buf_addf(err, "%s: '%s' is not an address (0x and 40 hex digits)", key, value);
			return -1;
		}
		/* fall through */
	case CONF_STRING:
	case CONF_PATH:
	case CONF_ENUM:
		if (strlen(value) >= CONF_STR_MAX) {
			buf_addf(err, "%s: value longer than %d bytes", key, CONF_STR_MAX - 1);
			return -1;
		}
		if (k->type == CONF_PATH && value[0] && value[0] != '/') {
			buf_addf(err, "%s: '%s' is not an absolute path", key, value);
			return -1;
		}
		if (k->type == CONF_ENUM && !enum_ok(k->choices, value)) {
			buf_addf(err, "%s: '%s' is not one of %s", key, value, k->choices);
			return -1;
		}
		snprintf(field, CONF_STR_MAX, "%s", value);
		return 0;
	case CONF_BOOL:
		if (!strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1"))
			v = 1;
		else if (!strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0"))
			v = 0;
		else {
			buf_addf(err, "%s: '%s' is not on/off", key, value);
			return -1;
		}
		break;
	case CONF_INT:
	case CONF_SIZE:
		if ((k->type == CONF_INT ? parse_int(value, &v) : conf_parse_size(value, &v)) < 0) {
			buf_addf(err, "%s: '%s' is not a %s", key, value,
				 k->type == CONF_INT ? "whole number" : "size (e.g. 512K, 128M)");
			return -1;
		}
		/* 0 is allowed where the default is "0" (meaning "derive it"). */
		if ((v < k->min || v > k->max) && !(v == 0 && !strcmp(k->def, "0"))) {
			buf_addf(err, "%s: %" PRId64 " is outside %" PRId64 "..%" PRId64,
				 key, v, k->min, k->max);
			return -1;
		}
		break;
	default:
		return -1;
	}
	memcpy(field, &v, sizeof(v));
	return 0;
}

void conf_defaults(struct conf *c)
{
	struct buf err = BUF_INIT;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < conf_nkeys; i++)
		if (conf_set(c, conf_keys[i].name, conf_keys[i].def, &err) < 0)
			abort(); /* a bad default is a programming error; the unit test catches it */
	buf_release(&err);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int conf_parse(struct conf *c, const char *text, size_t len, const char *origin,
	       struct buf *err)
{
	unsigned char seen[sizeof(conf_keys) / sizeof(conf_keys[0])] = { 0 };
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		char line[1024], *eq, *key, *val;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n >= sizeof(line)) {
			buf_addf(err, "%s:%d: line too long", origin, lineno);
			return -1;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			buf_addf(err, "%s:%d: NUL byte", origin, lineno);
			return -1;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			buf_addf(err, "%s:%d: expected 'key = value'", origin, lineno);
			return -1;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		for (size_t i = 0; i < conf_nkeys; i++) {
			if (strcmp(conf_keys[i].name, key))
				continue;
			if (seen[i]) {
				buf_addf(err, "%s:%d: '%s' set twice", origin, lineno, key);
				return -1;
			}
			seen[i] = 1;
		}
		if (conf_set(c, key, val, err) < 0) {
			struct buf tmp = BUF_INIT;
			buf_addf(&tmp, "%s:%d: %s", origin, lineno, buf_cstr(err));
			buf_release(err);
			*err = tmp;
			return -1;
		}
	}
	return 0;
}

void conf_finish(struct conf *c)
{
	if (!c->fcgi_socket[0])
		snprintf(c->fcgi_socket, CONF_STR_MAX, "%.200s/fcgi.sock", c->run_dir);
	if (!c->control_socket[0])
		snprintf(c->control_socket, CONF_STR_MAX, "%.200s/control.sock", c->run_dir);
	if (!c->handlers)
		c->handlers = c->slots;
	if (c->handlers > c->slots)
		c->handlers = c->slots;
	if (!c->max_connections)
		c->max_connections = 16 * c->slots;
	if (!c->max_connections_per_client)
		c->max_connections_per_client = c->max_connections > 1 ? c->max_connections / 2 : 1;
	if (c->max_connections_per_client > c->max_connections)
		c->max_connections_per_client = c->max_connections;
	/* Room for the largest code and then some: eviction never empties it. */
	if (c->code_store_bytes && c->code_store_bytes < 4 * c->max_code_bytes)
		c->code_store_bytes = 4 * c->max_code_bytes;
}

int conf_load(struct conf *c, const char *path)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	FILE *f;
	char chunk[4096];
	size_t n;
	int r = 0;

	conf_defaults(c);
	if (path) {
		f = fopen(path, "re");
		if (!f)
			return log_errno("cannot open config %s", path);
		text.limit = 1024 * 1024;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			if (buf_add(&text, chunk, n) < 0) {
				fclose(f);
				buf_release(&text);
				return log_err("config %s is larger than 1 MiB", path);
			}
		}
		if (ferror(f))
			r = log_errno("cannot read config %s", path);
		fclose(f);
		if (!r && conf_parse(c, text.data ? text.data : "", text.len, path, &err) < 0)
			r = log_err("%s", buf_cstr(&err));
	}
	buf_release(&text);
	buf_release(&err);
	if (!r)
		conf_finish(c);
	return r;
}

static void value_text(const struct conf *c, const struct conf_key *k, struct buf *out)
{
	const char *field = (const char *)c + k->offset;
	int64_t v;

	switch (k->type) {
	case CONF_STRING: case CONF_PATH: case CONF_ENUM: case CONF_ADDRESS:
		buf_addstr(out, field);
		break;
	case CONF_BOOL:
		memcpy(&v, field, sizeof(v));
		buf_addstr(out, v ? "on" : "off");
		break;
	default:
		memcpy(&v, field, sizeof(v));
		buf_addf(out, "%" PRId64, v);
	}
}

int conf_dump(const struct conf *c, struct buf *out)
{
	for (size_t i = 0; i < conf_nkeys; i++) {
		buf_addf(out, "%s=", conf_keys[i].name);
		value_text(c, &conf_keys[i], out);
		if (buf_addch(out, '\n') < 0)
			return -1;
	}
	return 0;
}

int conf_sample(struct buf *out)
{
	buf_addstr(out,
		   "# executor.conf: configuration of the Oyster serverless executor.\n"
		   "# Generated from the key table in common/conf.c (oyster-fcgi --print-sample-config);\n"
		   "# every key is shown with its default, commented out. See executor.conf(5).\n"
		   "# Sizes take K, M, G suffixes (powers of 1024). Unknown keys are errors.\n");
	for (size_t i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		buf_addf(out, "\n# %s", k->doc);
		if (k->type == CONF_INT || k->type == CONF_SIZE)
			buf_addf(out, " [%" PRId64 "..%" PRId64 "]", k->min, k->max);
		if (k->type == CONF_ENUM)
			buf_addf(out, " [%s]", k->choices);
		if (k->type == CONF_BOOL)
			buf_addstr(out, " [on|off]");
		buf_addf(out, "\n#%s = %s\n", k->name, k->def);
	}
	return out->data ? 0 : -1;
}
