#include "core/outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/logic.h"

static const char *const how_names[] = {"exited", "signaled", "timeout", "spawn_failed",
                                        "code_mismatch"};

const char *pw_how_name(pw_how h)
{
	return (unsigned)h < 5 ? how_names[h] : "spawn_failed";
}

pw_status pw_how_parse(const char *name, pw_how *out)
{
	for (unsigned i = 0; name != NULL && i < 5; i++)
		if (strcmp(name, how_names[i]) == 0) {
			*out = (pw_how)i;
			return PW_OK;
		}
	return PW_ERR_INVALID;
}

void pw_outcome_release(pw_outcome *o)
{
	json_decref(o->caps);
	free(o->state);
	o->caps = NULL;
	o->state = NULL;
}

/* A capability value longer than this is refused (it ends up in every later decision). */
#define CAP_VALUE_MAX 1024

static pw_status failed(pw_outcome *o, const char *reason, pw_tier tier, const char *check,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static pw_status failed(pw_outcome *o, const char *reason, pw_tier tier, const char *check,
                        const char *fmt, ...)
{
	o->ok = false;
	o->reason = reason;
	o->tier = tier;
	snprintf(o->check, sizeof o->check, "%s", check);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof o->message, fmt, ap);
	va_end(ap);
	pw_utf8_trim(o->message);
	json_array_clear(o->caps); /* a failed call mints nothing */
	return PW_OK;
}

/* Tier of a non-zero exit status from errors.exit; uncorrected by default. */
static pw_tier exit_tier(const pw_action *a, int status, char *check, size_t checklen)
{
	char key[8];
	snprintf(key, sizeof key, "%d", status);
	const json_t *t =
	        json_object_get(json_object_get(json_object_get(a->def, "errors"), "exit"), key);
	pw_tier tier = PW_TIER_UNCORRECTED;
	if (t != NULL && pw_tier_parse(json_string_value(t), &tier) == PW_OK) {
		snprintf(check, checklen, "errors.exit.%s", key);
		return tier;
	}
	snprintf(check, checklen, "exit");
	return PW_TIER_UNCORRECTED;
}

/* Tier of a timeout or a death by signal: errors.timeout / errors.signal, else uncorrected. */
static pw_tier named_tier(const pw_action *a, const char *key, char *check, size_t checklen,
                          const char *dflt_check)
{
	const json_t *t = json_object_get(json_object_get(a->def, "errors"), key);
	pw_tier tier = PW_TIER_UNCORRECTED;
	if (t != NULL && pw_tier_parse(json_string_value(t), &tier) == PW_OK) {
		snprintf(check, checklen, "errors.%s", key);
		return tier;
	}
	snprintf(check, checklen, "%s", dflt_check);
	return PW_TIER_UNCORRECTED;
}

#define RETRY_BACKOFF_MAX_MS (3600 * 1000)

/*
 * A correctable failure: escalated when it brings the count within the
 * window to the threshold (the action's first, then the run's), else
 * retried while attempts remain.
 */
static void escalate_or_retry(const pw_spec *spec, const pw_action *a, const pw_run *run,
                              const pw_exec_facts *f, pw_outcome *o)
{
	const struct {
		const char *scope;
		const pw_action *of;
	} scopes[] = {{"action", a}, {"run", NULL}};
	for (size_t i = 0; i < 2; i++) {
		pw_escalate e = pw_spec_escalate(spec, scopes[i].of);
		size_t n = pw_run_ce_count(run, scopes[i].of ? a->name : NULL,
		                           f->now_ms - e.window_ms + 1) +
		           1;
		if (n < e.count)
			continue;
		o->tier = PW_TIER_UNCORRECTED;
		o->escalated = true;
		o->esc_scope = scopes[i].scope;
		o->esc_count = (unsigned)n;
		o->esc_threshold = e.count;
		o->esc_window_ms = e.window_ms;
		size_t len = strlen(o->message);
		snprintf(
		        o->message + len, sizeof o->message - len,
		        "; escalated to uncorrected: %zu correctable failures of %s within %lld ms",
		        n, scopes[i].of ? a->name : "the run", (long long)e.window_ms);
		pw_utf8_trim(o->message);
		return;
	}
	unsigned max;
	int64_t backoff;
	pw_action_retry(a, &max, &backoff);
	unsigned attempt = f->attempt ? f->attempt : 1;
	if (attempt > max)
		return;
	o->retry = true;
	for (unsigned k = 1; k < attempt && backoff < RETRY_BACKOFF_MAX_MS; k++)
		backoff *= 2;
	o->retry_in_ms = backoff < RETRY_BACKOFF_MAX_MS ? backoff : RETRY_BACKOFF_MAX_MS;
}

static pw_status check_post(const pw_action *a, const json_t *data, pw_outcome *o, bool *bad)
{
	const json_t *list = json_object_get(a->def, "post");
	char check[32], err[256];
	for (size_t i = 0; i < json_array_size(list) && !*bad; i++) {
		json_t *v = NULL;
		pw_status st =
		        pw_logic_eval(json_array_get(list, i), data, NULL, &v, err, sizeof err);
		if (st == PW_ERR_NOMEM)
			return st;
		*bad = st != PW_OK || !pw_logic_truthy(v);
		json_decref(v);
		if (*bad) {
			snprintf(check, sizeof check, "post[%zu]", i);
			return failed(o, "POSTCONDITION_FAILED", PW_TIER_UNCORRECTED, check,
			              "%s: postcondition %s", check,
			              st != PW_OK ? err : "does not hold");
		}
	}
	return PW_OK;
}

static pw_status mint(const pw_action *a, const json_t *data, int64_t now_ms, pw_outcome *o,
                      bool *bad)
{
	const json_t *list = json_object_get(a->def, "emits");
	char check[32], err[256];
	for (size_t i = 0; i < json_array_size(list) && !*bad; i++) {
		const json_t *e = json_array_get(list, i);
		const char *type = json_string_value(json_object_get(e, "cap"));
		json_t *v = NULL;
		snprintf(check, sizeof check, "emits[%zu]", i);
		pw_status st = PW_OK;
		if (json_object_get(e, "when") != NULL) {
			st = pw_logic_eval(json_object_get(e, "when"), data, NULL, &v, err,
			                   sizeof err);
			if (st == PW_ERR_NOMEM)
				return st;
			bool hit = st == PW_OK && pw_logic_truthy(v);
			json_decref(v);
			v = NULL;
			if (st != PW_OK) {
				*bad = true;
				return failed(o, "EMIT_FAILED", PW_TIER_UNCORRECTED, check,
				              "%s: when cannot be evaluated: %s", check, err);
			}
			if (!hit)
				continue;
		}
		st = pw_logic_eval(json_object_get(e, "value"), data, NULL, &v, err, sizeof err);
		if (st == PW_ERR_NOMEM)
			return st;
		if (st != PW_OK || !(json_is_string(v) || json_is_number(v)) ||
		    (json_is_string(v) && json_string_length(v) > CAP_VALUE_MAX)) {
			json_decref(v);
			*bad = true;
			return failed(o, "EMIT_FAILED", PW_TIER_UNCORRECTED, check,
			              "%s: the value of capability %s %s", check, type,
			              st != PW_OK ? err
			                          : "is not a string (of at most 1024 bytes) or a "
			                            "number");
		}
		json_t *cap = json_pack("{ssso}", "cap", type, "value", v);
		if (cap == NULL)
			return PW_ERR_NOMEM;
		int64_t ttl = pw_spec_duration_ms(json_object_get(e, "ttl"), 0);
		if (ttl > 0 &&
		    json_object_set_new(cap, "expires_ms", json_real((double)(now_ms + ttl))))
			st = PW_ERR_NOMEM;
		if (st != PW_OK || json_array_append_new(o->caps, cap) != 0)
			return PW_ERR_NOMEM;
	}
	return PW_OK;
}

static pw_status transition(const pw_action *a, const json_t *data, pw_outcome *o, bool *bad)
{
	const json_t *to = json_object_get(a->def, "to");
	const char *next = NULL;
	char check[32], err[256];
	if (json_is_string(to))
		next = json_string_value(to);
	for (size_t i = 0; json_is_array(to) && i < json_array_size(to) && next == NULL; i++) {
		const json_t *t = json_array_get(to, i);
		const json_t *when = json_object_get(t, "when");
		bool hit = true;
		if (when != NULL) {
			json_t *v = NULL;
			pw_status st = pw_logic_eval(when, data, NULL, &v, err, sizeof err);
			if (st == PW_ERR_NOMEM)
				return st;
			hit = st == PW_OK && pw_logic_truthy(v);
			json_decref(v);
			if (st != PW_OK) {
				*bad = true;
				snprintf(check, sizeof check, "to[%zu]", i);
				return failed(o, "TRANSITION_FAILED", PW_TIER_UNCORRECTED, check,
				              "%s: when cannot be evaluated: %s", check, err);
			}
		}
		if (hit)
			next = json_string_value(json_object_get(t, "state"));
	}
	if (next != NULL) {
		char *s = strdup(next);
		if (s == NULL)
			return PW_ERR_NOMEM;
		free(o->state);
		o->state = s;
	}
	return PW_OK;
}

static pw_status compute(const pw_action *a, const pw_run *run, const json_t *input,
                         const pw_exec_facts *f, pw_outcome *o)
{
	memset(o, 0, sizeof *o);
	o->caps = json_array();
	o->state = run->state ? strdup(run->state) : NULL;
	if (o->caps == NULL || o->state == NULL) {
		pw_outcome_release(o);
		return PW_ERR_NOMEM;
	}
	o->ok = true;
	o->reason = "OK";
	char check[32];
	switch (f->how) {
	case PW_HOW_SPAWN_FAILED:
		return failed(o, "SPAWN_FAILED", PW_TIER_UNCORRECTED, "run",
		              "the program of %s "
		              "did not start",
		              a->name);
	case PW_HOW_CODE_MISMATCH:
		return failed(o, "CODE_HASH_MISMATCH", PW_TIER_FATAL, "run.sha256",
		              "the program of %s changed under pitwall; the run halts", a->name);
	case PW_HOW_TIMEOUT: {
		pw_tier t = named_tier(a, "timeout", check, sizeof check, "run.timeout");
		return failed(o, "TIMEOUT", t, check, "%s ran past its timeout and was killed (%s)",
		              a->name, pw_tier_name(t));
	}
	case PW_HOW_SIGNALED: {
		pw_tier t = named_tier(a, "signal", check, sizeof check, "run");
		return failed(o, "KILLED_BY_SIGNAL", t, check, "%s was killed by signal %d (%s)",
		              a->name, f->signal, pw_tier_name(t));
	}
	case PW_HOW_EXITED:
		if (f->exit_status != 0) {
			pw_tier t = exit_tier(a, f->exit_status, check, sizeof check);
			return failed(o, "EXIT_STATUS", t, check, "%s exited with status %d (%s)",
			              a->name, f->exit_status, pw_tier_name(t));
		}
		break;
	default: return PW_ERR_INTERNAL;
	}
	if (!json_is_object(f->result))
		return failed(o, "RESULT_INVALID", PW_TIER_UNCORRECTED, "result",
		              "%s exited 0 but did not print one JSON object", a->name);

	json_t *data = json_pack("{sOsO}", "input", input, "result", f->result);
	if (data == NULL)
		return PW_ERR_NOMEM;
	bool bad = false;
	pw_status st = check_post(a, data, o, &bad);
	if (st == PW_OK && !bad)
		st = mint(a, data, f->now_ms, o, &bad);
	if (st == PW_OK && !bad)
		st = transition(a, data, o, &bad);
	json_decref(data);
	if (st != PW_OK)
		pw_outcome_release(o);
	else if (o->ok)
		snprintf(o->message, sizeof o->message, "%s succeeded", a->name);
	return st;
}

pw_status pw_outcome_compute(const pw_spec *spec, const pw_action *a, const pw_run *run,
                             const json_t *input, const pw_exec_facts *f, pw_outcome *o)
{
	PW_TRY(compute(a, run, input, f, o));
	if (!o->ok && o->tier == PW_TIER_CORRECTABLE)
		escalate_or_retry(spec, a, run, f, o);
	return PW_OK;
}
