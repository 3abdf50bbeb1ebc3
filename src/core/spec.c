/*
 * spec.c: checks a workflow spec model against docs/SPEC.md.
 *
 * The checks walk the model once, keyed by tables of allowed keys, and
 * report every problem with the position of the key or value it is about
 * and a dotted path ("actions.Checkout.run.timeout"). The graph checks
 * (reachability, capabilities available before they are required) run
 * after the structure is known to be sound.
 */
#include "core/spec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/logic.h"

#define PATH_MAX_LEN 256

typedef struct ck {
	pw_spec *spec;
	pw_diag *diag;
} ck;

typedef struct field {
	const char *key;
	bool required;
} field;

/* ---- reporting ---------------------------------------------------------- */

static void vreport(ck *c, pw_diag_level level, unsigned line, unsigned col, const char *path,
                    const char *fmt, va_list ap)
{
	char msg[768];
	if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
		msg[0] = '\0';
	if (path != NULL && path[0] != '\0')
		pw_diag_add(c->diag, level, line, col, "%s: %s", path, msg);
	else
		pw_diag_add(c->diag, level, line, col, "%s", msg);
}

static void err_at(ck *c, const json_t *node, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void err_at(ck *c, const json_t *node, const char *path, const char *fmt, ...)
{
	unsigned line, col;
	va_list ap;
	(void)pw_marks_value(c->spec->marks, node, &line, &col);
	va_start(ap, fmt);
	vreport(c, PW_DIAG_ERROR, line, col, path, fmt, ap);
	va_end(ap);
}

static void warn_at(ck *c, const json_t *node, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void warn_at(ck *c, const json_t *node, const char *path, const char *fmt, ...)
{
	unsigned line, col;
	va_list ap;
	(void)pw_marks_value(c->spec->marks, node, &line, &col);
	va_start(ap, fmt);
	vreport(c, PW_DIAG_WARNING, line, col, path, fmt, ap);
	va_end(ap);
}

static void err_key(ck *c, const json_t *obj, const char *key, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void err_key(ck *c, const json_t *obj, const char *key, const char *path, const char *fmt,
                    ...)
{
	unsigned line, col;
	va_list ap;
	if (!pw_marks_key(c->spec->marks, obj, key, &line, &col))
		(void)pw_marks_value(c->spec->marks, obj, &line, &col);
	va_start(ap, fmt);
	vreport(c, PW_DIAG_ERROR, line, col, path, fmt, ap);
	va_end(ap);
}

static void subpath(char *out, const char *path, const char *key)
{
	int n = snprintf(out, PATH_MAX_LEN, "%s%s%s", path, path[0] ? "." : "", key);
	if (n < 0 || n >= PATH_MAX_LEN)
		snprintf(out, PATH_MAX_LEN, "%.200s...", path);
}

static void indexpath(char *out, const char *path, size_t i)
{
	int n = snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i);
	if (n < 0 || n >= PATH_MAX_LEN)
		snprintf(out, PATH_MAX_LEN, "%.200s...", path);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a mapping";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	default: return "unknown";
	}
}

/* ---- structure ------------------------------------------------------------ */

/* obj must be a mapping with only the listed keys and all required ones. */
static bool check_fields(ck *c, const json_t *obj, const char *path, const field *fields, size_t n)
{
	const char *key;
	json_t *val;
	bool ok = true;
	if (!json_is_object(obj)) {
		err_at(c, obj, path, "expected a mapping, got %s", type_name(obj));
		return false;
	}
	json_object_foreach ((json_t *)obj, key, val) {
		size_t i;
		for (i = 0; i < n && strcmp(fields[i].key, key) != 0; i++)
			;
		if (i == n) {
			err_key(c, obj, key, path, "unknown key \"%s\"", key);
			ok = false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required && json_object_get(obj, fields[i].key) == NULL) {
			err_at(c, obj, path, "missing required key \"%s\"", fields[i].key);
			ok = false;
		}
	}
	return ok;
}

static bool name_ok(const char *s, bool lower_first, const char *extra)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	char f = s[0];
	if (lower_first ? !(f >= 'a' && f <= 'z')
	                : !((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char ch = s[i];
		bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		          (!lower_first && ch >= 'A' && ch <= 'Z') || ch == '_' ||
		          (extra && strchr(extra, ch) != NULL);
		if (!ok)
			return false;
	}
	return true;
}

/* A string that must be a name: returns it, or NULL after reporting. */
static const char *want_string(ck *c, const json_t *v, const char *path)
{
	if (!json_is_string(v)) {
		err_at(c, v, path, "expected a string, got %s", type_name(v));
		return NULL;
	}
	return json_string_value(v);
}

static bool want_list(ck *c, const json_t *v, const char *path, bool nonempty)
{
	if (!json_is_array(v)) {
		err_at(c, v, path, "expected a list, got %s", type_name(v));
		return false;
	}
	if (nonempty && json_array_size(v) == 0) {
		err_at(c, v, path, "must not be empty");
		return false;
	}
	return true;
}

static bool want_int(ck *c, const json_t *v, const char *path, double lo, double hi)
{
	double d;
	if (!pw_json_number(v, &d) || d != floor(d)) {
		err_at(c, v, path, "expected an integer, got %s", type_name(v));
		return false;
	}
	if (d < lo || d > hi) {
		err_at(c, v, path, "%.0f is out of range [%.0f, %.0f]", d, lo, hi);
		return false;
	}
	return true;
}

/* "<digits><unit>" or an integer number of seconds. */
static void check_duration(ck *c, const json_t *v, const char *path)
{
	if (json_is_number(v)) {
		(void)want_int(c, v, path, 1, 31536000.0 * 10);
		return;
	}
	const char *s = json_string_value(v);
	if (s != NULL) {
		size_t digits = strspn(s, "0123456789");
		const char *unit = s + digits;
		if (digits > 0 && digits <= 9 && s[0] != '0' &&
		    (strcmp(unit, "ms") == 0 || strcmp(unit, "s") == 0 || strcmp(unit, "m") == 0 ||
		     strcmp(unit, "h") == 0 || strcmp(unit, "d") == 0))
			return;
	}
	err_at(c, v, path, "expected a duration such as \"120s\", \"10m\" or \"6h\"");
}

static void check_condition(ck *c, const json_t *v, const char *path)
{
	char err[256];
	if (pw_logic_check(v, NULL, err, sizeof err) != PW_OK)
		err_at(c, v, path, "invalid condition: %s", err);
}

static void check_conditions(ck *c, const json_t *list, const char *path)
{
	char p[PATH_MAX_LEN];
	if (!want_list(c, list, path, false))
		return;
	for (size_t i = 0; i < json_array_size(list); i++) {
		indexpath(p, path, i);
		check_condition(c, json_array_get(list, i), p);
	}
}

static bool has_state(const json_t *states, const char *name)
{
	for (size_t i = 0; i < json_array_size(states); i++)
		if (json_is_string(json_array_get(states, i)) &&
		    strcmp(json_string_value(json_array_get(states, i)), name) == 0)
			return true;
	return false;
}

static void check_state_ref(ck *c, const json_t *states, const json_t *v, const char *path)
{
	const char *s = want_string(c, v, path);
	if (s != NULL && !has_state(states, s))
		err_at(c, v, path, "unknown state \"%s\"", s);
}

/* ---- verdicts ------------------------------------------------------------- */

static void check_owner_ref(ck *c, const json_t *v, const char *path)
{
	const char *s = want_string(c, v, path);
	if (s != NULL && json_object_get(json_object_get(c->spec->model, "owners"), s) == NULL)
		err_at(c, v, path, "unknown owner \"%s\"", s);
}

static void check_verdict_body(ck *c, const json_t *body, const char *path, bool approval)
{
	static const field approval_fields[] = {
	        {"owner", true}, {"reason", true}, {"expires", false}};
	static const field block_fields[] = {{"owner", true}, {"reason", true}};
	char p[PATH_MAX_LEN];
	if (!check_fields(c, body, path, approval ? approval_fields : block_fields,
	                  approval ? 3 : 2))
		return;
	subpath(p, path, "owner");
	check_owner_ref(c, json_object_get(body, "owner"), p);
	subpath(p, path, "reason");
	(void)want_string(c, json_object_get(body, "reason"), p);
	if (approval && json_object_get(body, "expires")) {
		subpath(p, path, "expires");
		check_duration(c, json_object_get(body, "expires"), p);
	}
}

/*
 * The verdict part of a rule or of `default`: exactly one of allow,
 * approval, block among the keys of obj (besides `when` for rules).
 */
static void check_verdict(ck *c, const json_t *obj, const char *path)
{
	char p[PATH_MAX_LEN];
	int count = 0;
	static const char *const kinds[] = {"allow", "approval", "block"};
	for (size_t i = 0; i < 3; i++) {
		const json_t *v = json_object_get(obj, kinds[i]);
		if (v == NULL)
			continue;
		count++;
		subpath(p, path, kinds[i]);
		if (i == 0) {
			if (!json_is_true(v))
				err_at(c, v, p, "expected true");
		} else {
			check_verdict_body(c, v, p, i == 1);
		}
	}
	if (count != 1)
		err_at(c, obj, path, "needs exactly one verdict: allow, approval or block");
}

static void check_default(ck *c, const json_t *v)
{
	static const field fields[] = {{"approval", false}, {"block", false}};
	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "allow") != 0)
			err_at(c, v, "default",
			       "expected allow, or a mapping with approval or block, got \"%s\"",
			       json_string_value(v));
		return;
	}
	if (check_fields(c, v, "default", fields, 2))
		check_verdict(c, v, "default");
}

/* ---- actions -------------------------------------------------------------- */

static void check_template(ck *c, const json_t *v, const json_t *input, const char *path)
{
	const char *s = want_string(c, v, path);
	if (s == NULL)
		return;
	if (strchr(s, '{') == NULL && strchr(s, '}') == NULL)
		return;
	size_t n = strlen(s);
	if (n < 3 || s[0] != '{' || s[n - 1] != '}' || strchr(s + 1, '{') != NULL ||
	    strchr(s, '}') != s + n - 1) {
		err_at(c, v, path,
		       "template \"%s\": a placeholder must be the whole element, such as "
		       "\"{input.branch}\"",
		       s);
		return;
	}
	char inner[256];
	snprintf(inner, sizeof inner, "%.*s", (int)(n - 2), s + 1);
	if (strcmp(inner, "run.id") == 0 || strcmp(inner, "run.dir") == 0 ||
	    strcmp(inner, "spec.dir") == 0)
		return;
	if (strncmp(inner, "input.", 6) != 0) {
		err_at(c, v, path,
		       "template \"%s\": unknown placeholder; use input.NAME, run.id, run.dir or "
		       "spec.dir",
		       s);
		return;
	}
	const char *field_name = inner + 6;
	size_t seg = strcspn(field_name, ".");
	if (seg == 0 || strspn(field_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                   "0123456789_-.") != strlen(field_name)) {
		err_at(c, v, path, "template \"%s\": malformed input path", s);
		return;
	}
	char first[128];
	snprintf(first, sizeof first, "%.*s", (int)seg, field_name);
	const json_t *props = json_object_get(input, "properties");
	if (json_object_get(props, first) == NULL)
		err_at(c, v, path, "template \"%s\": the input schema has no property \"%s\"", s,
		       first);
}

static void check_run(ck *c, pw_action *a, const json_t *run, const json_t *input, const char *path)
{
	static const field fields[] = {{"program", true},    {"sha256", true},   {"args", false},
	                               {"env", false},       {"secrets", false}, {"timeout", false},
	                               {"max_output", false}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!check_fields(c, run, path, fields, sizeof fields / sizeof fields[0]))
		return;

	const json_t *prog = json_object_get(run, "program");
	subpath(p, path, "program");
	if ((a->program = want_string(c, prog, p)) != NULL && a->program[0] == '\0') {
		err_at(c, prog, p, "must not be empty");
		a->program = NULL;
	}
	(void)pw_marks_value(c->spec->marks, prog, &a->program_line, &a->program_col);

	const json_t *sha = json_object_get(run, "sha256");
	subpath(p, path, "sha256");
	if ((a->sha256 = want_string(c, sha, p)) != NULL && !pw_is_sha256_hex(a->sha256)) {
		err_at(c, sha, p, "expected 64 lowercase hex digits");
		a->sha256 = NULL;
	}
	(void)pw_marks_value(c->spec->marks, sha, &a->sha256_line, &a->sha256_col);

	const json_t *args = json_object_get(run, "args");
	subpath(p, path, "args");
	if (args != NULL && want_list(c, args, p, false)) {
		for (size_t i = 0; i < json_array_size(args); i++) {
			indexpath(q, p, i);
			check_template(c, json_array_get(args, i), input, q);
		}
	}
	const json_t *env = json_object_get(run, "env");
	subpath(p, path, "env");
	if (env != NULL) {
		const char *k;
		json_t *val;
		if (!json_is_object(env))
			err_at(c, env, p, "expected a mapping, got %s", type_name(env));
		json_object_foreach ((json_t *)env, k, val) {
			subpath(q, p, k);
			if (!name_ok(k, false, NULL) &&
			    !(k[0] == '_' && name_ok(k + 1, false, NULL)))
				err_key(c, env, k, p, "invalid variable name \"%s\"", k);
			check_template(c, val, input, q);
		}
	}
	const json_t *secrets = json_object_get(run, "secrets");
	subpath(p, path, "secrets");
	if (secrets != NULL && want_list(c, secrets, p, false)) {
		for (size_t i = 0; i < json_array_size(secrets); i++) {
			const json_t *sv = json_array_get(secrets, i);
			indexpath(q, p, i);
			const char *s = want_string(c, sv, q);
			if (s == NULL)
				continue;
			if (!name_ok(s, false, NULL))
				err_at(c, sv, q, "invalid secret name \"%s\"", s);
			else if (json_object_get(env, s) != NULL)
				err_at(c, sv, q, "\"%s\" is both an env variable and a secret", s);
			for (size_t j = 0; j < i; j++)
				if (json_is_string(json_array_get(secrets, j)) &&
				    strcmp(json_string_value(json_array_get(secrets, j)), s) == 0)
					err_at(c, sv, q, "duplicate secret \"%s\"", s);
		}
	}
	if (json_object_get(run, "timeout")) {
		subpath(p, path, "timeout");
		check_duration(c, json_object_get(run, "timeout"), p);
	}
	if (json_object_get(run, "max_output")) {
		subpath(p, path, "max_output");
		(void)want_int(c, json_object_get(run, "max_output"), p, 1, 64.0 * 1024 * 1024);
	}
}

static void check_errors(ck *c, const json_t *errs, const char *path)
{
	static const field fields[] = {{"exit", false}, {"retry", false}};
	static const field retry_fields[] = {{"max", false}, {"backoff", false}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!check_fields(c, errs, path, fields, 2))
		return;
	const json_t *exits = json_object_get(errs, "exit");
	subpath(p, path, "exit");
	if (exits != NULL) {
		const char *k;
		json_t *tier;
		if (!json_is_object(exits))
			err_at(c, exits, p, "expected a mapping, got %s", type_name(exits));
		json_object_foreach ((json_t *)exits, k, tier) {
			char *end = NULL;
			long code = strtol(k, &end, 10);
			subpath(q, p, k);
			if (end == k || *end != '\0' || code < 1 || code > 255)
				err_key(c, exits, k, p, "exit status \"%s\" is not in 1-255", k);
			const char *t = want_string(c, tier, q);
			if (t != NULL && strcmp(t, "correctable") != 0 &&
			    strcmp(t, "uncorrected") != 0 && strcmp(t, "fatal") != 0)
				err_at(c, tier, q,
				       "unknown tier \"%s\"; expected correctable, uncorrected or "
				       "fatal",
				       t);
		}
	}
	const json_t *retry = json_object_get(errs, "retry");
	subpath(p, path, "retry");
	if (retry != NULL && check_fields(c, retry, p, retry_fields, 2)) {
		if (json_object_get(retry, "max")) {
			subpath(q, p, "max");
			(void)want_int(c, json_object_get(retry, "max"), q, 0, 10);
		}
		if (json_object_get(retry, "backoff")) {
			subpath(q, p, "backoff");
			check_duration(c, json_object_get(retry, "backoff"), q);
		}
	}
}

static void check_cap_entries(ck *c, const json_t *list, const char *path, bool emits)
{
	static const field req_fields[] = {{"cap", true}, {"value", false}};
	static const field emit_fields[] = {
	        {"cap", true}, {"value", true}, {"ttl", false}, {"when", false}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!want_list(c, list, path, false))
		return;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *e = json_array_get(list, i);
		indexpath(p, path, i);
		if (!check_fields(c, e, p, emits ? emit_fields : req_fields, emits ? 4 : 2))
			continue;
		subpath(q, p, "cap");
		const char *cap = want_string(c, json_object_get(e, "cap"), q);
		if (cap != NULL && !name_ok(cap, true, NULL))
			err_at(c, json_object_get(e, "cap"), q,
			       "invalid capability type \"%s\"; expected ^[a-z][a-z0-9_]{0,63}$",
			       cap);
		if (json_object_get(e, "value")) {
			subpath(q, p, "value");
			check_condition(c, json_object_get(e, "value"), q);
		}
		if (json_object_get(e, "when")) {
			subpath(q, p, "when");
			check_condition(c, json_object_get(e, "when"), q);
		}
		if (json_object_get(e, "ttl")) {
			subpath(q, p, "ttl");
			check_duration(c, json_object_get(e, "ttl"), q);
		}
	}
}

static void check_to(ck *c, const json_t *states, const json_t *to, const char *path)
{
	static const field target_fields[] = {{"when", false}, {"state", true}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (json_is_string(to)) {
		check_state_ref(c, states, to, path);
		return;
	}
	if (!json_is_array(to)) {
		err_at(c, to, path, "expected a state or a list of targets, got %s", type_name(to));
		return;
	}
	if (json_array_size(to) == 0)
		err_at(c, to, path, "must not be empty");
	for (size_t i = 0; i < json_array_size(to); i++) {
		const json_t *t = json_array_get(to, i);
		indexpath(p, path, i);
		if (!check_fields(c, t, p, target_fields, 2))
			continue;
		subpath(q, p, "state");
		check_state_ref(c, states, json_object_get(t, "state"), q);
		if (json_object_get(t, "when")) {
			subpath(q, p, "when");
			check_condition(c, json_object_get(t, "when"), q);
		}
	}
}

static void check_action(ck *c, pw_action *a, const json_t *def, const char *path)
{
	static const field fields[] = {{"description", false}, {"from", true},      {"to", false},
	                               {"input", true},        {"requires", false}, {"pre", false},
	                               {"decide", false},      {"run", true},       {"post", false},
	                               {"emits", false},       {"errors", false}};
	static const field rule_fields[] = {
	        {"when", true}, {"allow", false}, {"approval", false}, {"block", false}};
	const json_t *states = json_object_get(c->spec->model, "states");
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	char err[600];

	if (!check_fields(c, def, path, fields, sizeof fields / sizeof fields[0]))
		if (!json_is_object(def))
			return;
	if (json_object_get(def, "description")) {
		subpath(p, path, "description");
		(void)want_string(c, json_object_get(def, "description"), p);
	}
	const json_t *from = json_object_get(def, "from");
	subpath(p, path, "from");
	if (from != NULL && want_list(c, from, p, true)) {
		for (size_t i = 0; i < json_array_size(from); i++) {
			indexpath(q, p, i);
			check_state_ref(c, states, json_array_get(from, i), q);
		}
	}
	if (json_object_get(def, "to")) {
		subpath(p, path, "to");
		check_to(c, states, json_object_get(def, "to"), p);
	}
	const json_t *input = json_object_get(def, "input");
	subpath(p, path, "input");
	if (input != NULL) {
		if (!json_is_object(input) || !json_is_string(json_object_get(input, "type")) ||
		    strcmp(json_string_value(json_object_get(input, "type")), "object") != 0) {
			err_at(c, input, p, "the input schema must be a mapping with type: object");
		} else if (pw_schema_compile(input, &a->input, err, sizeof err) != PW_OK) {
			err_at(c, input, p, "invalid schema: %s", err);
			a->input = NULL;
		}
	}
	if (json_object_get(def, "requires")) {
		subpath(p, path, "requires");
		check_cap_entries(c, json_object_get(def, "requires"), p, false);
	}
	if (json_object_get(def, "emits")) {
		subpath(p, path, "emits");
		check_cap_entries(c, json_object_get(def, "emits"), p, true);
	}
	if (json_object_get(def, "pre")) {
		subpath(p, path, "pre");
		check_conditions(c, json_object_get(def, "pre"), p);
	}
	if (json_object_get(def, "post")) {
		subpath(p, path, "post");
		check_conditions(c, json_object_get(def, "post"), p);
	}
	const json_t *decide = json_object_get(def, "decide");
	subpath(p, path, "decide");
	if (decide != NULL && want_list(c, decide, p, false)) {
		for (size_t i = 0; i < json_array_size(decide); i++) {
			const json_t *rule = json_array_get(decide, i);
			indexpath(q, p, i);
			if (!check_fields(c, rule, q, rule_fields, 4))
				continue;
			char w[PATH_MAX_LEN];
			subpath(w, q, "when");
			check_condition(c, json_object_get(rule, "when"), w);
			check_verdict(c, rule, q);
		}
	}
	if (json_object_get(def, "run")) {
		subpath(p, path, "run");
		check_run(c, a, json_object_get(def, "run"), input, p);
	}
	if (json_object_get(def, "errors")) {
		subpath(p, path, "errors");
		check_errors(c, json_object_get(def, "errors"), p);
	}
}

/* ---- top level ------------------------------------------------------------ */

static void check_owners(ck *c, const json_t *owners)
{
	static const field fields[] = {{"title", true}, {"description", false}};
	const char *name;
	json_t *o;
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!json_is_object(owners)) {
		err_at(c, owners, "owners", "expected a mapping, got %s", type_name(owners));
		return;
	}
	json_object_foreach ((json_t *)owners, name, o) {
		subpath(p, "owners", name);
		if (!name_ok(name, true, ".-"))
			err_key(c, owners, name, "owners",
			        "invalid owner name \"%s\"; expected ^[a-z][a-z0-9_.-]{0,63}$",
			        name);
		if (!check_fields(c, o, p, fields, 2))
			continue;
		subpath(q, p, "title");
		(void)want_string(c, json_object_get(o, "title"), q);
		if (json_object_get(o, "description")) {
			subpath(q, p, "description");
			(void)want_string(c, json_object_get(o, "description"), q);
		}
	}
}

static void check_states(ck *c, const json_t *m)
{
	const json_t *states = json_object_get(m, "states");
	char p[PATH_MAX_LEN];
	if (!want_list(c, states, "states", true))
		return;
	if (json_array_size(states) > PW_SPEC_MAX_STATES)
		err_at(c, states, "states", "more than %d states", PW_SPEC_MAX_STATES);
	for (size_t i = 0; i < json_array_size(states); i++) {
		const json_t *s = json_array_get(states, i);
		indexpath(p, "states", i);
		const char *name = want_string(c, s, p);
		if (name == NULL)
			continue;
		if (!name_ok(name, false, NULL))
			err_at(c, s, p,
			       "invalid state name \"%s\"; expected ^[A-Za-z][A-Za-z0-9_]{0,63}$",
			       name);
		for (size_t j = 0; j < i; j++)
			if (json_is_string(json_array_get(states, j)) &&
			    strcmp(json_string_value(json_array_get(states, j)), name) == 0)
				err_at(c, s, p, "duplicate state \"%s\"", name);
	}
	check_state_ref(c, states, json_object_get(m, "initial"), "initial");
	const json_t *terminal = json_object_get(m, "terminal");
	if (want_list(c, terminal, "terminal", true)) {
		for (size_t i = 0; i < json_array_size(terminal); i++) {
			indexpath(p, "terminal", i);
			check_state_ref(c, states, json_array_get(terminal, i), p);
		}
	}
}

/* ---- graph checks --------------------------------------------------------- */

typedef struct graph {
	size_t n; /* states */
	const json_t *states;
	unsigned char *reach; /* n*n: reach[s*n+t] when t is reachable from s (reflexive) */
	unsigned char *from_reachable; /* n: reachable from initial */
} graph;

static size_t state_index(const graph *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(json_string_value(json_array_get(g->states, i)), name) == 0)
			return i;
	return (size_t)-1;
}

/* Calls fn(from, target) for each edge of action def; stay edges included. */
static void action_edges(const graph *g, const json_t *def,
                         void (*fn)(void *ctx, size_t from, size_t to), void *ctx)
{
	const json_t *from = json_object_get(def, "from");
	const json_t *to = json_object_get(def, "to");
	bool may_stay = (to == NULL);
	if (json_is_array(to)) {
		may_stay = true;
		for (size_t i = 0; i < json_array_size(to); i++)
			if (json_object_get(json_array_get(to, i), "when") == NULL)
				may_stay = false;
	}
	for (size_t i = 0; i < json_array_size(from); i++) {
		size_t f = state_index(g, json_string_value(json_array_get(from, i)));
		if (may_stay)
			fn(ctx, f, f);
		if (json_is_string(to)) {
			fn(ctx, f, state_index(g, json_string_value(to)));
		} else {
			for (size_t j = 0; j < json_array_size(to); j++)
				fn(ctx, f,
				   state_index(g, json_string_value(json_object_get(
				                          json_array_get(to, j), "state"))));
		}
	}
}

static void mark_edge(void *ctx, size_t from, size_t to)
{
	graph *g = ctx;
	g->reach[from * g->n + to] = 1;
}

typedef struct post_ctx {
	const graph *g;
	const json_t *target_from; /* from-states of the requiring action */
	bool found;
} post_ctx;

static void post_reaches(void *ctx, size_t from, size_t to)
{
	post_ctx *pc = ctx;
	if (!pc->g->from_reachable[from])
		return;
	for (size_t i = 0; i < json_array_size(pc->target_from); i++) {
		size_t t =
		        state_index(pc->g, json_string_value(json_array_get(pc->target_from, i)));
		if (pc->g->reach[to * pc->g->n + t])
			pc->found = true;
	}
}

static bool emits_cap(const json_t *def, const char *cap)
{
	const json_t *emits = json_object_get(def, "emits");
	for (size_t i = 0; i < json_array_size(emits); i++) {
		const char *e = json_string_value(json_object_get(json_array_get(emits, i), "cap"));
		if (e != NULL && strcmp(e, cap) == 0)
			return true;
	}
	return false;
}

static pw_status check_graph(ck *c)
{
	pw_spec *s = c->spec;
	graph g = {0};
	g.states = json_object_get(s->model, "states");
	g.n = json_array_size(g.states);
	g.reach = calloc(g.n * g.n + 1, 1);
	g.from_reachable = calloc(g.n + 1, 1);
	if (g.reach == NULL || g.from_reachable == NULL) {
		free(g.reach);
		free(g.from_reachable);
		return PW_ERR_NOMEM;
	}
	for (size_t i = 0; i < g.n; i++)
		g.reach[i * g.n + i] = 1;
	for (size_t i = 0; i < s->n_actions; i++)
		action_edges(&g, s->actions[i].def, mark_edge, &g);
	/* transitive closure (Warshall); n is capped at PW_SPEC_MAX_STATES */
	for (size_t k = 0; k < g.n; k++)
		for (size_t i = 0; i < g.n; i++)
			if (g.reach[i * g.n + k])
				for (size_t j = 0; j < g.n; j++)
					if (g.reach[k * g.n + j])
						g.reach[i * g.n + j] = 1;
	size_t init = state_index(&g, json_string_value(json_object_get(s->model, "initial")));
	for (size_t i = 0; i < g.n; i++)
		g.from_reachable[i] = g.reach[init * g.n + i];

	for (size_t i = 0; i < s->n_actions; i++) {
		pw_action *a = &s->actions[i];
		const json_t *from = json_object_get(a->def, "from");
		for (size_t j = 0; j < json_array_size(from); j++)
			if (g.from_reachable[state_index(
			            &g, json_string_value(json_array_get(from, j)))])
				a->reachable = true;
		if (!a->reachable) {
			char p[PATH_MAX_LEN];
			subpath(p, "actions", a->name);
			warn_at(c, a->def, p,
			        "unreachable: none of its from states can be reached from the "
			        "initial "
			        "state");
		}
	}
	for (size_t i = 0; i < s->n_actions; i++) {
		const pw_action *b = &s->actions[i];
		const json_t *req = json_object_get(b->def, "requires");
		for (size_t r = 0; r < json_array_size(req); r++) {
			const json_t *entry = json_array_get(req, r);
			const char *cap = json_string_value(json_object_get(entry, "cap"));
			post_ctx pc = {&g, json_object_get(b->def, "from"), false};
			for (size_t j = 0; j < s->n_actions && !pc.found; j++) {
				if (j == i || !emits_cap(s->actions[j].def, cap))
					continue;
				action_edges(&g, s->actions[j].def, post_reaches, &pc);
			}
			if (!pc.found) {
				char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
				subpath(p, "actions", b->name);
				subpath(q, p, "requires");
				indexpath(p, q, r);
				err_at(c, entry, p,
				       "capability \"%s\" is not emitted by any action that can "
				       "run before "
				       "%s",
				       cap, b->name);
			}
		}
	}
	free(g.reach);
	free(g.from_reachable);
	return PW_OK;
}

/* ---- entry points ---------------------------------------------------------- */

pw_status pw_spec_id(const json_t *model, char out[PW_WORKFLOW_ID_LEN + 1])
{
	char *canon = NULL;
	size_t len = 0;
	unsigned char digest[PW_SHA256_LEN];
	PW_TRY(pw_jcs_dump(model, 0, &canon, &len));
	pw_status st = pw_sha256(canon, len, digest);
	free(canon);
	PW_TRY(st);
	memcpy(out, "sha256:", 7);
	pw_hex(digest, PW_SHA256_LEN, out + 7);
	return PW_OK;
}

static pw_status check_model(ck *c)
{
	static const field fields[] = {
	        {"pitwall", true},  {"name", true},    {"description", false},
	        {"owners", true},   {"states", true},  {"initial", true},
	        {"terminal", true}, {"default", true}, {"actions", true}};
	pw_spec *s = c->spec;
	const json_t *m = s->model;

	if (!check_fields(c, m, "", fields, sizeof fields / sizeof fields[0]) && !json_is_object(m))
		return PW_OK;
	const json_t *version = json_object_get(m, "pitwall");
	double v = 0;
	if (version != NULL && (!pw_json_number(version, &v) || v != 1))
		err_at(c, version, "pitwall",
		       "unsupported spec format version; this pitwall reads 1");
	const json_t *name = json_object_get(m, "name");
	if (name != NULL) {
		const char *n = want_string(c, name, "name");
		if (n != NULL && !name_ok(n, false, ".-"))
			err_at(c, name, "name",
			       "invalid name \"%s\"; expected ^[A-Za-z][A-Za-z0-9_.-]{0,63}$", n);
	}
	if (json_object_get(m, "description"))
		(void)want_string(c, json_object_get(m, "description"), "description");
	if (json_object_get(m, "owners"))
		check_owners(c, json_object_get(m, "owners"));
	if (json_object_get(m, "states"))
		check_states(c, m);
	if (json_object_get(m, "default"))
		check_default(c, json_object_get(m, "default"));

	const json_t *actions = json_object_get(m, "actions");
	if (actions == NULL)
		return PW_OK;
	if (!json_is_object(actions) || json_object_size(actions) == 0) {
		err_at(c, actions, "actions", "expected a mapping of at least one action");
		return PW_OK;
	}
	if (json_object_size(actions) > PW_SPEC_MAX_ACTIONS) {
		err_at(c, actions, "actions", "more than %d actions", PW_SPEC_MAX_ACTIONS);
		return PW_OK;
	}
	s->actions = calloc(json_object_size(actions), sizeof *s->actions);
	if (s->actions == NULL)
		return PW_ERR_NOMEM;
	const char *an;
	json_t *def;
	json_object_foreach ((json_t *)actions, an, def) {
		pw_action *a = &s->actions[s->n_actions++];
		char p[PATH_MAX_LEN];
		a->name = an;
		a->def = def;
		subpath(p, "actions", an);
		if (!name_ok(an, false, NULL))
			err_key(c, actions, an, "actions",
			        "invalid action name \"%s\"; expected ^[A-Za-z][A-Za-z0-9_]{0,63}$",
			        an);
		check_action(c, a, def, p);
	}
	/* graph checks only on a sound structure: they rely on valid references */
	if (c->diag->errors == 0)
		PW_TRY(check_graph(c));
	return PW_OK;
}

pw_status pw_spec_parse(const char *buf, size_t len, pw_spec **out, pw_diag *diag)
{
	pw_spec *s;
	pw_status st;
	size_t errors_before = diag->errors;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return PW_ERR_NOMEM;
	st = pw_yaml_parse(buf, len, NULL, &s->model, &s->marks, diag);
	if (st == PW_OK) {
		ck c = {s, diag};
		st = check_model(&c);
	}
	if (st == PW_OK && diag->errors > errors_before)
		st = PW_ERR_INVALID;
	if (st == PW_OK)
		st = pw_spec_id(s->model, s->workflow_id);
	if (st != PW_OK) {
		pw_spec_free(s);
		return st;
	}
	*out = s;
	return PW_OK;
}

const pw_action *pw_spec_action(const pw_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->n_actions; i++)
		if (strcmp(spec->actions[i].name, name) == 0)
			return &spec->actions[i];
	return NULL;
}

void pw_spec_free(pw_spec *spec)
{
	if (spec == NULL)
		return;
	for (size_t i = 0; i < spec->n_actions; i++)
		pw_schema_free(spec->actions[i].input);
	free(spec->actions);
	json_decref(spec->model);
	pw_marks_free(spec->marks);
	free(spec);
}
