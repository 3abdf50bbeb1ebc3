/*
 * template.h: argv and environment from an action's run templates, and
 * the secrets that pitwall passes by name.
 *
 * A template element is literal text or exactly one placeholder
 * ({input.a.b}, {run.id}, {run.dir}, {spec.dir}; docs/SPEC.md); it becomes
 * exactly one argv element or one variable's value, byte for byte. Nothing
 * is split, joined or expanded. The spec checker has already refused any
 * other template shape; these functions refuse them again (PW_ERR_INVALID)
 * rather than trust that.
 *
 * Secrets come from a secrets file given to pitwall (never from the spec):
 * lines "NAME=value", blank lines and lines starting with '#' ignored, at
 * most 64 KiB and 64 secrets, names ^_?[A-Za-z][A-Za-z0-9_]*$, values at
 * least 8 bytes, no NUL. The file must be a regular file owned by the user
 * running pitwall and not readable or writable by group or others
 * (PW_ERR_PERM otherwise). Secret values are wiped before they are freed.
 */
#ifndef PW_EXEC_TEMPLATE_H
#define PW_EXEC_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

typedef struct pw_template_ctx {
	const json_t *input;  /* borrowed; the validated input object */
	const char *run_id;   /* borrowed */
	const char *run_dir;  /* borrowed; absolute */
	const char *spec_dir; /* borrowed; absolute */
} pw_template_ctx;

/*
 * An effects path template (docs/SPEC.md, *effects*): "{spec.dir}" or
 * "{run.dir}" at its start replaced by that folder, anything else as is.
 * Returns an owned string from malloc(), or NULL when out of memory;
 * *base gets the length of the folder put in (0 when there was none).
 */
char *pw_template_path(const char *tmpl, const pw_template_ctx *ctx, size_t *base);

typedef struct pw_secrets {
	size_t n;
	char **names;  /* owned */
	char **values; /* owned; wiped on release */
} pw_secrets;

/*
 * Expand one template element into *out (from malloc(), NUL-terminated;
 * the caller frees it). An input value that is a string is used as is; a
 * number in its canonical JSON form; true/false; anything else as
 * canonical JSON; an absent field (or an absent parent) is "". A string
 * holding a NUL byte cannot become an argv element: PW_ERR_INVALID.
 */
PW_MUST_CHECK pw_status pw_template_expand(const char *tmpl, const pw_template_ctx *ctx, char **out,
                                           char *err, size_t errlen);

/*
 * Build argv for an action's run object (the "run" mapping of the spec
 * model): argv[0] = program (absolute), then each element of run.args
 * expanded. *argv_out is a NULL-terminated array from malloc(), each
 * element from malloc(); free with pw_strv_free().
 */
PW_MUST_CHECK pw_status pw_template_argv(const json_t *run, const char *program,
                                         const pw_template_ctx *ctx, char ***argv_out, char *err,
                                         size_t errlen);

/*
 * Build the environment from nothing: "NAME=value" for each run.env entry
 * (value expanded), then each name in run.secrets with its value from
 * secrets (PW_ERR_NOTFOUND with err naming the secret when it is missing
 * or secrets is NULL). Free with pw_strv_free(), which wipes each string.
 */
PW_MUST_CHECK pw_status pw_template_envp(const json_t *run, const pw_template_ctx *ctx,
                                         const pw_secrets *secrets, char ***envp_out, char *err,
                                         size_t errlen);

/* Free a NULL-terminated string vector, wiping each string first. NULL is harmless. */
void pw_strv_free(char **v);

/* Load a secrets file (see above). err names the file and what is wrong. */
PW_MUST_CHECK pw_status pw_secrets_load(const char *path, pw_secrets *out, char *err,
                                        size_t errlen);
void pw_secrets_release(pw_secrets *s);

/*
 * Redaction. Every occurrence of the value of any secret in s (longest
 * values first) is replaced by "[REDACTED:NAME]". pw_redact_text works on
 * a buffer and returns a new one from malloc() (*out, *outlen); it may be
 * longer. pw_redact_json returns a new reference to a deep copy of v with
 * every string (member names included) redacted. s NULL or empty: plain
 * copies.
 */
PW_MUST_CHECK pw_status pw_redact_text(const pw_secrets *s, const char *in, size_t len, char **out,
                                       size_t *outlen);
PW_MUST_CHECK pw_status pw_redact_json(const pw_secrets *s, const json_t *v, json_t **out);

#endif
