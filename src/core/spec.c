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

#include "core/effects.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/logic.h"

#define PATH_MAX_LEN        256
#define PW_SPEC_MAX_SECRETS 64
#define PW_SPEC_MAX_LIST    256 /* requires, emits, pre, post, decide, to */
#define PW_SPEC_MAX_ENV     64
#define PW_TEMPLATE_MAX     256

typedef struct ck {
	pw_spec *spec;
	pw_diag *diag;
	size_t errors_before; /* diag->errors when this parse began: diag may be reused */
} ck;

/* Past PW_DIAG_MAX items only the count grows: skip the position lookups. */
static bool diag_full(const ck *c)
{
	return c->diag->n >= PW_DIAG_MAX;
}

typedef struct field {
	const char *key;
	bool required;
} field;

/* ---- reporting ---------------------------------------------------------- */

/*
 * Add one item at the position of node, or of key in mapping node when key
 * is not NULL (falling back to the mapping's own position).
 */
static void vreport(ck *c, pw_diag_level level, const json_t *node, const char *key,
                    const char *path, const char *fmt, va_list ap)
{
	char msg[768];
	unsigned line = 0, col = 0;
	if (!diag_full(c) && (key == NULL || !pw_marks_key(c->spec->marks, node, key, &line, &col)))
		(void)pw_marks_value(c->spec->marks, node, &line, &col);
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
	va_list ap;
	va_start(ap, fmt);
	vreport(c, PW_DIAG_ERROR, node, NULL, path, fmt, ap);
	va_end(ap);
}

static void warn_at(ck *c, const json_t *node, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void warn_at(ck *c, const json_t *node, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, PW_DIAG_WARNING, node, NULL, path, fmt, ap);
	va_end(ap);
}

static void err_key(ck *c, const json_t *obj, const char *key, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void err_key(ck *c, const json_t *obj, const char *key, const char *path, const char *fmt,
                    ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, PW_DIAG_ERROR, obj, key, path, fmt, ap);
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
	if (v == NULL)
		return "nothing";
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

/* A list of at most max entries (errors reported). */
static bool want_bounded_list(ck *c, const json_t *v, const char *path, size_t max)
{
	if (!want_list(c, v, path, false))
		return false;
	if (json_array_size(v) > max) {
		err_at(c, v, path, "more than %zu entries", max);
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

/* "<digits><unit>" or an integer number of seconds (pw_spec_duration_ms()). */
static void check_duration(ck *c, const json_t *v, const char *path)
{
	if (pw_spec_duration_ms(v, 0) <= 0)
		err_at(c, v, path, "expected a duration such as \"120s\", \"10m\" or \"6h\"");
}

int64_t pw_spec_duration_ms(const json_t *v, int64_t dflt)
{
	double d;
	if (v == NULL)
		return dflt;
	if (pw_json_number(v, &d))
		return (d >= 1 && d <= 31536000.0 * 10 && d == (double)(int64_t)d)
		               ? (int64_t)d * 1000
		               : -1;
	const char *s = json_string_value(v);
	if (s == NULL)
		return -1;
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 9 || s[0] == '0')
		return -1;
	int64_t n = 0;
	for (size_t i = 0; i < digits; i++)
		n = n * 10 + (s[i] - '0');
	const char *unit = s + digits;
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(unit, units[i].unit) == 0)
			return n * units[i].ms;
	return -1;
}

/*
 * A value expression (requires[].value, emits[].value): any JSON Logic,
 * including a literal.
 */
static void check_expression(ck *c, const json_t *v, const char *path)
{
	char err[256];
	if (pw_logic_check(v, NULL, err, sizeof err) != PW_OK)
		err_at(c, v, path, "invalid condition: %s", err);
}

/*
 * A condition (pre, post, when): an operation (an object with exactly one
 * key) or a boolean. Anything else is a literal that JSON Logic takes as
 * always true or always false: an object with a typo as a second key, a
 * string, a list. Refuse it rather than let a rule match everything.
 */
static void check_condition(ck *c, const json_t *v, const char *path)
{
	if (!json_is_boolean(v) && !(json_is_object(v) && json_object_size(v) == 1)) {
		err_at(c, v, path,
		       "a condition must be an operation such as {\"==\": [...]} (an object with "
		       "exactly one key) or true/false, got %s",
		       json_is_object(v) ? "an object with several keys" : type_name(v));
		return;
	}
	check_expression(c, v, path);
}

static void check_conditions(ck *c, const json_t *list, const char *path)
{
	char p[PATH_MAX_LEN];
	if (!want_bounded_list(c, list, path, PW_SPEC_MAX_LIST))
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
				err_key(c, obj, kinds[i], p, "expected true");
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
	size_t n = json_string_length(v);
	if (strchr(s, '{') == NULL && strchr(s, '}') == NULL)
		return;
	if (n > PW_TEMPLATE_MAX) {
		err_at(c, v, path, "template of %zu bytes is longer than %d", n, PW_TEMPLATE_MAX);
		return;
	}
	if (n < 3 || s[0] != '{' || s[n - 1] != '}' || memchr(s + 1, '{', n - 1) != NULL ||
	    memchr(s, '}', n - 1) != NULL) {
		err_at(c, v, path,
		       "template \"%s\": a placeholder must be the whole element, such as "
		       "\"{input.branch}\"",
		       s);
		return;
	}
	const char *inner = s + 1;
	size_t len = n - 2;
	static const char *const fixed[] = {"run.id", "run.dir", "spec.dir"};
	for (size_t i = 0; i < 3; i++)
		if (len == strlen(fixed[i]) && memcmp(inner, fixed[i], len) == 0)
			return;
	if (len < 7 || memcmp(inner, "input.", 6) != 0) {
		err_at(c, v, path,
		       "template \"%s\": unknown placeholder; use input.NAME, run.id, run.dir or "
		       "spec.dir",
		       s);
		return;
	}
	/* every segment must name a property declared by the schema at its level */
	const json_t *schema = input;
	const char *seg = inner + 6, *end = inner + len;
	while (seg <= end) {
		const char *dot = memchr(seg, '.', (size_t)(end - seg));
		size_t sl = (size_t)((dot ? dot : end) - seg);
		char name[PW_TEMPLATE_MAX + 1];
		if (sl == 0 || strspn(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                           "0123456789_-") < sl) {
			err_at(c, v, path, "template \"%s\": malformed input path", s);
			return;
		}
		memcpy(name, seg, sl);
		name[sl] = '\0';
		schema = json_object_get(json_object_get(schema, "properties"), name);
		if (schema == NULL) {
			err_at(c, v, path,
			       "template \"%s\": the input schema has no property \"%s\"", s, name);
			return;
		}
		if (dot == NULL)
			break;
		seg = dot + 1;
	}
}

/*
 * Variables that make the dynamic loader, libc or an interpreter load code
 * or configuration from elsewhere: set on a pinned program, they would run
 * what nobody pinned. Refused whatever their value.
 */
static bool env_name_denied(const char *name)
{
	static const char *const denied[] = {"GCONV_PATH",
	                                     "LOCPATH",
	                                     "NLSPATH",
	                                     "HOSTALIASES",
	                                     "RESOLV_HOST_CONF",
	                                     "MALLOC_CHECK_",
	                                     "BASH_ENV",
	                                     "ENV",
	                                     "SHELLOPTS",
	                                     "BASHOPTS",
	                                     "PS4",
	                                     "IFS",
	                                     "CDPATH",
	                                     "PYTHONPATH",
	                                     "PYTHONHOME",
	                                     "PYTHONSTARTUP",
	                                     "PERL5LIB",
	                                     "PERL5OPT",
	                                     "PERLLIB",
	                                     "RUBYLIB",
	                                     "RUBYOPT",
	                                     "NODE_OPTIONS",
	                                     "NODE_PATH",
	                                     "JAVA_TOOL_OPTIONS",
	                                     "GIT_EXEC_PATH",
	                                     "GIT_CONFIG_GLOBAL",
	                                     "GIT_CONFIG_SYSTEM",
	                                     "GIT_SSH",
	                                     "GIT_SSH_COMMAND",
	                                     "GIT_CONFIG_PARAMETERS",
	                                     NULL};
	if (strncmp(name, "LD_", 3) == 0 || strncmp(name, "GLIBC_", 6) == 0 ||
	    strncmp(name, "BASH_FUNC_", 10) == 0)
		return true;
	for (size_t i = 0; denied[i] != NULL; i++)
		if (strcmp(name, denied[i]) == 0)
			return true;
	return false;
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
		else if (json_object_size(env) > PW_SPEC_MAX_ENV)
			err_at(c, env, p, "more than %d variables", PW_SPEC_MAX_ENV);
		else
			json_object_foreach ((json_t *)env, k, val) {
				subpath(q, p, k);
				if (!name_ok(k, false, NULL) &&
				    !(k[0] == '_' && name_ok(k + 1, false, NULL)))
					err_key(c, env, k, p, "invalid variable name \"%s\"", k);
				else if (env_name_denied(k))
					err_key(c, env, k, p,
					        "variable \"%s\" can make the program load code "
					        "its pin does not cover",
					        k);
				check_template(c, val, input, q);
			}
	}
	const json_t *secrets = json_object_get(run, "secrets");
	subpath(p, path, "secrets");
	if (secrets != NULL && want_bounded_list(c, secrets, p, PW_SPEC_MAX_SECRETS)) {
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

/* A tier an action may give a failure. */
static bool tier_ok(const char *t)
{
	return strcmp(t, "correctable") == 0 || strcmp(t, "uncorrected") == 0 ||
	       strcmp(t, "fatal") == 0;
}

/* errors.escalate: {count, window}, at the top level or in an action. */
static void check_escalate(ck *c, const json_t *errs, const char *path)
{
	static const field fields[] = {{"count", false}, {"window", false}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	const json_t *esc = json_object_get(errs, "escalate");
	subpath(p, path, "escalate");
	if (esc == NULL || !check_fields(c, esc, p, fields, 2))
		return;
	if (json_object_get(esc, "count")) {
		subpath(q, p, "count");
		(void)want_int(c, json_object_get(esc, "count"), q, 1, PW_ESCALATE_COUNT_MAX);
	}
	if (json_object_get(esc, "window")) {
		subpath(q, p, "window");
		check_duration(c, json_object_get(esc, "window"), q);
		int64_t ms = pw_spec_duration_ms(json_object_get(esc, "window"), 0);
		if (ms > PW_ESCALATE_WINDOW_MAX_MS)
			err_at(c, json_object_get(esc, "window"), q, "a window longer than 7 days");
	}
}

static void check_errors(ck *c, const json_t *errs, const char *path)
{
	static const field fields[] = {{"exit", false},
	                               {"timeout", false},
	                               {"signal", false},
	                               {"retry", false},
	                               {"escalate", false}};
	static const field retry_fields[] = {{"max", false}, {"backoff", false}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!check_fields(c, errs, path, fields, 5))
		return;
	check_escalate(c, errs, path);
	for (size_t i = 1; i <= 2; i++) {
		const json_t *tv = json_object_get(errs, fields[i].key);
		subpath(p, path, fields[i].key);
		const char *t = tv ? want_string(c, tv, p) : NULL;
		if (t != NULL && !tier_ok(t))
			err_at(c, tv, p,
			       "unknown tier \"%s\"; expected correctable, uncorrected or fatal",
			       t);
	}
	const json_t *exits = json_object_get(errs, "exit");
	subpath(p, path, "exit");
	if (exits != NULL) {
		const char *k;
		json_t *tier;
		if (!json_is_object(exits))
			err_at(c, exits, p, "expected a mapping, got %s", type_name(exits));
		json_object_foreach ((json_t *)exits, k, tier) {
			/* one spelling per status: "75", never "075", "+75" or " 75" */
			size_t digits = strspn(k, "0123456789");
			long code = (digits >= 1 && digits <= 3 && k[digits] == '\0' && k[0] != '0')
			                    ? strtol(k, NULL, 10)
			                    : -1;
			subpath(q, p, k);
			if (code < 1 || code > 255)
				err_key(c, exits, k, p,
				        "exit status \"%s\" is not a number from 1 to 255 written "
				        "plainly",
				        k);
			const char *t = want_string(c, tier, q);
			if (t != NULL && !tier_ok(t))
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

/* effects.read or effects.write: unique path templates (pw_effects_path_problem()). */
static void check_effect_paths(ck *c, const json_t *list, const char *path)
{
	char p[PATH_MAX_LEN];
	if (!want_bounded_list(c, list, path, PW_EFFECTS_MAX_PATHS))
		return;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *v = json_array_get(list, i);
		indexpath(p, path, i);
		const char *s = want_string(c, v, p);
		if (s == NULL)
			continue;
		const char *problem = pw_effects_path_problem(s);
		if (problem != NULL) {
			err_at(c, v, p, "path \"%.256s\": %s", s, problem);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(list, j), v)) {
				err_at(c, v, p, "duplicate path \"%s\"", s);
				break;
			}
	}
}

/* effects.net: "none", or a list of unique TCP endpoints. */
static void check_effect_net(ck *c, const json_t *net, const char *path)
{
	char p[PATH_MAX_LEN];
	pw_endpoint *seen;
	if (json_is_string(net) && strcmp(json_string_value(net), "none") == 0)
		return;
	if (json_is_string(net)) {
		err_at(c, net, path, "expected none or a list of \"host:port\", got \"%.64s\"",
		       json_string_value(net));
		return;
	}
	if (!json_is_array(net)) {
		err_at(c, net, path, "expected none or a list of \"host:port\", got %s",
		       type_name(net));
		return;
	}
	if (json_array_size(net) == 0) {
		err_at(c, net, path, "an empty list; for no network write net: none");
		return;
	}
	if (!want_bounded_list(c, net, path, PW_EFFECTS_MAX_NET))
		return;
	if ((seen = calloc(json_array_size(net), sizeof *seen)) == NULL) {
		c->diag->out_of_memory = 1;
		return;
	}
	for (size_t i = 0; i < json_array_size(net); i++) {
		const json_t *v = json_array_get(net, i);
		indexpath(p, path, i);
		const char *s = want_string(c, v, p);
		if (s == NULL)
			continue;
		const char *problem = pw_endpoint_parse(s, &seen[i]);
		if (problem != NULL) {
			err_at(c, v, p, "endpoint \"%.300s\": %s", s, problem);
			seen[i].port = 0; /* never the same as a valid one */
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (pw_endpoint_same(&seen[j], &seen[i])) {
				err_at(c, v, p, "duplicate endpoint \"%s\"", s);
				break;
			}
	}
	free(seen);
}

/* A size limit: pw_effects_size() within [lo, hi], named lo_s and hi_s in messages. */
static void check_size(ck *c, const json_t *v, const char *path, uint64_t lo, uint64_t hi,
                       const char *lo_s, const char *hi_s)
{
	uint64_t n;
	if (!pw_effects_size(v, &n))
		err_at(c, v, path,
		       "expected a size: an integer number of bytes, or digits and KiB, MiB, GiB "
		       "or "
		       "TiB, such as \"256MiB\"");
	else if (n < lo || n > hi)
		err_at(c, v, path, "%llu bytes is out of range [%s, %s]", (unsigned long long)n,
		       lo_s, hi_s);
}

static void check_effect_limits(ck *c, const json_t *limits, const char *path)
{
	static const field fields[] = {{"memory", false},
	                               {"cpu", false},
	                               {"procs", false},
	                               {"file_size", false},
	                               {"open_files", false}};
	char p[PATH_MAX_LEN];
	const json_t *v;
	if (!check_fields(c, limits, path, fields, sizeof fields / sizeof fields[0]))
		return;
	if ((v = json_object_get(limits, "memory")) != NULL) {
		subpath(p, path, "memory");
		check_size(c, v, p, PW_LIMIT_MEMORY_MIN, PW_LIMIT_MEMORY_MAX, "1MiB", "64GiB");
	}
	if ((v = json_object_get(limits, "file_size")) != NULL) {
		subpath(p, path, "file_size");
		check_size(c, v, p, PW_LIMIT_FILE_SIZE_MIN, PW_LIMIT_FILE_SIZE_MAX, "1KiB", "1TiB");
	}
	if ((v = json_object_get(limits, "cpu")) != NULL) {
		subpath(p, path, "cpu");
		check_duration(c, v, p);
	}
	if ((v = json_object_get(limits, "procs")) != NULL) {
		subpath(p, path, "procs");
		(void)want_int(c, v, p, PW_LIMIT_PROCS_MIN, PW_LIMIT_PROCS_MAX);
	}
	if ((v = json_object_get(limits, "open_files")) != NULL) {
		subpath(p, path, "open_files");
		(void)want_int(c, v, p, PW_LIMIT_OPEN_FILES_MIN, PW_LIMIT_OPEN_FILES_MAX);
	}
}

/* effects.downgrade: unique names of sandbox features (pw_feature_name()). */
static void check_effect_downgrade(ck *c, const json_t *list, const char *path)
{
	char p[PATH_MAX_LEN];
	unsigned seen = 0;
	if (!want_bounded_list(c, list, path, PW_FEAT_COUNT))
		return;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *v = json_array_get(list, i);
		indexpath(p, path, i);
		const char *s = want_string(c, v, p);
		if (s == NULL)
			continue;
		unsigned bit = pw_feature_by_name(s);
		if (bit == 0)
			err_at(c, v, p,
			       "unknown feature \"%.64s\"; expected landlock_fs, landlock_net, "
			       "landlock_scope, netns, seccomp or pids",
			       s);
		else if (seen & bit)
			err_at(c, v, p, "duplicate feature \"%s\"", s);
		seen |= bit;
	}
}

/* An action's effects: what its program may read, write and connect to, and its limits. */
static void check_effects(ck *c, const json_t *eff, const char *path)
{
	static const field fields[] = {{"read", false},
	                               {"write", false},
	                               {"net", false},
	                               {"limits", false},
	                               {"downgrade", false}};
	char p[PATH_MAX_LEN];
	const json_t *v;
	if (!check_fields(c, eff, path, fields, sizeof fields / sizeof fields[0]))
		if (!json_is_object(eff))
			return;
	static const struct {
		const char *key;
		void (*check)(ck *, const json_t *, const char *);
	} parts[] = {{"read", check_effect_paths},
	             {"write", check_effect_paths},
	             {"net", check_effect_net},
	             {"limits", check_effect_limits},
	             {"downgrade", check_effect_downgrade}};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if ((v = json_object_get(eff, parts[i].key)) != NULL) {
			subpath(p, path, parts[i].key);
			parts[i].check(c, v, p);
		}
}

static void check_cap_entries(ck *c, const json_t *list, const char *path, bool emits)
{
	static const field req_fields[] = {{"cap", true}, {"value", false}};
	static const field emit_fields[] = {
	        {"cap", true}, {"value", true}, {"ttl", false}, {"when", false}};
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!want_bounded_list(c, list, path, PW_SPEC_MAX_LIST))
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
			check_expression(c, json_object_get(e, "value"), q);
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
	if (!want_bounded_list(c, to, path, PW_SPEC_MAX_LIST))
		return;
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
	static const field fields[] = {
	        {"description", false}, {"from", true},   {"to", false},     {"input", true},
	        {"requires", false},    {"pre", false},   {"decide", false}, {"run", true},
	        {"post", false},        {"emits", false}, {"errors", false}, {"effects", false}};
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
	if (decide != NULL && want_bounded_list(c, decide, p, PW_SPEC_MAX_LIST)) {
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
	if (json_object_get(def, "effects")) {
		subpath(p, path, "effects");
		check_effects(c, json_object_get(def, "effects"), p);
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
	if (json_array_size(states) > PW_SPEC_MAX_STATES) {
		err_at(c, states, "states", "more than %d states", PW_SPEC_MAX_STATES);
		return;
	}
	json_t *seen = json_object();
	if (seen == NULL) {
		c->diag->out_of_memory = 1;
		return;
	}
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
		else if (json_object_get(seen, name) != NULL)
			err_at(c, s, p, "duplicate state \"%s\"", name);
		else if (json_object_set(seen, name, json_true()) != 0)
			c->diag->out_of_memory = 1;
	}
	json_decref(seen);
	/* a missing initial or terminal is already reported by check_fields */
	if (json_object_get(m, "initial") != NULL)
		check_state_ref(c, states, json_object_get(m, "initial"), "initial");
	const json_t *terminal = json_object_get(m, "terminal");
	if (terminal != NULL && want_list(c, terminal, "terminal", true)) {
		for (size_t i = 0; i < json_array_size(terminal); i++) {
			indexpath(p, "terminal", i);
			check_state_ref(c, states, json_array_get(terminal, i), p);
		}
	}
}

/* ---- graph checks --------------------------------------------------------- */

/*
 * The state graph, with every name turned into an index once. An action
 * is a set of edges from each of its from-states to each of its targets
 * (and to itself when the state may stay), kept implicitly: searches visit
 * each action once, so the work is linear in the size of the spec.
 */
typedef struct gact {
	size_t *from, n_from; /* state indexes */
	size_t *to, n_to;     /* explicit targets */
	bool may_stay;        /* `to` omitted, or every target has a `when` */
} gact;

typedef struct graph {
	size_t n_states, n_actions;
	gact *acts;       /* n_actions, in the spec's order */
	size_t *by_from;  /* CSR: actions having state s in from */
	size_t *from_off; /* n_states + 1 offsets into by_from */
	size_t *by_to;    /* CSR: actions having state s as a target */
	size_t *to_off;   /* n_states + 1 offsets into by_to */
	bool *reach;      /* n_states: reachable from the initial state */
	bool *enabled;    /* n_actions: callable in some reachable state */
	size_t *queue;    /* n_states */
	bool *seen_state; /* n_states, scratch */
	bool *seen_act;   /* n_actions, scratch */
	size_t *arena;    /* owned storage behind every gact array */
} graph;

static void graph_free(graph *g)
{
	free(g->acts);
	free(g->by_from);
	free(g->from_off);
	free(g->by_to);
	free(g->to_off);
	free(g->reach);
	free(g->enabled);
	free(g->queue);
	free(g->seen_state);
	free(g->seen_act);
	free(g->arena);
}

/* Index state names through a JSON object name -> position. */
static size_t state_index(const json_t *index, const json_t *name)
{
	return (size_t)json_integer_value(json_object_get(index, json_string_value(name)));
}

/* Build adjacency arrays from a spec whose structure already checked. */
static pw_status graph_build(graph *g, const pw_spec *s, const json_t *index)
{
	size_t total = 0;
	g->n_states = json_array_size(json_object_get(s->model, "states"));
	g->n_actions = s->n_actions;
	for (size_t i = 0; i < s->n_actions; i++) {
		const json_t *to = json_object_get(s->actions[i].def, "to");
		total += json_array_size(json_object_get(s->actions[i].def, "from"));
		total += json_is_string(to) ? 1 : json_array_size(to);
	}
	g->acts = calloc(g->n_actions + 1, sizeof *g->acts);
	g->arena = calloc(total + 1, sizeof *g->arena);
	g->by_from = calloc(total + 1, sizeof *g->by_from);
	g->by_to = calloc(total + 1, sizeof *g->by_to);
	g->from_off = calloc(g->n_states + 2, sizeof *g->from_off);
	g->to_off = calloc(g->n_states + 2, sizeof *g->to_off);
	g->reach = calloc(g->n_states + 1, sizeof *g->reach);
	g->seen_state = calloc(g->n_states + 1, sizeof *g->seen_state);
	g->queue = calloc(g->n_states + 1, sizeof *g->queue);
	g->enabled = calloc(g->n_actions + 1, sizeof *g->enabled);
	g->seen_act = calloc(g->n_actions + 1, sizeof *g->seen_act);
	if (!g->acts || !g->arena || !g->by_from || !g->by_to || !g->from_off || !g->to_off ||
	    !g->reach || !g->seen_state || !g->queue || !g->enabled || !g->seen_act)
		return PW_ERR_NOMEM;

	size_t used = 0;
	for (size_t i = 0; i < s->n_actions; i++) {
		gact *a = &g->acts[i];
		const json_t *from = json_object_get(s->actions[i].def, "from");
		const json_t *to = json_object_get(s->actions[i].def, "to");
		a->from = g->arena + used;
		for (size_t j = 0; j < json_array_size(from); j++)
			a->from[a->n_from++] = state_index(index, json_array_get(from, j));
		used += a->n_from;
		a->to = g->arena + used;
		a->may_stay = (to == NULL);
		if (json_is_string(to)) {
			a->to[a->n_to++] = state_index(index, to);
		} else if (json_is_array(to)) {
			a->may_stay = true;
			for (size_t j = 0; j < json_array_size(to); j++) {
				const json_t *t = json_array_get(to, j);
				a->to[a->n_to++] = state_index(index, json_object_get(t, "state"));
				if (json_object_get(t, "when") == NULL)
					a->may_stay = false;
			}
		}
		used += a->n_to;
	}
	/* CSR: count, prefix sums, fill */
	for (size_t i = 0; i < g->n_actions; i++) {
		for (size_t j = 0; j < g->acts[i].n_from; j++)
			g->from_off[g->acts[i].from[j] + 1]++;
		for (size_t j = 0; j < g->acts[i].n_to; j++)
			g->to_off[g->acts[i].to[j] + 1]++;
	}
	for (size_t st = 0; st < g->n_states; st++) {
		g->from_off[st + 1] += g->from_off[st];
		g->to_off[st + 1] += g->to_off[st];
	}
	size_t *fpos = g->queue; /* scratch cursors, reset below */
	for (size_t st = 0; st < g->n_states; st++)
		fpos[st] = 0;
	for (size_t i = 0; i < g->n_actions; i++)
		for (size_t j = 0; j < g->acts[i].n_from; j++) {
			size_t st = g->acts[i].from[j];
			g->by_from[g->from_off[st] + fpos[st]++] = i;
		}
	for (size_t st = 0; st < g->n_states; st++)
		fpos[st] = 0;
	for (size_t i = 0; i < g->n_actions; i++)
		for (size_t j = 0; j < g->acts[i].n_to; j++) {
			size_t st = g->acts[i].to[j];
			g->by_to[g->to_off[st] + fpos[st]++] = i;
		}
	return PW_OK;
}

/* Forward search from the initial state: reach[] and enabled[]. */
static void graph_forward(graph *g, size_t initial)
{
	size_t head = 0, tail = 0;
	g->reach[initial] = true;
	g->queue[tail++] = initial;
	while (head < tail) {
		size_t st = g->queue[head++];
		for (size_t k = g->from_off[st]; k < g->from_off[st + 1]; k++) {
			gact *a = &g->acts[g->by_from[k]];
			if (g->enabled[g->by_from[k]])
				continue;
			g->enabled[g->by_from[k]] = true;
			for (size_t j = 0; j < a->n_to; j++) {
				if (!g->reach[a->to[j]]) {
					g->reach[a->to[j]] = true;
					g->queue[tail++] = a->to[j];
				}
			}
		}
	}
}

/*
 * Backward search from the from-states of action b: seen_state[] marks
 * every state from which some from-state of b can be reached.
 */
static void graph_backward(graph *g, const gact *b)
{
	size_t head = 0, tail = 0;
	memset(g->seen_state, 0, g->n_states * sizeof *g->seen_state);
	memset(g->seen_act, 0, g->n_actions * sizeof *g->seen_act);
	for (size_t j = 0; j < b->n_from; j++) {
		if (!g->seen_state[b->from[j]]) {
			g->seen_state[b->from[j]] = true;
			g->queue[tail++] = b->from[j];
		}
	}
	while (head < tail) {
		size_t st = g->queue[head++];
		for (size_t k = g->to_off[st]; k < g->to_off[st + 1]; k++) {
			const gact *a = &g->acts[g->by_to[k]];
			if (g->seen_act[g->by_to[k]])
				continue;
			g->seen_act[g->by_to[k]] = true;
			for (size_t j = 0; j < a->n_from; j++) {
				if (!g->seen_state[a->from[j]]) {
					g->seen_state[a->from[j]] = true;
					g->queue[tail++] = a->from[j];
				}
			}
		}
	}
}

/* After graph_backward(b): can action a complete before b is first called? */
static bool runs_before(const graph *g, const gact *a, size_t ai)
{
	if (!g->enabled[ai])
		return false;
	for (size_t j = 0; j < a->n_to; j++)
		if (g->seen_state[a->to[j]])
			return true;
	if (a->may_stay)
		for (size_t j = 0; j < a->n_from; j++)
			if (g->reach[a->from[j]] && g->seen_state[a->from[j]])
				return true;
	return false;
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
	graph g;
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	pw_status st = PW_OK;
	const json_t *states = json_object_get(s->model, "states");
	json_t *index = json_object();

	memset(&g, 0, sizeof g);
	if (index == NULL)
		return PW_ERR_NOMEM;
	for (size_t i = 0; i < json_array_size(states) && st == PW_OK; i++)
		if (json_object_set_new(index, json_string_value(json_array_get(states, i)),
		                        json_integer((json_int_t)i)) != 0)
			st = PW_ERR_NOMEM;
	if (st == PW_OK)
		st = graph_build(&g, s, index);
	if (st != PW_OK)
		goto out;
	graph_forward(&g, state_index(index, json_object_get(s->model, "initial")));

	for (size_t i = 0; i < s->n_actions; i++) {
		s->actions[i].reachable = g.enabled[i];
		if (!g.enabled[i]) {
			subpath(p, "actions", s->actions[i].name);
			warn_at(c, s->actions[i].def, p,
			        "unreachable: none of its from states can be reached from the "
			        "initial "
			        "state");
		}
	}
	for (size_t i = 0; i < s->n_actions; i++) {
		const json_t *req = json_object_get(s->actions[i].def, "requires");
		if (json_array_size(req) == 0)
			continue;
		graph_backward(&g, &g.acts[i]);
		for (size_t r = 0; r < json_array_size(req); r++) {
			const json_t *entry = json_array_get(req, r);
			const char *cap = json_string_value(json_object_get(entry, "cap"));
			bool found = false;
			for (size_t j = 0; j < s->n_actions && !found; j++)
				found = j != i && emits_cap(s->actions[j].def, cap) &&
				        runs_before(&g, &g.acts[j], j);
			if (!found) {
				subpath(p, "actions", s->actions[i].name);
				subpath(q, p, "requires");
				indexpath(p, q, r);
				err_at(c, entry, p,
				       "capability \"%s\" is not emitted by any action that can "
				       "run "
				       "before %s",
				       cap, s->actions[i].name);
			}
		}
	}
out:
	graph_free(&g);
	json_decref(index);
	return st;
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
	        {"pitwall", true}, {"name", true},    {"description", false}, {"owners", true},
	        {"states", true},  {"initial", true}, {"terminal", true},     {"default", true},
	        {"actions", true}, {"errors", false}};
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
	if (json_object_get(m, "errors")) {
		static const field err_fields[] = {{"escalate", false}};
		if (check_fields(c, json_object_get(m, "errors"), "errors", err_fields, 1))
			check_escalate(c, json_object_get(m, "errors"), "errors");
	}

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
	if (c->diag->errors == c->errors_before)
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
		ck c = {s, diag, errors_before};
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

/* errors.escalate of def (a spec's model or an action), falling back to dflt. */
static pw_escalate escalate_of(const json_t *def, pw_escalate dflt)
{
	const json_t *esc = json_object_get(json_object_get(def, "errors"), "escalate");
	double d;
	if (pw_json_number(json_object_get(esc, "count"), &d) && d >= 1 &&
	    d <= PW_ESCALATE_COUNT_MAX)
		dflt.count = (unsigned)d;
	int64_t ms = pw_spec_duration_ms(json_object_get(esc, "window"), 0);
	if (ms > 0 && ms <= PW_ESCALATE_WINDOW_MAX_MS)
		dflt.window_ms = ms;
	return dflt;
}

pw_escalate pw_spec_escalate(const pw_spec *spec, const pw_action *a)
{
	pw_escalate e = {PW_ESCALATE_COUNT_DEFAULT, PW_ESCALATE_WINDOW_DEFAULT_MS};
	e = escalate_of(spec->model, e);
	return a ? escalate_of(a->def, e) : e;
}

void pw_action_retry(const pw_action *a, unsigned *max, int64_t *backoff_ms)
{
	const json_t *retry = json_object_get(json_object_get(a->def, "errors"), "retry");
	double d;
	*max = pw_json_number(json_object_get(retry, "max"), &d) && d >= 0 && d <= 10 ? (unsigned)d
	                                                                              : 0;
	int64_t ms = pw_spec_duration_ms(json_object_get(retry, "backoff"), 0);
	*backoff_ms = ms > 0 ? ms : PW_RETRY_BACKOFF_DEFAULT_MS;
}
