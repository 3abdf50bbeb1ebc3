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

static json_t *ev_approval(const char *call_id, const char *approval_id, const char *owner,
                           const char *reason, int64_t expires_ms)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "call", "call_id",
	                 call_id, "agent", "alice", "action", "Finish", "verdict", "approval",
	                 "reason", reason, "approval_id", approval_id, "owner", owner, "expires_ms",
	                 (json_int_t)expires_ms);
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

static void test_run_halted_by_policy_reject(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Nope", "reject", "UNKNOWN_ACTION", "policy_violation"));
	assert_true(r.halted);
	assert_int_equal(r.halt_seq, 1);
	assert_string_equal(r.halt_reason, "UNKNOWN_ACTION");
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "RUN_HALTED", PW_TIER_NONE,
	              "run", "\"a run that is not halted\"", "\"UNKNOWN_ACTION\"");
	pw_run_release(&r);
	pw_spec_free(spec);
}

static void test_run_halted_by_fatal_result(void **state)
{
	(void)state;
	pw_spec *spec = load_spec();
	pw_run r;
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	assert_false(r.halted);
	fold_ok(&r, ev_result("c1", "failed", "INIT", "fatal", "CODE_HASH_MISMATCH", NULL));
	assert_true(r.halted);
	assert_int_equal(r.halt_seq, 2);
	assert_string_equal(r.halt_reason, "CODE_HASH_MISMATCH");
	expect_reject(spec, &r, "Prepare", "{\"branch\": \"main\"}", "RUN_HALTED", PW_TIER_NONE,
	              "run", "\"a run that is not halted\"", "\"CODE_HASH_MISMATCH\"");
	pw_run_release(&r);
	pw_spec_free(spec);
}

/* Failures of the lower tiers and denials do not halt; the first halt is kept. */
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
	assert_false(r.halted);
	assert_null(r.halt_reason);
	fold_ok(&r, ev_call("c5", "Prepare", "reject", "SPEC_HASH_MISMATCH", "policy_violation"));
	fold_ok(&r, ev_call("c6", "Prepare", "reject", "CODE_HASH_MISMATCH", "fatal"));
	assert_true(r.halted);
	assert_int_equal(r.halt_seq, 7);
	assert_string_equal(r.halt_reason, "SPEC_HASH_MISMATCH");
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

	/* halted, in doubt, busy, another spec, unsafe number: the parse decides */
	fold_ok(&r, ev_call("c2", "Nope", "reject", "UNKNOWN_ACTION", "policy_violation"));
	pw_call c = call_of(spec, "Nope", bad);
	c.spec_id = "sha256:" PIN2;
	c.busy = true;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "input",
	               "\"numbers of magnitude below 2^53\"", NULL);
	/* then the spec pin */
	c.input = in;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY,
	               "spec", want, "\"sha256:" PIN2 "\"");
	/* then the halt */
	c.spec_id = spec->workflow_id;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "RUN_HALTED", PW_TIER_NONE, "run",
	               "\"a run that is not halted\"", "\"UNKNOWN_ACTION\"");
	pw_run_release(&r);

	/* busy before an unknown action; in doubt before an unknown action */
	run_begin(&r, spec, "run-a", "INIT");
	fold_ok(&r, ev_call("c1", "Prepare", "allow", "DEFAULT_ALLOW", NULL));
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CALL_IN_PROGRESS", PW_TIER_NONE, "run",
	               "\"no call in progress\"", "\"c1\"");
	c.busy = false;
	expect_verdict(spec, &r, &c, PW_VERDICT_REJECT, "CALL_IN_DOUBT", PW_TIER_NONE, "run",
	               "\"no call in doubt\"", "\"c1\"");
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

	/* an approval names its approval_id, owner and expiry; a verdict other than reject its
	 * action */
	fold_refused(&r,
	             json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "call",
	                       "call_id", "c3", "agent", "alice", "action", "Finish", "verdict",
	                       "approval", "reason", "big_one", "approval_id", "ap-2", "expires_ms",
	                       (json_int_t)(NOW + H1)),
	             "seq 4: approval verdict without approval_id, owner or expires_ms");
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
	        /* events */
	        cmocka_unit_test(test_event_hash_rule),
	        cmocka_unit_test(test_event_seal_verify),
	        cmocka_unit_test(test_event_verify_tamper),
	        cmocka_unit_test(test_event_genesis_prev),
	};
	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
