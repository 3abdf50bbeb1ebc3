/*
 * record.h: the call, result and resolve events, built from what the core
 * decided and computed (docs/LOG-FORMAT.md, section 6). The broker writes
 * them; bench/gen_log writes the same bytes without running anything.
 *
 * Each returns a new event without the members pw_event_seal() adds, or
 * NULL when memory ran out (or, for pw_record_result, the outcome could
 * not be computed). Pure: no I/O.
 */
#ifndef PW_CORE_RECORD_H
#define PW_CORE_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decide.h"
#include "core/outcome.h"
#include "core/run.h"
#include "core/spec.h"

/* What one execution left that the result event records. */
typedef struct pw_exec_record {
	pw_how how;
	int exit_status;           /* when how is exited */
	int signal;                /* > 0: the signal that killed it */
	const json_t *result;      /* the redacted result object, or NULL */
	const json_t *stderr_tail; /* the redacted end of stderr, or NULL */
	uint64_t duration_ms;
	size_t stdout_bytes;
	bool stdout_truncated;
	const char *why;            /* what the executor said, or NULL */
	unsigned attempt;           /* of the call: 1 (or 0), or 2, 3, ... for a retry */
	bool sandboxed;             /* the program was started in a sandbox; then: */
	int landlock_abi;           /* the Landlock ABI used, 0 if none */
	unsigned enforced, missing; /* PW_FEAT_* enforced, and needed but accepted as missing */
} pw_exec_record;

/* The call event of call c, decided as d in a run in state. */
json_t *pw_record_call(const char *state, const pw_call *c, const pw_decision *d,
                       const char *call_id);

/*
 * The result event of call call_id of action a with input, its outcome
 * computed against run at now_ms, which is also the event's time. With
 * out, the outcome is left there too (release it with pw_outcome_release()).
 */
json_t *pw_record_result(const pw_spec *spec, const pw_action *a, const pw_run *run,
                         const json_t *input, const char *call_id, const pw_exec_record *o,
                         int64_t now_ms, pw_outcome *out);

/*
 * The events that must follow, in the same transaction, the call event at
 * seq decided as d for agent (a fatal tier: halt; policy_violation: halt,
 * frozen, and lockout of the agent), or the result event at seq with
 * outcome o (escalated: escalate; fatal: halt). A JSON array, empty when
 * none; NULL on NOMEM. docs/LOG-FORMAT.md, section 6.
 */
json_t *pw_record_after_call(const pw_decision *d, const char *agent, uint64_t seq);
json_t *pw_record_after_result(const pw_outcome *o, const char *call_id, const char *action,
                               uint64_t seq);

/* A log found tampered with when a run was opened for agent: halt (frozen) and lockout. */
json_t *pw_record_tampered(const char *agent, const char *detail);

/* An owner's decision on approval request p (os_user: who ran the command). */
json_t *pw_record_approve(const pw_pending *p, const char *by, const char *os_user,
                          const char *note);
json_t *pw_record_deny(const pw_pending *p, const char *by, const char *os_user,
                       const char *reason);
/* An owner lets a halted (not frozen) run go on. */
json_t *pw_record_resume(const pw_run *run, const char *by, const char *os_user, const char *note);
/* An owner lifts lockout l of this run. */
json_t *pw_record_unlock(const pw_lockout *l, const char *by, const char *os_user,
                         const char *note);

/*
 * The resolve event of open call oc by owner by: ok moves the run to the
 * action's "to" when it is a single state; otherwise the state stays.
 */
json_t *pw_record_resolve(const pw_spec *spec, const pw_run *run, const pw_open_call *oc, bool ok,
                          const char *by, const char *os_user, const char *note);

#endif
