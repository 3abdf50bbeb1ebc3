/*
 * prep.h: a line of an export made ready for the verifier (verify.h), and
 * the members the verifier reads. Private to src/verify/.
 *
 * pw_verify_prepare() reads a line in place (core/canon.h). When the line
 * is canonical, which every line that pitwall export writes is, it keeps
 * the spans of the members the verifier reads, decodes their strings,
 * recomputes the event's hash from the bytes, and builds the result and
 * the caps as JSON (the input, the only other value the replay needs, is
 * built by pw_verify_line(), in the thread that keeps it). Otherwise it
 * marks the line for the ordinary reading (pw_json_parse()).
 */
#ifndef PW_VERIFY_PREP_H
#define PW_VERIFY_PREP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/canon.h"
#include "core/event.h"
#include "verify/verify.h"

/* The members the verifier and the fold read, in the order of a canonical event. */
enum pw_ev_key {
	K_ACTION,
	K_ACTUAL,
	K_AGENT,
	K_APPROVAL_ID,
	K_ATTEMPT,
	K_BY,
	K_CALL_ID,
	K_CALL_SHA256,
	K_CAPS,
	K_CHECK,
	K_EXIT,
	K_EXPECTED,
	K_EXPIRES_MS,
	K_HASH,
	K_HOW,
	K_INPUT,
	K_INPUT_ERROR,
	K_KIND,
	K_MESSAGE,
	K_OBSERVED,
	K_OUTCOME,
	K_OWNER,
	K_PREV,
	K_REASON,
	K_RESULT,
	K_RETRY_OF,
	K_RUN_ID,
	K_SEQ,
	K_SIGNAL,
	K_STATE,
	K_TIER,
	K_TIME_MS,
	K_V,
	K_VERDICT,
	K_WORKFLOW,
	K_WORKFLOW_ID,
	K_COUNT
};

/* The members of "observed" that the verifier reads, in canonical order. */
enum pw_obs_key {
	O_BUSY,
	O_LOCKED_OUT,
	O_PROGRAM_SHA256,
	O_SPEC_ERROR,
	O_SPEC_UNREADABLE,
	O_WORKFLOW_ID,
	O_COUNT
};

/* Names of the keys above, indexed by them. */
extern const char *const pw_ev_key_names[K_COUNT];
extern const char *const pw_obs_key_names[O_COUNT];

/* A top-level object of more members than this is read the ordinary way. */
#define PW_PREP_MAX_MEMBERS 64

struct pw_verify_prep {
	const char *line; /* borrowed: the line, without its newline */
	size_t len;
	bool canonical;                 /* the line is canonical; everything below is filled */
	char hash[PW_HASH_STR_LEN + 1]; /* recomputed from the bytes; "" when "prev" is no hash */
	const char *val[K_COUNT];       /* the member's canonical text, or NULL when absent */
	size_t val_len[K_COUNT];
	const char *str[K_COUNT]; /* the member's value when it is a string (in text), else NULL */
	const char *obs_val[O_COUNT]; /* the same for the members of "observed", when an object */
	size_t obs_len[O_COUNT];
	const char *obs_str[O_COUNT];
	json_t *result, *caps; /* owned; those members as JSON, NULL when absent */
	json_t *input;         /* owned while pw_verify_line() checks the line, else NULL */
	char *text;            /* owned; from malloc(): the decoded strings, NUL-terminated */
	size_t text_cap;
};

#endif
