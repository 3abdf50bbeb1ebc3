#include "verify/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decide.h"
#include "core/json.h"
#include "core/outcome.h"

/* The input of an allowed call that has no result yet: its result is computed from it. */
typedef struct open_input {
	char *call_id; /* owned */
	json_t *input; /* owned reference */
} open_input;

struct pw_verifier {
	const pw_spec *spec; /* borrowed */
	pw_run run;
	char prev[PW_HASH_STR_LEN + 1];
	open_input *open; /* owned array */
	size_t n_open, cap_open;
	pw_verify_report rep;
};

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
	for (size_t i = 0; i < v->n_open; i++) {
		free(v->open[i].call_id);
		json_decref(v->open[i].input);
	}
	free(v->open);
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

static pw_status violation(pw_verifier *v, const char *check, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static pw_status violation(pw_verifier *v, const char *check, const char *fmt, ...)
{
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

/*
 * Compare the recorded member key of ev with what the core computed (want
 * NULL: the member must be absent). False, with the violation set, when
 * they differ.
 */
static bool same(pw_verifier *v, const char *check, const json_t *ev, const char *key,
                 const json_t *want)
{
	const json_t *got = json_object_get(ev, key);
	if (got == NULL && want == NULL)
		return true;
	if (got != NULL && want != NULL && pw_json_equal(got, want))
		return true;
	char g[200], w[200];
	show(got, g, sizeof g);
	show(want, w, sizeof w);
	violation(v, check, "%s: recorded %s, the spec gives %s", key, g, w);
	return false;
}

/* same() for a string (NULL or "": absent). */
static bool same_str(pw_verifier *v, const char *check, const json_t *ev, const char *key,
                     const char *want)
{
	json_t *w = want && *want ? json_string(want) : NULL;
	bool ok = same(v, check, ev, key, w);
	json_decref(w);
	return ok;
}

static bool same_int(pw_verifier *v, const char *check, const json_t *ev, const char *key,
                     int64_t want, bool present)
{
	json_t *w = present ? json_real((double)want) : NULL;
	bool ok = same(v, check, ev, key, w);
	json_decref(w);
	return ok;
}

static pw_status check_genesis(pw_verifier *v, const json_t *ev)
{
	const json_t *m = v->spec->model;
	if (!same_str(v, "genesis", ev, "workflow_id", v->spec->workflow_id) ||
	    !same_str(v, "genesis", ev, "state",
	              json_string_value(json_object_get(m, "initial"))) ||
	    !same_str(v, "genesis", ev, "workflow", json_string_value(json_object_get(m, "name"))))
		return PW_OK;
	return PW_OK;
}

static const json_t *obs(const json_t *ev, const char *key)
{
	return json_object_get(json_object_get(ev, "observed"), key);
}

static pw_status check_call(pw_verifier *v, const json_t *ev, uint64_t seq)
{
	char call_id[32];
	snprintf(call_id, sizeof call_id, "c%llu", (unsigned long long)seq);
	if (!same_str(v, "decision", ev, "call_id", call_id) ||
	    !same_str(v, "decision", ev, "state", v->run.state))
		return PW_OK;
	const json_t *input = json_object_get(ev, "input");
	const json_t *o = json_object_get(ev, "observed");
	if (!json_is_object(o) || !json_is_boolean(obs(ev, "busy")) ||
	    !json_is_boolean(obs(ev, "spec_unreadable")))
		return violation(v, "decision",
		                 "observed is not {workflow_id, program_sha256, "
		                 "busy, spec_unreadable}");
	pw_call c = {
	        .action = pw_event_str(ev, "action"),
	        .input = json_is_null(input) ? NULL : input,
	        .input_error = pw_event_str(ev, "input_error"),
	        .agent = pw_event_str(ev, "agent"),
	        .now_ms = pw_event_int(ev, "time_ms"),
	        .spec_id = json_string_value(obs(ev, "workflow_id")),
	        .spec_error = json_string_value(obs(ev, "spec_error")),
	        .spec_unreadable = json_is_true(obs(ev, "spec_unreadable")),
	        .program_sha256 = json_string_value(obs(ev, "program_sha256")),
	        .busy = json_is_true(obs(ev, "busy")),
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
	if (same_str(v, chk, ev, "verdict", pw_verdict_name(d.verdict)) &&
	    same_str(v, chk, ev, "reason", d.reason) &&
	    same_str(v, chk, ev, "tier", pw_tier_name(d.tier)) &&
	    same_str(v, chk, ev, "check", d.check) && same(v, chk, ev, "expected", d.expected) &&
	    same(v, chk, ev, "actual", d.actual) && same_str(v, chk, ev, "owner", d.owner) &&
	    same_str(v, chk, ev, "message", d.message)) {
		bool approval = d.verdict == PW_VERDICT_APPROVAL;
		char aid[40];
		snprintf(aid, sizeof aid, "a%llu", (unsigned long long)seq);
		if (same_int(v, chk, ev, "expires_ms", d.expires_ms, approval))
			(void)same_str(v, chk, ev, "approval_id", approval ? aid : NULL);
	}
	if (v->rep.valid && d.verdict == PW_VERDICT_ALLOW) {
		if (v->n_open == v->cap_open) {
			size_t ncap = v->cap_open ? v->cap_open * 2 : 4;
			open_input *p = realloc(v->open, ncap * sizeof *p);
			if (p == NULL) {
				pw_decision_release(&d);
				return PW_ERR_NOMEM;
			}
			v->open = p;
			v->cap_open = ncap;
		}
		v->open[v->n_open].call_id = strdup(call_id);
		v->open[v->n_open].input = json_incref((json_t *)input);
		if (v->open[v->n_open].call_id == NULL) {
			json_decref((json_t *)input);
			pw_decision_release(&d);
			return PW_ERR_NOMEM;
		}
		v->n_open++;
	}
	pw_decision_release(&d);
	return PW_OK;
}

/* Take the open call's input out of the table; NULL when call_id is not open. */
static json_t *take_open(pw_verifier *v, const char *call_id)
{
	for (size_t i = 0; call_id != NULL && i < v->n_open; i++) {
		if (strcmp(v->open[i].call_id, call_id) != 0)
			continue;
		json_t *in = v->open[i].input;
		free(v->open[i].call_id);
		memmove(&v->open[i], &v->open[i + 1], (v->n_open - i - 1) * sizeof *v->open);
		v->n_open--;
		return in;
	}
	return NULL;
}

static pw_status check_result(pw_verifier *v, const json_t *ev)
{
	const char *call_id = pw_event_str(ev, "call_id");
	const pw_open_call *oc = call_id ? pw_run_open_call(&v->run, call_id) : NULL;
	if (oc == NULL)
		return violation(v, "outcome", "a result for call %s, which is not open",
		                 call_id ? call_id : "(none)");
	const pw_action *a = pw_spec_action(v->spec, oc->action);
	if (a == NULL || !same_str(v, "outcome", ev, "action", oc->action))
		return v->rep.valid
		               ? violation(v, "outcome", "the call's action is not in the spec")
		               : PW_OK;
	pw_exec_facts f = {0};
	const json_t *result = json_object_get(ev, "result");
	if (pw_how_parse(pw_event_str(ev, "how"), &f.how) != PW_OK ||
	    (result != NULL && !json_is_null(result) && !json_is_object(result)))
		return violation(v, "outcome", "how or result is not well-formed");
	f.exit_status = (int)pw_event_int(ev, "exit");
	f.signal =
	        json_is_null(json_object_get(ev, "signal")) ? 0 : (int)pw_event_int(ev, "signal");
	f.result = json_is_object(result) ? result : NULL;
	f.now_ms = pw_event_int(ev, "time_ms");
	if (f.how == PW_HOW_EXITED && (f.exit_status < 0 || f.exit_status > 255))
		return violation(v, "outcome", "an exited program without an exit status 0-255");
	json_t *input = take_open(v, call_id);
	if (input == NULL)
		return violation(v, "outcome", "no input recorded for call %s", call_id);
	pw_outcome o;
	pw_status st = pw_outcome_compute(v->spec, a, &v->run, input, &f, &o);
	json_decref(input);
	if (st != PW_OK)
		return st;
	const char *chk = "outcome";
	if (same_str(v, chk, ev, "outcome", o.ok ? "ok" : "failed") &&
	    same_str(v, chk, ev, "reason", o.reason) &&
	    same_str(v, chk, ev, "tier", pw_tier_name(o.tier)) &&
	    same_str(v, chk, ev, "check", o.check) && same(v, chk, ev, "caps", o.caps) &&
	    same_str(v, chk, ev, "state", o.state)) {
		/* the message may carry what the executor said after the core's text */
		const char *msg = pw_event_str(ev, "message");
		size_t n = strlen(o.message);
		if (msg == NULL || strncmp(msg, o.message, n) != 0 ||
		    (msg[n] != '\0' && strncmp(msg + n, ": ", 2) != 0))
			violation(v, chk, "message: recorded does not begin with \"%.300s\"",
			          o.message);
	}
	pw_outcome_release(&o);
	return PW_OK;
}

static pw_status check_resolve(pw_verifier *v, const json_t *ev)
{
	const char *call_id = pw_event_str(ev, "call_id"), *by = pw_event_str(ev, "by");
	const char *outcome = pw_event_str(ev, "outcome");
	const pw_open_call *oc = call_id ? pw_run_open_call(&v->run, call_id) : NULL;
	if (oc == NULL)
		return violation(v, "resolve", "resolves call %s, which is not open",
		                 call_id ? call_id : "(none)");
	if (by == NULL || json_object_get(json_object_get(v->spec->model, "owners"), by) == NULL)
		return violation(v, "resolve", "by \"%.80s\" is not an owner of the spec",
		                 by ? by : "(none)");
	const pw_action *a = pw_spec_action(v->spec, oc->action);
	const json_t *to = a ? json_object_get(a->def, "to") : NULL;
	bool ok = outcome != NULL && strcmp(outcome, "ok") == 0;
	const char *state = ok && json_is_string(to) ? json_string_value(to) : v->run.state;
	if (same_str(v, "resolve", ev, "state", state))
		json_decref(take_open(v, call_id));
	return PW_OK;
}

pw_status pw_verify_event(pw_verifier *v, const json_t *ev)
{
	char err[256];
	if (!v->rep.valid)
		return PW_OK;
	uint64_t seq = v->rep.events;
	const char *run_id = pw_event_str(ev, "run_id");
	if (seq == 0)
		snprintf(v->rep.run_id, sizeof v->rep.run_id, "%s",
		         run_id && pw_id_valid(run_id) ? run_id : "?");
	pw_status st = pw_event_verify(ev, v->rep.run_id, seq, v->prev, err, sizeof err);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK)
		return violation(v, "chain", "%s", err);
	const char *kind = pw_event_str(ev, "kind");
	if (seq == 0 && strcmp(kind, "genesis") != 0)
		return violation(v, "genesis", "the first event is a %s, not the genesis", kind);
	if (strcmp(kind, "genesis") == 0)
		st = seq == 0 ? check_genesis(v, ev) : violation(v, "genesis", "a second genesis");
	else if (strcmp(kind, "call") == 0)
		st = check_call(v, ev, seq);
	else if (strcmp(kind, "result") == 0)
		st = check_result(v, ev);
	else if (strcmp(kind, "resolve") == 0)
		st = check_resolve(v, ev);
	else
		st = violation(v, "kind", "unknown event kind \"%.40s\"", kind);
	if (st != PW_OK || !v->rep.valid)
		return st;
	st = pw_run_fold(&v->run, ev, err, sizeof err);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK)
		return violation(v, "fold", "%s", err);
	memcpy(v->prev, pw_event_str(ev, "hash"), PW_HASH_STR_LEN + 1);
	memcpy(v->rep.head, v->prev, sizeof v->rep.head);
	v->rep.events++;
	return PW_OK;
}
