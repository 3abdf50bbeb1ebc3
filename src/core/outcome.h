/*
 * outcome.h: what an allowed call's execution means for the run. Pure.
 *
 * From the facts of one execution (how the program ended, its exit status,
 * the result object it printed, already redacted) and the spec, compute the
 * outcome, the tier of a failure, the capabilities to mint and the state
 * the run moves to. The broker records all of it in the result event; the
 * verifier computes it again from the recorded facts and compares.
 *
 *   ok                    exit 0, a JSON object on stdout, every post holds
 *   SPAWN_FAILED          never started (tier uncorrected)
 *   CODE_HASH_MISMATCH    the program changed under pitwall (tier fatal)
 *   TIMEOUT               killed at the timeout (errors.timeout, else uncorrected)
 *   KILLED_BY_SIGNAL      died of a signal (errors.signal, else uncorrected)
 *   EXIT_STATUS           non-zero exit: tier from errors.exit, else uncorrected
 *   RESULT_INVALID        exit 0 but stdout was not one JSON object (uncorrected)
 *   POSTCONDITION_FAILED  check "post[i]" (uncorrected)
 *   EMIT_FAILED           an emission's value is not a string or number, or
 *                         its expression failed (uncorrected)
 *   TRANSITION_FAILED     a to[].when expression failed (uncorrected)
 *
 * A failed call mints nothing and leaves the state where it was. A
 * correctable failure is escalated to uncorrected when it brings the
 * correctable failures of the action, or of the run, within the spec's
 * window to its threshold; otherwise it is retried while attempts remain,
 * after errors.retry.backoff doubled at each attempt (at most 1 hour).
 */
#ifndef PW_CORE_OUTCOME_H
#define PW_CORE_OUTCOME_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/decide.h"

typedef enum pw_how {
	PW_HOW_EXITED,
	PW_HOW_SIGNALED,
	PW_HOW_TIMEOUT,
	PW_HOW_SPAWN_FAILED,
	PW_HOW_CODE_MISMATCH,
} pw_how;

const char *pw_how_name(pw_how h); /* "exited", "signaled", "timeout", ... */
PW_MUST_CHECK pw_status pw_how_parse(const char *name, pw_how *out);

typedef struct pw_exec_facts {
	pw_how how;
	int exit_status;      /* PW_HOW_EXITED: 0-255 */
	int signal;           /* PW_HOW_SIGNALED, PW_HOW_TIMEOUT */
	const json_t *result; /* borrowed; the (redacted) JSON object from stdout, or NULL */
	int64_t now_ms;       /* when the result was taken: capability ttls count from here */
	unsigned attempt;     /* which attempt of the call this was: 1, or 2, 3, ... for retries */
} pw_exec_facts;

typedef struct pw_outcome {
	bool ok;
	const char *reason; /* "OK" or a code above (static) */
	pw_tier tier;       /* PW_TIER_NONE when ok */
	char check[64];     /* "post[0]", "emits[1]", "to[0]", "errors.exit.75", or "" */
	char message[512];
	json_t *caps; /* owned; array of {"cap","value"[,"expires_ms"]} minted (empty when failed)
	               */
	char *state;  /* owned; the state after the call */
	/* a correctable failure that made the count of them within a window reach the
	   threshold (spec.h, pw_escalate) is uncorrected instead: escalated */
	bool escalated;
	const char *esc_scope; /* "action" or "run" */
	unsigned esc_count, esc_threshold;
	int64_t esc_window_ms;
	/* a correctable failure (not escalated) with retries left: retry after retry_in_ms */
	bool retry;
	int64_t retry_in_ms;
} pw_outcome;

/*
 * Compute the outcome of action a (of spec), called with input in run
 * state run (its state before the result). PW_OK with *out filled
 * (release with pw_outcome_release()); PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_outcome_compute(const pw_spec *spec, const pw_action *a,
                                           const pw_run *run, const json_t *input,
                                           const pw_exec_facts *facts, pw_outcome *out);
void pw_outcome_release(pw_outcome *o);

#endif
