#include "core/record.h"

#include <stdio.h>
#include <string.h>

#include "core/effects.h"
#include "core/json.h"

/* Set key to v (reference stolen) unless v is NULL. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) == 0;
}

static json_t *opt_str(const char *s)
{
	return s && *s ? json_string(s) : NULL;
}

json_t *pw_record_call(const char *state, const pw_call *c, const pw_decision *d,
                       const char *call_id)
{
	json_t *ev = json_object();
	json_t *obs = json_pack(
	        "{s:o,s:o,s:b,s:b,s:b,s:o*}", "workflow_id",
	        c->spec_id ? json_string(c->spec_id) : json_null(), "program_sha256",
	        c->program_sha256 ? json_string(c->program_sha256) : json_null(), "busy", c->busy,
	        "locked_out", c->locked_out, "spec_unreadable", c->spec_unreadable, "spec_error",
	        c->spec_id == NULL && c->spec_error ? json_string(c->spec_error) : NULL);
	bool ok = ev != NULL && obs != NULL && put(ev, "kind", json_string("call")) &&
	          put(ev, "call_id", json_string(call_id)) &&
	          put(ev, "agent", json_string(c->agent)) &&
	          put(ev, "action", c->action ? json_string(c->action) : json_null()) &&
	          put(ev, "input", c->input ? json_incref((json_t *)c->input) : json_null()) &&
	          (c->input != NULL ||
	           put(ev, "input_error", json_string(c->input_error ? c->input_error : "?")));
	if (ok) {
		ok = put(ev, "observed", obs);
		obs = NULL;
	}
	ok = ok && put(ev, "state", json_string(state)) &&
	     put(ev, "verdict", json_string(pw_verdict_name(d->verdict))) &&
	     put(ev, "reason", json_string(d->reason ? d->reason : "?")) &&
	     put(ev, "tier", opt_str(pw_tier_name(d->tier))) &&
	     put(ev, "check", opt_str(d->check)) &&
	     (d->expected == NULL || put(ev, "expected", json_incref(d->expected))) &&
	     (d->actual == NULL || put(ev, "actual", json_incref(d->actual))) &&
	     put(ev, "owner", opt_str(d->owner));
	if (ok && c->attempt > 1)
		ok = put(ev, "attempt", json_real(c->attempt)) &&
		     put(ev, "retry_of", json_string(c->retry_of ? c->retry_of : "?"));
	if (ok && d->verdict == PW_VERDICT_APPROVAL) {
		char aid[80];
		snprintf(aid, sizeof aid, "a%s", call_id + 1);
		ok = put(ev, "approval_id", json_string(d->approval_id ? d->approval_id : aid)) &&
		     put(ev, "expires_ms", json_real((double)d->expires_ms)) &&
		     put(ev, "call_sha256", json_string(d->call_sha256));
	} else if (ok && d->verdict == PW_VERDICT_ALLOW && d->approval_id != NULL) {
		ok = put(ev, "approval_id", json_string(d->approval_id)) &&
		     put(ev, "call_sha256", json_string(d->call_sha256));
	}
	ok = ok && put(ev, "message", json_string(d->message));
	json_decref(obs);
	if (!ok) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}

/* The names of the PW_FEAT_* bits of set, in bit order. */
static json_t *feature_list(unsigned set)
{
	json_t *list = json_array();
	for (unsigned i = 0; list != NULL && i < PW_FEAT_COUNT; i++)
		if ((set & (1u << i)) &&
		    json_array_append_new(list, json_string(pw_feature_name(1u << i))) != 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* What the sandbox enforced on the program (LOG-FORMAT.md 6.3), or NULL when it ran in none. */
static json_t *sandbox_record(const pw_exec_record *o)
{
	if (!o->sandboxed)
		return NULL;
	return json_pack("{so so so}", "landlock_abi", json_real(o->landlock_abi), "enforced",
	                 feature_list(o->enforced), "missing", feature_list(o->missing));
}

json_t *pw_record_result(const pw_spec *spec, const pw_action *a, const pw_run *run,
                         const json_t *input, const char *call_id, const pw_exec_record *o,
                         int64_t now_ms, pw_outcome *out)
{
	pw_exec_facts f = {o->how, o->exit_status, o->signal, o->result, now_ms, o->attempt};
	pw_outcome oc;
	if (pw_outcome_compute(spec, a, run, input, &f, &oc) != PW_OK)
		return NULL;
	/* a failure without a result says what the executor saw */
	if (!oc.ok && o->why != NULL && o->why[0] != '\0' &&
	    (f.how != PW_HOW_EXITED || o->result == NULL)) {
		size_t n = strlen(oc.message);
		snprintf(oc.message + n, sizeof oc.message - n, ": %s", o->why);
		pw_utf8_trim(oc.message);
	}
	json_t *sb = sandbox_record(o);
	if (o->sandboxed && sb == NULL) {
		pw_outcome_release(&oc);
		return NULL;
	}
	json_t *ev = json_pack(
	        "{ss ss ss ss so so so ss ss* ss* ss sO ss so so sb so* ss so so*}", "kind",
	        "result", "call_id", call_id, "action", a->name, "how", pw_how_name(f.how), "exit",
	        f.how == PW_HOW_EXITED ? json_real(f.exit_status) : json_null(), "signal",
	        f.signal > 0 ? json_real(f.signal) : json_null(), "result",
	        o->result ? json_incref((json_t *)o->result) : json_null(), "outcome",
	        oc.ok ? "ok" : "failed", "tier", pw_tier_name(oc.tier), "check",
	        oc.check[0] ? oc.check : NULL, "reason", oc.reason, "caps", oc.caps, "state",
	        oc.state, "duration_ms", json_real((double)o->duration_ms), "stdout_bytes",
	        json_real((double)o->stdout_bytes), "stdout_truncated", o->stdout_truncated,
	        "stderr", o->stderr_tail ? json_incref((json_t *)o->stderr_tail) : NULL, "message",
	        oc.message, "time_ms", json_real((double)now_ms), "sandbox", sb);
	if (out != NULL && ev != NULL)
		*out = oc;
	else
		pw_outcome_release(&oc);
	return ev;
}

/* A list of the events given (references stolen), NULL when one is NULL. */
static json_t *events(json_t *a, json_t *b)
{
	json_t *list = json_array();
	if (list != NULL && a != NULL && json_array_append_new(list, a) == 0 &&
	    (b == NULL || json_array_append_new(list, b) == 0))
		return list;
	json_decref(list);
	return NULL;
}

static json_t *halt_event(const char *reason, pw_tier tier, json_t *cause, bool frozen)
{
	return json_pack("{ss ss ss so sb}", "kind", "halt", "reason", reason, "tier",
	                 pw_tier_name(tier), "cause", cause ? cause : json_null(), "frozen",
	                 frozen);
}

json_t *pw_record_after_call(const pw_decision *d, const char *agent, uint64_t seq)
{
	if (d->tier == PW_TIER_FATAL)
		return events(halt_event(d->reason, d->tier, json_real((double)seq), false), NULL);
	if (d->tier != PW_TIER_POLICY)
		return json_array();
	json_t *lock = json_pack("{ss ss ss so}", "kind", "lockout", "agent", agent, "reason",
	                         d->reason, "cause", json_real((double)seq));
	json_t *h = halt_event(d->reason, d->tier, json_real((double)seq), true);
	if (h == NULL || lock == NULL) {
		json_decref(h);
		json_decref(lock);
		return NULL;
	}
	return events(h, lock);
}

json_t *pw_record_after_result(const pw_outcome *o, const char *call_id, const char *action,
                               uint64_t seq)
{
	if (o->escalated)
		return events(json_pack("{ss ss ss ss si si sI so}", "kind", "escalate", "call_id",
		                        call_id, "action", action, "scope", o->esc_scope, "count",
		                        (int)o->esc_count, "threshold", (int)o->esc_threshold,
		                        "window_ms", (json_int_t)o->esc_window_ms, "cause",
		                        json_real((double)seq)),
		              NULL);
	if (o->tier == PW_TIER_FATAL)
		return events(halt_event(o->reason, o->tier, json_real((double)seq), false), NULL);
	return json_array();
}

json_t *pw_record_tampered(const char *agent, const char *detail)
{
	json_t *h = halt_event("LOG_TAMPERED", PW_TIER_POLICY, NULL, true);
	json_t *lock = json_pack("{ss ss ss so}", "kind", "lockout", "agent", agent, "reason",
	                         "LOG_TAMPERED", "cause", json_null());
	if (h != NULL && json_object_set_new(h, "detail", json_string(detail)) != 0) {
		json_decref(h);
		h = NULL;
	}
	if (h == NULL || lock == NULL) {
		json_decref(h);
		json_decref(lock);
		return NULL;
	}
	return events(h, lock);
}

json_t *pw_record_approve(const pw_pending *p, const char *by, const char *os_user,
                          const char *note)
{
	return json_pack("{ss ss ss ss ss ss ss ss*}", "kind", "approve", "approval_id",
	                 p->approval_id, "call_id", p->call_id, "action", p->action, "call_sha256",
	                 p->call_sha256, "by", by, "os_user", os_user, "note", note);
}

json_t *pw_record_deny(const pw_pending *p, const char *by, const char *os_user, const char *reason)
{
	return json_pack("{ss ss ss ss ss ss ss ss}", "kind", "deny", "approval_id", p->approval_id,
	                 "call_id", p->call_id, "action", p->action, "call_sha256", p->call_sha256,
	                 "by", by, "os_user", os_user, "reason", reason);
}

json_t *pw_record_resume(const pw_run *run, const char *by, const char *os_user, const char *note)
{
	return json_pack("{ss ss sI ss ss ss*}", "kind", "resume", "reason",
	                 run->halt_reason ? run->halt_reason : "?", "halt",
	                 (json_int_t)run->halt_seq, "by", by, "os_user", os_user, "note", note);
}

json_t *pw_record_unlock(const pw_lockout *l, const char *by, const char *os_user, const char *note)
{
	return json_pack("{ss ss ss sI ss ss ss*}", "kind", "unlock", "agent", l->agent, "reason",
	                 l->reason, "lockout", (json_int_t)l->seq, "by", by, "os_user", os_user,
	                 "note", note);
}

json_t *pw_record_resolve(const pw_spec *spec, const pw_run *run, const pw_open_call *oc, bool ok,
                          const char *by, const char *os_user, const char *note)
{
	const pw_action *a = pw_spec_action(spec, oc->action);
	const json_t *to = a ? json_object_get(a->def, "to") : NULL;
	const char *state = ok && json_is_string(to) ? json_string_value(to) : run->state;
	return json_pack("{ss ss ss ss ss ss* ss ss*}", "kind", "resolve", "call_id", oc->call_id,
	                 "action", oc->action, "outcome", ok ? "ok" : "failed", "by", by, "os_user",
	                 os_user, "state", state, "note", note);
}
