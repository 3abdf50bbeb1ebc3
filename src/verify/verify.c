/*
 * verify.c: the checks of verify.h, on an event read either way: parsed
 * as JSON (pw_verify_event()), or a canonical line read in place
 * (pw_verify_line(), prep.h).
 *
 * The checks are written once, against the accessors below, which give
 * the same answers for both readings of the same event: a canonical line
 * is exactly the canonical form of the JSON it parses to, two values are
 * equal (pw_json_equal()) exactly when their canonical forms are, and the
 * values the replay needs are built from the line as pw_json_parse()
 * builds them. Reading in place only ever accepts: at the first check that
 * does not pass ("retry"), before anything in the verifier has changed,
 * the event is read again as JSON and checked again, and that reading
 * writes the report. The one exception is the fold, which comes after
 * every check and changes the run state as it goes: its failure is
 * reported at once, and with the same words, since it saw the same
 * members.
 */
#include "verify/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "core/decide.h"
#include "core/json.h"
#include "core/outcome.h"
#include "core/record.h"
#include "verify/prep.h"

/* The input of an allowed call that has no result yet: its result is computed from it. */
typedef struct open_input {
	char call_id[32]; /* "c<seq>", which check_call() has checked */
	json_t *input;    /* owned reference */
} open_input;

struct pw_verifier {
	const pw_spec *spec; /* borrowed */
	pw_run run;
	char prev[PW_HASH_STR_LEN + 1];
	open_input *open; /* owned array */
	size_t n_open, cap_open;
	bool in_place; /* the event being checked is a line read in place */
	bool retry;    /* ... and a check did not pass: read it again as JSON */
	pw_verify_report rep;
	/* the events the last call or result requires next (halt, lockout, escalate), in
	   order, without their common members; NULL or empty: none */
	json_t *expect;
	json_t *next_expect;   /* what the event being checked will require, once it passes */
	uint64_t expect_cause; /* the seq of the event that requires them */
};

/* An event, read one way or the other. */
typedef struct ev {
	const json_t *json;      /* borrowed; the event parsed, or NULL: ... */
	const pw_verify_prep *p; /* borrowed; ... its line read in place */
} ev;

pw_status pw_verify_new(const pw_spec *spec, pw_verifier **out)
{
	*out = NULL;
	if (spec == NULL)
		return PW_ERR_INTERNAL;
	pw_verifier *v = calloc(1, sizeof *v);
	if (v == NULL)
		return PW_ERR_NOMEM;
	v->spec = spec;
	pw_run_init(&v->run);
	memcpy(v->prev, pw_event_genesis_prev, sizeof v->prev);
	v->rep.valid = true;
	*out = v;
	return PW_OK;
}

void pw_verify_free(pw_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n_open; i++)
		json_decref(v->open[i].input);
	free(v->open);
	json_decref(v->expect);
	json_decref(v->next_expect);
	pw_run_release(&v->run);
	free(v);
}

const pw_verify_report *pw_verify_report_get(const pw_verifier *v)
{
	return &v->rep;
}

const pw_run *pw_verify_run(const pw_verifier *v)
{
	return &v->run;
}

/* ---- the event's members, either way ---------------------------------------- */

static const json_t *member(const ev *e, enum pw_ev_key k)
{
	return json_object_get(e->json, pw_ev_key_names[k]);
}

/* Whether the member is there. */
static bool has(const ev *e, enum pw_ev_key k)
{
	return e->json ? member(e, k) != NULL : e->p->val[k] != NULL;
}

static bool is_null(const ev *e, enum pw_ev_key k)
{
	if (e->json)
		return json_is_null(member(e, k));
	return e->p->val[k] != NULL && e->p->val[k][0] == 'n';
}

/* The member's value if it is a string, else NULL (pw_event_str()). */
static const char *str(const ev *e, enum pw_ev_key k)
{
	return e->json ? pw_event_str(e->json, pw_ev_key_names[k]) : e->p->str[k];
}

/* The member's value if it is an integer within +-2^53, else -1 (pw_event_int()). */
static int64_t num(const ev *e, enum pw_ev_key k)
{
	if (e->json)
		return pw_event_int(e->json, pw_ev_key_names[k]);
	return pw_canon_int(e->p->val[k], e->p->val_len[k]);
}

/* The member as JSON; only input, result and caps are built from a line. */
static const json_t *value(const ev *e, enum pw_ev_key k)
{
	if (e->json)
		return member(e, k);
	switch (k) {
	case K_INPUT: return e->p->input;
	case K_RESULT: return e->p->result;
	case K_CAPS: return e->p->caps;
	default: return NULL;
	}
}

/* Whether the member (which is there) equals want (not NULL), by pw_json_equal(). */
static bool equal(const ev *e, enum pw_ev_key k, const json_t *want)
{
	if (e->json)
		return pw_json_equal(member(e, k), want);
	const char *text = e->p->val[k];
	size_t len = e->p->val_len[k];
	if (json_is_array(want) && json_array_size(want) == 0)
		return len == 2 && text[0] == '[';
	char *jcs = NULL, num_text[PW_JCS_NUMBER_MAX];
	size_t n = 0;
	double d;
	if (pw_json_number(want, &d)) /* the common case, without an allocation */
		return pw_jcs_number(d, num_text) == PW_OK && strlen(num_text) == len &&
		       memcmp(num_text, text, len) == 0;
	bool same =
	        pw_jcs_dump(want, 0, &jcs, &n) == PW_OK && n == len && memcmp(jcs, text, n) == 0;
	free(jcs);
	return same;
}

static const json_t *obs_member(const ev *e, enum pw_obs_key k)
{
	return json_object_get(member(e, K_OBSERVED), pw_obs_key_names[k]);
}

static bool observed_is_object(const ev *e)
{
	if (e->json)
		return json_is_object(member(e, K_OBSERVED));
	return e->p->val[K_OBSERVED] != NULL && e->p->val[K_OBSERVED][0] == '{';
}

/* A member of "observed" as a string, else NULL. */
static const char *obs_str(const ev *e, enum pw_obs_key k)
{
	return e->json ? json_string_value(obs_member(e, k)) : e->p->obs_str[k];
}

/* Whether a member of "observed" is true (*is_bool: whether it is true or false). */
static bool obs_true(const ev *e, enum pw_obs_key k, bool *is_bool)
{
	if (e->json) {
		*is_bool = json_is_boolean(obs_member(e, k));
		return json_is_true(obs_member(e, k));
	}
	const char *t = e->p->obs_val[k];
	*is_bool = t != NULL && (t[0] == 't' || t[0] == 'f');
	return t != NULL && t[0] == 't';
}

/* ---- verdicts ------------------------------------------------------------------- */

/* Whether every check so far has passed. */
static bool ok(const pw_verifier *v)
{
	return v->rep.valid && !v->retry;
}

static pw_status violation(pw_verifier *v, const char *check, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static pw_status violation(pw_verifier *v, const char *check, const char *fmt, ...)
{
	if (v->in_place) {
		v->retry = true; /* the JSON reading writes the report */
		return PW_OK;
	}
	v->rep.valid = false;
	v->rep.bad_seq = v->rep.events;
	snprintf(v->rep.check, sizeof v->rep.check, "%s", check);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->rep.detail, sizeof v->rep.detail, fmt, ap);
	va_end(ap);
	pw_utf8_trim(v->rep.detail);
	return PW_OK;
}

/* A member as compact JSON for a message ("absent" when missing), cut to fit. */
static void show(const json_t *m, char *buf, size_t len)
{
	char *s = m ? json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
	snprintf(buf, len, "%s", m == NULL ? "absent" : s ? s : "?");
	free(s);
}

/* The member k differs from want (NULL: absent): a violation, which names both. */
static bool differs(pw_verifier *v, const char *check, const ev *e, enum pw_ev_key k,
                    const json_t *want)
{
	if (v->in_place) {
		v->retry = true;
		return false;
	}
	char g[200], w[200];
	show(member(e, k), g, sizeof g);
	show(want, w, sizeof w);
	violation(v, check, "%s: recorded %s, the spec gives %s", pw_ev_key_names[k], g, w);
	return false;
}

/*
 * Compare the recorded member k with what the core computed (want NULL:
 * the member must be absent). False, with the violation set, when they
 * differ.
 */
static bool same(pw_verifier *v, const char *check, const ev *e, enum pw_ev_key k,
                 const json_t *want)
{
	bool there = has(e, k);
	if ((!there && want == NULL) || (there && want != NULL && equal(e, k, want)))
		return true;
	return differs(v, check, e, k, want);
}

/* same() for a string (NULL or "": absent). */
static bool same_str(pw_verifier *v, const char *check, const ev *e, enum pw_ev_key k,
                     const char *want)
{
	bool absent = want == NULL || want[0] == '\0';
	const char *got = str(e, k);
	if (absent ? !has(e, k) : got != NULL && strcmp(got, want) == 0)
		return true;
	json_t *w = absent ? NULL : json_string(want);
	differs(v, check, e, k, w);
	json_decref(w);
	return false;
}

/* same() for a number (present false: absent). */
static bool same_int(pw_verifier *v, const char *check, const ev *e, enum pw_ev_key k, int64_t want,
                     bool present)
{
	json_t *w = present ? json_real((double)want) : NULL;
	bool good = same(v, check, e, k, w);
	json_decref(w);
	return good;
}

/* ---- the checks ------------------------------------------------------------------ */

/* prefix followed by the decimal digits of n, into out (which holds 32 bytes); its length. */
static size_t with_number(char out[32], const char *prefix, uint64_t n)
{
	char digits[24];
	size_t k = 0, len = strlen(prefix);
	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	memcpy(out, prefix, len);
	while (k > 0)
		out[len++] = digits[--k];
	out[len] = '\0';
	return len;
}

static pw_status check_genesis(pw_verifier *v, const ev *e)
{
	const json_t *m = v->spec->model;
	if (!same_str(v, "genesis", e, K_WORKFLOW_ID, v->spec->workflow_id) ||
	    !same_str(v, "genesis", e, K_STATE, json_string_value(json_object_get(m, "initial"))) ||
	    !same_str(v, "genesis", e, K_WORKFLOW, json_string_value(json_object_get(m, "name"))))
		return PW_OK;
	return PW_OK;
}

/* Remember the input of the allowed call call_id until its result. */
static pw_status open_call(pw_verifier *v, const char *call_id, const json_t *input)
{
	if (v->n_open == v->cap_open) {
		size_t ncap = v->cap_open ? v->cap_open * 2 : 4;
		open_input *p = realloc(v->open, ncap * sizeof *p);
		if (p == NULL)
			return PW_ERR_NOMEM;
		v->open = p;
		v->cap_open = ncap;
	}
	size_t n = strlen(call_id);
	if (n >= sizeof v->open[v->n_open].call_id)
		return PW_ERR_INTERNAL;
	memcpy(v->open[v->n_open].call_id, call_id, n + 1);
	v->open[v->n_open].input = json_incref((json_t *)input);
	v->n_open++;
	return PW_OK;
}

/* The open call's entry; NULL when call_id is not open. */
static open_input *find_open(pw_verifier *v, const char *call_id)
{
	for (size_t i = 0; call_id != NULL && i < v->n_open; i++)
		if (strcmp(v->open[i].call_id, call_id) == 0)
			return &v->open[i];
	return NULL;
}

static void close_open(pw_verifier *v, open_input *o)
{
	if (o == NULL)
		return;
	json_decref(o->input);
	size_t i = (size_t)(o - v->open);
	memmove(o, o + 1, (v->n_open - i - 1) * sizeof *o);
	v->n_open--;
}

static pw_status check_call(pw_verifier *v, const ev *e, uint64_t seq)
{
	char call_id[32];
	bool busy_bool, unreadable_bool;
	with_number(call_id, "c", seq);
	if (!same_str(v, "decision", e, K_CALL_ID, call_id) ||
	    !same_str(v, "decision", e, K_STATE, v->run.state))
		return PW_OK;
	const json_t *input = value(e, K_INPUT);
	bool locked_bool;
	bool busy = obs_true(e, O_BUSY, &busy_bool);
	bool unreadable = obs_true(e, O_SPEC_UNREADABLE, &unreadable_bool);
	bool locked_out = obs_true(e, O_LOCKED_OUT, &locked_bool);
	if (!observed_is_object(e) || !busy_bool || !unreadable_bool || !locked_bool)
		return violation(v, "decision",
		                 "observed is not {workflow_id, program_sha256, "
		                 "busy, locked_out, spec_unreadable}");
	int64_t attempt = num(e, K_ATTEMPT);
	if (has(e, K_ATTEMPT) && (attempt < 2 || attempt > 11 || str(e, K_RETRY_OF) == NULL))
		return violation(v, "decision", "attempt is not 2-11 with retry_of");
	if (!has(e, K_ATTEMPT) && has(e, K_RETRY_OF))
		return violation(v, "decision", "retry_of without attempt");
	pw_call c = {
	        .action = str(e, K_ACTION),
	        .input = json_is_null(input) ? NULL : input,
	        .input_error = str(e, K_INPUT_ERROR),
	        .agent = str(e, K_AGENT),
	        .now_ms = num(e, K_TIME_MS),
	        .spec_id = obs_str(e, O_WORKFLOW_ID),
	        .spec_error = obs_str(e, O_SPEC_ERROR),
	        .spec_unreadable = unreadable,
	        .program_sha256 = obs_str(e, O_PROGRAM_SHA256),
	        .busy = busy,
	        .locked_out = locked_out,
	        .attempt = has(e, K_ATTEMPT) ? (unsigned)attempt : 0,
	        .retry_of = str(e, K_RETRY_OF),
	};
	if (c.agent == NULL || input == NULL)
		return violation(v, "decision", "a call without agent or input");
	if (c.input == NULL && c.input_error == NULL)
		return violation(v, "decision", "input is null without input_error");
	/* the spec is the pinned one; a call made under another was decided before it mattered */
	pw_decision d;
	pw_status st = pw_decide(v->spec, &v->run, &c, &d);
	if (st != PW_OK)
		return st;
	const char *chk = "decision";
	if (same_str(v, chk, e, K_VERDICT, pw_verdict_name(d.verdict)) &&
	    same_str(v, chk, e, K_REASON, d.reason) &&
	    same_str(v, chk, e, K_TIER, pw_tier_name(d.tier)) &&
	    same_str(v, chk, e, K_CHECK, d.check) && same(v, chk, e, K_EXPECTED, d.expected) &&
	    same(v, chk, e, K_ACTUAL, d.actual) && same_str(v, chk, e, K_OWNER, d.owner) &&
	    same_str(v, chk, e, K_MESSAGE, d.message)) {
		bool approval = d.verdict == PW_VERDICT_APPROVAL;
		bool bound = approval || d.approval_id != NULL; /* asks, or uses an approval */
		char aid[32];
		with_number(aid, "a", seq);
		if (same_int(v, chk, e, K_EXPIRES_MS, d.expires_ms, approval) &&
		    same_str(v, chk, e, K_APPROVAL_ID,
		             d.approval_id ? d.approval_id
		             : approval    ? aid
		                           : NULL))
			(void)same_str(v, chk, e, K_CALL_SHA256, bound ? d.call_sha256 : NULL);
	}
	if (ok(v) && d.verdict == PW_VERDICT_ALLOW)
		st = open_call(v, call_id, input);
	if (st == PW_OK && ok(v)) {
		json_decref(v->next_expect);
		v->next_expect = pw_record_after_call(&d, c.agent, seq);
		if (v->next_expect == NULL)
			st = PW_ERR_NOMEM;
	}
	pw_decision_release(&d);
	return st;
}

static pw_status check_result(pw_verifier *v, const ev *e)
{
	const char *call_id = str(e, K_CALL_ID);
	const pw_open_call *oc = call_id ? pw_run_open_call(&v->run, call_id) : NULL;
	if (oc == NULL)
		return violation(v, "outcome", "a result for call %s, which is not open",
		                 call_id ? call_id : "(none)");
	const pw_action *a = pw_spec_action(v->spec, oc->action);
	if (a == NULL || !same_str(v, "outcome", e, K_ACTION, oc->action))
		return ok(v) ? violation(v, "outcome", "the call's action is not in the spec")
		             : PW_OK;
	pw_exec_facts f = {0};
	const json_t *result = value(e, K_RESULT);
	if (pw_how_parse(str(e, K_HOW), &f.how) != PW_OK ||
	    (result != NULL && !json_is_null(result) && !json_is_object(result)))
		return violation(v, "outcome", "how or result is not well-formed");
	f.exit_status = (int)num(e, K_EXIT);
	f.signal = is_null(e, K_SIGNAL) ? 0 : (int)num(e, K_SIGNAL);
	f.result = json_is_object(result) ? result : NULL;
	f.now_ms = num(e, K_TIME_MS);
	f.attempt = oc->attempt;
	if (f.how == PW_HOW_EXITED && (f.exit_status < 0 || f.exit_status > 255))
		return violation(v, "outcome", "an exited program without an exit status 0-255");
	open_input *in = find_open(v, call_id);
	if (in == NULL)
		return violation(v, "outcome", "no input recorded for call %s", call_id);
	pw_outcome o;
	pw_status st = pw_outcome_compute(v->spec, a, &v->run, in->input, &f, &o);
	if (st != PW_OK)
		return st;
	const char *chk = "outcome";
	if (same_str(v, chk, e, K_OUTCOME, o.ok ? "ok" : "failed") &&
	    same_str(v, chk, e, K_REASON, o.reason) &&
	    same_str(v, chk, e, K_TIER, pw_tier_name(o.tier)) &&
	    same_str(v, chk, e, K_CHECK, o.check) && same(v, chk, e, K_CAPS, o.caps) &&
	    same_str(v, chk, e, K_STATE, o.state)) {
		/* the message may carry what the executor said after the core's text */
		const char *msg = str(e, K_MESSAGE);
		size_t n = strlen(o.message);
		if (msg == NULL || strncmp(msg, o.message, n) != 0 ||
		    (msg[n] != '\0' && strncmp(msg + n, ": ", 2) != 0))
			violation(v, chk, "message: recorded does not begin with \"%.300s\"",
			          o.message);
	}
	pw_status st2 = PW_OK;
	if (ok(v)) {
		json_decref(v->next_expect);
		v->next_expect = pw_record_after_result(&o, call_id, oc->action, v->rep.events);
		if (v->next_expect == NULL)
			st2 = PW_ERR_NOMEM;
	}
	pw_outcome_release(&o);
	if (ok(v))
		close_open(v, in);
	return st2;
}

static pw_status check_resolve(pw_verifier *v, const ev *e)
{
	const char *call_id = str(e, K_CALL_ID), *by = str(e, K_BY);
	const char *outcome = str(e, K_OUTCOME);
	const pw_open_call *oc = call_id ? pw_run_open_call(&v->run, call_id) : NULL;
	if (oc == NULL)
		return violation(v, "resolve", "resolves call %s, which is not open",
		                 call_id ? call_id : "(none)");
	if (by == NULL || json_object_get(json_object_get(v->spec->model, "owners"), by) == NULL)
		return violation(v, "resolve", "by \"%.80s\" is not an owner of the spec",
		                 by ? by : "(none)");
	const pw_action *a = pw_spec_action(v->spec, oc->action);
	const json_t *to = a ? json_object_get(a->def, "to") : NULL;
	bool good = outcome != NULL && strcmp(outcome, "ok") == 0;
	const char *state = good && json_is_string(to) ? json_string_value(to) : v->run.state;
	if (same_str(v, "resolve", e, K_STATE, state))
		close_open(v, find_open(v, call_id));
	return PW_OK;
}

/*
 * The chain members of a line read in place: what pw_event_verify() checks
 * of the parsed event, with the hash recomputed from the bytes. False
 * sends the line to the JSON reading, which says what is wrong.
 */
static bool chain_holds(const pw_verifier *v, const pw_verify_prep *p, uint64_t seq)
{
	char want[32];
	size_t n = with_number(want, "", seq);
	const char *run_id = p->str[K_RUN_ID], *prev = p->str[K_PREV], *hash = p->str[K_HASH];
	return p->val_len[K_V] == 1 && p->val[K_V][0] == '1' && run_id != NULL &&
	       strcmp(run_id, v->rep.run_id) == 0 && p->val[K_SEQ] != NULL &&
	       p->val_len[K_SEQ] == n && memcmp(p->val[K_SEQ], want, n) == 0 &&
	       pw_canon_int(p->val[K_TIME_MS], p->val_len[K_TIME_MS]) >= 0 &&
	       p->str[K_KIND] != NULL && prev != NULL && strcmp(prev, v->prev) == 0 &&
	       hash != NULL && p->hash[0] != '\0' && strcmp(hash, p->hash) == 0;
}

/* What the fold reads (run.h), taken from e. */
static pw_fold_in fold_in(const ev *e)
{
	return (pw_fold_in){
	        .kind = str(e, K_KIND),
	        .hash = str(e, K_HASH),
	        .run_id = str(e, K_RUN_ID),
	        .seq = num(e, K_SEQ),
	        .time_ms = num(e, K_TIME_MS),
	        .workflow_id = str(e, K_WORKFLOW_ID),
	        .workflow = str(e, K_WORKFLOW),
	        .state = str(e, K_STATE),
	        .call_id = str(e, K_CALL_ID),
	        .verdict = str(e, K_VERDICT),
	        .agent = str(e, K_AGENT),
	        .action = str(e, K_ACTION),
	        .reason = str(e, K_REASON),
	        .approval_id = str(e, K_APPROVAL_ID),
	        .owner = str(e, K_OWNER),
	        .expires_ms = num(e, K_EXPIRES_MS),
	        .tier = str(e, K_TIER),
	        .tier_bad = has(e, K_TIER) && !is_null(e, K_TIER) && str(e, K_TIER) == NULL,
	        .outcome = str(e, K_OUTCOME),
	        .caps = value(e, K_CAPS),
	        .by = str(e, K_BY),
	        .call_sha256 = str(e, K_CALL_SHA256),
	        .attempt = !has(e, K_ATTEMPT)      ? -1
	                   : num(e, K_ATTEMPT) < 0 ? 0
	                                           : num(e, K_ATTEMPT),
	        .retry_of = str(e, K_RETRY_OF),
	        .ev = e->json,
	};
}

/* The members every event has, which an expected event leaves out. */
static bool common_member(const char *k)
{
	static const char *const names[] = {"v",       "run_id", "seq", "kind",
	                                    "time_ms", "prev",   "hash"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(k, names[i]) == 0)
			return true;
	return false;
}

/*
 * A halt, lockout or escalate event: it must be the one the call or result
 * before it requires, member for member.
 */
static pw_status check_followup(pw_verifier *v, const ev *e, const char *kind)
{
	const json_t *want = json_array_get(v->expect, 0);
	const char *want_kind = pw_event_str(want, "kind");
	if (want == NULL)
		return violation(v, "followup", "a %s event that no fault before it calls for",
		                 kind);
	if (strcmp(kind, want_kind) != 0)
		return violation(v, "followup", "event %llu requires a %s event next, not a %s",
		                 (unsigned long long)v->expect_cause, want_kind, kind);
	const char *k;
	const json_t *m;
	json_object_foreach ((json_t *)e->json, k, m) {
		if (common_member(k))
			continue;
		if (!pw_json_equal(m, json_object_get(want, k))) {
			char g[200], w[200];
			show(m, g, sizeof g);
			show(json_object_get(want, k), w, sizeof w);
			return violation(v, "followup", "%s: recorded %s, event %llu requires %s",
			                 k, g, (unsigned long long)v->expect_cause, w);
		}
	}
	json_object_foreach ((json_t *)want, k, m)
		if (json_object_get(e->json, k) == NULL)
			return violation(v, "followup", "%s: absent, event %llu requires it", k,
			                 (unsigned long long)v->expect_cause);
	return PW_OK;
}

/* approve, deny, resume, unlock: who may, what they change (the fold checks the rest). */
static pw_status check_operator(pw_verifier *v, const ev *e, const char *kind)
{
	const char *by = str(e, K_BY);
	if (by == NULL || pw_event_str(e->json, "os_user") == NULL)
		return violation(v, kind, "a %s without by and os_user", kind);
	if (strcmp(kind, "deny") == 0 && pw_event_str(e->json, "reason") == NULL)
		return violation(v, "approval", "a deny without a reason");
	if (strcmp(kind, "resume") == 0 &&
	    json_object_get(json_object_get(v->spec->model, "owners"), by) == NULL)
		return violation(v, kind, "by \"%.80s\" is not an owner of the spec", by);
	if (strcmp(kind, "approve") == 0 || strcmp(kind, "deny") == 0) {
		const pw_pending *p = pw_run_pending(&v->run, str(e, K_APPROVAL_ID));
		if (p == NULL)
			return violation(v, "approval", "%s of %.80s, which is not waiting", kind,
			                 str(e, K_APPROVAL_ID) ? str(e, K_APPROVAL_ID) : "(none)");
		if (!same_str(v, "approval", e, K_CALL_ID, p->call_id) ||
		    !same_str(v, "approval", e, K_ACTION, p->action))
			return PW_OK;
	}
	return PW_OK;
}

static bool is_kind(const char *kind, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kind, list[i]) == 0)
			return true;
	return false;
}

static pw_status check_event(pw_verifier *v, const ev *e)
{
	char err[256];
	uint64_t seq = v->rep.events;
	pw_status st;
	if (e->json != NULL) {
		const char *run_id = str(e, K_RUN_ID);
		if (seq == 0)
			snprintf(v->rep.run_id, sizeof v->rep.run_id, "%s",
			         run_id && pw_id_valid(run_id) ? run_id : "?");
		st = pw_event_verify(e->json, v->rep.run_id, seq, v->prev, err, sizeof err);
		if (st == PW_ERR_NOMEM)
			return st;
		if (st != PW_OK)
			return violation(v, "chain", "%s", err);
	} else if (seq == 0 || !chain_holds(v, e->p, seq)) {
		v->retry = true; /* the genesis, and a broken chain, are read as JSON */
		return PW_OK;
	}
	static const char *const followups[] = {"halt", "lockout", "escalate"};
	static const char *const operators[] = {"approve", "deny", "resume", "unlock"};
	const char *kind = str(e, K_KIND);
	bool followup = is_kind(kind, followups, 3), by_owner = is_kind(kind, operators, 4);
	if (e->json == NULL && (followup || by_owner || json_array_size(v->expect) > 0)) {
		v->retry = true; /* the rarer kinds are read as JSON */
		return PW_OK;
	}
	if (seq == 0 && strcmp(kind, "genesis") != 0)
		return violation(v, "genesis", "the first event is a %s, not the genesis", kind);
	if (json_array_size(v->expect) > 0 && !followup)
		return violation(v, "followup", "event %llu requires a %s event next, not a %s",
		                 (unsigned long long)v->expect_cause,
		                 pw_event_str(json_array_get(v->expect, 0), "kind"), kind);
	json_decref(v->next_expect);
	v->next_expect = NULL;
	if (strcmp(kind, "genesis") == 0)
		st = seq == 0 ? check_genesis(v, e) : violation(v, "genesis", "a second genesis");
	else if (strcmp(kind, "call") == 0)
		st = check_call(v, e, seq);
	else if (strcmp(kind, "result") == 0)
		st = check_result(v, e);
	else if (strcmp(kind, "resolve") == 0)
		st = check_resolve(v, e);
	else if (followup)
		st = check_followup(v, e, kind);
	else if (by_owner)
		st = check_operator(v, e, kind);
	else
		st = violation(v, "kind", "unknown event kind \"%.40s\"", kind);
	if (st != PW_OK || !ok(v))
		return st;
	pw_fold_in in = fold_in(e);
	st = pw_run_fold_in(&v->run, &in, err, sizeof err);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK) {
		v->in_place = false; /* the fold has begun to change the run: report it now */
		const char *check =
		        by_owner ? (kind[0] == 'a' || kind[0] == 'd' ? "approval" : kind) : "fold";
		return violation(v, check, "%s", err);
	}
	if (followup)
		json_array_remove(v->expect, 0);
	if (json_array_size(v->next_expect) > 0) {
		json_decref(v->expect);
		v->expect = v->next_expect;
		v->next_expect = NULL;
		v->expect_cause = seq;
	}
	memcpy(v->prev, in.hash, PW_HASH_STR_LEN + 1);
	memcpy(v->rep.head, v->prev, sizeof v->rep.head);
	v->rep.events++;
	return PW_OK;
}

pw_status pw_verify_event(pw_verifier *v, const json_t *json)
{
	if (!v->rep.valid)
		return PW_OK;
	ev e = {json, NULL};
	return check_event(v, &e);
}

pw_status pw_verify_line(pw_verifier *v, pw_verify_prep *p, char *perr, size_t perrlen)
{
	const pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	json_t *json = NULL;
	if (!v->rep.valid)
		return PW_OK;
	if (p->canonical) {
		/*
		 * The input is built here rather than with the rest of the line: it
		 * lives on in the open call until the result, and memory is best
		 * freed by the thread that allocated it.
		 */
		ev e = {NULL, p};
		if (p->val[K_INPUT] != NULL &&
		    (p->input = pw_canon_value(p->val[K_INPUT], p->val_len[K_INPUT])) == NULL)
			return PW_ERR_NOMEM;
		v->in_place = true;
		v->retry = false;
		pw_status st = check_event(v, &e);
		v->in_place = false;
		json_decref(p->input);
		p->input = NULL;
		if (st != PW_OK || !v->retry)
			return st;
		v->retry = false;
	}
	if (p->len > PW_EVENT_MAX_BYTES) {
		snprintf(perr, perrlen, "longer than %zu bytes", PW_EVENT_MAX_BYTES);
		return PW_ERR_TOO_LARGE;
	}
	pw_status st = pw_json_parse(p->line, p->len, &lim, &json, perr, perrlen);
	if (st == PW_OK && !json_is_object(json)) {
		snprintf(perr, perrlen, "another JSON value");
		st = PW_ERR_INVALID;
	}
	if (st == PW_OK)
		st = pw_verify_event(v, json);
	json_decref(json);
	return st;
}
