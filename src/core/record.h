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
	const char *why; /* what the executor said, or NULL */
} pw_exec_record;

/* The call event of call c, decided as d in a run in state. */
json_t *pw_record_call(const char *state, const pw_call *c, const pw_decision *d,
                       const char *call_id);

/*
 * The result event of call call_id of action a with input, its outcome
 * computed against run at now_ms, which is also the event's time.
 */
json_t *pw_record_result(const pw_spec *spec, const pw_action *a, const pw_run *run,
                         const json_t *input, const char *call_id, const pw_exec_record *o,
                         int64_t now_ms);

/*
 * The resolve event of open call oc by owner by: ok moves the run to the
 * action's "to" when it is a single state; otherwise the state stays.
 */
json_t *pw_record_resolve(const pw_spec *spec, const pw_run *run, const pw_open_call *oc, bool ok,
                          const char *by, const char *note);

#endif
