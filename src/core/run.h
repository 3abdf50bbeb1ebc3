/*
 * run.h: the state of a run, folded from its events.
 *
 * A run's state is never stored: it is what its events say, replayed in
 * order. pw_run_fold() applies one event to a run state; the broker folds
 * the events it reads from the ledger (incrementally, from where it left
 * off) and the verifier folds an exported log. Every event that changes
 * the run's state records the state it leads to, so folding needs no spec;
 * the verifier recomputes what each event should say with decide.h and
 * outcome.h and compares.
 *
 * Pure: no I/O, no clock.
 */
#ifndef PW_CORE_RUN_H
#define PW_CORE_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

/* A capability held by the run: type@value, minted by event seq. */
typedef struct pw_cap {
	char *type;         /* owned */
	json_t *value;      /* owned reference: a string or a number */
	int64_t expires_ms; /* 0: lasts as long as the run */
	uint64_t seq;       /* the result event that last minted it */
} pw_cap;

/* A call whose verdict was allow and which has no result yet. */
typedef struct pw_open_call {
	char *call_id;    /* owned */
	char *action;     /* owned */
	char *agent;      /* owned */
	char *root;       /* owned; the call_id of the first attempt (this one unless a retry) */
	unsigned attempt; /* 1 for a first attempt, then 2, 3, ... for retries */
	uint64_t seq;     /* its call event */
} pw_open_call;

/*
 * An approval request: made by a call with verdict approval, waiting for
 * its owner until expires_ms; approved, it lets one later call with the
 * same call_sha256 run (which consumes it), until the same expires_ms.
 * Denied or consumed, it is gone.
 */
typedef struct pw_pending {
	char *approval_id; /* owned */
	char *call_id;     /* owned; the call that asked */
	char *action;      /* owned */
	char *agent;       /* owned; who asked */
	char *owner;       /* owned */
	char *reason;      /* owned */
	char call_sha256[PW_HASH_STR_LEN + 1];
	int64_t expires_ms;
	uint64_t seq;
	bool approved;
	char *by;      /* owned; the owner who approved, once approved */
	json_t *input; /* owned reference: the call's input (NULL when folded in place) */
	uint64_t decided_seq;
} pw_pending;

/* The last correctable failures, newest last (at most PW_RUN_CE_KEEP). */
#define PW_RUN_CE_KEEP 1000u
typedef struct pw_ce_ring {
	int64_t *ms; /* owned ring of times */
	size_t n, head;
} pw_ce_ring;

/* Counters of one action in a run (pitwall stats). */
typedef struct pw_action_stats {
	char *action; /* owned */
	uint64_t calls, allowed, approval, blocked, rejected, ok, failed, retries, escalations;
	uint64_t tier[5];
	pw_ce_ring ce; /* its correctable failures */
} pw_action_stats;

/* Counters of a run (pitwall status and pitwall stats). */
typedef struct pw_run_counts {
	uint64_t calls, allowed, approval, blocked, rejected;
	uint64_t ok, failed, resolved;
	uint64_t tier[5]; /* by pw_tier (decide.h): none, correctable, uncorrected, fatal, policy */
	uint64_t retries, escalations, halts, resumes, lockouts, unlocks, approved, denied;
} pw_run_counts;

/* An agent this run locked out (a lockout event not yet undone by an unlock). */
typedef struct pw_lockout {
	char *agent;  /* owned */
	char *reason; /* owned */
	uint64_t seq; /* the lockout event */
} pw_lockout;

/* The last result, when it was a correctable failure: the call a retry repeats. */
typedef struct pw_retryable {
	char *root;   /* owned; the first attempt's call_id; NULL when there is none */
	char *action; /* owned */
	unsigned attempt;
} pw_retryable;

typedef struct pw_run {
	char run_id[65];
	char workflow_id[PW_HASH_STR_LEN + 1];
	char *workflow; /* owned; the spec's name, from the genesis */
	char *state;    /* owned; the current state */
	int64_t started_ms;
	int64_t last_ms;                /* time of the last event */
	uint64_t n_events;              /* events folded: the next seq */
	char head[PW_HASH_STR_LEN + 1]; /* hash of the last event folded */

	pw_cap *caps; /* owned array, in the order minted */
	size_t n_caps, cap_caps;
	pw_open_call *open; /* owned array */
	size_t n_open, cap_open;
	pw_pending *pending; /* owned array */
	size_t n_pending, cap_pending;

	pw_run_counts counts;
	bool halted;
	bool frozen;       /* halted by a policy violation: only operator events may follow */
	char *halt_reason; /* owned; the reason code that halted the run */
	uint64_t halt_seq; /* the halt event */

	pw_action_stats *stats; /* owned array, one per action called, in order of first call */
	size_t n_stats, cap_stats;
	pw_ce_ring ce;        /* the run's correctable failures */
	pw_lockout *lockouts; /* owned array */
	size_t n_lockouts, cap_lockouts;
	pw_retryable retry;
} pw_run;

/* An empty run state (before its genesis). */
void pw_run_init(pw_run *r);

/*
 * Apply ev, the run's next event, to r. The event must already have been
 * checked against the hash chain (ledger.h, or the verifier's reader);
 * this checks that it fits the run: the genesis first and only first,
 * members of the right type, a result or resolve that closes an open
 * call, and so on. PW_ERR_INVALID with a one-line reason in err when it
 * does not (r is then unchanged in what matters: the caller stops using
 * it); PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_run_fold(pw_run *r, const json_t *ev, char *err, size_t errlen);

/*
 * The members of an event that folding reads, for a reader that does not
 * build the event as JSON (verify.c reads canonical lines in place):
 * pw_run_fold() takes them from the JSON and calls pw_run_fold_in(). A
 * string is NULL unless the member is a string; an integer is -1 unless the
 * member is one (pw_event_int()).
 */
typedef struct pw_fold_in {
	const char *kind, *hash, *run_id;
	int64_t seq, time_ms;
	const char *workflow_id, *workflow; /* genesis */
	const char *state;                  /* genesis, result, resolve */
	const char *call_id;                /* call, result, resolve */
	const char *verdict, *agent, *action, *reason;
	const char *approval_id, *owner; /* approval */
	int64_t expires_ms;
	const char *tier; /* NULL: absent, null or not a string */
	bool tier_bad;    /* "tier" is there and neither null nor a string */
	const char *outcome;
	const json_t *caps; /* borrowed; the "caps" member as it is, or NULL when absent */
	const char *by;
	/* call events */
	const char *call_sha256; /* approval verdicts, and an allow that uses an approval */
	int64_t attempt;         /* -1: absent (a first attempt) */
	const char *retry_of;
	/* the other kinds (approve, deny, escalate, halt, lockout, resume, unlock) are read from
	   the event itself: NULL for a reader that has none, which then cannot fold them */
	const json_t *ev;
} pw_fold_in;

PW_MUST_CHECK pw_status pw_run_fold_in(pw_run *r, const pw_fold_in *e, char *err, size_t errlen);

/* Free everything r holds and leave it empty. */
void pw_run_release(pw_run *r);

/* The open call with this id, or NULL. */
const pw_open_call *pw_run_open_call(const pw_run *r, const char *call_id);

/* The approval request with this id (pending or approved), or NULL. */
const pw_pending *pw_run_pending(const pw_run *r, const char *approval_id);

/* The counters of action, or NULL when it was never called. */
const pw_action_stats *pw_run_action_stats(const pw_run *r, const char *action);

/*
 * How many correctable failures of action (NULL: of any action) the run
 * recorded at or after since_ms (of the last PW_RUN_CE_KEEP).
 */
size_t pw_run_ce_count(const pw_run *r, const char *action, int64_t since_ms);

/* The lockout of agent recorded in this run and not undone, or NULL. */
const pw_lockout *pw_run_lockout(const pw_run *r, const char *agent);

/* The kinds of event an operator writes, which may follow a freeze. */
bool pw_run_operator_kind(const char *kind);

/*
 * The capabilities held at now_ms (unexpired), as a JSON object mapping
 * each type to the list of its values in the order minted: the "caps"
 * that pre and decide rules see. New reference, or NULL on NOMEM.
 */
json_t *pw_run_caps_json(const pw_run *r, int64_t now_ms);

/* "type@value" of a capability into out (cut to outlen). */
void pw_cap_format(const char *type, const json_t *value, char *out, size_t outlen);

#endif
