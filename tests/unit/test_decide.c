/*
 * test_decide.c: the pure decision core: pw_decide() (core/decide),
 * pw_outcome_compute() (core/outcome), pw_run_fold() (core/run) and the
 * hash chain of events (core/event).
 *
 * Specs are small YAML texts read with pw_spec_parse() (which does not look
 * at program files, so any 64-hex pin will do); run states are folded from
 * synthetic events sealed with pw_event_seal(). Every case asserts the exact
 * verdict, reason code, check, tier and expected / actual values, so a
 * change in any of them fails a test. Negative cases first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/decide.h"
#include "core/event.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/outcome.h"
#include "core/record.h"
#include "core/run.h"
#include "core/spec.h"

#define PIN  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PIN2 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define T0  INT64_C(1700000000000) /* time of the genesis */
#define NOW (T0 + 60000)           /* time of the calls */
#define H1  INT64_C(3600000)       /* one hour in ms */
#define D1  INT64_C(86400000)      /* one day in ms */

/* ------------------------------------------------------------------ specs */

static const char spec_head[] = "pitwall: 1\n"
                                "name: shop\n"
                                "owners:\n"
                                "  ops: {title: Ops}\n"
                                "  sec: {title: Security}\n"
                                "states: [INIT, READY, HOLD, DONE]\n"
                                "initial: INIT\n"
                                "terminal: [DONE]\n";

/*
 * The actions every spec of this file has. Prepare mints token@<result.id>
 * (forever) and branch@<input.branch> (for an hour); Finish needs the token
 * named by its input and has four preconditions (reading state, caps,
 * agent and input) and four rules; Ship needs the token and any branch.
 */
static const char spec_actions[] =
        "actions:\n"
        "  Prepare:\n"
        "    from: [INIT]\n"
        "    to: READY\n"
        "    input:\n"
        "      type: object\n"
        "      properties:\n"
        "        branch: {type: string, pattern: \"^[a-z]+$\"}\n"
        "        n: {type: integer}\n"
        "      required: [branch]\n"
        "    post:\n"
        "      - {\"!!\": [{var: result.id}]}\n"
        "      - {\"!=\": [{var: result.id}, \"bad\"]}\n"
        "    emits:\n"
        "      - {cap: token, value: {var: result.id}}\n"
        "      - {cap: branch, value: {var: input.branch}, ttl: 1h}\n"
        "      - {cap: extra, value: {var: result.extra_id},\n"
        "         when: {\"==\": [{var: result.extra}, true]}}\n"
        "    errors: {exit: {75: correctable, 3: fatal}}\n"
        "    run: {program: bin/prepare, sha256: " PIN "}\n"
        "  Finish:\n"
        "    from: [READY, HOLD]\n"
        "    to:\n"
        "      - when: {\"==\": [{var: result.done}, true]}\n"
        "        state: DONE\n"
        "      - state: HOLD\n"
        "    input:\n"
        "      type: object\n"
        "      properties: {id: {type: string}, amount: {type: number}}\n"
        "      required: [id]\n"
        "    requires: [{cap: token, value: {var: input.id}}]\n"
        "    pre:\n"
        "      - {\"==\": [{var: state}, \"READY\"]}\n"
        "      - {\"<\": [{var: caps.token.length}, 2]}\n"
        "      - {\"!=\": [{var: agent}, \"mallory\"]}\n"
        "      - {\"<=\": [{var: input.amount}, 5000]}\n"
        "    decide:\n"
        "      - when: {\">\": [{var: input.amount}, 1000]}\n"
        "        block: {owner: sec, reason: too_big}\n"
        "      - when: {\">\": [{var: input.amount}, 100]}\n"
        "        approval: {owner: ops, reason: big_one, expires: 1h}\n"
        "      - when: {\">\": [{var: input.amount}, 50]}\n"
        "        approval: {owner: ops, reason: medium}\n"
        "      - when: {\"==\": [{var: input.amount}, 7]}\n"
        "        allow: true\n"
        "    run: {program: bin/finish, sha256: " PIN "}\n"
        "  Ship:\n"
        "    from: [READY]\n"
        "    to: DONE\n"
        "    input: {type: object, properties: {id: {type: string}}, required: [id]}\n"
        "    requires:\n"
        "      - {cap: token, value: {var: input.id}}\n"
        "      - {cap: branch}\n"
        "    run: {program: bin/ship, sha256: " PIN "}\n";

/* Parse text; the test fails (showing the diagnostics) unless it loads. */
static pw_spec *parse_spec(const char *text)
{
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	pw_status st = pw_spec_parse(text, strlen(text), &spec, &d);
	if (st != PW_OK) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %u:%u: %s\n", d.items[i].line, d.items[i].col,
			        d.items[i].msg);
		fail_msg("test spec does not load: %s", pw_status_name(st));
	}
	pw_diag_release(&d);
	return spec;
}

/* The spec with default dflt and the actions above, then extra (more actions). */
static pw_spec *load_spec_with(const char *dflt, const char *extra)
{
	size_t len = sizeof spec_head + sizeof spec_actions + strlen(dflt) + strlen(extra) + 16;
	char *text = malloc(len);
	assert_non_null(text);
	int n = snprintf(text, len, "%sdefault: %s\n%s%s", spec_head, dflt, spec_actions, extra);
	assert_true(n > 0 && (size_t)n < len);
	pw_spec *spec = parse_spec(text);
	free(text);
	return spec;
}

static pw_spec *load_spec(void)
{
	return load_spec_with("allow", "");
}

/*
 * A condition that needs far more than the 100,000 evaluation steps of
 * JSON Logic: "some" over 400 elements, each running "some" over 400 more.
 */
static char *expensive_rule(void)
{
	size_t cap = 8192;
	char *s = malloc(cap);
	size_t n = 0;
	assert_non_null(s);
	for (int level = 0; level < 2; level++) {
		n += (size_t)snprintf(s + n, cap - n, "{\"some\": [[");
		for (int i = 0; i < 400; i++)
			n += (size_t)snprintf(s + n, cap - n, i ? ",0" : "0");
		n += (size_t)snprintf(s + n, cap - n, "], ");
	}
	n += (size_t)snprintf(s + n, cap - n, "{\"==\": [1, 2]}]}]}");
	assert_true(n < cap);
	return s;
}

/* Actions whose rule, pre, requirement, transition or emission hits the step limit. */
static pw_spec *load_heavy_spec(void)
{
	char *big = expensive_rule();
	size_t cap = 7 * strlen(big) + 2048;
	char *extra = malloc(cap);
	assert_non_null(extra);
	int n = snprintf(extra, cap,
	                 "  HeavyRule:\n"
	                 "    from: [INIT]\n"
	                 "    input: {type: object}\n"
	                 "    decide: [{when: %s, allow: true}]\n"
	                 "    run: {program: bin/heavy, sha256: " PIN "}\n"
	                 "  HeavyPre:\n"
	                 "    from: [INIT]\n"
	                 "    input: {type: object}\n"
	                 "    pre: [%s]\n"
	                 "    run: {program: bin/heavy, sha256: " PIN "}\n"
	                 "  HeavyReq:\n"
	                 "    from: [READY]\n"
	                 "    input: {type: object}\n"
	                 "    requires: [{cap: token, value: %s}]\n"
	                 "    run: {program: bin/heavy, sha256: " PIN "}\n"
	                 "  HeavyTo:\n"
	                 "    from: [INIT]\n"
	                 "    input: {type: object}\n"
	                 "    emits: [{cap: heavy, value: x}]\n"
	                 "    to: [{when: %s, state: READY}]\n"
	                 "    run: {program: bin/heavy, sha256: " PIN "}\n"
	                 "  HeavyEmit:\n"
	                 "    from: [INIT]\n"
	                 "    input: {type: object}\n"
	                 "    emits: [{cap: heavy, value: x}, {cap: heavy, value: y, when: %s}]\n"
	                 "    run: {program: bin/heavy, sha256: " PIN "}\n",
	                 big, big, big, big, big);
	assert_true(n > 0 && (size_t)n < cap);
	pw_spec *spec = load_spec_with("allow", extra);
	free(extra);
	free(big);
	return spec;
}

/* ------------------------------------------------------------------- JSON */

/* Parse a JSON text of the test itself. */
static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (v == NULL)
		fail_msg("bad JSON in the test: %s: %s", text, e.text);
	return v;
}

/* got must be the JSON want (numbers by value); want NULL: got must be NULL. */
static void expect_json(const json_t *got, const char *want, const char *what)
{
	char *s = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s: got %s, want nothing", what, s);
		return;
	}
	json_t *w = J(want);
	if (got == NULL || !pw_json_equal(got, w))
		fail_msg("%s: got %s, want %s", what, s ? s : "(nothing)", want);
	json_decref(w);
	free(s);
}

/* --------------------------------------------------------------- the runs */

static json_t *ev_genesis(const pw_spec *spec, const char *state)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "kind", "genesis", "workflow_id",
	                 spec->workflow_id, "workflow", "shop", "state", state);
}

/* A call event as the broker records it (tier NULL: none). */
static json_t *ev_call(const char *call_id, const char *action, const char *verdict,
                       const char *reason, const char *tier)
{
	return json_pack("{s:s, s:s, s:s, s:s*, s:s, s:s, s:s*}", "kind", "call", "call_id",
	                 call_id, "agent", "alice", "action", action, "verdict", verdict, "reason",
	                 reason, "tier", tier);
}

/* Any well-formed call_sha256, for approval verdicts folded without deciding them. */
#define CALL_SHA "sha256:" PIN

static json_t *ev_approval(const char *call_id, const char *approval_id, const char *owner,
                           const char *reason, int64_t expires_ms)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "kind", "call",
	                 "call_id", call_id, "agent", "alice", "action", "Finish", "verdict",
	                 "approval", "reason", reason, "approval_id", approval_id, "owner", owner,
	                 "expires_ms", (json_int_t)expires_ms, "call_sha256", CALL_SHA);
}

/* A result event; caps is the JSON text of its caps list, or NULL for none. */
static json_t *ev_result(const char *call_id, const char *outcome, const char *state,
                         const char *tier, const char *reason, const char *caps)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*, s:o*}", "kind", "result", "call_id",
	                 call_id, "outcome", outcome, "state", state, "tier", tier, "reason",
	                 reason, "caps", caps ? J(caps) : NULL);
}

static json_t *ev_resolve(const char *call_id, const char *outcome, const char *state,
                          const char *by)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s*}", "kind", "resolve", "call_id", call_id,
	                 "outcome", outcome, "state", state, "by", by);
}

/* A halt event (tier "fatal" or "policy_violation") caused by event cause. */
static json_t *ev_halt(const char *reason, const char *tier, int cause, bool frozen)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:b}", "kind", "halt", "reason", reason, "tier",
	                 tier, "cause", cause, "frozen", frozen);
}

static json_t *ev_lockout(const char *agent, const char *reason, int cause)
{
	return json_pack("{s:s, s:s, s:s*, s:i}", "kind", "lockout", "agent", agent, "reason",
	                 reason, "cause", cause);
}

/* An unlock of agent's lockout of UNKNOWN_ACTION at seq lockout. */
static json_t *ev_unlock(const char *agent, const char *by, int lockout)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s*, s:s}", "kind", "unlock", "agent", agent,
	                 "reason", "UNKNOWN_ACTION", "lockout", lockout, "by", by, "os_user",
	                 "root");
}

/* A resume of the halt at seq halt, for CODE_HASH_MISMATCH. */
static json_t *ev_resume(const char *by, int halt)
{
	return json_pack("{s:s, s:s, s:i, s:s*, s:s}", "kind", "resume", "reason",
	                 "CODE_HASH_MISMATCH", "halt", halt, "by", by, "os_user", "root");
}

/* Seal ev (reference stolen) as event seq of run_id after prev, then fold it into r. */
static pw_status fold_at(pw_run *r, json_t *ev, const char *run_id, uint64_t seq, const char *prev,
                         char *err, size_t errlen)
{
	assert_non_null(ev);
	assert_int_equal(pw_event_seal(ev, run_id, seq, prev, T0 + (int64_t)seq), PW_OK);
	err[0] = '\0';
	pw_status st = pw_run_fold(r, ev, err, errlen);
	json_decref(ev);
	return st;
}

/* Seal ev (stolen) as r's next event and fold it. */
static pw_status fold_next(pw_run *r, json_t *ev, char *err, size_t errlen)
{
	uint64_t seq = r->n_events;
	const char *run_id = seq == 0 ? "run-a" : r->run_id;
	return fold_at(r, ev, run_id, seq, seq == 0 ? pw_event_genesis_prev : r->head, err, errlen);
}

/* Seal ev (stolen) as r's next event at time_ms and fold it; the test fails unless it folds. */
static void fold_ok_at(pw_run *r, json_t *ev, int64_t time_ms)
{
	char err[256];
	assert_non_null(ev);
	assert_int_equal(pw_event_seal(ev, r->run_id, r->n_events, r->head, time_ms), PW_OK);
	pw_status st = pw_run_fold(r, ev, err, sizeof err);
	json_decref(ev);
	if (st != PW_OK)
		fail_msg("fold refused: %s: %s", pw_status_name(st), err);
}

/* As fold_ok_at(), but the fold must be refused with exactly want_err. */
static void fold_refused_at(pw_run *r, json_t *ev, int64_t time_ms, const char *want_err)
{
	char err[256] = "";
	uint64_t n = r->n_events;
	assert_non_null(ev);
	assert_int_equal(pw_event_seal(ev, r->run_id, r->n_events, r->head, time_ms), PW_OK);
	pw_status st = pw_run_fold(r, ev, err, sizeof err);
	json_decref(ev);
	if (st != PW_ERR_INVALID)
		fail_msg("fold: got %s, want invalid (\"%s\")", pw_status_name(st), want_err);
	assert_string_equal(err, want_err);
	assert_int_equal(r->n_events, n);
}

static void fold_ok(pw_run *r, json_t *ev)
{
	char err[256];
	pw_status st = fold_next(r, ev, err, sizeof err);
	if (st != PW_OK)
		fail_msg("fold refused: %s: %s", pw_status_name(st), err);
}

/* r's next event (ev stolen) must be refused with exactly want_err; r keeps its length. */
static void fold_refused(pw_run *r, json_t *ev, const char *want_err)
{
	char err[256];
	uint64_t n = r->n_events;
	pw_status st = fold_next(r, ev, err, sizeof err);
	if (st != PW_ERR_INVALID)
		fail_msg("fold: got %s, want invalid (\"%s\")", pw_status_name(st), want_err);
	assert_string_equal(err, want_err);
	assert_int_equal(r->n_events, n);
}

/* A new run run_id of spec in state. */
static void run_begin(pw_run *r, const pw_spec *spec, const char *run_id, const char *state)
{
	char err[256];
	pw_run_init(r);
	pw_status st = fold_at(r, ev_genesis(spec, state), run_id, 0, pw_event_genesis_prev, err,
	                       sizeof err);
	if (st != PW_OK)
		fail_msg("genesis refused: %s", err);
}

/* An allowed call of Prepare and its successful result, which mints caps. */
static void run_mint(pw_run *r, const char *call_id, const char *state, const char *caps)
{
	fold_ok(r, ev_call(call_id, "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(r, ev_result(call_id, "ok", state, NULL, "OK", caps));
}

/* A run in READY that holds the caps of the JSON text caps. */
static void run_ready(pw_run *r, const pw_spec *spec, const char *caps)
{
	run_begin(r, spec, "run-a", "INIT");
	run_mint(r, "c1", "READY", caps);
}

/* ------------------------------------------------------------ the verdicts */

/* The expected of RETRY_INVALID. */
#define RETRY_WANT "\"the next attempt after a correctable failure, within errors.retry.max\""

/* A well-formed call of action, from agent alice at NOW, with the run's spec and pin. */
static pw_call call_of(const pw_spec *spec, const char *action, const json_t *input)
{
	pw_call c = {
	        .action = action,
	        .input = input,
	        .agent = "alice",
	        .now_ms = NOW,
	        .spec_id = spec ? spec->workflow_id : NULL,
	        .program_sha256 = PIN,
	};
	return c;
}

static const char *tier_str(pw_tier t)
{
	return pw_tier_name(t) ? pw_tier_name(t) : "none";
}

static void expect_decision(const pw_decision *d, pw_verdict v, const char *reason, pw_tier tier,
                            const char *check, const char *expected, const char *actual)
{
	if (d->verdict != v || d->reason == NULL || strcmp(d->reason, reason) != 0 ||
	    d->tier != tier || strcmp(d->check, check) != 0)
		fail_msg("got %s %s tier %s check \"%s\" (%s); want %s %s tier %s check \"%s\"",
		         pw_verdict_name(d->verdict), d->reason ? d->reason : "(null)",
		         tier_str(d->tier), d->check, d->message, pw_verdict_name(v), reason,
		         tier_str(tier), check);
	expect_json(d->expected, expected, "expected");
	expect_json(d->actual, actual, "actual");
	assert_true(d->message[0] != '\0');
}

/* Decide call; the decision must be exactly this. */
static void expect_verdict(const pw_spec *spec, const pw_run *run, const pw_call *call,
                           pw_verdict v, const char *reason, pw_tier tier, const char *check,
                           const char *expected, const char *actual)
{
	pw_decision d;
	assert_int_equal(pw_decide(spec, run, call, &d), PW_OK);
	expect_decision(&d, v, reason, tier, check, expected, actual);
	pw_decision_release(&d);
}

/* Decide the call of action with input (JSON text) in run; exactly a reject for reason. */
static void expect_reject(const pw_spec *spec, const pw_run *run, const char *action,
                          const char *input, const char *reason, pw_tier tier, const char *check,
                          const char *expected, const char *actual)
{
	json_t *in = J(input);
	pw_call c = call_of(spec, action, in);
	expect_verdict(spec, run, &c, PW_VERDICT_REJECT, reason, tier, check, expected, actual);
	json_decref(in);
}

/* ---------------------------------------------------------------- names */

/* The names recorded in events parse back to what they name, and nothing else does. */
static void test_names_round_trip(void **state)
{
	(void)state;
	pw_verdict v;
	pw_tier t;
	pw_how h;
	static const char *const verdicts[] = {"allow", "approval", "block", "reject"};
	for (int i = 0; i < 4; i++) {
		assert_string_equal(pw_verdict_name((pw_verdict)i), verdicts[i]);
		assert_int_equal(pw_verdict_parse(verdicts[i], &v), PW_OK);
		assert_int_equal(v, i);
	}
	static const char *const tiers[] = {NULL, "correctable", "uncorrected", "fatal",
	                                    "policy_violation"};
	assert_null(pw_tier_name(PW_TIER_NONE));
	assert_int_equal(pw_tier_parse(NULL, &t), PW_OK);
	assert_int_equal(t, PW_TIER_NONE);
	for (int i = 1; i < 5; i++) {
		assert_string_equal(pw_tier_name((pw_tier)i), tiers[i]);
		assert_int_equal(pw_tier_parse(tiers[i], &t), PW_OK);
		assert_int_equal(t, i);
	}
	static const char *const hows[] = {"exited", "signaled", "timeout", "spawn_failed",
	                                   "code_mismatch"};
	for (int i = 0; i < 5; i++) {
		assert_string_equal(pw_how_name((pw_how)i), hows[i]);
		assert_int_equal(pw_how_parse(hows[i], &h), PW_OK);
		assert_int_equal(h, i);
	}
	static const char *const bad[] = {"", "Allow", "none", "policy", "allow ", "exit"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(pw_verdict_parse(bad[i], &v), PW_ERR_INVALID);
		assert_int_equal(pw_tier_parse(bad[i], &t), PW_ERR_INVALID);
		assert_int_equal(pw_how_parse(bad[i], &h), PW_ERR_INVALID);
	}
	assert_int_equal(pw_verdict_parse(NULL, &v), PW_ERR_INVALID);
	assert_int_equal(pw_how_parse(NULL, &h), PW_ERR_INVALID);
}

/* -------------------------------------------------- 1 parse: INPUT_MALFORMED */

static void test_input_malformed_action(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *in = J("{\"branch\": \"main\"}");
	pw_call c = call_of(spec, NULL, in);
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "action",
	               "\"an action name of at most 128 bytes of UTF-8\"",
	               "\"a name that is empty, too long or not UTF-8\"");
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_input_malformed_unparsed(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	pw_call c = call_of(spec, "Prepare", NULL);
	c.input_error = "line 1 column 9: duplicate object key \"a\"";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "input",
	               "\"one JSON object\"",
	               "\"line 1 column 9: duplicate object key \\\"a\\\"\"");
	/* without a reason the actual is null, not absent */
	c.input_error = NULL;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "input",
	               "\"one JSON object\"", "null");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_input_malformed_unsafe_number(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	static const char *const unsafe[] = {
	        "{\"branch\": \"main\", \"n\": 9007199254740992}",
	        "{\"branch\": \"main\", \"n\": -9007199254740992}",
	        "{\"branch\": \"main\", \"n\": 1e300}",
	        "{\"branch\": \"main\", \"x\": {\"y\": [1, 2, {\"z\": 9007199254740993}]}}",
	        "{\"a\": [[[[-1e16]]]]}",
	};
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
		expect_reject(spec, &r, "Prepare", unsafe[i], "INPUT_MALFORMED", PW_TIER_NONE,
		              "input", "\"numbers of magnitude below 2^53\"", NULL);
	/* 2^53 - 1 is exact: the call goes on (and is allowed) */
	json_t *in = J("{\"branch\": \"main\", \"n\": 9007199254740991}");
	pw_call c = call_of(spec, "Prepare", in);
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------ 2 spec pin: SPEC_HASH_MISMATCH */

static void test_spec_hash_mismatch(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	char want[PW_HASH_STR_LEN + 3];
	snprintf(want, sizeof want, "\"%s\"", spec->workflow_id);
	json_t *in = J("{\"branch\": \"main\"}");

	/* another spec loaded now (spec may then be NULL) */
	pw_call c = call_of(spec, "Prepare", in);
	c.spec_id = "sha256:" PIN2;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY,
	               "spec", want, "\"sha256:" PIN2 "\"");
	expect_verdict(NULL, &r, &c, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY,
	               "spec", want, "\"sha256:" PIN2 "\"");

	/* the spec did not load */
	c.spec_id = NULL;
	c.spec_error = "workflow.yaml:3:1: unknown key \"x\"";
	expect_verdict(NULL, &r, &c, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY,
	               "spec", want, "\"unreadable: workflow.yaml:3:1: unknown key \\\"x\\\"\"");
	c.spec_error = NULL;
	expect_verdict(NULL, &r, &c, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY,
	               "spec", want, "\"unreadable: ?\"");

	/* the same id but no spec to decide with is the caller's bug */
	c = call_of(spec, "Prepare", in);
	pw_decision d;
	assert_int_equal(pw_decide(NULL, &r, &c, &d), PW_ERR_INTERNAL);
	pw_decision_release(&d);

	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* --------------------------------------------------------- 3 run health */

/*
 * A policy violation halts the run by the halt event that follows its call,
 * not by the call: the call records the tier, the halt (frozen) and the
 * lockout of the agent are events of their own.
 */
static void test_run_halted_by_policy_reject(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Nope", "reject", "UNKNOWN_ACTION", "policy_violation"));
	assert_false(r.halted);
	assert_false(r.frozen);
	assert_null(r.halt_reason);
	assert_int_equal(r.counts.tier[PW_TIER_POLICY], 1);
	assert_int_equal(r.counts.halts, 0);
	/* the call alone leaves the run open to the next call */
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"Main!\"}", "INPUT_INVALID", PW_TIER_NONE,
	              "input/branch:pattern", "\"^[a-z]+$\"", "\"Main!\"");

	fold_ok(&r, ev_halt("UNKNOWN_ACTION", "policy_violation", 1, true));
	assert_true(r.halted);
	assert_true(r.frozen);
	assert_int_equal(r.halt_seq, 2);
	assert_string_equal(r.halt_reason, "UNKNOWN_ACTION");
	assert_int_equal(r.counts.halts, 1);
	fold_ok(&r, ev_lockout("alice", "UNKNOWN_ACTION", 1));
	const pw_lockout *l = pw_run_lockout(&r, "alice");
	assert_non_null(l);
	assert_string_equal(l->reason, "UNKNOWN_ACTION");
	assert_int_equal(l->seq, 3);
	assert_int_equal(r.counts.lockouts, 1);
	assert_null(pw_run_lockout(&r, "bob"));

	/* the agent is locked out; another agent finds the run halted */
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "AGENT_LOCKED_OUT",
	              PW_TIER_NONE, "agent", "\"an agent that is not locked out\"", "\"alice\"");
	json_t *in = J("{\"branch\": \"main\"}");
	pw_call c = call_of(spec, "Prepare", in);
	c.agent = "bob";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RUN_HALTED", PW_TIER_NONE, "run",
	               "\"a run that is not halted\"", "\"UNKNOWN_ACTION\"");
	pw_decision d;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	assert_string_equal(d.message, "the run halted at event 2 (UNKNOWN_ACTION)");
	pw_decision_release(&d);
	json_decref(in);

	/* frozen: no call (nor result, approve, resume) is recorded any more */
	fold_refused(&r, ev_call("c4", "Prepare", "reject", "RUN_HALTED", NULL),
	             "seq 4: a call event after the run was frozen (only an operator's deny, "
	             "resolve or unlock may follow)");
	fold_refused(&r, ev_resume("ops", 2),
	             "seq 4: a resume event after the run was frozen (only an operator's deny, "
	             "resolve or unlock may follow)");
	assert_true(r.halted);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* A fatal result halts the run by the halt event after it; resume lets it go on. */
static void test_run_halted_by_fatal_result(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	assert_false(r.halted);
	fold_ok(&r, ev_result("c1", "failed", "INIT", "fatal", "CODE_HASH_MISMATCH", NULL));
	assert_false(r.halted);
	assert_int_equal(r.counts.tier[PW_TIER_FATAL], 1);
	fold_ok(&r, ev_halt("CODE_HASH_MISMATCH", "fatal", 2, false));
	assert_true(r.halted);
	assert_false(r.frozen);
	assert_int_equal(r.halt_seq, 3);
	assert_string_equal(r.halt_reason, "CODE_HASH_MISMATCH");
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "RUN_HALTED", PW_TIER_NONE,
	              "run", "\"a run that is not halted\"", "\"CODE_HASH_MISMATCH\"");
	/* not frozen: calls are still recorded (as RUN_HALTED rejects) */
	fold_ok(&r, ev_call("c4", "Prepare", "reject", "RUN_HALTED", NULL));
	assert_true(r.halted);

	/* resume needs by and reason, and names the halt it lifts */
	fold_refused(&r,
	             json_pack("{s:s, s:s, s:i}", "kind", "resume", "reason", "CODE_HASH_MISMATCH",
	                       "halt", 3),
	             "seq 5: resume without by or reason");
	fold_refused(&r, json_pack("{s:s, s:s, s:i}", "kind", "resume", "by", "ops", "halt", 3),
	             "seq 5: resume without by or reason");
	fold_refused(&r, ev_resume("ops", 2),
	             "seq 5: resume names halt 2 (CODE_HASH_MISMATCH), not the halt at 3 "
	             "(CODE_HASH_MISMATCH)");
	json_t *wrong = ev_resume("ops", 3);
	assert_int_equal(json_object_set_new(wrong, "reason", json_string("EXIT_STATUS")), 0);
	fold_refused(&r, wrong,
	             "seq 5: resume names halt 3 (EXIT_STATUS), not the halt at 3 "
	             "(CODE_HASH_MISMATCH)");
	assert_true(r.halted);
	json_t *res = pw_record_resume(&r, "ops", "root", "fixed the program");
	assert_non_null(res);
	expect_json(res,
	            "{\"kind\": \"resume\", \"reason\": \"CODE_HASH_MISMATCH\", \"halt\": 3, "
	            "\"by\": \"ops\", \"os_user\": \"root\", \"note\": \"fixed the program\"}",
	            "resume event");
	fold_ok(&r, res);
	assert_false(r.halted);
	assert_null(r.halt_reason);
	assert_int_equal(r.halt_seq, 0);
	assert_int_equal(r.counts.resumes, 1);
	json_t *in = J("{\"branch\": \"main\"}");
	pw_call c = call_of(spec, "Prepare", in);
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	json_decref(in);
	/* a run that is not halted cannot be resumed */
	fold_refused(&r, ev_resume("ops", 3), "seq 6: resume of a run that is not halted");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/*
 * Only halt events halt: calls and results of every tier do not. The first
 * halt is kept; a later frozen one freezes the run; a frozen run does not
 * resume; halt takes only the tiers that halt.
 */
static void test_run_halt_only_fatal_and_policy(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "reject", "INPUT_INVALID", NULL));
	fold_ok(&r, ev_call("c2", "Prepare", "block", "too_big", NULL));
	fold_ok(&r, ev_call("c3", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c3", "failed", "INIT", "correctable", "EXIT_STATUS", NULL));
	fold_ok(&r, ev_call("c4", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c4", "failed", "INIT", "uncorrected", "TIMEOUT", NULL));
	fold_ok(&r, ev_call("c6", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c6", "failed", "INIT", "fatal", "EXIT_STATUS", NULL));
	fold_ok(&r, ev_call("c8", "Prepare", "reject", "SPEC_HASH_MISMATCH", "policy_violation"));
	fold_ok(&r, ev_call("c9", "Prepare", "reject", "CODE_HASH_MISMATCH", "fatal"));
	assert_false(r.halted);
	assert_false(r.frozen);
	assert_null(r.halt_reason);
	assert_int_equal(r.counts.halts, 0);

	/* a halt names its reason, a tier that halts, and whether it freezes */
	fold_refused(&r, ev_halt("EXIT_STATUS", "uncorrected", 7, false),
	             "seq 11: halt without reason, tier or frozen");
	fold_refused(&r, ev_halt("EXIT_STATUS", "correctable", 7, false),
	             "seq 11: halt without reason, tier or frozen");
	fold_refused(&r,
	             json_pack("{s:s, s:s, s:s, s:i}", "kind", "halt", "reason", "X", "tier",
	                       "fatal", "cause", 7),
	             "seq 11: halt without reason, tier or frozen");
	fold_refused(&r,
	             json_pack("{s:s, s:s, s:i, s:b}", "kind", "halt", "tier", "fatal", "cause", 7,
	                       "frozen", 0),
	             "seq 11: halt without reason, tier or frozen");
	fold_refused(&r,
	             json_pack("{s:s, s:s, s:s, s:i, s:s}", "kind", "halt", "reason", "X", "tier",
	                       "fatal", "cause", 7, "frozen", "no"),
	             "seq 11: halt without reason, tier or frozen");
	assert_false(r.halted);

	fold_ok(&r, ev_halt("EXIT_STATUS", "fatal", 7, false));
	assert_true(r.halted);
	assert_false(r.frozen);
	assert_int_equal(r.halt_seq, 11);
	/* a policy violation after a fatal halt (the spec pin is checked before the halt) */
	fold_ok(&r, ev_call("c12", "Prepare", "reject", "SPEC_HASH_MISMATCH", "policy_violation"));
	fold_ok(&r, ev_halt("SPEC_HASH_MISMATCH", "policy_violation", 12, true));
	assert_true(r.halted);
	assert_true(r.frozen);
	assert_int_equal(r.halt_seq, 11);
	assert_string_equal(r.halt_reason, "EXIT_STATUS");
	assert_int_equal(r.counts.halts, 2);
	/* a halt after a freeze is a follow-up, and is folded */
	assert_true(pw_run_operator_kind("halt"));
	assert_true(pw_run_operator_kind("lockout"));
	assert_false(pw_run_operator_kind("approve"));
	assert_false(pw_run_operator_kind("resume"));
	assert_false(pw_run_operator_kind("call"));
	fold_refused(&r, ev_resume("ops", 11),
	             "seq 14: a resume event after the run was frozen (only an operator's deny, "
	             "resolve or unlock may follow)");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_call_in_doubt(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "CALL_IN_DOUBT", PW_TIER_NONE,
	              "run", "\"no call in doubt\"", "\"c1\"");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_call_in_progress(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *in = J("{\"branch\": \"main\"}");
	pw_call c = call_of(spec, "Prepare", in);
	c.busy = true;
	/* another process holds the lock and has not recorded its call yet */
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CALL_IN_PROGRESS", PW_TIER_NONE, "run",
	               "\"no call in progress\"", "null");
	/* ... or has: busy wins over in doubt, and names the open call */
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CALL_IN_PROGRESS", PW_TIER_NONE, "run",
	               "\"no call in progress\"", "\"c1\"");
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------ 4 closed set */

static void test_unknown_action(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	expect_reject(spec, &r, "Refund", "{}", "UNKNOWN_ACTION", PW_TIER_POLICY, "actions",
	              "[\"Prepare\", \"Finish\", \"Ship\"]", "\"Refund\"");
	/* names are compared exactly */
	expect_reject(spec, &r, "prepare", "{\"branch\": \"main\"}", "UNKNOWN_ACTION",
	              PW_TIER_POLICY, "actions", "[\"Prepare\", \"Finish\", \"Ship\"]",
	              "\"prepare\"");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ----------------------------------------------------------- 5 input */

static void test_input_invalid(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"Main!\"}", "INPUT_INVALID", PW_TIER_NONE,
	              "input/branch:pattern", "\"^[a-z]+$\"", "\"Main!\"");
	expect_reject(spec, &r, "Prepare", "{\"branch\": 5}", "INPUT_INVALID", PW_TIER_NONE,
	              "input/branch:type", "[\"string\"]", "5");
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\", \"n\": 1.5}", "INPUT_INVALID",
	              PW_TIER_NONE, "input/n:type", "[\"integer\"]", "1.5");
	expect_reject(spec, &r, "Prepare", "{\"n\": 1}", "INPUT_INVALID", PW_TIER_NONE,
	              "input:required", "\"branch\"", NULL);
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\", \"zzz\": [1]}", "INPUT_INVALID",
	              PW_TIER_NONE, "input/zzz:additionalProperties", "\"zzz\"", "[1]");
	expect_reject(spec, &r, "Prepare", "[\"main\"]", "INPUT_INVALID", PW_TIER_NONE,
	              "input:type", "[\"object\"]", "[\"main\"]");

	/* the message names the pointer under "input" */
	json_t *in = J("{\"branch\": \"Main!\"}");
	pw_call c = call_of(spec, "Prepare", in);
	pw_decision d;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	assert_string_equal(d.message, "input/branch: does not match pattern \"^[a-z]+$\"");
	pw_decision_release(&d);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------ 6 transition */

static void test_illegal_transition(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	expect_reject(spec, &r, "Finish", "{\"id\": \"abc\"}", "ILLEGAL_TRANSITION", PW_TIER_NONE,
	              "from", "[\"READY\", \"HOLD\"]", "\"INIT\"");
	pw_run_release(&r);

	run_begin(&r, spec, "run-a", "DONE");
	expect_reject(spec, &r, "Ship", "{\"id\": \"abc\"}", "ILLEGAL_TRANSITION", PW_TIER_NONE,
	              "from", "[\"READY\"]", "\"DONE\"");
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "ILLEGAL_TRANSITION",
	              PW_TIER_NONE, "from", "[\"INIT\"]", "\"DONE\"");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* -------------------------------------------------- 7 capabilities */

static void test_cap_missing(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	/* in READY, but no token was ever minted (an operator resolved the call) */
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_resolve("c1", "ok", "READY", "ops"));
	expect_reject(spec, &r, "Finish", "{\"id\": \"abc\"}", "CAP_MISSING", PW_TIER_NONE,
	              "requires[0]", "\"token@abc\"", "[]");
	pw_run_release(&r);

	/* the second requirement (a type, no value) fails when only the first is held */
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	expect_reject(spec, &r, "Ship", "{\"id\": \"abc\"}", "CAP_MISSING", PW_TIER_NONE,
	              "requires[1]", "\"branch\"", "[]");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_cap_mismatch(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_ready(&r, spec,
	          "[{\"cap\": \"token\", \"value\": \"zzz\"}, {\"cap\": \"token\", \"value\": 5}]");
	/* the requirement's value comes from {var: input.id} */
	expect_reject(spec, &r, "Finish", "{\"id\": \"abc\"}", "CAP_MISMATCH", PW_TIER_NONE,
	              "requires[0]", "\"token@abc\"", "[\"token@zzz\", \"token@5\"]");
	/* a number is not the string of its digits */
	expect_reject(spec, &r, "Finish", "{\"id\": \"5\"}", "CAP_MISMATCH", PW_TIER_NONE,
	              "requires[0]", "\"token@5\"", "[\"token@zzz\", \"token@5\"]");
	/* the first requirement that fails decides */
	expect_reject(spec, &r, "Ship", "{\"id\": \"abc\"}", "CAP_MISMATCH", PW_TIER_NONE,
	              "requires[0]", "\"token@abc\"", "[\"token@zzz\", \"token@5\"]");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_cap_expired(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char caps[256];
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"abc\"},"
	         " {\"cap\": \"branch\", \"value\": \"main\", \"expires_ms\": %lld}]",
	         (long long)NOW);
	run_ready(&r, spec, caps);
	json_t *in = J("{\"id\": \"abc\"}");
	pw_call c = call_of(spec, "Ship", in);
	/* expires_ms == now: expired */
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CAP_EXPIRED", PW_TIER_NONE, "requires[1]",
	               "\"branch\"", "[\"branch@main\"]");
	c.now_ms = NOW + 1;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CAP_EXPIRED", PW_TIER_NONE, "requires[1]",
	               "\"branch\"", "[\"branch@main\"]");
	/* one ms before: held */
	c.now_ms = NOW - 1;
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	json_decref(in);
	pw_run_release(&r);

	/* a requirement with a value: the matching token expired, another is live */
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"abc\", \"expires_ms\": %lld},"
	         " {\"cap\": \"token\", \"value\": \"zzz\"}]",
	         (long long)NOW);
	run_ready(&r, spec, caps);
	expect_reject(spec, &r, "Finish", "{\"id\": \"abc\"}", "CAP_EXPIRED", PW_TIER_NONE,
	              "requires[0]", "\"token@abc\"", "[\"token@abc\", \"token@zzz\"]");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* Held, matching and unexpired: every check passes to the rules. */
static void test_caps_held_pass(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char caps[256];
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"abc\", \"expires_ms\": %lld},"
	         " {\"cap\": \"branch\", \"value\": \"main\", \"expires_ms\": %lld}]",
	         (long long)(NOW + 1), (long long)(NOW + 1));
	run_ready(&r, spec, caps);
	json_t *in = J("{\"id\": \"abc\"}");
	pw_call c = call_of(spec, "Finish", in);
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	c.action = "Ship";
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* A capability belongs to the run that minted it. */
static void test_caps_scoped_to_run(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run a, b;
	run_begin(&a, spec, "run-a", "INIT");
	run_begin(&b, spec, "run-b", "INIT");
	run_mint(&a, "c1", "READY", "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	run_mint(&b, "c1", "READY", "[]");
	assert_int_equal(a.n_caps, 1);
	assert_int_equal(b.n_caps, 0);
	json_t *in = J("{\"id\": \"abc\"}");
	pw_call c = call_of(spec, "Finish", in);
	expect_verdict(spec, &a, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	expect_verdict(spec, &b, &c, PW_VERDICT_REJECT, "CAP_MISSING", PW_TIER_NONE, "requires[0]",
	               "\"token@abc\"", "[]");
	json_decref(in);
	pw_run_release(&a);
	pw_run_release(&b);
	pw_spec_free(spec);
}

/* pre sees {input, state, caps, agent}; the first that is not truthy decides. */
static void test_precondition_failed(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	json_t *in = J("{\"id\": \"abc\"}");
	pw_call c = call_of(spec, "Finish", in);

	/* pre[0] reads state */
	run_begin(&r, spec, "run-a", "INIT");
	run_mint(&r, "c1", "HOLD", "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "PRECONDITION_FAILED", PW_TIER_NONE,
	               "pre[0]", "true", "false");
	pw_run_release(&r);

	/* pre[1] reads caps.token: two tokens held */
	run_ready(&r, spec,
	          "[{\"cap\": \"token\", \"value\": \"abc\"}, {\"cap\": \"token\", \"value\": "
	          "\"def\"}]");
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "PRECONDITION_FAILED", PW_TIER_NONE,
	               "pre[1]", "true", "false");
	pw_run_release(&r);

	/* ... but caps holds only unexpired capabilities */
	char caps[256];
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"abc\"},"
	         " {\"cap\": \"token\", \"value\": \"def\", \"expires_ms\": %lld}]",
	         (long long)NOW);
	run_ready(&r, spec, caps);
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);

	/* pre[2] reads agent */
	c.agent = "mallory";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "PRECONDITION_FAILED", PW_TIER_NONE,
	               "pre[2]", "true", "false");
	c.agent = NULL; /* seen as "" */
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);

	/* pre[3] reads input */
	json_t *big = J("{\"id\": \"abc\", \"amount\": 6000}");
	pw_call c2 = call_of(spec, "Finish", big);
	expect_verdict(spec, &r, &c2, PW_VERDICT_REJECT, "PRECONDITION_FAILED", PW_TIER_NONE,
	               "pre[3]", "true", "false");
	json_decref(big);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* -------------------------------------------------------- 8 code pin */

static void test_code_hash_mismatch(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	json_t *in = J("{\"id\": \"abc\"}");
	pw_call c = call_of(spec, "Finish", in);
	c.program_sha256 = PIN2;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "\"" PIN "\"", "\"" PIN2 "\"");
	c.program_sha256 = NULL;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "\"" PIN "\"", "\"unreadable\"");
	/* a prefix of the pin, or the pin with more after it, is not the pin */
	c.program_sha256 = "0123456789abcdef";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "\"" PIN "\"", "\"0123456789abcdef\"");
	c.program_sha256 = PIN "0";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "\"" PIN "\"", "\"" PIN "0\"");
	c.program_sha256 = "";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "\"" PIN "\"", "\"\"");
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ----------------------------------------------------------- 9 rules */

/* The decision for Finish with input in a run holding token@abc, at NOW. */
static void decide_finish(const pw_spec *spec, const char *input, pw_decision *d)
{
	pw_run r;
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	json_t *in = J(input);
	pw_call c = call_of(spec, "Finish", in);
	assert_int_equal(pw_decide(spec, &r, &c, d), PW_OK);
	json_decref(in);
	pw_run_release(&r);
}

static void test_rule_block(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_decision d;
	/* 2000 matches decide[0], [1] and [2]: the first wins */
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 2000}", &d);
	expect_decision(&d, PW_VERDICT_BLOCK, "too_big", PW_TIER_NONE, "decide[0]", NULL, NULL);
	assert_non_null(d.owner);
	assert_string_equal(d.owner, "sec");
	assert_int_equal(d.expires_ms, 0);
	pw_decision_release(&d);
	pw_spec_free(spec);
}

static void test_rule_approval(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_decision d;
	/* expires: 1h */
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 500}", &d);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_non_null(d.owner);
	assert_string_equal(d.owner, "ops");
	assert_int_equal(d.expires_ms, NOW + H1);
	pw_decision_release(&d);
	/* no expires: 24h */
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 60}", &d);
	expect_decision(&d, PW_VERDICT_APPROVAL, "medium", PW_TIER_NONE, "decide[2]", NULL, NULL);
	assert_non_null(d.owner);
	assert_string_equal(d.owner, "ops");
	assert_int_equal(d.expires_ms, NOW + D1);
	pw_decision_release(&d);
	pw_spec_free(spec);
}

static void test_rule_allow_and_default_allow(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_decision d;
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 7}", &d);
	expect_decision(&d, PW_VERDICT_ALLOW, "RULE_ALLOW", PW_TIER_NONE, "decide[3]", NULL, NULL);
	assert_null(d.owner);
	pw_decision_release(&d);
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 5}", &d);
	expect_decision(&d, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default", NULL, NULL);
	assert_null(d.owner);
	pw_decision_release(&d);
	pw_spec_free(spec);
}

static void test_default_block(void **state)
{
	(void)state;
	pw_spec *spec = load_spec_with("{block: {owner: sec, reason: closed}}", "");
	pw_decision d;
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 5}", &d);
	expect_decision(&d, PW_VERDICT_BLOCK, "closed", PW_TIER_NONE, "default", NULL, NULL);
	assert_non_null(d.owner);
	assert_string_equal(d.owner, "sec");
	pw_decision_release(&d);
	/* a rule that matches still wins over the default */
	decide_finish(spec, "{\"id\": \"abc\", \"amount\": 7}", &d);
	expect_decision(&d, PW_VERDICT_ALLOW, "RULE_ALLOW", PW_TIER_NONE, "decide[3]", NULL, NULL);
	pw_decision_release(&d);
	pw_spec_free(spec);
}

static void test_default_approval(void **state)
{
	(void)state;
	pw_spec *spec = load_spec_with("{approval: {owner: ops, reason: review}}", "");
	pw_decision d;
	decide_finish(spec, "{\"id\": \"abc\"}", &d);
	expect_decision(&d, PW_VERDICT_APPROVAL, "review", PW_TIER_NONE, "default", NULL, NULL);
	assert_non_null(d.owner);
	assert_string_equal(d.owner, "ops");
	assert_int_equal(d.expires_ms, NOW + D1);
	pw_decision_release(&d);
	pw_spec_free(spec);

	spec = load_spec_with("{approval: {owner: ops, reason: review, expires: 30m}}", "");
	decide_finish(spec, "{\"id\": \"abc\"}", &d);
	expect_decision(&d, PW_VERDICT_APPROVAL, "review", PW_TIER_NONE, "default", NULL, NULL);
	assert_int_equal(d.expires_ms, NOW + 30 * 60000);
	pw_decision_release(&d);
	pw_spec_free(spec);
}

/* An expression that hits the step limit denies, with the check that failed. */
static void expect_rule_error(const pw_decision *d, const char *what, const char *check)
{
	if (d->verdict != PW_VERDICT_REJECT || d->reason == NULL ||
	    strcmp(d->reason, "RULE_ERROR") != 0 || strcmp(d->check, check) != 0 ||
	    d->tier != PW_TIER_NONE || !json_is_string(d->expected) ||
	    strcmp(json_string_value(d->expected),
	           "an expression that evaluates within its bounds") != 0 ||
	    !json_is_string(d->actual) ||
	    strstr(json_string_value(d->actual), "step limit") == NULL)
		fail_msg("%s: got %s %s check \"%s\": %s; want RULE_ERROR check \"%s\"", what,
		         pw_verdict_name(d->verdict), d->reason ? d->reason : "(null)", d->check,
		         d->message, check);
}

static void test_rule_error_step_limit(void **state)
{
	(void)state;
	pw_spec *spec = load_heavy_spec();
	pw_run r;
	pw_decision d;
	json_t *in = J("{}");
	run_begin(&r, spec, "run-a", "INIT");
	static const struct {
		const char *action, *check;
	} cases[] = {{"HeavyRule", "decide[0]"}, {"HeavyPre", "pre[0]"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pw_call c = call_of(spec, cases[i].action, in);
		assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
		expect_rule_error(&d, cases[i].action, cases[i].check);
		pw_decision_release(&d);
	}
	pw_run_release(&r);

	/* a requirement's value */
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	pw_call c = call_of(spec, "HeavyReq", in);
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_rule_error(&d, "HeavyReq", "requires[0]");
	pw_decision_release(&d);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------------- the order */

static void test_order_early_checks(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char want[PW_HASH_STR_LEN + 3];
	snprintf(want, sizeof want, "\"%s\"", spec->workflow_id);
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	json_t *bad = J("{\"n\": 9007199254740992}");
	json_t *in = J("{}");

	/* halted (not frozen), in doubt, busy, another spec, unsafe number, locked out
	   elsewhere, a bogus retry: the parse decides */
	fold_ok(&r, ev_call("c2", "Prepare", "reject", "CODE_HASH_MISMATCH", "fatal"));
	fold_ok(&r, ev_halt("CODE_HASH_MISMATCH", "fatal", 2, false));
	pw_call c = call_of(spec, "Nope", bad);
	c.spec_id = "sha256:" PIN2;
	c.busy = true;
	c.locked_out = true;
	c.attempt = 2;
	c.retry_of = "c9";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "input",
	               "\"numbers of magnitude below 2^53\"", NULL);
	/* then the spec pin */
	c.input = in;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY,
	               "spec", want, "\"sha256:" PIN2 "\"");
	/* then the lockout */
	c.spec_id = spec->workflow_id;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "AGENT_LOCKED_OUT", PW_TIER_NONE, "agent",
	               "\"an agent that is not locked out\"", "\"alice\"");
	/* then the halt */
	c.locked_out = false;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RUN_HALTED", PW_TIER_NONE, "run",
	               "\"a run that is not halted\"", "\"CODE_HASH_MISMATCH\"");
	pw_run_release(&r);

	/* busy before in doubt, in doubt before a bogus retry, a bogus retry before an
	   unknown action */
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CALL_IN_PROGRESS", PW_TIER_NONE, "run",
	               "\"no call in progress\"", "\"c1\"");
	c.busy = false;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CALL_IN_DOUBT", PW_TIER_NONE, "run",
	               "\"no call in doubt\"", "\"c1\"");
	fold_ok(&r, ev_result("c1", "failed", "INIT", "uncorrected", "EXIT_STATUS", NULL));
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");
	c.attempt = 0;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "UNKNOWN_ACTION", PW_TIER_POLICY, "actions",
	               "[\"Prepare\", \"Finish\", \"Ship\"]", "\"Nope\"");
	json_decref(bad);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_order_late_checks(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	/* bad input and the wrong state: the input decides */
	expect_reject(spec, &r, "Finish", "{}", "INPUT_INVALID", PW_TIER_NONE, "input:required",
	              "\"id\"", NULL);
	/* the wrong state and a missing capability: the transition decides */
	expect_reject(spec, &r, "Finish", "{\"id\": \"abc\"}", "ILLEGAL_TRANSITION", PW_TIER_NONE,
	              "from", "[\"READY\", \"HOLD\"]", "\"INIT\"");
	pw_run_release(&r);

	/* a mismatched capability, a failing pre and a changed program: the capability */
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"zzz\"}]");
	json_t *in = J("{\"id\": \"abc\", \"amount\": 2000}");
	pw_call c = call_of(spec, "Finish", in);
	c.agent = "mallory";
	c.program_sha256 = PIN2;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CAP_MISMATCH", PW_TIER_NONE, "requires[0]",
	               "\"token@abc\"", "[\"token@zzz\"]");
	pw_run_release(&r);

	/* a failing pre and a changed program: the pre */
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "PRECONDITION_FAILED", PW_TIER_NONE,
	               "pre[2]", "true", "false");
	/* a changed program and a blocking rule: the program */
	c.agent = "alice";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "\"" PIN "\"", "\"" PIN2 "\"");
	c.program_sha256 = PIN;
	expect_verdict(spec, &r, &c, PW_VERDICT_BLOCK, "too_big", PW_TIER_NONE, "decide[0]", NULL,
	               NULL);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------------- outcomes */

static pw_exec_facts exited(int status, const json_t *result)
{
	pw_exec_facts f = {
	        .how = PW_HOW_EXITED, .exit_status = status, .result = result, .now_ms = NOW};
	return f;
}

static void expect_outcome(const pw_outcome *o, bool ok, const char *reason, pw_tier tier,
                           const char *check, const char *caps, const char *state_after)
{
	if (o->ok != ok || o->reason == NULL || strcmp(o->reason, reason) != 0 || o->tier != tier ||
	    strcmp(o->check, check) != 0)
		fail_msg("got ok=%d %s tier %s check \"%s\" (%s); want ok=%d %s tier %s check "
		         "\"%s\"",
		         o->ok, o->reason ? o->reason : "(null)", tier_str(o->tier), o->check,
		         o->message, ok, reason, tier_str(tier), check);
	expect_json(o->caps, caps, "caps");
	assert_non_null(o->state);
	assert_string_equal(o->state, state_after);
	assert_true(o->message[0] != '\0');
}

/* The outcome of action with input (JSON text) run in r, from facts f. */
static void outcome_of(const pw_spec *spec, const char *action, const pw_run *r, const char *input,
                       const pw_exec_facts *f, pw_outcome *o)
{
	const pw_action *a = pw_spec_action(spec, action);
	assert_non_null(a);
	json_t *in = J(input);
	assert_int_equal(pw_outcome_compute(spec, a, r, in, f, o), PW_OK);
	json_decref(in);
}

/* Prepare in a run in INIT with input {"branch": "main"}; the result is JSON text or NULL. */
static void expect_prepare(const pw_exec_facts *f0, const char *result, bool ok, const char *reason,
                           pw_tier tier, const char *check, const char *caps,
                           const char *state_after)
{
	pw_spec *spec = load_spec();
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *res = result ? J(result) : NULL;
	pw_exec_facts f = *f0;
	f.result = res;
	outcome_of(spec, "Prepare", &r, "{\"branch\": \"main\"}", &f, &o);
	expect_outcome(&o, ok, reason, tier, check, caps, state_after);
	pw_outcome_release(&o);
	json_decref(res);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_outcome_exit_status(void **state)
{
	(void)state;
	pw_exec_facts f = exited(75, NULL);
	expect_prepare(&f, "{\"id\": \"t1\"}", false, "EXIT_STATUS", PW_TIER_CORRECTABLE,
	               "errors.exit.75", "[]", "INIT");
	f.exit_status = 3;
	expect_prepare(&f, "{\"id\": \"t1\"}", false, "EXIT_STATUS", PW_TIER_FATAL, "errors.exit.3",
	               "[]", "INIT");
	/* unmapped statuses are uncorrected */
	f.exit_status = 1;
	expect_prepare(&f, "{\"id\": \"t1\"}", false, "EXIT_STATUS", PW_TIER_UNCORRECTED, "exit",
	               "[]", "INIT");
	f.exit_status = 255;
	expect_prepare(&f, NULL, false, "EXIT_STATUS", PW_TIER_UNCORRECTED, "exit", "[]", "INIT");
}

static void test_outcome_not_exited(void **state)
{
	(void)state;
	pw_exec_facts f = exited(0, NULL);
	f.how = PW_HOW_TIMEOUT;
	f.signal = 9;
	expect_prepare(&f, "{\"id\": \"t1\"}", false, "TIMEOUT", PW_TIER_UNCORRECTED, "run.timeout",
	               "[]", "INIT");
	f.how = PW_HOW_SIGNALED;
	f.signal = 11;
	expect_prepare(&f, "{\"id\": \"t1\"}", false, "KILLED_BY_SIGNAL", PW_TIER_UNCORRECTED,
	               "run", "[]", "INIT");
	f.how = PW_HOW_SPAWN_FAILED;
	expect_prepare(&f, NULL, false, "SPAWN_FAILED", PW_TIER_UNCORRECTED, "run", "[]", "INIT");
	f.how = PW_HOW_CODE_MISMATCH;
	expect_prepare(&f, "{\"id\": \"t1\"}", false, "CODE_HASH_MISMATCH", PW_TIER_FATAL,
	               "run.sha256", "[]", "INIT");
}

static void test_outcome_result_invalid(void **state)
{
	(void)state;
	pw_exec_facts f = exited(0, NULL);
	expect_prepare(&f, NULL, false, "RESULT_INVALID", PW_TIER_UNCORRECTED, "result", "[]",
	               "INIT");
	expect_prepare(&f, "[{\"id\": \"t1\"}]", false, "RESULT_INVALID", PW_TIER_UNCORRECTED,
	               "result", "[]", "INIT");
	expect_prepare(&f, "\"t1\"", false, "RESULT_INVALID", PW_TIER_UNCORRECTED, "result", "[]",
	               "INIT");
}

static void test_outcome_postcondition_failed(void **state)
{
	(void)state;
	pw_exec_facts f = exited(0, NULL);
	expect_prepare(&f, "{\"id\": \"\"}", false, "POSTCONDITION_FAILED", PW_TIER_UNCORRECTED,
	               "post[0]", "[]", "INIT");
	expect_prepare(&f, "{}", false, "POSTCONDITION_FAILED", PW_TIER_UNCORRECTED, "post[0]",
	               "[]", "INIT");
	expect_prepare(&f, "{\"id\": \"bad\"}", false, "POSTCONDITION_FAILED", PW_TIER_UNCORRECTED,
	               "post[1]", "[]", "INIT");
}

static void test_outcome_emit_failed(void **state)
{
	(void)state;
	pw_exec_facts f = exited(0, NULL);
	/* emits[0]'s value is an object, a list, a boolean, null */
	expect_prepare(&f, "{\"id\": {\"a\": 1}}", false, "EMIT_FAILED", PW_TIER_UNCORRECTED,
	               "emits[0]", "[]", "INIT");
	expect_prepare(&f, "{\"id\": [\"a\"]}", false, "EMIT_FAILED", PW_TIER_UNCORRECTED,
	               "emits[0]", "[]", "INIT");
	expect_prepare(&f, "{\"id\": true}", false, "EMIT_FAILED", PW_TIER_UNCORRECTED, "emits[0]",
	               "[]", "INIT");
	/* emits[2] fails after emits[0] and [1] were minted: nothing is minted */
	expect_prepare(&f, "{\"id\": \"t1\", \"extra\": true, \"extra_id\": {\"x\": 1}}", false,
	               "EMIT_FAILED", PW_TIER_UNCORRECTED, "emits[2]", "[]", "INIT");
	expect_prepare(&f, "{\"id\": \"t1\", \"extra\": true}", false, "EMIT_FAILED",
	               PW_TIER_UNCORRECTED, "emits[2]", "[]", "INIT");
	/* a string value of at most 1024 bytes */
	char res[1200], caps[1300];
	char long_id[1026];
	memset(long_id, 'x', sizeof long_id - 1);
	long_id[1025] = '\0';
	snprintf(res, sizeof res, "{\"id\": \"%s\"}", long_id);
	expect_prepare(&f, res, false, "EMIT_FAILED", PW_TIER_UNCORRECTED, "emits[0]", "[]",
	               "INIT");
	long_id[1024] = '\0';
	snprintf(res, sizeof res, "{\"id\": \"%s\"}", long_id);
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"%s\"},"
	         " {\"cap\": \"branch\", \"value\": \"main\", \"expires_ms\": %lld}]",
	         long_id, (long long)(NOW + H1));
	expect_prepare(&f, res, true, "OK", PW_TIER_NONE, "", caps, "READY");
}

static void test_outcome_ok_mints(void **state)
{
	(void)state;
	pw_exec_facts f = exited(0, NULL);
	char caps[512];
	/* value from the result and from the input; ttl 1h from the result's time */
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"t1\"},"
	         " {\"cap\": \"branch\", \"value\": \"main\", \"expires_ms\": %lld}]",
	         (long long)(NOW + H1));
	expect_prepare(&f, "{\"id\": \"t1\"}", true, "OK", PW_TIER_NONE, "", caps, "READY");
	/* emits[2]'s when is false: not minted */
	expect_prepare(&f, "{\"id\": \"t1\", \"extra\": false, \"extra_id\": \"e1\"}", true, "OK",
	               PW_TIER_NONE, "", caps, "READY");
	/* ... and true: minted, in the order of emits */
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"t1\"},"
	         " {\"cap\": \"branch\", \"value\": \"main\", \"expires_ms\": %lld},"
	         " {\"cap\": \"extra\", \"value\": \"e1\"}]",
	         (long long)(NOW + H1));
	expect_prepare(&f, "{\"id\": \"t1\", \"extra\": true, \"extra_id\": \"e1\"}", true, "OK",
	               PW_TIER_NONE, "", caps, "READY");
	/* a number is a value */
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": 42},"
	         " {\"cap\": \"branch\", \"value\": \"main\", \"expires_ms\": %lld}]",
	         (long long)(NOW + H1));
	expect_prepare(&f, "{\"id\": 42}", true, "OK", PW_TIER_NONE, "", caps, "READY");

	/* the message says so */
	pw_spec *spec = load_spec();
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *res = J("{\"id\": \"t1\"}");
	f.result = res;
	outcome_of(spec, "Prepare", &r, "{\"branch\": \"main\"}", &f, &o);
	assert_string_equal(o.message, "Prepare succeeded");
	/* the ttl counts from the facts' time, not the run's */
	json_t *branch = json_array_get(o.caps, 1);
	assert_int_equal(pw_event_int(branch, "expires_ms"), NOW + H1);
	pw_outcome_release(&o);
	assert_null(o.caps);
	assert_null(o.state);
	json_decref(res);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_outcome_to_list(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	pw_outcome o;
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	json_t *done = J("{\"done\": true}"), *more = J("{\"done\": false}");
	pw_exec_facts f = exited(0, done);
	/* the first target whose when holds */
	outcome_of(spec, "Finish", &r, "{\"id\": \"abc\"}", &f, &o);
	expect_outcome(&o, true, "OK", PW_TIER_NONE, "", "[]", "DONE");
	pw_outcome_release(&o);
	/* a target without when matches */
	f.result = more;
	outcome_of(spec, "Finish", &r, "{\"id\": \"abc\"}", &f, &o);
	expect_outcome(&o, true, "OK", PW_TIER_NONE, "", "[]", "HOLD");
	pw_outcome_release(&o);
	/* a failure leaves the state */
	f.exit_status = 1;
	outcome_of(spec, "Finish", &r, "{\"id\": \"abc\"}", &f, &o);
	expect_outcome(&o, false, "EXIT_STATUS", PW_TIER_UNCORRECTED, "exit", "[]", "READY");
	pw_outcome_release(&o);
	json_decref(done);
	json_decref(more);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* An expression of to[] or emits[].when that cannot be evaluated fails the call. */
static void test_outcome_expression_errors(void **state)
{
	(void)state;
	pw_spec *spec = load_heavy_spec();
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *res = J("{}");
	pw_exec_facts f = exited(0, res);
	/* emits[0] was minted before to[0] failed: nothing is */
	outcome_of(spec, "HeavyTo", &r, "{}", &f, &o);
	expect_outcome(&o, false, "TRANSITION_FAILED", PW_TIER_UNCORRECTED, "to[0]", "[]", "INIT");
	assert_non_null(strstr(o.message, "step limit"));
	pw_outcome_release(&o);
	outcome_of(spec, "HeavyEmit", &r, "{}", &f, &o);
	expect_outcome(&o, false, "EMIT_FAILED", PW_TIER_UNCORRECTED, "emits[1]", "[]", "INIT");
	assert_non_null(strstr(o.message, "step limit"));
	pw_outcome_release(&o);
	json_decref(res);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------------------- fold */

/* A run starts with its genesis: no other kind of event can be its seq 0. */
static void test_fold_refuses_events_before_genesis(void **state)
{
	(void)state;
	pw_run r;
	char err[256];
	static const char *const kinds[] = {"call", "result", "resolve"};
	for (size_t i = 0; i < 3; i++) {
		json_t *ev = i == 0   ? ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL)
		             : i == 1 ? ev_result("c1", "ok", "READY", NULL, "OK", NULL)
		                      : ev_resolve("c1", "ok", "READY", "ops");
		pw_run_init(&r);
		pw_status st = fold_at(&r, ev, "run-a", 0, pw_event_genesis_prev, err, sizeof err);
		uint64_t n = r.n_events;
		pw_run_release(&r);
		if (st != PW_ERR_INVALID)
			fail_msg("a %s event at seq 0 was folded: %s", kinds[i],
			         pw_status_name(st));
		assert_int_equal(n, 0);
		assert_true(strncmp(err, "seq 0: ", 7) == 0);
	}
}

static void test_fold_genesis_first(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char err[256];

	/* a second genesis */
	run_begin(&r, spec, "run-a", "INIT");
	fold_refused(&r, ev_genesis(spec, "READY"),
	             "seq 1: a genesis event after the start of the run");
	assert_string_equal(r.state, "INIT");
	pw_run_release(&r);

	/* a genesis without state, or with a malformed workflow_id */
	pw_run_init(&r);
	json_t *g = json_pack("{s:s, s:s, s:s}", "kind", "genesis", "workflow_id",
	                      spec->workflow_id, "workflow", "shop");
	assert_int_equal(fold_at(&r, g, "run-a", 0, pw_event_genesis_prev, err, sizeof err),
	                 PW_ERR_INVALID);
	assert_string_equal(err, "seq 0: genesis without workflow_id, workflow and state");
	g = json_pack("{s:s, s:s, s:s, s:s}", "kind", "genesis", "workflow_id", PIN, "workflow",
	              "shop", "state", "INIT");
	assert_int_equal(fold_at(&r, g, "run-a", 0, pw_event_genesis_prev, err, sizeof err),
	                 PW_ERR_INVALID);
	assert_string_equal(err, "seq 0: genesis without workflow_id, workflow and state");
	assert_int_equal(r.n_events, 0);
	assert_null(r.state);
	pw_run_release(&r);

	/* the genesis sets the run */
	run_begin(&r, spec, "run-a", "INIT");
	assert_string_equal(r.run_id, "run-a");
	assert_string_equal(r.workflow_id, spec->workflow_id);
	assert_string_equal(r.workflow, "shop");
	assert_string_equal(r.state, "INIT");
	assert_int_equal(r.started_ms, T0);
	assert_int_equal(r.n_events, 1);
	assert_false(r.halted);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_fold_seq_gaps(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char err[256];
	run_begin(&r, spec, "run-a", "INIT");
	/* seq 2 after seq 0 */
	assert_int_equal(fold_at(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL),
	                         "run-a", 2, r.head, err, sizeof err),
	                 PW_ERR_INVALID);
	assert_string_equal(err, "seq 2: expected seq 1");
	/* seq 0 again */
	assert_int_equal(fold_at(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL),
	                         "run-a", 0, r.head, err, sizeof err),
	                 PW_ERR_INVALID);
	assert_string_equal(err, "seq 0: expected seq 1");
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.n_open, 0);
	assert_int_equal(r.counts.calls, 0);

	/* an event without a hash, or of an unknown kind */
	json_t *ev = ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL);
	assert_int_equal(pw_event_seal(ev, "run-a", 1, r.head, NOW), PW_OK);
	assert_int_equal(json_object_del(ev, "hash"), 0);
	assert_int_equal(pw_run_fold(&r, ev, err, sizeof err), PW_ERR_INVALID);
	assert_string_equal(err, "seq 1: event without kind, seq or hash");
	json_decref(ev);
	fold_refused(&r, json_pack("{s:s}", "kind", "party"),
	             "seq 1: unknown event kind \"party\"");

	/* seq 1 is accepted */
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	assert_int_equal(r.n_events, 2);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_fold_result_needs_open_call(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_refused(&r, ev_result("c9", "ok", "READY", NULL, "OK", NULL),
	             "seq 1: result for call \"c9\", which is not open");
	assert_string_equal(r.state, "INIT");
	assert_int_equal(r.counts.ok, 0);

	/* a result closes its call: a second one is refused */
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c1", "ok", "READY", NULL, "OK", NULL));
	fold_refused(&r, ev_result("c1", "ok", "DONE", NULL, "OK", NULL),
	             "seq 3: result for call \"c1\", which is not open");
	assert_string_equal(r.state, "READY");

	/* a call that was not allowed has no result */
	fold_ok(&r, ev_call("c2", "Finish", "block", "too_big", NULL));
	fold_refused(&r, ev_result("c2", "ok", "DONE", NULL, "OK", NULL),
	             "seq 4: result for call \"c2\", which is not open");
	fold_ok(&r, ev_approval("c3", "ap-1", "ops", "big_one", NOW + H1));
	fold_refused(&r, ev_result("c3", "ok", "DONE", NULL, "OK", NULL),
	             "seq 5: result for call \"c3\", which is not open");

	/* outcome is ok or failed */
	fold_ok(&r, ev_call("c4", "Finish", "allow", "DEFAULT_ALLOW", NULL));
	fold_refused(&r, ev_result("c4", "maybe", "DONE", NULL, "OK", NULL),
	             "seq 6: outcome \"maybe\" is neither ok nor failed");
	assert_int_equal(r.n_open, 1);
	/* the same call_id cannot be opened twice */
	fold_refused(&r, ev_call("c4", "Finish", "allow", "DEFAULT_ALLOW", NULL),
	             "seq 6: call_id \"c4\" is already open");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_fold_resolve(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	assert_int_equal(r.n_open, 1);
	const pw_open_call *oc = pw_run_open_call(&r, "c1");
	assert_non_null(oc);
	assert_string_equal(oc->action, "Prepare");
	assert_string_equal(oc->agent, "alice");
	assert_int_equal(oc->seq, 1);
	assert_null(pw_run_open_call(&r, "c2"));

	/* resolve needs "by" */
	fold_refused(&r, ev_resolve("c1", "ok", "READY", NULL),
	             "seq 2: resolve event without call_id, outcome, by or state");
	fold_refused(&r, ev_resolve("c9", "ok", "READY", "ops"),
	             "seq 2: resolve of call \"c9\", which is not open");
	assert_int_equal(r.n_open, 1);

	fold_ok(&r, ev_resolve("c1", "ok", "READY", "ops"));
	assert_int_equal(r.n_open, 0);
	assert_null(pw_run_open_call(&r, "c1"));
	assert_string_equal(r.state, "READY");
	assert_int_equal(r.counts.resolved, 1);
	assert_int_equal(r.n_caps, 0);
	fold_refused(&r, ev_resolve("c1", "failed", "INIT", "ops"),
	             "seq 3: resolve of call \"c1\", which is not open");

	/* no longer in doubt: the next call goes on to the transition check */
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "ILLEGAL_TRANSITION",
	              PW_TIER_NONE, "from", "[\"INIT\"]", "\"READY\"");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_fold_approval_pending(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_ready(&r, spec, "[]");
	fold_ok(&r, ev_approval("c2", "ap-1", "ops", "big_one", NOW + H1));
	assert_int_equal(r.n_pending, 1);
	assert_int_equal(r.n_open, 0);
	const pw_pending *p = &r.pending[0];
	assert_string_equal(p->approval_id, "ap-1");
	assert_string_equal(p->call_id, "c2");
	assert_string_equal(p->action, "Finish");
	assert_string_equal(p->owner, "ops");
	assert_string_equal(p->reason, "big_one");
	assert_int_equal(p->expires_ms, NOW + H1);
	assert_int_equal(p->seq, 3);
	assert_int_equal(r.counts.approval, 1);
	/* a pending approval is not a call in doubt */
	expect_reject(spec, &r, "Finish", "{\"id\": \"abc\"}", "CAP_MISSING", PW_TIER_NONE,
	              "requires[0]", "\"token@abc\"", "[]");

	/* an approval names its approval_id, owner, expiry and call_sha256; a verdict other
	 * than reject its action */
	static const char *const drop[] = {"approval_id", "owner", "expires_ms", "call_sha256"};
	for (size_t i = 0; i < 4; i++) {
		json_t *ev = ev_approval("c3", "ap-2", "ops", "big_one", NOW + H1);
		assert_int_equal(json_object_del(ev, drop[i]), 0);
		fold_refused(&r, ev,
		             "seq 4: approval verdict without approval_id, owner, expires_ms or "
		             "call_sha256");
	}
	json_t *ev = ev_approval("c3", "ap-2", "ops", "big_one", NOW + H1);
	assert_int_equal(json_object_set_new(ev, "call_sha256", json_string("sha256:" PIN "0")), 0);
	fold_refused(&r, ev, "seq 4: call_sha256 is not a sha256: hash");
	ev = ev_approval("c3", "ap-2", "ops", "big_one", NOW + H1);
	assert_int_equal(json_object_set_new(ev, "call_sha256", json_string("sha256:" PIN2)), 0);
	/* the same approval_id again is a repeat of the same call, not another request */
	assert_int_equal(json_object_set_new(ev, "approval_id", json_string("ap-1")), 0);
	fold_refused(&r, ev, "seq 4: approval ap-1 is not pending for this call");
	assert_string_equal(p->call_sha256, CALL_SHA);
	fold_refused(&r, ev_call("c3", NULL, "block", "too_big", NULL),
	             "seq 4: a block verdict without an action");
	fold_refused(&r, ev_call("c3", "Finish", "maybe", "too_big", NULL),
	             "seq 4: call event without call_id, agent, verdict or reason");
	fold_refused(&r, ev_call("c3", "Finish", "reject", "INPUT_INVALID", "severe"),
	             "seq 4: call event without call_id, agent, verdict or reason");
	assert_int_equal(r.n_pending, 1);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_fold_counts(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c1", "ok", "READY", NULL, "OK", NULL));
	fold_ok(&r, ev_approval("c2", "ap-1", "ops", "big_one", NOW + H1));
	fold_ok(&r, ev_call("c3", "Finish", "block", "too_big", NULL));
	fold_ok(&r, ev_call("c4", "Finish", "reject", "CAP_MISSING", NULL));
	fold_ok(&r, ev_call("c5", "Finish", "allow", "RULE_ALLOW", NULL));
	fold_ok(&r, ev_result("c5", "failed", "READY", "correctable", "EXIT_STATUS", NULL));
	fold_ok(&r, ev_call("c6", "Finish", "allow", "RULE_ALLOW", NULL));
	fold_ok(&r, ev_resolve("c6", "failed", "READY", "ops"));
	fold_ok(&r, ev_call("c7", "Finish", "allow", "RULE_ALLOW", NULL));
	fold_ok(&r, ev_result("c7", "failed", "READY", "uncorrected", "TIMEOUT", NULL));
	const pw_run_counts *n = &r.counts;
	assert_int_equal(n->calls, 7);
	assert_int_equal(n->allowed, 4);
	assert_int_equal(n->approval, 1);
	assert_int_equal(n->blocked, 1);
	assert_int_equal(n->rejected, 1);
	assert_int_equal(n->ok, 1);
	assert_int_equal(n->failed, 2);
	assert_int_equal(n->resolved, 1);
	/* 7 calls and 3 results: tier none for 8 events, one of each failure tier */
	assert_int_equal(n->tier[PW_TIER_NONE], 8);
	assert_int_equal(n->tier[PW_TIER_CORRECTABLE], 1);
	assert_int_equal(n->tier[PW_TIER_UNCORRECTED], 1);
	assert_int_equal(n->tier[PW_TIER_FATAL], 0);
	assert_int_equal(n->tier[PW_TIER_POLICY], 0);
	assert_int_equal(r.n_events, 12);
	assert_int_equal(r.last_ms, T0 + 11);
	assert_int_equal(r.n_open, 0);
	assert_int_equal(r.n_pending, 1);

	/* head is the hash of the last event folded */
	json_t *ev = ev_call("c8", "Finish", "reject", "PRECONDITION_FAILED", NULL);
	char head[PW_HASH_STR_LEN + 1];
	assert_int_equal(pw_event_seal(ev, "run-a", 12, r.head, NOW), PW_OK);
	assert_int_equal(pw_event_hash(ev, head), PW_OK);
	char err[256];
	assert_int_equal(pw_run_fold(&r, ev, err, sizeof err), PW_OK);
	assert_string_equal(r.head, head);
	assert_int_equal(r.last_ms, NOW);
	json_decref(ev);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_fold_caps(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char caps[256];
	run_begin(&r, spec, "run-a", "INIT");
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"abc\"},"
	         " {\"cap\": \"n\", \"value\": 5, \"expires_ms\": %lld}]",
	         (long long)NOW);
	run_mint(&r, "c1", "READY", caps);
	assert_int_equal(r.n_caps, 2);
	assert_string_equal(r.caps[0].type, "token");
	assert_string_equal(json_string_value(r.caps[0].value), "abc");
	assert_int_equal(r.caps[0].expires_ms, 0);
	assert_int_equal(r.caps[0].seq, 2);
	assert_string_equal(r.caps[1].type, "n");
	assert_int_equal(r.caps[1].expires_ms, NOW);

	/* a failed result mints nothing, whatever it lists */
	fold_ok(&r, ev_call("c2", "Finish", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c2", "failed", "READY", "uncorrected", "EXIT_STATUS",
	                      "[{\"cap\": \"token\", \"value\": \"def\"}]"));
	assert_int_equal(r.n_caps, 2);

	/* what pre and rules see: unexpired capabilities by type */
	json_t *seen = pw_run_caps_json(&r, NOW - 1);
	expect_json(seen, "{\"token\": [\"abc\"], \"n\": [5]}", "caps before expiry");
	json_decref(seen);
	seen = pw_run_caps_json(&r, NOW);
	expect_json(seen, "{\"token\": [\"abc\"]}", "caps at expiry");
	json_decref(seen);

	/* a capability value must be a string or a number */
	fold_ok(&r, ev_call("c3", "Finish", "allow", "DEFAULT_ALLOW", NULL));
	fold_refused(&r,
	             ev_result("c3", "ok", "READY", NULL, "OK",
	                       "[{\"cap\": \"token\", \"value\": {\"a\": 1}}]"),
	             "seq 6: caps[0] is not {cap, value[, expires_ms]}");
	char buf[64];
	pw_cap_format("token", r.caps[0].value, buf, sizeof buf);
	assert_string_equal(buf, "token@abc");
	pw_cap_format("n", r.caps[1].value, buf, sizeof buf);
	assert_string_equal(buf, "n@5");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* Minting type@value again does not add a capability: the run's state stays the same size. */
static void test_fold_caps_again(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	char caps[256];
	run_begin(&r, spec, "run-a", "INIT");
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"token\", \"value\": \"abc\"},"
	         " {\"cap\": \"n\", \"value\": 5, \"expires_ms\": %lld}]",
	         (long long)NOW);
	run_mint(&r, "c1", "READY", caps);
	/* later expiry: extended; a capability without expiry keeps lasting */
	snprintf(caps, sizeof caps,
	         "[{\"cap\": \"n\", \"value\": 5, \"expires_ms\": %lld},"
	         " {\"cap\": \"token\", \"value\": \"abc\", \"expires_ms\": %lld}]",
	         (long long)NOW + 1000, (long long)NOW);
	run_mint(&r, "c2", "READY", caps);
	assert_int_equal(r.n_caps, 2);
	assert_string_equal(r.caps[0].type, "token");
	assert_int_equal(r.caps[0].expires_ms, 0);
	assert_int_equal(r.caps[0].seq, 4);
	assert_int_equal(r.caps[1].expires_ms, NOW + 1000);
	/* an earlier expiry does not shorten it; none makes it last */
	snprintf(caps, sizeof caps, "[{\"cap\": \"n\", \"value\": 5, \"expires_ms\": %lld}]",
	         (long long)NOW + 500);
	run_mint(&r, "c3", "READY", caps);
	assert_int_equal(r.caps[1].expires_ms, NOW + 1000);
	assert_int_equal(r.caps[1].seq, 6);
	run_mint(&r, "c4", "READY", "[{\"cap\": \"n\", \"value\": 5}]");
	assert_int_equal(r.caps[1].expires_ms, 0);
	/* another value or another type is another capability */
	run_mint(&r, "c5", "READY",
	         "[{\"cap\": \"n\", \"value\": 6}, {\"cap\": \"m\", \"value\": 5},"
	         " {\"cap\": \"n\", \"value\": \"5\"}]");
	assert_int_equal(r.n_caps, 5);
	json_t *seen = pw_run_caps_json(&r, NOW + 2000);
	expect_json(seen, "{\"token\": [\"abc\"], \"n\": [5, 6, \"5\"], \"m\": [5]}",
	            "each held once");
	json_decref(seen);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------- approvals, lockouts, retries */

/*
 * A spec for the tiers: Flaky retries (2, from 2s) and escalates at 3
 * correctable failures in 10s; Other escalates at 10 in the run's window;
 * Slow backs off from 40m; Spare maps timeout and signal the other way;
 * the run escalates at 4 in 1m.
 */
static const char ras_text[] = "pitwall: 1\n"
                               "name: ras\n"
                               "owners:\n"
                               "  ops: {title: Ops}\n"
                               "states: [INIT, DONE]\n"
                               "initial: INIT\n"
                               "terminal: [DONE]\n"
                               "default: allow\n"
                               "errors: {escalate: {count: 4, window: 1m}}\n"
                               "actions:\n"
                               "  Flaky:\n"
                               "    from: [INIT]\n"
                               "    input: {type: object}\n"
                               "    errors:\n"
                               "      exit: {75: correctable, 3: fatal}\n"
                               "      timeout: correctable\n"
                               "      signal: fatal\n"
                               "      retry: {max: 2, backoff: 2s}\n"
                               "      escalate: {count: 3, window: 10s}\n"
                               "    run: {program: bin/flaky, sha256: " PIN "}\n"
                               "  Other:\n"
                               "    from: [INIT]\n"
                               "    input: {type: object}\n"
                               "    errors: {exit: {75: correctable}, escalate: {count: 10}}\n"
                               "    run: {program: bin/other, sha256: " PIN "}\n"
                               "  Slow:\n"
                               "    from: [INIT]\n"
                               "    input: {type: object}\n"
                               "    errors:\n"
                               "      exit: {75: correctable}\n"
                               "      retry: {max: 3, backoff: 40m}\n"
                               "      escalate: {count: 100}\n"
                               "    run: {program: bin/slow, sha256: " PIN "}\n"
                               "  Spare:\n"
                               "    from: [INIT]\n"
                               "    input: {type: object}\n"
                               "    errors: {timeout: uncorrected, signal: correctable}\n"
                               "    run: {program: bin/spare, sha256: " PIN "}\n"
                               "  End:\n"
                               "    from: [INIT]\n"
                               "    to: DONE\n"
                               "    input: {type: object}\n"
                               "    run: {program: bin/end, sha256: " PIN "}\n";

/*
 * Decide c in r, record the call event as the broker does ("c<seq>", at
 * c->now_ms) and fold it. Returns the event (the caller frees it).
 */
static json_t *record_and_fold(const pw_spec *spec, pw_run *r, const pw_call *c)
{
	char call_id[32];
	pw_decision d;
	snprintf(call_id, sizeof call_id, "c%llu", (unsigned long long)r->n_events);
	assert_int_equal(pw_decide(spec, r, c, &d), PW_OK);
	json_t *ev = pw_record_call(r->state, c, &d, call_id);
	pw_decision_release(&d);
	assert_non_null(ev);
	json_incref(ev);
	fold_ok_at(r, ev, c->now_ms);
	return ev;
}

/* An allowed call of action and its failed result of tier, both at time_ms. */
static void fail_at(pw_run *r, const char *action, const char *tier, int64_t time_ms)
{
	char call_id[32];
	snprintf(call_id, sizeof call_id, "c%llu", (unsigned long long)r->n_events);
	json_t *c = ev_call(call_id, action, "allow", "DEFAULT_ALLOW", NULL);
	fold_ok_at(r, c, time_ms);
	fold_ok_at(r, ev_result(call_id, "failed", "INIT", tier, "EXIT_STATUS", NULL), time_ms);
}

/* The member key of ev must be the JSON want (NULL: absent). */
static void expect_member(const json_t *ev, const char *key, const char *want)
{
	expect_json(json_object_get(ev, key), want, key);
}

/* SHA-256 of text as "sha256:<hex>", computed here without the core. */
static void sha256_of(const char *text, char out[PW_HASH_STR_LEN + 1])
{
	unsigned char md[PW_SHA256_LEN];
	unsigned mdlen = 0;
	assert_int_equal(EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, PW_SHA256_LEN);
	memcpy(out, "sha256:", 7);
	pw_hex(md, PW_SHA256_LEN, out + 7);
}

/* The hash an approval is bound to: of the canonical {"action", "input"}, nothing else. */
static void test_call_sha256(void **state)
{
	(void)state;
	char got[PW_HASH_STR_LEN + 1], want[PW_HASH_STR_LEN + 1], other[PW_HASH_STR_LEN + 1];
	json_t *in = J("{\"id\": \"abc\", \"amount\": 500, \"note\": \"Zo\\u00eb\"}");
	assert_int_equal(pw_call_sha256("Finish", in, got), PW_OK);
	sha256_of("{\"action\":\"Finish\",\"input\":{\"amount\":500,\"id\":\"abc\",\"note\":"
	          "\"Zo\xc3\xab\"}}",
	          want);
	assert_string_equal(got, want);
	/* member order and number spelling do not matter */
	json_t *same = J("{\"note\": \"Zo\xc3\xab\", \"amount\": 500.0, \"id\": \"abc\"}");
	assert_int_equal(pw_call_sha256("Finish", same, other), PW_OK);
	assert_string_equal(got, other);
	json_decref(same);
	/* the action and every member of the input do */
	assert_int_equal(pw_call_sha256("Ship", in, other), PW_OK);
	assert_string_not_equal(got, other);
	json_t *more = J("{\"id\": \"abc\", \"amount\": 501, \"note\": \"Zo\\u00eb\"}");
	assert_int_equal(pw_call_sha256("Finish", more, other), PW_OK);
	assert_string_not_equal(got, other);
	json_decref(more);
	json_decref(in);
}

/*
 * An approval request is bound to its call's hash: asked again while it
 * waits, the same request (same id and expiry, no new pending); approved,
 * the same call is allowed once (APPROVED), which consumes it; a third
 * identical call asks anew. Another input, or the approval past its
 * expiry, is a new request.
 */
static void test_approval_bound_to_call(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	pw_decision d;
	char sha[PW_HASH_STR_LEN + 1], want[PW_HASH_STR_LEN + 3];
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	json_t *in = J("{\"id\": \"abc\", \"amount\": 500}");
	assert_int_equal(pw_call_sha256("Finish", in, sha), PW_OK);
	snprintf(want, sizeof want, "\"%s\"", sha);
	pw_call c = call_of(spec, "Finish", in);

	/* a new request: its id is "a" + the seq of its call event */
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_null(d.approval_id);
	assert_string_equal(d.call_sha256, sha);
	assert_int_equal(d.expires_ms, NOW + H1);
	assert_string_equal(d.message, "decide[1]: waits for owner ops (big_one)");
	pw_decision_release(&d);
	json_t *ev = record_and_fold(spec, &r, &c);
	expect_member(ev, "approval_id", "\"a3\"");
	expect_member(ev, "call_sha256", want);
	expect_member(ev, "owner", "\"ops\"");
	assert_int_equal(pw_event_int(ev, "expires_ms"), NOW + H1);
	json_decref(ev);
	assert_int_equal(r.n_pending, 1);
	const pw_pending *p = pw_run_pending(&r, "a3");
	assert_non_null(p);
	assert_string_equal(p->call_id, "c3");
	assert_string_equal(p->action, "Finish");
	assert_string_equal(p->agent, "alice");
	assert_string_equal(p->owner, "ops");
	assert_string_equal(p->call_sha256, sha);
	assert_int_equal(p->expires_ms, NOW + H1);
	assert_false(p->approved);
	assert_null(p->by);
	expect_json(p->input, "{\"id\": \"abc\", \"amount\": 500}", "pending input");

	/* asked again while it waits: the same request, its expiry unchanged */
	c.now_ms = NOW + 1000;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_non_null(d.approval_id);
	assert_string_equal(d.approval_id, "a3");
	assert_int_equal(d.expires_ms, NOW + H1);
	assert_string_equal(d.call_sha256, sha);
	assert_string_equal(d.message, "decide[1]: still waits for owner ops (a3, big_one)");
	pw_decision_release(&d);
	ev = record_and_fold(spec, &r, &c);
	expect_member(ev, "approval_id", "\"a3\"");
	assert_int_equal(pw_event_int(ev, "expires_ms"), NOW + H1);
	json_decref(ev);
	assert_int_equal(r.n_pending, 1);
	assert_int_equal(r.counts.approval, 2);

	/* the owner approves */
	p = pw_run_pending(&r, "a3");
	ev = pw_record_approve(p, "ops", "root", "fine");
	char approve[512];
	snprintf(
	        approve, sizeof approve,
	        "{\"kind\": \"approve\", \"approval_id\": \"a3\", \"call_id\": \"c3\", \"action\": "
	        "\"Finish\", \"call_sha256\": %s, \"by\": \"ops\", \"os_user\": \"root\", "
	        "\"note\": \"fine\"}",
	        want);
	expect_json(ev, approve, "approve event");
	fold_ok_at(&r, ev, NOW + 2000);
	p = pw_run_pending(&r, "a3");
	assert_true(p->approved);
	assert_string_equal(p->by, "ops");
	assert_int_equal(p->decided_seq, 5);
	assert_int_equal(r.counts.approved, 1);

	/* another input is another call: a new request */
	json_t *in2 = J("{\"id\": \"abc\", \"amount\": 501}");
	pw_call c2 = call_of(spec, "Finish", in2);
	c2.now_ms = NOW + 3000;
	assert_int_equal(pw_decide(spec, &r, &c2, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_null(d.approval_id);
	assert_string_not_equal(d.call_sha256, sha);
	pw_decision_release(&d);
	json_decref(in2);

	/* past its expiry the approval is not used: the call asks anew */
	c.now_ms = NOW + H1;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_null(d.approval_id);
	assert_int_equal(d.expires_ms, NOW + 2 * H1);
	pw_decision_release(&d);

	/* the same call before then is allowed by it */
	c.now_ms = NOW + H1 - 1;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_ALLOW, "APPROVED", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_non_null(d.approval_id);
	assert_string_equal(d.approval_id, "a3");
	assert_string_equal(d.call_sha256, sha);
	assert_string_equal(d.owner, "ops");
	assert_int_equal(d.expires_ms, 0);
	assert_string_equal(d.message, "decide[1]: approved by ops (a3, big_one)");
	pw_decision_release(&d);
	ev = record_and_fold(spec, &r, &c);
	expect_member(ev, "verdict", "\"allow\"");
	expect_member(ev, "reason", "\"APPROVED\"");
	expect_member(ev, "check", "\"decide[1]\"");
	expect_member(ev, "owner", "\"ops\"");
	expect_member(ev, "approval_id", "\"a3\"");
	expect_member(ev, "call_sha256", want);
	expect_member(ev, "expires_ms", NULL);
	json_decref(ev);
	/* ... which consumes it */
	assert_int_equal(r.n_pending, 0);
	assert_null(pw_run_pending(&r, "a3"));
	assert_non_null(pw_run_open_call(&r, "c6"));
	fold_ok_at(&r, ev_result("c6", "failed", "READY", "uncorrected", "EXIT_STATUS", NULL),
	           NOW + H1);

	/* a third identical call: a new request, a8 */
	c.now_ms = NOW + H1 + 1;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_null(d.approval_id);
	assert_int_equal(d.expires_ms, NOW + 2 * H1 + 1);
	pw_decision_release(&d);
	ev = record_and_fold(spec, &r, &c);
	expect_member(ev, "approval_id", "\"a8\"");
	json_decref(ev);
	assert_int_equal(r.n_pending, 1);

	/* a request past its expiry is not repeated either */
	c.now_ms = NOW + 3 * H1 + 1;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	assert_null(d.approval_id);
	assert_int_equal(d.expires_ms, NOW + 4 * H1 + 1);
	pw_decision_release(&d);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/*
 * An approval is its owner's: a call with the same hash that a rule of
 * another owner decides does not use it. It is bound to the call (action
 * and input), not to the agent who asked.
 */
static void test_approval_owner_and_agent(void **state)
{
	(void)state;
	pw_spec *spec =
	        load_spec_with("allow", "  Rebate:\n"
	                                "    from: [INIT]\n"
	                                "    input: {type: object, properties: {n: {}}}\n"
	                                "    decide:\n"
	                                "      - when: {\"==\": [{var: agent}, \"bob\"]}\n"
	                                "        approval: {owner: sec, reason: bobs}\n"
	                                "      - when: {\"==\": [1, 1]}\n"
	                                "        approval: {owner: ops, reason: rebate}\n"
	                                "    run: {program: bin/rebate, sha256: " PIN "}\n");
	pw_run r;
	pw_decision d;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *in = J("{\"n\": 1}");
	pw_call c = call_of(spec, "Rebate", in);
	json_t *ev = record_and_fold(spec, &r, &c);
	expect_member(ev, "reason", "\"rebate\"");
	expect_member(ev, "approval_id", "\"a1\"");
	json_decref(ev);
	fold_ok_at(&r, pw_record_approve(pw_run_pending(&r, "a1"), "ops", "root", NULL), NOW + 1);
	/* bob's identical call is sec's to decide: ops's approval does not apply */
	c.agent = "bob";
	c.now_ms = NOW + 2;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "bobs", PW_TIER_NONE, "decide[0]", NULL, NULL);
	assert_string_equal(d.owner, "sec");
	assert_null(d.approval_id);
	pw_decision_release(&d);
	/* carol's identical call meets ops's rule: the approval (of the call, not of alice) */
	c.agent = "carol";
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_ALLOW, "APPROVED", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_string_equal(d.approval_id, "a1");
	pw_decision_release(&d);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* approve and deny: by the request's owner, of a request still there, approved once. */
static void test_approval_fold_refusals(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	pw_decision d;
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	json_t *in = J("{\"id\": \"abc\", \"amount\": 500}");
	pw_call c = call_of(spec, "Finish", in);
	json_decref(record_and_fold(spec, &r, &c)); /* a3, until NOW + H1 */

	json_t *ev = pw_record_approve(pw_run_pending(&r, "a3"), "sec", "root", NULL);
	fold_refused_at(&r, ev, NOW + 1, "seq 4: approval a3 is for owner ops, not sec");
	ev = pw_record_approve(pw_run_pending(&r, "a3"), "ops", "root", NULL);
	assert_int_equal(json_object_set_new(ev, "approval_id", json_string("a9")), 0);
	fold_refused_at(&r, ev, NOW + 1, "seq 4: approval a9 is not pending");
	ev = pw_record_approve(pw_run_pending(&r, "a3"), "ops", "root", NULL);
	assert_int_equal(json_object_set_new(ev, "call_sha256", json_string(CALL_SHA)), 0);
	fold_refused_at(&r, ev, NOW + 1, "seq 4: call_sha256 is not that of the call c3");
	ev = pw_record_approve(pw_run_pending(&r, "a3"), "ops", "root", NULL);
	assert_int_equal(json_object_del(ev, "by"), 0);
	fold_refused_at(&r, ev, NOW + 1, "seq 4: approve without approval_id, by or call_sha256");
	/* at its expiry it can no longer be approved; a ms before, it can, once */
	ev = pw_record_approve(pw_run_pending(&r, "a3"), "ops", "root", NULL);
	fold_refused_at(&r, ev, NOW + H1, "seq 4: approval a3 expired before it was approved");
	assert_false(pw_run_pending(&r, "a3")->approved);
	fold_ok_at(&r, pw_record_approve(pw_run_pending(&r, "a3"), "ops", "root", NULL),
	           NOW + H1 - 1);
	assert_true(pw_run_pending(&r, "a3")->approved);
	fold_refused_at(&r, pw_record_approve(pw_run_pending(&r, "a3"), "ops", "root", NULL),
	                NOW + H1 - 1, "seq 5: approval a3 was approved already");
	assert_int_equal(r.counts.approved, 1);

	/* an allow that claims an approval must name an approved one, of its own hash */
	json_t *in2 = J("{\"id\": \"abc\", \"amount\": 600}");
	pw_call c2 = call_of(spec, "Finish", in2);
	json_decref(record_and_fold(spec, &r, &c2)); /* a5, waiting */
	char sha2[PW_HASH_STR_LEN + 1];
	assert_int_equal(pw_call_sha256("Finish", in2, sha2), PW_OK);
	ev = ev_call("c6", "Finish", "allow", "APPROVED", NULL);
	assert_int_equal(json_object_set_new(ev, "approval_id", json_string("a5")), 0);
	assert_int_equal(json_object_set_new(ev, "call_sha256", json_string(sha2)), 0);
	fold_refused_at(&r, ev, NOW,
	                "seq 6: allowed by approval a5, which is not an approval of this call");
	ev = ev_call("c6", "Finish", "allow", "APPROVED", NULL);
	assert_int_equal(json_object_set_new(ev, "approval_id", json_string("a3")), 0);
	assert_int_equal(json_object_set_new(ev, "call_sha256", json_string(sha2)), 0);
	fold_refused_at(&r, ev, NOW,
	                "seq 6: allowed by approval a3, which is not an approval of this call");
	ev = ev_call("c6", "Finish", "allow", "APPROVED", NULL);
	assert_int_equal(json_object_set_new(ev, "approval_id", json_string("a3")), 0);
	fold_refused_at(&r, ev, NOW,
	                "seq 6: allowed by approval a3, which is not an approval of this call");
	assert_int_equal(r.n_pending, 2);
	assert_int_equal(r.n_open, 0);

	/* deny: by the owner; it removes the request, and the call asks anew */
	ev = pw_record_deny(pw_run_pending(&r, "a5"), "sec", "root", "no");
	fold_refused_at(&r, ev, NOW, "seq 6: approval a5 is for owner ops, not sec");
	ev = pw_record_deny(pw_run_pending(&r, "a5"), "ops", "root", "too much");
	expect_member(ev, "reason", "\"too much\"");
	expect_member(ev, "call_id", "\"c5\"");
	fold_ok_at(&r, ev, NOW + 10);
	assert_null(pw_run_pending(&r, "a5"));
	assert_int_equal(r.n_pending, 1);
	assert_int_equal(r.counts.denied, 1);
	c2.now_ms = NOW + 20;
	assert_int_equal(pw_decide(spec, &r, &c2, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_APPROVAL, "big_one", PW_TIER_NONE, "decide[1]", NULL, NULL);
	assert_null(d.approval_id);
	pw_decision_release(&d);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "deny", "approval_id",
	               "a5", "call_id", "c5", "action", "Finish", "call_sha256", sha2, "by", "ops",
	               "os_user", "root", "reason", "again");
	fold_refused_at(&r, ev, NOW + 30, "seq 7: approval a5 is not pending");
	json_decref(in2);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/*
 * AGENT_LOCKED_OUT: observed (another run of the ledger locked the agent
 * out) or a lockout event of this run; an unlock folds it away.
 */
static void test_agent_locked_out(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	pw_decision d;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *in = J("{\"branch\": \"main\"}");
	pw_call c = call_of(spec, "Prepare", in);
	c.locked_out = true;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_REJECT, "AGENT_LOCKED_OUT", PW_TIER_NONE, "agent",
	                "\"an agent that is not locked out\"", "\"alice\"");
	assert_string_equal(d.message, "agent alice is locked out after a policy violation (in "
	                               "another run); an owner must unlock it with pitwall unlock");
	pw_decision_release(&d);
	json_t *ev = record_and_fold(spec, &r, &c);
	/* recorded as observed, so that the verifier decides the same */
	expect_json(json_object_get(json_object_get(ev, "observed"), "locked_out"), "true",
	            "observed.locked_out");
	expect_member(ev, "reason", "\"AGENT_LOCKED_OUT\"");
	json_decref(ev);
	c.locked_out = false;
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);

	/* a policy violation of alice in this run */
	fold_ok(&r, ev_call("c2", "Nope", "reject", "UNKNOWN_ACTION", "policy_violation"));
	fold_ok(&r, ev_halt("UNKNOWN_ACTION", "policy_violation", 2, true));
	fold_refused(&r, ev_lockout("alice", NULL, 2), "seq 4: lockout without agent or reason");
	fold_ok(&r, ev_lockout("alice", "UNKNOWN_ACTION", 2));
	assert_int_equal(r.n_lockouts, 1);
	assert_int_equal(pw_run_lockout(&r, "alice")->seq, 4);
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_REJECT, "AGENT_LOCKED_OUT", PW_TIER_NONE, "agent",
	                "\"an agent that is not locked out\"", "\"alice\"");
	assert_string_equal(d.message, "agent alice is locked out after a policy violation "
	                               "(UNKNOWN_ACTION); an owner must unlock it with pitwall "
	                               "unlock");
	pw_decision_release(&d);
	/* a second lockout of the same agent is counted, not kept twice */
	fold_ok(&r, ev_lockout("alice", "UNKNOWN_ACTION", 2));
	assert_int_equal(r.n_lockouts, 1);
	assert_int_equal(r.counts.lockouts, 2);

	/* unlock: of an agent this run locked out, by someone */
	fold_refused(&r, ev_unlock("bob", "ops", 4),
	             "seq 6: unlock of bob, whom this run did not lock out");
	fold_refused(&r, ev_unlock("alice", NULL, 4), "seq 6: unlock without agent or by");
	/* ... naming the lockout it lifts */
	fold_refused(&r, ev_unlock("alice", "ops", 5),
	             "seq 6: unlock names another lockout than the one at 4 (UNKNOWN_ACTION)");
	json_t *other = ev_unlock("alice", "ops", 4);
	assert_int_equal(json_object_set_new(other, "reason", json_string("LOG_TAMPERED")), 0);
	fold_refused(&r, other,
	             "seq 6: unlock names another lockout than the one at 4 (UNKNOWN_ACTION)");
	assert_int_equal(r.n_lockouts, 1);
	ev = pw_record_unlock(pw_run_lockout(&r, "alice"), "ops", "root", NULL);
	expect_json(ev,
	            "{\"kind\": \"unlock\", \"agent\": \"alice\", \"reason\": \"UNKNOWN_ACTION\", "
	            "\"lockout\": 4, \"by\": \"ops\", \"os_user\": \"root\"}",
	            "unlock event");
	fold_ok(&r, ev); /* an operator's event: folded in a frozen run */
	assert_null(pw_run_lockout(&r, "alice"));
	assert_int_equal(r.n_lockouts, 0);
	assert_int_equal(r.counts.unlocks, 1);
	/* alice is no longer locked out; the run is still frozen */
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RUN_HALTED", PW_TIER_NONE, "run",
	               "\"a run that is not halted\"", "\"UNKNOWN_ACTION\"");
	fold_refused(&r, ev_unlock("alice", "ops", 4),
	             "seq 7: unlock of alice, whom this run did not lock out");
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/*
 * RETRY_INVALID: a retry (attempt 2, 3, ...) must be the next attempt of
 * the call whose correctable failure is the last result, of the same
 * action, within errors.retry.max.
 */
static void test_retry_invalid(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text);
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	json_t *in = J("{}");
	pw_call c = call_of(spec, "Flaky", in);
	c.attempt = 2;
	c.retry_of = "c1";
	/* nothing failed yet */
	pw_decision d;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	expect_decision(&d, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt", RETRY_WANT,
	                "2");
	assert_string_equal(d.message, "attempt 2 of c1 is not a retry the spec allows here");
	pw_decision_release(&d);

	fold_ok(&r, ev_call("c1", "Flaky", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c1", "failed", "INIT", "correctable", "EXIT_STATUS", NULL));
	assert_string_equal(r.retry.root, "c1");
	assert_string_equal(r.retry.action, "Flaky");
	assert_int_equal(r.retry.attempt, 1);
	/* another call's retry, none, a skipped attempt, another action */
	c.retry_of = "c9";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");
	c.retry_of = NULL;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");
	c.retry_of = "c1";
	c.attempt = 3;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "3");
	c.attempt = 2;
	c.action = "Other";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");
	/* attempt 0 or 1 is not a retry */
	c.action = "Other";
	c.attempt = 1;
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);

	/* the valid retry, recorded with attempt and retry_of */
	c.action = "Flaky";
	c.attempt = 2;
	expect_verdict(spec, &r, &c, PW_VERDICT_ALLOW, "DEFAULT_ALLOW", PW_TIER_NONE, "default",
	               NULL, NULL);
	json_t *ev = record_and_fold(spec, &r, &c);
	expect_member(ev, "call_id", "\"c3\"");
	expect_member(ev, "attempt", "2");
	expect_member(ev, "retry_of", "\"c1\"");
	json_decref(ev);
	const pw_open_call *oc = pw_run_open_call(&r, "c3");
	assert_non_null(oc);
	assert_string_equal(oc->root, "c1");
	assert_int_equal(oc->attempt, 2);
	assert_null(r.retry.root);
	assert_int_equal(r.counts.retries, 1);
	assert_int_equal(pw_run_action_stats(&r, "Flaky")->retries, 1);
	/* a retry is not retried twice */
	fold_ok(&r, ev_result("c3", "failed", "INIT", "correctable", "EXIT_STATUS", NULL));
	assert_string_equal(r.retry.root, "c1");
	assert_int_equal(r.retry.attempt, 2);
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");
	/* attempt 3 = errors.retry.max + 1: the last */
	c.attempt = 3;
	json_decref(record_and_fold(spec, &r, &c));
	fold_ok(&r, ev_result("c5", "failed", "INIT", "correctable", "EXIT_STATUS", NULL));
	assert_int_equal(r.retry.attempt, 3);
	c.attempt = 4;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "4");

	/* an uncorrected failure is not retried */
	fold_ok(&r, ev_call("c6", "Flaky", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c6", "failed", "INIT", "uncorrected", "EXIT_STATUS", NULL));
	assert_null(r.retry.root);
	c.attempt = 2;
	c.retry_of = "c6";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");
	/* nor the correctable failure of an action without errors.retry (max 0) */
	fold_ok(&r, ev_call("c9", "Other", "allow", "DEFAULT_ALLOW", NULL));
	fold_ok(&r, ev_result("c9", "failed", "INIT", "correctable", "EXIT_STATUS", NULL));
	c.action = "Other";
	c.retry_of = "c9";
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE, "attempt",
	               RETRY_WANT, "2");

	/* the fold takes attempt 2 to 11 with retry_of */
	static const int bad[] = {0, 1, 12};
	for (size_t i = 0; i < 3; i++) {
		ev = ev_call("c11", "Flaky", "allow", "DEFAULT_ALLOW", NULL);
		assert_int_equal(json_object_set_new(ev, "attempt", json_integer(bad[i])), 0);
		assert_int_equal(json_object_set_new(ev, "retry_of", json_string("c9")), 0);
		fold_refused(&r, ev, "seq 11: a retry without attempt 2-11 and retry_of");
	}
	ev = ev_call("c11", "Flaky", "allow", "DEFAULT_ALLOW", NULL);
	assert_int_equal(json_object_set_new(ev, "attempt", json_integer(2)), 0);
	fold_refused(&r, ev, "seq 11: a retry without attempt 2-11 and retry_of");
	ev = ev_call("c11", "Flaky", "allow", "DEFAULT_ALLOW", NULL);
	assert_int_equal(json_object_set_new(ev, "attempt", json_string("2")), 0);
	assert_int_equal(json_object_set_new(ev, "retry_of", json_string("c9")), 0);
	fold_refused(&r, ev, "seq 11: a retry without attempt 2-11 and retry_of");
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------ tiers and escalation */

/* The outcome of action of the ras spec failing with exit status 75 at NOW, attempt 1. */
static void outcome_75(const pw_spec *spec, const pw_run *r, const char *action, unsigned attempt,
                       pw_outcome *o)
{
	pw_exec_facts f = exited(75, NULL);
	f.attempt = attempt;
	outcome_of(spec, action, r, "{}", &f, o);
}

static void expect_not_escalated(const pw_outcome *o)
{
	if (o->escalated || o->tier != PW_TIER_CORRECTABLE)
		fail_msg("escalated (%s): %s", tier_str(o->tier), o->message);
	assert_null(o->esc_scope);
	assert_int_equal(o->esc_count, 0);
}

static void expect_escalated(const pw_outcome *o, const char *scope, unsigned count,
                             unsigned threshold, int64_t window_ms, const char *message)
{
	if (!o->escalated)
		fail_msg("not escalated: %s", o->message);
	expect_outcome(o, false, "EXIT_STATUS", PW_TIER_UNCORRECTED, "errors.exit.75", "[]",
	               "INIT");
	assert_string_equal(o->esc_scope, scope);
	assert_int_equal(o->esc_count, count);
	assert_int_equal(o->esc_threshold, threshold);
	assert_int_equal(o->esc_window_ms, window_ms);
	assert_false(o->retry);
	assert_int_equal(o->retry_in_ms, 0);
	assert_string_equal(o->message, message);
}

static void test_escalate_thresholds(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text), *plain = load_spec();
	pw_escalate e = pw_spec_escalate(spec, NULL);
	assert_int_equal(e.count, 4);
	assert_int_equal(e.window_ms, 60000);
	e = pw_spec_escalate(spec, pw_spec_action(spec, "Flaky"));
	assert_int_equal(e.count, 3);
	assert_int_equal(e.window_ms, 10000);
	/* an action's own count, the run's window */
	e = pw_spec_escalate(spec, pw_spec_action(spec, "Other"));
	assert_int_equal(e.count, 10);
	assert_int_equal(e.window_ms, 60000);
	e = pw_spec_escalate(spec, pw_spec_action(spec, "Spare"));
	assert_int_equal(e.count, 4);
	assert_int_equal(e.window_ms, 60000);
	/* the defaults: 5 in 10 minutes */
	e = pw_spec_escalate(plain, NULL);
	assert_int_equal(e.count, PW_ESCALATE_COUNT_DEFAULT);
	assert_int_equal(e.count, 5);
	assert_int_equal(e.window_ms, 600000);
	e = pw_spec_escalate(plain, pw_spec_action(plain, "Prepare"));
	assert_int_equal(e.count, 5);
	assert_int_equal(e.window_ms, 600000);
	unsigned max;
	int64_t backoff;
	pw_action_retry(pw_spec_action(spec, "Flaky"), &max, &backoff);
	assert_int_equal(max, 2);
	assert_int_equal(backoff, 2000);
	pw_action_retry(pw_spec_action(spec, "Slow"), &max, &backoff);
	assert_int_equal(max, 3);
	assert_int_equal(backoff, 40 * 60000);
	pw_action_retry(pw_spec_action(spec, "Other"), &max, &backoff);
	assert_int_equal(max, 0);
	assert_int_equal(backoff, PW_RETRY_BACKOFF_DEFAULT_MS);
	pw_spec_free(plain);
	pw_spec_free(spec);
}

/*
 * An action's correctable failures within its window: the one that makes
 * the count reach the threshold is escalated. The window is (now - window,
 * now]: a failure exactly window_ms ago no longer counts.
 */
static void test_escalate_action_window(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text);
	pw_run r;
	pw_outcome o;
	static const char esc_msg[] =
	        "Flaky exited with status 75 (correctable); escalated to uncorrected: 3 "
	        "correctable failures of Flaky within 10000 ms";

	/* the first failure: retried */
	run_begin(&r, spec, "run-a", "INIT");
	outcome_75(spec, &r, "Flaky", 1, &o);
	expect_outcome(&o, false, "EXIT_STATUS", PW_TIER_CORRECTABLE, "errors.exit.75", "[]",
	               "INIT");
	expect_not_escalated(&o);
	assert_string_equal(o.message, "Flaky exited with status 75 (correctable)");
	assert_true(o.retry);
	pw_outcome_release(&o);

	/* two before, one of them exactly 10 s ago: two in the window */
	fail_at(&r, "Flaky", "correctable", NOW - 10000);
	fail_at(&r, "Flaky", "correctable", NOW - 1000);
	assert_int_equal(pw_run_ce_count(&r, "Flaky", NOW - 10000), 2);
	assert_int_equal(pw_run_ce_count(&r, "Flaky", NOW - 9999), 1);
	assert_int_equal(pw_run_ce_count(&r, "Other", NOW - 10000), 0);
	assert_int_equal(pw_run_ce_count(&r, NULL, NOW - 10000), 2);
	outcome_75(spec, &r, "Flaky", 1, &o);
	expect_not_escalated(&o);
	assert_true(o.retry);
	pw_outcome_release(&o);
	pw_run_release(&r);

	/* ... and 10 s - 1 ms ago: three */
	run_begin(&r, spec, "run-a", "INIT");
	fail_at(&r, "Flaky", "correctable", NOW - 9999);
	fail_at(&r, "Flaky", "correctable", NOW - 1000);
	outcome_75(spec, &r, "Flaky", 1, &o);
	expect_escalated(&o, "action", 3, 3, 10000, esc_msg);
	json_t *after = pw_record_after_result(&o, "c5", "Flaky", 6);
	expect_json(after,
	            "[{\"kind\": \"escalate\", \"call_id\": \"c5\", \"action\": \"Flaky\", "
	            "\"scope\": \"action\", \"count\": 3, \"threshold\": 3, \"window_ms\": 10000, "
	            "\"cause\": 6}]",
	            "after an escalated result");
	json_decref(after);
	pw_outcome_release(&o);
	pw_run_release(&r);

	/* uncorrected failures and another action's do not count for Flaky */
	run_begin(&r, spec, "run-a", "INIT");
	fail_at(&r, "Flaky", "uncorrected", NOW - 2000);
	fail_at(&r, "Flaky", "uncorrected", NOW - 1500);
	fail_at(&r, "Other", "correctable", NOW - 1000);
	fail_at(&r, "Flaky", "correctable", NOW - 500);
	outcome_75(spec, &r, "Flaky", 1, &o);
	expect_not_escalated(&o);
	pw_outcome_release(&o);
	pw_run_release(&r);

	/* an escalated failure counts (its escalate event records it) */
	run_begin(&r, spec, "run-a", "INIT");
	fail_at(&r, "Flaky", "correctable", NOW - 3000);
	fail_at(&r, "Flaky", "uncorrected", NOW - 2000);
	fold_ok_at(&r,
	           json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "kind", "escalate",
	                     "call_id", "c3", "action", "Flaky", "scope", "action", "count", 3,
	                     "threshold", 3, "window_ms", 10000, "cause", 4),
	           NOW - 2000);
	assert_int_equal(r.counts.escalations, 1);
	assert_int_equal(pw_run_action_stats(&r, "Flaky")->escalations, 1);
	assert_int_equal(pw_run_ce_count(&r, "Flaky", NOW - 9999), 2);
	outcome_75(spec, &r, "Flaky", 1, &o);
	expect_escalated(&o, "action", 3, 3, 10000, esc_msg);
	pw_outcome_release(&o);
	/* escalate names its action */
	fold_refused_at(&r, json_pack("{s:s, s:s}", "kind", "escalate", "call_id", "c3"), NOW,
	                "seq 6: escalate without action");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* The run's threshold counts every action's failures; the action's is checked first. */
static void test_escalate_run_scope(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text);
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	fail_at(&r, "Other", "correctable", NOW - 50000);
	fail_at(&r, "Other", "correctable", NOW - 40000);
	fail_at(&r, "Flaky", "correctable", NOW - 30000);
	outcome_75(spec, &r, "Other", 1, &o);
	expect_escalated(&o, "run", 4, 4, 60000,
	                 "Other exited with status 75 (correctable); escalated to uncorrected: 4 "
	                 "correctable failures of the run within 60000 ms");
	pw_outcome_release(&o);
	pw_run_release(&r);

	/* the oldest exactly a minute ago: three */
	run_begin(&r, spec, "run-a", "INIT");
	fail_at(&r, "Other", "correctable", NOW - 60000);
	fail_at(&r, "Other", "correctable", NOW - 40000);
	fail_at(&r, "Flaky", "correctable", NOW - 30000);
	outcome_75(spec, &r, "Other", 1, &o);
	expect_not_escalated(&o);
	assert_false(o.retry); /* Other has no errors.retry */
	pw_outcome_release(&o);
	pw_run_release(&r);

	/* both reached: the action's scope is named */
	run_begin(&r, spec, "run-a", "INIT");
	fail_at(&r, "Other", "correctable", NOW - 5000);
	fail_at(&r, "Flaky", "correctable", NOW - 4000);
	fail_at(&r, "Flaky", "correctable", NOW - 3000);
	outcome_75(spec, &r, "Flaky", 1, &o);
	expect_escalated(&o, "action", 3, 3, 10000,
	                 "Flaky exited with status 75 (correctable); escalated to uncorrected: 3 "
	                 "correctable failures of Flaky within 10000 ms");
	pw_outcome_release(&o);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* A correctable failure with attempts left is retried after backoff * 2^(attempt-1), at most 1h. */
static void test_retry_backoff(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text);
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	static const struct {
		const char *action;
		unsigned attempt;
		bool retry;
		int64_t in_ms;
	} cases[] = {
	        {"Flaky", 0, true, 2000},   {"Flaky", 1, true, 2000},
	        {"Flaky", 2, true, 4000},   {"Flaky", 3, false, 0},
	        {"Flaky", 4, false, 0},     {"Slow", 1, true, 40 * 60000},
	        {"Slow", 2, true, 3600000}, {"Slow", 3, true, 3600000},
	        {"Slow", 4, false, 0},      {"Other", 1, false, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		outcome_75(spec, &r, cases[i].action, cases[i].attempt, &o);
		expect_not_escalated(&o);
		if (o.retry != cases[i].retry || o.retry_in_ms != cases[i].in_ms)
			fail_msg("%s attempt %u: retry %d in %lld ms; want %d in %lld ms",
			         cases[i].action, cases[i].attempt, o.retry,
			         (long long)o.retry_in_ms, cases[i].retry,
			         (long long)cases[i].in_ms);
		pw_outcome_release(&o);
	}
	/* an uncorrected or fatal failure, or a success, is not retried */
	pw_exec_facts f = exited(1, NULL);
	outcome_of(spec, "Flaky", &r, "{}", &f, &o);
	expect_outcome(&o, false, "EXIT_STATUS", PW_TIER_UNCORRECTED, "exit", "[]", "INIT");
	assert_false(o.retry);
	pw_outcome_release(&o);
	f.exit_status = 3;
	outcome_of(spec, "Flaky", &r, "{}", &f, &o);
	expect_outcome(&o, false, "EXIT_STATUS", PW_TIER_FATAL, "errors.exit.3", "[]", "INIT");
	assert_string_equal(o.message, "Flaky exited with status 3 (fatal)");
	assert_false(o.retry);
	pw_outcome_release(&o);
	json_t *res = J("{}");
	f = exited(0, res);
	outcome_of(spec, "Flaky", &r, "{}", &f, &o);
	expect_outcome(&o, true, "OK", PW_TIER_NONE, "", "[]", "INIT");
	assert_false(o.retry);
	assert_false(o.escalated);
	pw_outcome_release(&o);
	json_decref(res);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* errors.timeout and errors.signal give the tier of a timeout and of a death by signal. */
static void test_timeout_signal_tiers(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text);
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	static const struct {
		const char *action;
		pw_how how;
		pw_tier tier;
		const char *reason, *check, *message;
	} cases[] = {
	        {"Flaky", PW_HOW_TIMEOUT, PW_TIER_CORRECTABLE, "TIMEOUT", "errors.timeout",
	         "Flaky ran past its timeout and was killed (correctable)"},
	        {"Flaky", PW_HOW_SIGNALED, PW_TIER_FATAL, "KILLED_BY_SIGNAL", "errors.signal",
	         "Flaky was killed by signal 9 (fatal)"},
	        {"Spare", PW_HOW_TIMEOUT, PW_TIER_UNCORRECTED, "TIMEOUT", "errors.timeout",
	         "Spare ran past its timeout and was killed (uncorrected)"},
	        {"Spare", PW_HOW_SIGNALED, PW_TIER_CORRECTABLE, "KILLED_BY_SIGNAL", "errors.signal",
	         "Spare was killed by signal 9 (correctable)"},
	        {"Other", PW_HOW_TIMEOUT, PW_TIER_UNCORRECTED, "TIMEOUT", "run.timeout",
	         "Other ran past its timeout and was killed (uncorrected)"},
	        {"Other", PW_HOW_SIGNALED, PW_TIER_UNCORRECTED, "KILLED_BY_SIGNAL", "run",
	         "Other was killed by signal 9 (uncorrected)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pw_exec_facts f = exited(0, NULL);
		f.how = cases[i].how;
		f.signal = 9;
		f.attempt = 1;
		outcome_of(spec, cases[i].action, &r, "{}", &f, &o);
		expect_outcome(&o, false, cases[i].reason, cases[i].tier, cases[i].check, "[]",
		               "INIT");
		assert_string_equal(o.message, cases[i].message);
		/* a correctable one is retried (Flaky) or not (Spare: no errors.retry) */
		assert_int_equal(o.retry, cases[i].tier == PW_TIER_CORRECTABLE &&
		                                  strcmp(cases[i].action, "Flaky") == 0);
		pw_outcome_release(&o);
	}
	/* a correctable timeout is counted and escalates like any correctable failure */
	fail_at(&r, "Flaky", "correctable", NOW - 2000);
	fail_at(&r, "Flaky", "correctable", NOW - 1000);
	pw_exec_facts f = exited(0, NULL);
	f.how = PW_HOW_TIMEOUT;
	f.signal = 9;
	outcome_of(spec, "Flaky", &r, "{}", &f, &o);
	assert_true(o.escalated);
	assert_int_equal(o.tier, PW_TIER_UNCORRECTED);
	assert_string_equal(o.reason, "TIMEOUT");
	assert_string_equal(o.check, "errors.timeout");
	pw_outcome_release(&o);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* --------------------------------------------------------- follow-up events */

/* Decide action with input in r (program pin prog), and what must follow its call at seq 5. */
static void expect_after_call(const pw_spec *spec, const pw_run *r, const char *action,
                              const char *input, const char *prog, const char *want)
{
	json_t *in = J(input);
	pw_call c = call_of(spec, action, in);
	c.program_sha256 = prog;
	pw_decision d;
	assert_int_equal(pw_decide(spec, r, &c, &d), PW_OK);
	json_t *after = pw_record_after_call(&d, "alice", 5);
	expect_json(after, want, action);
	json_decref(after);
	pw_decision_release(&d);
	json_decref(in);
}

static void test_record_after_call(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_ready(&r, spec, "[{\"cap\": \"token\", \"value\": \"abc\"}]");
	/* fatal: a halt that does not freeze */
	expect_after_call(spec, &r, "Finish", "{\"id\": \"abc\"}", PIN2,
	                  "[{\"kind\": \"halt\", \"reason\": \"CODE_HASH_MISMATCH\", \"tier\": "
	                  "\"fatal\", \"cause\": 5, \"frozen\": false}]");
	/* policy violation: a halt that freezes, then the agent's lockout */
	expect_after_call(spec, &r, "Refund", "{}", PIN,
	                  "[{\"kind\": \"halt\", \"reason\": \"UNKNOWN_ACTION\", \"tier\": "
	                  "\"policy_violation\", \"cause\": 5, \"frozen\": true},"
	                  " {\"kind\": \"lockout\", \"agent\": \"alice\", \"reason\": "
	                  "\"UNKNOWN_ACTION\", \"cause\": 5}]");
	/* every other verdict: nothing */
	expect_after_call(spec, &r, "Finish", "{\"id\": \"abc\"}", PIN, "[]");
	expect_after_call(spec, &r, "Finish", "{\"id\": \"abc\", \"amount\": 2000}", PIN, "[]");
	expect_after_call(spec, &r, "Finish", "{\"id\": \"abc\", \"amount\": 500}", PIN, "[]");
	expect_after_call(spec, &r, "Finish", "{}", PIN, "[]");
	expect_after_call(spec, &r, "Finish", "{\"id\": \"zzz\"}", PIN, "[]");

	/* the spec pin: a policy violation too */
	json_t *in = J("{}");
	pw_call c = call_of(spec, "Finish", in);
	c.spec_id = "sha256:" PIN2;
	pw_decision d;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	json_t *after = pw_record_after_call(&d, "bob", 9);
	expect_json(after,
	            "[{\"kind\": \"halt\", \"reason\": \"SPEC_HASH_MISMATCH\", \"tier\": "
	            "\"policy_violation\", \"cause\": 9, \"frozen\": true},"
	            " {\"kind\": \"lockout\", \"agent\": \"bob\", \"reason\": "
	            "\"SPEC_HASH_MISMATCH\", \"cause\": 9}]",
	            "spec pin");
	json_decref(after);
	pw_decision_release(&d);
	/* ... and not one that cannot be read (SPEC_UNREADABLE denies; nothing halts) */
	c.spec_id = NULL;
	c.spec_unreadable = true;
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	assert_string_equal(d.reason, "SPEC_UNREADABLE");
	after = pw_record_after_call(&d, "bob", 9);
	expect_json(after, "[]", "spec unreadable");
	json_decref(after);
	pw_decision_release(&d);

	/* the follow-ups fold after their call: halted, frozen, alice locked out */
	fold_ok(&r, ev_call("c3", "Refund", "reject", "UNKNOWN_ACTION", "policy_violation"));
	c = call_of(spec, "Refund", in);
	assert_int_equal(pw_decide(spec, &r, &c, &d), PW_OK);
	after = pw_record_after_call(&d, "alice", 3);
	pw_decision_release(&d);
	for (size_t i = 0; i < json_array_size(after); i++)
		fold_ok(&r, json_incref(json_array_get(after, i)));
	json_decref(after);
	assert_true(r.halted);
	assert_true(r.frozen);
	assert_int_equal(r.halt_seq, 4);
	assert_non_null(pw_run_lockout(&r, "alice"));
	assert_int_equal(pw_run_lockout(&r, "alice")->seq, 5);

	/* a log found tampered with: halt (frozen, no cause) and lockout */
	after = pw_record_tampered("alice", "seq 3: hash does not match the event's contents");
	expect_json(after,
	            "[{\"kind\": \"halt\", \"reason\": \"LOG_TAMPERED\", \"tier\": "
	            "\"policy_violation\", \"cause\": null, \"frozen\": true, \"detail\": \"seq 3: "
	            "hash does not match the event's contents\"},"
	            " {\"kind\": \"lockout\", \"agent\": \"alice\", \"reason\": \"LOG_TAMPERED\", "
	            "\"cause\": null}]",
	            "tampered");
	json_decref(after);
	json_decref(in);
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_record_after_result(void **state)
{
	(void)state;
	pw_spec *spec = parse_spec(ras_text);
	pw_run r;
	pw_outcome o;
	run_begin(&r, spec, "run-a", "INIT");
	static const struct {
		pw_how how;
		int status;
		const char *want;
	} cases[] = {
	        {PW_HOW_EXITED, 3,
	         "[{\"kind\": \"halt\", \"reason\": \"EXIT_STATUS\", \"tier\": \"fatal\", "
	         "\"cause\": 8, \"frozen\": false}]"},
	        {PW_HOW_CODE_MISMATCH, 0,
	         "[{\"kind\": \"halt\", \"reason\": \"CODE_HASH_MISMATCH\", \"tier\": \"fatal\", "
	         "\"cause\": 8, \"frozen\": false}]"},
	        {PW_HOW_SIGNALED, 0, /* errors.signal: fatal */
	         "[{\"kind\": \"halt\", \"reason\": \"KILLED_BY_SIGNAL\", \"tier\": \"fatal\", "
	         "\"cause\": 8, \"frozen\": false}]"},
	        {PW_HOW_EXITED, 75, "[]"}, /* correctable, not escalated */
	        {PW_HOW_EXITED, 1, "[]"},  /* uncorrected */
	        {PW_HOW_SPAWN_FAILED, 0, "[]"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pw_exec_facts f = exited(cases[i].status, NULL);
		f.how = cases[i].how;
		f.signal = cases[i].how == PW_HOW_SIGNALED ? 9 : 0;
		outcome_of(spec, "Flaky", &r, "{}", &f, &o);
		json_t *after = pw_record_after_result(&o, "c7", "Flaky", 8);
		expect_json(after, cases[i].want, pw_how_name(cases[i].how));
		json_decref(after);
		pw_outcome_release(&o);
	}
	json_t *res = J("{}");
	pw_exec_facts f = exited(0, res);
	outcome_of(spec, "Flaky", &r, "{}", &f, &o);
	json_t *after = pw_record_after_result(&o, "c7", "Flaky", 8);
	expect_json(after, "[]", "ok");
	json_decref(after);
	pw_outcome_release(&o);
	json_decref(res);

	/* the run scope is recorded as such */
	fail_at(&r, "Other", "correctable", NOW - 3000);
	fail_at(&r, "Other", "correctable", NOW - 2000);
	fail_at(&r, "Spare", "correctable", NOW - 1000);
	outcome_75(spec, &r, "Other", 1, &o);
	after = pw_record_after_result(&o, "c7", "Other", 8);
	expect_json(after,
	            "[{\"kind\": \"escalate\", \"call_id\": \"c7\", \"action\": \"Other\", "
	            "\"scope\": \"run\", \"count\": 4, \"threshold\": 4, \"window_ms\": 60000, "
	            "\"cause\": 8}]",
	            "run scope");
	json_decref(after);
	pw_outcome_release(&o);
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* ------------------------------------------------------------------ events */

#define PREV_HEX "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978"

/* SHA-256(tag[0..taglen) || prev[0..prevlen) || JCS(ev without "hash")), as "sha256:<hex>". */
static void manual_hash(const json_t *ev, const void *tag, size_t taglen, const void *prev,
                        size_t prevlen, char out[PW_HASH_STR_LEN + 1])
{
	json_t *body = json_deep_copy(ev);
	assert_non_null(body);
	(void)json_object_del(body, "hash");
	char *jcs = NULL;
	size_t len = 0;
	assert_int_equal(pw_jcs_dump(body, 0, &jcs, &len), PW_OK);
	unsigned char md[PW_SHA256_LEN];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, tag, taglen), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, prev, prevlen), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, jcs, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	assert_int_equal(mdlen, PW_SHA256_LEN);
	EVP_MD_CTX_free(ctx);
	memcpy(out, "sha256:", 7);
	pw_hex(md, PW_SHA256_LEN, out + 7);
	free(jcs);
	json_decref(body);
}

static void hex_bytes(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + (size_t)k];
			v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		out[i] = (unsigned char)v;
	}
}

/* A sealed call event at seq 1 after PREV_HEX. */
static json_t *sealed_event(void)
{
	json_t *ev = ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL);
	assert_non_null(ev);
	assert_int_equal(pw_event_seal(ev, "run-a", 1, "sha256:" PREV_HEX, T0 + 5), PW_OK);
	return ev;
}

static void test_event_hash_rule(void **state)
{
	(void)state;
	json_t *ev = sealed_event();
	unsigned char prev[PW_SHA256_LEN];
	hex_bytes(PREV_HEX, prev, sizeof prev);
	char got[PW_HASH_STR_LEN + 1], want[PW_HASH_STR_LEN + 1], other[PW_HASH_STR_LEN + 1];
	assert_int_equal(pw_event_hash(ev, got), PW_OK);
	assert_string_equal(pw_event_str(ev, "hash"), got);

	/* the rule: tag with its NUL, the 32 raw bytes of prev, the JCS of the rest */
	static const char tag[] = "pitwall-event-v1"; /* sizeof counts the NUL */
	assert_int_equal(sizeof tag, 17);
	manual_hash(ev, tag, sizeof tag, prev, sizeof prev, want);
	assert_string_equal(got, want);

	/* and not any of its neighbours */
	manual_hash(ev, tag, sizeof tag - 1, prev, sizeof prev, other);
	assert_string_not_equal(got, other);
	manual_hash(ev, "pitwall-event-v2", 17, prev, sizeof prev, other);
	assert_string_not_equal(got, other);
	manual_hash(ev, tag, sizeof tag, PREV_HEX, 64, other);
	assert_string_not_equal(got, other);
	manual_hash(ev, "", 0, prev, sizeof prev, other);
	assert_string_not_equal(got, other);

	/* canonical: member order does not matter; the hash member is left out */
	json_t *same = json_object();
	const char *keys[32];
	json_t *values[32];
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach (ev, k, v) {
		assert_true(n < 32);
		keys[n] = k;
		values[n++] = v;
	}
	while (n > 0) {
		n--;
		assert_int_equal(json_object_set(same, keys[n], values[n]), 0);
	}
	assert_int_equal(pw_event_hash(same, other), PW_OK);
	assert_string_equal(got, other);
	assert_int_equal(json_object_del(same, "hash"), 0);
	assert_int_equal(pw_event_hash(same, other), PW_OK);
	assert_string_equal(got, other);
	json_decref(same);

	/* prev must be "sha256:" and 64 lowercase hex digits */
	static const char *const bad_prev[] = {
	        "sha256:00112233445566778899AABBCCDDEEFF0123456789abcdef0f1e2d3c4b5a6978",
	        PREV_HEX,
	        "sha256:" PREV_HEX "0",
	        "sha256:0011",
	        "sha512:" PREV_HEX,
	};
	for (size_t i = 0; i < sizeof bad_prev / sizeof bad_prev[0]; i++) {
		json_t *c = json_copy(ev);
		assert_int_equal(json_object_set_new(c, "prev", json_string(bad_prev[i])), 0);
		assert_int_equal(pw_event_hash(c, other), PW_ERR_INVALID);
		json_decref(c);
	}
	json_t *c = json_copy(ev);
	assert_int_equal(json_object_del(c, "prev"), 0);
	assert_int_equal(pw_event_hash(c, other), PW_ERR_INVALID);
	json_decref(c);
	json_decref(ev);
}

static void test_event_seal_verify(void **state)
{
	(void)state;
	char err[256];
	/* a chain of three */
	json_t *g = json_pack("{s:s, s:s, s:s, s:s}", "kind", "genesis", "workflow_id",
	                      "sha256:" PIN, "workflow", "shop", "state", "INIT");
	assert_int_equal(pw_event_seal(g, "run-a", 0, pw_event_genesis_prev, T0), PW_OK);
	json_t *c = ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL);
	assert_int_equal(pw_event_seal(c, "run-a", 1, pw_event_str(g, "hash"), T0 + 1), PW_OK);
	json_t *res = ev_result("c1", "ok", "READY", NULL, "OK", "[]");
	assert_int_equal(pw_event_seal(res, "run-a", 2, pw_event_str(c, "hash"), T0 + 2), PW_OK);
	assert_int_equal(pw_event_verify(g, "run-a", 0, pw_event_genesis_prev, err, sizeof err),
	                 PW_OK);
	assert_int_equal(pw_event_verify(c, "run-a", 1, pw_event_str(g, "hash"), err, sizeof err),
	                 PW_OK);
	assert_int_equal(pw_event_verify(res, "run-a", 2, pw_event_str(c, "hash"), err, sizeof err),
	                 PW_OK);
	/* the seal sets the common members */
	assert_int_equal(pw_event_int(c, "v"), 1);
	assert_string_equal(pw_event_str(c, "run_id"), "run-a");
	assert_int_equal(pw_event_int(c, "seq"), 1);
	assert_int_equal(pw_event_int(c, "time_ms"), T0 + 1);
	assert_string_equal(pw_event_str(c, "prev"), pw_event_str(g, "hash"));
	/* the events differ, and so do their hashes */
	assert_string_not_equal(pw_event_str(g, "hash"), pw_event_str(c, "hash"));
	/* the order of the chain is part of it */
	assert_int_equal(pw_event_verify(res, "run-a", 2, pw_event_str(g, "hash"), err, sizeof err),
	                 PW_ERR_INVALID);
	assert_string_equal(err, "seq 2: prev does not match the hash of the event before");
	/* seal refuses an invalid run_id */
	json_t *x = json_object();
	assert_int_equal(pw_event_seal(x, "bad id", 0, pw_event_genesis_prev, T0), PW_ERR_INVALID);
	assert_int_equal(pw_event_seal(x, "-x", 0, pw_event_genesis_prev, T0), PW_ERR_INVALID);
	json_decref(x);
	json_decref(g);
	json_decref(c);
	json_decref(res);
}

static void test_event_verify_tamper(void **state)
{
	(void)state;
	json_t *ev = sealed_event();
	char err[256];
	const char *prev = "sha256:" PREV_HEX;
	assert_int_equal(pw_event_verify(ev, "run-a", 1, prev, err, sizeof err), PW_OK);

	char flipped[PW_HASH_STR_LEN + 1];
	snprintf(flipped, sizeof flipped, "%s", pw_event_str(ev, "hash"));
	flipped[PW_HASH_STR_LEN - 1] = flipped[PW_HASH_STR_LEN - 1] == '0' ? '1' : '0';
	static const char other_prev[] = "sha256:" PIN;
	const struct {
		const char *key;
		json_t *value; /* NULL: deleted */
		const char *why;
	} cases[] = {
	        {"seq", json_integer(2), "seq 1: seq is not the next in the run"},
	        {"seq", json_real(1.5), "seq 1: seq is not the next in the run"},
	        {"prev", json_string(other_prev),
	         "seq 1: prev does not match the hash of the event before"},
	        {"prev", NULL, "seq 1: prev does not match the hash of the event before"},
	        {"action", json_string("Finish"),
	         "seq 1: hash does not match the event's contents"},
	        {"verdict", json_string("block"),
	         "seq 1: hash does not match the event's contents"},
	        {"extra", json_true(), "seq 1: hash does not match the event's contents"},
	        {"agent", NULL, "seq 1: hash does not match the event's contents"},
	        {"time_ms", json_integer(T0 + 6),
	         "seq 1: hash does not match the event's contents"},
	        {"time_ms", json_integer(-1), "seq 1: time_ms is not a non-negative integer"},
	        {"hash", json_string(flipped), "seq 1: hash does not match the event's contents"},
	        {"hash", NULL, "seq 1: hash is missing"},
	        {"run_id", json_string("run-b"), "seq 1: run_id does not match the run"},
	        {"v", json_integer(2), "seq 1: \"v\" is not 1"},
	        {"kind", NULL, "seq 1: kind is missing"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *t = json_deep_copy(ev);
		assert_non_null(t);
		if (cases[i].value)
			assert_int_equal(json_object_set_new(t, cases[i].key, cases[i].value), 0);
		else
			assert_int_equal(json_object_del(t, cases[i].key), 0);
		err[0] = '\0';
		pw_status st = pw_event_verify(t, "run-a", 1, prev, err, sizeof err);
		if (st != PW_ERR_INVALID || strcmp(err, cases[i].why) != 0)
			fail_msg("case %zu (%s): got %s \"%s\", want \"%s\"", i, cases[i].key,
			         pw_status_name(st), err, cases[i].why);
		json_decref(t);
	}
	/* checked against what the reader expects, not what the event says */
	assert_int_equal(pw_event_verify(ev, "run-a", 2, prev, err, sizeof err), PW_ERR_INVALID);
	assert_string_equal(err, "seq 2: seq is not the next in the run");
	assert_int_equal(pw_event_verify(ev, "run-b", 1, prev, err, sizeof err), PW_ERR_INVALID);
	assert_string_equal(err, "seq 1: run_id does not match the run");
	/* a consistent forgery (changed and re-hashed with the same prev) must change the hash */
	json_t *t = json_deep_copy(ev);
	assert_int_equal(json_object_set_new(t, "action", json_string("Finish")), 0);
	assert_int_equal(pw_event_seal(t, "run-a", 1, prev, T0 + 5), PW_OK);
	assert_int_equal(pw_event_verify(t, "run-a", 1, prev, err, sizeof err), PW_OK);
	assert_string_not_equal(pw_event_str(t, "hash"), pw_event_str(ev, "hash"));
	json_decref(t);
	json_t *arr = json_array();
	assert_int_equal(pw_event_verify(arr, "run-a", 1, prev, err, sizeof err), PW_ERR_INVALID);
	assert_string_equal(err, "seq 1: not a JSON object");
	json_decref(arr);
	json_decref(ev);
}

static void test_event_genesis_prev(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(strlen(pw_event_genesis_prev), PW_HASH_STR_LEN);
	assert_true(strncmp(pw_event_genesis_prev, "sha256:", 7) == 0);
	assert_int_equal(strspn(pw_event_genesis_prev + 7, "0"), 64);

	json_t *g = json_pack("{s:s, s:s, s:s, s:s}", "kind", "genesis", "workflow_id",
	                      "sha256:" PIN, "workflow", "shop", "state", "INIT");
	assert_int_equal(pw_event_seal(g, "run-a", 0, "sha256:" PREV_HEX, T0), PW_OK);
	assert_int_equal(pw_event_verify(g, "run-a", 0, pw_event_genesis_prev, err, sizeof err),
	                 PW_ERR_INVALID);
	assert_string_equal(err, "seq 0: prev of the genesis is not zero");
	assert_int_equal(pw_event_seal(g, "run-a", 0, pw_event_genesis_prev, T0), PW_OK);
	assert_int_equal(pw_event_verify(g, "run-a", 0, pw_event_genesis_prev, err, sizeof err),
	                 PW_OK);
	/* the zero prev hashes as 32 zero bytes */
	unsigned char zero[PW_SHA256_LEN] = {0};
	char want[PW_HASH_STR_LEN + 1];
	manual_hash(g, PW_EVENT_DOMAIN, sizeof PW_EVENT_DOMAIN, zero, sizeof zero, want);
	assert_string_equal(pw_event_str(g, "hash"), want);
	json_decref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names_round_trip),
	        /* decide, in the order of the pipeline */
	        cmocka_unit_test(test_input_malformed_action),
	        cmocka_unit_test(test_input_malformed_unparsed),
	        cmocka_unit_test(test_input_malformed_unsafe_number),
	        cmocka_unit_test(test_spec_hash_mismatch),
	        cmocka_unit_test(test_run_halted_by_policy_reject),
	        cmocka_unit_test(test_run_halted_by_fatal_result),
	        cmocka_unit_test(test_run_halt_only_fatal_and_policy),
	        cmocka_unit_test(test_call_in_doubt),
	        cmocka_unit_test(test_call_in_progress),
	        cmocka_unit_test(test_unknown_action),
	        cmocka_unit_test(test_input_invalid),
	        cmocka_unit_test(test_illegal_transition),
	        cmocka_unit_test(test_cap_missing),
	        cmocka_unit_test(test_cap_mismatch),
	        cmocka_unit_test(test_cap_expired),
	        cmocka_unit_test(test_caps_held_pass),
	        cmocka_unit_test(test_caps_scoped_to_run),
	        cmocka_unit_test(test_precondition_failed),
	        cmocka_unit_test(test_code_hash_mismatch),
	        cmocka_unit_test(test_rule_block),
	        cmocka_unit_test(test_rule_approval),
	        cmocka_unit_test(test_rule_allow_and_default_allow),
	        cmocka_unit_test(test_default_block),
	        cmocka_unit_test(test_default_approval),
	        cmocka_unit_test(test_rule_error_step_limit),
	        cmocka_unit_test(test_order_early_checks),
	        cmocka_unit_test(test_order_late_checks),
	        /* outcome */
	        cmocka_unit_test(test_outcome_exit_status),
	        cmocka_unit_test(test_outcome_not_exited),
	        cmocka_unit_test(test_outcome_result_invalid),
	        cmocka_unit_test(test_outcome_postcondition_failed),
	        cmocka_unit_test(test_outcome_emit_failed),
	        cmocka_unit_test(test_outcome_ok_mints),
	        cmocka_unit_test(test_outcome_to_list),
	        cmocka_unit_test(test_outcome_expression_errors),
	        /* fold */
	        cmocka_unit_test(test_fold_refuses_events_before_genesis),
	        cmocka_unit_test(test_fold_genesis_first),
	        cmocka_unit_test(test_fold_seq_gaps),
	        cmocka_unit_test(test_fold_result_needs_open_call),
	        cmocka_unit_test(test_fold_resolve),
	        cmocka_unit_test(test_fold_approval_pending),
	        cmocka_unit_test(test_fold_counts),
	        cmocka_unit_test(test_fold_caps),
	        cmocka_unit_test(test_fold_caps_again),
	        /* approvals, lockouts, retries, tiers, follow-ups */
	        cmocka_unit_test(test_call_sha256),
	        cmocka_unit_test(test_approval_bound_to_call),
	        cmocka_unit_test(test_approval_owner_and_agent),
	        cmocka_unit_test(test_approval_fold_refusals),
	        cmocka_unit_test(test_agent_locked_out),
	        cmocka_unit_test(test_retry_invalid),
	        cmocka_unit_test(test_escalate_thresholds),
	        cmocka_unit_test(test_escalate_action_window),
	        cmocka_unit_test(test_escalate_run_scope),
	        cmocka_unit_test(test_retry_backoff),
	        cmocka_unit_test(test_timeout_signal_tiers),
	        cmocka_unit_test(test_record_after_call),
	        cmocka_unit_test(test_record_after_result),
	        /* events */
	        cmocka_unit_test(test_event_hash_rule),
	        cmocka_unit_test(test_event_seal_verify),
	        cmocka_unit_test(test_event_verify_tamper),
	        cmocka_unit_test(test_event_genesis_prev),
	};
	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
