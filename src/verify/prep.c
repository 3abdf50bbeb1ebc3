#include "verify/prep.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"

const char *const pw_ev_key_names[K_COUNT] = {
        "action",     "actual",      "agent",   "approval_id", "attempt",     "by",
        "call_id",    "call_sha256", "caps",    "check",       "exit",        "expected",
        "expires_ms", "hash",        "how",     "input",       "input_error", "kind",
        "message",    "observed",    "outcome", "owner",       "prev",        "reason",
        "result",     "retry_of",    "run_id",  "seq",         "signal",      "state",
        "tier",       "time_ms",     "v",       "verdict",     "workflow",    "workflow_id",
};

const char *const pw_obs_key_names[O_COUNT] = {"busy",       "locked_out",      "program_sha256",
                                               "spec_error", "spec_unreadable", "workflow_id"};

/* The event's nesting limit: the ledger's (agent input nests up to 64 inside an event). */
#define EVENT_MAX_DEPTH 128u

pw_status pw_verify_prep_new(pw_verify_prep **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? PW_OK : PW_ERR_NOMEM;
}

/* Drop what the last line left. */
static void prep_clear(pw_verify_prep *p)
{
	json_decref(p->input);
	json_decref(p->result);
	json_decref(p->caps);
	p->input = p->result = p->caps = NULL;
	p->canonical = false;
}

void pw_verify_prep_free(pw_verify_prep *p)
{
	if (p == NULL)
		return;
	prep_clear(p);
	free(p->text);
	free(p);
}

/* Order of a member name against a key (ASCII): as the canonical order, byte by byte. */
static int name_cmp(const pw_canon_member *m, const char *key)
{
	const unsigned char *a = (const unsigned char *)m->name, *b = (const unsigned char *)key;
	size_t i = 0;
	while (i < m->name_len && b[i] != '\0' && a[i] == b[i])
		i++;
	if (i == m->name_len)
		return b[i] == '\0' ? 0 : -1;
	return b[i] == '\0' ? 1 : (a[i] > b[i]) - (a[i] < b[i]);
}

/*
 * Match the members m[0..n) (in canonical order) with the keys names[0..count)
 * (in the same order), keeping each matched value's span, and its decoded
 * string in *text when it is a string.
 */
static void index_members(const pw_canon_member *m, size_t n, const char *const *names,
                          size_t count, const char **val, size_t *val_len, const char **str,
                          char **text)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < count; i++) {
		int c = 1;
		while (k < count && (c = name_cmp(&m[i], names[k])) > 0)
			k++;
		if (k == count || c != 0)
			continue;
		val[k] = m[i].value;
		val_len[k] = m[i].value_len;
		if (m[i].value[0] == '"') {
			str[k] = *text;
			*text += pw_canon_string(m[i].value, m[i].value_len, *text) + 1;
		}
		k++;
	}
}

/* The member as JSON (canon.h); NULL when absent. */
static pw_status build(const char *val, size_t len, json_t **out)
{
	*out = NULL;
	if (val == NULL)
		return PW_OK;
	*out = pw_canon_value(val, len);
	return *out ? PW_OK : PW_ERR_NOMEM;
}

pw_status pw_verify_prepare(pw_event_hasher *h, pw_verify_prep *p, const char *line, size_t len)
{
	pw_canon_member m[PW_PREP_MAX_MEMBERS];
	size_t n = 0;
	prep_clear(p);
	p->line = line;
	p->len = len;
	if (len > PW_EVENT_MAX_BYTES ||
	    !pw_canon_object(line, len, EVENT_MAX_DEPTH, m, PW_PREP_MAX_MEMBERS, &n))
		return PW_OK;
	if (p->text_cap < len) {
		char *t = realloc(p->text, len);
		if (t == NULL)
			return PW_ERR_NOMEM;
		p->text = t;
		p->text_cap = len;
	}
	memset(p->val, 0, sizeof p->val);
	memset(p->val_len, 0, sizeof p->val_len);
	memset(p->str, 0, sizeof p->str);
	memset(p->obs_val, 0, sizeof p->obs_val);
	memset(p->obs_len, 0, sizeof p->obs_len);
	memset(p->obs_str, 0, sizeof p->obs_str);
	char *text = p->text; /* decoded strings are shorter than their text */
	index_members(m, n, pw_ev_key_names, K_COUNT, p->val, p->val_len, p->str, &text);
	const char *obs = p->val[K_OBSERVED];
	if (obs != NULL && obs[0] == '{') {
		pw_canon_member om[PW_PREP_MAX_MEMBERS];
		size_t on = 0;
		if (!pw_canon_members(obs, p->val_len[K_OBSERVED], om, PW_PREP_MAX_MEMBERS, &on))
			return PW_OK;
		index_members(om, on, pw_obs_key_names, O_COUNT, p->obs_val, p->obs_len, p->obs_str,
		              &text);
	}
	if (pw_event_hash_canon(h, line, len, m, n, p->hash) != PW_OK)
		p->hash[0] = '\0'; /* the JSON reading says what is wrong */
	/* the input is built by the thread that checks the line (pw_verify_line()) */
	PW_TRY(build(p->val[K_RESULT], p->val_len[K_RESULT], &p->result));
	PW_TRY(build(p->val[K_CAPS], p->val_len[K_CAPS], &p->caps));
	p->canonical = true;
	return PW_OK;
}
