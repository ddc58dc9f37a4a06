#include "db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "banned.h"

#define DB_BUSY_TIMEOUT_MS 10000

/* Migrations: index i brings user_version from i to i+1. */
static const char *const migrations[] = {
	"CREATE TABLE code ("
	" id BLOB PRIMARY KEY CHECK (length(id) = 32),"
	" body BLOB NOT NULL,"
	" size INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" last_used INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 2: executor identity settings and the tx-hash -> code cache */
	"CREATE TABLE executor_config ("
	" key TEXT PRIMARY KEY,"
	" value BLOB NOT NULL,"
	" updated INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE tx_code ("
	" tx_hash BLOB PRIMARY KEY CHECK (length(tx_hash) = 32),"
	" code_id BLOB NOT NULL REFERENCES code(id),"
	" created INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 3: the chain side: jobs queue, transactions, cursor, block hashes */
	"CREATE TABLE jobs ("
	" job_id TEXT PRIMARY KEY,"          /* uint256 in decimal */
	" env INTEGER NOT NULL,"
	" job_owner BLOB NOT NULL,"
	" codehash BLOB NOT NULL,"
	" code_inputs BLOB NOT NULL,"
	" deadline_ms INTEGER NOT NULL,"
	" selected BLOB NOT NULL,"           /* 20-byte addresses, concatenated */
	" ours INTEGER NOT NULL,"            /* our enclave is among them */
	" block_number INTEGER NOT NULL,"
	" block_hash BLOB NOT NULL,"
	" tx_hash BLOB NOT NULL,"
	" log_index INTEGER NOT NULL,"
	" block_time INTEGER NOT NULL,"      /* execStartTime on chain, unix s */
	" seen_at INTEGER NOT NULL,"         /* unix ms, when the watcher stored it */
	" state TEXT NOT NULL,"
	" lease_owner TEXT, lease_until INTEGER, claims INTEGER NOT NULL DEFAULT 0,"
	" started_at INTEGER, finished_at INTEGER,"
	" output BLOB, error_code INTEGER, total_time INTEGER, worker_status INTEGER,"
	" sign_timestamp INTEGER, signature BLOB,"
	" submit_tx INTEGER,"
	" responses INTEGER NOT NULL DEFAULT 0,"
	" we_responded INTEGER NOT NULL DEFAULT 0,"
	" slash_state TEXT,"
	" note TEXT,"
	" updated INTEGER NOT NULL"
	");"
	"CREATE INDEX jobs_state ON jobs(state);"
	"CREATE INDEX jobs_block ON jobs(block_number);"
	"CREATE TABLE txs ("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL,"               /* submit | slash | cancel */
	" job_id TEXT,"
	" nonce INTEGER NOT NULL,"
	" hash BLOB NOT NULL,"
	" raw BLOB NOT NULL,"
	" max_fee INTEGER NOT NULL, priority_fee INTEGER NOT NULL, gas INTEGER NOT NULL,"
	" state TEXT NOT NULL,"              /* pending | mined | replaced | dropped */
	" sent_at INTEGER,"
	" mined_block INTEGER, status INTEGER, gas_used INTEGER, gas_price INTEGER,"
	" created INTEGER NOT NULL"
	");"
	"CREATE INDEX txs_state ON txs(state);"
	"CREATE INDEX txs_job ON txs(job_id);"
	"CREATE TABLE chain_cursor ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" next_block INTEGER NOT NULL"
	");"
	"CREATE TABLE block_hashes ("
	" number INTEGER PRIMARY KEY,"
	" hash BLOB NOT NULL"
	");"
	/* Events kept so a reorg can undo them exactly (delete rows past the ancestor). */
	"CREATE TABLE job_responses ("
	" job_id TEXT NOT NULL,"
	" executor BLOB NOT NULL,"
	" output_count INTEGER NOT NULL,"
	" error_code INTEGER NOT NULL,"
	" block_number INTEGER NOT NULL,"
	" log_index INTEGER NOT NULL,"
	" PRIMARY KEY (block_number, log_index)"
	");"
	"CREATE INDEX job_responses_job ON job_responses(job_id);"
	"CREATE TABLE executor_events ("
	" block_number INTEGER NOT NULL,"
	" log_index INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"                /* registered | deregistered | drained | revived */
	" owner BLOB,"
	" job_capacity INTEGER,"
	" PRIMARY KEY (block_number, log_index)"
	");",
	/* 4: a bounded code store: a running total (kept by triggers, so every
	 * writer keeps it right) and the order to evict in */
	"CREATE TABLE code_store ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" bytes INTEGER NOT NULL"
	");"
	"INSERT INTO code_store(id, bytes) SELECT 1, coalesce(sum(size), 0) FROM code;"
	"CREATE INDEX code_lru ON code(last_used);"
	"CREATE INDEX tx_code_code ON tx_code(code_id);"
	"CREATE TRIGGER code_store_add AFTER INSERT ON code"
	" BEGIN UPDATE code_store SET bytes = bytes + NEW.size WHERE id = 1; END;"
	"CREATE TRIGGER code_store_sub AFTER DELETE ON code"
	" BEGIN UPDATE code_store SET bytes = bytes - OLD.size WHERE id = 1; END;",
};
#define DB_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("sqlite: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* The first column of the first row of sql, dflt when there is none; -1 on error. */
static int64_t one_int(struct db *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		v = sqlite3_column_int64(st, 0);
		break;
	case SQLITE_DONE:
		v = dflt;
		break;
	default:
		log_err("sqlite: %s: %s", sql, sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	return v;
}

static int migrate(struct db *db)
{
	int64_t ver;
	int v;
	char sql[64];

	if (exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if ((ver = one_int(db, "PRAGMA user_version", -1)) < 0 || ver > INT32_MAX)
		goto fail;
	v = (int)ver;
	if (v > DB_VERSION) {
		log_err("database schema version %d is newer than this build (%d)", v, DB_VERSION);
		goto fail;
	}
	for (; v < DB_VERSION; v++) {
		if (exec(db, migrations[v]) < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DB_VERSION);
	if (exec(db, sql) < 0 || exec(db, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	exec(db, "ROLLBACK");
	return -1;
}

/*
 * Switching a new file to WAL needs an exclusive lock and does not wait on
 * busy_timeout: when several processes open a fresh database at once (the
 * handlers and the watcher starting together), retry it, bounded.
 */
static int set_wal(struct db *db)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };

	for (int i = 0; i < DB_BUSY_TIMEOUT_MS / 5; i++) {
		char *msg = NULL;
		int rc = sqlite3_exec(db->h, "PRAGMA journal_mode=WAL", NULL, NULL, &msg);

		sqlite3_free(msg);
		if (rc == SQLITE_OK)
			return 0;
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			return log_err("sqlite: PRAGMA journal_mode=WAL: %s", sqlite3_errmsg(db->h));
		nanosleep(&pause, NULL);
	}
	return log_err("sqlite: PRAGMA journal_mode=WAL: database stayed locked");
}

int db_open(struct db *db, const char *path)
{
	db->h = NULL;
	db->code_store_max = 0;
	if (sqlite3_open_v2(path, &db->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_err("cannot open database %s: %s", path,
			db->h ? sqlite3_errmsg(db->h) : "out of memory");
		db_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	if (set_wal(db) < 0 ||
	    exec(db, "PRAGMA synchronous=FULL") < 0 ||
	    exec(db, "PRAGMA foreign_keys=ON") < 0 || migrate(db) < 0) {
		log_err("cannot initialise database %s", path);
		db_close(db);
		return -1;
	}
	return 0;
}

void db_close(struct db *db)
{
	if (db->h)
		sqlite3_close_v2(db->h);
	db->h = NULL;
}

static int code_insert(struct db *db, const unsigned char id[32], const void *body, size_t len)
{
	sqlite3_stmt *st;
	int rc, r = -1;
	sqlite3_int64 now = (sqlite3_int64)time(NULL);

	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO code(id, body, size, created, last_used)"
			       " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(id) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 2, body, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = sqlite3_changes(db->h) > 0 ? 1 : 0;
	else
		log_err("sqlite insert code: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return r;
}

int64_t db_code_store_bytes(struct db *db)
{
	return one_int(db, "SELECT bytes FROM code_store WHERE id = 1", 0);
}

/*
 * Inside the caller's write transaction: evict the least recently used
 * code (never keep_id, the code just stored) until the store is within
 * db->code_store_max.  Its tx_code links go with it: code from a
 * transaction is fetched again when next asked for.
 */
static int code_trim(struct db *db, const unsigned char keep_id[32])
{
	sqlite3_stmt *pick = NULL, *unlink_tx = NULL, *del = NULL;
	int64_t bytes;
	int r = -1;

	if (db->code_store_max <= 0)
		return 0;
	if (sqlite3_prepare_v2(db->h, "SELECT id, size FROM code WHERE id != ?1 ORDER BY last_used LIMIT 1", -1,
			       &pick, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->h, "DELETE FROM tx_code WHERE code_id = ?1", -1, &unlink_tx, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->h, "DELETE FROM code WHERE id = ?1", -1, &del, NULL) != SQLITE_OK) {
		log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
		goto out;
	}
	sqlite3_bind_blob(pick, 1, keep_id, 32, SQLITE_STATIC);
	while ((bytes = db_code_store_bytes(db)) > db->code_store_max) {
		unsigned char id[32];
		int64_t size;

		int rc = sqlite3_step(pick);

		if (rc == SQLITE_DONE)
			break; /* only keep_id left: it fits alone (conf_finish sees to it) */
		if (rc != SQLITE_ROW || sqlite3_column_bytes(pick, 0) != 32) {
			log_err("sqlite pick code to evict: %s", sqlite3_errmsg(db->h));
			goto out;
		}
		memcpy(id, sqlite3_column_blob(pick, 0), 32);
		size = sqlite3_column_int64(pick, 1);
		sqlite3_reset(pick);
		sqlite3_bind_blob(unlink_tx, 1, id, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(del, 1, id, 32, SQLITE_TRANSIENT);
		if (sqlite3_step(unlink_tx) != SQLITE_DONE || sqlite3_step(del) != SQLITE_DONE) {
			log_err("sqlite evict code: %s", sqlite3_errmsg(db->h));
			goto out;
		}
		sqlite3_reset(unlink_tx);
		sqlite3_reset(del);
		log_msg(LOG_INFO, "code store above %lld bytes: evicted the least recently used code "
			"(%lld bytes)", (long long)db->code_store_max, (long long)size);
	}
	r = bytes < 0 ? -1 : 0;
out:
	sqlite3_finalize(pick);
	sqlite3_finalize(unlink_tx);
	sqlite3_finalize(del);
	return r;
}

static int end_tx(struct db *db, int ok)
{
	if (sqlite3_exec(db->h, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK) {
		log_err("sqlite %s: %s", ok ? "commit" : "rollback", sqlite3_errmsg(db->h));
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void db_set_code_store_max(struct db *db, int64_t bytes)
{
	db->code_store_max = bytes;
}

int db_code_put(struct db *db, const unsigned char id[32], const void *body, size_t len)
{
	int r;

	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return log_err("sqlite begin: %s", sqlite3_errmsg(db->h));
	r = code_insert(db, id, body, len);
	if (r == 1 && code_trim(db, id) < 0)
		r = -1;
	if (r == 0)
		db_code_touch(db, id, -1); /* uploaded again: in use (only the eviction order if it fails) */
	if (end_tx(db, r >= 0) < 0)
		r = -1;
	return r;
}

/*
 * Note a use of code id for the eviction order: written at most once per
 * DB_CODE_TOUCH_S per code, so a hot code costs no write per request.  It
 * runs on the execution path, so it never waits for the write lock: when
 * another process holds it, this use goes unnoted (a later one notes it).
 */
int db_code_touch(struct db *db, const unsigned char id[32], int64_t last_used)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	int rc, r = 0;

	if (last_used >= 0 && now - last_used < DB_CODE_TOUCH_S)
		return 0;
	if (sqlite3_prepare_v2(db->h, "UPDATE code SET last_used = ?2 WHERE id = ?1 AND last_used < ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	sqlite3_busy_timeout(db->h, 0);
	rc = sqlite3_step(st);
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		log_msg(LOG_DEBUG, "code store: a use went unnoted (the database was busy)");
	else if (rc != SQLITE_DONE)
		r = log_err("sqlite touch code: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return r;
}

int db_code_get(struct db *db, const unsigned char id[32], struct buf *out)
{
	sqlite3_stmt *st;
	int rc, r = -1;
	int64_t last_used = -1;

	if (sqlite3_prepare_v2(db->h, "SELECT body, last_used FROM code WHERE id = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		r = (n >= 0 && buf_add(out, p ? p : "", (size_t)n) == 0) ? 1 : -1;
		last_used = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		log_err("sqlite select code: %s", sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	if (r == 1)
		db_code_touch(db, id, last_used); /* a failure only costs eviction order */
	return r;
}

int db_config_set_once(struct db *db, const char *key, const void *value, size_t len)
{
	sqlite3_stmt *st;
	int r = -1;

	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO executor_config(key, value, updated) VALUES (?1, ?2, ?3)"
			       " ON CONFLICT(key) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 2, value, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) == SQLITE_DONE)
		r = sqlite3_changes(db->h) > 0 ? 1 : 0;
	else
		log_err("sqlite insert config %s: %s", key, sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return r;
}

int db_config_set(struct db *db, const char *key, const void *value, size_t len)
{
	sqlite3_stmt *st;
	int r = -1;

	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO executor_config(key, value, updated) VALUES (?1, ?2, ?3)"
			       " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
			       -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 2, value, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) == SQLITE_DONE)
		r = 0;
	else
		log_err("sqlite set config %s: %s", key, sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return r;
}

int db_config_get(struct db *db, const char *key, struct buf *out)
{
	sqlite3_stmt *st;
	int rc, r = -1;

	if (sqlite3_prepare_v2(db->h, "SELECT value FROM executor_config WHERE key = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		r = (n >= 0 && buf_add(out, p ? p : "", (size_t)n) == 0) ? 1 : -1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		log_err("sqlite get config %s: %s", key, sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	return r;
}

int db_tx_code_put(struct db *db, const unsigned char tx_hash[32], const unsigned char code_id[32],
		   const void *body, size_t len)
{
	sqlite3_stmt *st;
	int r = -1;

	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return log_err("sqlite begin: %s", sqlite3_errmsg(db->h));
	if (code_insert(db, code_id, body, len) < 0)
		goto out;
	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO tx_code(tx_hash, code_id, created) VALUES (?1, ?2, ?3)"
			       " ON CONFLICT(tx_hash) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK) {
		log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
		goto out;
	}
	sqlite3_bind_blob(st, 1, tx_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, code_id, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) == SQLITE_DONE)
		r = 0;
	else
		log_err("sqlite insert tx_code: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	if (r == 0)
		r = code_trim(db, code_id);
out:
	if (end_tx(db, r == 0) < 0)
		r = -1;
	return r;
}

int db_tx_code_get(struct db *db, const unsigned char tx_hash[32], unsigned char code_id[32],
		   struct buf *body)
{
	sqlite3_stmt *st;
	int rc, r = -1;
	int64_t last_used = -1;

	if (sqlite3_prepare_v2(db->h,
			       "SELECT c.id, c.body, c.last_used FROM tx_code t JOIN code c ON c.id = t.code_id"
			       " WHERE t.tx_hash = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_blob(st, 1, tx_hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		const void *p = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		memcpy(code_id, sqlite3_column_blob(st, 0), 32);
		r = (n >= 0 && buf_add(body, p ? p : "", (size_t)n) == 0) ? 1 : -1;
		last_used = sqlite3_column_int64(st, 2);
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		log_err("sqlite get tx_code: %s", sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	if (r == 1)
		db_code_touch(db, code_id, last_used);
	return r;
}
