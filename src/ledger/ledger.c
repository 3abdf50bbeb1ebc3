/*
 * ledger.c: the event store on SQLite (see ledger.h).
 *
 * One pw_ledger is one SQLite connection, used from one thread at a time,
 * with its prepared statements cached below. Every statement is reset as
 * soon as it has been walked, so that no read transaction outlives the
 * call that opened it. Every SQL text here is a constant; values are
 * always bound.
 *
 * What the database itself guarantees, as a second line behind this code
 * (a client holding the file can drop the triggers, and then only the hash
 * chain that pw_ledger_read() checks catches the rewrite):
 *   - no UPDATE or DELETE of events or runs (triggers);
 *   - an inserted event extends its run's chain: its seq is the run's
 *     last seq + 1 (0 for the first) and its prev is that event's hash
 *     (the zero hash for the first);
 *   - a run_id is inserted once, so INSERT OR REPLACE cannot swap a run.
 */
#include "ledger/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"

#define SCHEMA_VERSION  1
#define APPLICATION_ID  0x50574c47 /* "PWLG" */
#define BUSY_TIMEOUT_MS 10000
#define EVENT_MAX_DEPTH 128u /* agent input nests up to 64 inside an event */
#define LOCK_SUFFIX     "-calls.lock"
#define ERRMSG_LEN      512

/* The cached statements, by index into pw_ledger.stmt. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_HEAD,
	ST_RUN,
	ST_RUNS,
	ST_INSERT_RUN,
	ST_INSERT_EVENT,
	ST_EVENTS,
	ST_HASH_AT,
	ST_LOCKOUTS,
	ST_COUNT
};

#define RUN_COLUMNS "id, run_id, spec_path, run_dir, created_ms"

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SAVEPOINT] = "SAVEPOINT pw_create_run",
        [ST_RELEASE] = "RELEASE pw_create_run",
        [ST_ROLLBACK_TO] = "ROLLBACK TO pw_create_run",
        [ST_HEAD] = "SELECT seq, hash FROM events WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1",
        [ST_RUN] = "SELECT " RUN_COLUMNS " FROM runs WHERE run_id = ?1",
        [ST_RUNS] = "SELECT " RUN_COLUMNS " FROM runs ORDER BY id",
        [ST_INSERT_RUN] = "INSERT INTO runs (run_id, spec_path, run_dir, created_ms) "
                          "VALUES (?1, ?2, ?3, ?4)",
        [ST_INSERT_EVENT] = "INSERT INTO events (run_id, seq, kind, hash, prev, body) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [ST_EVENTS] = "SELECT seq, kind, hash, prev, body FROM events "
                      "WHERE run_id = ?1 AND seq >= ?2 ORDER BY seq",
        [ST_HASH_AT] = "SELECT hash FROM events WHERE run_id = ?1 AND seq = ?2",
        [ST_LOCKOUTS] = "SELECT run_id, seq, kind, body FROM events "
                        "WHERE kind IN ('lockout', 'unlock') ORDER BY run_id, seq",
};

/* Lockouts are looked up on every call, across runs: a small index holds just them. */
static const char lockout_index_sql[] =
        "CREATE INDEX IF NOT EXISTS events_lockouts ON events (kind) "
        "WHERE kind IN ('lockout', 'unlock')";

/*
 * Version 1 of the schema, created in one transaction with user_version.
 * The column types are checked because SQLite would otherwise store
 * whatever it is given.
 */
static const char schema_sql[] =
        "CREATE TABLE runs (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  run_id TEXT NOT NULL UNIQUE CHECK (typeof(run_id) = 'text'),\n"
        "  spec_path TEXT CHECK (spec_path IS NULL OR typeof(spec_path) = 'text'),\n"
        "  run_dir TEXT CHECK (run_dir IS NULL OR typeof(run_dir) = 'text'),\n"
        "  created_ms INTEGER NOT NULL CHECK (typeof(created_ms) = 'integer')\n"
        ");\n"
        "CREATE TABLE events (\n"
        "  run_id TEXT NOT NULL REFERENCES runs (run_id),\n"
        "  seq INTEGER NOT NULL CHECK (typeof(seq) = 'integer' AND seq >= 0),\n"
        "  kind TEXT NOT NULL CHECK (typeof(kind) = 'text'),\n"
        "  hash TEXT NOT NULL CHECK (typeof(hash) = 'text'),\n"
        "  prev TEXT NOT NULL CHECK (typeof(prev) = 'text'),\n"
        "  body TEXT NOT NULL CHECK (typeof(body) = 'text'),\n"
        "  PRIMARY KEY (run_id, seq)\n"
        ");\n"
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events\n"
        "BEGIN SELECT RAISE(ABORT, 'pitwall: events are append-only'); END;\n"
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events\n"
        "BEGIN SELECT RAISE(ABORT, 'pitwall: events are append-only'); END;\n"
        "CREATE TRIGGER runs_no_update BEFORE UPDATE ON runs\n"
        "BEGIN SELECT RAISE(ABORT, 'pitwall: runs are append-only'); END;\n"
        "CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs\n"
        "BEGIN SELECT RAISE(ABORT, 'pitwall: runs are append-only'); END;\n"
        "CREATE TRIGGER runs_insert_once BEFORE INSERT ON runs\n"
        "WHEN EXISTS (SELECT 1 FROM runs WHERE run_id = NEW.run_id)\n"
        "BEGIN SELECT RAISE(ABORT, 'pitwall: runs are append-only'); END;\n"
        "CREATE TRIGGER events_extend_chain BEFORE INSERT ON events\n"
        "WHEN NEW.seq IS NOT (SELECT coalesce(max(seq) + 1, 0) FROM events\n"
        "                     WHERE run_id = NEW.run_id)\n"
        "  OR NEW.prev IS NOT coalesce((SELECT hash FROM events\n"
        "                               WHERE run_id = NEW.run_id AND seq = NEW.seq - 1),\n"
        "                              'sha256:"
        "0000000000000000000000000000000000000000000000000000000000000000')\n"
        "BEGIN SELECT RAISE(ABORT, 'pitwall: an event must extend its run''s chain'); END;\n";

struct pw_ledger {
	sqlite3 *db;                  /* owned; closed by pw_ledger_close() */
	char *path;                   /* owned; from malloc(); the database file */
	int lock_fd;                  /* owned; "<path>-calls.lock", -1 until the first lock */
	sqlite3_stmt *stmt[ST_COUNT]; /* owned; prepared at open, reset after each use */
	bool stmt_busy[ST_COUNT];     /* stmt[i] is being walked (a callback re-entered) */
	char errmsg[ERRMSG_LEN];      /* the last failure, one line; "" when none */
};

/* Record the last failure as "<path>: <message>" and return st. */
__attribute__((format(printf, 3, 4))) static pw_status fail(pw_ledger *L, pw_status st,
                                                            const char *fmt, ...)
{
	char msg[ERRMSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	if (snprintf(L->errmsg, sizeof L->errmsg, "%s: %s", L->path, msg) >= (int)sizeof L->errmsg)
		pw_utf8_trim(L->errmsg); /* cut: keep it valid UTF-8 */
	return st;
}

/*
 * The status for an SQLite result code. A busy database is PW_ERR_IO, not
 * PW_ERR_LIMIT: it means another connection held the write lock for the
 * whole busy timeout (10 s), which no transaction of pitwall's should do.
 */
static pw_status sqlite_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return PW_OK;
	case SQLITE_NOMEM: return PW_ERR_NOMEM;
	case SQLITE_TOOBIG: return PW_ERR_TOO_LARGE;
	case SQLITE_CONSTRAINT: return PW_ERR_INVALID;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT: return PW_ERR_INVALID;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY: return PW_ERR_PERM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL: return PW_ERR_IO;
	default: return PW_ERR_INTERNAL;
	}
}

/* Record an SQLite failure of the statement or call that returned rc while doing what. */
static pw_status db_fail(pw_ledger *L, int rc, const char *what)
{
	const char *note = rc == SQLITE_BUSY ? " (busy for 10 s)" : "";
	return fail(L, sqlite_status(rc) == PW_OK ? PW_ERR_INTERNAL : sqlite_status(rc), "%s: %s%s",
	            what, L->db != NULL ? sqlite3_errmsg(L->db) : sqlite3_errstr(rc), note);
}

/*
 * Borrow statement id, reset and unbound. When a callback re-enters the
 * ledger while the cached statement is being walked, a fresh one is
 * prepared instead; stmt_put() finalizes it.
 */
static pw_status stmt_get(pw_ledger *L, enum stmt_id id, sqlite3_stmt **out)
{
	*out = NULL;
	if (!L->stmt_busy[id] && L->stmt[id] != NULL) {
		L->stmt_busy[id] = true;
		*out = L->stmt[id];
		return PW_OK;
	}
	int rc = sqlite3_prepare_v2(L->db, stmt_sql[id], -1, out, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*out);
		*out = NULL;
		return db_fail(L, rc, "cannot prepare a statement");
	}
	return PW_OK;
}

/* Return a statement from stmt_get(), reset; NULL is ignored. */
static void stmt_put(pw_ledger *L, enum stmt_id id, sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	if (s == L->stmt[id])
		L->stmt_busy[id] = false;
	else
		sqlite3_finalize(s);
}

/* Run a statement that returns no rows (BEGIN, COMMIT, SAVEPOINT, ...). */
static pw_status exec_stmt(pw_ledger *L, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, id, &s));
	int rc = sqlite3_step(s);
	pw_status st = rc == SQLITE_DONE ? PW_OK : db_fail(L, rc, what);
	stmt_put(L, id, s);
	return st;
}

/* Bind a C string as TEXT, or NULL. SQLITE_TRANSIENT: s may not outlive the step. */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* ---- opening ---------------------------------------------------------- */

/* Run one PRAGMA (constant text) and, if want is not NULL, check its one-row text result. */
static pw_status pragma(pw_ledger *L, const char *sql, const char *want)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(L->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return db_fail(L, rc, sql);
	}
	pw_status st = PW_OK;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		st = db_fail(L, rc, sql);
	} else if (want != NULL) {
		const char *got = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
		if (got == NULL || strcmp(got, want) != 0)
			st = fail(L, PW_ERR_IO, "%s: got \"%s\", want \"%s\"", sql,
			          got != NULL ? got : "(nothing)", want);
	}
	sqlite3_finalize(s);
	return st;
}

/* The integer result of a one-row query (constant text). */
static pw_status query_int(pw_ledger *L, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(L->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return db_fail(L, rc, sql);
	}
	pw_status st = PW_OK;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else
		st = db_fail(L, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, sql);
	sqlite3_finalize(s);
	return st;
}

/*
 * Connection settings. The busy timeout comes first: switching a new
 * database to WAL and creating the schema may wait for another process
 * doing the same.
 */
static pw_status configure(pw_ledger *L)
{
	int rc = sqlite3_extended_result_codes(L->db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(L->db, BUSY_TIMEOUT_MS);
	/* Refuse the features that let SQL text corrupt the file, and "x" as a string. */
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(L->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(L->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(L->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(L->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	if (rc != SQLITE_OK)
		return db_fail(L, rc, "cannot configure the connection");
	if (sqlite3_db_readonly(L->db, "main") != 0)
		return fail(L, PW_ERR_PERM, "the database can only be opened read-only");

	PW_TRY(pragma(L, "PRAGMA trusted_schema = OFF", NULL));
	PW_TRY(pragma(L, "PRAGMA cell_size_check = ON", NULL));
	PW_TRY(pragma(L, "PRAGMA foreign_keys = ON", NULL));
	return pragma(L, "PRAGMA foreign_keys", "1");
}

/*
 * The journal settings. journal_mode is stored in the file, so this runs
 * only once the file is known to be a ledger or to be empty: another
 * program's database is refused untouched.
 */
static pw_status set_journal(pw_ledger *L)
{
	PW_TRY(pragma(L, "PRAGMA journal_mode = WAL", "wal"));
	PW_TRY(pragma(L, "PRAGMA synchronous = FULL", NULL));
	return pragma(L, "PRAGMA synchronous", "2");
}

/* Check a database's version marks: PW_OK for pitwall's, *fresh when it has none at all. */
static pw_status check_version(pw_ledger *L, bool *fresh)
{
	int64_t ver = 0, app = 0, objects = 0;
	PW_TRY(query_int(L, "PRAGMA user_version", &ver));
	PW_TRY(query_int(L, "PRAGMA application_id", &app));
	PW_TRY(query_int(L, "SELECT count(*) FROM sqlite_schema", &objects));
	*fresh = false;
	if (ver == 0 && app == 0 && objects == 0) {
		*fresh = true;
		return PW_OK;
	}
	if (app != APPLICATION_ID || ver == 0)
		return fail(L, PW_ERR_INVALID,
		            "not a pitwall ledger (application_id %lld, user_version %lld)",
		            (long long)app, (long long)ver);
	if (ver != SCHEMA_VERSION)
		return fail(L, PW_ERR_INVALID,
		            "ledger schema version %lld is not supported (this pitwall reads %d)",
		            (long long)ver, SCHEMA_VERSION);
	return PW_OK;
}

/*
 * Check the schema version, creating the schema first when create and the
 * database is empty. The check is repeated inside BEGIN IMMEDIATE so that
 * two processes creating the same ledger create the schema once.
 */
static pw_status ensure_schema(pw_ledger *L, bool create)
{
	bool fresh = false;
	PW_TRY(check_version(L, &fresh));
	if (fresh && !create)
		return fail(L, PW_ERR_INVALID, "not a pitwall ledger (no schema)");
	PW_TRY(set_journal(L));
	if (!fresh)
		return PW_OK;

	char *msg = NULL;
	int rc = sqlite3_exec(L->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(L, rc, "cannot create the schema");
	pw_status st = check_version(L, &fresh);
	if (st == PW_OK && fresh) {
		/* user_version and application_id take constants only: no binding needed. */
		rc = sqlite3_exec(L->db, schema_sql, NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(L->db, "PRAGMA application_id = 1347898439", NULL, NULL,
			                  &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(L->db, "PRAGMA user_version = 1", NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(L->db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			st = fail(L, sqlite_status(rc), "cannot create the schema: %s",
			          msg != NULL ? msg : sqlite3_errstr(rc));
	}
	sqlite3_free(msg);
	if (!sqlite3_get_autocommit(L->db))
		(void)sqlite3_exec(L->db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

_Static_assert(APPLICATION_ID == 1347898439, "the PRAGMA text in ensure_schema()");
_Static_assert(SCHEMA_VERSION == 1, "the PRAGMA text in ensure_schema()");

/*
 * Create the file mode 0600 if it is absent (O_EXCL: an existing file,
 * or a symlink, is left alone and checked below), then check what is
 * there: a regular file that others cannot write.
 */
static pw_status prepare_file(pw_ledger *L, bool create)
{
	if (create) {
		int fd = open(L->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		else if (errno == ENOENT || errno == ENOTDIR)
			return fail(L, PW_ERR_NOTFOUND,
			            "cannot create the ledger: its directory does not exist");
		else if (errno != EEXIST)
			return fail(L, errno == EACCES ? PW_ERR_PERM : PW_ERR_IO,
			            "cannot create the ledger: %s", strerror(errno));
	}
	struct stat sb;
	if (lstat(L->path, &sb) != 0)
		return fail(L, errno == ENOENT ? PW_ERR_NOTFOUND : PW_ERR_IO,
		            "cannot open the ledger: %s", strerror(errno));
	if (S_ISLNK(sb.st_mode))
		return fail(L, PW_ERR_PERM, "the ledger is a symbolic link");
	if (!S_ISREG(sb.st_mode))
		return fail(L, PW_ERR_INVALID, "the ledger is not a regular file");
	if (sb.st_mode & S_IWOTH)
		return fail(L, PW_ERR_PERM, "the ledger is writable by others (mode %04o)",
		            (unsigned)(sb.st_mode & 07777));
	return PW_OK;
}

static pw_status open_db(pw_ledger *L, bool create)
{
	PW_TRY(prepare_file(L, create));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	int rc = sqlite3_open_v2(L->path, &L->db, flags, NULL);
	if (rc != SQLITE_OK)
		return db_fail(L, rc, "cannot open the ledger");
	PW_TRY(configure(L));
	PW_TRY(ensure_schema(L, create));
	rc = sqlite3_exec(L->db, lockout_index_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(L, rc, "cannot create the lockout index");
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(L->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &L->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return db_fail(L, rc, "cannot prepare a statement");
	}
	return PW_OK;
}

pw_status pw_ledger_open(const char *path, bool create, pw_ledger **out, char *err, size_t errlen)
{
	if (out == NULL)
		return PW_ERR_INTERNAL;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || path[0] == '\0' || strlen(path) > PATH_MAX - sizeof LOCK_SUFFIX) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "ledger path is empty or too long");
		return PW_ERR_INVALID;
	}
	pw_ledger *L = calloc(1, sizeof *L);
	if (L == NULL || (L->path = strdup(path)) == NULL) {
		free(L);
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "%s: out of memory", path);
		return PW_ERR_NOMEM;
	}
	L->lock_fd = -1;
	pw_status st = open_db(L, create);
	if (st != PW_OK) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "%s", L->errmsg);
		pw_ledger_close(L);
		return st;
	}
	*out = L;
	return PW_OK;
}

void pw_ledger_close(pw_ledger *L)
{
	if (L == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(L->stmt[i]);
	if (L->db != NULL) {
		if (!sqlite3_get_autocommit(L->db))
			(void)sqlite3_exec(L->db, "ROLLBACK", NULL, NULL, NULL);
		(void)sqlite3_close_v2(L->db);
	}
	if (L->lock_fd >= 0)
		close(L->lock_fd);
	free(L->path);
	free(L);
}

const char *pw_ledger_errmsg(const pw_ledger *L)
{
	return L != NULL ? L->errmsg : "no ledger";
}

/* ---- transactions ----------------------------------------------------- */

pw_status pw_ledger_begin(pw_ledger *L)
{
	if (L == NULL)
		return PW_ERR_INTERNAL;
	if (!sqlite3_get_autocommit(L->db))
		return fail(L, PW_ERR_INTERNAL, "begin: a transaction is already open");
	return exec_stmt(L, ST_BEGIN, "begin");
}

pw_status pw_ledger_commit(pw_ledger *L)
{
	if (L == NULL)
		return PW_ERR_INTERNAL;
	if (sqlite3_get_autocommit(L->db))
		return fail(L, PW_ERR_INTERNAL, "commit: no transaction is open");
	pw_status st = exec_stmt(L, ST_COMMIT, "commit");
	/* A COMMIT that failed may leave the transaction open: nothing of it may stay. */
	if (st != PW_OK)
		pw_ledger_rollback(L);
	return st;
}

void pw_ledger_rollback(pw_ledger *L)
{
	if (L == NULL || sqlite3_get_autocommit(L->db))
		return;
	char keep[ERRMSG_LEN];
	memcpy(keep, L->errmsg, sizeof keep);
	if (exec_stmt(L, ST_ROLLBACK, "rollback") != PW_OK)
		(void)sqlite3_exec(L->db, "ROLLBACK", NULL, NULL, NULL);
	memcpy(L->errmsg, keep, sizeof keep); /* the failure that led here is the news */
}

/* PW_ERR_INTERNAL unless a transaction is open. */
static pw_status need_txn(pw_ledger *L, const char *what)
{
	if (sqlite3_get_autocommit(L->db))
		return fail(L, PW_ERR_INTERNAL, "%s: not inside a transaction", what);
	return PW_OK;
}

/* ---- runs ------------------------------------------------------------- */

static char *dup_column(sqlite3_stmt *s, int col, bool *nomem)
{
	const char *v = (const char *)sqlite3_column_text(s, col);
	if (v == NULL) {
		if (sqlite3_errcode(sqlite3_db_handle(s)) == SQLITE_NOMEM)
			*nomem = true;
		return NULL;
	}
	char *d = strdup(v);
	if (d == NULL)
		*nomem = true;
	return d;
}

/* Fill *ri from the current row of a RUN_COLUMNS query. */
static pw_status run_from_row(pw_ledger *L, sqlite3_stmt *s, pw_run_info *ri)
{
	memset(ri, 0, sizeof *ri);
	const char *run_id = (const char *)sqlite3_column_text(s, 1);
	if (run_id == NULL || strlen(run_id) >= sizeof ri->run_id)
		return fail(L, PW_ERR_INVALID, "runs row %lld: bad run_id",
		            (long long)sqlite3_column_int64(s, 0));
	ri->id = sqlite3_column_int64(s, 0);
	memcpy(ri->run_id, run_id, strlen(run_id) + 1);
	bool nomem = false;
	ri->spec_path = dup_column(s, 2, &nomem);
	ri->run_dir = dup_column(s, 3, &nomem);
	ri->created_ms = sqlite3_column_int64(s, 4);
	if (nomem) {
		pw_run_info_release(ri);
		return fail(L, PW_ERR_NOMEM, "run '%s': out of memory", run_id);
	}
	return PW_OK;
}

/*
 * Look the run up: PW_OK with *ri filled (when ri is not NULL),
 * PW_ERR_NOTFOUND when there is none.
 */
static pw_status find_run(pw_ledger *L, const char *run_id, pw_run_info *ri)
{
	if (run_id == NULL)
		return fail(L, PW_ERR_INVALID, "no run_id");
	if (!pw_id_valid(run_id))
		return fail(L, PW_ERR_NOTFOUND, "no run with that (invalid) run_id");
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_RUN, &s));
	pw_status st = PW_OK;
	int rc = bind_text(s, 1, run_id);
	if (rc != SQLITE_OK)
		st = db_fail(L, rc, "cannot look up a run");
	else if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		st = fail(L, PW_ERR_NOTFOUND, "no run '%s'", run_id);
	else if (rc != SQLITE_ROW)
		st = db_fail(L, rc, "cannot look up a run");
	else if (ri != NULL)
		st = run_from_row(L, s, ri);
	stmt_put(L, ST_RUN, s);
	return st;
}

pw_status pw_ledger_run(pw_ledger *L, const char *run_id, pw_run_info *out)
{
	if (L == NULL || out == NULL)
		return PW_ERR_INTERNAL;
	memset(out, 0, sizeof *out);
	return find_run(L, run_id, out);
}

void pw_run_info_release(pw_run_info *ri)
{
	if (ri == NULL)
		return;
	free(ri->spec_path);
	free(ri->run_dir);
	ri->spec_path = NULL;
	ri->run_dir = NULL;
}

pw_status pw_ledger_runs(pw_ledger *L, int (*fn)(void *arg, const pw_run_info *ri), void *arg)
{
	if (L == NULL || fn == NULL)
		return PW_ERR_INTERNAL;
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_RUNS, &s));
	pw_status st = PW_OK;
	for (;;) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			st = db_fail(L, rc, "cannot list the runs");
			break;
		}
		pw_run_info ri;
		st = run_from_row(L, s, &ri);
		if (st != PW_OK)
			break;
		int stop = fn(arg, &ri);
		pw_run_info_release(&ri);
		if (stop)
			break;
	}
	stmt_put(L, ST_RUNS, s);
	return st;
}

/* ---- events ----------------------------------------------------------- */

/* The stored event's hash at seq: PW_ERR_NOTFOUND when there is no such row. */
static pw_status hash_at(pw_ledger *L, const char *run_id, uint64_t seq,
                         char out[PW_HASH_STR_LEN + 1])
{
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_HASH_AT, &s));
	pw_status st = PW_OK;
	int rc = bind_text(s, 1, run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		st = PW_ERR_NOTFOUND;
	} else if (rc != SQLITE_ROW) {
		st = db_fail(L, rc, "cannot read an event");
	} else {
		const char *h = (const char *)sqlite3_column_text(s, 0);
		if (h == NULL || strlen(h) != PW_HASH_STR_LEN)
			st = fail(L, PW_ERR_INVALID, "run %s: seq %llu: stored hash is malformed",
			          run_id, (unsigned long long)seq);
		else
			memcpy(out, h, PW_HASH_STR_LEN + 1);
	}
	stmt_put(L, ST_HASH_AT, s);
	return st;
}

pw_status pw_ledger_head(pw_ledger *L, const char *run_id, uint64_t *seq,
                         char hash[PW_HASH_STR_LEN + 1])
{
	if (L == NULL || seq == NULL || hash == NULL)
		return PW_ERR_INTERNAL;
	if (run_id == NULL || !pw_id_valid(run_id))
		return find_run(L, run_id, NULL);
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_HEAD, &s));
	pw_status st = PW_OK;
	int rc = bind_text(s, 1, run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		/* No events: no run, or a run without its genesis (which create_run() never
		 * leaves). */
		st = find_run(L, run_id, NULL);
		if (st == PW_OK)
			st = fail(L, PW_ERR_INVALID, "run %s: seq 0: missing from the log", run_id);
	} else if (rc != SQLITE_ROW) {
		st = db_fail(L, rc, "cannot read the head of a run");
	} else {
		int64_t n = sqlite3_column_int64(s, 0);
		const char *h = (const char *)sqlite3_column_text(s, 1);
		if (n < 0 || h == NULL || strlen(h) != PW_HASH_STR_LEN) {
			st = fail(L, PW_ERR_INVALID, "run %s: seq %lld: stored head is malformed",
			          run_id, (long long)n);
		} else {
			*seq = (uint64_t)n;
			memcpy(hash, h, PW_HASH_STR_LEN + 1);
		}
	}
	stmt_put(L, ST_HEAD, s);
	return st;
}

/* Parse a stored body with the limits every event is held to. */
static pw_status parse_body(const char *body, size_t len, json_t **out, char *err, size_t errlen)
{
	const pw_json_limits lim = {.max_bytes = PW_EVENT_MAX_BYTES, .max_depth = EVENT_MAX_DEPTH};
	return pw_json_parse(body, len, &lim, out, err, errlen);
}

/*
 * Seal a copy of ev as event seq after prev, and check that its canonical
 * bytes read back as an event that pw_ledger_read() will accept: what is
 * stored is always readable. On success *body (from malloc()) holds the
 * bytes and *sealed the event parsed from them.
 */
static pw_status seal_event(pw_ledger *L, const char *run_id, const json_t *ev, uint64_t seq,
                            const char *prev, int64_t time_ms, char **body, size_t *len,
                            json_t **sealed)
{
	char why[256] = "";
	*body = NULL;
	*sealed = NULL;
	json_t *copy = json_deep_copy(ev);
	if (copy == NULL)
		return fail(L, PW_ERR_NOMEM, "run %s: out of memory", run_id);
	pw_status st = pw_event_seal(copy, run_id, seq, prev, time_ms);
	if (st == PW_OK)
		st = pw_event_dump(copy, body, len);
	json_decref(copy);
	if (st != PW_OK)
		return fail(L, st, "run %s: seq %llu: cannot seal the event (%s)", run_id,
		            (unsigned long long)seq, pw_status_name(st));
	st = parse_body(*body, *len, sealed, why, sizeof why);
	if (st == PW_OK)
		st = pw_event_verify(*sealed, run_id, seq, prev, why, sizeof why);
	if (st != PW_OK) {
		free(*body);
		*body = NULL;
		json_decref(*sealed);
		*sealed = NULL;
		return fail(L, st == PW_ERR_NOMEM ? st : PW_ERR_INVALID,
		            "run %s: seq %llu: the event would not read back: %s", run_id,
		            (unsigned long long)seq, why);
	}
	return PW_OK;
}

/* Insert a sealed event row. */
static pw_status insert_event(pw_ledger *L, const char *run_id, uint64_t seq, const json_t *ev,
                              const char *body, size_t len)
{
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_INSERT_EVENT, &s));
	int rc = bind_text(s, 1, run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
	if (rc == SQLITE_OK)
		rc = bind_text(s, 3, pw_event_str(ev, "kind"));
	if (rc == SQLITE_OK)
		rc = bind_text(s, 4, pw_event_str(ev, "hash"));
	if (rc == SQLITE_OK)
		rc = bind_text(s, 5, pw_event_str(ev, "prev"));
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text64(s, 6, body, len, SQLITE_STATIC, SQLITE_UTF8);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	pw_status st = PW_OK;
	if (rc != SQLITE_DONE) {
		char what[128];
		(void)snprintf(what, sizeof what, "run %s: seq %llu: cannot append", run_id,
		               (unsigned long long)seq);
		st = db_fail(L, rc, what);
		/* This code reads the head inside the write lock: a refused chain is a bug. */
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			st = PW_ERR_INTERNAL;
	}
	stmt_put(L, ST_INSERT_EVENT, s);
	return st;
}

/* ev is an object whose "kind" is a string, equal to "genesis" exactly when genesis. */
static pw_status check_kind(pw_ledger *L, const char *run_id, const json_t *ev, bool genesis)
{
	const char *kind = json_is_object(ev) ? pw_event_str(ev, "kind") : NULL;
	if (kind == NULL)
		return fail(L, PW_ERR_INVALID, "run %s: the event has no kind", run_id);
	if ((strcmp(kind, "genesis") == 0) != genesis)
		return fail(L, PW_ERR_INVALID,
		            genesis ? "run %s: the first event's kind must be \"genesis\""
		                    : "run %s: only the first event has kind \"genesis\"",
		            run_id);
	return PW_OK;
}

pw_status pw_ledger_append(pw_ledger *L, const char *run_id, json_t *ev, int64_t time_ms,
                           json_t **stored)
{
	if (stored != NULL)
		*stored = NULL;
	if (L == NULL)
		return PW_ERR_INTERNAL;
	PW_TRY(need_txn(L, "append"));
	uint64_t head = 0;
	char prev[PW_HASH_STR_LEN + 1];
	PW_TRY(pw_ledger_head(L, run_id, &head, prev));
	PW_TRY(check_kind(L, run_id, ev, false));

	char *body = NULL;
	size_t len = 0;
	json_t *sealed = NULL;
	PW_TRY(seal_event(L, run_id, ev, head + 1, prev, time_ms, &body, &len, &sealed));
	pw_status st = insert_event(L, run_id, head + 1, sealed, body, len);
	free(body);
	if (st == PW_OK && stored != NULL)
		*stored = sealed;
	else
		json_decref(sealed);
	return st;
}

static pw_status insert_run(pw_ledger *L, const char *run_id, const char *spec_path,
                            const char *run_dir, int64_t time_ms)
{
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_INSERT_RUN, &s));
	int rc = bind_text(s, 1, run_id);
	if (rc == SQLITE_OK)
		rc = bind_text(s, 2, spec_path);
	if (rc == SQLITE_OK)
		rc = bind_text(s, 3, run_dir);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, time_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	pw_status st = PW_OK;
	if (rc != SQLITE_DONE) {
		st = db_fail(L, rc, "cannot create the run");
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			st = PW_ERR_DUPKEY; /* looked up first: only a race with a raw client */
	}
	stmt_put(L, ST_INSERT_RUN, s);
	return st;
}

pw_status pw_ledger_create_run(pw_ledger *L, const char *run_id, const char *spec_path,
                               const char *run_dir, json_t *genesis, int64_t time_ms,
                               json_t **stored)
{
	if (stored != NULL)
		*stored = NULL;
	if (L == NULL)
		return PW_ERR_INTERNAL;
	if (!pw_id_valid(run_id))
		return fail(L, PW_ERR_INVALID, "cannot create run '%.80s': not a valid run_id",
		            run_id != NULL ? run_id : "");
	PW_TRY(need_txn(L, "create run"));
	PW_TRY(check_kind(L, run_id, genesis, true));
	pw_status st = find_run(L, run_id, NULL);
	if (st == PW_OK)
		return fail(L, PW_ERR_DUPKEY, "cannot create run '%s': it exists", run_id);
	if (st != PW_ERR_NOTFOUND)
		return st;

	char *body = NULL;
	size_t len = 0;
	json_t *sealed = NULL;
	PW_TRY(seal_event(L, run_id, genesis, 0, pw_event_genesis_prev, time_ms, &body, &len,
	                  &sealed));
	/* The run row and its genesis go in together or not at all. */
	st = exec_stmt(L, ST_SAVEPOINT, "create run");
	if (st == PW_OK) {
		st = insert_run(L, run_id, spec_path, run_dir, pw_event_int(sealed, "time_ms"));
		if (st == PW_OK)
			st = insert_event(L, run_id, 0, sealed, body, len);
		if (st != PW_OK && !sqlite3_get_autocommit(L->db)) {
			char keep[ERRMSG_LEN];
			memcpy(keep, L->errmsg, sizeof keep);
			(void)exec_stmt(L, ST_ROLLBACK_TO, "create run");
			memcpy(L->errmsg, keep, sizeof keep);
		}
		if (!sqlite3_get_autocommit(L->db)) {
			pw_status rst = exec_stmt(L, ST_RELEASE, "create run");
			if (st == PW_OK)
				st = rst;
		}
	}
	free(body);
	if (st == PW_OK && stored != NULL)
		*stored = sealed;
	else
		json_decref(sealed);
	return st;
}

/* Check one stored row against the chain; *ev gets the parsed event. */
static pw_status check_row(pw_ledger *L, const char *run_id, sqlite3_stmt *s, uint64_t want,
                           const char *prev, json_t **ev, char *why, size_t whylen)
{
	*ev = NULL;
	sqlite3_int64 seq = sqlite3_column_int64(s, 0);
	if (seq < 0 || (uint64_t)seq != want) {
		(void)snprintf(why, whylen, "seq %llu: missing from the log",
		               (unsigned long long)want);
		return PW_ERR_INVALID;
	}
	const char *kind = (const char *)sqlite3_column_text(s, 1);
	const char *hash = (const char *)sqlite3_column_text(s, 2);
	const char *cprev = (const char *)sqlite3_column_text(s, 3);
	const char *body = (const char *)sqlite3_column_text(s, 4);
	size_t len = (size_t)sqlite3_column_bytes(s, 4);
	if (body == NULL) {
		if (sqlite3_errcode(L->db) == SQLITE_NOMEM)
			return PW_ERR_NOMEM;
		(void)snprintf(why, whylen, "seq %llu: body is missing", (unsigned long long)want);
		return PW_ERR_INVALID;
	}
	char perr[200] = "";
	pw_status st = parse_body(body, len, ev, perr, sizeof perr);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK) {
		(void)snprintf(why, whylen, "seq %llu: body is not valid JSON: %s",
		               (unsigned long long)want, perr);
		return PW_ERR_INVALID;
	}
	st = pw_event_verify(*ev, run_id, want, prev, why, whylen);
	if (st != PW_OK)
		return st;
	const char *col = NULL;
	if (kind == NULL || strcmp(kind, pw_event_str(*ev, "kind")) != 0)
		col = "kind";
	else if (hash == NULL || strcmp(hash, pw_event_str(*ev, "hash")) != 0)
		col = "hash";
	else if (cprev == NULL || strcmp(cprev, pw_event_str(*ev, "prev")) != 0)
		col = "prev";
	if (col != NULL) {
		(void)snprintf(why, whylen,
		               "seq %llu: the stored %s column does not match the event",
		               (unsigned long long)want, col);
		return PW_ERR_INVALID;
	}
	return PW_OK;
}

/* The walk of pw_ledger_read() from seq want after prev, on a borrowed statement. */
static pw_status walk_events(pw_ledger *L, const char *run_id, sqlite3_stmt *s, uint64_t want,
                             char prev[PW_HASH_STR_LEN + 1], int (*fn)(void *arg, const json_t *ev),
                             void *arg)
{
	int rc = bind_text(s, 1, run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, (sqlite3_int64)want);
	if (rc != SQLITE_OK)
		return db_fail(L, rc, "cannot read the events");
	for (;; want++) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			return PW_OK;
		if (rc != SQLITE_ROW)
			return db_fail(L, rc, "cannot read the events");
		json_t *ev = NULL;
		char why[300] = "";
		pw_status st = check_row(L, run_id, s, want, prev, &ev, why, sizeof why);
		if (st != PW_OK) {
			json_decref(ev);
			if (st == PW_ERR_NOMEM)
				return fail(L, st, "run %s: out of memory", run_id);
			return fail(L, st, "run %s: %s", run_id, why);
		}
		memcpy(prev, pw_event_str(ev, "hash"), PW_HASH_STR_LEN + 1);
		int stop = fn(arg, ev);
		json_decref(ev);
		if (stop)
			return PW_OK;
	}
}

/* pw_ledger_read() but for the error line, which is left in L->errmsg. */
static pw_status read_events(pw_ledger *L, const char *run_id, uint64_t from_seq,
                             int (*fn)(void *arg, const json_t *ev), void *arg)
{
	char prev[PW_HASH_STR_LEN + 1];
	uint64_t head = 0;
	PW_TRY(pw_ledger_head(L, run_id, &head, prev));
	if (from_seq > head)
		return PW_OK; /* nothing stored from there on */
	if (from_seq == 0) {
		memcpy(prev, pw_event_genesis_prev, sizeof prev);
	} else {
		pw_status st = hash_at(L, run_id, from_seq - 1, prev);
		if (st == PW_ERR_NOTFOUND)
			return fail(L, PW_ERR_INVALID, "run %s: seq %llu: missing from the log",
			            run_id, (unsigned long long)(from_seq - 1));
		if (st != PW_OK)
			return st;
	}
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_EVENTS, &s));
	pw_status st = walk_events(L, run_id, s, from_seq, prev, fn, arg);
	stmt_put(L, ST_EVENTS, s);
	return st;
}

pw_status pw_ledger_read(pw_ledger *L, const char *run_id, uint64_t from_seq,
                         int (*fn)(void *arg, const json_t *ev), void *arg, char *err,
                         size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (L == NULL || fn == NULL)
		return PW_ERR_INTERNAL;
	pw_status st = read_events(L, run_id, from_seq, fn, arg);
	if (st != PW_OK && err != NULL && errlen > 0) {
		/* The line without its "<path>: ": the caller knows which ledger it reads. */
		size_t n = strlen(L->path);
		const char *m = L->errmsg;
		if (strncmp(m, L->path, n) == 0 && m[n] == ':' && m[n + 1] == ' ')
			m += n + 2;
		(void)snprintf(err, errlen, "%s", m);
	}
	return st;
}

/* ---- run locks -------------------------------------------------------- */

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
	                      .tv_nsec = (long)(ms % 1000) * 1000000};
	(void)nanosleep(&ts, NULL); /* an interrupted sleep only polls sooner */
}

/* Open "<path>-calls.lock" once; it stays open (and its locks held) until close. */
static pw_status lock_file(pw_ledger *L)
{
	if (L->lock_fd >= 0)
		return PW_OK;
	char lpath[PATH_MAX];
	int n = snprintf(lpath, sizeof lpath, "%s%s", L->path, LOCK_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof lpath)
		return fail(L, PW_ERR_INVALID, "the lock file's path is too long");
	int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(L, errno == EACCES || errno == ELOOP ? PW_ERR_PERM : PW_ERR_IO,
		            "cannot open the lock file %s: %s", lpath, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(L, PW_ERR_INVALID, "the lock file %s is not a regular file", lpath);
	}
	L->lock_fd = fd;
	return PW_OK;
}

static struct flock lock_byte(short type, int64_t run_id_num)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl); /* l_pid must be 0 for an OFD lock */
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)run_id_num;
	fl.l_len = 1;
	return fl;
}

pw_status pw_ledger_lock_run(pw_ledger *L, int64_t run_id_num, uint64_t wait_ms)
{
	if (L == NULL)
		return PW_ERR_INTERNAL;
	if (run_id_num < 0)
		return fail(L, PW_ERR_INVALID, "lock: run number %lld is negative",
		            (long long)run_id_num);
	PW_TRY(lock_file(L));
	if (wait_ms > INT64_MAX / 2)
		wait_ms = INT64_MAX / 2;
	const int64_t start = monotonic_ms();
	int64_t delay = 1;
	for (;;) {
		struct flock fl = lock_byte(F_WRLCK, run_id_num);
		if (fcntl(L->lock_fd, F_OFD_SETLK, &fl) == 0)
			return PW_OK;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			return fail(L, PW_ERR_IO, "lock run %lld: %s", (long long)run_id_num,
			            strerror(errno));
		int64_t left = (int64_t)wait_ms - (monotonic_ms() - start);
		if (left <= 0)
			return fail(L, PW_ERR_LIMIT,
			            "lock run %lld: held by another process (waited %llu ms)",
			            (long long)run_id_num, (unsigned long long)wait_ms);
		sleep_ms(delay < left ? delay : left);
		delay = delay * 2 > 20 ? 20 : delay * 2;
	}
}

void pw_ledger_unlock_run(pw_ledger *L, int64_t run_id_num)
{
	if (L == NULL || L->lock_fd < 0 || run_id_num < 0)
		return;
	struct flock fl = lock_byte(F_UNLCK, run_id_num);
	while (fcntl(L->lock_fd, F_OFD_SETLK, &fl) != 0 && errno == EINTR)
		;
}

/* ---- lockouts ----------------------------------------------------------- */

typedef struct lockout_row {
	char run_id[65];
	uint64_t seq;
	char *reason;
	bool active;
} lockout_row;

pw_status pw_ledger_lockouts(pw_ledger *L, const char *agent,
                             int (*fn)(void *arg, const char *run_id, uint64_t seq,
                                       const char *reason),
                             void *arg)
{
	lockout_row *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	PW_TRY(stmt_get(L, ST_LOCKOUTS, &s));
	pw_status st = PW_OK;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *run_id = (const char *)sqlite3_column_text(s, 0);
		const char *kind = (const char *)sqlite3_column_text(s, 2);
		const char *body = (const char *)sqlite3_column_text(s, 3);
		json_t *ev = body ? json_loads(body, 0, NULL) : NULL;
		const char *who = pw_event_str(ev, "agent");
		if (run_id == NULL || kind == NULL || who == NULL || strcmp(who, agent) != 0 ||
		    strlen(run_id) > 64) {
			json_decref(ev);
			continue;
		}
		if (strcmp(kind, "unlock") == 0) {
			int64_t of = pw_event_int(ev, "lockout");
			for (size_t i = 0; i < n; i++)
				if (rows[i].active && (int64_t)rows[i].seq == of &&
				    strcmp(rows[i].run_id, run_id) == 0)
					rows[i].active = false;
			json_decref(ev);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			lockout_row *p = realloc(rows, ncap * sizeof *p);
			if (p == NULL) {
				json_decref(ev);
				st = PW_ERR_NOMEM;
				break;
			}
			rows = p;
			cap = ncap;
		}
		lockout_row *r = &rows[n];
		snprintf(r->run_id, sizeof r->run_id, "%s", run_id);
		r->seq = (uint64_t)sqlite3_column_int64(s, 1);
		r->reason = strdup(pw_event_str(ev, "reason") ? pw_event_str(ev, "reason") : "?");
		r->active = true;
		json_decref(ev);
		if (r->reason == NULL) {
			st = PW_ERR_NOMEM;
			break;
		}
		n++;
	}
	if (st == PW_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = db_fail(L, rc, "cannot read the lockouts");
	stmt_put(L, ST_LOCKOUTS, s);
	for (size_t i = 0; i < n; i++) {
		if (st == PW_OK && rows[i].active && fn != NULL &&
		    fn(arg, rows[i].run_id, rows[i].seq, rows[i].reason) != 0)
			fn = NULL;
		free(rows[i].reason);
	}
	free(rows);
	return st;
}