/*
 * GET /api/jobs and GET /api/jobs/{id}: the chain job history, read from
 * the queue the chain watcher writes (SQLite, read-only here).
 *
 *   /api/jobs?state=confirmed&limit=50&offset=0   newest first
 *   /api/jobs/{decimal job id}                    one job with its transactions
 */
#include <stdlib.h>
#include <string.h>

#include "eth_hex.h"
#include "fa_api.h"
#include "log.h"
#include "banned.h"

#define JOBS_LIMIT_DEFAULT 50
#define JOBS_LIMIT_MAX 500

static const char *const states[] = {
	"observed", "seen", "claimed", "executed", "submitted", "confirmed",
	"failed", "expired", "dropped", "skipped",
};

static json_t *hex_or_null(sqlite3_stmt *st, int col)
{
	struct buf b = BUF_INIT;
	json_t *v;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	eth_hex_encode(&b, sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col), 1);
	v = json_string(buf_cstr(&b));
	buf_release(&b);
	return v;
}

static json_t *int_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
							   : json_integer(sqlite3_column_int64(st, col));
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
		       ? json_null()
		       : json_string((const char *)sqlite3_column_text(st, col));
}

#define JOB_COLUMNS                                                                        \
	"job_id, env, job_owner, codehash, code_inputs, deadline_ms, selected, ours,"       \
	" block_number, block_hash, tx_hash, log_index, block_time, seen_at, state, claims," \
	" started_at, finished_at, output, error_code, total_time, worker_status,"          \
	" sign_timestamp, signature, responses, we_responded, slash_state, note, updated,"  \
	" (SELECT hash FROM txs WHERE txs.id = jobs.submit_tx)"

static json_t *job_json(sqlite3_stmt *st)
{
	json_t *o = json_object(), *sel = json_array();
	const unsigned char *p = sqlite3_column_blob(st, 6);
	int n = sqlite3_column_bytes(st, 6);
	const char *out = sqlite3_column_blob(st, 18);
	int outn = sqlite3_column_bytes(st, 18);

	for (int i = 0; p && i + 20 <= n; i += 20) {
		char a[ETH_HEX_STR_SIZE(20)];
		json_array_append_new(sel, json_string(eth_hex_str(a, sizeof(a), p + i, 20)));
	}
	json_object_set_new(o, "job_id", text_or_null(st, 0));
	json_object_set_new(o, "env", int_or_null(st, 1));
	json_object_set_new(o, "job_owner", hex_or_null(st, 2));
	json_object_set_new(o, "codehash", hex_or_null(st, 3));
	json_object_set_new(o, "code_inputs", hex_or_null(st, 4));
	json_object_set_new(o, "deadline_ms", int_or_null(st, 5));
	json_object_set_new(o, "selected_executors", sel);
	json_object_set_new(o, "ours", json_boolean(sqlite3_column_int(st, 7)));
	json_object_set_new(o, "block_number", int_or_null(st, 8));
	json_object_set_new(o, "block_hash", hex_or_null(st, 9));
	json_object_set_new(o, "created_tx", hex_or_null(st, 10));
	json_object_set_new(o, "log_index", int_or_null(st, 11));
	json_object_set_new(o, "block_time", int_or_null(st, 12));
	json_object_set_new(o, "seen_at_ms", int_or_null(st, 13));
	json_object_set_new(o, "state", text_or_null(st, 14));
	json_object_set_new(o, "claims", int_or_null(st, 15));
	json_object_set_new(o, "started_at_ms", int_or_null(st, 16));
	json_object_set_new(o, "finished_at_ms", int_or_null(st, 17));
	json_object_set_new(o, "output", hex_or_null(st, 18));
	/* The output as text too when it is valid UTF-8 (jansson checks). */
	if (out && outn >= 0) {
		json_t *t = json_stringn(out, (size_t)outn);
		json_object_set_new(o, "output_text", t ? t : json_null());
	}
	json_object_set_new(o, "error_code", int_or_null(st, 19));
	json_object_set_new(o, "total_time_ms", int_or_null(st, 20));
	json_object_set_new(o, "worker_status", int_or_null(st, 21));
	json_object_set_new(o, "sign_timestamp", int_or_null(st, 22));
	json_object_set_new(o, "signature", hex_or_null(st, 23));
	json_object_set_new(o, "responses", int_or_null(st, 24));
	json_object_set_new(o, "we_responded", json_boolean(sqlite3_column_int(st, 25)));
	json_object_set_new(o, "slash_state", text_or_null(st, 26));
	json_object_set_new(o, "note", text_or_null(st, 27));
	json_object_set_new(o, "updated_ms", int_or_null(st, 28));
	json_object_set_new(o, "submit_tx", hex_or_null(st, 29));
	return o;
}

/* Value of key in an a=b&c=d query string (no decoding needed for our keys). */
static int query_get(const char *q, const char *key, char *out, size_t outsz)
{
	size_t kl = strlen(key);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		if (n > kl && !strncmp(q, key, kl) && q[kl] == '=') {
			if (n - kl - 1 >= outsz)
				return -1;
			memcpy(out, q + kl + 1, n - kl - 1);
			out[n - kl - 1] = '\0';
			return 1;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

static int parse_count(const char *s, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

void fa_api_jobs_list(struct fa_ctx *c)
{
	char state[32] = "", num[24];
	long limit = JOBS_LIMIT_DEFAULT, offset = 0;
	sqlite3_stmt *st;
	json_t *arr;
	int n = 0, rc;

	if (query_get(c->query, "state", state, sizeof(state)) < 0) {
		fa_reply_error(c, 400, "BAD_REQUEST", "state is too long");
		return;
	}
	if (state[0]) {
		size_t i;
		for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
			if (!strcmp(state, states[i]))
				break;
		if (i == sizeof(states) / sizeof(states[0])) {
			fa_reply_error(c, 400, "BAD_REQUEST",
				       "unknown state '%s' (observed, seen, claimed, executed, submitted, "
				       "confirmed, failed, expired, dropped, skipped)", state);
			return;
		}
	}
	if ((query_get(c->query, "limit", num, sizeof(num)) == 1 &&
	     parse_count(num, JOBS_LIMIT_MAX, &limit) < 0) ||
	    (query_get(c->query, "offset", num, sizeof(num)) == 1 &&
	     parse_count(num, 1L << 40, &offset) < 0)) {
		fa_reply_error(c, 400, "BAD_REQUEST", "limit must be 0..%d and offset >= 0", JOBS_LIMIT_MAX);
		return;
	}
	if (sqlite3_prepare_v2(c->db->h,
			       "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 = '' OR state = ?1)"
			       " ORDER BY block_number DESC, log_index DESC LIMIT ?2 OFFSET ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		log_err("sqlite prepare jobs: %s", sqlite3_errmsg(c->db->h));
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not read the jobs");
		return;
	}
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit + 1); /* one more tells whether there is a next page */
	sqlite3_bind_int64(st, 3, offset);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == limit)
			break;
		json_array_append_new(arr, job_json(st));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(arr);
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not read the jobs");
		return;
	}
	fa_reply_json(c, 200, json_pack("{s:o,s:o}", "jobs", arr, "next_offset",
					n > limit ? json_integer(offset + limit) : json_null()));
}

void fa_api_jobs_get(struct fa_ctx *c, const char *id)
{
	sqlite3_stmt *st;
	json_t *job = NULL, *txs;
	int rc;

	if (!*id || strlen(id) > 78 || strspn(id, "0123456789") != strlen(id)) {
		fa_reply_error(c, 400, "BAD_REQUEST", "job id must be a decimal number");
		return;
	}
	if (sqlite3_prepare_v2(c->db->h, "SELECT " JOB_COLUMNS " FROM jobs WHERE job_id = ?1", -1, &st,
			       NULL) != SQLITE_OK) {
		fa_reply_error(c, 500, "INTERNAL_ERROR", "could not read the job");
		return;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		job = job_json(st);
	sqlite3_finalize(st);
	if (!job) {
		if (rc == SQLITE_DONE)
			fa_reply_error(c, 404, "JOB_NOT_FOUND", "no job %s in this node's queue", id);
		else
			fa_reply_error(c, 500, "INTERNAL_ERROR", "could not read the job");
		return;
	}
	txs = json_array();
	if (sqlite3_prepare_v2(c->db->h,
			       "SELECT kind, nonce, hash, state, sent_at, mined_block, status, gas_used"
			       " FROM txs WHERE job_id = ?1 ORDER BY id",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(
				txs, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "kind", text_or_null(st, 0),
					       "nonce", int_or_null(st, 1), "hash", hex_or_null(st, 2),
					       "state", text_or_null(st, 3), "sent_at_ms", int_or_null(st, 4),
					       "mined_block", int_or_null(st, 5), "status", int_or_null(st, 6),
					       "gas_used", int_or_null(st, 7)));
		sqlite3_finalize(st);
	}
	json_object_set_new(job, "transactions", txs);
	fa_reply_json(c, 200, job);
}
