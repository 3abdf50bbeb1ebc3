#include "core/run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decide.h"
#include "core/json.h"

void pw_run_init(pw_run *r)
{
	memset(r, 0, sizeof *r);
}

static void cap_release(pw_cap *c)
{
	free(c->type);
	json_decref(c->value);
}

static void open_release(pw_open_call *o)
{
	free(o->call_id);
	free(o->action);
	free(o->agent);
}

static void pending_release(pw_pending *p)
{
	free(p->approval_id);
	free(p->call_id);
	free(p->action);
	free(p->owner);
	free(p->reason);
}

void pw_run_release(pw_run *r)
{
	for (size_t i = 0; i < r->n_caps; i++)
		cap_release(&r->caps[i]);
	for (size_t i = 0; i < r->n_open; i++)
		open_release(&r->open[i]);
	for (size_t i = 0; i < r->n_pending; i++)
		pending_release(&r->pending[i]);
	free(r->caps);
	free(r->open);
	free(r->pending);
	free(r->workflow);
	free(r->state);
	free(r->halt_reason);
	pw_run_init(r);
}

/* Room for one more element of an array of size elsize. */
static pw_status grow(void **arr, size_t n, size_t *cap, size_t elsize)
{
	if (n < *cap)
		return PW_OK;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, ncap * elsize);
	if (p == NULL)
		return PW_ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return PW_OK;
}

static pw_status fail(char *err, size_t errlen, uint64_t seq, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static pw_status fail(char *err, size_t errlen, uint64_t seq, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		int n = snprintf(err, errlen, "seq %llu: ", (unsigned long long)seq);
		va_list ap;
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < errlen)
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return PW_ERR_INVALID;
}

/* Replace *slot with a copy of s (unless it holds s already: a state that does not change). */
static pw_status set_str(char **slot, const char *s)
{
	if (*slot != NULL && strcmp(*slot, s) == 0)
		return PW_OK;
	char *c = strdup(s);
	if (c == NULL)
		return PW_ERR_NOMEM;
	free(*slot);
	*slot = c;
	return PW_OK;
}

static pw_status halt(pw_run *r, const char *reason, uint64_t seq)
{
	if (r->halted)
		return PW_OK;
	r->halted = true;
	r->halt_seq = seq;
	return set_str(&r->halt_reason, reason ? reason : "halted");
}

static pw_tier tier_of(const pw_fold_in *e, bool *ok)
{
	pw_tier t = PW_TIER_NONE;
	*ok = !e->tier_bad && (e->tier == NULL || pw_tier_parse(e->tier, &t) == PW_OK);
	return t;
}

static pw_status fold_genesis(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err,
                              size_t errlen)
{
	const char *wf = e->workflow_id, *state = e->state, *name = e->workflow;
	if (seq != 0 || r->n_events != 0)
		return fail(err, errlen, seq, "a genesis event after the start of the run");
	if (wf == NULL || strlen(wf) != PW_HASH_STR_LEN || strncmp(wf, "sha256:", 7) != 0 ||
	    state == NULL || name == NULL)
		return fail(err, errlen, seq, "genesis without workflow_id, workflow and state");
	memcpy(r->workflow_id, wf, PW_HASH_STR_LEN + 1);
	PW_TRY(set_str(&r->state, state));
	PW_TRY(set_str(&r->workflow, name));
	r->started_ms = e->time_ms;
	return PW_OK;
}

static pw_status fold_call(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err, size_t errlen)
{
	const char *call_id = e->call_id, *vs = e->verdict, *agent = e->agent, *action = e->action;
	const char *reason = e->reason;
	pw_verdict v;
	bool tier_ok;
	pw_tier tier = tier_of(e, &tier_ok);
	if (call_id == NULL || agent == NULL || reason == NULL || vs == NULL ||
	    pw_verdict_parse(vs, &v) != PW_OK || !tier_ok)
		return fail(err, errlen, seq,
		            "call event without call_id, agent, verdict or reason");
	if (v != PW_VERDICT_REJECT && action == NULL)
		return fail(err, errlen, seq, "a %s verdict without an action", vs);
	r->counts.calls++;
	r->counts.tier[tier]++;
	switch (v) {
	case PW_VERDICT_ALLOW: {
		r->counts.allowed++;
		if (pw_run_open_call(r, call_id) != NULL)
			return fail(err, errlen, seq, "call_id \"%s\" is already open", call_id);
		PW_TRY(grow((void **)&r->open, r->n_open, &r->cap_open, sizeof *r->open));
		pw_open_call *o = &r->open[r->n_open];
		o->call_id = strdup(call_id);
		o->action = strdup(action);
		o->agent = strdup(agent);
		o->seq = seq;
		if (o->call_id == NULL || o->action == NULL || o->agent == NULL) {
			open_release(o);
			return PW_ERR_NOMEM;
		}
		r->n_open++;
		break;
	}
	case PW_VERDICT_APPROVAL: {
		r->counts.approval++;
		const char *aid = e->approval_id, *owner = e->owner;
		int64_t exp = e->expires_ms;
		if (aid == NULL || owner == NULL || exp < 0)
			return fail(err, errlen, seq,
			            "approval verdict without approval_id, owner or expires_ms");
		PW_TRY(grow((void **)&r->pending, r->n_pending, &r->cap_pending,
		            sizeof *r->pending));
		pw_pending *p = &r->pending[r->n_pending];
		memset(p, 0, sizeof *p);
		p->approval_id = strdup(aid);
		p->call_id = strdup(call_id);
		p->action = strdup(action);
		p->owner = strdup(owner);
		p->reason = strdup(reason);
		p->expires_ms = exp;
		p->seq = seq;
		if (!p->approval_id || !p->call_id || !p->action || !p->owner || !p->reason) {
			pending_release(p);
			return PW_ERR_NOMEM;
		}
		r->n_pending++;
		break;
	}
	case PW_VERDICT_BLOCK: r->counts.blocked++; break;
	case PW_VERDICT_REJECT: r->counts.rejected++; break;
	default: return PW_ERR_INTERNAL;
	}
	if (tier == PW_TIER_FATAL || tier == PW_TIER_POLICY)
		PW_TRY(halt(r, reason, seq));
	return PW_OK;
}

/* Remove the open call call_id; false when there is none. */
static bool close_call(pw_run *r, const char *call_id)
{
	for (size_t i = 0; i < r->n_open; i++) {
		if (strcmp(r->open[i].call_id, call_id) == 0) {
			open_release(&r->open[i]);
			memmove(&r->open[i], &r->open[i + 1],
			        (r->n_open - i - 1) * sizeof *r->open);
			r->n_open--;
			return true;
		}
	}
	return false;
}

static pw_status add_caps(pw_run *r, const json_t *caps, uint64_t seq, char *err, size_t errlen)
{
	if (caps == NULL)
		return PW_OK;
	if (!json_is_array(caps))
		return fail(err, errlen, seq, "caps is not a list");
	size_t i;
	const json_t *c;
	json_array_foreach (caps, i, c) {
		const char *type = pw_event_str(c, "cap");
		const json_t *value = json_object_get(c, "value");
		int64_t exp = json_object_get(c, "expires_ms") ? pw_event_int(c, "expires_ms") : 0;
		if (type == NULL || !(json_is_string(value) || json_is_number(value)) || exp < 0)
			return fail(err, errlen, seq, "caps[%zu] is not {cap, value[, expires_ms]}",
			            i);
		PW_TRY(grow((void **)&r->caps, r->n_caps, &r->cap_caps, sizeof *r->caps));
		pw_cap *slot = &r->caps[r->n_caps];
		slot->type = strdup(type);
		if (slot->type == NULL)
			return PW_ERR_NOMEM;
		slot->value = json_incref((json_t *)value);
		slot->expires_ms = exp;
		slot->seq = seq;
		r->n_caps++;
	}
	return PW_OK;
}

static pw_status fold_result(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err, size_t errlen)
{
	const char *call_id = e->call_id, *outcome = e->outcome, *state = e->state;
	bool tier_ok;
	pw_tier tier = tier_of(e, &tier_ok);
	if (call_id == NULL || outcome == NULL || state == NULL || !tier_ok)
		return fail(err, errlen, seq, "result event without call_id, outcome or state");
	bool ok = strcmp(outcome, "ok") == 0;
	if (!ok && strcmp(outcome, "failed") != 0)
		return fail(err, errlen, seq, "outcome \"%s\" is neither ok nor failed", outcome);
	if (!close_call(r, call_id))
		return fail(err, errlen, seq, "result for call \"%s\", which is not open", call_id);
	if (ok)
		r->counts.ok++;
	else
		r->counts.failed++;
	r->counts.tier[tier]++;
	if (ok)
		PW_TRY(add_caps(r, e->caps, seq, err, errlen));
	PW_TRY(set_str(&r->state, state));
	if (tier == PW_TIER_FATAL || tier == PW_TIER_POLICY)
		PW_TRY(halt(r, e->reason, seq));
	return PW_OK;
}

static pw_status fold_resolve(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err,
                              size_t errlen)
{
	const char *call_id = e->call_id, *state = e->state, *outcome = e->outcome, *by = e->by;
	if (call_id == NULL || state == NULL || outcome == NULL || by == NULL ||
	    (strcmp(outcome, "ok") != 0 && strcmp(outcome, "failed") != 0))
		return fail(err, errlen, seq,
		            "resolve event without call_id, outcome, by or state");
	if (!close_call(r, call_id))
		return fail(err, errlen, seq, "resolve of call \"%s\", which is not open", call_id);
	r->counts.resolved++;
	return set_str(&r->state, state);
}

pw_status pw_run_fold_in(pw_run *r, const pw_fold_in *e, char *err, size_t errlen)
{
	const char *kind = e->kind, *hash = e->hash;
	int64_t seq = e->seq;
	if (kind == NULL || hash == NULL || strlen(hash) != PW_HASH_STR_LEN || seq < 0)
		return fail(err, errlen, r->n_events, "event without kind, seq or hash");
	if ((uint64_t)seq != r->n_events)
		return fail(err, errlen, (uint64_t)seq, "expected seq %llu",
		            (unsigned long long)r->n_events);
	if (r->state == NULL && strcmp(kind, "genesis") != 0)
		return fail(err, errlen, (uint64_t)seq, "the run has no genesis");
	pw_status st;
	if (strcmp(kind, "genesis") == 0) {
		const char *rid = e->run_id;
		if (rid == NULL || !pw_id_valid(rid))
			return fail(err, errlen, 0, "genesis without a valid run_id");
		snprintf(r->run_id, sizeof r->run_id, "%s", rid);
		st = fold_genesis(r, e, (uint64_t)seq, err, errlen);
	} else if (strcmp(kind, "call") == 0)
		st = fold_call(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "result") == 0)
		st = fold_result(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "resolve") == 0)
		st = fold_resolve(r, e, (uint64_t)seq, err, errlen);
	else
		st = fail(err, errlen, (uint64_t)seq, "unknown event kind \"%s\"", kind);
	if (st != PW_OK)
		return st;
	r->n_events++;
	r->last_ms = e->time_ms;
	memcpy(r->head, hash, PW_HASH_STR_LEN + 1);
	return PW_OK;
}

pw_status pw_run_fold(pw_run *r, const json_t *ev, char *err, size_t errlen)
{
	const json_t *tier = json_object_get(ev, "tier");
	pw_fold_in e = {
	        .kind = pw_event_str(ev, "kind"),
	        .hash = pw_event_str(ev, "hash"),
	        .run_id = pw_event_str(ev, "run_id"),
	        .seq = pw_event_int(ev, "seq"),
	        .time_ms = pw_event_int(ev, "time_ms"),
	        .workflow_id = pw_event_str(ev, "workflow_id"),
	        .workflow = pw_event_str(ev, "workflow"),
	        .state = pw_event_str(ev, "state"),
	        .call_id = pw_event_str(ev, "call_id"),
	        .verdict = pw_event_str(ev, "verdict"),
	        .agent = pw_event_str(ev, "agent"),
	        .action = pw_event_str(ev, "action"),
	        .reason = pw_event_str(ev, "reason"),
	        .approval_id = pw_event_str(ev, "approval_id"),
	        .owner = pw_event_str(ev, "owner"),
	        .expires_ms = pw_event_int(ev, "expires_ms"),
	        .tier = json_string_value(tier),
	        .tier_bad = tier != NULL && !json_is_null(tier) && !json_is_string(tier),
	        .outcome = pw_event_str(ev, "outcome"),
	        .caps = json_object_get(ev, "caps"),
	        .by = pw_event_str(ev, "by"),
	};
	return pw_run_fold_in(r, &e, err, errlen);
}

const pw_open_call *pw_run_open_call(const pw_run *r, const char *call_id)
{
	for (size_t i = 0; i < r->n_open; i++)
		if (strcmp(r->open[i].call_id, call_id) == 0)
			return &r->open[i];
	return NULL;
}

json_t *pw_run_caps_json(const pw_run *r, int64_t now_ms)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < r->n_caps; i++) {
		const pw_cap *c = &r->caps[i];
		if (c->expires_ms != 0 && c->expires_ms <= now_ms)
			continue;
		json_t *list = json_object_get(o, c->type);
		if (list == NULL) {
			list = json_array();
			if (list == NULL || json_object_set_new(o, c->type, list) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		if (json_array_append(list, c->value) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

void pw_cap_format(const char *type, const json_t *value, char *out, size_t outlen)
{
	char num[PW_JCS_NUMBER_MAX];
	double d;
	const char *v = json_string_value(value);
	if (v == NULL && pw_json_number(value, &d) && pw_jcs_number(d, num) == PW_OK)
		v = num;
	snprintf(out, outlen, "%s@%s", type, v ? v : "?");
}
