/*
 * decide.h: the verdict on one action call. Pure.
 *
 *     pw_decide(spec, run state, call, now) -> verdict, reason code, check,
 *                                              expected, actual, owner
 *
 * The checks run in the order of DESIGN.md's pipeline and the first that
 * fails decides:
 *
 *   1 parse        INPUT_MALFORMED       the call's input did not parse (or the
 *                                        action name is not a bounded UTF-8 string)
 *   2 spec pin     SPEC_UNREADABLE       the spec file cannot be read now (denied;
 *                                        the run does not halt)
 *                  SPEC_HASH_MISMATCH    the spec loaded now is not the run's, or
 *                                        does not parse (tier policy_violation:
 *                                        the run halts)
 *   3 run health   AGENT_LOCKED_OUT, RUN_HALTED, CALL_IN_PROGRESS, CALL_IN_DOUBT,
 *                  RETRY_INVALID (a retry that does not follow a correctable
 *                  failure of the same call, or one past errors.retry.max)
 *   4 closed set   UNKNOWN_ACTION        (tier policy_violation: the run halts)
 *   5 input        INPUT_INVALID         check "input", actual/expected from the
 *                                        schema error, pointer in the message
 *   6 transition   ILLEGAL_TRANSITION    expected: the action's from states
 *   7 capabilities CAP_MISSING, CAP_EXPIRED, CAP_MISMATCH   check "requires[i]"
 *      then pre    PRECONDITION_FAILED   check "pre[i]"
 *   8 code pin     CODE_HASH_MISMATCH    (tier fatal: the run halts)
 *   9 rules        the first decide rule that matches, or the default:
 *                  allow (RULE_ALLOW / DEFAULT_ALLOW), approval or block with
 *                  the spec's reason as the reason code and the owner. An
 *                  approval rule whose owner has approved this very call
 *                  (same call_sha256, unexpired, unused) allows it instead:
 *                  APPROVED; one still waiting is repeated, not asked again
 *
 * A rule or requirement whose expression cannot be evaluated (a bound was
 * hit) denies: RULE_ERROR, with the check that failed.
 *
 * What the shell around the core observed (the workflow_id of the spec as
 * loaded for this call, the program's hash, whether another process is
 * executing a call of the run) comes in with the call, and the broker
 * records it in the call event, so that the verifier can decide again from
 * the log alone and get the same verdict.
 */
#ifndef PW_CORE_DECIDE_H
#define PW_CORE_DECIDE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/run.h"
#include "core/spec.h"

typedef enum pw_verdict {
	PW_VERDICT_ALLOW,
	PW_VERDICT_APPROVAL,
	PW_VERDICT_BLOCK,
	PW_VERDICT_REJECT,
} pw_verdict;

typedef enum pw_tier {
	PW_TIER_NONE,
	PW_TIER_CORRECTABLE,
	PW_TIER_UNCORRECTED,
	PW_TIER_FATAL,
	PW_TIER_POLICY, /* policy_violation */
} pw_tier;

const char *pw_verdict_name(pw_verdict v);
const char *pw_tier_name(pw_tier t); /* NULL for PW_TIER_NONE */
/* PW_OK and *out when name is a verdict / tier name ("policy_violation"); tier NULL is NONE. */
PW_MUST_CHECK pw_status pw_verdict_parse(const char *name, pw_verdict *out);
PW_MUST_CHECK pw_status pw_tier_parse(const char *name, pw_tier *out);

#define PW_ACTION_NAME_MAX 128

typedef struct pw_call {
	const char *action;      /* borrowed; NULL when it was not a bounded UTF-8 string */
	const json_t *input;     /* borrowed; NULL when the input did not parse */
	const char *input_error; /* borrowed; why not, when input is NULL */
	const char *agent;       /* borrowed */
	int64_t now_ms;
	/* observed by the shell; recorded in the call event */
	const char *spec_id;    /* workflow_id of the spec loaded now; NULL: it failed to load */
	const char *spec_error; /* borrowed; why, when spec_id is NULL */
	bool spec_unreadable;   /* the spec could not be read at all (I/O, a missing file) */
	const char *program_sha256; /* hex of the action's program now; NULL: unreadable */
	bool busy;                  /* another live process holds the run's call lock */
	bool locked_out; /* another run of the ledger has locked the agent out (observed) */
	/* a retry of a correctable failure: attempt 2, 3, ... of call retry_of; 0 or 1: none */
	unsigned attempt;
	const char *retry_of; /* borrowed */
} pw_call;

typedef struct pw_decision {
	pw_verdict verdict;
	const char *reason; /* a reason code (static), or the spec's rule reason (borrowed) */
	pw_tier tier;
	char check[128];    /* which check: "input", "from", "requires[1]", "decide[0]", ... */
	json_t *expected;   /* owned reference or NULL */
	json_t *actual;     /* owned reference or NULL */
	const char *owner;  /* borrowed from the spec; approval and block */
	int64_t expires_ms; /* approval: when it lapses */
	char message[512];  /* one line for people: what failed and why */
	/* approval, and an allow by an owner's approval: the hash the approval is bound to */
	char call_sha256[PW_HASH_STR_LEN + 1];
	/* borrowed from the run: the approval request this call repeats (approval) or uses
	   (allow); NULL for a new request, whose id is "a" + the call event's seq */
	const char *approval_id;
} pw_decision;

/*
 * The hash an approval is bound to: "sha256:" + SHA-256 of the canonical
 * form of {"action": action, "input": input}.
 */
PW_MUST_CHECK pw_status pw_call_sha256(const char *action, const json_t *input,
                                       char out[PW_HASH_STR_LEN + 1]);

/*
 * Decide call against spec and run. spec may be NULL only when
 * call->spec_id is NULL or differs from the run's workflow_id (the pin
 * check decides before the spec is used). PW_OK with *out filled (release
 * with pw_decision_release()) whatever the verdict; PW_ERR_NOMEM or
 * PW_ERR_INTERNAL when no decision could be made, which the caller treats
 * as a denial.
 */
PW_MUST_CHECK pw_status pw_decide(const pw_spec *spec, const pw_run *run, const pw_call *call,
                                  pw_decision *out);
void pw_decision_release(pw_decision *d);

#endif
