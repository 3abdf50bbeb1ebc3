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
	free(o->root);
}

static void pending_release(pw_pending *p)
{
	free(p->approval_id);
	free(p->call_id);
	free(p->action);
	free(p->agent);
	free(p->owner);
	free(p->reason);
	free(p->by);
	json_decref(p->input);
}

static void retry_clear(pw_retryable *t)
{
	free(t->root);
	free(t->action);
	memset(t, 0, sizeof *t);
}

void pw_run_release(pw_run *r)
{
	for (size_t i = 0; i < r->n_caps; i++)
		cap_release(&r->caps[i]);
	for (size_t i = 0; i < r->n_open; i++)
		open_release(&r->open[i]);
	for (size_t i = 0; i < r->n_pending; i++)
		pending_release(&r->pending[i]);
	for (size_t i = 0; i < r->n_stats; i++) {
		free(r->stats[i].action);
		free(r->stats[i].ce.ms);
	}
	for (size_t i = 0; i < r->n_lockouts; i++) {
		free(r->lockouts[i].agent);
		free(r->lockouts[i].reason);
	}
	free(r->caps);
	free(r->open);
	free(r->pending);
	free(r->stats);
	free(r->lockouts);
	free(r->ce.ms);
	retry_clear(&r->retry);
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

/* Whether s is a hash string "sha256:" + 64 lowercase hex digits. */
static bool is_hash(const char *s)
{
	if (s == NULL || strlen(s) != PW_HASH_STR_LEN || strncmp(s, "sha256:", 7) != 0)
		return false;
	return strspn(s + 7, "0123456789abcdef") == PW_HASH_STR_LEN - 7;
}

/* Record a correctable failure at ms in ring g. */
static pw_status ce_push(pw_ce_ring *g, int64_t ms)
{
	if (g->ms == NULL) {
		g->ms = malloc(PW_RUN_CE_KEEP * sizeof *g->ms);
		if (g->ms == NULL)
			return PW_ERR_NOMEM;
	}
	g->ms[(g->head + g->n) % PW_RUN_CE_KEEP] = ms;
	if (g->n < PW_RUN_CE_KEEP)
		g->n++;
	else
		g->head = (g->head + 1) % PW_RUN_CE_KEEP;
	return PW_OK;
}

static size_t ce_count(const pw_ce_ring *g, int64_t since_ms)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->ms[(g->head + i) % PW_RUN_CE_KEEP] >= since_ms)
			n++;
	return n;
}

/* The counters of action, created on first use; NULL on NOMEM. */
static pw_action_stats *stats_of(pw_run *r, const char *action)
{
	for (size_t i = 0; i < r->n_stats; i++)
		if (strcmp(r->stats[i].action, action) == 0)
			return &r->stats[i];
	if (grow((void **)&r->stats, r->n_stats, &r->cap_stats, sizeof *r->stats) != PW_OK)
		return NULL;
	pw_action_stats *a = &r->stats[r->n_stats];
	memset(a, 0, sizeof *a);
	if ((a->action = strdup(action)) == NULL)
		return NULL;
	r->n_stats++;
	return a;
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

/* The pending approval with this id, for changing. */
static pw_pending *pending_of(pw_run *r, const char *approval_id)
{
	for (size_t i = 0; approval_id != NULL && i < r->n_pending; i++)
		if (strcmp(r->pending[i].approval_id, approval_id) == 0)
			return &r->pending[i];
	return NULL;
}

static void pending_remove(pw_run *r, pw_pending *p)
{
	size_t i = (size_t)(p - r->pending);
	pending_release(p);
	memmove(p, p + 1, (r->n_pending - i - 1) * sizeof *p);
	r->n_pending--;
}

static pw_status add_pending(pw_run *r, const pw_fold_in *e, uint64_t seq)
{
	PW_TRY(grow((void **)&r->pending, r->n_pending, &r->cap_pending, sizeof *r->pending));
	pw_pending *p = &r->pending[r->n_pending];
	memset(p, 0, sizeof *p);
	p->approval_id = strdup(e->approval_id);
	p->call_id = strdup(e->call_id);
	p->action = strdup(e->action);
	p->agent = strdup(e->agent);
	p->owner = strdup(e->owner);
	p->reason = strdup(e->reason);
	memcpy(p->call_sha256, e->call_sha256, PW_HASH_STR_LEN + 1);
	p->expires_ms = e->expires_ms;
	p->seq = seq;
	p->input = e->ev ? json_incref(json_object_get(e->ev, "input")) : NULL;
	if (!p->approval_id || !p->call_id || !p->action || !p->agent || !p->owner || !p->reason) {
		pending_release(p);
		return PW_ERR_NOMEM;
	}
	r->n_pending++;
	return PW_OK;
}

static pw_status add_open(pw_run *r, const pw_fold_in *e, unsigned attempt, uint64_t seq)
{
	PW_TRY(grow((void **)&r->open, r->n_open, &r->cap_open, sizeof *r->open));
	pw_open_call *o = &r->open[r->n_open];
	o->call_id = strdup(e->call_id);
	o->action = strdup(e->action);
	o->agent = strdup(e->agent);
	o->root = strdup(e->retry_of ? e->retry_of : e->call_id);
	o->attempt = attempt;
	o->seq = seq;
	if (o->call_id == NULL || o->action == NULL || o->agent == NULL || o->root == NULL) {
		open_release(o);
		return PW_ERR_NOMEM;
	}
	r->n_open++;
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
	if (e->attempt != -1 && (e->attempt < 2 || e->attempt > 11 || e->retry_of == NULL))
		return fail(err, errlen, seq, "a retry without attempt 2-11 and retry_of");
	unsigned attempt = e->attempt == -1 ? 1u : (unsigned)e->attempt;
	if (e->call_sha256 != NULL && !is_hash(e->call_sha256))
		return fail(err, errlen, seq, "call_sha256 is not a sha256: hash");
	pw_action_stats *as = action ? stats_of(r, action) : NULL;
	if (action != NULL && as == NULL)
		return PW_ERR_NOMEM;
	r->counts.calls++;
	r->counts.tier[tier]++;
	if (as) {
		as->calls++;
		as->tier[tier]++;
	}
	if (attempt > 1) {
		r->counts.retries++;
		if (as)
			as->retries++;
	}
	switch (v) {
	case PW_VERDICT_ALLOW: {
		r->counts.allowed++;
		as->allowed++;
		if (pw_run_open_call(r, call_id) != NULL)
			return fail(err, errlen, seq, "call_id \"%s\" is already open", call_id);
		if (e->approval_id != NULL) { /* the call an owner approved: it uses the approval */
			pw_pending *p = pending_of(r, e->approval_id);
			if (p == NULL || !p->approved || e->call_sha256 == NULL ||
			    strcmp(p->call_sha256, e->call_sha256) != 0)
				return fail(err, errlen, seq,
				            "allowed by approval %s, which is not an approval of "
				            "this call",
				            e->approval_id);
			pending_remove(r, p);
		}
		PW_TRY(add_open(r, e, attempt, seq));
		retry_clear(&r->retry);
		break;
	}
	case PW_VERDICT_APPROVAL: {
		r->counts.approval++;
		as->approval++;
		if (e->approval_id == NULL || e->owner == NULL || e->expires_ms < 0 ||
		    e->call_sha256 == NULL)
			return fail(err, errlen, seq,
			            "approval verdict without approval_id, owner, expires_ms or "
			            "call_sha256");
		const pw_pending *p = pw_run_pending(r, e->approval_id);
		if (p == NULL)
			PW_TRY(add_pending(r, e, seq));
		else if (p->approved || strcmp(p->call_sha256, e->call_sha256) != 0)
			return fail(err, errlen, seq, "approval %s is not pending for this call",
			            e->approval_id);
		break;
	}
	case PW_VERDICT_BLOCK:
		r->counts.blocked++;
		as->blocked++;
		break;
	case PW_VERDICT_REJECT:
		r->counts.rejected++;
		if (as)
			as->rejected++;
		break;
	default: return PW_ERR_INTERNAL;
	}
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

/* The capability type@value the run holds or held, or NULL. */
static pw_cap *find_cap(pw_run *r, const char *type, const json_t *value)
{
	for (size_t i = 0; i < r->n_caps; i++)
		if (strcmp(r->caps[i].type, type) == 0 && pw_json_equal(r->caps[i].value, value))
			return &r->caps[i];
	return NULL;
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
		/* minted again: still one capability, lasting as long as the later mint says, so
		   that a run that mints the same one over and over does not grow */
		pw_cap *same = find_cap(r, type, value);
		if (same != NULL) {
			if (same->expires_ms != 0)
				same->expires_ms =
				        exp == 0 || exp > same->expires_ms ? exp : same->expires_ms;
			same->seq = seq;
			continue;
		}
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
	const pw_open_call *oc = pw_run_open_call(r, call_id);
	if (oc == NULL)
		return fail(err, errlen, seq, "result for call \"%s\", which is not open", call_id);
	pw_action_stats *as = stats_of(r, oc->action);
	if (as == NULL)
		return PW_ERR_NOMEM;
	retry_clear(&r->retry);
	if (tier == PW_TIER_CORRECTABLE) {
		PW_TRY(ce_push(&r->ce, e->time_ms));
		PW_TRY(ce_push(&as->ce, e->time_ms));
		r->retry.root = strdup(oc->root);
		r->retry.action = strdup(oc->action);
		r->retry.attempt = oc->attempt;
		if (r->retry.root == NULL || r->retry.action == NULL)
			return PW_ERR_NOMEM;
	}
	(void)close_call(r, call_id);
	if (ok) {
		r->counts.ok++;
		as->ok++;
	} else {
		r->counts.failed++;
		as->failed++;
	}
	r->counts.tier[tier]++;
	as->tier[tier]++;
	if (ok)
		PW_TRY(add_caps(r, e->caps, seq, err, errlen));
	return set_str(&r->state, state);
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
	retry_clear(&r->retry);
	r->counts.resolved++;
	return set_str(&r->state, state);
}

/* An owner's decision on an approval request: approve or deny. */
static pw_status fold_decision(pw_run *r, const pw_fold_in *e, bool approve, uint64_t seq,
                               char *err, size_t errlen)
{
	const char *aid = pw_event_str(e->ev, "approval_id"), *by = pw_event_str(e->ev, "by");
	const char *sha = pw_event_str(e->ev, "call_sha256");
	pw_pending *p = pending_of(r, aid);
	if (aid == NULL || by == NULL || sha == NULL)
		return fail(err, errlen, seq, "%s without approval_id, by or call_sha256",
		            approve ? "approve" : "deny");
	if (p == NULL)
		return fail(err, errlen, seq, "approval %s is not pending", aid);
	if (strcmp(by, p->owner) != 0)
		return fail(err, errlen, seq, "approval %s is for owner %s, not %s", aid, p->owner,
		            by);
	if (strcmp(sha, p->call_sha256) != 0)
		return fail(err, errlen, seq, "call_sha256 is not that of the call %s", p->call_id);
	if (!approve) {
		r->counts.denied++;
		pending_remove(r, p);
		return PW_OK;
	}
	if (p->approved)
		return fail(err, errlen, seq, "approval %s was approved already", aid);
	if (e->time_ms >= p->expires_ms)
		return fail(err, errlen, seq, "approval %s expired before it was approved", aid);
	if ((p->by = strdup(by)) == NULL)
		return PW_ERR_NOMEM;
	p->approved = true;
	p->decided_seq = seq;
	r->counts.approved++;
	return PW_OK;
}

static pw_status fold_escalate(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err,
                               size_t errlen)
{
	const char *action = pw_event_str(e->ev, "action");
	pw_action_stats *as = action ? stats_of(r, action) : NULL;
	if (action == NULL)
		return fail(err, errlen, seq, "escalate without action");
	if (as == NULL)
		return PW_ERR_NOMEM;
	PW_TRY(ce_push(&r->ce, e->time_ms));
	PW_TRY(ce_push(&as->ce, e->time_ms));
	r->counts.escalations++;
	as->escalations++;
	return PW_OK;
}

static pw_status fold_halt(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err, size_t errlen)
{
	const char *reason = pw_event_str(e->ev, "reason"), *tier = pw_event_str(e->ev, "tier");
	const json_t *frozen = json_object_get(e->ev, "frozen");
	if (reason == NULL || tier == NULL || !json_is_boolean(frozen) ||
	    (strcmp(tier, "fatal") != 0 && strcmp(tier, "policy_violation") != 0))
		return fail(err, errlen, seq, "halt without reason, tier or frozen");
	r->counts.halts++;
	if (json_is_true(frozen))
		r->frozen = true;
	if (r->halted)
		return PW_OK;
	r->halted = true;
	r->halt_seq = seq;
	return set_str(&r->halt_reason, reason);
}

static pw_status fold_resume(pw_run *r, const pw_fold_in *e, uint64_t seq, char *err, size_t errlen)
{
	const char *reason = pw_event_str(e->ev, "reason");
	if (pw_event_str(e->ev, "by") == NULL || reason == NULL)
		return fail(err, errlen, seq, "resume without by or reason");
	if (!r->halted || r->frozen)
		return fail(err, errlen, seq, "resume of a run that is %s",
		            r->frozen ? "frozen" : "not halted");
	if (pw_event_int(e->ev, "halt") != (int64_t)r->halt_seq ||
	    strcmp(reason, r->halt_reason ? r->halt_reason : "") != 0)
		return fail(err, errlen, seq,
		            "resume names halt %lld (%s), not the halt at %llu (%s)",
		            (long long)pw_event_int(e->ev, "halt"), reason,
		            (unsigned long long)r->halt_seq, r->halt_reason ? r->halt_reason : "?");
	r->halted = false;
	free(r->halt_reason);
	r->halt_reason = NULL;
	r->halt_seq = 0;
	r->counts.resumes++;
	return PW_OK;
}

static pw_status fold_lockout(pw_run *r, const pw_fold_in *e, bool lock, uint64_t seq, char *err,
                              size_t errlen)
{
	const char *agent = pw_event_str(e->ev, "agent"), *reason = pw_event_str(e->ev, "reason");
	const char *by = pw_event_str(e->ev, "by");
	pw_lockout *l = (pw_lockout *)pw_run_lockout(r, agent ? agent : "");
	if (lock) {
		if (agent == NULL || reason == NULL)
			return fail(err, errlen, seq, "lockout without agent or reason");
		r->counts.lockouts++;
		if (l != NULL)
			return PW_OK;
		PW_TRY(grow((void **)&r->lockouts, r->n_lockouts, &r->cap_lockouts,
		            sizeof *r->lockouts));
		l = &r->lockouts[r->n_lockouts];
		l->agent = strdup(agent);
		l->reason = strdup(reason);
		l->seq = seq;
		if (l->agent == NULL || l->reason == NULL) {
			free(l->agent);
			free(l->reason);
			return PW_ERR_NOMEM;
		}
		r->n_lockouts++;
		return PW_OK;
	}
	if (agent == NULL || by == NULL)
		return fail(err, errlen, seq, "unlock without agent or by");
	if (l == NULL)
		return fail(err, errlen, seq, "unlock of %s, whom this run did not lock out",
		            agent);
	if (pw_event_int(e->ev, "lockout") != (int64_t)l->seq || reason == NULL ||
	    strcmp(reason, l->reason) != 0)
		return fail(err, errlen, seq,
		            "unlock names another lockout than the one at %llu (%s)",
		            (unsigned long long)l->seq, l->reason);
	free(l->agent);
	free(l->reason);
	size_t i = (size_t)(l - r->lockouts);
	memmove(l, l + 1, (r->n_lockouts - i - 1) * sizeof *l);
	r->n_lockouts--;
	r->counts.unlocks++;
	return PW_OK;
}

bool pw_run_operator_kind(const char *kind)
{
	static const char *const kinds[] = {"deny", "resolve", "unlock", "halt", "lockout"};
	for (size_t i = 0; kind != NULL && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
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
	} else if (r->frozen && !pw_run_operator_kind(kind))
		st = fail(err, errlen, (uint64_t)seq,
		          "a %s event after the run was frozen (only an operator's deny, resolve "
		          "or unlock may follow)",
		          kind);
	else if (strcmp(kind, "call") == 0)
		st = fold_call(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "result") == 0)
		st = fold_result(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "resolve") == 0)
		st = fold_resolve(r, e, (uint64_t)seq, err, errlen);
	else if (e->ev == NULL)
		st = fail(err, errlen, (uint64_t)seq, "cannot read a %s event in place", kind);
	else if (strcmp(kind, "approve") == 0 || strcmp(kind, "deny") == 0)
		st = fold_decision(r, e, kind[0] == 'a', (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "escalate") == 0)
		st = fold_escalate(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "halt") == 0)
		st = fold_halt(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "resume") == 0)
		st = fold_resume(r, e, (uint64_t)seq, err, errlen);
	else if (strcmp(kind, "lockout") == 0 || strcmp(kind, "unlock") == 0)
		st = fold_lockout(r, e, kind[0] == 'l', (uint64_t)seq, err, errlen);
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
	        .call_sha256 = pw_event_str(ev, "call_sha256"),
	        .attempt = json_object_get(ev, "attempt") ? pw_event_int(ev, "attempt") : -1,
	        .retry_of = pw_event_str(ev, "retry_of"),
	        .ev = ev,
	};
	if (e.attempt == -1 && json_object_get(ev, "attempt") != NULL)
		e.attempt = 0; /* there, but not an integer: refused */
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

const pw_pending *pw_run_pending(const pw_run *r, const char *approval_id)
{
	return pending_of((pw_run *)r, approval_id);
}

const pw_action_stats *pw_run_action_stats(const pw_run *r, const char *action)
{
	for (size_t i = 0; action != NULL && i < r->n_stats; i++)
		if (strcmp(r->stats[i].action, action) == 0)
			return &r->stats[i];
	return NULL;
}

size_t pw_run_ce_count(const pw_run *r, const char *action, int64_t since_ms)
{
	if (action == NULL)
		return ce_count(&r->ce, since_ms);
	const pw_action_stats *as = pw_run_action_stats(r, action);
	return as ? ce_count(&as->ce, since_ms) : 0;
}

const pw_lockout *pw_run_lockout(const pw_run *r, const char *agent)
{
	for (size_t i = 0; agent != NULL && i < r->n_lockouts; i++)
		if (strcmp(r->lockouts[i].agent, agent) == 0)
			return &r->lockouts[i];
	return NULL;
}
