#ifndef COMMON_CONF_H
#define COMMON_CONF_H
/*
 * The executor's configuration: one declarative table (conf.c) holds every
 * key with its type, bounds, default and one-line documentation.  The same
 * table drives parsing, `--print-config`, the sample conf/executor.conf and
 * the executor.conf(5) man page, so the three cannot drift apart (a unit test
 * walks the table and compares the shipped sample with the generated one).
 *
 * File format: "key = value" lines; '#' starts a comment line; blank lines
 * ignored; sizes accept K/M/G suffixes (powers of 1024).  Unknown keys,
 * repeated keys, and out-of-range values are errors: a typo in production
 * config must stop the daemon, not be silently ignored.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CONF_STR_MAX 256

struct conf {
	char instance[CONF_STR_MAX];
	char run_dir[CONF_STR_MAX];
	char db_path[CONF_STR_MAX];
	char fcgi_socket[CONF_STR_MAX];
	char control_socket[CONF_STR_MAX];
	char socket_group[CONF_STR_MAX];
	char workerd_path[CONF_STR_MAX];
	char compatibility_date[CONF_STR_MAX];
	char sandbox_mode[CONF_STR_MAX];
	char isolate_reuse[CONF_STR_MAX];
	char log_level[CONF_STR_MAX];
	char http_listen[CONF_STR_MAX];
	char admin_allow[CONF_STR_MAX];
	char trusted_proxies[CONF_STR_MAX];
	char enclave_key_path[CONF_STR_MAX];
	char gas_key_path[CONF_STR_MAX];
	char rpc_url[CONF_STR_MAX];
	char code_contract[CONF_STR_MAX];
	char subdomain[CONF_STR_MAX];
	char sandbox_user[CONF_STR_MAX];
	char executors_contract[CONF_STR_MAX];
	char jobs_contract[CONF_STR_MAX];
	int64_t slots;
	int64_t handlers;
	int64_t memory_limit;
	int64_t cpu_percent;
	int64_t pids_limit;
	int64_t deadline_ms;
	int64_t queue_timeout_ms;
	int64_t max_request_bytes;
	int64_t max_response_bytes;
	int64_t max_code_bytes;
	int64_t max_code_uploads_per_minute;
	int64_t max_connections;
	int64_t max_connections_per_client;
	int64_t cgroups; /* bool */
	int64_t jail;    /* bool */
	int64_t seccomp; /* bool */
	int64_t scratch_bytes;
	int64_t chain_id;
	int64_t job_capacity;
	int64_t rpc_timeout_ms;
	int64_t poll_interval_ms;
	int64_t job_retention_days;
	int64_t confirmations;
	int64_t start_block;
	int64_t max_log_range;
	int64_t execution_buffer_s;
	int64_t resend_after_ms;
	int64_t gas_margin_percent;
	int64_t fee_bump_percent;
	int64_t job_lease_ms;
	int64_t pool_recycle_requests;
	int64_t pool_recycle_memory;
	int64_t pool_prepare; /* bool */
	int64_t code_cache_bytes;
	int64_t code_store_bytes;
	int64_t health_error_window_s;
	int64_t health_max_error_percent;
	int64_t health_min_requests;
	int64_t health_max_chain_lag;
	int64_t health_max_head_age_s;
};

enum conf_type { CONF_STRING, CONF_PATH, CONF_INT, CONF_SIZE, CONF_BOOL, CONF_ENUM, CONF_ADDRESS };

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;
	int64_t min, max;       /* CONF_INT / CONF_SIZE bounds */
	const char *def;        /* default, as it would be written in the file */
	const char *choices;    /* CONF_ENUM: '|'-separated */
	const char *doc;        /* one line */
};

extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;

/* Fill every key with its default. */
void conf_defaults(struct conf *c);
/* Set one key from its text form; on error writes the reason into err. */
int conf_set(struct conf *c, const char *key, const char *value, struct buf *err);
/* Parse a file's text; errors name the line number. */
int conf_parse(struct conf *c, const char *text, size_t len, const char *origin,
	       struct buf *err);
/* Defaults, then the file (if path is not NULL), then derived values. */
int conf_load(struct conf *c, const char *path);
/* Fill keys whose default depends on others (handlers = slots, paths under run_dir). */
void conf_finish(struct conf *c);
/* key=value lines of the effective configuration (for scripts and --print-config). */
int conf_dump(const struct conf *c, struct buf *out);
/* The documented sample file (conf/executor.conf is this output). */
int conf_sample(struct buf *out);
/* "0x" + 40 hex digits. */
int conf_is_address(const char *s);
/* Parse a size like "128M"; exposed for tests. */
int conf_parse_size(const char *s, int64_t *out);

#endif
