/*
 * logic.h: a bounded JSON Logic evaluator (jsonlogic.com).
 *
 * Rules, preconditions, postconditions and capability values in a
 * workflow spec are JSON Logic: data, not a language. Evaluation is pure
 * and bounded: a rule deeper than max_depth or needing more than
 * max_steps operations stops with PW_ERR_LIMIT, so a hostile rule can
 * neither hang nor crash pitwall.
 *
 * Semantics follow the reference implementation (json-logic-js) as pinned
 * by the official test suite (../shared/vectors/jsonlogic/tests.json),
 * including JavaScript truthiness and loose equality.
 */
#ifndef PW_CORE_LOGIC_H
#define PW_CORE_LOGIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef struct pw_logic_limits {
	unsigned max_depth;       /* nesting of operations; default 64 */
	unsigned long max_steps;  /* operations evaluated; default 100000 */
} pw_logic_limits;

/*
 * Evaluate rule against data (data may be NULL, meaning null). lim may be
 * NULL for the defaults. On success *out is a new reference. On failure
 * *out is NULL and err holds one lowercase line, e.g.
 * "unknown operator \"foo\"" or "step limit 100000 reached".
 * PW_ERR_INVALID: the rule is malformed; PW_ERR_LIMIT: a bound was hit;
 * PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_logic_eval(const json_t *rule, const json_t *data,
                                      const pw_logic_limits *lim, json_t **out, char *err,
                                      size_t errlen);

/*
 * Static check at spec load: every operator is known and the rule is
 * within max_depth. Returns PW_OK or PW_ERR_INVALID / PW_ERR_LIMIT with err set.
 */
PW_MUST_CHECK pw_status pw_logic_check(const json_t *rule, const pw_logic_limits *lim, char *err,
                                       size_t errlen);

/* JSON Logic truthiness (JavaScript's, except that [] is false). */
bool pw_logic_truthy(const json_t *v);

#endif
