#include "core/decide.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/logic.h"
#include "core/schema.h"

/* What a rule that fails to evaluate was expected to do. */
#define RULE_BOUNDS "an expression that evaluates within its bounds"

static const char *const verdict_names[] = {"allow", "approval", "block", "reject"};
static const char *const tier_names[] = {NULL, "correctable", "uncorrected", "fatal",
                                         "policy_violation"};

const char *pw_verdict_name(pw_verdict v)
{
	return (unsigned)v < 4 ? verdict_names[v] : "reject";
}

const char *pw_tier_name(pw_tier t)
{
	return (unsigned)t < 5 ? tier_names[t] : NULL;
}

pw_status pw_verdict_parse(const char *name, pw_verdict *out)
{
	for (unsigned i = 0; name != NULL && i < 4; i++)
		if (strcmp(name, verdict_names[i]) == 0) {
			*out = (pw_verdict)i;
			return PW_OK;
		}
	return PW_ERR_INVALID;
}

pw_status pw_tier_parse(const char *name, pw_tier *out)
{
	if (name == NULL) {
		*out = PW_TIER_NONE;
		return PW_OK;
	}
	for (unsigned i = 1; i < 5; i++)
		if (strcmp(name, tier_names[i]) == 0) {
			*out = (pw_tier)i;
			return PW_OK;
		}
	return PW_ERR_INVALID;
}

void pw_decision_release(pw_decision *d)
{
	json_decref(d->expected);
	json_decref(d->actual);
	d->expected = d->actual = NULL;
}

/* Set the verdict, reason, check, expected and actual (references stolen) and the message. */
static pw_status verdict(pw_decision *d, pw_verdict v, const char *reason, pw_tier tier,
                         const char *check, json_t *expected, json_t *actual, const char *fmt, ...)
        __attribute__((format(printf, 8, 9)));
static pw_status verdict(pw_decision *d, pw_verdict v, const char *reason, pw_tier tier,
                         const char *check, json_t *expected, json_t *actual, const char *fmt, ...)
{
	d->verdict = v;
	d->reason = reason;
	d->tier = tier;
	snprintf(d->check, sizeof d->check, "%s", check);
	d->expected = expected;
	d->actual = actual;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof d->message, fmt, ap);
	va_end(ap);
	pw_utf8_trim(d->check);
	pw_utf8_trim(d->message);
	return PW_OK;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A number that a double cannot hold exactly as an integer: refused in calls. */
static bool has_unsafe_number(const json_t *v, unsigned depth)
{
	double d;
	if (depth > 200)
		return true;
	if (pw_json_number(v, &d))
		return fabs(d) >= 9007199254740992.0;
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach (v, i, e)
			if (has_unsafe_number(e, depth + 1))
				return true;
	} else if (json_is_object(v)) {
		const char *k;
		const json_t *e;
		json_object_foreach ((json_t *)v, k, e)
			if (has_unsafe_number(e, depth + 1))
				return true;
	}
	return false;
}

/* The data pre and decide rules see: {input, state, caps, agent}. */
static json_t *rule_data(const pw_run *run, const pw_call *call)
{
	json_t *caps = pw_run_caps_json(run, call->now_ms);
	json_t *d = json_object();
	if (caps == NULL || d == NULL || json_object_set(d, "input", (json_t *)call->input) ||
	    json_object_set_new(d, "state", json_string(run->state)) ||
	    json_object_set_new(d, "caps", caps) ||
	    json_object_set_new(d, "agent", json_string(call->agent ? call->agent : ""))) {
		if (d == NULL || json_object_get(d, "caps") != caps)
			json_decref(caps);
		json_decref(d);
		return NULL;
	}
	return d;
}

/* Held capabilities of one type as a list of "type@value" strings. */
static json_t *held_of(const pw_run *run, const char *type)
{
	json_t *list = json_array();
	char buf[512];
	for (size_t i = 0; list != NULL && i < run->n_caps; i++) {
		if (strcmp(run->caps[i].type, type) != 0)
			continue;
		pw_cap_format(type, run->caps[i].value, buf, sizeof buf);
		if (json_array_append_new(list, json_string(buf)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* Step 7: each requirement in order; PW_OK with d untouched when all are held. */
static pw_status check_requires(const pw_action *a, const pw_run *run, const pw_call *call,
                                pw_decision *d, bool *failed)
{
	const json_t *reqs = json_object_get(a->def, "requires");
	json_t *data = json_pack("{sO}", "input", call->input);
	char check[64], err[256], want[512];
	if (data == NULL)
		return PW_ERR_NOMEM;
	pw_status st = PW_OK;
	for (size_t i = 0; i < json_array_size(reqs) && !*failed; i++) {
		const json_t *req = json_array_get(reqs, i);
		const char *type = json_string_value(json_object_get(req, "cap"));
		const json_t *rule = json_object_get(req, "value");
		json_t *want_v = NULL;
		if (rule != NULL) {
			st = pw_logic_eval(rule, data, NULL, &want_v, err, sizeof err);
			if (st == PW_ERR_NOMEM)
				break;
			if (st != PW_OK) {
				*failed = true;
				snprintf(check, sizeof check, "requires[%zu]", i);
				st = verdict(
				        d, PW_VERDICT_REJECT, "RULE_ERROR", PW_TIER_NONE, check,
				        json_string(RULE_BOUNDS), json_string(err),
				        "%s: the value of the required capability %s cannot be "
				        "evaluated: %s",
				        check, type, err);
				break;
			}
			pw_cap_format(type, want_v, want, sizeof want);
		} else {
			snprintf(want, sizeof want, "%s", type);
		}
		bool any = false, live = false, match_dead = false;
		for (size_t k = 0; k < run->n_caps; k++) {
			const pw_cap *c = &run->caps[k];
			if (strcmp(c->type, type) != 0)
				continue;
			any = true;
			bool alive = c->expires_ms == 0 || c->expires_ms > call->now_ms;
			bool match = want_v == NULL || pw_json_equal(c->value, want_v);
			if (match && alive)
				live = true;
			else if (match)
				match_dead = true;
		}
		json_decref(want_v);
		if (live)
			continue;
		*failed = true;
		snprintf(check, sizeof check, "requires[%zu]", i);
		json_t *held = held_of(run, type);
		if (held == NULL) {
			st = PW_ERR_NOMEM;
			break;
		}
		if (!any)
			st = verdict(
			        d, PW_VERDICT_REJECT, "CAP_MISSING", PW_TIER_NONE, check,
			        json_string(want), held,
			        "%s: capability %s is not held in this run (no action of the run "
			        "has minted a %s)",
			        check, want, type);
		else if (match_dead)
			st = verdict(d, PW_VERDICT_REJECT, "CAP_EXPIRED", PW_TIER_NONE, check,
			             json_string(want), held, "%s: capability %s has expired",
			             check, want);
		else
			st = verdict(
			        d, PW_VERDICT_REJECT, "CAP_MISMATCH", PW_TIER_NONE, check,
			        json_string(want), held,
			        "%s: capability %s is not held in this run; the run holds only "
			        "other values of %s",
			        check, want, type);
	}
	json_decref(data);
	return st;
}

/*
 * Evaluate the conditions of list (pre) on data; the first that is not
 * truthy decides reason.
 */
static pw_status check_pre(const json_t *list, const json_t *data, pw_decision *d, bool *failed)
{
	char check[64], err[256];
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *v = NULL;
		pw_status st =
		        pw_logic_eval(json_array_get(list, i), data, NULL, &v, err, sizeof err);
		if (st == PW_ERR_NOMEM)
			return st;
		if (st != PW_OK || !pw_logic_truthy(v)) /* the name only when it decides */
			snprintf(check, sizeof check, "pre[%zu]", i);
		if (st != PW_OK) {
			*failed = true;
			return verdict(d, PW_VERDICT_REJECT, "RULE_ERROR", PW_TIER_NONE, check,
			               json_string(RULE_BOUNDS), json_string(err),
			               "%s: cannot be evaluated: %s", check, err);
		}
		if (!pw_logic_truthy(v)) {
			*failed = true;
			return verdict(d, PW_VERDICT_REJECT, "PRECONDITION_FAILED", PW_TIER_NONE,
			               check, json_true(), v, "%s: precondition does not hold",
			               check);
		}
		json_decref(v);
	}
	return PW_OK;
}

pw_status pw_call_sha256(const char *action, const json_t *input, char out[PW_HASH_STR_LEN + 1])
{
	json_t *call = json_pack("{sssO}", "action", action, "input", input);
	char *canon = NULL;
	size_t len = 0;
	unsigned char digest[PW_SHA256_LEN];
	if (call == NULL)
		return PW_ERR_NOMEM;
	pw_status st = pw_jcs_dump(call, 0, &canon, &len);
	json_decref(call);
	if (st == PW_OK)
		st = pw_sha256(canon, len, digest);
	free(canon);
	if (st != PW_OK)
		return st;
	memcpy(out, "sha256:", 7);
	pw_hex(digest, PW_SHA256_LEN, out + 7);
	return PW_OK;
}

/*
 * Step 9 for an approval rule: the request this call repeats or the owner's
 * approval it uses, found by its hash, else a new request.
 */
static pw_status approval_rule(const pw_run *run, const json_t *body, const char *check,
                               const pw_call *call, pw_decision *d)
{
	int64_t ms = pw_spec_duration_ms(json_object_get(body, "expires"), 86400000);
	const char *reason = json_string_value(json_object_get(body, "reason"));
	d->owner = json_string_value(json_object_get(body, "owner"));
	d->expires_ms = call->now_ms + (ms > 0 ? ms : 86400000);
	PW_TRY(pw_call_sha256(call->action, call->input, d->call_sha256));
	for (size_t i = 0; i < run->n_pending; i++) {
		const pw_pending *p = &run->pending[i];
		if (strcmp(p->call_sha256, d->call_sha256) != 0 ||
		    strcmp(p->owner, d->owner) != 0 || p->expires_ms <= call->now_ms)
			continue;
		d->approval_id = p->approval_id;
		if (p->approved) {
			d->expires_ms = 0;
			return verdict(d, PW_VERDICT_ALLOW, "APPROVED", PW_TIER_NONE, check, NULL,
			               NULL, "%s: approved by %s (%s, %s)", check, p->by,
			               p->approval_id, reason);
		}
		d->expires_ms = p->expires_ms;
		return verdict(d, PW_VERDICT_APPROVAL, reason, PW_TIER_NONE, check, NULL, NULL,
		               "%s: still waits for owner %s (%s, %s)", check, d->owner,
		               p->approval_id, reason);
	}
	return verdict(d, PW_VERDICT_APPROVAL, reason, PW_TIER_NONE, check, NULL, NULL,
	               "%s: waits for owner %s (%s)", check, d->owner, reason);
}

/* Step 9: a verdict body of the spec ({approval: {...}}, {block: {...}}, allow: true). */
static pw_status apply_rule(const pw_run *run, const json_t *rule, const char *check,
                            const pw_call *call, pw_decision *d)
{
	const json_t *body;
	if ((body = json_object_get(rule, "approval")) != NULL)
		return approval_rule(run, body, check, call, d);
	if ((body = json_object_get(rule, "block")) != NULL) {
		d->owner = json_string_value(json_object_get(body, "owner"));
		const char *reason = json_string_value(json_object_get(body, "reason"));
		return verdict(d, PW_VERDICT_BLOCK, reason, PW_TIER_NONE, check, NULL, NULL,
		               "%s: blocked by policy (%s); owner %s decides", check, reason,
		               d->owner);
	}
	bool dflt = strcmp(check, "default") == 0;
	return verdict(d, PW_VERDICT_ALLOW, dflt ? "DEFAULT_ALLOW" : "RULE_ALLOW", PW_TIER_NONE,
	               check, NULL, NULL, "%s: allowed", check);
}

static pw_status check_rules(const pw_spec *spec, const pw_run *run, const pw_action *a,
                             const json_t *data, const pw_call *call, pw_decision *d)
{
	const json_t *rules = json_object_get(a->def, "decide");
	char check[64], err[256];
	for (size_t i = 0; i < json_array_size(rules); i++) {
		const json_t *rule = json_array_get(rules, i);
		json_t *v = NULL;
		pw_status st = pw_logic_eval(json_object_get(rule, "when"), data, NULL, &v, err,
		                             sizeof err);
		if (st == PW_ERR_NOMEM)
			return st;
		bool hit = st == PW_OK && pw_logic_truthy(v);
		json_decref(v);
		if (st != PW_OK || hit) /* the name of the check only when it decides */
			snprintf(check, sizeof check, "decide[%zu]", i);
		if (st != PW_OK)
			return verdict(d, PW_VERDICT_REJECT, "RULE_ERROR", PW_TIER_NONE, check,
			               json_string(RULE_BOUNDS), json_string(err),
			               "%s: cannot be evaluated: %s", check, err);
		if (hit)
			return apply_rule(run, rule, check, call, d);
	}
	const json_t *dflt = json_object_get(spec->model, "default");
	if (json_is_string(dflt)) /* "allow" */
		return apply_rule(run, NULL, "default", call, d);
	return apply_rule(run, dflt, "default", call, d);
}

static json_t *action_names(const pw_spec *spec)
{
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < spec->n_actions; i++)
		if (json_array_append_new(list, json_string(spec->actions[i].name)) != 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

static bool in_list(const json_t *list, const char *s)
{
	size_t i;
	const json_t *e;
	json_array_foreach (list, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	return false;
}

pw_status pw_decide(const pw_spec *spec, const pw_run *run, const pw_call *call, pw_decision *d)
{
	memset(d, 0, sizeof *d);
	if (run == NULL || call == NULL || run->state == NULL)
		return PW_ERR_INTERNAL;

	/* 1 parse */
	if (call->action == NULL)
		return verdict(d, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "action",
		               json_string("an action name of at most 128 bytes of UTF-8"),
		               json_string("a name that is empty, too long or not UTF-8"),
		               "the action name is not a string of at most %d bytes of valid UTF-8",
		               PW_ACTION_NAME_MAX);
	if (call->input == NULL)
		return verdict(d, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "input",
		               json_string("one JSON object"), str_or_null(call->input_error),
		               "the input is not valid JSON: %s",
		               call->input_error ? call->input_error : "unreadable");
	if (has_unsafe_number(call->input, 0))
		return verdict(d, PW_VERDICT_REJECT, "INPUT_MALFORMED", PW_TIER_NONE, "input",
		               json_string("numbers of magnitude below 2^53"), NULL,
		               "the input holds a number of magnitude 2^53 or more, which cannot "
		               "be represented exactly");

	/* 2 spec pin */
	if (call->spec_id == NULL && call->spec_unreadable)
		return verdict(
		        d, PW_VERDICT_REJECT, "SPEC_UNREADABLE", PW_TIER_NONE, "spec",
		        json_string(run->workflow_id), str_or_null(call->spec_error),
		        "the workflow spec cannot be read now (%s); nothing runs until it can",
		        call->spec_error ? call->spec_error : "?");
	if (call->spec_id == NULL || strcmp(call->spec_id, run->workflow_id) != 0) {
		char actual[600];
		if (call->spec_id == NULL)
			snprintf(actual, sizeof actual, "unreadable: %s",
			         call->spec_error ? call->spec_error : "?");
		else
			snprintf(actual, sizeof actual, "%s", call->spec_id);
		return verdict(d, PW_VERDICT_REJECT, "SPEC_HASH_MISMATCH", PW_TIER_POLICY, "spec",
		               json_string(run->workflow_id), json_string(actual),
		               "the workflow spec on disk is not the one this run pinned; the run "
		               "halts");
	}
	if (spec == NULL)
		return PW_ERR_INTERNAL;

	/* 3 run health */
	if (call->locked_out || pw_run_lockout(run, call->agent ? call->agent : "") != NULL) {
		const pw_lockout *l = pw_run_lockout(run, call->agent ? call->agent : "");
		return verdict(d, PW_VERDICT_REJECT, "AGENT_LOCKED_OUT", PW_TIER_NONE, "agent",
		               json_string("an agent that is not locked out"),
		               json_string(call->agent ? call->agent : ""),
		               "agent %s is locked out after a policy violation (%s); an owner "
		               "must unlock it with pitwall unlock",
		               call->agent ? call->agent : "?", l ? l->reason : "in another run");
	}
	if (run->halted)
		return verdict(d, PW_VERDICT_REJECT, "RUN_HALTED", PW_TIER_NONE, "run",
		               json_string("a run that is not halted"),
		               str_or_null(run->halt_reason), "the run halted at event %llu (%s)",
		               (unsigned long long)run->halt_seq,
		               run->halt_reason ? run->halt_reason : "?");
	if (run->n_open > 0 || call->busy) {
		const char *open_id = run->n_open > 0 ? run->open[0].call_id : NULL;
		if (call->busy)
			return verdict(
			        d, PW_VERDICT_REJECT, "CALL_IN_PROGRESS", PW_TIER_NONE, "run",
			        json_string("no call in progress"), str_or_null(open_id),
			        "another call of this run is in progress%s%s; try again when "
			        "it has finished",
			        open_id ? ": " : "", open_id ? open_id : "");
		return verdict(d, PW_VERDICT_REJECT, "CALL_IN_DOUBT", PW_TIER_NONE, "run",
		               json_string("no call in doubt"), json_string(open_id),
		               "call %s (%s) started and never recorded a result; an operator "
		               "must record what happened with pitwall resolve",
		               open_id, run->open[0].action);
	}
	if (call->attempt > 1) {
		const pw_retryable *t = &run->retry;
		const pw_action *ra = pw_spec_action(spec, call->action);
		unsigned max = 0;
		int64_t backoff;
		if (ra != NULL)
			pw_action_retry(ra, &max, &backoff);
		if (t->root == NULL || call->retry_of == NULL ||
		    strcmp(t->root, call->retry_of) != 0 || strcmp(t->action, call->action) != 0 ||
		    call->attempt != t->attempt + 1 || call->attempt > max + 1)
			return verdict(d, PW_VERDICT_REJECT, "RETRY_INVALID", PW_TIER_NONE,
			               "attempt",
			               json_string("the next attempt after a correctable failure, "
			                           "within errors.retry.max"),
			               json_real(call->attempt),
			               "attempt %u of %s is not a retry the spec allows here",
			               call->attempt, call->retry_of ? call->retry_of : "?");
	}

	/* 4 closed set */
	const pw_action *a = pw_spec_action(spec, call->action);
	if (a == NULL) {
		json_t *names = action_names(spec);
		if (names == NULL)
			return PW_ERR_NOMEM;
		return verdict(d, PW_VERDICT_REJECT, "UNKNOWN_ACTION", PW_TIER_POLICY, "actions",
		               names, json_string(call->action),
		               "\"%s\" is not an action of workflow %s", call->action,
		               run->workflow ? run->workflow : "?");
	}

	/* 5 input schema */
	pw_schema_error se;
	pw_status st = pw_schema_validate(a->input, call->input, &se);
	if (st == PW_ERR_NOMEM || st == PW_ERR_INTERNAL) {
		pw_schema_error_release(&se);
		return st;
	}
	if (st != PW_OK) {
		char check[128];
		snprintf(check, sizeof check, "input%.90s:%.30s", se.pointer, se.rule);
		json_t *exp = se.expected ? json_incref(se.expected) : NULL;
		json_t *act = se.actual ? json_incref(se.actual) : NULL;
		verdict(d, PW_VERDICT_REJECT, "INPUT_INVALID", PW_TIER_NONE, check, exp, act,
		        "input%s", se.message);
		pw_schema_error_release(&se);
		return PW_OK;
	}
	pw_schema_error_release(&se);

	/* 6 transition */
	const json_t *from = json_object_get(a->def, "from");
	if (!in_list(from, run->state))
		return verdict(d, PW_VERDICT_REJECT, "ILLEGAL_TRANSITION", PW_TIER_NONE, "from",
		               json_deep_copy(from), json_string(run->state),
		               "%s cannot be called in state %s", a->name, run->state);

	/* 7 capabilities, then preconditions */
	bool failed = false;
	PW_TRY(check_requires(a, run, call, d, &failed));
	if (failed)
		return PW_OK;
	json_t *data = rule_data(run, call);
	if (data == NULL)
		return PW_ERR_NOMEM;
	st = check_pre(json_object_get(a->def, "pre"), data, d, &failed);
	if (st != PW_OK || failed) {
		json_decref(data);
		return st;
	}

	/* 8 code pin */
	if (call->program_sha256 == NULL || a->sha256 == NULL ||
	    strlen(call->program_sha256) != strlen(a->sha256) ||
	    !pw_ct_equal(call->program_sha256, a->sha256, strlen(a->sha256))) {
		json_decref(data);
		return verdict(
		        d, PW_VERDICT_REJECT, "CODE_HASH_MISMATCH", PW_TIER_FATAL, "run.sha256",
		        json_string(a->sha256),
		        json_string(call->program_sha256 ? call->program_sha256 : "unreadable"),
		        "the program of %s is not the pinned one; the run halts", a->name);
	}

	/* 9 decision rules */
	st = check_rules(spec, run, a, data, call, d);
	json_decref(data);
	return st;
}
