/*
 * broker.h: one action call, one pass through the pipeline.
 *
 * The broker joins the pure core (decide, outcome, fold), the ledger and
 * the executor. For each call it:
 *
 *   1. parses the input (1 MiB, 64 levels, no duplicate keys, valid UTF-8);
 *   2. loads the run's workflow spec from disk again and computes its id;
 *   3. hashes the program the action would run;
 *   4. takes the run's call lock (waiting up to lock_wait_ms for a call in
 *      progress) and opens a BEGIN IMMEDIATE transaction;
 *   5. folds the events it has not seen yet and decides (core/decide.h);
 *   6. appends the call event with the verdict and commits: write-ahead;
 *   7. for allow only: builds argv and environment from the templates,
 *      runs the program (exec/exec.h), redacts secrets from its output,
 *      computes the outcome (core/outcome.h) and appends the result event.
 *
 * If pitwall dies between 6 and 7 the call stays open in the log: the run
 * refuses further calls (CALL_IN_DOUBT) until an operator records what
 * happened with pw_broker_resolve(). If a step cannot complete (the log
 * cannot be written, the spec cannot be read), nothing runs.
 */
#ifndef PW_BROKER_BROKER_H
#define PW_BROKER_BROKER_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/spec.h"
#include "exec/exec.h"

#define PW_AGENT_DEFAULT        "agent"
#define PW_LOCK_WAIT_MS_DEFAULT 5000u
#define PW_CALL_INPUT_MAX       ((size_t)1 << 20)

typedef struct pw_broker pw_broker;

typedef struct pw_broker_opts {
	const char *db_path;      /* the ledger file */
	const char *agent;        /* who is calling; NULL: PW_AGENT_DEFAULT */
	const char *secrets_path; /* a secrets file (exec/template.h), or NULL */
	uint64_t lock_wait_ms;    /* 0: PW_LOCK_WAIT_MS_DEFAULT */
	/* may be NULL; set non-zero by a signal handler: a running program is stopped as at
	   its timeout and its result recorded (see exec.h) */
	const volatile sig_atomic_t *cancel;
	/* the run is opened to make calls: a log that does not verify then freezes the run and
	   locks the agent out (a policy violation), besides refusing it */
	bool for_calls;
	/* may be NULL: called instead of pw_exec_run() (exec/exec.h) to run an allowed call's
	   program, with the same arguments, and must fill *r as it would. It lets a benchmark
	   measure the broker and the ledger without starting processes (bench/append.c); no
	   command of the CLI or of pitwall mcp sets it. */
	pw_status (*exec)(const pw_exec_spec *s, pw_exec_result *r);
} pw_broker_opts;

/*
 * Start a run of the spec at spec_path (loaded with every pin checked):
 * create the ledger if needed, the run's working directory
 * (<db folder>/runs/<run_id>, mode 0700), and the genesis event pinning
 * the spec's workflow_id. run_id NULL: a fresh random one. On success
 * *reply is a new JSON object {run_id, workflow, workflow_id, state,
 * run_dir}. err gets one line on failure (with diag lines joined by
 * "; " for a spec that does not load).
 */
PW_MUST_CHECK pw_status pw_broker_start(const char *db_path, const char *spec_path,
                                        const char *run_id, const char *agent, json_t **reply,
                                        char *err, size_t errlen);

/*
 * Whether this kernel can enforce every action's effects (docs/SPEC.md,
 * *effects*): PW_OK if so; PW_ERR_UNSUPPORTED with the first action that needs a
 * sandbox feature the kernel lacks and does not accept running without it
 * (effects.downgrade) named in err; PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_broker_sandbox_check(const pw_spec *spec, char *err, size_t errlen);

/*
 * Open run run_id of the ledger o->db_path for calls. PW_ERR_NOTFOUND:
 * no such ledger or run; PW_ERR_PERM: the secrets file is refused;
 * PW_ERR_INVALID: the run's log does not verify. Free with
 * pw_broker_close().
 */
PW_MUST_CHECK pw_status pw_broker_open(const pw_broker_opts *o, const char *run_id, pw_broker **out,
                                       char *err, size_t errlen);
void pw_broker_close(pw_broker *b);

/*
 * One action call: input[0..len) is the JSON input as received. On PW_OK
 * *reply is a new JSON object describing the verdict and, for an allowed
 * call, the outcome: run_id, call_id, action, verdict, reason, state,
 * message, and where they apply check, expected, actual, owner, tier,
 * approval_id, expires_ms, outcome, result, emitted, caps, exit, signal,
 * stderr. Any other status means the call could not be decided or
 * recorded (err says why) and nothing ran, or, with *reply set, that the
 * action ran but its result could not be recorded (the call is then in
 * doubt).
 */
PW_MUST_CHECK pw_status pw_broker_call(pw_broker *b, const char *action, const char *input,
                                       size_t len, json_t **reply, char *err, size_t errlen);

/*
 * Record what happened to an in-doubt call: a "resolve" event by owner
 * (declared in the spec) with outcome ok or failed and an optional note.
 * ok moves the run to the action's target when "to" is a single state; a
 * list of targets needs the result that was never recorded, so the state
 * stays, and no capability is minted either way.
 */
PW_MUST_CHECK pw_status pw_broker_resolve(pw_broker *b, const char *call_id, bool ok,
                                          const char *owner, const char *os_user, const char *note,
                                          json_t **reply, char *err, size_t errlen);

/*
 * An owner's decision on approval request approval_id of the run: approve
 * (text: an optional note) or deny (text: the reason, required). The
 * caller has authenticated owner as OS user os_user (cli/trust.h); both
 * are recorded. PW_ERR_NOTFOUND: no such request waiting; PW_ERR_PERM
 * with err "CODE: why" for a refusal: NOT_OWNER (owner is not the one the
 * request names), APPROVAL_EXPIRED, APPROVAL_DECIDED (approved already),
 * RUN_FROZEN (approve only). On PW_OK *reply is the event recorded.
 *
 * An approval is bound to the call's hash (core/decide.h): the agent's next
 * call of the same action with the same input, before expires_ms, runs
 * (once: the call event that runs it uses the approval up).
 */
PW_MUST_CHECK pw_status pw_broker_decide(pw_broker *b, const char *approval_id, bool approve,
                                         const char *owner, const char *os_user, const char *text,
                                         json_t **reply, char *err, size_t errlen);

/*
 * Let a run halted by a fatal error go on: a resume event by owner
 * (declared in the spec). PW_ERR_PERM "NOT_HALTED: ..." or "RUN_FROZEN: ..."
 * (a policy violation froze it: it never resumes), "NOT_OWNER: ...".
 */
PW_MUST_CHECK pw_status pw_broker_resume(pw_broker *b, const char *owner, const char *os_user,
                                         const char *note, json_t **reply, char *err,
                                         size_t errlen);

/*
 * Lift every lockout of agent in the ledger at db_path: an unlock event in
 * each run that locked it out, in one transaction. PW_ERR_NOTFOUND when the
 * agent is not locked out. *reply: {agent, by, unlocked: [{run_id, seq,
 * reason}]}.
 */
PW_MUST_CHECK pw_status pw_broker_unlock(const char *db_path, const char *agent, const char *owner,
                                         const char *os_user, const char *note, json_t **reply,
                                         char *err, size_t errlen);

/*
 * The run's folded state as a JSON object: run_id, workflow, workflow_id,
 * state, terminal, halted, halt_reason, caps, open_calls (each in_progress
 * or in_doubt), pending_approvals, counts, events, head.
 */
PW_MUST_CHECK pw_status pw_broker_status(pw_broker *b, json_t **out, char *err, size_t errlen);

/*
 * The last max calls of the run, oldest first, as a JSON array of
 * {call_id, action, verdict, reason, check, outcome}: outcome ("ok" or
 * "failed", from the call's result or resolve) only once there is one.
 */
PW_MUST_CHECK pw_status pw_broker_recent(pw_broker *b, size_t max, json_t **out, char *err,
                                         size_t errlen);

#endif
