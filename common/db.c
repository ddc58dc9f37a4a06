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

static int user_version(struct db *db, int *v)
{
	sqlite3_stmt *st;
	int r = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return log_err("sqlite: %s", sqlite3_errmsg(db->h));
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int migrate(struct db *db)
{
	int v = 0;
	char sql[64];

	if (exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (user_version(db, &v) < 0)
		goto fail;
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

int db_open(struct db *db, const char *path)
{
	db->h = NULL;
	if (sqlite3_open_v2(path, &db->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_err("cannot open database %s: %s", path,
			db->h ? sqlite3_errmsg(db->h) : "out of memory");
		db_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	if (exec(db, "PRAGMA journal_mode=WAL") < 0 ||
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

int db_code_put(struct db *db, const unsigned char id[32], const void *body, size_t len)
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

int db_code_get(struct db *db, const unsigned char id[32], struct buf *out)
{
	sqlite3_stmt *st;
	int rc, r = -1;

	if (sqlite3_prepare_v2(db->h, "SELECT body FROM code WHERE id = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return log_err("sqlite prepare: %s", sqlite3_errmsg(db->h));
	sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		r = (n >= 0 && buf_add(out, p ? p : "", (size_t)n) == 0) ? 1 : -1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		log_err("sqlite select code: %s", sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	return r;
}
