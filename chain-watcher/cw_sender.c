/*
 * The transaction sender: the gas key, the chain facts and the nonce, and
 * the tick that runs the four steps in their order.  Design in
 * cw_sender.h; how the parts are split in cw_sender_int.h.
 */
#include "cw_sender_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "log.h"
#include "eth/eth_abi.h"
#include "eth/eth_hex.h"
#include "eth/eth_tx.h"
#include "eth/eth_u256.h"
#include "banned.h"

/* ---- gas key, chain facts, nonce --------------------------------------- */

/* 1 when a key is loaded (possibly just now), 0 while waiting for one. */
static int key_refresh(struct cw_sender *s)
{
	const char *path = s->conf->gas_key_path;
	uint64_t mono = eth_rpc_now_ms();
	struct buf err = BUF_INIT;
	struct eth_key k;
	struct stat st;
	char addr[ETH_ADDR_HEX_SIZE];

	if (s->key_checked_ms && mono - s->key_checked_ms < KEY_CHECK_MS)
		return s->have_key;
	s->key_checked_ms = mono ? mono : 1;
	if (stat(path, &st) < 0) {
		/* A loaded key stays in use if its file goes away. */
		if (!s->have_key && !s->waiting_logged) {
			if (errno == ENOENT)
				log_msg(LOG_INFO, "cw_sender: waiting for a gas key at %s", path);
			else
				log_errno("cw_sender: waiting for a gas key: stat %s", path);
			s->waiting_logged = 1;
		}
		return s->have_key;
	}
	if ((s->have_key || s->key_bad) && st.st_dev == s->key_dev && st.st_ino == s->key_ino &&
	    st.st_size == s->key_size && st.st_mtim.tv_sec == s->key_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->key_mtime.tv_nsec && st.st_ctim.tv_sec == s->key_ctime.tv_sec &&
	    st.st_ctim.tv_nsec == s->key_ctime.tv_nsec)
		return s->have_key;
	s->key_dev = st.st_dev;
	s->key_ino = st.st_ino;
	s->key_size = st.st_size;
	s->key_mtime = st.st_mtim;
	s->key_ctime = st.st_ctim; /* a chmod fixing a refused file changes only this */
	if (eth_key_load_file(path, &k, &err) < 0) {
		/* Maybe half written: retried when the file changes again. */
		log_err("cw_sender: gas key %s: %s", path, buf_cstr(&err));
		buf_release(&err);
		eth_key_wipe(&k);
		s->key_bad = 1;
		return s->have_key;
	}
	buf_release(&err);
	s->key_bad = 0;
	if (s->have_key && !memcmp(s->gas.addr, k.addr, 20)) {
		eth_key_wipe(&k);
		return 1;
	}
	log_msg(LOG_INFO, "cw_sender: gas key %s: address %s%s", path,
		eth_address_hex(k.addr, addr), s->have_key ? " (rotated)" : "");
	eth_key_wipe(&s->gas);
	s->gas = k;
	eth_key_wipe(&k);
	s->have_key = 1;
	s->have_nonce = 0;
	s->fee_boost_percent = 100;
	return 1;
}

static int read_buffer(struct cw_sender *s, uint64_t *out)
{
	unsigned char sel[4], word[32];
	struct eth_u256 v;
	json_t *call, *res = NULL;
	int rc;

	eth_abi_selector(BUFFER_SIG, sel);
	call = json_object();
	{
		char to[ETH_ADDR_HEX_SIZE], data[ETH_HEX_STR_SIZE(4)];

		json_object_set_new(call, "to", json_string(eth_address_hex(s->jobs_addr, to)));
		json_object_set_new(call, "data", json_string(eth_hex_str(data, sizeof(data), sel, 4)));
	}
	rc = eth_rpc_call(s->rpc, "eth_call", json_pack("[o,s]", call, "latest"), &res, NULL);
	if (rc < 0)
		return log_err("cw_sender: cannot read Jobs.EXECUTION_BUFFER_TIME(): %s",
			       eth_rpc_last_error(s->rpc)->message);
	if (!json_is_string(res) ||
	    eth_hex_decode(json_string_value(res), json_string_length(res), word, 32, NULL) < 0 ||
	    eth_u256_from_be(&v, word, 32) < 0 || eth_u256_to_u64(&v, out) < 0 ||
	    *out > MAX_BUFFER_S) {
		json_decref(res);
		return log_err("cw_sender: Jobs.EXECUTION_BUFFER_TIME() returned an unusable value");
	}
	json_decref(res);
	return 0;
}

static int chain_facts(struct cw_sender *s)
{
	if (!s->have_chain_id) {
		if (s->conf->chain_id > 0)
			s->chain_id = (uint64_t)s->conf->chain_id;
		else if (eth_rpc_chain_id(s->rpc, &s->chain_id) < 0)
			return log_err("cw_sender: cannot read the chain id");
		s->have_chain_id = 1;
	}
	if (!s->have_buffer) {
		if (s->conf->execution_buffer_s > 0)
			s->buffer_s = (uint64_t)s->conf->execution_buffer_s;
		else if (read_buffer(s, &s->buffer_s) < 0)
			return -1;
		s->have_buffer = 1;
		log_msg(LOG_INFO, "cw_sender: chain id %" PRIu64 ", execution buffer %" PRIu64 " s",
			s->chain_id, s->buffer_s);
	}
	return 0;
}

/* Sender of a recorded raw transaction; -1 if it does not decode. */
int cws_raw_sender(const void *raw, size_t len, struct eth_tx *tx, unsigned char from[20])
{
	struct buf err = BUF_INIT;
	int rc = eth_tx_decode(raw, len, tx, from, &err);

	if (rc < 0)
		log_err("cw_sender: a recorded transaction does not decode: %s", buf_cstr(&err));
	buf_release(&err);
	return rc;
}

/*
 * Counter = max(node's pending count, our highest pending nonce + 1), so a
 * transaction recorded but never sent keeps its nonce.
 */
int cws_nonce_refresh(struct cw_sender *s)
{
	sqlite3_stmt *st;
	uint64_t n;
	int rc;

	if (eth_rpc_get_transaction_count(s->rpc, s->gas.addr, "pending", &n) < 0)
		return log_err("cw_sender: cannot read the gas account's nonce");
	if (!(st = cws_prep(s, "SELECT nonce, raw FROM txs WHERE state = 'pending'")))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t nonce = (uint64_t)sqlite3_column_int64(st, 0);
		const void *raw = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		unsigned char from[20];
		struct eth_tx tx;

		if (raw && len > 0 && cws_raw_sender(raw, (size_t)len, &tx, from) == 0 &&
		    !memcmp(from, s->gas.addr, 20) && nonce + 1 > n)
			n = nonce + 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return log_err("cw_sender: sqlite select txs: %s", sqlite3_errmsg(s->db->h));
	if (!s->have_nonce || n != s->nonce)
		log_msg(LOG_INFO, "cw_sender: next nonce %" PRIu64, n);
	s->nonce = n;
	s->have_nonce = 1;
	return 0;
}


/* ---- lifecycle ------------------------------------------------------------ */

int cw_sender_init(struct cw_sender *s, const struct conf *c, struct db *db, struct eth_rpc *rpc)
{
	struct buf err = BUF_INIT;

	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->db = db;
	s->rpc = rpc;
	s->fee_boost_percent = 100;
	if (eth_address_parse(c->jobs_contract, strlen(c->jobs_contract), s->jobs_addr, &err) < 0) {
		log_err("cw_sender: jobs_contract '%s': %s", c->jobs_contract, buf_cstr(&err));
		buf_release(&err);
		return -1;
	}
	buf_release(&err);
	return 0;
}

int cw_sender_tick(struct cw_sender *s)
{
	int r = 0;

	if (s->stopped)
		return 0;
	if (!key_refresh(s))
		return 0;
	if (chain_facts(s) < 0)
		return -1;
	if (!s->have_nonce && cws_nonce_refresh(s) < 0)
		return -1;
	if (cws_rebroadcast(s) < 0)
		r = -1;
	if (cws_receipts(s) < 0)
		r = -1;
	if (!s->stopped && cws_submissions(s) < 0)
		r = -1;
	if (!s->stopped && cws_slashes(s) < 0)
		r = -1;
	return r;
}

void cw_sender_release(struct cw_sender *s)
{
	eth_key_wipe(&s->gas);
	s->have_key = 0;
	s->have_nonce = 0;
}
