/*
 * spec.h: the workflow spec: read, checked, compiled, identified.
 *
 * pw_spec_parse() turns the YAML text of a workflow spec into a model
 * (plain JSON), checks it strictly against docs/SPEC.md, compiles each
 * action's input schema, and computes the workflow_id:
 *
 *     "sha256:" + lowercase hex of SHA-256(RFC 8785 canonical JSON of the model)
 *
 * This is the pure part: it does not read files. Checking that each
 * executor program on disk matches its sha256 pin is done around it (see
 * io/specfile.h), with the positions this module keeps for each action.
 */
#ifndef PW_CORE_SPEC_H
#define PW_CORE_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/err.h"
#include "core/schema.h"
#include "core/yaml.h"

#define PW_WORKFLOW_ID_LEN  (7 + 64) /* "sha256:" + 64 hex digits */
#define PW_SPEC_MAX_STATES  1024
#define PW_SPEC_MAX_ACTIONS 1024

typedef struct pw_action {
	const char *name;                   /* borrowed from the model */
	const json_t *def;                  /* borrowed: the action's mapping in the model */
	pw_schema *input;                   /* owned; compiled input schema */
	const char *program;                /* borrowed: run.program as written */
	const char *sha256;                 /* borrowed: run.sha256 as written */
	unsigned program_line, program_col; /* where run.program stands */
	unsigned sha256_line, sha256_col;   /* where run.sha256 stands */
	bool reachable; /* some from-state is reachable from the initial state */
} pw_action;

typedef struct pw_spec {
	json_t *model;   /* owned reference; never modified after parse */
	pw_marks *marks; /* owned; positions of the model's nodes */
	char workflow_id[PW_WORKFLOW_ID_LEN + 1];
	pw_action *actions; /* owned array of n_actions, in the model's order */
	size_t n_actions;
} pw_spec;

/*
 * Parse and check buf[0..len). Every problem found goes to diag (errors
 * and warnings, with positions). Returns PW_OK with *out set (owned by the
 * caller, freed with pw_spec_free()) when there is no error; warnings may
 * still be in diag. Otherwise *out is NULL and the status is the first
 * failure's class (PW_ERR_INVALID for a spec that reads but does not
 * check).
 */
PW_MUST_CHECK pw_status pw_spec_parse(const char *buf, size_t len, pw_spec **out, pw_diag *diag);

/* The action called name, or NULL. */
const pw_action *pw_spec_action(const pw_spec *spec, const char *name);

/* workflow_id of a model: "sha256:<hex>" into out. */
PW_MUST_CHECK pw_status pw_spec_id(const json_t *model, char out[PW_WORKFLOW_ID_LEN + 1]);

/*
 * A duration of the spec ("120s", "6h", or an integer number of seconds)
 * in milliseconds; dflt when v is NULL; -1 when v is not a duration (the
 * spec checker refuses those at load).
 */
int64_t pw_spec_duration_ms(const json_t *v, int64_t dflt);

/*
 * Error tiers (docs/SPEC.md, *errors*). Correctable failures are counted
 * over a sliding window, for the run (the top-level errors.escalate) and
 * for each action (its own errors.escalate, else the top level's); count
 * of them within window escalate to uncorrected.
 */
#define PW_ESCALATE_COUNT_DEFAULT     5u
#define PW_ESCALATE_WINDOW_DEFAULT_MS (10 * 60 * 1000)
#define PW_ESCALATE_COUNT_MAX         1000u
#define PW_ESCALATE_WINDOW_MAX_MS     ((int64_t)7 * 24 * 3600 * 1000)
#define PW_RETRY_BACKOFF_DEFAULT_MS   1000

typedef struct pw_escalate {
	unsigned count;    /* 1 to PW_ESCALATE_COUNT_MAX */
	int64_t window_ms; /* > 0 */
} pw_escalate;

/* The threshold of action a, or of the run when a is NULL. */
pw_escalate pw_spec_escalate(const pw_spec *spec, const pw_action *a);

/* errors.retry of action a: how many retries of a correctable failure, and the first backoff. */
void pw_action_retry(const pw_action *a, unsigned *max, int64_t *backoff_ms);

void pw_spec_free(pw_spec *spec);

#endif
