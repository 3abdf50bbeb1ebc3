/*
 * template.c: argv and environment from run templates, secrets files, and
 * redaction (see template.h).
 *
 * Template values: a JSON null input value becomes "null", its canonical
 * JSON form, as the header says of "anything else"; only an absent field
 * (or a field below an absent or non-object parent) becomes "".
 */
#include "exec/template.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"

#define TEMPLATE_MAX      256 /* bytes of a template holding a placeholder (docs/SPEC.md) */
#define ENV_MAX           64  /* run.env entries and run.secrets names, each */
#define SECRETS_MAX_BYTES ((size_t)64 << 10)
#define SECRETS_MAX       64
#define SECRET_NAME_MAX   64
#define SECRET_VALUE_MIN  8
#define REDACT_MAX_DEPTH  1024

static void errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *memdup0(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* s[0..n) matches ^_?[A-Za-z][A-Za-z0-9_]*$ (and is at most max bytes, if max). */
static bool name_ok(const char *s, size_t n, size_t max)
{
	size_t i = 0;
	if (max != 0 && n > max)
		return false;
	if (i < n && s[i] == '_')
		i++;
	if (i >= n || !is_alpha(s[i]))
		return false;
	for (i++; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
			return false;
	return true;
}

/* ---- template expansion ---------------------------------------------------- */

/* The text of an input value (see template.h); v NULL (absent) is "". */
static pw_status value_text(const json_t *v, const char *tmpl, char **out, char *err, size_t errlen)
{
	char num[PW_JCS_NUMBER_MAX];
	double d;
	size_t n;
	*out = NULL;
	if (v == NULL)
		*out = memdup0("", 0);
	else if (json_is_string(v)) {
		n = json_string_length(v);
		if (memchr(json_string_value(v), '\0', n) != NULL) {
			errf(err, errlen,
			     "template \"%s\": the value holds a NUL byte, which a program "
			     "argument or variable cannot carry",
			     tmpl);
			return PW_ERR_INVALID;
		}
		*out = memdup0(json_string_value(v), n);
	} else if (json_is_true(v))
		*out = memdup0("true", 4);
	else if (json_is_false(v))
		*out = memdup0("false", 5);
	else if (pw_json_number(v, &d)) {
		pw_status st = pw_jcs_number(d, num);
		if (st != PW_OK) {
			errf(err, errlen, "template \"%s\": the value is not a JSON number", tmpl);
			return st;
		}
		*out = memdup0(num, strlen(num));
	} else {
		pw_status st = pw_jcs_dump(v, 0, out, &n);
		if (st != PW_OK) {
			errf(err, errlen, "template \"%s\": cannot write the value as JSON: %s",
			     tmpl, pw_status_name(st));
			*out = NULL;
			return st;
		}
	}
	return *out ? PW_OK : PW_ERR_NOMEM;
}

/*
 * The value at input path p[0..n) ("a.b.c") under input, or NULL when a
 * segment is absent or its parent is not an object. Each segment must
 * match [A-Za-z0-9_-]+ (as the spec checker requires).
 */
static bool input_path(const json_t *input, const char *p, size_t n, const json_t **out)
{
	const json_t *v = input;
	const char *seg = p, *end = p + n;
	for (;;) {
		const char *dot = memchr(seg, '.', (size_t)(end - seg));
		size_t sl = (size_t)((dot ? dot : end) - seg);
		if (sl == 0)
			return false;
		for (size_t i = 0; i < sl; i++)
			if (!is_alpha(seg[i]) && !is_digit(seg[i]) && seg[i] != '_' &&
			    seg[i] != '-')
				return false;
		v = json_is_object(v) ? json_object_getn(v, seg, sl) : NULL;
		if (dot == NULL)
			break;
		seg = dot + 1;
	}
	*out = v;
	return true;
}

static pw_status fixed_text(const char *value, const char *what, char **out, char *err,
                            size_t errlen)
{
	if (value == NULL) {
		errf(err, errlen, "placeholder {%s} has no value in this context", what);
		return PW_ERR_INVALID;
	}
	*out = memdup0(value, strlen(value));
	return *out ? PW_OK : PW_ERR_NOMEM;
}

pw_status pw_template_expand(const char *tmpl, const pw_template_ctx *ctx, char **out, char *err,
                             size_t errlen)
{
	if (out == NULL)
		return PW_ERR_INVALID;
	*out = NULL;
	if (tmpl == NULL || ctx == NULL) {
		errf(err, errlen, "no template");
		return PW_ERR_INVALID;
	}
	size_t n = strlen(tmpl);
	if (strchr(tmpl, '{') == NULL && strchr(tmpl, '}') == NULL) {
		*out = memdup0(tmpl, n);
		return *out ? PW_OK : PW_ERR_NOMEM;
	}
	if (n > TEMPLATE_MAX) {
		errf(err, errlen, "template of %zu bytes is longer than %d", n, TEMPLATE_MAX);
		return PW_ERR_INVALID;
	}
	if (n < 3 || tmpl[0] != '{' || tmpl[n - 1] != '}' || memchr(tmpl + 1, '{', n - 1) != NULL ||
	    memchr(tmpl, '}', n - 1) != NULL) {
		errf(err, errlen,
		     "template \"%s\": a placeholder must be the whole element, such as "
		     "\"{input.branch}\"",
		     tmpl);
		return PW_ERR_INVALID;
	}
	const char *inner = tmpl + 1;
	size_t len = n - 2;
	if (len == 6 && memcmp(inner, "run.id", 6) == 0)
		return fixed_text(ctx->run_id, "run.id", out, err, errlen);
	if (len == 7 && memcmp(inner, "run.dir", 7) == 0)
		return fixed_text(ctx->run_dir, "run.dir", out, err, errlen);
	if (len == 8 && memcmp(inner, "spec.dir", 8) == 0)
		return fixed_text(ctx->spec_dir, "spec.dir", out, err, errlen);
	const json_t *v = NULL;
	if (len < 7 || memcmp(inner, "input.", 6) != 0) {
		errf(err, errlen,
		     "template \"%s\": unknown placeholder; use input.NAME, run.id, run.dir or "
		     "spec.dir",
		     tmpl);
		return PW_ERR_INVALID;
	}
	if (!input_path(ctx->input, inner + 6, len - 6, &v)) {
		errf(err, errlen, "template \"%s\": malformed input path", tmpl);
		return PW_ERR_INVALID;
	}
	return value_text(v, tmpl, out, err, errlen);
}

/* The template string of element v, refusing non-strings and embedded NULs. */
static const char *template_of(const json_t *v)
{
	if (!json_is_string(v))
		return NULL;
	const char *s = json_string_value(v);
	return strlen(s) == json_string_length(v) ? s : NULL;
}

void pw_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++) {
		OPENSSL_cleanse(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

pw_status pw_template_argv(const json_t *run, const char *program, const pw_template_ctx *ctx,
                           char ***argv_out, char *err, size_t errlen)
{
	char sub[256];
	pw_status st = PW_OK;
	if (argv_out == NULL)
		return PW_ERR_INVALID;
	*argv_out = NULL;
	if (!json_is_object(run) || program == NULL || program[0] != '/') {
		errf(err, errlen, "run: expected a run mapping and an absolute program path");
		return PW_ERR_INVALID;
	}
	const json_t *args = json_object_get(run, "args");
	if (args != NULL && !json_is_array(args)) {
		errf(err, errlen, "run.args: expected a list");
		return PW_ERR_INVALID;
	}
	size_t n = json_array_size(args); /* 0 when absent */
	char **argv = calloc(n + 2, sizeof *argv);
	if (argv == NULL)
		return PW_ERR_NOMEM;
	if ((argv[0] = memdup0(program, strlen(program))) == NULL) {
		st = PW_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *t = template_of(json_array_get(args, i));
		if (t == NULL) {
			errf(err, errlen, "run.args[%zu]: expected a string without NUL bytes", i);
			st = PW_ERR_INVALID;
			goto out;
		}
		sub[0] = '\0';
		st = pw_template_expand(t, ctx, &argv[i + 1], sub, sizeof sub);
		if (st != PW_OK) {
			errf(err, errlen, "run.args[%zu]: %s", i, sub);
			goto out;
		}
	}
out:
	if (st != PW_OK)
		pw_strv_free(argv);
	else
		*argv_out = argv;
	return st;
}

/* "name=value" from malloc(). */
static char *env_entry(const char *name, size_t nlen, const char *value)
{
	size_t vlen = strlen(value);
	char *e = malloc(nlen + 1 + vlen + 1);
	if (e == NULL)
		return NULL;
	memcpy(e, name, nlen);
	e[nlen] = '=';
	memcpy(e + nlen + 1, value, vlen + 1);
	return e;
}

static const char *secret_value(const pw_secrets *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return s->values[i];
	return NULL;
}

/* Append run.env's entries (in the model's order) to envp from *k. */
static pw_status env_entries(const json_t *env, const pw_template_ctx *ctx, char **envp, size_t *k,
                             char *err, size_t errlen)
{
	char sub[256];
	const char *name;
	size_t nlen;
	json_t *val;
	json_object_keylen_foreach((json_t *)env, name, nlen, val)
	{
		if (!name_ok(name, nlen, 0) || strlen(name) != nlen) {
			errf(err, errlen, "run.env: invalid variable name \"%s\"", name);
			return PW_ERR_INVALID;
		}
		const char *t = template_of(val);
		if (t == NULL) {
			errf(err, errlen, "run.env.%s: expected a string without NUL bytes", name);
			return PW_ERR_INVALID;
		}
		char *value = NULL;
		sub[0] = '\0';
		pw_status st = pw_template_expand(t, ctx, &value, sub, sizeof sub);
		if (st != PW_OK) {
			errf(err, errlen, "run.env.%s: %s", name, sub);
			return st;
		}
		envp[*k] = env_entry(name, nlen, value);
		OPENSSL_cleanse(value, strlen(value));
		free(value);
		if (envp[*k] == NULL)
			return PW_ERR_NOMEM;
		(*k)++;
	}
	return PW_OK;
}

/* Append run.secrets' entries to envp from *k. */
static pw_status secret_entries(const json_t *names, const json_t *env, const pw_secrets *secrets,
                                char **envp, size_t *k, char *err, size_t errlen)
{
	for (size_t i = 0; i < json_array_size(names); i++) {
		const char *name = template_of(json_array_get(names, i));
		if (name == NULL || !name_ok(name, strlen(name), SECRET_NAME_MAX)) {
			errf(err, errlen, "run.secrets[%zu]: invalid secret name", i);
			return PW_ERR_INVALID;
		}
		if (json_object_get(env, name) != NULL) {
			errf(err, errlen, "run.secrets[%zu]: \"%s\" is also in run.env", i, name);
			return PW_ERR_INVALID;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(names, j)), name) == 0) {
				errf(err, errlen, "run.secrets[%zu]: \"%s\" is listed twice", i,
				     name);
				return PW_ERR_INVALID;
			}
		const char *value = secret_value(secrets, name);
		if (value == NULL) {
			if (secrets == NULL)
				errf(err, errlen,
				     "run.secrets: secret \"%s\" is needed but no secrets file "
				     "was given",
				     name);
			else
				errf(err, errlen,
				     "run.secrets: secret \"%s\" is not in the secrets file", name);
			return PW_ERR_NOTFOUND;
		}
		if ((envp[*k] = env_entry(name, strlen(name), value)) == NULL)
			return PW_ERR_NOMEM;
		(*k)++;
	}
	return PW_OK;
}

pw_status pw_template_envp(const json_t *run, const pw_template_ctx *ctx, const pw_secrets *secrets,
                           char ***envp_out, char *err, size_t errlen)
{
	if (envp_out == NULL)
		return PW_ERR_INVALID;
	*envp_out = NULL;
	if (!json_is_object(run)) {
		errf(err, errlen, "run: expected a mapping");
		return PW_ERR_INVALID;
	}
	const json_t *env = json_object_get(run, "env");
	const json_t *names = json_object_get(run, "secrets");
	if ((env != NULL && !json_is_object(env)) || json_object_size(env) > ENV_MAX) {
		errf(err, errlen, "run.env: expected a mapping of at most %d variables", ENV_MAX);
		return PW_ERR_INVALID;
	}
	if ((names != NULL && !json_is_array(names)) || json_array_size(names) > ENV_MAX) {
		errf(err, errlen, "run.secrets: expected a list of at most %d names", ENV_MAX);
		return PW_ERR_INVALID;
	}
	size_t k = 0;
	char **envp = calloc(json_object_size(env) + json_array_size(names) + 1, sizeof *envp);
	if (envp == NULL)
		return PW_ERR_NOMEM;
	pw_status st = PW_OK;
	if (env != NULL)
		st = env_entries(env, ctx, envp, &k, err, errlen);
	if (st == PW_OK)
		st = secret_entries(names, env, secrets, envp, &k, err, errlen);
	if (st != PW_OK)
		pw_strv_free(envp);
	else
		*envp_out = envp;
	return st;
}

/* ---- secrets file ---------------------------------------------------------- */

void pw_secrets_release(pw_secrets *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->values != NULL && s->values[i] != NULL) {
			OPENSSL_cleanse(s->values[i], strlen(s->values[i]));
			free(s->values[i]);
		}
		if (s->names != NULL)
			free(s->names[i]);
	}
	free(s->names);
	free(s->values);
	memset(s, 0, sizeof *s);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/*
 * One line of a secrets file (without its '\n'). The value is everything
 * after the first '=', byte for byte: no quotes, no trimming. Messages
 * never show a value, and show a name only once it is a valid name.
 */
static pw_status secrets_line(const char *line, size_t ll, size_t lineno, pw_secrets *out,
                              size_t *first_line, char *msg, size_t msglen)
{
	if (ll == 0 || blank(line, ll) || line[0] == '#')
		return PW_OK;
	if (memchr(line, '\r', ll) != NULL) {
		errf(msg, msglen, "line %zu: carriage return; save the file with unix line endings",
		     lineno);
		return PW_ERR_INVALID;
	}
	if (memchr(line, '\0', ll) != NULL) {
		errf(msg, msglen, "line %zu: NUL byte", lineno);
		return PW_ERR_INVALID;
	}
	const char *eq = memchr(line, '=', ll);
	if (eq == NULL) {
		errf(msg, msglen, "line %zu: expected NAME=value", lineno);
		return PW_ERR_INVALID;
	}
	size_t nl = (size_t)(eq - line), vl = ll - nl - 1;
	if (!name_ok(line, nl, SECRET_NAME_MAX)) {
		errf(msg, msglen,
		     "line %zu: invalid secret name; names match ^_?[A-Za-z][A-Za-z0-9_]*$ and "
		     "have at most %d characters",
		     lineno, SECRET_NAME_MAX);
		return PW_ERR_INVALID;
	}
	for (size_t i = 0; i < out->n; i++)
		if (strlen(out->names[i]) == nl && memcmp(out->names[i], line, nl) == 0) {
			errf(msg, msglen, "line %zu: secret %.*s is already defined on line %zu",
			     lineno, (int)nl, line, first_line[i]);
			return PW_ERR_INVALID;
		}
	if (vl < SECRET_VALUE_MIN) {
		errf(msg, msglen, "line %zu: the value of %.*s is shorter than %d bytes", lineno,
		     (int)nl, line, SECRET_VALUE_MIN);
		return PW_ERR_INVALID;
	}
	if (out->n == SECRETS_MAX) {
		errf(msg, msglen, "line %zu: more than %d secrets", lineno, SECRETS_MAX);
		return PW_ERR_TOO_LARGE;
	}
	char *name = memdup0(line, nl), *value = memdup0(eq + 1, vl);
	if (name == NULL || value == NULL) {
		free(name);
		if (value != NULL)
			OPENSSL_cleanse(value, vl);
		free(value);
		return PW_ERR_NOMEM;
	}
	out->names[out->n] = name;
	out->values[out->n] = value;
	first_line[out->n] = lineno;
	out->n++;
	return PW_OK;
}

static pw_status secrets_parse(const char *buf, size_t len, pw_secrets *out, char *msg,
                               size_t msglen)
{
	size_t first_line[SECRETS_MAX];
	const char *p = buf, *end = buf + len;
	size_t lineno = 1;
	out->names = calloc(SECRETS_MAX, sizeof *out->names);
	out->values = calloc(SECRETS_MAX, sizeof *out->values);
	if (out->names == NULL || out->values == NULL)
		return PW_ERR_NOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl ? nl : end;
		PW_TRY(secrets_line(p, (size_t)(lend - p), lineno, out, first_line, msg, msglen));
		p = nl ? nl + 1 : end;
		lineno++;
	}
	return PW_OK;
}

/* Open path for reading secrets: no symlink, no FIFO wait, no controlling tty. */
static pw_status secrets_open(const char *path, int *fd, char *err, size_t errlen)
{
	char eb[128];
	do
		*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (*fd < 0 && errno == EINTR);
	if (*fd >= 0)
		return PW_OK;
	int e = errno;
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		errf(err, errlen, "secrets file \"%s\": no such file", path);
		return PW_ERR_NOTFOUND;
	case ELOOP:
		errf(err, errlen, "secrets file \"%s\": is a symbolic link; name the file itself",
		     path);
		return PW_ERR_PERM;
	case EACCES:
	case EPERM:
		errf(err, errlen, "secrets file \"%s\": permission denied", path);
		return PW_ERR_PERM;
	default:
		(void)snprintf(eb, sizeof eb, "%s", strerrordesc_np(e) ? strerrordesc_np(e) : "?");
		if (eb[0] >= 'A' && eb[0] <= 'Z')
			eb[0] = (char)(eb[0] - 'A' + 'a');
		errf(err, errlen, "secrets file \"%s\": %s", path, eb);
		return PW_ERR_IO;
	}
}

/* Refuse what others could have written or read (see template.h). */
static pw_status secrets_check_stat(const char *path, const struct stat *sb, char *err,
                                    size_t errlen)
{
	unsigned mode = (unsigned)(sb->st_mode & 07777);
	if (!S_ISREG(sb->st_mode)) {
		errf(err, errlen, "secrets file \"%s\": not a regular file", path);
		return PW_ERR_PERM;
	}
	if (sb->st_uid != geteuid()) {
		errf(err, errlen,
		     "secrets file \"%s\": owned by uid %u, not by the user running pitwall "
		     "(uid %u)",
		     path, (unsigned)sb->st_uid, (unsigned)geteuid());
		return PW_ERR_PERM;
	}
	if ((mode & 066) != 0) {
		errf(err, errlen,
		     "secrets file \"%s\": readable or writable by group or others (mode %04o); "
		     "chmod 600 it",
		     path, mode);
		return PW_ERR_PERM;
	}
	if ((mode & 011) != 0) {
		errf(err, errlen,
		     "secrets file \"%s\": executable by group or others (mode %04o); chmod 600 it",
		     path, mode);
		return PW_ERR_PERM;
	}
	if (sb->st_size > (off_t)SECRETS_MAX_BYTES) {
		errf(err, errlen, "secrets file \"%s\": %lld bytes, over the limit of %zu", path,
		     (long long)sb->st_size, SECRETS_MAX_BYTES);
		return PW_ERR_TOO_LARGE;
	}
	return PW_OK;
}

/* Read all of fd, at most SECRETS_MAX_BYTES, into buf (SECRETS_MAX_BYTES + 1 bytes). */
static pw_status secrets_read(int fd, const char *path, char *buf, size_t *len, char *err,
                              size_t errlen)
{
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *len, SECRETS_MAX_BYTES + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errf(err, errlen, "secrets file \"%s\": read failed", path);
			return PW_ERR_IO;
		}
		if (n == 0)
			return PW_OK;
		*len += (size_t)n;
		if (*len > SECRETS_MAX_BYTES) {
			errf(err, errlen, "secrets file \"%s\": over the limit of %zu bytes", path,
			     SECRETS_MAX_BYTES);
			return PW_ERR_TOO_LARGE;
		}
	}
}

pw_status pw_secrets_load(const char *path, pw_secrets *out, char *err, size_t errlen)
{
	char msg[192];
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1;
	pw_status st;
	if (out == NULL)
		return PW_ERR_INVALID;
	memset(out, 0, sizeof *out);
	if (path == NULL) {
		errf(err, errlen, "no secrets file");
		return PW_ERR_INVALID;
	}
	if ((st = secrets_open(path, &fd, err, errlen)) != PW_OK)
		return st;
	if (fstat(fd, &sb) != 0) {
		errf(err, errlen, "secrets file \"%s\": cannot stat", path);
		st = PW_ERR_IO;
		goto out;
	}
	if ((st = secrets_check_stat(path, &sb, err, errlen)) != PW_OK)
		goto out;
	if ((buf = malloc(SECRETS_MAX_BYTES + 1)) == NULL) {
		st = PW_ERR_NOMEM;
		goto out;
	}
	if ((st = secrets_read(fd, path, buf, &len, err, errlen)) != PW_OK)
		goto out;
	msg[0] = '\0';
	st = secrets_parse(buf, len, out, msg, sizeof msg);
	if (st != PW_OK && msg[0] != '\0')
		errf(err, errlen, "secrets file \"%s\": %s", path, msg);
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, SECRETS_MAX_BYTES + 1);
		free(buf);
	}
	if (fd >= 0)
		(void)close(fd);
	if (st != PW_OK)
		pw_secrets_release(out);
	return st;
}

/* ---- redaction ------------------------------------------------------------- */

/* A growable output buffer. */
typedef struct obuf {
	char *p; /* owned; from realloc() */
	size_t len;
	size_t cap;
} obuf;

static bool obuf_put(obuf *b, const char *s, size_t n)
{
	if (n > SIZE_MAX - b->len - 1)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

/* Secrets in redaction order: longest values first, then file order. */
typedef struct redactor {
	const pw_secrets *s;
	size_t order[SECRETS_MAX];
	size_t vlen[SECRETS_MAX];
	size_t n;
	bool first[256]; /* first bytes of the values, to skip quickly */
} redactor;

static void redactor_init(redactor *rd, const pw_secrets *s)
{
	memset(rd, 0, sizeof *rd);
	rd->s = s;
	for (size_t i = 0; s != NULL && i < s->n && rd->n < SECRETS_MAX; i++) {
		size_t len = strlen(s->values[i]);
		if (len == 0)
			continue;
		size_t j = rd->n++;
		while (j > 0 && rd->vlen[j - 1] < len) {
			rd->order[j] = rd->order[j - 1];
			rd->vlen[j] = rd->vlen[j - 1];
			j--;
		}
		rd->order[j] = i;
		rd->vlen[j] = len;
		rd->first[(unsigned char)s->values[i][0]] = true;
	}
}

/* Index into rd->order of the longest value starting at in[i], or -1. */
static long longest_at(const redactor *rd, const char *in, size_t len, size_t i)
{
	if (!rd->first[(unsigned char)in[i]])
		return -1;
	for (size_t k = 0; k < rd->n; k++)
		if (rd->vlen[k] <= len - i &&
		    memcmp(in + i, rd->s->values[rd->order[k]], rd->vlen[k]) == 0)
			return (long)k;
	return -1;
}

static bool put_marker(obuf *b, const redactor *rd, long k)
{
	const char *name = rd->s->names[rd->order[k]];
	return obuf_put(b, "[REDACTED:", 10) && obuf_put(b, name, strlen(name)) &&
	       obuf_put(b, "]", 1);
}

static bool utf8_cont(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

/*
 * Redact in[0..len) into b. A run is a stretch of bytes covered by secret
 * occurrences, overlapping ones included, so no part of any secret is left
 * in clear; it becomes one marker per occurrence that extends it (the same
 * name is not repeated back to back). With utf8, a run is widened to whole
 * UTF-8 characters (a secret may begin or end inside one), so that valid
 * UTF-8 stays valid.
 */
static bool redact_into(const redactor *rd, const char *in, size_t len, bool utf8, obuf *b)
{
	size_t i = 0, emitted = 0;
	while (i < len) {
		long k = rd->n ? longest_at(rd, in, len, i) : -1;
		if (k < 0) {
			i++;
			continue;
		}
		size_t rs = i, re = i + rd->vlen[k];
		long last = k;
		for (int m = 0; utf8 && m < 3 && rs > emitted && utf8_cont(in[rs]); m++)
			rs--;
		if (!obuf_put(b, in + emitted, rs - emitted) || !put_marker(b, rd, k))
			return false;
		for (size_t j = i + 1; j < re; j++) {
			long k2 = longest_at(rd, in, len, j);
			if (k2 < 0 || j + rd->vlen[k2] <= re)
				continue;
			re = j + rd->vlen[k2];
			if (rd->order[k2] != rd->order[last] && !put_marker(b, rd, k2))
				return false;
			last = k2;
		}
		for (int m = 0; utf8 && m < 3 && re < len && utf8_cont(in[re]); m++)
			re++;
		emitted = i = re;
	}
	return obuf_put(b, in + emitted, len - emitted);
}

pw_status pw_redact_text(const pw_secrets *s, const char *in, size_t len, char **out,
                         size_t *outlen)
{
	redactor rd;
	obuf b = {NULL, 0, 0};
	if (out == NULL || outlen == NULL || (in == NULL && len != 0))
		return PW_ERR_INVALID;
	*out = NULL;
	*outlen = 0;
	redactor_init(&rd, s);
	if (!obuf_put(&b, "", 0) || (len != 0 && !redact_into(&rd, in, len, false, &b))) {
		free(b.p);
		return PW_ERR_NOMEM;
	}
	*out = b.p;
	*outlen = b.len;
	return PW_OK;
}

static pw_status redact_string(const redactor *rd, const char *in, size_t len, obuf *b)
{
	b->len = 0;
	if (!obuf_put(b, "", 0) || !redact_into(rd, in, len, true, b))
		return PW_ERR_NOMEM;
	return PW_OK;
}

static pw_status redact_value(const redactor *rd, const json_t *v, unsigned depth, obuf *b,
                              json_t **out);

static pw_status redact_object(const redactor *rd, const json_t *v, unsigned depth, obuf *b,
                               json_t *o)
{
	const char *key;
	size_t klen;
	json_t *val;
	json_object_keylen_foreach((json_t *)v, key, klen, val)
	{
		json_t *cv = NULL;
		PW_TRY(redact_value(rd, val, depth + 1, b, &cv));
		pw_status st = redact_string(rd, key, klen, b);
		if (st == PW_OK && json_object_getn(o, b->p, b->len) != NULL)
			st = PW_ERR_DUPKEY; /* two names redact alike; refuse to drop one */
		if (st == PW_OK && json_object_setn_new(o, b->p, b->len, cv) != 0)
			return PW_ERR_NOMEM; /* jansson released cv */
		if (st != PW_OK) {
			json_decref(cv);
			return st;
		}
	}
	return PW_OK;
}

static pw_status redact_value(const redactor *rd, const json_t *v, unsigned depth, obuf *b,
                              json_t **out)
{
	*out = NULL;
	if (depth > REDACT_MAX_DEPTH)
		return PW_ERR_TOO_DEEP;
	pw_status st = PW_OK;
	switch (json_typeof(v)) {
	case JSON_STRING:
		PW_TRY(redact_string(rd, json_string_value(v), json_string_length(v), b));
		*out = json_stringn(b->p, b->len);
		return *out ? PW_OK : PW_ERR_UTF8; /* invalid UTF-8 in, or no memory */
	case JSON_ARRAY:
		if ((*out = json_array()) == NULL)
			return PW_ERR_NOMEM;
		for (size_t i = 0; i < json_array_size(v) && st == PW_OK; i++) {
			json_t *cv = NULL;
			st = redact_value(rd, json_array_get(v, i), depth + 1, b, &cv);
			if (st == PW_OK && json_array_append_new(*out, cv) != 0)
				st = PW_ERR_NOMEM;
		}
		break;
	case JSON_OBJECT:
		if ((*out = json_object()) == NULL)
			return PW_ERR_NOMEM;
		st = redact_object(rd, v, depth, b, *out);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL: *out = json_copy((json_t *)v); return *out ? PW_OK : PW_ERR_NOMEM;
	default: return PW_ERR_INTERNAL;
	}
	if (st != PW_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return st;
}

pw_status pw_redact_json(const pw_secrets *s, const json_t *v, json_t **out)
{
	redactor rd;
	obuf b = {NULL, 0, 0};
	if (out == NULL)
		return PW_ERR_INVALID;
	*out = NULL;
	if (v == NULL)
		return PW_ERR_INVALID;
	redactor_init(&rd, s);
	pw_status st = redact_value(&rd, v, 0, &b, out);
	if (b.p != NULL)
		OPENSSL_cleanse(b.p, b.cap);
	free(b.p);
	return st;
}

char *pw_template_path(const char *tmpl, const pw_template_ctx *ctx, size_t *base_len)
{
	static const char spec[] = "{spec.dir}", run[] = "{run.dir}";
	const char *base = "", *rest = tmpl;
	if (strncmp(tmpl, spec, sizeof spec - 1) == 0) {
		base = ctx->spec_dir;
		rest = tmpl + sizeof spec - 1;
	} else if (strncmp(tmpl, run, sizeof run - 1) == 0) {
		base = ctx->run_dir;
		rest = tmpl + sizeof run - 1;
	}
	*base_len = strlen(base);
	size_t n = strlen(base) + strlen(rest) + 1;
	char *out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s%s", base, rest);
	return out;
}
