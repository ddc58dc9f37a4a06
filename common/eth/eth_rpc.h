#ifndef COMMON_ETH_ETH_RPC_H
#define COMMON_ETH_ETH_RPC_H
/*
 * eth_rpc: a small Ethereum JSON-RPC 2.0 client over HTTP(S) (libcurl +
 * jansson) for the chain watcher and the sender.
 *
 * Design:
 *  - One struct eth_rpc per endpoint and per process.  It owns one CURL easy
 *    handle that is reused for every call, so the connection stays open
 *    (keep-alive).  A handle must never cross fork(): create it in the
 *    process that uses it, after forking (calls from another pid are refused
 *    with ETH_RPC_E_INTERNAL; eth_rpc_release there frees only our own
 *    memory, because cleaning up the inherited curl handle could write on
 *    the parent's connection).  Not thread-safe; one handle per thread.  The
 *    struct must not be moved or copied after eth_rpc_init (curl keeps
 *    pointers into it).
 *  - The node is not trusted.  The reply is read into a buffer bounded by
 *    max_response (the transfer is aborted as soon as it would pass it), its
 *    nesting depth is checked on the raw bytes before jansson sees it
 *    (ETH_RPC_MAX_DEPTH), jansson rejects duplicate keys, integers beyond 64
 *    bits and reals that overflow, and the envelope must be exactly one
 *    JSON-RPC 2.0 response with our id.  Typed helpers then parse hex
 *    quantities and data strictly (0x prefix, no leading zeros in
 *    quantities, even-length data, exact lengths for addresses and hashes,
 *    nothing beyond uint64) and cross-check what they can (a transaction or
 *    receipt is the one asked for, a raw transaction's hash is its keccak,
 *    logs match the filter).  Anything else is ETH_RPC_E_REPLY: never
 *    truncated, never guessed.
 *  - Only http and https are spoken (libcurl is restricted to them) and
 *    redirects are not followed.  Proxies come from the options only; the
 *    environment's http_proxy is ignored, so a daemon's behaviour does not
 *    depend on how it was started.
 *  - Retries: transport failures (connect, timeout, reset, truncated body)
 *    and HTTP 429/5xx are retried up to `retries` times with exponential
 *    backoff (backoff_ms doubling up to backoff_max_ms, "equal jitter": each
 *    delay is uniformly in [d/2, d]).  A JSON-RPC error object is the node's
 *    deliberate answer and is never retried; neither is a malformed or
 *    oversized reply.  Requests are resent as they are: eth_sendRawTransaction
 *    may then answer "already known" / "nonce too low", which the sender
 *    handles.  A deadline (absolute CLOCK_MONOTONIC ms, eth_rpc_now_ms())
 *    bounds a call including its retries: each attempt's timeout is cut to
 *    what remains and no backoff sleeps past it.
 *  - Logging (common/log.h): each failed attempt at warn with the method and
 *    attempt number; the final outcome once (error for transport and reply
 *    failures, info for JSON-RPC errors, which callers often expect).  The
 *    endpoint is logged as scheme://host:port only, because provider URLs
 *    carry API keys in their path or query.  Request bodies are never logged.
 *
 * Status: 0 on success; the typed helpers that look something up return 1
 * found / 0 not found (null result).  Errors are negative ETH_RPC_E_* values
 * (ETH_RPC_E_INTERNAL == -1 for bad arguments, out of memory, wrong process),
 * and the details of the last call are in eth_rpc_last_error().
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

enum eth_rpc_status {
	ETH_RPC_OK = 0,
	ETH_RPC_E_INTERNAL = -1,  /* bad arguments, out of memory, used after fork */
	ETH_RPC_E_TRANSPORT = -2, /* connect/timeout/HTTP status, after retries or at the deadline */
	ETH_RPC_E_REMOTE = -3,    /* the node answered a JSON-RPC error object */
	ETH_RPC_E_REPLY = -4,     /* malformed, oversized, too deep or of the wrong type */
};

#define ETH_RPC_MAX_DEPTH 64                    /* nesting of arrays/objects in a reply */
#define ETH_RPC_DEFAULT_MAX_RESPONSE (16u << 20) /* bytes */

struct eth_rpc_opts {
	const char *url;         /* http:// or https:// only */
	const char *proxy;       /* NULL: none (environment ignored) */
	long connect_timeout_ms; /* default 5000 */
	long timeout_ms;         /* one attempt, connect included; default 15000 */
	size_t max_response;     /* reply body bytes; default 16 MiB */
	unsigned retries;        /* extra attempts after the first; default 3 */
	unsigned backoff_ms;     /* first retry delay; default 100 */
	unsigned backoff_max_ms; /* delay cap; default 2000 */
	size_t max_logs;         /* eth_rpc_get_logs refuses more; default 10000 */
};

struct eth_rpc_error {
	int status;          /* what the call returned (ETH_RPC_OK or ETH_RPC_E_*) */
	long http_status;    /* last HTTP status received, 0 if none */
	int curl_code;       /* last CURLcode, 0 if none */
	unsigned attempts;   /* HTTP requests made by this call */
	int deadline;        /* stopped early because the deadline passed */
	long long code;      /* ETH_RPC_E_REMOTE: error.code */
	/*
	 * Human-readable, for logs.  For ETH_RPC_E_REMOTE it is the node's
	 * error.message verbatim (truncated to fit), so callers can match
	 * "nonce too low", "execution reverted"...
	 */
	char message[512];
	char data[4096];     /* ETH_RPC_E_REMOTE: error.data when it is a string */
};

struct eth_rpc {
	void *curl;          /* CURL *, reused */
	void *headers;       /* struct curl_slist * */
	char *url;
	char endpoint[160];  /* scheme://host:port, safe to log */
	struct eth_rpc_opts opts;
	pid_t pid;           /* the process that created the handle */
	uint64_t deadline_ms; /* for calls without an explicit deadline; 0 = none */
	uint32_t next_id;
	uint64_t rng;        /* backoff jitter */
	int too_large;       /* set by the write callback */
	struct buf resp;
	unsigned long requests; /* HTTP requests made over the handle's life */
	unsigned long connects; /* new connections opened (keep-alive check) */
	struct eth_rpc_error err; /* outcome of the last call */
	char curl_errbuf[256];    /* CURL_ERROR_SIZE */
};

/* Defaults as documented in struct eth_rpc_opts (url NULL). */
void eth_rpc_opts_init(struct eth_rpc_opts *o);
/* 0 or -1 (logged): bad URL or scheme, bad option, libcurl failure. */
int eth_rpc_init(struct eth_rpc *r, const struct eth_rpc_opts *o);
void eth_rpc_release(struct eth_rpc *r);

/* CLOCK_MONOTONIC in ms, the clock of every deadline here. */
uint64_t eth_rpc_now_ms(void);
/* Deadline for the following calls (typed helpers included); 0 clears it. */
void eth_rpc_set_deadline(struct eth_rpc *r, uint64_t deadline_ms);
const struct eth_rpc_error *eth_rpc_last_error(const struct eth_rpc *r);
const char *eth_rpc_strerror(int status);

/*
 * Call method with params (a JSON array, stolen even on failure; NULL for
 * []).  On success *result is a new reference the caller owns (json null
 * when the node answered null).  err may be NULL; the outcome is also kept
 * in eth_rpc_last_error().  eth_rpc_call_until takes an explicit deadline
 * (0 = none) instead of the one set with eth_rpc_set_deadline.
 */
int eth_rpc_call(struct eth_rpc *r, const char *method, json_t *params, json_t **result,
		 struct eth_rpc_error *err);
int eth_rpc_call_until(struct eth_rpc *r, const char *method, json_t *params,
		       uint64_t deadline_ms, json_t **result, struct eth_rpc_error *err);

/*
 * Validate one HTTP reply body for request id: exactly one JSON-RPC 2.0
 * response object.  0 (*result set, new reference), ETH_RPC_E_REMOTE (err
 * has code/message/data) or ETH_RPC_E_REPLY.  No network, no logging: the
 * parser the calls use, exposed for tests and fuzzing.
 */
int eth_rpc_reply_parse(const char *body, size_t len, long long id, json_t **result,
			struct eth_rpc_error *err);

/* ---- typed helpers (block tags: latest pending earliest safe finalized) -- */

int eth_rpc_chain_id(struct eth_rpc *r, uint64_t *chain_id);
int eth_rpc_block_number(struct eth_rpc *r, uint64_t *number);
/* block_tag NULL means "latest". */
int eth_rpc_get_transaction_count(struct eth_rpc *r, const unsigned char addr[20],
				  const char *block_tag, uint64_t *nonce);
int eth_rpc_gas_price(struct eth_rpc *r, uint64_t *wei);
int eth_rpc_max_priority_fee(struct eth_rpc *r, uint64_t *wei);

struct eth_rpc_tx {
	unsigned char hash[32];
	unsigned char from[20];
	unsigned char to[20];
	int has_to;            /* 0 for a contract creation */
	uint64_t nonce;
	struct buf input;      /* calldata */
	uint64_t block_number;
	int has_block;         /* 0 while pending */
};
void eth_rpc_tx_init(struct eth_rpc_tx *tx);
void eth_rpc_tx_release(struct eth_rpc_tx *tx);
/* 1 found, 0 unknown to the node, <0 error.  tx must be initialised. */
int eth_rpc_get_transaction_by_hash(struct eth_rpc *r, const unsigned char hash[32],
				    struct eth_rpc_tx *tx);

/* 0 and the transaction hash, which is checked to be keccak256(raw). */
int eth_rpc_send_raw_transaction(struct eth_rpc *r, const unsigned char *raw, size_t len,
				 unsigned char hash_out[32]);

struct eth_rpc_receipt {
	unsigned char tx_hash[32];
	int status;                  /* 1 success, 0 reverted */
	uint64_t block_number;
	unsigned char block_hash[32];
	uint64_t gas_used;
	uint64_t effective_gas_price; /* 0 when the node does not report it */
	unsigned char contract_address[20];
	int has_contract_address;
};
/* 1 mined, 0 not (yet) known, <0 error. */
int eth_rpc_get_transaction_receipt(struct eth_rpc *r, const unsigned char hash[32],
				    struct eth_rpc_receipt *rc);

/*
 * eth_estimateGas for {from, to, data}; from NULL omits it, to NULL is a
 * contract creation.  A revert is ETH_RPC_E_REMOTE with the node's message
 * ("execution reverted...") and revert data in eth_rpc_last_error().
 */
int eth_rpc_estimate_gas(struct eth_rpc *r, const unsigned char *from20,
			 const unsigned char *to20, const unsigned char *data, size_t len,
			 uint64_t *gas);

struct eth_rpc_block {
	uint64_t number;
	unsigned char hash[32];
	int has_hash;          /* a pending block may have none */
	unsigned char parent_hash[32];
	uint64_t timestamp;
	uint64_t base_fee;
	int has_base_fee;      /* 0 before London */
};
/*
 * eth_getBlockByNumber(tag or number, false): tag NULL uses number, which
 * the reply must match.  1 found, 0 no such block (yet), <0 error.
 */
int eth_rpc_get_block(struct eth_rpc *r, const char *tag, uint64_t number,
		      struct eth_rpc_block *b);
/* 1 and the hash of block number, 0 no such block yet, <0 error. */
int eth_rpc_get_block_hash(struct eth_rpc *r, uint64_t number, unsigned char hash[32]);
/* baseFeePerGas of "latest" or "pending"; ETH_RPC_E_REPLY when absent. */
int eth_rpc_get_block_base_fee(struct eth_rpc *r, const char *tag, uint64_t *wei);

/*
 * eth_getLogs over [from_block, to_block].  addresses: any of them (naddr 0
 * = any address).  topics[i]: any of ntopics[i] values at position i
 * (ntopics[i] 0 = any).  Returned logs are checked against the filter and
 * the range; more than opts.max_logs is ETH_RPC_E_REPLY (narrow the range).
 */
struct eth_rpc_log_filter {
	uint64_t from_block, to_block;
	const unsigned char (*addresses)[20];
	size_t naddr;
	const unsigned char (*topics[4])[32];
	size_t ntopics[4];
};

struct eth_rpc_log {
	unsigned char address[20];
	unsigned char topics[4][32];
	unsigned ntopics;
	struct buf data;
	uint64_t block_number;
	unsigned char block_hash[32];
	unsigned char tx_hash[32];
	uint64_t tx_index;
	uint64_t log_index;
	int removed;
};
/* 0 and a calloc'ed array (NULL when empty) to free with eth_rpc_logs_free. */
int eth_rpc_get_logs(struct eth_rpc *r, const struct eth_rpc_log_filter *f,
		     struct eth_rpc_log **logs, size_t *nlogs);
void eth_rpc_logs_free(struct eth_rpc_log *logs, size_t n);

#endif
