/*
 * ledger.h: the event store. SQLite, append-only, one hash chain per run.
 *
 * The database is opened in WAL mode with synchronous=FULL and foreign
 * keys on; triggers refuse every UPDATE and DELETE on events and runs, so
 * even a client holding the file with the sqlite3 shell cannot rewrite
 * history without dropping the triggers first (which the verifier's hash
 * chain then catches). Each append is one short BEGIN IMMEDIATE
 * transaction: the caller begins, reads the run's events to fold its
 * state and decide, appends, and commits. Because BEGIN IMMEDIATE takes
 * the write lock before the read, two processes acting on one run never
 * fork the chain: the second decides against a state that includes the
 * first's event.
 *
 * Tables (see docs/LOG-FORMAT.md for the events themselves):
 *   runs(id INTEGER PRIMARY KEY, run_id TEXT UNIQUE, spec_path TEXT,
 *        run_dir TEXT, created_ms INTEGER)
 *   events(run_id TEXT, seq INTEGER, kind TEXT, hash TEXT, prev TEXT,
 *          body TEXT, PRIMARY KEY (run_id, seq))
 * body is the event's RFC 8785 canonical JSON, hash included.
 *
 * A run lock (pw_ledger_lock_run) is an open-file-description lock on one
 * byte of "<db>-calls.lock", at the run's id: held by the process that is
 * executing a call of the run from before its call event until after its
 * result event. The kernel drops it when that process dies, which is how a
 * call that is open in the log is known to be in progress (lock held) or
 * in doubt (lock free).
 */
#ifndef PW_LEDGER_LEDGER_H
#define PW_LEDGER_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

typedef struct pw_ledger pw_ledger;

typedef struct pw_run_info {
	int64_t id; /* the runs table's integer id */
	char run_id[65];
	char *spec_path; /* owned; absolute path of the workflow spec */
	char *run_dir;   /* owned; absolute path of the run's working directory */
	int64_t created_ms;
} pw_run_info;

/*
 * Open (and with create, create with its parent directory missing
 * refused) the database at path. The file is created mode 0600. Sets
 * WAL, synchronous=FULL, a busy timeout of 10 s, and creates the schema
 * when absent. err gets one line naming the file. *out is freed with
 * pw_ledger_close().
 */
PW_MUST_CHECK pw_status pw_ledger_open(const char *path, bool create, pw_ledger **out, char *err,
                                       size_t errlen);
void pw_ledger_close(pw_ledger *L);

/*
 * One line saying why the last call on L that failed did ("<path>: run r1:
 * seq 7: cannot append: database or disk is full"); "" before any
 * failure. Borrowed: valid until the next call on L.
 */
const char *pw_ledger_errmsg(const pw_ledger *L);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. A failed commit leaves nothing appended. */
PW_MUST_CHECK pw_status pw_ledger_begin(pw_ledger *L);
PW_MUST_CHECK pw_status pw_ledger_commit(pw_ledger *L);
void pw_ledger_rollback(pw_ledger *L);

/*
 * Inside a transaction: create run run_id with its genesis event (ev:
 * kind "genesis" and its members; seq 0, prev, hash are set here).
 * PW_ERR_INVALID if run_id is not a valid id; PW_ERR_DUPKEY if it exists.
 * On success *stored (if not NULL) is a new reference to the sealed event.
 */
PW_MUST_CHECK pw_status pw_ledger_create_run(pw_ledger *L, const char *run_id,
                                             const char *spec_path, const char *run_dir,
                                             json_t *genesis, int64_t time_ms, json_t **stored);

/* The run's row. PW_ERR_NOTFOUND if there is no such run. Release with pw_run_info_release(). */
PW_MUST_CHECK pw_status pw_ledger_run(pw_ledger *L, const char *run_id, pw_run_info *out);
void pw_run_info_release(pw_run_info *ri);

/*
 * Call fn for each run, oldest first (fn returning non-zero stops). For
 * pitwall's listing commands.
 */
PW_MUST_CHECK pw_status pw_ledger_runs(pw_ledger *L, int (*fn)(void *arg, const pw_run_info *ri),
                                       void *arg);

/*
 * Call fn for each event of run_id with seq >= from_seq, in order, each
 * parsed and checked against the chain (pw_event_verify, from the stored
 * prev of event from_seq - 1); fn gets a borrowed reference. A stored
 * event that does not check is PW_ERR_INVALID with err naming its seq and
 * what is wrong: the log was tampered with. fn returning non-zero stops
 * the walk, which then returns PW_OK.
 */
PW_MUST_CHECK pw_status pw_ledger_read(pw_ledger *L, const char *run_id, uint64_t from_seq,
                                       int (*fn)(void *arg, const json_t *ev), void *arg, char *err,
                                       size_t errlen);

/* Seq and hash of the run's last event. PW_ERR_NOTFOUND without a run. */
PW_MUST_CHECK pw_status pw_ledger_head(pw_ledger *L, const char *run_id, uint64_t *seq,
                                       char hash[PW_HASH_STR_LEN + 1]);

/*
 * Inside a transaction: append ev (its kind members; the common members
 * are set here, time_ms from time_ms unless ev has one) after the run's
 * head. On success *stored (if not NULL) is a new reference to the sealed
 * event and its seq is head + 1.
 */
PW_MUST_CHECK pw_status pw_ledger_append(pw_ledger *L, const char *run_id, json_t *ev,
                                         int64_t time_ms, json_t **stored);

/*
 * Take the run's lock, waiting up to wait_ms (polling). PW_OK: held until
 * pw_ledger_unlock_run(); PW_ERR_LIMIT: another live process holds it.
 */
PW_MUST_CHECK pw_status pw_ledger_lock_run(pw_ledger *L, int64_t run_id_num, uint64_t wait_ms);
void pw_ledger_unlock_run(pw_ledger *L, int64_t run_id_num);

/*
 * Call fn for each lockout of agent (a "lockout" event in any run of the
 * ledger that no "unlock" event of the same run has undone), with its run,
 * its seq and its reason; fn returning non-zero stops. Read through a
 * small index, so that every call can ask.
 */
PW_MUST_CHECK pw_status pw_ledger_lockouts(pw_ledger *L, const char *agent,
                                           int (*fn)(void *arg, const char *run_id, uint64_t seq,
                                                     const char *reason),
                                           void *arg);

#endif
