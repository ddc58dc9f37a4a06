#ifndef CHAIN_WATCHER_CW_SENDER_INT_H
#define CHAIN_WATCHER_CW_SENDER_INT_H
/*
 * The sender's parts, shared by its files (the design is in cw_sender.h):
 *   cw_sender.c           the gas key, the chain facts, the nonce; the tick
 *   cw_sender_util.c      time, arithmetic, error classes, SQL helpers
 *   cw_sender_send.c      fees, signing, recording, broadcasting; step 1,
 *                         re-broadcasting what was recorded but maybe not sent
 *   cw_sender_receipts.c  step 2: receipts, replacements, cancels
 *   cw_sender_jobs.c      steps 3 and 4: submissions and slashes
 * Every transaction goes through cws_record_tx() (signed bytes into txs,
 * the job moved, one SQLite transaction) before cws_broadcast(), and every
 * outcome of a broadcast is handled in one place per path (after_new_send
 * for new nonces, replace_group for replacements).
 */
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cw_sender.h"
#include "eth/eth_hex.h"
#include "eth/eth_rpc.h"
#include "eth/eth_tx.h"

#define SUBMIT_SIG "submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)"
#define SLASH_SIG "slashOnExecutionTimeout(uint256)"
#define BUFFER_SIG "EXECUTION_BUFFER_TIME()"
#define CANCEL_GAS 21000
#define KEY_CHECK_MS 1000
#define LOG_EVERY_MS 60000
#define MAX_PENDING 4096   /* pending rows examined per tick */
#define MAX_BATCH 256      /* jobs submitted or slashed per tick */
#define MAX_BUFFER_S (366ULL * 86400) /* sanity bound on EXECUTION_BUFFER_TIME */
#define JOB_ID_MAX 80      /* decimal uint256 (78 digits) + NUL, rounded */
#define MSG_SIZE sizeof(((struct eth_rpc_error *)0)->message) /* a node's message */

/* What a node's answer to eth_sendRawTransaction means for us. */
enum send_outcome {
	SEND_OK,          /* accepted */
	SEND_KNOWN,       /* the node already has these bytes */
	SEND_NONCE_LOW,   /* the nonce is used (maybe by these bytes: check) */
	SEND_UNDERPRICED, /* fees too low for the pool or for a replacement */
	SEND_NO_FUNDS,
	SEND_REFUSED,     /* any other deliberate refusal */
	SEND_UNKNOWN,     /* transport or malformed reply: maybe sent, maybe not */
};

struct fees {
	uint64_t prio, max;
};

/* How cws_record_tx moves the job along with the new row. */
enum job_move {
	MOVE_NONE,
	MOVE_SUBMIT,   /* state executed -> submitted, submit_tx = id */
	MOVE_SLASH,    /* slash_state pending -> sent */
	MOVE_RESUBMIT, /* a replacement submission: submit_tx = id while submitted */
};

struct new_tx {
	const char *kind;
	const char *job_id;
	uint64_t nonce;
	uint64_t gas;
	struct fees fees;
	struct buf raw;
	unsigned char hash[32];
	int64_t id;
};

struct ptx {
	int64_t id;
	char kind[16];
	char job_id[JOB_ID_MAX];
	uint64_t nonce;
	unsigned char hash[32];
	struct buf raw;
	struct fees fees;
	uint64_t gas;
	int sent;             /* sent_at is set */
	unsigned char from[20];
};

/* cw_sender_util.c: time, arithmetic, error classes, SQL helpers */
int64_t cws_now_ms(void);
int64_t cws_window_end_ms(const struct cw_sender *s, int64_t block_time, int64_t deadline_ms);
int cws_mul_div(uint64_t a, uint64_t m, uint64_t d, int ceil, uint64_t *out);
uint64_t cws_max_u64(uint64_t a, uint64_t b);
char *cws_hash_hex(const unsigned char h[32], char out[ETH_HEX_STR_SIZE(32)]);
const char *cws_revert_name(const struct eth_rpc_error *e);
int cws_is_revert(int rc, const struct eth_rpc_error *e);
enum send_outcome cws_classify(int rc, const struct eth_rpc_error *e);
sqlite3_stmt *cws_prep(struct cw_sender *s, const char *sql);
int cws_run(struct cw_sender *s, sqlite3_stmt *st);
int cws_begin(struct cw_sender *s);
int cws_commit(struct cw_sender *s);
int cws_rollback(struct cw_sender *s);
void cws_column_text(sqlite3_stmt *st, int col, char *out, size_t n);
int cws_job_window(struct cw_sender *s, const char *job_id, int64_t *end);
int cws_job_settle(struct cw_sender *s, const char *job_id, const char *column,
		      const char *from, const char *to, const char *note);
int cws_set_sent_at(struct cw_sender *s, int64_t id);

/* cw_sender.c: the gas key, chain facts and nonce */
int cws_raw_sender(const void *raw, size_t len, struct eth_tx *tx, unsigned char from[20]);
int cws_nonce_refresh(struct cw_sender *s);

/* cw_sender_send.c: fees, signing, recording, broadcasting; step 1 */
int cws_market_fees(struct cw_sender *s, struct fees *f);
int cws_sign_tx(struct cw_sender *s, uint64_t nonce, const unsigned char to[20],
		   const unsigned char *data, size_t len, uint64_t gas, const struct fees *f,
		   struct buf *raw, unsigned char hash[32]);
int cws_record_tx(struct cw_sender *s, struct new_tx *t, enum job_move move);
int cws_drop_tx(struct cw_sender *s, const struct new_tx *t, int give_back);
void cws_log_sent(const char *what, const char *kind, const char *job_id, uint64_t nonce,
		     const unsigned char hash[32], uint64_t max_fee, uint64_t prio, uint64_t gas);
enum send_outcome cws_broadcast(struct cw_sender *s, const struct buf *raw,
				   const unsigned char hash[32], char *msg, size_t msgsz);
int cws_send_new(struct cw_sender *s, const char *kind, const char *job_id,
		    const unsigned char *data, size_t len, uint64_t estimate);
int cws_collect_ids(struct cw_sender *s, sqlite3_stmt *st, int64_t **out, size_t *nout);
int cws_rebroadcast(struct cw_sender *s);

/* cw_sender_receipts.c: step 2 */
int cws_receipts(struct cw_sender *s);

/* cw_sender_jobs.c: steps 3 and 4 */
int cws_submissions(struct cw_sender *s);
int cws_slashes(struct cw_sender *s);

#endif
