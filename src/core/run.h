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
	uint64_t seq;       /* the result event that minted it */
} pw_cap;

/* A call whose verdict was allow and which has no result yet. */
typedef struct pw_open_call {
	char *call_id; /* owned */
	char *action;  /* owned */
	char *agent;   /* owned */
	uint64_t seq;  /* its call event */
} pw_open_call;

/* A call waiting for an owner's decision. */
typedef struct pw_pending {
	char *approval_id; /* owned */
	char *call_id;     /* owned */
	char *action;      /* owned */
	char *owner;       /* owned */
	char *reason;      /* owned */
	int64_t expires_ms;
	uint64_t seq;
} pw_pending;

/* Counters of a run (pitwall status, and later pitwall stats). */
typedef struct pw_run_counts {
	uint64_t calls, allowed, approval, blocked, rejected;
	uint64_t ok, failed, resolved;
	uint64_t tier[5]; /* by pw_tier (decide.h): none, correctable, uncorrected, fatal, policy */
} pw_run_counts;

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
	char *halt_reason; /* owned; the reason code that halted the run */
	uint64_t halt_seq;
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
} pw_fold_in;

PW_MUST_CHECK pw_status pw_run_fold_in(pw_run *r, const pw_fold_in *e, char *err, size_t errlen);

/* Free everything r holds and leave it empty. */
void pw_run_release(pw_run *r);

/* The open call with this id, or NULL. */
const pw_open_call *pw_run_open_call(const pw_run *r, const char *call_id);

/*
 * The capabilities held at now_ms (unexpired), as a JSON object mapping
 * each type to the list of its values in the order minted: the "caps"
 * that pre and decide rules see. New reference, or NULL on NOMEM.
 */
json_t *pw_run_caps_json(const pw_run *r, int64_t now_ms);

/* "type@value" of a capability into out (cut to outlen). */
void pw_cap_format(const char *type, const json_t *value, char *out, size_t outlen);

#endif
