/*
 * logic.h: a bounded JSON Logic evaluator (jsonlogic.com).
 *
 * Rules, preconditions, postconditions and capability values in a
 * workflow spec are JSON Logic: data, not a language. Evaluation is pure
 * and bounded: a rule deeper than max_depth or needing more than
 * max_steps operations stops with PW_ERR_LIMIT, so a hostile rule can
 * neither hang nor crash pitwall.
 *
 * Semantics follow the reference implementation (json-logic-js 2.0.5) as
 * pinned by the official test suite (../shared/vectors/jsonlogic/tests.json),
 * including JavaScript truthiness, loose equality, ToNumber / parseFloat /
 * String() conversions, string order and lengths in UTF-16 code units, and
 * identity comparison of arrays and objects in == and ===. Operators:
 * var, missing, missing_some, if, ?:, ==, ===, !=, !==, !, !!, or, and,
 * >, >=, <, <= (< and <= also as "between" with three arguments), max, min,
 * +, -, *, /, %, map, filter, reduce, all, none, some, merge, in, cat,
 * substr, log. An object with exactly one key is an operation; any other
 * object is a literal, returned as it is and never looked into.
 *
 * Where pitwall differs from json-logic-js, because a result is JSON:
 *  - NaN, the infinities and undefined are written as JSON.stringify()
 *    writes them, null; inside an array this happens when the array is
 *    built, so an operator that later reads the element sees null (in
 *    JavaScript, {"cat": [[{"/": [1, 0]}]]} is "Infinity", here "");
 *  - a lone UTF-16 surrogate (substr or a string index that cuts a pair in
 *    half) becomes U+FFFD;
 *  - log prints nothing; it evaluates to its first argument;
 *  - missing and missing_some read their keys as given: a key that is
 *    itself a one-key object is not evaluated again as a rule;
 *  - var sees the data's own members, array elements and string
 *    characters, and the length of arrays and strings; not what objects
 *    inherit in JavaScript ("constructor", "toString", ...);
 *  - where json-logic-js throws (an unknown operator, "*" without
 *    arguments, missing_some without keys) evaluation fails with
 *    PW_ERR_INVALID.
 *
 * Bounds: max_depth counts the nesting of operations and arrays in the
 * rule, checked before recursing; it is capped at 1024 to protect the C
 * stack. max_steps counts nodes evaluated, plus the work of operators in
 * proportion to what they build or scan (an array or object built costs
 * its size written out, a string one step per 64 bytes), so no array or
 * object a rule builds holds more than max_steps nodes written out,
 * whatever structure it shares with other values. A value
 * may not nest more than 1024 levels deeper than the rule and data, nor a
 * built string pass 64 MiB. A field of pw_logic_limits that is 0 takes its
 * default. Numbers are doubles: numbers computed are jansson reals, and a
 * top-level integer result is returned as a real.
 *
 * The evaluator has no global state and does no I/O. It does not modify
 * rule or data, but shares parts of them with the result, taking
 * references (jansson counts them atomically). All memory comes from
 * jansson's allocator (json_set_alloc_funcs()), so a test can make any
 * allocation fail.
 */
#ifndef PW_CORE_LOGIC_H
#define PW_CORE_LOGIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef struct pw_logic_limits {
	unsigned max_depth;      /* nesting of operations; default 64 */
	unsigned long max_steps; /* operations evaluated; default 100000 */
} pw_logic_limits;

/*
 * Evaluate rule against data (data may be NULL, meaning null). lim may be
 * NULL for the defaults. On success *out is a new reference the caller
 * releases with json_decref(); it may share parts of rule and data. On
 * failure *out is NULL and err (if not NULL) holds one lowercase line, e.g.
 * "unknown operator \"foo\"" or "step limit 100000 reached".
 * PW_ERR_INVALID: the rule is malformed (or rule or out is NULL);
 * PW_ERR_LIMIT: a bound was hit; PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_logic_eval(const json_t *rule, const json_t *data,
                                      const pw_logic_limits *lim, json_t **out, char *err,
                                      size_t errlen);

/*
 * Static check at spec load: every operator is known and the rule is
 * within max_depth. It walks exactly what pw_logic_eval() may evaluate:
 * arrays, and the arguments of operations, except the ones the array
 * operators ignore (map, filter, all, none, some use their first two,
 * reduce its first three). Literal objects are not looked into. Returns
 * PW_OK or PW_ERR_INVALID / PW_ERR_LIMIT with err set.
 */
PW_MUST_CHECK pw_status pw_logic_check(const json_t *rule, const pw_logic_limits *lim, char *err,
                                       size_t errlen);

/* JSON Logic truthiness (JavaScript's, except that [] is false). */
bool pw_logic_truthy(const json_t *v);

#endif
